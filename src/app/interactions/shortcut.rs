//! The "Declare incident" shortcut on a message: the Declare modal prefilled from the message —
//! unless the message already became an incident, which the person is told about instead.

use std::sync::Arc;

use super::Answer;
use crate::app::commands::GRAMMAR;
use crate::app::steps::tell;
use crate::app::{Shared, modals};
use crate::domain::message;
use crate::domain::modal::{self, DeclarePrefill};
use crate::slack::{Ack, Shortcut};

pub(super) fn handle(shared: &Arc<Shared>, shortcut: Shortcut) -> Answer<'_> {
    Box::pin(async move {
        let Shortcut {
            user,
            trigger_id,
            response_url,
            source,
            ..
        } = shortcut;
        if let Some(incident) = shared
            .store
            .incident_by_source(&source.channel, &source.ts)
            .await?
        {
            let text = message::already_declared_from(&incident);
            tell(shared, Some(response_url), text).await;
            return Ok(Ack::Empty);
        }
        let grouped = shared.ws.config.coordinator_group.is_some();
        let url = response_url.clone();
        let services = crate::app::commands::services(shared);
        let affected = crate::app::commands::affected_services(shared);
        let build = move |source| {
            let mut prefill = DeclarePrefill::from_message(&user, source, grouped);
            prefill.response_url = Some(url);
            prefill.services = services;
            prefill.affected = affected;
            modal::declare_modal(&prefill, GRAMMAR.levels)
        };
        modals::open_for_source(shared, trigger_id, source, build, response_url);
        Ok(Ack::Empty)
    })
}
