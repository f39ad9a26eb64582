//! The alert intake's writes: an alert is recorded in one transaction before its 2xx, like a
//! declaration before its ack. A firing alert either repeats the open incident its key opened
//! (a timeline entry) or opens a new one (incident, `declared` and `alert_received` entries, the
//! first saga job); a resolved one adds its entry, and the job posting about it, to the incident
//! its key opened last.
//!
//! Concurrent alerts serialise on the `counters` row the declarations already lock (a no-op
//! `UPDATE` takes the row lock on PostgreSQL; SQLite has one writer), so the lookup of an open
//! incident with the same key sees every alert committed before it: a burst of identical alerts,
//! on any number of replicas, opens one incident. Locking without counting keeps incident
//! numbers gapless.

use chrono::{DateTime, Utc};

use super::incidents::{insert_new, next_numbers};
use super::rows::{IncidentRow, select_incidents};
use super::{NewJob, Store, StoreError, jobs, timeline};
use crate::domain::{Entry, Incident, NewIncident};

const LOCK_COUNTERS: &str =
    "UPDATE counters SET value = value WHERE name = 'incident_number' RETURNING value";
const OPEN_WITH_KEY: &str = select_incidents!(
    "WHERE alert_key = $1 AND status NOT IN ('resolved', 'declined') ORDER BY id DESC LIMIT 1"
);
const LATEST_WITH_KEY: &str = select_incidents!("WHERE alert_key = $1 ORDER BY id DESC LIMIT 1");

/// A firing alert to record.
#[derive(Debug, Clone)]
pub struct AlertReceipt {
    /// What identifies the alert among open incidents (`generic:<fingerprint>`, …).
    pub key: String,
    /// The incident it opens if none with its key is open.
    pub incident: NewIncident,
    /// Its `alert_received` entry, recorded either way.
    pub entry: Entry,
    /// The jobs a new incident starts with (the saga's first step).
    pub jobs: Vec<NewJob>,
}

/// What [`Store::receive_alert`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum AlertRecorded {
    /// The alert opened this incident.
    Opened(Incident),
    /// An open incident had the same key: the alert was added to its timeline. (Read in the
    /// same transaction, without its role holders.)
    Repeated(Incident),
}

impl Store {
    /// Records a firing alert: on the open incident with its key, or as a new incident.
    pub async fn receive_alert(
        &self,
        receipt: AlertReceipt,
        now: DateTime<Utc>,
    ) -> Result<AlertRecorded, StoreError> {
        let mut tx = self.pool.begin().await?;
        // The lock that serialises alerts (and declarations): see the module header.
        let _: i64 = sqlx::query_scalar(LOCK_COUNTERS)
            .fetch_one(&mut *tx)
            .await?;
        let open = sqlx::query_as::<_, IncidentRow>(OPEN_WITH_KEY)
            .bind(receipt.key.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(row) = open {
            timeline::insert_event(&mut tx, row.id, &receipt.entry, None, now).await?;
            tx.commit().await?;
            return Ok(AlertRecorded::Repeated(row.into_incident(Vec::new())?));
        }
        // Alerts open incidents in the deployment's own workspace.
        let numbers = next_numbers(&mut tx, super::HOME_WORKSPACE).await?;
        let inc = &receipt.incident;
        // Nobody declared it: the bot's own doing, like the entries of its jobs.
        let id = insert_new(&mut tx, &numbers, inc, Some(&receipt.key), None, now).await?;
        timeline::insert_event(&mut tx, id, &receipt.entry, None, now).await?;
        for job in &receipt.jobs {
            jobs::insert_for_new(&mut tx, id, job, now).await?;
        }
        tx.commit().await?;
        Ok(AlertRecorded::Opened(
            receipt.incident.stored(id, numbers.number),
        ))
    }

    /// Records that the alert `key` is resolved: `entry` on the incident that key opened last
    /// (open or not), with the jobs `jobs` builds for it, in one transaction. `None`: no
    /// incident was ever opened by that key, and nothing was recorded.
    pub async fn alert_resolved(
        &self,
        key: &str,
        entry: &Entry,
        jobs: impl FnOnce(&Incident) -> Vec<NewJob> + Send,
        now: DateTime<Utc>,
    ) -> Result<Option<Incident>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query_as::<_, IncidentRow>(LATEST_WITH_KEY)
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(None);
        };
        // The roles are not needed to say the alert is over.
        let incident = row.into_incident(Vec::new())?;
        timeline::insert_event(&mut tx, incident.id, entry, None, now).await?;
        for job in jobs(&incident) {
            jobs::insert(&mut tx, Some(incident.id), &job, now).await?;
        }
        tx.commit().await?;
        Ok(Some(incident))
    }
}
