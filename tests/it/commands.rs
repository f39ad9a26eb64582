//! The `/inc` command surface outside declaring: help, list, and what bad input gets — an
//! ephemeral explanation with the correct form, and no change at all.

use crate::helpers::*;

/// Web API calls that change something in Slack.
fn writes(app: &TestApp) -> Vec<String> {
    app.writes_since(0)
}

#[tokio::test]
async fn help_lists_every_subcommand_with_an_example() {
    let app = spawn_app().await;
    for text in ["", "help", "  HELP  "] {
        let reply = app.command(ALICE, text).await;
        assert!(
            reply.contains("`/inc declare [drill] &lt;sev&gt; [triage] &lt;title&gt;`"),
            "{reply}"
        );
        assert!(
            reply.contains("`/inc declare sev1 Checkout is down`"),
            "{reply}"
        );
        assert!(reply.contains("`/inc list`"), "{reply}");
        assert!(reply.contains("`/inc help`"), "{reply}");
    }
}

#[tokio::test]
async fn an_unknown_subcommand_is_answered_with_a_pointer_to_help_and_changes_nothing() {
    let app = spawn_app().await;
    let reply = app.command(ALICE, "frobnicate now").await;
    assert_eq!(
        reply,
        "`frobnicate` is not an `/inc` command. Type `/inc help` for the list of commands."
    );
    assert!(writes(&app).is_empty(), "{:?}", writes(&app));
    assert!(app.store.open_incidents().await.expect("open").is_empty());
}

#[tokio::test]
async fn malformed_declarations_explain_the_correct_form_and_change_nothing() {
    let app = spawn_app().await;
    let jobs = app.store.job_counts().await.expect("jobs");
    let form = "Use `/inc declare [drill] &lt;sev&gt; [triage] &lt;title&gt;`, for example `/inc declare sev1 Checkout is down`.";
    let cases = [
        (
            "declare sev7 Checkout is down",
            "`sev7` is not a severity: use sev1, sev2, sev3 (or `p1`, `1`, …).",
        ),
        ("declare sev1", "Give the incident a title."),
        ("declare sev1 triage", "Give the incident a title."),
        (
            "declare sev1 \u{202E}\u{202E}\u{202E}\u{202E}\u{202E}",
            "That title has no visible characters.",
        ),
    ];
    for (text, expected) in cases {
        let reply = app.command(ALICE, text).await;
        assert_eq!(reply, format!("{expected} {form}"), "/inc {text}");
    }
    let long = format!("declare sev1 {}", "x".repeat(151));
    let reply = app.command(ALICE, &long).await;
    assert!(
        reply.starts_with("That title is 151 characters; keep it to 150"),
        "{reply}"
    );
    assert!(writes(&app).is_empty(), "{:?}", writes(&app));
    assert!(app.store.open_incidents().await.expect("open").is_empty());
    assert_eq!(app.store.job_counts().await.expect("jobs"), jobs);
}

#[tokio::test]
async fn list_shows_open_incidents_most_severe_first_with_their_channels() {
    let app = spawn_app().await;
    assert_eq!(
        app.command(BOB, "list").await,
        "No open incidents. :white_check_mark:"
    );
    app.command(ALICE, "declare sev3 Docs site slow").await;
    app.command(BOB, "declare sev1 Checkout is down").await;
    app.settle().await;

    let reply = app.command(BOB, "list").await;
    let checkout = app.channel_named("inc-2-checkout-is-down");
    let docs = app.channel_named("inc-1-docs-site-slow");
    assert_eq!(
        reply,
        format!(
            "*Open incidents* (2)\n\
             • *INC-2* · SEV1 · investigating — Checkout is down · <#{}> · coordinator <@U0BOB>\n\
             • *INC-1* · SEV3 · investigating — Docs site slow · <#{}> · coordinator <@U0ALICE>",
            checkout.id, docs.id
        )
    );
    let reply = app.command(ALICE, "list please").await;
    assert_eq!(reply, "`please` was not expected there. Use `/inc list`.");
}

#[tokio::test]
async fn commands_keep_working_after_slack_refreshes_the_connection() {
    let app = spawn_app().await;
    app.sim.disconnect_all("refresh_requested");
    let reply = app.command(ALICE, "list").await;
    assert_eq!(reply, "No open incidents. :white_check_mark:");
    assert!(
        app.sim
            .wait_until(WAIT, |s| s.calls_to("apps.connections.open").len() >= 2)
            .await,
        "the bot reconnected"
    );
}
