//! Persistence: one [`Store`] over SQLite (the embedded default, one process) or PostgreSQL (any
//! number of replicas), chosen by [`connect`] from the `DATABASE_URL` scheme.
//!
//! Each method is one transaction and a whole use-case step: "record this declaration, its
//! idempotency key and its first job", "record this change if nobody changed the incident
//! meanwhile", "finish this job and apply what it achieved". The store knows nothing of Slack:
//! jobs are a kind plus a JSON payload.
//!
//! The SQL is written once, for both backends, through sqlx's `Any` driver, and split by
//! aggregate: [`incidents`] (declarations, changes, lookups), [`timeline`] (entries and role
//! history), [`events`] (what Slack's events told: pins, participants), [`jobs`] (the durable
//! queue), [`alerts`] (the alert intake's writes) and [`stats`] (readiness, metrics and
//! `/inc stats` reads). Times are unix milliseconds and every integer is
//! 64-bit on both backends; what truly differs per backend is here: how to connect, which
//! migrations to run, and `FOR UPDATE SKIP LOCKED` on job claims. All SQL is static text with
//! bound parameters — never `format!`.
//!
//! A database from any earlier version upgrades: [`connect`] applies the migrations it lacks (an
//! applied migration is never edited; `tests/it/upgrade.rs` fills a database as each earlier
//! version wrote it and runs the bot on it). A database migrated by a newer version — one whose
//! history names a migration this binary does not know — is refused before anything is written
//! ([`StoreError::NewerDatabase`]): its schema and rows may mean something this version would
//! misread or overwrite. A migration that rewrites rows is SQL like the others (0007 decodes the
//! text earlier versions kept as Slack escaped it), so sqlx applies it once, in its transaction.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{MigrateDatabase, MigrateError, Migrator};
use sqlx::{Any, AnyConnection, AnyPool, Connection, Executor};

use crate::domain::cause::{Cause, JobKey};
use crate::domain::change::RoleChange;
use crate::domain::outside::ExternalRef;
use crate::domain::{Entry, Incident, IncidentId, NewIncident, Role};

pub use events::StoredPin;

const INSERT_IDEMPOTENCY_KEY: &str = "INSERT INTO idempotency_keys (key, incident_id, created_at) \
     VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING";

/// Records a payload's idempotency key within a transaction; `false` if it was recorded before
/// (Slack delivered the payload again), and nothing was inserted.
async fn insert_key(
    tx: &mut Tx,
    key: &Cause,
    incident: IncidentId,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let fresh = sqlx::query(INSERT_IDEMPOTENCY_KEY)
        .bind(key.key())
        .bind(incident)
        .bind(to_ms(now))
        .execute(&mut **tx)
        .await?
        .rows_affected();
    Ok(fresh == 1)
}

mod alerts;
mod events;
mod incidents;
mod installations;
mod jobs;
mod postmortems;
mod refs;
mod rows;
mod stats;
mod timeline;

pub use alerts::{AlertReceipt, AlertRecorded};
pub use installations::Installation;
pub use postmortems::SavedPostmortem;
pub use stats::QueueFigures;

/// Which database the store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend `url` names, by its scheme.
    fn of(url: &str) -> Result<Backend, StoreError> {
        if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    /// The migrations embedded in this binary for the backend.
    fn migrator(self) -> &'static Migrator {
        match self {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    /// Whether the database has a migration history at all (a new one has none).
    fn has_history(self) -> &'static str {
        match self {
            Backend::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'"
            }
            Backend::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'"
            }
        }
    }
}

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// The versions sqlx recorded as applied (its own table, the same on both backends).
const APPLIED_MIGRATIONS: &str = "SELECT version FROM _sqlx_migrations ORDER BY version";

/// The database. Cheap to clone: clones share one connection pool.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

/// Opens the database named by `url` and brings its schema up to date.
/// A database migrated by a newer version is refused before anything is written.
pub async fn connect(url: &str) -> Result<Store, StoreError> {
    sqlx::any::install_default_drivers();
    let backend = Backend::of(url)?;
    let options = AnyConnectOptions::from_str(url)?;
    let pool = match backend {
        Backend::Sqlite => {
            if !url.contains(":memory:") && !Any::database_exists(url).await? {
                Any::create_database(url).await?;
            }
            // One connection serves the whole process: SQLite has one writer anyway, one
            // connection means no SQLITE_BUSY upgrade deadlocks, and `sqlite::memory:` (the demo)
            // is one database only while its connection lives. Every store method is one short
            // transaction and never calls another while holding it. `synchronous = FULL`: an
            // acknowledged declaration survives a power cut.
            let pool = AnyPoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .acquire_timeout(Duration::from_secs(30))
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;",
                        )
                        .await?;
                        Ok(())
                    })
                })
                .connect_with(options)
                .await?;
            migrate(&pool, backend).await?;
            pool
        }
        Backend::Postgres => {
            // Migrations take sqlx's advisory lock, so replicas starting together migrate once.
            let pool = AnyPoolOptions::new()
                .max_connections(10)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            migrate(&pool, backend).await?;
            pool
        }
    };
    Ok(Store { pool, backend })
}

/// Applies the migrations the database lacks, after refusing one a newer version migrated.
async fn migrate(pool: &AnyPool, backend: Backend) -> Result<(), StoreError> {
    let mut conn = pool.acquire().await?;
    let applied = applied_migrations(&mut conn, backend).await?;
    refuse_newer(&applied, backend)?;
    drop(conn);
    // sqlx checks the history again under its lock (PostgreSQL: an advisory lock), so a newer
    // replica migrating between the look above and this run is refused the same way.
    backend.migrator().run(pool).await.map_err(|e| match e {
        MigrateError::VersionMissing(version) => StoreError::NewerDatabase(version),
        other => StoreError::Migrate(other),
    })
}

/// The migration versions applied to the database, oldest first; none for a new database.
async fn applied_migrations(
    conn: &mut AnyConnection,
    backend: Backend,
) -> Result<Vec<i64>, StoreError> {
    let tables: i64 = sqlx::query_scalar(backend.has_history())
        .fetch_one(&mut *conn)
        .await?;
    if tables == 0 {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_scalar(APPLIED_MIGRATIONS)
        .fetch_all(&mut *conn)
        .await?)
}

/// [`StoreError::NewerDatabase`] for the first applied migration this binary does not know.
fn refuse_newer(applied: &[i64], backend: Backend) -> Result<(), StoreError> {
    let migrator = backend.migrator();
    match applied.iter().find(|v| !migrator.version_exists(**v)) {
        Some(unknown) => Err(StoreError::NewerDatabase(*unknown)),
        None => Ok(()),
    }
}

/// A database's schema against the migrations this binary knows, read without changing
/// anything (`incident-commander check`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schema {
    /// A SQLite file that does not exist yet: startup creates it.
    Missing,
    /// Migrations `applied`; `pending` ones (possibly older than the newest applied: histories
    /// merged) are applied at startup.
    Known {
        applied: Vec<i64>,
        pending: Vec<i64>,
    },
}

/// Reads the database's migration history without creating or migrating anything; a history
/// naming a migration this binary does not know is [`StoreError::NewerDatabase`].
pub async fn inspect(url: &str) -> Result<Schema, StoreError> {
    sqlx::any::install_default_drivers();
    let backend = Backend::of(url)?;
    if backend == Backend::Sqlite && !url.contains(":memory:") && !Any::database_exists(url).await?
    {
        return Ok(Schema::Missing);
    }
    let mut conn = AnyConnection::connect(url).await?;
    let applied = applied_migrations(&mut conn, backend).await;
    let _ = conn.close().await;
    let applied = applied?;
    refuse_newer(&applied, backend)?;
    let pending = backend
        .migrator()
        .iter()
        .map(|m| m.version)
        .filter(|v| !applied.contains(v))
        .collect();
    Ok(Schema::Known { applied, pending })
}

impl Store {
    pub fn backend(&self) -> &'static str {
        self.backend.as_str()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database's history names this migration, which this binary does not know.
    #[error(
        "the database was migrated by a newer incident-commander (migration {0:04} is unknown to \
         this version {version}); run that version or newer",
        version = crate::config::VERSION
    )]
    NewerDatabase(i64),
    #[error("DATABASE_URL must start with sqlite:// or postgres://")]
    UnsupportedUrl,
    #[error("stored data is not what this version understands: {0}")]
    Corrupt(String),
}

/// The deployment's own workspace's id in the store (`incidents.team_id`): every incident of
/// a single-workspace deployment, and of every version before there were others.
pub const HOME_WORKSPACE: &str = "";

/// A declaration to record, atomically, with what the bot must do next.
#[derive(Debug, Clone)]
pub struct Declaration {
    /// The workspace it is declared in (`""`: the deployment's own): it is numbered among that
    /// workspace's incidents.
    pub workspace: String,
    /// What declared it (the Slack payload: `slash:<trigger_id>`, `view:<view id>`, …): its key
    /// is recorded once.
    pub key: Cause,
    pub incident: NewIncident,
    /// Jobs to enqueue for the new incident (the first saga step); a key that names
    /// [`IncidentRef::New`](crate::domain::cause::IncidentRef::New) gets the new incident's id.
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

/// A decided change to record, atomically, with its Slack work.
#[derive(Debug, Clone)]
pub struct ChangeRecord {
    /// What asked for the change (the Slack payload): a redelivered command changes nothing
    /// twice.
    pub key: Cause,
    /// The incident after the change. Its `version` must still be the stored one.
    pub incident: Incident,
    pub actor: String,
    pub entries: Vec<Entry>,
    pub roles: Vec<RoleChange>,
    pub jobs: Vec<NewJob>,
    /// Keys of pending jobs the change makes moot (the reminder of a resolved incident).
    pub cancel: Vec<JobKey>,
    /// What the change tells about objects in outside systems (a page acknowledged).
    pub refs: Vec<ExternalRef>,
}

/// What [`Store::record`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Applied,
    /// Somebody changed the incident since it was loaded: nothing was written; load, decide and
    /// record again.
    Conflict,
    /// The key was recorded before (Slack delivered the payload twice): nothing was written.
    Duplicate,
}

/// What to do when a pending job with the same key exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dedupe {
    /// Keep the pending job; enqueue nothing (a step that must run once).
    #[default]
    Keep,
    /// The pending job runs (again) with the current state: a job that brings something up to
    /// date. Its generation is bumped, so if it is running now it runs once more afterwards.
    Rerun,
    /// The pending job is re-armed with this job's time and payload (a reminder pushed back).
    Replace,
    /// Enqueued only if no job ever had its key, whatever became of it: work done once per
    /// incident for good (a rule's action).
    Once,
}

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub kind: String,
    /// What caused it (`slash:<trigger_id>:0:post`, `incident:7:sync_card`): unique among
    /// pending jobs, with `dedupe` deciding what a second one does.
    pub key: Option<JobKey>,
    pub dedupe: Dedupe,
    /// Jobs of one lane run one at a time, in the order they were enqueued (`channel:C123`).
    pub lane: Option<String>,
    pub payload: Value,
    pub run_at: DateTime<Utc>,
}

/// A job claimed by this process: it holds the lease until it finishes or the lease expires.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: i64,
    pub incident_id: Option<IncidentId>,
    pub kind: String,
    /// What caused it (`slash:<trigger_id>:0:post`); `None` for a job without a key.
    pub key: Option<String>,
    pub payload: Value,
    /// 1 on the first run.
    pub attempt: i64,
    pub generation: i64,
    pub lease_owner: String,
    pub lane: Option<String>,
}

/// A change a completed step makes to its incident: facts learned from Slack.
#[derive(Debug, Clone, PartialEq)]
pub enum IncidentChange {
    Channel {
        id: String,
        name: String,
    },
    CardPosted {
        ts: String,
    },
    Announced {
        channel: String,
        ts: String,
    },
    /// The update reminder was posted then.
    Reminded {
        at: DateTime<Utc>,
    },
    /// `/inc adopt`: an existing channel became the incident's; a private one makes the
    /// incident private.
    Adopted {
        id: String,
        name: String,
        private: bool,
    },
    /// The incident channel was archived then.
    Archived {
        at: DateTime<Utc>,
    },
}

/// What a finished job achieved: applied in the same transaction that finishes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    pub change: Option<IncidentChange>,
    pub follow_ups: Vec<NewJob>,
    /// Timeline entries by the bot itself.
    pub events: Vec<Entry>,
    /// What the job learned about objects in outside systems.
    pub refs: Vec<ExternalRef>,
    /// Instead of being done, the job stays pending and runs again then (a reminder's next
    /// time) — unless it was re-armed meanwhile, when the re-armed time stands.
    pub reschedule: Option<DateTime<Utc>>,
}

/// How finishing a job went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finished {
    /// Done (or failed) as asked, and its outcome applied.
    Yes,
    /// It was re-armed while it ran: it stays pending and runs again; its outcome (the facts it
    /// learned) was applied all the same.
    Rearmed,
    /// This process no longer held the lease (another took over, or it was cancelled): nothing
    /// was written.
    LeaseLost,
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
    pub cancelled: i64,
}

pub(crate) fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_ms(ms: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| StoreError::Corrupt(format!("time {ms}")))
}

pub(crate) fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// A transaction on either backend.
type Tx = sqlx::Transaction<'static, Any>;
