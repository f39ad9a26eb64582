//! Operational reads: whether the database answers (readiness), the figures `/metrics` shows
//! (incidents by status and severity, the job queue), and the period `/inc stats` reports on —
//! four queries whatever the number of incidents (no query per incident).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::rows::{EventRow, IncidentRow, RoleRow, select_incidents};
use super::{Store, StoreError, from_ms, to_ms};
use crate::domain::TimelineEvent;
use crate::domain::stats::Facts;
use crate::domain::timeline::POSTMORTEM_EXPORTED;
use crate::domain::{Severity, Status};

const PING: &str = "SELECT 1";
const INCIDENT_COUNTS: &str =
    "SELECT status, severity, COUNT(*) FROM incidents GROUP BY status, severity";
/// Work under way (due, or being retried) apart from work scheduled for later (reminders, the
/// nudge, the digest: not yet due, never attempted), and the oldest due time.
const QUEUE: &str = "SELECT \
     COALESCE(SUM(CASE WHEN run_at <= $1 OR attempt > 0 THEN 1 ELSE 0 END), 0), \
     COALESCE(SUM(CASE WHEN run_at > $1 AND attempt = 0 THEN 1 ELSE 0 END), 0), \
     MIN(CASE WHEN run_at <= $1 THEN run_at END) FROM jobs WHERE state = 'pending'";
// A period is always one workspace's ($3 below; $4 where $3 is taken).
const DECLARED_BETWEEN: &str = select_incidents!(
    "WHERE declared_at >= $1 AND declared_at < $2 AND team_id = $3 ORDER BY team_number"
);
const ROLES_DECLARED_BETWEEN: &str = "SELECT r.incident_id, r.role, r.user_id \
     FROM role_assignments r JOIN incidents i ON i.id = r.incident_id \
     WHERE r.to_at IS NULL AND i.declared_at >= $1 AND i.declared_at < $2 AND i.team_id = $3 \
     ORDER BY r.role";
const FIRST_COORDINATOR_BETWEEN: &str = "SELECT r.incident_id, MIN(r.from_at) \
     FROM role_assignments r JOIN incidents i ON i.id = r.incident_id \
     WHERE r.role = 'coordinator' AND i.declared_at >= $1 AND i.declared_at < $2 \
     AND i.team_id = $3 GROUP BY r.incident_id";
const WITH_KIND_BETWEEN: &str = "SELECT DISTINCT t.incident_id \
     FROM timeline_events t JOIN incidents i ON i.id = t.incident_id \
     WHERE t.kind = $4 AND i.declared_at >= $1 AND i.declared_at < $2 AND i.team_id = $3";
/// The follow-ups of the period's incidents and what became of their tickets, in time order.
const FOLLOWUPS_BETWEEN: &str = "SELECT t.incident_id, t.kind, t.actor, t.at, t.data \
     FROM timeline_events t JOIN incidents i ON i.id = t.incident_id \
     WHERE t.kind IN ('follow_up', 'ticket_opened', 'ticket_changed') \
     AND i.declared_at >= $1 AND i.declared_at < $2 AND i.team_id = $3 \
     ORDER BY t.incident_id, t.at, t.id";

#[derive(sqlx::FromRow)]
struct IncidentEventRow {
    incident_id: i64,
    #[sqlx(flatten)]
    event: EventRow,
}

/// The job queue at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueFigures {
    /// Jobs due now or being retried: Slack work under way.
    pub pending: i64,
    /// Jobs scheduled for later and never attempted (reminders, nudges, the digest).
    pub scheduled: i64,
    /// When the oldest job due now was due; `None` when nothing is due.
    pub oldest_due: Option<DateTime<Utc>>,
}

impl Store {
    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query(PING).execute(&self.pool).await?;
        Ok(())
    }

    /// How many incidents there are in each (status, severity).
    pub async fn incident_counts(&self) -> Result<Vec<(Status, Severity, i64)>, StoreError> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(INCIDENT_COUNTS)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter()
            .map(|(status, severity, n)| {
                let status = Status::parse(&status)
                    .ok_or_else(|| StoreError::Corrupt(format!("status {status:?}")))?;
                let severity = Severity::from_key(&severity)
                    .ok_or_else(|| StoreError::Corrupt(format!("severity {severity:?}")))?;
                Ok((status, severity, n))
            })
            .collect()
    }

    /// The job queue's depth and how late its oldest due job is, at `now`.
    pub async fn queue_figures(&self, now: DateTime<Utc>) -> Result<QueueFigures, StoreError> {
        let (pending, scheduled, oldest): (i64, i64, Option<i64>) = sqlx::query_as(QUEUE)
            .bind(to_ms(now))
            .fetch_one(&self.pool)
            .await?;
        Ok(QueueFigures {
            pending,
            scheduled,
            oldest_due: oldest.map(from_ms).transpose()?,
        })
    }

    /// The incidents declared in `[from, to)`, with their current roles, when each first had a
    /// coordinator, and whether its postmortem was exported.
    pub async fn declared_between(
        &self,
        workspace: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Facts>, StoreError> {
        let (from, to) = (to_ms(from), to_ms(to));
        let rows = sqlx::query_as::<_, IncidentRow>(DECLARED_BETWEEN)
            .bind(from)
            .bind(to)
            .bind(workspace)
            .fetch_all(&self.pool)
            .await?;
        let mut roles: HashMap<i64, Vec<_>> = HashMap::new();
        for r in sqlx::query_as::<_, RoleRow>(ROLES_DECLARED_BETWEEN)
            .bind(from)
            .bind(to)
            .bind(workspace)
            .fetch_all(&self.pool)
            .await?
        {
            let incident = r.incident_id;
            roles.entry(incident).or_default().push(r.into_pair()?);
        }
        let first_coordinator: HashMap<i64, i64> = sqlx::query_as(FIRST_COORDINATOR_BETWEEN)
            .bind(from)
            .bind(to)
            .bind(workspace)
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .collect();
        let exported: Vec<i64> = sqlx::query_scalar(WITH_KIND_BETWEEN)
            .bind(from)
            .bind(to)
            .bind(workspace)
            .bind(POSTMORTEM_EXPORTED)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter()
            .map(|row| {
                let id = row.id;
                let incident = row.into_incident(roles.remove(&id).unwrap_or_default())?;
                Ok(Facts {
                    incident,
                    first_coordinator_at: first_coordinator
                        .get(&id)
                        .copied()
                        .map(from_ms)
                        .transpose()?,
                    postmortem_exported: exported.contains(&id),
                })
            })
            .collect()
    }

    /// The follow-up entries (recorded, filed, closed) of the incidents declared in
    /// `[from, to)`, by incident, oldest first: one query.
    pub async fn followups_declared_between(
        &self,
        workspace: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<HashMap<i64, Vec<TimelineEvent>>, StoreError> {
        let mut out: HashMap<i64, Vec<TimelineEvent>> = HashMap::new();
        for row in sqlx::query_as::<_, IncidentEventRow>(FOLLOWUPS_BETWEEN)
            .bind(to_ms(from))
            .bind(to_ms(to))
            .bind(workspace)
            .fetch_all(&self.pool)
            .await?
        {
            out.entry(row.incident_id)
                .or_default()
                .push(row.event.into_event()?);
        }
        Ok(out)
    }
}
