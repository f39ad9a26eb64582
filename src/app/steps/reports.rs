//! A step that failed for good: what it leaves on the timeline (`step_failed`, with the
//! reason) and who is told, where they will see it — in the incident channel; through the
//! command's response URL when there is no channel (the channel itself failed) or when the
//! postmortem's requester asked from elsewhere; a report that fails is not reported again.
//! The wording of each report is the domain's (`domain::message`), the step's own description
//! its family's. [`tell`] is how a handler answers a person through a response URL outside a
//! step (a refused click, a modal that did not open): a report job of its own.

use tracing::warn;

use super::{ReportTo, Shared, Step, StepError, load};
use crate::domain::cause::{Cause, IncidentRef};
use crate::domain::{Entry, message};
use crate::store::{Job, Outcome};

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
    let reason = error.to_string();
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
        (Step::CreateChannel { response_url, .. }, _) => {
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
        refs: Vec::new(),
        change: None,
        follow_ups: report
            .map(|r| {
                r.job(
                    IncidentRef::Id(incident.id),
                    &Cause::Job(job.id).whole(),
                    now,
                )
            })
            .into_iter()
            .collect(),
        events: vec![Entry::StepFailed {
            step: step.kind().to_string(),
            error: reason,
        }],
        reschedule: None,
    }
}

/// Tells the person behind `response_url`, durably (a job).
pub(crate) async fn tell(shared: &Shared, response_url: Option<String>, text: String) {
    let Some(url) = response_url else {
        return;
    };
    let step = Step::Report {
        to: ReportTo::ResponseUrl { url },
        text,
    };
    let job = step.uncaused(IncidentRef::New, shared.clock.now());
    match shared.store.enqueue(None, job).await {
        Ok(_) => shared.wake.notify_one(),
        Err(e) => warn!(error = %e, "could not queue a reply"),
    }
}
