//! Running an incident from its channel: every command's effect as the people in the workspace
//! see it — the post in the channel, the reply in the announcement's thread, the topic, the
//! pinned card and the announcement edited in place — and the timeline entry it leaves.

use incident_commander::domain::{Entry, Role, Status};
use slack_simulator::{Channel, Message};

use crate::helpers::*;

/// Everything a message shows, as one string.
fn shows(message: &Message) -> String {
    shown_text(message)
}

/// The channel's messages after the card, as shown.
fn posts_after_card(app: &TestApp, channel: &Channel) -> Vec<String> {
    let channel = app.sim.channel(&channel.id).expect("channel");
    channel.messages.iter().skip(1).map(shows).collect()
}

fn card(app: &TestApp, channel: &Channel) -> String {
    let channel = app.sim.channel(&channel.id).expect("channel");
    let card = channel.messages.first().expect("the card");
    assert_eq!(
        channel.pins,
        std::slice::from_ref(&card.ts),
        "the card is the pinned message"
    );
    shows(card)
}

/// The announcement in #incidents and its thread replies, as shown.
fn announcement_and_thread(app: &TestApp) -> (String, Vec<String>) {
    let incidents = app.sim.channel(&app.incidents).expect("#incidents");
    let announcement = incidents.messages.first().expect("the announcement");
    let replies = incidents
        .messages
        .iter()
        .filter(|m| m.thread_ts.as_deref() == Some(announcement.ts.as_str()))
        .map(shows)
        .collect();
    (shows(announcement), replies)
}

/// The last `n` timeline entries a command left (joins, which the invites cause, are left out).
async fn last_entries(app: &TestApp, channel: &Channel, n: usize) -> Vec<(Entry, Option<String>)> {
    let incident = app.incident_in(channel).await;
    let mut timeline = app.store.timeline(incident.id).await.expect("timeline");
    timeline.retain(|e| !matches!(e.entry, Entry::Joined { .. }));
    let skip = timeline.len().saturating_sub(n);
    timeline
        .into_iter()
        .skip(skip)
        .map(|e| (e.entry, e.actor))
        .collect()
}

#[tokio::test]
async fn an_update_is_posted_here_and_under_the_announcement_and_moves_the_status_everywhere() {
    let app = spawn_app().await;
    let channel = app.declared(ALICE, "sev2 Checkout is slow").await;

    let reply = app
        .command_in(
            ALICE,
            &channel.id,
            "update fixing Rolled back <@U0BOB>'s deploy",
        )
        .await;
    assert_eq!(reply, "Update posted.");
    app.settle().await;

    let update = ":memo: *Update* on *INC-1* · now *fixing*\nRolled back <@U0BOB>'s deploy";
    let posts = posts_after_card(&app, &channel);
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert!(posts[0].contains(update), "{}", posts[0]);
    assert!(posts[0].contains("Posted by <@U0ALICE>"), "{}", posts[0]);
    let (announcement, thread) = announcement_and_thread(&app);
    assert_eq!(thread.len(), 1);
    assert!(thread[0].contains(update), "{}", thread[0]);
    assert!(
        announcement.contains("*INC-1 declared* · SEV2 · fixing"),
        "{announcement}"
    );
    assert!(card(&app, &channel).contains("*Status*\nfixing"));
    let topic = app.sim.channel(&channel.id).expect("channel").topic;
    assert_eq!(topic, "[SEV2 · fixing] Checkout is slow");
    assert_eq!(
        last_entries(&app, &channel, 2).await,
        [
            (
                Entry::StatusChanged {
                    from: Status::Investigating,
                    to: Status::Fixing
                },
                Some(ALICE.into())
            ),
            (
                Entry::Update {
                    // As Slack sent it: a slash command names who was picked.
                    text: "Rolled back <@U0BOB|bob>'s deploy".into(),
                    status: Some(Status::Fixing)
                },
                Some(ALICE.into())
            )
        ]
    );
    let incident = app.incident_in(&channel).await;
    assert!(incident.last_update_at > incident.declared_at);
}

#[tokio::test]
async fn a_private_incidents_update_is_posted_in_its_private_channel_and_nowhere_else() {
    let app = spawn_app().await;
    let channel = app
        .declared_private(ALICE, "sev1", "Payroll data exposed")
        .await;
    assert!(channel.is_private);
    let mark = app.mark();

    let reply = app
        .command_in(ALICE, &channel.id, "update fixing Rotating the keys")
        .await;
    assert_eq!(reply, "Update posted.");
    app.settle().await;

    let update = ":memo: *Update* on *INC-1* · now *fixing*\nRotating the keys";
    let here = app.sim.channel(&channel.id).expect("channel").messages;
    let posted: Vec<&Message> = here.iter().filter(|m| shows(m).contains(update)).collect();
    assert_eq!(
        posted.len(),
        1,
        "posted once in the private channel: {here:?}"
    );
    assert_eq!(
        posted[0].thread_ts, None,
        "in the channel itself, not in a thread"
    );
    assert!(card(&app, &channel).contains("*Status*\nfixing"));
    // A private incident is never announced, so there is no thread to reply in; and nothing
    // reaches any other channel.
    assert!(
        app.sim
            .channel(&app.incidents)
            .expect("#incidents")
            .messages
            .is_empty(),
        "nothing in #incidents"
    );
    for other in app
        .sim
        .channels()
        .into_iter()
        .filter(|c| c.id != channel.id)
    {
        assert!(
            !other
                .messages
                .iter()
                .any(|m| shows(m).contains("Rotating the keys") || shows(m).contains("INC-1")),
            "#{} shows the private incident",
            other.name
        );
    }
    assert_eq!(
        app.channels_written_since(mark),
        [channel.id.clone()].into(),
        "the update wrote only to the private channel"
    );
    assert!(
        app.sim
            .calls_to("chat.postMessage")
            .iter()
            .filter(|c| c.seq > mark)
            .all(|c| c.params["thread_ts"].is_null()),
        "no reply in any thread"
    );
}

#[tokio::test]
async fn status_shows_the_incident_at_a_glance() {
    let app = spawn_app().await;
    let channel = app.declared(ALICE, "sev1 Checkout is down").await;
    let reply = app.command_in(BOB, &channel.id, "status").await;
    assert!(
        reply.starts_with(
            "*INC-1* — Checkout is down\n*SEV1* · *investigating* · open under a minute\n\
             Coordinator <@U0ALICE> · Operator _unassigned_ · Comms _unassigned_\n\
             No update posted yet: `/inc update &lt;text&gt;` · next due in "
        ),
        "{reply}"
    );
    assert!(
        reply.ends_with(&format!(" min · <#{}>", channel.id)),
        "{reply}"
    );
    app.command_in(ALICE, &channel.id, "update Looking at the load balancer")
        .await;
    let reply = app.command_in(BOB, &channel.id, "status").await;
    assert!(
        reply.contains("\nLast update under a minute ago"),
        "{reply}"
    );
}

#[tokio::test]
async fn anyone_may_take_an_empty_role_or_take_over_a_held_one_and_the_takeover_is_announced() {
    let app = spawn_app().await;
    let channel = app.declared(ALICE, "sev2 Checkout is slow").await;

    assert_eq!(
        app.command_in(BOB, &channel.id, "operator me").await,
        "Done."
    );
    assert_eq!(
        app.command_in(BOB, &channel.id, "coordinator me").await,
        "Done."
    );
    app.settle().await;

    let posts = posts_after_card(&app, &channel);
    assert_eq!(
        posts,
        [
            ":bust_in_silhouette: <@U0BOB> is now the *operator*.\n:bust_in_silhouette: <@U0BOB> is now the *operator*.",
            ":arrows_counterclockwise: <@U0BOB> took over as *coordinator* from <@U0ALICE>.\n:arrows_counterclockwise: <@U0BOB> took over as *coordinator* from <@U0ALICE>."
        ]
    );
    let card = card(&app, &channel);
    assert!(
        card.contains("*Coordinator*\n<@U0BOB>") && card.contains("*Operator*\n<@U0BOB>"),
        "{card}"
    );
    let (announcement, thread) = announcement_and_thread(&app);
    assert!(
        announcement.contains("*Coordinator*\n<@U0BOB>"),
        "{announcement}"
    );
    assert!(
        thread.is_empty(),
        "role changes stay in the incident channel"
    );
    assert_eq!(
        last_entries(&app, &channel, 2).await,
        [
            (
                Entry::RoleAssigned {
                    role: Role::Operator,
                    user: BOB.into()
                },
                Some(BOB.into())
            ),
            (
                Entry::RoleHandedOver {
                    role: Role::Coordinator,
                    from: ALICE.into(),
                    to: BOB.into()
                },
                Some(BOB.into())
            )
        ]
    );
    let incident = app.incident_in(&channel).await;
    let history: Vec<_> = app
        .store
        .role_history(incident.id)
        .await
        .expect("history")
        .into_iter()
        .map(|h| (h.role, h.user_id, h.to.is_some()))
        .collect();
    assert_eq!(
        history,
        [
            (Role::Coordinator, ALICE.to_string(), true),
            (Role::Operator, BOB.to_string(), false),
            (Role::Coordinator, BOB.to_string(), false),
        ]
    );
    assert_eq!(
        app.command_in(ALICE, &channel.id, "roles").await,
        "*Roles in INC-1*\n• Coordinator: <@U0BOB>\n• Operator: <@U0BOB>\n• Comms: _unassigned_"
    );
}

#[tokio::test]
async fn giving_a_role_to_someone_invites_them_and_a_role_can_be_left_empty() {
    let app = spawn_app().await;
    let channel = app.declared(ALICE, "sev2 Checkout is slow").await;
    app.command_in(ALICE, &channel.id, "role comms <@U0CAROL|carol>")
        .await;
    app.settle().await;
    let members = app.sim.channel(&channel.id).expect("channel").members;
    assert!(members.contains(&CAROL.to_string()), "{members:?}");
    let posts = posts_after_card(&app, &channel);
    assert!(posts[0].starts_with(
        ":bust_in_silhouette: <@U0CAROL> is now the *comms* (assigned by <@U0ALICE>)."
    ));
    assert!(card(&app, &channel).contains("*Comms*: <@U0CAROL>"));

    app.command_in(ALICE, &channel.id, "comms nobody").await;
    app.settle().await;
    assert!(!card(&app, &channel).contains("Comms"));
    assert_eq!(
        last_entries(&app, &channel, 1).await,
        [(
            Entry::RoleReleased {
                role: Role::Comms,
                user: CAROL.into()
            },
            Some(ALICE.into())
        )]
    );
}

#[tokio::test]
async fn a_severity_change_reaches_the_topic_the_card_and_the_announcement() {
    let app = spawn_app().await;
    let channel = app.declared(ALICE, "sev2 Checkout is slow").await;
    assert_eq!(
        app.command_in(BOB, &channel.id, "sev 1").await,
        "Severity is now SEV1."
    );
    app.settle().await;
    let topic = app.sim.channel(&channel.id).expect("channel").topic;
    assert_eq!(topic, "[SEV1 · investigating] Checkout is slow");
    assert!(card(&app, &channel).contains("*Severity*\nSEV1"));
    assert!(
        announcement_and_thread(&app)
            .0
            .contains("*INC-1 declared* · SEV1")
    );
    assert!(
        posts_after_card(&app, &channel)[0]
            .starts_with(":rotating_light: <@U0BOB> changed the severity from SEV2 to *SEV1*.")
    );
    assert_eq!(
        last_entries(&app, &channel, 1).await[0].0,
        Entry::SeverityChanged {
            from: "sev2".parse_sev(),
            to: "sev1".parse_sev()
        }
    );
}

trait ParseSev {
    fn parse_sev(&self) -> incident_commander::domain::Severity;
}

impl ParseSev for &str {
    fn parse_sev(&self) -> incident_commander::domain::Severity {
        incident_commander::domain::Severity::parse(self, 3).expect("severity")
    }
}

#[tokio::test]
async fn escalating_to_a_person_invites_and_pings_them_with_the_message() {
    let app = spawn_app().await;
    let channel = app.declared(ALICE, "sev1 Checkout is down").await;
    let reply = app
        .command_in(
            ALICE,
            &channel.id,
            "escalate <@U0CAROL|carol> The primary is not failing over",
        )
        .await;
    assert_eq!(reply, "Escalated to <@U0CAROL>.");
    app.settle().await;
    let members = app.sim.channel(&channel.id).expect("channel").members;
    assert!(members.contains(&CAROL.to_string()));
    let posts = posts_after_card(&app, &channel);
    assert!(
        posts[0].starts_with(
            ":sos: <@U0CAROL> — <@U0ALICE> needs you on *INC-1* — Checkout is down.\n>The primary is not failing over"
        ),
        "{}",
        posts[0]
    );
    assert_eq!(
        last_entries(&app, &channel, 1).await[0].0,
        Entry::Escalated {
            users: vec![CAROL.into()],
            group: None,
            message: Some("The primary is not failing over".into())
        }
    );
}

#[tokio::test]
async fn the_summary_heads_the_topic_and_both_cards() {
    let app = spawn_app().await;
    let channel = app.declared(ALICE, "sev2 Checkout is slow").await;
    let reply = app
        .command_in(BOB, &channel.id, "summary EU card payments time out")
        .await;
    assert_eq!(reply, "Summary set; the topic and the cards now show it.");
    app.settle().await;
    let topic = app.sim.channel(&channel.id).expect("channel").topic;
    assert_eq!(topic, "[SEV2 · investigating] EU card payments time out");
    assert!(card(&app, &channel).contains("*Summary*\nEU card payments time out"));
    assert!(
        announcement_and_thread(&app)
            .0
            .contains("*Summary*\nEU card payments time out")
    );
    assert!(
        posts_after_card(&app, &channel).is_empty(),
        "a summary posts nothing"
    );
}

#[tokio::test]
async fn notes_and_follow_ups_are_recorded_and_follow_ups_are_listed() {
    let app = spawn_app().await;
    let channel = app.declared(ALICE, "sev2 Checkout is slow").await;
    let mark = app.mark();
    assert_eq!(
        app.command_in(BOB, &channel.id, "note Restarted the canary at 14:02")
            .await,
        "Noted on the timeline."
    );
    assert_eq!(
        app.command_in(ALICE, &channel.id, "followup Alert on checkout latency")
            .await,
        "Follow-up recorded; `/inc followups` lists them."
    );
    app.command_in(
        BOB,
        &channel.id,
        "follow-up Load-test the <#C0DB|db> failover",
    )
    .await;
    app.settle().await;
    assert!(
        app.writes_since(mark).is_empty(),
        "notes and follow-ups stay off the channel"
    );
    assert_eq!(
        app.command_in(CAROL, &channel.id, "followups").await,
        "*Follow-ups for INC-1* (2)\n1. Alert on checkout latency — <@U0ALICE>\n\
         2. Load-test the <#C0DB> failover — <@U0BOB>"
    );
    assert_eq!(
        last_entries(&app, &channel, 3).await,
        [
            (
                Entry::Note {
                    text: "Restarted the canary at 14:02".into()
                },
                Some(BOB.into())
            ),
            (
                Entry::FollowUp {
                    text: "Alert on checkout latency".into()
                },
                Some(ALICE.into())
            ),
            (
                Entry::FollowUp {
                    text: "Load-test the <#C0DB|db> failover".into()
                },
                Some(BOB.into())
            ),
        ]
    );
}

#[tokio::test]
async fn resolving_closes_it_everywhere_and_reopening_opens_it_again() {
    let app = spawn_app().await;
    let channel = app.declared(ALICE, "sev2 Checkout is slow").await;
    assert_eq!(
        app.command_in(ALICE, &channel.id, "close Rolled back; error rate normal")
            .await,
        "*INC-1* is resolved."
    );
    app.settle().await;
    let resolved = ":white_check_mark: *INC-1 is resolved* — <@U0ALICE> closed it after under a minute.\nRolled back; error rate normal";
    assert!(posts_after_card(&app, &channel)[0].starts_with(resolved));
    let (announcement, thread) = announcement_and_thread(&app);
    assert!(
        announcement.contains(":white_check_mark: *INC-1 resolved* · SEV2 · resolved"),
        "{announcement}"
    );
    assert!(thread[0].starts_with(resolved));
    assert!(card(&app, &channel).contains("*Status*\n:white_check_mark: resolved"));
    let topic = app.sim.channel(&channel.id).expect("channel").topic;
    assert_eq!(topic, "[SEV2 · resolved] Checkout is slow");
    let incident = app.incident_in(&channel).await;
    assert_eq!(incident.status, Status::Resolved);
    assert!(incident.resolved_at.is_some());
    assert_eq!(
        app.command(BOB, "list").await,
        "No open incidents. :white_check_mark:"
    );

    assert_eq!(
        app.command_in(ALICE, &channel.id, "reopen").await,
        "*INC-1* is open again."
    );
    app.settle().await;
    let incident = app.incident_in(&channel).await;
    assert_eq!(
        (incident.status, incident.resolved_at),
        (Status::Investigating, None)
    );
    assert!(
        announcement_and_thread(&app)
            .0
            .contains("*INC-1 declared* · SEV2 · investigating")
    );
    assert_eq!(
        last_entries(&app, &channel, 2).await,
        [
            (
                Entry::Resolved {
                    from: Status::Investigating,
                    text: Some("Rolled back; error rate normal".into())
                },
                Some(ALICE.into())
            ),
            (
                Entry::Reopened {
                    from: Status::Resolved
                },
                Some(ALICE.into())
            )
        ]
    );
}

#[tokio::test]
async fn a_triage_incident_can_be_declined_by_its_coordinator() {
    let app = spawn_app().await;
    let channel = app.declared(ALICE, "sev3 triage Synthetic check red").await;
    assert_eq!(
        app.command_in(ALICE, &channel.id, "decline The check itself was broken")
            .await,
        "*INC-1* is declined."
    );
    app.settle().await;
    assert!(posts_after_card(&app, &channel)[0].starts_with(
        ":no_entry_sign: *INC-1 is declined* — <@U0ALICE> called it off: not an incident.\nThe check itself was broken"
    ));
    assert!(
        announcement_and_thread(&app)
            .0
            .contains(":no_entry_sign: *INC-1 declined*")
    );
    assert_eq!(
        app.sim.channel(&channel.id).expect("channel").topic,
        "[SEV3 · declined] Synthetic check red"
    );
}

#[tokio::test]
async fn an_admin_may_resolve_an_incident_they_hold_no_role_in() {
    let app = spawn_app_configured(&[("ADMINS", CAROL)], |_| {}).await;
    let channel = app.declared(ALICE, "sev2 Checkout is slow").await;
    assert_eq!(
        app.command_in(CAROL, &channel.id, "resolve").await,
        "*INC-1* is resolved."
    );
}

#[tokio::test]
async fn ten_quick_updates_are_posted_in_the_order_they_were_given() {
    let app = spawn_app().await;
    let channel = app.declared(ALICE, "sev2 Checkout is slow").await;
    for n in 1..=10 {
        let reply = app
            .command_in(ALICE, &channel.id, &format!("update Step {n} done"))
            .await;
        assert_eq!(reply, "Update posted.");
    }
    app.settle().await;
    let posts = posts_after_card(&app, &channel);
    let steps: Vec<String> = posts
        .iter()
        .map(|p| {
            p.lines()
                .find(|l| l.starts_with("Step"))
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    let expected: Vec<String> = (1..=10).map(|n| format!("Step {n} done")).collect();
    assert_eq!(steps, expected);
    let (_, thread) = announcement_and_thread(&app);
    assert_eq!(thread.len(), 10);
    assert!(
        thread
            .iter()
            .zip(&expected)
            .all(|(t, e)| t.contains(e.as_str()))
    );
    // At most one message a second per channel (the simulator stamps each post as it arrives).
    let posts_at: Vec<_> = app
        .sim
        .calls_to("chat.postMessage")
        .into_iter()
        .filter(|c| c.params["channel"] == channel.id.as_str())
        .map(|c| c.received_at)
        .collect();
    assert_eq!(posts_at.len(), 11, "the card and ten updates");
    for pair in posts_at.windows(2) {
        let gap = pair[1].duration_since(pair[0]);
        assert!(
            gap >= std::time::Duration::from_millis(950),
            "posts {gap:?} apart"
        );
    }
}

#[tokio::test]
async fn two_status_changes_in_a_row_both_reach_the_topic() {
    let app = spawn_app().await;
    let channel = app.declared(ALICE, "sev2 Checkout is slow").await;
    app.command_in(ALICE, &channel.id, "update fixing Rolling back")
        .await;
    app.command_in(ALICE, &channel.id, "update monitoring Rolled back")
        .await;
    app.settle().await;
    let channel_now = app.sim.channel(&channel.id).expect("channel");
    assert_eq!(channel_now.topic, "[SEV2 · monitoring] Checkout is slow");
    assert!(card(&app, &channel).contains("*Status*\nmonitoring"));
    assert!(
        announcement_and_thread(&app)
            .0
            .contains("· SEV2 · monitoring")
    );
}

#[tokio::test]
async fn a_redelivered_command_changes_nothing_twice() {
    let app = spawn_app().await;
    let channel = app.declared(ALICE, "sev2 Checkout is slow").await;
    let envelope = app
        .sim
        .slash_command(ALICE, &channel.id, "update fixing Rolling back");
    app.sim
        .ack(&envelope.envelope_id, WAIT)
        .await
        .expect("first ack");
    app.settle().await;
    let mark = app.mark();
    app.sim.send(&envelope);
    assert!(
        app.sim
            .wait_until(WAIT, |s| s
                .events()
                .iter()
                .filter(|e| matches!(e,
                slack_simulator::SimEvent::Ack(a) if a.envelope_id == envelope.envelope_id))
                .count()
                == 2)
            .await
    );
    let acks: Vec<String> = app
        .sim
        .events()
        .into_iter()
        .filter_map(|e| match e {
            slack_simulator::SimEvent::Ack(a) if a.envelope_id == envelope.envelope_id => {
                Some(ack_text(&a))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        acks,
        ["Update posted.", "That command was already carried out."]
    );
    app.settle().await;
    assert!(
        app.writes_since(mark).is_empty(),
        "{:?}",
        app.writes_since(mark)
    );
    assert_eq!(posts_after_card(&app, &channel).len(), 1);
}

#[tokio::test]
async fn escalating_to_a_user_group_invites_every_member_and_pings_the_group() {
    let app = spawn_app_with(|sim| {
        sim.add_user("U0DAN", "dan");
        sim.add_usergroup("S0DBA", "dba-oncall", &["U0CAROL", "U0DAN"]);
    })
    .await;
    let channel = app.declared(ALICE, "sev1 Checkout is down").await;
    let reply = app
        .command_in(
            ALICE,
            &channel.id,
            "escalate <!subteam^S0DBA|@dba-oncall> Replica lag 40 min",
        )
        .await;
    assert_eq!(reply, "Escalated to <!subteam^S0DBA>.");
    app.settle().await;
    let members = app.sim.channel(&channel.id).expect("channel").members;
    for user in [CAROL, "U0DAN"] {
        assert!(
            members.contains(&user.to_string()),
            "{user} invited: {members:?}"
        );
    }
    let posts = posts_after_card(&app, &channel);
    assert!(
        posts[0].starts_with(
            ":sos: <!subteam^S0DBA> — <@U0ALICE> needs you on *INC-1* — Checkout is down.\n>Replica lag 40 min"
        ),
        "{}",
        posts[0]
    );
    assert_eq!(
        last_entries(&app, &channel, 1).await[0].0,
        Entry::Escalated {
            users: Vec::new(),
            group: Some("S0DBA".into()),
            message: Some("Replica lag 40 min".into())
        }
    );
}
