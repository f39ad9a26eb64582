//! Follow-ups become tickets: `/inc followup` files one in the configured tracker (GitHub,
//! GitLab, Jira, Linear), once, with its link posted in the channel; the tracker's webhooks (or a
//! poll, without them) bring back that it was closed, which checks the follow-up in
//! `/inc followups`, on the timeline and in the postmortem — against the simulator crate's fake
//! trackers, which speak each tracker's API and sign their webhooks as the tracker does.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use slack_simulator::github::FakeGitHub;
use slack_simulator::gitlab::FakeGitLab;

use crate::helpers::*;

const GITHUB_TOKEN: &str = "github_pat_0123456789abcdef";
const REPO: &str = "acme/ops";
const GITHUB_SECRET: &str = "github-webhook-secret-0123456789";
const GITLAB_TOKEN: &str = "glpat-0123456789abcdef";
const PROJECT: &str = "acme/ops";
const GITLAB_SECRET: &str = "gitlab-hook-token";

/// The bot filing follow-ups in a fake GitHub, which sends its webhooks to the bot when
/// `webhooks`; else the bot polls, on a clock the test moves.
async fn app_with_github(webhooks: bool) -> (TestApp, FakeGitHub, Arc<MovableClock>) {
    let gh = FakeGitHub::start(GITHUB_TOKEN, REPO)
        .await
        .expect("fake GitHub starts");
    let url = gh.api_url();
    let mut vars: Vec<(&'static str, &str)> = vec![
        ("FOLLOWUP_TRACKER", "github"),
        ("GITHUB_TOKEN", GITHUB_TOKEN),
        ("GITHUB_REPO", REPO),
        ("GITHUB_API_URL", &url),
        ("OUTSIDE_TIMEOUT", "2s"),
    ];
    if webhooks {
        vars.push(("GITHUB_WEBHOOK_SECRET", GITHUB_SECRET));
    }
    let clock = Arc::new(MovableClock::new());
    let app = spawn_app_clocked(&vars, clock.clone(), |_| {}).await;
    if webhooks {
        gh.subscribe(&app.url("/integrations/github"), GITHUB_SECRET);
    }
    (app, gh, clock)
}

fn said(app: &TestApp, channel: &str) -> Vec<String> {
    let channel = app.sim.channel(channel).expect("channel");
    channel.messages.iter().map(shown_text).collect()
}

async fn post_hook(app: &TestApp, path: &str, headers: &[(&str, &str)], body: &str) -> u16 {
    let mut request = reqwest::Client::new()
        .post(app.url(path))
        .header("content-type", "application/json")
        .body(body.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request
        .send()
        .await
        .expect("the HTTP side answers")
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_follow_up_becomes_one_github_issue_and_its_link_is_posted_in_the_channel() {
    let (app, gh, _clock) = app_with_github(true).await;
    let channel = app.declared(ALICE, "sev1 Checkout is down").await;

    let reply = app
        .command_in(
            ALICE,
            &channel.id,
            "followup Alert when checkout errors pass 2%",
        )
        .await;
    assert_eq!(reply, "Follow-up recorded; `/inc followups` lists them.");
    app.settle().await;

    let issues = gh.issues();
    assert_eq!(issues.len(), 1, "one issue: {issues:?}");
    let issue = &issues[0];
    assert_eq!(issue.title, "Alert when checkout errors pass 2%");
    assert_eq!(issue.labels, ["incident", "INC-1"]);
    let body = issue.body.clone().unwrap_or_default();
    assert!(
        body.contains("A follow-up of INC-1 “Checkout is down” (SEV1), raised by"),
        "{body}"
    );
    assert!(
        body.contains(&channel.id),
        "the issue links the channel: {body}"
    );
    assert!(
        body.contains("<!-- incident-commander-T0EXAMPLE-INC-1-"),
        "the issue carries its follow-up's marker: {body}"
    );
    let posts = said(&app, &channel.id);
    let link = format!("<{}|#1>", issue.html_url);
    assert!(
        posts.iter().any(|p| p.starts_with(&format!(
            ":ticket: Follow-up filed as GitHub {link}: Alert when checkout errors pass 2%"
        ))),
        "{posts:?}"
    );
    let listed = app.command_in(BOB, &channel.id, "followups").await;
    assert!(
        listed.contains("1. Alert when checkout errors pass 2% — <@U0ALICE> · ")
            && listed.contains(&link),
        "{listed}"
    );
    let incident = app.incident_in(&channel).await;
    assert!(
        timeline_kinds(&app.store, incident.id)
            .await
            .contains(&"ticket_opened"),
        "the ticket is on the timeline"
    );
}

#[tokio::test]
async fn a_lost_answer_from_github_still_files_one_issue_found_by_its_marker() {
    let (app, gh, _clock) = app_with_github(true).await;
    let channel = app.declared(ALICE, "sev2 Search is slow").await;
    gh.drop_after_applying(1);

    app.command_in(ALICE, &channel.id, "followup Add a search latency SLO")
        .await;
    app.settle().await;

    assert_eq!(
        gh.issues().len(),
        1,
        "the retry found the issue it had filed"
    );
    let tickets: Vec<String> = said(&app, &channel.id)
        .into_iter()
        .filter(|p| p.starts_with(":ticket:"))
        .collect();
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    let searched = gh
        .requests()
        .iter()
        .any(|r| r.method == "GET" && r.path.contains("labels=INC-1"));
    assert!(searched, "the second attempt searched before filing again");
}

#[tokio::test]
async fn closing_the_issue_in_github_checks_the_follow_up_everywhere() {
    let (app, gh, _clock) = app_with_github(true).await;
    let channel = app.declared(ALICE, "sev1 Checkout is down").await;
    app.command_in(ALICE, &channel.id, "followup Add a canary for payments")
        .await;
    app.command_in(ALICE, &channel.id, "followup Write the failover runbook")
        .await;
    app.settle().await;
    app.command_in(ALICE, &channel.id, "resolve Rolled back")
        .await;
    app.settle().await;

    let answered = gh.close(1, "dana").await;
    assert_eq!(answered, [Some(200)], "the bot took the webhook");
    app.settle().await;

    let issue = gh.issue(1).expect("issue 1");
    let posts = said(&app, &channel.id);
    assert!(
        posts.iter().any(|p| p.starts_with(&format!(
            ":white_check_mark: Follow-up <{}|#1> closed by dana: Add a canary for payments",
            issue.html_url
        ))),
        "{posts:?}"
    );
    let listed = app.command_in(BOB, &channel.id, "followups").await;
    assert!(listed.contains("(2, 1 done)"), "{listed}");
    assert!(
        listed.contains("1. :white_check_mark: Add a canary for payments"),
        "{listed}"
    );
    assert!(listed.contains("closed by dana"), "{listed}");
    assert!(
        listed.contains("2. Write the failover runbook") && !listed.contains("2. :white"),
        "{listed}"
    );

    app.command_in(ALICE, &channel.id, "postmortem").await;
    app.settle().await;
    let draft = app
        .sim
        .files()
        .into_iter()
        .find(|f| f.completed && f.channels.contains(&channel.id))
        .expect("the draft")
        .text();
    assert!(
        draft.contains("- [x] Add a canary for payments"),
        "checked in the draft: {draft}"
    );
    assert!(
        draft.contains("- [ ] Write the failover runbook"),
        "{draft}"
    );

    // GitHub's "Redeliver" sends the same delivery again: nothing more is said.
    let before = said(&app, &channel.id).len();
    assert_eq!(gh.redeliver_last().await, Some(200));
    app.settle().await;
    assert_eq!(said(&app, &channel.id).len(), before, "said once");

    // Reopened in GitHub: not done any more.
    gh.reopen(1, "dana").await;
    app.settle().await;
    let listed = app.command_in(BOB, &channel.id, "followups").await;
    assert!(listed.contains("(2, 0 done)"), "{listed}");
}

#[tokio::test]
async fn a_github_webhook_without_the_right_signature_is_refused_and_changes_nothing() {
    let (app, gh, _clock) = app_with_github(true).await;
    let channel = app.declared(ALICE, "sev1 Checkout is down").await;
    app.command_in(ALICE, &channel.id, "followup Add a canary")
        .await;
    app.settle().await;
    let incident = app.incident_in(&channel).await;
    let before = timeline_kinds(&app.store, incident.id).await;
    let body = serde_json::json!({
        "action": "closed",
        "issue": { "number": 1, "state": "closed" },
        "repository": { "full_name": REPO },
        "sender": { "login": "mallory" },
    })
    .to_string();
    let wrong = slack_simulator::github::sign("not-the-secret-0123456789", body.as_bytes());
    for headers in [
        vec![("x-github-event", "issues")],
        vec![
            ("x-github-event", "issues"),
            ("x-hub-signature-256", wrong.as_str()),
        ],
    ] {
        let status = post_hook(&app, "/integrations/github", &headers, &body).await;
        assert_eq!(status, 401);
    }
    // Another tracker's endpoint is off.
    let status = post_hook(&app, "/integrations/gitlab", &[], &body).await;
    assert_eq!(status, 404);
    app.settle().await;
    assert_eq!(timeline_kinds(&app.store, incident.id).await, before);
    assert_eq!(gh.issue(1).expect("issue").state, "open");
    let listed = app.command_in(BOB, &channel.id, "followups").await;
    assert!(listed.contains("(1, 0 done)"), "{listed}");
}

#[tokio::test]
async fn without_a_webhook_github_is_polled_every_ten_minutes_with_its_etag() {
    let (app, gh, clock) = app_with_github(false).await;
    let channel = app.declared(ALICE, "sev1 Checkout is down").await;
    app.command_in(ALICE, &channel.id, "followup Add a canary")
        .await;
    app.settle().await;
    assert_eq!(gh.issues().len(), 1);

    gh.close(1, "dana").await;
    let polls = |gh: &FakeGitHub| {
        gh.requests()
            .into_iter()
            .filter(|r| r.method == "GET" && r.path.ends_with("/issues/1"))
            .collect::<Vec<_>>()
    };
    clock.advance(chrono::Duration::minutes(9));
    app.settle().await;
    assert!(polls(&gh).is_empty(), "not asked before ten minutes");

    clock.advance(chrono::Duration::minutes(1));
    wait_until(|| !polls(&gh).is_empty()).await;
    app.settle().await;
    let posts = said(&app, &channel.id);
    assert!(
        posts
            .iter()
            .any(|p| p.starts_with(":white_check_mark: Follow-up") && p.contains("closed")),
        "{posts:?}"
    );

    // The ticket is closed now: nothing is asked about it any more.
    clock.advance(chrono::Duration::minutes(10));
    app.settle().await;
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    assert_eq!(polls(&gh).len(), 1, "a closed ticket is not polled");
}

#[tokio::test]
async fn an_unchanged_issue_is_asked_for_conditionally() {
    let (app, gh, clock) = app_with_github(false).await;
    let channel = app.declared(ALICE, "sev1 Checkout is down").await;
    app.command_in(ALICE, &channel.id, "followup Add a canary")
        .await;
    app.settle().await;
    let polls = |gh: &FakeGitHub| {
        gh.requests()
            .into_iter()
            .filter(|r| r.method == "GET" && r.path.ends_with("/issues/1"))
            .collect::<Vec<_>>()
    };
    clock.advance(chrono::Duration::minutes(10));
    wait_until(|| polls(&gh).len() == 1).await;
    app.settle().await;
    clock.advance(chrono::Duration::minutes(10));
    wait_until(|| polls(&gh).len() == 2).await;
    let second = &polls(&gh)[1];
    assert!(
        second.header("if-none-match").is_some(),
        "the second poll is conditional"
    );
    assert_eq!(second.status, Some(304), "unchanged: GitHub answers 304");
}

#[tokio::test]
async fn a_follow_up_whose_filing_failed_gets_a_create_ticket_button() {
    let (app, gh, _clock) = app_with_github(true).await;
    let channel = app.declared(ALICE, "sev1 Checkout is down").await;
    gh.fail(422, 1);
    app.command_in(ALICE, &channel.id, "followup Add a canary")
        .await;
    app.settle().await;
    assert!(gh.issues().is_empty(), "GitHub refused it");
    let posts = said(&app, &channel.id);
    assert!(
        posts
            .iter()
            .any(|p| p.contains(":warning:") && p.contains("GitHub")),
        "the refusal is reported in the channel: {posts:?}"
    );

    let listed = app.command_in(BOB, &channel.id, "followups").await;
    assert!(listed.contains("1. Add a canary"), "{listed}");
    let click = app
        .sim
        .click_ephemeral(BOB, "file_ticket", "Create ticket for 1")
        .expect("the button beside the follow-up");
    app.sim.ack(&click.envelope_id, WAIT).await.expect("acked");
    app.settle().await;
    let issues = gh.issues();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].title, "Add a canary");
    let told = |app: &TestApp| {
        app.sim
            .ephemerals()
            .into_iter()
            .filter(|e| e.user == BOB && e.via == "response_url")
            .map(|e| e.text)
            .collect::<Vec<_>>()
    };
    assert!(
        told(&app)
            .iter()
            .any(|t| t.starts_with("Filing the follow-up in GitHub")),
        "{:?}",
        told(&app)
    );
    let listed = app.command_in(BOB, &channel.id, "followups").await;
    assert!(listed.contains("#1"), "{listed}");
    // The earlier list's button, clicked again: filed already, nothing filed twice.
    let again = app
        .sim
        .click_ephemeral(BOB, "file_ticket", "Create ticket for 1")
        .expect("the first list still shows its button");
    app.sim.ack(&again.envelope_id, WAIT).await.expect("acked");
    app.settle().await;
    assert_eq!(gh.issues().len(), 1, "filed once");
    assert!(
        told(&app)
            .iter()
            .any(|t| t.starts_with("That follow-up is filed already: <")),
        "{:?}",
        told(&app)
    );
}

#[tokio::test]
async fn without_a_tracker_follow_ups_stay_in_slack() {
    let app = spawn_app().await;
    let channel = app.declared(ALICE, "sev1 Checkout is down").await;
    let mark = app.mark();
    app.command_in(ALICE, &channel.id, "followup Add a canary")
        .await;
    app.settle().await;
    let listed = app.command_in(BOB, &channel.id, "followups").await;
    assert_eq!(
        listed,
        "*Follow-ups for INC-1* (1)\n1. Add a canary — <@U0ALICE>"
    );
    assert!(
        !said(&app, &channel.id)
            .iter()
            .any(|p| p.starts_with(":ticket:")),
        "nothing is filed"
    );
    assert!(
        app.writes_since(mark).iter().all(|m| m != "files.uploadV2"),
        "no Slack work beyond the usual"
    );
    let status = post_hook(&app, "/integrations/github", &[], "{}").await;
    assert_eq!(status, 404, "no tracker, no webhook endpoint");
}

#[tokio::test]
async fn a_follow_up_of_a_private_incident_is_filed_without_its_title_or_channel() {
    let (app, gh, _clock) = app_with_github(true).await;
    let channel = app
        .declared_private(ALICE, "sev1", "Credentials leaked in a log")
        .await;
    app.command_in(ALICE, &channel.id, "followup Rotate the signing keys")
        .await;
    app.settle().await;
    let issue = gh.issues().pop().expect("filed");
    let body = issue.body.unwrap_or_default();
    assert_eq!(issue.title, "Rotate the signing keys");
    assert!(body.contains("(a private incident)"), "{body}");
    assert!(!body.contains("Credentials leaked"), "{body}");
    assert!(!body.contains(&channel.id), "{body}");
}

#[tokio::test]
async fn a_gitlab_issue_is_filed_and_its_close_comes_back_with_the_hook_token() {
    let gl = FakeGitLab::start(GITLAB_TOKEN, PROJECT)
        .await
        .expect("fake GitLab starts");
    let url = gl.url();
    let app = spawn_app_configured(
        &[
            ("FOLLOWUP_TRACKER", "gitlab"),
            ("GITLAB_TOKEN", GITLAB_TOKEN),
            ("GITLAB_PROJECT", PROJECT),
            ("GITLAB_URL", &url),
            ("GITLAB_WEBHOOK_TOKEN", GITLAB_SECRET),
            ("OUTSIDE_TIMEOUT", "2s"),
        ],
        |_| {},
    )
    .await;
    gl.subscribe(&app.url("/integrations/gitlab"), GITLAB_SECRET);
    let channel = app.declared(ALICE, "sev2 Search is slow").await;
    app.command_in(ALICE, &channel.id, "followup Add a search latency SLO")
        .await;
    app.settle().await;
    let issues = gl.issues();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].labels, ["incident", "INC-1"]);
    assert!(
        said(&app, &channel.id)
            .iter()
            .any(|p| p.starts_with(":ticket: Follow-up filed as GitLab <")),
        "the link is posted"
    );

    // A hook with the wrong token is refused and changes nothing.
    let body = serde_json::json!({"object_kind": "issue", "object_attributes": {"iid": 1, "action": "close"}, "project": {"path_with_namespace": PROJECT}}).to_string();
    let status = post_hook(
        &app,
        "/integrations/gitlab",
        &[("x-gitlab-token", "wrong")],
        &body,
    )
    .await;
    assert_eq!(status, 401);
    let status = post_hook(&app, "/integrations/gitlab", &[], &body).await;
    assert_eq!(status, 401);
    let listed = app.command_in(BOB, &channel.id, "followups").await;
    assert!(listed.contains("(1, 0 done)"), "{listed}");

    gl.close(1, "dana").await;
    app.settle().await;
    let listed = app.command_in(BOB, &channel.id, "followups").await;
    assert!(listed.contains("(1, 1 done)"), "{listed}");
    assert!(
        listed.contains(":white_check_mark: Add a search latency SLO"),
        "{listed}"
    );
}

/// The number of the issue titled `title`.
fn number_of(gh: &FakeGitHub, title: &str) -> u64 {
    gh.issues()
        .into_iter()
        .find(|i| i.title == title)
        .map(|i| i.number)
        .unwrap_or_else(|| panic!("no issue {title:?}"))
}

/// Waits (at most [`WAIT`]) until `done` holds.
async fn wait_until(done: impl Fn() -> bool) {
    let start = std::time::Instant::now();
    while !done() {
        assert!(start.elapsed() < WAIT, "gave up waiting");
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
}

const JIRA_EMAIL: &str = "incident-bot@example.com";
const JIRA_TOKEN: &str = "jira-api-token-0123";
const JIRA_SECRET: &str = "jira-webhook-secret-0123456789ab";
const LINEAR_KEY: &str = "lin_api_0123456789abcdef";
const LINEAR_TEAM: &str = "5b1c9d2e-0000-4000-8000-00000000e001";
const LINEAR_SECRET: &str = "linear-webhook-secret-0123456789";

#[tokio::test]
async fn a_jira_issue_is_filed_with_its_marker_label_and_done_comes_back_signed() {
    let jira = slack_simulator::jira::FakeJira::start(JIRA_EMAIL, JIRA_TOKEN, "OPS")
        .await
        .expect("fake Jira starts");
    let url = jira.url();
    let app = spawn_app_configured(
        &[
            ("FOLLOWUP_TRACKER", "jira"),
            ("JIRA_URL", &url),
            ("JIRA_EMAIL", JIRA_EMAIL),
            ("JIRA_API_TOKEN", JIRA_TOKEN),
            ("JIRA_PROJECT", "OPS"),
            ("JIRA_WEBHOOK_SECRET", JIRA_SECRET),
            ("OUTSIDE_TIMEOUT", "2s"),
        ],
        |_| {},
    )
    .await;
    jira.subscribe(&app.url("/integrations/jira"), JIRA_SECRET);
    let channel = app.declared(ALICE, "sev1 Checkout is down").await;
    jira.drop_after_applying(1);
    app.command_in(ALICE, &channel.id, "followup Add a canary for payments")
        .await;
    app.settle().await;

    let issues = jira.issues();
    assert_eq!(issues.len(), 1, "a lost answer still files one: {issues:?}");
    let issue = &issues[0];
    assert_eq!(issue.key, "OPS-1");
    assert_eq!(issue.summary, "Add a canary for payments");
    assert!(
        issue.labels.iter().any(|l| l == "INC-1"),
        "{:?}",
        issue.labels
    );
    assert!(
        issue
            .labels
            .iter()
            .any(|l| l.starts_with("incident-commander-T0EXAMPLE-INC-1-")),
        "the marker is a label: {:?}",
        issue.labels
    );
    assert!(
        issue.description_text().contains("A follow-up of INC-1"),
        "{}",
        issue.description_text()
    );
    assert!(
        said(&app, &channel.id)
            .iter()
            .any(|p| p.starts_with(&format!(
                ":ticket: Follow-up filed as Jira <{url}/browse/OPS-1|OPS-1>"
            ))),
        "{:?}",
        said(&app, &channel.id)
    );

    let body = r#"{"webhookEvent":"jira:issue_updated"}"#;
    let wrong = slack_simulator::jira::sign("not-the-secret-0123456789", body.as_bytes());
    let status = post_hook(
        &app,
        "/integrations/jira",
        &[("x-hub-signature", wrong.as_str())],
        body,
    )
    .await;
    assert_eq!(status, 401);

    jira.transition("OPS-1", "Done", "Dana Scully")
        .await
        .expect("delivered");
    app.settle().await;
    let listed = app.command_in(BOB, &channel.id, "followups").await;
    assert!(listed.contains("(1, 1 done)"), "{listed}");
    assert!(listed.contains("closed by Dana Scully"), "{listed}");
}

#[tokio::test]
async fn a_linear_issue_is_filed_with_its_labels_and_completed_comes_back_signed() {
    let linear = slack_simulator::linear::FakeLinear::start(LINEAR_KEY, LINEAR_TEAM, "ENG")
        .await
        .expect("fake Linear starts");
    let url = linear.api_url();
    let app = spawn_app_configured(
        &[
            ("FOLLOWUP_TRACKER", "linear"),
            ("LINEAR_API_KEY", LINEAR_KEY),
            ("LINEAR_TEAM_ID", LINEAR_TEAM),
            ("LINEAR_API_URL", &url),
            ("LINEAR_WEBHOOK_SECRET", LINEAR_SECRET),
            ("OUTSIDE_TIMEOUT", "2s"),
        ],
        |_| {},
    )
    .await;
    linear.subscribe(&app.url("/integrations/linear"), LINEAR_SECRET);
    let channel = app.declared(ALICE, "sev2 Search is slow").await;
    app.command_in(ALICE, &channel.id, "followup Add a search latency SLO")
        .await;
    app.settle().await;

    let issues = linear.issues();
    assert_eq!(issues.len(), 1, "{issues:?}");
    let issue = &issues[0];
    assert_eq!(issue.identifier, "ENG-1");
    assert_eq!(issue.title, "Add a search latency SLO");
    let mut labels = issue.labels.clone();
    labels.sort();
    assert_eq!(labels, ["INC-1", "incident"]);
    assert!(
        said(&app, &channel.id)
            .iter()
            .any(|p| p.starts_with(":ticket: Follow-up filed as Linear <") && p.contains("|ENG-1>")),
        "{:?}",
        said(&app, &channel.id)
    );

    linear
        .move_to("ENG-1", "completed", "Dana Scully")
        .await
        .expect("delivered");
    app.settle().await;
    let listed = app.command_in(BOB, &channel.id, "followups").await;
    assert!(listed.contains("(1, 1 done)"), "{listed}");
    // A replay of a captured delivery, two minutes old, is refused.
    let status = linear
        .redeliver_last_aged(StdDuration::from_secs(120))
        .await
        .expect("sent");
    assert_eq!(status, 401, "too old: a replay");
}

#[tokio::test]
async fn the_digest_lists_follow_ups_still_open_past_followup_due_and_jira_and_linear_refuse_bad_signatures()
 {
    let gh = FakeGitHub::start(GITHUB_TOKEN, REPO)
        .await
        .expect("fake GitHub starts");
    let url = gh.api_url();
    // Monday 7 December 2026, 10:00 UTC; the digest at 09:00 every day.
    let monday = chrono::DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z")
        .expect("time")
        .with_timezone(&chrono::Utc);
    let clock = Arc::new(MovableClock::starting_at(monday));
    let app = spawn_app_clocked(
        &[
            ("FOLLOWUP_TRACKER", "github"),
            ("GITHUB_TOKEN", GITHUB_TOKEN),
            ("GITHUB_REPO", REPO),
            ("GITHUB_API_URL", &url),
            ("GITHUB_WEBHOOK_SECRET", GITHUB_SECRET),
            ("FOLLOWUP_DUE", "1d"),
            ("DIGEST_CRON", "0 0 9 * * *"),
        ],
        clock.clone(),
        |_| {},
    )
    .await;
    gh.subscribe(&app.url("/integrations/github"), GITHUB_SECRET);
    let channel = app.declared(ALICE, "sev1 Checkout is down").await;
    app.command_in(ALICE, &channel.id, "followup Add a canary")
        .await;
    app.command_in(ALICE, &channel.id, "followup Write the runbook")
        .await;
    app.command_in(ALICE, &channel.id, "resolve").await;
    app.settle().await;
    let runbook = number_of(&gh, "Write the runbook");
    gh.close(runbook, "dana").await;
    app.settle().await;
    let digests = |app: &TestApp| {
        app.sim
            .channel(&app.incidents)
            .expect("announce")
            .messages
            .iter()
            .map(shown_text)
            .filter(|m| m.starts_with(":newspaper:"))
            .collect::<Vec<_>>()
    };
    // Tuesday 09:00: due at 10:00, not overdue yet.
    clock.advance(chrono::Duration::hours(23));
    app.settle().await;
    let tuesday = digests(&app);
    assert_eq!(tuesday.len(), 1);
    assert!(
        !tuesday[0].contains("past their due date"),
        "{}",
        tuesday[0]
    );
    // Wednesday 09:00: the open one is overdue; the closed one is done.
    clock.advance(chrono::Duration::days(1));
    app.settle().await;
    let wednesday = digests(&app).pop().expect("a digest");
    assert!(
        wednesday.contains("*Follow-ups past their due date* (1)\n• *INC-1* — Add a canary · <"),
        "{wednesday}"
    );
    assert!(!wednesday.contains("Write the runbook"), "{wednesday}");

    // Only the configured tracker's endpoint exists; an unsigned delivery to it is refused.
    for path in [
        "/integrations/jira",
        "/integrations/linear",
        "/integrations/gitlab",
    ] {
        assert_eq!(post_hook(&app, path, &[], "{}").await, 404, "{path}");
    }
    assert_eq!(
        post_hook(&app, "/integrations/github", &[], "{}").await,
        401
    );
}

#[tokio::test]
async fn jira_and_linear_webhooks_without_the_right_signature_are_refused() {
    let jira = slack_simulator::jira::FakeJira::start(JIRA_EMAIL, JIRA_TOKEN, "OPS")
        .await
        .expect("fake Jira starts");
    let url = jira.url();
    let app = spawn_app_configured(
        &[
            ("FOLLOWUP_TRACKER", "jira"),
            ("JIRA_URL", &url),
            ("JIRA_EMAIL", JIRA_EMAIL),
            ("JIRA_API_TOKEN", JIRA_TOKEN),
            ("JIRA_PROJECT", "OPS"),
            ("JIRA_WEBHOOK_SECRET", JIRA_SECRET),
        ],
        |_| {},
    )
    .await;
    let body = r#"{"webhookEvent":"jira:issue_updated","issue":{"id":"10000"},"changelog":{"items":[{"field":"status"}]}}"#;
    let right = slack_simulator::jira::sign(JIRA_SECRET, body.as_bytes());
    assert_eq!(post_hook(&app, "/integrations/jira", &[], body).await, 401);
    assert_eq!(
        post_hook(
            &app,
            "/integrations/jira",
            &[("x-hub-signature", "sha256=00")],
            body
        )
        .await,
        401
    );
    assert_eq!(
        post_hook(
            &app,
            "/integrations/jira",
            &[("x-hub-signature", right.as_str())],
            body
        )
        .await,
        200,
        "signed: taken (news of no follow-up of ours)"
    );

    let linear = slack_simulator::linear::FakeLinear::start(LINEAR_KEY, LINEAR_TEAM, "ENG")
        .await
        .expect("fake Linear starts");
    let url = linear.api_url();
    let app = spawn_app_configured(
        &[
            ("FOLLOWUP_TRACKER", "linear"),
            ("LINEAR_API_KEY", LINEAR_KEY),
            ("LINEAR_TEAM_ID", LINEAR_TEAM),
            ("LINEAR_API_URL", &url),
            ("LINEAR_WEBHOOK_SECRET", LINEAR_SECRET),
        ],
        |_| {},
    )
    .await;
    let body = format!(
        r#"{{"type":"Issue","action":"update","webhookTimestamp":{}}}"#,
        chrono::Utc::now().timestamp_millis()
    );
    let right = slack_simulator::linear::sign(LINEAR_SECRET, body.as_bytes());
    assert_eq!(
        post_hook(&app, "/integrations/linear", &[], &body).await,
        401
    );
    assert_eq!(
        post_hook(
            &app,
            "/integrations/linear",
            &[("linear-signature", "00")],
            &body
        )
        .await,
        401
    );
    assert_eq!(
        post_hook(
            &app,
            "/integrations/linear",
            &[("linear-signature", right.as_str())],
            &body
        )
        .await,
        200
    );
}

#[tokio::test]
async fn a_ticket_closed_after_its_channel_was_archived_is_recorded_and_the_channel_told_nothing() {
    let (app, gh, _clock) = app_with_github(true).await;
    let channel = app.declared(ALICE, "sev1 Checkout is down").await;
    app.command_in(ALICE, &channel.id, "followup Add a canary")
        .await;
    app.command_in(ALICE, &channel.id, "resolve").await;
    app.command_in(ALICE, &channel.id, "archive").await;
    app.settle().await;
    assert!(app.sim.channel(&channel.id).expect("channel").is_archived);
    let before = said(&app, &channel.id).len();

    assert_eq!(gh.close(1, "dana").await, [Some(200)]);
    app.settle().await;
    let incident = app.incident_in(&channel).await;
    let kinds = timeline_kinds(&app.store, incident.id).await;
    assert!(kinds.contains(&"ticket_changed"), "{kinds:?}");
    assert!(
        !kinds.contains(&"step_failed"),
        "nothing failed: {:?}",
        app.store.timeline(incident.id).await.expect("timeline")
    );
    assert_eq!(
        said(&app, &channel.id).len(),
        before,
        "the archived channel is told nothing"
    );
}
