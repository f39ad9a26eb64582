//! Alerts from monitors: the generic JSON body of `POST /alerts` and Alertmanager's webhook
//! (version 4) of `POST /alerts/alertmanager`, read into one plain [`Alert`] — or refused with an
//! [`Invalid`] that says which field is wrong and why (the HTTP side's 400). Pure: the body
//! arrives as parsed JSON, time as an argument; nothing here knows HTTP, the store or Slack.
//!
//! What identifies an alert is its [`Alert::key`]: `generic:<fingerprint>` or
//! `alertmanager:<groupKey>`. A firing alert whose key matches an open incident repeats it (a
//! timeline entry); otherwise it opens a `triage` incident with no roles. A resolved one adds a
//! timeline entry and a message to the incident its key opened; people resolve the incident.
//!
//! Monitors' text is cut to our limits rather than refused (an alert must never be lost because
//! its description is long); what cannot be read — a missing title, an unknown severity, a link
//! that is not `http(s)` — is refused, and nothing is recorded.

use std::fmt;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::command::{MAX_SUMMARY_CHARS, MAX_TITLE_CHARS, has_visible_text};
use super::message::{Block, Message, truncate_chars};
use super::mrkdwn::{self, escape};
use super::{Entry, Incident, NewIncident, Severity, Status};

/// The longest fingerprint (or `groupKey`) accepted.
pub const MAX_FINGERPRINT_CHARS: usize = 1_000;
/// The longest `source` accepted.
pub const MAX_SOURCE_CHARS: usize = 100;
/// The longest link accepted.
pub const MAX_LINK_CHARS: usize = 2_000;

/// Which endpoint an alert came through; part of its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Generic,
    Alertmanager,
}

/// Whether the monitor says the problem is happening or over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Firing,
    Resolved,
}

/// An alert, checked and cut to size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub kind: Kind,
    pub state: State,
    /// Who sent it: `alertmanager`, or the generic body's `source` (`generic` when absent).
    pub source: String,
    /// The generic `fingerprint` (or, when absent, the source and title), or the `groupKey`.
    pub fingerprint: String,
    /// One line, at most [`MAX_TITLE_CHARS`].
    pub title: String,
    pub summary: Option<String>,
    pub severity: Severity,
    /// An `http(s)` link to the alert in its monitor.
    pub link: Option<String>,
    /// The alert's labels (`service=checkout`): the generic body's `labels`, Alertmanager's
    /// group and common labels. Rules (`RULES_FILE`) match on them.
    pub labels: std::collections::BTreeMap<String, String>,
}

/// Why a body was refused: `Display` is the 400's `error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// The field at fault (`severity`, `alerts[0].labels`), or empty for the whole body.
    pub field: String,
    pub problem: String,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}", self.problem)
        } else {
            write!(f, "{}: {}", self.field, self.problem)
        }
    }
}

impl std::error::Error for Invalid {}

fn invalid(field: &str, problem: impl Into<String>) -> Invalid {
    Invalid {
        field: field.to_string(),
        problem: problem.into(),
    }
}

impl Alert {
    /// What identifies this alert among open incidents.
    pub fn key(&self) -> String {
        let kind = match self.kind {
            Kind::Generic => "generic",
            Kind::Alertmanager => "alertmanager",
        };
        format!("{kind}:{}", self.fingerprint)
    }

    /// The incident a firing alert opens: `triage`, no roles, declared by `bot` (the bot's own
    /// user id: nobody declared it), the summary followed by the link.
    pub fn incident(&self, bot: &str, now: DateTime<Utc>) -> NewIncident {
        let summary = match (&self.summary, &self.link) {
            (Some(s), Some(link)) => Some(format!("{s} — {link}")),
            (Some(s), None) => Some(s.clone()),
            (None, Some(link)) => Some(link.clone()),
            (None, None) => None,
        };
        NewIncident {
            title: self.title.clone(),
            severity: self.severity,
            status: Status::Triage,
            private: false,
            summary,
            impact: None,
            source: None,
            declared_by: bot.to_string(),
            declared_at: now,
            roles: Vec::new(),
            services: Vec::new(),
            drill: false,
            impact_started_at: None,
        }
    }

    /// The timeline entry this alert leaves.
    pub fn entry(&self) -> Entry {
        match self.state {
            State::Firing => Entry::AlertReceived {
                source: self.source.clone(),
                fingerprint: self.fingerprint.clone(),
                title: self.title.clone(),
                severity: Some(self.severity),
                summary: self.summary.clone(),
                link: self.link.clone(),
                labels: self.labels.clone(),
            },
            State::Resolved => Entry::AlertResolved {
                source: self.source.clone(),
                fingerprint: self.fingerprint.clone(),
                title: Some(self.title.clone()),
                link: self.link.clone(),
            },
        }
    }
}

/// The message posted in the incident channel when the alert that opened it is resolved.
pub fn resolved_post(incident: &Incident, alert: &Alert) -> Message {
    let what = match &alert.link {
        Some(link) => format!("<{link}|{}>", escape(&alert.title)),
        None => escape(&alert.title),
    };
    let next = if incident.status.is_terminal() {
        format!("*{}* is already {}.", incident.reference(), incident.status)
    } else {
        format!(
            "*{}* stays *{}*: resolve it with `/inc resolve` once you agree it is over.",
            incident.reference(),
            incident.status
        )
    };
    let text = format!(
        ":large_green_circle: *Alert resolved* by {}: {what}\n{next}",
        escape(&alert.source)
    );
    Message {
        text: format!(
            "Alert resolved: {} ({})",
            escape(&alert.title),
            incident.reference()
        ),
        blocks: vec![Block::Section(text)],
    }
}

// --- the generic body ---

/// Reads the generic body: `title` (required), `summary`, `severity`, `fingerprint`, `source`,
/// `link`, `labels` (an object of strings) and `status` (`firing`, the default, or `resolved`).
/// Other fields are ignored.
pub fn parse_generic(body: &Value, levels: u8) -> Result<Alert, Invalid> {
    let body = body
        .as_object()
        .ok_or_else(|| invalid("", "the body must be a JSON object"))?;
    let title = title(optional_str(body, "title")?, "title")?;
    let source = match optional_str(body, "source")? {
        None => "generic".to_string(),
        Some(s) => one_line(s, "source", MAX_SOURCE_CHARS)?,
    };
    let fingerprint = match optional_str(body, "fingerprint")? {
        Some(f) => fingerprint(f, "fingerprint")?,
        // Without a fingerprint, the same title from the same source is the same alert.
        None => format!("{}/{}", source, title.to_lowercase()),
    };
    let severity = match body.get("severity") {
        None | Some(Value::Null) => lowest(levels),
        Some(value) => severity(value, levels).ok_or_else(|| {
            invalid(
                "severity",
                format!(
                    "{value} is not a severity: use {} (or p1, 1, …), critical, error or warning",
                    Severity::choices(levels)
                ),
            )
        })?,
    };
    let state = match optional_str(body, "status")? {
        None => State::Firing,
        Some(s) => state(s).ok_or_else(|| invalid("status", "use firing or resolved"))?,
    };
    let link = match optional_str(body, "link")? {
        None => None,
        Some(l) => Some(link(l).map_err(|p| invalid("link", p))?),
    };
    Ok(Alert {
        kind: Kind::Generic,
        state,
        source,
        fingerprint,
        title,
        summary: optional_str(body, "summary")?.and_then(summary),
        severity,
        link,
        labels: labels(body, "labels")?,
    })
}

// --- Alertmanager ---

/// Reads an Alertmanager webhook notification (version 4): one alert per group, keyed by
/// `groupKey`. The title is the group's common `summary` annotation, or its `alertname` and
/// other grouping labels; the summary is the common `description`, or the alerts' summaries;
/// the severity comes from the common `severity` label; the link is the first alert's
/// `generatorURL`, or Alertmanager's `externalURL`. A link that is not `http(s)` is dropped
/// rather than refused: Alertmanager's configuration is not the sender's to fix per request.
pub fn parse_alertmanager(body: &Value, levels: u8) -> Result<Alert, Invalid> {
    let body = body
        .as_object()
        .ok_or_else(|| invalid("", "the body must be a JSON object"))?;
    match body.get("version") {
        Some(Value::String(v)) if v == "4" => {}
        Some(other) => {
            return Err(invalid(
                "version",
                format!("{other} is not supported: send Alertmanager's webhook version \"4\""),
            ));
        }
        None => {
            return Err(invalid(
                "version",
                "missing: this endpoint takes Alertmanager's webhook (version \"4\"); use POST /alerts for other monitors",
            ));
        }
    }
    let group_key = optional_str(body, "groupKey")?
        .ok_or_else(|| invalid("groupKey", "missing"))
        .and_then(|k| fingerprint(k, "groupKey"))?;
    let state = optional_str(body, "status")?
        .and_then(state)
        .ok_or_else(|| invalid("status", "use firing or resolved"))?;
    let group_labels = labels(body, "groupLabels")?;
    let common_labels = labels(body, "commonLabels")?;
    let common_annotations = labels(body, "commonAnnotations")?;
    let alerts = match body.get("alerts") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, a)| {
                a.as_object()
                    .ok_or_else(|| invalid(&format!("alerts[{i}]"), "must be an object"))
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(invalid("alerts", "must be an array")),
    };
    let alertname = common_labels
        .get("alertname")
        .or_else(|| group_labels.get("alertname"))
        .cloned();
    let raw_title = common_annotations
        .get("summary")
        .cloned()
        .or_else(|| {
            let others: Vec<String> = group_labels
                .iter()
                .filter(|(k, _)| k.as_str() != "alertname")
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            match (&alertname, others.is_empty()) {
                (Some(name), true) => Some(name.clone()),
                (Some(name), false) => Some(format!("{name} ({})", others.join(", "))),
                (None, false) => Some(others.join(", ")),
                (None, true) => None,
            }
        })
        .unwrap_or_else(|| "Alertmanager alert".to_string());
    let title = title(Some(&raw_title), "commonAnnotations.summary")?;
    let summary = common_annotations
        .get("description")
        .cloned()
        .or_else(|| {
            let lines: Vec<String> = alerts
                .iter()
                .filter_map(|a| {
                    let annotations = a.get("annotations")?.as_object()?;
                    annotations
                        .get("summary")
                        .or_else(|| annotations.get("description"))?
                        .as_str()
                        .map(str::to_string)
                })
                .take(5)
                .collect();
            (!lines.is_empty()).then(|| lines.join("; "))
        })
        .and_then(|s| summary(&s));
    let severity = common_labels
        .get("severity")
        .and_then(|s| severity(&Value::String(s.clone()), levels))
        .unwrap_or_else(|| lowest(levels));
    let link = alerts
        .iter()
        .filter_map(|a| a.get("generatorURL")?.as_str())
        .chain(body.get("externalURL").and_then(Value::as_str))
        .find_map(|l| link(l).ok());
    Ok(Alert {
        kind: Kind::Alertmanager,
        state,
        source: "alertmanager".to_string(),
        fingerprint: group_key,
        title,
        summary,
        severity,
        link,
        labels: group_labels.into_iter().chain(common_labels).collect(),
    })
}

// --- fields ---

/// A string field, or `None` when absent or `null`; another type is refused.
fn optional_str<'a>(body: &'a Map<String, Value>, field: &str) -> Result<Option<&'a str>, Invalid> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(invalid(field, "must be a string")),
    }
}

/// A label set (`{"name": "value"}`); absent is empty.
fn labels(
    body: &Map<String, Value>,
    field: &str,
) -> Result<std::collections::BTreeMap<String, String>, Invalid> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(Default::default()),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                _ => Err(invalid(&format!("{field}.{k}"), "must be a string")),
            })
            .collect(),
        Some(_) => Err(invalid(field, "must be an object of strings")),
    }
}

/// A required, visible title: one line, cut to [`MAX_TITLE_CHARS`].
fn title(raw: Option<&str>, field: &str) -> Result<String, Invalid> {
    let raw = raw.ok_or_else(|| invalid(field, "missing: every alert needs a title"))?;
    if !has_visible_text(raw) {
        return Err(invalid(field, "has no visible text"));
    }
    let line = mrkdwn::one_line(raw);
    Ok(truncate_chars(&line, MAX_TITLE_CHARS))
}

/// An optional summary cut to [`MAX_SUMMARY_CHARS`]; invisible text counts as none.
fn summary(raw: &str) -> Option<String> {
    let raw = raw.trim();
    has_visible_text(raw).then(|| truncate_chars(raw, MAX_SUMMARY_CHARS))
}

/// A short one-line identifier (`source`).
fn one_line(raw: &str, field: &str, max: usize) -> Result<String, Invalid> {
    let raw = raw.trim();
    if !has_visible_text(raw) || raw.chars().any(char::is_control) {
        return Err(invalid(field, "must be one line of visible text"));
    }
    let chars = raw.chars().count();
    if chars > max {
        return Err(invalid(
            field,
            format!("is {chars} characters; keep it to {max}"),
        ));
    }
    Ok(raw.to_string())
}

fn fingerprint(raw: &str, field: &str) -> Result<String, Invalid> {
    one_line(raw, field, MAX_FINGERPRINT_CHARS)
}

/// An `http(s)` URL with nothing that could break out of a Slack link (`<url|label>`).
fn link(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    let lower = raw.to_ascii_lowercase();
    let host = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .ok_or("must be an http:// or https:// URL")?;
    if host.is_empty() || host.starts_with('/') {
        return Err("names no host".into());
    }
    if raw
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '|'))
    {
        return Err("must not contain spaces, <, > or |".into());
    }
    if raw.chars().count() > MAX_LINK_CHARS {
        return Err(format!("is longer than {MAX_LINK_CHARS} characters"));
    }
    Ok(raw.to_string())
}

fn state(word: &str) -> Option<State> {
    match word.trim().to_ascii_lowercase().as_str() {
        "firing" => Some(State::Firing),
        "resolved" => Some(State::Resolved),
        _ => None,
    }
}

fn lowest(levels: u8) -> Severity {
    // A scale has at least one level.
    Severity::scale(levels.max(1))
        .last()
        .expect("a scale of one level or more has a last level")
}

/// Our forms (`sev1`, `p1`, `1`, the number 1) and the words monitors use: `critical` (and
/// `fatal`, `emergency`, `page`) is the most severe level, `error` (`major`, `high`) the next,
/// `warning` (`minor`, `low`, `info`) the least severe.
fn severity(value: &Value, levels: u8) -> Option<Severity> {
    let word = match value {
        Value::String(s) => s.trim().to_ascii_lowercase(),
        Value::Number(n) => n.as_u64()?.to_string(),
        _ => return None,
    };
    if let Some(sev) = Severity::parse(&word, levels) {
        return Some(sev);
    }
    let level = match word.as_str() {
        "critical" | "crit" | "fatal" | "emergency" | "page" => 1,
        "error" | "major" | "high" => 2.min(levels),
        "warning" | "warn" | "minor" | "low" | "info" | "informational" => levels,
        _ => return None,
    };
    Severity::level(level, levels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sev(n: &str) -> Severity {
        Severity::parse(n, 3).expect("sev")
    }

    #[test]
    fn a_generic_alert_reads_every_field() {
        let alert = parse_generic(
            &json!({"title": "  Deploy\n failed ", "summary": "step 3", "severity": "critical",
                    "fingerprint": "deploy-main", "source": "ci", "link": "https://ci.example.com/1",
                    "extra": true}),
            3,
        )
        .expect("valid");
        assert_eq!(
            alert,
            Alert {
                kind: Kind::Generic,
                state: State::Firing,
                source: "ci".into(),
                fingerprint: "deploy-main".into(),
                title: "Deploy failed".into(),
                summary: Some("step 3".into()),
                severity: sev("1"),
                link: Some("https://ci.example.com/1".into()),
                labels: Default::default(),
            }
        );
        assert_eq!(alert.key(), "generic:deploy-main");
        let incident = alert.incident("U0BOT", DateTime::from_timestamp(0, 0).expect("t"));
        assert_eq!(incident.status, Status::Triage);
        assert!(incident.roles.is_empty());
        assert_eq!(
            incident.summary.as_deref(),
            Some("step 3 — https://ci.example.com/1")
        );
    }

    #[test]
    fn a_generic_alert_needs_only_a_title() {
        let alert = parse_generic(&json!({"title": "Disk full"}), 3).expect("valid");
        assert_eq!(alert.severity, sev("3"));
        assert_eq!(alert.source, "generic");
        assert_eq!(alert.fingerprint, "generic/disk full");
        assert_eq!(alert.state, State::Firing);
        let resolved =
            parse_generic(&json!({"title": "Disk full", "status": "resolved"}), 3).expect("ok");
        assert_eq!(resolved.key(), alert.key());
        assert_eq!(resolved.state, State::Resolved);
    }

    #[test]
    fn severities_are_ours_or_the_monitors_words() {
        for (given, expected) in [
            (json!("sev2"), "2"),
            (json!("P1"), "1"),
            (json!(3), "3"),
            (json!("critical"), "1"),
            (json!("error"), "2"),
            (json!("warning"), "3"),
            (json!("info"), "3"),
        ] {
            let alert = parse_generic(&json!({"title": "t", "severity": given}), 3).expect("ok");
            assert_eq!(alert.severity, sev(expected), "{given}");
        }
    }

    #[test]
    fn what_cannot_be_read_is_refused_naming_the_field() {
        for (body, expected) in [
            (json!([]), "the body must be a JSON object"),
            (json!({}), "title: missing: every alert needs a title"),
            (json!({"title": "\u{200B} "}), "title: has no visible text"),
            (json!({"title": 5}), "title: must be a string"),
            (
                json!({"title": "t", "severity": "sev9"}),
                "severity: \"sev9\" is not a severity",
            ),
            (
                json!({"title": "t", "link": "javascript:alert(1)"}),
                "link: must be an http:// or https:// URL",
            ),
            (
                json!({"title": "t", "link": "https://x.example/a|<!channel>"}),
                "link: must not contain",
            ),
            (
                json!({"title": "t", "status": "burning"}),
                "status: use firing or resolved",
            ),
            (
                json!({"title": "t", "fingerprint": "a".repeat(1001)}),
                "fingerprint: is 1001 characters",
            ),
        ] {
            let err = parse_generic(&body, 3).expect_err(expected).to_string();
            assert!(err.starts_with(expected), "{err} / {expected}");
        }
    }

    #[test]
    fn long_texts_are_cut_not_refused() {
        let alert = parse_generic(
            &json!({"title": "t".repeat(400), "summary": "s".repeat(4000)}),
            3,
        )
        .expect("valid");
        assert_eq!(alert.title.chars().count(), MAX_TITLE_CHARS);
        assert_eq!(
            alert.summary.expect("summary").chars().count(),
            MAX_SUMMARY_CHARS
        );
    }

    fn alertmanager(status: &str) -> Value {
        json!({
            "version": "4",
            "groupKey": "{}:{alertname=\"HighErrorRate\", service=\"checkout\"}",
            "truncatedAlerts": 0,
            "status": status,
            "receiver": "incident-commander",
            "groupLabels": {"alertname": "HighErrorRate", "service": "checkout"},
            "commonLabels": {"alertname": "HighErrorRate", "service": "checkout", "severity": "critical"},
            "commonAnnotations": {},
            "externalURL": "http://alertmanager.example:9093",
            "alerts": [{
                "status": status,
                "labels": {"alertname": "HighErrorRate", "service": "checkout", "instance": "a"},
                "annotations": {"summary": "5xx above 5% on a"},
                "startsAt": "2026-01-01T00:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.example:9090/graph?g0.expr=x",
                "fingerprint": "c0ffee"
            }]
        })
    }

    #[test]
    fn an_alertmanager_group_is_one_alert_keyed_by_its_group_key() {
        let alert = parse_alertmanager(&alertmanager("firing"), 3).expect("valid");
        assert_eq!(alert.kind, Kind::Alertmanager);
        assert_eq!(alert.state, State::Firing);
        assert_eq!(alert.title, "HighErrorRate (service=checkout)");
        assert_eq!(alert.summary.as_deref(), Some("5xx above 5% on a"));
        assert_eq!(alert.severity, sev("1"));
        assert_eq!(
            alert.link.as_deref(),
            Some("http://prometheus.example:9090/graph?g0.expr=x")
        );
        assert_eq!(
            alert.key(),
            "alertmanager:{}:{alertname=\"HighErrorRate\", service=\"checkout\"}"
        );
        let resolved = parse_alertmanager(&alertmanager("resolved"), 3).expect("valid");
        assert_eq!(
            (resolved.key(), resolved.state),
            (alert.key(), State::Resolved)
        );
    }

    #[test]
    fn alertmanager_annotations_win_and_bad_links_are_dropped() {
        let mut body = alertmanager("firing");
        body["commonAnnotations"] =
            json!({"summary": "Checkout errors", "description": "Error budget burning"});
        body["alerts"][0]["generatorURL"] = json!("ftp://nope");
        let alert = parse_alertmanager(&body, 3).expect("valid");
        assert_eq!(alert.title, "Checkout errors");
        assert_eq!(alert.summary.as_deref(), Some("Error budget burning"));
        assert_eq!(
            alert.link.as_deref(),
            Some("http://alertmanager.example:9093")
        );
    }

    #[test]
    fn alertmanager_bodies_that_are_not_version_4_are_refused() {
        for (change, expected) in [
            (json!({"version": "3"}), "version: \"3\" is not supported"),
            (json!({"groupKey": ""}), "groupKey: must be one line"),
            (json!({"status": "maybe"}), "status: use firing or resolved"),
            (json!({"alerts": {}}), "alerts: must be an array"),
            (
                json!({"commonLabels": {"a": 1}}),
                "commonLabels.a: must be a string",
            ),
        ] {
            let mut body = alertmanager("firing");
            for (k, v) in change.as_object().expect("object") {
                body[k] = v.clone();
            }
            let err = parse_alertmanager(&body, 3)
                .expect_err(expected)
                .to_string();
            assert!(err.starts_with(expected), "{err} / {expected}");
        }
        let mut body = alertmanager("firing");
        body.as_object_mut().expect("object").remove("version");
        let err = parse_alertmanager(&body, 3).expect_err("no version");
        assert_eq!(err.field, "version");
    }

    #[test]
    fn messages_escape_the_monitors_text() {
        let mut incident = crate::domain::incident::tests::sample(7);
        incident.status = Status::Triage;
        let alert = parse_generic(
            &json!({"title": "<!channel> down", "source": "ci & co", "link": "https://x.example/1"}),
            3,
        )
        .expect("valid");
        let post = resolved_post(&incident, &alert);
        let text = format!("{post:?}");
        assert!(!text.contains("<!channel>"), "{text}");
        assert!(text.contains("&lt;!channel&gt; down"), "{text}");
        assert!(text.contains("ci &amp; co"), "{text}");
        assert!(text.contains("*INC-7* stays *triage*"), "{text}");
    }
}
