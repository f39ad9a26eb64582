//! Postmortem drafts as exported: each export saves its rendered Markdown as the incident's next
//! version before it is uploaded, so a failed upload still leaves the draft for the CLI.

use chrono::{DateTime, Utc};

use super::rows::{IncidentRow, select_incidents};
use super::{Store, StoreError, to_ms};
use crate::domain::{Incident, IncidentId};

/// Inserts the next version, or — for a retried export job (same key) — saves over the draft it
/// saved before and keeps its version.
const SAVE: &str = "INSERT INTO postmortems (incident_id, version, job_key, markdown, requested_by, \
     generated_at) VALUES ($1, (SELECT COALESCE(MAX(version), 0) + 1 FROM postmortems \
     WHERE incident_id = $1), $2, $3, $4, $5) ON CONFLICT (job_key) DO UPDATE SET \
     markdown = excluded.markdown, generated_at = excluded.generated_at RETURNING version";
const LATEST: &str = "SELECT version, markdown FROM postmortems \
     WHERE incident_id = $1 ORDER BY version DESC LIMIT 1";
const LATEST_VERSION: &str = "SELECT MAX(version) FROM postmortems WHERE incident_id = $1";

/// A saved draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedPostmortem {
    /// 1 for the first export, then 2, 3, …
    pub version: i64,
    pub markdown: String,
}

impl Store {
    /// Saves `markdown` as `incident`'s next draft for the export job `job_key`; returns its
    /// version (the same one when the job saves again after a retry).
    pub async fn save_postmortem(
        &self,
        incident: IncidentId,
        job_key: &str,
        markdown: &str,
        requested_by: Option<&str>,
        generated_at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let (version,): (i64,) = sqlx::query_as(SAVE)
            .bind(incident)
            .bind(job_key)
            .bind(markdown)
            .bind(requested_by)
            .bind(to_ms(generated_at))
            .fetch_one(&self.pool)
            .await?;
        Ok(version)
    }

    /// `incident`'s latest saved draft, if it was ever exported.
    pub async fn latest_postmortem(
        &self,
        incident: IncidentId,
    ) -> Result<Option<SavedPostmortem>, StoreError> {
        let row: Option<(i64, String)> = sqlx::query_as(LATEST)
            .bind(incident)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|(version, markdown)| SavedPostmortem { version, markdown }))
    }

    /// The version of `incident`'s latest saved draft, if it was ever exported.
    pub async fn latest_postmortem_version(
        &self,
        incident: IncidentId,
    ) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(LATEST_VERSION)
            .bind(incident)
            .fetch_one(&self.pool)
            .await?)
    }

    /// The incident shown as `INC-<number>` in `workspace`.
    pub async fn incident_by_number(
        &self,
        workspace: &str,
        number: i64,
    ) -> Result<Option<Incident>, StoreError> {
        let row = sqlx::query_as::<_, IncidentRow>(select_incidents!(
            "WHERE team_id = $1 AND team_number = $2"
        ))
        .bind(workspace)
        .bind(number)
        .fetch_optional(&self.pool)
        .await?;
        self.with_roles(row).await
    }
}
