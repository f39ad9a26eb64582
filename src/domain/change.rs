//! What changing an incident means: the rules, in one pure function.
//!
//! [`decide`] takes the incident as loaded, the [`Change`] asked for, who asked ([`Actor`]) and
//! `now`, and returns either a [`Refusal`] — whose `Display` is the ephemeral reply, and which
//! changes nothing — or a [`Decision`]: the incident's new state, the timeline entries to record,
//! the role assignments that open and close, the Slack [`Effect`]s to run afterwards, and the
//! reply. Handlers only load, decide, record, reply; nothing here touches Slack or the database.
//!
//! The rules:
//! - status moves follow [`Status::can_become`]: an update may move between the working
//!   statuses; `resolve` from any working status; `decline` only from `triage`; `reopen` only from
//!   a terminal status, back to `investigating`;
//! - resolve, decline and reopen are for the coordinator, the operator or an `ADMINS` user;
//! - anyone in the channel may give an empty role to anyone, or take over a held one — the
//!   takeover is announced with who held it before (a coordinator who stopped answering must not
//!   block the response);
//! - a resolved or declined incident takes no updates or escalations until reopened; notes,
//!   follow-ups, the summary, the severity and the roles stay editable for the postmortem.

use std::fmt;

use chrono::{DateTime, Utc};

use super::message::{self, Message};
use super::reminder::{self, Cadence};
use super::timeline::Entry;
use super::{Incident, Role, Severity, Status, UserId, mrkdwn};

/// A change to an incident, as asked for by a command (or, later, a modal or a button).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Update {
        status: Option<Status>,
        text: String,
    },
    Role {
        role: Role,
        to: Holder,
    },
    /// Take `role` only if nobody holds it (a button many may click: the first click wins).
    Claim(Role),
    Severity(Severity),
    Escalate {
        to: Target,
        message: Option<String>,
    },
    Summary(String),
    Note(String),
    FollowUp(String),
    Resolve(Option<String>),
    Decline(Option<String>),
    Reopen,
    /// Defer the update reminder by [`reminder::SNOOZE`].
    Snooze,
    /// `/inc remind <interval|off|default>`.
    Remind(Cadence),
}

/// Who is to hold a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// Whoever asked.
    Me,
    Person(UserId),
    /// Nobody: the role is left empty.
    Nobody,
}

/// Who an escalation brings in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Person(UserId),
    /// A Slack user group (`S…`); `handle` is how Slack labelled it (`@dba-oncall`).
    Group {
        id: String,
        handle: Option<String>,
    },
}

/// Who asked for a change.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub user: &'a str,
    /// Listed in `ADMINS`: may resolve, decline and reopen any incident.
    pub admin: bool,
}

/// What a change leaves behind.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The incident after the change (its `version` is still the loaded one: the store checks
    /// it and bumps it).
    pub incident: Incident,
    /// Timeline entries, in order, all by the actor at `now`.
    pub entries: Vec<Entry>,
    pub roles: Vec<RoleChange>,
    pub effects: Vec<Effect>,
    /// The ephemeral answer to the actor.
    pub reply: String,
}

/// One role changing hands: `from` loses it, `to` gets it (either may be nobody).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleChange {
    pub role: Role,
    pub from: Option<UserId>,
    pub to: Option<UserId>,
}

/// Slack work a change asks for, run by the job worker after the change is recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Bring the channel topic up to date with the incident.
    SyncTopic,
    /// Bring the pinned incident card up to date.
    SyncCard,
    /// Bring the announcement up to date.
    SyncAnnouncement,
    /// Post in the incident channel (posts keep the order of the commands that caused them).
    Post(Message),
    /// Post in the announcement's thread (public incidents with an announcement only).
    PostInAnnouncementThread(Message),
    Invite(Vec<UserId>),
    /// Invite every member of a user group.
    InviteGroup(String),
}

/// Why a change was refused. `Display` is the ephemeral reply; nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The incident is resolved or declined; `what` cannot happen until it is reopened.
    Closed {
        reference: String,
        status: Status,
        what: &'static str,
    },
    /// The status cannot move there.
    Transition {
        reference: String,
        from: Status,
        to: Status,
    },
    /// Only the coordinator, the operator or an admin may do `what`.
    NotPermitted {
        reference: String,
        what: &'static str,
        coordinator: Option<UserId>,
        operator: Option<UserId>,
    },
    /// Only a resolved or declined incident can be reopened.
    NotClosed { reference: String, status: Status },
    /// It is already so.
    Unchanged(String),
    /// Somebody else took the role first.
    Taken {
        reference: String,
        role: Role,
        holder: UserId,
    },
}

/// Decides `change` to `incident` asked by `actor` at `now`.
pub fn decide(
    incident: &Incident,
    change: Change,
    actor: Actor<'_>,
    now: DateTime<Utc>,
) -> Result<Decision, Refusal> {
    let mut d = Draft::new(incident);
    let who = mrkdwn::user(actor.user);
    match change {
        Change::Update { status, text } => {
            d.require_open("post updates")?;
            let moved = match status {
                Some(to) if to != incident.status => {
                    d.move_status(to)?;
                    d.entries.push(Entry::StatusChanged {
                        from: incident.status,
                        to,
                    });
                    Some(to)
                }
                _ => None,
            };
            d.next.last_update_at = now;
            let post = message::update_post(&d.next, actor.user, moved, &text);
            d.entries.push(Entry::Update {
                text,
                status: moved,
            });
            d.effects.push(Effect::Post(post.clone()));
            d.effects.push(Effect::PostInAnnouncementThread(post));
            d.sync_all(moved.is_some());
            d.reply = "Update posted.".into();
        }
        Change::Role { role, to } => {
            let to = match to {
                Holder::Me => Some(actor.user.to_string()),
                Holder::Person(user) => Some(user),
                Holder::Nobody => None,
            };
            let from = incident.holder(role).map(str::to_string);
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
                    message::role_handed_over(role, old, new, actor.user)
                }
                (None, Some(new)) => {
                    d.entries.push(Entry::RoleAssigned {
                        role,
                        user: new.clone(),
                    });
                    message::role_assigned(role, new, actor.user)
                }
                (Some(old), None) => {
                    d.entries.push(Entry::RoleReleased {
                        role,
                        user: old.clone(),
                    });
                    message::role_released(role, old, actor.user)
                }
                (None, None) => unreachable!("equal holders were refused above"),
            };
            d.next.set_holder(role, to.clone());
            d.roles.push(RoleChange {
                role,
                from,
                to: to.clone(),
            });
            if let Some(new) = to.filter(|u| u != actor.user) {
                d.effects.push(Effect::Invite(vec![new]));
            }
            d.effects.push(Effect::Post(message::notice(&notice)));
            d.effects.push(Effect::SyncCard);
            if role == Role::Coordinator {
                d.effects.push(Effect::SyncAnnouncement);
            }
            d.reply = "Done.".into();
        }
        Change::Claim(role) => {
            if let Some(holder) = incident.holder(role) {
                return Err(Refusal::Taken {
                    reference: incident.reference(),
                    role,
                    holder: holder.to_string(),
                });
            }
            let to = Holder::Me;
            return decide(incident, Change::Role { role, to }, actor, now);
        }
        Change::Severity(to) => {
            if to == incident.severity {
                return Err(Refusal::Unchanged(format!(
                    "*{}* is already {to}.",
                    incident.reference()
                )));
            }
            d.entries.push(Entry::SeverityChanged {
                from: incident.severity,
                to,
            });
            d.next.severity = to;
            d.effects.push(Effect::Post(message::notice(&format!(
                ":rotating_light: {who} changed the severity from {} to *{to}*.",
                incident.severity
            ))));
            d.sync_all(true);
            d.reply = format!("Severity is now {to}.");
        }
        Change::Escalate { to, message } => {
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
                actor.user,
                message.as_deref(),
            )));
            d.reply = format!("Escalated to {ping}.");
        }
        Change::Summary(text) => {
            if incident.summary.as_deref() == Some(text.as_str()) {
                return Err(Refusal::Unchanged("That is the summary already.".into()));
            }
            d.entries.push(Entry::SummarySet { text: text.clone() });
            d.next.summary = Some(text);
            d.sync_all(true);
            d.reply = "Summary set; the topic and the cards now show it.".into();
        }
        Change::Note(text) => {
            d.entries.push(Entry::Note { text });
            d.reply = "Noted on the timeline.".into();
        }
        Change::FollowUp(text) => {
            d.entries.push(Entry::FollowUp { text });
            d.reply = "Follow-up recorded; `/inc followups` lists them.".into();
        }
        Change::Resolve(text) => {
            d.require_permitted(actor, "resolve")?;
            d.move_status(Status::Resolved)?;
            d.next.resolved_at = Some(now);
            let post = message::resolved_post(&d.next, actor.user, text.as_deref());
            d.entries.push(Entry::Resolved {
                from: incident.status,
                text,
            });
            d.effects.push(Effect::Post(post.clone()));
            d.effects.push(Effect::PostInAnnouncementThread(post));
            d.sync_all(true);
            d.reply = format!("*{}* is resolved.", incident.reference());
        }
        Change::Decline(reason) => {
            d.require_permitted(actor, "decline")?;
            d.move_status(Status::Declined)?;
            d.next.resolved_at = Some(now);
            let post = message::declined_post(&d.next, actor.user, reason.as_deref());
            d.entries.push(Entry::Declined { reason });
            d.effects.push(Effect::Post(post.clone()));
            d.effects.push(Effect::PostInAnnouncementThread(post));
            d.sync_all(true);
            d.reply = format!("*{}* is declined.", incident.reference());
        }
        Change::Snooze => {
            d.require_open("snooze its reminder")?;
            let until = now + reminder::SNOOZE;
            d.entries.push(Entry::Snoozed { until });
            d.next.snoozed_until = Some(until);
            // The snoozed reminder itself is edited to say who snoozed it (the button's
            // caller does that): no second post.
            d.effects.push(Effect::SyncCard);
            d.reply = "Snoozed for 30 minutes.".into();
        }
        Change::Remind(cadence) => {
            if cadence == incident.cadence {
                return Err(Refusal::Unchanged(format!(
                    "Reminders for *{}* are {} already.",
                    incident.reference(),
                    cadence_words(cadence)
                )));
            }
            d.entries.push(Entry::RemindersSet {
                to: cadence_word(cadence),
            });
            d.next.cadence = cadence;
            d.effects.push(Effect::Post(message::notice(&format!(
                ":alarm_clock: {who} set update reminders for *{}* to {}.",
                incident.reference(),
                cadence_words(cadence)
            ))));
            d.effects.push(Effect::SyncCard);
            d.reply = format!("Reminders are {} now.", cadence_words(cadence));
        }
        Change::Reopen => {
            d.require_permitted(actor, "reopen")?;
            if !incident.status.is_terminal() {
                return Err(Refusal::NotClosed {
                    reference: incident.reference(),
                    status: incident.status,
                });
            }
            d.move_status(Status::Investigating)?;
            d.next.resolved_at = None;
            d.next.last_update_at = now;
            let post = message::reopened_post(&d.next, actor.user);
            d.entries.push(Entry::Reopened {
                from: incident.status,
            });
            d.effects.push(Effect::Post(post.clone()));
            d.effects.push(Effect::PostInAnnouncementThread(post));
            d.sync_all(true);
            d.reply = format!("*{}* is open again.", incident.reference());
        }
    }
    if d.next.private {
        d.effects.retain(|e| {
            !matches!(
                e,
                Effect::PostInAnnouncementThread(_) | Effect::SyncAnnouncement
            )
        });
    }
    Ok(Decision {
        incident: d.next,
        entries: d.entries,
        roles: d.roles,
        effects: d.effects,
        reply: d.reply,
    })
}

/// How a cadence is stored on the timeline: `off`, `default`, `15m`.
pub fn cadence_word(cadence: Cadence) -> String {
    match cadence {
        Cadence::Default => "default".into(),
        Cadence::Off => "off".into(),
        Cadence::Every(every) => message::span(every).replace(' ', ""),
    }
}

/// How a cadence reads: `off`, `back to the default`, `every 15 min`.
fn cadence_words(cadence: Cadence) -> String {
    match cadence {
        Cadence::Default => "on the default schedule".into(),
        Cadence::Off => "off".into(),
        Cadence::Every(every) => format!("every {}", message::span(every)),
    }
}

/// A decision being built.
struct Draft<'a> {
    before: &'a Incident,
    next: Incident,
    entries: Vec<Entry>,
    roles: Vec<RoleChange>,
    effects: Vec<Effect>,
    reply: String,
}

impl<'a> Draft<'a> {
    fn new(before: &'a Incident) -> Draft<'a> {
        Draft {
            before,
            next: before.clone(),
            entries: Vec::new(),
            roles: Vec::new(),
            effects: Vec::new(),
            reply: String::new(),
        }
    }

    fn require_open(&self, what: &'static str) -> Result<(), Refusal> {
        if self.before.status.is_terminal() {
            return Err(Refusal::Closed {
                reference: self.before.reference(),
                status: self.before.status,
                what,
            });
        }
        Ok(())
    }

    fn require_permitted(&self, actor: Actor<'_>, what: &'static str) -> Result<(), Refusal> {
        let holds = |role| self.before.holder(role) == Some(actor.user);
        if actor.admin || holds(Role::Coordinator) || holds(Role::Operator) {
            return Ok(());
        }
        Err(Refusal::NotPermitted {
            reference: self.before.reference(),
            what,
            coordinator: self.before.holder(Role::Coordinator).map(str::to_string),
            operator: self.before.holder(Role::Operator).map(str::to_string),
        })
    }

    fn move_status(&mut self, to: Status) -> Result<(), Refusal> {
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
    fn sync_all(&mut self, changed: bool) {
        if changed {
            self.effects.push(Effect::SyncTopic);
            self.effects.push(Effect::SyncAnnouncement);
        }
        self.effects.push(Effect::SyncCard);
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Closed {
                reference,
                status,
                what,
            } => write!(
                f,
                "*{reference}* is {status}, so you cannot {what}. `/inc reopen` it first."
            ),
            Refusal::Transition {
                reference,
                from,
                to,
            } => {
                let why = match (from, to) {
                    (_, Status::Declined) => "only an incident still in `triage` can be declined",
                    (_, Status::Triage) => "`triage` is only where an incident starts",
                    (Status::Resolved | Status::Declined, _) => "`/inc reopen` it first",
                    (_, Status::Investigating) => {
                        "only a resolved or declined incident can be reopened"
                    }
                    _ => "that is where it is already",
                };
                write!(
                    f,
                    "*{reference}* is `{from}` and cannot become `{to}`: {why}."
                )
            }
            Refusal::NotPermitted {
                reference,
                what,
                coordinator,
                operator,
            } => {
                let holders: Vec<String> = [("coordinator", coordinator), ("operator", operator)]
                    .into_iter()
                    .filter_map(|(role, user)| {
                        user.as_ref()
                            .map(|u| format!("the {role} ({})", mrkdwn::user(u)))
                    })
                    .collect();
                if holders.is_empty() {
                    write!(
                        f,
                        "Only the coordinator, the operator or an admin may {what} *{reference}*, \
                         and nobody holds those roles: take one first with `/inc coordinator me`."
                    )
                } else {
                    write!(
                        f,
                        "Only {} or an admin may {what} *{reference}*.",
                        holders.join(", ")
                    )
                }
            }
            Refusal::NotClosed { reference, status } => write!(
                f,
                "*{reference}* is open (`{status}`); only a resolved or declined incident can be reopened."
            ),
            Refusal::Unchanged(text) => f.write_str(text),
            Refusal::Taken {
                reference,
                role,
                holder,
            } => write!(
                f,
                "{} took the {role} role for *{reference}* first. If they stop answering, take over with `/inc {role} me` in its channel.",
                mrkdwn::user(holder)
            ),
        }
    }
}

#[cfg(test)]
mod tests;
