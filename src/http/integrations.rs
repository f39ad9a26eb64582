//! `POST /integrations/pagerduty`: PagerDuty's v3 webhooks (docs/integrations.md). The
//! signature (`X-PagerDuty-Signature`, HMAC-SHA256 of the raw body with
//! `PAGERDUTY_WEBHOOK_SECRET`) is checked before anything is read: a missing or wrong one is
//! 401. A readable event about a page is handed to the application, which records it once by
//! its event id — a redelivery or a replay of a captured request changes nothing — and then
//! answered 2xx; any other event type is answered 2xx and ignored. Off (404) without the secret.
//!
//! `POST /integrations/<tracker>` does the same for the follow-up tracker's webhooks
//! (`outside::tracker` reads and verifies them).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::{Http, error};
use secrecy::ExposeSecret;

use crate::outside::pagerduty;
use crate::outside::tracker::Refused;

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
    let heard = http.ops.page_news(news).await;
    answered(
        heard,
        counted,
        "no incident paged with that incident_key",
        "PagerDuty will retry",
    )
}

/// The answer to news a webhook brought, once the application heard it: `unknown` says what
/// was not ours, `again` who tries again when it is answered 503.
fn answered(
    heard: Result<Heard, String>,
    counted: impl Fn(&'static str),
    unknown: &str,
    again: &str,
) -> Response {
    match heard {
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
            ok(&format!("ignored: {unknown}"))
        }
        Ok(Heard::Later(why)) => {
            counted("later");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("not now, {again}: {why}"),
                None,
            )
        }
        Err(e) => {
            counted("failed");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("could not record it, {again}: {e}"),
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

/// `POST /integrations/<tracker>`: the configured follow-up tracker's webhooks. Another
/// tracker, or none configured with a webhook secret, is 404; a missing or wrong signature
/// (GitLab: token) is 401 and nothing is read; news of a ticket is recorded once, by its
/// delivery id; anything else is answered 2xx and ignored.
pub(super) async fn tracker(
    State(http): State<Http>,
    axum::extract::Path(name): axum::extract::Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let hooks = http
        .tickets
        .as_ref()
        .filter(|h| h.api.tracker().as_str() == name);
    let Some(hooks) = hooks else {
        return error(
            StatusCode::NOT_FOUND,
            &format!(
                "{name} webhooks are off: set FOLLOWUP_TRACKER={name} and its webhook secret (docs/integrations.md)"
            ),
            None,
        );
    };
    let source = hooks.api.tracker().as_str();
    let counted = |result| {
        let labels = [("source", source), ("result", result)];
        http.metrics
            .count("incident_commander_webhooks_received_total", &labels);
    };
    let now = http.ops.now();
    let read = hooks
        .api
        .read_webhook(hooks.secret.expose_secret(), &headers, &body, now);
    let news = match read {
        Ok(Some(news)) => news,
        Ok(None) => {
            counted("ignored");
            return ok("ignored: not a ticket closed or reopened");
        }
        Err(Refused::Unauthorized(why)) => {
            counted("unauthorized");
            return error(StatusCode::UNAUTHORIZED, why, None);
        }
        Err(Refused::Invalid(why)) => {
            counted("invalid");
            return error(StatusCode::BAD_REQUEST, &why, None);
        }
    };
    let heard = http.ops.ticket_news(news).await;
    answered(heard, counted, "not a follow-up's ticket", "send it again")
}
