//! One story told to every backend (atuin's `db_story`, River's driver conformance suite):
//! declarations, recorded changes, idempotency, role history, timelines, and the job queue's
//! leases, fences, keys and lanes. Runs on SQLite always; the PostgreSQL half is `#[ignore]`d and
//! runs with `cargo test -- --include-ignored` against `TEST_DATABASE_URL` (`.ci/run` does).

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use incident_commander::domain::cause::{Cause, IncidentRef, JobKey, Part, PerIncident};
use incident_commander::domain::change::RoleChange;
use incident_commander::domain::{Entry, NewIncident, Role, Severity, Status};
use incident_commander::store::{
    self, ChangeRecord, Declaration, Declared, Dedupe, Finished, IncidentChange, JobCounts, NewJob,
    Outcome, Recorded, Store,
};
use serde_json::json;

use crate::helpers::{postgres_db, required_postgres_server, sqlite_db, timeline_kinds};

#[tokio::test]
async fn each_workspace_numbers_and_lists_its_own_incidents() {
    let db = crate::helpers::test_db().await;
    let s = store::connect(&db.url).await.expect("store");
    let in_workspace = |workspace: &str, key: &str, title: &str, at| {
        let mut d = declaration(key, "U0ALICE", title, at);
        d.workspace = workspace.to_string();
        d
    };
    let home = new(s
        .declare(in_workspace("", "slash:H1", "Checkout is down", t(0)), t(0))
        .await
        .expect("declare"));
    let other = new(s
        .declare(
            in_workspace("T0OTHER", "slash:O1", "Checkout is down", t(1)),
            t(1),
        )
        .await
        .expect("declare"));
    let other_again = new(s
        .declare(
            in_workspace("T0OTHER", "slash:O2", "Search is slow", t(2)),
            t(2),
        )
        .await
        .expect("declare"));
    let home_again = new(s
        .declare(in_workspace("", "slash:H2", "Search is slow", t(3)), t(3))
        .await
        .expect("declare"));
    assert_eq!(
        [
            home.number,
            other.number,
            other_again.number,
            home_again.number
        ],
        [1, 1, 2, 2],
        "INC-n counts within each workspace"
    );
    assert_eq!(s.workspace_of(other.id).await.expect("read"), "T0OTHER");
    assert_eq!(s.workspace_of(home.id).await.expect("read"), "");
    let titles = |incidents: Vec<incident_commander::domain::Incident>| {
        incidents
            .into_iter()
            .map(|i| format!("INC-{} {}", i.number, i.title))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        titles(s.open_incidents_in("T0OTHER").await.expect("open")),
        ["INC-1 Checkout is down", "INC-2 Search is slow"]
    );
    assert_eq!(
        titles(s.open_incidents_in("").await.expect("open")),
        ["INC-1 Checkout is down", "INC-2 Search is slow"]
    );
    assert_eq!(s.open_incidents().await.expect("open").len(), 4);
    let found = s
        .incident_by_number("T0OTHER", 2)
        .await
        .expect("read")
        .expect("INC-2 of T0OTHER");
    assert_eq!(found.id, other_again.id);
    assert_eq!(
        s.incident_by_number("T0NOBODY", 1).await.expect("read"),
        None
    );
    let facts = s
        .declared_between("T0OTHER", t(0), t(10))
        .await
        .expect("stats");
    assert_eq!(facts.len(), 2, "a period is one workspace's");
    // The same person declaring the same title in two workspaces declares twice.
    assert_eq!(other.title, home.title);
    assert_ne!(other.id, home.id);
}

#[tokio::test]
async fn the_store_story_holds_on_sqlite() {
    let db = sqlite_db();
    story(store::connect(&db.url).await.expect("sqlite")).await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: TEST_DATABASE_URL and --include-ignored"]
async fn the_store_story_holds_on_postgres() {
    let db = postgres_db(&required_postgres_server()).await;
    story(store::connect(&db.url).await.expect("postgres")).await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: TEST_DATABASE_URL and --include-ignored"]
async fn concurrent_claimers_never_share_a_job_on_postgres() {
    let db = postgres_db(&required_postgres_server()).await;
    let a = store::connect(&db.url).await.expect("postgres");
    let b = store::connect(&db.url).await.expect("postgres");
    claims_are_exclusive(a, b).await;
}

/// Two pools on one SQLite file: two real connections racing, as two processes would (the bot
/// runs one, but nothing stops an operator from starting a second by mistake).
#[tokio::test]
async fn concurrent_claimers_never_share_a_job_on_sqlite() {
    let db = sqlite_db();
    let a = store::connect(&db.url).await.expect("sqlite");
    let b = store::connect(&db.url).await.expect("sqlite");
    claims_are_exclusive(a, b).await;
}

fn t(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("time")
}

fn new_job(kind: &str, key: Option<JobKey>, at: DateTime<Utc>) -> NewJob {
    NewJob {
        kind: kind.into(),
        key,
        dedupe: Dedupe::Keep,
        lane: None,
        payload: json!({ "step": kind }),
        run_at: at,
    }
}

fn declaration(key: &str, user: &str, title: &str, at: DateTime<Utc>) -> Declaration {
    let sev = Severity::parse("sev2", 3).expect("sev");
    Declaration {
        workspace: String::new(),
        key: key.parse().expect("a cause"),
        incident: NewIncident::from_fast_path(user, sev, false, title, false, at),
        jobs: vec![new_job("create_channel", None, at)],
        duplicate_window: Duration::from_secs(120),
    }
}

/// Declares at the time the declaration is stamped with.
async fn declare(s: &Store, key: &str, user: &str, title: &str, at: DateTime<Utc>) -> Declared {
    s.declare(declaration(key, user, title, at), at)
        .await
        .expect("declare")
}

fn new(d: Declared) -> incident_commander::domain::Incident {
    match d {
        Declared::New(i) => i,
        Declared::Existing(i) => panic!("expected a new incident, got INC-{}", i.number),
    }
}

fn existing(d: Declared) -> incident_commander::domain::Incident {
    match d {
        Declared::Existing(i) => i,
        Declared::New(i) => panic!("expected the existing incident, got new INC-{}", i.number),
    }
}

async fn story(s: Store) {
    // Declaring records the incident, its coordinator, its timeline and its first job.
    let first = new(declare(&s, "slash:T1", "U0ALICE", "Checkout is down", t(0)).await);
    assert_eq!(first.number, 1);
    assert_eq!(first.status, Status::Investigating);
    assert_eq!(first.title, "Checkout is down");
    assert_eq!(first.holder(Role::Coordinator), Some("U0ALICE"));
    assert_eq!((first.declared_at, first.last_update_at), (t(0), t(0)));
    assert_eq!(
        s.incident(first.id).await.expect("load"),
        Some(first.clone()),
        "what declare returns is what it stored"
    );
    let timeline = s.timeline(first.id).await.expect("timeline");
    assert_eq!(timeline.len(), 1);
    assert_eq!(timeline[0].actor.as_deref(), Some("U0ALICE"));
    let Entry::Declared { roles, .. } = &timeline[0].entry else {
        panic!("{:?}", timeline[0])
    };
    assert_eq!(
        roles.get(&Role::Coordinator).map(String::as_str),
        Some("U0ALICE")
    );
    let history = s.role_history(first.id).await.expect("roles");
    assert_eq!(history.len(), 1);
    assert_eq!(
        (history[0].role, history[0].user_id.as_str()),
        (Role::Coordinator, "U0ALICE")
    );
    assert_eq!((history[0].from, history[0].to), (t(0), None));

    // The same payload again, and the same declaration retried, give back the same incident.
    let again = existing(declare(&s, "slash:T1", "U0BOB", "Something else entirely", t(1)).await);
    assert_eq!(again.id, first.id);
    let retried = existing(declare(&s, "slash:T2", "U0ALICE", "checkout is DOWN", t(30)).await);
    assert_eq!(retried.id, first.id);
    // Someone else, another title, or much later: new incidents, numbered without gaps.
    let second = new(declare(&s, "slash:T3", "U0BOB", "Checkout is down", t(31)).await);
    let third = new(declare(&s, "slash:T4", "U0ALICE", "Search is slow", t(32)).await);
    let fourth = new(declare(&s, "slash:T5", "U0ALICE", "Checkout is down", t(600)).await);
    assert_eq!([second.number, third.number, fourth.number], [2, 3, 4]);
    assert_eq!(s.open_incidents().await.expect("open").len(), 4);
    assert_eq!(
        s.job_counts().await.expect("counts"),
        JobCounts {
            pending: 4,
            ..JobCounts::default()
        }
    );

    // A decided change is recorded against the version it was decided on.
    let mut fixing = first.clone();
    fixing.status = Status::Fixing;
    fixing.last_update_at = t(40);
    fixing.set_holder(Role::Operator, Some("U0BOB".into()));
    let change = |key: &str, incident| ChangeRecord {
        key: key.parse().expect("a cause"),
        incident,
        actor: "U0BOB".into(),
        entries: vec![
            Entry::StatusChanged {
                from: Status::Investigating,
                to: Status::Fixing,
            },
            Entry::RoleAssigned {
                role: Role::Operator,
                user: "U0BOB".into(),
            },
        ],
        roles: vec![RoleChange {
            role: Role::Operator,
            from: None,
            to: Some("U0BOB".into()),
        }],
        jobs: vec![new_job(
            "post",
            Some(JobKey::Step {
                by: Cause::Slash("C1".into()).part(Part::Effect(0)),
                step: "post",
            }),
            t(40),
        )],
        cancel: Vec::new(),
        refs: Vec::new(),
    };
    assert_eq!(
        s.record(change("slash:C1", fixing.clone()), t(40))
            .await
            .expect("record"),
        Recorded::Applied
    );
    let stored = s.incident(first.id).await.expect("load").expect("exists");
    assert_eq!(stored.version, first.version + 1);
    assert_eq!(stored.status, Status::Fixing);
    assert_eq!(stored.holder(Role::Operator), Some("U0BOB"));
    assert_eq!(stored.last_update_at, t(40));
    assert_eq!(
        timeline_kinds(&s, first.id).await,
        ["declared", "status_changed", "role_assigned"]
    );
    // The same payload again changes nothing; a change decided on the old version neither.
    assert_eq!(
        s.record(change("slash:C1", fixing.clone()), t(41))
            .await
            .expect("again"),
        Recorded::Duplicate
    );
    assert_eq!(
        s.record(change("slash:C2", fixing), t(42))
            .await
            .expect("stale"),
        Recorded::Conflict
    );
    assert_eq!(
        s.incident(first.id)
            .await
            .expect("load")
            .expect("exists")
            .version,
        1
    );
    assert_eq!(s.timeline(first.id).await.expect("timeline").len(), 3);
    // A handover closes one stretch and opens the next.
    let mut handed = stored.clone();
    handed.set_holder(Role::Coordinator, Some("U0BOB".into()));
    let handover = ChangeRecord {
        key: Cause::Slash("C3".into()),
        incident: handed,
        actor: "U0BOB".into(),
        entries: vec![Entry::RoleHandedOver {
            role: Role::Coordinator,
            from: "U0ALICE".into(),
            to: "U0BOB".into(),
        }],
        roles: vec![RoleChange {
            role: Role::Coordinator,
            from: Some("U0ALICE".into()),
            to: Some("U0BOB".into()),
        }],
        jobs: Vec::new(),
        cancel: Vec::new(),
        refs: Vec::new(),
    };
    assert_eq!(
        s.record(handover, t(50)).await.expect("handover"),
        Recorded::Applied
    );
    let history = s.role_history(first.id).await.expect("roles");
    let stretches: Vec<_> = history
        .iter()
        .map(|h| (h.role, h.user_id.as_str(), h.from, h.to))
        .collect();
    assert_eq!(
        stretches,
        [
            (Role::Coordinator, "U0ALICE", t(0), Some(t(50))),
            (Role::Operator, "U0BOB", t(40), None),
            (Role::Coordinator, "U0BOB", t(50), None),
        ]
    );
    assert_eq!(
        s.incident(first.id)
            .await
            .expect("load")
            .expect("exists")
            .holder(Role::Coordinator),
        Some("U0BOB")
    );

    // A due job is leased to one owner; others see nothing while the lease holds.
    let lease = Duration::from_secs(60);
    let a = s
        .claim_jobs("owner-a", t(700), lease, 1)
        .await
        .expect("claim a");
    assert_eq!(a.len(), 1);
    let job = a[0].clone();
    assert_eq!(
        (job.incident_id, job.attempt, job.kind.as_str()),
        (Some(first.id), 1, "create_channel")
    );
    assert_eq!(job.payload["step"], "create_channel");
    let b = s
        .claim_jobs("owner-b", t(700), lease, 10)
        .await
        .expect("claim b");
    assert_eq!(
        b.len(),
        4,
        "the other three declarations' jobs and the change's post"
    );
    assert!(b.iter().all(|j| j.id != job.id));
    for other in &b {
        s.complete_job(other, Outcome::default(), t(700))
            .await
            .expect("done");
    }

    // Completing applies the outcome: the channel, the timeline entry, the follow-up jobs.
    s.note_channel_attempt(first.id, "inc-1-checkout-is-down", t(701))
        .await
        .expect("note");
    assert_eq!(
        s.incident(first.id)
            .await
            .expect("load")
            .expect("exists")
            .channel_name
            .as_deref(),
        Some("inc-1-checkout-is-down")
    );
    let outcome = Outcome {
        change: Some(IncidentChange::Channel {
            id: "C1".into(),
            name: "inc-1-checkout-is-down".into(),
        }),
        // The same keyed step twice: enqueued once.
        follow_ups: vec![
            new_job(
                "invite",
                Some(step_key(Cause::Declared(1), "invite")),
                t(702),
            ),
            new_job(
                "invite",
                Some(step_key(Cause::Declared(1), "invite")),
                t(702),
            ),
        ],
        events: vec![Entry::ChannelCreated {
            channel_id: "C1".into(),
            name: "inc-1-checkout-is-down".into(),
            adopted: false,
        }],
        reschedule: None,
        refs: Vec::new(),
    };
    assert_eq!(
        s.complete_job(&job, outcome.clone(), t(702))
            .await
            .expect("complete"),
        Finished::Yes
    );
    assert_eq!(
        s.complete_job(&job, outcome, t(703)).await.expect("twice"),
        Finished::LeaseLost,
        "a done job cannot complete again"
    );
    let with_channel = s.incident(first.id).await.expect("load").expect("exists");
    assert_eq!(with_channel.channel_id.as_deref(), Some("C1"));
    assert_eq!(
        s.incident_by_channel("C1")
            .await
            .expect("by channel")
            .map(|i| i.id),
        Some(first.id)
    );
    assert_eq!(
        s.incident_by_channel("C404").await.expect("by channel"),
        None
    );
    assert_eq!(
        timeline_kinds(&s, first.id).await.last(),
        Some(&"channel_created")
    );
    let follow = s
        .claim_jobs("owner-a", t(702), lease, 10)
        .await
        .expect("follow-ups");
    assert_eq!(follow.len(), 1, "a keyed follow-up is enqueued once");

    // A lease that expires is taken over; the old owner's completion is fenced off.
    let taken = s
        .claim_jobs("owner-c", t(702) + chrono::Duration::seconds(61), lease, 10)
        .await
        .expect("takeover");
    assert!(
        taken.iter().any(|j| j.id == follow[0].id),
        "expired lease taken over"
    );
    let old = follow[0].clone();
    assert_eq!(
        s.complete_job(&old, Outcome::default(), t(800))
            .await
            .expect("stale"),
        Finished::LeaseLost,
        "stale owner is fenced"
    );
    let mine = taken
        .iter()
        .find(|j| j.id == old.id)
        .expect("taken")
        .clone();
    assert_eq!(mine.attempt, 2);

    // Retrying releases the job until its time; failing records the outcome of the failure.
    assert!(
        s.retry_job(&mine, t(900), "rate limited", t(801))
            .await
            .expect("retry")
    );
    assert!(
        s.claim_jobs("owner-c", t(899), lease, 10)
            .await
            .expect("early")
            .iter()
            .all(|j| j.id != mine.id)
    );
    let later = s
        .claim_jobs("owner-c", t(900), lease, 10)
        .await
        .expect("due");
    let again = later
        .iter()
        .find(|j| j.id == mine.id)
        .expect("due again")
        .clone();
    let report = Outcome {
        change: None,
        follow_ups: vec![new_job("report", None, t(901))],
        events: vec![Entry::StepFailed {
            step: "invite".into(),
            error: "channel_not_found".into(),
        }],
        reschedule: None,
        refs: Vec::new(),
    };
    assert_eq!(
        s.fail_job(&again, "channel_not_found", report, t(901))
            .await
            .expect("fail"),
        Finished::Yes
    );
    let counts = s.job_counts().await.expect("counts");
    assert_eq!((counts.done, counts.failed, counts.pending), (5, 1, 1));
    let last = s
        .timeline(first.id)
        .await
        .expect("timeline")
        .pop()
        .expect("event");
    assert_eq!((last.kind(), last.at), ("step_failed", t(901)));
    let reports = s
        .claim_jobs("owner-c", t(901), lease, 10)
        .await
        .expect("report");
    assert_eq!(reports.len(), 1);
    s.complete_job(&reports[0], Outcome::default(), t(901))
        .await
        .expect("reported");

    keys_coalesce_and_rearm(&s, second.id).await;
    lanes_run_in_order_one_at_a_time(&s, third.id).await;
}

/// The key of the step `step` asked for by `cause` as a whole.
fn step_key(cause: Cause, step: &'static str) -> JobKey {
    JobKey::Step {
        by: cause.whole(),
        step,
    }
}

/// The key of `incident`'s `work`.
fn incident_key(incident: i64, work: PerIncident) -> JobKey {
    JobKey::Incident {
        incident: IncidentRef::Id(incident),
        work,
    }
}

fn keyed(kind: &str, key: JobKey, dedupe: Dedupe, at: DateTime<Utc>) -> NewJob {
    NewJob {
        dedupe,
        ..new_job(kind, Some(key), at)
    }
}

/// Enqueues `jobs` the way a recorded change does.
async fn enqueue(s: &Store, incident: i64, jobs: Vec<NewJob>, at: DateTime<Utc>) {
    let current = s.incident(incident).await.expect("load").expect("exists");
    let record = ChangeRecord {
        key: Cause::Slash(format!("enqueue-{}", uuid::Uuid::new_v4())),
        incident: current,
        actor: "U0TEST".into(),
        entries: Vec::new(),
        roles: Vec::new(),
        jobs,
        cancel: Vec::new(),
        refs: Vec::new(),
    };
    assert_eq!(
        s.record(record, at).await.expect("record"),
        Recorded::Applied
    );
}

/// A "bring X up to date" job coalesces while it waits, and runs once more when re-armed while
/// it runs — recording what it learned either way. A re-armed reminder moves to its new time.
async fn keys_coalesce_and_rearm(s: &Store, incident: i64) {
    let lease = Duration::from_secs(60);
    let at = t(1000);
    let sync = |at| {
        keyed(
            "sync_card",
            incident_key(2, PerIncident::SyncCard),
            Dedupe::Rerun,
            at,
        )
    };
    enqueue(s, incident, vec![sync(at), sync(at)], at).await;
    enqueue(s, incident, vec![sync(at)], at).await;
    let claimed = s.claim_jobs("w", at, lease, 10).await.expect("claim");
    assert_eq!(claimed.len(), 1, "three requests while waiting: one run");
    // Re-armed while it runs: the card it posted is recorded, and it runs again.
    enqueue(s, incident, vec![sync(at)], at).await;
    let posted = Outcome {
        change: Some(IncidentChange::CardPosted { ts: "9.1".into() }),
        ..Outcome::default()
    };
    assert_eq!(
        s.complete_job(&claimed[0], posted, at)
            .await
            .expect("complete"),
        Finished::Rearmed
    );
    let card = s
        .incident(incident)
        .await
        .expect("load")
        .expect("exists")
        .card_ts;
    assert_eq!(
        card.as_deref(),
        Some("9.1"),
        "facts are recorded even when re-armed"
    );
    let rerun = s.claim_jobs("w", at, lease, 10).await.expect("rerun");
    assert_eq!(rerun.len(), 1);
    assert_eq!(rerun[0].id, claimed[0].id);
    assert_eq!(rerun[0].generation, claimed[0].generation + 1);
    assert_eq!(
        s.complete_job(&rerun[0], Outcome::default(), at)
            .await
            .expect("done"),
        Finished::Yes
    );
    // Once it ran, the same key enqueues a new run.
    enqueue(s, incident, vec![sync(at)], at).await;
    let next = s.claim_jobs("w", at, lease, 10).await.expect("claim");
    assert_eq!(next.len(), 1);
    assert_ne!(next[0].id, claimed[0].id);
    s.complete_job(&next[0], Outcome::default(), at)
        .await
        .expect("done");

    // Replace moves a pending job to the new time (a reminder pushed back).
    let remind = |at| {
        keyed(
            "reminder",
            incident_key(2, PerIncident::Reminder),
            Dedupe::Replace,
            at,
        )
    };
    enqueue(s, incident, vec![remind(t(2000))], at).await;
    enqueue(s, incident, vec![remind(t(3000))], at).await;
    assert!(
        s.claim_jobs("w", t(2500), lease, 10)
            .await
            .expect("early")
            .is_empty()
    );
    let due = s.claim_jobs("w", t(3000), lease, 10).await.expect("due");
    assert_eq!(due.len(), 1);
    // Keep leaves a pending job as it is.
    let once = |at| {
        keyed(
            "invite",
            step_key(Cause::Slash("X".into()), "invite"),
            Dedupe::Keep,
            at,
        )
    };
    enqueue(s, incident, vec![once(t(3000)), once(t(3000))], at).await;
    let invites = s.claim_jobs("w", t(3000), lease, 10).await.expect("invite");
    assert_eq!(invites.len(), 1);
    for job in due.iter().chain(&invites) {
        s.complete_job(job, Outcome::default(), t(3000))
            .await
            .expect("done");
    }
}

/// Jobs of one lane run one at a time, oldest first, a second apart; other lanes don't wait.
async fn lanes_run_in_order_one_at_a_time(s: &Store, incident: i64) {
    let lease = Duration::from_secs(60);
    let at = t(5000);
    let post = |n: u32, lane: &str| NewJob {
        lane: Some(lane.into()),
        ..new_job(
            "post",
            Some(step_key(Cause::Slash(format!("L{n}-{lane}")), "post")),
            at,
        )
    };
    enqueue(
        s,
        incident,
        vec![
            post(1, "channel:C1"),
            post(2, "channel:C1"),
            post(3, "channel:C2"),
        ],
        at,
    )
    .await;
    let first = s.claim_jobs("w", at, lease, 10).await.expect("claim");
    let keys: Vec<_> = first
        .iter()
        .map(|j| j.lane.clone().unwrap_or_default())
        .collect();
    assert_eq!(keys, ["channel:C1", "channel:C2"], "one per lane");
    assert!(
        s.claim_jobs("w", at, lease, 10)
            .await
            .expect("claim")
            .is_empty(),
        "the second post waits for the first"
    );
    for job in &first {
        assert_eq!(
            s.complete_job(job, Outcome::default(), at)
                .await
                .expect("done"),
            Finished::Yes
        );
    }
    let rest = chrono::Duration::milliseconds(999);
    assert!(
        s.claim_jobs("w", at + rest, lease, 10)
            .await
            .expect("claim")
            .is_empty(),
        "the lane rests a second"
    );
    let second = s
        .claim_jobs("w", at + chrono::Duration::seconds(1), lease, 10)
        .await
        .expect("claim");
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].payload["step"], "post");
    assert!(second[0].id > first[0].id);
    s.complete_job(&second[0], Outcome::default(), at)
        .await
        .expect("done");
}

/// Forty declarations at once get forty distinct numbers; then eight workers claiming at once
/// lease every job exactly once.
async fn claims_are_exclusive(s: Store, other: Store) {
    let mut declaring = Vec::new();
    for n in 0..40 {
        let s = if n % 2 == 0 { s.clone() } else { other.clone() };
        declaring.push(tokio::spawn(async move {
            declare(
                &s,
                &format!("slash:k{n}"),
                &format!("U{n}"),
                "Same title",
                t(0),
            )
            .await
        }));
    }
    for d in declaring {
        new(d.await.expect("task"));
    }
    let mut tasks = Vec::new();
    for w in 0..8 {
        let s = if w % 2 == 0 { s.clone() } else { other.clone() };
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let got = s
                    .claim_jobs(&format!("w{w}"), t(10), Duration::from_secs(60), 3)
                    .await
                    .expect("claim");
                if got.is_empty() {
                    return mine;
                }
                mine.extend(got.into_iter().map(|j| j.id));
            }
        }));
    }
    let mut seen = HashSet::new();
    for task in tasks {
        for id in task.await.expect("worker") {
            assert!(seen.insert(id), "job {id} claimed twice");
        }
    }
    assert_eq!(seen.len(), 40);
    let numbers: HashSet<i64> = s
        .open_incidents()
        .await
        .expect("open")
        .iter()
        .map(|i| i.number)
        .collect();
    assert_eq!(
        numbers,
        (1..=40).collect::<HashSet<i64>>(),
        "numbers are unique and gapless"
    );
}
