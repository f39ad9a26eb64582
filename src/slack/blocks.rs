//! Block Kit rendering of the domain's [`Message`]s and [`Modal`]s. Every mrkdwn text object is
//! `verbatim`, so Slack does not auto-link or auto-mention inside user text (`@channel` stays
//! text); mentions the bot composes (`<@U…>`, `<#C…>`) still work. Modal fields, labels and
//! buttons are plain text, shown as typed.

use slack_morphism::prelude::*;

use crate::domain::message::{Block, Button, Message};
use crate::domain::modal::{self, Element, Modal, ModalBlock};

/// The message as `chat.postMessage` content: fallback text plus blocks.
pub fn content(message: &Message) -> SlackMessageContent {
    let blocks: Vec<SlackBlock> = message.blocks.iter().map(block).collect();
    SlackMessageContent::new()
        .with_text(message.text.clone())
        .with_blocks(blocks)
}

/// Plain mrkdwn text with no blocks (ephemeral replies).
pub fn text(text: &str) -> SlackMessageContent {
    SlackMessageContent::new().with_text(text.to_string())
}

fn verbatim(text: &str) -> SlackBlockMarkDownText {
    SlackBlockMarkDownText::new(text.to_string()).with_verbatim(true)
}

fn mrkdwn(text: &str) -> SlackBlockText {
    SlackBlockText::MarkDown(verbatim(text))
}

fn block(b: &Block) -> SlackBlock {
    match b {
        Block::Header(t) => {
            SlackHeaderBlock::new(SlackBlockPlainText::new(t.clone()).into()).into()
        }
        Block::Section(t) => SlackSectionBlock::new().with_text(mrkdwn(t)).into(),
        Block::Fields(fields) => SlackSectionBlock::new()
            .with_fields(fields.iter().map(|f| mrkdwn(f)).collect())
            .into(),
        Block::Context(t) => SlackContextBlock::new(vec![verbatim(t).into()]).into(),
        Block::Actions(buttons) => {
            SlackActionsBlock::new(buttons.iter().map(|b| button(b).into()).collect()).into()
        }
    }
}

fn button(b: &Button) -> SlackBlockButtonElement {
    let button = SlackBlockButtonElement::new(pt(&b.text))
        .with_action_id(b.action_id.clone().into())
        .with_value(b.value.clone());
    if b.primary {
        button.with_style(SlackBlockButtonStyle::Primary)
    } else {
        button
    }
}

fn pt(text: &str) -> SlackBlockPlainTextOnly {
    SlackBlockPlainTextOnly::from(text.to_string())
}

/// A modal as a Block Kit view.
pub fn view(m: &Modal) -> SlackView {
    let blocks = m.blocks.iter().map(modal_block).collect();
    SlackView::Modal(
        SlackModalView::new(pt(m.title), blocks)
            .with_submit(pt(m.submit))
            .with_close(pt("Cancel"))
            .with_callback_id(m.callback_id.to_string().into())
            .with_private_metadata(m.private_metadata.clone()),
    )
}

fn modal_block(b: &ModalBlock) -> SlackBlock {
    let input = match b {
        ModalBlock::Context(t) => {
            return SlackContextBlock::new(vec![verbatim(t).into()]).into();
        }
        ModalBlock::Input(input) => input,
    };
    let action: SlackActionId = modal::VALUE.to_string().into();
    let element: SlackInputBlockElement = match &input.element {
        Element::Text {
            multiline,
            max_length,
            initial,
        } => {
            let mut e = SlackBlockPlainTextInputElement::new()
                .with_action_id(action)
                .with_multiline(*multiline)
                .with_max_length(*max_length as u64);
            if let Some(value) = initial {
                e = e.with_initial_value(value.clone());
            }
            e.into()
        }
        Element::Select { options, initial } => {
            let choice = |(label, value): &(String, String)| {
                SlackBlockChoiceItem::new(pt(label), value.clone())
            };
            let mut e = SlackBlockStaticSelectElement::new()
                .with_action_id(action)
                .with_options(options.iter().map(choice).collect());
            if let Some(option) = initial
                .as_ref()
                .and_then(|v| options.iter().find(|(_, value)| value == v))
            {
                e = e.with_initial_option(choice(option));
            }
            e.into()
        }
        Element::User { initial } => {
            let mut e = SlackBlockUsersSelectElement::new().with_action_id(action);
            if let Some(user) = initial {
                e = e.with_initial_user(user.clone());
            }
            e.into()
        }
        Element::Checkboxes { options, initial } => {
            let choice = |(label, value): &(String, String)| {
                SlackBlockChoiceItem::new(
                    SlackBlockText::Plain(SlackBlockPlainText::new(label.to_string())),
                    value.to_string(),
                )
            };
            let mut e = SlackBlockCheckboxesElement::new(options.iter().map(choice).collect())
                .with_action_id(action);
            let ticked: Vec<_> = options
                .iter()
                .filter(|(_, v)| initial.contains(v))
                .map(choice)
                .collect();
            if !ticked.is_empty() {
                e = e.with_initial_options(ticked);
            }
            e.into()
        }
    };
    let mut block = SlackInputBlock::new(pt(input.label), element)
        .with_block_id(input.block_id.to_string().into())
        .with_optional(input.optional);
    if let Some(hint) = input.hint {
        block = block.with_hint(pt(hint));
    }
    block.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_serialises_to_block_kit_with_verbatim_mrkdwn() {
        let msg = Message {
            text: "fallback".into(),
            blocks: vec![
                Block::Header("INC-1 · Down".into()),
                Block::Section("*bold*".into()),
                Block::Fields(vec!["a".into(), "b".into()]),
                Block::Context("small".into()),
            ],
        };
        let json = serde_json::to_value(content(&msg)).expect("json");
        assert_eq!(json["text"], "fallback");
        let blocks = json["blocks"].as_array().expect("blocks");
        assert_eq!(blocks[0]["type"], "header");
        assert_eq!(blocks[0]["text"]["type"], "plain_text");
        assert_eq!(blocks[1]["text"]["type"], "mrkdwn");
        assert_eq!(blocks[1]["text"]["verbatim"], true);
        assert_eq!(blocks[2]["fields"].as_array().map(Vec::len), Some(2));
        assert_eq!(blocks[3]["type"], "context");
    }
}
