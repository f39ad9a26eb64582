//! The alert intake through a real HTTP client: an alert opens a `triage` incident with no roles
//! and its channel, repeats of an open incident's alert go to its timeline, a burst of identical
//! alerts opens one incident, Alertmanager's firing and resolved notifications, and every
//! refusal (400, 401, 413, off) records nothing.

use incident_commander::domain::{Entry, Status};
use serde_json::{Value, json};
use slack_simulator::BOT_USER_ID;

use crate::helpers::*;

fn deploy_failed() -> Value {
    json!({
        "title": "Deploy of checkout failed",
        "summary": "Pipeline 4711 failed at the migrate step",
        "severity": "error",
        "fingerprint": "deploy-checkout",
        "source": "ci",
        "link": "https://ci.example.com/pipelines/4711"
    })
}

fn alertmanager(status: &str) -> Value {
    json!({
        "version": "4",
        "groupKey": "{}:{alertname=\"HighErrorRate\", service=\"checkout\"}",
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "incident-commander",
        "groupLabels": {"alertname": "HighErrorRate", "service": "checkout"},
        "commonLabels": {"alertname": "HighErrorRate", "service": "checkout", "severity": "critical"},
        "commonAnnotations": {"summary": "Checkout 5xx above 5%"},
        "externalURL": "http://alertmanager.example:9093",
        "alerts": [{
            "status": status,
            "labels": {"alertname": "HighErrorRate", "service": "checkout", "instance": "web-1"},
            "annotations": {"summary": "Checkout 5xx above 5%"},
            "startsAt": "2026-01-01T10:00:00Z",
            "endsAt": if status == "resolved" { "2026-01-01T10:30:00Z" } else { "0001-01-01T00:00:00Z" },
            "generatorURL": "http://prometheus.example:9090/graph?g0.expr=rate",
            "fingerprint": "3f1d2c"
        }]
    })
}

async fn incident_count(app: &TestApp) -> usize {
    app.store.open_incidents().await.expect("open").len()
}

#[tokio::test]
async fn a_generic_alert_opens_a_triage_incident_with_its_channel_and_no_roles() {
    let app = spawn_app_with_alerts(&[], |_| {}).await;
    let (status, body) = app.alert("/alerts", &deploy_failed()).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body, json!({"result": "opened", "incident": "INC-1"}));
    app.settle().await;

    let channel = app.only_incident_channel("inc-1-deploy-of-checkout-failed");
    let incident = app.incident_in(&channel).await;
    assert_eq!(incident.status, Status::Triage);
    assert!(incident.roles.is_empty(), "{:?}", incident.roles);
    assert_eq!(incident.declared_by, BOT_USER_ID);
    assert_eq!(
        incident.summary.as_deref(),
        Some("Pipeline 4711 failed at the migrate step — https://ci.example.com/pipelines/4711")
    );
    assert_eq!(
        app.sim.channel(&channel.id).expect("channel").topic,
        "[SEV2 · triage] Pipeline 4711 failed at the migrate step — https://ci.example.com/pipelines/4711"
    );
    let kinds = timeline_kinds(&app.store, incident.id).await;
    assert_eq!(&kinds[..2], ["declared", "alert_received"], "{kinds:?}");
    assert!(
        kinds.contains(&"channel_created") && kinds.contains(&"announced"),
        "{kinds:?}"
    );
    let received = timeline_event(&app.store, incident.id, "alert_received").await;
    assert_eq!(received.actor, None);
    assert!(matches!(
        received.entry,
        Entry::AlertReceived { ref source, ref fingerprint, .. } if source == "ci" && fingerprint == "deploy-checkout"
    ));
    let announcement = app
        .sim
        .channel(&app.incidents)
        .expect("#incidents")
        .messages;
    assert_eq!(announcement.len(), 1, "announced once");
    assert_eq!(app.ok_calls("conversations.invite"), 0, "nobody to invite");
}

#[tokio::test]
async fn an_alert_matching_an_open_incident_adds_to_its_timeline_instead() {
    let app = spawn_app_with_alerts(&[], |_| {}).await;
    assert_eq!(app.alert("/alerts", &deploy_failed()).await.0, 201);
    let (status, body) = app.alert("/alerts", &deploy_failed()).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"result": "repeated", "incident": "INC-1"}));
    app.settle().await;
    assert_eq!(incident_count(&app).await, 1);
    assert_eq!(app.ok_calls("conversations.create"), 1);
    let incident = &app.store.open_incidents().await.expect("open")[0];
    let kinds = timeline_kinds(&app.store, incident.id).await;
    assert_eq!(kinds.iter().filter(|k| **k == "alert_received").count(), 2);

    // Without a fingerprint, the same title from the same source is the same alert.
    let bare = json!({"title": "Disk full on db-1", "source": "nagios"});
    assert_eq!(app.alert("/alerts", &bare).await.0, 201);
    assert_eq!(app.alert("/alerts", &bare).await.1["result"], "repeated");
    assert_eq!(incident_count(&app).await, 2);
}

#[tokio::test]
async fn a_burst_of_a_hundred_identical_alerts_opens_one_incident() {
    let app = spawn_app_with_alerts(&[], |_| {}).await;
    let body = deploy_failed();
    let answers = futures::future::join_all((0..100).map(|_| app.alert("/alerts", &body))).await;
    let opened = answers.iter().filter(|(s, _)| *s == 201).count();
    let repeated = answers
        .iter()
        .filter(|(s, b)| *s == 200 && b["result"] == "repeated")
        .count();
    assert_eq!((opened, repeated), (1, 99), "{answers:?}");
    app.settle().await;
    let incidents = app.store.open_incidents().await.expect("open");
    assert_eq!(incidents.len(), 1);
    let kinds = timeline_kinds(&app.store, incidents[0].id).await;
    assert_eq!(
        kinds.iter().filter(|k| **k == "alert_received").count(),
        100
    );
    assert_eq!(app.ok_calls("conversations.create"), 1);
}

#[tokio::test]
#[ignore = "needs PostgreSQL: TEST_DATABASE_URL and --include-ignored"]
async fn a_burst_split_across_two_replicas_opens_one_incident() {
    required_postgres_server();
    let mut app = spawn_app_with_alerts(&[], |_| {}).await;
    app.add_replica().await;
    let urls = [
        app.url("/alerts"),
        format!("http://{}/alerts", app.replica_http_addrs[0]),
    ];
    let client = reqwest::Client::new();
    let answers = futures::future::join_all((0..100).map(|n| {
        client
            .post(&urls[n % 2])
            .bearer_auth(ALERT_TOKEN)
            .json(&deploy_failed())
            .send()
    }))
    .await;
    let statuses: Vec<u16> = answers
        .into_iter()
        .map(|r| r.expect("answered").status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        99,
        "{statuses:?}"
    );
    app.settle().await;
    assert_eq!(incident_count(&app).await, 1);
    assert_eq!(app.ok_calls("conversations.create"), 1);
}

#[tokio::test]
async fn alertmanager_firing_then_resolved_opens_then_reports_in_the_channel() {
    let app = spawn_app_with_alerts(&[], |_| {}).await;
    let (status, body) = app
        .alert("/alerts/alertmanager", &alertmanager("firing"))
        .await;
    assert_eq!((status, body["result"].as_str()), (201, Some("opened")));
    // Alertmanager repeats a firing group every repeat_interval: one incident.
    let (status, body) = app
        .alert("/alerts/alertmanager", &alertmanager("firing"))
        .await;
    assert_eq!((status, body["result"].as_str()), (200, Some("repeated")));
    app.settle().await;
    let channel = app.only_incident_channel("inc-1-checkout-5xx-above-5");
    let incident = app.incident_in(&channel).await;
    assert_eq!(incident.severity.to_string(), "SEV1");

    let (status, body) = app
        .alert("/alerts/alertmanager", &alertmanager("resolved"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"result": "resolved", "incident": "INC-1"}));
    app.settle().await;

    let after = app.incident_in(&channel).await;
    assert_eq!(
        after.status,
        Status::Triage,
        "people resolve incidents, not monitors"
    );
    let resolved = timeline_event(&app.store, incident.id, "alert_resolved").await;
    assert!(
        matches!(resolved.entry, Entry::AlertResolved { ref source, .. } if source == "alertmanager")
    );
    let posts: Vec<String> = app
        .sim
        .channel(&channel.id)
        .expect("channel")
        .messages
        .iter()
        .map(shown_text)
        .collect();
    let resolved_posts: Vec<&String> = posts
        .iter()
        .filter(|p| p.contains("Alert resolved"))
        .collect();
    assert_eq!(resolved_posts.len(), 1, "{posts:?}");
    assert!(
        resolved_posts[0].contains("*INC-1* stays *triage*: resolve it with `/inc resolve`"),
        "{}",
        resolved_posts[0]
    );
    assert!(
        resolved_posts[0]
            .contains("<http://prometheus.example:9090/graph?g0.expr=rate|Checkout 5xx above 5%>")
    );

    // A resolution for a group that never opened anything records nothing.
    let mut other = alertmanager("resolved");
    other["groupKey"] = json!("{}:{alertname=\"Other\"}");
    let (status, body) = app.alert("/alerts/alertmanager", &other).await;
    assert_eq!(
        (status, body),
        (200, json!({"result": "no_incident", "incident": null}))
    );
}

#[tokio::test]
async fn after_people_resolve_it_the_same_alert_opens_a_new_incident() {
    let app = spawn_app_with_alerts(&[], |_| {}).await;
    assert_eq!(app.alert("/alerts", &deploy_failed()).await.0, 201);
    app.settle().await;
    let channel = app.only_incident_channel("inc-1-deploy-of-checkout-failed");
    app.command_in(ALICE, &channel.id, "coordinator me").await;
    let reply = app
        .command_in(ALICE, &channel.id, "resolve Rolled back")
        .await;
    assert!(reply.contains("resolved"), "{reply}");
    let (status, body) = app.alert("/alerts", &deploy_failed()).await;
    assert_eq!((status, body["incident"].as_str()), (201, Some("INC-2")));
}

#[tokio::test]
async fn the_coordinator_group_is_pinged_once_in_an_alert_incidents_channel() {
    let app = spawn_app_with_alerts(&[("COORDINATOR_GROUP", "S0ONCALL")], |sim| {
        sim.add_usergroup("S0ONCALL", "oncall", &[BOB]);
    })
    .await;
    assert_eq!(app.alert("/alerts", &deploy_failed()).await.0, 201);
    app.settle().await;
    let channel = app.only_incident_channel("inc-1-deploy-of-checkout-failed");
    let messages = app.sim.channel(&channel.id).expect("channel").messages;
    let pings: Vec<String> = messages
        .iter()
        .map(parsed_text)
        .filter(|t| t.contains("<!subteam^S0ONCALL>"))
        .collect();
    assert_eq!(pings.len(), 1, "{pings:?}");
    assert!(
        pings[0].contains("*INC-1* — Deploy of checkout failed needs a coordinator"),
        "{}",
        pings[0]
    );
    let call = messages
        .iter()
        .find(|m| parsed_text(m).contains("<!subteam^S0ONCALL>"));
    assert!(
        call.expect("the call")
            .blocks
            .to_string()
            .contains("take_coordinator"),
        "with the Take coordinator button"
    );
    assert!(
        shown_text(&messages[0]).contains("INC-1"),
        "the card comes first"
    );

    // With a coordinator group, a person declaring becomes operator and the group is called
    // the same way (once).
    app.declared(ALICE, "sev2 Search is slow").await;
    let search = app.channel_named("inc-2-search-is-slow");
    let texts: Vec<String> = app
        .sim
        .channel(&search.id)
        .expect("channel")
        .messages
        .iter()
        .map(parsed_text)
        .collect();
    assert_eq!(
        texts.iter().filter(|t| t.contains("subteam")).count(),
        1,
        "{texts:?}"
    );
    assert!(texts[0].contains("*Operator*\n<@U0ALICE>"), "{}", texts[0]);
}

#[tokio::test]
async fn invalid_bodies_get_400_saying_what_is_wrong_and_record_nothing() {
    let app = spawn_app_with_alerts(&[], |_| {}).await;
    let jobs = app.store.job_counts().await.expect("jobs");
    let client = reqwest::Client::new();
    let not_json = client
        .post(app.url("/alerts"))
        .bearer_auth(ALERT_TOKEN)
        .body("title=Disk full")
        .send()
        .await
        .expect("answers");
    assert_eq!(not_json.status().as_u16(), 400);
    let body: Value = not_json.json().await.expect("JSON");
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .starts_with("the body is not JSON"),
        "{body}"
    );

    for (path, sent, field, error) in [
        (
            "/alerts",
            json!({"summary": "no title"}),
            "title",
            "title: missing: every alert needs a title",
        ),
        (
            "/alerts",
            json!({"title": "t", "severity": "urgent"}),
            "severity",
            "severity: \"urgent\" is not a severity",
        ),
        (
            "/alerts",
            json!({"title": "t", "link": "ftp://x"}),
            "link",
            "link: must be an http:// or https:// URL",
        ),
        (
            "/alerts/alertmanager",
            json!({"version": "3"}),
            "version",
            "version: \"3\" is not supported",
        ),
        (
            "/alerts/alertmanager",
            deploy_failed(),
            "version",
            "version: missing",
        ),
    ] {
        let (status, body) = app.alert(path, &sent).await;
        assert_eq!(status, 400, "{sent}: {body}");
        assert_eq!(body["field"], field, "{body}");
        assert!(
            body["error"]
                .as_str()
                .unwrap_or_default()
                .starts_with(error),
            "{body}"
        );
    }
    assert_eq!(incident_count(&app).await, 0);
    assert_eq!(app.store.job_counts().await.expect("jobs"), jobs);
}

#[tokio::test]
async fn a_missing_or_wrong_token_gets_401_and_records_nothing() {
    let app = spawn_app_with_alerts(&[], |_| {}).await;
    let client = reqwest::Client::new();
    for token in [None, Some("wrong-token-0123456789abcdef"), Some("")] {
        let mut request = client.post(app.url("/alerts")).json(&deploy_failed());
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("answers");
        assert_eq!(response.status().as_u16(), 401, "{token:?}");
        assert_eq!(
            response
                .headers()
                .get("www-authenticate")
                .map(|v| v.to_str().unwrap_or_default()),
            Some("Bearer")
        );
        let body: Value = response.json().await.expect("JSON");
        assert!(
            body["error"]
                .as_str()
                .unwrap_or_default()
                .contains("bearer token"),
            "{body}"
        );
    }
    let basic = client
        .post(app.url("/alerts/alertmanager"))
        .basic_auth("alertmanager", Some(ALERT_TOKEN))
        .json(&alertmanager("firing"))
        .send()
        .await
        .expect("answers");
    assert_eq!(basic.status().as_u16(), 401);
    assert_eq!(incident_count(&app).await, 0);
}

#[tokio::test]
async fn a_body_over_the_limit_gets_413() {
    let app = spawn_app_with_alerts(&[], |_| {}).await;
    let huge =
        json!({"title": "t", "summary": "x".repeat(incident_commander::http::ALERT_BODY_LIMIT)});
    let (status, body) = app.alert("/alerts", &huge).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"], "the body is larger than 1024 KiB");
    assert_eq!(incident_count(&app).await, 0);
    // Unauthenticated, it is refused before the body is read.
    let response = reqwest::Client::new()
        .post(app.url("/alerts"))
        .json(&huge)
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status().as_u16(), 401);
}

#[tokio::test]
async fn without_alert_token_the_endpoints_are_off() {
    let app = spawn_app().await;
    let (status, body) = app.alert("/alerts", &deploy_failed()).await;
    assert_eq!(status, 404);
    assert_eq!(
        body["error"],
        "alert intake is off: set ALERT_TOKEN to turn it on"
    );
    assert_eq!(incident_count(&app).await, 0);
}

#[tokio::test]
async fn alerts_are_counted_in_the_metrics() {
    let app = spawn_app_with_alerts(&[], |_| {}).await;
    let count = |text: &str, result: &str| {
        metric(
            text,
            "incident_commander_alerts_total",
            &[("endpoint", "generic"), ("result", result)],
        )
    };
    let before = app.metrics().await;
    assert!(
        !before.contains("incident_commander_alerts_total{"),
        "no alert yet:\n{before}"
    );
    app.alert("/alerts", &deploy_failed()).await;
    app.alert("/alerts", &json!({})).await;
    app.alert("/alerts", &json!({})).await;
    let after = app.metrics().await;
    assert_eq!(count(&after, "opened"), Some(1.0), "{after}");
    assert_eq!(count(&after, "invalid"), Some(2.0), "{after}");
    assert_eq!(
        after.matches("incident_commander_alerts_total{").count(),
        2,
        "nothing else was counted:\n{after}"
    );
    assert_eq!(
        metric(
            &after,
            "incident_commander_incidents",
            &[("status", "triage"), ("severity", "sev2")]
        ),
        Some(1.0)
    );
}
