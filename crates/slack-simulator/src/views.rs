//! Modal views as Slack keeps them: a stack per modal (`views.open` makes the root,
//! `views.push` or a `push` response action adds on top, at most 3), `views.update` and an
//! `update` response action replace a view in place (same id, new hash), and a view
//! submission's ack closes, keeps (with `errors`), replaces or stacks views.
//!
//! Also what a submission carries: `state.values` with every input block, from the elements'
//! initial values and the person's edits. Synchronous, on the state; never panics (problems
//! with a test's edits come back as `Err` for the public API to report).

use serde_json::{Map, Value, json};

use super::state::{State, ViewRecord, fill_block_ids, unix_now};
use super::{APP_ID, ViewInput};

/// Views on one modal's stack at most (the root and 2 pushed).
pub(crate) const MAX_STACK: usize = 3;

fn new_hash() -> String {
    format!("{}.{:08x}", unix_now(), rand::random::<u32>())
}

impl State {
    /// Stores `view` (already validated) as a new open view for `user`, on top of `previous`
    /// (a pushed view) or as a new root; returns the view as Slack answers it.
    pub(crate) fn store_view(
        &mut self,
        user: &str,
        mut view: Map<String, Value>,
        previous: Option<&str>,
    ) -> Value {
        let id = self.new_id('V');
        let root = previous
            .and_then(|p| self.view(p))
            .map(|p| p.str("root_view_id"))
            .unwrap_or_else(|| id.clone());
        // The workspace of the person it is shown to (of the view it is pushed on).
        let team = previous
            .and_then(|p| self.view(p))
            .map(|p| p.str("team_id"))
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| self.team_of_user(user));
        let bot_id = self.bot_id_of(&team);
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
        if let Some(blocks) = view.get_mut("blocks") {
            fill_block_ids(blocks);
        }
        let fixed = [
            ("id", json!(id)),
            ("team_id", json!(team)),
            ("state", json!({ "values": {} })),
            ("hash", json!(new_hash())),
            ("root_view_id", json!(root)),
            ("previous_view_id", json!(previous)),
            ("app_id", json!(APP_ID)),
            ("app_installed_team_id", json!(team)),
            ("bot_id", json!(bot_id)),
        ];
        for (key, value) in fixed {
            view.insert(key.to_string(), value);
        }
        let json = Value::Object(view);
        self.views.push(ViewRecord {
            id,
            user: user.to_string(),
            json: json.clone(),
            open: true,
            errors: None,
        });
        json
    }

    /// Replaces the content of view `id` with `view` (already validated): same id, stack and
    /// user, a new hash. Returns the view as Slack answers it.
    pub(crate) fn replace_view(&mut self, id: &str, mut view: Map<String, Value>) -> Option<Value> {
        let record = self.view_mut(id)?;
        let kept = [
            "id",
            "team_id",
            "root_view_id",
            "previous_view_id",
            "app_id",
            "app_installed_team_id",
            "bot_id",
        ];
        for key in kept {
            if let Some(value) = record.json.get(key) {
                view.insert(key.to_string(), value.clone());
            }
        }
        for (key, value) in [
            ("private_metadata", json!("")),
            ("callback_id", json!("")),
            ("external_id", json!("")),
            ("blocks", json!([])),
            ("clear_on_close", json!(false)),
            ("notify_on_close", json!(false)),
        ] {
            view.entry(key).or_insert(value);
        }
        if let Some(blocks) = view.get_mut("blocks") {
            fill_block_ids(blocks);
        }
        view.insert("state".into(), json!({ "values": {} }));
        view.insert("hash".into(), json!(new_hash()));
        record.json = Value::Object(view);
        record.errors = None;
        Some(record.json.clone())
    }

    /// The open views on `view`'s stack, bottom first.
    pub(crate) fn stack_of(&self, view_id: &str) -> Vec<&ViewRecord> {
        let Some(view) = self.view(view_id) else {
            return Vec::new();
        };
        let root = view.str("root_view_id");
        self.views
            .iter()
            .filter(|v| v.open && v.str("root_view_id") == root)
            .collect()
    }

    /// The view `user` sees now: the top of their most recent open modal.
    pub(crate) fn top_view_of(&self, user: &str) -> Option<&ViewRecord> {
        self.views.iter().rev().find(|v| v.open && v.user == user)
    }

    /// An open view whose `external_id` is `external_id` (other than `except`).
    pub(crate) fn open_view_with_external_id(
        &self,
        external_id: &str,
        except: Option<&str>,
    ) -> Option<&ViewRecord> {
        if external_id.is_empty() {
            return None;
        }
        self.views.iter().find(|v| {
            v.open && v.str("external_id") == external_id && Some(v.id.as_str()) != except
        })
    }

    /// Closes `view_id` and the views pushed above it; `whole_stack` closes its whole modal.
    pub(crate) fn close_view(&mut self, view_id: &str, whole_stack: bool) {
        let Some(view) = self.view(view_id) else {
            return;
        };
        let root = view.str("root_view_id");
        let mut reached = false;
        for record in &mut self.views {
            if record.str("root_view_id") != root {
                continue;
            }
            if record.id == view_id {
                reached = true;
            }
            if whole_stack || reached {
                record.open = false;
                record.errors = None;
            }
        }
    }

    /// What the ack of a `view_submission` of `view_id` does (Slack's `response_action`s).
    pub(crate) fn apply_response_action(&mut self, view_id: &str, payload: Option<&Value>) {
        let action = payload
            .and_then(|p| p.get("response_action"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let new_view = || {
            payload
                .and_then(|p| p.get("view"))
                .filter(|v| super::blocks::check_view(v).is_empty())
                .and_then(Value::as_object)
                .cloned()
        };
        match action {
            "errors" => {
                if let Some(view) = self.view_mut(view_id) {
                    view.errors = payload.and_then(|p| p.get("errors")).cloned();
                }
            }
            "update" => {
                // An invalid view is refused (the person sees an error) and the view stays.
                if let Some(view) = new_view() {
                    self.replace_view(view_id, view);
                }
            }
            "push" => {
                if let Some(view) = new_view()
                    && self.stack_of(view_id).len() < MAX_STACK
                {
                    let user = self
                        .view(view_id)
                        .map(|v| v.user.clone())
                        .unwrap_or_default();
                    if let Some(record) = self.view_mut(view_id) {
                        record.errors = None;
                    }
                    self.store_view(&user, view, Some(view_id));
                }
            }
            "clear" => self.close_view(view_id, true),
            _ => self.close_view(view_id, false),
        }
    }
}

/// The view as a click in it shows it: the stored view with `state.values` for every input
/// block, from the elements' initial values.
pub(crate) fn with_initial_state(view: &Value) -> Value {
    let values = state_values(view, &[], false).unwrap_or_else(|_| json!({}));
    let mut view = view.clone();
    if let Some(object) = view.as_object_mut() {
        object.insert("state".into(), json!({ "values": values }));
    }
    view
}

/// The view as its submission shows it: `state.values` from the initial values and `edits`.
/// `Err` when Slack would not let the person submit (a required input empty) or an edit does
/// not fit the view.
pub(crate) fn submitted(view: &Value, edits: &[(&str, ViewInput)]) -> Result<Value, String> {
    let values = state_values(view, edits, true)?;
    let mut view = view.clone();
    if let Some(object) = view.as_object_mut() {
        object.insert("state".into(), json!({ "values": values }));
    }
    Ok(view)
}

const TEXT_INPUTS: &[&str] = &[
    "plain_text_input",
    "email_text_input",
    "url_text_input",
    "number_input",
];
const SINGLE_SELECTS: &[&str] = &["static_select", "external_select", "radio_buttons"];
const MULTI_SELECTS: &[&str] = &["multi_static_select", "multi_external_select", "checkboxes"];

/// `state.values`: block_id → action_id → `{type, value | selected_…}` for every input block.
/// `check_required`: refuse an empty required input, as Slack's client does on submit.
fn state_values(
    view: &Value,
    edits: &[(&str, ViewInput)],
    check_required: bool,
) -> Result<Value, String> {
    let blocks = view
        .get("blocks")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let inputs: Vec<&Value> = blocks
        .iter()
        .filter(|b| b.get("type").and_then(Value::as_str) == Some("input"))
        .collect();
    for (block_id, _) in edits {
        if !inputs
            .iter()
            .any(|b| b.get("block_id").and_then(Value::as_str) == Some(block_id))
        {
            return Err(format!("the view has no input block {block_id:?}"));
        }
    }
    let mut values = Map::new();
    for block in inputs {
        let block_id = block
            .get("block_id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let element = block.get("element").cloned().unwrap_or(Value::Null);
        let action_id = element
            .get("action_id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut value = initial_value(&element);
        for (_, edit) in edits.iter().filter(|(id, _)| *id == block_id) {
            apply_edit(&element, &mut value, edit)
                .map_err(|e| format!("input block {block_id:?}: {e}"))?;
        }
        let optional = block.get("optional").and_then(Value::as_bool) == Some(true);
        if check_required && !optional && is_empty(&value) {
            let label = block
                .pointer("/label/text")
                .and_then(Value::as_str)
                .unwrap_or(block_id);
            return Err(format!(
                "Slack does not submit a modal whose required input {label:?} ({block_id}) is empty"
            ));
        }
        let mut by_action = Map::new();
        by_action.insert(action_id.to_string(), Value::Object(value));
        values.insert(block_id.to_string(), Value::Object(by_action));
    }
    Ok(Value::Object(values))
}

fn kind_of(element: &Value) -> &str {
    element
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Which state field an element fills, and its initial-value key.
fn field_of(kind: &str) -> Option<(&'static str, &'static str, bool)> {
    // (state field, initial field, is a list)
    let field = if TEXT_INPUTS.contains(&kind) {
        ("value", "initial_value", false)
    } else if SINGLE_SELECTS.contains(&kind) {
        ("selected_option", "initial_option", false)
    } else if MULTI_SELECTS.contains(&kind) {
        ("selected_options", "initial_options", true)
    } else {
        match kind {
            "users_select" => ("selected_user", "initial_user", false),
            "multi_users_select" => ("selected_users", "initial_users", true),
            "conversations_select" => ("selected_conversation", "initial_conversation", false),
            "multi_conversations_select" => {
                ("selected_conversations", "initial_conversations", true)
            }
            "channels_select" => ("selected_channel", "initial_channel", false),
            "multi_channels_select" => ("selected_channels", "initial_channels", true),
            "datepicker" => ("selected_date", "initial_date", false),
            "timepicker" => ("selected_time", "initial_time", false),
            "datetimepicker" => ("selected_date_time", "initial_date_time", false),
            _ => return None,
        }
    };
    Some(field)
}

fn initial_value(element: &Value) -> Map<String, Value> {
    let kind = kind_of(element);
    let mut value = Map::new();
    value.insert("type".into(), json!(kind));
    if let Some((field, initial, list)) = field_of(kind) {
        let start = element
            .get(initial)
            .filter(|v| !v.is_null())
            .cloned()
            .unwrap_or(if list { json!([]) } else { Value::Null });
        value.insert(field.into(), start);
    }
    value
}

fn is_empty(value: &Map<String, Value>) -> bool {
    let Some(kind) = value.get("type").and_then(Value::as_str) else {
        return false;
    };
    let Some((field, _, _)) = field_of(kind) else {
        return false;
    };
    match value.get(field) {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(Value::Array(items)) => items.is_empty(),
        Some(_) => false,
    }
}

/// The element's option whose value is `wanted` (in `options` or `option_groups`).
fn find_option(element: &Value, wanted: &str) -> Option<Value> {
    let mut options: Vec<&Value> = Vec::new();
    if let Some(Value::Array(items)) = element.get("options") {
        options.extend(items);
    }
    if let Some(Value::Array(groups)) = element.get("option_groups") {
        for group in groups {
            if let Some(Value::Array(items)) = group.get("options") {
                options.extend(items);
            }
        }
    }
    if options.is_empty() && kind_of(element).contains("external") {
        // External selects load options from the app; the person picked one by value.
        return Some(json!({ "text": { "type": "plain_text", "text": wanted }, "value": wanted }));
    }
    options
        .into_iter()
        .find(|o| o.get("value").and_then(Value::as_str) == Some(wanted))
        .cloned()
}

fn apply_edit(
    element: &Value,
    value: &mut Map<String, Value>,
    edit: &ViewInput,
) -> Result<(), String> {
    let kind = kind_of(element).to_string();
    let Some((field, _, list)) = field_of(&kind) else {
        return Err(format!("a {kind} element takes no input here"));
    };
    let wrong = |what: &str| Err(format!("a {kind} element does not take {what}"));
    let new = match edit {
        ViewInput::Clear => {
            if list {
                json!([])
            } else {
                Value::Null
            }
        }
        ViewInput::Text(text) if field == "value" => json!(text),
        ViewInput::Text(_) => return wrong("text"),
        ViewInput::Option(wanted) if field == "selected_option" => find_option(element, wanted)
            .ok_or_else(|| format!("the {kind} element has no option {wanted:?}"))?,
        ViewInput::Option(_) => return wrong("one option"),
        ViewInput::Checked(wanted) if field == "selected_options" => {
            let mut picked = Vec::new();
            for one in wanted {
                picked.push(
                    find_option(element, one)
                        .ok_or_else(|| format!("the {kind} element has no option {one:?}"))?,
                );
            }
            Value::Array(picked)
        }
        ViewInput::Checked(_) => return wrong("several options"),
        ViewInput::User(user) if field == "selected_user" => json!(user),
        ViewInput::User(_) => return wrong("one user"),
        ViewInput::Users(users) if field == "selected_users" => json!(users),
        ViewInput::Users(_) => return wrong("several users"),
        ViewInput::Conversation(id)
            if field == "selected_conversation" || field == "selected_channel" =>
        {
            json!(id)
        }
        ViewInput::Conversation(_) => return wrong("a conversation"),
        ViewInput::Date(date) if field == "selected_date" => json!(date),
        ViewInput::Date(_) => return wrong("a date"),
    };
    value.insert(field.into(), new);
    Ok(())
}
