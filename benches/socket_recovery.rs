//! Socket Mode recovery: how fast the bot tells the truth about its connections and gets back
//! to serving, through the simulator's Socket Mode and the bot's real HTTP side:
//!
//! 1. **readiness** — Slack closes every connection and refuses new ones: time from the last
//!    connection closing to `/readyz` answering 503, asked again 1 ms after each answer (so
//!    the figure includes up to one request's own time, which is reported too);
//! 2. **recovery** — after an outage of `--outage-ms` (default 2000), Slack accepts connections
//!    again and a `/inc help` is sent at that moment: time to its ack, and to the bot's hello;
//! 3. **refresh** — Slack sends `disconnect` (`refresh_requested`): time with no connection at
//!    all (the simulator's own record of connections opening and closing), and how long the old
//!    and the new connection overlapped.
//!
//! Each outage starts after the bot's connection has been up for 11 s, so every trial begins
//! from a healthy connection (the backoff starts over after one), as separate outages would.
//!
//! `cargo bench --bench socket_recovery [-- --trials N --outage-ms N --connections N]` (SQLite
//! in a temporary file; `BENCH_DATABASE_URL` for PostgreSQL). Figures go to
//! docs/performance.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

use incident_commander::app::{App, SystemClock};
use slack_simulator::{SimulatorConfig, SlackSimulator};

mod common;
use common::{arg, report};

const WAIT: Duration = Duration::from_secs(60);
/// Longer than the listener's 10 s after which a connection counts as healthy.
const SETTLE: Duration = Duration::from_secs(11);

#[tokio::main]
async fn main() {
    incident_commander::install_crypto_provider();
    let trials: usize = arg("--trials").unwrap_or(20);
    let outage = Duration::from_millis(arg("--outage-ms").unwrap_or(2000) as u64);
    let connections = arg("--connections").unwrap_or(1);

    let sim = SlackSimulator::start(SimulatorConfig::default())
        .await
        .expect("simulator");
    sim.add_user("U0ALICE", "alice");
    let general = sim.add_channel("general", false, false);
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = common::database_url(&dir);
    let connections_var = connections.to_string();
    let settings = common::settings(
        &sim,
        &database_url,
        &[("SLACK_SOCKET_CONNECTIONS", connections_var.as_str())],
    );
    let app = App::build_with_clock(settings, Arc::new(SystemClock))
        .await
        .expect("app");
    let readyz = format!("http://{}/readyz", app.http_addr());
    let backend = app.store().backend();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run(async {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();
    let status = |http: &reqwest::Client| {
        let request = http.get(&readyz).send();
        async move { request.await.map(|r| r.status().as_u16()).unwrap_or(0) }
    };
    let all_up = |s: &SlackSimulator| s.connection_count() == connections;
    assert!(sim.wait_until(WAIT, all_up).await, "connected");

    let mut probe = Vec::new();
    let mut unready = Vec::new();
    let mut serving = Vec::new();
    let mut hello = Vec::new();
    let mut attempts = Vec::new();
    for _ in 0..trials {
        tokio::time::sleep(SETTLE).await;
        for _ in 0..5 {
            let asked = Instant::now();
            assert_eq!(status(&http).await, 200, "ready before the outage");
            probe.push(asked.elapsed());
        }
        let refused_before = refused(&sim);
        sim.refuse_connections();
        while status(&http).await != 503 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let seen = Instant::now();
        assert_eq!(sim.connection_count(), 0, "every connection closed");
        let closed = last_close(&sim);
        // Zero when the bot noticed before the simulator's own record of the close.
        unready.push(seen.saturating_duration_since(closed));

        tokio::time::sleep(outage.saturating_sub(closed.elapsed())).await;
        let hellos = sim.hellos();
        sim.accept_connections();
        let back = Instant::now();
        attempts.push(refused(&sim) - refused_before);
        let envelope = sim.slash_command("U0ALICE", &general, "help");
        let ack = sim.ack(&envelope.envelope_id, WAIT).await.expect("acked");
        serving.push(ack.at.duration_since(back));
        assert!(sim.wait_until(WAIT, |s| s.hellos() > hellos).await);
        let first_hello = sim
            .connection_history()
            .iter()
            .find(|c| c.opened && c.at > back)
            .map(|c| c.at.duration_since(back))
            .unwrap_or_default();
        hello.push(first_hello);
        assert!(sim.wait_until(WAIT, all_up).await, "reconnected");
    }

    let mut gaps = Vec::new();
    let mut overlaps = Vec::new();
    for _ in 0..trials {
        let hellos = sim.hellos();
        let mark = sim.connection_history().len();
        sim.disconnect_all("refresh_requested");
        assert!(
            sim.wait_until(WAIT, |s| s.hellos() >= hellos + connections as u64
                && s.connection_count() == connections)
                .await,
            "replaced"
        );
        let changes = sim.connection_history().split_off(mark);
        // Time spent with no connection open, from the simulator's record.
        let mut without = Duration::ZERO;
        for pair in changes.windows(2) {
            if pair[0].open_after == 0 {
                without += pair[1].at.duration_since(pair[0].at);
            }
        }
        gaps.push(without);
        let opened = changes.iter().find(|c| c.opened).map(|c| c.at);
        let closed = changes.iter().find(|c| !c.opened).map(|c| c.at);
        if let (Some(opened), Some(closed)) = (opened, closed) {
            overlaps.push(closed.saturating_duration_since(opened));
        }
    }

    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "backend {backend}, {connections} Socket Mode connection(s), {cores} cores available, \
         {trials} trials, outages of {outage:?}"
    );
    report("one /readyz request (ready)", &mut probe);
    report("last connection closed → /readyz 503", &mut unready);
    report("Slack accepts again → /inc help acked", &mut serving);
    report("Slack accepts again → hello", &mut hello);
    println!(
        "  refused apps.connections.open per outage: min {} max {}",
        attempts.iter().min().unwrap_or(&0),
        attempts.iter().max().unwrap_or(&0)
    );
    report("refresh: time without any connection", &mut gaps);
    report("refresh: old and new connection both open", &mut overlaps);
    let _ = stop.send(());
    let _ = running.await;
}

/// `apps.connections.open` calls Slack refused so far.
fn refused(sim: &SlackSimulator) -> usize {
    sim.calls_to("apps.connections.open")
        .iter()
        .filter(|c| c.response["ok"] == false)
        .count()
}

/// When the last connection closed.
fn last_close(sim: &SlackSimulator) -> Instant {
    sim.connection_history()
        .iter()
        .rev()
        .find(|c| !c.opened && c.open_after == 0)
        .map(|c| c.at)
        .expect("a close")
}
