//! In-channel commands that write text: updates, the summary, notes, follow-ups.

use super::{
    Args, Grammar, InChannelCommand, MAX_SUMMARY_CHARS, MAX_TEXT_CHARS, Parser, Problem, Spec, text,
};
use crate::domain::Status;
use crate::domain::change::Change;

pub static UPDATE: Spec = Spec {
    words: &["update"],
    usage: "/inc update [<status>] <text>",
    example: "/inc update fixing Rolled back the deploy; error rate falling",
    help: "post a status update here and under the announcement, optionally changing the status; \
           `/inc update` alone opens the Update form",
    parse: Parser::InChannel(update),
};

pub static SUMMARY: Spec = Spec {
    words: &["summary"],
    usage: "/inc summary <text>",
    example: "/inc summary Payments fail for cards issued in the EU",
    help: "set the summary shown in the topic and on the cards",
    // A summary is plain text (it heads the topic): what Slack linked reads as its label.
    parse: Parser::InChannel(|args, _| {
        let summary = crate::domain::mrkdwn::plain(args.rest());
        let mut args = Args::new(&summary);
        Ok(InChannelCommand::Change(Change::Summary(text(
            &mut args,
            "summary",
            MAX_SUMMARY_CHARS,
        )?)))
    }),
};

pub static NOTE: Spec = Spec {
    words: &["note"],
    usage: "/inc note <text>",
    example: "/inc note Restarted the canary at 14:02",
    help: "add an entry to the timeline",
    parse: Parser::InChannel(|args, _| {
        Ok(InChannelCommand::Change(Change::Note(text(
            args,
            "note",
            MAX_TEXT_CHARS,
        )?)))
    }),
};

pub static FOLLOWUP: Spec = Spec {
    words: &["followup", "follow-up"],
    usage: "/inc followup <text>",
    example: "/inc followup Alert on checkout error rate above 2%",
    help: "record an action item for after the incident",
    parse: Parser::InChannel(|args, _| {
        Ok(InChannelCommand::Change(Change::FollowUp(text(
            args,
            "follow-up",
            MAX_TEXT_CHARS,
        )?)))
    }),
};

fn update(args: &mut Args<'_>, _: &Grammar) -> Result<InChannelCommand, Problem> {
    if args.is_empty() {
        return Ok(InChannelCommand::UpdateModal);
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
    Ok(InChannelCommand::Change(Change::Update { status, text }))
}

pub static IMPACT: Spec = Spec {
    words: &["impact"],
    usage: "/inc impact [start <HH:MM|now>] [end <HH:MM|now>] [who is affected]",
    example: "/inc impact start 14:02 end 14:40 Card payments in the EU",
    help: "when customers were affected (times on the team's clock) and who: on the card, in \
           `/inc stats` and in the postmortem",
    parse: Parser::InChannel(impact),
};

fn impact(args: &mut Args<'_>, _: &Grammar) -> Result<InChannelCommand, Problem> {
    use crate::domain::change::impact::ClockTime;
    let (mut start, mut end) = (None, None);
    loop {
        let slot = match args.peek_word().map(str::to_lowercase).as_deref() {
            Some("start") if start.is_none() => &mut start,
            Some("end") if end.is_none() => &mut end,
            _ => break,
        };
        args.next_word();
        let Some(word) = args.next_word() else {
            return Err(Problem::Missing("a time, such as 14:02 or now"));
        };
        *slot = Some(ClockTime::parse(word).ok_or_else(|| Problem::NotATime(word.to_string()))?);
    }
    let who = super::optional_text(args.rest(), "impact", MAX_SUMMARY_CHARS)?
        .map(|w| crate::domain::mrkdwn::plain(&w));
    if start.is_none() && end.is_none() && who.is_none() {
        return Err(Problem::Missing(
            "when the impact started or ended, or who is affected",
        ));
    }
    Ok(InChannelCommand::Change(Change::Impact { start, end, who }))
}
