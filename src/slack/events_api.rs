//! The HTTP transport: Slack's request URLs (the Events API, slash commands and interactivity
//! over HTTPS) beside Socket Mode, for apps behind a load balancer, distributed to other
//! workspaces, or past Socket Mode's 10 connections (docs/operations.md, "Choosing a
//! transport").
//!
//! Three routes, mounted on the HTTP side (`HTTP_ADDR`) with `SLACK_TRANSPORT=http`:
//! - `POST /slack/commands`: a slash command, form-encoded (each field a string — the same
//!   fields Socket Mode's `slash_commands` payload carries);
//! - `POST /slack/interactivity`: an interaction, form-encoded as one `payload` field of JSON;
//! - `POST /slack/events`: an Events API callback as JSON, or the `url_verification` challenge
//!   Slack sends when the request URL is saved (answered with the challenge).
//!
//! **Every request is verified before its body is read as anything**: `X-Slack-Signature` is
//! `v0=` and the HMAC-SHA256, with `SLACK_SIGNING_SECRET`, of `v0:<X-Slack-Request-Timestamp>:<raw
//! body>`, compared in constant time; a timestamp more than five minutes from the app's clock
//! is refused as a replay. A refused request gets 401 and nothing is asked of the application.
//! (Slack: "Verifying requests from Slack",
//! <https://api.slack.com/authentication/verifying-requests-from-slack>.)
//!
//! Past the signature, a request is an envelope like any other: [`envelope::respond`] asks the
//! same [`Inbound`] port for the same ack, within the same 3 seconds, and the ack's payload (a
//! slash command's message, a view submission's `response_action`) is the response body. An
//! event Slack sends again after a timeout or an error carries `X-Slack-Retry-Num` and
//! `X-Slack-Retry-Reason` (`http_timeout`, `http_error`, `connection_failed`): they are logged
//! on the envelope's span and counted, and the retry is the same callback with the same
//! `event_id` — the idempotency key the application records — so it changes nothing twice.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use tracing::{debug, warn};

use super::envelope::{self, Delivery};
use super::inbound::Inbound;
use crate::http::Metrics;

/// The largest request Slack sends is far below this (a modal's state, a message's blocks).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// How far a request's timestamp may be from the app's clock (Slack's guidance: five minutes).
pub const MAX_AGE_SECONDS: i64 = 5 * 60;

/// The app's clock, as the HTTP transport reads it (a request's age is measured with it).
pub type Now = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

#[derive(Clone)]
struct RequestUrls {
    inbound: Arc<dyn Inbound>,
    metrics: Metrics,
    signing_secret: Arc<SecretString>,
    now: Now,
}

/// The three request URLs, answered through `inbound`, verified with `signing_secret`.
pub fn routes(
    inbound: Arc<dyn Inbound>,
    metrics: Metrics,
    signing_secret: SecretString,
    now: Now,
) -> Router {
    let state = RequestUrls {
        inbound,
        metrics,
        signing_secret: Arc::new(signing_secret),
        now,
    };
    Router::new()
        .route("/slack/commands", post(commands))
        .route("/slack/interactivity", post(interactivity))
        .route("/slack/events", post(events))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

/// Why a request was refused before it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unverified {
    /// No `X-Slack-Signature` or `X-Slack-Request-Timestamp`.
    Missing,
    /// The timestamp is more than five minutes from now: a replay, or a clock far off.
    Stale,
    /// The signature is not the one the signing secret makes.
    Wrong,
}

impl Unverified {
    fn result(self) -> &'static str {
        match self {
            Unverified::Missing => "unsigned",
            Unverified::Stale => "stale",
            Unverified::Wrong => "bad_signature",
        }
    }
}

/// Whether `body` with these headers is a request Slack signed with `secret`, at most five
/// minutes from `now`.
pub fn verify(
    secret: &SecretString,
    headers: &HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), Unverified> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(timestamp), Some(signature)) =
        (text("x-slack-request-timestamp"), text("x-slack-signature"))
    else {
        return Err(Unverified::Missing);
    };
    let Ok(seconds) = timestamp.trim().parse::<i64>() else {
        return Err(Unverified::Wrong);
    };
    if (now.timestamp() - seconds).abs() > MAX_AGE_SECONDS {
        return Err(Unverified::Stale);
    }
    let expected = format!(
        "v0={}",
        crate::outside::hmac_sha256_hex(
            secret.expose_secret().as_bytes(),
            &[b"v0:", timestamp.as_bytes(), b":", body],
        )
    );
    if crate::outside::same(signature.trim().as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(Unverified::Wrong)
    }
}

async fn commands(State(urls): State<RequestUrls>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(refused) = urls.check("commands", &headers, &body) {
        return *refused;
    }
    // Socket Mode's `slash_commands` payload is these same fields as a JSON object of strings.
    let fields: Map<String, Value> = url::form_urlencoded::parse(&body)
        .map(|(name, value)| (name.into_owned(), Value::String(value.into_owned())))
        .collect();
    let payload = Value::Object(fields).to_string();
    urls.answer("commands", "slash_commands", &payload, &headers)
        .await
}

async fn interactivity(
    State(urls): State<RequestUrls>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(refused) = urls.check("interactivity", &headers, &body) {
        return *refused;
    }
    let payload = url::form_urlencoded::parse(&body)
        .find(|(name, _)| name == "payload")
        .map(|(_, value)| value.into_owned());
    let Some(payload) = payload else {
        urls.counted("interactivity", "invalid");
        return (StatusCode::BAD_REQUEST, "no payload field").into_response();
    };
    urls.answer("interactivity", "interactive", &payload, &headers)
        .await
}

async fn events(State(urls): State<RequestUrls>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(refused) = urls.check("events", &headers, &body) {
        return *refused;
    }
    let Ok(callback) = serde_json::from_slice::<Value>(&body) else {
        urls.counted("events", "invalid");
        return (StatusCode::BAD_REQUEST, "the body is not JSON").into_response();
    };
    match callback.get("type").and_then(Value::as_str) {
        Some("url_verification") => {
            urls.counted("events", "url_verification");
            let challenge = callback
                .get("challenge")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                )],
                challenge,
            )
                .into_response()
        }
        Some("event_callback") => {
            let payload = String::from_utf8_lossy(&body);
            urls.answer("events", "events_api", &payload, &headers)
                .await
        }
        other => {
            // `app_rate_limited` and whatever Slack adds: nothing to do but take it.
            debug!(
                callback_type = other,
                "an Events API callback the bot does not handle"
            );
            urls.counted("events", "ignored");
            StatusCode::OK.into_response()
        }
    }
}

impl RequestUrls {
    /// The signature check every route makes first: `Err` is the 401, counted.
    fn check(
        &self,
        endpoint: &'static str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), Box<Response>> {
        verify(&self.signing_secret, headers, body, (self.now)()).map_err(|refused| {
            warn!(
                endpoint,
                why = refused.result(),
                "a request to a Slack request URL was refused: not signed by Slack with SLACK_SIGNING_SECRET"
            );
            self.counted(endpoint, refused.result());
            Box::new((StatusCode::UNAUTHORIZED, "invalid request signature").into_response())
        })
    }

    /// The envelope answered as Socket Mode answers it; its ack's payload is the body.
    async fn answer(
        &self,
        endpoint: &'static str,
        kind: &'static str,
        payload: &str,
        headers: &HeaderMap,
    ) -> Response {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let retry_attempt = text("x-slack-retry-num")
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0);
        let retry_reason = text("x-slack-retry-reason").unwrap_or("");
        if retry_attempt > 0 {
            let reason = match retry_reason {
                "http_timeout" | "http_error" | "connection_failed" | "ssl_error"
                | "too_many_redirects" => retry_reason,
                _ => "other",
            };
            self.metrics.count(
                "incident_commander_slack_retries_total",
                &[("reason", reason)],
            );
        }
        let delivery = Delivery {
            kind,
            payload,
            // Over HTTP a view submission's response body is its `response_action`; other
            // interactions' bodies are ignored by Slack, and the bot sends none.
            accepts_response_payload: true,
            retry_attempt,
            retry_reason,
            transport: "http",
        };
        let ack = envelope::respond(&*self.inbound, &self.metrics, delivery).await;
        self.counted(endpoint, "accepted");
        match ack {
            Some(body) => axum::Json(body).into_response(),
            None => StatusCode::OK.into_response(),
        }
    }

    fn counted(&self, endpoint: &'static str, result: &'static str) {
        self.metrics.count(
            "incident_commander_slack_requests_total",
            &[("endpoint", endpoint), ("result", result)],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn signed(secret: &str, timestamp: i64, body: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let signature = crate::outside::hmac_sha256_hex(
            secret.as_bytes(),
            &[format!("v0:{timestamp}:").as_bytes(), body.as_bytes()],
        );
        headers.insert(
            "x-slack-request-timestamp",
            HeaderValue::from_str(&timestamp.to_string()).expect("digits"),
        );
        headers.insert(
            "x-slack-signature",
            HeaderValue::from_str(&format!("v0={signature}")).expect("hex"),
        );
        headers
    }

    #[test]
    fn only_a_fresh_request_signed_with_the_secret_is_slacks() {
        let secret = SecretString::from("8f742231b10e8888abcd99yyyzzz85a5");
        let now = Utc
            .timestamp_opt(1_531_420_618, 0)
            .single()
            .expect("a time");
        let body = "token=xyz&team_id=T1&command=%2Finc&text=list";
        let at = now.timestamp();
        assert_eq!(
            verify(
                &secret,
                &signed(secret.expose_secret(), at, body),
                body.as_bytes(),
                now
            ),
            Ok(())
        );
        assert_eq!(
            verify(
                &secret,
                &signed("another secret", at, body),
                body.as_bytes(),
                now
            ),
            Err(Unverified::Wrong)
        );
        assert_eq!(
            verify(
                &secret,
                &signed(secret.expose_secret(), at, body),
                b"token=xyz&text=resolve",
                now
            ),
            Err(Unverified::Wrong),
            "a body changed on the way"
        );
        assert_eq!(
            verify(
                &secret,
                &signed(secret.expose_secret(), at - 301, body),
                body.as_bytes(),
                now
            ),
            Err(Unverified::Stale),
            "older than five minutes"
        );
        assert_eq!(
            verify(
                &secret,
                &signed(secret.expose_secret(), at + 301, body),
                body.as_bytes(),
                now
            ),
            Err(Unverified::Stale),
            "five minutes ahead"
        );
        assert_eq!(
            verify(
                &secret,
                &signed(secret.expose_secret(), at - 299, body),
                body.as_bytes(),
                now
            ),
            Ok(())
        );
        assert_eq!(
            verify(&secret, &HeaderMap::new(), body.as_bytes(), now),
            Err(Unverified::Missing)
        );
    }
}
