//! The Slack adapter — **the only module that names slack-morphism types.**
//!
//! - [`api`]: outbound Web API calls in the bot's own terms ([`SlackApi`]), each with a timeout,
//!   Slack's errors classified as transient or permanent, `429 Retry-After` surfaced for the
//!   caller to wait out. Benign answers (`already_in_channel`, `already_pinned`) are successes.
//! - [`listener`]: Socket Mode's connection loop on tokio-tungstenite: connections and their
//!   states (readiness reads them), reconnection with backoff, refreshes without a gap, pings
//!   that find half-open sockets. Each envelope is answered on a task of its own.
//! - `envelope`: one envelope answered, whichever transport carried it (and Socket Mode's frame): its payload parsed with
//!   slack-morphism's models into an [`inbound`] value, the [`Inbound`] port (implemented by
//!   `app`) asked for the ack, the ack built. Handlers never create channels or post: that is
//!   the job worker's business, so the ack is never late.
//! - [`events_api`]: the HTTP transport (`SLACK_TRANSPORT=http`): Slack's request URLs for
//!   commands, interactivity and events, every request's signature verified first, each answered
//!   through the same `envelope` path and the same port as a Socket Mode envelope.
//! - [`oauth`]: installing in many workspaces through Slack's OAuth v2 flow: `/slack/install`,
//!   `/slack/oauth_redirect` with its signed, expiring state, and `oauth.v2.access` for the code
//!   and for token rotation's refresh, each grant handed to the application's `Installs` port.
//! - [`blocks`]: the domain's Slack-agnostic messages and modals rendered as Block Kit.
//! - `translate`: Slack's interaction and event payloads turned into [`inbound`] values.
//! - [`scopes`]: the scopes each Web API method needs (the manifest's source) and the scopes
//!   Slack granted.
//!
//! Nothing here touches the database or decides what an incident is.

mod answers;
pub mod api;
pub mod blocks;
mod envelope;
pub mod events_api;
pub mod inbound;
pub mod listener;
mod message;
pub mod oauth;
pub mod scopes;
mod translate;

pub use api::{BotIdentity, ChannelRef, ListedPin, SlackApi, SlackError};
pub use inbound::{
    Ack, Click, Event, EventKind, Inbound, Interaction, PinnedMessage, Shortcut, SlashCommand,
    Submission, Team,
};
pub use listener::{ConnectionCounts, Connections, SocketMode, SocketOptions};
