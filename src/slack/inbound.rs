//! The inbound port: what Slack asked of the bot, in plain terms, and the [`Inbound`] trait the
//! application implements. The listener depends on this, not on `app`.

use crate::domain::message::Message;

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

/// The answer carried in the ack, chosen by the handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ack {
    /// Acknowledge with nothing to show.
    Empty,
    /// Text only the person who asked sees.
    Ephemeral(String),
    /// A message everyone in the channel sees.
    InChannel(Message),
}

impl Ack {
    pub fn ephemeral(text: impl Into<String>) -> Ack {
        Ack::Ephemeral(text.into())
    }
}

/// What the application does with inbound payloads. Implementations must return within a few
/// hundred milliseconds: Slack's deadline is 3 s, and slack-morphism handles a connection's
/// envelopes one at a time, so every envelope behind a slow one waits too.
#[async_trait::async_trait]
pub trait Inbound: Send + Sync + 'static {
    async fn slash_command(&self, command: SlashCommand) -> Ack;
}
