//! Reminders at scale: 10,000 open incidents whose update reminders fall due within one minute.
//!
//! 1. **declare** — the incidents are declared through Slack (`/inc declare sev2 …`) while the
//!    bot's clock is held, one clock second per batch, so their declarations, and so their
//!    reminders 30 minutes later, spread over exactly one minute; then every channel is set up;
//! 2. **idle** — the clock is moved past the nudges (each finds a coordinator and posts nothing)
//!    to just before the first reminder, and the process is watched for 20 s: CPU and resident
//!    memory with 10,000 reminders armed and none due;
//! 3. **on time** — the clock runs into the minute where the reminders fall due: lateness, from
//!    each reminder's due time to Slack answering its `chat.postMessage`, p50/p99;
//! 4. **backlog** — the clock jumps past the whole next round, so 10,000 reminders are due at
//!    once: how many the worker claims and posts per second.
//!
//! `cargo bench --bench reminders [-- --incidents N --idle-s N]` (SQLite in a temporary file);
//! `BENCH_DATABASE_URL=postgres://…` for PostgreSQL (an empty database). The process includes the
//! simulator, so CPU and memory figures are upper bounds for the bot. Figures go to
//! docs/performance.md.

mod common;
use common::{arg, report};

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use incident_commander::app::{App, Clock, MovableClock};
use incident_commander::config::LogFormat;
use incident_commander::store::Store;
use slack_simulator::{SimulatorConfig, SlackSimulator};
use tokio::task::JoinSet;

/// Declarations in flight at once.
const IN_FLIGHT: usize = 16;
const INTERVAL: chrono::Duration = chrono::Duration::minutes(30);
const SPREAD_S: usize = 60;

#[tokio::main]
async fn main() {
    incident_commander::install_crypto_provider();
    // BENCH_LOG=warn shows slow statements (sqlx warns past 1 s); default: errors only.
    let filter = std::env::var("BENCH_LOG").unwrap_or_else(|_| "error".into());
    incident_commander::telemetry::init_with(&filter, LogFormat::Pretty);
    let incidents = arg("--incidents").unwrap_or(10_000);
    let idle_s = arg("--idle-s").unwrap_or(20) as u64;

    let sim = SlackSimulator::start(SimulatorConfig::default())
        .await
        .expect("simulator");
    sim.add_user("U0ALICE", "alice");
    let general = sim.add_channel("general", false, false);
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = common::database_url(&dir);
    // No announce channel (10,000 announcements would queue at one post a second) and no digest.
    let settings = common::settings(&sim, &database_url, &[("DIGEST_CRON", "")]);
    let clock = Arc::new(MovableClock::new());
    let app = App::build_with_clock(settings, clock.clone())
        .await
        .expect("app");
    let store = app.store();
    let backend = store.backend();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run(async {
        let _ = stopped.await;
    }));
    assert!(sim.wait_connected(Duration::from_secs(30)).await);
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("backend {backend}, {incidents} incidents, {cores} cores available");

    // 1. Declare, one held clock second per batch.
    let started = Instant::now();
    clock.hold();
    let first_declared = clock.now();
    let per_second = incidents.div_ceil(SPREAD_S);
    let mut n = 0;
    while n < incidents {
        let mut batch = JoinSet::new();
        for i in n..(n + per_second).min(incidents) {
            let sim = sim.clone();
            let general = general.clone();
            batch.spawn(async move {
                let envelope = sim.slash_command(
                    "U0ALICE",
                    &general,
                    &format!("declare sev2 Shard {i} is slow"),
                );
                sim.ack(&envelope.envelope_id, Duration::from_secs(60))
                    .await
                    .expect("declaration acked");
            });
            if batch.len() >= IN_FLIGHT {
                batch.join_next().await;
            }
        }
        while batch.join_next().await.is_some() {}
        n += per_second;
        clock.advance(chrono::Duration::seconds(1));
    }
    let acked = started.elapsed();
    clock.resume();
    settle(&store, &*clock).await;
    println!(
        "  declared {incidents} in {:.1} s, every channel set up after {:.1} s",
        acked.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    let due: HashMap<i64, DateTime<Utc>> = store
        .open_incidents()
        .await
        .expect("open")
        .into_iter()
        .map(|i| (i.number, i.last_update_at + INTERVAL))
        .collect();
    assert_eq!(due.len(), incidents);
    let last_due = *due.values().max().expect("incidents");

    // 2. Idle: past the nudges, before the reminders.
    clock.advance_to(first_declared + chrono::Duration::minutes(12));
    settle(&store, &*clock).await;
    clock.advance_to(first_declared + INTERVAL - chrono::Duration::seconds(idle_s as i64 + 10));
    let armed = store.job_counts().await.expect("counts");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (cpu_before, wall_before) = (cpu_time(), Instant::now());
    tokio::time::sleep(Duration::from_secs(idle_s)).await;
    let cpu = cpu_time() - cpu_before;
    let wall = wall_before.elapsed();
    println!(
        "  idle, {} reminders armed: {:.2}% of one core over {idle_s} s, resident memory {} MiB",
        armed.pending,
        100.0 * cpu.as_secs_f64() / wall.as_secs_f64(),
        rss_kib() / 1024
    );

    // 3. On time: the clock runs into the minute where they fall due.
    let reference = (Instant::now(), clock.now());
    let mark = last_call(&sim);
    wait_until(&store, &*clock, last_due).await;
    let lateness = reminder_lateness(&sim, mark, &due, reference);
    assert_eq!(lateness.len(), incidents, "one reminder each");
    let mut lateness: Vec<Duration> = lateness.into_values().collect();
    report("due → reminder posted, due over one minute", &mut lateness);

    // 4. Backlog: every reminder of the next round due at once.
    let mark = last_call(&sim);
    clock.advance_to(last_due + INTERVAL + chrono::Duration::seconds(5));
    let jumped = Instant::now();
    settle(&store, &*clock).await;
    let drained = jumped.elapsed();
    let posted = reminder_posts(&sim, mark).len();
    assert_eq!(posted, incidents, "one reminder each, again");
    println!(
        "  backlog: {posted} reminders due at once, claimed and posted in {:.1} s ({:.0} claims/s)",
        drained.as_secs_f64(),
        posted as f64 / drained.as_secs_f64()
    );

    let _ = stop.send(());
    let _ = running.await;
}

/// The sequence number of the simulator's latest call.
fn last_call(sim: &SlackSimulator) -> u64 {
    sim.calls().iter().map(|c| c.seq).max().unwrap_or(0)
}

/// Waits until no job is due (or retrying) by the bot's clock.
async fn settle(store: &Store, clock: &dyn Clock) {
    while store
        .queue_figures(clock.now())
        .await
        .expect("jobs")
        .pending
        > 0
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until the bot's clock has passed `at` and everything due by then is done.
async fn wait_until(store: &Store, clock: &dyn Clock, at: DateTime<Utc>) {
    while clock.now() <= at {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    settle(store, clock).await;
}

/// The reminders posted since call `mark`: the incident number and when Slack answered.
fn reminder_posts(sim: &SlackSimulator, mark: u64) -> Vec<(i64, Instant)> {
    sim.calls_to("chat.postMessage")
        .into_iter()
        .filter(|c| c.seq > mark && c.response["ok"] == true)
        .filter_map(|c| {
            let text = c.params["text"].as_str()?;
            if !text.contains("The people waiting for news are owed one") {
                return None;
            }
            let number = text
                .split("*INC-")
                .nth(1)?
                .split('*')
                .next()?
                .parse()
                .ok()?;
            Some((number, c.answered_at))
        })
        .collect()
}

/// Each incident's reminder lateness: Slack's answer to the post, on the bot's clock (read
/// through `reference`, an instant and the clock's reading then), minus the due time.
fn reminder_lateness(
    sim: &SlackSimulator,
    mark: u64,
    due: &HashMap<i64, DateTime<Utc>>,
    reference: (Instant, DateTime<Utc>),
) -> HashMap<i64, Duration> {
    let mut out = HashMap::new();
    for (number, answered) in reminder_posts(sim, mark) {
        let at = reference.1
            + chrono::Duration::from_std(answered.duration_since(reference.0)).unwrap_or_default();
        let late = (at - due[&number]).to_std().unwrap_or_default();
        assert!(
            out.insert(number, late).is_none(),
            "INC-{number} was reminded twice"
        );
    }
    out
}

/// This process's CPU time so far (user + system), from /proc.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of stat (11 and 12 counted from 0 after the name),
    // in ticks of USER_HZ, which is 100 on Linux.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// This process's resident memory, in KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}
