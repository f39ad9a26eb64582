//! The Update modal's submission: the status, the summary and the update, applied together.

use std::sync::Arc;

use super::{Answer, view_errors};
use crate::app::{Shared, changes};
use crate::domain::cause::Cause;
use crate::domain::change::Change;
use crate::domain::modal::UpdateForm;
use crate::slack::{Ack, Submission};

pub(super) fn handle(shared: &Arc<Shared>, submission: Submission) -> Answer<'_> {
    Box::pin(async move {
        let form = match UpdateForm::parse(&submission.values, &submission.private_metadata) {
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
        let key = Cause::View(submission.view_id);
        let user = &submission.user;
        match changes::apply(shared, incident, &asked, user, &key, &[]).await? {
            changes::Applied::Refused(why) => Ok(view_errors(vec![("status", why)])),
            changes::Applied::Busy => {
                Ok(view_errors(vec![("text", changes::Applied::Busy.text())]))
            }
            changes::Applied::Yes(_) | changes::Applied::AlreadyDone => Ok(Ack::Empty),
        }
    })
}
