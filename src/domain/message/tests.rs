//! What the bot says: the exact texts, and that no user text escapes its place in them.

use super::*;
use crate::domain::Status;
use crate::domain::incident::tests::sample;
use crate::domain::timeline::{Entry, TimelineEvent};

#[test]
fn the_topic_shows_severity_status_and_title() {
    let inc = sample(1);
    assert_eq!(topic(&inc), "[SEV1 · investigating] Checkout is down");
}

#[test]
fn the_topic_is_one_line() {
    let mut inc = sample(1);
    inc.summary = Some("[FIRING:1] HighErrorRate\nerror rate 12%".into());
    assert_eq!(
        topic(&inc),
        "[SEV1 · investigating] [FIRING:1] HighErrorRate error rate 12%"
    );
}

#[test]
fn the_topic_prefers_the_summary_and_fits_slacks_limit() {
    let mut inc = sample(1);
    inc.summary = Some("x".repeat(400));
    let t = topic(&inc);
    assert_eq!(t.chars().count(), MAX_TOPIC_CHARS);
    assert!(t.starts_with("[SEV1 · investigating] xxx"));
}

fn texts_of(message: &Message) -> Vec<String> {
    let mut texts = vec![message.text.clone()];
    for b in &message.blocks {
        match b {
            Block::Header(_) => {} // plain text: Slack does not parse mentions there
            Block::Section(t) | Block::Context(t) => texts.push(t.clone()),
            Block::Fields(f) => texts.extend(f.iter().cloned()),
            Block::Actions(buttons) => texts.extend(buttons.iter().map(|b| b.text.clone())),
        }
    }
    texts
}

/// Every text the bot can send about `inc`, with `free` as the free text users typed.
fn everything_said(inc: &Incident, free: &str) -> Vec<String> {
    let now = inc.declared_at + chrono::Duration::minutes(90);
    let timeline = [TimelineEvent {
        entry: Entry::FollowUp { text: free.into() },
        actor: Some("U0ALICE".into()),
        at: now,
    }];
    let mut texts = vec![
        topic(inc),
        declared_reply(inc),
        already_declared_reply(inc),
        incident_list(std::slice::from_ref(inc), "U0ALICE", &Default::default()),
        status_card(inc, Some(now), now),
        roles_list(inc),
        followups_list(inc, &timeline),
        not_in_incident_channel("update", &[inc]),
        channel_failed(inc, free),
        step_failed(inc, "Posting", free),
        role_assigned(Role::Operator, "U0BOB", "U0ALICE"),
        role_handed_over(Role::Coordinator, "U0ALICE", "U0BOB", "U0BOB"),
        role_released(Role::Comms, "U0BOB", "U0ALICE"),
    ];
    for m in [
        incident_card(inc, Some(inc.declared_at), &[]),
        announcement(inc),
        update_post(inc, "U0ALICE", Some(Status::Fixing), free),
        escalation(inc, "<@U0DBA>", "U0ALICE", Some(free)),
        resolved_post(inc, "U0ALICE", Some(free)),
        declined_post(inc, "U0ALICE", Some(free)),
        reopened_post(inc, "U0ALICE"),
    ] {
        texts.extend(texts_of(&m));
    }
    texts
}

#[test]
fn user_text_in_every_message_is_escaped() {
    let mut inc = sample(1);
    // Titles and summaries are plain text: nothing in them is markup. Free text keeps people,
    // channels and links (as Slack's own pop-ups make them) but never pings a crowd.
    inc.title = "<!channel> pay <@U0BOSS> <https://evil|docs>".into();
    inc.summary = Some("<!here> <https://evil|docs>".into());
    for t in everything_said(&inc, "<!everyone> <!subteam^S0ALL|@all> <!here>") {
        assert!(
            !t.contains("<!channel>")
                && !t.contains("<!here>")
                && !t.contains("<!everyone>")
                && !t.contains("<!subteam")
                && !t.contains("<@U0BOSS>")
                && !t.contains("<https://evil"),
            "{t}"
        );
    }
}

/// Slack reads `<…>` as markup: every `<` the bot sends must open a mention, a channel link
/// or a date it composed on purpose.
fn only_composed_markup(text: &str) -> bool {
    text.match_indices('<').all(|(i, _)| {
        ["<@", "<#", "<!date^"]
            .iter()
            .any(|p| text[i..].starts_with(p))
    })
}

#[test]
fn bot_texts_carry_no_stray_markup() {
    let mut inc = sample(3);
    inc.title = "a <b> & c".into();
    inc.summary = Some("<!here>".into());
    inc.resolved_at = Some(inc.declared_at + chrono::Duration::hours(2));
    for t in everything_said(&inc, "x <y> <!subteam^S1> z") {
        assert!(only_composed_markup(&t), "stray markup in {t:?}");
    }
}

#[test]
fn free_text_keeps_the_people_its_author_mentioned() {
    let post = update_post(&sample(1), "U0BOB", None, "<@U0CAROL> is rolling back");
    assert_eq!(
        post.blocks[0],
        Block::Section(
            ":memo: *Update* on *INC-1* · investigating\n<@U0CAROL> is rolling back".into()
        )
    );
    assert_eq!(post.blocks[1], Block::Context("Posted by <@U0BOB>".into()));
}

#[test]
fn the_card_names_the_roles_and_who_declared() {
    let card = incident_card(&sample(7), None, &[]);
    assert_eq!(
        card.blocks[0],
        Block::Header("INC-7 · Checkout is down".into())
    );
    let Block::Fields(fields) = &card.blocks[1] else {
        panic!("fields")
    };
    assert!(fields.contains(&"*Coordinator*\n<@U0ALICE>".to_string()));
    assert!(fields.contains(&"*Operator*\n_unassigned_".to_string()));
    assert!(
        card.blocks
            .iter()
            .any(|b| matches!(b, Block::Context(c) if c.starts_with("Declared by <@U0ALICE>")))
    );
    assert_eq!(
        card.blocks.last(),
        Some(&Block::Actions(vec![Button {
            text: "Post update".into(),
            action_id: "post_update".into(),
            value: "7".into(),
            primary: true
        }])),
        "an open incident's card offers the Update form"
    );
}

#[test]
fn cards_show_a_closed_incident_as_closed() {
    let mut inc = sample(2);
    inc.status = Status::Resolved;
    let announced = announcement(&inc);
    assert!(
        announced
            .text
            .starts_with(":white_check_mark: INC-2 resolved (SEV1)"),
        "{}",
        announced.text
    );
    let Block::Fields(fields) = &incident_card(&inc, None, &[]).blocks[1] else {
        panic!("fields")
    };
    assert!(fields.contains(&"*Status*\n:white_check_mark: resolved".to_string()));
}

#[test]
fn the_status_card_tells_age_roles_and_the_last_update() {
    let mut inc = sample(4);
    inc.roles.push((Role::Operator, "U0BOB".into()));
    let now = inc.declared_at + chrono::Duration::minutes(125);
    let card = status_card(&inc, Some(now + chrono::Duration::minutes(5)), now);
    assert_eq!(
        card,
        "*INC-4* — Checkout is down\n*SEV1* · *investigating* · open 2 h 5 min\n\
         Coordinator <@U0ALICE> · Operator <@U0BOB> · Comms _unassigned_\n\
         No update posted yet: `/inc update &lt;text&gt;` · next due in 5 min · <#C0INC>"
    );
    inc.last_update_at = inc.declared_at + chrono::Duration::minutes(100);
    let overdue = status_card(&inc, Some(now - chrono::Duration::minutes(3)), now);
    assert!(
        overdue.contains("\nLast update 25 min ago · next one overdue by 3 min"),
        "{overdue}"
    );
    assert!(status_card(&inc, None, now).contains(" · reminders are off"));
}

#[test]
fn durations_read_as_people_say_them() {
    let m = chrono::Duration::minutes;
    for (d, expected) in [
        (m(0), "under a minute"),
        (chrono::Duration::seconds(59), "under a minute"),
        (m(45), "45 min"),
        (m(60), "1 h"),
        (m(125), "2 h 5 min"),
        (m(1440), "1 d"),
        (m(1440 * 3 + 61), "3 d 1 h"),
        (m(-5), "under a minute"),
    ] {
        assert_eq!(span(d), expected);
    }
}

#[test]
fn the_list_hides_closed_and_foreign_private_incidents() {
    let open = sample(1);
    let mut closed = sample(2);
    closed.status = Status::Resolved;
    let mut secret = sample(3);
    secret.private = true;
    secret.declared_by = "U0BOB".into();
    secret.roles = vec![(Role::Coordinator, "U0BOB".into())];
    let all = [open, closed, secret];
    let none = Default::default();
    let for_alice = incident_list(&all, "U0ALICE", &none);
    assert!(
        for_alice.contains("INC-1") && !for_alice.contains("INC-2") && !for_alice.contains("INC-3")
    );
    let for_bob = incident_list(&all, "U0BOB", &none);
    let for_carol = incident_list(&all, "U0CAROL", &std::collections::HashSet::from([3]));
    assert!(
        for_carol.contains("INC-3"),
        "a member of its channel sees it"
    );
    assert!(for_bob.contains("INC-3") && for_bob.contains(":lock: private"));
    assert_eq!(
        incident_list(&[], "U0ALICE", &none),
        "No open incidents. :white_check_mark:"
    );
}

#[test]
fn an_in_channel_command_elsewhere_says_where_to_use_it() {
    let a = sample(1);
    assert_eq!(
        not_in_incident_channel("update", &[&a]),
        "`/inc update` works only in an incident's channel. Use it in <#C0INC> (INC-1)."
    );
    assert_eq!(
        not_in_incident_channel("resolve", &[]),
        "`/inc resolve` works only in an incident's channel. There is no open incident; declare one with `/inc declare`."
    );
}

#[test]
fn messages_round_trip_through_job_payloads() {
    let card = incident_card(&sample(1), None, &[]);
    let json = serde_json::to_value(&card).expect("json");
    let back: Message = serde_json::from_value(json).expect("message");
    assert_eq!(back, card);
}

#[test]
fn a_followups_list_too_long_for_a_section_goes_without_buttons() {
    let inc = crate::domain::incident::tests::sample(1);
    let at = |n: i64| chrono::DateTime::from_timestamp(1_800_000_000 + n, 0).expect("time");
    let few: Vec<TimelineEvent> = (0..2)
        .map(|n| TimelineEvent {
            entry: Entry::FollowUp {
                text: format!("Follow-up {n}"),
            },
            actor: Some("U1".into()),
            at: at(n),
        })
        .collect();
    let with_buttons = followups_with_buttons(&inc, &few).expect("buttons");
    assert!(matches!(with_buttons.blocks.last(), Some(Block::Actions(b)) if b.len() == 2));
    let many: Vec<TimelineEvent> = (0..40)
        .map(|n| TimelineEvent {
            entry: Entry::FollowUp {
                text: "x".repeat(100),
            },
            actor: Some("U1".into()),
            at: at(n),
        })
        .collect();
    assert_eq!(followups_with_buttons(&inc, &many), None);
}
