//! `incident-commander demo`: the bot against the built-in Slack simulator, with an in-memory
//! SQLite database and no configuration. It plays a scripted incident and prints what a person
//! in the workspace would have seen, as a transcript. Each capability adds its step to [`SCRIPT`].
//! Every step waits until the bot has finished what the previous one asked for, so the
//! transcript reads in the order things happened. The bot reads a [`MovableClock`] the script
//! moves on, so reminders come in the demo's seconds, not in half-hours. PagerDuty, the status
//! page and GitHub (where follow-ups become issues) are the simulator crate's fakes too, so the
//! demo still needs no configuration.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::app::{App, Clock, MovableClock};
use crate::config::{LogFormat, Settings};
use crate::store::Store;
use slack_simulator::github::FakeGitHub;
use slack_simulator::{FakePagerDuty, FakeStatuspage, SimulatorConfig, SlackSimulator, ViewInput};

/// Where a command is typed.
#[derive(Clone, Copy)]
enum Where {
    General,
    /// The channel of the incident declared last.
    Incident,
    /// The channel of the first incident (resolved by the time it is used).
    First,
}

/// One thing someone does.
enum Act {
    /// Types a slash command.
    Type(&'static str, Where, &'static str),
    /// Alertmanager posts an alert in #alerts.
    Alert,
    /// Uses the "Declare incident" shortcut on the last alert.
    Shortcut(&'static str),
    /// Submits the form open in front of them, choosing a severity and maybe writing a summary.
    Submit(&'static str, &'static str, Option<&'static str>),
    /// Time passes: the bot's clock moves on this many minutes.
    Later(i64),
    /// Clicks the button labelled so on the latest message in the channel that has it.
    Click(&'static str, Where, &'static str),
    /// Posts a message in the incident's channel and pins it.
    Pin(&'static str, &'static str),
    /// The on-call person acknowledges the page of a service in PagerDuty (on their phone).
    Acknowledge(&'static str, &'static str),
    /// Submits the status-page form open in front of them as prefilled, with the first
    /// component of the page ticked.
    Publish(&'static str),
    /// Somebody closes the follow-up's GitHub issue (its number) in GitHub.
    CloseIssue(u64, &'static str),
    /// Days pass: the bot's clock moves on.
    Days(i64),
}

/// Who does what, in order: an alert declared from its message — on-call paged through
/// PagerDuty and acknowledging, the status page published, a follow-up filed in GitHub — run to
/// resolution; then a declaration through the form, whose update reminders come every 10
/// minutes — one snoozed, one pushed back by an update; then the first incident's postmortem
/// draft, its follow-up's issue closed in GitHub, the draft again with the follow-up checked,
/// the postmortem done, and the channel archiving itself two weeks after the resolution.
const SCRIPT: &[Act] = &[
    Act::Alert,
    Act::Shortcut("U0ALICE"),
    Act::Submit("U0ALICE", "sev2", None),
    Act::Type("U0BOB", Where::Incident, "/inc operator me"),
    Act::Pin(
        "U0BOB",
        "Deploy 4711 doubled the DB connections per pod; the pool is exhausted",
    ),
    Act::Type(
        "U0BOB",
        Where::Incident,
        "/inc update fixing Rolled back deploy 4711; error rate falling",
    ),
    Act::Type("U0ALICE", Where::Incident, "/inc sev 1"),
    Act::Type(
        "U0ALICE",
        Where::Incident,
        "/inc page checkout Checkout errors at 12%, deploy 4711 rolled back",
    ),
    Act::Acknowledge("checkout", "Dana Scully"),
    Act::Type("U0CAROL", Where::Incident, "/inc statuspage"),
    Act::Publish("U0CAROL"),
    Act::Type("U0CAROL", Where::Incident, "/inc coordinator me"),
    Act::Type(
        "U0BOB",
        Where::Incident,
        "/inc note Canary healthy since 14:05",
    ),
    Act::Type(
        "U0CAROL",
        Where::Incident,
        "/inc followup Alert when checkout errors pass 2%",
    ),
    Act::Type(
        "U0CAROL",
        Where::Incident,
        "/inc resolve Error rate normal for 30 minutes",
    ),
    Act::Type(
        "U0BOB",
        Where::General,
        "/inc declare Search results are stale",
    ),
    Act::Submit(
        "U0BOB",
        "sev3",
        Some("Index lags 20 minutes behind the catalogue"),
    ),
    Act::Type("U0BOB", Where::Incident, "/inc remind 10m"),
    Act::Later(10),
    Act::Click("U0BOB", Where::Incident, "Snooze 30m"),
    Act::Later(30),
    Act::Type(
        "U0BOB",
        Where::Incident,
        "/inc update Reindex at 60%; results 5 minutes behind",
    ),
    Act::Later(10),
    Act::Type("U0CAROL", Where::General, "/inc list"),
    Act::Click("U0CAROL", Where::First, "Write postmortem"),
    Act::CloseIssue(1, "dana"),
    Act::Type("U0CAROL", Where::First, "/inc followups"),
    Act::Type("U0CAROL", Where::First, "/inc postmortem"),
    Act::Type(
        "U0CAROL",
        Where::First,
        "/inc postmortem done https://wiki.example.com/postmortems/inc-1",
    ),
    Act::Days(13),
    Act::Days(1),
];

const WAIT: Duration = Duration::from_secs(15);

/// The demo's PagerDuty service's integration key, and its webhook subscription's secret.
const CHECKOUT_ROUTING_KEY: &str = "R0DEM0CHECK0UT000000000000000001";
const PAGERDUTY_SECRET: &str = "demo-pagerduty-webhook-secret-0";
/// The demo's status page.
const STATUSPAGE_KEY: &str = "demo-statuspage-api-key";
const STATUSPAGE_PAGE: &str = "demopage0001";

/// The demo's GitHub: the repository follow-ups are filed in, as whom, and its webhook's secret.
const GITHUB_TOKEN: &str = "github_pat_demo0123456789";
const GITHUB_REPO: &str = "acme/ops";
const GITHUB_SECRET: &str = "demo-github-webhook-secret-0123";

/// The systems outside Slack the demo's incident reaches: the simulator crate's fakes.
struct Outside {
    pagerduty: FakePagerDuty,
    statuspage: FakeStatuspage,
    github: FakeGitHub,
    /// The page's "Checkout" component.
    checkout_component: String,
}

impl Outside {
    async fn start() -> anyhow::Result<Outside> {
        let pagerduty = FakePagerDuty::start()
            .await
            .context("starting the fake PagerDuty")?;
        pagerduty.add_service("checkout", CHECKOUT_ROUTING_KEY);
        pagerduty.set_on_call("checkout", "Dana Scully");
        let statuspage = FakeStatuspage::start(STATUSPAGE_KEY, STATUSPAGE_PAGE)
            .await
            .context("starting the fake Statuspage")?;
        let checkout_component = statuspage.add_component("Checkout");
        statuspage.add_component("Search");
        let github = FakeGitHub::start(GITHUB_TOKEN, GITHUB_REPO)
            .await
            .context("starting the fake GitHub")?;
        Ok(Outside {
            pagerduty,
            statuspage,
            github,
            checkout_component,
        })
    }
}

/// Runs the demo and writes the transcript to `out`.
pub async fn run(out: &mut impl Write) -> anyhow::Result<()> {
    crate::install_crypto_provider();
    // The transcript is the output; a failure stops the demo with its reason anyway.
    crate::telemetry::init_with("error", LogFormat::Pretty);
    let sim = SlackSimulator::start(SimulatorConfig::default())
        .await
        .context("starting the Slack simulator")?;
    let clock = Arc::new(MovableClock::new());
    let outside = Outside::start().await?;
    let (app, general, alerts) = workspace(&sim, &outside, clock.clone()).await?;
    // PagerDuty tells the bot what became of its pages, signed, at its HTTP side.
    let hook = format!("http://{}/integrations/pagerduty", app.http_addr());
    outside.pagerduty.subscribe(&hook, PAGERDUTY_SECRET);
    // GitHub tells it what became of the follow-ups' issues.
    let hook = format!("http://{}/integrations/github", app.http_addr());
    outside.github.subscribe(&hook, GITHUB_SECRET);
    let store = app.store();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run(async {
        let _ = stopped.await;
    }));
    if !sim.wait_connected(WAIT).await {
        bail!("the bot did not connect to the simulator's Socket Mode");
    }
    let mut alert = None;
    for act in SCRIPT {
        let envelope = match act {
            Act::Type(user, place, line) => {
                let text = line.trim_start_matches("/inc").trim();
                let channel = place_of(*place, &general, &store).await?;
                sim.slash_command(user, &channel, text)
            }
            Act::Alert => {
                let attachments = json!([{
                    "color": "danger",
                    "title": "[FIRING:1] HighErrorRate checkout (prod)",
                    "text": "error rate 12% &gt; 5% for 10m",
                    "fallback": "[FIRING:1] HighErrorRate checkout (prod)"
                }]);
                let ts = sim.post_alert(&alerts, "Alertmanager", "", attachments, Value::Null);
                alert = Some(ts);
                continue;
            }
            Act::Shortcut(user) => {
                let ts = alert
                    .as_deref()
                    .context("no alert to use the shortcut on")?;
                sim.message_shortcut(user, &alerts, ts, "declare_incident")
            }
            Act::Submit(user, severity, summary) => {
                let opened = sim
                    .wait_until(WAIT, |s| s.open_view_for(user).is_some())
                    .await;
                let view = sim.open_view_for(user).filter(|_| opened);
                let view = view.context("the form did not open")?;
                let mut edits = vec![("severity", ViewInput::Option(severity.to_string()))];
                if let Some(summary) = summary {
                    edits.push(("summary", ViewInput::Text(summary.to_string())));
                }
                sim.submit_view(user, &view.id, &edits)
            }
            Act::Later(minutes) => {
                let text = format!("{minutes} minutes later");
                sim.narrate(&text);
                clock.advance(chrono::Duration::minutes(*minutes));
                settle(&store, &*clock).await?;
                continue;
            }
            Act::Click(user, place, label) => {
                let channel = place_of(*place, &general, &store).await?;
                let (ts, action) = button(&sim, &channel, label)
                    .with_context(|| format!("no {label} button in the incident's channel"))?;
                sim.click(user, &channel, &ts, &action)
                    .context("the button is not there")?
            }
            Act::Pin(user, text) => {
                let channel = incident_channel(&store).await?;
                let ts = sim.post_as(user, &channel, text);
                sim.pin(user, &channel, &ts)
                    .context("the pin was not delivered")?
            }
            Act::Acknowledge(service, person) => {
                sim.narrate(&format!(
                    "{person} acknowledges the page of {service} in PagerDuty"
                ));
                let key = outside
                    .pagerduty
                    .incidents()
                    .into_iter()
                    .find(|i| i.service == *service && i.is_open())
                    .map(|i| i.dedup_key)
                    .context("nobody was paged")?;
                outside
                    .pagerduty
                    .acknowledge(&key, person)
                    .await
                    .map_err(|e| anyhow::anyhow!("the acknowledgement: {e:?}"))?;
                settle(&store, &*clock).await?;
                continue;
            }
            Act::CloseIssue(number, login) => {
                sim.narrate(&format!("{login} closes issue #{number} in GitHub"));
                outside.github.close(*number, login).await;
                settle(&store, &*clock).await?;
                continue;
            }
            Act::Days(days) => {
                sim.narrate(&format!(
                    "{days} day{} later",
                    if *days == 1 { "" } else { "s" }
                ));
                clock.advance(chrono::Duration::days(*days));
                settle(&store, &*clock).await?;
                continue;
            }
            Act::Publish(user) => {
                let opened = sim
                    .wait_until(WAIT, |s| s.open_view_for(user).is_some())
                    .await;
                let view = sim.open_view_for(user).filter(|_| opened);
                let view = view.context("the status-page form did not open")?;
                let ticked = vec![outside.checkout_component.clone()];
                sim.submit_view(
                    user,
                    &view.id,
                    &[("components", ViewInput::Checked(ticked))],
                )
            }
        };
        if sim.ack(&envelope.envelope_id, WAIT).await.is_none() {
            bail!("the bot did not acknowledge a {}", envelope.envelope_type);
        }
        // Everything asked of Slack happens after the ack; wait until it is done.
        settle(&store, &*clock).await?;
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
    writeln!(out, "\n──────── outside Slack ────────\n")?;
    for page in outside.pagerduty.incidents() {
        let by = page.acknowledged_by.as_deref().unwrap_or("nobody");
        writeln!(
            out,
            "PagerDuty: {} — {} ({}, {} urgency), acknowledged by {by}, now {}",
            page.service, page.title, page.severity, page.urgency, page.status
        )?;
    }
    for issue in outside.github.issues() {
        writeln!(
            out,
            "GitHub: {GITHUB_REPO}#{} “{}” [{}] — {}",
            issue.number,
            issue.title,
            issue.labels.join(", "),
            issue.state
        )?;
    }
    for public in outside.statuspage.incidents() {
        writeln!(
            out,
            "Status page: “{}” — {} ({}), {} update(s)",
            public.name,
            public.status,
            public.shortlink,
            public.updates.len()
        )?;
    }
    if let Some(draft) = sim.files().into_iter().rev().find(|f| f.completed) {
        writeln!(
            out,
            "\n──────── {} (the file posted above) ────────\n",
            draft.name
        )?;
        write!(out, "{}", draft.text())?;
    }
    sim.shutdown().await;
    Ok(())
}

/// Waits until the bot has no Slack work under way (reminders wait for their time).
async fn settle(store: &Store, clock: &dyn Clock) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + WAIT;
    while store.queue_figures(clock.now()).await?.pending > 0 {
        if tokio::time::Instant::now() > deadline {
            bail!("the bot did not finish its Slack work in {WAIT:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// The latest message in `channel` with a button labelled `label`: its ts and the button's
/// action id.
fn button(sim: &SlackSimulator, channel: &str, label: &str) -> Option<(String, String)> {
    let channel = sim.channel(channel)?;
    channel.messages.iter().rev().find_map(|m| {
        m.blocks
            .as_array()?
            .iter()
            .filter_map(|b| b["elements"].as_array())
            .flatten()
            .find(|e| e["text"]["text"] == label)
            .and_then(|e| e["action_id"].as_str())
            .map(|action| (m.ts.clone(), action.to_string()))
    })
}

/// The channel `place` names.
async fn place_of(place: Where, general: &str, store: &Store) -> anyhow::Result<String> {
    match place {
        Where::General => Ok(general.to_string()),
        Where::Incident => incident_channel(store).await,
        Where::First => store
            .incident_by_number(crate::store::HOME_WORKSPACE, 1)
            .await?
            .and_then(|i| i.channel_id)
            .context("the first incident has no channel"),
    }
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

/// Alice, Bob and Carol in a workspace with #general, #alerts (where Alertmanager posts; the bot
/// is not in it) and #incidents (the bot is; it is the announce channel), and the bot configured
/// for it. Returns the app, #general's id and #alerts' id.
async fn workspace(
    sim: &SlackSimulator,
    outside: &Outside,
    clock: Arc<MovableClock>,
) -> anyhow::Result<(App, String, String)> {
    sim.add_user("U0ALICE", "alice");
    sim.add_user("U0BOB", "bob");
    sim.add_user("U0CAROL", "carol");
    let general = sim.add_channel("general", false, false);
    let alerts = sim.add_channel("alerts", false, false);
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
        // No digest: the demo's clock could cross 09:00 and post one at random.
        ("DIGEST_CRON", String::new()),
        // PagerDuty and the status page: the simulator crate's fakes.
        (
            "PAGERDUTY_SERVICES",
            format!("checkout={CHECKOUT_ROUTING_KEY}"),
        ),
        ("PAGERDUTY_EVENTS_URL", outside.pagerduty.events_url()),
        ("PAGERDUTY_WEBHOOK_SECRET", PAGERDUTY_SECRET.to_string()),
        ("STATUSPAGE_API_KEY", STATUSPAGE_KEY.to_string()),
        ("STATUSPAGE_PAGE_ID", STATUSPAGE_PAGE.to_string()),
        ("STATUSPAGE_API_URL", outside.statuspage.api_url()),
        // Follow-ups become issues in the fake GitHub; channels archive themselves.
        ("FOLLOWUP_TRACKER", "github".to_string()),
        ("GITHUB_TOKEN", GITHUB_TOKEN.to_string()),
        ("GITHUB_REPO", GITHUB_REPO.to_string()),
        ("GITHUB_API_URL", outside.github.api_url()),
        ("GITHUB_WEBHOOK_SECRET", GITHUB_SECRET.to_string()),
        ("ARCHIVE_AFTER", "14d".to_string()),
    ]);
    let settings = Settings::from_map(&vars)?;
    let app = App::build_with_clock(settings, clock).await?;
    Ok((app, general, alerts))
}
