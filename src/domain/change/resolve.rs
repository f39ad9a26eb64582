//! `/inc resolve [text]`: from any working status, by the coordinator, the operator or an
//! `ADMINS` user. Posted in the channel and under the announcement; no update is owed after it.
//! Every page of the incident is resolved in PagerDuty.

use super::draft::Draft;
use super::{Effect, Refusal};
use crate::domain::timeline::Entry;
use crate::domain::{Status, message};

pub(super) fn decide(d: &mut Draft<'_>, text: Option<String>) -> Result<(), Refusal> {
    d.require_permitted("resolve")?;
    d.move_status(Status::Resolved)?;
    d.next.resolved_at = Some(d.now);
    let post = message::resolved_post(&d.next, d.actor.user, text.as_deref());
    d.entries.push(Entry::Resolved {
        from: d.before.status,
        text,
    });
    d.effects.push(Effect::Post(post.clone()));
    d.effects.push(Effect::PostInAnnouncementThread(post));
    d.sync_all(true);
    // On-call stops being called once the incident is over here.
    d.effects.push(Effect::CloseOutside);
    d.reply = format!("*{}* is resolved.", d.before.reference());
    Ok(())
}
