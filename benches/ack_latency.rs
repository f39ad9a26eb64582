//! Ack latency: how long a `/inc` slash command waits for its ack — through the simulator's
//! WebSocket, slack-morphism's listener, the bot's handler and a real database — and what the
//! job worker does with declarations:
//!
//! 1. reads: `/inc list`, one after another;
//! 2. burst: declarations back to back, as fast as acks return — ack latency under load, and how
//!    many incidents a second the worker fully sets up (the queue builds, so per-incident times
//!    here measure queueing, not the bot);
//! 3. paced: declarations at a steady rate below that capacity — time from the command to its
//!    card being pinned, i.e. the bot's own work per incident.
//!
//! `cargo bench --bench ack_latency [-- --reads N --burst N --paced N --interval-ms N --http]`
//! (SQLite in a temporary file). Set `BENCH_DATABASE_URL` to a PostgreSQL database to measure that
//! backend instead. `--http` runs the bot with `SLACK_TRANSPORT=http`: the simulator POSTs each
//! envelope, signed, to the bot's request URLs, and the ack is the HTTP answer — the same
//! handler measured through the other transport. Figures go to docs/performance.md.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use incident_commander::app::{App, SystemClock};
use slack_simulator::{SimulatorConfig, SlackSimulator};

mod common;
use common::{arg, report};

const WAIT: Duration = Duration::from_secs(30);

#[tokio::main]
async fn main() {
    incident_commander::install_crypto_provider();
    let reads: usize = arg("--reads").unwrap_or(500);
    let burst: usize = arg("--burst").unwrap_or(200);
    let paced: usize = arg("--paced").unwrap_or(50);
    let interval = Duration::from_millis(arg("--interval-ms").unwrap_or(100) as u64);
    let http = std::env::args().any(|a| a == "--http");
    const SIGNING_SECRET: &str = "8f742231b10e8888abcd99a1b2c3d4e5";

    let sim = SlackSimulator::start(SimulatorConfig::default())
        .await
        .expect("simulator");
    sim.add_user("U0ALICE", "alice");
    let general = sim.add_channel("general", false, false);
    sim.add_channel("incidents", false, true);
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = common::database_url(&dir);
    let mut extra = vec![("ANNOUNCE_CHANNEL", "#incidents")];
    if http {
        extra.extend([
            ("SLACK_TRANSPORT", "http"),
            ("SLACK_SIGNING_SECRET", SIGNING_SECRET),
        ]);
    }
    let settings = common::settings(&sim, &database_url, &extra);
    let app = App::build_with_clock(settings, Arc::new(SystemClock))
        .await
        .expect("app");
    let backend = app.store().backend();
    let http_addr = app.http_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run(async {
        let _ = stopped.await;
    }));
    if http {
        // The HTTP side is bound before `run`; the request URLs lead straight to it.
        sim.use_request_urls(&[format!("http://{http_addr}")], SIGNING_SECRET);
    } else {
        assert!(sim.wait_connected(WAIT).await, "connected");
    }

    let ack = |text: String| {
        let sim = sim.clone();
        let general = general.clone();
        async move {
            let start = Instant::now();
            let envelope = sim.slash_command("U0ALICE", &general, &text);
            let ack = sim.ack(&envelope.envelope_id, WAIT).await.expect("ack");
            ack.at.duration_since(start)
        }
    };

    for _ in 0..20 {
        ack("list".into()).await;
    }
    let mut list = Vec::with_capacity(reads);
    for _ in 0..reads {
        list.push(ack("list".into()).await);
    }
    let mut declare = Vec::with_capacity(burst);
    let started = Instant::now();
    for n in 0..burst {
        declare.push(ack(format!("declare sev2 Burst incident {n}")).await);
    }
    let pinned = |n: usize| move |s: &SlackSimulator| s.calls_to("pins.add").len() >= n;
    assert!(
        sim.wait_until(Duration::from_secs(600), pinned(burst))
            .await,
        "burst finished"
    );
    let drained = started.elapsed();

    let mut ticks = tokio::time::interval(interval);
    for n in 0..paced {
        ticks.tick().await;
        let sim = sim.clone();
        let general = general.clone();
        tokio::spawn(async move {
            sim.slash_command(
                "U0ALICE",
                &general,
                &format!("declare sev2 Paced incident {n}"),
            );
        });
    }
    assert!(
        sim.wait_until(Duration::from_secs(600), pinned(burst + paced))
            .await,
        "paced declarations finished"
    );

    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let transport = if http {
        "HTTP request URLs (signed, one keep-alive client)"
    } else {
        "one Socket Mode connection"
    };
    println!("backend {backend}, {transport}, {cores} cores available");
    report("/inc list ack (read, one query)", &mut list);
    report(
        "/inc declare ack, burst (one write transaction)",
        &mut declare,
    );
    println!(
        "  burst: {burst} declarations acked and fully set up in {:.1} s ({:.1} incidents/s)",
        drained.as_secs_f64(),
        burst as f64 / drained.as_secs_f64()
    );
    report(
        &format!("paced, one per {interval:?}: declare → card pinned"),
        &mut time_to_pinned(&sim, "paced-incident-"),
    );
    let _ = stop.send(());
    let _ = running.await;
}

/// From each declaration's envelope to its card being pinned, for titles whose slug starts
/// with `slug_prefix`.
fn time_to_pinned(sim: &SlackSimulator, slug_prefix: &str) -> Vec<Duration> {
    use slack_simulator::SimEvent;
    let mut sent: HashMap<String, Instant> = HashMap::new();
    let mut channel_of_title: HashMap<String, String> = HashMap::new();
    let mut out = Vec::new();
    for event in sim.events() {
        match event {
            SimEvent::EnvelopeSent { envelope, at, .. } => {
                if let Some(text) = envelope.payload["text"].as_str()
                    && let Some(title) = text.strip_prefix("declare sev2 ")
                    && incident_commander::domain::slug::slug(title).starts_with(slug_prefix)
                {
                    sent.insert(incident_commander::domain::slug::slug(title), at);
                }
            }
            SimEvent::Call(call)
                if call.method == "conversations.create" && call.response["ok"] == true =>
            {
                let name = call.response["channel"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let id = call.response["channel"]["id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                channel_of_title.insert(id, name);
            }
            SimEvent::Call(call) if call.method == "pins.add" => {
                let channel = call.params["channel"].as_str().unwrap_or_default();
                let Some(name) = channel_of_title.get(channel) else {
                    continue;
                };
                let slug = name.splitn(3, '-').nth(2).unwrap_or_default();
                if let Some(start) = sent.get(slug) {
                    out.push(call.answered_at.duration_since(*start));
                }
            }
            _ => {}
        }
    }
    out
}
