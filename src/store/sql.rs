//! The SQL both backends run, written once.
//!
//! [`impl_store!`] expands to the whole [`Store`](super::Store) implementation for a store type
//! with a `pool` field; `sqlite.rs` and `postgres.rs` differ only in how they connect, which
//! migrations they embed, and the row lock PostgreSQL takes when claiming jobs. The macro exists
//! because sqlx's executor bounds make a generic-over-`Database` implementation unreadable; every
//! query here is static text with bound parameters.

use serde_json::Value;

use super::{RoleAssignment, StoreError, from_ms};
use crate::domain::{Incident, Role, Severity, Status, TimelineEvent, TimelineKind};

pub(super) const SELECT_INCIDENT: &str = "SELECT id, number, title, severity, status, private, summary, channel_id, \
     channel_name, card_ts, announcement_channel, announcement_ts, declared_by, declared_at \
     FROM incidents WHERE id = $1";

pub(super) const SELECT_OPEN_INCIDENTS: &str = "SELECT id, number, title, severity, status, private, summary, channel_id, \
     channel_name, card_ts, announcement_channel, announcement_ts, declared_by, declared_at \
     FROM incidents WHERE status NOT IN ('resolved', 'declined') ORDER BY number";

/// A row of `incidents`; decodes the same from SQLite and PostgreSQL.
#[derive(sqlx::FromRow)]
pub(super) struct IncidentRow {
    id: i64,
    number: i64,
    title: String,
    severity: String,
    status: String,
    private: bool,
    summary: Option<String>,
    channel_id: Option<String>,
    channel_name: Option<String>,
    card_ts: Option<String>,
    announcement_channel: Option<String>,
    announcement_ts: Option<String>,
    declared_by: String,
    declared_at: i64,
}

impl IncidentRow {
    pub(super) fn id(&self) -> i64 {
        self.id
    }

    pub(super) fn into_incident(self, roles: Vec<(Role, String)>) -> Result<Incident, StoreError> {
        Ok(Incident {
            id: self.id,
            number: self.number,
            severity: Severity::from_key(&self.severity)
                .ok_or_else(|| StoreError::Corrupt(format!("severity {:?}", self.severity)))?,
            status: Status::parse(&self.status)
                .ok_or_else(|| StoreError::Corrupt(format!("status {:?}", self.status)))?,
            title: self.title,
            private: self.private,
            summary: self.summary,
            channel_id: self.channel_id,
            channel_name: self.channel_name,
            card_ts: self.card_ts,
            announcement_channel: self.announcement_channel,
            announcement_ts: self.announcement_ts,
            declared_by: self.declared_by,
            declared_at: from_ms(self.declared_at)?,
            roles,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct RoleRow {
    pub(super) incident_id: i64,
    role: String,
    user_id: String,
}

impl RoleRow {
    pub(super) fn into_pair(self) -> Result<(Role, String), StoreError> {
        let role = Role::parse(&self.role)
            .ok_or_else(|| StoreError::Corrupt(format!("role {:?}", self.role)))?;
        Ok((role, self.user_id))
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct RoleHistoryRow {
    role: String,
    user_id: String,
    assigned_by: Option<String>,
    from_at: i64,
    to_at: Option<i64>,
}

impl RoleHistoryRow {
    pub(super) fn into_assignment(self) -> Result<RoleAssignment, StoreError> {
        Ok(RoleAssignment {
            role: Role::parse(&self.role)
                .ok_or_else(|| StoreError::Corrupt(format!("role {:?}", self.role)))?,
            user_id: self.user_id,
            assigned_by: self.assigned_by,
            from: from_ms(self.from_at)?,
            to: self.to_at.map(from_ms).transpose()?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct EventRow {
    kind: String,
    actor: Option<String>,
    at: i64,
    data: String,
}

impl EventRow {
    pub(super) fn into_event(self) -> Result<TimelineEvent, StoreError> {
        Ok(TimelineEvent {
            kind: TimelineKind::parse(&self.kind)
                .ok_or_else(|| StoreError::Corrupt(format!("timeline kind {:?}", self.kind)))?,
            actor: self.actor,
            at: from_ms(self.at)?,
            data: parse_json(&self.data)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct JobRow {
    pub(super) id: i64,
    pub(super) incident_id: Option<i64>,
    pub(super) kind: String,
    pub(super) payload: String,
    pub(super) attempt: i64,
    pub(super) generation: i64,
}

pub(super) fn parse_json(text: &str) -> Result<Value, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("JSON: {e}")))
}

/// The whole `Store` implementation for `$store` (a struct with `pool: sqlx::Pool<$db>`).
/// `claim_lock` is appended to the job-claim subquery: `FOR UPDATE SKIP LOCKED` on PostgreSQL,
/// empty on SQLite, whose single writer already serialises claims.
macro_rules! impl_store {
    ($store:ty, $db:ty, backend = $backend:literal, claim_lock = $lock:literal) => {
        impl $store {
            async fn load_incident(
                &self,
                id: i64,
            ) -> Result<Option<$crate::domain::Incident>, $crate::store::StoreError> {
                use $crate::store::sql::*;
                let Some(row) = sqlx::query_as::<$db, IncidentRow>(SELECT_INCIDENT)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
                else {
                    return Ok(None);
                };
                let roles = sqlx::query_as::<$db, RoleRow>(
                    "SELECT incident_id, role, user_id FROM role_assignments \
                     WHERE incident_id = $1 AND to_at IS NULL ORDER BY id",
                )
                .bind(id)
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(RoleRow::into_pair)
                .collect::<Result<Vec<_>, _>>()?;
                Ok(Some(row.into_incident(roles)?))
            }

            /// The incident an idempotency key was recorded for, if any.
            async fn key_owner(&self, key: &str) -> Result<Option<i64>, $crate::store::StoreError> {
                let owner = sqlx::query_scalar::<$db, Option<i64>>(
                    "SELECT incident_id FROM idempotency_keys WHERE key = $1",
                )
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
                Ok(owner.flatten())
            }

            async fn existing(
                &self,
                id: i64,
            ) -> Result<$crate::store::Declared, $crate::store::StoreError> {
                let incident = self.load_incident(id).await?.ok_or_else(|| {
                    $crate::store::StoreError::Corrupt(format!("idempotency key names missing incident {id}"))
                })?;
                Ok($crate::store::Declared::Existing(incident))
            }

            async fn insert_job(
                tx: &mut sqlx::Transaction<'static, $db>,
                incident_id: Option<i64>,
                job: &$crate::store::NewJob,
                now_ms: i64,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query::<$db>(
                    "INSERT INTO jobs (incident_id, kind, key, payload, run_at, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT DO NOTHING",
                )
                .bind(incident_id)
                .bind(job.kind.as_str())
                .bind(job.key.as_deref())
                .bind(job.payload.to_string())
                .bind($crate::store::to_ms(job.run_at))
                .bind(now_ms)
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            async fn insert_event(
                tx: &mut sqlx::Transaction<'static, $db>,
                incident_id: i64,
                event: &$crate::store::NewEvent,
                at_ms: i64,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query::<$db>(
                    "INSERT INTO timeline_events (incident_id, kind, actor, at, data) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(incident_id)
                .bind(event.kind.as_str())
                .bind(event.actor.as_deref())
                .bind(at_ms)
                .bind(event.data.to_string())
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            /// Ends `job`'s run: sets its final `state` and `last_error`, releases the lease and
            /// applies `outcome`, in one transaction fenced on the lease and the generation.
            /// `false`: the lease was lost (or the job re-armed); nothing was written.
            async fn finish(
                &self,
                job: &$crate::store::Job,
                state: &'static str,
                error: Option<&str>,
                outcome: &$crate::store::Outcome,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<bool, $crate::store::StoreError> {
                let now_ms = $crate::store::to_ms(now);
                let mut tx = self.pool.begin().await?;
                let fenced = sqlx::query::<$db>(
                    "UPDATE jobs SET state = $5, lease_owner = NULL, lease_until = NULL, last_error = $6, \
                     updated_at = $3 WHERE id = $1 AND lease_owner = $2 AND generation = $4 AND state = 'pending'",
                )
                .bind(job.id)
                .bind(job.lease_owner.as_str())
                .bind(now_ms)
                .bind(job.generation)
                .bind(state)
                .bind(error)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if fenced == 0 {
                    tx.rollback().await?;
                    return Ok(false);
                }
                Self::apply(&mut tx, job.incident_id, outcome, now_ms).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn apply(
                tx: &mut sqlx::Transaction<'static, $db>,
                incident_id: Option<i64>,
                outcome: &$crate::store::Outcome,
                now_ms: i64,
            ) -> Result<(), $crate::store::StoreError> {
                use $crate::store::IncidentChange;
                if let (Some(id), Some(change)) = (incident_id, &outcome.change) {
                    match change {
                        IncidentChange::Channel { id: channel, name } => {
                            sqlx::query::<$db>(
                                "UPDATE incidents SET channel_id = $2, channel_name = $3, updated_at = $4 WHERE id = $1",
                            )
                            .bind(id)
                            .bind(channel.as_str())
                            .bind(name.as_str())
                            .bind(now_ms)
                            .execute(&mut **tx)
                            .await?;
                        }
                        IncidentChange::CardPosted { ts } => {
                            sqlx::query::<$db>("UPDATE incidents SET card_ts = $2, updated_at = $3 WHERE id = $1")
                                .bind(id)
                                .bind(ts.as_str())
                                .bind(now_ms)
                                .execute(&mut **tx)
                                .await?;
                        }
                        IncidentChange::Announced { channel, ts } => {
                            sqlx::query::<$db>(
                                "UPDATE incidents SET announcement_channel = $2, announcement_ts = $3, updated_at = $4 \
                                 WHERE id = $1",
                            )
                            .bind(id)
                            .bind(channel.as_str())
                            .bind(ts.as_str())
                            .bind(now_ms)
                            .execute(&mut **tx)
                            .await?;
                        }
                    }
                }
                if let Some(id) = incident_id {
                    for event in &outcome.events {
                        Self::insert_event(tx, id, event, now_ms).await?;
                    }
                }
                for job in &outcome.follow_ups {
                    Self::insert_job(tx, incident_id, job, now_ms).await?;
                }
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::Store for $store {
            fn backend(&self) -> &'static str {
                $backend
            }

            async fn declare(
                &self,
                d: $crate::store::Declaration,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<$crate::store::Declared, $crate::store::StoreError> {
                use $crate::store::{Declared, NewEvent, to_ms};
                let now_ms = to_ms(now);
                // Fast path for redeliveries: no transaction, no counter lock. The guarantee is
                // the unique key inserted below, which catches whatever slips past this read.
                if let Some(id) = self.key_owner(&d.key).await? {
                    return self.existing(id).await;
                }
                let mut tx = self.pool.begin().await?;
                // Locks the counter row: concurrent declarations (other replicas too) queue here,
                // so the duplicate check below sees every declaration committed before ours.
                let number = sqlx::query_scalar::<$db, i64>(
                    "UPDATE counters SET value = value + 1 WHERE name = 'incident_number' RETURNING value",
                )
                .fetch_one(&mut *tx)
                .await?;
                let inc = &d.incident;
                let window_ms = i64::try_from(d.duplicate_window.as_millis()).unwrap_or(i64::MAX);
                let recent = sqlx::query_scalar::<$db, i64>(
                    "SELECT id FROM incidents WHERE declared_by = $1 AND lower(title) = lower($2) \
                     AND severity = $3 AND declared_at >= $4 AND status NOT IN ('resolved', 'declined') \
                     ORDER BY id DESC LIMIT 1",
                )
                .bind(inc.declared_by.as_str())
                .bind(inc.title.as_str())
                .bind(inc.severity.as_key())
                .bind(to_ms(inc.declared_at).saturating_sub(window_ms))
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(id) = recent {
                    tx.rollback().await?;
                    return self.existing(id).await;
                }
                let id = sqlx::query_scalar::<$db, i64>(
                    "INSERT INTO incidents (number, title, severity, status, private, summary, declared_by, \
                     declared_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                )
                .bind(number)
                .bind(inc.title.as_str())
                .bind(inc.severity.as_key())
                .bind(inc.status.as_str())
                .bind(inc.private)
                .bind(inc.summary.as_deref())
                .bind(inc.declared_by.as_str())
                .bind(to_ms(inc.declared_at))
                .bind(now_ms)
                .fetch_one(&mut *tx)
                .await?;
                for (role, user) in &inc.roles {
                    sqlx::query::<$db>(
                        "INSERT INTO role_assignments (incident_id, role, user_id, assigned_by, from_at) \
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(id)
                    .bind(role.as_str())
                    .bind(user.as_str())
                    .bind(Some(inc.declared_by.as_str()))
                    .bind(to_ms(inc.declared_at))
                    .execute(&mut *tx)
                    .await?;
                }
                let roles: serde_json::Map<String, serde_json::Value> = inc
                    .roles
                    .iter()
                    .map(|(r, u)| (r.as_str().to_string(), serde_json::Value::from(u.as_str())))
                    .collect();
                let declared = NewEvent {
                    kind: $crate::domain::TimelineKind::Declared,
                    actor: Some(inc.declared_by.clone()),
                    data: serde_json::json!({
                        "title": inc.title,
                        "severity": inc.severity.as_key(),
                        "status": inc.status.as_str(),
                        "private": inc.private,
                        "roles": roles,
                    }),
                };
                Self::insert_event(&mut tx, id, &declared, to_ms(inc.declared_at)).await?;
                let fresh = sqlx::query::<$db>(
                    "INSERT INTO idempotency_keys (key, incident_id, created_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (key) DO NOTHING",
                )
                .bind(d.key.as_str())
                .bind(id)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if fresh == 0 {
                    // Another process recorded the same payload between our first look and now.
                    tx.rollback().await?;
                    let other = self.key_owner(&d.key).await?.ok_or_else(|| {
                        $crate::store::StoreError::Corrupt("key without incident".into())
                    })?;
                    return self.existing(other).await;
                }
                for job in &d.jobs {
                    Self::insert_job(&mut tx, Some(id), job, now_ms).await?;
                }
                tx.commit().await?;
                Ok(Declared::New(d.incident.stored(id, number)))
            }

            async fn incident(
                &self,
                id: i64,
            ) -> Result<Option<$crate::domain::Incident>, $crate::store::StoreError> {
                self.load_incident(id).await
            }

            async fn open_incidents(
                &self,
            ) -> Result<Vec<$crate::domain::Incident>, $crate::store::StoreError> {
                use $crate::store::sql::*;
                let rows = sqlx::query_as::<$db, IncidentRow>(SELECT_OPEN_INCIDENTS)
                    .fetch_all(&self.pool)
                    .await?;
                let role_rows = sqlx::query_as::<$db, RoleRow>(
                    "SELECT r.incident_id, r.role, r.user_id FROM role_assignments r \
                     JOIN incidents i ON i.id = r.incident_id \
                     WHERE r.to_at IS NULL AND i.status NOT IN ('resolved', 'declined') ORDER BY r.id",
                )
                .fetch_all(&self.pool)
                .await?;
                let mut roles: std::collections::HashMap<i64, Vec<(_, String)>> = Default::default();
                for r in role_rows {
                    let incident = r.incident_id;
                    roles.entry(incident).or_default().push(r.into_pair()?);
                }
                rows.into_iter()
                    .map(|row| {
                        let held = roles.remove(&row.id()).unwrap_or_default();
                        row.into_incident(held)
                    })
                    .collect()
            }

            async fn timeline(
                &self,
                id: i64,
            ) -> Result<Vec<$crate::domain::TimelineEvent>, $crate::store::StoreError> {
                use $crate::store::sql::*;
                sqlx::query_as::<$db, EventRow>(
                    "SELECT kind, actor, at, data FROM timeline_events WHERE incident_id = $1 ORDER BY at, id",
                )
                .bind(id)
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(EventRow::into_event)
                .collect()
            }

            async fn role_history(
                &self,
                id: i64,
            ) -> Result<Vec<$crate::store::RoleAssignment>, $crate::store::StoreError> {
                use $crate::store::sql::*;
                sqlx::query_as::<$db, RoleHistoryRow>(
                    "SELECT role, user_id, assigned_by, from_at, to_at FROM role_assignments \
                     WHERE incident_id = $1 ORDER BY from_at, id",
                )
                .bind(id)
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(RoleHistoryRow::into_assignment)
                .collect()
            }

            async fn note_channel_attempt(
                &self,
                id: i64,
                name: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query::<$db>(
                    "UPDATE incidents SET channel_name = $2, updated_at = $3 WHERE id = $1 AND channel_id IS NULL",
                )
                .bind(id)
                .bind(name)
                .bind($crate::store::to_ms(now))
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn incident_for_channel(
                &self,
                channel_id: &str,
            ) -> Result<Option<i64>, $crate::store::StoreError> {
                Ok(sqlx::query_scalar::<$db, i64>("SELECT id FROM incidents WHERE channel_id = $1")
                    .bind(channel_id)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn claim_jobs(
                &self,
                owner: &str,
                now: chrono::DateTime<chrono::Utc>,
                lease: std::time::Duration,
                limit: i64,
            ) -> Result<Vec<$crate::store::Job>, $crate::store::StoreError> {
                use $crate::store::sql::*;
                let now_ms = $crate::store::to_ms(now);
                let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
                let rows = sqlx::query_as::<$db, JobRow>(concat!(
                    "UPDATE jobs SET lease_owner = $1, lease_until = $2, attempt = attempt + 1, updated_at = $3 \
                     WHERE id IN (SELECT id FROM jobs WHERE state = 'pending' AND run_at <= $3 \
                     AND (lease_until IS NULL OR lease_until < $3) ORDER BY run_at, id LIMIT $4 ",
                    $lock,
                    ") RETURNING id, incident_id, kind, payload, attempt, generation"
                ))
                .bind(owner)
                .bind(now_ms.saturating_add(lease_ms))
                .bind(now_ms)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                let mut jobs = rows
                    .into_iter()
                    .map(|r| {
                        Ok($crate::store::Job {
                            id: r.id,
                            incident_id: r.incident_id,
                            payload: parse_json(&r.payload)?,
                            kind: r.kind,
                            attempt: r.attempt,
                            generation: r.generation,
                            lease_owner: owner.to_string(),
                        })
                    })
                    .collect::<Result<Vec<_>, $crate::store::StoreError>>()?;
                jobs.sort_by_key(|j| j.id);
                Ok(jobs)
            }

            async fn complete_job(
                &self,
                job: &$crate::store::Job,
                outcome: $crate::store::Outcome,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<bool, $crate::store::StoreError> {
                self.finish(job, "done", None, &outcome, now).await
            }

            async fn retry_job(
                &self,
                job: &$crate::store::Job,
                run_at: chrono::DateTime<chrono::Utc>,
                error: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<bool, $crate::store::StoreError> {
                let n = sqlx::query::<$db>(
                    "UPDATE jobs SET run_at = $3, lease_owner = NULL, lease_until = NULL, last_error = $4, \
                     updated_at = $5 WHERE id = $1 AND lease_owner = $2 AND generation = $6 AND state = 'pending'",
                )
                .bind(job.id)
                .bind(job.lease_owner.as_str())
                .bind($crate::store::to_ms(run_at))
                .bind(error)
                .bind($crate::store::to_ms(now))
                .bind(job.generation)
                .execute(&self.pool)
                .await?
                .rows_affected();
                Ok(n == 1)
            }

            async fn fail_job(
                &self,
                job: &$crate::store::Job,
                error: &str,
                outcome: $crate::store::Outcome,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<bool, $crate::store::StoreError> {
                self.finish(job, "failed", Some(error), &outcome, now).await
            }

            async fn job_counts(&self) -> Result<$crate::store::JobCounts, $crate::store::StoreError> {
                let rows = sqlx::query_as::<$db, (String, i64)>(
                    "SELECT state, COUNT(*) FROM jobs GROUP BY state",
                )
                .fetch_all(&self.pool)
                .await?;
                let mut counts = $crate::store::JobCounts::default();
                for (state, n) in rows {
                    match state.as_str() {
                        "pending" => counts.pending = n,
                        "done" => counts.done = n,
                        "failed" => counts.failed = n,
                        other => {
                            return Err($crate::store::StoreError::Corrupt(format!("job state {other:?}")));
                        }
                    }
                }
                Ok(counts)
            }
        }
    };
}

pub(super) use impl_store;
