//! In-channel commands that staff the roles: `/inc role <role> <who>` and its shortcuts.

use super::{Args, Grammar, InChannelCommand, Mention, Parser, Problem, Spec, done};
use crate::domain::Role;
use crate::domain::change::{Change, Holder};

pub static ROLE: Spec = Spec {
    words: &["role"],
    usage: "/inc role <coordinator|operator|comms> <@user|me>",
    example: "/inc role operator @bob",
    help: "give a role to someone (or `me`; `nobody` leaves it empty); taking over a held role is \
           fine and is announced. Shortcuts: `/inc coordinator me`, `/inc operator @bob`, `/inc comms @carol`",
    parse: Parser::InChannel(role),
};

pub static COORDINATOR: Spec = shortcut(
    &["coordinator"],
    "/inc coordinator <@user|me>",
    "/inc coordinator me",
    |args, _| assign(args, Role::Coordinator),
);
pub static OPERATOR: Spec = shortcut(
    &["operator"],
    "/inc operator <@user|me>",
    "/inc operator @bob",
    |args, _| assign(args, Role::Operator),
);
pub static COMMS: Spec = shortcut(
    &["comms"],
    "/inc comms <@user|me>",
    "/inc comms @carol",
    |args, _| assign(args, Role::Comms),
);

/// The shortcuts are listed in help on `/inc role`'s line, so their own help is empty.
const fn shortcut(
    words: &'static [&'static str],
    usage: &'static str,
    example: &'static str,
    parse: fn(&mut Args<'_>, &Grammar) -> Result<InChannelCommand, Problem>,
) -> Spec {
    Spec {
        words,
        usage,
        example,
        help: "",
        parse: Parser::InChannel(parse),
    }
}

fn role(args: &mut Args<'_>, _: &Grammar) -> Result<InChannelCommand, Problem> {
    let Some(word) = args.next_word() else {
        return Err(Problem::Missing("the role and who takes it"));
    };
    let role = Role::parse(word).ok_or_else(|| Problem::NotARole(word.to_string()))?;
    assign(args, role)
}

fn assign(args: &mut Args<'_>, role: Role) -> Result<InChannelCommand, Problem> {
    let Some(word) = args.next_word() else {
        return Err(Problem::Missing("who takes the role"));
    };
    let to = match Mention::classify(word) {
        Mention::User(id) => Holder::Person(id),
        Mention::Me => Holder::Me,
        Mention::Word(w) if ["nobody", "none"].contains(&w.to_lowercase().as_str()) => {
            Holder::Nobody
        }
        Mention::Word(w) => return Err(Problem::NotAPerson(w)),
        Mention::Crowd(crowd) => return Err(Problem::Crowd(format!("@{crowd}"))),
        Mention::Group { handle, .. } => {
            return Err(Problem::NotOnePerson(
                handle.unwrap_or_else(|| "that group".into()),
            ));
        }
    };
    done(args, InChannelCommand::Change(Change::Role { role, to }))
}
