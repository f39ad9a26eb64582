//! What the bot says, composed as Slack-agnostic [`Message`]s of [`Block`]s; `slack::blocks`
//! turns them into Block Kit. All user text is escaped as it is placed ([`escape`] for titles,
//! [`escape_keeping_mentions`](super::mrkdwn::escape_keeping_mentions) for free text where the
//! author meant to mention people), so nothing a user types can ping `@channel` or forge a link.
//!
//! - [`cards`]: what mirrors the incident's current state — the channel topic, the pinned
//!   incident card, the announcement, `/inc status`, `/inc roles`, `/inc list`;
//! - [`posts`]: what is posted once or replied — updates, role notices, escalations, the
//!   resolution, acks, failure reports;
//! - [`outside`]: pages and what became of them, the status page, and their lines on the card.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::mrkdwn::{self, escape};
use super::{Incident, Role};

pub mod aftercare;
pub mod cards;
pub mod outside;
pub mod posts;

pub use aftercare::*;
pub use cards::*;
pub use outside::*;
pub use posts::*;

/// Slack's limit on header block text.
pub(crate) const MAX_HEADER_CHARS: usize = 150;

/// A message: a mrkdwn fallback `text` (notifications, screen readers, clients without blocks)
/// and the blocks shown. Job payloads carry messages, so they serialise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub text: String,
    pub blocks: Vec<Block>,
}

/// Slack-agnostic layout blocks. Text is mrkdwn unless the variant says plain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "content", rename_all = "snake_case")]
pub enum Block {
    /// Large plain text (no mrkdwn, no mentions).
    Header(String),
    Section(String),
    /// Two-column label/value pairs.
    Fields(Vec<String>),
    /// Small grey text.
    Context(String),
    /// Buttons.
    Actions(Vec<Button>),
}

/// A button; a click comes back as an interaction with its `action_id` and `value`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    /// At most 75 characters (Slack's limit).
    pub text: String,
    pub action_id: String,
    pub value: String,
    /// Highlighted as the main action.
    #[serde(default)]
    pub primary: bool,
}

/// The bot's buttons, each on one incident: its `value` is the incident's id, and a click comes
/// back with its `action_id`. Every button the bot posts is made here ([`Action::on`]); the
/// application answers each through its one entry in `app::interactions::ACTIONS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// "Post update": opens the Update modal (on the incident card and the reminder).
    PostUpdate,
    /// "Take coordinator": takes the role (on the call to the coordinator group).
    TakeCoordinator,
    /// "Snooze 30m": snoozes the update reminder (on the reminder).
    Snooze,
    /// "Write postmortem": exports the draft, as `/inc postmortem` does (on the resolution).
    WritePostmortem,
    /// "Status page…": opens the status-page form, as `/inc statuspage` does (offered on the
    /// resolution when the public incident is still open, and by a rule).
    PublishStatus,
    /// "I'll write the postmortem": the clicker owns the postmortem (on the resolution).
    OwnPostmortem,
    /// "Create ticket": files a follow-up in the tracker (beside each follow-up without one, in
    /// `/inc followups`); its value names the follow-up too ([`Action::on_item`]).
    FileTicket,
}

impl Action {
    /// Every button, for the tests that hold the dispatch table to this list.
    pub const ALL: [Action; 7] = [
        Action::PostUpdate,
        Action::TakeCoordinator,
        Action::Snooze,
        Action::WritePostmortem,
        Action::PublishStatus,
        Action::FileTicket,
        Action::OwnPostmortem,
    ];

    /// The button's `action_id`.
    pub const fn id(self) -> &'static str {
        match self {
            Action::PostUpdate => "post_update",
            Action::TakeCoordinator => "take_coordinator",
            Action::Snooze => "snooze",
            Action::WritePostmortem => "write_postmortem",
            Action::PublishStatus => "publish_status",
            Action::FileTicket => "file_ticket",
            Action::OwnPostmortem => "own_postmortem",
        }
    }

    /// What the button says (at most 75 characters, Slack's limit).
    pub const fn label(self) -> &'static str {
        match self {
            Action::PostUpdate => "Post update",
            Action::TakeCoordinator => "Take coordinator",
            Action::Snooze => "Snooze 30m",
            Action::WritePostmortem => "Write postmortem",
            Action::PublishStatus => "Status page…",
            Action::FileTicket => "Create ticket",
            Action::OwnPostmortem => "I'll write the postmortem",
        }
    }

    /// The button for `incident`; all but "Snooze" are the message's main action.
    pub fn on(self, incident: &Incident) -> Button {
        Button {
            text: self.label().into(),
            action_id: self.id().into(),
            value: incident.id.to_string(),
            primary: !matches!(self, Action::Snooze | Action::OwnPostmortem),
        }
    }
}

impl Action {
    /// The button for item `item` of `incident` (a follow-up), labelled `label`: its value is
    /// `<incident id>:<item>`.
    pub fn on_item(self, incident: &Incident, item: i64, label: String) -> Button {
        Button {
            text: label,
            action_id: self.id().into(),
            value: format!("{}:{item}", incident.id),
            primary: false,
        }
    }
}

/// The item a button's value names after its incident (`<incident id>:<item>`).
pub fn button_item(value: &str) -> Option<i64> {
    value.split_once(':')?.1.parse().ok()
}

impl Message {
    /// A message of one section.
    pub fn text(text: impl Into<String>) -> Message {
        let text = text.into();
        Message {
            blocks: vec![Block::Section(text.clone())],
            text,
        }
    }
}

/// `<@U1>` or `_unassigned_`.
pub(crate) fn holder(incident: &Incident, role: Role) -> String {
    incident
        .holder(role)
        .map(mrkdwn::user)
        .unwrap_or_else(|| "_unassigned_".to_string())
}

/// A time every reader sees in their own time zone (Slack's date formatting), with UTC as the
/// fallback text.
pub(crate) fn when(at: DateTime<Utc>) -> String {
    format!(
        "<!date^{}^{{date_short_pretty}} at {{time}}|{}>",
        at.timestamp(),
        at.format("%Y-%m-%d %H:%M UTC")
    )
}

/// A duration as people say it: `under a minute`, `45 min`, `2 h 5 min`, `3 d 4 h`.
pub fn span(d: chrono::Duration) -> String {
    let minutes = d.num_minutes().max(0);
    let (days, hours, mins) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    match (days, hours, mins) {
        (0, 0, 0) => "under a minute".into(),
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, 0, _) => format!("{d} d"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

pub(crate) fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// `*INC-3* — Checkout is down`, title escaped.
pub(crate) fn headline(incident: &Incident) -> String {
    format!("*{}* — {}", incident.reference(), escape(&incident.title))
}

#[cfg(test)]
pub(crate) mod tests;
