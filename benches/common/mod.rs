//! What the benchmarks share: their command-line arguments, the settings of a bot running against
//! the simulator, and how a series of durations is reported.

#![allow(dead_code)] // Each benchmark uses its own part.

use std::collections::HashMap;
use std::time::Duration;

use incident_commander::config::Settings;
use slack_simulator::{SimulatorConfig, SlackSimulator};

/// The value after `name` on the command line (`cargo bench --bench x -- --name 5`).
pub fn arg(name: &str) -> Option<usize> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
}

/// `BENCH_DATABASE_URL`, or a SQLite file in `dir`.
pub fn database_url(dir: &tempfile::TempDir) -> String {
    std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("bench.db").display()))
}

/// A bot's settings against `sim` and `database_url`, with `extra` variables besides.
pub fn settings(
    sim: &SlackSimulator,
    database_url: &str,
    extra: &[(&'static str, &str)],
) -> Settings {
    Settings::from_map(&variables(sim, database_url, extra)).expect("settings")
}

/// The environment of a bot against `sim` and `database_url`, with `extra` variables besides:
/// what [`settings`] reads, and what a benchmark gives the binary it starts.
pub fn variables(
    sim: &SlackSimulator,
    database_url: &str,
    extra: &[(&'static str, &str)],
) -> HashMap<&'static str, String> {
    let defaults = SimulatorConfig::default();
    let mut vars = HashMap::from([
        ("SLACK_BOT_TOKEN", defaults.bot_token),
        ("SLACK_APP_TOKEN", defaults.app_token),
        ("SLACK_API_URL", sim.api_url()),
        ("DATABASE_URL", database_url.to_string()),
        ("SLACK_SOCKET_CONNECTIONS", "1".to_string()),
        // The HTTP side on a free loopback port: nothing else may be listening on 8080.
        ("HTTP_ADDR", "127.0.0.1:0".to_string()),
    ]);
    for (k, v) in extra {
        vars.insert(k, v.to_string());
    }
    vars
}

/// One line: how many, p50, p90, p99 and max of `samples` (sorted in place).
pub fn report(what: &str, samples: &mut [Duration]) {
    if samples.is_empty() {
        println!("  {what:<52} n=0");
        return;
    }
    samples.sort();
    let at = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    println!(
        "  {what:<52} n={:<5} p50 {:>8.2?}  p90 {:>8.2?}  p99 {:>8.2?}  max {:>8.2?}",
        samples.len(),
        at(0.50),
        at(0.90),
        at(0.99),
        samples[samples.len() - 1]
    );
}
