//! Changing an incident: load, decide, record, reply.
//!
//! The decision is the domain's ([`change::decide`]); this module turns its effects into job
//! steps and records everything in one transaction against the incident's version. If another
//! command (or replica) changed the incident in between, the change is decided again on the
//! fresh state — two quick status changes both land, in order. A redelivered payload finds its
//! idempotency key and changes nothing.

use chrono::{DateTime, Utc};
use tracing::info;

use super::Shared;
use super::steps::Step;
use crate::domain::change::{self, Actor, Change, Decision, Effect};
use crate::domain::{Incident, message};
use crate::slack::Ack;
use crate::store::{ChangeRecord, NewJob, Recorded, StoreError};

/// How often a change is re-decided after losing a race before the user is asked to retry.
const MAX_ATTEMPTS: usize = 5;

/// Applies `change` to `incident` for `actor`. `key` is the payload's idempotency key
/// (`slash:<trigger_id>`); it also names the cause of every job the change enqueues.
pub(crate) async fn apply(
    shared: &Shared,
    mut incident: Incident,
    change: Change,
    actor: &str,
    key: &str,
) -> Result<Ack, StoreError> {
    let admin = shared.settings.admins.iter().any(|a| a == actor);
    for _ in 0..MAX_ATTEMPTS {
        let now = shared.clock.now();
        let who = Actor { user: actor, admin };
        let decision = match change::decide(&incident, change.clone(), who, now) {
            Ok(decision) => decision,
            Err(refusal) => return Ok(Ack::ephemeral(refusal.to_string())),
        };
        let jobs = jobs_for(shared, &decision, key, now);
        let reply = decision.reply;
        let record = ChangeRecord {
            key: key.to_string(),
            incident: decision.incident,
            actor: actor.to_string(),
            entries: decision.entries,
            roles: decision.roles,
            jobs,
        };
        match shared.store.record(record, now).await? {
            Recorded::Applied => {
                shared.wake.notify_one();
                info!(incident.number = incident.number, "change recorded");
                return Ok(Ack::ephemeral(reply));
            }
            Recorded::Duplicate => return Ok(Ack::ephemeral(message::already_done_reply())),
            Recorded::Conflict => {
                incident = shared.store.incident(incident.id).await?.ok_or_else(|| {
                    StoreError::Corrupt(format!("incident {} vanished", incident.id))
                })?;
            }
        }
    }
    Ok(Ack::ephemeral(
        ":hourglass: The incident is changing very fast right now and your change did not get \
         in; nothing was recorded. Please try again.",
    ))
}

/// The job steps a decision's effects ask for. Each effect's cause is `<key>:<index>`, so a
/// change never enqueues the same step twice and two effects never share a key.
fn jobs_for(shared: &Shared, decision: &Decision, key: &str, now: DateTime<Utc>) -> Vec<NewJob> {
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
            Some(step.job(incident.id, &format!("{key}:{i}"), now))
        })
        .collect()
}
