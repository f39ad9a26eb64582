//! "Create ticket" (beside a follow-up without a ticket, in `/inc followups`): files that
//! follow-up in the tracker, as `/inc followup` does for a new one. Once per click (keyed by its
//! trigger id), and the step files nothing for a follow-up that has a ticket by then; the
//! clicker is told through the response URL.

use std::sync::Arc;

use super::Answer;
use crate::app::Shared;
use crate::app::steps::{Step, tell};
use crate::domain::cause::{Cause, IncidentRef};
use crate::domain::message::button_item;
use crate::domain::{Incident, followup, message};
use crate::slack::{Ack, Click};

pub(super) fn handle(shared: &Arc<Shared>, incident: Incident, click: Click) -> Answer<'_> {
    Box::pin(async move {
        let url = click.response_url.clone();
        let Some(tracker) = &shared.outside.tracker else {
            tell(shared, url, message::tracker_off()).await;
            return Ok(Ack::Empty);
        };
        let timeline = shared.store.timeline(incident.id).await?;
        let found = button_item(&click.value).and_then(|id| followup::find(&timeline, id));
        let reply = match found {
            None => format!(
                "That follow-up of {} is not recorded; nothing was filed.",
                incident.reference()
            ),
            Some(f) if f.ticket.is_some() => {
                let t = f
                    .ticket
                    .as_ref()
                    .map(message::ticket_link)
                    .unwrap_or_default();
                format!("That follow-up is filed already: {t}.")
            }
            Some(f) => {
                let key = Cause::Action(click.trigger_id.clone());
                let now = shared.clock.now();
                let job = Step::FileTicket { followup: f.id }.job(
                    IncidentRef::Id(incident.id),
                    &key.whole(),
                    now,
                );
                if !shared
                    .store
                    .enqueue_once(&key, incident.id, job, now)
                    .await?
                {
                    return Ok(Ack::Empty);
                }
                shared.wake.notify_one();
                format!(
                    "Filing the follow-up in {}; its link will be posted in the channel.",
                    tracker.tracker().title()
                )
            }
        };
        tell(shared, url, reply).await;
        Ok(Ack::Empty)
    })
}
