//! In-channel commands for after the incident: `/inc postmortem` (the draft, and with a word
//! after it the postmortem's owner, deadline and final link), `/inc archive` and `/inc keep`.

use super::{Args, Grammar, InChannelCommand, Mention, Parser, Problem, Spec, done};
use crate::domain::change::{Change, Holder};

pub static POSTMORTEM: Spec = Spec {
    words: &["postmortem", "post-mortem", "pm"],
    usage: "/inc postmortem [owner <@user|me>] [due <days>d] [done <link>]",
    example: "/inc postmortem owner @carol due 5d",
    help: "write the postmortem draft from the pins and the timeline and post it here as a \
           Markdown file; with `owner`, `due` (in working days) or `done` and a link, say who \
           writes the postmortem, by when, and where it was published",
    parse: Parser::InChannel(postmortem),
};

pub static ARCHIVE: Spec = Spec {
    words: &["archive"],
    usage: "/inc archive",
    example: "/inc archive",
    help: "archive this resolved incident's channel now",
    parse: Parser::InChannel(|args, _| done(args, InChannelCommand::Change(Change::Archive))),
};

pub static KEEP: Spec = Spec {
    words: &["keep"],
    usage: "/inc keep",
    example: "/inc keep",
    help: "never archive this channel (`ARCHIVE_AFTER`)",
    parse: Parser::InChannel(|args, _| done(args, InChannelCommand::Change(Change::Keep))),
};

/// The most working days a deadline may be set to.
const MAX_DUE_DAYS: u32 = 60;

fn postmortem(args: &mut Args<'_>, _: &Grammar) -> Result<InChannelCommand, Problem> {
    let Some(word) = args.next_word() else {
        return Ok(InChannelCommand::Postmortem);
    };
    let mut owner = None;
    let mut due_days = None;
    let mut word = Some(word);
    while let Some(w) = word {
        match w.to_lowercase().as_str() {
            "owner" if owner.is_none() => owner = Some(person(args)?),
            "due" if due_days.is_none() => due_days = Some(days(args)?),
            "done" if owner.is_none() && due_days.is_none() => {
                let link = link(args)?;
                return done(args, InChannelCommand::Change(Change::PostmortemDone(link)));
            }
            _ => return Err(Problem::Unexpected(w.to_string())),
        }
        word = args.next_word();
    }
    Ok(InChannelCommand::Change(Change::PostmortemPlan {
        owner,
        due_days,
    }))
}

fn person(args: &mut Args<'_>) -> Result<Holder, Problem> {
    let Some(word) = args.next_word() else {
        return Err(Problem::Missing("who owns the postmortem"));
    };
    match Mention::classify(word) {
        Mention::User(id) => Ok(Holder::Person(id)),
        Mention::Me => Ok(Holder::Me),
        Mention::Word(w) => Err(Problem::NotAPerson(w)),
        Mention::Crowd(crowd) => Err(Problem::Crowd(format!("@{crowd}"))),
        Mention::Group { handle, .. } => Err(Problem::NotOnePerson(
            handle.unwrap_or_else(|| "that group".into()),
        )),
    }
}

fn days(args: &mut Args<'_>) -> Result<u32, Problem> {
    let Some(word) = args.next_word() else {
        return Err(Problem::Missing(
            "in how many working days it is due, such as 5d",
        ));
    };
    word.trim_end_matches(['d', 'D'])
        .parse::<u32>()
        .ok()
        .filter(|d| (1..=MAX_DUE_DAYS).contains(d))
        .ok_or_else(|| Problem::NotWorkingDays(word.to_string()))
}

/// A link as Slack sends it (`<https://…>` or `<https://…|label>`) or as typed.
fn link(args: &mut Args<'_>) -> Result<String, Problem> {
    let Some(word) = args.next_word() else {
        return Err(Problem::Missing("the link to the published postmortem"));
    };
    let url = word
        .strip_prefix('<')
        .and_then(|w| w.strip_suffix('>'))
        .map_or(word, |inner| inner.split('|').next().unwrap_or(inner));
    let ok = (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() > "https://".len()
        && !url.contains(char::is_whitespace);
    match ok {
        true => Ok(url.to_string()),
        false => Err(Problem::NotALink(word.to_string())),
    }
}
