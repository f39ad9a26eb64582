//! The steps' payloads and keys: what is stored reads back, old payloads still read, keys name
//! their cause.

use super::*;
use crate::domain::cause::Cause;
use serde_json::json;

fn by() -> Caused {
    Cause::Slash("T1".into()).part(crate::domain::cause::Part::Effect(0))
}

#[test]
fn steps_round_trip_through_their_payloads() {
    let steps = [
        Step::CreateChannel {
            response_url: Some("https://hooks.slack.com/x".into()),
            adopt: None,
        },
        Step::CreateChannel {
            response_url: None,
            adopt: Some("C0WARROOM".into()),
        },
        Step::Invite {
            users: vec!["U1".into()],
        },
        Step::InviteGroup { group: "S1".into() },
        Step::SyncTopic,
        Step::SyncCard {
            channel: Some("C1".into()),
        },
        Step::PinCard { ts: "1.2".into() },
        Step::SyncAnnouncement {
            channel: "C1".into(),
        },
        Step::Post {
            channel: "C1".into(),
            message: Message::text("hi"),
        },
        Step::ThreadReply {
            channel: "C2".into(),
            message: Message::text("hi"),
        },
        Step::Reminder,
        Step::Nudge,
        Step::Digest {
            slot: 1_800_000_000_000,
            workspace: String::new(),
        },
        Step::Digest {
            slot: 1_800_000_000_000,
            workspace: "T0OTHER".into(),
        },
        Step::Report {
            to: ReportTo::Channel { id: "C1".into() },
            text: "t".into(),
        },
    ];
    let now = DateTime::from_timestamp(0, 0).expect("time");
    for step in steps {
        let job = step.job(IncidentRef::Id(7), &by(), now);
        assert_eq!(job.kind, step.kind());
        assert_eq!(job.payload["step"], step.kind());
        let back: Step = serde_json::from_value(job.payload).expect("payload");
        assert_eq!(back, step);
    }
}

#[test]
fn keys_name_the_cause_and_sync_steps_coalesce_per_incident() {
    let now = DateTime::from_timestamp(0, 0).expect("time");
    let topic = Step::SyncTopic.job(IncidentRef::Id(7), &by(), now);
    let text = |job: &NewJob| job.key.as_ref().map(|k| k.text(None).expect("numbered"));
    assert_eq!(text(&topic).as_deref(), Some("incident:7:sync_topic"));
    assert_eq!(topic.dedupe, Dedupe::Rerun);
    let post = Step::Post {
        channel: "C1".into(),
        message: Message::text("hi"),
    }
    .job(IncidentRef::Id(7), &by(), now);
    assert_eq!(text(&post).as_deref(), Some("slash:T1:0:post"));
    assert_eq!(post.lane.as_deref(), Some("channel:C1"));
    assert_eq!(post.dedupe, Dedupe::Keep);
    let report = Step::Report {
        to: ReportTo::Channel { id: "C1".into() },
        text: "t".into(),
    }
    .job(IncidentRef::Id(7), &Cause::Job(3).whole(), now);
    assert_eq!((report.key, report.lane), (None, None));
    // A new incident's keys are numbered by the store that numbers it.
    let reminder = Step::Reminder.uncaused(IncidentRef::New, now);
    let key = reminder.key.expect("a key");
    assert!(key.text(None).is_err());
    assert_eq!(key.text(Some(42)).as_deref(), Ok("incident:42:reminder"));
}

#[test]
fn pending_jobs_of_the_foundation_still_read() {
    for (payload, expected) in [
        (json!({"step": "set_topic"}), Step::SyncTopic),
        (
            json!({"step": "post_card"}),
            Step::SyncCard { channel: None },
        ),
        (
            json!({"step": "announce", "channel": "C9"}),
            Step::SyncAnnouncement {
                channel: "C9".into(),
            },
        ),
    ] {
        let step: Step = serde_json::from_value(payload).expect("old payload");
        assert_eq!(step, expected);
    }
}
