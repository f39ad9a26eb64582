//! What mirrors the incident: `sync_topic`, `sync_card` (and `pin_card` after its first post),
//! `sync_announcement`, and `edit` (a message of the bot replaced).
//!
//! Idempotency: the `sync_*` steps render the topic, the card or the announcement from the
//! incident **as it is when they run**, and their job key is per incident
//! (`incident:<id>:sync_card`), so changes arriving while one waits coalesce into one run, and a
//! change arriving while one runs makes it run once more (the job's generation). `sync_card`
//! and `sync_announcement` post their message the first time — once, by [`post_once`] — and
//! edit it in place (`chat.update`) afterwards; the `ts` they learn is recorded even when the
//! run was superseded, so the message is never posted twice. `pin_card` treats
//! `already_pinned` as done; an edit replaces the same message however often it runs.

use chrono::{DateTime, Utc};

use super::posts::{post_key, post_once};
use super::{Shared, Step, StepError, load, load_with_channel};
use crate::domain::cause::{Cause, IncidentRef};
use crate::domain::{Entry, message, mrkdwn};
use crate::store::{IncidentChange, Job, Outcome};

pub(super) async fn execute(shared: &Shared, job: &Job, step: &Step) -> Result<Outcome, StepError> {
    let now = shared.clock.now();
    let slack = &shared.ws.slack;
    match step {
        Step::SyncTopic => {
            let (incident, channel) = load_with_channel(shared, job).await?;
            slack
                .set_topic(&channel, &message::topic(&incident))
                .await?;
            Ok(Outcome::default())
        }
        Step::SyncCard { .. } => sync_card(shared, job, now).await,
        Step::PinCard { ts } => {
            let (_, channel) = load_with_channel(shared, job).await?;
            slack.pin(&channel, ts).await?;
            Ok(Outcome::default())
        }
        Step::SyncAnnouncement { channel: target } => {
            let incident = load(shared, job).await?;
            let announcement = message::announcement(&incident);
            if let Some(ts) = &incident.announcement_ts {
                let channel = incident.announcement_channel.as_deref().unwrap_or(target);
                slack.update(channel, ts, &announcement).await?;
                return Ok(Outcome::default());
            }
            let key = post_key(job);
            let ts = post_once(shared, job, target, None, &announcement, &key).await?;
            Ok(Outcome {
                change: Some(IncidentChange::Announced {
                    channel: target.clone(),
                    ts: ts.clone(),
                }),
                events: vec![Entry::Announced {
                    channel: target.clone(),
                    ts,
                }],
                ..Outcome::default()
            })
        }
        Step::Edit {
            channel,
            ts,
            message,
        } => {
            slack.update(channel, ts, message).await?;
            Ok(Outcome::default())
        }
        other => Err(StepError::permanent(format!(
            "{} is not a sync step",
            other.kind()
        ))),
    }
}

/// Posts the card the first time (then pins it), edits it in place afterwards.
async fn sync_card(shared: &Shared, job: &Job, now: DateTime<Utc>) -> Result<Outcome, StepError> {
    let (incident, channel) = load_with_channel(shared, job).await?;
    let due = shared.ws.config.reminders.update_due(&incident);
    let outside = shared.store.external_refs(incident.id).await?;
    let card = message::incident_card(&incident, due, &outside);
    if let Some(ts) = &incident.card_ts {
        shared.ws.slack.update(&channel, ts, &card).await?;
        return Ok(Outcome::default());
    }
    let ts = post_once(shared, job, &channel, None, &card, &post_key(job)).await?;
    let pin = Step::PinCard { ts: ts.clone() };
    Ok(Outcome {
        follow_ups: vec![pin.job(
            IncidentRef::Id(incident.id),
            &Cause::Job(job.id).whole(),
            now,
        )],
        change: Some(IncidentChange::CardPosted { ts }),
        ..Outcome::default()
    })
}

pub(super) fn description(step: &Step) -> Option<String> {
    Some(match step {
        Step::SyncTopic => "Setting the channel topic".into(),
        Step::SyncCard { .. } => "Posting the incident card".into(),
        Step::PinCard { .. } => "Pinning the incident card".into(),
        Step::SyncAnnouncement { channel } => {
            format!("Announcing in {}", mrkdwn::channel(channel))
        }
        Step::Edit { .. } => "Editing a message".into(),
        _ => return None,
    })
}
