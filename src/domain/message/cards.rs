//! What mirrors an incident's current state: the channel topic, the pinned incident card, the
//! announcement, and the `/inc status`, `/inc roles`, `/inc list` and `/inc followups` replies.
//! Each renders from the incident as it is now, so a job that brings one up to date can always
//! render it afresh.

use chrono::{DateTime, Utc};

use std::collections::HashSet;

use super::{
    Action, Block, MAX_HEADER_CHARS, Message, headline, holder, span, truncate_chars, when,
};
use crate::domain::mrkdwn::{self, escape, escape_keeping_mentions};
use crate::domain::timeline::TimelineEvent;
use crate::domain::{Incident, IncidentId, Role, Status};

/// Slack's limit on a section's text.
const MAX_SECTION_CHARS: usize = 3000;

/// Slack's limit on channel topics.
pub const MAX_TOPIC_CHARS: usize = 250;

/// The channel topic: `[SEV1 · investigating] <summary, or the title>`, cut to Slack's limit.
pub fn topic(incident: &Incident) -> String {
    let text = incident.summary.as_deref().unwrap_or(&incident.title);
    // A topic is one line: a multi-line summary is folded.
    let text = mrkdwn::one_line(text);
    let topic = format!(
        "[{}{} · {}] {}",
        drill_mark(incident, "DRILL · "),
        incident.severity,
        incident.status,
        escape(&text)
    );
    truncate_chars(&topic, MAX_TOPIC_CHARS)
}

/// When customers were affected, as the card says it: `since 14:02 (ongoing)`, or `14:02 →
/// 14:40 (38 min)`; `None` when nobody said.
pub fn impact_window(incident: &Incident) -> Option<String> {
    let start = incident.impact_started_at?;
    Some(match incident.impact_ended_at {
        Some(end) => format!("{} → {} ({})", when(start), when(end), span(end - start)),
        None => format!("since {} (ongoing)", when(start)),
    })
}

/// `mark` for a drill, nothing otherwise: a drill says so wherever the incident is shown.
fn drill_mark(incident: &Incident, mark: &'static str) -> &'static str {
    if incident.drill { mark } else { "" }
}

/// A status as the cards show it: terminal ones stand out.
fn status_label(status: Status) -> String {
    match status {
        Status::Resolved => ":white_check_mark: resolved".into(),
        Status::Declined => ":no_entry_sign: declined".into(),
        other => other.to_string(),
    }
}

/// The card posted and pinned in the incident channel, kept up to date in place. `due` is when
/// the next update is due (`None`: reminders are off or it is closed).
/// `outside` is what the incident has in other systems: its pages and its public status.
pub fn incident_card(
    incident: &Incident,
    due: Option<DateTime<Utc>>,
    outside: &[crate::domain::outside::ExternalRef],
) -> Message {
    let mut blocks = vec![
        Block::Header(truncate_chars(
            &format!(
                "{}{} · {}",
                drill_mark(incident, "DRILL · "),
                incident.reference(),
                incident.title
            ),
            MAX_HEADER_CHARS,
        )),
        Block::Fields(vec![
            format!("*Severity*\n{}", incident.severity),
            format!("*Status*\n{}", status_label(incident.status)),
            format!(
                "*{}*\n{}",
                Role::Coordinator.title(),
                holder(incident, Role::Coordinator)
            ),
            format!(
                "*{}*\n{}",
                Role::Operator.title(),
                holder(incident, Role::Operator)
            ),
        ]),
    ];
    if let Some(comms) = incident.holder(Role::Comms) {
        blocks.push(Block::Section(format!("*Comms*: {}", mrkdwn::user(comms))));
    }
    if let Some(summary) = &incident.summary {
        blocks.push(Block::Section(format!("*Summary*\n{}", escape(summary))));
    }
    if let Some(window) = impact_window(incident) {
        blocks.push(Block::Section(format!("*Customer impact*\n{window}")));
    }
    if let Some(impact) = &incident.impact {
        blocks.push(Block::Section(format!("*Affected*\n{}", escape(impact))));
    }
    blocks.extend(super::outside_blocks(outside));
    if let Some(link) = incident
        .source
        .as_ref()
        .and_then(|s| s.permalink.as_deref())
    {
        blocks.push(Block::Context(format!(
            "Declared from <{}|a message>",
            escape(link)
        )));
    }
    let mut context = format!(
        "Declared by {} {}",
        mrkdwn::user(&incident.declared_by),
        when(incident.declared_at)
    );
    if incident.last_update_at > incident.declared_at {
        context.push_str(&format!(" · last update {}", when(incident.last_update_at)));
    }
    if let Some(due) = due {
        context.push_str(&format!(" · next update due {}", when(due)));
    }
    blocks.push(Block::Context(context));
    if !incident.status.is_terminal() {
        blocks.push(Block::Actions(vec![Action::PostUpdate.on(incident)]));
    }
    Message {
        text: format!(
            "{}{} · {} · {} — {}",
            drill_mark(incident, "DRILL · "),
            incident.reference(),
            incident.severity,
            incident.status,
            escape(&incident.title)
        ),
        blocks,
    }
}

/// The announcement in the announce channel, with a link to join the incident channel; kept up
/// to date in place.
pub fn announcement(incident: &Incident) -> Message {
    let join = incident
        .channel_id
        .as_deref()
        .map(mrkdwn::channel)
        .unwrap_or_else(|| "(channel pending)".to_string());
    let (icon, verb) = match incident.status {
        Status::Resolved => (":white_check_mark:", "resolved"),
        Status::Declined => (":no_entry_sign:", "declined"),
        _ => (":rotating_light:", "declared"),
    };
    let mut blocks = vec![
        Block::Section(format!(
            "{icon} {}*{} {verb}* · {} · {}\n*{}*",
            drill_mark(incident, ":test_tube: *DRILL* · "),
            incident.reference(),
            incident.severity,
            incident.status,
            escape(&incident.title)
        )),
        Block::Fields(vec![
            format!(
                "*{}*\n{}",
                Role::Coordinator.title(),
                holder(incident, Role::Coordinator)
            ),
            format!("*Channel*\n{join}"),
        ]),
    ];
    if let Some(summary) = &incident.summary {
        blocks.push(Block::Section(format!("*Summary*\n{}", escape(summary))));
    }
    blocks.push(Block::Context(format!(
        "Declared by {} {}",
        mrkdwn::user(&incident.declared_by),
        when(incident.declared_at)
    )));
    Message {
        text: format!(
            "{icon} {}{} {verb} ({}): {} — join {}",
            drill_mark(incident, "DRILL "),
            incident.reference(),
            incident.severity,
            escape(&incident.title),
            join
        ),
        blocks,
    }
}

/// `/inc status`: the incident at a glance. `due` is when the next update is due.
pub fn status_card(incident: &Incident, due: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    let mut out = format!(
        "{}\n*{}* · *{}* · ",
        headline(incident),
        incident.severity,
        status_label(incident.status)
    );
    match incident.resolved_at {
        Some(end) => out.push_str(&format!("was open {}", span(end - incident.declared_at))),
        None => out.push_str(&format!("open {}", span(now - incident.declared_at))),
    }
    out.push('\n');
    out.push_str(&roles_line(incident));
    if let Some(summary) = &incident.summary {
        out.push_str(&format!("\n*Summary*: {}", escape(summary)));
    }
    if incident.last_update_at > incident.declared_at {
        out.push_str(&format!(
            "\nLast update {} ago",
            span(now - incident.last_update_at)
        ));
    } else {
        out.push_str("\nNo update posted yet: `/inc update &lt;text&gt;`");
    }
    match due {
        Some(due) if due >= now => {
            out.push_str(&format!(" · next due in {}", span(due - now)));
        }
        Some(due) => out.push_str(&format!(" · next one overdue by {}", span(now - due))),
        None if !incident.status.is_terminal() => out.push_str(" · reminders are off"),
        None => {}
    }
    if let Some(channel) = &incident.channel_id {
        out.push_str(&format!(" · {}", mrkdwn::channel(channel)));
    }
    out
}

/// The daily digest in the announce channel: open incidents, and resolved ones whose postmortem
/// is still to be written. Private incidents are never in it.
pub fn digest(
    open: &[Incident],
    awaiting_postmortem: &[Incident],
    overdue_followups: &[(Incident, Vec<crate::domain::followup::FollowUp>)],
    now: DateTime<Utc>,
) -> Message {
    let open: Vec<&Incident> = open.iter().filter(|i| !i.private).collect();
    let waiting: Vec<&Incident> = awaiting_postmortem.iter().filter(|i| !i.private).collect();
    let overdue: Vec<&(Incident, Vec<crate::domain::followup::FollowUp>)> = overdue_followups
        .iter()
        .filter(|(i, f)| !i.private && !f.is_empty())
        .collect();
    let mut text = String::from(":newspaper: *Incident digest*");
    if open.is_empty() && waiting.is_empty() && overdue.is_empty() {
        text.push_str(
            "\nNo open incidents, and every resolved one has its postmortem. :white_check_mark:",
        );
        return Message::text(text);
    }
    let mut sorted = open.clone();
    sorted.sort_by_key(|i| (i.severity, i.number));
    if !sorted.is_empty() {
        text.push_str(&format!("\n*Open* ({})", sorted.len()));
    }
    for i in sorted {
        text.push_str(&list_line(i));
        match i.holder(Role::Coordinator) {
            Some(c) => text.push_str(&format!(" · coordinator {}", mrkdwn::user(c))),
            None => text.push_str(" · *nobody coordinating*"),
        }
        text.push_str(&format!(" · open {}", span(now - i.declared_at)));
    }
    if !waiting.is_empty() {
        text.push_str(&format!(
            "\n*Resolved, postmortem not written yet* ({})",
            waiting.len()
        ));
    }
    for i in waiting {
        text.push_str(&format!(
            "\n• *{}* · {} — {}",
            i.reference(),
            i.severity,
            escape(&i.title)
        ));
        if let Some(at) = i.resolved_at {
            text.push_str(&format!(" · resolved {}", when(at)));
        }
        if let Some(channel) = &i.channel_id {
            text.push_str(&format!(" · {}", mrkdwn::channel(channel)));
        }
    }
    if !overdue.is_empty() {
        let count: usize = overdue.iter().map(|(_, f)| f.len()).sum();
        text.push_str(&format!("\n*Follow-ups past their due date* ({count})"));
    }
    for (i, followups) in overdue {
        for f in followups {
            text.push_str(&format!(
                "\n• *{}* — {}",
                i.reference(),
                escape_keeping_mentions(&f.text)
            ));
            if let Some(t) = &f.ticket {
                text.push_str(&format!(" · {}", ticket_link(t)));
            }
        }
    }
    Message::text(text)
}

/// An open incident's line in `/inc list` and the digest, from a new line:
/// `• *INC-7* · SEV2 · investigating — Checkout is down · #inc-7-checkout-is-down`.
fn list_line(i: &Incident) -> String {
    let mut line = format!(
        "\n• {}*{}* · {} · {} — {}",
        drill_mark(i, "DRILL "),
        i.reference(),
        i.severity,
        i.status,
        escape(&i.title)
    );
    if let Some(channel) = &i.channel_id {
        line.push_str(&format!(" · {}", mrkdwn::channel(channel)));
    }
    line
}

/// `Coordinator <@A> · Operator _unassigned_ · Comms <@C>`.
fn roles_line(incident: &Incident) -> String {
    Role::ALL
        .iter()
        .map(|&role| format!("{} {}", role.title(), holder(incident, role)))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// `/inc roles`.
pub fn roles_list(incident: &Incident) -> String {
    let mut out = format!("*Roles in {}*", incident.reference());
    for role in Role::ALL {
        out.push_str(&format!("\n• {}: {}", role.title(), holder(incident, role)));
    }
    if incident.holder(Role::Coordinator).is_none() {
        out.push_str("\nNobody is coordinating: `/inc coordinator me` takes it.");
    }
    out
}

/// `/inc followups`: the follow-ups on the timeline, oldest first — each with its ticket, and
/// checked when the tracker says the ticket is closed.
pub fn followups_list(incident: &Incident, timeline: &[TimelineEvent]) -> String {
    let items = crate::domain::followup::followups(timeline);
    if items.is_empty() {
        return format!(
            "No follow-ups for *{}* yet: `/inc followup &lt;text&gt;` records one.",
            incident.reference()
        );
    }
    // How many are done, once the tracker can say so (some follow-up has a ticket).
    let done = match items.iter().any(|f| f.ticket.is_some()) {
        true => format!(", {} done", items.iter().filter(|f| f.done()).count()),
        false => String::new(),
    };
    let mut out = format!(
        "*Follow-ups for {}* ({}{done})",
        incident.reference(),
        items.len()
    );
    for (n, f) in items.iter().enumerate() {
        let check = if f.done() { ":white_check_mark: " } else { "" };
        out.push_str(&format!(
            "\n{}. {check}{}",
            n + 1,
            escape_keeping_mentions(&f.text)
        ));
        if let Some(by) = &f.by {
            out.push_str(&format!(" — {}", mrkdwn::user(by)));
        }
        if let Some(t) = &f.ticket {
            out.push_str(&format!(" · {}", ticket_link(t)));
            if t.closed_at.is_some() {
                match &t.closed_by {
                    Some(by) => out.push_str(&format!(" closed by {}", mrkdwn::escape(by))),
                    None => out.push_str(" closed"),
                }
            }
        }
    }
    out
}

/// `/inc followups` where a tracker is configured: the list, and a "Create ticket" button for
/// each follow-up without a ticket (at most 25, Slack's limit for one row of buttons). `None`
/// when every follow-up has its ticket — the list alone says it all — or when the list is
/// longer than a section may be (Slack's 3,000 characters): then it goes as plain text.
pub fn followups_with_buttons(
    incident: &Incident,
    timeline: &[TimelineEvent],
) -> Option<super::Message> {
    use super::{Action, Block, Message};
    let unfiled: Vec<(usize, i64)> = crate::domain::followup::followups(timeline)
        .iter()
        .enumerate()
        .filter(|(_, f)| f.ticket.is_none())
        .map(|(n, f)| (n + 1, f.id))
        .take(25)
        .collect();
    if unfiled.is_empty() {
        return None;
    }
    let text = followups_list(incident, timeline);
    if text.chars().count() > MAX_SECTION_CHARS {
        return None;
    }
    let buttons = unfiled
        .into_iter()
        .map(|(n, id)| Action::FileTicket.on_item(incident, id, format!("Create ticket for {n}")))
        .collect();
    Some(Message {
        text: text.clone(),
        blocks: vec![Block::Section(text), Block::Actions(buttons)],
    })
}

/// A ticket as a link (`<url|OPS-4>`), or its name where the tracker gave no link.
pub fn ticket_link(t: &crate::domain::followup::Ticket) -> String {
    mrkdwn::link(t.url.as_deref(), &t.name)
}

/// The `/inc list` reply for `viewer`: open incidents they may see, most severe first.
/// `participating` are the incidents whose channel `viewer` is a member of.
pub fn incident_list(
    incidents: &[Incident],
    viewer: &str,
    participating: &HashSet<IncidentId>,
) -> String {
    let mut visible: Vec<&Incident> = incidents
        .iter()
        .filter(|i| !i.status.is_terminal() && i.visible_to(viewer, participating.contains(&i.id)))
        .collect();
    if visible.is_empty() {
        return "No open incidents. :white_check_mark:".to_string();
    }
    visible.sort_by_key(|i| (i.severity, i.number));
    let mut out = format!("*Open incidents* ({})", visible.len());
    for i in visible {
        out.push_str(&list_line(i));
        if let Some(c) = i.holder(Role::Coordinator) {
            out.push_str(&format!(" · coordinator {}", mrkdwn::user(c)));
        }
        if i.private {
            out.push_str(" · :lock: private");
        }
    }
    out
}
