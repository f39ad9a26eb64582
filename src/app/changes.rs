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
use crate::domain::outside::ExternalRef;
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
    incident: Incident,
    changes: &[Change],
    actor: &str,
    key: &Cause,
    also: &[Step],
) -> Result<Applied, StoreError> {
    apply_with_refs(shared, incident, changes, actor, key, also, &[]).await
}

/// [`apply`], recording with the change what it tells about objects in outside systems (a page
/// acknowledged): in the same transaction, so the news and the state it leaves are one.
pub(crate) async fn apply_with_refs(
    shared: &Shared,
    mut incident: Incident,
    changes: &[Change],
    actor: &str,
    key: &Cause,
    also: &[Step],
    refs: &[ExternalRef],
) -> Result<Applied, StoreError> {
    let admin = shared.ws.config.admins.iter().any(|a| a == actor);
    let policy = &shared.ws.config.reminders;
    for _ in 0..MAX_ATTEMPTS {
        let now = shared.clock.now();
        let who = Actor { user: actor, admin };
        let decision = match change::decide_all(&incident, changes, who, policy, now) {
            Ok(decision) => decision,
            Err(refusal) => return Ok(Applied::Refused(refusal.to_string())),
        };
        let id = IncidentRef::Id(incident.id);
        let mut jobs = jobs_for(shared, &decision, key, now);
        // Other systems hear of what happened, in the same transaction as the entries.
        jobs.extend(steps::webhooks::jobs(
            &shared.settings,
            id,
            decision.incident.private,
            &decision.entries,
            Some(actor),
            key,
            now,
        ));
        // Rules look at the incident again when its severity or status moved.
        jobs.extend(steps::rules::on_change(
            shared,
            &incident,
            &decision.incident,
            key,
            now,
        ));
        jobs.extend(
            also.iter()
                .enumerate()
                .map(|(i, step)| step.job(id, &key.part(Part::Also(i)), now)),
        );
        // The reminders and the archive check move with the change, in the same transaction.
        let mut cancel = Vec::new();
        for (rearm, step) in [
            (&decision.reminder, Step::Reminder),
            (&decision.postmortem_reminder, Step::PostmortemReminder),
            (&decision.archive, Step::ArchiveCheck),
        ] {
            match rearm {
                Rearm::Keep => {}
                Rearm::At(at) => jobs.push(step.uncaused(id, *at)),
                Rearm::Cancel => cancel.extend(step.per_incident_key(id)),
            }
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
            refs: refs.to_vec(),
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

/// Records what an outside system said (`change`: a page acknowledged, a ticket closed) as the
/// bot's change under `key`, with the object's new state `now_state`, in one transaction — and
/// says how it went as the HTTP side answers the system: a repeat or a refusal is nothing new,
/// an incident that kept changing is worth a later delivery.
pub(crate) async fn record_news(
    shared: &Shared,
    incident: Incident,
    change: Change,
    key: &Cause,
    now_state: ExternalRef,
) -> Result<crate::http::Heard, StoreError> {
    use crate::http::Heard;
    // News comes to the deployment's HTTP side, from no workspace: it is recorded and told in
    // the incident's own (its bot, its announce channel), or not at all once that removed the app.
    let Some(shared) = super::workspaces::of_incident(shared, incident.id).await? else {
        return Ok(Heard::Nothing);
    };
    let shared = &*shared;
    let actor = shared.ws.bot.user_id.clone();
    let refs = [now_state];
    let applied = apply_with_refs(shared, incident, &[change], &actor, key, &[], &refs).await?;
    Ok(match applied {
        Applied::Yes(_) => Heard::Recorded,
        Applied::AlreadyDone | Applied::Refused(_) => Heard::Nothing,
        Applied::Busy => Heard::Later("the incident kept changing".into()),
    })
}

/// The job steps a decision's effects ask for. Each effect is its cause's part `<index>`, so a
/// change never enqueues the same step twice and two effects never share a key.
fn jobs_for(shared: &Shared, decision: &Decision, key: &Cause, now: DateTime<Utc>) -> Vec<NewJob> {
    let incident = &decision.incident;
    let announce = incident
        .announcement_channel
        .clone()
        .or_else(|| shared.ws.announce_channel.clone());
    let channel = incident.channel_id.clone();
    let integrations = &shared.settings.integrations;
    decision
        .effects
        .iter()
        .enumerate()
        .flat_map(|(i, effect)| {
            let step = match effect {
                Effect::SyncTopic => Step::SyncTopic,
                Effect::SyncCard => Step::SyncCard {
                    channel: channel.clone(),
                },
                Effect::SyncAnnouncement => match announce.clone() {
                    Some(channel) => Step::SyncAnnouncement { channel },
                    None => return Vec::new(),
                },
                Effect::Post(message) => match channel.clone() {
                    Some(channel) => Step::Post {
                        channel,
                        message: message.clone(),
                    },
                    None => return Vec::new(),
                },
                Effect::PostInAnnouncementThread(message) => match announce.clone() {
                    Some(channel) => Step::ThreadReply {
                        channel,
                        message: message.clone(),
                    },
                    None => return Vec::new(),
                },
                Effect::Invite(users) => Step::Invite {
                    users: users.clone(),
                },
                Effect::InviteGroup(group) => Step::InviteGroup {
                    group: group.clone(),
                },
                Effect::Page { service, message } => Step::Page {
                    service: service.clone(),
                    message: message.clone(),
                    announce_by: None,
                    rule: None,
                },
                Effect::PublishStatus { by, publication } => Step::PublishStatus {
                    by: by.clone(),
                    publication: publication.clone(),
                },
                Effect::FileTicket { followup } => match integrations.tracker {
                    Some(_) => Step::FileTicket {
                        followup: *followup,
                    },
                    None => return Vec::new(),
                },
                Effect::PostIn { channel, message } => Step::Post {
                    channel: channel.clone(),
                    message: message.clone(),
                },
                Effect::ArchiveChannel => match channel.clone() {
                    Some(channel) => Step::ArchiveChannel { channel },
                    None => return Vec::new(),
                },
                Effect::CloseOutside => {
                    // One step per configured system, each its own part of the effect.
                    let mut steps = Vec::new();
                    if integrations.pagerduty.is_some() {
                        steps.push(Step::ResolvePages);
                    }
                    if integrations.statuspage.is_some() {
                        steps.push(Step::OfferStatusResolve);
                    }
                    return steps
                        .into_iter()
                        .map(|step| {
                            step.job(
                                IncidentRef::Id(incident.id),
                                &key.part(Part::Effect(i)),
                                now,
                            )
                        })
                        .collect::<Vec<_>>();
                }
            };
            vec![step.job(
                IncidentRef::Id(incident.id),
                &key.part(Part::Effect(i)),
                now,
            )]
        })
        .collect()
}
