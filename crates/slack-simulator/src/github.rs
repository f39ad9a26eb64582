//! A strict fake GitHub REST API (v3) on 127.0.0.1, for the issues of one private repository,
//! and the `issues` webhooks GitHub sends when they change. It is as strict as GitHub, never
//! kinder: it shares no type with the bot and was built from GitHub's REST documentation
//! (docs.github.com, "Issues", "Using pagination", "Rate limits", "Webhook events and payloads",
//! "Validating webhook deliveries") and recorded answers, not from what the bot sends.
//!
//! Endpoints (under the API root with no `/api/v3` prefix, as on github.com; the repository is
//! addressed as `/repos/{owner}/{repo}` — case-insensitively, as GitHub resolves names — or as
//! `/repositories/{id}`, the form GitHub's own `Link` headers use):
//! - `POST …/issues` — JSON `{title, body?, labels?, assignees?, milestone?}`: 201 and the issue.
//!   Labels that do not exist yet are created (grey, `ededed`), as they are for a token with push
//!   access;
//! - `GET …/issues` — `state` (open, closed, all; default open), `labels` (comma-separated; an
//!   issue must carry all of them, compared case-insensitively as GitHub compares label names),
//!   `sort` (created, updated, comments), `direction` (default desc), `since`, `per_page`
//!   (default 30, at most 100), `page` (from 1); a `Link` header (`prev`, `next`, `last`,
//!   `first`, in GitHub's order) when there is more than one page, its URLs absolute, under
//!   `/repositories/{id}/issues`, with the query as sent and `page` last;
//! - `GET …/issues/{number}`;
//! - `PATCH …/issues/{number}` — `title`, `body`, `state` (open, closed), `state_reason`
//!   (completed, not_planned, duplicate, reopened, null), `labels` (replace all), `assignees`,
//!   `milestone`: 200 and the issue.
//!
//! Rules:
//! - Every request needs a `User-Agent` header: without one GitHub answers 403 with a plain-text
//!   "Request forbidden by administrative rules" page, before anything else is looked at.
//! - `X-GitHub-Api-Version`, when sent, must be a version GitHub serves (2022-11-28, the default,
//!   or 2026-03-10); another is 400. Under 2026-03-10 the issue's singular `assignee` field, which
//!   that version removed, is left out.
//! - Auth is `Authorization: Bearer <token>` or `Authorization: token <token>`; another token is
//!   401 `Bad credentials` (whatever the path). A request with no `Authorization` is anonymous,
//!   and the repository is private: GitHub then answers 404 `Not Found`, not 401, so that private
//!   repositories do not leak (its documentation says so).
//! - Another repository, an unknown issue number, a path not served and a method a path does not
//!   take are 404 `{"message":"Not Found",…}`.
//! - Validation: a missing or blank title is 422 `missing_field`; a title over 256 characters or a
//!   body over 65,536 is 422 `custom` with GitHub's "is too long" message; an unknown assignee or
//!   any milestone (the repository has none) is 422 `invalid`; a wrong JSON type is 422 "Invalid
//!   request." as GitHub's schema validation words it; a body that is not JSON is 400 `Problems
//!   parsing JSON`. List filters this fake does not serve (`milestone`, `assignee`, `creator`,
//!   `mentioned`, `type`) are refused with 422 rather than ignored, so a client relying on them
//!   cannot pass by luck.
//! - Every answer carries `x-ratelimit-limit` (5000), `x-ratelimit-remaining` (one less per
//!   request, a 304 excepted, as GitHub does not count those), `x-ratelimit-reset`,
//!   `x-ratelimit-used`, `x-ratelimit-resource: core` and `x-github-request-id`. Every 200 to a
//!   `GET` carries a weak `ETag` (`W/"<sha-256 of the body>"`, so it changes whenever the
//!   answer does); an `If-None-Match` naming it is answered 304 with an empty body.
//! - [`FakeGitHub::rate_limit`] answers GitHub's primary rate limit: 403 (not 429),
//!   `x-ratelimit-remaining: 0`, `x-ratelimit-reset` one second ahead and no `Retry-After`, so a
//!   client must read the reset time.
//! - Faults (the next requests, whichever endpoint): an error status, the rate-limit refusal, a
//!   request applied whose answer is lost (500, or the connection closed), one applied and
//!   answered late.
//!
//! Webhooks ([`FakeGitHub::subscribe`]): for every change made through the API or by people
//! through the handle GitHub POSTs an `issues` event — `opened`, then one `labeled` per label an
//! issue was created with, `edited` (with `changes.title.from` / `changes.body.from`),
//! `labeled` / `unlabeled`, `closed`, `reopened` — with `X-GitHub-Event`, `X-GitHub-Delivery` (a
//! random UUID), `X-GitHub-Hook-ID`, `X-GitHub-Hook-Installation-Target-Type: repository`,
//! `X-GitHub-Hook-Installation-Target-ID`, `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the
//! raw body with the secret>`, `Content-Type: application/json` and `User-Agent:
//! GitHub-Hookshot/<hex>`. The body is `{"action", "issue", "repository", "sender"}` (plus
//! `label` or `changes`). GitHub waits 10 s for an answer and does not retry by itself;
//! [`FakeGitHub::redeliver_last`] is its "Redeliver" button (same delivery id, same bytes).
//! Deliveries go out one at a time, in the order the changes happened (GitHub does not promise
//! an order; a receiver must not rely on one).
//!
//! Not faked: pull requests (which GitHub's issue list also returns), comments, milestones,
//! issue types, locking, reactions, the search API, secondary rate limits, the legacy
//! `X-Hub-Signature` (SHA-1) header, webhook `ping` on subscription (send it with
//! [`FakeGitHub::send_ping`]), GitHub Apps and their installation tokens.
//!
//! Its submodule `hooks` holds the webhook sender and the ETag rules the fakes of GitHub and
//! GitLab share.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State as AxumState};
use axum::http::{HeaderMap, Method, Uri, header};
use axum::response::Response;
use chrono::{DateTime, SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use crate::pagerduty::wire::RecordedRequest;
use crate::pagerduty::wire::{self, Answer, Cut, CutListener, Fault, Faults, random_id};
use hooks::{Outbox, Outcome, Post};

/// How long GitHub waits for a webhook's answer before it counts the delivery as failed.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest issue title GitHub takes, in characters.
pub const MAX_TITLE_CHARS: usize = 256;
/// The longest issue body GitHub takes, in characters.
pub const MAX_BODY_CHARS: usize = 65_536;
/// The login of the user the API token belongs to: the author of issues created through the API
/// and the `sender` of their webhooks.
pub const TOKEN_LOGIN: &str = "incident-commander-bot";
/// The REST API versions GitHub serves, the default first.
pub const API_VERSIONS: [&str; 2] = ["2022-11-28", "2026-03-10"];
/// Requests an hour a token may make (GitHub's primary limit for a user token).
pub const RATE_LIMIT: u32 = 5000;

const DOCS: &str = "https://docs.github.com/rest";
const CREATE_DOCS: &str = "https://docs.github.com/rest/issues/issues#create-an-issue";
const UPDATE_DOCS: &str = "https://docs.github.com/rest/issues/issues#update-an-issue";
const GET_DOCS: &str = "https://docs.github.com/rest/issues/issues#get-an-issue";
const LIST_DOCS: &str = "https://docs.github.com/rest/issues/issues#list-repository-issues";
const RATE_DOCS: &str = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api";
const NODE_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
const HEX: &[u8] = b"0123456789abcdef";
const UNSERVED_FILTERS: [&str; 5] = ["milestone", "assignee", "creator", "mentioned", "type"];

/// An issue of the repository.
#[derive(Clone, Debug)]
pub struct Issue {
    /// The repository's issue number, from 1.
    pub number: u64,
    /// GitHub's global id (a large integer).
    pub id: u64,
    /// Its title.
    pub title: String,
    /// Its Markdown body; `None` when it has none.
    pub body: Option<String>,
    /// The names of its labels, in the order applied.
    pub labels: Vec<String>,
    /// The logins it is assigned to.
    pub assignees: Vec<String>,
    /// `open` or `closed`.
    pub state: String,
    /// `None`, `completed`, `not_planned`, `duplicate` or `reopened`.
    pub state_reason: Option<String>,
    /// `https://github.com/{owner}/{repo}/issues/{number}`.
    pub html_url: String,
    /// The login of its author.
    pub user: String,
    /// Who closed it last (`None` while it never was).
    pub closed_by: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was closed; `None` while open.
    pub closed_at: Option<DateTime<Utc>>,
    node_id: String,
}

/// One webhook delivery attempt.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// The `X-GitHub-Delivery` GUID, kept by a redelivery.
    pub id: String,
    /// The `X-GitHub-Hook-ID`.
    pub hook_id: u64,
    /// `issues` or `ping`.
    pub event: String,
    /// The body's `action` (`opened`, `closed`, …); `None` for a ping.
    pub action: Option<String>,
    /// Where it was sent.
    pub url: String,
    /// The body parsed.
    pub body: Value,
    /// The body exactly as sent (what the signature covers).
    pub raw_body: Vec<u8>,
    /// The `X-Hub-Signature-256` sent.
    pub signature_256: String,
    /// Sent by [`FakeGitHub::redeliver_last`].
    pub redelivery: bool,
    /// The receiver's HTTP status; `None` when it gave none.
    pub status: Option<u16>,
    /// Why there was no status (refused connection, no answer within 10 s, …).
    pub error: Option<String>,
    /// When the attempt ended.
    pub at: Instant,
}

/// The HMAC-SHA256 signature GitHub puts in `X-Hub-Signature-256`: `sha256=<lower-case hex>` of
/// the raw `body` keyed with the webhook's secret.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC accepts a key of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

// --- state ---

#[derive(Clone, Debug)]
struct Label {
    id: u64,
    node_id: String,
    name: String,
    color: String,
}

struct Hook {
    id: u64,
    url: String,
    secret: String,
    created_at: DateTime<Utc>,
}

#[derive(Default)]
struct State {
    issues: Vec<Issue>,
    labels: Vec<Label>,
    /// Login → user id.
    users: Vec<(String, u64)>,
    collaborators: Vec<String>,
    hooks: Vec<Hook>,
    requests: Vec<RecordedRequest>,
    deliveries: Vec<Delivery>,
    faults: Faults,
    /// Requests counted against the hour's rate limit.
    used: u32,
}

struct Inner {
    token: String,
    owner: String,
    repo: String,
    repo_id: u64,
    port: u16,
    /// When the rate limit's hour ends (Unix seconds).
    reset_at: i64,
    state: Mutex<State>,
    outbox: Outbox,
    shutdown: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Inner {
    fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut state: MutexGuard<'_, State> =
            self.state.lock().expect("fake GitHub state lock poisoned");
        f(&mut state)
    }

    fn api_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn repo_api_url(&self) -> String {
        format!("{}/repos/{}/{}", self.api_url(), self.owner, self.repo)
    }

    fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.repo)
    }
}

/// A running fake GitHub serving one private repository. Cheap to clone; all clones share one
/// server.
#[derive(Clone)]
pub struct FakeGitHub {
    inner: Arc<Inner>,
}

impl fmt::Debug for FakeGitHub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeGitHub")
            .field("port", &self.inner.port)
            .field("repo", &self.inner.full_name())
            .finish_non_exhaustive()
    }
}

impl FakeGitHub {
    /// Binds 127.0.0.1 on a free port and serves repository `repo` (`owner/name`) to callers with
    /// `token` (which belongs to [`TOKEN_LOGIN`], a collaborator with push access). Panics when
    /// `repo` is not `owner/name`.
    pub async fn start(token: &str, repo: &str) -> std::io::Result<FakeGitHub> {
        let Some((owner, name)) = repo
            .split_once('/')
            .filter(|(o, n)| !o.is_empty() && !n.is_empty() && !n.contains('/'))
        else {
            panic!("a GitHub repository is named owner/name, not {repo:?}");
        };
        let (listener, port) = CutListener::bind().await?;
        let (shutdown, _) = watch::channel(false);
        let (outbox, sender) = Outbox::start(WEBHOOK_TIMEOUT, shutdown.subscribe());
        let inner = Arc::new(Inner {
            token: token.to_string(),
            owner: owner.to_string(),
            repo: name.to_string(),
            repo_id: rand::random_range(100_000_000..999_999_999),
            port,
            reset_at: Utc::now().timestamp() + 3600,
            state: Mutex::new(State {
                collaborators: vec![TOKEN_LOGIN.to_string()],
                ..State::default()
            }),
            outbox,
            shutdown,
            tasks: Mutex::new(Vec::new()),
        });
        let router = Router::new()
            .fallback(handle_request)
            .with_state(inner.clone());
        let server = wire::serve(listener, router, inner.shutdown.subscribe(), "github");
        inner
            .tasks
            .lock()
            .expect("fake GitHub task lock poisoned")
            .extend([server, sender]);
        Ok(FakeGitHub { inner })
    }

    /// The API root, `http://127.0.0.1:PORT` (what `https://api.github.com` is to GitHub).
    pub fn api_url(&self) -> String {
        self.inner.api_url()
    }

    /// The repository's `owner/name`.
    pub fn repo(&self) -> String {
        self.inner.full_name()
    }

    /// The repository's numeric id (`/repositories/{id}` addresses it too).
    pub fn repo_id(&self) -> u64 {
        self.inner.repo_id
    }

    /// Gives `login` access to the repository, so issues can be assigned to them.
    pub fn add_collaborator(&self, login: &str) {
        self.inner.with_state(|s| {
            if !s
                .collaborators
                .iter()
                .any(|c| c.eq_ignore_ascii_case(login))
            {
                s.collaborators.push(login.to_string());
            }
        });
    }

    // --- webhooks ---

    /// Adds a repository webhook for `issues` events to `url`, signed with `secret`; returns its
    /// hook id. GitHub would also send a `ping` at once; call [`Self::send_ping`] for that.
    pub fn subscribe(&self, url: &str, secret: &str) -> u64 {
        let id = rand::random_range(400_000_000..499_999_999);
        self.inner.with_state(|s| {
            s.hooks.push(Hook {
                id,
                url: url.to_string(),
                secret: secret.to_string(),
                created_at: Utc::now(),
            })
        });
        id
    }

    /// Sends the `ping` event to every webhook, as GitHub does when one is created; returns the
    /// statuses answered (`None` where there was no answer).
    pub async fn send_ping(&self) -> Vec<Option<u16>> {
        let done = self.inner.with_state(|s| {
            let sender = s.user_json(&self.inner, TOKEN_LOGIN);
            let repository = repository_json(&self.inner, s);
            let posts = s
                .hooks
                .iter()
                .map(|hook| {
                    let body = json!({
                        "zen": ZEN[rand::random_range(0..ZEN.len())],
                        "hook_id": hook.id,
                        "hook": {
                            "type": "Repository",
                            "id": hook.id,
                            "name": "web",
                            "active": true,
                            "events": ["issues"],
                            "config": {
                                "content_type": "json",
                                "insecure_ssl": "0",
                                "url": hook.url,
                            },
                            "updated_at": iso(hook.created_at),
                            "created_at": iso(hook.created_at),
                            "url": format!("{}/hooks/{}", self.inner.repo_api_url(), hook.id),
                            "test_url": format!("{}/hooks/{}/test", self.inner.repo_api_url(), hook.id),
                            "ping_url": format!("{}/hooks/{}/pings", self.inner.repo_api_url(), hook.id),
                            "deliveries_url": format!("{}/hooks/{}/deliveries", self.inner.repo_api_url(), hook.id),
                            "last_response": { "code": null, "status": "unused", "message": null },
                        },
                        "repository": repository,
                        "sender": sender,
                    });
                    webhook_post(&self.inner, hook, "ping", None, &uuid(), serde_json::to_vec(&body).unwrap_or_default(), false)
                })
                .collect();
            self.inner.outbox.send(posts)
        });
        statuses(done.await.unwrap_or_default())
    }

    /// Sends the last delivery again, as GitHub's "Redeliver" button does: the same
    /// `X-GitHub-Delivery`, the same bytes, to the same hook. Returns the status answered; `None`
    /// when nothing was delivered yet or the receiver gave no answer.
    pub async fn redeliver_last(&self) -> Option<u16> {
        let done = self.inner.with_state(|s| {
            let last = s.deliveries.last()?.clone();
            let hook = s.hooks.iter().find(|h| h.id == last.hook_id)?;
            let post = webhook_post(
                &self.inner,
                hook,
                &last.event,
                last.action.clone(),
                &last.id,
                last.raw_body.clone(),
                true,
            );
            Some(self.inner.outbox.send(vec![post]))
        })?;
        statuses(done.await.unwrap_or_default())
            .into_iter()
            .next()
            .flatten()
    }

    /// Every webhook delivery attempt, in the order sent.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.inner.with_state(|s| s.deliveries.clone())
    }

    /// Waits until every webhook queued so far was sent.
    pub async fn settle(&self) {
        self.inner.outbox.flush().await;
    }

    // --- people acting in GitHub ---

    /// `by_login` closes issue `number` as completed in GitHub's web UI (`closed` webhook).
    /// Returns the statuses the webhooks were answered with (`None`: no answer); empty when the
    /// issue already was closed (nothing changes, nothing is sent). Panics when there is no such
    /// issue.
    pub async fn close(&self, number: u64, by_login: &str) -> Vec<Option<u16>> {
        let change = Change {
            state: Some(("closed".into(), Some("completed".into()))),
            ..Change::default()
        };
        self.person_changes(number, by_login, change).await
    }

    /// `by_login` reopens issue `number` (`reopened` webhook). Returns as [`Self::close`] does.
    pub async fn reopen(&self, number: u64, by_login: &str) -> Vec<Option<u16>> {
        let change = Change {
            state: Some(("open".into(), Some("reopened".into()))),
            ..Change::default()
        };
        self.person_changes(number, by_login, change).await
    }

    async fn person_changes(&self, number: u64, login: &str, change: Change) -> Vec<Option<u16>> {
        let done = self.inner.with_state(|s| {
            let index = s
                .issues
                .iter()
                .position(|i| i.number == number)
                .unwrap_or_else(|| panic!("the fake GitHub has no issue #{number}"));
            s.apply(&self.inner, index, change, login)
        });
        statuses(done.await.unwrap_or_default())
    }

    // --- what happened ---

    /// Every issue, oldest first.
    pub fn issues(&self) -> Vec<Issue> {
        self.inner.with_state(|s| s.issues.clone())
    }

    /// Issue `number`.
    pub fn issue(&self, number: u64) -> Option<Issue> {
        self.inner
            .with_state(|s| s.issues.iter().find(|i| i.number == number).cloned())
    }

    /// The repository's label names, in the order created.
    pub fn labels(&self) -> Vec<String> {
        self.inner
            .with_state(|s| s.labels.iter().map(|l| l.name.clone()).collect())
    }

    /// Every request received, in order, with what it was answered.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.inner.with_state(|s| s.requests.clone())
    }

    // --- fault injection (the next requests, whichever endpoint) ---

    wire::fault_injection!(
        "The next `times` requests are refused as GitHub's primary rate limit refuses: 403, `x-ratelimit-remaining: 0`, `x-ratelimit-reset` a second ahead. They change nothing."
    );

    /// Stops the server and the webhook sender.
    pub async fn shutdown(self) {
        self.inner.shutdown.send_replace(true);
        let tasks: Vec<_> = self
            .inner
            .tasks
            .lock()
            .expect("fake GitHub task lock poisoned")
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

const ZEN: [&str; 5] = [
    "Keep it logically awesome.",
    "Design for failure.",
    "Speak like a human.",
    "Favor focus over features.",
    "Non-blocking is better than blocking.",
];

fn statuses(outcomes: Vec<Outcome>) -> Vec<Option<u16>> {
    outcomes.into_iter().map(|o| o.ok()).collect()
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn optional_iso(at: Option<DateTime<Utc>>) -> Value {
    at.map(|at| Value::String(iso(at))).unwrap_or(Value::Null)
}

/// One webhook POST to `hook`, recorded as a [`Delivery`] once answered.
fn webhook_post(
    inner: &Arc<Inner>,
    hook: &Hook,
    event: &str,
    action: Option<String>,
    delivery_id: &str,
    body: Vec<u8>,
    redelivery: bool,
) -> Post {
    let signature = sign(&hook.secret, &body);
    let headers = vec![
        ("content-type", "application/json".to_string()),
        (
            "user-agent",
            format!("GitHub-Hookshot/{}", random_id(HEX, 7)),
        ),
        ("x-github-event", event.to_string()),
        ("x-github-delivery", delivery_id.to_string()),
        ("x-github-hook-id", hook.id.to_string()),
        (
            "x-github-hook-installation-target-type",
            "repository".to_string(),
        ),
        (
            "x-github-hook-installation-target-id",
            inner.repo_id.to_string(),
        ),
        ("x-hub-signature-256", signature.clone()),
    ];
    let weak: Weak<Inner> = Arc::downgrade(inner);
    let record = Delivery {
        id: delivery_id.to_string(),
        hook_id: hook.id,
        event: event.to_string(),
        action,
        url: hook.url.clone(),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        raw_body: body.clone(),
        signature_256: signature,
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

fn repository_json(inner: &Inner, s: &mut State) -> Value {
    let owner = s.user_json(inner, &inner.owner);
    json!({
        "id": inner.repo_id,
        "node_id": format!("R_kgDO{}", hex::encode_upper(inner.repo_id.to_be_bytes())),
        "name": inner.repo,
        "full_name": inner.full_name(),
        "private": true,
        "owner": owner,
        "html_url": format!("https://github.com/{}", inner.full_name()),
        "url": inner.repo_api_url(),
        "default_branch": "main",
        "has_issues": true,
    })
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

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `Some(true)`: the token; `Some(false)`: another credential; `None`: anonymous.
    fn authenticated(&self, token: &str) -> Option<bool> {
        let value = self.header(header::AUTHORIZATION.as_str())?;
        let Some((scheme, credential)) = value.trim().split_once(' ') else {
            return Some(false);
        };
        let known = scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token");
        Some(known && credential.trim() == token)
    }

    /// The API version asked for (the default when none is).
    fn api_version(&self) -> Result<&'static str, String> {
        match self.header("x-github-api-version") {
            None => Ok(API_VERSIONS[0]),
            Some(asked) => API_VERSIONS
                .iter()
                .find(|v| **v == asked.trim())
                .copied()
                .ok_or_else(|| asked.to_string()),
        }
    }
}

/// GitHub's error body: `{"message", "documentation_url", "status"}`.
fn error(status: u16, message: &str, docs: &str) -> Answer {
    Answer::json(
        status,
        &json!({ "message": message, "documentation_url": docs, "status": status.to_string() }),
    )
}

fn not_found(docs: &str) -> Answer {
    error(404, "Not Found", docs)
}

fn validation_failed(errors: Vec<Value>, docs: &str) -> Answer {
    Answer::json(
        422,
        &json!({
            "message": "Validation Failed",
            "errors": errors,
            "documentation_url": docs,
            "status": "422",
        }),
    )
}

/// GitHub's JSON-schema refusal: `Invalid request.\n\nFor 'properties/<field>', <value> is not
/// <what>.`
fn invalid_request(field: &str, value: &Value, what: &str, docs: &str) -> Answer {
    error(
        422,
        &format!("Invalid request.\n\nFor 'properties/{field}', {value} is not {what}."),
        docs,
    )
}

/// The JSON object of a request body, or GitHub's refusal.
fn json_object(body: &[u8], docs: &str) -> Result<Map<String, Value>, Answer> {
    if body.iter().all(u8::is_ascii_whitespace) {
        // GitHub reads an empty body as no parameters at all.
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(other) => Err(error(
            422,
            &format!("Invalid request.\n\nFor 'links/0/schema', {other} is not an object."),
            docs,
        )),
        Err(_) => Err(error(400, "Problems parsing JSON", docs)),
    }
}

/// What a create, an update or a person asks of an issue, validated.
#[derive(Default)]
struct Change {
    title: Option<String>,
    /// `Some(None)` clears the body.
    body: Option<Option<String>>,
    labels: Option<Vec<String>>,
    assignees: Option<Vec<String>>,
    /// The new state and its reason.
    state: Option<(String, Option<String>)>,
    /// A reason given without a change of state.
    state_reason: Option<Option<String>>,
}

impl State {
    fn answer(&mut self, inner: &Arc<Inner>, request: &Request<'_>) -> Answer {
        let fault = self.faults.take();
        let mut answer = match fault {
            Some(Fault::Fail(status)) => {
                let reason = axum::http::StatusCode::from_u16(status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("Error");
                error(status, reason, DOCS)
            }
            Some(Fault::RateLimit) => {
                let mut answer = error(
                    403,
                    &format!(
                        "API rate limit exceeded for user ID {}. If you reach out to GitHub \
                         Support for help, please include the request ID {}.",
                        self.user_id(TOKEN_LOGIN),
                        request_id()
                    ),
                    RATE_DOCS,
                );
                answer
                    .headers
                    .extend(rate_headers(0, RATE_LIMIT, Utc::now().timestamp() + 1));
                answer.headers.push(("x-github-request-id", request_id()));
                return answer;
            }
            _ => self.route(inner, request),
        };
        let counted = answer.status != 304;
        if counted {
            self.used = self.used.saturating_add(1);
        }
        answer.headers.extend(rate_headers(
            RATE_LIMIT.saturating_sub(self.used),
            self.used,
            inner.reset_at,
        ));
        answer.headers.push(("x-github-request-id", request_id()));
        answer.after(fault.as_ref())
    }

    fn route(&mut self, inner: &Arc<Inner>, request: &Request<'_>) -> Answer {
        if request
            .header("user-agent")
            .is_none_or(|ua| ua.trim().is_empty())
        {
            return Answer::text(
                403,
                "Request forbidden by administrative rules. Please make sure your request has a \
                 User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). \
                 Check https://developer.github.com for other possible causes.\n",
            );
        }
        let version = match request.api_version() {
            Ok(version) => version,
            Err(asked) => {
                return error(
                    400,
                    &format!("API version '{asked}' is not supported."),
                    "https://docs.github.com/rest/about-the-rest-api/api-versions",
                );
            }
        };
        let mut answer = match request.authenticated(&inner.token) {
            Some(false) => error(401, "Bad credentials", DOCS),
            None => not_found(DOCS),
            Some(true) => self.route_authenticated(inner, request, version),
        };
        answer
            .headers
            .push(("x-github-api-version-selected", version.to_string()));
        answer
            .headers
            .push(("x-github-media-type", "github.v3; format=json".to_string()));
        if *request.method == Method::GET && answer.status == 200 {
            answer = hooks::conditional(answer, request.headers, hooks::etag_sha256);
            answer
                .headers
                .push(("cache-control", "private, max-age=60, s-maxage=60".into()));
            answer
                .headers
                .push(("vary", "Accept, Authorization, Cookie, X-GitHub-OTP".into()));
        }
        answer
    }

    fn route_authenticated(
        &mut self,
        inner: &Arc<Inner>,
        request: &Request<'_>,
        version: &str,
    ) -> Answer {
        let segments: Vec<&str> = request.path.split('/').skip(1).collect();
        let rest = match segments.as_slice() {
            ["repos", owner, repo, rest @ ..]
                if owner.eq_ignore_ascii_case(&inner.owner)
                    && repo.eq_ignore_ascii_case(&inner.repo) =>
            {
                rest
            }
            ["repositories", id, rest @ ..] if *id == inner.repo_id.to_string() => rest,
            _ => return not_found(DOCS),
        };
        let method = request.method;
        match rest {
            ["issues"] if method == Method::POST => self.create(inner, request, version),
            ["issues"] if method == Method::GET => self.list(inner, request, version),
            ["issues", number] if method == Method::GET => match self.find(number) {
                Some(index) => Answer::json(200, &self.issue_json(inner, index, version)),
                None => not_found(GET_DOCS),
            },
            ["issues", number] if method == Method::PATCH => match self.find(number) {
                Some(index) => self.update(inner, request, index, version),
                None => not_found(UPDATE_DOCS),
            },
            _ => not_found(DOCS),
        }
    }

    fn find(&self, number: &str) -> Option<usize> {
        let number: u64 = number.parse().ok()?;
        self.issues.iter().position(|i| i.number == number)
    }

    fn create(&mut self, inner: &Arc<Inner>, request: &Request<'_>, version: &str) -> Answer {
        let params = match json_object(request.body, CREATE_DOCS) {
            Ok(params) => params,
            Err(answer) => return answer,
        };
        let change = match self.validate(&params, true, CREATE_DOCS) {
            Ok(change) => change,
            Err(answer) => return answer,
        };
        let now = Utc::now();
        let number = self.issues.len() as u64 + 1;
        self.issues.push(Issue {
            number,
            id: rand::random_range(1_000_000_000..3_999_999_999),
            title: change.title.clone().unwrap_or_default(),
            body: change.body.clone().flatten(),
            labels: Vec::new(),
            assignees: change.assignees.clone().unwrap_or_default(),
            state: "open".into(),
            state_reason: None,
            html_url: format!("https://github.com/{}/issues/{number}", inner.full_name()),
            user: TOKEN_LOGIN.to_string(),
            closed_by: None,
            created_at: now,
            updated_at: now,
            closed_at: None,
            node_id: format!("I_kwDO{}", random_id(NODE_ALPHABET, 16)),
        });
        let index = self.issues.len() - 1;
        let labels: Vec<Label> = change
            .labels
            .unwrap_or_default()
            .iter()
            .map(|name| self.label(name))
            .collect();
        self.issues[index].labels = labels.iter().map(|l| l.name.clone()).collect();
        // `opened` shows the issue with its labels; one `labeled` per label follows it.
        drop(self.emit(inner, index, "opened", TOKEN_LOGIN, None));
        for label in &labels {
            let extra = json!({ "label": label_json(inner, label) });
            drop(self.emit(inner, index, "labeled", TOKEN_LOGIN, Some(extra)));
        }
        Answer::json(201, &self.issue_json(inner, index, version))
    }

    fn update(
        &mut self,
        inner: &Arc<Inner>,
        request: &Request<'_>,
        index: usize,
        version: &str,
    ) -> Answer {
        let params = match json_object(request.body, UPDATE_DOCS) {
            Ok(params) => params,
            Err(answer) => return answer,
        };
        let change = match self.validate(&params, false, UPDATE_DOCS) {
            Ok(change) => change,
            Err(answer) => return answer,
        };
        drop(self.apply(inner, index, change, TOKEN_LOGIN));
        Answer::json(200, &self.issue_json(inner, index, version))
    }

    fn validate(
        &self,
        params: &Map<String, Value>,
        creating: bool,
        docs: &str,
    ) -> Result<Change, Answer> {
        let mut change = Change::default();
        let mut errors = Vec::new();

        match params.get("title") {
            None if !creating => {}
            Some(Value::String(title)) if !title.trim().is_empty() => {
                if title.chars().count() > MAX_TITLE_CHARS {
                    errors.push(json!({
                        "resource": "Issue",
                        "code": "custom",
                        "field": "title",
                        "message": format!("title is too long (maximum is {MAX_TITLE_CHARS} characters)"),
                    }));
                }
                change.title = Some(title.clone());
            }
            // GitHub's schema takes a number as a title.
            Some(Value::Number(n)) => change.title = Some(n.to_string()),
            None | Some(Value::Null) | Some(Value::String(_)) => errors.push(json!({
                "resource": "Issue",
                "code": "missing_field",
                "field": "title",
            })),
            Some(other) => {
                return Err(invalid_request("title", other, "a string or integer", docs));
            }
        }

        match params.get("body") {
            None => {}
            Some(Value::Null) => change.body = Some(None),
            Some(Value::String(body)) => {
                if body.chars().count() > MAX_BODY_CHARS {
                    errors.push(json!({
                        "resource": "Issue",
                        "code": "custom",
                        "field": "body",
                        "message": format!("body is too long (maximum is {MAX_BODY_CHARS} characters)"),
                    }));
                }
                change.body = Some(Some(body.clone()));
            }
            Some(other) => return Err(invalid_request("body", other, "a string or null", docs)),
        }

        match params.get("labels") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                let mut names: Vec<String> = Vec::new();
                for item in items {
                    let name = match item {
                        Value::String(name) => name.clone(),
                        Value::Object(label) => match label.get("name") {
                            Some(Value::String(name)) => name.clone(),
                            _ => {
                                return Err(invalid_request(
                                    "labels/items",
                                    item,
                                    "a string or an object with a name",
                                    docs,
                                ));
                            }
                        },
                        other => {
                            return Err(invalid_request(
                                "labels/items",
                                other,
                                "a string or an object with a name",
                                docs,
                            ));
                        }
                    };
                    if name.trim().is_empty() {
                        errors.push(json!({
                            "resource": "Label",
                            "code": "missing_field",
                            "field": "name",
                        }));
                    } else if !names.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
                        names.push(name);
                    }
                }
                change.labels = Some(names);
            }
            Some(other) => return Err(invalid_request("labels", other, "an array", docs)),
        }

        match params.get("assignees") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                let mut logins = Vec::new();
                for item in items {
                    let Some(login) = item.as_str() else {
                        return Err(invalid_request("assignees/items", item, "a string", docs));
                    };
                    match self
                        .collaborators
                        .iter()
                        .find(|c| c.eq_ignore_ascii_case(login))
                    {
                        Some(known) => logins.push(known.clone()),
                        None => errors.push(json!({
                            "value": login,
                            "resource": "Issue",
                            "field": "assignees",
                            "code": "invalid",
                        })),
                    }
                }
                change.assignees = Some(logins);
            }
            Some(other) => return Err(invalid_request("assignees", other, "an array", docs)),
        }

        // The repository has no milestones: any milestone number is invalid.
        if let Some(milestone) = params.get("milestone").filter(|m| !m.is_null()) {
            errors.push(json!({
                "value": milestone,
                "resource": "Issue",
                "field": "milestone",
                "code": "invalid",
            }));
        }

        if !creating {
            let reason = match params.get("state_reason") {
                None => None,
                Some(Value::Null) => Some(None),
                Some(Value::String(r))
                    if ["completed", "not_planned", "duplicate", "reopened"]
                        .contains(&r.as_str()) =>
                {
                    Some(Some(r.clone()))
                }
                Some(other) => {
                    errors.push(json!({
                        "value": other,
                        "resource": "Issue",
                        "field": "state_reason",
                        "code": "invalid",
                    }));
                    None
                }
            };
            match params.get("state") {
                None | Some(Value::Null) => change.state_reason = reason,
                Some(Value::String(state)) if state == "open" => {
                    change.state = Some(("open".into(), Some("reopened".into())));
                }
                Some(Value::String(state)) if state == "closed" => {
                    let reason = reason
                        .flatten()
                        .filter(|r| r != "reopened")
                        .unwrap_or_else(|| "completed".into());
                    change.state = Some(("closed".into(), Some(reason)));
                }
                Some(other) => errors.push(json!({
                    "value": other,
                    "resource": "Issue",
                    "field": "state",
                    "code": "invalid",
                })),
            }
        }

        if errors.is_empty() {
            Ok(change)
        } else {
            Err(validation_failed(errors, docs))
        }
    }

    /// Applies a validated change to issue `index` on behalf of `login` and queues the webhooks
    /// it causes; the receiver gets their outcomes.
    fn apply(
        &mut self,
        inner: &Arc<Inner>,
        index: usize,
        change: Change,
        login: &str,
    ) -> tokio::sync::oneshot::Receiver<Vec<Outcome>> {
        let now = Utc::now();
        let mut events: Vec<(&'static str, Option<Value>)> = Vec::new();

        let mut changes = Map::new();
        let issue = &mut self.issues[index];
        if let Some(title) = change.title
            && title != issue.title
        {
            changes.insert("title".into(), json!({ "from": issue.title }));
            issue.title = title;
        }
        if let Some(body) = change.body
            && body != issue.body
        {
            changes.insert("body".into(), json!({ "from": issue.body }));
            issue.body = body;
        }
        if !changes.is_empty() {
            events.push(("edited", Some(json!({ "changes": changes }))));
        }
        if let Some(assignees) = change.assignees {
            issue.assignees = assignees;
        }

        let mut labeled = Vec::new();
        let mut unlabeled = Vec::new();
        if let Some(wanted) = change.labels {
            let had = self.issues[index].labels.clone();
            for name in &had {
                if !wanted.iter().any(|w| w.eq_ignore_ascii_case(name)) {
                    unlabeled.push(name.clone());
                }
            }
            for name in &wanted {
                if !had.iter().any(|l| l.eq_ignore_ascii_case(name)) {
                    labeled.push(self.label(name).name);
                }
            }
            let issue = &mut self.issues[index];
            issue.labels.retain(|l| !unlabeled.contains(l));
            issue.labels.extend(labeled.iter().cloned());
        }
        for name in &unlabeled {
            let label = self.label(name);
            events.push((
                "unlabeled",
                Some(json!({ "label": label_json(inner, &label) })),
            ));
        }
        for name in &labeled {
            let label = self.label(name);
            events.push((
                "labeled",
                Some(json!({ "label": label_json(inner, &label) })),
            ));
        }

        let issue = &mut self.issues[index];
        if let Some(reason) = change.state_reason
            && issue.state == "closed"
        {
            issue.state_reason = reason;
        }
        if let Some((state, reason)) = change.state
            && state != issue.state
        {
            if state == "closed" {
                issue.closed_at = Some(now);
                issue.closed_by = Some(login.to_string());
                events.push(("closed", None));
            } else {
                issue.closed_at = None;
                events.push(("reopened", None));
            }
            issue.state = state;
            issue.state_reason = reason;
        }
        if !events.is_empty() {
            issue.updated_at = now;
        }
        let mut receivers = Vec::new();
        for (action, extra) in events {
            receivers.push(self.emit(inner, index, action, login, extra));
        }
        // One receiver for all: the last event's outcomes, which arrive after the others'.
        receivers
            .pop()
            .unwrap_or_else(|| inner.outbox.send(Vec::new()))
    }

    /// Queues the `issues` event `action` about issue `index` for every webhook.
    fn emit(
        &mut self,
        inner: &Arc<Inner>,
        index: usize,
        action: &str,
        login: &str,
        extra: Option<Value>,
    ) -> tokio::sync::oneshot::Receiver<Vec<Outcome>> {
        if self.hooks.is_empty() {
            return inner.outbox.send(Vec::new());
        }
        let mut body = Map::new();
        body.insert("action".into(), json!(action));
        body.insert(
            "issue".into(),
            self.issue_json(inner, index, API_VERSIONS[0]),
        );
        if let Some(Value::Object(extra)) = extra {
            body.extend(extra);
        }
        body.insert("repository".into(), repository_json(inner, self));
        body.insert("sender".into(), self.user_json(inner, login));
        let bytes = serde_json::to_vec(&Value::Object(body)).unwrap_or_default();
        let posts = self
            .hooks
            .iter()
            .map(|hook| {
                webhook_post(
                    inner,
                    hook,
                    "issues",
                    Some(action.to_string()),
                    &uuid(),
                    bytes.clone(),
                    false,
                )
            })
            .collect();
        inner.outbox.send(posts)
    }

    fn list(&mut self, inner: &Arc<Inner>, request: &Request<'_>, version: &str) -> Answer {
        for filter in UNSERVED_FILTERS {
            if request.query_param(filter).is_some() {
                return error(
                    422,
                    &format!("The `{filter}` filter is not served by this fake GitHub"),
                    LIST_DOCS,
                );
            }
        }
        let invalid = |field: &str, value: &str| {
            validation_failed(
                vec![
                    json!({ "value": value, "resource": "Issue", "field": field, "code": "invalid" }),
                ],
                LIST_DOCS,
            )
        };
        let state = request
            .query_param("state")
            .unwrap_or_else(|| "open".into());
        if !["open", "closed", "all"].contains(&state.as_str()) {
            return invalid("state", &state);
        }
        let sort = request
            .query_param("sort")
            .unwrap_or_else(|| "created".into());
        if !["created", "updated", "comments"].contains(&sort.as_str()) {
            return invalid("sort", &sort);
        }
        let direction = request
            .query_param("direction")
            .unwrap_or_else(|| "desc".into());
        if !["asc", "desc"].contains(&direction.as_str()) {
            return invalid("direction", &direction);
        }
        let since = match request.query_param("since") {
            None => None,
            Some(since) => match DateTime::parse_from_rfc3339(&since) {
                Ok(at) => Some(at.with_timezone(&Utc)),
                Err(_) => return invalid("since", &since),
            },
        };
        let labels: Vec<String> = request
            .query_param("labels")
            .map(|l| {
                l.split(',')
                    .map(|n| n.trim().to_string())
                    .filter(|n| !n.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let per_page = request
            .query_param("per_page")
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|n| *n > 0)
            .unwrap_or(30)
            .min(100);
        let page = request
            .query_param("page")
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|n| *n > 0)
            .unwrap_or(1);

        let mut matching: Vec<usize> = (0..self.issues.len())
            .filter(|i| {
                let issue = &self.issues[*i];
                (state == "all" || issue.state == state)
                    && labels
                        .iter()
                        .all(|l| issue.labels.iter().any(|have| have.eq_ignore_ascii_case(l)))
                    && since.is_none_or(|since| issue.updated_at >= since)
            })
            .collect();
        // Ties (issues made within one clock tick) fall back on the number, newest last.
        matching.sort_by_key(|i| {
            let issue = &self.issues[*i];
            let at = if sort == "updated" {
                issue.updated_at
            } else {
                issue.created_at
            };
            (at, issue.number)
        });
        if direction == "desc" {
            matching.reverse();
        }
        let pages = matching.len().div_ceil(per_page).max(1);
        let items: Vec<Value> = matching
            .iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .map(|i| self.issue_json(inner, *i, version))
            .collect();
        let mut answer = Answer::json(200, &Value::Array(items));
        if pages > 1 {
            answer
                .headers
                .push(("link", link_header(inner, request.query, page, pages)));
        }
        answer
    }

    /// The label named `name` (case-insensitively), created if the repository has none.
    fn label(&mut self, name: &str) -> Label {
        if let Some(label) = self
            .labels
            .iter()
            .find(|l| l.name.eq_ignore_ascii_case(name))
        {
            return label.clone();
        }
        let label = Label {
            id: rand::random_range(1_000_000_000..9_999_999_999),
            node_id: format!("LA_kwDO{}", random_id(NODE_ALPHABET, 16)),
            name: name.to_string(),
            color: "ededed".into(),
        };
        self.labels.push(label.clone());
        label
    }

    fn user_id(&mut self, login: &str) -> u64 {
        if let Some((_, id)) = self
            .users
            .iter()
            .find(|(l, _)| l.eq_ignore_ascii_case(login))
        {
            return *id;
        }
        let id = rand::random_range(1_000_000..99_999_999);
        self.users.push((login.to_string(), id));
        id
    }

    fn user_json(&mut self, inner: &Inner, login: &str) -> Value {
        let id = self.user_id(login);
        json!({
            "login": login,
            "id": id,
            // Derived from the id: an answer must not change unless the issue does (ETags).
            "node_id": format!("U_kgDO{}", hex::encode_upper(id.to_be_bytes())),
            "avatar_url": format!("https://avatars.githubusercontent.com/u/{id}?v=4"),
            "url": format!("{}/users/{login}", inner.api_url()),
            "html_url": format!("https://github.com/{login}"),
            "type": "User",
            "site_admin": false,
        })
    }

    fn issue_json(&mut self, inner: &Inner, index: usize, version: &str) -> Value {
        let issue = self.issues[index].clone();
        let url = format!("{}/issues/{}", inner.repo_api_url(), issue.number);
        let labels: Vec<Value> = issue
            .labels
            .iter()
            .map(|name| {
                let label = self.label(name);
                label_json(inner, &label)
            })
            .collect();
        let assignees: Vec<Value> = issue
            .assignees
            .iter()
            .map(|login| self.user_json(inner, login))
            .collect();
        let user = self.user_json(inner, &issue.user);
        let closed_by = match &issue.closed_by {
            Some(login) => self.user_json(inner, login),
            None => Value::Null,
        };
        let mut json = json!({
            "url": url,
            "repository_url": inner.repo_api_url(),
            "labels_url": format!("{url}/labels{{/name}}"),
            "comments_url": format!("{url}/comments"),
            "events_url": format!("{url}/events"),
            "html_url": issue.html_url,
            "id": issue.id,
            "node_id": issue.node_id,
            "number": issue.number,
            "title": issue.title,
            "user": user,
            "labels": labels,
            "state": issue.state,
            "locked": false,
            "assignees": assignees,
            "milestone": null,
            "comments": 0,
            "created_at": iso(issue.created_at),
            "updated_at": iso(issue.updated_at),
            "closed_at": optional_iso(issue.closed_at),
            "closed_by": closed_by,
            "author_association": if issue.user == TOKEN_LOGIN { "COLLABORATOR" } else { "NONE" },
            "active_lock_reason": null,
            "body": issue.body,
            "reactions": {
                "url": format!("{url}/reactions"),
                "total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "hooray": 0,
                "confused": 0, "heart": 0, "rocket": 0, "eyes": 0,
            },
            "timeline_url": format!("{url}/timeline"),
            "performed_via_github_app": null,
            "state_reason": issue.state_reason,
        });
        // 2026-03-10 removed the singular `assignee`.
        if version == API_VERSIONS[0] {
            json["assignee"] = assignees_first(&json);
        }
        json
    }
}

fn assignees_first(issue: &Value) -> Value {
    issue["assignees"].get(0).cloned().unwrap_or(Value::Null)
}

fn label_json(inner: &Inner, label: &Label) -> Value {
    let encoded: String = url::form_urlencoded::byte_serialize(label.name.as_bytes())
        .collect::<String>()
        .replace('+', "%20");
    json!({
        "id": label.id,
        "node_id": label.node_id,
        "url": format!("{}/labels/{encoded}", inner.repo_api_url()),
        "name": label.name,
        "color": label.color,
        "default": false,
        "description": null,
    })
}

/// GitHub's `Link` header for page `page` of `pages`: absolute URLs under
/// `/repositories/{id}/issues`, the query as sent with `page` replaced and put last, in the order
/// prev, next, last, first.
fn link_header(inner: &Inner, query: &str, page: usize, pages: usize) -> String {
    let kept: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k != "page")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let url_for = |n: usize| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &kept {
            query.append_pair(k, v);
        }
        query.append_pair("page", &n.to_string());
        format!(
            "<{}/repositories/{}/issues?{}>",
            inner.api_url(),
            inner.repo_id,
            query.finish()
        )
    };
    let mut links = Vec::new();
    if page > 1 {
        links.push(format!(
            "{}; rel=\"prev\"",
            url_for(page.min(pages + 1) - 1)
        ));
    }
    if page < pages {
        links.push(format!("{}; rel=\"next\"", url_for(page + 1)));
        links.push(format!("{}; rel=\"last\"", url_for(pages)));
    }
    if page > 1 {
        links.push(format!("{}; rel=\"first\"", url_for(1)));
    }
    links.join(", ")
}

fn rate_headers(remaining: u32, used: u32, reset: i64) -> [(&'static str, String); 5] {
    [
        ("x-ratelimit-limit", RATE_LIMIT.to_string()),
        ("x-ratelimit-remaining", remaining.to_string()),
        ("x-ratelimit-reset", reset.to_string()),
        ("x-ratelimit-used", used.to_string()),
        ("x-ratelimit-resource", "core".to_string()),
    ]
}

/// Like `C0DE:1B2A:3F4E5D:4A5B6C:65A1B2C3`.
fn request_id() -> String {
    [4, 4, 6, 6, 8]
        .iter()
        .map(|n| random_id(b"0123456789ABCDEF", *n))
        .collect::<Vec<_>>()
        .join(":")
}

/// What the fakes of GitHub and GitLab share: the webhook sender (one POST at a time, in order,
/// each recorded by its own callback) and conditional GETs with ETags. It lives under `github`
/// only because the crate root declares no module for it.
pub(crate) mod hooks {
    use std::time::Duration;

    use axum::http::HeaderMap;
    use sha2::{Digest, Sha256};
    use tokio::sync::{mpsc, oneshot, watch};
    use tokio::task::JoinHandle;

    use crate::pagerduty::wire::Answer;

    /// The receiver's status, or why there was none.
    pub(crate) type Outcome = Result<u16, String>;

    /// One webhook POST.
    pub(crate) struct Post {
        pub(crate) url: String,
        pub(crate) headers: Vec<(&'static str, String)>,
        pub(crate) body: Vec<u8>,
        /// Called with the outcome once the attempt ended, before anyone waiting hears of it.
        pub(crate) done: Box<dyn FnOnce(&Outcome) + Send>,
    }

    enum Job {
        Posts(Vec<Post>, oneshot::Sender<Vec<Outcome>>),
        Flush(oneshot::Sender<()>),
    }

    /// The queue of webhooks to send; the task started with it sends them.
    #[derive(Clone)]
    pub(crate) struct Outbox(mpsc::UnboundedSender<Job>);

    impl Outbox {
        /// Starts the sender: each POST waits at most `timeout` for its answer (body included).
        pub(crate) fn start(
            timeout: Duration,
            mut stop: watch::Receiver<bool>,
        ) -> (Outbox, JoinHandle<()>) {
            let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
            let task = tokio::spawn(async move {
                crate::install_tls_provider();
                let client = reqwest::Client::builder()
                    .timeout(timeout)
                    .redirect(reqwest::redirect::Policy::none())
                    .no_proxy()
                    .build()
                    .expect("the webhook client builds");
                loop {
                    let job = tokio::select! {
                        job = rx.recv() => job,
                        _ = stop.wait_for(|stopped| *stopped) => None,
                    };
                    match job {
                        None => return,
                        Some(Job::Flush(done)) => {
                            let _ = done.send(());
                        }
                        Some(Job::Posts(posts, done)) => {
                            let mut outcomes = Vec::new();
                            for post in posts {
                                let Post {
                                    url,
                                    headers,
                                    body,
                                    done: record,
                                } = post;
                                let outcome = send(&client, &url, &headers, body, timeout).await;
                                record(&outcome);
                                outcomes.push(outcome);
                            }
                            let _ = done.send(outcomes);
                        }
                    }
                }
            });
            (Outbox(tx), task)
        }

        /// Queues `posts` (sent in order, after everything queued before); the receiver gets
        /// their outcomes, or an error if the fake stopped first.
        pub(crate) fn send(&self, posts: Vec<Post>) -> oneshot::Receiver<Vec<Outcome>> {
            let (tx, rx) = oneshot::channel();
            let _ = self.0.send(Job::Posts(posts, tx));
            rx
        }

        /// Waits until everything queued so far was sent.
        pub(crate) async fn flush(&self) {
            let (tx, rx) = oneshot::channel();
            if self.0.send(Job::Flush(tx)).is_ok() {
                let _ = rx.await;
            }
        }
    }

    async fn send(
        client: &reqwest::Client,
        url: &str,
        headers: &[(&'static str, String)],
        body: Vec<u8>,
        timeout: Duration,
    ) -> Outcome {
        let mut request = client.post(url).body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let describe = |err: reqwest::Error| {
            if err.is_timeout() {
                return format!("no answer within {} s", timeout.as_secs());
            }
            let mut text = err.to_string();
            let mut source = std::error::Error::source(&err);
            while let Some(cause) = source {
                text.push_str(": ");
                text.push_str(&cause.to_string());
                source = cause.source();
            }
            text
        };
        let response = request.send().await.map_err(describe)?;
        let status = response.status().as_u16();
        // The receiver's body must arrive within the timeout too.
        response.bytes().await.map_err(describe)?;
        Ok(status)
    }

    /// `W/"<sha-256 hex>"` of `body` (GitHub's form).
    pub(crate) fn etag_sha256(body: &[u8]) -> String {
        format!("W/\"{}\"", hex::encode(Sha256::digest(body)))
    }

    /// `W/"<32 hex>"` of `body` (the length of GitLab's MD5-based ETags).
    pub(crate) fn etag_32(body: &[u8]) -> String {
        let digest = hex::encode(Sha256::digest(body));
        format!("W/\"{}\"", &digest[..32])
    }

    /// Adds an `ETag` to a 200 answer, or turns it into a 304 with an empty body when the
    /// request's `If-None-Match` names that ETag (weak comparison, lists and `*` included).
    pub(crate) fn conditional(
        mut answer: Answer,
        headers: &HeaderMap,
        etag: fn(&[u8]) -> String,
    ) -> Answer {
        let tag = etag(&answer.body);
        let opaque = |t: &str| t.trim().trim_start_matches("W/").to_string();
        let matched = headers
            .get_all("if-none-match")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim() == "*" || opaque(t) == opaque(&tag));
        if matched {
            answer.status = 304;
            answer.body.clear();
            answer.headers.retain(|(name, _)| *name != "content-type");
        }
        answer.headers.push(("etag", tag));
        answer
    }
}
