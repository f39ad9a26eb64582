//! `/inc archive` and `/inc keep`: the channel of a resolved incident. `archive` archives it now
//! (by the postmortem's owner, the coordinator, the operator or an `ADMINS` user) — whether or
//! not its postmortem is done; `keep` (by anyone in the channel) means it is never archived by
//! the bot. The announce channel is never an incident's channel, so it is never archived.

use super::draft::Draft;
use super::postmortem_plan::require_owner_or_permitted;
use super::{Effect, Refusal};
use crate::domain::timeline::Entry;
use crate::domain::{Status, message};

pub(super) fn archive(d: &mut Draft<'_>) -> Result<(), Refusal> {
    require_owner_or_permitted(d, "archive the channel")?;
    if d.before.status != Status::Resolved {
        return Err(Refusal::Unchanged(format!(
            "*{}* is {}: only a resolved incident's channel is archived.",
            d.before.reference(),
            d.before.status
        )));
    }
    d.next.keep_channel = false;
    d.effects.push(Effect::ArchiveChannel);
    d.reply = format!("Archiving the channel of *{}*.", d.before.reference());
    Ok(())
}

pub(super) fn keep(d: &mut Draft<'_>) -> Result<(), Refusal> {
    if d.before.keep_channel {
        return Err(Refusal::Unchanged(
            "This channel is kept already: it will not be archived.".into(),
        ));
    }
    d.next.keep_channel = true;
    d.entries.push(Entry::ChannelKept {});
    d.effects
        .push(Effect::Post(message::kept_post(d.actor.user)));
    d.reply = "Kept: the bot will not archive this channel.".into();
    Ok(())
}
