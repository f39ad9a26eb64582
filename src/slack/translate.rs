//! Slack's payloads — a slash command, an interaction, an Events API callback, as the JSON an
//! envelope carried — turned into the port's plain values (`inbound`). What the bot does not
//! handle becomes `None` and is acked and ignored.
//!
//! slack-morphism's models read the structure of commands, view submissions and clicks. A
//! message is read from the JSON Slack sent, through `message`: slack-morphism's message model
//! keeps only part of a message (an attachment's `pretext` or `from_url`, a subtype such as
//! `tombstone`, are dropped on the way through), and it does not model every event the bot hears
//! (`pin_added`). Text is decoded here, once (`domain::mrkdwn::from_slack`). What the Web API
//! answers is read in `answers`. Nothing here panics
//! on a payload: a field that is missing makes the payload ignored (and logged by the caller).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use slack_morphism::prelude::*;

use super::inbound::{
    Click, Event, EventKind, Interaction, PinnedMessage, Shortcut, SlashCommand, Submission, Team,
};
use super::message::{self, author, author_label, string_at};
use crate::domain::modal::{Field, Values};
use crate::domain::mrkdwn;
use crate::domain::source::SourceMessage;

/// The workspace a payload came from: `team_id` (commands, events), `team.id` (interactions) or
/// the user's `team_id`; `enterprise_id` or `enterprise.id` on Enterprise Grid.
pub(super) fn team(payload: &Value) -> Team {
    let id = ["/team_id", "/team/id", "/user/team_id"]
        .iter()
        .find_map(|p| string_at(payload, p).filter(|id| !id.is_empty()))
        .unwrap_or_default();
    let enterprise = ["/enterprise_id", "/enterprise/id"]
        .iter()
        .find_map(|p| string_at(payload, p).filter(|id| !id.is_empty()));
    Team { id, enterprise }
}

/// A slash command, as the application reads it: its text decoded once (Slack escapes `&`,
/// `<`, `>` in what was typed; what the person picked from Slack's pop-ups stays a token).
pub(super) fn slash_command(payload: &Value) -> Option<SlashCommand> {
    let event = SlackCommandEvent::deserialize(payload).ok()?;
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
    let event = SlackInteractionEvent::deserialize(payload).ok()?;
    match event {
        SlackInteractionEvent::MessageAction(action) => {
            let channel = action.channel.as_ref()?.id.to_string();
            Some(Interaction::MessageShortcut(Shortcut {
                callback_id: action.callback_id.to_string(),
                user: action.user.id.to_string(),
                trigger_id: action.trigger_id.to_string(),
                response_url: action.response_url.0.to_string(),
                source: source_message(&channel, payload.get("message")?)?,
            }))
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
            Some(Interaction::ViewSubmission(Submission {
                callback_id: modal.callback_id.as_ref()?.to_string(),
                view_id: submission.view.state_params.id.to_string(),
                user: submission.user.id.to_string(),
                private_metadata: modal.private_metadata.clone().unwrap_or_default(),
                values,
            }))
        }
        SlackInteractionEvent::BlockActions(actions) => {
            let action = actions.actions.as_ref()?.first()?;
            Some(Interaction::ButtonClick(Click {
                action_id: action.action_id.to_string(),
                value: action.value.clone().unwrap_or_default(),
                user: actions.user.as_ref()?.id.to_string(),
                trigger_id: actions.trigger_id.to_string(),
                response_url: actions.response_url.as_ref().map(|u| u.0.to_string()),
                channel: string_at(payload, "/container/channel_id")
                    .or_else(|| actions.channel.as_ref().map(|c| c.id.to_string())),
                message_ts: string_at(payload, "/container/message_ts"),
            }))
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
            let channel =
                string_at(body, "/channel_id").or_else(|| string_at(body, "/item/channel"))?;
            let user = string_at(body, "/user")?;
            if string_at(body, "/item/type").as_deref() != Some("message") {
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
                    ts: string_at(message, "/ts")?,
                }
            }
        }
        "message" => {
            let channel = string_at(body, "/channel")?;
            match string_at(body, "/subtype").as_deref() {
                // A deleted message that had replies stays as a tombstone: a deletion.
                Some("message_changed")
                    if string_at(body, "/message/subtype").as_deref() == Some("tombstone") =>
                {
                    EventKind::MessageDeleted {
                        channel,
                        ts: string_at(body, "/message/ts")?,
                    }
                }
                Some("message_changed") => {
                    let message = body.get("message")?;
                    EventKind::MessageChanged {
                        channel,
                        ts: string_at(message, "/ts")
                            .or_else(|| string_at(body, "/previous_message/ts"))?,
                        text: message::text(message),
                    }
                }
                Some("message_deleted") => EventKind::MessageDeleted {
                    channel,
                    ts: string_at(body, "/deleted_ts")?,
                },
                _ => return None,
            }
        }
        "member_joined_channel" => EventKind::MemberJoined {
            channel: string_at(body, "/channel")?,
            user: string_at(body, "/user")?,
        },
        "app_uninstalled" => EventKind::Uninstalled,
        // Users' tokens the bot never holds are nothing to it; its own bot token is everything.
        "tokens_revoked"
            if body
                .pointer("/tokens/bot")
                .and_then(Value::as_array)
                .is_some_and(|bots| !bots.is_empty()) =>
        {
            EventKind::Uninstalled
        }
        _ => return None,
    };
    Some(Event {
        event_id: string_at(callback, "/event_id")?,
        at,
        kind,
    })
}

fn pinned(message: &Value) -> Option<PinnedMessage> {
    Some(PinnedMessage {
        ts: string_at(message, "/ts")?,
        author: author(message),
        author_label: string_at(message, "/username"),
        text: message::text(message),
    })
}

/// The message a shortcut was used on.
fn source_message(channel: &str, message: &Value) -> Option<SourceMessage> {
    Some(SourceMessage {
        channel: channel.to_string(),
        ts: string_at(message, "/ts")?,
        author: author(message),
        author_label: author_label(message),
        headline: message::attachments(message)
            .into_iter()
            .map(|a| a.title)
            .find(|t| !t.is_empty()),
        text: message::text(message),
        permalink: string_at(message, "/permalink"),
    })
}

#[cfg(test)]
mod contract;
