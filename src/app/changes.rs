//! Changing an incident: load, decide, record, reply.
//!
//! The decision is the domain's ([`change::decide_all`]); this module turns its effects and its
//! reminder move into jobs and records everything in one transaction against the incident's
//! version. If another command (or replica) changed the incident in between, the change is
//! decided again on the fresh state — two quick status changes both land, in order. A
//! redelivered payload finds its idempotency key and changes nothing. Several changes asked at
//! once (the Update modal: status, summary, update) are one decision, recorded together or not
//! at all.

use chrono::{DateTime, Utc};
use tracing::info;

use super::Shared;
use super::steps::{self, Step};
use crate::domain::cause::{Cause, IncidentRef, Part};
use crate::domain::change::{self, Actor, Change, Decision, Effect};
use crate::domain::reminder::Rearm;
use crate::domain::{Incident, message};
use crate::store::{ChangeRecord, NewJob, Recorded, StoreError};

/// How often a change is re-decided after losing a race before the user is asked to retry.
const MAX_ATTEMPTS: usize = 5;

/// How a change went, for the caller to tell the user in its own way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Applied {
    /// Recorded; the text is the reply for the actor.
    Yes(String),
    /// Refused by the rules; nothing was recorded. The text says why.
    Refused(String),
    /// The payload was recorded before (Slack delivered it twice); nothing was recorded now.
    AlreadyDone,
    /// The incident kept changing under the change; nothing was recorded.
    Busy,
}

impl Applied {
    /// The text to show the actor.
    pub(crate) fn text(&self) -> String {
        match self {
            Applied::Yes(text) | Applied::Refused(text) => text.clone(),
            Applied::AlreadyDone => message::already_done_reply(),
            Applied::Busy => ":hourglass: The incident is changing very fast right now and your \
                 change did not get in; nothing was recorded. Please try again."
                .into(),
        }
    }
}

/// Applies `changes` to `incident` for `actor`, with `also` steps enqueued if they are recorded.
/// `key` is what asked (the payload, `slash:<trigger_id>`): recorded once, and the cause of
/// every job the change enqueues.
pub(crate) async fn apply(
    shared: &Shared,
    mut incident: Incident,
    changes: &[Change],
    actor: &str,
    key: &Cause,
    also: &[Step],
) -> Result<Applied, StoreError> {
    let admin = shared.settings.admins.iter().any(|a| a == actor);
    let policy = &shared.settings.reminders;
    for _ in 0..MAX_ATTEMPTS {
        let now = shared.clock.now();
        let who = Actor { user: actor, admin };
        let decision = match change::decide_all(&incident, changes, who, policy, now) {
            Ok(decision) => decision,
            Err(refusal) => return Ok(Applied::Refused(refusal.to_string())),
        };
        let id = IncidentRef::Id(incident.id);
        let mut jobs = jobs_for(shared, &decision, key, now);
        jobs.extend(
            also.iter()
                .enumerate()
                .map(|(i, step)| step.job(id, &key.part(Part::Also(i)), now)),
        );
        // The reminder moves with the change, in the same transaction.
        let mut cancel = Vec::new();
        match decision.reminder {
            Rearm::Keep => {}
            Rearm::At(at) => jobs.push(steps::reminder_job(id, at)),
            Rearm::Cancel => cancel.push(steps::reminder_key(id)),
        }
        let reply = decision.reply;
        let record = ChangeRecord {
            key: key.clone(),
            incident: decision.incident,
            actor: actor.to_string(),
            entries: decision.entries,
            roles: decision.roles,
            jobs,
            cancel,
        };
        match shared.store.record(record, now).await? {
            Recorded::Applied => {
                shared.wake.notify_one();
                info!(incident.number = incident.number, "change recorded");
                return Ok(Applied::Yes(reply));
            }
            Recorded::Duplicate => return Ok(Applied::AlreadyDone),
            Recorded::Conflict => {
                incident = shared.store.incident(incident.id).await?.ok_or_else(|| {
                    StoreError::Corrupt(format!("incident {} vanished", incident.id))
                })?;
            }
        }
    }
    Ok(Applied::Busy)
}

/// The job steps a decision's effects ask for. Each effect is its cause's part `<index>`, so a
/// change never enqueues the same step twice and two effects never share a key.
fn jobs_for(shared: &Shared, decision: &Decision, key: &Cause, now: DateTime<Utc>) -> Vec<NewJob> {
    let incident = &decision.incident;
    let announce = incident
        .announcement_channel
        .clone()
        .or_else(|| shared.announce_channel.clone());
    let channel = incident.channel_id.clone();
    decision
        .effects
        .iter()
        .enumerate()
        .filter_map(|(i, effect)| {
            let step = match effect {
                Effect::SyncTopic => Step::SyncTopic,
                Effect::SyncCard => Step::SyncCard {
                    channel: channel.clone(),
                },
                Effect::SyncAnnouncement => Step::SyncAnnouncement {
                    channel: announce.clone()?,
                },
                Effect::Post(message) => Step::Post {
                    channel: channel.clone()?,
                    message: message.clone(),
                },
                Effect::PostInAnnouncementThread(message) => Step::ThreadReply {
                    channel: announce.clone()?,
                    message: message.clone(),
                },
                Effect::Invite(users) => Step::Invite {
                    users: users.clone(),
                },
                Effect::InviteGroup(group) => Step::InviteGroup {
                    group: group.clone(),
                },
            };
            Some(step.job(
                IncidentRef::Id(incident.id),
                &key.part(Part::Effect(i)),
                now,
            ))
        })
        .collect()
}
