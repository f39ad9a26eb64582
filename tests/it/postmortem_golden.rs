//! The postmortem draft, document by document: each scenario renders an input and compares the
//! Markdown with `tests/golden/postmortem/<name>.md`, byte for byte.
//!
//! When a change to the renderer is intended, write the new documents with
//! `UPDATE_GOLDEN=1 cargo test --test it postmortem` — every golden test then fails, saying it
//! updated its file — review them in `git diff`, and rerun without `UPDATE_GOLDEN`: the golden
//! files are the review, and only a run without the variable checks anything.

use std::collections::HashMap;
use std::path::PathBuf;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use incident_commander::domain::postmortem::{
    Entry, FileRef, FollowUp, Person, Phase, Pin, PostmortemInput, RoleSpan, Template, render,
};
use pulldown_cmark::{Event, Options, Parser, Tag};

// ---------------------------------------------------------------- the golden files

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/postmortem")
        .join(format!("{name}.md"))
}

/// Compares `actual` with the golden file. With `UPDATE_GOLDEN` set, writes `actual` there
/// instead and fails all the same: a run that rewrites the goldens has checked nothing, so it
/// must never pass (and `.ci/run` refuses to start with the variable set).
fn check(name: &str, actual: &str) {
    assert_inert(name, actual);
    let path = golden_path(name);
    if updating() {
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("golden dir");
        std::fs::write(&path, actual).expect("write golden file");
        panic!(
            "{name}: golden updated ({}): review the diff (`git diff tests/golden`) and rerun \
             without UPDATE_GOLDEN",
            path.display()
        );
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}\nCreate it with: UPDATE_GOLDEN=1 cargo test --test it postmortem, \
             review it, and rerun without UPDATE_GOLDEN",
            path.display()
        )
    });
    if expected != actual {
        panic!(
            "{name}: the rendered postmortem differs from {}\n\
             (- golden, + rendered; accept with UPDATE_GOLDEN=1 cargo test --test it postmortem, \
             review the diff, and rerun without UPDATE_GOLDEN)\n{}",
            path.display(),
            diff(&expected, actual)
        );
    }
}

/// `UPDATE_GOLDEN` is set (to anything but the empty string).
fn updating() -> bool {
    std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| !v.is_empty())
}

/// A line diff (longest common subsequence), changed lines with two lines of context.
fn diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.split('\n').collect();
    let b: Vec<&str> = actual.split('\n').collect();
    // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut ops = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((' ', i, a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(('-', i, a[i]));
            i += 1;
        } else {
            ops.push(('+', j, b[j]));
            j += 1;
        }
    }
    let changed: Vec<usize> = (0..ops.len()).filter(|&k| ops[k].0 != ' ').collect();
    let near = |k: usize| changed.iter().any(|&c| c.abs_diff(k) <= 2);
    let mut out = String::new();
    let mut skipped = false;
    for (k, (op, line, text)) in ops.iter().enumerate() {
        if near(k) {
            if skipped {
                out.push_str("   ...\n");
                skipped = false;
            }
            let trailing = if text.ends_with(char::is_whitespace) {
                "  ← trailing whitespace"
            } else {
                ""
            };
            out.push_str(&format!("{op} {:>4} | {text}{trailing}\n", line + 1));
        } else {
            skipped = true;
        }
    }
    out
}

/// Whatever the input, the document is Markdown without HTML, images or links other than web
/// and mail ones, and with exactly one table and one (Mermaid) code block.
fn assert_inert(name: &str, markdown: &str) {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_MATH
        | Options::ENABLE_GFM;
    let (mut tables, mut code) = (0, Vec::new());
    for event in Parser::new_ext(markdown, options) {
        match event {
            Event::Html(h) | Event::InlineHtml(h) => panic!("{name}: HTML {h:?}"),
            Event::Start(Tag::Image { dest_url, .. }) => panic!("{name}: image {dest_url}"),
            Event::Start(Tag::Link { dest_url, .. }) => assert!(
                ["http://", "https://", "mailto:"]
                    .iter()
                    .any(|s| dest_url.starts_with(s)),
                "{name}: link to {dest_url}"
            ),
            Event::Start(Tag::Table(_)) => tables += 1,
            Event::Start(Tag::CodeBlock(kind)) => code.push(format!("{kind:?}")),
            _ => {}
        }
    }
    assert_eq!(tables, 1, "{name}: tables");
    assert_eq!(
        code,
        ["Fenced(Borrowed(\"mermaid\"))"],
        "{name}: code blocks"
    );
}

// ---------------------------------------------------------------- inputs

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

/// 2026-03-12 (no DST anywhere near), `h:m` UTC.
fn t(h: u32, m: u32) -> DateTime<Utc> {
    utc(2026, 3, 12, h, m)
}

fn person(id: &str, name: &str) -> Person {
    Person {
        id: id.into(),
        name: name.into(),
    }
}

fn alice() -> Person {
    person("U0ALICE", "alice")
}

fn bob() -> Person {
    person("U0BOB", "Bob Smith")
}

fn entry(at: DateTime<Utc>, who: Option<Person>, kind: &str, what: &str) -> Entry {
    Entry {
        at,
        who,
        kind: kind.into(),
        what: what.into(),
    }
}

fn pin(posted_at: DateTime<Utc>, author: Person, text: &str) -> Pin {
    Pin {
        posted_at,
        pinned_at: Some(posted_at + chrono::TimeDelta::minutes(2)),
        pinned_by: Some(alice()),
        author: Some(author),
        author_label: None,
        text: text.into(),
        permalink: Some(format!(
            "https://acme.slack.com/archives/C0INC42/p{}000000",
            posted_at.timestamp()
        )),
        file: None,
    }
}

/// A resolved SEV2 with a coordinator, two phases, a few events and follow-ups: the base the
/// scenarios change.
fn base() -> PostmortemInput {
    PostmortemInput {
        reference: "INC-42".into(),
        title: "Checkout is down".into(),
        severity: "SEV2".into(),
        status: "resolved".into(),
        private: false,
        declared_at: t(9, 58),
        declared_by: Some(bob()),
        resolved_at: Some(t(11, 20)),
        first_coordinator_at: Some(t(10, 3)),
        summary: Some("Card payments failed for 80 minutes after a config push.".into()),
        impact: Some("About 12% of checkouts failed.\nNo data was lost.".into()),
        channel: Some("#inc-42-checkout-is-down".into()),
        source_link: Some("https://alerts.example/alerts/9001".into()),
        roles: vec![
            RoleSpan {
                role: "Incident commander".into(),
                person: alice(),
                from: t(10, 3),
                to: None,
            },
            RoleSpan {
                role: "Communications".into(),
                person: bob(),
                from: t(10, 10),
                to: Some(t(10, 45)),
            },
        ],
        phases: vec![
            Phase {
                status: "investigating".into(),
                from: t(9, 58),
                to: Some(t(10, 40)),
            },
            Phase {
                status: "mitigating".into(),
                from: t(10, 40),
                to: Some(t(11, 20)),
            },
            Phase {
                status: "resolved".into(),
                from: t(11, 20),
                to: None,
            },
        ],
        entries: vec![
            entry(
                t(9, 58),
                Some(bob()),
                "declared",
                "Declared SEV2: Checkout is down",
            ),
            entry(t(10, 3), Some(alice()), "role", "Incident commander: alice"),
            entry(
                t(10, 10),
                Some(alice()),
                "role",
                "Communications: Bob Smith",
            ),
            entry(
                t(10, 40),
                Some(alice()),
                "status",
                "Status: investigating → mitigating",
            ),
            entry(
                t(10, 41),
                Some(alice()),
                "update",
                "Update: rolled back config 7f3a",
            ),
            entry(
                t(11, 20),
                Some(alice()),
                "status",
                "Status: mitigating → resolved",
            ),
        ],
        pins: vec![],
        followups: vec![
            FollowUp {
                text: "Add a canary for payment config pushes".into(),
                by: Some(alice()),
                at: t(11, 25),
            },
            FollowUp {
                text: "Alert on checkout error rate, not only on latency".into(),
                by: None,
                at: t(11, 26),
            },
        ],
        people: HashMap::from([
            ("U0ALICE".to_string(), "alice".to_string()),
            ("U0BOB".to_string(), "Bob Smith".to_string()),
        ]),
        generated_at: t(12, 0),
        pins_may_be_stale: false,
    }
}

fn builtin(input: &PostmortemInput, tz: Tz) -> String {
    render(input, &Template::builtin(), tz).expect("the built-in template renders")
}

// ---------------------------------------------------------------- scenarios

#[test]
fn postmortem_without_pins() {
    check("no_pins", &builtin(&base(), chrono_tz::UTC));
}

#[test]
fn postmortem_shows_a_pins_current_text_after_an_edit() {
    let mut input = base();
    // Slack returns the message as it is now; the bot's "pinned" event kept no copy of it.
    input.entries.push(entry(
        t(10, 22),
        Some(alice()),
        "pinned",
        "Pinned a message from Bob Smith",
    ));
    input.pins = vec![pin(
        t(10, 20),
        bob(),
        "Root cause: config 7f3a disabled the card gateway (edited: it was 7f3a, not 7f39)",
    )];
    let out = builtin(&input, chrono_tz::UTC);
    assert!(out.contains("(edited: it was 7f3a, not 7f39)"));
    check("edited_pin", &out);
}

#[test]
fn postmortem_keeps_the_bots_events_for_a_pin_removed_before_export() {
    let mut input = base();
    input.entries.push(entry(
        t(10, 22),
        Some(alice()),
        "pinned",
        "Pinned a message from Bob Smith",
    ));
    input.entries.push(entry(
        t(10, 50),
        Some(bob()),
        "unpinned",
        "Unpinned a message from Bob Smith",
    ));
    // The pin itself is gone from Slack, so the input has none.
    let out = builtin(&input, chrono_tz::UTC);
    assert!(out.contains("Pinned a message") && out.contains("Unpinned a message"));
    assert!(!out.contains("📌"));
    check("removed_pin", &out);
}

#[test]
fn postmortem_with_a_hundred_pins() {
    let mut input = base();
    input.pins = (0..100)
        .map(|i| {
            let author = if i % 2 == 0 { alice() } else { bob() };
            pin(
                t(10, 0) + chrono::TimeDelta::seconds(47 * i),
                author,
                &format!("Observation {i}: error rate {}%", 100 - i),
            )
        })
        .collect();
    let out = builtin(&input, chrono_tz::UTC);
    assert_eq!(out.matches("📌").count(), 100);
    check("hundred_pins", &out);
}

#[test]
fn postmortem_with_an_alert_pinned_from_attachments() {
    let mut input = base();
    input.pins = vec![Pin {
        posted_at: t(9, 55),
        pinned_at: Some(t(10, 1)),
        pinned_by: Some(bob()),
        author: None,
        author_label: Some("Alertmanager (bot)".into()),
        // The caller flattened the attachment: its title, text and fields, one per line.
        text: "*[FIRING:1] CheckoutErrorRate checkout (critical)*\n\
               <https://alertmanager.example/#/alerts?receiver=pager&amp;filter=%7Balertname%3D%22CheckoutErrorRate%22%7D|View in Alertmanager>\n\
               *Summary:* error rate &gt; 5% for 5m on `checkout-api`\n\
               *Runbook:* <https://wiki.example/runbooks/checkout_errors>\n\
               <!subteam^S0ONCALL|@payments-oncall>"
            .into(),
        permalink: Some("https://acme.slack.com/archives/C0INC42/p1773309300000100".into()),
        file: None,
    }];
    let out = builtin(&input, chrono_tz::UTC);
    assert!(out.contains("[View in Alertmanager](https://alertmanager.example/#/alerts?receiver=pager&filter=%7Balertname%3D%22CheckoutErrorRate%22%7D)"));
    check("alert_pin", &out);
}

/// Mentions, links and Markdown's special characters in every field a person can type.
fn hostile() -> PostmortemInput {
    let mallory = person("U0MAL", "# mallory | <img src=x onerror=alert(1)>");
    let mut input = base();
    input.title =
        "Checkout *down* | <script>alert(1)</script> [click](javascript:alert(1)) #".into();
    input.summary = Some(
        "# Not a heading\n- not a list\n> not a quote\n```\nnot code\n```\n\
         1. not ordered\n| not | a table |\n|---|---|\n<!-- not a comment -->\n\
         [x]: https://evil.example\n![pixel](https://evil.example/p.png)\n$x$ and ~~gone~~ and __init__"
            .into(),
    );
    input.impact = Some("&lt;b&gt; &amp;amp; R&D &copy;\n\n\n    indented code?".into());
    input.channel = Some("#inc-42-checkout|down".into());
    input.source_link = Some("https://alerts.example/a b)(c".into());
    input.declared_by = Some(mallory.clone());
    input.roles.push(RoleSpan {
        role: "Scribe: notes; #1".into(),
        person: mallory.clone(),
        from: t(10, 15),
        to: Some(t(10, 30)),
    });
    input.phases[0].status = "investigating```\n```section x".into();
    input.entries.push(entry(
        t(10, 30),
        Some(mallory.clone()),
        "update",
        "Update: [safe](javascript:alert(1))\n# heading?\n- [x] done?\n```\n</details>",
    ));
    input.people.insert("U0MAL".into(), mallory.name.clone());
    input.pins = vec![
        Pin {
            text: "<@U0ALICE> <@U0MAL> <@U0NOBODY|nobody> <@U0GHOST> <#C0GEN|general> <!here> \
                   <!channel> <!subteam^S1|@oncall> see <https://grafana.example/d/x?a=1&amp;b=(2)|the *graph*> \
                   and <https://example.com/a b> or <mailto:ops@example.com|mail ops> but not \
                   <javascript:alert(1)|this> nor [that](javascript:alert(2))\n\
                   # still not a heading &lt;script&gt; _it_ *b* ~s~ `c`\n```\ncode block?\n```"
                .into(),
            ..pin(t(10, 35), mallory.clone(), "")
        },
        Pin {
            text: String::new(),
            file: Some(FileRef {
                name: "graph](javascript:x) <b>.png".into(),
                link: Some("https://files.slack.com/files-pri/T0-F0/graph.png".into()),
            }),
            ..pin(t(10, 36), bob(), "")
        },
    ];
    input.followups.push(FollowUp {
        text: "[x] pre-checked?\n## and a heading".into(),
        by: Some(mallory),
        at: t(11, 30),
    });
    input
}

#[test]
fn postmortem_with_mentions_links_and_markdown_everywhere() {
    let out = builtin(&hostile(), chrono_tz::UTC);
    for tag in ["<script>", "<img", "</details>"] {
        assert_eq!(
            out.matches(tag).count(),
            out.matches(&format!("\\{tag}")).count(),
            "{tag}"
        );
    }
    assert!(out.contains("[the \\*graph\\*](https://grafana.example/d/x?a=1&b=%282%29)"));
    assert!(out.contains("[https://example.com/a b](https://example.com/a%20b)"));
    assert!(out.contains("[mail ops](mailto:ops@example.com)"));
    check("hostile", &out);
}

/// A team's own template: the same context, the same filters.
const CUSTOM: &str = "\
{#- A short template: one line per event, pins quoted. -#}
# {{ incident.reference }} · {{ incident.title }} ({{ incident.severity }})

Declared {{ incident.declared_at | datetime(\"%A %d %B at %H:%M %Z\") }} by {{ incident.declared_by.name }};
{% if incident.resolved_at %}resolved after {{ incident.duration }}.{% else %}still open.{% endif +%}

{% for item in timeline %}
{% if item.type == \"pin\" %}
- {{ item.at.time }} pinned, from {{ item.author_name }}{% if item.text %}:
  {{ item.text | slack(2) }}{% endif +%}
{% else %}
{#- `+%}` keeps the newline that trim_blocks would take after a tag ending a line. #}
- {{ item.at.time }} {{ item.what }}{% if item.who %} ({{ item.who.name }}){% endif +%}
{% endif %}
{% endfor %}

{% for group in roles %}
{{ group.role | upper }}: {{ group.holders | map(attribute='person') | map(attribute='name') | join(', ') }}
{% endfor %}

| when | what |
|---|---|
{% for f in followups %}
| {{ f.at.date }} | {{ f.text }} |
{% endfor %}

```mermaid
gantt
    dateFormat YYYY-MM-DD HH:mm
{% for p in phases %}
    {{ p.status | mermaid }} :{{ p.from.gantt }}, {{ p.end.gantt }}
{% endfor %}
```
";

#[test]
fn postmortem_from_a_custom_template() {
    let template = Template::parse(CUSTOM).expect("the custom template parses");
    let mut input = hostile();
    input.title = "Checkout | down".into();
    let out = render(&input, &template, chrono_tz::America::New_York).expect("renders");
    check("custom_template", &out);
}

#[test]
fn a_custom_template_with_a_syntax_error_names_its_line_and_column() {
    let broken = CUSTOM.replace(
        "{% endfor %}\n\n{% for group",
        "{% endfor %\n\n{% for group",
    );
    let line = 1 + broken
        .lines()
        .position(|l| l == "{% endfor %")
        .expect("the broken line");
    let err = Template::parse(&broken).expect_err("a syntax error");
    // Column 11 is the `%` where `%}` was expected.
    assert_eq!((err.line, err.column), (line, 11), "{err}");
    assert!(
        err.to_string()
            .starts_with(&format!("line {line}, column 11: syntax error")),
        "{err}"
    );

    let unknown = CUSTOM.replace("| upper", "| shout");
    let line = 1 + unknown
        .lines()
        .position(|l| l.contains("shout"))
        .expect("the line");
    let column = 1 + unknown
        .lines()
        .nth(line - 1)
        .and_then(|l| l.find("shout"))
        .expect("col");
    let template = Template::parse(&unknown).expect("unknown filters are found when rendering");
    let err = render(&base(), &template, chrono_tz::UTC).expect_err("an unknown filter");
    assert_eq!((err.line, err.column), (line, column), "{err}");
    assert!(err.message.contains("unknown filter"), "{err}");
}

#[test]
fn postmortem_across_a_dst_change_in_berlin() {
    // Europe/Berlin moves from CET (+01:00) to CEST (+02:00) at 2026-03-29 01:00 UTC.
    let mut input = base();
    input.declared_at = utc(2026, 3, 27, 21, 30);
    input.first_coordinator_at = Some(utc(2026, 3, 27, 21, 34));
    input.resolved_at = Some(utc(2026, 3, 29, 8, 5));
    input.generated_at = utc(2026, 3, 29, 9, 0);
    input.roles = vec![
        RoleSpan {
            role: "Incident commander".into(),
            person: alice(),
            from: utc(2026, 3, 27, 21, 34),
            to: Some(utc(2026, 3, 29, 0, 30)),
        },
        RoleSpan {
            role: "Incident commander".into(),
            person: bob(),
            from: utc(2026, 3, 29, 0, 30),
            to: None,
        },
    ];
    input.phases = vec![
        Phase {
            status: "investigating".into(),
            from: input.declared_at,
            to: Some(utc(2026, 3, 28, 23, 50)),
        },
        Phase {
            status: "mitigating".into(),
            from: utc(2026, 3, 28, 23, 50),
            to: Some(utc(2026, 3, 29, 8, 5)),
        },
        Phase {
            status: "resolved".into(),
            from: utc(2026, 3, 29, 8, 5),
            to: None,
        },
    ];
    input.entries = vec![
        entry(input.declared_at, Some(bob()), "declared", "Declared SEV2"),
        entry(
            utc(2026, 3, 28, 12, 0),
            Some(alice()),
            "update",
            "Update: still failing",
        ),
        entry(
            utc(2026, 3, 29, 0, 59),
            Some(alice()),
            "update",
            "Update: 01:59 CET, a minute before the change",
        ),
        entry(
            utc(2026, 3, 29, 1, 0),
            Some(alice()),
            "update",
            "Update: 03:00 CEST, clocks went forward",
        ),
        entry(
            utc(2026, 3, 29, 8, 5),
            Some(bob()),
            "status",
            "Status: mitigating → resolved",
        ),
    ];
    input.pins = vec![pin(
        utc(2026, 3, 29, 1, 30),
        bob(),
        "Failover done at 03:30 local time",
    )];
    let out = builtin(&input, chrono_tz::Europe::Berlin);
    assert!(
        out.contains("| Declared | 2026-03-27 22:30 CET by Bob Smith |"),
        "{out}"
    );
    assert!(
        out.contains("| Resolved | 2026-03-29 10:05 CEST |"),
        "{out}"
    );
    // 34 h 35 min of real time, though the wall clock moved 35 h 35 min.
    assert!(out.contains("| Duration | 1 d 10 h 35 min |"), "{out}");
    assert!(
        out.contains("**01:59 CET**") && out.contains("**03:00 CEST**"),
        "{out}"
    );
    check("dst_berlin", &out);
}

#[test]
fn postmortem_of_a_private_incident_exported_offline() {
    let mut input = base();
    input.private = true;
    input.pins_may_be_stale = true;
    input.resolved_at = None;
    input.status = "mitigating".into();
    input.phases.pop();
    input.phases[1].to = None;
    input.entries.retain(|e| !e.what.ends_with("→ resolved"));
    input.pins = vec![pin(t(10, 20), bob(), "Suspect config 7f3a")];
    check(
        "private_offline",
        &builtin(&input, chrono_tz::Asia::Kolkata),
    );
}
