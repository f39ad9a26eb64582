//! "Take coordinator" (on the call to the coordinator group): the clicker takes the role, and
//! the call becomes a note of who took it — or, clicked second, the clicker is told who has it.

use std::sync::Arc;

use super::{Answer, apply_click, edit_clicked};
use crate::app::Shared;
use crate::domain::change::Change;
use crate::domain::{Incident, Role, message};
use crate::slack::Click;

pub(super) fn handle(shared: &Arc<Shared>, incident: Incident, click: Click) -> Answer<'_> {
    Box::pin(async move {
        let taken = edit_clicked(&click, message::coordinator_taken(&incident, &click.user));
        let change = Change::Claim(Role::Coordinator);
        apply_click(shared, incident, change, click, taken).await
    })
}
