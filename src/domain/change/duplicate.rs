//! `/inc duplicate INC-n`: this incident is the same as another. It is closed (declined, from
//! any working status) by the coordinator, the operator or an `ADMINS` user, linked both ways —
//! said here, under its announcement, and in the original's channel — and left out of the
//! stats. What outside systems hold open for it is released, as for any incident that ends.

use super::draft::Draft;
use super::{Effect, Original, Refusal};
use crate::domain::mrkdwn;
use crate::domain::timeline::Entry;
use crate::domain::{Status, message::Message};

pub(super) fn decide(d: &mut Draft<'_>, original: Original) -> Result<(), Refusal> {
    d.require_permitted("close it as a duplicate")?;
    d.require_open("be closed as a duplicate")?;
    if original.id == d.before.id {
        return Err(Refusal::Unchanged(
            "An incident cannot be a duplicate of itself.".into(),
        ));
    }
    d.next.status = Status::Declined;
    d.next.resolved_at = Some(d.now);
    d.next.duplicate_of = Some(original.id);
    d.entries.push(Entry::DuplicateOf {
        original: original.reference.clone(),
    });
    let there = original
        .channel
        .as_deref()
        .map(|c| format!(" ({})", mrkdwn::channel(c)))
        .unwrap_or_default();
    let post = Message::text(format!(
        ":link: {} closed *{}* as a duplicate of *{}*{there}; follow it there.",
        mrkdwn::user(d.actor.user),
        d.before.reference(),
        original.reference
    ));
    d.effects.push(Effect::Post(post.clone()));
    d.effects.push(Effect::PostInAnnouncementThread(post));
    if let Some(channel) = original.channel {
        let here = d
            .before
            .channel_id
            .as_deref()
            .map(|c| format!(" ({})", mrkdwn::channel(c)))
            .unwrap_or_default();
        d.effects.push(Effect::PostIn {
            channel,
            message: Message::text(format!(
                ":link: *{}*{here} was closed as a duplicate of this incident by {}.",
                d.before.reference(),
                mrkdwn::user(d.actor.user)
            )),
        });
    }
    d.sync_all(true);
    d.effects.push(Effect::CloseOutside);
    d.reply = format!(
        "*{}* is closed as a duplicate of *{}*.",
        d.before.reference(),
        original.reference
    );
    Ok(())
}
