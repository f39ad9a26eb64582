//! Use cases: Slack asked for something → the domain decides → the store records it → the job
//! worker makes it true in Slack.
//!
//! [`App`] wires the adapters together. [`App::build`] connects and migrates the database, checks
//! the bot token with `auth.test` (a bad token fails startup loudly), resolves the announce
//! channel and binds `HTTP_ADDR`; [`App::run`] starts Socket Mode, the job worker and the HTTP
//! side, supervises them, and runs until shutdown.
//!
//! - [`inbound`]: the port's implementation: each kind of envelope to its handler.
//! - [`commands`]: the `/inc` handler — decides the ack within one database transaction.
//! - [`interactions`]: the shortcut, the modals' submissions, the buttons — one table
//!   (`ACTIONS`), one file per entry.
//! - [`events`]: pins and joins in incident channels, onto the timeline.
//! - [`modals`]: opening a modal — the one Slack call made off a job, within 3 seconds.
//! - [`changes`]: changing an incident — load, decide (the domain), record, reply.
//! - [`steps`]: every piece of Slack work as durable, idempotent job steps.
//! - [`worker`]: claims due jobs (replica-safe), runs them, retries with backoff or reports.
//! - [`alerts`]: the alert intake — record before the 2xx, open or repeat an incident.
//! - [`postmortem`]: the postmortem draft — gathered, rendered, saved, uploaded; the CLI's too.
//! - [`stats`]: `/inc stats`.
//! - [`check`]: `incident-commander check`, the deployment checklist.
//! - [`health`]: what the process knows of itself, and the supervision of the tasks.
//! - [`pages`]: what PagerDuty says of a page, matched to its incident and recorded as a change.
//! - [`operations`]: the HTTP port's side — readiness, the figures `/metrics` shows, alerts in.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tracing::info;

use crate::config::{Settings, Transport};
use crate::http::Metrics;
use crate::slack::{self, BotIdentity, SlackApi, SlackError, SocketMode, SocketOptions};
use crate::store::{self, Store, StoreError};

mod alerts;
mod changes;
pub mod check;
pub mod clock;
mod commands;
mod events;
mod health;
mod inbound;
pub mod installs;
mod interactions;
mod modals;
mod operations;
mod pages;
pub mod postmortem;
mod settings;
mod stats;
pub mod steps;
mod tickets;
mod worker;
pub(crate) mod workspaces;

pub use clock::{Clock, MovableClock, SystemClock};

/// Why the process could not start; `Display` is the one line printed before exiting.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("Slack rejected SLACK_BOT_TOKEN ({0}); check the bot token from OAuth & Permissions")]
    BadBotToken(String),
    #[error("cannot reach Slack at SLACK_API_URL {url}: {error}")]
    SlackUnreachable { url: String, error: SlackError },
    #[error("ANNOUNCE_CHANNEL {0}: no such channel visible to the bot")]
    NoAnnounceChannel(String),
    #[error("RULES_FILE: rule {rule:?} posts to {channel}, a channel the bot cannot see")]
    NoRulesChannel { rule: String, channel: String },
    #[error("cannot build the HTTP client: {0}")]
    Http(#[from] std::io::Error),
    #[error("cannot listen on HTTP_ADDR {addr}: {error}")]
    HttpAddr {
        addr: SocketAddr,
        error: std::io::Error,
    },
    /// An installation's token does not open with TOKEN_ENCRYPTION_KEY (nor its previous key).
    #[error("installed workspaces: {0}")]
    Tokens(String),
    /// A task that must run until shutdown ended: the process exits non-zero to be restarted.
    #[error("the {task} stopped ({how}); exiting so the process is restarted")]
    TaskDied { task: &'static str, how: String },
}

/// What every use case shares, whatever the workspace: reached through [`Shared`].
pub(crate) struct AppState {
    pub settings: Settings,
    pub store: Store,
    /// This app's counters and histograms (`/metrics`); every workspace's Slack client records
    /// into the same.
    pub metrics: Metrics,
    pub clock: Arc<dyn Clock>,
    /// Wakes the job worker when new work was recorded.
    pub wake: Notify,
    /// This process's lease owner id: random, so a restarted process never mistakes an old
    /// lease for its own.
    pub owner: String,
    /// The clients of the systems outside Slack that are configured.
    pub outside: Outside,
    /// The workspaces this deployment serves: its own (`SLACK_BOT_TOKEN`) and those that
    /// installed the app.
    pub workspaces: workspaces::Workspaces,
}

/// One workspace's view of the application, which every use case takes: what they all share
/// ([`AppState`], through `Deref`: `shared.store`, `shared.settings`, …) and the workspace the
/// envelope came from or the job acts in — its Slack client, its bot, its announce channel.
/// Built per envelope and per job ([`workspaces`]); cheap.
pub(crate) struct Shared {
    app: Arc<AppState>,
    /// The workspace: its store id, its Slack client (its bot token), its bot, its announce
    /// channel, its settings.
    pub ws: workspaces::Workspace,
}

impl std::ops::Deref for Shared {
    type Target = AppState;

    fn deref(&self) -> &AppState {
        &self.app
    }
}

impl Shared {
    /// The application as `workspace` sees it.
    pub(crate) fn new(app: Arc<AppState>, workspace: &workspaces::Workspace) -> Shared {
        Shared {
            app,
            ws: workspace.clone(),
        }
    }

    /// The same application in `workspace`.
    pub(crate) fn with(&self, workspace: &workspaces::Workspace) -> Arc<Shared> {
        Arc::new(Shared::new(self.app.clone(), workspace))
    }
}

/// The outside systems' clients, built once from `Settings::integrations`.
pub(crate) struct Outside {
    /// The one HTTP client (webhooks use it directly).
    pub client: crate::outside::Client,
    pub pagerduty: Option<crate::outside::pagerduty::PagerDutyApi>,
    pub statuspage: Option<crate::outside::statuspage::StatuspageApi>,
    /// The follow-up tracker (`FOLLOWUP_TRACKER`).
    pub tracker: Option<crate::outside::tracker::TrackerApi>,
}

impl Outside {
    fn new(integrations: &crate::config::Integrations) -> Result<Outside, std::io::Error> {
        let client = crate::outside::Client::new(integrations.timeout)?;
        Ok(Outside {
            pagerduty: integrations.pagerduty.as_ref().map(|pd| {
                crate::outside::pagerduty::PagerDutyApi::new(client.clone(), pd.events_url.clone())
            }),
            statuspage: integrations.statuspage.as_ref().map(|sp| {
                crate::outside::statuspage::StatuspageApi::new(
                    client.clone(),
                    sp.api_url.clone(),
                    sp.page_id.clone(),
                    sp.api_key.clone(),
                )
            }),
            tracker: integrations
                .tracker
                .as_ref()
                .map(|t| crate::outside::tracker::TrackerApi::new(client.clone(), t)),
            client,
        })
    }
}

/// The incident-commander application.
pub struct App {
    shared: Arc<Shared>,
    health: Arc<health::Health>,
    /// `HTTP_ADDR`, bound at build time so the address is known (port 0 picks a free one).
    http: tokio::net::TcpListener,
    http_addr: SocketAddr,
}

impl App {
    /// Connects everything and checks the configuration against Slack.
    pub async fn build(settings: Settings) -> Result<App, StartupError> {
        App::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    pub async fn build_with_clock(
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> Result<App, StartupError> {
        let client = slack::api::client(&settings.slack_api_url)?;
        // This app's own recorder: two apps in one process never add to each other's figures.
        let metrics = Metrics::new();
        let api = SlackApi::new(client, &settings.bot_token, settings.slack_timeout)
            .with_metrics(metrics.clone());
        let bot = match api.auth_test().await {
            Ok(bot) => bot,
            Err(SlackError::Api { code }) => return Err(StartupError::BadBotToken(code)),
            Err(error) => {
                return Err(StartupError::SlackUnreachable {
                    url: settings.slack_api_url.to_string(),
                    error,
                });
            }
        };
        info!(team = %bot.team, bot_user = %bot.user_id, "authenticated with Slack");
        let announce_channel = match &settings.announce_channel {
            None => None,
            Some(target) => Some(resolve_channel(&api, target).await?),
        };
        let store = store::connect(&settings.database_url).await?;
        info!(backend = store.backend(), "database ready");
        if store.backend() == "sqlite" {
            // One process by definition: any lease in the file is a dead run's.
            let taken = store.release_all_leases().await?;
            if taken > 0 {
                info!(
                    jobs = taken,
                    "took back the jobs a previous run left unfinished"
                );
            }
        }
        let outside = Outside::new(&settings.integrations)?;
        let mut rule_channels = std::collections::HashMap::new();
        for rule in &settings.integrations.rules.rules {
            for action in &rule.actions {
                if let crate::domain::rules::Action::Post { channel, .. } = action
                    && !rule_channels.contains_key(channel)
                {
                    let id = resolve_channel(&api, channel).await.map_err(|e| match e {
                        StartupError::NoAnnounceChannel(name) => StartupError::NoRulesChannel {
                            rule: rule.name.clone(),
                            channel: name,
                        },
                        other => other,
                    })?;
                    rule_channels.insert(channel.clone(), id);
                }
            }
        }
        let addr = settings.http_addr;
        let http = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|error| StartupError::HttpAddr { addr, error })?;
        let http_addr = http
            .local_addr()
            .map_err(|error| StartupError::HttpAddr { addr, error })?;
        let home = workspaces::Workspace {
            id: workspaces::HOME.to_string(),
            slack: api.clone(),
            bot,
            announce_channel,
            rule_channels: Arc::new(rule_channels),
            config: Arc::new(workspaces::WorkspaceConfig::of(
                &settings,
                &serde_json::Value::Null,
            )),
            installer: None,
        };
        let app = Arc::new(AppState {
            workspaces: workspaces::Workspaces::new(home.clone()),
            settings,
            store,
            metrics,
            clock,
            wake: Notify::new(),
            owner: uuid::Uuid::new_v4().to_string(),
            outside,
        });
        Ok(App {
            health: Arc::new(health::Health::default()),
            http,
            http_addr,
            shared: Arc::new(Shared::new(app, &home)),
        })
    }

    /// The store, for tests and offline commands.
    pub fn store(&self) -> Store {
        self.shared.store.clone()
    }

    /// Who the bot is.
    pub fn bot(&self) -> &BotIdentity {
        &self.shared.ws.bot
    }

    /// Where the HTTP side listens (`HTTP_ADDR`; the port chosen when it asked for port 0).
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// Runs Socket Mode, the job worker and the HTTP side until `shutdown` completes, then stops
    /// them: the intake first — the HTTP side finishes its requests, the listener closes its
    /// connections — then the worker after its in-flight jobs. If one of the three ends before
    /// `shutdown`, readiness turns false, the others are stopped the same way, and `run` returns
    /// [`StartupError::TaskDied`].
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), StartupError> {
        let App {
            shared,
            health,
            http,
            ..
        } = self;
        // Before any connection: the schedule is in place when the first envelope arrives.
        let now = shared.clock.now();
        if let Some(job) = steps::next_digest_job(&shared.settings, workspaces::HOME, now) {
            // Kept if a digest is pending already (one slot at a time, across replicas).
            info!(next = %job.run_at, "digest scheduled");
            shared.store.enqueue(None, job).await?;
        }
        // Installed workspaces: tokens sealed with a key being rotated out are sealed again with
        // the current one, and each workspace still installed has its digest scheduled.
        if let Some(oauth) = &shared.settings.workspaces {
            let resealed = installs::reseal(&shared.store, &oauth.keys)
                .await
                .map_err(|e| StartupError::Tokens(e.to_string()))?;
            if resealed > 0 {
                info!(
                    installations = resealed,
                    key = oauth.keys.current_id(),
                    "sealed the installations' tokens with the current TOKEN_ENCRYPTION_KEY"
                );
            }
            for installation in shared.store.installations().await? {
                let job = steps::next_digest_job(&shared.settings, &installation.team_id, now);
                if let (true, Some(job)) = (installation.active(), job) {
                    shared.store.enqueue(None, job).await?;
                }
            }
        }
        // An open incident without a pending reminder — declared before reminders existed (an
        // upgrade across migration 0005), or its reminder failed for good — gets the one it is
        // owed, late if it is overdue; a pending one is kept as it is.
        let mut armed = 0;
        for incident in shared.store.open_incidents().await? {
            if let Some(job) = steps::owed_reminder(&shared.ws.config.reminders, &incident) {
                armed += usize::from(shared.store.enqueue(Some(incident.id), job).await?);
            }
        }
        if armed > 0 {
            info!(
                incidents = armed,
                "armed the update reminders of open incidents that had none"
            );
        }
        let inbound: Arc<dyn slack::Inbound> = Arc::new(inbound::Handler::new(shared.clone()));
        let (intake_tx, intake_rx) = tokio::sync::watch::channel(false);
        let (worker_tx, worker_rx) = tokio::sync::watch::channel(false);
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };
        let mut tasks = health::Tasks::new();
        let worker_shared = shared.clone();
        tasks.spawn(WORKER, async move {
            worker::run(worker_shared, worker_rx).await;
            Ok(())
        });
        // The transport: Socket Mode's connections are a task of their own; Slack's request
        // URLs are routes of the HTTP side, which stops (and drains) them with its requests.
        let slack_routes = match &shared.settings.transport {
            Transport::SocketMode { app_token } => {
                let options = SocketOptions {
                    connections: shared.settings.socket_connections,
                    max_wait: shared.settings.socket_reconnect,
                };
                let socket = SocketMode::start(
                    &shared.ws.slack,
                    app_token,
                    options,
                    inbound,
                    health.connections.clone(),
                );
                // The connection loop ending before shutdown (a panic) is the listener's death.
                tasks.spawn(LISTENER, socket.run_until(stopped(intake_rx.clone())));
                None
            }
            Transport::Http { signing_secret } => {
                let clock = shared.clock.clone();
                Some(slack::events_api::routes(
                    inbound,
                    shared.metrics.clone(),
                    signing_secret.clone(),
                    Arc::new(move || clock.now()),
                ))
            }
        };
        info!(
            transport = shared.settings.transport.name(),
            "Slack transport chosen"
        );
        // Installing in other workspaces: Slack's OAuth flow, served beside either transport.
        let slack_routes = match &shared.settings.workspaces {
            None => slack_routes,
            Some(oauth) => {
                let clock = shared.clock.clone();
                let installs = slack::oauth::routes(
                    Arc::new(workspaces::Installer {
                        app: shared.app.clone(),
                    }),
                    oauth.clone(),
                    slack::oauth::OAuthClient::new(shared.settings.slack_timeout),
                    shared.settings.slack_api_url.clone(),
                    Arc::new(move || clock.now()),
                );
                Some(slack_routes.unwrap_or_default().merge(installs))
            }
        };
        let ops: Arc<dyn crate::http::Operations> = Arc::new(operations::Ops {
            shared: shared.clone(),
            health: health.clone(),
        });
        let router = crate::http::router(
            ops,
            shared.metrics.clone(),
            shared.settings.alert_token.clone(),
            shared
                .settings
                .integrations
                .pagerduty
                .as_ref()
                .and_then(|pd| pd.webhook_secret.clone()),
            shared.outside.tracker.clone().and_then(|api| {
                let secret = shared
                    .settings
                    .integrations
                    .tracker
                    .as_ref()?
                    .webhook_secret
                    .clone()?;
                Some(crate::http::TicketHooks { api, secret })
            }),
            slack_routes,
        );
        let http_stop = stopped(intake_rx);
        tasks.spawn(HTTP, async move {
            crate::http::serve(http, router, http_stop)
                .await
                .map_err(|e| e.to_string())
        });
        info!("incident-commander is running");
        let died = tasks.watch(shutdown).await;
        match &died {
            Some((task, how)) => health::report_death(&health, task, how),
            None => info!("shutting down"),
        }
        health.stopping();
        let _ = intake_tx.send(true);
        tasks.join(&[HTTP, LISTENER], INTAKE_DRAIN).await;
        let _ = worker_tx.send(true);
        // The worker waits for its jobs in flight itself (up to its own drain time).
        tasks.join(&[WORKER], INTAKE_DRAIN * 2).await;
        match died {
            Some((task, how)) => Err(StartupError::TaskDied { task, how }),
            None => Ok(()),
        }
    }
}

/// The supervised tasks' names, as logs and `/readyz` say them.
const WORKER: &str = "job worker";
const LISTENER: &str = "Socket Mode listener";
const HTTP: &str = "HTTP server";
/// How long the HTTP side and the listener get to finish at shutdown.
const INTAKE_DRAIN: Duration = Duration::from_secs(10);

/// `C123` stays as it is; `#name` is looked up once.
async fn resolve_channel(api: &SlackApi, target: &str) -> Result<String, StartupError> {
    let Some(name) = target.strip_prefix('#') else {
        return Ok(target.to_string());
    };
    match api.find_channel(name).await {
        Ok(Some(channel)) => Ok(channel.id),
        Ok(None) => Err(StartupError::NoAnnounceChannel(target.to_string())),
        Err(error) => Err(StartupError::SlackUnreachable {
            url: "conversations.list".into(),
            error,
        }),
    }
}

/// How long a claimed job is this process's before another may take it over. The worker renews
/// the leases of running jobs every third of it, so a job may run longer; a process that dies
/// loses its jobs to another replica within a lease (and on SQLite, to its own restart at once).
pub(crate) const JOB_LEASE: Duration = Duration::from_secs(6);
