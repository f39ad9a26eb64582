//! The reminder's **Snooze 30m** button: no update is owed before [`reminder::SNOOZE`] from now.
//! Not on a resolved or declined incident.

use super::draft::Draft;
use super::{Effect, Refusal};
use crate::domain::reminder;
use crate::domain::timeline::Entry;

pub(super) fn decide(d: &mut Draft<'_>) -> Result<(), Refusal> {
    d.require_open("snooze its reminder")?;
    let until = d.now + reminder::SNOOZE;
    d.entries.push(Entry::Snoozed { until });
    d.next.snoozed_until = Some(until);
    // The snoozed reminder itself is edited to say who snoozed it (the button's caller does
    // that): no second post.
    d.effects.push(Effect::SyncCard);
    d.reply = "Snoozed for 30 minutes.".into();
    Ok(())
}
