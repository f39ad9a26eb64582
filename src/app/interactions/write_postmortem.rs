//! "Write postmortem" (on the resolution): exports the draft, as `/inc postmortem` does; the
//! clicker is told it is on its way (or why not) through the response URL.

use std::sync::Arc;

use super::Answer;
use crate::app::Shared;
use crate::app::steps::{self, tell};
use crate::domain::Incident;
use crate::domain::cause::Cause;
use crate::slack::{Ack, Click};

pub(super) fn handle(shared: &Arc<Shared>, incident: Incident, click: Click) -> Answer<'_> {
    Box::pin(async move {
        let key = Cause::Action(click.trigger_id);
        let url = click.response_url;
        let reply =
            steps::request_postmortem(shared, &incident, &key, &click.user, url.clone()).await?;
        tell(shared, url, reply).await;
        Ok(Ack::Empty)
    })
}
