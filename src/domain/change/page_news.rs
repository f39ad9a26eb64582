//! What PagerDuty says of a page (acknowledged, escalated, resolved, reassigned): on the
//! timeline, said in the channel ("Paged checkout: acknowledged by Dana after 2 min") and shown
//! on the card. Taken in any status — PagerDuty may speak after the incident was resolved here.

use super::draft::Draft;
use super::{Effect, Refusal};
use crate::domain::message;
use crate::domain::outside::PageEvent;
use crate::domain::timeline::Entry;

/// A page's news, as the app read it from PagerDuty's webhook and matched to the incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct News {
    pub service: String,
    pub what: PageEvent,
    pub by: Option<String>,
    pub assignees: Vec<String>,
    /// Seconds since the service was paged, when we know.
    pub after_s: Option<i64>,
}

pub(super) fn decide(d: &mut Draft<'_>, news: News) -> Result<(), Refusal> {
    d.effects.push(Effect::Post(message::page_news_post(&news)));
    d.effects.push(Effect::SyncCard);
    d.entries.push(Entry::PageNews {
        service: news.service,
        what: news.what,
        by: news.by,
        assignees: news.assignees,
        after_s: news.after_s,
    });
    d.reply = String::new();
    Ok(())
}
