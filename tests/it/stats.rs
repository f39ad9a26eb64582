//! `/inc stats`: the period's figures as the person who asked may see them, from a real
//! database, and fast with a few hundred incidents.

use std::time::{Duration, Instant};

use chrono::Utc;
use incident_commander::domain::{NewIncident, Role, Severity, Status};
use incident_commander::store::Declaration;

use crate::helpers::*;

#[tokio::test]
async fn stats_reports_declarations_mtta_mttr_and_missing_postmortems() {
    let app = spawn_app().await;
    let checkout = app.declared(ALICE, "sev1 Checkout is down").await;
    app.declared(BOB, "sev2 triage Search is slow").await;
    let reply = app
        .command_in(ALICE, &checkout.id, "resolve Rolled back")
        .await;
    assert!(reply.contains("resolved"), "{reply}");

    let reply = app.command(CAROL, "stats").await;
    assert!(
        reply.starts_with("*Incidents declared in the last 30 days: 2*\n"),
        "{reply}"
    );
    assert!(reply.contains("By severity: SEV1 1 · SEV2 1"), "{reply}");
    assert!(
        reply.contains("By status: triage 1 · resolved 1"),
        "{reply}"
    );
    assert!(
        reply.contains("*Time to coordinator (MTTA)*: median under a minute · p90 under a minute (2 with a coordinator)"),
        "{reply}"
    );
    assert!(
        reply.contains(
            "*Time to resolve (MTTR)*: median under a minute · p90 under a minute (1 resolved)"
        ),
        "{reply}"
    );
    assert!(
        reply.contains("*Triage SLO* (4 h, declared → coordinator): no breaches"),
        "{reply}"
    );
    assert!(
        reply.ends_with("*Resolved without a postmortem*: 1 — INC-1"),
        "{reply}"
    );

    let reply = app.command(CAROL, "stats 7d").await;
    assert!(
        reply.starts_with("*Incidents declared in the last 7 days: 2*"),
        "{reply}"
    );
    let reply = app.command(CAROL, "stats soon").await;
    assert!(reply.contains("Use `/inc stats [days]`"), "{reply}");
}

/// Records an incident as if declared `ago` before now, without Slack work.
async fn seed(app: &TestApp, n: usize, ago: chrono::Duration, private: bool, by: &str) {
    let now = Utc::now();
    let declaration = Declaration {
        workspace: String::new(),
        key: incident_commander::domain::cause::Cause::Slash(format!("seed-{n}")),
        incident: NewIncident {
            title: format!("Seeded incident {n}"),
            severity: Severity::parse(&format!("{}", n % 3 + 1), 3).expect("sev"),
            status: Status::Investigating,
            private,
            summary: None,
            impact: None,
            source: None,
            declared_by: by.to_string(),
            declared_at: now - ago,
            roles: vec![(Role::Coordinator, by.to_string())],
            services: Vec::new(),
            drill: false,
            impact_started_at: None,
        },
        jobs: Vec::new(),
        duplicate_window: Duration::ZERO,
    };
    app.store.declare(declaration, now).await.expect("seeded");
}

#[tokio::test]
async fn private_incidents_are_counted_but_named_only_to_their_members() {
    let app = spawn_app().await;
    seed(&app, 1, chrono::Duration::hours(6), false, ALICE).await;
    seed(&app, 2, chrono::Duration::hours(6), true, BOB).await;
    // Declared 40 days ago: outside the default period.
    seed(&app, 3, chrono::Duration::days(40), false, ALICE).await;

    let outsider = app.command(CAROL, "stats").await;
    assert!(
        outsider.starts_with("*Incidents declared in the last 30 days: 2*"),
        "{outsider}"
    );
    assert!(
        outsider.contains(
            "*Resolution SLO* (4 h, declared → resolved): 2 — INC-1 and 1 private incident"
        ),
        "{outsider}"
    );
    assert!(!outsider.contains("INC-2"), "{outsider}");
    let member = app.command(BOB, "stats").await;
    assert!(member.contains("2 — INC-1 and INC-2"), "{member}");
    let longer = app.command(CAROL, "stats 60").await;
    assert!(
        longer.starts_with("*Incidents declared in the last 60 days: 3*"),
        "{longer}"
    );
}

#[tokio::test]
async fn stats_over_four_hundred_incidents_answer_well_within_the_ack_deadline() {
    let app = spawn_app().await;
    for n in 0..400 {
        let ago = chrono::Duration::minutes(10 + n as i64 * 60);
        seed(
            &app,
            n,
            ago,
            n % 10 == 0,
            if n % 2 == 0 { ALICE } else { BOB },
        )
        .await;
    }
    let started = Instant::now();
    let reply = app.command(CAROL, "stats 30").await;
    let took = started.elapsed();
    eprintln!(
        "/inc stats over 400 incidents ({}): ack in {took:?}",
        app.store.backend()
    );
    // 30 days of hourly incidents: 720 hours, 400 incidents all inside.
    assert!(
        reply.starts_with("*Incidents declared in the last 30 days: 400*"),
        "{reply}"
    );
    // Open for more than 4 h: all but the 4 declared in the last 4 h; 1 in 10 is private.
    assert!(
        reply.contains("(4 h, declared → resolved): 396 — INC-5, "),
        "{reply}"
    );
    assert!(
        reply.contains("347 more and 39 private incidents"),
        "{reply}"
    );
    assert!(took < Duration::from_millis(2_500), "the ack took {took:?}");
}
