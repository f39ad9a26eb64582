//! Block Kit rendering of the domain's [`Message`]s. Every mrkdwn text object is `verbatim`, so
//! Slack does not auto-link or auto-mention inside user text (`@channel` stays text); mentions the
//! bot composes (`<@U…>`, `<#C…>`) still work.

use slack_morphism::prelude::*;

use crate::domain::message::{Block, Message};

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
    }
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
