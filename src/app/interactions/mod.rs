//! What people do in Slack's interface: the "Declare incident" shortcut on a message, the
//! Declare and Update modals' submissions, and the buttons on the bot's messages.
//!
//! **One table ([`ACTIONS`]) dispatches them**, as `COMMANDS` does commands: one entry per
//! shortcut, modal and button, with the id Slack sends back (a shortcut's or a modal's
//! `callback_id`, a button's `action_id`), how its payload is read, and its handler, in a file
//! of its own. A button's value is read here, as the incident it is on; a modal's values by its
//! form's parser, in its file. A test holds the table to the domain's buttons
//! ([`Action::ALL`](crate::domain::message::Action::ALL)) and modals.
//!
//! Like a command, each is decided within the ack in at most one transaction: a submission is
//! recorded (or answered with errors on its fields), a click is applied (or answered through its
//! response URL, by a job). Idempotency: a submission is keyed by its view id (a double click
//! submits the same view twice), a click by its trigger id, and a shortcut on a message that
//! already became an incident finds it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tracing::debug;

use super::steps::{Step, tell};
use super::{Shared, changes};
use crate::domain::cause::Cause;
use crate::domain::change::Change;
use crate::domain::message::Action;
use crate::domain::{Incident, modal};
use crate::slack::{Ack, Click, Interaction, Shortcut, Submission};
use crate::store::StoreError;

mod declare;
mod file_ticket;
mod own_postmortem;
mod post_update;
mod publish_status;
mod shortcut;
mod snooze;
mod statuspage;
mod take_coordinator;
mod update;
mod write_postmortem;

/// A field every modal has an error can be shown under when the fault is not one field's.
pub(crate) const FIRST_FIELD: &str = "title";

/// What a handler answers, in time for the ack.
type Answer<'a> = Pin<Box<dyn Future<Output = Result<Ack, StoreError>> + Send + 'a>>;

/// What arrives for an entry, and the function that answers it.
pub(crate) enum Handler {
    /// A message shortcut, by its `callback_id`.
    Shortcut(for<'a> fn(&'a Arc<Shared>, Shortcut) -> Answer<'a>),
    /// A modal's submission, by the modal's `callback_id`; the handler parses its values.
    View(for<'a> fn(&'a Arc<Shared>, Submission) -> Answer<'a>),
    /// A click on a button, by its `action_id`, on the incident its value names.
    Button(for<'a> fn(&'a Arc<Shared>, Incident, Click) -> Answer<'a>),
}

/// One shortcut, modal or button the bot answers.
pub(crate) struct Entry {
    pub id: &'static str,
    pub handler: Handler,
}

/// Everything the bot answers in Slack's interface, by the id Slack sends back.
pub(crate) static ACTIONS: &[Entry] = &[
    Entry {
        id: modal::SHORTCUT,
        handler: Handler::Shortcut(shortcut::handle),
    },
    Entry {
        id: modal::DECLARE,
        handler: Handler::View(declare::handle),
    },
    Entry {
        id: modal::UPDATE,
        handler: Handler::View(update::handle),
    },
    Entry {
        id: modal::STATUSPAGE,
        handler: Handler::View(statuspage::handle),
    },
    Entry {
        id: Action::PostUpdate.id(),
        handler: Handler::Button(post_update::handle),
    },
    Entry {
        id: Action::TakeCoordinator.id(),
        handler: Handler::Button(take_coordinator::handle),
    },
    Entry {
        id: Action::Snooze.id(),
        handler: Handler::Button(snooze::handle),
    },
    Entry {
        id: Action::WritePostmortem.id(),
        handler: Handler::Button(write_postmortem::handle),
    },
    Entry {
        id: Action::PublishStatus.id(),
        handler: Handler::Button(publish_status::handle),
    },
    Entry {
        id: Action::FileTicket.id(),
        handler: Handler::Button(file_ticket::handle),
    },
    Entry {
        id: Action::OwnPostmortem.id(),
        handler: Handler::Button(own_postmortem::handle),
    },
];

/// The entry answering `interaction`: its kind and its id must both match.
fn entry_for(interaction: &Interaction) -> Option<&'static Handler> {
    ACTIONS
        .iter()
        .find(|entry| match (interaction, &entry.handler) {
            (Interaction::MessageShortcut(s), Handler::Shortcut(_)) => s.callback_id == entry.id,
            (Interaction::ViewSubmission(v), Handler::View(_)) => v.callback_id == entry.id,
            (Interaction::ButtonClick(c), Handler::Button(_)) => c.action_id == entry.id,
            _ => false,
        })
        .map(|entry| &entry.handler)
}

pub(crate) async fn handle(
    shared: &Arc<Shared>,
    interaction: Interaction,
) -> Result<Ack, StoreError> {
    match (entry_for(&interaction), interaction) {
        (Some(Handler::Shortcut(handle)), Interaction::MessageShortcut(shortcut)) => {
            handle(shared, shortcut).await
        }
        (Some(Handler::View(handle)), Interaction::ViewSubmission(submission)) => {
            handle(shared, submission).await
        }
        (Some(Handler::Button(handle)), Interaction::ButtonClick(click)) => {
            let Some(incident) = incident_named(shared, &click.value).await? else {
                debug!(
                    action_id = click.action_id,
                    value = click.value,
                    "a click for an incident that does not exist"
                );
                return Ok(Ack::Empty);
            };
            handle(shared, incident, click).await
        }
        (_, other) => {
            debug!(?other, "an interaction the bot does not handle");
            Ok(Ack::Empty)
        }
    }
}

/// A click that changes the incident: applied (with `also`, e.g. editing the clicked message), or
/// refused — the clicker is told why through the response URL (the "Take coordinator" clicked
/// second, the reminder of a resolved incident).
async fn apply_click(
    shared: &Shared,
    incident: Incident,
    change: Change,
    click: Click,
    also: Option<Step>,
) -> Result<Ack, StoreError> {
    let key = Cause::Action(click.trigger_id);
    let also: Vec<Step> = also.into_iter().collect();
    let applied = changes::apply(shared, incident, &[change], &click.user, &key, &also).await?;
    if let changes::Applied::Refused(_) | changes::Applied::Busy = applied {
        tell(shared, click.response_url, applied.text()).await;
    }
    Ok(Ack::Empty)
}

/// The clicked message, replaced by `message` (it loses its button and says who clicked).
fn edit_clicked(click: &Click, message: crate::domain::message::Message) -> Option<Step> {
    let channel = click.channel.clone()?;
    let ts = click.message_ts.clone()?;
    Some(Step::Edit {
        channel,
        ts,
        message,
    })
}

/// The incident a button's value names (its id, before any `:<item>`).
async fn incident_named(shared: &Shared, value: &str) -> Result<Option<Incident>, StoreError> {
    let id = value.split_once(':').map_or(value, |(id, _)| id);
    match id.parse::<i64>() {
        Ok(id) => shared.store.incident(id).await,
        Err(_) => Ok(None),
    }
}

/// A modal's answer that keeps it open with `errors` under their fields.
fn view_errors(errors: Vec<(&'static str, String)>) -> Ack {
    Ack::ViewErrors(
        errors
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_button_the_bot_posts_has_one_entry() {
        for action in Action::ALL {
            let answered = ACTIONS
                .iter()
                .filter(|e| e.id == action.id() && matches!(e.handler, Handler::Button(_)))
                .count();
            assert_eq!(answered, 1, "{action:?} is answered by one entry");
        }
    }

    #[test]
    fn every_modal_and_the_shortcut_have_one_entry_and_no_id_is_listed_twice() {
        for (id, is_view) in [
            (modal::DECLARE, true),
            (modal::UPDATE, true),
            (modal::SHORTCUT, false),
        ] {
            let entry = ACTIONS.iter().find(|e| e.id == id).expect("listed");
            assert_eq!(matches!(entry.handler, Handler::View(_)), is_view, "{id}");
        }
        let ids: HashSet<&str> = ACTIONS.iter().map(|e| e.id).collect();
        assert_eq!(ids.len(), ACTIONS.len(), "an id answers one thing");
    }
}
