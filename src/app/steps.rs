//! Every piece of Slack work the bot does, as durable job [`Step`]s.
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
//! Each step is a job row; completing a step records what it learned from Slack (the channel id,
//! the card's ts, …) and enqueues the next steps in the same transaction, so a crash anywhere
//! leaves either the step to redo or its successors to run. Every step is idempotent:
//! - `create_channel` notes the name it is about to request; on `name_taken` for a name it had
//!   already requested (a retry after a crash or a lost answer) it adopts the channel if the bot
//!   created it and no incident owns it; any other `name_taken` moves on to `-2`, `-3`, ….
//! - `invite` and `invite_group` treat `already_in_channel` as done; `pin_card` treats
//!   `already_pinned` as done.
//! - The `sync_*` steps render the topic, the card or the announcement from the incident **as it
//!   is when they run**, and their job key is per incident, so changes arriving while one waits
//!   coalesce into one run, and a change arriving while one runs makes it run once more
//!   (the job's generation). `sync_card` and `sync_announcement` post their message the first
//!   time and edit it in place (`chat.update`) afterwards; the `ts` they learn is recorded even
//!   when the run was superseded, so the message is never posted twice.
//! - **Every message and file the bot posts appears once.** A post carries its job's key (the
//!   cause that enqueued it, `slash:<trigger_id>:0:post`; the reminder's and the digest's add
//!   their due time) in Slack message metadata. Any attempt after the first — a retry after a
//!   lost answer or a timeout, or a takeover after a crash between Slack's answer and our commit
//!   — first looks for that key in the channel's newest messages (`conversations.history`), or
//!   the thread's (`conversations.replies`), and adopts the post it finds. The postmortem file is
//!   found the same way by its title, which names the version only this job saves. Posts to one
//!   channel share a lane: they run in the order recorded, one at a time, about a second apart.
//! - An incident whose channel is created with nobody coordinating (one an alert opened) gets,
//!   when `COORDINATOR_GROUP` is set, one `post` pinging the group, keyed by the declaration
//!   (`declared:<id>:post`) and in the channel's lane after the card.
//!
//! A step that fails for good is reported where the user will see it: in the incident channel,
//! or — when there is no channel — ephemerally to the declarer through the command's response URL.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Shared;
use super::postmortem::{self, DraftError, Drafting};
use crate::domain::message::{self, Message};
use crate::domain::reminder::{self, Policy};
use crate::domain::source::SourceMessage;
use crate::domain::{Entry, Incident, IncidentId, NewIncident, mrkdwn, slug};
use crate::slack::{ChannelRef, SlackError};
use crate::store::{Dedupe, IncidentChange, Job, NEW_INCIDENT, NewJob, Outcome, StoreError};

/// How many names (`-2` … `-20`) to try before giving up on `name_taken`.
const MAX_NAME_ATTEMPTS: u32 = 20;

/// One durable unit of Slack work, stored as a job's JSON payload (tag `step`). Variants are
/// never renamed: pending jobs of an older version must still read (hence the aliases).
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
}

/// The job key of an incident's reminder (`incident` may be [`NEW_INCIDENT`]).
pub(crate) fn reminder_key(incident: impl std::fmt::Display) -> String {
    format!("incident:{incident}:reminder")
}

/// The reminder job for `incident` (or [`NEW_INCIDENT`]), due at `at`: it replaces a pending one
/// (the due time moved).
pub(crate) fn reminder_job(incident: impl std::fmt::Display, at: DateTime<Utc>) -> NewJob {
    NewJob {
        key: Some(reminder_key(incident)),
        ..Step::Reminder.job(0, "reminder", at)
    }
}

/// The reminder `incident` is owed now, for an open incident that may have none pending: one
/// declared by a version before reminders (migration 0005), or whose reminder ended for good. It
/// is kept out when one is pending already (every other incident), so arming it at every
/// startup, on any number of replicas, changes nothing else.
pub(crate) fn owed_reminder(reminders: &Policy, incident: &Incident) -> Option<NewJob> {
    let at = reminders.next_reminder(incident)?;
    Some(NewJob {
        dedupe: Dedupe::Keep,
        ..reminder_job(incident.id, at)
    })
}

/// The jobs a new incident starts with — its id is not known yet; the store fills it into their
/// keys: the channel's creation, caused by `cause` (the declaring payload, the alert), the
/// nudge, and the first update reminder (the declaration counts as the first update).
/// `response_url` is where to tell the declarer if the channel cannot be created.
pub(crate) fn opening_jobs(
    reminders: &Policy,
    incident: &NewIncident,
    cause: &str,
    response_url: Option<String>,
    now: DateTime<Utc>,
) -> Vec<NewJob> {
    let mut jobs = vec![
        Step::CreateChannel { response_url }.job(0, cause, now),
        nudge_job(incident.declared_at),
    ];
    let reminder = reminders.next_reminder(&incident.clone().stored(0, 0));
    jobs.extend(reminder.map(|at| reminder_job(NEW_INCIDENT, at)));
    jobs
}

/// The nudge for a new incident, ten minutes after its declaration.
pub(crate) fn nudge_job(declared_at: DateTime<Utc>) -> NewJob {
    NewJob {
        key: Some(format!("incident:{NEW_INCIDENT}:nudge")),
        run_at: declared_at + crate::domain::reminder::NUDGE_AFTER,
        ..Step::Nudge.job(0, "nudge", declared_at)
    }
}

/// The digest job for `slot`. There is only ever one pending (its key is fixed), so replicas
/// starting together, or a restart, never schedule a slot twice.
pub(crate) fn digest_job(slot: DateTime<Utc>) -> NewJob {
    let step = Step::Digest {
        slot: slot.timestamp_millis(),
    };
    NewJob {
        key: Some("digest".into()),
        ..step.job(0, "digest", slot)
    }
}

/// How much earlier than its time a reminder may run (clocks, rounding) before it waits.
const EARLY: chrono::Duration = chrono::Duration::seconds(1);
/// How far back the digest looks for resolved incidents still missing their postmortem.
const POSTMORTEM_WINDOW: chrono::Duration = chrono::Duration::days(30);

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
        }
    }

    /// A job running this step for `incident`, due at `now`. `cause` names what asked for it
    /// (`declared:7`, `slash:<trigger_id>:2`, `job:41`) and makes its key, so the same cause
    /// never enqueues a step twice; the `sync_*` steps are keyed per incident instead and
    /// coalesce. Posts get their channel's lane.
    pub fn job(&self, incident: IncidentId, cause: &str, now: DateTime<Utc>) -> NewJob {
        let (key, dedupe) = match self {
            Step::SyncTopic | Step::SyncCard { .. } | Step::SyncAnnouncement { .. } => (
                Some(format!("incident:{incident}:{}", self.kind())),
                Dedupe::Rerun,
            ),
            Step::Reminder => (Some(reminder_key(incident)), Dedupe::Replace),
            Step::Nudge => (Some(format!("incident:{incident}:nudge")), Dedupe::Keep),
            Step::Report { .. } => (None, Dedupe::Keep),
            _ => (Some(format!("{cause}:{}", self.kind())), Dedupe::Keep),
        };
        let lane = match self {
            Step::Post { channel, .. }
            | Step::ThreadReply { channel, .. }
            | Step::SourceReply { channel, .. }
            | Step::SyncAnnouncement { channel }
            | Step::SyncCard {
                channel: Some(channel),
            } => Some(format!("channel:{channel}")),
            _ => None,
        };
        NewJob {
            kind: self.kind().to_string(),
            key,
            dedupe,
            lane,
            payload: serde_json::to_value(self).unwrap_or_default(),
            run_at: now,
        }
    }

    /// What the step does, for failure reports.
    fn description(&self) -> String {
        match self {
            Step::CreateChannel { .. } => "Creating the channel".into(),
            Step::Invite { .. } => "Inviting people".into(),
            Step::InviteGroup { group } => format!("Inviting {}", mrkdwn::group(group)),
            Step::SyncTopic => "Setting the channel topic".into(),
            Step::SyncCard { .. } => "Posting the incident card".into(),
            Step::PinCard { .. } => "Pinning the incident card".into(),
            Step::SyncAnnouncement { channel } => {
                format!("Announcing in {}", mrkdwn::channel(channel))
            }
            Step::Post { .. } => "Posting a message".into(),
            Step::ThreadReply { channel, .. } => {
                format!(
                    "Replying in the announcement's thread in {}",
                    mrkdwn::channel(channel)
                )
            }
            Step::Edit { .. } => "Editing a message".into(),
            Step::SourceReply { channel, .. } => format!(
                "Replying to the message the incident came from in {}",
                mrkdwn::channel(channel)
            ),
            Step::Reminder => "Posting the update reminder".into(),
            Step::Nudge => "Saying nobody coordinates".into(),
            Step::Digest { .. } => "Posting the digest".into(),
            Step::Postmortem { .. } => "Posting the postmortem draft".into(),
            Step::Report { .. } => "Telling someone".into(),
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

impl From<DraftError> for StepError {
    fn from(e: DraftError) -> StepError {
        match e {
            DraftError::Store(e) => StepError::Store(e),
            DraftError::Slack(e) => StepError::Slack(e),
            template @ DraftError::Template(_) => StepError::Invalid(template.to_string()),
        }
    }
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
    let cause = format!("job:{}", job.id);
    let key = post_key(job);
    match step {
        Step::Report { to, text } => {
            match to {
                ReportTo::Channel { id } => {
                    post_once(shared, job, id, None, &Message::text(text), &key).await?;
                }
                // Seen by one person only and not readable back: a lost answer may repeat it.
                ReportTo::ResponseUrl { url } => slack.respond(url, text).await?,
            }
            Ok(Outcome::default())
        }
        Step::CreateChannel { response_url } => {
            let incident = load(shared, job).await?;
            create_channel(shared, &incident, response_url.clone(), now).await
        }
        Step::Invite { users } => {
            let (_, channel) = load_with_channel(shared, job).await?;
            invite(shared, &channel, users).await?;
            Ok(Outcome::default())
        }
        Step::InviteGroup { group } => {
            let (_, channel) = load_with_channel(shared, job).await?;
            let members = slack.usergroup_members(group).await?;
            invite(shared, &channel, &members).await?;
            Ok(Outcome::default())
        }
        Step::SyncTopic => {
            let (incident, channel) = load_with_channel(shared, job).await?;
            slack
                .set_topic(&channel, &message::topic(&incident))
                .await?;
            Ok(Outcome::default())
        }
        Step::SyncCard { .. } => {
            let (incident, channel) = load_with_channel(shared, job).await?;
            let due = shared.settings.reminders.update_due(&incident);
            let card = message::incident_card(&incident, due);
            if let Some(ts) = &incident.card_ts {
                slack.update(&channel, ts, &card).await?;
                return Ok(Outcome::default());
            }
            let ts = post_once(shared, job, &channel, None, &card, &key).await?;
            Ok(Outcome {
                follow_ups: vec![Step::PinCard { ts: ts.clone() }.job(incident.id, &cause, now)],
                change: Some(IncidentChange::CardPosted { ts }),
                ..Outcome::default()
            })
        }
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
        Step::Post { channel, message } => {
            post_once(shared, job, channel, None, message, &key).await?;
            Ok(Outcome::default())
        }
        Step::Edit {
            channel,
            ts,
            message,
        } => {
            slack.update(channel, ts, message).await?;
            Ok(Outcome::default())
        }
        Step::SourceReply { channel, ts } => {
            let incident = load(shared, job).await?;
            let reply = message::source_reply(&incident);
            match post_once(shared, job, channel, Some(ts), &reply, &key).await {
                Err(SlackError::Api { code }) if code == "not_in_channel" => {
                    // Alerts land in channels the bot was never invited to; it joins to reply.
                    slack.join(channel).await?;
                    post_once(shared, job, channel, Some(ts), &reply, &key).await?;
                }
                other => {
                    other?;
                }
            }
            Ok(Outcome::default())
        }
        Step::Reminder => remind(shared, job, now).await,
        Step::Postmortem { by, .. } => export_postmortem(shared, job, by, now).await,
        Step::Nudge => {
            let incident = load(shared, job).await?;
            let Some(channel) = incident.channel_id.clone() else {
                return Ok(Outcome::default());
            };
            if !reminder::nudge_wanted(&incident) {
                return Ok(Outcome::default());
            }
            let group = shared.settings.coordinator_group.as_deref();
            let nudge = message::nudge_post(&incident, group);
            post_once(shared, job, &channel, None, &nudge, &key).await?;
            Ok(Outcome {
                events: vec![Entry::Nudged {}],
                ..Outcome::default()
            })
        }
        Step::Digest { slot } => {
            let slot = DateTime::<Utc>::from_timestamp_millis(*slot).unwrap_or(now);
            let Some(digest) = &shared.settings.digest else {
                // DIGEST_CRON was emptied since this slot was scheduled.
                return Ok(Outcome::default());
            };
            let (schedule, tz) = (&digest.schedule, shared.settings.tz);
            if reminder::digest_slot_current(schedule, tz, slot)
                && let Some(channel) = &shared.announce_channel
            {
                let open = shared.store.open_incidents().await?;
                let waiting = shared
                    .store
                    .awaiting_postmortem(now - POSTMORTEM_WINDOW)
                    .await?;
                // One job key serves every slot: the slot tells this digest apart.
                let digest = message::digest(&open, &waiting, now);
                let key = format!("{key}:{}", slot.timestamp_millis());
                post_once(shared, job, channel, None, &digest, &key).await?;
            }
            Ok(Outcome {
                follow_ups: reminder::digest_after(schedule, tz, slot, now)
                    .map(digest_job)
                    .into_iter()
                    .collect(),
                ..Outcome::default()
            })
        }
        Step::ThreadReply { message, .. } => {
            // The announcement was posted earlier in the same lane, if it was posted at all.
            let incident = load(shared, job).await?;
            if let (Some(channel), Some(ts)) =
                (&incident.announcement_channel, &incident.announcement_ts)
            {
                post_once(shared, job, channel, Some(ts), message, &key).await?;
            }
            Ok(Outcome::default())
        }
    }
}

/// Renders the draft, saves it (a retry saves over its own version), uploads it and records
/// the export. An incident without a channel gets its draft saved, for the CLI, and nothing more.
async fn export_postmortem(
    shared: &Shared,
    job: &Job,
    by: &str,
    now: DateTime<Utc>,
) -> Result<Outcome, StepError> {
    let incident = load(shared, job).await?;
    let with = Drafting {
        store: &shared.store,
        slack: Some(&shared.slack),
        template: &shared.settings.postmortem_template,
        tz: shared.settings.tz,
    };
    let draft = postmortem::draft(&with, &incident, now).await?;
    // The job's id stays the same across its retries: a retry saves over its own version.
    let version = shared
        .store
        .save_postmortem(
            incident.id,
            &format!("job:{}", job.id),
            &draft.markdown,
            Some(by),
            now,
        )
        .await?;
    let file = match &incident.channel_id {
        Some(channel) => {
            // The title names the version, which this job alone saves: a second attempt finds
            // the file an attempt whose answer was lost shared, and adopts it.
            let title = format!(
                "{} postmortem draft (version {version})",
                incident.reference()
            );
            let shared_before = match job.attempt > 1 {
                true => shared.slack.find_file(channel, &title).await?,
                false => None,
            };
            Some(match shared_before {
                Some(file) => file,
                None => {
                    shared
                        .slack
                        .upload(
                            channel,
                            &postmortem::file_name(&incident),
                            &title,
                            draft.markdown.as_bytes(),
                            &postmortem::upload_comment(&incident, version),
                        )
                        .await?
                }
            })
        }
        None => None,
    };
    Ok(Outcome {
        events: vec![Entry::PostmortemExported { version, file }],
        ..Outcome::default()
    })
}

/// The update reminder: posted when due (once per due time, even across a takeover), then
/// rescheduled an interval on; a re-armed reminder (an update arrived) is never posted stale.
async fn remind(shared: &Shared, job: &Job, now: DateTime<Utc>) -> Result<Outcome, StepError> {
    let incident = load(shared, job).await?;
    let policy = &shared.settings.reminders;
    let (Some(due), Some(channel)) = (policy.next_reminder(&incident), &incident.channel_id) else {
        // Resolved, declined, reminders off, or no channel: nothing is owed.
        return Ok(Outcome::default());
    };
    if due > now + EARLY {
        return Ok(Outcome {
            reschedule: Some(due),
            ..Outcome::default()
        });
    }
    // One job key serves every due time: the due time tells this reminder apart.
    let key = format!("{}:{}", post_key(job), due.timestamp_millis());
    // A second attempt (a retry, or a takeover after a crash) may find it posted already.
    let posted = job.attempt > 1 && find_post(shared, channel, None, &key).await?.is_some();
    let late = now - due;
    if !posted {
        // The last look before an irreversible post: an update that re-armed the reminder (or a
        // resolution that cancelled it) since the claim wins.
        if !shared.store.job_is_current(job).await? {
            return Ok(Outcome::default());
        }
        let shown_late = (late > crate::domain::reminder::LATE).then_some(late);
        let post = message::reminder_post(&incident, now - incident.last_update_at, shown_late);
        shared.slack.post(channel, None, &post, &key).await?;
        if shown_late.is_some() {
            tracing::warn!(late_s = late.num_seconds(), "reminder posted late");
        } else {
            tracing::info!(late_ms = late.num_milliseconds(), "reminder posted");
        }
        let seconds = late.num_milliseconds().max(0) as f64 / 1000.0;
        let lateness = "incident_commander_reminder_lateness_seconds";
        shared.metrics.observe(lateness, &[], seconds);
        shared
            .metrics
            .count("incident_commander_reminders_sent_total", &[]);
    }
    let mut reminded = incident.clone();
    reminded.last_reminded_at = Some(now);
    Ok(Outcome {
        change: Some(IncidentChange::Reminded { at: now }),
        events: vec![Entry::Reminded {
            late_ms: late.num_milliseconds().max(0),
        }],
        // The card shows when the update is due, which a reminder does not move: no card edit.
        reschedule: policy.next_reminder(&reminded),
        ..Outcome::default()
    })
}

/// The key a job's posts carry in their metadata: the job's own key (its cause), else its id.
fn post_key(job: &Job) -> String {
    job.key.clone().unwrap_or_else(|| format!("job:{}", job.id))
}

/// Posts `message` in `channel` (in the thread of `thread` when given) once: the post carries
/// `key`, and a step run again after an attempt whose outcome is unknown (a lost answer, a
/// timeout, a crash before the commit — any attempt after the first) first looks for it and
/// adopts it.
async fn post_once(
    shared: &Shared,
    job: &Job,
    channel: &str,
    thread: Option<&str>,
    message: &Message,
    key: &str,
) -> Result<String, SlackError> {
    if job.attempt > 1
        && let Some(ts) = find_post(shared, channel, thread, key).await?
    {
        tracing::info!(
            job.key = key,
            "an earlier attempt's post is there; adopted, not repeated"
        );
        return Ok(ts);
    }
    shared.slack.post(channel, thread, message, key).await
}

/// The bot's post carrying `key` in `channel` (or its thread `thread`). A channel the bot is
/// not in holds no post of its own.
async fn find_post(
    shared: &Shared,
    channel: &str,
    thread: Option<&str>,
    key: &str,
) -> Result<Option<String>, SlackError> {
    match shared.slack.find_post(channel, thread, key).await {
        Err(SlackError::Api { code }) if code == "not_in_channel" => Ok(None),
        other => other,
    }
}

/// Invites `users` to `channel`, leaving out the bot itself (Slack refuses to invite it).
async fn invite(shared: &Shared, channel: &str, users: &[String]) -> Result<(), SlackError> {
    let users: Vec<String> = users
        .iter()
        .filter(|u| **u != shared.bot.user_id)
        .cloned()
        .collect();
    shared.slack.invite(channel, &users).await
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
    response_url: Option<String>,
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
        let created = match shared.slack.create_channel(&name, incident.private).await {
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
    let id = incident.id;
    let cause = format!("declared:{id}");
    let mut follow_ups = vec![
        Step::Invite { users }.job(id, &cause, now),
        Step::SyncTopic.job(id, &cause, now),
        Step::SyncCard {
            channel: Some(channel.id.clone()),
        }
        .job(id, &cause, now),
    ];
    if let (false, Some(announce)) = (incident.private, &shared.announce_channel) {
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
            .job(id, &format!("{cause}:source"), now),
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
        &shared.settings.coordinator_group,
    ) {
        follow_ups.push(
            Step::Post {
                channel: channel.id.clone(),
                message: message::coordinator_wanted(incident, group),
            }
            .job(id, &format!("{cause}:coordinator"), now),
        );
    }
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
        reschedule: None,
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
        (Step::Postmortem { response_url, .. }, channel) => {
            let saved = shared
                .store
                .latest_postmortem_version(incident.id)
                .await
                .ok()
                .flatten();
            let text = message::postmortem_failed(&incident, &reason, saved);
            match (response_url, channel) {
                (Some(url), _) => Some(ReportTo::ResponseUrl { url: url.clone() }),
                (None, Some(id)) => Some(ReportTo::Channel { id: id.clone() }),
                (None, None) => None,
            }
            .map(|to| Step::Report { to, text })
        }
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
            .map(|r| r.job(incident.id, &format!("job:{}", job.id), now))
            .into_iter()
            .collect(),
        events: vec![Entry::StepFailed {
            step: step.kind().to_string(),
            error: reason,
        }],
        reschedule: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn steps_round_trip_through_their_payloads() {
        let steps = [
            Step::CreateChannel {
                response_url: Some("https://hooks.slack.com/x".into()),
            },
            Step::Invite {
                users: vec!["U1".into()],
            },
            Step::InviteGroup { group: "S1".into() },
            Step::SyncTopic,
            Step::SyncCard {
                channel: Some("C1".into()),
            },
            Step::PinCard { ts: "1.2".into() },
            Step::SyncAnnouncement {
                channel: "C1".into(),
            },
            Step::Post {
                channel: "C1".into(),
                message: Message::text("hi"),
            },
            Step::ThreadReply {
                channel: "C2".into(),
                message: Message::text("hi"),
            },
            Step::Reminder,
            Step::Nudge,
            Step::Digest {
                slot: 1_800_000_000_000,
            },
            Step::Report {
                to: ReportTo::Channel { id: "C1".into() },
                text: "t".into(),
            },
        ];
        let now = DateTime::from_timestamp(0, 0).expect("time");
        for step in steps {
            let job = step.job(7, "slash:T1:0", now);
            assert_eq!(job.kind, step.kind());
            assert_eq!(job.payload["step"], step.kind());
            let back: Step = serde_json::from_value(job.payload).expect("payload");
            assert_eq!(back, step);
        }
    }

    #[test]
    fn keys_name_the_cause_and_sync_steps_coalesce_per_incident() {
        let now = DateTime::from_timestamp(0, 0).expect("time");
        let topic = Step::SyncTopic.job(7, "slash:T1:0", now);
        assert_eq!(topic.key.as_deref(), Some("incident:7:sync_topic"));
        assert_eq!(topic.dedupe, Dedupe::Rerun);
        let post = Step::Post {
            channel: "C1".into(),
            message: Message::text("hi"),
        }
        .job(7, "slash:T1:0", now);
        assert_eq!(post.key.as_deref(), Some("slash:T1:0:post"));
        assert_eq!(post.lane.as_deref(), Some("channel:C1"));
        assert_eq!(post.dedupe, Dedupe::Keep);
        let report = Step::Report {
            to: ReportTo::Channel { id: "C1".into() },
            text: "t".into(),
        }
        .job(7, "job:3", now);
        assert_eq!((report.key, report.lane), (None, None));
    }

    #[test]
    fn pending_jobs_of_the_foundation_still_read() {
        for (payload, expected) in [
            (json!({"step": "set_topic"}), Step::SyncTopic),
            (
                json!({"step": "post_card"}),
                Step::SyncCard { channel: None },
            ),
            (
                json!({"step": "announce", "channel": "C9"}),
                Step::SyncAnnouncement {
                    channel: "C9".into(),
                },
            ),
        ] {
            let step: Step = serde_json::from_value(payload).expect("old payload");
            assert_eq!(step, expected);
        }
    }
}
