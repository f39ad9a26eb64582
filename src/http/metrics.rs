//! `/metrics` in Prometheus' text format, rendered from the `metrics` crate's recorders: the
//! process-wide one (counters and histograms recorded where things happen: envelopes and ack
//! latency in `slack::envelope`, connections in `slack::listener`, Slack calls in `slack::api`, alerts here) and one built per
//! scrape for the figures read from the store and the application at that moment (incidents by
//! status and severity, the job queue, Socket Mode connections, readiness). No exporter server of
//! its own: the axum route renders.

use std::sync::OnceLock;

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing::warn;

use super::Figures;
use crate::domain::severity::DEFAULT_LEVELS;
use crate::domain::{Severity, Status};

/// The ack latency buckets, in seconds: Slack's deadline is 3 s.
const ACK_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0,
];

static GLOBAL: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process-wide recorder's handle, installing the recorder the first time. If another
/// recorder was installed first (an embedding program), ours records nothing and `/metrics`
/// shows only the scrape-time figures.
pub fn install() -> PrometheusHandle {
    GLOBAL
        .get_or_init(|| {
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
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                warn!("another metrics recorder is installed; /metrics shows only current figures");
            }
            describe();
            handle
        })
        .clone()
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
}

/// The whole `/metrics` text: the process-wide recorder's, then the figures of this moment.
pub fn render(global: &PrometheusHandle, figures: Option<&Figures>) -> String {
    global.run_upkeep();
    let mut out = global.render();
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
        for level in 1..=DEFAULT_LEVELS {
            let Some(severity) = Severity::parse(&level.to_string(), DEFAULT_LEVELS) else {
                continue;
            };
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
