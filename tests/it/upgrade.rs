//! Upgrades never break a running bot. For every set of migrations an earlier version left a
//! database with, a seed (`tests/fixtures/upgrade/*.sql`) fills it the way that version's code
//! wrote it — incidents open, resolved and private, their timelines, jobs done, failed and still
//! pending in that version's payloads, idempotency keys, reminders — and the Slack workspace is
//! made to hold what that bot had created there. Then this version starts on it, migrates it, and
//! runs the core story as people would: the old pending work is carried out, `/inc list`,
//! `/inc status`, an update, a new declaration, a resolution, the postmortem, and a reminder.
//! The tests run on SQLite, and on PostgreSQL when `TEST_DATABASE_URL` is set.
//!
//! The migration history is not linear: 0004 (alert intake) was written on a branch from 0002
//! and merged after 0005 (reminders), so databases existed with 0001–0002 + 0004 and with
//! 0001–0003 + 0005; each gets its seed, and their upgrade applies a migration older than the
//! newest one applied.
//!
//! Up to 0006 the bot kept slash-command and message text as Slack sent it, escaped (`R&amp;D`);
//! migration 0007 decodes it once, outside Slack's tokens. The last tests check that path by path
//! (what came escaped is decoded, what was typed into a modal or sent by a monitor is not),
//! against `mrkdwn::from_slack` itself, and as people see it after the upgrade.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use incident_commander::app::{App, Clock, StartupError};
use incident_commander::domain::Entry;
use incident_commander::store::Store;
use serde_json::{Value, json};
use slack_simulator::{BOT_USER_ID, SimulatorConfig, SlackSimulator};
use sqlx::migrate::{Migration, Migrator};
use sqlx::{AnyConnection, Connection};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::helpers::*;

/// A database some earlier version left, and what people see once this version runs on it.
struct Era {
    /// The migrations it had, as sqlx recorded them.
    migrations: &'static [i64],
    /// `tests/fixtures/upgrade/…`: the rows that version wrote.
    seed: &'static str,
    /// How many incidents it numbered.
    incidents: i64,
    /// What `/inc list` shows alice once the old pending work ran, one line per incident.
    listed_to_alice: &'static [&'static str],
    /// Open incidents not listed to alice (private ones she has no part in).
    hidden_from_alice: &'static [&'static str],
    /// Lines `/inc list` shows bob: the private incident whose channel he joined.
    listed_to_bob: &'static [&'static str],
    /// The channels of incidents whose declaration saga it left unfinished (or not begun).
    saga_finished: &'static [&'static str],
    /// An update it posted before it stopped.
    posted_update: Option<&'static str>,
    /// An update it recorded but had not posted yet.
    unposted_update: Option<&'static str>,
    /// A finding pinned in INC-1's channel, which the postmortem lists.
    pinned: Option<&'static str>,
    /// The channel of an open incident whose update reminder is due after the upgrade, and when
    /// (UTC, on the day of [`t0`]): a reminder job the old version left pending, or — before
    /// 0005 — the one this version arms at startup.
    reminder: (&'static str, (u32, u32)),
    /// Jobs it had given up on (they stay failed; nothing new fails).
    failed: i64,
}

/// When the old version was stopped, give or take a minute: 10:00 UTC on Monday 2 March 2026.
/// The seeds' times lead up to it, and the upgraded bot's clock starts there.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0)
        .single()
        .expect("T0")
}

fn at((hour, minute): (u32, u32)) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, hour, minute, 0)
        .single()
        .expect("a time on T0's day")
}

const INC1: &str = "inc-1-checkout-is-failing";

/// Every database an earlier version can leave, oldest first.
const ERAS: [&Era; 10] = [
    &FOUNDATION_0001,
    &RUNNING_INCIDENTS_0002,
    &INTERACTIVITY_0003,
    &OPERATIONS_BRANCH_0004,
    &REMINDERS_0005_BEFORE_0004,
    &MERGED_0005,
    &POSTMORTEMS_0006,
    &DECODED_TEXT_0007,
    &OUTSIDE_SYSTEMS_0008,
    &AFTER_THE_INCIDENT_0009,
];

const FOUNDATION_0001: Era = Era {
    migrations: &[1],
    seed: include_str!("../fixtures/upgrade/0001.sql"),
    incidents: 3,
    listed_to_alice: &[
        "*INC-1* · SEV1 · investigating — Checkout is failing",
        "*INC-2* · SEV2 · triage — Search results are stale",
        "*INC-3* · SEV3 · investigating — Status page shows a stale banner",
    ],
    hidden_from_alice: &[],
    listed_to_bob: &[],
    saga_finished: &[
        "inc-2-search-results-are-stale",
        "inc-3-status-page-shows-a-stale-banner",
    ],
    posted_update: None,
    unposted_update: None,
    pinned: None,
    reminder: ("inc-2-search-results-are-stale", (10, 24)),
    failed: 1,
};

const RUNNING_INCIDENTS_0002: Era = Era {
    migrations: &[1, 2],
    seed: include_str!("../fixtures/upgrade/0001-0002.sql"),
    incidents: 3,
    listed_to_alice: &[
        "*INC-1* · SEV1 · investigating — Checkout is failing",
        "*INC-3* · SEV3 · investigating — Status page shows a stale banner",
    ],
    hidden_from_alice: &[],
    listed_to_bob: &[],
    saga_finished: &["inc-3-status-page-shows-a-stale-banner"],
    posted_update: Some("Payments provider is timing out; failing over to the secondary"),
    unposted_update: Some("Failover done; the error rate is back under 1%"),
    pinned: None,
    reminder: ("inc-3-status-page-shows-a-stale-banner", (10, 27)),
    failed: 0,
};

const INTERACTIVITY_0003: Era = Era {
    migrations: &[1, 2, 3],
    seed: include_str!("../fixtures/upgrade/0001-0003.sql"),
    incidents: 4,
    listed_to_alice: &[
        "*INC-1* · SEV1 · investigating — Checkout is failing",
        "*INC-4* · SEV3 · investigating — Status page shows a stale banner",
    ],
    hidden_from_alice: &["INC-3"],
    listed_to_bob: &[
        "*INC-3* · SEV2 · investigating — Payroll export shared with the wrong bucket",
    ],
    saga_finished: &["inc-4-status-page-shows-a-stale-banner"],
    posted_update: Some("Payments provider is timing out; failing over to the secondary"),
    unposted_update: Some("Failover done; the error rate is back under 1%"),
    pinned: Some("Failover to the secondary provider started at 09:31"),
    reminder: (
        "inc-3-payroll-export-shared-with-the-wrong-bucket",
        (10, 15),
    ),
    failed: 0,
};

const OPERATIONS_BRANCH_0004: Era = Era {
    migrations: &[1, 2, 4],
    seed: include_str!("../fixtures/upgrade/0001-0002+0004.sql"),
    incidents: 4,
    listed_to_alice: &[
        "*INC-1* · SEV1 · investigating — Checkout is failing",
        "*INC-3* · SEV2 · triage — High error rate on checkout-api",
        "*INC-4* · SEV3 · investigating — Status page shows a stale banner",
    ],
    hidden_from_alice: &[],
    listed_to_bob: &[],
    saga_finished: &["inc-4-status-page-shows-a-stale-banner"],
    posted_update: Some("Payments provider is timing out; failing over to the secondary"),
    unposted_update: Some("Failover done; the error rate is back under 1%"),
    pinned: None,
    reminder: ("inc-3-high-error-rate-on-checkout-api", (10, 10)),
    failed: 0,
};

const REMINDERS_0005_BEFORE_0004: Era = Era {
    migrations: &[1, 2, 3, 5],
    seed: include_str!("../fixtures/upgrade/0001-0003+0005.sql"),
    incidents: 4,
    listed_to_alice: &[
        "*INC-1* · SEV1 · investigating — Checkout is failing",
        "*INC-4* · SEV3 · investigating — Status page shows a stale banner",
    ],
    hidden_from_alice: &["INC-3"],
    listed_to_bob: &[
        "*INC-3* · SEV2 · investigating — Payroll export shared with the wrong bucket",
    ],
    saga_finished: &["inc-4-status-page-shows-a-stale-banner"],
    posted_update: Some("Payments provider is timing out; failing over to the secondary"),
    unposted_update: Some("Failover done; the error rate is back under 1%"),
    pinned: Some("Failover to the secondary provider started at 09:31"),
    reminder: ("inc-3-payroll-export-shared-with-the-wrong-bucket", (10, 8)),
    failed: 0,
};

const MERGED_0005: Era = Era {
    migrations: &[1, 2, 3, 4, 5],
    seed: include_str!("../fixtures/upgrade/0001-0005.sql"),
    incidents: 5,
    listed_to_alice: &[
        "*INC-1* · SEV1 · investigating — Checkout is failing",
        "*INC-3* · SEV2 · triage — High error rate on checkout-api",
        "*INC-5* · SEV3 · investigating — Status page shows a stale banner",
    ],
    hidden_from_alice: &["INC-4"],
    listed_to_bob: &[
        "*INC-4* · SEV2 · investigating — Payroll export shared with the wrong bucket",
    ],
    saga_finished: &["inc-5-status-page-shows-a-stale-banner"],
    posted_update: Some("Payments provider is timing out; failing over to the secondary"),
    unposted_update: Some("Failover done; the error rate is back under 1%"),
    pinned: Some("Failover to the secondary provider started at 09:31"),
    reminder: ("inc-4-payroll-export-shared-with-the-wrong-bucket", (10, 8)),
    failed: 0,
};

/// The last version that kept text as Slack sent it (`R&amp;D`); its upgrade applies 0007.
const POSTMORTEMS_0006: Era = Era {
    migrations: &[1, 2, 3, 4, 5, 6],
    seed: include_str!("../fixtures/upgrade/0001-0006.sql"),
    incidents: 6,
    listed_to_alice: &[
        "*INC-1* · SEV1 · investigating — Checkout is failing",
        "*INC-3* · SEV2 · triage — Error rate &gt; 2% &amp; rising on checkout-api",
        "*INC-5* · SEV2 · investigating — R&amp;D &lt;beta&gt; sign-in fails",
        "*INC-6* · SEV3 · investigating — Status page shows a stale banner",
    ],
    hidden_from_alice: &["INC-4"],
    listed_to_bob: &[
        "*INC-4* · SEV2 · investigating — Payroll export shared with the wrong bucket",
    ],
    saga_finished: &["inc-6-status-page-shows-a-stale-banner"],
    posted_update: Some("Payments provider is timing out; failing over to the secondary"),
    unposted_update: Some("Failover done; the error rate is back under 1%"),
    pinned: Some("Failover to the secondary provider started at 09:31"),
    reminder: ("inc-4-payroll-export-shared-with-the-wrong-bucket", (10, 8)),
    failed: 0,
};

/// The last version before the outside systems (0008): text kept as people typed it, Slack's
/// tokens as tokens, and every post carrying its job key; its upgrade applies 0008.
const DECODED_TEXT_0007: Era = Era {
    migrations: &[1, 2, 3, 4, 5, 6, 7],
    seed: include_str!("../fixtures/upgrade/0001-0007.sql"),
    incidents: 6,
    listed_to_alice: &[
        "*INC-1* · SEV1 · investigating — Checkout is failing",
        "*INC-3* · SEV2 · triage — Error rate &gt; 2% &amp; rising on checkout-api",
        "*INC-5* · SEV2 · investigating — R&amp;D &lt;beta&gt; sign-in fails",
        "*INC-6* · SEV3 · investigating — Status page shows a stale banner",
    ],
    hidden_from_alice: &["INC-4"],
    listed_to_bob: &[
        "*INC-4* · SEV2 · investigating — Payroll export shared with the wrong bucket",
    ],
    saga_finished: &["inc-6-status-page-shows-a-stale-banner"],
    posted_update: Some("Payments provider is timing out; failing over to the secondary"),
    unposted_update: Some("Failover done; the error rate is back under 1%"),
    pinned: Some("Failover to the secondary provider started at 09:31"),
    reminder: ("inc-4-payroll-export-shared-with-the-wrong-bucket", (10, 8)),
    failed: 0,
};

/// The last version before 0009: the outside systems of 0008 (PagerDuty, the status page,
/// outgoing webhooks, rules) configured and used. This bot has none of them configured, so the
/// page and the three webhooks that version left pending fail for good here, each reported.
const OUTSIDE_SYSTEMS_0008: Era = Era {
    migrations: &[1, 2, 3, 4, 5, 6, 7, 8],
    seed: include_str!("../fixtures/upgrade/0001-0008.sql"),
    incidents: 6,
    listed_to_alice: &[
        "*INC-1* · SEV1 · investigating — Checkout is failing",
        "*INC-3* · SEV2 · triage — Error rate &gt; 2% &amp; rising on checkout-api",
        "*INC-5* · SEV2 · investigating — R&amp;D &lt;beta&gt; sign-in fails",
        "*INC-6* · SEV3 · investigating — Status page shows a stale banner",
    ],
    hidden_from_alice: &["INC-4"],
    listed_to_bob: &[
        "*INC-4* · SEV2 · investigating — Payroll export shared with the wrong bucket",
    ],
    saga_finished: &["inc-6-status-page-shows-a-stale-banner"],
    posted_update: Some("Payments provider is timing out; failing over to the secondary"),
    unposted_update: Some("Failover done; the error rate is back under 1%"),
    pinned: Some("Failover to the secondary provider started at 09:31"),
    reminder: ("inc-4-payroll-export-shared-with-the-wrong-bucket", (10, 8)),
    failed: 4,
};

/// The last version before 0010: after the incident (0009) — a postmortem owned and due, one
/// done, a customer impact window, a drill, a duplicate, an archived channel — and follow-ups
/// filed as GitHub issues, beside 0008's outside systems. This bot has none of that configured:
/// as from 0008, the page and the three webhooks left pending fail for good here.
const AFTER_THE_INCIDENT_0009: Era = Era {
    migrations: &[1, 2, 3, 4, 5, 6, 7, 8, 9],
    seed: include_str!("../fixtures/upgrade/0001-0009.sql"),
    incidents: 8,
    listed_to_alice: &[
        "*INC-1* · SEV1 · investigating — Checkout is failing",
        "*INC-3* · SEV2 · triage — Error rate &gt; 2% &amp; rising on checkout-api",
        "*INC-5* · SEV2 · investigating — R&amp;D &lt;beta&gt; sign-in fails",
        "*INC-8* · SEV3 · investigating — Status page shows a stale banner",
    ],
    hidden_from_alice: &["INC-4", "INC-6", "INC-7"],
    listed_to_bob: &[
        "*INC-4* · SEV2 · investigating — Payroll export shared with the wrong bucket",
    ],
    saga_finished: &["inc-8-status-page-shows-a-stale-banner"],
    posted_update: Some("Payments provider is timing out; failing over to the secondary"),
    unposted_update: Some("Failover done; the error rate is back under 1%"),
    pinned: Some("Failover to the secondary provider started at 09:31"),
    reminder: ("inc-4-payroll-export-shared-with-the-wrong-bucket", (10, 8)),
    failed: 4,
};

#[test]
fn every_earlier_version_has_its_database_here() {
    let known: Vec<i64> = sqlx::migrate!("./migrations/sqlite")
        .iter()
        .map(|m| m.version)
        .collect();
    let newest = *known.last().expect("migrations");
    let before_newest: Vec<i64> = known.iter().copied().filter(|v| *v < newest).collect();
    assert!(
        ERAS.iter().any(|era| era.migrations == before_newest),
        "no upgrade test starts from the version before migration {newest:04}: add \
         tests/fixtures/upgrade/{:04}-{:04}.sql, a database as that version's code wrote it, \
         and its Era here",
        before_newest[0],
        before_newest[before_newest.len() - 1],
    );
    for era in ERAS {
        assert!(
            era.migrations.iter().all(|v| known.contains(v)),
            "{:?} are migrations of this version",
            era.migrations
        );
    }
}

#[tokio::test]
async fn a_database_from_0001_the_foundation_upgrades_and_runs_the_core_story() {
    upgrade_and_run(&FOUNDATION_0001).await;
}

#[tokio::test]
async fn a_database_from_0002_running_incidents_upgrades_and_runs_the_core_story() {
    upgrade_and_run(&RUNNING_INCIDENTS_0002).await;
}

#[tokio::test]
async fn a_database_from_0003_interactivity_upgrades_and_runs_the_core_story() {
    upgrade_and_run(&INTERACTIVITY_0003).await;
}

#[tokio::test]
async fn a_database_from_the_operations_branch_0004_without_0003_upgrades_and_runs_the_core_story()
{
    upgrade_and_run(&OPERATIONS_BRANCH_0004).await;
}

#[tokio::test]
async fn a_database_from_0005_reminders_without_0004_upgrades_and_runs_the_core_story() {
    upgrade_and_run(&REMINDERS_0005_BEFORE_0004).await;
}

#[tokio::test]
async fn a_database_from_0005_upgrades_and_runs_the_core_story() {
    upgrade_and_run(&MERGED_0005).await;
}

#[tokio::test]
async fn a_database_from_0006_upgrades_and_runs_the_core_story() {
    upgrade_and_run(&POSTMORTEMS_0006).await;
}

#[tokio::test]
async fn a_database_from_0007_upgrades_and_runs_the_core_story() {
    upgrade_and_run(&DECODED_TEXT_0007).await;
}

#[tokio::test]
async fn a_database_from_0008_upgrades_and_runs_the_core_story() {
    let up = upgrade_and_run(&OUTSIDE_SYSTEMS_0008).await;

    // The outside work it left pending was read as 0008 wrote it, and failed for good only
    // because this bot has no PagerDuty and no WEBHOOK_URLS (an unreadable payload fails too,
    // but says so).
    let mut failed = up.failed_jobs().await;
    failed.sort();
    assert_eq!(
        failed,
        [
            "page: PagerDuty is not configured (set PAGERDUTY_SERVICES)",
            "webhook: WEBHOOK_URLS is no longer set",
            "webhook: WEBHOOK_URLS is no longer set",
            "webhook: WEBHOOK_URLS is no longer set",
        ]
    );

    // What it learned outside stays: the page acknowledged and the public incident, on the
    // card, and its entries on the timeline.
    let inc1 = up.channel(INC1);
    let incident = up.incident_in(&inc1).await;
    let refs = up.store.external_refs(incident.id).await.expect("refs");
    assert_eq!(refs.len(), 2, "{refs:?}");
    let card = up.message(&inc1, incident.card_ts.as_deref().expect("a card"));
    for shown in [
        "<https://example.pagerduty.com/incidents/Q0RWDJ5FTJ3K1S|checkout>: :eyes: acknowledged by Dana Scully",
        "*Status page*: <https://stspg.io/5hy4qjc8x0mz|investigating>",
    ] {
        assert!(card.contains(shown), "{shown:?} on the card: {card}");
    }
    let timeline = up.store.timeline(incident.id).await.expect("timeline");
    let rule = "Checkout outages page on-call";
    assert!(timeline.iter().any(|e| matches!(
        &e.entry,
        Entry::RuleApplied { rule: r, actions } if r == rule && actions == &["page checkout"]
    )));
    assert!(timeline.iter().any(|e| matches!(
        &e.entry,
        Entry::Paged { service, rule: Some(r), .. } if service == "checkout" && r == rule
    )));
    assert!(timeline.iter().any(|e| matches!(
        &e.entry,
        Entry::PageNews { by: Some(by), after_s: Some(158), .. } if by == "Dana Scully"
    )));
    assert!(timeline.iter().any(|e| matches!(
        &e.entry,
        Entry::StatusPublished { status, .. } if status == "investigating"
    )));
}

#[tokio::test]
async fn a_database_from_0009_upgrades_and_runs_the_core_story() {
    let up = upgrade_and_run(&AFTER_THE_INCIDENT_0009).await;

    // The outside work it left pending failed for good as 0008's did: this bot has no PagerDuty
    // and no WEBHOOK_URLS.
    let mut failed = up.failed_jobs().await;
    failed.sort();
    assert_eq!(
        failed,
        [
            "page: PagerDuty is not configured (set PAGERDUTY_SERVICES)",
            "webhook: WEBHOOK_URLS is no longer set",
            "webhook: WEBHOOK_URLS is no longer set",
            "webhook: WEBHOOK_URLS is no longer set",
        ]
    );

    // INC-2's postmortem is still bob's, due in five working days, its reminder and the
    // channel's archive check waiting; its impact window and its filed follow-up stay.
    let inc2 = up.channel("inc-2-search-results-are-stale");
    let resolved = up.incident_in(&inc2).await;
    assert_eq!(resolved.postmortem.owner.as_deref(), Some(BOB));
    let due = Utc
        .with_ymd_and_hms(2026, 3, 9, 9, 48, 0)
        .single()
        .expect("due");
    assert_eq!(resolved.postmortem.due_at, Some(due));
    assert_eq!(resolved.postmortem.done_at, None);
    assert_eq!(
        (resolved.impact_started_at, resolved.impact_ended_at),
        (Some(at((9, 14))), Some(at((9, 47))))
    );
    let day = chrono::Duration::days(1);
    let waiting = [
        ("archive_check", due + day * 6),
        ("postmortem_reminder", due - day),
    ]
    .map(|(kind, at)| (kind.to_string(), at.timestamp_millis()));
    assert_eq!(up.pending_jobs(resolved.id).await, waiting);
    let followups = up.command(ALICE, &inc2, "followups").await;
    assert!(
        followups.contains("<https://github.com/acme/ops/issues/1|#1>"),
        "{followups}"
    );

    // The drill's postmortem is done and its channel archived; nothing was said there since.
    let drill = up.channel("inc-6-game-day-search-loses-a-replica");
    let incident = up
        .store
        .incident_by_channel(&drill)
        .await
        .expect("load")
        .expect("the drill");
    assert!(incident.drill);
    assert_eq!(
        incident.postmortem.link.as_deref(),
        Some("https://wiki.example.com/drills/2026-03-02-search-replica")
    );
    assert!(incident.archived_at.is_some());
    assert!(up.sim.channel(&drill).expect("channel").is_archived);
    assert_eq!(up.messages(&drill).len(), 1, "only the old card is there");

    // The duplicate stays closed as INC-1's.
    let duplicate = up.channel("inc-7-card-payments-declined-at-checkout");
    let incident = up.incident_in(&duplicate).await;
    assert_eq!(
        incident.status,
        incident_commander::domain::Status::Declined
    );
    assert_eq!(incident.duplicate_of, Some(1));
}

/// What people typed before 0007 reads as they typed it: escaped once in Slack's mrkdwn, plain
/// in the postmortem's Markdown, a picked person still a mention and a pasted link still a link;
/// what was typed into a modal or came from a monitor reads exactly as before.
#[tokio::test]
async fn text_stored_as_slack_escaped_it_reads_as_people_typed_it_after_the_upgrade() {
    let up = Upgraded::start(&POSTMORTEMS_0006).await;
    up.settle().await;

    // INC-5 was declared with `/inc declare sev2 R&D <beta> sign-in fails`, which Slack sent as
    // `R&amp;D &lt;beta&gt; …` and 0006 kept so (its channel name still shows it).
    let beta = up.channel("inc-5-r-amp-d-lt-beta-gt-sign-in-fails");
    let incident = up.incident_in(&beta).await;
    assert_eq!(incident.title, "R&D <beta> sign-in fails");
    let card = up.message(&beta, incident.card_ts.as_deref().expect("a card"));
    for shown in [
        "INC-5 · SEV2 · investigating — R&amp;D &lt;beta&gt; sign-in fails",
        "Sign-in fails for R&amp;D &lt;beta&gt; testers since the 09:30 deploy",
    ] {
        assert!(card.contains(shown), "the card shows {shown:?}: {card}");
    }
    let status = up.command(ALICE, &beta, "status").await;
    assert!(
        status.starts_with("*INC-5* — R&amp;D &lt;beta&gt; sign-in fails\n"),
        "{status}"
    );
    assert!(
        status.contains("*Summary*: Sign-in fails for R&amp;D &lt;beta&gt; testers since"),
        "{status}"
    );
    let list = up.command(ALICE, &up.general, "list").await;
    assert!(
        list.contains("• *INC-5* · SEV2 · investigating — R&amp;D &lt;beta&gt; sign-in fails ·"),
        "{list}"
    );
    // A pasted link stays a link, its URL's `&` escaped once as Slack wants it.
    let followups = up.command(ALICE, &beta, "followups").await;
    assert!(
        followups.contains(
            "1. Alert on sign-in errors &gt; 1% &amp; page R&amp;D, as on \
             <https://grafana.example.com/d/auth?from=now-1h&amp;to=now|the graph &amp; logs> — <@U0BOB>"
        ),
        "{followups}"
    );
    for text in [&card, &status, &list, &followups] {
        assert!(
            !text.contains("&amp;amp;") && !text.contains("&amp;lt;"),
            "nothing escaped twice: {text}"
        );
    }

    // The update typed into the Update modal arrived as typed and stays so: the old version's
    // post of it, still pending at the upgrade, shows what bob typed, `&amp;` included.
    let typed = "Flag off for the <beta> group; the login page still shows &amp; where it means &";
    assert!(
        up.messages(&beta).iter().any(|m| m.contains(
            "Flag off for the &lt;beta&gt; group; the login page still shows &amp;amp; where it means &amp;"
        )),
        "the modal's update is posted as typed: {:?}",
        up.messages(&beta)
    );
    let updates: Vec<String> = up
        .store
        .timeline(incident.id)
        .await
        .expect("timeline")
        .into_iter()
        .filter_map(|e| match e.entry {
            Entry::Update { text, .. } => Some(text),
            _ => None,
        })
        .collect();
    assert_eq!(
        updates,
        [
            "Rolled back the R&D login flag with <@U0ALICE|alice>; errors < 1% now",
            typed
        ]
    );

    // The alert's title came as JSON, `>` and `&` as the monitor wrote them, and is shown so.
    let alert = up.channel("inc-3-error-rate-2-rising-on-checkout-api");
    assert_eq!(
        up.incident_in(&alert).await.title,
        "Error rate > 2% & rising on checkout-api"
    );
    let status = up.command(ALICE, &alert, "status").await;
    assert!(
        status.starts_with("*INC-3* — Error rate &gt; 2% &amp; rising on checkout-api\n"),
        "{status}"
    );
    assert!(
        status.contains(
            "*Summary*: 5xx &gt; 2% &amp; p99 &gt; 800 ms for 5 minutes — \
             https://grafana.example.com/d/checkout?orgId=1&amp;var-env=prod"
        ),
        "{status}"
    );

    // The postmortem draft is Markdown: the same text plain, escaped for Markdown.
    let asked = up.command(BOB, &beta, "postmortem").await;
    assert!(
        asked.starts_with(":memo: Writing the postmortem draft of *INC-5*"),
        "{asked}"
    );
    up.settle().await;
    let draft = up.postmortem_in(&beta);
    for line in [
        "# INC-5: R&D \\<beta> sign-in fails\n",
        "\nSign-in fails for R&D \\<beta> testers since the 09:30 deploy\n",
        "· bob · Update: Rolled back the R&D login flag with @alice; errors \\< 1% now\n",
        "· bob · Follow-up: Alert on sign-in errors > 1% & page R&D, as on the graph & logs\n",
        "· bob · Update: Flag off for the \\<beta> group; the login page still shows \\&amp; where it means &\n",
    ] {
        assert!(draft.contains(line), "{line:?} in the postmortem:\n{draft}");
    }
    assert!(
        !draft.contains("&amp;amp;") && !draft.contains("&lt;") && !draft.contains("&gt;"),
        "{draft}"
    );
}

/// Builds the era's database and workspace, starts this version on them, and plays the story;
/// the bot stays up for whatever the era's own test looks at next.
async fn upgrade_and_run(era: &Era) -> Upgraded {
    let up = Upgraded::start(era).await;
    up.settle().await;

    // The work the old version left pending is done, in its payloads of the time.
    assert_eq!(
        up.store.job_counts().await.expect("counts").failed,
        era.failed,
        "a pending job of the old format failed: {:?}",
        up.failed_jobs().await
    );
    for incident in up.store.open_incidents().await.expect("open") {
        let reference = incident.reference();
        let channel = incident
            .channel_id
            .clone()
            .unwrap_or_else(|| panic!("{reference} has its channel"));
        let card = incident
            .card_ts
            .clone()
            .unwrap_or_else(|| panic!("{reference} has its card"));
        assert!(
            up.sim
                .pins(&channel)
                .iter()
                .any(|p| p.ts.as_deref() == Some(card.as_str())),
            "{reference}'s card is pinned"
        );
        assert_eq!(
            incident.announcement_ts.is_some(),
            !incident.private,
            "{reference} is announced unless private"
        );
    }
    for name in era.saga_finished {
        let channel = up.channel(name);
        let incident = up.incident_in(&channel).await;
        let topic = up.sim.channel(&channel).expect("channel").topic;
        assert!(
            topic.contains(&incident.title),
            "#{name}'s topic: {topic:?}"
        );
        if let Some(source) = &incident.source {
            let thread = up.sim.thread(&source.channel, &source.ts);
            assert!(
                thread
                    .iter()
                    .any(|m| m.user == BOT_USER_ID && m.text.contains(&channel)),
                "the message #{name} was declared from has a reply linking it: {thread:?}"
            );
        }
    }
    let inc1 = up.channel(INC1);
    if let Some(update) = era.unposted_update {
        assert!(
            up.messages(&inc1).iter().any(|m| m.contains(update)),
            "the update the old version recorded is posted in INC-1's channel"
        );
        let incident = up.incident_in(&inc1).await;
        let thread = up.sim.thread(
            &up.incidents,
            incident.announcement_ts.as_deref().expect("announced"),
        );
        assert!(
            thread.iter().any(|m| shown_text(m).contains(update)),
            "and in the announcement's thread"
        );
    }

    // Listing, reading and changing the upgraded incidents.
    let list = up.command(ALICE, &up.general, "list").await;
    assert!(
        list.starts_with(&format!("*Open incidents* ({})", era.listed_to_alice.len())),
        "{list}"
    );
    for line in era.listed_to_alice {
        assert!(list.contains(line), "{line} in {list}");
    }
    for reference in era.hidden_from_alice {
        assert!(!list.contains(&format!("*{reference}*")), "{list}");
    }
    let list = up.command(BOB, &up.general, "list").await;
    for line in era.listed_to_bob {
        assert!(list.contains(line), "{line} in {list}");
    }

    let status = up.command(BOB, &inc1, "status").await;
    assert!(
        status.starts_with("*INC-1* — Checkout is failing\n*SEV1* · *investigating* · open 40 min"),
        "{status}"
    );
    assert!(status.contains("Coordinator <@U0ALICE>"), "{status}");

    assert_eq!(
        up.command(ALICE, &inc1, "update Payments are flowing again")
            .await,
        "Update posted."
    );
    up.settle().await;
    assert!(
        up.messages(&inc1)
            .iter()
            .any(|m| m.contains("Payments are flowing again")),
        "the update is posted in the channel"
    );
    let incident = up.incident_in(&inc1).await;
    let timeline = up.store.timeline(incident.id).await.expect("timeline");
    assert!(
        timeline.iter().any(|e| matches!(
            &e.entry,
            Entry::Update { text, .. } if text == "Payments are flowing again"
        )),
        "and recorded"
    );

    let declared = up
        .command(BOB, &up.general, "declare sev2 Login emails are delayed")
        .await;
    assert!(
        declared.starts_with(&format!(
            ":rotating_light: Declared *INC-{}* · SEV2 · investigating — Login emails are delayed.",
            era.incidents + 1
        )),
        "{declared}"
    );
    up.settle().await;

    assert_eq!(
        up.command(
            ALICE,
            &inc1,
            "resolve Payments recovered after the failover"
        )
        .await,
        "*INC-1* is resolved."
    );
    let asked = up.command(ALICE, &inc1, "postmortem").await;
    assert!(
        asked.starts_with(":memo: Writing the postmortem draft of *INC-1*"),
        "{asked}"
    );
    up.settle().await;
    let draft = up.postmortem_in(&inc1);
    for text in [
        Some("Checkout is failing"),
        era.posted_update,
        era.unposted_update,
        era.pinned,
        Some("Payments are flowing again"),
        Some("Payments recovered after the failover"),
    ]
    .into_iter()
    .flatten()
    {
        assert!(draft.contains(text), "{text:?} in the postmortem:\n{draft}");
    }

    // A reminder still comes, when the update is due.
    let (name, due) = era.reminder;
    let channel = up.channel(name);
    up.clock.advance_to(at(due) - chrono::Duration::minutes(1));
    up.settle().await;
    assert!(
        up.reminders(&channel).is_empty(),
        "no reminder in #{name} before {due:?}"
    );
    up.clock.advance_to(at(due));
    up.settle().await;
    let reminders = up.reminders(&channel);
    assert_eq!(reminders.len(), 1, "one reminder in #{name}: {reminders:?}");

    assert_eq!(
        up.store.job_counts().await.expect("counts").failed,
        era.failed,
        "nothing failed: {:?}",
        up.failed_jobs().await
    );
    up
}

/// This version running on an era's database, against a workspace holding what the old bot made.
struct Upgraded {
    sim: SlackSimulator,
    store: Store,
    clock: Arc<MovableClock>,
    general: String,
    incidents: String,
    /// What the seed's `{{…}}` stood for.
    made: HashMap<String, String>,
    db: TestDb,
    _stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), StartupError>>,
}

impl Drop for Upgraded {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Upgraded {
    async fn start(era: &Era) -> Upgraded {
        incident_commander::install_crypto_provider();
        sqlx::any::install_default_drivers();
        let sim = SlackSimulator::start(manifest_scopes())
            .await
            .expect("simulator starts");
        sim.add_user(ALICE, "alice");
        sim.add_user(BOB, "bob");
        sim.add_user(CAROL, "carol");
        let general = sim.add_channel("general", false, false);
        let incidents = sim.add_channel("incidents", false, true);
        let mut old_bot = OldBot {
            sim: &sim,
            general: general.clone(),
            incidents: incidents.clone(),
            made: HashMap::new(),
            archived: Vec::new(),
        };
        let seed = old_bot.fill(era.seed).await;
        let made = old_bot.made;

        let db = test_db().await;
        let mut conn = open(&db.url).await;
        migrate_only(&mut conn, &db.url, era.migrations).await;
        sqlx::raw_sql(sqlx::AssertSqlSafe(seed))
            .execute(&mut conn)
            .await
            .expect("the seed fits the schema of its migrations");
        if !db.url.starts_with("sqlite:") {
            // The old code let PostgreSQL number the rows; the seed names its ids, so the
            // identity sequences are moved past them as that code's inserts would have.
            let mut tables = vec!["incidents", "role_assignments", "timeline_events", "jobs"];
            if era.migrations.contains(&8) {
                tables.push("external_refs");
            }
            for table in tables {
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), MAX(id)) FROM {table}"
                )))
                .execute(&mut conn)
                .await
                .expect("sequence");
            }
        }
        conn.close().await.expect("close");

        // `incident-commander check` reads the history and names what startup will apply — or,
        // for the version just before this one's newest migration, nothing yet.
        let known: Vec<i64> = sqlx::migrate!("./migrations/sqlite")
            .iter()
            .map(|m| m.version)
            .collect();
        let pending: Vec<String> = known
            .iter()
            .filter(|v| !era.migrations.contains(v))
            .map(|v| format!("{v:04}"))
            .collect();
        let mut checklist = Vec::new();
        incident_commander::app::check::run(&settings_for(&sim, &db.url), &mut checklist).await;
        let checklist = String::from_utf8(checklist).expect("UTF-8");
        let expected = match pending.is_empty() {
            false => format!(
                "[ok]   database: startup (or `incident-commander migrate`) applies migrations {}\n",
                pending.join(", ")
            ),
            true => format!(
                "[ok]   database: schema up to date (migration {:04})\n",
                known.last().expect("migrations")
            ),
        };
        assert!(checklist.contains(&expected), "{checklist}");

        let clock = Arc::new(MovableClock::starting_at(t0()));
        let app = App::build_with_clock(settings_for(&sim, &db.url), clock.clone())
            .await
            .expect("this version starts on the upgraded database");
        let store = app.store();
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(app.run(async {
            let _ = stopped.await;
        }));
        assert!(sim.wait_connected(WAIT).await, "the bot connects");
        Upgraded {
            sim,
            store,
            clock,
            general,
            incidents,
            made,
            db,
            _stop: stop,
            task,
        }
    }

    /// The id of the channel called `name`.
    fn channel(&self, name: &str) -> String {
        self.made
            .get(&format!("channel:{name}"))
            .or_else(|| self.made.get(&format!("private:{name}")))
            .cloned()
            .or_else(|| self.sim.channel_by_name(name).map(|c| c.id))
            .unwrap_or_else(|| panic!("no channel #{name}"))
    }

    async fn incident_in(&self, channel: &str) -> incident_commander::domain::Incident {
        self.store
            .incident_by_channel(channel)
            .await
            .expect("load")
            .expect("an incident channel")
    }

    /// `user` types `/inc <text>` in `channel`; the ephemeral answer.
    async fn command(&self, user: &str, channel: &str, text: &str) -> String {
        let envelope = self.sim.slash_command(user, channel, text);
        let ack = self
            .sim
            .ack(&envelope.envelope_id, WAIT)
            .await
            .unwrap_or_else(|| panic!("no ack for /inc {text}"));
        ack_text(&ack)
    }

    /// Waits until every job due now has finished.
    async fn settle(&self) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let figures = self
                .store
                .queue_figures(self.clock.now())
                .await
                .expect("queue");
            if figures.pending == 0 {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} jobs still under way after {WAIT:?}",
                figures.pending
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// What every message in `channel` shows.
    fn messages(&self, channel: &str) -> Vec<String> {
        let channel = self.sim.channel(channel).expect("channel");
        channel.messages.iter().map(shown_text).collect()
    }

    /// What the message `ts` in `channel` shows.
    fn message(&self, channel: &str, ts: &str) -> String {
        let channel = self.sim.channel(channel).expect("channel");
        let message = channel.messages.iter().find(|m| m.ts == ts);
        shown_text(message.unwrap_or_else(|| panic!("no message {ts}")))
    }

    /// The update reminders posted in `channel`.
    fn reminders(&self, channel: &str) -> Vec<String> {
        self.messages(channel)
            .into_iter()
            .filter(|m| m.contains("The people waiting for news are owed one"))
            .collect()
    }

    /// The newest postmortem draft shared in `channel`.
    fn postmortem_in(&self, channel: &str) -> String {
        let file = self
            .sim
            .files()
            .into_iter()
            .rfind(|f| f.completed && f.channels.iter().any(|c| c == channel))
            .expect("a postmortem draft was shared");
        String::from_utf8(file.bytes.expect("uploaded")).expect("UTF-8")
    }

    /// The kinds of `incident`'s pending jobs and when they are due, by kind.
    async fn pending_jobs(&self, incident: i64) -> Vec<(String, i64)> {
        let mut conn = open(&self.db.url).await;
        sqlx::query_as::<_, (String, i64)>(
            "SELECT kind, run_at FROM jobs WHERE incident_id = $1 AND state = 'pending' \
             ORDER BY kind",
        )
        .bind(incident)
        .fetch_all(&mut conn)
        .await
        .expect("pending jobs")
    }

    /// The jobs that failed, for assertion messages.
    async fn failed_jobs(&self) -> Vec<String> {
        let mut conn = open(&self.db.url).await;
        sqlx::query_scalar::<_, String>(
            "SELECT kind || ': ' || COALESCE(last_error, '') FROM jobs WHERE state = 'failed'",
        )
        .fetch_all(&mut conn)
        .await
        .expect("failed jobs")
    }
}

async fn open(url: &str) -> AnyConnection {
    use sqlx::migrate::MigrateDatabase;
    if url.starts_with("sqlite:") && !sqlx::Any::database_exists(url).await.expect("exists") {
        sqlx::Any::create_database(url)
            .await
            .expect("create the SQLite file");
    }
    AnyConnection::connect(url).await.expect("connect")
}

/// Applies exactly `versions` of this binary's migrations (which never change once released),
/// recording them as sqlx does.
async fn migrate_only(conn: &mut AnyConnection, url: &str, versions: &[i64]) {
    let all = match url.starts_with("sqlite:") {
        true => sqlx::migrate!("./migrations/sqlite"),
        false => sqlx::migrate!("./migrations/postgres"),
    };
    let chosen: Vec<Migration> = all
        .iter()
        .filter(|m| versions.contains(&m.version))
        .cloned()
        .collect();
    assert_eq!(
        chosen.len(),
        versions.len(),
        "migrations {versions:?} exist"
    );
    Migrator::with_migrations(chosen)
        .run(conn)
        .await
        .expect("the era's migrations apply");
}

/// The bot of an earlier version, as far as the workspace remembers it: it makes in Slack, through
/// the Web API with the bot token, what a seed names (`{{channel:inc-1-…}}`: the channel it
/// created; `{{archived:…}}`, one it created and later archived; `{{card:…}}`, its pinned card
/// there; `{{announcement:…}}`, its announcement in #incidents; `{{bot:<channel>:<text>}}`,
/// another of its posts), and people's messages (`{{said:<channel>:<user>:<text>}}`, also
/// `{{pinned:…}}`). `{{announce}}` and `{{general}}` are the two channels every workspace has.
struct OldBot<'a> {
    sim: &'a SlackSimulator,
    general: String,
    incidents: String,
    made: HashMap<String, String>,
    /// Channels to archive once everything the seed names in them is made.
    archived: Vec<String>,
}

impl OldBot<'_> {
    /// `seed` with every `{{…}}` replaced by what it stands for.
    async fn fill(&mut self, seed: &str) -> String {
        let mut out = String::new();
        let mut rest = seed;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let end = start + rest[start..].find("}}").expect("a closed {{…}}");
            let token = &rest[start + 2..end];
            out.push_str(&self.resolve(token).await);
            rest = &rest[end + 2..];
        }
        out.push_str(rest);
        for channel in std::mem::take(&mut self.archived) {
            self.call("conversations.archive", json!({ "channel": channel }))
                .await;
        }
        out
    }

    async fn resolve(&mut self, token: &str) -> String {
        if let Some(made) = self.made.get(token) {
            return made.clone();
        }
        let (what, rest) = token.split_once(':').unwrap_or((token, ""));
        let made = match what {
            "announce" => self.incidents.clone(),
            "general" => self.general.clone(),
            "channel" | "private" => self.create_channel(rest, what == "private").await,
            "archived" => {
                // The channel as `channel:<name>` names it too, archived at the end of the seed.
                let key = format!("channel:{rest}");
                let id = match self.made.get(&key) {
                    Some(id) => id.clone(),
                    None => self.create_channel(rest, false).await,
                };
                self.made.insert(key, id.clone());
                self.archived.push(id.clone());
                id
            }
            "card" => {
                let channel = self.channel(rest);
                let ts = self
                    .post(&channel, &format!("The incident card of #{rest}"))
                    .await;
                self.call("pins.add", json!({ "channel": channel, "timestamp": ts }))
                    .await;
                ts
            }
            "bot" => {
                let (channel, text) = rest.split_once(':').expect("bot:<channel>:<text>");
                let channel = self.channel(channel);
                self.post(&channel, text).await
            }
            "announcement" => {
                let incidents = self.incidents.clone();
                self.post(&incidents, &format!("An incident was declared: #{rest}"))
                    .await
            }
            "said" | "pinned" => {
                let mut parts = rest.splitn(3, ':');
                let (channel, user, text) = (
                    parts.next().expect("channel"),
                    parts.next().expect("user"),
                    parts.next().expect("text"),
                );
                let channel = match channel {
                    "general" => self.general.clone(),
                    name => self.channel(name),
                };
                let ts = self.sim.post_as(user, &channel, text);
                if what == "pinned" {
                    // Pinned by the bot here, so that no event of it reaches the new version:
                    // the old one recorded the person's pin (the seed's `pins` row).
                    self.call("pins.add", json!({ "channel": channel, "timestamp": ts }))
                        .await;
                }
                ts
            }
            other => panic!("unknown seed placeholder {{{{{other}:…}}}}"),
        };
        self.made.insert(token.to_string(), made.clone());
        made
    }

    async fn create_channel(&self, name: &str, private: bool) -> String {
        let created = self
            .call(
                "conversations.create",
                json!({ "name": name, "is_private": private }),
            )
            .await;
        created["channel"]["id"]
            .as_str()
            .expect("channel id")
            .to_string()
    }

    fn channel(&self, name: &str) -> String {
        self.made
            .get(&format!("channel:{name}"))
            .or_else(|| self.made.get(&format!("private:{name}")))
            .cloned()
            .unwrap_or_else(|| panic!("the seed names #{name} before creating it"))
    }

    async fn post(&self, channel: &str, text: &str) -> String {
        let posted = self
            .call(
                "chat.postMessage",
                json!({ "channel": channel, "text": text }),
            )
            .await;
        posted["ts"].as_str().expect("ts").to_string()
    }

    /// A Web API call as the bot; it must succeed.
    async fn call(&self, method: &str, params: Value) -> Value {
        let answer: Value = reqwest::Client::new()
            .post(format!("{}/{method}", self.sim.api_url()))
            .bearer_auth(SimulatorConfig::default().bot_token)
            .json(&params)
            .send()
            .await
            .expect("the simulator answers")
            .json()
            .await
            .expect("JSON");
        assert_eq!(answer["ok"], true, "{method} {params} → {answer}");
        answer
    }
}

// --- Migration 0007: text stored as Slack sent it, decoded once ---

/// Rows of a database at 0006, one or more for each path text took into it, each text with
/// Slack's entities in it: INC-1 declared by command, with an entry of every kind people write
/// (its second update and summary from the Update modal, `view:` key at the same millisecond);
/// INC-2 opened by an alert; INC-3 declared from a message through the Declare modal; INC-4
/// declared in the Declare modal.
const DECODE_PATHS: &str = "
INSERT INTO incidents (id, number, title, severity, status, private, summary, declared_by,
                       declared_at, updated_at, version, last_update_at, impact, source_channel,
                       source_ts, source_link, alert_key) VALUES
    (1, 1, 'R&amp;D &lt;beta&gt; sign-in fails', 'sev2', 'investigating', FALSE,
     'Sign-in &amp; sign-up fail for &lt;beta&gt; testers', 'U0BOB', 1000, 9500, 9, 4000, NULL,
     NULL, NULL, NULL, NULL),
    (2, 2, 'Error rate &gt; 2% &amp; rising', 'sev2', 'triage', FALSE, 'p99 &gt; 1s', 'U0BOT',
     1000, 1000, 0, 1000, NULL, NULL, NULL, NULL, 'generic:checkout-5xx'),
    (3, 3, 'Banner &amp; page are stale', 'sev3', 'declined', FALSE, 'Typed &amp; prefilled',
     'U0ALICE', 1000, 5000, 1, 1000, 'Visitors &amp; R&amp;D', 'C0GENERAL', '1772445398.000100',
     'https://example.slack.com/archives/C0GENERAL/p1772445398000100', NULL),
    (4, 4, 'R&amp;D rollout &lt;canary&gt;', 'sev3', 'investigating', FALSE,
     'Typed in the modal &amp; kept', 'U0CAROL', 1000, 1000, 0, 1000, 'QA &amp; R&amp;D', NULL,
     NULL, NULL, NULL);

INSERT INTO idempotency_keys (key, incident_id, created_at) VALUES
    ('slash:1.declare', 1, 1000),
    ('slash:1.update', 1, 2000),
    ('slash:1.summary', 1, 3000),
    ('view:V0UPDATE1', 1, 4000),
    ('slash:1.note', 1, 5000),
    ('slash:1.followup', 1, 6000),
    ('slash:1.escalate', 1, 7000),
    ('slash:1.resolve', 1, 8000),
    ('event:Ev1PIN', 1, 9000),
    ('event:Ev1EDIT', 1, 9500),
    ('view:V0DECLARE3', 3, 1000),
    ('slash:3.decline', 3, 5000),
    ('view:V0DECLARE4', 4, 1000);

INSERT INTO timeline_events (id, incident_id, kind, actor, at, data) VALUES
    (1, 1, 'declared', 'U0BOB', 1000,
     '{\"kind\":\"declared\",\"private\":false,\"roles\":{\"coordinator\":\"U0BOB\"},\"severity\":\"sev2\",\"status\":\"investigating\",\"title\":\"R&amp;D &lt;beta&gt; sign-in fails\"}'),
    (2, 1, 'update', 'U0BOB', 2000,
     '{\"kind\":\"update\",\"status\":null,\"text\":\"Paged <@U0ALICE|alice> &amp; R&amp;D; see <https://grafana.example.com/d/auth?from=now-1h&amp;to=now|the graph &amp; logs>\"}'),
    (3, 1, 'summary_set', 'U0BOB', 3000,
     '{\"kind\":\"summary_set\",\"text\":\"Sign-in &amp; sign-up fail for &lt;beta&gt; testers\"}'),
    (4, 1, 'summary_set', 'U0BOB', 4000,
     '{\"kind\":\"summary_set\",\"text\":\"Sign-in &amp; sign-up fail for &lt;beta&gt; testers\"}'),
    (5, 1, 'update', 'U0BOB', 4000,
     '{\"kind\":\"update\",\"status\":null,\"text\":\"The banner prints &amp; where it means & <b>\"}'),
    (6, 1, 'note', 'U0BOB', 5000, '{\"kind\":\"note\",\"text\":\"Errors &gt; 5% &amp; rising\"}'),
    (7, 1, 'follow_up', 'U0BOB', 6000,
     '{\"kind\":\"follow_up\",\"text\":\"Alert when R&amp;D flags &lt;flip&gt;\"}'),
    (8, 1, 'escalated', 'U0BOB', 7000,
     '{\"group\":null,\"kind\":\"escalated\",\"message\":\"Need R&amp;D &lt;now&gt;\",\"users\":[\"U0CAROL\"]}'),
    (9, 1, 'resolved', 'U0BOB', 8000,
     '{\"from\":\"investigating\",\"kind\":\"resolved\",\"text\":\"Flag &amp; cache fixed\"}'),
    (10, 1, 'pinned', 'U0BOB', 9000,
     '{\"author\":\"U0BOB\",\"author_label\":null,\"kind\":\"pinned\",\"text\":\"Root cause: R&amp;D flag &lt;beta&gt;\",\"ts\":\"1772443900.000200\"}'),
    (11, 1, 'pin_edited', NULL, 9500,
     '{\"kind\":\"pin_edited\",\"text\":\"Root cause: R&amp;D flag &lt;beta-2&gt;\",\"ts\":\"1772443900.000200\"}'),
    (12, 1, 'step_failed', NULL, 9600,
     '{\"error\":\"a &amp; b\",\"kind\":\"step_failed\",\"step\":\"set_topic\"}'),
    (13, 2, 'declared', NULL, 1000,
     '{\"kind\":\"declared\",\"private\":false,\"roles\":{},\"severity\":\"sev2\",\"status\":\"triage\",\"title\":\"Error rate &gt; 2% &amp; rising\"}'),
    (14, 2, 'alert_received', NULL, 1000,
     '{\"fingerprint\":\"checkout-5xx\",\"kind\":\"alert_received\",\"link\":\"https://grafana.example.com/d/x?a=1&amp;b=2\",\"severity\":\"sev2\",\"source\":\"grafana\",\"summary\":\"p99 &gt; 1s\",\"title\":\"Error rate &gt; 2% &amp; rising\"}'),
    (15, 3, 'declared', 'U0ALICE', 1000,
     '{\"kind\":\"declared\",\"private\":false,\"roles\":{\"coordinator\":\"U0ALICE\"},\"severity\":\"sev3\",\"status\":\"investigating\",\"title\":\"Banner &amp; page are stale\"}'),
    (16, 3, 'source_message', 'U0ALICE', 1000,
     '{\"author\":\"U0CAROL\",\"author_label\":null,\"channel\":\"C0GENERAL\",\"kind\":\"source_message\",\"permalink\":null,\"text\":\"The banner &amp; the page &lt;still&gt; show <https://status.example.com/?a=1&amp;b=2|maintenance &amp; more>\",\"ts\":\"1772445398.000100\"}'),
    (17, 3, 'declined', 'U0ALICE', 5000,
     '{\"kind\":\"declined\",\"reason\":\"Not an incident &amp; known\"}'),
    (18, 4, 'declared', 'U0CAROL', 1000,
     '{\"kind\":\"declared\",\"private\":false,\"roles\":{\"coordinator\":\"U0CAROL\"},\"severity\":\"sev3\",\"status\":\"investigating\",\"title\":\"R&amp;D rollout &lt;canary&gt;\"}');

INSERT INTO pins (incident_id, ts, author, author_label, text, pinned_by, pinned_at, state,
                  updated_at) VALUES
    (1, '1772443900.000200', 'U0BOB', NULL, 'Root cause: R&amp;D flag &lt;beta-2&gt;', 'U0BOB',
     9000, 'pinned', 9500),
    (1, '1772443950.000300', NULL, 'Grafana', 'p99 &gt; 1s <https://g.example/?a=1&amp;b=2|graph>',
     'U0BOB', 9100, 'pinned', 9100);
";

/// What 0007 makes of `stored`: decoded as the door decodes now, or left as it was.
fn after_0007(stored: &str, decoded: bool) -> String {
    match decoded {
        true => incident_commander::domain::mrkdwn::from_slack(stored),
        false => stored.to_string(),
    }
}

#[tokio::test]
async fn migration_0007_decodes_what_slack_escaped_and_leaves_what_arrived_as_typed() {
    sqlx::any::install_default_drivers();
    let db = test_db().await;
    let mut conn = open(&db.url).await;
    migrate_only(&mut conn, &db.url, &[1, 2, 3, 4, 5, 6]).await;
    sqlx::raw_sql(DECODE_PATHS)
        .execute(&mut conn)
        .await
        .expect("rows as 0006 wrote them");
    conn.close().await.expect("close");
    let store = incident_commander::store::connect(&db.url)
        .await
        .expect("this version migrates the database");

    let incident = |id| {
        let store = store.clone();
        async move { store.incident(id).await.expect("load").expect("incident") }
    };
    // Titles: decoded unless an alert or a message (through the modal, as plain text) made them.
    let slash = incident(1).await;
    assert_eq!(slash.title, "R&D <beta> sign-in fails");
    assert_eq!(
        slash.summary.as_deref(),
        Some("Sign-in & sign-up fail for <beta> testers"),
        "a summary set by /inc summary is decoded"
    );
    let alert = incident(2).await;
    assert_eq!(
        alert.title, "Error rate &gt; 2% &amp; rising",
        "the monitor's JSON"
    );
    assert_eq!(alert.summary.as_deref(), Some("p99 &gt; 1s"));
    let from_message = incident(3).await;
    assert_eq!(from_message.title, "Banner &amp; page are stale");
    assert_eq!(
        from_message.summary.as_deref(),
        Some("Typed &amp; prefilled")
    );
    assert_eq!(
        from_message.impact.as_deref(),
        Some("Visitors &amp; R&amp;D")
    );
    let from_modal = incident(4).await;
    assert_eq!(
        from_modal.title, "R&D rollout <canary>",
        "a Declare modal's title may be a command's escaped text, prefilled"
    );
    assert_eq!(
        from_modal.summary.as_deref(),
        Some("Typed in the modal &amp; kept")
    );
    assert_eq!(from_modal.impact.as_deref(), Some("QA &amp; R&amp;D"));

    // Timeline entries: the user text of each kind, by the path it came.
    let mut texts = Vec::new();
    for id in 1..=4 {
        for event in store.timeline(id).await.expect("timeline") {
            texts.push(event.entry);
        }
    }
    let expected = [
        ("R&amp;D &lt;beta&gt; sign-in fails", true),
        (
            "Paged <@U0ALICE|alice> &amp; R&amp;D; see <https://grafana.example.com/d/auth?from=now-1h&amp;to=now|the graph &amp; logs>",
            true,
        ),
        ("Sign-in &amp; sign-up fail for &lt;beta&gt; testers", true),
        ("Sign-in &amp; sign-up fail for &lt;beta&gt; testers", true),
        ("The banner prints &amp; where it means & <b>", false),
        ("Errors &gt; 5% &amp; rising", true),
        ("Alert when R&amp;D flags &lt;flip&gt;", true),
        ("Need R&amp;D &lt;now&gt;", true),
        ("Flag &amp; cache fixed", true),
        ("Root cause: R&amp;D flag &lt;beta&gt;", true),
        ("Root cause: R&amp;D flag &lt;beta-2&gt;", true),
        ("a &amp; b", false),
        ("Error rate &gt; 2% &amp; rising", false),
        ("Error rate &gt; 2% &amp; rising", false),
        ("Banner &amp; page are stale", false),
        (
            "The banner &amp; the page &lt;still&gt; show <https://status.example.com/?a=1&amp;b=2|maintenance &amp; more>",
            true,
        ),
        ("Not an incident &amp; known", true),
        ("R&amp;D rollout &lt;canary&gt;", true),
    ];
    assert_eq!(texts.len(), expected.len(), "{texts:#?}");
    for (entry, (stored, decoded)) in texts.iter().zip(expected) {
        let text = match entry {
            Entry::Declared { title, .. } => title.clone(),
            Entry::Update { text, .. }
            | Entry::SummarySet { text }
            | Entry::Note { text }
            | Entry::FollowUp { text }
            | Entry::Pinned { text, .. }
            | Entry::PinEdited { text, .. }
            | Entry::SourceMessage { text, .. } => text.clone(),
            Entry::Resolved { text, .. } => text.clone().expect("text"),
            Entry::Escalated { message, .. } => message.clone().expect("message"),
            Entry::Declined { reason } => reason.clone().expect("reason"),
            Entry::StepFailed { error, .. } => error.clone(),
            Entry::AlertReceived {
                title,
                summary,
                link,
                ..
            } => {
                assert_eq!(summary.as_deref(), Some("p99 &gt; 1s"));
                assert_eq!(
                    link.as_deref(),
                    Some("https://grafana.example.com/d/x?a=1&amp;b=2")
                );
                title.clone()
            }
            other => panic!("unexpected entry {other:?}"),
        };
        assert_eq!(text, after_0007(stored, decoded), "{entry:?}");
    }

    let pins: Vec<String> = store
        .pins(1)
        .await
        .expect("pins")
        .into_iter()
        .map(|p| p.text)
        .collect();
    assert_eq!(
        pins,
        [
            "Root cause: R&D flag <beta-2>",
            "p99 > 1s <https://g.example/?a=1&amp;b=2|graph>"
        ]
    );
}

/// Texts as Slack may have sent them: entities, tokens, brackets that open none, line breaks.
fn slack_texts(n: usize) -> Vec<String> {
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let piece = prop::sample::select(vec![
        "&amp;",
        "&lt;",
        "&gt;",
        "&amp;lt;",
        "&amp;amp;",
        "&",
        "<",
        ">",
        "|",
        ";",
        "lt;",
        "amp",
        "\n",
        " ",
        "R",
        "é",
        "🚨",
        "<@U0BOB|bob>",
        "<#C0OPS|ops>",
        "<!here>",
        "<https://x.example/?a=1&amp;b=2|R&amp;D &lt;docs&gt;>",
    ]);
    let text = prop::collection::vec(piece, 0..14).prop_map(|p| p.concat());
    let mut runner = TestRunner::deterministic();
    let mut texts: Vec<String> = [
        "",
        "<",
        ">",
        "a<b>c",
        "<a<b>",
        "<x\n>y &amp;",
        "&lt;@U0BOB&gt;",
        "<https://x|a &amp; b>&amp;<",
    ]
    .map(str::to_string)
    .to_vec();
    while texts.len() < n {
        texts.push(text.new_tree(&mut runner).expect("a text").current());
    }
    texts
}

#[tokio::test]
async fn migration_0007_reads_every_text_exactly_as_from_slack_does() {
    sqlx::any::install_default_drivers();
    let texts = slack_texts(400);
    let db = test_db().await;
    let mut conn = open(&db.url).await;
    migrate_only(&mut conn, &db.url, &[1, 2, 3, 4, 5, 6]).await;
    sqlx::raw_sql(
        "INSERT INTO incidents (id, number, title, severity, status, private, declared_by, \
         declared_at, updated_at) VALUES (1, 1, 'Checkout', 'sev2', 'investigating', FALSE, \
         'U0BOB', 1000, 1000)",
    )
    .execute(&mut conn)
    .await
    .expect("an incident");
    for (i, text) in texts.iter().enumerate() {
        let i = i as i64;
        sqlx::query(
            "INSERT INTO timeline_events (incident_id, kind, actor, at, data) \
             VALUES (1, 'note', 'U0BOB', $1, $2)",
        )
        .bind(2000 + i)
        .bind(json!({ "kind": "note", "text": text }).to_string())
        .execute(&mut conn)
        .await
        .expect("a note");
        sqlx::query(
            "INSERT INTO pins (incident_id, ts, author, text, pinned_by, pinned_at, updated_at) \
             VALUES (1, $1, 'U0BOB', $2, 'U0BOB', $3, $3)",
        )
        .bind(format!("1772443900.{i:06}"))
        .bind(text.as_str())
        .bind(2000 + i)
        .execute(&mut conn)
        .await
        .expect("a pin");
    }
    conn.close().await.expect("close");
    let store = incident_commander::store::connect(&db.url)
        .await
        .expect("this version migrates the database");

    let notes: Vec<String> = store
        .timeline(1)
        .await
        .expect("timeline")
        .into_iter()
        .map(|e| match e.entry {
            Entry::Note { text } => text,
            other => panic!("{other:?}"),
        })
        .collect();
    let pins: Vec<String> = store
        .pins(1)
        .await
        .expect("pins")
        .into_iter()
        .map(|p| p.text)
        .collect();
    for (i, sent) in texts.iter().enumerate() {
        let kept = incident_commander::domain::mrkdwn::from_slack(sent);
        assert_eq!(notes[i], kept, "a note that said {sent:?}");
        assert_eq!(pins[i], kept, "a pin that said {sent:?}");
    }
}
