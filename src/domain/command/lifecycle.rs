//! In-channel commands that end or restart an incident: resolve, decline, reopen, duplicate.

use super::{InChannelCommand, MAX_TEXT_CHARS, Parser, Problem, Spec, done, optional_text};
use crate::domain::change::Change;

pub static RESOLVE: Spec = Spec {
    words: &["resolve", "close"],
    usage: "/inc resolve [text]",
    example: "/inc resolve Failover complete, error rate back to normal",
    help: "resolve it (coordinator, operator or an admin); reminders stop and the postmortem is offered",
    parse: Parser::InChannel(|args, _| {
        let text = optional_text(args.rest(), "resolution", MAX_TEXT_CHARS)?;
        Ok(InChannelCommand::Change(Change::Resolve(text)))
    }),
};

pub static DECLINE: Spec = Spec {
    words: &["decline"],
    usage: "/inc decline [reason]",
    example: "/inc decline Synthetic check flapped; no user impact",
    help: "call off an incident still in triage (coordinator, operator or an admin)",
    parse: Parser::InChannel(|args, _| {
        let reason = optional_text(args.rest(), "reason", MAX_TEXT_CHARS)?;
        Ok(InChannelCommand::Change(Change::Decline(reason)))
    }),
};

pub static REOPEN: Spec = Spec {
    words: &["reopen"],
    usage: "/inc reopen",
    example: "/inc reopen",
    help: "reopen a resolved or declined incident (coordinator, operator or an admin)",
    parse: Parser::InChannel(|args, _| done(args, InChannelCommand::Change(Change::Reopen))),
};

pub static DUPLICATE: Spec = Spec {
    words: &["duplicate"],
    usage: "/inc duplicate <INC-n>",
    example: "/inc duplicate INC-7",
    help: "close it as a duplicate of another incident, linked both ways and left out of the stats",
    parse: Parser::InChannel(|args, _| {
        let Some(word) = args.next_word() else {
            return Err(Problem::Missing(
                "the incident this one duplicates, such as INC-7",
            ));
        };
        let digits = word
            .strip_prefix("INC-")
            .or_else(|| word.strip_prefix("inc-"))
            .unwrap_or(word);
        let number = digits
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| Problem::NotAnIncident(word.to_string()))?;
        done(args, InChannelCommand::Duplicate { number })
    }),
};
