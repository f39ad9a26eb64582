//! What the Web API answers, read into the adapter's plain values: the pins of a channel
//! (`pins.list`), a person's name (`users.info`). Messages inside an answer are read the one way
//! every message is (`message`).

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::api::ListedPin;
use super::message::{self, author, author_label, string_at};
use crate::domain::source;

/// The items of a `pins.list` answer, as Slack shows them now: a message pin with its current
/// text (attachments and blocks included), a file pin by name and link. Items of another kind,
/// or missing their message, are left out.
pub(super) fn listed_pins(answer: &Value) -> Vec<ListedPin> {
    let Some(items) = answer.get("items").and_then(Value::as_array) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| {
            let pinned_at = item
                .get("created")
                .and_then(Value::as_i64)
                .and_then(seconds);
            let pinned_by = string_at(item, "/created_by");
            match item.get("type").and_then(Value::as_str) {
                Some("message") => {
                    let message = item.get("message")?;
                    let ts = string_at(message, "/ts")?;
                    Some(ListedPin {
                        posted_at: source::message_time(&ts).or(pinned_at),
                        ts: Some(ts),
                        author: author(message),
                        author_label: author_label(message),
                        text: message::text(message),
                        permalink: string_at(message, "/permalink"),
                        pinned_at,
                        pinned_by,
                        file: None,
                    })
                }
                Some("file") => {
                    let file = item.get("file")?;
                    let name = string_at(file, "/title").or_else(|| string_at(file, "/name"))?;
                    Some(ListedPin {
                        ts: None,
                        posted_at: file
                            .get("created")
                            .and_then(Value::as_i64)
                            .and_then(seconds)
                            .or(pinned_at),
                        author: string_at(file, "/user"),
                        author_label: None,
                        text: String::new(),
                        permalink: string_at(file, "/permalink"),
                        pinned_at,
                        pinned_by,
                        file: Some((name, string_at(file, "/permalink"))),
                    })
                }
                _ => None,
            }
        })
        .collect()
}

/// A display name from a `users.info` answer's user: the display name people chose, else their
/// real name, else their handle.
pub(super) fn user_name(user: &Value) -> Option<String> {
    [
        "/profile/display_name",
        "/profile/real_name",
        "/real_name",
        "/name",
    ]
    .iter()
    .filter_map(|p| string_at(user, p))
    .map(|n| n.trim().to_string())
    .find(|n| !n.is_empty())
}

fn seconds(s: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(s, 0)
}
