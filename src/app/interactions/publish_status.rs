//! "Status page…" (offered when the incident is resolved here while its public incident is
//! not, and by a rule): opens the status-page form — prefilled to resolve when the incident is
//! over — as `/inc statuspage` does.

use std::sync::Arc;

use super::Answer;
use crate::app::steps::tell;
use crate::app::{Shared, modals};
use crate::domain::{Incident, message};
use crate::slack::{Ack, Click};

pub(super) fn handle(shared: &Arc<Shared>, incident: Incident, click: Click) -> Answer<'_> {
    Box::pin(async move {
        if shared.outside.statuspage.is_none() {
            tell(shared, click.response_url, message::statuspage_off()).await;
            return Ok(Ack::Empty);
        }
        let resolving = incident.status.is_terminal();
        modals::open_statuspage(
            shared,
            click.trigger_id,
            incident,
            resolving,
            click.response_url,
        );
        Ok(Ack::Empty)
    })
}
