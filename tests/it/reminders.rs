//! Update reminders, the coordinator nudge and the digest, as the incident's channel and
//! #incidents show them — with time moved forward by the bot's one clock, never slept through.
//!
//! The bot reads a [`MovableClock`]: the tests let everything due settle, move the clock on, and
//! let it settle again. A reminder that must not have fired is checked after a settle at a time
//! just before its own, so a reminder scheduled too early would have been posted by then.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use incident_commander::domain::Entry;
use slack_simulator::{Channel, Message, ViewInput};

use crate::helpers::*;

/// The bot on a clock the test moves.
async fn spawn_timed(overrides: &[(&'static str, &str)]) -> (TestApp, Arc<MovableClock>) {
    spawn_timed_at(overrides, Utc::now(), |_| {}).await
}

async fn spawn_timed_at(
    overrides: &[(&'static str, &str)],
    at: DateTime<Utc>,
    setup: impl FnOnce(&slack_simulator::SlackSimulator),
) -> (TestApp, Arc<MovableClock>) {
    let clock = Arc::new(MovableClock::starting_at(at));
    let app = spawn_app_clocked(overrides, clock.clone(), setup).await;
    (app, clock)
}

/// Lets everything due finish, moves the clock on by `by`, and lets what fell due finish.
async fn later(app: &TestApp, clock: &MovableClock, by: Duration) {
    app.settle().await;
    clock.advance(by);
    app.settle().await;
}

/// The update reminders in `channel`, oldest first, as they show now.
fn reminders(app: &TestApp, channel: &Channel) -> Vec<Message> {
    let channel = app.sim.channel(&channel.id).expect("channel");
    channel
        .messages
        .into_iter()
        .filter(|m| {
            m.text.contains("The people waiting for news are owed one")
                || m.text.contains("snoozed the update reminder")
        })
        .collect()
}

fn reminder_texts(app: &TestApp, channel: &Channel) -> Vec<String> {
    reminders(app, channel)
        .into_iter()
        .map(|m| m.text)
        .collect()
}

/// The button labels a message carries.
fn buttons(message: &Message) -> Vec<String> {
    message
        .blocks
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
        .filter_map(|e| e["text"]["text"].as_str().map(str::to_string))
        .collect()
}

fn button_action(message: &Message, label: &str) -> String {
    message
        .blocks
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
        .find(|e| e["text"]["text"] == label)
        .and_then(|e| e["action_id"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("no {label} button"))
}

/// `user` clicks `label` on `message` in `channel`; the click is acked.
async fn click(app: &TestApp, user: &str, channel: &Channel, message: &Message, label: &str) {
    let action = button_action(message, label);
    let envelope = app
        .sim
        .click(user, &channel.id, &message.ts, &action)
        .expect("the button is there");
    app.sim
        .ack(&envelope.envelope_id, WAIT)
        .await
        .expect("the click is acked");
}

/// The messages in #incidents that are digests.
fn digests(app: &TestApp) -> Vec<String> {
    app.sim
        .channel(&app.incidents)
        .expect("#incidents")
        .messages
        .into_iter()
        .filter(|m| m.text.starts_with(":newspaper:"))
        .map(|m| m.text)
        .collect()
}

fn count(entries: &[incident_commander::domain::TimelineEvent], kind: &str) -> usize {
    entries.iter().filter(|e| e.kind() == kind).count()
}

#[tokio::test]
async fn the_first_reminder_comes_an_interval_after_the_declaration_to_whoever_owes_the_update() {
    let (app, clock) = spawn_timed(&[]).await;
    let channel = app.declared(ALICE, "sev2 Checkout is slow").await;
    let incident = app.incident_in(&channel).await;

    let status = app.command_in(BOB, &channel.id, "status").await;
    assert!(
        status.contains("No update posted yet: `/inc update &lt;text&gt;` · next due in 29 min"),
        "{status}"
    );
    let due = incident.declared_at + Duration::minutes(30);
    let card = shown_text(&app.sim.channel(&channel.id).expect("channel").messages[0]);
    assert!(
        card.contains(&format!("next update due <!date^{}^", due.timestamp())),
        "the card says when the next update is due: {card}"
    );

    later(&app, &clock, Duration::minutes(29)).await;
    assert!(
        reminder_texts(&app, &channel).is_empty(),
        "not before 30 min"
    );

    later(&app, &clock, Duration::minutes(1)).await;
    let posted = reminders(&app, &channel);
    assert_eq!(posted.len(), 1);
    assert_eq!(
        posted[0].text,
        ":alarm_clock: <@U0ALICE> — no update on *INC-1* — Checkout is slow for 30 min. \
         The people waiting for news are owed one.",
        "the coordinator (alice, who declared) is reminded"
    );
    assert_eq!(buttons(&posted[0]), ["Post update", "Snooze 30m"]);
    let status = app.command_in(BOB, &channel.id, "status").await;
    assert!(status.contains("next one overdue by"), "{status}");

    // With a comms lead, the reminder is theirs; it counts from the last update, still the
    // declaration.
    app.command_in(ALICE, &channel.id, "comms <@U0CAROL>").await;
    later(&app, &clock, Duration::minutes(30)).await;
    let texts = reminder_texts(&app, &channel);
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(
        texts[1].starts_with(
            ":alarm_clock: <@U0CAROL> — no update on *INC-1* — Checkout is slow for 1 h."
        ),
        "{}",
        texts[1]
    );
    let timeline = app.store.timeline(incident.id).await.expect("timeline");
    assert_eq!(count(&timeline, "reminded"), 2);

    // Post update opens the Update form for whoever clicks it.
    let last = reminders(&app, &channel).pop().expect("a reminder");
    click(&app, CAROL, &channel, &last, "Post update").await;
    let view = open_view(&app, CAROL).await;
    assert_eq!(view.title, "Post an update", "the Update form opens");
}

#[tokio::test]
async fn an_update_pushes_the_reminder_back_to_an_interval_after_itself() {
    let (app, clock) = spawn_timed(&[]).await;
    let channel = app.declared(ALICE, "sev2 Checkout is slow").await;

    later(&app, &clock, Duration::minutes(20)).await;
    assert_eq!(
        app.command_in(ALICE, &channel.id, "update Rolled back the deploy")
            .await,
        "Update posted."
    );
    let status = app.command_in(BOB, &channel.id, "status").await;
    assert!(
        status.contains("Last update under a minute ago · next due in 29 min"),
        "{status}"
    );

    // 40 minutes after the declaration, 20 after the update: nothing owed yet.
    later(&app, &clock, Duration::minutes(20)).await;
    assert!(reminder_texts(&app, &channel).is_empty());

    later(&app, &clock, Duration::minutes(10)).await;
    let texts = reminder_texts(&app, &channel);
    assert_eq!(texts.len(), 1);
    assert!(
        texts[0].contains("no update on *INC-1* — Checkout is slow for 30 min."),
        "counted from the update: {}",
        texts[0]
    );
}

#[tokio::test]
async fn each_severity_keeps_its_own_interval_and_monitoring_waits_four_hours() {
    let (app, clock) = spawn_timed(&[("REMINDER_INTERVAL_SEV1", "10m")]).await;
    let sev1 = app.declared(ALICE, "sev1 Checkout is down").await;
    let sev3 = app.declared(BOB, "sev3 Avatars load slowly").await;

    later(&app, &clock, Duration::minutes(10)).await;
    assert_eq!(reminder_texts(&app, &sev1).len(), 1, "SEV1 after 10 min");
    assert!(reminder_texts(&app, &sev3).is_empty(), "SEV3 waits 30 min");
    later(&app, &clock, Duration::minutes(10)).await;
    assert_eq!(reminder_texts(&app, &sev1).len(), 2);
    later(&app, &clock, Duration::minutes(10)).await;
    assert_eq!(reminder_texts(&app, &sev1).len(), 3);
    assert_eq!(reminder_texts(&app, &sev3).len(), 1, "SEV3 after 30 min");

    // A move to monitoring is an update, and monitoring is reminded every 4 hours.
    app.command_in(ALICE, &sev1.id, "update monitoring The fix is out")
        .await;
    later(&app, &clock, Duration::minutes(239)).await;
    assert_eq!(reminder_texts(&app, &sev1).len(), 3, "not before 4 h");
    later(&app, &clock, Duration::minutes(1)).await;
    let texts = reminder_texts(&app, &sev1);
    assert_eq!(texts.len(), 4);
    assert!(
        texts[3].contains("Checkout is down for 4 h."),
        "{}",
        texts[3]
    );
}

#[tokio::test]
async fn a_snooze_defers_the_reminder_by_thirty_minutes_and_goes_on_the_timeline() {
    let (app, clock) = spawn_timed(&[]).await;
    let channel = app.declared(ALICE, "sev2 Checkout is slow").await;
    assert_eq!(
        app.command_in(ALICE, &channel.id, "remind 10m").await,
        "Reminders are every 10 min now."
    );
    later(&app, &clock, Duration::minutes(10)).await;
    let reminder = reminders(&app, &channel).pop().expect("the reminder");

    click(&app, BOB, &channel, &reminder, "Snooze 30m").await;
    app.settle().await;
    let shown = reminders(&app, &channel);
    assert_eq!(
        shown.len(),
        1,
        "the reminder is edited, nothing else posted"
    );
    assert_eq!(
        shown[0].text,
        ":zzz: <@U0BOB> snoozed the update reminder for INC-1 by 30 minutes."
    );
    assert!(buttons(&shown[0]).is_empty(), "its buttons are gone");
    let incident = app.incident_in(&channel).await;
    let snoozed = timeline_event(&app.store, incident.id, "snoozed").await;
    assert_eq!(snoozed.actor.as_deref(), Some(BOB));
    let status = app.command_in(ALICE, &channel.id, "status").await;
    assert!(status.contains("next due in 29 min"), "{status}");

    // Every 10 minutes, but not during the snooze.
    later(&app, &clock, Duration::minutes(29)).await;
    assert_eq!(reminders(&app, &channel).len(), 1);
    later(&app, &clock, Duration::minutes(1)).await;
    assert_eq!(reminders(&app, &channel).len(), 2);
}

#[tokio::test]
async fn reminders_can_be_turned_off_and_a_new_interval_counts_from_when_it_is_set() {
    let (app, clock) = spawn_timed(&[]).await;
    let channel = app.declared(ALICE, "sev2 Checkout is slow").await;

    assert_eq!(
        app.command_in(ALICE, &channel.id, "remind off").await,
        "Reminders are off now."
    );
    let status = app.command_in(ALICE, &channel.id, "status").await;
    assert!(status.contains("reminders are off"), "{status}");
    later(&app, &clock, Duration::hours(2)).await;
    assert!(reminder_texts(&app, &channel).is_empty());

    assert_eq!(
        app.command_in(ALICE, &channel.id, "remind 5m").await,
        "Reminders are every 5 min now."
    );
    later(&app, &clock, Duration::minutes(4)).await;
    assert!(
        reminder_texts(&app, &channel).is_empty(),
        "the first one comes 5 min after the setting, not at once"
    );
    later(&app, &clock, Duration::minutes(1)).await;
    later(&app, &clock, Duration::minutes(5)).await;
    let texts = reminder_texts(&app, &channel);
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(
        texts.iter().all(|t| !t.contains("late")),
        "nothing was late: {texts:?}"
    );
    let incident = app.incident_in(&channel).await;
    let kinds = timeline_kinds(&app.store, incident.id).await;
    assert_eq!(kinds.iter().filter(|k| **k == "reminders_set").count(), 2);
}

#[tokio::test]
async fn bad_reminder_settings_are_refused_and_change_nothing() {
    let (app, _clock) = spawn_timed(&[]).await;
    let channel = app.declared(ALICE, "sev2 Checkout is slow").await;
    let incident = app.incident_in(&channel).await;
    let mark = app.mark();

    for (text, refusal) in [
        ("remind", "Give an interval, `off` or `default`."),
        (
            "remind soon",
            "`soon` is not an interval: use a duration such as `15m` or `1h`, or `off`, or `default`.",
        ),
        (
            "remind 10s",
            "Reminders can come every minute at most and every week at least, not every `10s`.",
        ),
        ("remind default", "Reminders for *INC-1* are"),
    ] {
        let reply = app.command_in(ALICE, &channel.id, text).await;
        assert!(reply.starts_with(refusal), "/inc {text}: {reply}");
    }
    let reply = app.command(ALICE, "remind 15m").await;
    assert!(
        reply.starts_with("`/inc remind` works only in an incident's channel."),
        "outside one: {reply}"
    );
    app.settle().await;
    assert_eq!(app.writes_since(mark), Vec::<String>::new());
    assert_eq!(app.incident_in(&channel).await, incident);
}

#[tokio::test]
async fn resolving_or_declining_stops_the_reminders() {
    let (app, clock) = spawn_timed(&[]).await;
    let resolved = app.declared(ALICE, "sev2 Checkout is slow").await;
    let declined = app
        .declared(BOB, "sev3 triage False alarm on avatars")
        .await;

    later(&app, &clock, Duration::minutes(30)).await;
    assert_eq!(reminder_texts(&app, &resolved).len(), 1);
    assert_eq!(reminder_texts(&app, &declined).len(), 1);
    assert_eq!(
        app.command_in(ALICE, &resolved.id, "resolve Rolled back")
            .await,
        "*INC-1* is resolved."
    );
    assert_eq!(
        app.command_in(BOB, &declined.id, "decline Not an incident")
            .await,
        "*INC-2* is declined."
    );
    let status = app.command_in(ALICE, &resolved.id, "status").await;
    assert!(!status.contains("next"), "{status}");

    later(&app, &clock, Duration::hours(6)).await;
    assert_eq!(reminder_texts(&app, &resolved).len(), 1);
    assert_eq!(reminder_texts(&app, &declined).len(), 1);

    // Reopened, it is owed updates again: the reopening counts as one.
    app.command_in(ALICE, &resolved.id, "reopen").await;
    later(&app, &clock, Duration::minutes(30)).await;
    assert_eq!(reminder_texts(&app, &resolved).len(), 2);
    assert_eq!(reminder_texts(&app, &declined).len(), 1);
}

#[tokio::test]
async fn after_three_hours_down_an_overdue_reminder_comes_once_says_it_is_late_and_the_cadence_restarts()
 {
    let (mut app, clock) = spawn_timed(&[]).await;
    let channel = app.declared(ALICE, "sev2 Checkout is slow").await;

    app.crash().await;
    clock.advance(Duration::hours(3));
    app.restart(clock.clone()).await;
    app.settle().await;
    let texts = reminder_texts(&app, &channel);
    assert_eq!(texts.len(), 1, "one reminder, not six: {texts:?}");
    assert!(
        texts[0].contains("Checkout is slow for 3 h.")
            && texts[0].contains(
                "_This reminder comes 2 h 30 min late: the bot was not running or was behind._"
            ),
        "{}",
        texts[0]
    );
    let incident = app.incident_in(&channel).await;
    let reminded = timeline_event(&app.store, incident.id, "reminded").await;
    let Entry::Reminded { late_ms } = reminded.entry else {
        panic!("{reminded:?}")
    };
    assert!(late_ms >= 150 * 60 * 1000, "{late_ms}");

    // The next one is an interval after the late one, and on time.
    later(&app, &clock, Duration::minutes(29)).await;
    assert_eq!(reminder_texts(&app, &channel).len(), 1);
    later(&app, &clock, Duration::minutes(1)).await;
    let texts = reminder_texts(&app, &channel);
    assert_eq!(texts.len(), 2);
    assert!(!texts[1].contains("late"), "{}", texts[1]);
}

#[tokio::test]
async fn nobody_coordinating_after_ten_minutes_gets_one_nudge_that_pings_the_coordinator_group() {
    let (app, clock) = spawn_timed_at(&[("COORDINATOR_GROUP", "S0COORD")], Utc::now(), |sim| {
        sim.add_usergroup("S0COORD", "coordinators", &[BOB, CAROL]);
    })
    .await;
    let nobody = app.declared(ALICE, "sev2 Checkout is slow").await;
    let taken = app.declared(ALICE, "sev3 Avatars load slowly").await;
    let nudges = |channel: &Channel| -> Vec<String> {
        app.sim
            .channel(&channel.id)
            .expect("channel")
            .messages
            .into_iter()
            .filter(|m| m.text.starts_with(":wave:"))
            .map(|m| m.text)
            .collect()
    };

    later(&app, &clock, Duration::minutes(5)).await;
    app.command_in(BOB, &taken.id, "coordinator me").await;
    later(&app, &clock, Duration::minutes(4)).await;
    assert!(nudges(&nobody).is_empty(), "not before 10 min");

    later(&app, &clock, Duration::minutes(1)).await;
    assert_eq!(
        nudges(&nobody),
        [
            ":wave: <!subteam^S0COORD> Nobody is coordinating *INC-1* — Checkout is slow yet — \
          `/inc coordinator me` takes it."
        ]
    );
    assert!(nudges(&taken).is_empty(), "bob coordinates INC-2");

    later(&app, &clock, Duration::hours(1)).await;
    assert_eq!(nudges(&nobody).len(), 1, "one nudge only");
    let incident = app.incident_in(&nobody).await;
    assert_eq!(
        count(
            &app.store.timeline(incident.id).await.expect("tl"),
            "nudged"
        ),
        1
    );
}

#[tokio::test]
async fn the_digest_comes_at_nine_berlin_time_on_both_sides_of_the_clock_change_and_never_lists_a_private_incident()
 {
    // Friday 27 March 2026, 07:30 UTC (08:30 in Berlin); the clocks go forward on Sunday.
    let friday = DateTime::parse_from_rfc3339("2026-03-27T07:30:00Z")
        .expect("time")
        .with_timezone(&Utc);
    let (app, clock) = spawn_timed_at(
        &[
            ("DIGEST_CRON", "0 0 9 * * Mon-Fri"),
            ("TZ", "Europe/Berlin"),
        ],
        friday,
        |_| {},
    )
    .await;
    let public = app.declared(ALICE, "sev2 Checkout is slow").await;
    app.declared(BOB, "sev3 Avatars load slowly").await;
    app.command_in(
        BOB,
        &app.declared(BOB, "sev3 Search is stale").await.id,
        "resolve",
    )
    .await;
    app.command(CAROL, "declare Payroll data exposed").await;
    let view = open_view(&app, CAROL).await;
    submit(
        &app,
        CAROL,
        &view,
        &[
            ("severity", ViewInput::Option("sev1".into())),
            ("private", ViewInput::Checked(vec!["private".into()])),
        ],
    )
    .await;
    app.settle().await;

    clock.advance_to(friday + Duration::minutes(29));
    app.settle().await;
    assert!(digests(&app).is_empty(), "not before 09:00 in Berlin");
    clock.advance_to(friday + Duration::minutes(30));
    app.settle().await;
    let posted = digests(&app);
    assert_eq!(posted.len(), 1, "08:00 UTC is 09:00 CET");
    let digest = &posted[0];
    assert!(
        digest.contains("*Open* (2)")
            && digest.contains(&format!(
                "• *INC-1* · SEV2 · investigating — Checkout is slow · <#{}> · coordinator <@U0ALICE>",
                public.id
            ))
            && digest.contains("*INC-2*"),
        "{digest}"
    );
    assert!(
        digest.contains(
            "*Resolved, postmortem not written yet* (1)\n• *INC-3* · SEV3 — Search is stale"
        ),
        "{digest}"
    );
    assert!(
        !digest.contains("INC-4") && !digest.contains("Payroll"),
        "the private incident is never listed: {digest}"
    );

    // Monday 30 March, after the change to summer time: 09:00 CEST is 07:00 UTC.
    let monday = DateTime::parse_from_rfc3339("2026-03-30T07:00:00Z")
        .expect("time")
        .with_timezone(&Utc);
    clock.advance_to(monday - Duration::minutes(1));
    app.settle().await;
    assert_eq!(digests(&app).len(), 1, "none over the weekend");
    clock.advance_to(monday);
    app.settle().await;
    assert_eq!(digests(&app).len(), 2, "Monday 07:00 UTC is 09:00 CEST");
}

#[tokio::test]
#[ignore = "needs PostgreSQL: run with --include-ignored and TEST_DATABASE_URL"]
async fn two_bot_processes_on_one_postgresql_fire_every_reminder_exactly_once() {
    let _server = required_postgres_server();
    // No announcements: they share one channel, paced at one post a second.
    let (mut app, clock) = spawn_timed(&[("ANNOUNCE_CHANNEL", "")]).await;
    app.add_replica().await;
    const INCIDENTS: usize = 24;
    let mut channels = Vec::new();
    for i in 0..INCIDENTS {
        let user = [ALICE, BOB, CAROL][i % 3];
        channels.push(app.declared(user, &format!("sev2 Shard {i} is slow")).await);
    }

    for round in 1..=3 {
        later(&app, &clock, Duration::minutes(30)).await;
        for channel in &channels {
            let texts = reminder_texts(&app, channel);
            assert_eq!(texts.len(), round, "#{}: {texts:?}", channel.name);
        }
    }
    let posts = app
        .sim
        .calls_to("chat.postMessage")
        .into_iter()
        .filter(|c| {
            c.params["text"]
                .as_str()
                .is_some_and(|t| t.contains("owed one"))
        })
        .count();
    assert_eq!(posts, 3 * INCIDENTS, "no reminder was even attempted twice");
}
