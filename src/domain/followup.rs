//! Follow-ups: the action items an incident leaves, read back from its timeline with what became
//! of each — the ticket it became in the tracker and whether the tracker says it is done.
//!
//! A follow-up is named by the time it was recorded ([`FollowUpId`], unix milliseconds): its
//! ticket's entries (`ticket_opened`, `ticket_changed`) name it so, and so do the ticket's
//! marker and the "Create ticket" button. Everything here is read from the timeline alone, so
//! `/inc followups`, the postmortem's checklist, the digest and `/inc stats` agree.

use chrono::{DateTime, Utc};

use super::UserId;
use super::outside::{FollowUpId, Tracker};
use super::timeline::{Entry, TimelineEvent};

/// A follow-up and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUp {
    pub id: FollowUpId,
    pub text: String,
    pub by: Option<UserId>,
    pub at: DateTime<Utc>,
    pub ticket: Option<Ticket>,
}

/// A follow-up's ticket in the tracker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub tracker: Tracker,
    /// How the tracker shows it: `#12`, `OPS-4`, `ENG-7`.
    pub name: String,
    pub url: Option<String>,
    /// When the tracker last said it was closed; `None` while it is open.
    pub closed_at: Option<DateTime<Utc>>,
    /// Who closed it, by the tracker's name for them.
    pub closed_by: Option<String>,
}

impl FollowUp {
    /// Done: its ticket is closed.
    pub fn done(&self) -> bool {
        self.ticket.as_ref().is_some_and(|t| t.closed_at.is_some())
    }
}

/// The follow-ups of a timeline, oldest first.
pub fn followups(timeline: &[TimelineEvent]) -> Vec<FollowUp> {
    let mut out: Vec<FollowUp> = Vec::new();
    for e in timeline {
        match &e.entry {
            Entry::FollowUp { text } => out.push(FollowUp {
                id: e.at.timestamp_millis(),
                text: text.clone(),
                by: e.actor.clone(),
                at: e.at,
                ticket: None,
            }),
            Entry::TicketOpened {
                followup,
                tracker,
                ticket,
                url,
            } => {
                if let Some(f) = out.iter_mut().find(|f| f.id == *followup) {
                    f.ticket = Some(Ticket {
                        tracker: *tracker,
                        name: ticket.clone(),
                        url: url.clone(),
                        closed_at: None,
                        closed_by: None,
                    });
                }
            }
            Entry::TicketChanged {
                followup,
                closed,
                by,
                ..
            } => {
                if let Some(t) = out
                    .iter_mut()
                    .find(|f| f.id == *followup)
                    .and_then(|f| f.ticket.as_mut())
                {
                    t.closed_at = closed.then_some(e.at);
                    t.closed_by = if *closed { by.clone() } else { None };
                }
            }
            _ => {}
        }
    }
    out
}

/// The follow-up named `id`, if the timeline has it.
pub fn find(timeline: &[TimelineEvent], id: FollowUpId) -> Option<FollowUp> {
    followups(timeline).into_iter().find(|f| f.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(ms).expect("time")
    }

    fn event(ms: i64, entry: Entry) -> TimelineEvent {
        TimelineEvent {
            entry,
            actor: Some("U1".into()),
            at: at(ms),
        }
    }

    #[test]
    fn a_follow_up_is_done_when_its_ticket_is_closed_and_not_after_it_is_reopened() {
        let mut timeline = vec![
            event(
                1_000,
                Entry::FollowUp {
                    text: "Add an alert".into(),
                },
            ),
            event(
                2_000,
                Entry::FollowUp {
                    text: "Fix the runbook".into(),
                },
            ),
            event(
                3_000,
                Entry::TicketOpened {
                    followup: 1_000,
                    tracker: Tracker::Github,
                    ticket: "#12".into(),
                    url: Some("https://github.com/o/r/issues/12".into()),
                },
            ),
            event(
                4_000,
                Entry::TicketChanged {
                    followup: 1_000,
                    ticket: "#12".into(),
                    closed: true,
                    by: Some("dana".into()),
                },
            ),
        ];
        let list = followups(&timeline);
        assert_eq!(list.len(), 2);
        assert!(list[0].done());
        assert_eq!(list[0].ticket.as_ref().unwrap().closed_at, Some(at(4_000)));
        assert_eq!(
            list[0].ticket.as_ref().unwrap().closed_by.as_deref(),
            Some("dana")
        );
        assert!(!list[1].done(), "no ticket, not done");
        timeline.push(event(
            5_000,
            Entry::TicketChanged {
                followup: 1_000,
                ticket: "#12".into(),
                closed: false,
                by: None,
            },
        ));
        assert!(!followups(&timeline)[0].done(), "reopened");
        assert_eq!(
            find(&timeline, 2_000).map(|f| f.text),
            Some("Fix the runbook".into())
        );
        assert_eq!(find(&timeline, 9_999), None);
    }
}
