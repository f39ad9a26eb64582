//! Several bot processes sharing one PostgreSQL database and one workspace: Slack sends each
//! envelope to one connection, any replica's worker may run any job, and nothing is done twice.
//! SQLite is one process by design, so these are `#[ignore]`d and run with
//! `cargo test -- --include-ignored` against `TEST_DATABASE_URL` (`.ci/run` does).

use slack_simulator::SimEvent;

use crate::helpers::*;

/// The bot twice over, on one PostgreSQL database.
async fn spawn_two_replicas() -> TestApp {
    required_postgres_server();
    let mut app = spawn_app().await;
    app.add_replica().await;
    app
}

#[tokio::test]
#[ignore = "needs PostgreSQL: TEST_DATABASE_URL and --include-ignored"]
async fn two_replicas_declare_ten_incidents_and_do_every_slack_step_exactly_once() {
    let app = spawn_two_replicas().await;
    assert_eq!(app.sim.connection_count(), 2);

    // The simulator deals envelopes round robin, so both replicas take commands.
    for n in 1..=10 {
        let reply = app
            .command(ALICE, &format!("declare sev2 Replica test {n}"))
            .await;
        assert!(reply.contains("Declared *INC-"), "{reply}");
    }
    app.settle().await;

    let incidents = app.store.open_incidents().await.expect("open");
    let mut numbers: Vec<i64> = incidents.iter().map(|i| i.number).collect();
    numbers.sort();
    assert_eq!(numbers, (1..=10).collect::<Vec<i64>>());
    for method in [
        "conversations.create",
        "conversations.invite",
        "conversations.setTopic",
        "pins.add",
    ] {
        assert_eq!(app.ok_calls(method), 10, "{method} ran once per incident");
    }
    assert_eq!(
        app.sim.calls_to("chat.postMessage").len(),
        20,
        "one card and one announcement each"
    );
    for incident in &incidents {
        let channel = app
            .sim
            .channel(incident.channel_id.as_deref().expect("channel"))
            .expect("exists");
        assert_eq!(channel.pins.len(), 1);
        assert_eq!(channel.messages.len(), 1);
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL: TEST_DATABASE_URL and --include-ignored"]
async fn a_redelivery_to_the_other_replica_yields_one_incident() {
    let app = spawn_two_replicas().await;
    let envelope = app
        .sim
        .slash_command(ALICE, &app.general, "declare sev1 Checkout is down");
    app.sim
        .ack(&envelope.envelope_id, WAIT)
        .await
        .expect("first ack");
    // Round robin: the same envelope now goes to the other connection, i.e. the other process.
    app.sim.send(&envelope);
    assert!(
        app.sim
            .wait_until(WAIT, |s| {
                s.events()
                    .iter()
                    .filter(
                        |e| matches!(e, SimEvent::Ack(a) if a.envelope_id == envelope.envelope_id),
                    )
                    .count()
                    == 2
            })
            .await,
        "both deliveries acked"
    );
    app.settle().await;
    assert_eq!(app.store.open_incidents().await.expect("open").len(), 1);
    app.only_incident_channel("inc-1-checkout-is-down");
    assert_eq!(app.ok_calls("conversations.create"), 1);
}
