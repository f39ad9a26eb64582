//! Rows as both backends return them through the `Any` driver, and their mapping to domain
//! types. A row that does not map (an unknown status, a malformed entry) is
//! [`StoreError::Corrupt`], never a panic.

use serde_json::Value;

use super::{RoleAssignment, StoreError, from_ms};
use crate::domain::incident::{PostmortemPlan, SourceRef};
use crate::domain::reminder::Cadence;
use crate::domain::{Entry, Incident, Role, Severity, Status, TimelineEvent};

/// `SELECT <every incident column> FROM incidents <tail>`, as one static string. `private`,
/// `keep_channel` and `drill` are read as integers: SQLite's BOOLEAN does not pass through the `Any` driver, 0/1 does on both
/// backends.
macro_rules! select_incidents {
    ($tail:literal) => {
        concat!(
            "SELECT id, team_number AS number, title, severity, status, ",
            "CASE WHEN private THEN 1 ELSE 0 END AS private, summary, channel_id, channel_name, ",
            "card_ts, announcement_channel, announcement_ts, declared_by, declared_at, ",
            "last_update_at, resolved_at, version, impact, source_channel, source_ts, ",
            "source_link, reminder_ms, last_reminded_at, snoozed_until, postmortem_owner, ",
            "postmortem_due_at, postmortem_done_at, postmortem_link, archived_at, ",
            "CASE WHEN keep_channel THEN 1 ELSE 0 END AS keep_channel, ",
            "CASE WHEN drill THEN 1 ELSE 0 END AS drill, duplicate_of, impact_started_at, ",
            "impact_ended_at FROM incidents ",
            $tail
        )
    };
}
pub(super) use select_incidents;

#[derive(sqlx::FromRow)]
pub(super) struct IncidentRow {
    pub(super) id: i64,
    number: i64,
    title: String,
    severity: String,
    status: String,
    private: i64,
    summary: Option<String>,
    channel_id: Option<String>,
    channel_name: Option<String>,
    card_ts: Option<String>,
    announcement_channel: Option<String>,
    announcement_ts: Option<String>,
    declared_by: String,
    declared_at: i64,
    last_update_at: i64,
    resolved_at: Option<i64>,
    version: i64,
    impact: Option<String>,
    source_channel: Option<String>,
    source_ts: Option<String>,
    source_link: Option<String>,
    reminder_ms: Option<i64>,
    last_reminded_at: Option<i64>,
    snoozed_until: Option<i64>,
    postmortem_owner: Option<String>,
    postmortem_due_at: Option<i64>,
    postmortem_done_at: Option<i64>,
    postmortem_link: Option<String>,
    archived_at: Option<i64>,
    keep_channel: i64,
    drill: i64,
    duplicate_of: Option<i64>,
    impact_started_at: Option<i64>,
    impact_ended_at: Option<i64>,
}

impl IncidentRow {
    pub(super) fn into_incident(
        self,
        mut roles: Vec<(Role, String)>,
    ) -> Result<Incident, StoreError> {
        roles.sort_by_key(|(r, _)| *r);
        Ok(Incident {
            id: self.id,
            number: self.number,
            severity: Severity::from_key(&self.severity)
                .ok_or_else(|| StoreError::Corrupt(format!("severity {:?}", self.severity)))?,
            status: Status::parse(&self.status)
                .ok_or_else(|| StoreError::Corrupt(format!("status {:?}", self.status)))?,
            title: self.title,
            private: self.private != 0,
            summary: self.summary,
            impact: self.impact,
            source: match (self.source_channel, self.source_ts) {
                (Some(channel), Some(ts)) => Some(SourceRef {
                    channel,
                    ts,
                    permalink: self.source_link,
                }),
                _ => None,
            },
            channel_id: self.channel_id,
            channel_name: self.channel_name,
            card_ts: self.card_ts,
            announcement_channel: self.announcement_channel,
            announcement_ts: self.announcement_ts,
            declared_by: self.declared_by,
            declared_at: from_ms(self.declared_at)?,
            last_update_at: from_ms(self.last_update_at)?,
            resolved_at: self.resolved_at.map(from_ms).transpose()?,
            cadence: match self.reminder_ms {
                None => Cadence::Default,
                Some(0) => Cadence::Off,
                Some(ms) => Cadence::Every(chrono::Duration::milliseconds(ms)),
            },
            last_reminded_at: self.last_reminded_at.map(from_ms).transpose()?,
            snoozed_until: self.snoozed_until.map(from_ms).transpose()?,
            roles,
            postmortem: PostmortemPlan {
                owner: self.postmortem_owner,
                due_at: self.postmortem_due_at.map(from_ms).transpose()?,
                done_at: self.postmortem_done_at.map(from_ms).transpose()?,
                link: self.postmortem_link,
            },
            archived_at: self.archived_at.map(from_ms).transpose()?,
            keep_channel: self.keep_channel != 0,
            drill: self.drill != 0,
            duplicate_of: self.duplicate_of,
            impact_started_at: self.impact_started_at.map(from_ms).transpose()?,
            impact_ended_at: self.impact_ended_at.map(from_ms).transpose()?,
            version: self.version,
        })
    }
}

/// How a cadence is stored: see [`IncidentRow`]'s `reminder_ms`.
pub(super) fn cadence_ms(cadence: Cadence) -> Option<i64> {
    match cadence {
        Cadence::Default => None,
        Cadence::Off => Some(0),
        Cadence::Every(every) => Some(every.num_milliseconds().max(1)),
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
        Ok((role(&self.role)?, self.user_id))
    }
}

fn role(word: &str) -> Result<Role, StoreError> {
    Role::parse(word).ok_or_else(|| StoreError::Corrupt(format!("role {word:?}")))
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
            role: role(&self.role)?,
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
        let entry =
            Entry::from_stored(&self.kind, parse_json(&self.data)?).map_err(StoreError::Corrupt)?;
        Ok(TimelineEvent {
            entry,
            actor: self.actor,
            at: from_ms(self.at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct JobRow {
    pub(super) id: i64,
    pub(super) incident_id: Option<i64>,
    pub(super) kind: String,
    pub(super) key: Option<String>,
    pub(super) payload: String,
    pub(super) attempt: i64,
    pub(super) generation: i64,
    pub(super) lane: Option<String>,
}

pub(super) fn parse_json(text: &str) -> Result<Value, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("JSON: {e}")))
}
