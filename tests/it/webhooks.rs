//! Signed outgoing webhooks: every change on an incident's timeline that other systems may act
//! on is POSTed to each of `WEBHOOK_URLS`, in order, signed, with an idempotency key, retried
//! while the receiver fails — and private incidents stay private unless `WEBHOOK_PRIVATE=true`.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;

use crate::helpers::*;

const SECRET: &str = "webhook-secret-0123456789abcdef";

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Received {
    headers: HeaderMap,
    body: Vec<u8>,
    answered: u16,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON")
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

/// A receiver on 127.0.0.1 that records every request and answers 503 to the first `failures`.
#[derive(Clone)]
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start(failures: usize) -> Receiver {
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let seen = got.clone();
        let app = axum::Router::new().route(
            "/hook",
            post(move |headers: HeaderMap, body: Bytes| {
                let seen = seen.clone();
                async move {
                    let mut seen = seen.lock().expect("lock");
                    let status = if seen.len() < failures {
                        StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        StatusCode::NO_CONTENT
                    };
                    seen.push(Received {
                        headers,
                        body: body.to_vec(),
                        answered: status.as_u16(),
                    });
                    status
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { url, got }
    }

    fn delivered(&self) -> Vec<Received> {
        self.got
            .lock()
            .expect("lock")
            .iter()
            .filter(|r| r.answered == 204)
            .cloned()
            .collect()
    }

    fn all(&self) -> Vec<Received> {
        self.got.lock().expect("lock").clone()
    }
}

/// Whether `signature` (`t=…,v1=…`) signs `body` with the secret.
fn signed(signature: &str, body: &[u8]) -> bool {
    let Some((t, v1)) = signature
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
    else {
        return false;
    };
    let mut signed = format!("{t}.").into_bytes();
    signed.extend_from_slice(body);
    incident_commander::outside::hmac_sha256_verify(SECRET.as_bytes(), &signed, v1)
}

#[tokio::test]
async fn every_change_is_sent_signed_in_order_with_a_stable_idempotency_key() {
    let receiver = Receiver::start(0).await;
    let app = spawn_app_configured(
        &[("WEBHOOK_URLS", &receiver.url), ("WEBHOOK_SECRET", SECRET)],
        |_| {},
    )
    .await;
    let channel = app.declared(ALICE, "sev2 Checkout is slow").await;
    app.command_in(ALICE, &channel.id, "update fixing Rolled back the deploy")
        .await;
    app.command_in(ALICE, &channel.id, "sev 1").await;
    app.command_in(BOB, &channel.id, "operator me").await;
    app.command_in(
        ALICE,
        &channel.id,
        "note Not sent: a note is not a change of state",
    )
    .await;
    app.command_in(ALICE, &channel.id, "resolve Fixed").await;
    app.settle().await;

    let delivered = receiver.delivered();
    let types: Vec<String> = delivered
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        types,
        [
            "incident.declared",
            "incident.status_changed",
            "incident.updated",
            "incident.severity_changed",
            "incident.role_changed",
            "incident.resolved",
        ]
    );
    for r in &delivered {
        assert!(
            signed(r.header("x-incident-commander-signature"), &r.body),
            "signed: {:?}",
            r.headers
        );
        let body = r.json();
        assert_eq!(r.header("idempotency-key"), body["id"].as_str().unwrap());
        assert_eq!(r.header("x-incident-commander-event"), body["type"]);
        assert_eq!(r.header("content-type"), "application/json");
        assert_eq!(body["incident"]["reference"], "INC-1");
    }
    // The incident as it is when the event is sent: the channel, once it exists.
    let last = delivered.last().expect("the resolution").json();
    assert_eq!(last["incident"]["channel_id"], channel.id.as_str());
    assert_eq!(last["incident"]["status"], "resolved");
    let declared = delivered[0].json();
    assert_eq!(declared["actor"]["slack_user_id"], ALICE);
    assert_eq!(declared["change"]["kind"], "declared");
    assert_eq!(declared["change"]["title"], "Checkout is slow");
    let severity = delivered[3].json();
    assert_eq!(severity["change"]["from"], "sev2");
    assert_eq!(severity["change"]["to"], "sev1");
    let ids: std::collections::HashSet<String> = delivered
        .iter()
        .map(|r| r.header("idempotency-key").to_string())
        .collect();
    assert_eq!(ids.len(), delivered.len(), "one id per event");
}

#[tokio::test]
async fn a_receiver_that_fails_gets_the_same_event_again_and_later_events_wait_for_it() {
    let receiver = Receiver::start(2).await;
    let app = spawn_app_configured(
        &[("WEBHOOK_URLS", &receiver.url), ("WEBHOOK_SECRET", SECRET)],
        |_| {},
    )
    .await;
    let channel = app.declared(ALICE, "sev2 Checkout is slow").await;
    app.command_in(ALICE, &channel.id, "update fixing Rolled back")
        .await;
    app.settle().await;

    let all = receiver.all();
    assert_eq!(
        all.iter().map(|r| r.answered).collect::<Vec<_>>(),
        [503, 503, 204, 204, 204],
        "the declaration tried three times, then the rest in order"
    );
    let first: Vec<&str> = all[..3]
        .iter()
        .map(|r| r.header("idempotency-key"))
        .collect();
    assert!(first.iter().all(|k| *k == first[0]), "{first:?}");
    assert_eq!(all[2].json()["type"], "incident.declared");
    assert_eq!(all[3].json()["type"], "incident.status_changed");
    // The incident never waited: its channel and its update are there.
    let posts = app
        .sim
        .channel(&channel.id)
        .expect("channel")
        .messages
        .len();
    assert!(posts >= 2, "{posts}");
}

#[tokio::test]
async fn a_private_incident_is_sent_only_when_webhook_private_says_so() {
    let receiver = Receiver::start(0).await;
    let app = spawn_app_configured(
        &[("WEBHOOK_URLS", &receiver.url), ("WEBHOOK_SECRET", SECRET)],
        |_| {},
    )
    .await;
    let channel = app
        .declared_private(ALICE, "sev1", "Credentials leaked")
        .await;
    app.command_in(ALICE, &channel.id, "update fixing Rotated")
        .await;
    app.settle().await;
    assert!(receiver.all().is_empty(), "{:?}", receiver.all());

    let told = Receiver::start(0).await;
    let app = spawn_app_configured(
        &[
            ("WEBHOOK_URLS", &told.url),
            ("WEBHOOK_SECRET", SECRET),
            ("WEBHOOK_PRIVATE", "true"),
        ],
        |_| {},
    )
    .await;
    app.declared_private(ALICE, "sev1", "Credentials leaked")
        .await;
    app.settle().await;
    let sent = told.delivered();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].json()["incident"]["private"], true);
}
