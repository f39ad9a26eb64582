//! The application's side of the HTTP port ([`crate::http::Operations`]): what `/readyz` and
//! `/metrics` read — the database, Slack's transport (the Socket Mode connections; over HTTP the
//! server itself), the tasks, the queue — and the
//! alert intake, which records an alert as `alerts` decides, PagerDuty's news of a page
//! (`pages`) and a tracker's news of a ticket (`tickets`).

use std::sync::Arc;
use std::time::Duration;

use super::health::Health;
use super::{Shared, alerts, pages, tickets};
use crate::config::Transport;
use crate::domain::alert::Alert;
use crate::domain::outside::{PageNews, TicketNews};
use crate::http::{Figures, Heard, Operations, Readiness, Received};

/// How long `/readyz` waits for the database before calling it unreachable.
const DATABASE_CHECK: Duration = Duration::from_secs(2);

/// The application's side of [`crate::http::Operations`].
pub(crate) struct Ops {
    pub shared: Arc<Shared>,
    pub health: Arc<Health>,
}

#[async_trait::async_trait]
impl Operations for Ops {
    async fn readiness(&self) -> Readiness {
        let database = match tokio::time::timeout(DATABASE_CHECK, self.shared.store.ping()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {}s", DATABASE_CHECK.as_secs())),
        };
        let transport = &self.shared.settings.transport;
        let slack = match transport {
            Transport::SocketMode { .. } => match self.health.connections.up() {
                0 => Err("no Socket Mode connection is up".to_string()),
                _ => Ok(()),
            },
            // Slack's requests arrive on the server answering this very probe.
            Transport::Http { .. } => Ok(()),
        };
        Readiness {
            transport: transport.name(),
            database,
            slack,
            tasks: self.health.tasks(),
        }
    }

    async fn figures(&self) -> Result<Figures, String> {
        let now = self.shared.clock.now();
        let store = &self.shared.store;
        let incidents = store.incident_counts().await.map_err(|e| e.to_string())?;
        let queue = store.queue_figures(now).await.map_err(|e| e.to_string())?;
        let oldest_due_seconds = queue
            .oldest_due
            .map(|due| (now - due).num_milliseconds().max(0) as f64 / 1000.0)
            .unwrap_or(0.0);
        let ready = self.readiness().await.ready();
        Ok(Figures {
            incidents,
            jobs_pending: queue.pending,
            jobs_scheduled: queue.scheduled,
            oldest_due_seconds,
            socket_connections: {
                let counts = self.health.connections.counts();
                [
                    ("connecting", counts.connecting),
                    ("open", counts.open),
                    ("draining", counts.draining),
                ]
            },
            ready,
        })
    }

    async fn alert(&self, alert: Alert) -> Result<Received, String> {
        alerts::receive(&self.shared, alert)
            .await
            .map_err(|e| e.to_string())
    }

    async fn page_news(&self, news: PageNews) -> Result<Heard, String> {
        pages::receive(&self.shared, news)
            .await
            .map_err(|e| e.to_string())
    }

    async fn ticket_news(&self, news: TicketNews) -> Result<Heard, String> {
        let key = tickets::webhook_key(&news);
        tickets::receive(&self.shared, news, key)
            .await
            .map_err(|e| e.to_string())
    }

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.shared.clock.now()
    }
}
