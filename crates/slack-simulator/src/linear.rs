//! A strict fake Linear GraphQL API on 127.0.0.1, for one team: the issues the bot files and
//! finds, their labels and workflow states, the changes people make, and the webhooks Linear
//! sends when issues change. It is as strict as Linear, never kinder, where it can be: it shares
//! no type with the bot and was built from Linear's published schema and SDK
//! (`linear/linear`), its developer docs and recorded answers, not from what the bot sends.
//!
//! It is one endpoint, `POST /graphql` with `{"query","variables","operationName"?}`. The fake is
//! no GraphQL executor; it is strict differently:
//! - It parses the document (operations, variable definitions, fragments skipped) and takes the
//!   one operation (`operationName` picks among several), whose selection set must hold exactly
//!   one **root field**. Every argument of that root field must be a `$variable` — an inline
//!   literal is refused with a validation error. That is this fake's rule, not Linear's; a
//!   client written against Linear with variables passes it. Variables must be declared, used,
//!   of the type the argument takes (`IssueCreateInput!`, `String!`, `IssueFilter`, …) and
//!   given when non-null, as GraphQL validation requires.
//! - Root fields served — queries: `issue(id)` (UUID or identifier `ENG-12`), `issues(filter,
//!   first, after, orderBy, includeArchived)`, `issueLabels(filter, first, after)`,
//!   `workflowStates(filter, first, after)`, `team(id)`, `viewer`; mutations:
//!   `issueCreate(input)`, `issueUpdate(id, input)`, `issueLabelCreate(input)`. Any other root
//!   field is `Cannot query field "x" on type "Query".`, also a query field asked in a mutation
//!   and the other way round.
//! - Input objects are checked field by field: a field the type does not have is refused as
//!   GraphQL coerces variables (`Field "x" is not defined by type "IssueCreateInput".`); a
//!   field Linear has but the fake does not serve (assignees, projects, cycles, …) is refused
//!   too, saying so. `IssueCreateInput`: `teamId` (required; this team), `title` (not empty),
//!   `description` (markdown), `labelIds` (existing labels), `stateId` (a state of the team;
//!   default Backlog), `priority` (0–4), `id` (a client-chosen UUID; an issue with that id
//!   already → "Entity already exists"). `IssueUpdateInput`: `title`, `description`,
//!   `stateId`, `labelIds`, `addedLabelIds`, `removedLabelIds`, `priority`.
//! - `IssueFilter` subset: `id`, `number`, `title`, `description`, `priority`, `team {id key
//!   name}`, `state {id name type}`, `labels` (`some`/`every`/`none`, or `id`/`name` directly,
//!   meaning some), `createdAt`, `updatedAt`, `completedAt`, `canceledAt`, `and`, `or`;
//!   comparators `eq neq in nin contains containsIgnoreCase notContains startsWith endsWith
//!   eqIgnoreCase null` (strings, ids), `eq neq gt gte lt lte in nin` (numbers), `eq gt gte lt
//!   lte null` (dates: ISO 8601 instants or durations relative to now such as `-P1D`,
//!   `-PT10M`). Other keys are refused. Connections answer `{"nodes","pageInfo":{"hasNextPage",
//!   "endCursor","hasPreviousPage","startCursor"}}`, `first` defaults to 50 and may not exceed
//!   250, cursors are node ids; newest first (`orderBy: updatedAt` sorts by last change).
//! - An issue is answered with all its fields whatever the selection set asks (`id`,
//!   `identifier`, `number`, `title`, `description`, `priority`, `url`
//!   `https://linear.app/<org>/issue/ENG-1/<slug>`, `state {id name type color}`, `team`,
//!   `labels {nodes {id name color}}`, `labelIds`, `createdAt`, `updatedAt`, `startedAt`,
//!   `completedAt`, `canceledAt`, `archivedAt`): a known way the fake is kinder than Linear,
//!   which answers only what was selected and refuses fields the type lacks. Answers are keyed
//!   by the root field's alias when it has one.
//!
//! Errors, as Linear sends them:
//! - Authentication: a personal API key is sent bare (`Authorization: <key>`), an OAuth token
//!   as `Bearer <token>`; the fake accepts its one key either way. Anything else is HTTP 401
//!   with the body recorded from Linear (several independent live probes recorded 401 and
//!   this body; some clients' fixtures assume 400, which a client reading `extensions.code`
//!   handles alike), the same for a missing and a wrong key: `{"errors":[{"message":"Authentication
//!   required, not authenticated","extensions":{"type":"authentication error","code":
//!   "AUTHENTICATION_ERROR","statusCode":401,"userError":true,"userPresentableMessage":"You need
//!   to authenticate to access this operation.","meta":{},"http":{"status":401}}}]}`.
//! - Document and variable problems: HTTP 400, `extensions.code` `GRAPHQL_PARSE_FAILED` or
//!   `GRAPHQL_VALIDATION_FAILED` (`type` `graphql error`), as recorded.
//! - Input Linear refuses when running (an entity not found, already existing, a duplicate
//!   label, a bad priority): HTTP 400, `"data": null`, `extensions` `{"type":"invalid input",
//!   "code":"INPUT_ERROR","statusCode":400,"userError":true,"userPresentableMessage"}` with the
//!   root field's `path` — the code recorded from Linear ("Entity not found: Issue", "Could not
//!   find referenced Issue.").
//! - Rate limiting ([`FakeLinear::rate_limit`]) is HTTP 400 with `{"errors":[{"message":"Rate
//!   limit exceeded","extensions":{"code":"RATELIMITED","type":"ratelimited"}}]}` and
//!   `X-RateLimit-Requests-Limit`, `X-RateLimit-Requests-Remaining: 0`,
//!   `X-RateLimit-Requests-Reset` (epoch milliseconds), as Linear's rate-limiting docs describe;
//!   Linear's SDK also treats a 429 as rate limited, so a client should look at
//!   `extensions.code`, not the status.
//! - Not `POST`, or not `Content-Type: application/json`, or a body without a `query`: HTTP 400.
//!   Other paths: 404.
//! - Faults (the next requests): an error status, the rate-limit refusal, a request applied
//!   whose answer is lost (500, or the connection closed), one applied and answered late.
//!
//! Webhooks ("Webhooks" in Linear's developer docs): every subscriber gets the Issue `create` and
//! `update` events — for changes made over the API (by the key's user, [`API_USER_NAME`]) and by
//! people through the handle — as `{"action","type":"Issue","createdAt","data":{…issue with
//! teamId, stateId, labelIds, state, team, labels…},"updatedFrom":{…previous values…},"url",
//! "actor":{"id","name","type":"user"},"organizationId","webhookTimestamp","webhookId"}` with
//! `Content-Type: application/json; charset=utf-8`, `User-Agent: Linear-Webhook`,
//! `Linear-Event: Issue`, `Linear-Delivery: <uuid>` and `Linear-Signature: <hex HMAC-SHA256 of
//! the raw body>`. `webhookTimestamp` is the time of sending, so that a receiver can refuse
//! replays older than a minute; every attempt is stamped and signed afresh (same
//! `Linear-Delivery`). Linear retries a delivery not answered 2xx within 5 s three times (after
//! 1 minute, 1 hour, 6 hours); the fake after 1, 2 and 4 s ([`FakeLinear::retry_delays`]).
//! [`FakeLinear::redeliver_last`] sends the last one again; [`FakeLinear::redeliver_last_aged`]
//! sends it stamped as if sent long ago, to test replay protection.
//!
//! Not faked: other teams, projects, cycles, assignees, comments, attachments, archiving and
//! deleting, sub-issues, the selection set (see above), fragments at the root, several root
//! fields in one operation, `last`/`before` pagination, complexity limits, other webhook
//! resource types.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State as AxumState};
use axum::http::{HeaderMap, Method, Uri, header};
use axum::response::Response;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

pub use crate::pagerduty::wire::RecordedRequest;
use crate::pagerduty::wire::{self, Answer, Cut, CutListener, Fault, Faults};

/// The workspace's URL key in every issue URL (`https://linear.app/example/issue/…`).
pub const ORG_URL_KEY: &str = "example";
/// The name of the user the API key belongs to (the `actor` of webhooks for API changes).
pub const API_USER_NAME: &str = "Incident Commander";
/// How long a webhook subscriber has to answer before Linear counts the delivery as failed.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);
/// The most nodes one connection page may ask for.
pub const MAX_PAGE: u64 = 250;
/// The team's workflow states: (name, type, color).
pub const WORKFLOW_STATES: [(&str, &str, &str); 5] = [
    ("Backlog", "backlog", "#bec2c8"),
    ("Todo", "unstarted", "#e2e2e2"),
    ("In Progress", "started", "#f2c94c"),
    ("Done", "completed", "#5e6ad2"),
    ("Canceled", "canceled", "#95a2b3"),
];

/// Linear's three retries (1 minute, 1 hour, 6 hours), scaled down to seconds.
const DEFAULT_RETRIES: [Duration; 3] = [
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
];

/// The `Linear-Signature` of a webhook signed with `secret`: the lower-case hex HMAC-SHA256 of
/// the raw body.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC accepts a key of any length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// An issue of the team, as Linear keeps it.
#[derive(Clone, Debug)]
pub struct Issue {
    /// A UUID.
    pub id: String,
    /// Like `ENG-1`.
    pub identifier: String,
    /// The team-wide number, from 1.
    pub number: u64,
    /// Its title.
    pub title: String,
    /// Its markdown description (`None` when none).
    pub description: Option<String>,
    /// The names of its labels.
    pub labels: Vec<String>,
    /// Its workflow state's name (`Backlog`, `Todo`, …).
    pub state_name: String,
    /// Its workflow state's type (`backlog`, `unstarted`, `started`, `completed`, `canceled`).
    pub state_type: String,
    /// 0 (none) to 4 (low).
    pub priority: u8,
    /// `https://linear.app/example/issue/ENG-1/<slug>`.
    pub url: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it entered a completed state (`None` unless it is in one).
    pub completed_at: Option<DateTime<Utc>>,
    /// When it entered a canceled state (`None` unless it is in one).
    pub canceled_at: Option<DateTime<Utc>>,
}

/// A label issues can carry.
#[derive(Clone, Debug)]
pub struct Label {
    /// A UUID.
    pub id: String,
    /// Its name, unique in its team (or the workspace).
    pub name: String,
    /// Like `#bec2c8`.
    pub color: String,
    /// The team it belongs to; `None` for a workspace label.
    pub team_id: Option<String>,
}

/// One attempt to send a webhook to a subscriber.
#[derive(Clone, Debug)]
pub struct WebhookDelivery {
    /// The `Linear-Delivery`: one per webhook, the same on every retry.
    pub delivery_id: String,
    /// `create` or `update`.
    pub action: String,
    /// The identifier of the issue it is about.
    pub issue_identifier: String,
    /// Where it was sent.
    pub url: String,
    /// 1 for the first attempt, 2 for the first retry, …
    pub attempt: u32,
    /// The raw body sent.
    pub body: Vec<u8>,
    /// The `Linear-Signature` sent.
    pub signature: String,
    /// The subscriber's HTTP status; `None` when it gave none.
    pub status: Option<u16>,
    /// Why there was no status (refused connection, timeout after 5 s, …).
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
pub enum LinearError {
    /// No issue has this identifier (or id).
    NoIssue { identifier: String },
    /// The team has no workflow state of this type.
    NoState { state_type: String },
    /// The change was made, but a subscriber gave no HTTP answer (refused connection, timeout).
    Delivery { url: String, error: String },
    /// `redeliver_last` before any webhook was sent.
    NothingDelivered,
    /// The fake was shut down.
    Stopped,
}

impl fmt::Display for LinearError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinearError::NoIssue { identifier } => write!(f, "no issue {identifier:?}"),
            LinearError::NoState { state_type } => {
                write!(f, "the team has no workflow state of type {state_type:?}")
            }
            LinearError::Delivery { url, error } => {
                write!(f, "webhook to {url} not delivered: {error}")
            }
            LinearError::NothingDelivered => write!(f, "no webhook was sent yet"),
            LinearError::Stopped => write!(f, "the fake Linear was shut down"),
        }
    }
}

impl std::error::Error for LinearError {}

// --- state ---

#[derive(Clone)]
struct WorkflowState {
    id: String,
    name: &'static str,
    kind: &'static str,
    color: &'static str,
    position: usize,
}

#[derive(Clone, Default)]
struct IssueRec {
    id: String,
    number: u64,
    title: String,
    description: Option<String>,
    priority: u8,
    state_id: String,
    label_ids: Vec<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    completed_at: Option<DateTime<Utc>>,
    canceled_at: Option<DateTime<Utc>>,
}

struct Subscription {
    id: String,
    url: String,
    secret: String,
}

/// One webhook attempt waiting in the outbox.
#[derive(Clone)]
struct Send {
    delivery_id: String,
    action: String,
    issue_identifier: String,
    url: String,
    secret: String,
    attempt: u32,
    /// The payload without its `webhookTimestamp`, which is set when sending.
    payload: Arc<Value>,
    /// Stamp the delivery this much in the past.
    aged: Duration,
}

type Results = Vec<Result<u16, (String, String)>>;

enum Outgoing {
    Batch {
        sends: Vec<Send>,
        done: Option<oneshot::Sender<Results>>,
    },
    Flush(oneshot::Sender<()>),
}

#[derive(Default)]
struct State {
    states: Vec<WorkflowState>,
    labels: Vec<Label>,
    issues: Vec<IssueRec>,
    /// Person name → user id.
    users: Vec<(String, String)>,
    subscriptions: Vec<Subscription>,
    requests: Vec<RecordedRequest>,
    deliveries: Vec<WebhookDelivery>,
    /// The last send of every webhook, to redeliver.
    sent: Vec<Send>,
    faults: Faults,
    retries: Option<Vec<Duration>>,
    sync_id: u64,
}

struct Inner {
    api_key: String,
    team_id: String,
    team_key: String,
    organization_id: String,
    port: u16,
    state: Mutex<State>,
    outbox: mpsc::UnboundedSender<Outgoing>,
    shutdown: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Inner {
    fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut state: MutexGuard<'_, State> =
            self.state.lock().expect("fake Linear state lock poisoned");
        f(&mut state)
    }
}

/// A running fake Linear serving one team. Cheap to clone; all clones share one server.
#[derive(Clone)]
pub struct FakeLinear {
    inner: Arc<Inner>,
}

impl fmt::Debug for FakeLinear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeLinear")
            .field("port", &self.inner.port)
            .field("team_key", &self.inner.team_key)
            .finish_non_exhaustive()
    }
}

impl FakeLinear {
    /// Binds 127.0.0.1 on a free port and serves team `team_id` (key `team_key`, like `ENG`) to
    /// callers with `api_key`.
    pub async fn start(
        api_key: &str,
        team_id: &str,
        team_key: &str,
    ) -> std::io::Result<FakeLinear> {
        let (listener, port) = CutListener::bind().await?;
        let (outbox, queue) = mpsc::unbounded_channel();
        let (shutdown, _) = watch::channel(false);
        let state = State {
            states: WORKFLOW_STATES
                .iter()
                .enumerate()
                .map(|(position, (name, kind, color))| WorkflowState {
                    id: uuid::Uuid::new_v4().to_string(),
                    name,
                    kind,
                    color,
                    position,
                })
                .collect(),
            users: vec![(API_USER_NAME.to_string(), uuid::Uuid::new_v4().to_string())],
            ..State::default()
        };
        let inner = Arc::new(Inner {
            api_key: api_key.to_string(),
            team_id: team_id.to_string(),
            team_key: team_key.to_string(),
            organization_id: uuid::Uuid::new_v4().to_string(),
            port,
            state: Mutex::new(state),
            outbox,
            shutdown,
            tasks: Mutex::new(Vec::new()),
        });
        let router = Router::new()
            .fallback(handle_request)
            .with_state(inner.clone());
        let server = wire::serve(listener, router, inner.shutdown.subscribe(), "linear");
        let dispatcher = tokio::spawn(dispatch(inner.clone(), queue));
        inner
            .tasks
            .lock()
            .expect("fake Linear task lock poisoned")
            .extend([server, dispatcher]);
        Ok(FakeLinear { inner })
    }

    /// The GraphQL endpoint, `http://127.0.0.1:PORT/graphql`.
    pub fn api_url(&self) -> String {
        format!("http://127.0.0.1:{}/graphql", self.inner.port)
    }

    /// The team's id.
    pub fn team_id(&self) -> String {
        self.inner.team_id.clone()
    }

    /// The id of the team's workflow state of type `state_type` (`completed`, …).
    pub fn state_id(&self, state_type: &str) -> Option<String> {
        self.inner.with_state(|s| {
            s.states
                .iter()
                .find(|st| st.kind == state_type)
                .map(|st| st.id.clone())
        })
    }

    /// Adds a label of the team (as someone did in Linear's app); returns its id.
    pub fn add_label(&self, name: &str) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        self.inner.with_state(|s| {
            s.labels.push(Label {
                id: id.clone(),
                name: name.to_string(),
                color: "#bec2c8".into(),
                team_id: Some(self.inner.team_id.clone()),
            })
        });
        id
    }

    /// Every label, oldest first.
    pub fn labels(&self) -> Vec<Label> {
        self.inner.with_state(|s| s.labels.clone())
    }

    /// Subscribes `url` to Issue events, webhooks signed with `secret`; returns the webhook id
    /// (`webhookId` in payloads).
    pub fn subscribe(&self, url: &str, secret: &str) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        self.inner.with_state(|s| {
            s.subscriptions.push(Subscription {
                id: id.clone(),
                url: url.to_string(),
                secret: secret.to_string(),
            })
        });
        id
    }

    /// The waits before each retry of a delivery not answered 2xx (one per retry; empty: none).
    pub fn retry_delays(&self, delays: &[Duration]) {
        self.inner.with_state(|s| s.retries = Some(delays.to_vec()));
    }

    // --- people acting on issues ---

    /// `by_name` moves issue `identifier` (or id) to the team's first state of type
    /// `state_type` (`completed`, `canceled`, `started`, …), setting `completedAt`/`canceledAt`/
    /// `startedAt` as Linear does; every subscriber gets the `update`. Returns the statuses the
    /// subscribers answered, in subscription order; [`LinearError::Delivery`] when one gave no
    /// answer (the change stands).
    pub async fn move_to(
        &self,
        identifier: &str,
        state_type: &str,
        by_name: &str,
    ) -> Result<Vec<u16>, LinearError> {
        let (tx, rx) = oneshot::channel();
        self.inner.with_state(|s| {
            let index = s
                .find(&self.inner, identifier)
                .ok_or(LinearError::NoIssue {
                    identifier: identifier.to_string(),
                })?;
            let state_id = s
                .states
                .iter()
                .find(|st| st.kind == state_type)
                .map(|st| st.id.clone())
                .ok_or(LinearError::NoState {
                    state_type: state_type.to_string(),
                })?;
            let before = s.issues[index].clone();
            s.set_state(index, &state_id, Utc::now());
            let actor = s.actor(by_name);
            s.emit(&self.inner, index, "update", actor, Some(&before), Some(tx));
            Ok(())
        })?;
        let mut statuses = Vec::new();
        for result in rx.await.map_err(|_| LinearError::Stopped)? {
            match result {
                Ok(status) => statuses.push(status),
                Err((url, error)) => return Err(LinearError::Delivery { url, error }),
            }
        }
        Ok(statuses)
    }

    /// Sends the last webhook sent again (same `Linear-Delivery`, freshly stamped and signed),
    /// as Linear retries one; returns the status answered.
    pub async fn redeliver_last(&self) -> Result<u16, LinearError> {
        self.redeliver(Duration::ZERO).await
    }

    /// Sends the last webhook again with a `webhookTimestamp` `age` in the past (correctly
    /// signed), as a replayed delivery would carry: a receiver should refuse one older than a
    /// minute. Returns the status answered.
    pub async fn redeliver_last_aged(&self, age: Duration) -> Result<u16, LinearError> {
        self.redeliver(age).await
    }

    async fn redeliver(&self, aged: Duration) -> Result<u16, LinearError> {
        let (tx, rx) = oneshot::channel();
        self.inner.with_state(|s| {
            let mut send = s
                .sent
                .last()
                .cloned()
                .ok_or(LinearError::NothingDelivered)?;
            send.attempt = s
                .deliveries
                .iter()
                .filter(|d| d.delivery_id == send.delivery_id)
                .count() as u32
                + 1;
            send.aged = aged;
            self.inner
                .outbox
                .send(Outgoing::Batch {
                    sends: vec![send],
                    done: Some(tx),
                })
                .map_err(|_| LinearError::Stopped)
        })?;
        match rx
            .await
            .map_err(|_| LinearError::Stopped)?
            .into_iter()
            .next()
        {
            Some(Ok(status)) => Ok(status),
            Some(Err((url, error))) => Err(LinearError::Delivery { url, error }),
            None => Err(LinearError::Stopped),
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
        self.inner.with_state(|s| {
            s.issues
                .iter()
                .map(|i| s.snapshot(&self.inner, i))
                .collect()
        })
    }

    /// The issue with `identifier` (`ENG-1`) or id.
    pub fn issue(&self, identifier: &str) -> Option<Issue> {
        self.inner.with_state(|s| {
            s.find(&self.inner, identifier)
                .map(|i| s.snapshot(&self.inner, &s.issues[i]))
        })
    }

    /// Every request received, in order, with what it was answered.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.inner.with_state(|s| s.requests.clone())
    }

    /// Every webhook attempt, in the order sent.
    pub fn deliveries(&self) -> Vec<WebhookDelivery> {
        self.inner.with_state(|s| s.deliveries.clone())
    }

    // --- fault injection (the next requests) ---

    wire::fault_injection!(
        "The next `times` requests are refused as rate limited (HTTP 400, `RATELIMITED`), changing nothing."
    );

    /// Stops the server and the webhook sender.
    pub async fn shutdown(self) {
        self.inner.shutdown.send_replace(true);
        let tasks: Vec<_> = self
            .inner
            .tasks
            .lock()
            .expect("fake Linear task lock poisoned")
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
        let answer = s.answer(&inner, &method, uri.path(), &headers, &body);
        record.status = answer.recorded_status();
        s.requests.push(record);
        answer
    });
    answer.send(&conn).await
}

fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn optional_iso(at: Option<DateTime<Utc>>) -> Value {
    at.map(|at| Value::String(iso(at))).unwrap_or(Value::Null)
}

/// One GraphQL error in an HTTP answer.
fn graphql_error(status: u16, error: Value) -> Answer {
    Answer::json(status, &json!({ "errors": [error] }))
}

fn parse_error(message: &str) -> Answer {
    graphql_error(
        400,
        json!({
            "message": message,
            "extensions": {
                "http": { "status": 400, "headers": {} },
                "code": "GRAPHQL_PARSE_FAILED",
                "type": "graphql error",
                "userError": true,
            },
        }),
    )
}

fn validation_error(message: &str) -> Answer {
    graphql_error(
        400,
        json!({
            "message": message,
            "extensions": {
                "http": { "status": 400, "headers": {} },
                "code": "GRAPHQL_VALIDATION_FAILED",
                "type": "graphql error",
                "userError": true,
            },
        }),
    )
}

/// An error Linear raises while running the root field at `path`.
fn input_error(path: &str, message: &str, user_message: &str) -> Answer {
    Answer::json(
        400,
        &json!({
            "errors": [{
                "message": message,
                "path": [path],
                "extensions": {
                    "type": "invalid input",
                    "code": "INPUT_ERROR",
                    "statusCode": 400,
                    "userError": true,
                    "userPresentableMessage": user_message,
                },
            }],
            "data": null,
        }),
    )
}

fn not_found(path: &str, entity: &str) -> Answer {
    input_error(
        path,
        &format!("Entity not found: {entity}"),
        &format!("Could not find referenced {entity}."),
    )
}

/// A variable's value refused as GraphQL coerces it.
fn coercion_error(variable: &str, value: &Value, problem: &str) -> Answer {
    validation_error(&format!(
        "Variable \"${variable}\" got invalid value {value}; {problem}"
    ))
}

impl State {
    fn answer(
        &mut self,
        inner: &Inner,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Answer {
        let fault = self.faults.take();
        match fault {
            Some(Fault::Fail(status)) => {
                return graphql_error(
                    status,
                    json!({
                        "message": "Injected failure",
                        "extensions": { "type": "internal error", "code": "INTERNAL_SERVER_ERROR" },
                    }),
                );
            }
            Some(Fault::RateLimit) => {
                let mut answer = graphql_error(
                    400,
                    json!({
                        "message": "Rate limit exceeded",
                        "extensions": { "code": "RATELIMITED", "type": "ratelimited" },
                    }),
                );
                let reset = Utc::now().timestamp_millis() + 60_000;
                answer.headers.extend([
                    ("x-ratelimit-requests-limit", "5000".to_string()),
                    ("x-ratelimit-requests-remaining", "0".to_string()),
                    ("x-ratelimit-requests-reset", reset.to_string()),
                ]);
                return answer;
            }
            _ => {}
        }
        self.route(inner, method, path, headers, body)
            .after(fault.as_ref())
    }

    fn route(
        &mut self,
        inner: &Inner,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Answer {
        if path.trim_end_matches('/') != "/graphql" {
            return Answer::text(404, "Not Found");
        }
        let authorization = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .unwrap_or_default();
        let key = authorization
            .strip_prefix("Bearer ")
            .map(str::trim)
            .unwrap_or(authorization);
        if key.is_empty() || key != inner.api_key {
            return graphql_error(
                401,
                json!({
                    "message": "Authentication required, not authenticated",
                    "extensions": {
                        "type": "authentication error",
                        "code": "AUTHENTICATION_ERROR",
                        "statusCode": 401,
                        "userError": true,
                        "userPresentableMessage": "You need to authenticate to access this operation.",
                        "meta": {},
                        "http": { "status": 401 },
                    },
                }),
            );
        }
        if method != Method::POST {
            return bad_request("This fake Linear takes POST requests only.");
        }
        let is_json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/json")
            });
        if !is_json {
            return bad_request("The request must be JSON (Content-Type: application/json).");
        }
        let Ok(Value::Object(request)) = serde_json::from_slice::<Value>(body) else {
            return bad_request("The body must be a JSON object.");
        };
        let Some(query) = request
            .get("query")
            .and_then(Value::as_str)
            .filter(|q| !q.trim().is_empty())
        else {
            return bad_request(
                "GraphQL operations must contain a non-empty `query` or a `persistedQuery` extension.",
            );
        };
        let variables = match request.get("variables") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(variables)) => variables.clone(),
            Some(_) => return bad_request("`variables` must be an object."),
        };
        let operation_name = match request.get("operationName") {
            None | Some(Value::Null) => None,
            Some(Value::String(name)) => Some(name.as_str()),
            Some(_) => return bad_request("`operationName` must be a string."),
        };
        let operation = match parse_document(query, operation_name) {
            Ok(operation) => operation,
            Err(answer) => return answer,
        };
        let args = match validate(&operation, &variables) {
            Ok(args) => args,
            Err(answer) => return answer,
        };
        let field = operation.root.name.as_str();
        let result = match field {
            "issue" => self.issue_query(inner, &args),
            "issues" => self.issues_query(inner, &args),
            "issueLabels" => self.labels_query(inner, &args),
            "workflowStates" => self.states_query(inner, &args),
            "team" => self.team_query(inner, &args),
            "viewer" => Ok(self.viewer()),
            "issueCreate" => self.issue_create(inner, &args),
            "issueUpdate" => self.issue_update(inner, &args),
            "issueLabelCreate" => self.label_create(inner, &args),
            _ => unreachable!("validate knows the root fields"),
        };
        match result {
            Ok(value) => {
                let key = operation.root.alias.as_deref().unwrap_or(field);
                let mut data = Map::new();
                data.insert(key.to_string(), value);
                Answer::json(200, &json!({ "data": data }))
            }
            Err(answer) => answer,
        }
    }

    fn find(&self, inner: &Inner, id_or_identifier: &str) -> Option<usize> {
        let number = id_or_identifier
            .rsplit_once('-')
            .filter(|(key, _)| key.eq_ignore_ascii_case(&inner.team_key))
            .and_then(|(_, n)| n.parse::<u64>().ok());
        self.issues
            .iter()
            .position(|i| i.id == id_or_identifier || Some(i.number) == number)
    }

    fn state(&self, id: &str) -> &WorkflowState {
        self.states
            .iter()
            .find(|st| st.id == id)
            .unwrap_or(&self.states[0])
    }

    fn actor(&mut self, name: &str) -> Value {
        let id = match self.users.iter().find(|(n, _)| n == name) {
            Some((_, id)) => id.clone(),
            None => {
                let id = uuid::Uuid::new_v4().to_string();
                self.users.push((name.to_string(), id.clone()));
                id
            }
        };
        json!({ "id": id, "name": name, "type": "user" })
    }

    fn viewer(&self) -> Value {
        json!({
            "id": self.users[0].1,
            "name": API_USER_NAME,
            "displayName": API_USER_NAME,
            "email": "incident-commander@example.com",
            "active": true,
        })
    }

    fn url(&self, inner: &Inner, issue: &IssueRec) -> String {
        let mut slug = String::new();
        for c in issue.title.to_lowercase().chars() {
            if c.is_alphanumeric() {
                slug.push(c);
            } else if !slug.ends_with('-') && !slug.is_empty() {
                slug.push('-');
            }
        }
        let slug: String = slug.trim_end_matches('-').chars().take(60).collect();
        format!(
            "https://linear.app/{ORG_URL_KEY}/issue/{}-{}/{}",
            inner.team_key,
            issue.number,
            slug.trim_end_matches('-')
        )
    }

    fn snapshot(&self, inner: &Inner, issue: &IssueRec) -> Issue {
        let state = self.state(&issue.state_id);
        Issue {
            id: issue.id.clone(),
            identifier: format!("{}-{}", inner.team_key, issue.number),
            number: issue.number,
            title: issue.title.clone(),
            description: issue.description.clone(),
            labels: self.label_names(issue),
            state_name: state.name.to_string(),
            state_type: state.kind.to_string(),
            priority: issue.priority,
            url: self.url(inner, issue),
            created_at: issue.created_at,
            updated_at: issue.updated_at,
            completed_at: issue.completed_at,
            canceled_at: issue.canceled_at,
        }
    }

    fn label_names(&self, issue: &IssueRec) -> Vec<String> {
        issue
            .label_ids
            .iter()
            .filter_map(|id| self.labels.iter().find(|l| &l.id == id))
            .map(|l| l.name.clone())
            .collect()
    }

    fn state_json(&self, st: &WorkflowState) -> Value {
        json!({
            "id": st.id,
            "name": st.name,
            "type": st.kind,
            "color": st.color,
            "position": st.position,
        })
    }

    fn label_json(&self, label: &Label) -> Value {
        json!({
            "id": label.id,
            "name": label.name,
            "color": label.color,
            "isGroup": false,
            "team": label.team_id.as_ref().map(|id| json!({ "id": id })),
        })
    }

    fn team_json(&self, inner: &Inner) -> Value {
        json!({ "id": inner.team_id, "key": inner.team_key, "name": inner.team_key })
    }

    fn issue_json(&self, inner: &Inner, issue: &IssueRec) -> Value {
        let labels: Vec<Value> = issue
            .label_ids
            .iter()
            .filter_map(|id| self.labels.iter().find(|l| &l.id == id))
            .map(|l| self.label_json(l))
            .collect();
        json!({
            "id": issue.id,
            "identifier": format!("{}-{}", inner.team_key, issue.number),
            "number": issue.number,
            "title": issue.title,
            "description": issue.description,
            "priority": issue.priority,
            "priorityLabel": priority_label(issue.priority),
            "url": self.url(inner, issue),
            "branchName": format!("{}-{}", inner.team_key.to_lowercase(), issue.number),
            "state": self.state_json(self.state(&issue.state_id)),
            "team": self.team_json(inner),
            "labels": connection(labels, false),
            "labelIds": issue.label_ids,
            "createdAt": iso(issue.created_at),
            "updatedAt": iso(issue.updated_at),
            "startedAt": optional_iso(issue.started_at),
            "completedAt": optional_iso(issue.completed_at),
            "canceledAt": optional_iso(issue.canceled_at),
            "archivedAt": null,
        })
    }

    /// Moves issue `index` to state `state_id`, with Linear's timestamps.
    fn set_state(&mut self, index: usize, state_id: &str, now: DateTime<Utc>) {
        let kind = self.state(state_id).kind;
        let issue = &mut self.issues[index];
        if issue.state_id == state_id {
            return;
        }
        issue.state_id = state_id.to_string();
        issue.updated_at = now;
        issue.completed_at = (kind == "completed").then_some(now);
        issue.canceled_at = (kind == "canceled").then_some(now);
        match kind {
            "started" | "completed" | "canceled" => {
                issue.started_at.get_or_insert(now);
            }
            _ => issue.started_at = None,
        }
    }

    // --- queries ---

    fn issue_query(&self, inner: &Inner, args: &Map<String, Value>) -> Result<Value, Answer> {
        let id = args["id"].as_str().unwrap_or_default();
        match self.find(inner, id) {
            Some(index) => Ok(self.issue_json(inner, &self.issues[index])),
            None => Err(not_found("issue", "Issue")),
        }
    }

    fn issues_query(&self, inner: &Inner, args: &Map<String, Value>) -> Result<Value, Answer> {
        let filter = args.get("filter").cloned().unwrap_or(Value::Null);
        // Check the filter once, whether or not there are issues to match.
        self.issue_matches(inner, &filter, &IssueRec::default(), "filter")?;
        let mut matching = Vec::new();
        for issue in &self.issues {
            if self.issue_matches(inner, &filter, issue, "filter")? {
                matching.push(issue);
            }
        }
        let by_updated = args.get("orderBy").and_then(Value::as_str) == Some("updatedAt");
        matching.sort_by(|a, b| {
            let (x, y) = if by_updated {
                (b.updated_at, a.updated_at)
            } else {
                (b.created_at, a.created_at)
            };
            x.cmp(&y).then(b.number.cmp(&a.number))
        });
        let ids: Vec<String> = matching.iter().map(|i| i.id.clone()).collect();
        let (start, take) = page(args, &ids, "issues")?;
        let nodes: Vec<Value> = matching
            .iter()
            .skip(start)
            .take(take)
            .map(|i| self.issue_json(inner, i))
            .collect();
        Ok(connection(nodes, start + take < matching.len()))
    }

    fn labels_query(&self, inner: &Inner, args: &Map<String, Value>) -> Result<Value, Answer> {
        let filter = args.get("filter").cloned().unwrap_or(Value::Null);
        let dummy = Label {
            id: String::new(),
            name: String::new(),
            color: String::new(),
            team_id: None,
        };
        label_matches(inner, &filter, &dummy, "filter", true)?;
        let mut matching = Vec::new();
        for label in self.labels.iter().rev() {
            if label_matches(inner, &filter, label, "filter", true)? {
                matching.push(label);
            }
        }
        let ids: Vec<String> = matching.iter().map(|l| l.id.clone()).collect();
        let (start, take) = page(args, &ids, "issueLabels")?;
        let nodes = matching
            .iter()
            .skip(start)
            .take(take)
            .map(|l| self.label_json(l))
            .collect();
        Ok(connection(nodes, start + take < matching.len()))
    }

    fn states_query(&self, inner: &Inner, args: &Map<String, Value>) -> Result<Value, Answer> {
        let filter = args.get("filter").cloned().unwrap_or(Value::Null);
        let check = |st: &WorkflowState| -> Result<bool, Answer> {
            let Value::Object(filter) = &filter else {
                return Ok(true);
            };
            let mut all = true;
            for (key, value) in filter {
                all &= match key.as_str() {
                    "id" => compare_string(value, Some(&st.id), "filter.id", true)?,
                    "name" => compare_string(value, Some(st.name), "filter.name", false)?,
                    "type" => compare_string(value, Some(st.kind), "filter.type", false)?,
                    "team" => team_matches(inner, value, "filter.team")?,
                    _ => return Err(unknown_field("filter", key, "WorkflowStateFilter")),
                };
            }
            Ok(all)
        };
        check(&self.states[0])?;
        let mut matching = Vec::new();
        for st in &self.states {
            if check(st)? {
                matching.push(st);
            }
        }
        let ids: Vec<String> = matching.iter().map(|st| st.id.clone()).collect();
        let (start, take) = page(args, &ids, "workflowStates")?;
        let nodes = matching
            .iter()
            .skip(start)
            .take(take)
            .map(|st| {
                let mut node = self.state_json(st);
                node["team"] = self.team_json(inner);
                node
            })
            .collect();
        Ok(connection(nodes, start + take < matching.len()))
    }

    fn team_query(&self, inner: &Inner, args: &Map<String, Value>) -> Result<Value, Answer> {
        let id = args["id"].as_str().unwrap_or_default();
        if id != inner.team_id && !id.eq_ignore_ascii_case(&inner.team_key) {
            return Err(not_found("team", "Team"));
        }
        let mut team = self.team_json(inner);
        team["states"] = connection(
            self.states.iter().map(|st| self.state_json(st)).collect(),
            false,
        );
        team["labels"] = connection(
            self.labels
                .iter()
                .filter(|l| l.team_id.as_deref() == Some(inner.team_id.as_str()))
                .map(|l| self.label_json(l))
                .collect(),
            false,
        );
        Ok(team)
    }

    // --- mutations ---

    fn issue_create(&mut self, inner: &Inner, args: &Map<String, Value>) -> Result<Value, Answer> {
        const FIELDS: [&str; 7] = [
            "id",
            "title",
            "description",
            "teamId",
            "stateId",
            "labelIds",
            "priority",
        ];
        let input = input_object(
            args,
            "input",
            "IssueCreateInput",
            &FIELDS,
            ISSUE_INPUT_UNSERVED,
        )?;
        let path = "issueCreate";
        let team_id = match input.get("teamId") {
            Some(Value::String(id)) => id.clone(),
            None | Some(Value::Null) => {
                return Err(coercion_error(
                    "input",
                    &Value::Object(input.clone()),
                    "Field \"teamId\" of required type \"String!\" was not provided.",
                ));
            }
            Some(other) => return Err(not_a_string("input", "teamId", other)),
        };
        if team_id != inner.team_id {
            return Err(not_found(path, "Team"));
        }
        let title = optional_string(&input, "title")?.unwrap_or_default();
        if title.trim().is_empty() {
            return Err(input_error(
                path,
                "Argument Validation Error",
                "Title cannot be empty.",
            ));
        }
        let description = optional_string(&input, "description")?;
        let id = match optional_string(&input, "id")? {
            Some(id) => {
                let Ok(uuid) = uuid::Uuid::parse_str(&id) else {
                    return Err(input_error(
                        path,
                        "Argument Validation Error",
                        "id must be a UUID.",
                    ));
                };
                let id = uuid.hyphenated().to_string();
                if self.issues.iter().any(|i| i.id == id) {
                    return Err(input_error(
                        path,
                        "Entity already exists",
                        "An issue with this id already exists.",
                    ));
                }
                id
            }
            None => uuid::Uuid::new_v4().to_string(),
        };
        let state_id = match optional_string(&input, "stateId")? {
            Some(id) if self.states.iter().any(|st| st.id == id) => id,
            Some(_) => return Err(not_found(path, "WorkflowState")),
            None => self.states[0].id.clone(),
        };
        let label_ids = self
            .label_ids(inner, &input, "labelIds", path)?
            .unwrap_or_default();
        let priority = self.priority(&input, path)?.unwrap_or(0);
        let now = Utc::now();
        let number = self.issues.iter().map(|i| i.number).max().unwrap_or(0) + 1;
        self.issues.push(IssueRec {
            id,
            number,
            title,
            description,
            priority,
            state_id: self.states[0].id.clone(),
            label_ids,
            created_at: now,
            updated_at: now,
            ..IssueRec::default()
        });
        let index = self.issues.len() - 1;
        self.set_state(index, &state_id, now);
        self.issues[index].updated_at = now;
        let actor = self.actor(API_USER_NAME);
        self.emit(inner, index, "create", actor, None, None);
        self.sync_id += 1;
        Ok(json!({
            "success": true,
            "lastSyncId": self.sync_id,
            "issue": self.issue_json(inner, &self.issues[index]),
        }))
    }

    fn issue_update(&mut self, inner: &Inner, args: &Map<String, Value>) -> Result<Value, Answer> {
        const FIELDS: [&str; 7] = [
            "title",
            "description",
            "stateId",
            "labelIds",
            "addedLabelIds",
            "removedLabelIds",
            "priority",
        ];
        let input = input_object(
            args,
            "input",
            "IssueUpdateInput",
            &FIELDS,
            ISSUE_INPUT_UNSERVED,
        )?;
        let path = "issueUpdate";
        let id = args["id"].as_str().unwrap_or_default();
        let Some(index) = self.find(inner, id) else {
            return Err(not_found(path, "Issue"));
        };
        let title = optional_string(&input, "title")?;
        if title.as_deref().is_some_and(|t| t.trim().is_empty()) {
            return Err(input_error(
                path,
                "Argument Validation Error",
                "Title cannot be empty.",
            ));
        }
        let description = match input.get("description") {
            Some(Value::Null) => Some(None),
            _ => optional_string(&input, "description")?.map(Some),
        };
        let state_id = match optional_string(&input, "stateId")? {
            Some(id) if self.states.iter().any(|st| st.id == id) => Some(id),
            Some(_) => return Err(not_found(path, "WorkflowState")),
            None => None,
        };
        let set_labels = self.label_ids(inner, &input, "labelIds", path)?;
        let added = self.label_ids(inner, &input, "addedLabelIds", path)?;
        let removed = self.label_ids(inner, &input, "removedLabelIds", path)?;
        let priority = self.priority(&input, path)?;

        let before = self.issues[index].clone();
        let now = Utc::now();
        let issue = &mut self.issues[index];
        if let Some(title) = title {
            issue.title = title;
        }
        if let Some(description) = description {
            issue.description = description;
        }
        if let Some(labels) = set_labels {
            issue.label_ids = labels;
        }
        for id in added.unwrap_or_default() {
            if !issue.label_ids.contains(&id) {
                issue.label_ids.push(id);
            }
        }
        if let Some(removed) = removed {
            issue.label_ids.retain(|id| !removed.contains(id));
        }
        if let Some(priority) = priority {
            issue.priority = priority;
        }
        issue.updated_at = now;
        if let Some(state_id) = state_id {
            self.set_state(index, &state_id, now);
        }
        let actor = self.actor(API_USER_NAME);
        self.emit(inner, index, "update", actor, Some(&before), None);
        self.sync_id += 1;
        Ok(json!({
            "success": true,
            "lastSyncId": self.sync_id,
            "issue": self.issue_json(inner, &self.issues[index]),
        }))
    }

    fn label_create(&mut self, inner: &Inner, args: &Map<String, Value>) -> Result<Value, Answer> {
        const FIELDS: [&str; 5] = ["id", "name", "teamId", "color", "description"];
        const UNSERVED: &[&str] = &["parentId", "isGroup", "retiredAt"];
        let input = input_object(args, "input", "IssueLabelCreateInput", &FIELDS, UNSERVED)?;
        let path = "issueLabelCreate";
        let name = match input.get("name") {
            Some(Value::String(name)) => name.clone(),
            None | Some(Value::Null) => {
                return Err(coercion_error(
                    "input",
                    &Value::Object(input.clone()),
                    "Field \"name\" of required type \"String!\" was not provided.",
                ));
            }
            Some(other) => return Err(not_a_string("input", "name", other)),
        };
        if name.trim().is_empty() {
            return Err(input_error(
                path,
                "Argument Validation Error",
                "Name cannot be empty.",
            ));
        }
        let team_id = optional_string(&input, "teamId")?;
        if team_id.as_deref().is_some_and(|id| id != inner.team_id) {
            return Err(not_found(path, "Team"));
        }
        let color = optional_string(&input, "color")?.unwrap_or_else(|| "#bec2c8".into());
        let valid_color = color.len() == 7
            && color.starts_with('#')
            && color[1..].chars().all(|c| c.is_ascii_hexdigit());
        if !valid_color {
            return Err(input_error(
                path,
                "Argument Validation Error",
                "Color must be a hex color like #5e6ad2.",
            ));
        }
        if self
            .labels
            .iter()
            .any(|l| l.team_id == team_id && l.name.eq_ignore_ascii_case(&name))
        {
            return Err(input_error(
                path,
                "Duplicate label name",
                "A label with this name already exists.",
            ));
        }
        let id = match optional_string(&input, "id")? {
            Some(id) => match uuid::Uuid::parse_str(&id) {
                Ok(uuid) if !self.labels.iter().any(|l| l.id == id) => {
                    uuid.hyphenated().to_string()
                }
                Ok(_) => {
                    return Err(input_error(
                        path,
                        "Entity already exists",
                        "A label with this id already exists.",
                    ));
                }
                Err(_) => {
                    return Err(input_error(
                        path,
                        "Argument Validation Error",
                        "id must be a UUID.",
                    ));
                }
            },
            None => uuid::Uuid::new_v4().to_string(),
        };
        let label = Label {
            id,
            name,
            color,
            team_id,
        };
        let answer = self.label_json(&label);
        self.labels.push(label);
        self.sync_id += 1;
        Ok(json!({ "success": true, "lastSyncId": self.sync_id, "issueLabel": answer }))
    }

    /// Label ids of `field`, each of an existing label.
    fn label_ids(
        &self,
        inner: &Inner,
        input: &Map<String, Value>,
        field: &str,
        path: &str,
    ) -> Result<Option<Vec<String>>, Answer> {
        let ids = match input.get(field) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Array(ids)) if ids.iter().all(Value::is_string) => ids
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect::<Vec<_>>(),
            Some(other) => {
                return Err(coercion_error(
                    "input",
                    other,
                    &format!("Field \"{field}\" must be a list of strings (\"[String!]\")."),
                ));
            }
        };
        for id in &ids {
            let usable = self.labels.iter().any(|l| {
                &l.id == id
                    && l.team_id
                        .as_deref()
                        .is_none_or(|team| team == inner.team_id)
            });
            if !usable {
                return Err(not_found(path, "IssueLabel"));
            }
        }
        let mut unique = Vec::new();
        for id in ids {
            if !unique.contains(&id) {
                unique.push(id);
            }
        }
        Ok(Some(unique))
    }

    fn priority(&self, input: &Map<String, Value>, path: &str) -> Result<Option<u8>, Answer> {
        match input.get("priority") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) if n.as_i64().is_some() => match n.as_i64() {
                Some(p @ 0..=4) => Ok(Some(p as u8)),
                _ => Err(input_error(
                    path,
                    "Argument Validation Error",
                    "Priority must be between 0 and 4.",
                )),
            },
            Some(other) => Err(coercion_error(
                "input",
                other,
                "Field \"priority\": Int cannot represent a non-integer value.",
            )),
        }
    }

    /// Queues `action` about issue `index` for every subscriber; `before` is the issue before
    /// an update (for `updatedFrom`).
    fn emit(
        &mut self,
        inner: &Inner,
        index: usize,
        action: &str,
        actor: Value,
        before: Option<&IssueRec>,
        done: Option<oneshot::Sender<Results>>,
    ) {
        let issue = self.issues[index].clone();
        let state = self.state(&issue.state_id).clone();
        let labels: Vec<Value> = issue
            .label_ids
            .iter()
            .filter_map(|id| self.labels.iter().find(|l| &l.id == id))
            .map(|l| json!({ "id": l.id, "name": l.name, "color": l.color }))
            .collect();
        let identifier = format!("{}-{}", inner.team_key, issue.number);
        let url = self.url(inner, &issue);
        let data = json!({
            "id": issue.id,
            "createdAt": iso(issue.created_at),
            "updatedAt": iso(issue.updated_at),
            "number": issue.number,
            "title": issue.title,
            "description": issue.description,
            "priority": issue.priority,
            "priorityLabel": priority_label(issue.priority),
            "identifier": identifier,
            "url": url,
            "teamId": inner.team_id,
            "stateId": issue.state_id,
            "labelIds": issue.label_ids,
            "creatorId": self.users[0].1,
            "startedAt": optional_iso(issue.started_at),
            "completedAt": optional_iso(issue.completed_at),
            "canceledAt": optional_iso(issue.canceled_at),
            "state": { "id": state.id, "color": state.color, "name": state.name, "type": state.kind },
            "team": self.team_json(inner),
            "labels": labels,
        });
        let mut payload = json!({
            "action": action,
            "actor": actor,
            "createdAt": iso(issue.updated_at),
            "data": data,
            "url": url,
            "type": "Issue",
            "organizationId": inner.organization_id,
        });
        if let Some(before) = before {
            let mut from = Map::new();
            from.insert("updatedAt".into(), json!(iso(before.updated_at)));
            if before.title != issue.title {
                from.insert("title".into(), json!(before.title));
            }
            if before.description != issue.description {
                from.insert("description".into(), json!(before.description));
            }
            if before.priority != issue.priority {
                from.insert("priority".into(), json!(before.priority));
            }
            if before.label_ids != issue.label_ids {
                from.insert("labelIds".into(), json!(before.label_ids));
            }
            if before.state_id != issue.state_id {
                from.insert("stateId".into(), json!(before.state_id));
                from.insert("startedAt".into(), optional_iso(before.started_at));
                from.insert("completedAt".into(), optional_iso(before.completed_at));
                from.insert("canceledAt".into(), optional_iso(before.canceled_at));
            }
            payload["updatedFrom"] = Value::Object(from);
        }
        let sends: Vec<Send> = self
            .subscriptions
            .iter()
            .map(|sub| {
                let mut payload = payload.clone();
                payload["webhookId"] = json!(sub.id);
                Send {
                    delivery_id: uuid::Uuid::new_v4().to_string(),
                    action: action.to_string(),
                    issue_identifier: identifier.clone(),
                    url: sub.url.clone(),
                    secret: sub.secret.clone(),
                    attempt: 1,
                    payload: Arc::new(payload),
                    aged: Duration::ZERO,
                }
            })
            .collect();
        let _ = inner.outbox.send(Outgoing::Batch { sends, done });
    }

    // --- filters ---

    fn issue_matches(
        &self,
        inner: &Inner,
        filter: &Value,
        issue: &IssueRec,
        path: &str,
    ) -> Result<bool, Answer> {
        let filter = match filter {
            Value::Null => return Ok(true),
            Value::Object(filter) => filter,
            other => {
                return Err(filter_error(path, other, "IssueFilter"));
            }
        };
        let mut all = true;
        for (key, value) in filter {
            let at = format!("{path}.{key}");
            let state = self.state(&issue.state_id);
            let ok = match key.as_str() {
                "id" => compare_string(value, Some(&issue.id), &at, true)?,
                "number" => compare_number(value, issue.number as f64, &at)?,
                "priority" => compare_number(value, f64::from(issue.priority), &at)?,
                "title" => compare_string(value, Some(&issue.title), &at, false)?,
                "description" => compare_string(value, issue.description.as_deref(), &at, false)?,
                "createdAt" => compare_date(value, Some(issue.created_at), &at)?,
                "updatedAt" => compare_date(value, Some(issue.updated_at), &at)?,
                "completedAt" => compare_date(value, issue.completed_at, &at)?,
                "canceledAt" => compare_date(value, issue.canceled_at, &at)?,
                "startedAt" => compare_date(value, issue.started_at, &at)?,
                "team" => team_matches(inner, value, &at)?,
                "state" => {
                    let Value::Object(state_filter) = value else {
                        return Err(filter_error(&at, value, "WorkflowStateFilter"));
                    };
                    let mut ok = true;
                    for (k, v) in state_filter {
                        let at = format!("{at}.{k}");
                        ok &= match k.as_str() {
                            "id" => compare_string(v, Some(&state.id), &at, true)?,
                            "name" => compare_string(v, Some(state.name), &at, false)?,
                            "type" => compare_string(v, Some(state.kind), &at, false)?,
                            _ => return Err(unknown_field(&at, k, "WorkflowStateFilter")),
                        };
                    }
                    ok
                }
                "labels" => {
                    let labels: Vec<&Label> = issue
                        .label_ids
                        .iter()
                        .filter_map(|id| self.labels.iter().find(|l| &l.id == id))
                        .collect();
                    self.labels_collection_matches(inner, value, &labels, &at)?
                }
                "and" | "or" => {
                    let Value::Array(filters) = value else {
                        return Err(filter_error(&at, value, "[IssueFilter!]"));
                    };
                    let mut results = Vec::new();
                    for f in filters {
                        results.push(self.issue_matches(inner, f, issue, &at)?);
                    }
                    if key == "and" {
                        results.iter().all(|r| *r)
                    } else {
                        results.iter().any(|r| *r)
                    }
                }
                other if ISSUE_FILTER_UNSERVED.contains(&other) => {
                    return Err(validation_error(&format!(
                        "This fake Linear does not serve the IssueFilter field \"{other}\" \
                         (at \"{path}\")."
                    )));
                }
                other => return Err(unknown_field(path, other, "IssueFilter")),
            };
            all &= ok;
        }
        Ok(all)
    }

    fn labels_collection_matches(
        &self,
        inner: &Inner,
        value: &Value,
        labels: &[&Label],
        path: &str,
    ) -> Result<bool, Answer> {
        let Value::Object(filter) = value else {
            return Err(filter_error(path, value, "IssueLabelCollectionFilter"));
        };
        let dummy = Label {
            id: String::new(),
            name: String::new(),
            color: String::new(),
            team_id: None,
        };
        let mut all = true;
        let mut direct = Map::new();
        for (key, f) in filter {
            let at = format!("{path}.{key}");
            match key.as_str() {
                "some" | "every" | "none" => {
                    label_matches(inner, f, &dummy, &at, false)?;
                    let mut hits = Vec::new();
                    for label in labels {
                        hits.push(label_matches(inner, f, label, &at, false)?);
                    }
                    all &= match key.as_str() {
                        "some" => hits.iter().any(|h| *h),
                        "every" => hits.iter().all(|h| *h),
                        _ => !hits.iter().any(|h| *h),
                    };
                }
                "id" | "name" => {
                    direct.insert(key.clone(), f.clone());
                }
                "length" => {
                    all &= compare_number(f, labels.len() as f64, &at)?;
                }
                other => return Err(unknown_field(path, other, "IssueLabelCollectionFilter")),
            }
        }
        if !direct.is_empty() {
            let direct = Value::Object(direct);
            label_matches(inner, &direct, &dummy, path, false)?;
            let mut some = false;
            for label in labels {
                some |= label_matches(inner, &direct, label, path, false)?;
            }
            all &= some;
        }
        Ok(all)
    }
}

const ISSUE_INPUT_UNSERVED: &[&str] = &[
    "assigneeId",
    "createAsUser",
    "cycleId",
    "delegateId",
    "displayIconUrl",
    "dueDate",
    "estimate",
    "parentId",
    "projectId",
    "projectMilestoneId",
    "sortOrder",
    "subIssueSortOrder",
    "subscriberIds",
    "templateId",
    "boardOrder",
    "descriptionData",
    "createdAt",
    "completedAt",
    "slaBreachesAt",
    "trashed",
];

const ISSUE_FILTER_UNSERVED: &[&str] = &[
    "assignee",
    "creator",
    "project",
    "cycle",
    "dueDate",
    "estimate",
    "parent",
    "children",
    "comments",
    "attachments",
    "subscribers",
    "snoozedUntilAt",
    "triagedAt",
    "archivedAt",
    "autoClosedAt",
    "autoArchivedAt",
    "searchableContent",
    "priorityLabel",
    "projectMilestone",
    "hasBlockedByRelations",
    "hasBlockingRelations",
];

fn bad_request(message: &str) -> Answer {
    graphql_error(
        400,
        json!({ "message": message, "extensions": { "code": "BAD_REQUEST", "type": "graphql error" } }),
    )
}

fn priority_label(priority: u8) -> &'static str {
    match priority {
        1 => "Urgent",
        2 => "High",
        3 => "Medium",
        4 => "Low",
        _ => "No priority",
    }
}

/// A connection: `{"nodes":[…],"pageInfo":{…}}`, cursors being node ids.
fn connection(nodes: Vec<Value>, has_next_page: bool) -> Value {
    let end = nodes.last().map(|n| n["id"].clone()).unwrap_or(Value::Null);
    let start = nodes
        .first()
        .map(|n| n["id"].clone())
        .unwrap_or(Value::Null);
    json!({
        "nodes": nodes,
        "pageInfo": {
            "hasNextPage": has_next_page,
            "hasPreviousPage": false,
            "startCursor": start,
            "endCursor": end,
        },
    })
}

/// Where the page starts and how many it holds, from `first` and `after`.
fn page(args: &Map<String, Value>, ids: &[String], path: &str) -> Result<(usize, usize), Answer> {
    let first = match args.get("first") {
        None | Some(Value::Null) => 50,
        Some(value) => match value.as_u64() {
            Some(n) if n <= MAX_PAGE => n,
            _ => {
                return Err(input_error(
                    path,
                    "Argument Validation Error",
                    &format!("first must be a number from 0 to {MAX_PAGE}."),
                ));
            }
        },
    } as usize;
    let start = match args.get("after").and_then(Value::as_str) {
        None => 0,
        Some(cursor) => match ids.iter().position(|id| id == cursor) {
            Some(at) => at + 1,
            None => {
                return Err(input_error(
                    path,
                    "Invalid cursor",
                    "The pagination cursor is not valid.",
                ));
            }
        },
    };
    let take = first.min(ids.len().saturating_sub(start));
    Ok((start, take))
}

fn unknown_field(path: &str, field: &str, type_name: &str) -> Answer {
    validation_error(&format!(
        "Variable \"$filter\" got invalid value at \"{path}\"; Field \"{field}\" is not defined \
         by type \"{type_name}\"."
    ))
}

fn filter_error(path: &str, value: &Value, type_name: &str) -> Answer {
    validation_error(&format!(
        "Variable \"$filter\" got invalid value {value} at \"{path}\"; Expected type \
         \"{type_name}\" to be an object."
    ))
}

fn not_a_string(variable: &str, field: &str, value: &Value) -> Answer {
    validation_error(&format!(
        "Variable \"${variable}\" got invalid value {value} at \"{variable}.{field}\"; String \
         cannot represent a non string value: {value}"
    ))
}

/// The input object `arg`, with only `allowed` fields (`unserved` ones refused as such).
fn input_object(
    args: &Map<String, Value>,
    arg: &str,
    type_name: &str,
    allowed: &[&str],
    unserved: &[&str],
) -> Result<Map<String, Value>, Answer> {
    let value = args.get(arg).cloned().unwrap_or(Value::Null);
    let Value::Object(input) = value else {
        return Err(coercion_error(
            arg,
            &value,
            &format!("Expected type \"{type_name}\" to be an object."),
        ));
    };
    for key in input.keys() {
        if unserved.contains(&key.as_str()) {
            return Err(validation_error(&format!(
                "This fake Linear does not serve the {type_name} field \"{key}\"."
            )));
        }
        if !allowed.contains(&key.as_str()) {
            return Err(coercion_error(
                arg,
                &Value::Object(input.clone()),
                &format!("Field \"{key}\" is not defined by type \"{type_name}\"."),
            ));
        }
    }
    Ok(input)
}

fn optional_string(input: &Map<String, Value>, field: &str) -> Result<Option<String>, Answer> {
    match input.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(not_a_string("input", field, other)),
    }
}

fn team_matches(inner: &Inner, value: &Value, path: &str) -> Result<bool, Answer> {
    let Value::Object(filter) = value else {
        return Err(filter_error(path, value, "TeamFilter"));
    };
    let mut ok = true;
    for (k, v) in filter {
        let at = format!("{path}.{k}");
        ok &= match k.as_str() {
            "id" => compare_string(v, Some(&inner.team_id), &at, true)?,
            "key" => compare_string(v, Some(&inner.team_key), &at, false)?,
            "name" => compare_string(v, Some(&inner.team_key), &at, false)?,
            _ => return Err(unknown_field(&at, k, "TeamFilter")),
        };
    }
    Ok(ok)
}

/// An `IssueLabelFilter` (`id`, `name`, `team`) against one label; `team` only when `with_team`.
fn label_matches(
    inner: &Inner,
    filter: &Value,
    label: &Label,
    path: &str,
    with_team: bool,
) -> Result<bool, Answer> {
    let filter = match filter {
        Value::Null => return Ok(true),
        Value::Object(filter) => filter,
        other => return Err(filter_error(path, other, "IssueLabelFilter")),
    };
    let mut ok = true;
    for (k, v) in filter {
        let at = format!("{path}.{k}");
        ok &= match k.as_str() {
            "id" => compare_string(v, Some(&label.id), &at, true)?,
            "name" => compare_string(v, Some(&label.name), &at, false)?,
            "team" if with_team => {
                let Value::Object(team) = v else {
                    return Err(filter_error(&at, v, "TeamFilter"));
                };
                let mut ok = true;
                for (tk, tv) in team {
                    let at = format!("{at}.{tk}");
                    ok &= match tk.as_str() {
                        "id" => compare_string(tv, label.team_id.as_deref(), &at, true)?,
                        "key" => {
                            let key = label.team_id.as_ref().map(|_| inner.team_key.as_str());
                            compare_string(tv, key, &at, false)?
                        }
                        "null" => match tv {
                            Value::Bool(null) => label.team_id.is_none() == *null,
                            _ => return Err(filter_error(&at, tv, "Boolean")),
                        },
                        _ => return Err(unknown_field(&at, tk, "NullableTeamFilter")),
                    };
                }
                ok
            }
            _ => return Err(unknown_field(path, k, "IssueLabelFilter")),
        };
    }
    Ok(ok)
}

/// A `StringComparator` (or `IDComparator` when `id`) against `actual` (`None`: null).
fn compare_string(
    comparator: &Value,
    actual: Option<&str>,
    path: &str,
    id: bool,
) -> Result<bool, Answer> {
    let type_name = if id {
        "IDComparator"
    } else {
        "StringComparator"
    };
    let Value::Object(comparator) = comparator else {
        return Err(filter_error(path, comparator, type_name));
    };
    let text = |v: &Value| -> Result<String, Answer> {
        v.as_str().map(str::to_string).ok_or_else(|| {
            validation_error(&format!(
                "Variable \"$filter\" got invalid value {v} at \"{path}\"; String cannot \
                 represent a non string value: {v}"
            ))
        })
    };
    let list = |v: &Value| -> Result<Vec<String>, Answer> {
        match v {
            Value::Array(items) => items.iter().map(text).collect(),
            other => Ok(vec![text(other)?]),
        }
    };
    let mut ok = true;
    for (op, v) in comparator {
        let a = actual.unwrap_or_default();
        ok &= match op.as_str() {
            "eq" => actual.is_some() && a == text(v)?,
            "neq" => a != text(v)?,
            "in" => actual.is_some() && list(v)?.iter().any(|x| x == a),
            "nin" => !list(v)?.iter().any(|x| x == a),
            "null" => match v {
                Value::Bool(null) => actual.is_none() == *null,
                _ => return Err(filter_error(path, v, "Boolean")),
            },
            "eqIgnoreCase" if !id => {
                actual.is_some() && a.to_lowercase() == text(v)?.to_lowercase()
            }
            "contains" if !id => actual.is_some() && a.contains(&text(v)?),
            "containsIgnoreCase" if !id => {
                actual.is_some() && a.to_lowercase().contains(&text(v)?.to_lowercase())
            }
            "notContains" if !id => !a.contains(&text(v)?),
            "startsWith" if !id => actual.is_some() && a.starts_with(&text(v)?),
            "endsWith" if !id => actual.is_some() && a.ends_with(&text(v)?),
            other => return Err(unknown_field(path, other, type_name)),
        };
    }
    Ok(ok)
}

fn compare_number(comparator: &Value, actual: f64, path: &str) -> Result<bool, Answer> {
    let Value::Object(comparator) = comparator else {
        return Err(filter_error(path, comparator, "NumberComparator"));
    };
    let number = |v: &Value| -> Result<f64, Answer> {
        v.as_f64().ok_or_else(|| {
            validation_error(&format!(
                "Variable \"$filter\" got invalid value {v} at \"{path}\"; Float cannot \
                 represent non numeric value: {v}"
            ))
        })
    };
    let mut ok = true;
    for (op, v) in comparator {
        ok &= match op.as_str() {
            "eq" => actual == number(v)?,
            "neq" => actual != number(v)?,
            "gt" => actual > number(v)?,
            "gte" => actual >= number(v)?,
            "lt" => actual < number(v)?,
            "lte" => actual <= number(v)?,
            "in" | "nin" => {
                let Value::Array(items) = v else {
                    return Err(filter_error(path, v, "[Float!]"));
                };
                let mut found = false;
                for item in items {
                    found |= number(item)? == actual;
                }
                found == (op == "in")
            }
            other => return Err(unknown_field(path, other, "NumberComparator")),
        };
    }
    Ok(ok)
}

fn compare_date(
    comparator: &Value,
    actual: Option<DateTime<Utc>>,
    path: &str,
) -> Result<bool, Answer> {
    let Value::Object(comparator) = comparator else {
        return Err(filter_error(path, comparator, "DateComparator"));
    };
    let instant = |v: &Value| -> Result<DateTime<Utc>, Answer> {
        v.as_str().and_then(parse_instant).ok_or_else(|| {
            validation_error(&format!(
                "Variable \"$filter\" got invalid value {v} at \"{path}\"; Expected an ISO 8601 \
                 date or duration."
            ))
        })
    };
    let mut ok = true;
    for (op, v) in comparator {
        ok &= match (op.as_str(), actual) {
            ("null", _) => match v {
                Value::Bool(null) => actual.is_none() == *null,
                _ => return Err(filter_error(path, v, "Boolean")),
            },
            ("eq" | "gt" | "gte" | "lt" | "lte" | "neq", None) => {
                instant(v)?;
                op == "neq"
            }
            ("eq", Some(a)) => a == instant(v)?,
            ("neq", Some(a)) => a != instant(v)?,
            ("gt", Some(a)) => a > instant(v)?,
            ("gte", Some(a)) => a >= instant(v)?,
            ("lt", Some(a)) => a < instant(v)?,
            ("lte", Some(a)) => a <= instant(v)?,
            (other, _) => return Err(unknown_field(path, other, "DateComparator")),
        };
    }
    Ok(ok)
}

/// An ISO 8601 instant, or a duration relative to now (`-P1D`, `-PT10M`, `P2W`).
fn parse_instant(value: &str) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(value) {
        return Some(at.with_timezone(&Utc));
    }
    let (sign, rest) = match value.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, value.strip_prefix('+').unwrap_or(value)),
    };
    let rest = rest.strip_prefix('P')?;
    let mut total = TimeDelta::zero();
    let mut in_time = false;
    let mut number = String::new();
    let mut any = false;
    for c in rest.chars() {
        match c {
            'T' if !in_time && number.is_empty() => in_time = true,
            '0'..='9' => number.push(c),
            unit => {
                let n: i64 = number.parse().ok()?;
                number.clear();
                any = true;
                total += match (unit, in_time) {
                    ('Y', false) => TimeDelta::try_days(n * 365)?,
                    ('M', false) => TimeDelta::try_days(n * 30)?,
                    ('W', false) => TimeDelta::try_weeks(n)?,
                    ('D', false) => TimeDelta::try_days(n)?,
                    ('H', true) => TimeDelta::try_hours(n)?,
                    ('M', true) => TimeDelta::try_minutes(n)?,
                    ('S', true) => TimeDelta::try_seconds(n)?,
                    _ => return None,
                };
            }
        }
    }
    if !any || !number.is_empty() {
        return None;
    }
    Some(Utc::now() + total * sign)
}

// --- the GraphQL document ---

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Punct(char),
    Name(String),
    Var(String),
    Spread,
    Literal(String),
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Punct(c) => format!("\"{c}\""),
            Tok::Name(n) => format!("Name \"{n}\""),
            Tok::Var(v) => format!("\"${v}\""),
            Tok::Spread => "\"...\"".into(),
            Tok::Literal(l) => format!("literal {l}"),
        }
    }
}

fn lex(source: &str) -> Result<Vec<Tok>, Answer> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let name_char = |c: char| c.is_ascii_alphanumeric() || c == '_';
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() || c == ',' || c == '\u{feff}' => i += 1,
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '.' if chars.get(i + 1) == Some(&'.') && chars.get(i + 2) == Some(&'.') => {
                tokens.push(Tok::Spread);
                i += 3;
            }
            '$' => {
                let start = i + 1;
                i = start;
                while i < chars.len() && name_char(chars[i]) {
                    i += 1;
                }
                if i == start {
                    return Err(parse_error("Syntax Error: Expected Name, found \"$\"."));
                }
                tokens.push(Tok::Var(chars[start..i].iter().collect()));
            }
            '"' => {
                let block = chars.get(i + 1) == Some(&'"') && chars.get(i + 2) == Some(&'"');
                let start = i;
                if block {
                    i += 3;
                    while i + 2 < chars.len()
                        && !(chars[i] == '"' && chars[i + 1] == '"' && chars[i + 2] == '"')
                    {
                        i += 1;
                    }
                    if i + 2 >= chars.len() {
                        return Err(parse_error("Syntax Error: Unterminated string."));
                    }
                    i += 3;
                } else {
                    i += 1;
                    while i < chars.len() && chars[i] != '"' && chars[i] != '\n' {
                        if chars[i] == '\\' {
                            i += 1;
                        }
                        i += 1;
                    }
                    if i >= chars.len() || chars[i] != '"' {
                        return Err(parse_error("Syntax Error: Unterminated string."));
                    }
                    i += 1;
                }
                tokens.push(Tok::Literal(chars[start..i].iter().collect()));
            }
            c if c.is_ascii_digit() || c == '-' => {
                let start = i;
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                    i += 1;
                }
                tokens.push(Tok::Literal(chars[start..i].iter().collect()));
            }
            c if name_char(c) => {
                let start = i;
                while i < chars.len() && name_char(chars[i]) {
                    i += 1;
                }
                tokens.push(Tok::Name(chars[start..i].iter().collect()));
            }
            '{' | '}' | '(' | ')' | '[' | ']' | ':' | '!' | '=' | '@' | '|' | '&' => {
                tokens.push(Tok::Punct(c));
                i += 1;
            }
            other => {
                return Err(parse_error(&format!(
                    "Syntax Error: Unexpected character: \"{other}\"."
                )));
            }
        }
    }
    Ok(tokens)
}

/// The root field of an operation: `alias: name(arg: $variable, …)`.
struct RootField {
    alias: Option<String>,
    name: String,
    /// (argument, variable).
    args: Vec<(String, String)>,
}

struct Operation {
    /// `query` or `mutation`.
    kind: String,
    name: Option<String>,
    /// (variable, type as written without spaces).
    variables: Vec<(String, String)>,
    root: RootField,
    /// Every variable the operation (and the fragments) use.
    used: Vec<String>,
}

struct DocParser {
    tokens: Vec<Tok>,
    at: usize,
    /// Variables used inside skipped selection sets and fragments.
    used: Vec<String>,
}

impl DocParser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.at)
    }

    fn bump(&mut self) -> Option<Tok> {
        let tok = self.tokens.get(self.at).cloned();
        self.at += 1;
        tok
    }

    fn unexpected(&self) -> Answer {
        match self.peek() {
            Some(tok) => parse_error(&format!("Syntax Error: Unexpected {}.", tok.describe())),
            None => parse_error("Syntax Error: Unexpected <EOF>."),
        }
    }

    fn expect(&mut self, punct: char) -> Result<(), Answer> {
        if self.peek() == Some(&Tok::Punct(punct)) {
            self.at += 1;
            Ok(())
        } else {
            Err(match self.peek() {
                Some(tok) => parse_error(&format!(
                    "Syntax Error: Expected \"{punct}\", found {}.",
                    tok.describe()
                )),
                None => parse_error(&format!("Syntax Error: Expected \"{punct}\", found <EOF>.")),
            })
        }
    }

    fn name(&mut self) -> Result<String, Answer> {
        match self.peek() {
            Some(Tok::Name(name)) => {
                let name = name.clone();
                self.at += 1;
                Ok(name)
            }
            _ => Err(self.unexpected()),
        }
    }

    /// Skips a balanced `open … close` group starting at the current token, noting variables.
    fn skip_group(&mut self, open: char, close: char) -> Result<(), Answer> {
        self.expect(open)?;
        let mut depth = 1;
        while depth > 0 {
            match self.bump() {
                None => return Err(parse_error("Syntax Error: Unexpected <EOF>.")),
                Some(Tok::Punct(c)) if c == open => depth += 1,
                Some(Tok::Punct(c)) if c == close => depth -= 1,
                Some(Tok::Var(v)) => self.used.push(v),
                Some(_) => {}
            }
        }
        Ok(())
    }

    fn skip_directives(&mut self) -> Result<(), Answer> {
        while self.peek() == Some(&Tok::Punct('@')) {
            self.at += 1;
            self.name()?;
            if self.peek() == Some(&Tok::Punct('(')) {
                self.skip_group('(', ')')?;
            }
        }
        Ok(())
    }

    /// A default value or an inline argument value.
    fn skip_value(&mut self) -> Result<(), Answer> {
        match self.peek() {
            Some(Tok::Punct('[')) => self.skip_group('[', ']'),
            Some(Tok::Punct('{')) => self.skip_group('{', '}'),
            Some(Tok::Literal(_)) | Some(Tok::Name(_)) => {
                self.at += 1;
                Ok(())
            }
            Some(Tok::Var(v)) => {
                let v = v.clone();
                self.used.push(v);
                self.at += 1;
                Ok(())
            }
            _ => Err(self.unexpected()),
        }
    }

    fn type_ref(&mut self) -> Result<String, Answer> {
        let mut text = String::new();
        match self.bump() {
            Some(Tok::Name(name)) => text.push_str(&name),
            Some(Tok::Punct('[')) => {
                text.push('[');
                text.push_str(&self.type_ref()?);
                self.expect(']')?;
                text.push(']');
            }
            _ => {
                self.at -= 1;
                return Err(self.unexpected());
            }
        }
        if self.peek() == Some(&Tok::Punct('!')) {
            self.at += 1;
            text.push('!');
        }
        Ok(text)
    }

    fn operation(&mut self) -> Result<Operation, Answer> {
        let mut kind = "query".to_string();
        let mut name = None;
        let mut variables = Vec::new();
        if let Some(Tok::Name(keyword)) = self.peek().cloned() {
            kind = keyword;
            self.at += 1;
            if let Some(Tok::Name(op_name)) = self.peek().cloned() {
                name = Some(op_name);
                self.at += 1;
            }
            if self.peek() == Some(&Tok::Punct('(')) {
                self.at += 1;
                while self.peek() != Some(&Tok::Punct(')')) {
                    let Some(Tok::Var(variable)) = self.bump() else {
                        self.at -= 1;
                        return Err(self.unexpected());
                    };
                    self.expect(':')?;
                    let type_name = self.type_ref()?;
                    if self.peek() == Some(&Tok::Punct('=')) {
                        self.at += 1;
                        self.skip_value()?;
                    }
                    self.skip_directives()?;
                    variables.push((variable, type_name));
                }
                self.at += 1;
            }
            self.skip_directives()?;
        }
        self.expect('{')?;
        if self.peek() == Some(&Tok::Spread) {
            return Err(validation_error(
                "This fake Linear needs the root field written in the operation, not in a \
                 fragment spread.",
            ));
        }
        let first = self.name()?;
        let (alias, field) = if self.peek() == Some(&Tok::Punct(':')) {
            self.at += 1;
            (Some(first), self.name()?)
        } else {
            (None, first)
        };
        let mut args = Vec::new();
        if self.peek() == Some(&Tok::Punct('(')) {
            self.at += 1;
            while self.peek() != Some(&Tok::Punct(')')) {
                let arg = self.name()?;
                self.expect(':')?;
                match self.peek().cloned() {
                    Some(Tok::Var(variable)) => {
                        self.at += 1;
                        args.push((arg, variable));
                    }
                    Some(_) => {
                        return Err(validation_error(&format!(
                            "This fake Linear takes root-field arguments from variables only: \
                             argument \"{arg}\" of \"{field}\" is an inline value; declare a \
                             variable (\"{arg}: ${arg}\") and send it in \"variables\"."
                        )));
                    }
                    None => return Err(self.unexpected()),
                }
            }
            self.at += 1;
        }
        self.skip_directives()?;
        if self.peek() == Some(&Tok::Punct('{')) {
            self.skip_group('{', '}')?;
        }
        if self.peek() != Some(&Tok::Punct('}')) {
            if matches!(self.peek(), Some(Tok::Name(_)) | Some(Tok::Spread)) {
                return Err(validation_error(
                    "This fake Linear serves one root field per operation; send the others as \
                     operations of their own.",
                ));
            }
            return Err(self.unexpected());
        }
        self.at += 1;
        Ok(Operation {
            kind,
            name,
            variables,
            root: RootField {
                alias,
                name: field,
                args,
            },
            used: Vec::new(),
        })
    }
}

/// The operation to run: the only one in `source`, or the one named `operation_name`.
fn parse_document(source: &str, operation_name: Option<&str>) -> Result<Operation, Answer> {
    let mut parser = DocParser {
        tokens: lex(source)?,
        at: 0,
        used: Vec::new(),
    };
    let mut operations = Vec::new();
    while let Some(tok) = parser.peek().cloned() {
        match tok {
            Tok::Name(keyword) if keyword == "fragment" => {
                parser.at += 1;
                parser.name()?;
                if parser.bump() != Some(Tok::Name("on".into())) {
                    parser.at -= 1;
                    return Err(parser.unexpected());
                }
                parser.name()?;
                parser.skip_directives()?;
                parser.skip_group('{', '}')?;
            }
            Tok::Name(keyword) if keyword == "query" || keyword == "mutation" => {
                let before = parser.used.len();
                let mut operation = parser.operation()?;
                operation.used = parser.used.split_off(before);
                operation
                    .used
                    .extend(operation.root.args.iter().map(|(_, v)| v.clone()));
                operations.push(operation);
            }
            Tok::Name(keyword) if keyword == "subscription" => {
                return Err(validation_error(
                    "This fake Linear does not serve subscriptions.",
                ));
            }
            Tok::Punct('{') => {
                let before = parser.used.len();
                let mut operation = parser.operation()?;
                operation.used = parser.used.split_off(before);
                operation
                    .used
                    .extend(operation.root.args.iter().map(|(_, v)| v.clone()));
                operations.push(operation);
            }
            _ => return Err(parser.unexpected()),
        }
    }
    // Variables used in fragments count for every operation.
    let in_fragments = parser.used;
    let mut chosen = match operation_name {
        Some(name) => {
            let Some(index) = operations
                .iter()
                .position(|op| op.name.as_deref() == Some(name))
            else {
                return Err(bad_request(&format!("Unknown operation named \"{name}\".")));
            };
            operations.swap_remove(index)
        }
        None if operations.len() == 1 => operations.remove(0),
        None if operations.is_empty() => {
            return Err(bad_request("The document holds no operation."));
        }
        None => {
            return Err(bad_request(
                "Must provide operation name if query contains multiple operations.",
            ));
        }
    };
    chosen.used.extend(in_fragments);
    Ok(chosen)
}

/// The arguments each root field takes: (name, type).
fn root_arguments(kind: &str, field: &str) -> Option<&'static [(&'static str, &'static str)]> {
    Some(match (kind, field) {
        ("query", "issue") => &[("id", "String!")],
        ("query", "issues") => &[
            ("filter", "IssueFilter"),
            ("first", "Int"),
            ("after", "String"),
            ("orderBy", "PaginationOrderBy"),
            ("includeArchived", "Boolean"),
        ],
        ("query", "issueLabels") => &[
            ("filter", "IssueLabelFilter"),
            ("first", "Int"),
            ("after", "String"),
            ("orderBy", "PaginationOrderBy"),
            ("includeArchived", "Boolean"),
        ],
        ("query", "workflowStates") => &[
            ("filter", "WorkflowStateFilter"),
            ("first", "Int"),
            ("after", "String"),
            ("orderBy", "PaginationOrderBy"),
            ("includeArchived", "Boolean"),
        ],
        ("query", "team") => &[("id", "String!")],
        ("query", "viewer") => &[],
        ("mutation", "issueCreate") => &[("input", "IssueCreateInput!")],
        ("mutation", "issueUpdate") => &[("id", "String!"), ("input", "IssueUpdateInput!")],
        ("mutation", "issueLabelCreate") => &[
            ("input", "IssueLabelCreateInput!"),
            ("replaceTeamLabels", "Boolean"),
        ],
        _ => return None,
    })
}

/// GraphQL validation of the operation against the fake's schema and the variables given;
/// returns the root field's arguments by name.
fn validate(
    operation: &Operation,
    variables: &Map<String, Value>,
) -> Result<Map<String, Value>, Answer> {
    let in_operation = match &operation.name {
        Some(name) => format!(" in operation \"{name}\""),
        None => String::new(),
    };
    for used in &operation.used {
        if !operation.variables.iter().any(|(v, _)| v == used) {
            return Err(validation_error(&format!(
                "Variable \"${used}\" is not defined{}.",
                operation
                    .name
                    .as_ref()
                    .map(|n| format!(" by operation \"{n}\""))
                    .unwrap_or_default()
            )));
        }
    }
    for (variable, _) in &operation.variables {
        if !operation.used.contains(variable) {
            return Err(validation_error(&format!(
                "Variable \"${variable}\" is never used{in_operation}."
            )));
        }
    }
    let field = &operation.root.name;
    let type_name = if operation.kind == "mutation" {
        "Mutation"
    } else {
        "Query"
    };
    let Some(spec) = root_arguments(&operation.kind, field) else {
        return Err(validation_error(&format!(
            "Cannot query field \"{field}\" on type \"{type_name}\"."
        )));
    };
    let mut args = Map::new();
    for (arg, variable) in &operation.root.args {
        let Some((_, expected)) = spec.iter().find(|(name, _)| name == arg) else {
            return Err(validation_error(&format!(
                "Unknown argument \"{arg}\" on field \"{type_name}.{field}\"."
            )));
        };
        let declared = operation
            .variables
            .iter()
            .find(|(v, _)| v == variable)
            .map(|(_, t)| t.as_str())
            .unwrap_or_default();
        let compatible = declared == *expected
            || (!expected.ends_with('!') && declared == format!("{expected}!"));
        if !compatible {
            return Err(validation_error(&format!(
                "Variable \"${variable}\" of type \"{declared}\" used in position expecting type \
                 \"{expected}\"."
            )));
        }
        let value = variables.get(variable).cloned().unwrap_or(Value::Null);
        if declared.ends_with('!') {
            match variables.get(variable) {
                None => {
                    return Err(validation_error(&format!(
                        "Variable \"${variable}\" of required type \"{declared}\" was not provided."
                    )));
                }
                Some(Value::Null) => {
                    return Err(validation_error(&format!(
                        "Variable \"${variable}\" of non-null type \"{declared}\" must not be null."
                    )));
                }
                Some(_) => {}
            }
        }
        let scalar_ok = match expected.trim_end_matches('!') {
            "String" => value.is_string() || value.is_null(),
            "Int" => value.is_null() || value.as_i64().is_some(),
            "Boolean" => value.is_boolean() || value.is_null(),
            "PaginationOrderBy" => {
                value.is_null() || matches!(value.as_str(), Some("createdAt" | "updatedAt"))
            }
            _ => true,
        };
        if !scalar_ok {
            return Err(validation_error(&format!(
                "Variable \"${variable}\" got invalid value {value}; Expected type \"{}\".",
                expected.trim_end_matches('!')
            )));
        }
        args.insert(arg.clone(), value);
    }
    for (arg, expected) in spec.iter() {
        if expected.ends_with('!') && !operation.root.args.iter().any(|(a, _)| a == arg) {
            return Err(validation_error(&format!(
                "Field \"{field}\" argument \"{arg}\" of type \"{expected}\" is required, but it \
                 was not provided."
            )));
        }
    }
    Ok(args)
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

async fn deliver(
    inner: &Inner,
    client: &reqwest::Client,
    send: Send,
) -> Result<u16, (String, String)> {
    let mut payload = (*send.payload).clone();
    let stamped = Utc::now().timestamp_millis() - send.aged.as_millis() as i64;
    payload["webhookTimestamp"] = json!(stamped);
    let body = serde_json::to_vec(&payload).unwrap_or_default();
    let signature = sign(&send.secret, &body);
    let result = client
        .post(&send.url)
        .header("content-type", "application/json; charset=utf-8")
        .header("user-agent", "Linear-Webhook")
        .header("linear-delivery", &send.delivery_id)
        .header("linear-event", "Issue")
        .header("linear-signature", &signature)
        .body(body.clone())
        .send()
        .await;
    let outcome = match result {
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
            delivery_id: send.delivery_id.clone(),
            action: send.action.clone(),
            issue_identifier: send.issue_identifier.clone(),
            url: send.url.clone(),
            attempt: send.attempt,
            body,
            signature,
            status: outcome.as_ref().ok().copied(),
            error: outcome.as_ref().err().cloned(),
            at: Instant::now(),
        });
        s.sent.push(send.clone());
        let retries = s.retries.as_deref().unwrap_or(&DEFAULT_RETRIES);
        retries.get(send.attempt as usize - 1).copied()
    });
    if !matches!(outcome, Ok(200..=299))
        && send.aged.is_zero()
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
            "no answer within {} s (Linear counts it as failed)",
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
