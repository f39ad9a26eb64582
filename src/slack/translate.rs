//! Slack's payloads — a slash command, an interaction, an Events API callback, as the JSON an
//! envelope carried — turned into the port's plain values (`inbound`). What the bot does not
//! handle becomes `None` and is acked and ignored.
//!
//! slack-morphism's models read the structure of commands, view submissions and clicks. A
//! message is read from the JSON Slack sent, through `message`: slack-morphism's message model
//! keeps only part of a message (an attachment's `pretext` or `from_url`, a subtype such as
//! `tombstone`, are dropped on the way through), and it does not model every event the bot hears
//! (`pin_added`). Text is decoded here, once (`domain::mrkdwn::from_slack`). Nothing here panics
//! on a payload: a field that is missing makes the payload ignored (and logged by the caller).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;
use slack_morphism::prelude::*;

use super::api::ListedPin;
use super::inbound::{Event, EventKind, Interaction, PinnedMessage, SlashCommand};
use super::message;
use crate::domain::modal::{Field, Values};
use crate::domain::mrkdwn;
use crate::domain::source::{self, SourceMessage};

/// A slash command, as the application reads it: its text decoded once (Slack escapes `&`,
/// `<`, `>` in what was typed; what the person picked from Slack's pop-ups stays a token).
pub(super) fn slash_command(payload: &Value) -> Option<SlashCommand> {
    let event: SlackCommandEvent = serde_json::from_value(payload.clone()).ok()?;
    Some(SlashCommand {
        user_id: event.user_id.to_string(),
        channel_id: event.channel_id.to_string(),
        text: mrkdwn::from_slack(event.text.as_deref().unwrap_or_default()),
        trigger_id: event.trigger_id.to_string(),
        response_url: event.response_url.0.to_string(),
    })
}

/// The interaction the bot handles, if this is one.
pub(super) fn interaction(payload: &Value) -> Option<Interaction> {
    let event: SlackInteractionEvent = serde_json::from_value(payload.clone()).ok()?;
    match event {
        SlackInteractionEvent::MessageAction(action) => {
            let channel = action.channel.as_ref()?.id.to_string();
            Some(Interaction::MessageShortcut {
                callback_id: action.callback_id.to_string(),
                user: action.user.id.to_string(),
                trigger_id: action.trigger_id.to_string(),
                response_url: action.response_url.0.to_string(),
                source: source_message(&channel, payload.get("message")?)?,
            })
        }
        SlackInteractionEvent::ViewSubmission(submission) => {
            let SlackView::Modal(modal) = &submission.view.view else {
                return None;
            };
            let values = submission
                .view
                .state_params
                .state
                .as_ref()
                .map(|state| values(&state.values))
                .unwrap_or_default();
            Some(Interaction::ViewSubmission {
                callback_id: modal.callback_id.as_ref()?.to_string(),
                view_id: submission.view.state_params.id.to_string(),
                user: submission.user.id.to_string(),
                private_metadata: modal.private_metadata.clone().unwrap_or_default(),
                values,
            })
        }
        SlackInteractionEvent::BlockActions(actions) => {
            let action = actions.actions.as_ref()?.first()?;
            Some(Interaction::ButtonClick {
                action_id: action.action_id.to_string(),
                value: action.value.clone().unwrap_or_default(),
                user: actions.user.as_ref()?.id.to_string(),
                trigger_id: actions.trigger_id.to_string(),
                response_url: actions.response_url.as_ref().map(|u| u.0.to_string()),
                channel: str_at(payload, "/container/channel_id")
                    .or_else(|| actions.channel.as_ref().map(|c| c.id.to_string())),
                message_ts: str_at(payload, "/container/message_ts"),
            })
        }
        _ => None,
    }
}

/// A modal's state as field values by block id (every input has one action).
fn values(
    state: &std::collections::HashMap<
        SlackBlockId,
        std::collections::HashMap<SlackActionId, SlackViewStateValue>,
    >,
) -> Values {
    let mut out = BTreeMap::new();
    for (block, actions) in state {
        let Some(value) = actions.values().next() else {
            continue;
        };
        let kind = value.action_type.to_string();
        let field = if let Some(options) = &value.selected_options {
            Field::Checked(options.iter().map(|o| o.value.clone()).collect())
        } else if value.selected_user.is_some() || kind.contains("users_select") {
            Field::User(value.selected_user.as_ref().map(|u| u.to_string()))
        } else if value.selected_option.is_some() || kind.contains("select") {
            Field::Choice(value.selected_option.as_ref().map(|o| o.value.clone()))
        } else if kind == "checkboxes" {
            Field::Checked(Vec::new())
        } else {
            Field::Text(value.value.clone())
        };
        out.insert(block.to_string(), field);
    }
    out
}

/// The event the bot handles, if this is one: `callback` is the Events API `event_callback`.
pub(super) fn event(callback: &Value) -> Option<Event> {
    let body = callback.get("event")?;
    let time = callback.get("event_time")?.as_i64()?;
    let at = DateTime::<Utc>::from_timestamp(time, 0)?;
    let kind = match body.get("type")?.as_str()? {
        "pin_added" | "pin_removed" => {
            let channel = str_at(body, "/channel_id").or_else(|| str_at(body, "/item/channel"))?;
            let user = str_at(body, "/user")?;
            if str_at(body, "/item/type").as_deref() != Some("message") {
                return None;
            }
            let message = body.pointer("/item/message")?;
            if body.get("type").and_then(Value::as_str) == Some("pin_added") {
                EventKind::PinAdded {
                    channel,
                    user,
                    message: pinned(message)?,
                }
            } else {
                EventKind::PinRemoved {
                    channel,
                    user,
                    ts: str_at(message, "/ts")?,
                }
            }
        }
        "message" => {
            let channel = str_at(body, "/channel")?;
            match str_at(body, "/subtype").as_deref() {
                // A deleted message that had replies stays as a tombstone: a deletion.
                Some("message_changed")
                    if str_at(body, "/message/subtype").as_deref() == Some("tombstone") =>
                {
                    EventKind::MessageDeleted {
                        channel,
                        ts: str_at(body, "/message/ts")?,
                    }
                }
                Some("message_changed") => {
                    let message = body.get("message")?;
                    EventKind::MessageChanged {
                        channel,
                        ts: str_at(message, "/ts")
                            .or_else(|| str_at(body, "/previous_message/ts"))?,
                        text: message::text(message),
                    }
                }
                Some("message_deleted") => EventKind::MessageDeleted {
                    channel,
                    ts: str_at(body, "/deleted_ts")?,
                },
                _ => return None,
            }
        }
        "member_joined_channel" => EventKind::MemberJoined {
            channel: str_at(body, "/channel")?,
            user: str_at(body, "/user")?,
        },
        _ => return None,
    };
    Some(Event {
        event_id: str_at(callback, "/event_id")?,
        at,
        kind,
    })
}

fn pinned(message: &Value) -> Option<PinnedMessage> {
    Some(PinnedMessage {
        ts: str_at(message, "/ts")?,
        author: author(message),
        author_label: str_at(message, "/username"),
        text: message::text(message),
    })
}

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
            let pinned_by = str_at(item, "/created_by");
            match item.get("type").and_then(Value::as_str) {
                Some("message") => {
                    let message = item.get("message")?;
                    let ts = str_at(message, "/ts")?;
                    Some(ListedPin {
                        posted_at: source::message_time(&ts).or(pinned_at),
                        ts: Some(ts),
                        author: author(message),
                        author_label: author_label(message),
                        text: message::text(message),
                        permalink: str_at(message, "/permalink"),
                        pinned_at,
                        pinned_by,
                        file: None,
                    })
                }
                Some("file") => {
                    let file = item.get("file")?;
                    let name = str_at(file, "/title").or_else(|| str_at(file, "/name"))?;
                    Some(ListedPin {
                        ts: None,
                        posted_at: file
                            .get("created")
                            .and_then(Value::as_i64)
                            .and_then(seconds)
                            .or(pinned_at),
                        author: str_at(file, "/user"),
                        author_label: None,
                        text: String::new(),
                        permalink: str_at(file, "/permalink"),
                        pinned_at,
                        pinned_by,
                        file: Some((name, str_at(file, "/permalink"))),
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
    .filter_map(|p| str_at(user, p))
    .map(|n| n.trim().to_string())
    .find(|n| !n.is_empty())
}

fn seconds(s: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(s, 0)
}

/// A message's author, unless a bot wrote it.
fn author(message: &Value) -> Option<String> {
    if message.get("bot_id").is_some_and(|b| !b.is_null()) {
        return None;
    }
    str_at(message, "/user")
}

/// The message a shortcut was used on.
fn source_message(channel: &str, message: &Value) -> Option<SourceMessage> {
    Some(SourceMessage {
        channel: channel.to_string(),
        ts: str_at(message, "/ts")?,
        author: author(message),
        author_label: author_label(message),
        headline: message::attachments(message)
            .into_iter()
            .map(|a| a.title)
            .find(|t| !t.is_empty()),
        text: message::text(message),
        permalink: str_at(message, "/permalink"),
    })
}

/// How a bot signs its message: its username, else its profile's name.
fn author_label(message: &Value) -> Option<String> {
    str_at(message, "/username").or_else(|| str_at(message, "/bot_profile/name"))
}

fn str_at(value: &Value, pointer: &str) -> Option<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_string)
}

#[cfg(test)]
mod contract;
