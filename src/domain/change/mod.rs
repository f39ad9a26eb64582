//! What changing an incident means: the list of changes, and one rule per file.
//!
//! [`decide`] takes the incident as loaded, the [`Change`] asked for, who asked ([`Actor`]), the
//! configured reminder [`Policy`] and `now`, and returns either a [`Refusal`] — whose `Display`
//! is the ephemeral reply, and which changes nothing — or a [`Decision`]: the incident's new
//! state, the timeline entries to record, the role assignments that open and close, the Slack
//! [`Effect`]s to run afterwards, what becomes of the update reminder ([`Rearm`]), and the
//! reply. [`decide_all`] decides several changes asked at once (the Update modal) as one.
//! Handlers only load, decide, record, reply; nothing here touches Slack or the database.
//!
//! Each change's rule is a function in its own file, whose header says the rule: `update`,
//! `role` (a role given, taken over or released; the claim a button makes), `severity`,
//! `escalate`, `summary`, `note`, `followup`, `resolve`, `decline`, `reopen`, `snooze`,
//! `remind`, `page`, `page_news`, `publish`, `ticket_news`, `postmortem_plan`,
//! `postmortem_done`, `archive` (with `keep`), `duplicate`, `impact`. `draft` holds what rules share: the decision being built, and the checks — the
//! incident is open (resolved and declined incidents take no updates, escalations or snoozes
//! until reopened; notes, follow-ups, the summary, the severity and the roles stay editable for
//! the postmortem), the actor may end it (the coordinator, the operator or an `ADMINS` user),
//! the status may move there ([`Status::can_become`]). What holds for every change is applied
//! once, when the draft is finished: a private incident's decision touches no announcement, and
//! the reminder moves only when its time moves ([`Policy::rearm`]).
//!
//! Adding a change: its variant in [`Change`], its file, its `mod` line and its arm in
//! [`decide`] below, and its row in `tests.rs`.

use chrono::{DateTime, Utc};

use super::message::Message;
use super::reminder::{Cadence, Policy, Rearm};
use super::timeline::Entry;
use super::{Incident, Role, Severity, Status, UserId};

mod archive;
mod decline;
mod draft;
mod duplicate;
mod escalate;
mod followup;
pub mod impact;
mod note;
mod page;
pub mod page_news;
mod postmortem_done;
mod postmortem_plan;
mod publish;
mod refusal;
mod remind;
mod reopen;
mod resolve;
mod role;
mod severity;
mod snooze;
mod summary;
pub mod ticket_news;
mod update;

pub use refusal::Refusal;

/// A change to an incident, as asked for by a command, a modal (Update) or a button (Take
/// coordinator, Snooze).
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
    /// Defer the update reminder by [`super::reminder::SNOOZE`].
    Snooze,
    /// `/inc remind <interval|off|default>`.
    Remind(Cadence),
    /// `/inc page <service> [message]`: call the service's on-call through PagerDuty.
    Page {
        service: String,
        message: Option<String>,
    },
    /// PagerDuty said what became of a page.
    PageNews(page_news::News),
    /// The status-page form submitted: publish it.
    Publish(super::outside::Publication),
    /// A tracker said a follow-up's ticket was closed or opened again.
    TicketNews(ticket_news::News),
    /// `/inc postmortem owner|due`: who writes the postmortem, and in how many working days.
    PostmortemPlan {
        owner: Option<Holder>,
        due_days: Option<u32>,
    },
    /// `/inc postmortem done <link>`.
    PostmortemDone(String),
    /// `/inc archive`: archive the resolved incident's channel now.
    Archive,
    /// `/inc keep`: never archive the channel.
    Keep,
    /// `/inc duplicate INC-n`: close it as a duplicate of that incident.
    Duplicate(Original),
    /// `/inc impact …`: when customers were affected, and who.
    Impact {
        start: Option<impact::ClockTime>,
        end: Option<impact::ClockTime>,
        who: Option<String>,
    },
}

/// The incident another one duplicates, as the app found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Original {
    pub id: super::IncidentId,
    pub reference: String,
    pub channel: Option<super::ChannelId>,
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
    /// What becomes of the update reminder, moved in the same transaction as the change.
    pub reminder: Rearm,
    /// What becomes of the postmortem owner's reminder ([`super::aftercare`]).
    pub postmortem_reminder: Rearm,
    /// What becomes of the channel's archive check ([`super::aftercare`]).
    pub archive: Rearm,
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
    /// Page the on-call of a PagerDuty service (a `trigger`, deduplicated per incident and
    /// service).
    Page {
        service: String,
        message: Option<String>,
    },
    /// The incident is over here (resolved or declined): what outside systems hold open for it
    /// follows — its pages are resolved in PagerDuty, resolving its public incident on the status
    /// page is offered.
    CloseOutside,
    /// Publish on the status page what `by` submitted.
    PublishStatus {
        by: UserId,
        publication: super::outside::Publication,
    },
    /// File the follow-up `followup` as a ticket in the tracker (when one is configured).
    FileTicket {
        followup: super::outside::FollowUpId,
    },
    /// Archive the incident channel now.
    ArchiveChannel,
    /// Post in another channel (the original's, for a duplicate).
    PostIn {
        channel: super::ChannelId,
        message: Message,
    },
}

/// Decides `change` to `incident` asked by `actor` at `now`: each change to its rule.
pub fn decide(
    incident: &Incident,
    change: Change,
    actor: Actor<'_>,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Decision, Refusal> {
    let mut d = draft::Draft::new(incident, actor, policy, now);
    match change {
        Change::Update { status, text } => update::decide(&mut d, status, text),
        Change::Role { role, to } => role::assign(&mut d, role, to),
        Change::Claim(role) => role::claim(&mut d, role),
        Change::Severity(to) => severity::decide(&mut d, to),
        Change::Escalate { to, message } => escalate::decide(&mut d, to, message),
        Change::Summary(text) => summary::decide(&mut d, text),
        Change::Note(text) => note::decide(&mut d, text),
        Change::FollowUp(text) => followup::decide(&mut d, text),
        Change::Resolve(text) => resolve::decide(&mut d, text),
        Change::Decline(reason) => decline::decide(&mut d, reason),
        Change::Reopen => reopen::decide(&mut d),
        Change::Snooze => snooze::decide(&mut d),
        Change::Remind(cadence) => remind::decide(&mut d, cadence),
        Change::Page { service, message } => page::decide(&mut d, service, message),
        Change::PageNews(news) => page_news::decide(&mut d, news),
        Change::Publish(publication) => publish::decide(&mut d, publication),
        Change::TicketNews(news) => ticket_news::decide(&mut d, news),
        Change::PostmortemPlan { owner, due_days } => {
            postmortem_plan::decide(&mut d, owner, due_days)
        }
        Change::PostmortemDone(link) => postmortem_done::decide(&mut d, link),
        Change::Archive => archive::archive(&mut d),
        Change::Keep => archive::keep(&mut d),
        Change::Duplicate(original) => duplicate::decide(&mut d, original),
        Change::Impact { start, end, who } => impact::decide(&mut d, start, end, who),
    }?;
    Ok(d.finish())
}

/// Decides `changes` one after the other, each on the state the previous one left, as one
/// decision: recorded together or not at all (the Update modal: summary, status and update).
/// A refusal of any of them refuses them all. Effects asked twice are run once; the reply is
/// the last change's; the reminder moves from where it was before the first.
pub fn decide_all(
    incident: &Incident,
    changes: &[Change],
    actor: Actor<'_>,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Decision, Refusal> {
    let mut merged: Option<Decision> = None;
    for change in changes {
        let base = merged.as_ref().map_or(incident, |d| &d.incident);
        let next = decide(base, change.clone(), actor, policy, now)?;
        merged = Some(match merged {
            None => next,
            Some(mut d) => {
                d.incident = next.incident;
                d.entries.extend(next.entries);
                d.roles.extend(next.roles);
                for effect in next.effects {
                    if !d.effects.contains(&effect) {
                        d.effects.push(effect);
                    }
                }
                d.reply = next.reply;
                d
            }
        });
    }
    let mut decision = merged.ok_or_else(|| Refusal::Unchanged("Nothing to change.".into()))?;
    decision.reminder = policy.rearm(incident, &decision.incident);
    (decision.postmortem_reminder, decision.archive) =
        super::aftercare::rearm(incident, &decision.incident, &policy.aftercare, now);
    Ok(decision)
}

#[cfg(test)]
mod tests;
