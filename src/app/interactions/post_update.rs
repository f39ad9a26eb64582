//! "Post update" (on the incident card and the reminder): opens the Update modal.

use std::sync::Arc;

use super::Answer;
use crate::app::{Shared, modals};
use crate::domain::{Incident, modal};
use crate::slack::{Ack, Click};

pub(super) fn handle(shared: &Arc<Shared>, incident: Incident, click: Click) -> Answer<'_> {
    Box::pin(async move {
        let form = modal::update_modal(&incident);
        modals::open(shared, click.trigger_id, form, click.response_url);
        Ok(Ack::Empty)
    })
}
