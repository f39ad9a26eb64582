//! External references: what jobs learned about objects in outside systems (a PagerDuty page's
//! dedup key and state, the status page's incident id and link). **One path writes them**,
//! [`upsert`], called where a job's outcome or a recorded change is applied; the row of an
//! (incident, system, kind, name) is created once and updated in place, keeping what an update
//! leaves out (a state without a new url keeps the url).

use chrono::{DateTime, Utc};

use super::{Store, StoreError, Tx, from_ms, to_ms};
use crate::domain::IncidentId;
use crate::domain::outside::{ExternalRef, Kind};

const UPSERT: &str = "INSERT INTO external_refs (incident_id, system, kind, name, reference, url, \
     state, detail, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
     ON CONFLICT (incident_id, system, kind, name) DO UPDATE SET \
     reference = excluded.reference, url = COALESCE(excluded.url, external_refs.url), \
     state = COALESCE(excluded.state, external_refs.state), \
     detail = CASE WHEN excluded.state IS NULL THEN external_refs.detail ELSE excluded.detail END, \
     updated_at = excluded.updated_at";
const OF_INCIDENT: &str = "SELECT incident_id, system, kind, name, reference, url, state, detail \
     FROM external_refs WHERE incident_id = $1 ORDER BY id";
const BY_REFERENCE: &str = "SELECT incident_id, system, kind, name, reference, url, state, detail, \
     created_at FROM external_refs WHERE system = $1 AND kind = $2 AND reference = $3 \
     ORDER BY id DESC";
const OF_KIND_NOT_IN: &str = "SELECT incident_id, system, kind, name, reference, url, state, \
     detail FROM external_refs WHERE system = $1 AND kind = $2 \
     AND (state IS NULL OR state <> $3) ORDER BY id";
const DECLARATION_KEY: &str = "SELECT key FROM idempotency_keys WHERE incident_id = $1 \
     ORDER BY created_at, key LIMIT 1";
/// A row and when it was first recorded.
#[derive(sqlx::FromRow)]
struct RowSince {
    #[sqlx(flatten)]
    row: Row,
    created_at: i64,
}

#[derive(sqlx::FromRow)]
struct Row {
    incident_id: i64,
    system: String,
    kind: String,
    name: String,
    reference: String,
    url: Option<String>,
    state: Option<String>,
    detail: Option<String>,
}

impl Row {
    fn read(self) -> Result<ExternalRef, StoreError> {
        let kind = Kind::from_stored(&self.system, &self.kind).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "external ref {}/{} is unknown",
                self.system, self.kind
            ))
        })?;
        Ok(ExternalRef {
            incident: self.incident_id,
            kind,
            name: self.name,
            reference: self.reference,
            url: self.url,
            state: self.state,
            detail: self.detail,
        })
    }
}

/// Creates or updates the reference `r` within `tx`.
pub(super) async fn upsert(
    tx: &mut Tx,
    r: &ExternalRef,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(UPSERT)
        .bind(r.incident)
        .bind(r.kind.system())
        .bind(r.kind.as_str())
        .bind(r.name.as_str())
        .bind(r.reference.as_str())
        .bind(r.url.as_deref())
        .bind(r.state.as_deref())
        .bind(r.detail.as_deref())
        .bind(to_ms(now))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Store {
    /// Everything `incident` has in outside systems, oldest first.
    pub async fn external_refs(
        &self,
        incident: IncidentId,
    ) -> Result<Vec<ExternalRef>, StoreError> {
        let rows: Vec<Row> = sqlx::query_as(OF_INCIDENT)
            .bind(incident)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(Row::read).collect()
    }

    /// The object of `kind` the system calls `reference` (the newest, should one be reused),
    /// and when it was first recorded (a page: when the service was first paged).
    pub async fn external_ref_by_reference(
        &self,
        kind: Kind,
        reference: &str,
    ) -> Result<Option<(ExternalRef, DateTime<Utc>)>, StoreError> {
        let row: Option<RowSince> = sqlx::query_as(BY_REFERENCE)
            .bind(kind.system())
            .bind(kind.as_str())
            .bind(reference)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((r.row.read()?, from_ms(r.created_at)?)))
            .transpose()
    }

    /// Every object of `kind`, of any incident, whose state is not `state` (the tickets not
    /// closed), oldest first.
    pub async fn external_refs_of_kind(
        &self,
        kind: Kind,
        state: &str,
    ) -> Result<Vec<ExternalRef>, StoreError> {
        let rows: Vec<Row> = sqlx::query_as(OF_KIND_NOT_IN)
            .bind(kind.system())
            .bind(kind.as_str())
            .bind(state)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(Row::read).collect()
    }

    /// The idempotency key of the payload that declared `incident` (`slash:…`, `view:…`): the
    /// first recorded for it.
    pub async fn declaration_key(
        &self,
        incident: IncidentId,
    ) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(DECLARATION_KEY)
            .bind(incident)
            .fetch_optional(&self.pool)
            .await?)
    }
}
