//! Web API method semantics: what each method checks, what it changes in the workspace, and
//! the JSON it answers (the shapes Slack's Web API documentation gives for each method), plus the
//! bot scope each method needs (as listed on each method's documentation page).
//!
//! Methods see already-authenticated calls with merged parameters and return the answer's
//! fields without `ok` (the HTTP layer adds it). A call acts as the bot of the token's
//! workspace ([`Actor`]): it sees only that workspace's channels, users, user groups, files and
//! views (another's answer `channel_not_found`, `user_not_found`, … as if they did not exist,
//! as Slack answers a token of another workspace), and acts as that workspace's bot user.
//! This file must not know about HTTP, tokens, fault injection or recording, and must not
//! panic on any parameter value.

use std::cmp::Ordering;

use serde_json::{Map, Value, json};

use super::blocks::{self, Problems, Surface};
use super::shapes::{channel_json, file_json, message_json, permalink, pin_item, user_json};
use super::state::{ChannelRecord, FileRecord, PinItem, PinRecord, State};
use super::views::MAX_STACK;
use super::workspaces::{Actor, BOT_NAME, OAUTH_V2_ACCESS};
use super::{APP_ID, Ephemeral, Message};

/// How long a trigger_id can be exchanged for a modal.
const TRIGGER_LIFETIME: std::time::Duration = std::time::Duration::from_secs(3);

/// What a method needs to know about the server and the caller.
pub(crate) struct Ctx {
    /// `http://127.0.0.1:PORT`
    pub(crate) base_url: String,
    /// Whom the token acts as (its workspace, bot user and scopes).
    pub(crate) actor: Actor,
}

impl Ctx {
    fn granted(&self, scope: &str) -> bool {
        self.actor.scopes.iter().any(|s| s == scope)
    }

    /// The token's bot user.
    fn bot(&self) -> &str {
        &self.actor.bot_user_id
    }
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

/// `error` with Slack's explanation in `response_metadata.messages` (and, for blocks, `errors`).
fn err_with(error: &str, problems: Problems) -> ApiError {
    let mut extra = Map::new();
    if error == "invalid_blocks" {
        let plain: Vec<String> = problems
            .0
            .iter()
            .map(|m| m.trim_start_matches("[ERROR] ").to_string())
            .collect();
        extra.insert("errors".into(), json!(plain));
    }
    extra.insert(
        "response_metadata".into(),
        json!({ "messages": problems.0 }),
    );
    ApiError {
        error: error.to_string(),
        extra,
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
    "conversations.archive",
    "conversations.info",
    "conversations.list",
    "conversations.history",
    "conversations.replies",
    "conversations.members",
    "conversations.join",
    "chat.postMessage",
    "chat.postEphemeral",
    "chat.update",
    "chat.getPermalink",
    "pins.add",
    "pins.remove",
    "pins.list",
    "users.info",
    "usergroups.list",
    "usergroups.users.list",
    "views.open",
    "views.update",
    "views.push",
    "files.getUploadURLExternal",
    "files.completeUploadExternal",
    // Answered by the HTTP layer and `workspaces` (client credentials, no token).
    OAUTH_V2_ACCESS,
];

/// Whether the simulator implements `method`.
pub(crate) fn is_known(method: &str) -> bool {
    METHODS.contains(&method)
}

/// The scopes `method` needs with these parameters: every group must be met by one of its
/// scopes (a channel method needs the scope of the channel's kind). Empty: none needed.
pub(crate) fn needed_scopes(
    state: &State,
    actor: &Actor,
    method: &str,
    params: &Map<String, Value>,
) -> Vec<Vec<&'static str>> {
    let p = Params(params);
    // Public or private, when the call names a channel of the token's workspace.
    let private = |key: &str| -> Option<bool> {
        let id = p.str(key)?;
        channel_of(state, actor, &id).map(|c| c.is_private)
    };
    let by_kind =
        |key: &str, public: &[&'static str], private_scopes: &[&'static str]| match private(key) {
            Some(true) => vec![private_scopes.to_vec()],
            Some(false) => vec![public.to_vec()],
            None => vec![[public, private_scopes].concat()],
        };
    match method {
        "conversations.create" => {
            if p.bool("is_private").unwrap_or(false) {
                vec![vec!["groups:write"]]
            } else {
                vec![vec!["channels:manage"]]
            }
        }
        "conversations.invite" => by_kind(
            "channel",
            &["channels:manage", "channels:write.invites"],
            &["groups:write", "groups:write.invites"],
        ),
        "conversations.setTopic" => by_kind(
            "channel",
            &["channels:manage", "channels:write.topic"],
            &["groups:write", "groups:write.topic"],
        ),
        "conversations.archive" => by_kind("channel", &["channels:manage"], &["groups:write"]),
        "conversations.info" | "conversations.members" => {
            by_kind("channel", &["channels:read"], &["groups:read"])
        }
        "conversations.join" => vec![vec!["channels:join"]],
        "conversations.history" | "conversations.replies" => {
            by_kind("channel", &["channels:history"], &["groups:history"])
        }
        "conversations.list" => {
            let types = p
                .non_empty("types")
                .unwrap_or_else(|| "public_channel".to_string());
            let mut needed = Vec::new();
            for kind in types.split(',').map(str::trim) {
                match kind {
                    "public_channel" => needed.push(vec!["channels:read"]),
                    "private_channel" => needed.push(vec!["groups:read"]),
                    "im" => needed.push(vec!["im:read"]),
                    "mpim" => needed.push(vec!["mpim:read"]),
                    _ => {}
                }
            }
            needed
        }
        "chat.postMessage" | "chat.postEphemeral" | "chat.update" => vec![vec!["chat:write"]],
        "pins.add" | "pins.remove" => vec![vec!["pins:write"]],
        "pins.list" => vec![vec!["pins:read"]],
        "users.info" => vec![vec!["users:read"]],
        "usergroups.list" | "usergroups.users.list" => vec![vec!["usergroups:read"]],
        "files.getUploadURLExternal" | "files.completeUploadExternal" => {
            vec![vec!["files:write"]]
        }
        // auth.test, apps.connections.open (app token), views.*, chat.getPermalink: none.
        _ => Vec::new(),
    }
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
        "auth.test" => auth_test(state, ctx),
        "apps.connections.open" => {
            if state.refusing_connections {
                // What Slack answers while Socket Mode is down (seen as internal_error and
                // fatal_error in Slack's SDK issue trackers).
                return Err(err("internal_error"));
            }
            let ticket = state.new_ticket();
            let base = ctx.base_url.replacen("http://", "ws://", 1);
            ok(json!({ "url": format!("{base}/link/?ticket={ticket}&app_id={APP_ID}") }))
        }
        "conversations.create" => conversations_create(state, ctx, &p),
        "conversations.invite" => conversations_invite(state, ctx, &p),
        "conversations.setTopic" => conversations_set_topic(state, ctx, &p),
        "conversations.archive" => conversations_archive(state, ctx, &p),
        "conversations.info" => {
            let channel = visible_channel(state, ctx, &p, "channel")?;
            ok(json!({ "channel": channel_json(channel, ctx.bot()) }))
        }
        "conversations.list" => conversations_list(state, ctx, &p),
        "conversations.history" => conversations_history(state, ctx, &p),
        "conversations.replies" => conversations_replies(state, ctx, &p),
        "conversations.members" => conversations_members(state, ctx, &p),
        "conversations.join" => conversations_join(state, ctx, &p),
        "chat.postMessage" => chat_post_message(state, ctx, &p),
        "chat.postEphemeral" => chat_post_ephemeral(state, ctx, &p),
        "chat.update" => chat_update(state, ctx, &p),
        "chat.getPermalink" => {
            let channel = visible_channel(state, ctx, &p, "channel")?;
            let ts = p.str("message_ts").unwrap_or_default();
            let message = channel
                .message(&ts)
                .ok_or_else(|| err("message_not_found"))?;
            ok(json!({
                "channel": channel.id,
                "permalink": permalink(state, channel, message),
            }))
        }
        "pins.add" => pins_add(state, ctx, &p),
        "pins.remove" => pins_remove(state, ctx, &p),
        "pins.list" => {
            let channel = visible_channel(state, ctx, &p, "channel")?;
            let items: Vec<Value> = channel
                .pins
                .iter()
                .filter_map(|pin| pin_item(state, channel, pin))
                .collect();
            ok(json!({ "items": items }))
        }
        "users.info" => {
            let id = p.str("user").unwrap_or_default();
            let user = state
                .user(&id)
                .filter(|u| ctx.actor.sees(&u.team_id))
                .ok_or_else(|| err("user_not_found"))?;
            ok(json!({ "user": user_json(state, user) }))
        }
        "usergroups.list" => usergroups_list(state, ctx, &p),
        "usergroups.users.list" => {
            let id = p.str("usergroup").unwrap_or_default();
            let group = state
                .usergroups
                .iter()
                .find(|g| g.id == id && ctx.actor.sees(&g.team_id))
                .ok_or_else(|| err("no_such_subteam"))?;
            ok(json!({ "users": group.users }))
        }
        "views.open" => views_open(state, ctx, &p),
        "views.update" => views_update(state, ctx, &p),
        "views.push" => views_push(state, ctx, &p),
        "files.getUploadURLExternal" => files_get_upload_url(state, ctx, &p),
        "files.completeUploadExternal" => files_complete_upload(state, ctx, &p),
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

    /// A list parameter: a JSON array, a JSON-array string, or a comma-separated string.
    fn list(&self, key: &str) -> Vec<String> {
        let raw = match self.0.get(key) {
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
}

/// A message ts (or `oldest`/`latest`: `"0"`, `"1700000000"`, `"1700000000.000100"`) as a
/// sortable pair.
fn ts_key(ts: &str) -> Option<(i64, u32)> {
    let (secs, fraction) = ts.split_once('.').unwrap_or((ts, ""));
    let secs: i64 = secs.trim().parse().ok()?;
    if !fraction.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let padded: String = fraction.chars().chain("000000".chars()).take(6).collect();
    Some((secs, padded.parse().ok()?))
}

fn cmp_ts(a: &str, b: &str) -> Ordering {
    ts_key(a).cmp(&ts_key(b))
}

/// A `next_<offset>` cursor; `Err` for anything else.
fn offset_cursor(p: &Params) -> Result<usize, ApiError> {
    match p.non_empty("cursor") {
        None => Ok(0),
        Some(cursor) => cursor
            .strip_prefix("next_")
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| err("invalid_cursor")),
    }
}

/// `auth.test`: the token's workspace and bot. An org-wide token answers for its org
/// (`team_id` and `team` the org's, `is_enterprise_install: true`).
fn auth_test(state: &State, ctx: &Ctx) -> Answer {
    let actor = &ctx.actor;
    let mut answer = match (&actor.enterprise_id, actor.org_wide) {
        (Some(org), true) => {
            let name = state
                .enterprise(org)
                .map(|o| o.name.clone())
                .unwrap_or_default();
            json!({
                "url": format!("https://{}.enterprise.slack.com/", name.to_ascii_lowercase().replace(' ', "-")),
                "team": name,
                "user": BOT_NAME,
                "team_id": org,
                "user_id": actor.bot_user_id,
                "bot_id": actor.bot_id,
                "is_enterprise_install": true,
            })
        }
        _ => {
            let team = state.team(&actor.team_id);
            json!({
                "url": format!("https://{}.slack.com/", state.domain_of(&actor.team_id)),
                "team": team.map(|t| t.name.clone()).unwrap_or_default(),
                "user": BOT_NAME,
                "team_id": actor.team_id,
                "user_id": actor.bot_user_id,
                "bot_id": actor.bot_id,
                "is_enterprise_install": false,
            })
        }
    };
    if let (Some(org), Some(object)) = (&actor.enterprise_id, answer.as_object_mut()) {
        object.insert("enterprise_id".into(), json!(org));
    }
    ok(answer)
}

// --- lookups ---

/// The channel `key` (an id, or a name in the token's own workspace), if it belongs to a
/// workspace the token works in.
fn channel_of<'s>(state: &'s State, actor: &Actor, key: &str) -> Option<&'s ChannelRecord> {
    match state.channel(key) {
        Some(channel) => Some(channel).filter(|c| actor.sees(&c.team_id)),
        None => {
            let name = key.strip_prefix('#').unwrap_or(key);
            state
                .channels
                .iter()
                .find(|c| c.team_id == actor.team_id && c.name == name)
        }
    }
}

/// The channel named by parameter `key`, if the bot can see it (a channel of its workspace,
/// public or with the bot in it); else `channel_not_found`.
fn visible_channel<'s>(
    state: &'s State,
    ctx: &Ctx,
    p: &Params,
    key: &str,
) -> Result<&'s ChannelRecord, ApiError> {
    let id = p.str(key).unwrap_or_default();
    channel_of(state, &ctx.actor, &id)
        .filter(|c| c.visible_to(ctx.bot()))
        .ok_or_else(|| err("channel_not_found"))
}

/// Like `visible_channel`, and the bot must be a member; an archived channel takes nothing.
fn member_channel(state: &State, ctx: &Ctx, p: &Params) -> Result<String, ApiError> {
    let channel = visible_channel(state, ctx, p, "channel")?;
    if channel.is_archived {
        return Err(err("is_archived"));
    }
    if !channel.is_member(ctx.bot()) {
        return Err(err("not_in_channel"));
    }
    Ok(channel.id.clone())
}

/// `conversations.archive`: the bot must be in the channel; #general cannot be archived. The
/// channel keeps its members and history and takes nothing more (`is_archived` to posts, pins,
/// invites and topics). Slack does not let a bot token unarchive (`conversations.unarchive`'s
/// documented "bug alert"), so this fake has no way back for the bot either.
fn conversations_archive(state: &mut State, ctx: &Ctx, p: &Params) -> Answer {
    let channel = visible_channel(state, ctx, p, "channel")?;
    if channel.is_archived {
        return Err(err("already_archived"));
    }
    if channel.name == "general" {
        return Err(err("cant_archive_general"));
    }
    let id = member_channel(state, ctx, p)?;
    channel_mut(state, &id)?.is_archived = true;
    ok(json!({}))
}

/// Where the bot may post: a channel it is in, or any public one with `chat:write.public`.
fn postable_channel(state: &State, ctx: &Ctx, p: &Params) -> Result<String, ApiError> {
    let channel = visible_channel(state, ctx, p, "channel")?;
    if channel.is_archived {
        return Err(err("is_archived"));
    }
    if !channel.is_member(ctx.bot()) && (channel.is_private || !ctx.granted("chat:write.public")) {
        return Err(err("not_in_channel"));
    }
    Ok(channel.id.clone())
}

fn channel_mut<'s>(state: &'s mut State, id: &str) -> Result<&'s mut ChannelRecord, ApiError> {
    state
        .channel_mut(id)
        .ok_or_else(|| err("channel_not_found"))
}

/// Message content of a `chat.*` call.
struct Content {
    text: Option<String>,
    blocks: Option<Value>,
    attachments: Option<Value>,
}

/// Blocks as Slack checks them: not JSON or not an array → `invalid_blocks_format`; breaking
/// a Block Kit rule → `invalid_blocks` with Slack's explanation.
fn message_blocks(p: &Params, key: &str) -> Result<Option<Value>, ApiError> {
    match p.json(key) {
        None => Ok(None),
        Some(Ok(Value::Array(items))) => {
            let mut problems = Problems::default();
            blocks::check_blocks(&items, Surface::Message, "/blocks", &mut problems);
            if problems.is_empty() {
                Ok(Some(Value::Array(items)))
            } else {
                Err(err_with("invalid_blocks", problems))
            }
        }
        Some(_) => Err(err("invalid_blocks_format")),
    }
}

/// Message content from `text`/`blocks`/`attachments`/`markdown_text`; `no_text` when none.
fn content(p: &Params) -> Result<Content, ApiError> {
    let mut text = p.str("text");
    if text.as_ref().is_some_and(|t| t.chars().count() > 40_000) {
        return Err(err("msg_too_long"));
    }
    let blocks = message_blocks(p, "blocks")?;
    let attachments = match p.json("attachments") {
        None => None,
        Some(Ok(Value::Array(items))) if items.len() > 100 => {
            return Err(err("too_many_attachments"));
        }
        Some(Ok(Value::Array(items))) => Some(Value::Array(items)),
        Some(_) => return Err(err("invalid_attachments")),
    };
    if let Some(markdown) = p.non_empty("markdown_text") {
        if text.as_ref().is_some_and(|t| !t.is_empty()) || blocks.is_some() {
            return Err(err("markdown_text_conflict"));
        }
        text = Some(markdown);
    }
    let has_text = text.as_ref().is_some_and(|t| !t.is_empty());
    let has_blocks = blocks
        .as_ref()
        .and_then(Value::as_array)
        .is_some_and(|b| !b.is_empty());
    let has_attachments = attachments
        .as_ref()
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    if !has_text && !has_blocks && !has_attachments {
        return Err(err("no_text"));
    }
    Ok(Content {
        text,
        blocks,
        attachments,
    })
}

// --- conversations ---

/// Creates the channel in the token's workspace (an org-wide token's: the `team_id` it names);
/// names are unique per workspace.
fn conversations_create(state: &mut State, ctx: &Ctx, p: &Params) -> Answer {
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
    let team = &ctx.actor.team_id;
    if state
        .channels
        .iter()
        .any(|c| c.team_id == *team && c.name == name)
    {
        return Err(err("name_taken"));
    }
    let is_private = p.bool("is_private").unwrap_or(false);
    let id = state.add_channel(team, &name, is_private, ctx.bot(), true);
    let channel = state.channel(&id).ok_or_else(|| err("internal_error"))?;
    ok(json!({ "channel": channel_json(channel, ctx.bot()) }))
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

fn conversations_invite(state: &mut State, ctx: &Ctx, p: &Params) -> Answer {
    let id = member_channel(state, ctx, p)?;
    let bot = ctx.bot().to_string();
    let users = p.list("users");
    if users.is_empty() {
        return Err(err("no_user"));
    }
    if users.len() > 100 {
        return Err(err("too_many_users"));
    }
    // A user of another workspace is unknown here.
    let unknown: Vec<&String> = users
        .iter()
        .filter(|u| state.user(u).is_none_or(|u| !ctx.actor.sees(&u.team_id)))
        .collect();
    if !unknown.is_empty() {
        return Err(per_user_error("user_not_found", &unknown));
    }
    let selves: Vec<&String> = users.iter().filter(|u| **u == bot).collect();
    if !selves.is_empty() {
        return Err(per_user_error("cant_invite_self", &selves));
    }
    let channel = channel_mut(state, &id)?;
    let already: Vec<&String> = users.iter().filter(|u| channel.is_member(u)).collect();
    if already.len() == users.len() {
        return Err(per_user_error("already_in_channel", &already));
    }
    let mut joined = Vec::new();
    for user in &users {
        if !channel.is_member(user) && !joined.contains(user) {
            channel.members.push(user.clone());
            joined.push(user.clone());
        }
    }
    let answer = json!({ "channel": channel_json(channel, &bot) });
    // Slack tells subscribed apps about each person who joined, and who invited them.
    for user in joined {
        let event_ts = state.next_ts();
        if let Some(channel) = state.channel(&id) {
            let event = super::shapes::member_joined_event(channel, &user, Some(&bot), &event_ts);
            state.emit_event(&id, event);
        }
    }
    ok(answer)
}

/// The bot joins a public channel. A private one it must be invited to
/// (`method_not_supported_for_channel_type`); joining one it is in is a success with a warning.
fn conversations_join(state: &mut State, ctx: &Ctx, p: &Params) -> Answer {
    let bot = ctx.bot().to_string();
    let channel = visible_channel(state, ctx, p, "channel")?;
    if channel.is_archived {
        return Err(err("is_archived"));
    }
    if channel.is_private {
        return Err(err("method_not_supported_for_channel_type"));
    }
    let id = channel.id.clone();
    if channel.is_member(&bot) {
        let channel = state.channel(&id).ok_or_else(|| err("channel_not_found"))?;
        return ok(json!({
            "channel": channel_json(channel, &bot),
            "warning": "already_in_channel",
            "response_metadata": { "warnings": ["already_in_channel"] },
        }));
    }
    let channel = channel_mut(state, &id)?;
    channel.members.push(bot.clone());
    let answer = json!({ "channel": channel_json(channel, &bot) });
    let event_ts = state.next_ts();
    if let Some(channel) = state.channel(&id) {
        let event = super::shapes::member_joined_event(channel, &bot, None, &event_ts);
        state.emit_event(&id, event);
    }
    ok(answer)
}

fn conversations_set_topic(state: &mut State, ctx: &Ctx, p: &Params) -> Answer {
    let id = member_channel(state, ctx, p)?;
    let topic = p.str("topic").unwrap_or_default();
    if topic.chars().count() > 250 {
        return Err(err("too_long"));
    }
    let now = state.now();
    let channel = channel_mut(state, &id)?;
    channel.topic = topic;
    channel.topic_creator = ctx.bot().to_string();
    channel.topic_last_set = now;
    ok(json!({ "channel": channel_json(channel, ctx.bot()) }))
}

/// The channels of the token's workspace (an org-wide token's: the `team_id` it names).
fn conversations_list(state: &mut State, ctx: &Ctx, p: &Params) -> Answer {
    let types = p
        .non_empty("types")
        .unwrap_or_else(|| "public_channel".to_string());
    let types: Vec<&str> = types.split(',').map(str::trim).collect();
    let limit = match p.u64("limit") {
        None | Some(0) => 100,
        Some(n) => n.min(1000),
    } as usize;
    let offset = offset_cursor(p)?;
    let matching: Vec<&ChannelRecord> = state
        .channels
        .iter()
        .filter(|c| c.team_id == ctx.actor.team_id)
        .filter(|c| {
            if c.is_private {
                types.contains(&"private_channel") && c.is_member(ctx.bot())
            } else {
                types.contains(&"public_channel")
            }
        })
        .collect();
    let page: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(limit)
        .map(|c| channel_json(c, ctx.bot()))
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

/// The `oldest`/`latest`/`inclusive` window of a history or replies call.
struct Window {
    oldest: Option<String>,
    latest: Option<String>,
    inclusive: bool,
}

impl Window {
    fn from(p: &Params) -> Result<Window, ApiError> {
        let oldest = p.non_empty("oldest");
        if oldest.as_deref().is_some_and(|t| ts_key(t).is_none()) {
            return Err(err("invalid_ts_oldest"));
        }
        let latest = p.non_empty("latest");
        if latest.as_deref().is_some_and(|t| ts_key(t).is_none()) {
            return Err(err("invalid_ts_latest"));
        }
        Ok(Window {
            oldest,
            latest,
            inclusive: p.bool("inclusive").unwrap_or(false),
        })
    }

    fn contains(&self, ts: &str) -> bool {
        let after_oldest = match &self.oldest {
            None => true,
            Some(oldest) => match cmp_ts(ts, oldest) {
                Ordering::Greater => true,
                Ordering::Equal => self.inclusive,
                Ordering::Less => false,
            },
        };
        let before_latest = match &self.latest {
            None => true,
            Some(latest) => match cmp_ts(ts, latest) {
                Ordering::Less => true,
                Ordering::Equal => self.inclusive,
                Ordering::Greater => false,
            },
        };
        after_oldest && before_latest
    }
}

/// A ts cursor (`next_ts:<ts>`): where the next page starts.
fn ts_cursor(p: &Params) -> Result<Option<String>, ApiError> {
    match p.non_empty("cursor") {
        None => Ok(None),
        Some(cursor) => cursor
            .strip_prefix("next_ts:")
            .filter(|ts| ts_key(ts).is_some())
            .map(|ts| Some(ts.to_string()))
            .ok_or_else(|| err("invalid_cursor")),
    }
}

fn conversations_history(state: &mut State, ctx: &Ctx, p: &Params) -> Answer {
    let channel = visible_channel(state, ctx, p, "channel")?;
    if !channel.is_member(ctx.bot()) {
        // Bot tokens read only conversations the bot is in.
        return Err(err("not_in_channel"));
    }
    let window = Window::from(p)?;
    let cursor = ts_cursor(p)?;
    let limit = match p.u64("limit") {
        None | Some(0) => 100,
        Some(n) => n.min(999),
    } as usize;
    let with_metadata = p.bool("include_all_metadata").unwrap_or(false);
    // Newest first; thread replies only when also sent to the channel.
    let matching: Vec<&Message> = channel
        .messages
        .iter()
        .rev()
        .filter(|m| {
            m.thread_ts.is_none()
                || m.thread_ts.as_deref() == Some(m.ts.as_str())
                || m.subtype.as_deref() == Some("thread_broadcast")
        })
        .filter(|m| window.contains(&m.ts))
        .filter(|m| {
            cursor
                .as_deref()
                .is_none_or(|c| cmp_ts(&m.ts, c) != Ordering::Greater)
        })
        .collect();
    let (page, next) = page_of(state, channel, &matching, limit, with_metadata);
    let has_more = next.is_some();
    let mut answer = json!({
        "messages": page,
        "has_more": has_more,
        "pin_count": channel.pins.len(),
        "channel_actions_ts": null,
        "channel_actions_count": 0,
    });
    // Slack leaves response_metadata out of the last page of history.
    if let (Some(next), Some(object)) = (next, answer.as_object_mut()) {
        object.insert("response_metadata".into(), json!({ "next_cursor": next }));
    }
    ok(answer)
}

fn conversations_replies(state: &mut State, ctx: &Ctx, p: &Params) -> Answer {
    let channel = visible_channel(state, ctx, p, "channel")?;
    let ts = p.non_empty("ts").ok_or_else(|| err("thread_not_found"))?;
    let message = channel
        .message(&ts)
        .ok_or_else(|| err("thread_not_found"))?;
    // A reply's ts reads its whole thread.
    let parent = message
        .thread_ts
        .clone()
        .unwrap_or_else(|| message.ts.clone());
    let window = Window::from(p)?;
    let cursor = ts_cursor(p)?;
    let limit = match p.u64("limit") {
        None | Some(0) => 1000,
        Some(n) => n.min(1000),
    } as usize;
    let with_metadata = p.bool("include_all_metadata").unwrap_or(false);
    let matching: Vec<&Message> = channel
        .messages
        .iter()
        .filter(|m| m.ts == parent || m.thread_ts.as_deref() == Some(parent.as_str()))
        .filter(|m| window.contains(&m.ts))
        .filter(|m| {
            cursor
                .as_deref()
                .is_none_or(|c| cmp_ts(&m.ts, c) != Ordering::Less)
        })
        .collect();
    let (page, next) = page_of(state, channel, &matching, limit, with_metadata);
    ok(json!({
        "messages": page,
        "has_more": next.is_some(),
        "response_metadata": { "next_cursor": next.unwrap_or_default() },
    }))
}

/// The first `limit` of `matching` as Slack shows them, and the cursor of the next page if
/// there is one.
fn page_of(
    state: &State,
    channel: &ChannelRecord,
    matching: &[&Message],
    limit: usize,
    with_metadata: bool,
) -> (Vec<Value>, Option<String>) {
    let page = matching
        .iter()
        .take(limit)
        .map(|m| message_json(state, channel, m, with_metadata))
        .collect();
    let next = matching.get(limit).map(|m| format!("next_ts:{}", m.ts));
    (page, next)
}

fn conversations_members(state: &mut State, ctx: &Ctx, p: &Params) -> Answer {
    let channel = visible_channel(state, ctx, p, "channel")?;
    let limit = match p.u64("limit") {
        None | Some(0) => 100,
        Some(n) if n > 1000 => return Err(err("invalid_limit")),
        Some(n) => n,
    } as usize;
    let offset = offset_cursor(p)?;
    let page: Vec<&String> = channel.members.iter().skip(offset).take(limit).collect();
    let next = offset + limit;
    let next_cursor = if next < channel.members.len() {
        format!("next_{next}")
    } else {
        String::new()
    };
    ok(json!({
        "members": page,
        "response_metadata": { "next_cursor": next_cursor },
    }))
}

// --- chat ---

fn chat_post_message(state: &mut State, ctx: &Ctx, p: &Params) -> Answer {
    let id = postable_channel(state, ctx, p)?;
    let content = content(p)?;
    let metadata = match p.json("metadata") {
        None => Value::Null,
        Some(Ok(metadata))
            if metadata.get("event_type").is_some_and(Value::is_string)
                && metadata.get("event_payload").is_some_and(Value::is_object) =>
        {
            metadata
        }
        Some(_) => return Err(err("invalid_metadata_format")),
    };
    let thread_ts = p.non_empty("thread_ts");
    let broadcast = thread_ts.is_some() && p.bool("reply_broadcast").unwrap_or(false);
    let team = state.team_of_channel(&id);
    let mut message = state.bot_message(
        &team,
        content.text.unwrap_or_default(),
        content.blocks.unwrap_or(Value::Null),
    );
    message.attachments = content.attachments.unwrap_or(Value::Null);
    message.thread_ts = thread_ts;
    message.metadata = metadata;
    if broadcast {
        message.subtype = Some("thread_broadcast".to_string());
    }
    let ts = state
        .append_message(&id, message)
        .ok_or_else(|| err("channel_not_found"))?;
    state.emit_message_event(&id, &ts);
    let channel = state.channel(&id).ok_or_else(|| err("channel_not_found"))?;
    let message = channel.message(&ts).ok_or_else(|| err("internal_error"))?;
    ok(json!({
        "channel": id,
        "ts": ts,
        "message": message_json(state, channel, message, true),
    }))
}

fn chat_post_ephemeral(state: &mut State, ctx: &Ctx, p: &Params) -> Answer {
    let id = postable_channel(state, ctx, p)?;
    let user = p.str("user").unwrap_or_default();
    if state
        .user(&user)
        .is_none_or(|u| !ctx.actor.sees(&u.team_id))
    {
        return Err(err("user_not_found"));
    }
    if !state.channel(&id).is_some_and(|c| c.is_member(&user)) {
        return Err(err("user_not_in_channel"));
    }
    let content = content(p)?;
    state.ephemerals.push(Ephemeral {
        channel: id,
        user,
        text: content.text.unwrap_or_default(),
        blocks: content.blocks.unwrap_or(Value::Null),
        thread_ts: p.non_empty("thread_ts"),
        via: "chat.postEphemeral".to_string(),
    });
    let ts = state.next_ts();
    ok(json!({ "message_ts": ts }))
}

fn chat_update(state: &mut State, ctx: &Ctx, p: &Params) -> Answer {
    let bot = ctx.bot().to_string();
    let channel = visible_channel(state, ctx, p, "channel")?;
    if channel.is_archived {
        return Err(err("is_archived"));
    }
    let id = channel.id.clone();
    let ts = p.str("ts").unwrap_or_default();
    let message = channel
        .message(&ts)
        .ok_or_else(|| err("message_not_found"))?;
    if message.user != bot {
        return Err(err("cant_update_message"));
    }
    let content = content(p)?;
    // Like Slack, a field left out keeps its previous value.
    state.change_message(&id, &ts, Some(&bot), |message| {
        if let Some(text) = content.text {
            message.text = text;
        }
        if let Some(blocks) = content.blocks {
            message.blocks = blocks;
        }
        if let Some(attachments) = content.attachments {
            message.attachments = attachments;
        }
    });
    let channel = state.channel(&id).ok_or_else(|| err("channel_not_found"))?;
    let message = channel
        .message(&ts)
        .ok_or_else(|| err("message_not_found"))?;
    let mut message_json = message_json(state, channel, message, false);
    if let Some(object) = message_json.as_object_mut() {
        object.remove("ts");
    }
    ok(json!({
        "channel": id,
        "ts": ts,
        "text": message.text,
        "message": message_json,
    }))
}

// --- pins ---

fn pins_add(state: &mut State, ctx: &Ctx, p: &Params) -> Answer {
    let id = member_channel(state, ctx, p)?;
    let ts = p
        .non_empty("timestamp")
        .ok_or_else(|| err("no_item_specified"))?;
    let channel = channel_mut(state, &id)?;
    if channel.message(&ts).is_none() {
        return Err(err("message_not_found"));
    }
    let item = PinItem::Message(ts);
    if channel.pin(&item).is_some() {
        return Err(err("already_pinned"));
    }
    if channel.pins.len() >= 100 {
        return Err(err("too_many_pins"));
    }
    state.add_pin(&id, item, ctx.bot());
    ok(json!({}))
}

fn pins_remove(state: &mut State, ctx: &Ctx, p: &Params) -> Answer {
    let id = member_channel(state, ctx, p)?;
    let item = match (p.non_empty("timestamp"), p.non_empty("file")) {
        (Some(ts), _) => PinItem::Message(ts),
        (None, Some(file)) => PinItem::File(file),
        (None, None) => return Err(err("no_item_specified")),
    };
    let channel = state.channel(&id).ok_or_else(|| err("channel_not_found"))?;
    match &item {
        PinItem::Message(ts) if channel.message(ts).is_none() => {
            return Err(err("message_not_found"));
        }
        PinItem::File(file) if state.file(file).is_none_or(|f| !ctx.actor.sees(&f.team_id)) => {
            return Err(err("file_not_found"));
        }
        _ => {}
    }
    if channel.pin(&item).is_none() {
        return Err(err("no_pin"));
    }
    state.remove_pin(&id, &item, ctx.bot());
    ok(json!({}))
}

impl State {
    /// Pins `item` in `channel_id` as `user` and emits `pin_added`.
    pub(crate) fn add_pin(
        &mut self,
        channel_id: &str,
        item: PinItem,
        user: &str,
    ) -> Option<super::Envelope> {
        let event_ts = self.next_ts();
        let pin = PinRecord {
            item,
            created: self.now(),
            created_by: user.to_string(),
        };
        let channel = self.channel_mut(channel_id)?;
        channel.pins.push(pin);
        let channel = self.channel(channel_id)?;
        let pin = channel.pins.last()?;
        let event = super::shapes::pin_event(self, "pin_added", user, channel, pin, &event_ts)?;
        self.emit_event(channel_id, event)
    }

    /// Unpins `item` in `channel_id` as `user` and emits `pin_removed`.
    pub(crate) fn remove_pin(
        &mut self,
        channel_id: &str,
        item: &PinItem,
        user: &str,
    ) -> Option<super::Envelope> {
        let event_ts = self.next_ts();
        let channel = self.channel_mut(channel_id)?;
        let index = channel.pins.iter().position(|p| p.item == *item)?;
        let pin = channel.pins.remove(index);
        let channel = self.channel(channel_id)?;
        let event = super::shapes::pin_event(self, "pin_removed", user, channel, &pin, &event_ts)?;
        self.emit_event(channel_id, event)
    }
}

// --- user groups ---

fn usergroups_list(state: &mut State, ctx: &Ctx, p: &Params) -> Answer {
    let include_users = p.bool("include_users").unwrap_or(false);
    let groups: Vec<Value> = state
        .usergroups
        .iter()
        .filter(|g| g.team_id == ctx.actor.team_id)
        .map(|g| {
            let admin = state
                .team(&g.team_id)
                .map(|t| t.admin_user_id.clone())
                .unwrap_or_default();
            let mut group = json!({
                "id": g.id,
                "team_id": g.team_id,
                "is_usergroup": true,
                "is_subteam": true,
                "name": g.handle,
                "description": "",
                "handle": g.handle,
                "is_external": false,
                "date_create": g.created,
                "date_update": g.created,
                "date_delete": 0,
                "auto_type": null,
                "auto_provision": false,
                "enterprise_subteam_id": "",
                "created_by": admin,
                "updated_by": admin,
                "deleted_by": null,
                "prefs": { "channels": [], "groups": [] },
                "user_count": g.users.len(),
                "channel_count": 0,
            });
            if include_users && let Some(object) = group.as_object_mut() {
                object.insert("users".into(), json!(g.users));
            }
            group
        })
        .collect();
    ok(json!({ "usergroups": groups }))
}

// --- views ---

/// The `view` parameter, checked as Slack checks it.
fn view_param(p: &Params) -> Result<Map<String, Value>, ApiError> {
    let view = match p.json("view") {
        Some(Ok(view @ Value::Object(_))) => view,
        _ => return Err(err("invalid_arguments")),
    };
    let problems = blocks::check_view(&view);
    if !problems.is_empty() {
        return Err(err_with("invalid_arguments", problems));
    }
    match view {
        Value::Object(view) => Ok(view),
        _ => Err(err("invalid_arguments")),
    }
}

/// Exchanges a trigger id (valid for 3 s, once) and returns whose interaction it came from. A
/// trigger from another workspace's interaction is unknown to this token.
fn exchange_trigger(state: &mut State, ctx: &Ctx, p: &Params) -> Result<String, ApiError> {
    let trigger_id = p
        .non_empty("trigger_id")
        .or_else(|| p.non_empty("interactivity_pointer"))
        .ok_or_else(|| err("invalid_arguments"))?;
    let owner = state
        .triggers
        .get(&trigger_id)
        .and_then(|t| t.user.clone())
        .map(|u| state.team_of_user(&u));
    if owner.is_some_and(|team| !ctx.actor.sees(&team)) {
        return Err(err("invalid_trigger_id"));
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
    Ok(trigger.user.clone().unwrap_or_default())
}

fn external_id(view: &Map<String, Value>) -> String {
    view.get("external_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn views_open(state: &mut State, ctx: &Ctx, p: &Params) -> Answer {
    let view = view_param(p)?;
    if p.non_empty("trigger_id").is_none() && p.non_empty("interactivity_pointer").is_none() {
        return Err(err("invalid_arguments"));
    }
    if state
        .open_view_with_external_id(&external_id(&view), None)
        .is_some()
    {
        return Err(err("duplicate_external_id"));
    }
    let user = exchange_trigger(state, ctx, p)?;
    let view = state.store_view(&user, view, None);
    ok(json!({ "view": view }))
}

fn views_update(state: &mut State, ctx: &Ctx, p: &Params) -> Answer {
    let view = view_param(p)?;
    let target = match (p.non_empty("view_id"), p.non_empty("external_id")) {
        (Some(id), _) => state.view(&id).filter(|v| v.open),
        (None, Some(external)) => state.open_view_with_external_id(&external, None),
        (None, None) => return Err(err("invalid_arguments")),
    };
    // Another workspace's view is unknown to this token.
    let target = target
        .filter(|v| ctx.actor.sees(&v.str("team_id")))
        .ok_or_else(|| err("not_found"))?;
    if let Some(hash) = p.non_empty("hash")
        && hash != target.str("hash")
    {
        return Err(err("hash_conflict"));
    }
    let id = target.id.clone();
    if state
        .open_view_with_external_id(&external_id(&view), Some(&id))
        .is_some()
    {
        return Err(err("duplicate_external_id"));
    }
    let view = state
        .replace_view(&id, view)
        .ok_or_else(|| err("not_found"))?;
    ok(json!({ "view": view }))
}

fn views_push(state: &mut State, ctx: &Ctx, p: &Params) -> Answer {
    let view = view_param(p)?;
    if p.non_empty("trigger_id").is_none() && p.non_empty("interactivity_pointer").is_none() {
        return Err(err("invalid_arguments"));
    }
    if state
        .open_view_with_external_id(&external_id(&view), None)
        .is_some()
    {
        return Err(err("duplicate_external_id"));
    }
    let user = exchange_trigger(state, ctx, p)?;
    let top = state
        .top_view_of(&user)
        .map(|v| v.id.clone())
        .ok_or_else(|| err("not_found"))?;
    if state.stack_of(&top).len() >= MAX_STACK {
        return Err(err("push_limit_reached"));
    }
    let view = state.store_view(&user, view, Some(&top));
    ok(json!({ "view": view }))
}

// --- files ---

fn files_get_upload_url(state: &mut State, ctx: &Ctx, p: &Params) -> Answer {
    let name = p
        .non_empty("filename")
        .ok_or_else(|| err("invalid_arguments"))?;
    let length = match p.0.get("length") {
        None | Some(Value::Null) => return Err(err("invalid_arguments")),
        Some(_) => p.u64("length").ok_or_else(|| err("invalid_arguments"))?,
    };
    if length == 0 {
        return Err(err("missing_argument"));
    }
    let alt_txt = p.non_empty("alt_txt");
    if alt_txt.as_ref().is_some_and(|a| a.chars().count() > 1000) {
        return Err(err("alt_txt_too_large"));
    }
    let snippet_type = p.non_empty("snippet_type");
    if snippet_type.is_some() && length > 1024 * 1024 {
        return Err(err("snippet_too_large"));
    }
    let id = state.new_id('F');
    let token = format!("{:016x}", rand::random::<u64>());
    let upload_url = format!("{}/upload/{id}/{token}", ctx.base_url);
    let created = state.now();
    let team_id = ctx.actor.team_id.clone();
    state.files.push(FileRecord {
        id: id.clone(),
        name,
        title: None,
        length,
        bytes: None,
        upload_token: token,
        snippet_type,
        alt_txt,
        completed: false,
        channels: Vec::new(),
        user: ctx.bot().to_string(),
        created,
        team_id,
    });
    ok(json!({ "upload_url": upload_url, "file_id": id }))
}

fn files_complete_upload(state: &mut State, ctx: &Ctx, p: &Params) -> Answer {
    let files = match p.json("files") {
        Some(Ok(Value::Array(files))) if !files.is_empty() => files,
        _ => return Err(err("invalid_arguments")),
    };
    let mut wanted: Vec<(String, Option<String>)> = Vec::new();
    for file in &files {
        let id = file
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| err("invalid_arguments"))?;
        let title = file
            .get("title")
            .and_then(Value::as_str)
            .map(str::to_string);
        wanted.push((id.to_string(), title));
    }
    let mut channels = p.list("channels");
    if let Some(id) = p.non_empty("channel_id") {
        channels.insert(0, id);
    }
    channels.dedup();
    if channels.len() > 100 {
        return Err(err("channels_limit_exceeded"));
    }
    let mut channel_ids = Vec::new();
    for key in &channels {
        let channel = channel_of(state, &ctx.actor, key)
            .filter(|c| c.visible_to(ctx.bot()))
            .ok_or_else(|| err("channel_not_found"))?;
        if channel.is_archived {
            return Err(err("is_archived"));
        }
        if !channel.is_member(ctx.bot()) {
            return Err(err("not_in_channel"));
        }
        channel_ids.push(channel.id.clone());
    }
    for (id, _) in &wanted {
        // Slack finds an upload only when its bytes arrived, all of the length asked for, and
        // it was not completed already.
        let usable = state.file(id).is_some_and(|f| {
            ctx.actor.sees(&f.team_id)
                && !f.completed
                && f.bytes.as_ref().is_some_and(|b| b.len() as u64 == f.length)
        });
        if !usable {
            return Err(err("file_not_found"));
        }
    }
    let initial_comment = p.non_empty("initial_comment");
    // `initial_comment` wins over `blocks`.
    let blocks = match initial_comment {
        Some(_) => None,
        None => message_blocks(p, "blocks")?,
    };
    let thread_ts = p.non_empty("thread_ts");
    let ids: Vec<String> = wanted.iter().map(|(id, _)| id.clone()).collect();
    for (id, title) in wanted {
        if let Some(file) = state.files.iter_mut().find(|f| f.id == id) {
            file.completed = true;
            file.title = Some(title.unwrap_or_else(|| file.name.clone()));
            file.channels.extend(channel_ids.iter().cloned());
        }
    }
    for channel in &channel_ids {
        let team = state.team_of_channel(channel);
        let mut message = state.bot_message(
            &team,
            initial_comment.clone().unwrap_or_default(),
            blocks.clone().unwrap_or(Value::Null),
        );
        message.files = ids.clone();
        message.thread_ts = thread_ts.clone();
        if let Some(ts) = state.append_message(channel, message) {
            state.emit_message_event(channel, &ts);
        }
    }
    let answered: Vec<Value> = ids
        .iter()
        .filter_map(|id| state.file(id))
        .map(|f| file_json(state, f))
        .collect();
    ok(json!({ "files": answered }))
}
