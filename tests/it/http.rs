//! The HTTP side through a real HTTP client: the probes, readiness following the Socket Mode
//! connection, and the metrics moving as the bot works.

use crate::helpers::*;

#[tokio::test]
async fn healthz_answers_while_the_process_runs() {
    let app = spawn_app().await;
    let response = reqwest::get(app.url("/healthz")).await.expect("answers");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.text().await.expect("text"), "ok\n");
}

#[tokio::test]
async fn readyz_is_200_once_the_database_answers_and_socket_mode_is_up() {
    let app = spawn_app().await;
    let body = app.wait_readyz(200).await;
    assert_eq!(
        body,
        serde_json::json!({
            "ready": true,
            "checks": {"database": "ok", "slack": "ok", "tasks": "ok"}
        })
    );
}

#[tokio::test]
async fn readyz_turns_503_when_the_socket_drops_and_reconnects_are_refused_then_recovers() {
    let app = spawn_app_configured(&[("SLACK_RECONNECT_INTERVAL", "1s")], |_| {}).await;
    app.wait_readyz(200).await;
    let opened_before = app.sim.calls_to("apps.connections.open").len();

    app.sim
        .fail("apps.connections.open", "internal_error", usize::MAX);
    app.sim.drop_connections();
    let body = app.wait_readyz(503).await;
    assert_eq!(body["ready"], false);
    assert_eq!(body["checks"]["slack"], "no Socket Mode connection is up");
    assert_eq!(body["checks"]["database"], "ok");
    assert!(
        app.sim
            .wait_until(WAIT, |s| s
                .calls_to("apps.connections.open")
                .iter()
                .skip(opened_before)
                .any(|c| c.response["ok"] == false))
            .await,
        "the bot tried to reconnect and was refused"
    );
    let (status, _) = app.readyz().await;
    assert_eq!(status, 503, "still not ready while Slack refuses");

    app.sim.clear_faults("apps.connections.open");
    app.wait_readyz(200).await;
    assert_eq!(app.sim.connection_count(), 1);
    let reply = app.command(ALICE, "help").await;
    assert!(
        reply.contains("/inc declare"),
        "and it answers again: {reply}"
    );
}

#[tokio::test]
async fn metrics_move_after_a_declaration() {
    let app = spawn_app().await;
    app.wait_readyz(200).await;
    let before = app.metrics().await;
    let envelopes = |text: &str| {
        metric(
            text,
            "incident_commander_envelopes_total",
            &[("type", "slash_commands")],
        )
        .unwrap_or(0.0)
    };
    let acks = |text: &str| {
        metric(
            text,
            "incident_commander_ack_seconds_count",
            &[("type", "slash_commands")],
        )
        .unwrap_or(0.0)
    };
    let creates = |text: &str| {
        metric(
            text,
            "incident_commander_slack_calls_total",
            &[("method", "conversations.create")],
        )
        .unwrap_or(0.0)
    };
    let sev1_investigating = [("status", "investigating"), ("severity", "sev1")];
    assert_eq!(
        metric(&before, "incident_commander_incidents", &sev1_investigating),
        Some(0.0)
    );

    app.declared(ALICE, "sev1 Checkout is down").await;
    let after = app.metrics().await;

    // Counters are the process's (other tests' apps add to them too): they move up.
    assert!(envelopes(&after) > envelopes(&before), "{after}");
    assert!(acks(&after) > acks(&before), "{after}");
    assert!(creates(&after) > creates(&before), "{after}");
    assert!(
        after.contains("incident_commander_ack_seconds_bucket{type=\"slash_commands\",le=\"0.1\"}")
    );
    // Figures read at scrape time are this app's own.
    assert_eq!(
        metric(&after, "incident_commander_incidents", &sev1_investigating),
        Some(1.0)
    );
    assert_eq!(
        metric(
            &after,
            "incident_commander_incidents",
            &[("status", "triage"), ("severity", "sev1")]
        ),
        Some(0.0)
    );
    assert_eq!(
        metric(&after, "incident_commander_jobs_pending", &[]),
        Some(0.0),
        "the declaration's Slack work is done"
    );
    assert_eq!(
        metric(&after, "incident_commander_jobs_scheduled", &[]),
        Some(2.0),
        "its reminder and nudge wait for their time (the tests run without a digest)"
    );
    assert_eq!(
        metric(&after, "incident_commander_oldest_due_job_seconds", &[]),
        Some(0.0)
    );
    assert_eq!(
        metric(
            &after,
            "incident_commander_socket_connections",
            &[("state", "open")]
        ),
        Some(1.0)
    );
    assert_eq!(metric(&after, "incident_commander_ready", &[]), Some(1.0));
    assert!(
        after.contains("# TYPE incident_commander_incidents gauge"),
        "{after}"
    );
}

#[tokio::test]
async fn slack_errors_and_429s_are_counted_by_method() {
    let app = spawn_app().await;
    let before = app.metrics().await;
    let limited = |text: &str| {
        metric(
            text,
            "incident_commander_slack_rate_limited_total",
            &[("method", "conversations.setTopic")],
        )
        .unwrap_or(0.0)
    };
    app.sim.rate_limit("conversations.setTopic", 1, 1);
    app.declared(ALICE, "sev2 Search is slow").await;
    let after = app.metrics().await;
    assert!(limited(&after) > limited(&before), "{after}");
    assert!(
        metric(
            &after,
            "incident_commander_slack_errors_total",
            &[
                ("method", "conversations.setTopic"),
                ("error", "ratelimited")
            ]
        )
        .is_some(),
        "{after}"
    );
}
