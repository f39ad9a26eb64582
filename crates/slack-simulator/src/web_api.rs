//! The HTTP side: `/api/<method>` (parameters from query, form or JSON body; bearer or
//! `token` auth — a token works in its own workspace, see `workspaces` —, or the app's client
//! credentials for `oauth.v2.access`; scopes and the `x-oauth-scopes` header; injected delays
//! and faults; recording every call), `/response/<n>` (response-URL posts) and `/upload/<file>/<token>` (the bytes of
//! a `files.getUploadURLExternal` upload, raw or as a multipart form).
//!
//! What a method does to the workspace lives in `methods`; this file must not implement
//! method semantics, and must answer every request (never panic on client input).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, RawQuery, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::methods::{self, Ctx};
use super::state::{CallNote, FaultKind, State};
use super::workspaces::{OAUTH_V2_ACCESS, basic_credentials};
use super::{ApiCall, Inner, SimEvent};

/// What to put on the wire for one call.
struct Outcome {
    status: u16,
    /// `None`: empty body.
    body: Option<Value>,
    retry_after: Option<u64>,
    /// For a 503 after applying: the method's own error, if it refused.
    hidden_error: Option<String>,
    /// `x-oauth-scopes` (the token's scopes) and `x-accepted-oauth-scopes` (the method's), once
    /// the token is known.
    scopes: Option<(String, String)>,
    /// How long the answer waits after the work is done (`answer_late`): the caller may give up
    /// on a call that already took effect.
    hold: Option<Duration>,
}

impl Outcome {
    fn json(body: Value) -> Self {
        Outcome {
            status: 200,
            body: Some(body),
            retry_after: None,
            hidden_error: None,
            scopes: None,
            hold: None,
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
    // `oauth.v2.access`'s client credentials, the way Slack prefers them.
    let basic = basic_credentials(&headers);

    // Slack finishes a call it received even if the caller hangs up (or crashes) meanwhile, so
    // the work runs detached from this request: dropping the request does not undo or skip it.
    let work = tokio::spawn(async move {
        let delay = inner.with_state(|s| {
            *s.received.entry(method.clone()).or_default() += 1;
            s.take_delay(&method)
        });
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        inner.with_state(|s| {
            // Events the call causes reach the bot after its answer is recorded.
            s.defer_events();
            let call = Call {
                method: &method,
                token: &token,
                basic: basic.as_ref(),
                params: &params,
                body_error,
            };
            let outcome = answer(s, &inner, &call);
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
            s.flush_events();
            outcome
        })
    });
    let outcome = work.await.unwrap_or(Outcome {
        status: 500,
        body: None,
        retry_after: None,
        hidden_error: None,
        scopes: None,
        hold: None,
    });
    if let Some(hold) = outcome.hold {
        tokio::time::sleep(hold).await;
    }
    into_response(outcome)
}

/// One call as received.
struct Call<'a> {
    method: &'a str,
    /// The bearer token (or `token` parameter).
    token: &'a Option<String>,
    /// HTTP Basic credentials (`oauth.v2.access`'s client id and secret).
    basic: Option<&'a (String, String)>,
    params: &'a Map<String, Value>,
    body_error: Option<&'static str>,
}

/// Decides the answer and applies the method's effect, in Slack's order: unknown method,
/// auth, injected fault, then the method itself. `oauth.v2.access` authenticates the app by
/// its client credentials instead of a token.
fn answer(state: &mut State, inner: &Inner, call: &Call) -> Outcome {
    let method = call.method;
    if !methods::is_known(method) {
        return Outcome::error("unknown_method");
    }
    if method == OAUTH_V2_ACCESS {
        let config = &inner.config;
        return decide(state, method, call.body_error, |s: &mut State| {
            s.oauth_v2_access(config, call.basic, call.params)
        });
    }
    let app_token = inner.config.app_token.as_str();
    let token = match call.token.as_deref() {
        None | Some("") => return Outcome::error("not_authed"),
        Some(t) => t,
    };
    if method == "apps.connections.open" {
        return if token == app_token {
            let ctx = Ctx {
                base_url: inner.base_url(),
                actor: app_actor(),
            };
            let mut outcome = decide(state, method, call.body_error, |s: &mut State| {
                methods::dispatch(s, &ctx, method, call.params)
            });
            outcome.scopes = Some(("connections:write".to_string(), String::new()));
            outcome
        } else if state.is_bot_token(token) {
            Outcome::error("not_allowed_token_type")
        } else {
            Outcome::error("invalid_auth")
        };
    }
    if token == app_token {
        return Outcome::error("not_allowed_token_type");
    }
    let team_param = call.params.get("team_id").and_then(Value::as_str);
    let actor = match state.authenticate(token, team_param) {
        Ok(actor) => actor,
        Err(error) => return Outcome::error(error),
    };
    let needed = methods::needed_scopes(state, &actor, method, call.params);
    let accepted: Vec<&str> = needed.iter().flatten().copied().collect();
    let provided = actor.scopes.join(",");
    let scopes = Some((provided.clone(), accepted.join(",")));
    let missing = needed
        .iter()
        .find(|any_of| !any_of.iter().any(|s| actor.scopes.iter().any(|g| g == s)))
        .cloned();
    let ctx = Ctx {
        base_url: inner.base_url(),
        actor,
    };
    let mut outcome = decide(state, method, call.body_error, |s: &mut State| {
        // A missing scope refuses the call before the method runs.
        if let Some(any_of) = &missing {
            return Err(missing_scope(any_of, &provided));
        }
        methods::dispatch(s, &ctx, method, call.params)
    });
    outcome.scopes = scopes;
    outcome
}

/// Who `apps.connections.open` acts as: the app itself, no workspace's bot.
fn app_actor() -> super::workspaces::Actor {
    super::workspaces::Actor {
        team_id: super::TEAM_ID.to_string(),
        teams: Vec::new(),
        bot_user_id: String::new(),
        bot_id: String::new(),
        enterprise_id: None,
        org_wide: false,
        scopes: Vec::new(),
    }
}

/// After authentication: a bad body, an injected fault, or `dispatch` (the method, after its
/// scope check).
fn decide(
    state: &mut State,
    method: &str,
    body_error: Option<&'static str>,
    dispatch: impl FnOnce(&mut State) -> Result<Map<String, Value>, methods::ApiError>,
) -> Outcome {
    if let Some(error) = body_error {
        return Outcome::error(error);
    }
    // A fault stands for what Slack did to the call before looking at it, so it comes first;
    // then a missing scope refuses the call; then the method runs.
    match state.faults.take(method) {
        Some(FaultKind::Fail(error)) => Outcome::error(&error),
        Some(FaultKind::RateLimit(secs)) => Outcome {
            status: 429,
            body: Some(json!({ "ok": false, "error": "ratelimited" })),
            retry_after: Some(secs),
            hidden_error: None,
            scopes: None,
            hold: None,
        },
        // An edge's 503 after the work was done: the answer is lost, the effect is not.
        Some(FaultKind::FailAfterApplying) => Outcome {
            status: 503,
            body: None,
            retry_after: None,
            hidden_error: dispatch(state).err().map(|e| e.error),
            scopes: None,
            hold: None,
        },
        // The work is done at once; the answer comes late (after the caller's timeout).
        Some(FaultKind::AnswerLate(hold)) => Outcome {
            hold: Some(hold),
            ..applied(dispatch(state))
        },
        None => applied(dispatch(state)),
    }
}

/// The answer to a method that ran: `ok` with its fields, or its error.
fn applied(result: Result<Map<String, Value>, methods::ApiError>) -> Outcome {
    match result {
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
    }
}

/// Slack's `missing_scope`: which scopes would do, and which the token has.
fn missing_scope(any_of: &[&str], provided: &str) -> methods::ApiError {
    let mut extra = Map::new();
    extra.insert("needed".into(), json!(any_of.join(",")));
    extra.insert("provided".into(), json!(provided));
    methods::ApiError {
        error: "missing_scope".to_string(),
        extra,
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
    if let Some((provided, accepted)) = outcome.scopes {
        for (name, value) in [
            ("x-oauth-scopes", provided),
            ("x-accepted-oauth-scopes", accepted),
        ] {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, value);
            }
        }
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

/// `POST /response/<anything>`: a response-URL post. Answers `ok` as text/plain (which
/// slack-morphism's `respond_to_event` reads as an empty success), or Slack's text errors:
/// 404 `expired_url` for a URL never issued, 400 `invalid_blocks` for blocks Slack refuses.
pub(crate) async fn response_url_handler(
    AxumState(inner): AxumState<Arc<Inner>>,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let body = serde_json::from_slice::<Value>(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    let (status, text) = inner.with_state(|s| {
        s.defer_events();
        let (status, text) = s.response_url_post(&path, &body);
        let seq = s.next_seq();
        s.push_event(SimEvent::ResponseUrl {
            seq,
            path,
            body,
            status,
            at: Instant::now(),
        });
        s.flush_events();
        (status, text)
    });
    text_response(status, text)
}

fn text_response(status: u16, text: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text.to_string(),
    )
        .into_response()
}

/// The name faults and delays use for the upload route (`sim.fail("upload", …)`).
pub(crate) const UPLOAD: &str = "upload";

/// `POST /upload/<file id>/<token>`: the bytes of an upload, raw or as a multipart form (its
/// `file` part, else `filename`, else the first part with a file name). Answers
/// `OK - <length>` as Slack's upload host does. Faults and delays apply under [`UPLOAD`]:
/// `fail` answers HTTP 500 with the error as text, `rate_limit` 429, `fail_after_applying`
/// stores the bytes and answers an empty 503.
pub(crate) async fn upload_handler(
    AxumState(inner): AxumState<Arc<Inner>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let work = tokio::spawn(async move {
        let delay = inner.with_state(|s| s.take_delay(UPLOAD));
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        inner.with_state(|s| {
            let (file_id, token) = path
                .strip_prefix("/upload/")
                .and_then(|rest| rest.split_once('/'))
                .map(|(f, t)| (f.to_string(), t.to_string()))
                .unwrap_or_default();
            let bytes = upload_bytes(&content_type, &body);
            let known = s
                .files
                .iter()
                .any(|f| f.id == file_id && f.upload_token == token && !f.completed);
            let store = |s: &mut State| {
                if let (Some(bytes), Some(file)) = (
                    &bytes,
                    s.files.iter_mut().find(|f| f.id == file_id && known),
                ) {
                    file.bytes = Some(bytes.clone());
                }
            };
            let (status, text, retry_after) = match s.faults.take(UPLOAD) {
                Some(FaultKind::Fail(error)) => (500, error, None),
                Some(FaultKind::RateLimit(secs)) => (429, "ratelimited".to_string(), Some(secs)),
                Some(FaultKind::FailAfterApplying) => {
                    store(s);
                    (503, String::new(), None)
                }
                // Bytes nobody sees until the upload is completed: a late answer changes nothing.
                Some(FaultKind::AnswerLate(_)) | None if !known => {
                    (404, "Not Found".to_string(), None)
                }
                Some(FaultKind::AnswerLate(_)) | None => match &bytes {
                    None => (400, "invalid multipart form".to_string(), None),
                    Some(bytes) => {
                        let length = bytes.len();
                        store(s);
                        (200, format!("OK - {length}"), None)
                    }
                },
            };
            let seq = s.next_seq();
            s.push_event(SimEvent::Upload {
                seq,
                file_id: Some(file_id).filter(|_| known),
                bytes: bytes.as_ref().map(Vec::len).unwrap_or(body.len()),
                status,
                at: Instant::now(),
            });
            (status, text, retry_after)
        })
    });
    let (status, text, retry_after) = work.await.unwrap_or((500, String::new(), None));
    let mut response = text_response(status, &text);
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// The file's bytes: the whole body, or the file part of a multipart form (`None` when a
/// multipart body has no usable part).
fn upload_bytes(content_type: &str, body: &[u8]) -> Option<Vec<u8>> {
    let lower = content_type.to_ascii_lowercase();
    if !lower.starts_with("multipart/") {
        return Some(body.to_vec());
    }
    let boundary = content_type
        .split(';')
        .map(str::trim)
        .find_map(|p| {
            p.strip_prefix("boundary=")
                .or_else(|| p.strip_prefix("BOUNDARY="))
        })?
        .trim_matches('"');
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut rest = body;
    while let Some(start) = find(rest, delimiter.as_bytes()) {
        rest = rest.get(start + delimiter.len()..)?;
        if rest.starts_with(b"--") {
            break;
        }
        let end = find(rest, delimiter.as_bytes()).unwrap_or(rest.len());
        let part = rest.get(..end)?;
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let part = part.strip_suffix(b"\r\n").unwrap_or(part);
        if let Some(split) = find(part, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(part.get(..split)?).to_ascii_lowercase();
            let content = part.get(split + 4..)?.to_vec();
            let name = head
                .split(';')
                .map(str::trim)
                .find_map(|p| p.strip_prefix("name="))
                .map(|n| {
                    n.split(['\r', '\n'])
                        .next()
                        .unwrap_or(n)
                        .trim_matches('"')
                        .to_string()
                })
                .unwrap_or_default();
            parts.push((name, head.contains("filename="), content));
        }
    }
    let pick = |wanted: &str| parts.iter().find(|(name, _, _)| name == wanted);
    pick("file")
        .or_else(|| pick("filename"))
        .or_else(|| parts.iter().find(|(_, has_name, _)| *has_name))
        .map(|(_, _, content)| content.clone())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}
