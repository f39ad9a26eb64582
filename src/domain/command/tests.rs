//! The grammar, table by table: every command, every malformed form, and the table itself.

use super::*;
use crate::domain::Role;
use crate::domain::Status;
use crate::domain::change::{Holder, Target};
use proptest::prelude::*;

const G: Grammar = Grammar { levels: 3 };

fn sev(n: &str) -> Severity {
    Severity::parse(n, 3).expect("severity")
}

fn parsed(text: &str) -> Result<Command, CommandError> {
    parse(text, &G).map(|p| p.command)
}

fn change(c: Change) -> Command {
    Command::Change(c)
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
        ("declare", Command::DeclareModal { title: None }),
        (
            "declare  Checkout   is down",
            Command::DeclareModal {
                title: Some("Checkout is down".into()),
            },
        ),
        (
            "declare payments fail",
            Command::DeclareModal {
                title: Some("payments fail".into()),
            },
        ),
        ("update", Command::UpdateModal),
        ("status", Command::Status),
        ("roles", Command::Roles),
        ("followups", Command::FollowUps),
        ("Follow-ups", Command::FollowUps),
        ("postmortem", Command::Postmortem),
        ("pm", Command::Postmortem),
        (
            "update Rolled back  the deploy",
            change(Change::Update {
                status: None,
                text: "Rolled back  the deploy".into(),
            }),
        ),
        (
            "update FIXING rolling back",
            change(Change::Update {
                status: Some(Status::Fixing),
                text: "rolling back".into(),
            }),
        ),
        (
            "update fixng is a typo and stays text",
            change(Change::Update {
                status: None,
                text: "fixng is a typo and stays text".into(),
            }),
        ),
        (
            "role operator <@U0BOB|bob>",
            change(Change::Role {
                role: Role::Operator,
                to: Holder::Person("U0BOB".into()),
            }),
        ),
        (
            "coordinator me",
            change(Change::Role {
                role: Role::Coordinator,
                to: Holder::Me,
            }),
        ),
        (
            "operator <@U0BOB>",
            change(Change::Role {
                role: Role::Operator,
                to: Holder::Person("U0BOB".into()),
            }),
        ),
        (
            "comms nobody",
            change(Change::Role {
                role: Role::Comms,
                to: Holder::Nobody,
            }),
        ),
        ("severity p1", change(Change::Severity(sev("1")))),
        ("sev 2", change(Change::Severity(sev("2")))),
        (
            "escalate <@U0DBA> the primary is stuck",
            change(Change::Escalate {
                to: Target::Person("U0DBA".into()),
                message: Some("the primary is stuck".into()),
            }),
        ),
        (
            "escalate <!subteam^S0DBA|@dba>",
            change(Change::Escalate {
                to: Target::Group {
                    id: "S0DBA".into(),
                    handle: Some("@dba".into()),
                },
                message: None,
            }),
        ),
        (
            "summary EU cards fail",
            change(Change::Summary("EU cards fail".into())),
        ),
        (
            "note <@U0BOB> restarted it",
            change(Change::Note("<@U0BOB> restarted it".into())),
        ),
        (
            "followup Add an alert",
            change(Change::FollowUp("Add an alert".into())),
        ),
        ("resolve", change(Change::Resolve(None))),
        (
            "close All good",
            change(Change::Resolve(Some("All good".into()))),
        ),
        (
            "decline flapping check",
            change(Change::Decline(Some("flapping check".into()))),
        ),
        ("reopen", change(Change::Reopen)),
        (
            "remind 15m",
            change(Change::Remind(crate::domain::reminder::Cadence::Every(
                chrono::Duration::minutes(15),
            ))),
        ),
        (
            "remind OFF",
            change(Change::Remind(crate::domain::reminder::Cadence::Off)),
        ),
        (
            "remind default",
            change(Change::Remind(crate::domain::reminder::Cadence::Default)),
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(parsed(text), Ok(expected), "{text:?}");
    }
}

fn problem(text: &str) -> Problem {
    match parse(text, &G) {
        Err(CommandError::Invalid { problem, .. }) => problem,
        other => panic!("{text:?}: expected a problem, got {other:?}"),
    }
}

#[test]
fn malformed_commands_are_rejected_with_the_right_problem() {
    let long_text = "x".repeat(MAX_TEXT_CHARS + 1);
    let cases: Vec<(String, Problem)> = vec![
        (
            "declare p0 Checkout is down".into(),
            Problem::NotASeverity("p0".into()),
        ),
        (
            "declare sev9 x".into(),
            Problem::NotASeverity("sev9".into()),
        ),
        (
            "declare sev1".into(),
            Problem::Missing("the incident a title"),
        ),
        (
            "declare sev1 triage".into(),
            Problem::Missing("the incident a title"),
        ),
        (
            "declare sev1 \u{202E}\u{202E}\u{202E}\u{202E}\u{202E}".into(),
            Problem::NoVisibleText("title"),
        ),
        ("list mine".into(), Problem::Unexpected("mine".into())),
        ("status now".into(), Problem::Unexpected("now".into())),
        ("update fixing".into(), Problem::Empty("update")),
        (
            "update resolved done".into(),
            Problem::UseOwnCommand {
                status: Status::Resolved,
                command: "/inc resolve [text]",
            },
        ),
        (
            "update declined".into(),
            Problem::UseOwnCommand {
                status: Status::Declined,
                command: "/inc decline [reason]",
            },
        ),
        (
            format!("update {long_text}"),
            Problem::TooLong {
                what: "update",
                chars: MAX_TEXT_CHARS + 1,
                max: MAX_TEXT_CHARS,
            },
        ),
        ("update \u{200B}".into(), Problem::NoVisibleText("update")),
        ("role".into(), Problem::Missing("the role and who takes it")),
        ("role boss me".into(), Problem::NotARole("boss".into())),
        (
            "role operator".into(),
            Problem::Missing("who takes the role"),
        ),
        ("operator bob".into(), Problem::NotAPerson("bob".into())),
        ("operator @bob".into(), Problem::NotAPerson("@bob".into())),
        ("coordinator <!here>".into(), Problem::Crowd("@here".into())),
        ("comms <!channel>".into(), Problem::Crowd("@channel".into())),
        (
            "operator <!subteam^S0ONCALL|@oncall>".into(),
            Problem::NotOnePerson("@oncall".into()),
        ),
        (
            "operator <@U0BOB> <@U0AMY>".into(),
            Problem::Unexpected("<@U0AMY>".into()),
        ),
        ("severity".into(), Problem::Missing("the new severity")),
        ("sev 0".into(), Problem::NotASeverity("0".into())),
        ("sev 1 now".into(), Problem::Unexpected("now".into())),
        ("escalate".into(), Problem::Missing("who to bring in")),
        (
            "escalate bob".into(),
            Problem::NotAnEscalationTarget("bob".into()),
        ),
        (
            "escalate <!here> help".into(),
            Problem::Crowd("@here".into()),
        ),
        (
            "escalate me".into(),
            Problem::NotAnEscalationTarget("me".into()),
        ),
        ("summary".into(), Problem::Empty("summary")),
        (
            format!("summary {}", "s".repeat(MAX_SUMMARY_CHARS + 1)),
            Problem::TooLong {
                what: "summary",
                chars: MAX_SUMMARY_CHARS + 1,
                max: MAX_SUMMARY_CHARS,
            },
        ),
        ("note   ".into(), Problem::Empty("note")),
        ("followup".into(), Problem::Empty("follow-up")),
        (
            format!("resolve {long_text}"),
            Problem::TooLong {
                what: "resolution",
                chars: MAX_TEXT_CHARS + 1,
                max: MAX_TEXT_CHARS,
            },
        ),
        ("reopen please".into(), Problem::Unexpected("please".into())),
        (
            "remind".into(),
            Problem::Missing("an interval, `off` or `default`"),
        ),
        ("remind soon".into(), Problem::NotAnInterval("soon".into())),
        (
            "remind 10s".into(),
            Problem::IntervalOutOfRange("10s".into()),
        ),
        (
            "remind 30d".into(),
            Problem::IntervalOutOfRange("30d".into()),
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(problem(&text), expected, "{text:?}");
    }
    let long = format!("declare sev1 {}", "x".repeat(151));
    assert_eq!(
        problem(&long),
        Problem::TooLong {
            what: "title",
            chars: 151,
            max: 150
        }
    );
    let exact = format!("declare sev1 {}", "é".repeat(150));
    assert!(parse(&exact, &G).is_ok());
}

#[test]
fn an_unknown_word_is_not_a_command() {
    assert_eq!(
        parsed("frobnicate now"),
        Err(CommandError::Unknown {
            word: "frobnicate".into()
        })
    );
}

#[test]
fn errors_say_what_was_wrong_then_the_correct_form() {
    let msg = parse("<!channel>", &G).unwrap_err().to_string();
    assert!(msg.contains("&lt;!channel&gt;"), "{msg}");
    assert!(msg.contains("/inc help"), "{msg}");
    let msg = parse("declare sev0 Checkout down", &G)
        .unwrap_err()
        .to_string();
    assert_eq!(
        msg,
        "`sev0` is not a severity: use sev1, sev2, sev3 (or `p1`, `1`, …). \
         Use `/inc declare &lt;sev&gt; [triage] &lt;title&gt;`, for example `/inc declare sev1 Checkout is down`."
    );
    let msg = parse("operator bob", &G).unwrap_err().to_string();
    assert_eq!(
        msg,
        "`bob` is not a person Slack linked: type @ and pick them from the list, or write `me`. \
         Use `/inc operator &lt;@user|me&gt;`, for example `/inc operator @bob`."
    );
}

/// Slack reads `<…>` as markup: error texts may carry none.
#[test]
fn error_texts_contain_no_stray_markup() {
    for text in [
        "<x>",
        "declare sev9 <!here> x",
        "declare sev1",
        "update resolved",
        "role <!here> me",
        "operator <!channel>",
        "escalate <b>",
        "note",
        "list <@U0BOB>",
    ] {
        let msg = parse(text, &G).unwrap_err().to_string();
        assert!(!msg.contains('<') && !msg.contains('>'), "{text:?} → {msg}");
    }
}

#[test]
fn the_table_is_consistent() {
    let mut words = std::collections::HashSet::new();
    for spec in COMMANDS {
        for word in spec.words {
            assert!(words.insert(*word), "`{word}` calls two commands");
            assert_eq!(*word, word.to_lowercase(), "words are matched lower-cased");
        }
        assert!(
            spec.usage.starts_with(&format!("/inc {}", spec.name())),
            "{spec:?}"
        );
        // Every example is a command this very table accepts (mentions as Slack sends them).
        let example = spec
            .example
            .trim_start_matches("/inc")
            .replace("@bob", "<@U0BOB|bob>")
            .replace("@carol", "<@U0CAROL|carol>")
            .replace("@dba-oncall", "<!subteam^S0DBA|@dba-oncall>");
        let got = parse(&example, &G).unwrap_or_else(|e| panic!("{}: {e}", spec.example));
        assert_eq!(got.spec, *spec, "{}", spec.example);
    }
}

#[test]
fn help_lists_every_command_and_where_it_works() {
    let help = help();
    for spec in COMMANDS {
        assert!(
            help.contains(&format!("`{}`", spec.usage_escaped())),
            "{help}"
        );
        // The role shortcuts are named on `/inc role`'s line instead of their own.
        if !spec.help.is_empty() {
            assert!(
                help.contains(&format!("`{}`", escape(spec.example))),
                "{help}"
            );
        }
    }
    let (anywhere, in_channel) = help
        .split_once("*In an incident's channel*")
        .expect("two groups");
    assert!(anywhere.contains("/inc declare") && !anywhere.contains("/inc resolve"));
    assert!(in_channel.contains("/inc resolve") && !in_channel.contains("/inc list"));
    assert!(!help.contains('<'), "{help}");
}

proptest! {
    #[test]
    fn the_parser_never_panics(text in ".{0,400}") {
        let _ = parse(&text, &G);
    }

    /// Generated declarations: a severity in any spelling, maybe `triage`, a title of words.
    #[test]
    fn every_wellformed_declaration_parses_to_its_parts(
        level in 1u8..=3,
        spelling in 0usize..4,
        triage in any::<bool>(),
        words in proptest::collection::vec("[a-zA-Z0-9:/!?.-]{1,12}", 1..12),
        gaps in proptest::collection::vec(" {1,3}", 12),
    ) {
        let sev_word = [format!("sev{level}"), format!("SEV{level}"), format!("p{level}"), level.to_string()][spelling].clone();
        let mut text = format!("declare {sev_word} ");
        if triage { text.push_str("triage "); }
        for (w, gap) in words.iter().zip(&gaps) {
            text.push_str(w);
            text.push_str(gap);
        }
        let title = words.join(" ");
        prop_assume!(!(words[0].eq_ignore_ascii_case("triage")));
        let expected = Command::Declare { severity: sev(&level.to_string()), triage, title: title.clone() };
        if title.chars().count() <= MAX_TITLE_CHARS {
            prop_assert_eq!(parsed(&text), Ok(expected));
        } else {
            let is_too_long = matches!(parsed(&text), Err(CommandError::Invalid { problem: Problem::TooLong { .. }, .. }));
            prop_assert!(is_too_long);
        }
    }
}
