//! What the bot says after the incident: who owns the postmortem and by when, its reminders,
//! that it is done, and the channel's archiving (the notice a day before, the archiving, a kept
//! channel).

use chrono::{DateTime, Utc};

use super::{Message, span, when};
use crate::domain::Incident;
use crate::domain::mrkdwn::{self, escape};

/// Said when the postmortem's owner or deadline is set.
pub fn postmortem_planned_post(incident: &Incident, by: &str) -> Message {
    let plan = &incident.postmortem;
    let owner = plan
        .owner
        .as_deref()
        .map_or("nobody yet".to_string(), mrkdwn::user);
    let mut out = format!(
        ":memo: The postmortem of *{}* is {owner}'s",
        incident.reference()
    );
    if let Some(due) = plan.due_at {
        out.push_str(&format!(", due {}", when(due)));
    }
    out.push_str(&format!(" (set by {}).", mrkdwn::user(by)));
    Message::text(out)
}

/// The line the resolution adds: whose postmortem it is and by when.
pub fn postmortem_owed_line(incident: &Incident) -> Option<String> {
    let plan = &incident.postmortem;
    Some(format!(
        "The postmortem is {}'s, due {}: `/inc postmortem` writes the draft, \
         `/inc postmortem done <link>` says where it is published.",
        mrkdwn::user(plan.owner.as_deref()?),
        when(plan.due_at?)
    ))
}

/// The reminder to the postmortem's owner, a day before its deadline or once a day after it.
pub fn postmortem_reminder_post(incident: &Incident, now: DateTime<Utc>) -> Option<Message> {
    let plan = &incident.postmortem;
    let (owner, due) = (plan.owner.as_deref()?, plan.due_at?);
    let text = if now < due {
        format!(
            ":memo: {}, the postmortem of *{}* is due {} (in {}).",
            mrkdwn::user(owner),
            incident.reference(),
            when(due),
            span(due - now)
        )
    } else {
        format!(
            ":memo: {}, the postmortem of *{}* is overdue: it was due {} ({} ago).",
            mrkdwn::user(owner),
            incident.reference(),
            when(due),
            span(now - due)
        )
    };
    Some(Message::text(format!(
        "{text} `/inc postmortem` writes the draft; `/inc postmortem done <link>` says where it \
         is published and stops these reminders."
    )))
}

/// Said when the postmortem is done.
pub fn postmortem_done_post(incident: &Incident, by: &str, link: &str) -> Message {
    Message::text(format!(
        ":white_check_mark: The postmortem of *{}* is done: {} (by {}).",
        incident.reference(),
        mrkdwn::link(Some(link), link),
        mrkdwn::user(by)
    ))
}

/// The notice a day before the channel is archived.
pub fn archive_notice_post(incident: &Incident, at: DateTime<Utc>) -> Message {
    let waiting = match incident.postmortem.done_at {
        Some(_) => String::new(),
        None => " once its postmortem is done (`/inc postmortem done <link>`)".into(),
    };
    Message::text(format!(
        ":file_cabinet: This channel will be archived {}{waiting}. `/inc keep` keeps it open.",
        when(at)
    ))
}

/// Said just before the bot archives the channel.
pub fn archiving_post(incident: &Incident) -> Message {
    Message::text(format!(
        ":file_cabinet: Archiving this channel: *{}* is resolved{}. Its history stays searchable.",
        incident.reference(),
        match &incident.postmortem.link {
            Some(link) => format!(
                " and its postmortem is at {}",
                mrkdwn::link(Some(link), link)
            ),
            None => String::new(),
        }
    ))
}

/// Said when someone keeps the channel.
pub fn kept_post(by: &str) -> Message {
    Message::text(format!(
        ":pushpin: {} keeps this channel: it will not be archived.",
        mrkdwn::user(by)
    ))
}

/// `/inc postmortem done` with something that is not a link.
pub fn not_a_link(given: &str) -> String {
    format!(
        "`{}` is not a link. Use `/inc postmortem done <link>`, for example \
         `/inc postmortem done https://wiki.example.com/pm/inc-7`.",
        escape(given)
    )
}
