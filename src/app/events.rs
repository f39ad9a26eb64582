//! What Slack's events tell about incident channels: pins added, removed, edited and deleted
//! (the incident's state document) and who joined. Each is recorded once on the incident's
//! timeline (the event id is its idempotency key); events about other channels, about messages
//! that are not pinned, and about the bot's own card are ignored after one indexed read.
//!
//! An entry is stamped with the bot's clock when the event arrives — Slack's `event_time` has
//! whole-second resolution and would sort an invite's join before the channel it joined. A
//! pinned message's own time is its `ts`, which the entry keeps. An event Slack redelivered
//! late is logged with how late.

use tracing::info;

use super::Shared;
use crate::domain::Entry;
use crate::domain::cause::Cause;
use crate::slack::{Event, EventKind};
use crate::store::StoreError;

pub(crate) async fn handle(shared: &Shared, event: &Event) -> Result<(), StoreError> {
    let channel = match &event.kind {
        EventKind::PinAdded { channel, .. }
        | EventKind::PinRemoved { channel, .. }
        | EventKind::MessageChanged { channel, .. }
        | EventKind::MessageDeleted { channel, .. }
        | EventKind::MemberJoined { channel, .. } => channel,
        // Handled where the workspace is resolved (`inbound`).
        EventKind::Uninstalled => return Ok(()),
    };
    let Some(incident) = shared.store.incident_by_channel(channel).await? else {
        return Ok(());
    };
    let bot = shared.ws.bot.user_id.as_str();
    let is_card = |ts: &str| incident.card_ts.as_deref() == Some(ts);
    let (entry, actor) = match &event.kind {
        EventKind::PinAdded { user, message, .. } => {
            if user == bot || is_card(&message.ts) {
                return Ok(());
            }
            let entry = Entry::Pinned {
                ts: message.ts.clone(),
                author: message.author.clone(),
                author_label: message.author_label.clone(),
                text: message.text.clone(),
            };
            (entry, Some(user.as_str()))
        }
        EventKind::PinRemoved { user, ts, .. } => {
            if is_card(ts) || !shared.store.is_pinned(incident.id, ts).await? {
                return Ok(());
            }
            (Entry::Unpinned { ts: ts.clone() }, Some(user.as_str()))
        }
        EventKind::MessageChanged { ts, text, .. } => {
            if !shared.store.is_pinned(incident.id, ts).await? {
                return Ok(());
            }
            let entry = Entry::PinEdited {
                ts: ts.clone(),
                text: text.clone(),
            };
            (entry, None)
        }
        EventKind::MessageDeleted { ts, .. } => {
            if !shared.store.is_pinned(incident.id, ts).await? {
                return Ok(());
            }
            (Entry::PinDeleted { ts: ts.clone() }, None)
        }
        EventKind::MemberJoined { user, .. } => {
            if user == bot {
                return Ok(());
            }
            (Entry::Joined { user: user.clone() }, Some(user.as_str()))
        }
        EventKind::Uninstalled => return Ok(()),
    };
    let key = Cause::Event(event.event_id.clone());
    let now = shared.clock.now();
    let late = now - event.at;
    if late > chrono::Duration::seconds(30) {
        info!(event_id = %event.event_id, late_s = late.num_seconds(), "an event arrived late");
    }
    shared
        .store
        .record_event(&key, incident.id, &entry, actor, now)
        .await?;
    Ok(())
}
