//! Timeline events: every state change, with who caused it and when. The postmortem's timeline is
//! built from these plus the channel's pins.

use chrono::{DateTime, Utc};
use serde_json::Value;

/// What happened. Stored as its `as_str` form; new kinds are added as capabilities arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimelineKind {
    /// The incident was declared (data: title, severity, status, source).
    Declared,
    /// Its channel exists (data: channel id and name; `adopted` when a retry found it).
    ChannelCreated,
    /// It was announced in the announce channel (data: channel, ts).
    Announced,
    /// A Slack side effect failed for good and was reported (data: step, error).
    StepFailed,
}

impl TimelineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TimelineKind::Declared => "declared",
            TimelineKind::ChannelCreated => "channel_created",
            TimelineKind::Announced => "announced",
            TimelineKind::StepFailed => "step_failed",
        }
    }

    pub fn parse(s: &str) -> Option<TimelineKind> {
        [
            TimelineKind::Declared,
            TimelineKind::ChannelCreated,
            TimelineKind::Announced,
            TimelineKind::StepFailed,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// One entry of an incident's timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineEvent {
    pub kind: TimelineKind,
    /// The Slack user who caused it, or `None` for the bot's own doing.
    pub actor: Option<String>,
    pub at: DateTime<Utc>,
    pub data: Value,
}
