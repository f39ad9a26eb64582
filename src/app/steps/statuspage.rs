//! The status page's steps: `publish_status` (what a person submitted in the status-page form,
//! created or updated on the page) and `offer_status_resolve` (after the incident is resolved
//! here, the button to resolve it there too).
//!
//! Idempotency: the first publication creates the public incident with this job's key in its
//! `metadata`; an attempt after an unknown outcome first looks among the page's newest incidents for one with
//! that key and updates it instead of creating a second. Later publications update the public
//! incident the external reference names, with absolute values (title, status, components),
//! so an update repeated changes nothing more. What the page answered — the incident's id, its
//! link and status — is the incident's external reference, recorded when the step completes
//! with the timeline entry, the post saying who published what, and the card's refresh.

use super::posts::{post_key, post_once};
use super::{Shared, Step, StepError, load, load_with_channel};
use crate::domain::cause::{Cause, IncidentRef};
use crate::domain::message;
use crate::domain::outside::{ExternalRef, Kind};
use crate::domain::timeline::Entry;
use crate::store::{Job, Outcome};

pub(super) async fn execute(shared: &Shared, job: &Job, step: &Step) -> Result<Outcome, StepError> {
    let Some(api) = &shared.outside.statuspage else {
        return Err(StepError::permanent(
            "the status page is not configured (set STATUSPAGE_API_KEY and STATUSPAGE_PAGE_ID)",
        ));
    };
    match step {
        Step::PublishStatus { by, publication } => {
            let incident = load(shared, job).await?;
            let known = shared.store.external_refs(incident.id).await?;
            let (title, status, message) = (
                &publication.title,
                &publication.status,
                &publication.message,
            );
            let key = post_key(job);
            let existing = known.iter().find(|r| r.kind == Kind::StatusIncident);
            let (published, created) = match existing {
                Some(r) => (api.update(&r.reference, publication).await?, false),
                None => {
                    let adopted = match job.attempt > 1 {
                        true => api.find(&key).await?,
                        false => None,
                    };
                    match adopted {
                        Some(found) => (api.update(&found.id, publication).await?, true),
                        None => (api.create(publication, &key).await?, true),
                    }
                }
            };
            if published.id.is_empty() {
                return Err(StepError::permanent(
                    "the status page answered without an incident id",
                ));
            }
            let id = IncidentRef::Id(incident.id);
            let by_job = Cause::Job(job.id).whole();
            let mut follow_ups = vec![
                Step::SyncCard {
                    channel: incident.channel_id.clone(),
                }
                .job(id, &by_job, shared.clock.now()),
            ];
            if let Some(channel) = &incident.channel_id {
                let post =
                    message::published_post(by, status, title, published.url.as_deref(), created);
                follow_ups.push(
                    Step::Post {
                        channel: channel.clone(),
                        message: post,
                    }
                    .job(id, &by_job, shared.clock.now()),
                );
            }
            Ok(Outcome {
                refs: vec![ExternalRef {
                    incident: incident.id,
                    kind: Kind::StatusIncident,
                    name: String::new(),
                    reference: published.id,
                    url: published.url.clone(),
                    state: Some(status.clone()),
                    detail: Some(by.clone()),
                }],
                events: vec![Entry::StatusPublished {
                    title: title.clone(),
                    status: status.clone(),
                    message: Some(message.clone()).filter(|m| !m.is_empty()),
                    url: published.url,
                }],
                follow_ups,
                ..Outcome::default()
            })
        }
        Step::OfferStatusResolve => {
            let (incident, channel) = load_with_channel(shared, job).await?;
            let known = shared.store.external_refs(incident.id).await?;
            let open = known.iter().any(|r| {
                r.kind == Kind::StatusIncident
                    && r.state.as_deref() != Some(crate::domain::modal::statuspage::RESOLVED)
            });
            if open {
                let offer = message::resolve_public_offer(&incident);
                post_once(shared, job, &channel, None, &offer, &post_key(job)).await?;
            }
            Ok(Outcome::default())
        }
        other => Err(StepError::permanent(format!(
            "{} is not a status-page step",
            other.kind()
        ))),
    }
}

pub(super) fn description(step: &Step) -> Option<String> {
    Some(match step {
        Step::PublishStatus { .. } => "Publishing to the status page".into(),
        Step::OfferStatusResolve => "Offering to resolve the status page's incident".into(),
        _ => return None,
    })
}
