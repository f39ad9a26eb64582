//! The rules file: what it reads to, where its mistakes are reported, what matches, what
//! `--explain` says.

use super::*;

const LEVELS: u8 = 3;

/// The example of the rules file's documentation, as written there.
const EXAMPLE: &str = r##"[[rules]]
name = "Checkout outages page on-call"
when = { severity = ["sev1"], title = "(?i)checkout" }
page = ["checkout"]
invite_groups = ["S0123ABC"]
post = [{ channel = "#exec", text = "SEV1 declared: {title}" }]
reminder_interval = "15m"
"##;

fn parse(text: &str) -> RuleSet {
    RuleSet::parse(text, LEVELS).unwrap_or_else(|e| panic!("{text}\nrefused: {e}"))
}

fn refused(text: &str) -> RulesError {
    match RuleSet::parse(text, LEVELS) {
        Err(e) => e,
        Ok(rules) => panic!("{text}\naccepted: {rules:?}"),
    }
}

/// The one rule of `when = { <when> }` with a single action.
fn when(when: &str) -> Rule {
    let mut rules = parse(&format!(
        "[[rules]]\nname = \"r\"\nwhen = {{ {when} }}\npage = [\"checkout\"]\n"
    ))
    .rules;
    assert_eq!(rules.len(), 1);
    rules.remove(0)
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn sev(level: u8) -> Severity {
    Severity::level(level, LEVELS).expect("level")
}

/// A public sev2 in triage, declared with `/inc`, titled "Web is slow", with `labels`.
fn facts(labels: &BTreeMap<String, String>) -> Facts<'_> {
    Facts {
        severity: sev(2),
        status: Status::Triage,
        private: false,
        origin: Origin::Command,
        labels,
        title: "Web is slow",
    }
}

#[test]
fn the_documented_example_reads_to_exactly_its_rule() {
    let set = parse(EXAMPLE);
    let expected = Rule {
        name: "Checkout outages page on-call".into(),
        line: 1,
        when: When {
            severity: vec![sev(1)],
            title: Some(Regex::new("(?i)checkout").expect("regex")),
            ..When::default()
        },
        actions: vec![
            Action::Page("checkout".into()),
            Action::InviteGroup("S0123ABC".into()),
            Action::Post {
                index: 0,
                channel: "#exec".into(),
                text: "SEV1 declared: {title}".into(),
            },
            Action::ReminderInterval(Duration::minutes(15)),
        ],
        action_positions: vec![
            Position { line: 4, column: 9 },
            Position {
                line: 5,
                column: 18,
            },
            Position { line: 6, column: 9 },
            Position {
                line: 7,
                column: 21,
            },
        ],
    };
    assert_eq!(set.rules, [expected]);
}

#[test]
fn an_empty_file_has_no_rules() {
    assert_eq!(parse("").rules, []);
    assert_eq!(parse("# nothing yet\n").rules, []);
    assert_eq!(parse("rules = []\n").rules, []);
}

#[test]
fn rules_keep_the_file_order_and_their_header_lines() {
    let set = parse(
        "# Rules\n\n[[rules]]\nname = \"a\"\nopen_statuspage = true\n\n\n[[rules]]\nname = \"b\"\n\
         [rules.when]\nprivate = true\n[[rules.post]]\nchannel = \"C0EXEC\"\ntext = \"x\"\n",
    );
    let found: Vec<(&str, usize)> = set
        .rules
        .iter()
        .map(|r| (r.name.as_str(), r.line))
        .collect();
    assert_eq!(found, [("a", 3), ("b", 8)]);
    assert_eq!(set.rules[0].actions, [Action::OpenStatuspage]);
    assert_eq!(set.rules[1].when.private, Some(true));
}

#[test]
fn every_condition_and_action_reads() {
    let set = parse(
        r##"[[rules]]
name = "everything"
when = { severity = "p2", status = ["triage", "Fixing"], private = false, source = "person", labels = { service = ["checkout", "cart"], team = "payments" }, title = "down" }
page = ["checkout", "payments"]
invite_groups = ["S0123ABC"]
invite = ["U0ALICE", "W0BOB"]
post = [{ channel = "C0EXEC", text = "{reference} {severity} {status}: {title} in {channel} {url} {{x}}" }, { channel = "G0PRIV", text = "again" }]
reminder_interval = "1h 30m"
open_statuspage = true
"##,
    );
    let rule = &set.rules[0];
    assert_eq!(rule.when.severity, [sev(2)]);
    assert_eq!(rule.when.status, [Status::Triage, Status::Fixing]);
    assert_eq!(rule.when.private, Some(false));
    assert_eq!(rule.when.source, Some(SourceCondition::Person));
    assert_eq!(
        rule.when.labels,
        BTreeMap::from([
            (
                "service".to_string(),
                vec!["checkout".into(), "cart".into()]
            ),
            ("team".to_string(), vec!["payments".into()]),
        ])
    );
    let keys: Vec<String> = rule.actions.iter().map(Action::key).collect();
    assert_eq!(
        keys,
        [
            "page:checkout",
            "page:payments",
            "invite_group:S0123ABC",
            "invite:U0ALICE",
            "invite:W0BOB",
            "post:0",
            "post:1",
            "reminder_interval",
            "open_statuspage",
        ]
    );
    assert_eq!(
        rule.actions[7],
        Action::ReminderInterval(Duration::minutes(90))
    );
    assert_eq!(rule.action_positions.len(), rule.actions.len());
}

#[test]
fn open_statuspage_false_is_no_action() {
    let e = refused("[[rules]]\nname = \"r\"\nopen_statuspage = false\n");
    assert_eq!(e.line, 1);
    assert!(e.message.contains("has no action"), "{e}");
}

// Matching: each condition, holding and not.

#[test]
fn a_rule_without_conditions_matches_every_incident() {
    let none = labels(&[]);
    let set = parse(
        "[[rules]]\nname = \"all\"\npage = [\"x\"]\n\n[[rules]]\nname = \"empty\"\nwhen = {}\npage = [\"x\"]\n",
    );
    let matched: Vec<&str> = set
        .matching(&facts(&none))
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(matched, ["all", "empty"]);
}

#[test]
fn each_condition_matches_and_fails_to_match() {
    let none = labels(&[]);
    let checkout = labels(&[("service", "checkout"), ("team", "payments")]);
    let web_team = labels(&[("service", "checkout"), ("team", "web")]);
    let base = facts(&none);
    // (condition, facts that meet it, facts that do not)
    let cases: Vec<(&str, Facts<'_>, Facts<'_>)> = vec![
        (
            "severity = \"sev2\"",
            base,
            Facts {
                severity: sev(1),
                ..base
            },
        ),
        (
            "severity = [\"sev1\", \"sev2\"]",
            base,
            Facts {
                severity: sev(3),
                ..base
            },
        ),
        (
            "status = \"triage\"",
            base,
            Facts {
                status: Status::Fixing,
                ..base
            },
        ),
        (
            "status = [\"fixing\", \"triage\"]",
            base,
            Facts {
                status: Status::Resolved,
                ..base
            },
        ),
        (
            "private = true",
            Facts {
                private: true,
                ..base
            },
            base,
        ),
        (
            "private = false",
            base,
            Facts {
                private: true,
                ..base
            },
        ),
        (
            "source = \"alert\"",
            Facts {
                origin: Origin::Alert,
                ..base
            },
            base,
        ),
        (
            "source = \"modal\"",
            Facts {
                origin: Origin::Modal,
                ..base
            },
            Facts {
                origin: Origin::Shortcut,
                ..base
            },
        ),
        (
            "source = \"person\"",
            Facts {
                origin: Origin::Shortcut,
                ..base
            },
            Facts {
                origin: Origin::Alert,
                ..base
            },
        ),
        (
            "labels = { service = \"checkout\" }",
            Facts {
                labels: &checkout,
                ..base
            },
            base,
        ),
        (
            "labels = { service = [\"cart\", \"checkout\"], team = \"payments\" }",
            Facts {
                labels: &checkout,
                ..base
            },
            Facts {
                labels: &web_team,
                ..base
            },
        ),
        (
            "title = \"(?i)^web\"",
            base,
            Facts {
                title: "The web is slow",
                ..base
            },
        ),
        (
            "title = \"slow\"",
            base,
            Facts {
                title: "Web is Slow",
                ..base
            },
        ),
    ];
    for (condition, yes, no) in cases {
        let rule = when(condition);
        assert!(rule.when.holds(&yes), "{condition} should hold for {yes:?}");
        assert!(
            !rule.when.holds(&no),
            "{condition} should not hold for {no:?}"
        );
        let set = RuleSet { rules: vec![rule] };
        assert_eq!(set.matching(&yes).len(), 1, "{condition}");
        assert_eq!(set.matching(&no).len(), 0, "{condition}");
    }
}

#[test]
fn every_condition_must_hold() {
    let checkout = labels(&[("service", "checkout")]);
    let rule = when(
        "severity = \"sev1\", status = \"investigating\", private = false, source = \"alert\", \
         labels = { service = \"checkout\" }, title = \"checkout\"",
    );
    let all = Facts {
        severity: sev(1),
        status: Status::Investigating,
        private: false,
        origin: Origin::Alert,
        labels: &checkout,
        title: "checkout is down",
    };
    assert!(rule.when.holds(&all));
    let other = labels(&[("service", "cart")]);
    for one_off in [
        Facts {
            severity: sev(2),
            ..all
        },
        Facts {
            status: Status::Fixing,
            ..all
        },
        Facts {
            private: true,
            ..all
        },
        Facts {
            origin: Origin::Modal,
            ..all
        },
        Facts {
            labels: &other,
            ..all
        },
        Facts {
            title: "cart is down",
            ..all
        },
    ] {
        assert!(!rule.when.holds(&one_off), "{one_off:?}");
    }
}

#[test]
fn matching_keeps_the_file_order() {
    let none = labels(&[]);
    let set = parse(
        "[[rules]]\nname = \"sev2\"\nwhen = { severity = \"sev2\" }\npage = [\"a\"]\n\
         [[rules]]\nname = \"sev1\"\nwhen = { severity = \"sev1\" }\npage = [\"b\"]\n\
         [[rules]]\nname = \"any\"\npage = [\"c\"]\n",
    );
    let names: Vec<&str> = set
        .matching(&facts(&none))
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(names, ["sev2", "any"]);
}

// Mistakes: each one at its line.

#[test]
fn every_mistake_is_reported_at_its_line() {
    let header = "# Rules\n\n[[rules]]\nname = \"X\"\n"; // the rule starts at line 3
    let action = "page = [\"checkout\"]\n";
    // (what, the file, line, column, words the message must have)
    let cases: Vec<(&str, String, usize, usize, &str)> = vec![
        ("syntax", format!("{header}page = checkout\n"), 5, 8, ""),
        (
            "unknown key at the top",
            format!("{header}{action}\n[settings]\nx = 1\n"),
            7,
            2,
            "unknown field `settings`",
        ),
        (
            "unknown key in a rule",
            format!("{header}{action}pages = [\"x\"]\n"),
            6,
            1,
            "unknown field `pages`",
        ),
        (
            "unknown key in when",
            format!("{header}when = {{ severity = \"sev1\", titel = \"x\" }}\n{action}"),
            5,
            29,
            "unknown field `titel`",
        ),
        (
            "unknown key in a post",
            format!("{header}post = [{{ channel = \"#exec\", txt = \"x\" }}]\n"),
            5,
            30,
            "unknown field `txt`",
        ),
        (
            "bad severity",
            format!("{header}when = {{ severity = [\"sev1\", \"sev9\"] }}\n{action}"),
            5,
            30,
            "rule \"X\": \"sev9\" is not a severity (sev1, sev2, sev3)",
        ),
        (
            "bad single severity",
            format!("{header}when = {{ severity = \"sev4\" }}\n{action}"),
            5,
            21,
            "\"sev4\" is not a severity (sev1, sev2, sev3)",
        ),
        (
            "empty severity list",
            format!("{header}when = {{ severity = [] }}\n{action}"),
            5,
            21,
            "severity is an empty list",
        ),
        (
            "severity of the wrong type",
            format!("{header}when = {{ severity = 1 }}\n{action}"),
            5,
            21,
            "a string or a list of strings",
        ),
        (
            "bad status",
            format!("{header}when = {{ status = \"done\" }}\n{action}"),
            5,
            19,
            "\"done\" is not a status (triage, investigating, fixing, monitoring, resolved, declined)",
        ),
        (
            "bad source",
            format!("{header}when = {{ source = \"pager\" }}\n{action}"),
            5,
            19,
            "\"pager\" is not a source",
        ),
        (
            "bad regex",
            format!("{header}when = {{ title = \"check(out\" }}\n{action}"),
            5,
            18,
            "title \"check(out\" is not a regular expression: unclosed group",
        ),
        (
            "a Unicode class the binary leaves out",
            format!("{header}when = {{ title = '\\p{{Greek}}' }}\n{action}"),
            5,
            18,
            "is not a regular expression",
        ),
        (
            "empty label list",
            format!("{header}when = {{ labels = {{ service = [] }} }}\n{action}"),
            5,
            31,
            "the label service is an empty list",
        ),
        (
            "bad group id",
            format!("{header}invite_groups = [\"S0123ABC\", \"@oncall\"]\n"),
            5,
            30,
            "\"@oncall\" in invite_groups is not a Slack user-group id",
        ),
        (
            "bad user id",
            format!("{header}invite = [\"u0alice\"]\n"),
            5,
            11,
            "\"u0alice\" in invite is not a Slack user id",
        ),
        (
            "a user where a group goes",
            format!("{header}invite_groups = [\"U0ALICE\"]\n"),
            5,
            18,
            "is not a Slack user-group id",
        ),
        (
            "duplicate service",
            format!("{header}page = [\"checkout\", \"checkout\"]\n"),
            5,
            21,
            "page lists \"checkout\" twice",
        ),
        (
            "bad channel",
            format!("{header}post = [{{ channel = \"exec\", text = \"x\" }}]\n"),
            5,
            21,
            "\"exec\" is not a channel",
        ),
        (
            "uppercase channel name",
            format!("{header}post = [{{ channel = \"#Exec\", text = \"x\" }}]\n"),
            5,
            21,
            "\"#Exec\" is not a channel",
        ),
        (
            "post without a text",
            format!("{header}post = [{{ channel = \"#exec\" }}]\n"),
            5,
            9,
            "a post needs a channel and a text",
        ),
        (
            "unknown template variable",
            format!(
                "{header}post = [{{ channel = \"#exec\", text = \"{{title}} at {{time}}\" }}]\n"
            ),
            5,
            37,
            "{time} is not a template variable ({title}, {reference}, {severity}, {status}, {channel}, {url})",
        ),
        (
            "lone brace",
            format!("{header}post = [{{ channel = \"#exec\", text = \"a {{ b\" }}]\n"),
            5,
            37,
            "lone {",
        ),
        (
            "interval out of range",
            format!("{header}reminder_interval = \"2s\"\n"),
            5,
            21,
            "rule \"X\": reminder_interval \"2s\" is not a duration from 1m to 7d",
        ),
        (
            "interval not a duration",
            format!("{header}reminder_interval = \"soon\"\n"),
            5,
            21,
            "reminder_interval \"soon\" is not a duration such as 15m or 1h",
        ),
        (
            "duplicate name",
            format!("{header}{action}\n[[rules]]\nname = \"X\"\n{action}"),
            8,
            8,
            "the name \"X\" is already the rule's at line 3",
        ),
        (
            "missing name",
            format!("{header}{action}\n[[rules]]\n{action}"),
            7,
            1,
            "a rule has no name",
        ),
        (
            "empty name",
            format!("[[rules]]\nname = \" \"\n{action}"),
            2,
            8,
            "a rule's name is empty",
        ),
        (
            "no action",
            format!("{header}when = {{ severity = \"sev1\" }}\n"),
            3,
            1,
            "rule \"X\" has no action (page, invite_groups, invite, post, reminder_interval, open_statuspage)",
        ),
    ];
    let mut wrong = Vec::new();
    for (what, text, line, column, words) in cases {
        let e = refused(&text);
        if (e.line, e.column) != (line, column)
            || !e.message.contains(words)
            || e.message.contains('\n')
        {
            wrong.push(format!(
                "{what}: got {e:?}, want line {line}, column {column}, {words:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn an_error_says_where_it_is() {
    let e = RulesError {
        line: 3,
        column: 29,
        message: "\"sev9\" is not a severity (sev1, sev2, sev3)".into(),
    };
    assert_eq!(
        e.to_string(),
        "line 3, column 29: \"sev9\" is not a severity (sev1, sev2, sev3)"
    );
}

#[test]
fn severities_follow_the_scale_given() {
    let text = "[[rules]]\nname = \"r\"\nwhen = { severity = \"sev4\" }\npage = [\"x\"]\n";
    assert!(RuleSet::parse(text, 3).is_err());
    let set = RuleSet::parse(text, 4).expect("a four-level scale has sev4");
    assert_eq!(
        set.rules[0].when.severity,
        [Severity::level(4, 4).expect("4")]
    );
}

#[test]
fn columns_count_characters_not_bytes() {
    let e = refused("[[rules]]\nname = \"é\"\npage = [\"é\", \"é\"]\n");
    // `page = ["é", "é"]`: the second value starts at the 14th character (the 15th byte).
    assert_eq!((e.line, e.column), (3, 14), "{e}");
}

// The configured services.

#[test]
fn paged_services_must_be_configured() {
    let set = parse(
        "[[rules]]\nname = \"a\"\npage = [\"checkout\"]\n\n[[rules]]\nname = \"b\"\n\
         page = [\"checkout\", \"chekout\"]\n",
    );
    let known = ["checkout".to_string(), "payments".to_string()];
    let e = set.check_services(&known).expect_err("chekout is unknown");
    assert_eq!((e.line, e.column), (7, 21), "{e}");
    assert_eq!(
        e.message,
        "rule \"b\": page \"chekout\" is not a PagerDuty service (configured: checkout, payments)"
    );
    let e = set.check_services(&[]).expect_err("none is configured");
    assert_eq!(e.line, 3);
    assert!(e.message.contains("none is configured"), "{e}");
    let known = ["checkout".to_string(), "chekout".to_string()];
    assert_eq!(set.check_services(&known), Ok(()));
    assert_eq!(parse(EXAMPLE).check_services(&["checkout".into()]), Ok(()));
}

// Keys.

#[test]
fn action_keys_are_stable_and_distinct_within_a_rule() {
    let text = r##"[[rules]]
name = "r"
page = ["checkout", "payments"]
invite_groups = ["S1", "S2"]
invite = ["U1", "W2"]
post = [{ channel = "#exec", text = "a" }, { channel = "#exec", text = "a" }, { channel = "C1", text = "b" }]
reminder_interval = "15m"
open_statuspage = true
"##;
    let keys =
        |set: &RuleSet| -> Vec<String> { set.rules[0].actions.iter().map(Action::key).collect() };
    let first = keys(&parse(text));
    assert_eq!(
        first,
        [
            "page:checkout",
            "page:payments",
            "invite_group:S1",
            "invite_group:S2",
            "invite:U1",
            "invite:W2",
            "post:0",
            "post:1",
            "post:2",
            "reminder_interval",
            "open_statuspage",
        ]
    );
    // Read again (a restart), the same keys.
    assert_eq!(keys(&parse(text)), first);
    let mut distinct = first.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), first.len());
    // A post's key is its place among the posts, whatever its text.
    let edited = text.replace("text = \"b\"", "text = \"changed\"");
    assert_eq!(keys(&parse(&edited)), first);
}

#[test]
fn actions_describe_themselves() {
    let cases = [
        (Action::Page("checkout".into()), "page checkout"),
        (
            Action::InviteGroup("S0123ABC".into()),
            "invite the group S0123ABC",
        ),
        (Action::Invite("U1".into()), "invite the user U1"),
        (
            Action::Post {
                index: 0,
                channel: "#exec".into(),
                text: "SEV1 declared: {title}".into(),
            },
            "post to #exec: “SEV1 declared: {title}”",
        ),
        (
            Action::ReminderInterval(Duration::minutes(15)),
            "set the update reminder to every 15m",
        ),
        (
            Action::ReminderInterval(Duration::minutes(90)),
            "set the update reminder to every 1h 30m",
        ),
        (
            Action::ReminderInterval(Duration::days(7)),
            "set the update reminder to every 7d",
        ),
        (
            Action::OpenStatuspage,
            "offer the coordinator the status-page form",
        ),
    ];
    for (action, words) in cases {
        assert_eq!(action.describe(), words);
    }
}

// Templates.

const VALUES: Values<'static> = Values {
    title: "Checkout is down",
    reference: "INC-7",
    severity: "SEV1",
    status: "investigating",
    channel: "<#C0INC>",
    url: "https://example.slack.com/archives/C0INC",
};

#[test]
fn render_fills_every_variable() {
    assert_eq!(
        render(
            "{reference} {severity} ({status}): {title} in {channel} {url}",
            &VALUES
        ),
        "INC-7 SEV1 (investigating): Checkout is down in <#C0INC> \
         https://example.slack.com/archives/C0INC"
    );
    assert_eq!(
        render("SEV1 declared: {title}", &VALUES),
        "SEV1 declared: Checkout is down"
    );
    assert_eq!(render("no variables", &VALUES), "no variables");
    assert_eq!(render("", &VALUES), "");
    assert_eq!(
        render("{title}{title}", &VALUES),
        "Checkout is downCheckout is down"
    );
}

#[test]
fn render_keeps_doubled_braces_as_braces() {
    assert_eq!(
        render("{{title}} is {title}", &VALUES),
        "{title} is Checkout is down"
    );
    assert_eq!(render("a }} b {{", &VALUES), "a } b {");
    assert_eq!(render("{{{title}}}", &VALUES), "{Checkout is down}");
}

#[test]
fn render_does_not_expand_a_value() {
    let values = Values {
        title: "{url}",
        ..VALUES
    };
    assert_eq!(render("{title}", &values), "{url}");
}

#[test]
fn render_keeps_what_it_does_not_know_as_written() {
    assert_eq!(render("{time} {title", &VALUES), "{time} {title");
    assert_eq!(render("a } b", &VALUES), "a } b");
}

#[test]
fn templates_are_checked() {
    assert_eq!(template_problem("{title} {{literal}} {url}"), None);
    assert_eq!(template_problem("{{{title}}}"), None);
    for bad in ["{time}", "{ title }", "{}", "a { b", "a } b", "{title"] {
        assert!(template_problem(bad).is_some(), "{bad}");
    }
}

// --explain.

const EXPLAINED: &str = r##"[[rules]]
name = "Checkout outages page on-call"
when = { severity = ["sev1"], title = "(?i)checkout" }
page = ["checkout"]
invite_groups = ["S0123ABC"]
post = [{ channel = "#exec", text = "SEV1 declared: {title}" }]
reminder_interval = "15m"

[[rules]]
name = "Other rule"
when = { severity = ["sev2", "sev3"] }
open_statuspage = true

[[rules]]
name = "Alerts for checkout"
when = { source = "alert", labels = { service = "checkout" } }
invite = ["U0ONCALL"]
"##;

fn explain(query: &str) -> String {
    parse(EXPLAINED)
        .explain(query, LEVELS)
        .unwrap_or_else(|e| panic!("{query}: {e}"))
}

#[test]
fn explain_says_which_rules_match_if_and_why_not() {
    assert_eq!(
        explain("sev1 from alert service=checkout"),
        "Incident: sev1, declared from an alert, labels service=checkout (status, private and \
         title not given)\n\
         \n\
         ✓ \"Checkout outages page on-call\" (line 1) matches if the title matches (?i)checkout, \
         and would:\n  \
           - page checkout\n  \
           - invite the group S0123ABC\n  \
           - post to #exec: “SEV1 declared: {title}”\n  \
           - set the update reminder to every 15m\n\
         ✗ \"Other rule\" (line 9) does not match: the severity is sev1, the rule wants sev2 or sev3\n\
         ✓ \"Alerts for checkout\" (line 14) matches, and would:\n  \
           - invite the user U0ONCALL\n"
    );
}

#[test]
fn explain_a_full_match_and_its_failures() {
    let text = explain("P1 \"title=Checkout is down\" from command service=cart");
    assert!(
        text.contains("✓ \"Checkout outages page on-call\" (line 1) matches, and would:\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "✗ \"Alerts for checkout\" (line 14) does not match: it was declared from a command, \
             the rule wants it declared from an alert; the label service is cart, the rule wants checkout\n"
        ),
        "{text}"
    );
    assert!(
        text.starts_with(
            "Incident: sev1, declared from a command, labels service=cart, title “Checkout is \
             down” (status and private not given)\n"
        ),
        "{text}"
    );
}

#[test]
fn explain_with_nothing_given_makes_every_condition_conditional() {
    let text = explain("");
    assert!(text.starts_with("Incident: nothing given"), "{text}");
    assert!(
        text.contains(
            "✓ \"Alerts for checkout\" (line 14) matches if it was declared from an alert and the \
             label service is checkout, and would:"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "✓ \"Checkout outages page on-call\" (line 1) matches if the severity is sev1 and the \
             title matches (?i)checkout"
        ),
        "{text}"
    );
}

#[test]
fn explain_a_rule_without_conditions() {
    let set = parse("[[rules]]\nname = \"all\"\nopen_statuspage = true\n");
    let text = set.explain("sev3", LEVELS).expect("query");
    assert!(
        text.contains("✓ \"all\" (line 1) matches every incident, and would:\n  - offer"),
        "{text}"
    );
}

#[test]
fn explain_with_no_rules_says_so() {
    let text = RuleSet::default().explain("sev1", LEVELS).expect("query");
    assert!(text.ends_with("The rules file has no rules.\n"), "{text}");
    assert!(text.starts_with("Incident: sev1"), "{text}");
}

#[test]
fn explain_refuses_a_bad_query_naming_the_word() {
    let set = parse(EXPLAINED);
    let e = set.explain("sev1 urgent", LEVELS).expect_err("urgent");
    assert!(e.starts_with("\"urgent\" is not part of a query"), "{e}");
    assert!(e.contains("sev1, sev2, sev3"), "{e}");
    assert!(e.contains("from alert|command|modal|shortcut"), "{e}");
    assert!(e.contains("key=value"), "{e}");
    for (query, words) in [
        ("sev9", "\"sev9\" is not part of a query"),
        ("from", "\"from\" needs a word"),
        ("from pager", "\"pager\" is not a way of declaring"),
        ("sev1 sev2", "two values for severity: sev1 and sev2"),
        ("private public", "two values for private or public"),
        ("=x", "no label name"),
        ("a=1 a=2", "the label a is given twice"),
        ("title=\"open quote", "not closed"),
    ] {
        let e = set.explain(query, LEVELS).expect_err(query);
        assert!(e.contains(words), "{query}: {e}");
    }
}

#[test]
fn explain_reads_every_kind_of_word() {
    let text = explain("2 Fixing private from shortcut team=web title=\"Web is slow\"");
    assert!(
        text.starts_with(
            "Incident: sev2, status fixing, private, declared from a message shortcut, labels \
             team=web, title “Web is slow”\n"
        ),
        "{text}"
    );
    // Repeating the same fact is not a conflict.
    assert!(parse(EXPLAINED).explain("sev1 p1", LEVELS).is_ok());
}

#[test]
fn explain_agrees_with_matching_when_everything_is_given() {
    let set = parse(EXPLAINED);
    let checkout = labels(&[("service", "checkout")]);
    let all = Facts {
        severity: sev(1),
        status: Status::Triage,
        private: false,
        origin: Origin::Alert,
        labels: &checkout,
        title: "Checkout is down",
    };
    let text = set
        .explain(
            "sev1 triage public from alert service=checkout \"title=Checkout is down\"",
            LEVELS,
        )
        .expect("query");
    let said: Vec<bool> = text
        .lines()
        .filter(|l| l.starts_with('✓') || l.starts_with('✗'))
        .map(|l| l.starts_with('✓'))
        .collect();
    let matched: Vec<bool> = set.rules.iter().map(|r| r.when.holds(&all)).collect();
    assert_eq!(said, matched);
    assert!(!text.contains(" if "), "{text}");
}
