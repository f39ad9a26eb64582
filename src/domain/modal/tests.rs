//! The modals as described, and every way a submission is read or refused.

use super::*;
use crate::domain::incident::tests::sample;

fn values(fields: &[(&str, Field)]) -> Values {
    fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn text(s: &str) -> Field {
    Field::Text(Some(s.into()))
}

fn alert() -> SourceMessage {
    SourceMessage {
        channel: "C0ALERTS".into(),
        ts: "1700000000.000100".into(),
        author: None,
        author_label: Some("Alertmanager".into()),
        text: "[FIRING:1] HighErrorRate checkout\nerror rate 12% > 5%".into(),
        headline: Some("[FIRING:1] HighErrorRate checkout".into()),
        permalink: Some("https://example.slack.com/archives/C0ALERTS/p1700000000000100".into()),
    }
}

fn field<'m>(modal: &'m Modal, block: &str) -> &'m Input {
    modal
        .blocks
        .iter()
        .find_map(|b| match b {
            ModalBlock::Input(i) if i.block_id == block => Some(i),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no field {block}"))
}

#[test]
fn the_declare_modal_asks_for_every_field_and_proposes_the_declarer_as_coordinator() {
    let modal = declare_modal(
        &DeclarePrefill::from_command("U0ALICE", Some("Checkout down".into()), false),
        3,
    );
    assert_eq!(
        (modal.callback_id, modal.title, modal.submit),
        (DECLARE, "Declare incident", "Declare")
    );
    let blocks: Vec<&str> = modal
        .blocks
        .iter()
        .filter_map(|b| match b {
            ModalBlock::Input(i) => Some(i.block_id),
            _ => None,
        })
        .collect();
    assert_eq!(
        blocks,
        [
            "title",
            "severity",
            "triage",
            "summary",
            "impact",
            "impact_started",
            "coordinator",
            "operator",
            "private",
            "drill"
        ]
    );
    assert!(!field(&modal, "title").optional && !field(&modal, "severity").optional);
    assert_eq!(
        field(&modal, "title").element,
        Element::Text {
            multiline: false,
            max_length: 150,
            initial: Some("Checkout down".into())
        }
    );
    let Element::Select { options, initial } = &field(&modal, "severity").element else {
        panic!("select")
    };
    assert_eq!(
        options[0],
        (
            "SEV1 — critical: customers' production impaired".into(),
            "sev1".into()
        )
    );
    assert_eq!((options.len(), initial), (3, &None));
    assert_eq!(
        field(&modal, "coordinator").element,
        Element::User {
            initial: Some("U0ALICE".into())
        }
    );
    assert_eq!(
        field(&modal, "operator").element,
        Element::User { initial: None }
    );
    assert_eq!(modal.private_metadata, "{}");
}

#[test]
fn with_a_coordinator_group_the_declarer_is_proposed_as_operator() {
    let modal = declare_modal(&DeclarePrefill::from_command("U0ALICE", None, true), 3);
    assert_eq!(
        field(&modal, "coordinator").element,
        Element::User { initial: None }
    );
    assert_eq!(
        field(&modal, "operator").element,
        Element::User {
            initial: Some("U0ALICE".into())
        }
    );
}

#[test]
fn the_shortcut_prefills_title_summary_and_the_source_and_keeps_the_source_for_the_submission() {
    let modal = declare_modal(&DeclarePrefill::from_message("U0BOB", alert(), false), 3);
    assert_eq!(
        modal.blocks[0],
        ModalBlock::Context(
            "From a message by Alertmanager (bot) in <#C0ALERTS>: https://example.slack.com/archives/C0ALERTS/p1700000000000100".into()
        )
    );
    assert!(matches!(&field(&modal, "title").element,
        Element::Text { initial: Some(t), .. } if t == "[FIRING:1] HighErrorRate checkout"));
    assert!(matches!(&field(&modal, "summary").element,
        Element::Text { initial: Some(t), .. } if t == "[FIRING:1] HighErrorRate checkout\nerror rate 12% > 5%"));
    let submitted = values(&[
        ("title", text("Checkout errors")),
        ("severity", Field::Choice(Some("sev2".into()))),
    ]);
    let form = DeclareForm::parse(&submitted, &modal.private_metadata, 3).expect("valid");
    assert_eq!(form.source, Some(alert()));
}

#[test]
fn a_huge_source_is_cut_to_fit_slacks_metadata_limit() {
    let mut source = alert();
    source.text = "é".repeat(10_000);
    let modal = declare_modal(&DeclarePrefill::from_message("U0BOB", source, false), 3);
    assert!(
        modal.private_metadata.len() <= 3_000,
        "{}",
        modal.private_metadata.len()
    );
    let context: DeclareContext = serde_json::from_str(&modal.private_metadata).expect("json");
    assert_eq!(context.source.expect("source").ts, "1700000000.000100");
}

#[test]
fn a_declare_submission_is_read_into_a_form() {
    let submitted = values(&[
        ("title", text("  Checkout   is down ")),
        ("severity", Field::Choice(Some("sev1".into()))),
        ("triage", Field::Checked(vec!["triage".into()])),
        ("summary", text("EU cards fail")),
        ("impact", Field::Text(None)),
        ("coordinator", Field::User(Some("U0BOB".into()))),
        ("operator", Field::User(None)),
        ("private", Field::Checked(vec!["private".into()])),
    ]);
    let form = DeclareForm::parse(&submitted, "{}", 3).expect("valid");
    assert_eq!(
        form,
        DeclareForm {
            title: "Checkout is down".into(),
            severity: Severity::parse("1", 3).expect("sev"),
            triage: true,
            summary: Some("EU cards fail".into()),
            impact: None,
            impact_started: None,
            coordinator: Some("U0BOB".into()),
            operator: None,
            private: true,
            source: None,
            response_url: None,
            page: Vec::new(),
            services: Vec::new(),
            drill: false,
        }
    );
}

#[test]
fn a_declare_form_declares_with_the_roles_it_names() {
    let now = DateTime::from_timestamp(1_795_372_298, 0).expect("time");
    let form = DeclareForm {
        title: "Checkout is down".into(),
        severity: Severity::parse("2", 3).expect("sev"),
        triage: true,
        summary: Some("EU cards fail".into()),
        impact: Some("EU customers".into()),
        impact_started: None,
        coordinator: None,
        operator: Some("U0BOB".into()),
        private: true,
        page: Vec::new(),
        services: Vec::new(),
        drill: false,
        source: None,
        response_url: Some("https://hooks.slack.com/x".into()),
    };
    let incident = form.clone().incident("U0ALICE", now, chrono_tz::Tz::UTC);
    assert_eq!(incident.status, Status::Triage);
    assert_eq!(incident.roles, vec![(Role::Operator, "U0BOB".to_string())]);
    assert_eq!(
        (incident.declared_by.as_str(), incident.declared_at),
        ("U0ALICE", now)
    );
    assert!(incident.private);
    assert_eq!(incident.impact.as_deref(), Some("EU customers"));
    let confirmed = DeclareForm {
        triage: false,
        coordinator: Some("U0ALICE".into()),
        ..form
    };
    let incident = confirmed.incident("U0ALICE", now, chrono_tz::Tz::UTC);
    assert_eq!(incident.status, Status::Investigating);
    assert_eq!(
        incident.roles,
        vec![
            (Role::Coordinator, "U0ALICE".to_string()),
            (Role::Operator, "U0BOB".to_string())
        ]
    );
}

#[test]
fn a_bad_declare_submission_gets_an_error_on_each_field_at_fault() {
    let cases: Vec<(Values, FieldErrors)> = vec![
        (
            values(&[]),
            vec![
                ("title", "Give the incident a title.".into()),
                ("severity", "Choose a severity.".into()),
            ],
        ),
        (
            values(&[
                ("title", text("\u{202E}\u{202E}\u{202E}\u{202E}\u{202E}")),
                ("severity", Field::Choice(Some("sev2".into()))),
            ]),
            vec![("title", "That title has no visible characters.".into())],
        ),
        (
            values(&[
                ("title", text(&"x".repeat(151))),
                ("severity", Field::Choice(Some("sev9".into()))),
                ("summary", text(&"s".repeat(501))),
            ]),
            vec![
                (
                    "title",
                    "Keep the title to 150 characters; this one has 151.".into(),
                ),
                ("severity", "Choose a severity.".into()),
                ("summary", "Keep it to 500 characters; this has 501.".into()),
            ],
        ),
    ];
    for (submitted, expected) in cases {
        assert_eq!(DeclareForm::parse(&submitted, "{}", 3), Err(expected));
    }
}

#[test]
fn the_update_modal_offers_the_statuses_it_may_move_to() {
    let mut inc = sample(3);
    inc.status = Status::Fixing;
    inc.summary = Some("EU cards".into());
    let modal = update_modal(&inc);
    assert_eq!((modal.callback_id, modal.title), (UPDATE, "Post an update"));
    let Element::Select { options, initial } = &field(&modal, "status").element else {
        panic!("select")
    };
    let offered: Vec<&str> = options.iter().map(|(_, v)| v.as_str()).collect();
    assert_eq!(
        offered,
        ["investigating", "fixing", "monitoring"],
        "not back to triage"
    );
    assert_eq!(initial.as_deref(), Some("fixing"));
    assert!(matches!(&field(&modal, "summary").element,
        Element::Text { initial: Some(s), .. } if s == "EU cards"));
    assert_eq!(modal.private_metadata, r#"{"incident":3}"#);
}

#[test]
fn an_update_submission_is_read_or_refused_field_by_field() {
    let ok = values(&[
        ("status", Field::Choice(Some("monitoring".into()))),
        ("summary", Field::Text(None)),
        ("text", text(" Rolled back \n")),
    ]);
    assert_eq!(
        UpdateForm::parse(&ok, r#"{"incident":3}"#),
        Ok(UpdateForm {
            incident: 3,
            status: Some(Status::Monitoring),
            summary: None,
            text: "Rolled back".into()
        })
    );
    let empty = values(&[("status", Field::Choice(Some("fixing".into())))]);
    assert_eq!(
        UpdateForm::parse(&empty, r#"{"incident":3}"#),
        Err(vec![("text", "Write the update.".into())])
    );
    assert!(UpdateForm::parse(&ok, "garbage").is_err());
}
