//! Tests of rendering: the built-in template on plain and hostile input, custom templates and
//! their errors, the merged timeline's order, durations. The exact documents are the golden
//! files' business (`tests/it/postmortem_golden.rs`); these check properties of them.

use chrono::{TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use proptest::prelude::*;
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

use super::context::duration_words;
use super::*;

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 28, h, m, 0).unwrap()
}

fn person(id: &str, name: &str) -> Person {
    Person {
        id: id.to_string(),
        name: name.to_string(),
    }
}

fn input() -> PostmortemInput {
    PostmortemInput {
        reference: "INC-7".into(),
        title: "Checkout is down".into(),
        severity: "SEV1".into(),
        status: "resolved".into(),
        private: false,
        declared_at: at(10, 0),
        declared_by: Some(person("U1", "alice")),
        resolved_at: Some(at(12, 30)),
        first_coordinator_at: Some(at(10, 4)),
        summary: Some("Payments failed.".into()),
        impact: None,
        impact_started_at: None,
        impact_ended_at: None,
        channel: Some("#inc-7-checkout-is-down".into()),
        source_link: None,
        roles: vec![RoleSpan {
            role: "Incident commander".into(),
            person: person("U1", "alice"),
            from: at(10, 4),
            to: None,
        }],
        phases: vec![Phase {
            status: "investigating".into(),
            from: at(10, 0),
            to: None,
        }],
        entries: vec![Entry {
            at: at(10, 0),
            who: Some(person("U1", "alice")),
            kind: "declared".into(),
            what: "Declared SEV1".into(),
        }],
        pins: vec![],
        followups: vec![],
        people: HashMap::new(),
        generated_at: at(13, 0),
        pins_may_be_stale: false,
    }
}

fn pin(posted: DateTime<Utc>, text: &str) -> Pin {
    Pin {
        posted_at: posted,
        pinned_at: None,
        pinned_by: None,
        author: Some(person("U2", "bob")),
        author_label: None,
        text: text.into(),
        permalink: None,
        file: None,
    }
}

fn custom(source: &str, input: &PostmortemInput) -> Result<String, TemplateError> {
    render(input, &Template::parse(source)?, chrono_tz::UTC)
}

#[test]
fn the_builtin_template_parses_and_renders() {
    let template = Template::builtin();
    assert!(
        format!("{template:?}").contains("source_len"),
        "{template:?}"
    );
    let out = render(&input(), &template, chrono_tz::Europe::Berlin).unwrap();
    assert!(out.starts_with("# INC-7: Checkout is down\n"), "{out}");
    for section in [
        "## Summary",
        "## Impact",
        "## Roles",
        "## Timeline",
        "```mermaid\ngantt\n",
        "## Root cause",
        "## Resolution",
        "## What went well",
        "## What went wrong",
        "## Lessons",
        "## Follow-ups",
    ] {
        assert!(out.contains(section), "{section} missing from\n{out}");
    }
    assert!(
        out.contains("| Declared | 2026-03-28 11:00 CET by alice |"),
        "{out}"
    );
    assert!(out.contains("| Duration | 2 h 30 min |"), "{out}");
    assert!(
        out.contains("| Time to coordinator (MTTA) | 4 min |"),
        "{out}"
    );
    assert!(out.ends_with('\n') && !out.ends_with("\n\n\n"), "{out:?}");
}

#[test]
fn durations_read_as_words() {
    for (minutes, expected) in [
        (0, "under 1 min"),
        (45, "45 min"),
        (60, "1 h"),
        (3 * 1440 + 190, "3 d 3 h 10 min"),
        (2 * 1440 + 10, "2 d 10 min"),
        (-5, "-5 min"),
    ] {
        assert_eq!(duration_words(TimeDelta::minutes(minutes)), expected);
    }
    assert_eq!(duration_words(TimeDelta::seconds(59)), "under 1 min");
}

#[test]
fn pins_sort_by_post_time_after_events_of_the_same_instant() {
    let mut input = input();
    input.entries.push(Entry {
        at: at(11, 0),
        who: None,
        kind: "pinned".into(),
        what: "second event".into(),
    });
    input.entries.push(Entry {
        at: at(10, 30),
        who: None,
        kind: "update".into(),
        what: "first event".into(),
    });
    input.pins = vec![pin(at(11, 0), "pin at 11"), pin(at(10, 15), "pin at 10:15")];
    let out = custom(
        "{% for i in timeline %}{{ i.at.time }} {{ i.what or i.text }}\n{% endfor %}",
        &input,
    )
    .unwrap();
    assert_eq!(
        out,
        "10:00 Declared SEV1\n10:15 pin at 10:15\n10:30 first event\n11:00 second event\n11:00 pin at 11\n"
    );
}

#[test]
fn open_spans_end_at_resolution_or_else_at_generation() {
    let template =
        "{% for s in role_spans %}{{ s.end.time }} {{ s.until }} {{ s.duration }}{% endfor %}";
    assert_eq!(
        custom(template, &input()).unwrap(),
        "12:30 until resolved 2 h 26 min"
    );
    let mut open = input();
    open.resolved_at = None;
    assert_eq!(
        custom(template, &open).unwrap(),
        "13:00 until now 2 h 56 min"
    );
    let out = render(&open, &Template::builtin(), chrono_tz::UTC).unwrap();
    assert!(out.contains("| Resolved | not resolved |"), "{out}");
    assert!(
        out.contains("| Duration | 3 h so far, not resolved |"),
        "{out}"
    );
}

#[test]
fn a_private_incident_says_so() {
    let mut input = input();
    let out = render(&input, &Template::builtin(), chrono_tz::UTC).unwrap();
    assert!(!out.contains("Private incident"));
    input.private = true;
    let out = render(&input, &Template::builtin(), chrono_tz::UTC).unwrap();
    assert!(out.contains("**Private incident.**"), "{out}");
}

#[test]
fn printed_values_are_escaped_unless_built_as_markdown() {
    let mut input = input();
    input.title = "# <b>x</b> | [y](javascript:z)\nline two".into();
    input.people.insert("U9".into(), "_carol_".into());
    input.pins = vec![pin(at(10, 5), "<@U9> said <https://x.example|*this*>")];
    let out = custom(
        "{{ incident.title }}\n{{ incident.title | md }}\n{{ incident.title | safe }}\n\
         {% for p in pins %}{{ p.text_md }}|{{ p.text | slack }}|{{ p.text }}{% endfor %}\n\
         {{ incident.declared_by }} {{ incident.declared_at }} {{ none }}.",
        &input,
    )
    .unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "\\# \\<b>x\\</b> \\| \\[y\\](javascript:z) line two",
            "\\# \\<b>x\\</b> \\| \\[y\\](javascript:z)\\",
            "line two",
            "# <b>x</b> | [y](javascript:z)",
            "line two",
            // trim_blocks takes the newline after `{% endfor %}`.
            "@\\_carol\\_ said [\\*this\\*](https://x.example)|@\\_carol\\_ said [\\*this\\*](https://x.example)|\\<@U9> said \\<https://x.example\\|\\*this\\*>alice 2026-03-28 10:00 UTC .",
        ]
    );
}

#[test]
fn filters_build_links_mermaid_names_and_dates() {
    let out = custom(
        "{{ 'runbook' | link('https://wiki.example/run book') }} {{ 'x' | link('javascript:y') }} \
         {{ 'x' | link(none) }} {{ 'a: b; #c' | mermaid }} {{ incident.declared_at | datetime('%d %b %H:%M %Z') }} \
         {{ incident.declared_at | datetime }} {{ incident.declared_at.offset }} {{ incident.declared_at.utc }}",
        &input(),
    )
    .unwrap();
    assert_eq!(
        out,
        "[runbook](https://wiki.example/run%20book) x x a b c 28 Mar 10:00 UTC 2026-03-28 10:00 UTC +00:00 2026-03-28T10:00:00Z"
    );
}

#[test]
fn times_sort_and_compare_in_time_order() {
    let mut input = input();
    input.followups = vec![
        FollowUp {
            text: "later".into(),
            by: None,
            at: at(12, 0),
            done: false,
            ticket: None,
        },
        FollowUp {
            text: "earlier".into(),
            by: None,
            at: at(11, 0),
            done: false,
            ticket: None,
        },
    ];
    let out = custom(
        "{% for f in followups | sort(attribute='at') %}{{ f.text }} {% endfor %}\
         {{ incident.declared_at < incident.resolved_at }}",
        &input,
    )
    .unwrap();
    assert_eq!(out, "earlier later True");
}

#[test]
fn syntax_errors_name_their_line_and_column() {
    let err =
        Template::parse("# {{ incident.reference }}\n\nok\n  {% if x %}\n{{ a + }}\n").unwrap_err();
    // Column 8 is the `}}` where an operand was expected.
    assert_eq!((err.line, err.column), (5, 8), "{err}");
    assert!(err.message.starts_with("syntax error: "), "{err}");
    assert_eq!(
        err.to_string(),
        format!("line 5, column 8: {}", err.message)
    );
    let err = Template::parse("{% for x in y %}\nno end").unwrap_err();
    assert_eq!(err.line, 2, "{err}");
    assert!(err.message.contains("syntax error"), "{err}");
}

#[test]
fn render_errors_name_their_line_and_column() {
    for (source, line, column, says) in [
        (
            "ok\n\nthe {{ incident.title | shout }}",
            3,
            25,
            "unknown filter",
        ),
        ("ok\n  {{ incident.titel }}", 2, 6, "undefined"),
        ("{{ 1 / 0 }}", 1, 4, "1 / 0"),
        ("\n{{ incident.title | md(1000) }}", 2, 21, "indent 1000"),
        (
            "{{ incident.title | datetime }}",
            1,
            21,
            "datetime expects a time",
        ),
        (
            "{{ generated_at | datetime('%Q') }}",
            1,
            19,
            "not a valid strftime",
        ),
        ("{% for x in nothing %}{% endfor %}", 1, 13, "undefined"),
    ] {
        let err = custom(source, &input()).unwrap_err();
        assert_eq!(err.line, line, "{source:?}: {err}");
        assert_eq!(err.column, column, "{source:?}: {err}");
        assert!(err.message.contains(says), "{source:?}: {err}");
    }
}

#[test]
fn a_typo_in_a_condition_is_false_not_an_error() {
    assert_eq!(
        custom("{% if incident.nope %}x{% endif %}y", &input()).unwrap(),
        "y"
    );
}

/// Every extension a renderer might switch on.
fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_MATH
        | Options::ENABLE_GFM
        | Options::ENABLE_DEFINITION_LIST
        | Options::ENABLE_WIKILINKS
}

/// The document's shape, whatever the input: the template's headings and nothing else, one
/// table, one Mermaid block, no HTML, only web and mail links, no images.
fn assert_structure(out: &str, title: &str) {
    let mut headings = Vec::new();
    let mut in_heading = None::<String>;
    let mut code_blocks = Vec::new();
    let mut tables = 0;
    for event in Parser::new_ext(out, options()) {
        match event {
            Event::Start(Tag::Heading { .. }) => in_heading = Some(String::new()),
            Event::End(TagEnd::Heading(_)) => headings.extend(in_heading.take()),
            Event::Text(t) => {
                if let Some(h) = in_heading.as_mut() {
                    h.push_str(&t)
                }
            }
            Event::Start(Tag::CodeBlock(kind)) => code_blocks.push(format!("{kind:?}")),
            Event::Start(Tag::Table(_)) => tables += 1,
            Event::Html(h) | Event::InlineHtml(h) => panic!("HTML {h:?} in\n{out}"),
            Event::Start(Tag::Image { .. }) => panic!("image in\n{out}"),
            Event::Start(Tag::Link { dest_url, .. }) => assert!(
                ["http://", "https://", "mailto:"]
                    .iter()
                    .any(|s| dest_url.to_ascii_lowercase().starts_with(s)),
                "link to {dest_url} in\n{out}"
            ),
            _ => {}
        }
    }
    let fixed: Vec<&str> = headings.iter().skip(1).map(String::as_str).collect();
    assert!(
        headings.first().is_some_and(|h| h.contains(title.trim())) || title.trim().is_empty(),
        "{headings:?}"
    );
    for h in &fixed {
        assert!(
            [
                "Summary",
                "Impact",
                "Roles",
                "Timeline",
                "Status phases and roles",
                "Root cause",
                "Resolution",
                "What went well",
                "What went wrong",
                "Lessons",
                "Follow-ups",
            ]
            .contains(h)
                || h.starts_with("2026-")
                || h.starts_with("20"),
            "unexpected heading {h:?} in\n{out}"
        );
    }
    assert_eq!(tables, 1, "{out}");
    assert_eq!(code_blocks, ["Fenced(Borrowed(\"mermaid\"))"], "{out}");
}

/// The Mermaid block's lines: the fixed ones and tasks of the form `name :start, end`.
fn assert_mermaid(out: &str) {
    let block = out
        .split("```mermaid\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```\n").next())
        .expect("a mermaid block");
    for line in block.lines() {
        let ok = line == "gantt"
            || line.starts_with("    title ")
            || line.starts_with("    dateFormat ")
            || line.starts_with("    axisFormat ")
            || line == "    section Status"
            || line == "    section Roles"
            || line.split_once(" :").is_some_and(|(name, dates)| {
                !name.trim().is_empty()
                    && !name.contains([':', '#', ';', '`'])
                    && dates.len() == "2026-03-28 10:00, 2026-03-28 10:00".len()
            });
        assert!(ok, "mermaid line {line:?} in\n{block}");
    }
}

fn hostile() -> impl Strategy<Value = String> {
    let fragment = prop_oneof![
        3 => any::<char>().prop_map(String::from),
        5 => prop::sample::select(vec![
            "# ", "\n", "\n\n", "```", "<script>", "|", "- ", "> ", "1. ", "[x](javascript:y)",
            "![i](https://e/x.png)", "<@U1>", "<!here>", "<https://x.example|l>", ":", ";", "#",
            "`", "section ", "%%", "\r", "&lt;", "*", "_", "~", "$", "\\", "---", "[ ] ",
        ])
        .prop_map(String::from),
    ];
    prop::collection::vec(fragment, 0..16).prop_map(|v| v.concat())
}

fn time() -> impl Strategy<Value = DateTime<Utc>> {
    // 2026-03-27 .. 2026-04-01, across Europe's DST change, to the second.
    (1_774_569_600i64..1_775_001_600).prop_map(|s| Utc.timestamp_opt(s, 0).unwrap())
}

fn arbitrary_person() -> impl Strategy<Value = Person> {
    ("U[0-9]", hostile()).prop_map(|(id, name)| Person { id, name })
}

prop_compose! {
    fn arbitrary_input()(
        title in hostile(), summary in proptest::option::of(hostile()), status in hostile(),
        private in any::<bool>(), declared in time(), resolved in proptest::option::of(time()),
        who in proptest::option::of(arbitrary_person()),
        roles in prop::collection::vec((hostile(), arbitrary_person(), time(), proptest::option::of(time())), 0..4),
        phases in prop::collection::vec((hostile(), time(), proptest::option::of(time())), 0..4),
        entries in prop::collection::vec((time(), proptest::option::of(arbitrary_person()), hostile()), 0..6),
        pins in prop::collection::vec((time(), hostile(), proptest::option::of(hostile()), proptest::option::of(hostile())), 0..4),
        followups in prop::collection::vec((hostile(), time()), 0..3),
        generated in time(), stale in any::<bool>(),
    ) -> PostmortemInput {
        PostmortemInput {
            reference: "INC-1".into(),
            title,
            severity: "SEV2".into(),
            status,
            private,
            declared_at: declared,
            declared_by: who.clone(),
            resolved_at: resolved,
            first_coordinator_at: resolved,
            summary: summary.clone(),
            impact: summary,
            impact_started_at: None,
            impact_ended_at: None,
            channel: Some("#inc-1".into()),
            source_link: Some("https://alerts.example/1 )".into()),
            roles: roles.into_iter().map(|(role, person, from, to)| RoleSpan { role, person, from, to }).collect(),
            phases: phases.into_iter().map(|(status, from, to)| Phase { status, from, to }).collect(),
            entries: entries.into_iter().map(|(at, who, what)| Entry { at, who, kind: "update".into(), what }).collect(),
            pins: pins.into_iter().map(|(posted_at, text, label, file)| Pin {
                posted_at,
                pinned_at: Some(posted_at),
                pinned_by: who.clone(),
                author: None,
                author_label: label.clone(),
                text,
                permalink: label.map(|l| format!("https://slack.example/{l}")),
                file: file.map(|name| FileRef { name, link: Some("https://files.example/f".into()) }),
            }).collect(),
            followups: followups.into_iter().map(|(text, at)| FollowUp { text, by: who.clone(), at, done: false, ticket: None }).collect(),
            people: HashMap::from([("U1".to_string(), "# <b>".to_string())]),
            generated_at: generated,
            pins_may_be_stale: stale,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn any_input_renders_to_the_same_document_shape(input in arbitrary_input()) {
        let out = render(&input, &Template::builtin(), chrono_tz::Europe::Berlin).unwrap();
        assert_structure(&out, "INC-1");
        assert_mermaid(&out);
    }

    #[test]
    fn any_template_text_renders_or_fails_at_a_place_in_it(source in template_text(), tz in prop::sample::select(vec![
        Tz::UTC, chrono_tz::Europe::Berlin, chrono_tz::Asia::Kolkata, chrono_tz::America::St_Johns,
    ])) {
        match Template::parse(&source) {
            Err(err) => points_into(&err, &source)?,
            Ok(template) => match render(&input(), &template, tz) {
                Err(err) => points_into(&err, &source)?,
                // Text outside tags is printed as written: nothing is escaped or trimmed there.
                Ok(out) if !source.contains('{') => prop_assert_eq!(&out, &source),
                Ok(_) => {}
            },
        }
        // A block left open fails where the text ends, whatever came before it.
        let text = source.replace('{', "");
        let open = format!("{{{{ incident.title }}}}{text}{{% if x %}}");
        let err = Template::parse(&open).map(|_| ()).expect_err("an unclosed block");
        points_into(&err, &open)?;
        prop_assert_eq!(err.line, open.split('\n').count(), "{}", err);
    }

    #[test]
    fn any_template_text_without_tags_renders_as_written(text in hostile()) {
        let text = text.replace('{', "");
        let template = Template::parse(&text).expect("plain text parses");
        prop_assert_eq!(render(&input(), &template, chrono_tz::UTC), Ok(text));
    }
}

/// Template text: the hostile fragments and the pieces of Jinja syntax — delimiters, the
/// context's names, filters with and without arguments, blocks opened and closed — so that
/// parse errors, render errors and templates that work all come up.
fn template_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        2 => hostile(),
        3 => prop::sample::select(vec![
            "{{ ", " }}", "{% ", " %}", "{# ", " #}", "{%- ", " -%}", "{{ incident.title }}",
            "{{ incident.declared_at | datetime(\"%H:%M\") }}", "{{ incident.missing }}",
            "{{ x.y }}", "{% if incident.resolved_at %}", "{% else %}", "{% endif %}",
            "{% for item in timeline %}", "{% for p in pins %}{{ p.text | slack(2) }}",
            "{% endfor %}", "{{ item.what }}", " | md", " | md(99)", " | slack", " | link(",
            " | mermaid", " | datetime(\"%Q\")", " | shout", "incident.summary", "roles",
            "(", ")", "[", "]", ",", "\"", "'", "1", "none", "loop.index", "\n",
        ])
        .prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..12).prop_map(|v| v.concat())
}

/// `err` names a line of `source` and a column on it (or just past its end, where something
/// was expected), and says so first.
fn points_into(err: &TemplateError, source: &str) -> Result<(), TestCaseError> {
    let lines: Vec<&str> = source.split('\n').collect();
    prop_assert!(
        (1..=lines.len()).contains(&err.line),
        "line {} of {}: {} in {:?}",
        err.line,
        lines.len(),
        err,
        source
    );
    let width = lines[err.line - 1].chars().count();
    prop_assert!(
        (1..=width + 1).contains(&err.column),
        "column {} of {}: {} in {:?}",
        err.column,
        width,
        err,
        source
    );
    prop_assert!(!err.message.is_empty());
    let head = format!("line {}, column {}: ", err.line, err.column);
    prop_assert!(err.to_string().starts_with(&head), "{}", err);
    Ok(())
}
