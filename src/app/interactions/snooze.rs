//! "Snooze 30m" (on the update reminder): the reminder waits, and says who snoozed it.

use std::sync::Arc;

use super::{Answer, apply_click, edit_clicked};
use crate::app::Shared;
use crate::domain::change::Change;
use crate::domain::{Incident, message};
use crate::slack::Click;

pub(super) fn handle(shared: &Arc<Shared>, incident: Incident, click: Click) -> Answer<'_> {
    Box::pin(async move {
        let snoozed = edit_clicked(&click, message::reminder_snoozed(&incident, &click.user));
        apply_click(shared, incident, Change::Snooze, click, snoozed).await
    })
}
