//! The HTTP side: `/api/<method>` (parameters from query, form or JSON body; bearer or
//! `token` auth; injected delays and faults; recording every call) and `/response/<n>`
//! (response-URL posts).
//!
//! What a method does to the workspace lives in `methods`; this file must not implement
//! method semantics, and must answer every request (never panic on client input).

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, RawQuery, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::methods::{self, Ctx};
use super::state::{CallNote, FaultKind, State};
use super::{ApiCall, Inner, SimEvent};

/// What to put on the wire for one call.
struct Outcome {
    status: u16,
    /// `None`: empty body.
    body: Option<Value>,
    retry_after: Option<u64>,
    /// For a 500 after applying: the method's own error, if it refused.
    hidden_error: Option<String>,
}

impl Outcome {
    fn json(body: Value) -> Self {
        Outcome {
            status: 200,
            body: Some(body),
            retry_after: None,
            hidden_error: None,
        }
    }

    fn error(error: &str) -> Self {
        Self::json(json!({ "ok": false, "error": error }))
    }
}

/// `GET|POST /api/<method>`.
pub(crate) async fn api_handler(
    AxumState(inner): AxumState<Arc<Inner>>,
    Path(method): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let received_at = Instant::now();
    let mut params = Map::new();
    if let Some(query) = &query {
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            params.insert(key.into_owned(), Value::String(value.into_owned()));
        }
    }
    let body_error = merge_body(&mut params, &headers, &body).err();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|v| v.trim().to_string());
    let token_param = params
        .remove("token")
        .and_then(|v| v.as_str().map(str::to_string));
    let token = bearer.filter(|t| !t.is_empty()).or(token_param);

    // Slack finishes a call it received even if the caller hangs up (or crashes) meanwhile, so
    // the work runs detached from this request: dropping the request does not undo or skip it.
    let work = tokio::spawn(async move {
        let delay = inner.with_state(|s| s.take_delay(&method));
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        let ctx = Ctx {
            base_url: inner.base_url(),
        };
        inner.with_state(|s| {
            let outcome = answer(s, &inner, &ctx, &method, &token, &params, body_error);
            let seq = s.next_seq();
            s.set_call_note(
                seq,
                CallNote {
                    retry_after: outcome.retry_after,
                    hidden_error: outcome.hidden_error.clone(),
                },
            );
            s.push_event(SimEvent::Call(ApiCall {
                seq,
                method: method.clone(),
                params: Value::Object(params),
                token,
                status: outcome.status,
                response: outcome.body.clone().unwrap_or(Value::Null),
                received_at,
                answered_at: Instant::now(),
            }));
            outcome
        })
    });
    let outcome = work.await.unwrap_or(Outcome {
        status: 500,
        body: None,
        retry_after: None,
        hidden_error: None,
    });
    into_response(outcome)
}

/// Decides the answer and applies the method's effect, in Slack's order: unknown method,
/// auth, injected fault, then the method itself.
fn answer(
    state: &mut State,
    inner: &Inner,
    ctx: &Ctx,
    method: &str,
    token: &Option<String>,
    params: &Map<String, Value>,
    body_error: Option<&'static str>,
) -> Outcome {
    if !methods::is_known(method) {
        return Outcome::error("unknown_method");
    }
    let (expected, other) = if method == "apps.connections.open" {
        (&inner.config.app_token, &inner.config.bot_token)
    } else {
        (&inner.config.bot_token, &inner.config.app_token)
    };
    match token.as_deref() {
        None | Some("") => return Outcome::error("not_authed"),
        Some(t) if t == expected.as_str() => {}
        Some(t) if t == other.as_str() => return Outcome::error("not_allowed_token_type"),
        Some(_) => return Outcome::error("invalid_auth"),
    }
    if let Some(error) = body_error {
        return Outcome::error(error);
    }
    match state.faults.take(method) {
        Some(FaultKind::Fail(error)) => Outcome::error(&error),
        Some(FaultKind::RateLimit(secs)) => Outcome {
            status: 429,
            body: Some(json!({ "ok": false, "error": "ratelimited" })),
            retry_after: Some(secs),
            hidden_error: None,
        },
        Some(FaultKind::FailAfterApplying) => Outcome {
            status: 500,
            body: None,
            retry_after: None,
            hidden_error: methods::dispatch(state, ctx, method, params)
                .err()
                .map(|e| e.error),
        },
        None => match methods::dispatch(state, ctx, method, params) {
            Ok(mut fields) => {
                fields.insert("ok".to_string(), Value::Bool(true));
                Outcome::json(Value::Object(fields))
            }
            Err(err) => {
                let mut fields = err.extra;
                fields.insert("ok".to_string(), Value::Bool(false));
                fields.insert("error".to_string(), Value::String(err.error));
                Outcome::json(Value::Object(fields))
            }
        },
    }
}

fn into_response(outcome: Outcome) -> Response {
    let status = StatusCode::from_u16(outcome.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = match outcome.body {
        Some(body) => (
            status,
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            body.to_string(),
        )
            .into_response(),
        None => status.into_response(),
    };
    if let Some(secs) = outcome.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// Merges a JSON or form body into `params`. JSON values keep their types.
fn merge_body(
    params: &mut Map<String, Value>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), &'static str> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let looks_like_json =
        content_type.contains("json") || (content_type.is_empty() && body.first() == Some(&b'{'));
    if looks_like_json {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(object)) => {
                params.extend(object);
                Ok(())
            }
            _ => Err("invalid_json"),
        }
    } else if content_type.starts_with("multipart/") {
        // Not needed by the bot; Slack would accept it, the simulator does not parse it.
        Err("invalid_form_data")
    } else {
        for (key, value) in url::form_urlencoded::parse(body) {
            params.insert(key.into_owned(), Value::String(value.into_owned()));
        }
        Ok(())
    }
}

/// `POST /response/<anything>`: a response-URL post. Answers `ok` as text/plain, which
/// slack-morphism's `respond_to_event` reads as an empty success.
pub(crate) async fn response_url_handler(
    AxumState(inner): AxumState<Arc<Inner>>,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let body = serde_json::from_slice::<Value>(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    inner.with_state(|s| {
        if let Some((channel_id, _)) = s.response_targets.get(&path).cloned() {
            s.post_reply(&channel_id, &body);
        }
        let seq = s.next_seq();
        s.push_event(SimEvent::ResponseUrl {
            seq,
            path,
            body,
            at: Instant::now(),
        });
    });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "ok",
    )
        .into_response()
}
