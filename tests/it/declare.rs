//! Declaring an incident with `/inc declare <sev> [triage] <title>`, end to end through the
//! simulator: what the declarer and the workspace see, and what Slack's failures do to it.

use std::sync::Arc;
use std::time::Duration;

use incident_commander::domain::{Entry, Status};

use crate::helpers::*;

#[tokio::test]
async fn declaring_opens_a_channel_invites_the_declarer_sets_the_topic_pins_the_card_and_announces()
{
    let app = spawn_app().await;

    let reply = app.command(ALICE, "declare sev1 Checkout is down").await;
    assert!(
        reply.contains("Declared *INC-1* · SEV1 · investigating — Checkout is down"),
        "{reply}"
    );
    app.settle().await;

    let channel = app.channel_named("inc-1-checkout-is-down");
    assert!(!channel.is_private);
    assert_eq!(
        app.ok_calls("conversations.create"),
        1,
        "exactly one channel"
    );
    assert!(
        channel.members.contains(&ALICE.to_string()),
        "alice was invited: {:?}",
        channel.members
    );
    assert_eq!(channel.topic, "[SEV1 · investigating] Checkout is down");

    assert_eq!(
        channel.messages.len(),
        1,
        "the card is the channel's only message"
    );
    let card = &channel.messages[0];
    let shown = shown_text(card);
    for expected in [
        "INC-1 · Checkout is down",
        "SEV1",
        "investigating",
        "*Coordinator*\n<@U0ALICE>",
        "*Operator*\n_unassigned_",
        "Declared by <@U0ALICE>",
    ] {
        assert!(
            shown.contains(expected),
            "card lacks {expected:?}:\n{shown}"
        );
    }
    assert_eq!(channel.pins, vec![card.ts.clone()], "the card is pinned");

    let announce = app.sim.channel(&app.incidents).expect("#incidents");
    assert_eq!(announce.messages.len(), 1);
    let shown = shown_text(&announce.messages[0]);
    assert!(shown.contains("INC-1 declared"), "{shown}");
    assert!(
        shown.contains(&format!("<#{}>", channel.id)),
        "links the channel: {shown}"
    );

    let incident = app
        .store
        .open_incidents()
        .await
        .expect("open")
        .pop()
        .expect("one incident");
    assert_eq!(incident.channel_id.as_deref(), Some(channel.id.as_str()));
    assert_eq!(incident.card_ts.as_deref(), Some(card.ts.as_str()));
    assert_eq!(
        incident.announcement_ts.as_deref(),
        Some(announce.messages[0].ts.as_str())
    );
    // Alice's join (the invite) arrives as an event, in its own time.
    let joined = timeline_event(&app.store, incident.id, "joined").await;
    assert_eq!(
        joined.entry,
        incident_commander::domain::Entry::Joined { user: ALICE.into() }
    );
    let mut kinds = timeline_kinds(&app.store, incident.id).await;
    kinds.retain(|k| *k != "joined");
    assert_eq!(kinds, ["declared", "channel_created", "announced"]);
}

#[tokio::test]
async fn triage_declarations_start_in_triage() {
    let app = spawn_app().await;
    let reply = app
        .command(BOB, "declare p2 triage Error rate creeping up")
        .await;
    assert!(reply.contains("*INC-1* · SEV2 · triage"), "{reply}");
    app.settle().await;
    let channel = app.channel_named("inc-1-error-rate-creeping-up");
    assert_eq!(channel.topic, "[SEV2 · triage] Error rate creeping up");
    let incident = app.store.incident(1).await.expect("load").expect("exists");
    assert_eq!(incident.status, Status::Triage);
}

#[tokio::test]
async fn the_ack_arrives_while_the_channel_is_still_being_created() {
    let app = spawn_app().await;
    app.sim
        .delay("conversations.create", Duration::from_secs(2));

    let envelope = app
        .sim
        .slash_command(ALICE, &app.general, "declare sev1 Checkout is down");
    let ack = app.sim.ack(&envelope.envelope_id, WAIT).await.expect("ack");
    assert!(ack_text(&ack).contains("Declared *INC-1*"));

    let create = app
        .sim
        .wait_for_call("conversations.create", WAIT)
        .await
        .expect("create");
    assert!(
        ack.at < create.answered_at,
        "the ack must not wait for the channel (ack {:?} after create answered {:?})",
        ack.at,
        create.answered_at
    );
    app.settle().await;
    app.channel_named("inc-1-checkout-is-down");
}

#[tokio::test]
async fn the_same_envelope_delivered_twice_yields_one_incident() {
    let app = spawn_app().await;
    let envelope = app
        .sim
        .slash_command(ALICE, &app.general, "declare sev1 Checkout is down");
    let first = app
        .sim
        .ack(&envelope.envelope_id, WAIT)
        .await
        .expect("first ack");
    let second = app.redeliver(&envelope).await;
    app.settle().await;
    assert!(ack_text(&first).contains("Declared *INC-1*"));
    assert!(
        ack_text(&second).contains("*INC-1* (SEV1) is already declared"),
        "{}",
        ack_text(&second)
    );

    assert_eq!(app.store.open_incidents().await.expect("open").len(), 1);
    assert_eq!(app.sim.calls_to("conversations.create").len(), 1);
    app.only_incident_channel("inc-1-checkout-is-down");
}

#[tokio::test]
async fn retrying_the_same_command_yields_one_incident() {
    let app = spawn_app().await;
    app.command(ALICE, "declare sev1 Checkout is down").await;
    app.settle().await;
    let retry = app.command(ALICE, "declare  SEV1  checkout is down").await;
    let channel = app.channel_named("inc-1-checkout-is-down");
    assert!(
        retry.contains(&format!(
            "*INC-1* (SEV1) is already declared in <#{}>",
            channel.id
        )),
        "{retry}"
    );
    app.settle().await;
    assert_eq!(app.store.open_incidents().await.expect("open").len(), 1);
    assert_eq!(app.sim.calls_to("conversations.create").len(), 1);
}

#[tokio::test]
async fn a_taken_channel_name_gets_a_numbered_suffix() {
    let app = spawn_app_with(|sim| {
        sim.add_channel("inc-1-checkout-is-down", false, false);
    })
    .await;
    app.command(ALICE, "declare sev1 Checkout is down").await;
    app.settle().await;
    let channel = app.channel_named("inc-1-checkout-is-down-2");
    assert!(channel.members.contains(&ALICE.to_string()));
    let incident = app.store.incident(1).await.expect("load").expect("exists");
    assert_eq!(incident.channel_id, Some(channel.id));
    assert_eq!(
        incident.channel_name.as_deref(),
        Some("inc-1-checkout-is-down-2")
    );
}

#[tokio::test]
async fn a_title_that_tries_to_ping_everyone_reads_as_plain_text_everywhere() {
    let app = spawn_app().await;
    // Slack links what was picked: `<!channel>` and `<@U0BOB|bob>` arrive as tokens.
    let reply = app
        .command(ALICE, "declare sev2 <!channel> checkout <@U0BOB> & co")
        .await;
    assert!(
        reply.contains("— @channel checkout @bob &amp; co."),
        "{reply}"
    );
    app.settle().await;

    let channel = app.channel_named("inc-1-channel-checkout-bob-co");
    assert_eq!(
        channel.topic,
        "[SEV2 · investigating] @channel checkout @bob &amp; co"
    );
    let card = parsed_text(&channel.messages[0]);
    let announcement = parsed_text(
        &app.sim
            .channel(&app.incidents)
            .expect("#incidents")
            .messages[0],
    );
    for text in [&reply, &channel.topic, &card, &announcement] {
        assert!(
            !text.contains("<!channel>") && !text.contains("<@U0BOB"),
            "a title pings nobody: {text}"
        );
    }
    assert!(card.contains("@channel checkout @bob &amp; co"), "{card}");
    // The card's header is plain text, which Slack shows as typed and never parses.
    let header = &channel.messages[0].blocks[0];
    assert_eq!(header["text"]["type"], "plain_text");
    assert_eq!(
        header["text"]["text"],
        "INC-1 · @channel checkout @bob & co"
    );
}

#[tokio::test]
async fn a_rate_limited_call_is_retried_after_retry_after() {
    let app = spawn_app().await;
    app.sim.rate_limit("conversations.create", 1, 1);
    app.command(ALICE, "declare sev1 Checkout is down").await;
    app.settle().await;

    let calls = app.sim.calls_to("conversations.create");
    assert_eq!(calls.len(), 2, "one 429, one success");
    assert_eq!(calls[0].status, 429);
    let waited = calls[1].received_at.duration_since(calls[0].answered_at);
    assert!(
        waited >= Duration::from_millis(950),
        "retried after {waited:?}, before Retry-After: 1"
    );
    app.channel_named("inc-1-checkout-is-down");
}

#[tokio::test]
async fn a_lost_answer_to_channel_creation_does_not_create_a_second_channel() {
    let app = spawn_app().await;
    // Slack creates the channel, but the bot never hears so.
    app.sim.fail_after_applying("conversations.create", 1);
    app.command(ALICE, "declare sev1 Checkout is down").await;
    app.settle().await;

    let channel = app.only_incident_channel("inc-1-checkout-is-down");
    assert!(channel.members.contains(&ALICE.to_string()));
    assert_eq!(channel.pins.len(), 1);
    let incident = app.store.incident(1).await.expect("load").expect("exists");
    assert_eq!(incident.channel_id.as_deref(), Some(channel.id.as_str()));
    let created = timeline_event(&app.store, 1, "channel_created").await;
    assert!(
        matches!(created.entry, Entry::ChannelCreated { adopted: true, .. }),
        "{created:?}"
    );
}

#[tokio::test]
async fn a_declaration_cut_short_by_a_crash_is_finished_within_ten_seconds_of_the_restart() {
    let mut app = spawn_app().await;
    app.sim
        .delay("conversations.create", Duration::from_secs(3));
    app.command(ALICE, "declare sev1 Checkout is down").await;
    // The bot dies while Slack is still working on the channel: the request has reached Slack
    // (the name it asked for was recorded before it asked), the answer has not come back.
    assert!(
        app.sim
            .wait_until(WAIT, |s| s.calls_received("conversations.create") == 1)
            .await,
        "the channel was never requested"
    );
    let incident = app.store.incident(1).await.expect("load").expect("exists");
    assert_eq!(
        incident.channel_name.as_deref(),
        Some("inc-1-checkout-is-down"),
        "the name is recorded before it is asked for"
    );
    assert!(
        app.sim.channel_by_name("inc-1-checkout-is-down").is_none(),
        "Slack has not answered yet"
    );
    app.crash().await;
    app.sim.delay("conversations.create", Duration::ZERO);

    // Restarted at once, on the real clock: the dead process's lease is not waited out.
    let restarted = tokio::time::Instant::now();
    app.restart(Arc::new(incident_commander::app::SystemClock))
        .await;
    let finished = app
        .sim
        .wait_until(WAIT, |s| {
            s.channel_by_name("inc-1-checkout-is-down")
                .is_some_and(|c| c.pins.len() == 1)
                && s.channel(&app.incidents)
                    .is_some_and(|c| c.messages.len() == 1)
        })
        .await;
    let took = restarted.elapsed();
    eprintln!("the declaration was finished {took:?} after the restart");
    assert!(finished, "the declaration was never finished");
    assert!(
        took <= Duration::from_secs(10),
        "the card and the announcement came {took:?} after the restart"
    );
    app.settle().await;
    let channel = app.only_incident_channel("inc-1-checkout-is-down");
    assert!(channel.members.contains(&ALICE.to_string()));
    assert_eq!(app.store.open_incidents().await.expect("open").len(), 1);
}

#[tokio::test]
async fn when_slack_refuses_the_channel_the_declarer_is_told_why() {
    let app = spawn_app().await;
    app.sim.fail("conversations.create", "restricted_action", 1);
    app.command(ALICE, "declare sev1 Checkout is down").await;
    app.settle().await;

    assert!(app.channel_names().iter().all(|n| !n.starts_with("inc-")));
    let told = app.sim.responses();
    assert_eq!(told.len(), 1, "{told:?}");
    let text = told[0].1["text"].as_str().unwrap_or_default();
    assert!(
        text.contains(
            "*INC-1* is recorded, but Slack refused to create its channel (`restricted_action`)"
        ),
        "{text}"
    );
    let counts = app.store.job_counts().await.expect("counts");
    assert_eq!(counts.failed, 1);
    assert_eq!(
        timeline_kinds(&app.store, 1).await,
        ["declared", "step_failed"]
    );
}

#[tokio::test]
async fn a_slack_call_that_hangs_is_abandoned_at_the_timeout_and_retried() {
    let app = spawn_app_configured(&[("SLACK_TIMEOUT", "1s")], |_| {}).await;
    // Slack sits on the first setTopic for 4 s; the bot gives up after 1 s and asks again.
    app.sim
        .delay_next("conversations.setTopic", Duration::from_secs(4), 1);
    app.command(ALICE, "declare sev1 Checkout is down").await;
    app.settle().await;
    assert!(
        app.sim
            .wait_until(WAIT, |s| s.calls_to("conversations.setTopic").len() == 2)
            .await,
        "the hung call and its retry both reach Slack"
    );
    let calls = app.sim.calls_to("conversations.setTopic");
    // Recorded in the order answered: the retry was answered before the hung call.
    assert!(
        calls[0].received_at > calls[1].received_at,
        "the retry came after the first call began"
    );
    assert!(calls[0].answered_at < calls[1].answered_at);
    let channel = app.channel_named("inc-1-checkout-is-down");
    assert_eq!(channel.topic, "[SEV1 · investigating] Checkout is down");
}

#[tokio::test]
async fn a_step_that_fails_for_good_is_reported_in_the_incident_channel() {
    let app = spawn_app().await;
    app.sim
        .fail("conversations.setTopic", "restricted_action", 1);
    app.command(ALICE, "declare sev1 Checkout is down").await;
    app.settle().await;

    let channel = app.channel_named("inc-1-checkout-is-down");
    assert_eq!(channel.topic, "", "the topic was refused");
    let reports: Vec<_> = channel
        .messages
        .iter()
        .filter(|m| m.text.starts_with(":warning:"))
        .collect();
    assert_eq!(reports.len(), 1, "{:?}", channel.messages);
    assert_eq!(
        reports[0].text,
        ":warning: Setting the channel topic for *INC-1* failed: Slack answered `restricted_action`."
    );
    assert_eq!(channel.pins.len(), 1, "the other steps still ran");
    assert_eq!(app.store.job_counts().await.expect("jobs").failed, 1);
    let failed = timeline_event(&app.store, 1, "step_failed").await;
    assert_eq!(
        failed.entry,
        Entry::StepFailed {
            step: "sync_topic".into(),
            error: "restricted_action".into()
        }
    );
}
