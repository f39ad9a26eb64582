//! `/inc escalate <@user|@group> [message]`: invites the person, or every member of the user
//! group, and pings them in the channel with the message. Not on a resolved or declined
//! incident.

use super::draft::Draft;
use super::{Effect, Refusal, Target};
use crate::domain::timeline::Entry;
use crate::domain::{message, mrkdwn};

pub(super) fn decide(
    d: &mut Draft<'_>,
    to: Target,
    message: Option<String>,
) -> Result<(), Refusal> {
    d.require_open("escalate")?;
    let (users, group, ping) = match &to {
        Target::Person(user) => (vec![user.clone()], None, mrkdwn::user(user)),
        Target::Group { id, .. } => (Vec::new(), Some(id.clone()), mrkdwn::group(id)),
    };
    d.entries.push(Entry::Escalated {
        users: users.clone(),
        group: group.clone(),
        message: message.clone(),
    });
    match group {
        Some(group) => d.effects.push(Effect::InviteGroup(group)),
        None => d.effects.push(Effect::Invite(users)),
    }
    d.effects.push(Effect::Post(message::escalation(
        &d.next,
        &ping,
        d.actor.user,
        message.as_deref(),
    )));
    d.reply = format!("Escalated to {ping}.");
    Ok(())
}
