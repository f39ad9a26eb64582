//! From the bot's records to a [`PostmortemInput`]: the incident, its timeline and its role
//! history become the draft's facts, entries, phases, role spans and follow-ups. The pins and
//! the people's names are the caller's (Slack's current pins, or the stored ones offline).
//!
//! The timeline keeps what a postmortem reader needs — declaration, status and severity
//! changes, role changes, updates, summaries, notes, follow-ups, escalations, alerts, the end —
//! and leaves out the bot's housekeeping (channel created, announced, joins, reminders, earlier
//! exports) and the pin entries, which the pins themselves replace.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{Entry, FollowUp, Person, Phase, Pin, PostmortemInput, RoleSpan, TicketRef};
use crate::domain::timeline::{Entry as Event, TimelineEvent};
use crate::domain::{Incident, Role, mrkdwn};

/// Who held a role, as the store remembers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub role: Role,
    pub user: String,
    pub from: DateTime<Utc>,
    pub to: Option<DateTime<Utc>>,
}

/// Everything the draft is made from.
#[derive(Debug, Clone)]
pub struct Record<'a> {
    pub incident: &'a Incident,
    pub timeline: &'a [TimelineEvent],
    pub roles: &'a [Held],
    pub pins: Vec<Pin>,
    /// Slack user id → display name; ids missing here are shown as the id.
    pub people: HashMap<String, String>,
    pub generated_at: DateTime<Utc>,
    pub pins_may_be_stale: bool,
}

/// The user ids a draft of these records names (declarer, role holders, actors, people
/// mentioned in the timeline's text): whose names to look up.
pub fn people_named(
    incident: &Incident,
    timeline: &[TimelineEvent],
    roles: &[Held],
) -> Vec<String> {
    let mut ids = vec![incident.declared_by.clone()];
    ids.extend(roles.iter().map(|h| h.user.clone()));
    for event in timeline {
        ids.extend(event.actor.clone());
        match &event.entry {
            Event::RoleAssigned { user, .. } | Event::RoleReleased { user, .. } => {
                ids.push(user.clone())
            }
            Event::RoleHandedOver { from, to, .. } => ids.extend([from.clone(), to.clone()]),
            Event::Escalated { users, .. } => ids.extend(users.iter().cloned()),
            _ => {}
        }
        if let Some(text) = typed_text(&event.entry) {
            ids.extend(mentions(text));
        }
    }
    ids.sort();
    ids.dedup();
    ids
}

/// The people, channels and user groups a text mentions (`<@U…>`, `<#C…>`,
/// `<!subteam^S…>`), by id: the names a draft asks Slack for, so pins read "@Carol in
/// #payments, cc @dba" rather than ids.
pub fn mentions(text: &str) -> Vec<String> {
    mrkdwn::pieces(text)
        .into_iter()
        .filter_map(|piece| match piece {
            mrkdwn::Piece::Token(
                mrkdwn::Token::User { id, .. }
                | mrkdwn::Token::Channel { id, .. }
                | mrkdwn::Token::Group { id, .. },
            ) => Some(id),
            _ => None,
        })
        .collect()
}

/// The draft's input.
pub fn assemble(record: Record<'_>) -> PostmortemInput {
    let Record {
        incident,
        timeline,
        roles,
        pins,
        people,
        generated_at,
        pins_may_be_stale,
    } = record;
    let person = |id: &str| Person {
        id: id.to_string(),
        name: people.get(id).cloned().unwrap_or_else(|| id.to_string()),
    };
    let spans: Vec<RoleSpan> = roles
        .iter()
        .map(|h| RoleSpan {
            role: h.role.title().to_string(),
            person: person(&h.user),
            from: h.from,
            to: h.to,
        })
        .collect();
    let first_coordinator_at = roles
        .iter()
        .filter(|h| h.role == Role::Coordinator)
        .map(|h| h.from)
        .min();
    let entries = timeline
        .iter()
        .filter_map(|e| {
            Some(Entry {
                at: e.at,
                who: e.actor.as_deref().map(person),
                kind: e.kind().to_string(),
                what: describe(&e.entry, &people)?,
            })
        })
        .collect();
    let followups = crate::domain::followup::followups(timeline)
        .into_iter()
        .map(|f| FollowUp {
            text: readable(&f.text, &people),
            by: f.by.as_deref().map(person),
            at: f.at,
            done: f.done(),
            ticket: f.ticket.map(|t| TicketRef {
                name: t.name,
                url: t.url,
            }),
        })
        .collect();
    PostmortemInput {
        reference: incident.reference(),
        title: incident.title.clone(),
        severity: incident.severity.to_string(),
        status: incident.status.to_string(),
        private: incident.private,
        declared_at: incident.declared_at,
        declared_by: Some(person(&incident.declared_by)),
        resolved_at: incident.resolved_at,
        first_coordinator_at,
        summary: incident.summary.as_deref().map(|s| readable(s, &people)),
        impact: incident.impact.as_deref().map(|s| readable(s, &people)),
        impact_started_at: incident.impact_started_at,
        impact_ended_at: incident.impact_ended_at,
        // The name is noted before the channel is asked for: only a channel that exists counts.
        channel: incident
            .channel_id
            .as_ref()
            .and(incident.channel_name.as_ref())
            .map(|n| format!("#{n}")),
        source_link: incident.source.as_ref().and_then(|s| s.permalink.clone()),
        roles: spans,
        phases: phases(incident, timeline),
        entries,
        pins,
        followups,
        people,
        generated_at,
        pins_may_be_stale,
    }
}

/// The status phases: from the declaration's status through every change.
fn phases(incident: &Incident, timeline: &[TimelineEvent]) -> Vec<Phase> {
    let mut out: Vec<Phase> = Vec::new();
    for event in timeline {
        let Some(status) = event.entry.status_after() else {
            continue;
        };
        if out.last().is_some_and(|p| p.status == status.as_str()) {
            continue;
        }
        if let Some(last) = out.last_mut() {
            last.to = Some(event.at);
        }
        out.push(Phase {
            status: status.to_string(),
            from: event.at,
            to: None,
        });
    }
    if out.is_empty() {
        out.push(Phase {
            status: incident.status.to_string(),
            from: incident.declared_at,
            to: None,
        });
    }
    // Resolved and declined are where the incident ends, not phases that last.
    if out.len() > 1
        && incident.status.is_terminal()
        && out
            .last()
            .is_some_and(|p| p.status == incident.status.as_str())
    {
        out.pop();
    }
    out
}

/// What someone typed into an entry (Slack mrkdwn), if it carries text.
fn typed_text(entry: &Event) -> Option<&str> {
    match entry {
        Event::Update { text, .. }
        | Event::SummarySet { text }
        | Event::Note { text }
        | Event::FollowUp { text } => Some(text),
        Event::Escalated { message, .. } => message.as_deref(),
        Event::Resolved { text, .. } => text.as_deref(),
        Event::Declined { reason } => reason.as_deref(),
        _ => None,
    }
}

/// Text as a reader sees it, people by name.
fn readable(text: &str, people: &HashMap<String, String>) -> String {
    mrkdwn::plain_with(text, &|id| people.get(id).cloned())
}

/// One timeline entry as a sentence of plain text; `None` for what a postmortem leaves out.
fn describe(entry: &Event, people: &HashMap<String, String>) -> Option<String> {
    let name = |id: &str| format!("@{}", people.get(id).map_or(id, String::as_str));
    let text = |t: &str| readable(t, people);
    Some(match entry {
        Event::Declared {
            severity, status, ..
        } => format!("Declared as {severity}, {status}"),
        Event::StatusChanged { from, to } => format!("Status {from} → {to}"),
        Event::SeverityChanged { from, to } => format!("Severity {from} → {to}"),
        Event::RoleAssigned { role, user } => format!("{} is {role}", name(user)),
        Event::RoleHandedOver { role, from, to } => {
            format!("{} took over as {role} from {}", name(to), name(from))
        }
        Event::RoleReleased { role, user } => format!("{} is no longer {role}", name(user)),
        // A status the update moved to has its own entry just before it.
        Event::Update { text: t, .. } => format!("Update: {}", text(t)),
        Event::SummarySet { text: t } => format!("Summary: {}", text(t)),
        Event::Note { text: t } => format!("Note: {}", text(t)),
        Event::FollowUp { text: t } => format!("Follow-up: {}", text(t)),
        Event::TicketOpened {
            tracker, ticket, ..
        } => format!("Follow-up filed as {} {ticket}", tracker.title()),
        Event::PostmortemPlanned { owner, due_at } => {
            let mut out = String::from("Postmortem");
            if let Some(owner) = owner {
                out.push_str(&format!(" owned by {}", name(owner)));
            }
            if let Some(due) = due_at {
                out.push_str(&format!(", due {}", due.format("%Y-%m-%d %H:%M UTC")));
            }
            out
        }
        Event::PostmortemDone { link } => format!("Postmortem done: {link}"),
        Event::PostmortemReminded {} => return None,
        Event::ChannelArchived {} => "Channel archived".into(),
        Event::ChannelKept {} => "Channel kept from archiving".into(),
        Event::DuplicateOf { original } => format!("Closed as a duplicate of {original}"),
        Event::ImpactSet {
            started_at,
            ended_at,
            who,
        } => {
            let at = |t: &Option<DateTime<Utc>>| {
                t.map_or("?".to_string(), |t| t.format("%H:%M UTC").to_string())
            };
            let mut out = format!("Customer impact {} → {}", at(started_at), at(ended_at));
            if let Some(who) = who {
                out.push_str(&format!(": {}", text(who)));
            }
            out
        }
        Event::TicketChanged {
            ticket, closed, by, ..
        } => {
            let what = if *closed { "closed" } else { "reopened" };
            match by {
                Some(by) => format!("Follow-up {ticket} {what} by {by}"),
                None => format!("Follow-up {ticket} {what}"),
            }
        }
        Event::Escalated {
            users,
            group,
            message,
        } => {
            let mut who: Vec<String> = users.iter().map(|u| name(u)).collect();
            who.extend(group.iter().map(|g| format!("group {g}")));
            let mut out = format!("Escalated to {}", who.join(", "));
            if let Some(m) = message {
                out.push_str(&format!(": {}", text(m)));
            }
            out
        }
        Event::Resolved { text: t, .. } => match t {
            Some(t) => format!("Resolved: {}", text(t)),
            None => "Resolved".into(),
        },
        Event::Declined { reason } => match reason {
            Some(r) => format!("Declined: {}", text(r)),
            None => "Declined".into(),
        },
        Event::Reopened { from } => format!("Reopened (was {from})"),
        Event::SourceMessage {
            author_label,
            author,
            text: t,
            ..
        } => {
            let by = author
                .as_deref()
                .map(name)
                .or_else(|| author_label.clone())
                .unwrap_or_else(|| "someone".into());
            format!("Declared from a message by {by}: {}", text(t))
        }
        Event::AlertReceived {
            source,
            title,
            summary,
            ..
        } => match summary {
            Some(s) => format!("Alert from {source}: {title} — {s}"),
            None => format!("Alert from {source}: {title}"),
        },
        Event::AlertResolved { source, title, .. } => match title {
            Some(t) => format!("Alert from {source} resolved: {t}"),
            None => format!("Alert from {source} resolved"),
        },
        Event::Paged {
            service,
            message,
            rule,
        } => {
            let mut out = format!("Paged {service} on-call");
            if let Some(rule) = rule {
                out.push_str(&format!(" (rule “{rule}”)"));
            }
            if let Some(m) = message {
                out.push_str(&format!(": {}", text(m)));
            }
            out
        }
        Event::PageNews {
            service,
            what,
            by,
            after_s,
            ..
        } => {
            let mut out = format!("Page of {service} {}", what.as_str());
            if let Some(by) = by {
                out.push_str(&format!(" by {by}"));
            }
            if let Some(s) = after_s {
                out.push_str(&format!(" {}", crate::domain::outside::after_secs(*s)));
            }
            out
        }
        Event::StatusPublished { status, url, .. } => match url {
            Some(url) => format!("Status page: {status} ({url})"),
            None => format!("Status page: {status}"),
        },
        Event::StepFailed { step, error } => format!("The bot failed: {step} ({error})"),
        Event::ChannelCreated { .. }
        | Event::RuleApplied { .. }
        | Event::Announced { .. }
        | Event::Pinned { .. }
        | Event::Unpinned { .. }
        | Event::PinEdited { .. }
        | Event::PinDeleted { .. }
        | Event::Joined { .. }
        | Event::Snoozed { .. }
        | Event::RemindersSet { .. }
        | Event::Reminded { .. }
        | Event::Nudged {}
        | Event::PostmortemExported { .. } => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::incident::tests::sample;
    use crate::domain::{Severity, Status};
    use chrono::Duration;

    fn at(minutes: i64) -> DateTime<Utc> {
        sample(1).declared_at + Duration::minutes(minutes)
    }

    fn event(minutes: i64, actor: Option<&str>, entry: Event) -> TimelineEvent {
        TimelineEvent {
            entry,
            actor: actor.map(str::to_string),
            at: at(minutes),
        }
    }

    #[test]
    fn the_records_become_entries_phases_spans_and_follow_ups() {
        let mut incident = sample(1);
        incident.declared_by = "U1".into();
        incident.status = Status::Resolved;
        incident.resolved_at = Some(at(90));
        let sev = |n: &str| Severity::parse(n, 3).expect("sev");
        let timeline = vec![
            event(
                0,
                Some("U1"),
                Event::Declared {
                    title: incident.title.clone(),
                    severity: sev("1"),
                    status: Status::Investigating,
                    private: false,
                    roles: Default::default(),
                    services: Vec::new(),
                },
            ),
            event(
                1,
                None,
                Event::ChannelCreated {
                    channel_id: "C1".into(),
                    name: "inc-1".into(),
                    adopted: false,
                },
            ),
            event(
                20,
                Some("U2"),
                Event::Update {
                    text: "Rolled back <@U1>'s deploy & watching".into(),
                    status: Some(Status::Fixing),
                },
            ),
            event(
                30,
                Some("U2"),
                Event::StatusChanged {
                    from: Status::Investigating,
                    to: Status::Fixing,
                },
            ),
            event(40, None, Event::Reminded { late_ms: 0 }),
            event(
                50,
                Some("U1"),
                Event::FollowUp {
                    text: "Alert on <@U3>".into(),
                },
            ),
            event(
                90,
                Some("U1"),
                Event::Resolved {
                    from: Status::Fixing,
                    text: None,
                },
            ),
        ];
        let roles = vec![
            Held {
                role: Role::Coordinator,
                user: "U1".into(),
                from: at(0),
                to: Some(at(60)),
            },
            Held {
                role: Role::Coordinator,
                user: "U2".into(),
                from: at(60),
                to: None,
            },
        ];
        let people: HashMap<String, String> = [("U1", "alice"), ("U2", "bob")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(
            people_named(&incident, &timeline, &roles),
            ["U1", "U2", "U3"]
        );
        let input = assemble(Record {
            incident: &incident,
            timeline: &timeline,
            roles: &roles,
            pins: Vec::new(),
            people,
            generated_at: at(100),
            pins_may_be_stale: false,
        });
        let whats: Vec<&str> = input.entries.iter().map(|e| e.what.as_str()).collect();
        assert_eq!(
            whats,
            [
                "Declared as SEV1, investigating",
                "Update: Rolled back @alice's deploy & watching",
                "Status investigating → fixing",
                "Follow-up: Alert on @U3",
                "Resolved",
            ],
            "housekeeping is left out; mentions are names"
        );
        assert_eq!(
            input.entries[1].who.as_ref().map(|p| p.name.as_str()),
            Some("bob")
        );
        let phases: Vec<(&str, Option<DateTime<Utc>>)> = input
            .phases
            .iter()
            .map(|p| (p.status.as_str(), p.to))
            .collect();
        assert_eq!(
            phases,
            [("investigating", Some(at(30))), ("fixing", Some(at(90)))]
        );
        assert_eq!(input.first_coordinator_at, Some(at(0)));
        assert_eq!(input.roles[1].person.name, "bob");
        assert_eq!(input.roles[1].role, "Coordinator");
        assert_eq!(input.followups.len(), 1);
        assert_eq!(input.followups[0].text, "Alert on @U3");
        assert_eq!(input.declared_by.map(|p| p.name), Some("alice".into()));
    }

    #[test]
    fn mentions_are_found_with_or_without_a_label() {
        assert_eq!(
            mentions("<@U01> and <@U02|bob> in <#C01> cc <!subteam^S01>, not <@> or <#x>"),
            ["U01", "U02", "C01", "S01"]
        );
    }
}
