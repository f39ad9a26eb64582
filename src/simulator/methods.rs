//! Web API method semantics: what each method checks, what it changes in the workspace, and
//! the JSON it answers (Slack's shapes; see shared/SLACK-PAYLOADS.md).
//!
//! Methods see already-authenticated calls with merged parameters and return the answer's
//! fields without `ok` (the HTTP layer adds it). This file must not know about HTTP, tokens,
//! fault injection or recording, and must not panic on any parameter value.

use serde_json::{Map, Value, json};

use super::state::{ChannelRecord, PinRecord, State, UserRecord, unix_now};
use super::{APP_ID, BOT_ID, BOT_USER_ID, Message, TEAM_DOMAIN, TEAM_ID};

/// How long a trigger_id can be exchanged for a modal.
const TRIGGER_LIFETIME: std::time::Duration = std::time::Duration::from_secs(3);

/// What a method needs to know about the server.
pub(crate) struct Ctx {
    /// `http://127.0.0.1:PORT`
    pub(crate) base_url: String,
}

/// A Slack error answer: `error` plus extra fields (such as `errors`).
pub(crate) struct ApiError {
    pub(crate) error: String,
    pub(crate) extra: Map<String, Value>,
}

type Answer = Result<Map<String, Value>, ApiError>;

fn err(error: &str) -> ApiError {
    ApiError {
        error: error.to_string(),
        extra: Map::new(),
    }
}

fn ok(value: Value) -> Answer {
    match value {
        Value::Object(map) => Ok(map),
        _ => Ok(Map::new()),
    }
}

const METHODS: &[&str] = &[
    "auth.test",
    "apps.connections.open",
    "conversations.create",
    "conversations.invite",
    "conversations.setTopic",
    "conversations.info",
    "conversations.list",
    "chat.postMessage",
    "chat.postEphemeral",
    "chat.update",
    "chat.getPermalink",
    "pins.add",
    "pins.list",
    "users.info",
    "views.open",
];

/// Whether the simulator implements `method`.
pub(crate) fn is_known(method: &str) -> bool {
    METHODS.contains(&method)
}

/// Runs `method` against the workspace.
pub(crate) fn dispatch(
    state: &mut State,
    ctx: &Ctx,
    method: &str,
    params: &Map<String, Value>,
) -> Answer {
    let p = Params(params);
    match method {
        "auth.test" => ok(json!({
            "url": format!("https://{TEAM_DOMAIN}.slack.com/"),
            "team": "Example",
            "user": "incident-commander",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": false,
        })),
        "apps.connections.open" => {
            let ticket = state.new_ticket();
            let base = ctx.base_url.replacen("http://", "ws://", 1);
            ok(json!({ "url": format!("{base}/link/?ticket={ticket}&app_id={APP_ID}") }))
        }
        "conversations.create" => conversations_create(state, &p),
        "conversations.invite" => conversations_invite(state, &p),
        "conversations.setTopic" => conversations_set_topic(state, &p),
        "conversations.info" => {
            let channel = visible_channel(state, &p, "channel")?;
            ok(json!({ "channel": channel_json(channel) }))
        }
        "conversations.list" => conversations_list(state, &p),
        "chat.postMessage" => chat_post_message(state, &p),
        "chat.postEphemeral" => chat_post_ephemeral(state, &p),
        "chat.update" => chat_update(state, &p),
        "chat.getPermalink" => {
            let channel = visible_channel(state, &p, "channel")?;
            let ts = p.str("message_ts").unwrap_or_default();
            let message = channel
                .message(&ts)
                .ok_or_else(|| err("message_not_found"))?;
            ok(json!({
                "channel": channel.id,
                "permalink": permalink(&channel.id, message),
            }))
        }
        "pins.add" => pins_add(state, &p),
        "pins.list" => {
            let channel = visible_channel(state, &p, "channel")?;
            let items: Vec<Value> = channel
                .pins
                .iter()
                .filter_map(|pin| {
                    let message = channel.message(&pin.ts)?;
                    let mut message_json = message_json(message);
                    if let Some(object) = message_json.as_object_mut() {
                        object.insert("permalink".into(), json!(permalink(&channel.id, message)));
                        object.insert("pinned_to".into(), json!([channel.id]));
                    }
                    Some(json!({
                        "type": "message",
                        "created": pin.created,
                        "created_by": pin.created_by,
                        "channel": channel.id,
                        "message": message_json,
                    }))
                })
                .collect();
            ok(json!({ "items": items }))
        }
        "users.info" => {
            let id = p.str("user").unwrap_or_default();
            let user = state.user(&id).ok_or_else(|| err("user_not_found"))?;
            ok(json!({ "user": user_json(user) }))
        }
        "views.open" => views_open(state, &p),
        _ => Err(err("unknown_method")),
    }
}

// --- parameters ---

/// Typed access to merged parameters, tolerant of form strings and JSON values alike.
struct Params<'a>(&'a Map<String, Value>);

impl Params<'_> {
    /// A string parameter; numbers are accepted and printed.
    fn str(&self, key: &str) -> Option<String> {
        match self.0.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// A non-empty string parameter.
    fn non_empty(&self, key: &str) -> Option<String> {
        self.str(key).filter(|s| !s.is_empty())
    }

    fn bool(&self, key: &str) -> Option<bool> {
        match self.0.get(key)? {
            Value::Bool(b) => Some(*b),
            Value::Number(n) => Some(n.as_u64() != Some(0)),
            Value::String(s) => match s.as_str() {
                "true" | "1" => Some(true),
                "false" | "0" | "" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    fn u64(&self, key: &str) -> Option<u64> {
        match self.0.get(key)? {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// A JSON parameter (`blocks`, `view`, …): JSON bodies carry it as a value, forms as a
    /// JSON string. Returns `Err` for a string that is not JSON.
    fn json(&self, key: &str) -> Option<Result<Value, ()>> {
        match self.0.get(key)? {
            Value::Null => None,
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(serde_json::from_str(s).map_err(|_| ())),
            other => Some(Ok(other.clone())),
        }
    }
}

// --- JSON shapes ---

fn channel_json(channel: &ChannelRecord) -> Value {
    json!({
        "id": channel.id,
        "name": channel.name,
        "is_channel": true,
        "is_group": false,
        "is_im": false,
        "is_mpim": false,
        "is_private": channel.is_private,
        "created": channel.created,
        "is_archived": false,
        "is_general": channel.name == "general",
        "unlinked": 0,
        "name_normalized": channel.name,
        "is_shared": false,
        "is_org_shared": false,
        "is_ext_shared": false,
        "is_pending_ext_shared": false,
        "pending_shared": [],
        "context_team_id": TEAM_ID,
        "updated": channel.created * 1000,
        "parent_conversation": null,
        "creator": channel.creator,
        "shared_team_ids": [TEAM_ID],
        "pending_connected_team_ids": [],
        "is_member": channel.is_member(BOT_USER_ID),
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

fn message_json(message: &Message) -> Value {
    let mut object = Map::new();
    object.insert("type".into(), json!("message"));
    if message.user == BOT_USER_ID {
        object.insert("subtype".into(), json!("bot_message"));
        object.insert("bot_id".into(), json!(BOT_ID));
        object.insert("app_id".into(), json!(APP_ID));
    }
    object.insert("text".into(), json!(message.text));
    object.insert("ts".into(), json!(message.ts));
    object.insert("user".into(), json!(message.user));
    object.insert("team".into(), json!(TEAM_ID));
    if !message.blocks.is_null() {
        object.insert("blocks".into(), message.blocks.clone());
    }
    if let Some(thread_ts) = &message.thread_ts {
        object.insert("thread_ts".into(), json!(thread_ts));
    }
    Value::Object(object)
}

fn permalink(channel_id: &str, message: &Message) -> String {
    let base = format!(
        "https://{TEAM_DOMAIN}.slack.com/archives/{channel_id}/p{}",
        message.ts.replace('.', "")
    );
    match &message.thread_ts {
        Some(thread_ts) if *thread_ts != message.ts => {
            format!("{base}?thread_ts={thread_ts}&cid={channel_id}")
        }
        _ => base,
    }
}

fn user_json(user: &UserRecord) -> Value {
    let real_name = capitalize(&user.name);
    let mut profile = json!({
        "real_name": real_name,
        "display_name": user.name,
        "real_name_normalized": real_name,
        "display_name_normalized": user.name,
        "team": TEAM_ID,
    });
    if let Some(object) = profile.as_object_mut() {
        if user.is_bot {
            object.insert("bot_id".into(), json!(BOT_ID));
            object.insert("api_app_id".into(), json!(APP_ID));
        } else {
            object.insert(
                "email".into(),
                json!(format!("{}@{TEAM_DOMAIN}.com", user.name)),
            );
        }
    }
    json!({
        "id": user.id,
        "team_id": TEAM_ID,
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

// --- lookups ---

/// The channel named by parameter `key`, if the bot can see it; else `channel_not_found`.
fn visible_channel<'s>(
    state: &'s State,
    p: &Params,
    key: &str,
) -> Result<&'s ChannelRecord, ApiError> {
    let id = p.str(key).unwrap_or_default();
    state
        .channel_by_id_or_name(&id)
        .filter(|c| c.visible_to_bot())
        .ok_or_else(|| err("channel_not_found"))
}

/// Like `visible_channel`, and the bot must be a member.
fn member_channel(state: &State, p: &Params) -> Result<String, ApiError> {
    let channel = visible_channel(state, p, "channel")?;
    if !channel.is_member(BOT_USER_ID) {
        return Err(err("not_in_channel"));
    }
    Ok(channel.id.clone())
}

fn channel_mut<'s>(state: &'s mut State, id: &str) -> Result<&'s mut ChannelRecord, ApiError> {
    state
        .channel_mut(id)
        .ok_or_else(|| err("channel_not_found"))
}

/// Message content from `text`/`blocks`/…; `no_text` when there is none.
fn content(p: &Params) -> Result<(Option<String>, Option<Value>), ApiError> {
    let text = p.str("text");
    if text.as_ref().is_some_and(|t| t.chars().count() > 40_000) {
        return Err(err("msg_too_long"));
    }
    let blocks = match p.json("blocks") {
        None => None,
        Some(Ok(Value::Array(blocks))) if blocks.len() <= 50 => Some(Value::Array(blocks)),
        Some(_) => return Err(err("invalid_blocks")),
    };
    let has_other = ["attachments", "markdown_text"]
        .iter()
        .any(|k| p.non_empty(k).is_some() || p.0.get(*k).is_some_and(|v| v.is_array()));
    let has_text = text.as_ref().is_some_and(|t| !t.is_empty());
    let has_blocks = blocks
        .as_ref()
        .and_then(Value::as_array)
        .is_some_and(|b| !b.is_empty());
    if !has_text && !has_blocks && !has_other {
        return Err(err("no_text"));
    }
    Ok((text, blocks))
}

// --- methods ---

fn conversations_create(state: &mut State, p: &Params) -> Answer {
    let name = p.str("name").unwrap_or_default();
    if name.is_empty() {
        return Err(err("invalid_name_required"));
    }
    if name.chars().count() > 80 {
        return Err(err("invalid_name_maxlength"));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        return Err(err("invalid_name_specials"));
    }
    if name.chars().all(|c| c == '-' || c == '_') {
        return Err(err("invalid_name_punctuation"));
    }
    if state.channels.iter().any(|c| c.name == name) {
        return Err(err("name_taken"));
    }
    let is_private = p.bool("is_private").unwrap_or(false);
    let id = state.add_channel(&name, is_private, BOT_USER_ID, true);
    let channel = state.channel(&id).ok_or_else(|| err("internal_error"))?;
    ok(json!({ "channel": channel_json(channel) }))
}

/// `users` as a JSON array, a JSON-array string, or a comma-separated string.
fn user_list(p: &Params) -> Vec<String> {
    let raw = match p.0.get("users") {
        Some(Value::Array(items)) => items.clone(),
        Some(Value::String(s)) if s.trim_start().starts_with('[') => {
            serde_json::from_str::<Vec<Value>>(s).unwrap_or_default()
        }
        Some(Value::String(s)) => s.split(',').map(|u| json!(u.trim())).collect(),
        _ => Vec::new(),
    };
    raw.iter()
        .filter_map(Value::as_str)
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_string)
        .collect()
}

fn per_user_error(error: &str, users: &[&String]) -> ApiError {
    let errors: Vec<Value> = users
        .iter()
        .map(|u| json!({ "user": u, "ok": false, "error": error }))
        .collect();
    let mut extra = Map::new();
    extra.insert("errors".into(), Value::Array(errors));
    ApiError {
        error: error.to_string(),
        extra,
    }
}

fn conversations_invite(state: &mut State, p: &Params) -> Answer {
    let id = member_channel(state, p)?;
    let users = user_list(p);
    if users.is_empty() {
        return Err(err("no_user"));
    }
    if users.len() > 100 {
        return Err(err("too_many_users"));
    }
    let unknown: Vec<&String> = users.iter().filter(|u| state.user(u).is_none()).collect();
    if !unknown.is_empty() {
        return Err(per_user_error("user_not_found", &unknown));
    }
    let selves: Vec<&String> = users.iter().filter(|u| *u == BOT_USER_ID).collect();
    if !selves.is_empty() {
        return Err(per_user_error("cant_invite_self", &selves));
    }
    let channel = channel_mut(state, &id)?;
    let already: Vec<&String> = users.iter().filter(|u| channel.is_member(u)).collect();
    if already.len() == users.len() {
        return Err(per_user_error("already_in_channel", &already));
    }
    for user in &users {
        if !channel.is_member(user) {
            channel.members.push(user.clone());
        }
    }
    ok(json!({ "channel": channel_json(channel) }))
}

fn conversations_set_topic(state: &mut State, p: &Params) -> Answer {
    let id = member_channel(state, p)?;
    let topic = p.str("topic").unwrap_or_default();
    if topic.chars().count() > 250 {
        return Err(err("too_long"));
    }
    let channel = channel_mut(state, &id)?;
    channel.topic = topic;
    channel.topic_creator = BOT_USER_ID.to_string();
    channel.topic_last_set = unix_now();
    ok(json!({ "channel": channel_json(channel) }))
}

fn conversations_list(state: &mut State, p: &Params) -> Answer {
    let types = p
        .non_empty("types")
        .unwrap_or_else(|| "public_channel".to_string());
    let types: Vec<&str> = types.split(',').map(str::trim).collect();
    let limit = match p.u64("limit") {
        None | Some(0) => 100,
        Some(n) => n.min(1000),
    } as usize;
    let offset = match p.non_empty("cursor") {
        None => 0,
        Some(cursor) => cursor
            .strip_prefix("next_")
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| err("invalid_cursor"))?,
    };
    let matching: Vec<&ChannelRecord> = state
        .channels
        .iter()
        .filter(|c| {
            if c.is_private {
                types.contains(&"private_channel") && c.is_member(BOT_USER_ID)
            } else {
                types.contains(&"public_channel")
            }
        })
        .collect();
    let page: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(limit)
        .map(|c| channel_json(c))
        .collect();
    let next = offset + limit;
    let next_cursor = if next < matching.len() {
        format!("next_{next}")
    } else {
        String::new()
    };
    ok(json!({
        "channels": page,
        "response_metadata": { "next_cursor": next_cursor },
    }))
}

fn chat_post_message(state: &mut State, p: &Params) -> Answer {
    let id = member_channel(state, p)?;
    let (text, blocks) = content(p)?;
    let thread_ts = p.non_empty("thread_ts");
    let ts = state
        .append_message(
            &id,
            BOT_USER_ID,
            text.unwrap_or_default(),
            blocks.unwrap_or(Value::Null),
            thread_ts,
        )
        .ok_or_else(|| err("channel_not_found"))?;
    let channel = state.channel(&id).ok_or_else(|| err("channel_not_found"))?;
    let message = channel.message(&ts).ok_or_else(|| err("internal_error"))?;
    ok(json!({
        "channel": id,
        "ts": ts,
        "message": message_json(message),
    }))
}

fn chat_post_ephemeral(state: &mut State, p: &Params) -> Answer {
    visible_channel(state, p, "channel")?;
    let user = p.str("user").unwrap_or_default();
    if state.user(&user).is_none() {
        return Err(err("user_not_found"));
    }
    content(p)?;
    let ts = state.next_ts();
    ok(json!({ "message_ts": ts }))
}

fn chat_update(state: &mut State, p: &Params) -> Answer {
    let channel = visible_channel(state, p, "channel")?;
    let id = channel.id.clone();
    let ts = p.str("ts").unwrap_or_default();
    let message = channel
        .message(&ts)
        .ok_or_else(|| err("message_not_found"))?;
    if message.user != BOT_USER_ID {
        return Err(err("cant_update_message"));
    }
    let (text, blocks) = content(p)?;
    let channel = channel_mut(state, &id)?;
    let message = channel
        .messages
        .iter_mut()
        .find(|m| m.ts == ts)
        .ok_or_else(|| err("message_not_found"))?;
    // Like Slack, a field left out keeps its previous value.
    if let Some(text) = text {
        message.text = text;
    }
    if let Some(blocks) = blocks {
        message.blocks = blocks;
    }
    let message = message.clone();
    let mut message_json = message_json(&message);
    if let Some(object) = message_json.as_object_mut() {
        object.remove("ts");
        object.insert(
            "edited".into(),
            json!({ "user": BOT_USER_ID, "ts": format!("{}.000000", unix_now()) }),
        );
    }
    ok(json!({
        "channel": id,
        "ts": ts,
        "text": message.text,
        "message": message_json,
    }))
}

fn pins_add(state: &mut State, p: &Params) -> Answer {
    let id = member_channel(state, p)?;
    let ts = p
        .non_empty("timestamp")
        .ok_or_else(|| err("no_item_specified"))?;
    let channel = channel_mut(state, &id)?;
    if channel.message(&ts).is_none() {
        return Err(err("message_not_found"));
    }
    if channel.pins.iter().any(|pin| pin.ts == ts) {
        return Err(err("already_pinned"));
    }
    if channel.pins.len() >= 100 {
        return Err(err("too_many_pins"));
    }
    channel.pins.push(PinRecord {
        ts,
        created: unix_now(),
        created_by: BOT_USER_ID.to_string(),
    });
    ok(json!({}))
}

fn views_open(state: &mut State, p: &Params) -> Answer {
    let trigger_id = p
        .non_empty("trigger_id")
        .ok_or_else(|| err("invalid_arguments"))?;
    let mut view = match p.json("view") {
        Some(Ok(Value::Object(view))) => view,
        _ => return Err(err("invalid_arguments")),
    };
    if view.get("type").and_then(Value::as_str) != Some("modal") {
        return Err(err("invalid_arguments"));
    }
    let trigger = state
        .triggers
        .get_mut(&trigger_id)
        .ok_or_else(|| err("invalid_trigger_id"))?;
    if trigger.used {
        return Err(err("exchanged_trigger_id"));
    }
    if trigger.issued.elapsed() > TRIGGER_LIFETIME {
        return Err(err("expired_trigger_id"));
    }
    trigger.used = true;
    let id = state.new_id('V');
    let defaults = [
        ("private_metadata", json!("")),
        ("callback_id", json!("")),
        ("external_id", json!("")),
        ("blocks", json!([])),
        ("clear_on_close", json!(false)),
        ("notify_on_close", json!(false)),
    ];
    for (key, value) in defaults {
        view.entry(key).or_insert(value);
    }
    let fixed = [
        ("id", json!(id)),
        ("team_id", json!(TEAM_ID)),
        ("state", json!({ "values": {} })),
        (
            "hash",
            json!(format!("{}.{:08x}", unix_now(), rand::random::<u32>())),
        ),
        ("root_view_id", json!(id)),
        ("previous_view_id", Value::Null),
        ("app_id", json!(APP_ID)),
        ("app_installed_team_id", json!(TEAM_ID)),
        ("bot_id", json!(BOT_ID)),
    ];
    for (key, value) in fixed {
        view.insert(key.to_string(), value);
    }
    let view = Value::Object(view);
    state.views.insert(id, view.clone());
    ok(json!({ "view": view }))
}
