//! `/inc postmortem done <link>`: where the final postmortem lives. It stops the owner's
//! reminders, lets the channel be archived (`ARCHIVE_AFTER`) and counts for `/inc stats`. By the
//! owner, the coordinator, the operator or an `ADMINS` user, once the incident is resolved.

use super::Refusal;
use super::draft::Draft;
use super::postmortem_plan::require_owner_or_permitted;
use crate::domain::timeline::Entry;
use crate::domain::{Status, message};

pub(super) fn decide(d: &mut Draft<'_>, link: String) -> Result<(), Refusal> {
    require_owner_or_permitted(d, "mark the postmortem done")?;
    if d.before.status != Status::Resolved {
        return Err(Refusal::Unchanged(format!(
            "*{}* is {}: its postmortem is done once it is resolved.",
            d.before.reference(),
            d.before.status
        )));
    }
    d.next.postmortem.done_at = Some(d.now);
    d.next.postmortem.link = Some(link.clone());
    d.entries.push(Entry::PostmortemDone { link: link.clone() });
    d.effects
        .push(super::Effect::Post(message::postmortem_done_post(
            &d.next,
            d.actor.user,
            &link,
        )));
    d.reply = format!(
        "The postmortem of *{}* is done; its reminders stop.",
        d.before.reference()
    );
    Ok(())
}
