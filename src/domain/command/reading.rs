//! In-channel commands that only read: the status card, the roles, the follow-ups. (The
//! postmortem draft, which changes nothing either, is with the other postmortem words in
//! `aftercare`.)

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
