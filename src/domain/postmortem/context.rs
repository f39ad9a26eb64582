//! The values a postmortem template sees (documented in the module above): the input as minijinja
//! values, times in the team's zone, durations in words, the timeline merged.
//!
//! Must not escape plain text: the template's formatter does that where the text is printed, so a
//! template gets what people typed and decides (one line, several lines, a Mermaid name). The one
//! exception is `text_md`, Markdown built from Slack markup, marked safe.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::fmt::{self, Write as _};
use std::sync::Arc;

use chrono::{DateTime, Datelike, Offset, SecondsFormat, TimeDelta, Timelike, Utc, Weekday};
use chrono_tz::{OffsetName, Tz};
use minijinja::Value;
use minijinja::context;
use minijinja::value::{DynObject, Enumerator, Object, ObjectRepr};

use super::markdown::slack_to_markdown;
use super::{Entry, Person, Pin, PostmortemInput};

/// An instant shown in the team's zone. Attributes are formatted when a template asks for them,
/// by hand rather than with strftime patterns: a large timeline prints thousands of them.
#[derive(Debug, Clone, Copy)]
pub(super) struct Time {
    pub(super) utc: DateTime<Utc>,
    local: DateTime<Tz>,
}

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
    fn new(utc: DateTime<Utc>, tz: Tz) -> Time {
        Time {
            utc,
            local: utc.with_timezone(&tz),
        }
    }

    fn value(utc: DateTime<Utc>, tz: Tz) -> Value {
        Value::from_object(Time::new(utc, tz))
    }

    /// Formats with a strftime pattern in the zone; `None` if the pattern is invalid (chrono
    /// reports that as a formatting error, which `to_string` would turn into a panic).
    pub(super) fn format(&self, pattern: &str) -> Option<String> {
        let mut out = String::new();
        write!(out, "{}", self.local.format(pattern)).ok()?;
        Some(out)
    }

    /// `2026-03-28`
    fn date(&self) -> String {
        let mut out = String::with_capacity(10);
        self.push_date(&mut out);
        out
    }

    /// `23:10`
    fn time(&self) -> String {
        let mut out = String::with_capacity(5);
        self.push_time(&mut out);
        out
    }

    // Digits pushed by hand: `format!` costs more than the rest of a timeline line.
    fn push_date(&self, out: &mut String) {
        let year = self.local.year();
        if (0..=9999).contains(&year) {
            push_digits(out, year as u32, 4);
        } else {
            out.push_str(&year.to_string());
        }
        out.push('-');
        push_digits(out, self.local.month(), 2);
        out.push('-');
        push_digits(out, self.local.day(), 2);
    }

    fn push_time(&self, out: &mut String) {
        push_digits(out, self.local.hour(), 2);
        out.push(':');
        push_digits(out, self.local.minute(), 2);
    }

    /// `2026-03-28 23:10`: Mermaid's `YYYY-MM-DD HH:mm`.
    fn gantt(&self) -> String {
        let mut out = String::with_capacity(16);
        self.push_date(&mut out);
        out.push(' ');
        self.push_time(&mut out);
        out
    }

    /// The zone's abbreviation (`CET`), or the offset (`+03`, `+0530`) where the zone has none —
    /// as `%Z` prints it, without chrono-tz's assertion on offsets with seconds.
    fn zone(&self) -> String {
        match self.local.offset().abbreviation() {
            Some(name) => name.to_string(),
            None => {
                let (sign, hours, minutes) = self.offset_parts();
                if minutes == 0 {
                    format!("{sign}{hours:02}")
                } else {
                    format!("{sign}{hours:02}{minutes:02}")
                }
            }
        }
    }

    /// `+01:00`
    fn offset(&self) -> String {
        let (sign, hours, minutes) = self.offset_parts();
        format!("{sign}{hours:02}:{minutes:02}")
    }

    fn offset_parts(&self) -> (char, i32, i32) {
        let seconds = self.local.offset().fix().local_minus_utc();
        let sign = if seconds < 0 { '-' } else { '+' };
        let minutes = seconds.abs() / 60;
        (sign, minutes / 60, minutes % 60)
    }

    /// `2026-03-28 23:10 CET`: how a time prints.
    pub(super) fn to_local(self) -> String {
        let mut out = self.gantt();
        out.push(' ');
        out.push_str(&self.zone());
        out
    }
}

impl Object for Time {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        // Digits, letters, `-`, `+` and `:` only: Markdown- and Mermaid-safe as they are.
        let safe = Value::from_safe_string;
        Some(match key.as_str()? {
            "local" => safe(self.to_local()),
            "date" => safe(self.date()),
            "time" => safe(self.time()),
            "zone" => safe(self.zone()),
            "offset" => safe(self.offset()),
            "weekday" => Value::from(weekday(self.local.weekday())),
            "gantt" => safe(self.gantt()),
            "utc" => safe(self.utc.to_rfc3339_opts(SecondsFormat::Secs, true)),
            "timestamp" => Value::from(self.utc.timestamp()),
            _ => return None,
        })
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(TIME_KEYS)
    }

    fn custom_cmp(self: &Arc<Self>, other: &DynObject) -> Option<Ordering> {
        other.downcast_ref::<Time>().map(|o| self.utc.cmp(&o.utc))
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_local())
    }
}

/// `n` in decimal, zero-padded to `width` digits.
fn push_digits(out: &mut String, n: u32, width: u32) {
    for place in (0..width).rev() {
        let digit = n / 10u32.pow(place) % 10;
        out.push(char::from(b'0' + digit as u8));
    }
}

fn weekday(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
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
            "id" => Some(Value::from(self.id.as_str())),
            "name" => Some(Value::from(self.name.as_str())),
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
        self.0.get(key.as_str()?).map(|n| Value::from(n.as_str()))
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
    /// One value per person: a few people appear on thousands of timeline lines.
    persons: RefCell<BTreeMap<(&'a str, &'a str), Value>>,
}

impl<'a> Builder<'a> {
    fn time(&self, t: DateTime<Utc>) -> Value {
        Time::value(t, self.tz)
    }

    fn opt_time(&self, t: Option<DateTime<Utc>>) -> Value {
        t.map(|t| self.time(t)).unwrap_or(Value::from(()))
    }

    fn person(&self, p: &'a Person) -> Value {
        let key = (p.id.as_str(), p.name.as_str());
        if let Some(value) = self.persons.borrow().get(&key) {
            return value.clone();
        }
        let name = [
            Some(p.name.as_str()),
            self.people.get(&p.id).map(String::as_str),
        ]
        .into_iter()
        .flatten()
        .find(|n| !n.trim().is_empty())
        .unwrap_or(&p.id);
        let value = Value::from_object(PersonValue {
            id: p.id.clone(),
            name: name.to_string(),
        });
        self.persons.borrow_mut().insert(key, value.clone());
        value
    }

    fn opt_person(&self, p: Option<&'a Person>) -> Value {
        p.map(|p| self.person(p)).unwrap_or(Value::from(()))
    }

    /// A span's end: its own, else the incident's; never before its start.
    fn span_end(&self, from: DateTime<Utc>, to: Option<DateTime<Utc>>) -> DateTime<Utc> {
        to.unwrap_or(self.end).max(from)
    }

    fn until(&self, to: Option<DateTime<Utc>>) -> Value {
        match to {
            Some(to) => Value::from(Time::new(to, self.tz).to_local()),
            None if self.resolved => Value::from("until resolved"),
            None => Value::from("until now"),
        }
    }

    fn entry(&self, e: &'a Entry) -> Value {
        context! {
            type => "entry",
            at => self.time(e.at),
            who => self.opt_person(e.who.as_ref()),
            kind => e.kind.as_str(),
            what => e.what.as_str(),
        }
    }

    fn pin(&self, p: &'a Pin) -> Value {
        let author_name = p
            .author
            .as_ref()
            .map(|a| self.person(a).to_string())
            .or_else(|| p.author_label.clone())
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| "unknown".to_string());
        let file = p.file.as_ref().map(|f| {
            context! {
                name => f.name.as_str(),
                link => f.link.as_deref(),
            }
        });
        context! {
            type => "pin",
            at => self.time(p.posted_at),
            author => self.opt_person(p.author.as_ref()),
            author_label => p.author_label.as_deref(),
            author_name => author_name,
            text => p.text.as_str(),
            text_md => Value::from_safe_string(slack_to_markdown(&p.text, self.people)),
            permalink => p.permalink.as_deref(),
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
        persons: RefCell::default(),
    };
    let since = |to: DateTime<Utc>| duration_words(to - input.declared_at);

    let incident = context! {
        reference => input.reference.as_str(),
        title => input.title.as_str(),
        severity => input.severity.as_str(),
        status => input.status.as_str(),
        private => input.private,
        channel => input.channel.as_deref(),
        source_link => input.source_link.as_deref(),
        summary => input.summary.as_deref(),
        impact => input.impact.as_deref(),
        impact_started_at => b.opt_time(input.impact_started_at),
        impact_ended_at => b.opt_time(input.impact_ended_at),
        impact_duration => input
            .impact_started_at
            .zip(input.impact_ended_at)
            .map(|(start, end)| duration_words(end - start)),
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
                role => r.role.as_str(),
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
                status => p.status.as_str(),
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
                text => f.text.as_str(),
                by => b.opt_person(f.by.as_ref()),
                at => b.time(f.at),
                done => f.done,
                ticket => f.ticket.as_ref().map(|t| context! {
                    name => t.name.as_str(),
                    url => t.url.as_deref(),
                }),
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
