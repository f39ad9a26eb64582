//! The scheduled steps: the update `reminder`, the `nudge` when nobody coordinates, the
//! `digest`. Their rules (when a reminder is owed, whether the nudge is wanted, which digest
//! slot is current) are the domain's (`domain::reminder`); here they are carried out.
//!
//! Idempotency:
//! - The reminder is one pending job per incident (`incident:<id>:reminder`), **replaced**
//!   (re-armed: new time, generation + 1) by every change that moves the due time and cancelled
//!   by the one that closes the incident. Before posting, it checks its claim is still the
//!   current generation (`Store::job_is_current`); its post's key adds the due time, so a second
//!   attempt finds this reminder's post and not an earlier one.
//! - The nudge is keyed per incident (`incident:<id>:nudge`) and posts once.
//! - The digest is one pending job in all (`digest`, kept when one is pending: replicas starting
//!   together schedule a slot once); each run enqueues the next slot after now, so a slot missed
//!   during downtime is posted once; its post's key adds the slot.

use chrono::{DateTime, Utc};

use super::posts::{find_post, post_key, post_once};
use super::{Shared, Step, StepError, load};
use crate::domain::cause::IncidentRef;
use crate::domain::followup;
use crate::domain::reminder::{self, Policy};
use crate::domain::{Entry, Incident, message};
use crate::store::{Dedupe, IncidentChange, Job, NewJob, Outcome};

/// How much earlier than its time a reminder may run (clocks, rounding) before it waits.
const EARLY: chrono::Duration = chrono::Duration::seconds(1);
/// How far back the digest looks for resolved incidents still missing their postmortem.
const POSTMORTEM_WINDOW: chrono::Duration = chrono::Duration::days(30);

/// The reminder job for `incident`, due at `at`: it replaces a pending one (the due time moved).
pub(crate) fn reminder_job(incident: IncidentRef, at: DateTime<Utc>) -> NewJob {
    Step::Reminder.uncaused(incident, at)
}

/// The reminder `incident` is owed now, for an open incident that may have none pending: one
/// declared by a version before reminders (migration 0005), or whose reminder ended for good. It
/// is kept out when one is pending already (every other incident), so arming it at every
/// startup, on any number of replicas, changes nothing else.
pub(crate) fn owed_reminder(reminders: &Policy, incident: &Incident) -> Option<NewJob> {
    let at = reminders.next_reminder(incident)?;
    Some(NewJob {
        dedupe: Dedupe::Keep,
        ..reminder_job(IncidentRef::Id(incident.id), at)
    })
}

/// The nudge for `incident`, ten minutes after its declaration at `declared_at`.
pub(crate) fn nudge_job(incident: IncidentRef, declared_at: DateTime<Utc>) -> NewJob {
    Step::Nudge.uncaused(incident, declared_at + reminder::NUDGE_AFTER)
}

/// The digest of `workspace` (`""`: the deployment's own) due at `slot`. There is only ever one
/// pending per workspace (its key is fixed), so replicas starting together, a restart, or an
/// install never schedule a slot twice.
fn digest_job(workspace: &str, slot: DateTime<Utc>) -> NewJob {
    let step = Step::Digest {
        slot: slot.timestamp_millis(),
        workspace: workspace.to_string(),
    };
    step.uncaused(IncidentRef::New, slot)
}

/// `workspace`'s next digest after `now`, if `DIGEST_CRON` schedules one: what startup and an
/// install enqueue (kept if that workspace's digest is pending already).
pub(crate) fn next_digest_job(
    settings: &crate::config::Settings,
    workspace: &str,
    now: DateTime<Utc>,
) -> Option<NewJob> {
    let digest = settings.digest.as_ref()?;
    let slot = reminder::next_digest(&digest.schedule, settings.tz, now)?;
    Some(digest_job(workspace, slot))
}

pub(super) async fn execute(shared: &Shared, job: &Job, step: &Step) -> Result<Outcome, StepError> {
    let now = shared.clock.now();
    match step {
        Step::Reminder => remind(shared, job, now).await,
        Step::Nudge => {
            let incident = load(shared, job).await?;
            let Some(channel) = incident.channel_id.clone() else {
                return Ok(Outcome::default());
            };
            if !reminder::nudge_wanted(&incident) {
                return Ok(Outcome::default());
            }
            let group = shared.ws.config.coordinator_group.as_deref();
            let nudge = message::nudge_post(&incident, group);
            post_once(shared, job, &channel, None, &nudge, &post_key(job)).await?;
            Ok(Outcome {
                events: vec![Entry::Nudged {}],
                ..Outcome::default()
            })
        }
        Step::Digest { slot, .. } => digest(shared, job, *slot, now).await,
        other => Err(StepError::permanent(format!(
            "{} is not a scheduled step",
            other.kind()
        ))),
    }
}

pub(super) fn description(step: &Step) -> Option<String> {
    Some(match step {
        Step::Reminder => "Posting the update reminder".into(),
        Step::Nudge => "Saying nobody coordinates".into(),
        Step::Digest { .. } => "Posting the digest".into(),
        _ => return None,
    })
}

/// The digest due at `slot` (unix milliseconds), if it is still the schedule's; then the next.
async fn digest(
    shared: &Shared,
    job: &Job,
    slot: i64,
    now: DateTime<Utc>,
) -> Result<Outcome, StepError> {
    let slot = DateTime::<Utc>::from_timestamp_millis(slot).unwrap_or(now);
    let Some(digest) = &shared.settings.digest else {
        // DIGEST_CRON was emptied since this slot was scheduled.
        return Ok(Outcome::default());
    };
    let (schedule, tz) = (&digest.schedule, shared.settings.tz);
    if reminder::digest_slot_current(schedule, tz, slot)
        && let Some(channel) = &shared.ws.announce_channel
    {
        let open = shared.store.open_incidents_in(&shared.ws.id).await?;
        let waiting = shared
            .store
            .awaiting_postmortem(&shared.ws.id, now - POSTMORTEM_WINDOW)
            .await?;
        let overdue = overdue_followups(shared, now).await?;
        // One job key serves every slot: the slot tells this digest apart.
        let digest = message::digest(&open, &waiting, &overdue, now);
        let key = format!("{}:{}", post_key(job), slot.timestamp_millis());
        post_once(shared, job, channel, None, &digest, &key).await?;
    }
    Ok(Outcome {
        follow_ups: reminder::digest_after(schedule, tz, slot, now)
            .map(|next| digest_job(&shared.ws.id, next))
            .into_iter()
            .collect(),
        ..Outcome::default()
    })
}

/// How far back the digest looks for follow-ups past their due date: a quarter after it.
const OVERDUE_WINDOW: chrono::Duration = chrono::Duration::days(90);

/// With a tracker: the follow-ups still open of incidents resolved more than `FOLLOWUP_DUE` ago
/// (within [`OVERDUE_WINDOW`] of that).
async fn overdue_followups(
    shared: &Shared,
    now: DateTime<Utc>,
) -> Result<Vec<(crate::domain::Incident, Vec<followup::FollowUp>)>, StepError> {
    let Some(tracker) = &shared.settings.integrations.tracker else {
        return Ok(Vec::new());
    };
    let cutoff = now - chrono::Duration::from_std(tracker.due).unwrap_or(chrono::Duration::MAX);
    let mut out = Vec::new();
    for incident in shared
        .store
        .resolved_with_followups(&shared.ws.id, cutoff - OVERDUE_WINDOW, cutoff)
        .await?
    {
        let timeline = shared.store.timeline(incident.id).await?;
        let open: Vec<_> = followup::followups(&timeline)
            .into_iter()
            .filter(|f| !f.done())
            .collect();
        if !open.is_empty() {
            out.push((incident, open));
        }
    }
    Ok(out)
}

/// The update reminder: posted when due (once per due time, even across a takeover), then
/// rescheduled an interval on; a re-armed reminder (an update arrived) is never posted stale.
async fn remind(shared: &Shared, job: &Job, now: DateTime<Utc>) -> Result<Outcome, StepError> {
    let incident = load(shared, job).await?;
    let policy = &shared.ws.config.reminders;
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
        shared.ws.slack.post(channel, None, &post, &key).await?;
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
