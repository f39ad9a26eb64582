//! What people do in Slack's interface: the "Declare incident" shortcut on a message, the
//! Declare and Update modals' submissions, and the buttons on the bot's messages.
//!
//! Like a command, each is decided within the ack in at most one transaction: a submission is
//! recorded (or answered with errors on its fields), a click is applied (or answered through its
//! response URL, by a job). Idempotency: a submission is keyed by its view id (a double click
//! submits the same view twice), a click by its trigger id, and a shortcut on a message that
//! already became an incident finds it.

use std::sync::Arc;

use tracing::debug;

use super::commands::{GRAMMAR, declare_new};
use super::steps::Step;
use super::{Shared, changes, modals, postmortem};
use crate::domain::change::Change;
use crate::domain::message::{self, actions};
use crate::domain::modal::{self, DeclareForm, DeclarePrefill, UpdateForm, Values};
use crate::domain::source::SourceMessage;
use crate::domain::{Incident, Role};
use crate::slack::{Ack, Interaction};
use crate::store::StoreError;

/// A field every modal has an error can be shown under when the fault is not one field's.
pub(crate) const FIRST_FIELD: &str = "title";

pub(crate) async fn handle(
    shared: &Arc<Shared>,
    interaction: Interaction,
) -> Result<Ack, StoreError> {
    match interaction {
        Interaction::MessageShortcut {
            callback_id,
            user,
            trigger_id,
            response_url,
            source,
        } if callback_id == modal::SHORTCUT => {
            shortcut(shared, &user, trigger_id, response_url, source).await
        }
        Interaction::ViewSubmission {
            callback_id,
            view_id,
            user,
            private_metadata,
            values,
        } => match callback_id.as_str() {
            modal::DECLARE => declare(shared, &view_id, &user, &private_metadata, &values).await,
            modal::UPDATE => update(shared, &view_id, &user, &private_metadata, &values).await,
            other => {
                debug!(
                    callback_id = other,
                    "a submission of a modal the bot does not know"
                );
                Ok(Ack::Empty)
            }
        },
        Interaction::ButtonClick {
            action_id,
            value,
            user,
            trigger_id,
            response_url,
            channel,
            message_ts,
        } => {
            let Some(incident) = incident_named(shared, &value).await? else {
                debug!(
                    action_id,
                    value, "a click for an incident that does not exist"
                );
                return Ok(Ack::Empty);
            };
            match action_id.as_str() {
                actions::POST_UPDATE => {
                    let form = modal::update_modal(&incident);
                    modals::open(shared, trigger_id, form, response_url);
                }
                actions::TAKE_COORDINATOR | actions::SNOOZE => {
                    // The clicked message loses its button and says who clicked: the call for a
                    // coordinator becomes a note of who took it; the reminder, who snoozed it.
                    let (change, replacement) = if action_id == actions::SNOOZE {
                        (Change::Snooze, message::reminder_snoozed(&incident, &user))
                    } else {
                        let taken = message::coordinator_taken(&incident, &user);
                        (Change::Claim(Role::Coordinator), taken)
                    };
                    let edit = channel.zip(message_ts).map(|(channel, ts)| Step::Edit {
                        channel,
                        ts,
                        message: replacement,
                    });
                    click(
                        shared,
                        incident,
                        change,
                        &user,
                        &trigger_id,
                        response_url,
                        edit,
                    )
                    .await?;
                }
                actions::WRITE_POSTMORTEM => {
                    let key = format!("action:{trigger_id}");
                    let url = response_url.clone();
                    let reply = postmortem::request(shared, &incident, &key, &user, url).await?;
                    modals::tell(shared, response_url, reply).await;
                }
                other => debug!(
                    action_id = other,
                    "a click on a button the bot does not know"
                ),
            }
            Ok(Ack::Empty)
        }
        other => {
            debug!(?other, "an interaction the bot does not handle");
            Ok(Ack::Empty)
        }
    }
}

/// The shortcut: the Declare modal prefilled from the message — unless the message already
/// became an incident, which the person is told about instead.
async fn shortcut(
    shared: &Arc<Shared>,
    user: &str,
    trigger_id: String,
    response_url: String,
    source: SourceMessage,
) -> Result<Ack, StoreError> {
    if let Some(incident) = shared
        .store
        .incident_by_source(&source.channel, &source.ts)
        .await?
    {
        let text = message::already_declared_from(&incident);
        modals::tell(shared, Some(response_url), text).await;
        return Ok(Ack::Empty);
    }
    let grouped = shared.settings.coordinator_group.is_some();
    let declarer = user.to_string();
    let url = response_url.clone();
    let build = move |source| {
        let mut prefill = DeclarePrefill::from_message(&declarer, source, grouped);
        prefill.response_url = Some(url);
        modal::declare_modal(&prefill, GRAMMAR.levels)
    };
    modals::open_for_source(shared, trigger_id, source, build, response_url);
    Ok(Ack::Empty)
}

/// A Declare submission: errors on their fields, or one incident per view.
async fn declare(
    shared: &Shared,
    view_id: &str,
    user: &str,
    metadata: &str,
    values: &Values,
) -> Result<Ack, StoreError> {
    let form = match DeclareForm::parse(values, metadata, GRAMMAR.levels) {
        Ok(form) => form,
        Err(errors) => return Ok(view_errors(errors)),
    };
    let response_url = form.response_url.clone();
    let incident = form.incident(user, shared.clock.now());
    declare_new(shared, format!("view:{view_id}"), incident, response_url).await?;
    Ok(Ack::Empty)
}

/// An Update submission: the status, the summary and the update, applied together.
async fn update(
    shared: &Shared,
    view_id: &str,
    user: &str,
    metadata: &str,
    values: &Values,
) -> Result<Ack, StoreError> {
    let form = match UpdateForm::parse(values, metadata) {
        Ok(form) => form,
        Err(errors) => return Ok(view_errors(errors)),
    };
    let Some(incident) = shared.store.incident(form.incident).await? else {
        return Ok(view_errors(vec![(
            "text",
            "That incident no longer exists.".into(),
        )]));
    };
    let mut asked = Vec::new();
    if let Some(summary) = form
        .summary
        .filter(|s| incident.summary.as_deref() != Some(s))
    {
        asked.push(Change::Summary(summary));
    }
    asked.push(Change::Update {
        status: form.status.filter(|s| *s != incident.status),
        text: form.text,
    });
    let key = format!("view:{view_id}");
    match changes::apply(shared, incident, &asked, user, &key, &[]).await? {
        changes::Applied::Refused(why) => Ok(view_errors(vec![("status", why)])),
        changes::Applied::Busy => Ok(view_errors(vec![("text", changes::Applied::Busy.text())])),
        changes::Applied::Yes(_) | changes::Applied::AlreadyDone => Ok(Ack::Empty),
    }
}

/// A click that changes the incident: applied (with `also`, e.g. editing the clicked message), or
/// refused — the clicker is told why through the response URL (the "Take coordinator" clicked
/// second, the reminder of a resolved incident).
async fn click(
    shared: &Shared,
    incident: Incident,
    change: Change,
    user: &str,
    trigger_id: &str,
    response_url: Option<String>,
    also: Option<Step>,
) -> Result<(), StoreError> {
    let key = format!("action:{trigger_id}");
    let also: Vec<Step> = also.into_iter().collect();
    let applied = changes::apply(shared, incident, &[change], user, &key, &also).await?;
    if let changes::Applied::Refused(_) | changes::Applied::Busy = applied {
        modals::tell(shared, response_url, applied.text()).await;
    }
    Ok(())
}

/// The incident a button's value names (its id).
async fn incident_named(shared: &Shared, value: &str) -> Result<Option<Incident>, StoreError> {
    match value.parse::<i64>() {
        Ok(id) => shared.store.incident(id).await,
        Err(_) => Ok(None),
    }
}

fn view_errors(errors: Vec<(&'static str, String)>) -> Ack {
    Ack::ViewErrors(
        errors
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}
