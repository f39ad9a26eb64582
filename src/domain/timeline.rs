//! The timeline: every state change of an incident, with who caused it and when.
//!
//! An [`Entry`] is a serde-tagged enum, not free JSON: the postmortem reads the timeline long
//! after it was written and relies on each kind's fields. The store keeps the tag (`kind`) in its
//! own column for queries and the whole entry as JSON. Renaming a variant or a field breaks every
//! stored row, so don't: add new variants and optional fields instead. (The foundation's rows —
//! `declared`, `channel_created`, `announced`, `step_failed` — already have these shapes.)

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::outside::{PageEvent, Tracker};
use super::{Role, Severity, Status, UserId};

/// The kind the postmortem export leaves: the store asks for it by name (the digest, `/inc
/// stats`), so it is spelled once.
pub const POSTMORTEM_EXPORTED: &str = "postmortem_exported";

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    /// The incident was declared, with its first role holders.
    Declared {
        title: String,
        severity: Severity,
        status: Status,
        #[serde(default)]
        private: bool,
        #[serde(default)]
        roles: BTreeMap<Role, UserId>,
        /// The services the Declare form said are affected (rules match them as the label
        /// `service`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        services: Vec<String>,
    },
    /// Its channel exists; `adopted` when a retry found the channel Slack had already created.
    ChannelCreated {
        channel_id: String,
        name: String,
        #[serde(default)]
        adopted: bool,
    },
    /// It was announced in the announce channel.
    Announced {
        channel: String,
        ts: String,
    },
    /// A Slack side effect failed for good and was reported.
    StepFailed {
        step: String,
        error: String,
    },
    /// The status moved between two working statuses (resolve, decline and reopen have their
    /// own entries).
    StatusChanged {
        from: Status,
        to: Status,
    },
    SeverityChanged {
        from: Severity,
        to: Severity,
    },
    /// Somebody took an empty role.
    RoleAssigned {
        role: Role,
        user: UserId,
    },
    /// Somebody took a held role over from its holder.
    RoleHandedOver {
        role: Role,
        from: UserId,
        to: UserId,
    },
    /// A role was left empty.
    RoleReleased {
        role: Role,
        user: UserId,
    },
    /// A status update for the people waiting for news (`status` when it also changed status).
    Update {
        text: String,
        #[serde(default)]
        status: Option<Status>,
    },
    SummarySet {
        text: String,
    },
    Note {
        text: String,
    },
    /// An action item to follow up after the incident.
    FollowUp {
        text: String,
    },
    /// People (or every member of a user group) were brought in and pinged.
    Escalated {
        #[serde(default)]
        users: Vec<UserId>,
        #[serde(default)]
        group: Option<String>,
        #[serde(default)]
        message: Option<String>,
    },
    Resolved {
        from: Status,
        #[serde(default)]
        text: Option<String>,
    },
    Declined {
        #[serde(default)]
        reason: Option<String>,
    },
    Reopened {
        from: Status,
    },
    /// The message the incident was declared from (the shortcut), copied as it was.
    SourceMessage {
        channel: String,
        ts: String,
        #[serde(default)]
        author: Option<UserId>,
        #[serde(default)]
        author_label: Option<String>,
        text: String,
        #[serde(default)]
        permalink: Option<String>,
    },
    /// A message of the incident channel was pinned (the actor pinned it): findings and
    /// decisions, the incident's state document. `ts` is the message's own time.
    Pinned {
        ts: String,
        #[serde(default)]
        author: Option<UserId>,
        #[serde(default)]
        author_label: Option<String>,
        text: String,
    },
    Unpinned {
        ts: String,
    },
    /// A pinned message was edited; `text` is what it says now.
    PinEdited {
        ts: String,
        text: String,
    },
    /// A pinned message was deleted.
    PinDeleted {
        ts: String,
    },
    /// Somebody joined the incident channel.
    Joined {
        user: UserId,
    },
    /// The update reminder was snoozed until then.
    Snoozed {
        until: DateTime<Utc>,
    },
    /// `/inc remind`: `off`, `default`, or an interval such as `15m`.
    RemindersSet {
        to: String,
    },
    /// The bot reminded the team to post an update, `late_ms` milliseconds after it was due.
    Reminded {
        #[serde(default)]
        late_ms: i64,
    },
    /// Nobody was coordinating ten minutes in: the bot said so.
    Nudged {},
    /// The postmortem draft was exported (`/inc postmortem`): its version (1 for the first) and
    /// the Slack file it was uploaded as.
    PostmortemExported {
        version: i64,
        #[serde(default)]
        file: Option<String>,
    },
    // --- alert intake (docs/alerts.md) ---
    /// A monitor sent an alert: the first one opened the incident, later ones with the same
    /// fingerprint repeated it while it was open.
    AlertReceived {
        /// Who sent it: `alertmanager`, or the generic body's `source`.
        source: String,
        /// What identifies the alert: the generic `fingerprint`, or Alertmanager's `groupKey`.
        fingerprint: String,
        title: String,
        #[serde(default)]
        severity: Option<Severity>,
        #[serde(default)]
        summary: Option<String>,
        #[serde(default)]
        link: Option<String>,
        /// The alert's labels, for the rules that match on them.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        labels: BTreeMap<String, String>,
    },
    /// The monitor said the alert is over. The incident stays as it is: people resolve it.
    AlertResolved {
        source: String,
        fingerprint: String,
        #[serde(default)]
        title: Option<String>,
        #[serde(default)]
        link: Option<String>,
    },
    // --- outside systems (docs/integrations.md) ---
    /// On-call of `service` was paged through PagerDuty (by the actor, or by a rule).
    Paged {
        service: String,
        #[serde(default)]
        message: Option<String>,
        /// The rule of `RULES_FILE` that paged, when no person did.
        #[serde(default)]
        rule: Option<String>,
    },
    /// PagerDuty told us what became of a page: acknowledged, escalated, resolved, reassigned.
    PageNews {
        service: String,
        what: PageEvent,
        /// PagerDuty's name for who did it.
        #[serde(default)]
        by: Option<String>,
        /// Who the page is assigned to now.
        #[serde(default)]
        assignees: Vec<String>,
        /// Seconds since the service was paged.
        #[serde(default)]
        after_s: Option<i64>,
    },
    /// The incident was published on the status page (created or updated there).
    StatusPublished {
        title: String,
        status: String,
        #[serde(default)]
        message: Option<String>,
        #[serde(default)]
        url: Option<String>,
    },
    /// A rule of `RULES_FILE` matched; `actions` are what it asked for (each once per incident).
    RuleApplied {
        rule: String,
        actions: Vec<String>,
    },
    /// The follow-up recorded at `followup` (unix milliseconds) became ticket `ticket` (`#12`,
    /// `OPS-4`) in the tracker.
    TicketOpened {
        followup: i64,
        tracker: Tracker,
        ticket: String,
        #[serde(default)]
        url: Option<String>,
    },
    /// The postmortem's owner or deadline was set.
    PostmortemPlanned {
        #[serde(default)]
        owner: Option<UserId>,
        #[serde(default)]
        due_at: Option<DateTime<Utc>>,
    },
    /// The postmortem is done: where it lives.
    PostmortemDone {
        link: String,
    },
    /// The bot reminded the postmortem's owner.
    PostmortemReminded {},
    /// The bot archived the incident channel.
    ChannelArchived {},
    /// `/inc keep`: the channel is never archived.
    ChannelKept {},
    /// The customer impact as set now: when it started and ended, and who is affected.
    ImpactSet {
        #[serde(default)]
        started_at: Option<DateTime<Utc>>,
        #[serde(default)]
        ended_at: Option<DateTime<Utc>>,
        #[serde(default)]
        who: Option<String>,
    },
    /// Closed as a duplicate of `original` (`INC-7`).
    DuplicateOf {
        original: String,
    },
    /// The tracker said the follow-up's ticket was closed, or opened again.
    TicketChanged {
        followup: i64,
        ticket: String,
        closed: bool,
        /// The tracker's name for who did it.
        #[serde(default)]
        by: Option<String>,
    },
}

impl Entry {
    /// The stored tag: the same word the JSON carries as `kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Entry::Declared { .. } => "declared",
            Entry::ChannelCreated { .. } => "channel_created",
            Entry::Announced { .. } => "announced",
            Entry::StepFailed { .. } => "step_failed",
            Entry::StatusChanged { .. } => "status_changed",
            Entry::SeverityChanged { .. } => "severity_changed",
            Entry::RoleAssigned { .. } => "role_assigned",
            Entry::RoleHandedOver { .. } => "role_handed_over",
            Entry::RoleReleased { .. } => "role_released",
            Entry::Update { .. } => "update",
            Entry::SummarySet { .. } => "summary_set",
            Entry::Note { .. } => "note",
            Entry::FollowUp { .. } => "follow_up",
            Entry::Escalated { .. } => "escalated",
            Entry::Resolved { .. } => "resolved",
            Entry::Declined { .. } => "declined",
            Entry::Reopened { .. } => "reopened",
            Entry::SourceMessage { .. } => "source_message",
            Entry::Pinned { .. } => "pinned",
            Entry::Unpinned { .. } => "unpinned",
            Entry::PinEdited { .. } => "pin_edited",
            Entry::PinDeleted { .. } => "pin_deleted",
            Entry::Joined { .. } => "joined",
            Entry::Snoozed { .. } => "snoozed",
            Entry::RemindersSet { .. } => "reminders_set",
            Entry::Reminded { .. } => "reminded",
            Entry::Nudged { .. } => "nudged",
            Entry::PostmortemExported { .. } => POSTMORTEM_EXPORTED,
            Entry::AlertReceived { .. } => "alert_received",
            Entry::AlertResolved { .. } => "alert_resolved",
            Entry::Paged { .. } => "paged",
            Entry::PageNews { .. } => "page_news",
            Entry::StatusPublished { .. } => "status_published",
            Entry::RuleApplied { .. } => "rule_applied",
            Entry::PostmortemPlanned { .. } => "postmortem_planned",
            Entry::PostmortemDone { .. } => "postmortem_done",
            Entry::PostmortemReminded { .. } => "postmortem_reminded",
            Entry::ChannelArchived { .. } => "channel_archived",
            Entry::ChannelKept { .. } => "channel_kept",
            Entry::DuplicateOf { .. } => "duplicate_of",
            Entry::ImpactSet { .. } => "impact_set",
            Entry::TicketOpened { .. } => "ticket_opened",
            Entry::TicketChanged { .. } => "ticket_changed",
        }
    }

    /// The status the incident has after this entry, when the entry changed it (or set it first).
    pub fn status_after(&self) -> Option<Status> {
        match self {
            Entry::Declared { status, .. } => Some(*status),
            Entry::StatusChanged { to, .. } => Some(*to),
            Entry::Resolved { .. } => Some(Status::Resolved),
            Entry::Declined { .. } | Entry::DuplicateOf { .. } => Some(Status::Declined),
            Entry::Reopened { .. } => Some(Status::Investigating),
            _ => None,
        }
    }

    /// Reads an entry back from its stored `kind` and JSON. The tag is taken from the column, so
    /// rows written before the JSON carried it read back too.
    pub fn from_stored(kind: &str, data: serde_json::Value) -> Result<Entry, String> {
        let mut data = match data {
            serde_json::Value::Object(map) => map,
            other => return Err(format!("{kind} entry is not an object: {other}")),
        };
        data.insert("kind".into(), serde_json::Value::from(kind));
        serde_json::from_value(serde_json::Value::Object(data))
            .map_err(|e| format!("{kind} entry: {e}"))
    }

    /// The JSON to store (it carries its `kind` too).
    pub fn to_stored(&self) -> serde_json::Value {
        // Serialising plain data into a Value cannot fail.
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// One entry of an incident's timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineEvent {
    pub entry: Entry,
    /// The Slack user who caused it, or `None` for the bot's own doing.
    pub actor: Option<UserId>,
    pub at: DateTime<Utc>,
}

impl TimelineEvent {
    pub fn kind(&self) -> &'static str {
        self.entry.kind()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sev(n: &str) -> Severity {
        Severity::parse(n, 3).expect("sev")
    }

    fn one_of_each() -> Vec<Entry> {
        vec![
            Entry::Declared {
                title: "Checkout".into(),
                severity: sev("1"),
                status: Status::Investigating,
                private: false,
                roles: BTreeMap::from([(Role::Coordinator, "U1".into())]),
                services: vec!["checkout".into()],
            },
            Entry::ChannelCreated {
                channel_id: "C1".into(),
                name: "inc-1".into(),
                adopted: false,
            },
            Entry::Announced {
                channel: "C2".into(),
                ts: "1.2".into(),
            },
            Entry::StepFailed {
                step: "set_topic".into(),
                error: "restricted_action".into(),
            },
            Entry::StatusChanged {
                from: Status::Investigating,
                to: Status::Fixing,
            },
            Entry::SeverityChanged {
                from: sev("2"),
                to: sev("1"),
            },
            Entry::RoleAssigned {
                role: Role::Operator,
                user: "U2".into(),
            },
            Entry::RoleHandedOver {
                role: Role::Coordinator,
                from: "U1".into(),
                to: "U2".into(),
            },
            Entry::RoleReleased {
                role: Role::Comms,
                user: "U3".into(),
            },
            Entry::Update {
                text: "Rolled back".into(),
                status: Some(Status::Monitoring),
            },
            Entry::SummarySet { text: "s".into() },
            Entry::Note { text: "n".into() },
            Entry::FollowUp { text: "f".into() },
            Entry::Escalated {
                users: vec!["U4".into()],
                group: Some("S1".into()),
                message: None,
            },
            Entry::Resolved {
                from: Status::Monitoring,
                text: None,
            },
            Entry::Declined {
                reason: Some("false alarm".into()),
            },
            Entry::Reopened {
                from: Status::Resolved,
            },
            Entry::SourceMessage {
                channel: "C9".into(),
                ts: "1.2".into(),
                author: None,
                author_label: Some("Alertmanager".into()),
                text: "[FIRING:1] x".into(),
                permalink: None,
            },
            Entry::Pinned {
                ts: "3.4".into(),
                author: Some("U1".into()),
                author_label: None,
                text: "Rolled back".into(),
            },
            Entry::Unpinned { ts: "3.4".into() },
            Entry::PinEdited {
                ts: "3.4".into(),
                text: "Rolled back 4711".into(),
            },
            Entry::PinDeleted { ts: "3.4".into() },
            Entry::Joined { user: "U5".into() },
            Entry::Snoozed {
                until: DateTime::from_timestamp(1_800_000_000, 0).expect("time"),
            },
            Entry::RemindersSet { to: "15m".into() },
            Entry::Reminded { late_ms: 3000 },
            Entry::Nudged {},
            Entry::PostmortemExported {
                version: 2,
                file: Some("F1".into()),
            },
            Entry::AlertReceived {
                source: "ci".into(),
                fingerprint: "deploy-failed".into(),
                title: "Deploy failed".into(),
                severity: Some(sev("2")),
                summary: None,
                link: Some("https://ci.example.com/1".into()),
                labels: BTreeMap::from([("service".into(), "checkout".into())]),
            },
            Entry::AlertResolved {
                source: "alertmanager".into(),
                fingerprint: "{}:{alertname=\"X\"}".into(),
                title: None,
                link: None,
            },
            Entry::Paged {
                service: "checkout".into(),
                message: Some("Card payments fail".into()),
                rule: None,
            },
            Entry::PageNews {
                service: "checkout".into(),
                what: crate::domain::outside::PageEvent::Acknowledged,
                by: Some("Dana".into()),
                assignees: vec!["Dana".into()],
                after_s: Some(120),
            },
            Entry::StatusPublished {
                title: "Checkout degraded".into(),
                status: "identified".into(),
                message: Some("A fix is rolling out".into()),
                url: Some("https://stspg.io/x".into()),
            },
            Entry::RuleApplied {
                rule: "Checkout outages page on-call".into(),
                actions: vec!["page checkout".into()],
            },
            Entry::PostmortemPlanned {
                owner: Some("U0DANA".into()),
                due_at: DateTime::from_timestamp(1_800_000_000, 0),
            },
            Entry::PostmortemDone {
                link: "https://wiki.example.com/pm/inc-7".into(),
            },
            Entry::PostmortemReminded {},
            Entry::ChannelArchived {},
            Entry::ChannelKept {},
            Entry::DuplicateOf {
                original: "INC-7".into(),
            },
            Entry::ImpactSet {
                started_at: DateTime::from_timestamp(1_800_000_000, 0),
                ended_at: None,
                who: Some("EU card payments".into()),
            },
            Entry::TicketOpened {
                followup: 1_800_000_000_123,
                tracker: Tracker::Jira,
                ticket: "OPS-4".into(),
                url: Some("https://example.atlassian.net/browse/OPS-4".into()),
            },
            Entry::TicketChanged {
                followup: 1_800_000_000_123,
                ticket: "OPS-4".into(),
                closed: true,
                by: Some("Dana Scully".into()),
            },
        ]
    }

    #[test]
    fn every_entry_round_trips_through_its_stored_form_and_names_its_kind() {
        for entry in one_of_each() {
            let stored = entry.to_stored();
            assert_eq!(stored["kind"], entry.kind(), "{entry:?}");
            assert_eq!(Entry::from_stored(entry.kind(), stored), Ok(entry));
        }
    }

    #[test]
    fn rows_written_by_the_foundation_still_read() {
        let declared = Entry::from_stored(
            "declared",
            json!({"title": "Checkout is down", "severity": "sev1", "status": "investigating",
                   "private": false, "roles": {"coordinator": "U0ALICE"}}),
        )
        .expect("declared");
        assert_eq!(
            declared,
            Entry::Declared {
                title: "Checkout is down".into(),
                severity: sev("1"),
                status: Status::Investigating,
                private: false,
                roles: BTreeMap::from([(Role::Coordinator, "U0ALICE".into())]),
                services: Vec::new(),
            }
        );
        for (kind, data) in [
            (
                "channel_created",
                json!({"channel_id": "C1", "name": "inc-1", "adopted": true}),
            ),
            ("announced", json!({"channel": "C1", "ts": "1.2"})),
            ("step_failed", json!({"step": "invite", "error": "x"})),
            (
                "alert_received",
                json!({"source": "ci", "fingerprint": "f", "title": "t"}),
            ),
            (
                "alert_resolved",
                json!({"source": "ci", "fingerprint": "f"}),
            ),
        ] {
            let entry = Entry::from_stored(kind, data).expect(kind);
            assert_eq!(entry.kind(), kind);
        }
    }

    #[test]
    fn a_stored_row_of_an_unknown_kind_is_an_error_not_a_panic() {
        assert!(Entry::from_stored("teleported", json!({})).is_err());
        assert!(Entry::from_stored("note", json!("not an object")).is_err());
    }

    #[test]
    fn entries_that_move_the_status_say_where_to() {
        let moved: Vec<Option<Status>> = one_of_each().iter().map(Entry::status_after).collect();
        // declared, status_changed, resolved, declined, reopened, duplicate_of.
        assert_eq!(moved.iter().filter(|s| s.is_some()).count(), 6);
        assert_eq!(
            Entry::Reopened {
                from: Status::Declined
            }
            .status_after(),
            Some(Status::Investigating)
        );
    }
}
