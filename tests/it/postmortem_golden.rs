//! The postmortem draft, document by document, made the way production makes it: each scenario
//! runs an incident through the bot and the simulated Slack — declared (by command or with the
//! Declare form), staffed, updated, messages posted, pinned, edited, unpinned and deleted in its
//! channel, resolved — then exports it with `/inc postmortem` and compares the uploaded file
//! with `tests/golden/postmortem/<name>.md`, byte for byte. (The offline draft goes through
//! `app::postmortem::draft` without Slack, the custom template through the CLI's path.) So the
//! documents hold what the product writes — the store's records, Slack's current pins, the
//! names Slack knows — and nothing the product would leave out.
//!
//! **Time.** The bot and Slack read one [`MovableClock`], held still: each step sets it to its
//! own minute, and while the bot works between steps the clock is moved only as far as its jobs
//! need (a channel's lane rests a second between posts). Every time in a document is therefore
//! the scenario's, not the machine's.
//!
//! When a change to the product or the template is intended, write the new documents with
//! `UPDATE_GOLDEN=1 cargo test --test it postmortem` — every golden test then fails, saying it
//! updated its file — review them in `git diff`, and rerun without `UPDATE_GOLDEN`: the golden
//! files are the review, and only a run without the variable checks anything.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use incident_commander::app::Clock;
use incident_commander::app::postmortem::{Drafting, Source, draft, for_cli};
use incident_commander::domain::postmortem::{Person, PostmortemInput, RoleSpan, Template, render};
use pulldown_cmark::{Event, Options, Parser, Tag};
use serde_json::{Value, json};
use slack_simulator::{Channel, Envelope, ViewInput};

use crate::helpers::*;

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

// ---------------------------------------------------------------- a scene on a held clock

/// How long a channel's lane rests between posts, in seconds (`store::jobs::LANE_SPACING`, one
/// second), with a margin.
const LANE_REST: i64 = 5;

/// A person whose display name is Markdown and HTML.
const MALLORY: &str = "U0MAL";

/// The bot and the simulated Slack, both reading `clock`, which stands still between steps.
struct Scene {
    app: TestApp,
    clock: Arc<MovableClock>,
}

/// 2026-03-12 (no DST anywhere near), `h:m` UTC.
fn t(h: u32, m: u32) -> DateTime<Utc> {
    utc(2026, 3, 12, h, m)
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

/// The bot started at `start` with `overrides`; no reminder falls due within a scenario, so
/// the channels hold only what the scenario does.
async fn scene(start: DateTime<Utc>, overrides: &[(&'static str, &str)]) -> Scene {
    let clock = Arc::new(MovableClock::starting_at(start));
    clock.hold();
    let slack_clock = clock.clone();
    let mut vars = vec![
        ("REMINDER_INTERVAL", "7d"),
        ("REMINDER_INTERVAL_MONITORING", "7d"),
    ];
    vars.extend_from_slice(overrides);
    let app = spawn_app_clocked(&vars, clock.clone(), move |sim| {
        sim.use_clock(move || slack_clock.now());
        sim.add_user(MALLORY, "# mallory | <img src=x onerror=alert(1)>");
    })
    .await;
    Scene { app, clock }
}

impl Scene {
    /// Lets the bot finish what is due, then moves the clock to `at`, where it stays.
    async fn at(&self, at: DateTime<Utc>) {
        self.settle().await;
        assert!(
            self.clock.now() <= at,
            "the bot's work ran past the next step ({} > {at})",
            self.clock.now()
        );
        self.clock.advance_to(at);
    }

    /// Waits until no job is due; when the jobs left wait for a lane's rest (a channel's posts
    /// are a second apart), moves the held clock to when they may run — and never further:
    /// what waits for later (a reminder, the nudge) stays waiting.
    async fn settle(&self) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let now = self.clock.now();
            let store = &self.app.store;
            let due = store.queue_figures(now).await.expect("jobs").pending;
            if due == 0 {
                return;
            }
            if let Some(next) = store.next_due().await.expect("next due")
                && next > now
                && next <= now + Duration::seconds(LANE_REST)
            {
                self.clock.advance_to(next);
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{due} jobs still under way after {WAIT:?}: {:?}",
                store.job_counts().await
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// `user` types `/inc <text>` in `channel`; the ephemeral answer.
    async fn command(&self, user: &str, channel: &Channel, text: &str) -> String {
        self.app.command_in(user, &channel.id, text).await
    }

    /// `user` declares `title` with the Declare form and `edits`; the incident's channel.
    async fn declare(&self, user: &str, title: &str, edits: &[(&str, ViewInput)]) -> Channel {
        self.app.command(user, &format!("declare {title}")).await;
        let view = open_view(&self.app, user).await;
        submit(&self.app, user, &view, edits).await;
        self.settle().await;
        let incident = self
            .app
            .store
            .open_incidents()
            .await
            .expect("open")
            .into_iter()
            .find(|i| i.title == title)
            .unwrap_or_else(|| panic!("{title:?} was not declared"));
        let channel = incident.channel_id.expect("a channel");
        self.app.sim.channel(&channel).expect("the channel")
    }

    /// Waits for the bot's ack of what a person did in Slack.
    async fn delivered(&self, envelope: Option<Envelope>) {
        let envelope = envelope.expect("the bot is told");
        self.app
            .sim
            .ack(&envelope.envelope_id, WAIT)
            .await
            .expect("acked");
    }

    /// `user` posts `text` in `channel` and `pinner` pins it; the message's ts.
    async fn pinned(&self, user: &str, pinner: &str, channel: &Channel, text: &str) -> String {
        let ts = self.app.sim.post_as(user, &channel.id, text);
        self.delivered(self.app.sim.pin(pinner, &channel.id, &ts))
            .await;
        ts
    }

    /// `/inc postmortem` by `user`: the Markdown of the file the bot uploaded to `channel`.
    async fn export(&self, user: &str, channel: &Channel) -> String {
        let reply = self.command(user, channel, "postmortem").await;
        assert!(reply.contains("Writing the postmortem draft"), "{reply}");
        self.settle().await;
        let files: Vec<_> = self
            .app
            .sim
            .files()
            .into_iter()
            .filter(|f| f.completed && f.channels == [channel.id.clone()])
            .collect();
        assert_eq!(files.len(), 1, "one draft, in the incident channel only");
        files[0].text()
    }
}

// ---------------------------------------------------------------- the checkout incident

/// Bob declares *Checkout is down* at 09:58 with the form (a summary, the impact, nobody to
/// coordinate); alice takes coordinator at 10:03 and makes bob comms at 10:10.
async fn checkout_declared(s: &Scene) -> Channel {
    s.at(t(9, 58)).await;
    let channel = s
        .declare(
            BOB,
            "Checkout is down",
            &[
                ("severity", ViewInput::Option("sev2".into())),
                (
                    "summary",
                    ViewInput::Text(
                        "Card payments failed for 80 minutes after a config push.".into(),
                    ),
                ),
                (
                    "impact",
                    ViewInput::Text("About 12% of checkouts failed; no data was lost.".into()),
                ),
                ("coordinator", ViewInput::Clear),
            ],
        )
        .await;
    s.at(t(10, 3)).await;
    s.command(ALICE, &channel, "coordinator me").await;
    s.at(t(10, 10)).await;
    s.command(ALICE, &channel, "comms <@U0BOB|bob>").await;
    channel
}

/// Alice rolls back at 10:40, bob steps down as comms at 10:45, the error rate is back to
/// normal at 11:05, alice resolves at 11:20; two follow-ups; the export at 12:00.
async fn checkout_resolved_and_exported(s: &Scene, channel: &Channel) -> String {
    s.at(t(10, 40)).await;
    s.command(ALICE, channel, "update fixing Rolled back config 7f3a")
        .await;
    s.at(t(10, 45)).await;
    s.command(ALICE, channel, "comms nobody").await;
    s.at(t(11, 5)).await;
    s.command(
        ALICE,
        channel,
        "update monitoring Error rate back to normal",
    )
    .await;
    s.at(t(11, 20)).await;
    s.command(ALICE, channel, "resolve Config 7f3a reverted")
        .await;
    s.at(t(11, 25)).await;
    s.command(
        ALICE,
        channel,
        "followup Add a canary for payment config pushes",
    )
    .await;
    s.at(t(11, 26)).await;
    s.command(
        BOB,
        channel,
        "followup Alert on checkout error rate, not only on latency",
    )
    .await;
    s.at(t(12, 0)).await;
    s.export(ALICE, channel).await
}

// ---------------------------------------------------------------- scenarios

#[tokio::test]
async fn postmortem_without_pins() {
    let s = scene(t(9, 50), &[]).await;
    let channel = checkout_declared(&s).await;
    let out = checkout_resolved_and_exported(&s, &channel).await;
    assert!(
        !out.contains("📌"),
        "the incident card is not a pin of the draft"
    );
    check("no_pins", &out);
}

#[tokio::test]
async fn postmortem_shows_a_pins_current_text_after_an_edit() {
    let s = scene(t(9, 50), &[]).await;
    let channel = checkout_declared(&s).await;
    s.at(t(10, 20)).await;
    let ts = s
        .pinned(
            BOB,
            ALICE,
            &channel,
            "Root cause: config 7f39 disabled the card gateway",
        )
        .await;
    s.at(t(10, 30)).await;
    let edited =
        "Root cause: config 7f3a disabled the card gateway (edited: it was 7f3a, not 7f39)";
    s.delivered(s.app.sim.edit(BOB, &channel.id, &ts, edited))
        .await;
    let out = checkout_resolved_and_exported(&s, &channel).await;
    assert!(out.contains("(edited: it was 7f3a, not 7f39)"), "{out}");
    assert!(
        !out.contains("config 7f39 disabled"),
        "the text before the edit is gone"
    );
    check("edited_pin", &out);
}

#[tokio::test]
async fn postmortem_leaves_out_a_pin_removed_and_a_pinned_message_deleted_before_export() {
    let s = scene(t(9, 50), &[]).await;
    let channel = checkout_declared(&s).await;
    s.at(t(10, 20)).await;
    let suspect = s
        .pinned(BOB, ALICE, &channel, "Suspect the CDN, not the gateway")
        .await;
    s.at(t(10, 25)).await;
    let wrong = s
        .pinned(
            CAROL,
            CAROL,
            &channel,
            "Restarting payments-api now (wrong channel, sorry)",
        )
        .await;
    s.at(t(10, 27)).await;
    s.delivered(s.app.sim.delete(&channel.id, &wrong)).await;
    s.at(t(10, 35)).await;
    s.delivered(s.app.sim.unpin(ALICE, &channel.id, &suspect))
        .await;
    let out = checkout_resolved_and_exported(&s, &channel).await;
    for gone in ["Suspect the CDN", "Restarting payments-api", "📌"] {
        assert!(!out.contains(gone), "{gone:?} is not in the draft:\n{out}");
    }
    check("removed_pin", &out);
}

#[tokio::test]
async fn postmortem_with_a_channel_at_the_pin_limit() {
    let s = scene(t(9, 50), &[]).await;
    let channel = checkout_declared(&s).await;
    // 99 pins and the incident card: a hundred pinned items, as many as Slack allows in a
    // channel (pins.add answers too_many_pins past its limit).
    s.at(t(10, 11)).await;
    for i in 0..99 {
        let (author, pinner) = if i % 2 == 0 {
            (ALICE, BOB)
        } else {
            (BOB, ALICE)
        };
        s.pinned(
            author,
            pinner,
            &channel,
            &format!("Observation {i}: error rate {}%", 100 - i),
        )
        .await;
        s.clock.advance(Duration::seconds(15));
    }
    let out = checkout_resolved_and_exported(&s, &channel).await;
    assert_eq!(out.matches("📌").count(), 99, "{out}");
    check("hundred_pins", &out);
}

#[tokio::test]
async fn postmortem_with_an_alert_pinned_from_its_attachment() {
    let s = scene(t(9, 50), &[]).await;
    let channel = checkout_declared(&s).await;
    s.at(t(10, 15)).await;
    // As Alertmanager's Slack receiver sends it: the words only in the attachment, escaped.
    let alert = s.app.sim.post_alert(
        &channel.id,
        "Alertmanager",
        "",
        json!([{
            "fallback": "[FIRING:1] CheckoutErrorRate checkout (critical)",
            "title": "[FIRING:1] CheckoutErrorRate checkout (critical)",
            "title_link": "https://alertmanager.example/#/alerts?receiver=pager&filter=%7Balertname%3D%22CheckoutErrorRate%22%7D",
            "text": "*Summary:* error rate &gt; 5% for 5m on `checkout-api`\n\
                     *Runbook:* <https://wiki.example/runbooks/checkout_errors>\n\
                     <!subteam^S0ONCALL|@payments-oncall>",
        }]),
        Value::Null,
    );
    s.at(t(10, 16)).await;
    s.delivered(s.app.sim.pin(BOB, &channel.id, &alert)).await;
    let out = checkout_resolved_and_exported(&s, &channel).await;
    assert!(out.contains("📌 Alertmanager (bot)"), "{out}");
    assert!(
        out.contains("error rate > 5% for 5m"),
        "Slack's escapes are decoded:\n{out}"
    );
    check("alert_pin", &out);
}

/// Mallory — whose name is Markdown and HTML — declares with a title, summary and impact full
/// of Markdown, HTML and Slack syntax, posts and pins a message of mentions and links, updates
/// and raises a follow-up in the same vein; alice coordinates and resolves.
async fn hostile_incident(s: &Scene) -> Channel {
    s.at(t(9, 58)).await;
    let title = "Checkout *down* | <script>alert(1)</script> [click](javascript:alert(1)) #";
    let channel = s
        .declare(
            MALLORY,
            title,
            &[
                ("title", ViewInput::Text(title.into())),
                ("severity", ViewInput::Option("sev2".into())),
                (
                    "summary",
                    ViewInput::Text(
                        "# Not a heading\n- not a list\n> not a quote\n```\nnot code\n```\n\
                         1. not ordered\n| not | a table |\n|---|---|\n<!-- not a comment -->\n\
                         [x]: https://evil.example\n![pixel](https://evil.example/p.png)\n\
                         $x$ and ~~gone~~ and __init__"
                            .into(),
                    ),
                ),
                (
                    "impact",
                    ViewInput::Text("<b>bold?</b> &amp; R&D &copy; `code`".into()),
                ),
                ("coordinator", ViewInput::Clear),
            ],
        )
        .await;
    s.at(t(10, 3)).await;
    s.command(ALICE, &channel, "coordinator me").await;
    s.at(t(10, 30)).await;
    s.command(
        MALLORY,
        &channel,
        "update [safe](javascript:alert(1)) # heading? - [x] done? ``` </details>",
    )
    .await;
    s.at(t(10, 35)).await;
    s.app.sim.add_usergroup("S1", "oncall", &[]);
    let general = &s.app.general;
    s.pinned(
        MALLORY,
        ALICE,
        &channel,
        &format!(
            "<@U0ALICE> <@U0MAL> <@U0NOBODY|nobody> <@U0GHOST> <#{general}|general> <!here> \
         <!channel> <!subteam^S1|@oncall> see <https://grafana.example/d/x?a=1&b=(2)|the *graph*> \
         and <https://example.com/a)b> or <mailto:ops@example.com|mail ops> but not \
         <javascript:alert(1)|this> nor [that](javascript:alert(2))\n\
         # still not a heading <script> _it_ *b* ~s~ `c`\n```\ncode block?\n```"
        ),
    )
    .await;
    s.at(t(11, 20)).await;
    s.command(ALICE, &channel, "resolve Rolled back").await;
    s.at(t(11, 30)).await;
    s.command(
        MALLORY,
        &channel,
        "followup [x] pre-checked? ## and a heading",
    )
    .await;
    channel
}

#[tokio::test]
async fn postmortem_with_mentions_links_and_markdown_everywhere() {
    let s = scene(t(9, 50), &[]).await;
    let channel = hostile_incident(&s).await;
    s.at(t(12, 0)).await;
    let out = s.export(ALICE, &channel).await;
    for tag in ["<script>", "<img", "</details>", "<b>"] {
        assert_eq!(
            out.matches(tag).count(),
            out.matches(&format!("\\{tag}")).count(),
            "{tag} is escaped wherever it is:\n{out}"
        );
    }
    assert!(
        out.contains("[the \\*graph\\*](https://grafana.example/d/x?a=1&b=%282%29)"),
        "{out}"
    );
    assert!(out.contains("[mail ops](mailto:ops@example.com)"), "{out}");
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

#[tokio::test]
async fn postmortem_from_a_custom_template() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("postmortem.md.j2");
    std::fs::write(&path, CUSTOM).expect("write the template");
    let path = path.to_string_lossy().to_string();
    let overrides = [
        ("POSTMORTEM_TEMPLATE", path.as_str()),
        ("TZ", "America/New_York"),
    ];
    let s = scene(t(9, 50), &overrides).await;
    hostile_incident(&s).await;
    s.at(t(12, 0)).await;
    s.settle().await;
    // `incident-commander postmortem INC-1` with the team's configuration: the draft as of the
    // wall clock, which this template does not print (the incident is resolved, so nothing in
    // it ends "now").
    let vars: Vec<(&'static str, String)> =
        overrides.iter().map(|(k, v)| (*k, v.to_string())).collect();
    let settings = settings_with(&s.app.sim, &s.app.db.url, &vars);
    let out = for_cli("INC-1", Source::Slack(&settings))
        .await
        .expect("the draft");
    assert!(out.contains("EDT") || out.contains("EST"), "{out}");
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
    let err = render(&minimal_input(), &template, chrono_tz::UTC).expect_err("an unknown filter");
    assert_eq!((err.line, err.column), (line, column), "{err}");
    assert!(err.message.contains("unknown filter"), "{err}");
}

fn bob() -> Person {
    Person {
        id: BOB.into(),
        name: "bob".into(),
    }
}

/// The least a draft needs (a role, for the loop the error is in), for a template error found
/// while rendering.
fn minimal_input() -> PostmortemInput {
    PostmortemInput {
        reference: "INC-1".into(),
        title: "Checkout is down".into(),
        severity: "SEV2".into(),
        status: "investigating".into(),
        private: false,
        declared_at: t(9, 58),
        declared_by: Some(bob()),
        resolved_at: None,
        first_coordinator_at: None,
        summary: None,
        impact: None,
        impact_started_at: None,
        impact_ended_at: None,
        channel: None,
        source_link: None,
        roles: vec![RoleSpan {
            role: "Coordinator".into(),
            person: bob(),
            from: t(10, 3),
            to: None,
        }],
        phases: Vec::new(),
        entries: Vec::new(),
        pins: Vec::new(),
        followups: Vec::new(),
        people: Default::default(),
        generated_at: t(12, 0),
        pins_may_be_stale: false,
    }
}

#[tokio::test]
async fn postmortem_across_a_dst_change_in_berlin() {
    // Europe/Berlin moves from CET (+01:00) to CEST (+02:00) at 2026-03-29 01:00 UTC.
    let s = scene(utc(2026, 3, 27, 21, 25), &[("TZ", "Europe/Berlin")]).await;
    s.at(utc(2026, 3, 27, 21, 30)).await;
    s.app.command(BOB, "declare sev2 Checkout is down").await;
    s.settle().await;
    let channel = s.app.channel_named("inc-1-checkout-is-down");
    s.at(utc(2026, 3, 27, 21, 34)).await;
    s.command(ALICE, &channel, "coordinator me").await;
    s.at(utc(2026, 3, 28, 12, 0)).await;
    s.command(ALICE, &channel, "update still failing").await;
    s.at(utc(2026, 3, 28, 23, 50)).await;
    s.command(
        ALICE,
        &channel,
        "update fixing failing over to the second region",
    )
    .await;
    s.at(utc(2026, 3, 29, 0, 30)).await;
    s.command(BOB, &channel, "coordinator me").await;
    s.at(utc(2026, 3, 29, 0, 59)).await;
    s.command(
        ALICE,
        &channel,
        "update 01:59 CET, a minute before the change",
    )
    .await;
    s.at(utc(2026, 3, 29, 1, 0)).await;
    s.command(ALICE, &channel, "update 03:00 CEST, clocks went forward")
        .await;
    s.at(utc(2026, 3, 29, 1, 30)).await;
    s.pinned(BOB, ALICE, &channel, "Failover done at 03:30 local time")
        .await;
    s.at(utc(2026, 3, 29, 8, 5)).await;
    s.command(BOB, &channel, "resolve Failed over").await;
    s.at(utc(2026, 3, 29, 9, 0)).await;
    let out = s.export(BOB, &channel).await;
    assert!(
        out.contains("| Declared | 2026-03-27 22:30 CET by bob |"),
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

#[tokio::test]
async fn postmortem_of_a_private_incident_drafted_offline() {
    let s = scene(t(9, 50), &[]).await;
    s.at(t(9, 58)).await;
    let channel = s
        .declare(
            BOB,
            "Checkout is down",
            &[
                ("severity", ViewInput::Option("sev2".into())),
                ("private", ViewInput::Checked(vec!["private".into()])),
                ("coordinator", ViewInput::Clear),
            ],
        )
        .await;
    assert!(channel.is_private);
    s.at(t(10, 3)).await;
    s.command(ALICE, &channel, "coordinator me").await;
    s.at(t(10, 20)).await;
    s.pinned(BOB, ALICE, &channel, "Suspect config 7f3a").await;
    s.at(t(10, 40)).await;
    s.command(ALICE, &channel, "update fixing Rolled back config 7f3a")
        .await;
    s.at(t(12, 0)).await;
    s.settle().await;
    // `incident-commander postmortem INC-1 --offline` without Slack: the pins as the bot
    // recorded them, people as their ids, the draft as of now (12:00), in the team's zone.
    let incident = s.app.incident_in(&channel).await;
    let template = Template::builtin();
    let with = Drafting {
        store: &s.app.store,
        slack: None,
        template: &template,
        tz: chrono_tz::Asia::Kolkata,
    };
    let drafted = draft(&with, &incident, s.clock.now())
        .await
        .expect("the offline draft");
    assert!(drafted.pins_may_be_stale);
    let out = drafted.markdown;
    assert!(out.contains("Private incident"), "{out}");
    assert!(out.contains("Suspect config 7f3a"), "{out}");
    check("private_offline", &out);
}
