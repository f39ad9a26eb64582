//! Socket Mode as Slack runs it, through the strict simulator: Slack going away and coming
//! back, refreshing connections, refusing them, sockets going half-open, the 3-second ack
//! deadline and the Events API's redeliveries — and the bot staying honest about readiness and
//! answering every envelope on time.

use std::time::{Duration, Instant};

use slack_simulator::{DeliveryOutcome, SimEvent, SlackSimulator};
use sqlx::Connection;

use crate::helpers::*;

/// `apps.connections.open` calls Slack refused, in order.
fn refused_opens(sim: &SlackSimulator) -> Vec<slack_simulator::ApiCall> {
    sim.calls_to("apps.connections.open")
        .into_iter()
        .filter(|c| c.response["ok"] == false)
        .collect()
}

async fn answers_help(app: &TestApp) {
    let reply = app.command(ALICE, "help").await;
    assert!(reply.contains("/inc declare"), "{reply}");
}

#[tokio::test]
async fn readiness_turns_false_when_slack_closes_every_connection_and_refuses_new_ones() {
    let app = spawn_app().await;
    app.wait_readyz(200).await;

    app.sim.refuse_connections();
    let body = app.wait_readyz(503).await;
    assert_eq!(body["checks"]["slack"], "no Socket Mode connection is up");
    assert_eq!(body["checks"]["database"], "ok");
    assert!(
        app.sim
            .wait_until(WAIT, |s| !refused_opens(s).is_empty())
            .await,
        "the bot tried to connect again and was refused"
    );
    assert_eq!(app.readyz().await.0, 503, "not ready while Slack refuses");

    app.sim.accept_connections();
    app.wait_readyz(200).await;
}

#[tokio::test]
async fn the_bot_serves_again_soon_after_slack_accepts_connections_again() {
    let app = spawn_app().await;
    app.wait_readyz(200).await;

    // A short outage: it lasts until the bot has been refused three times.
    app.sim.refuse_connections();
    assert!(
        app.sim
            .wait_until(WAIT, |s| refused_opens(s).len() >= 3)
            .await,
        "the bot keeps trying while Slack refuses, well within {WAIT:?}"
    );
    app.sim.accept_connections();
    let refused = refused_opens(&app.sim);
    let spread = refused[2].received_at - refused[0].received_at;
    assert!(
        spread >= Duration::from_millis(20),
        "three attempts within {spread:?}: the bot retries without backing off"
    );

    // Slack fails a command sent while no connection is open: wait for one, then ask.
    app.wait_readyz(200).await;
    answers_help(&app).await;
    assert!(
        refused_opens(&app.sim).len() <= 6,
        "attempts during the outage: {}",
        refused_opens(&app.sim).len()
    );
}

#[tokio::test]
async fn a_refresh_opens_the_new_connection_before_the_old_one_closes() {
    let app = spawn_app().await;
    for reason in ["refresh_requested", "warning"] {
        let hellos = app.sim.hellos();
        let mark = app.sim.connection_history().len();
        app.sim.disconnect_all(reason);
        assert!(
            app.sim
                .wait_until(WAIT, |s| s.hellos() > hellos && s.connection_count() == 1)
                .await,
            "{reason}: the bot replaced the connection"
        );
        let changes = app.sim.connection_history().split_off(mark);
        assert!(
            changes.iter().all(|c| c.open_after >= 1),
            "{reason}: a moment without any connection: {changes:?}"
        );
        assert!(
            changes.first().is_some_and(|c| c.opened),
            "{reason}: the replacement opened first: {changes:?}"
        );
        answers_help(&app).await;
    }
    assert_eq!(app.readyz().await.0, 200);
}

#[tokio::test]
async fn a_half_open_socket_is_replaced() {
    let app = spawn_app().await;
    let hellos = app.sim.hellos();

    app.sim.half_open_connections();
    assert!(
        app.sim.wait_until(WAIT, |s| s.hellos() > hellos).await,
        "the bot noticed the silent socket and connected again"
    );
    // Slack notices too, and stops sending envelopes into the dead socket.
    assert!(
        app.sim
            .wait_until(WAIT, |s| s.connection_count() == 1)
            .await
    );
    answers_help(&app).await;
    app.wait_readyz(200).await;
}

/// Slack turns every new connection away with `reason`: the bot's attempts are spread out,
/// and it serves again once Slack lets it.
async fn a_refusal_is_backed_off_not_stormed(reason: &str) {
    let app = spawn_app().await;
    let hellos = app.sim.hellos();
    app.sim.turn_away_connections(reason);
    let started = Instant::now();
    app.sim.disconnect_all(reason);
    assert!(
        app.sim.wait_until(WAIT, |s| s.hellos() >= hellos + 4).await,
        "{reason}: the bot kept trying"
    );
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(250),
        "{reason}: four attempts in {took:?} — a storm"
    );

    let before = app.sim.hellos();
    app.sim.welcome_connections();
    // Slack fails a command sent while no connection is open: wait for a welcomed one.
    assert!(
        app.sim
            .wait_until(WAIT, |s| s.hellos() > before && s.connection_count() >= 1)
            .await,
        "{reason}: the bot connected once Slack let it"
    );
    answers_help(&app).await;
}

#[tokio::test]
async fn too_many_websockets_is_backed_off_not_stormed() {
    a_refusal_is_backed_off_not_stormed("too_many_websockets").await;
}

#[tokio::test]
async fn link_disabled_is_backed_off_not_stormed() {
    a_refusal_is_backed_off_not_stormed("link_disabled").await;
}

/// A transaction holding the database's write lock, as a long migration or a stuck session
/// would: writes wait behind it, reads go on (SQLite WAL; PostgreSQL `EXCLUSIVE`).
enum WritesHeld {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

async fn hold_writes(db: &TestDb) -> WritesHeld {
    if db.url.starts_with("sqlite") {
        let mut conn = sqlx::SqliteConnection::connect(&db.url)
            .await
            .expect("connect");
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut conn)
            .await
            .expect("write lock");
        WritesHeld::Sqlite(conn)
    } else {
        let mut conn = sqlx::PgConnection::connect(&db.url).await.expect("connect");
        sqlx::query("BEGIN")
            .execute(&mut conn)
            .await
            .expect("begin");
        // Every recorded command, submission and event writes its idempotency key.
        sqlx::query("LOCK TABLE idempotency_keys IN EXCLUSIVE MODE")
            .execute(&mut conn)
            .await
            .expect("lock");
        WritesHeld::Postgres(conn)
    }
}

impl WritesHeld {
    async fn release(self) {
        match self {
            WritesHeld::Sqlite(mut conn) => {
                sqlx::query("ROLLBACK")
                    .execute(&mut conn)
                    .await
                    .expect("release");
            }
            WritesHeld::Postgres(mut conn) => {
                sqlx::query("ROLLBACK")
                    .execute(&mut conn)
                    .await
                    .expect("release");
            }
        }
    }
}

#[tokio::test]
async fn a_slow_envelope_never_holds_another_envelopes_ack() {
    let app = spawn_app().await;
    let held = hold_writes(&app.db).await;

    let slow = app
        .sim
        .slash_command(ALICE, &app.general, "declare sev2 Checkout is slow");
    let quick = app.sim.slash_command(ALICE, &app.general, "help");
    let quick_ack = app
        .sim
        .ack(&quick.envelope_id, WAIT)
        .await
        .expect("help is answered while the declaration waits for the database");
    assert!(ack_text(&quick_ack).contains("/inc declare"));
    assert!(
        app.sim
            .ack(&slow.envelope_id, Duration::ZERO)
            .await
            .is_none(),
        "the declaration is still waiting"
    );

    held.release().await;
    let slow_ack = app
        .sim
        .ack(&slow.envelope_id, WAIT)
        .await
        .expect("the declaration is answered once the database is free");
    assert!(
        ack_text(&slow_ack).contains("Declared *INC-1*"),
        "{slow_ack:?}"
    );
    assert!(quick_ack.at < slow_ack.at);
}

#[tokio::test]
async fn an_event_acked_late_is_redelivered_and_recorded_once() {
    let app = spawn_app().await;
    let channel = app.declared(ALICE, "sev2 Checkout is slow").await;
    let incident = app.incident_in(&channel).await;
    let finding = app
        .sim
        .post_as(BOB, &channel.id, "Deploy 4711 doubled DB connections");
    let held = hold_writes(&app.db).await;

    let pinned = app
        .sim
        .pin(BOB, &channel.id, &finding)
        .expect("pin_added is delivered");
    // The bot cannot record it within 3 s: Slack gives up on that delivery and sends the
    // event again.
    assert!(
        app.sim
            .wait_until(WAIT, |s| s.deliveries(&pinned.envelope_id).len() >= 2)
            .await,
        "Slack redelivers the event"
    );
    let deliveries = app.sim.deliveries(&pinned.envelope_id);
    assert_eq!(deliveries[0].outcome, DeliveryOutcome::Missed);
    assert_eq!(deliveries[1].attempt, 1, "retry_attempt 1");

    held.release().await;
    let acks = |s: &SlackSimulator| {
        s.events()
            .iter()
            .filter(|e| matches!(e, SimEvent::Ack(a) if a.envelope_id == pinned.envelope_id))
            .count()
    };
    assert!(
        app.sim.wait_until(WAIT, |s| acks(s) >= 2).await,
        "both deliveries were handled"
    );
    assert!(
        app.sim.ack(&pinned.envelope_id, WAIT).await.is_some(),
        "a delivery was acked in time"
    );
    let pins = timeline_kinds(&app.store, incident.id)
        .await
        .into_iter()
        .filter(|k| *k == "pinned")
        .count();
    assert_eq!(pins, 1, "the pin is on the timeline once");
}

#[tokio::test]
async fn events_of_one_channel_are_recorded_in_the_order_they_happened() {
    let app = spawn_app().await;
    let channel = app.declared(ALICE, "sev2 Checkout is slow").await;
    let incident = app.incident_in(&channel).await;
    let finding = app
        .sim
        .post_as(BOB, &channel.id, "Deploy 4711 doubled DB connections");
    // The pin cannot be recorded yet; the edit and the unpin, back to back, only make sense
    // after it.
    let held = hold_writes(&app.db).await;
    let pinned = app.sim.pin(BOB, &channel.id, &finding).expect("pin_added");
    let edited = app
        .sim
        .edit(
            BOB,
            &channel.id,
            &finding,
            "Deploy 4711 tripled DB connections",
        )
        .expect("message_changed");
    let unpinned = app
        .sim
        .unpin(BOB, &channel.id, &finding)
        .expect("pin_removed");
    assert!(
        app.sim
            .ack(&edited.envelope_id, Duration::from_millis(500))
            .await
            .is_none(),
        "the edit waits for the pin (answered now, it would find nothing pinned)"
    );

    held.release().await;
    for envelope in [&pinned, &edited, &unpinned] {
        app.sim
            .ack(&envelope.envelope_id, WAIT)
            .await
            .expect("acked in time");
    }
    let kinds: Vec<&str> = timeline_kinds(&app.store, incident.id)
        .await
        .into_iter()
        .filter(|k| ["pinned", "pin_edited", "unpinned"].contains(k))
        .collect();
    assert_eq!(kinds, ["pinned", "pin_edited", "unpinned"]);
}

#[tokio::test]
async fn the_bot_goes_on_reading_while_slack_is_not_reading_its_acks() {
    // Each `/inc help` ack carries the whole help text: a few thousand of them fill the
    // socket's buffers, so the bot's writes block while Slack is not reading.
    const HELPS: usize = 3000;
    // Shorter than the bot's limit on one write (10 s), after which it would give up the
    // connection.
    const PAUSE: Duration = Duration::from_secs(8);
    let app = spawn_app().await;
    let hellos = app.sim.hellos();

    app.sim.pause_reading(PAUSE);
    let paused = Instant::now();
    for _ in 0..HELPS {
        app.sim.slash_command(ALICE, &app.general, "help");
    }
    app.sim
        .slash_command(ALICE, &app.general, "declare sev2 Checkout is slow");
    let mut recorded = false;
    while !recorded && paused.elapsed() < PAUSE - Duration::from_millis(500) {
        recorded = !app.store.open_incidents().await.expect("read").is_empty();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        recorded,
        "the declaration behind {HELPS} commands is read and recorded while Slack reads no ack"
    );

    // Once Slack reads again, every ack arrives on the same connection.
    assert!(
        app.sim
            .wait_until(WAIT, |s| {
                let (in_time, late) = s.ack_counts();
                in_time + late > HELPS
            })
            .await,
        "every envelope acked: {:?}",
        app.sim.ack_counts()
    );
    assert_eq!(
        app.sim.hellos(),
        hellos,
        "the connection was never given up"
    );
}
