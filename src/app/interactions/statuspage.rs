//! The status-page form's submission: what to publish, decided as a change (`Publish`) of the
//! incident the form was opened for, so a submission Slack delivers twice publishes once; the
//! page is called by a job.

use std::sync::Arc;

use super::{Answer, view_errors};
use crate::app::{Shared, changes};
use crate::domain::cause::Cause;
use crate::domain::change::Change;
use crate::domain::modal::statuspage::StatuspageForm;
use crate::domain::outside::Publication;
use crate::slack::{Ack, Submission};

pub(super) fn handle(shared: &Arc<Shared>, submission: Submission) -> Answer<'_> {
    Box::pin(async move {
        let form = match StatuspageForm::parse(&submission.values, &submission.private_metadata) {
            Ok(form) => form,
            Err(errors) => return Ok(view_errors(errors)),
        };
        let Some(incident) = shared.store.incident(form.incident).await? else {
            return Ok(view_errors(vec![(
                "title",
                "That incident no longer exists.".into(),
            )]));
        };
        let publication = Publication {
            title: form.title,
            status: form.status,
            message: form.message,
            components: form.components,
        };
        let key = Cause::View(submission.view_id);
        let change = Change::Publish(publication);
        match changes::apply(shared, incident, &[change], &submission.user, &key, &[]).await? {
            changes::Applied::Refused(why) => Ok(view_errors(vec![("status", why)])),
            changes::Applied::Busy => {
                Ok(view_errors(vec![("title", changes::Applied::Busy.text())]))
            }
            changes::Applied::Yes(_) | changes::Applied::AlreadyDone => Ok(Ack::Empty),
        }
    })
}
