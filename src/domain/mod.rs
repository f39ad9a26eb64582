//! The domain: what an incident is and the rules it follows. **Pure.**
//!
//! Nothing here performs I/O or reads a clock: no sqlx, no slack_morphism, no tokio, no
//! `Utc::now()`. Time arrives as an argument (`now`). Everything in this module can be tested
//! with plain values, and `tests/it/architecture.rs` fails the build if that stops being true.
//!
//! - [`severity`], [`status`], [`role`]: the vocabulary of the process; `status` holds the
//!   lifecycle's transition table.
//! - [`incident`]: the incident record and the decision of what a declaration creates.
//! - [`command`]: the `/inc` command language — one table of commands, parsed with no network
//!   or database into a command whose type says where it may be used.
//! - [`cause`]: what caused a piece of work, and the idempotency keys and job keys made of it.
//! - [`change`]: what changing an incident means — one decision function from (incident, change,
//!   actor, reminder policy, now) to a refusal, or the timeline entries, Slack effects and
//!   reminder move it leaves behind; one file per rule.
//! - [`timeline`]: the typed timeline entries, each naming who caused it.
//! - [`followup`]: the follow-ups read back from the timeline, with their tickets and whether
//!   they are done.
//! - [`slug`]: channel names (`inc-42-checkout-is-down`, ≤ 80 characters).
//! - [`mrkdwn`]: escaping user text so it cannot ping `@channel` or forge links.
//! - [`message`]: what the bot says — cards, topics, posts, replies — as Slack-agnostic blocks.
//! - [`modal`]: the Declare and Update modals and what their submissions mean.
//! - [`source`]: the message an incident was declared from (the shortcut), alerts included.
//! - [`aftercare`]: when the postmortem's owner is reminded and when the channel is archived.
//! - [`reminder`]: when an update is due and when the bot reminds, nudges and sends the digest —
//!   plain arithmetic on times.
//! - [`postmortem`]: the postmortem draft rendered as Markdown from a template (minijinja), with
//!   Slack markup made readable and user text kept inert.
//! - [`alert`]: alerts from monitors (generic JSON, Alertmanager) read into one plain alert.
//! - [`outside`]: the systems outside Slack in the incident's words — pages, the public status,
//!   what they tell us back, and the one kind of reference a job keeps of their objects.
//! - [`rules`]: `RULES_FILE` — rules that page, invite, post or set the reminder when an incident
//!   matches; parsed and validated with file:line errors, matched, and explained.
//! - [`stats`]: `/inc stats` — MTTA, MTTR, SLO breaches over a period's incidents.

pub mod aftercare;
pub mod alert;
pub mod cause;
pub mod change;
pub mod command;
pub mod followup;
pub mod incident;
pub mod message;
pub mod modal;
pub mod mrkdwn;
pub mod outside;
pub mod postmortem;
pub mod reminder;
pub mod role;
pub mod rules;
pub mod severity;
pub mod slug;
pub mod source;
pub mod stats;
pub mod status;
pub mod timeline;

pub use change::{Change, Decision, Effect, Refusal};
pub use command::{Command, CommandError};
pub use incident::{Incident, IncidentId, NewIncident};
pub use role::Role;
pub use severity::Severity;
pub use status::Status;
pub use timeline::{Entry, TimelineEvent};

/// A Slack user id (`U…` or `W…`), as Slack sent it. Never parsed out of free text except
/// from Slack's own escaped mention syntax.
pub type UserId = String;
/// A Slack channel id (`C…` public, `G…`/`C…` private).
pub type ChannelId = String;
