//! The inbound port: what Slack asked of the bot, in plain terms, and the [`Inbound`] trait the
//! application implements. The listener depends on this, not on `app`.

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

/// The ephemeral answer carried in the ack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub text: String,
}

impl Reply {
    pub fn new(text: impl Into<String>) -> Reply {
        Reply { text: text.into() }
    }
}

/// What the application does with inbound payloads. Implementations must return within a few
/// hundred milliseconds: Slack's deadline is 3 s and a connection's envelopes queue behind the
/// current one (SLACK-PLATFORM.md A1).
#[async_trait::async_trait]
pub trait Inbound: Send + Sync + 'static {
    async fn slash_command(&self, command: SlashCommand) -> Reply;
}
