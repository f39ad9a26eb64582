//! `incident-commander demo` plays a scripted incident against the simulator and prints it.

#[tokio::test]
async fn the_demo_transcript_shows_an_incident_run_from_declaration_to_resolution() {
    let mut out = Vec::new();
    incident_commander::demo::run(&mut out)
        .await
        .expect("the demo runs");
    let transcript = String::from_utf8(out).expect("utf-8");
    for expected in [
        "/inc declare sev2 Checkout is slow",
        "Declared *INC-1* · SEV2 · investigating — Checkout is slow",
        "#inc-1-checkout-is-slow",
        "[SEV2 · investigating] Checkout is slow",
        "INC-1 declared",
        "@bob is now the *operator*",
        ":memo: *Update* on *INC-1* · now *fixing*",
        "Rolled back deploy 4711; error rate falling",
        "[SEV2 · fixing] Checkout is slow",
        "changed the severity from SEV2 to *SEV1*",
        "@carol took over as *coordinator* from @alice",
        "Noted on the timeline.",
        "Follow-up recorded",
        "*INC-1 is resolved* — @carol closed it",
        "[SEV1 · resolved] Checkout is slow",
        "No open incidents.",
    ] {
        assert!(
            transcript.contains(expected),
            "transcript lacks {expected:?}:\n{transcript}"
        );
    }
    assert!(!transcript.contains("xoxb-"), "no token in the transcript");
}
