//! `/inc page <service> [message]` (and a rule, and the Declare modal's "Page on-call"): call
//! the on-call of a PagerDuty service. While the incident is open, by anyone in its channel —
//! being woken is the point of an incident. On the timeline, said in the channel, and sent as a
//! `trigger` whose dedup key is this incident's for that service, so paging a service again is
//! still one page in PagerDuty. A drill pages nobody. Whether the service exists is the
//! configuration's to say (the
//! app checks it before asking).

use super::draft::Draft;
use super::{Effect, Refusal};
use crate::domain::message;
use crate::domain::timeline::Entry;

pub(super) fn decide(
    d: &mut Draft<'_>,
    service: String,
    message: Option<String>,
) -> Result<(), Refusal> {
    d.require_open("page")?;
    if d.before.drill {
        return Err(Refusal::Unchanged(format!(
            "*{}* is a drill: it pages nobody.",
            d.before.reference()
        )));
    }
    d.entries.push(Entry::Paged {
        service: service.clone(),
        message: message.clone(),
        rule: None,
    });
    d.effects.push(Effect::Post(message::paged_post(
        d.actor.user,
        &service,
        message.as_deref(),
    )));
    d.effects.push(Effect::Page {
        service: service.clone(),
        message,
    });
    d.effects.push(Effect::SyncCard);
    d.reply = format!(
        "Paging the on-call of *{}*.",
        crate::domain::mrkdwn::escape(&service)
    );
    Ok(())
}
