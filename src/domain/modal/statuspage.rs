//! The status-page form: what will be published on the public status page, prefilled from the
//! incident, and nothing published until a person submits it.
//!
//! It asks for the public title, the public status (investigating, identified, monitoring,
//! resolved), the message customers read, the components affected (read from the page when the
//! form opens) and their state; it shows a preview of what customers will see. Resolving here
//! offers the form again (a button) with `resolved` chosen and a closing message.

use serde::{Deserialize, Serialize};

use super::{
    Element, FieldErrors, Modal, ModalBlock, STATUSPAGE, Values, checked_all, choice, input,
    optional_text, text, text_value,
};
use crate::domain::command::has_visible_text;
use crate::domain::{Incident, IncidentId, Status, mrkdwn};

/// The longest public title Statuspage takes.
pub const MAX_PUBLIC_TITLE_CHARS: usize = 255;
/// The longest message the form takes.
pub const MAX_PUBLIC_MESSAGE_CHARS: usize = 2_500;
/// The public statuses, in order; the last ends the public incident.
pub const PUBLIC_STATUSES: [&str; 4] = ["investigating", "identified", "monitoring", RESOLVED];
/// The public status that ends it.
pub const RESOLVED: &str = "resolved";
/// The states an affected component may be shown in.
pub const COMPONENT_STATES: [(&str, &str); 4] = [
    ("Degraded performance", "degraded_performance"),
    ("Partial outage", "partial_outage"),
    ("Major outage", "major_outage"),
    ("Under maintenance", "under_maintenance"),
];

/// What the form carries between opening and submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatuspageContext {
    pub incident: IncidentId,
}

/// A component of the status page, as the form lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    pub id: String,
    pub name: String,
}

/// What the form opens with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatuspagePrefill {
    /// The title already public, if the incident was published before.
    pub public_title: Option<String>,
    /// The page's components; `None` when they could not be read in time.
    pub components: Option<Vec<Component>>,
    /// Open to resolve the public incident (the button offered at resolution).
    pub resolving: bool,
}

/// The public status an incident's own status suggests.
pub fn suggested_status(status: Status) -> &'static str {
    match status {
        Status::Triage | Status::Investigating => "investigating",
        Status::Fixing => "identified",
        Status::Monitoring => "monitoring",
        Status::Resolved | Status::Declined => RESOLVED,
    }
}

/// The state affected components are shown in, by severity: the most severe a major outage.
pub fn suggested_state(incident: &Incident) -> &'static str {
    match incident.severity.as_key().as_str() {
        "sev1" => "major_outage",
        "sev2" => "partial_outage",
        _ => "degraded_performance",
    }
}

/// The status-page form for `incident`.
pub fn statuspage_modal(incident: &Incident, prefill: &StatuspagePrefill) -> Modal {
    let title = prefill
        .public_title
        .clone()
        .unwrap_or_else(|| incident.title.clone());
    let status = if prefill.resolving {
        RESOLVED
    } else {
        suggested_status(incident.status)
    };
    let message = match (prefill.resolving, &incident.summary) {
        (true, _) => "This incident has been resolved.".to_string(),
        (false, Some(summary)) => mrkdwn::plain(summary),
        (false, None) => format!("We are investigating {}.", title),
    };
    let mut blocks = vec![ModalBlock::Context(format!(
        "*{}* — what you submit here is published on the public status page.",
        incident.reference()
    ))];
    blocks.push(input(
        "title",
        "Public title",
        false,
        None,
        text(false, MAX_PUBLIC_TITLE_CHARS, Some(title.clone())),
    ));
    blocks.push(input(
        "status",
        "Public status",
        false,
        None,
        Element::Select {
            options: PUBLIC_STATUSES
                .iter()
                .map(|s| (capitalised(s), s.to_string()))
                .collect(),
            initial: Some(status.to_string()),
        },
    ));
    blocks.push(input(
        "message",
        "Message to customers",
        false,
        None,
        text(true, MAX_PUBLIC_MESSAGE_CHARS, Some(message.clone())),
    ));
    match &prefill.components {
        Some(components) if !components.is_empty() => {
            blocks.push(input(
                "components",
                "Affected components",
                true,
                Some("Shown in the state below; resolving sets them operational."),
                Element::Checkboxes {
                    options: components
                        .iter()
                        .map(|c| (c.name.clone(), c.id.clone()))
                        .collect(),
                    initial: Vec::new(),
                },
            ));
            blocks.push(input(
                "component_state",
                "Their state",
                true,
                None,
                Element::Select {
                    options: COMPONENT_STATES
                        .iter()
                        .map(|(label, value)| (label.to_string(), value.to_string()))
                        .collect(),
                    initial: Some(suggested_state(incident).to_string()),
                },
            ));
        }
        Some(_) => {}
        None => blocks.push(ModalBlock::Context(
            "The page's components could not be read just now; publish without them or try again."
                .into(),
        )),
    }
    blocks.push(ModalBlock::Context(format!(
        "*Preview* — customers will see: *{}* · {} — {}",
        mrkdwn::escape(&title),
        capitalised(status),
        mrkdwn::escape(&message)
    )));
    Modal {
        callback_id: STATUSPAGE,
        title: "Status page",
        submit: "Publish",
        private_metadata: serde_json::to_string(&StatuspageContext {
            incident: incident.id,
        })
        .unwrap_or_default(),
        blocks,
    }
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A validated status-page submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatuspageForm {
    pub incident: IncidentId,
    pub title: String,
    pub status: String,
    pub message: String,
    /// Component id → state (operational for every one when resolving).
    pub components: Vec<(String, String)>,
}

impl StatuspageForm {
    /// Reads a submission; errors name their field.
    pub fn parse(values: &Values, metadata: &str) -> Result<StatuspageForm, FieldErrors> {
        let mut errors = FieldErrors::new();
        let context: Option<StatuspageContext> = serde_json::from_str(metadata).ok();
        let title = match text_value(values, "title") {
            Some(t) if has_visible_text(&t) => {
                let t = mrkdwn::one_line(&t);
                let chars = t.chars().count();
                if chars > MAX_PUBLIC_TITLE_CHARS {
                    errors.push((
                        "title",
                        format!("Keep the title to {MAX_PUBLIC_TITLE_CHARS} characters; this one has {chars}."),
                    ));
                }
                t
            }
            _ => {
                errors.push(("title", "Give the public incident a title.".into()));
                String::new()
            }
        };
        let status = match choice(values, "status") {
            Some(s) if PUBLIC_STATUSES.contains(&s.as_str()) => s,
            _ => {
                errors.push(("status", "Choose a public status.".into()));
                String::new()
            }
        };
        let message = optional_text(values, "message", MAX_PUBLIC_MESSAGE_CHARS, &mut errors);
        if message.is_none() {
            errors.push(("message", "Write what customers should read.".into()));
        }
        let ticked = checked_all(values, "components");
        let state = choice(values, "component_state")
            .filter(|s| COMPONENT_STATES.iter().any(|(_, v)| v == s));
        if !ticked.is_empty() && state.is_none() && status != RESOLVED {
            errors.push((
                "component_state",
                "Choose the state of the components.".into(),
            ));
        }
        let state = if status == RESOLVED {
            "operational".to_string()
        } else {
            state.unwrap_or_default()
        };
        match (errors.is_empty(), context) {
            (true, Some(context)) => Ok(StatuspageForm {
                incident: context.incident,
                title,
                status,
                message: message.unwrap_or_default(),
                components: ticked.into_iter().map(|id| (id, state.clone())).collect(),
            }),
            (true, None) => Err(vec![(
                "title",
                "This form lost its incident; open it again.".into(),
            )]),
            (false, _) => Err(errors),
        }
    }
}
