//! `/inc stats [days]`: reads the period's incidents in a fixed number of queries and lets the
//! domain compute and word the figures, for the person who asked (private incidents are
//! counted but named only to their members). With a tracker, the follow-ups of the period's
//! resolved incidents against `FOLLOWUP_DUE`.

use super::Shared;
use crate::domain::followup;
use crate::domain::stats::{self, FollowUpFigures, Slos};
use crate::slack::Ack;
use crate::store::StoreError;

/// The ephemeral reply to `/inc stats` for `viewer`.
pub(crate) async fn reply(shared: &Shared, viewer: &str, days: u32) -> Result<Ack, StoreError> {
    let now = shared.clock.now();
    let from = now - chrono::Duration::days(i64::from(days));
    // `to` is exclusive: include what was declared this very millisecond.
    let to = now + chrono::Duration::milliseconds(1);
    let facts = shared
        .store
        .declared_between(&shared.ws.id, from, to)
        .await?;
    let slos = Slos {
        triage: shared.settings.slo_triage,
        resolution: shared.settings.slo_resolution,
    };
    let participating = shared.store.participating(viewer).await?;
    let mut report = stats::report(&facts, days, slos, viewer, &participating, now);
    if let Some(tracker) = &shared.settings.integrations.tracker {
        let mut entries = shared
            .store
            .followups_declared_between(&shared.ws.id, from, to)
            .await?;
        let incidents: Vec<_> = facts
            .iter()
            .map(|f| {
                let timeline = entries.remove(&f.incident.id).unwrap_or_default();
                (f.incident.clone(), followup::followups(&timeline))
            })
            .collect();
        report = report.with_followups(FollowUpFigures::count(&incidents, tracker.due, now));
    }
    Ok(Ack::ephemeral(stats::render(&report)))
}
