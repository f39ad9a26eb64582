//! `/inc role <role> <who>` (and its shortcuts), and the **Take coordinator** button.
//!
//! Anyone in the channel may give an empty role to anyone, or take over a held one — the
//! takeover is announced with who held it before (a coordinator who stopped answering must not
//! block the response). Someone given a role by another is invited. A claim (the button many
//! may click) takes the role only while nobody holds it: the first click wins. Roles stay
//! editable after resolution, for the postmortem.

use super::draft::Draft;
use super::{Effect, Holder, Refusal, RoleChange};
use crate::domain::timeline::Entry;
use crate::domain::{Role, message, mrkdwn};

/// Gives `role` to `to`.
pub(super) fn assign(d: &mut Draft<'_>, role: Role, to: Holder) -> Result<(), Refusal> {
    let actor = d.actor.user;
    let to = match to {
        Holder::Me => Some(actor.to_string()),
        Holder::Person(user) => Some(user),
        Holder::Nobody => None,
    };
    let from = d.before.holder(role).map(str::to_string);
    if from == to {
        return Err(Refusal::Unchanged(match to {
            Some(user) => format!("{} is already the {role}.", mrkdwn::user(&user)),
            None => format!("Nobody is the {role}."),
        }));
    }
    let notice = match (&from, &to) {
        (Some(old), Some(new)) => {
            d.entries.push(Entry::RoleHandedOver {
                role,
                from: old.clone(),
                to: new.clone(),
            });
            message::role_handed_over(role, old, new, actor)
        }
        (None, Some(new)) => {
            d.entries.push(Entry::RoleAssigned {
                role,
                user: new.clone(),
            });
            message::role_assigned(role, new, actor)
        }
        (Some(old), None) => {
            d.entries.push(Entry::RoleReleased {
                role,
                user: old.clone(),
            });
            message::role_released(role, old, actor)
        }
        (None, None) => unreachable!("equal holders were refused above"),
    };
    d.next.set_holder(role, to.clone());
    d.roles.push(RoleChange {
        role,
        from,
        to: to.clone(),
    });
    if let Some(new) = to.filter(|u| u != actor) {
        d.effects.push(Effect::Invite(vec![new]));
    }
    d.effects.push(Effect::Post(message::notice(&notice)));
    d.effects.push(Effect::SyncCard);
    if role == Role::Coordinator {
        d.effects.push(Effect::SyncAnnouncement);
    }
    d.reply = "Done.".into();
    Ok(())
}

/// Takes `role` for the actor only if nobody holds it.
pub(super) fn claim(d: &mut Draft<'_>, role: Role) -> Result<(), Refusal> {
    if let Some(holder) = d.before.holder(role) {
        return Err(Refusal::Taken {
            reference: d.before.reference(),
            role,
            holder: holder.to_string(),
        });
    }
    assign(d, role, Holder::Me)
}
