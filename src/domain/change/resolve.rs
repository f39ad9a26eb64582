//! `/inc resolve [text]`: from any working status, by the coordinator, the operator or an
//! `ADMINS` user. Posted in the channel and under the announcement; no update is owed after it.
//! Every page of the incident is resolved in PagerDuty. The postmortem gets its owner (the
//! coordinator) and deadline (`POSTMORTEM_DUE` working days) unless someone set them.

use super::draft::Draft;
use super::{Effect, Refusal};
use crate::domain::aftercare::add_working_days;
use crate::domain::timeline::Entry;
use crate::domain::{Status, message};

pub(super) fn decide(d: &mut Draft<'_>, text: Option<String>) -> Result<(), Refusal> {
    d.require_permitted("resolve")?;
    d.move_status(Status::Resolved)?;
    d.next.resolved_at = Some(d.now);
    // Somebody owns the postmortem, by a deadline: the coordinator (else who resolved it), in
    // `POSTMORTEM_DUE` working days — unless someone said otherwise before.
    let plan = &mut d.next.postmortem;
    if plan.done_at.is_none() {
        if plan.owner.is_none() {
            let coordinator = d.before.holder(crate::domain::Role::Coordinator);
            plan.owner = Some(coordinator.unwrap_or(d.actor.user).to_string());
        }
        if plan.due_at.is_none() {
            let care = &d.policy.aftercare;
            plan.due_at = Some(add_working_days(d.now, care.postmortem_due_days, care.tz));
        }
    }
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
