//! The incident lifecycle's states and the moves between them: `triage` → `investigating` →
//! `fixing` → `monitoring` → `resolved`, and `triage` → `declined` (a false alarm).
//! `resolved` and `declined` are terminal until reopened.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where an incident is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Triage,
    Investigating,
    Fixing,
    Monitoring,
    Resolved,
    Declined,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Triage,
        Status::Investigating,
        Status::Fixing,
        Status::Monitoring,
        Status::Resolved,
        Status::Declined,
    ];

    /// The stored and displayed form, lowercase.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Triage => "triage",
            Status::Investigating => "investigating",
            Status::Fixing => "fixing",
            Status::Monitoring => "monitoring",
            Status::Resolved => "resolved",
            Status::Declined => "declined",
        }
    }

    /// Parses a status word, case-insensitively.
    pub fn parse(word: &str) -> Option<Status> {
        let word = word.trim().to_ascii_lowercase();
        Status::ALL.into_iter().find(|s| s.as_str() == word)
    }

    /// Resolved and declined incidents get no reminders and are not listed as open.
    pub fn is_terminal(self) -> bool {
        matches!(self, Status::Resolved | Status::Declined)
    }

    /// Whether an incident in `self` may move to `to` — the whole lifecycle in one table:
    /// - the working statuses (`triage`, `investigating`, `fixing`, `monitoring`) move freely
    ///   among themselves, except back into `triage`, which only ever starts an incident (a fix
    ///   that did not hold sends `monitoring` back to `fixing`);
    /// - any working status may be `resolved`; only `triage` may be `declined`;
    /// - a terminal status moves only by reopening, back to `investigating`.
    pub fn can_become(self, to: Status) -> bool {
        use Status::*;
        match (self, to) {
            (from, to) if from == to => false,
            (Resolved | Declined, to) => to == Investigating,
            (_, Triage) => false,
            (Triage, Declined) => true,
            (_, Declined) => false,
            (_, _) => true,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lifecycle_allows_exactly_these_moves() {
        use Status::*;
        // Rows: from; columns: to, in the order of Status::ALL.
        let table: [(Status, [bool; 6]); 6] = [
            //            triage investigating fixing monitoring resolved declined
            (Triage, [false, true, true, true, true, true]),
            (Investigating, [false, false, true, true, true, false]),
            (Fixing, [false, true, false, true, true, false]),
            (Monitoring, [false, true, true, false, true, false]),
            (Resolved, [false, true, false, false, false, false]),
            (Declined, [false, true, false, false, false, false]),
        ];
        for (from, row) in table {
            for (to, allowed) in Status::ALL.into_iter().zip(row) {
                assert_eq!(from.can_become(to), allowed, "{from} -> {to}");
            }
        }
    }

    #[test]
    fn statuses_serialise_as_their_words() {
        assert_eq!(
            serde_json::to_value(Status::Monitoring).expect("json"),
            "monitoring"
        );
        let back: Status = serde_json::from_value("declined".into()).expect("status");
        assert_eq!(back, Status::Declined);
    }

    #[test]
    fn statuses_round_trip_through_their_words() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
            assert_eq!(Status::parse(&s.as_str().to_uppercase()), Some(s));
        }
        assert_eq!(Status::parse("done"), None);
    }
}
