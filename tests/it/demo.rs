//! `incident-commander demo` plays a scripted incident against the simulator and prints it,
//! ending with its follow-up's ticket closed in GitHub, its channel archived and the postmortem
//! draft it wrote.

#[tokio::test]
async fn the_demo_declares_from_an_alert_runs_it_to_resolution_declares_from_the_form_and_is_reminded_then_writes_the_postmortem_closes_the_ticket_and_archives()
 {
    let mut out = Vec::new();
    incident_commander::demo::run(&mut out)
        .await
        .expect("the demo runs");
    let transcript = String::from_utf8(out).expect("utf-8");
    for expected in [
        "Alertmanager (app) in #alerts: [FIRING:1] HighErrorRate checkout (prod)",
        "@alice used the shortcut \"declare_incident\" on a message in #alerts",
        "bot opened the modal \"Declare incident\" for @alice",
        "    Title: [FIRING:1] HighErrorRate checkout (prod)",
        "@alice submitted the modal \"Declare incident\"",
        "bot created public channel #inc-1-firing-1-higherrorrate-checkout-prod",
        "bot in #alerts ↳ in thread: :rotating_light: Declared as *INC-1*",
        ":inbox_tray: Declared from a message by Alertmanager (bot) in #alerts:",
        "*INC-1 declared* · SEV2 · investigating",
        "@bob is now the *operator*",
        ":memo: *Update* on *INC-1* · now *fixing*",
        "Rolled back deploy 4711; error rate falling",
        "[SEV2 · fixing] [FIRING:1] HighErrorRate checkout (prod) error rate 12% > 5% for 10m",
        "changed the severity from SEV2 to *SEV1*",
        ":rotating_light: @alice paged the on-call of *checkout* through PagerDuty.",
        "— Dana Scully acknowledges the page of checkout in PagerDuty —",
        ":eyes: Paged *checkout*: acknowledged by Dana Scully after ",
        "bot opened the modal \"Status page\" for @carol",
        ":loudspeaker: @carol published “[FIRING:1] HighErrorRate checkout (prod)” on the status page as *identified*.",
        ":loudspeaker: *INC-1* is resolved here; the status page still shows it.",
        "PagerDuty: checkout — INC-1: [FIRING:1] HighErrorRate checkout (prod) — Checkout errors at 12%, deploy 4711 rolled back (critical, high urgency), acknowledged by Dana Scully, now resolved",
        "Status page: “[FIRING:1] HighErrorRate checkout (prod)” — identified",
        "@carol took over as *coordinator* from @alice",
        "Noted on the timeline.",
        "Follow-up recorded",
        "*INC-1 is resolved* — @carol closed it",
        "[SEV1 · resolved] [FIRING:1] HighErrorRate",
        "@bob in #general: /inc declare Search results are stale",
        "bot opened the modal \"Declare incident\" for @bob",
        "bot created public channel #inc-2-search-results-are-stale",
        "[SEV3 · investigating] Index lags 20 minutes behind the catalogue",
        "@bob set update reminders for *INC-2* to every 10 min",
        "— 10 minutes later —",
        ":alarm_clock: @bob — no update on *INC-2* — Search results are stale for 10 min.",
        "owed one.\n    Post update\n    Snooze 30m\n@bob clicked \"Snooze 30m\"",
        ":zzz: @bob snoozed the update reminder for INC-2 by 30 minutes.",
        "— 30 minutes later —",
        "Search results are stale for 40 min.",
        "Reindex at 60%; results 5 minutes behind",
        "Search results are stale for 10 min.",
        "*Open incidents* (1)",
        "@carol clicked \"Write postmortem\"",
        "bot uploaded INC-1-postmortem.md",
        "──────── INC-1-postmortem.md (the file posted above) ────────\n\n# INC-1: \\[FIRING:1\\] HighErrorRate checkout (prod)\n",
        "| Final status | resolved |",
        "  - carol: ",
        "· pinned by bob at ",
        "  Deploy 4711 doubled the DB connections per pod; the pool is exhausted",
        ":ticket: Follow-up filed as GitHub #1: Alert when checkout errors pass 2%",
        "— dana closes issue #1 in GitHub —",
        ":white_check_mark: Follow-up #1 closed by dana: Alert when checkout errors pass 2%",
        "1. :white_check_mark: Alert when checkout errors pass 2% — @carol · #1 closed by dana",
        ":white_check_mark: The postmortem of *INC-1* is done: https://wiki.example.com/postmortems/inc-1",
        "— 13 days later —",
        ":file_cabinet: This channel will be archived",
        "— 1 day later —",
        ":file_cabinet: Archiving this channel: *INC-1* is resolved",
        "bot archived #inc-1-firing-1-higherrorrate-checkout-prod",
        "GitHub: acme/ops#1 “Alert when checkout errors pass 2%” [incident, INC-1] — closed",
        "## Follow-ups\n\n- [x] Alert when checkout errors pass 2% (raised by carol) — [\\#1](https://github.com/acme/ops/issues/1)",
    ] {
        assert!(
            transcript.contains(expected),
            "transcript lacks {expected:?}:\n{transcript}"
        );
    }
    assert!(!transcript.contains("xoxb-"), "no token in the transcript");
}
