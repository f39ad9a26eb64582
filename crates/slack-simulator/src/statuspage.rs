//! A strict fake Atlassian Statuspage REST API v1 on 127.0.0.1, for one page: its components,
//! and the realtime incidents the bot publishes there. It is as strict as Statuspage, never
//! kinder: it shares no type with the bot and was built from Statuspage's published API
//! (developer.statuspage.io, whose OpenAPI is mirrored in sbecker59/statuspage-api-client-go)
//! and recorded behaviour, not from what the bot sends.
//!
//! Endpoints (a trailing `.json` is accepted, as Statuspage does):
//! - `GET /v1/pages/{page_id}/components` — the page's components, by position;
//! - `GET /v1/pages/{page_id}/incidents` — every incident, newest first (`limit`, `page`);
//! - `GET /v1/pages/{page_id}/incidents/unresolved` — incidents not resolved, newest first
//!   (`per_page`, `page`);
//! - `GET /v1/pages/{page_id}/incidents/{incident_id}`;
//! - `POST /v1/pages/{page_id}/incidents` — 201 and the incident;
//! - `PATCH` (or `PUT`) `/v1/pages/{page_id}/incidents/{incident_id}` — 200 and the incident.
//!
//! Rules:
//! - Auth is `Authorization: OAuth <api key>` (or the documented `?api_key=` parameter);
//!   anything else is 401. Another page id is 404, as is an unknown incident.
//! - Bodies are JSON (`Content-Type: application/json`) wrapping `{"incident":{…}}`; without the
//!   wrapper the answer is 400 (`param is missing or the value is empty: incident`). Statuspage
//!   also takes form-encoded bodies; this fake does not (400), so a client that relies on that is
//!   caught here rather than passing by luck.
//! - `name` is required on create (at most 255 characters); `status` is one of investigating,
//!   identified, monitoring, resolved (the realtime statuses; default investigating — scheduled
//!   maintenances are not faked and are refused); `body` at most 25000 characters;
//!   `components` maps component ids to operational, under_maintenance, degraded_performance,
//!   partial_outage or major_outage; `component_ids` and `components` must name components of
//!   the page; `metadata` is an object whose top-level values are objects; `impact_override` is
//!   none/maintenance/minor/major/critical; `deliver_notifications` a boolean. A violation is
//!   422. Error bodies follow the published `ErrorEntity` schema, `{"message": "…"}`.
//! - Creating an incident, and every PATCH that sets `status`, `body` or component states, adds
//!   an incident update (answered newest first in `incident_updates`) with the status after the
//!   change and, in `affected_components`, each component whose state it set (`code` = id, `name`,
//!   `old_status`, `new_status`; `null` when none). Setting a component's state on an incident
//!   changes that component on the page; resolving sets `resolved_at` and does not heal
//!   components (the client must set them operational itself); entering monitoring sets
//!   `monitoring_at`. `impact` is the worst the incident's components have been (critical for a
//!   major outage, major for a partial outage, minor for degraded performance) unless
//!   `impact_override` says otherwise. `metadata` is stored and answered exactly as given (a
//!   PATCH's `metadata` replaces it), so a client can find an incident it created whose answer
//!   was lost.
//! - Rate limiting answers 420 with `Retry-After` — the status Statuspage still sends
//!   (yannh/terraform-provider-statuspage#62, 2024), though its 2020 announcement said 429 would
//!   replace it. Each API token is limited to one request a second; the fake only refuses when
//!   told to ([`FakeStatuspage::rate_limit`]).
//! - Faults (the next requests, whichever endpoint): an error status, the rate-limit refusal, a
//!   request applied whose answer is lost (500, or the connection closed), one applied and
//!   answered late.
//!
//! Not faked: scheduled maintenances, backfilled incidents, postmortems, subscribers, component
//! groups, component CRUD, incident templates, deleting incidents.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State as AxumState};
use axum::http::{HeaderMap, Method, Uri, header};
use axum::response::Response;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use crate::pagerduty::wire::RecordedRequest;
use crate::pagerduty::wire::{self, Answer, Cut, CutListener, Fault, Faults, random_id};

/// Component states, from best to worst outage (`under_maintenance` aside).
pub const COMPONENT_STATUSES: [&str; 5] = [
    "operational",
    "under_maintenance",
    "degraded_performance",
    "partial_outage",
    "major_outage",
];
/// The statuses of a realtime incident.
pub const INCIDENT_STATUSES: [&str; 4] = ["investigating", "identified", "monitoring", "resolved"];
/// The status Statuspage refuses a rate-limited request with.
pub const RATE_LIMIT_STATUS: u16 = 420;
/// The longest incident name, in characters.
pub const MAX_NAME_CHARS: usize = 255;
/// The longest incident update body, in characters.
pub const MAX_BODY_CHARS: usize = 25_000;

const SCHEDULED_STATUSES: [&str; 4] = ["scheduled", "in_progress", "verifying", "completed"];
const IMPACTS: [&str; 5] = ["none", "maintenance", "minor", "major", "critical"];
const ID_ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// A component of the page.
#[derive(Clone, Debug)]
pub struct Component {
    /// 12 characters, like `0frwxtbsbr91`.
    pub id: String,
    /// Its display name.
    pub name: String,
    /// One of [`COMPONENT_STATUSES`].
    pub status: String,
    /// Its place on the page, from 1.
    pub position: u32,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// When its status last changed.
    pub updated_at: DateTime<Utc>,
}

/// A component whose state an incident update set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AffectedComponent {
    /// The component id.
    pub code: String,
    /// The component's name.
    pub name: String,
    /// Its status before the update.
    pub old_status: String,
    /// The status the update set.
    pub new_status: String,
}

/// One entry of an incident's history.
#[derive(Clone, Debug)]
pub struct IncidentUpdate {
    /// 12 characters, like the incident's.
    pub id: String,
    /// The incident's status after this update.
    pub status: String,
    /// The message published (empty when none was given).
    pub body: String,
    /// Whether subscribers were to be notified (default true).
    pub deliver_notifications: bool,
    /// The components whose state this update set.
    pub affected_components: Vec<AffectedComponent>,
    /// When it was published.
    pub created_at: DateTime<Utc>,
}

/// A realtime incident on the page.
#[derive(Clone, Debug)]
pub struct Incident {
    /// 12 characters, like `p31zjtct2jer`.
    pub id: String,
    /// Its title.
    pub name: String,
    /// One of [`INCIDENT_STATUSES`].
    pub status: String,
    /// none, maintenance, minor, major or critical.
    pub impact: String,
    /// The impact set by the client, which wins over the computed one.
    pub impact_override: Option<String>,
    /// Like `https://stspg.io/803310a12`.
    pub shortlink: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it started (its creation: backfilling is not faked).
    pub started_at: DateTime<Utc>,
    /// When it first entered monitoring.
    pub monitoring_at: Option<DateTime<Utc>>,
    /// When it was resolved (`None` while it is not).
    pub resolved_at: Option<DateTime<Utc>>,
    /// As last given (`{}` when never).
    pub metadata: Value,
    /// Components attached to the incident, in the order first named.
    pub component_ids: Vec<String>,
    /// The history, oldest first (the API answers it newest first).
    pub updates: Vec<IncidentUpdate>,
}

#[derive(Default)]
struct State {
    components: Vec<Component>,
    incidents: Vec<Incident>,
    requests: Vec<RecordedRequest>,
    faults: Faults,
}

struct Inner {
    api_key: String,
    page_id: String,
    port: u16,
    state: Mutex<State>,
    shutdown: watch::Sender<bool>,
    server: Mutex<Option<JoinHandle<()>>>,
}

impl Inner {
    fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut state: MutexGuard<'_, State> = self
            .state
            .lock()
            .expect("fake Statuspage state lock poisoned");
        f(&mut state)
    }
}

/// A running fake Statuspage serving one page. Cheap to clone; all clones share one server.
#[derive(Clone)]
pub struct FakeStatuspage {
    inner: Arc<Inner>,
}

impl fmt::Debug for FakeStatuspage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeStatuspage")
            .field("port", &self.inner.port)
            .field("page_id", &self.inner.page_id)
            .finish_non_exhaustive()
    }
}

impl FakeStatuspage {
    /// Binds 127.0.0.1 on a free port and serves page `page_id` to callers with `api_key`.
    pub async fn start(api_key: &str, page_id: &str) -> std::io::Result<FakeStatuspage> {
        let (listener, port) = CutListener::bind().await?;
        let (shutdown, _) = watch::channel(false);
        let inner = Arc::new(Inner {
            api_key: api_key.to_string(),
            page_id: page_id.to_string(),
            port,
            state: Mutex::new(State::default()),
            shutdown,
            server: Mutex::new(None),
        });
        let router = Router::new()
            .fallback(handle_request)
            .with_state(inner.clone());
        let server = wire::serve(listener, router, inner.shutdown.subscribe(), "statuspage");
        *inner
            .server
            .lock()
            .expect("fake Statuspage server lock poisoned") = Some(server);
        Ok(FakeStatuspage { inner })
    }

    /// The API base URL, `http://127.0.0.1:PORT/v1`.
    pub fn api_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.inner.port)
    }

    /// The page this fake serves.
    pub fn page_id(&self) -> String {
        self.inner.page_id.clone()
    }

    /// Adds an operational component; returns its id.
    pub fn add_component(&self, name: &str) -> String {
        let id = random_id(ID_ALPHABET, 12);
        let now = Utc::now();
        self.inner.with_state(|s| {
            let position = s.components.len() as u32 + 1;
            s.components.push(Component {
                id: id.clone(),
                name: name.to_string(),
                status: "operational".into(),
                position,
                created_at: now,
                updated_at: now,
            });
        });
        id
    }

    /// The page's components, by position.
    pub fn components(&self) -> Vec<Component> {
        self.inner.with_state(|s| s.components.clone())
    }

    /// The component with `id`.
    pub fn component(&self, id: &str) -> Option<Component> {
        self.inner
            .with_state(|s| s.components.iter().find(|c| c.id == id).cloned())
    }

    /// Every incident, oldest first.
    pub fn incidents(&self) -> Vec<Incident> {
        self.inner.with_state(|s| s.incidents.clone())
    }

    /// The incident with `id`.
    pub fn incident(&self, id: &str) -> Option<Incident> {
        self.inner
            .with_state(|s| s.incidents.iter().find(|i| i.id == id).cloned())
    }

    /// Every request received, in order, with what it was answered.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.inner.with_state(|s| s.requests.clone())
    }

    // --- fault injection (the next requests, whichever endpoint) ---

    wire::fault_injection!(
        "The next `times` requests are refused with 420 and `Retry-After: 1`, changing nothing."
    );

    /// Stops the server.
    pub async fn shutdown(self) {
        self.inner.shutdown.send_replace(true);
        let server = self
            .inner
            .server
            .lock()
            .expect("fake Statuspage server lock poisoned")
            .take();
        if let Some(mut server) = server
            && tokio::time::timeout(Duration::from_secs(2), &mut server)
                .await
                .is_err()
        {
            server.abort();
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

    fn authenticated(&self, api_key: &str) -> bool {
        let header = self
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("OAuth "))
            .map(str::trim);
        header == Some(api_key) || self.query_param("api_key").as_deref() == Some(api_key)
    }
}

fn error(status: u16, message: &str) -> Answer {
    Answer::json(status, &json!({ "message": message }))
}

fn not_found() -> Answer {
    error(404, "The requested resource could not be found.")
}

/// The `incident` object of a JSON body, or the 400 Statuspage answers.
fn incident_param(request: &Request<'_>) -> Result<Map<String, Value>, Answer> {
    let is_json = request
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    if !is_json {
        return Err(error(
            400,
            "This fake Statuspage takes JSON bodies only (Content-Type: application/json)",
        ));
    }
    let body: Value = serde_json::from_slice(request.body)
        .map_err(|_| error(400, "There was a problem in the JSON you submitted"))?;
    match body.get("incident") {
        Some(Value::Object(incident)) if !incident.is_empty() => Ok(incident.clone()),
        _ => Err(error(
            400,
            "param is missing or the value is empty: incident",
        )),
    }
}

/// The page of `items` a `page`/`per_page` (or `limit`) query asks for.
fn paginate<T: Clone>(items: &[T], request: &Request<'_>, per_page_param: &str) -> Vec<T> {
    let per_page = request
        .query_param(per_page_param)
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(100)
        .min(100);
    let page = request
        .query_param("page")
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(1);
    items
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .cloned()
        .collect()
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, false)
}

fn optional_timestamp(at: Option<DateTime<Utc>>) -> Value {
    at.map(|at| Value::String(timestamp(at)))
        .unwrap_or(Value::Null)
}

/// How bad a component state is for an incident's impact.
fn impact_of(component_status: &str) -> &'static str {
    match component_status {
        "major_outage" => "critical",
        "partial_outage" => "major",
        "degraded_performance" => "minor",
        "under_maintenance" => "maintenance",
        _ => "none",
    }
}

fn impact_rank(impact: &str) -> usize {
    IMPACTS.iter().position(|i| *i == impact).unwrap_or(0)
}

/// What a create or update asks for, validated.
#[derive(Default)]
struct Changes {
    name: Option<String>,
    status: Option<String>,
    body: Option<String>,
    impact_override: Option<Option<String>>,
    deliver_notifications: Option<bool>,
    metadata: Option<Value>,
    component_ids: Vec<String>,
    components: Vec<(String, String)>,
}

impl State {
    fn answer(&mut self, inner: &Inner, request: &Request<'_>) -> Answer {
        let fault = self.faults.take();
        match fault {
            Some(Fault::Fail(status)) => {
                let reason = axum::http::StatusCode::from_u16(status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("Error");
                return error(status, reason);
            }
            Some(Fault::RateLimit) => {
                let mut answer = error(RATE_LIMIT_STATUS, "Rate limit exceeded");
                answer.headers.push(("retry-after", "1".into()));
                return answer;
            }
            _ => {}
        }
        self.route(inner, request).after(fault.as_ref())
    }

    fn route(&mut self, inner: &Inner, request: &Request<'_>) -> Answer {
        let Some(rest) = request.path.strip_prefix("/v1/") else {
            return not_found();
        };
        if !request.authenticated(&inner.api_key) {
            return error(401, "Could not authenticate");
        }
        let mut segments: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
        if let Some(last) = segments.last_mut() {
            *last = last.strip_suffix(".json").unwrap_or(last);
        }
        let ["pages", page_id, resource @ ..] = segments.as_slice() else {
            return not_found();
        };
        if *page_id != inner.page_id {
            return not_found();
        }
        let method = request.method;
        match resource {
            ["components"] if method == Method::GET => {
                let components: Vec<Value> = paginate(&self.components, request, "per_page")
                    .iter()
                    .map(|c| self.component_json(inner, c))
                    .collect();
                Answer::json(200, &Value::Array(components))
            }
            ["incidents"] if method == Method::GET => {
                let newest_first: Vec<Incident> = self.incidents.iter().rev().cloned().collect();
                let page = paginate(&newest_first, request, "limit");
                Answer::json(200, &self.incidents_json(inner, &page))
            }
            ["incidents"] if method == Method::POST => self.create(inner, request),
            ["incidents", "unresolved"] if method == Method::GET => {
                let unresolved: Vec<Incident> = self
                    .incidents
                    .iter()
                    .rev()
                    .filter(|i| i.status != "resolved")
                    .cloned()
                    .collect();
                let page = paginate(&unresolved, request, "per_page");
                Answer::json(200, &self.incidents_json(inner, &page))
            }
            ["incidents", id] if method == Method::GET => {
                match self.incidents.iter().find(|i| i.id == *id) {
                    Some(incident) => Answer::json(200, &self.incident_json(inner, incident)),
                    None => not_found(),
                }
            }
            ["incidents", id] if method == Method::PATCH || method == Method::PUT => {
                self.update(inner, request, id)
            }
            ["components"] | ["incidents"] | ["incidents", _] => error(405, "Method not allowed"),
            _ => not_found(),
        }
    }

    fn create(&mut self, inner: &Inner, request: &Request<'_>) -> Answer {
        let params = match incident_param(request) {
            Ok(params) => params,
            Err(answer) => return answer,
        };
        let changes = match self.validate(&params, true) {
            Ok(changes) => changes,
            Err(errors) => return error(422, &errors.join(", ")),
        };
        let now = Utc::now();
        let id = random_id(ID_ALPHABET, 12);
        self.incidents.push(Incident {
            id: id.clone(),
            name: String::new(),
            status: "investigating".into(),
            impact: "none".into(),
            impact_override: None,
            shortlink: format!("https://stspg.io/{}", random_id(ID_ALPHABET, 9)),
            created_at: now,
            updated_at: now,
            started_at: now,
            monitoring_at: None,
            resolved_at: None,
            metadata: json!({}),
            component_ids: Vec::new(),
            updates: Vec::new(),
        });
        let index = self.incidents.len() - 1;
        self.apply(index, changes, true, now);
        Answer::json(201, &self.incident_json(inner, &self.incidents[index]))
    }

    fn update(&mut self, inner: &Inner, request: &Request<'_>, id: &str) -> Answer {
        let Some(index) = self.incidents.iter().position(|i| i.id == id) else {
            return not_found();
        };
        let params = match incident_param(request) {
            Ok(params) => params,
            Err(answer) => return answer,
        };
        let changes = match self.validate(&params, false) {
            Ok(changes) => changes,
            Err(errors) => return error(422, &errors.join(", ")),
        };
        self.apply(index, changes, false, Utc::now());
        Answer::json(200, &self.incident_json(inner, &self.incidents[index]))
    }

    fn validate(
        &self,
        params: &Map<String, Value>,
        creating: bool,
    ) -> Result<Changes, Vec<String>> {
        let mut errors = Vec::new();
        let mut changes = Changes::default();

        match params.get("name") {
            Some(Value::String(name)) if !name.trim().is_empty() => {
                if name.chars().count() > MAX_NAME_CHARS {
                    errors.push(format!(
                        "Name is too long (maximum is {MAX_NAME_CHARS} characters)"
                    ));
                }
                changes.name = Some(name.clone());
            }
            None if !creating => {}
            Some(Value::String(_)) | Some(Value::Null) | None => {
                errors.push("Name can't be blank".to_string())
            }
            Some(_) => errors.push("Name is invalid".to_string()),
        }

        match params.get("status") {
            None | Some(Value::Null) => {}
            Some(Value::String(status)) if INCIDENT_STATUSES.contains(&status.as_str()) => {
                changes.status = Some(status.clone());
            }
            Some(Value::String(status)) if SCHEDULED_STATUSES.contains(&status.as_str()) => {
                errors.push(format!(
                    "Status {status} is for scheduled maintenances, which this fake does not serve"
                ));
            }
            Some(_) => errors.push(format!(
                "Status is not included in the list ({})",
                INCIDENT_STATUSES.join(", ")
            )),
        }

        match params.get("body") {
            None | Some(Value::Null) => {}
            Some(Value::String(body)) => {
                if body.chars().count() > MAX_BODY_CHARS {
                    errors.push(format!(
                        "Body is too long (maximum is {MAX_BODY_CHARS} characters)"
                    ));
                }
                changes.body = Some(body.clone());
            }
            Some(_) => errors.push("Body is invalid".to_string()),
        }

        match params.get("impact_override") {
            None => {}
            Some(Value::Null) => changes.impact_override = Some(None),
            Some(Value::String(impact)) if IMPACTS.contains(&impact.as_str()) => {
                changes.impact_override = Some(Some(impact.clone()));
            }
            Some(_) => errors.push(format!(
                "Impact override is not included in the list ({})",
                IMPACTS.join(", ")
            )),
        }

        match params.get("deliver_notifications") {
            None | Some(Value::Null) => {}
            Some(Value::Bool(deliver)) => changes.deliver_notifications = Some(*deliver),
            Some(_) => errors.push("Deliver notifications must be true or false".to_string()),
        }

        match params.get("metadata") {
            None => {}
            Some(Value::Object(metadata)) => {
                if metadata.values().all(Value::is_object) {
                    changes.metadata = Some(Value::Object(metadata.clone()));
                } else {
                    errors.push("Metadata top-level values must be objects".to_string());
                }
            }
            Some(_) => errors.push("Metadata must be an object".to_string()),
        }

        let known = |id: &str| self.components.iter().any(|c| c.id == id);
        match params.get("component_ids") {
            None | Some(Value::Null) => {}
            Some(Value::Array(ids)) => {
                for id in ids {
                    match id.as_str() {
                        Some(id) if known(id) => changes.component_ids.push(id.to_string()),
                        Some(id) => {
                            errors.push(format!("Component {id} is not a component of this page"))
                        }
                        None => errors.push("Component ids must be strings".to_string()),
                    }
                }
            }
            Some(_) => errors.push("Component ids must be an array".to_string()),
        }

        match params.get("components") {
            None | Some(Value::Null) => {}
            Some(Value::Object(states)) => {
                for (id, state) in states {
                    if !known(id) {
                        errors.push(format!("Component {id} is not a component of this page"));
                        continue;
                    }
                    match state.as_str() {
                        // The published schema lets "" through: no change.
                        Some("") => {}
                        Some(state) if COMPONENT_STATUSES.contains(&state) => {
                            changes.components.push((id.clone(), state.to_string()));
                        }
                        _ => errors.push(format!(
                            "Component {id} status is not included in the list ({})",
                            COMPONENT_STATUSES.join(", ")
                        )),
                    }
                }
            }
            Some(_) => errors.push("Components must map component ids to statuses".to_string()),
        }

        for unsupported in [
            "scheduled_for",
            "scheduled_until",
            "backfilled",
            "backfill_date",
        ] {
            if params
                .get(unsupported)
                .is_some_and(|v| !v.is_null() && v != &Value::Bool(false))
            {
                errors.push(format!(
                    "{unsupported}: scheduled and backfilled incidents are not served by this fake"
                ));
            }
        }

        if errors.is_empty() {
            Ok(changes)
        } else {
            Err(errors)
        }
    }

    /// Applies validated changes to incident `index`, the page's components and the history.
    fn apply(&mut self, index: usize, changes: Changes, creating: bool, now: DateTime<Utc>) {
        let mut affected = Vec::new();
        for (id, new_status) in &changes.components {
            if let Some(component) = self.components.iter_mut().find(|c| &c.id == id) {
                affected.push(AffectedComponent {
                    code: id.clone(),
                    name: component.name.clone(),
                    old_status: component.status.clone(),
                    new_status: new_status.clone(),
                });
                component.status = new_status.clone();
                component.updated_at = now;
            }
        }
        let worst_now = self.incidents[index]
            .component_ids
            .iter()
            .chain(changes.components.iter().map(|(id, _)| id))
            .chain(changes.component_ids.iter())
            .filter_map(|id| self.components.iter().find(|c| &c.id == id))
            .map(|c| impact_of(&c.status))
            .max_by_key(|impact| impact_rank(impact))
            .unwrap_or("none");

        let incident = &mut self.incidents[index];
        for id in changes
            .component_ids
            .iter()
            .chain(changes.components.iter().map(|(id, _)| id))
        {
            if !incident.component_ids.contains(id) {
                incident.component_ids.push(id.clone());
            }
        }
        if let Some(name) = changes.name {
            incident.name = name;
        }
        if let Some(status) = &changes.status {
            incident.status = status.clone();
        }
        match incident.status.as_str() {
            "resolved" => {
                incident.resolved_at.get_or_insert(now);
            }
            "monitoring" => {
                incident.monitoring_at.get_or_insert(now);
                incident.resolved_at = None;
            }
            _ => incident.resolved_at = None,
        }
        if let Some(metadata) = changes.metadata {
            incident.metadata = metadata;
        }
        if let Some(impact_override) = changes.impact_override {
            incident.impact_override = impact_override;
        }
        let computed = if impact_rank(worst_now) > impact_rank(&incident.impact) {
            worst_now.to_string()
        } else {
            incident.impact.clone()
        };
        incident.impact = match &incident.impact_override {
            Some(impact) => impact.clone(),
            None => computed,
        };
        if creating || changes.status.is_some() || changes.body.is_some() || !affected.is_empty() {
            incident.updates.push(IncidentUpdate {
                id: random_id(ID_ALPHABET, 12),
                status: incident.status.clone(),
                body: changes.body.unwrap_or_default(),
                deliver_notifications: changes.deliver_notifications.unwrap_or(true),
                affected_components: affected,
                created_at: now,
            });
        }
        incident.updated_at = now;
    }

    fn component_json(&self, inner: &Inner, c: &Component) -> Value {
        json!({
            "id": c.id,
            "page_id": inner.page_id,
            "group_id": null,
            "created_at": timestamp(c.created_at),
            "updated_at": timestamp(c.updated_at),
            "group": false,
            "name": c.name,
            "description": null,
            "position": c.position,
            "status": c.status,
            "showcase": true,
            "only_show_if_degraded": false,
            "automation_email": format!("component+{}@notifications.statuspage.io", c.id),
            "start_date": c.created_at.date_naive().to_string(),
        })
    }

    fn incidents_json(&self, inner: &Inner, incidents: &[Incident]) -> Value {
        Value::Array(
            incidents
                .iter()
                .map(|i| self.incident_json(inner, i))
                .collect(),
        )
    }

    fn incident_json(&self, inner: &Inner, i: &Incident) -> Value {
        let components: Vec<Value> = i
            .component_ids
            .iter()
            .filter_map(|id| self.components.iter().find(|c| &c.id == id))
            .map(|c| self.component_json(inner, c))
            .collect();
        let updates: Vec<Value> = i
            .updates
            .iter()
            .rev()
            .map(|u| {
                let affected = if u.affected_components.is_empty() {
                    Value::Null
                } else {
                    Value::Array(
                        u.affected_components
                            .iter()
                            .map(|a| {
                                json!({
                                    "code": a.code,
                                    "name": a.name,
                                    "old_status": a.old_status,
                                    "new_status": a.new_status,
                                })
                            })
                            .collect(),
                    )
                };
                json!({
                    "id": u.id,
                    "incident_id": i.id,
                    "status": u.status,
                    "body": u.body,
                    "affected_components": affected,
                    "deliver_notifications": u.deliver_notifications,
                    "created_at": timestamp(u.created_at),
                    "updated_at": timestamp(u.created_at),
                    "display_at": timestamp(u.created_at),
                    "custom_tweet": null,
                    "tweet_id": null,
                    "twitter_updated_at": null,
                    "wants_twitter_update": false,
                })
            })
            .collect();
        json!({
            "id": i.id,
            "name": i.name,
            "status": i.status,
            "impact": i.impact,
            "impact_override": i.impact_override,
            "page_id": inner.page_id,
            "shortlink": i.shortlink,
            "created_at": timestamp(i.created_at),
            "updated_at": timestamp(i.updated_at),
            "started_at": timestamp(i.started_at),
            "monitoring_at": optional_timestamp(i.monitoring_at),
            "resolved_at": optional_timestamp(i.resolved_at),
            "metadata": i.metadata,
            "components": components,
            "incident_updates": updates,
            "postmortem_body": null,
            "postmortem_body_last_updated_at": null,
            "postmortem_ignored": false,
            "postmortem_notified_subscribers": false,
            "postmortem_notified_twitter": false,
            "postmortem_published_at": null,
            "scheduled_for": null,
            "scheduled_until": null,
            "scheduled_remind_prior": false,
            "scheduled_reminded_at": null,
            "scheduled_auto_in_progress": false,
            "scheduled_auto_completed": false,
            "auto_transition_to_maintenance_state": false,
            "auto_transition_to_operational_state": false,
            "auto_transition_deliver_notifications_at_start": false,
            "auto_transition_deliver_notifications_at_end": false,
            "reminder_intervals": null,
        })
    }
}
