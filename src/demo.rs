//! `incident-commander demo`: the bot against the built-in Slack simulator, with an in-memory
//! SQLite database and no configuration. It plays a scripted incident and prints what a person
//! in the workspace would have seen, as a transcript. Each capability adds its step to [`SCRIPT`].
//! Every step waits until the bot has finished what the previous one asked for, so the
//! transcript reads in the order things happened.

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::app::App;
use crate::config::{LogFormat, Settings};
use crate::simulator::{SimulatorConfig, SlackSimulator};
use crate::store::Store;

/// Where a command is typed.
#[derive(Clone, Copy)]
enum Where {
    General,
    /// The channel of the incident declared last.
    Incident,
}

/// Who types what where, in order.
const SCRIPT: &[(&str, Where, &str)] = &[
    (
        "U0ALICE",
        Where::General,
        "/inc declare sev2 Checkout is slow",
    ),
    ("U0BOB", Where::Incident, "/inc operator me"),
    (
        "U0BOB",
        Where::Incident,
        "/inc update fixing Rolled back deploy 4711; error rate falling",
    ),
    ("U0ALICE", Where::Incident, "/inc sev 1"),
    ("U0CAROL", Where::Incident, "/inc coordinator me"),
    (
        "U0BOB",
        Where::Incident,
        "/inc note Canary healthy since 14:05",
    ),
    (
        "U0CAROL",
        Where::Incident,
        "/inc followup Alert when checkout errors pass 2%",
    ),
    (
        "U0CAROL",
        Where::Incident,
        "/inc resolve Error rate normal for 30 minutes",
    ),
    ("U0BOB", Where::General, "/inc list"),
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
    let store = app.store();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run(async {
        let _ = stopped.await;
    }));
    if !sim.wait_connected(WAIT).await {
        bail!("the bot did not connect to the simulator's Socket Mode");
    }
    for (user, place, line) in SCRIPT {
        let text = line.trim_start_matches("/inc").trim();
        let channel = match place {
            Where::General => general.clone(),
            Where::Incident => incident_channel(&store).await?,
        };
        let envelope = sim.slash_command(user, &channel, text);
        if sim.ack(&envelope.envelope_id, WAIT).await.is_none() {
            bail!("the bot did not acknowledge {line:?}");
        }
        // Everything a command asks of Slack happens after the ack; wait until it is done.
        settle(&store).await?;
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

/// Waits until the bot has no Slack work left.
async fn settle(store: &Store) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + WAIT;
    while store.job_counts().await?.pending > 0 {
        if tokio::time::Instant::now() > deadline {
            bail!("the bot did not finish its Slack work in {WAIT:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// The channel of the most recent open incident.
async fn incident_channel(store: &Store) -> anyhow::Result<String> {
    store
        .open_incidents()
        .await?
        .into_iter()
        .filter_map(|i| i.channel_id)
        .next_back()
        .context("no open incident has a channel")
}

/// Alice, Bob and Carol in a workspace with #general and #incidents (the bot is in #incidents), and the
/// bot configured for it. Returns the app and #general's id.
async fn workspace(sim: &SlackSimulator) -> anyhow::Result<(App, String)> {
    sim.add_user("U0ALICE", "alice");
    sim.add_user("U0BOB", "bob");
    sim.add_user("U0CAROL", "carol");
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
        // The HTTP side on a free loopback port: nothing else may be listening on 8080.
        ("HTTP_ADDR", "127.0.0.1:0".to_string()),
    ]);
    let settings = Settings::from_map(&vars)?;
    let app = App::build(settings).await?;
    Ok((app, general))
}
