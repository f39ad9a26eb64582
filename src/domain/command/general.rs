//! Commands that work anywhere: declaring, listing open incidents, help.

use crate::domain::mrkdwn::{one_line, plain};

use super::{
    AnywhereCommand, Args, Grammar, MAX_TITLE_CHARS, Parser, Problem, Spec, done, severity, text,
};

/// `sev2`, `p9`, `4`: a word meant as a severity (right or wrong), not the start of a title.
fn looks_like_severity(word: &str) -> bool {
    let lower = word.to_ascii_lowercase();
    let digits = lower
        .strip_prefix("sev")
        .or_else(|| lower.strip_prefix('p'))
        .unwrap_or(&lower);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

pub static DECLARE: Spec = Spec {
    words: &["declare"],
    usage: "/inc declare [drill] <sev> [triage] <title>",
    example: "/inc declare sev1 Checkout is down",
    help: "declare now and open a channel; add `triage` when you are not sure yet, `drill` \
           first for an exercise (marked DRILL, pages nobody, left out of the stats). \
           Without a severity (`/inc declare Checkout is down`, or `/inc declare` alone) it opens \
           the Declare form",
    parse: Parser::Anywhere(declare),
};

pub static ADOPT: Spec = Spec {
    words: &["adopt"],
    usage: "/inc adopt [drill] <sev> [triage] <title>",
    example: "/inc adopt sev2 Checkout is slow",
    help: "make the channel you are in the incident's channel (it keeps its name; the bot joins)",
    parse: Parser::Anywhere(|args, grammar| match declare(args, grammar)? {
        AnywhereCommand::Declare {
            severity,
            triage,
            title,
            drill,
        } => Ok(AnywhereCommand::Adopt {
            severity,
            triage,
            title,
            drill,
        }),
        _ => Err(Problem::Missing("a severity and a title")),
    }),
};

pub static LIST: Spec = Spec {
    words: &["list"],
    usage: "/inc list",
    example: "/inc list",
    help: "open incidents, most severe first",
    parse: Parser::Anywhere(|args, _| done(args, AnywhereCommand::List)),
};

pub static HELP: Spec = Spec {
    words: &["help"],
    usage: "/inc help",
    example: "/inc help",
    help: "this list",
    // `/inc help me` is still help.
    parse: Parser::Anywhere(|_, _| Ok(AnywhereCommand::Help)),
};

fn declare(args: &mut Args<'_>, grammar: &Grammar) -> Result<AnywhereCommand, Problem> {
    // `drill` first: an exercise, declared like any incident.
    let drill = args
        .peek_word()
        .is_some_and(|w| w.eq_ignore_ascii_case("drill"));
    if drill {
        args.next_word();
    }
    let Some(first) = args.peek_word() else {
        return Ok(AnywhereCommand::DeclareModal { title: None, drill });
    };
    if !looks_like_severity(first) {
        // A title without a severity: the form asks for the rest.
        let title: String = one_line(&plain(args.rest()))
            .chars()
            .take(MAX_TITLE_CHARS)
            .collect();
        return Ok(AnywhereCommand::DeclareModal {
            title: Some(title),
            drill,
        });
    }
    args.next_word();
    let severity = severity(first, grammar)?;
    let triage = args
        .peek_word()
        .is_some_and(|w| w.eq_ignore_ascii_case("triage"));
    if triage {
        args.next_word();
    }
    // Titles are plain text on one line: what Slack linked reads as its label, and runs of
    // white space (line breaks too) become one space.
    let title = text(args, "title", usize::MAX).map_err(|p| match p {
        Problem::Empty(_) => Problem::Missing("the incident a title"),
        other => other,
    })?;
    let title = one_line(&plain(&title));
    let chars = title.chars().count();
    if chars > MAX_TITLE_CHARS {
        return Err(Problem::TooLong {
            what: "title",
            chars,
            max: MAX_TITLE_CHARS,
        });
    }
    Ok(AnywhereCommand::Declare {
        severity,
        triage,
        title,
        drill,
    })
}
