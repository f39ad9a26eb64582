//! Rules: what the bot does by itself when an incident is of a kind — page a PagerDuty service,
//! invite a user group or people, post to a channel, set the update reminder, offer the
//! coordinator the status-page form — written by the team in `RULES_FILE` (TOML):
//!
//! ```toml
//! [[rules]]
//! name = "Checkout outages page on-call"
//! when = { severity = ["sev1"], title = "(?i)checkout" }
//! page = ["checkout"]
//! invite_groups = ["S0123ABC"]
//! post = [{ channel = "#exec", text = "SEV1 declared: {title}" }]
//! reminder_interval = "15m"
//! ```
//!
//! - **`when`** holds the conditions, all of which must hold; without one (or with an empty one)
//!   a rule matches every incident. `severity` and `status` are a word or a list of words (any
//!   of them); `private` is `true` or `false`; `source` is how the incident was declared
//!   (`alert`, `command`, `modal`, `shortcut`, or `person` for any of the last three); `labels`
//!   are the alert's labels or the Declare modal's affected services, each listed label present
//!   with that value (or one of a list of values); `title` is a regular expression searched in
//!   the title.
//! - **Actions**, at least one per rule: `page` (PagerDuty services), `invite_groups` (Slack
//!   user groups, `S…`), `invite` (people, `U…`/`W…`), `post` (a channel — `C…`, `G…` or
//!   `#name` — and a text with `{title}`, `{reference}`, `{severity}`, `{status}`, `{channel}`
//!   and `{url}`; `{{` and `}}` are braces), `reminder_interval` (as `/inc remind` takes it),
//!   `open_statuspage = true`.
//! - **Checked whole before anything runs**, at startup and by `incident-commander check`: the
//!   first mistake is a [`RulesError`] with the line and column of the key or value at fault.
//!   An unknown key is a mistake too: a typo must not silently do nothing. Every rule has a name
//!   of its own. [`RuleSet::check_services`] checks the `page` services against the configured
//!   ones.
//! - **When rules run** — an incident declared by any path, its severity or status changed — is
//!   the app's; so is running the actions. Each action runs once per incident however often its
//!   rule matches again: the app records it under the rule's name and [`Action::key`], stable
//!   across restarts and distinct within a rule.
//! - **`incident-commander rules --explain 'sev1 from alert service=checkout'`** says, touching
//!   nothing, which rules would match such an incident and what they would do
//!   ([`RuleSet::explain`]); what the query leaves out is unknown, and a rule that needs it is
//!   said to match *if* it holds.
//!
//! Pure: the text arrives as an argument; nothing here reads the file, Slack or PagerDuty.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use chrono::Duration;
use regex::Regex;
use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use toml::Spanned;

use super::reminder::{BadInterval, parse_interval};
use super::{Severity, Status};

#[cfg(test)]
mod tests;

/// The variables a post's text may use, each written `{name}`.
pub const TEMPLATE_VARIABLES: [&str; 6] =
    ["title", "reference", "severity", "status", "channel", "url"];

/// The action keys a rule may have, for error messages.
pub const ACTION_KEYS: &str =
    "page, invite_groups, invite, post, reminder_interval, open_statuspage";

/// The rules of `RULES_FILE`, in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleSet {
    /// Each `[[rules]]` entry, as written.
    pub rules: Vec<Rule>,
}

/// One `[[rules]]` entry, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Its `name`: non-empty, no other rule's.
    pub name: String,
    /// The 1-based line of its `[[rules]]` header (or of its inline table).
    pub line: usize,
    /// Its conditions; an empty one matches every incident.
    pub when: When,
    /// What it does, in the order written: `page`, `invite_groups`, `invite`, `post`,
    /// `reminder_interval`, `open_statuspage`, each list in its own order.
    pub actions: Vec<Action>,
    /// Where each of `actions` was written (the same index): the list item, the post's table,
    /// or the value.
    pub action_positions: Vec<Position>,
}

/// A place in the rules file, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// The line.
    pub line: usize,
    /// In characters.
    pub column: usize,
}

/// A rule's conditions; each one left empty (or `None`) holds for every incident.
#[derive(Debug, Clone, Default)]
pub struct When {
    /// Any of these severities; empty for any.
    pub severity: Vec<Severity>,
    /// Any of these statuses; empty for any.
    pub status: Vec<Status>,
    /// Private (`true`) or public (`false`) incidents only.
    pub private: Option<bool>,
    /// How the incident was declared.
    pub source: Option<SourceCondition>,
    /// Each label present with one of its listed values.
    pub labels: BTreeMap<String, Vec<String>>,
    /// Found somewhere in the title.
    pub title: Option<Regex>,
}

/// Two conditions are the same when their regular expressions are written the same.
impl PartialEq for When {
    fn eq(&self, other: &When) -> bool {
        self.severity == other.severity
            && self.status == other.status
            && self.private == other.private
            && self.source == other.source
            && self.labels == other.labels
            && self.title.as_ref().map(Regex::as_str) == other.title.as_ref().map(Regex::as_str)
    }
}

/// How an incident was declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// `POST /alerts` or Alertmanager.
    Alert,
    /// `/inc declare …`.
    Command,
    /// The Declare modal.
    Modal,
    /// The message shortcut.
    Shortcut,
}

impl Origin {
    /// Every way of declaring.
    pub const ALL: [Origin; 4] = [
        Origin::Alert,
        Origin::Command,
        Origin::Modal,
        Origin::Shortcut,
    ];

    /// The word in the rules file and in queries: `alert`, `command`, `modal`, `shortcut`.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Alert => "alert",
            Origin::Command => "command",
            Origin::Modal => "modal",
            Origin::Shortcut => "shortcut",
        }
    }

    /// Parses a word of [`Origin::as_str`], case-insensitively.
    pub fn parse(word: &str) -> Option<Origin> {
        let word = word.trim().to_ascii_lowercase();
        Origin::ALL.into_iter().find(|o| o.as_str() == word)
    }

    /// As a sentence says it: `an alert`, `the Declare modal`.
    fn phrase(self) -> &'static str {
        match self {
            Origin::Alert => "an alert",
            Origin::Command => "a command",
            Origin::Modal => "the Declare modal",
            Origin::Shortcut => "a message shortcut",
        }
    }
}

/// A rule's `source`: one way of declaring, or `person` (any but an alert).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceCondition {
    /// Declared this way.
    Is(Origin),
    /// `person`: declared by someone (a command, the Declare modal or a message shortcut).
    Person,
}

impl SourceCondition {
    /// Parses `alert`, `command`, `modal`, `shortcut` or `person`, case-insensitively.
    pub fn parse(word: &str) -> Option<SourceCondition> {
        if word.trim().eq_ignore_ascii_case("person") {
            return Some(SourceCondition::Person);
        }
        Origin::parse(word).map(SourceCondition::Is)
    }

    /// Whether an incident declared from `origin` meets it.
    pub fn admits(self, origin: Origin) -> bool {
        match self {
            SourceCondition::Is(wanted) => wanted == origin,
            SourceCondition::Person => origin != Origin::Alert,
        }
    }

    /// As a sentence says it: `declared from an alert`, `declared by a person (…)`.
    fn phrase(self) -> String {
        match self {
            SourceCondition::Is(origin) => format!("declared from {}", origin.phrase()),
            SourceCondition::Person => {
                "declared by a person (a command, the Declare modal or a message shortcut)".into()
            }
        }
    }
}

/// What is known of an incident when rules run.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// Its severity now.
    pub severity: Severity,
    /// Its status now.
    pub status: Status,
    /// Whether its channel is private.
    pub private: bool,
    /// How it was declared.
    pub origin: Origin,
    /// The alert's labels, or the modal's affected services; empty otherwise.
    pub labels: &'a BTreeMap<String, String>,
    /// Its title now.
    pub title: &'a str,
}

/// Something a rule does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Page this PagerDuty service (by its configured name).
    Page(String),
    /// Invite the members of this Slack user group (`S…`) to the incident channel.
    InviteGroup(String),
    /// Invite this Slack user (`U…`/`W…`) to the incident channel.
    Invite(String),
    /// Post `text` (a template, see [`render`]) to `channel`: an id (`C…`, `G…`) or `#name`.
    Post {
        /// Which of the rule's posts this is, from 0: its key.
        index: usize,
        /// `C…`, `G…` or `#name`.
        channel: String,
        /// The template, as written.
        text: String,
    },
    /// Set the incident's update reminder to this interval, as `/inc remind` does.
    ReminderInterval(Duration),
    /// Offer the coordinator the status-page form.
    OpenStatuspage,
}

impl Action {
    /// What the app records the action under, within its rule, so it runs once per incident:
    /// `page:checkout`, `invite_group:S0123ABC`, `invite:U1`, `post:0` (the post's index),
    /// `reminder_interval`, `open_statuspage`.
    pub fn key(&self) -> String {
        match self {
            Action::Page(service) => format!("page:{service}"),
            Action::InviteGroup(group) => format!("invite_group:{group}"),
            Action::Invite(user) => format!("invite:{user}"),
            Action::Post { index, .. } => format!("post:{index}"),
            Action::ReminderInterval(_) => "reminder_interval".into(),
            Action::OpenStatuspage => "open_statuspage".into(),
        }
    }

    /// What it does, in words: `page checkout`, `post to #exec: “SEV1 declared: {title}”`.
    pub fn describe(&self) -> String {
        match self {
            Action::Page(service) => format!("page {service}"),
            Action::InviteGroup(group) => format!("invite the group {group}"),
            Action::Invite(user) => format!("invite the user {user}"),
            Action::Post { channel, text, .. } => format!("post to {channel}: “{text}”"),
            Action::ReminderInterval(every) => {
                format!("set the update reminder to every {}", interval(*every))
            }
            Action::OpenStatuspage => "offer the coordinator the status-page form".into(),
        }
    }
}

/// A mistake in the rules file. `Display` is `line 3, column 29: <message>`; the caller puts
/// the file's path in front (`rules.toml: line 3, column 29: …`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct RulesError {
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    /// What is wrong, for an operator; it names the rule once its name is read.
    pub message: String,
}

/// The values a post's text is rendered with.
#[derive(Debug, Clone, Copy)]
pub struct Values<'a> {
    /// The incident's title.
    pub title: &'a str,
    /// `INC-7`.
    pub reference: &'a str,
    /// `SEV1`.
    pub severity: &'a str,
    /// `investigating`.
    pub status: &'a str,
    /// The incident channel, as the caller renders it.
    pub channel: &'a str,
    /// A link to the incident channel.
    pub url: &'a str,
}

/// Renders a post's text template: each `{name}` of [`TEMPLATE_VARIABLES`] becomes its value,
/// `{{` and `}}` become braces. The caller escapes the result for Slack. A checked template has
/// nothing else; anything else (an unknown `{name}`, a lone brace) is kept as written.
pub fn render(template: &str, values: &Values<'_>) -> String {
    let mut out = String::with_capacity(template.len());
    for piece in pieces(template) {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Variable(name) => match name {
                "title" => out.push_str(values.title),
                "reference" => out.push_str(values.reference),
                "severity" => out.push_str(values.severity),
                "status" => out.push_str(values.status),
                "channel" => out.push_str(values.channel),
                "url" => out.push_str(values.url),
                other => {
                    out.push('{');
                    out.push_str(other);
                    out.push('}');
                }
            },
            Piece::Lone(brace) => out.push(brace),
        }
    }
    out
}

/// A template, read left to right.
enum Piece<'t> {
    Text(&'t str),
    /// `{name}`: what is between the braces.
    Variable(&'t str),
    /// A `{` with no `}` after it, or a `}` that closes nothing.
    Lone(char),
}

fn pieces(template: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut rest = template;
    while let Some(at) = rest.find(['{', '}']) {
        if at > 0 {
            pieces.push(Piece::Text(&rest[..at]));
        }
        let brace = &rest[at..at + 1];
        let after = &rest[at + 1..];
        if after.starts_with(brace) {
            pieces.push(Piece::Text(brace));
            rest = &after[1..];
        } else if brace == "{" {
            match after.find(['{', '}']) {
                Some(end) if after[end..].starts_with('}') => {
                    pieces.push(Piece::Variable(&after[..end]));
                    rest = &after[end + 1..];
                }
                _ => {
                    pieces.push(Piece::Lone('{'));
                    rest = after;
                }
            }
        } else {
            pieces.push(Piece::Lone('}'));
            rest = after;
        }
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    pieces
}

/// Why a post's text is not a template, if it is not.
fn template_problem(template: &str) -> Option<String> {
    pieces(template).into_iter().find_map(|piece| match piece {
        Piece::Text(_) => None,
        Piece::Variable(name) if TEMPLATE_VARIABLES.contains(&name) => None,
        Piece::Variable(name) => Some(format!(
            "{{{name}}} is not a template variable ({}); write {{{{ and }}}} for braces",
            TEMPLATE_VARIABLES.map(|v| format!("{{{v}}}")).join(", ")
        )),
        Piece::Lone(brace) => Some(format!(
            "the text has a lone {brace}; write {brace}{brace} for a brace"
        )),
    })
}

impl RuleSet {
    /// Reads and checks the rules file's text; `levels` is the severity scale's size. The first
    /// mistake, in file order, is the error.
    pub fn parse(text: &str, levels: u8) -> Result<RuleSet, RulesError> {
        let file = Source(text);
        let raw: RawFile = toml::from_str(text)
            .map_err(|e| file.error(e.span().unwrap_or(0..0), e.message().trim()))?;
        let mut rules: Vec<Rule> = Vec::new();
        for raw in raw.rules {
            let rule = file.rule(raw, levels, &rules)?;
            rules.push(rule);
        }
        Ok(RuleSet { rules })
    }

    /// The rules `facts` meet, in file order.
    pub fn matching<'r>(&'r self, facts: &Facts<'_>) -> Vec<&'r Rule> {
        self.rules
            .iter()
            .filter(|rule| rule.when.holds(facts))
            .collect()
    }

    /// Checks that every `page` service is one of `known` (the configured PagerDuty services);
    /// the error is at the first one that is not.
    pub fn check_services(&self, known: &[String]) -> Result<(), RulesError> {
        for rule in &self.rules {
            for (action, at) in rule.actions.iter().zip(&rule.action_positions) {
                let Action::Page(service) = action else {
                    continue;
                };
                if known.contains(service) {
                    continue;
                }
                let configured = if known.is_empty() {
                    "none is configured".to_string()
                } else {
                    format!("configured: {}", known.join(", "))
                };
                return Err(RulesError {
                    line: at.line,
                    column: at.column,
                    message: format!(
                        "rule {:?}: page {service:?} is not a PagerDuty service ({configured})",
                        rule.name
                    ),
                });
            }
        }
        Ok(())
    }

    /// `incident-commander rules --explain <query>`: which rules an incident described by
    /// `query` would match and what they would do, as plain text; `Err` says what is wrong with
    /// the query. The query is words (double quotes group words): a severity (`sev1`, `p1`,
    /// `1`), a status, `private` or `public`, `from alert|command|modal|shortcut`, `key=value` (a
    /// label; `title=…` is the title). What it does not give is unknown: a rule needing it
    /// matches *if* it holds, and the text says so.
    pub fn explain(&self, query: &str, levels: u8) -> Result<String, String> {
        let query = Query::parse(query, levels)?;
        let known = query.known();
        let mut out = format!("Incident: {}\n\n", query.describe());
        if self.rules.is_empty() {
            out.push_str("The rules file has no rules.\n");
            return Ok(out);
        }
        for rule in &self.rules {
            let verdicts = rule.when.verdicts(&known);
            let failed: Vec<&str> = verdicts
                .iter()
                .filter_map(|v| match v {
                    Verdict::Fails(why) => Some(why.as_str()),
                    _ => None,
                })
                .collect();
            let unknown: Vec<&str> = verdicts
                .iter()
                .filter_map(|v| match v {
                    Verdict::Unknown(condition) => Some(condition.as_str()),
                    _ => None,
                })
                .collect();
            let head = format!("{:?} (line {})", rule.name, rule.line);
            if !failed.is_empty() {
                out.push_str(&format!("✗ {head} does not match: {}\n", failed.join("; ")));
                continue;
            }
            let how = if !unknown.is_empty() {
                format!("matches if {}", join(&unknown, "and"))
            } else if verdicts.is_empty() {
                "matches every incident".to_string()
            } else {
                "matches".to_string()
            };
            out.push_str(&format!("✓ {head} {how}, and would:\n"));
            for action in &rule.actions {
                out.push_str(&format!("  - {}\n", action.describe()));
            }
        }
        Ok(out)
    }
}

impl When {
    /// Whether every condition holds for `facts`.
    pub fn holds(&self, facts: &Facts<'_>) -> bool {
        let known = Known {
            severity: Some(facts.severity),
            status: Some(facts.status),
            private: Some(facts.private),
            origin: Some(facts.origin),
            labels: facts.labels,
            all_labels: true,
            title: Some(facts.title),
        };
        self.verdicts(&known)
            .iter()
            .all(|v| matches!(v, Verdict::Holds))
    }

    /// Each condition the rule has, against what is known: the one evaluation both matching and
    /// explaining use.
    fn verdicts(&self, known: &Known<'_>) -> Vec<Verdict> {
        let mut verdicts = Vec::new();
        if !self.severity.is_empty() {
            let wanted: Vec<String> = self.severity.iter().map(|s| s.as_key()).collect();
            verdicts.push(match known.severity {
                None => Verdict::Unknown(format!("the severity is {}", join(&wanted, "or"))),
                Some(s) if self.severity.contains(&s) => Verdict::Holds,
                Some(s) => Verdict::Fails(format!(
                    "the severity is {}, the rule wants {}",
                    s.as_key(),
                    join(&wanted, "or")
                )),
            });
        }
        if !self.status.is_empty() {
            let wanted: Vec<&str> = self.status.iter().map(|s| s.as_str()).collect();
            verdicts.push(match known.status {
                None => Verdict::Unknown(format!("the status is {}", join(&wanted, "or"))),
                Some(s) if self.status.contains(&s) => Verdict::Holds,
                Some(s) => Verdict::Fails(format!(
                    "the status is {s}, the rule wants {}",
                    join(&wanted, "or")
                )),
            });
        }
        if let Some(private) = self.private {
            let word = |p: bool| if p { "private" } else { "public" };
            verdicts.push(match known.private {
                None => Verdict::Unknown(format!("the incident is {}", word(private))),
                Some(p) if p == private => Verdict::Holds,
                Some(p) => Verdict::Fails(format!(
                    "the incident is {}, the rule wants {} ones",
                    word(p),
                    word(private)
                )),
            });
        }
        if let Some(source) = self.source {
            verdicts.push(match known.origin {
                None => Verdict::Unknown(format!("it was {}", source.phrase())),
                Some(origin) if source.admits(origin) => Verdict::Holds,
                Some(origin) => Verdict::Fails(format!(
                    "it was declared from {}, the rule wants it {}",
                    origin.phrase(),
                    source.phrase()
                )),
            });
        }
        for (label, values) in &self.labels {
            let wanted = join(values, "or");
            verdicts.push(match known.labels.get(label) {
                Some(value) if values.contains(value) => Verdict::Holds,
                Some(value) => Verdict::Fails(format!(
                    "the label {label} is {value}, the rule wants {wanted}"
                )),
                None if known.all_labels => Verdict::Fails(format!(
                    "the label {label} is not set, the rule wants {wanted}"
                )),
                None => Verdict::Unknown(format!("the label {label} is {wanted}")),
            });
        }
        if let Some(title) = &self.title {
            verdicts.push(match known.title {
                None => Verdict::Unknown(format!("the title matches {}", title.as_str())),
                Some(t) if title.is_match(t) => Verdict::Holds,
                Some(t) => {
                    Verdict::Fails(format!("the title “{t}” does not match {}", title.as_str()))
                }
            });
        }
        verdicts
    }
}

/// What is known of an incident: all of it when rules run, what a query gave when explaining.
struct Known<'a> {
    severity: Option<Severity>,
    status: Option<Status>,
    private: Option<bool>,
    origin: Option<Origin>,
    labels: &'a BTreeMap<String, String>,
    /// Whether a label missing from `labels` is known to be absent (rules running) or just not
    /// given (a query).
    all_labels: bool,
    title: Option<&'a str>,
}

/// One condition against what is known; the strings are sentences for `explain`.
enum Verdict {
    Holds,
    /// Why not.
    Fails(String),
    /// The condition, which the facts given cannot decide.
    Unknown(String),
}

/// An `--explain` query.
#[derive(Debug, Default)]
struct Query {
    severity: Option<Severity>,
    status: Option<Status>,
    private: Option<bool>,
    origin: Option<Origin>,
    labels: BTreeMap<String, String>,
    title: Option<String>,
}

impl Query {
    fn parse(text: &str, levels: u8) -> Result<Query, String> {
        let mut query = Query::default();
        let mut words = split_words(text)?.into_iter();
        while let Some(word) = words.next() {
            let lower = word.to_ascii_lowercase();
            if lower == "from" {
                let origin = words.next().ok_or_else(|| {
                    "\"from\" needs a word after it: alert, command, modal or shortcut".to_string()
                })?;
                let origin = Origin::parse(&origin).ok_or_else(|| {
                    format!(
                        "{origin:?} is not a way of declaring (alert, command, modal or shortcut)"
                    )
                })?;
                set(&mut query.origin, origin, "source", |o| {
                    o.as_str().to_string()
                })?;
            } else if let Some((key, value)) = word.split_once('=') {
                let key = key.trim();
                if key.is_empty() {
                    return Err(format!("{word:?} has no label name before the ="));
                }
                if key.eq_ignore_ascii_case("title") {
                    set(&mut query.title, value.to_string(), "title", |t| t.clone())?;
                } else if query
                    .labels
                    .insert(key.to_string(), value.to_string())
                    .is_some()
                {
                    return Err(format!("the label {key} is given twice"));
                }
            } else if lower == "private" || lower == "public" {
                set(
                    &mut query.private,
                    lower == "private",
                    "private or public",
                    |p| if *p { "private" } else { "public" }.to_string(),
                )?;
            } else if let Some(severity) = Severity::parse(&word, levels) {
                set(&mut query.severity, severity, "severity", |s| s.as_key())?;
            } else if let Some(status) = Status::parse(&word) {
                set(&mut query.status, status, "status", |s| s.to_string())?;
            } else {
                return Err(format!(
                    "{word:?} is not part of a query; give a severity ({}), a status ({}), \
                     private or public, from alert|command|modal|shortcut, a label as \
                     key=value, or title=\"…\"",
                    Severity::choices(levels),
                    Status::ALL.map(Status::as_str).join(", ")
                ));
            }
        }
        Ok(query)
    }

    fn known(&self) -> Known<'_> {
        Known {
            severity: self.severity,
            status: self.status,
            private: self.private,
            origin: self.origin,
            labels: &self.labels,
            all_labels: false,
            title: self.title.as_deref(),
        }
    }

    /// `sev1, declared from an alert, labels service=checkout (status, private and title not
    /// given)`.
    fn describe(&self) -> String {
        let mut given = Vec::new();
        let mut missing = Vec::new();
        match self.severity {
            Some(s) => given.push(s.as_key()),
            None => missing.push("severity"),
        }
        match self.status {
            Some(s) => given.push(format!("status {s}")),
            None => missing.push("status"),
        }
        match self.private {
            Some(true) => given.push("private".into()),
            Some(false) => given.push("public".into()),
            None => missing.push("private"),
        }
        match self.origin {
            Some(o) => given.push(format!("declared from {}", o.phrase())),
            None => missing.push("source"),
        }
        if self.labels.is_empty() {
            missing.push("labels");
        } else {
            let labels: Vec<String> = self
                .labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            given.push(format!("labels {}", labels.join(", ")));
        }
        match &self.title {
            Some(t) => given.push(format!("title “{t}”")),
            None => missing.push("title"),
        }
        match (given.is_empty(), missing.is_empty()) {
            (true, _) => "nothing given (every condition is unknown)".into(),
            (false, true) => given.join(", "),
            (false, false) => format!("{} ({} not given)", given.join(", "), join(&missing, "and")),
        }
    }
}

/// Sets a query's fact, refusing a second, different one.
fn set<T: PartialEq>(
    slot: &mut Option<T>,
    value: T,
    what: &str,
    show: impl Fn(&T) -> String,
) -> Result<(), String> {
    match slot {
        Some(old) if *old != value => Err(format!(
            "two values for {what}: {} and {}",
            show(old),
            show(&value)
        )),
        _ => {
            *slot = Some(value);
            Ok(())
        }
    }
}

/// Whitespace-separated words; double quotes group words (and are dropped), anywhere in a word.
fn split_words(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quoted = false;
    for c in text.chars() {
        if c == '"' {
            quoted = !quoted;
            in_word = true;
        } else if c.is_whitespace() && !quoted {
            if in_word {
                words.push(std::mem::take(&mut word));
                in_word = false;
            }
        } else {
            word.push(c);
            in_word = true;
        }
    }
    if quoted {
        return Err("the query has a \" that is not closed".into());
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// `a`, `a or b`, `a, b or c`.
fn join<S: AsRef<str>>(items: &[S], last: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_string(),
        [init @ .., end] => {
            let init: Vec<&str> = init.iter().map(AsRef::as_ref).collect();
            format!("{} {last} {}", init.join(", "), end.as_ref())
        }
    }
}

/// An interval as the rules file writes it: `15m`, `1h 30m`, `7d`.
fn interval(every: Duration) -> String {
    let seconds = every.num_seconds().max(0);
    let parts = [
        (seconds / 86_400, "d"),
        (seconds / 3_600 % 24, "h"),
        (seconds / 60 % 60, "m"),
        (seconds % 60, "s"),
    ];
    let text: Vec<String> = parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect();
    if text.is_empty() {
        "0s".into()
    } else {
        text.join(" ")
    }
}

// The file as written: every key known (an unknown one is an error), every value where it was
// written (`Spanned`), checked into a `Rule` by `Source::rule`.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    rules: Vec<Spanned<RawRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: Option<Spanned<String>>,
    when: Option<RawWhen>,
    page: Option<Vec<Spanned<String>>>,
    invite_groups: Option<Vec<Spanned<String>>>,
    invite: Option<Vec<Spanned<String>>>,
    post: Option<Vec<Spanned<RawPost>>>,
    reminder_interval: Option<Spanned<String>>,
    open_statuspage: Option<Spanned<bool>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWhen {
    severity: Option<Spanned<Words>>,
    status: Option<Spanned<Words>>,
    private: Option<bool>,
    source: Option<Spanned<String>>,
    labels: Option<BTreeMap<String, Spanned<Words>>>,
    title: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPost {
    channel: Option<Spanned<String>>,
    text: Option<Spanned<String>>,
}

/// A word or a list of words.
enum Words {
    One(String),
    Many(Vec<Spanned<String>>),
}

impl<'de> Deserialize<'de> for Words {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Words, D::Error> {
        struct WordsVisitor;
        impl<'de> Visitor<'de> for WordsVisitor {
            type Value = Words;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: de::Error>(self, word: &str) -> Result<Words, E> {
                Ok(Words::One(word.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Words, A::Error> {
                let mut words = Vec::new();
                while let Some(word) = seq.next_element()? {
                    words.push(word);
                }
                Ok(Words::Many(words))
            }
        }
        d.deserialize_any(WordsVisitor)
    }
}

/// Each word with where it was written (a single word: where the value was).
fn words(words: &Spanned<Words>) -> Vec<(&str, Range<usize>)> {
    match words.get_ref() {
        Words::One(word) => vec![(word.as_str(), words.span())],
        Words::Many(list) => list
            .iter()
            .map(|w| (w.get_ref().as_str(), w.span()))
            .collect(),
    }
}

/// The rules file's text, for turning spans into lines and columns.
struct Source<'t>(&'t str);

impl Source<'_> {
    fn position(&self, offset: usize) -> Position {
        let mut offset = offset.min(self.0.len());
        while !self.0.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.0[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Position {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }

    fn error(&self, span: Range<usize>, message: impl Into<String>) -> RulesError {
        let at = self.position(span.start);
        RulesError {
            line: at.line,
            column: at.column,
            message: message.into(),
        }
    }

    /// Checks one `[[rules]]` entry; `earlier` are the rules before it (names are unique).
    fn rule(
        &self,
        raw: Spanned<RawRule>,
        levels: u8,
        earlier: &[Rule],
    ) -> Result<Rule, RulesError> {
        let span = raw.span();
        let raw = raw.into_inner();
        let Some(name) = raw.name else {
            return Err(self.error(span, "a rule has no name (name = \"…\")"));
        };
        if name.get_ref().trim().is_empty() {
            return Err(self.error(name.span(), "a rule's name is empty"));
        }
        if let Some(first) = earlier.iter().find(|r| r.name == *name.get_ref()) {
            return Err(self.error(
                name.span(),
                format!(
                    "the name {:?} is already the rule's at line {}; each rule needs its own",
                    first.name, first.line
                ),
            ));
        }
        let rule_name = name.into_inner();
        // Every message after the name says which rule.
        let err = |span: Range<usize>, message: String| {
            self.error(span, format!("rule {rule_name:?}: {message}"))
        };

        let when = match raw.when {
            Some(when) => self.when(when, levels, &err)?,
            None => When::default(),
        };

        let mut actions = Vec::new();
        let mut positions = Vec::new();
        let mut add = |action: Action, span: Range<usize>| {
            actions.push(action);
            positions.push(self.position(span.start));
        };
        for (key, list) in [
            ("page", &raw.page),
            ("invite_groups", &raw.invite_groups),
            ("invite", &raw.invite),
        ] {
            let mut seen: Vec<&str> = Vec::new();
            for item in list.iter().flatten() {
                let value = item.get_ref().as_str();
                let problem = match key {
                    "page" if value.trim().is_empty() => Some("a service's name is empty".into()),
                    "invite_groups" if !slack_id(value, &['S']) => Some(format!(
                        "{value:?} in invite_groups is not a Slack user-group id (S followed by \
                         capital letters and digits, like S0123ABC)"
                    )),
                    "invite" if !slack_id(value, &['U', 'W']) => Some(format!(
                        "{value:?} in invite is not a Slack user id (U or W followed by capital \
                         letters and digits, like U0123ABC)"
                    )),
                    _ if seen.contains(&value) => Some(format!("{key} lists {value:?} twice")),
                    _ => None,
                };
                if let Some(problem) = problem {
                    return Err(err(item.span(), problem));
                }
                seen.push(value);
                let action = match key {
                    "page" => Action::Page(value.to_string()),
                    "invite_groups" => Action::InviteGroup(value.to_string()),
                    _ => Action::Invite(value.to_string()),
                };
                add(action, item.span());
            }
        }
        for (index, post) in raw.post.iter().flatten().enumerate() {
            let (Some(channel), Some(text)) = (&post.get_ref().channel, &post.get_ref().text)
            else {
                return Err(err(
                    post.span(),
                    "a post needs a channel and a text: { channel = \"#name\", text = \"…\" }"
                        .into(),
                ));
            };
            if !channel_ref(channel.get_ref()) {
                return Err(err(
                    channel.span(),
                    format!(
                        "{:?} is not a channel: write its id (C… or G…) or #name (lowercase \
                         letters, digits, - and _)",
                        channel.get_ref()
                    ),
                ));
            }
            if text.get_ref().trim().is_empty() {
                return Err(err(text.span(), "a post's text is empty".into()));
            }
            if let Some(problem) = template_problem(text.get_ref()) {
                return Err(err(text.span(), problem));
            }
            add(
                Action::Post {
                    index,
                    channel: channel.get_ref().clone(),
                    text: text.get_ref().clone(),
                },
                post.span(),
            );
        }
        if let Some(every) = &raw.reminder_interval {
            let every_text = every.get_ref();
            match parse_interval(every_text) {
                Ok(d) => add(Action::ReminderInterval(d), every.span()),
                Err(BadInterval::NotADuration) => {
                    return Err(err(
                        every.span(),
                        format!(
                            "reminder_interval {every_text:?} is not a duration such as 15m or 1h"
                        ),
                    ));
                }
                Err(BadInterval::OutOfRange) => {
                    return Err(err(
                        every.span(),
                        format!("reminder_interval {every_text:?} is not a duration from 1m to 7d"),
                    ));
                }
            }
        }
        if let Some(open) = &raw.open_statuspage
            && *open.get_ref()
        {
            add(Action::OpenStatuspage, open.span());
        }
        if actions.is_empty() {
            return Err(self.error(
                span,
                format!("rule {rule_name:?} has no action ({ACTION_KEYS})"),
            ));
        }
        Ok(Rule {
            line: self.position(span.start).line,
            name: rule_name,
            when,
            actions,
            action_positions: positions,
        })
    }

    fn when(
        &self,
        raw: RawWhen,
        levels: u8,
        err: &impl Fn(Range<usize>, String) -> RulesError,
    ) -> Result<When, RulesError> {
        let mut when = When {
            private: raw.private,
            ..When::default()
        };
        if let Some(list) = &raw.severity {
            for (word, span) in nonempty(list, "severity", err)? {
                let severity = Severity::parse(word, levels).ok_or_else(|| {
                    err(
                        span,
                        format!("{word:?} is not a severity ({})", Severity::choices(levels)),
                    )
                })?;
                if !when.severity.contains(&severity) {
                    when.severity.push(severity);
                }
            }
        }
        if let Some(list) = &raw.status {
            for (word, span) in nonempty(list, "status", err)? {
                let status = Status::parse(word).ok_or_else(|| {
                    err(
                        span,
                        format!(
                            "{word:?} is not a status ({})",
                            Status::ALL.map(Status::as_str).join(", ")
                        ),
                    )
                })?;
                if !when.status.contains(&status) {
                    when.status.push(status);
                }
            }
        }
        if let Some(source) = &raw.source {
            let word = source.get_ref();
            when.source = Some(SourceCondition::parse(word).ok_or_else(|| {
                err(
                    source.span(),
                    format!(
                        "{word:?} is not a source (alert, command, modal, shortcut, or person \
                         for any but alert)"
                    ),
                )
            })?);
        }
        for (label, values) in raw.labels.iter().flatten() {
            if label.trim().is_empty() {
                return Err(err(values.span(), "a label's name is empty".into()));
            }
            let mut wanted = Vec::new();
            for (value, _) in nonempty(values, &format!("the label {label}"), err)? {
                if !wanted.iter().any(|w| w == value) {
                    wanted.push(value.to_string());
                }
            }
            when.labels.insert(label.clone(), wanted);
        }
        if let Some(title) = &raw.title {
            // Unicode property classes are left out of the binary (their tables are large);
            // refused here, so a rule means the same in every build.
            if title.get_ref().contains("\\p") || title.get_ref().contains("\\P") {
                return Err(err(
                    title.span(),
                    format!(
                        "title {:?} is not a regular expression: Unicode classes (\\p{{…}}) are not supported",
                        title.get_ref()
                    ),
                ));
            }
            let regex = Regex::new(title.get_ref()).map_err(|e| {
                err(
                    title.span(),
                    format!(
                        "title {:?} is not a regular expression: {}",
                        title.get_ref(),
                        regex_problem(&e)
                    ),
                )
            })?;
            when.title = Some(regex);
        }
        Ok(when)
    }
}

/// A condition's words, refusing an empty list (leaving the key out is how to say "any").
fn nonempty<'w>(
    list: &'w Spanned<Words>,
    what: &str,
    err: &impl Fn(Range<usize>, String) -> RulesError,
) -> Result<Vec<(&'w str, Range<usize>)>, RulesError> {
    let items = words(list);
    if items.is_empty() {
        return Err(err(
            list.span(),
            format!("{what} is an empty list (leave it out to allow any)"),
        ));
    }
    Ok(items)
}

/// The regex crate's own words for the problem, without its drawing of the pattern.
fn regex_problem(e: &regex::Error) -> String {
    let text = e.to_string();
    match text.rsplit_once("error: ") {
        Some((_, problem)) => problem.trim().to_string(),
        None => text.lines().map(str::trim).collect::<Vec<_>>().join(" "),
    }
}

/// `prefix` followed by one or more capital letters and digits.
fn slack_id(id: &str, prefixes: &[char]) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| prefixes.contains(&c))
        && id.len() > 1
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// A channel id (`C…`, `G…`) or `#name` as Slack allows names: at most 80 lowercase letters,
/// digits, `-` and `_`.
fn channel_ref(channel: &str) -> bool {
    match channel.strip_prefix('#') {
        Some(name) => {
            !name.is_empty()
                && name.chars().count() <= 80
                && name
                    .chars()
                    .all(|c| (c.is_alphanumeric() && !c.is_uppercase()) || c == '-' || c == '_')
        }
        None => slack_id(channel, &['C', 'G']),
    }
}
