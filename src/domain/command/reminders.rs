//! In-channel commands about update reminders: `/inc remind <interval|off|default>`.

use super::{Args, Grammar, InChannelCommand, Parser, Problem, Spec, done};
use crate::domain::change::Change;
use crate::domain::reminder::{Cadence, MAX_INTERVAL, MIN_INTERVAL};

pub static REMIND: Spec = Spec {
    words: &["remind"],
    usage: "/inc remind <interval|off|default>",
    example: "/inc remind 15m",
    help: "how often this incident is reminded to post an update (`off` pauses reminders, \
           `default` goes back to the configured interval)",
    parse: Parser::InChannel(remind),
};

fn remind(args: &mut Args<'_>, _: &Grammar) -> Result<InChannelCommand, Problem> {
    let Some(word) = args.next_word() else {
        return Err(Problem::Missing("an interval, `off` or `default`"));
    };
    let cadence = match word.to_ascii_lowercase().as_str() {
        "off" | "pause" => Cadence::Off,
        "default" | "on" => Cadence::Default,
        other => {
            let every = humantime::parse_duration(other)
                .ok()
                .and_then(|d| chrono::Duration::from_std(d).ok())
                .ok_or_else(|| Problem::NotAnInterval(word.to_string()))?;
            if every < MIN_INTERVAL || every > MAX_INTERVAL {
                return Err(Problem::IntervalOutOfRange(word.to_string()));
            }
            Cadence::Every(every)
        }
    };
    done(args, InChannelCommand::Change(Change::Remind(cadence)))
}
