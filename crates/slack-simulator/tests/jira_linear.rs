//! The fakes of Jira Cloud (REST API v3) and Linear (GraphQL), driven over plain HTTP with
//! reqwest, nothing of the bot involved: good requests, Jira's and Linear's refusals, auth, the
//! JQL subset and the GraphQL rules, webhook signatures checked with an HMAC computed here,
//! retries and redeliveries, and the faults.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use slack_simulator::jira::{self, FakeJira, JiraError};
use slack_simulator::linear::{self, FakeLinear, LinearError};

const EMAIL: &str = "bot@example.com";
const TOKEN: &str = "ATATT3xFfGF0-jira-token";
const PROJECT: &str = "OPS";
const LINEAR_KEY: &str = "lin_api_0123456789abcdef";
const TEAM_ID: &str = "9cfb482a-81e3-4154-b5b9-2c805e70a02d";
const SECRET: &str = "webhook-secret";
const WAIT: Duration = Duration::from_secs(10);

// --- plain HTTP ---

fn client() -> reqwest::Client {
    slack_simulator::install_tls_provider();
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client builds")
}

struct Reply {
    status: u16,
    headers: HeaderMap,
    text: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|_| panic!("not JSON ({}): {}", self.status, self.text))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

async fn read(response: reqwest::Response) -> Reply {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body reads");
    Reply {
        status,
        headers,
        text,
    }
}

fn hmac_hex(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// One webhook a test subscriber received.
#[derive(Clone, Debug)]
struct Hit {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Hit {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("webhook body is JSON")
    }
}

/// A webhook receiver on 127.0.0.1 answering the statuses queued (then 200).
#[derive(Clone)]
struct Subscriber {
    url: String,
    hits: Arc<Mutex<Vec<Hit>>>,
    statuses: Arc<Mutex<VecDeque<u16>>>,
}

impl Subscriber {
    async fn start() -> Subscriber {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("subscriber binds");
        let subscriber = Subscriber {
            url: format!("http://{}/hook", listener.local_addr().unwrap()),
            hits: Arc::default(),
            statuses: Arc::default(),
        };
        let state = subscriber.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let state = state.clone();
                async move {
                    state.hits.lock().unwrap().push(Hit {
                        headers: headers
                            .iter()
                            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_string()))
                            .collect(),
                        body: body.to_vec(),
                    });
                    let status = state.statuses.lock().unwrap().pop_front().unwrap_or(200);
                    StatusCode::from_u16(status).unwrap()
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        subscriber
    }

    fn answer_next(&self, status: u16) {
        self.statuses.lock().unwrap().push_back(status);
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    async fn wait_for(&self, count: usize) -> Vec<Hit> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let hits = self.hits();
            if hits.len() >= count {
                return hits;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {} webhooks",
                hits.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

// --- Jira ---

struct Jira {
    fake: FakeJira,
    auth: String,
}

impl Jira {
    async fn start() -> Jira {
        let fake = FakeJira::start(EMAIL, TOKEN, PROJECT)
            .await
            .expect("fake Jira starts");
        Jira {
            fake,
            auth: format!("Basic {}", base64(format!("{EMAIL}:{TOKEN}").as_bytes())),
        }
    }

    async fn get(&self, path: &str) -> Reply {
        let response = client()
            .get(format!("{}{path}", self.fake.url()))
            .header("authorization", &self.auth)
            .send()
            .await
            .expect("answered");
        read(response).await
    }

    async fn post(&self, path: &str, body: &Value) -> Reply {
        let response = client()
            .post(format!("{}{path}", self.fake.url()))
            .header("authorization", &self.auth)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("answered");
        read(response).await
    }

    async fn create(&self, summary: &str, labels: &[&str], text: &str) -> Reply {
        self.post("/rest/api/3/issue", &issue_fields(summary, labels, text))
            .await
    }

    async fn search(&self, body: &Value) -> Reply {
        self.post("/rest/api/3/search/jql", body).await
    }
}

fn adf(text: &str) -> Value {
    json!({
        "type": "doc",
        "version": 1,
        "content": [{ "type": "paragraph", "content": [{ "type": "text", "text": text }] }],
    })
}

fn issue_fields(summary: &str, labels: &[&str], text: &str) -> Value {
    json!({
        "fields": {
            "project": { "key": PROJECT },
            "summary": summary,
            "issuetype": { "name": "Task" },
            "description": adf(text),
            "labels": labels,
        },
    })
}

#[tokio::test]
async fn a_jira_issue_is_created_with_an_adf_description_and_labels() {
    let jira = Jira::start().await;
    let sub = Subscriber::start().await;
    jira.fake.subscribe(&sub.url, SECRET);
    let mut body = issue_fields(
        "Follow-up: checkout outage",
        &["incident-42", "postmortem"],
        "",
    );
    body["fields"]["description"] = json!({
        "type": "doc",
        "version": 1,
        "content": [
            { "type": "paragraph", "content": [
                { "type": "text", "text": "Raised from " },
                { "type": "text", "text": "#inc-42", "marks": [{ "type": "link", "attrs": { "href": "https://example.slack.com/archives/C1" } }] },
            ] },
            { "type": "paragraph", "content": [{ "type": "text", "text": "Owner: alice" }] },
        ],
    });
    let reply = jira.post("/rest/api/3/issue", &body).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let created = reply.json();
    assert_eq!(created["key"], "OPS-1");
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(
        created["self"],
        format!("{}/rest/api/3/issue/{id}", jira.fake.url())
    );

    let issue = jira.fake.issue("OPS-1").expect("the issue exists");
    assert_eq!(issue.summary, "Follow-up: checkout outage");
    assert_eq!(issue.labels, ["incident-42", "postmortem"]);
    assert_eq!(issue.status, "To Do");
    assert_eq!(issue.status_category, "new");
    assert_eq!(issue.issue_type, "Task");
    assert_eq!(issue.resolution, None);
    assert_eq!(
        issue.description_text(),
        "Raised from #inc-42\nOwner: alice"
    );

    let got = jira.get("/rest/api/3/issue/OPS-1").await;
    assert_eq!(got.status, 200);
    let got = got.json();
    assert_eq!(got["id"], id.as_str());
    assert_eq!(got["fields"]["summary"], "Follow-up: checkout outage");
    assert_eq!(
        got["fields"]["labels"],
        json!(["incident-42", "postmortem"])
    );
    assert_eq!(got["fields"]["status"]["name"], "To Do");
    assert_eq!(got["fields"]["status"]["statusCategory"]["key"], "new");
    assert_eq!(got["fields"]["resolution"], Value::Null);
    assert_eq!(got["fields"]["description"], body["fields"]["description"]);
    assert!(
        got["fields"]["created"]
            .as_str()
            .is_some_and(|t| t.ends_with("+0000"))
    );
    // By id, and with a field list.
    let narrow = jira
        .get(&format!("/rest/api/3/issue/{id}?fields=status,labels"))
        .await
        .json();
    assert_eq!(narrow["key"], "OPS-1");
    let fields: Vec<&String> = narrow["fields"].as_object().unwrap().keys().collect();
    assert_eq!(fields, ["labels", "status"]);

    jira.fake.settle().await;
    let hits = sub.hits();
    assert_eq!(hits.len(), 1);
    let hit = &hits[0];
    assert_eq!(
        hit.header("x-hub-signature"),
        Some(format!("sha256={}", hmac_hex(SECRET, &hit.body)).as_str())
    );
    assert_eq!(hit.header("content-type"), Some("application/json"));
    assert!(hit.header("x-atlassian-webhook-identifier").is_some());
    assert_eq!(hit.header("x-atlassian-webhook-retry"), None);
    let event = hit.json();
    assert_eq!(event["webhookEvent"], "jira:issue_created");
    assert_eq!(event["issue_event_type_name"], "issue_created");
    assert_eq!(event["issue"]["key"], "OPS-1");
    assert_eq!(event["user"]["displayName"], jira::API_USER_DISPLAY_NAME);
    assert!(event["timestamp"].as_i64().is_some());
}

#[tokio::test]
async fn a_plain_string_description_is_refused_as_jira_does() {
    let jira = Jira::start().await;
    let mut body = issue_fields("Follow-up", &[], "");
    body["fields"]["description"] = json!("plain text, as API v2 took it");
    let reply = jira.post("/rest/api/3/issue", &body).await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.json(),
        json!({
            "errorMessages": [],
            "errors": { "description": "Operation value must be an Atlassian Document (see the Atlassian Document Format)" },
        })
    );
    // An empty text node is not valid ADF either.
    body["fields"]["description"] = adf("");
    let reply = jira.post("/rest/api/3/issue", &body).await;
    assert_eq!(reply.status, 400);
    assert!(reply.json()["errors"]["description"].is_string());
    assert!(jira.fake.issues().is_empty(), "nothing was created");
}

#[tokio::test]
async fn jira_reports_every_invalid_field_at_once() {
    let jira = Jira::start().await;
    let reply = jira
        .post(
            "/rest/api/3/issue",
            &json!({
                "fields": {
                    "project": { "key": "NOPE" },
                    "issuetype": { "name": "Epic" },
                    "labels": ["has space"],
                    "priority": { "name": "High" },
                },
            }),
        )
        .await;
    assert_eq!(reply.status, 400);
    let errors = reply.json()["errors"].clone();
    assert_eq!(
        errors["summary"],
        "You must specify a summary of the issue."
    );
    assert_eq!(errors["project"], "Specify a valid project ID or key");
    assert_eq!(errors["issuetype"], "Specify a valid issue type");
    assert_eq!(
        errors["labels"],
        "The label 'has space' contains spaces which is invalid."
    );
    assert!(
        errors["priority"]
            .as_str()
            .unwrap()
            .contains("cannot be set")
    );

    let long = "x".repeat(256);
    let reply = jira.create(&long, &[], "d").await;
    assert_eq!(
        reply.json()["errors"]["summary"],
        "Summary must be less than 255 characters."
    );
    assert_eq!(jira.create(&"x".repeat(255), &[], "d").await.status, 201);

    let reply = jira.get("/rest/api/3/issue/OPS-99").await;
    assert_eq!(reply.status, 404);
    assert_eq!(
        reply.json(),
        json!({
            "errorMessages": ["Issue does not exist or you do not have permission to see it."],
            "errors": {},
        })
    );
}

#[tokio::test]
async fn basic_auth_is_checked() {
    let jira = Jira::start().await;
    let url = format!("{}/rest/api/3/issue", jira.fake.url());
    let body = issue_fields("x", &[], "d").to_string();
    let wrong = format!("Basic {}", base64(format!("{EMAIL}:wrong").as_bytes()));
    for auth in [
        None,
        Some(wrong.as_str()),
        Some("Bearer ATATT3xFfGF0-jira-token"),
    ] {
        let mut request = client()
            .post(&url)
            .header("content-type", "application/json")
            .body(body.clone());
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        let reply = read(request.send().await.unwrap()).await;
        assert_eq!(reply.status, 401, "{auth:?}");
        assert_eq!(
            reply.text,
            "Client must be authenticated to access this resource."
        );
    }
    // Right credentials, wrong content type.
    let reply = read(
        client()
            .post(&url)
            .header("authorization", &jira.auth)
            .header("content-type", "text/plain")
            .body(body.clone())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, 415);
    assert!(jira.fake.issues().is_empty());
    assert_eq!(jira.create("x", &[], "d").await.status, 201);
}

#[tokio::test]
async fn the_old_search_endpoint_is_gone() {
    let jira = Jira::start().await;
    for path in ["/rest/api/3/search?jql=project%3DOPS", "/rest/api/2/search"] {
        let reply = jira.get(path).await;
        assert_eq!(reply.status, 410, "{path}");
        let message = reply.json()["errorMessages"][0]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            message.starts_with("The requested API has been removed. Please migrate to the /rest/api/3/search/jql API."),
            "{message}"
        );
    }
    let reply = jira
        .post("/rest/api/3/search", &json!({ "jql": "project = OPS" }))
        .await;
    assert_eq!(reply.status, 410);
}

#[tokio::test]
async fn jql_by_label_finds_the_issue() {
    let jira = Jira::start().await;
    jira.create("First", &["incident-1"], "a").await;
    jira.create("Second", &["incident-2", "sev1"], "b").await;
    jira.create("Third", &["incident-2"], "c").await;

    // Without `fields`, the enhanced search answers ids only.
    let reply = jira
        .search(&json!({ "jql": "project = OPS AND labels = \"incident-1\"" }))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let id = jira.fake.issue("OPS-1").unwrap().id;
    assert_eq!(
        reply.json(),
        json!({ "issues": [{ "id": id }], "isLast": true })
    );

    let reply = jira
        .search(&json!({
            "jql": "labels = incident-2 AND statusCategory != Done ORDER BY created ASC",
            "fields": ["summary", "status", "labels"],
        }))
        .await
        .json();
    let keys: Vec<&str> = reply["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["OPS-2", "OPS-3"]);
    assert_eq!(reply["issues"][0]["fields"]["summary"], "Second");
    assert_eq!(reply["issues"][0]["fields"]["status"]["name"], "To Do");
    assert_eq!(reply["issues"][0]["fields"].get("description"), None);

    let reply = jira
        .search(&json!({ "jql": "labels in (\"incident-1\", sev1) AND updated >= \"-10m\"", "fields": ["summary"] }))
        .await
        .json();
    assert_eq!(reply["issues"].as_array().unwrap().len(), 2);
    assert_eq!(
        reply["issues"][0]["key"], "OPS-2",
        "newest first by default"
    );

    let reply = jira
        .search(&json!({ "jql": "key in (OPS-1, OPS-3)", "fields": ["summary"] }))
        .await
        .json();
    assert_eq!(reply["issues"].as_array().unwrap().len(), 2);

    jira.fake
        .transition("OPS-3", "Done", "Alice")
        .await
        .unwrap();
    let reply = jira
        .search(&json!({ "jql": "project = OPS AND statusCategory = Done", "fields": ["status", "resolution"] }))
        .await
        .json();
    assert_eq!(reply["issues"].as_array().unwrap().len(), 1);
    assert_eq!(reply["issues"][0]["fields"]["resolution"]["name"], "Done");

    // Paging with the opaque token.
    let first = jira
        .search(&json!({ "jql": "project = OPS ORDER BY key ASC", "maxResults": 2, "fields": ["summary"] }))
        .await
        .json();
    assert_eq!(first["isLast"], false);
    assert_eq!(first["issues"].as_array().unwrap().len(), 2);
    let token = first["nextPageToken"].as_str().unwrap().to_string();
    let second = jira
        .search(&json!({ "jql": "project = OPS ORDER BY key ASC", "maxResults": 2, "fields": ["summary"], "nextPageToken": token }))
        .await
        .json();
    assert_eq!(second["isLast"], true);
    assert_eq!(second.get("nextPageToken"), None);
    assert_eq!(second["issues"][0]["key"], "OPS-3");
    let reused = jira
        .search(&json!({ "jql": "project = OPS", "nextPageToken": token }))
        .await;
    assert_eq!(reused.status, 400, "a token is only good for its own JQL");
}

#[tokio::test]
async fn unsupported_jql_is_refused() {
    let jira = Jira::start().await;
    jira.create("First", &["a"], "a").await;
    let refused = |jql: &'static str| {
        let jira = &jira;
        async move {
            let reply = jira.search(&json!({ "jql": jql })).await;
            assert_eq!(reply.status, 400, "{jql}: {}", reply.text);
            let body = reply.json();
            assert_eq!(body["errors"], json!({}));
            body["errorMessages"][0].as_str().unwrap().to_string()
        }
    };
    assert!(
        refused("labels = a OR labels = b")
            .await
            .starts_with("Error in the JQL Query:")
    );
    assert!(
        refused("assignee = currentUser()")
            .await
            .starts_with("Error in the JQL Query:")
    );
    assert!(
        refused("summary ~ \"checkout\"")
            .await
            .starts_with("Error in the JQL Query:")
    );
    assert!(
        refused("labels = a labels = b")
            .await
            .starts_with("Error in the JQL Query: Expecting either 'OR' or 'AND'")
    );
    assert_eq!(
        refused("ORDER BY created DESC").await,
        "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
    );
    assert_eq!(
        refused("").await,
        "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
    );
    assert_eq!(
        refused("project = NOPE").await,
        "The value 'NOPE' does not exist for the field 'project'."
    );
    assert_eq!(
        refused("key in (OPS-1, OPS-9)").await,
        "An issue with key 'OPS-9' does not exist for field 'key'."
    );
    assert!(
        refused("updated >= yesterday")
            .await
            .starts_with("Date value 'yesterday' for field 'updated' is invalid.")
    );
}

#[tokio::test]
async fn moving_to_done_sends_a_signed_webhook() {
    let jira = Jira::start().await;
    let sub = Subscriber::start().await;
    jira.create("Follow-up", &["incident-7"], "d").await;
    jira.fake.subscribe(&sub.url, SECRET);

    let statuses = jira.fake.transition("OPS-1", "Done", "Bob Ops").await;
    assert_eq!(statuses, Ok(vec![200]));
    let issue = jira.fake.issue("OPS-1").unwrap();
    assert_eq!(issue.status, "Done");
    assert_eq!(issue.status_category, "done");
    assert_eq!(issue.resolution.as_deref(), Some("Done"));

    let hits = sub.hits();
    assert_eq!(hits.len(), 1);
    let hit = &hits[0];
    assert_eq!(
        hit.header("x-hub-signature").unwrap(),
        jira::sign(SECRET, &hit.body)
    );
    assert_eq!(
        hit.header("x-hub-signature").unwrap(),
        format!("sha256={}", hmac_hex(SECRET, &hit.body))
    );
    let event = hit.json();
    assert_eq!(event["webhookEvent"], "jira:issue_updated");
    assert_eq!(event["issue_event_type_name"], "issue_generic");
    assert_eq!(event["user"]["displayName"], "Bob Ops");
    assert!(event["user"]["accountId"].is_string());
    assert_eq!(event["issue"]["key"], "OPS-1");
    assert_eq!(event["issue"]["fields"]["status"]["name"], "Done");
    assert_eq!(
        event["issue"]["fields"]["status"]["statusCategory"]["key"],
        "done"
    );
    assert_eq!(event["issue"]["fields"]["resolution"]["name"], "Done");
    assert_eq!(event["issue"]["fields"]["labels"], json!(["incident-7"]));
    let items = event["changelog"]["items"].as_array().unwrap();
    assert_eq!(items[0]["field"], "status");
    assert_eq!(items[0]["fieldtype"], "jira");
    assert_eq!(items[0]["fromString"], "To Do");
    assert_eq!(items[0]["toString"], "Done");
    assert_eq!(items[1]["field"], "resolution");
    assert_eq!(items[1]["toString"], "Done");

    assert_eq!(
        jira.fake.transition("OPS-1", "Done", "Bob Ops").await,
        Err(JiraError::AlreadyIn {
            key: "OPS-1".into(),
            status: "Done".into()
        })
    );
    assert_eq!(
        jira.fake.transition("OPS-9", "Done", "Bob Ops").await,
        Err(JiraError::NoIssue {
            key: "OPS-9".into()
        })
    );

    // Reopened: the resolution goes.
    jira.fake
        .transition("OPS-1", "In Progress", "Bob Ops")
        .await
        .unwrap();
    let got = jira
        .get("/rest/api/3/issue/OPS-1?fields=resolution,status")
        .await
        .json();
    assert_eq!(got["fields"]["resolution"], Value::Null);
    assert_eq!(
        got["fields"]["status"]["statusCategory"]["key"],
        "indeterminate"
    );

    // Redelivered: the same bytes and identifier, marked as a retry.
    assert_eq!(jira.fake.redeliver_last().await, Ok(200));
    let hits = sub.hits();
    assert_eq!(hits.len(), 3);
    assert_eq!(hits[1].body, hits[2].body);
    assert_eq!(
        hits[1].header("x-atlassian-webhook-identifier"),
        hits[2].header("x-atlassian-webhook-identifier")
    );
    assert_eq!(hits[2].header("x-atlassian-webhook-retry"), Some("1"));
}

#[tokio::test]
async fn jira_transitions_over_the_api() {
    let jira = Jira::start().await;
    jira.create("x", &[], "d").await;
    let listed = jira.get("/rest/api/3/issue/OPS-1/transitions").await.json();
    let ids: Vec<&str> = listed["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["21", "31"], "not the one into the current status");
    assert_eq!(listed["transitions"][1]["to"]["name"], "Done");

    let reply = jira
        .post(
            "/rest/api/3/issue/OPS-1/transitions",
            &json!({ "transition": { "id": "11" } }),
        )
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.json()["errorMessages"][0],
        "Transition id '11' is not valid for this issue."
    );
    let reply = jira
        .post(
            "/rest/api/3/issue/OPS-1/transitions",
            &json!({ "transition": { "id": "31" } }),
        )
        .await;
    assert_eq!(reply.status, 204);
    assert_eq!(reply.text, "");
    assert_eq!(jira.fake.issue("OPS-1").unwrap().status, "Done");
    assert!(jira.fake.issue("OPS-1").unwrap().resolution_date.is_some());
}

#[tokio::test]
async fn jira_retries_a_webhook_it_may_retry_with_the_same_identifier() {
    let jira = Jira::start().await;
    jira.fake.retry_delays(&[Duration::from_millis(50); 5]);
    let sub = Subscriber::start().await;
    jira.fake.subscribe(&sub.url, SECRET);
    sub.answer_next(503);
    sub.answer_next(429);
    jira.create("x", &[], "d").await;
    let hits = sub.wait_for(3).await;
    let identifier = hits[0].header("x-atlassian-webhook-identifier").unwrap();
    assert!(
        hits.iter()
            .all(|h| h.header("x-atlassian-webhook-identifier") == Some(identifier))
    );
    assert_eq!(hits[1].header("x-atlassian-webhook-retry"), Some("1"));
    assert_eq!(hits[2].header("x-atlassian-webhook-retry"), Some("2"));
    assert_eq!(hits[0].body, hits[2].body);

    // A 400 is the subscriber's answer, not a failure Jira retries.
    sub.answer_next(400);
    jira.fake
        .transition("OPS-1", "Done", "Alice")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sub.hits().len(), 4);
    let statuses: Vec<Option<u16>> = jira.fake.deliveries().iter().map(|d| d.status).collect();
    assert_eq!(statuses, [Some(503), Some(429), Some(200), Some(400)]);
}

#[tokio::test]
async fn jira_rate_limits_and_faults() {
    let jira = Jira::start().await;
    jira.fake.rate_limit(1);
    let reply = jira.create("x", &[], "d").await;
    assert_eq!(reply.status, 429);
    assert_eq!(reply.header("retry-after"), Some("1"));
    assert_eq!(reply.header("x-ratelimit-remaining"), Some("0"));
    assert!(reply.header("x-ratelimit-reset").is_some());
    assert!(jira.fake.issues().is_empty(), "refused, not applied");

    jira.fake.fail(503, 1);
    assert_eq!(jira.create("x", &[], "d").await.status, 503);
    assert!(jira.fake.issues().is_empty());

    jira.fake.fail_after_applying(1);
    let reply = jira.create("lost answer", &[], "d").await;
    assert_eq!(reply.status, 500);
    assert_eq!(reply.text, "");
    assert_eq!(jira.fake.issues().len(), 1, "applied all the same");

    jira.fake.drop_after_applying(1);
    let sent = client()
        .post(format!("{}/rest/api/3/issue", jira.fake.url()))
        .header("authorization", &jira.auth)
        .header("content-type", "application/json")
        .body(issue_fields("dropped", &[], "d").to_string())
        .send()
        .await;
    assert!(sent.is_err(), "no answer: {sent:?}");
    assert_eq!(jira.fake.issues().len(), 2);
    assert_eq!(jira.fake.requests().last().unwrap().status, None);

    jira.fake.answer_late(Duration::from_secs(5), 1);
    let late = client()
        .post(format!("{}/rest/api/3/issue", jira.fake.url()))
        .header("authorization", &jira.auth)
        .header("content-type", "application/json")
        .timeout(Duration::from_millis(300))
        .body(issue_fields("late", &[], "d").to_string())
        .send()
        .await;
    assert!(late.is_err(), "the caller gave up");
    assert_eq!(jira.fake.issues().len(), 3);

    jira.fake.fail(500, 5);
    jira.fake.clear_faults();
    assert_eq!(jira.create("x", &[], "d").await.status, 201);
    jira.fake.shutdown().await;
}

// --- Linear ---

struct Linear {
    fake: FakeLinear,
}

impl Linear {
    async fn start() -> Linear {
        Linear {
            fake: FakeLinear::start(LINEAR_KEY, TEAM_ID, "ENG")
                .await
                .expect("fake Linear starts"),
        }
    }

    async fn send_as(&self, authorization: Option<&str>, query: &str, variables: Value) -> Reply {
        let mut request = client()
            .post(self.fake.api_url())
            .header("content-type", "application/json")
            .body(json!({ "query": query, "variables": variables }).to_string());
        if let Some(authorization) = authorization {
            request = request.header("authorization", authorization);
        }
        read(request.send().await.expect("answered")).await
    }

    async fn gql(&self, query: &str, variables: Value) -> Reply {
        self.send_as(Some(LINEAR_KEY), query, variables).await
    }

    async fn create_label(&self, name: &str) -> String {
        let reply = self
            .gql(
                "mutation CreateLabel($input: IssueLabelCreateInput!) { issueLabelCreate(input: $input) { success issueLabel { id name } } }",
                json!({ "input": { "name": name, "teamId": TEAM_ID } }),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply.json()["data"]["issueLabelCreate"]["issueLabel"]["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    async fn create_issue(&self, input: Value) -> Reply {
        self.gql(CREATE, json!({ "input": input })).await
    }
}

const CREATE: &str = "mutation IssueCreate($input: IssueCreateInput!) {
  issueCreate(input: $input) {
    success
    issue { id identifier url title state { id name type } labels { nodes { id name } } }
  }
}";

const FIND: &str = "query Find($filter: IssueFilter, $first: Int, $after: String) {
  issues(filter: $filter, first: $first, after: $after) {
    nodes { id identifier title description }
    pageInfo { hasNextPage endCursor }
  }
}";

fn identifiers(reply: &Value) -> Vec<String> {
    reply["data"]["issues"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["identifier"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn linear_creates_an_issue_with_labels_from_variables() {
    let linear = Linear::start().await;
    let sub = Subscriber::start().await;
    let webhook_id = linear.fake.subscribe(&sub.url, SECRET);
    let label = linear.create_label("incident").await;
    let reply = linear
        .create_issue(json!({
            "teamId": TEAM_ID,
            "title": "Follow-up: checkout outage",
            "description": "Raised from **#inc-42**",
            "labelIds": [label],
        }))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let created = reply.json()["data"]["issueCreate"].clone();
    assert_eq!(created["success"], true);
    let issue = &created["issue"];
    assert_eq!(issue["identifier"], "ENG-1");
    assert_eq!(
        issue["url"],
        "https://linear.app/example/issue/ENG-1/follow-up-checkout-outage"
    );
    assert_eq!(issue["state"]["type"], "backlog");
    assert_eq!(issue["labels"]["nodes"][0]["name"], "incident");
    assert!(uuid_like(issue["id"].as_str().unwrap()));

    let stored = linear.fake.issue("ENG-1").unwrap();
    assert_eq!(stored.title, "Follow-up: checkout outage");
    assert_eq!(
        stored.description.as_deref(),
        Some("Raised from **#inc-42**")
    );
    assert_eq!(stored.labels, ["incident"]);
    assert_eq!(stored.state_name, "Backlog");
    assert_eq!(stored.state_type, "backlog");
    assert_eq!(linear.fake.issues().len(), 1);

    // By identifier and by id; an alias keys the answer.
    let by_identifier = linear
        .gql(
            "query($id: String!) { found: issue(id: $id) { id title } }",
            json!({ "id": "ENG-1" }),
        )
        .await
        .json();
    assert_eq!(by_identifier["data"]["found"]["id"], issue["id"]);
    let missing = linear
        .gql(
            "query($id: String!) { issue(id: $id) { id } }",
            json!({ "id": "ENG-99" }),
        )
        .await;
    assert_eq!(missing.status, 400);
    let missing = missing.json();
    assert_eq!(missing["data"], Value::Null);
    assert_eq!(missing["errors"][0]["message"], "Entity not found: Issue");
    assert_eq!(missing["errors"][0]["extensions"]["type"], "invalid input");

    linear.fake.settle().await;
    let hits = sub.hits();
    assert_eq!(hits.len(), 1);
    let hit = &hits[0];
    assert_eq!(
        hit.header("linear-signature"),
        Some(hmac_hex(SECRET, &hit.body).as_str())
    );
    assert_eq!(hit.header("linear-event"), Some("Issue"));
    assert_eq!(hit.header("user-agent"), Some("Linear-Webhook"));
    assert_eq!(
        hit.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    let event = hit.json();
    assert_eq!(event["action"], "create");
    assert_eq!(event["type"], "Issue");
    assert_eq!(event["webhookId"], webhook_id.as_str());
    assert_eq!(event["data"]["identifier"], "ENG-1");
    assert_eq!(event["data"]["teamId"], TEAM_ID);
    assert_eq!(event["data"]["labelIds"], json!([label]));
    assert_eq!(event["actor"]["name"], linear::API_USER_NAME);
}

fn uuid_like(id: &str) -> bool {
    id.len() == 36 && id.chars().filter(|c| *c == '-').count() == 4
}

#[tokio::test]
async fn inline_arguments_are_refused() {
    let linear = Linear::start().await;
    let reply = linear
        .gql(
            &format!(
                "mutation {{ issueCreate(input: {{ teamId: \"{TEAM_ID}\", title: \"x\" }}) {{ success }} }}"
            ),
            json!({}),
        )
        .await;
    assert_eq!(reply.status, 400);
    let error = &reply.json()["errors"][0];
    assert_eq!(error["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("variables only")
    );
    let reply = linear
        .gql("{ issue(id: \"ENG-1\") { id } }", json!({}))
        .await;
    assert_eq!(reply.status, 400);
    assert!(linear.fake.issues().is_empty());
}

#[tokio::test]
async fn linear_validates_operations_and_inputs_as_graphql_does() {
    let linear = Linear::start().await;
    let refused = |query: &'static str, variables: Value| {
        let linear = &linear;
        async move {
            let reply = linear.gql(query, variables).await;
            assert_eq!(reply.status, 400, "{query}: {}", reply.text);
            let error = reply.json()["errors"][0].clone();
            assert!(error["extensions"]["code"].is_string(), "{error}");
            error["message"].as_str().unwrap().to_string()
        }
    };
    assert_eq!(
        refused("query { issueSearch { id } }", json!({})).await,
        "Cannot query field \"issueSearch\" on type \"Query\"."
    );
    assert_eq!(
        refused(
            "query Q($input: IssueCreateInput!) { issueCreate(input: $input) { success } }",
            json!({ "input": {} })
        )
        .await,
        "Cannot query field \"issueCreate\" on type \"Query\"."
    );
    assert_eq!(
        refused("query Q { issue(id: $id) { id } }", json!({ "id": "x" })).await,
        "Variable \"$id\" is not defined by operation \"Q\"."
    );
    assert_eq!(
        refused(
            "query Q($id: String!, $n: Int) { issue(id: $id) { id } }",
            json!({ "id": "x" })
        )
        .await,
        "Variable \"$n\" is never used in operation \"Q\"."
    );
    assert_eq!(
        refused(
            "query Q($id: ID!) { issue(id: $id) { id } }",
            json!({ "id": "x" })
        )
        .await,
        "Variable \"$id\" of type \"ID!\" used in position expecting type \"String!\"."
    );
    assert_eq!(
        refused("query Q($id: String!) { issue(id: $id) { id } }", json!({})).await,
        "Variable \"$id\" of required type \"String!\" was not provided."
    );
    assert!(
        refused(
            FIND,
            json!({ "filter": { "assigne": { "id": { "eq": "x" } } } })
        )
        .await
        .contains("Field \"assigne\" is not defined by type \"IssueFilter\".")
    );
    assert!(
        refused(FIND, json!({ "filter": { "title": { "like": "x" } } }))
            .await
            .contains("Field \"like\" is not defined by type \"StringComparator\".")
    );
    assert!(
        refused(
            CREATE,
            json!({ "input": { "teamId": TEAM_ID, "title": "x", "body": "y" } })
        )
        .await
        .contains("Field \"body\" is not defined by type \"IssueCreateInput\".")
    );
    assert!(
        refused(CREATE, json!({ "input": { "title": "x" } }))
            .await
            .contains("Field \"teamId\" of required type \"String!\" was not provided.")
    );
    assert!(
        refused(
            "query Q($a: String!, $b: String!) { a: issue(id: $a) { id } b: issue(id: $b) { id } }",
            json!({ "a": "x", "b": "y" })
        )
        .await
        .contains("one root field per operation")
    );
    assert_eq!(
        refused(
            "query Q($first: Int) { issues(first: $first) { nodes { id } } }",
            json!({ "first": 251 })
        )
        .await,
        "Argument Validation Error"
    );
    // Input Linear refuses when running.
    let other_team = linear
        .create_issue(json!({ "teamId": "00000000-0000-4000-8000-000000000000", "title": "x" }))
        .await;
    assert_eq!(other_team.status, 400);
    assert_eq!(
        other_team.json()["errors"][0]["message"],
        "Entity not found: Team"
    );
    let unknown_label = linear
        .create_issue(json!({ "teamId": TEAM_ID, "title": "x", "labelIds": ["nope"] }))
        .await;
    assert_eq!(
        unknown_label.json()["errors"][0]["message"],
        "Entity not found: IssueLabel"
    );
    assert!(linear.fake.issues().is_empty());

    // A duplicate label name in the team.
    linear.create_label("incident").await;
    let duplicate = linear
        .gql(
            "mutation($input: IssueLabelCreateInput!) { issueLabelCreate(input: $input) { success } }",
            json!({ "input": { "name": "Incident", "teamId": TEAM_ID } }),
        )
        .await;
    assert_eq!(duplicate.status, 400);
    assert_eq!(
        duplicate.json()["errors"][0]["extensions"]["code"],
        "INPUT_ERROR"
    );
    assert_eq!(linear.fake.labels().len(), 1);
}

#[tokio::test]
async fn linear_authentication_is_checked() {
    let linear = Linear::start().await;
    let query = "query { viewer { id name } }";
    for authorization in [None, Some("lin_api_wrong"), Some("Bearer lin_api_wrong")] {
        let reply = linear.send_as(authorization, query, json!({})).await;
        assert_eq!(reply.status, 401, "{authorization:?}");
        let error = &reply.json()["errors"][0];
        assert_eq!(
            error["message"],
            "Authentication required, not authenticated"
        );
        assert_eq!(error["extensions"]["code"], "AUTHENTICATION_ERROR");
        assert_eq!(
            error["extensions"]["userPresentableMessage"],
            "You need to authenticate to access this operation."
        );
    }
    let bare = linear.send_as(Some(LINEAR_KEY), query, json!({})).await;
    assert_eq!(bare.status, 200, "{}", bare.text);
    assert_eq!(bare.json()["data"]["viewer"]["name"], linear::API_USER_NAME);
    let bearer = linear
        .send_as(Some(&format!("Bearer {LINEAR_KEY}")), query, json!({}))
        .await;
    assert_eq!(bearer.status, 200);

    let not_json = read(
        client()
            .post(linear.fake.api_url())
            .header("authorization", LINEAR_KEY)
            .header("content-type", "text/plain")
            .body("{ viewer { id } }")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(not_json.status, 400);
    let get = read(
        client()
            .get(linear.fake.api_url())
            .header("authorization", LINEAR_KEY)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(get.status, 400);
}

#[tokio::test]
async fn a_lost_answer_still_created_the_issue() {
    let linear = Linear::start().await;
    let id = "6a0e6f4c-2a53-4c1e-9a55-3c3f0b5e1d2a";
    let input = json!({ "id": id, "teamId": TEAM_ID, "title": "Follow-up" });
    linear.fake.drop_after_applying(1);
    let lost = client()
        .post(linear.fake.api_url())
        .header("authorization", LINEAR_KEY)
        .header("content-type", "application/json")
        .body(json!({ "query": CREATE, "variables": { "input": input } }).to_string())
        .send()
        .await;
    assert!(lost.is_err(), "no answer: {lost:?}");
    assert_eq!(linear.fake.issues().len(), 1, "created all the same");
    assert_eq!(linear.fake.requests()[0].status, None);

    // The client retries with the same id: Linear refuses the duplicate.
    let retry = linear.create_issue(input).await;
    assert_eq!(retry.status, 400);
    let error = &retry.json()["errors"][0];
    assert_eq!(error["message"], "Entity already exists");
    assert_eq!(error["path"], json!(["issueCreate"]));
    assert_eq!(linear.fake.issues().len(), 1);
    let found = linear
        .gql(
            "query($id: String!) { issue(id: $id) { identifier } }",
            json!({ "id": id }),
        )
        .await
        .json();
    assert_eq!(found["data"]["issue"]["identifier"], "ENG-1");
}

#[tokio::test]
async fn linear_finds_an_issue_by_description_contains() {
    let linear = Linear::start().await;
    let incident = linear.create_label("incident").await;
    let sev1 = linear.create_label("sev1").await;
    for (title, marker, labels) in [
        ("One", "slack-incident:C1", vec![incident.clone()]),
        (
            "Two",
            "slack-incident:C2",
            vec![incident.clone(), sev1.clone()],
        ),
        ("Three", "slack-incident:C3", vec![]),
    ] {
        let reply = linear
            .create_issue(json!({
                "teamId": TEAM_ID,
                "title": title,
                "description": format!("Context\n\n<!-- {marker} -->"),
                "labelIds": labels,
            }))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    let found = linear
        .gql(
            FIND,
            json!({ "filter": { "description": { "contains": "slack-incident:C2" } } }),
        )
        .await;
    assert_eq!(found.status, 200, "{}", found.text);
    assert_eq!(identifiers(&found.json()), ["ENG-2"]);

    let by_label = linear
        .gql(
            FIND,
            json!({ "filter": {
                "team": { "id": { "eq": TEAM_ID } },
                "labels": { "name": { "eq": "incident" } },
                "state": { "type": { "nin": ["completed", "canceled"] } },
            } }),
        )
        .await
        .json();
    assert_eq!(identifiers(&by_label), ["ENG-2", "ENG-1"], "newest first");
    let some = linear
        .gql(
            FIND,
            json!({ "filter": { "labels": { "some": { "name": { "in": ["sev1"] } } }, "updatedAt": { "gte": "-PT10M" } } }),
        )
        .await
        .json();
    assert_eq!(identifiers(&some), ["ENG-2"]);

    linear
        .fake
        .move_to("ENG-1", "completed", "Alice")
        .await
        .unwrap();
    let open = linear
        .gql(
            FIND,
            json!({ "filter": { "labels": { "name": { "eq": "incident" } }, "state": { "type": { "nin": ["completed", "canceled"] } } } }),
        )
        .await
        .json();
    assert_eq!(identifiers(&open), ["ENG-2"]);

    // Paging by cursor.
    let first = linear.gql(FIND, json!({ "first": 2 })).await.json();
    assert_eq!(identifiers(&first), ["ENG-3", "ENG-2"]);
    assert_eq!(first["data"]["issues"]["pageInfo"]["hasNextPage"], true);
    let cursor = first["data"]["issues"]["pageInfo"]["endCursor"].clone();
    let next = linear
        .gql(FIND, json!({ "first": 2, "after": cursor }))
        .await
        .json();
    assert_eq!(identifiers(&next), ["ENG-1"]);
    assert_eq!(next["data"]["issues"]["pageInfo"]["hasNextPage"], false);

    let labels = linear
        .gql(
            "query($filter: IssueLabelFilter) { issueLabels(filter: $filter) { nodes { id name } } }",
            json!({ "filter": { "name": { "eq": "sev1" }, "team": { "id": { "eq": TEAM_ID } } } }),
        )
        .await
        .json();
    assert_eq!(
        labels["data"]["issueLabels"]["nodes"][0]["id"],
        sev1.as_str()
    );
}

#[tokio::test]
async fn moving_a_linear_issue_to_done_sends_a_signed_webhook() {
    let linear = Linear::start().await;
    let sub = Subscriber::start().await;
    linear
        .create_issue(json!({ "teamId": TEAM_ID, "title": "Follow-up" }))
        .await;
    let backlog = linear.fake.state_id("backlog").unwrap();
    let done = linear.fake.state_id("completed").unwrap();
    linear.fake.subscribe(&sub.url, SECRET);

    assert_eq!(
        linear.fake.move_to("ENG-1", "completed", "Alice").await,
        Ok(vec![200])
    );
    let issue = linear.fake.issue("ENG-1").unwrap();
    assert_eq!(issue.state_name, "Done");
    assert!(issue.completed_at.is_some());

    let hit = sub.hits()[0].clone();
    assert_eq!(
        hit.header("linear-signature").unwrap(),
        linear::sign(SECRET, &hit.body)
    );
    let delivery = hit.header("linear-delivery").unwrap().to_string();
    let event = hit.json();
    assert_eq!(event["action"], "update");
    assert_eq!(
        event["actor"],
        json!({ "id": event["actor"]["id"], "name": "Alice", "type": "user" })
    );
    assert_eq!(event["data"]["stateId"], done.as_str());
    assert_eq!(event["data"]["state"]["type"], "completed");
    assert!(event["data"]["completedAt"].is_string());
    assert_eq!(event["updatedFrom"]["stateId"], backlog.as_str());
    assert_eq!(event["updatedFrom"]["completedAt"], Value::Null);
    assert!(event["updatedFrom"]["updatedAt"].is_string());
    assert_eq!(
        event["url"],
        "https://linear.app/example/issue/ENG-1/follow-up"
    );
    let now = chrono::Utc::now().timestamp_millis();
    let stamped = event["webhookTimestamp"].as_i64().unwrap();
    assert!((now - stamped).abs() < 5_000, "{now} vs {stamped}");

    // A redelivery: the same delivery id, stamped and signed afresh.
    assert_eq!(linear.fake.redeliver_last().await, Ok(200));
    // A replay: stamped ten minutes ago, still correctly signed.
    assert_eq!(
        linear
            .fake
            .redeliver_last_aged(Duration::from_secs(600))
            .await,
        Ok(200)
    );
    let hits = sub.hits();
    assert_eq!(hits.len(), 3);
    for hit in &hits[1..] {
        assert_eq!(hit.header("linear-delivery"), Some(delivery.as_str()));
        assert_eq!(
            hit.header("linear-signature"),
            Some(hmac_hex(SECRET, &hit.body).as_str())
        );
    }
    let aged = hits[2].json()["webhookTimestamp"].as_i64().unwrap();
    assert!(now - aged >= 590_000, "{now} vs {aged}");

    // Over the API too: an update by the key's user.
    let reply = linear
        .gql(
            "mutation($id: String!, $input: IssueUpdateInput!) { issueUpdate(id: $id, input: $input) { success issue { state { name } } } }",
            json!({ "id": "ENG-1", "input": { "stateId": backlog } }),
        )
        .await
        .json();
    assert_eq!(
        reply["data"]["issueUpdate"]["issue"]["state"]["name"],
        "Backlog"
    );
    let hits = sub.wait_for(4).await;
    let event = hits[3].json();
    assert_eq!(event["actor"]["name"], linear::API_USER_NAME);
    assert_eq!(event["updatedFrom"]["stateId"], done.as_str());
    assert_eq!(linear.fake.issue("ENG-1").unwrap().completed_at, None);

    assert_eq!(
        linear.fake.move_to("ENG-9", "completed", "Alice").await,
        Err(LinearError::NoIssue {
            identifier: "ENG-9".into()
        })
    );
}

#[tokio::test]
async fn linear_retries_a_webhook_not_taken() {
    let linear = Linear::start().await;
    linear.fake.retry_delays(&[Duration::from_millis(50); 3]);
    let sub = Subscriber::start().await;
    linear.fake.subscribe(&sub.url, SECRET);
    sub.answer_next(500);
    sub.answer_next(404);
    linear
        .create_issue(json!({ "teamId": TEAM_ID, "title": "x" }))
        .await;
    let hits = sub.wait_for(3).await;
    let delivery = hits[0].header("linear-delivery").unwrap();
    assert!(
        hits.iter()
            .all(|h| h.header("linear-delivery") == Some(delivery))
    );
    let deadline = tokio::time::Instant::now() + WAIT;
    while linear.fake.deliveries().len() < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "attempts not recorded"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let attempts: Vec<(u32, Option<u16>)> = linear
        .fake
        .deliveries()
        .iter()
        .map(|d| (d.attempt, d.status))
        .collect();
    assert_eq!(attempts, [(1, Some(500)), (2, Some(404)), (3, Some(200))]);
}

#[tokio::test]
async fn rate_limited_as_linear_does() {
    let linear = Linear::start().await;
    linear.fake.rate_limit(1);
    let reply = linear
        .create_issue(json!({ "teamId": TEAM_ID, "title": "x" }))
        .await;
    assert_eq!(reply.status, 400);
    let error = &reply.json()["errors"][0];
    assert_eq!(error["message"], "Rate limit exceeded");
    assert_eq!(error["extensions"]["code"], "RATELIMITED");
    assert_eq!(reply.header("x-ratelimit-requests-remaining"), Some("0"));
    let reset: i64 = reply
        .header("x-ratelimit-requests-reset")
        .unwrap()
        .parse()
        .unwrap();
    assert!(reset > chrono::Utc::now().timestamp_millis());
    assert!(linear.fake.issues().is_empty(), "refused, not applied");

    linear.fake.fail_after_applying(1);
    let reply = linear
        .create_issue(json!({ "teamId": TEAM_ID, "title": "x" }))
        .await;
    assert_eq!(reply.status, 500);
    assert_eq!(linear.fake.issues().len(), 1);
    linear.fake.fail(502, 1);
    let reply = linear
        .create_issue(json!({ "teamId": TEAM_ID, "title": "x" }))
        .await;
    assert_eq!(reply.status, 502);
    assert_eq!(linear.fake.issues().len(), 1);
    linear.fake.shutdown().await;
}
