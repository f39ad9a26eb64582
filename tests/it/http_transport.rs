//! The HTTP transport (`SLACK_TRANSPORT=http`): Slack's requests come to the bot's request URLs,
//! signed with the app's signing secret, instead of over Socket Mode. What people see is the
//! same; a request Slack did not sign is refused with 401 and changes nothing; an event Slack
//! sends again is heard once; several replicas behind a round-robin load balancer do everything
//! once.

use std::sync::Arc;

use chrono::{Duration, Utc};
use incident_commander::domain::Entry;
use serde_json::json;
use slack_simulator::{SignedRequest, ViewInput, slack_signature};

use crate::helpers::*;

/// POSTs `request` to the bot as Slack would, with `timestamp` and `signature` as given (either
/// may be left out); the status answered.
async fn post(
    app: &TestApp,
    request: &SignedRequest,
    timestamp: Option<i64>,
    signature: Option<&str>,
) -> u16 {
    let mut builder = reqwest::Client::new()
        .post(app.url(request.path))
        .header("content-type", request.content_type)
        .body(request.body.clone());
    if let Some(timestamp) = timestamp {
        builder = builder.header("x-slack-request-timestamp", timestamp.to_string());
    }
    if let Some(signature) = signature {
        builder = builder.header("x-slack-signature", signature);
    }
    builder
        .send()
        .await
        .expect("the HTTP side answers")
        .status()
        .as_u16()
}

#[tokio::test]
async fn over_http_a_declaration_a_form_and_a_pin_work_as_they_do_over_socket_mode() {
    let app = spawn_app_over_http(&[], |_| {}).await;

    let channel = app
        .declared(ALICE, "sev2 Checkout & payments <EU> time out")
        .await;
    assert_eq!(channel.name, "inc-1-checkout-payments-eu-time-out");
    assert!(channel.members.contains(&ALICE.to_string()));
    // As Slack keeps a topic: escaped once, shown as typed.
    assert_eq!(
        channel.topic,
        "[SEV2 · investigating] Checkout &amp; payments &lt;EU&gt; time out"
    );
    assert!(
        app.sim.calls_to("apps.connections.open").is_empty(),
        "no Socket Mode connection is opened over HTTP"
    );
    let (status, readiness) = app.readyz().await;
    assert_eq!(status, 200, "{readiness}");
    assert_eq!(readiness["transport"], "http");
    assert_eq!(readiness["checks"]["slack"], "ok");

    // A modal's field errors are the response body of its submission.
    app.command(BOB, "declare").await;
    let view = open_view(&app, BOB).await;
    let response = submit(
        &app,
        BOB,
        &view,
        &[
            ("title", ViewInput::Text("\u{202E}\u{202E}\u{202E}".into())),
            ("severity", ViewInput::Option("sev1".into())),
        ],
    )
    .await;
    assert_eq!(
        response,
        Some(json!({
            "response_action": "errors",
            "errors": { "title": "That title has no visible characters." }
        }))
    );
    assert!(app.sim.view(&view.id).expect("view").open);

    // Events arrive at /slack/events.
    let finding = app
        .sim
        .post_as(BOB, &channel.id, "Deploy 4711 doubled DB connections");
    let pinned = app.sim.pin(BOB, &channel.id, &finding).expect("delivered");
    app.sim
        .ack(&pinned.envelope_id, WAIT)
        .await
        .expect("the event is acked");
    let incident = app.incident_in(&channel).await;
    let pins = app
        .store
        .timeline(incident.id)
        .await
        .expect("timeline")
        .into_iter()
        .filter(|e| matches!(e.entry, Entry::Pinned { .. }))
        .count();
    assert_eq!(pins, 1);
}

#[tokio::test]
async fn a_request_slack_did_not_sign_gets_401_and_changes_nothing() {
    let app = spawn_app_over_http(&[], |_| {}).await;
    let envelope =
        app.sim
            .build_slash_command(ALICE, &app.general, "declare sev1 Checkout is down");
    let request = app.sim.signed_request(&envelope);
    let now = Utc::now().timestamp();
    let mark = app.mark();

    let forged = slack_signature("a secret that is not the app's", now, &request.body);
    assert_eq!(post(&app, &request, Some(now), Some(&forged)).await, 401);
    assert_eq!(post(&app, &request, None, None).await, 401, "unsigned");
    assert_eq!(
        post(&app, &request, Some(now), None).await,
        401,
        "no signature"
    );
    let stale = now - 6 * 60;
    let replayed = slack_signature(SIGNING_SECRET, stale, &request.body);
    assert_eq!(
        post(&app, &request, Some(stale), Some(&replayed)).await,
        401,
        "signed six minutes ago: a replay"
    );
    let changed = SignedRequest {
        body: request.body.replace("sev1", "sev3"),
        ..request.clone()
    };
    let signed_for_the_original = slack_signature(SIGNING_SECRET, now, &request.body);
    assert_eq!(
        post(&app, &changed, Some(now), Some(&signed_for_the_original)).await,
        401,
        "a body changed on the way"
    );
    app.settle().await;
    assert!(
        app.writes_since(mark).is_empty(),
        "nothing was done in Slack"
    );
    assert!(app.store.open_incidents().await.expect("open").is_empty());
    let metrics = app.metrics().await;
    for (result, n) in [("bad_signature", 2.0), ("unsigned", 2.0), ("stale", 1.0)] {
        assert_eq!(
            metric(
                &metrics,
                "incident_commander_slack_requests_total",
                &[("endpoint", "commands"), ("result", result)]
            ),
            Some(n),
            "{result}"
        );
    }

    // The same request, signed now with the app's secret, is Slack's.
    let signed = slack_signature(SIGNING_SECRET, now, &request.body);
    assert_eq!(post(&app, &request, Some(now), Some(&signed)).await, 200);
    app.settle().await;
    assert_eq!(app.store.open_incidents().await.expect("open").len(), 1);
}

#[tokio::test]
async fn an_event_slack_sends_again_goes_on_the_timeline_once() {
    let app = spawn_app_over_http(&[], |_| {}).await;
    let channel = app.declared(ALICE, "sev2 Search is slow").await;
    let message = app.sim.post_as(BOB, &channel.id, "Index rebuild at 10:02");
    let pinned = app.sim.pin(BOB, &channel.id, &message).expect("delivered");
    app.sim.ack(&pinned.envelope_id, WAIT).await.expect("acked");

    // Slack sends it again (an answer it did not see in time): X-Slack-Retry-Num: 1.
    let again = app.redeliver(&pinned).await;
    assert!(!again.late);
    app.settle().await;
    let incident = app.incident_in(&channel).await;
    let pins = app
        .store
        .timeline(incident.id)
        .await
        .expect("timeline")
        .into_iter()
        .filter(|e| matches!(e.entry, Entry::Pinned { .. }))
        .count();
    assert_eq!(pins, 1, "the retry is the same event");
    let retries = metric(
        &app.metrics().await,
        "incident_commander_slack_retries_total",
        &[],
    );
    assert_eq!(retries, Some(1.0));
}

#[tokio::test]
async fn slack_verifies_the_events_request_url_only_with_the_right_secret() {
    let app = spawn_app_over_http(&[], |_| {}).await;
    let base = format!("http://{}", app.http_addr);
    app.sim
        .verify_url(&base, SIGNING_SECRET)
        .await
        .expect("the challenge is answered");
    assert!(
        app.sim
            .verify_url(&base, "another app's signing secret!!")
            .await
            .is_err(),
        "a challenge not signed with the app's secret is refused"
    );
}

#[tokio::test]
#[ignore = "needs PostgreSQL: run with --include-ignored and TEST_DATABASE_URL"]
async fn two_replicas_behind_a_round_robin_declare_once_and_fire_every_reminder_once() {
    let _server = required_postgres_server();
    let clock = Arc::new(MovableClock::starting_at(Utc::now()));
    // No announcements: they share one channel, paced at one post a second.
    let mut app = spawn_app_clocked(
        &[
            ("SLACK_TRANSPORT", "http"),
            ("SLACK_SIGNING_SECRET", SIGNING_SECRET),
            ("ANNOUNCE_CHANNEL", ""),
        ],
        clock.clone(),
        |_| {},
    )
    .await;
    app.add_replica().await;
    const INCIDENTS: usize = 12;
    let mut channels = Vec::new();
    for i in 0..INCIDENTS {
        let user = [ALICE, BOB, CAROL][i % 3];
        channels.push(app.declared(user, &format!("sev2 Shard {i} is slow")).await);
    }
    // A slash command Slack sent twice (the first answer lost) reaches the other replica.
    let envelope = app
        .sim
        .slash_command(ALICE, &app.general, "declare sev1 Checkout is down");
    app.sim
        .ack(&envelope.envelope_id, WAIT)
        .await
        .expect("acked");
    app.redeliver(&envelope).await;
    app.settle().await;
    let open = app.store.open_incidents().await.expect("open");
    assert_eq!(open.len(), INCIDENTS + 1, "one incident per declaration");

    let served: std::collections::BTreeSet<u64> = app
        .sim
        .envelopes()
        .iter()
        .flat_map(|e| app.sim.deliveries(&e.envelope_id))
        .map(|d| d.connection)
        .collect();
    assert_eq!(served.len(), 2, "both replicas took requests: {served:?}");

    for round in 1..=2 {
        app.settle().await;
        clock.advance(Duration::minutes(30));
        app.settle().await;
        for channel in &channels {
            let reminders = app
                .sim
                .channel(&channel.id)
                .expect("channel")
                .messages
                .iter()
                .filter(|m| m.text.contains("The people waiting for news are owed one"))
                .count();
            assert_eq!(reminders, round, "#{}", channel.name);
        }
    }
    // An hour on, Slack's requests still pass: they are stamped by Slack's clock, not the hour
    // of the test's start.
    let listed = app.command(BOB, "list").await;
    assert!(listed.contains("INC-13"), "{listed}");
}
