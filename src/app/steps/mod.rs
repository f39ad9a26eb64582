//! Every piece of Slack work the bot does, as durable job [`Step`]s — **this file is the list**;
//! each family of steps lives in a file of its own with its execution, its description and its
//! failure wording:
//!
//! | file | steps |
//! |---|---|
//! | [`saga`] | `create_channel`, `invite`, `invite_group`, `source_reply`: the channel and what follows it |
//! | [`sync`] | `sync_topic`, `sync_card`, `pin_card`, `sync_announcement`, `edit`: what mirrors the incident |
//! | [`posts`] | `post`, `thread_reply`, `report`: messages, each posted once |
//! | [`reminders`] | `reminder`, `nudge`, `digest`: the scheduled ones |
//! | [`postmortem`] | `postmortem`: the draft written, saved and uploaded |
//! | [`pagerduty`] | `page`, `resolve_pages`: on-call called and released through PagerDuty |
//! | [`statuspage`] | `publish_status`, `offer_status_resolve`: the public incident created or updated |
//! | [`webhooks`] | `webhook`: one timeline event sent to one of `WEBHOOK_URLS` |
//! | [`rules`] | `match_rules`, `apply_rule`: the rules of `RULES_FILE`, each applied once per incident |
//! | [`tickets`] | `file_ticket`, `poll_tickets`: follow-ups filed in the tracker once, and its news asked for |
//! | [`aftercare`] | `postmortem_reminder`, `archive_check`, `archive_channel`: after the incident |
//! | [`reports`] | what a step that failed for good leaves on the timeline, and who is told |
//!
//! A declaration starts a saga; every later change enqueues the steps its effects ask for:
//! ```text
//! declare (one transaction, before the ack) ──► create_channel ──┬─► invite
//!                                                                ├─► sync_topic
//!                                                                ├─► sync_card ──► pin_card
//!                                                                └─► sync_announcement (public)
//! a change (one transaction, before the ack) ──► post, thread_reply, invite, invite_group,
//!                                                 sync_topic, sync_card, sync_announcement
//! ```
//! Each step is a job row keyed by what caused it ([`JobKey`]); completing a step records what it
//! learned from Slack (the channel id, the card's ts, …) and enqueues the next steps in the same
//! transaction, so a crash anywhere leaves either the step to redo or its successors to run.
//! **Every step is idempotent**; each family's file says why (its header). In short: channel
//! creation adopts its own lost channel, invites and pins take "already" for done, the `sync_*`
//! steps render the current state and coalesce per incident, and every message and file the bot
//! posts carries its job's key so that an attempt after an unknown outcome finds it instead of
//! posting again.
//!
//! A step that fails for good is reported where the user will see it ([`reports`]).

mod aftercare;
mod pagerduty;
mod postmortem;
mod posts;
mod reminders;
mod reports;
pub(crate) mod rules;
mod saga;
mod statuspage;
mod sync;
pub(crate) mod tickets;
pub(crate) mod webhooks;

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Shared;
use crate::domain::Incident;
use crate::domain::cause::{Caused, IncidentRef, JobKey, PerIncident};
use crate::domain::message::Message;
use crate::store::{Dedupe, Job, NewJob, Outcome};

pub(crate) use postmortem::request as request_postmortem;
pub(crate) use reminders::{next_digest_job, nudge_job, owed_reminder, reminder_job};
pub(crate) use reports::{failure_outcome, tell};
pub(crate) use saga::opening_jobs;

/// One durable unit of Slack work, stored as a job's JSON payload (tag `step`). Variants are
/// never renamed: pending jobs of an older version must still read (hence the aliases).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// Create (or, after a crash, adopt) the incident channel.
    CreateChannel {
        /// Where to tell the declarer if the channel cannot be created.
        response_url: Option<String>,
        /// `/inc adopt`: make this existing channel the incident's instead of creating one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        adopt: Option<String>,
    },
    Invite {
        users: Vec<String>,
    },
    /// Invite every member of a user group.
    InviteGroup {
        group: String,
    },
    /// Bring the channel topic up to date.
    #[serde(alias = "set_topic")]
    SyncTopic,
    /// Post the incident card, or bring it up to date in place.
    #[serde(alias = "post_card")]
    SyncCard {
        /// The incident channel: the card keeps its place among the channel's posts.
        #[serde(default)]
        channel: Option<String>,
    },
    PinCard {
        ts: String,
    },
    /// Post the announcement in `channel`, or bring it up to date in place.
    #[serde(alias = "announce")]
    SyncAnnouncement {
        channel: String,
    },
    /// Post `message` in `channel`.
    Post {
        channel: String,
        message: Message,
    },
    /// Reply in the announcement's thread (`channel` is the announce channel). Nothing is posted
    /// if the incident was never announced.
    ThreadReply {
        channel: String,
        message: Message,
    },
    /// Replace the bot's message `ts` in `channel` (the call for a coordinator, once answered).
    Edit {
        channel: String,
        ts: String,
        message: Message,
    },
    /// Reply in the thread of the message the incident was declared from, linking the incident
    /// channel. The bot joins the source's (public) channel first if it is not in it.
    SourceReply {
        channel: String,
        ts: String,
    },
    /// Remind the incident's team to post an update, when one is due; then wait for the next.
    /// One pending job per incident, re-armed by every change that moves the due time.
    Reminder,
    /// Say, once, that nobody coordinates (ten minutes after the declaration).
    Nudge,
    /// Post the digest due at `slot` (unix milliseconds), then wait for the next slot.
    Digest {
        slot: i64,
        /// Whose: `""` (the deployment's own workspace; every digest before there were others)
        /// or an installation's team id.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        workspace: String,
    },
    /// Write the postmortem draft, save it as the next version, upload it to the channel and
    /// record the export. `response_url` is where to tell `by` if the upload fails for good.
    Postmortem {
        by: String,
        #[serde(default)]
        response_url: Option<String>,
    },
    /// Tell someone something: that a step failed for good, or an answer to a click.
    Report {
        to: ReportTo,
        text: String,
    },
    /// Page the on-call of a PagerDuty service (`message`: what the pager said, if anything).
    /// `announce_by`: the page was asked for where no change records it (the Declare modal's
    /// "Page on-call"): once sent, it goes on the timeline and is said in the channel as by them.
    /// `rule`: a rule of `RULES_FILE` asked for it, and it is told so.
    Page {
        service: String,
        #[serde(default)]
        message: Option<String>,
        #[serde(default)]
        announce_by: Option<String>,
        #[serde(default)]
        rule: Option<String>,
    },
    /// Resolve in PagerDuty every page of the incident that is not resolved there.
    ResolvePages,
    /// Publish the status-page form as `by` submitted it: create the public incident, or
    /// update the one the incident has.
    PublishStatus {
        by: String,
        publication: crate::domain::outside::Publication,
    },
    /// Offer, in the incident channel, to resolve the public incident too — if it has one that
    /// the status page does not show as resolved.
    OfferStatusResolve,
    /// Send one timeline event (`change`, by `actor` at `at`) to `url`, as event `id`.
    Webhook {
        url: String,
        id: String,
        kind: String,
        at: DateTime<Utc>,
        #[serde(default)]
        actor: Option<String>,
        change: crate::domain::Entry,
    },
    /// Check the rules of `RULES_FILE` against the incident as it is now, and apply each that
    /// matches and was not applied to it before.
    MatchRules,
    /// Apply rule `rule` to the incident: its actions, each once.
    ApplyRule {
        rule: String,
    },
    /// File the follow-up recorded at `followup` (unix milliseconds) as a ticket in the
    /// tracker, unless it has one.
    FileTicket {
        followup: i64,
    },
    /// Ask the tracker about the incident's open tickets, then wait for the next poll while
    /// some are open (only without the tracker's webhook secret).
    PollTickets,
    /// Remind the postmortem's owner when a reminder is due, then wait for the next (one
    /// pending job per incident, re-armed by every change that moves the deadline or owner).
    PostmortemReminder,
    /// A day before the channel is due to be archived, say so; when due, archive it if its
    /// postmortem is done, else look again a day later (one pending job per incident).
    ArchiveCheck,
    /// Archive the incident channel now (`/inc archive`).
    ArchiveChannel {
        channel: String,
    },
}

/// Where a [`Step::Report`] goes.
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
            Step::InviteGroup { .. } => "invite_group",
            Step::SyncTopic => "sync_topic",
            Step::SyncCard { .. } => "sync_card",
            Step::PinCard { .. } => "pin_card",
            Step::SyncAnnouncement { .. } => "sync_announcement",
            Step::Post { .. } => "post",
            Step::ThreadReply { .. } => "thread_reply",
            Step::Edit { .. } => "edit",
            Step::SourceReply { .. } => "source_reply",
            Step::Reminder => "reminder",
            Step::Nudge => "nudge",
            Step::Digest { .. } => "digest",
            Step::Postmortem { .. } => "postmortem",
            Step::Report { .. } => "report",
            Step::Page { .. } => "page",
            Step::ResolvePages => "resolve_pages",
            Step::PublishStatus { .. } => "publish_status",
            Step::OfferStatusResolve => "offer_status_resolve",
            Step::Webhook { .. } => "webhook",
            Step::MatchRules => "match_rules",
            Step::ApplyRule { .. } => "apply_rule",
            Step::FileTicket { .. } => "file_ticket",
            Step::PollTickets => "poll_tickets",
            Step::PostmortemReminder => "postmortem_reminder",
            Step::ArchiveCheck => "archive_check",
            Step::ArchiveChannel { .. } => "archive_channel",
        }
    }

    /// How many attempts a step gets before it is reported as failed. A webhook's receiver
    /// may be down for a while: its sends are retried for about a day (the backoff is capped at
    /// five minutes), the rest give up after about 20 minutes.
    pub fn max_attempts(&self) -> i64 {
        match self {
            Step::Webhook { .. } => 300,
            _ => 12,
        }
    }

    /// The job that runs this step for `incident`, asked for by `by`, due at `at`. Its key
    /// names its cause, so the same cause never enqueues a step twice; work kept once per
    /// incident (the `sync_*` steps, the reminder, the nudge) and the digest are keyed on their
    /// own. Posts get their channel's lane.
    pub fn job(&self, incident: IncidentRef, by: &Caused, at: DateTime<Utc>) -> NewJob {
        self.build(incident, Some(by), at)
    }

    /// The job of a step whose key names no cause, for `incident`, due at `at`: the scheduled
    /// ones (the reminder and the nudge, once per incident; the one digest) and a report (not
    /// keyed: it tells, it changes nothing).
    pub fn uncaused(&self, incident: IncidentRef, at: DateTime<Utc>) -> NewJob {
        self.build(incident, None, at)
    }

    fn build(&self, incident: IncidentRef, by: Option<&Caused>, at: DateTime<Utc>) -> NewJob {
        let per_incident = |work| JobKey::Incident { incident, work };
        let (key, dedupe) = match self {
            Step::SyncTopic => (Some(per_incident(PerIncident::SyncTopic)), Dedupe::Rerun),
            Step::SyncCard { .. } => (Some(per_incident(PerIncident::SyncCard)), Dedupe::Rerun),
            Step::SyncAnnouncement { .. } => (
                Some(per_incident(PerIncident::SyncAnnouncement)),
                Dedupe::Rerun,
            ),
            Step::Reminder => (Some(per_incident(PerIncident::Reminder)), Dedupe::Replace),
            Step::Nudge => (Some(per_incident(PerIncident::Nudge)), Dedupe::Keep),
            Step::Digest { workspace, .. } => (
                Some(JobKey::Digest {
                    workspace: workspace.clone(),
                }),
                Dedupe::Keep,
            ),
            Step::PollTickets => (Some(per_incident(PerIncident::PollTickets)), Dedupe::Keep),
            Step::PostmortemReminder => (
                Some(per_incident(PerIncident::PostmortemReminder)),
                Dedupe::Replace,
            ),
            Step::ArchiveCheck => (
                Some(per_incident(PerIncident::ArchiveCheck)),
                Dedupe::Replace,
            ),
            Step::ApplyRule { rule } => (
                Some(JobKey::Rule {
                    incident,
                    rule: rule.clone(),
                }),
                Dedupe::Once,
            ),
            Step::Report { .. } => (None, Dedupe::Keep),
            _ => (
                by.map(|by| JobKey::Step {
                    by: by.clone(),
                    step: self.kind(),
                }),
                Dedupe::Keep,
            ),
        };
        let lane = match self {
            Step::Post { channel, .. }
            | Step::ThreadReply { channel, .. }
            | Step::SourceReply { channel, .. }
            | Step::SyncAnnouncement { channel }
            | Step::SyncCard {
                channel: Some(channel),
            }
            // Archived after what was queued for the channel before it, which it would refuse.
            | Step::ArchiveChannel { channel } => Some(format!("channel:{channel}")),
            // One receiver's events in the order they happened, and only its own held back.
            Step::Webhook { url, .. } => Some(format!("webhook:{url}")),
            // One publication at a time: the first creates the public incident, the next finds
            // it; two forms submitted together never create two.
            Step::PublishStatus { .. } => match incident {
                IncidentRef::Id(id) => Some(format!("statuspage:{id}")),
                IncidentRef::New => None,
            },
            // Follow-ups filed in the order they were recorded: their tickets number alike.
            Step::FileTicket { .. } => match incident {
                IncidentRef::Id(id) => Some(format!("tracker:{id}")),
                IncidentRef::New => None,
            },
            // Pages and their resolve in the order asked: a resolve runs after the pages queued
            // before it.
            Step::Page { .. } | Step::ResolvePages => match incident {
                IncidentRef::Id(id) => Some(format!("pagerduty:{id}")),
                IncidentRef::New => None,
            },
            _ => None,
        };
        NewJob {
            kind: self.kind().to_string(),
            key,
            dedupe,
            lane,
            payload: serde_json::to_value(self).unwrap_or_default(),
            run_at: at,
        }
    }

    /// The key of a step kept once per incident (the reminders, the archive check), to cancel
    /// it; `None` for a step keyed by its cause.
    pub fn per_incident_key(&self, incident: IncidentRef) -> Option<JobKey> {
        match self.build(incident, None, DateTime::<Utc>::UNIX_EPOCH).key {
            Some(key @ JobKey::Incident { .. }) => Some(key),
            _ => None,
        }
    }

    /// What the step does, for failure reports — each family words its own.
    fn description(&self) -> String {
        saga::description(self)
            .or_else(|| sync::description(self))
            .or_else(|| posts::description(self))
            .or_else(|| reminders::description(self))
            .or_else(|| postmortem::description(self))
            .or_else(|| pagerduty::description(self))
            .or_else(|| statuspage::description(self))
            .or_else(|| webhooks::description(self))
            .or_else(|| rules::description(self))
            .or_else(|| tickets::description(self))
            .or_else(|| aftercare::description(self))
            .unwrap_or_else(|| self.kind().replace('_', " "))
    }
}

/// Why a step did not finish — in words any outside system's failure fits: it may succeed
/// later, or it will fail the same way again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum StepError {
    /// Worth another try (a timeout, an answer lost, a 5xx or 429, the database); `retry_after`
    /// is how long the other side asked us to wait.
    #[error("{reason}")]
    Transient {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// Will fail the same way again: reported, not retried. `reason` is what the other side
    /// said (Slack's error code) or what is wrong.
    #[error("{reason}")]
    Permanent { reason: String },
}

impl StepError {
    pub(crate) fn permanent(reason: impl Into<String>) -> StepError {
        StepError::Permanent {
            reason: reason.into(),
        }
    }

    pub(crate) fn is_transient(&self) -> bool {
        matches!(self, StepError::Transient { .. })
    }

    pub(crate) fn retry_after(&self) -> Option<Duration> {
        match self {
            StepError::Transient { retry_after, .. } => *retry_after,
            StepError::Permanent { .. } => None,
        }
    }
}

impl From<crate::slack::SlackError> for StepError {
    fn from(e: crate::slack::SlackError) -> StepError {
        match e.is_transient() {
            true => StepError::Transient {
                retry_after: e.retry_after(),
                reason: e.to_string(),
            },
            false => StepError::permanent(e.to_string()),
        }
    }
}

impl From<crate::outside::OutsideError> for StepError {
    fn from(e: crate::outside::OutsideError) -> StepError {
        match e {
            crate::outside::OutsideError::Transient { retry_after, .. } => StepError::Transient {
                reason: e.to_string(),
                retry_after,
            },
            crate::outside::OutsideError::Permanent { .. } => StepError::permanent(e.to_string()),
        }
    }
}

impl From<crate::store::StoreError> for StepError {
    fn from(e: crate::store::StoreError) -> StepError {
        StepError::Transient {
            reason: e.to_string(),
            retry_after: None,
        }
    }
}

/// Runs `step` of `job` and says what it achieved.
pub(crate) async fn execute(shared: &Shared, job: &Job, step: &Step) -> Result<Outcome, StepError> {
    match step {
        Step::CreateChannel { .. }
        | Step::Invite { .. }
        | Step::InviteGroup { .. }
        | Step::SourceReply { .. } => saga::execute(shared, job, step).await,
        Step::SyncTopic
        | Step::SyncCard { .. }
        | Step::PinCard { .. }
        | Step::SyncAnnouncement { .. }
        | Step::Edit { .. } => sync::execute(shared, job, step).await,
        Step::Post { .. } | Step::ThreadReply { .. } | Step::Report { .. } => {
            posts::execute(shared, job, step).await
        }
        Step::Reminder | Step::Nudge | Step::Digest { .. } => {
            reminders::execute(shared, job, step).await
        }
        Step::Postmortem { by, .. } => postmortem::export(shared, job, by).await,
        Step::Page { .. } | Step::ResolvePages => pagerduty::execute(shared, job, step).await,
        Step::PublishStatus { .. } | Step::OfferStatusResolve => {
            statuspage::execute(shared, job, step).await
        }
        Step::Webhook { .. } => webhooks::execute(shared, job, step).await,
        Step::MatchRules | Step::ApplyRule { .. } => rules::execute(shared, job, step).await,
        Step::FileTicket { .. } | Step::PollTickets => tickets::execute(shared, job, step).await,
        Step::PostmortemReminder | Step::ArchiveCheck | Step::ArchiveChannel { .. } => {
            aftercare::execute(shared, job, step).await
        }
    }
}

/// The job's incident.
async fn load(shared: &Shared, job: &Job) -> Result<Incident, StepError> {
    let id = job
        .incident_id
        .ok_or_else(|| StepError::permanent(format!("job {} names no incident", job.id)))?;
    shared
        .store
        .incident(id)
        .await?
        .ok_or_else(|| StepError::permanent(format!("incident {id} does not exist")))
}

/// The job's incident and its channel, for steps that act in the channel.
async fn load_with_channel(shared: &Shared, job: &Job) -> Result<(Incident, String), StepError> {
    let incident = load(shared, job).await?;
    let channel = incident.channel_id.clone().ok_or_else(|| {
        StepError::permanent(format!("{} has no channel yet", incident.reference()))
    })?;
    Ok((incident, channel))
}

#[cfg(test)]
mod tests;
