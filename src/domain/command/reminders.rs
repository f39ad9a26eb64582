//! In-channel commands about update reminders: `/inc remind <interval|off|default>`.

use super::{Args, Grammar, InChannelCommand, Parser, Problem, Spec, done};
use crate::domain::change::Change;
use crate::domain::reminder::{self, BadInterval, Cadence};

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
        other => match reminder::parse_interval(other) {
            Ok(every) => Cadence::Every(every),
            Err(BadInterval::NotADuration) => return Err(Problem::NotAnInterval(word.to_string())),
            Err(BadInterval::OutOfRange) => {
                return Err(Problem::IntervalOutOfRange(word.to_string()));
            }
        },
    };
    done(args, InChannelCommand::Change(Change::Remind(cadence)))
}
