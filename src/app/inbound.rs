//! The application's side of the inbound port: each envelope is taken to the workspace it came
//! from (`workspaces`: a workspace that has not installed the app is told so, and nothing is
//! recorded), then each kind goes to its handler — `commands`, `interactions`, `events` — and a
//! database failure becomes an answer the user can read, never a silent drop. The app's removal
//! from a workspace (`app_uninstalled`, `tokens_revoked`) is recorded here (`workspaces::uninstalled`).

use std::sync::Arc;

use tracing::error;

use super::{Shared, commands, events, interactions, workspaces};
use crate::slack::{Ack, Event, EventKind, Inbound, Interaction, SlashCommand, Team};
use crate::store::StoreError;

/// What the application does with what Slack sends.
pub(crate) struct Handler {
    shared: Arc<Shared>,
}

impl Handler {
    pub(crate) fn new(shared: Arc<Shared>) -> Handler {
        Handler { shared }
    }

    /// The application as `team` sees it; `None` where the app is not installed.
    async fn workspace(&self, team: &Team) -> Result<Option<Arc<Shared>>, StoreError> {
        let workspaces = &self.shared.workspaces;
        Ok(
            match workspaces
                .for_team(&self.shared, &team.id, team.enterprise.as_deref())
                .await?
            {
                Some(w) if w.id == self.shared.ws.id => Some(self.shared.clone()),
                Some(w) => Some(self.shared.with(&w)),
                None => None,
            },
        )
    }
}

/// What someone in a workspace without the app is told (the app was removed, or the request
/// names a workspace this deployment does not serve).
const NOT_INSTALLED: &str = ":warning: incident-commander is not installed in this workspace \
     (or was removed), so nothing was recorded. A workspace admin can install it again.";

const DATABASE_DOWN: &str = ":warning: incident-commander could not reach its database, so \
     nothing was recorded. Please try again in a moment.";

#[async_trait::async_trait]
impl Inbound for Handler {
    async fn slash_command(&self, team: Team, cmd: SlashCommand) -> Ack {
        let shared = match self.workspace(&team).await {
            Ok(Some(shared)) => shared,
            Ok(None) => return Ack::ephemeral(NOT_INSTALLED),
            Err(e) => {
                error!(error = %e, "slash command failed");
                return Ack::ephemeral(DATABASE_DOWN);
            }
        };
        match commands::handle(&shared, &cmd).await {
            Ok(ack) => ack,
            Err(e) => {
                error!(error = %e, "slash command failed");
                Ack::ephemeral(DATABASE_DOWN)
            }
        }
    }

    async fn interaction(&self, team: Team, interaction: Interaction) -> Ack {
        let is_submission = matches!(interaction, Interaction::ViewSubmission(_));
        let shared = match self.workspace(&team).await {
            Ok(Some(shared)) => Ok(shared),
            // A click has nowhere to say it; a form says it on its first field.
            Ok(None) if is_submission => {
                return Ack::ViewErrors(vec![(
                    interactions::FIRST_FIELD.to_string(),
                    NOT_INSTALLED.to_string(),
                )]);
            }
            Ok(None) => return Ack::Empty,
            Err(e) => Err(e),
        };
        let handled = match shared {
            Ok(shared) => interactions::handle(&shared, interaction).await,
            Err(e) => Err(e),
        };
        match handled {
            Ok(ack) => ack,
            Err(e) => {
                error!(error = %e, "interaction failed");
                // A modal stays open with the reason; a click has nowhere to say it.
                if is_submission {
                    Ack::ViewErrors(vec![(
                        interactions::FIRST_FIELD.to_string(),
                        DATABASE_DOWN.to_string(),
                    )])
                } else {
                    Ack::Empty
                }
            }
        }
    }

    async fn event(&self, team: Team, event: Event) {
        if event.kind == EventKind::Uninstalled {
            if let Err(e) = workspaces::uninstalled(&self.shared, &team).await {
                // Slack sends the event again: the answer is an ack whatever happens, so the
                // log says it; the workspace's tokens no longer work either way.
                error!(error = %e, team = %team.id, "recording an uninstall failed");
            }
            return;
        }
        let shared = match self.workspace(&team).await {
            Ok(Some(shared)) => shared,
            Ok(None) => return,
            Err(e) => {
                error!(error = %e, event_id = %event.event_id, "recording an event failed");
                return;
            }
        };
        if let Err(e) = events::handle(&shared, &event).await {
            // Acked anyway: Slack's redelivery would meet the same database. The event is lost
            // from the timeline; the log says which.
            error!(error = %e, event_id = %event.event_id, "recording an event failed");
        }
    }
}
