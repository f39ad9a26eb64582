//! `/inc summary <text>` (and the Update modal's summary): the summary heads the topic and both
//! cards. Editable after resolution, for the postmortem.

use super::Refusal;
use super::draft::Draft;
use crate::domain::timeline::Entry;

pub(super) fn decide(d: &mut Draft<'_>, text: String) -> Result<(), Refusal> {
    if d.before.summary.as_deref() == Some(text.as_str()) {
        return Err(Refusal::Unchanged("That is the summary already.".into()));
    }
    d.entries.push(Entry::SummarySet { text: text.clone() });
    d.next.summary = Some(text);
    d.sync_all(true);
    d.reply = "Summary set; the topic and the cards now show it.".into();
    Ok(())
}
