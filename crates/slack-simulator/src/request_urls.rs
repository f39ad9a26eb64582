//! Slack's HTTP transport ("request URLs"): instead of Socket Mode, Slack POSTs every envelope to
//! the app's URLs — slash commands to the command's URL, interactions to the interactivity
//! request URL, Events API events to the event subscriptions' request URL — and the HTTP answer
//! is the ack. As Slack does it:
//!
//! - Bodies: a slash command is `application/x-www-form-urlencoded`, one string field per
//!   payload field; an interaction is `application/x-www-form-urlencoded` with one field,
//!   `payload`, the interaction's JSON; an event is `application/json`, the `event_callback`
//!   itself.
//! - Signing (<https://api.slack.com/authentication/verifying-requests-from-slack>): every request
//!   carries `X-Slack-Request-Timestamp` (Unix seconds) and `X-Slack-Signature`,
//!   `v0=` and the hex HMAC-SHA256, keyed with the app's signing secret, of
//!   `v0:{timestamp}:{raw body}`.
//! - The answer: a 2xx within 3 seconds (`timing.ack_deadline`) is the ack; its body, when it is
//!   JSON, is the ack's payload (a command's message, a submission's `response_action`), and a
//!   slash command's plain-text body is shown as its message. A later answer counts as none.
//! - Failures (the Events API docs, "Responding to events" and "Error handling"): no answer
//!   within 3 seconds (`http_timeout`), a non-2xx answer (`http_error`), no connection
//!   (`connection_failed`), more than 2 redirects (`too_many_redirects`). Slack retries a failed
//!   event up to 3 times — nearly immediately, after 1 minute, after 5 minutes (here
//!   `timing.redeliveries`) — with `X-Slack-Retry-Num: <n>` and `X-Slack-Retry-Reason: <reason>`,
//!   unless the failed answer carried `X-Slack-No-Retry: 1`. A slash command is not retried: its
//!   person sees `/inc failed with the error "…"` (`operation_timeout`, `http_service_error`,
//!   `dispatch_failed`); an interaction just fails.
//! - Verifying a new Event Subscriptions URL: a signed `url_verification` whose `challenge` the
//!   URL must answer within 3 seconds, as plain text, `challenge=…` or `{"challenge": …}`.
//!
//! The state stays synchronous: [`State::deliver`] calls [`State::deliver_over_http`], which
//! records the delivery like a Socket Mode one (same deadline timer, same bookkeeping, its
//! `connection` being the URL's index + 1) and hands a [`Post`] to an unbounded channel. The
//! sender task ([`run`]) makes each POST in a task of its own (a slow answer holds up no other)
//! and reports the answer through `Inner::with_state`, never holding the lock across an await.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use super::state::{GiveUp, State};
use super::{Envelope, Inner, SignedRequest, SimEvent};

/// The `User-Agent` of Slack's requests to request URLs.
pub const SLACK_USER_AGENT: &str = "Slackbot 1.0 (+https://api.slack.com/robots)";

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

/// How long URL verification waits for the challenge.
const VERIFY_TIMEOUT: Duration = Duration::from_secs(3);

/// How long after its deadline an answer is still waited for, to record it as late (as a late
/// Socket Mode ack is); after that the request is abandoned.
const LATE_ANSWER_WAIT: Duration = Duration::from_secs(30);

/// Slack follows at most this many redirects; one more fails the request.
const MAX_REDIRECTS: usize = 2;

/// `X-Slack-Signature` for a request with this `timestamp` and raw `body`: `v0=` and the hex
/// HMAC-SHA256 of `v0:{timestamp}:{body}` keyed with the app's signing secret.
pub fn slack_signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC accepts a key of any length");
    mac.update(format!("v0:{timestamp}:{body}").as_bytes());
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

/// The request Slack POSTs for `envelope`, signed with `secret` at `timestamp`.
pub(crate) fn signed_request(envelope: &Envelope, secret: &str, timestamp: i64) -> SignedRequest {
    let payload = &envelope.payload;
    let (path, content_type, body) = match envelope.envelope_type.as_str() {
        "slash_commands" => ("/slack/commands", FORM, command_form(payload)),
        "interactive" => (
            "/slack/interactivity",
            FORM,
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("payload", &payload.to_string())
                .finish(),
        ),
        // `events_api`, and anything else a test made up.
        _ => ("/slack/events", JSON, payload.to_string()),
    };
    SignedRequest {
        path,
        content_type,
        signature: slack_signature(secret, timestamp, &body),
        body,
        timestamp,
    }
}

/// A slash command's form: every payload field as a string, in the order Slack sends them.
fn command_form(payload: &Value) -> String {
    const ORDER: &[&str] = &[
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
        "trigger_id",
    ];
    let Some(fields) = payload.as_object() else {
        return String::new();
    };
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    let known = ORDER.iter().filter_map(|k| fields.get_key_value(*k));
    let others = fields.iter().filter(|(k, _)| !ORDER.contains(&k.as_str()));
    for (key, value) in known.chain(others) {
        let value = match value {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        form.append_pair(key, &value);
    }
    form.finish()
}

/// Where the app's request URLs are, once it uses them.
struct Target {
    /// Base URLs (a load balancer's replicas), without a trailing `/`.
    base_urls: Vec<String>,
    signing_secret: String,
}

/// The HTTP transport's part of the state.
#[derive(Default)]
pub(crate) struct RequestUrls {
    /// The sender task's channel, set when the simulator starts.
    out: Option<UnboundedSender<Post>>,
    /// Set by `SlackSimulator::use_request_urls`: from then on envelopes go over HTTP.
    target: Option<Target>,
    /// Round robin over the base URLs.
    next: usize,
    /// (envelope id, attempt) → why that attempt failed, for the next attempt's
    /// `X-Slack-Retry-Reason` (none recorded: it timed out).
    failures: HashMap<(String, u32), &'static str>,
}

impl RequestUrls {
    pub(crate) fn set_sender(&mut self, out: UnboundedSender<Post>) {
        self.out = Some(out);
    }

    /// Whether envelopes go over HTTP.
    pub(crate) fn active(&self) -> bool {
        self.target.is_some()
    }

    pub(crate) fn signing_secret(&self) -> Option<&str> {
        self.target.as_ref().map(|t| t.signing_secret.as_str())
    }
}

/// One POST for the sender task.
#[derive(Debug)]
pub(crate) struct Post {
    envelope_id: String,
    envelope_type: String,
    attempt: u32,
    url: String,
    request: SignedRequest,
    /// `X-Slack-Retry-Num` and `X-Slack-Retry-Reason`, for a redelivered event.
    retry: Option<(u32, &'static str)>,
    /// When the answer was due.
    deadline: Instant,
}

impl State {
    /// From now on every envelope is POSTed to `base_urls` (round robin), signed with
    /// `signing_secret`; envelopes queued for a Socket Mode connection go at once.
    pub(crate) fn use_request_urls(&mut self, base_urls: &[String], signing_secret: &str) {
        assert!(!base_urls.is_empty(), "use_request_urls: no URL given");
        self.request_urls.target = Some(Target {
            base_urls: base_urls
                .iter()
                .map(|u| u.trim_end_matches('/').to_string())
                .collect(),
            signing_secret: signing_secret.to_string(),
        });
        self.request_urls.next = 0;
        self.deliver_queued();
    }

    /// Sends `envelope` (a first delivery or a redelivery) to the next request URL and starts
    /// its deadline, as a Socket Mode delivery's; the delivery's `connection` is the URL's
    /// index in `base_urls` + 1.
    pub(crate) fn deliver_over_http(&mut self, envelope: Envelope) {
        let attempt = self.attempts(&envelope.envelope_id);
        let timestamp = self.now();
        let urls = &mut self.request_urls;
        let Some(target) = &urls.target else {
            return;
        };
        let index = urls.next % target.base_urls.len();
        urls.next = urls.next.wrapping_add(1);
        let request = signed_request(&envelope, &target.signing_secret, timestamp);
        let url = format!("{}{}", target.base_urls[index], request.path);
        let retry = (envelope.envelope_type == "events_api" && attempt > 0).then(|| {
            let reason = urls
                .failures
                .remove(&(envelope.envelope_id.clone(), attempt - 1))
                .unwrap_or("http_timeout");
            (attempt, reason)
        });
        let out = urls.out.clone();
        let envelope_id = envelope.envelope_id.clone();
        let envelope_type = envelope.envelope_type.clone();
        let deadline = self.record_delivery(envelope, index as u64 + 1);
        let post = Post {
            envelope_id,
            envelope_type,
            attempt,
            url,
            request,
            retry,
            deadline,
        };
        // Without a sender (the simulator is stopping) the POST is lost: its deadline passes.
        if let Some(out) = out {
            let _ = out.send(post);
        }
    }

    /// The bot answered `post` with `status`. A 2xx is the ack (late or not, as
    /// [`State::record_ack_of`] decides); another status before the deadline fails the
    /// delivery at once.
    fn request_answered(
        &mut self,
        post: Post,
        status: u16,
        no_retry: bool,
        json: bool,
        body: &[u8],
    ) {
        let late = self.answered_late(&post);
        let seq = self.next_seq();
        self.push_event(SimEvent::RequestAnswered {
            seq,
            envelope_id: post.envelope_id.clone(),
            attempt: post.attempt,
            url: post.url.clone(),
            status,
            no_retry,
            late,
            at: Instant::now(),
        });
        if (200..300).contains(&status) {
            let payload = answer_payload(&post.envelope_type, json, body);
            self.record_ack_of(post.envelope_id, Some(post.attempt), payload);
        } else if !late {
            self.fail(&post, "http_error", "http_service_error", !no_retry);
        }
    }

    /// `post` got no HTTP answer: `reason` is Slack's retry reason (`connection_failed`,
    /// `too_many_redirects`), `error` what went wrong.
    fn request_failed(&mut self, post: Post, reason: &'static str, error: String) {
        let late = self.answered_late(&post);
        let seq = self.next_seq();
        self.push_event(SimEvent::RequestFailed {
            seq,
            envelope_id: post.envelope_id.clone(),
            attempt: post.attempt,
            url: post.url.clone(),
            reason: reason.to_string(),
            error,
            at: Instant::now(),
        });
        if !late {
            self.fail(&post, reason, "dispatch_failed", true);
        }
    }

    fn fail(&mut self, post: &Post, reason: &'static str, error: &'static str, retry: bool) {
        self.request_urls
            .failures
            .insert((post.envelope_id.clone(), post.attempt), reason);
        self.give_up(
            &post.envelope_id,
            post.attempt,
            GiveUp::Failed { error, retry },
        );
    }

    /// Whether an answer to `post` now comes after Slack gave up on it.
    fn answered_late(&self, post: &Post) -> bool {
        let now = Instant::now();
        self.deliveries
            .get(&post.envelope_id)
            .and_then(|d| d.iter().find(|d| d.attempt == post.attempt))
            .is_none_or(|d| d.outcome == crate::DeliveryOutcome::Missed || now > d.deadline)
    }
}

/// What a 2xx answer's body says, as an ack's payload: its JSON, read as JSON only when the
/// answer says `Content-Type: application/json` (Slack shows any other slash command answer as
/// text — raw JSON included — and a view submission's `response_action` needs it); for a slash
/// command a plain text, which Slack shows as the command's message; nothing for an empty body
/// (a bare ack).
fn answer_payload(envelope_type: &str, json: bool, body: &[u8]) -> Option<Value> {
    let text = String::from_utf8_lossy(body);
    if text.trim().is_empty() {
        return None;
    }
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Null) if json => None,
        Ok(value) if json => Some(value),
        _ if envelope_type == "slash_commands" => Some(json!({ "text": text })),
        _ => None,
    }
}

/// The client Slack's requests go out with: no proxy, at most [`MAX_REDIRECTS`] redirects.
fn client() -> reqwest::Client {
    crate::install_tls_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
        .no_proxy()
        .build()
        .expect("the request URL client builds")
}

/// Sends the POSTs `deliver_over_http` queues, each in a task of its own, until the simulator
/// shuts down.
pub(crate) async fn run(inner: Arc<Inner>, mut posts: UnboundedReceiver<Post>) {
    let client = client();
    let mut stop = inner.shutdown_signal();
    loop {
        let post = tokio::select! {
            post = posts.recv() => post,
            _ = stop.wait_for(|stopped| *stopped) => None,
        };
        let Some(post) = post else {
            return;
        };
        tokio::spawn(send(inner.clone(), client.clone(), post));
    }
}

/// What came back for one POST.
enum Outcome {
    Answered {
        status: u16,
        no_retry: bool,
        /// Said `Content-Type: application/json`.
        json: bool,
        body: Vec<u8>,
    },
    Failed {
        reason: &'static str,
        error: String,
    },
}

async fn send(inner: Arc<Inner>, client: reqwest::Client, post: Post) {
    let mut request = client
        .post(&post.url)
        .header("content-type", post.request.content_type)
        .header("user-agent", SLACK_USER_AGENT)
        .header(
            "x-slack-request-timestamp",
            post.request.timestamp.to_string(),
        )
        .header("x-slack-signature", &post.request.signature)
        .body(post.request.body.clone());
    if let Some((num, reason)) = post.retry {
        request = request
            .header("x-slack-retry-num", num.to_string())
            .header("x-slack-retry-reason", reason);
    }
    let exchange = async {
        let response = request.send().await?;
        let status = response.status().as_u16();
        let no_retry = response
            .headers()
            .get("x-slack-no-retry")
            .is_some_and(|v| v.as_bytes() == b"1");
        let json = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("application/json"));
        // The whole answer must arrive in time, body included.
        let body = response.bytes().await?;
        Ok::<_, reqwest::Error>((status, no_retry, json, body.to_vec()))
    };
    let mut stop = inner.shutdown_signal();
    let give_up_at = tokio::time::Instant::from_std(post.deadline + LATE_ANSWER_WAIT);
    let outcome = tokio::select! {
        result = tokio::time::timeout_at(give_up_at, exchange) => match result {
            Ok(Ok((status, no_retry, json, body))) => Outcome::Answered { status, no_retry, json, body },
            Ok(Err(err)) => Outcome::Failed {
                reason: if err.is_redirect() { "too_many_redirects" } else { "connection_failed" },
                error: describe(&err),
            },
            // No answer at all: the deadline's timer counted it missed (`http_timeout`) long ago.
            Err(_) => return,
        },
        _ = stop.wait_for(|stopped| *stopped) => return,
    };
    inner.with_state(|s| match outcome {
        Outcome::Answered {
            status,
            no_retry,
            json,
            body,
        } => s.request_answered(post, status, no_retry, json, &body),
        Outcome::Failed { reason, error } => s.request_failed(post, reason, error),
    });
}

/// A reqwest error with its causes (`error sending request: … connection refused`).
fn describe(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Slack's `url_verification` handshake against `{base_url}/slack/events`, signed with
/// `secret` at `timestamp`: Ok when the URL answers 200 within 3 seconds with the challenge;
/// otherwise what the app settings page shows.
pub(crate) async fn verify_url(base_url: &str, secret: &str, timestamp: i64) -> Result<(), String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let challenge: String = (0..48)
        .map(|_| char::from(ALPHABET[rand::random_range(0..ALPHABET.len())]))
        .collect();
    let body = json!({
        "token": "verification-token-unused",
        "challenge": challenge,
        "type": "url_verification",
    })
    .to_string();
    let url = format!("{}/slack/events", base_url.trim_end_matches('/'));
    let refused = |code: &str, error: &str, body: &str| {
        Err(format!(
            "Your URL didn't respond with the value of the challenge parameter. \
             (POST {url}: code {code}, error {error}, body {body:?})"
        ))
    };
    let sent = client()
        .post(&url)
        .timeout(VERIFY_TIMEOUT)
        .header("content-type", JSON)
        .header("user-agent", SLACK_USER_AGENT)
        .header("x-slack-request-timestamp", timestamp.to_string())
        .header(
            "x-slack-signature",
            slack_signature(secret, timestamp, &body),
        )
        .body(body)
        .send()
        .await;
    let response = match sent {
        Ok(response) => response,
        Err(err) if err.is_timeout() => return refused("none", "http_timeout", ""),
        Err(err) => return refused("none", "connection_failed", &describe(&err)),
    };
    let status = response.status().as_u16();
    let text = match response.bytes().await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(err) if err.is_timeout() => return refused(&status.to_string(), "http_timeout", ""),
        Err(err) => return refused(&status.to_string(), "connection_failed", &describe(&err)),
    };
    if status != 200 {
        return refused(&status.to_string(), "http_error", &text);
    }
    let echoed = text == challenge
        || serde_json::from_str::<Value>(&text)
            .is_ok_and(|v| v.get("challenge").and_then(Value::as_str) == Some(&challenge))
        || url::form_urlencoded::parse(text.as_bytes())
            .any(|(k, v)| k == "challenge" && v == challenge.as_str());
    if echoed {
        Ok(())
    } else {
        refused("200", "challenge_failed", &text)
    }
}
