//! Answers Slack loses after it acted: an edge's 503, a timeout after the work was done. Every
//! message and file the bot posts carries its job's key; an attempt after one whose outcome is
//! unknown looks in the channel (or the thread) first and adopts what it finds, so a post
//! appears once.

use std::time::Duration;

use slack_simulator::Message;

use crate::helpers::*;

/// The messages of `channel` whose text starts with `prefix`.
fn posts_starting(app: &TestApp, channel: &str, prefix: &str) -> Vec<Message> {
    app.sim
        .channel(channel)
        .expect("channel")
        .messages
        .into_iter()
        .filter(|m| m.text.starts_with(prefix))
        .collect()
}

#[tokio::test]
async fn an_update_whose_answer_slack_lost_appears_once_here_and_once_under_the_announcement() {
    let app = spawn_app().await;
    let channel = app.declared(ALICE, "sev2 Checkout is slow").await;
    // Both posts the update makes (here, and in the announcement's thread) lose their answer.
    app.sim.fail_after_applying("chat.postMessage", 2);
    let reply = app
        .command_in(ALICE, &channel.id, "update fixing Rolled back deploy 4711")
        .await;
    assert_eq!(reply, "Update posted.");
    app.settle().await;

    let lost: Vec<_> = app
        .sim
        .calls_to("chat.postMessage")
        .into_iter()
        .filter(|c| c.status == 503)
        .collect();
    assert_eq!(lost.len(), 2, "both answers were lost");
    assert_eq!(
        posts_starting(&app, &channel.id, "Update on INC-1").len(),
        1,
        "the update appears once in the incident channel"
    );
    let thread: Vec<Message> = posts_starting(&app, &app.incidents, "Update on INC-1");
    assert_eq!(thread.len(), 1, "and once under the announcement");
    assert!(thread[0].thread_ts.is_some());
    assert!(
        !app.sim.calls_to("conversations.history").is_empty()
            && !app.sim.calls_to("conversations.replies").is_empty(),
        "the retries looked before posting again"
    );
}

#[tokio::test]
async fn a_post_whose_answer_timed_out_after_slack_acted_appears_once() {
    let app = spawn_app_configured(&[("SLACK_TIMEOUT", "1s")], |_| {}).await;
    let channel = app.declared(ALICE, "sev2 Checkout is slow").await;
    // Slack posts at once but its answer takes 3 s: the bot gives up after 1 s.
    app.sim
        .answer_late("chat.postMessage", Duration::from_secs(3), 1);
    app.command_in(ALICE, &channel.id, "note Restarted the canary")
        .await;
    app.command_in(ALICE, &channel.id, "escalate <@U0CAROL> Need a DBA")
        .await;
    app.settle().await;
    let pings = posts_starting(&app, &channel.id, ":sos:");
    assert_eq!(pings.len(), 1, "{pings:?}");
    assert_eq!(
        app.sim.calls_to("chat.postMessage").len(),
        3,
        "the card, the announcement, the ping — not a second ping after the look"
    );
}

#[tokio::test]
async fn a_postmortem_whose_upload_answer_was_lost_is_shared_once() {
    let app = spawn_app().await;
    let channel = app.declared(ALICE, "sev2 Checkout is slow").await;
    app.sim
        .fail_after_applying("files.completeUploadExternal", 1);
    app.command_in(ALICE, &channel.id, "postmortem").await;
    app.settle().await;

    let shared: Vec<_> = app
        .sim
        .files()
        .into_iter()
        .filter(|f| f.completed && f.channels.contains(&channel.id))
        .collect();
    assert_eq!(shared.len(), 1, "one draft in the channel: {shared:?}");
    let shares = app
        .sim
        .channel(&channel.id)
        .expect("channel")
        .messages
        .into_iter()
        .filter(|m| !m.files.is_empty())
        .count();
    assert_eq!(shares, 1);
    let incident = app.incident_in(&channel).await;
    let exported = timeline_event(&app.store, incident.id, "postmortem_exported").await;
    assert_eq!(
        exported.entry,
        incident_commander::domain::Entry::PostmortemExported {
            version: 1,
            file: Some(shared[0].id.clone()),
        },
        "the export records the file Slack shared"
    );
}

#[tokio::test]
async fn a_card_whose_answer_was_lost_is_adopted_and_pinned_once() {
    let app = spawn_app_with(|sim| sim.fail_after_applying("chat.postMessage", 1)).await;
    let channel = app.declared(ALICE, "sev1 Checkout is down").await;
    let cards = posts_starting(&app, &channel.id, "INC-1 · SEV1");
    assert_eq!(cards.len(), 1, "one card");
    assert_eq!(
        app.sim.pins(&channel.id).len(),
        1,
        "the adopted card is the one pinned"
    );
    let incident = app.incident_in(&channel).await;
    assert_eq!(incident.card_ts.as_deref(), Some(cards[0].ts.as_str()));
}
