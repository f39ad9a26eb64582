//! Outgoing webhooks: `webhook`, one timeline event sent to one of `WEBHOOK_URLS`.
//!
//! [`jobs`] turns the entries a change (or a declaration) records into one job per entry and
//! URL, enqueued in the same transaction as the entries, so an event is sent if and only if it
//! happened. The jobs of one URL share a lane: they are sent one at a time, in the order they
//! happened (so in order per incident), and a receiver that is down holds back only its own
//! events — never the incident. A failed send is retried with backoff for about a day
//! ([`Step::max_attempts`]) before it is reported in the incident's channel.
//!
//! Idempotency: the event's id is its cause and its index among the cause's entries — the
//! same for every attempt — and goes out as the `Idempotency-Key` header, so a receiver that
//! saw an attempt whose answer was lost drops the repeat.

use chrono::{DateTime, Utc};

use super::{Shared, Step, StepError, load};
use crate::config::Settings;
use crate::domain::Entry;
use crate::domain::cause::{Cause, IncidentRef, Part};
use crate::outside::webhooks;
use crate::store::{Job, NewJob, Outcome};

/// The webhook jobs of `entries`, recorded by `actor` because of `cause` on an incident that is
/// `private` or not: none without `WEBHOOK_URLS`, none for a private incident unless
/// `WEBHOOK_PRIVATE=true`, none for entries other systems need not hear of.
pub(crate) fn jobs(
    settings: &Settings,
    incident: IncidentRef,
    private: bool,
    entries: &[Entry],
    actor: Option<&str>,
    cause: &Cause,
    now: DateTime<Utc>,
) -> Vec<NewJob> {
    let Some(hooks) = &settings.integrations.webhooks else {
        return Vec::new();
    };
    if private && !hooks.private {
        return Vec::new();
    }
    let mut jobs = Vec::new();
    for (e, entry) in entries.iter().enumerate() {
        let Some(kind) = webhooks::event_type(entry) else {
            continue;
        };
        for (u, url) in hooks.urls.iter().enumerate() {
            let step = Step::Webhook {
                url: url.to_string(),
                id: format!("{cause}:{e}"),
                kind: kind.to_string(),
                at: now,
                actor: actor.map(str::to_string),
                change: entry.clone(),
            };
            jobs.push(step.job(incident, &cause.part(Part::Hook { entry: e, url: u }), now));
        }
    }
    jobs
}

pub(super) async fn execute(shared: &Shared, job: &Job, step: &Step) -> Result<Outcome, StepError> {
    let Step::Webhook {
        url,
        id,
        kind,
        at,
        actor,
        change,
    } = step
    else {
        return Err(StepError::permanent(format!(
            "{} is not a webhook step",
            step.kind()
        )));
    };
    let Some(hooks) = &shared.settings.integrations.webhooks else {
        return Err(StepError::permanent("WEBHOOK_URLS is no longer set"));
    };
    let Some(target) = hooks.urls.iter().find(|u| u.as_str() == url) else {
        return Err(StepError::permanent("its URL is no longer in WEBHOOK_URLS"));
    };
    let incident = load(shared, job).await?;
    let body = webhooks::body(id, kind, *at, actor.as_deref(), change, &incident);
    let now = shared.clock.now();
    webhooks::send(
        &shared.outside.client,
        target,
        &hooks.secret,
        id,
        kind,
        &body,
        now,
    )
    .await?;
    Ok(Outcome::default())
}

pub(super) fn description(step: &Step) -> Option<String> {
    match step {
        // Only the host: a receiver's URL may carry a token in its path or query.
        Step::Webhook { url, kind, .. } => {
            let host = url::Url::parse(url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_else(|| "(unreadable URL)".into());
            Some(format!("Sending {kind} to the webhook at {host}"))
        }
        _ => None,
    }
}
