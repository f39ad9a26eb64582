//! The Slack adapter — **the only module that names slack-morphism types.**
//!
//! - [`api`]: outbound Web API calls in the bot's own terms ([`SlackApi`]), each with a timeout,
//!   Slack's errors classified as transient or permanent, `429 Retry-After` surfaced for the
//!   caller to wait out. Benign answers (`already_in_channel`, `already_pinned`) are successes.
//! - [`listener`]: Socket Mode. Handlers turn envelopes into [`inbound`] values, ask the
//!   [`Inbound`] port (implemented by `app`) for the ack, and return. They never create channels
//!   or post: that is the job worker's business, so the ack is never late.
//! - [`blocks`]: the domain's Slack-agnostic messages and modals rendered as Block Kit.
//! - `translate`: Slack's interaction and event payloads turned into [`inbound`] values.
//! - [`scopes`]: the scopes each Web API method needs (the manifest's source) and the scopes
//!   Slack granted.
//!
//! Nothing here touches the database or decides what an incident is.

pub mod api;
pub mod blocks;
pub mod inbound;
pub mod listener;
mod message;
pub mod scopes;
mod translate;

pub use api::{BotIdentity, ChannelRef, ListedPin, SlackApi, SlackError};
pub use inbound::{Ack, Event, EventKind, Inbound, Interaction, PinnedMessage, SlashCommand};
pub use listener::{Connections, SocketMode, SocketOptions};
