//! The PostgreSQL store: for several replicas sharing one database. Its queries are shared with
//! SQLite (`sql.rs`); what is PostgreSQL's own is here: the pool, and `FOR UPDATE SKIP LOCKED`
//! on job claims so replicas never lease the same job at once. Migrations take sqlx's advisory
//! lock, so replicas starting together migrate once.

use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};

use super::StoreError;
use super::sql::impl_store;

pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to `url` and migrates the database.
    pub async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(PostgresStore { pool })
    }
}

impl_store!(
    PostgresStore,
    sqlx::Postgres,
    backend = "postgres",
    claim_lock = "FOR UPDATE SKIP LOCKED"
);
