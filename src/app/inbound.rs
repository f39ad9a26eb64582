//! The application's side of the inbound port: each kind of envelope goes to its handler —
//! `commands`, `interactions`, `events` — and a database failure becomes an answer the user can read,
//! never a silent drop.

use std::sync::Arc;

use tracing::error;

use super::{Shared, commands, events, interactions};
use crate::slack::{Ack, Event, Inbound, Interaction, SlashCommand};

/// What the application does with what Slack sends.
pub(crate) struct Handler {
    shared: Arc<Shared>,
}

impl Handler {
    pub(crate) fn new(shared: Arc<Shared>) -> Handler {
        Handler { shared }
    }
}

const DATABASE_DOWN: &str = ":warning: incident-commander could not reach its database, so \
     nothing was recorded. Please try again in a moment.";

#[async_trait::async_trait]
impl Inbound for Handler {
    async fn slash_command(&self, cmd: SlashCommand) -> Ack {
        match commands::handle(&self.shared, &cmd).await {
            Ok(ack) => ack,
            Err(e) => {
                error!(error = %e, "slash command failed");
                Ack::ephemeral(DATABASE_DOWN)
            }
        }
    }

    async fn interaction(&self, interaction: Interaction) -> Ack {
        let is_submission = matches!(interaction, Interaction::ViewSubmission(_));
        match interactions::handle(&self.shared, interaction).await {
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

    async fn event(&self, event: Event) {
        if let Err(e) = events::handle(&self.shared, &event).await {
            // Acked anyway: Slack's redelivery would meet the same database. The event is lost
            // from the timeline; the log says which.
            error!(error = %e, event_id = %event.event_id, "recording an event failed");
        }
    }
}
