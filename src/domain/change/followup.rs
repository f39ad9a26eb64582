//! `/inc followup <text>`: an action item for after the incident, on the timeline (listed by
//! `/inc followups` and the postmortem). Allowed after resolution.

use super::Refusal;
use super::draft::Draft;
use crate::domain::timeline::Entry;

pub(super) fn decide(d: &mut Draft<'_>, text: String) -> Result<(), Refusal> {
    d.entries.push(Entry::FollowUp { text });
    d.reply = "Follow-up recorded; `/inc followups` lists them.".into();
    Ok(())
}
