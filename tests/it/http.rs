//! The HTTP side through a real HTTP client: the probes, readiness following the Socket Mode
//! connection, and the metrics — this app's own, exactly — moving as the bot works.

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
            "transport": "socket_mode",
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
    };
    let acks = |text: &str| {
        metric(
            text,
            "incident_commander_ack_seconds_count",
            &[("type", "slash_commands")],
        )
    };
    let sev1_investigating = [("status", "investigating"), ("severity", "sev1")];
    assert_eq!(envelopes(&before), None, "no command yet:\n{before}");
    assert_eq!(acks(&before), None);
    assert_eq!(
        metric(&before, "incident_commander_incidents", &sev1_investigating),
        Some(0.0)
    );
    assert_eq!(
        metric(&before, "incident_commander_socket_hellos_total", &[]),
        Some(1.0),
        "one connection opened"
    );

    app.declared(ALICE, "sev1 Checkout is down").await;
    let after = app.metrics().await;

    // Every figure is this app's own: exactly what it did, whatever other tests' apps do.
    assert_eq!(envelopes(&after), Some(1.0), "{after}");
    assert_eq!(acks(&after), Some(1.0), "{after}");
    assert!(
        after.contains("incident_commander_ack_seconds_bucket{type=\"slash_commands\",le=\"0.1\"}")
    );
    assert_eq!(
        slack_calls_counted(&after),
        slack_calls_made(&app),
        "each Web API call the simulator answered is counted once, by method"
    );
    assert_eq!(
        metric(
            &after,
            "incident_commander_slack_calls_total",
            &[("method", "conversations.create")]
        ),
        Some(1.0)
    );
    assert!(
        !after.contains("incident_commander_slack_errors_total"),
        "no call failed:\n{after}"
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

/// `incident_commander_slack_calls_total` by method, as `/metrics` shows it.
fn slack_calls_counted(text: &str) -> std::collections::BTreeMap<String, f64> {
    text.lines()
        .filter_map(|l| l.strip_prefix("incident_commander_slack_calls_total{method=\""))
        .filter_map(|rest| {
            let (method, value) = rest.split_once("\"} ")?;
            Some((method.to_string(), value.parse().ok()?))
        })
        .collect()
}

/// The Web API calls the simulator answered the bot, by method (`apps.connections.open`
/// included: the Socket Mode listener asks for its URLs through the bot's own client).
fn slack_calls_made(app: &TestApp) -> std::collections::BTreeMap<String, f64> {
    let mut out = std::collections::BTreeMap::new();
    for call in app.sim.calls() {
        *out.entry(call.method).or_insert(0.0) += 1.0;
    }
    out
}

#[tokio::test]
async fn each_app_in_a_process_shows_its_own_metrics() {
    let busy = spawn_app().await;
    let idle = spawn_app().await;
    busy.declared(ALICE, "sev2 Search is slow").await;
    busy.command(BOB, "list").await;

    let envelopes = |text: &str| {
        metric(
            text,
            "incident_commander_envelopes_total",
            &[("type", "slash_commands")],
        )
    };
    let busy_text = busy.metrics().await;
    let idle_text = idle.metrics().await;
    assert_eq!(envelopes(&busy_text), Some(2.0), "{busy_text}");
    assert_eq!(
        envelopes(&idle_text),
        None,
        "the other app's commands are not counted here:\n{idle_text}"
    );
    assert_eq!(slack_calls_counted(&busy_text), slack_calls_made(&busy));
    assert_eq!(slack_calls_counted(&idle_text), slack_calls_made(&idle));
}

#[tokio::test]
async fn slack_errors_and_429s_are_counted_by_method() {
    let app = spawn_app().await;
    app.sim.rate_limit("conversations.setTopic", 1, 1);
    app.declared(ALICE, "sev2 Search is slow").await;
    let after = app.metrics().await;
    let set_topic = [("method", "conversations.setTopic")];
    assert_eq!(
        metric(
            &after,
            "incident_commander_slack_rate_limited_total",
            &set_topic
        ),
        Some(1.0),
        "{after}"
    );
    assert_eq!(
        metric(
            &after,
            "incident_commander_slack_errors_total",
            &[
                ("method", "conversations.setTopic"),
                ("error", "ratelimited")
            ]
        ),
        Some(1.0),
        "{after}"
    );
    assert_eq!(
        metric(&after, "incident_commander_slack_calls_total", &set_topic),
        Some(2.0),
        "the 429 and the retry that worked"
    );
    assert_eq!(slack_calls_counted(&after), slack_calls_made(&app));
}

#[tokio::test]
async fn clicks_and_events_are_counted_and_timed_like_commands() {
    let app = spawn_app().await;
    app.wait_readyz(200).await;
    let channel = app.declared(ALICE, "sev2 Checkout is slow").await;
    let card = app.sim.channel(&channel.id).expect("channel").messages[0].clone();
    let click = app
        .sim
        .click(BOB, &channel.id, &card.ts, "post_update")
        .expect("the card has the button");
    app.sim.ack(&click.envelope_id, WAIT).await.expect("acked");
    let finding = app
        .sim
        .post_as(BOB, &channel.id, "the retry storm starts at 09:12");
    let pin = app.sim.pin(BOB, &channel.id, &finding).expect("pin");
    app.sim.ack(&pin.envelope_id, WAIT).await.expect("acked");

    let text = app.metrics().await;
    let counted = |kind: &str| {
        metric(
            &text,
            "incident_commander_envelopes_total",
            &[("type", kind)],
        )
    };
    let timed = |kind: &str| {
        metric(
            &text,
            "incident_commander_ack_seconds_count",
            &[("type", kind)],
        )
    };
    assert_eq!(counted("slash_commands"), Some(1.0), "{text}");
    assert_eq!(counted("interactive"), Some(1.0), "the click:\n{text}");
    assert!(
        counted("events_api").is_some_and(|n| n >= 1.0),
        "the pin, at least:\n{text}"
    );
    for kind in ["slash_commands", "interactive", "events_api"] {
        assert_eq!(
            timed(kind),
            counted(kind),
            "every {kind} envelope's ack is timed"
        );
    }
}
