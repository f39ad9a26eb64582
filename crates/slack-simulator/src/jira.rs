//! A strict fake Jira Cloud (platform REST API v3) on 127.0.0.1, for one project: the issues the
//! bot files, the searches it runs, the transitions people make, and the admin webhooks Jira
//! sends when issues change. It is as strict as Jira Cloud, never kinder: it shares no type with
//! the bot and was built from Atlassian's REST v3 reference, its changelog (CHANGE-2046, the
//! removal of `/rest/api/3/search`) and recorded answers, not from what the bot sends.
//!
//! Endpoints:
//! - `POST /rest/api/3/issue` — `{"fields":{"project":{"key"|"id"},"summary","issuetype":
//!   {"name"|"id"},"description":<ADF>,"labels":[…]}}` → 201 `{"id","key","self"}`;
//! - `GET /rest/api/3/issue/{idOrKey}` (optional `fields=summary,status,…`, `*all`,
//!   `*navigable`);
//! - `POST /rest/api/3/search/jql` — the enhanced search: `{"jql","fields":[…],"maxResults",
//!   "nextPageToken"}` → `{"issues":[…],"isLast","nextPageToken"?}`. Without `fields` an issue
//!   is answered as its `id` alone, as the enhanced search does. `maxResults` defaults to 50 and
//!   is capped at 100;
//! - `GET` and `POST /rest/api/3/issue/{idOrKey}/transitions` (ids `11` To Do, `21` In Progress,
//!   `31` Done; the transition to the status the issue is in is not offered, and refused);
//! - `/rest/api/3/search` (and `/rest/api/2/search`, `/rest/api/latest/search`), which Atlassian
//!   removed in 2025, answer 410 with the recorded body ("The requested API has been removed.
//!   Please migrate to the /rest/api/3/search/jql API. …").
//!
//! Rules:
//! - Auth is HTTP Basic, `base64(email:api_token)`; anything else (missing, wrong, `Bearer`) is
//!   401. The REST reference documents 401 ("the authentication credentials are incorrect or
//!   missing") with no body schema; the fake answers plain text (`Client must be authenticated
//!   to access this resource.`), never JSON, so a client that parses an error body there is
//!   caught. (Real Jira may answer an anonymous GET with
//!   404 instead when anonymous browsing is off; the fake always answers 401.)
//! - A POST must be `Content-Type: application/json`, else 415 with an empty body; a body that is
//!   not JSON is 400.
//! - Errors use Jira's `{"errorMessages":[…],"errors":{"<field>":"<message>"}}`. Creating
//!   validates every field and reports every problem at once (400): summary required ("You must
//!   specify a summary of the issue."), at most 255 characters, on one line; a valid project
//!   (`project`: "Specify a valid project ID or key") and issue type (Task, Bug, Story, ids
//!   10001–10003); labels as strings without spaces ("The label 'x y' contains spaces which is
//!   invalid."); a description that is an Atlassian Document (`{"type":"doc","version":1,
//!   "content":[…]}` whose nodes are known ADF node types and whose text nodes are not empty),
//!   else "Operation value must be an Atlassian Document (see the Atlassian Document Format)";
//!   any other field "cannot be set. It is not on the appropriate screen, or unknown.".
//! - An unknown issue is 404 "Issue does not exist or you do not have permission to see it.".
//! - JQL: the fake serves a subset and refuses the rest with 400 `Error in the JQL Query: …`
//!   (a limitation of the fake, strict by refusing): clauses joined by `AND` — `project = KEY`,
//!   `labels = v`, `labels in (a, b)`, `key`/`issuekey` `= K` or `in (K1, K2)`, `status` and
//!   `statusCategory` `=`/`!=`, `created`/`updated` `>=`/`>`/`<=`/`<` a relative period (`-10m`,
//!   `-2h`, `-1d`, `-1w`) or a date (`yyyy-MM-dd[ HH:mm]`, `yyyy/MM/dd[ HH:mm]`, in UTC) — and an
//!   optional `ORDER BY created|updated|key [ASC|DESC]` (default: newest first). As Jira does, a
//!   query with no restriction is refused ("Unbounded JQL queries are not allowed here…"), a
//!   value that names no project, status or category is 400, and so is a key of no issue ("An
//!   issue with key 'OPS-9' does not exist for field 'key'."). `nextPageToken` is opaque and only
//!   good for the same JQL.
//! - Rate limiting is 429 with `Retry-After` (seconds), `X-RateLimit-Limit`,
//!   `X-RateLimit-Remaining: 0`, `X-RateLimit-Reset` (ISO timestamp) and `RateLimit-Reason`, and
//!   no body (none is documented); the fake only refuses when told to ([`FakeJira::rate_limit`]).
//! - Faults (the next requests, whichever endpoint): an error status, the rate-limit refusal, a
//!   request applied whose answer is lost (500, or the connection closed), one applied and
//!   answered late.
//!
//! Webhooks (admin webhooks with a secret, as Jira Cloud has had since 2023): every subscriber
//! gets `jira:issue_created` and `jira:issue_updated` — for changes made over the API (by the
//! API user, [`API_USER_DISPLAY_NAME`]) as well as by people through the handle — as
//! `{"timestamp","webhookEvent","issue_event_type_name","user","issue":{…as GET…},
//! "changelog":{"id","items":[…]}}` with `Content-Type: application/json`, `X-Hub-Signature:
//! sha256=<hex HMAC-SHA256 of the raw body>` (the WebSub form), `X-Atlassian-Webhook-Identifier`
//! (one per delivery, the same on every retry) and, on retries, `X-Atlassian-Webhook-Retry: <n>`.
//! Webhooks go out one at a time in order; a subscriber has 10 s to answer. Jira retries a
//! delivery answered 408, 409, 425, 429 or 5xx, or not answered, up to 5 times (other statuses
//! are not retried); the fake does so after 1, 2, 4, 8 and 16 s ([`FakeJira::retry_delays`]
//! changes them). [`FakeJira::redeliver_last`] sends the last one again.
//!
//! Not faked: other projects, sub-tasks, custom fields, `update` operations, editing issues
//! (`PUT`), comments, assignees, priorities, transition screens, the v2 API, Jira's `OR`, `NOT`,
//! `~`, `IS EMPTY`, functions and most fields in JQL, users' time zones (all UTC), webhook JQL
//! filters (every subscriber gets every event).

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State as AxumState};
use axum::http::{HeaderMap, Method, Uri, header};
use axum::response::Response;
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, Utc};
use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

pub use crate::pagerduty::wire::RecordedRequest;
use crate::pagerduty::wire::{self, Answer, Cut, CutListener, Fault, Faults, random_id};

/// The project's issue types: (id, name).
pub const ISSUE_TYPES: [(&str, &str); 3] =
    [("10001", "Task"), ("10002", "Bug"), ("10003", "Story")];
/// The longest summary Jira accepts, in characters.
pub const MAX_SUMMARY_CHARS: usize = 255;
/// The most issues one search page holds in this fake.
pub const MAX_RESULTS_CAP: usize = 100;
/// How long a webhook subscriber has to answer before the delivery counts as failed.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);
/// The display name of the account the API token belongs to (the `user` of webhooks for changes
/// made over the API).
pub const API_USER_DISPLAY_NAME: &str = "Incident Commander (API)";
/// The `Retry-After` of a rate-limited answer, in seconds.
pub const RETRY_AFTER_SECS: u64 = 1;

const PROJECT_ID: &str = "10000";
const ID_ALPHABET: &[u8] = b"0123456789abcdef";
const REMOVED_SEARCH: &str = "The requested API has been removed. Please migrate to the \
    /rest/api/3/search/jql API. A full migration guideline is available at \
    https://developer.atlassian.com/changelog/#CHANGE-2046";
const NOT_ADF: &str =
    "Operation value must be an Atlassian Document (see the Atlassian Document Format)";
const NO_ISSUE: &str = "Issue does not exist or you do not have permission to see it.";
const UNBOUNDED: &str =
    "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.";
const ADF_NODES: [&str; 33] = [
    "doc",
    "paragraph",
    "text",
    "heading",
    "bulletList",
    "orderedList",
    "listItem",
    "codeBlock",
    "blockquote",
    "rule",
    "hardBreak",
    "mention",
    "emoji",
    "inlineCard",
    "blockCard",
    "embedCard",
    "panel",
    "table",
    "tableRow",
    "tableHeader",
    "tableCell",
    "mediaSingle",
    "mediaGroup",
    "media",
    "status",
    "date",
    "expand",
    "nestedExpand",
    "taskList",
    "taskItem",
    "decisionList",
    "decisionItem",
    "placeholder",
];
const ADF_MARKS: [&str; 9] = [
    "strong",
    "em",
    "code",
    "link",
    "strike",
    "underline",
    "subsup",
    "textColor",
    "backgroundColor",
];

/// One workflow status of the project.
struct StatusDef {
    id: &'static str,
    name: &'static str,
    category_id: u32,
    category_key: &'static str,
    category_name: &'static str,
    color: &'static str,
    /// The id of the (global) transition into it.
    transition_id: &'static str,
}

const STATUSES: [StatusDef; 3] = [
    StatusDef {
        id: "10000",
        name: "To Do",
        category_id: 2,
        category_key: "new",
        category_name: "To Do",
        color: "blue-gray",
        transition_id: "11",
    },
    StatusDef {
        id: "10001",
        name: "In Progress",
        category_id: 4,
        category_key: "indeterminate",
        category_name: "In Progress",
        color: "yellow",
        transition_id: "21",
    },
    StatusDef {
        id: "10002",
        name: "Done",
        category_id: 3,
        category_key: "done",
        category_name: "Done",
        color: "green",
        transition_id: "31",
    },
];

/// The `X-Hub-Signature` Jira puts on a webhook signed with `secret`: `sha256=<lower-case hex
/// HMAC-SHA256 of the raw body>`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC accepts a key of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The text of an Atlassian Document: its text nodes, blocks on lines of their own (hard
/// breaks too), mentions as their text.
pub fn adf_text(doc: &Value) -> String {
    fn walk(node: &Value, out: &mut String) {
        match node["type"].as_str() {
            Some("text") => out.push_str(node["text"].as_str().unwrap_or_default()),
            Some("hardBreak") => out.push('\n'),
            Some("mention") | Some("emoji") => {
                out.push_str(node["attrs"]["text"].as_str().unwrap_or_default())
            }
            _ => {
                let Some(children) = node["content"].as_array() else {
                    return;
                };
                let inline = children.iter().any(|c| {
                    matches!(
                        c["type"].as_str(),
                        Some("text" | "hardBreak" | "mention" | "emoji" | "inlineCard")
                    )
                });
                for (i, child) in children.iter().enumerate() {
                    if i > 0 && !inline {
                        out.push('\n');
                    }
                    walk(child, out);
                }
            }
        }
    }
    let mut out = String::new();
    walk(doc, &mut out);
    out
}

/// An issue of the project, as Jira keeps it.
#[derive(Clone, Debug)]
pub struct Issue {
    /// Numeric, like `10001`.
    pub id: String,
    /// Like `OPS-1`.
    pub key: String,
    /// Its one-line title.
    pub summary: String,
    /// Task, Bug or Story.
    pub issue_type: String,
    /// Its labels, as given.
    pub labels: Vec<String>,
    /// `To Do`, `In Progress` or `Done`.
    pub status: String,
    /// The status category key: `new`, `indeterminate` or `done`.
    pub status_category: String,
    /// `Some("Done")` while it is done.
    pub resolution: Option<String>,
    /// The description, an Atlassian Document (`Null` when none).
    pub description: Value,
    /// When it was created.
    pub created: DateTime<Utc>,
    /// When it last changed.
    pub updated: DateTime<Utc>,
    /// When it was resolved (`None` while it is not).
    pub resolution_date: Option<DateTime<Utc>>,
}

impl Issue {
    /// The description's plain text (see [`adf_text`]).
    pub fn description_text(&self) -> String {
        adf_text(&self.description)
    }

    fn number(&self) -> u64 {
        self.key
            .rsplit('-')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }
}

/// One attempt to send a webhook to a subscriber.
#[derive(Clone, Debug)]
pub struct WebhookDelivery {
    /// The `X-Atlassian-Webhook-Identifier`: one per delivery, the same on every retry.
    pub identifier: String,
    /// `jira:issue_created` or `jira:issue_updated`.
    pub event: String,
    /// The key of the issue it is about.
    pub issue_key: String,
    /// Where it was sent.
    pub url: String,
    /// 1 for the first attempt, 2 for the first retry, …
    pub attempt: u32,
    /// The raw body sent.
    pub body: Vec<u8>,
    /// The `X-Hub-Signature` sent.
    pub signature: String,
    /// The subscriber's HTTP status; `None` when it gave none.
    pub status: Option<u16>,
    /// Why there was no status (refused connection, timeout, …).
    pub error: Option<String>,
    /// When the attempt ended.
    pub at: Instant,
}

impl WebhookDelivery {
    /// The body parsed.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// Answered 2xx.
    pub fn succeeded(&self) -> bool {
        matches!(self.status, Some(200..=299))
    }
}

/// Why an action through the handle could not be done, or its webhook not delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JiraError {
    /// No issue has this key.
    NoIssue { key: String },
    /// The workflow has no status of this name.
    NoStatus { status: String },
    /// The issue already is in this status (the workflow offers no transition to it).
    AlreadyIn { key: String, status: String },
    /// The change was made, but a subscriber gave no HTTP answer (refused connection, timeout).
    Delivery { url: String, error: String },
    /// `redeliver_last` before any webhook was sent.
    NothingDelivered,
    /// The fake was shut down.
    Stopped,
}

impl fmt::Display for JiraError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JiraError::NoIssue { key } => write!(f, "no issue has key {key:?}"),
            JiraError::NoStatus { status } => write!(f, "the workflow has no status {status:?}"),
            JiraError::AlreadyIn { key, status } => write!(f, "{key} already is {status}"),
            JiraError::Delivery { url, error } => {
                write!(f, "webhook to {url} not delivered: {error}")
            }
            JiraError::NothingDelivered => write!(f, "no webhook was sent yet"),
            JiraError::Stopped => write!(f, "the fake Jira was shut down"),
        }
    }
}

impl std::error::Error for JiraError {}

// --- state ---

struct Subscription {
    url: String,
    secret: String,
}

/// One webhook attempt waiting in the outbox.
#[derive(Clone)]
struct Send {
    identifier: String,
    event: String,
    issue_key: String,
    url: String,
    secret: String,
    attempt: u32,
    body: Arc<Vec<u8>>,
}

type Results = Vec<Result<u16, (String, String)>>;

enum Outgoing {
    /// Sent in order; the results (status, or url and error) go to `done`.
    Batch {
        sends: Vec<Send>,
        done: Option<oneshot::Sender<Results>>,
    },
    /// Answered once everything queued before it was sent.
    Flush(oneshot::Sender<()>),
}

#[derive(Default)]
struct State {
    issues: Vec<Issue>,
    /// Display name → account id.
    users: Vec<(String, String)>,
    subscriptions: Vec<Subscription>,
    requests: Vec<RecordedRequest>,
    deliveries: Vec<WebhookDelivery>,
    faults: Faults,
    changelog_ids: u64,
    /// The waits before each retry ([`DEFAULT_RETRIES`] when `None`).
    retries: Option<Vec<Duration>>,
}

/// Jira's five retries, scaled from minutes down to seconds.
const DEFAULT_RETRIES: [Duration; 5] = [
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
    Duration::from_secs(16),
];

struct Inner {
    email: String,
    api_token: String,
    project_key: String,
    port: u16,
    state: Mutex<State>,
    outbox: mpsc::UnboundedSender<Outgoing>,
    shutdown: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Inner {
    fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut state: MutexGuard<'_, State> =
            self.state.lock().expect("fake Jira state lock poisoned");
        f(&mut state)
    }

    fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// A running fake Jira Cloud serving one project. Cheap to clone; all clones share one server.
#[derive(Clone)]
pub struct FakeJira {
    inner: Arc<Inner>,
}

impl fmt::Debug for FakeJira {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeJira")
            .field("port", &self.inner.port)
            .field("project_key", &self.inner.project_key)
            .finish_non_exhaustive()
    }
}

impl FakeJira {
    /// Binds 127.0.0.1 on a free port and serves project `project_key` to the account `email`
    /// authenticating with `api_token`.
    pub async fn start(
        email: &str,
        api_token: &str,
        project_key: &str,
    ) -> std::io::Result<FakeJira> {
        let (listener, port) = CutListener::bind().await?;
        let (outbox, queue) = mpsc::unbounded_channel();
        let (shutdown, _) = watch::channel(false);
        let inner = Arc::new(Inner {
            email: email.to_string(),
            api_token: api_token.to_string(),
            project_key: project_key.to_string(),
            port,
            state: Mutex::new(State::default()),
            outbox,
            shutdown,
            tasks: Mutex::new(Vec::new()),
        });
        let router = Router::new()
            .fallback(handle_request)
            .with_state(inner.clone());
        let server = wire::serve(listener, router, inner.shutdown.subscribe(), "jira");
        let dispatcher = tokio::spawn(dispatch(inner.clone(), queue));
        inner
            .tasks
            .lock()
            .expect("fake Jira task lock poisoned")
            .extend([server, dispatcher]);
        Ok(FakeJira { inner })
    }

    /// The site URL, `http://127.0.0.1:PORT` (what `https://example.atlassian.net` is to Jira).
    pub fn url(&self) -> String {
        self.inner.base_url()
    }

    /// The project this fake serves.
    pub fn project_key(&self) -> String {
        self.inner.project_key.clone()
    }

    /// Subscribes `url` to every issue event, webhooks signed with `secret`.
    pub fn subscribe(&self, url: &str, secret: &str) {
        self.inner.with_state(|s| {
            s.subscriptions.push(Subscription {
                url: url.to_string(),
                secret: secret.to_string(),
            })
        });
    }

    /// The waits before each retry of a delivery Jira retries (one per retry; empty: none).
    pub fn retry_delays(&self, delays: &[Duration]) {
        self.inner.with_state(|s| s.retries = Some(delays.to_vec()));
    }

    // --- people acting on issues ---

    /// `by_display_name` moves issue `key` to `to_status` (`To Do`, `In Progress` or `Done`):
    /// entering Done sets the resolution, leaving it clears it; every subscriber gets
    /// `jira:issue_updated`. Returns the statuses the subscribers answered, in subscription
    /// order; [`JiraError::Delivery`] when one gave no answer (the change stands).
    pub async fn transition(
        &self,
        key: &str,
        to_status: &str,
        by_display_name: &str,
    ) -> Result<Vec<u16>, JiraError> {
        let (tx, rx) = oneshot::channel();
        self.inner.with_state(|s| {
            let index = s.find(key).ok_or(JiraError::NoIssue {
                key: key.to_string(),
            })?;
            let target = STATUSES
                .iter()
                .position(|st| st.name.eq_ignore_ascii_case(to_status))
                .ok_or(JiraError::NoStatus {
                    status: to_status.to_string(),
                })?;
            if s.issues[index].status == STATUSES[target].name {
                return Err(JiraError::AlreadyIn {
                    key: key.to_string(),
                    status: to_status.to_string(),
                });
            }
            let items = s.move_issue(index, target);
            let user = s.user_json(&self.inner, by_display_name);
            s.emit(
                &self.inner,
                index,
                "jira:issue_updated",
                user,
                Some(items),
                Some(tx),
            );
            Ok(())
        })?;
        collect(rx.await.map_err(|_| JiraError::Stopped)?)
    }

    /// Sends the last webhook sent again, byte for byte, with the same
    /// `X-Atlassian-Webhook-Identifier`, as Jira retries one; returns the status answered.
    pub async fn redeliver_last(&self) -> Result<u16, JiraError> {
        let (tx, rx) = oneshot::channel();
        self.inner.with_state(|s| {
            let last = s.deliveries.last().ok_or(JiraError::NothingDelivered)?;
            let attempt = s
                .deliveries
                .iter()
                .filter(|d| d.identifier == last.identifier)
                .count() as u32
                + 1;
            let secret = s
                .subscriptions
                .iter()
                .find(|sub| sub.url == last.url)
                .map(|sub| sub.secret.clone())
                .unwrap_or_default();
            let send = Send {
                identifier: last.identifier.clone(),
                event: last.event.clone(),
                issue_key: last.issue_key.clone(),
                url: last.url.clone(),
                secret,
                attempt,
                body: Arc::new(last.body.clone()),
            };
            self.inner
                .outbox
                .send(Outgoing::Batch {
                    sends: vec![send],
                    done: Some(tx),
                })
                .map_err(|_| JiraError::Stopped)
        })?;
        match rx.await.map_err(|_| JiraError::Stopped)?.into_iter().next() {
            Some(Ok(status)) => Ok(status),
            Some(Err((url, error))) => Err(JiraError::Delivery { url, error }),
            None => Err(JiraError::Stopped),
        }
    }

    /// Waits until every webhook queued so far was sent (retries not yet due excepted).
    pub async fn settle(&self) {
        let (tx, rx) = oneshot::channel();
        if self.inner.outbox.send(Outgoing::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    // --- what happened ---

    /// Every issue, oldest first.
    pub fn issues(&self) -> Vec<Issue> {
        self.inner.with_state(|s| s.issues.clone())
    }

    /// The issue with `key` (or numeric id).
    pub fn issue(&self, key: &str) -> Option<Issue> {
        self.inner
            .with_state(|s| s.find(key).map(|i| s.issues[i].clone()))
    }

    /// Every request received, in order, with what it was answered.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.inner.with_state(|s| s.requests.clone())
    }

    /// Every webhook attempt, in the order sent.
    pub fn deliveries(&self) -> Vec<WebhookDelivery> {
        self.inner.with_state(|s| s.deliveries.clone())
    }

    // --- fault injection (the next requests, whichever endpoint) ---

    wire::fault_injection!(
        "The next `times` requests are refused with 429 and Jira's rate-limit headers, changing nothing."
    );

    /// Stops the server and the webhook sender.
    pub async fn shutdown(self) {
        self.inner.shutdown.send_replace(true);
        let tasks: Vec<_> = self
            .inner
            .tasks
            .lock()
            .expect("fake Jira task lock poisoned")
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

/// The statuses of a batch's first attempts, or the first delivery that got no answer.
fn collect(results: Results) -> Result<Vec<u16>, JiraError> {
    let mut statuses = Vec::new();
    for result in results {
        match result {
            Ok(status) => statuses.push(status),
            Err((url, error)) => return Err(JiraError::Delivery { url, error }),
        }
    }
    Ok(statuses)
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
    fn query_param(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    fn authenticated(&self, email: &str, api_token: &str) -> bool {
        self.headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|encoded| base64_decode(encoded.trim()))
            .is_some_and(|decoded| decoded == format!("{email}:{api_token}").as_bytes())
    }

    /// The JSON object of a POST body, or Jira's refusal (415 for another content type).
    fn json_object(&self) -> Result<Map<String, Value>, Answer> {
        let is_json = self
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/json")
            });
        if !is_json {
            return Err(Answer::empty(415));
        }
        match serde_json::from_slice::<Value>(self.body) {
            Ok(Value::Object(object)) => Ok(object),
            Ok(_) => Err(messages(
                400,
                &["Can not deserialize instance of the request out of a non-object JSON value"],
            )),
            Err(err) => Err(messages(
                400,
                &[&format!("Unexpected character in the JSON body: {err}")],
            )),
        }
    }
}

/// Standard base64 (with padding), as Basic auth carries it.
fn base64_decode(input: &str) -> Option<Vec<u8>> {
    if input.is_empty() || !input.len().is_multiple_of(4) {
        return None;
    }
    let body = input.trim_end_matches('=');
    if input.len() - body.len() > 2 {
        return None;
    }
    let mut out = Vec::with_capacity(input.len() / 4 * 3);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in body.bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Jira's error body: `{"errorMessages":[…],"errors":{}}`.
fn messages(status: u16, messages: &[&str]) -> Answer {
    Answer::json(status, &json!({ "errorMessages": messages, "errors": {} }))
}

/// Jira's field errors: `{"errorMessages":[],"errors":{field: message}}`.
fn field_errors(errors: Map<String, Value>) -> Answer {
    Answer::json(400, &json!({ "errorMessages": [], "errors": errors }))
}

fn jql_error(detail: &str) -> String {
    format!("Error in the JQL Query: {detail}")
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3f%z").to_string()
}

/// Which fields of an issue to answer.
enum Fields {
    All,
    IdOnly,
    Only(Vec<String>),
}

impl Fields {
    fn parse<'a>(names: impl Iterator<Item = &'a str>) -> Fields {
        let mut only = Vec::new();
        for name in names.map(str::trim).filter(|n| !n.is_empty()) {
            if name == "*all" || name == "*navigable" {
                return Fields::All;
            }
            only.push(name.to_string());
        }
        Fields::Only(only)
    }
}

impl State {
    fn answer(&mut self, inner: &Inner, request: &Request<'_>) -> Answer {
        let fault = self.faults.take();
        match fault {
            Some(Fault::Fail(status)) => return messages(status, &["Injected failure"]),
            Some(Fault::RateLimit) => {
                let mut answer = Answer::empty(429);
                let reset = Utc::now() + TimeDelta::seconds(RETRY_AFTER_SECS as i64);
                answer.headers.extend([
                    ("retry-after", RETRY_AFTER_SECS.to_string()),
                    ("x-ratelimit-limit", "100".to_string()),
                    ("x-ratelimit-remaining", "0".to_string()),
                    (
                        "x-ratelimit-reset",
                        reset.format("%Y-%m-%dT%H:%MZ").to_string(),
                    ),
                    ("ratelimit-reason", "jira-burst-based".to_string()),
                ]);
                return answer;
            }
            _ => {}
        }
        self.route(inner, request).after(fault.as_ref())
    }

    fn route(&mut self, inner: &Inner, request: &Request<'_>) -> Answer {
        if !request.authenticated(&inner.email, &inner.api_token) {
            let mut answer =
                Answer::text(401, "Client must be authenticated to access this resource.");
            answer
                .headers
                .push(("www-authenticate", "Basic realm=\"protected-area\"".into()));
            return answer;
        }
        let path = request.path.trim_end_matches('/');
        if matches!(
            path,
            "/rest/api/3/search" | "/rest/api/2/search" | "/rest/api/latest/search"
        ) {
            return messages(410, &[REMOVED_SEARCH]);
        }
        let not_found = || messages(404, &[&format!("null for uri: {}", request.path)]);
        let Some(rest) = path.strip_prefix("/rest/api/3/") else {
            return not_found();
        };
        let segments: Vec<&str> = rest.split('/').collect();
        let method = request.method;
        match segments.as_slice() {
            ["issue"] if method == Method::POST => match request.json_object() {
                Ok(body) => self.create(inner, &body),
                Err(answer) => answer,
            },
            ["issue", key] if method == Method::GET => {
                let Some(index) = self.find(key) else {
                    return messages(404, &[NO_ISSUE]);
                };
                let fields = match request.query_param("fields") {
                    Some(list) => Fields::parse(list.split(',')),
                    None => Fields::All,
                };
                Answer::json(200, &self.issue_json(inner, &self.issues[index], &fields))
            }
            ["search", "jql"] if method == Method::POST => match request.json_object() {
                Ok(body) => self.search(inner, &body),
                Err(answer) => answer,
            },
            ["issue", key, "transitions"] if method == Method::GET => {
                let Some(index) = self.find(key) else {
                    return messages(404, &[NO_ISSUE]);
                };
                let current = self.issues[index].status.clone();
                let transitions: Vec<Value> = STATUSES
                    .iter()
                    .filter(|st| st.name != current)
                    .map(|st| {
                        json!({
                            "id": st.transition_id,
                            "name": st.name,
                            "to": status_json(inner, st),
                            "hasScreen": false,
                            "isGlobal": true,
                            "isInitial": false,
                            "isAvailable": true,
                            "isConditional": false,
                            "isLooped": false,
                        })
                    })
                    .collect();
                Answer::json(
                    200,
                    &json!({ "expand": "transitions", "transitions": transitions }),
                )
            }
            ["issue", key, "transitions"] if method == Method::POST => {
                let Some(index) = self.find(key) else {
                    return messages(404, &[NO_ISSUE]);
                };
                match request.json_object() {
                    Ok(body) => self.transition(inner, index, &body),
                    Err(answer) => answer,
                }
            }
            ["issue"] | ["issue", _] | ["search", "jql"] | ["issue", _, "transitions"] => {
                Answer::empty(405)
            }
            _ => not_found(),
        }
    }

    /// The issue with this key (any case) or numeric id.
    fn find(&self, key_or_id: &str) -> Option<usize> {
        self.issues
            .iter()
            .position(|i| i.key.eq_ignore_ascii_case(key_or_id) || i.id == key_or_id)
    }

    fn create(&mut self, inner: &Inner, body: &Map<String, Value>) -> Answer {
        if body.get("update").is_some_and(|u| u != &json!({})) {
            return messages(
                400,
                &["This fake Jira does not serve `update` operations; set `fields` instead."],
            );
        }
        let Some(Value::Object(fields)) = body.get("fields") else {
            return messages(400, &["Issue fields are required (`fields`)."]);
        };
        let mut errors = Map::new();
        let mut error = |field: &str, message: String| {
            errors.insert(field.to_string(), Value::String(message));
        };

        for name in fields.keys() {
            if !["project", "summary", "issuetype", "description", "labels"]
                .contains(&name.as_str())
            {
                error(
                    name,
                    format!(
                        "Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
                    ),
                );
            }
        }

        let project_ok = match fields.get("project") {
            Some(Value::Object(project)) => {
                project.get("key").and_then(Value::as_str) == Some(inner.project_key.as_str())
                    || project.get("id").and_then(Value::as_str) == Some(PROJECT_ID)
            }
            _ => false,
        };
        if !project_ok {
            error("project", "Specify a valid project ID or key".into());
        }

        let summary = match fields.get("summary") {
            Some(Value::String(summary)) if !summary.trim().is_empty() => {
                if summary.chars().count() > MAX_SUMMARY_CHARS {
                    error(
                        "summary",
                        "Summary must be less than 255 characters.".into(),
                    );
                } else if summary.contains('\n') || summary.contains('\r') {
                    error(
                        "summary",
                        "The summary is invalid because it contains newline characters.".into(),
                    );
                }
                summary.clone()
            }
            None | Some(Value::Null) | Some(Value::String(_)) => {
                error("summary", "You must specify a summary of the issue.".into());
                String::new()
            }
            Some(_) => {
                error("summary", "Operation value must be a string".into());
                String::new()
            }
        };

        let issue_type = match fields.get("issuetype") {
            Some(Value::Object(t)) => ISSUE_TYPES
                .iter()
                .find(|(id, name)| {
                    t.get("id").and_then(Value::as_str) == Some(*id)
                        || t.get("name").and_then(Value::as_str) == Some(*name)
                })
                .map(|(_, name)| name.to_string()),
            _ => None,
        };
        let issue_type = issue_type.unwrap_or_else(|| {
            error(
                "issuetype",
                if fields.contains_key("issuetype") {
                    "Specify a valid issue type".into()
                } else {
                    "Specify an issue type".into()
                },
            );
            String::new()
        });

        let mut labels = Vec::new();
        match fields.get("labels") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for item in items {
                    match item.as_str() {
                        Some("") => error("labels", "Labels cannot be empty.".into()),
                        Some(label) if label.chars().any(char::is_whitespace) => error(
                            "labels",
                            format!("The label '{label}' contains spaces which is invalid."),
                        ),
                        Some(label) if label.chars().count() > 255 => error(
                            "labels",
                            format!("The label '{label}' exceeds the 255 character limit."),
                        ),
                        Some(label) => {
                            if !labels.iter().any(|l| l == label) {
                                labels.push(label.to_string());
                            }
                        }
                        None => error("labels", "Labels must be strings.".into()),
                    }
                }
            }
            Some(_) => error(
                "labels",
                "Operation value must be an array of strings".into(),
            ),
        }

        let description = match fields.get("description") {
            None | Some(Value::Null) => Value::Null,
            Some(doc) if is_adf(doc) => doc.clone(),
            Some(_) => {
                error("description", NOT_ADF.into());
                Value::Null
            }
        };

        if !errors.is_empty() {
            return field_errors(errors);
        }
        let number = self.issues.len() as u64 + 1;
        let now = Utc::now();
        let issue = Issue {
            id: (10_000 + number).to_string(),
            key: format!("{}-{number}", inner.project_key),
            summary,
            issue_type,
            labels,
            status: STATUSES[0].name.into(),
            status_category: STATUSES[0].category_key.into(),
            resolution: None,
            description,
            created: now,
            updated: now,
            resolution_date: None,
        };
        let answer = json!({
            "id": issue.id,
            "key": issue.key,
            "self": format!("{}/rest/api/3/issue/{}", inner.base_url(), issue.id),
        });
        self.issues.push(issue);
        let user = self.user_json(inner, API_USER_DISPLAY_NAME);
        self.emit(
            inner,
            self.issues.len() - 1,
            "jira:issue_created",
            user,
            None,
            None,
        );
        Answer::json(201, &answer)
    }

    fn transition(&mut self, inner: &Inner, index: usize, body: &Map<String, Value>) -> Answer {
        for extra in ["fields", "update"] {
            if body
                .get(extra)
                .is_some_and(|v| v != &json!({}) && !v.is_null())
            {
                return messages(
                    400,
                    &[&format!(
                        "This fake Jira's transitions have no screen: `{extra}` is not served."
                    )],
                );
            }
        }
        let id = match body.get("transition").map(|t| &t["id"]) {
            Some(Value::String(id)) => id.clone(),
            Some(Value::Number(id)) => id.to_string(),
            _ => return messages(400, &["'transition' identifier must be specified."]),
        };
        let current = self.issues[index].status.clone();
        let Some(target) = STATUSES
            .iter()
            .position(|st| st.transition_id == id && st.name != current)
        else {
            return messages(
                400,
                &[&format!(
                    "Transition id '{id}' is not valid for this issue."
                )],
            );
        };
        let items = self.move_issue(index, target);
        let user = self.user_json(inner, API_USER_DISPLAY_NAME);
        self.emit(inner, index, "jira:issue_updated", user, Some(items), None);
        Answer::empty(204)
    }

    /// Moves issue `index` to status `target`; returns the changelog items.
    fn move_issue(&mut self, index: usize, target: usize) -> Vec<Value> {
        let now = Utc::now();
        let issue = &mut self.issues[index];
        let from = STATUSES
            .iter()
            .find(|st| st.name == issue.status)
            .unwrap_or(&STATUSES[0]);
        let to = &STATUSES[target];
        let mut items = vec![json!({
            "field": "status",
            "fieldtype": "jira",
            "fieldId": "status",
            "from": from.id,
            "fromString": from.name,
            "to": to.id,
            "toString": to.name,
        })];
        let resolution = (to.category_key == "done").then(|| "Done".to_string());
        if resolution != issue.resolution {
            items.push(json!({
                "field": "resolution",
                "fieldtype": "jira",
                "fieldId": "resolution",
                "from": issue.resolution.as_ref().map(|_| "10000"),
                "fromString": issue.resolution,
                "to": resolution.as_ref().map(|_| "10000"),
                "toString": resolution,
            }));
        }
        issue.resolution_date = resolution.as_ref().map(|_| now);
        issue.resolution = resolution;
        issue.status = to.name.into();
        issue.status_category = to.category_key.into();
        issue.updated = now;
        items
    }

    fn search(&self, inner: &Inner, body: &Map<String, Value>) -> Answer {
        const KNOWN: [&str; 9] = [
            "jql",
            "nextPageToken",
            "maxResults",
            "fields",
            "expand",
            "properties",
            "fieldsByKeys",
            "failFast",
            "reconcileIssues",
        ];
        if let Some(unknown) = body.keys().find(|k| !KNOWN.contains(&k.as_str())) {
            return messages(400, &[&format!("Unrecognized field \"{unknown}\"")]);
        }
        let jql = match body.get("jql") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(jql)) => jql.clone(),
            Some(_) => return messages(400, &["jql must be a string"]),
        };
        let max_results = match body.get("maxResults") {
            None | Some(Value::Null) => 50,
            Some(Value::Number(n)) if n.as_u64().is_some() => {
                (n.as_u64().unwrap_or(50) as usize).min(MAX_RESULTS_CAP)
            }
            Some(_) => return messages(400, &["maxResults must be a non-negative integer"]),
        };
        let fields = match body.get("fields") {
            None | Some(Value::Null) => Fields::IdOnly,
            Some(Value::Array(names)) if names.iter().all(Value::is_string) => {
                Fields::parse(names.iter().filter_map(Value::as_str))
            }
            Some(_) => return messages(400, &["fields must be an array of strings"]),
        };
        let query = match parse_jql(&jql, self, &inner.project_key) {
            Ok(query) => query,
            Err(message) => return messages(400, &[&message]),
        };
        let offset = match body.get("nextPageToken") {
            None | Some(Value::Null) => 0,
            Some(Value::String(token)) => match decode_token(token, &jql) {
                Some(offset) => offset,
                None => {
                    return messages(
                        400,
                        &["The provided next page token is invalid or expired."],
                    );
                }
            },
            Some(_) => return messages(400, &["nextPageToken must be a string"]),
        };
        let now = Utc::now();
        let mut found: Vec<&Issue> = self
            .issues
            .iter()
            .filter(|issue| query.clauses.iter().all(|c| c.matches(issue, now)))
            .collect();
        found.sort_by(|a, b| {
            let ordering = match query.order_by {
                OrderBy::Created => a.created.cmp(&b.created).then(a.number().cmp(&b.number())),
                OrderBy::Updated => a.updated.cmp(&b.updated).then(a.number().cmp(&b.number())),
                OrderBy::Key => a.number().cmp(&b.number()),
            };
            if query.descending {
                ordering.reverse()
            } else {
                ordering
            }
        });
        let page: Vec<Value> = found
            .iter()
            .skip(offset)
            .take(max_results)
            .map(|issue| self.issue_json(inner, issue, &fields))
            .collect();
        let next = offset + page.len();
        let is_last = next >= found.len() || max_results == 0;
        let mut answer = json!({ "issues": page, "isLast": is_last });
        if !is_last {
            answer["nextPageToken"] = json!(encode_token(next, &jql));
        }
        Answer::json(200, &answer)
    }

    fn user_json(&mut self, inner: &Inner, display_name: &str) -> Value {
        let account_id = match self.users.iter().find(|(n, _)| n == display_name) {
            Some((_, id)) => id.clone(),
            None => {
                let id = format!("712020:{}", uuid::Uuid::new_v4());
                self.users.push((display_name.to_string(), id.clone()));
                id
            }
        };
        json!({
            "self": format!("{}/rest/api/3/user?accountId={account_id}", inner.base_url()),
            "accountId": account_id,
            "displayName": display_name,
            "active": true,
            "timeZone": "UTC",
            "accountType": "atlassian",
        })
    }

    fn issue_json(&self, inner: &Inner, issue: &Issue, fields: &Fields) -> Value {
        let base = inner.base_url();
        if let Fields::IdOnly = fields {
            return json!({ "id": issue.id });
        }
        let status = STATUSES
            .iter()
            .find(|st| st.name == issue.status)
            .unwrap_or(&STATUSES[0]);
        let (type_id, type_name) = ISSUE_TYPES
            .iter()
            .find(|(_, name)| *name == issue.issue_type)
            .copied()
            .unwrap_or(ISSUE_TYPES[0]);
        let all = json!({
            "summary": issue.summary,
            "issuetype": {
                "self": format!("{base}/rest/api/3/issuetype/{type_id}"),
                "id": type_id,
                "name": type_name,
                "description": "",
                "subtask": false,
                "hierarchyLevel": 0,
            },
            "project": {
                "self": format!("{base}/rest/api/3/project/{PROJECT_ID}"),
                "id": PROJECT_ID,
                "key": inner.project_key,
                "name": inner.project_key,
                "projectTypeKey": "software",
                "simplified": false,
            },
            "labels": issue.labels,
            "status": status_json(inner, status),
            "resolution": issue.resolution.as_ref().map(|name| json!({
                "self": format!("{base}/rest/api/3/resolution/10000"),
                "id": "10000",
                "description": "Work has been completed on this issue.",
                "name": name,
            })),
            "description": issue.description,
            "created": timestamp(issue.created),
            "updated": timestamp(issue.updated),
            "resolutiondate": issue.resolution_date.map(timestamp),
        });
        let selected = match fields {
            Fields::Only(names) => Value::Object(
                all.as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(name, _)| names.iter().any(|n| n == *name))
                    .map(|(name, value)| (name.clone(), value.clone()))
                    .collect(),
            ),
            _ => all,
        };
        json!({
            "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
            "id": issue.id,
            "self": format!("{base}/rest/api/3/issue/{}", issue.id),
            "key": issue.key,
            "fields": selected,
        })
    }

    /// Queues `event` about issue `index` for every subscriber.
    fn emit(
        &mut self,
        inner: &Inner,
        index: usize,
        event: &str,
        user: Value,
        changelog: Option<Vec<Value>>,
        done: Option<oneshot::Sender<Results>>,
    ) {
        let issue = self.issues[index].clone();
        let mut body = json!({
            "timestamp": Utc::now().timestamp_millis(),
            "webhookEvent": event,
            "issue_event_type_name": if event == "jira:issue_created" { "issue_created" } else { "issue_generic" },
            "user": user,
            "issue": self.issue_json(inner, &issue, &Fields::All),
        });
        if let Some(items) = changelog {
            self.changelog_ids += 1;
            body["changelog"] = json!({
                "id": (10_000 + self.changelog_ids).to_string(),
                "items": items,
            });
        }
        let body = Arc::new(serde_json::to_vec(&body).unwrap_or_default());
        let sends = self
            .subscriptions
            .iter()
            .map(|sub| Send {
                identifier: random_id(ID_ALPHABET, 32),
                event: event.to_string(),
                issue_key: issue.key.clone(),
                url: sub.url.clone(),
                secret: sub.secret.clone(),
                attempt: 1,
                body: body.clone(),
            })
            .collect();
        let _ = inner.outbox.send(Outgoing::Batch { sends, done });
    }
}

fn status_json(inner: &Inner, st: &StatusDef) -> Value {
    let base = inner.base_url();
    json!({
        "self": format!("{base}/rest/api/3/status/{}", st.id),
        "description": "",
        "iconUrl": format!("{base}/"),
        "name": st.name,
        "id": st.id,
        "statusCategory": {
            "self": format!("{base}/rest/api/3/statuscategory/{}", st.category_id),
            "id": st.category_id,
            "key": st.category_key,
            "colorName": st.color,
            "name": st.category_name,
        },
    })
}

/// An Atlassian Document: `{"type":"doc","version":1,"content":[…]}` of known nodes, with
/// non-empty text nodes and known marks.
fn is_adf(doc: &Value) -> bool {
    fn node_ok(node: &Value) -> bool {
        let Some(kind) = node.get("type").and_then(Value::as_str) else {
            return false;
        };
        if kind == "doc" || !ADF_NODES.contains(&kind) {
            return false;
        }
        if kind == "text" {
            let text_ok = node
                .get("text")
                .and_then(Value::as_str)
                .is_some_and(|t| !t.is_empty());
            let marks_ok = match node.get("marks") {
                None => true,
                Some(Value::Array(marks)) => marks.iter().all(|m| {
                    m.get("type")
                        .and_then(Value::as_str)
                        .is_some_and(|t| ADF_MARKS.contains(&t))
                }),
                Some(_) => false,
            };
            return text_ok && marks_ok;
        }
        match node.get("content") {
            None => true,
            Some(Value::Array(children)) => children.iter().all(node_ok),
            Some(_) => false,
        }
    }
    doc.get("type").and_then(Value::as_str) == Some("doc")
        && doc.get("version").and_then(Value::as_u64) == Some(1)
        && doc
            .get("content")
            .and_then(Value::as_array)
            .is_some_and(|content| content.iter().all(node_ok))
}

fn encode_token(offset: usize, jql: &str) -> String {
    hex::encode(format!("{offset}\u{1f}{jql}"))
}

fn decode_token(token: &str, jql: &str) -> Option<usize> {
    let bytes = hex::decode(token).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (offset, token_jql) = text.split_once('\u{1f}')?;
    (token_jql == jql).then(|| offset.parse().ok())?
}

// --- the JQL subset ---

#[derive(Clone, Copy)]
enum OrderBy {
    Created,
    Updated,
    Key,
}

struct Query {
    clauses: Vec<Clause>,
    order_by: OrderBy,
    descending: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum DateOp {
    Gt,
    Ge,
    Lt,
    Le,
}

enum Clause {
    /// The issue has one of these labels.
    Labels(Vec<String>),
    /// The issue has one of these keys (upper-cased).
    Keys(Vec<String>),
    /// Its status (`negate`: is not) is one of these names.
    Status { names: Vec<String>, negate: bool },
    /// Its status category key is (not) this one.
    Category { key: String, negate: bool },
    /// `created` (or `updated`) compared with an instant, or with a period before now.
    Date {
        updated: bool,
        op: DateOp,
        at: DateAt,
    },
    /// `project = KEY` (the only project).
    Project,
}

enum DateAt {
    Absolute(DateTime<Utc>),
    Relative(TimeDelta),
}

impl Clause {
    fn matches(&self, issue: &Issue, now: DateTime<Utc>) -> bool {
        match self {
            Clause::Project => true,
            Clause::Labels(labels) => labels.iter().any(|l| issue.labels.contains(l)),
            Clause::Keys(keys) => keys.iter().any(|k| k.eq_ignore_ascii_case(&issue.key)),
            Clause::Status { names, negate } => {
                names.iter().any(|n| n.eq_ignore_ascii_case(&issue.status)) != *negate
            }
            Clause::Category { key, negate } => (issue.status_category == *key) != *negate,
            Clause::Date { updated, op, at } => {
                let value = if *updated {
                    issue.updated
                } else {
                    issue.created
                };
                let at = match at {
                    DateAt::Absolute(at) => *at,
                    DateAt::Relative(delta) => now + *delta,
                };
                match op {
                    DateOp::Gt => value > at,
                    DateOp::Ge => value >= at,
                    DateOp::Lt => value < at,
                    DateOp::Le => value <= at,
                }
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Op(&'static str),
    Open,
    Close,
    Comma,
}

impl Tok {
    fn text(&self) -> String {
        match self {
            Tok::Word(w) | Tok::Str(w) => w.clone(),
            Tok::Op(op) => op.to_string(),
            Tok::Open => "(".into(),
            Tok::Close => ")".into(),
            Tok::Comma => ",".into(),
        }
    }

    fn keyword(&self, keyword: &str) -> bool {
        matches!(self, Tok::Word(w) if w.eq_ignore_ascii_case(keyword))
    }
}

/// Tokens with the character (from 1) each starts at.
fn lex(jql: &str) -> Result<Vec<(Tok, usize)>, String> {
    let chars: Vec<char> = jql.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let at = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '"' || c == '\'' {
            let mut text = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => {
                        return Err(jql_error(&format!(
                            "The quoted string starting at character {at} is not closed."
                        )));
                    }
                    Some('\\') => {
                        if let Some(next) = chars.get(i + 1) {
                            text.push(*next);
                        }
                        i += 2;
                    }
                    Some(q) if *q == c => {
                        i += 1;
                        break;
                    }
                    Some(other) => {
                        text.push(*other);
                        i += 1;
                    }
                }
            }
            tokens.push((Tok::Str(text), at));
            continue;
        }
        let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        let op = match (two.as_str(), c) {
            ("!=", _) => Some("!="),
            (">=", _) => Some(">="),
            ("<=", _) => Some("<="),
            ("!~", _) => Some("!~"),
            (_, '=') => Some("="),
            (_, '>') => Some(">"),
            (_, '<') => Some("<"),
            (_, '~') => Some("~"),
            _ => None,
        };
        if let Some(op) = op {
            i += op.len();
            tokens.push((Tok::Op(op), at));
            continue;
        }
        match c {
            '(' => tokens.push((Tok::Open, at)),
            ')' => tokens.push((Tok::Close, at)),
            ',' => tokens.push((Tok::Comma, at)),
            c if c.is_alphanumeric() || "-_.*+/:".contains(c) => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || "-_.*+/:".contains(chars[i]))
                {
                    i += 1;
                }
                tokens.push((Tok::Word(chars[start..i].iter().collect()), at));
                continue;
            }
            other => {
                return Err(jql_error(&format!(
                    "The character '{other}' is a reserved JQL character. (line 1, character {at})"
                )));
            }
        }
        i += 1;
    }
    Ok(tokens)
}

struct Parser<'a> {
    tokens: Vec<(Tok, usize)>,
    at: usize,
    state: &'a State,
    project_key: &'a str,
}

/// Parses the fake's JQL subset (see the module header) against the project's issues.
fn parse_jql(jql: &str, state: &State, project_key: &str) -> Result<Query, String> {
    let mut parser = Parser {
        tokens: lex(jql)?,
        at: 0,
        state,
        project_key,
    };
    let mut query = Query {
        clauses: Vec::new(),
        order_by: OrderBy::Created,
        descending: true,
    };
    loop {
        match parser.peek() {
            None => break,
            Some(tok) if tok.keyword("order") => {
                parser.order_by(&mut query)?;
                break;
            }
            Some(_) => {}
        }
        query.clauses.push(parser.clause()?);
        match parser.next() {
            None => break,
            Some((tok, _)) if tok.keyword("and") => continue,
            Some((tok, _)) if tok.keyword("order") => {
                parser.at -= 1;
                parser.order_by(&mut query)?;
                break;
            }
            Some((tok, at)) if tok.keyword("or") => {
                return Err(jql_error(&format!(
                    "'OR' (line 1, character {at}) is not in this fake's JQL subset; join clauses with AND."
                )));
            }
            Some((tok, at)) => {
                return Err(jql_error(&format!(
                    "Expecting either 'OR' or 'AND' but got '{}'. (line 1, character {at})",
                    tok.text()
                )));
            }
        }
    }
    if let Some((tok, at)) = parser.next() {
        return Err(jql_error(&format!(
            "Expecting end of query but got '{}'. (line 1, character {at})",
            tok.text()
        )));
    }
    if query.clauses.is_empty() {
        return Err(UNBOUNDED.to_string());
    }
    Ok(query)
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.at).map(|(t, _)| t)
    }

    fn next(&mut self) -> Option<(Tok, usize)> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn end_position(&self) -> usize {
        self.tokens
            .last()
            .map(|(t, at)| at + t.text().chars().count())
            .unwrap_or(1)
    }

    fn expected(&self, what: &str) -> String {
        match self.tokens.get(self.at) {
            Some((tok, at)) => jql_error(&format!(
                "Expecting {what} but got '{}'. (line 1, character {at})",
                tok.text()
            )),
            None => jql_error(&format!(
                "Expecting {what} before the end of the query. (line 1, character {})",
                self.end_position()
            )),
        }
    }

    fn value(&mut self) -> Result<String, String> {
        match self.peek() {
            Some(Tok::Word(_)) | Some(Tok::Str(_)) => {
                let (tok, _) = self.next().expect("peeked");
                Ok(tok.text())
            }
            _ => Err(self.expected("a value")),
        }
    }

    /// `= v`, or `in (a, b)`; returns the values.
    fn values(&mut self, operator: &str) -> Result<Vec<String>, String> {
        if operator == "in" {
            if self.peek() != Some(&Tok::Open) {
                return Err(self.expected("'('"));
            }
            self.at += 1;
            let mut values = vec![self.value()?];
            loop {
                match self.next() {
                    Some((Tok::Comma, _)) => values.push(self.value()?),
                    Some((Tok::Close, _)) => return Ok(values),
                    _ => {
                        self.at -= 1;
                        return Err(self.expected("',' or ')'"));
                    }
                }
            }
        }
        Ok(vec![self.value()?])
    }

    fn operator(&mut self) -> Result<String, String> {
        match self.next() {
            Some((Tok::Op(op), _)) => Ok(op.to_string()),
            Some((tok, _)) if tok.keyword("in") => Ok("in".into()),
            Some((tok, at)) if tok.keyword("not") || tok.keyword("is") => Err(jql_error(&format!(
                "'{}' (line 1, character {at}) is not in this fake's JQL subset.",
                tok.text()
            ))),
            _ => {
                self.at -= 1;
                Err(self.expected("operator"))
            }
        }
    }

    fn unsupported(field: &str, operator: &str) -> String {
        jql_error(&format!(
            "The operator '{operator}' on field '{field}' is not in this fake's JQL subset."
        ))
    }

    fn clause(&mut self) -> Result<Clause, String> {
        let (field, _) = match self.next() {
            Some((Tok::Word(w), at)) | Some((Tok::Str(w), at)) => (w, at),
            _ => {
                self.at -= 1;
                return Err(self.expected("a field name"));
            }
        };
        let operator = self.operator()?;
        match field.to_ascii_lowercase().as_str() {
            "project" => {
                if operator != "=" && operator != "in" {
                    return Err(Self::unsupported(&field, &operator));
                }
                let values = self.values(&operator)?;
                for value in &values {
                    if !value.eq_ignore_ascii_case(self.project_key) && value != PROJECT_ID {
                        return Err(format!(
                            "The value '{value}' does not exist for the field 'project'."
                        ));
                    }
                }
                Ok(Clause::Project)
            }
            "labels" => {
                if operator != "=" && operator != "in" {
                    return Err(Self::unsupported(&field, &operator));
                }
                Ok(Clause::Labels(self.values(&operator)?))
            }
            "key" | "issuekey" | "issue" | "id" => {
                if operator != "=" && operator != "in" {
                    return Err(Self::unsupported(&field, &operator));
                }
                let keys = self.values(&operator)?;
                for key in &keys {
                    let well_formed = key
                        .split_once('-')
                        .is_some_and(|(p, n)| !p.is_empty() && n.parse::<u64>().is_ok());
                    if !well_formed && key.parse::<u64>().is_err() {
                        return Err(format!(
                            "The issue key '{key}' for field '{field}' is invalid."
                        ));
                    }
                    if self.state.find(key).is_none() {
                        return Err(format!(
                            "An issue with key '{key}' does not exist for field '{field}'."
                        ));
                    }
                }
                let keys = keys
                    .iter()
                    .filter_map(|k| self.state.find(k))
                    .map(|i| self.state.issues[i].key.clone())
                    .collect();
                Ok(Clause::Keys(keys))
            }
            "status" => {
                let negate = operator == "!=";
                if operator != "=" && operator != "!=" && operator != "in" {
                    return Err(Self::unsupported(&field, &operator));
                }
                let names = self.values(&operator)?;
                for name in &names {
                    if !STATUSES
                        .iter()
                        .any(|st| st.name.eq_ignore_ascii_case(name) || st.id == name)
                    {
                        return Err(format!(
                            "The value '{name}' does not exist for the field 'status'."
                        ));
                    }
                }
                let names = names
                    .iter()
                    .filter_map(|n| {
                        STATUSES
                            .iter()
                            .find(|st| st.name.eq_ignore_ascii_case(n) || st.id == n)
                    })
                    .map(|st| st.name.to_string())
                    .collect();
                Ok(Clause::Status { names, negate })
            }
            "statuscategory" => {
                if operator != "=" && operator != "!=" {
                    return Err(Self::unsupported(&field, &operator));
                }
                let value = self.value()?;
                let Some(category) = STATUSES.iter().find(|st| {
                    st.category_key.eq_ignore_ascii_case(&value)
                        || st.category_name.eq_ignore_ascii_case(&value)
                        || st.category_id.to_string() == value
                }) else {
                    return Err(format!(
                        "The value '{value}' does not exist for the field 'statusCategory'."
                    ));
                };
                Ok(Clause::Category {
                    key: category.category_key.to_string(),
                    negate: operator == "!=",
                })
            }
            name @ ("created" | "updated" | "createddate" | "updateddate") => {
                let op = match operator.as_str() {
                    ">" => DateOp::Gt,
                    ">=" => DateOp::Ge,
                    "<" => DateOp::Lt,
                    "<=" => DateOp::Le,
                    _ => return Err(Self::unsupported(&field, &operator)),
                };
                let value = self.value()?;
                let at = parse_date(&value).ok_or_else(|| {
                    format!(
                        "Date value '{value}' for field '{field}' is invalid. Valid formats \
                         include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', \
                         'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'."
                    )
                })?;
                Ok(Clause::Date {
                    updated: name.starts_with("updated"),
                    op,
                    at,
                })
            }
            _ => Err(jql_error(&format!(
                "The field '{field}' is not in this fake's JQL subset (project, labels, key, \
                 issuekey, status, statusCategory, created, updated)."
            ))),
        }
    }

    fn order_by(&mut self, query: &mut Query) -> Result<(), String> {
        self.at += 1; // ORDER
        match self.next() {
            Some((tok, _)) if tok.keyword("by") => {}
            _ => {
                self.at -= 1;
                return Err(self.expected("'BY'"));
            }
        }
        let field = self.value()?;
        query.order_by = match field.to_ascii_lowercase().as_str() {
            "created" | "createddate" => OrderBy::Created,
            "updated" | "updateddate" => OrderBy::Updated,
            "key" | "issuekey" | "id" => OrderBy::Key,
            _ => {
                return Err(jql_error(&format!(
                    "Ordering by '{field}' is not in this fake's JQL subset (created, updated, key)."
                )));
            }
        };
        query.descending = false;
        match self.peek() {
            Some(tok) if tok.keyword("desc") => {
                query.descending = true;
                self.at += 1;
            }
            Some(tok) if tok.keyword("asc") => self.at += 1,
            _ => {}
        }
        Ok(())
    }
}

/// A JQL date: a period relative to now (`-10m`, `-2h`, `-1d`, `-1w`, `+1d`) or an absolute date
/// (`yyyy-MM-dd[ HH:mm]`, `yyyy/MM/dd[ HH:mm]`), taken as UTC.
fn parse_date(value: &str) -> Option<DateAt> {
    let value = value.trim();
    let (sign, rest) = match value.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, value.strip_prefix('+').unwrap_or(value)),
    };
    if let Some(unit) = rest.chars().last()
        && let Ok(amount) = rest[..rest.len() - unit.len_utf8()].parse::<i64>()
    {
        let delta = match unit {
            'm' => TimeDelta::try_minutes(amount),
            'h' => TimeDelta::try_hours(amount),
            'd' => TimeDelta::try_days(amount),
            'w' => TimeDelta::try_weeks(amount),
            _ => None,
        }?;
        return Some(DateAt::Relative(delta * sign));
    }
    let normalized = value.replace('/', "-");
    if let Ok(at) = NaiveDateTime::parse_from_str(&normalized, "%Y-%m-%d %H:%M") {
        return Some(DateAt::Absolute(at.and_utc()));
    }
    NaiveDate::parse_from_str(&normalized, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|at| DateAt::Absolute(at.and_utc()))
}

// --- webhooks ---

/// Sends queued webhooks one at a time, in order, and records every attempt.
async fn dispatch(inner: Arc<Inner>, mut queue: mpsc::UnboundedReceiver<Outgoing>) {
    crate::install_tls_provider();
    let client = reqwest::Client::builder()
        .timeout(WEBHOOK_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .expect("the webhook client builds");
    let mut stop = inner.shutdown.subscribe();
    loop {
        let next = tokio::select! {
            next = queue.recv() => next,
            _ = stop.wait_for(|stopped| *stopped) => None,
        };
        match next {
            None => return,
            Some(Outgoing::Flush(done)) => {
                let _ = done.send(());
            }
            Some(Outgoing::Batch { sends, done }) => {
                let mut results = Vec::new();
                for send in sends {
                    results.push(deliver(&inner, &client, send).await);
                }
                if let Some(done) = done {
                    let _ = done.send(results);
                }
            }
        }
    }
}

/// Whether Jira retries a delivery that ended this way.
fn retried(outcome: &Result<u16, String>) -> bool {
    match outcome {
        Ok(status) => matches!(status, 408 | 409 | 425 | 429) || *status >= 500,
        Err(_) => true,
    }
}

async fn deliver(
    inner: &Inner,
    client: &reqwest::Client,
    send: Send,
) -> Result<u16, (String, String)> {
    let signature = sign(&send.secret, &send.body);
    let mut request = client
        .post(&send.url)
        .header("content-type", "application/json")
        .header("user-agent", "Atlassian Webhook HTTP Client")
        .header("x-hub-signature", &signature)
        .header("x-atlassian-webhook-identifier", &send.identifier);
    if send.attempt > 1 {
        request = request.header("x-atlassian-webhook-retry", (send.attempt - 1).to_string());
    }
    let outcome = match request.body(send.body.to_vec()).send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            match response.bytes().await {
                Ok(_) => Ok(status),
                Err(err) => Err(describe(&err)),
            }
        }
        Err(err) => Err(describe(&err)),
    };
    let wait = inner.with_state(|s| {
        s.deliveries.push(WebhookDelivery {
            identifier: send.identifier.clone(),
            event: send.event.clone(),
            issue_key: send.issue_key.clone(),
            url: send.url.clone(),
            attempt: send.attempt,
            body: send.body.to_vec(),
            signature: signature.clone(),
            status: outcome.as_ref().ok().copied(),
            error: outcome.as_ref().err().cloned(),
            at: Instant::now(),
        });
        let retries = s.retries.as_deref().unwrap_or(&DEFAULT_RETRIES);
        retries.get(send.attempt as usize - 1).copied()
    });
    if retried(&outcome)
        && let Some(wait) = wait
    {
        let mut again = send.clone();
        again.attempt += 1;
        let outbox = inner.outbox.clone();
        tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            let _ = outbox.send(Outgoing::Batch {
                sends: vec![again],
                done: None,
            });
        });
    }
    outcome.map_err(|error| (send.url, error))
}

fn describe(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        return format!(
            "no answer within {} s (Jira counts it as failed)",
            WEBHOOK_TIMEOUT.as_secs()
        );
    }
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
