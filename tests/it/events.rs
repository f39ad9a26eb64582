//! What the bot hears: pins added, edited, removed and deleted in an incident channel and who
//! joined, each on the timeline once however often Slack delivers it; the "Take coordinator"
//! button, where the first click wins; and payloads it cannot read, acked and ignored.

use incident_commander::domain::{Entry, Role};
use serde_json::json;
use slack_simulator::{Envelope, SimEvent};

use crate::helpers::*;

/// Waits until Slack's delivery of `envelope` was acked (the bot has handled it).
async fn handled(app: &TestApp, envelope: &Envelope) {
    app.sim
        .ack(&envelope.envelope_id, WAIT)
        .await
        .unwrap_or_else(|| panic!("{} was not acked", envelope.envelope_type));
}

/// The timeline entries about pins and joins, with who caused them.
async fn heard(app: &TestApp, incident: i64) -> Vec<(Entry, Option<String>)> {
    app.store
        .timeline(incident)
        .await
        .expect("timeline")
        .into_iter()
        .filter(|e| {
            matches!(
                e.entry,
                Entry::Pinned { .. }
                    | Entry::Unpinned { .. }
                    | Entry::PinEdited { .. }
                    | Entry::PinDeleted { .. }
                    | Entry::Joined { .. }
            )
        })
        .map(|e| (e.entry, e.actor))
        .collect()
}

#[tokio::test]
async fn pins_edits_unpins_deletions_and_joins_go_onto_the_timeline_once_each() {
    let app = spawn_app().await;
    let channel = app.declared(ALICE, "sev2 Checkout is slow").await;
    let incident = app.incident_in(&channel).await;
    let finding = app
        .sim
        .post_as(BOB, &channel.id, "Deploy 4711 doubled DB connections");
    let decision = app
        .sim
        .post_as(ALICE, &channel.id, "Decision: roll back 4711");
    let chatter = app.sim.post_as(CAROL, &channel.id, "brb coffee");

    let pinned = app
        .sim
        .pin(BOB, &channel.id, &finding)
        .expect("pin_added is delivered");
    handled(&app, &pinned).await;
    // Slack redelivers the event (the ack was late): still one entry.
    app.sim.send(&pinned);
    let acks = |s: &slack_simulator::SlackSimulator| {
        s.events()
            .iter()
            .filter(|e| matches!(e, SimEvent::Ack(a) if a.envelope_id == pinned.envelope_id))
            .count()
    };
    assert!(app.sim.wait_until(WAIT, |s| acks(s) == 2).await);
    handled(
        &app,
        &app.sim
            .edit(
                BOB,
                &channel.id,
                &finding,
                "Deploy 4711 tripled DB connections",
            )
            .expect("edit"),
    )
    .await;
    handled(
        &app,
        &app.sim
            .edit(CAROL, &channel.id, &chatter, "back")
            .expect("edit"),
    )
    .await;
    handled(
        &app,
        &app.sim.pin(ALICE, &channel.id, &decision).expect("pin"),
    )
    .await;
    handled(
        &app,
        &app.sim.unpin(ALICE, &channel.id, &decision).expect("unpin"),
    )
    .await;
    handled(
        &app,
        &app.sim.delete(&channel.id, &finding).expect("delete"),
    )
    .await;
    handled(&app, &app.sim.join(CAROL, &channel.id).expect("join")).await;

    let alice_joined = (Entry::Joined { user: ALICE.into() }, Some(ALICE.into()));
    assert_eq!(
        heard(&app, incident.id).await,
        [
            alice_joined,
            (
                Entry::Pinned {
                    ts: finding.clone(),
                    author: Some(BOB.into()),
                    author_label: None,
                    text: "Deploy 4711 doubled DB connections".into()
                },
                Some(BOB.into())
            ),
            (
                Entry::PinEdited {
                    ts: finding.clone(),
                    text: "Deploy 4711 tripled DB connections".into()
                },
                None
            ),
            (
                Entry::Pinned {
                    ts: decision.clone(),
                    author: Some(ALICE.into()),
                    author_label: None,
                    text: "Decision: roll back 4711".into()
                },
                Some(ALICE.into())
            ),
            (
                Entry::Unpinned {
                    ts: decision.clone()
                },
                Some(ALICE.into())
            ),
            (
                Entry::PinDeleted {
                    ts: finding.clone()
                },
                None
            ),
            (Entry::Joined { user: CAROL.into() }, Some(CAROL.into())),
        ],
        "the edit of an unpinned message and the redelivered pin left nothing"
    );
    let pins = app.store.pins(incident.id).await.expect("pins");
    let states: Vec<(&str, &str, &str)> = pins
        .iter()
        .map(|p| (p.ts.as_str(), p.text.as_str(), p.state.as_str()))
        .collect();
    assert_eq!(
        states,
        [
            (
                finding.as_str(),
                "Deploy 4711 tripled DB connections",
                "deleted"
            ),
            (decision.as_str(), "Decision: roll back 4711", "unpinned"),
        ]
    );
}

#[tokio::test]
async fn events_outside_incident_channels_and_the_bots_own_card_are_ignored() {
    let app = spawn_app().await;
    let channel = app.declared(ALICE, "sev2 Checkout is slow").await;
    let incident = app.incident_in(&channel).await;
    let before = app
        .store
        .timeline(incident.id)
        .await
        .expect("timeline")
        .len();
    // #incidents is not an incident channel (the bot is in it, so it hears the pin).
    let elsewhere = app.sim.post_as(ALICE, &app.incidents, "All hands on INC-1");
    handled(
        &app,
        &app.sim.pin(ALICE, &app.incidents, &elsewhere).expect("pin"),
    )
    .await;
    // Unpinning and re-pinning the bot's own card is not a finding.
    let card = incident.card_ts.clone().expect("card");
    handled(
        &app,
        &app.sim.unpin(BOB, &channel.id, &card).expect("unpin"),
    )
    .await;
    handled(&app, &app.sim.pin(BOB, &channel.id, &card).expect("pin")).await;
    assert_eq!(
        app.store
            .timeline(incident.id)
            .await
            .expect("timeline")
            .len(),
        before
    );
}

#[tokio::test]
async fn with_a_coordinator_group_the_declarer_operates_and_the_first_click_takes_coordinator() {
    let app = spawn_app_configured(&[("COORDINATOR_GROUP", "S0COORD")], |sim| {
        sim.add_usergroup("S0COORD", "coordinators", &[BOB, CAROL]);
    })
    .await;
    let channel = app.declared(ALICE, "sev1 Checkout is down").await;
    let incident = app.incident_in(&channel).await;
    assert_eq!(incident.holder(Role::Operator), Some(ALICE));
    assert_eq!(incident.holder(Role::Coordinator), None);
    let messages = app.sim.channel(&channel.id).expect("channel").messages;
    let call = messages.last().expect("the call for a coordinator");
    assert!(
        shown_text(call).starts_with(
            ":raising_hand: <!subteam^S0COORD> — *INC-1* — Checkout is down needs a coordinator."
        ),
        "{}",
        shown_text(call)
    );

    // Bob and Carol click at once; Bob's click arrives first.
    let bob = app
        .sim
        .click(BOB, &channel.id, &call.ts, "take_coordinator")
        .expect("button");
    let carol = app
        .sim
        .click(CAROL, &channel.id, &call.ts, "take_coordinator")
        .expect("button");
    handled(&app, &bob).await;
    handled(&app, &carol).await;
    app.settle().await;

    assert_eq!(
        app.incident_in(&channel).await.holder(Role::Coordinator),
        Some(BOB)
    );
    let told: Vec<_> = app
        .sim
        .ephemerals()
        .into_iter()
        .filter(|e| e.user == CAROL)
        .collect();
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(
        told[0].text,
        "<@U0BOB> took the coordinator role for *INC-1* first. If they stop answering, take over \
         with `/inc coordinator me` in its channel."
    );
    let now = app.sim.channel(&channel.id).expect("channel");
    let call_now = now
        .messages
        .iter()
        .find(|m| m.ts == call.ts)
        .expect("the call");
    assert_eq!(
        shown_text(call_now).lines().next(),
        Some(":raising_hand: <@U0BOB> took the coordinator role for *INC-1* — Checkout is down."),
        "the call says who took it, and the button is gone"
    );
    assert!(shown_text(&now.messages[0]).contains("*Coordinator*\n<@U0BOB>"));
    let kinds = timeline_kinds(&app.store, incident.id).await;
    assert_eq!(
        kinds.iter().filter(|k| **k == "role_assigned").count(),
        1,
        "{kinds:?}"
    );
}

#[tokio::test]
async fn payloads_the_bot_cannot_read_are_acked_and_change_nothing() {
    let app = spawn_app().await;
    let channel = app.declared(ALICE, "sev2 Checkout is slow").await;
    let incident = app.incident_in(&channel).await;
    let entries = app
        .store
        .timeline(incident.id)
        .await
        .expect("timeline")
        .len();
    let mark = app.mark();
    let garbage = [
        Envelope {
            envelope_id: "bad-interaction".into(),
            envelope_type: "interactive".into(),
            payload: json!({ "type": "something_new", "user": { "id": ALICE } }),
            accepts_response_payload: false,
        },
        Envelope {
            envelope_id: "bad-click".into(),
            envelope_type: "interactive".into(),
            payload: json!({
                "type": "block_actions", "team": { "id": "T0EXAMPLE", "domain": "example" },
                "user": { "id": BOB }, "api_app_id": "A0EXAMPLE", "trigger_id": "1.2.x",
                "container": { "type": "message", "message_ts": "1.2", "channel_id": channel.id },
                "actions": [{ "type": "button", "action_id": "take_coordinator",
                              "block_id": "b", "value": "not-an-incident", "action_ts": "1.3" }]
            }),
            accepts_response_payload: false,
        },
        Envelope {
            envelope_id: "bad-event".into(),
            envelope_type: "events_api".into(),
            payload: json!({
                "token": "unused", "team_id": "T0EXAMPLE", "api_app_id": "A0EXAMPLE",
                "type": "event_callback", "event_id": "Ev0BAD", "event_time": 1_700_000_000,
                "event": { "type": "pin_added", "user": BOB, "channel_id": channel.id }
            }),
            accepts_response_payload: false,
        },
    ];
    for envelope in &garbage {
        app.sim.send(envelope);
        handled(&app, envelope).await;
    }
    app.settle().await;
    assert!(
        app.writes_since(mark).is_empty(),
        "{:?}",
        app.writes_since(mark)
    );
    assert_eq!(
        app.store
            .timeline(incident.id)
            .await
            .expect("timeline")
            .len(),
        entries
    );
    assert_eq!(app.incident_in(&channel).await, incident);
}
