//! Use cases: Slack asked for something → the domain decides → the store records it → the job
//! worker makes it true in Slack.
//!
//! [`App`] wires the adapters together. [`App::build`] connects and migrates the database, checks
//! the bot token with `auth.test` (a bad token fails startup loudly) and resolves the announce
//! channel; [`App::run`] starts Socket Mode and the job worker and runs until shutdown.
//!
//! - [`inbound`]: the port's implementation: each kind of envelope to its handler.
//! - [`commands`]: the `/inc` handler — decides the ack within one database transaction.
//! - [`interactions`]: the shortcut, the modals' submissions, the buttons.
//! - [`events`]: pins and joins in incident channels, onto the timeline.
//! - [`modals`]: opening a modal — the one Slack call made off a job, within 3 seconds.
//! - [`changes`]: changing an incident — load, decide (the domain), record, reply.
//! - [`steps`]: every piece of Slack work as durable, idempotent job steps.
//! - [`worker`]: claims due jobs (replica-safe), runs them, retries with backoff or reports.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tracing::info;

use crate::config::Settings;
use crate::slack::{self, BotIdentity, SlackApi, SlackError, SocketMode};
use crate::store::{self, Store, StoreError};

mod changes;
pub mod clock;
mod commands;
mod events;
mod inbound;
mod interactions;
mod modals;
pub mod steps;
mod worker;

pub use clock::{Clock, SystemClock};

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
    #[error("cannot build the HTTP client: {0}")]
    Http(#[from] std::io::Error),
    #[error("cannot start Socket Mode: {0}")]
    SocketMode(String),
}

/// What every use case shares. Cheap to clone through `Arc`.
pub(crate) struct Shared {
    pub settings: Settings,
    pub store: Store,
    pub slack: SlackApi,
    pub bot: BotIdentity,
    /// The announce channel's id, resolved at startup from `ANNOUNCE_CHANNEL`.
    pub announce_channel: Option<String>,
    pub clock: Arc<dyn Clock>,
    /// Wakes the job worker when new work was recorded.
    pub wake: Notify,
    /// This process's lease owner id: random, so a restarted process never mistakes an old
    /// lease for its own.
    pub owner: String,
}

/// The incident-commander application.
pub struct App {
    shared: Arc<Shared>,
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
        let api = SlackApi::new(client, &settings.bot_token, settings.slack_timeout);
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
        Ok(App {
            shared: Arc::new(Shared {
                settings,
                store,
                slack: api,
                bot,
                announce_channel,
                clock,
                wake: Notify::new(),
                owner: uuid::Uuid::new_v4().to_string(),
            }),
        })
    }

    /// The store, for tests and offline commands.
    pub fn store(&self) -> Store {
        self.shared.store.clone()
    }

    /// Who the bot is.
    pub fn bot(&self) -> &BotIdentity {
        &self.shared.bot
    }

    /// Runs Socket Mode and the job worker until `shutdown` completes, then stops both: the
    /// listener first (no new work), then the worker after its in-flight jobs.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), StartupError> {
        let inbound: Arc<dyn slack::Inbound> = Arc::new(inbound::Handler::new(self.shared.clone()));
        let socket = SocketMode::start(
            &self.shared.slack,
            &self.shared.settings.app_token,
            self.shared.settings.socket_connections,
            inbound,
        )
        .await
        .map_err(|e| StartupError::SocketMode(e.to_string()))?;
        if let Some(digest) = &self.shared.settings.digest {
            let now = self.shared.clock.now();
            let tz = self.shared.settings.tz;
            if let Some(slot) = crate::domain::reminder::next_digest(&digest.schedule, tz, now) {
                // Kept if a digest is pending already (one slot at a time, across replicas).
                self.shared
                    .store
                    .enqueue(None, steps::digest_job(slot))
                    .await?;
                info!(next = %slot, cron = %digest.expression, "digest scheduled");
            }
        }
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let worker = tokio::spawn(worker::run(self.shared.clone(), stop_rx));
        info!("incident-commander is running");
        shutdown.await;
        info!("shutting down");
        socket.shutdown().await;
        let _ = stop_tx.send(true);
        let _ = worker.await;
        Ok(())
    }
}

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
pub(crate) const JOB_LEASE: Duration = Duration::from_secs(8);
