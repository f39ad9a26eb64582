//! PagerDuty's steps: `page` (a `trigger`) and `resolve_pages` (a `resolve` for every page of
//! the incident).
//!
//! Idempotency: every event carries the incident's dedup key for the service
//! (`domain::outside::page_key`), and PagerDuty keeps the events of one dedup key as one incident
//! while it is open — so a retry after a timeout or a lost answer, a crash between the call and
//! its record, or a second `/inc page` of the same service is the same page, never another. A
//! resolve of a resolved page changes nothing there either. What the page is — its dedup key
//! and its state — is recorded as the incident's external reference when the step completes.

use serde_json::json;

use super::{Shared, Step, StepError, load};
use crate::domain::cause::{Cause, IncidentRef};
use crate::domain::outside::{ExternalRef, Kind, channel_url, page_key, page_state};
use crate::domain::timeline::Entry;
use crate::domain::{Incident, message, mrkdwn};
use crate::outside::pagerduty::{Event, EventAction};
use crate::store::{Job, Outcome};

pub(super) async fn execute(shared: &Shared, job: &Job, step: &Step) -> Result<Outcome, StepError> {
    let incident = load(shared, job).await?;
    let Some(api) = &shared.outside.pagerduty else {
        return Err(StepError::permanent(
            "PagerDuty is not configured (set PAGERDUTY_SERVICES)",
        ));
    };
    let settings = shared.settings.integrations.pagerduty.as_ref();
    let known = shared.store.external_refs(incident.id).await?;
    match step {
        Step::Page {
            service,
            message,
            announce_by,
            rule,
        } => {
            // Asked while the incident was open, run after it was resolved (a retry behind a busy
            // PagerDuty): nobody is called for an incident that is over, and `resolve_pages`,
            // which ran already, would never release the page.
            if incident.status.is_terminal() {
                tracing::info!(service, "not paging: the incident is over");
                return Ok(Outcome::default());
            }
            // A drill pages nobody, whatever asked (a rule, the form).
            if incident.drill {
                tracing::info!(service, "not paging: the incident is a drill");
                return Ok(Outcome::default());
            }
            // Sent with a link to the channel: a page asked for with the declaration waits a
            // moment for the channel (a few attempts), then goes without the link.
            if incident.channel_id.is_none() && job.attempt < 4 {
                return Err(StepError::Transient {
                    reason: "the incident channel is not there yet".into(),
                    retry_after: Some(std::time::Duration::from_secs(1)),
                });
            }
            let Some(routing_key) = settings.and_then(|pd| pd.routing_key(service)) else {
                return Err(StepError::permanent(format!(
                    "no PagerDuty service is named {service} in PAGERDUTY_SERVICES"
                )));
            };
            let dedup_key = page_key(&shared.ws.bot.team_id, incident.number, service);
            api.send(&trigger(
                shared,
                &incident,
                routing_key,
                &dedup_key,
                message.as_deref(),
            ))
            .await?;
            // A page still open in PagerDuty keeps its state (acknowledged stays acknowledged);
            // one resolved there was opened anew by this trigger.
            let state = match known
                .iter()
                .find(|r| r.kind == Kind::Page && &r.name == service)
            {
                Some(r) if r.state.as_deref() != Some(page_state::RESOLVED) => None,
                _ => Some(page_state::TRIGGERED.to_string()),
            };
            let mut outcome = Outcome {
                refs: vec![ExternalRef {
                    incident: incident.id,
                    kind: Kind::Page,
                    name: service.clone(),
                    reference: dedup_key,
                    url: None,
                    state,
                    detail: None,
                }],
                ..Outcome::default()
            };
            let id = IncidentRef::Id(incident.id);
            let by_job = Cause::Job(job.id).whole();
            let now = shared.clock.now();
            // Asked for where no change recorded it (the Declare form, a rule): told now.
            let told = match (announce_by, rule) {
                (Some(by), _) => Some(message::paged_post(by, service, message.as_deref())),
                (None, Some(rule)) => Some(message::rule_paged_post(rule, service)),
                (None, None) => None,
            };
            if let Some(post) = told {
                outcome.events.push(Entry::Paged {
                    service: service.clone(),
                    message: message.clone().filter(|_| rule.is_none()),
                    rule: rule.clone(),
                });
                if let Some(channel) = &incident.channel_id {
                    outcome.follow_ups.push(
                        Step::Post {
                            channel: channel.clone(),
                            message: post,
                        }
                        .job(id, &by_job, now),
                    );
                }
            }
            // The card shows the page once it is known.
            outcome.follow_ups.push(
                Step::SyncCard {
                    channel: incident.channel_id.clone(),
                }
                .job(id, &by_job, now),
            );
            Ok(outcome)
        }
        Step::ResolvePages => {
            let mut refs = Vec::new();
            let mut refused = Vec::new();
            for page in known.into_iter().filter(|r| r.kind == Kind::Page) {
                if page.state.as_deref() == Some(page_state::RESOLVED) {
                    continue;
                }
                // A service removed from the configuration since it was paged cannot be resolved
                // from here; PagerDuty's people resolve it.
                let Some(routing_key) = settings.and_then(|pd| pd.routing_key(&page.name)) else {
                    continue;
                };
                let sent = api
                    .send(&Event {
                        action: EventAction::Resolve,
                        routing_key,
                        dedup_key: &page.reference,
                        summary: String::new(),
                        severity: incident.severity,
                        source: incident.reference(),
                        link: None,
                        details: serde_json::Value::Null,
                    })
                    .await;
                match sent {
                    Ok(()) => {}
                    // Worth another try: the whole step runs again (a resolve is idempotent).
                    Err(e @ crate::outside::OutsideError::Transient { .. }) => return Err(e.into()),
                    // Refused for good: the others are still recorded, this one reported.
                    Err(e) => {
                        refused.push(format!("{}: {e}", page.name));
                        continue;
                    }
                }
                refs.push(ExternalRef {
                    state: Some(page_state::RESOLVED.to_string()),
                    detail: None,
                    ..page
                });
            }
            // The card shows the pages resolved.
            let id = IncidentRef::Id(incident.id);
            let by_job = Cause::Job(job.id).whole();
            let now = shared.clock.now();
            let mut follow_ups = Vec::new();
            if !refs.is_empty() {
                follow_ups.push(
                    Step::SyncCard {
                        channel: incident.channel_id.clone(),
                    }
                    .job(id, &by_job, now),
                );
            }
            if let (false, Some(channel)) = (refused.is_empty(), &incident.channel_id) {
                let text = message::step_failed(
                    &incident,
                    "Resolving the pages in PagerDuty",
                    &refused.join("; "),
                );
                follow_ups.push(
                    Step::Report {
                        to: super::ReportTo::Channel {
                            id: channel.clone(),
                        },
                        text,
                    }
                    .uncaused(id, now),
                );
            }
            Ok(Outcome {
                refs,
                follow_ups,
                ..Outcome::default()
            })
        }
        other => Err(StepError::permanent(format!(
            "{} is not a PagerDuty step",
            other.kind()
        ))),
    }
}

/// The trigger of `incident`'s page: its reference and title (and the message, if any) as the
/// summary, its severity in PagerDuty's words, a link to its channel.
fn trigger<'a>(
    shared: &Shared,
    incident: &Incident,
    routing_key: &'a secrecy::SecretString,
    dedup_key: &'a str,
    message: Option<&str>,
) -> Event<'a> {
    let mut summary = format!("{}: {}", incident.reference(), incident.title);
    if let Some(m) = message {
        summary.push_str(&format!(" — {}", mrkdwn::plain(m)));
    }
    let link = incident.channel_id.as_ref().map(|channel| {
        let name = incident.channel_name.as_deref().unwrap_or(channel);
        (
            channel_url(&shared.ws.bot.team_id, channel),
            format!("Slack: #{name}"),
        )
    });
    Event {
        action: EventAction::Trigger,
        routing_key,
        dedup_key,
        summary,
        severity: incident.severity,
        source: incident.reference(),
        link,
        details: json!({
            "incident": incident.reference(),
            "title": incident.title,
            "severity": incident.severity.to_string(),
            "status": incident.status.as_str(),
            "summary": incident.summary,
        }),
    }
}

pub(super) fn description(step: &Step) -> Option<String> {
    Some(match step {
        Step::Page { service, .. } => format!("Paging {service} through PagerDuty"),
        Step::ResolvePages => "Resolving the pages in PagerDuty".into(),
        _ => return None,
    })
}
