//! `/metrics` in Prometheus' text format: this app's own [`Metrics`] recorder, then the figures
//! read from the store and the application at the moment of the scrape.
//!
//! **One recorder per app, never the process-wide one.** Counters and histograms — envelopes and
//! ack latency (`slack::envelope`), connections by state (`slack::listener`), Slack calls (`slack::api`), alerts (here), reminders
//! (`app::steps`) — are recorded into the [`Metrics`] the [`App`](crate::app::App) built and
//! handed to the places that record ([`SlackApi`](crate::slack::SlackApi) carries it for the
//! listener and the client; `app` keeps it in its shared state; the router gets it). Each place
//! records through it — [`Metrics::count`], [`Metrics::observe`], which call
//! `metrics::Recorder::register_*` directly — rather than through the `metrics` macros, which go
//! to whatever recorder the process installed globally: two apps in one process (the tests, an
//! embedding program) would add to each other's figures. So `/metrics` shows exactly what this
//! app did, and nothing here installs a global recorder.
//!
//! The scrape-time figures (incidents by status and severity, the job queue, Socket Mode
//! connections, readiness) go into a recorder built per scrape. No exporter server of its own:
//! the axum route renders.

use std::sync::Arc;

use metrics::{
    Key, Label, Level, Metadata, Recorder, Unit, describe_counter, describe_gauge,
    describe_histogram,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusRecorder};

use super::Figures;
use crate::domain::severity::DEFAULT_LEVELS;
use crate::domain::{Severity, Status};

/// The ack latency buckets, in seconds: Slack's deadline is 3 s.
const ACK_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0,
];

/// Where recorded metrics say they come from (the Prometheus exporter ignores it).
static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

/// One app's counters and histograms. Cheap to clone: clones record into the same recorder.
/// A `Metrics` nobody renders (the CLI's Slack client, `check`) records into nothing anyone
/// reads, which costs little.
#[derive(Clone)]
pub struct Metrics {
    recorder: Arc<PrometheusRecorder>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    /// A recorder of its own, with the buckets and descriptions of docs/operations.md.
    pub fn new() -> Metrics {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("incident_commander_ack_seconds".into()),
                ACK_BUCKETS,
            )
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full("incident_commander_reminder_lateness_seconds".into()),
                    LATENESS_BUCKETS,
                )
            })
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        metrics::with_local_recorder(&recorder, describe);
        Metrics {
            recorder: Arc::new(recorder),
        }
    }

    /// Adds one to the counter `name` with `labels`, in this app's recorder.
    pub fn count(&self, name: &'static str, labels: &[(&'static str, &str)]) {
        self.recorder
            .register_counter(&key(name, labels), &METADATA)
            .increment(1);
    }

    /// Records `value` in the histogram `name` with `labels`, in this app's recorder.
    pub fn observe(&self, name: &'static str, labels: &[(&'static str, &str)], value: f64) {
        self.recorder
            .register_histogram(&key(name, labels), &METADATA)
            .record(value);
    }
}

fn key(name: &'static str, labels: &[(&'static str, &str)]) -> Key {
    let labels: Vec<Label> = labels
        .iter()
        .map(|(k, v)| Label::new(*k, v.to_string()))
        .collect();
    Key::from_parts(name, labels)
}

/// Reminder lateness: on its second normally, minutes or hours after downtime.
const LATENESS_BUCKETS: &[f64] = &[0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0, 60.0, 300.0, 3600.0];

fn describe() {
    describe_histogram!(
        "incident_commander_reminder_lateness_seconds",
        Unit::Seconds,
        "How long after its due time each update reminder was posted"
    );
    describe_counter!(
        "incident_commander_reminders_sent_total",
        "Update reminders posted"
    );
    describe_counter!(
        "incident_commander_envelopes_total",
        "Socket Mode envelopes handled, by type"
    );
    describe_histogram!(
        "incident_commander_ack_seconds",
        Unit::Seconds,
        "Time from receiving an envelope to its ack being decided, by type"
    );
    describe_counter!(
        "incident_commander_slack_calls_total",
        "Slack Web API calls, by method"
    );
    describe_counter!(
        "incident_commander_slack_errors_total",
        "Failed Slack Web API calls, by method and error (Slack's code, ratelimited, timeout, transport)"
    );
    describe_counter!(
        "incident_commander_slack_rate_limited_total",
        "Slack Web API calls answered 429, by method"
    );
    describe_counter!(
        "incident_commander_socket_hellos_total",
        "Socket Mode connections opened (hello received)"
    );
    describe_counter!(
        "incident_commander_socket_connect_failures_total",
        "Socket Mode connection attempts that failed (apps.connections.open or the WebSocket)"
    );
    describe_counter!(
        "incident_commander_socket_closed_total",
        "Socket Mode connections ended, by reason"
    );
    describe_counter!(
        "incident_commander_alerts_total",
        "Alerts received, by endpoint and result"
    );
    describe_counter!(
        "incident_commander_webhooks_received_total",
        "Webhooks received from outside systems (PagerDuty), by source and result"
    );
}

/// The whole `/metrics` text: this app's recorder, then the figures of this moment.
pub fn render(metrics: &Metrics, figures: Option<&Figures>) -> String {
    let handle = metrics.recorder.handle();
    handle.run_upkeep();
    let mut out = handle.render();
    let now = PrometheusBuilder::new().build_recorder();
    metrics::with_local_recorder(&now, || record(figures));
    out.push_str(&now.handle().render());
    out
}

fn record(figures: Option<&Figures>) {
    describe_gauge!(
        "incident_commander_up",
        "1 when the figures below could be read from the database"
    );
    let Some(f) = figures else {
        metrics::gauge!("incident_commander_up").set(0.0);
        return;
    };
    metrics::gauge!("incident_commander_up").set(1.0);
    describe_gauge!(
        "incident_commander_incidents",
        "Incidents by current status and severity"
    );
    for status in Status::ALL {
        for severity in Severity::scale(DEFAULT_LEVELS) {
            let n = f
                .incidents
                .iter()
                .find(|(s, v, _)| *s == status && *v == severity)
                .map(|(_, _, n)| *n)
                .unwrap_or(0);
            metrics::gauge!(
                "incident_commander_incidents",
                "status" => status.as_str(),
                "severity" => severity.as_key()
            )
            .set(n as f64);
        }
    }
    describe_gauge!(
        "incident_commander_jobs_pending",
        "Jobs (Slack work) due now or being retried"
    );
    metrics::gauge!("incident_commander_jobs_pending").set(f.jobs_pending as f64);
    describe_gauge!(
        "incident_commander_jobs_scheduled",
        "Jobs waiting for their time: update reminders, nudges, the digest"
    );
    metrics::gauge!("incident_commander_jobs_scheduled").set(f.jobs_scheduled as f64);
    describe_gauge!(
        "incident_commander_oldest_due_job_seconds",
        Unit::Seconds,
        "How long the oldest due job has been waiting (0 when none is due)"
    );
    metrics::gauge!("incident_commander_oldest_due_job_seconds").set(f.oldest_due_seconds);
    describe_gauge!(
        "incident_commander_socket_connections",
        "Socket Mode connections of this process, by state (connecting, open, draining)"
    );
    for (state, n) in f.socket_connections {
        metrics::gauge!("incident_commander_socket_connections", "state" => state).set(n as f64);
    }
    describe_gauge!("incident_commander_ready", "1 when /readyz answers 200");
    metrics::gauge!("incident_commander_ready").set(if f.ready { 1.0 } else { 0.0 });
}
