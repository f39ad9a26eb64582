//! In-channel commands that only read: the status card, the roles, the follow-ups, and the
//! postmortem draft (written from the incident's record; it changes nothing about the incident).

use super::{InChannelCommand, Parser, Spec, done};

pub static STATUS: Spec = Spec {
    words: &["status"],
    usage: "/inc status",
    example: "/inc status",
    help: "the incident at a glance: severity, status, roles, age, last update",
    parse: Parser::InChannel(|args, _| done(args, InChannelCommand::Status)),
};

pub static ROLES: Spec = Spec {
    words: &["roles"],
    usage: "/inc roles",
    example: "/inc roles",
    help: "who holds which role",
    parse: Parser::InChannel(|args, _| done(args, InChannelCommand::Roles)),
};

pub static FOLLOWUPS: Spec = Spec {
    words: &["followups", "follow-ups"],
    usage: "/inc followups",
    example: "/inc followups",
    help: "the follow-ups recorded so far",
    parse: Parser::InChannel(|args, _| done(args, InChannelCommand::FollowUps)),
};

pub static POSTMORTEM: Spec = Spec {
    words: &["postmortem", "post-mortem", "pm"],
    usage: "/inc postmortem",
    example: "/inc postmortem",
    help: "write the postmortem draft from the pins and the timeline and post it here as a Markdown file",
    parse: Parser::InChannel(|args, _| done(args, InChannelCommand::Postmortem)),
};
