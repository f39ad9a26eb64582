//! Several workspaces, one app, installed through Slack's OAuth v2 flow — driven over plain
//! HTTP (reqwest) as the bot would drive it: the authorize page, the redirect with its code,
//! `oauth.v2.access` (Basic auth or form credentials, token rotation), the tokens working only
//! in their own workspace, uninstalls and their events, and the workspace each envelope
//! carries. The bot's side of the envelopes is a small HTTP server behind `use_request_urls`
//! that acks everything and keeps what it was sent.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::Uri;
use serde_json::{Value, json};
use slack_morphism::prelude::*;
use slack_simulator::{
    BOT_ID, BOT_USER_ID, SimulatorConfig, SlackSimulator, TEAM_ID, ViewInput, WorkspaceAction,
};

const ALICE: &str = "U0ALICE";
const ACME: &str = "T0ACME";
const ACME_BOT: &str = "U0ACMEBOT";
const CAROL: &str = "U0CAROL";
const DAVE: &str = "U0DAVE";
const REDIRECT: &str = "https://bot.example.com/slack/oauth_redirect";
const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const WAIT: Duration = Duration::from_secs(10);
const SCOPES: &str =
    "commands,chat:write,channels:read,channels:manage,channels:history,users:read";

/// The first workspace with Alice, and Acme (not installed) with Carol, its admin.
async fn start(config: SimulatorConfig) -> SlackSimulator {
    let sim = SlackSimulator::start(config)
        .await
        .expect("simulator starts");
    sim.add_user(ALICE, "alice");
    sim.add_workspace(ACME, "acme", "Acme");
    sim.add_user_in(ACME, CAROL, "carol");
    sim.add_user_in(ACME, DAVE, "dave");
    sim
}

fn client() -> reqwest::Client {
    slack_simulator::install_tls_provider();
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// A Web API call with `token` and a JSON body: (status, `x-oauth-scopes`, answer).
async fn call(
    sim: &SlackSimulator,
    token: &str,
    method: &str,
    params: Value,
) -> (u16, Option<String>, Value) {
    let response = client()
        .post(format!("{}/{method}", sim.api_url()))
        .bearer_auth(token)
        .header("content-type", "application/json; charset=utf-8")
        .body(params.to_string())
        .send()
        .await
        .expect("the simulator answers");
    let status = response.status().as_u16();
    let scopes = response
        .headers()
        .get("x-oauth-scopes")
        .map(|v| v.to_str().expect("ascii").to_string());
    let body = response.json().await.expect("JSON");
    (status, scopes, body)
}

async fn ok(sim: &SlackSimulator, token: &str, method: &str, params: Value) -> Value {
    let (_, _, answer) = call(sim, token, method, params.clone()).await;
    assert_eq!(answer["ok"], true, "{method} {params} → {answer}");
    answer
}

async fn fails(sim: &SlackSimulator, token: &str, method: &str, params: Value, error: &str) {
    let (_, _, answer) = call(sim, token, method, params.clone()).await;
    assert_eq!(answer["ok"], false, "{method} {params} → {answer}");
    assert_eq!(answer["error"], error, "{method} {params} → {answer}");
}

/// `oauth.v2.access` as a form POST with the client credentials as HTTP Basic auth.
async fn access_basic(
    sim: &SlackSimulator,
    id: &str,
    secret: &str,
    fields: &[(&str, &str)],
) -> Value {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    client()
        .post(format!("{}/oauth.v2.access", sim.api_url()))
        .basic_auth(id, Some(secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("the simulator answers")
        .json()
        .await
        .expect("JSON")
}

/// `oauth.v2.access` with the app's own credentials, as Basic auth.
async fn access(sim: &SlackSimulator, fields: &[(&str, &str)]) -> Value {
    let config = SimulatorConfig::default();
    access_basic(sim, &config.client_id, &config.client_secret, fields).await
}

/// The authorize URL the bot builds.
fn authorize_url(sim: &SlackSimulator, scopes: &str, state: &str) -> String {
    let mut url = url::Url::parse(&sim.oauth_authorize_url()).expect("URL");
    url.query_pairs_mut()
        .append_pair("client_id", &SimulatorConfig::default().client_id)
        .append_pair("scope", scopes)
        .append_pair("user_scope", "")
        .append_pair("state", state)
        .append_pair("redirect_uri", REDIRECT);
    url.to_string()
}

/// A query parameter of `url`.
fn query(url: &str, key: &str) -> Option<String> {
    url::Url::parse(url)
        .expect("URL")
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// The whole dance: authorize, approve, exchange; returns the exchange's answer.
async fn install(sim: &SlackSimulator, team: &str, installer: &str, scopes: &str) -> Value {
    let redirect = sim
        .approve_install(&authorize_url(sim, scopes, "s1"), team, installer)
        .expect("approved");
    let code = query(&redirect, "code").expect("a code");
    let answer = access(sim, &[("code", &code), ("redirect_uri", REDIRECT)]).await;
    assert_eq!(answer["ok"], true, "{answer}");
    answer
}

fn token_of(answer: &Value) -> String {
    answer["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

/// Slack's clock, held by the test.
fn hold_clock(sim: &SlackSimulator) -> Arc<AtomicI64> {
    let now = Arc::new(AtomicI64::new(1_750_000_000));
    let clock = now.clone();
    sim.use_clock(move || {
        chrono::DateTime::from_timestamp(clock.load(Ordering::SeqCst), 0).expect("a time")
    });
    now
}

// --- the bot's request URLs ---

/// What the bot was POSTed: (path, body).
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<(String, String)>>>);

impl Received {
    fn all(&self) -> Vec<(String, String)> {
        self.0.lock().expect("lock").clone()
    }

    /// The events (JSON bodies of `/slack/events`), once `count` arrived.
    async fn events(&self, count: usize) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let events: Vec<Value> = self
                .all()
                .into_iter()
                .filter(|(path, _)| path == "/slack/events")
                .map(|(_, body)| serde_json::from_str(&body).expect("JSON event"))
                .collect();
            if events.len() >= count {
                return events;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {} of {count} events arrived: {events:#?}",
                events.len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The first request to `path` once it arrived.
    async fn first(&self, path: &str) -> String {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some((_, body)) = self.all().into_iter().find(|(p, _)| p == path) {
                return body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "nothing POSTed to {path}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// A bot that acks everything with an empty 200; envelopes go to it from now on.
async fn serve_bot(sim: &SlackSimulator) -> Received {
    let received = Received::default();
    async fn handle(State(received): State<Received>, uri: Uri, body: String) -> &'static str {
        received
            .0
            .lock()
            .expect("lock")
            .push((uri.path().to_string(), body));
        ""
    }
    let app = Router::new().fallback(handle).with_state(received.clone());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("bind");
    let url = format!(
        "http://127.0.0.1:{}",
        listener.local_addr().expect("addr").port()
    );
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serves") });
    sim.use_request_urls(&[url], SECRET);
    received
}

// --- tests ---

#[tokio::test]
async fn the_oauth_dance_installs_the_app_with_exactly_the_scopes_asked_for() {
    let sim = start(SimulatorConfig::default()).await;
    assert_eq!(sim.installed_workspaces(), vec![TEAM_ID]);
    assert_eq!(sim.bot_user_in(ACME).as_deref(), Some(ACME_BOT));
    assert_eq!(sim.bot_id_in(ACME).as_deref(), Some("B0ACMEBOT"));
    assert_eq!(sim.bot_user_in(TEAM_ID).as_deref(), Some(BOT_USER_ID));

    // What the admin's browser shows.
    let authorize = authorize_url(&sim, SCOPES, "xyz 42/?");
    let page = client().get(&authorize).send().await.expect("page");
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.expect("html");
    assert!(
        html.contains("<html") && html.contains("chat:write"),
        "{html}"
    );
    let bad = client()
        .get(format!(
            "{}?client_id=nope&scope=commands",
            sim.oauth_authorize_url()
        ))
        .send()
        .await
        .expect("page");
    assert_eq!(bad.status().as_u16(), 400);

    // Allow: back to the redirect URI with a code and the state as given.
    let redirect = sim
        .approve_install(&authorize, ACME, CAROL)
        .expect("approved");
    assert!(
        redirect.starts_with(&format!("{REDIRECT}?code=")),
        "{redirect}"
    );
    assert_eq!(query(&redirect, "state").as_deref(), Some("xyz 42/?"));
    let code = query(&redirect, "code").expect("code");
    assert_eq!(sim.installed_workspaces(), vec![TEAM_ID, ACME]);

    let answer = access(&sim, &[("code", &code), ("redirect_uri", REDIRECT)]).await;
    let token = token_of(&answer);
    assert!(token.starts_with("xoxb-"), "{token}");
    assert_eq!(
        answer,
        json!({
            "ok": true,
            "access_token": token,
            "token_type": "bot",
            "scope": SCOPES,
            "bot_user_id": ACME_BOT,
            "app_id": "A0EXAMPLE",
            "team": { "name": "Acme", "id": ACME },
            "enterprise": null,
            "authed_user": { "id": CAROL },
            "is_enterprise_install": false,
        })
    );
    // What slack-morphism (the bot's client) reads of it.
    let parsed: SlackOAuthV2AccessTokenResponse =
        serde_json::from_value(answer.clone()).expect("slack-morphism parses the answer");
    assert_eq!(parsed.team.id.0, ACME);
    assert_eq!(sim.bot_token_in(ACME).as_deref(), Some(token.as_str()));

    // A code works once.
    let again = access(&sim, &[("code", &code), ("redirect_uri", REDIRECT)]).await;
    assert_eq!(again["error"], "code_already_used", "{again}");

    // The token names its workspace and carries exactly the scopes asked for.
    let (_, scopes, me) = call(&sim, &token, "auth.test", json!({})).await;
    assert_eq!(me["team_id"], ACME);
    assert_eq!(me["team"], "Acme");
    assert_eq!(me["url"], "https://acme.slack.com/");
    assert_eq!(me["user_id"], ACME_BOT);
    assert_eq!(me["bot_id"], "B0ACMEBOT");
    assert_eq!(me["is_enterprise_install"], false);
    assert_eq!(scopes.as_deref(), Some(SCOPES));
    let (_, _, refused) = call(&sim, &token, "pins.list", json!({ "channel": "C1" })).await;
    assert_eq!(refused["error"], "missing_scope");
    assert_eq!(refused["provided"], SCOPES);
    assert_eq!(refused["needed"], "pins:read");

    // The first workspace is as configured.
    let config = SimulatorConfig::default();
    let first = ok(&sim, &config.bot_token, "auth.test", json!({})).await;
    assert_eq!(first["team_id"], TEAM_ID);
    assert_eq!(first["team"], "Example");
    assert_eq!(first["url"], "https://example.slack.com/");
    assert_eq!(first["user_id"], BOT_USER_ID);
    assert_eq!(first["bot_id"], BOT_ID);

    let transcript = sim.transcript();
    assert!(
        transcript.contains(&format!(
            "@carol installed the app in Acme (T0ACME): {}",
            SCOPES.replace(',', ", ")
        )),
        "{transcript}"
    );
    assert!(
        !transcript.contains(&token),
        "no token in the transcript:\n{transcript}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn oauth_v2_access_refuses_wrong_credentials_redirects_codes_and_grant_types() {
    let sim = start(SimulatorConfig::default()).await;
    let now = hold_clock(&sim);
    let config = SimulatorConfig::default();
    let redirect = sim
        .approve_install(&authorize_url(&sim, SCOPES, "s"), ACME, CAROL)
        .expect("approved");
    let code = query(&redirect, "code").expect("code");
    let with_code = [("code", code.as_str()), ("redirect_uri", REDIRECT)];

    let wrong_secret = access_basic(&sim, &config.client_id, "guess", &with_code).await;
    assert_eq!(wrong_secret["error"], "bad_client_secret", "{wrong_secret}");
    let wrong_id = access_basic(&sim, "999.999", &config.client_secret, &with_code).await;
    assert_eq!(wrong_id["error"], "invalid_client_id", "{wrong_id}");
    let elsewhere = access(
        &sim,
        &[("code", &code), ("redirect_uri", "https://evil.example/cb")],
    )
    .await;
    assert_eq!(elsewhere["error"], "bad_redirect_uri", "{elsewhere}");
    let unknown = access(&sim, &[("code", "123.456.nope")]).await;
    assert_eq!(unknown["error"], "invalid_code", "{unknown}");
    let grant = access(&sim, &[("code", &code), ("grant_type", "password")]).await;
    assert_eq!(grant["error"], "invalid_grant_type", "{grant}");
    let refresh = access(
        &sim,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "xoxe-1-x"),
        ],
    )
    .await;
    assert_eq!(refresh["error"], "invalid_refresh_token", "{refresh}");

    // None of that used the code up; the credentials may also come as form fields.
    let form: Value = client()
        .post(format!("{}/oauth.v2.access", sim.api_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("client_id", &config.client_id)
                .append_pair("client_secret", &config.client_secret)
                .append_pair("code", &code)
                .finish(),
        )
        .send()
        .await
        .expect("answer")
        .json()
        .await
        .expect("JSON");
    assert_eq!(form["ok"], true, "{form}");

    // A code expires after ten minutes.
    let redirect = sim
        .approve_install(&authorize_url(&sim, SCOPES, "s"), ACME, CAROL)
        .expect("approved");
    let late = query(&redirect, "code").expect("code");
    now.fetch_add(10 * 60 + 1, Ordering::SeqCst);
    let expired = access(&sim, &[("code", &late)]).await;
    assert_eq!(expired["error"], "invalid_code", "{expired}");

    // Cancel: back with access_denied and the state; nothing installed.
    sim.uninstall(ACME);
    let denied = sim
        .deny_install(&authorize_url(&sim, SCOPES, "st"), ACME, CAROL)
        .expect("a redirect");
    assert_eq!(denied, format!("{REDIRECT}?error=access_denied&state=st"));
    assert_eq!(sim.installed_workspaces(), vec![TEAM_ID]);

    // What the authorize page itself refuses.
    let no_scope = authorize_url(&sim, "", "s");
    assert!(
        sim.approve_install(&no_scope, ACME, CAROL)
            .unwrap_err()
            .starts_with("invalid_scope")
    );
    let other_app =
        authorize_url(&sim, SCOPES, "s").replace("client_id=1234.5678", "client_id=1.2");
    assert!(
        sim.approve_install(&other_app, ACME, CAROL)
            .unwrap_err()
            .starts_with("invalid_client_id")
    );
    assert!(
        sim.approve_install(&authorize_url(&sim, SCOPES, "s"), ACME, ALICE)
            .is_err()
    );
    let transcript = sim.transcript();
    assert!(
        transcript.contains("@carol declined to install the app in Acme (T0ACME)"),
        "{transcript}"
    );
    assert!(
        transcript.contains("✗ oauth.v2.access failed: bad_client_secret"),
        "{transcript}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_token_works_only_in_its_own_workspace_where_channel_names_repeat() {
    let sim = start(SimulatorConfig::default()).await;
    let first_token = SimulatorConfig::default().bot_token;
    let acme_token = token_of(&install(&sim, ACME, CAROL, SCOPES).await);

    let ours = sim.add_channel("incidents", false, true);
    let theirs = sim.add_channel_in(ACME, "incidents", false, true);
    assert_ne!(ours, theirs);
    let acme_channel = sim.channel_by_name_in(ACME, "#incidents").expect("acme's");
    assert_eq!(acme_channel.id, theirs);
    assert_eq!(acme_channel.team_id, ACME);
    assert!(acme_channel.members.contains(&ACME_BOT.to_string()));
    assert_eq!(sim.channel_by_name("incidents").expect("ours").id, ours);
    assert_eq!(sim.channel(&ours).expect("ours").team_id, TEAM_ID);

    // Each token sees its own #incidents, by id or name, and not the other's.
    let info = ok(
        &sim,
        &acme_token,
        "conversations.info",
        json!({ "channel": theirs }),
    )
    .await;
    assert_eq!(info["channel"]["context_team_id"], ACME);
    assert_eq!(info["channel"]["is_member"], true);
    fails(
        &sim,
        &acme_token,
        "conversations.info",
        json!({ "channel": ours }),
        "channel_not_found",
    )
    .await;
    fails(
        &sim,
        &first_token,
        "conversations.info",
        json!({ "channel": theirs }),
        "channel_not_found",
    )
    .await;
    fails(
        &sim,
        &acme_token,
        "chat.postMessage",
        json!({ "channel": ours, "text": "hi" }),
        "channel_not_found",
    )
    .await;
    fails(
        &sim,
        &acme_token,
        "conversations.history",
        json!({ "channel": ours }),
        "channel_not_found",
    )
    .await;
    let posted = ok(
        &sim,
        &acme_token,
        "chat.postMessage",
        json!({ "channel": "#incidents", "text": "hi" }),
    )
    .await;
    assert_eq!(posted["channel"], theirs);
    assert_eq!(posted["message"]["user"], ACME_BOT);
    assert_eq!(posted["message"]["bot_id"], "B0ACMEBOT");
    assert_eq!(posted["message"]["app_id"], "A0EXAMPLE");
    assert!(sim.channel(&ours).expect("ours").messages.is_empty());
    let history = ok(
        &sim,
        &acme_token,
        "conversations.history",
        json!({ "channel": theirs }),
    )
    .await;
    assert_eq!(history["messages"].as_array().map(Vec::len), Some(1));

    // Users belong to their workspace.
    let carol = ok(&sim, &acme_token, "users.info", json!({ "user": CAROL })).await;
    assert_eq!(carol["user"]["team_id"], ACME);
    assert_eq!(carol["user"]["profile"]["email"], "carol@acme.com");
    fails(
        &sim,
        &acme_token,
        "users.info",
        json!({ "user": ALICE }),
        "user_not_found",
    )
    .await;
    fails(
        &sim,
        &first_token,
        "users.info",
        json!({ "user": CAROL }),
        "user_not_found",
    )
    .await;

    // Listing and creating stay within the workspace; names clash only there.
    let listed = ok(&sim, &acme_token, "conversations.list", json!({})).await;
    let ids: Vec<&str> = listed["channels"]
        .as_array()
        .expect("channels")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(ids, vec![theirs.as_str()]);
    fails(
        &sim,
        &acme_token,
        "conversations.create",
        json!({ "name": "incidents" }),
        "name_taken",
    )
    .await;
    let created = ok(
        &sim,
        &acme_token,
        "conversations.create",
        json!({ "name": "inc-1" }),
    )
    .await;
    assert_eq!(created["channel"]["creator"], ACME_BOT);
    let same_name = ok(
        &sim,
        &first_token,
        "conversations.create",
        json!({ "name": "inc-1" }),
    )
    .await;
    assert_ne!(created["channel"]["id"], same_name["channel"]["id"]);
    let new_channel = sim
        .channel(created["channel"]["id"].as_str().expect("id"))
        .expect("created");
    assert_eq!(new_channel.team_id, ACME);
    assert_eq!(new_channel.members, vec![ACME_BOT.to_string()]);

    // Inviting someone of another workspace: unknown here.
    let inc = created["channel"]["id"].as_str().expect("id").to_string();
    let (_, _, invite) = call(
        &sim,
        &acme_token,
        "conversations.invite",
        json!({ "channel": inc, "users": ALICE }),
    )
    .await;
    assert_eq!(invite["error"], "user_not_found", "{invite}");
    ok(
        &sim,
        &acme_token,
        "conversations.invite",
        json!({ "channel": inc, "users": DAVE }),
    )
    .await;

    // The transcript tells the two #incidents apart.
    let transcript = sim.transcript();
    assert!(
        transcript.contains("bot in #incidents (acme): hi"),
        "{transcript}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_reinstall_mints_a_new_token_and_the_old_one_answers_invalid_auth() {
    let sim = start(SimulatorConfig::default()).await;
    let first = token_of(&install(&sim, ACME, CAROL, SCOPES).await);
    ok(&sim, &first, "auth.test", json!({})).await;

    let second = install(&sim, ACME, DAVE, "commands,chat:write").await;
    let second_token = token_of(&second);
    assert_ne!(first, second_token);
    assert_eq!(second["authed_user"]["id"], DAVE);
    assert_eq!(second["scope"], "commands,chat:write");
    fails(&sim, &first, "auth.test", json!({}), "invalid_auth").await;
    let (_, scopes, _) = call(&sim, &second_token, "auth.test", json!({})).await;
    assert_eq!(scopes.as_deref(), Some("commands,chat:write"));
    assert_eq!(sim.bot_token_in(ACME), Some(second_token.clone()));

    // An approval whose code was never exchanged is replaced too.
    let stale = sim
        .approve_install(&authorize_url(&sim, SCOPES, "s"), ACME, CAROL)
        .expect("approved");
    install(&sim, ACME, CAROL, SCOPES).await;
    let code = query(&stale, "code").expect("code");
    let answer = access(&sim, &[("code", &code)]).await;
    assert_eq!(answer["error"], "invalid_code", "{answer}");

    // The first workspace can be reinstalled through OAuth too: the configured token dies.
    let configured = SimulatorConfig::default().bot_token;
    let fresh = token_of(&install(&sim, TEAM_ID, "U0ADMIN", SCOPES).await);
    fails(&sim, &configured, "auth.test", json!({}), "invalid_auth").await;
    let me = ok(&sim, &fresh, "auth.test", json!({})).await;
    assert_eq!(me["user_id"], BOT_USER_ID);
    sim.shutdown().await;
}

#[tokio::test]
async fn with_token_rotation_a_refresh_token_renews_an_expiring_token() {
    let config = SimulatorConfig {
        token_rotation: true,
        ..SimulatorConfig::default()
    };
    let sim = start(config).await;
    let now = hold_clock(&sim);
    let answer = install(&sim, ACME, CAROL, SCOPES).await;
    let token = token_of(&answer);
    let refresh = answer["refresh_token"]
        .as_str()
        .expect("refresh_token")
        .to_string();
    assert!(token.starts_with("xoxe.xoxb-1-"), "{token}");
    assert!(refresh.starts_with("xoxe-1-"), "{refresh}");
    assert_eq!(answer["expires_in"], 43200);
    assert_eq!(answer["token_type"], "bot");
    ok(&sim, &token, "auth.test", json!({})).await;

    // Twelve hours later it has expired.
    now.fetch_add(12 * 60 * 60, Ordering::SeqCst);
    fails(&sim, &token, "auth.test", json!({}), "token_expired").await;

    let renewed = access(
        &sim,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(renewed["ok"], true, "{renewed}");
    let new_token = token_of(&renewed);
    let new_refresh = renewed["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    assert!(
        new_token.starts_with("xoxe.xoxb-1-") && new_token != token,
        "{renewed}"
    );
    assert!(
        new_refresh.starts_with("xoxe-1-") && new_refresh != refresh,
        "{renewed}"
    );
    assert_eq!(renewed["expires_in"], 43200);
    assert_eq!(renewed["team"]["id"], ACME);
    assert_eq!(renewed["bot_user_id"], ACME_BOT);
    assert_eq!(renewed["scope"], SCOPES);
    let me = ok(&sim, &new_token, "auth.test", json!({})).await;
    assert_eq!(me["team_id"], ACME);

    // A refresh token is used once.
    let reused = access(
        &sim,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(reused["error"], "invalid_refresh_token", "{reused}");

    // A test can expire the current token at once.
    sim.expire_tokens(ACME);
    fails(&sim, &new_token, "auth.test", json!({}), "token_expired").await;
    let again = access(
        &sim,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &new_refresh),
        ],
    )
    .await;
    ok(&sim, &token_of(&again), "auth.test", json!({})).await;

    // The configured token of the first workspace predates rotation: it never expires.
    now.fetch_add(365 * 24 * 60 * 60, Ordering::SeqCst);
    ok(
        &sim,
        &SimulatorConfig::default().bot_token,
        "auth.test",
        json!({}),
    )
    .await;
    sim.shutdown().await;
}

#[tokio::test]
async fn uninstalling_sends_tokens_revoked_then_app_uninstalled_and_kills_the_token() {
    let config = SimulatorConfig {
        token_rotation: true,
        ..SimulatorConfig::default()
    };
    let sim = start(config).await;
    let bot = serve_bot(&sim).await;
    let answer = install(&sim, ACME, CAROL, SCOPES).await;
    let token = token_of(&answer);
    let refresh = answer["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    let channel = sim.add_channel_in(ACME, "incidents", false, true);
    let card = ok(
        &sim,
        &token,
        "chat.postMessage",
        json!({
            "channel": channel,
            "text": "card",
            "blocks": [{ "type": "actions", "elements": [{
                "type": "button", "action_id": "ack", "text": { "type": "plain_text", "text": "Ack" },
            }]}],
        }),
    )
    .await;
    let card_ts = card["ts"].as_str().expect("ts").to_string();
    // The bot's own post comes back as an event.
    let before = bot.events(1).await.len();

    sim.uninstall(ACME);
    let events = bot.events(before + 2).await.split_off(before);
    let kinds: Vec<&str> = events
        .iter()
        .filter_map(|e| e["event"]["type"].as_str())
        .collect();
    assert_eq!(kinds, vec!["tokens_revoked", "app_uninstalled"]);
    assert_eq!(events[0]["type"], "event_callback");
    assert_eq!(events[0]["team_id"], ACME);
    assert_eq!(events[0]["api_app_id"], "A0EXAMPLE");
    assert_eq!(
        events[0]["event"]["tokens"],
        json!({ "oauth": [], "bot": [ACME_BOT] })
    );
    assert_eq!(events[1]["team_id"], ACME);
    assert_eq!(events[1]["event"], json!({ "type": "app_uninstalled" }));
    // What slack-morphism makes of them.
    let parsed: SlackPushEvent = serde_json::from_value(events[1].clone()).expect("parses");
    assert!(matches!(
        parsed,
        SlackPushEvent::EventCallback(SlackPushEventCallback {
            event: SlackEventCallbackBody::AppUninstalled(_),
            ..
        })
    ));
    let parsed: SlackPushEvent = serde_json::from_value(events[0].clone()).expect("parses");
    assert!(matches!(parsed, SlackPushEvent::EventCallback(_)));

    // The token and its refresh token are dead; the workspace is gone from the app.
    fails(&sim, &token, "auth.test", json!({}), "account_inactive").await;
    let renewed = access(
        &sim,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(renewed["error"], "invalid_refresh_token", "{renewed}");
    assert_eq!(sim.installed_workspaces(), vec![TEAM_ID]);
    assert_eq!(sim.bot_token_in(ACME), None);

    // Nothing more from Acme reaches the app, though people go on.
    sim.post_as(CAROL, &channel, "anyone there?");
    assert!(sim.click(CAROL, &channel, &card_ts, "ack").is_none());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(bot.events(0).await.len(), before + 2);
    assert!(bot.all().iter().all(|(path, _)| path == "/slack/events"));
    // The first workspace is untouched.
    let ours = sim.add_channel("incidents", false, true);
    sim.post_as(ALICE, &ours, "still here");
    let events = bot.events(before + 3).await;
    assert_eq!(events[before + 2]["team_id"], TEAM_ID);

    // Uninstalling where the app is not installed does nothing.
    sim.uninstall(ACME);
    let transcript = sim.transcript();
    assert_eq!(
        transcript.matches("Acme (T0ACME) removed the app").count(),
        1,
        "{transcript}"
    );
    assert!(
        transcript.contains("  → event tokens_revoked sent to the bot"),
        "{transcript}"
    );
    assert!(
        transcript.contains("  → event app_uninstalled sent to the bot"),
        "{transcript}"
    );
    assert!(sim.events().iter().any(|e| matches!(
        e,
        slack_simulator::SimEvent::Action { action: WorkspaceAction::Uninstalled { team_id }, .. } if team_id == ACME
    )));
    sim.shutdown().await;
}

#[tokio::test]
async fn envelopes_carry_the_workspace_they_come_from() {
    let sim = start(SimulatorConfig::default()).await;
    let bot = serve_bot(&sim).await;
    let token = token_of(&install(&sim, ACME, CAROL, SCOPES).await);
    let theirs = sim.add_channel_in(ACME, "incidents", false, true);
    let ours = sim.add_channel("incidents", false, true);

    // A slash command: its form carries the channel's workspace.
    let command = sim.slash_command(CAROL, &theirs, "new checkout is down");
    assert_eq!(command.payload["team_id"], ACME);
    assert_eq!(command.payload["team_domain"], "acme");
    let form = bot.first("/slack/commands").await;
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(form.as_bytes())
        .into_owned()
        .collect();
    assert!(fields.contains(&("team_id".into(), ACME.into())), "{form}");
    assert!(
        fields.contains(&("team_domain".into(), "acme".into())),
        "{form}"
    );
    let parsed: SlackCommandEvent =
        serde_urlencoded_like(&fields).expect("slack-morphism parses the command");
    assert_eq!(parsed.team_id.0, ACME);
    let first = sim.slash_command(ALICE, &ours, "help");
    assert_eq!(first.payload["team_id"], TEAM_ID);
    assert_eq!(first.payload["team_domain"], "example");

    // An event: its workspace and authorizations name that workspace's bot.
    let event = sim
        .pin(CAROL, &theirs, &sim.post_as(CAROL, &theirs, "pin me"))
        .expect("pin_added");
    assert_eq!(event.payload["team_id"], ACME);
    assert_eq!(
        event.payload["authorizations"],
        json!([{
            "enterprise_id": null,
            "team_id": ACME,
            "user_id": ACME_BOT,
            "is_bot": true,
            "is_enterprise_install": false,
        }])
    );
    assert_eq!(event.payload["api_app_id"], "A0EXAMPLE");
    let parsed: SlackPushEvent = serde_json::from_value(event.payload.clone()).expect("parses");
    let SlackPushEvent::EventCallback(callback) = parsed else {
        panic!("an event_callback");
    };
    assert_eq!(
        callback.authorizations.expect("authorizations")[0]
            .user_id
            .0,
        ACME_BOT
    );
    let ours_event = sim
        .pin(ALICE, &ours, &sim.post_as(ALICE, &ours, "ours"))
        .expect("pin_added");
    assert_eq!(
        ours_event.payload["authorizations"][0]["user_id"],
        BOT_USER_ID
    );
    assert_eq!(ours_event.payload["team_id"], TEAM_ID);

    // An interaction: its team and user.
    let posted = ok(
        &sim,
        &token,
        "chat.postMessage",
        json!({
            "channel": theirs,
            "text": "card",
            "blocks": [{ "type": "actions", "elements": [{
                "type": "button", "action_id": "ack", "text": { "type": "plain_text", "text": "Ack" },
            }]}],
        }),
    )
    .await;
    let ts = posted["ts"].as_str().expect("ts");
    let click = sim.click(DAVE, &theirs, ts, "ack").expect("a click");
    assert_eq!(
        click.payload["team"],
        json!({ "id": ACME, "domain": "acme" })
    );
    assert_eq!(click.payload["user"]["id"], DAVE);
    assert_eq!(click.payload["user"]["team_id"], ACME);
    assert_eq!(click.payload["enterprise"], Value::Null);
    assert_eq!(click.payload["is_enterprise_install"], false);

    // A modal opened with that click's trigger is Acme's, and so is its submission.
    let trigger = click.payload["trigger_id"].as_str().expect("trigger");
    let modal = json!({
        "type": "modal",
        "callback_id": "note",
        "title": { "type": "plain_text", "text": "Note" },
        "submit": { "type": "plain_text", "text": "Save" },
        "blocks": [{ "type": "input", "block_id": "b", "label": { "type": "plain_text", "text": "Note" },
            "element": { "type": "plain_text_input", "action_id": "a" } }],
    });
    let first_token = SimulatorConfig::default().bot_token;
    fails(
        &sim,
        &first_token,
        "views.open",
        json!({ "trigger_id": trigger, "view": modal }),
        "invalid_trigger_id",
    )
    .await;
    let opened = ok(
        &sim,
        &token,
        "views.open",
        json!({ "trigger_id": trigger, "view": modal }),
    )
    .await;
    assert_eq!(opened["view"]["team_id"], ACME);
    assert_eq!(opened["view"]["bot_id"], "B0ACMEBOT");
    let view_id = opened["view"]["id"].as_str().expect("id");
    let submission = sim.submit_view(DAVE, view_id, &[("b", ViewInput::Text("ok".into()))]);
    assert_eq!(submission.payload["team"]["id"], ACME);
    sim.shutdown().await;
}

/// A slash command's form as slack-morphism's `SlackCommandEvent` (which the bot's HTTP
/// receiver builds from the form fields).
fn serde_urlencoded_like(
    fields: &[(String, String)],
) -> Result<SlackCommandEvent, serde_json::Error> {
    let object: serde_json::Map<String, Value> = fields
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    serde_json::from_value(Value::Object(object))
}

#[tokio::test]
async fn an_org_wide_install_works_in_every_workspace_of_the_org() {
    let sim = start(SimulatorConfig::default()).await;
    let bot = serve_bot(&sim).await;
    sim.add_workspace("T0GLOBEX1", "globex-sales", "Globex Sales");
    sim.add_workspace("T0GLOBEX2", "globex-ops", "Globex Ops");
    sim.add_user_in("T0GLOBEX1", "U0ERIN", "erin");
    sim.add_user_in("T0GLOBEX2", "U0FRANK", "frank");
    sim.add_enterprise("E0GLOBEX", "Globex", &["T0GLOBEX1", "T0GLOBEX2"]);
    assert_eq!(sim.bot_user_in("T0GLOBEX1").as_deref(), Some("U0GLOBEXBOT"));
    assert_eq!(sim.bot_user_in("T0GLOBEX2").as_deref(), Some("U0GLOBEXBOT"));

    let redirect = sim
        .approve_org_install(&authorize_url(&sim, SCOPES, "org"), "E0GLOBEX", "U0ERIN")
        .expect("approved");
    let code = query(&redirect, "code").expect("code");
    let answer = access(&sim, &[("code", &code), ("redirect_uri", REDIRECT)]).await;
    let token = token_of(&answer);
    assert_eq!(
        answer,
        json!({
            "ok": true,
            "access_token": token,
            "token_type": "bot",
            "scope": SCOPES,
            "bot_user_id": "U0GLOBEXBOT",
            "app_id": "A0EXAMPLE",
            "team": null,
            "enterprise": { "name": "Globex", "id": "E0GLOBEX" },
            "authed_user": { "id": "U0ERIN" },
            "is_enterprise_install": true,
        })
    );
    assert_eq!(
        sim.installed_workspaces(),
        vec![TEAM_ID, "T0GLOBEX1", "T0GLOBEX2"]
    );
    let me = ok(&sim, &token, "auth.test", json!({})).await;
    assert_eq!(me["is_enterprise_install"], true);
    assert_eq!(me["enterprise_id"], "E0GLOBEX");

    // One token, both workspaces; nothing outside the org.
    let sales = sim.add_channel_in("T0GLOBEX1", "incidents", false, true);
    let ops = sim.add_channel_in("T0GLOBEX2", "incidents", false, true);
    ok(
        &sim,
        &token,
        "chat.postMessage",
        json!({ "channel": sales, "text": "a" }),
    )
    .await;
    ok(
        &sim,
        &token,
        "chat.postMessage",
        json!({ "channel": ops, "text": "b" }),
    )
    .await;
    let ours = sim.add_channel("incidents", false, true);
    fails(
        &sim,
        &token,
        "chat.postMessage",
        json!({ "channel": ours, "text": "c" }),
        "channel_not_found",
    )
    .await;
    let created = ok(
        &sim,
        &token,
        "conversations.create",
        json!({ "name": "inc-9", "team_id": "T0GLOBEX2" }),
    )
    .await;
    let created = sim
        .channel(created["channel"]["id"].as_str().expect("id"))
        .expect("created");
    assert_eq!(created.team_id, "T0GLOBEX2");
    fails(
        &sim,
        &token,
        "conversations.create",
        json!({ "name": "x", "team_id": ACME }),
        "team_access_not_granted",
    )
    .await;

    // What the app is sent from the org's workspaces says so.
    let command = sim.slash_command("U0FRANK", &ops, "list");
    assert_eq!(command.payload["team_id"], "T0GLOBEX2");
    assert_eq!(command.payload["enterprise_id"], "E0GLOBEX");
    assert_eq!(command.payload["enterprise_name"], "Globex");
    assert_eq!(command.payload["is_enterprise_install"], "true");
    let event = sim
        .pin("U0ERIN", &sales, &sim.post_as("U0ERIN", &sales, "x"))
        .expect("pin_added");
    assert_eq!(event.payload["enterprise_id"], "E0GLOBEX");
    assert_eq!(
        event.payload["authorizations"][0]["enterprise_id"],
        "E0GLOBEX"
    );
    assert_eq!(
        event.payload["authorizations"][0]["is_enterprise_install"],
        true
    );
    assert_eq!(event.payload["authorizations"][0]["user_id"], "U0GLOBEXBOT");
    let posted = ok(
        &sim,
        &token,
        "chat.postMessage",
        json!({
            "channel": ops,
            "text": "card",
            "blocks": [{ "type": "actions", "elements": [{
                "type": "button", "action_id": "ack", "text": { "type": "plain_text", "text": "Ack" },
            }]}],
        }),
    )
    .await;
    let click = sim
        .click("U0FRANK", &ops, posted["ts"].as_str().expect("ts"), "ack")
        .expect("click");
    assert_eq!(
        click.payload["enterprise"],
        json!({ "id": "E0GLOBEX", "name": "Globex" })
    );
    assert_eq!(click.payload["is_enterprise_install"], true);
    assert_eq!(click.payload["team"]["id"], "T0GLOBEX2");
    bot.first("/slack/interactivity").await;

    // Removing the app from one workspace leaves the other.
    sim.uninstall("T0GLOBEX1");
    fails(
        &sim,
        &token,
        "chat.postMessage",
        json!({ "channel": sales, "text": "d" }),
        "channel_not_found",
    )
    .await;
    ok(
        &sim,
        &token,
        "chat.postMessage",
        json!({ "channel": ops, "text": "e" }),
    )
    .await;
    sim.uninstall("T0GLOBEX2");
    fails(&sim, &token, "auth.test", json!({}), "account_inactive").await;
    let transcript = sim.transcript();
    assert!(
        transcript.contains(&format!(
            "@erin installed the app org-wide in Globex (E0GLOBEX): {}",
            SCOPES.replace(',', ", ")
        )),
        "{transcript}"
    );
    sim.shutdown().await;
}
