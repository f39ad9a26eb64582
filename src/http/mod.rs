//! The HTTP side on `HTTP_ADDR`: probes, metrics and the alert intake (docs/operations.md,
//! docs/alerts.md).
//!
//! - `GET /healthz`: 200 while the process serves HTTP at all (liveness).
//! - `GET /readyz`: 200 when the database answers, Slack's transport is up (a Socket Mode
//!   connection; over HTTP, this server itself) and no task of the process has died; 503
//!   otherwise, with the failing checks and the transport (`socket_mode`, `http`) in the JSON
//!   body.
//! - `GET /metrics`: Prometheus text ([`metrics`]).
//! - `POST /alerts` and `POST /alerts/alertmanager`, only with `ALERT_TOKEN` set: a bearer token
//!   compared in constant time (401 before the body is read), a body limit (413), the body read
//!   by the domain ([`crate::domain::alert`]; 400 with the field at fault), then recorded by the
//!   application before the answer (2xx), like a declaration before its ack.
//!
//! - `POST /integrations/pagerduty`, only with `PAGERDUTY_WEBHOOK_SECRET` set: PagerDuty's
//!   webhooks, signature checked first ([`integrations`]).
//! - `POST /integrations/github`, `/gitlab`, `/jira`, `/linear`, only for the configured
//!   `FOLLOWUP_TRACKER` with its webhook secret set: the tracker's webhooks, signature (GitLab:
//!   token) checked first.
//!
//! - `POST /slack/events`, `/slack/commands`, `/slack/interactivity`, only with
//!   `SLACK_TRANSPORT=http`: Slack's request URLs, served by the Slack adapter's routes
//!   (`slack::events_api`, which verify each request's signature) merged in here.
//!
//! Like `slack`, this is an adapter: it asks the application through the [`Operations`] port
//! and knows nothing of the store or of Slack.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::domain::alert::{self, Alert, Invalid};
use crate::domain::severity::DEFAULT_LEVELS;
use crate::domain::{Severity, Status};

pub mod integrations;
pub mod metrics;

pub use integrations::Heard;
pub use metrics::Metrics;

/// The largest alert body accepted: Alertmanager groups stay well below it
/// (`max_alerts` and `truncatedAlerts` exist for larger ones).
pub const ALERT_BODY_LIMIT: usize = 1024 * 1024;

/// What `/readyz` checks; `Err` says what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    /// How Slack's envelopes arrive: `socket_mode` or `http`.
    pub transport: &'static str,
    pub database: Result<(), String>,
    pub slack: Result<(), String>,
    pub tasks: Result<(), String>,
}

impl Readiness {
    pub fn ready(&self) -> bool {
        self.database.is_ok() && self.slack.is_ok() && self.tasks.is_ok()
    }
}

/// The figures `/metrics` reads at scrape time.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub incidents: Vec<(Status, Severity, i64)>,
    pub jobs_pending: i64,
    pub jobs_scheduled: i64,
    pub oldest_due_seconds: f64,
    /// Socket Mode connections by state: `connecting`, `open`, `draining`.
    pub socket_connections: [(&'static str, usize); 3],
    pub ready: bool,
}

/// What recording an alert did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// A new incident (its reference, `INC-7`).
    Opened(String),
    /// Added to the open incident with the same fingerprint.
    Repeated(String),
    /// The resolution was added to the incident the alert opened.
    Resolved(String),
    /// A resolution for an alert that never opened an incident: nothing was recorded.
    NoIncident,
}

/// What the HTTP side asks of the application (implemented in `app`).
#[async_trait::async_trait]
pub trait Operations: Send + Sync + 'static {
    async fn readiness(&self) -> Readiness;
    /// `Err` when the database cannot be read.
    async fn figures(&self) -> Result<Figures, String>;
    /// Records `alert`; `Err` when nothing could be recorded (the sender should retry).
    async fn alert(&self, alert: Alert) -> Result<Received, String>;
    /// Records what PagerDuty said of a page; `Err` when nothing could be recorded.
    async fn page_news(&self, news: crate::domain::outside::PageNews) -> Result<Heard, String>;
    /// Records what the tracker said of a follow-up's ticket; `Err` when nothing could be
    /// recorded.
    async fn ticket_news(&self, news: crate::domain::outside::TicketNews) -> Result<Heard, String>;
    /// The application's clock (a webhook's age is measured with it).
    fn now(&self) -> chrono::DateTime<chrono::Utc>;
}

/// The follow-up tracker's webhooks: its client (which reads them) and the secret they are
/// verified with.
#[derive(Clone)]
pub struct TicketHooks {
    pub api: crate::outside::tracker::TrackerApi,
    pub secret: SecretString,
}

#[derive(Clone)]
struct Http {
    ops: Arc<dyn Operations>,
    /// This app's recorder: `/metrics` renders it, the alert endpoints count into it.
    metrics: Metrics,
    alert_token: Option<Arc<SecretString>>,
    /// `PAGERDUTY_WEBHOOK_SECRET`: with it, `/integrations/pagerduty` takes PagerDuty's webhooks.
    pagerduty_secret: Option<Arc<SecretString>>,
    /// The tracker's webhook secret: with it, `/integrations/<tracker>` takes its webhooks.
    tickets: Option<Arc<TicketHooks>>,
}

/// The routes, with the alert endpoints when `alert_token` is set, PagerDuty's webhooks when
/// `pagerduty_secret` is, and Slack's request URLs (`slack::events_api`) when `slack` holds them.
pub fn router(
    ops: Arc<dyn Operations>,
    metrics: Metrics,
    alert_token: Option<SecretString>,
    pagerduty_secret: Option<SecretString>,
    tickets: Option<TicketHooks>,
    slack: Option<Router>,
) -> Router {
    let state = Http {
        ops,
        metrics,
        alert_token: alert_token.map(Arc::new),
        pagerduty_secret: pagerduty_secret.map(Arc::new),
        tickets: tickets.map(Arc::new),
    };
    let hooks = Router::new()
        .route("/integrations/pagerduty", post(integrations::pagerduty))
        .route("/integrations/{tracker}", post(integrations::tracker))
        .layer(DefaultBodyLimit::max(integrations::WEBHOOK_BODY_LIMIT));
    let alerts = Router::new()
        .route("/alerts", post(generic))
        .route("/alerts/alertmanager", post(alertmanager))
        .layer(DefaultBodyLimit::max(ALERT_BODY_LIMIT))
        .route_layer(middleware::from_fn_with_state(state.clone(), authorize));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(render_metrics))
        .merge(alerts)
        .merge(hooks)
        .with_state(state)
        .merge(slack.unwrap_or_default())
}

/// Serves `router` on `listener` until `stop` completes, then lets requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(stop)
        .await
}

/// `incident-commander healthcheck`: asks `GET /healthz` of the process listening on `addr`
/// (on loopback when it listens on every interface), for container health checks in images
/// that have no HTTP client. Plain HTTP/1.0 over TCP: nothing else to install.
pub async fn probe(addr: std::net::SocketAddr) -> Result<(), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut target = addr;
    if target.ip().is_unspecified() {
        target.set_ip(match target {
            std::net::SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(target).await?;
        stream
            .write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .await?;
        let mut answer = Vec::new();
        stream.take(4096).read_to_end(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    let answer = tokio::time::timeout(std::time::Duration::from_secs(3), exchange)
        .await
        .map_err(|_| format!("no answer from {target} within 3s"))?
        .map_err(|e| format!("{target}: {e}"))?;
    let status = String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    if status.starts_with("HTTP/1.") && status.split_whitespace().nth(1) == Some("200") {
        Ok(())
    } else {
        Err(format!("{target}/healthz answered {status:?}"))
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(http): State<Http>) -> Response {
    let r = http.ops.readiness().await;
    let check = |c: &Result<(), String>| match c {
        Ok(()) => Value::from("ok"),
        Err(e) => Value::from(e.as_str()),
    };
    let body = json!({
        "ready": r.ready(),
        "transport": r.transport,
        "checks": {
            "database": check(&r.database),
            "slack": check(&r.slack),
            "tasks": check(&r.tasks),
        }
    });
    let status = if r.ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

async fn render_metrics(State(http): State<Http>) -> Response {
    let figures = http.ops.figures().await.ok();
    let text = metrics::render(&http.metrics, figures.as_ref());
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        text,
    )
        .into_response()
}

// --- alert intake ---

/// Refuses a request without the right bearer token before its body is read; answers 404 when
/// the intake is off.
async fn authorize(State(http): State<Http>, request: Request, next: Next) -> Response {
    let endpoint = endpoint_of(request.uri().path());
    let Some(token) = &http.alert_token else {
        return error(
            StatusCode::NOT_FOUND,
            "alert intake is off: set ALERT_TOKEN to turn it on",
            None,
        );
    };
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match given {
        Some(given) if crate::outside::same(given.as_bytes(), token.expose_secret().as_bytes()) => {
            next.run(request).await
        }
        _ => {
            counted(&http.metrics, endpoint, "unauthorized");
            let mut response = error(
                StatusCode::UNAUTHORIZED,
                "missing or wrong bearer token: send Authorization: Bearer <ALERT_TOKEN>",
                None,
            );
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            response
        }
    }
}

async fn generic(State(http): State<Http>, body: Result<Bytes, BytesRejection>) -> Response {
    intake(&http, "generic", body, alert::parse_generic).await
}

async fn alertmanager(State(http): State<Http>, body: Result<Bytes, BytesRejection>) -> Response {
    intake(&http, "alertmanager", body, alert::parse_alertmanager).await
}

async fn intake(
    http: &Http,
    endpoint: &'static str,
    body: Result<Bytes, BytesRejection>,
    parse: fn(&Value, u8) -> Result<Alert, Invalid>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            counted(&http.metrics, endpoint, "too_large");
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("the body is larger than {} KiB", ALERT_BODY_LIMIT / 1024),
                None,
            );
        }
        Err(rejection) => {
            counted(&http.metrics, endpoint, "invalid");
            return error(rejection.status(), &rejection.body_text(), None);
        }
    };
    let json: Value = match serde_json::from_slice(&body) {
        Ok(json) => json,
        Err(e) => {
            counted(&http.metrics, endpoint, "invalid");
            return error(
                StatusCode::BAD_REQUEST,
                &format!("the body is not JSON: {e}"),
                None,
            );
        }
    };
    let alert = match parse(&json, DEFAULT_LEVELS) {
        Ok(alert) => alert,
        Err(invalid) => {
            counted(&http.metrics, endpoint, "invalid");
            let field = (!invalid.field.is_empty()).then_some(invalid.field.as_str());
            return error(StatusCode::BAD_REQUEST, &invalid.to_string(), field);
        }
    };
    match http.ops.alert(alert).await {
        Ok(received) => {
            let (status, result, incident) = match received {
                Received::Opened(r) => (StatusCode::CREATED, "opened", Some(r)),
                Received::Repeated(r) => (StatusCode::OK, "repeated", Some(r)),
                Received::Resolved(r) => (StatusCode::OK, "resolved", Some(r)),
                Received::NoIncident => (StatusCode::OK, "no_incident", None),
            };
            counted(&http.metrics, endpoint, result);
            (
                status,
                axum::Json(json!({"result": result, "incident": incident})),
            )
                .into_response()
        }
        Err(e) => {
            counted(&http.metrics, endpoint, "failed");
            tracing::error!(error = %e, "recording an alert failed");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the alert could not be recorded (database unavailable); nothing was recorded, send it again",
                None,
            )
        }
    }
}

fn endpoint_of(path: &str) -> &'static str {
    if path.ends_with("/alertmanager") {
        "alertmanager"
    } else {
        "generic"
    }
}

fn counted(metrics: &Metrics, endpoint: &'static str, result: &'static str) {
    let labels = [("endpoint", endpoint), ("result", result)];
    metrics.count("incident_commander_alerts_total", &labels);
}

/// `{"error": "...", "field": "..."}` with `status`.
fn error(status: StatusCode, message: &str, field: Option<&str>) -> Response {
    let mut body = json!({ "error": message });
    if let Some(field) = field {
        body["field"] = Value::from(field);
    }
    (status, axum::Json(body)).into_response()
}
