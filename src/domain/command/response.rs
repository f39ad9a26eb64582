//! In-channel commands that shape the response: severity and escalation.

use super::{
    Args, Grammar, InChannelCommand, MAX_TEXT_CHARS, Mention, Parser, Problem, Spec, done,
    optional_text, severity,
};
use crate::domain::change::{Change, Target};

pub static SEVERITY: Spec = Spec {
    words: &["severity", "sev"],
    usage: "/inc severity <sev>",
    example: "/inc sev 1",
    help: "change the severity",
    parse: Parser::InChannel(|args, grammar| {
        let Some(word) = args.next_word() else {
            return Err(Problem::Missing("the new severity"));
        };
        let severity = severity(word, grammar)?;
        done(args, InChannelCommand::Change(Change::Severity(severity)))
    }),
};

pub static ESCALATE: Spec = Spec {
    words: &["escalate"],
    usage: "/inc escalate <@user|@group> [message]",
    example: "/inc escalate @dba-oncall Primary is not failing over",
    help: "invite a person, or every member of a user group, and ping them here",
    parse: Parser::InChannel(escalate),
};

fn escalate(args: &mut Args<'_>, _: &Grammar) -> Result<InChannelCommand, Problem> {
    let Some(word) = args.next_word() else {
        return Err(Problem::Missing("who to bring in"));
    };
    let to = match Mention::classify(word) {
        Mention::User(id) => Target::Person(id),
        Mention::Group { id, handle } => Target::Group { id, handle },
        Mention::Crowd(crowd) => return Err(Problem::Crowd(format!("@{crowd}"))),
        Mention::Me | Mention::Word(_) => {
            return Err(Problem::NotAnEscalationTarget(word.to_string()));
        }
    };
    let message = optional_text(args.rest(), "message", MAX_TEXT_CHARS)?;
    Ok(InChannelCommand::Change(Change::Escalate { to, message }))
}
