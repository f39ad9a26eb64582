//! `/inc remind <interval|off|default>`: the incident's own reminder cadence, posted in the
//! channel and shown on the card. A new cadence counts from now ([`reminder::cadence_set`]):
//! turning reminders back on after two quiet hours does not fire a "late" reminder at once.

use super::draft::Draft;
use super::{Effect, Refusal};
use crate::domain::reminder::{self, Cadence};
use crate::domain::timeline::Entry;
use crate::domain::{message, mrkdwn};

pub(super) fn decide(d: &mut Draft<'_>, cadence: Cadence) -> Result<(), Refusal> {
    let reference = d.before.reference();
    if cadence == d.before.cadence {
        return Err(Refusal::Unchanged(format!(
            "Reminders for *{reference}* are {} already.",
            cadence_words(cadence)
        )));
    }
    d.entries.push(Entry::RemindersSet {
        to: cadence_word(cadence),
    });
    d.next.cadence = cadence;
    reminder::cadence_set(d.policy, &mut d.next, d.now);
    d.effects.push(Effect::Post(message::notice(&format!(
        ":alarm_clock: {} set update reminders for *{reference}* to {}.",
        mrkdwn::user(d.actor.user),
        cadence_words(cadence)
    ))));
    d.effects.push(Effect::SyncCard);
    d.reply = format!("Reminders are {} now.", cadence_words(cadence));
    Ok(())
}

/// How a cadence is stored on the timeline: `off`, `default`, `15m`.
fn cadence_word(cadence: Cadence) -> String {
    match cadence {
        Cadence::Default => "default".into(),
        Cadence::Off => "off".into(),
        Cadence::Every(every) => message::span(every).replace(' ', ""),
    }
}

/// How a cadence reads: `off`, `on the default schedule`, `every 15 min`.
fn cadence_words(cadence: Cadence) -> String {
    match cadence {
        Cadence::Default => "on the default schedule".into(),
        Cadence::Off => "off".into(),
        Cadence::Every(every) => format!("every {}", message::span(every)),
    }
}
