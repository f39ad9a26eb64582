//! `/inc postmortem owner <@user|me> [due <n>d]` and `/inc postmortem due <n>d`: who writes the
//! postmortem and by when (`n` working days from now, in `TZ`). Anyone may volunteer (`owner me`,
//! the resolution's "I'll write the postmortem"); naming someone else or moving the deadline is
//! for the coordinator, the operator, the postmortem's owner or an `ADMINS` user. In any status:
//! a team may name the owner before the incident is over. Resolving sets both when nobody did (the coordinator, `POSTMORTEM_DUE`);
//! the owner is reminded a day before the deadline and once a day after it
//! ([`crate::domain::aftercare`]).

use super::draft::Draft;
use super::{Effect, Holder, Refusal};
use crate::domain::aftercare::add_working_days;
use crate::domain::message;
use crate::domain::timeline::Entry;

pub(super) fn decide(
    d: &mut Draft<'_>,
    owner: Option<Holder>,
    due_days: Option<u32>,
) -> Result<(), Refusal> {
    let volunteering = matches!(owner, Some(Holder::Me)) && due_days.is_none();
    if !volunteering {
        require_owner_or_permitted(d, "set the postmortem's owner or deadline")?;
    }
    if d.before.postmortem.done_at.is_some() {
        return Err(Refusal::Unchanged(format!(
            "The postmortem of *{}* is done already.",
            d.before.reference()
        )));
    }
    match owner {
        Some(Holder::Me) => d.next.postmortem.owner = Some(d.actor.user.to_string()),
        Some(Holder::Person(user)) => d.next.postmortem.owner = Some(user),
        Some(Holder::Nobody) => d.next.postmortem.owner = None,
        None => {}
    }
    if let Some(days) = due_days {
        let care = &d.policy.aftercare;
        d.next.postmortem.due_at = Some(add_working_days(d.now, days, care.tz));
    }
    if d.next.postmortem == d.before.postmortem {
        return Err(Refusal::Unchanged(
            "That is the postmortem's owner and deadline already.".into(),
        ));
    }
    d.entries.push(Entry::PostmortemPlanned {
        owner: d.next.postmortem.owner.clone(),
        due_at: d.next.postmortem.due_at,
    });
    d.effects
        .push(Effect::Post(message::postmortem_planned_post(
            &d.next,
            d.actor.user,
        )));
    d.reply = format!("Noted for the postmortem of *{}*.", d.before.reference());
    Ok(())
}

/// Refused unless the actor owns the postmortem, or may change the incident.
pub(super) fn require_owner_or_permitted(d: &Draft<'_>, what: &'static str) -> Result<(), Refusal> {
    if d.before.postmortem.owner.as_deref() == Some(d.actor.user) {
        return Ok(());
    }
    d.require_permitted(what)
}
