//! The domain: what an incident is and the rules it follows. **Pure.**
//!
//! Nothing here performs I/O or reads a clock: no sqlx, no slack_morphism, no tokio, no
//! `Utc::now()`. Time arrives as an argument (`now`). Everything in this module can be tested
//! with plain values, and `tests/it/architecture.rs` fails the build if that stops being true.
//!
//! - [`severity`], [`status`], [`role`]: the vocabulary of the process (PRODUCT.md §1).
//! - [`incident`]: the incident record and the decision of what a declaration creates.
//! - [`command`]: the `/inc` command language, parsed with no network or database.
//! - [`slug`]: channel names (`inc-42-checkout-is-down`, ≤ 80 characters).
//! - [`mrkdwn`]: escaping user text so it cannot ping `@channel` or forge links.
//! - [`message`]: what the bot says — help, cards, topics, lists — as Slack-agnostic sections.
//! - [`timeline`]: the kinds of timeline events, each naming who caused it.

pub mod command;
pub mod incident;
pub mod message;
pub mod mrkdwn;
pub mod postmortem;
pub mod role;
pub mod severity;
pub mod slug;
pub mod status;
pub mod timeline;

pub use command::{Command, CommandError};
pub use incident::{Incident, IncidentId, NewIncident};
pub use role::Role;
pub use severity::Severity;
pub use status::Status;
pub use timeline::{TimelineEvent, TimelineKind};

/// A Slack user id (`U…` or `W…`), as Slack sent it. Never parsed out of free text except
/// from Slack's own escaped mention syntax.
pub type UserId = String;
/// A Slack channel id (`C…` public, `G…`/`C…` private).
pub type ChannelId = String;
