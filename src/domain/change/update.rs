//! `/inc update [<status>] <text>` (and the Update modal): a status update, posted in the channel
//! and under the announcement, counting as the incident's last update. A status word moves the
//! incident between the working statuses (`Status::can_become`); a resolved or declined incident
//! takes no updates until it is reopened.

use super::draft::Draft;
use super::{Effect, Refusal};
use crate::domain::Status;
use crate::domain::message;
use crate::domain::timeline::Entry;

pub(super) fn decide(
    d: &mut Draft<'_>,
    status: Option<Status>,
    text: String,
) -> Result<(), Refusal> {
    d.require_open("post updates")?;
    let from = d.before.status;
    let moved = match status {
        Some(to) if to != from => {
            d.move_status(to)?;
            d.entries.push(Entry::StatusChanged { from, to });
            Some(to)
        }
        _ => None,
    };
    d.next.last_update_at = d.now;
    let post = message::update_post(&d.next, d.actor.user, moved, &text);
    d.entries.push(Entry::Update {
        text,
        status: moved,
    });
    d.effects.push(Effect::Post(post.clone()));
    d.effects.push(Effect::PostInAnnouncementThread(post));
    d.sync_all(moved.is_some());
    d.reply = "Update posted.".into();
    Ok(())
}
