//! The `/inc` slash command: parse, decide, record, reply — within the ack.
//!
//! A declaration is one store transaction (incident, roles, timeline, idempotency key, first job)
//! followed by a wake-up of the job worker; the channel is created by the worker after the ack.
//! A rejected command changes nothing and says why. A database failure is told to the user too:
//! nothing is ever silently dropped.

use std::sync::Arc;
use std::time::Duration;

use tracing::{error, info};

use super::Shared;
use super::steps::Step;
use crate::domain::severity::DEFAULT_LEVELS;
use crate::domain::{Command, NewIncident, Severity, command, message};
use crate::slack::{Inbound, Reply, SlashCommand};
use crate::store::{Declaration, Declared, StoreError};

/// The same person declaring the same title at the same severity within this window is treated
/// as a retry of their first declaration.
const RETRY_WINDOW: Duration = Duration::from_secs(120);

pub(crate) struct Handler {
    shared: Arc<Shared>,
}

impl Handler {
    pub(crate) fn new(shared: Arc<Shared>) -> Handler {
        Handler { shared }
    }

    async fn handle(&self, cmd: &SlashCommand) -> Result<Reply, StoreError> {
        let parsed = match command::parse(&cmd.text, DEFAULT_LEVELS) {
            Ok(parsed) => parsed,
            Err(e) => return Ok(Reply::new(e.to_string())),
        };
        match parsed {
            Command::Help => Ok(Reply::new(message::help())),
            Command::List => {
                let open = self.shared.store.open_incidents().await?;
                Ok(Reply::new(message::incident_list(&open, &cmd.user_id)))
            }
            Command::Declare {
                severity,
                triage,
                title,
            } => self.declare(cmd, severity, triage, &title).await,
        }
    }

    async fn declare(
        &self,
        cmd: &SlashCommand,
        severity: Severity,
        triage: bool,
        title: &str,
    ) -> Result<Reply, StoreError> {
        let now = self.shared.clock.now();
        let incident = NewIncident::from_fast_path(&cmd.user_id, severity, triage, title, now);
        let first = Step::CreateChannel {
            response_url: Some(cmd.response_url.clone()),
        };
        let declaration = Declaration {
            key: format!("slash:{}", cmd.trigger_id),
            incident,
            jobs: vec![first.job(None, now)],
            duplicate_window: RETRY_WINDOW,
        };
        match self.shared.store.declare(declaration, now).await? {
            Declared::New(incident) => {
                self.shared.wake.notify_one();
                info!(incident.number = incident.number, severity = %incident.severity, "declared");
                Ok(Reply::new(message::declared_reply(&incident)))
            }
            Declared::Existing(incident) => {
                info!(
                    incident.number = incident.number,
                    "repeated declaration answered with the existing incident"
                );
                Ok(Reply::new(message::already_declared_reply(&incident)))
            }
        }
    }
}

#[async_trait::async_trait]
impl Inbound for Handler {
    async fn slash_command(&self, cmd: SlashCommand) -> Reply {
        match self.handle(&cmd).await {
            Ok(reply) => reply,
            Err(e) => {
                error!(error = %e, "slash command failed");
                Reply::new(
                    ":warning: incident-commander could not reach its database, so nothing was recorded. \
                     Please try again in a moment.",
                )
            }
        }
    }
}
