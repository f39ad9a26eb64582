//! Incident roles. The coordinator runs the response and holds every role not delegated; the
//! operator debugs and fixes; comms (optional) talks to stakeholders.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Coordinator,
    Operator,
    Comms,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Coordinator, Role::Operator, Role::Comms];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Coordinator => "coordinator",
            Role::Operator => "operator",
            Role::Comms => "comms",
        }
    }

    pub fn parse(word: &str) -> Option<Role> {
        let word = word.trim().to_ascii_lowercase();
        Role::ALL.into_iter().find(|r| r.as_str() == word)
    }

    /// `Coordinator`, for cards.
    pub fn title(self) -> &'static str {
        match self {
            Role::Coordinator => "Coordinator",
            Role::Operator => "Operator",
            Role::Comms => "Comms",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_words() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("Coordinator"), Some(Role::Coordinator));
        assert_eq!(Role::parse("commander"), None);
    }
}
