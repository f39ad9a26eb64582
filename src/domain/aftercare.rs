//! After the incident: **when** the postmortem's owner is reminded and **when** the channel is
//! archived — plain arithmetic on times, like `reminder`.
//!
//! - The postmortem is due `POSTMORTEM_DUE` working days (Monday to Friday, in `TZ`) after the
//!   resolution, unless someone set its deadline. Its owner is reminded a day before the
//!   deadline, at the deadline, and then once a day while it is overdue — at the slots
//!   `due - 1d, due, due + 1d, due + 2d, …` — until it is done (`/inc postmortem done <link>`).
//!   A slot is posted once: after downtime the latest missed slot is posted, late, and the next
//!   one waits for its time.
//! - With `ARCHIVE_AFTER` set, a resolved incident's channel is looked at a day before
//!   `resolved + ARCHIVE_AFTER` (the channel is told, and can say `/inc keep`), then archived at
//!   that time once its postmortem is done — or at once when its owner says `/inc archive`. A
//!   kept channel (`/inc keep`) is never archived.

use chrono::{DateTime, Datelike, Duration, Utc, Weekday};
use chrono_tz::Tz;

use super::reminder::Rearm;
use super::{Incident, Status};

/// A day: the spacing of the postmortem's reminders, and the archive's notice.
pub const DAY: Duration = Duration::days(1);

/// The configured aftercare (`POSTMORTEM_DUE`, `ARCHIVE_AFTER`, `TZ`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aftercare {
    /// Working days from the resolution to the postmortem's deadline.
    pub postmortem_due_days: u32,
    /// How long after its resolution a channel is archived; `None`: never.
    pub archive_after: Option<Duration>,
    /// Where working days are counted.
    pub tz: Tz,
}

impl Default for Aftercare {
    fn default() -> Aftercare {
        Aftercare {
            postmortem_due_days: 5,
            archive_after: None,
            tz: Tz::UTC,
        }
    }
}

/// `days` working days (Monday to Friday in `tz`) after `from`, at the same local time.
pub fn add_working_days(from: DateTime<Utc>, days: u32, tz: Tz) -> DateTime<Utc> {
    let mut at = from.with_timezone(&tz);
    let mut left = days;
    while left > 0 {
        // A day later at the same local time; across a DST change, the same UTC offset step.
        at = (at.naive_local() + DAY)
            .and_local_timezone(tz)
            .earliest()
            .unwrap_or(at + DAY);
        if !matches!(at.weekday(), Weekday::Sat | Weekday::Sun) {
            left -= 1;
        }
    }
    at.with_timezone(&Utc)
}

/// Whether `incident`'s postmortem is owed: resolved, with an owner and a deadline, not done.
fn postmortem_owed(incident: &Incident) -> Option<DateTime<Utc>> {
    let plan = &incident.postmortem;
    match (incident.status, &plan.owner, plan.due_at, plan.done_at) {
        (Status::Resolved, Some(_), Some(due), None) => Some(due),
        _ => None,
    }
}

/// The latest reminder slot at or before `at`; `None` before the first (or when none is owed).
pub fn postmortem_slot_at_or_before(
    incident: &Incident,
    at: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let due = postmortem_owed(incident)?;
    let first = due - DAY;
    if at < first {
        return None;
    }
    if at < due {
        return Some(first);
    }
    let days = (at - due).num_milliseconds() / DAY.num_milliseconds();
    Some(due + DAY * days as i32)
}

/// The first reminder slot strictly after `at` (when one is owed).
pub fn postmortem_slot_after(incident: &Incident, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let due = postmortem_owed(incident)?;
    let first = due - DAY;
    if at < first {
        return Some(first);
    }
    match postmortem_slot_at_or_before(incident, at) {
        Some(slot) if slot < due => Some(due),
        Some(slot) => Some(slot + DAY),
        None => Some(first),
    }
}

/// When the postmortem's reminder is next due from `now`: the slot now if it is one, else the
/// next.
pub fn next_postmortem_reminder(incident: &Incident, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    postmortem_slot_after(incident, now - Duration::milliseconds(1))
}

/// When the channel's archiving is next looked at: a day before it is due (the notice), then
/// when it is due. `None`: not resolved, no channel, kept, archived, or archiving is off.
pub fn archive_check_at(incident: &Incident, care: &Aftercare) -> Option<DateTime<Utc>> {
    let after = care.archive_after?;
    if incident.status != Status::Resolved
        || incident.keep_channel
        || incident.archived_at.is_some()
        || incident.channel_id.is_none()
    {
        return None;
    }
    let resolved = incident.resolved_at?;
    Some(resolved + after - DAY.min(after))
}

/// When the channel is due to be archived (the notice went out a day before).
pub fn archive_due_at(incident: &Incident, care: &Aftercare) -> Option<DateTime<Utc>> {
    archive_check_at(incident, care)?;
    Some(incident.resolved_at? + care.archive_after?)
}

/// Whether the channel may be archived now that it is due: its postmortem is done (or none is
/// owed: nobody owns it).
pub fn archive_ready(incident: &Incident) -> bool {
    incident.postmortem.done_at.is_some() || incident.postmortem.owner.is_none()
}

/// What a change does to the postmortem's reminder and to the archive check.
pub fn rearm(
    before: &Incident,
    after: &Incident,
    care: &Aftercare,
    now: DateTime<Utc>,
) -> (Rearm, Rearm) {
    let moved = |then: Option<DateTime<Utc>>, next: Option<DateTime<Utc>>| match (then, next) {
        (then, next) if then == next => Rearm::Keep,
        (_, Some(at)) => Rearm::At(at),
        (_, None) => Rearm::Cancel,
    };
    (
        moved(
            next_postmortem_reminder(before, now),
            next_postmortem_reminder(after, now),
        ),
        moved(
            archive_check_at(before, care),
            archive_check_at(after, care),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::incident::tests::sample;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

    fn resolved(due: &str) -> Incident {
        let mut i = sample(1);
        i.status = Status::Resolved;
        i.resolved_at = Some(utc("2026-12-01T10:00:00Z"));
        i.postmortem.owner = Some("U0DANA".into());
        i.postmortem.due_at = Some(utc(due));
        i
    }

    #[test]
    fn five_working_days_skip_the_weekend_in_the_teams_zone() {
        let berlin: Tz = "Europe/Berlin".parse().expect("tz");
        // Friday 4 Dec 2026, 15:00 in Berlin → Friday 11 Dec, 15:00.
        let friday = utc("2026-12-04T14:00:00Z");
        assert_eq!(
            add_working_days(friday, 5, berlin),
            utc("2026-12-11T14:00:00Z")
        );
        // Saturday → the first working day is Monday.
        assert_eq!(
            add_working_days(utc("2026-12-05T09:00:00Z"), 1, Tz::UTC),
            utc("2026-12-07T09:00:00Z")
        );
        // 23:30 UTC on Friday is already Saturday 00:30 in Berlin: Monday, then Tuesday,
        // at 00:30 Berlin time — 23:30 UTC the evening before.
        assert_eq!(
            add_working_days(utc("2026-12-04T23:30:00Z"), 2, berlin),
            utc("2026-12-07T23:30:00Z")
        );
    }

    #[test]
    fn the_owner_is_reminded_a_day_before_at_the_deadline_then_daily() {
        let i = resolved("2026-12-08T10:00:00Z");
        let slot = |t: &str| postmortem_slot_at_or_before(&i, utc(t));
        assert_eq!(
            slot("2026-12-07T09:59:59Z"),
            None,
            "not before the day before"
        );
        assert_eq!(
            slot("2026-12-07T10:00:00Z"),
            Some(utc("2026-12-07T10:00:00Z"))
        );
        assert_eq!(
            slot("2026-12-08T09:00:00Z"),
            Some(utc("2026-12-07T10:00:00Z"))
        );
        assert_eq!(
            slot("2026-12-08T10:00:00Z"),
            Some(utc("2026-12-08T10:00:00Z"))
        );
        assert_eq!(
            slot("2026-12-11T17:00:00Z"),
            Some(utc("2026-12-11T10:00:00Z"))
        );
        let next = |t: &str| postmortem_slot_after(&i, utc(t));
        assert_eq!(
            next("2026-12-01T10:00:00Z"),
            Some(utc("2026-12-07T10:00:00Z"))
        );
        assert_eq!(
            next("2026-12-07T10:00:00Z"),
            Some(utc("2026-12-08T10:00:00Z"))
        );
        assert_eq!(
            next("2026-12-11T17:00:00Z"),
            Some(utc("2026-12-12T10:00:00Z"))
        );
        assert_eq!(
            next_postmortem_reminder(&i, utc("2026-12-08T10:00:00Z")),
            Some(utc("2026-12-08T10:00:00Z")),
            "a slot that is now is due now"
        );
        let mut done = i.clone();
        done.postmortem.done_at = Some(utc("2026-12-05T10:00:00Z"));
        assert_eq!(
            next_postmortem_reminder(&done, utc("2026-12-06T00:00:00Z")),
            None
        );
    }

    #[test]
    fn a_channel_is_looked_at_a_day_before_it_is_archived_unless_kept() {
        let care = Aftercare {
            archive_after: Some(Duration::days(14)),
            ..Aftercare::default()
        };
        let mut i = resolved("2026-12-08T10:00:00Z");
        assert_eq!(
            archive_check_at(&i, &care),
            Some(utc("2026-12-14T10:00:00Z"))
        );
        assert_eq!(archive_due_at(&i, &care), Some(utc("2026-12-15T10:00:00Z")));
        assert!(!archive_ready(&i), "the postmortem is not done");
        i.postmortem.done_at = Some(utc("2026-12-09T10:00:00Z"));
        assert!(archive_ready(&i));
        i.keep_channel = true;
        assert_eq!(archive_check_at(&i, &care), None, "kept");
        assert_eq!(
            archive_check_at(&resolved("2026-12-08T10:00:00Z"), &Aftercare::default()),
            None,
            "off"
        );
    }
}
