//! Block Kit validation as Slack enforces it (Slack's Block Kit and
//! view-object references): the limits that make `chat.*` answer `invalid_blocks` and `views.*`
//! answer `invalid_arguments`, reported in Slack's words (`[ERROR] … [json-pointer:/blocks/0]`).
//!
//! Only documented rules belong here: a block type this file does not know passes unchecked
//! (Slack adds block types over time), and nothing is rejected on a guess. Pure functions over
//! JSON; they must not panic on any value.

use serde_json::{Map, Value};

/// Where blocks are shown: the limits differ.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Surface {
    Message,
    Modal,
}

const MAX_MESSAGE_BLOCKS: usize = 50;
const MAX_VIEW_BLOCKS: usize = 100;

/// Collects problems in Slack's wording.
#[derive(Default)]
pub(crate) struct Problems(pub(crate) Vec<String>);

impl Problems {
    fn add(&mut self, what: impl std::fmt::Display, pointer: &str) {
        self.0
            .push(format!("[ERROR] {what} [json-pointer:{pointer}]"));
    }

    fn too_long(&mut self, max: usize, pointer: &str) {
        self.add(format!("must be less than {} characters", max + 1), pointer);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// A message's `blocks` (already parsed). `pointer` is where they sit, e.g. `/blocks`.
pub(crate) fn check_blocks(blocks: &[Value], surface: Surface, pointer: &str, out: &mut Problems) {
    let max = match surface {
        Surface::Message => MAX_MESSAGE_BLOCKS,
        Surface::Modal => MAX_VIEW_BLOCKS,
    };
    if blocks.len() > max {
        out.add(format!("no more than {max} items allowed"), pointer);
    }
    for (index, block) in blocks.iter().enumerate() {
        check_block(block, &format!("{pointer}/{index}"), out);
    }
}

fn check_block(block: &Value, pointer: &str, out: &mut Problems) {
    let Some(object) = block.as_object() else {
        out.add("failed to match all allowed schemas", pointer);
        return;
    };
    let Some(kind) = object.get("type").and_then(Value::as_str) else {
        out.add("missing required field: type", pointer);
        return;
    };
    check_id(object, "block_id", pointer, out);
    match kind {
        "header" => text_object(object, "text", pointer, Text::plain(1, 150).required(), out),
        "section" => {
            text_object(object, "text", pointer, Text::any(1, 3000), out);
            match object.get("fields") {
                None | Some(Value::Null) => {
                    if object.get("text").is_none_or(Value::is_null) {
                        out.add("must provide either a text or a fields property", pointer);
                    }
                }
                Some(Value::Array(fields)) => {
                    let at = format!("{pointer}/fields");
                    if fields.len() > 10 {
                        out.add("no more than 10 items allowed", &at);
                    }
                    for (index, field) in fields.iter().enumerate() {
                        text_value(field, &format!("{at}/{index}"), Text::any(1, 2000), out);
                    }
                }
                Some(_) => out.add("must be an array", &format!("{pointer}/fields")),
            }
            if let Some(accessory) = object.get("accessory") {
                check_element(accessory, &format!("{pointer}/accessory"), out);
            }
        }
        "context" => {
            let at = format!("{pointer}/elements");
            match object.get("elements") {
                Some(Value::Array(elements)) if elements.len() > 10 => {
                    out.add("no more than 10 items allowed", &at);
                }
                Some(Value::Array(elements)) if elements.is_empty() => {
                    out.add("must contain at least 1 item", &at);
                }
                Some(Value::Array(_)) => {}
                _ => out.add("missing required field: elements", pointer),
            }
        }
        "actions" => {
            let at = format!("{pointer}/elements");
            match object.get("elements") {
                Some(Value::Array(elements)) => {
                    if elements.len() > 25 {
                        out.add("no more than 25 items allowed", &at);
                    }
                    for (index, element) in elements.iter().enumerate() {
                        check_element(element, &format!("{at}/{index}"), out);
                    }
                }
                _ => out.add("missing required field: elements", pointer),
            }
        }
        "input" => {
            if object.get("label").is_none_or(Value::is_null) {
                out.add("missing required field: label", pointer);
            } else {
                text_object(object, "label", pointer, Text::plain(1, 2000), out);
            }
            text_object(object, "hint", pointer, Text::plain(1, 2000), out);
            match object.get("element") {
                Some(element @ Value::Object(_)) => {
                    check_element(element, &format!("{pointer}/element"), out);
                }
                _ => out.add("missing required field: element", pointer),
            }
        }
        _ => {}
    }
}

fn check_id(object: &Map<String, Value>, key: &str, pointer: &str, out: &mut Problems) {
    match object.get(key) {
        None | Some(Value::Null) => {}
        Some(Value::String(id)) if chars(id) > 255 => {
            out.too_long(255, &format!("{pointer}/{key}"))
        }
        Some(Value::String(_)) => {}
        Some(_) => out.add("must be a string", &format!("{pointer}/{key}")),
    }
}

fn check_element(element: &Value, pointer: &str, out: &mut Problems) {
    let Some(object) = element.as_object() else {
        out.add("failed to match all allowed schemas", pointer);
        return;
    };
    check_id(object, "action_id", pointer, out);
    match object.get("type").and_then(Value::as_str) {
        Some("button") => {
            text_object(object, "text", pointer, Text::plain(1, 75).required(), out);
            max_string(object, "value", 2000, pointer, out);
            max_string(object, "url", 3000, pointer, out);
        }
        Some("plain_text_input") => {
            max_string(object, "initial_value", 3000, pointer, out);
            if let Some(max) = object.get("max_length").and_then(Value::as_u64)
                && max > 3000
            {
                out.add(
                    "must be less than or equal to 3000",
                    &format!("{pointer}/max_length"),
                );
            }
        }
        _ => {}
    }
}

fn max_string(
    object: &Map<String, Value>,
    key: &str,
    max: usize,
    pointer: &str,
    out: &mut Problems,
) {
    if let Some(Value::String(s)) = object.get(key)
        && chars(s) > max
    {
        out.too_long(max, &format!("{pointer}/{key}"));
    }
}

/// What a text object must be.
#[derive(Clone, Copy)]
struct Text {
    plain_only: bool,
    min: usize,
    max: usize,
    required: bool,
}

impl Text {
    fn plain(min: usize, max: usize) -> Self {
        Text {
            plain_only: true,
            min,
            max,
            required: false,
        }
    }

    fn any(min: usize, max: usize) -> Self {
        Text {
            plain_only: false,
            min,
            max,
            required: false,
        }
    }

    fn required(self) -> Self {
        Text {
            required: true,
            ..self
        }
    }
}

/// The text object at `object[key]`, if present (or if `rule.required`).
fn text_object(
    object: &Map<String, Value>,
    key: &str,
    pointer: &str,
    rule: Text,
    out: &mut Problems,
) {
    match object.get(key) {
        None | Some(Value::Null) => {
            if rule.required {
                out.add(format!("missing required field: {key}"), pointer);
            }
        }
        Some(value) => text_value(value, &format!("{pointer}/{key}"), rule, out),
    }
}

fn text_value(value: &Value, pointer: &str, rule: Text, out: &mut Problems) {
    let Some(object) = value.as_object() else {
        out.add("failed to match all allowed schemas", pointer);
        return;
    };
    match object.get("type").and_then(Value::as_str) {
        Some("plain_text") => {}
        Some("mrkdwn") if !rule.plain_only => {}
        _ => {
            out.add("must be a valid enum value", &format!("{pointer}/type"));
            return;
        }
    }
    let Some(text) = object.get("text").and_then(Value::as_str) else {
        out.add("missing required field: text", pointer);
        return;
    };
    let at = format!("{pointer}/text");
    let length = chars(text);
    if length > rule.max {
        out.too_long(rule.max, &at);
    } else if length < rule.min {
        out.add(
            format!("must be more than {} characters", rule.min - 1),
            &at,
        );
    }
}

/// A modal view object as `views.open`/`update`/`push` (or a `response_action`) gives it.
pub(crate) fn check_view(view: &Value) -> Problems {
    let mut out = Problems::default();
    let pointer = "/view";
    let Some(object) = view.as_object() else {
        out.add("failed to match all allowed schemas", pointer);
        return out;
    };
    if object.get("type").and_then(Value::as_str) != Some("modal") {
        out.add("must be a valid enum value", "/view/type");
        return out;
    }
    text_object(
        object,
        "title",
        pointer,
        Text::plain(1, 24).required(),
        &mut out,
    );
    text_object(object, "submit", pointer, Text::plain(1, 24), &mut out);
    text_object(object, "close", pointer, Text::plain(1, 24), &mut out);
    max_string(object, "private_metadata", 3000, pointer, &mut out);
    max_string(object, "callback_id", 255, pointer, &mut out);
    max_string(object, "external_id", 255, pointer, &mut out);
    match object.get("blocks") {
        Some(Value::Array(blocks)) => {
            check_blocks(blocks, Surface::Modal, "/view/blocks", &mut out);
            let has_input = blocks
                .iter()
                .any(|b| b.get("type").and_then(Value::as_str) == Some("input"));
            if has_input && object.get("submit").is_none_or(Value::is_null) {
                out.add(
                    "must provide a submit property when using input blocks",
                    pointer,
                );
            }
        }
        _ => out.add("missing required field: blocks", pointer),
    }
    out
}
