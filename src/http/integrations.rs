//! `POST /integrations/pagerduty`: PagerDuty's v3 webhooks (docs/integrations.md). The
//! signature (`X-PagerDuty-Signature`, HMAC-SHA256 of the raw body with
//! `PAGERDUTY_WEBHOOK_SECRET`) is checked before anything is read: a missing or wrong one is
//! 401. A readable event about a page is handed to the application, which records it once by
//! its event id — a redelivery or a replay of a captured request changes nothing — and then
//! answered 2xx; any other event type is answered 2xx and ignored. Off (404) without the secret.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::{Http, error};
use crate::outside::pagerduty;

/// The largest webhook body accepted (PagerDuty's are a few KiB).
pub const WEBHOOK_BODY_LIMIT: usize = 256 * 1024;

/// What the application made of a page's news.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// Recorded on the incident's timeline (and said in its channel).
    Recorded,
    /// Already recorded (the same event delivered again), or nothing to say.
    Nothing,
    /// No incident of ours paged with that dedup key.
    Unknown,
    /// Not now: one of ours not recorded yet, or an incident that kept changing. Answered 503,
    /// so PagerDuty delivers it again.
    Later(String),
}

pub(super) async fn pagerduty(
    State(http): State<Http>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(secret) = http.pagerduty_secret.as_deref() else {
        return error(
            StatusCode::NOT_FOUND,
            "PagerDuty webhooks are off: set PAGERDUTY_WEBHOOK_SECRET to turn them on",
            None,
        );
    };
    let counted = |result| {
        let labels = [("source", "pagerduty"), ("result", result)];
        http.metrics
            .count("incident_commander_webhooks_received_total", &labels);
    };
    let signature = headers
        .get("x-pagerduty-signature")
        .and_then(|v| v.to_str().ok());
    if !pagerduty::verify(secret, signature, &body) {
        counted("unauthorized");
        return error(
            StatusCode::UNAUTHORIZED,
            "missing or wrong X-PagerDuty-Signature",
            None,
        );
    }
    let news = match pagerduty::read_webhook(&body) {
        Ok(Some(news)) => news,
        Ok(None) => {
            counted("ignored");
            return ok("ignored: not about a page");
        }
        Err(e) => {
            counted("invalid");
            return error(StatusCode::BAD_REQUEST, &e, None);
        }
    };
    match http.ops.page_news(news).await {
        Ok(Heard::Recorded) => {
            counted("recorded");
            ok("recorded")
        }
        Ok(Heard::Nothing) => {
            counted("repeated");
            ok("nothing new")
        }
        Ok(Heard::Unknown) => {
            counted("unknown");
            ok("ignored: no incident paged with that incident_key")
        }
        Ok(Heard::Later(why)) => {
            counted("later");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("not now, PagerDuty will retry: {why}"),
                None,
            )
        }
        Err(e) => {
            counted("failed");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("could not record it, PagerDuty will retry: {e}"),
                None,
            )
        }
    }
}

fn ok(what: &str) -> Response {
    use axum::response::IntoResponse;
    (
        StatusCode::OK,
        axum::Json(serde_json::json!({ "ok": true, "result": what })),
    )
        .into_response()
}
