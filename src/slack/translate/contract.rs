//! Contract tests: payloads recorded by Slack's own SDKs' test suites (`tests/fixtures/slack/`,
//! with their sources and licences in its README) fed to the translation the listener uses, and
//! what the bot understood. Where a fixture holds only an inner event, the test wraps it in an
//! `event_callback` of its own and says so; nothing else in a fixture is changed.

use serde_json::{Value, json};

use super::{event, interaction, slash_command};
use crate::domain::modal::Field;
use crate::slack::answers::listed_pins;
use crate::slack::inbound::{Click, EventKind, Interaction, PinnedMessage, Shortcut, Submission};
use crate::slack::message;

/// A fixture, read at compile time.
macro_rules! fixture {
    ($name:literal) => {
        serde_json::from_str::<Value>(include_str!(concat!(
            "../../../tests/fixtures/slack/",
            $name
        )))
        .expect($name)
    };
}

/// The payload of a Socket Mode envelope fixture.
macro_rules! payload {
    ($name:literal) => {
        fixture!($name)["payload"].clone()
    };
}

fn shortcut(message_action: Value) -> Interaction {
    interaction(&message_action).expect("a message shortcut the bot handles")
}

/// An inner event wrapped in the `event_callback` Slack puts around every event (ours: the
/// fixture holds only the event).
fn wrapped(event: Value) -> Value {
    json!({
        "token": "unused", "team_id": "T111", "api_app_id": "A111",
        "event": event, "type": "event_callback",
        "event_id": "Ev0CONTRACT", "event_time": 1_700_000_000
    })
}

fn event_kind(callback: &Value) -> Option<EventKind> {
    event(callback).map(|e| e.kind)
}

#[test]
fn a_slash_command_envelope_is_read_as_the_command_slack_ran() {
    let command = slash_command(&payload!("socket_mode_slash_commands.json")).expect("a command");
    assert_eq!(command.user_id, "U111");
    assert_eq!(command.channel_id, "C111");
    assert_eq!(command.text, "");
    assert_eq!(command.trigger_id, "111.222.xxx");
    assert_eq!(
        command.response_url,
        "https://hooks.slack.com/commands/T111/111/xxx"
    );
}

#[test]
fn a_shortcut_on_a_composed_message_reads_its_rich_text_once() {
    let Interaction::MessageShortcut(Shortcut {
        callback_id,
        user,
        trigger_id,
        source,
        ..
    }) = shortcut(fixture!("message_shortcut_rich_text.json"))
    else {
        panic!("a message shortcut");
    };
    assert_eq!(callback_id, "test-message-action");
    assert_eq!(user, "U123");
    assert_eq!(trigger_id, "123.123.xxx");
    assert_eq!(source.channel, "C123");
    assert_eq!(source.ts, "1583636382.000300");
    assert_eq!(source.author.as_deref(), Some("U123"));
    assert_eq!(
        source.text, "<@U234> test",
        "text and rich_text are read once"
    );
    assert_eq!(source.suggested_title(), "@U234 test");
}

#[test]
fn a_shortcut_on_a_bots_message_leaves_out_the_unfurl_it_carries() {
    let Interaction::MessageShortcut(Shortcut { source, .. }) =
        shortcut(fixture!("message_shortcut_bot_attachments.json"))
    else {
        panic!("a message shortcut");
    };
    assert_eq!(source.author, None, "a bot wrote it");
    assert_eq!(source.author_label.as_deref(), Some("Testing App"));
    assert_eq!(source.headline, None);
    assert_eq!(
        source.text,
        "Here is the uploaded file: <https://xxx.slack.com/archives/C111/xxx>"
    );
}

#[test]
fn a_shortcut_in_a_direct_message_keeps_its_link_as_a_link() {
    let Interaction::MessageShortcut(Shortcut { source, .. }) =
        shortcut(fixture!("message_shortcut_link.json"))
    else {
        panic!("a message shortcut");
    };
    assert_eq!(source.channel, "D0LFFBKLZ");
    assert_eq!(source.author.as_deref(), Some("U0MJRG1AL"));
    assert_eq!(
        source.text,
        "World's smallest big cat! <https://youtube.com/watch?v=W86cTIoMv2U>"
    );
    assert_eq!(
        source.suggested_title(),
        "World's smallest big cat! https://youtube.com/watch?v=W86cTIoMv2U"
    );
}

#[test]
fn a_view_submission_gives_its_values_by_block_as_typed() {
    let Some(Interaction::ViewSubmission(Submission {
        callback_id,
        view_id,
        user,
        values,
        ..
    })) = interaction(&fixture!("view_submission_select_date_text.json"))
    else {
        panic!("a view submission");
    };
    assert_eq!(callback_id, "modal-callback-id");
    assert_eq!(view_id, "V12345678");
    assert_eq!(user, "U12345678");
    assert_eq!(values["rating"], Field::Choice(Some("3".into())));
    assert_eq!(values["comment"], Field::Text(Some("Just amazing!".into())));

    let Some(Interaction::ViewSubmission(Submission {
        private_metadata,
        values,
        ..
    })) = interaction(&fixture!("view_submission_text_private_metadata.json"))
    else {
        panic!("a view submission");
    };
    assert_eq!(
        private_metadata,
        "https://hooks.slack.com/commands/T123/977578904577/NfI6RdDqrYDC8Pjzo01xgLQ3",
        "private_metadata comes back verbatim"
    );
    assert_eq!(
        values["request-block"],
        Field::Text(Some("test test test".into()))
    );
}

#[test]
fn a_button_click_names_the_message_it_was_clicked_in() {
    let click = |v: Value| interaction(&v).expect("a click the bot handles");
    assert_eq!(
        click(payload!("socket_mode_block_actions_button_in_message.json")),
        Interaction::ButtonClick(Click {
            action_id: "a".into(),
            value: "underlying".into(),
            user: "U111".into(),
            trigger_id: "111.222.xxx".into(),
            response_url: Some("https://hooks.slack.com/actions/T111/111/xxx".into()),
            channel: Some("C111".into()),
            message_ts: Some("1605853634.000400".into()),
        })
    );
    assert_eq!(
        click(fixture!("block_actions_button_in_thread.json")),
        Interaction::ButtonClick(Click {
            action_id: "save".into(),
            value: "1".into(),
            user: "U111".into(),
            trigger_id: "111.222.xxx".into(),
            response_url: Some("https://hooks.slack.com/actions/T111/111/xxx".into()),
            channel: Some("C111".into()),
            message_ts: Some("1693635296.000500".into()),
        })
    );
}

#[test]
fn plain_messages_and_a_redelivered_one_are_events_the_bot_ignores() {
    assert_eq!(event_kind(&fixture!("event_message_mention.json")), None);
    let redelivered = fixture!("socket_mode_events_api_message_retry.json");
    assert_eq!(redelivered["retry_attempt"], 1);
    let callback = &redelivered["payload"];
    assert_eq!(callback["event_id"], "Ev111");
    assert_eq!(
        event_kind(callback),
        None,
        "the bot reads no plain message, first delivery or not"
    );
}

#[test]
fn rich_text_is_read_with_every_element_slack_sends() {
    assert_eq!(
        message::text(&fixture!("message_rich_text_styles_emoji.json")),
        "This is a *rich text* message that uses _italics and_ ~strikethrough~ and looks \
         :sparkles: _*fabulous*_ :sparkles:"
    );
    assert_eq!(
        message::text(&fixture!(
            "message_rich_text_broadcast_channel_link_user.json"
        )),
        "<!channel> test a~aaa~\n<#C123456678>\ntest\n<http://www.example.com>\n<@W12345678>",
        "the fixture's text is a stand-in (`dummy`): only the blocks carry the words"
    );
    assert_eq!(
        message::text(&fixture!("message_rich_text_list_quote_preformatted.json")),
        "<@W12345678>\n• test\n• aaaa\n\n1. foo\n2. bar\n3. baz\n> something important\n\
         ```package example\n\nclass Foo```\n\n*bold* something _italic_"
    );
}

#[test]
fn an_edit_is_read_as_the_new_text_and_a_tombstone_as_a_deletion() {
    assert_eq!(
        event_kind(&wrapped(fixture!("event_message_changed.json"))),
        Some(EventKind::MessageChanged {
            channel: "C111".into(),
            ts: "1626342128.008700".into(),
            text: "updated message".into(),
        })
    );
    assert_eq!(
        event_kind(&wrapped(fixture!("event_message_changed_tombstone.json"))),
        Some(EventKind::MessageDeleted {
            channel: "C111".into(),
            ts: "1626774922.004400".into(),
        })
    );
    assert_eq!(
        event_kind(&fixture!("event_callback_message_changed.json")),
        Some(EventKind::MessageChanged {
            channel: "C111".into(),
            ts: "1665102338.901939".into(),
            text: "updated message".into(),
        }),
        "without the new message's ts, the previous message's names it"
    );
    assert_eq!(
        event_kind(&fixture!("event_callback_message_deleted.json")),
        Some(EventKind::MessageDeleted {
            channel: "C111".into(),
            ts: "1665368619.804829".into(),
        })
    );
}

#[test]
fn pins_and_joins_are_read_as_who_did_what_where() {
    assert_eq!(
        event_kind(&wrapped(fixture!("event_pin_added.json"))),
        Some(EventKind::PinAdded {
            channel: "C0LAN2Q65".into(),
            user: "U061F7AUR".into(),
            message: PinnedMessage {
                ts: "1539904112.000100".into(),
                author: Some("U061F7AUR".into()),
                author_label: None,
                text: "<@U0LAN0Z89> is it everything a river should be?".into(),
            },
        })
    );
    assert_eq!(
        event_kind(&wrapped(fixture!("event_pin_removed.json"))),
        Some(EventKind::PinRemoved {
            channel: "C0LAN2Q65".into(),
            user: "U061F7AUR".into(),
            ts: "1539904112.000100".into(),
        })
    );
    assert_eq!(
        event_kind(&wrapped(fixture!("event_pin_added_empty_item.json"))),
        None,
        "a pin of nothing is ignored, not an error"
    );
    assert_eq!(
        event_kind(&fixture!("event_callback_member_joined_channel.json")),
        Some(EventKind::MemberJoined {
            channel: "C111".into(),
            user: "U999".into(),
        })
    );
}

#[test]
fn web_api_answers_are_read_once_per_message() {
    let history = fixture!("conversations_history_rich_text_unfurl.json");
    assert_eq!(
        message::text(&history["messages"][0]),
        "test\n<https://xxx.slack.com/archives/C123/p1695106171334469>",
        "the message's unfurl of itself is not read again"
    );
    // A hand-written mock (see the README): a message pin without its ts names no message and
    // is left out; a file pin is kept by its name; a file comment is not a pin the bot shows.
    let pins = listed_pins(&fixture!("pins_list_handwritten_mock.json"));
    let files: Vec<_> = pins.iter().map(|p| p.file.clone()).collect();
    assert_eq!(files, [Some(("toy".to_string(), None))]);
}
