//! After the incident: the postmortem has an owner and a deadline, the owner is reminded a day
//! before it and once a day while it is overdue (never twice, across a restart too), `/inc
//! postmortem done <link>` stops that; channels archive themselves `ARCHIVE_AFTER` the
//! resolution once the postmortem is done, after a notice the day before, unless kept — on the
//! bot's movable clock.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::helpers::*;

/// Monday 7 December 2026, 10:00 UTC.
fn monday() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z")
        .expect("time")
        .with_timezone(&Utc)
}

async fn spawn_at_monday(overrides: &[(&'static str, &str)]) -> (TestApp, Arc<MovableClock>) {
    let clock = Arc::new(MovableClock::starting_at(monday()));
    let app = spawn_app_clocked(overrides, clock.clone(), |_| {}).await;
    (app, clock)
}

async fn later(app: &TestApp, clock: &MovableClock, by: Duration) {
    app.settle().await;
    clock.advance(by);
    app.settle().await;
}

fn said(app: &TestApp, channel: &str) -> Vec<String> {
    let channel = app.sim.channel(channel).expect("channel");
    channel.messages.iter().map(shown_text).collect()
}

fn reminders(app: &TestApp, channel: &str) -> Vec<String> {
    said(app, channel)
        .into_iter()
        .filter(|m| m.starts_with(":memo: <@") && m.contains("the postmortem of *INC-1* is"))
        .collect()
}

#[tokio::test]
async fn resolving_gives_the_postmortem_to_the_coordinator_due_in_five_working_days() {
    let (app, _clock) = spawn_at_monday(&[]).await;
    let channel = app.declared(ALICE, "sev1 Checkout is down").await;
    app.command_in(ALICE, &channel.id, "resolve Rolled back")
        .await;
    app.settle().await;
    let incident = app.incident_in(&channel).await;
    assert_eq!(incident.postmortem.owner.as_deref(), Some(ALICE));
    let due = incident.postmortem.due_at.expect("a deadline");
    // Monday + 5 working days is the next Monday, at the same time of day.
    assert_eq!(
        due.date_naive(),
        (monday() + Duration::days(7)).date_naive()
    );
    let posts = said(&app, &channel.id);
    assert!(
        posts
            .iter()
            .any(|p| p.contains("The postmortem is <@U0ALICE>'s, due <!date^")),
        "the resolution says whose postmortem it is: {posts:?}"
    );
}

#[tokio::test]
async fn the_owner_is_reminded_a_day_before_then_daily_never_twice_across_a_restart() {
    let (mut app, clock) = spawn_at_monday(&[]).await;
    let channel = app.declared(ALICE, "sev1 Checkout is down").await;
    app.command_in(ALICE, &channel.id, "postmortem owner <@U0BOB|bob>")
        .await;
    app.command_in(ALICE, &channel.id, "resolve").await;
    app.settle().await;
    assert!(reminders(&app, &channel.id).is_empty());

    // Due next Monday 10:00: nothing on Sunday morning, one reminder at 10:00 on Sunday.
    later(&app, &clock, Duration::days(5) + Duration::hours(23)).await;
    assert!(
        reminders(&app, &channel.id).is_empty(),
        "not before the day before"
    );
    later(&app, &clock, Duration::hours(1)).await;
    let sent = reminders(&app, &channel.id);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].starts_with(":memo: <@U0BOB>, the postmortem of *INC-1* is due"));

    // At the deadline: overdue.
    later(&app, &clock, Duration::days(1)).await;
    let sent = reminders(&app, &channel.id);
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(sent[1].contains("is overdue"), "{}", sent[1]);

    // Down for three and a half days: one reminder when it is back, not three.
    app.crash().await;
    clock.advance(Duration::hours(84));
    app.restart(clock.clone()).await;
    app.settle().await;
    let sent = reminders(&app, &channel.id);
    assert_eq!(sent.len(), 3, "one late reminder: {sent:?}");
    later(&app, &clock, Duration::hours(6)).await;
    assert_eq!(reminders(&app, &channel.id).len(), 3, "once a day");

    // Done: no more reminders.
    let reply = app
        .command_in(
            BOB,
            &channel.id,
            "postmortem done <https://wiki.example.com/pm/inc-1>",
        )
        .await;
    assert_eq!(
        reply,
        "The postmortem of *INC-1* is done; its reminders stop."
    );
    later(&app, &clock, Duration::days(3)).await;
    assert_eq!(reminders(&app, &channel.id).len(), 3);
    let incident = app.incident_in(&channel).await;
    assert_eq!(
        incident.postmortem.link.as_deref(),
        Some("https://wiki.example.com/pm/inc-1")
    );
    let stats = app.command(ALICE, "stats").await;
    assert!(
        stats.contains("*Postmortems done on time*: 0 of 1 · 1 done late · 0 overdue"),
        "{stats}"
    );
}

#[tokio::test]
async fn postmortem_owner_due_and_done_refuse_bad_input_and_change_nothing() {
    let (app, _clock) = spawn_at_monday(&[]).await;
    let channel = app.declared(ALICE, "sev2 Search is slow").await;
    let before = app.incident_in(&channel).await;
    for (typed, said) in [
        (
            "postmortem owner someone",
            "`someone` is not a person Slack linked",
        ),
        ("postmortem due 0d", "`0d` is not a number of working days"),
        (
            "postmortem due soon",
            "`soon` is not a number of working days",
        ),
        ("postmortem done later", "`later` is not a link"),
        ("postmortem owner", "Give who owns the postmortem."),
        ("postmortem now", "`now` was not expected there."),
    ] {
        let reply = app.command_in(ALICE, &channel.id, typed).await;
        assert!(reply.starts_with(said), "/inc {typed}: {reply}");
    }
    let reply = app
        .command_in(CAROL, &channel.id, "postmortem owner me due 3d")
        .await;
    assert!(reply.contains("Only"), "a bystander is refused: {reply}");
    let reply = app
        .command_in(
            ALICE,
            &channel.id,
            "postmortem done https://wiki.example.com/x",
        )
        .await;
    assert!(
        reply.contains("its postmortem is done once it is resolved"),
        "{reply}"
    );
    let reply = app.command_in(ALICE, &channel.id, "archive").await;
    assert!(
        reply.contains("only a resolved incident's channel is archived"),
        "{reply}"
    );
    app.settle().await;
    let after = app.incident_in(&channel).await;
    assert_eq!(after.postmortem, before.postmortem, "nothing changed");
    assert_eq!(after.version, before.version);

    let reply = app
        .command_in(ALICE, &channel.id, "postmortem owner <@U0BOB|bob> due 3d")
        .await;
    assert_eq!(reply, "Noted for the postmortem of *INC-1*.");
    app.settle().await;
    let incident = app.incident_in(&channel).await;
    assert_eq!(incident.postmortem.owner.as_deref(), Some(BOB));
    let due = incident.postmortem.due_at.expect("due");
    let thursday = monday() + Duration::days(3);
    assert!(
        due >= thursday && due < thursday + Duration::minutes(1),
        "three working days from Monday: {due}"
    );
    assert!(
        said(&app, &channel.id)
            .iter()
            .any(|p| p.starts_with(":memo: The postmortem of *INC-1* is <@U0BOB>'s, due")),
        "said in the channel"
    );
}

#[tokio::test]
async fn a_channel_archives_itself_after_archive_after_once_its_postmortem_is_done() {
    let (app, clock) = spawn_at_monday(&[("ARCHIVE_AFTER", "14d")]).await;
    let channel = app.declared(ALICE, "sev1 Checkout is down").await;
    app.command_in(ALICE, &channel.id, "resolve").await;
    app.command_in(
        ALICE,
        &channel.id,
        "postmortem done https://wiki.example.com/pm/inc-1",
    )
    .await;
    later(&app, &clock, Duration::days(12)).await;
    assert!(
        !said(&app, &channel.id)
            .iter()
            .any(|p| p.starts_with(":file_cabinet:")),
        "no notice yet"
    );
    later(&app, &clock, Duration::days(1)).await;
    let notices: Vec<String> = said(&app, &channel.id)
        .into_iter()
        .filter(|p| p.starts_with(":file_cabinet: This channel will be archived"))
        .collect();
    assert_eq!(notices.len(), 1, "the notice a day before: {notices:?}");
    assert!(notices[0].contains("`/inc keep` keeps it open."));
    assert!(!app.sim.channel(&channel.id).expect("channel").is_archived);

    later(&app, &clock, Duration::days(1)).await;
    let ch = app.sim.channel(&channel.id).expect("channel");
    assert!(
        ch.is_archived,
        "archived fourteen days after the resolution"
    );
    assert!(
        said(&app, &channel.id)
            .iter()
            .any(|p| p.starts_with(":file_cabinet: Archiving this channel: *INC-1* is resolved")),
        "it said why"
    );
    let incident = app.incident_in(&channel).await;
    assert!(incident.archived_at.is_some());
    assert!(
        timeline_kinds(&app.store, incident.id)
            .await
            .contains(&"channel_archived")
    );
    assert!(
        !app.sim
            .channel(&app.incidents)
            .expect("announce")
            .is_archived,
        "the announce channel never is"
    );
}

#[tokio::test]
async fn a_channel_waits_for_its_postmortem_and_a_kept_one_is_never_archived() {
    let (app, clock) = spawn_at_monday(&[("ARCHIVE_AFTER", "14d")]).await;
    let waiting = app.declared(ALICE, "sev1 Checkout is down").await;
    app.command_in(ALICE, &waiting.id, "resolve").await;
    let kept = app.declared(BOB, "sev2 Search is slow").await;
    app.command_in(BOB, &kept.id, "resolve").await;
    let reply = app.command_in(CAROL, &kept.id, "keep").await;
    assert_eq!(reply, "Kept: the bot will not archive this channel.");
    let reply = app.command_in(CAROL, &kept.id, "keep").await;
    assert_eq!(
        reply,
        "This channel is kept already: it will not be archived."
    );

    later(&app, &clock, Duration::days(15)).await;
    assert!(
        !app.sim.channel(&waiting.id).expect("channel").is_archived,
        "its postmortem is not done"
    );
    assert!(!app.sim.channel(&kept.id).expect("channel").is_archived);
    assert!(
        !said(&app, &kept.id)
            .iter()
            .any(|p| p.starts_with(":file_cabinet:")),
        "a kept channel gets no notice"
    );
    app.command_in(
        ALICE,
        &waiting.id,
        "postmortem done https://wiki.example.com/pm/inc-1",
    )
    .await;
    later(&app, &clock, Duration::days(1)).await;
    assert!(
        app.sim.channel(&waiting.id).expect("channel").is_archived,
        "archived at the next daily look once the postmortem is done"
    );
    assert!(!app.sim.channel(&kept.id).expect("channel").is_archived);
}

#[tokio::test]
async fn the_owner_can_archive_a_resolved_incidents_channel_at_once() {
    let (app, _clock) = spawn_at_monday(&[]).await;
    let channel = app.declared(ALICE, "sev3 A flaky test").await;
    app.command_in(ALICE, &channel.id, "resolve").await;
    let reply = app.command_in(CAROL, &channel.id, "archive").await;
    assert!(reply.contains("Only"), "a bystander may not: {reply}");
    app.settle().await;
    assert!(!app.sim.channel(&channel.id).expect("channel").is_archived);
    let reply = app.command_in(ALICE, &channel.id, "archive").await;
    assert_eq!(reply, "Archiving the channel of *INC-1*.");
    app.settle().await;
    assert!(app.sim.channel(&channel.id).expect("channel").is_archived);
}

#[tokio::test]
async fn a_drill_says_so_everywhere_pages_nobody_and_is_left_out_of_the_stats() {
    let (app, _clock) = spawn_at_monday(&[]).await;
    let reply = app
        .command(ALICE, "declare drill sev2 Failover rehearsal")
        .await;
    assert!(reply.contains("INC-1"), "{reply}");
    app.settle().await;
    let channel = app.channel_named("inc-1-failover-rehearsal");
    assert!(
        channel.topic.starts_with("[DRILL · SEV2 · investigating]"),
        "{}",
        channel.topic
    );
    let card = said(&app, &channel.id)
        .into_iter()
        .next()
        .expect("the card");
    assert!(
        card.starts_with("DRILL · INC-1 · SEV2 · investigating — Failover rehearsal")
            && card.contains("\nDRILL · INC-1 · Failover rehearsal\n"),
        "{card}"
    );
    let announced = app
        .sim
        .channel(&app.incidents)
        .expect("announce")
        .messages
        .iter()
        .map(shown_text)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        announced.contains(":test_tube: *DRILL* · *INC-1 declared*"),
        "{announced}"
    );
    let incident = app.incident_in(&channel).await;
    assert!(incident.drill);
    let listed = app.command(BOB, "list").await;
    assert!(listed.contains("• DRILL *INC-1*"), "{listed}");

    app.command(ALICE, "declare sev1 Checkout is down").await;
    app.settle().await;
    let stats = app.command(ALICE, "stats").await;
    assert!(
        stats.starts_with("*Incidents declared in the last 30 days: 1* (and 1 drill left out)"),
        "{stats}"
    );
}

#[tokio::test]
async fn closing_as_a_duplicate_links_both_incidents_and_keeps_it_out_of_the_stats() {
    let (app, _clock) = spawn_at_monday(&[]).await;
    let original = app.declared(ALICE, "sev1 Checkout is down").await;
    let copy = app.declared(BOB, "sev2 Payments failing").await;
    for (typed, said) in [
        (
            "duplicate",
            "Give the incident this one duplicates, such as INC-7.",
        ),
        (
            "duplicate seven",
            "`seven` is not an incident: give its reference, such as `INC-7`.",
        ),
    ] {
        let reply = app.command_in(BOB, &copy.id, typed).await;
        assert!(reply.starts_with(said), "/inc {typed}: {reply}");
    }
    let reply = app.command_in(BOB, &copy.id, "duplicate INC-9").await;
    assert_eq!(reply, "There is no *INC-9*; nothing was changed.");
    let reply = app.command_in(BOB, &copy.id, "duplicate INC-2").await;
    assert_eq!(reply, "An incident cannot be a duplicate of itself.");
    let reply = app.command_in(CAROL, &copy.id, "duplicate INC-1").await;
    assert!(reply.contains("Only"), "a bystander may not: {reply}");
    assert_eq!(
        app.incident_in(&copy).await.status,
        incident_commander::domain::Status::Investigating,
        "nothing changed"
    );

    let reply = app.command_in(BOB, &copy.id, "duplicate inc-1").await;
    assert_eq!(reply, "*INC-2* is closed as a duplicate of *INC-1*.");
    app.settle().await;
    let closed = app.incident_in(&copy).await;
    assert_eq!(closed.status, incident_commander::domain::Status::Declined);
    assert_eq!(
        closed.duplicate_of,
        Some(app.incident_in(&original).await.id)
    );
    assert!(
        said(&app, &copy.id).iter().any(|p| p.starts_with(&format!(
            ":link: <@U0BOB> closed *INC-2* as a duplicate of *INC-1* (<#{}>)",
            original.id
        ))),
        "{:?}",
        said(&app, &copy.id)
    );
    assert!(
        said(&app, &original.id)
            .iter()
            .any(|p| p.starts_with(&format!(
                ":link: *INC-2* (<#{}>) was closed as a duplicate of this incident",
                copy.id
            ))),
        "{:?}",
        said(&app, &original.id)
    );
    let stats = app.command(ALICE, "stats").await;
    assert!(
        stats.starts_with("*Incidents declared in the last 30 days: 1* (and 1 duplicate left out)"),
        "{stats}"
    );
}

#[tokio::test]
async fn customer_impact_is_on_the_card_in_the_stats_and_in_the_postmortem() {
    let (app, clock) = spawn_at_monday(&[]).await;
    let channel = app.declared(ALICE, "sev1 Checkout is down").await;
    for (typed, said) in [
        (
            "impact",
            "Give when the impact started or ended, or who is affected.",
        ),
        ("impact start 25:00", "`25:00` is not a time"),
        ("impact end 09:40", "Say when the impact started too"),
    ] {
        let reply = app.command_in(BOB, &channel.id, typed).await;
        assert!(reply.starts_with(said), "/inc {typed}: {reply}");
    }
    assert_eq!(app.incident_in(&channel).await.impact_started_at, None);

    // 09:30 this morning (the clock reads 10:00), on the team's clock (UTC here).
    let reply = app
        .command_in(
            BOB,
            &channel.id,
            "impact start 09:30 Card payments in the EU",
        )
        .await;
    assert_eq!(reply, "Customer impact noted for *INC-1*.");
    app.settle().await;
    let card = said(&app, &channel.id).into_iter().next().expect("card");
    assert!(card.contains("*Customer impact*\nsince <!date^"), "{card}");
    assert!(
        card.contains("*Affected*\nCard payments in the EU"),
        "{card}"
    );
    let reply = app
        .command_in(BOB, &channel.id, "impact start 09:45 end 09:40")
        .await;
    assert!(reply.contains("cannot end before it started"), "{reply}");

    app.command_in(BOB, &channel.id, "impact end 09:50").await;
    app.settle().await;
    let incident = app.incident_in(&channel).await;
    let start = incident.impact_started_at.expect("start");
    let end = incident.impact_ended_at.expect("end");
    assert_eq!(end - start, Duration::minutes(20));
    assert_eq!(start, monday() - Duration::minutes(30));
    let card = said(&app, &channel.id).into_iter().next().expect("card");
    assert!(card.contains("(20 min)"), "{card}");
    let stats = app.command(ALICE, "stats").await;
    assert!(
        stats.contains("*Customer impact*: 20 min in all, over 1 incident"),
        "{stats}"
    );

    clock.advance(Duration::minutes(5));
    app.command_in(ALICE, &channel.id, "postmortem").await;
    app.settle().await;
    let draft = app
        .sim
        .files()
        .into_iter()
        .find(|f| f.completed && f.channels.contains(&channel.id))
        .expect("the draft")
        .text();
    assert!(
        draft.contains("Customers were affected from ") && draft.contains("(20 min)"),
        "{draft}"
    );
    assert!(draft.contains("Card payments in the EU"), "{draft}");
}

#[tokio::test]
async fn adopting_a_channel_makes_it_the_incidents_without_creating_one() {
    let (app, _clock) = spawn_at_monday(&[]).await;
    let war_room = app.sim.add_channel("war-room", false, false);
    let mark = app.mark();
    let reply = app.command_in(ALICE, &war_room, "adopt sev2").await;
    assert!(reply.starts_with("Give the incident a title."), "{reply}");
    let reply = app
        .command_in(ALICE, &war_room, "adopt sev2 Checkout is slow")
        .await;
    assert_eq!(
        reply,
        ":rotating_light: Declared *INC-1* · SEV2 · investigating — Checkout is slow. This channel is its channel now."
    );
    app.settle().await;
    assert!(
        !app.writes_since(mark)
            .iter()
            .any(|m| m == "conversations.create"),
        "no channel was created"
    );
    let channel = app.sim.channel(&war_room).expect("channel");
    assert_eq!(channel.name, "war-room", "it keeps its name");
    assert!(
        channel
            .members
            .iter()
            .any(|m| m == slack_simulator::BOT_USER_ID)
    );
    assert!(
        channel
            .topic
            .starts_with("[SEV2 · investigating] Checkout is slow"),
        "{}",
        channel.topic
    );
    let incident = app.incident_in(&channel).await;
    assert_eq!(incident.channel_id.as_deref(), Some(war_room.as_str()));
    assert!(
        said(&app, &app.incidents)
            .iter()
            .any(|m| m.contains("*INC-1 declared*")),
        "announced"
    );
    let reply = app
        .command_in(BOB, &war_room, "adopt sev1 Another thing")
        .await;
    assert_eq!(
        reply,
        "This channel is *INC-1*'s already; nothing was declared."
    );
    let reply = app
        .command_in(BOB, &app.incidents, "adopt sev1 Another thing")
        .await;
    assert!(reply.starts_with("This is the announce channel"), "{reply}");
}

#[tokio::test]
async fn anyone_can_volunteer_for_the_postmortem_from_the_resolution() {
    let (app, _clock) = spawn_at_monday(&[]).await;
    let channel = app.declared(ALICE, "sev1 Checkout is down").await;
    app.command_in(ALICE, &channel.id, "resolve Rolled back")
        .await;
    app.settle().await;
    let resolution = app
        .sim
        .channel(&channel.id)
        .expect("channel")
        .messages
        .iter()
        .rev()
        .find(|m| shown_text(m).contains("is resolved*"))
        .map(|m| m.ts.clone())
        .expect("the resolution");
    let click = app
        .sim
        .click(CAROL, &channel.id, &resolution, "own_postmortem")
        .expect("the button");
    app.sim.ack(&click.envelope_id, WAIT).await.expect("acked");
    app.settle().await;
    let incident = app.incident_in(&channel).await;
    assert_eq!(incident.postmortem.owner.as_deref(), Some(CAROL));
    assert!(
        said(&app, &channel.id)
            .iter()
            .any(|p| p.starts_with(":memo: The postmortem of *INC-1* is <@U0CAROL>'s, due")),
        "said in the channel"
    );
    // Naming someone else is not volunteering: a bystander may not.
    let reply = app
        .command_in(BOB, &channel.id, "postmortem owner <@U0ALICE|alice>")
        .await;
    assert!(reply.contains("Only"), "{reply}");
}

#[tokio::test]
async fn the_declare_form_takes_when_customers_were_first_affected() {
    let (app, _clock) = spawn_at_monday(&[]).await;
    app.command(ALICE, "declare").await;
    let view = open_view(&app, ALICE).await;
    let refused = submit(
        &app,
        ALICE,
        &view,
        &[
            (
                "title",
                slack_simulator::ViewInput::Text("Checkout is down".into()),
            ),
            (
                "severity",
                slack_simulator::ViewInput::Option("sev1".into()),
            ),
            (
                "impact_started",
                slack_simulator::ViewInput::Text("9am".into()),
            ),
        ],
    )
    .await
    .expect("an answer");
    assert_eq!(
        refused["errors"]["impact_started"],
        "Use a time on your team's clock, such as 14:02, or now."
    );
    submit(
        &app,
        ALICE,
        &view,
        &[
            (
                "title",
                slack_simulator::ViewInput::Text("Checkout is down".into()),
            ),
            (
                "severity",
                slack_simulator::ViewInput::Option("sev1".into()),
            ),
            (
                "impact_started",
                slack_simulator::ViewInput::Text("09:30".into()),
            ),
        ],
    )
    .await;
    app.settle().await;
    let channel = app.channel_named("inc-1-checkout-is-down");
    let incident = app.incident_in(&channel).await;
    assert_eq!(
        incident.impact_started_at,
        Some(monday() - Duration::minutes(30)),
        "09:30 this morning"
    );
    let card = said(&app, &channel.id).into_iter().next().expect("card");
    assert!(card.contains("*Customer impact*\nsince <!date^"), "{card}");
}
