//! Renders the event log as a readable conversation, one line per event (multi-line texts and
//! details on indented continuation lines), using user and channel names where the workspace
//! knows them: what people did, what the bot was sent (events as `  → event …`), its acks
//! (`  ↳ ack`), its calls, and what Slack refused; installs and uninstalls one line each. A
//! channel of a workspace other than the first says which (`#incidents (acme)`), as names
//! repeat across workspaces; every workspace's bot user reads `bot`.
//!
//! It must never print a token (nor an upload URL's secret), and it only reads the state:
//! rendering has no side effects. Successful read-only calls (auth.test,
//! apps.connections.open, *.info, *.list, *.history, *.replies, *.members, pins.list,
//! chat.getPermalink, files.getUploadURLExternal, oauth.v2.access — the install line says what
//! the exchange hands over) and successful uploads of bytes (shown when the file is shared)
//! are left out; failed calls of any method are shown.

use serde_json::Value;

use super::state::{CallNote, State};
use super::{ApiCall, Envelope, SimEvent, TEAM_ID, WorkspaceAction};

const READ_ONLY: &[&str] = &[
    "auth.test",
    "apps.connections.open",
    "conversations.info",
    "conversations.list",
    "conversations.history",
    "conversations.replies",
    "conversations.members",
    "users.info",
    "usergroups.list",
    "usergroups.users.list",
    "pins.list",
    "chat.getPermalink",
    "files.getUploadURLExternal",
    "oauth.v2.access",
];

/// At most this many characters of a value in a modal's summary.
const SHORT: usize = 60;

pub(crate) fn render(state: &State) -> String {
    let names = Names { state };
    let mut out = String::new();
    for (index, event) in state.events.iter().enumerate() {
        let earlier = state.events.get(..index).unwrap_or(&[]);
        let line = match event {
            SimEvent::EnvelopeSent { envelope, .. } if is_echo(state, envelope) => None,
            SimEvent::EnvelopeSent { envelope, .. } => {
                Some(envelope_line(&names, earlier, envelope))
            }
            SimEvent::Ack(ack) if ack.late => Some(
                "  ↳ ack, too late: Slack had given up on it, and nothing in it was applied"
                    .to_string(),
            ),
            SimEvent::Ack(ack) => match find_envelope(earlier, &ack.envelope_id) {
                // Events are always acked bare; saying so on every one would drown the rest.
                Some(envelope) if envelope.envelope_type == "events_api" => None,
                envelope => Some(ack_line(&names, envelope, ack.payload.as_ref())),
            },
            // A failed POST already said why Slack gave up (see below).
            SimEvent::AckMissed {
                envelope, attempt, ..
            } if http_failed(earlier, &envelope.envelope_id, *attempt) => None,
            SimEvent::AckMissed { envelope, .. } => Some(missed_line(&names, envelope)),
            SimEvent::RequestAnswered { status, .. } if (200..300).contains(status) => None,
            SimEvent::RequestAnswered { status, late, .. } if *late => Some(format!(
                "  ↳ answered HTTP {status}, too late: Slack had given up on it"
            )),
            SimEvent::RequestAnswered {
                envelope_id,
                status,
                no_retry,
                ..
            } => Some(http_failure_line(
                &names,
                find_envelope(earlier, envelope_id),
                &format!("answered HTTP {status}"),
                "http_service_error",
                !no_retry,
            )),
            SimEvent::RequestFailed {
                envelope_id,
                reason,
                ..
            } => Some(http_failure_line(
                &names,
                find_envelope(earlier, envelope_id),
                &format!("could not reach the bot ({reason})"),
                "dispatch_failed",
                true,
            )),
            SimEvent::NotDispatched { envelope, .. } => Some(format!(
                "{}\n  ↳ ✗ not delivered: no Socket Mode connection is open (dispatch_failed)",
                envelope_line(&names, earlier, envelope)
            )),
            SimEvent::Call(call) => call_line(&names, call, &state.call_note(call.seq)),
            SimEvent::ResponseUrl {
                path, body, status, ..
            } => Some(response_url_line(&names, path, body, *status)),
            SimEvent::Upload {
                file_id,
                bytes,
                status,
                ..
            } => (*status != 200).then(|| {
                let file = file_id.as_deref().unwrap_or("an unknown file");
                format!("✗ upload of {bytes} bytes for {file} answered HTTP {status}")
            }),
            SimEvent::Action { action, .. } => Some(action_line(&names, action)),
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
        if self.state.is_app_bot_user(id) {
            return "bot".to_string();
        }
        if id.is_empty() {
            return "someone".to_string();
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
                if self.state.is_app_bot_user(user) {
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
            Some(channel) if channel.team_id != TEAM_ID => format!(
                "#{} ({})",
                channel.name,
                self.state.domain_of(&channel.team_id)
            ),
            Some(channel) => format!("#{}", channel.name),
            None if id.is_empty() => "#?".to_string(),
            None => format!("#{}", id.trim_start_matches('#')),
        }
    }

    /// A workspace (or an org) as `Acme (T0ACME)`.
    fn team(&self, id: &str) -> String {
        let name = self
            .state
            .team(id)
            .map(|t| t.name.clone())
            .or_else(|| self.state.enterprise(id).map(|e| e.name.clone()));
        match name {
            Some(name) => format!("{name} ({id})"),
            None => id.to_string(),
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

/// Like [`message_text`], falling back on attachments' titles and texts (alerts).
fn message_text_with_attachments(
    names: &Names,
    text: Option<&Value>,
    blocks: Option<&Value>,
    attachments: Option<&Value>,
) -> String {
    let shown = message_text(names, text, blocks);
    if shown != "[no text]" {
        return shown;
    }
    let parsed;
    let attachments = match attachments {
        Some(Value::String(s)) => {
            parsed = serde_json::from_str::<Value>(s).unwrap_or(Value::Null);
            &parsed
        }
        Some(other) => other,
        None => &Value::Null,
    };
    let parts: Vec<String> = attachments
        .as_array()
        .map(|items| {
            items
                .iter()
                .flat_map(|a| {
                    ["title", "text"]
                        .into_iter()
                        .filter_map(|k| a.get(k).and_then(Value::as_str))
                        .filter(|t| !t.is_empty())
                        .map(str::to_string)
                        .collect::<Vec<_>>()
                })
                .collect()
        })
        .unwrap_or_default();
    if parts.is_empty() {
        shown
    } else {
        names.humanize(&parts.join("\n"))
    }
}

/// The first line of `text`, at most [`SHORT`] characters.
fn short(text: &str) -> String {
    let line = text.lines().next().unwrap_or("");
    if line.chars().count() > SHORT {
        let cut: String = line.chars().take(SHORT - 1).collect();
        format!("{cut}…")
    } else if text.lines().nth(1).is_some() {
        format!("{line} …")
    } else {
        line.to_string()
    }
}

/// One line per input block of `view`: `Label: value` (`—` when empty), with the values of
/// `values` (a `state.values`), else the elements' initial values.
fn view_inputs(names: &Names, view: &Value, values: Option<&Value>) -> Vec<String> {
    let computed;
    let values = match values {
        Some(values) => values,
        None => {
            computed = super::views::with_initial_state(view);
            computed.pointer("/state/values").unwrap_or(&Value::Null)
        }
    };
    let Some(blocks) = view.get("blocks").and_then(Value::as_array) else {
        return Vec::new();
    };
    blocks
        .iter()
        .filter(|b| str_at(b, "/type") == "input")
        .map(|block| {
            let label = str_at(block, "/label/text");
            let block_id = str_at(block, "/block_id");
            let action_id = str_at(block, "/element/action_id");
            let value = values
                .get(block_id)
                .and_then(|b| b.get(action_id))
                .map(|v| input_value(names, v))
                .unwrap_or_default();
            let value = if value.is_empty() {
                "—".to_string()
            } else {
                short(&value)
            };
            format!("{label}: {value}")
        })
        .collect()
}

/// A `state.values` entry as a person reads it.
fn input_value(names: &Names, value: &Value) -> String {
    let option = |o: &Value| {
        let text = str_at(o, "/text/text");
        if text.is_empty() {
            str_at(o, "/value").to_string()
        } else {
            text.to_string()
        }
    };
    let list = |v: &Value, each: &dyn Fn(&Value) -> String| -> String {
        v.as_array()
            .map(|items| items.iter().map(each).collect::<Vec<_>>().join(", "))
            .unwrap_or_default()
    };
    let Some(object) = value.as_object() else {
        return String::new();
    };
    for (key, v) in object {
        if v.is_null() {
            continue;
        }
        let shown = match key.as_str() {
            "value" | "selected_date" | "selected_time" => v.as_str().unwrap_or("").to_string(),
            "selected_option" => option(v),
            "selected_options" => list(v, &option),
            "selected_user" => names.user(v.as_str().unwrap_or("")),
            "selected_users" => list(v, &|u| names.user(u.as_str().unwrap_or(""))),
            "selected_conversation" | "selected_channel" => names.channel(v.as_str().unwrap_or("")),
            "selected_conversations" | "selected_channels" => {
                list(v, &|c| names.channel(c.as_str().unwrap_or("")))
            }
            "selected_date_time" => v.to_string(),
            _ => continue,
        };
        return shown;
    }
    String::new()
}

/// `first`, then each of `details` on its own line indented under it.
fn with_details(first: String, details: &[String]) -> String {
    let indent = " ".repeat(first.len() - first.trim_start().len() + 4);
    let mut out = first;
    for detail in details {
        out.push('\n');
        out.push_str(&indent);
        out.push_str(detail);
    }
    out
}

fn action_line(names: &Names, action: &WorkspaceAction) -> String {
    match action {
        WorkspaceAction::Posted {
            user,
            channel,
            text,
            thread_ts,
            ..
        } => {
            let thread = if thread_ts.is_some() {
                " ↳ in thread"
            } else {
                ""
            };
            with_text(
                &format!(
                    "{} in {}{thread}: ",
                    names.user(user),
                    names.channel(channel)
                ),
                &names.humanize(text),
            )
        }
        WorkspaceAction::Alert {
            channel,
            username,
            text,
            ..
        } => with_text(
            &format!("{username} (app) in {}: ", names.channel(channel)),
            &names.humanize(text),
        ),
        WorkspaceAction::Pinned {
            user,
            channel,
            item,
            text,
        } => format!(
            "{} pinned {} in {}: {}",
            names.user(user),
            if item.starts_with('F') {
                "a file"
            } else {
                "a message"
            },
            names.channel(channel),
            short(&names.humanize(text))
        ),
        WorkspaceAction::Unpinned {
            user,
            channel,
            item,
            text,
        } => format!(
            "{} unpinned {} in {}: {}",
            names.user(user),
            if item.starts_with('F') {
                "a file"
            } else {
                "a message"
            },
            names.channel(channel),
            short(&names.humanize(text))
        ),
        WorkspaceAction::Edited {
            user,
            channel,
            text,
            ..
        } => with_text(
            &format!(
                "{} edited a message in {}: ",
                names.user(user),
                names.channel(channel)
            ),
            &names.humanize(text),
        ),
        WorkspaceAction::Deleted { channel, text, .. } => format!(
            "a message was deleted in {}: {}",
            names.channel(channel),
            short(&names.humanize(text))
        ),
        WorkspaceAction::Joined { user, channel } => {
            format!("{} joined {}", names.user(user), names.channel(channel))
        }
        WorkspaceAction::ClosedView { user, title, .. } => {
            format!("{} closed the modal \"{title}\"", names.user(user))
        }
        WorkspaceAction::Narration { text } => format!("— {text} —"),
        WorkspaceAction::Installed {
            team_id,
            installer,
            scopes,
            org_wide,
        } => format!(
            "{} installed the app {}{}: {}",
            names.user(installer),
            if *org_wide { "org-wide in " } else { "in " },
            names.team(team_id),
            scopes.join(", ")
        ),
        WorkspaceAction::InstallDenied { team_id, installer } => format!(
            "{} declined to install the app in {}",
            names.user(installer),
            names.team(team_id)
        ),
        WorkspaceAction::Uninstalled { team_id } => {
            format!("{} removed the app", names.team(team_id))
        }
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

/// An event that only tells the bot what it did itself (its own post, edit, pin or join): Slack
/// sends these, the bot ignores them, and a reader needs none of them.
fn is_echo(state: &State, envelope: &Envelope) -> bool {
    if envelope.envelope_type != "events_api" {
        return false;
    }
    let event = envelope.payload.get("event").unwrap_or(&Value::Null);
    let by_bot = |v: &Value| {
        state.is_app_bot_user(str_at(v, "/user")) || state.is_app_bot_id(str_at(v, "/bot_id"))
    };
    by_bot(event)
        || event.get("message").is_some_and(by_bot)
        || event.get("previous_message").is_some_and(by_bot)
}

fn envelope_line(names: &Names, earlier: &[SimEvent], envelope: &Envelope) -> String {
    let redelivered = if find_envelope(earlier, &envelope.envelope_id).is_some() {
        "(redelivered) "
    } else {
        ""
    };
    let p = &envelope.payload;
    let user = names.user(&envelope_user(envelope));
    match envelope.envelope_type.as_str() {
        "slash_commands" => format!(
            "{redelivered}{user} in {}: {} {}",
            names.channel(str_at(p, "/channel_id")),
            str_at(p, "/command"),
            names.humanize(str_at(p, "/text"))
        )
        .trim_end()
        .to_string(),
        "interactive" => {
            let line = interaction_line(names, &user, p);
            let mut lines = line.lines();
            let first = lines.next().unwrap_or_default();
            let rest: Vec<&str> = lines.collect();
            let mut out = format!("{redelivered}{first}");
            for line in rest {
                out.push('\n');
                out.push_str(line);
            }
            out
        }
        "events_api" => {
            let kind = str_at(p, "/event/type");
            let subtype = str_at(p, "/event/subtype");
            let kind = if subtype.is_empty() {
                kind.to_string()
            } else {
                format!("{kind} ({subtype})")
            };
            format!("  → {redelivered}event {kind} sent to the bot")
        }
        other => format!("{redelivered}{other} envelope"),
    }
}

fn interaction_line(names: &Names, user: &str, p: &Value) -> String {
    match str_at(p, "/type") {
        "view_submission" => {
            let view = p.get("view").unwrap_or(&Value::Null);
            with_details(
                format!(
                    "{user} submitted the modal \"{}\"",
                    str_at(view, "/title/text")
                ),
                &view_inputs(names, view, view.pointer("/state/values")),
            )
        }
        "view_closed" => format!(
            "  → view_closed sent to the bot (\"{}\")",
            str_at(p, "/view/title/text")
        ),
        "message_action" => {
            let message = p.get("message").unwrap_or(&Value::Null);
            let author = match str_at(message, "/username") {
                "" => names.user(str_at(message, "/user")),
                bot => bot.to_string(),
            };
            let text = message_text_with_attachments(
                names,
                message.get("text"),
                message.get("blocks"),
                message.get("attachments"),
            );
            format!(
                "{user} used the shortcut \"{}\" on a message in {} ({author}: {})",
                str_at(p, "/callback_id"),
                names.channel(str_at(p, "/channel/id")),
                short(&text)
            )
        }
        "shortcut" => format!("{user} used the shortcut \"{}\"", str_at(p, "/callback_id")),
        "block_actions" => {
            let label = str_at(p, "/actions/0/text/text");
            let action = str_at(p, "/actions/0/action_id");
            let what = if label.is_empty() {
                action.to_string()
            } else {
                format!("\"{label}\" ({action})")
            };
            let channel = str_at(p, "/channel/id");
            if !channel.is_empty() {
                format!("{user} clicked {what} in {}", names.channel(channel))
            } else if p.get("view").is_some() {
                format!(
                    "{user} clicked {what} in the modal \"{}\"",
                    str_at(p, "/view/title/text")
                )
            } else {
                format!("{user} clicked {what}")
            }
        }
        other => format!("{user} sent an interaction ({other})"),
    }
}

/// No ack within the deadline: what Slack does about it.
/// Whether the POST of `envelope_id`'s delivery `attempt` failed before its deadline (a non-2xx
/// answer in time, or no connection).
fn http_failed(earlier: &[SimEvent], envelope_id: &str, attempt: u32) -> bool {
    earlier.iter().rev().any(|e| match e {
        SimEvent::RequestAnswered {
            envelope_id: id,
            attempt: a,
            status,
            late,
            ..
        } => id == envelope_id && *a == attempt && !late && !(200..300).contains(status),
        SimEvent::RequestFailed {
            envelope_id: id,
            attempt: a,
            ..
        } => id == envelope_id && *a == attempt,
        _ => false,
    })
}

/// A POST to a request URL that failed (`what`): what Slack does about it.
fn http_failure_line(
    names: &Names,
    envelope: Option<&Envelope>,
    what: &str,
    error: &str,
    retry: bool,
) -> String {
    let Some(envelope) = envelope else {
        return format!("  ↳ ✗ {what}");
    };
    let user = names.user(&envelope_user(envelope));
    match envelope.envelope_type.as_str() {
        "events_api" if retry => format!("  ↳ ✗ {what}: Slack will send the event again"),
        "events_api" => format!("  ↳ ✗ {what}, with X-Slack-No-Retry: Slack drops the event"),
        "slash_commands" => format!(
            "  ↳ ✗ {what}: only {user} sees: {}",
            super::state::command_failed_text(str_at(&envelope.payload, "/command"), error)
        ),
        _ => format!("  ↳ ✗ {what}: {user}'s action failed"),
    }
}

fn missed_line(names: &Names, envelope: &Envelope) -> String {
    let user = names.user(&envelope_user(envelope));
    match envelope.envelope_type.as_str() {
        "events_api" => "  ↳ no ack in time: Slack will send the event again".to_string(),
        "slash_commands" => format!(
            "  ↳ no ack in time: only {user} sees: {}",
            super::state::command_timeout_text(str_at(&envelope.payload, "/command"))
        ),
        _ => format!("  ↳ no ack in time: {user}'s action timed out"),
    }
}

fn ack_line(names: &Names, envelope: Option<&Envelope>, payload: Option<&Value>) -> String {
    if let Some(envelope) = envelope
        && str_at(&envelope.payload, "/type") == "view_submission"
    {
        return submission_ack_line(names, &envelope.payload, payload);
    }
    let Some(payload) = payload.filter(|p| p.as_object().is_some_and(|o| !o.is_empty())) else {
        return "  ↳ ack".to_string();
    };
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

/// What the ack of a view submission did to the modal.
fn submission_ack_line(names: &Names, submission: &Value, payload: Option<&Value>) -> String {
    let action = payload
        .and_then(|p| p.get("response_action"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let new_view = payload.and_then(|p| p.get("view")).unwrap_or(&Value::Null);
    let refused = |view: &Value| {
        let problems = super::blocks::check_view(view);
        (!problems.is_empty()).then_some(problems.0)
    };
    match action {
        "errors" => {
            let view = submission.get("view").unwrap_or(&Value::Null);
            let blocks = view.get("blocks").and_then(Value::as_array);
            let errors: Vec<String> = payload
                .and_then(|p| p.get("errors"))
                .and_then(Value::as_object)
                .map(|errors| {
                    errors
                        .iter()
                        .map(|(block_id, message)| {
                            let label = blocks
                                .and_then(|b| {
                                    b.iter().find(|b| {
                                        str_at(b, "/type") == "input"
                                            && str_at(b, "/block_id") == block_id
                                    })
                                })
                                .map(|b| str_at(b, "/label/text").to_string());
                            let message = message.as_str().unwrap_or_default();
                            match label {
                                Some(label) => format!("{label}: {message}"),
                                None => format!("{block_id}: {message} (no input block {block_id:?}: Slack cannot show it)"),
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            with_details("  ↳ ack: errors, the modal stays open".to_string(), &errors)
        }
        "update" | "push" => {
            let title = str_at(new_view, "/title/text");
            let verb = if action == "update" {
                "updated to"
            } else {
                "pushed"
            };
            match refused(new_view) {
                Some(problems) => with_details(
                    format!("  ↳ ack: {action}, refused by Slack (the modal stays as it was)"),
                    &problems,
                ),
                None => with_details(
                    format!("  ↳ ack: {action}, the modal {verb} \"{title}\""),
                    &view_inputs(names, new_view, None),
                ),
            }
        }
        "clear" => "  ↳ ack: clear, every view of the modal closes".to_string(),
        _ => "  ↳ ack: the modal closes".to_string(),
    }
}

fn call_line(names: &Names, call: &ApiCall, note: &CallNote) -> Option<String> {
    let ok = call.response.get("ok").and_then(Value::as_bool) == Some(true);
    if call.status == 429 {
        let after = note
            .retry_after
            .map(|s| format!(", Retry-After {s}s"))
            .unwrap_or_default();
        return Some(format!("✗ {} rate limited{after}", call.method));
    }
    if call.status == 503 {
        if let Some(error) = &note.hidden_error {
            return Some(format!(
                "✗ {} answered HTTP 503 (and itself failed: {error})",
                call.method
            ));
        }
        return Some(format!(
            "✗ {} answered HTTP 503 after applying: {}",
            call.method,
            effect_line(names, call)
        ));
    }
    if !ok {
        let error = str_at(&call.response, "/error");
        let needed = str_at(&call.response, "/needed");
        let mut line = format!("✗ {} failed: {error}", call.method);
        if !needed.is_empty() {
            line.push_str(&format!(" (needs {needed})"));
        }
        let details: Vec<String> = call
            .response
            .pointer("/response_metadata/messages")
            .and_then(Value::as_array)
            .map(|m| {
                m.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        return Some(with_details(line, &details));
    }
    if READ_ONLY.contains(&call.method.as_str()) {
        return None;
    }
    Some(effect_line(names, call))
}

/// What a (successful) call did, from its parameters (and the channel id Slack answered: a
/// channel name alone may be another workspace's).
fn effect_line(names: &Names, call: &ApiCall) -> String {
    let p = &call.params;
    let answered = [
        str_at(&call.response, "/channel"),
        str_at(&call.response, "/channel/id"),
    ]
    .into_iter()
    .find(|id| !id.is_empty());
    let channel = names.channel(answered.unwrap_or_else(|| str_at(p, "/channel")));
    match call.method.as_str() {
        "conversations.create" => {
            let private = match p.get("is_private") {
                Some(Value::Bool(b)) => *b,
                Some(Value::String(s)) => s == "true" || s == "1",
                _ => false,
            };
            let created = match answered {
                Some(_) => channel,
                None => format!("#{}", str_at(p, "/name")),
            };
            format!(
                "bot created {} channel {created}",
                if private { "private" } else { "public" },
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
            &names.humanize(str_at(p, "/topic")),
        ),
        "conversations.archive" => format!("bot archived {channel}"),
        "chat.postMessage" => {
            let text = message_text_with_attachments(
                names,
                p.get("text"),
                p.get("blocks"),
                p.get("attachments"),
            );
            let broadcast = matches!(p.get("reply_broadcast"), Some(Value::Bool(true)))
                || str_at(p, "/reply_broadcast") == "true";
            let thread = match (str_at(p, "/thread_ts").is_empty(), broadcast) {
                (true, _) => "",
                (false, false) => " ↳ in thread",
                (false, true) => " ↳ in thread (also sent to the channel)",
            };
            with_text(&format!("bot in {channel}{thread}: "), &text)
        }
        "chat.postEphemeral" => {
            let text = message_text(names, p.get("text"), p.get("blocks"));
            let user = names.user(str_at(p, "/user"));
            with_text(&format!("bot in {channel} (only {user} sees): "), &text)
        }
        "chat.update" => {
            let text = message_text(names, p.get("text"), p.get("blocks"));
            with_text(&format!("bot edited a message in {channel}: "), &text)
        }
        "pins.add" => format!("bot pinned a message in {channel}"),
        "pins.remove" => format!("bot unpinned a message in {channel}"),
        "views.open" | "views.update" | "views.push" => {
            let view = call.response.get("view").unwrap_or(&Value::Null);
            let user = names
                .state
                .view(str_at(view, "/id"))
                .map(|v| v.user.clone())
                .filter(|u| !u.is_empty())
                .map(|u| format!(" for {}", names.user(&u)))
                .unwrap_or_default();
            let first = match call.method.as_str() {
                "views.open" => format!(
                    "bot opened the modal \"{}\"{user}",
                    str_at(view, "/title/text")
                ),
                "views.push" => format!(
                    "bot pushed the modal \"{}\"{user}",
                    str_at(view, "/title/text")
                ),
                _ => format!(
                    "bot updated the modal to \"{}\"{user}",
                    str_at(view, "/title/text")
                ),
            };
            with_details(first, &view_inputs(names, view, None))
        }
        "files.completeUploadExternal" => {
            let files: Vec<String> = call
                .response
                .get("files")
                .and_then(Value::as_array)
                .map(|files| {
                    files
                        .iter()
                        .map(|f| {
                            let id = str_at(f, "/id");
                            let bytes = names
                                .state
                                .file(id)
                                .and_then(|f| f.bytes.as_ref().map(Vec::len))
                                .unwrap_or_default();
                            format!("{} ({bytes} bytes)", str_at(f, "/name"))
                        })
                        .collect()
                })
                .unwrap_or_default();
            let mut channels: Vec<String> = Vec::new();
            for key in ["/channel_id", "/channels"] {
                for id in str_at(p, key).split(',').filter(|c| !c.trim().is_empty()) {
                    channels.push(names.channel(id.trim()));
                }
            }
            if let Some(Value::Array(ids)) = p.get("channels") {
                channels.extend(
                    ids.iter()
                        .filter_map(Value::as_str)
                        .map(|c| names.channel(c)),
                );
            }
            let to = if channels.is_empty() {
                " (not shared)".to_string()
            } else {
                format!(" to {}", channels.join(", "))
            };
            let first = format!("bot uploaded {}{to}", files.join(", "));
            match p.get("initial_comment").and_then(Value::as_str) {
                Some(comment) if !comment.is_empty() => {
                    with_details(first, &[names.humanize(comment)])
                }
                _ => first,
            }
        }
        other => format!("bot called {other}"),
    }
}

fn response_url_line(names: &Names, path: &str, body: &Value, status: u16) -> String {
    let target = names.state.response_targets.get(path);
    let channel = target.map(|t| t.channel.clone()).unwrap_or_default();
    if status == 404 {
        return "✗ response URL post refused: expired_url (HTTP 404)".to_string();
    }
    if status != 200 {
        let mut problems = super::blocks::Problems::default();
        if let Some(blocks) = body.get("blocks").and_then(Value::as_array) {
            super::blocks::check_blocks(
                blocks,
                super::blocks::Surface::Message,
                "/blocks",
                &mut problems,
            );
        }
        return with_details(
            format!("✗ response URL post refused: invalid_blocks (HTTP {status})"),
            &problems.0,
        );
    }
    let text = message_text(names, body.get("text"), body.get("blocks"));
    let flag = |key: &str| {
        matches!(body.get(key), Some(Value::Bool(true)))
            || body.get(key).and_then(Value::as_str) == Some("true")
    };
    let has_original = target.is_some_and(|t| t.message_ts.is_some());
    if has_original && flag("delete_original") {
        return format!(
            "bot deleted the message in {} (response URL)",
            names.channel(&channel)
        );
    }
    if has_original && flag("replace_original") {
        return with_text(
            &format!(
                "bot replaced the message in {} (response URL): ",
                names.channel(&channel)
            ),
            &text,
        );
    }
    if body.get("response_type").and_then(Value::as_str) == Some("in_channel") {
        with_text(
            &format!("bot in {} (response URL): ", names.channel(&channel)),
            &text,
        )
    } else {
        let user = target.map(|t| t.user.clone()).unwrap_or_default();
        let who = if user.is_empty() {
            "the user".to_string()
        } else {
            names.user(&user)
        };
        with_text(
            &format!(
                "bot in {} (only {who} sees, response URL): ",
                names.channel(&channel)
            ),
            &text,
        )
    }
}
