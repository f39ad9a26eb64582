//! The `/inc` command language, parsed with no network, database or clock (triagebot's
//! `parser/src/command.rs` is the model). [`CommandError`]'s `Display` *is* the ephemeral reply
//! the user sees, so every error says what was wrong and the correct form.
//!
//! Grammar (case-insensitive keywords, any amount of white space between words):
//! ```text
//! /inc                                  help
//! /inc help
//! /inc declare <sev> [triage] <title>   declare at once (keyboard fast path)
//! /inc list
//! ```

use std::fmt;

use super::mrkdwn::escape;
use super::severity::Severity;

/// The longest title accepted (the Declare modal enforces the same).
pub const MAX_TITLE_CHARS: usize = 150;

/// A well-formed `/inc` command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help,
    Declare {
        severity: Severity,
        triage: bool,
        title: String,
    },
    List,
}

/// A command that cannot be carried out as typed. Nothing is changed by a rejected command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandError {
    Unknown { word: String },
    DeclareWithoutArguments,
    NotASeverity { word: String },
    MissingTitle,
    TitleTooLong { chars: usize },
    UnexpectedArguments { subcommand: &'static str },
}

/// Parses the text after `/inc` against a severity scale of `levels` levels.
pub fn parse(text: &str, levels: u8) -> Result<Command, CommandError> {
    let mut words = text.split_whitespace();
    let Some(sub) = words.next() else {
        return Ok(Command::Help);
    };
    match sub.to_ascii_lowercase().as_str() {
        "help" => Ok(Command::Help),
        "list" => match words.next() {
            None => Ok(Command::List),
            Some(_) => Err(CommandError::UnexpectedArguments { subcommand: "list" }),
        },
        "declare" => parse_declare(words, levels),
        _ => Err(CommandError::Unknown {
            word: sub.to_string(),
        }),
    }
}

fn parse_declare<'a>(
    mut words: impl Iterator<Item = &'a str>,
    levels: u8,
) -> Result<Command, CommandError> {
    let Some(first) = words.next() else {
        return Err(CommandError::DeclareWithoutArguments);
    };
    let Some(severity) = Severity::parse(first, levels) else {
        return Err(CommandError::NotASeverity {
            word: first.to_string(),
        });
    };
    let mut rest: Vec<&str> = words.collect();
    let triage = rest
        .first()
        .is_some_and(|w| w.eq_ignore_ascii_case("triage"));
    if triage {
        rest.remove(0);
    }
    let title = rest.join(" ");
    if title.is_empty() {
        return Err(CommandError::MissingTitle);
    }
    let chars = title.chars().count();
    if chars > MAX_TITLE_CHARS {
        return Err(CommandError::TitleTooLong { chars });
    }
    Ok(Command::Declare {
        severity,
        triage,
        title,
    })
}

/// The declare syntax, already escaped: Slack would read a bare `<sev>` as markup.
pub const DECLARE_FORM: &str = "`/inc declare &lt;sev&gt; [triage] &lt;title&gt;`, for example `/inc declare sev2 Checkout is slow`";

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Unknown { word } => write!(
                f,
                "`{}` is not an `/inc` command. {}",
                escape(word),
                HELP_HINT
            ),
            CommandError::DeclareWithoutArguments => write!(
                f,
                "Give a severity and a title: {DECLARE_FORM}. Severities: {}.",
                Severity::choices(super::severity::DEFAULT_LEVELS)
            ),
            CommandError::NotASeverity { word } => write!(
                f,
                "`{}` is not a severity. Declare with {DECLARE_FORM}. Severities: {} (also `p1`–`p3` or `1`–`3`).",
                escape(word),
                Severity::choices(super::severity::DEFAULT_LEVELS)
            ),
            CommandError::MissingTitle => {
                write!(f, "Give the incident a title: {DECLARE_FORM}.")
            }
            CommandError::TitleTooLong { chars } => write!(
                f,
                "That title is {chars} characters; keep it to {MAX_TITLE_CHARS} and put the details in the channel."
            ),
            CommandError::UnexpectedArguments { subcommand } => {
                write!(f, "`/inc {subcommand}` takes no arguments. {HELP_HINT}")
            }
        }
    }
}

const HELP_HINT: &str = "Type `/inc help` for the list of commands.";

impl std::error::Error for CommandError {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sev(n: &str) -> Severity {
        Severity::parse(n, 3).expect("severity")
    }

    #[test]
    fn commands_parse_as_documented() {
        let cases: Vec<(&str, Command)> = vec![
            ("", Command::Help),
            ("   ", Command::Help),
            ("help", Command::Help),
            ("HELP me", Command::Help),
            ("list", Command::List),
            (" LIST ", Command::List),
            (
                "declare sev1 Checkout is down",
                Command::Declare {
                    severity: sev("1"),
                    triage: false,
                    title: "Checkout is down".into(),
                },
            ),
            (
                "Declare  P2   triage   Checkout   is slow ",
                Command::Declare {
                    severity: sev("2"),
                    triage: true,
                    title: "Checkout is slow".into(),
                },
            ),
            (
                "declare 3 Triage is broken",
                Command::Declare {
                    severity: sev("3"),
                    triage: true,
                    title: "is broken".into(),
                },
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text, 3), Ok(expected), "{text:?}");
        }
    }

    #[test]
    fn malformed_commands_are_rejected_with_the_right_error() {
        let cases: Vec<(&str, CommandError)> = vec![
            (
                "frobnicate",
                CommandError::Unknown {
                    word: "frobnicate".into(),
                },
            ),
            ("declare", CommandError::DeclareWithoutArguments),
            (
                "declare Checkout is down",
                CommandError::NotASeverity {
                    word: "Checkout".into(),
                },
            ),
            (
                "declare sev9 x",
                CommandError::NotASeverity {
                    word: "sev9".into(),
                },
            ),
            ("declare sev1", CommandError::MissingTitle),
            ("declare sev1 triage", CommandError::MissingTitle),
            (
                "list mine",
                CommandError::UnexpectedArguments { subcommand: "list" },
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text, 3), Err(expected), "{text:?}");
        }
        let long = format!("declare sev1 {}", "x".repeat(151));
        assert_eq!(
            parse(&long, 3),
            Err(CommandError::TitleTooLong { chars: 151 })
        );
        let exact = format!("declare sev1 {}", "é".repeat(150));
        assert!(parse(&exact, 3).is_ok());
    }

    #[test]
    fn errors_tell_the_correct_form_and_escape_what_the_user_typed() {
        let msg = parse("<!channel>", 3).unwrap_err().to_string();
        assert!(msg.contains("&lt;!channel&gt;"), "{msg}");
        assert!(msg.contains("/inc help"), "{msg}");
        let msg = parse("declare Checkout down", 3).unwrap_err().to_string();
        assert!(
            msg.contains("/inc declare &lt;sev&gt; [triage] &lt;title&gt;"),
            "{msg}"
        );
        assert!(msg.contains("sev1, sev2, sev3"), "{msg}");
    }

    #[test]
    fn error_texts_contain_no_stray_markup() {
        let errors = [
            CommandError::Unknown { word: "<x>".into() },
            CommandError::DeclareWithoutArguments,
            CommandError::NotASeverity {
                word: "<!here>".into(),
            },
            CommandError::MissingTitle,
            CommandError::TitleTooLong { chars: 151 },
            CommandError::UnexpectedArguments { subcommand: "list" },
        ];
        for e in errors {
            let text = e.to_string();
            assert!(!text.contains('<') && !text.contains('>'), "{text}");
        }
    }

    proptest! {
        #[test]
        fn the_parser_never_panics_and_titles_are_trimmed(text in ".{0,400}") {
            if let Ok(Command::Declare { title, .. }) = parse(&text, 3) {
                prop_assert!(!title.is_empty());
                prop_assert_eq!(title.trim(), title.as_str());
                prop_assert!(!title.contains("  "));
            }
        }
    }
}
