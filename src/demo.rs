//! `incident-commander demo`: the bot against the built-in Slack simulator, with an in-memory
//! SQLite database and no configuration. It plays a scripted incident and prints what a person
//! in the workspace would have seen, as a transcript. Each capability adds its step to [`SCRIPT`].

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::app::App;
use crate::config::{LogFormat, Settings};
use crate::simulator::{SimulatorConfig, SlackSimulator};

/// Who types what, in order.
const SCRIPT: &[(&str, &str)] = &[
    ("U0ALICE", "/inc help"),
    ("U0ALICE", "/inc declare sev1 Checkout is down"),
    ("U0BOB", "/inc list"),
];

const WAIT: Duration = Duration::from_secs(15);

/// Runs the demo and writes the transcript to `out`.
pub async fn run(out: &mut impl Write) -> anyhow::Result<()> {
    crate::install_crypto_provider();
    crate::telemetry::init_with("warn", LogFormat::Pretty);
    let sim = SlackSimulator::start(SimulatorConfig::default())
        .await
        .context("starting the Slack simulator")?;
    let (app, general) = workspace(&sim).await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run(async {
        let _ = stopped.await;
    }));
    if !sim.wait_connected(WAIT).await {
        bail!("the bot did not connect to the simulator's Socket Mode");
    }
    for (user, line) in SCRIPT {
        let text = line.trim_start_matches("/inc").trim();
        let envelope = sim.slash_command(user, &general, text);
        if sim.ack(&envelope.envelope_id, WAIT).await.is_none() {
            bail!("the bot did not acknowledge {line:?}");
        }
        if text.starts_with("declare") {
            // Everything a declaration does happens after the ack; wait for its last steps.
            let done = sim
                .wait_until(WAIT, |s| {
                    !s.calls_to("pins.add").is_empty()
                        && s.calls_to("chat.postMessage").len() >= 2
                        && !s.calls_to("conversations.setTopic").is_empty()
                        && !s.calls_to("conversations.invite").is_empty()
                })
                .await;
            if !done {
                bail!("the declaration did not finish in {WAIT:?}");
            }
        }
    }
    let _ = stop.send(());
    let _ = running.await;
    writeln!(
        out,
        "incident-commander demo — a simulated Slack workspace, an in-memory SQLite database"
    )?;
    writeln!(
        out,
        "────────────────────────────────────────────────────────────────────────────────"
    )?;
    write!(out, "{}", sim.transcript())?;
    sim.shutdown().await;
    Ok(())
}

/// Alice and Bob in a workspace with #general and #incidents (the bot is in #incidents), and the
/// bot configured for it. Returns the app and #general's id.
async fn workspace(sim: &SlackSimulator) -> anyhow::Result<(App, String)> {
    sim.add_user("U0ALICE", "alice");
    sim.add_user("U0BOB", "bob");
    let general = sim.add_channel("general", false, false);
    sim.add_channel("incidents", false, true);
    let defaults = SimulatorConfig::default();
    let vars = HashMap::from([
        ("SLACK_BOT_TOKEN", defaults.bot_token),
        ("SLACK_APP_TOKEN", defaults.app_token),
        ("SLACK_API_URL", sim.api_url()),
        ("DATABASE_URL", "sqlite::memory:".to_string()),
        ("ANNOUNCE_CHANNEL", "#incidents".to_string()),
        ("SLACK_SOCKET_CONNECTIONS", "1".to_string()),
    ]);
    let settings = Settings::from_map(&vars)?;
    let app = App::build(settings).await?;
    Ok((app, general))
}
