//! The one clock. Everything that needs "now" asks a [`Clock`]; the domain receives it as an
//! argument. Tests, the demo and the benchmarks substitute a [`MovableClock`].

use std::sync::Mutex;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that runs at the real pace from a chosen instant and can be moved forward: half an
/// hour passes in a call, so reminders, nudges and digests are tested (and demonstrated) without
/// waiting for them, while everything paced in real time (a channel's one post a second) still
/// flows. It can also be held still, so that many things happen "at the same time" (the
/// reminders benchmark declares thousands of incidents within one clock minute).
#[derive(Debug)]
pub struct MovableClock {
    state: Mutex<Reading>,
}

#[derive(Debug)]
struct Reading {
    /// What the clock read at `since`, or reads while held.
    at: DateTime<Utc>,
    /// Since when it runs; `None` while held.
    since: Option<Instant>,
}

impl Reading {
    fn now(&self) -> DateTime<Utc> {
        let ran = self.since.map(|s| s.elapsed()).unwrap_or_default();
        self.at + Duration::from_std(ran).unwrap_or_default()
    }
}

impl MovableClock {
    /// A clock reading the system's time now.
    pub fn new() -> MovableClock {
        MovableClock::starting_at(Utc::now())
    }

    /// A clock reading `at` now.
    pub fn starting_at(at: DateTime<Utc>) -> MovableClock {
        MovableClock {
            state: Mutex::new(Reading {
                at,
                since: Some(Instant::now()),
            }),
        }
    }

    fn reading(&self) -> std::sync::MutexGuard<'_, Reading> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        self.reading().at += by;
    }

    /// Moves the clock forward to `at` (a time in its past leaves it where it is).
    pub fn advance_to(&self, at: DateTime<Utc>) {
        let mut reading = self.reading();
        let now = reading.now();
        if at > now {
            reading.at += at - now;
        }
    }

    /// Stops the clock where it is; it moves only when told to, until [`MovableClock::resume`].
    pub fn hold(&self) {
        let mut reading = self.reading();
        reading.at = reading.now();
        reading.since = None;
    }

    /// Lets a held clock run at the real pace again.
    pub fn resume(&self) {
        let mut reading = self.reading();
        if reading.since.is_none() {
            reading.since = Some(Instant::now());
        }
    }
}

impl Default for MovableClock {
    fn default() -> MovableClock {
        MovableClock::new()
    }
}

impl Clock for MovableClock {
    fn now(&self) -> DateTime<Utc> {
        self.reading().now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_movable_clock_runs_moves_and_holds() {
        let start = DateTime::from_timestamp(1_800_000_000, 0).expect("time");
        let clock = MovableClock::starting_at(start);
        let first = clock.now();
        assert!(first >= start && first - start < Duration::seconds(5));
        clock.advance(Duration::minutes(30));
        assert!(clock.now() >= start + Duration::minutes(30));
        clock.hold();
        let held = clock.now();
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert_eq!(clock.now(), held, "a held clock stands still");
        clock.advance(Duration::seconds(1));
        assert_eq!(clock.now(), held + Duration::seconds(1));
        clock.advance_to(held);
        assert_eq!(clock.now(), held + Duration::seconds(1), "never backwards");
        clock.resume();
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(clock.now() > held + Duration::seconds(1), "running again");
    }
}
