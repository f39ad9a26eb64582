//! The incident lifecycle's states: `triage` → `investigating` → `fixing` → `monitoring` →
//! `resolved`, and `triage` → `declined`. `resolved` and `declined` are terminal until reopened.
//! (The transition rules arrive with the commands that change status.)

use std::fmt;

/// Where an incident is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    fn statuses_round_trip_through_their_words() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
            assert_eq!(Status::parse(&s.as_str().to_uppercase()), Some(s));
        }
        assert_eq!(Status::parse("done"), None);
    }
}
