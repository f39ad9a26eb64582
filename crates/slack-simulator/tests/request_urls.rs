//! Slack's HTTP transport: after `use_request_urls` the simulator POSTs every envelope, signed,
//! to the bot's request URLs, and the answer is the ack. The bot here is a small axum app that
//! checks each signature itself (its own HMAC, not the simulator's) and answers as a test
//! scripts it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use slack_simulator::{
    DeliveryOutcome, SimEvent, SimulatorConfig, SlackSimulator, SocketTiming, slack_signature,
};

const ALICE: &str = "U0ALICE";
const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const WAIT: Duration = Duration::from_secs(10);

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

/// One request as the bot received it.
#[derive(Clone, Debug)]
struct Received {
    path: String,
    headers: HashMap<String, String>,
    body: String,
    /// The signature matched the bot's own HMAC of the raw body.
    signed: bool,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    fn form(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.body.as_bytes())
            .into_owned()
            .collect()
    }

    fn retry(&self) -> Option<(String, String)> {
        Some((
            self.header("x-slack-retry-num")?.to_string(),
            self.header("x-slack-retry-reason")?.to_string(),
        ))
    }
}

/// How the bot answers one request.
struct Answer {
    status: u16,
    headers: Vec<(&'static str, &'static str)>,
    body: String,
    /// How long it takes to answer.
    delay: Duration,
}

impl Answer {
    fn ok(body: &str) -> Answer {
        Answer {
            status: 200,
            headers: Vec::new(),
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }

    fn status(status: u16) -> Answer {
        Answer {
            status,
            ..Answer::ok("")
        }
    }

    fn after(mut self, delay: Duration) -> Answer {
        self.delay = delay;
        self
    }
}

type Script = Arc<dyn Fn(&Received) -> Answer + Send + Sync>;

#[derive(Clone)]
struct BotState {
    received: Arc<Mutex<Vec<Received>>>,
    script: Script,
}

/// The bot: records every request, refuses a bad signature with 401, otherwise answers as
/// scripted.
struct Bot {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Bot {
    async fn start(script: impl Fn(&Received) -> Answer + Send + Sync + 'static) -> Bot {
        let received = Arc::new(Mutex::new(Vec::new()));
        let state = BotState {
            received: received.clone(),
            script: Arc::new(script),
        };
        let app = Router::new().fallback(handle).with_state(state);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind");
        let url = format!(
            "http://127.0.0.1:{}",
            listener.local_addr().expect("addr").port()
        );
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("bot serves");
        });
        Bot { url, received }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }

    /// Waits until at least `count` requests arrived; returns them all.
    async fn wait_for(&self, count: usize) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {} of {count} requests arrived: {received:#?}",
                received.len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// A plain HTTP client for what the test sends itself.
fn client() -> reqwest::Client {
    slack_simulator::install_tls_provider();
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
}

fn hmac_hex(secret: &str, message: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

async fn handle(
    State(bot): State<BotState>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    let headers: HashMap<String, String> = headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                v.to_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let timestamp = headers
        .get("x-slack-request-timestamp")
        .cloned()
        .unwrap_or_default();
    let expected = format!("v0={}", hmac_hex(SECRET, &format!("v0:{timestamp}:{body}")));
    let signed = headers.get("x-slack-signature") == Some(&expected);
    let request = Received {
        path: uri.path().to_string(),
        headers,
        body,
        signed,
    };
    bot.received.lock().expect("lock").push(request.clone());
    if !signed {
        return (StatusCode::UNAUTHORIZED, "bad signature").into_response();
    }
    let answer = (bot.script)(&request);
    tokio::time::sleep(answer.delay).await;
    // A bot answering JSON says so, unless the script is testing one that does not.
    let json =
        answer.body.starts_with('{') && !answer.headers.iter().any(|(n, _)| *n == "content-type");
    let mut response = (
        StatusCode::from_u16(answer.status).expect("status"),
        answer.body,
    )
        .into_response();
    if json {
        response.headers_mut().insert(
            "content-type",
            axum::http::HeaderValue::from_static("application/json"),
        );
    }
    for (name, value) in answer.headers {
        response
            .headers_mut()
            .insert(name, value.parse().expect("header value"));
    }
    response
}

async fn start(timing: SocketTiming) -> SlackSimulator {
    let sim = SlackSimulator::start(SimulatorConfig {
        timing,
        ..SimulatorConfig::default()
    })
    .await
    .expect("simulator starts");
    sim.add_user(ALICE, "alice");
    sim
}

/// A short deadline and quick retries, so failures show within a second.
fn quick() -> SocketTiming {
    SocketTiming {
        ack_deadline: Duration::from_millis(400),
        redeliveries: vec![
            Duration::ZERO,
            Duration::from_millis(50),
            Duration::from_millis(100),
        ],
        ..SocketTiming::default()
    }
}

fn events_sent(sim: &SlackSimulator) -> Vec<slack_simulator::Envelope> {
    sim.envelopes()
        .into_iter()
        .filter(|e| e.envelope_type == "events_api")
        .collect()
}

/// The outcomes of `envelope_id`'s deliveries, once they are all settled (none waiting).
async fn settled(sim: &SlackSimulator, envelope_id: &str, count: usize) -> Vec<DeliveryOutcome> {
    assert!(
        sim.wait_until(WAIT, |s| {
            let deliveries = s.deliveries(envelope_id);
            deliveries.len() >= count
                && deliveries
                    .iter()
                    .all(|d| d.outcome != DeliveryOutcome::Waiting)
        })
        .await,
        "{count} settled deliveries of {envelope_id}: {:?}",
        sim.deliveries(envelope_id)
    );
    sim.deliveries(envelope_id)
        .iter()
        .map(|d| d.outcome)
        .collect()
}

#[tokio::test]
async fn json_without_its_content_type_is_shown_as_text_as_slack_shows_it() {
    let sim = start(SocketTiming::default()).await;
    let general = sim.add_channel("general", false, true);
    let raw = r#"{"response_type":"ephemeral","text":"Hello"}"#;
    let bot = Bot::start(move |_| Answer {
        headers: vec![("content-type", "text/plain")],
        ..Answer::ok(raw)
    })
    .await;
    sim.use_request_urls(std::slice::from_ref(&bot.url), SECRET);
    let command = sim.slash_command(ALICE, &general, "help");
    let ack = sim.ack(&command.envelope_id, WAIT).await.expect("acked");
    assert_eq!(ack.payload, Some(json!({ "text": raw })));
}

#[tokio::test]
async fn a_slash_command_arrives_signed_as_a_form_and_its_answer_is_the_ack() {
    let sim = start(SocketTiming::default()).await;
    let general = sim.add_channel("general", false, true);
    let bot =
        Bot::start(|_| Answer::ok(r#"{"response_type":"ephemeral","text":"Hello, alice"}"#)).await;
    // A held clock: what the simulator signs can be compared with what it would sign.
    let now = chrono::Utc::now();
    sim.use_clock(move || now);
    sim.use_request_urls(std::slice::from_ref(&bot.url), SECRET);

    let command = sim.slash_command(ALICE, &general, "help me");
    let ack = sim.ack(&command.envelope_id, WAIT).await.expect("acked");
    assert_eq!(
        ack.payload,
        Some(json!({ "response_type": "ephemeral", "text": "Hello, alice" }))
    );
    let received = bot.wait_for(1).await;
    let request = &received[0];
    assert!(request.signed, "{request:?}");
    assert_eq!(request.path, "/slack/commands");
    assert_eq!(request.header("content-type"), Some(FORM));
    assert_eq!(
        request.header("user-agent"),
        Some("Slackbot 1.0 (+https://api.slack.com/robots)")
    );
    assert_eq!(
        request.header("x-slack-request-timestamp"),
        Some(now.timestamp().to_string().as_str())
    );
    assert_eq!(request.retry(), None);
    let form = request.form();
    let names: Vec<&str> = form.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "token",
            "team_id",
            "team_domain",
            "channel_id",
            "channel_name",
            "user_id",
            "user_name",
            "command",
            "text",
            "api_app_id",
            "is_enterprise_install",
            "response_url",
            "trigger_id"
        ]
    );
    for (name, value) in &form {
        assert_eq!(
            command.payload[name].as_str(),
            Some(value.as_str()),
            "field {name}"
        );
    }
    assert_eq!(form[7].1, "/inc");
    assert_eq!(form[8].1, "help me");

    // The answer is the command's ack: Slack shows its message to alice.
    let seen: Vec<(String, String, String)> = sim
        .ephemerals()
        .into_iter()
        .map(|e| (e.user, e.text, e.via))
        .collect();
    assert_eq!(
        seen,
        [(
            ALICE.to_string(),
            "Hello, alice".to_string(),
            "ack".to_string()
        )]
    );
    let deliveries = sim.deliveries(&command.envelope_id);
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].outcome, DeliveryOutcome::Acked);
    assert_eq!(deliveries[0].connection, 1, "the first URL's index + 1");
    assert_eq!(sim.http_statuses(&command.envelope_id), [200]);

    // What the simulator would send is what it sent.
    let signed = sim.signed_request(&command);
    assert_eq!(signed.path, request.path);
    assert_eq!(signed.content_type, FORM);
    assert_eq!(signed.body, request.body);
    assert_eq!(signed.timestamp, now.timestamp());
    assert_eq!(
        Some(signed.signature.as_str()),
        request.header("x-slack-signature")
    );
    assert_eq!(
        signed.signature,
        slack_signature(SECRET, signed.timestamp, &signed.body)
    );
    assert_eq!(
        signed.signature,
        format!(
            "v0={}",
            hmac_hex(SECRET, &format!("v0:{}:{}", signed.timestamp, signed.body))
        )
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_command_built_but_not_sent_is_registered_and_the_bot_refuses_a_bad_signature() {
    let sim = start(SocketTiming::default()).await;
    let general = sim.add_channel("general", false, true);
    let bot = Bot::start(|_| Answer::ok("")).await;
    sim.use_request_urls(std::slice::from_ref(&bot.url), SECRET);

    let command = sim.build_slash_command(ALICE, &general, "status");
    assert!(sim.envelopes().is_empty(), "built, not sent");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(bot.received().is_empty());

    // The test sends it itself with a wrong signature: the bot refuses it.
    let signed = sim.signed_request(&command);
    let client = client();
    let mut request = client.post(format!("{}{}", bot.url, signed.path));
    for (name, value) in signed.headers() {
        let value = if name == "X-Slack-Signature" {
            slack_signature("not-the-secret", signed.timestamp, &signed.body)
        } else {
            value
        };
        request = request.header(name, value);
    }
    let answer = request
        .body(signed.body.clone())
        .send()
        .await
        .expect("sent");
    assert_eq!(answer.status().as_u16(), 401);
    assert!(!bot.received()[0].signed);

    // Its response URL works, as if Slack had sent it.
    let response_url = command.payload["response_url"].as_str().expect("url");
    let posted = client
        .post(response_url)
        .json(&json!({ "text": "Checked" }))
        .send()
        .await
        .expect("posted");
    assert_eq!(posted.status().as_u16(), 200);
    assert!(
        sim.ephemerals()
            .iter()
            .any(|e| e.text == "Checked" && e.user == ALICE)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn an_interaction_arrives_as_a_payload_field_and_its_response_action_applies() {
    let sim = start(SocketTiming::default()).await;
    let general = sim.add_channel("general", false, true);
    let bot = Bot::start(|request| {
        if request.path == "/slack/interactivity" {
            Answer::ok(r#"{"response_action":"errors","errors":{"title":"Too short"}}"#)
        } else {
            Answer::ok("")
        }
    })
    .await;
    sim.use_request_urls(std::slice::from_ref(&bot.url), SECRET);

    // A modal, opened with the trigger of a command the test built.
    let command = sim.build_slash_command(ALICE, &general, "new");
    let opened: Value = client()
        .post(format!("{}/views.open", sim.api_url()))
        .bearer_auth(SimulatorConfig::default().bot_token)
        .json(&json!({
            "trigger_id": command.payload["trigger_id"],
            "view": {
                "type": "modal",
                "callback_id": "declare_modal",
                "title": { "type": "plain_text", "text": "Declare incident" },
                "submit": { "type": "plain_text", "text": "Declare" },
                "blocks": [{
                    "type": "input", "block_id": "title",
                    "label": { "type": "plain_text", "text": "Title" },
                    "element": { "type": "plain_text_input", "action_id": "value", "initial_value": "DB" }
                }]
            }
        }))
        .send()
        .await
        .expect("views.open")
        .json()
        .await
        .expect("JSON");
    assert_eq!(opened["ok"], true, "{opened}");
    let view_id = opened["view"]["id"].as_str().expect("id").to_string();

    let submission = sim.submit_view(ALICE, &view_id, &[]);
    let ack = sim.ack(&submission.envelope_id, WAIT).await.expect("acked");
    assert_eq!(ack.payload.expect("payload")["response_action"], "errors");
    let view = sim.view(&view_id).expect("view");
    assert!(view.open);
    assert_eq!(view.errors, Some(json!({ "title": "Too short" })));

    let request = &bot.wait_for(1).await[0];
    assert!(request.signed);
    assert_eq!(request.path, "/slack/interactivity");
    assert_eq!(request.header("content-type"), Some(FORM));
    let form = request.form();
    assert_eq!(form.len(), 1, "{form:?}");
    assert_eq!(form[0].0, "payload");
    let payload: Value = serde_json::from_str(&form[0].1).expect("payload JSON");
    assert_eq!(payload, submission.payload);
    assert_eq!(payload["type"], "view_submission");
    assert_eq!(sim.signed_request(&submission).body, request.body);
    sim.shutdown().await;
}

#[tokio::test]
async fn an_event_arrives_as_json_and_queued_events_go_once_urls_are_set() {
    let sim = start(SocketTiming::default()).await;
    let general = sim.add_channel("general", false, true);
    let bot = Bot::start(|_| Answer::ok("")).await;

    // No Socket Mode connection: Slack keeps the event until it can send it.
    sim.post_as(ALICE, &general, "the first");
    assert!(events_sent(&sim).is_empty());
    sim.use_request_urls(std::slice::from_ref(&bot.url), SECRET);
    sim.post_as(ALICE, &general, "the second");

    let received = bot.wait_for(2).await;
    let events = events_sent(&sim);
    assert_eq!(events.len(), 2);
    for (request, envelope) in received.iter().zip(&events) {
        assert!(request.signed);
        assert_eq!(request.path, "/slack/events");
        assert_eq!(request.header("content-type"), Some(JSON));
        assert_eq!(request.retry(), None);
        let body: Value = serde_json::from_str(&request.body).expect("JSON");
        assert_eq!(body, envelope.payload);
        assert_eq!(body["type"], "event_callback");
        let ack = sim.ack(&envelope.envelope_id, WAIT).await.expect("acked");
        assert_eq!(ack.payload, None, "an empty 200 is a bare ack");
        assert_eq!(sim.signed_request(envelope).body, request.body);
    }
    assert_eq!(events[0].payload["event"]["text"], "the first");
    assert_eq!(events[1].payload["event"]["text"], "the second");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_failed_event_comes_again_with_the_reason_and_no_retry_stops_it() {
    let sim = start(quick()).await;
    let general = sim.add_channel("general", false, true);
    let bot = Bot::start(|request| {
        let body: Value = serde_json::from_str(&request.body).unwrap_or_default();
        let text = body["event"]["text"].as_str().unwrap_or_default();
        match (text, request.retry()) {
            ("retry me", None) => Answer::status(500),
            ("drop me", _) => Answer {
                headers: vec![("x-slack-no-retry", "1")],
                ..Answer::status(503)
            },
            _ => Answer::ok(""),
        }
    })
    .await;
    sim.use_request_urls(std::slice::from_ref(&bot.url), SECRET);

    sim.post_as(ALICE, &general, "retry me");
    let retried = events_sent(&sim)[0].clone();
    assert_eq!(
        settled(&sim, &retried.envelope_id, 2).await,
        [DeliveryOutcome::Missed, DeliveryOutcome::Acked]
    );
    let received = bot.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].retry(), None);
    assert_eq!(
        received[1].retry(),
        Some(("1".to_string(), "http_error".to_string()))
    );
    assert_eq!(received[0].body, received[1].body, "the same event");
    assert_eq!(sim.http_statuses(&retried.envelope_id), [500, 200]);
    assert!(sim.ack(&retried.envelope_id, WAIT).await.is_some());

    sim.post_as(ALICE, &general, "drop me");
    let dropped = events_sent(&sim)[1].clone();
    assert_eq!(
        settled(&sim, &dropped.envelope_id, 1).await,
        [DeliveryOutcome::Missed]
    );
    // Well past every redelivery: nothing came again.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(sim.deliveries(&dropped.envelope_id).len(), 1);
    assert_eq!(bot.received().len(), 3);
    assert_eq!(sim.http_statuses(&dropped.envelope_id), [503]);
    assert!(
        sim.ack(&dropped.envelope_id, Duration::ZERO)
            .await
            .is_none()
    );

    let transcript = sim.transcript();
    assert!(
        transcript.contains("answered HTTP 500: Slack will send the event again"),
        "{transcript}"
    );
    assert!(
        transcript.contains("answered HTTP 503, with X-Slack-No-Retry: Slack drops the event"),
        "{transcript}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_failed_slash_command_shows_slack_s_error_and_an_unreachable_url_is_connection_failed() {
    let sim = start(quick()).await;
    let general = sim.add_channel("general", false, true);
    let bot = Bot::start(|request| {
        if request.path == "/slack/commands" {
            Answer::status(500)
        } else {
            Answer::ok("")
        }
    })
    .await;
    // A port nobody listens on any more.
    let dead = {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("bind");
        format!(
            "http://127.0.0.1:{}",
            listener.local_addr().expect("addr").port()
        )
    };
    sim.use_request_urls(&[bot.url.clone(), dead.clone()], SECRET);

    // To the bot (URL 1): it answers 500, alice sees Slack's error, nothing is retried.
    let command = sim.slash_command(ALICE, &general, "help");
    assert_eq!(
        settled(&sim, &command.envelope_id, 1).await,
        [DeliveryOutcome::Missed]
    );
    assert_eq!(sim.http_statuses(&command.envelope_id), [500]);
    let seen: Vec<(String, String)> = sim
        .ephemerals()
        .into_iter()
        .map(|e| (e.text, e.via))
        .collect();
    assert_eq!(
        seen,
        [(
            "/inc failed with the error \"http_service_error\"".to_string(),
            "http_service_error".to_string()
        )]
    );

    // An event to the dead URL (URL 2), then again to the bot, saying why.
    sim.post_as(ALICE, &general, "hello");
    let event = events_sent(&sim)[0].clone();
    assert_eq!(
        settled(&sim, &event.envelope_id, 2).await,
        [DeliveryOutcome::Missed, DeliveryOutcome::Acked]
    );
    let connections: Vec<u64> = sim
        .deliveries(&event.envelope_id)
        .iter()
        .map(|d| d.connection)
        .collect();
    assert_eq!(connections, [2, 1]);
    let received = bot.received();
    assert_eq!(received.len(), 2);
    assert_eq!(
        received[1].retry(),
        Some(("1".to_string(), "connection_failed".to_string()))
    );
    assert_eq!(sim.http_statuses(&event.envelope_id), [200]);
    assert!(sim.events().iter().any(|e| matches!(
        e,
        SimEvent::RequestFailed { envelope_id, reason, url, .. }
            if *envelope_id == event.envelope_id && reason == "connection_failed"
                && url.starts_with(&dead)
    )));

    // A command to the dead URL: alice sees dispatch_failed.
    sim.use_request_urls(std::slice::from_ref(&dead), SECRET);
    let unreachable = sim.slash_command(ALICE, &general, "help");
    settled(&sim, &unreachable.envelope_id, 1).await;
    assert!(sim.ephemerals().iter().any(|e| e.text
        == "/inc failed with the error \"dispatch_failed\""
        && e.via == "dispatch_failed"));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_slow_answer_times_out_retries_with_http_timeout_and_counts_late() {
    let sim = start(quick()).await;
    let general = sim.add_channel("general", false, true);
    let slow = Duration::from_millis(800);
    let bot = Bot::start(
        move |request| match (request.path.as_str(), request.retry()) {
            ("/slack/commands", _) => Answer::ok(r#"{"text":"Too late"}"#).after(slow),
            ("/slack/events", None) => Answer::ok("").after(slow),
            _ => Answer::ok(""),
        },
    )
    .await;
    sim.use_request_urls(std::slice::from_ref(&bot.url), SECRET);

    sim.post_as(ALICE, &general, "hello");
    let event = events_sent(&sim)[0].clone();
    assert_eq!(
        settled(&sim, &event.envelope_id, 2).await,
        [DeliveryOutcome::Missed, DeliveryOutcome::Acked]
    );
    let received = bot.wait_for(2).await;
    assert_eq!(
        received[1].retry(),
        Some(("1".to_string(), "http_timeout".to_string()))
    );
    // The slow answer to the first request comes after all: late, it counts as none.
    assert!(
        sim.wait_until(WAIT, |s| s.events().iter().any(|e| matches!(
            e,
            SimEvent::RequestAnswered { envelope_id, attempt: 0, status: 200, late: true, .. }
                if *envelope_id == event.envelope_id
        )))
        .await
    );
    assert_eq!(sim.http_statuses(&event.envelope_id), [200, 200]);

    // A slow command: alice sees Slack's timeout, never the bot's late answer.
    let command = sim.slash_command(ALICE, &general, "help");
    assert_eq!(
        settled(&sim, &command.envelope_id, 1).await,
        [DeliveryOutcome::Missed]
    );
    assert!(
        sim.wait_until(WAIT, |s| s.events().iter().any(
            |e| matches!(e, SimEvent::Ack(a) if a.envelope_id == command.envelope_id && a.late)
        ))
        .await
    );
    assert!(
        sim.ack(&command.envelope_id, Duration::ZERO)
            .await
            .is_none()
    );
    let seen: Vec<(String, String)> = sim
        .ephemerals()
        .into_iter()
        .map(|e| (e.text, e.via))
        .collect();
    assert_eq!(
        seen,
        [(
            "/inc failed with the error \"operation_timeout\"".to_string(),
            "timeout".to_string()
        )]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn two_base_urls_get_envelopes_in_turn() {
    let sim = start(SocketTiming::default()).await;
    let general = sim.add_channel("general", false, true);
    let first = Bot::start(|_| Answer::ok("")).await;
    let second = Bot::start(|_| Answer::ok("")).await;
    sim.use_request_urls(&[first.url.clone(), second.url.clone()], SECRET);

    for n in 0..4 {
        sim.post_as(ALICE, &general, &format!("message {n}"));
    }
    let a = first.wait_for(2).await;
    let b = second.wait_for(2).await;
    let texts = |requests: &[Received]| -> Vec<String> {
        requests
            .iter()
            .map(|r| {
                let body: Value = serde_json::from_str(&r.body).expect("JSON");
                body["event"]["text"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect()
    };
    assert_eq!(texts(&a), ["message 0", "message 2"]);
    assert_eq!(texts(&b), ["message 1", "message 3"]);
    let connections: Vec<u64> = events_sent(&sim)
        .iter()
        .map(|e| sim.deliveries(&e.envelope_id)[0].connection)
        .collect();
    assert_eq!(connections, [1, 2, 1, 2]);
    sim.shutdown().await;
}

#[tokio::test]
async fn verify_url_passes_only_when_the_challenge_comes_back() {
    let sim = start(SocketTiming::default()).await;
    let challenge = |request: &Received| -> String {
        let body: Value = serde_json::from_str(&request.body).expect("JSON");
        assert_eq!(body["type"], "url_verification");
        body["challenge"].as_str().expect("challenge").to_string()
    };
    let plain = Bot::start(move |request| Answer::ok(&challenge(request))).await;
    let as_json = Bot::start(move |request| {
        Answer::ok(&json!({ "challenge": challenge(request) }).to_string())
    })
    .await;
    let wrong = Bot::start(|_| Answer::ok("ok")).await;
    let failing = Bot::start(|_| Answer::status(404)).await;

    assert_eq!(sim.verify_url(&plain.url, SECRET).await, Ok(()));
    let request = &plain.received()[0];
    assert!(request.signed);
    assert_eq!(request.path, "/slack/events");
    assert_eq!(request.header("content-type"), Some(JSON));
    assert_eq!(sim.verify_url(&as_json.url, SECRET).await, Ok(()));

    let refused = sim
        .verify_url(&wrong.url, SECRET)
        .await
        .expect_err("refused");
    assert!(
        refused.contains("didn't respond with the value of the challenge parameter")
            && refused.contains("challenge_failed"),
        "{refused}"
    );
    let refused = sim
        .verify_url(&failing.url, SECRET)
        .await
        .expect_err("refused");
    assert!(refused.contains("404"), "{refused}");
    // The wrong secret: the bot refuses the request, so Slack refuses the URL.
    let refused = sim
        .verify_url(&plain.url, "another")
        .await
        .expect_err("refused");
    assert!(refused.contains("401"), "{refused}");
    sim.shutdown().await;
}
