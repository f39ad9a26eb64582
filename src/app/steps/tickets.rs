//! The follow-up tracker's steps: `file_ticket` (a follow-up filed as a ticket in GitHub,
//! GitLab, Jira or Linear) and `poll_tickets` (the tracker asked about an incident's open
//! tickets every `FOLLOWUP_POLL_INTERVAL`, where no webhook tells us).
//!
//! Idempotency: a follow-up is filed at most once. The step first looks at the follow-up on the
//! timeline — one whose ticket was recorded (`ticket_opened`, written with the ticket's external
//! reference) is done: the button clicked twice, a redelivery. The ticket carries the follow-up's marker, and an attempt after an unknown
//! outcome (a timeout, a lost answer, a crash before the record) searches the tracker for it
//! and adopts what an earlier attempt filed (`outside::tracker`). What the tracker answered —
//! the ticket's id, name, link — is recorded with its timeline entry and the post that links it
//! when the step completes. A poll only reads (one pending per incident, keyed so); a ticket it
//! finds closed is recorded closed with the step's outcome — entry, state and post in one
//! transaction — and is not asked about again, so a poll after a webhook that said so first
//! finds nothing open to ask about.

use super::{Shared, Step, StepError, load};
use crate::domain::cause::{Cause, IncidentRef, Part};
use crate::domain::change::ticket_news::News;
use crate::domain::outside::{
    ExternalRef, Kind, channel_url, followup_marker, ticket_labels, ticket_state,
};
use crate::domain::timeline::Entry;
use crate::domain::{Incident, followup, message, mrkdwn};
use crate::outside::tracker::{NewTicket, Polled};
use crate::store::{Job, Outcome};

pub(super) async fn execute(shared: &Shared, job: &Job, step: &Step) -> Result<Outcome, StepError> {
    let Some(api) = &shared.outside.tracker else {
        return Err(StepError::permanent(
            "no follow-up tracker is configured (set FOLLOWUP_TRACKER)",
        ));
    };
    match step {
        Step::FileTicket { followup: id } => {
            let incident = load(shared, job).await?;
            let timeline = shared.store.timeline(incident.id).await?;
            let Some(f) = followup::find(&timeline, *id) else {
                return Err(StepError::permanent(format!(
                    "{} has no follow-up recorded at {id}",
                    incident.reference()
                )));
            };
            if f.ticket.is_some() {
                return Ok(Outcome::default());
            }
            let raised_by = match &f.by {
                Some(user) => shared.ws.slack.user_name(user).await.ok().flatten(),
                None => None,
            };
            let ticket = new_ticket(shared, &incident, &f, raised_by.as_deref());
            let filed = api.file(&ticket, job.attempt > 1).await?;
            if filed.reference.is_empty() {
                return Err(StepError::permanent(format!(
                    "{} answered without the ticket's id",
                    api.tracker().title()
                )));
            }
            let tracker = api.tracker();
            let mut follow_ups = Vec::new();
            if let Some(channel) = &incident.channel_id {
                let post = message::ticket_opened_post(
                    tracker,
                    &filed.name,
                    filed.url.as_deref(),
                    &f.text,
                );
                follow_ups.push(
                    Step::Post {
                        channel: channel.clone(),
                        message: post,
                    }
                    .job(
                        IncidentRef::Id(incident.id),
                        &Cause::Job(job.id).whole(),
                        shared.clock.now(),
                    ),
                );
            }
            // Without the tracker's webhook, the incident's tickets are asked about from now on
            // (one poll pending per incident: a second ticket joins the first's).
            let polls = shared
                .settings
                .integrations
                .tracker
                .as_ref()
                .is_some_and(|t| t.polls());
            if polls && !filed.closed {
                follow_ups.push(Step::PollTickets.uncaused(
                    IncidentRef::Id(incident.id),
                    shared.clock.now() + poll_every(shared),
                ));
            }
            Ok(Outcome {
                refs: vec![ExternalRef {
                    incident: incident.id,
                    kind: Kind::Ticket(tracker),
                    name: id.to_string(),
                    reference: filed.reference,
                    url: filed.url.clone(),
                    state: Some(state_word(filed.closed).into()),
                    detail: Some(filed.name.clone()),
                }],
                events: vec![Entry::TicketOpened {
                    followup: *id,
                    tracker,
                    ticket: filed.name,
                    url: filed.url,
                }],
                follow_ups,
                ..Outcome::default()
            })
        }
        Step::PollTickets => {
            let incident = load(shared, job).await?;
            let tracker = api.tracker();
            let known = shared.store.external_refs(incident.id).await?;
            let timeline = shared.store.timeline(incident.id).await?;
            let open: Vec<&ExternalRef> = known
                .iter()
                .filter(|r| r.kind == Kind::Ticket(tracker))
                .filter(|r| r.state.as_deref() != Some(ticket_state::CLOSED))
                .collect();
            let mut outcome = Outcome::default();
            let mut still_open = 0;
            for ticket in open {
                let closed = match api.poll(&ticket.reference).await? {
                    Polled::State { closed } => closed,
                    Polled::Unchanged => false,
                    // Deleted in the tracker: never asked about again.
                    Polled::Gone => continue,
                };
                if !closed {
                    still_open += 1;
                    continue;
                }
                let Ok(followup) = ticket.name.parse::<i64>() else {
                    continue;
                };
                let name = ticket
                    .detail
                    .clone()
                    .unwrap_or_else(|| ticket.reference.clone());
                let news = News {
                    followup,
                    text: followup::find(&timeline, followup)
                        .map(|f| f.text)
                        .unwrap_or_default(),
                    ticket: name.clone(),
                    url: ticket.url.clone(),
                    closed: true,
                    by: None,
                };
                outcome.refs.push(ExternalRef {
                    state: Some(ticket_state::CLOSED.into()),
                    detail: Some(name.clone()),
                    ..ticket.clone()
                });
                outcome.events.push(Entry::TicketChanged {
                    followup,
                    ticket: name,
                    closed: true,
                    by: None,
                });
                if let Some(channel) = &incident.channel_id {
                    let by = Cause::Job(job.id).part(Part::Action(outcome.follow_ups.len()));
                    outcome.follow_ups.push(
                        Step::Post {
                            channel: channel.clone(),
                            message: message::ticket_news_post(&news),
                        }
                        .job(
                            IncidentRef::Id(incident.id),
                            &by,
                            shared.clock.now(),
                        ),
                    );
                }
            }
            if still_open > 0 {
                outcome.reschedule = Some(shared.clock.now() + poll_every(shared));
            }
            Ok(outcome)
        }
        other => Err(StepError::permanent(format!(
            "{} is not a tracker step",
            other.kind()
        ))),
    }
}

/// How long after a poll (or a ticket filed) the tracker is asked again.
fn poll_every(shared: &Shared) -> chrono::Duration {
    let every = shared
        .settings
        .integrations
        .tracker
        .as_ref()
        .map_or(crate::config::trackers::MIN_POLL, |t| t.poll_every);
    chrono::Duration::from_std(every).unwrap_or(chrono::Duration::MAX)
}

/// `open` or `closed`, as the reference stores it.
pub(crate) fn state_word(closed: bool) -> &'static str {
    match closed {
        true => ticket_state::CLOSED,
        false => ticket_state::OPEN,
    }
}

/// The ticket a follow-up becomes: its text as the title, where it comes from in the body. A
/// private incident's ticket names only its reference: its title and channel stay in Slack.
fn new_ticket(
    shared: &Shared,
    incident: &Incident,
    f: &followup::FollowUp,
    raised_by: Option<&str>,
) -> NewTicket {
    let text = mrkdwn::plain(&f.text);
    let title: String = mrkdwn::one_line(&text).chars().take(200).collect();
    let who = raised_by
        .map(|n| format!(", raised by {n}"))
        .unwrap_or_default();
    let body = if incident.private {
        format!(
            "{text}\n\nA follow-up of {} (a private incident){who}.",
            incident.reference()
        )
    } else {
        let mut body = format!(
            "{text}\n\nA follow-up of {} “{}” ({}){who}.",
            incident.reference(),
            mrkdwn::plain(&incident.title),
            incident.severity
        );
        if let Some(channel) = &incident.channel_id {
            body.push_str(&format!(
                "\nIncident channel: {}",
                channel_url(&shared.ws.bot.team_id, channel)
            ));
        }
        body
    };
    let labels = ticket_labels(incident.number);
    NewTicket {
        title,
        body,
        incident_label: labels[1].clone(),
        labels: labels.to_vec(),
        marker: followup_marker(&shared.ws.bot.team_id, incident.number, f.id),
    }
}

pub(super) fn description(step: &Step) -> Option<String> {
    Some(match step {
        Step::FileTicket { .. } => "Filing the follow-up as a ticket".into(),
        Step::PollTickets => "Asking the tracker about open tickets".into(),
        _ => return None,
    })
}
