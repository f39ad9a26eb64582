//! In-channel commands that end or restart an incident: resolve, decline, reopen.

use super::{InChannelCommand, MAX_TEXT_CHARS, Parser, Spec, done, optional_text};
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
