//! What a tracker says of a follow-up's ticket (closed, or opened again): on the timeline,
//! said in the incident channel. Taken in any status — tickets are closed long after the
//! incident is resolved; the follow-up shows as done in `/inc followups` and on the
//! postmortem's next export.

use super::draft::Draft;
use super::{Effect, Refusal};
use crate::domain::message;
use crate::domain::outside::FollowUpId;
use crate::domain::timeline::Entry;

/// A ticket's news, as the app matched it to its follow-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct News {
    pub followup: FollowUpId,
    /// The follow-up's text, for the post.
    pub text: String,
    /// `#12`, `OPS-4`.
    pub ticket: String,
    pub url: Option<String>,
    pub closed: bool,
    pub by: Option<String>,
}

pub(super) fn decide(d: &mut Draft<'_>, news: News) -> Result<(), Refusal> {
    d.effects
        .push(Effect::Post(message::ticket_news_post(&news)));
    d.entries.push(Entry::TicketChanged {
        followup: news.followup,
        ticket: news.ticket,
        closed: news.closed,
        by: news.by,
    });
    d.reply = String::new();
    Ok(())
}
