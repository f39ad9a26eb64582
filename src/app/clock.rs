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
/// flows.
#[derive(Debug)]
pub struct MovableClock {
    started: Instant,
    /// What the clock read at `started`, plus every move forward.
    at_start: Mutex<DateTime<Utc>>,
}

impl MovableClock {
    /// A clock reading the system's time now.
    pub fn new() -> MovableClock {
        MovableClock::starting_at(Utc::now())
    }

    /// A clock reading `at` now.
    pub fn starting_at(at: DateTime<Utc>) -> MovableClock {
        MovableClock {
            started: Instant::now(),
            at_start: Mutex::new(at),
        }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut at = self.at_start.lock().unwrap_or_else(|e| e.into_inner());
        *at += by;
    }

    /// Moves the clock forward to `at` (a time in its past leaves it where it is).
    pub fn advance_to(&self, at: DateTime<Utc>) {
        let now = self.now();
        if at > now {
            self.advance(at - now);
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
        let at = *self.at_start.lock().unwrap_or_else(|e| e.into_inner());
        at + Duration::from_std(self.started.elapsed()).unwrap_or_default()
    }
}
