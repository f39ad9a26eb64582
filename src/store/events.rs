//! What Slack's events tell about an incident channel: pins (added, removed, edited, deleted)
//! and who joined. Each event is recorded once (its `event_id` is an idempotency key) as a
//! timeline entry, and the `pins` and `participants` tables — projections of those entries —
//! are kept in the same transaction.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use super::{Store, StoreError, Tx, timeline, to_ms};
use crate::domain::cause::Cause;
use crate::domain::{Entry, IncidentId};

const PIN: &str = "INSERT INTO pins (incident_id, ts, author, author_label, text, pinned_by, \
     pinned_at, state, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pinned', $7) \
     ON CONFLICT (incident_id, ts) DO UPDATE SET author = excluded.author, \
     author_label = excluded.author_label, text = excluded.text, pinned_by = excluded.pinned_by, \
     pinned_at = excluded.pinned_at, state = 'pinned', updated_at = excluded.updated_at";
const PIN_STATE: &str =
    "UPDATE pins SET state = $3, updated_at = $4 WHERE incident_id = $1 AND ts = $2";
const PIN_TEXT: &str =
    "UPDATE pins SET text = $3, updated_at = $4 WHERE incident_id = $1 AND ts = $2";
const JOINED: &str = "INSERT INTO participants (incident_id, user_id, joined_at) \
     VALUES ($1, $2, $3) ON CONFLICT (incident_id, user_id) DO NOTHING";
const IS_PINNED: &str =
    "SELECT COUNT(*) FROM pins WHERE incident_id = $1 AND ts = $2 AND state = 'pinned'";
const PARTICIPATING: &str = "SELECT incident_id FROM participants WHERE user_id = $1";
const PINS: &str = "SELECT ts, author, author_label, text, pinned_by, pinned_at, state \
     FROM pins WHERE incident_id = $1 ORDER BY ts";

/// A pinned message as the events told it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredPin {
    pub ts: String,
    pub author: Option<String>,
    pub author_label: Option<String>,
    pub text: String,
    pub pinned_by: Option<String>,
    /// Unix milliseconds.
    pub pinned_at: i64,
    /// `pinned`, `unpinned` or `deleted`.
    pub state: String,
}

impl Store {
    /// Records what event `key` told about `incident`: the timeline entry by `actor` at `at`,
    /// and its projection. `false`: the event was recorded before (Slack redelivered it).
    pub async fn record_event(
        &self,
        key: &Cause,
        incident: IncidentId,
        entry: &Entry,
        actor: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        if !super::insert_key(&mut tx, key, incident, at).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        project(&mut tx, incident, entry, actor, at).await?;
        timeline::insert_event(&mut tx, incident, entry, actor, at).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Whether the message `ts` of `incident`'s channel is pinned, as far as the events told.
    pub async fn is_pinned(&self, incident: IncidentId, ts: &str) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar(IS_PINNED)
            .bind(incident)
            .bind(ts)
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }

    /// The incidents whose channel `user` joined.
    pub async fn participating(&self, user: &str) -> Result<HashSet<IncidentId>, StoreError> {
        let ids: Vec<i64> = sqlx::query_scalar(PARTICIPATING)
            .bind(user)
            .fetch_all(&self.pool)
            .await?;
        Ok(ids.into_iter().collect())
    }

    /// Every message of `incident`'s channel that was ever pinned, oldest message first.
    pub async fn pins(&self, incident: IncidentId) -> Result<Vec<StoredPin>, StoreError> {
        Ok(sqlx::query_as::<_, StoredPin>(PINS)
            .bind(incident)
            .fetch_all(&self.pool)
            .await?)
    }
}

/// Keeps the `pins` and `participants` tables in step with `entry`.
async fn project(
    tx: &mut Tx,
    incident: IncidentId,
    entry: &Entry,
    actor: Option<&str>,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let at = to_ms(at);
    let state = |ts: &str, state: &'static str| {
        sqlx::query(PIN_STATE)
            .bind(incident)
            .bind(ts.to_string())
            .bind(state)
            .bind(at)
    };
    match entry {
        Entry::Pinned {
            ts,
            author,
            author_label,
            text,
        } => {
            sqlx::query(PIN)
                .bind(incident)
                .bind(ts.as_str())
                .bind(author.as_deref())
                .bind(author_label.as_deref())
                .bind(text.as_str())
                .bind(actor)
                .bind(at)
                .execute(&mut **tx)
                .await?;
        }
        Entry::Unpinned { ts } => {
            state(ts, "unpinned").execute(&mut **tx).await?;
        }
        Entry::PinDeleted { ts } => {
            state(ts, "deleted").execute(&mut **tx).await?;
        }
        Entry::PinEdited { ts, text } => {
            sqlx::query(PIN_TEXT)
                .bind(incident)
                .bind(ts.as_str())
                .bind(text.as_str())
                .bind(at)
                .execute(&mut **tx)
                .await?;
        }
        Entry::Joined { user } => {
            sqlx::query(JOINED)
                .bind(incident)
                .bind(user.as_str())
                .bind(at)
                .execute(&mut **tx)
                .await?;
        }
        _ => {}
    }
    Ok(())
}
