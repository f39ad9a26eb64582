//! What PagerDuty says of a page (a v3 webhook, its signature already checked by the HTTP
//! side): matched to its incident by the dedup key we sent, then recorded as a change
//! ([`Change::PageNews`]) under the webhook event's id — on the timeline, said in the channel,
//! the page's state on the card, in one transaction. A delivery PagerDuty repeats, or a request
//! somebody captured and replays, finds its event id recorded and changes nothing.

use super::Shared;
use super::changes;
use crate::domain::cause::Cause;
use crate::domain::change::Change;
use crate::domain::change::page_news::News;
use crate::domain::outside::{ExternalRef, Kind, PageEvent, PageNews, page_state};
use crate::http::Heard;
use crate::store::StoreError;

pub(crate) async fn receive(shared: &Shared, news: PageNews) -> Result<Heard, StoreError> {
    let Some((page, paged_at)) = shared
        .store
        .external_ref_by_reference(Kind::Page, &news.key)
        .await?
    else {
        // One of ours whose trigger's answer is not recorded yet (PagerDuty can be faster than
        // our commit): not now — PagerDuty delivers a webhook again when it is not taken.
        if news
            .key
            .starts_with(&format!("{}-INC-", shared.ws.bot.team_id))
        {
            return Ok(Heard::Later(format!(
                "the page {} is not recorded yet",
                news.key
            )));
        }
        tracing::info!(key = %news.key, "a PagerDuty webhook about a page we did not send");
        return Ok(Heard::Unknown);
    };
    let Some(incident) = shared.store.incident(page.incident).await? else {
        return Ok(Heard::Unknown);
    };
    // Our own resolve (the incident is over here) comes back as news — possibly before the
    // step that sent it recorded its answer: nothing to add.
    if news.what == PageEvent::Resolved
        && (page.state.as_deref() == Some(page_state::RESOLVED) || incident.status.is_terminal())
    {
        return Ok(Heard::Nothing);
    }
    let after_s = match news.what {
        PageEvent::Acknowledged => Some((news.at - paged_at).num_seconds()),
        _ => None,
    };
    let detail = match news.what {
        PageEvent::Escalated | PageEvent::Reassigned => Some(news.assignees.join(", ")),
        _ => news.by.clone(),
    }
    .filter(|d| !d.is_empty());
    let now_state = ExternalRef {
        url: news.url.clone().or(page.url.clone()),
        state: Some(news.what.state().to_string()),
        detail,
        ..page.clone()
    };
    let change = Change::PageNews(News {
        service: page.name.clone(),
        what: news.what,
        by: news.by,
        assignees: news.assignees,
        after_s,
    });
    let key = Cause::PagerDuty(news.event_id);
    changes::record_news(shared, incident, change, &key, now_state).await
}
