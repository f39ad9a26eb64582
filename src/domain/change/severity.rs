//! `/inc severity <sev>`: the severity changes, is posted in the channel, and the topic and
//! both cards follow. Allowed after resolution, for the postmortem.

use super::draft::Draft;
use super::{Effect, Refusal};
use crate::domain::timeline::Entry;
use crate::domain::{Severity, message, mrkdwn};

pub(super) fn decide(d: &mut Draft<'_>, to: Severity) -> Result<(), Refusal> {
    let from = d.before.severity;
    if to == from {
        return Err(Refusal::Unchanged(format!(
            "*{}* is already {to}.",
            d.before.reference()
        )));
    }
    d.entries.push(Entry::SeverityChanged { from, to });
    d.next.severity = to;
    d.effects.push(Effect::Post(message::notice(&format!(
        ":rotating_light: {} changed the severity from {from} to *{to}*.",
        mrkdwn::user(d.actor.user)
    ))));
    d.sync_all(true);
    d.reply = format!("Severity is now {to}.");
    Ok(())
}
