//! Many workspaces, one deployment: installations made through Slack's OAuth flow, their tokens
//! sealed at rest. The store keeps installations on both backends (a reinstall keeps what the
//! workspace configured, an org-wide install serves its organisation's workspaces, refreshed
//! tokens are stored once however many replicas refresh); the app seals and opens them and
//! reseals them after a key rotation; the install routes verify their state and exchange the
//! code with the simulated Slack's OAuth v2 flow (single-use codes, the redirect URL checked,
//! refresh tokens spent by their use).
//!
//! Every test runs on SQLite, and on PostgreSQL when `TEST_DATABASE_URL` is set.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use incident_commander::app::installs;
use incident_commander::config::workspaces::OAuth;
use incident_commander::slack::SlackError;
use incident_commander::slack::oauth::{self, Grant, Installs, OAuthClient};
use incident_commander::store::{self, Installation, Store};
use incident_commander::tokens::{SealError, TokenKey, TokenKeys};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use slack_simulator::{SimulatorConfig, SlackSimulator};

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

// --- the install routes, against the simulated Slack's OAuth v2 flow ---

/// What the bot asked of `oauth.v2.access`, and what Slack answered, in order.
fn access_calls(sim: &SlackSimulator) -> Vec<slack_simulator::ApiCall> {
    sim.calls_to("oauth.v2.access")
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

const PUBLIC_URL: &str = "https://incidents.example.com";

struct Flow {
    _db: crate::helpers::TestDb,
    store: Store,
    sim: SlackSimulator,
    oauth: OAuth,
    api_url: url::Url,
    base: String,
    clock: Arc<Mutex<DateTime<Utc>>>,
    browser: reqwest::Client,
}

/// The install routes against a Slack with token rotation on, where Acme (alice its admin)
/// and the organisation Group (its workspace West, wanda its admin) may install the app.
async fn flow() -> Flow {
    incident_commander::install_crypto_provider();
    let (db, store) = store().await;
    let config = SimulatorConfig {
        token_rotation: true,
        ..crate::helpers::manifest_scopes()
    };
    let sim = SlackSimulator::start(config.clone())
        .await
        .expect("simulator starts");
    sim.add_workspace("T0ACME", "acme", "Acme <&> Co");
    sim.add_user_in("T0ACME", "U0ALICE", "alice");
    sim.add_workspace("T0WEST", "west", "West");
    sim.add_user_in("T0WEST", "W0ADMIN", "wanda");
    sim.add_enterprise("E0GROUP", "Group", &["T0WEST"]);
    let api_url = url::Url::parse(&sim.api_url()).expect("a URL");
    let oauth = OAuth {
        client_id: config.client_id.clone(),
        client_secret: SecretString::from(config.client_secret.clone()),
        state_secret: SecretString::from("6f1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b"),
        authorize_url: url::Url::parse(&sim.oauth_authorize_url()).expect("a URL"),
        public_url: url::Url::parse(PUBLIC_URL).expect("a URL"),
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
        sim,
        oauth,
        api_url,
        base,
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

    /// Starts an installation as a browser would: where the install link sends it.
    async fn start(&self) -> String {
        let answer = self
            .browser
            .get(format!("{}/slack/install", self.base))
            .send()
            .await
            .expect("the routes answer");
        assert_eq!(answer.status().as_u16(), 302);
        answer.headers()["location"]
            .to_str()
            .expect("text")
            .to_string()
    }

    /// The state the install link gave Slack.
    async fn state(&self) -> String {
        let to = url::Url::parse(&self.start().await).expect("a URL");
        let query: HashMap<String, String> = to.query_pairs().into_owned().collect();
        query["state"].clone()
    }

    /// The browser back from Slack at `back` (under `PUBLIC_URL`): the bot's page.
    async fn come_back(&self, back: &str) -> (u16, String) {
        let path = back
            .strip_prefix(PUBLIC_URL)
            .expect("back under PUBLIC_URL");
        self.get(path).await
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
    assert_eq!(asked["client_id"], f.oauth.client_id);
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
    assert!(
        access_calls(&f.sim).is_empty(),
        "nothing asked of Slack yet"
    );
}

#[tokio::test]
async fn coming_back_with_a_code_installs_the_workspace_with_its_tokens_sealed() {
    let f = flow().await;
    let back = f
        .sim
        .approve_install(&f.start().await, "T0ACME", "U0ALICE")
        .expect("Slack takes the request");
    let (status, page) = f.come_back(&back).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains(
            "incident-commander is installed in Acme &lt;&amp;&gt; Co. Type /inc help in Slack."
        ),
        "{page}"
    );
    let calls = access_calls(&f.sim);
    assert_eq!(calls.len(), 1);
    let code = back.split("code=").nth(1).and_then(|c| c.split('&').next());
    assert_eq!(calls[0].params["code"].as_str(), code);
    assert_eq!(
        calls[0].params["redirect_uri"],
        "https://incidents.example.com/slack/oauth_redirect"
    );
    assert!(
        calls[0].params.get("client_secret").is_none(),
        "the credentials travel as Basic auth"
    );
    let first_token = calls[0].response["access_token"]
        .as_str()
        .expect("a token")
        .to_string();

    let acme = f
        .store
        .installation("T0ACME")
        .await
        .expect("read")
        .expect("installed");
    assert_eq!(acme.team_name, "Acme <&> Co");
    assert_eq!(Some(acme.bot_user_id.clone()), f.sim.bot_user_in("T0ACME"));
    assert_eq!(acme.installer.as_deref(), Some("U0ALICE"));
    let scopes = incident_commander::manifest::bot_scopes(&incident_commander::manifest::FEATURES);
    assert_eq!(acme.scopes, scopes, "exactly the scopes asked for");
    assert!(!acme.bot_token.contains("xox") && acme.bot_token.starts_with("v1."));
    assert_eq!(
        installs::bot_token(&keys(), &acme)
            .expect("opens")
            .expose_secret(),
        first_token
    );

    // Token rotation: the refresh token is traded for new tokens, stored once.
    let refresh = installs::refresh_token(&keys(), &acme)
        .expect("opens")
        .expect("rotation");
    let client = OAuthClient::new(Duration::from_secs(10));
    let fresh = oauth::refresh(&client, &f.api_url, &f.oauth, &refresh)
        .await
        .expect("refreshed");
    let calls = access_calls(&f.sim);
    assert_eq!(calls[1].params["grant_type"], "refresh_token");
    assert_eq!(calls[1].params["refresh_token"], refresh.expose_secret());
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
    let second_token = installs::bot_token(&keys(), &acme).expect("opens");
    assert_eq!(
        second_token.expose_secret(),
        calls[1].response["access_token"].as_str().expect("a token")
    );
    assert_ne!(second_token.expose_secret(), first_token);
    assert_eq!(
        oauth::refresh(&client, &f.api_url, &f.oauth, &refresh)
            .await
            .map(|_| ()),
        Err(SlackError::Api {
            code: "invalid_refresh_token".into()
        }),
        "a refresh token is spent by its use"
    );

    // An org-wide install is the organisation's.
    let back = f
        .sim
        .approve_org_install(&f.start().await, "E0GROUP", "W0ADMIN")
        .expect("Slack takes the request");
    let (status, page) = f.come_back(&back).await;
    assert_eq!(status, 200, "{page}");
    let org = f
        .store
        .installation_serving("T0WEST", Some("E0GROUP"))
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
    let old = f.state().await;
    *f.clock.lock().expect("lock") = t(601);
    for state in [forged.as_str(), old.as_str(), ""] {
        let (status, page) = f
            .get(&format!(
                "/slack/oauth_redirect?{}",
                query(&[("code", "a-code"), ("state", state)])
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
    assert!(access_calls(&f.sim).is_empty(), "no code was exchanged");
    assert_eq!(f.store.installations().await.expect("all"), []);
}

#[tokio::test]
async fn a_cancelled_install_and_a_code_slack_refuses_are_said_without_a_secret() {
    let f = flow().await;
    let back = f
        .sim
        .deny_install(&f.start().await, "T0ACME", "U0ALICE")
        .expect("Slack takes the request");
    let (status, page) = f.come_back(&back).await;
    assert_eq!(status, 200);
    assert!(page.contains("Installation cancelled"), "{page}");

    // A code exchanged once is spent: coming back with it again is refused by Slack.
    let back = f
        .sim
        .approve_install(&f.start().await, "T0ACME", "U0ALICE")
        .expect("Slack takes the request");
    assert_eq!(f.come_back(&back).await.0, 200);
    let (status, page) = f.come_back(&back).await;
    assert_eq!(status, 502);
    assert!(
        page.contains("Slack refused the installation: code_already_used."),
        "{page}"
    );
    let code = back.split("code=").nth(1).and_then(|c| c.split('&').next());
    for secret in [
        f.oauth.client_secret.expose_secret(),
        code.expect("a code"),
        "6f1d0c9b8a7f",
    ] {
        assert!(!page.contains(secret), "{secret} in {page}");
    }
    assert_eq!(f.store.installations().await.expect("all").len(), 1);
}
