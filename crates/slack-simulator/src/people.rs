//! What people (and other apps, such as an alerting bot) do in the workspace: post, reply in a
//! thread, pin, unpin, edit, delete, join, use a message shortcut, click a button, submit or
//! close a modal. Each changes the workspace as Slack would, is logged as a
//! [`WorkspaceAction`] when it is not an interaction, and sends the
//! envelope Slack would send the bot: an Events API event (when subscribed and the bot is in
//! the channel) or an interactive payload (in Slack's documented shapes).
//!
//! Synchronous, on the state. Nothing here panics: what a test asked for that cannot happen
//! comes back as `Err` (or `None`) for the public API to report.

use std::time::Instant;

use serde_json::{Value, json};

use super::composer;
use super::shapes::{self, message_json, user_ref};
use super::state::{PinItem, State, short_id};
use super::views::{submitted, with_initial_state};
use super::{APP_ID, Envelope, Message, SimEvent, ViewInput, WorkspaceAction};

fn interactive(payload: Value, accepts_response_payload: bool) -> Envelope {
    Envelope {
        envelope_id: uuid::Uuid::new_v4().to_string(),
        envelope_type: "interactive".to_string(),
        payload,
        accepts_response_payload,
    }
}

/// What a message shows, in one line: its text, else its attachments' titles/texts, else the
/// texts in its blocks.
pub(crate) fn summary(message: &Message) -> String {
    if !message.text.is_empty() {
        return composer::unescape(&message.text);
    }
    let mut parts = Vec::new();
    if let Some(attachments) = message.attachments.as_array() {
        for attachment in attachments {
            for key in ["title", "text", "fallback"] {
                if let Some(text) = attachment.get(key).and_then(Value::as_str)
                    && !text.is_empty()
                {
                    parts.push(text.to_string());
                    break;
                }
            }
        }
    }
    if parts.is_empty()
        && let Some(blocks) = message.blocks.as_array()
    {
        for block in blocks {
            if let Some(text) = block.pointer("/text/text").and_then(Value::as_str) {
                parts.push(text.to_string());
            }
        }
    }
    parts.join(" · ")
}

impl State {
    pub(crate) fn narrate(&mut self, text: &str) {
        self.log_action(WorkspaceAction::Narration {
            text: text.to_string(),
        });
    }

    /// The `team`, `enterprise` and `is_enterprise_install` of an interaction by `user`: their
    /// workspace's; `Err` when the app is not installed there (nothing of it to interact with).
    fn interaction_context(&self, user: &str) -> Result<(Value, Value, bool), String> {
        let team = self.team_of_user(user);
        if !self.is_installed(&team) {
            return Err(format!(
                "the app is not installed in {user}'s workspace, {team}"
            ));
        }
        let (enterprise, org_wide) = self.enterprise_ref(&team);
        Ok((self.team_ref(&team), enterprise, org_wide))
    }

    fn log_action(&mut self, action: WorkspaceAction) {
        let seq = self.next_seq();
        self.push_event(SimEvent::Action {
            seq,
            action,
            at: Instant::now(),
        });
    }

    /// A person posts `text` (in a thread when `thread_ts`). `None`: no such channel.
    pub(crate) fn person_posts(
        &mut self,
        user: &str,
        channel_id: &str,
        text: &str,
        thread_ts: Option<&str>,
    ) -> Option<String> {
        // What the composer sends: escaped text and the same words as a rich_text block.
        let message = Message {
            user: user.to_string(),
            text: composer::escaped_text(text),
            blocks: json!([composer::rich_text(text, &short_id())]),
            thread_ts: thread_ts.map(str::to_string),
            ..Message::default()
        };
        let ts = self.append_message(channel_id, message)?;
        self.log_action(WorkspaceAction::Posted {
            user: user.to_string(),
            channel: channel_id.to_string(),
            ts: ts.clone(),
            text: text.to_string(),
            thread_ts: thread_ts.map(str::to_string),
        });
        self.emit_message_event(channel_id, &ts);
        Some(ts)
    }

    /// Another app (`username`, e.g. Alertmanager) posts a `bot_message`.
    pub(crate) fn alert_posted(
        &mut self,
        channel_id: &str,
        username: &str,
        text: &str,
        attachments: Value,
        blocks: Value,
    ) -> Option<String> {
        let bot_id = self.other_bot_id(username);
        let message = Message {
            text: text.to_string(),
            attachments,
            blocks,
            subtype: Some("bot_message".to_string()),
            bot_id: Some(bot_id),
            username: Some(username.to_string()),
            ..Message::default()
        };
        let shown = summary(&message);
        let ts = self.append_message(channel_id, message)?;
        self.log_action(WorkspaceAction::Alert {
            channel: channel_id.to_string(),
            username: username.to_string(),
            ts: ts.clone(),
            text: shown,
        });
        self.emit_message_event(channel_id, &ts);
        Some(ts)
    }

    /// What a pin of `item` shows: the message's text or the file's name.
    fn item_text(&self, channel_id: &str, item: &PinItem) -> Option<String> {
        match item {
            PinItem::Message(ts) => self.channel(channel_id)?.message(ts).map(summary),
            PinItem::File(id) => self.file(id).map(|f| f.name.clone()),
        }
    }

    /// `Err`: nothing changed (no such item, or already pinned).
    pub(crate) fn person_pins(
        &mut self,
        user: &str,
        channel_id: &str,
        item: PinItem,
    ) -> Result<Option<Envelope>, ()> {
        let text = self.item_text(channel_id, &item).ok_or(())?;
        let channel = self.channel(channel_id).ok_or(())?;
        if channel.pin(&item).is_some() {
            return Err(());
        }
        self.log_action(WorkspaceAction::Pinned {
            user: user.to_string(),
            channel: channel_id.to_string(),
            item: item.key().to_string(),
            text,
        });
        Ok(self.add_pin(channel_id, item, user))
    }

    /// `Err`: nothing changed (not pinned).
    pub(crate) fn person_unpins(
        &mut self,
        user: &str,
        channel_id: &str,
        item: PinItem,
    ) -> Result<Option<Envelope>, ()> {
        let channel = self.channel(channel_id).ok_or(())?;
        channel.pin(&item).ok_or(())?;
        let text = self.item_text(channel_id, &item).unwrap_or_default();
        self.log_action(WorkspaceAction::Unpinned {
            user: user.to_string(),
            channel: channel_id.to_string(),
            item: item.key().to_string(),
            text,
        });
        Ok(self.remove_pin(channel_id, &item, user))
    }

    /// `Err`: no such message.
    pub(crate) fn person_edits(
        &mut self,
        user: &str,
        channel_id: &str,
        ts: &str,
        text: &str,
    ) -> Result<Option<Envelope>, ()> {
        self.channel(channel_id)
            .and_then(|c| c.message(ts))
            .ok_or(())?;
        self.log_action(WorkspaceAction::Edited {
            user: user.to_string(),
            channel: channel_id.to_string(),
            ts: ts.to_string(),
            text: text.to_string(),
        });
        let escaped = composer::escaped_text(text);
        let blocks = json!([composer::rich_text(text, &short_id())]);
        Ok(self.change_message(channel_id, ts, Some(user), |m| {
            m.text = escaped;
            m.blocks = blocks;
        }))
    }

    /// `Err`: no such message.
    pub(crate) fn message_deleted(
        &mut self,
        channel_id: &str,
        ts: &str,
    ) -> Result<Option<Envelope>, ()> {
        let message = self
            .channel(channel_id)
            .and_then(|c| c.message(ts))
            .ok_or(())?;
        let text = summary(message);
        self.log_action(WorkspaceAction::Deleted {
            channel: channel_id.to_string(),
            ts: ts.to_string(),
            text,
        });
        Ok(self.delete_message(channel_id, ts))
    }

    /// `Err`: no such channel, or already a member.
    pub(crate) fn person_joins(
        &mut self,
        user: &str,
        channel_id: &str,
    ) -> Result<Option<Envelope>, ()> {
        let channel = self.channel_mut(channel_id).ok_or(())?;
        if channel.is_member(user) {
            return Err(());
        }
        channel.members.push(user.to_string());
        self.log_action(WorkspaceAction::Joined {
            user: user.to_string(),
            channel: channel_id.to_string(),
        });
        let event_ts = self.next_ts();
        let channel = self.channel(channel_id).ok_or(())?;
        let event = shapes::member_joined_event(channel, user, None, &event_ts);
        Ok(self.emit_event(channel_id, event))
    }

    // --- interactions ---

    /// The `message` of an interactive payload, and the channel's name.
    fn interactive_message(&self, channel_id: &str, ts: &str) -> Result<(Value, String), String> {
        let channel = self
            .channel(channel_id)
            .ok_or_else(|| format!("no channel {channel_id}"))?;
        let message = channel
            .message(ts)
            .ok_or_else(|| format!("no message {ts} in #{}", channel.name))?;
        Ok((
            message_json(self, channel, message, false),
            channel.name.clone(),
        ))
    }

    /// `user` uses the message shortcut `callback_id` on the message `ts`.
    pub(crate) fn message_shortcut(
        &mut self,
        base_url: &str,
        user: &str,
        channel_id: &str,
        ts: &str,
        callback_id: &str,
    ) -> Result<Envelope, String> {
        let (message, channel_name) = self.interactive_message(channel_id, ts)?;
        let (team, enterprise, org_wide) = self.interaction_context(user)?;
        let response_path = self.new_response_path();
        let trigger_id = self.new_trigger_id(user);
        let action_ts = self.next_ts();
        let payload = json!({
            "type": "message_action",
            "token": "verification-token-unused",
            "action_ts": action_ts,
            "team": team,
            "user": user_ref(self, user),
            "channel": { "id": channel_id, "name": channel_name },
            "is_enterprise_install": org_wide,
            "enterprise": enterprise,
            "callback_id": callback_id,
            "trigger_id": trigger_id,
            "response_url": format!("{base_url}{response_path}"),
            "message_ts": ts,
            "message": message,
        });
        let envelope = interactive(payload, false);
        self.send_envelope(envelope.clone());
        Ok(envelope)
    }

    /// `user` clicks the button `action_id` in the message `ts`. `None`: no such button.
    pub(crate) fn click(
        &mut self,
        base_url: &str,
        user: &str,
        channel_id: &str,
        ts: &str,
        action_id: &str,
    ) -> Option<Envelope> {
        let (message, channel_name) = self.interactive_message(channel_id, ts).ok()?;
        let action = find_button(message.get("blocks")?, action_id)?;
        let (team, enterprise, org_wide) = self.interaction_context(user).ok()?;
        let response_path = self.new_response_path();
        let trigger_id = self.new_trigger_id(user);
        let action = with_action_ts(action, &self.next_ts());
        let payload = json!({
            "type": "block_actions",
            "user": user_ref(self, user),
            "api_app_id": APP_ID,
            "token": "verification-token-unused",
            "container": {
                "type": "message",
                "message_ts": ts,
                "channel_id": channel_id,
                "is_ephemeral": false,
            },
            "trigger_id": trigger_id,
            "team": team,
            "enterprise": enterprise,
            "is_enterprise_install": org_wide,
            "channel": { "id": channel_id, "name": channel_name },
            "message": message,
            "state": { "values": {} },
            "response_url": format!("{base_url}{response_path}"),
            "actions": [action],
        });
        let envelope = interactive(payload, false);
        self.send_envelope(envelope.clone());
        Some(envelope)
    }

    /// `user` clicks the button labelled `label` (action `action_id`) in the newest ephemeral
    /// message they were shown that has it. Slack's `block_actions` for an ephemeral message
    /// says so in its container (`is_ephemeral`) and carries no `message`: the app never sees
    /// what it showed. `None`: no such button.
    pub(crate) fn click_ephemeral(
        &mut self,
        base_url: &str,
        user: &str,
        action_id: &str,
        label: &str,
    ) -> Option<Envelope> {
        let (channel_id, action) = self.ephemerals.iter().rev().find_map(|e| {
            if e.user != user {
                return None;
            }
            let buttons = e.blocks.as_array()?.iter().flat_map(|b| {
                b.get("elements")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default()
            });
            let labelled = buttons
                .into_iter()
                .find(|el| el["action_id"] == action_id && el["text"]["text"] == label)?;
            let block =
                json!([{ "type": "actions", "block_id": "ephemeral", "elements": [labelled] }]);
            Some((e.channel.clone(), find_button(&block, action_id)?))
        })?;
        let channel_name = self
            .channel(&channel_id)
            .map(|c| c.name.clone())
            .unwrap_or_default();
        let (team, enterprise, org_wide) = self.interaction_context(user).ok()?;
        let response_path = self.new_response_path();
        let trigger_id = self.new_trigger_id(user);
        let message_ts = self.next_ts();
        let action = with_action_ts(action, &self.next_ts());
        let payload = json!({
            "type": "block_actions",
            "user": user_ref(self, user),
            "api_app_id": APP_ID,
            "token": "verification-token-unused",
            "container": {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel_id,
                "is_ephemeral": true,
            },
            "trigger_id": trigger_id,
            "team": team,
            "enterprise": enterprise,
            "is_enterprise_install": org_wide,
            "channel": { "id": channel_id, "name": channel_name },
            "state": { "values": {} },
            "response_url": format!("{base_url}{response_path}"),
            "actions": [action],
        });
        let envelope = interactive(payload, false);
        self.send_envelope(envelope.clone());
        Some(envelope)
    }

    /// `user` clicks the button `action_id` in the open view `view_id`. `None`: no such view
    /// open for them, or no such button.
    pub(crate) fn click_in_view(
        &mut self,
        user: &str,
        view_id: &str,
        action_id: &str,
    ) -> Option<Envelope> {
        let view = self
            .view(view_id)
            .filter(|v| v.open && v.belongs_to(user))?;
        let action = find_button(view.json.get("blocks")?, action_id)?;
        let shown = with_initial_state(&view.json);
        let (team, enterprise, org_wide) = self.interaction_context(user).ok()?;
        let trigger_id = self.new_trigger_id(user);
        let action = with_action_ts(action, &self.next_ts());
        let payload = json!({
            "type": "block_actions",
            "user": user_ref(self, user),
            "api_app_id": APP_ID,
            "token": "verification-token-unused",
            "container": { "type": "view", "view_id": view_id },
            "trigger_id": trigger_id,
            "team": team,
            "enterprise": enterprise,
            "is_enterprise_install": org_wide,
            "view": shown,
            "actions": [action],
        });
        let envelope = interactive(payload, false);
        self.send_envelope(envelope.clone());
        Some(envelope)
    }

    /// `user` submits the view `view_id` after `edits` (block_id → what they entered).
    pub(crate) fn submit_view(
        &mut self,
        user: &str,
        view_id: &str,
        edits: &[(&str, ViewInput)],
    ) -> Result<Envelope, String> {
        let view = self
            .view(view_id)
            .ok_or_else(|| format!("no view {view_id}"))?;
        if !view.belongs_to(user) {
            return Err(format!(
                "view {view_id} was opened for {:?}, not {user:?}",
                view.user
            ));
        }
        let submitted = submitted(&view.json, edits)?;
        let (team, enterprise, org_wide) = self.interaction_context(user)?;
        let trigger_id = self.new_trigger_id(user);
        let payload = json!({
            "type": "view_submission",
            "team": team,
            "user": user_ref(self, user),
            "api_app_id": APP_ID,
            "token": "verification-token-unused",
            "trigger_id": trigger_id,
            "view": submitted,
            "response_urls": [],
            "is_enterprise_install": org_wide,
            "enterprise": enterprise,
        });
        let envelope = interactive(payload, true);
        self.send_envelope(envelope.clone());
        Ok(envelope)
    }

    /// `user` closes the view `view_id` (Cancel or ✕): it closes (its whole modal with
    /// `clear_on_close`), and the bot hears `view_closed` only with `notify_on_close`.
    pub(crate) fn close_view_by(
        &mut self,
        user: &str,
        view_id: &str,
    ) -> Result<Option<Envelope>, String> {
        let view = self
            .view(view_id)
            .filter(|v| v.open)
            .ok_or_else(|| format!("no open view {view_id}"))?;
        if !view.belongs_to(user) {
            return Err(format!(
                "view {view_id} was opened for {:?}, not {user:?}",
                view.user
            ));
        }
        let flag = |key: &str| view.json.get(key).and_then(Value::as_bool) == Some(true);
        let (clear, notify) = (flag("clear_on_close"), flag("notify_on_close"));
        let shown = with_initial_state(&view.json);
        let title = view
            .json
            .pointer("/title/text")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        self.close_view(view_id, clear);
        self.log_action(WorkspaceAction::ClosedView {
            user: user.to_string(),
            view_id: view_id.to_string(),
            title,
        });
        let Some((team, enterprise, org_wide)) =
            self.interaction_context(user).ok().filter(|_| notify)
        else {
            return Ok(None);
        };
        let payload = json!({
            "type": "view_closed",
            "team": team,
            "user": user_ref(self, user),
            "api_app_id": APP_ID,
            "token": "verification-token-unused",
            "view": shown,
            "is_cleared": clear,
            "is_enterprise_install": org_wide,
            "enterprise": enterprise,
        });
        let envelope = interactive(payload, false);
        self.send_envelope(envelope.clone());
        Ok(Some(envelope))
    }
}

/// The button with `action_id` (in an actions block or as a section accessory), as a
/// `block_actions` action: `{type, action_id, block_id, text, value?, style?}`.
fn find_button(blocks: &Value, action_id: &str) -> Option<Value> {
    for block in blocks.as_array()? {
        let block_id = block.get("block_id").cloned().unwrap_or(Value::Null);
        let mut elements: Vec<&Value> = Vec::new();
        if let Some(Value::Array(items)) = block.get("elements") {
            elements.extend(items);
        }
        if let Some(accessory) = block.get("accessory") {
            elements.push(accessory);
        }
        for element in elements {
            if element.get("type").and_then(Value::as_str) == Some("button")
                && element.get("action_id").and_then(Value::as_str) == Some(action_id)
            {
                let mut action = json!({
                    "type": "button",
                    "action_id": action_id,
                    "block_id": block_id,
                    "text": element.get("text").cloned().unwrap_or(Value::Null),
                });
                if let Some(object) = action.as_object_mut() {
                    for key in ["value", "style"] {
                        if let Some(value) = element.get(key) {
                            object.insert(key.into(), value.clone());
                        }
                    }
                }
                return Some(action);
            }
        }
    }
    None
}

fn with_action_ts(mut action: Value, ts: &str) -> Value {
    if let Some(object) = action.as_object_mut() {
        object.insert("action_ts".into(), json!(ts));
    }
    action
}
