//! Publishing to the status page: `/inc statuspage` opens a form prefilled from the incident
//! with the page's components; nothing is published until it is submitted; the first
//! submission creates the public incident, later ones update it; resolving here offers to
//! resolve it there — against the simulator crate's fake Statuspage (REST API v1).

use slack_simulator::{FakeStatuspage, ViewInput};

use crate::helpers::*;

const API_KEY: &str = "statuspage-api-key-0123";
const PAGE_ID: &str = "pg0exampl3ab";

async fn app_with_statuspage() -> (TestApp, FakeStatuspage, String) {
    let sp = FakeStatuspage::start(API_KEY, PAGE_ID)
        .await
        .expect("fake Statuspage starts");
    let checkout = sp.add_component("Checkout");
    sp.add_component("Search");
    let url = sp.api_url();
    let app = spawn_app_configured(
        &[
            ("STATUSPAGE_API_KEY", API_KEY),
            ("STATUSPAGE_PAGE_ID", PAGE_ID),
            ("STATUSPAGE_API_URL", &url),
            ("OUTSIDE_TIMEOUT", "2s"),
        ],
        |_| {},
    )
    .await;
    (app, sp, checkout)
}

fn said(app: &TestApp, channel: &str) -> Vec<String> {
    let channel = app.sim.channel(channel).expect("channel");
    channel.messages.iter().map(shown_text).collect()
}

#[tokio::test]
async fn the_form_publishes_what_was_chosen_and_a_second_submission_updates_it() {
    let (app, sp, checkout) = app_with_statuspage().await;
    let channel = app
        .declared(ALICE, "sev1 Checkout is down for EU cards")
        .await;
    let mark = app.mark();

    let reply = app.command_in(ALICE, &channel.id, "statuspage").await;
    assert_eq!(reply, "", "the form opens; nothing is said");
    let view = open_view(&app, ALICE).await;
    let form = view.blocks.to_string();
    for shown in [
        "Public title",
        "Checkout is down for EU cards",
        "Checkout",
        "Search",
        "major_outage",
        "Preview",
        "customers will see",
    ] {
        assert!(form.contains(shown), "the form shows {shown}: {form}");
    }
    assert!(
        sp.incidents().is_empty(),
        "nothing is published before the click"
    );
    assert_eq!(
        app.writes_since(mark),
        ["views.open"],
        "opening the form is all that happened"
    );

    let ack = submit(
        &app,
        ALICE,
        &view,
        &[
            (
                "title",
                ViewInput::Text("Card payments failing in the EU".into()),
            ),
            (
                "message",
                ViewInput::Text("We are rolling back a deploy.".into()),
            ),
            ("components", ViewInput::Checked(vec![checkout.clone()])),
        ],
    )
    .await;
    assert!(ack.is_none(), "{ack:?}");
    app.settle().await;

    let public = sp.incidents();
    assert_eq!(public.len(), 1);
    assert_eq!(public[0].name, "Card payments failing in the EU");
    assert_eq!(public[0].status, "investigating");
    assert_eq!(public[0].updates[0].body, "We are rolling back a deploy.");
    assert_eq!(
        sp.component(&checkout).expect("component").status,
        "major_outage"
    );
    let auth = sp
        .requests()
        .iter()
        .all(|r| r.header("authorization") == Some(&format!("OAuth {API_KEY}")));
    assert!(
        auth,
        "every call carries the API key as Statuspage wants it"
    );
    let posts = said(&app, &channel.id);
    assert!(
        posts.iter().any(|p| p.contains(
            ":loudspeaker: <@U0ALICE> published “Card payments failing in the EU” on the status page as *investigating*."
        ) && p.contains(&public[0].shortlink)),
        "{posts:?}"
    );
    let card = posts.first().expect("card");
    assert!(card.contains("*Status page*"), "{card}");
    let incident = app.incident_in(&channel).await;
    assert!(
        timeline_kinds(&app.store, incident.id)
            .await
            .contains(&"status_published")
    );

    // Again: the same public incident, updated.
    app.command_in(BOB, &channel.id, "statuspage").await;
    let view = open_view(&app, BOB).await;
    assert!(
        view.blocks
            .to_string()
            .contains("Card payments failing in the EU"),
        "the form keeps the public title"
    );
    submit(
        &app,
        BOB,
        &view,
        &[
            ("status", ViewInput::Option("identified".into())),
            ("message", ViewInput::Text("The cause is found.".into())),
        ],
    )
    .await;
    app.settle().await;
    let public = sp.incidents();
    assert_eq!(public.len(), 1, "updated, not created again");
    assert_eq!(public[0].status, "identified");
    assert!(
        said(&app, &channel.id)
            .iter()
            .any(|p| p.contains("<@U0BOB> updated")),
        "{:?}",
        said(&app, &channel.id)
    );
}

#[tokio::test]
async fn resolving_here_offers_to_resolve_the_public_incident_and_the_offer_does() {
    let (app, sp, _) = app_with_statuspage().await;
    let channel = app.declared(ALICE, "sev2 Search is slow").await;
    app.command_in(ALICE, &channel.id, "statuspage").await;
    let view = open_view(&app, ALICE).await;
    submit(&app, ALICE, &view, &[]).await;
    app.settle().await;
    assert_eq!(sp.incidents().len(), 1);

    app.command_in(ALICE, &channel.id, "resolve Fixed").await;
    app.settle().await;
    let channel_now = app.sim.channel(&channel.id).expect("channel");
    let offer = channel_now
        .messages
        .iter()
        .find(|m| shown_text(m).contains("the status page still shows it"))
        .expect("the offer")
        .clone();
    app.sim
        .click(BOB, &channel.id, &offer.ts, "publish_status")
        .expect("a button");
    let view = open_view(&app, BOB).await;
    let form = view.blocks.to_string();
    assert!(form.contains("This incident has been resolved."), "{form}");
    submit(&app, BOB, &view, &[]).await;
    app.settle().await;
    let public = sp.incidents();
    assert_eq!(public.len(), 1);
    assert_eq!(public[0].status, "resolved");
    assert!(public[0].resolved_at.is_some());
}

#[tokio::test]
async fn a_creation_whose_answer_was_lost_is_adopted_not_made_twice() {
    let (app, sp, _) = app_with_statuspage().await;
    let channel = app.declared(ALICE, "sev2 Search is slow").await;
    app.command_in(ALICE, &channel.id, "statuspage").await;
    let view = open_view(&app, ALICE).await;
    sp.fail_after_applying(1);
    submit(&app, ALICE, &view, &[]).await;
    app.settle().await;
    assert_eq!(sp.incidents().len(), 1, "{:?}", sp.incidents());
    assert!(
        said(&app, &channel.id)
            .iter()
            .any(|p| p.contains("on the status page as *investigating*")),
        "{:?}",
        said(&app, &channel.id)
    );
}

#[tokio::test]
async fn bad_input_and_no_status_page_change_nothing() {
    let (app, sp, _) = app_with_statuspage().await;
    let channel = app.declared(ALICE, "sev2 Search is slow").await;
    let extra = app.command_in(ALICE, &channel.id, "statuspage now").await;
    assert!(
        extra.starts_with("`now` was not expected there."),
        "{extra}"
    );
    app.command_in(ALICE, &channel.id, "statuspage").await;
    let view = open_view(&app, ALICE).await;
    let errors = submit(
        &app,
        ALICE,
        &view,
        &[
            ("title", ViewInput::Text("   ".into())),
            ("message", ViewInput::Text("\u{200B}".into())),
        ],
    )
    .await
    .expect("errors");
    assert_eq!(errors["response_action"], "errors");
    assert_eq!(
        errors["errors"]["title"],
        "Give the public incident a title."
    );
    assert_eq!(
        errors["errors"]["message"],
        "Write what customers should read."
    );
    app.settle().await;
    assert!(sp.incidents().is_empty());

    let plain = spawn_app().await;
    let channel = plain.declared(ALICE, "sev2 Checkout is slow").await;
    let off = plain.command_in(ALICE, &channel.id, "statuspage").await;
    assert_eq!(
        off,
        "No status page is configured: set `STATUSPAGE_API_KEY` and `STATUSPAGE_PAGE_ID` \
         (docs/integrations.md). Nothing was published."
    );
}
