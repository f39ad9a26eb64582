//! Opening modals — the one Slack call made outside a job.
//!
//! A modal is opened with the `trigger_id` of the command, shortcut or click that asked for it,
//! and Slack honours a trigger for three seconds, once: a job queued behind other work could miss
//! that window. So the handler decides the modal, and [`open`] makes the call on a task of its
//! own — the ack goes out at once and the connection's other envelopes don't wait. If Slack
//! refuses (the trigger expired), the person is told through the response URL, by a job.

use std::sync::Arc;
use std::time::Duration;

use tracing::warn;

use super::Shared;
use super::steps::tell;
use crate::domain::Incident;
use crate::domain::message;
use crate::domain::modal::Modal;
use crate::domain::modal::statuspage::{Component, StatuspagePrefill, statuspage_modal};
use crate::domain::source::SourceMessage;
use crate::domain::timeline::Entry;

/// How long to wait for a permalink before opening the modal without it.
const PERMALINK_WAIT: Duration = Duration::from_millis(800);
/// How long to wait for the status page's components before opening the form without them.
const COMPONENTS_WAIT: Duration = Duration::from_millis(1_500);

/// Opens `modal` with `trigger_id`, off the ack path; a refusal is told via `response_url`.
pub(crate) fn open(
    shared: &Arc<Shared>,
    trigger_id: String,
    modal: Modal,
    response_url: Option<String>,
) {
    let shared = shared.clone();
    tokio::spawn(async move {
        if let Err(e) = shared.ws.slack.open_modal(&trigger_id, &modal).await {
            warn!(error = %e, callback_id = modal.callback_id, "a modal did not open");
            tell(&shared, response_url, message::modal_failed(&e.to_string())).await;
        }
    });
}

/// Like [`open`], for the Declare modal of a shortcut: the source's permalink is looked up first
/// (briefly — the trigger is ticking) so the modal can show it.
pub(crate) fn open_for_source(
    shared: &Arc<Shared>,
    trigger_id: String,
    mut source: SourceMessage,
    build: impl FnOnce(SourceMessage) -> Modal + Send + 'static,
    response_url: String,
) {
    let shared = shared.clone();
    tokio::spawn(async move {
        let link = tokio::time::timeout(
            PERMALINK_WAIT,
            shared.ws.slack.permalink(&source.channel, &source.ts),
        )
        .await;
        match link {
            Ok(Ok(link)) => source.permalink = Some(link),
            Ok(Err(e)) => warn!(error = %e, "no permalink for the source message"),
            Err(_) => warn!("no permalink for the source message in time"),
        }
        let modal = build(source);
        if let Err(e) = shared.ws.slack.open_modal(&trigger_id, &modal).await {
            warn!(error = %e, "the Declare modal did not open");
            tell(
                &shared,
                Some(response_url),
                message::modal_failed(&e.to_string()),
            )
            .await;
        }
    });
}

/// The status-page form for `incident`: the page's components are read first (briefly — the
/// trigger is ticking; without them in time the form says so), and the title already public.
/// `resolving`: opened from the offer to resolve the public incident.
pub(crate) fn open_statuspage(
    shared: &Arc<Shared>,
    trigger_id: String,
    incident: Incident,
    resolving: bool,
    response_url: Option<String>,
) {
    let shared = shared.clone();
    tokio::spawn(async move {
        let components = match &shared.outside.statuspage {
            None => None,
            Some(api) => match tokio::time::timeout(COMPONENTS_WAIT, api.components()).await {
                Ok(Ok(list)) => Some(
                    list.into_iter()
                        .map(|c| Component {
                            id: c.id,
                            name: c.name,
                        })
                        .collect(),
                ),
                Ok(Err(e)) => {
                    warn!(error = %e, "the status page's components could not be read");
                    None
                }
                Err(_) => {
                    warn!("the status page's components were not read in time");
                    None
                }
            },
        };
        // The title last published, so an update keeps what customers already read.
        let public_title = match shared.store.timeline(incident.id).await {
            Ok(timeline) => timeline.into_iter().rev().find_map(|e| match e.entry {
                Entry::StatusPublished { title, .. } => Some(title),
                _ => None,
            }),
            Err(_) => None,
        };
        let prefill = StatuspagePrefill {
            public_title,
            components,
            resolving,
        };
        let modal = statuspage_modal(&incident, &prefill);
        if let Err(e) = shared.ws.slack.open_modal(&trigger_id, &modal).await {
            warn!(error = %e, "the status-page form did not open");
            tell(&shared, response_url, message::modal_failed(&e.to_string())).await;
        }
    });
}
