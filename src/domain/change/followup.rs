//! `/inc followup <text>`: an action item for after the incident, on the timeline (listed by
//! `/inc followups` and the postmortem). Allowed after resolution. Where a tracker is
//! configured (`FOLLOWUP_TRACKER`), it is filed there as a ticket; the follow-up is named by
//! the time it is recorded ([`crate::domain::outside::FollowUpId`]).

use super::draft::Draft;
use super::{Effect, Refusal};
use crate::domain::timeline::Entry;

pub(super) fn decide(d: &mut Draft<'_>, text: String) -> Result<(), Refusal> {
    d.entries.push(Entry::FollowUp { text });
    d.effects.push(Effect::FileTicket {
        followup: d.now.timestamp_millis(),
    });
    d.reply = "Follow-up recorded; `/inc followups` lists them.".into();
    Ok(())
}
