//! What a tracker says of a follow-up's ticket (a webhook, its signature already checked by the
//! HTTP side, or a poll): matched to its follow-up by the ticket's id, then recorded as a change
//! ([`Change::TicketNews`]) under the delivery's id — on the timeline, said in the channel, the
//! reference's state moved, in one transaction. A delivery the tracker repeats, or a request
//! somebody captured and replays, finds its key recorded and changes nothing; news of a state
//! already recorded (a poll after the webhook, our own record) is not said twice.

use super::Shared;
use super::changes;
use super::steps::tickets::state_word;
use crate::domain::cause::Cause;
use crate::domain::change::Change;
use crate::domain::change::ticket_news::News;
use crate::domain::followup;
use crate::domain::outside::{ExternalRef, Kind, TicketNews, ticket_state};
use crate::http::Heard;
use crate::store::StoreError;

pub(crate) async fn receive(
    shared: &Shared,
    news: TicketNews,
    key: Cause,
) -> Result<Heard, StoreError> {
    let Some((ticket, _)) = shared
        .store
        .external_ref_by_reference(Kind::Ticket(news.tracker), &news.reference)
        .await?
    else {
        tracing::info!(tracker = news.tracker.as_str(), reference = %news.reference, "news of a ticket that is not a follow-up of ours");
        return Ok(Heard::Unknown);
    };
    if (ticket.state.as_deref() == Some(ticket_state::CLOSED)) == news.closed {
        return Ok(Heard::Nothing);
    }
    let Some(incident) = shared.store.incident(ticket.incident).await? else {
        return Ok(Heard::Unknown);
    };
    let Ok(id) = ticket.name.parse::<i64>() else {
        return Ok(Heard::Unknown);
    };
    let timeline = shared.store.timeline(incident.id).await?;
    let text = followup::find(&timeline, id)
        .map(|f| f.text)
        .unwrap_or_default();
    let name = ticket
        .detail
        .clone()
        .unwrap_or_else(|| ticket.reference.clone());
    let now_state = ExternalRef {
        state: Some(state_word(news.closed).to_string()),
        detail: Some(name.clone()),
        ..ticket.clone()
    };
    let change = Change::TicketNews(News {
        followup: id,
        text,
        ticket: name,
        url: ticket.url.clone(),
        closed: news.closed,
        by: news.by,
    });
    changes::record_news(shared, incident, change, &key, now_state).await
}

/// The key a webhook's news is recorded under: its delivery id, else what it says (a tracker
/// that sends no id repeats the same news under the same key).
pub(crate) fn webhook_key(news: &TicketNews) -> Cause {
    let tracker = news.tracker.as_str();
    match &news.delivery {
        Some(delivery) => Cause::Ticket(format!("{tracker}:{delivery}")),
        None => Cause::Ticket(format!(
            "{tracker}:{}.{}",
            news.reference,
            state_word(news.closed)
        )),
    }
}
