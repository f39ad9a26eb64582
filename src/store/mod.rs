//! Persistence: one [`Store`] trait, implemented for SQLite ([`sqlite::SqliteStore`], the embedded
//! default, one process) and PostgreSQL ([`postgres::PostgresStore`], any number of replicas),
//! chosen by [`connect`] from the `DATABASE_URL` scheme (atuin's two-backend design).
//!
//! Each method is one transaction and a whole use-case step: "record this declaration, its
//! idempotency key and its first job", "complete this job and apply what it achieved". The store
//! knows nothing of Slack; it stores jobs as kind + JSON payload and hands them back.
//!
//! Both backends share their SQL ([`sql`]): times are unix milliseconds, every integer is 64-bit,
//! and the only dialect difference is that PostgreSQL claims jobs `FOR UPDATE SKIP LOCKED`.
//! All SQL is static text with bound parameters — never `format!`.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::domain::{Incident, IncidentId, NewIncident, Role, TimelineEvent, TimelineKind};

pub mod postgres;
mod sql;
pub mod sqlite;

/// Opens the database named by `url` and brings its schema up to date.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(postgres::PostgresStore::connect(url).await?))
    } else if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::connect(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("DATABASE_URL must start with sqlite:// or postgres://")]
    UnsupportedUrl,
    #[error("stored data is not what this version understands: {0}")]
    Corrupt(String),
}

/// A declaration to record, atomically, with what the bot must do next.
#[derive(Debug, Clone)]
pub struct Declaration {
    /// The Slack payload's idempotency key (`slash:<trigger_id>`, `view:<view id>`, …).
    pub key: String,
    pub incident: NewIncident,
    /// Jobs to enqueue for the new incident (the first saga step).
    pub jobs: Vec<NewJob>,
    /// The same person declaring the same title at the same severity within this window gets the
    /// incident they already declared (a retried command), not a second one.
    pub duplicate_window: Duration,
}

/// What [`Store::declare`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Declared {
    New(Incident),
    /// The key was seen before, or the same declaration was just made: nothing was written.
    Existing(Incident),
}

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub kind: String,
    /// When set, a second job with the same key is not enqueued.
    pub key: Option<String>,
    pub payload: Value,
    pub run_at: DateTime<Utc>,
}

/// A job claimed by this process: it holds the lease until `lease_until`.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: i64,
    pub incident_id: Option<IncidentId>,
    pub kind: String,
    pub payload: Value,
    /// 1 on the first run.
    pub attempt: i64,
    pub generation: i64,
    pub lease_owner: String,
}

/// A change a completed step makes to its incident.
#[derive(Debug, Clone, PartialEq)]
pub enum IncidentChange {
    Channel { id: String, name: String },
    CardPosted { ts: String },
    Announced { channel: String, ts: String },
}

/// What a finished job achieved: applied in the same transaction that marks it done or failed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    pub change: Option<IncidentChange>,
    pub follow_ups: Vec<NewJob>,
    pub events: Vec<NewEvent>,
}

/// A timeline event to record (its time is the `now` of the call that records it).
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub kind: TimelineKind,
    pub actor: Option<String>,
    pub data: Value,
}

/// One stretch of a role held by a user.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleAssignment {
    pub role: Role,
    pub user_id: String,
    pub assigned_by: Option<String>,
    pub from: DateTime<Utc>,
    pub to: Option<DateTime<Utc>>,
}

/// How many jobs are in each state (tests and metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobCounts {
    pub pending: i64,
    pub done: i64,
    pub failed: i64,
}

#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// Records a declaration with its roles, `declared` timeline event, idempotency key and jobs,
    /// in one transaction; idempotent on `key` and on a repeated identical declaration.
    async fn declare(
        &self,
        declaration: Declaration,
        now: DateTime<Utc>,
    ) -> Result<Declared, StoreError>;

    async fn incident(&self, id: IncidentId) -> Result<Option<Incident>, StoreError>;

    /// Incidents not resolved or declined, by number.
    async fn open_incidents(&self) -> Result<Vec<Incident>, StoreError>;

    async fn timeline(&self, id: IncidentId) -> Result<Vec<TimelineEvent>, StoreError>;

    async fn role_history(&self, id: IncidentId) -> Result<Vec<RoleAssignment>, StoreError>;

    /// Remembers the channel name about to be requested from Slack, so that a retry after a
    /// crash knows the name may already be its own.
    async fn note_channel_attempt(
        &self,
        id: IncidentId,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// The incident whose channel this is, if any.
    async fn incident_for_channel(
        &self,
        channel_id: &str,
    ) -> Result<Option<IncidentId>, StoreError>;

    /// Leases up to `limit` due jobs to `owner` until `now + lease`. Replica-safe: on PostgreSQL
    /// two processes never lease the same job at once; a lease that expires is taken over.
    async fn claim_jobs(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: i64,
    ) -> Result<Vec<Job>, StoreError>;

    /// Marks `job` done and applies `outcome`, if this process still holds its lease.
    /// `false`: the lease was lost (another worker took over); nothing was written.
    async fn complete_job(
        &self,
        job: &Job,
        outcome: Outcome,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Releases `job` to run again at `run_at`, noting `error`. `false`: the lease was lost.
    async fn retry_job(
        &self,
        job: &Job,
        run_at: DateTime<Utc>,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Marks `job` failed for good, noting `error`, and applies `outcome` (the report of the
    /// failure). `false`: the lease was lost.
    async fn fail_job(
        &self,
        job: &Job,
        error: &str,
        outcome: Outcome,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    async fn job_counts(&self) -> Result<JobCounts, StoreError>;
}

pub(crate) fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_ms(ms: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| StoreError::Corrupt(format!("time {ms}")))
}
