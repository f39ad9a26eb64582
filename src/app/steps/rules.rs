//! The rules of `RULES_FILE`: `match_rules` checks them against an incident as it is now (after
//! its channel exists, and after any change of its severity or status), and `apply_rule` does
//! what one rule says — page, invite, post, set the reminder, offer the status-page form.
//!
//! Idempotency: `apply_rule` is keyed by the incident and the rule and enqueued only if no job
//! ever had that key ([`Dedupe::Once`](crate::store::Dedupe::Once)) — so each rule's actions
//! happen once per incident however often it matches again. Its actions are follow-up jobs of
//! its own (each idempotent as any step is), and the reminder interval is a change recorded
//! under the job's own cause, once.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::{Shared, Step, StepError, load};
use crate::domain::cause::{Cause, IncidentRef, Part};
use crate::domain::change::Change;
use crate::domain::message::{self, Message};
use crate::domain::reminder::Cadence;
use crate::domain::rules::{Action, Facts, Origin, Rule, Values, render};
use crate::domain::timeline::Entry;
use crate::domain::{Incident, mrkdwn};
use crate::store::{Job, NewJob, Outcome};

/// The rules check a change asks for: one when the severity or the status moved and there are
/// rules at all.
pub(crate) fn on_change(
    shared: &Shared,
    before: &Incident,
    after: &Incident,
    key: &Cause,
    now: DateTime<Utc>,
) -> Option<NewJob> {
    let moved = before.severity != after.severity || before.status != after.status;
    (moved && !shared.settings.integrations.rules.rules.is_empty())
        .then(|| Step::MatchRules.job(IncidentRef::Id(after.id), &key.whole(), now))
}

/// The rules check that follows a new incident's channel.
pub(crate) fn on_declared(
    shared: &Shared,
    incident: &Incident,
    now: DateTime<Utc>,
) -> Option<NewJob> {
    (!shared.settings.integrations.rules.rules.is_empty()).then(|| {
        Step::MatchRules.job(
            IncidentRef::Id(incident.id),
            &Cause::Declared(incident.id).whole(),
            now,
        )
    })
}

pub(super) async fn execute(shared: &Shared, job: &Job, step: &Step) -> Result<Outcome, StepError> {
    let incident = load(shared, job).await?;
    let rules = &shared.settings.integrations.rules;
    let now = shared.clock.now();
    match step {
        Step::MatchRules => {
            // An incident that is over acts only on rules written for that end (a rule added
            // since, or one on severity, does not page anyone for it).
            let over = incident.status.is_terminal();
            let (origin, mut label_sets) = facts_of(shared, &incident).await?;
            // Rules see a drill as the label `drill=true` (its pages go to nobody anyway).
            if incident.drill {
                for labels in &mut label_sets {
                    labels.insert("drill".into(), "true".into());
                }
            }
            // A rule matches if it matches with any of the label sets (one per affected
            // service the Declare form named), each rule once.
            let mut matched: Vec<&Rule> = Vec::new();
            for labels in &label_sets {
                let facts = Facts {
                    severity: incident.severity,
                    status: incident.status,
                    private: incident.private,
                    origin,
                    labels,
                    title: &incident.title,
                };
                for rule in rules.matching(&facts) {
                    if over && !rule.when.status.contains(&incident.status) {
                        continue;
                    }
                    if !matched.iter().any(|m| m.name == rule.name) {
                        matched.push(rule);
                    }
                }
            }
            let follow_ups = matched
                .into_iter()
                .map(|rule| {
                    Step::ApplyRule {
                        rule: rule.name.clone(),
                    }
                    .job(
                        IncidentRef::Id(incident.id),
                        &Cause::Job(job.id).whole(),
                        now,
                    )
                })
                .collect();
            Ok(Outcome {
                follow_ups,
                ..Outcome::default()
            })
        }
        Step::ApplyRule { rule } => {
            // A rule removed from the file since it matched does nothing.
            let Some(rule) = rules.rules.iter().find(|r| &r.name == rule) else {
                return Ok(Outcome::default());
            };
            apply(shared, job, &incident, rule, now).await
        }
        other => Err(StepError::permanent(format!(
            "{} is not a rules step",
            other.kind()
        ))),
    }
}

/// How `incident` was declared, and its labels: the alert's that opened it, or one set per
/// affected service the Declare form named (`service=<name>`); one empty set when none.
async fn facts_of(
    shared: &Shared,
    incident: &Incident,
) -> Result<(Origin, Vec<BTreeMap<String, String>>), StepError> {
    let timeline = shared.store.timeline(incident.id).await?;
    if incident.declared_by == shared.ws.bot.user_id {
        let labels = timeline
            .into_iter()
            .find_map(|event| match event.entry {
                Entry::AlertReceived { labels, .. } => Some(labels),
                _ => None,
            })
            .unwrap_or_default();
        return Ok((Origin::Alert, vec![labels]));
    }
    let services = timeline
        .into_iter()
        .find_map(|event| match event.entry {
            Entry::Declared { services, .. } => Some(services),
            _ => None,
        })
        .unwrap_or_default();
    let label_sets = match services.is_empty() {
        true => vec![BTreeMap::new()],
        false => services
            .into_iter()
            .map(|s| BTreeMap::from([("service".to_string(), s)]))
            .collect(),
    };
    if incident.source.is_some() {
        return Ok((Origin::Shortcut, label_sets));
    }
    let origin = match shared.store.declaration_key(incident.id).await? {
        Some(key) if key.starts_with("view:") => Origin::Modal,
        _ => Origin::Command,
    };
    Ok((origin, label_sets))
}

/// The rule's actions as jobs, and its entry on the timeline.
async fn apply(
    shared: &Shared,
    job: &Job,
    incident: &Incident,
    rule: &Rule,
    now: DateTime<Utc>,
) -> Result<Outcome, StepError> {
    let id = IncidentRef::Id(incident.id);
    let cause = Cause::Job(job.id);
    let channel = incident.channel_id.clone();
    let mut follow_ups = Vec::new();
    let mut done = Vec::new();
    for (i, action) in rule.actions.iter().enumerate() {
        // `act<i>`: never the key of a post the reminder's change asks for (`job:<id>:0:post`).
        let by = cause.part(Part::Action(i));
        let step = match action {
            Action::Page(service) => {
                if shared.outside.pagerduty.is_none() {
                    continue;
                }
                // The page step says it in the channel and leaves it on the timeline once sent.
                Step::Page {
                    service: service.clone(),
                    message: Some(format!("Rule “{}”", rule.name)),
                    announce_by: None,
                    rule: Some(rule.name.clone()),
                }
            }
            Action::InviteGroup(group) => {
                if let Some(channel) = &channel {
                    follow_ups.push(
                        Step::Post {
                            channel: channel.clone(),
                            message: Message::text(format!(
                                ":wave: {} — rule “{}” brought you into *{}*.",
                                mrkdwn::group(group),
                                mrkdwn::escape(&rule.name),
                                incident.reference()
                            )),
                        }
                        .job(id, &by, now),
                    );
                }
                Step::InviteGroup {
                    group: group.clone(),
                }
            }
            Action::Invite(user) => Step::Invite {
                users: vec![user.clone()],
            },
            Action::Post {
                channel: to, text, ..
            } => {
                // A private incident is named outside its channel only where its rule says it
                // is meant for private incidents.
                if incident.private && rule.when.private != Some(true) {
                    continue;
                }
                let Some(target) = shared.ws.rule_channels.get(to) else {
                    continue;
                };
                Step::Post {
                    channel: target.clone(),
                    message: Message::text(rendered(shared, incident, text)),
                }
            }
            Action::ReminderInterval(every) => {
                let change = Change::Remind(Cadence::Every(*every));
                let key = Cause::Job(job.id);
                super::super::changes::apply(
                    shared,
                    incident.clone(),
                    &[change],
                    &shared.ws.bot.user_id,
                    &key,
                    &[],
                )
                .await?;
                done.push(action.describe());
                continue;
            }
            Action::OpenStatuspage => {
                if shared.outside.statuspage.is_none() {
                    continue;
                }
                let Some(channel) = &channel else {
                    continue;
                };
                Step::Post {
                    channel: channel.clone(),
                    message: message::statuspage_offer(incident, &rule.name),
                }
            }
        };
        follow_ups.push(step.job(id, &by, now));
        done.push(action.describe());
    }
    Ok(Outcome {
        events: vec![Entry::RuleApplied {
            rule: rule.name.clone(),
            actions: done,
        }],
        follow_ups,
        ..Outcome::default()
    })
}

/// The text of a rule's post, escaped for Slack: the template's own words as its author wrote
/// them (people and channels kept, crowd pings silenced), each value plain text — a title
/// cannot ping anyone or carry a link — and the channel as Slack's link to it.
fn rendered(shared: &Shared, incident: &Incident, template: &str) -> String {
    let channel = incident
        .channel_id
        .as_deref()
        .map(mrkdwn::channel)
        .unwrap_or_default();
    let url = incident
        .channel_id
        .as_deref()
        .map(|c| crate::domain::outside::channel_url(&shared.ws.bot.team_id, c))
        .unwrap_or_default();
    let title = mrkdwn::escape(&incident.title);
    let url = mrkdwn::escape(&url);
    let reference = incident.reference();
    let severity = incident.severity.to_string();
    let values = Values {
        title: &title,
        reference: &reference,
        severity: &severity,
        status: incident.status.as_str(),
        channel: &channel,
        url: &url,
    };
    render(&mrkdwn::escape_keeping_mentions(template), &values)
}

pub(super) fn description(step: &Step) -> Option<String> {
    Some(match step {
        Step::MatchRules => "Checking the rules".into(),
        Step::ApplyRule { rule } => format!("Applying the rule “{rule}”"),
        _ => return None,
    })
}
