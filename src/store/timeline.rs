//! The timeline aggregate: typed entries with who and when, and the history of who held which
//! role. Written inside the transactions of `incidents` and `jobs`; read whole by incident.

use chrono::{DateTime, Utc};

use super::rows::{EventRow, RoleHistoryRow};
use super::{RoleAssignment, Store, StoreError, Tx, to_ms};
use crate::domain::change::RoleChange;
use crate::domain::{Entry, IncidentId, TimelineEvent};

const INSERT_EVENT: &str =
    "INSERT INTO timeline_events (incident_id, kind, actor, at, data) VALUES ($1, $2, $3, $4, $5)";
const SELECT_TIMELINE: &str = "SELECT kind, actor, at, data FROM timeline_events \
     WHERE incident_id = $1 ORDER BY at, id";
const SELECT_ROLE_HISTORY: &str = "SELECT role, user_id, assigned_by, from_at, to_at \
     FROM role_assignments WHERE incident_id = $1 ORDER BY from_at, id";
const CLOSE_ROLE: &str = "UPDATE role_assignments SET to_at = $3 \
     WHERE incident_id = $1 AND role = $2 AND to_at IS NULL";
const OPEN_ROLE: &str = "INSERT INTO role_assignments (incident_id, role, user_id, assigned_by, from_at) \
     VALUES ($1, $2, $3, $4, $5)";

pub(super) async fn insert_event(
    tx: &mut Tx,
    incident: IncidentId,
    entry: &Entry,
    actor: Option<&str>,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(INSERT_EVENT)
        .bind(incident)
        .bind(entry.kind())
        .bind(actor)
        .bind(to_ms(at))
        .bind(entry.to_stored().to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Closes the outgoing holder's stretch and opens the incoming one's.
pub(super) async fn change_role(
    tx: &mut Tx,
    incident: IncidentId,
    change: &RoleChange,
    by: Option<&str>,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    if change.from.is_some() {
        sqlx::query(CLOSE_ROLE)
            .bind(incident)
            .bind(change.role.as_str())
            .bind(to_ms(at))
            .execute(&mut **tx)
            .await?;
    }
    if let Some(user) = &change.to {
        sqlx::query(OPEN_ROLE)
            .bind(incident)
            .bind(change.role.as_str())
            .bind(user.as_str())
            .bind(by)
            .bind(to_ms(at))
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

impl Store {
    /// `incident`'s timeline, oldest first.
    pub async fn timeline(&self, incident: IncidentId) -> Result<Vec<TimelineEvent>, StoreError> {
        sqlx::query_as::<_, EventRow>(SELECT_TIMELINE)
            .bind(incident)
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(EventRow::into_event)
            .collect()
    }

    /// Who held which role of `incident`, from when to when, oldest first.
    pub async fn role_history(
        &self,
        incident: IncidentId,
    ) -> Result<Vec<RoleAssignment>, StoreError> {
        sqlx::query_as::<_, RoleHistoryRow>(SELECT_ROLE_HISTORY)
            .bind(incident)
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(RoleHistoryRow::into_assignment)
            .collect()
    }
}
