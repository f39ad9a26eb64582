//! The alert intake's use case: an alert read by the domain is recorded in one transaction
//! before the HTTP side answers, like a declaration before its ack; the Slack work follows as
//! jobs.
//!
//! - A firing alert whose key matches an open incident is added to its timeline
//!   (`alert_received`); nothing is posted (Alertmanager repeats a firing group every
//!   `repeat_interval`).
//! - Otherwise it opens a `triage` incident with no roles, declared by the bot, and starts the
//!   declaration saga (`create_channel` → invite, topic, card, announcement; with
//!   `COORDINATOR_GROUP` set, the group is pinged with a **Take coordinator** button once the
//!   channel exists — see `steps/saga.rs`), the nudge and the first reminder.
//! - A resolved alert adds `alert_resolved` to the incident its key opened last and posts about
//!   it in that incident's channel (if the channel exists yet); the incident itself is left for
//!   people to resolve.
//!
//! Job keys name their cause: `alert:<receipt id>`, a fresh id per alert received.

use tracing::info;

use super::Shared;
use super::steps::{self, Step};
use crate::domain::alert::{self, Alert, State};
use crate::domain::cause::{Cause, IncidentRef};
use crate::http::Received;
use crate::store::{AlertReceipt, AlertRecorded, StoreError};

/// Records `alert` and says what it did.
pub(crate) async fn receive(shared: &Shared, alert: Alert) -> Result<Received, StoreError> {
    let now = shared.clock.now();
    // An alert carries no unique id of its own: each one received gets one.
    let cause = Cause::Alert(uuid::Uuid::new_v4().simple().to_string());
    match alert.state {
        State::Firing => {
            let incident = alert.incident(&shared.ws.bot.user_id, now);
            // Like any declaration: the channel, the nudge if nobody takes coordinator, the reminder.
            let jobs = steps::opening_jobs(
                &shared.settings,
                &shared.ws.config.reminders,
                &incident,
                &cause,
                None,
                None,
                now,
            );
            let receipt = AlertReceipt {
                key: alert.key(),
                incident,
                entry: alert.entry(),
                jobs,
            };
            match shared.store.receive_alert(receipt, now).await? {
                AlertRecorded::Opened(incident) => {
                    shared.wake.notify_one();
                    info!(
                        incident.number = incident.number,
                        alert.source = %alert.source,
                        "alert opened an incident"
                    );
                    Ok(Received::Opened(incident.reference()))
                }
                AlertRecorded::Repeated(incident) => {
                    info!(
                        incident.number = incident.number,
                        "alert repeated an open incident"
                    );
                    Ok(Received::Repeated(incident.reference()))
                }
            }
        }
        State::Resolved => {
            let jobs = |incident: &crate::domain::Incident| match &incident.channel_id {
                Some(channel) => vec![
                    Step::Post {
                        channel: channel.clone(),
                        message: alert::resolved_post(incident, &alert),
                    }
                    .job(IncidentRef::Id(incident.id), &cause.whole(), now),
                ],
                None => Vec::new(),
            };
            let recorded = shared
                .store
                .alert_resolved(&alert.key(), &alert.entry(), jobs, now)
                .await?;
            match recorded {
                Some(incident) => {
                    shared.wake.notify_one();
                    info!(incident.number = incident.number, "alert resolved");
                    Ok(Received::Resolved(incident.reference()))
                }
                None => Ok(Received::NoIncident),
            }
        }
    }
}
