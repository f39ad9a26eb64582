//! Severity levels: `sev1` (critical: customers' production impaired), `sev2` (major), `sev3`
//! (minor), with the aliases `p1`..`p3` and bare `1`..`3`. Stored (and serialised) as `sev<N>`,
//! shown as `SEV<N>`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How many levels the default scale has. A configurable set arrives with its own issue; the
/// parser already takes the scale's size so that change stays local.
pub const DEFAULT_LEVELS: u8 = 3;

/// An incident's severity; level 1 is the most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Severity(u8);

impl Severity {
    /// Parses `sev2`, `SEV2`, `p2`, `P2` or `2`, accepting levels `1..=levels`.
    pub fn parse(word: &str, levels: u8) -> Option<Severity> {
        let lower = word.trim().to_ascii_lowercase();
        let digits = lower
            .strip_prefix("sev")
            .or_else(|| lower.strip_prefix('p'))
            .unwrap_or(&lower);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 2 {
            return None;
        }
        let level: u8 = digits.parse().ok()?;
        (1..=levels).contains(&level).then_some(Severity(level))
    }

    /// The stored form, `sev1`.
    pub fn as_key(self) -> String {
        format!("sev{}", self.0)
    }

    /// Reads the stored form back; `None` for anything [`Severity::as_key`] does not produce.
    pub fn from_key(key: &str) -> Option<Severity> {
        Severity::parse(key.strip_prefix("sev")?, u8::MAX)
    }

    /// The words a user may type, for error messages: `sev1, sev2, sev3`.
    pub fn choices(levels: u8) -> String {
        (1..=levels)
            .map(|l| format!("sev{l}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl Serialize for Severity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.as_key())
    }
}

impl<'de> Deserialize<'de> for Severity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let key = String::deserialize(d)?;
        Severity::from_key(&key)
            .ok_or_else(|| serde::de::Error::custom(format!("not a severity: {key:?}")))
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SEV{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_a_level_parses_to_it() {
        for (word, level) in [
            ("sev1", 1),
            ("SEV1", 1),
            ("Sev2", 2),
            ("p3", 3),
            ("P1", 1),
            ("2", 2),
            (" sev3 ", 3),
        ] {
            assert_eq!(Severity::parse(word, 3), Some(Severity(level)), "{word}");
        }
    }

    #[test]
    fn words_outside_the_scale_are_not_severities() {
        for word in [
            "sev0", "sev4", "p9", "0", "4", "sev", "p", "", "checkout", "sev1x", "-1", "s1",
        ] {
            assert_eq!(Severity::parse(word, 3), None, "{word}");
        }
    }

    #[test]
    fn the_stored_form_round_trips() {
        for level in 1..=3 {
            let sev = Severity(level);
            assert_eq!(Severity::from_key(&sev.as_key()), Some(sev));
        }
        assert_eq!(Severity::from_key("p1"), None);
        assert_eq!(Severity(1).to_string(), "SEV1");
        assert_eq!(Severity::choices(3), "sev1, sev2, sev3");
    }
}
