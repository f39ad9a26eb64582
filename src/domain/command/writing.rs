//! In-channel commands that write text: updates, the summary, notes, follow-ups.

use super::{
    Args, Command, Grammar, MAX_SUMMARY_CHARS, MAX_TEXT_CHARS, Problem, Scope, Spec, text,
};
use crate::domain::Status;
use crate::domain::change::Change;

pub static UPDATE: Spec = Spec {
    words: &["update"],
    usage: "/inc update [<status>] <text>",
    example: "/inc update fixing Rolled back the deploy; error rate falling",
    help: "post a status update here and under the announcement, optionally changing the status; \
           `/inc update` alone opens the Update form",
    scope: Scope::IncidentChannel,
    parse: update,
};

pub static SUMMARY: Spec = Spec {
    words: &["summary"],
    usage: "/inc summary <text>",
    example: "/inc summary Payments fail for cards issued in the EU",
    help: "set the summary shown in the topic and on the cards",
    scope: Scope::IncidentChannel,
    // A summary is plain text (it heads the topic): what Slack linked reads as its label.
    parse: |args, _| {
        let summary = crate::domain::mrkdwn::plain(args.rest());
        let mut args = Args::new(&summary);
        Ok(Command::Change(Change::Summary(text(
            &mut args,
            "summary",
            MAX_SUMMARY_CHARS,
        )?)))
    },
};

pub static NOTE: Spec = Spec {
    words: &["note"],
    usage: "/inc note <text>",
    example: "/inc note Restarted the canary at 14:02",
    help: "add an entry to the timeline",
    scope: Scope::IncidentChannel,
    parse: |args, _| {
        Ok(Command::Change(Change::Note(text(
            args,
            "note",
            MAX_TEXT_CHARS,
        )?)))
    },
};

pub static FOLLOWUP: Spec = Spec {
    words: &["followup", "follow-up"],
    usage: "/inc followup <text>",
    example: "/inc followup Alert on checkout error rate above 2%",
    help: "record an action item for after the incident",
    scope: Scope::IncidentChannel,
    parse: |args, _| {
        Ok(Command::Change(Change::FollowUp(text(
            args,
            "follow-up",
            MAX_TEXT_CHARS,
        )?)))
    },
};

fn update(args: &mut Args<'_>, _: &Grammar) -> Result<Command, Problem> {
    if args.is_empty() {
        return Ok(Command::UpdateModal);
    }
    let status = args.peek_word().and_then(Status::parse);
    if let Some(status) = status {
        args.next_word();
        let command = match status {
            Status::Resolved => Some("/inc resolve [text]"),
            Status::Declined => Some("/inc decline [reason]"),
            _ => None,
        };
        if let Some(command) = command {
            return Err(Problem::UseOwnCommand { status, command });
        }
    }
    let text = text(args, "update", MAX_TEXT_CHARS)?;
    Ok(Command::Change(Change::Update { status, text }))
}
