//! The rules, table by table: transitions, permissions, and what each change leaves behind.

use super::*;
use crate::domain::incident::tests::sample;
use crate::domain::message;
use crate::domain::reminder::{Cadence, Policy, Rearm};
use chrono::Duration;

const ALICE: &str = "U0ALICE"; // coordinator of the sample
const BOB: &str = "U0BOB";
const CAROL: &str = "U0CAROL";

/// The configured intervals: every 30 minutes, 4 hours while monitoring.
static POLICY: std::sync::LazyLock<Policy> = std::sync::LazyLock::new(Policy::default);

fn now() -> DateTime<Utc> {
    sample(1).declared_at + chrono::Duration::minutes(30)
}

fn by(user: &str) -> Actor<'_> {
    Actor { user, admin: false }
}

fn at(status: Status) -> Incident {
    let mut inc = sample(1);
    inc.status = status;
    inc
}

fn ok(incident: &Incident, change: Change, actor: Actor<'_>) -> Decision {
    decide(incident, change.clone(), actor, &POLICY, now())
        .unwrap_or_else(|r| panic!("{change:?} by {}: refused: {r}", actor.user))
}

fn refused(incident: &Incident, change: Change, actor: Actor<'_>) -> Refusal {
    match decide(incident, change.clone(), actor, &POLICY, now()) {
        Err(r) => r,
        Ok(d) => panic!("{change:?} by {} was allowed: {d:?}", actor.user),
    }
}

#[test]
fn status_commands_follow_the_lifecycle_table() {
    use Status::*;
    // (from, change, allowed) — every status against every status-moving change.
    let update = |to| Change::Update {
        status: Some(to),
        text: "t".into(),
    };
    for from in Status::ALL {
        for (change, target) in [
            (update(Investigating), Investigating),
            (update(Fixing), Fixing),
            (update(Monitoring), Monitoring),
            (update(Triage), Triage),
            (Change::Resolve(None), Resolved),
            (Change::Decline(None), Declined),
            (Change::Reopen, Investigating),
        ] {
            let expected = match (&change, from) {
                // An update to the status it already has is just an update.
                (Change::Update { .. }, f) if f == target => !f.is_terminal(),
                (Change::Update { .. }, f) if f.is_terminal() => false,
                (Change::Reopen, f) => f.is_terminal(),
                _ => from.can_become(target),
            };
            let got = decide(&at(from), change.clone(), by(ALICE), &POLICY, now());
            assert_eq!(got.is_ok(), expected, "{from} + {change:?}: {got:?}");
            if let Ok(d) = got {
                assert_eq!(
                    d.incident.status,
                    if from == target { from } else { target }
                );
            }
        }
    }
}

#[test]
fn only_the_coordinator_the_operator_or_an_admin_may_end_or_reopen() {
    let mut inc = at(Status::Triage);
    inc.roles.push((Role::Operator, BOB.into()));
    inc.roles.push((Role::Comms, CAROL.into()));
    let admin = Actor {
        user: "U0ROOT",
        admin: true,
    };
    for change in [Change::Resolve(None), Change::Decline(None)] {
        for (actor, allowed) in [
            (by(ALICE), true),
            (by(BOB), true),
            (by(CAROL), false),
            (by("U0NOBODY"), false),
            (admin, true),
        ] {
            assert_eq!(
                decide(&inc, change.clone(), actor, &POLICY, now()).is_ok(),
                allowed,
                "{change:?} by {}",
                actor.user
            );
        }
    }
    let closed = at(Status::Resolved);
    assert!(decide(&closed, Change::Reopen, by(ALICE), &POLICY, now()).is_ok());
    assert!(decide(&closed, Change::Reopen, by(CAROL), &POLICY, now()).is_err());
    assert!(decide(&closed, Change::Reopen, admin, &POLICY, now()).is_ok());
}

#[test]
fn a_refused_permission_says_who_may() {
    let mut inc = sample(1);
    inc.roles.push((Role::Operator, BOB.into()));
    assert_eq!(
        refused(&inc, Change::Resolve(None), by(CAROL)).to_string(),
        "Only the coordinator (<@U0ALICE>), the operator (<@U0BOB>) or an admin may resolve *INC-1*."
    );
    inc.roles.clear();
    assert_eq!(
        refused(&inc, Change::Decline(None), by(CAROL)).to_string(),
        "Only the coordinator, the operator or an admin may decline *INC-1*, and nobody holds \
         those roles: take one first with `/inc coordinator me`."
    );
}

#[test]
fn illegal_moves_say_why() {
    assert_eq!(
        refused(&at(Status::Fixing), Change::Decline(None), by(ALICE)).to_string(),
        "*INC-1* is `fixing` and cannot become `declined`: only an incident still in `triage` can be declined."
    );
    assert_eq!(
        refused(&at(Status::Declined), Change::Resolve(None), by(ALICE)).to_string(),
        "*INC-1* is `declined` and cannot become `resolved`: `/inc reopen` it first."
    );
    assert_eq!(
        refused(&at(Status::Fixing), Change::Reopen, by(ALICE)).to_string(),
        "*INC-1* is open (`fixing`); only a resolved or declined incident can be reopened."
    );
    let back_to_triage = Change::Update {
        status: Some(Status::Triage),
        text: "t".into(),
    };
    assert_eq!(
        refused(&at(Status::Fixing), back_to_triage, by(ALICE)).to_string(),
        "*INC-1* is `fixing` and cannot become `triage`: `triage` is only where an incident starts."
    );
    assert_eq!(
        refused(
            &at(Status::Resolved),
            Change::Update {
                status: None,
                text: "t".into()
            },
            by(ALICE)
        )
        .to_string(),
        "*INC-1* is resolved, so you cannot post updates. `/inc reopen` it first."
    );
}

#[test]
fn anyone_may_take_an_empty_role_or_take_over_a_held_one() {
    let inc = sample(1);
    let took = ok(
        &inc,
        Change::Role {
            role: Role::Operator,
            to: Holder::Me,
        },
        by(BOB),
    );
    assert_eq!(
        took.entries,
        [Entry::RoleAssigned {
            role: Role::Operator,
            user: BOB.into()
        }]
    );
    assert_eq!(
        took.roles,
        [RoleChange {
            role: Role::Operator,
            from: None,
            to: Some(BOB.into())
        }]
    );
    assert_eq!(took.incident.holder(Role::Operator), Some(BOB));
    assert!(
        !took.effects.iter().any(|e| matches!(e, Effect::Invite(_))),
        "bob is here already"
    );

    let takeover = ok(
        &inc,
        Change::Role {
            role: Role::Coordinator,
            to: Holder::Me,
        },
        by(BOB),
    );
    assert_eq!(
        takeover.entries,
        [Entry::RoleHandedOver {
            role: Role::Coordinator,
            from: ALICE.into(),
            to: BOB.into()
        }]
    );
    assert!(takeover.effects.contains(&Effect::Post(message::notice(
        ":arrows_counterclockwise: <@U0BOB> took over as *coordinator* from <@U0ALICE>."
    ))));
    assert!(takeover.effects.contains(&Effect::SyncAnnouncement));

    let assigned = ok(
        &inc,
        Change::Role {
            role: Role::Comms,
            to: Holder::Person(CAROL.into()),
        },
        by(BOB),
    );
    assert!(
        assigned
            .effects
            .contains(&Effect::Invite(vec![CAROL.into()]))
    );

    let released = ok(
        &took.incident,
        Change::Role {
            role: Role::Operator,
            to: Holder::Nobody,
        },
        by(ALICE),
    );
    assert_eq!(released.incident.holder(Role::Operator), None);
    assert_eq!(
        released.entries,
        [Entry::RoleReleased {
            role: Role::Operator,
            user: BOB.into()
        }]
    );
    assert_eq!(
        refused(
            &inc,
            Change::Role {
                role: Role::Coordinator,
                to: Holder::Person(ALICE.into())
            },
            by(BOB)
        )
        .to_string(),
        "<@U0ALICE> is already the coordinator."
    );
}

#[test]
fn each_change_leaves_its_entries_and_effects() {
    let inc = sample(1);
    let update = ok(
        &inc,
        Change::Update {
            status: Some(Status::Fixing),
            text: "Rolled back".into(),
        },
        by(BOB),
    );
    assert_eq!(
        update.entries,
        [
            Entry::StatusChanged {
                from: Status::Investigating,
                to: Status::Fixing
            },
            Entry::Update {
                text: "Rolled back".into(),
                status: Some(Status::Fixing)
            }
        ]
    );
    assert_eq!(update.incident.last_update_at, now());
    let post = message::update_post(&update.incident, BOB, Some(Status::Fixing), "Rolled back");
    assert_eq!(
        update.effects,
        [
            Effect::Post(post.clone()),
            Effect::PostInAnnouncementThread(post),
            Effect::SyncTopic,
            Effect::SyncAnnouncement,
            Effect::SyncCard
        ]
    );

    let plain = ok(
        &inc,
        Change::Update {
            status: Some(Status::Investigating),
            text: "Still looking".into(),
        },
        by(BOB),
    );
    assert_eq!(plain.entries.len(), 1, "the same status is not a change");
    assert!(!plain.effects.contains(&Effect::SyncTopic));

    let sev = ok(
        &inc,
        Change::Severity(Severity::parse("2", 3).expect("sev")),
        by(BOB),
    );
    assert_eq!(sev.incident.severity.to_string(), "SEV2");
    assert!(sev.effects.contains(&Effect::SyncTopic));

    let note = ok(&inc, Change::Note("n".into()), by(BOB));
    assert_eq!(note.entries, [Entry::Note { text: "n".into() }]);
    assert!(note.effects.is_empty(), "a note is only on the timeline");
    assert_eq!(note.incident, inc);

    let summary = ok(&inc, Change::Summary("EU cards".into()), by(BOB));
    assert_eq!(summary.incident.summary.as_deref(), Some("EU cards"));
    assert!(summary.effects.contains(&Effect::SyncTopic));

    let group = ok(
        &inc,
        Change::Escalate {
            to: Target::Group {
                id: "S0DBA".into(),
                handle: None,
            },
            message: Some("primary stuck".into()),
        },
        by(BOB),
    );
    assert_eq!(group.effects[0], Effect::InviteGroup("S0DBA".into()));
    assert!(
        matches!(&group.effects[1], Effect::Post(m) if m.text.starts_with(":sos: <!subteam^S0DBA>"))
    );

    let resolved = ok(&inc, Change::Resolve(Some("fixed".into())), by(ALICE));
    assert_eq!(resolved.incident.resolved_at, Some(now()));
    assert_eq!(
        resolved.entries,
        [Entry::Resolved {
            from: Status::Investigating,
            text: Some("fixed".into())
        }]
    );
    let reopened = ok(&resolved.incident, Change::Reopen, by(ALICE));
    assert_eq!(reopened.incident.resolved_at, None);
    assert_eq!(reopened.incident.status, Status::Investigating);
}

#[test]
fn private_incidents_touch_no_announcement() {
    let mut inc = sample(1);
    inc.private = true;
    for change in [
        Change::Update {
            status: Some(Status::Fixing),
            text: "x".into(),
        },
        Change::Resolve(None),
        Change::Severity(Severity::parse("3", 3).expect("sev")),
    ] {
        let d = ok(&inc, change, by(ALICE));
        assert!(
            !d.effects.iter().any(|e| matches!(
                e,
                Effect::PostInAnnouncementThread(_) | Effect::SyncAnnouncement
            )),
            "{:?}",
            d.effects
        );
    }
}

#[test]
fn notes_follow_ups_and_roles_stay_open_after_resolution() {
    let closed = at(Status::Resolved);
    for change in [
        Change::Note("n".into()),
        Change::FollowUp("f".into()),
        Change::Summary("s".into()),
        Change::Role {
            role: Role::Comms,
            to: Holder::Me,
        },
    ] {
        assert!(
            decide(&closed, change.clone(), by(BOB), &POLICY, now()).is_ok(),
            "{change:?}"
        );
    }
    let escalate = Change::Escalate {
        to: Target::Person(BOB.into()),
        message: None,
    };
    assert!(matches!(
        refused(&closed, escalate, by(ALICE)),
        Refusal::Closed { .. }
    ));
}

#[test]
fn claiming_a_role_succeeds_only_while_it_is_empty() {
    let mut inc = sample(1);
    inc.roles.clear();
    let claimed = ok(&inc, Change::Claim(Role::Coordinator), by(BOB));
    assert_eq!(claimed.incident.holder(Role::Coordinator), Some(BOB));
    assert_eq!(
        refused(
            &claimed.incident,
            Change::Claim(Role::Coordinator),
            by(CAROL)
        )
        .to_string(),
        "<@U0BOB> took the coordinator role for *INC-1* first. If they stop answering, take over \
         with `/inc coordinator me` in its channel."
    );
}

#[test]
fn the_reminder_moves_only_when_the_change_moves_its_time() {
    let inc = sample(1); // declared 30 minutes before now(): a reminder is due at now()
    let update = Change::Update {
        status: None,
        text: "t".into(),
    };
    let cases = [
        (update, Rearm::At(now() + Duration::minutes(30))),
        (Change::Note("n".into()), Rearm::Keep),
        (Change::Summary("s".into()), Rearm::Keep),
        (Change::Resolve(None), Rearm::Cancel),
        (Change::Remind(Cadence::Off), Rearm::Cancel),
        (Change::Snooze, Rearm::At(now() + Duration::minutes(30))),
    ];
    for (change, expected) in cases {
        assert_eq!(
            ok(&inc, change.clone(), by(ALICE)).reminder,
            expected,
            "{change:?}"
        );
    }
    let resolved = ok(&inc, Change::Resolve(None), by(ALICE)).incident;
    let reopened = ok(&resolved, Change::Reopen, by(ALICE));
    assert_eq!(
        reopened.reminder,
        Rearm::At(now() + Duration::minutes(30)),
        "a reopen counts as an update and arms the reminder again"
    );
}

#[test]
fn a_new_cadence_counts_from_when_it_is_set() {
    let mut inc = sample(1);
    inc.cadence = Cadence::Off;
    // Reminders back on long after the last update: the first comes one interval from now, not
    // at once as a "late" one.
    inc.last_update_at = now() - Duration::hours(2);
    let every = Change::Remind(Cadence::Every(Duration::minutes(5)));
    let on = ok(&inc, every, by(BOB));
    assert_eq!(on.reminder, Rearm::At(now() + Duration::minutes(5)));
    let default = ok(&inc, Change::Remind(Cadence::Default), by(BOB));
    assert_eq!(default.reminder, Rearm::At(now() + Duration::minutes(30)));
}

#[test]
fn changes_asked_together_are_one_decision() {
    let inc = sample(1);
    let asked = [
        Change::Summary("EU cards".into()),
        Change::Update {
            status: Some(Status::Fixing),
            text: "Rolled back".into(),
        },
    ];
    let d = decide_all(&inc, &asked, by(BOB), &POLICY, now()).expect("allowed");
    assert_eq!(d.incident.summary.as_deref(), Some("EU cards"));
    assert_eq!(d.incident.status, Status::Fixing);
    assert_eq!(d.entries.len(), 3, "{:?}", d.entries);
    let syncs = d
        .effects
        .iter()
        .filter(|e| **e == Effect::SyncTopic)
        .count();
    assert_eq!(syncs, 1, "an effect asked twice runs once: {:?}", d.effects);
    assert_eq!(d.reply, "Update posted.");
    assert_eq!(d.reminder, Rearm::At(now() + Duration::minutes(30)));
    // One refused change refuses them all.
    let closed = at(Status::Resolved);
    assert!(matches!(
        decide_all(&closed, &asked, by(BOB), &POLICY, now()),
        Err(Refusal::Closed { .. })
    ));
    assert_eq!(
        decide_all(&inc, &[], by(BOB), &POLICY, now()),
        Err(Refusal::Unchanged("Nothing to change.".into()))
    );
}
