//! Escaping user text for Slack mrkdwn.
//!
//! Slack treats `&`, `<` and `>` as control characters: `<!channel>`, `<@U123>`, `<#C1>` and
//! `<https://x|label>` are all built from `<`. Replacing exactly those three with entities (and
//! nothing else — Slack does not decode other entities) makes user text inert, so a title can
//! never ping `@channel` or forge a link. Every piece of user text goes through [`escape`] at the
//! point where it is placed into a message; text the bot composes (mentions of known user ids,
//! channel links) is added around it unescaped.

/// Replaces `&`, `<`, `>` with `&amp;`, `&lt;`, `&gt;`.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// A mention of a Slack user the bot knows by id (never built from user-typed text).
pub fn user(id: &str) -> String {
    format!("<@{}>", escape(id))
}

/// A link to a channel the bot knows by id.
pub fn channel(id: &str) -> String {
    format!("<#{}>", escape(id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn each_control_character_is_replaced() {
        assert_eq!(escape("a & b"), "a &amp; b");
        assert_eq!(escape("<b>"), "&lt;b&gt;");
        assert_eq!(
            escape("plain *bold* _it_ `code`"),
            "plain *bold* _it_ `code`"
        );
    }

    #[test]
    fn special_mentions_lose_their_power() {
        for attack in [
            "<!channel>",
            "<!here>",
            "<!everyone>",
            "<!subteam^S123>",
            "<@U0ALICE>",
            "<#C0GENERAL>",
            "<https://evil.example|docs>",
        ] {
            let out = escape(attack);
            assert!(
                !out.contains('<') && !out.contains('>'),
                "{attack} -> {out}"
            );
        }
    }

    proptest! {
        #[test]
        fn no_user_string_produces_a_control_sequence(s in ".*") {
            let out = escape(&s);
            prop_assert!(!out.contains("<!"));
            prop_assert!(!out.contains("<@"));
            prop_assert!(!out.contains("<#"));
            prop_assert!(!out.contains('<') && !out.contains('>'));
        }

        #[test]
        fn escaping_only_ever_grows_text_by_entities(s in ".*") {
            let out = escape(&s);
            let back = out.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&");
            prop_assert_eq!(back, s);
        }
    }
}
