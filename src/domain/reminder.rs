//! When the people waiting for news are owed an update, and when the bot reminds the incident's
//! team of it — the one promise the process makes, written as plain arithmetic on times.
//!
//! - The **interval** is `REMINDER_INTERVAL` (30 minutes), or the severity's own
//!   (`REMINDER_INTERVAL_SEV1`, …), or `REMINDER_INTERVAL_MONITORING` (4 hours) while the incident
//!   is monitoring — or what `/inc remind` set for this incident; `/inc remind off` pauses it.
//! - The next **update is due** one interval after the last update (the declaration counts as
//!   the first), or when a snooze ends if that is later. Resolved and declined incidents owe none.
//! - The next **reminder** fires when the update is due — and, once reminded, not again before
//!   another interval: after downtime an overdue reminder fires once and the cadence restarts
//!   from then, never a burst.
//!
//! - A new cadence set with `/inc remind` counts from when it is set ([`cadence_set`]).
//!
//! A coordinator **nudge** comes once, [`NUDGE_AFTER`] the declaration, if nobody coordinates
//! and the incident is still open ([`nudge_wanted`]).
//!
//! The **digest** is posted at each slot of its schedule ([`next_digest`]) that is still the
//! schedule's when it comes ([`digest_slot_current`]); after each, the next slot is the first
//! after now ([`digest_after`]), so a slot missed during downtime is posted once, late.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

use super::{Incident, Role, Severity, Status};

/// How long "Snooze 30m" defers the reminder.
pub const SNOOZE: Duration = Duration::minutes(30);
/// When an incident nobody coordinates gets its one nudge.
pub const NUDGE_AFTER: Duration = Duration::minutes(10);
/// A reminder this much past its time says it is late (the bot was down or behind).
pub const LATE: Duration = Duration::minutes(1);
/// The shortest and longest interval `/inc remind` accepts.
pub const MIN_INTERVAL: Duration = Duration::minutes(1);
pub const MAX_INTERVAL: Duration = Duration::days(7);

/// Why a text is not a reminder interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadInterval {
    /// Not a duration such as `15m` or `1h`.
    NotADuration,
    /// Shorter than [`MIN_INTERVAL`] or longer than [`MAX_INTERVAL`].
    OutOfRange,
}

/// A reminder interval as people write it (`15m`, `1h`, `1h 30m`), from [`MIN_INTERVAL`] to
/// [`MAX_INTERVAL`]: what `/inc remind` and the `REMINDER_INTERVAL*` settings both accept.
pub fn parse_interval(text: &str) -> Result<Duration, BadInterval> {
    let every = humantime::parse_duration(text.trim())
        .ok()
        .and_then(|d| Duration::from_std(d).ok())
        .ok_or(BadInterval::NotADuration)?;
    if every < MIN_INTERVAL || every > MAX_INTERVAL {
        return Err(BadInterval::OutOfRange);
    }
    Ok(every)
}

/// How often an incident is reminded, as configured for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cadence {
    /// The configured interval for its severity and status.
    #[default]
    Default,
    /// `/inc remind 15m`.
    Every(Duration),
    /// `/inc remind off`.
    Off,
}

/// The configured intervals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// `REMINDER_INTERVAL`.
    pub every: Duration,
    /// `REMINDER_INTERVAL_SEV<N>`, where set.
    pub by_severity: Vec<(Severity, Duration)>,
    /// `REMINDER_INTERVAL_MONITORING`.
    pub monitoring: Duration,
    /// `POSTMORTEM_DUE`, `ARCHIVE_AFTER`, `TZ`: after the incident.
    pub aftercare: super::aftercare::Aftercare,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            every: Duration::minutes(30),
            by_severity: Vec::new(),
            monitoring: Duration::hours(4),
            aftercare: super::aftercare::Aftercare::default(),
        }
    }
}

impl Policy {
    /// The interval between updates `incident` is owed now; `None` when it owes none.
    pub fn interval(&self, incident: &Incident) -> Option<Duration> {
        if incident.status.is_terminal() {
            return None;
        }
        match incident.cadence {
            Cadence::Off => None,
            Cadence::Every(every) => Some(every),
            Cadence::Default if incident.status == Status::Monitoring => Some(self.monitoring),
            Cadence::Default => Some(
                self.by_severity
                    .iter()
                    .find(|(sev, _)| *sev == incident.severity)
                    .map_or(self.every, |(_, every)| *every),
            ),
        }
    }

    /// When the next update is due.
    pub fn update_due(&self, incident: &Incident) -> Option<DateTime<Utc>> {
        let due = incident.last_update_at + self.interval(incident)?;
        Some(match incident.snoozed_until {
            Some(until) if until > due => until,
            _ => due,
        })
    }

    /// When the next reminder fires: when the update is due, but not within an interval of the
    /// last reminder.
    pub fn next_reminder(&self, incident: &Incident) -> Option<DateTime<Utc>> {
        let due = self.update_due(incident)?;
        let interval = self.interval(incident)?;
        Some(match incident.last_reminded_at {
            Some(reminded) if reminded + interval > due => reminded + interval,
            _ => due,
        })
    }
}

/// What a change does to an incident's pending update reminder (one job per incident).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rearm {
    /// Its time is the same: left alone, so a note never re-arms (and re-fires) a reminder being
    /// posted right now.
    Keep,
    /// It fires at this time now: an update pushed it back, a reopen or a new cadence armed it.
    At(DateTime<Utc>),
    /// No reminder is owed any more: resolved, declined, or reminders turned off.
    Cancel,
}

impl Policy {
    /// What becomes of the reminder when `before` becomes `after`.
    pub fn rearm(&self, before: &Incident, after: &Incident) -> Rearm {
        match (self.next_reminder(before), self.next_reminder(after)) {
            (then, now) if then == now => Rearm::Keep,
            (_, Some(at)) => Rearm::At(at),
            (_, None) => Rearm::Cancel,
        }
    }
}

/// A new cadence (`/inc remind`) counts from when it is set: under it, no update is owed before
/// one interval from `now` — turning reminders back on after two quiet hours starts a fresh
/// interval rather than firing at once a reminder that claims to be late.
pub fn cadence_set(policy: &Policy, incident: &mut Incident, now: DateTime<Utc>) {
    if let Some(interval) = policy.interval(incident) {
        let from = now + interval;
        incident.snoozed_until = Some(incident.snoozed_until.map_or(from, |s| s.max(from)));
    }
}

/// The first digest time strictly after `after`, with `schedule` read in `tz` (so `9:00 Mon-Fri`
/// is 9:00 local time in winter and in summer).
pub fn next_digest(
    schedule: &cron::Schedule,
    tz: Tz,
    after: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    schedule
        .after(&after.with_timezone(&tz))
        .next()
        .map(|t| t.with_timezone(&Utc))
}

/// Whether the nudge, when its time comes, is posted: only if nobody coordinates and the incident
/// is still open.
pub fn nudge_wanted(incident: &Incident) -> bool {
    incident.holder(Role::Coordinator).is_none() && !incident.status.is_terminal()
}

/// Whether `slot`, scheduled earlier, is still a slot of `schedule` in `tz`: one of an earlier
/// schedule (`DIGEST_CRON` or `TZ` changed across a restart) is not posted; the current
/// schedule's next slot takes its place.
pub fn digest_slot_current(schedule: &cron::Schedule, tz: Tz, slot: DateTime<Utc>) -> bool {
    next_digest(schedule, tz, slot - Duration::seconds(1)) == Some(slot)
}

/// The slot after the digest of `slot`, run at `now`: the next one after now, not after this one
/// — a digest missed while the bot was down is posted once, late, and the schedule carries on
/// from today.
pub fn digest_after(
    schedule: &cron::Schedule,
    tz: Tz,
    slot: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    next_digest(schedule, tz, slot.max(now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::incident::tests::sample;

    fn at(minutes: i64) -> DateTime<Utc> {
        sample(1).declared_at + Duration::minutes(minutes)
    }

    fn policy() -> Policy {
        Policy {
            every: Duration::minutes(30),
            by_severity: vec![(Severity::parse("1", 3).expect("sev"), Duration::minutes(15))],
            monitoring: Duration::hours(4),
            ..Policy::default()
        }
    }

    #[test]
    fn an_interval_is_a_duration_from_a_minute_to_a_week() {
        assert_eq!(parse_interval("15m"), Ok(Duration::minutes(15)));
        assert_eq!(parse_interval(" 1h 30m "), Ok(Duration::minutes(90)));
        assert_eq!(parse_interval("1m"), Ok(MIN_INTERVAL));
        assert_eq!(parse_interval("7d"), Ok(MAX_INTERVAL));
        for (text, why) in [
            ("soon", BadInterval::NotADuration),
            ("", BadInterval::NotADuration),
            ("-5m", BadInterval::NotADuration),
            ("59s", BadInterval::OutOfRange),
            ("0s", BadInterval::OutOfRange),
            ("8d", BadInterval::OutOfRange),
        ] {
            assert_eq!(parse_interval(text), Err(why), "{text:?}");
        }
    }

    #[test]
    fn the_interval_follows_severity_status_and_the_incidents_own_setting() {
        let mut inc = sample(1); // SEV1
        let p = policy();
        assert_eq!(p.interval(&inc), Some(Duration::minutes(15)));
        inc.severity = Severity::parse("2", 3).expect("sev");
        assert_eq!(p.interval(&inc), Some(Duration::minutes(30)));
        inc.status = Status::Monitoring;
        assert_eq!(p.interval(&inc), Some(Duration::hours(4)));
        inc.cadence = Cadence::Every(Duration::minutes(5));
        assert_eq!(p.interval(&inc), Some(Duration::minutes(5)));
        inc.cadence = Cadence::Off;
        assert_eq!(p.interval(&inc), None);
        inc.cadence = Cadence::Default;
        for closed in [Status::Resolved, Status::Declined] {
            inc.status = closed;
            assert_eq!(p.interval(&inc), None, "{closed}");
        }
    }

    #[test]
    fn an_update_is_due_an_interval_after_the_last_one_or_when_a_snooze_ends() {
        let mut inc = sample(1);
        inc.severity = Severity::parse("2", 3).expect("sev");
        let p = policy();
        assert_eq!(
            p.update_due(&inc),
            Some(at(30)),
            "the declaration is the first update"
        );
        inc.last_update_at = at(20);
        assert_eq!(p.update_due(&inc), Some(at(50)));
        inc.snoozed_until = Some(at(65));
        assert_eq!(p.update_due(&inc), Some(at(65)));
        inc.snoozed_until = Some(at(40));
        assert_eq!(
            p.update_due(&inc),
            Some(at(50)),
            "a snooze never brings it forward"
        );
    }

    #[test]
    fn a_new_cadence_counts_from_when_it_is_set() {
        let mut inc = sample(1);
        inc.severity = Severity::parse("2", 3).expect("sev");
        let p = policy();
        inc.cadence = Cadence::Off;
        assert_eq!(p.next_reminder(&inc), None);
        // Two hours later, reminders every 5 minutes: the first comes 5 minutes from then.
        inc.cadence = Cadence::Every(Duration::minutes(5));
        cadence_set(&p, &mut inc, at(120));
        assert_eq!(p.update_due(&inc), Some(at(125)));
        assert_eq!(p.next_reminder(&inc), Some(at(125)));
        // A snooze reaching further is kept.
        inc.snoozed_until = Some(at(150));
        cadence_set(&p, &mut inc, at(121));
        assert_eq!(p.next_reminder(&inc), Some(at(150)));
        // Off stays off.
        inc.cadence = Cadence::Off;
        cadence_set(&p, &mut inc, at(122));
        assert_eq!(p.next_reminder(&inc), None);
    }

    #[test]
    fn a_change_moves_the_reminder_only_when_its_time_moves() {
        let p = policy();
        let before = sample(1); // SEV1: every 15 minutes
        assert_eq!(p.rearm(&before, &before.clone()), Rearm::Keep);
        let mut noted = before.clone();
        noted.summary = Some("a summary moves no reminder".into());
        assert_eq!(p.rearm(&before, &noted), Rearm::Keep);
        let mut updated = before.clone();
        updated.last_update_at = at(10);
        assert_eq!(p.rearm(&before, &updated), Rearm::At(at(25)));
        let mut resolved = before.clone();
        resolved.status = Status::Resolved;
        assert_eq!(p.rearm(&before, &resolved), Rearm::Cancel);
        assert_eq!(p.rearm(&resolved, &resolved.clone()), Rearm::Keep);
        let mut reopened = resolved.clone();
        reopened.status = Status::Investigating;
        reopened.last_update_at = at(60);
        assert_eq!(p.rearm(&resolved, &reopened), Rearm::At(at(75)));
    }

    #[test]
    fn the_digest_keeps_local_time_across_a_daylight_saving_change() {
        use std::str::FromStr;
        let schedule = cron::Schedule::from_str("0 0 9 * * Mon-Fri").expect("cron");
        let berlin: Tz = "Europe/Berlin".parse().expect("tz");
        let utc = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .expect("time")
                .with_timezone(&Utc)
        };
        // Friday 27 March 2026, 09:00 CET is 08:00 UTC; the clocks go forward on Sunday the 29th,
        // so Monday's 09:00 CEST is 07:00 UTC.
        let friday = next_digest(&schedule, berlin, utc("2026-03-27T07:30:00Z"));
        assert_eq!(friday, Some(utc("2026-03-27T08:00:00Z")));
        let monday = next_digest(&schedule, berlin, utc("2026-03-27T08:00:00Z"));
        assert_eq!(
            monday,
            Some(utc("2026-03-30T07:00:00Z")),
            "the weekend is skipped"
        );
    }

    #[test]
    fn the_nudge_is_posted_only_while_nobody_coordinates_an_open_incident() {
        let mut inc = sample(1);
        assert!(!nudge_wanted(&inc), "alice coordinates");
        inc.roles.clear();
        inc.roles.push((Role::Operator, "U0BOB".into()));
        assert!(nudge_wanted(&inc), "an operator is not a coordinator");
        for closed in [Status::Resolved, Status::Declined] {
            inc.status = closed;
            assert!(!nudge_wanted(&inc), "{closed}");
        }
    }

    #[test]
    fn a_digest_slot_is_posted_while_it_is_the_schedules_and_the_next_is_after_now() {
        use std::str::FromStr;
        let schedule = cron::Schedule::from_str("0 0 9 * * Mon-Fri").expect("cron");
        let utc = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .expect("time")
                .with_timezone(&Utc)
        };
        let monday = utc("2026-03-30T09:00:00Z");
        assert!(digest_slot_current(&schedule, Tz::UTC, monday));
        let berlin: Tz = "Europe/Berlin".parse().expect("tz");
        assert!(
            !digest_slot_current(&schedule, berlin, monday),
            "scheduled in UTC, then TZ changed: 09:00 UTC is not 09:00 in Berlin"
        );
        assert!(!digest_slot_current(
            &schedule,
            Tz::UTC,
            utc("2026-03-30T09:30:00Z")
        ));
        // Run on time: the next slot is Tuesday's.
        let tuesday = utc("2026-03-31T09:00:00Z");
        assert_eq!(
            digest_after(&schedule, Tz::UTC, monday, monday),
            Some(tuesday)
        );
        // Run on Wednesday at noon after two days down: Thursday's, not Tuesday's (no burst).
        let wednesday_noon = utc("2026-04-01T12:00:00Z");
        assert_eq!(
            digest_after(&schedule, Tz::UTC, monday, wednesday_noon),
            Some(utc("2026-04-02T09:00:00Z"))
        );
    }

    #[test]
    fn once_reminded_the_next_reminder_is_an_interval_later_never_a_burst() {
        let mut inc = sample(1);
        inc.severity = Severity::parse("2", 3).expect("sev");
        let p = policy();
        assert_eq!(p.next_reminder(&inc), Some(at(30)));
        // Three hours of downtime: the overdue reminder fires once at 3 h 10 min…
        inc.last_reminded_at = Some(at(190));
        // …and the next one is an interval after it, not "every 30 minutes since".
        assert_eq!(p.next_reminder(&inc), Some(at(220)));
        // An update resets everything from itself.
        inc.last_update_at = at(200);
        assert_eq!(p.next_reminder(&inc), Some(at(230)));
        inc.status = Status::Resolved;
        assert_eq!(p.next_reminder(&inc), None);
    }
}
