//! The status-page form submitted: what a person chose to tell customers is published — by
//! anyone in the incident's channel, in any status (resolving the public incident comes after
//! the incident is resolved here). Nothing is on the timeline until the page has it (the step
//! records it, with the link); the reply says it is on its way.

use super::draft::Draft;
use super::{Effect, Refusal};
use crate::domain::outside::Publication;

pub(super) fn decide(d: &mut Draft<'_>, publication: Publication) -> Result<(), Refusal> {
    d.effects.push(Effect::PublishStatus {
        by: d.actor.user.to_string(),
        publication,
    });
    d.reply = "Publishing to the status page…".into();
    Ok(())
}
