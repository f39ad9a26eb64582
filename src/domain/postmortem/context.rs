//! The values a postmortem template sees (documented in the module above): the input as minijinja
//! values, times in the team's zone, durations in words, the timeline merged.
//!
//! Must not escape plain text: the template's formatter does that where the text is printed, so a
//! template gets what people typed and decides (one line, several lines, a Mermaid name). The one
//! exception is `text_md`, Markdown built from Slack markup, marked safe.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use minijinja::Value;
use minijinja::context;
use minijinja::value::{DynObject, Enumerator, Object, ObjectRepr};

use super::markdown::slack_to_markdown;
use super::{Entry, Person, Pin, PostmortemInput};

/// An instant shown in the team's zone. Attributes are formatted when a template asks for them,
/// so the thousands of timeline times cost nothing until printed.
#[derive(Debug, Clone, Copy)]
pub(super) struct Time {
    pub(super) utc: DateTime<Utc>,
    tz: Tz,
}

/// How a time prints: `2026-03-28 23:10 CET`.
pub(super) const LOCAL: &str = "%Y-%m-%d %H:%M %Z";

const TIME_KEYS: &[&str] = &[
    "local",
    "date",
    "time",
    "zone",
    "offset",
    "weekday",
    "gantt",
    "utc",
    "timestamp",
];

impl Time {
    fn value(utc: DateTime<Utc>, tz: Tz) -> Value {
        Value::from_object(Time { utc, tz })
    }

    /// Formats with a strftime pattern in the zone; `None` if the pattern is invalid (chrono
    /// reports that as a formatting error, which `to_string` would turn into a panic).
    fn to_local(self) -> String {
        self.format(LOCAL).unwrap_or_default()
    }

    pub(super) fn format(&self, pattern: &str) -> Option<String> {
        let mut out = String::new();
        write!(out, "{}", self.utc.with_timezone(&self.tz).format(pattern)).ok()?;
        Some(out)
    }
}

impl Object for Time {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let pattern = match key.as_str()? {
            "local" => LOCAL,
            "date" => "%Y-%m-%d",
            "time" => "%H:%M",
            "zone" => "%Z",
            "offset" => "%:z",
            "weekday" => "%A",
            "gantt" => "%Y-%m-%d %H:%M",
            "utc" => {
                return Some(Value::from(
                    self.utc.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                ));
            }
            "timestamp" => return Some(Value::from(self.utc.timestamp())),
            _ => return None,
        };
        // Digits, letters, `-`, `+` and `:` only: Markdown- and Mermaid-safe as they are.
        self.format(pattern).map(Value::from_safe_string)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(TIME_KEYS)
    }

    fn custom_cmp(self: &Arc<Self>, other: &DynObject) -> Option<Ordering> {
        other.downcast_ref::<Time>().map(|o| self.utc.cmp(&o.utc))
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.utc.with_timezone(&self.tz).format(LOCAL))
    }
}

/// A person; prints as their name.
#[derive(Debug, Clone)]
struct PersonValue {
    id: String,
    name: String,
}

impl Object for PersonValue {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "id" => Some(Value::from(self.id.clone())),
            "name" => Some(Value::from(self.name.clone())),
            _ => None,
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(&["id", "name"])
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// Slack user id → display name; the `slack` filter reads it back from the context.
#[derive(Debug, Clone, Default)]
pub(super) struct People(pub(super) HashMap<String, String>);

impl Object for People {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.0.get(key.as_str()?).map(|n| Value::from(n.clone()))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let mut ids: Vec<Value> = self.0.keys().map(|k| Value::from(k.clone())).collect();
        ids.sort();
        Enumerator::Values(ids)
    }
}

/// A duration in words at minute resolution: `2 d 3 h 10 min`, `45 min`, `1 h`, `under 1 min`.
pub(super) fn duration_words(d: TimeDelta) -> String {
    if d < TimeDelta::zero() {
        return format!("-{}", duration_words(d.abs()));
    }
    let total = d.num_minutes();
    if total == 0 {
        return "under 1 min".to_string();
    }
    let (days, hours, minutes) = (total / 1440, total % 1440 / 60, total % 60);
    let mut parts = Vec::new();
    if days > 0 {
        parts.push(format!("{days} d"));
    }
    if hours > 0 {
        parts.push(format!("{hours} h"));
    }
    if minutes > 0 {
        parts.push(format!("{minutes} min"));
    }
    parts.join(" ")
}

/// What the builder needs at hand while turning the input into values.
struct Builder<'a> {
    tz: Tz,
    people: &'a HashMap<String, String>,
    /// Where open spans end: resolution, else the time of the draft.
    end: DateTime<Utc>,
    resolved: bool,
}

impl Builder<'_> {
    fn time(&self, t: DateTime<Utc>) -> Value {
        Time::value(t, self.tz)
    }

    fn opt_time(&self, t: Option<DateTime<Utc>>) -> Value {
        t.map(|t| self.time(t)).unwrap_or(Value::from(()))
    }

    fn person(&self, p: &Person) -> Value {
        let name = [
            Some(p.name.as_str()),
            self.people.get(&p.id).map(String::as_str),
        ]
        .into_iter()
        .flatten()
        .find(|n| !n.trim().is_empty())
        .unwrap_or(&p.id);
        Value::from_object(PersonValue {
            id: p.id.clone(),
            name: name.to_string(),
        })
    }

    fn opt_person(&self, p: Option<&Person>) -> Value {
        p.map(|p| self.person(p)).unwrap_or(Value::from(()))
    }

    /// A span's end: its own, else the incident's; never before its start.
    fn span_end(&self, from: DateTime<Utc>, to: Option<DateTime<Utc>>) -> DateTime<Utc> {
        to.unwrap_or(self.end).max(from)
    }

    fn until(&self, to: Option<DateTime<Utc>>) -> Value {
        match to {
            Some(to) => Value::from(
                Time {
                    utc: to,
                    tz: self.tz,
                }
                .to_local(),
            ),
            None if self.resolved => Value::from("until resolved"),
            None => Value::from("until now"),
        }
    }

    fn entry(&self, e: &Entry) -> Value {
        context! {
            type => "entry",
            at => self.time(e.at),
            who => self.opt_person(e.who.as_ref()),
            kind => e.kind.clone(),
            what => e.what.clone(),
        }
    }

    fn pin(&self, p: &Pin) -> Value {
        let author_name = p
            .author
            .as_ref()
            .map(|a| self.person(a).to_string())
            .or_else(|| p.author_label.clone())
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| "unknown".to_string());
        let file = p.file.as_ref().map(|f| {
            context! {
                name => f.name.clone(),
                link => f.link.clone(),
            }
        });
        context! {
            type => "pin",
            at => self.time(p.posted_at),
            author => self.opt_person(p.author.as_ref()),
            author_label => p.author_label.clone(),
            author_name => author_name,
            text => p.text.clone(),
            text_md => Value::from_safe_string(slack_to_markdown(&p.text, self.people)),
            permalink => p.permalink.clone(),
            pinned_at => self.opt_time(p.pinned_at),
            pinned_by => self.opt_person(p.pinned_by.as_ref()),
            file => file,
        }
    }
}

/// Every name the input knows: people named in it, then the caller's map on top.
fn known_people(input: &PostmortemInput) -> HashMap<String, String> {
    let mut names = HashMap::new();
    let named = input
        .roles
        .iter()
        .map(|r| &r.person)
        .chain(input.declared_by.iter())
        .chain(input.entries.iter().filter_map(|e| e.who.as_ref()))
        .chain(input.pins.iter().filter_map(|p| p.author.as_ref()))
        .chain(input.pins.iter().filter_map(|p| p.pinned_by.as_ref()))
        .chain(input.followups.iter().filter_map(|f| f.by.as_ref()));
    for person in named {
        if !person.name.trim().is_empty() {
            names.insert(person.id.clone(), person.name.clone());
        }
    }
    for (id, name) in &input.people {
        if !name.trim().is_empty() {
            names.insert(id.clone(), name.clone());
        }
    }
    names
}

/// The whole context a template renders with.
pub(super) fn build(input: &PostmortemInput, tz: Tz) -> Value {
    let people = known_people(input);
    let b = Builder {
        tz,
        people: &people,
        end: input.resolved_at.unwrap_or(input.generated_at),
        resolved: input.resolved_at.is_some(),
    };
    let since = |to: DateTime<Utc>| duration_words(to - input.declared_at);

    let incident = context! {
        reference => input.reference.clone(),
        title => input.title.clone(),
        severity => input.severity.clone(),
        status => input.status.clone(),
        private => input.private,
        channel => input.channel.clone(),
        source_link => input.source_link.clone(),
        summary => input.summary.clone(),
        impact => input.impact.clone(),
        declared_at => b.time(input.declared_at),
        declared_by => b.opt_person(input.declared_by.as_ref()),
        resolved_at => b.opt_time(input.resolved_at),
        first_coordinator_at => b.opt_time(input.first_coordinator_at),
        duration => input.resolved_at.map(since),
        elapsed => since(b.end),
        mtta => input.first_coordinator_at.map(since),
        end => b.time(b.end),
    };

    // Spans in input order, and grouped by role in order of first appearance.
    let spans: Vec<(String, Value)> = input
        .roles
        .iter()
        .map(|r| {
            let end = b.span_end(r.from, r.to);
            let span = context! {
                role => r.role.clone(),
                person => b.person(&r.person),
                from => b.time(r.from),
                to => b.opt_time(r.to),
                end => b.time(end),
                open => r.to.is_none(),
                until => b.until(r.to),
                duration => duration_words(end - r.from),
            };
            (r.role.clone(), span)
        })
        .collect();
    let mut groups: Vec<(String, Vec<Value>)> = Vec::new();
    for (role, span) in &spans {
        match groups.iter_mut().find(|(r, _)| r == role) {
            Some((_, holders)) => holders.push(span.clone()),
            None => groups.push((role.clone(), vec![span.clone()])),
        }
    }
    let roles: Vec<Value> = groups
        .into_iter()
        .map(|(role, holders)| context! { role => role, holders => holders })
        .collect();

    let phases: Vec<Value> = input
        .phases
        .iter()
        .map(|p| {
            let end = b.span_end(p.from, p.to);
            context! {
                status => p.status.clone(),
                from => b.time(p.from),
                to => b.opt_time(p.to),
                end => b.time(end),
                open => p.to.is_none(),
                duration => duration_words(end - p.from),
            }
        })
        .collect();

    // Stable sorts keep the input order of equal times; the merge takes an entry before a pin
    // at the same instant (the bot's "pinned" event explains the pin that follows it).
    let mut entries: Vec<&Entry> = input.entries.iter().collect();
    entries.sort_by_key(|e| e.at);
    let mut pins: Vec<&Pin> = input.pins.iter().collect();
    pins.sort_by_key(|p| p.posted_at);
    let entry_values: Vec<Value> = entries.iter().map(|e| b.entry(e)).collect();
    let pin_values: Vec<Value> = pins.iter().map(|p| b.pin(p)).collect();
    let mut timeline = Vec::with_capacity(entries.len() + pins.len());
    let mut left = entries.iter().map(|e| e.at).zip(&entry_values).peekable();
    let mut right = pins.iter().map(|p| p.posted_at).zip(&pin_values).peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (Some((e, _)), Some((p, _))) => e <= p,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let next = if take_left { left.next() } else { right.next() };
        if let Some((_, value)) = next {
            timeline.push(value.clone());
        }
    }

    let followups: Vec<Value> = input
        .followups
        .iter()
        .map(|f| {
            context! {
                text => f.text.clone(),
                by => b.opt_person(f.by.as_ref()),
                at => b.time(f.at),
            }
        })
        .collect();

    context! {
        incident => incident,
        generated_at => b.time(input.generated_at),
        tz => tz.name(),
        pins_may_be_stale => input.pins_may_be_stale,
        roles => roles,
        role_spans => spans.into_iter().map(|(_, s)| s).collect::<Vec<_>>(),
        phases => phases,
        timeline => timeline,
        entries => entry_values,
        pins => pin_values,
        followups => followups,
        people => Value::from_object(People(people.clone())),
    }
}
