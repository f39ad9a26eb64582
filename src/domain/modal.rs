//! The Declare, Update and status-page (`statuspage`) modals: what they ask (Slack-agnostic; `slack::blocks` renders them as
//! Block Kit views) and what a submission means — a validated form, or errors keyed by the field
//! they belong to (Slack shows each under its field).
//!
//! Every input has the action id [`VALUE`]; its block id names the field. A modal carries its
//! context in `private_metadata` (JSON, at most 3,000 characters): the message a declaration
//! came from, or the incident an update is for.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::domain::change::impact::ClockTime;
use serde::{Deserialize, Serialize};

use super::command::{MAX_SUMMARY_CHARS, MAX_TEXT_CHARS, MAX_TITLE_CHARS, has_visible_text};
use super::severity::Severity;
use super::source::SourceMessage;
use super::{Incident, IncidentId, NewIncident, Role, Status, UserId, mrkdwn};

/// The callback id of the "Declare incident" message shortcut (in the app manifest).
pub const SHORTCUT: &str = "declare_incident";
/// The callback id of the Declare modal.
pub const DECLARE: &str = "declare_modal";
/// The callback id of the Update modal.
pub const UPDATE: &str = "update_modal";
/// The callback id of the status-page modal.
pub const STATUSPAGE: &str = "statuspage_modal";
/// The action id of every input.
pub const VALUE: &str = "value";
/// Slack's limit on `private_metadata`.
const MAX_METADATA: usize = 3_000;

/// A modal view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Modal {
    pub callback_id: &'static str,
    /// At most 24 characters (Slack's limit).
    pub title: &'static str,
    pub submit: &'static str,
    pub private_metadata: String,
    pub blocks: Vec<ModalBlock>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModalBlock {
    Input(Input),
    /// Small grey mrkdwn text.
    Context(String),
}

/// One field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// Names the field in submissions and errors.
    pub block_id: &'static str,
    pub label: &'static str,
    pub optional: bool,
    pub hint: Option<&'static str>,
    pub element: Element,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Element {
    Text {
        multiline: bool,
        max_length: usize,
        initial: Option<String>,
    },
    /// A single choice among `(label, value)` options.
    Select {
        options: Vec<(String, String)>,
        initial: Option<String>,
    },
    /// One person.
    User { initial: Option<UserId> },
    /// Tick boxes `(label, value)`; `initial` are the values ticked.
    Checkboxes {
        options: Vec<(String, String)>,
        initial: Vec<String>,
    },
}

/// A submitted field's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    Text(Option<String>),
    Choice(Option<String>),
    User(Option<UserId>),
    Checked(Vec<String>),
}

/// A submission's values by block id.
pub type Values = BTreeMap<String, Field>;

/// Errors by block id; Slack shows each under its field.
pub type FieldErrors = Vec<(&'static str, String)>;

// --- Declare ---

/// What the Declare modal carries between opening and submission.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclareContext {
    /// The message it was opened on (the shortcut), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceMessage>,
    /// Where to tell the declarer if the channel cannot be created (the command's or the
    /// shortcut's response URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_url: Option<String>,
}

/// How the Declare modal opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclarePrefill {
    pub title: Option<String>,
    pub summary: Option<String>,
    pub source: Option<SourceMessage>,
    pub declarer: UserId,
    /// With a coordinator group configured the declarer is proposed as operator and the group
    /// is offered the coordinator role; otherwise the declarer is proposed as coordinator.
    pub coordinator_group: bool,
    pub response_url: Option<String>,
    /// The PagerDuty services the form offers to page (none: no "Page on-call" field).
    pub services: Vec<String>,
    /// The services the form offers as affected (none: no "Affected services" field).
    pub affected: Vec<String>,
    /// "This is a drill" ticked from the start (`/inc declare drill`).
    pub drill: bool,
}

impl DeclarePrefill {
    /// From `/inc declare [<title>]`.
    pub fn from_command(declarer: &str, title: Option<String>, coordinator_group: bool) -> Self {
        DeclarePrefill {
            title,
            summary: None,
            source: None,
            declarer: declarer.to_string(),
            coordinator_group,
            response_url: None,
            services: Vec::new(),
            affected: Vec::new(),
            drill: false,
        }
    }

    /// From the "Declare incident" shortcut on `source`.
    pub fn from_message(declarer: &str, source: SourceMessage, coordinator_group: bool) -> Self {
        DeclarePrefill {
            title: Some(source.suggested_title()).filter(|t| !t.is_empty()),
            summary: Some(source.suggested_summary(MAX_SUMMARY_CHARS)).filter(|s| !s.is_empty()),
            source: Some(source),
            declarer: declarer.to_string(),
            coordinator_group,
            response_url: None,
            services: Vec::new(),
            affected: Vec::new(),
            drill: false,
        }
    }
}

/// The Declare modal.
pub fn declare_modal(prefill: &DeclarePrefill, levels: u8) -> Modal {
    let severities = Severity::scale(levels)
        .map(|sev| (severity_label(sev), sev.as_key()))
        .collect();
    let (coordinator, operator) = if prefill.coordinator_group {
        (None, Some(prefill.declarer.clone()))
    } else {
        (Some(prefill.declarer.clone()), None)
    };
    let mut blocks = Vec::new();
    if let Some(source) = &prefill.source {
        let mut context = format!(
            "From a message by {} in {}",
            source.byline(),
            mrkdwn::channel(&source.channel)
        );
        if let Some(link) = &source.permalink {
            context.push_str(&format!(": {}", mrkdwn::escape(link)));
        }
        blocks.push(ModalBlock::Context(context));
    }
    blocks.extend([
        input(
            "title",
            "Title",
            false,
            None,
            text(false, MAX_TITLE_CHARS, prefill.title.clone()),
        ),
        input(
            "severity",
            "Severity",
            false,
            None,
            Element::Select {
                options: severities,
                initial: None,
            },
        ),
        input(
            "triage",
            "Triage",
            true,
            None,
            Element::Checkboxes {
                options: vec![(
                    "Start in triage: not sure it is an incident yet".into(),
                    "triage".into(),
                )],
                initial: Vec::new(),
            },
        ),
        input(
            "summary",
            "Summary",
            true,
            Some("What is wrong, for the topic and the announcement."),
            text(true, MAX_SUMMARY_CHARS, prefill.summary.clone()),
        ),
        input(
            "impact",
            "Affected customers or services",
            true,
            None,
            text(false, MAX_SUMMARY_CHARS, None),
        ),
        input(
            "impact_started",
            "Customers affected since",
            true,
            Some("A time on your team's clock, such as 14:02, or now."),
            text(false, 5, None),
        ),
        input(
            "coordinator",
            "Coordinator",
            true,
            if prefill.coordinator_group {
                Some("Leave empty to offer the role to the coordinator group.")
            } else {
                None
            },
            Element::User {
                initial: coordinator,
            },
        ),
        input(
            "operator",
            "Operator",
            true,
            None,
            Element::User { initial: operator },
        ),
        input(
            "private",
            "Visibility",
            true,
            None,
            Element::Checkboxes {
                options: vec![(
                    "Private incident: a private channel, not announced".into(),
                    "private".into(),
                )],
                initial: Vec::new(),
            },
        ),
        input(
            "drill",
            "Drill",
            true,
            None,
            Element::Checkboxes {
                options: vec![(
                    "This is a drill: marked DRILL, pages nobody, left out of the stats".into(),
                    "drill".into(),
                )],
                initial: match prefill.drill {
                    true => vec!["drill".into()],
                    false => Vec::new(),
                },
            },
        ),
    ]);
    if !prefill.affected.is_empty() {
        blocks.push(input(
            "services",
            "Affected services",
            true,
            Some("Rules may act on them (docs/integrations.md)."),
            Element::Checkboxes {
                options: prefill
                    .affected
                    .iter()
                    .map(|s| (s.clone(), s.clone()))
                    .collect(),
                initial: Vec::new(),
            },
        ));
    }
    if !prefill.services.is_empty() {
        blocks.push(input(
            "page",
            "Page on-call",
            true,
            Some("Calls the on-call of each service ticked through PagerDuty."),
            Element::Checkboxes {
                options: prefill
                    .services
                    .iter()
                    .map(|s| (s.clone(), s.clone()))
                    .collect(),
                initial: Vec::new(),
            },
        ));
    }
    let context = DeclareContext {
        source: prefill.source.clone(),
        response_url: prefill.response_url.clone(),
    };
    Modal {
        callback_id: DECLARE,
        title: "Declare incident",
        submit: "Declare",
        private_metadata: declare_metadata(context),
        blocks,
    }
}

/// `SEV1 — critical`.
fn severity_label(sev: Severity) -> String {
    let meaning = match sev.to_string().as_str() {
        "SEV1" => " — critical: customers' production impaired",
        "SEV2" => " — major",
        "SEV3" => " — minor",
        _ => "",
    };
    format!("{sev}{meaning}")
}

/// The context as JSON that fits Slack's limit: a long source text is cut.
fn declare_metadata(mut context: DeclareContext) -> String {
    loop {
        let json = serde_json::to_string(&context).unwrap_or_default();
        if json.len() <= MAX_METADATA {
            return json;
        }
        let Some(source) = context.source.as_mut() else {
            return "{}".into();
        };
        let keep = source.text.chars().count() * 3 / 4;
        if keep < 10 {
            source.text = String::new();
            source.headline = None;
        } else {
            source.text = source.text.chars().take(keep).collect::<String>() + "…";
        }
    }
}

/// A validated Declare submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclareForm {
    pub title: String,
    pub severity: Severity,
    pub triage: bool,
    pub summary: Option<String>,
    pub impact: Option<String>,
    /// "Customers affected since": a time on the team's clock.
    pub impact_started: Option<ClockTime>,
    pub coordinator: Option<UserId>,
    pub operator: Option<UserId>,
    pub private: bool,
    pub source: Option<SourceMessage>,
    pub response_url: Option<String>,
    /// The PagerDuty services ticked under "Page on-call".
    pub page: Vec<String>,
    /// The services ticked as affected.
    pub services: Vec<String>,
    /// "This is a drill" ticked.
    pub drill: bool,
}

impl DeclareForm {
    /// Reads a Declare submission; errors name their field.
    pub fn parse(values: &Values, metadata: &str, levels: u8) -> Result<DeclareForm, FieldErrors> {
        let mut errors = FieldErrors::new();
        let title = match text_value(values, "title") {
            None => {
                errors.push(("title", "Give the incident a title.".into()));
                String::new()
            }
            Some(t) if !has_visible_text(&t) => {
                errors.push(("title", "That title has no visible characters.".into()));
                t
            }
            Some(t) => {
                let title = mrkdwn::one_line(&t);
                let chars = title.chars().count();
                if chars > MAX_TITLE_CHARS {
                    errors.push((
                        "title",
                        format!(
                            "Keep the title to {MAX_TITLE_CHARS} characters; this one has {chars}."
                        ),
                    ));
                }
                title
            }
        };
        let severity = match choice(values, "severity")
            .and_then(|k| Severity::from_key(&k))
            .filter(|sev| Severity::scale(levels).any(|s| s == *sev))
        {
            Some(sev) => Some(sev),
            None => {
                errors.push(("severity", "Choose a severity.".into()));
                None
            }
        };
        let summary = optional_text(values, "summary", MAX_SUMMARY_CHARS, &mut errors);
        let impact = optional_text(values, "impact", MAX_SUMMARY_CHARS, &mut errors);
        let impact_started = match text_value(values, "impact_started") {
            None => None,
            Some(t) => match ClockTime::parse(t.trim()) {
                Some(at) => Some(at),
                None => {
                    errors.push((
                        "impact_started",
                        "Use a time on your team's clock, such as 14:02, or now.".into(),
                    ));
                    None
                }
            },
        };
        let context: DeclareContext = serde_json::from_str(metadata).unwrap_or_default();
        match (errors.is_empty(), severity) {
            (true, Some(severity)) => Ok(DeclareForm {
                title,
                severity,
                triage: checked(values, "triage", "triage"),
                summary,
                impact,
                impact_started,
                coordinator: user(values, "coordinator"),
                operator: user(values, "operator"),
                private: checked(values, "private", "private"),
                source: context.source,
                response_url: context.response_url,
                page: checked_all(values, "page"),
                services: checked_all(values, "services"),
                drill: checked(values, "drill", "drill"),
            }),
            _ => Err(errors),
        }
    }

    /// The incident this submission declares: the roles as the form says; the impact's start
    /// read on `tz`'s clock.
    pub fn incident(self, declarer: &str, now: DateTime<Utc>, tz: chrono_tz::Tz) -> NewIncident {
        let roles = [
            (Role::Coordinator, self.coordinator),
            (Role::Operator, self.operator),
        ]
        .into_iter()
        .filter_map(|(role, user)| user.map(|u| (role, u)))
        .collect();
        NewIncident {
            title: self.title,
            severity: self.severity,
            status: if self.triage {
                Status::Triage
            } else {
                Status::Investigating
            },
            private: self.private,
            summary: self.summary,
            impact: self.impact,
            source: self.source,
            declared_by: declarer.to_string(),
            declared_at: now,
            roles,
            services: self.services,
            drill: self.drill,
            impact_started_at: self.impact_started.map(|at| at.resolve(now, tz)),
        }
    }
}

// --- Update ---

/// What the Update modal carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateContext {
    pub incident: IncidentId,
}

/// The Update modal for `incident`: its status, its summary, and the update's text.
pub fn update_modal(incident: &Incident) -> Modal {
    let statuses = [
        Status::Triage,
        Status::Investigating,
        Status::Fixing,
        Status::Monitoring,
    ]
    .into_iter()
    .filter(|s| *s == incident.status || incident.status.can_become(*s))
    .map(|s| (s.to_string(), s.to_string()))
    .collect();
    Modal {
        callback_id: UPDATE,
        title: "Post an update",
        submit: "Post",
        private_metadata: serde_json::to_string(&UpdateContext {
            incident: incident.id,
        })
        .unwrap_or_default(),
        blocks: vec![
            ModalBlock::Context(format!(
                "*{}* — {} · {} · {}",
                incident.reference(),
                mrkdwn::escape(&incident.title),
                incident.severity,
                incident.status
            )),
            input(
                "status",
                "Status",
                false,
                None,
                Element::Select {
                    options: statuses,
                    initial: Some(incident.status.to_string()),
                },
            ),
            input(
                "summary",
                "Summary",
                true,
                Some("Shown in the topic and on the cards."),
                text(true, MAX_SUMMARY_CHARS, incident.summary.clone()),
            ),
            input(
                "text",
                "Update",
                false,
                Some("Posted in the channel and under the announcement."),
                text(true, MAX_TEXT_CHARS, None),
            ),
        ],
    }
}

/// A validated Update submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateForm {
    pub incident: IncidentId,
    pub status: Option<Status>,
    /// `Some` when the summary field holds text (it may equal the current summary).
    pub summary: Option<String>,
    pub text: String,
}

impl UpdateForm {
    pub fn parse(values: &Values, metadata: &str) -> Result<UpdateForm, FieldErrors> {
        let mut errors = FieldErrors::new();
        let Ok(context) = serde_json::from_str::<UpdateContext>(metadata) else {
            return Err(vec![(
                "text",
                "This form lost track of its incident; open it again.".into(),
            )]);
        };
        let text = match text_value(values, "text") {
            None => {
                errors.push(("text", "Write the update.".into()));
                String::new()
            }
            Some(t) if !has_visible_text(&t) => {
                errors.push(("text", "That update has no visible characters.".into()));
                t
            }
            Some(t) => {
                let chars = t.chars().count();
                if chars > MAX_TEXT_CHARS {
                    errors.push((
                        "text",
                        format!(
                            "Keep the update to {MAX_TEXT_CHARS} characters; this one has {chars}."
                        ),
                    ));
                }
                t
            }
        };
        let summary = optional_text(values, "summary", MAX_SUMMARY_CHARS, &mut errors);
        let status = choice(values, "status").and_then(|s| Status::parse(&s));
        if errors.is_empty() {
            Ok(UpdateForm {
                incident: context.incident,
                status,
                summary,
                text: text.trim().to_string(),
            })
        } else {
            Err(errors)
        }
    }
}

// --- helpers ---

pub(super) fn input(
    block_id: &'static str,
    label: &'static str,
    optional: bool,
    hint: Option<&'static str>,
    element: Element,
) -> ModalBlock {
    ModalBlock::Input(Input {
        block_id,
        label,
        optional,
        hint,
        element,
    })
}

pub(super) fn text(multiline: bool, max_length: usize, initial: Option<String>) -> Element {
    Element::Text {
        multiline,
        max_length,
        initial,
    }
}

/// A text field's value, trimmed; `None` when empty.
pub(super) fn text_value(values: &Values, block: &str) -> Option<String> {
    match values.get(block) {
        Some(Field::Text(Some(t))) if !t.trim().is_empty() => Some(t.trim().to_string()),
        _ => None,
    }
}

pub(super) fn optional_text(
    values: &Values,
    block: &'static str,
    max: usize,
    errors: &mut FieldErrors,
) -> Option<String> {
    let text = text_value(values, block).filter(|t| has_visible_text(t))?;
    let chars = text.chars().count();
    if chars > max {
        errors.push((
            block,
            format!("Keep it to {max} characters; this has {chars}."),
        ));
    }
    Some(text)
}

pub(super) fn choice(values: &Values, block: &str) -> Option<String> {
    match values.get(block) {
        Some(Field::Choice(c)) => c.clone(),
        _ => None,
    }
}

fn user(values: &Values, block: &str) -> Option<UserId> {
    match values.get(block) {
        Some(Field::User(u)) => u.clone(),
        _ => None,
    }
}

pub(super) fn checked(values: &Values, block: &str, option: &str) -> bool {
    matches!(values.get(block), Some(Field::Checked(v)) if v.iter().any(|o| o == option))
}

/// Every option ticked in a tick-box field.
pub(super) fn checked_all(values: &Values, block: &str) -> Vec<String> {
    match values.get(block) {
        Some(Field::Checked(v)) => v.clone(),
        _ => Vec::new(),
    }
}

pub mod statuspage;

#[cfg(test)]
mod tests;
