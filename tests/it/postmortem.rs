//! The postmortem draft as people get it: `/inc postmortem` (or the **Write postmortem** button
//! on the resolution) posts `INC-<n>-postmortem.md` in the incident channel, built from Slack's
//! current pins and the incident's timeline; a second export is a new version; a failed upload
//! is told to whoever asked and the draft stays retrievable; `incident-commander postmortem`
//! renders the same from the database and Slack, or offline.

use incident_commander::app::postmortem::{Source, for_cli};
use incident_commander::config::DraftSettings;
use incident_commander::domain::Entry;
use incident_commander::domain::postmortem::Template;
use serde_json::{Value, json};
use slack_simulator::{Channel, File};

use crate::helpers::*;

/// The drafts uploaded to `channel`, oldest first.
fn drafts_in(app: &TestApp, channel: &Channel) -> Vec<File> {
    app.sim
        .files()
        .into_iter()
        .filter(|f| f.completed && f.channels.contains(&channel.id))
        .collect()
}

/// The text the bot shared the file `id` with in `channel`.
fn share_comment(app: &TestApp, channel: &Channel, id: &str) -> String {
    let channel = app.sim.channel(&channel.id).expect("channel");
    channel
        .messages
        .iter()
        .find(|m| m.files.iter().any(|f| f == id))
        .map(|m| m.text.clone())
        .unwrap_or_else(|| panic!("no message shares {id}"))
}

/// An incident with history: alice coordinates and posts an update; bob pins a finding and then
/// edits it; alice pins a decision and unpins it; an alert from Alertmanager, whose words are
/// only in its attachment, is pinned; the incident is resolved.
async fn incident_with_pins(app: &TestApp) -> Channel {
    let channel = app.declared(ALICE, "sev2 Checkout is slow").await;
    app.command_in(ALICE, &channel.id, "coordinator me").await;
    app.command_in(ALICE, &channel.id, "update fixing Rolling back 4711")
        .await;
    let finding = app
        .sim
        .post_as(BOB, &channel.id, "Deploy 4711 doubled DB connections");
    let decision = app
        .sim
        .post_as(ALICE, &channel.id, "Decision: keep the feature flag on");
    let alert = app.sim.post_alert(
        &channel.id,
        "Alertmanager",
        "",
        json!([{ "title": "HighErrorRate", "text": "checkout 5xx at 12% & rising" }]),
        Value::Null,
    );
    for envelope in [
        app.sim.pin(BOB, &channel.id, &finding),
        app.sim.edit(
            BOB,
            &channel.id,
            &finding,
            "Deploy 4711 tripled DB connections, see <@U0CAROL>'s graph",
        ),
        app.sim.pin(ALICE, &channel.id, &decision),
        app.sim.unpin(ALICE, &channel.id, &decision),
        app.sim.pin(BOB, &channel.id, &alert),
    ] {
        let envelope = envelope.expect("an event is delivered");
        app.sim
            .ack(&envelope.envelope_id, WAIT)
            .await
            .expect("acked");
    }
    app.command_in(ALICE, &channel.id, "resolve Rolled back")
        .await;
    app.settle().await;
    channel
}

#[tokio::test]
async fn postmortem_posts_a_markdown_draft_of_the_current_pins_and_the_timeline_and_a_second_is_a_new_version()
 {
    let app = spawn_app().await;
    let channel = incident_with_pins(&app).await;
    let incident = app.incident_in(&channel).await;

    let reply = app.command_in(BOB, &channel.id, "postmortem").await;
    assert!(
        reply.contains("Writing the postmortem draft of *INC-1*")
            && reply.contains("`INC-1-postmortem.md`"),
        "{reply}"
    );
    app.settle().await;

    let drafts = drafts_in(&app, &channel);
    assert_eq!(drafts.len(), 1, "one file in the channel");
    let draft = &drafts[0];
    assert_eq!(draft.name, "INC-1-postmortem.md");
    let saved = app
        .store
        .latest_postmortem(incident.id)
        .await
        .expect("load")
        .expect("the draft is saved");
    assert_eq!(saved.version, 1);
    assert_eq!(draft.text(), saved.markdown, "the file is the saved draft");
    let md = draft.text();
    assert!(md.starts_with("# INC-1: Checkout is slow\n"), "{md}");
    assert!(md.contains("| Final status | resolved |"), "{md}");
    assert!(
        md.contains("Deploy 4711 tripled DB connections, see @carol's graph"),
        "an edited pin shows its edited text, mentions by name:\n{md}"
    );
    assert!(!md.contains("doubled"), "the text before the edit is gone");
    assert!(!md.contains("feature flag"), "an unpinned message is gone");
    assert!(
        md.contains("📌 Alertmanager (bot)") && md.contains("checkout 5xx at 12% & rising"),
        "an alert pin keeps its attachment's text:\n{md}"
    );
    assert_eq!(md.matches("📌").count(), 2, "the incident card is left out");
    assert!(md.contains("pinned by bob"), "who pinned, by name:\n{md}");
    assert!(md.contains("- **Coordinator**\n  - alice: "), "{md}");
    assert!(
        !md.contains("U0BOB") && !md.contains("U0ALICE"),
        "names, not ids"
    );
    let comment = share_comment(&app, &channel, &draft.id);
    assert!(
        comment.contains("The postmortem draft of *INC-1*") && !comment.contains("version"),
        "{comment}"
    );
    let exported = timeline_event(&app.store, incident.id, "postmortem_exported").await;
    assert_eq!(
        exported.entry,
        Entry::PostmortemExported {
            version: 1,
            file: Some(draft.id.clone())
        }
    );
    assert_eq!(exported.actor, None, "the bot's own doing");

    // The team pins the first draft (a file pin) and exports again.
    let pinned = app
        .sim
        .pin_file(CAROL, &channel.id, &draft.id)
        .expect("pin_added");
    app.sim.ack(&pinned.envelope_id, WAIT).await.expect("acked");
    app.command_in(CAROL, &channel.id, "postmortem").await;
    app.settle().await;
    let drafts = drafts_in(&app, &channel);
    assert_eq!(drafts.len(), 2, "a new file");
    let comment = share_comment(&app, &channel, &drafts[1].id);
    assert!(
        comment.contains("This is version 2: it replaces version 1."),
        "{comment}"
    );
    let md = drafts[1].text();
    assert!(
        md.contains("📎 [INC-1 postmortem draft (version 1)](https://")
            && md.contains("pinned by carol"),
        "a file pin is listed by name and link:\n{md}"
    );
    assert_eq!(
        app.store
            .latest_postmortem(incident.id)
            .await
            .expect("load")
            .map(|p| p.version),
        Some(2)
    );
}

#[tokio::test]
async fn the_resolution_offers_a_write_postmortem_button_that_posts_the_draft() {
    let app = spawn_app().await;
    let channel = app.declared(ALICE, "sev3 Search is stale").await;
    app.command_in(ALICE, &channel.id, "resolve Reindexed")
        .await;
    app.settle().await;
    let resolved = app
        .sim
        .channel(&channel.id)
        .expect("channel")
        .messages
        .into_iter()
        .find(|m| m.text.contains("is resolved"))
        .expect("the resolution is posted");
    let click = app
        .sim
        .click(BOB, &channel.id, &resolved.ts, "write_postmortem")
        .expect("the resolution has a Write postmortem button");
    app.sim.ack(&click.envelope_id, WAIT).await.expect("acked");
    // Slack delivers the click again (the ack was late): once the bot has answered that
    // delivery too and the work it asked for is done, there is still one draft.
    app.redeliver(&click).await;
    app.settle().await;
    let drafts = drafts_in(&app, &channel);
    let titles: Vec<Option<String>> = drafts.iter().map(|f| f.title.clone()).collect();
    assert_eq!(drafts.len(), 1, "{titles:?}");
    assert_eq!(
        app.ok_calls("files.completeUploadExternal"),
        1,
        "one upload"
    );
    let incident = app.incident_in(&channel).await;
    let exports = timeline_kinds(&app.store, incident.id)
        .await
        .into_iter()
        .filter(|k| *k == "postmortem_exported")
        .count();
    assert_eq!(exports, 1, "one export on the timeline");
    assert_eq!(
        app.store
            .latest_postmortem(incident.id)
            .await
            .expect("load")
            .map(|p| p.version),
        Some(1),
        "one saved version"
    );
    assert!(drafts[0].text().starts_with("# INC-1: Search is stale"));
    let told: Vec<String> = app.sim.ephemerals().into_iter().map(|e| e.text).collect();
    assert!(
        told.iter()
            .any(|t| t.contains("Writing the postmortem draft of *INC-1*")),
        "{told:?}"
    );
}

#[tokio::test]
async fn a_private_incidents_postmortem_is_posted_in_its_private_channel_and_nowhere_else() {
    let app = spawn_app().await;
    let channel = app
        .declared_private(ALICE, "sev1", "Payroll data exposed")
        .await;
    assert!(channel.is_private);
    app.command_in(ALICE, &channel.id, "update fixing Rotating the keys")
        .await;
    app.command_in(ALICE, &channel.id, "resolve Keys rotated")
        .await;
    app.settle().await;
    let mark = app.mark();

    let reply = app.command_in(ALICE, &channel.id, "postmortem").await;
    assert!(
        reply.contains("Writing the postmortem draft of *INC-1*"),
        "{reply}"
    );
    app.settle().await;

    let files = app.sim.files();
    assert_eq!(files.len(), 1, "one file uploaded");
    let file = &files[0];
    assert!(file.completed, "and shared");
    assert_eq!(
        file.channels,
        std::slice::from_ref(&channel.id),
        "in the private channel only"
    );
    let md = file.text();
    assert!(md.starts_with("# INC-1: Payroll data exposed\n"), "{md}");
    assert!(
        md.contains(
            "> **Private incident.** This draft is only posted in the incident's private channel"
        ),
        "{md}"
    );
    assert!(md.contains("Update: Rotating the keys"), "{md}");
    let comment = share_comment(&app, &channel, &file.id);
    assert!(
        comment.contains("The postmortem draft of *INC-1*"),
        "{comment}"
    );
    assert_eq!(
        app.channels_written_since(mark),
        [channel.id.clone()].into(),
        "the export wrote only to the private channel"
    );
    assert!(
        app.sim
            .channel(&app.incidents)
            .expect("#incidents")
            .messages
            .is_empty(),
        "nothing in #incidents"
    );
    for public in app.sim.channels().into_iter().filter(|c| !c.is_private) {
        assert!(
            !public
                .messages
                .iter()
                .any(|m| !m.files.is_empty() || m.text.contains("INC-1")),
            "#{} shows the private incident's draft",
            public.name
        );
    }
}

#[tokio::test]
async fn an_upload_that_fails_is_told_to_whoever_asked_and_the_saved_draft_stays_retrievable() {
    let app = spawn_app().await;
    let channel = app.declared(ALICE, "sev2 Payments time out").await;
    app.sim
        .fail("files.completeUploadExternal", "invalid_channel", 10);
    app.command_in(BOB, &channel.id, "postmortem").await;
    app.settle().await;

    assert!(drafts_in(&app, &channel).is_empty(), "nothing was shared");
    let told: Vec<String> = app
        .sim
        .ephemerals()
        .into_iter()
        .filter(|e| e.user == BOB)
        .map(|e| e.text)
        .collect();
    assert!(
        told.iter().any(|t| t.contains(
            "The postmortem draft of *INC-1* could not be posted: Slack answered `invalid_channel`. \
             The draft (version 1) is saved: `incident-commander postmortem INC-1 --saved` prints it."
        )),
        "{told:?}"
    );
    let saved = for_cli("INC-1", Source::Saved(&app.db.url))
        .await
        .expect("the saved draft");
    assert!(saved.starts_with("# INC-1: Payments time out\n"), "{saved}");
    let incident = app.incident_in(&channel).await;
    assert!(
        !timeline_kinds(&app.store, incident.id)
            .await
            .contains(&"postmortem_exported"),
        "no export is recorded"
    );
}

#[tokio::test]
async fn the_cli_renders_from_the_database_and_slack_or_offline_even_without_a_channel() {
    let app = spawn_app().await;
    incident_with_pins(&app).await;
    let settings = settings_for(&app.sim, &app.db.url);

    let online = for_cli("INC-1", Source::Slack(&settings))
        .await
        .expect("rendered");
    assert!(online.contains("see @carol's graph"), "{online}");
    assert!(!online.contains("may be out of date"), "{online}");

    let offline_settings = DraftSettings {
        database_url: app.db.url.clone(),
        postmortem_template: Template::builtin(),
        tz: chrono_tz::UTC,
    };
    let offline = for_cli("1", Source::Offline(&offline_settings))
        .await
        .expect("rendered offline");
    assert!(
        offline.contains("pinned messages come from the bot's own records"),
        "{offline}"
    );
    assert!(
        offline.contains("Deploy 4711 tripled DB connections"),
        "the recorded edit:\n{offline}"
    );
    assert!(!offline.contains("feature flag"), "the recorded unpin");
    assert!(offline.contains("U0ALICE"), "offline, people are their ids");

    // The binary writes the same draft to a file, and says in one line what it cannot find.
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("INC-1.md");
    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_incident-commander"))
            .args(args)
            .env("DATABASE_URL", &app.db.url)
            .env("TZ", "UTC")
            .env_remove("POSTMORTEM_TEMPLATE")
            .output()
            .expect("the binary runs")
    };
    let written = cli(&[
        "postmortem",
        "INC-1",
        "--offline",
        "--out",
        &file.to_string_lossy(),
    ]);
    assert!(written.status.success(), "{written:?}");
    assert!(written.stdout.is_empty(), "with --out nothing is printed");
    let on_disk = std::fs::read_to_string(&file).expect("the file is written");
    let body = |md: &str| md.split_once("\n\n| |").map(|(_, rest)| rest.to_string());
    assert_eq!(
        body(&on_disk),
        body(&offline),
        "the file is the offline draft"
    );
    let missing = cli(&["postmortem", "INC-9", "--offline"]);
    assert!(!missing.status.success());
    assert_eq!(
        String::from_utf8_lossy(&missing.stderr),
        "incident-commander: there is no INC-9\n"
    );

    // An incident whose channel Slack refused still renders.
    app.sim.fail("conversations.create", "restricted_action", 1);
    app.command(CAROL, "declare sev3 Nightly export is late")
        .await;
    app.settle().await;
    let lonely = for_cli("INC-2", Source::Slack(&settings))
        .await
        .expect("rendered without a channel");
    assert!(
        lonely.contains("# INC-2: Nightly export is late") && lonely.contains("| Channel | none |"),
        "{lonely}"
    );

    assert_eq!(
        for_cli("INC-9", Source::Offline(&offline_settings)).await,
        Err("there is no INC-9".to_string())
    );
    assert!(
        for_cli("checkout", Source::Offline(&offline_settings))
            .await
            .expect_err("not a reference")
            .contains("use INC-42 or 42")
    );
    assert!(
        for_cli("INC-1", Source::Saved(&app.db.url))
            .await
            .expect_err("never exported")
            .contains("INC-1 has no saved draft")
    );
}

#[tokio::test]
async fn postmortem_outside_an_incident_channel_is_refused_and_uploads_nothing() {
    let app = spawn_app().await;
    app.declared(ALICE, "sev2 Checkout is slow").await;
    let mark = app.mark();
    let reply = app.command(BOB, "postmortem").await;
    assert!(
        reply.contains("`/inc postmortem` works only in an incident's channel"),
        "{reply}"
    );
    app.settle().await;
    assert_eq!(app.writes_since(mark), Vec::<String>::new());
    assert!(app.sim.files().is_empty());
}
