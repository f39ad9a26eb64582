//! A decision being built: what every rule starts from and the checks several rules share
//! (the incident is open, the actor may end it, the status may move there). Rules write into it;
//! [`super::decide`] finishes it into a [`Decision`]. No rule of its own lives here.

use chrono::{DateTime, Utc};

use super::{Actor, Decision, Effect, Refusal, RoleChange};
use crate::domain::reminder::Policy;
use crate::domain::timeline::Entry;
use crate::domain::{Incident, Role, Status};

/// A decision being built by one rule.
pub(super) struct Draft<'a> {
    /// The incident as loaded.
    pub before: &'a Incident,
    /// The incident after the change.
    pub next: Incident,
    pub actor: Actor<'a>,
    /// The configured reminder intervals.
    pub policy: &'a Policy,
    pub now: DateTime<Utc>,
    pub entries: Vec<Entry>,
    pub roles: Vec<RoleChange>,
    pub effects: Vec<Effect>,
    pub reply: String,
}

impl<'a> Draft<'a> {
    pub fn new(
        before: &'a Incident,
        actor: Actor<'a>,
        policy: &'a Policy,
        now: DateTime<Utc>,
    ) -> Draft<'a> {
        Draft {
            before,
            next: before.clone(),
            actor,
            policy,
            now,
            entries: Vec::new(),
            roles: Vec::new(),
            effects: Vec::new(),
            reply: String::new(),
        }
    }

    /// Refused when the incident is resolved or declined: `what` waits for a reopen.
    pub fn require_open(&self, what: &'static str) -> Result<(), Refusal> {
        if self.before.status.is_terminal() {
            return Err(Refusal::Closed {
                reference: self.before.reference(),
                status: self.before.status,
                what,
            });
        }
        Ok(())
    }

    /// Refused unless the actor is the coordinator, the operator or an admin.
    pub fn require_permitted(&self, what: &'static str) -> Result<(), Refusal> {
        let user = self.actor.user;
        let holds = |role| self.before.holder(role) == Some(user);
        if self.actor.admin || holds(Role::Coordinator) || holds(Role::Operator) {
            return Ok(());
        }
        Err(Refusal::NotPermitted {
            reference: self.before.reference(),
            what,
            coordinator: self.before.holder(Role::Coordinator).map(str::to_string),
            operator: self.before.holder(Role::Operator).map(str::to_string),
        })
    }

    /// Moves the status to `to` if [`Status::can_become`] allows it.
    pub fn move_status(&mut self, to: Status) -> Result<(), Refusal> {
        let from = self.before.status;
        if !from.can_become(to) {
            return Err(Refusal::Transition {
                reference: self.before.reference(),
                from,
                to,
            });
        }
        self.next.status = to;
        Ok(())
    }

    /// The topic and both cards show severity, status and summary; `changed` says whether this
    /// change touched one of them.
    pub fn sync_all(&mut self, changed: bool) {
        if changed {
            self.effects.push(Effect::SyncTopic);
            self.effects.push(Effect::SyncAnnouncement);
        }
        self.effects.push(Effect::SyncCard);
    }

    /// The decision, with what holds for every change: a private incident's touches no
    /// announcement; an archived channel is told nothing (it takes no post, edit or invite:
    /// the change is recorded, and the announcement's thread still hears of it); the reminder
    /// moves only when its time moves.
    pub fn finish(mut self) -> Decision {
        if self.next.archived_at.is_some() {
            self.effects.retain(|e| {
                !matches!(
                    e,
                    Effect::Post(_)
                        | Effect::SyncCard
                        | Effect::SyncTopic
                        | Effect::Invite(_)
                        | Effect::InviteGroup(_)
                )
            });
        }
        if self.next.private {
            self.effects.retain(|e| {
                !matches!(
                    e,
                    Effect::PostInAnnouncementThread(_) | Effect::SyncAnnouncement
                )
            });
        }
        let (postmortem_reminder, archive) = crate::domain::aftercare::rearm(
            self.before,
            &self.next,
            &self.policy.aftercare,
            self.now,
        );
        Decision {
            reminder: self.policy.rearm(self.before, &self.next),
            postmortem_reminder,
            archive,
            incident: self.next,
            entries: self.entries,
            roles: self.roles,
            effects: self.effects,
            reply: self.reply,
        }
    }
}
