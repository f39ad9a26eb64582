//! `/inc reopen`: a resolved or declined incident goes back to `investigating`, by the
//! coordinator, the operator or an `ADMINS` user; the reopen counts as its last update.

use super::draft::Draft;
use super::{Effect, Refusal};
use crate::domain::timeline::Entry;
use crate::domain::{Status, message};

pub(super) fn decide(d: &mut Draft<'_>) -> Result<(), Refusal> {
    d.require_permitted("reopen")?;
    if !d.before.status.is_terminal() {
        return Err(Refusal::NotClosed {
            reference: d.before.reference(),
            status: d.before.status,
        });
    }
    d.move_status(Status::Investigating)?;
    d.next.resolved_at = None;
    d.next.last_update_at = d.now;
    // The deadline counts from the next resolution; a channel typed in is not archived.
    if d.next.postmortem.done_at.is_none() {
        d.next.postmortem.due_at = None;
    }
    d.next.archived_at = None;
    let post = message::reopened_post(&d.next, d.actor.user);
    d.entries.push(Entry::Reopened {
        from: d.before.status,
    });
    d.effects.push(Effect::Post(post.clone()));
    d.effects.push(Effect::PostInAnnouncementThread(post));
    d.sync_all(true);
    d.reply = format!("*{}* is open again.", d.before.reference());
    Ok(())
}
