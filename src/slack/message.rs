//! One reading of a Slack message, wherever one arrives: a pin (`pin_added`, `pins.list`), an
//! edit (`message_changed`), the message a shortcut was used on, the copy of an alert.
//!
//! A message written in Slack's composer carries its words twice: in `text` (mrkdwn, with `&`,
//! `<`, `>` escaped) and in a `rich_text` block (the same words as structure). A bot's message
//! (an alert) often has an empty `text` and its words in `section` blocks or legacy
//! `attachments`; when it has blocks, its `text` is only the notification fallback. So a
//! message is read **one way**: its blocks when they show any words (`rich_text` rendered
//! faithfully, `section`/`header`/`context` texts), otherwise its `text`; then its
//! attachments. Never `text` and `rich_text` both — that printed every pinned finding twice.
//!
//! What comes out is text as the bot keeps it (see `domain::mrkdwn`): Slack's escaping
//! decoded once, what Slack linked kept as tokens: a `user` element becomes `<@U…>`, a
//! `channel` `<#C…>`, a `link` `<url|text>`, a `usergroup` `<!subteam^S…>`, a `broadcast`
//! `<!here>`, an `emoji` `:name:`. Styles are written as Slack's own `text` would show them
//! (`*bold*`, `_italic_`, `~strike~`, `` `code` ``). Nothing here panics on a payload: what is
//! missing or unknown is skipped.

use serde_json::Value;

use crate::domain::mrkdwn::{self, escape};
use crate::domain::source::{self, AttachmentText};

/// Everything a message says, read once: its blocks' words (or else its `text`), then its
/// attachments.
pub(super) fn text(message: &Value) -> String {
    source::flatten(&body(message), &attachments(message), &[])
}

/// The message's own words: what its blocks show, or its `text` when they show nothing.
fn body(message: &Value) -> String {
    let shown = blocks(message.get("blocks"));
    if !shown.trim().is_empty() {
        return shown;
    }
    mrkdwn::from_slack(str_at(message, "/text").unwrap_or_default())
}

/// The words of a message's attachments (alerts keep their headline in a title). Unfurls —
/// the previews Slack adds for a link or a message the text already holds — are not words of
/// the message.
pub(super) fn attachments(message: &Value) -> Vec<AttachmentText> {
    let Some(items) = message.get("attachments").and_then(Value::as_array) else {
        return Vec::new();
    };
    let read =
        |a: &Value, pointer: &str| mrkdwn::from_slack(str_at(a, pointer).unwrap_or_default());
    let unfurl = |a: &Value| {
        ["is_msg_unfurl", "is_app_unfurl", "is_share"]
            .iter()
            .any(|k| a.get(*k).and_then(Value::as_bool) == Some(true))
            || a.get("from_url").is_some()
            || a.get("original_url").is_some()
    };
    items
        .iter()
        .filter(|a| !unfurl(a))
        .map(|a| AttachmentText {
            pretext: read(a, "/pretext"),
            title: read(a, "/title"),
            text: read(a, "/text"),
            fields: a
                .get("fields")
                .and_then(Value::as_array)
                .map(|fields| {
                    fields
                        .iter()
                        .map(|f| (read(f, "/title"), read(f, "/value")))
                        .collect()
                })
                .unwrap_or_default(),
            fallback: read(a, "/fallback"),
        })
        .collect()
}

/// What a message's blocks show, one block per line (paragraphs of a `rich_text` block keep
/// their own line breaks). Buttons, images and inputs show no words.
fn blocks(blocks: Option<&Value>) -> String {
    let Some(blocks) = blocks.and_then(Value::as_array) else {
        return String::new();
    };
    let parts: Vec<String> = blocks
        .iter()
        .map(|block| match kind(block) {
            "rich_text" => rich_text(block),
            "section" => {
                let mut lines: Vec<String> =
                    block.get("text").map(text_object).into_iter().collect();
                if let Some(fields) = block.get("fields").and_then(Value::as_array) {
                    lines.extend(fields.iter().map(text_object));
                }
                join_lines(lines)
            }
            "header" => block.get("text").map(text_object).unwrap_or_default(),
            "context" => block
                .get("elements")
                .and_then(Value::as_array)
                .map(|elements| {
                    elements
                        .iter()
                        .filter(|e| matches!(kind(e), "mrkdwn" | "plain_text"))
                        .map(text_object)
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default(),
            _ => String::new(),
        })
        .filter(|t| !t.trim().is_empty())
        .collect();
    parts.join("\n")
}

fn join_lines(lines: Vec<String>) -> String {
    lines
        .into_iter()
        .filter(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A text object: `mrkdwn` is escaped by its author and decoded once; `plain_text` is shown
/// literally, so it is taken as it is.
fn text_object(object: &Value) -> String {
    let text = str_at(object, "/text").unwrap_or_default();
    match kind(object) {
        "plain_text" => text.to_string(),
        _ => mrkdwn::from_slack(text),
    }
}

/// A `rich_text` block: sections, lists, quotes and preformatted runs, each on its own lines.
fn rich_text(block: &Value) -> String {
    let mut out = String::new();
    for element in elements(block) {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        match kind(element) {
            "rich_text_section" => out.push_str(&inline(element)),
            "rich_text_list" => {
                let ordered = str_at(element, "/style") == Some("ordered");
                let indent = element.get("indent").and_then(Value::as_u64).unwrap_or(0);
                let offset = element.get("offset").and_then(Value::as_u64).unwrap_or(0);
                let items: Vec<String> = elements(element)
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        let pad = "    ".repeat(indent as usize);
                        let mark = match ordered {
                            true => format!("{}.", offset + i as u64 + 1),
                            false => "•".to_string(),
                        };
                        format!("{pad}{mark} {}", inline(item).trim_end_matches('\n'))
                    })
                    .collect();
                out.push_str(&items.join("\n"));
            }
            "rich_text_quote" => {
                let quoted = inline(element);
                let lines: Vec<String> = quoted
                    .trim_end_matches('\n')
                    .lines()
                    .map(|l| format!("> {l}"))
                    .collect();
                out.push_str(&lines.join("\n"));
            }
            "rich_text_preformatted" => {
                out.push_str("```");
                out.push_str(inline(element).trim_end_matches('\n'));
                out.push_str("```");
            }
            _ => {}
        }
    }
    out.trim_end_matches('\n').to_string()
}

/// The inline elements of a section (or a quote, a list item, a preformatted run).
fn inline(container: &Value) -> String {
    let mut out = String::new();
    for element in elements(container) {
        let styled = |text: String| style(element, text);
        match kind(element) {
            "text" => out.push_str(&styled(str_at(element, "/text").unwrap_or_default().into())),
            "link" => {
                let url = str_at(element, "/url").unwrap_or_default();
                let token = match str_at(element, "/text").filter(|t| !t.is_empty()) {
                    Some(label) => format!("<{}|{}>", escape(url), escape(label)),
                    None => format!("<{}>", escape(url)),
                };
                out.push_str(&styled(token));
            }
            "user" => {
                if let Some(id) = str_at(element, "/user_id") {
                    out.push_str(&mrkdwn::user(id));
                }
            }
            "channel" => {
                if let Some(id) = str_at(element, "/channel_id") {
                    out.push_str(&mrkdwn::channel(id));
                }
            }
            "usergroup" => {
                if let Some(id) = str_at(element, "/usergroup_id") {
                    out.push_str(&mrkdwn::group(id));
                }
            }
            "broadcast" => {
                if let Some(range) = str_at(element, "/range") {
                    out.push_str(&format!("<!{}>", escape(range)));
                }
            }
            "emoji" => {
                if let Some(name) = str_at(element, "/name") {
                    out.push_str(&format!(":{name}:"));
                }
            }
            "date" => {
                let fallback = str_at(element, "/fallback")
                    .map(str::to_string)
                    .or_else(|| element.get("timestamp").map(|t| t.to_string()))
                    .unwrap_or_default();
                out.push_str(&fallback);
            }
            "color" => out.push_str(str_at(element, "/value").unwrap_or_default()),
            _ => {}
        }
    }
    out
}

/// `text` with the markers Slack's own `text` would show for the element's style.
fn style(element: &Value, text: String) -> String {
    let Some(style) = element.get("style") else {
        return text;
    };
    let on = |k: &str| style.get(k).and_then(Value::as_bool).unwrap_or(false);
    // Markers hug the words: Slack's text puts surrounding spaces outside them.
    let core = text.trim();
    if core.is_empty() {
        return text;
    }
    let (lead, rest) = text.split_at(text.len() - text.trim_start().len());
    let trail = &rest[rest.trim_end().len()..];
    let mut marked = core.to_string();
    // Innermost first: Slack writes bold and italic as `_*x*_`.
    for (key, mark) in [
        ("code", "`"),
        ("strike", "~"),
        ("bold", "*"),
        ("italic", "_"),
    ] {
        if on(key) {
            marked = format!("{mark}{marked}{mark}");
        }
    }
    format!("{lead}{marked}{trail}")
}

fn elements(value: &Value) -> &[Value] {
    value
        .get("elements")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn kind(value: &Value) -> &str {
    str_at(value, "/type").unwrap_or_default()
}

fn str_at<'v>(value: &'v Value, pointer: &str) -> Option<&'v str> {
    value.pointer(pointer).and_then(Value::as_str)
}

/// A message's author, unless a bot wrote it.
pub(super) fn author(message: &Value) -> Option<String> {
    if message.get("bot_id").is_some_and(|b| !b.is_null()) {
        return None;
    }
    string_at(message, "/user")
}

/// How a bot signs its message: its username, else its profile's name.
pub(super) fn author_label(message: &Value) -> Option<String> {
    string_at(message, "/username").or_else(|| string_at(message, "/bot_profile/name"))
}

/// The string at `pointer`, owned.
pub(super) fn string_at(value: &Value, pointer: &str) -> Option<String> {
    str_at(value, pointer).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// What Slack's composer sends for
    /// `Root cause: @carol found the retry storm in [PR 42](https://git.example.com/pay/pull/42)`.
    fn composed() -> Value {
        json!({
            "type": "message", "user": "U0BOB", "ts": "1700000050.000200",
            "text": "Root cause: <@U0CAROL> found the retry storm in <https://git.example.com/pay/pull/42|PR 42>",
            "blocks": [{"type": "rich_text", "block_id": "b1", "elements": [
                {"type": "rich_text_section", "elements": [
                    {"type": "text", "text": "Root cause: "},
                    {"type": "user", "user_id": "U0CAROL"},
                    {"type": "text", "text": " found the retry storm in "},
                    {"type": "link", "url": "https://git.example.com/pay/pull/42", "text": "PR 42"}
                ]}
            ]}]
        })
    }

    #[test]
    fn a_composed_message_is_read_once_from_its_rich_text() {
        assert_eq!(
            text(&composed()),
            "Root cause: <@U0CAROL> found the retry storm in <https://git.example.com/pay/pull/42|PR 42>"
        );
    }

    #[test]
    fn rich_text_reads_every_element_and_container() {
        let message = json!({"text": "ignored when blocks speak", "blocks": [{"type": "rich_text", "elements": [
            {"type": "rich_text_section", "elements": [
                {"type": "text", "text": "R&D < 5% "},
                {"type": "text", "text": "now", "style": {"bold": true}},
                {"type": "text", "text": " "},
                {"type": "emoji", "name": "fire", "unicode": "1f525"},
                {"type": "text", "text": " in "},
                {"type": "channel", "channel_id": "C0OPS"},
                {"type": "text", "text": " cc "},
                {"type": "usergroup", "usergroup_id": "S0DBA"},
                {"type": "text", "text": " "},
                {"type": "broadcast", "range": "here"},
                {"type": "text", "text": "\n"}
            ]},
            {"type": "rich_text_list", "style": "ordered", "indent": 0, "elements": [
                {"type": "rich_text_section", "elements": [{"type": "text", "text": "roll back"}]},
                {"type": "rich_text_section", "elements": [{"type": "link", "url": "https://x.example/?a=1&b=2"}]}
            ]},
            {"type": "rich_text_quote", "elements": [{"type": "text", "text": "it was DNS"}]},
            {"type": "rich_text_preformatted", "elements": [{"type": "text", "text": "kubectl rollout undo"}]}
        ]}]});
        assert_eq!(
            text(&message),
            "R&D < 5% *now* :fire: in <#C0OPS> cc <!subteam^S0DBA> <!here>\n\
             1. roll back\n\
             2. <https://x.example/?a=1&amp;b=2>\n\
             > it was DNS\n\
             ```kubectl rollout undo```"
        );
    }

    #[test]
    fn without_blocks_the_text_is_decoded_once() {
        let message = json!({"text": "error rate &gt; 5% &amp; rising, see <https://x|graph>"});
        assert_eq!(
            text(&message),
            "error rate > 5% & rising, see <https://x|graph>"
        );
    }

    #[test]
    fn a_bots_blocks_and_attachments_are_read_and_its_fallback_is_not() {
        let message = json!({
            "type": "message", "subtype": "bot_message", "bot_id": "B0ALERTS",
            "text": "[FIRING:1] DiskFull (notification fallback)",
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": "Disk <full>"}},
                {"type": "section", "text": {"type": "mrkdwn", "text": "*db-3* at 99% &gt; 95%"},
                 "fields": [{"type": "mrkdwn", "text": "host"}, {"type": "plain_text", "text": "db-3"}]},
                {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Ack"}}]}
            ],
            "attachments": [{"title": "Runbook", "text": "see <https://wiki/rb|the runbook>"}]
        });
        assert_eq!(
            text(&message),
            "Disk <full>\n*db-3* at 99% > 95%\nhost\ndb-3\nRunbook\nsee <https://wiki/rb|the runbook>"
        );
    }

    #[test]
    fn an_alert_in_attachments_only_reads_its_attachments() {
        let message = json!({
            "type": "message", "subtype": "bot_message", "text": "", "bot_id": "B0ALERTS",
            "attachments": [{"color": "danger", "title": "[FIRING:1] HighErrorRate checkout (prod)",
                             "text": "error rate 12% &gt; 5% for 10m", "fallback": "[FIRING:1] HighErrorRate"}]
        });
        assert_eq!(
            text(&message),
            "[FIRING:1] HighErrorRate checkout (prod)\nerror rate 12% > 5% for 10m"
        );
    }
}
