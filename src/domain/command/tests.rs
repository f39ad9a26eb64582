//! The grammar, table by table: every command, every malformed form, and the table itself.

use super::*;
use crate::domain::Role;
use crate::domain::Status;
use crate::domain::change::{Holder, Target};
use crate::domain::mrkdwn::escape;
use proptest::prelude::*;

const G: Grammar = Grammar { levels: 3 };

fn sev(n: &str) -> Severity {
    Severity::parse(n, 3).expect("severity")
}

fn parsed(text: &str) -> Result<Command, CommandError> {
    parse(text, &G).map(|p| p.command)
}

fn change(c: Change) -> Command {
    Command::InChannel(InChannelCommand::Change(c))
}

fn anywhere(c: AnywhereCommand) -> Command {
    Command::Anywhere(c)
}

fn in_channel(c: InChannelCommand) -> Command {
    Command::InChannel(c)
}

#[test]
fn commands_parse_as_documented() {
    let cases: Vec<(&str, Command)> = vec![
        ("", anywhere(AnywhereCommand::Help)),
        ("   ", anywhere(AnywhereCommand::Help)),
        ("help", anywhere(AnywhereCommand::Help)),
        ("HELP me", anywhere(AnywhereCommand::Help)),
        ("list", anywhere(AnywhereCommand::List)),
        (" LIST ", anywhere(AnywhereCommand::List)),
        (
            "declare sev1 Checkout is down",
            anywhere(AnywhereCommand::Declare {
                severity: sev("1"),
                triage: false,
                title: "Checkout is down".into(),
                drill: false,
            }),
        ),
        (
            "Declare  P2   triage   Checkout   is slow ",
            anywhere(AnywhereCommand::Declare {
                severity: sev("2"),
                triage: true,
                title: "Checkout is slow".into(),
                drill: false,
            }),
        ),
        (
            "declare 3 Triage is broken",
            anywhere(AnywhereCommand::Declare {
                severity: sev("3"),
                triage: true,
                title: "is broken".into(),
                drill: false,
            }),
        ),
        (
            "declare",
            anywhere(AnywhereCommand::DeclareModal {
                title: None,
                drill: false,
            }),
        ),
        (
            "declare  Checkout   is down",
            anywhere(AnywhereCommand::DeclareModal {
                title: Some("Checkout is down".into()),
                drill: false,
            }),
        ),
        (
            "declare payments fail",
            anywhere(AnywhereCommand::DeclareModal {
                title: Some("payments fail".into()),
                drill: false,
            }),
        ),
        ("update", in_channel(InChannelCommand::UpdateModal)),
        ("status", in_channel(InChannelCommand::Status)),
        ("roles", in_channel(InChannelCommand::Roles)),
        ("followups", in_channel(InChannelCommand::FollowUps)),
        ("Follow-ups", in_channel(InChannelCommand::FollowUps)),
        ("postmortem", in_channel(InChannelCommand::Postmortem)),
        ("pm", in_channel(InChannelCommand::Postmortem)),
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
         Use `/inc declare [drill] &lt;sev&gt; [triage] &lt;title&gt;`, for example `/inc declare sev1 Checkout is down`."
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

/// The code spans (`…`) of a line of Markdown.
fn code_spans(line: &str) -> Vec<&str> {
    line.split('`').skip(1).step_by(2).collect()
}

/// The spec a command word calls.
fn called(word: &str) -> Option<&'static Spec> {
    let word = word.to_lowercase();
    COMMANDS
        .iter()
        .copied()
        .find(|s| s.words.contains(&word.as_str()))
}

/// docs/commands.md is the user's reference: every command in the table has a heading showing its
/// usage line, under the section of where it works, and is named in the index at the top; no
/// heading or index entry names a word that is not a command.
#[test]
fn docs_describe_every_command_where_it_works_and_no_other() {
    let docs = include_str!("../../../docs/commands.md");
    let mut section = None;
    let mut headed = Vec::new();
    for line in docs.lines() {
        if let Some(title) = line.strip_prefix("## ") {
            section = match title {
                "Anywhere" => Some(Scope::Anywhere),
                "In an incident's channel" => Some(Scope::IncidentChannel),
                _ => None,
            };
        } else if let Some(title) = line.strip_prefix("### ") {
            for span in code_spans(title) {
                let rest = span.strip_prefix("/inc").unwrap_or_else(|| {
                    panic!("heading {title:?}: `{span}` is not an /inc command")
                });
                let Some(word) = rest.split_whitespace().next() else {
                    continue; // `/inc` alone
                };
                let spec = called(word).unwrap_or_else(|| {
                    panic!("docs/commands.md documents `{span}`, but `{word}` is not a command")
                });
                assert_eq!(
                    Some(spec.scope()),
                    section,
                    "`{span}` is documented under the wrong section"
                );
                headed.push(span);
            }
        }
    }
    for spec in COMMANDS {
        assert!(
            headed.contains(&spec.usage),
            "docs/commands.md has no heading showing `{}`",
            spec.usage
        );
    }
    // The index: a bullet per section, possibly wrapped onto indented lines.
    let index = |link: &str| -> Vec<&str> {
        let start = docs
            .find(&format!("- [{link}]"))
            .unwrap_or_else(|| panic!("no index entry for {link}"));
        docs[start..]
            .split_inclusive('\n')
            .enumerate()
            .take_while(|(i, l)| *i == 0 || l.starts_with("  "))
            .flat_map(|(_, l)| code_spans(l))
            .collect()
    };
    for (link, scope) in [
        ("Anywhere", Scope::Anywhere),
        ("In an incident's channel", Scope::IncidentChannel),
    ] {
        let mut listed = index(link);
        listed.sort_unstable();
        let mut names: Vec<&str> = COMMANDS
            .iter()
            .filter(|s| s.scope() == scope)
            .map(|s| s.name())
            .collect();
        names.sort_unstable();
        assert_eq!(
            listed, names,
            "the index's {link} entry lists the {scope:?} commands"
        );
    }
}

/// The first word of a command's text as docs/commands.md describes it: after leading spaces,
/// a Slack mention runs to its `>`, anything else to the next white space. Written out here
/// rather than borrowed from `Args`, so the property below checks the parser against the rule.
fn first_word(text: &str) -> Option<&str> {
    let text = text.trim_start();
    if text.is_empty() {
        return None;
    }
    let end = text
        .strip_prefix('<')
        .and_then(|_| text.find('>').map(|i| i + 1))
        .or_else(|| text.find(char::is_whitespace))
        .unwrap_or(text.len());
    Some(&text[..end])
}

/// Command texts people type: a command word (any case) followed by words the commands read —
/// severities, statuses, roles, mentions as Slack escapes them, intervals, numbers — and noise.
fn typed_command() -> impl Strategy<Value = String> {
    let words: Vec<String> = COMMANDS
        .iter()
        .flat_map(|s| s.words.iter())
        .flat_map(|w| [w.to_string(), w.to_uppercase(), format!("{w}s")])
        .collect();
    let arg = prop_oneof![
        prop::sample::select(vec![
            "sev1",
            "SEV2",
            "p3",
            "4",
            "sev0",
            "triage",
            "investigating",
            "fixing",
            "monitoring",
            "resolved",
            "declined",
            "coordinator",
            "operator",
            "comms",
            "me",
            "nobody",
            "<@U0BOB|bob>",
            "<@U0BOB>",
            "<!subteam^S1|@oncall>",
            "<!here>",
            "@here",
            "@bob",
            "15m",
            "1h",
            "off",
            "default",
            "0",
            "30s",
            "8d",
            "7",
            "3651",
            "<https://x.example|x>",
            "<",
            ">",
            "&",
            "&amp;",
            "`",
            "*",
            "\n",
            "\u{200B}",
            "\u{202E}",
            "",
        ])
        .prop_map(str::to_string),
        "[a-zA-Z0-9]{1,12}",
        ".{0,20}",
    ];
    (
        prop::sample::select(words),
        prop::collection::vec((arg, " {1,3}|\n"), 0..8),
    )
        .prop_map(|(word, args)| {
            let mut text = word;
            for (arg, gap) in args {
                text.push_str(&gap);
                text.push_str(&arg);
            }
            text
        })
}

/// What the reply to `text` must be, whatever `text` is.
fn check_reply(text: &str) -> Result<(), TestCaseError> {
    let result = parse(text, &G);
    let Some(word) = first_word(text) else {
        prop_assert_eq!(
            result.map(|p| p.command),
            Ok(anywhere(AnywhereCommand::Help))
        );
        return Ok(());
    };
    let lower = word.to_lowercase();
    let called = COMMANDS.iter().find(|s| s.words.contains(&lower.as_str()));
    match (&result, called) {
        (Ok(parsed), Some(spec)) => prop_assert_eq!(parsed.spec, *spec),
        (Err(CommandError::Unknown { word: unknown }), None) => {
            prop_assert_eq!(unknown.as_str(), word);
            prop_assert_eq!(
                result.as_ref().unwrap_err().to_string(),
                format!(
                    "`{}` is not an `/inc` command. Type `/inc help` for the list of commands.",
                    escape(word)
                )
            );
        }
        (Err(error @ CommandError::Invalid { spec, problem }), Some(called)) => {
            prop_assert_eq!(*spec, *called, "the error is about the command typed");
            let reply = error.to_string();
            prop_assert!(reply.starts_with(&problem.to_string()), "{}", reply);
            if let Problem::UseOwnCommand { command, .. } = problem {
                // `/inc update resolved …` names the command that resolves instead.
                prop_assert!(reply.contains(&format!("use `{command}`")), "{}", reply);
            } else {
                prop_assert!(
                    reply.contains(&format!("Use `{}`", spec.usage_escaped())),
                    "the reply names the correct form: {}",
                    reply
                );
                if spec.example != spec.usage {
                    let example = format!("for example `{}`", escape(spec.example));
                    prop_assert!(reply.contains(&example), "{}", reply);
                }
            }
        }
        (other, called) => prop_assert!(
            false,
            "{:?} for a text calling {:?}",
            other,
            called.map(|s| s.name())
        ),
    }
    // Whatever was typed, the reply is text in Slack: no mention, link or ping survives in it.
    let reply = match &result {
        Ok(_) => return Ok(()),
        Err(error) => error.to_string(),
    };
    prop_assert!(!reply.contains('<') && !reply.contains('>'), "{}", reply);
    let unescaped_amp = reply.match_indices('&').any(|(i, _)| {
        !["&amp;", "&lt;", "&gt;"]
            .iter()
            .any(|e| reply[i..].starts_with(e))
    });
    prop_assert!(!unescaped_amp, "{}", reply);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Any text is a command of the spec its first word names, or an error that says what was
    /// wrong and the correct form of that command (or that the word is not a command), as safe
    /// Slack text.
    #[test]
    fn any_text_is_its_commands_parse_or_an_error_naming_the_correct_form(
        text in prop_oneof![".{0,400}", typed_command()],
    ) {
        check_reply(&text)?;
    }
}

proptest! {

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
        let expected = anywhere(AnywhereCommand::Declare { severity: sev(&level.to_string()), triage, title: title.clone(), drill: false });
        if title.chars().count() <= MAX_TITLE_CHARS {
            prop_assert_eq!(parsed(&text), Ok(expected));
        } else {
            let is_too_long = matches!(parsed(&text), Err(CommandError::Invalid { problem: Problem::TooLong { .. }, .. }));
            prop_assert!(is_too_long);
        }
    }
}
