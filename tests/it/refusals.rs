//! Bad input in an incident channel: each gets a specific ephemeral reply — what was wrong and
//! the correct form, or why the change is not allowed and who may — and changes nothing: no
//! Slack write, no timeline entry, no job, the incident as it was.

use crate::helpers::*;

/// `user` types each `/inc` command in the incident channel and sees exactly the reply.
const CASES: &[(&str, &str, &str)] = &[
    // The grammar.
    (
        ALICE,
        "role boss me",
        "`boss` is not a role: use coordinator, operator or comms. Use `/inc role &lt;coordinator|operator|comms&gt; &lt;@user|me&gt;`, for example `/inc role operator @bob`.",
    ),
    (
        ALICE,
        "operator bob",
        "`bob` is not a person Slack linked: type @ and pick them from the list, or write `me`. Use `/inc operator &lt;@user|me&gt;`, for example `/inc operator @bob`.",
    ),
    (
        ALICE,
        "coordinator <!here>",
        "`@here` would notify everyone in the channel; name one person instead. Use `/inc coordinator &lt;@user|me&gt;`, for example `/inc coordinator me`.",
    ),
    (
        ALICE,
        "operator <!subteam^S0DBA|@dba>",
        "`@dba` is a group; a role is held by one person, so name one. Use `/inc operator &lt;@user|me&gt;`, for example `/inc operator @bob`.",
    ),
    (
        ALICE,
        "escalate <!channel> everyone look",
        "`@channel` would notify everyone in the channel; name one person instead. Use `/inc escalate &lt;@user|@group&gt; [message]`, for example `/inc escalate @dba-oncall Primary is not failing over`.",
    ),
    (
        ALICE,
        "escalate bob",
        "`bob` is neither a person nor a user group Slack linked: type @ and pick from the list. Use `/inc escalate &lt;@user|@group&gt; [message]`, for example `/inc escalate @dba-oncall Primary is not failing over`.",
    ),
    (
        ALICE,
        "sev 7",
        "`7` is not a severity: use sev1, sev2, sev3 (or `p1`, `1`, …). Use `/inc severity &lt;sev&gt;`, for example `/inc sev 1`.",
    ),
    (
        ALICE,
        "note",
        "The note is empty. Use `/inc note &lt;text&gt;`, for example `/inc note Restarted the canary at 14:02`.",
    ),
    (
        ALICE,
        "summary   ",
        "The summary is empty. Use `/inc summary &lt;text&gt;`, for example `/inc summary Payments fail for cards issued in the EU`.",
    ),
    (
        ALICE,
        "update fixing",
        "The update is empty. Use `/inc update [&lt;status&gt;] &lt;text&gt;`, for example `/inc update fixing Rolled back the deploy; error rate falling`.",
    ),
    (
        ALICE,
        "update \u{200B}\u{200B}",
        "That update has no visible characters. Use `/inc update [&lt;status&gt;] &lt;text&gt;`, for example `/inc update fixing Rolled back the deploy; error rate falling`.",
    ),
    (
        ALICE,
        "update resolved All good",
        "An update cannot make the incident `resolved`; use `/inc resolve [text]`.",
    ),
    (
        ALICE,
        "status now",
        "`now` was not expected there. Use `/inc status`.",
    ),
    // The rules.
    (
        ALICE,
        "decline False alarm",
        "*INC-1* is `investigating` and cannot become `declined`: only an incident still in `triage` can be declined.",
    ),
    (
        ALICE,
        "update triage Back to square one",
        "*INC-1* is `investigating` and cannot become `triage`: `triage` is only where an incident starts.",
    ),
    (
        ALICE,
        "reopen",
        "*INC-1* is open (`investigating`); only a resolved or declined incident can be reopened.",
    ),
    (
        BOB,
        "resolve Looks fine to me",
        "Only the coordinator (<@U0ALICE>) or an admin may resolve *INC-1*.",
    ),
    (
        ALICE,
        "coordinator me",
        "<@U0ALICE> is already the coordinator.",
    ),
    (ALICE, "sev 2", "*INC-1* is already SEV2."),
    (BOB, "comms nobody", "Nobody is the comms."),
    (
        BOB,
        "postmortem now",
        "`now` was not expected there. Use `/inc postmortem [owner &lt;@user|me&gt;] [due &lt;days&gt;d] [done &lt;link&gt;]`, for example `/inc postmortem owner @carol due 5d`.",
    ),
    (
        BOB,
        "postmortem due 0d",
        "`0d` is not a number of working days: use `1d` to `60d`, such as `5d`. Use `/inc postmortem [owner &lt;@user|me&gt;] [due &lt;days&gt;d] [done &lt;link&gt;]`, for example `/inc postmortem owner @carol due 5d`.",
    ),
    (
        BOB,
        "postmortem done soon",
        "`soon` is not a link: paste the postmortem's http(s) address. Use `/inc postmortem [owner &lt;@user|me&gt;] [due &lt;days&gt;d] [done &lt;link&gt;]`, for example `/inc postmortem owner @carol due 5d`.",
    ),
    (
        ALICE,
        "postmortem done https://wiki.example.com/pm",
        "*INC-1* is investigating: its postmortem is done once it is resolved.",
    ),
    (
        ALICE,
        "archive",
        "*INC-1* is investigating: only a resolved incident's channel is archived.",
    ),
];

#[tokio::test]
async fn every_bad_command_in_an_incident_channel_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let channel = app.declared(ALICE, "sev2 Checkout is slow").await;
    let before = app.incident_in(&channel).await;
    let entries = app.store.timeline(before.id).await.expect("timeline").len();
    let jobs = app.store.job_counts().await.expect("jobs");
    let mark = app.mark();

    let too_long = format!("note {}", "x".repeat(2_501));
    let mut cases: Vec<(&str, String, String)> = CASES
        .iter()
        .map(|(u, t, r)| (*u, t.to_string(), r.to_string()))
        .collect();
    cases.push((
        ALICE,
        too_long,
        "That note is 2501 characters; keep it to 2500. Use `/inc note &lt;text&gt;`, for example `/inc note Restarted the canary at 14:02`.".into(),
    ));
    for (user, text, expected) in &cases {
        let reply = app.command_in(user, &channel.id, text).await;
        assert_eq!(&reply, expected, "/inc {text}");
    }

    app.settle().await;
    assert!(
        app.writes_since(mark).is_empty(),
        "{:?}",
        app.writes_since(mark)
    );
    assert_eq!(app.incident_in(&channel).await, before);
    assert_eq!(
        app.store.timeline(before.id).await.expect("timeline").len(),
        entries
    );
    assert_eq!(app.store.job_counts().await.expect("jobs"), jobs);
}

#[tokio::test]
async fn a_closed_incident_takes_no_updates_or_escalations_until_reopened() {
    let app = spawn_app().await;
    let channel = app.declared(ALICE, "sev2 Checkout is slow").await;
    app.command_in(ALICE, &channel.id, "resolve").await;
    app.settle().await;
    let mark = app.mark();
    assert_eq!(
        app.command_in(ALICE, &channel.id, "update Still fine")
            .await,
        "*INC-1* is resolved, so you cannot post updates. `/inc reopen` it first."
    );
    assert_eq!(
        app.command_in(ALICE, &channel.id, "escalate <@U0BOB>")
            .await,
        "*INC-1* is resolved, so you cannot escalate. `/inc reopen` it first."
    );
    assert_eq!(
        app.command_in(ALICE, &channel.id, "resolve again").await,
        "*INC-1* is `resolved` and cannot become `resolved`: `/inc reopen` it first."
    );
    app.settle().await;
    assert!(app.writes_since(mark).is_empty());
}

#[tokio::test]
async fn an_in_channel_command_used_elsewhere_says_which_channel_to_use() {
    let app = spawn_app().await;
    assert_eq!(
        app.command(ALICE, "update All good").await,
        "`/inc update` works only in an incident's channel. There is no open incident; declare one with `/inc declare`."
    );
    let checkout = app.declared(BOB, "sev2 Checkout is slow").await;
    let search = app.declared(ALICE, "sev3 Search is slow").await;
    let mark = app.mark();
    assert_eq!(
        app.command(ALICE, "resolve").await,
        format!(
            "`/inc resolve` works only in an incident's channel. Use it in <#{}> (INC-2), <#{}> (INC-1).",
            search.id, checkout.id
        ),
        "the incidents alice is in come first"
    );
    assert_eq!(
        app.command(ALICE, "status").await,
        format!(
            "`/inc status` works only in an incident's channel. Use it in <#{}> (INC-2), <#{}> (INC-1).",
            search.id, checkout.id
        )
    );
    app.settle().await;
    assert!(app.writes_since(mark).is_empty());
}
