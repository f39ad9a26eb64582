//! "I'll write the postmortem" (on the resolution): the clicker owns the postmortem — as
//! `/inc postmortem owner me` — and the channel is told; anyone may volunteer. Refused (told
//! through the response URL) once the postmortem is done.

use std::sync::Arc;

use super::{Answer, apply_click};
use crate::app::Shared;
use crate::domain::Incident;
use crate::domain::change::{Change, Holder};
use crate::slack::Click;

pub(super) fn handle(shared: &Arc<Shared>, incident: Incident, click: Click) -> Answer<'_> {
    Box::pin(async move {
        let change = Change::PostmortemPlan {
            owner: Some(Holder::Me),
            due_days: None,
        };
        apply_click(shared, incident, change, click, None).await
    })
}
