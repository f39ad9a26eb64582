//! The declaration saga (RELIABILITY.md §2.6) as durable job steps.
//!
//! ```text
//! declare (one transaction, before the ack) ──► create_channel ──┬─► invite
//!                                                                ├─► set_topic
//!                                                                ├─► post_card ──► pin_card
//!                                                                └─► announce   (public incidents)
//! ```
//! Each step is a job row; completing a step records what it achieved (the channel id, the
//! card's ts, …) and enqueues the next steps in the same transaction, so a crash anywhere leaves
//! either the step to redo or its successors to run. The four steps after the channel run in
//! parallel. Every step is idempotent:
//! - `create_channel` notes the name it is about to request; on `name_taken` for a name it had
//!   already requested (a retry after a crash or a lost answer) it adopts the channel if the bot
//!   created it and no incident owns it; any other `name_taken` moves on to `-2`, `-3`, ….
//! - `invite` treats `already_in_channel` as done; `pin_card` treats `already_pinned` as done;
//!   `set_topic` sets the topic computed from the incident's current state.
//! - `post_card` and `announce` skip posting when the incident already records their `ts`; the
//!   only duplicate left is a crash between Slack's answer and the commit.
//!
//! A step that fails for good is reported where the user will see it: in the incident channel,
//! or — when there is no channel — ephemerally to the declarer through the command's response URL.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::Shared;
use crate::domain::{Incident, IncidentId, TimelineKind, message, mrkdwn, slug};
use crate::slack::{ChannelRef, SlackError};
use crate::store::{IncidentChange, Job, NewEvent, NewJob, Outcome, StoreError};

/// How many names (`-2` … `-20`) to try before giving up on `name_taken`.
const MAX_NAME_ATTEMPTS: u32 = 20;

/// One durable unit of Slack work, stored as a job's JSON payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// Create (or, after a crash, adopt) the incident channel.
    CreateChannel {
        /// Where to tell the declarer if the channel cannot be created.
        response_url: Option<String>,
    },
    Invite {
        users: Vec<String>,
    },
    SetTopic,
    PostCard,
    PinCard {
        ts: String,
    },
    Announce {
        channel: String,
    },
    /// Tell someone that a step failed for good.
    Report {
        to: ReportTo,
        text: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "via", rename_all = "snake_case")]
pub enum ReportTo {
    Channel { id: String },
    ResponseUrl { url: String },
}

impl Step {
    /// The job kind (also the `step` tag of the payload).
    pub fn kind(&self) -> &'static str {
        match self {
            Step::CreateChannel { .. } => "create_channel",
            Step::Invite { .. } => "invite",
            Step::SetTopic => "set_topic",
            Step::PostCard => "post_card",
            Step::PinCard { .. } => "pin_card",
            Step::Announce { .. } => "announce",
            Step::Report { .. } => "report",
        }
    }

    /// A job running this step for `incident`, due at `now`. Steps of a known incident carry a
    /// dedupe key so no step is ever enqueued twice for it; reports carry none.
    pub fn job(&self, incident: Option<IncidentId>, now: DateTime<Utc>) -> NewJob {
        let key = match (self, incident) {
            (Step::Report { .. }, _) | (_, None) => None,
            (_, Some(id)) => Some(format!("incident:{id}:{}", self.kind())),
        };
        NewJob {
            kind: self.kind().to_string(),
            key,
            payload: serde_json::to_value(self).unwrap_or_default(),
            run_at: now,
        }
    }

    /// What the step does, for failure reports.
    fn description(&self) -> String {
        match self {
            Step::CreateChannel { .. } => "Creating the channel".into(),
            Step::Invite { .. } => "Inviting the responders".into(),
            Step::SetTopic => "Setting the channel topic".into(),
            Step::PostCard => "Posting the incident card".into(),
            Step::PinCard { .. } => "Pinning the incident card".into(),
            Step::Announce { channel } => format!("Announcing in {}", mrkdwn::channel(channel)),
            Step::Report { .. } => "Reporting a failure".into(),
        }
    }
}

/// Why a step did not finish.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StepError {
    #[error("{0}")]
    Slack(#[from] SlackError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Invalid(String),
}

impl StepError {
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            StepError::Slack(e) => e.is_transient(),
            StepError::Store(_) => true,
            StepError::Invalid(_) => false,
        }
    }

    pub(crate) fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            StepError::Slack(e) => e.retry_after(),
            _ => None,
        }
    }
}

/// Runs `step` of `job` and says what it achieved.
pub(crate) async fn execute(shared: &Shared, job: &Job, step: &Step) -> Result<Outcome, StepError> {
    let now = shared.clock.now();
    let slack = &shared.slack;
    match step {
        Step::Report { to, text } => {
            match to {
                ReportTo::Channel { id } => slack.post_text(id, text).await.map(drop)?,
                ReportTo::ResponseUrl { url } => slack.respond(url, text).await?,
            }
            Ok(Outcome::default())
        }
        Step::CreateChannel { .. } => create_channel(shared, &load(shared, job).await?, now).await,
        Step::Invite { users } => {
            let (_, channel) = load_with_channel(shared, job).await?;
            slack.invite(&channel, users).await?;
            Ok(Outcome::default())
        }
        Step::SetTopic => {
            let (incident, channel) = load_with_channel(shared, job).await?;
            slack
                .set_topic(&channel, &message::topic(&incident))
                .await?;
            Ok(Outcome::default())
        }
        Step::PostCard => {
            let (incident, channel) = load_with_channel(shared, job).await?;
            let (ts, change) = match &incident.card_ts {
                Some(ts) => (ts.clone(), None),
                None => {
                    let ts = slack
                        .post(&channel, &message::incident_card(&incident))
                        .await?;
                    (ts.clone(), Some(IncidentChange::CardPosted { ts }))
                }
            };
            Ok(Outcome {
                change,
                follow_ups: vec![Step::PinCard { ts }.job(Some(incident.id), now)],
                events: Vec::new(),
            })
        }
        Step::PinCard { ts } => {
            let (_, channel) = load_with_channel(shared, job).await?;
            slack.pin(&channel, ts).await?;
            Ok(Outcome::default())
        }
        Step::Announce { channel: target } => {
            let incident = load(shared, job).await?;
            if incident.announcement_ts.is_some() {
                return Ok(Outcome::default());
            }
            let ts = slack
                .post(target, &message::announcement(&incident))
                .await?;
            Ok(Outcome {
                change: Some(IncidentChange::Announced {
                    channel: target.clone(),
                    ts: ts.clone(),
                }),
                follow_ups: Vec::new(),
                events: vec![NewEvent {
                    kind: TimelineKind::Announced,
                    actor: None,
                    data: json!({ "channel": target, "ts": ts }),
                }],
            })
        }
    }
}

/// The job's incident and its channel, for steps that act in the channel.
async fn load_with_channel(shared: &Shared, job: &Job) -> Result<(Incident, String), StepError> {
    let incident = load(shared, job).await?;
    let channel = incident.channel_id.clone().ok_or_else(|| {
        StepError::Invalid(format!("{} has no channel yet", incident.reference()))
    })?;
    Ok((incident, channel))
}

async fn load(shared: &Shared, job: &Job) -> Result<Incident, StepError> {
    let id = job
        .incident_id
        .ok_or_else(|| StepError::Invalid(format!("job {} names no incident", job.id)))?;
    shared
        .store
        .incident(id)
        .await?
        .ok_or_else(|| StepError::Invalid(format!("incident {id} does not exist")))
}

async fn create_channel(
    shared: &Shared,
    incident: &Incident,
    now: DateTime<Utc>,
) -> Result<Outcome, StepError> {
    if incident.channel_id.is_some() {
        return Ok(Outcome::default());
    }
    let prefix = &shared.settings.channel_prefix;
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
        match shared.slack.create_channel(&name, incident.private).await {
            Ok(channel) => return Ok(channel_ready(shared, incident, channel, false, now)),
            Err(SlackError::Api { code }) if code == "name_taken" => {
                if requested_before && let Some(channel) = adoptable(shared, &name).await? {
                    return Ok(channel_ready(shared, incident, channel, true, now));
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(SlackError::Api {
        code: "name_taken".into(),
    }
    .into())
}

/// The channel called `name`, if it is one this bot created for an incident that never recorded
/// it (the answer to `conversations.create` was lost).
async fn adoptable(shared: &Shared, name: &str) -> Result<Option<ChannelRef>, StepError> {
    let Some(channel) = shared.slack.find_channel(name).await? else {
        return Ok(None);
    };
    if channel.creator.as_deref() != Some(shared.bot.user_id.as_str()) {
        return Ok(None);
    }
    if shared
        .store
        .incident_for_channel(&channel.id)
        .await?
        .is_some()
    {
        return Ok(None);
    }
    Ok(Some(channel))
}

fn channel_ready(
    shared: &Shared,
    incident: &Incident,
    channel: ChannelRef,
    adopted: bool,
    now: DateTime<Utc>,
) -> Outcome {
    let mut users: Vec<String> = vec![incident.declared_by.clone()];
    for (_, user) in &incident.roles {
        if !users.contains(user) {
            users.push(user.clone());
        }
    }
    users.retain(|u| *u != shared.bot.user_id);
    let id = Some(incident.id);
    let mut follow_ups = vec![
        Step::Invite { users }.job(id, now),
        Step::SetTopic.job(id, now),
        Step::PostCard.job(id, now),
    ];
    if let (false, Some(announce)) = (incident.private, &shared.announce_channel) {
        follow_ups.push(
            Step::Announce {
                channel: announce.clone(),
            }
            .job(id, now),
        );
    }
    Outcome {
        events: vec![NewEvent {
            kind: TimelineKind::ChannelCreated,
            actor: None,
            data: json!({ "channel_id": channel.id, "name": channel.name, "adopted": adopted }),
        }],
        change: Some(IncidentChange::Channel {
            id: channel.id,
            name: channel.name,
        }),
        follow_ups,
    }
}

/// What to record, and whom to tell, when `step` failed for good with `error`.
pub(crate) async fn failure_outcome(
    shared: &Shared,
    job: &Job,
    step: &Step,
    error: &StepError,
) -> Outcome {
    if let Step::Report { .. } = step {
        return Outcome::default();
    }
    let Ok(incident) = load(shared, job).await else {
        return Outcome::default();
    };
    let reason = match error {
        StepError::Slack(SlackError::Api { code }) => code.clone(),
        other => other.to_string(),
    };
    let now = shared.clock.now();
    let report = match (step, &incident.channel_id) {
        (Step::CreateChannel { response_url }, _) => {
            response_url.as_ref().map(|url| Step::Report {
                to: ReportTo::ResponseUrl { url: url.clone() },
                text: message::channel_failed(&incident, &reason),
            })
        }
        (_, Some(channel)) => Some(Step::Report {
            to: ReportTo::Channel {
                id: channel.clone(),
            },
            text: message::step_failed(&incident, &step.description(), &reason),
        }),
        (_, None) => None,
    };
    Outcome {
        change: None,
        follow_ups: report
            .map(|r| r.job(Some(incident.id), now))
            .into_iter()
            .collect(),
        events: vec![NewEvent {
            kind: TimelineKind::StepFailed,
            actor: None,
            data: json!({ "step": step.kind(), "error": reason }),
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_round_trip_through_their_payloads() {
        let steps = [
            Step::CreateChannel {
                response_url: Some("https://hooks.slack.com/x".into()),
            },
            Step::Invite {
                users: vec!["U1".into()],
            },
            Step::SetTopic,
            Step::PostCard,
            Step::PinCard { ts: "1.2".into() },
            Step::Announce {
                channel: "C1".into(),
            },
            Step::Report {
                to: ReportTo::Channel { id: "C1".into() },
                text: "t".into(),
            },
        ];
        let now = DateTime::from_timestamp(0, 0).expect("time");
        for step in steps {
            let job = step.job(Some(7), now);
            assert_eq!(job.kind, step.kind());
            assert_eq!(job.payload["step"], step.kind());
            let back: Step = serde_json::from_value(job.payload).expect("payload");
            assert_eq!(back, step);
        }
        assert_eq!(
            Step::SetTopic.job(Some(7), now).key.as_deref(),
            Some("incident:7:set_topic")
        );
        assert_eq!(Step::SetTopic.job(None, now).key, None);
    }
}
