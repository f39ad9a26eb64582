//! Declaring from a form and from a message: the Declare modal opened by `/inc declare` and by
//! the "Declare incident" shortcut on an alert, its field errors, a double submit, and the Update
//! modal from `/inc update` and from the card's button.

use incident_commander::domain::{Entry, Role, Status};
use serde_json::{Value, json};
use slack_simulator::{Envelope, View, ViewInput};

use crate::helpers::*;

/// The initial value of the text input `block` in `view`.
fn initial(view: &View, block: &str) -> Option<String> {
    view.blocks
        .as_array()?
        .iter()
        .find(|b| b["block_id"] == block)?
        .pointer("/element/initial_value")?
        .as_str()
        .map(str::to_string)
}

fn alert_attachments() -> Value {
    json!([{
        "color": "danger",
        "title": "[FIRING:1] HighErrorRate checkout (prod)",
        "text": "error rate 12% &gt; 5% for 10m",
        "fallback": "[FIRING:1] HighErrorRate"
    }])
}

#[tokio::test]
async fn declare_without_a_severity_opens_the_form_with_the_commands_trigger_and_the_form_declares()
{
    let app = spawn_app().await;
    let envelope = app
        .sim
        .slash_command(ALICE, &app.general, "declare Checkout is down");
    let ack = app.sim.ack(&envelope.envelope_id, WAIT).await.expect("ack");
    assert_eq!(
        ack_text(&ack),
        "",
        "the form answers; the ack carries nothing"
    );

    let view = open_view(&app, ALICE).await;
    let opened = app.sim.calls_to("views.open");
    assert_eq!(
        opened[0].params["trigger_id"],
        envelope.payload["trigger_id"]
    );
    assert_eq!(
        (view.callback_id.as_str(), view.title.as_str()),
        ("declare_modal", "Declare incident")
    );
    assert_eq!(initial(&view, "title").as_deref(), Some("Checkout is down"));

    let response = submit(
        &app,
        ALICE,
        &view,
        &[
            ("severity", ViewInput::Option("sev2".into())),
            (
                "summary",
                ViewInput::Text("EU card payments time out".into()),
            ),
            (
                "impact",
                ViewInput::Text("checkout-api, EU shoppers".into()),
            ),
            ("operator", ViewInput::User(BOB.into())),
        ],
    )
    .await;
    assert_eq!(response, None, "a good submission closes the form");
    assert!(!app.sim.view(&view.id).expect("view").open);
    app.settle().await;

    let channel = app.channel_named("inc-1-checkout-is-down");
    assert!(
        channel.members.contains(&ALICE.to_string()) && channel.members.contains(&BOB.to_string())
    );
    assert_eq!(
        channel.topic,
        "[SEV2 · investigating] EU card payments time out"
    );
    let card = shown_text(&channel.messages[0]);
    for expected in [
        "*Coordinator*\n<@U0ALICE>",
        "*Operator*\n<@U0BOB>",
        "*Summary*\nEU card payments time out",
        "*Affected*\ncheckout-api, EU shoppers",
        "Post update",
    ] {
        assert!(card.contains(expected), "card lacks {expected:?}: {card}");
    }
    let incident = app.incident_in(&channel).await;
    assert_eq!(
        incident.impact.as_deref(),
        Some("checkout-api, EU shoppers")
    );
    assert_eq!(incident.holder(Role::Operator), Some(BOB));
}

#[tokio::test]
async fn a_title_of_invisible_characters_is_refused_on_its_field_and_nothing_is_declared() {
    let app = spawn_app().await;
    app.command(ALICE, "declare").await;
    let view = open_view(&app, ALICE).await;
    assert_eq!(initial(&view, "title"), None);
    let mark = app.mark();
    let response = submit(
        &app,
        ALICE,
        &view,
        &[
            (
                "title",
                ViewInput::Text("\u{202E}\u{202E}\u{202E}\u{202E}\u{202E}".into()),
            ),
            ("severity", ViewInput::Option("sev1".into())),
        ],
    )
    .await;
    assert_eq!(
        response,
        Some(json!({
            "response_action": "errors",
            "errors": { "title": "That title has no visible characters." }
        }))
    );
    let still = app.sim.view(&view.id).expect("view");
    assert!(still.open, "the form stays open to be fixed");
    assert_eq!(
        still.errors,
        Some(json!({ "title": "That title has no visible characters." }))
    );
    app.settle().await;
    assert!(app.writes_since(mark).is_empty());
    assert!(app.store.open_incidents().await.expect("open").is_empty());
}

#[tokio::test]
async fn the_same_form_submitted_twice_declares_one_incident() {
    let app = spawn_app().await;
    app.command(ALICE, "declare Checkout is down").await;
    let view = open_view(&app, ALICE).await;
    let edits = [("severity", ViewInput::Option("sev1".into()))];
    // A double click: both submissions are on their way before the first is answered.
    let first = app.sim.submit_view(ALICE, &view.id, &edits);
    let second = app.sim.submit_view(ALICE, &view.id, &edits);
    for envelope in [&first, &second] {
        app.sim
            .ack(&envelope.envelope_id, WAIT)
            .await
            .expect("acked");
    }
    app.settle().await;
    assert_eq!(app.store.open_incidents().await.expect("open").len(), 1);
    app.only_incident_channel("inc-1-checkout-is-down");
}

#[tokio::test]
async fn the_shortcut_on_an_alert_declares_from_it_copies_it_and_replies_in_its_thread_once() {
    let app = spawn_app().await;
    let alerts = app.sim.add_channel("alerts", false, false);
    let ts = app.sim.post_alert(
        &alerts,
        "Alertmanager",
        "",
        alert_attachments(),
        Value::Null,
    );

    let envelope = app
        .sim
        .message_shortcut(CAROL, &alerts, &ts, "declare_incident");
    app.sim.ack(&envelope.envelope_id, WAIT).await.expect("ack");
    let view = open_view(&app, CAROL).await;
    assert_eq!(
        initial(&view, "title").as_deref(),
        Some("[FIRING:1] HighErrorRate checkout (prod)"),
        "the title comes from the attachment: the alert has no text"
    );
    assert_eq!(
        initial(&view, "summary").as_deref(),
        Some("[FIRING:1] HighErrorRate checkout (prod)\nerror rate 12% > 5% for 10m")
    );
    let permalink = format!(
        "https://example.slack.com/archives/{alerts}/p{}",
        ts.replace('.', "")
    );
    assert!(
        view.blocks.to_string().contains(&permalink),
        "the form links the alert"
    );

    assert_eq!(
        submit(
            &app,
            CAROL,
            &view,
            &[("severity", ViewInput::Option("sev2".into()))]
        )
        .await,
        None
    );
    app.settle().await;

    let channel = app.channel_named("inc-1-firing-1-higherrorrate-checkout-prod");
    let copy = shown_text(&channel.messages[1]);
    assert!(
        copy.contains(&format!(
            ":inbox_tray: Declared from <{permalink}|a message> by Alertmanager (bot) in <#{alerts}>:\n\
             >[FIRING:1] HighErrorRate checkout (prod)\n>error rate 12% &gt; 5% for 10m"
        )),
        "{copy}"
    );
    let thread = app.sim.thread(&alerts, &ts);
    let replies: Vec<String> = thread
        .iter()
        .filter(|m| m.ts != ts)
        .map(shown_text)
        .collect();
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert!(
        replies[0].contains(&format!(
            ":rotating_light: Declared as *INC-1* — [FIRING:1] HighErrorRate checkout (prod) (SEV2) in <#{}>.",
            channel.id
        )),
        "{}",
        replies[0]
    );
    assert!(
        app.sim
            .channel(&alerts)
            .expect("alerts")
            .members
            .contains(&"U0BOT".to_string()),
        "the bot joined to reply"
    );
    let incident = app.incident_in(&channel).await;
    let timeline = app.store.timeline(incident.id).await.expect("timeline");
    assert_eq!(
        timeline[1].entry,
        Entry::SourceMessage {
            channel: alerts.clone(),
            ts: ts.clone(),
            author: None,
            author_label: Some("Alertmanager".into()),
            // Slack's escaping decoded once: the timeline keeps what the alert said.
            text: "[FIRING:1] HighErrorRate checkout (prod)\nerror rate 12% > 5% for 10m".into(),
            permalink: Some(permalink.clone()),
        },
        "the alert is the first entry after the declaration"
    );

    // A second shortcut on the same alert declares nothing and says where the incident is.
    let again = app
        .sim
        .message_shortcut(BOB, &alerts, &ts, "declare_incident");
    app.sim.ack(&again.envelope_id, WAIT).await.expect("ack");
    app.settle().await;
    assert_eq!(app.sim.calls_to("views.open").len(), 1, "no second form");
    let told: Vec<_> = app
        .sim
        .ephemerals()
        .into_iter()
        .filter(|e| e.user == BOB)
        .collect();
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(
        told[0].text,
        format!(
            "This message was already declared as *INC-1* — [FIRING:1] HighErrorRate checkout (prod) (investigating): <#{}>.",
            channel.id
        )
    );
    assert_eq!(app.store.open_incidents().await.expect("open").len(), 1);
}

#[tokio::test]
async fn a_private_incident_gets_a_private_channel_no_announcement_and_stays_out_of_others_lists() {
    let app = spawn_app().await;
    app.command(ALICE, "declare Payroll data exposed").await;
    let view = open_view(&app, ALICE).await;
    submit(
        &app,
        ALICE,
        &view,
        &[
            ("severity", ViewInput::Option("sev1".into())),
            ("private", ViewInput::Checked(vec!["private".into()])),
        ],
    )
    .await;
    app.settle().await;
    let channel = app.channel_named("inc-1-payroll-data-exposed");
    assert!(channel.is_private);
    assert!(
        app.sim
            .channel(&app.incidents)
            .expect("#incidents")
            .messages
            .is_empty(),
        "never announced"
    );
    assert!(app.command(ALICE, "list").await.contains("INC-1"));
    assert!(app.command(ALICE, "list").await.contains(":lock: private"));
    assert_eq!(
        app.command(CAROL, "list").await,
        "No open incidents. :white_check_mark:"
    );
    // Once carol is in the channel, it is hers to see too.
    app.sim
        .join(CAROL, &channel.id)
        .expect("the bot hears the join");
    let deadline = tokio::time::Instant::now() + WAIT;
    while !app.command(CAROL, "list").await.contains("INC-1") {
        assert!(
            tokio::time::Instant::now() < deadline,
            "carol never saw INC-1"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // An update posts in the channel but nowhere public.
    app.command_in(ALICE, &channel.id, "update fixing Rotating the keys")
        .await;
    app.settle().await;
    assert!(
        app.sim
            .channel(&app.incidents)
            .expect("#incidents")
            .messages
            .is_empty()
    );
}

#[tokio::test]
async fn the_update_form_sets_status_and_summary_and_posts_the_update() {
    let app = spawn_app().await;
    let channel = app.declared(ALICE, "sev2 Checkout is slow").await;
    let envelope = app.sim.slash_command(BOB, &channel.id, "update");
    app.sim.ack(&envelope.envelope_id, WAIT).await.expect("ack");
    let view = open_view(&app, BOB).await;
    assert_eq!(view.callback_id, "update_modal");
    assert_eq!(
        submit(
            &app,
            BOB,
            &view,
            &[
                ("status", ViewInput::Option("fixing".into())),
                (
                    "summary",
                    ViewInput::Text("EU card payments time out".into())
                ),
                ("text", ViewInput::Text("Rolled back deploy 4711".into())),
            ],
        )
        .await,
        None
    );
    app.settle().await;
    let now = app.sim.channel(&channel.id).expect("channel");
    assert_eq!(now.topic, "[SEV2 · fixing] EU card payments time out");
    let update = shown_text(now.messages.last().expect("the update"));
    assert!(
        update.contains(":memo: *Update* on *INC-1* · now *fixing*\nRolled back deploy 4711"),
        "{update}"
    );
    let incident = app.incident_in(&channel).await;
    assert_eq!(incident.status, Status::Fixing);
    let kinds = timeline_kinds(&app.store, incident.id).await;
    assert!(
        kinds.ends_with(&["summary_set", "status_changed", "update"]),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn the_cards_post_update_button_opens_the_form_and_a_refused_update_stays_in_the_form() {
    let app = spawn_app().await;
    let channel = app.declared(ALICE, "sev2 Checkout is slow").await;
    let card = app.sim.channel(&channel.id).expect("channel").messages[0].clone();
    let click: Envelope = app
        .sim
        .click(BOB, &channel.id, &card.ts, "post_update")
        .expect("the card has the button");
    app.sim.ack(&click.envelope_id, WAIT).await.expect("ack");
    let view = open_view(&app, BOB).await;
    assert_eq!(view.callback_id, "update_modal");
    let opened = app.sim.calls_to("views.open");
    assert_eq!(opened[0].params["trigger_id"], click.payload["trigger_id"]);

    // Meanwhile the incident was resolved: the form says so and records nothing.
    app.command_in(ALICE, &channel.id, "resolve").await;
    app.settle().await;
    let mark = app.mark();
    let response = submit(
        &app,
        BOB,
        &view,
        &[("text", ViewInput::Text("Still looking".into()))],
    )
    .await;
    assert_eq!(
        response,
        Some(json!({
            "response_action": "errors",
            "errors": { "status": "*INC-1* is resolved, so you cannot post updates. `/inc reopen` it first." }
        }))
    );
    app.settle().await;
    assert!(app.writes_since(mark).is_empty());
}
