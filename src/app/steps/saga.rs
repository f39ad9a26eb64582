//! The channel and what follows it: `create_channel`, `invite`, `invite_group`, and
//! `source_reply` (the reply in the thread of the message an incident was declared from); and,
//! once the channel exists, the rules' check (`match_rules`, see `rules.rs`).
//!
//! Idempotency:
//! - `create_channel` notes the name it is about to request; on `name_taken` for a name it had
//!   already requested (a retry after a crash or a lost answer) it adopts the channel if the bot
//!   created it and no incident owns it; any other `name_taken` moves on to `-2`, `-3`, ….
//!   Everything that follows the channel is enqueued with the channel's record, caused by the
//!   declaration (`declared:<id>:<step>`), so it is enqueued once.
//! - `invite` and `invite_group` treat `already_in_channel` as done.
//! - `source_reply` posts once ([`post_once`]), joining the source's public channel first when
//!   the bot is not in it.
//! - An incident whose channel is created with nobody coordinating (one an alert opened) gets,
//!   when `COORDINATOR_GROUP` is set, one `post` pinging the group
//!   (`declared:<id>:coordinator:post`), in the channel's lane after the card.

use chrono::{DateTime, Utc};

use super::posts::{post_key, post_once};
use super::{ReportTo, Shared, Step, StepError, load, load_with_channel};
use crate::config::Settings;
use crate::domain::cause::{Cause, IncidentRef, Part};
use crate::domain::message;
use crate::domain::source::SourceMessage;
use crate::domain::{Entry, Incident, NewIncident, mrkdwn, slug};
use crate::slack::{ChannelRef, SlackError};
use crate::store::{IncidentChange, Job, NewJob, Outcome};

/// How many names (`-2` … `-20`) to try before giving up on `name_taken`.
const MAX_NAME_ATTEMPTS: u32 = 20;

/// The jobs a new incident starts with — its number is the store's to give: the channel's
/// creation, asked for by `cause` (the declaring payload, the alert), the nudge, and the first
/// update reminder (the declaration counts as the first update). `response_url` is where to
/// tell the declarer if the channel cannot be created; `adopt` is the existing channel to make
/// the incident's instead (`/inc adopt`).
pub(crate) fn opening_jobs(
    settings: &Settings,
    reminders: &crate::domain::reminder::Policy,
    incident: &NewIncident,
    cause: &Cause,
    response_url: Option<String>,
    adopt: Option<String>,
    now: DateTime<Utc>,
) -> Vec<NewJob> {
    let by = cause.whole();
    let mut jobs = vec![
        Step::CreateChannel {
            response_url,
            adopt,
        }
        .job(IncidentRef::New, &by, now),
        super::nudge_job(IncidentRef::New, incident.declared_at),
    ];
    let reminder = reminders.next_reminder(&incident.clone().stored(0, 0));
    jobs.extend(reminder.map(|at| super::reminder_job(IncidentRef::New, at)));
    // Other systems hear of the declaration like of any change.
    jobs.extend(super::webhooks::jobs(
        settings,
        IncidentRef::New,
        incident.private,
        &incident.opening_entries(),
        Some(&incident.declared_by),
        cause,
        now,
    ));
    jobs
}

pub(super) async fn execute(shared: &Shared, job: &Job, step: &Step) -> Result<Outcome, StepError> {
    let now = shared.clock.now();
    match step {
        Step::CreateChannel {
            response_url,
            adopt: None,
        } => {
            let incident = load(shared, job).await?;
            create_channel(shared, &incident, response_url.clone(), now).await
        }
        Step::CreateChannel {
            response_url,
            adopt: Some(channel),
        } => {
            let incident = load(shared, job).await?;
            adopt_channel(shared, incident, channel, response_url.clone(), now).await
        }
        Step::Invite { users } => {
            let (_, channel) = load_with_channel(shared, job).await?;
            invite(shared, &channel, users).await?;
            Ok(Outcome::default())
        }
        Step::InviteGroup { group } => {
            let (_, channel) = load_with_channel(shared, job).await?;
            let members = shared.ws.slack.usergroup_members(group).await?;
            invite(shared, &channel, &members).await?;
            Ok(Outcome::default())
        }
        Step::SourceReply { channel, ts } => {
            let incident = load(shared, job).await?;
            let reply = message::source_reply(&incident);
            let key = post_key(job);
            match post_once(shared, job, channel, Some(ts), &reply, &key).await {
                Err(SlackError::Api { code }) if code == "not_in_channel" => {
                    // Alerts land in channels the bot was never invited to; it joins to reply.
                    shared.ws.slack.join(channel).await?;
                    post_once(shared, job, channel, Some(ts), &reply, &key).await?;
                }
                other => {
                    other?;
                }
            }
            Ok(Outcome::default())
        }
        other => Err(StepError::permanent(format!(
            "{} is not a step of the saga",
            other.kind()
        ))),
    }
}

pub(super) fn description(step: &Step) -> Option<String> {
    Some(match step {
        Step::CreateChannel { .. } => "Creating the channel".into(),
        Step::Invite { .. } => "Inviting people".into(),
        Step::InviteGroup { group } => format!("Inviting {}", mrkdwn::group(group)),
        Step::SourceReply { channel, .. } => format!(
            "Replying to the message the incident came from in {}",
            mrkdwn::channel(channel)
        ),
        _ => return None,
    })
}

/// Invites `users` to `channel`, leaving out the bot itself (Slack refuses to invite it).
async fn invite(shared: &Shared, channel: &str, users: &[String]) -> Result<(), SlackError> {
    let users: Vec<String> = users
        .iter()
        .filter(|u| **u != shared.ws.bot.user_id)
        .cloned()
        .collect();
    shared.ws.slack.invite(channel, &users).await
}

async fn create_channel(
    shared: &Shared,
    incident: &Incident,
    response_url: Option<String>,
    now: DateTime<Utc>,
) -> Result<Outcome, StepError> {
    if incident.channel_id.is_some() {
        return Ok(Outcome::default());
    }
    let prefix = &shared.ws.config.channel_prefix;
    let name_for = |attempt| slug::channel_name(prefix, incident.number, &incident.title, attempt);
    let previous = incident.channel_name.as_deref();
    // Resume the suffix sequence where an earlier run of this step stopped.
    let start = previous
        .and_then(|p| (1..=MAX_NAME_ATTEMPTS).find(|&k| name_for(k) == p))
        .unwrap_or(1);
    for attempt in start..=MAX_NAME_ATTEMPTS {
        let name = name_for(attempt);
        let requested_before = previous == Some(name.as_str());
        if !requested_before {
            shared
                .store
                .note_channel_attempt(incident.id, &name, now)
                .await?;
        }
        let created = match shared
            .ws
            .slack
            .create_channel(&name, incident.private)
            .await
        {
            Ok(channel) => Some((channel, false)),
            Err(SlackError::Api { code }) if code == "name_taken" => match requested_before {
                true => adoptable(shared, &name).await?.map(|c| (c, true)),
                false => None,
            },
            Err(e) => return Err(e.into()),
        };
        if let Some((channel, adopted)) = created {
            let source = source_of(shared, incident).await?;
            return Ok(channel_ready(
                shared,
                incident,
                channel,
                adopted,
                source,
                response_url,
                now,
            ));
        }
    }
    Err(StepError::permanent("name_taken"))
}

/// `/inc adopt`: the existing channel becomes the incident's — it keeps its name; the bot joins
/// a public one (a private one must have invited it); a private channel makes the incident
/// private, so it is never announced.
async fn adopt_channel(
    shared: &Shared,
    mut incident: Incident,
    channel: &str,
    response_url: Option<String>,
    now: DateTime<Utc>,
) -> Result<Outcome, StepError> {
    if incident.channel_id.is_some() {
        return Ok(Outcome::default());
    }
    let facts = match shared.ws.slack.channel_facts(channel).await {
        Ok(facts) => facts,
        Err(SlackError::Api { code }) if code == "channel_not_found" => {
            return Err(StepError::permanent(
                "the bot cannot see this channel: invite it first (`/invite @incident-commander`), \
                 then `/inc adopt` again",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    if facts.archived {
        return Err(StepError::permanent("the channel is archived"));
    }
    if !facts.member {
        shared.ws.slack.join(channel).await?;
    }
    incident.private = incident.private || facts.private;
    let mut ready = channel_ready(
        shared,
        &incident,
        ChannelRef {
            id: channel.to_string(),
            name: facts.name.clone(),
            creator: None,
        },
        true,
        None,
        response_url,
        now,
    );
    ready.change = Some(IncidentChange::Adopted {
        id: channel.to_string(),
        name: facts.name,
        private: incident.private,
    });
    Ok(ready)
}

/// The channel called `name`, if it is one this bot created for an incident that never recorded
/// it (the answer to `conversations.create` was lost).
async fn adoptable(shared: &Shared, name: &str) -> Result<Option<ChannelRef>, StepError> {
    let Some(channel) = shared.ws.slack.find_channel(name).await? else {
        return Ok(None);
    };
    if channel.creator.as_deref() != Some(shared.ws.bot.user_id.as_str()) {
        return Ok(None);
    }
    if shared
        .store
        .incident_by_channel(&channel.id)
        .await?
        .is_some()
    {
        return Ok(None);
    }
    Ok(Some(channel))
}

/// The message `incident` was declared from, as its timeline recorded it.
async fn source_of(
    shared: &Shared,
    incident: &Incident,
) -> Result<Option<SourceMessage>, StepError> {
    if incident.source.is_none() {
        return Ok(None);
    }
    let timeline = shared.store.timeline(incident.id).await?;
    Ok(timeline
        .into_iter()
        .find_map(|e| SourceMessage::from_entry(e.entry)))
}

/// Everything that follows the channel: invites, topic, card, announcement — and, for an
/// incident declared from a message, its copy here and a reply in its thread; for an incident
/// nobody coordinates, the call to the coordinator group. Posts in the channel come in this
/// order: the card, the copied message, the call.
fn channel_ready(
    shared: &Shared,
    incident: &Incident,
    channel: ChannelRef,
    adopted: bool,
    source: Option<SourceMessage>,
    response_url: Option<String>,
    now: DateTime<Utc>,
) -> Outcome {
    let mut users: Vec<String> = vec![incident.declared_by.clone()];
    for (_, user) in &incident.roles {
        if !users.contains(user) {
            users.push(user.clone());
        }
    }
    let id = IncidentRef::Id(incident.id);
    let declared = Cause::Declared(incident.id);
    let cause = declared.whole();
    let mut follow_ups = vec![
        Step::Invite { users }.job(id, &cause, now),
        Step::SyncTopic.job(id, &cause, now),
        Step::SyncCard {
            channel: Some(channel.id.clone()),
        }
        .job(id, &cause, now),
    ];
    if let (false, Some(announce)) = (incident.private, &shared.ws.announce_channel) {
        follow_ups.push(
            Step::SyncAnnouncement {
                channel: announce.clone(),
            }
            .job(id, &cause, now),
        );
    }
    if let Some(source) = source {
        follow_ups.push(
            Step::Post {
                channel: channel.id.clone(),
                message: message::source_copy(&source),
            }
            .job(id, &declared.part(Part::Source), now),
        );
        // A private incident must not show in a public channel: only the declarer is told.
        let reply = match (incident.private, response_url) {
            (false, _) => Some(Step::SourceReply {
                channel: source.channel.clone(),
                ts: source.ts.clone(),
            }),
            (true, Some(url)) => {
                let mut ready = incident.clone();
                ready.channel_id = Some(channel.id.clone());
                Some(Step::Report {
                    to: ReportTo::ResponseUrl { url },
                    text: message::source_reply(&ready).text,
                })
            }
            (true, None) => None,
        };
        follow_ups.extend(reply.map(|r| r.job(id, &cause, now)));
    }
    if let (None, Some(group)) = (
        incident.holder(crate::domain::Role::Coordinator),
        &shared.ws.config.coordinator_group,
    ) {
        follow_ups.push(
            Step::Post {
                channel: channel.id.clone(),
                message: message::coordinator_wanted(incident, group),
            }
            .job(id, &declared.part(Part::Coordinator), now),
        );
    }
    // The rules look at the incident once it has a channel to act in.
    follow_ups.extend(super::rules::on_declared(shared, incident, now));
    Outcome {
        events: vec![Entry::ChannelCreated {
            channel_id: channel.id.clone(),
            name: channel.name.clone(),
            adopted,
        }],
        change: Some(IncidentChange::Channel {
            id: channel.id,
            name: channel.name,
        }),
        follow_ups,
        ..Outcome::default()
    }
}
