//! Text as Slack really sends it: `&`, `<` and `>` escaped in everything typed into a message or
//! a slash command (what was picked from Slack's pop-ups stays a token), and a `rich_text` block
//! beside every message written in Slack's composer. The bot decodes once where text enters,
//! escapes once where it leaves, and reads a message one way.

use crate::helpers::*;

#[tokio::test]
async fn what_slack_escaped_in_a_title_is_shown_as_typed_and_escaped_once() {
    let app = spawn_app().await;
    // Slack sends `R&amp;D login &lt;beta&gt; fails`.
    let reply = app
        .command(ALICE, "declare sev2 R&D login <beta> fails")
        .await;
    assert!(
        reply.contains("— R&amp;D login &lt;beta&gt; fails."),
        "{reply}"
    );
    app.settle().await;

    let channel = app.only_incident_channel("inc-1-r-d-login-beta-fails");
    assert_eq!(
        channel.topic,
        "[SEV2 · investigating] R&amp;D login &lt;beta&gt; fails"
    );
    let card = &channel.messages[0];
    assert_eq!(
        card.blocks[0]["text"]["text"], "INC-1 · R&D login <beta> fails",
        "a plain_text header shows the characters, not entities"
    );
    let announcement = app
        .sim
        .channel(&app.incidents)
        .expect("#incidents")
        .messages[0]
        .clone();
    for message in [card, &announcement] {
        let text = parsed_text(message);
        assert!(text.contains("R&amp;D login &lt;beta&gt; fails"), "{text}");
        assert!(
            !text.contains("&amp;amp;") && !text.contains("&amp;lt;"),
            "escaped twice: {text}"
        );
    }
    let incident = app.incident_in(&channel).await;
    assert_eq!(incident.title, "R&D login <beta> fails");
}

#[tokio::test]
async fn an_update_keeps_what_slack_linked_and_shows_what_was_typed() {
    let app = spawn_app().await;
    let channel = app.declared(ALICE, "sev2 Checkout errors").await;
    let reply = app
        .command_in(
            ALICE,
            &channel.id,
            "update error rate > 5% & rising, see https://grafana.example/d/1 cc <@U0BOB> <!here>",
        )
        .await;
    assert!(reply.is_empty() || !reply.contains("&amp;amp;"), "{reply}");
    app.settle().await;
    let update = app
        .sim
        .channel(&channel.id)
        .expect("channel")
        .messages
        .into_iter()
        .find(|m| m.text.starts_with("Update on INC-1"))
        .expect("the update is posted");
    let text = parsed_text(&update);
    assert!(
        text.contains(
            "error rate &gt; 5% &amp; rising, see <https://grafana.example/d/1> cc <@U0BOB> @here"
        ),
        "{text}"
    );
    assert!(
        !text.contains("<!here>"),
        "a crowd ping stays silent: {text}"
    );
}

#[tokio::test]
async fn a_pinned_finding_appears_once_in_the_postmortem_with_people_by_name_and_links() {
    let app = spawn_app().await;
    let channel = app.declared(ALICE, "sev2 Checkout is slow").await;
    let ops = app.sim.add_channel("payments-ops", false, false);
    // Slack's composer sends this with `text` and a `rich_text` block carrying the same words.
    let finding = app.sim.post_as(
        BOB,
        &channel.id,
        &format!(
            "Root cause: <@U0CAROL> found the retry storm in \
             <https://git.example.com/pay/pull/42|PR 42> :fire: (see <#{ops}>) & 5xx > 2%"
        ),
    );
    let pinned = app.sim.pin(BOB, &channel.id, &finding).expect("pin_added");
    app.sim.ack(&pinned.envelope_id, WAIT).await.expect("acked");
    app.command_in(ALICE, &channel.id, "postmortem").await;
    app.settle().await;

    let draft = app
        .sim
        .files()
        .into_iter()
        .find(|f| f.completed && f.channels.contains(&channel.id))
        .expect("the draft is shared")
        .text();
    let line = "Root cause: @carol found the retry storm in \
                [PR 42](https://git.example.com/pay/pull/42) :fire: (see \\#payments-ops) & 5xx > 2%";
    assert_eq!(draft.matches(line).count(), 1, "{draft}");
    assert_eq!(
        draft.matches("retry storm").count(),
        1,
        "read once: {draft}"
    );
}

#[tokio::test]
async fn an_edited_pin_is_read_from_its_rich_text_once() {
    let app = spawn_app().await;
    let channel = app.declared(ALICE, "sev2 Checkout is slow").await;
    let finding = app
        .sim
        .post_as(BOB, &channel.id, "Deploy 4711 doubled connections");
    for envelope in [
        app.sim.pin(BOB, &channel.id, &finding),
        app.sim.edit(
            BOB,
            &channel.id,
            &finding,
            "Deploy 4711 tripled connections & <@U0CAROL> has the graph",
        ),
    ] {
        let envelope = envelope.expect("an event");
        app.sim
            .ack(&envelope.envelope_id, WAIT)
            .await
            .expect("acked");
    }
    app.settle().await;
    let incident = app.incident_in(&channel).await;
    let edited = timeline_event(&app.store, incident.id, "pin_edited").await;
    assert_eq!(
        edited.entry,
        incident_commander::domain::Entry::PinEdited {
            ts: finding.clone(),
            text: "Deploy 4711 tripled connections & <@U0CAROL> has the graph".into(),
        }
    );
}

#[tokio::test]
async fn a_message_typed_with_characters_slack_escapes_prefills_the_form_as_typed() {
    let app = spawn_app().await;
    let ts = app.sim.post_as(
        CAROL,
        &app.general,
        "Checkout: 5xx > 2% for R&D <beta> users",
    );
    let shortcut = app
        .sim
        .message_shortcut(ALICE, &app.general, &ts, "declare_incident");
    app.sim
        .ack(&shortcut.envelope_id, WAIT)
        .await
        .expect("acked");
    let view = open_view(&app, ALICE).await;
    let initial = |block: &str| {
        view.blocks
            .as_array()
            .expect("blocks")
            .iter()
            .find(|b| b["block_id"] == block)
            .unwrap_or_else(|| panic!("no {block} input"))["element"]["initial_value"]
            .clone()
    };
    // Inputs are plain text, shown as they are: the characters typed, read once.
    assert_eq!(initial("title"), "Checkout: 5xx > 2% for R&D <beta> users");
    assert_eq!(
        initial("summary"),
        "Checkout: 5xx > 2% for R&D <beta> users"
    );
}
