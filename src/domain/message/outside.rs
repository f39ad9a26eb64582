//! What the bot says about the systems outside Slack: a page sent and what became of it, the
//! status page published, a follow-up filed as a ticket and closed, and the lines the incident card shows for them. Names that come from
//! outside (a PagerDuty person, a service) are plain text, escaped like titles.

use super::{Action, Block, Message};
use crate::domain::Incident;
use crate::domain::change::page_news::News;
use crate::domain::change::ticket_news::News as TicketNews;
use crate::domain::mrkdwn::{self, escape, escape_keeping_mentions};
use crate::domain::outside::{ExternalRef, Kind, PageEvent, Tracker, after_secs, page_state};

/// Said in the channel when somebody pages a service.
pub fn paged_post(by: &str, service: &str, text: Option<&str>) -> Message {
    let mut out = format!(
        ":rotating_light: {} paged the on-call of *{}* through PagerDuty.",
        mrkdwn::user(by),
        escape(service)
    );
    if let Some(text) = text {
        out.push_str(&format!("\n>{}", escape_keeping_mentions(text)));
    }
    Message::text(out)
}

/// Said in the channel when a rule pages a service.
pub fn rule_paged_post(rule: &str, service: &str) -> Message {
    Message::text(format!(
        ":rotating_light: Rule “{}” paged the on-call of *{}* through PagerDuty.",
        escape(rule),
        escape(service)
    ))
}

/// Said in the channel when PagerDuty reports on a page: "Paged checkout: acknowledged by Dana
/// after 2 min".
pub fn page_news_post(news: &News) -> Message {
    let emoji = match news.what {
        PageEvent::Acknowledged => ":eyes:",
        PageEvent::Resolved => ":white_check_mark:",
        PageEvent::Escalated | PageEvent::Reassigned => ":arrow_right:",
    };
    let mut out = format!(
        "{emoji} Paged *{}*: {}",
        escape(&news.service),
        news.what.as_str()
    );
    match news.what {
        PageEvent::Escalated | PageEvent::Reassigned if !news.assignees.is_empty() => {
            out.push_str(&format!(" to {}", escape(&news.assignees.join(", "))));
        }
        _ => {
            if let Some(by) = &news.by {
                out.push_str(&format!(" by {}", escape(by)));
            }
        }
    }
    if let (PageEvent::Acknowledged, Some(s)) = (news.what, news.after_s) {
        out.push_str(&format!(" {}", after_secs(s)));
    }
    Message::text(out)
}

/// The incident card's lines for its pages and its public status, if it has any.
pub fn outside_blocks(refs: &[ExternalRef]) -> Vec<Block> {
    let mut blocks = Vec::new();
    let pages: Vec<String> = refs
        .iter()
        .filter(|r| r.kind == Kind::Page)
        .map(|r| {
            let state = r.state.as_deref().unwrap_or(page_state::TRIGGERED);
            let who = match (state, r.detail.as_deref()) {
                (page_state::TRIGGERED, Some(to)) => format!(" — called {}", escape(to)),
                (_, Some(by)) => format!(" by {}", escape(by)),
                (_, None) => String::new(),
            };
            let service = crate::domain::mrkdwn::link(r.url.as_deref(), &r.name);
            format!("{service}: {}{who}", page_label(state))
        })
        .collect();
    if !pages.is_empty() {
        blocks.push(Block::Section(format!("*Paged*\n{}", pages.join("\n"))));
    }
    if let Some(public) = refs.iter().find(|r| r.kind == Kind::StatusIncident) {
        let state = escape(public.state.as_deref().unwrap_or("published"));
        let line = match &public.url {
            Some(url) => format!("*Status page*: <{}|{state}>", escape(url)),
            None => format!("*Status page*: {state}"),
        };
        blocks.push(Block::Section(line));
    }
    blocks
}

fn page_label(state: &str) -> &'static str {
    match state {
        page_state::ACKNOWLEDGED => ":eyes: acknowledged",
        page_state::RESOLVED => ":white_check_mark: resolved",
        _ => ":rotating_light: not acknowledged yet",
    }
}

/// Said in the channel once the status page shows what somebody published.
pub fn published_post(
    by: &str,
    status: &str,
    title: &str,
    url: Option<&str>,
    created: bool,
) -> Message {
    let what = if created { "published" } else { "updated" };
    let link = match url {
        Some(url) => format!(" <{}|See the status page>.", escape(url)),
        None => String::new(),
    };
    Message::text(format!(
        ":loudspeaker: {} {what} “{}” on the status page as *{}*.{link}",
        mrkdwn::user(by),
        escape(title),
        escape(status),
    ))
}

/// Offered when the incident is resolved here and its public incident is not: a button that
/// opens the status-page form prefilled to resolve it.
pub fn resolve_public_offer(incident: &Incident) -> Message {
    let text = format!(
        ":loudspeaker: *{}* is {} here; the status page still shows it. Resolve it there too?",
        incident.reference(),
        incident.status
    );
    Message {
        blocks: vec![
            Block::Section(text.clone()),
            Block::Actions(vec![Action::PublishStatus.on(incident)]),
        ],
        text,
    }
}

/// A rule asked that the coordinator be offered the status-page form.
pub fn statuspage_offer(incident: &Incident, rule: &str) -> Message {
    let who = incident
        .holder(crate::domain::Role::Coordinator)
        .map(mrkdwn::user)
        .unwrap_or_else(|| "Coordinator".into());
    let text = format!(
        ":loudspeaker: {who}, rule “{}” suggests telling customers: publish *{}* on the status page?",
        escape(rule),
        incident.reference()
    );
    Message {
        blocks: vec![
            Block::Section(text.clone()),
            Block::Actions(vec![Action::PublishStatus.on(incident)]),
        ],
        text,
    }
}

/// `/inc statuspage` without a status page configured.
pub fn statuspage_off() -> String {
    "No status page is configured: set `STATUSPAGE_API_KEY` and `STATUSPAGE_PAGE_ID` \
     (docs/integrations.md). Nothing was published."
        .into()
}

/// A follow-up to file when no tracker is configured.
pub fn tracker_off() -> String {
    "No follow-up tracker is configured: set `FOLLOWUP_TRACKER` and its variables \
     (docs/integrations.md). Nothing was filed."
        .into()
}

/// `/inc page <service>` for a service that cannot be paged: what can.
pub fn not_a_service(service: &str, services: &[String]) -> String {
    if services.is_empty() {
        return "PagerDuty is not configured: set `PAGERDUTY_SERVICES` (docs/integrations.md). \
                Nobody was paged."
            .into();
    }
    let list: Vec<String> = services
        .iter()
        .map(|s| format!("`{}`", escape(s)))
        .collect();
    format!(
        "There is no PagerDuty service `{}`. Page one of {}, e.g. `/inc page {} <message>`. Nobody was paged.",
        escape(service),
        list.join(", "),
        escape(&services[0])
    )
}

/// Said in the channel when a follow-up became a ticket: ":ticket: Follow-up filed as
/// GitHub <…|#12>: Add an alert".
pub fn ticket_opened_post(tracker: Tracker, name: &str, url: Option<&str>, text: &str) -> Message {
    Message::text(format!(
        ":ticket: Follow-up filed as {} {}: {}",
        tracker.title(),
        mrkdwn::link(url, name),
        escape_keeping_mentions(text)
    ))
}

/// Said in the channel when the tracker closes (or reopens) a follow-up's ticket.
pub fn ticket_news_post(news: &TicketNews) -> Message {
    let (emoji, what) = match news.closed {
        true => (":white_check_mark:", "closed"),
        false => (":arrows_counterclockwise:", "reopened"),
    };
    let mut out = format!(
        "{emoji} Follow-up {} {what}",
        mrkdwn::link(news.url.as_deref(), &news.ticket)
    );
    if let Some(by) = &news.by {
        out.push_str(&format!(" by {}", escape(by)));
    }
    out.push_str(&format!(": {}", escape_keeping_mentions(&news.text)));
    Message::text(out)
}
