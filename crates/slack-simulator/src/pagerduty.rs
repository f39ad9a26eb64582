//! A strict fake PagerDuty on 127.0.0.1: the Events API v2 (`POST /v2/enqueue`) the bot pages
//! on-call through, the incidents those events open, and the v3 webhooks PagerDuty sends back
//! when incidents change. It is as strict as PagerDuty, never kinder: it shares no type with the
//! bot and was built from PagerDuty's documented and recorded payloads, not from what the bot
//! sends.
//!
//! What it does, and where that comes from:
//! - `/v2/enqueue` takes a JSON event (`routing_key`, `event_action` trigger/acknowledge/resolve,
//!   `dedup_key` of at most 255 characters, for a trigger `payload.summary` (at most 1024),
//!   `payload.source`, `payload.severity` critical/error/warning/info, optional `links`,
//!   `images`, `client`, `client_url`, `payload.custom_details`/`timestamp`/`component`/`group`/
//!   `class`) and answers 202 `{"status":"success","message":"Event processed","dedup_key":…}`
//!   (PagerDuty's developer docs, "Send an Alert Event", and the Events v2 OpenAPI in
//!   PagerDuty/api-schema). A trigger without a `dedup_key` gets a generated one (a UUID's 32 hex
//!   digits), returned in the answer.
//! - Invalid events get 400 `{"status":"invalid event","message":"Event object is invalid",
//!   "errors":[…]}` listing every problem at once; the error texts are the ones recorded from
//!   PagerDuty where a recording exists (`'routing_key' cannot be blank`, `'event_action' is
//!   missing or blank`, `'payload.source' is missing or blank`, `'payload.severity' is invalid
//!   (must be one of the following: 'critical', 'warning', 'error' or 'info')`) and modelled on
//!   them otherwise. A body that is not a JSON object gets 400 `{"status":"Unrecognized object",
//!   "message":"Event object format is unrecognized","errors":["JSON parse error"]}` (the
//!   OpenAPI's error example). A routing key that belongs to no integration gets 400 with the
//!   plain-text body `Invalid routing key`, as recorded from PagerDuty (robusta-dev/robusta#571);
//!   integration keys are 32 alphanumeric characters, so [`FakePagerDuty::add_service`] takes
//!   nothing else. Rate limiting is 429 with an empty body (PagerDuty documents the status and no
//!   body; its limit is about 120 events a minute per integration key, which the fake only
//!   enforces when told to with [`FakePagerDuty::rate_limit`]).
//! - Deduplication as PagerDuty documents it: events with the dedup key of an open (triggered or
//!   acknowledged) incident of the same integration apply to it — a trigger adds to it, no second
//!   incident; acknowledge and resolve events for a key with no open incident, or sent through
//!   another integration, are accepted (202) and dropped; a trigger after the resolve opens a new
//!   incident.
//! - Webhooks v3 ("Webhooks Overview", "Verifying Signatures", "Webhook Behavior" in PagerDuty's
//!   developer docs): every subscriber gets `{"event":{"id","event_type","resource_type":
//!   "incident","occurred_at","agent","client":null,"data":{…incident…}}}` with `Content-Type:
//!   application/json`, `User-Agent: PagerDuty-Webhook/V3.0`, `X-Webhook-Id` (repeated on every
//!   attempt of the same webhook), `X-Webhook-Subscription` and `X-PagerDuty-Signature`, one
//!   `v1=<hex HMAC-SHA256 of the raw body>` per signing secret, comma-separated while a secret is
//!   being rotated. Webhooks are sent one at a time in the order their events happened, and a
//!   subscriber has 5 seconds to answer. Changes the bot's own events make are sent too
//!   (`incident.triggered`, `.acknowledged`, `.resolved`, with the service as the agent), as
//!   PagerDuty does; people act through the handle (`incident.acknowledged`, `.escalated`,
//!   `.reassigned`, `.resolved`, with the person as the agent). PagerDuty retries a webhook not
//!   answered 2xx up to four more times over about 20 minutes; so does the fake, on its own and
//!   after later webhooks went out (the same bytes, the same `X-Webhook-Id`), sooner: after 1,
//!   2, 4 and 8 s ([`FakePagerDuty::retry_delays`] changes them).
//!   [`FakePagerDuty::redeliver_last`] sends the last one again whenever a test wants.
//! - Faults on `/v2/enqueue`: an error status, a rate-limit refusal, an event applied whose
//!   answer is lost (500, or the connection closed), an event applied and answered late.
//!
//! Not faked: change events (`/v2/change/enqueue`), the REST API, alert grouping, urgency rules,
//! notification rules, escalation timeouts, webhook subscription filters (every subscriber gets
//! every incident event).
//!
//! Its submodule `wire` holds the HTTP plumbing the fakes of outside services share.

pub(crate) mod wire;

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State as AxumState};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use chrono::{DateTime, SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

pub use wire::RecordedRequest;
use wire::{Answer, Cut, CutListener, Fault, Faults, random_id};

/// The account's subdomain in every `html_url` (`https://example.pagerduty.com/incidents/…`).
pub const ACCOUNT_SUBDOMAIN: &str = "example";
/// How long a webhook subscriber has to answer before PagerDuty counts the delivery as failed.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest `dedup_key` PagerDuty accepts, in characters.
pub const MAX_DEDUP_KEY_CHARS: usize = 255;
/// The longest `payload.summary` PagerDuty accepts, in characters.
pub const MAX_SUMMARY_CHARS: usize = 1024;

const SEVERITIES: [&str; 4] = ["critical", "error", "warning", "info"];
const ID_ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// The HMAC-SHA256 signature PagerDuty puts in `X-PagerDuty-Signature` for one signing secret:
/// `v1=<lower-case hex>` of the raw `body`. Several secrets give several such values joined by
/// commas.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC accepts a key of any length");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// An incident, as PagerDuty keeps it.
#[derive(Clone, Debug)]
pub struct Incident {
    /// Like `Q1ABCDEF2GHIJK`.
    pub id: String,
    /// The account-wide incident number, from 1.
    pub number: u64,
    /// The summary of the trigger that opened it.
    pub title: String,
    /// `triggered`, `acknowledged` or `resolved`.
    pub status: String,
    /// `high` when opened by a `critical` or `error` event, `low` otherwise.
    pub urgency: String,
    /// The severity of the trigger that opened it.
    pub severity: String,
    /// The name of its service.
    pub service: String,
    /// The dedup key (`incident_key` in webhooks).
    pub dedup_key: String,
    /// `https://example.pagerduty.com/incidents/<id>`.
    pub html_url: String,
    /// The name of the person it is assigned to.
    pub assignee: String,
    /// Who acknowledged it through the handle (`None` when never, or only by an event).
    pub acknowledged_by: Option<String>,
    /// Who resolved it through the handle (`None` when open, or resolved by an event).
    pub resolved_by: Option<String>,
    /// How many trigger events it took (the one that opened it included).
    pub triggers: usize,
    /// The `payload` of its latest trigger event.
    pub payload: Value,
    /// When the trigger opened it.
    pub created_at: DateTime<Utc>,
    routing_key: String,
}

impl Incident {
    /// Triggered or acknowledged.
    pub fn is_open(&self) -> bool {
        self.status != "resolved"
    }
}

/// What an accepted event (answered 202) did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventEffect {
    /// A trigger opened this incident.
    Opened { incident_id: String },
    /// A trigger was added to this open incident with the same dedup key.
    Deduplicated { incident_id: String },
    /// This triggered incident is now acknowledged.
    Acknowledged { incident_id: String },
    /// This open incident is now resolved.
    Resolved { incident_id: String },
    /// An acknowledge for this incident, which already was.
    Unchanged { incident_id: String },
    /// An acknowledge or resolve for a dedup key with no open incident of that integration.
    Dropped,
}

/// An event `/v2/enqueue` accepted, in order.
#[derive(Clone, Debug)]
pub struct AcceptedEvent {
    /// The integration key it came through.
    pub routing_key: String,
    /// `trigger`, `acknowledge` or `resolve`.
    pub action: String,
    /// The event's dedup key, or the one generated for it.
    pub dedup_key: String,
    /// The whole event as received.
    pub body: Value,
    pub effect: EventEffect,
}

/// One attempt to send a webhook to a subscriber.
#[derive(Clone, Debug)]
pub struct WebhookDelivery {
    /// `event.id`, the same for every subscriber and every attempt.
    pub event_id: String,
    /// `incident.triggered`, `incident.acknowledged`, …
    pub event_type: String,
    /// The incident the event is about.
    pub incident_id: String,
    /// The `X-Webhook-Id`: one per webhook (event and subscription), repeated on every attempt.
    pub webhook_id: String,
    /// The `X-Webhook-Subscription`.
    pub subscription_id: String,
    /// Where it was sent.
    pub url: String,
    /// 1 for the first attempt, 2 for the first redelivery, …
    pub attempt: u32,
    /// The raw body sent.
    pub body: Vec<u8>,
    /// The `X-PagerDuty-Signature` sent.
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
pub enum PagerDutyError {
    /// No incident ever had this dedup key.
    NoIncident { dedup_key: String },
    /// The incident with this dedup key is not open (resolved).
    NotOpen { dedup_key: String, status: String },
    /// The action was done, but a subscriber gave no HTTP answer (refused connection, timeout).
    Delivery { url: String, error: String },
    /// `redeliver_last` before any webhook was sent.
    NothingDelivered,
    /// The fake was shut down.
    Stopped,
}

impl fmt::Display for PagerDutyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PagerDutyError::NoIncident { dedup_key } => {
                write!(f, "no incident has dedup key {dedup_key:?}")
            }
            PagerDutyError::NotOpen { dedup_key, status } => {
                write!(f, "the incident with dedup key {dedup_key:?} is {status}")
            }
            PagerDutyError::Delivery { url, error } => {
                write!(f, "webhook to {url} not delivered: {error}")
            }
            PagerDutyError::NothingDelivered => write!(f, "no webhook was sent yet"),
            PagerDutyError::Stopped => write!(f, "the fake PagerDuty was shut down"),
        }
    }
}

impl std::error::Error for PagerDutyError {}

// --- state ---

struct Service {
    id: String,
    name: String,
    routing_key: String,
    on_call: String,
    policy_id: String,
}

struct Subscription {
    id: String,
    url: String,
    /// The newest first; two while a rotation is under way.
    secrets: Vec<String>,
}

#[derive(Clone, Debug)]
enum PersonAction {
    Acknowledge(String),
    Escalate(String),
    Reassign(String),
    Resolve(String),
}

/// One webhook attempt waiting in the outbox.
#[derive(Clone)]
struct Send {
    event_id: String,
    event_type: String,
    incident_id: String,
    webhook_id: String,
    subscription_id: String,
    url: String,
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
    services: Vec<Service>,
    /// Person name → user id.
    users: Vec<(String, String)>,
    incidents: Vec<Incident>,
    subscriptions: Vec<Subscription>,
    requests: Vec<RecordedRequest>,
    events: Vec<AcceptedEvent>,
    deliveries: Vec<WebhookDelivery>,
    faults: Faults,
    auto_acknowledge: Option<(Duration, String)>,
    /// The waits before each retry of a webhook not answered 2xx ([`DEFAULT_RETRIES`]).
    retries: Option<Vec<Duration>>,
}

/// PagerDuty's four retries, scaled from about 20 minutes down to seconds.
const DEFAULT_RETRIES: [Duration; 4] = [
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
];

struct Inner {
    port: u16,
    state: Mutex<State>,
    outbox: mpsc::UnboundedSender<Outgoing>,
    shutdown: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Inner {
    fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut state: MutexGuard<'_, State> = self
            .state
            .lock()
            .expect("fake PagerDuty state lock poisoned");
        f(&mut state)
    }
}

/// A running fake PagerDuty. Cheap to clone; all clones share one server.
#[derive(Clone)]
pub struct FakePagerDuty {
    inner: Arc<Inner>,
}

impl fmt::Debug for FakePagerDuty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakePagerDuty")
            .field("port", &self.inner.port)
            .finish_non_exhaustive()
    }
}

impl FakePagerDuty {
    /// Binds 127.0.0.1 on a free port and starts serving the Events API v2 and sending webhooks.
    pub async fn start() -> std::io::Result<FakePagerDuty> {
        let (listener, port) = CutListener::bind().await?;
        let (outbox, queue) = mpsc::unbounded_channel();
        let (shutdown, _) = watch::channel(false);
        let inner = Arc::new(Inner {
            port,
            state: Mutex::new(State::default()),
            outbox,
            shutdown,
            tasks: Mutex::new(Vec::new()),
        });
        let router = Router::new()
            .fallback(handle_request)
            .with_state(inner.clone());
        let server = wire::serve(listener, router, inner.shutdown.subscribe(), "pagerduty");
        let dispatcher = tokio::spawn(dispatch(inner.clone(), queue));
        inner
            .tasks
            .lock()
            .expect("fake PagerDuty task lock poisoned")
            .extend([server, dispatcher]);
        Ok(FakePagerDuty { inner })
    }

    /// The Events API v2 URL, `http://127.0.0.1:PORT/v2/enqueue`.
    pub fn events_url(&self) -> String {
        format!("http://127.0.0.1:{}/v2/enqueue", self.inner.port)
    }

    // --- the account ---

    /// Adds a service with an Events API v2 integration whose key is `routing_key`, and a
    /// default on-call person named `"<name> on-call"`. Panics unless the key has PagerDuty's
    /// form: 32 ASCII letters and digits.
    pub fn add_service(&self, name: &str, routing_key: &str) {
        assert!(
            routing_key.len() == 32 && routing_key.chars().all(|c| c.is_ascii_alphanumeric()),
            "PagerDuty integration keys are 32 letters and digits, not {routing_key:?}"
        );
        self.inner.with_state(|s| {
            s.services
                .retain(|svc| svc.name != name && svc.routing_key != routing_key);
            s.services.push(Service {
                id: pd_id(),
                name: name.to_string(),
                routing_key: routing_key.to_string(),
                on_call: format!("{name} on-call"),
                policy_id: pd_id(),
            });
        });
    }

    /// Makes `user_name` the person incidents of `service` are assigned to from now on.
    /// Panics when there is no such service.
    pub fn set_on_call(&self, service: &str, user_name: &str) {
        self.inner.with_state(|s| {
            let svc = s
                .services
                .iter_mut()
                .find(|svc| svc.name == service)
                .unwrap_or_else(|| panic!("no service named {service:?}; add_service first"));
            svc.on_call = user_name.to_string();
        });
    }

    /// Subscribes `url` to every incident event, webhooks signed with `secret`; returns the
    /// subscription id (its `X-Webhook-Subscription`).
    pub fn subscribe(&self, url: &str, secret: &str) -> String {
        let id = pd_id();
        self.inner.with_state(|s| {
            s.subscriptions.push(Subscription {
                id: id.clone(),
                url: url.to_string(),
                secrets: vec![secret.to_string()],
            })
        });
        id
    }

    /// Starts rotating every subscription's secret to `new_secret`: from now on webhooks carry
    /// two signatures, the new one and the old one, until [`Self::finish_rotation`].
    pub fn rotate_secret(&self, new_secret: &str) {
        self.inner.with_state(|s| {
            for sub in &mut s.subscriptions {
                sub.secrets.truncate(1);
                sub.secrets.insert(0, new_secret.to_string());
            }
        });
    }

    /// Ends a rotation: webhooks are signed with the new secret only.
    pub fn finish_rotation(&self) {
        self.inner.with_state(|s| {
            for sub in &mut s.subscriptions {
                sub.secrets.truncate(1);
            }
        });
    }

    // --- people acting on incidents ---

    /// `user_name` acknowledges the open incident with `dedup_key` (`incident.acknowledged`).
    /// Returns the statuses the subscribers answered its webhook with, in subscription order;
    /// [`PagerDutyError::Delivery`] when one gave no answer (the acknowledgement stands).
    pub async fn acknowledge(
        &self,
        dedup_key: &str,
        user_name: &str,
    ) -> Result<Vec<u16>, PagerDutyError> {
        self.act(dedup_key, PersonAction::Acknowledge(user_name.to_string()))
            .await
    }

    /// The open incident with `dedup_key` escalates to `to_user_name`: it is assigned to them
    /// and triggered again (`incident.escalated`; the agent is the previous assignee).
    pub async fn escalate(
        &self,
        dedup_key: &str,
        to_user_name: &str,
    ) -> Result<Vec<u16>, PagerDutyError> {
        self.act(dedup_key, PersonAction::Escalate(to_user_name.to_string()))
            .await
    }

    /// The open incident with `dedup_key` is reassigned to `to_user_name` and triggered again
    /// (`incident.reassigned`; the agent is the previous assignee).
    pub async fn reassign(
        &self,
        dedup_key: &str,
        to_user_name: &str,
    ) -> Result<Vec<u16>, PagerDutyError> {
        self.act(dedup_key, PersonAction::Reassign(to_user_name.to_string()))
            .await
    }

    /// `user_name` resolves the open incident with `dedup_key` (`incident.resolved`).
    pub async fn resolve_by(
        &self,
        dedup_key: &str,
        user_name: &str,
    ) -> Result<Vec<u16>, PagerDutyError> {
        self.act(dedup_key, PersonAction::Resolve(user_name.to_string()))
            .await
    }

    /// From now on, every incident a trigger opens is acknowledged by `user_name` `after` its
    /// trigger (with its webhook), unless it is no longer triggered by then. For the demo.
    pub fn auto_acknowledge(&self, after: Duration, user_name: &str) {
        self.inner
            .with_state(|s| s.auto_acknowledge = Some((after, user_name.to_string())));
    }

    /// The waits before each retry of a webhook a subscriber did not answer 2xx (one per retry;
    /// empty: no retries).
    pub fn retry_delays(&self, delays: &[Duration]) {
        self.inner.with_state(|s| s.retries = Some(delays.to_vec()));
    }

    /// Stops [`Self::auto_acknowledge`] for incidents opened from now on.
    pub fn stop_auto_acknowledge(&self) {
        self.inner.with_state(|s| s.auto_acknowledge = None);
    }

    /// Sends the last webhook sent again, byte for byte (same `event.id`, same `X-Webhook-Id`),
    /// as PagerDuty retries one a subscriber did not answer 2xx; returns the status answered.
    pub async fn redeliver_last(&self) -> Result<u16, PagerDutyError> {
        let (tx, rx) = oneshot::channel();
        self.inner.with_state(|s| {
            let last = s
                .deliveries
                .last()
                .ok_or(PagerDutyError::NothingDelivered)?;
            let attempt = s
                .deliveries
                .iter()
                .filter(|d| d.webhook_id == last.webhook_id)
                .count() as u32
                + 1;
            let send = Send {
                event_id: last.event_id.clone(),
                event_type: last.event_type.clone(),
                incident_id: last.incident_id.clone(),
                webhook_id: last.webhook_id.clone(),
                subscription_id: last.subscription_id.clone(),
                url: last.url.clone(),
                attempt,
                body: Arc::new(last.body.clone()),
            };
            self.inner
                .outbox
                .send(Outgoing::Batch {
                    sends: vec![send],
                    done: Some(tx),
                })
                .map_err(|_| PagerDutyError::Stopped)
        })?;
        let results = rx.await.map_err(|_| PagerDutyError::Stopped)?;
        match results.into_iter().next() {
            Some(Ok(status)) => Ok(status),
            Some(Err((url, error))) => Err(PagerDutyError::Delivery { url, error }),
            None => Err(PagerDutyError::Stopped),
        }
    }

    /// Waits until every webhook queued so far (by events, people or timers) was sent.
    pub async fn settle(&self) {
        let (tx, rx) = oneshot::channel();
        if self.inner.outbox.send(Outgoing::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    // --- fault injection on /v2/enqueue ---

    wire::fault_injection!(
        "The next `times` events are refused with 429 (empty body) and change nothing."
    );

    // --- what happened ---

    /// Every request received, in order, with what it was answered.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.inner.with_state(|s| s.requests.clone())
    }

    /// The events accepted (answered 202 or applied before a lost answer), in order.
    pub fn events(&self) -> Vec<AcceptedEvent> {
        self.inner.with_state(|s| s.events.clone())
    }

    /// Every incident, oldest first.
    pub fn incidents(&self) -> Vec<Incident> {
        self.inner.with_state(|s| s.incidents.clone())
    }

    /// The open incident with `dedup_key`, or else the latest one that had it.
    pub fn incident(&self, dedup_key: &str) -> Option<Incident> {
        self.inner
            .with_state(|s| s.find(dedup_key).map(|i| s.incidents[i].clone()))
    }

    /// Every webhook attempt, in the order sent.
    pub fn deliveries(&self) -> Vec<WebhookDelivery> {
        self.inner.with_state(|s| s.deliveries.clone())
    }

    /// Stops the server and the webhook sender.
    pub async fn shutdown(self) {
        self.inner.shutdown.send_replace(true);
        let tasks: Vec<_> = self
            .inner
            .tasks
            .lock()
            .expect("fake PagerDuty task lock poisoned")
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

    async fn act(&self, dedup_key: &str, action: PersonAction) -> Result<Vec<u16>, PagerDutyError> {
        let (tx, rx) = oneshot::channel();
        self.inner.with_state(|s| {
            let index = s.find(dedup_key).ok_or(PagerDutyError::NoIncident {
                dedup_key: dedup_key.to_string(),
            })?;
            if !s.incidents[index].is_open() {
                return Err(PagerDutyError::NotOpen {
                    dedup_key: dedup_key.to_string(),
                    status: s.incidents[index].status.clone(),
                });
            }
            s.person_acts(&self.inner.outbox, index, action, Some(tx));
            Ok(())
        })?;
        let results = rx.await.map_err(|_| PagerDutyError::Stopped)?;
        let mut statuses = Vec::new();
        let mut failure = None;
        for result in results {
            match result {
                Ok(status) => statuses.push(status),
                Err((url, error)) => {
                    failure = failure.or(Some(PagerDutyError::Delivery { url, error }))
                }
            }
        }
        match failure {
            Some(err) => Err(err),
            None => Ok(statuses),
        }
    }

    /// The auto-acknowledgement of one incident, if it is still triggered by then.
    async fn auto_acknowledge_one(&self, incident_id: String, after: Duration, user: String) {
        tokio::time::sleep(after).await;
        let (tx, rx) = oneshot::channel();
        let queued = self.inner.with_state(|s| {
            let index = s
                .incidents
                .iter()
                .position(|i| i.id == incident_id && i.status == "triggered")?;
            s.person_acts(
                &self.inner.outbox,
                index,
                PersonAction::Acknowledge(user),
                Some(tx),
            );
            Some(())
        });
        if queued.is_some() {
            let _ = rx.await;
        }
    }
}

impl State {
    /// The open incident with `dedup_key`, or else the latest that had it.
    fn find(&self, dedup_key: &str) -> Option<usize> {
        self.incidents
            .iter()
            .rposition(|i| i.dedup_key == dedup_key && i.is_open())
            .or_else(|| {
                self.incidents
                    .iter()
                    .rposition(|i| i.dedup_key == dedup_key)
            })
    }

    fn user_id(&mut self, name: &str) -> String {
        if let Some((_, id)) = self.users.iter().find(|(n, _)| n == name) {
            return id.clone();
        }
        let id = pd_id();
        self.users.push((name.to_string(), id.clone()));
        id
    }

    fn user_ref(&mut self, name: &str) -> Value {
        let id = self.user_id(name);
        json!({
            "html_url": format!("https://{ACCOUNT_SUBDOMAIN}.pagerduty.com/users/{id}"),
            "id": id,
            "self": format!("https://api.pagerduty.com/users/{id}"),
            "summary": name,
            "type": "user_reference",
        })
    }

    fn service_ref(svc: &Service) -> Value {
        json!({
            "html_url": format!("https://{ACCOUNT_SUBDOMAIN}.pagerduty.com/services/{}", svc.id),
            "id": svc.id,
            "self": format!("https://api.pagerduty.com/services/{}", svc.id),
            "summary": svc.name,
            "type": "service_reference",
        })
    }

    fn service_of(&self, incident: &Incident) -> Option<&Service> {
        self.services
            .iter()
            .find(|svc| svc.routing_key == incident.routing_key)
    }

    /// Applies what a person does and queues its webhook.
    fn person_acts(
        &mut self,
        outbox: &mpsc::UnboundedSender<Outgoing>,
        index: usize,
        action: PersonAction,
        done: Option<oneshot::Sender<Results>>,
    ) {
        let previous_assignee = self.incidents[index].assignee.clone();
        let (event_type, actor) = {
            let incident = &mut self.incidents[index];
            match action {
                PersonAction::Acknowledge(user) => {
                    incident.status = "acknowledged".into();
                    incident.acknowledged_by = Some(user.clone());
                    ("incident.acknowledged", user)
                }
                PersonAction::Escalate(to) => {
                    incident.status = "triggered".into();
                    incident.assignee = to;
                    ("incident.escalated", previous_assignee)
                }
                PersonAction::Reassign(to) => {
                    incident.status = "triggered".into();
                    incident.assignee = to;
                    ("incident.reassigned", previous_assignee)
                }
                PersonAction::Resolve(user) => {
                    incident.status = "resolved".into();
                    incident.resolved_by = Some(user.clone());
                    ("incident.resolved", user)
                }
            }
        };
        let agent = self.user_ref(&actor);
        self.emit(outbox, index, event_type, agent, done);
    }

    /// Queues `event_type` about incident `index` for every subscriber.
    fn emit(
        &mut self,
        outbox: &mpsc::UnboundedSender<Outgoing>,
        index: usize,
        event_type: &str,
        agent: Value,
        done: Option<oneshot::Sender<Results>>,
    ) {
        let event_id = uuid::Uuid::new_v4().to_string();
        let body = Arc::new(self.webhook_body(index, event_type, &event_id, agent));
        let incident_id = self.incidents[index].id.clone();
        let sends = self
            .subscriptions
            .iter()
            .map(|sub| Send {
                event_id: event_id.clone(),
                event_type: event_type.to_string(),
                incident_id: incident_id.clone(),
                webhook_id: uuid::Uuid::new_v4().to_string(),
                subscription_id: sub.id.clone(),
                url: sub.url.clone(),
                attempt: 1,
                body: body.clone(),
            })
            .collect();
        let _ = outbox.send(Outgoing::Batch { sends, done });
    }

    /// The v3 webhook body: one event about incident `index`, as it is now.
    fn webhook_body(
        &mut self,
        index: usize,
        event_type: &str,
        event_id: &str,
        agent: Value,
    ) -> Vec<u8> {
        let incident = self.incidents[index].clone();
        let assignees = if incident.is_open() {
            vec![self.user_ref(&incident.assignee)]
        } else {
            // PagerDuty clears an incident's assignments when it is resolved.
            Vec::new()
        };
        let (service, policy) = match self.service_of(&incident) {
            Some(svc) => (
                Self::service_ref(svc),
                json!({
                    "html_url": format!(
                        "https://{ACCOUNT_SUBDOMAIN}.pagerduty.com/escalation_policies/{}",
                        svc.policy_id
                    ),
                    "id": svc.policy_id,
                    "self": format!("https://api.pagerduty.com/escalation_policies/{}", svc.policy_id),
                    "summary": "Default",
                    "type": "escalation_policy_reference",
                }),
            ),
            None => (Value::Null, Value::Null),
        };
        let body = json!({
            "event": {
                "id": event_id,
                "event_type": event_type,
                "resource_type": "incident",
                "occurred_at": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
                "agent": agent,
                "client": null,
                "data": {
                    "id": incident.id,
                    "type": "incident",
                    "self": format!("https://api.pagerduty.com/incidents/{}", incident.id),
                    "html_url": incident.html_url,
                    "number": incident.number,
                    "status": incident.status,
                    "incident_key": incident.dedup_key,
                    "created_at": incident.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                    "title": incident.title,
                    "service": service,
                    "assignees": assignees,
                    "escalation_policy": policy,
                    "teams": [],
                    "priority": null,
                    "urgency": incident.urgency,
                    "conference_bridge": null,
                    "resolve_reason": null,
                },
            },
        });
        serde_json::to_vec(&body).unwrap_or_default()
    }

    /// `POST /v2/enqueue`: faults, validation, then the event. Returns the answer and the
    /// incidents it opened.
    fn enqueue(
        &mut self,
        outbox: &mpsc::UnboundedSender<Outgoing>,
        body: &[u8],
    ) -> (Answer, Vec<String>) {
        let fault = self.faults.take();
        match fault {
            Some(Fault::Fail(400)) => {
                return (invalid_event(&["Injected failure".to_string()]), Vec::new());
            }
            Some(Fault::Fail(status)) => {
                let reason = axum::http::StatusCode::from_u16(status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("Error");
                let body = json!({ "status": reason, "message": "Injected failure" });
                return (Answer::json(status, &body), Vec::new());
            }
            Some(Fault::RateLimit) => return (Answer::empty(429), Vec::new()),
            _ => {}
        }
        let (answer, opened) = match self.validate(body) {
            Err(answer) => (answer, Vec::new()),
            Ok(event) => self.apply(outbox, event),
        };
        (answer.after(fault.as_ref()), opened)
    }

    fn validate(&self, body: &[u8]) -> Result<ValidEvent, Answer> {
        let event = match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(event)) => event,
            _ => {
                return Err(Answer::json(
                    400,
                    &json!({
                        "status": "Unrecognized object",
                        "message": "Event object format is unrecognized",
                        "errors": ["JSON parse error"],
                    }),
                ));
            }
        };
        let mut errors = Vec::new();

        let routing_key = match event.get("routing_key") {
            Some(Value::String(key)) if !key.trim().is_empty() => {
                if !self.services.iter().any(|svc| &svc.routing_key == key) {
                    return Err(Answer::text(400, "Invalid routing key"));
                }
                key.clone()
            }
            Some(Value::String(_)) | Some(Value::Null) | None => {
                errors.push("'routing_key' cannot be blank".to_string());
                String::new()
            }
            Some(_) => {
                errors.push("'routing_key' is invalid (must be a string)".to_string());
                String::new()
            }
        };

        let action = match event.get("event_action") {
            Some(Value::String(a))
                if ["trigger", "acknowledge", "resolve"].contains(&a.as_str()) =>
            {
                a.clone()
            }
            Some(Value::String(a)) if a.trim().is_empty() => {
                errors.push("'event_action' is missing or blank".to_string());
                String::new()
            }
            None | Some(Value::Null) => {
                errors.push("'event_action' is missing or blank".to_string());
                String::new()
            }
            Some(_) => {
                errors.push(
                    "'event_action' is invalid (must be one of the following: 'trigger', \
                     'acknowledge' or 'resolve')"
                        .to_string(),
                );
                String::new()
            }
        };

        let dedup_key = match event.get("dedup_key") {
            None | Some(Value::Null) => None,
            Some(Value::String(key)) if key.trim().is_empty() => None,
            Some(Value::String(key)) => {
                if key.chars().count() > MAX_DEDUP_KEY_CHARS {
                    errors.push(format!(
                        "'dedup_key' is too long (maximum is {MAX_DEDUP_KEY_CHARS} characters)"
                    ));
                }
                Some(key.clone())
            }
            Some(_) => {
                errors.push("'dedup_key' is invalid (must be a string)".to_string());
                None
            }
        };
        if dedup_key.is_none()
            && (action == "acknowledge" || action == "resolve")
            && !errors.iter().any(|e| e.starts_with("'dedup_key'"))
        {
            errors.push("'dedup_key' is missing or blank".to_string());
        }

        if action == "trigger" {
            validate_payload(event.get("payload"), &mut errors);
            validate_string(&event, "client", &mut errors);
            validate_string(&event, "client_url", &mut errors);
        }
        validate_contexts(&event, "links", "href", &["text"], &mut errors);
        validate_contexts(&event, "images", "src", &["href", "alt"], &mut errors);

        if !errors.is_empty() {
            return Err(invalid_event(&errors));
        }
        Ok(ValidEvent {
            routing_key,
            action,
            dedup_key,
            body: Value::Object(event),
        })
    }

    fn apply(
        &mut self,
        outbox: &mpsc::UnboundedSender<Outgoing>,
        event: ValidEvent,
    ) -> (Answer, Vec<String>) {
        let dedup_key = event
            .dedup_key
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
        let open = self.incidents.iter().rposition(|i| {
            i.routing_key == event.routing_key && i.dedup_key == dedup_key && i.is_open()
        });
        let (service_name, on_call, service_agent) = self
            .services
            .iter()
            .find(|svc| svc.routing_key == event.routing_key)
            .map(|svc| {
                (
                    svc.name.clone(),
                    svc.on_call.clone(),
                    Self::service_ref(svc),
                )
            })
            .expect("validated routing keys belong to a service");
        let mut opened = Vec::new();
        let payload = event.body.get("payload").cloned().unwrap_or(Value::Null);
        let effect = match (event.action.as_str(), open) {
            ("trigger", Some(index)) => {
                let incident = &mut self.incidents[index];
                incident.triggers += 1;
                incident.payload = payload;
                EventEffect::Deduplicated {
                    incident_id: incident.id.clone(),
                }
            }
            ("trigger", None) => {
                let severity = payload["severity"].as_str().unwrap_or("info").to_string();
                let id = format!("Q{}", random_id(ID_ALPHABET, 13));
                let incident = Incident {
                    html_url: format!("https://{ACCOUNT_SUBDOMAIN}.pagerduty.com/incidents/{id}"),
                    id: id.clone(),
                    number: self.incidents.len() as u64 + 1,
                    title: payload["summary"].as_str().unwrap_or_default().to_string(),
                    status: "triggered".into(),
                    urgency: if severity == "critical" || severity == "error" {
                        "high".into()
                    } else {
                        "low".into()
                    },
                    severity,
                    service: service_name,
                    dedup_key: dedup_key.clone(),
                    assignee: on_call,
                    acknowledged_by: None,
                    resolved_by: None,
                    triggers: 1,
                    payload,
                    created_at: Utc::now(),
                    routing_key: event.routing_key.clone(),
                };
                self.incidents.push(incident);
                let index = self.incidents.len() - 1;
                self.emit(outbox, index, "incident.triggered", service_agent, None);
                opened.push(id.clone());
                EventEffect::Opened { incident_id: id }
            }
            ("acknowledge", Some(index)) if self.incidents[index].status == "triggered" => {
                self.incidents[index].status = "acknowledged".into();
                self.emit(outbox, index, "incident.acknowledged", service_agent, None);
                EventEffect::Acknowledged {
                    incident_id: self.incidents[index].id.clone(),
                }
            }
            ("acknowledge", Some(index)) => EventEffect::Unchanged {
                incident_id: self.incidents[index].id.clone(),
            },
            ("resolve", Some(index)) => {
                self.incidents[index].status = "resolved".into();
                self.emit(outbox, index, "incident.resolved", service_agent, None);
                EventEffect::Resolved {
                    incident_id: self.incidents[index].id.clone(),
                }
            }
            _ => EventEffect::Dropped,
        };
        self.events.push(AcceptedEvent {
            routing_key: event.routing_key,
            action: event.action,
            dedup_key: dedup_key.clone(),
            body: event.body,
            effect,
        });
        let answer = Answer::json(
            202,
            &json!({ "status": "success", "message": "Event processed", "dedup_key": dedup_key }),
        );
        (answer, opened)
    }
}

struct ValidEvent {
    routing_key: String,
    action: String,
    dedup_key: Option<String>,
    body: Value,
}

fn invalid_event(errors: &[String]) -> Answer {
    Answer::json(
        400,
        &json!({
            "status": "invalid event",
            "message": "Event object is invalid",
            "errors": errors,
        }),
    )
}

/// A required, non-blank string field of `payload`.
fn required_string(
    payload: &Map<String, Value>,
    field: &str,
    errors: &mut Vec<String>,
) -> Option<String> {
    match payload.get(field) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        Some(Value::String(_)) | Some(Value::Null) | None => {
            errors.push(format!("'payload.{field}' is missing or blank"));
            None
        }
        Some(_) => {
            errors.push(format!("'payload.{field}' is invalid (must be a string)"));
            None
        }
    }
}

fn validate_payload(payload: Option<&Value>, errors: &mut Vec<String>) {
    let empty = Map::new();
    let payload = match payload {
        Some(Value::Object(payload)) => payload,
        None | Some(Value::Null) => &empty,
        Some(_) => {
            errors.push("'payload' is invalid (must be an object)".to_string());
            return;
        }
    };
    if let Some(summary) = required_string(payload, "summary", errors)
        && summary.chars().count() > MAX_SUMMARY_CHARS
    {
        errors.push(format!(
            "'payload.summary' is too long (maximum is {MAX_SUMMARY_CHARS} characters)"
        ));
    }
    required_string(payload, "source", errors);
    match payload.get("severity") {
        Some(Value::String(s)) if SEVERITIES.contains(&s.as_str()) => {}
        Some(Value::String(s)) if !s.trim().is_empty() => errors.push(
            "'payload.severity' is invalid (must be one of the following: 'critical', 'warning', \
             'error' or 'info')"
                .to_string(),
        ),
        Some(Value::String(_)) | Some(Value::Null) | None => {
            errors.push("'payload.severity' is missing or blank".to_string())
        }
        Some(_) => errors.push(
            "'payload.severity' is invalid (must be one of the following: 'critical', 'warning', \
             'error' or 'info')"
                .to_string(),
        ),
    }
    if let Some(timestamp) = payload.get("timestamp").filter(|t| !t.is_null()) {
        let parses = timestamp.as_str().is_some_and(|t| {
            DateTime::parse_from_rfc3339(t).is_ok()
                || DateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f%z").is_ok()
        });
        if !parses {
            errors
                .push("'payload.timestamp' is invalid (must be an ISO 8601 timestamp)".to_string());
        }
    }
    for field in ["component", "group", "class"] {
        if let Some(value) = payload.get(field)
            && !(value.is_string() || value.is_null())
        {
            errors.push(format!("'payload.{field}' is invalid (must be a string)"));
        }
    }
    if let Some(details) = payload.get("custom_details")
        && !(details.is_object() || details.is_null())
    {
        errors.push("'payload.custom_details' is invalid (must be an object)".to_string());
    }
}

fn validate_string(event: &Map<String, Value>, field: &str, errors: &mut Vec<String>) {
    if let Some(value) = event.get(field)
        && !(value.is_string() || value.is_null())
    {
        errors.push(format!("'{field}' is invalid (must be a string)"));
    }
}

/// `links` (each with `href`) or `images` (each with `src`), when present.
fn validate_contexts(
    event: &Map<String, Value>,
    field: &str,
    required: &str,
    optional: &[&str],
    errors: &mut Vec<String>,
) {
    let items = match event.get(field) {
        None | Some(Value::Null) => return,
        Some(Value::Array(items)) => items,
        Some(_) => {
            errors.push(format!(
                "'{field}' is invalid (must be an array of objects)"
            ));
            return;
        }
    };
    for (i, item) in items.iter().enumerate() {
        let Some(item) = item.as_object() else {
            errors.push(format!("'{field}[{i}]' is invalid (must be an object)"));
            continue;
        };
        match item.get(required) {
            Some(Value::String(s)) if !s.trim().is_empty() => {}
            _ => errors.push(format!("'{field}[{i}].{required}' is missing or blank")),
        }
        for key in optional {
            if let Some(value) = item.get(*key)
                && !(value.is_string() || value.is_null())
            {
                errors.push(format!(
                    "'{field}[{i}].{key}' is invalid (must be a string)"
                ));
            }
        }
    }
}

/// A PagerDuty object id like `PXJ3K9Q`.
fn pd_id() -> String {
    format!("P{}", random_id(ID_ALPHABET, 6))
}

// --- the HTTP side ---

/// Every request: `POST /v2/enqueue` is the Events API; anything else is 404, as PagerDuty
/// answers for paths it does not serve.
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
    let (answer, opened, auto) = inner.with_state(|s| {
        let (answer, opened) = if method == Method::POST && uri.path() == "/v2/enqueue" {
            s.enqueue(&inner.outbox, &body)
        } else {
            (
                Answer::json(
                    404,
                    &json!({ "status": "Not Found", "message": "Not Found" }),
                ),
                Vec::new(),
            )
        };
        record.status = answer.recorded_status();
        s.requests.push(record);
        (answer, opened, s.auto_acknowledge.clone())
    });
    if let Some((after, user)) = auto {
        let fake = FakePagerDuty {
            inner: inner.clone(),
        };
        for incident_id in opened {
            let fake = fake.clone();
            let user = user.clone();
            tokio::spawn(async move { fake.auto_acknowledge_one(incident_id, after, user).await });
        }
    }
    answer.send(&conn).await
}

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
    let signature = inner.with_state(|s| {
        s.subscriptions
            .iter()
            .find(|sub| sub.id == send.subscription_id)
            .map(|sub| {
                sub.secrets
                    .iter()
                    .map(|secret| sign(secret, &send.body))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default()
    });
    let result = client
        .post(&send.url)
        .header("content-type", "application/json")
        .header("user-agent", "PagerDuty-Webhook/V3.0")
        .header("x-webhook-id", &send.webhook_id)
        .header("x-webhook-subscription", &send.subscription_id)
        .header("x-pagerduty-signature", &signature)
        .body(send.body.to_vec())
        .send()
        .await;
    let outcome = match result {
        Ok(response) => {
            let status = response.status().as_u16();
            // The subscriber's body must arrive within the timeout too.
            match response.bytes().await {
                Ok(_) => Ok(status),
                Err(err) => Err(describe(&err)),
            }
        }
        Err(err) => Err(describe(&err)),
    };
    inner.with_state(|s| {
        s.deliveries.push(WebhookDelivery {
            event_id: send.event_id.clone(),
            event_type: send.event_type.clone(),
            incident_id: send.incident_id.clone(),
            webhook_id: send.webhook_id.clone(),
            subscription_id: send.subscription_id.clone(),
            url: send.url.clone(),
            attempt: send.attempt,
            body: send.body.to_vec(),
            signature,
            status: outcome.as_ref().ok().copied(),
            error: outcome.as_ref().err().cloned(),
            at: Instant::now(),
        })
    });
    // Not taken: PagerDuty tries again later, behind whatever was sent meanwhile.
    if !matches!(outcome, Ok(200..=299)) {
        let wait = inner.with_state(|s| {
            let retries = s.retries.as_deref().unwrap_or(&DEFAULT_RETRIES);
            retries.get(send.attempt as usize - 1).copied()
        });
        if let Some(wait) = wait {
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
    }
    outcome.map_err(|error| (send.url, error))
}

fn describe(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        return format!(
            "no answer within {} s (PagerDuty counts it as failed)",
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
