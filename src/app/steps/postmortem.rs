//! The `postmortem` step: the draft written, saved, uploaded and recorded — and the request
//! that enqueues it (`/inc postmortem`, the **Write postmortem** button).
//!
//! Idempotency: a request is enqueued once per payload (`Store::enqueue_once` under the
//! payload's key: a redelivery asks nothing more; two people asking are two versions). The draft
//! is saved under the job's id **before** the upload, so a retried job saves over its own
//! version and a failed upload leaves the draft for `postmortem --saved`. The file's title names
//! that version: a second attempt looks for a file so titled among the channel's newest messages
//! and adopts it, so a lost answer to `files.completeUploadExternal` (or a crash before the
//! commit) shares the draft once.

use super::{Shared, Step, StepError, load};
use crate::app::postmortem::{self, DraftError, Drafting};
use crate::domain::cause::{Cause, IncidentRef};
use crate::domain::{Entry, Incident, message};
use crate::store::{Job, Outcome, StoreError};

/// Asks for an export of `incident`'s draft by `by`: one job per payload (`key`; a redelivered
/// command or click asks nothing more). Returns the reply for `by`.
pub(crate) async fn request(
    shared: &Shared,
    incident: &Incident,
    key: &Cause,
    by: &str,
    response_url: Option<String>,
) -> Result<String, StoreError> {
    let now = shared.clock.now();
    let step = Step::Postmortem {
        by: by.to_string(),
        response_url,
    };
    let job = step.job(IncidentRef::Id(incident.id), &key.whole(), now);
    if !shared
        .store
        .enqueue_once(key, incident.id, job, now)
        .await?
    {
        return Ok(message::already_done_reply());
    }
    shared.wake.notify_one();
    Ok(message::postmortem_requested(incident))
}

pub(super) fn description(step: &Step) -> Option<String> {
    match step {
        Step::Postmortem { .. } => Some("Posting the postmortem draft".into()),
        _ => None,
    }
}

/// Renders the draft, saves it (a retry saves over its own version), uploads it and records
/// the export. An incident without a channel gets its draft saved, for the CLI, and nothing more.
pub(super) async fn export(shared: &Shared, job: &Job, by: &str) -> Result<Outcome, StepError> {
    let now = shared.clock.now();
    let incident = load(shared, job).await?;
    let with = Drafting {
        store: &shared.store,
        slack: Some(&shared.ws.slack),
        template: &shared.settings.postmortem_template,
        tz: shared.settings.tz,
    };
    let draft = postmortem::draft(&with, &incident, now)
        .await
        .map_err(|e| match e {
            DraftError::Store(e) => e.into(),
            DraftError::Slack(e) => e.into(),
            template @ DraftError::Template(_) => StepError::permanent(template.to_string()),
        })?;
    // The job's id stays the same across its retries: a retry saves over its own version.
    let version = shared
        .store
        .save_postmortem(
            incident.id,
            &Cause::Job(job.id).key(),
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
                true => shared.ws.slack.find_file(channel, &title).await?,
                false => None,
            };
            Some(match shared_before {
                Some(file) => file,
                None => {
                    shared
                        .ws
                        .slack
                        .upload(
                            channel,
                            &postmortem::file_name(&incident),
                            &title,
                            draft.markdown.as_bytes(),
                            &message::postmortem_uploaded(&incident, version),
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
