//! Rules in a file (`RULES_FILE`): what a matching rule does when an incident is declared —
//! pages, invites a group, posts elsewhere, sets the reminder — once per incident however often
//! it matches again; rules on an alert's labels; a mistake in the file named by line; and
//! `incident-commander rules --explain`, which touches nothing.

use std::io::Write;

use incident_commander::config::Settings;
use incident_commander::domain::reminder::Cadence;
use serde_json::json;
use slack_simulator::FakePagerDuty;

use crate::helpers::*;
use crate::pagerduty::{CHECKOUT_KEY, SEARCH_KEY};

/// The issue's example, as docs/integrations.md shows it (its first TOML block) — read from
/// there, so the documentation cannot drift from what the bot accepts.
static EXAMPLE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/integrations.md")).expect("the docs");
    let start = doc.find("```toml\n").expect("a TOML example") + "```toml\n".len();
    let end = start + doc[start..].find("```").expect("its end");
    doc[start..end].to_string()
});

#[test]
fn the_documented_example_is_the_one_the_kubernetes_manifest_ships() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest =
        std::fs::read_to_string(root.join("manifests/k8s/configmap.yaml")).expect("configmap");
    let shipped: String = manifest
        .split("rules.toml: |\n")
        .nth(1)
        .expect("a rules.toml key")
        .lines()
        .take_while(|l| l.starts_with("    ") || l.is_empty())
        .map(|l| format!("{}\n", l.trim_start()))
        .collect();
    assert_eq!(shipped.trim_end(), EXAMPLE.trim_end());
    assert!(EXAMPLE.contains("name = \"Checkout outages page on-call\""));
}

const ALERTS: &str = r##"[[rules]]
name = "Search alerts page search"
when = { source = "alert", labels = { service = "search" } }
page = ["search"]
"##;

fn rules_file(text: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new()
        .suffix(".toml")
        .tempfile()
        .expect("temp file");
    file.write_all(text.as_bytes()).expect("write");
    file
}

async fn app_with_rules(text: &str) -> (TestApp, FakePagerDuty, String, tempfile::NamedTempFile) {
    let file = rules_file(text);
    let pd = FakePagerDuty::start().await.expect("fake PagerDuty");
    pd.add_service("checkout", CHECKOUT_KEY);
    pd.add_service("search", SEARCH_KEY);
    let services = format!("checkout={CHECKOUT_KEY},search={SEARCH_KEY}");
    let url = pd.events_url();
    let path = file.path().display().to_string();
    let mut exec = String::new();
    let app = spawn_app_with_alerts(
        &[
            ("PAGERDUTY_SERVICES", &services),
            ("PAGERDUTY_EVENTS_URL", &url),
            ("RULES_FILE", &path),
        ],
        |sim| {
            exec = sim.add_channel("exec", false, true);
            sim.add_usergroup("S0123ABC", "checkout-team", &[CAROL]);
        },
    )
    .await;
    (app, pd, exec, file)
}

fn texts(app: &TestApp, channel: &str) -> Vec<String> {
    app.sim
        .channel(channel)
        .expect("channel")
        .messages
        .iter()
        .map(shown_text)
        .collect()
}

#[tokio::test]
async fn a_matching_rule_pages_invites_posts_and_sets_the_reminder_once_per_incident() {
    let (app, pd, exec, _file) = app_with_rules(&EXAMPLE).await;
    let channel = app.declared(ALICE, "sev1 Checkout is down").await;
    app.settle().await;

    assert_eq!(pd.incidents().len(), 1, "checkout was paged");
    assert_eq!(pd.incidents()[0].service, "checkout");
    let members = app.sim.channel(&channel.id).expect("channel").members;
    assert!(
        members.contains(&CAROL.to_string()),
        "the group was invited: {members:?}"
    );
    let here = texts(&app, &channel.id);
    assert!(
        here.iter().any(|t| t.contains("<!subteam^S0123ABC>")
            && t.contains("rule “Checkout outages page on-call” brought you into *INC-1*")),
        "{here:?}"
    );
    assert!(
        here.iter()
            .any(|t| t
                .contains("Rule “Checkout outages page on-call” paged the on-call of *checkout*")),
        "{here:?}"
    );
    let posted = texts(&app, &exec);
    assert_eq!(posted.len(), 1, "{posted:?}");
    assert!(
        posted[0].contains("SEV1 declared: Checkout is down"),
        "{posted:?}"
    );
    let incident = app.incident_in(&channel).await;
    assert_eq!(
        incident.cadence,
        Cadence::Every(chrono::Duration::minutes(15))
    );
    assert!(
        timeline_kinds(&app.store, incident.id)
            .await
            .contains(&"rule_applied")
    );

    // The rule matches again after the severity moves away and back: nothing twice.
    app.command_in(ALICE, &channel.id, "sev 2").await;
    app.command_in(ALICE, &channel.id, "sev 1").await;
    app.settle().await;
    assert_eq!(pd.events().len(), 1, "{:?}", pd.events());
    assert_eq!(texts(&app, &exec).len(), 1);

    // An incident the rule does not match: nothing.
    app.declared(BOB, "sev2 Search is slow").await;
    app.settle().await;
    assert_eq!(pd.events().len(), 1);
    assert_eq!(texts(&app, &exec).len(), 1);
}

#[tokio::test]
async fn a_rule_on_an_alerts_labels_pages_when_the_alert_opens_an_incident() {
    let (app, pd, _, _file) = app_with_rules(ALERTS).await;
    let (status, _) = app
        .alert(
            "/alerts",
            &json!({"title": "Search p99 above 2s", "source": "grafana",
                    "labels": {"service": "search", "team": "discovery"}}),
        )
        .await;
    assert_eq!(status, 201);
    app.settle().await;
    assert_eq!(pd.incidents().len(), 1);
    assert_eq!(pd.incidents()[0].service, "search");

    // A person declaring about search is not an alert: the rule does not page.
    app.declared(ALICE, "sev1 Search is down").await;
    app.settle().await;
    assert_eq!(pd.events().len(), 1);
}

#[test]
fn a_mistake_in_the_rules_file_stops_startup_naming_the_line() {
    let file = rules_file(
        "[[rules]]\nname = \"x\"\nwhen = { severity = [\"sev9\"] }\npage = [\"checkout\"]\n",
    );
    let path = file.path().display().to_string();
    let services = format!("checkout={CHECKOUT_KEY}");
    let vars = std::collections::HashMap::from([
        ("SLACK_BOT_TOKEN", "xoxb-1".to_string()),
        ("SLACK_APP_TOKEN", "xapp-1".to_string()),
        ("PAGERDUTY_SERVICES", services.clone()),
        ("RULES_FILE", path.clone()),
    ]);
    let error = Settings::from_map(&vars).expect_err("refused").to_string();
    assert!(
        error.contains(&format!("RULES_FILE is invalid: {path}: line 3")),
        "{error}"
    );
    assert!(error.contains("\"sev9\" is not a severity"), "{error}");

    // A rule paging a service PAGERDUTY_SERVICES does not list.
    let file = rules_file("[[rules]]\nname = \"x\"\npage = [\"billing\"]\n");
    let mut vars = vars.clone();
    vars.insert("RULES_FILE", file.path().display().to_string());
    let error = Settings::from_map(&vars).expect_err("refused").to_string();
    assert!(error.contains("line 3"), "{error}");
    assert!(error.contains("billing"), "{error}");
}

#[test]
fn rules_explain_says_what_would_match_and_touches_nothing() {
    let file = rules_file(&EXAMPLE);
    let explain = |query: &str| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_incident-commander"))
            .args(["rules", "--explain", query])
            .env_clear()
            .env("RULES_FILE", file.path())
            .env("PAGERDUTY_SERVICES", format!("checkout={CHECKOUT_KEY}"))
            .current_dir(std::env::temp_dir())
            .output()
            .expect("runs");
        let out = String::from_utf8_lossy(&output.stdout).to_string();
        let err = String::from_utf8_lossy(&output.stderr).to_string();
        assert!(output.status.success(), "{out}\n{err}");
        out
    };
    // No Slack tokens, no database: nothing else is read.
    assert_eq!(
        explain("sev1 from alert service=checkout"),
        "Incident: sev1, declared from an alert, labels service=checkout (status, private and \
         title not given)\n\n\
         ✓ \"Checkout outages page on-call\" (line 1) matches if the title matches (?i)checkout, \
         and would:\n  \
         - page checkout\n  \
         - invite the group S0123ABC\n  \
         - post to #exec: “SEV1 declared: {title}”\n  \
         - set the update reminder to every 15m\n"
    );
    assert_eq!(
        explain("sev2 title=\"Search slow\""),
        "Incident: sev2, title “Search slow” (status, private, source and labels not given)\n\n\
         ✗ \"Checkout outages page on-call\" (line 1) does not match: the severity is sev2, the \
         rule wants sev1; the title “Search slow” does not match (?i)checkout\n"
    );
}

#[tokio::test]
async fn the_services_the_declare_form_names_as_affected_are_labels_rules_match() {
    let (app, pd, _, _file) = app_with_rules(
        r##"[[rules]]
name = "Search outages page search"
when = { labels = { service = "search" } }
page = ["search"]
"##,
    )
    .await;
    app.command(ALICE, "declare Results are empty").await;
    let view = open_view(&app, ALICE).await;
    assert!(
        view.blocks.to_string().contains("Affected services"),
        "the form offers the services"
    );
    submit(
        &app,
        ALICE,
        &view,
        &[
            (
                "severity",
                slack_simulator::ViewInput::Option("sev2".into()),
            ),
            (
                "services",
                slack_simulator::ViewInput::Checked(vec!["search".into()]),
            ),
        ],
    )
    .await;
    app.settle().await;
    assert_eq!(pd.incidents().len(), 1, "{:?}", pd.events());
    assert_eq!(pd.incidents()[0].service, "search");

    // Declared naming another service: the rule does not match.
    app.command(BOB, "declare Checkout is slow").await;
    let view = open_view(&app, BOB).await;
    submit(
        &app,
        BOB,
        &view,
        &[
            (
                "severity",
                slack_simulator::ViewInput::Option("sev2".into()),
            ),
            (
                "services",
                slack_simulator::ViewInput::Checked(vec!["checkout".into()]),
            ),
        ],
    )
    .await;
    app.settle().await;
    assert_eq!(pd.events().len(), 1);
}

#[tokio::test]
async fn a_rules_post_shows_an_alerts_title_as_text_never_as_a_link_or_a_ping() {
    let (app, _pd, exec, _file) = app_with_rules(
        r##"[[rules]]
name = "Tell the execs"
when = { source = "alert" }
post = [{ channel = "#exec", text = "Alert: {title} <@U0CAROL>" }]
"##,
    )
    .await;
    let (status, _) = app
        .alert(
            "/alerts",
            &json!({"title": "Disk full <https://phish.example|Open runbook> <!channel>",
                    "source": "grafana"}),
        )
        .await;
    assert_eq!(status, 201);
    app.settle().await;
    let posted = texts(&app, &exec);
    assert_eq!(posted.len(), 1, "{posted:?}");
    assert!(
        !posted[0].contains("<https://phish.example") && !posted[0].contains("<!channel>"),
        "the title is text: {}",
        posted[0]
    );
    assert!(
        posted[0].contains("&lt;https://phish.example"),
        "{}",
        posted[0]
    );
    assert!(
        posted[0].contains("<@U0CAROL>"),
        "the rule's own mention stays: {}",
        posted[0]
    );
}
