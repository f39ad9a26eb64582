//! The inbound port: what Slack asked of the bot, in plain terms, and the [`Inbound`] trait the
//! application implements. The listener depends on this, not on `app`.
//!
//! Three kinds of envelope arrive: slash commands, interactions (message shortcuts, modal
//! submissions, button clicks) and events. For each the application chooses the [`Ack`]; Slack
//! carries some acks only for some kinds (a view error only answers a modal submission; a slash
//! command may carry a message; events and clicks are acked bare), and the listener sends what
//! the envelope allows.

use chrono::{DateTime, Utc};

use crate::domain::modal::Values;
use crate::domain::source::SourceMessage;

/// The workspace an envelope came from: its team id (`T…`) and, on Enterprise Grid, its
/// organisation's id (`E…`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Team {
    pub id: String,
    pub enterprise: Option<String>,
}

/// A `/inc …` slash command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlashCommand {
    pub user_id: String,
    /// Where it was typed.
    pub channel_id: String,
    /// Everything after `/inc`.
    pub text: String,
    /// Unique per invocation: the command's idempotency key; also opens modals (3 s, once).
    pub trigger_id: String,
    /// Lets the bot answer the user ephemerally for 30 minutes (5 posts).
    pub response_url: String,
}

/// Something a person did in Slack's interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Interaction {
    MessageShortcut(Shortcut),
    ViewSubmission(Submission),
    ButtonClick(Click),
}

/// A message shortcut ("Declare incident") used on `source`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortcut {
    pub callback_id: String,
    pub user: String,
    pub trigger_id: String,
    pub response_url: String,
    pub source: SourceMessage,
}

/// A modal submitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    pub callback_id: String,
    /// The same for every submission of one modal (a double click submits twice).
    pub view_id: String,
    pub user: String,
    pub private_metadata: String,
    pub values: Values,
}

/// A button clicked in a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Click {
    pub action_id: String,
    pub value: String,
    pub user: String,
    pub trigger_id: String,
    pub response_url: Option<String>,
    /// Where the message with the button is.
    pub channel: Option<String>,
    pub message_ts: Option<String>,
}

/// Something that happened in a channel the bot is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Stable across Slack's redeliveries: the event's idempotency key.
    pub event_id: String,
    /// When it happened, by Slack's clock.
    pub at: DateTime<Utc>,
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// `user` pinned a message.
    PinAdded {
        channel: String,
        user: String,
        message: PinnedMessage,
    },
    /// `user` unpinned the message `ts`.
    PinRemoved {
        channel: String,
        user: String,
        ts: String,
    },
    /// The message `ts` now says `text`.
    MessageChanged {
        channel: String,
        ts: String,
        text: String,
    },
    MessageDeleted {
        channel: String,
        ts: String,
    },
    MemberJoined {
        channel: String,
        user: String,
    },
    /// The workspace removed the app (`app_uninstalled`), or revoked the bot's token
    /// (`tokens_revoked` naming a bot user).
    Uninstalled,
}

/// A message as a pin event carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedMessage {
    pub ts: String,
    /// `None` for a bot's message.
    pub author: Option<String>,
    pub author_label: Option<String>,
    /// Everything it says (text, attachments, blocks), as Slack mrkdwn.
    pub text: String,
}

/// The answer carried in the ack, chosen by the handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ack {
    /// Acknowledge with nothing to show (closes a submitted modal).
    Empty,
    /// Text only the person who asked sees (slash commands).
    Ephemeral(String),
    /// A message with blocks (buttons) only the person who asked sees (slash commands).
    EphemeralMessage(crate::domain::message::Message),
    /// Keep the submitted modal open and show each error under its field (block id).
    ViewErrors(Vec<(String, String)>),
}

impl Ack {
    pub fn ephemeral(text: impl Into<String>) -> Ack {
        Ack::Ephemeral(text.into())
    }
}

/// What the application does with inbound payloads. Implementations must return within a few
/// hundred milliseconds: Slack's deadline is 3 s, and an ack later than that counts as none.
/// Each envelope is answered on a task of its own, so a slow answer holds only its own ack.
#[async_trait::async_trait]
pub trait Inbound: Send + Sync + 'static {
    async fn slash_command(&self, team: Team, command: SlashCommand) -> Ack;
    async fn interaction(&self, team: Team, interaction: Interaction) -> Ack;
    /// Events are acked bare whatever happens; the handler records what it must.
    async fn event(&self, team: Team, event: Event);
}
