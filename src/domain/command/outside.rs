//! In-channel commands that reach outside Slack: `/inc page <service> [message]` (PagerDuty)
//! and `/inc statuspage` (the status-page form). Whether PagerDuty or the status page is
//! configured, and which services exist, is the configuration's to say: the app answers for
//! those before the change is decided.

use super::{Args, Grammar, InChannelCommand, MAX_TEXT_CHARS, Parser, Problem, Spec, done};
use crate::domain::change::Change;

/// The longest service name accepted (PagerDuty's are short words from `PAGERDUTY_SERVICES`).
const MAX_SERVICE_CHARS: usize = 80;

pub static PAGE: Spec = Spec {
    words: &["page"],
    usage: "/inc page <service> [message]",
    example: "/inc page checkout Card payments fail for everyone",
    help: "call the on-call of a PagerDuty service (from `PAGERDUTY_SERVICES`); paging it again \
           is still one page",
    parse: Parser::InChannel(page),
};

pub static STATUSPAGE: Spec = Spec {
    words: &["statuspage", "status-page"],
    usage: "/inc statuspage",
    example: "/inc statuspage",
    help: "open the status-page form, prefilled from the incident; nothing is published until \
           you submit it",
    parse: Parser::InChannel(|args, _| done(args, InChannelCommand::StatuspageModal)),
};

fn page(args: &mut Args<'_>, _: &Grammar) -> Result<InChannelCommand, Problem> {
    let Some(service) = args.next_word() else {
        return Err(Problem::Missing("a service to page"));
    };
    if service.chars().count() > MAX_SERVICE_CHARS || service.starts_with('<') {
        return Err(Problem::NotAService(service.to_string()));
    }
    let service = service.to_ascii_lowercase();
    let message = super::optional_text(args.rest(), "message", MAX_TEXT_CHARS)?;
    Ok(InChannelCommand::Change(Change::Page { service, message }))
}
