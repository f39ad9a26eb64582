//! Each follow-up tracker's adapter (`outside::tracker`) against the simulator crate's fake of
//! that tracker: what is sent (the
//! auth header, the body's shape), how each failure is classified (401, 404, a refusal, a rate
//! limit, a 5xx: permanent or worth another try), a lost answer followed by the marker search,
//! and GitHub's pages.

use std::time::Duration;

use secrecy::SecretString;
use slack_simulator::github::FakeGitHub;
use slack_simulator::gitlab::FakeGitLab;
use slack_simulator::jira::FakeJira;
use slack_simulator::linear::FakeLinear;

use incident_commander::config::trackers::{Access, FollowUpTracker};
use incident_commander::outside::tracker::{NewTicket, Polled, TrackerApi};
use incident_commander::outside::{Client, OutsideError};

fn client() -> Client {
    slack_simulator::install_tls_provider();
    Client::new(Duration::from_secs(2)).expect("client")
}

fn tracker(access: Access) -> TrackerApi {
    let config = FollowUpTracker {
        access,
        webhook_secret: None,
        poll_every: Duration::from_secs(600),
        due: Duration::from_secs(86_400),
    };
    TrackerApi::new(client(), &config)
}

fn ticket(marker: &str) -> NewTicket {
    NewTicket {
        title: "Alert when checkout errors pass 2%".into(),
        body: "A follow-up of INC-3 “Checkout is down” (SEV1).\nIncident channel: https://slack.com/app_redirect?team=T0&channel=C0".into(),
        labels: vec!["incident".into(), "INC-3".into()],
        marker: marker.into(),
        incident_label: "INC-3".into(),
    }
}

fn permanent(e: &OutsideError) -> bool {
    matches!(e, OutsideError::Permanent { .. })
}

fn github(fake: &FakeGitHub, token: &str, repo: &str) -> TrackerApi {
    tracker(Access::Github {
        token: SecretString::from(token.to_string()),
        repo: repo.into(),
        api_url: fake.api_url().parse().expect("url"),
    })
}

#[tokio::test]
async fn github_files_an_issue_with_its_labels_and_hidden_marker_and_classifies_failures() {
    let fake = FakeGitHub::start("ghp_good", "acme/ops")
        .await
        .expect("fake");
    let api = github(&fake, "ghp_good", "acme/ops");
    let filed = api
        .file(&ticket("ic-T0-INC-3-1"), false)
        .await
        .expect("filed");
    assert_eq!(filed.name, "#1");
    assert_eq!(filed.reference, "1");
    let sent = fake.requests().pop().expect("a request");
    assert_eq!(sent.header("authorization"), Some("Bearer ghp_good"));
    assert_eq!(sent.header("x-github-api-version"), Some("2022-11-28"));
    let issue = fake.issue(1).expect("issue");
    assert_eq!(issue.labels, ["incident", "INC-3"]);
    assert!(
        issue
            .body
            .unwrap_or_default()
            .ends_with("<!-- ic-T0-INC-3-1 -->")
    );

    let wrong = github(&fake, "ghp_wrong", "acme/ops");
    let e = wrong.file(&ticket("m"), false).await.unwrap_err();
    assert!(
        permanent(&e) && e.to_string().contains("HTTP 401: Bad credentials"),
        "{e}"
    );
    let elsewhere = github(&fake, "ghp_good", "acme/elsewhere");
    let e = elsewhere.file(&ticket("m"), false).await.unwrap_err();
    assert!(permanent(&e) && e.to_string().contains("HTTP 404"), "{e}");
    fake.rate_limit(1);
    let e = api.file(&ticket("m"), false).await.unwrap_err();
    assert!(
        matches!(
            e,
            OutsideError::Transient {
                retry_after: Some(_),
                ..
            }
        ),
        "a spent rate limit (403) is waited out: {e}"
    );
    fake.fail(502, 1);
    let e = api.file(&ticket("m"), false).await.unwrap_err();
    assert!(matches!(e, OutsideError::Transient { .. }), "{e}");
    fake.fail(422, 1);
    let e = api.file(&ticket("m"), false).await.unwrap_err();
    assert!(permanent(&e), "{e}");
}

#[tokio::test]
async fn github_finds_a_lost_issue_by_its_marker_across_pages() {
    let fake = FakeGitHub::start("ghp_good", "acme/ops")
        .await
        .expect("fake");
    let api = github(&fake, "ghp_good", "acme/ops");
    fake.drop_after_applying(1);
    let e = api.file(&ticket("ic-lost"), false).await.unwrap_err();
    assert!(
        matches!(e, OutsideError::Transient { .. }),
        "a lost answer: {e}"
    );
    // 120 more of the incident's issues, newer than the lost one: it is on the second page.
    for n in 0..120 {
        api.file(&ticket(&format!("ic-other-{n}")), false)
            .await
            .expect("filed");
    }
    let adopted = api.file(&ticket("ic-lost"), true).await.expect("adopted");
    assert_eq!(adopted.name, "#1", "the issue the lost attempt filed");
    assert_eq!(fake.issues().len(), 121, "nothing filed twice");
    let pages = fake
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.contains("labels=INC-3"))
        .count();
    assert_eq!(pages, 2, "read page by page");
}

#[tokio::test]
async fn gitlab_files_with_its_private_token_finds_by_marker_and_classifies_failures() {
    let fake = FakeGitLab::start("glpat-good", "acme/ops")
        .await
        .expect("fake");
    let api = |token: &str, project: &str| {
        tracker(Access::Gitlab {
            token: SecretString::from(token.to_string()),
            project: project.into(),
            url: fake.url().parse().expect("url"),
        })
    };
    let good = api("glpat-good", "acme/ops");
    fake.drop_after_applying(1);
    assert!(good.file(&ticket("ic-gl-1"), false).await.is_err());
    let adopted = good.file(&ticket("ic-gl-1"), true).await.expect("adopted");
    assert_eq!((adopted.name.as_str(), fake.issues().len()), ("#1", 1));
    let sent = fake.requests().pop().expect("request");
    assert_eq!(sent.header("private-token"), Some("glpat-good"));
    let e = api("glpat-wrong", "acme/ops")
        .file(&ticket("m"), false)
        .await
        .unwrap_err();
    assert!(permanent(&e) && e.to_string().contains("HTTP 401"), "{e}");
    let e = api("glpat-good", "acme/nope")
        .file(&ticket("m"), false)
        .await
        .unwrap_err();
    assert!(
        permanent(&e) && e.to_string().contains("404 Project Not Found"),
        "{e}"
    );
    fake.rate_limit(1);
    let e = good.file(&ticket("m"), false).await.unwrap_err();
    assert!(
        matches!(
            e,
            OutsideError::Transient {
                retry_after: Some(_),
                ..
            }
        ),
        "{e}"
    );
    fake.fail(503, 1);
    assert!(matches!(
        good.file(&ticket("m"), false).await.unwrap_err(),
        OutsideError::Transient { .. }
    ));
}

#[tokio::test]
async fn jira_files_an_adf_issue_with_its_marker_label_and_classifies_failures() {
    let fake = FakeJira::start("bot@example.com", "jira-token", "OPS")
        .await
        .expect("fake");
    let api = |token: &str, project: &str| {
        tracker(Access::Jira {
            url: fake.url().parse().expect("url"),
            email: "bot@example.com".into(),
            token: SecretString::from(token.to_string()),
            project: project.into(),
            issue_type: "Task".into(),
        })
    };
    let good = api("jira-token", "OPS");
    fake.drop_after_applying(1);
    assert!(good.file(&ticket("ic-jira-1"), false).await.is_err());
    let adopted = good
        .file(&ticket("ic-jira-1"), true)
        .await
        .expect("adopted");
    assert_eq!((adopted.name.as_str(), fake.issues().len()), ("OPS-1", 1));
    let issue = fake.issue("OPS-1").expect("issue");
    assert!(
        issue.labels.contains(&"ic-jira-1".to_string()),
        "{:?}",
        issue.labels
    );
    assert!(issue.description_text().contains("A follow-up of INC-3"));
    let sent = fake.requests().pop().expect("request");
    assert!(
        sent.header("authorization")
            .is_some_and(|a| a.starts_with("Basic "))
    );
    let e = api("wrong", "OPS")
        .file(&ticket("m"), false)
        .await
        .unwrap_err();
    assert!(permanent(&e) && e.to_string().contains("HTTP 401"), "{e}");
    let e = api("jira-token", "NOPE")
        .file(&ticket("m"), false)
        .await
        .unwrap_err();
    assert!(permanent(&e) && e.to_string().contains("HTTP 400"), "{e}");
    fake.rate_limit(1);
    let e = good.file(&ticket("m"), false).await.unwrap_err();
    assert!(
        matches!(
            e,
            OutsideError::Transient {
                retry_after: Some(_),
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(
        good.poll(&adopted.reference).await,
        Ok(Polled::State { closed: false })
    );
    assert_eq!(good.poll("99999").await, Ok(Polled::Gone));
}

#[tokio::test]
async fn linear_files_with_labels_finds_by_marker_and_classifies_failures() {
    let team = "5b1c9d2e-0000-4000-8000-00000000e001";
    let fake = FakeLinear::start("lin_api_good", team, "ENG")
        .await
        .expect("fake");
    let api = |key: &str| {
        tracker(Access::Linear {
            api_key: SecretString::from(key.to_string()),
            team_id: team.into(),
            api_url: fake.api_url().parse().expect("url"),
        })
    };
    let good = api("lin_api_good");
    fake.drop_after_applying(3);
    // The label lookups and the create, each answer lost once, then the search finds it.
    let mut outcome = good.file(&ticket("ic-lin-1"), false).await;
    for _ in 0..3 {
        if outcome.is_ok() {
            break;
        }
        outcome = good.file(&ticket("ic-lin-1"), true).await;
    }
    let filed = outcome.expect("filed in the end");
    assert_eq!(filed.name, "ENG-1");
    assert_eq!(fake.issues().len(), 1, "filed once");
    let e = api("lin_api_wrong")
        .file(&ticket("m"), false)
        .await
        .unwrap_err();
    assert!(permanent(&e), "{e}");
    fake.rate_limit(1);
    let e = good.file(&ticket("m"), false).await.unwrap_err();
    assert!(
        matches!(e, OutsideError::Transient { .. }),
        "RATELIMITED: {e}"
    );
    assert_eq!(
        good.poll(&filed.reference).await,
        Ok(Polled::State { closed: false })
    );
    assert_eq!(
        good.poll("00000000-0000-4000-8000-000000000000").await,
        Ok(Polled::Gone)
    );
}
