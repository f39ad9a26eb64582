//! The systems outside Slack, in the incident's words: a **page** (on-call called through
//! PagerDuty), a **public status** (an incident on the status page), a **ticket** (a follow-up
//! filed in the team's tracker: GitHub, GitLab, Jira or Linear), and what those systems tell
//! us back. The adapters (`crate::outside`) speak each system's protocol; this module is what
//! the rest of the bot knows of them.
//!
//! What a job learns about an outside object — PagerDuty's dedup key, the status page's incident
//! id — is one [`ExternalRef`]: (incident, system, kind, name) → reference, url, state. A new
//! system adds a [`Kind`], not a column.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::IncidentId;

/// What kind of outside object a reference names; each belongs to one system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A PagerDuty incident opened by paging a service (`name` is the service).
    Page,
    /// The incident published on the status page.
    StatusIncident,
    /// A follow-up's ticket in a tracker (`name` is the follow-up, [`FollowUpId`]).
    Ticket(Tracker),
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Page,
        Kind::StatusIncident,
        Kind::Ticket(Tracker::Github),
        Kind::Ticket(Tracker::Gitlab),
        Kind::Ticket(Tracker::Jira),
        Kind::Ticket(Tracker::Linear),
    ];

    /// The system the object lives in, as stored (`external_refs.system`).
    pub fn system(self) -> &'static str {
        match self {
            Kind::Page => "pagerduty",
            Kind::StatusIncident => "statuspage",
            Kind::Ticket(tracker) => tracker.as_str(),
        }
    }

    /// As stored (`external_refs.kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Page => "page",
            Kind::StatusIncident => "status_incident",
            Kind::Ticket(_) => "ticket",
        }
    }

    /// Reads the stored pair back.
    pub fn from_stored(system: &str, kind: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|k| k.system() == system && k.as_str() == kind)
    }
}

/// The trackers a follow-up can become a ticket in (`FOLLOWUP_TRACKER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tracker {
    Github,
    Gitlab,
    Jira,
    Linear,
}

impl Tracker {
    pub const ALL: [Tracker; 4] = [
        Tracker::Github,
        Tracker::Gitlab,
        Tracker::Jira,
        Tracker::Linear,
    ];

    /// As configured and stored: `github`, `gitlab`, `jira`, `linear`.
    pub fn as_str(self) -> &'static str {
        match self {
            Tracker::Github => "github",
            Tracker::Gitlab => "gitlab",
            Tracker::Jira => "jira",
            Tracker::Linear => "linear",
        }
    }

    /// How people name it: `GitHub`, `GitLab`, `Jira`, `Linear`.
    pub fn title(self) -> &'static str {
        match self {
            Tracker::Github => "GitHub",
            Tracker::Gitlab => "GitLab",
            Tracker::Jira => "Jira",
            Tracker::Linear => "Linear",
        }
    }

    pub fn parse(s: &str) -> Option<Tracker> {
        Tracker::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// A follow-up of an incident, named by when it was recorded (unix milliseconds): the timeline
/// is append-only and a person records one follow-up at a time, so the time names it for good —
/// in its ticket's marker, in the `/inc followups` button, in the ticket's timeline entries.
pub type FollowUpId = i64;

/// The marker a follow-up's ticket carries, unique across workspaces and incidents: before
/// creating a ticket again after an unknown outcome, the tracker is searched for it.
pub fn followup_marker(team: &str, incident_number: i64, followup: FollowUpId) -> String {
    format!("incident-commander-{team}-INC-{incident_number}-{followup}")
}

/// The labels a follow-up's ticket carries: `incident` and the incident's reference.
pub fn ticket_labels(incident_number: i64) -> [String; 2] {
    ["incident".to_string(), format!("INC-{incident_number}")]
}

/// What a tracker told us about a ticket (a webhook, or a poll), in our words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketNews {
    pub tracker: Tracker,
    /// The tracker's id of the ticket, as the external reference holds it.
    pub reference: String,
    /// Closed (done, completed, canceled) or open again.
    pub closed: bool,
    /// Who, by the tracker's name for them.
    pub by: Option<String>,
    /// The delivery's id, when a webhook carried it: the payload's idempotency key.
    pub delivery: Option<String>,
}

/// The states a ticket's reference holds.
pub mod ticket_state {
    pub const OPEN: &str = "open";
    pub const CLOSED: &str = "closed";
}

/// What we know of one outside object of an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalRef {
    pub incident: IncidentId,
    pub kind: Kind,
    /// Which object of its kind: the PagerDuty service; empty when an incident has one.
    pub name: String,
    /// The system's own id for it (the dedup key, the status-page incident id).
    pub reference: String,
    /// Where people see it.
    pub url: Option<String>,
    /// What the system last said of it (`triggered`, `acknowledged`, `resolved`; a status).
    pub state: Option<String>,
    /// Who, for that state (the person who acknowledged).
    pub detail: Option<String>,
}

/// What a person chose to publish on the status page (the status-page form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Publication {
    pub title: String,
    /// `investigating`, `identified`, `monitoring` or `resolved`.
    pub status: String,
    pub message: String,
    /// Component id → state.
    #[serde(default)]
    pub components: Vec<(String, String)>,
}

/// PagerDuty's states of a page, as the card shows them.
pub mod page_state {
    pub const TRIGGERED: &str = "triggered";
    pub const ACKNOWLEDGED: &str = "acknowledged";
    pub const RESOLVED: &str = "resolved";
}

/// What PagerDuty told us about a page (a v3 webhook), in our words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageNews {
    /// The webhook event's id: the payload's idempotency key (a replayed delivery changes
    /// nothing).
    pub event_id: String,
    pub what: PageEvent,
    /// The dedup key we sent: which incident, which service.
    pub key: String,
    /// Who did it (PagerDuty's name for the person), if a person did.
    pub by: Option<String>,
    /// Who the page is assigned to now.
    pub assignees: Vec<String>,
    pub at: DateTime<Utc>,
    /// PagerDuty's page for the incident.
    pub url: Option<String>,
}

/// The webhook events a page reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageEvent {
    Acknowledged,
    Escalated,
    Resolved,
    Reassigned,
}

impl PageEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            PageEvent::Acknowledged => "acknowledged",
            PageEvent::Escalated => "escalated",
            PageEvent::Resolved => "resolved",
            PageEvent::Reassigned => "reassigned",
        }
    }

    /// The state of the page after this event.
    pub fn state(self) -> &'static str {
        match self {
            PageEvent::Acknowledged => page_state::ACKNOWLEDGED,
            PageEvent::Resolved => page_state::RESOLVED,
            // Escalating or reassigning hands the page to someone new, who has not acknowledged.
            PageEvent::Escalated | PageEvent::Reassigned => page_state::TRIGGERED,
        }
    }
}

/// The dedup key of `incident`'s page of `service` in workspace `team`: the same for every page
/// of that service from that incident (PagerDuty keeps them as one), distinct across
/// workspaces sharing a PagerDuty account.
pub fn page_key(team: &str, incident_number: i64, service: &str) -> String {
    format!("{team}-INC-{incident_number}-{service}")
}

/// A link that opens `channel` of workspace `team` in Slack, for people reading elsewhere (a
/// page on a phone, a rule's post): Slack's redirect to the app or the browser.
pub fn channel_url(team: &str, channel: &str) -> String {
    format!("https://slack.com/app_redirect?team={team}&channel={channel}")
}

/// How long after the page `at` was something done, in words: "after 2 min".
pub fn after(paged_at: DateTime<Utc>, at: DateTime<Utc>) -> String {
    after_secs((at - paged_at).num_seconds())
}

/// [`after`], from a number of seconds.
pub fn after_secs(secs: i64) -> String {
    let secs = secs.max(0);
    match secs {
        0..60 => format!("after {secs} s"),
        60..3600 => format!("after {} min", secs / 60),
        _ => format!("after {} h {} min", secs / 3600, secs % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_key_names_workspace_incident_and_service() {
        let key = page_key("T0EXAMPLE", 7, "checkout");
        assert_eq!(key, "T0EXAMPLE-INC-7-checkout");
        assert_ne!(
            key,
            page_key("T0OTHER", 7, "checkout"),
            "another workspace's differs"
        );
    }

    #[test]
    fn kinds_read_back_from_what_is_stored() {
        for kind in Kind::ALL {
            assert_eq!(Kind::from_stored(kind.system(), kind.as_str()), Some(kind));
        }
        assert_eq!(Kind::from_stored("statuspage", "page"), None);
    }

    #[test]
    fn time_to_acknowledge_is_said_in_minutes() {
        let t0 = DateTime::from_timestamp(1_000_000, 0).unwrap();
        assert_eq!(after(t0, t0 + chrono::Duration::seconds(42)), "after 42 s");
        assert_eq!(
            after(t0, t0 + chrono::Duration::seconds(130)),
            "after 2 min"
        );
        assert_eq!(
            after(t0, t0 + chrono::Duration::seconds(3_720)),
            "after 1 h 2 min"
        );
    }
}
