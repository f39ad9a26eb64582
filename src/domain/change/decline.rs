//! `/inc decline [reason]`: calls off an incident still in `triage` (a false alarm), by the
//! coordinator, the operator or an `ADMINS` user.

use super::draft::Draft;
use super::{Effect, Refusal};
use crate::domain::timeline::Entry;
use crate::domain::{Status, message};

pub(super) fn decide(d: &mut Draft<'_>, reason: Option<String>) -> Result<(), Refusal> {
    d.require_permitted("decline")?;
    d.move_status(Status::Declined)?;
    d.next.resolved_at = Some(d.now);
    let post = message::declined_post(&d.next, d.actor.user, reason.as_deref());
    d.entries.push(Entry::Declined { reason });
    d.effects.push(Effect::Post(post.clone()));
    d.effects.push(Effect::PostInAnnouncementThread(post));
    d.sync_all(true);
    // On-call stops being called once the incident is over here.
    d.effects.push(Effect::CloseOutside);
    d.reply = format!("*{}* is declined.", d.before.reference());
    Ok(())
}
