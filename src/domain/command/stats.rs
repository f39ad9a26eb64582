//! `/inc stats [days]`: the response figures of a period (anywhere). What they are is
//! [`crate::domain::stats`]; this file is only the command's words.

use super::{AnywhereCommand, Args, Grammar, Parser, Problem, Spec, done};

/// The period when none is given.
pub const DEFAULT_DAYS: u32 = 30;
/// The longest period: ten years.
pub const MAX_DAYS: u32 = 3_650;

pub static STATS: Spec = Spec {
    words: &["stats"],
    usage: "/inc stats [days]",
    example: "/inc stats 7",
    help: "MTTA, MTTR and SLO breaches of the incidents declared in the last 30 days (or as many as you say)",
    parse: Parser::Anywhere(stats),
};

/// `7`, `7d` or `7days`; nothing means [`DEFAULT_DAYS`].
fn stats(args: &mut Args<'_>, _: &Grammar) -> Result<AnywhereCommand, Problem> {
    let Some(word) = args.next_word() else {
        return Ok(AnywhereCommand::Stats { days: DEFAULT_DAYS });
    };
    let lower = word.to_ascii_lowercase();
    let digits = lower
        .strip_suffix("days")
        .or_else(|| lower.strip_suffix("day"))
        .or_else(|| lower.strip_suffix('d'))
        .unwrap_or(&lower);
    match digits.parse::<u32>() {
        Ok(days @ 1..=MAX_DAYS) => done(args, AnywhereCommand::Stats { days }),
        _ => Err(Problem::Unexpected(word.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Command, CommandError, parse};
    use super::*;
    use crate::domain::severity::DEFAULT_LEVELS;

    const GRAMMAR: Grammar = Grammar {
        levels: DEFAULT_LEVELS,
    };

    #[test]
    fn stats_takes_an_optional_number_of_days() {
        for (text, days) in [
            ("stats", 30),
            ("STATS 7", 7),
            ("stats 14d", 14),
            ("stats 90 days", 90),
        ] {
            let text = text.replace(" days", "days");
            let parsed = parse(&text, &GRAMMAR).expect(&text);
            assert_eq!(
                parsed.command,
                Command::Anywhere(AnywhereCommand::Stats { days }),
                "{text}"
            );
            assert_eq!(parsed.spec, &STATS);
        }
    }

    #[test]
    fn anything_else_is_refused_with_the_usage() {
        for text in ["stats 0", "stats week", "stats 7 8", "stats 3651"] {
            let err = parse(text, &GRAMMAR).expect_err(text);
            assert!(matches!(err, CommandError::Invalid { .. }), "{text}");
            assert!(
                err.to_string().ends_with(
                    "was not expected there. Use `/inc stats [days]`, for example `/inc stats 7`."
                ),
                "{err}"
            );
        }
    }
}
