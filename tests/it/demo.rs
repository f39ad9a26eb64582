//! `incident-commander demo` plays a scripted incident against the simulator and prints it.

#[tokio::test]
async fn the_demo_transcript_shows_a_declared_incident() {
    let mut out = Vec::new();
    incident_commander::demo::run(&mut out)
        .await
        .expect("the demo runs");
    let transcript = String::from_utf8(out).expect("utf-8");
    for expected in [
        "/inc declare sev1 Checkout is down",
        "Declared *INC-1* · SEV1 · investigating — Checkout is down",
        "#inc-1-checkout-is-down",
        "[SEV1 · investigating] Checkout is down",
        "INC-1 declared",
        "*Open incidents* (1)",
    ] {
        assert!(
            transcript.contains(expected),
            "transcript lacks {expected:?}:\n{transcript}"
        );
    }
    assert!(!transcript.contains("xoxb-"), "no token in the transcript");
}
