//! `/inc stats`: what a period's incidents say about the response — how many were declared, by
//! severity and status; MTTA (declared → first coordinator) and MTTR (declared → resolved) as
//! median and p90; the triage and resolution SLO breaches; the resolved incidents without a
//! postmortem. Pure: the store hands over the period's incidents with the facts read from their
//! role history and timeline ([`Facts`]), and `now` comes as an argument.
//!
//! The rules:
//! - percentiles are nearest-rank: the p-th percentile of n sorted values is the value at rank
//!   ⌈p·n⌉, so every figure shown is one incident's real duration;
//! - declined incidents (false alarms) count in the totals but in no duration and no SLO;
//! - an incident still without a coordinator breaches the triage SLO once it is older than the
//!   target (or was resolved later than that), and one still open breaches the resolution SLO
//!   once it is older than that target: a breach is not hidden by not finishing;
//! - drills and incidents closed as duplicates are counted apart and in nothing else;
//! - private incidents are counted everywhere but named only to their members
//!   ([`Incident::visible_to`]); others see "1 private incident".

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::followup::FollowUp;
use super::message::span;
use super::{Incident, IncidentId, Severity, Status};

/// How many incidents a breach list names before it says "and N more".
const MAX_NAMED: usize = 10;

/// One incident of the period, with what its history says.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    pub incident: Incident,
    /// When somebody first held the coordinator role (at declaration for the declarer).
    pub first_coordinator_at: Option<DateTime<Utc>>,
    /// Whether the timeline has a [`POSTMORTEM_EXPORTED`](super::timeline::POSTMORTEM_EXPORTED) entry.
    pub postmortem_exported: bool,
}

/// The targets (`SLO_TRIAGE`, `SLO_RESOLUTION`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slos {
    pub triage: Duration,
    pub resolution: Duration,
}

/// A median and a p90 over `count` durations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Figures {
    pub median: chrono::Duration,
    pub p90: chrono::Duration,
    pub count: usize,
}

/// Incidents named in a list: the references `viewer` may see, and how many private ones were
/// left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Named {
    pub shown: Vec<String>,
    pub hidden: usize,
}

impl Named {
    pub fn len(&self) -> usize {
        self.shown.len() + self.hidden
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn push(&mut self, incident: &Incident, viewer: &str, participating: &HashSet<IncidentId>) {
        if incident.visible_to(viewer, participating.contains(&incident.id)) {
            self.shown.push(incident.reference());
        } else {
            self.hidden += 1;
        }
    }
}

/// The figures for one period, as `viewer` may see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub days: u32,
    pub declared: usize,
    pub by_severity: BTreeMap<Severity, usize>,
    /// Statuses in lifecycle order, only those with incidents.
    pub by_status: Vec<(Status, usize)>,
    pub mtta: Option<Figures>,
    /// Incidents (not declined) that still have had no coordinator.
    pub without_coordinator: usize,
    pub mttr: Option<Figures>,
    pub slos: Slos,
    pub triage_breaches: Named,
    pub resolution_breaches: Named,
    pub without_postmortem: Named,
    /// The follow-ups of the period's resolved incidents, where a tracker says when they are
    /// done ([`Report::with_followups`]).
    pub followups: Option<FollowUpFigures>,
    /// Resolved incidents whose postmortem had a deadline: done by it, done after it, and still
    /// not done past it.
    pub postmortems_on_time: usize,
    pub postmortems_late: usize,
    pub postmortems_overdue: usize,
    /// Customers' impact summed over the incidents that recorded one (an impact not ended yet
    /// counts to now), and how many did.
    pub impact: chrono::Duration,
    pub impacted: usize,
    /// Drills and incidents closed as duplicates: counted apart, in no other figure.
    pub drills: usize,
    pub duplicates: usize,
}

/// How the follow-ups of resolved incidents fared against their deadline (`FOLLOWUP_DUE` after
/// the resolution). Follow-ups whose deadline has not come and that are not done yet are not
/// counted: they are neither on time nor late yet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FollowUpFigures {
    pub due: Duration,
    pub on_time: usize,
    pub late: usize,
    /// Past the deadline and still open.
    pub overdue: usize,
}

impl FollowUpFigures {
    /// Counts `followups` of each incident (resolved ones only) as of `now`.
    pub fn count(
        incidents: &[(Incident, Vec<FollowUp>)],
        due: Duration,
        now: DateTime<Utc>,
    ) -> FollowUpFigures {
        let mut out = FollowUpFigures {
            due,
            ..FollowUpFigures::default()
        };
        let due_after = chrono::Duration::from_std(due).unwrap_or(chrono::Duration::MAX);
        for (incident, followups) in incidents {
            let (Status::Resolved, Some(resolved)) = (incident.status, incident.resolved_at) else {
                continue;
            };
            if incident.drill || incident.duplicate_of.is_some() {
                continue;
            }
            let deadline = resolved + due_after;
            for f in followups {
                match f.ticket.as_ref().and_then(|t| t.closed_at) {
                    Some(closed) if closed <= deadline => out.on_time += 1,
                    Some(_) => out.late += 1,
                    None if now > deadline => out.overdue += 1,
                    None => {}
                }
            }
        }
        out
    }
}

impl Report {
    /// The report with the follow-ups' figures.
    pub fn with_followups(self, figures: FollowUpFigures) -> Report {
        Report {
            followups: Some(figures),
            ..self
        }
    }
}

/// Computes the report over `facts` (the incidents declared in the last `days` days).
pub fn report(
    facts: &[Facts],
    days: u32,
    slos: Slos,
    viewer: &str,
    participating: &HashSet<IncidentId>,
    now: DateTime<Utc>,
) -> Report {
    let mut by_severity = BTreeMap::new();
    let mut statuses = BTreeMap::new();
    let mut to_coordinator = Vec::new();
    let mut to_resolve = Vec::new();
    let mut without_coordinator = 0;
    let mut triage_breaches = Named::default();
    let mut resolution_breaches = Named::default();
    let mut without_postmortem = Named::default();
    // On time, late, overdue.
    let mut postmortems = (0, 0, 0);
    let triage_slo = chrono::Duration::from_std(slos.triage).unwrap_or(chrono::Duration::MAX);
    let resolution_slo =
        chrono::Duration::from_std(slos.resolution).unwrap_or(chrono::Duration::MAX);
    let (mut drills, mut duplicates) = (0, 0);
    let (mut impact, mut impacted) = (chrono::Duration::zero(), 0);
    for f in facts {
        let i = &f.incident;
        // Exercises and duplicates would skew every figure: counted apart, nothing more.
        if i.drill {
            drills += 1;
            continue;
        }
        if i.duplicate_of.is_some() {
            duplicates += 1;
            continue;
        }
        *by_severity.entry(i.severity).or_insert(0) += 1;
        if let Some(start) = i.impact_started_at {
            impact += (i.impact_ended_at.unwrap_or(now) - start).max(chrono::Duration::zero());
            impacted += 1;
        }
        let position = Status::ALL.iter().position(|s| *s == i.status).unwrap_or(0);
        *statuses.entry(position).or_insert(0) += 1;
        if i.status == Status::Declined {
            continue;
        }
        // When the clock stops: resolution, or now for an incident still open.
        let end = match (i.status, i.resolved_at) {
            (Status::Resolved, Some(at)) => at,
            _ => now,
        };
        let took_coordinator = match f.first_coordinator_at {
            Some(at) => {
                let d = (at - i.declared_at).max(chrono::Duration::zero());
                to_coordinator.push(d);
                d
            }
            None => {
                without_coordinator += 1;
                end - i.declared_at
            }
        };
        if took_coordinator > triage_slo {
            triage_breaches.push(i, viewer, participating);
        }
        if let (Status::Resolved, Some(due)) = (i.status, i.postmortem.due_at) {
            match i.postmortem.done_at {
                Some(done) if done <= due => postmortems.0 += 1,
                Some(_) => postmortems.1 += 1,
                None if now > due => postmortems.2 += 1,
                None => {}
            }
        }
        if i.status == Status::Resolved {
            let d = (end - i.declared_at).max(chrono::Duration::zero());
            to_resolve.push(d);
            if !f.postmortem_exported {
                without_postmortem.push(i, viewer, participating);
            }
        }
        if end - i.declared_at > resolution_slo {
            resolution_breaches.push(i, viewer, participating);
        }
    }
    Report {
        days,
        declared: facts.len() - drills - duplicates,
        by_severity,
        by_status: statuses
            .into_iter()
            .map(|(position, n)| (Status::ALL[position], n))
            .collect(),
        mtta: figures(to_coordinator),
        without_coordinator,
        mttr: figures(to_resolve),
        slos,
        triage_breaches,
        resolution_breaches,
        without_postmortem,
        followups: None,
        postmortems_on_time: postmortems.0,
        postmortems_late: postmortems.1,
        postmortems_overdue: postmortems.2,
        impact,
        impacted,
        drills,
        duplicates,
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn figures(mut values: Vec<chrono::Duration>) -> Option<Figures> {
    if values.is_empty() {
        return None;
    }
    values.sort();
    Some(Figures {
        median: nearest_rank(&values, 50),
        p90: nearest_rank(&values, 90),
        count: values.len(),
    })
}

/// The `percent`-th percentile of sorted `values` by nearest rank: rank ⌈percent·n/100⌉.
fn nearest_rank(values: &[chrono::Duration], percent: usize) -> chrono::Duration {
    let rank = (percent * values.len()).div_ceil(100).max(1);
    values[rank - 1]
}

/// The ephemeral reply to `/inc stats`.
pub fn render(r: &Report) -> String {
    let period = match r.days {
        1 => "the last day".to_string(),
        n => format!("the last {n} days"),
    };
    let apart = match (r.drills, r.duplicates) {
        (0, 0) => String::new(),
        (d, 0) => format!(" (and {d} drill{} left out)", plural(d)),
        (0, u) => format!(" (and {u} duplicate{} left out)", plural(u)),
        (d, u) => format!(
            " (and {d} drill{}, {u} duplicate{} left out)",
            plural(d),
            plural(u)
        ),
    };
    if r.declared == 0 {
        return format!("No incidents were declared in {period}{apart}.");
    }
    let mut out = format!("*Incidents declared in {period}: {}*{apart}", r.declared);
    let severities: Vec<String> = r
        .by_severity
        .iter()
        .map(|(sev, n)| format!("{sev} {n}"))
        .collect();
    out.push_str(&format!("\nBy severity: {}", severities.join(" · ")));
    let statuses: Vec<String> = r
        .by_status
        .iter()
        .map(|(status, n)| format!("{status} {n}"))
        .collect();
    out.push_str(&format!("\nBy status: {}", statuses.join(" · ")));
    out.push_str("\n*Time to coordinator (MTTA)*: ");
    match &r.mtta {
        Some(f) => out.push_str(&format!(
            "median {} · p90 {} ({} with a coordinator",
            span(f.median),
            span(f.p90),
            f.count
        )),
        None => out.push_str("nobody has coordinated yet ("),
    }
    match r.without_coordinator {
        0 if r.mtta.is_some() => out.push(')'),
        n => out.push_str(&format!(
            "{}{n} without one)",
            if r.mtta.is_some() { "; " } else { "" }
        )),
    }
    out.push_str("\n*Time to resolve (MTTR)*: ");
    match &r.mttr {
        Some(f) => out.push_str(&format!(
            "median {} · p90 {} ({} resolved)",
            span(f.median),
            span(f.p90),
            f.count
        )),
        None => out.push_str("none resolved yet"),
    }
    out.push_str(&breaches(
        "Triage SLO",
        r.slos.triage,
        "declared → coordinator",
        &r.triage_breaches,
    ));
    out.push_str(&breaches(
        "Resolution SLO",
        r.slos.resolution,
        "declared → resolved",
        &r.resolution_breaches,
    ));
    out.push_str(&format!(
        "\n*Resolved without a postmortem*: {}",
        listing(&r.without_postmortem, "none")
    ));
    if r.impacted > 0 {
        out.push_str(&format!(
            "\n*Customer impact*: {} in all, over {} incident{}",
            span(r.impact),
            r.impacted,
            plural(r.impacted)
        ));
    }
    let owed = r.postmortems_on_time + r.postmortems_late + r.postmortems_overdue;
    if owed > 0 {
        out.push_str(&format!(
            "\n*Postmortems done on time*: {} of {owed} · {} done late · {} overdue",
            r.postmortems_on_time, r.postmortems_late, r.postmortems_overdue
        ));
    }
    if let Some(f) = &r.followups {
        let counted = f.on_time + f.late + f.overdue;
        let due = humantime::format_duration(f.due);
        match counted {
            0 => out.push_str(&format!(
                "\n*Follow-ups done on time* (within {due} of the resolution): none due yet"
            )),
            _ => out.push_str(&format!(
                "\n*Follow-ups done on time* (within {due} of the resolution): {} of {counted} · {} done late · {} overdue",
                f.on_time, f.late, f.overdue
            )),
        }
    }
    out
}

fn breaches(name: &str, target: Duration, what: &str, named: &Named) -> String {
    let target = chrono::Duration::from_std(target).unwrap_or(chrono::Duration::MAX);
    format!(
        "\n*{name}* ({}, {what}): {}",
        span(target),
        listing(named, "no breaches")
    )
}

/// `2 — INC-3, INC-5 and 1 private incident`.
fn listing(named: &Named, none: &str) -> String {
    if named.is_empty() {
        return none.to_string();
    }
    let mut parts: Vec<String> = named.shown.iter().take(MAX_NAMED).cloned().collect();
    let more = named.shown.len().saturating_sub(MAX_NAMED);
    if more > 0 {
        parts.push(format!("{more} more"));
    }
    match named.hidden {
        0 => {}
        1 => parts.push("1 private incident".into()),
        n => parts.push(format!("{n} private incidents")),
    }
    let list = match parts.len() {
        1 => parts.remove(0),
        _ => {
            let last = parts.pop().unwrap_or_default();
            format!("{} and {last}", parts.join(", "))
        }
    };
    format!("{} — {list}", named.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::incident::tests::sample;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + minutes * 60, 0).expect("time")
    }

    fn mins(m: i64) -> chrono::Duration {
        chrono::Duration::minutes(m)
    }

    const HOUR: Duration = Duration::from_secs(3600);
    const SLOS: Slos = Slos {
        triage: HOUR,
        resolution: Duration::from_secs(4 * 3600),
    };

    /// Incident `n` declared at minute 0, coordinator after `coordinator` minutes, resolved
    /// after `resolved` minutes (or still open).
    fn facts(n: i64, coordinator: Option<i64>, resolved: Option<i64>) -> Facts {
        let mut incident = sample(n);
        incident.declared_at = at(0);
        if let Some(r) = resolved {
            incident.status = Status::Resolved;
            incident.resolved_at = Some(at(r));
        }
        Facts {
            incident,
            first_coordinator_at: coordinator.map(at),
            postmortem_exported: false,
        }
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<chrono::Duration> = (1..=10).map(mins).collect();
        assert_eq!(nearest_rank(&values, 50), mins(5));
        assert_eq!(nearest_rank(&values, 90), mins(9));
        assert_eq!(nearest_rank(&[mins(7)], 90), mins(7));
        let two = [mins(1), mins(3)];
        assert_eq!(
            (nearest_rank(&two, 50), nearest_rank(&two, 90)),
            (mins(1), mins(3))
        );
    }

    #[test]
    fn mtta_and_mttr_come_from_coordinators_and_resolutions() {
        let all: Vec<Facts> = (1..=10).map(|n| facts(n, Some(n), Some(n * 30))).collect();
        let r = report(&all, 30, SLOS, "U0ALICE", &HashSet::new(), at(1_000));
        assert_eq!(r.declared, 10);
        let mtta = r.mtta.expect("mtta");
        assert_eq!((mtta.median, mtta.p90, mtta.count), (mins(5), mins(9), 10));
        let mttr = r.mttr.expect("mttr");
        assert_eq!((mttr.median, mttr.p90), (mins(150), mins(270)));
        // Resolution target 4 h = 240 min: incidents 9 and 10 (270, 300 min) breach it.
        assert_eq!(r.resolution_breaches.shown, ["INC-9", "INC-10"]);
        assert!(r.triage_breaches.is_empty());
        assert_eq!(r.without_postmortem.len(), 10);
    }

    #[test]
    fn unfinished_incidents_breach_once_older_than_the_target() {
        let now = at(300);
        let all = vec![
            // No coordinator for 5 h and still open: both targets breached.
            facts(1, None, None),
            // Coordinated at once, open for 5 h: resolution breached.
            facts(2, Some(0), None),
            // Declined: counted, never breaching.
            Facts {
                incident: Incident {
                    status: Status::Declined,
                    ..sample(3)
                },
                first_coordinator_at: None,
                postmortem_exported: false,
            },
        ];
        let mut all = all;
        all[2].incident.declared_at = at(0);
        let r = report(&all, 7, SLOS, "U0ALICE", &HashSet::new(), now);
        assert_eq!(r.triage_breaches.shown, ["INC-1"]);
        assert_eq!(r.resolution_breaches.shown, ["INC-1", "INC-2"]);
        assert_eq!(r.without_coordinator, 1);
        assert_eq!(
            r.by_status,
            [(Status::Investigating, 2), (Status::Declined, 1)]
        );
    }

    #[test]
    fn private_incidents_are_counted_but_not_named_to_others() {
        let mut secret = facts(2, Some(90), Some(600));
        secret.incident.private = true;
        let all = vec![facts(1, Some(90), Some(600)), secret];
        let outsider = report(&all, 30, SLOS, "U0MALLORY", &HashSet::new(), at(700));
        assert_eq!(outsider.triage_breaches.shown, ["INC-1"]);
        assert_eq!(outsider.triage_breaches.hidden, 1);
        let text = render(&outsider);
        assert!(!text.contains("INC-2"), "{text}");
        assert!(
            text.contains(
                "*Triage SLO* (1 h, declared → coordinator): 2 — INC-1 and 1 private incident"
            ),
            "{text}"
        );
        let member = report(&all, 30, SLOS, "U0ALICE", &HashSet::new(), at(700));
        assert_eq!(member.triage_breaches.shown, ["INC-1", "INC-2"]);
    }

    #[test]
    fn the_reply_reads_as_a_summary() {
        let mut exported = facts(3, Some(0), Some(45));
        exported.postmortem_exported = true;
        let all = vec![facts(1, Some(0), Some(30)), facts(2, None, None), exported];
        let text = render(&report(&all, 30, SLOS, "U0ALICE", &HashSet::new(), at(60)));
        assert_eq!(
            text,
            "*Incidents declared in the last 30 days: 3*\n\
             By severity: SEV1 3\n\
             By status: investigating 1 · resolved 2\n\
             *Time to coordinator (MTTA)*: median under a minute · p90 under a minute (2 with a coordinator; 1 without one)\n\
             *Time to resolve (MTTR)*: median 30 min · p90 45 min (2 resolved)\n\
             *Triage SLO* (1 h, declared → coordinator): no breaches\n\
             *Resolution SLO* (4 h, declared → resolved): no breaches\n\
             *Resolved without a postmortem*: 1 — INC-1"
        );
        assert_eq!(
            render(&report(&[], 1, SLOS, "U0ALICE", &HashSet::new(), at(0))),
            "No incidents were declared in the last day."
        );
    }

    #[test]
    fn long_lists_say_how_many_more() {
        let all: Vec<Facts> = (1..=13).map(|n| facts(n, Some(0), Some(10))).collect();
        let r = report(&all, 30, SLOS, "U0ALICE", &HashSet::new(), at(20));
        assert!(
            render(&r).ends_with("13 — INC-1, INC-2, INC-3, INC-4, INC-5, INC-6, INC-7, INC-8, INC-9, INC-10 and 3 more"),
            "{}",
            render(&r)
        );
    }
}

#[cfg(test)]
mod followup_tests {
    use super::*;
    use crate::domain::followup::Ticket;
    use crate::domain::outside::Tracker;

    fn at(hours: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + hours * 3600, 0).expect("time")
    }

    fn followup(closed: Option<i64>, filed: bool) -> FollowUp {
        FollowUp {
            id: 1,
            text: "f".into(),
            by: None,
            at: at(0),
            ticket: filed.then(|| Ticket {
                tracker: Tracker::Github,
                name: "#1".into(),
                url: None,
                closed_at: closed.map(at),
                closed_by: None,
            }),
        }
    }

    #[test]
    fn follow_ups_count_on_time_late_and_overdue_against_the_deadline_after_resolution() {
        let mut resolved = crate::domain::incident::tests::sample(1);
        resolved.status = Status::Resolved;
        resolved.resolved_at = Some(at(1));
        let open = crate::domain::incident::tests::sample(2);
        let due = Duration::from_secs(24 * 3600);
        let incidents = vec![
            (
                resolved,
                vec![
                    followup(Some(10), true), // within a day of the resolution
                    followup(Some(30), true), // after the deadline
                    followup(None, true),     // open, deadline passed
                    followup(None, false),    // never filed, deadline passed
                ],
            ),
            (open, vec![followup(None, false)]),
        ];
        let f = FollowUpFigures::count(&incidents, due, at(48));
        assert_eq!((f.on_time, f.late, f.overdue), (1, 1, 2));
        let early = FollowUpFigures::count(&incidents, due, at(12));
        assert_eq!(
            (early.on_time, early.late, early.overdue),
            (1, 1, 0),
            "not due yet"
        );
    }
}
