//! What Slack's clients send for what a person typed: the message composer and the slash
//! command box.
//!
//! A test says what a person typed, writing what they *picked* from Slack's pop-ups (or what
//! Slack linked) as Slack's tokens: `<@U0BOB>`, `<#C0OPS|ops>`, `<!here>`,
//! `<!subteam^S0DBA|@dba>`, `<https://x|label>`; a bare `https://…` is linked by Slack as it
//! would be. Everything else is characters typed. From that, Slack's clients send:
//! - **`text`** with `&`, `<` and `>` escaped as `&amp;`, `&lt;`, `&gt;` (Slack's formatting
//!   reference: "User types `Hello & <world>`; sent to server: `Hello &amp; &lt;world&gt;`"),
//!   the tokens left as tokens, so a `<` can only ever open one of Slack's own;
//! - for a message, also a **`rich_text` block** carrying the same words as structure: `text`
//!   elements with the characters as typed (no entities), and `user`, `channel`, `usergroup`,
//!   `broadcast`, `link` and `emoji` elements — which carry no `text` of their own (a link may
//!   carry its label).
//!
//! Values typed into a modal's inputs are not touched by any of this: Slack hands them over as
//! typed (`views`).

use serde_json::{Value, json};

/// One piece of what a person typed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Typed<'a> {
    Chars(&'a str),
    User {
        id: &'a str,
        label: Option<&'a str>,
    },
    Channel {
        id: &'a str,
        label: Option<&'a str>,
    },
    Group {
        id: &'a str,
        label: Option<&'a str>,
    },
    Crowd(&'a str),
    Link {
        url: &'a str,
        label: Option<&'a str>,
    },
    Emoji(&'a str),
}

/// The `text` Slack's clients send: typed characters escaped, tokens as tokens.
pub(crate) fn escaped_text(typed: &str) -> String {
    escaped_text_naming(typed, &|_| None)
}

/// [`escaped_text`] as a slash command sends it (the manifest's `should_escape`): people and
/// channels carry their names (`<@U0BOB|bob>`, `<#C0OPS|ops>`), from `name` by id.
pub(crate) fn escaped_text_naming(typed: &str, name: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(typed.len() + 8);
    for piece in read(typed) {
        let named = |id: &str, label: Option<&str>| label.map(str::to_string).or_else(|| name(id));
        match piece {
            Typed::Chars(c) => out.push_str(&escape(c)),
            Typed::User { id, label } => {
                out.push_str(&labelled(&format!("@{id}"), named(id, label).as_deref()));
            }
            Typed::Channel { id, label } => {
                out.push_str(&labelled(&format!("#{id}"), named(id, label).as_deref()));
            }
            Typed::Group { id, label } => {
                out.push_str(&labelled(&format!("!subteam^{id}"), label));
            }
            Typed::Crowd(crowd) => out.push_str(&format!("<!{crowd}>")),
            Typed::Link { url, label } => out.push_str(&labelled(&escape(url), label)),
            Typed::Emoji(name) => out.push_str(&format!(":{name}:")),
        }
    }
    out
}

/// The `rich_text` block Slack's composer sends beside a message's `text`.
pub(crate) fn rich_text(typed: &str, block_id: &str) -> Value {
    let elements: Vec<Value> = read(typed)
        .into_iter()
        .map(|piece| match piece {
            Typed::Chars(c) => json!({"type": "text", "text": c}),
            Typed::User { id, .. } => json!({"type": "user", "user_id": id}),
            Typed::Channel { id, .. } => json!({"type": "channel", "channel_id": id}),
            Typed::Group { id, .. } => json!({"type": "usergroup", "usergroup_id": id}),
            Typed::Crowd(crowd) => json!({"type": "broadcast", "range": crowd}),
            Typed::Link { url, label } => match label {
                Some(label) => json!({"type": "link", "url": url, "text": label}),
                None => json!({"type": "link", "url": url}),
            },
            Typed::Emoji(name) => json!({"type": "emoji", "name": name}),
        })
        .collect();
    json!({
        "type": "rich_text",
        "block_id": block_id,
        "elements": [{"type": "rich_text_section", "elements": elements}]
    })
}

/// Slack's escaping: exactly `&`, `<`, `>`.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Slack's escaping undone, for showing a message to a reader (the transcript).
pub(crate) fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn labelled(target: &str, label: Option<&str>) -> String {
    match label {
        Some(label) => format!("<{target}|{}>", escape(label)),
        None => format!("<{target}>"),
    }
}

/// Splits what was typed into characters and what Slack linked.
fn read(typed: &str) -> Vec<Typed<'_>> {
    let mut out = Vec::new();
    let mut chars_start = 0;
    let mut i = 0;
    let bytes = typed.as_bytes();
    while i < bytes.len() {
        let tail = &typed[i..];
        let found = token_at(tail)
            .or_else(|| bare_link_at(tail, i == 0 || !bytes[i - 1].is_ascii_alphanumeric()))
            .or_else(|| emoji_at(tail));
        match found {
            Some((piece, len)) => {
                if chars_start < i {
                    out.push(Typed::Chars(&typed[chars_start..i]));
                }
                out.push(piece);
                i += len;
                chars_start = i;
            }
            None => i += tail.chars().next().map_or(1, char::len_utf8),
        }
    }
    if chars_start < typed.len() {
        out.push(Typed::Chars(&typed[chars_start..]));
    }
    out
}

/// A token written `<…>` at the start of `tail`, and its length.
fn token_at(tail: &str) -> Option<(Typed<'_>, usize)> {
    let inner_end = tail.strip_prefix('<')?.find(['>', '<', '\n'])?;
    if tail.as_bytes()[inner_end + 1] != b'>' {
        return None;
    }
    let inner = &tail[1..=inner_end];
    let len = inner_end + 2;
    let (target, label) = match inner.split_once('|') {
        Some((t, l)) => (t, Some(l)),
        None => (inner, None),
    };
    let id_ok = |id: &str, prefixes: &[char]| {
        id.len() >= 2
            && id.starts_with(prefixes)
            && id
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    };
    let piece = if let Some(id) = target.strip_prefix('@') {
        id_ok(id, &['U', 'W']).then_some(Typed::User { id, label })?
    } else if let Some(id) = target.strip_prefix('#') {
        id_ok(id, &['C', 'G']).then_some(Typed::Channel { id, label })?
    } else if let Some(id) = target.strip_prefix("!subteam^") {
        id_ok(id, &['S']).then_some(Typed::Group { id, label })?
    } else if let Some(crowd) = target.strip_prefix('!') {
        ["here", "channel", "everyone"]
            .contains(&crowd)
            .then_some(Typed::Crowd(crowd))?
    } else if ["https://", "http://", "mailto:"]
        .iter()
        .any(|s| target.starts_with(s))
        && !target.contains(char::is_whitespace)
    {
        Typed::Link { url: target, label }
    } else {
        return None;
    };
    Some((piece, len))
}

/// A URL typed bare (Slack links it), when it starts a word.
fn bare_link_at(tail: &str, word_start: bool) -> Option<(Typed<'_>, usize)> {
    if !word_start || !(tail.starts_with("https://") || tail.starts_with("http://")) {
        return None;
    }
    let end = tail
        .find(|c: char| c.is_whitespace() || c == '<' || c == '>')
        .unwrap_or(tail.len());
    // Trailing punctuation ends a sentence, not the URL.
    let url = tail[..end].trim_end_matches(['.', ',', ';', ':', '!', '?', ')']);
    (url.len() > "https://".len()).then_some((Typed::Link { url, label: None }, url.len()))
}

/// `:name:` (Slack shows it as the emoji).
fn emoji_at(tail: &str) -> Option<(Typed<'_>, usize)> {
    let inner = tail.strip_prefix(':')?;
    let end = inner.find(':')?;
    let name = &inner[..end];
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-+".contains(c));
    ok.then_some((Typed::Emoji(name), end + 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_characters_are_escaped_and_picked_ones_stay_tokens() {
        assert_eq!(
            escaped_text("declare sev2 R&D login <beta> fails"),
            "declare sev2 R&amp;D login &lt;beta&gt; fails"
        );
        assert_eq!(
            escaped_text(
                "Root cause: <@U0CAROL> found it in <https://git.example/pr/42|PR 42> :fire: cc <!here>"
            ),
            "Root cause: <@U0CAROL> found it in <https://git.example/pr/42|PR 42> :fire: cc <!here>"
        );
        assert_eq!(
            escaped_text("see https://grafana.example/d/1?a=1&b=2."),
            "see <https://grafana.example/d/1?a=1&amp;b=2>."
        );
        assert_eq!(escaped_text("10:30 it's 5:00"), "10:30 it's 5:00");
    }

    #[test]
    fn the_rich_text_carries_the_same_words_as_elements() {
        let block = rich_text("R&D <@U0CAROL> in <#C0OPS> <https://x|PR 42> :fire:", "b1");
        assert_eq!(
            block["elements"][0]["elements"],
            json!([
                {"type": "text", "text": "R&D "},
                {"type": "user", "user_id": "U0CAROL"},
                {"type": "text", "text": " in "},
                {"type": "channel", "channel_id": "C0OPS"},
                {"type": "text", "text": " "},
                {"type": "link", "url": "https://x", "text": "PR 42"},
                {"type": "text", "text": " "},
                {"type": "emoji", "name": "fire"}
            ])
        );
    }
}
