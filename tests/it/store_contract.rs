//! One story told to every backend (atuin's `db_story`, River's driver conformance suite):
//! declarations, idempotency, role history, timelines, and the job queue's leases and fences.
//! Runs on SQLite always and on PostgreSQL when `TEST_DATABASE_URL` is set.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use incident_commander::domain::{NewIncident, Role, Severity, Status, TimelineKind};
use incident_commander::store::{
    self, Declaration, Declared, IncidentChange, JobCounts, NewEvent, NewJob, Outcome, Store,
};
use serde_json::json;

use crate::helpers::{postgres_db, postgres_server, sqlite_db, timeline_kinds};

#[tokio::test]
async fn the_store_story_holds_on_sqlite() {
    let db = sqlite_db();
    story(store::connect(&db.url).await.expect("sqlite")).await;
}

#[tokio::test]
async fn the_store_story_holds_on_postgres() {
    let Some(admin) = postgres_server() else {
        eprintln!("TEST_DATABASE_URL is not set: PostgreSQL half of the contract skipped");
        return;
    };
    let db = postgres_db(&admin).await;
    story(store::connect(&db.url).await.expect("postgres")).await;
}

#[tokio::test]
async fn concurrent_claimers_never_share_a_job_on_postgres() {
    let Some(admin) = postgres_server() else {
        return;
    };
    let db = postgres_db(&admin).await;
    claims_are_exclusive(store::connect(&db.url).await.expect("postgres")).await;
}

#[tokio::test]
async fn concurrent_claimers_never_share_a_job_on_sqlite() {
    let db = sqlite_db();
    claims_are_exclusive(store::connect(&db.url).await.expect("sqlite")).await;
}

fn t(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("time")
}

fn new_job(kind: &str, key: Option<&str>, at: DateTime<Utc>) -> NewJob {
    NewJob {
        kind: kind.into(),
        key: key.map(Into::into),
        payload: json!({ "step": kind }),
        run_at: at,
    }
}

fn declaration(key: &str, user: &str, title: &str, at: DateTime<Utc>) -> Declaration {
    let sev = Severity::parse("sev2", 3).expect("sev");
    Declaration {
        key: key.into(),
        incident: NewIncident::from_fast_path(user, sev, false, title, at),
        jobs: vec![new_job("create_channel", None, at)],
        duplicate_window: Duration::from_secs(120),
    }
}

/// Declares at the time the declaration is stamped with.
async fn declare(s: &dyn Store, key: &str, user: &str, title: &str, at: DateTime<Utc>) -> Declared {
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

async fn story(s: Arc<dyn Store>) {
    // Declaring records the incident, its coordinator, its timeline and its first job.
    let first = new(declare(&*s, "slash:T1", "U0ALICE", "Checkout is down", t(0)).await);
    assert_eq!(first.number, 1);
    assert_eq!(first.status, Status::Investigating);
    assert_eq!(first.title, "Checkout is down");
    assert_eq!(first.holder(Role::Coordinator), Some("U0ALICE"));
    assert_eq!(first.declared_at, t(0));
    assert_eq!(
        s.incident(first.id).await.expect("load"),
        Some(first.clone()),
        "what declare returns is what it stored"
    );
    let timeline = s.timeline(first.id).await.expect("timeline");
    assert_eq!(timeline.len(), 1);
    assert_eq!(timeline[0].kind, TimelineKind::Declared);
    assert_eq!(timeline[0].actor.as_deref(), Some("U0ALICE"));
    assert_eq!(timeline[0].data["roles"]["coordinator"], "U0ALICE");
    let history = s.role_history(first.id).await.expect("roles");
    assert_eq!(history.len(), 1);
    assert_eq!(
        (history[0].role, history[0].user_id.as_str()),
        (Role::Coordinator, "U0ALICE")
    );
    assert_eq!((history[0].from, history[0].to), (t(0), None));

    // The same payload again, and the same declaration retried, give back the same incident.
    let again = existing(declare(&*s, "slash:T1", "U0BOB", "Something else entirely", t(1)).await);
    assert_eq!(again.id, first.id);
    let retried = existing(declare(&*s, "slash:T2", "U0ALICE", "checkout is DOWN", t(30)).await);
    assert_eq!(retried.id, first.id);
    // Someone else, another title, or much later: new incidents, numbered without gaps.
    let second = new(declare(&*s, "slash:T3", "U0BOB", "Checkout is down", t(31)).await);
    let third = new(declare(&*s, "slash:T4", "U0ALICE", "Search is slow", t(32)).await);
    let fourth = new(declare(&*s, "slash:T5", "U0ALICE", "Checkout is down", t(600)).await);
    assert_eq!([second.number, third.number, fourth.number], [2, 3, 4]);
    assert_eq!(s.open_incidents().await.expect("open").len(), 4);
    assert_eq!(
        s.job_counts().await.expect("counts"),
        JobCounts {
            pending: 4,
            done: 0,
            failed: 0
        }
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
    assert_eq!(b.len(), 3, "the other three jobs");
    assert!(b.iter().all(|j| j.id != job.id));

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
            new_job("set_topic", Some("incident:1:set_topic"), t(702)),
            new_job("set_topic", Some("incident:1:set_topic"), t(702)),
        ],
        events: vec![NewEvent {
            kind: TimelineKind::ChannelCreated,
            actor: None,
            data: json!({"channel_id": "C1"}),
        }],
    };
    assert!(
        s.complete_job(&job, outcome.clone(), t(702))
            .await
            .expect("complete")
    );
    assert!(
        !s.complete_job(&job, outcome, t(703)).await.expect("twice"),
        "a done job cannot complete again"
    );
    let with_channel = s.incident(first.id).await.expect("load").expect("exists");
    assert_eq!(with_channel.channel_id.as_deref(), Some("C1"));
    assert_eq!(
        s.incident_for_channel("C1").await.expect("by channel"),
        Some(first.id)
    );
    assert_eq!(
        s.incident_for_channel("C404").await.expect("by channel"),
        None
    );
    assert_eq!(
        timeline_kinds(&*s, first.id).await,
        [TimelineKind::Declared, TimelineKind::ChannelCreated]
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
    assert!(
        !s.complete_job(&old, Outcome::default(), t(800))
            .await
            .expect("stale"),
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
        events: vec![NewEvent {
            kind: TimelineKind::StepFailed,
            actor: None,
            data: json!({"error": "channel_not_found"}),
        }],
    };
    assert!(
        s.fail_job(&again, "channel_not_found", report, t(901))
            .await
            .expect("fail")
    );
    let counts = s.job_counts().await.expect("counts");
    assert_eq!((counts.done, counts.failed), (1, 1));
    let last = s
        .timeline(first.id)
        .await
        .expect("timeline")
        .pop()
        .expect("event");
    assert_eq!((last.kind, last.at), (TimelineKind::StepFailed, t(901)));
}

/// Forty declarations at once get forty distinct numbers; then eight workers claiming at once
/// lease every job exactly once.
async fn claims_are_exclusive(s: Arc<dyn Store>) {
    let mut declaring = Vec::new();
    for n in 0..40 {
        let s = s.clone();
        declaring.push(tokio::spawn(async move {
            declare(&*s, &format!("k{n}"), &format!("U{n}"), "Same title", t(0)).await
        }));
    }
    for d in declaring {
        new(d.await.expect("task"));
    }
    let mut tasks = Vec::new();
    for w in 0..8 {
        let s = s.clone();
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
