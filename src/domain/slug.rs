//! Incident channel names: `<prefix>-<number>-<slug>`, at most 80 characters, only
//! `[a-z0-9_-]` (Slack's rule for `conversations.create`). User text never reaches Slack's
//! channel API except through [`channel_name`].

/// Slack's limit on channel names.
pub const MAX_CHANNEL_NAME: usize = 80;

/// Lowercase ASCII letters and digits are kept; every other run of characters becomes one `-`;
/// no leading or trailing `-`. `"Checkout: 5xx on /pay!"` → `checkout-5xx-on-pay`.
pub fn slug(title: &str) -> String {
    let mut out = String::with_capacity(title.len());
    for c in title.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// The channel name for incident `number`. `attempt` 1 is the plain name; later attempts (after
/// Slack answered `name_taken`) end in `-2`, `-3`, …. The title part is cut so the whole name
/// fits in 80 characters, and never ends in a dangling `-`.
pub fn channel_name(prefix: &str, number: i64, title: &str, attempt: u32) -> String {
    let suffix = if attempt > 1 {
        format!("-{attempt}")
    } else {
        String::new()
    };
    let head = format!("{prefix}-{number}");
    let room = MAX_CHANNEL_NAME.saturating_sub(head.len() + suffix.len() + 1);
    let mut slug = slug(title);
    slug.truncate(room);
    while slug.ends_with('-') {
        slug.pop();
    }
    if slug.is_empty() {
        format!("{head}{suffix}")
    } else {
        format!("{head}-{slug}{suffix}")
    }
}

/// Whether `prefix` is usable as a channel-name prefix (checked once, at startup).
pub fn valid_prefix(prefix: &str) -> bool {
    !prefix.is_empty()
        && prefix.len() <= 20
        && prefix
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn titles_become_readable_slugs() {
        let cases = [
            ("Checkout is down", "checkout-is-down"),
            ("Checkout: 5xx on /pay!", "checkout-5xx-on-pay"),
            ("  DB   latency  ", "db-latency"),
            ("Café — paiement KO", "caf-paiement-ko"),
            ("<!channel> wake up", "channel-wake-up"),
            ("🔥🔥🔥", ""),
        ];
        for (title, expected) in cases {
            assert_eq!(slug(title), expected, "{title}");
        }
    }

    #[test]
    fn the_channel_name_carries_prefix_number_and_slug() {
        assert_eq!(
            channel_name("inc", 1, "Checkout is down", 1),
            "inc-1-checkout-is-down"
        );
        assert_eq!(
            channel_name("inc", 1, "Checkout is down", 2),
            "inc-1-checkout-is-down-2"
        );
        assert_eq!(channel_name("inc", 12, "🔥", 1), "inc-12");
        assert_eq!(channel_name("inc", 12, "🔥", 3), "inc-12-3");
    }

    #[test]
    fn long_titles_are_cut_to_eighty_characters_with_room_for_the_suffix() {
        let title = "a very long title ".repeat(10);
        let name = channel_name("incident", 12345, &title, 1);
        assert!(name.len() <= 80, "{name}");
        assert!(!name.ends_with('-'));
        let retry = channel_name("incident", 12345, &title, 17);
        assert!(retry.len() <= 80 && retry.ends_with("-17"), "{retry}");
    }

    #[test]
    fn prefixes_are_validated() {
        assert!(valid_prefix("inc"));
        assert!(valid_prefix("sev_incident-"));
        assert!(!valid_prefix(""));
        assert!(!valid_prefix("Inc"));
        assert!(!valid_prefix("inc#"));
    }

    proptest! {
        #[test]
        fn every_channel_name_is_one_slack_accepts(title in ".*", number in 1i64..10_000_000, attempt in 1u32..50) {
            let name = channel_name("inc", number, &title, attempt);
            prop_assert!(name.len() <= MAX_CHANNEL_NAME);
            prop_assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
            prop_assert!(!name.contains("--"));
            let head = format!("inc-{number}");
            prop_assert!(name.starts_with(&head));
        }
    }
}
