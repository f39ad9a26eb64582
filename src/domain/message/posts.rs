//! What the bot posts once or replies: acks of declarations, status updates, role notices,
//! escalations, the resolution, and reports of failures. Free text where the author may have
//! mentioned people goes through `escape_keeping_mentions`; titles through `escape`.

use super::{Action, Block, Message, headline, span};
use crate::domain::mrkdwn::{self, escape, escape_keeping_mentions};
use crate::domain::source::SourceMessage;
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

/// The reply to `/inc adopt`: the channel it was typed in is the incident's now.
pub fn adopted_reply(incident: &Incident) -> String {
    format!(
        ":rotating_light: Declared *{}* · {} · {} — {}. This channel is its channel now.",
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
    if let Some(line) = super::postmortem_owed_line(incident) {
        out.push_str(&format!("\n{line}"));
    }
    Message {
        blocks: vec![
            Block::Section(out.clone()),
            Block::Actions(vec![
                Action::WritePostmortem.on(incident),
                Action::OwnPostmortem.on(incident),
            ]),
        ],
        text: out,
    }
}

/// The answer to `/inc postmortem` (and its button): the draft is on its way.
pub fn postmortem_requested(incident: &Incident) -> String {
    format!(
        ":memo: Writing the postmortem draft of *{}* from its pins and timeline; it will be \
         posted here as `{}-postmortem.md`.",
        incident.reference(),
        incident.reference()
    )
}

/// The comment the draft's file is shared with; a later version says it replaces the earlier.
pub fn postmortem_uploaded(incident: &Incident, version: i64) -> String {
    let mut text = format!(
        ":memo: The postmortem draft of *{}*, built from the channel's pins and the incident's \
         timeline. Copy it into your docs and fill in the empty sections.",
        incident.reference()
    );
    if version > 1 {
        text.push_str(&format!(
            "\nThis is version {version}: it replaces version {}.",
            version - 1
        ));
    }
    text
}

/// Told to whoever asked for the draft when its upload failed for good.
pub fn postmortem_failed(incident: &Incident, error: &str, saved: Option<i64>) -> String {
    let mut text = format!(
        ":warning: The postmortem draft of *{}* could not be posted: Slack answered `{}`.",
        incident.reference(),
        escape(error)
    );
    if let Some(version) = saved {
        text.push_str(&format!(
            " The draft (version {version}) is saved: `incident-commander postmortem {} --saved` prints it.",
            incident.reference()
        ));
    }
    text
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

/// Posted in the incident channel when nobody coordinates and a coordinator group is configured:
/// the group is pinged with a button that gives the role to whoever clicks first.
pub fn coordinator_wanted(incident: &Incident, group: &str) -> Message {
    let text = format!(
        ":raising_hand: {} — {} needs a coordinator. Whoever takes it runs the response.",
        mrkdwn::group(group),
        headline(incident)
    );
    Message {
        blocks: vec![
            Block::Section(text.clone()),
            Block::Actions(vec![Action::TakeCoordinator.on(incident)]),
        ],
        text,
    }
}

/// What the call for a coordinator becomes once someone took the role.
pub fn coordinator_taken(incident: &Incident, user: &str) -> Message {
    Message::text(format!(
        ":raising_hand: {} took the coordinator role for {}.",
        mrkdwn::user(user),
        headline(incident)
    ))
}

/// The message an incident was declared from, copied into its channel.
pub fn source_copy(source: &SourceMessage) -> Message {
    let place = match &source.permalink {
        Some(link) => format!("<{}|a message>", escape(link)),
        None => "a message".to_string(),
    };
    let head = format!(
        ":inbox_tray: Declared from {place} by {} in {}:",
        source.byline(),
        mrkdwn::channel(&source.channel)
    );
    let quoted: String = source
        .text
        .lines()
        .map(|l| format!("\n>{}", mrkdwn::quote(l)))
        .collect();
    let text = format!("{head}{quoted}");
    Message {
        blocks: vec![Block::Section(super::truncate_chars(&text, 2_900))],
        text: super::truncate_chars(&text, 2_900),
    }
}

/// Replied in the thread of the message an incident was declared from.
pub fn source_reply(incident: &Incident) -> Message {
    let place = match &incident.channel_id {
        Some(channel) => format!("in {}", mrkdwn::channel(channel)),
        None => "— its channel is being opened".to_string(),
    };
    Message::text(format!(
        ":rotating_light: Declared as {} ({}) {place}.",
        headline(incident),
        incident.severity
    ))
}

/// Told to someone who used the shortcut on a message that already became an incident.
pub fn already_declared_from(incident: &Incident) -> String {
    let place = match &incident.channel_id {
        Some(channel) => format!(": {}", mrkdwn::channel(channel)),
        None => String::new(),
    };
    format!(
        "This message was already declared as {} ({}){place}.",
        headline(incident),
        incident.status
    )
}

/// Who a reminder mentions: the comms holder, else the coordinator, else the declarer.
pub fn reminded(incident: &Incident) -> &str {
    incident
        .holder(Role::Comms)
        .or_else(|| incident.holder(Role::Coordinator))
        .unwrap_or(&incident.declared_by)
}

/// The update reminder, with **Post update** and **Snooze 30m**. `since` is how long ago the last
/// update was; `late`, how far past its time the reminder comes, when it is noticeably late.
pub fn reminder_post(
    incident: &Incident,
    since: chrono::Duration,
    late: Option<chrono::Duration>,
) -> Message {
    let mut text = format!(
        ":alarm_clock: {} — no update on {} for {}. The people waiting for news are owed one.",
        mrkdwn::user(reminded(incident)),
        headline(incident),
        span(since)
    );
    if let Some(late) = late {
        text.push_str(&format!(
            "\n_This reminder comes {} late: the bot was not running or was behind._",
            span(late)
        ));
    }
    Message {
        blocks: vec![
            Block::Section(text.clone()),
            Block::Actions(vec![
                Action::PostUpdate.on(incident),
                Action::Snooze.on(incident),
            ]),
        ],
        text,
    }
}

/// What a reminder becomes once snoozed (its buttons go).
pub fn reminder_snoozed(incident: &Incident, by: &str) -> Message {
    Message::text(format!(
        ":zzz: {} snoozed the update reminder for {} by 30 minutes.",
        mrkdwn::user(by),
        incident.reference()
    ))
}

/// The one nudge when nobody coordinates ten minutes in; pings the coordinator group if any.
pub fn nudge_post(incident: &Incident, group: Option<&str>) -> Message {
    let ping = group
        .map(|g| format!("{} ", mrkdwn::group(g)))
        .unwrap_or_default();
    Message::text(format!(
        ":wave: {ping}Nobody is coordinating {} yet — `/inc coordinator me` takes it.",
        headline(incident)
    ))
}

/// Told to someone whose modal could not be opened (Slack gives 3 seconds to open one).
pub fn modal_failed(error: &str) -> String {
    format!(
        ":warning: Slack did not open the form (`{}`). Please try again.",
        escape(error)
    )
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
    // An outside system's failure names the system first (`pagerduty: HTTP 400: …`).
    let (who, said) = [
        ("pagerduty: ", "PagerDuty"),
        ("statuspage: ", "Statuspage"),
        ("webhook: ", "The webhook's receiver"),
    ]
    .into_iter()
    .find_map(|(prefix, who)| error.strip_prefix(prefix).map(|rest| (who, rest)))
    .unwrap_or(("Slack", error));
    format!(
        ":warning: {} for *{}* failed: {who} answered `{}`.",
        what,
        incident.reference(),
        escape(said)
    )
}
