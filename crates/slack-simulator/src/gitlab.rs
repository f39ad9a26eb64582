//! A strict fake GitLab REST API v4 on 127.0.0.1, for the issues of one private project, and the
//! Issue Hook webhooks GitLab sends when they change. It is as strict as a self-managed GitLab,
//! never kinder: it shares no type with the bot and was built from GitLab's API documentation
//! (docs.gitlab.com, "Issues API", "REST API" pagination and authentication, "Webhook events",
//! "Rate limits") and recorded answers, not from what the bot sends.
//!
//! Endpoints (under `/api/v4`; the project is addressed by its numeric id or by its URL-encoded
//! path, `group%2Fproject`, looked up case-insensitively as GitLab does; an unencoded `/` in the
//! path is another route, and 404):
//! - `POST /projects/:id/issues` — `title` (required), `description`, `labels` (comma-separated,
//!   or an array): 201 and the issue. Labels the project lacks are created (`#6699cc`);
//! - `GET /projects/:id/issues` — `state` (opened, closed, all; absent: all), `labels`
//!   (comma-separated, all must match, case-sensitive; `None` and `Any` as GitLab reads them),
//!   `search` (case-insensitive; every word of 3 characters or more must occur, in the title or
//!   the description as `in` = `title`, `description` or `title,description` says), `iids[]`, `order_by` (created_at, updated_at, title),
//!   `sort` (default desc), `per_page` (default 20, at most 100), `page`; the answer carries
//!   `X-Page`, `X-Per-Page`, `X-Next-Page` and `X-Prev-Page` (empty when there is none),
//!   `X-Total`, `X-Total-Pages` and `Link` (`prev`, `next`, `first`, `last`; absolute URLs, the
//!   query as sent with `page` and `per_page` set, keys sorted as Rails' `to_query` sorts them);
//! - `GET /projects/:id/issues/:iid`;
//! - `PUT /projects/:id/issues/:iid` — `title`, `description`, `labels` (replace), `add_labels`,
//!   `remove_labels`, `state_event` (close, reopen): 200 and the issue.
//!
//! Parameters may come as a JSON body (`Content-Type: application/json`), a form body or the
//! query string, as GitLab (Grape) takes them all; the body wins over the query.
//!
//! Rules:
//! - Auth is `PRIVATE-TOKEN: <token>`, `Authorization: Bearer <token>` or the documented
//!   `private_token` / `access_token` query parameters. A wrong token is 401 `{"message":"401
//!   Unauthorized"}` whatever the path. No token at all is an anonymous request, and the project
//!   is private: GitLab then answers 404 `{"message":"404 Project Not Found"}`, hiding it.
//! - Another project is 404 `{"message":"404 Project Not Found"}`; an unknown issue 404
//!   `{"message":"404 Not found"}`; a path not served 404 `{"error":"404 Not Found"}`; a method a
//!   path does not take 405 `{"error":"405 Not Allowed"}`.
//! - Validation as Grape words it, 400 `{"error":"…"}`: `title is missing`, `state does not have
//!   a valid value`, `issue_iid is invalid`, `page is invalid`, a PUT with no parameter at all;
//!   and as the model words it, 400 `{"message":{"title":["can't be blank"]}}`, titles over 255
//!   characters, descriptions over 1,048,576. Filters and fields this fake does not serve
//!   (milestones, assignees, authors, dates, weights…) are refused with 400 rather than ignored,
//!   so a client relying on them cannot pass by luck.
//! - Every 200 to a `GET` carries a weak `ETag` (`W/"<32 hex>"`, changing whenever the answer
//!   does); an `If-None-Match` naming it is answered 304 with an empty body.
//! - [`FakeGitLab::rate_limit`] answers as GitLab's Rack::Attack throttle does: 429, the plain
//!   text `Retry later`, `Retry-After`, `RateLimit-Name`, `RateLimit-Limit`,
//!   `RateLimit-Observed`, `RateLimit-Remaining: 0`, `RateLimit-Reset` (Unix seconds) and
//!   `RateLimit-ResetTime`.
//! - Faults (the next requests, whichever endpoint): an error status, the rate-limit refusal, a
//!   request applied whose answer is lost (500, or the connection closed), one applied and
//!   answered late.
//!
//! Webhooks ([`FakeGitLab::subscribe`]): every change made through the API or by people through
//! the handle POSTs one Issue Hook — `action` `open`, `close`, `reopen` or `update`, with
//! `changes` as GitLab reports them (`state_id` 1 opened / 2 closed, `title`, `description`,
//! `labels`, `updated_at`, each `{"previous","current"}`) — with `X-Gitlab-Event: Issue Hook`,
//! `X-Gitlab-Token` (the secret token as configured, in plain: GitLab does not sign; left out when
//! the hook has none), `X-Gitlab-Event-UUID`, `X-Gitlab-Webhook-UUID`, `X-Gitlab-Instance`,
//! `Idempotency-Key`, `User-Agent: GitLab/<version>` and `Content-Type: application/json`. GitLab
//! counts an answer other than 2xx, or none within 10 s, as a failure and does not retry;
//! [`FakeGitLab::redeliver_last`] is its "Resend request".
//!
//! Not faked: notes, milestones, assignees, epics, iterations, confidential issues, moving and
//! deleting issues, group and instance issue lists, keyset pagination, other hook kinds, the
//! automatic disabling of a failing hook.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State as AxumState};
use axum::http::{HeaderMap, Method, Uri, header};
use axum::response::Response;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::github::hooks::{self, Outbox, Outcome, Post};
pub use crate::pagerduty::wire::RecordedRequest;
use crate::pagerduty::wire::{self, Answer, Cut, CutListener, Fault, Faults, random_id};

/// How long GitLab waits for a webhook's answer (its default) before counting it as failed.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest issue title GitLab takes, in characters.
pub const MAX_TITLE_CHARS: usize = 255;
/// The longest issue description GitLab takes, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1_048_576;
/// The username of the user the API token belongs to: the author of issues created through the
/// API and the `user` of their hooks.
pub const TOKEN_USERNAME: &str = "incident-commander-bot";
/// The GitLab version the fake claims to be, in `User-Agent: GitLab/<version>`.
pub const GITLAB_VERSION: &str = "17.11.1";
/// The seconds `Retry-After` asks for when [`FakeGitLab::rate_limit`] refuses.
pub const RETRY_AFTER_SECS: u64 = 1;

const DEFAULT_LABEL_COLOR: &str = "#6699cc";
const UNSERVED_FILTERS: [&str; 20] = [
    "milestone",
    "milestone_id",
    "assignee_id",
    "assignee_username",
    "assignee_username[]",
    "author_id",
    "author_username",
    "my_reaction_emoji",
    "weight",
    "confidential",
    "created_after",
    "created_before",
    "updated_after",
    "updated_before",
    "issue_type",
    "epic_id",
    "iteration_id",
    "health_status",
    "not[labels]",
    "due_date",
];
const UNSERVED_FIELDS: [&str; 7] = [
    "assignee_id",
    "assignee_ids",
    "milestone_id",
    "epic_id",
    "epic_iid",
    "confidential",
    "due_date",
];

/// An issue of the project.
#[derive(Clone, Debug)]
pub struct Issue {
    /// The instance-wide id.
    pub id: u64,
    /// The project's issue number, from 1.
    pub iid: u64,
    /// Its title.
    pub title: String,
    /// Its Markdown description; `None` when it has none.
    pub description: Option<String>,
    /// Its labels' titles, in the order applied.
    pub labels: Vec<String>,
    /// `opened` or `closed`.
    pub state: String,
    /// `{url}/{project path}/-/issues/{iid}`.
    pub web_url: String,
    /// The username of its author.
    pub author: String,
    /// Who closed it last; `None` while open.
    pub closed_by: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was closed; `None` while open.
    pub closed_at: Option<DateTime<Utc>>,
}

/// One webhook delivery attempt.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// The `X-Gitlab-Event-UUID` (new for a resend: see [`FakeGitLab::redeliver_last`]).
    pub event_uuid: String,
    /// The `Idempotency-Key`, the same for every attempt of one event.
    pub idempotency_key: String,
    /// The hook's `X-Gitlab-Webhook-UUID`.
    pub webhook_uuid: String,
    /// The hook's id.
    pub hook_id: u64,
    /// `Issue Hook`.
    pub event: String,
    /// `object_attributes.action`: `open`, `close`, `reopen` or `update`.
    pub action: String,
    /// Where it was sent.
    pub url: String,
    /// The body parsed.
    pub body: Value,
    /// The body exactly as sent.
    pub raw_body: Vec<u8>,
    /// Sent by [`FakeGitLab::redeliver_last`].
    pub redelivery: bool,
    /// The receiver's HTTP status; `None` when it gave none.
    pub status: Option<u16>,
    /// Why there was no status (refused connection, no answer within 10 s, …).
    pub error: Option<String>,
    /// When the attempt ended.
    pub at: Instant,
}

// --- state ---

#[derive(Clone, Debug)]
struct Label {
    id: u64,
    title: String,
    color: String,
    created_at: DateTime<Utc>,
}

struct Hook {
    id: u64,
    uuid: String,
    url: String,
    token: String,
}

#[derive(Default)]
struct State {
    issues: Vec<Issue>,
    labels: Vec<Label>,
    /// Username → user id.
    users: Vec<(String, u64)>,
    hooks: Vec<Hook>,
    requests: Vec<RecordedRequest>,
    deliveries: Vec<Delivery>,
    faults: Faults,
    next_issue_id: u64,
    /// Requests seen, for `RateLimit-Observed`.
    observed: u64,
}

struct Inner {
    token: String,
    path: String,
    project_id: u64,
    port: u16,
    state: Mutex<State>,
    outbox: Outbox,
    shutdown: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Inner {
    fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut state: MutexGuard<'_, State> =
            self.state.lock().expect("fake GitLab state lock poisoned");
        f(&mut state)
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn project_web_url(&self) -> String {
        format!("{}/{}", self.url(), self.path)
    }

    fn project_name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }
}

/// A running fake GitLab serving one private project. Cheap to clone; all clones share one
/// server.
#[derive(Clone)]
pub struct FakeGitLab {
    inner: Arc<Inner>,
}

impl fmt::Debug for FakeGitLab {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeGitLab")
            .field("port", &self.inner.port)
            .field("project", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl FakeGitLab {
    /// Binds 127.0.0.1 on a free port and serves project `project_path` (`group/project`, or
    /// deeper: `group/subgroup/project`) to callers with `token` (which belongs to
    /// [`TOKEN_USERNAME`], a developer of the project). Panics when the path has no group.
    pub async fn start(token: &str, project_path: &str) -> std::io::Result<FakeGitLab> {
        assert!(
            project_path.contains('/') && project_path.split('/').all(|part| !part.is_empty()),
            "a GitLab project path is group/project, not {project_path:?}"
        );
        let (listener, port) = CutListener::bind().await?;
        let (shutdown, _) = watch::channel(false);
        let (outbox, sender) = Outbox::start(WEBHOOK_TIMEOUT, shutdown.subscribe());
        let inner = Arc::new(Inner {
            token: token.to_string(),
            path: project_path.to_string(),
            project_id: rand::random_range(10_000_000..60_000_000),
            port,
            state: Mutex::new(State {
                next_issue_id: rand::random_range(100_000_000..150_000_000),
                ..State::default()
            }),
            outbox,
            shutdown,
            tasks: Mutex::new(Vec::new()),
        });
        let router = Router::new()
            .fallback(handle_request)
            .with_state(inner.clone());
        let server = wire::serve(listener, router, inner.shutdown.subscribe(), "gitlab");
        inner
            .tasks
            .lock()
            .expect("fake GitLab task lock poisoned")
            .extend([server, sender]);
        Ok(FakeGitLab { inner })
    }

    /// The instance URL, `http://127.0.0.1:PORT` (the API is under `/api/v4`).
    pub fn url(&self) -> String {
        self.inner.url()
    }

    /// The project's numeric id.
    pub fn project_id(&self) -> u64 {
        self.inner.project_id
    }

    /// The project's path, `group/project`.
    pub fn project_path(&self) -> String {
        self.inner.path.clone()
    }

    // --- webhooks ---

    /// Adds a project hook for issue events to `url`, with `secret_token` sent back as
    /// `X-Gitlab-Token` (none when empty); returns the hook's id.
    pub fn subscribe(&self, url: &str, secret_token: &str) -> u64 {
        let id = rand::random_range(1_000_000..9_999_999);
        self.inner.with_state(|s| {
            s.hooks.push(Hook {
                id,
                uuid: uuid(),
                url: url.to_string(),
                token: secret_token.to_string(),
            })
        });
        id
    }

    /// Sends the last delivery again, as GitLab's "Resend request" does: the same body to the
    /// same hook, with the same `Idempotency-Key` and a new `X-Gitlab-Event-UUID`. GitLab
    /// documents the idempotency key as the one value that stays the same across attempts of an
    /// event, and the event UUID as naming one execution of the hook, so a receiver that
    /// deduplicates must use the key; a new UUID here catches one that uses the UUID. Returns
    /// the status answered; `None` when nothing was delivered yet or there was no answer.
    pub async fn redeliver_last(&self) -> Option<u16> {
        let done = self.inner.with_state(|s| {
            let last = s.deliveries.last()?.clone();
            let hook = s.hooks.iter().find(|h| h.id == last.hook_id)?;
            let post = webhook_post(
                &self.inner,
                hook,
                &last.action,
                &last.idempotency_key,
                last.raw_body.clone(),
                true,
            );
            Some(self.inner.outbox.send(vec![post]))
        })?;
        first_status(done).await
    }

    /// Every webhook delivery attempt, in the order sent.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.inner.with_state(|s| s.deliveries.clone())
    }

    /// Waits until every webhook queued so far was sent.
    pub async fn settle(&self) {
        self.inner.outbox.flush().await;
    }

    // --- people acting in GitLab ---

    /// `by_username` closes issue `iid` in GitLab's web UI (an Issue Hook with action `close`).
    /// Returns the statuses the hooks answered (`None`: no answer); empty when it already was
    /// closed (nothing changes, nothing is sent). Panics when there is no such issue.
    pub async fn close(&self, iid: u64, by_username: &str) -> Vec<Option<u16>> {
        self.person_changes(iid, by_username, "close").await
    }

    /// `by_username` reopens issue `iid` (action `reopen`). Returns as [`Self::close`] does.
    pub async fn reopen(&self, iid: u64, by_username: &str) -> Vec<Option<u16>> {
        self.person_changes(iid, by_username, "reopen").await
    }

    async fn person_changes(&self, iid: u64, username: &str, event: &str) -> Vec<Option<u16>> {
        let done = self.inner.with_state(|s| {
            let index = s
                .issues
                .iter()
                .position(|i| i.iid == iid)
                .unwrap_or_else(|| panic!("the fake GitLab has no issue #{iid}"));
            let change = Change {
                state_event: Some(event.to_string()),
                ..Change::default()
            };
            s.apply(&self.inner, index, change, username)
        });
        done.await
            .unwrap_or_default()
            .into_iter()
            .map(|o| o.ok())
            .collect()
    }

    // --- what happened ---

    /// Every issue, oldest first.
    pub fn issues(&self) -> Vec<Issue> {
        self.inner.with_state(|s| s.issues.clone())
    }

    /// Issue `iid`.
    pub fn issue(&self, iid: u64) -> Option<Issue> {
        self.inner
            .with_state(|s| s.issues.iter().find(|i| i.iid == iid).cloned())
    }

    /// The project's label titles, in the order created.
    pub fn labels(&self) -> Vec<String> {
        self.inner
            .with_state(|s| s.labels.iter().map(|l| l.title.clone()).collect())
    }

    /// Every request received, in order, with what it was answered.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.inner.with_state(|s| s.requests.clone())
    }

    // --- fault injection (the next requests, whichever endpoint) ---

    wire::fault_injection!(
        "The next `times` requests are throttled: 429 `Retry later` with `Retry-After` and the `RateLimit-*` headers. They change nothing."
    );

    /// Stops the server and the webhook sender.
    pub async fn shutdown(self) {
        self.inner.shutdown.send_replace(true);
        let tasks: Vec<_> = self
            .inner
            .tasks
            .lock()
            .expect("fake GitLab task lock poisoned")
            .drain(..)
            .collect();
        for mut task in tasks {
            if tokio::time::timeout(Duration::from_secs(2), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

async fn first_status(done: oneshot::Receiver<Vec<Outcome>>) -> Option<u16> {
    done.await
        .unwrap_or_default()
        .into_iter()
        .next()
        .and_then(|o| o.ok())
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// GitLab's API timestamps: milliseconds, `Z`.
fn api_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// GitLab's webhook timestamps: seconds, `Z`.
fn hook_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn optional(at: Option<DateTime<Utc>>, format: fn(DateTime<Utc>) -> String) -> Value {
    at.map(|at| Value::String(format(at)))
        .unwrap_or(Value::Null)
}

/// One Issue Hook POST to `hook`, recorded as a [`Delivery`] once answered.
fn webhook_post(
    inner: &Arc<Inner>,
    hook: &Hook,
    action: &str,
    idempotency_key: &str,
    body: Vec<u8>,
    redelivery: bool,
) -> Post {
    let event_uuid = uuid();
    let mut headers = vec![
        ("content-type", "application/json".to_string()),
        ("user-agent", format!("GitLab/{GITLAB_VERSION}")),
        ("x-gitlab-event", "Issue Hook".to_string()),
        ("x-gitlab-event-uuid", event_uuid.clone()),
        ("x-gitlab-webhook-uuid", hook.uuid.clone()),
        ("x-gitlab-instance", inner.url()),
        ("idempotency-key", idempotency_key.to_string()),
    ];
    if !hook.token.is_empty() {
        headers.push(("x-gitlab-token", hook.token.clone()));
    }
    let weak: Weak<Inner> = Arc::downgrade(inner);
    let record = Delivery {
        event_uuid,
        idempotency_key: idempotency_key.to_string(),
        webhook_uuid: hook.uuid.clone(),
        hook_id: hook.id,
        event: "Issue Hook".to_string(),
        action: action.to_string(),
        url: hook.url.clone(),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        raw_body: body.clone(),
        redelivery,
        status: None,
        error: None,
        at: Instant::now(),
    };
    Post {
        url: hook.url.clone(),
        headers,
        body,
        done: Box::new(move |outcome: &Outcome| {
            if let Some(inner) = weak.upgrade() {
                let mut record = record;
                record.status = outcome.as_ref().ok().copied();
                record.error = outcome.as_ref().err().cloned();
                record.at = Instant::now();
                inner.with_state(|s| s.deliveries.push(record));
            }
        }),
    }
}

// --- the HTTP side ---

async fn handle_request(
    AxumState(inner): AxumState<Arc<Inner>>,
    ConnectInfo(conn): ConnectInfo<Cut>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| uri.path().to_string());
    let mut record = RecordedRequest::new(method.as_str(), &path, &headers, &body);
    let answer = inner.with_state(|s| {
        let request = Request {
            method: &method,
            path: uri.path(),
            query: uri.query().unwrap_or_default(),
            headers: &headers,
            body: &body,
        };
        let answer = s.answer(&inner, &request);
        record.status = answer.recorded_status();
        s.requests.push(record);
        answer
    });
    answer.send(&conn).await
}

struct Request<'a> {
    method: &'a Method,
    path: &'a str,
    query: &'a str,
    headers: &'a HeaderMap,
    body: &'a [u8],
}

impl Request<'_> {
    fn query_pairs(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `Some(true)`: the token; `Some(false)`: another credential; `None`: anonymous.
    fn authenticated(&self, token: &str) -> Option<bool> {
        let query = self.query_pairs();
        let from_query = query
            .iter()
            .find(|(k, _)| k == "private_token" || k == "access_token")
            .map(|(_, v)| v.as_str());
        let bearer = self.header(header::AUTHORIZATION.as_str()).map(|v| {
            v.trim()
                .split_once(' ')
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, credential)| credential.trim())
                .unwrap_or("")
        });
        let given = self
            .header("private-token")
            .map(str::trim)
            .or(bearer)
            .or(from_query)?;
        Some(given == token)
    }

    /// The parameters: the query string, then a JSON or form body over it. Query and form values
    /// are strings (`key[]` keys gather into arrays); JSON keeps its types.
    fn params(&self) -> Result<Map<String, Value>, Answer> {
        let mut params = Map::new();
        let add_pairs = |pairs: Vec<(String, String)>, params: &mut Map<String, Value>| {
            for (key, value) in pairs {
                if let Some(key) = key.strip_suffix("[]") {
                    match params.get_mut(key) {
                        Some(Value::Array(items)) => items.push(Value::String(value)),
                        _ => {
                            params.insert(key.to_string(), json!([value]));
                        }
                    }
                } else {
                    params.insert(key, Value::String(value));
                }
            }
        };
        add_pairs(self.query_pairs(), &mut params);
        let content_type = self
            .header(header::CONTENT_TYPE.as_str())
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(params);
        }
        if content_type.starts_with("application/json") {
            match serde_json::from_slice::<Value>(self.body) {
                Ok(Value::Object(body)) => params.extend(body),
                _ => return Err(message(400, "400 Bad request")),
            }
        } else if content_type.starts_with("application/x-www-form-urlencoded") {
            let pairs = url::form_urlencoded::parse(self.body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            add_pairs(pairs, &mut params);
        }
        Ok(params)
    }
}

/// `{"message": …}`, GitLab's form for auth, not-found and model errors.
fn message(status: u16, text: &str) -> Answer {
    Answer::json(status, &json!({ "message": text }))
}

/// `{"error": …}`, Grape's form for parameter errors and unknown routes.
fn grape_error(status: u16, text: &str) -> Answer {
    Answer::json(status, &json!({ "error": text }))
}

fn issue_not_found() -> Answer {
    message(404, "404 Not found")
}

/// A string parameter (numbers coerced, as Grape does); `Err` when it is another type.
fn string_param(params: &Map<String, Value>, name: &str) -> Result<Option<String>, Answer> {
    match params.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(grape_error(400, &format!("{name} is invalid"))),
    }
}

/// A label list: a comma-separated string or an array of strings.
fn labels_param(params: &Map<String, Value>, name: &str) -> Result<Option<Vec<String>>, Answer> {
    let raw: Vec<String> = match params.get(name) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => {
            let mut raw = Vec::new();
            for item in items {
                match item.as_str() {
                    Some(s) => raw.push(s.to_string()),
                    None => return Err(grape_error(400, &format!("{name} is invalid"))),
                }
            }
            raw
        }
        Some(_) => return Err(grape_error(400, &format!("{name} is invalid"))),
    };
    let mut labels: Vec<String> = Vec::new();
    for title in raw.iter().flat_map(|s| s.split(',')).map(str::trim) {
        if !title.is_empty() && !labels.iter().any(|l| l == title) {
            labels.push(title.to_string());
        }
    }
    Ok(Some(labels))
}

/// What a create, an update or a person asks of an issue, validated.
#[derive(Default)]
struct Change {
    title: Option<String>,
    /// `Some(None)` clears the description.
    description: Option<Option<String>>,
    labels: Option<Vec<String>>,
    add_labels: Vec<String>,
    remove_labels: Vec<String>,
    state_event: Option<String>,
}

impl State {
    fn answer(&mut self, inner: &Arc<Inner>, request: &Request<'_>) -> Answer {
        self.observed += 1;
        let fault = self.faults.take();
        let mut answer = match fault {
            Some(Fault::Fail(status)) => {
                let reason = axum::http::StatusCode::from_u16(status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("Error");
                message(status, &format!("{status} {reason}"))
            }
            Some(Fault::RateLimit) => {
                let reset = Utc::now() + chrono::Duration::seconds(RETRY_AFTER_SECS as i64);
                let mut answer = Answer::text(429, "Retry later\n");
                answer.headers.extend([
                    ("retry-after", RETRY_AFTER_SECS.to_string()),
                    ("ratelimit-name", "throttle_authenticated_api".to_string()),
                    ("ratelimit-limit", "2000".to_string()),
                    ("ratelimit-observed", self.observed.to_string()),
                    ("ratelimit-remaining", "0".to_string()),
                    ("ratelimit-reset", reset.timestamp().to_string()),
                    (
                        "ratelimit-resettime",
                        reset.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
                    ),
                ]);
                answer
            }
            _ => self.route(inner, request),
        };
        answer.headers.push((
            "x-request-id",
            random_id(b"0123456789ABCDEFGHJKMNPQRSTVWXYZ", 26),
        ));
        answer.after(fault.as_ref())
    }

    fn route(&mut self, inner: &Arc<Inner>, request: &Request<'_>) -> Answer {
        let Some(rest) = request.path.strip_prefix("/api/v4/") else {
            return grape_error(404, "404 Not Found");
        };
        let anonymous = match request.authenticated(&inner.token) {
            Some(false) => return message(401, "401 Unauthorized"),
            Some(true) => false,
            None => true,
        };
        let segments: Vec<&str> = rest.split('/').collect();
        let (project, resource) = match segments.as_slice() {
            ["projects", project, resource @ ..] if !resource.is_empty() => (*project, resource),
            _ => return grape_error(404, "404 Not Found"),
        };
        if !matches!(resource, ["issues"] | ["issues", _]) {
            return grape_error(404, "404 Not Found");
        }
        let project: String = url::form_urlencoded::parse(format!("p={project}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        let known =
            project == inner.project_id.to_string() || project.eq_ignore_ascii_case(&inner.path);
        // A private project is not found by someone who may not see it.
        if !known || anonymous {
            return message(404, "404 Project Not Found");
        }
        let method = request.method;
        let mut answer = match resource {
            ["issues"] if *method == Method::GET => self.list(inner, request),
            ["issues"] if *method == Method::POST => self.create(inner, request),
            ["issues", iid] => {
                let Ok(iid) = iid.parse::<u64>() else {
                    return grape_error(400, "issue_iid is invalid");
                };
                let index = self.issues.iter().position(|i| i.iid == iid);
                match (index, method) {
                    (Some(index), &Method::GET) => {
                        Answer::json(200, &self.issue_json(inner, index))
                    }
                    (Some(index), &Method::PUT) => self.update(inner, request, index),
                    (None, &Method::GET | &Method::PUT) => issue_not_found(),
                    _ => grape_error(405, "405 Not Allowed"),
                }
            }
            _ => grape_error(405, "405 Not Allowed"),
        };
        if *method == Method::GET && answer.status == 200 {
            answer = hooks::conditional(answer, request.headers, hooks::etag_32);
            answer.headers.extend([
                (
                    "cache-control",
                    "max-age=0, private, must-revalidate".into(),
                ),
                ("vary", "Origin".into()),
            ]);
        }
        answer
    }

    fn create(&mut self, inner: &Arc<Inner>, request: &Request<'_>) -> Answer {
        let params = match request.params() {
            Ok(params) => params,
            Err(answer) => return answer,
        };
        if !params.contains_key("title") || params.get("title") == Some(&Value::Null) {
            return grape_error(400, "title is missing");
        }
        let change = match validate(&params, true) {
            Ok(change) => change,
            Err(answer) => return answer,
        };
        let now = Utc::now();
        let iid = self.issues.len() as u64 + 1;
        let id = self.next_issue_id;
        self.next_issue_id += 1;
        self.issues.push(Issue {
            id,
            iid,
            title: change.title.clone().unwrap_or_default(),
            description: change.description.clone().flatten(),
            labels: Vec::new(),
            state: "opened".into(),
            web_url: format!("{}/-/issues/{iid}", inner.project_web_url()),
            author: TOKEN_USERNAME.to_string(),
            closed_by: None,
            created_at: now,
            updated_at: now,
            closed_at: None,
        });
        let index = self.issues.len() - 1;
        let labels: Vec<String> = change
            .labels
            .unwrap_or_default()
            .iter()
            .map(|title| self.label(title).title)
            .collect();
        self.issues[index].labels = labels;
        let body = self.hook_body(inner, index, "open", TOKEN_USERNAME, Map::new());
        drop(self.emit(inner, "open", body));
        Answer::json(201, &self.issue_json(inner, index))
    }

    fn update(&mut self, inner: &Arc<Inner>, request: &Request<'_>, index: usize) -> Answer {
        let params = match request.params() {
            Ok(params) => params,
            Err(answer) => return answer,
        };
        let change = match validate(&params, false) {
            Ok(change) => change,
            Err(answer) => return answer,
        };
        drop(self.apply(inner, index, change, TOKEN_USERNAME));
        Answer::json(200, &self.issue_json(inner, index))
    }

    /// Applies a validated change to issue `index` on behalf of `username` and queues the hook
    /// it causes (none when nothing changed); the receiver gets its outcomes.
    fn apply(
        &mut self,
        inner: &Arc<Inner>,
        index: usize,
        change: Change,
        username: &str,
    ) -> oneshot::Receiver<Vec<Outcome>> {
        let now = Utc::now();
        let mut changes = Map::new();
        let before = self.issues[index].clone();

        let mut labels = before.labels.clone();
        if let Some(wanted) = &change.labels {
            labels = wanted.clone();
        }
        for title in &change.add_labels {
            if !labels.contains(title) {
                labels.push(title.clone());
            }
        }
        labels.retain(|l| !change.remove_labels.contains(l));
        let labels: Vec<String> = labels.iter().map(|t| self.label(t).title).collect();
        if labels != before.labels {
            let previous: Vec<Value> = before
                .labels
                .iter()
                .map(|t| self.label_json(inner, t))
                .collect();
            let current: Vec<Value> = labels.iter().map(|t| self.label_json(inner, t)).collect();
            changes.insert(
                "labels".into(),
                json!({ "previous": previous, "current": current }),
            );
        }

        let issue = &mut self.issues[index];
        issue.labels = labels;
        if let Some(title) = change.title
            && title != issue.title
        {
            changes.insert(
                "title".into(),
                json!({ "previous": issue.title, "current": title }),
            );
            issue.title = title;
        }
        if let Some(description) = change.description
            && description != issue.description
        {
            changes.insert(
                "description".into(),
                json!({ "previous": issue.description, "current": description }),
            );
            issue.description = description;
        }
        let mut action = "update";
        match change.state_event.as_deref() {
            Some("close") if issue.state == "opened" => {
                issue.state = "closed".into();
                issue.closed_at = Some(now);
                issue.closed_by = Some(username.to_string());
                changes.insert("state_id".into(), json!({ "previous": 1, "current": 2 }));
                changes.insert(
                    "closed_at".into(),
                    json!({ "previous": null, "current": hook_time(now) }),
                );
                action = "close";
            }
            Some("reopen") if issue.state == "closed" => {
                issue.state = "opened".into();
                changes.insert("state_id".into(), json!({ "previous": 2, "current": 1 }));
                changes.insert(
                    "closed_at".into(),
                    json!({ "previous": optional(issue.closed_at, hook_time), "current": null }),
                );
                issue.closed_at = None;
                issue.closed_by = None;
                action = "reopen";
            }
            _ => {}
        }
        if changes.is_empty() {
            return inner.outbox.send(Vec::new());
        }
        changes.insert(
            "updated_at".into(),
            json!({ "previous": hook_time(issue.updated_at), "current": hook_time(now) }),
        );
        issue.updated_at = now;
        let body = self.hook_body(inner, index, action, username, changes);
        self.emit(inner, action, body)
    }

    /// Queues one Issue Hook with `body` for every hook.
    fn emit(
        &mut self,
        inner: &Arc<Inner>,
        action: &str,
        body: Vec<u8>,
    ) -> oneshot::Receiver<Vec<Outcome>> {
        let key = uuid();
        let posts = self
            .hooks
            .iter()
            .map(|hook| webhook_post(inner, hook, action, &key, body.clone(), false))
            .collect();
        inner.outbox.send(posts)
    }

    fn list(&mut self, inner: &Arc<Inner>, request: &Request<'_>) -> Answer {
        let query = request.query_pairs();
        let param = |name: &str| {
            query
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        for filter in UNSERVED_FILTERS {
            if param(filter).is_some() {
                return grape_error(
                    400,
                    &format!("{filter} is a filter this fake GitLab does not serve"),
                );
            }
        }
        if param("scope").is_some_and(|s| s != "all") {
            return grape_error(400, "scope is a filter this fake GitLab does not serve");
        }
        let state = param("state").unwrap_or_else(|| "all".into());
        if !["opened", "closed", "all"].contains(&state.as_str()) {
            return grape_error(400, "state does not have a valid value");
        }
        let order_by = param("order_by").unwrap_or_else(|| "created_at".into());
        if !["created_at", "updated_at", "title"].contains(&order_by.as_str()) {
            return grape_error(400, "order_by does not have a valid value");
        }
        let sort = param("sort").unwrap_or_else(|| "desc".into());
        if !["asc", "desc"].contains(&sort.as_str()) {
            return grape_error(400, "sort does not have a valid value");
        }
        let within = param("in").unwrap_or_else(|| "title,description".into());
        let (in_title, in_description) = match within.as_str() {
            "title" => (true, false),
            "description" => (false, true),
            "title,description" | "description,title" => (true, true),
            _ => return grape_error(400, "in does not have a valid value"),
        };
        let number = |name: &str, default: usize| -> Result<usize, Answer> {
            match param(name) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse::<i64>()
                    .map(|n| usize::try_from(n).unwrap_or(0))
                    .map_err(|_| grape_error(400, &format!("{name} is invalid"))),
            }
        };
        let per_page = match number("per_page", 20) {
            Ok(0) => 20,
            Ok(n) => n.min(100),
            Err(answer) => return answer,
        };
        let page = match number("page", 1) {
            Ok(n) => n.max(1),
            Err(answer) => return answer,
        };
        let mut iids = Vec::new();
        for (_, v) in query.iter().filter(|(k, _)| k == "iids[]") {
            match v.parse::<u64>() {
                Ok(iid) => iids.push(iid),
                Err(_) => return grape_error(400, "iids is invalid"),
            }
        }
        let labels = param("labels");
        let wanted: Vec<&str> = labels
            .as_deref()
            .map(|l| {
                l.split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let search = param("search").and_then(|s| search_terms(&s));

        let mut matching: Vec<&Issue> = self
            .issues
            .iter()
            .filter(|issue| state == "all" || issue.state == state)
            .filter(|issue| match wanted.as_slice() {
                ["None"] => issue.labels.is_empty(),
                ["Any"] => !issue.labels.is_empty(),
                wanted => wanted.iter().all(|w| issue.labels.iter().any(|l| l == w)),
            })
            .filter(|issue| iids.is_empty() || iids.contains(&issue.iid))
            .filter(|issue| match &search {
                None => true,
                Some(Search::Exact(text)) => {
                    (in_title && issue.title.to_lowercase() == *text)
                        || (in_description
                            && issue
                                .description
                                .as_deref()
                                .is_some_and(|d| d.to_lowercase() == *text))
                }
                Some(Search::Words(words)) => words.iter().all(|word| {
                    (in_title && issue.title.to_lowercase().contains(word))
                        || (in_description
                            && issue
                                .description
                                .as_deref()
                                .is_some_and(|d| d.to_lowercase().contains(word)))
                }),
            })
            .collect();
        // Ties (issues made within one clock tick) fall back on the id, as GitLab's order does.
        match order_by.as_str() {
            "updated_at" => matching.sort_by_key(|i| (i.updated_at, i.id)),
            "title" => matching.sort_by(|a, b| a.title.cmp(&b.title).then(a.id.cmp(&b.id))),
            _ => matching.sort_by_key(|i| (i.created_at, i.id)),
        }
        if sort == "desc" {
            matching.reverse();
        }
        let total = matching.len();
        let pages = total.div_ceil(per_page).max(1);
        let indexes: Vec<usize> = matching
            .iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .filter_map(|i| self.issues.iter().position(|j| j.iid == i.iid))
            .collect();
        let items: Vec<Value> = indexes.iter().map(|i| self.issue_json(inner, *i)).collect();
        let next = if page < pages {
            (page + 1).to_string()
        } else {
            String::new()
        };
        let prev = if page > 1 {
            (page - 1).to_string()
        } else {
            String::new()
        };
        let mut answer = Answer::json(200, &Value::Array(items));
        answer.headers.extend([
            ("x-page", page.to_string()),
            ("x-per-page", per_page.to_string()),
            ("x-next-page", next),
            ("x-prev-page", prev),
            ("x-total", total.to_string()),
            ("x-total-pages", pages.to_string()),
            (
                "link",
                link_header(inner, request, &query, page, per_page, pages),
            ),
        ]);
        answer
    }

    /// The project label titled `title` (case-sensitive), created if the project has none.
    fn label(&mut self, title: &str) -> Label {
        if let Some(label) = self.labels.iter().find(|l| l.title == title) {
            return label.clone();
        }
        let label = Label {
            id: rand::random_range(10_000_000..99_999_999),
            title: title.to_string(),
            color: DEFAULT_LABEL_COLOR.into(),
            created_at: Utc::now(),
        };
        self.labels.push(label.clone());
        label
    }

    fn label_json(&mut self, inner: &Inner, title: &str) -> Value {
        let label = self.label(title);
        json!({
            "id": label.id,
            "title": label.title,
            "color": label.color,
            "project_id": inner.project_id,
            "created_at": hook_time(label.created_at),
            "updated_at": hook_time(label.created_at),
            "template": false,
            "description": null,
            "type": "ProjectLabel",
            "group_id": null,
        })
    }

    fn user_id(&mut self, username: &str) -> u64 {
        if let Some((_, id)) = self.users.iter().find(|(u, _)| u == username) {
            return *id;
        }
        let id = rand::random_range(1_000_000..9_999_999);
        self.users.push((username.to_string(), id));
        id
    }

    fn user_json(&mut self, inner: &Inner, username: &str) -> Value {
        let id = self.user_id(username);
        json!({
            "id": id,
            "username": username,
            "name": display_name(username),
            "state": "active",
            "locked": false,
            "avatar_url": null,
            "web_url": format!("{}/{username}", inner.url()),
        })
    }

    fn issue_json(&mut self, inner: &Inner, index: usize) -> Value {
        let issue = self.issues[index].clone();
        let author = self.user_json(inner, &issue.author);
        let closed_by = match &issue.closed_by {
            Some(username) => self.user_json(inner, username),
            None => Value::Null,
        };
        let api = format!("{}/api/v4/projects/{}", inner.url(), inner.project_id);
        json!({
            "id": issue.id,
            "iid": issue.iid,
            "project_id": inner.project_id,
            "title": issue.title,
            "description": issue.description,
            "state": issue.state,
            "created_at": api_time(issue.created_at),
            "updated_at": api_time(issue.updated_at),
            "closed_at": optional(issue.closed_at, api_time),
            "closed_by": closed_by,
            "labels": issue.labels,
            "milestone": null,
            "assignees": [],
            "author": author,
            "type": "ISSUE",
            "assignee": null,
            "user_notes_count": 0,
            "merge_requests_count": 0,
            "upvotes": 0,
            "downvotes": 0,
            "due_date": null,
            "confidential": false,
            "discussion_locked": null,
            "issue_type": "issue",
            "web_url": issue.web_url,
            "time_stats": {
                "time_estimate": 0,
                "total_time_spent": 0,
                "human_time_estimate": null,
                "human_total_time_spent": null,
            },
            "task_completion_status": { "count": 0, "completed_count": 0 },
            "has_tasks": false,
            "_links": {
                "self": format!("{api}/issues/{}", issue.iid),
                "notes": format!("{api}/issues/{}/notes", issue.iid),
                "award_emoji": format!("{api}/issues/{}/award_emoji", issue.iid),
                "project": api,
                "closed_as_duplicate_of": null,
            },
            "references": {
                "short": format!("#{}", issue.iid),
                "relative": format!("#{}", issue.iid),
                "full": format!("{}#{}", inner.path, issue.iid),
            },
            "severity": "UNKNOWN",
            "moved_to_id": null,
            "service_desk_reply_to": null,
        })
    }

    /// The Issue Hook body for issue `index` as it is now.
    fn hook_body(
        &mut self,
        inner: &Inner,
        index: usize,
        action: &str,
        username: &str,
        changes: Map<String, Value>,
    ) -> Vec<u8> {
        let issue = self.issues[index].clone();
        let user_id = self.user_id(username);
        let author_id = self.user_id(&issue.author);
        let labels: Vec<Value> = issue
            .labels
            .iter()
            .map(|t| self.label_json(inner, t))
            .collect();
        let web_url = inner.project_web_url();
        let namespace = inner
            .path
            .rsplit_once('/')
            .map(|(ns, _)| ns)
            .unwrap_or_default();
        let git_ssh = format!("git@127.0.0.1:{}.git", inner.path);
        let git_http = format!("{web_url}.git");
        let body = json!({
            "object_kind": "issue",
            "event_type": "issue",
            "user": {
                "id": user_id,
                "name": display_name(username),
                "username": username,
                "avatar_url": null,
                "email": "[REDACTED]",
            },
            "project": {
                "id": inner.project_id,
                "name": inner.project_name(),
                "description": null,
                "web_url": web_url,
                "avatar_url": null,
                "git_ssh_url": git_ssh,
                "git_http_url": git_http,
                "namespace": namespace,
                "visibility_level": 0,
                "path_with_namespace": inner.path,
                "default_branch": "main",
                "ci_config_path": null,
                "homepage": web_url,
                "url": git_ssh,
                "ssh_url": git_ssh,
                "http_url": git_http,
            },
            "object_attributes": {
                "author_id": author_id,
                "closed_at": optional(issue.closed_at, hook_time),
                "confidential": false,
                "created_at": hook_time(issue.created_at),
                "description": issue.description,
                "discussion_locked": null,
                "due_date": null,
                "id": issue.id,
                "iid": issue.iid,
                "last_edited_at": null,
                "last_edited_by_id": null,
                "milestone_id": null,
                "moved_to_id": null,
                "duplicated_to_id": null,
                "project_id": inner.project_id,
                "relative_position": null,
                "state_id": if issue.state == "closed" { 2 } else { 1 },
                "time_estimate": 0,
                "title": issue.title,
                "updated_at": hook_time(issue.updated_at),
                "updated_by_id": user_id,
                "type": "Issue",
                "url": issue.web_url,
                "total_time_spent": 0,
                "time_change": 0,
                "human_total_time_spent": null,
                "human_time_change": null,
                "human_time_estimate": null,
                "assignee_ids": [],
                "assignee_id": null,
                "labels": labels,
                "state": issue.state,
                "severity": "unknown",
                "customer_relations_contacts": [],
                "action": action,
            },
            "labels": labels,
            "changes": changes,
            "repository": {
                "name": inner.project_name(),
                "url": git_ssh,
                "description": null,
                "homepage": web_url,
            },
        });
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

/// Validates the parameters of a create (`creating`) or an update.
fn validate(params: &Map<String, Value>, creating: bool) -> Result<Change, Answer> {
    for field in UNSERVED_FIELDS {
        if params.get(field).is_some_and(|v| !v.is_null()) {
            return Err(grape_error(
                400,
                &format!("{field} is a field this fake GitLab does not serve"),
            ));
        }
    }
    let mut change = Change {
        title: string_param(params, "title")?,
        description: match params.get("description") {
            None => None,
            Some(Value::Null) => Some(None),
            Some(_) => Some(string_param(params, "description")?),
        },
        labels: labels_param(params, "labels")?,
        add_labels: labels_param(params, "add_labels")?.unwrap_or_default(),
        remove_labels: labels_param(params, "remove_labels")?.unwrap_or_default(),
        state_event: None,
    };
    if !creating {
        change.state_event = string_param(params, "state_event")?;
        if change
            .state_event
            .as_deref()
            .is_some_and(|e| e != "close" && e != "reopen")
        {
            return Err(grape_error(400, "state_event does not have a valid value"));
        }
        let given = [
            "title",
            "description",
            "labels",
            "add_labels",
            "remove_labels",
            "state_event",
        ];
        if !given.iter().any(|p| params.contains_key(*p)) {
            return Err(grape_error(
                400,
                "assignee_id, assignee_ids, confidential, created_at, description, \
                 discussion_locked, due_date, labels, milestone_id, state_event, title, \
                 issue_type, weight, epic_id, epic_iid, add_labels, remove_labels are missing, \
                 at least one parameter must be provided",
            ));
        }
    }
    let mut errors = Map::new();
    if let Some(title) = &change.title {
        if title.trim().is_empty() {
            errors.insert("title".into(), json!(["can't be blank"]));
        } else if title.chars().count() > MAX_TITLE_CHARS {
            errors.insert(
                "title".into(),
                json!([format!(
                    "is too long (maximum is {MAX_TITLE_CHARS} characters)"
                )]),
            );
        }
    }
    if let Some(Some(description)) = &change.description
        && description.chars().count() > MAX_DESCRIPTION_CHARS
    {
        errors.insert(
            "description".into(),
            json!([format!(
                "is too long (maximum is {MAX_DESCRIPTION_CHARS} characters)"
            )]),
        );
    }
    if errors.is_empty() {
        Ok(change)
    } else {
        Err(Answer::json(400, &json!({ "message": errors })))
    }
}

/// How GitLab reads `search` (`Gitlab::SQL::Pattern`): a query shorter than 3 characters matches
/// a whole title or description; a longer one is split into words (a `"quoted phrase"` stays
/// one), words shorter than 3 characters are dropped, and every word left must occur somewhere,
/// case-insensitively.
enum Search {
    Exact(String),
    Words(Vec<String>),
}

fn search_terms(query: &str) -> Option<Search> {
    let query = query.trim().to_lowercase();
    if query.is_empty() {
        return None;
    }
    if query.chars().count() < 3 {
        return Some(Search::Exact(query));
    }
    let mut words = Vec::new();
    for (i, part) in query.split('"').enumerate() {
        if i % 2 == 1 {
            words.push(part.to_string());
        } else {
            words.extend(part.split_whitespace().map(str::to_string));
        }
    }
    words.retain(|w| w.chars().count() >= 3);
    if words.is_empty() {
        return Some(Search::Exact(query));
    }
    Some(Search::Words(words))
}

/// A display name from a username: `jane.doe` → `Jane Doe`.
fn display_name(username: &str) -> String {
    username
        .split(['.', '-', '_'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect::<String>(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// GitLab's `Link` header: `prev` and `next` when they exist, `first` and `last` always; each
/// URL the request's with its query (keys sorted, as Rails' `to_query` writes them) and `page`
/// and `per_page` set.
fn link_header(
    inner: &Inner,
    request: &Request<'_>,
    query: &[(String, String)],
    page: usize,
    per_page: usize,
    pages: usize,
) -> String {
    let url_for = |n: usize| {
        let mut pairs: Vec<(String, String)> = query
            .iter()
            .filter(|(k, _)| k != "page" && k != "per_page")
            .cloned()
            .collect();
        pairs.push(("page".into(), n.to_string()));
        pairs.push(("per_page".into(), per_page.to_string()));
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &pairs {
            serializer.append_pair(k, v);
        }
        format!("<{}{}?{}>", inner.url(), request.path, serializer.finish())
    };
    let mut links = Vec::new();
    if page > 1 {
        links.push(format!("{}; rel=\"prev\"", url_for((page - 1).min(pages))));
    }
    if page < pages {
        links.push(format!("{}; rel=\"next\"", url_for(page + 1)));
    }
    links.push(format!("{}; rel=\"first\"", url_for(1)));
    links.push(format!("{}; rel=\"last\"", url_for(pages)));
    links.join(", ")
}
