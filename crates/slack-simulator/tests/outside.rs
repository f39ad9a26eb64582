//! The fakes of the services outside Slack — PagerDuty (Events API v2, v3 webhooks) and
//! Atlassian Statuspage (REST API v1) — driven over plain HTTP with reqwest, nothing of the bot
//! involved: good requests, each validation error, auth, deduplication, webhook signatures
//! checked with an HMAC computed here, redelivery, and every fault.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use slack_simulator::pagerduty::{self, EventEffect, PagerDutyError};
use slack_simulator::{FakePagerDuty, FakeStatuspage};

const KEY: &str = "e93facc04764012d7bfb002500d5d1a6";
const OTHER_KEY: &str = "0123456789abcdef0123456789ABCDEF";
const SECRET: &str = "whsec-first-secret";
const NEW_SECRET: &str = "whsec-second-secret";
const WAIT: Duration = Duration::from_secs(10);

// --- plain HTTP ---

fn client() -> reqwest::Client {
    slack_simulator::install_tls_provider();
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client builds")
}

struct Reply {
    status: u16,
    content_type: String,
    retry_after: Option<String>,
    text: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|_| panic!("not JSON ({}): {}", self.status, self.text))
    }
}

async fn read(response: reqwest::Response) -> Reply {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header("content-type").unwrap_or_default();
    let retry_after = header("retry-after");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body reads");
    Reply {
        status,
        content_type,
        retry_after,
        text,
    }
}

async fn post_raw(url: &str, body: &str) -> Reply {
    let response = client()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("request answered");
    read(response).await
}

async fn post(url: &str, body: &Value) -> Reply {
    post_raw(url, &body.to_string()).await
}

fn hmac_hex(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

// --- PagerDuty ---

fn trigger(routing_key: &str, dedup_key: Option<&str>, summary: &str, severity: &str) -> Value {
    let mut event = json!({
        "routing_key": routing_key,
        "event_action": "trigger",
        "payload": {
            "summary": summary,
            "source": "incident-commander",
            "severity": severity,
        },
    });
    if let Some(key) = dedup_key {
        event["dedup_key"] = json!(key);
    }
    event
}

fn follow_up(routing_key: &str, action: &str, dedup_key: &str) -> Value {
    json!({ "routing_key": routing_key, "event_action": action, "dedup_key": dedup_key })
}

async fn start_pagerduty() -> FakePagerDuty {
    let pd = FakePagerDuty::start().await.expect("fake PagerDuty starts");
    pd.add_service("Checkout API", KEY);
    pd
}

/// One webhook a test subscriber received.
#[derive(Clone, Debug)]
struct Hit {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Hit {
    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {name} header"))
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("webhook body is JSON")
    }

    fn event_type(&self) -> String {
        self.json()["event"]["event_type"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

/// A webhook receiver on 127.0.0.1 answering the statuses queued (then 200).
#[derive(Clone)]
struct Subscriber {
    url: String,
    hits: Arc<Mutex<Vec<Hit>>>,
    statuses: Arc<Mutex<VecDeque<u16>>>,
}

impl Subscriber {
    async fn start() -> Subscriber {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("subscriber binds");
        let subscriber = Subscriber {
            url: format!("http://{}/pagerduty", listener.local_addr().unwrap()),
            hits: Arc::default(),
            statuses: Arc::default(),
        };
        let state = subscriber.clone();
        let app = axum::Router::new().route(
            "/pagerduty",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let state = state.clone();
                async move {
                    state.hits.lock().unwrap().push(Hit {
                        headers: headers
                            .iter()
                            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_string()))
                            .collect(),
                        body: body.to_vec(),
                    });
                    let status = state.statuses.lock().unwrap().pop_front().unwrap_or(200);
                    StatusCode::from_u16(status).unwrap()
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        subscriber
    }

    fn answer_next(&self, status: u16) {
        self.statuses.lock().unwrap().push_back(status);
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }
}

/// Asserts the signature header carries a v1 HMAC of the raw body for every secret given.
fn assert_signed(hit: &Hit, secrets: &[&str]) {
    let values: Vec<&str> = hit.header("x-pagerduty-signature").split(',').collect();
    assert_eq!(
        values.len(),
        secrets.len(),
        "one signature per secret: {values:?}"
    );
    for secret in secrets {
        let expected = format!("v1={}", hmac_hex(secret, &hit.body));
        assert!(
            values.contains(&expected.as_str()),
            "{secret} signs: {values:?}"
        );
    }
}

#[tokio::test]
async fn pagerduty_trigger_opens_an_incident_and_signs_its_webhook() {
    let pd = start_pagerduty().await;
    let sub = Subscriber::start().await;
    let subscription = pd.subscribe(&sub.url, SECRET);
    let mut event = trigger(KEY, Some("inc-42"), "Checkout is down", "critical");
    event["payload"]["custom_details"] = json!({ "channel": "#inc-42", "commander": "alice" });
    event["payload"]["timestamp"] = json!("2015-07-17T08:42:58.315+0000");
    event["payload"]["component"] = json!("api");
    event["links"] = json!([{ "href": "https://example.slack.com/archives/C1", "text": "Slack" }]);
    event["images"] = json!([{ "src": "https://example.com/graph.png", "alt": "graph" }]);
    event["client"] = json!("incident-commander");
    event["client_url"] = json!("https://example.slack.com/archives/C1");

    let reply = post(&pd.events_url(), &event).await;
    assert_eq!(reply.status, 202, "{}", reply.text);
    assert_eq!(
        reply.json(),
        json!({ "status": "success", "message": "Event processed", "dedup_key": "inc-42" })
    );

    let incident = pd.incident("inc-42").expect("an incident opened");
    assert_eq!(incident.status, "triggered");
    assert_eq!(incident.urgency, "high");
    assert_eq!(incident.title, "Checkout is down");
    assert_eq!(incident.number, 1);
    assert_eq!(incident.service, "Checkout API");
    assert_eq!(incident.assignee, "Checkout API on-call");
    assert_eq!(incident.id.len(), 14);
    assert!(incident.id.starts_with('Q'));
    assert_eq!(
        incident.html_url,
        format!("https://example.pagerduty.com/incidents/{}", incident.id)
    );

    pd.settle().await;
    let hits = sub.hits();
    assert_eq!(hits.len(), 1);
    let hit = &hits[0];
    assert_eq!(hit.header("content-type"), "application/json");
    assert_eq!(hit.header("user-agent"), "PagerDuty-Webhook/V3.0");
    assert_eq!(hit.header("x-webhook-subscription"), subscription);
    assert!(!hit.header("x-webhook-id").is_empty());
    assert_signed(hit, &[SECRET]);
    assert_eq!(
        hit.header("x-pagerduty-signature"),
        pagerduty::sign(SECRET, &hit.body)
    );

    let body = hit.json();
    let event = &body["event"];
    assert_eq!(event["event_type"], "incident.triggered");
    assert_eq!(event["resource_type"], "incident");
    assert_eq!(event["client"], Value::Null);
    assert!(event["id"].as_str().is_some_and(|id| !id.is_empty()));
    assert!(
        event["occurred_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    assert_eq!(event["agent"]["type"], "service_reference");
    assert_eq!(event["agent"]["summary"], "Checkout API");
    let data = &event["data"];
    assert_eq!(data["id"], incident.id.as_str());
    assert_eq!(data["type"], "incident");
    assert_eq!(data["number"], 1);
    assert_eq!(data["status"], "triggered");
    assert_eq!(data["incident_key"], "inc-42");
    assert_eq!(data["title"], "Checkout is down");
    assert_eq!(data["urgency"], "high");
    assert_eq!(data["html_url"], incident.html_url.as_str());
    assert_eq!(
        data["self"],
        format!("https://api.pagerduty.com/incidents/{}", incident.id)
    );
    assert_eq!(data["service"]["type"], "service_reference");
    assert_eq!(data["service"]["summary"], "Checkout API");
    assert_eq!(data["assignees"][0]["type"], "user_reference");
    assert_eq!(data["assignees"][0]["summary"], "Checkout API on-call");
    assert_eq!(
        data["escalation_policy"]["type"],
        "escalation_policy_reference"
    );
    assert_eq!(data["teams"], json!([]));
    assert_eq!(data["priority"], Value::Null);
    assert_eq!(data["conference_bridge"], Value::Null);
    assert_eq!(data["resolve_reason"], Value::Null);

    let deliveries = pd.deliveries();
    assert_eq!(deliveries.len(), 1);
    assert!(deliveries[0].succeeded());
    assert_eq!(deliveries[0].attempt, 1);
    assert_eq!(deliveries[0].body, hit.body);
    let requests = pd.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].path, "/v2/enqueue");
    assert_eq!(requests[0].status, Some(202));
    assert_eq!(requests[0].body["dedup_key"], "inc-42");
}

#[tokio::test]
async fn pagerduty_generates_a_dedup_key_for_a_trigger_without_one() {
    let pd = start_pagerduty().await;
    let first = post(
        &pd.events_url(),
        &trigger(KEY, None, "Disk full", "warning"),
    )
    .await;
    let second = post(
        &pd.events_url(),
        &trigger(KEY, None, "Disk full", "warning"),
    )
    .await;
    let first_key = first.json()["dedup_key"].as_str().unwrap().to_string();
    let second_key = second.json()["dedup_key"].as_str().unwrap().to_string();
    assert_eq!(first_key.len(), 32);
    assert!(first_key.chars().all(|c| c.is_ascii_hexdigit()));
    assert_ne!(
        first_key, second_key,
        "every trigger without a key is a new alert"
    );
    assert_eq!(pd.incidents().len(), 2);
    assert_eq!(pd.incident(&first_key).unwrap().urgency, "low");
}

#[tokio::test]
async fn pagerduty_deduplicates_by_dedup_key_as_pagerduty_does() {
    let pd = start_pagerduty().await;
    pd.add_service("Payments", OTHER_KEY);
    let sub = Subscriber::start().await;
    pd.subscribe(&sub.url, SECRET);
    let url = pd.events_url();

    assert_eq!(
        post(&url, &trigger(KEY, Some("k"), "Checkout is down", "error"))
            .await
            .status,
        202
    );
    assert_eq!(
        post(&url, &trigger(KEY, Some("k"), "Still down", "critical"))
            .await
            .status,
        202
    );
    assert_eq!(
        pd.incidents().len(),
        1,
        "a trigger for an open incident adds to it"
    );
    let incident = pd.incident("k").unwrap();
    assert_eq!(incident.triggers, 2);
    assert_eq!(incident.title, "Checkout is down");
    assert_eq!(incident.payload["summary"], "Still down");

    // Another integration's follow-ups do not touch it.
    let reply = post(&url, &follow_up(OTHER_KEY, "resolve", "k")).await;
    assert_eq!(reply.status, 202);
    assert_eq!(reply.json()["dedup_key"], "k");
    assert_eq!(pd.incident("k").unwrap().status, "triggered");

    assert_eq!(
        post(&url, &follow_up(KEY, "acknowledge", "k")).await.status,
        202
    );
    assert_eq!(pd.incident("k").unwrap().status, "acknowledged");
    assert_eq!(
        post(&url, &follow_up(KEY, "acknowledge", "k")).await.status,
        202
    );
    assert_eq!(
        post(&url, &follow_up(KEY, "resolve", "k")).await.status,
        202
    );
    assert_eq!(pd.incident("k").unwrap().status, "resolved");
    // Follow-ups for a key with no open incident are accepted and dropped.
    assert_eq!(
        post(&url, &follow_up(KEY, "resolve", "k")).await.status,
        202
    );
    assert_eq!(
        post(&url, &follow_up(KEY, "acknowledge", "never"))
            .await
            .status,
        202
    );

    // A trigger after the resolve opens a new incident.
    assert_eq!(
        post(&url, &trigger(KEY, Some("k"), "Down again", "critical"))
            .await
            .status,
        202
    );
    let incidents = pd.incidents();
    assert_eq!(incidents.len(), 2);
    assert_eq!(incidents[0].status, "resolved");
    assert_eq!(incidents[1].status, "triggered");
    assert_eq!(incidents[1].number, 2);
    assert_eq!(pd.incident("k").unwrap().id, incidents[1].id);

    let first = incidents[0].id.clone();
    let second = incidents[1].id.clone();
    let effects: Vec<EventEffect> = pd.events().into_iter().map(|e| e.effect).collect();
    assert_eq!(
        effects,
        vec![
            EventEffect::Opened {
                incident_id: first.clone()
            },
            EventEffect::Deduplicated {
                incident_id: first.clone()
            },
            EventEffect::Dropped,
            EventEffect::Acknowledged {
                incident_id: first.clone()
            },
            EventEffect::Unchanged {
                incident_id: first.clone()
            },
            EventEffect::Resolved {
                incident_id: first.clone()
            },
            EventEffect::Dropped,
            EventEffect::Dropped,
            EventEffect::Opened {
                incident_id: second
            },
        ]
    );

    pd.settle().await;
    let types: Vec<String> = sub.hits().iter().map(Hit::event_type).collect();
    assert_eq!(
        types,
        [
            "incident.triggered",
            "incident.acknowledged",
            "incident.resolved",
            "incident.triggered"
        ]
    );
    let resolved = sub.hits()[2].json();
    assert_eq!(resolved["event"]["data"]["status"], "resolved");
    assert_eq!(resolved["event"]["data"]["assignees"], json!([]));
}

#[tokio::test]
async fn pagerduty_rejects_invalid_events_as_pagerduty_does() {
    let pd = start_pagerduty().await;
    let url = pd.events_url();
    let invalid = |errors: &[&str]| json!({ "status": "invalid event", "message": "Event object is invalid", "errors": errors });

    for body in ["not json", "[]", "\"trigger\""] {
        let reply = post_raw(&url, body).await;
        assert_eq!(reply.status, 400, "{body}");
        assert_eq!(
            reply.json(),
            json!({
                "status": "Unrecognized object",
                "message": "Event object format is unrecognized",
                "errors": ["JSON parse error"],
            })
        );
    }

    let reply = post(&url, &json!({})).await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.json(),
        invalid(&[
            "'routing_key' cannot be blank",
            "'event_action' is missing or blank"
        ])
    );

    for key in [
        "ffffffffffffffffffffffffffffffff",
        "short",
        "e93facc0-4764-012d-7bfb-002500d5d1a6",
    ] {
        let reply = post(&url, &trigger(key, Some("k"), "x", "info")).await;
        assert_eq!(reply.status, 400, "{key}");
        assert!(
            reply.content_type.starts_with("text/plain"),
            "{}",
            reply.content_type
        );
        assert_eq!(reply.text, "Invalid routing key");
    }

    let mut event = trigger(KEY, Some("k"), "x", "info");
    event["event_action"] = json!("page");
    assert_eq!(
        post(&url, &event).await.json(),
        invalid(&[
            "'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve')"
        ])
    );

    for action in ["acknowledge", "resolve"] {
        let reply = post(&url, &json!({ "routing_key": KEY, "event_action": action })).await;
        assert_eq!(reply.status, 400);
        assert_eq!(reply.json(), invalid(&["'dedup_key' is missing or blank"]));
    }

    let long_key = "k".repeat(256);
    let reply = post(&url, &trigger(KEY, Some(&long_key), "x", "info")).await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.json(),
        invalid(&["'dedup_key' is too long (maximum is 255 characters)"])
    );

    let reply = post(
        &url,
        &json!({ "routing_key": KEY, "event_action": "trigger" }),
    )
    .await;
    assert_eq!(
        reply.json(),
        invalid(&[
            "'payload.summary' is missing or blank",
            "'payload.source' is missing or blank",
            "'payload.severity' is missing or blank",
        ])
    );
    let mut event = trigger(KEY, None, "", "info");
    event["payload"]["source"] = json!("  ");
    assert_eq!(
        post(&url, &event).await.json(),
        invalid(&[
            "'payload.summary' is missing or blank",
            "'payload.source' is missing or blank"
        ])
    );

    let reply = post(&url, &trigger(KEY, None, &"s".repeat(1025), "info")).await;
    assert_eq!(
        reply.json(),
        invalid(&["'payload.summary' is too long (maximum is 1024 characters)"])
    );

    let reply = post(&url, &trigger(KEY, None, "x", "high")).await;
    assert_eq!(
        reply.json(),
        invalid(&[
            "'payload.severity' is invalid (must be one of the following: 'critical', 'warning', 'error' or 'info')"
        ])
    );

    let mut event = trigger(KEY, None, "x", "info");
    event["payload"]["timestamp"] = json!("yesterday");
    event["payload"]["custom_details"] = json!("a string");
    event["links"] = json!([{ "text": "no href" }]);
    event["images"] = json!("https://example.com/graph.png");
    event["client_url"] = json!(42);
    assert_eq!(
        post(&url, &event).await.json(),
        invalid(&[
            "'payload.timestamp' is invalid (must be an ISO 8601 timestamp)",
            "'payload.custom_details' is invalid (must be an object)",
            "'client_url' is invalid (must be a string)",
            "'links[0].href' is missing or blank",
            "'images' is invalid (must be an array of objects)",
        ])
    );

    let reply = client().get(&url).send().await.unwrap();
    assert_eq!(reply.status().as_u16(), 404);
    let reply = post(
        &url.replace("/v2/enqueue", "/v1/enqueue"),
        &trigger(KEY, None, "x", "info"),
    )
    .await;
    assert_eq!(reply.status, 404);

    assert!(pd.incidents().is_empty(), "nothing invalid was applied");
    assert!(pd.events().is_empty());

    // The limits themselves pass.
    let reply = post(
        &url,
        &trigger(KEY, Some(&"k".repeat(255)), &"s".repeat(1024), "info"),
    )
    .await;
    assert_eq!(reply.status, 202, "{}", reply.text);
    assert_eq!(pd.incidents().len(), 1);
}

#[tokio::test]
async fn pagerduty_people_act_and_subscribers_hear_of_it() {
    let pd = start_pagerduty().await;
    pd.set_on_call("Checkout API", "Alice");
    let sub = Subscriber::start().await;
    pd.subscribe(&sub.url, SECRET);
    post(
        &pd.events_url(),
        &trigger(KEY, Some("inc-7"), "Checkout is down", "critical"),
    )
    .await;
    assert_eq!(pd.incident("inc-7").unwrap().assignee, "Alice");

    assert_eq!(pd.escalate("inc-7", "Bob").await, Ok(vec![200]));
    let incident = pd.incident("inc-7").unwrap();
    assert_eq!(
        (incident.status.as_str(), incident.assignee.as_str()),
        ("triggered", "Bob")
    );

    assert_eq!(pd.acknowledge("inc-7", "Bob").await, Ok(vec![200]));
    let incident = pd.incident("inc-7").unwrap();
    assert_eq!(incident.status, "acknowledged");
    assert_eq!(incident.acknowledged_by.as_deref(), Some("Bob"));

    assert_eq!(pd.reassign("inc-7", "Carol").await, Ok(vec![200]));
    let incident = pd.incident("inc-7").unwrap();
    assert_eq!(
        (incident.status.as_str(), incident.assignee.as_str()),
        ("triggered", "Carol")
    );

    sub.answer_next(500);
    assert_eq!(
        pd.resolve_by("inc-7", "Carol").await,
        Ok(vec![500]),
        "a 500 is an answer"
    );
    let incident = pd.incident("inc-7").unwrap();
    assert_eq!(incident.status, "resolved");
    assert_eq!(incident.resolved_by.as_deref(), Some("Carol"));

    let hits = sub.hits();
    let summary = |hit: &Hit| {
        let body = hit.json();
        let event = &body["event"];
        (
            event["event_type"].as_str().unwrap().to_string(),
            event["agent"]["summary"].as_str().unwrap().to_string(),
            event["agent"]["type"].as_str().unwrap().to_string(),
            event["data"]["status"].as_str().unwrap().to_string(),
            event["data"]["assignees"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["summary"].as_str().unwrap().to_string())
                .collect::<Vec<_>>(),
        )
    };
    let seen: Vec<_> = hits.iter().map(summary).collect();
    let row = |t: &str, agent: &str, kind: &str, status: &str, assignees: &[&str]| {
        (
            t.to_string(),
            agent.to_string(),
            kind.to_string(),
            status.to_string(),
            assignees.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        seen,
        vec![
            row(
                "incident.triggered",
                "Checkout API",
                "service_reference",
                "triggered",
                &["Alice"]
            ),
            row(
                "incident.escalated",
                "Alice",
                "user_reference",
                "triggered",
                &["Bob"]
            ),
            row(
                "incident.acknowledged",
                "Bob",
                "user_reference",
                "acknowledged",
                &["Bob"]
            ),
            row(
                "incident.reassigned",
                "Bob",
                "user_reference",
                "triggered",
                &["Carol"]
            ),
            row(
                "incident.resolved",
                "Carol",
                "user_reference",
                "resolved",
                &[]
            ),
        ]
    );
    for hit in &hits {
        assert_signed(hit, &[SECRET]);
        assert_eq!(hit.json()["event"]["data"]["incident_key"], "inc-7");
    }
    let ids: std::collections::HashSet<String> = hits
        .iter()
        .map(|h| h.json()["event"]["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), hits.len(), "every event has its own id");

    assert_eq!(
        pd.resolve_by("inc-7", "Carol").await,
        Err(PagerDutyError::NotOpen {
            dedup_key: "inc-7".into(),
            status: "resolved".into()
        })
    );
    assert_eq!(
        pd.acknowledge("nope", "Carol").await,
        Err(PagerDutyError::NoIncident {
            dedup_key: "nope".into()
        })
    );
}

#[tokio::test]
async fn pagerduty_signs_with_both_secrets_while_rotating() {
    let pd = start_pagerduty().await;
    let sub = Subscriber::start().await;
    pd.subscribe(&sub.url, SECRET);
    post(&pd.events_url(), &trigger(KEY, Some("k"), "x", "critical")).await;
    // Signatures are computed when a webhook is sent: let the first go out before rotating.
    pd.settle().await;
    pd.rotate_secret(NEW_SECRET);
    pd.acknowledge("k", "Alice").await.unwrap();
    pd.finish_rotation();
    pd.resolve_by("k", "Alice").await.unwrap();

    let hits = sub.hits();
    assert_eq!(hits.len(), 3);
    assert_signed(&hits[0], &[SECRET]);
    assert_signed(&hits[1], &[SECRET, NEW_SECRET]);
    assert!(!hits[1].header("x-pagerduty-signature").contains(' '));
    assert_signed(&hits[2], &[NEW_SECRET]);
    // A forged body does not verify.
    let forged = hits[2].body.iter().rev().copied().collect::<Vec<u8>>();
    assert_ne!(
        pagerduty::sign(NEW_SECRET, &forged),
        hits[2].header("x-pagerduty-signature")
    );
}

#[tokio::test]
async fn pagerduty_redelivers_the_identical_bytes() {
    let pd = start_pagerduty().await;
    let sub = Subscriber::start().await;
    pd.subscribe(&sub.url, SECRET);
    sub.answer_next(503);
    post(&pd.events_url(), &trigger(KEY, Some("k"), "x", "critical")).await;
    pd.settle().await;
    assert_eq!(pd.deliveries()[0].status, Some(503));
    assert!(!pd.deliveries()[0].succeeded());

    assert_eq!(pd.redeliver_last().await, Ok(200));
    let hits = sub.hits();
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].body, hits[1].body, "byte for byte");
    assert_eq!(
        hits[0].header("x-webhook-id"),
        hits[1].header("x-webhook-id")
    );
    assert_eq!(
        hits[0].header("x-pagerduty-signature"),
        hits[1].header("x-pagerduty-signature")
    );
    let deliveries = pd.deliveries();
    assert_eq!(
        deliveries.iter().map(|d| d.attempt).collect::<Vec<_>>(),
        [1, 2]
    );
    assert_eq!(deliveries[0].event_id, deliveries[1].event_id);
    assert_eq!(deliveries[1].status, Some(200));

    let fresh = FakePagerDuty::start().await.unwrap();
    assert_eq!(
        fresh.redeliver_last().await,
        Err(PagerDutyError::NothingDelivered)
    );
}

#[tokio::test]
async fn pagerduty_reports_a_subscriber_it_cannot_reach() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/pagerduty", listener.local_addr().unwrap())
    };
    let pd = start_pagerduty().await;
    // Counted before any retry: the retries are the next test's.
    pd.retry_delays(&[]);
    let sub = Subscriber::start().await;
    pd.subscribe(&sub.url, SECRET);
    pd.subscribe(&closed, SECRET);
    post(&pd.events_url(), &trigger(KEY, Some("k"), "x", "critical")).await;

    match pd.acknowledge("k", "Alice").await {
        Err(PagerDutyError::Delivery { url, error }) => {
            assert_eq!(url, closed);
            assert!(!error.is_empty());
        }
        other => panic!("expected a delivery error, got {other:?}"),
    }
    assert_eq!(
        pd.incident("k").unwrap().status,
        "acknowledged",
        "the action stands"
    );
    assert_eq!(
        sub.hits().len(),
        2,
        "the reachable subscriber got both webhooks"
    );
    let failed: Vec<_> = pd
        .deliveries()
        .into_iter()
        .filter(|d| d.url == closed)
        .collect();
    assert_eq!(failed.len(), 2);
    assert!(
        failed
            .iter()
            .all(|d| d.status.is_none() && d.error.is_some())
    );
}

#[tokio::test]
async fn pagerduty_retries_a_webhook_not_taken_after_later_ones_with_the_same_bytes() {
    let pd = start_pagerduty().await;
    pd.retry_delays(&[Duration::from_millis(300)]);
    let sub = Subscriber::start().await;
    pd.subscribe(&sub.url, SECRET);
    post(&pd.events_url(), &trigger(KEY, Some("k"), "x", "critical")).await;
    pd.settle().await;
    sub.answer_next(503);
    pd.acknowledge("k", "Alice").await.expect("answered");
    pd.resolve_by("k", "Alice").await.expect("answered");
    let deadline = tokio::time::Instant::now() + WAIT;
    while pd.deliveries().len() < 4 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}",
            pd.deliveries()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    let sent: Vec<(String, u32, Option<u16>)> = pd
        .deliveries()
        .iter()
        .map(|d| (d.event_type.clone(), d.attempt, d.status))
        .collect();
    assert_eq!(
        sent,
        [
            ("incident.triggered".to_string(), 1, Some(200)),
            ("incident.acknowledged".to_string(), 1, Some(503)),
            ("incident.resolved".to_string(), 1, Some(200)),
            ("incident.acknowledged".to_string(), 2, Some(200)),
        ],
        "the acknowledgement came again, after the resolution, once"
    );
    let all = pd.deliveries();
    assert_eq!(all[1].body, all[3].body, "the same bytes");
    assert_eq!(all[1].webhook_id, all[3].webhook_id, "the same webhook id");
}

#[tokio::test]
async fn pagerduty_auto_acknowledges_for_the_demo() {
    let pd = start_pagerduty().await;
    let sub = Subscriber::start().await;
    pd.subscribe(&sub.url, SECRET);
    pd.auto_acknowledge(Duration::from_millis(200), "Dana");
    post(&pd.events_url(), &trigger(KEY, Some("k"), "x", "critical")).await;
    assert_eq!(pd.incident("k").unwrap().status, "triggered");

    let deadline = tokio::time::Instant::now() + WAIT;
    while pd.incident("k").unwrap().status != "acknowledged" {
        assert!(tokio::time::Instant::now() < deadline, "never acknowledged");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    pd.settle().await;
    let hits = sub.hits();
    assert_eq!(
        hits.iter().map(Hit::event_type).collect::<Vec<_>>(),
        ["incident.triggered", "incident.acknowledged"]
    );
    assert_eq!(hits[1].json()["event"]["agent"]["summary"], "Dana");
    assert_eq!(
        pd.incident("k").unwrap().acknowledged_by.as_deref(),
        Some("Dana")
    );

    // An incident resolved before its time is left alone.
    post(&pd.events_url(), &trigger(KEY, Some("j"), "y", "critical")).await;
    post(&pd.events_url(), &follow_up(KEY, "resolve", "j")).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(pd.incident("j").unwrap().status, "resolved");
    assert_eq!(pd.incident("j").unwrap().acknowledged_by, None);
}

#[tokio::test]
async fn pagerduty_faults_on_enqueue() {
    let pd = start_pagerduty().await;
    let url = pd.events_url();

    pd.fail(503, 1);
    let reply = post(&url, &trigger(KEY, Some("a"), "x", "critical")).await;
    assert_eq!(reply.status, 503);
    assert_eq!(reply.json()["status"], "Service Unavailable");
    assert!(pd.incident("a").is_none(), "a failure changes nothing");

    pd.fail(400, 1);
    let reply = post(&url, &trigger(KEY, Some("a"), "x", "critical")).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["status"], "invalid event");
    assert!(pd.incident("a").is_none());

    pd.rate_limit(2);
    for _ in 0..2 {
        let reply = post(&url, &trigger(KEY, Some("a"), "x", "critical")).await;
        assert_eq!(reply.status, 429);
        assert!(reply.text.is_empty());
    }
    assert!(pd.incident("a").is_none());
    assert_eq!(
        post(&url, &trigger(KEY, Some("a"), "x", "critical"))
            .await
            .status,
        202
    );
    assert!(pd.incident("a").is_some());

    pd.fail_after_applying(1);
    let reply = post(&url, &trigger(KEY, Some("b"), "x", "critical")).await;
    assert_eq!(reply.status, 500);
    assert!(reply.text.is_empty());
    assert!(
        pd.incident("b").is_some(),
        "applied though the answer was lost"
    );

    pd.drop_after_applying(1);
    let sent = client()
        .post(&url)
        .json(&trigger(KEY, Some("c"), "x", "critical"))
        .send()
        .await;
    // The connection closes before a byte of answer: an error, and not a timeout.
    assert!(
        sent.as_ref().is_err_and(|e| !e.is_timeout()),
        "no answer at all: {sent:?}"
    );
    assert!(
        pd.incident("c").is_some(),
        "applied though the connection closed"
    );

    pd.answer_late(Duration::from_secs(2), 1);
    let sent = client()
        .post(&url)
        .timeout(Duration::from_millis(300))
        .json(&trigger(KEY, Some("d"), "x", "critical"))
        .send()
        .await;
    assert!(sent.as_ref().is_err_and(|e| e.is_timeout()), "{sent:?}");
    assert!(pd.incident("d").is_some(), "applied before the late answer");

    pd.fail(502, 5);
    pd.clear_faults();
    assert_eq!(
        post(&url, &trigger(KEY, Some("e"), "x", "critical"))
            .await
            .status,
        202
    );

    let statuses: Vec<Option<u16>> = pd.requests().iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [
            Some(503),
            Some(400),
            Some(429),
            Some(429),
            Some(202),
            Some(500),
            None,
            Some(202),
            Some(202)
        ]
    );
}

// --- Statuspage ---

const API_KEY: &str = "89a229ce1a8dbcf9ff30430fbe35eb4c0426574bca932061892cefd2138aa4b1";
const PAGE: &str = "gytm4qzbx9t6";

struct Statuspage {
    fake: FakeStatuspage,
    api: String,
    db: String,
}

impl Statuspage {
    async fn start() -> Statuspage {
        let fake = FakeStatuspage::start(API_KEY, PAGE)
            .await
            .expect("fake Statuspage starts");
        let api = fake.add_component("API");
        let db = fake.add_component("Database");
        Statuspage { fake, api, db }
    }

    fn url(&self, rest: &str) -> String {
        format!("{}/pages/{PAGE}/{rest}", self.fake.api_url())
    }

    async fn send(&self, method: reqwest::Method, rest: &str, body: Option<&Value>) -> Reply {
        let mut request = client()
            .request(method, self.url(rest))
            .header("authorization", format!("OAuth {API_KEY}"));
        if let Some(body) = body {
            request = request.json(body);
        }
        read(request.send().await.expect("request answered")).await
    }

    async fn get(&self, rest: &str) -> Reply {
        self.send(reqwest::Method::GET, rest, None).await
    }

    async fn post(&self, body: &Value) -> Reply {
        self.send(reqwest::Method::POST, "incidents", Some(body))
            .await
    }

    async fn patch(&self, id: &str, body: &Value) -> Reply {
        self.send(
            reqwest::Method::PATCH,
            &format!("incidents/{id}"),
            Some(body),
        )
        .await
    }
}

#[tokio::test]
async fn statuspage_requires_the_api_key_and_the_page() {
    let sp = Statuspage::start().await;
    let url = sp.url("components");
    let unauthorized = json!({ "message": "Could not authenticate" });

    let reply = read(client().get(&url).send().await.unwrap()).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.json(), unauthorized);
    for value in [
        format!("Bearer {API_KEY}"),
        "OAuth wrong".to_string(),
        API_KEY.to_string(),
    ] {
        let reply = read(
            client()
                .get(&url)
                .header("authorization", value)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(reply.status, 401);
        assert_eq!(reply.json(), unauthorized);
    }
    let reply = read(
        client()
            .get(format!("{url}?api_key={API_KEY}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        reply.status, 200,
        "the documented query parameter works too"
    );

    let reply = sp.get("components").await;
    assert_eq!(reply.status, 200);
    let components = reply.json();
    assert_eq!(components.as_array().unwrap().len(), 2);
    assert_eq!(components[0]["id"], sp.api.as_str());
    assert_eq!(components[0]["name"], "API");
    assert_eq!(components[0]["status"], "operational");
    assert_eq!(components[0]["page_id"], PAGE);
    assert_eq!(components[1]["name"], "Database");
    assert_eq!(sp.get("components.json").await.json(), components);

    let other_page = url.replace(PAGE, "otherpage123");
    let reply = read(
        client()
            .get(other_page)
            .header("authorization", format!("OAuth {API_KEY}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, 404);
    assert_eq!(
        reply.json()["message"],
        "The requested resource could not be found."
    );
    assert_eq!(sp.get("incidents/nosuchincid").await.status, 404);
    let reply = sp
        .patch(
            "nosuchincid",
            &json!({ "incident": { "status": "resolved" } }),
        )
        .await;
    assert_eq!(reply.status, 404);
    assert_eq!(sp.fake.requests().len(), 10);
    assert_eq!(sp.fake.requests()[0].status, Some(401));
}

#[tokio::test]
async fn statuspage_publishes_updates_and_resolves_an_incident() {
    let sp = Statuspage::start().await;
    let metadata = json!({ "incident_commander": { "incident_id": "INC-7", "channel": "C0INC7" } });
    let reply = sp
        .post(&json!({ "incident": {
            "name": "Checkout is down",
            "status": "investigating",
            "body": "We are looking into failed checkouts.",
            "component_ids": [sp.api],
            "components": { sp.api.clone(): "major_outage" },
            "metadata": metadata,
            "deliver_notifications": true,
        }}))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let incident = reply.json();
    let id = incident["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 12);
    assert_eq!(incident["name"], "Checkout is down");
    assert_eq!(incident["status"], "investigating");
    assert_eq!(incident["impact"], "critical");
    assert_eq!(incident["page_id"], PAGE);
    assert!(
        incident["shortlink"]
            .as_str()
            .unwrap()
            .starts_with("https://stspg.io/")
    );
    assert_eq!(incident["metadata"], metadata);
    assert_eq!(incident["resolved_at"], Value::Null);
    assert_eq!(incident["monitoring_at"], Value::Null);
    assert!(incident["created_at"].is_string());
    assert_eq!(incident["started_at"], incident["created_at"]);
    assert_eq!(incident["components"][0]["id"], sp.api.as_str());
    assert_eq!(incident["components"][0]["status"], "major_outage");
    let updates = incident["incident_updates"].as_array().unwrap();
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0]["status"], "investigating");
    assert_eq!(updates[0]["body"], "We are looking into failed checkouts.");
    assert_eq!(updates[0]["incident_id"], id.as_str());
    assert_eq!(
        updates[0]["affected_components"],
        json!([{ "code": sp.api, "name": "API", "old_status": "operational", "new_status": "major_outage" }])
    );
    assert_eq!(sp.fake.component(&sp.api).unwrap().status, "major_outage");
    assert_eq!(sp.fake.component(&sp.db).unwrap().status, "operational");

    let unresolved = sp.get("incidents/unresolved").await.json();
    assert_eq!(unresolved.as_array().unwrap().len(), 1);
    assert_eq!(
        unresolved[0]["metadata"], metadata,
        "a lost answer can be found again"
    );

    let reply = sp
        .patch(
            &id,
            &json!({ "incident": { "status": "identified", "body": "A bad deploy." } }),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let incident = reply.json();
    let updates = incident["incident_updates"].as_array().unwrap();
    assert_eq!(updates.len(), 2);
    assert_eq!(updates[0]["status"], "identified", "newest first");
    assert_eq!(updates[0]["body"], "A bad deploy.");
    assert_eq!(updates[0]["affected_components"], Value::Null);
    assert_eq!(updates[1]["status"], "investigating");

    let reply = sp
        .patch(
            &id,
            &json!({ "incident": {
                "status": "monitoring",
                "body": "Rolled back.",
                "components": { sp.api.clone(): "degraded_performance" },
            }}),
        )
        .await;
    let incident = reply.json();
    assert!(incident["monitoring_at"].is_string());
    assert_eq!(incident["impact"], "critical", "the worst it has been");
    assert_eq!(
        sp.fake.component(&sp.api).unwrap().status,
        "degraded_performance"
    );

    let reply = sp
        .patch(
            &id,
            &json!({ "incident": {
                "status": "resolved",
                "body": "Fixed.",
                "components": { sp.api.clone(): "operational" },
            }}),
        )
        .await;
    let incident = reply.json();
    assert_eq!(incident["status"], "resolved");
    assert!(incident["resolved_at"].is_string());
    assert_eq!(incident["incident_updates"].as_array().unwrap().len(), 4);
    assert_eq!(
        incident["incident_updates"][0]["affected_components"][0]["old_status"],
        "degraded_performance"
    );
    assert_eq!(sp.fake.component(&sp.api).unwrap().status, "operational");
    assert_eq!(sp.get("incidents/unresolved").await.json(), json!([]));
    assert_eq!(sp.get(&format!("incidents/{id}")).await.json(), incident);
    assert_eq!(sp.get("incidents").await.json()[0], incident);

    // A name-only change adds no update; resolving without components heals nothing.
    let second = sp
        .post(&json!({ "incident": {
            "name": "Database slow",
            "components": { sp.db.clone(): "partial_outage" },
        }}))
        .await
        .json();
    let second_id = second["id"].as_str().unwrap().to_string();
    assert_eq!(second["status"], "investigating", "the default status");
    assert_eq!(second["impact"], "major");
    let renamed = sp
        .patch(
            &second_id,
            &json!({ "incident": { "name": "Database is slow" } }),
        )
        .await
        .json();
    assert_eq!(renamed["name"], "Database is slow");
    assert_eq!(renamed["incident_updates"].as_array().unwrap().len(), 1);
    sp.patch(&second_id, &json!({ "incident": { "status": "resolved" } }))
        .await;
    assert_eq!(sp.fake.component(&sp.db).unwrap().status, "partial_outage");

    let incidents = sp.fake.incidents();
    assert_eq!(incidents.len(), 2);
    assert_eq!(incidents[0].updates.len(), 4);
    assert_eq!(
        incidents[0].updates[0].status, "investigating",
        "oldest first here"
    );
    assert_eq!(incidents[0].metadata, metadata);
    assert!(incidents[0].resolved_at.is_some());
    assert_eq!(incidents[0].component_ids, vec![sp.api.clone()]);
}

#[tokio::test]
async fn statuspage_rejects_what_statuspage_rejects() {
    let sp = Statuspage::start().await;
    let incident = |fields: Value| json!({ "incident": fields });

    for body in [json!({}), json!({ "name": "x" }), json!({ "incident": {} })] {
        let reply = sp.post(&body).await;
        assert_eq!(reply.status, 400, "{body}");
        assert_eq!(
            reply.json(),
            json!({ "message": "param is missing or the value is empty: incident" })
        );
    }
    let reply = read(
        client()
            .post(sp.url("incidents"))
            .header("authorization", format!("OAuth {API_KEY}"))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, 400);
    let reply = read(
        client()
            .post(sp.url("incidents"))
            .header("authorization", format!("OAuth {API_KEY}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("incident[name]=test")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, 400, "JSON only");

    let component_status = format!(
        "Component {} status is not included in the list (operational, under_maintenance, \
         degraded_performance, partial_outage, major_outage)",
        sp.api
    );
    let cases: Vec<(Value, &str)> = vec![
        (json!({ "status": "investigating" }), "Name can't be blank"),
        (json!({ "name": "  " }), "Name can't be blank"),
        (
            json!({ "name": "n".repeat(256) }),
            "Name is too long (maximum is 255 characters)",
        ),
        (
            json!({ "name": "x", "status": "broken" }),
            "Status is not included in the list (investigating, identified, monitoring, resolved)",
        ),
        (
            json!({ "name": "x", "status": "scheduled" }),
            "Status scheduled is for scheduled maintenances, which this fake does not serve",
        ),
        (
            json!({ "name": "x", "body": "b".repeat(25_001) }),
            "Body is too long (maximum is 25000 characters)",
        ),
        (
            json!({ "name": "x", "components": { sp.api.clone(): "down" } }),
            &component_status,
        ),
        (
            json!({ "name": "x", "component_ids": ["nosuchcompnt"] }),
            "Component nosuchcompnt is not a component of this page",
        ),
        (
            json!({ "name": "x", "components": { "nosuchcompnt": "major_outage" } }),
            "Component nosuchcompnt is not a component of this page",
        ),
        (
            json!({ "name": "x", "metadata": { "key": "value" } }),
            "Metadata top-level values must be objects",
        ),
        (
            json!({ "name": "x", "deliver_notifications": "yes" }),
            "Deliver notifications must be true or false",
        ),
        (
            json!({ "name": "x", "impact_override": "huge" }),
            "Impact override is not included in the list (none, maintenance, minor, major, critical)",
        ),
    ];
    for (fields, message) in &cases {
        let reply = sp.post(&incident(fields.clone())).await;
        assert_eq!(reply.status, 422, "{fields}");
        assert_eq!(reply.json(), json!({ "message": message }), "{fields}");
    }
    assert!(
        sp.fake.incidents().is_empty(),
        "nothing invalid was created"
    );
    assert!(
        sp.fake
            .components()
            .iter()
            .all(|c| c.status == "operational")
    );

    let created = sp.post(&incident(json!({ "name": "x" }))).await;
    assert_eq!(created.status, 201);
    let id = created.json()["id"].as_str().unwrap().to_string();
    let reply = sp
        .patch(&id, &incident(json!({ "status": "in_progress" })))
        .await;
    assert_eq!(reply.status, 422);
    let reply = sp.patch(&id, &incident(json!({ "name": "" }))).await;
    assert_eq!(reply.json(), json!({ "message": "Name can't be blank" }));
    assert_eq!(sp.fake.incident(&id).unwrap().status, "investigating");
}

#[tokio::test]
async fn statuspage_faults() {
    let sp = Statuspage::start().await;
    let create = |name: &str| json!({ "incident": { "name": name, "metadata": { "bot": { "key": name } } } });

    sp.fake.fail(503, 1);
    let reply = sp.post(&create("a")).await;
    assert_eq!(reply.status, 503);
    assert!(sp.fake.incidents().is_empty(), "a failure changes nothing");

    sp.fake.rate_limit(1);
    let reply = sp.get("incidents/unresolved").await;
    assert_eq!(reply.status, 420);
    assert_eq!(reply.retry_after.as_deref(), Some("1"));

    sp.fake.fail_after_applying(1);
    let reply = sp.post(&create("b")).await;
    assert_eq!(reply.status, 500);
    assert!(reply.text.is_empty());
    let unresolved = sp.get("incidents/unresolved").await.json();
    assert_eq!(
        unresolved.as_array().unwrap().len(),
        1,
        "applied though the answer was lost"
    );
    assert_eq!(unresolved[0]["metadata"]["bot"]["key"], "b");

    sp.fake.drop_after_applying(1);
    let sent = client()
        .post(sp.url("incidents"))
        .header("authorization", format!("OAuth {API_KEY}"))
        .json(&create("c"))
        .send()
        .await;
    // The connection closes before a byte of answer: an error, and not a timeout.
    assert!(
        sent.as_ref().is_err_and(|e| !e.is_timeout()),
        "no answer at all: {sent:?}"
    );
    assert_eq!(sp.fake.incidents().len(), 2);

    sp.fake.answer_late(Duration::from_secs(2), 1);
    let sent = client()
        .post(sp.url("incidents"))
        .timeout(Duration::from_millis(300))
        .header("authorization", format!("OAuth {API_KEY}"))
        .json(&create("d"))
        .send()
        .await;
    assert!(sent.as_ref().is_err_and(|e| e.is_timeout()), "{sent:?}");
    assert_eq!(
        sp.fake.incidents().len(),
        3,
        "applied before the late answer"
    );

    sp.fake.fail(500, 3);
    sp.fake.clear_faults();
    assert_eq!(sp.post(&create("e")).await.status, 201);

    let requests = sp.fake.requests();
    let statuses: Vec<Option<u16>> = requests.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [
            Some(503),
            Some(420),
            Some(500),
            Some(200),
            None,
            Some(201),
            Some(201)
        ]
    );
    assert_eq!(
        requests[0].header("authorization"),
        Some(&*format!("OAuth {API_KEY}"))
    );
    assert_eq!(requests[0].body["incident"]["name"], "a");
}
