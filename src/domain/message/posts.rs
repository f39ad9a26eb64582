//! What the bot posts once or replies: acks of declarations, status updates, role notices,
//! escalations, the resolution, and reports of failures. Free text where the author may have
//! mentioned people goes through `escape_keeping_mentions`; titles through `escape`.

use super::{Block, Message, headline, span};
use crate::domain::mrkdwn::{self, escape, escape_keeping_mentions};
use crate::domain::{Incident, Role, Status};

/// The ack of a fresh declaration.
pub fn declared_reply(incident: &Incident) -> String {
    format!(
        ":rotating_light: Declared *{}* · {} · {} — {}. Opening its channel and inviting you now.",
        incident.reference(),
        incident.severity,
        incident.status,
        escape(&incident.title)
    )
}

/// The reply when the same declaration arrives again (a redelivery, a double submit).
pub fn already_declared_reply(incident: &Incident) -> String {
    let place = match &incident.channel_id {
        Some(id) => format!("in {}", mrkdwn::channel(id)),
        None => "— its channel is being opened".to_string(),
    };
    format!(
        "*{}* ({}) is already declared {} — {}.",
        incident.reference(),
        incident.severity,
        place,
        escape(&incident.title)
    )
}

/// The reply to a command that was already carried out (Slack delivered it twice).
pub fn already_done_reply() -> String {
    "That command was already carried out.".to_string()
}

/// An in-channel command used elsewhere: where to use it instead. `open` are the open incidents
/// `viewer` may see, most relevant first.
pub fn not_in_incident_channel(command: &str, open: &[&Incident]) -> String {
    let mut out = format!("`/inc {command}` works only in an incident's channel.");
    let channels: Vec<String> = open
        .iter()
        .filter_map(|i| {
            i.channel_id
                .as_deref()
                .map(|c| format!("{} ({})", mrkdwn::channel(c), i.reference()))
        })
        .take(5)
        .collect();
    if channels.is_empty() {
        out.push_str(" There is no open incident; declare one with `/inc declare`.");
    } else {
        out.push_str(&format!(" Use it in {}.", channels.join(", ")));
    }
    out
}

/// A status update, posted in the incident channel and in the announcement's thread.
pub fn update_post(
    incident: &Incident,
    author: &str,
    moved_to: Option<Status>,
    text: &str,
) -> Message {
    let status = match moved_to {
        Some(status) => format!("now *{status}*"),
        None => incident.status.to_string(),
    };
    let head = format!(":memo: *Update* on *{}* · {status}", incident.reference());
    Message {
        text: format!(
            "Update on {} ({}): {}",
            incident.reference(),
            incident.status,
            escape_keeping_mentions(text)
        ),
        blocks: vec![
            Block::Section(format!("{head}\n{}", escape_keeping_mentions(text))),
            Block::Context(format!("Posted by {}", mrkdwn::user(author))),
        ],
    }
}

/// A one-line notice in the incident channel.
pub fn notice(text: &str) -> Message {
    Message::text(text)
}

pub fn role_assigned(role: Role, user: &str, by: &str) -> String {
    if user == by {
        format!(
            ":bust_in_silhouette: {} is now the *{role}*.",
            mrkdwn::user(user)
        )
    } else {
        format!(
            ":bust_in_silhouette: {} is now the *{role}* (assigned by {}).",
            mrkdwn::user(user),
            mrkdwn::user(by)
        )
    }
}

/// A takeover says who held the role before.
pub fn role_handed_over(role: Role, from: &str, to: &str, by: &str) -> String {
    let mut text = format!(
        ":arrows_counterclockwise: {} took over as *{role}* from {}",
        mrkdwn::user(to),
        mrkdwn::user(from)
    );
    if by != to {
        text.push_str(&format!(" (handed over by {})", mrkdwn::user(by)));
    }
    text.push('.');
    text
}

pub fn role_released(role: Role, user: &str, by: &str) -> String {
    format!(
        ":bust_in_silhouette: {} is no longer the *{role}*; nobody holds it now (released by {}).",
        mrkdwn::user(user),
        mrkdwn::user(by)
    )
}

/// The ping that brings someone in. `ping` is a mention the bot composed.
pub fn escalation(incident: &Incident, ping: &str, by: &str, text: Option<&str>) -> Message {
    let mut out = format!(
        ":sos: {ping} — {} needs you on {}.",
        mrkdwn::user(by),
        headline(incident)
    );
    if let Some(text) = text {
        out.push_str(&format!("\n>{}", escape_keeping_mentions(text)));
    }
    Message::text(out)
}

pub fn resolved_post(incident: &Incident, by: &str, text: Option<&str>) -> Message {
    let open_for = incident
        .resolved_at
        .map(|end| span(end - incident.declared_at))
        .unwrap_or_default();
    let mut out = format!(
        ":white_check_mark: *{} is resolved* — {} closed it after {open_for}.",
        incident.reference(),
        mrkdwn::user(by)
    );
    if let Some(text) = text {
        out.push_str(&format!("\n{}", escape_keeping_mentions(text)));
    }
    Message::text(out)
}

pub fn declined_post(incident: &Incident, by: &str, reason: Option<&str>) -> Message {
    let mut out = format!(
        ":no_entry_sign: *{} is declined* — {} called it off: not an incident.",
        incident.reference(),
        mrkdwn::user(by)
    );
    if let Some(reason) = reason {
        out.push_str(&format!("\n{}", escape_keeping_mentions(reason)));
    }
    Message::text(out)
}

pub fn reopened_post(incident: &Incident, by: &str) -> Message {
    Message::text(format!(
        ":leftwards_arrow_with_hook: *{} is open again* — {} reopened it; status *{}*.",
        incident.reference(),
        mrkdwn::user(by),
        incident.status
    ))
}

/// Told to the declarer when their incident's channel could not be opened.
pub fn channel_failed(incident: &Incident, error: &str) -> String {
    format!(
        ":warning: *{}* is recorded, but Slack refused to create its channel (`{}`). \
         Ask a workspace admin whether the bot may create channels, then declare again.",
        incident.reference(),
        escape(error)
    )
}

/// Posted in the incident channel when a later step failed for good.
pub fn step_failed(incident: &Incident, what: &str, error: &str) -> String {
    format!(
        ":warning: {} for *{}* failed: Slack answered `{}`.",
        what,
        incident.reference(),
        escape(error)
    )
}
