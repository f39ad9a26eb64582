//! The `/inc` slash command: parse, then either answer from the database (help, list, status,
//! roles, follow-ups), declare, or change the incident of the channel it was typed in — always
//! within the ack. A rejected command changes nothing and says why. A database failure is told
//! to the user too: nothing is ever silently dropped.

use std::sync::Arc;
use std::time::Duration;

use tracing::{error, info};

use super::steps::Step;
use super::{Shared, changes};
use crate::domain::command::{self, Command, Grammar, Scope};
use crate::domain::severity::DEFAULT_LEVELS;
use crate::domain::{Incident, NewIncident, Severity, message};
use crate::slack::{Ack, Inbound, SlashCommand};
use crate::store::{Declaration, Declared, StoreError};

/// The same person declaring the same title at the same severity within this window is treated
/// as a retry of their first declaration.
const RETRY_WINDOW: Duration = Duration::from_secs(120);

const GRAMMAR: Grammar = Grammar {
    levels: DEFAULT_LEVELS,
};

pub(crate) struct Handler {
    shared: Arc<Shared>,
}

impl Handler {
    pub(crate) fn new(shared: Arc<Shared>) -> Handler {
        Handler { shared }
    }

    async fn handle(&self, cmd: &SlashCommand) -> Result<Ack, StoreError> {
        let parsed = match command::parse(&cmd.text, &GRAMMAR) {
            Ok(parsed) => parsed,
            Err(e) => return Ok(Ack::ephemeral(e.to_string())),
        };
        if parsed.spec.scope == Scope::IncidentChannel {
            let Some(incident) = self
                .shared
                .store
                .incident_by_channel(&cmd.channel_id)
                .await?
            else {
                let open = self.shared.store.open_incidents().await?;
                let suggested = suggestions(&open, &cmd.user_id);
                return Ok(Ack::ephemeral(message::not_in_incident_channel(
                    parsed.spec.name(),
                    &suggested,
                )));
            };
            return self.in_channel(cmd, incident, parsed.command).await;
        }
        match parsed.command {
            Command::Help => Ok(Ack::ephemeral(command::help())),
            Command::List => {
                let open = self.shared.store.open_incidents().await?;
                Ok(Ack::ephemeral(message::incident_list(&open, &cmd.user_id)))
            }
            Command::Declare {
                severity,
                triage,
                title,
            } => self.declare(cmd, severity, triage, &title).await,
            Command::Stats { days } => super::stats::reply(&self.shared, &cmd.user_id, days).await,
            other => Err(StoreError::Corrupt(format!(
                "{other:?} is not a command that works anywhere"
            ))),
        }
    }

    /// A command typed in `incident`'s channel.
    async fn in_channel(
        &self,
        cmd: &SlashCommand,
        incident: Incident,
        command: Command,
    ) -> Result<Ack, StoreError> {
        let text = match command {
            Command::Status => message::status_card(&incident, self.shared.clock.now()),
            Command::Roles => message::roles_list(&incident),
            Command::FollowUps => {
                let timeline = self.shared.store.timeline(incident.id).await?;
                message::followups_list(&incident, &timeline)
            }
            Command::Change(change) => {
                let key = format!("slash:{}", cmd.trigger_id);
                return changes::apply(&self.shared, incident, change, &cmd.user_id, &key).await;
            }
            other => {
                return Err(StoreError::Corrupt(format!(
                    "{other:?} is not an in-channel command"
                )));
            }
        };
        Ok(Ack::ephemeral(text))
    }

    async fn declare(
        &self,
        cmd: &SlashCommand,
        severity: Severity,
        triage: bool,
        title: &str,
    ) -> Result<Ack, StoreError> {
        let now = self.shared.clock.now();
        let incident = NewIncident::from_fast_path(&cmd.user_id, severity, triage, title, now);
        let first = Step::CreateChannel {
            response_url: Some(cmd.response_url.clone()),
        };
        let key = format!("slash:{}", cmd.trigger_id);
        let declaration = Declaration {
            // The incident has no id yet; only the `sync_*` steps use it in their keys.
            jobs: vec![first.job(0, &key, now)],
            key,
            incident,
            duplicate_window: RETRY_WINDOW,
        };
        match self.shared.store.declare(declaration, now).await? {
            Declared::New(incident) => {
                self.shared.wake.notify_one();
                info!(incident.number = incident.number, severity = %incident.severity, "declared");
                Ok(Ack::ephemeral(message::declared_reply(&incident)))
            }
            Declared::Existing(incident) => {
                info!(
                    incident.number = incident.number,
                    "repeated declaration answered with the existing incident"
                );
                Ok(Ack::ephemeral(message::already_declared_reply(&incident)))
            }
        }
    }
}

/// The open incidents `user` may see, theirs first (declared or holding a role), then by
/// severity: where an in-channel command typed elsewhere was probably meant to go.
fn suggestions<'a>(open: &'a [Incident], user: &str) -> Vec<&'a Incident> {
    let mut visible: Vec<&Incident> = open.iter().filter(|i| i.visible_to(user)).collect();
    visible.sort_by_key(|i| {
        let involved = i.declared_by == user || i.roles.iter().any(|(_, u)| u == user);
        (!involved, i.severity, i.number)
    });
    visible
}

#[async_trait::async_trait]
impl Inbound for Handler {
    async fn slash_command(&self, cmd: SlashCommand) -> Ack {
        match self.handle(&cmd).await {
            Ok(ack) => ack,
            Err(e) => {
                error!(error = %e, "slash command failed");
                Ack::ephemeral(
                    ":warning: incident-commander could not reach its database, so nothing was recorded. \
                     Please try again in a moment.",
                )
            }
        }
    }
}
