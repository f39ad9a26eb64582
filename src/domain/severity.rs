//! Severity levels: `sev1` (critical: customers' production impaired), `sev2` (major), `sev3`
//! (minor), with the aliases `p1`..`p3` and bare `1`..`3`. Stored (and serialised) as `sev<N>`,
//! shown as `SEV<N>`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How many levels the scale has: three, fixed (a configurable scale is an issue of its own).
///
/// It is read where a scale enters the program: the command grammar (`app::commands::GRAMMAR`,
/// which the modals use too), the alert intake (`http`), the per-severity reminder settings
/// (`config`), the metrics' rows (`http::metrics`), and the words of `/inc help` and of a
/// mistyped severity (`domain::command`). Everything below those takes the scale's size as an
/// argument ([`Severity::parse`], [`Severity::level`], [`Severity::scale`], `alert::parse`,
/// `modal::declare_modal`), so a configurable scale replaces those reads and nothing else.
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
        Severity::level(digits.parse().ok()?, levels)
    }

    /// Level `level` of a scale of `levels` (1 is the most severe), if the scale has it: the one
    /// way from a number to a severity.
    pub fn level(level: u8, levels: u8) -> Option<Severity> {
        (1..=levels).contains(&level).then_some(Severity(level))
    }

    /// Every level of a scale of `levels`, the most severe first.
    pub fn scale(levels: u8) -> impl Iterator<Item = Severity> {
        (1..=levels).filter_map(move |level| Severity::level(level, levels))
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

    #[test]
    fn a_scale_has_its_levels_and_no_other() {
        assert_eq!(Severity::level(2, 3), Some(Severity(2)));
        assert_eq!(Severity::level(0, 3), None);
        assert_eq!(Severity::level(4, 3), None);
        let scale: Vec<Severity> = Severity::scale(3).collect();
        assert_eq!(scale, [Severity(1), Severity(2), Severity(3)]);
        assert_eq!(Severity::scale(0).count(), 0);
    }
}
