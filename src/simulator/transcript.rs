//! Renders the event log as a readable conversation, one line per event (multi-line texts
//! indented), using user and channel names where the workspace knows them.
//!
//! It must never print a token, and it only reads the state: rendering has no side effects.
//! Successful read-only calls (auth.test, apps.connections.open, *.info, *.list, pins.list,
//! chat.getPermalink) are left out; failed calls of any method are shown.

use serde_json::Value;

use super::state::{CallNote, State};
use super::{ApiCall, BOT_USER_ID, Envelope, SimEvent};

const READ_ONLY: &[&str] = &[
    "auth.test",
    "apps.connections.open",
    "conversations.info",
    "conversations.list",
    "users.info",
    "pins.list",
    "chat.getPermalink",
];

pub(crate) fn render(state: &State) -> String {
    let names = Names { state };
    let mut out = String::new();
    for (index, event) in state.events.iter().enumerate() {
        let earlier = state.events.get(..index).unwrap_or(&[]);
        let line = match event {
            SimEvent::EnvelopeSent { envelope, .. } => {
                Some(envelope_line(&names, earlier, envelope))
            }
            SimEvent::Ack(ack) => Some(ack_line(
                &names,
                find_envelope(earlier, &ack.envelope_id),
                ack.payload.as_ref(),
            )),
            SimEvent::Call(call) => call_line(&names, earlier, call, &state.call_note(call.seq)),
            SimEvent::ResponseUrl { path, body, .. } => {
                Some(response_url_line(&names, earlier, path, body))
            }
            SimEvent::Upload { .. } | SimEvent::Action { .. } => None,
        };
        if let Some(line) = line {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

struct Names<'a> {
    state: &'a State,
}

impl Names<'_> {
    fn user(&self, id: &str) -> String {
        if id == BOT_USER_ID {
            return "bot".to_string();
        }
        match self.state.user(id) {
            Some(user) => format!("@{}", user.name),
            None => format!("@{id}"),
        }
    }

    /// Slack markup as a person sees it: `<@U…>` → `@alice`, `<#C…|name>` → `#name`,
    /// `<!here>` → `@here`, `<url|label>` → `label`, and `&lt;`/`&gt;`/`&amp;` unescaped.
    fn humanize(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some((before, after)) = rest.split_once('<') {
            out.push_str(before);
            let Some((inner, tail)) = after.split_once('>') else {
                out.push('<');
                out.push_str(after);
                rest = "";
                break;
            };
            let (target, label) = match inner.split_once('|') {
                Some((target, label)) => (target, Some(label)),
                None => (inner, None),
            };
            if let Some(user) = target.strip_prefix('@') {
                if user == BOT_USER_ID {
                    out.push_str("@incident-commander");
                } else {
                    out.push_str(&self.user(user));
                }
            } else if let Some(channel) = target.strip_prefix('#') {
                match label {
                    Some(label) => {
                        out.push('#');
                        out.push_str(label);
                    }
                    None => out.push_str(&self.channel(channel)),
                }
            } else if let Some(special) = target.strip_prefix('!') {
                // `<!here>` reads "@here"; `<!subteam^S1|@oncall>` or `<!date^…|fallback>` read
                // as their label.
                match label {
                    Some(label) => out.push_str(label),
                    None => {
                        out.push('@');
                        out.push_str(special);
                    }
                }
            } else {
                out.push_str(label.unwrap_or(target));
            }
            rest = tail;
        }
        out.push_str(rest);
        out.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    }

    fn channel(&self, id: &str) -> String {
        match self.state.channel_by_id_or_name(id) {
            Some(channel) => format!("#{}", channel.name),
            None if id.is_empty() => "#?".to_string(),
            None => format!("#{}", id.trim_start_matches('#')),
        }
    }
}

fn str_at<'v>(value: &'v Value, pointer: &str) -> &'v str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// `prefix` then `text`; continuation lines indented four spaces past `prefix`'s indent.
fn with_text(prefix: &str, text: &str) -> String {
    let indent = " ".repeat(prefix.len() - prefix.trim_start().len() + 4);
    let mut lines = text.lines();
    let mut out = format!("{prefix}{}", lines.next().unwrap_or(""));
    for line in lines {
        out.push('\n');
        out.push_str(&indent);
        out.push_str(line);
    }
    out
}

/// The visible text of a message, as a Slack client shows it: the texts inside its blocks when it
/// has any (Slack then uses `text` only for notifications), else `text`.
fn message_text(names: &Names, text: Option<&Value>, blocks: Option<&Value>) -> String {
    let parsed;
    let blocks = match blocks {
        Some(Value::String(s)) => {
            parsed = serde_json::from_str::<Value>(s).unwrap_or(Value::Null);
            &parsed
        }
        Some(other) => other,
        None => &Value::Null,
    };
    let mut parts = Vec::new();
    collect_block_text(blocks, &mut parts);
    if !parts.is_empty() {
        return names.humanize(&parts.join("\n"));
    }
    match text.and_then(Value::as_str).filter(|t| !t.is_empty()) {
        Some(text) => names.humanize(text),
        None => "[no text]".to_string(),
    }
}

fn collect_block_text(value: &Value, parts: &mut Vec<String>) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| collect_block_text(v, parts)),
        Value::Object(object) => {
            if let (Some(Value::String(kind)), Some(Value::String(text))) =
                (object.get("type"), object.get("text"))
                && (kind == "mrkdwn" || kind == "plain_text")
            {
                parts.push(text.clone());
                return;
            }
            for key in ["text", "fields", "elements", "label"] {
                if let Some(inner) = object.get(key) {
                    collect_block_text(inner, parts);
                }
            }
        }
        _ => {}
    }
}

fn find_envelope<'e>(events: &'e [SimEvent], envelope_id: &str) -> Option<&'e Envelope> {
    events.iter().rev().find_map(|e| match e {
        SimEvent::EnvelopeSent { envelope, .. } if envelope.envelope_id == envelope_id => {
            Some(envelope)
        }
        _ => None,
    })
}

/// The user who caused an envelope (slash command, interaction or event).
fn envelope_user(envelope: &Envelope) -> String {
    let p = &envelope.payload;
    [
        str_at(p, "/user_id"),
        str_at(p, "/user/id"),
        str_at(p, "/event/user"),
    ]
    .into_iter()
    .find(|s| !s.is_empty())
    .unwrap_or("")
    .to_string()
}

fn envelope_line(names: &Names, earlier: &[SimEvent], envelope: &Envelope) -> String {
    let redelivered = if find_envelope(earlier, &envelope.envelope_id).is_some() {
        "(redelivered) "
    } else {
        ""
    };
    let p = &envelope.payload;
    let user = names.user(&envelope_user(envelope));
    let body = match envelope.envelope_type.as_str() {
        "slash_commands" => format!(
            "{user} in {}: {} {}",
            names.channel(str_at(p, "/channel_id")),
            str_at(p, "/command"),
            names.humanize(str_at(p, "/text"))
        )
        .trim_end()
        .to_string(),
        "interactive" => match str_at(p, "/type") {
            "view_submission" => format!(
                "{user} submitted the modal \"{}\" ({})",
                str_at(p, "/view/title/text"),
                str_at(p, "/view/callback_id")
            ),
            "view_closed" => format!(
                "{user} closed the modal ({})",
                str_at(p, "/view/callback_id")
            ),
            "message_action" => format!(
                "{user} used the message shortcut {} in {}",
                str_at(p, "/callback_id"),
                names.channel(str_at(p, "/channel/id"))
            ),
            "shortcut" => format!("{user} used the shortcut {}", str_at(p, "/callback_id")),
            "block_actions" => {
                let action = str_at(p, "/actions/0/action_id");
                let channel = str_at(p, "/channel/id");
                if channel.is_empty() {
                    format!("{user} clicked {action}")
                } else {
                    format!("{user} clicked {action} in {}", names.channel(channel))
                }
            }
            other => format!("{user} sent an interaction ({other})"),
        },
        "events_api" => {
            let kind = str_at(p, "/event/type");
            let channel = [str_at(p, "/event/channel"), str_at(p, "/event/channel_id")]
                .into_iter()
                .find(|c| !c.is_empty())
                .map(|c| format!(" in {}", names.channel(c)))
                .unwrap_or_default();
            format!("event {kind} from {user}{channel}")
        }
        other => format!("{other} envelope"),
    };
    format!("{redelivered}{body}")
}

fn ack_line(names: &Names, envelope: Option<&Envelope>, payload: Option<&Value>) -> String {
    let Some(payload) = payload.filter(|p| p.as_object().is_some_and(|o| !o.is_empty())) else {
        return "  ↳ ack".to_string();
    };
    if let Some(action) = payload.get("response_action").and_then(Value::as_str) {
        return match payload.get("errors") {
            Some(errors) => format!("  ↳ ack: response_action {action} {errors}"),
            None => format!("  ↳ ack: response_action {action}"),
        };
    }
    let text = message_text(names, payload.get("text"), payload.get("blocks"));
    let user = envelope.map(envelope_user).unwrap_or_default();
    if payload.get("response_type").and_then(Value::as_str) == Some("in_channel") {
        let channel = envelope
            .map(|e| str_at(&e.payload, "/channel_id").to_string())
            .unwrap_or_default();
        with_text(&format!("  ↳ ack, in {}: ", names.channel(&channel)), &text)
    } else {
        with_text(
            &format!("  ↳ ack, only {} sees: ", names.user(&user)),
            &text,
        )
    }
}

fn call_line(
    names: &Names,
    earlier: &[SimEvent],
    call: &ApiCall,
    note: &CallNote,
) -> Option<String> {
    let ok = call.response.get("ok").and_then(Value::as_bool) == Some(true);
    if call.status == 429 {
        let after = note
            .retry_after
            .map(|s| format!(", Retry-After {s}s"))
            .unwrap_or_default();
        return Some(format!("✗ {} rate limited{after}", call.method));
    }
    if call.status == 500 {
        if let Some(error) = &note.hidden_error {
            return Some(format!(
                "✗ {} answered HTTP 500 (and itself failed: {error})",
                call.method
            ));
        }
        return Some(format!(
            "✗ {} answered HTTP 500 after applying: {}",
            call.method,
            effect_line(names, earlier, call)
        ));
    }
    if !ok {
        let error = str_at(&call.response, "/error");
        return Some(format!("✗ {} failed: {error}", call.method));
    }
    if READ_ONLY.contains(&call.method.as_str()) {
        return None;
    }
    Some(effect_line(names, earlier, call))
}

/// What a (successful) call did, from its parameters.
fn effect_line(names: &Names, earlier: &[SimEvent], call: &ApiCall) -> String {
    let p = &call.params;
    let channel = names.channel(str_at(p, "/channel"));
    match call.method.as_str() {
        "conversations.create" => {
            let private = match p.get("is_private") {
                Some(Value::Bool(b)) => *b,
                Some(Value::String(s)) => s == "true" || s == "1",
                _ => false,
            };
            format!(
                "bot created {} channel #{}",
                if private { "private" } else { "public" },
                str_at(p, "/name")
            )
        }
        "conversations.invite" => {
            let users: Vec<String> = match p.get("users") {
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|u| names.user(u))
                    .collect(),
                Some(Value::String(s)) => serde_json::from_str::<Vec<String>>(s)
                    .unwrap_or_else(|_| s.split(',').map(|u| u.trim().to_string()).collect())
                    .iter()
                    .map(|u| names.user(u))
                    .collect(),
                _ => Vec::new(),
            };
            format!("bot invited {} to {channel}", users.join(", "))
        }
        "conversations.setTopic" => with_text(
            &format!("bot set the topic of {channel}: "),
            str_at(p, "/topic"),
        ),
        "chat.postMessage" => {
            let text = message_text(names, p.get("text"), p.get("blocks"));
            let thread = if str_at(p, "/thread_ts").is_empty() {
                ""
            } else {
                " (in thread)"
            };
            with_text(&format!("bot in {channel}{thread}: "), &text)
        }
        "chat.postEphemeral" => {
            let text = message_text(names, p.get("text"), p.get("blocks"));
            let user = names.user(str_at(p, "/user"));
            with_text(&format!("bot → {user} (ephemeral, in {channel}): "), &text)
        }
        "chat.update" => {
            let text = message_text(names, p.get("text"), p.get("blocks"));
            with_text(&format!("bot edited a message in {channel}: "), &text)
        }
        "pins.add" => format!("bot pinned a message in {channel}"),
        "views.open" => {
            let view = match p.get("view") {
                Some(Value::String(s)) => serde_json::from_str(s).unwrap_or(Value::Null),
                Some(other) => other.clone(),
                None => Value::Null,
            };
            let trigger = str_at(p, "/trigger_id");
            let user = earlier
                .iter()
                .rev()
                .find_map(|e| match e {
                    SimEvent::EnvelopeSent { envelope, .. }
                        if str_at(&envelope.payload, "/trigger_id") == trigger =>
                    {
                        Some(envelope_user(envelope))
                    }
                    _ => None,
                })
                .map(|u| format!(" for {}", names.user(&u)))
                .unwrap_or_default();
            format!(
                "bot opened the modal \"{}\"{user}",
                str_at(&view, "/title/text")
            )
        }
        other => format!("bot called {other}"),
    }
}

fn response_url_line(names: &Names, earlier: &[SimEvent], path: &str, body: &Value) -> String {
    let command = earlier.iter().rev().find_map(|e| match e {
        SimEvent::EnvelopeSent { envelope, .. }
            if str_at(&envelope.payload, "/response_url").ends_with(path) =>
        {
            Some(envelope)
        }
        _ => None,
    });
    let text = message_text(names, body.get("text"), body.get("blocks"));
    if body.get("response_type").and_then(Value::as_str) == Some("in_channel") {
        let channel = command
            .map(|e| str_at(&e.payload, "/channel_id").to_string())
            .unwrap_or_default();
        with_text(
            &format!("bot in {} (response URL): ", names.channel(&channel)),
            &text,
        )
    } else {
        let user = command.map(envelope_user).unwrap_or_default();
        let who = if user.is_empty() {
            "the user".to_string()
        } else {
            names.user(&user)
        };
        with_text(&format!("bot → {who} (response URL): "), &text)
    }
}
