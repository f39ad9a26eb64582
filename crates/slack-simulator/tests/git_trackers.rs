//! The fakes of GitHub Issues (REST v3) and GitLab Issues (REST v4), driven over plain HTTP with
//! reqwest, nothing of the bot involved: creating, finding, paging and conditional reads; the
//! refusals each service answers (auth, validation, rate limits); lost answers; and webhooks
//! received by a small server here, their signature or token checked.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use slack_simulator::github::{self, FakeGitHub};
use slack_simulator::gitlab::{self, FakeGitLab};

const GH_TOKEN: &str = "ghp_fakeToken0123456789";
const GL_TOKEN: &str = "glpat-fake-token-0123";
const REPO: &str = "acme/incidents";
const PROJECT: &str = "acme/ops/incidents";
const SECRET: &str = "webhook-secret";

// --- plain HTTP ---

fn client() -> reqwest::Client {
    slack_simulator::install_tls_provider();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client builds")
}

struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
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

async fn send(request: reqwest::RequestBuilder) -> Reply {
    let response = request.send().await.expect("request answered");
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

/// One webhook the receiver got.
#[derive(Clone, Debug)]
struct Hit {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Hit {
    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {name} header"))
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("webhook body is JSON")
    }
}

/// A webhook receiver on 127.0.0.1 that answers 200 and keeps what it got.
#[derive(Clone)]
struct Receiver {
    url: String,
    hits: Arc<Mutex<Vec<Hit>>>,
}

impl Receiver {
    async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("receiver binds");
        let receiver = Receiver {
            url: format!("http://{}/hook", listener.local_addr().unwrap()),
            hits: Arc::default(),
        };
        let hits = receiver.hits.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let hits = hits.clone();
                async move {
                    hits.lock().unwrap().push(Hit {
                        headers: headers
                            .iter()
                            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_string()))
                            .collect(),
                        body: body.to_vec(),
                    });
                    StatusCode::OK
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        receiver
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }
}

// --- GitHub ---

struct GitHub {
    fake: FakeGitHub,
}

impl GitHub {
    async fn start() -> GitHub {
        GitHub {
            fake: FakeGitHub::start(GH_TOKEN, REPO)
                .await
                .expect("fake GitHub starts"),
        }
    }

    fn url(&self, rest: &str) -> String {
        format!("{}/repos/{REPO}/{rest}", self.fake.api_url())
    }

    /// A request as a well-behaved client sends it: token, User-Agent, API version.
    fn request(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        client()
            .request(method, url)
            .bearer_auth(GH_TOKEN)
            .header("user-agent", "git-trackers-test")
            .header("accept", "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28")
    }

    async fn create(&self, body: Value) -> Reply {
        send(
            self.request(reqwest::Method::POST, &self.url("issues"))
                .json(&body),
        )
        .await
    }

    async fn get(&self, rest: &str) -> Reply {
        send(self.request(reqwest::Method::GET, &self.url(rest))).await
    }

    async fn patch(&self, number: u64, body: Value) -> Reply {
        send(
            self.request(
                reqwest::Method::PATCH,
                &self.url(&format!("issues/{number}")),
            )
            .json(&body),
        )
        .await
    }
}

fn numbers(issues: &Value) -> Vec<u64> {
    issues
        .as_array()
        .expect("an array")
        .iter()
        .map(|i| i["number"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn a_github_issue_created_with_labels_is_listed_by_those_labels() {
    let gh = GitHub::start().await;
    let created = gh
        .create(json!({
            "title": "Follow-up: add a circuit breaker",
            "body": "From INC-7",
            "labels": ["incident", "INC-7"],
        }))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let issue = created.json();
    assert_eq!(issue["number"], 1);
    assert_eq!(issue["state"], "open");
    assert_eq!(issue["state_reason"], Value::Null);
    assert_eq!(issue["body"], "From INC-7");
    assert_eq!(issue["user"]["login"], github::TOKEN_LOGIN);
    assert_eq!(
        issue["html_url"],
        format!("https://github.com/{REPO}/issues/1")
    );
    assert!(issue["id"].as_u64().unwrap() > 1_000_000);
    let names: Vec<&str> = issue["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["incident", "INC-7"]);
    assert_eq!(issue["labels"][0]["default"], false);
    assert_eq!(
        gh.fake.labels(),
        ["incident", "INC-7"],
        "missing labels are created"
    );

    let other = gh
        .create(json!({ "title": "Unrelated", "labels": ["incident"] }))
        .await;
    assert_eq!(other.status, 201);
    let no_body = other.json();
    assert_eq!(no_body["body"], Value::Null, "no body is null, not \"\"");

    let both = gh.get("issues?labels=incident,INC-7").await;
    assert_eq!(both.status, 200);
    assert_eq!(
        numbers(&both.json()),
        [1],
        "an issue must carry every label"
    );
    let either = gh.get("issues?labels=incident").await;
    assert_eq!(numbers(&either.json()), [2, 1], "newest first");
    let ascending = gh.get("issues?labels=incident&direction=asc").await;
    assert_eq!(numbers(&ascending.json()), [1, 2]);
    let case = gh.get("issues?labels=inc-7").await;
    assert_eq!(
        numbers(&case.json()),
        [1],
        "label names compare case-insensitively"
    );
    for header in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-github-request-id",
    ] {
        assert!(both.header(header).is_some(), "{header} on every answer");
    }

    let stored = gh.fake.issue(1).expect("issue 1 kept");
    assert_eq!(stored.labels, ["incident", "INC-7"]);
    assert_eq!(stored.state, "open");
}

#[tokio::test]
async fn a_wrong_token_is_refused_with_githubs_bad_credentials() {
    let gh = GitHub::start().await;
    let wrong = send(
        client()
            .get(gh.url("issues"))
            .header("authorization", "token ghp_wrong")
            .header("user-agent", "test"),
    )
    .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(
        wrong.json(),
        json!({"message":"Bad credentials","documentation_url":"https://docs.github.com/rest","status":"401"})
    );

    let old_scheme = send(
        client()
            .get(gh.url("issues"))
            .header("authorization", format!("token {GH_TOKEN}"))
            .header("user-agent", "test"),
    )
    .await;
    assert_eq!(old_scheme.status, 200, "`token <t>` is accepted as well");

    // The repository is private: an anonymous caller is told it does not exist.
    let anonymous = send(client().get(gh.url("issues")).header("user-agent", "test")).await;
    assert_eq!(anonymous.status, 404);
    assert_eq!(anonymous.json()["message"], "Not Found");

    let other_repo = send(gh.request(
        reqwest::Method::GET,
        &format!("{}/repos/acme/other/issues", gh.fake.api_url()),
    ))
    .await;
    assert_eq!(other_repo.status, 404);
    assert_eq!(other_repo.json()["message"], "Not Found");
    let unknown_issue = gh.get("issues/42").await;
    assert_eq!(unknown_issue.status, 404);
    assert_eq!(gh.fake.requests().len(), 5);
}

#[tokio::test]
async fn a_github_request_without_a_user_agent_is_forbidden() {
    let gh = GitHub::start().await;
    let reply = send(client().get(gh.url("issues")).bearer_auth(GH_TOKEN)).await;
    assert_eq!(reply.status, 403);
    assert!(
        reply
            .text
            .contains("Please make sure your request has a User-Agent header"),
        "{}",
        reply.text
    );
    let unknown_version = send(
        client()
            .get(gh.url("issues"))
            .bearer_auth(GH_TOKEN)
            .header("user-agent", "test")
            .header("x-github-api-version", "2020-01-01"),
    )
    .await;
    assert_eq!(unknown_version.status, 400);
    assert_eq!(
        unknown_version.json()["message"],
        "API version '2020-01-01' is not supported."
    );
}

#[tokio::test]
async fn a_missing_title_is_refused_with_githubs_validation_failed() {
    let gh = GitHub::start().await;
    for body in [json!({ "body": "no title" }), json!({ "title": "  " })] {
        let reply = gh.create(body).await;
        assert_eq!(reply.status, 422);
        assert_eq!(
            reply.json(),
            json!({
                "message": "Validation Failed",
                "errors": [{"resource": "Issue", "code": "missing_field", "field": "title"}],
                "documentation_url": "https://docs.github.com/rest/issues/issues#create-an-issue",
                "status": "422",
            })
        );
    }
    let long = gh.create(json!({ "title": "x".repeat(257) })).await;
    assert_eq!(long.status, 422);
    assert_eq!(
        long.json()["errors"][0]["message"],
        "title is too long (maximum is 256 characters)"
    );
    let labels = gh
        .create(json!({ "title": "t", "labels": "incident" }))
        .await;
    assert_eq!(labels.status, 422);
    assert!(
        labels.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("Invalid request.")
    );
    let assignee = gh
        .create(json!({ "title": "t", "assignees": ["stranger"] }))
        .await;
    assert_eq!(assignee.status, 422);
    assert_eq!(assignee.json()["errors"][0]["field"], "assignees");

    let not_json = send(
        gh.request(reqwest::Method::POST, &gh.url("issues"))
            .header("content-type", "application/json")
            .body("{title: oops"),
    )
    .await;
    assert_eq!(not_json.status, 400);
    assert_eq!(not_json.json()["message"], "Problems parsing JSON");
    assert!(gh.fake.issues().is_empty(), "nothing refused was created");
}

#[tokio::test]
async fn an_unchanged_github_issue_answers_304_to_its_etag() {
    let gh = GitHub::start().await;
    gh.create(json!({ "title": "Watch me" })).await;
    let first = gh.get("issues/1").await;
    assert_eq!(first.status, 200);
    let etag = first.header("etag").expect("an ETag").to_string();
    assert!(etag.starts_with("W/\"") && etag.ends_with('"'), "{etag}");
    let remaining: u32 = first
        .header("x-ratelimit-remaining")
        .unwrap()
        .parse()
        .unwrap();

    let again = send(
        gh.request(reqwest::Method::GET, &gh.url("issues/1"))
            .header("if-none-match", &etag),
    )
    .await;
    assert_eq!(again.status, 304);
    assert!(again.text.is_empty());
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    assert_eq!(
        again.header("x-ratelimit-remaining"),
        Some(remaining.to_string().as_str()),
        "a 304 does not count against the rate limit"
    );

    let closed = gh.patch(1, json!({ "state": "closed" })).await;
    assert_eq!(closed.status, 200);
    assert_eq!(closed.json()["state_reason"], "completed");
    let changed = send(
        gh.request(reqwest::Method::GET, &gh.url("issues/1"))
            .header("if-none-match", &etag),
    )
    .await;
    assert_eq!(changed.status, 200, "a changed issue has a new ETag");
    assert_ne!(changed.header("etag"), Some(etag.as_str()));
    assert_eq!(changed.json()["state"], "closed");
    assert!(changed.json()["closed_at"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn github_lists_pages_with_a_link_header() {
    let gh = GitHub::start().await;
    for n in 1..=5 {
        let reply = gh
            .create(json!({ "title": format!("Issue {n}"), "labels": ["paged"] }))
            .await;
        assert_eq!(reply.status, 201);
    }
    let first = gh.get("issues?labels=paged&state=all&per_page=2").await;
    assert_eq!(numbers(&first.json()), [5, 4]);
    let base = format!(
        "{}/repositories/{}/issues",
        gh.fake.api_url(),
        gh.fake.repo_id()
    );
    assert_eq!(
        first.header("link").expect("a Link header"),
        format!(
            "<{base}?labels=paged&state=all&per_page=2&page=2>; rel=\"next\", \
             <{base}?labels=paged&state=all&per_page=2&page=3>; rel=\"last\""
        )
    );

    // A client follows the links as given, into /repositories/{id}.
    let mut seen = numbers(&first.json());
    let mut link = first.header("link").map(str::to_string);
    while let Some(next) = link.as_deref().and_then(next_link) {
        let page = send(gh.request(reqwest::Method::GET, &next)).await;
        assert_eq!(page.status, 200, "{next}");
        seen.extend(numbers(&page.json()));
        link = page.header("link").map(str::to_string);
    }
    assert_eq!(seen, [5, 4, 3, 2, 1]);

    let last = gh
        .get("issues?labels=paged&state=all&per_page=2&page=3")
        .await;
    let links = last.header("link").unwrap();
    assert!(links.contains("page=2>; rel=\"prev\""), "{links}");
    assert!(links.contains("page=1>; rel=\"first\""), "{links}");
    assert!(!links.contains("rel=\"next\""), "{links}");

    let single = gh.get("issues?labels=paged").await;
    assert_eq!(single.json().as_array().unwrap().len(), 5);
    assert!(single.header("link").is_none(), "one page has no Link");
    let refused = gh.get("issues?creator=someone").await;
    assert_eq!(refused.status, 422, "a filter not served is refused");
}

fn next_link(header: &str) -> Option<String> {
    header.split(", ").find_map(|part| {
        part.strip_suffix("; rel=\"next\"")
            .map(|url| url.trim_matches(|c| c == '<' || c == '>').to_string())
    })
}

#[tokio::test]
async fn closing_a_github_issue_sends_a_signed_webhook() {
    let gh = GitHub::start().await;
    let receiver = Receiver::start().await;
    let hook_id = gh.fake.subscribe(&receiver.url, SECRET);
    gh.create(json!({ "title": "Signed", "labels": ["incident"] }))
        .await;
    gh.fake.settle().await;

    let statuses = gh.fake.close(1, "octocat").await;
    assert_eq!(statuses, [Some(200)]);
    let hits = receiver.hits();
    let actions: Vec<String> = hits
        .iter()
        .map(|h| h.json()["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(actions, ["opened", "labeled", "closed"]);
    assert_eq!(
        hits[0].json()["issue"]["labels"][0]["name"],
        "incident",
        "opened shows the labels"
    );
    assert_eq!(hits[1].json()["label"]["name"], "incident");

    let closed = &hits[2];
    assert_eq!(closed.header("x-github-event"), "issues");
    assert_eq!(closed.header("content-type"), "application/json");
    assert!(closed.header("user-agent").starts_with("GitHub-Hookshot/"));
    assert_eq!(closed.header("x-github-hook-id"), hook_id.to_string());
    let delivery = closed.header("x-github-delivery").to_string();
    assert!(uuid::Uuid::parse_str(&delivery).is_ok(), "{delivery}");
    assert_eq!(
        closed.header("x-hub-signature-256"),
        format!("sha256={}", hmac_hex(SECRET, &closed.body)),
        "an HMAC-SHA256 of the raw body"
    );
    let body = closed.json();
    assert_eq!(body["issue"]["number"], 1);
    assert_eq!(body["issue"]["state"], "closed");
    assert_eq!(body["issue"]["state_reason"], "completed");
    assert_eq!(body["issue"]["closed_by"]["login"], "octocat");
    assert_eq!(body["sender"]["login"], "octocat");
    assert_eq!(body["repository"]["full_name"], REPO);
    assert_eq!(gh.fake.issue(1).unwrap().state, "closed");
    assert!(
        gh.fake.close(1, "octocat").await.is_empty(),
        "closing a closed issue changes nothing"
    );

    // "Redeliver": the same delivery id and the same bytes.
    assert_eq!(gh.fake.redeliver_last().await, Some(200));
    let hits = receiver.hits();
    let again = hits.last().unwrap();
    assert_eq!(again.header("x-github-delivery"), delivery);
    assert_eq!(again.body, closed.body);
    let deliveries = gh.fake.deliveries();
    assert_eq!(deliveries.len(), 4);
    assert!(deliveries[3].redelivery);
    assert_eq!(deliveries[2].action.as_deref(), Some("closed"));
    assert_eq!(deliveries[2].status, Some(200));

    assert_eq!(gh.fake.reopen(1, "octocat").await, [Some(200)]);
    let reopened = receiver.hits().last().unwrap().json();
    assert_eq!(reopened["action"], "reopened");
    assert_eq!(reopened["issue"]["state_reason"], "reopened");

    assert_eq!(gh.fake.send_ping().await, [Some(200)]);
    let ping = receiver.hits().last().unwrap().clone();
    assert_eq!(ping.header("x-github-event"), "ping");
    assert_eq!(ping.json()["hook_id"], hook_id);
}

#[tokio::test]
async fn a_github_patch_edits_relabels_and_closes_with_a_reason() {
    let gh = GitHub::start().await;
    let receiver = Receiver::start().await;
    gh.fake.subscribe(&receiver.url, SECRET);
    gh.create(json!({ "title": "Old title", "labels": ["a", "b"] }))
        .await;
    let reply = gh
        .patch(
            1,
            json!({
                "title": "New title",
                "labels": ["b", "c"],
                "state": "closed",
                "state_reason": "not_planned",
            }),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json()["state_reason"], "not_planned");
    gh.fake.settle().await;
    let events: Vec<(String, Value)> = receiver
        .hits()
        .iter()
        .skip(3)
        .map(|h| {
            let body = h.json();
            (body["action"].as_str().unwrap().to_string(), body)
        })
        .collect();
    let actions: Vec<&str> = events.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(actions, ["edited", "unlabeled", "labeled", "closed"]);
    assert_eq!(events[0].1["changes"]["title"]["from"], "Old title");
    assert_eq!(events[1].1["label"]["name"], "a");
    assert_eq!(events[2].1["label"]["name"], "c");

    let bad = gh.patch(1, json!({ "state": "shut" })).await;
    assert_eq!(bad.status, 422);
    assert_eq!(bad.json()["errors"][0]["field"], "state");
    let reopened = gh.patch(1, json!({ "state": "open" })).await;
    assert_eq!(reopened.json()["state_reason"], "reopened");
    assert_eq!(reopened.json()["closed_at"], Value::Null);
}

#[tokio::test]
async fn a_lost_github_answer_still_created_the_issue() {
    let gh = GitHub::start().await;
    gh.fake.drop_after_applying(1);
    let lost = gh
        .request(reqwest::Method::POST, &gh.url("issues"))
        .json(&json!({ "title": "Lost on the way back" }))
        .send()
        .await;
    assert!(lost.is_err(), "no answer at all");
    assert_eq!(gh.fake.issues().len(), 1, "yet the issue exists");
    assert_eq!(gh.fake.requests()[0].status, None);

    gh.fake.fail_after_applying(1);
    let failed = gh.create(json!({ "title": "Answered 500" })).await;
    assert_eq!(failed.status, 500);
    assert_eq!(gh.fake.issues().len(), 2);

    gh.fake.fail(502, 1);
    let refused = gh.create(json!({ "title": "Never made" })).await;
    assert_eq!(refused.status, 502);
    assert_eq!(gh.fake.issues().len(), 2);

    gh.fake.answer_late(Duration::from_millis(300), 1);
    let started = std::time::Instant::now();
    let late = gh.create(json!({ "title": "Late" })).await;
    assert_eq!(late.status, 201);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn githubs_rate_limit_is_a_403_with_a_reset_time() {
    let gh = GitHub::start().await;
    gh.fake.rate_limit(1);
    let limited = gh.create(json!({ "title": "Too soon" })).await;
    assert_eq!(limited.status, 403);
    assert_eq!(limited.header("x-ratelimit-remaining"), Some("0"));
    let reset: i64 = limited
        .header("x-ratelimit-reset")
        .unwrap()
        .parse()
        .unwrap();
    assert!(reset >= chrono::Utc::now().timestamp());
    assert!(
        limited.header("retry-after").is_none(),
        "primary limit: no Retry-After"
    );
    assert!(
        limited.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("API rate limit exceeded for")
    );
    assert!(gh.fake.issues().is_empty());
    let then = gh.create(json!({ "title": "Later" })).await;
    assert_eq!(then.status, 201);
    assert_ne!(then.header("x-ratelimit-remaining"), Some("0"));
}

// --- GitLab ---

struct GitLab {
    fake: FakeGitLab,
}

impl GitLab {
    async fn start() -> GitLab {
        GitLab {
            fake: FakeGitLab::start(GL_TOKEN, PROJECT)
                .await
                .expect("fake GitLab starts"),
        }
    }

    fn url(&self, rest: &str) -> String {
        format!(
            "{}/api/v4/projects/{}/{rest}",
            self.fake.url(),
            PROJECT.replace('/', "%2F")
        )
    }

    fn request(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        client()
            .request(method, url)
            .header("PRIVATE-TOKEN", GL_TOKEN)
    }

    async fn create(&self, body: Value) -> Reply {
        send(
            self.request(reqwest::Method::POST, &self.url("issues"))
                .json(&body),
        )
        .await
    }

    async fn get(&self, rest: &str) -> Reply {
        send(self.request(reqwest::Method::GET, &self.url(rest))).await
    }

    async fn put(&self, iid: u64, body: Value) -> Reply {
        send(
            self.request(reqwest::Method::PUT, &self.url(&format!("issues/{iid}")))
                .json(&body),
        )
        .await
    }
}

fn iids(issues: &Value) -> Vec<u64> {
    issues
        .as_array()
        .expect("an array")
        .iter()
        .map(|i| i["iid"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn a_gitlab_issue_created_with_labels_is_found_by_labels_and_search() {
    let gl = GitLab::start().await;
    let created = gl
        .create(json!({
            "title": "Follow-up: rotate the keys",
            "description": "Details\n\n<!-- incident-commander:INC-3:abc123 -->",
            "labels": "incident,INC-3",
        }))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let issue = created.json();
    assert_eq!(issue["iid"], 1);
    assert_eq!(issue["project_id"], gl.fake.project_id());
    assert_eq!(issue["state"], "opened");
    assert_eq!(issue["labels"], json!(["incident", "INC-3"]));
    assert_eq!(
        issue["web_url"],
        format!("{}/{PROJECT}/-/issues/1", gl.fake.url())
    );
    assert_eq!(issue["author"]["username"], gitlab::TOKEN_USERNAME);

    // Form parameters work too, as GitLab takes them.
    let form = send(
        gl.request(reqwest::Method::POST, &gl.url("issues"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("title=Second&labels=incident"),
    )
    .await;
    assert_eq!(form.status, 201, "{}", form.text);

    let both = gl.get("issues?labels=incident,INC-3").await;
    assert_eq!(iids(&both.json()), [1]);
    let any = gl.get("issues?labels=incident").await;
    assert_eq!(iids(&any.json()), [2, 1], "created_at desc");
    let found = gl
        .get("issues?labels=incident&search=incident-commander:INC-3:abc123&in=description")
        .await;
    assert_eq!(iids(&found.json()), [1]);
    let in_title_only = gl
        .get("issues?search=incident-commander:INC-3:abc123&in=title")
        .await;
    assert!(iids(&in_title_only.json()).is_empty());
    let case = gl.get("issues?labels=inc-3").await;
    assert!(
        iids(&case.json()).is_empty(),
        "GitLab label titles are case-sensitive"
    );
    let by_id = send(gl.request(
        reqwest::Method::GET,
        &format!(
            "{}/api/v4/projects/{}/issues/1",
            gl.fake.url(),
            gl.fake.project_id()
        ),
    ))
    .await;
    assert_eq!(by_id.status, 200, "the numeric id addresses the project");
    assert_eq!(gl.fake.issue(1).unwrap().labels, ["incident", "INC-3"]);
}

#[tokio::test]
async fn gitlab_checks_the_private_token_header() {
    let gl = GitLab::start().await;
    let wrong = send(
        client()
            .get(gl.url("issues"))
            .header("PRIVATE-TOKEN", "glpat-wrong"),
    )
    .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.json(), json!({ "message": "401 Unauthorized" }));

    let bearer = send(client().get(gl.url("issues")).bearer_auth(GL_TOKEN)).await;
    assert_eq!(bearer.status, 200, "a Bearer token works too");

    // The project is private: without a token it does not exist.
    let anonymous = send(client().get(gl.url("issues"))).await;
    assert_eq!(anonymous.status, 404);
    assert_eq!(
        anonymous.json(),
        json!({ "message": "404 Project Not Found" })
    );

    let other = send(gl.request(
        reqwest::Method::GET,
        &format!("{}/api/v4/projects/acme%2Fother/issues", gl.fake.url()),
    ))
    .await;
    assert_eq!(other.json(), json!({ "message": "404 Project Not Found" }));
    let unknown = gl.get("issues/9").await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.json(), json!({ "message": "404 Not found" }));
    let unencoded = send(gl.request(
        reqwest::Method::GET,
        &format!("{}/api/v4/projects/{PROJECT}/issues", gl.fake.url()),
    ))
    .await;
    assert_eq!(unencoded.status, 404, "the path must be URL-encoded");
}

#[tokio::test]
async fn a_missing_title_is_refused_by_gitlab() {
    let gl = GitLab::start().await;
    let missing = gl.create(json!({ "description": "no title" })).await;
    assert_eq!(missing.status, 400);
    assert_eq!(missing.json(), json!({ "error": "title is missing" }));
    let blank = gl.create(json!({ "title": "" })).await;
    assert_eq!(blank.status, 400);
    assert_eq!(
        blank.json(),
        json!({ "message": { "title": ["can't be blank"] } })
    );
    let long = gl.create(json!({ "title": "x".repeat(256) })).await;
    assert_eq!(
        long.json()["message"]["title"][0],
        "is too long (maximum is 255 characters)"
    );
    assert!(gl.fake.issues().is_empty());

    gl.create(json!({ "title": "ok" })).await;
    let bad_event = gl.put(1, json!({ "state_event": "shut" })).await;
    assert_eq!(bad_event.status, 400);
    assert_eq!(
        bad_event.json(),
        json!({ "error": "state_event does not have a valid value" })
    );
    let nothing = gl.put(1, json!({})).await;
    assert_eq!(nothing.status, 400);
    let bad_state = gl.get("issues?state=open").await;
    assert_eq!(
        bad_state.json(),
        json!({ "error": "state does not have a valid value" }),
        "GitLab says opened, not open"
    );
}

#[tokio::test]
async fn gitlab_pages_with_x_next_page_and_a_link_header() {
    let gl = GitLab::start().await;
    for n in 1..=5 {
        gl.create(json!({ "title": format!("Issue {n}"), "labels": "paged" }))
            .await;
    }
    let first = gl.get("issues?labels=paged&per_page=2").await;
    assert_eq!(iids(&first.json()), [5, 4]);
    assert_eq!(first.header("x-page"), Some("1"));
    assert_eq!(first.header("x-per-page"), Some("2"));
    assert_eq!(first.header("x-next-page"), Some("2"));
    assert_eq!(first.header("x-prev-page"), Some(""));
    assert_eq!(first.header("x-total"), Some("5"));
    assert_eq!(first.header("x-total-pages"), Some("3"));
    let link = first.header("link").unwrap();
    assert!(
        link.contains("labels=paged&page=2&per_page=2>; rel=\"next\""),
        "{link}"
    );
    assert!(link.contains("page=1&per_page=2>; rel=\"first\""), "{link}");
    assert!(link.contains("page=3&per_page=2>; rel=\"last\""), "{link}");

    let mut seen = Vec::new();
    let mut page = "1".to_string();
    while !page.is_empty() {
        let reply = gl
            .get(&format!("issues?labels=paged&per_page=2&page={page}"))
            .await;
        seen.extend(iids(&reply.json()));
        page = reply.header("x-next-page").unwrap().to_string();
    }
    assert_eq!(seen, [5, 4, 3, 2, 1]);
    let last = gl.get("issues?labels=paged&per_page=2&page=3").await;
    assert_eq!(last.header("x-next-page"), Some(""));
    assert_eq!(last.header("x-prev-page"), Some("2"));

    gl.put(2, json!({ "state_event": "close" })).await;
    let opened = gl.get("issues?state=opened&labels=paged").await;
    assert_eq!(iids(&opened.json()), [5, 4, 3, 1]);
    let everything = gl.get("issues?labels=paged").await;
    assert_eq!(
        iids(&everything.json()).len(),
        5,
        "no state means every state"
    );
    let refused = gl.get("issues?author_username=someone").await;
    assert_eq!(refused.status, 400, "a filter not served is refused");
}

#[tokio::test]
async fn an_unchanged_gitlab_issue_answers_304_to_its_etag() {
    let gl = GitLab::start().await;
    gl.create(json!({ "title": "Watch me" })).await;
    let first = gl.get("issues/1").await;
    let etag = first.header("etag").expect("an ETag").to_string();
    assert!(etag.starts_with("W/\"") && etag.len() == 36, "{etag}");
    let again = send(
        gl.request(reqwest::Method::GET, &gl.url("issues/1"))
            .header("if-none-match", &etag),
    )
    .await;
    assert_eq!(again.status, 304);
    assert!(again.text.is_empty());

    gl.put(1, json!({ "state_event": "close" })).await;
    let changed = send(
        gl.request(reqwest::Method::GET, &gl.url("issues/1"))
            .header("if-none-match", &etag),
    )
    .await;
    assert_eq!(changed.status, 200);
    assert_eq!(changed.json()["state"], "closed");
    assert_eq!(
        changed.json()["closed_by"]["username"],
        gitlab::TOKEN_USERNAME
    );
}

#[tokio::test]
async fn closing_a_gitlab_issue_sends_an_issue_hook_with_its_token() {
    let gl = GitLab::start().await;
    let receiver = Receiver::start().await;
    gl.fake.subscribe(&receiver.url, SECRET);
    gl.create(json!({ "title": "Hooked", "labels": "incident" }))
        .await;
    gl.fake.settle().await;
    assert_eq!(gl.fake.close(1, "jane.doe").await, [Some(200)]);

    let hits = receiver.hits();
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].json()["object_attributes"]["action"], "open");
    let close = &hits[1];
    assert_eq!(close.header("x-gitlab-event"), "Issue Hook");
    assert_eq!(
        close.header("x-gitlab-token"),
        SECRET,
        "the token as configured, not a signature"
    );
    assert_eq!(close.header("x-gitlab-instance"), gl.fake.url());
    assert!(close.header("user-agent").starts_with("GitLab/17."));
    assert!(uuid::Uuid::parse_str(close.header("x-gitlab-event-uuid")).is_ok());
    assert!(uuid::Uuid::parse_str(close.header("x-gitlab-webhook-uuid")).is_ok());
    let body = close.json();
    assert_eq!(body["object_kind"], "issue");
    assert_eq!(body["event_type"], "issue");
    assert_eq!(body["user"]["username"], "jane.doe");
    assert_eq!(body["project"]["id"], gl.fake.project_id());
    assert_eq!(body["project"]["path_with_namespace"], PROJECT);
    assert_eq!(body["object_attributes"]["iid"], 1);
    assert_eq!(body["object_attributes"]["state"], "closed");
    assert_eq!(body["object_attributes"]["action"], "close");
    assert_eq!(
        body["object_attributes"]["url"],
        format!("{}/{PROJECT}/-/issues/1", gl.fake.url())
    );
    assert_eq!(
        body["changes"]["state_id"],
        json!({ "previous": 1, "current": 2 })
    );
    assert_eq!(body["labels"][0]["title"], "incident");
    assert_eq!(
        gl.fake.issue(1).unwrap().closed_by.as_deref(),
        Some("jane.doe")
    );

    // "Resend request": the same body and idempotency key, a new event UUID.
    assert_eq!(gl.fake.redeliver_last().await, Some(200));
    let hits = receiver.hits();
    let resent = hits.last().unwrap();
    assert_eq!(resent.body, close.body);
    assert_eq!(
        resent.header("idempotency-key"),
        close.header("idempotency-key")
    );
    assert_ne!(
        resent.header("x-gitlab-event-uuid"),
        close.header("x-gitlab-event-uuid")
    );
    assert!(gl.fake.deliveries().last().unwrap().redelivery);

    // Through the API: reopening sends `reopen`, an edit sends `update` with its changes.
    let reply = gl.put(1, json!({ "state_event": "reopen" })).await;
    assert_eq!(reply.json()["state"], "opened");
    let reply = gl
        .put(1, json!({ "title": "Renamed", "add_labels": "INC-9" }))
        .await;
    assert_eq!(reply.json()["labels"], json!(["incident", "INC-9"]));
    gl.fake.settle().await;
    let hits = receiver.hits();
    let reopen = hits[hits.len() - 2].json();
    assert_eq!(reopen["object_attributes"]["action"], "reopen");
    assert_eq!(
        reopen["changes"]["state_id"],
        json!({ "previous": 2, "current": 1 })
    );
    let update = hits.last().unwrap().json();
    assert_eq!(update["object_attributes"]["action"], "update");
    assert_eq!(
        update["changes"]["title"],
        json!({ "previous": "Hooked", "current": "Renamed" })
    );
    assert_eq!(update["changes"]["labels"]["current"][1]["title"], "INC-9");
}

#[tokio::test]
async fn gitlabs_rate_limit_is_a_429_with_retry_after() {
    let gl = GitLab::start().await;
    gl.fake.rate_limit(1);
    let limited = gl.create(json!({ "title": "Too soon" })).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.text.trim(), "Retry later");
    assert_eq!(limited.header("retry-after"), Some("1"));
    assert_eq!(limited.header("ratelimit-remaining"), Some("0"));
    assert!(limited.header("ratelimit-limit").is_some());
    assert!(limited.header("ratelimit-reset").is_some());
    assert!(gl.fake.issues().is_empty());
    assert_eq!(gl.create(json!({ "title": "Later" })).await.status, 201);
}

#[tokio::test]
async fn a_lost_gitlab_answer_still_created_the_issue() {
    let gl = GitLab::start().await;
    gl.fake.drop_after_applying(1);
    let lost = gl
        .request(reqwest::Method::POST, &gl.url("issues"))
        .json(&json!({ "title": "Lost" }))
        .send()
        .await;
    assert!(lost.is_err());
    assert_eq!(gl.fake.issues().len(), 1);
    gl.fake.fail_after_applying(1);
    assert_eq!(gl.create(json!({ "title": "500" })).await.status, 500);
    assert_eq!(gl.fake.issues().len(), 2);
    gl.fake.fail(503, 2);
    gl.fake.clear_faults();
    assert_eq!(gl.create(json!({ "title": "fine" })).await.status, 201);
    gl.fake.fail(503, 1);
    let refused = gl.create(json!({ "title": "refused" })).await;
    assert_eq!(refused.status, 503);
    assert_eq!(
        refused.json(),
        json!({ "message": "503 Service Unavailable" })
    );
    assert_eq!(gl.fake.issues().len(), 3);
    gl.fake.shutdown().await;
}
