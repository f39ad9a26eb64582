//! The postmortem draft (see docs/postmortems.md): an incident's record rendered as Markdown from a
//! minijinja template — the built-in one or a team's own (`POSTMORTEM_TEMPLATE`).
//!
//! The app gathers a [`PostmortemInput`] (from the store and from Slack: the channel's pins, the
//! people's names) and calls [`render`] with a [`Template`] and the team's time zone. This module
//! is **pure**: it must not read a file, the environment or a clock (`generated_at` and the zone
//! are arguments), and it must not panic on any input or template — a template that fails
//! parsing or rendering is a [`TemplateError`] naming the line and column.
//!
//! What people typed (titles, summaries, updates, names, pinned messages) is made safe here, not
//! trusted to each template: every value a template prints is escaped for Markdown unless it is
//! already Markdown built by this module. The converters are public for the app to reuse:
//! [`escape_markdown`], [`escape_markdown_line`], [`slack_to_markdown`], [`markdown_link`],
//! [`mermaid_text`]; [`markdown`] explains each rule and why.
//!
//! # Writing a template
//!
//! Templates are [minijinja](https://docs.rs/minijinja) (Jinja2) with `trim_blocks` and
//! `lstrip_blocks` on: a line holding only a `{% … %}` tag leaves nothing behind. The built-in
//! template, `src/domain/postmortem/default.md.j2`, is the example to start from.
//!
//! **Escaping is automatic.** `{{ value }}` prints the value escaped for Markdown *on one line*
//! (line breaks become spaces), as if it began a line: safe in a heading, a table cell or a list
//! item. Filters return Markdown that is printed as is:
//!
//! | filter | does |
//! |---|---|
//! | `md` / `md(n)` | plain text → Markdown keeping line breaks (hard breaks) and paragraphs; continuation lines indented by `n` spaces (use the list item's content column, e.g. 2 after `- `) |
//! | `md_line` (also `e`, `escape`) | plain text → Markdown on one line (what `{{ }}` does) |
//! | `slack` / `slack(n)` | Slack mrkdwn → Markdown: mentions as `@name`, Slack links as links, the rest escaped; keeps lines like `md` |
//! | `link(url)` | `{{ "label" \| link(url) }}` → `[label](url)` for http(s)/mailto URLs, else the label as text |
//! | `mermaid` | a Mermaid-safe task or section name (inside the ```` ```mermaid ```` fence print *only* this, times' `.gantt`, and literal text: Markdown escapes would show there) |
//! | `datetime(fmt)` | a time formatted with a `strftime` pattern in the team's zone, e.g. `{{ t \| datetime("%d %b %H:%M") }}` |
//!
//! `safe` prints a value raw; use it only on text this module built.
//!
//! # Context variables
//!
//! A **time** prints as `2026-03-28 23:10 CET` (in the zone given to [`render`]) and has the
//! attributes `local` (that), `date` (`2026-03-28`), `time` (`23:10`), `zone` (`CET`; `+03`
//! where the zone has no abbreviation), `offset` (`+01:00`), `weekday` (`Saturday`), `gantt`
//! (`2026-03-28 23:10`, Mermaid's `dateFormat YYYY-MM-DD HH:mm`), `utc` (RFC 3339,
//! `2026-03-28T22:10:00Z`) and `timestamp` (Unix seconds); times compare and sort in time order.
//! A **person** prints as their display name and has `id` (Slack user id) and `name`.
//! A **duration** is text: `2 d 3 h 10 min`, `45 min`, `under 1 min`. Optional values are `none`.
//!
//! - `incident` — `reference` (`INC-42`), `title`, `severity` (`SEV1`), `status` (final),
//!   `private` (bool), `channel` (`#inc-42-…` or none), `source_link` (URL or none), `summary`,
//!   `impact` (plain text or none), `impact_started_at`, `impact_ended_at` (time or none),
//!   `impact_duration` (duration or none), `declared_at` (time), `declared_by` (person or none),
//!   `resolved_at` (time or none), `first_coordinator_at` (time or none), `duration` (declared →
//!   resolved, or none), `elapsed` (declared → `end`), `mtta` (declared → first coordinator, or
//!   none), `end` (time: resolved, else generated — where open spans end).
//! - `generated_at` — time; `tz` — the zone's name (`Europe/Berlin`).
//! - `pins_may_be_stale` — bool: pins come from the bot's records (offline export), not Slack.
//! - `roles` — one per role, in order of first assignment: `role` (name) and `holders`, a list of
//!   spans. A **span** is `role`, `person`, `from` (time), `to` (time or none), `end` (time:
//!   `to`, else `incident.end`), `open` (bool), `until` (`to` as a local time, or `until
//!   resolved` / `until now`) and `duration`.
//! - `role_spans` — every span in input order (for charts).
//! - `phases` — status phases in order: `status`, `from`, `to`, `end`, `open`, `duration`.
//! - `timeline` — bot events and pins merged by time (pins at their post time; at the same
//!   instant events come first; otherwise input order). Each item has `type` (`"entry"` or
//!   `"pin"`) and `at` (time). An entry also has `who` (person or none), `kind` and `what` (plain
//!   text). A pin also has `author` (person or none), `author_label` (e.g. `Alertmanager (bot)`,
//!   or none), `author_name` (the person's name, else the label, else `unknown`), `text` (Slack
//!   mrkdwn as Slack returns it), `text_md` (that text as Markdown, already safe), `permalink`
//!   (or none), `pinned_at` (time or none), `pinned_by` (person or none) and `file` (`name`,
//!   `link` or none; or none).
//! - `entries`, `pins` — the same items, each kind alone, in time order.
//! - `followups` — `text` (plain), `by` (person or none), `at` (time), `done` (its ticket is
//!   closed), `ticket` (`name`, `url` or none; or none).
//! - `people` — Slack user id → display name (what `slack` uses for `<@U…>`).

mod context;
pub mod markdown;
mod record;
mod template;

use std::collections::HashMap;

use chrono::{DateTime, Utc};

pub use markdown::{
    escape_markdown, escape_markdown_line, indent_continuation, markdown_link, mermaid_text,
    slack_to_markdown,
};
pub use record::{Held, Record, assemble, mentions, people_named};
pub use template::{Template, TemplateError, render};

/// A Slack user: id and display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: String,
    pub name: String,
}

/// Who held a role, from when to when (`to: None` while they still hold it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleSpan {
    pub role: String,
    pub person: Person,
    pub from: DateTime<Utc>,
    pub to: Option<DateTime<Utc>>,
}

/// One status phase (`investigating`, `mitigating`, …), in the order they happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phase {
    pub status: String,
    pub from: DateTime<Utc>,
    pub to: Option<DateTime<Utc>>,
}

/// One event of the bot's own timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub at: DateTime<Utc>,
    /// Who caused it; `None` for the bot's own doing.
    pub who: Option<Person>,
    /// The event's kind (`status`, `update`, `role`, `pinned`…), for templates that group.
    pub kind: String,
    /// What happened, as **plain text** that may contain what someone typed: it is escaped.
    pub what: String,
}

/// A message pinned in the incident channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// The message's own time (its `ts`): where it sits in the timeline.
    pub posted_at: DateTime<Utc>,
    pub pinned_at: Option<DateTime<Utc>>,
    pub pinned_by: Option<Person>,
    /// `None` for bot and alert messages, which have [`Pin::author_label`] instead.
    pub author: Option<Person>,
    /// e.g. `Alertmanager (bot)`.
    pub author_label: Option<String>,
    /// Slack mrkdwn as Slack returns it now (edits included), attachment and block text already
    /// flattened by the caller.
    pub text: String,
    pub permalink: Option<String>,
    /// For file pins; their `text` may be empty.
    pub file: Option<FileRef>,
}

/// A file shared in the channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRef {
    pub name: String,
    pub link: Option<String>,
}

/// An action to take after the incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUp {
    pub text: String,
    pub by: Option<Person>,
    pub at: DateTime<Utc>,
    /// Its ticket's tracker says it is closed.
    pub done: bool,
    pub ticket: Option<TicketRef>,
}

/// A follow-up's ticket: `#12`, `OPS-4`, and where it lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketRef {
    pub name: String,
    pub url: Option<String>,
}

/// Everything a postmortem draft shows, gathered by the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostmortemInput {
    /// `INC-42`.
    pub reference: String,
    pub title: String,
    /// `SEV1`.
    pub severity: String,
    /// The final status.
    pub status: String,
    /// A private incident's draft says so: it is only ever posted in its private channel.
    pub private: bool,
    pub declared_at: DateTime<Utc>,
    pub declared_by: Option<Person>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// When a coordinator was first assigned: the MTTA is measured to here.
    pub first_coordinator_at: Option<DateTime<Utc>>,
    pub summary: Option<String>,
    pub impact: Option<String>,
    /// When customers were affected (`/inc impact`).
    pub impact_started_at: Option<DateTime<Utc>>,
    pub impact_ended_at: Option<DateTime<Utc>>,
    /// `#inc-42-checkout-is-down`.
    pub channel: Option<String>,
    /// Where the incident came from (an alert, a ticket).
    pub source_link: Option<String>,
    pub roles: Vec<RoleSpan>,
    pub phases: Vec<Phase>,
    pub entries: Vec<Entry>,
    pub pins: Vec<Pin>,
    pub followups: Vec<FollowUp>,
    /// Slack user id → display name, for `<@U…>` in pin text. People named elsewhere in the
    /// input (roles, authors) are known too; this map wins.
    pub people: HashMap<String, String>,
    /// The draft's "now": open spans end here when the incident is not resolved.
    pub generated_at: DateTime<Utc>,
    /// Offline export: pins come from the bot's own records, not Slack's current text.
    pub pins_may_be_stale: bool,
}

#[cfg(test)]
mod tests;
