//! What caused a piece of work, and the keys made of it: **keys name their cause.**
//!
//! Every payload Slack sends is recorded once under its [`Cause`] (`slash:<trigger_id>`,
//! `view:<view id>`, …); every job is enqueued once under a [`JobKey`] built from the cause that
//! asked for it, or, for work kept once per incident, from the incident. The texts are the ones
//! stored in the database (`idempotency_keys.key`, `jobs.key`): they never change, or pending
//! jobs of an earlier version would no longer dedupe. ARCHITECTURE.md's key table is generated
//! from [`JobKey::table`] (a test keeps them equal).

use std::fmt;

use super::IncidentId;

/// What asked for something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// A slash command, by its `trigger_id`.
    Slash(String),
    /// A modal's submission, by the view's id: the same for every submission of one modal.
    View(String),
    /// A click on a button, by its `trigger_id`.
    Action(String),
    /// An Events API event, by its `event_id`.
    Event(String),
    /// An alert received, by a receipt id of its own (an alert carries no unique id).
    Alert(String),
    /// A job, by its id: the steps it enqueues when it finishes.
    Job(i64),
    /// An incident's declaration, once its channel exists: the steps that follow the channel.
    Declared(IncidentId),
    /// A PagerDuty webhook, by its event's id (a redelivered or replayed one changes nothing).
    PagerDuty(String),
    /// A tracker's webhook about a ticket: `<tracker>:<delivery id>`.
    Ticket(String),
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Slash(trigger) => write!(f, "slash:{trigger}"),
            Cause::View(view) => write!(f, "view:{view}"),
            Cause::Action(trigger) => write!(f, "action:{trigger}"),
            Cause::Event(event) => write!(f, "event:{event}"),
            Cause::Alert(receipt) => write!(f, "alert:{receipt}"),
            Cause::Job(id) => write!(f, "job:{id}"),
            Cause::Declared(id) => write!(f, "declared:{id}"),
            Cause::PagerDuty(event) => write!(f, "pagerduty:{event}"),
            Cause::Ticket(news) => write!(f, "ticket:{news}"),
        }
    }
}

impl std::str::FromStr for Cause {
    type Err = String;

    /// A cause from its key (`slash:T1`, `job:41`): how a stored key reads back.
    fn from_str(key: &str) -> Result<Cause, String> {
        let (kind, rest) = key
            .split_once(':')
            .ok_or_else(|| format!("{key:?} names no cause"))?;
        let number = || {
            rest.parse::<i64>()
                .map_err(|_| format!("{key:?}: {rest:?} is not a number"))
        };
        Ok(match kind {
            "slash" => Cause::Slash(rest.into()),
            "view" => Cause::View(rest.into()),
            "action" => Cause::Action(rest.into()),
            "event" => Cause::Event(rest.into()),
            "alert" => Cause::Alert(rest.into()),
            "job" => Cause::Job(number()?),
            "declared" => Cause::Declared(number()?),
            "pagerduty" => Cause::PagerDuty(rest.into()),
            "ticket" => Cause::Ticket(rest.into()),
            _ => return Err(format!("{key:?} names no cause")),
        })
    }
}

impl Cause {
    /// The payload's idempotency key, as stored (`slash:<trigger_id>`).
    pub fn key(&self) -> String {
        self.to_string()
    }

    /// Everything this cause asks for as a whole.
    pub fn whole(&self) -> Caused {
        self.part(Part::Whole)
    }

    /// One part of what this cause asks for.
    pub fn part(&self, part: Part) -> Caused {
        Caused {
            cause: self.clone(),
            part,
        }
    }
}

/// Which part of what a cause asked for a step is: one cause may ask for several posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The cause's one step of a kind.
    Whole,
    /// The change's `n`th effect (`<cause>:<n>:<step>`).
    Effect(usize),
    /// The `n`th step a handler adds to a change (`<cause>:also<n>:<step>`).
    Also(usize),
    /// The copy of the message an incident was declared from.
    Source,
    /// The call for a coordinator.
    Coordinator,
    /// The webhook of the cause's `entry`th timeline entry to the `url`th of `WEBHOOK_URLS`.
    Hook { entry: usize, url: usize },
    /// A rule's `n`th action (its job and the post that tells of it).
    Action(usize),
}

/// A cause and the part of it a step is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caused {
    pub cause: Cause,
    pub part: Part,
}

impl fmt::Display for Caused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.part {
            Part::Whole => write!(f, "{}", self.cause),
            Part::Effect(n) => write!(f, "{}:{n}", self.cause),
            Part::Also(n) => write!(f, "{}:also{n}", self.cause),
            Part::Source => write!(f, "{}:source", self.cause),
            Part::Coordinator => write!(f, "{}:coordinator", self.cause),
            Part::Hook { entry, url } => write!(f, "{}:hook{entry}.{url}", self.cause),
            Part::Action(n) => write!(f, "{}:act{n}", self.cause),
        }
    }
}

/// The incident a job is for: one the store numbered, or the one being declared in the same
/// transaction (its id is the store's to give).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentRef {
    Id(IncidentId),
    New,
}

/// Work kept once per incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PerIncident {
    SyncTopic,
    SyncCard,
    SyncAnnouncement,
    Reminder,
    Nudge,
    /// Asking the tracker about the incident's open tickets.
    PollTickets,
    /// Reminding the postmortem's owner (a day before it is due, then daily while overdue).
    PostmortemReminder,
    /// The notice a day before the channel is archived, then its archiving.
    ArchiveCheck,
}

impl PerIncident {
    fn word(self) -> &'static str {
        match self {
            PerIncident::SyncTopic => "sync_topic",
            PerIncident::SyncCard => "sync_card",
            PerIncident::SyncAnnouncement => "sync_announcement",
            PerIncident::Reminder => "reminder",
            PerIncident::Nudge => "nudge",
            PerIncident::PollTickets => "poll_tickets",
            PerIncident::PostmortemReminder => "postmortem_reminder",
            PerIncident::ArchiveCheck => "archive_check",
        }
    }
}

/// A job's key: unique among pending jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobKey {
    /// A step asked for by a cause: `<cause>[:<part>]:<step>` — the same cause never enqueues
    /// the same step twice.
    Step { by: Caused, step: &'static str },
    /// Work kept once per incident: `incident:<id>:<work>`.
    Incident {
        incident: IncidentRef,
        work: PerIncident,
    },
    /// A workspace's one pending digest: `digest` (the deployment's own workspace),
    /// `digest:<team id>` (an installed one's).
    Digest { workspace: String },

    /// A rule of `RULES_FILE` applied to an incident — its actions — once for good:
    /// `incident:<id>:rule:<rule name>`.
    Rule { incident: IncidentRef, rule: String },
}

/// A key of an incident not numbered yet, asked for as text without its number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the key of a job of an incident not yet numbered has no text without its number")]
pub struct Unnumbered;

impl JobKey {
    /// An incident's update reminder.
    pub fn reminder(incident: IncidentRef) -> JobKey {
        JobKey::Incident {
            incident,
            work: PerIncident::Reminder,
        }
    }

    /// The key as stored; `new` is the number of the incident being declared, for a key made
    /// before the store gave it.
    pub fn text(&self, new: Option<IncidentId>) -> Result<String, Unnumbered> {
        Ok(match self {
            JobKey::Step { by, step } => format!("{by}:{step}"),
            JobKey::Incident { incident, work } => {
                let id = match incident {
                    IncidentRef::Id(id) => *id,
                    IncidentRef::New => new.ok_or(Unnumbered)?,
                };
                format!("incident:{id}:{}", work.word())
            }
            JobKey::Digest { workspace } if workspace.is_empty() => "digest".to_string(),
            JobKey::Digest { workspace } => format!("digest:{workspace}"),
            JobKey::Rule { incident, rule } => {
                let id = match incident {
                    IncidentRef::Id(id) => *id,
                    IncidentRef::New => new.ok_or(Unnumbered)?,
                };
                format!("incident:{id}:rule:{rule}")
            }
        })
    }

    /// Every shape of key, rendered by [`JobKey::text`] — ARCHITECTURE.md's table. String ids
    /// show as placeholders (`<trigger_id>`); numbers are examples (incident 7, job 41, the
    /// first effect 0).
    pub fn table() -> String {
        let slash = Cause::Slash("<trigger_id>".into());
        let action = Cause::Action("<trigger_id>".into());
        let step = |by: Caused, step: &'static str| JobKey::Step { by, step };
        let per = |work| JobKey::Incident {
            incident: IncidentRef::New,
            work,
        };
        let rows = [
            (
                step(slash.whole(), "create_channel"),
                "a declaration by command (`view:<view id>:create_channel` by the Declare modal)",
            ),
            (
                step(
                    Cause::Alert("<receipt id>".into()).whole(),
                    "create_channel",
                ),
                "a declaration by an alert (`alert:<receipt id>:post` when it resolves)",
            ),
            (
                step(slash.part(Part::Effect(0)), "post"),
                "a change's effect, by its index (`view:…`, `action:…` likewise)",
            ),
            (
                step(action.part(Part::Also(0)), "edit"),
                "a step a handler adds to a change (a button's edit of what was clicked)",
            ),
            (
                step(slash.whole(), "postmortem"),
                "an export asked for (`action:<trigger_id>:postmortem` by the button)",
            ),
            (
                step(Cause::Job(41).whole(), "pin_card"),
                "a step a finishing job enqueues (the card's pin after its post)",
            ),
            (
                step(Cause::Declared(7).whole(), "invite"),
                "what follows the channel (invite, topic, card, announcement, source reply)",
            ),
            (
                step(Cause::Declared(7).part(Part::Source), "post"),
                "the copy of the message an incident was declared from",
            ),
            (
                step(Cause::Declared(7).part(Part::Coordinator), "post"),
                "the call for a coordinator when nobody coordinates",
            ),
            (
                per(PerIncident::SyncTopic),
                "bringing the topic up to date (coalesces while pending)",
            ),
            (per(PerIncident::SyncCard), "bringing the card up to date"),
            (
                per(PerIncident::SyncAnnouncement),
                "bringing the announcement up to date",
            ),
            (
                per(PerIncident::Reminder),
                "the update reminder (replaced when re-armed)",
            ),
            (per(PerIncident::Nudge), "the nudge when nobody coordinates"),
            (
                JobKey::Digest {
                    workspace: String::new(),
                },
                "the next digest of the deployment's own workspace (one pending in all)",
            ),
            (
                JobKey::Digest {
                    workspace: "<team id>".into(),
                },
                "the next digest of a workspace that installed the app",
            ),
            (
                step(slash.part(Part::Hook { entry: 0, url: 1 }), "webhook"),
                "a change's first timeline entry sent to the second of `WEBHOOK_URLS`",
            ),
            (
                step(
                    Cause::PagerDuty("<event id>".into()).part(Part::Effect(0)),
                    "post",
                ),
                "what a PagerDuty webhook asks for (its news said in the channel)",
            ),
            (
                JobKey::Rule {
                    incident: IncidentRef::New,
                    rule: "<rule name>".into(),
                },
                "a rule applied (its actions): once per incident for good, whatever became of it",
            ),
            (
                step(Cause::Job(41).part(Part::Action(0)), "page"),
                "a rule's first action, enqueued by its `apply_rule` job",
            ),
            (
                step(
                    Cause::Ticket("github:<delivery id>".into()).part(Part::Effect(0)),
                    "post",
                ),
                "what a tracker's webhook asks for (a follow-up's ticket closed, said in the channel)",
            ),
            (
                step(slash.part(Part::Effect(0)), "file_ticket"),
                "a follow-up filed as a ticket (`action:<trigger_id>:file_ticket` by the button)",
            ),
            (
                per(PerIncident::PostmortemReminder),
                "the postmortem owner's next reminder (replaced when the deadline or owner moves)",
            ),
            (
                per(PerIncident::ArchiveCheck),
                "the channel's archive notice, then its archiving (`ARCHIVE_AFTER`)",
            ),
            (
                step(slash.part(Part::Effect(0)), "archive_channel"),
                "`/inc archive`: the channel archived now",
            ),
            (
                per(PerIncident::PollTickets),
                "the next poll of the incident's open tickets, without the tracker's webhook",
            ),
            (
                step(slash.whole(), "match_rules"),
                "the rules checked after a change of severity or status (`declared:7:match_rules` after the channel)",
            ),
        ];
        let mut out = String::from("| job key | what makes it |\n|---|---|\n");
        for (key, what) in rows {
            let key = key.text(Some(7)).unwrap_or_default();
            out.push_str(&format!("| `{key}` | {what} |\n"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_as_they_always_have() {
        let slash = Cause::Slash("T1".into());
        let step = |by: Caused, step| JobKey::Step { by, step }.text(None).expect("text");
        assert_eq!(slash.key(), "slash:T1");
        assert_eq!(
            step(slash.whole(), "create_channel"),
            "slash:T1:create_channel"
        );
        assert_eq!(step(slash.part(Part::Effect(0)), "post"), "slash:T1:0:post");
        assert_eq!(
            step(Cause::Action("T2".into()).part(Part::Also(1)), "edit"),
            "action:T2:also1:edit"
        );
        assert_eq!(step(Cause::Job(41).whole(), "pin_card"), "job:41:pin_card");
        assert_eq!(
            step(Cause::Declared(7).part(Part::Source), "post"),
            "declared:7:source:post"
        );
        assert_eq!(
            step(Cause::Declared(7).part(Part::Coordinator), "post"),
            "declared:7:coordinator:post"
        );
        assert_eq!(Cause::View("V1".into()).key(), "view:V1");
        assert_eq!(Cause::Event("Ev1".into()).key(), "event:Ev1");
        assert_eq!(Cause::Alert("a1".into()).key(), "alert:a1");
        assert_eq!(Cause::PagerDuty("01B".into()).key(), "pagerduty:01B");
        assert_eq!(
            step(slash.part(Part::Hook { entry: 2, url: 0 }), "webhook"),
            "slash:T1:hook2.0:webhook"
        );
        assert_eq!(
            JobKey::Digest {
                workspace: String::new()
            }
            .text(None),
            Ok("digest".into())
        );
        assert_eq!(
            JobKey::Digest {
                workspace: "T0OTHER".into()
            }
            .text(None),
            Ok("digest:T0OTHER".into())
        );
        for key in [
            "slash:T1.2",
            "view:V1",
            "action:T2",
            "event:Ev1",
            "alert:a1",
            "job:41",
            "pagerduty:01B",
            "ticket:github:5e1f",
        ] {
            assert_eq!(key.parse::<Cause>().map(|c| c.key()), Ok(key.to_string()));
        }
        assert!("seed:1".parse::<Cause>().is_err());
        assert!("job:x".parse::<Cause>().is_err());
    }

    #[test]
    fn an_incident_key_is_numbered_by_the_store_when_the_incident_is_new() {
        let new = JobKey::reminder(IncidentRef::New);
        assert_eq!(new.text(None), Err(Unnumbered));
        assert_eq!(new.text(Some(42)), Ok("incident:42:reminder".into()));
        let known = JobKey::Incident {
            incident: IncidentRef::Id(7),
            work: PerIncident::SyncCard,
        };
        assert_eq!(known.text(Some(42)), Ok("incident:7:sync_card".into()));
    }
}
