//! The incident record and the decision of what a declaration creates.

use chrono::{DateTime, Utc};

use super::reminder::Cadence;
use super::source::SourceMessage;
use super::timeline::Entry;
use super::{ChannelId, Role, Severity, Status, UserId};

/// The store's primary key for an incident (not shown to users; they see [`Incident::reference`]).
pub type IncidentId = i64;

/// An incident as stored, with its current role holders.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    pub id: IncidentId,
    /// Sequential, gapless, shown as `INC-<number>`.
    pub number: i64,
    pub title: String,
    pub severity: Severity,
    pub status: Status,
    /// Private incidents get a private channel, no announcement, and are listed only for members.
    pub private: bool,
    pub summary: Option<String>,
    /// Who or what is affected (customers, services), from the Declare modal or `/inc impact`.
    pub impact: Option<String>,
    /// When customers started (and stopped) being affected (`/inc impact start … end …`).
    pub impact_started_at: Option<DateTime<Utc>>,
    pub impact_ended_at: Option<DateTime<Utc>>,
    /// The message it was declared from (the shortcut), if any.
    pub source: Option<SourceRef>,
    /// Set once Slack created (or the bot adopted) the channel.
    pub channel_id: Option<ChannelId>,
    /// The channel name last attempted; equal to the real name once `channel_id` is set.
    pub channel_name: Option<String>,
    /// `ts` of the pinned incident card in the incident channel.
    pub card_ts: Option<String>,
    pub announcement_channel: Option<ChannelId>,
    pub announcement_ts: Option<String>,
    pub declared_by: UserId,
    pub declared_at: DateTime<Utc>,
    /// When the last status update was posted (declaration counts as the first).
    pub last_update_at: DateTime<Utc>,
    /// When it was resolved or declined; `None` while open (and again after a reopen).
    pub resolved_at: Option<DateTime<Utc>>,
    /// How often it is reminded to post updates (`/inc remind`).
    pub cadence: Cadence,
    /// When the bot last reminded it.
    pub last_reminded_at: Option<DateTime<Utc>>,
    /// No update is owed before this: a snooze, or a new cadence counting from when it was set.
    pub snoozed_until: Option<DateTime<Utc>>,
    /// Current holders, one per role at most.
    pub roles: Vec<(Role, UserId)>,
    /// After the incident: who writes the postmortem, by when, and where it ended up.
    pub postmortem: PostmortemPlan,
    /// When the bot archived the channel.
    pub archived_at: Option<DateTime<Utc>>,
    /// `/inc keep`: the channel is never archived.
    pub keep_channel: bool,
    /// An exercise: marked DRILL everywhere, pages nobody, left out of the reports.
    pub drill: bool,
    /// Closed as a duplicate of this incident (`/inc duplicate INC-n`).
    pub duplicate_of: Option<IncidentId>,
    /// Bumped by every recorded change: a change is stored only if nobody else changed the
    /// incident since it was loaded (two replicas, two quick commands).
    pub version: i64,
}

/// The postmortem's owner and deadline (set at resolution, or by `/inc postmortem owner|due`),
/// and when it was done and where it lives (`/inc postmortem done <link>`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostmortemPlan {
    pub owner: Option<UserId>,
    pub due_at: Option<DateTime<Utc>>,
    pub done_at: Option<DateTime<Utc>>,
    pub link: Option<String>,
}

/// Where the message an incident was declared from is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRef {
    pub channel: ChannelId,
    pub ts: String,
    pub permalink: Option<String>,
}

impl Incident {
    /// `INC-42`.
    pub fn reference(&self) -> String {
        format!("INC-{}", self.number)
    }

    /// Who holds `role` now.
    pub fn holder(&self, role: Role) -> Option<&str> {
        self.roles
            .iter()
            .find(|(r, _)| *r == role)
            .map(|(_, u)| u.as_str())
    }

    /// Whether `user` may see this incident in lists: everyone for public incidents; for private
    /// ones the declarer, anyone who holds a role, and the channel's members (`participant`).
    pub fn visible_to(&self, user: &str, participant: bool) -> bool {
        !self.private
            || participant
            || self.declared_by == user
            || self.roles.iter().any(|(_, u)| u == user)
    }

    /// Sets `role`'s holder (`None`: nobody).
    pub fn set_holder(&mut self, role: Role, user: Option<UserId>) {
        self.roles.retain(|(r, _)| *r != role);
        if let Some(user) = user {
            self.roles.push((role, user));
            self.roles.sort_by_key(|(r, _)| *r);
        }
    }
}

/// What a declaration creates, before the store gives it an id and a number.
#[derive(Debug, Clone, PartialEq)]
pub struct NewIncident {
    pub title: String,
    pub severity: Severity,
    pub status: Status,
    pub private: bool,
    pub summary: Option<String>,
    pub impact: Option<String>,
    /// The message it is declared from (the shortcut).
    pub source: Option<SourceMessage>,
    pub declared_by: UserId,
    pub declared_at: DateTime<Utc>,
    /// Role holders from the start.
    pub roles: Vec<(Role, UserId)>,
    /// The services the Declare form said are affected.
    pub services: Vec<String>,
    /// An exercise (`/inc declare drill …`, the form's "This is a drill").
    pub drill: bool,
    /// When customers started being affected (the form's "Customers affected since").
    pub impact_started_at: Option<DateTime<Utc>>,
}

impl NewIncident {
    /// The incident this becomes once stored as `id`, numbered `number`: no channel, card or
    /// announcement yet.
    pub fn stored(mut self, id: IncidentId, number: i64) -> Incident {
        self.roles.sort_by_key(|(r, _)| *r);
        Incident {
            id,
            number,
            title: self.title,
            severity: self.severity,
            status: self.status,
            private: self.private,
            summary: self.summary,
            impact: self.impact,
            source: self.source.map(|s| SourceRef {
                channel: s.channel,
                ts: s.ts,
                permalink: s.permalink,
            }),
            channel_id: None,
            channel_name: None,
            card_ts: None,
            announcement_channel: None,
            announcement_ts: None,
            declared_by: self.declared_by,
            declared_at: self.declared_at,
            last_update_at: self.declared_at,
            resolved_at: None,
            cadence: Cadence::Default,
            last_reminded_at: None,
            snoozed_until: None,
            roles: self.roles,
            postmortem: PostmortemPlan::default(),
            archived_at: None,
            keep_channel: false,
            drill: self.drill,
            duplicate_of: None,
            impact_started_at: self.impact_started_at,
            impact_ended_at: None,
            version: 0,
        }
    }

    /// The timeline an incident starts with: its declaration, then the copy of the message it
    /// was declared from (the shortcut), if any.
    pub fn opening_entries(&self) -> Vec<Entry> {
        let declared = Entry::Declared {
            title: self.title.clone(),
            severity: self.severity,
            status: self.status,
            private: self.private,
            roles: self.roles.iter().cloned().collect(),
            services: self.services.clone(),
        };
        let copied = self.source.as_ref().map(SourceMessage::entry);
        std::iter::once(declared).chain(copied).collect()
    }

    /// The keyboard fast path (`/inc declare <sev> [triage] <title>`): `triage` starts the
    /// incident unconfirmed. The declarer becomes coordinator — or operator, when a coordinator
    /// group is configured to offer the coordinator role to (the process where a reporter is
    /// rarely a trained coordinator).
    pub fn from_fast_path(
        declarer: &str,
        severity: Severity,
        triage: bool,
        title: &str,
        coordinator_group: bool,
        now: DateTime<Utc>,
    ) -> NewIncident {
        let role = if coordinator_group {
            Role::Operator
        } else {
            Role::Coordinator
        };
        NewIncident {
            title: title.to_string(),
            severity,
            status: if triage {
                Status::Triage
            } else {
                Status::Investigating
            },
            private: false,
            summary: None,
            impact: None,
            source: None,
            declared_by: declarer.to_string(),
            declared_at: now,
            roles: vec![(role, declarer.to_string())],
            services: Vec::new(),
            drill: false,
            impact_started_at: None,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn sample(number: i64) -> Incident {
        Incident {
            id: number,
            number,
            title: "Checkout is down".into(),
            severity: Severity::parse("sev1", 3).expect("sev1"),
            status: Status::Investigating,
            private: false,
            summary: None,
            impact: None,
            source: None,
            channel_id: Some("C0INC".into()),
            channel_name: Some(format!("inc-{number}-checkout-is-down")),
            card_ts: None,
            announcement_channel: None,
            announcement_ts: None,
            declared_by: "U0ALICE".into(),
            declared_at: DateTime::from_timestamp(1_795_372_298, 0).expect("time"),
            last_update_at: DateTime::from_timestamp(1_795_372_298, 0).expect("time"),
            resolved_at: None,
            cadence: Cadence::Default,
            last_reminded_at: None,
            snoozed_until: None,
            roles: vec![(Role::Coordinator, "U0ALICE".into())],
            postmortem: PostmortemPlan::default(),
            archived_at: None,
            keep_channel: false,
            drill: false,
            duplicate_of: None,
            impact_started_at: None,
            impact_ended_at: None,
            version: 0,
        }
    }

    #[test]
    fn the_fast_path_makes_the_declarer_coordinator() {
        let now = DateTime::from_timestamp(0, 0).expect("time");
        let sev = Severity::parse("2", 3).expect("sev");
        let new = NewIncident::from_fast_path("U1", sev, false, "DB slow", false, now);
        assert_eq!(new.status, Status::Investigating);
        assert_eq!(new.roles, vec![(Role::Coordinator, "U1".to_string())]);
        let triage = NewIncident::from_fast_path("U1", sev, true, "DB slow", false, now);
        assert_eq!(triage.status, Status::Triage);
        let grouped = NewIncident::from_fast_path("U1", sev, false, "DB slow", true, now);
        assert_eq!(grouped.roles, vec![(Role::Operator, "U1".to_string())]);
    }

    #[test]
    fn private_incidents_are_visible_only_to_their_people() {
        let mut inc = sample(1);
        inc.private = true;
        inc.roles.push((Role::Operator, "U0BOB".into()));
        assert!(inc.visible_to("U0ALICE", false));
        assert!(inc.visible_to("U0BOB", false));
        assert!(!inc.visible_to("U0MALLORY", false));
        assert!(inc.visible_to("U0CAROL", true), "a member of its channel");
        inc.private = false;
        assert!(inc.visible_to("U0MALLORY", false));
    }
}
