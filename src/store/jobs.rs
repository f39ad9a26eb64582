//! The durable job queue: every Slack side effect is a row, claimed with a lease by one worker
//! at a time (replica-safe), and finished in the same transaction that applies what it achieved.
//!
//! Three fences keep it correct with any number of workers:
//! - **the lease** (`lease_owner`, `lease_until`): only the worker holding it may record anything
//!   about the job; an expired lease is taken over;
//! - **the generation**: bumped whenever a pending job is re-armed (a newer change asked for the
//!   same work). A job re-armed while it ran records the facts it learned from Slack, but stays
//!   pending and runs again — so "bring the card up to date" always ends with the latest state;
//! - **the lane**: only the oldest pending job of a lane may run, and a lane rests
//!   [`LANE_SPACING`] after each job — posts to one channel keep the order of the commands that
//!   caused them and Slack's pace of about one message a second per channel.
//!
//! On PostgreSQL claims take `FOR UPDATE SKIP LOCKED`, so replicas never lease the same job at
//! once; SQLite has one writer, which serialises claims by itself.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::rows::{JobRow, parse_json};
use super::{
    Backend, Dedupe, Finished, Job, JobCounts, NewJob, Outcome, Store, StoreError, Tx, duration_ms,
    timeline, to_ms,
};
use crate::domain::IncidentId;
use crate::domain::cause::{Cause, JobKey};

/// How long a lane rests after one of its jobs completes.
pub const LANE_SPACING: Duration = Duration::from_secs(1);

const INSERT_KEEP: &str = "INSERT INTO jobs (incident_id, kind, key, lane, payload, run_at, \
     created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
     ON CONFLICT (key) WHERE state = 'pending' DO NOTHING";
/// Once for good: not if any job, in any state, had the key (`jobs_key` finds it).
const INSERT_ONCE: &str = "INSERT INTO jobs (incident_id, kind, key, lane, payload, run_at, \
     created_at, updated_at) SELECT $1, $2, $3, $4, $5, $6, $7, $7 \
     WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE key = $3) \
     ON CONFLICT (key) WHERE state = 'pending' DO NOTHING";
/// Re-arming for a rerun leaves `run_at` alone: a waiting job runs at its time with the state of
/// then, a running one is released to run again as soon as it finishes.
const INSERT_RERUN: &str = "INSERT INTO jobs (incident_id, kind, key, lane, payload, run_at, \
     created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
     ON CONFLICT (key) WHERE state = 'pending' DO UPDATE SET \
     generation = jobs.generation + 1, payload = excluded.payload, updated_at = excluded.updated_at";
const INSERT_REPLACE: &str = "INSERT INTO jobs (incident_id, kind, key, lane, payload, run_at, \
     created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
     ON CONFLICT (key) WHERE state = 'pending' DO UPDATE SET \
     generation = jobs.generation + 1, payload = excluded.payload, run_at = excluded.run_at, \
     attempt = 0, updated_at = excluded.updated_at";

/// Due, unleased (or lease expired), and — for a lane — the lane's oldest pending job with the
/// lane rested. `$3` is now.
macro_rules! claim {
    ($lock:literal) => {
        concat!(
            "UPDATE jobs SET lease_owner = $1, lease_until = $2, attempt = attempt + 1, ",
            "updated_at = $3 WHERE id IN (SELECT j.id FROM jobs j WHERE j.state = 'pending' ",
            "AND j.run_at <= $3 AND (j.lease_until IS NULL OR j.lease_until < $3) ",
            "AND (j.lane IS NULL OR (",
            "NOT EXISTS (SELECT 1 FROM jobs e WHERE e.lane = j.lane AND e.state = 'pending' ",
            "AND e.id < j.id) ",
            "AND NOT EXISTS (SELECT 1 FROM lanes l WHERE l.name = j.lane AND l.free_at > $3))) ",
            "ORDER BY j.run_at, j.id LIMIT $4 ",
            $lock,
            ") RETURNING id, incident_id, kind, key, payload, attempt, generation, lane"
        )
    };
}
const CLAIM_SQLITE: &str = claim!("");
const CLAIM_POSTGRES: &str = claim!("FOR UPDATE SKIP LOCKED");

/// Releases the lease; the job becomes `$4` only if nobody re-armed (or cancelled) it meanwhile.
const FINISH: &str = "UPDATE jobs SET \
     state = CASE WHEN state = 'pending' AND generation = $3 THEN $4 ELSE state END, \
     lease_owner = NULL, lease_until = NULL, last_error = $5, updated_at = $6 \
     WHERE id = $1 AND lease_owner = $2 RETURNING state";
/// A job that runs again later: back to pending at `$4`, its attempts forgotten — unless it was
/// re-armed (or cancelled) meanwhile.
const RESCHEDULE: &str = "UPDATE jobs SET \
     run_at = CASE WHEN state = 'pending' AND generation = $3 THEN $4 ELSE run_at END, \
     attempt = CASE WHEN state = 'pending' AND generation = $3 THEN 0 ELSE attempt END, \
     lease_owner = NULL, lease_until = NULL, last_error = NULL, updated_at = $5 \
     WHERE id = $1 AND lease_owner = $2 RETURNING generation";
const CANCEL: &str = "UPDATE jobs SET state = 'cancelled', generation = generation + 1, \
     updated_at = $2 WHERE key = $1 AND state = 'pending'";
const CURRENT: &str = "SELECT COUNT(*) FROM jobs WHERE id = $1 AND lease_owner = $2 \
     AND generation = $3 AND state = 'pending'";
const RENEW: &str = "UPDATE jobs SET lease_until = $2 WHERE lease_owner = $1 AND state = 'pending'";
const RELEASE_ALL: &str = "UPDATE jobs SET lease_owner = NULL, lease_until = NULL \
     WHERE state = 'pending' AND lease_owner IS NOT NULL";
/// When the earliest job a claim could take will be claimable: unleased, a lane's head, and its
/// lane rested — the same conditions as the claim, so a worker sleeping until then never spins.
/// Cheap at any queue length: the earliest lane-less job is the first match in `jobs_due`'s
/// order, and only jobs waiting in lanes (posts, a few at a time) are looked at one by one.
const NEXT_DUE: &str = "SELECT MIN(t) FROM (\
     SELECT t FROM (SELECT run_at AS t FROM jobs WHERE state = 'pending' AND lane IS NULL \
     AND lease_until IS NULL ORDER BY run_at LIMIT 1) AS free_jobs \
     UNION ALL \
     SELECT CASE WHEN l.free_at > j.run_at THEN l.free_at ELSE j.run_at END AS t \
     FROM jobs j LEFT JOIN lanes l ON l.name = j.lane \
     WHERE j.state = 'pending' AND j.lane IS NOT NULL AND j.lease_until IS NULL AND NOT EXISTS \
     (SELECT 1 FROM jobs e WHERE e.lane = j.lane AND e.state = 'pending' AND e.id < j.id)\
     ) AS due";
const REST_LANE: &str = "INSERT INTO lanes (name, free_at) VALUES ($1, $2) \
     ON CONFLICT (name) DO UPDATE SET free_at = excluded.free_at";
/// Back to the queue at `$4` — unless re-armed meanwhile, then at its re-armed time.
const RETRY: &str = "UPDATE jobs SET \
     run_at = CASE WHEN generation = $3 THEN $4 ELSE run_at END, \
     lease_owner = NULL, lease_until = NULL, last_error = $5, updated_at = $6 \
     WHERE id = $1 AND lease_owner = $2 AND state = 'pending'";
const COUNTS: &str = "SELECT state, COUNT(*) FROM jobs GROUP BY state";
const UPDATE_CHANNEL: &str =
    "UPDATE incidents SET channel_id = $2, channel_name = $3, updated_at = $4 WHERE id = $1";
const UPDATE_CARD: &str = "UPDATE incidents SET card_ts = $2, updated_at = $3 WHERE id = $1";
const UPDATE_REMINDED: &str =
    "UPDATE incidents SET last_reminded_at = $2, updated_at = $3 WHERE id = $1";
const UPDATE_ADOPTED: &str = "UPDATE incidents SET channel_id = $2, channel_name = $3, \
     private = $4, updated_at = $5, version = version + 1 WHERE id = $1";
const UPDATE_ARCHIVED: &str = "UPDATE incidents SET archived_at = $2, updated_at = $3, \
     version = version + 1 WHERE id = $1";
const UPDATE_ANNOUNCEMENT: &str = "UPDATE incidents SET announcement_channel = $2, \
     announcement_ts = $3, updated_at = $4 WHERE id = $1";

/// Cancels the pending job with `key`, if any; a worker running it is fenced off.
pub(super) async fn cancel(
    tx: &mut Tx,
    key: &JobKey,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let key = key
        .text(None)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    sqlx::query(CANCEL)
        .bind(key)
        .bind(to_ms(now))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Enqueues a job of an incident just created as `incident`: a key naming the incident being
/// declared ([`IncidentRef::New`](crate::domain::cause::IncidentRef::New)) gets its id.
pub(super) async fn insert_for_new(
    tx: &mut Tx,
    incident: IncidentId,
    job: &NewJob,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    insert(tx, Some(incident), job, now).await.map(drop)
}

/// Enqueues `job` within a transaction, deduplicated by its key as `job.dedupe` says; `false`
/// when a pending job with its key was kept and nothing was written.
pub(super) async fn insert(
    tx: &mut Tx,
    incident: Option<IncidentId>,
    job: &NewJob,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let sql = match job.dedupe {
        Dedupe::Keep => INSERT_KEEP,
        Dedupe::Rerun => INSERT_RERUN,
        Dedupe::Replace => INSERT_REPLACE,
        Dedupe::Once => INSERT_ONCE,
    };
    let key = job
        .key
        .as_ref()
        .map(|k| k.text(incident))
        .transpose()
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let written = sqlx::query(sql)
        .bind(incident)
        .bind(job.kind.as_str())
        .bind(key)
        .bind(job.lane.as_deref())
        .bind(job.payload.to_string())
        .bind(to_ms(job.run_at))
        .bind(to_ms(now))
        .execute(&mut **tx)
        .await?
        .rows_affected();
    Ok(written > 0)
}

impl Store {
    /// Enqueues one job on its own (a reply to a person, not part of a change); `false` when a
    /// pending job with its key was kept ([`Dedupe::Keep`]) and nothing was enqueued.
    pub async fn enqueue(
        &self,
        incident: Option<IncidentId>,
        job: NewJob,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let written = insert(&mut tx, incident, &job, job.run_at).await?;
        tx.commit().await?;
        Ok(written)
    }

    /// Enqueues `job` for `incident` unless the payload `key` asked for it before (Slack
    /// delivered the command or click twice): `false` then, and nothing is enqueued.
    pub async fn enqueue_once(
        &self,
        key: &Cause,
        incident: IncidentId,
        job: NewJob,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let fresh = super::insert_key(&mut tx, key, incident, now).await?;
        if fresh {
            insert(&mut tx, Some(incident), &job, job.run_at).await?;
        }
        tx.commit().await?;
        Ok(fresh)
    }

    /// Leases up to `limit` due jobs to `owner` until `now + lease`, oldest due first.
    pub async fn claim_jobs(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: i64,
    ) -> Result<Vec<Job>, StoreError> {
        let sql = match self.backend {
            Backend::Sqlite => CLAIM_SQLITE,
            Backend::Postgres => CLAIM_POSTGRES,
        };
        let now_ms = to_ms(now);
        let rows = sqlx::query_as::<_, JobRow>(sql)
            .bind(owner)
            .bind(now_ms.saturating_add(duration_ms(lease)))
            .bind(now_ms)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        let mut jobs = rows
            .into_iter()
            .map(|r| {
                Ok(Job {
                    id: r.id,
                    incident_id: r.incident_id,
                    payload: parse_json(&r.payload)?,
                    kind: r.kind,
                    key: r.key,
                    attempt: r.attempt,
                    generation: r.generation,
                    lease_owner: owner.to_string(),
                    lane: r.lane,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        jobs.sort_by_key(|j| j.id);
        Ok(jobs)
    }

    /// Marks `job` done and applies `outcome`; its lane rests from now.
    pub async fn complete_job(
        &self,
        job: &Job,
        outcome: Outcome,
        now: DateTime<Utc>,
    ) -> Result<Finished, StoreError> {
        self.finish(job, "done", None, &outcome, now).await
    }

    /// Marks `job` failed for good, noting `error`, and applies `outcome` (the report of the
    /// failure) — unless it was re-armed meanwhile: then it runs again and nothing is reported.
    pub async fn fail_job(
        &self,
        job: &Job,
        error: &str,
        outcome: Outcome,
        now: DateTime<Utc>,
    ) -> Result<Finished, StoreError> {
        self.finish(job, "failed", Some(error), &outcome, now).await
    }

    /// Releases `job` to run again at `run_at`, noting `error`. `false`: the lease was lost.
    pub async fn retry_job(
        &self,
        job: &Job,
        run_at: DateTime<Utc>,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let n = sqlx::query(RETRY)
            .bind(job.id)
            .bind(job.lease_owner.as_str())
            .bind(job.generation)
            .bind(to_ms(run_at))
            .bind(error)
            .bind(to_ms(now))
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    /// Whether this process still holds `job`'s lease and nobody re-armed or cancelled it: the
    /// last look before an irreversible Slack call (a reminder's post).
    pub async fn job_is_current(&self, job: &Job) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar(CURRENT)
            .bind(job.id)
            .bind(job.lease_owner.as_str())
            .bind(job.generation)
            .fetch_one(&self.pool)
            .await?;
        Ok(n == 1)
    }

    /// Extends every lease `owner` holds to `until` (the worker renews while its jobs run, so
    /// leases can be short and a dead process's work is taken over soon).
    pub async fn renew_leases(&self, owner: &str, until: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query(RENEW)
            .bind(owner)
            .bind(to_ms(until))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Releases every lease: for SQLite at startup, where the only process that could hold one
    /// is a previous run of this one, now dead.
    pub async fn release_all_leases(&self) -> Result<u64, StoreError> {
        Ok(sqlx::query(RELEASE_ALL)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    /// When the earliest unleased pending job is due, if there is one.
    pub async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let ms: Option<i64> = sqlx::query_scalar(NEXT_DUE).fetch_one(&self.pool).await?;
        ms.map(super::from_ms).transpose()
    }

    pub async fn job_counts(&self) -> Result<JobCounts, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(COUNTS).fetch_all(&self.pool).await?;
        let mut counts = JobCounts::default();
        for (state, n) in rows {
            match state.as_str() {
                "pending" => counts.pending = n,
                "done" => counts.done = n,
                "failed" => counts.failed = n,
                "cancelled" => counts.cancelled = n,
                other => return Err(StoreError::Corrupt(format!("job state {other:?}"))),
            }
        }
        Ok(counts)
    }

    /// Ends `job`'s run in one transaction: releases the lease, moves it to `state` unless it
    /// was re-armed meanwhile, and applies `outcome` — the facts it learned from Slack — either
    /// way, provided this process still held the lease. A failure's outcome (its report) is
    /// applied only when the job did fail.
    async fn finish(
        &self,
        job: &Job,
        state: &'static str,
        error: Option<&str>,
        outcome: &Outcome,
        now: DateTime<Utc>,
    ) -> Result<Finished, StoreError> {
        let mut tx = self.pool.begin().await?;
        if let (Some(at), "done") = (outcome.reschedule, state) {
            let generation: Option<i64> = sqlx::query_scalar(RESCHEDULE)
                .bind(job.id)
                .bind(job.lease_owner.as_str())
                .bind(job.generation)
                .bind(to_ms(at))
                .bind(to_ms(now))
                .fetch_optional(&mut *tx)
                .await?;
            let finished = match generation {
                None => {
                    tx.rollback().await?;
                    return Ok(Finished::LeaseLost);
                }
                Some(g) if g == job.generation => Finished::Yes,
                Some(_) => Finished::Rearmed,
            };
            apply(&mut tx, job.incident_id, outcome, now).await?;
            tx.commit().await?;
            return Ok(finished);
        }
        let after: Option<String> = sqlx::query_scalar(FINISH)
            .bind(job.id)
            .bind(job.lease_owner.as_str())
            .bind(job.generation)
            .bind(state)
            .bind(error)
            .bind(to_ms(now))
            .fetch_optional(&mut *tx)
            .await?;
        let finished = match after {
            None => {
                tx.rollback().await?;
                return Ok(Finished::LeaseLost);
            }
            Some(s) if s == state => Finished::Yes,
            Some(_) => Finished::Rearmed,
        };
        if state == "done" || finished == Finished::Yes {
            apply(&mut tx, job.incident_id, outcome, now).await?;
        }
        if let (Some(lane), "done") = (&job.lane, state) {
            sqlx::query(REST_LANE)
                .bind(lane.as_str())
                .bind(to_ms(now).saturating_add(duration_ms(LANE_SPACING)))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(finished)
    }
}

/// Applies what a job achieved to its incident, its timeline and the queue.
async fn apply(
    tx: &mut Tx,
    incident: Option<IncidentId>,
    outcome: &Outcome,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    use super::IncidentChange;
    if let (Some(id), Some(change)) = (incident, &outcome.change) {
        let query = match change {
            IncidentChange::Channel { id: channel, name } => sqlx::query(UPDATE_CHANNEL)
                .bind(id)
                .bind(channel.as_str())
                .bind(name.as_str())
                .bind(to_ms(now)),
            IncidentChange::CardPosted { ts } => sqlx::query(UPDATE_CARD)
                .bind(id)
                .bind(ts.as_str())
                .bind(to_ms(now)),
            IncidentChange::Announced { channel, ts } => sqlx::query(UPDATE_ANNOUNCEMENT)
                .bind(id)
                .bind(channel.as_str())
                .bind(ts.as_str())
                .bind(to_ms(now)),
            IncidentChange::Reminded { at } => sqlx::query(UPDATE_REMINDED)
                .bind(id)
                .bind(to_ms(*at))
                .bind(to_ms(now)),
            // Bumps the version: a change decided on the public incident is decided again.
            IncidentChange::Adopted {
                id: channel,
                name,
                private,
            } => sqlx::query(UPDATE_ADOPTED)
                .bind(id)
                .bind(channel.as_str())
                .bind(name.as_str())
                .bind(*private)
                .bind(to_ms(now)),
            // Bumps the version: a change decided before the archiving is decided again.
            IncidentChange::Archived { at } => sqlx::query(UPDATE_ARCHIVED)
                .bind(id)
                .bind(to_ms(*at))
                .bind(to_ms(now)),
        };
        query.execute(&mut **tx).await?;
    }
    if let Some(id) = incident {
        for entry in &outcome.events {
            timeline::insert_event(tx, id, entry, None, now).await?;
        }
    }
    for job in &outcome.follow_ups {
        insert(tx, incident, job, now).await?;
    }
    for r in &outcome.refs {
        super::refs::upsert(tx, r, now).await?;
    }
    Ok(())
}
