//! Text in and out of Slack mrkdwn: decoded once where it enters, escaped once where it leaves.
//!
//! **Text inside the bot is what the person typed**, with one kind of exception: what Slack
//! linked — a person or a channel picked from its pop-ups, a URL, `@here` — stays a Slack
//! *token* in angle brackets (`<@U123|alice>`, `<#C123|ops>`, `<https://x|label>`, `<!here>`,
//! `<!subteam^S1|@dba>`, `<!date^…|fallback>`). Slack escapes `&`, `<` and `>` in everything
//! typed into a message or a slash command (`R&D` arrives as `R&amp;D`) so that a `<` can only
//! open one of its tokens; [`from_slack`] undoes that once, at the door (`src/slack/`), and
//! keeps the tokens. Modal inputs arrive as typed and need nothing.
//!
//! On the way out, in mrkdwn, [`escape`] replaces exactly `&`, `<` and `>` (Slack decodes no
//! other entity) so plain text is inert: a title can never ping `@channel` or forge a link.
//! Free text keeps its people, channels and links ([`escape_keeping_mentions`]); a crowd ping
//! (`@here`, `@channel`, `@everyone`, a user group) is never honoured, whoever wrote it.
//! [`plain`] reads tokens as their labels, for `plain_text` objects, prefills and channel
//! names. [`pieces`] is the one reading of tokens every other function (and the postmortem's
//! Markdown) uses. [`one_line`] folds text onto one line: titles, topics, names.
//!
//! Once decoded, a token and the same characters typed by hand look alike. Only exactly-formed
//! tokens count as tokens, and the ones kept give nobody more than Slack's own pop-ups and link
//! tool give every person; the ones that would (crowd pings) are never kept.

/// Replaces `&`, `<`, `>` with `&amp;`, `&lt;`, `&gt;`.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_escaped(&mut out, text);
    out
}

fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
}

/// Slack's three entities decoded, once: `&lt;` `&gt;` `&amp;` (the only ones Slack produces);
/// anything else that looks like an entity stays as typed.
pub fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let (c, len) = [("&lt;", '<'), ("&gt;", '>'), ("&amp;", '&')]
            .into_iter()
            .find(|(entity, _)| tail.starts_with(entity))
            .map_or(('&', 1), |(entity, c)| (c, entity.len()));
        out.push(c);
        rest = &tail[len..];
    }
    out.push_str(rest);
    out
}

/// Text as Slack sends it (a slash command's `text`, a message's `text`, attachments) → text
/// as the bot keeps it: entities decoded once outside Slack's `<…>` sequences, the sequences
/// kept as they came (their insides are Slack's business; [`pieces`] reads them).
pub fn from_slack(markup: &str) -> String {
    let mut out = String::with_capacity(markup.len());
    let mut rest = markup;
    while let Some(open) = rest.find('<') {
        out.push_str(&decode_entities(&rest[..open]));
        let tail = &rest[open..];
        match sequence_end(tail) {
            Some(end) => {
                out.push_str(&tail[..end]);
                rest = &tail[end..];
            }
            None => {
                out.push('<');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(&decode_entities(rest));
    out
}

/// Where the `<…>` sequence starting `text` ends (just after its `>`), if it is one: closed on
/// the same line, with no other `<` inside.
fn sequence_end(text: &str) -> Option<usize> {
    let after = &text[1..];
    let close = after.find(['>', '<', '\n'])?;
    (after.as_bytes()[close] == b'>').then_some(close + 2)
}

/// A Slack token: what Slack linked in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// `<@U123>` / `<@U123|alice>`: a person.
    User { id: String, label: Option<String> },
    /// `<#C123>` / `<#C123|ops>`: a channel.
    Channel { id: String, label: Option<String> },
    /// `<!subteam^S123|@dba>`: a user group.
    Group { id: String, label: Option<String> },
    /// `<!here>`, `<!channel>`, `<!everyone>`.
    Crowd(String),
    /// `<https://x>` / `<https://x|label>` (also `http:` and `mailto:`).
    Link { url: String, label: Option<String> },
    /// `<!date^1700000000^{date_short}|Nov 14>`: a date Slack formats; its fallback text.
    Date { fallback: String },
}

impl Token {
    /// How a reader sees it: `@alice`, `#ops`, `@dba`, `@here`, a link's label (or its URL),
    /// a date's fallback. `name` gives names for people, channels and user groups by id (a
    /// label Slack sent is only a snapshot of the name; a `rich_text` element has none).
    pub fn readable(&self, name: &dyn Fn(&str) -> Option<String>) -> String {
        let at = |s: &str| format!("@{}", s.trim_start_matches('@'));
        match self {
            Token::User { id, label } => at(&name(id).or(label.clone()).unwrap_or(id.clone())),
            Token::Channel { id, label } => format!(
                "#{}",
                name(id)
                    .or(label.clone())
                    .unwrap_or(id.clone())
                    .trim_start_matches('#')
            ),
            Token::Group { id, label } => at(&name(id).or(label.clone()).unwrap_or(id.clone())),
            Token::Crowd(crowd) => format!("@{crowd}"),
            Token::Link { url, label } => label.clone().unwrap_or_else(|| url.clone()),
            Token::Date { fallback } => fallback.clone(),
        }
    }

    /// The token as mrkdwn, written afresh (labels and URLs escaped).
    fn markup(&self) -> String {
        let labelled = |target: String, label: &Option<String>| match label {
            Some(l) => format!("<{target}|{}>", escape(l)),
            None => format!("<{target}>"),
        };
        match self {
            Token::User { id, .. } => user(id),
            Token::Channel { id, .. } => channel(id),
            Token::Group { id, label } => labelled(format!("!subteam^{id}"), label),
            Token::Crowd(crowd) => format!("<!{crowd}>"),
            Token::Link { url, label } => labelled(escape(url), label),
            Token::Date { fallback } => escape(fallback),
        }
    }
}

/// One piece of a text: characters as typed, or a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    Token(Token),
}

/// `text` (as the bot keeps it) split into typed characters and exactly-formed tokens. A `<…>`
/// that is not one of Slack's tokens is text.
pub fn pieces(text: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut at = 0;
    while let Some(open) = text[at..].find('<').map(|i| at + i) {
        let token = sequence_end(&text[open..])
            .and_then(|end| token(&text[open + 1..open + end - 1]).map(|t| (t, end)));
        match token {
            Some((token, end)) => {
                if start < open {
                    out.push(Piece::Text(&text[start..open]));
                }
                out.push(Piece::Token(token));
                start = open + end;
                at = start;
            }
            None => at = open + 1,
        }
    }
    if start < text.len() {
        out.push(Piece::Text(&text[start..]));
    }
    out
}

/// The token a `<…>` sequence's inside (`@U1|alice`) is, if it is exactly one.
fn token(inner: &str) -> Option<Token> {
    let (target, label) = match inner.split_once('|') {
        Some((t, l)) => (t, Some(decode_entities(l)).filter(|l| !l.trim().is_empty())),
        None => (inner, None),
    };
    if let Some(id) = target.strip_prefix('@') {
        return slack_id(id, &['U', 'W']).then(|| Token::User {
            id: id.to_string(),
            label,
        });
    }
    if let Some(id) = target.strip_prefix('#') {
        return slack_id(id, &['C', 'G', 'D']).then(|| Token::Channel {
            id: id.to_string(),
            label,
        });
    }
    if let Some(command) = target.strip_prefix('!') {
        if let Some(id) = command.strip_prefix("subteam^") {
            return slack_id(id, &['S']).then(|| Token::Group {
                id: id.to_string(),
                label,
            });
        }
        if ["here", "channel", "everyone"].contains(&command) {
            return Some(Token::Crowd(command.to_string()));
        }
        if command.starts_with("date^") {
            return label.map(|fallback| Token::Date { fallback });
        }
        return None;
    }
    let url = decode_entities(target);
    let lower = url.get(..8).unwrap_or(&url).to_ascii_lowercase();
    let scheme = ["https://", "http://", "mailto:"]
        .into_iter()
        .find(|s| lower.starts_with(s))?;
    let ok = url.len() > scheme.len() && !url.contains(char::is_whitespace);
    ok.then_some(Token::Link { url, label })
}

/// Whether `id` looks like a Slack id starting with one of `prefixes`: `U0ALICE`, `S0ONCALL`.
pub fn slack_id(id: &str, prefixes: &[char]) -> bool {
    id.len() >= 2
        && id.len() <= 32
        && id.starts_with(prefixes)
        && id
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// A mention of a Slack user the bot knows by id (never built from user-typed text).
pub fn user(id: &str) -> String {
    format!("<@{}>", escape(id))
}

/// A link to `url` (one an outside system gave us) labelled `label`; without a url, the label
/// alone. Both escaped: neither can end the link early or forge another.
pub fn link(url: Option<&str>, label: &str) -> String {
    match url {
        Some(url) => format!("<{}|{}>", escape(url), escape(&label.replace('|', "/"))),
        None => escape(label),
    }
}

/// A link to a channel the bot knows by id.
pub fn channel(id: &str) -> String {
    format!("<#{}>", escape(id))
}

/// A mention of a Slack user group (`S…`) the bot knows by id: it notifies the group's members.
pub fn group(id: &str) -> String {
    format!("<!subteam^{}>", escape(id))
}

/// Free text where the person meant what Slack linked: people and channels stay mentions,
/// links stay links; a crowd ping (`@here`, `@channel`, `@everyone`) or a user group reads as
/// its name without notifying anyone; everything else is escaped like [`escape`].
pub fn escape_keeping_mentions(text: &str) -> String {
    render(text, |token| match token {
        Token::User { .. } | Token::Channel { .. } | Token::Link { .. } => token.markup(),
        other => escape(&other.readable(&|_| None)),
    })
}

/// Someone else's words quoted by the bot (a message an incident was declared from): links and
/// channels stay links; people read as their names, so quoting them does not notify them
/// again; crowd pings and groups read as names too.
pub fn quote(text: &str) -> String {
    render(text, |token| match token {
        Token::Channel { .. } | Token::Link { .. } => token.markup(),
        other => escape(&other.readable(&|_| None)),
    })
}

/// Text as a reader sees it, every token read as its label (`@alice`, `#ops`, a link's label):
/// for `plain_text` objects, prefilled inputs and channel names.
pub fn plain(text: &str) -> String {
    plain_with(text, &|_| None)
}

/// [`plain`], people and channels by the names `name` gives for their ids.
pub fn plain_with(text: &str, name: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    for piece in pieces(text) {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Token(token) => out.push_str(&token.readable(name)),
        }
    }
    out
}

/// `text` on one line: every run of white space (line breaks too) becomes one space, and none
/// leads or trails. Titles are one line wherever they come from (a command, the Declare form,
/// a message, an alert), and so are the topic and the postmortem's chart labels.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Escapes the text between tokens and writes each token as `token` says.
fn render(text: &str, token: impl Fn(&Token) -> String) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for piece in pieces(text) {
        match piece {
            Piece::Text(t) => push_escaped(&mut out, t),
            Piece::Token(t) => out.push_str(&token(&t)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn one_line_folds_every_run_of_white_space_into_one_space() {
        assert_eq!(
            one_line("  Checkout\n\n is\t down \r\n"),
            "Checkout is down"
        );
        assert_eq!(one_line("a\u{2003}b\u{A0}c"), "a b c", "Unicode spaces too");
        assert_eq!(one_line(" \n "), "");
    }

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
    fn what_slack_escaped_is_decoded_once_and_its_tokens_kept() {
        let cases = [
            ("R&amp;D login &lt;beta&gt; fails", "R&D login <beta> fails"),
            // Typed `&lt;` arrives as `&amp;lt;`: it stays `&lt;`, not `<`.
            ("type &amp;lt; to escape", "type &lt; to escape"),
            (
                "ask <@U0BOB|bob> in <#C0OPS|ops> &amp; see <https://x.example/?a=1&amp;b=2|PR &amp; docs>",
                "ask <@U0BOB|bob> in <#C0OPS|ops> & see <https://x.example/?a=1&amp;b=2|PR &amp; docs>",
            ),
            ("error rate > 5% &gt; 4%", "error rate > 5% > 4%"),
            ("a lone < and <!here>", "a lone < and <!here>"),
        ];
        for (sent, kept) in cases {
            assert_eq!(from_slack(sent), kept, "{sent}");
        }
    }

    #[test]
    fn tokens_are_read_exactly_and_anything_else_is_text() {
        let text = "<@U0BOB|bob> <beta> <#C1|ops> <https://x|PR 42> <!here> <!subteam^S1|@dba> \
                    <!date^1^{date}|Nov 14> <javascript:alert(1)|x> <@bob>";
        let tokens: Vec<Token> = pieces(text)
            .into_iter()
            .filter_map(|p| match p {
                Piece::Token(t) => Some(t),
                Piece::Text(_) => None,
            })
            .collect();
        assert_eq!(
            tokens,
            [
                Token::User {
                    id: "U0BOB".into(),
                    label: Some("bob".into())
                },
                Token::Channel {
                    id: "C1".into(),
                    label: Some("ops".into())
                },
                Token::Link {
                    url: "https://x".into(),
                    label: Some("PR 42".into())
                },
                Token::Crowd("here".into()),
                Token::Group {
                    id: "S1".into(),
                    label: Some("@dba".into())
                },
                Token::Date {
                    fallback: "Nov 14".into()
                },
            ]
        );
    }

    #[test]
    fn free_text_keeps_people_channels_and_links_and_silences_crowds() {
        let cases = [
            ("ask <@U0BOB> and <@W0AMY|amy>", "ask <@U0BOB> and <@W0AMY>"),
            ("see <#C0DB|db-team>", "see <#C0DB>"),
            ("<!channel> wake up", "@channel wake up"),
            ("<!subteam^S1|@all> now", "@all now"),
            (
                "fixed in <https://git.example/pr/42|PR 42 & more>",
                "fixed in <https://git.example/pr/42|PR 42 &amp; more>",
            ),
            ("R&D <beta> fails", "R&amp;D &lt;beta&gt; fails"),
            (
                "<@bob> & <@U0BOB|<!here>>",
                "&lt;@bob&gt; &amp; &lt;@U0BOB|@here&gt;",
            ),
            ("a < b > c", "a &lt; b &gt; c"),
            ("<@U0BOB", "&lt;@U0BOB"),
            (
                "<javascript:alert(1)|docs>",
                "&lt;javascript:alert(1)|docs&gt;",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(escape_keeping_mentions(text), expected, "{text}");
        }
    }

    #[test]
    fn a_quote_names_people_without_notifying_them() {
        assert_eq!(
            quote("<@U0BOB|bob> saw <!here> &amp; <https://x|the graph> in <#C1>"),
            "@bob saw @here &amp;amp; <https://x|the graph> in <#C1>"
        );
    }

    #[test]
    fn markup_reads_as_plain_text() {
        let cases = [
            ("<https://grafana/d/1|Dashboard> is red", "Dashboard is red"),
            ("see <https://x.example>", "see https://x.example"),
            ("<@U0BOB|bob> and <@U0AMY>", "@bob and @U0AMY"),
            ("<#C1|ops> <!here> <!subteam^S1|@dba>", "#ops @here @dba"),
            ("R&D <beta> & <b>", "R&D <beta> & <b>"),
            ("<https://x|R &amp; D>", "R & D"),
            ("a < b", "a < b"),
        ];
        for (text, expected) in cases {
            assert_eq!(plain(text), expected, "{text}");
        }
        let names = |id: &str| (id == "U0AMY").then(|| "Amy".to_string());
        assert_eq!(
            plain_with("<@U0AMY|amy> and <@U0BOB>", &names),
            "@Amy and @U0BOB"
        );
    }

    proptest! {
        #[test]
        fn plain_text_is_the_text_between_tokens_with_each_token_read(s in ".*") {
            // Without tokens, plain text is the text itself; tokens become their readings, so
            // no `<`…`>` token survives into it.
            let out = plain(&s);
            let mut expected = String::new();
            for piece in pieces(&s) {
                match piece {
                    Piece::Text(t) => expected.push_str(t),
                    Piece::Token(t) => expected.push_str(&t.readable(&|_| None)),
                }
            }
            prop_assert_eq!(&out, &expected);
            if !s.contains('<') {
                prop_assert_eq!(out, s);
            }
        }

        #[test]
        fn text_keeping_mentions_never_pings_a_crowd_and_links_only_what_is_a_link(s in ".*") {
            let out = escape_keeping_mentions(&s);
            prop_assert!(!out.contains("<!"));
            // Every `<` left opens a person, a channel or an http(s)/mailto link that closes.
            for (i, _) in out.match_indices('<') {
                let tail = &out[i..];
                let end = sequence_end(tail);
                prop_assert!(end.is_some(), "{}", out);
                let token = token(&tail[1..end.unwrap_or(1) - 1]);
                prop_assert!(
                    matches!(token, Some(Token::User { .. } | Token::Channel { .. } | Token::Link { .. })),
                    "{}", out
                );
            }
        }

        #[test]
        fn no_user_string_produces_a_control_sequence(s in ".*") {
            let out = escape(&s);
            prop_assert!(!out.contains('<') && !out.contains('>'));
        }

        #[test]
        fn escaping_then_decoding_gives_the_text_back(s in ".*") {
            prop_assert_eq!(from_slack(&escape(&s)), s.clone());
            prop_assert_eq!(decode_entities(&escape(&s)), s);
        }
    }
}
