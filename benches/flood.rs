//! Flood: how many envelopes a second the bot acks when Slack sends them all at once, against a
//! client that does nothing but ack — the same simulator, the same machine, the same run, so the
//! ratio says what the bot's own work costs on the ack path.
//!
//! Each trial starts a fresh simulator, connects one client over one Socket Mode connection,
//! sends `--envelopes` envelopes without waiting (`/inc help`: parsed and answered from the
//! command table, no database; `/inc list` with `--list`: one read each), and times until the
//! last is acked. The null client reads each frame as JSON and writes `{"envelope_id": …}` back.
//!
//! `cargo bench --bench flood [-- --envelopes N --trials N --list 1]` (SQLite in a temporary
//! file; `BENCH_DATABASE_URL` for PostgreSQL). Figures go to docs/performance.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use incident_commander::app::{App, SystemClock};
use slack_simulator::{SimulatorConfig, SlackSimulator};
use tokio_tungstenite::tungstenite::Message;

mod common;
use common::arg;

const WAIT: Duration = Duration::from_secs(120);

#[tokio::main]
async fn main() {
    incident_commander::install_crypto_provider();
    let envelopes = arg("--envelopes").unwrap_or(20_000);
    let trials = arg("--trials").unwrap_or(3);
    let text = if arg("--list") == Some(1) {
        "list"
    } else {
        "help"
    };

    let mut null = Vec::new();
    let mut bot = Vec::new();
    for _ in 0..trials {
        null.push(flood_null(envelopes, text).await);
        bot.push(flood_bot(envelopes, text).await);
    }
    let rate = |d: &(Duration, usize)| envelopes as f64 / d.0.as_secs_f64();
    println!("{envelopes} `/inc {text}` envelopes sent at once over one connection, acks/s:");
    for (n, (a, b)) in null.iter().zip(&bot).enumerate() {
        println!(
            "  trial {n}: null client {:>8.0}/s   bot {:>8.0}/s   ratio {:.2}   late acks: null {}, bot {}",
            rate(a),
            rate(b),
            rate(b) / rate(a),
            a.1,
            b.1
        );
    }
    let best = |v: &[(Duration, usize)]| v.iter().map(rate).fold(0.0, f64::max);
    println!(
        "  best: null client {:.0}/s, bot {:.0}/s, ratio {:.2}",
        best(&null),
        best(&bot),
        best(&bot) / best(&null)
    );
}

async fn simulator() -> (SlackSimulator, String) {
    let sim = SlackSimulator::start(SimulatorConfig::default())
        .await
        .expect("simulator");
    sim.add_user("U0ALICE", "alice");
    let general = sim.add_channel("general", false, false);
    (sim, general)
}

/// Sends `n` commands at once and waits for every ack: how long that took, and how many acks
/// came after Slack's 3 s deadline (Slack would have told the person the command failed).
async fn flood(
    who: &str,
    sim: &SlackSimulator,
    channel: &str,
    n: usize,
    text: &str,
) -> (Duration, usize) {
    let (before, late_before) = sim.ack_counts();
    let started = Instant::now();
    for _ in 0..n {
        sim.slash_command("U0ALICE", channel, text);
    }
    let deadline = started + WAIT;
    loop {
        let (acked, late) = sim.ack_counts();
        if acked - before + late - late_before >= n {
            return (started.elapsed(), late - late_before);
        }
        if Instant::now() > deadline {
            let connections = sim.connection_count();
            let history = sim.connection_history();
            panic!(
                "{who}: {} of {n} acked; {connections} connection(s) open; {} hello(s); {history:?}",
                acked - before,
                sim.hellos()
            );
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

async fn flood_bot(n: usize, text: &str) -> (Duration, usize) {
    let (sim, general) = simulator().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = common::settings(&sim, &common::database_url(&dir), &[]);
    let app = App::build_with_clock(settings, Arc::new(SystemClock))
        .await
        .expect("app");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run(async {
        let _ = stopped.await;
    }));
    assert!(sim.wait_connected(WAIT).await, "connected");
    let took = flood("bot", &sim, &general, n, text).await;
    let _ = stop.send(());
    let _ = running.await;
    sim.shutdown().await;
    took
}

async fn flood_null(n: usize, text: &str) -> (Duration, usize) {
    let (sim, general) = simulator().await;
    let token = SimulatorConfig::default().app_token;
    let opened: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/apps.connections.open", sim.api_url()))
        .bearer_auth(token)
        .send()
        .await
        .expect("apps.connections.open")
        .json()
        .await
        .expect("its answer");
    let url = opened["url"].as_str().expect("a URL").to_string();
    let (socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connected");
    let client = tokio::spawn(async move {
        let (mut sink, mut stream) = socket.split();
        while let Some(Ok(frame)) = stream.next().await {
            let Message::Text(body) = frame else {
                continue;
            };
            let Ok(envelope) = serde_json::from_str::<serde_json::Value>(&body) else {
                continue;
            };
            if let Some(id) = envelope["envelope_id"].as_str() {
                let ack = serde_json::json!({ "envelope_id": id }).to_string();
                if sink.send(Message::Text(ack.into())).await.is_err() {
                    break;
                }
            }
        }
    });
    assert!(sim.wait_connected(WAIT).await, "connected");
    let took = flood("null client", &sim, &general, n, text).await;
    client.abort();
    sim.shutdown().await;
    took
}
