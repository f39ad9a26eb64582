//! Slack's JSON shapes for workspace objects (channels, messages, users, files) and for the
//! Events API (`event_callback` and the events inside it), shared by the Web API methods, the
//! interactive payloads and the events. Each follows the
//! examples in Slack's documentation of Socket Mode, interactivity and the Events API.
//!
//! Pure functions of the state: they read it and never change it, and must not panic.

use serde_json::{Map, Value, json};

use super::state::{ChannelRecord, FileRecord, PinItem, PinRecord, State, UserRecord};
use super::workspaces::Authorization;
use super::{APP_ID, Message};

/// A channel as the bot user `bot` (of the channel's workspace) sees it.
pub(crate) fn channel_json(channel: &ChannelRecord, bot: &str) -> Value {
    json!({
        "id": channel.id,
        "name": channel.name,
        "is_channel": true,
        "is_group": false,
        "is_im": false,
        "is_mpim": false,
        "is_private": channel.is_private,
        "created": channel.created,
        "is_archived": channel.is_archived,
        "is_general": channel.name == "general",
        "unlinked": 0,
        "name_normalized": channel.name,
        "is_shared": false,
        "is_org_shared": false,
        "is_ext_shared": false,
        "is_pending_ext_shared": false,
        "pending_shared": [],
        "context_team_id": channel.team_id,
        "updated": channel.created * 1000,
        "parent_conversation": null,
        "creator": channel.creator,
        "shared_team_ids": [channel.team_id],
        "pending_connected_team_ids": [],
        "is_member": channel.is_member(bot),
        "last_read": "0000000000.000000",
        "topic": {
            "value": channel.topic,
            "creator": channel.topic_creator,
            "last_set": channel.topic_last_set,
        },
        "purpose": { "value": "", "creator": "", "last_set": 0 },
        "previous_names": [],
        "priority": 0,
        "num_members": channel.members.len(),
    })
}

/// A message as history, `chat.*` answers, events and interactive payloads show it. Metadata
/// is included only when `with_metadata` (history shows it only with `include_all_metadata`).
pub(crate) fn message_json(
    state: &State,
    channel: &ChannelRecord,
    message: &Message,
    with_metadata: bool,
) -> Value {
    let mut object = Map::new();
    object.insert("type".into(), json!("message"));
    if let Some(subtype) = &message.subtype {
        object.insert("subtype".into(), json!(subtype));
    }
    object.insert("text".into(), json!(message.text));
    object.insert("ts".into(), json!(message.ts));
    if !message.user.is_empty() {
        object.insert("user".into(), json!(message.user));
    }
    if let Some(bot_id) = &message.bot_id {
        object.insert("bot_id".into(), json!(bot_id));
        if state.is_app_bot_id(bot_id) {
            object.insert("app_id".into(), json!(APP_ID));
        }
    }
    if let Some(username) = &message.username {
        object.insert("username".into(), json!(username));
    }
    if !message.user.is_empty() {
        object.insert("team".into(), json!(channel.team_id));
    }
    if !message.blocks.is_null() {
        object.insert("blocks".into(), message.blocks.clone());
    }
    if !message.attachments.is_null() {
        object.insert("attachments".into(), message.attachments.clone());
    }
    if !message.files.is_empty() {
        let files: Vec<Value> = message
            .files
            .iter()
            .filter_map(|id| state.file(id))
            .map(|f| file_json(state, f))
            .collect();
        object.insert("files".into(), Value::Array(files));
        object.insert("upload".into(), json!(false));
    }
    if let Some(edited) = &message.edited {
        object.insert(
            "edited".into(),
            json!({ "user": edited.user, "ts": edited.ts }),
        );
    }
    match &message.thread_ts {
        Some(thread_ts) if *thread_ts != message.ts => {
            object.insert("thread_ts".into(), json!(thread_ts));
            if let Some(parent) = channel.message(thread_ts) {
                let parent_user = if parent.user.is_empty() {
                    parent.bot_id.clone().unwrap_or_default()
                } else {
                    parent.user.clone()
                };
                object.insert("parent_user_id".into(), json!(parent_user));
            }
        }
        _ => {
            let replies: Vec<&Message> = channel
                .messages
                .iter()
                .filter(|m| m.ts != message.ts && m.thread_ts.as_deref() == Some(&message.ts))
                .collect();
            if let Some(latest) = replies.last() {
                let mut users: Vec<&str> = Vec::new();
                for reply in &replies {
                    if !users.contains(&reply.user.as_str()) {
                        users.push(&reply.user);
                    }
                }
                object.insert("thread_ts".into(), json!(message.ts));
                object.insert("reply_count".into(), json!(replies.len()));
                object.insert("reply_users_count".into(), json!(users.len()));
                object.insert("latest_reply".into(), json!(latest.ts));
                object.insert("reply_users".into(), json!(users));
                object.insert("is_locked".into(), json!(false));
                object.insert("subscribed".into(), json!(false));
            } else if let Some(thread_ts) = &message.thread_ts {
                object.insert("thread_ts".into(), json!(thread_ts));
            }
        }
    }
    if with_metadata && !message.metadata.is_null() {
        object.insert("metadata".into(), message.metadata.clone());
    }
    if channel.pin(&PinItem::Message(message.ts.clone())).is_some() {
        object.insert("pinned_to".into(), json!([channel.id]));
    }
    Value::Object(object)
}

pub(crate) fn permalink(state: &State, channel: &ChannelRecord, message: &Message) -> String {
    let channel_id = &channel.id;
    let base = format!(
        "https://{}.slack.com/archives/{channel_id}/p{}",
        state.domain_of(&channel.team_id),
        message.ts.replace('.', "")
    );
    match &message.thread_ts {
        Some(thread_ts) if *thread_ts != message.ts => {
            format!("{base}?thread_ts={thread_ts}&cid={channel_id}")
        }
        _ => base,
    }
}

pub(crate) fn user_json(state: &State, user: &UserRecord) -> Value {
    let real_name = capitalize(&user.name);
    let mut profile = json!({
        "real_name": real_name,
        "display_name": user.name,
        "real_name_normalized": real_name,
        "display_name_normalized": user.name,
        "team": user.team_id,
    });
    if let Some(object) = profile.as_object_mut() {
        if user.is_bot {
            object.insert("bot_id".into(), json!(state.bot_id_of(&user.team_id)));
            object.insert("api_app_id".into(), json!(APP_ID));
        } else {
            object.insert(
                "email".into(),
                json!(format!(
                    "{}@{}.com",
                    user.name,
                    state.domain_of(&user.team_id)
                )),
            );
        }
    }
    json!({
        "id": user.id,
        "team_id": user.team_id,
        "name": user.name,
        "deleted": false,
        "color": "9f69e7",
        "real_name": real_name,
        "tz": "Europe/Berlin",
        "tz_label": "Central European Time",
        "tz_offset": 3600,
        "is_admin": false,
        "is_owner": false,
        "is_bot": user.is_bot,
        "is_app_user": false,
        "updated": 1_700_000_000,
        "profile": profile,
    })
}

fn capitalize(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The `user` of an interactive payload.
pub(crate) fn user_ref(state: &State, id: &str) -> Value {
    let name = state
        .user(id)
        .map(|u| u.name.clone())
        .unwrap_or_else(|| id.to_string());
    json!({ "id": id, "username": name, "name": name, "team_id": state.team_of_user(id) })
}

/// `base` + `/<name>`, with the name percent-encoded.
fn with_name(base: String, name: &str) -> String {
    match url::Url::parse(&base) {
        Ok(mut url) => {
            if let Ok(mut segments) = url.path_segments_mut() {
                segments.push(name);
            }
            url.to_string()
        }
        Err(_) => base,
    }
}

/// (mimetype, filetype, pretty_type) for a file name, for the few kinds an incident bot shares.
fn file_kind(name: &str) -> (&'static str, &'static str, &'static str) {
    let extension = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "md" | "markdown" => ("text/markdown", "markdown", "Markdown (raw)"),
        "txt" | "log" => ("text/plain", "text", "Plain Text"),
        "json" => ("application/json", "json", "JSON"),
        "csv" => ("text/csv", "csv", "CSV"),
        "png" => ("image/png", "png", "PNG"),
        "jpg" | "jpeg" => ("image/jpeg", "jpg", "JPEG"),
        "pdf" => ("application/pdf", "pdf", "PDF"),
        _ => ("application/octet-stream", "binary", "Binary"),
    }
}

pub(crate) fn file_json(state: &State, file: &FileRecord) -> Value {
    let (mimetype, filetype, pretty_type) = file_kind(&file.name);
    let (mut public, mut private) = (Vec::new(), Vec::new());
    for id in &file.channels {
        match state.channel(id) {
            Some(c) if c.is_private => private.push(id.clone()),
            _ => public.push(id.clone()),
        }
    }
    let team = &file.team_id;
    let private_url = format!("https://files.slack.com/files-pri/{team}-{}", file.id);
    let permalink = format!(
        "https://{}.slack.com/files/{}/{}",
        state.domain_of(team),
        file.user,
        file.id
    );
    let size = file
        .bytes
        .as_ref()
        .map(|b| b.len() as u64)
        .unwrap_or(file.length);
    json!({
        "id": file.id,
        "created": file.created,
        "timestamp": file.created,
        "name": file.name,
        "title": file.title.clone().unwrap_or_else(|| file.name.clone()),
        "mimetype": mimetype,
        "filetype": filetype,
        "pretty_type": pretty_type,
        "user": file.user,
        "user_team": team,
        "editable": false,
        "size": size,
        "mode": if file.snippet_type.is_some() { "snippet" } else { "hosted" },
        "is_external": false,
        "external_type": "",
        "is_public": !public.is_empty(),
        "public_url_shared": false,
        "display_as_bot": false,
        "username": "",
        "url_private": with_name(private_url.clone(), &file.name),
        "url_private_download": with_name(format!("{private_url}/download"), &file.name),
        "permalink": with_name(permalink, &file.name),
        "permalink_public": format!("https://slack-files.com/{team}-{}-sim", file.id),
        "channels": public,
        "groups": private,
        "ims": [],
        "has_rich_preview": false,
        "file_access": "visible",
        "alt_txt": file.alt_txt,
    })
}

// --- the Events API ---

/// The `event_callback` payload of an `events_api` envelope from the workspace of
/// `authorization` (and its org's `enterprise_id`, in an Enterprise Grid).
pub(crate) fn event_callback(
    event: Value,
    event_id: &str,
    event_time: i64,
    authorization: &Authorization,
) -> Value {
    let team = &authorization.team_id;
    let mut payload = json!({
        "token": "verification-token-unused",
        "team_id": team,
        "context_team_id": team,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": event_time,
        "authorizations": [{
            "enterprise_id": authorization.enterprise_id,
            "team_id": team,
            "user_id": authorization.bot_user_id,
            "is_bot": true,
            "is_enterprise_install": authorization.is_enterprise_install,
        }],
        "is_ext_shared_channel": false,
        "event_context": format!("4-sim-{event_id}"),
    });
    if let (Some(enterprise), Some(object)) =
        (&authorization.enterprise_id, payload.as_object_mut())
    {
        object.insert("enterprise_id".into(), json!(enterprise));
        object.insert("context_enterprise_id".into(), json!(enterprise));
    }
    payload
}

/// A message posted: the message itself plus where (`message.channels`/`message.groups`).
pub(crate) fn message_event(state: &State, channel_id: &str, ts: &str) -> Option<Value> {
    let channel = state.channel(channel_id)?;
    let message = channel.message(ts)?;
    let mut event = message_json(state, channel, message, true);
    let object = event.as_object_mut()?;
    object.insert("channel".into(), json!(channel.id));
    object.insert("event_ts".into(), json!(message.ts));
    object.insert("channel_type".into(), json!(channel.message_channel_type()));
    Some(event)
}

/// `message` with subtype `message_changed`: the message now, and as it was.
pub(crate) fn message_changed_event(
    state: &State,
    channel_id: &str,
    previous: &Message,
    event_ts: &str,
) -> Option<Value> {
    let channel = state.channel(channel_id)?;
    let message = channel.message(&previous.ts)?;
    Some(json!({
        "type": "message",
        "subtype": "message_changed",
        "hidden": true,
        "channel": channel.id,
        "channel_type": channel.message_channel_type(),
        "ts": event_ts,
        "event_ts": event_ts,
        "message": message_json(state, channel, message, true),
        "previous_message": message_json(state, channel, previous, true),
    }))
}

/// `message` with subtype `message_deleted`.
pub(crate) fn message_deleted_event(
    state: &State,
    channel_id: &str,
    previous: &Message,
    event_ts: &str,
) -> Option<Value> {
    let channel = state.channel(channel_id)?;
    Some(json!({
        "type": "message",
        "subtype": "message_deleted",
        "hidden": true,
        "channel": channel.id,
        "channel_type": channel.message_channel_type(),
        "ts": event_ts,
        "event_ts": event_ts,
        "deleted_ts": previous.ts,
        "previous_message": message_json(state, channel, previous, true),
    }))
}

/// A pinned item as `pins.list` and the pin events show it.
pub(crate) fn pin_item(state: &State, channel: &ChannelRecord, pin: &PinRecord) -> Option<Value> {
    match &pin.item {
        PinItem::Message(ts) => {
            let message = channel.message(ts)?;
            let mut message_json = message_json(state, channel, message, false);
            if let Some(object) = message_json.as_object_mut() {
                object.insert(
                    "permalink".into(),
                    json!(permalink(state, channel, message)),
                );
                object.insert("pinned_to".into(), json!([channel.id]));
            }
            Some(json!({
                "type": "message",
                "created": pin.created,
                "created_by": pin.created_by,
                "channel": channel.id,
                "message": message_json,
            }))
        }
        PinItem::File(id) => {
            let file = state.file(id)?;
            let mut file_json = file_json(state, file);
            if let Some(object) = file_json.as_object_mut() {
                object.insert("pinned_to".into(), json!([channel.id]));
            }
            Some(json!({
                "type": "file",
                "created": pin.created,
                "created_by": pin.created_by,
                "channel": channel.id,
                "file": file_json,
            }))
        }
    }
}

/// `pin_added` / `pin_removed` (the latter with `has_pins`: whether any pin is left).
pub(crate) fn pin_event(
    state: &State,
    kind: &str,
    user: &str,
    channel: &ChannelRecord,
    pin: &PinRecord,
    event_ts: &str,
) -> Option<Value> {
    let mut event = json!({
        "type": kind,
        "user": user,
        "channel_id": channel.id,
        "item": pin_item(state, channel, pin)?,
        "event_ts": event_ts,
    });
    if kind == "pin_removed"
        && let Some(object) = event.as_object_mut()
    {
        object.insert("has_pins".into(), json!(!channel.pins.is_empty()));
    }
    Some(event)
}

/// `member_joined_channel`; `inviter` when someone (the bot) added them.
pub(crate) fn member_joined_event(
    channel: &ChannelRecord,
    user: &str,
    inviter: Option<&str>,
    event_ts: &str,
) -> Value {
    let mut event = json!({
        "type": "member_joined_channel",
        "user": user,
        "channel": channel.id,
        "channel_type": if channel.is_private { "G" } else { "C" },
        "team": channel.team_id,
        "event_ts": event_ts,
    });
    if let Some(inviter) = inviter
        && let Some(object) = event.as_object_mut()
    {
        object.insert("inviter".into(), json!(inviter));
    }
    event
}
