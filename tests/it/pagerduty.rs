//! Paging on-call through PagerDuty and hearing back: `/inc page`, the Declare form's "Page
//! on-call", what PagerDuty's webhooks say in the channel and on the card, resolving pages with
//! the incident — against the simulator crate's fake PagerDuty, which speaks Events API v2 and
//! signs its v3 webhooks as PagerDuty does.

use incident_commander::domain::Entry;
use slack_simulator::FakePagerDuty;
use slack_simulator::pagerduty::sign;

use crate::helpers::*;

/// An Events API v2 integration key: 32 characters.
pub const CHECKOUT_KEY: &str = "R0CHECKOUT0000000000000000000001";
pub const SEARCH_KEY: &str = "R0SEARCH000000000000000000000002";
pub const PD_SECRET: &str = "pagerduty-webhook-secret-0123456";

/// The bot with PagerDuty configured (services `checkout` and `search`), the fake PagerDuty
/// sending its webhooks to the bot.
pub async fn app_with_pagerduty(extra: &[(&'static str, &str)]) -> (TestApp, FakePagerDuty) {
    let pd = FakePagerDuty::start().await.expect("fake PagerDuty starts");
    pd.add_service("checkout", CHECKOUT_KEY);
    pd.add_service("search", SEARCH_KEY);
    pd.set_on_call("checkout", "Dana Scully");
    let services = format!("checkout={CHECKOUT_KEY},search={SEARCH_KEY}");
    let url = pd.events_url();
    let mut vars: Vec<(&'static str, &str)> = vec![
        ("PAGERDUTY_SERVICES", &services),
        ("PAGERDUTY_EVENTS_URL", &url),
        ("PAGERDUTY_WEBHOOK_SECRET", PD_SECRET),
        ("OUTSIDE_TIMEOUT", "2s"),
    ];
    vars.extend_from_slice(extra);
    let app = spawn_app_configured(&vars, |_| {}).await;
    pd.subscribe(&app.url("/integrations/pagerduty"), PD_SECRET);
    (app, pd)
}

/// The channel's messages as shown, the card first.
fn said(app: &TestApp, channel: &str) -> Vec<String> {
    let channel = app.sim.channel(channel).expect("channel");
    channel.messages.iter().map(shown_text).collect()
}

fn card(app: &TestApp, channel: &str) -> String {
    said(app, channel).into_iter().next().expect("the card")
}

#[tokio::test]
async fn paging_a_service_calls_its_on_call_once_with_the_incident_and_its_channel() {
    let (app, pd) = app_with_pagerduty(&[]).await;
    let channel = app.declared(ALICE, "sev1 Checkout is down").await;

    let reply = app
        .command_in(
            ALICE,
            &channel.id,
            "page checkout Card payments fail for everyone",
        )
        .await;
    assert_eq!(reply, "Paging the on-call of *checkout*.");
    app.settle().await;

    let events = pd.events();
    assert_eq!(events.len(), 1, "one trigger: {events:?}");
    let trigger = &events[0];
    assert_eq!(trigger.action, "trigger");
    assert_eq!(trigger.routing_key, CHECKOUT_KEY);
    assert_eq!(trigger.dedup_key, "T0EXAMPLE-INC-1-checkout");
    let payload = &trigger.body["payload"];
    assert_eq!(
        payload["summary"],
        "INC-1: Checkout is down — Card payments fail for everyone"
    );
    assert_eq!(payload["severity"], "critical", "SEV1 pages as critical");
    assert_eq!(payload["source"], "INC-1");
    let link = trigger.body["links"][0]["href"].as_str().expect("a link");
    assert!(
        link.contains(&channel.id),
        "the page links the channel: {link}"
    );
    let incident = pd
        .incident("T0EXAMPLE-INC-1-checkout")
        .expect("a PagerDuty incident");
    assert_eq!(incident.urgency, "high");

    let posts = said(&app, &channel.id);
    assert!(
        posts.iter().any(|p| p.contains(
            ":rotating_light: <@U0ALICE> paged the on-call of *checkout* through PagerDuty."
        ) && p.contains("Card payments fail for everyone")),
        "{posts:?}"
    );
    assert!(
        card(&app, &channel.id)
            .contains("*Paged*\ncheckout: :rotating_light: not acknowledged yet"),
        "{}",
        card(&app, &channel.id)
    );
    let incident = app.incident_in(&channel).await;
    assert!(
        timeline_kinds(&app.store, incident.id)
            .await
            .contains(&"paged"),
        "the page is on the timeline"
    );

    // Paging the same service again is the same page in PagerDuty.
    app.command_in(BOB, &channel.id, "page checkout").await;
    app.settle().await;
    assert_eq!(pd.events().len(), 2, "a second trigger was sent");
    assert_eq!(pd.incidents().len(), 1, "and PagerDuty kept one incident");
}

#[tokio::test]
async fn an_acknowledgement_in_pagerduty_is_said_in_the_channel_and_shown_on_the_card_once() {
    let (app, pd) = app_with_pagerduty(&[]).await;
    let channel = app.declared(ALICE, "sev2 Checkout is slow").await;
    app.command_in(ALICE, &channel.id, "page checkout").await;
    app.settle().await;

    let answered = pd
        .acknowledge("T0EXAMPLE-INC-1-checkout", "Dana Scully")
        .await
        .expect("the webhook is delivered");
    assert_eq!(answered, vec![200]);
    app.settle().await;

    let news: Vec<String> = said(&app, &channel.id)
        .into_iter()
        .filter(|p| p.contains("Paged *checkout*: acknowledged"))
        .collect();
    assert_eq!(news.len(), 1, "{news:?}");
    assert!(
        news[0].contains(":eyes: Paged *checkout*: acknowledged by Dana Scully after "),
        "{}",
        news[0]
    );
    assert!(
        card(&app, &channel.id).contains("acknowledged by Dana Scully"),
        "{}",
        card(&app, &channel.id)
    );
    let incident = app.incident_in(&channel).await;
    let entry = timeline_event(&app.store, incident.id, "page_news").await;
    assert!(
        matches!(&entry.entry, Entry::PageNews { service, by: Some(by), .. } if service == "checkout" && by == "Dana Scully"),
        "{entry:?}"
    );

    // PagerDuty delivers the same event again: answered, and nothing said twice.
    assert_eq!(pd.redeliver_last().await, Ok(200));
    app.settle().await;
    let again = said(&app, &channel.id)
        .into_iter()
        .filter(|p| p.contains("Paged *checkout*: acknowledged"))
        .count();
    assert_eq!(again, 1, "a redelivered webhook changes nothing");

    // Escalated to someone else: said, and the card shows who is called now.
    pd.escalate("T0EXAMPLE-INC-1-checkout", "Fox Mulder")
        .await
        .expect("delivered");
    app.settle().await;
    assert!(
        said(&app, &channel.id)
            .iter()
            .any(|p| p.contains("Paged *checkout*: escalated to Fox Mulder")),
        "{:?}",
        said(&app, &channel.id)
    );
    assert!(
        card(&app, &channel.id).contains("not acknowledged yet — called Fox Mulder"),
        "{}",
        card(&app, &channel.id)
    );
}

#[tokio::test]
async fn a_webhook_without_a_good_signature_is_refused_and_changes_nothing() {
    let (app, pd) = app_with_pagerduty(&[]).await;
    let channel = app.declared(ALICE, "sev2 Checkout is slow").await;
    app.command_in(ALICE, &channel.id, "page checkout").await;
    app.settle().await;
    pd.acknowledge("T0EXAMPLE-INC-1-checkout", "Dana Scully")
        .await
        .expect("delivered");
    app.settle().await;
    let delivered = pd.deliveries().pop().expect("a delivery");
    let body = delivered.body.clone();
    let before = said(&app, &channel.id).len();

    let post = |signature: Option<String>, body: Vec<u8>| {
        let url = app.url("/integrations/pagerduty");
        async move {
            let mut request = reqwest::Client::new()
                .post(url)
                .header("content-type", "application/json")
                .body(body);
            if let Some(signature) = signature {
                request = request.header("x-pagerduty-signature", signature);
            }
            request.send().await.expect("answered").status().as_u16()
        }
    };
    // No signature, a signature made with another secret, a signature of another body.
    assert_eq!(post(None, body.clone()).await, 401);
    assert_eq!(
        post(Some(sign("not-the-secret-0123456789", &body)), body.clone()).await,
        401
    );
    let mut forged = body.clone();
    let text = String::from_utf8(forged.clone()).expect("utf-8");
    forged = text.replace("Dana Scully", "Mallory").into_bytes();
    assert_eq!(post(Some(sign(PD_SECRET, &body)), forged).await, 401);
    // The captured request replayed as it was: accepted, and nothing new.
    assert_eq!(
        post(Some(delivered.signature.clone()), body.clone()).await,
        200
    );
    app.settle().await;
    assert_eq!(said(&app, &channel.id).len(), before, "nothing was said");
    let metrics = app.metrics().await;
    assert_eq!(
        metric(
            &metrics,
            "incident_commander_webhooks_received_total",
            &[("source", "pagerduty"), ("result", "unauthorized")]
        ),
        Some(3.0)
    );
}

#[tokio::test]
async fn resolving_the_incident_resolves_its_pages_and_says_nothing_more_of_them() {
    let (app, pd) = app_with_pagerduty(&[]).await;
    let channel = app.declared(ALICE, "sev2 Checkout is slow").await;
    app.command_in(ALICE, &channel.id, "page checkout").await;
    app.command_in(ALICE, &channel.id, "page search").await;
    app.settle().await;
    assert_eq!(pd.incidents().iter().filter(|i| i.is_open()).count(), 2);

    app.command_in(ALICE, &channel.id, "resolve Rolled back")
        .await;
    app.settle().await;
    pd.settle().await;
    app.settle().await;

    let resolves: Vec<_> = pd
        .events()
        .into_iter()
        .filter(|e| e.action == "resolve")
        .map(|e| e.dedup_key)
        .collect();
    assert_eq!(resolves.len(), 2, "{resolves:?}");
    assert!(
        pd.incidents().iter().all(|i| !i.is_open()),
        "both pages resolved"
    );
    let card = card(&app, &channel.id);
    assert!(
        card.contains("checkout: :white_check_mark: resolved"),
        "{card}"
    );
    assert!(
        card.contains("search: :white_check_mark: resolved"),
        "{card}"
    );
    assert!(
        !said(&app, &channel.id)
            .iter()
            .any(|p| p.contains("Paged *checkout*: resolved")),
        "our own resolve is not news"
    );
}

#[tokio::test]
async fn pagerduty_busy_or_losing_answers_still_pages_once_and_a_refusal_is_reported() {
    let (app, pd) = app_with_pagerduty(&[]).await;
    let channel = app.declared(ALICE, "sev3 Search is flaky").await;

    // Rate limited, then a 500, then the event applied but its answer lost: one page.
    pd.rate_limit(1);
    pd.fail(500, 1);
    pd.fail_after_applying(1);
    app.command_in(ALICE, &channel.id, "page search").await;
    app.settle().await;
    assert_eq!(pd.incidents().len(), 1, "one page: {:?}", pd.incidents());
    assert_eq!(
        pd.incidents()[0].severity,
        "warning",
        "SEV3 pages as a warning"
    );
    let statuses: Vec<Option<u16>> = pd.requests().iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == Some(202)).count(),
        1,
        "{statuses:?}"
    );

    // PagerDuty refuses the event for good: reported in the channel, not retried.
    pd.fail(400, 1);
    app.command_in(ALICE, &channel.id, "page checkout").await;
    app.settle().await;
    let posts = said(&app, &channel.id);
    assert!(
        posts
            .iter()
            .any(|p| p.contains("Paging checkout through PagerDuty") && p.contains("HTTP 400")),
        "{posts:?}"
    );
}

#[tokio::test]
async fn a_page_that_cannot_be_sent_is_refused_with_what_can_and_nothing_is_sent() {
    let (app, pd) = app_with_pagerduty(&[]).await;
    let channel = app.declared(ALICE, "sev2 Checkout is slow").await;

    let unknown = app.command_in(ALICE, &channel.id, "page billing").await;
    assert_eq!(
        unknown,
        "There is no PagerDuty service `billing`. Page one of `checkout`, `search`, e.g. \
         `/inc page checkout <message>`. Nobody was paged."
    );
    let missing = app.command_in(ALICE, &channel.id, "page").await;
    assert!(missing.starts_with("Give a service to page."), "{missing}");
    let elsewhere = app.command(ALICE, "page checkout").await;
    assert!(
        elsewhere.contains("works only in an incident's channel"),
        "{elsewhere}"
    );
    app.command_in(ALICE, &channel.id, "resolve").await;
    let closed = app.command_in(ALICE, &channel.id, "page checkout").await;
    assert!(
        closed.contains("is resolved, so you cannot page"),
        "{closed}"
    );
    app.settle().await;
    assert!(pd.requests().is_empty(), "{:?}", pd.requests());

    let plain = spawn_app().await;
    let channel = plain.declared(ALICE, "sev2 Checkout is slow").await;
    let off = plain.command_in(ALICE, &channel.id, "page checkout").await;
    assert_eq!(
        off,
        "PagerDuty is not configured: set `PAGERDUTY_SERVICES` (docs/integrations.md). Nobody was paged."
    );
}

#[tokio::test]
async fn the_declare_form_pages_the_services_ticked() {
    let (app, pd) = app_with_pagerduty(&[]).await;
    app.command(ALICE, "declare Checkout is down").await;
    let view = open_view(&app, ALICE).await;
    let ack = submit(
        &app,
        ALICE,
        &view,
        &[
            (
                "severity",
                slack_simulator::ViewInput::Option("sev1".into()),
            ),
            (
                "page",
                slack_simulator::ViewInput::Checked(vec!["checkout".into()]),
            ),
        ],
    )
    .await;
    assert!(ack.is_none(), "{ack:?}");
    app.settle().await;
    let channel = app.only_incident_channel("inc-1-checkout-is-down");
    assert_eq!(pd.incidents().len(), 1);
    assert_eq!(pd.incidents()[0].service, "checkout");
    assert!(
        said(&app, &channel.id)
            .iter()
            .any(|p| p.contains("<@U0ALICE> paged the on-call of *checkout*")),
        "{:?}",
        said(&app, &channel.id)
    );
}

#[tokio::test]
async fn a_page_still_retrying_when_the_incident_is_resolved_leaves_nobody_paged() {
    let (app, pd) = app_with_pagerduty(&[]).await;
    let channel = app.declared(ALICE, "sev2 Checkout is slow").await;
    pd.fail(503, 2);
    app.command_in(ALICE, &channel.id, "page checkout").await;
    app.command_in(ALICE, &channel.id, "resolve False alarm")
        .await;
    app.settle().await;
    pd.settle().await;
    assert!(
        pd.incidents().iter().all(|i| !i.is_open()),
        "nobody is left paged: {:?}",
        pd.incidents()
    );
}

#[tokio::test]
async fn an_acknowledgement_faster_than_the_bots_own_record_of_the_page_is_heard_once() {
    let (app, pd) = app_with_pagerduty(&[]).await;
    let channel = app.declared(ALICE, "sev1 Checkout is down").await;
    // Dana acknowledges the moment PagerDuty opens the page: its webhook may reach the bot
    // before the page step recorded PagerDuty's answer (then it is answered 503 and PagerDuty
    // delivers it again).
    pd.auto_acknowledge(std::time::Duration::ZERO, "Dana Scully");
    app.command_in(ALICE, &channel.id, "page checkout").await;
    let acknowledged = |app: &TestApp| {
        said(app, &channel.id)
            .into_iter()
            .filter(|p| p.contains("Paged *checkout*: acknowledged by Dana Scully"))
            .count()
    };
    let deadline = tokio::time::Instant::now() + WAIT;
    while acknowledged(&app) == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never heard: {:?}",
            pd.deliveries()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    pd.settle().await;
    app.settle().await;
    assert_eq!(acknowledged(&app), 1);
    assert!(
        card(&app, &channel.id).contains("acknowledged by Dana Scully"),
        "{}",
        card(&app, &channel.id)
    );
}
