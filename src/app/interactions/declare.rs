//! The Declare modal's submission: errors on their fields, or one incident per view.

use std::sync::Arc;

use super::{Answer, view_errors};
use crate::app::Shared;
use crate::app::commands::{GRAMMAR, declare_new};
use crate::domain::cause::Cause;
use crate::domain::modal::DeclareForm;
use crate::slack::{Ack, Submission};

pub(super) fn handle(shared: &Arc<Shared>, submission: Submission) -> Answer<'_> {
    Box::pin(async move {
        let values = &submission.values;
        let form = match DeclareForm::parse(values, &submission.private_metadata, GRAMMAR.levels) {
            Ok(form) => form,
            Err(errors) => return Ok(view_errors(errors)),
        };
        let response_url = form.response_url.clone();
        let pages = form.page.clone();
        let tz = shared.settings.tz;
        let incident = form.incident(&submission.user, shared.clock.now(), tz);
        let cause = Cause::View(submission.view_id);
        declare_new(shared, cause, incident, response_url, &pages, None).await?;
        Ok(Ack::Empty)
    })
}
