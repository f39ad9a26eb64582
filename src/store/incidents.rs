//! The incident aggregate: declaring (number, roles, first timeline entry, idempotency key and
//! first job in one transaction), recording a decided change against the version it was decided
//! on, and the lookups handlers and jobs need.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::rows::{IncidentRow, RoleRow, cadence_ms, select_incidents};
use super::{
    ChangeRecord, Declaration, Declared, Recorded, Store, StoreError, Tx, duration_ms, jobs,
    timeline, to_ms,
};
use crate::domain::cause::Cause;
use crate::domain::change::RoleChange;
use crate::domain::timeline::POSTMORTEM_EXPORTED;
use crate::domain::{Incident, IncidentId, NewIncident};

/// The row every declaration locks first, in any workspace (it serialises declarations and
/// alerts across replicas): its value numbers the hidden, globally unique `number` column.
pub(super) const NEXT_NUMBER: &str =
    "UPDATE counters SET value = value + 1 WHERE name = 'incident_number' RETURNING value";
/// A workspace's own counter (`incident_number:<workspace>`; the deployment's own workspace's
/// is `incident_number:`, carried over by migration 0010), created at its first declaration.
const ENSURE_WORKSPACE_COUNTER: &str =
    "INSERT INTO counters (name, value) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING";
const NEXT_WORKSPACE_NUMBER: &str =
    "UPDATE counters SET value = value + 1 WHERE name = $1 RETURNING value";
const WORKSPACE_OF: &str = "SELECT team_id FROM incidents WHERE id = $1";
const RECENT_SAME_DECLARATION: &str = "SELECT id FROM incidents WHERE declared_by = $1 \
     AND lower(title) = lower($2) AND severity = $3 AND declared_at >= $4 \
     AND status NOT IN ('resolved', 'declined') AND team_id = $5 ORDER BY id DESC LIMIT 1";
const INSERT_INCIDENT: &str = "INSERT INTO incidents (number, title, severity, status, private, \
     summary, declared_by, declared_at, last_update_at, updated_at, impact, source_channel, \
     source_ts, source_link, alert_key, drill, impact_started_at, team_id, team_number) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
     RETURNING id";
const BY_SOURCE: &str = "SELECT id FROM incidents WHERE source_channel = $1 AND source_ts = $2";
const KEY_OWNER: &str = "SELECT incident_id FROM idempotency_keys WHERE key = $1";
/// A change is stored only against the version it was decided on.
const UPDATE_INCIDENT: &str = "UPDATE incidents SET status = $3, severity = $4, summary = $5, \
     last_update_at = $6, resolved_at = $7, version = version + 1, updated_at = $8, \
     reminder_ms = $9, snoozed_until = $10, postmortem_owner = $11, postmortem_due_at = $12, \
     postmortem_done_at = $13, postmortem_link = $14, archived_at = $15, keep_channel = $16, \
     duplicate_of = $17, impact = $18, impact_started_at = $19, impact_ended_at = $20 \
     WHERE id = $1 AND version = $2";
const ROLES_OF: &str = "SELECT incident_id, role, user_id FROM role_assignments \
     WHERE incident_id = $1 AND to_at IS NULL ORDER BY role";
const ROLES_OF_OPEN: &str = "SELECT r.incident_id, r.role, r.user_id FROM role_assignments r \
     JOIN incidents i ON i.id = r.incident_id \
     WHERE r.to_at IS NULL AND i.status NOT IN ('resolved', 'declined') \
     AND ($1 = 0 OR i.team_id = $2) ORDER BY r.role";
const NOTE_CHANNEL_ATTEMPT: &str = "UPDATE incidents SET channel_name = $2, updated_at = $3 \
     WHERE id = $1 AND channel_id IS NULL";

impl Store {
    /// Records a declaration with its roles, `declared` timeline entry, idempotency key and jobs,
    /// in one transaction; idempotent on the key and on a repeated identical declaration.
    pub async fn declare(
        &self,
        d: Declaration,
        now: DateTime<Utc>,
    ) -> Result<Declared, StoreError> {
        // Fast path for redeliveries: no transaction, no counter lock. The guarantee is the
        // unique key inserted below, which catches whatever slips past this read.
        if let Some(id) = self.key_owner(&d.key).await? {
            return self.existing(id).await;
        }
        let mut tx = self.pool.begin().await?;
        // Locks the counter row: concurrent declarations (other replicas too) queue here, so the
        // duplicate check below sees every declaration committed before ours.
        let numbers = next_numbers(&mut tx, &d.workspace).await?;
        let inc = &d.incident;
        let recent: Option<i64> = sqlx::query_scalar(RECENT_SAME_DECLARATION)
            .bind(inc.declared_by.as_str())
            .bind(inc.title.as_str())
            .bind(inc.severity.as_key())
            .bind(to_ms(inc.declared_at).saturating_sub(duration_ms(d.duplicate_window)))
            .bind(d.workspace.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(id) = recent {
            tx.rollback().await?;
            return self.existing(id).await;
        }
        // One message yields one incident (two people submitting the shortcut's modal at once).
        if let Some(source) = &inc.source {
            let first: Option<i64> = sqlx::query_scalar(BY_SOURCE)
                .bind(source.channel.as_str())
                .bind(source.ts.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(id) = first {
                tx.rollback().await?;
                return self.existing(id).await;
            }
        }
        let by = Some(inc.declared_by.as_str());
        let id = insert_new(&mut tx, &numbers, inc, None, by, now).await?;
        if !super::insert_key(&mut tx, &d.key, id, now).await? {
            // Another process recorded the same payload between our first look and now.
            tx.rollback().await?;
            let other = self
                .key_owner(&d.key)
                .await?
                .ok_or_else(|| StoreError::Corrupt("key without incident".into()))?;
            return self.existing(other).await;
        }
        for job in &d.jobs {
            jobs::insert_for_new(&mut tx, id, job, now).await?;
        }
        tx.commit().await?;
        Ok(Declared::New(d.incident.stored(id, numbers.number)))
    }

    /// The workspace `incident` belongs to (`""`: the deployment's own, also for an incident
    /// that does not exist: the step that loads it says so).
    pub async fn workspace_of(&self, incident: IncidentId) -> Result<String, StoreError> {
        let workspace: Option<String> = sqlx::query_scalar(WORKSPACE_OF)
            .bind(incident)
            .fetch_optional(&self.pool)
            .await?;
        Ok(workspace.unwrap_or_default())
    }

    /// Records a decided change in one transaction: the idempotency key, the incident's new
    /// state (only if its version is still the one the change was decided on), the role
    /// stretches, the timeline entries and the jobs.
    pub async fn record(
        &self,
        change: ChangeRecord,
        now: DateTime<Utc>,
    ) -> Result<Recorded, StoreError> {
        let inc = &change.incident;
        let mut tx = self.pool.begin().await?;
        if !super::insert_key(&mut tx, &change.key, inc.id, now).await? {
            tx.rollback().await?;
            return Ok(Recorded::Duplicate);
        }
        let updated = sqlx::query(UPDATE_INCIDENT)
            .bind(inc.id)
            .bind(inc.version)
            .bind(inc.status.as_str())
            .bind(inc.severity.as_key())
            .bind(inc.summary.as_deref())
            .bind(to_ms(inc.last_update_at))
            .bind(inc.resolved_at.map(to_ms))
            .bind(to_ms(now))
            .bind(cadence_ms(inc.cadence))
            .bind(inc.snoozed_until.map(to_ms))
            .bind(inc.postmortem.owner.as_deref())
            .bind(inc.postmortem.due_at.map(to_ms))
            .bind(inc.postmortem.done_at.map(to_ms))
            .bind(inc.postmortem.link.as_deref())
            .bind(inc.archived_at.map(to_ms))
            .bind(inc.keep_channel)
            .bind(inc.duplicate_of)
            .bind(inc.impact.as_deref())
            .bind(inc.impact_started_at.map(to_ms))
            .bind(inc.impact_ended_at.map(to_ms))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if updated == 0 {
            tx.rollback().await?;
            return Ok(Recorded::Conflict);
        }
        let actor = Some(change.actor.as_str());
        for role in &change.roles {
            timeline::change_role(&mut tx, inc.id, role, actor, now).await?;
        }
        for entry in &change.entries {
            timeline::insert_event(&mut tx, inc.id, entry, actor, now).await?;
        }
        for job in &change.jobs {
            jobs::insert(&mut tx, Some(inc.id), job, now).await?;
        }
        for key in &change.cancel {
            jobs::cancel(&mut tx, key, now).await?;
        }
        for r in &change.refs {
            super::refs::upsert(&mut tx, r, now).await?;
        }
        tx.commit().await?;
        Ok(Recorded::Applied)
    }

    pub async fn incident(&self, id: IncidentId) -> Result<Option<Incident>, StoreError> {
        let row = sqlx::query_as::<_, IncidentRow>(select_incidents!("WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        self.with_roles(row).await
    }

    /// The incident whose channel this is, if any.
    pub async fn incident_by_channel(
        &self,
        channel_id: &str,
    ) -> Result<Option<Incident>, StoreError> {
        let row = sqlx::query_as::<_, IncidentRow>(select_incidents!("WHERE channel_id = $1"))
            .bind(channel_id)
            .fetch_optional(&self.pool)
            .await?;
        self.with_roles(row).await
    }

    /// The incident declared from the message `ts` in `channel`, if any.
    pub async fn incident_by_source(
        &self,
        channel: &str,
        ts: &str,
    ) -> Result<Option<Incident>, StoreError> {
        let row = sqlx::query_as::<_, IncidentRow>(select_incidents!(
            "WHERE source_channel = $1 AND source_ts = $2"
        ))
        .bind(channel)
        .bind(ts)
        .fetch_optional(&self.pool)
        .await?;
        self.with_roles(row).await
    }

    /// `workspace`'s incidents resolved since `since` whose postmortem draft was never
    /// exported, by number.
    pub async fn awaiting_postmortem(
        &self,
        workspace: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<Incident>, StoreError> {
        // Roles are left out: a resolved incident's are over, and the digest does not list them.
        sqlx::query_as::<_, IncidentRow>(select_incidents!(
            "WHERE status = 'resolved' AND resolved_at >= $1 AND NOT EXISTS (SELECT 1 FROM \
             timeline_events t WHERE t.incident_id = incidents.id AND t.kind = $2) \
             AND team_id = $3 ORDER BY team_number"
        ))
        .bind(to_ms(since))
        .bind(POSTMORTEM_EXPORTED)
        .bind(workspace)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|row| row.into_incident(Vec::new()))
        .collect()
    }

    /// `workspace`'s incidents resolved in `[from, to)` that have follow-ups, by number (the
    /// digest looks for the overdue ones among them).
    pub async fn resolved_with_followups(
        &self,
        workspace: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Incident>, StoreError> {
        sqlx::query_as::<_, IncidentRow>(select_incidents!(
            "WHERE status = 'resolved' AND resolved_at >= $1 AND resolved_at < $2 AND EXISTS \
             (SELECT 1 FROM timeline_events t WHERE t.incident_id = incidents.id \
             AND t.kind = 'follow_up') AND team_id = $3 ORDER BY team_number"
        ))
        .bind(to_ms(from))
        .bind(to_ms(to))
        .bind(workspace)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|row| row.into_incident(Vec::new()))
        .collect()
    }

    /// Incidents not resolved or declined, in every workspace (the reminders armed at startup),
    /// by workspace and number.
    pub async fn open_incidents(&self) -> Result<Vec<Incident>, StoreError> {
        self.open(None).await
    }

    /// `workspace`'s incidents not resolved or declined, by number.
    pub async fn open_incidents_in(&self, workspace: &str) -> Result<Vec<Incident>, StoreError> {
        self.open(Some(workspace)).await
    }

    async fn open(&self, workspace: Option<&str>) -> Result<Vec<Incident>, StoreError> {
        // `$1 IS NULL` would leave PostgreSQL unsure of the parameter's type: a flag instead.
        let rows = sqlx::query_as::<_, IncidentRow>(select_incidents!(
            "WHERE status NOT IN ('resolved', 'declined') AND ($1 = 0 OR team_id = $2) \
             ORDER BY team_id, team_number"
        ))
        .bind(i64::from(workspace.is_some()))
        .bind(workspace.unwrap_or_default())
        .fetch_all(&self.pool)
        .await?;
        let mut roles: HashMap<i64, Vec<_>> = HashMap::new();
        for r in sqlx::query_as::<_, RoleRow>(ROLES_OF_OPEN)
            .bind(i64::from(workspace.is_some()))
            .bind(workspace.unwrap_or_default())
            .fetch_all(&self.pool)
            .await?
        {
            let incident = r.incident_id;
            roles.entry(incident).or_default().push(r.into_pair()?);
        }
        rows.into_iter()
            .map(|row| {
                let held = roles.remove(&row.id).unwrap_or_default();
                row.into_incident(held)
            })
            .collect()
    }

    /// Remembers the channel name about to be requested from Slack, so that a retry after a
    /// crash knows the name may already be its own.
    pub async fn note_channel_attempt(
        &self,
        id: IncidentId,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(NOTE_CHANNEL_ATTEMPT)
            .bind(id)
            .bind(name)
            .bind(to_ms(now))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub(super) async fn with_roles(
        &self,
        row: Option<IncidentRow>,
    ) -> Result<Option<Incident>, StoreError> {
        let Some(row) = row else {
            return Ok(None);
        };
        let roles = sqlx::query_as::<_, RoleRow>(ROLES_OF)
            .bind(row.id)
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(RoleRow::into_pair)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(row.into_incident(roles)?))
    }

    /// The incident an idempotency key was recorded for, if any.
    async fn key_owner(&self, key: &Cause) -> Result<Option<i64>, StoreError> {
        let owner: Option<Option<i64>> = sqlx::query_scalar(KEY_OWNER)
            .bind(key.key())
            .fetch_optional(&self.pool)
            .await?;
        Ok(owner.flatten())
    }

    async fn existing(&self, id: i64) -> Result<Declared, StoreError> {
        let incident = self.incident(id).await?.ok_or_else(|| {
            StoreError::Corrupt(format!("idempotency key names missing incident {id}"))
        })?;
        Ok(Declared::Existing(incident))
    }
}

/// A new incident's numbers: `number`, shown as `INC-<number>`, counted in its workspace; `row`,
/// the hidden `number` column's globally unique value; and the workspace itself.
pub(super) struct Numbers {
    pub number: i64,
    row: i64,
    workspace: String,
}

/// Takes the next numbers for an incident of `workspace`, locking the declarations' row first.
pub(super) async fn next_numbers(tx: &mut Tx, workspace: &str) -> Result<Numbers, StoreError> {
    let row: i64 = sqlx::query_scalar(NEXT_NUMBER).fetch_one(&mut **tx).await?;
    let counter = format!("incident_number:{workspace}");
    sqlx::query(ENSURE_WORKSPACE_COUNTER)
        .bind(counter.as_str())
        .execute(&mut **tx)
        .await?;
    let number: i64 = sqlx::query_scalar(NEXT_WORKSPACE_NUMBER)
        .bind(counter.as_str())
        .fetch_one(&mut **tx)
        .await?;
    Ok(Numbers {
        number,
        row,
        workspace: workspace.to_string(),
    })
}

/// Inserts the new incident numbered `numbers`: its row (with the `alert_key` of the alert that
/// opened it, if one did), its first role holders and its opening timeline entries, recorded
/// as `by`'s doing (`None`: the bot's, for an alert).
pub(super) async fn insert_new(
    tx: &mut Tx,
    numbers: &Numbers,
    inc: &NewIncident,
    alert_key: Option<&str>,
    by: Option<&str>,
    now: DateTime<Utc>,
) -> Result<IncidentId, StoreError> {
    let id: i64 = sqlx::query_scalar(INSERT_INCIDENT)
        .bind(numbers.row)
        .bind(inc.title.as_str())
        .bind(inc.severity.as_key())
        .bind(inc.status.as_str())
        .bind(inc.private)
        .bind(inc.summary.as_deref())
        .bind(inc.declared_by.as_str())
        .bind(to_ms(inc.declared_at))
        .bind(to_ms(now))
        .bind(inc.impact.as_deref())
        .bind(inc.source.as_ref().map(|s| s.channel.as_str()))
        .bind(inc.source.as_ref().map(|s| s.ts.as_str()))
        .bind(inc.source.as_ref().and_then(|s| s.permalink.as_deref()))
        .bind(alert_key)
        .bind(inc.drill)
        .bind(inc.impact_started_at.map(to_ms))
        .bind(numbers.workspace.as_str())
        .bind(numbers.number)
        .fetch_one(&mut **tx)
        .await?;
    for (role, user) in &inc.roles {
        let change = RoleChange {
            role: *role,
            from: None,
            to: Some(user.clone()),
        };
        timeline::change_role(tx, id, &change, by, inc.declared_at).await?;
    }
    for entry in inc.opening_entries() {
        timeline::insert_event(tx, id, &entry, by, inc.declared_at).await?;
    }
    Ok(id)
}
