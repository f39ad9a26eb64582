//! Which OAuth scopes the bot needs, next to the Web API methods it calls — the source of the
//! manifest's scope list (`src/manifest.rs`) — and the scopes Slack actually granted.
//!
//! **Adding a Slack call means adding its method here** with the bot-token scopes it needs for
//! what the bot does with it (public and private channels alike); `tests/it/manifest.rs` reads
//! every `.call("<method>", …)` in `src/slack/` and fails for a method missing from these lists,
//! and the manifest, generated from them, then asks for the scope.
//!
//! Slack names the scopes a token has in the `x-oauth-scopes` header of every answer;
//! slack-morphism does not surface headers, so [`granted_scopes`] asks `auth.test` itself.

use std::time::Duration;

use secrecy::SecretString;

use super::api::{RawPost, SlackError};
use crate::config::expose;

/// Every Web API method called with the bot token, and the bot scopes it needs (all of them:
/// incident channels are public or private, so both kinds' scopes).
pub const BOT_METHODS: &[(&str, &[&str])] = &[
    ("auth.test", &[]),
    ("chat.getPermalink", &[]),
    ("chat.postMessage", &["chat:write"]),
    ("chat.update", &["chat:write"]),
    (
        "conversations.archive",
        &["channels:manage", "groups:write"],
    ),
    ("conversations.create", &["channels:manage", "groups:write"]),
    (
        "conversations.history",
        &["channels:history", "groups:history"],
    ),
    ("conversations.info", &["channels:read", "groups:read"]),
    (
        "conversations.replies",
        &["channels:history", "groups:history"],
    ),
    ("conversations.invite", &["channels:manage", "groups:write"]),
    ("conversations.join", &["channels:join"]),
    ("conversations.list", &["channels:read", "groups:read"]),
    (
        "conversations.setTopic",
        &["channels:manage", "groups:write"],
    ),
    ("files.completeUploadExternal", &["files:write"]),
    ("files.getUploadURLExternal", &["files:write"]),
    ("pins.add", &["pins:write"]),
    ("pins.list", &["pins:read"]),
    ("usergroups.list", &["usergroups:read"]),
    ("usergroups.users.list", &["usergroups:read"]),
    ("users.info", &["users:read"]),
    ("views.open", &[]),
    // Not a method: the answer to a command through its response URL needs no scope.
    ("response_url", &[]),
    // Not a method either: the bytes of a file go to the URL `files.getUploadURLExternal` gave.
    ("upload_url", &[]),
];

/// Methods called with the app-level token (`SLACK_APP_TOKEN`), and the scope it needs. App
/// token scopes are not part of the manifest: they are chosen when the token is generated.
pub const APP_METHODS: &[(&str, &str)] = &[("apps.connections.open", "connections:write")];

/// The scope `/inc` (and any shortcut) needs.
pub const COMMANDS_SCOPE: &str = "commands";

/// The bot scopes the methods need, in a stable order (first use in [`BOT_METHODS`]).
pub fn needed_by_methods() -> Vec<&'static str> {
    let mut scopes: Vec<&'static str> = Vec::new();
    for (_, needed) in BOT_METHODS {
        for scope in *needed {
            if !scopes.contains(scope) {
                scopes.push(scope);
            }
        }
    }
    scopes
}

/// The methods that need `scope`, for the manifest's comments.
pub fn methods_needing(scope: &str) -> Vec<&'static str> {
    BOT_METHODS
        .iter()
        .filter(|(_, needed)| needed.contains(&scope))
        .map(|(method, _)| *method)
        .collect()
}

/// The scopes Slack granted `token`, from the `x-oauth-scopes` header of `auth.test`.
pub async fn granted_scopes(
    api_url: &url::Url,
    token: &SecretString,
    timeout: Duration,
) -> Result<Vec<String>, SlackError> {
    let uri = format!("{}/auth.test", api_url.as_str().trim_end_matches('/'));
    let answer = RawPost::new()
        .post(
            uri,
            format!("Bearer {}", expose(token)),
            String::new(),
            timeout,
        )
        .await?;
    let json: serde_json::Value = serde_json::from_slice(&answer.body)
        .map_err(|e| SlackError::Transport(format!("unreadable answer: {e}")))?;
    if json["ok"] != true {
        let code = json["error"]
            .as_str()
            .unwrap_or("unknown_error")
            .to_string();
        return Err(SlackError::Api { code });
    }
    Ok(answer
        .headers
        .get("x-oauth-scopes")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect())
}
