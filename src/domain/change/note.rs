//! `/inc note <text>`: an entry on the timeline and nothing else — no post, no card edit.
//! Allowed after resolution, for the postmortem.

use super::Refusal;
use super::draft::Draft;
use crate::domain::timeline::Entry;

pub(super) fn decide(d: &mut Draft<'_>, text: String) -> Result<(), Refusal> {
    d.entries.push(Entry::Note { text });
    d.reply = "Noted on the timeline.".into();
    Ok(())
}
