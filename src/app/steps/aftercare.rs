//! After the incident: `postmortem_reminder` (the owner reminded a day before the deadline, then
//! once a day while overdue), `archive_check` (the notice a day before `ARCHIVE_AFTER` is up, then
//! the archiving once the postmortem is done) and `archive_channel` (`/inc archive`: now).
//!
//! Idempotency: the reminder and the check are one pending job per incident each, replaced when
//! a change moves their time (`Dedupe::Replace`), rescheduled in place after each run. A reminder
//! is posted for one slot of `domain::aftercare` — the latest at or before now — under a key that
//! names the slot, and looked for before a second attempt posts: after downtime the owner gets
//! the one reminder that is due, late, never a burst and never the same slot twice. The notice is
//! posted under the check's key with `:notice`, once. Archiving takes Slack's `already_archived`
//! for done, and records the time with the step's outcome.

use chrono::{DateTime, Duration, Utc};

use super::posts::{find_post, post_key, post_once};
use super::{Shared, Step, StepError, load};
use crate::domain::aftercare::{self, DAY};
use crate::domain::timeline::Entry;
use crate::domain::{Incident, Status, message};
use crate::store::{IncidentChange, Job, Outcome};

/// How early a reminder may run and still count for its slot (the worker's claim margin).
const EARLY: Duration = Duration::seconds(1);

pub(super) async fn execute(shared: &Shared, job: &Job, step: &Step) -> Result<Outcome, StepError> {
    let now = shared.clock.now();
    let incident = load(shared, job).await?;
    match step {
        Step::PostmortemReminder => remind(shared, job, &incident, now).await,
        Step::ArchiveCheck => check(shared, job, &incident, now).await,
        Step::ArchiveChannel { channel } => {
            if incident.status != Status::Resolved || incident.archived_at.is_some() {
                return Ok(Outcome::default());
            }
            archive(shared, job, &incident, channel, now).await
        }
        other => Err(StepError::permanent(format!(
            "{} is not an aftercare step",
            other.kind()
        ))),
    }
}

async fn remind(
    shared: &Shared,
    job: &Job,
    incident: &Incident,
    now: DateTime<Utc>,
) -> Result<Outcome, StepError> {
    let Some(channel) = incident
        .channel_id
        .as_deref()
        .filter(|_| incident.archived_at.is_none())
    else {
        return Ok(Outcome::default());
    };
    let Some(slot) = aftercare::postmortem_slot_at_or_before(incident, now + EARLY) else {
        // Not due yet (or no longer owed): wait for the first slot, if any.
        return Ok(Outcome {
            reschedule: aftercare::next_postmortem_reminder(incident, now),
            ..Outcome::default()
        });
    };
    let key = format!("{}:{}", post_key(job), slot.timestamp_millis());
    let posted = job.attempt > 1 && find_post(shared, channel, None, &key).await?.is_some();
    let mut events = Vec::new();
    if !posted && let Some(post) = message::postmortem_reminder_post(incident, now) {
        // The last look before posting: a change since the claim (done, a new deadline) wins.
        if !shared.store.job_is_current(job).await? {
            return Ok(Outcome::default());
        }
        shared.ws.slack.post(channel, None, &post, &key).await?;
        events.push(Entry::PostmortemReminded {});
    }
    Ok(Outcome {
        events,
        reschedule: aftercare::postmortem_slot_after(incident, slot.max(now)),
        ..Outcome::default()
    })
}

async fn check(
    shared: &Shared,
    job: &Job,
    incident: &Incident,
    now: DateTime<Utc>,
) -> Result<Outcome, StepError> {
    let care = &shared.ws.config.reminders.aftercare;
    let (Some(due), Some(channel)) = (
        aftercare::archive_due_at(incident, care),
        incident.channel_id.clone(),
    ) else {
        // Reopened, kept, archived, or archiving turned off since it was scheduled.
        return Ok(Outcome::default());
    };
    if now + EARLY < due {
        let notice = message::archive_notice_post(incident, due);
        let key = format!("{}:notice", post_key(job));
        post_once(shared, job, &channel, None, &notice, &key).await?;
        return Ok(Outcome {
            reschedule: Some(due),
            ..Outcome::default()
        });
    }
    if !aftercare::archive_ready(incident) {
        // Due, but its postmortem is not done: looked at again tomorrow.
        return Ok(Outcome {
            reschedule: Some(now + DAY),
            ..Outcome::default()
        });
    }
    archive(shared, job, incident, &channel, now).await
}

/// Says why, then archives the channel.
async fn archive(
    shared: &Shared,
    job: &Job,
    incident: &Incident,
    channel: &str,
    now: DateTime<Utc>,
) -> Result<Outcome, StepError> {
    let key = format!("{}:archiving", post_key(job));
    post_once(
        shared,
        job,
        channel,
        None,
        &message::archiving_post(incident),
        &key,
    )
    .await?;
    shared.ws.slack.archive(channel).await?;
    Ok(Outcome {
        change: Some(IncidentChange::Archived { at: now }),
        events: vec![Entry::ChannelArchived {}],
        ..Outcome::default()
    })
}

pub(super) fn description(step: &Step) -> Option<String> {
    Some(match step {
        Step::PostmortemReminder => "Reminding the postmortem's owner".into(),
        Step::ArchiveCheck => "Archiving the channel when it is due".into(),
        Step::ArchiveChannel { .. } => "Archiving the channel".into(),
        _ => return None,
    })
}
