//! Many workspaces, one deployment: installations made through Slack's OAuth flow, their tokens
//! sealed at rest. The store keeps installations on both backends (a reinstall keeps what the
//! workspace configured, an org-wide install serves its organisation's workspaces, refreshed
//! tokens are stored once however many replicas refresh); the app seals and opens them and
//! reseals them after a key rotation; the install routes verify their state and exchange the
//! code with a stand-in for Slack's `oauth.v2.access` as strict as the real one.
//!
//! Every test runs on SQLite, and on PostgreSQL when `TEST_DATABASE_URL` is set.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use base64::Engine;
use chrono::{DateTime, Utc};
use incident_commander::app::installs;
use incident_commander::config::workspaces::OAuth;
use incident_commander::slack::SlackError;
use incident_commander::slack::oauth::{self, Grant, Installs, OAuthClient};
use incident_commander::store::{self, Installation, Store};
use incident_commander::tokens::{SealError, TokenKey, TokenKeys};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::helpers::test_db;

fn t(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("time")
}

fn keys() -> TokenKeys {
    TokenKeys::new(TokenKey::from_bytes(&[1; 32]), None)
}

fn installation(team_id: &str, at: DateTime<Utc>) -> Installation {
    Installation {
        team_id: team_id.into(),
        enterprise_id: None,
        is_enterprise_install: false,
        team_name: format!("{team_id} corp"),
        bot_user_id: "U0BOT".into(),
        scopes: vec!["commands".into(), "chat:write".into()],
        installer: Some("U0ALICE".into()),
        bot_token: "v1.00000000.sealed-bot".into(),
        refresh_token: None,
        token_expires_at: None,
        installed_at: at,
        updated_at: at,
        uninstalled_at: None,
        settings: json!({}),
    }
}

fn grant(team_id: &str, bot_token: &str, refresh_token: Option<&str>) -> Grant {
    Grant {
        team_id: team_id.into(),
        team_name: "Acme".into(),
        enterprise_id: None,
        enterprise_name: None,
        is_enterprise_install: false,
        bot_user_id: "U0BOT".into(),
        scopes: vec!["commands".into()],
        installer: Some("U0ALICE".into()),
        bot_token: SecretString::from(bot_token.to_string()),
        refresh_token: refresh_token.map(|t| SecretString::from(t.to_string())),
        expires_in: refresh_token.map(|_| Duration::from_secs(43200)),
    }
}

async fn store() -> (crate::helpers::TestDb, Store) {
    let db = test_db().await;
    let store = store::connect(&db.url).await.expect("the test database");
    (db, store)
}

#[tokio::test]
async fn an_installation_is_kept_as_saved_and_a_reinstall_keeps_its_first_day_and_its_settings() {
    let (_db, s) = store().await;
    assert_eq!(s.installation("T0ACME").await.expect("read"), None);

    let mut first = installation("T0ACME", t(0));
    first.refresh_token = Some("v1.00000000.sealed-refresh".into());
    first.token_expires_at = Some(t(43200));
    let saved = s.save_installation(&first).await.expect("saved");
    assert_eq!(saved, first);
    assert_eq!(s.installation("T0ACME").await.expect("read"), Some(first));

    assert!(
        s.set_installation_settings("T0ACME", &json!({ "channel_prefix": "acme" }))
            .await
            .expect("set")
    );
    assert!(
        !s.set_installation_settings("T0NOBODY", &json!({}))
            .await
            .expect("set"),
        "no such installation"
    );
    assert!(s.mark_uninstalled("T0ACME", t(100)).await.expect("marked"));

    let mut again = installation("T0ACME", t(200));
    again.team_name = "Acme, renamed".into();
    again.bot_user_id = "U0BOT2".into();
    again.scopes = vec!["commands".into()];
    again.installer = Some("U0BOB".into());
    again.bot_token = "v1.00000000.new-bot".into();
    let saved = s.save_installation(&again).await.expect("reinstalled");
    assert_eq!(saved.installed_at, t(0), "first installed then");
    assert_eq!(saved.updated_at, t(200));
    assert_eq!(saved.uninstalled_at, None, "active again");
    assert_eq!(saved.settings, json!({ "channel_prefix": "acme" }));
    assert_eq!(saved.team_name, "Acme, renamed");
    assert_eq!(saved.bot_user_id, "U0BOT2");
    assert_eq!(saved.scopes, ["commands"]);
    assert_eq!(saved.installer.as_deref(), Some("U0BOB"));
    assert_eq!(saved.bot_token, "v1.00000000.new-bot");
    assert_eq!(saved.refresh_token, None, "the new grant has no rotation");
    assert_eq!(saved.token_expires_at, None);
    assert_eq!(s.installation("T0ACME").await.expect("read"), Some(saved));
}

#[tokio::test]
async fn a_workspace_is_served_by_its_own_installation_else_by_its_organisations() {
    let (_db, s) = store().await;
    let mut org = installation("E0GROUP", t(0));
    org.enterprise_id = Some("E0GROUP".into());
    org.is_enterprise_install = true;
    s.save_installation(&org).await.expect("org-wide");
    let mut own = installation("T0OWN", t(10));
    own.enterprise_id = Some("E0GROUP".into());
    s.save_installation(&own).await.expect("own");

    let served = |team: &'static str, enterprise: Option<&'static str>| {
        let s = s.clone();
        async move {
            s.installation_serving(team, enterprise)
                .await
                .expect("read")
                .map(|i| i.team_id)
        }
    };
    assert_eq!(
        served("T0OWN", Some("E0GROUP")).await.as_deref(),
        Some("T0OWN")
    );
    assert_eq!(
        served("T0OTHER", Some("E0GROUP")).await.as_deref(),
        Some("E0GROUP"),
        "another workspace of the organisation"
    );
    assert_eq!(served("T0OTHER", None).await, None);
    assert_eq!(served("T0OTHER", Some("E0ELSEWHERE")).await, None);
    let read = s
        .installation("E0GROUP")
        .await
        .expect("read")
        .expect("there");
    assert!(read.is_enterprise_install, "the boolean reads back");

    assert!(s.mark_uninstalled("T0OWN", t(20)).await.expect("marked"));
    assert!(
        !s.mark_uninstalled("T0OWN", t(30)).await.expect("marked"),
        "only once"
    );
    assert!(!s.mark_uninstalled("T0NOBODY", t(30)).await.expect("marked"));
    assert_eq!(
        served("T0OWN", Some("E0GROUP")).await.as_deref(),
        Some("E0GROUP"),
        "its own is gone; the organisation's still serves it"
    );
    assert!(s.mark_uninstalled("E0GROUP", t(40)).await.expect("marked"));
    assert_eq!(served("T0OTHER", Some("E0GROUP")).await, None);

    let all = s.installations().await.expect("all");
    assert_eq!(
        all.iter().map(|i| i.team_id.as_str()).collect::<Vec<_>>(),
        ["E0GROUP", "T0OWN"],
        "active or not, oldest first"
    );
    assert_eq!(all[1].uninstalled_at, Some(t(20)));
    assert!(!all[1].active());
}

#[tokio::test]
async fn refreshed_tokens_are_stored_once_when_two_replicas_refresh_at_once() {
    let (_db, s) = store().await;
    let read = s
        .save_installation(&installation("T0ACME", t(0)))
        .await
        .expect("saved");
    // Both replicas read the installation at t(0), and both refreshed within that millisecond.
    assert!(
        s.replace_tokens(
            "T0ACME",
            "v1.00000000.bot-a",
            Some("v1.00000000.refresh-a"),
            Some(t(43200)),
            read.updated_at,
            t(0)
        )
        .await
        .expect("replaced")
    );
    assert!(
        !s.replace_tokens(
            "T0ACME",
            "v1.00000000.bot-b",
            Some("v1.00000000.refresh-b"),
            Some(t(43201)),
            read.updated_at,
            t(1)
        )
        .await
        .expect("refused"),
        "the second read a version that is gone"
    );
    let now = s
        .installation("T0ACME")
        .await
        .expect("read")
        .expect("there");
    assert_eq!(now.bot_token, "v1.00000000.bot-a");
    assert_eq!(now.refresh_token.as_deref(), Some("v1.00000000.refresh-a"));
    assert_eq!(now.token_expires_at, Some(t(43200)));
    assert!(now.updated_at > read.updated_at);
    assert!(
        s.replace_tokens(
            "T0ACME",
            "v1.00000000.bot-c",
            None,
            None,
            now.updated_at,
            t(60)
        )
        .await
        .expect("replaced"),
        "whoever read the new version may refresh again"
    );
}

#[tokio::test]
async fn a_recorded_grant_is_sealed_and_opens_only_as_its_own_workspaces_bot_token() {
    let (_db, s) = store().await;
    let keys = keys();
    let recorded = installs::record(
        &s,
        &keys,
        &grant("T0ACME", "xoxe.xoxb-acme", Some("xoxe-1-acme")),
        t(0),
    )
    .await
    .expect("recorded");
    assert!(
        recorded
            .bot_token
            .starts_with(&format!("v1.{}.", keys.current_id()))
    );
    assert!(!recorded.bot_token.contains("xox"), "sealed, not plain");
    assert!(
        !recorded
            .refresh_token
            .as_deref()
            .unwrap_or("xox")
            .contains("xox")
    );
    assert_eq!(recorded.token_expires_at, Some(t(43200)));
    assert_eq!(recorded.installed_at, t(0));
    assert_eq!(recorded.settings, json!({}));
    assert_eq!(
        installs::bot_token(&keys, &recorded)
            .expect("opens")
            .expose_secret(),
        "xoxe.xoxb-acme"
    );
    assert_eq!(
        installs::refresh_token(&keys, &recorded)
            .expect("opens")
            .map(|t| t.expose_secret().to_string())
            .as_deref(),
        Some("xoxe-1-acme")
    );

    // Someone with write access to the database copies Acme's sealed token into their own row.
    let other = installs::record(&s, &keys, &grant("T0EVIL", "xoxb-evil", None), t(5))
        .await
        .expect("recorded");
    let mut copied = other.clone();
    copied.bot_token = recorded.bot_token.clone();
    s.save_installation(&copied).await.expect("saved");
    let copied = s
        .installation("T0EVIL")
        .await
        .expect("read")
        .expect("there");
    assert!(matches!(
        installs::bot_token(&keys, &copied),
        Err(SealError::Rejected { .. })
    ));
    // Nor does a refresh token open as a bot token.
    let mut swapped = recorded.clone();
    swapped.bot_token = recorded.refresh_token.clone().expect("rotation");
    assert!(installs::bot_token(&keys, &swapped).is_err());
}

#[tokio::test]
async fn refreshed_tokens_are_sealed_and_a_stale_refresh_is_refused() {
    let (_db, s) = store().await;
    let keys = keys();
    let read = installs::record(
        &s,
        &keys,
        &grant("T0ACME", "xoxe.xoxb-1", Some("xoxe-1-r1")),
        t(0),
    )
    .await
    .expect("recorded");
    let fresh = grant("T0ACME", "xoxe.xoxb-2", Some("xoxe-1-r2"));
    assert!(
        installs::refreshed(&s, &keys, &read, &fresh, t(40000))
            .await
            .expect("stored")
    );
    let other_replica = grant("T0ACME", "xoxe.xoxb-3", Some("xoxe-1-r3"));
    assert!(
        !installs::refreshed(&s, &keys, &read, &other_replica, t(40000))
            .await
            .expect("refused"),
        "it refreshed from a stale read"
    );
    let now = s
        .installation("T0ACME")
        .await
        .expect("read")
        .expect("there");
    assert_eq!(
        installs::bot_token(&keys, &now)
            .expect("opens")
            .expose_secret(),
        "xoxe.xoxb-2"
    );
    assert_eq!(
        installs::refresh_token(&keys, &now)
            .expect("opens")
            .map(|t| t.expose_secret().to_string())
            .as_deref(),
        Some("xoxe-1-r2")
    );
    assert_eq!(now.token_expires_at, Some(t(40000 + 43200)));
    assert_eq!(now.installed_at, t(0));
}

#[tokio::test]
async fn after_a_key_rotation_every_token_is_resealed_with_the_new_key_once() {
    let (_db, s) = store().await;
    let old = keys();
    installs::record(
        &s,
        &old,
        &grant("T0ACME", "xoxe.xoxb-acme", Some("xoxe-1-acme")),
        t(0),
    )
    .await
    .expect("recorded");
    installs::record(&s, &old, &grant("T0BETA", "xoxb-beta", None), t(1))
        .await
        .expect("recorded");
    assert!(s.mark_uninstalled("T0BETA", t(2)).await.expect("marked"));
    let before = s
        .installation("T0ACME")
        .await
        .expect("read")
        .expect("there");

    let new_key = TokenKey::from_bytes(&[2; 32]);
    let forgot_the_old_key = TokenKeys::new(new_key.clone(), None);
    let said = installs::reseal(&s, &forgot_the_old_key)
        .await
        .expect_err("the old key is needed")
        .to_string();
    assert!(said.contains("T0ACME"), "{said}");
    assert!(said.contains(old.current_id()), "{said}");
    assert!(said.contains("set TOKEN_ENCRYPTION_KEY_PREVIOUS"), "{said}");
    assert!(!said.contains("xox"), "{said}");

    let rotating = TokenKeys::new(new_key.clone(), Some(TokenKey::from_bytes(&[1; 32])));
    assert_eq!(installs::reseal(&s, &rotating).await.expect("resealed"), 2);
    assert_eq!(
        installs::reseal(&s, &rotating).await.expect("resealed"),
        0,
        "nothing is left under the old key"
    );
    let only_new = TokenKeys::new(new_key, None);
    for i in s.installations().await.expect("all") {
        assert!(only_new.sealed_with_current(&i.bot_token), "{}", i.team_id);
        installs::bot_token(&only_new, &i).expect("opens without the old key");
        installs::refresh_token(&only_new, &i).expect("opens without the old key");
    }
    let after = s
        .installation("T0ACME")
        .await
        .expect("read")
        .expect("there");
    assert_eq!(
        installs::bot_token(&only_new, &after)
            .expect("opens")
            .expose_secret(),
        "xoxe.xoxb-acme"
    );
    assert_eq!(
        after.updated_at, before.updated_at,
        "the same tokens: a refresh in flight still lands"
    );
    assert!(
        s.installation("T0BETA")
            .await
            .expect("read")
            .expect("there")
            .uninstalled_at
            .is_some(),
        "an uninstalled workspace's tokens are resealed too, and it stays uninstalled"
    );
}

// --- the install routes, against a stand-in for Slack's oauth.v2.access ---

const CLIENT_ID: &str = "2141029472.691202649728";
const CLIENT_SECRET: &str = "3c5f1e0b9a8d7c6b5a4f3e2d1c0b9a8d";

/// What the stand-in was asked: the form fields of each call.
#[derive(Clone, Default)]
struct Asked(Arc<Mutex<Vec<HashMap<String, String>>>>);

impl Asked {
    fn calls(&self) -> Vec<HashMap<String, String>> {
        self.0.lock().expect("lock").clone()
    }
}

/// `oauth.v2.access` as Slack answers it: the client's credentials as Basic auth, a form body,
/// `good-code` for Acme (with token rotation), `org-code` for an org-wide install, a refresh of
/// `xoxe-1-r1` (once: a refresh token is spent by its use); anything else `invalid_code` (or
/// `invalid_refresh_token`).
async fn access(State(asked): State<Asked>, headers: HeaderMap, body: String) -> axum::Json<Value> {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let spent = {
        let mut calls = asked.0.lock().expect("lock");
        let spent = calls.iter().any(|c| {
            c.contains_key("refresh_token") && c.get("refresh_token") == form.get("refresh_token")
        });
        calls.push(form.clone());
        spent
    };
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    let authorized = headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&basic);
    let form_encoded = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !authorized || !form_encoded {
        return axum::Json(json!({ "ok": false, "error": "invalid_client_id" }));
    }
    let acme = |token: &str, refresh: &str| {
        json!({
            "ok": true, "app_id": "A0APP", "token_type": "bot",
            "access_token": token, "refresh_token": refresh, "expires_in": 43200,
            "scope": "commands,chat:write", "bot_user_id": "U0BOT",
            "team": { "id": "T0ACME", "name": "Acme <&> Co" }, "enterprise": null,
            "is_enterprise_install": false, "authed_user": { "id": "U0ALICE" }
        })
    };
    let answer = match form.get("grant_type").map(String::as_str) {
        Some("refresh_token") => match form.get("refresh_token").map(String::as_str) {
            Some("xoxe-1-r1") if !spent => acme("xoxe.xoxb-2", "xoxe-1-r2"),
            _ => json!({ "ok": false, "error": "invalid_refresh_token" }),
        },
        _ => match form.get("code").map(String::as_str) {
            Some("good-code") => acme("xoxe.xoxb-1", "xoxe-1-r1"),
            Some("org-code") => json!({
                "ok": true, "app_id": "A0APP", "token_type": "bot", "access_token": "xoxb-org",
                "scope": "commands", "bot_user_id": "W0BOT", "team": null,
                "enterprise": { "id": "E0GROUP", "name": "Group" },
                "is_enterprise_install": true, "authed_user": { "id": "W0ADMIN" }
            }),
            _ => json!({ "ok": false, "error": "invalid_code" }),
        },
    };
    axum::Json(answer)
}

/// Records every grant with `app::installs::record`, as the application will.
struct Recorder {
    store: Store,
    keys: TokenKeys,
    now: DateTime<Utc>,
}

#[async_trait::async_trait]
impl Installs for Recorder {
    async fn installed(&self, grant: Grant) -> Result<String, String> {
        installs::record(&self.store, &self.keys, &grant, self.now)
            .await
            .map(|i| i.team_name)
            .map_err(|e| e.to_string())
    }
}

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let addr = listener.local_addr().expect("an address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

struct Flow {
    _db: crate::helpers::TestDb,
    store: Store,
    oauth: OAuth,
    api_url: url::Url,
    base: String,
    asked: Asked,
    clock: Arc<Mutex<DateTime<Utc>>>,
    browser: reqwest::Client,
}

async fn flow() -> Flow {
    incident_commander::install_crypto_provider();
    let (db, store) = store().await;
    let asked = Asked::default();
    let slack = serve(
        axum::Router::new()
            .route("/api/oauth.v2.access", post(access))
            .with_state(asked.clone()),
    )
    .await;
    let api_url = url::Url::parse(&format!("{slack}/api")).expect("a URL");
    let oauth = OAuth {
        client_id: CLIENT_ID.into(),
        client_secret: SecretString::from(CLIENT_SECRET),
        state_secret: SecretString::from("6f1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b"),
        authorize_url: url::Url::parse(&format!("{slack}/oauth/v2/authorize")).expect("a URL"),
        public_url: url::Url::parse("https://incidents.example.com").expect("a URL"),
        keys: keys(),
    };
    let clock = Arc::new(Mutex::new(t(0)));
    let now = {
        let clock = clock.clone();
        Arc::new(move || *clock.lock().expect("lock")) as incident_commander::slack::events_api::Now
    };
    let installs = Arc::new(Recorder {
        store: store.clone(),
        keys: keys(),
        now: t(0),
    });
    let base = serve(oauth::routes(
        installs,
        oauth.clone(),
        OAuthClient::new(Duration::from_secs(10)),
        api_url.clone(),
        now,
    ))
    .await;
    Flow {
        _db: db,
        store,
        oauth,
        api_url,
        base,
        asked,
        clock,
        browser: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a client"),
    }
}

impl Flow {
    async fn get(&self, path_and_query: &str) -> (u16, String) {
        let answer = self
            .browser
            .get(format!("{}{path_and_query}", self.base))
            .send()
            .await
            .expect("the routes answer");
        let status = answer.status().as_u16();
        (status, answer.text().await.expect("a body"))
    }

    /// Starts an installation as a browser would: the state Slack is sent.
    async fn start(&self) -> String {
        let answer = self
            .browser
            .get(format!("{}/slack/install", self.base))
            .send()
            .await
            .expect("the routes answer");
        assert_eq!(answer.status().as_u16(), 302);
        let location = answer.headers()["location"]
            .to_str()
            .expect("text")
            .to_string();
        let to = url::Url::parse(&location).expect("a URL");
        let query: HashMap<String, String> = to.query_pairs().into_owned().collect();
        query["state"].clone()
    }
}

fn query(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

#[tokio::test]
async fn the_install_link_sends_the_browser_to_slack_with_the_scopes_a_state_and_the_way_back() {
    let f = flow().await;
    let answer = f
        .browser
        .get(format!("{}/slack/install", f.base))
        .send()
        .await
        .expect("the routes answer");
    assert_eq!(answer.status().as_u16(), 302);
    assert_eq!(answer.headers()["cache-control"], "no-store");
    let location = answer.headers()["location"].to_str().expect("text");
    assert!(
        location.starts_with(f.oauth.authorize_url.as_str()),
        "{location}"
    );
    let to = url::Url::parse(location).expect("a URL");
    let asked: HashMap<String, String> = to.query_pairs().into_owned().collect();
    assert_eq!(asked["client_id"], CLIENT_ID);
    let scopes = incident_commander::manifest::bot_scopes(&incident_commander::manifest::FEATURES);
    assert_eq!(asked["scope"], scopes.join(","));
    assert!(scopes.contains(&"commands") && scopes.contains(&"chat:write"));
    assert_eq!(
        asked["redirect_uri"],
        "https://incidents.example.com/slack/oauth_redirect"
    );
    assert_eq!(
        oauth::verify_state(&f.oauth.state_secret, &asked["state"], t(0)),
        Ok(())
    );
    assert!(f.asked.calls().is_empty(), "nothing asked of Slack yet");
}

#[tokio::test]
async fn coming_back_with_a_code_installs_the_workspace_with_its_tokens_sealed() {
    let f = flow().await;
    let state = f.start().await;
    let (status, page) = f
        .get(&format!(
            "/slack/oauth_redirect?{}",
            query(&[("code", "good-code"), ("state", &state)])
        ))
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains(
            "incident-commander is installed in Acme &lt;&amp;&gt; Co. Type /inc help in Slack."
        ),
        "{page}"
    );
    let calls = f.asked.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["code"], "good-code");
    assert_eq!(
        calls[0]["redirect_uri"],
        "https://incidents.example.com/slack/oauth_redirect"
    );
    assert!(
        !calls[0].contains_key("client_secret"),
        "the credentials travel as Basic auth"
    );

    let acme = f
        .store
        .installation("T0ACME")
        .await
        .expect("read")
        .expect("installed");
    assert_eq!(acme.team_name, "Acme <&> Co");
    assert_eq!(acme.bot_user_id, "U0BOT");
    assert_eq!(acme.installer.as_deref(), Some("U0ALICE"));
    assert_eq!(acme.scopes, ["commands", "chat:write"]);
    assert!(!acme.bot_token.contains("xox") && acme.bot_token.starts_with("v1."));
    assert_eq!(
        installs::bot_token(&keys(), &acme)
            .expect("opens")
            .expose_secret(),
        "xoxe.xoxb-1"
    );

    // Token rotation: the refresh token is traded for new tokens, stored once.
    let refresh = installs::refresh_token(&keys(), &acme)
        .expect("opens")
        .expect("rotation");
    let client = OAuthClient::new(Duration::from_secs(10));
    let fresh = oauth::refresh(&client, &f.api_url, &f.oauth, &refresh)
        .await
        .expect("refreshed");
    assert_eq!(f.asked.calls()[1]["grant_type"], "refresh_token");
    assert_eq!(f.asked.calls()[1]["refresh_token"], "xoxe-1-r1");
    assert!(
        installs::refreshed(&f.store, &keys(), &acme, &fresh, t(40000))
            .await
            .expect("stored")
    );
    let acme = f
        .store
        .installation("T0ACME")
        .await
        .expect("read")
        .expect("installed");
    assert_eq!(
        installs::bot_token(&keys(), &acme)
            .expect("opens")
            .expose_secret(),
        "xoxe.xoxb-2"
    );
    assert_eq!(
        oauth::refresh(&client, &f.api_url, &f.oauth, &refresh)
            .await
            .map(|_| ()),
        Err(SlackError::Api {
            code: "invalid_refresh_token".into()
        })
    );

    // An org-wide install is the organisation's.
    let state = f.start().await;
    let (status, page) = f
        .get(&format!(
            "/slack/oauth_redirect?{}",
            query(&[("code", "org-code"), ("state", &state)])
        ))
        .await;
    assert_eq!(status, 200, "{page}");
    let org = f
        .store
        .installation_serving("T0ANY", Some("E0GROUP"))
        .await
        .expect("read")
        .expect("the organisation's");
    assert_eq!(org.team_id, "E0GROUP");
    assert!(org.is_enterprise_install);
}

#[tokio::test]
async fn a_state_not_made_here_or_too_old_exchanges_nothing() {
    let f = flow().await;
    let forged = format!(
        "{}.{}.{}",
        t(600).timestamp(),
        "00112233445566778899aabbccddeeff",
        "0".repeat(64)
    );
    let old = f.start().await;
    *f.clock.lock().expect("lock") = t(601);
    for state in [forged.as_str(), old.as_str(), ""] {
        let (status, page) = f
            .get(&format!(
                "/slack/oauth_redirect?{}",
                query(&[("code", "good-code"), ("state", state)])
            ))
            .await;
        assert_eq!(status, 400, "{state}: {page}");
        assert!(
            page.contains(
                "This install link has expired or was not made here: start again at \
                 <a href=\"https://incidents.example.com/slack/install\">/slack/install</a>."
            ),
            "{page}"
        );
    }
    assert!(f.asked.calls().is_empty(), "no code was exchanged");
    assert_eq!(f.store.installations().await.expect("all"), []);
}

#[tokio::test]
async fn a_cancelled_install_and_a_code_slack_refuses_are_said_without_a_secret() {
    let f = flow().await;
    let state = f.start().await;
    let (status, page) = f
        .get(&format!(
            "/slack/oauth_redirect?{}",
            query(&[("error", "access_denied"), ("state", &state)])
        ))
        .await;
    assert_eq!(status, 200);
    assert!(page.contains("Installation cancelled"), "{page}");

    let (status, page) = f
        .get(&format!(
            "/slack/oauth_redirect?{}",
            query(&[("code", "spent-code"), ("state", &state)])
        ))
        .await;
    assert_eq!(status, 502);
    assert!(
        page.contains("Slack refused the installation: invalid_code."),
        "{page}"
    );
    for secret in [CLIENT_SECRET, "spent-code", "6f1d0c9b8a7f"] {
        assert!(!page.contains(secret), "{secret} in {page}");
    }
    assert_eq!(f.store.installations().await.expect("all"), []);
}
