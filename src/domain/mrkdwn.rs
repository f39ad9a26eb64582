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

/// A mention of a Slack user group (`S…`) the bot knows by id: it notifies the group's members.
pub fn group(id: &str) -> String {
    format!("<!subteam^{}>", escape(id))
}

/// User text where the person meant to mention people: exactly-formed user mentions
/// (`<@U123>`, `<@U123|name>`) and channel links (`<#C123>`, `<#C123|name>`), as Slack sends
/// what was picked from its pop-ups, are kept; everything else is escaped like [`escape`] — so
/// `<!channel>`, `<!here>`, user-group pings and forged links stay inert text.
pub fn escape_keeping_mentions(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        out.push_str(&escape(&rest[..start]));
        let tail = &rest[start..];
        match tail.find('>').map(|end| &tail[..=end]) {
            Some(token) if is_person_or_channel(token) => {
                out.push_str(token);
                rest = &tail[token.len()..];
            }
            _ => {
                out.push_str("&lt;");
                rest = &tail[1..];
            }
        }
    }
    out.push_str(&escape(rest));
    out
}

/// `<@U…>`, `<@U…|label>`, `<#C…>`, `<#C…|label>` with a well-formed id and a plain label.
fn is_person_or_channel(token: &str) -> bool {
    let inner = &token[1..token.len() - 1];
    let (target, label) = match inner.split_once('|') {
        Some((t, l)) => (t, Some(l)),
        None => (inner, None),
    };
    let id_ok = |id: &str, prefixes: &[char]| {
        id.len() >= 3
            && id.starts_with(prefixes)
            && id
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    };
    let target_ok = match (target.strip_prefix('@'), target.strip_prefix('#')) {
        (Some(id), _) => id_ok(id, &['U', 'W']),
        (_, Some(id)) => id_ok(id, &['C', 'G']),
        _ => false,
    };
    target_ok && label.is_none_or(|l| !l.contains(['<', '>', '&', '|']) && !l.contains('\n'))
}

/// Slack markup as plain text, the way a reader sees it: `<https://x|docs>` → `docs`,
/// `<https://x>` → `https://x`, `<@U1|alice>` → `@alice` (`@U1` without a label), `<#C1|ops>` →
/// `#ops`, `<!here>` → `@here`, `<!subteam^S1|@dba>` → `@dba`, and `&lt;` `&gt;` `&amp;` decoded.
/// For prefilling a form from a message (a title is plain text).
pub fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let tail = &rest[start + 1..];
        let Some(end) = tail.find('>') else {
            out.push('<');
            rest = tail;
            continue;
        };
        let inner = &tail[..end];
        let (target, label) = match inner.split_once('|') {
            Some((t, l)) => (t, Some(l)),
            None => (inner, None),
        };
        let shown = match (target.chars().next(), label) {
            (Some('@'), Some(l)) => format!("@{}", l.trim_start_matches('@')),
            (Some('#'), Some(l)) => format!("#{}", l.trim_start_matches('#')),
            (Some('!'), Some(l)) => {
                if l.starts_with('@') {
                    l.to_string()
                } else {
                    format!("@{l}")
                }
            }
            (Some('!'), None) => format!("@{}", target[1..].split('^').next().unwrap_or("")),
            (_, Some(l)) => l.to_string(),
            (_, None) => target.to_string(),
        };
        out.push_str(&shown);
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
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

    #[test]
    fn picked_mentions_survive_and_everything_else_is_inert() {
        let cases = [
            (
                "ask <@U0BOB> and <@W0AMY|amy>",
                "ask <@U0BOB> and <@W0AMY|amy>",
            ),
            ("see <#C0DB|db-team>", "see <#C0DB|db-team>"),
            ("<!channel> wake up", "&lt;!channel&gt; wake up"),
            ("<!subteam^S1|@all> now", "&lt;!subteam^S1|@all&gt; now"),
            ("<https://evil|docs>", "&lt;https://evil|docs&gt;"),
            (
                "<@bob> & <@U0BOB|<!here>>",
                "&lt;@bob&gt; &amp; &lt;@U0BOB|&lt;!here&gt;&gt;",
            ),
            ("a < b > c", "a &lt; b &gt; c"),
            ("<@U0BOB", "&lt;@U0BOB"),
        ];
        for (text, expected) in cases {
            assert_eq!(escape_keeping_mentions(text), expected, "{text}");
        }
    }

    #[test]
    fn markup_reads_as_plain_text() {
        let cases = [
            ("<https://grafana/d/1|Dashboard> is red", "Dashboard is red"),
            ("see <https://x.example>", "see https://x.example"),
            ("<@U0BOB|bob> and <@U0AMY>", "@bob and @U0AMY"),
            ("<#C1|ops> <!here> <!subteam^S1|@dba>", "#ops @here @dba"),
            (
                "error rate &gt; 5% &amp; rising",
                "error rate > 5% & rising",
            ),
            ("a < b", "a < b"),
        ];
        for (text, expected) in cases {
            assert_eq!(plain(text), expected, "{text}");
        }
    }

    proptest! {
        #[test]
        fn plain_text_never_panics(s in ".*") {
            let _ = plain(&s);
        }

        #[test]
        fn text_keeping_mentions_never_pings_a_crowd_or_forges_a_link(s in ".*") {
            let out = escape_keeping_mentions(&s);
            prop_assert!(!out.contains("<!"));
            // Every `<` left opens a person or channel mention that also closes.
            for (i, _) in out.match_indices('<') {
                let tail = &out[i..];
                prop_assert!(tail.starts_with("<@") || tail.starts_with("<#"), "{}", out);
                let token = &tail[..tail.find('>').map(|e| e + 1).unwrap_or(tail.len())];
                prop_assert!(is_person_or_channel(token), "{}", token);
            }
        }

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
