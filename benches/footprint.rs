//! Footprint: what the binary weighs, how fast it is connected, and how much memory it holds
//! when idle — measured on the real binary, started as a process of its own against the
//! simulator (in this process), as an operator would run it:
//!
//! 1. **binary** — the size of the `incident-commander` executable Cargo built for this run
//!    (with the bench profile, which is the release profile, and this run's features:
//!    `--no-default-features` measures the production build, without the simulator);
//! 2. **startup** — from spawning the process to Slack's hello on its first connection (the
//!    simulator's own record) and to `/readyz` answering 200 (polled every millisecond): the
//!    first start creates and migrates the database, later ones (restarts) find it migrated;
//! 3. **idle memory** — with `SLACK_SOCKET_CONNECTIONS` connections open (default 2) on SQLite,
//!    after `--idle-ms` of quiet (default 3000): `VmRSS` (split into anonymous memory — the
//!    process's own — and file-backed pages: the binary's and the libraries' code, shared with
//!    the page cache) and `VmHWM` from `/proc/<pid>/status`, and resident memory by mapping
//!    (the binary, each shared library, the heap, thread stacks) from `/proc/<pid>/smaps`.
//!
//! `cargo bench --bench footprint [--no-default-features] [-- --trials N --idle-ms N
//! --connections N]`, with `FOOTPRINT_ENV=K=V,…` for more of the binary's variables. Linux
//! only (it reads /proc). Figures go to docs/performance.md.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use slack_simulator::{SimulatorConfig, SlackSimulator};

mod common;
use common::{arg, report};

const BINARY: &str = env!("CARGO_BIN_EXE_incident-commander");
const WAIT: Duration = Duration::from_secs(30);

#[tokio::main]
async fn main() {
    // The benchmark's own HTTP client (reqwest, whose TLS has no provider of its own here).
    incident_commander::install_crypto_provider();
    let trials = arg("--trials").unwrap_or(5);
    let idle = Duration::from_millis(arg("--idle-ms").unwrap_or(3000) as u64);
    let connections = arg("--connections").unwrap_or(2);

    let size = std::fs::metadata(BINARY).expect("the binary").len();
    println!("binary: {BINARY}");
    println!("  size {:.1} MB ({size} bytes)", size as f64 / 1e6);

    let sim = SlackSimulator::start(SimulatorConfig::default())
        .await
        .expect("simulator");
    sim.add_channel("general", false, false);
    let http = reqwest::Client::new();

    let dir = tempfile::tempdir().expect("temp dir");
    let mut first_start = Vec::new();
    let mut restarts = Vec::new();
    let mut hellos = Vec::new();
    let mut rss = Vec::new();
    let mut last_split = BTreeMap::new();
    for trial in 0..trials {
        let port = free_port();
        let hellos_before = sim.hellos();
        let mut child = spawn(&sim, &dir, port, connections);
        let started = Instant::now();
        let base = format!("http://127.0.0.1:{port}");
        while sim.hellos() == hellos_before {
            assert!(started.elapsed() < WAIT, "no connection");
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        hellos.push(started.elapsed());
        wait_for(&http, &format!("{base}/readyz"), |status, _| status == 200).await;
        match trial {
            0 => first_start.push(started.elapsed()),
            _ => restarts.push(started.elapsed()),
        }
        let open = format!("incident_commander_socket_connections{{state=\"open\"}} {connections}");
        wait_for(&http, &format!("{base}/metrics"), |_, body| {
            body.contains(&open)
        })
        .await;
        tokio::time::sleep(idle).await;
        let status = proc_status(child.id());
        rss.push([
            kib(&status, "VmRSS"),
            kib(&status, "RssAnon"),
            kib(&status, "RssFile"),
            kib(&status, "VmHWM"),
        ]);
        last_split = split(child.id());
        stop(&mut child);
    }

    let extra = std::env::var("FOOTPRINT_ENV").unwrap_or_default();
    println!("startup (spawn to /readyz 200), {connections} connection(s), SQLite, {extra:?}:");
    report("spawn to Slack's hello (first connection)", &mut hellos);
    report(
        "spawn to /readyz 200, first start (migrations)",
        &mut first_start,
    );
    report("spawn to /readyz 200, restart", &mut restarts);
    println!("idle memory after {idle:?}, {connections} connection(s) open:");
    let mib = |kib: u64| kib as f64 / 1024.0;
    for (n, [total, anon, file, peak]) in rss.iter().enumerate() {
        println!(
            "  trial {n}: VmRSS {:.1} MiB (anonymous {:.1}, file-backed {:.1}), VmHWM {:.1} MiB",
            mib(*total),
            mib(*anon),
            mib(*file),
            mib(*peak)
        );
    }
    println!("resident memory of the last trial, by mapping (MiB):");
    for (what, kib) in &last_split {
        println!("  {what:<28} {:>6.2}", *kib as f64 / 1024.0);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The binary, configured only by the variables set here (nothing from this process's
/// environment but `PATH`), quiet but for warnings.
fn spawn(sim: &SlackSimulator, dir: &tempfile::TempDir, port: u16, connections: usize) -> Child {
    let connections = connections.to_string();
    let address = format!("127.0.0.1:{port}");
    let extra = [
        ("SLACK_SOCKET_CONNECTIONS", connections.as_str()),
        ("HTTP_ADDR", address.as_str()),
        ("RUST_LOG", "warn"),
    ];
    Command::new(BINARY)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(common::variables(sim, &common::database_url(dir), &extra))
        .envs(extra_env())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the binary starts")
}

/// `FOOTPRINT_ENV=K=V,K2=V2`: more variables for the binary, to see what a setting costs
/// (`TOKIO_WORKER_THREADS=1`, glibc's `MALLOC_ARENA_MAX=1`; `--connections` for the connections).
fn extra_env() -> Vec<(String, String)> {
    std::env::var("FOOTPRINT_ENV")
        .unwrap_or_default()
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// Polls `url` every millisecond until `done(status, body)`.
async fn wait_for(http: &reqwest::Client, url: &str, done: impl Fn(u16, &str) -> bool) {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(answer) = http.get(url).send().await {
            let status = answer.status().as_u16();
            let body = answer.text().await.unwrap_or_default();
            if done(status, &body) {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{url} not as awaited in {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn stop(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + WAIT;
    while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn proc_status(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/<pid>/status")
}

/// A `kB` line of /proc/<pid>/status.
fn kib(status: &str, field: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Resident KiB by what is mapped: the binary, each shared library, the heap (`[heap]` and
/// anonymous mappings: malloc's arenas), thread stacks, the rest.
fn split(pid: u32) -> BTreeMap<String, u64> {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).expect("smaps");
    let mut out = BTreeMap::new();
    let mut current = String::new();
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or_default();
        if first.contains('-') && first.chars().next().is_some_and(|c| c.is_ascii_hexdigit()) {
            let path = line.split_whitespace().nth(5).unwrap_or("");
            current = match path {
                "" => "anonymous (heap arenas, stacks)".to_string(),
                "[heap]" => "[heap] (main arena)".to_string(),
                p if p.starts_with('[') => p.to_string(),
                p if p == BINARY || p.ends_with("/incident-commander") => "the binary".to_string(),
                p => p.rsplit('/').next().unwrap_or(p).to_string(),
            };
        } else if let Some(v) = line.strip_prefix("Rss:") {
            let kib: u64 = v
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            *out.entry(current.clone()).or_default() += kib;
        }
    }
    out.retain(|_, kib| *kib > 0);
    out
}
