//! Many workspaces, one deployment: a second workspace installs the app through Slack's OAuth
//! flow; each workspace declares its own INC-1 in its own channels, announced in its own
//! #incidents, and never sees the other's incidents in `/inc list` or `/inc stats`; the tokens
//! are sealed at rest; a workspace that removes the app is no longer served and its reminders
//! stop, while the other's go on.

use std::sync::Arc;

use chrono::{Duration, Utc};
use slack_simulator::SimulatorConfig;
use sqlx::Connection;

use crate::helpers::*;

const SECOND: &str = "T0SECOND";
const DANA: &str = "U0DANA";
const ERIN: &str = "U0ERIN";
/// 32 bytes of base64, as `openssl rand -base64 32` prints them.
const KEY: &str = "q6ZlqBXpPY3rYPT7lN1oW7rQyq9M3XW2ZtWl1n8mU0E=";
const NEW_KEY: &str = "Vt8dH0dWd2s9I8b0o1F2c3k4L5m6N7p8Q9r0S1t2U3w=";
const PUBLIC_URL: &str = "https://bot.example.com";

/// The variables that turn installs on, with `key` sealing the tokens.
fn oauth(key: &'static str) -> Vec<(&'static str, String)> {
    let sim = SimulatorConfig::default();
    vec![
        ("SLACK_CLIENT_ID", sim.client_id),
        ("SLACK_CLIENT_SECRET", sim.client_secret),
        (
            "SLACK_STATE_SECRET",
            "state-secret-0123456789abcdef".to_string(),
        ),
        ("TOKEN_ENCRYPTION_KEY", key.to_string()),
        ("PUBLIC_URL", PUBLIC_URL.to_string()),
    ]
}

/// The bot with installs on, over `transport`, on a clock the test moves; a second workspace
/// with dana and erin, #general and #incidents.
async fn spawn(transport: &'static str) -> (TestApp, Arc<MovableClock>) {
    spawn_in(manifest_scopes(), transport).await
}

async fn spawn_in(slack: SimulatorConfig, transport: &'static str) -> (TestApp, Arc<MovableClock>) {
    let clock = Arc::new(MovableClock::starting_at(Utc::now()));
    let vars = oauth(KEY);
    let mut overrides: Vec<(&'static str, &str)> =
        vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    if transport == "http" {
        overrides.extend([
            ("SLACK_TRANSPORT", "http"),
            ("SLACK_SIGNING_SECRET", SIGNING_SECRET),
        ]);
    }
    let app = spawn_app_in(slack, &overrides, clock.clone(), |sim| {
        sim.add_workspace(SECOND, "second", "Second Inc");
        sim.add_user_in(SECOND, DANA, "dana");
        sim.add_user_in(SECOND, ERIN, "erin");
        sim.add_channel_in(SECOND, "general", false, false);
        // Its admin has already made #incidents and invited the app's bot there.
        sim.add_channel_in(SECOND, "incidents", false, true);
    })
    .await;
    (app, clock)
}

/// A browser that shows redirects instead of following them.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Where the bot's install link sends an admin: Slack's authorize page, with its state.
async fn authorize_url(app: &TestApp) -> String {
    let start = browser()
        .get(app.url("/slack/install"))
        .send()
        .await
        .expect("the install link answers");
    assert_eq!(start.status(), 302);
    start.headers()["location"]
        .to_str()
        .expect("a location")
        .to_string()
}

/// The browser back at the bot from Slack (`back`, under `PUBLIC_URL`): the page it shows.
async fn come_back(app: &TestApp, back: &str) -> reqwest::Response {
    assert!(back.starts_with(PUBLIC_URL), "{back}");
    let back = back.replacen(PUBLIC_URL, &format!("http://{}", app.http_addr), 1);
    browser().get(back).send().await.expect("the bot answers")
}

/// `admin` installs the app in `team` as a browser would: the bot's install link, Slack's
/// authorize page, and back to the bot with the code. Returns the page the bot showed.
async fn install(app: &TestApp, team: &str, admin: &str) -> String {
    let authorize = authorize_url(app).await;
    let back = app
        .sim
        .approve_install(&authorize, team, admin)
        .expect("Slack accepts the request");
    let page = come_back(app, &back).await;
    assert_eq!(page.status(), 200);
    page.text().await.expect("a page")
}

fn channel_in(app: &TestApp, team: &str, name: &str) -> slack_simulator::Channel {
    app.sim
        .channels()
        .into_iter()
        .find(|c| c.team_id == team && c.name == name)
        .unwrap_or_else(|| panic!("no #{name} in {team}"))
}

#[tokio::test]
async fn two_workspaces_each_get_their_own_inc_1_and_never_see_each_other() {
    for transport in ["socket", "http"] {
        let (app, clock) = spawn(transport).await;
        let page = install(&app, SECOND, DANA).await;
        assert!(page.contains("installed in Second Inc"), "{page}");
        let second_general = channel_in(&app, SECOND, "general").id;

        // Both declare at the same moment.
        let (home, second) = tokio::join!(
            app.command_in(ALICE, &app.general, "declare sev2 Checkout is down"),
            app.command_in(DANA, &second_general, "declare sev1 Payments are down"),
        );
        assert!(home.contains("Declared *INC-1*"), "{transport}: {home}");
        assert!(second.contains("Declared *INC-1*"), "{transport}: {second}");
        app.settle().await;

        let home_channel = channel_in(&app, slack_simulator::TEAM_ID, "inc-1-checkout-is-down");
        let second_channel = channel_in(&app, SECOND, "inc-1-payments-are-down");
        assert!(second_channel.members.contains(&DANA.to_string()));
        assert!(!second_channel.members.contains(&ALICE.to_string()));
        let announced = |team: &str| {
            channel_in(&app, team, "incidents")
                .messages
                .iter()
                .map(|m| m.text.clone())
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert!(
            announced(SECOND).contains("Payments are down"),
            "{transport}"
        );
        assert!(
            !announced(SECOND).contains("Checkout is down"),
            "{transport}"
        );
        assert!(announced(slack_simulator::TEAM_ID).contains("Checkout is down"));
        assert!(!announced(slack_simulator::TEAM_ID).contains("Payments are down"));

        let listed_home = app.command(BOB, "list").await;
        let listed_second = app.command_in(ERIN, &second_general, "list").await;
        assert!(listed_home.contains("Checkout is down"), "{listed_home}");
        assert!(!listed_home.contains("Payments"), "{listed_home}");
        assert!(
            listed_second.contains("Payments are down"),
            "{listed_second}"
        );
        assert!(!listed_second.contains("Checkout"), "{listed_second}");
        let stats = app.command_in(ERIN, &second_general, "stats").await;
        assert!(
            stats.starts_with("*Incidents declared in the last 30 days: 1*\n"),
            "{stats}"
        );
        assert!(stats.contains("By severity: SEV1 1\n"), "{stats}");

        // The second workspace removes the app: its reminders stop, the first's go on.
        app.sim.uninstall(SECOND);
        app.settle().await;
        clock.advance(Duration::minutes(31));
        app.settle().await;
        let reminded = |channel: &slack_simulator::Channel| {
            app.sim
                .channel(&channel.id)
                .expect("channel")
                .messages
                .iter()
                .filter(|m| m.text.contains("The people waiting for news are owed one"))
                .count()
        };
        assert_eq!(reminded(&home_channel), 1, "{transport}");
        assert_eq!(reminded(&second_channel), 0, "{transport}");
    }
}

#[tokio::test]
async fn tokens_are_sealed_at_rest_and_survive_a_key_rotation() {
    let (mut app, clock) = spawn("socket").await;
    install(&app, SECOND, DANA).await;
    let token = app.sim.calls_to("oauth.v2.access")[0].response["access_token"]
        .as_str()
        .expect("a token")
        .to_string();
    let stored = |url: String| async move {
        let mut db = sqlx::AnyConnection::connect(&url).await.expect("db");
        let sealed: String = sqlx::query_scalar("SELECT bot_token FROM installations")
            .fetch_one(&mut db)
            .await
            .expect("one installation");
        sealed
    };
    let sealed = stored(app.db.url.clone()).await;
    assert!(
        !sealed.contains(&token) && !sealed.contains("xox"),
        "{sealed}"
    );
    assert!(sealed.starts_with("v1."), "{sealed}");

    // A new key, the old one kept as previous for one start: the token is sealed again.
    let second_general = channel_in(&app, SECOND, "general").id;
    app.crash().await;
    app.set_overrides(&[
        ("TOKEN_ENCRYPTION_KEY", NEW_KEY),
        ("TOKEN_ENCRYPTION_KEY_PREVIOUS", KEY),
    ]);
    app.restart(clock.clone()).await;
    let resealed = stored(app.db.url.clone()).await;
    assert_ne!(resealed, sealed);
    assert_eq!(
        resealed.split('.').nth(1),
        Some(&*key_id(NEW_KEY)),
        "sealed with the new key"
    );
    // Then the old key can go.
    app.crash().await;
    app.set_overrides(&[("TOKEN_ENCRYPTION_KEY", NEW_KEY)]);
    app.restart(clock.clone()).await;
    let listed = app.command_in(DANA, &second_general, "list").await;
    assert!(listed.contains("No open incidents"), "{listed}");
}

/// A key's id as sealed tokens name it: the first 8 hex digits of its SHA-256.
fn key_id(key: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(key)
        .expect("base64");
    hex::encode(sha2::Sha256::digest(bytes))[..8].to_string()
}

#[tokio::test]
async fn a_rotating_token_is_refreshed_before_it_expires_and_work_goes_on() {
    let slack = SimulatorConfig {
        token_rotation: true,
        ..manifest_scopes()
    };
    let (app, clock) = spawn_in(slack, "socket").await;
    install(&app, SECOND, DANA).await;
    let second_general = channel_in(&app, SECOND, "general").id;
    let reply = app
        .command_in(DANA, &second_general, "declare sev2 Payments are slow")
        .await;
    assert!(reply.contains("Declared *INC-1*"), "{reply}");
    app.settle().await;

    // Twelve hours on, Slack's token has expired; the bot refreshes it before using it.
    app.sim.expire_tokens(SECOND);
    clock.advance(Duration::hours(12));
    let reply = app
        .command_in(ERIN, &second_general, "declare sev3 Search is slow")
        .await;
    assert!(reply.contains("Declared *INC-2*"), "{reply}");
    app.settle().await;
    let refreshes = app
        .sim
        .calls_to("oauth.v2.access")
        .into_iter()
        .filter(|c| c.params["grant_type"] == "refresh_token" && c.response["ok"] == true)
        .count();
    assert_eq!(refreshes, 1, "refreshed once");
    let channel = channel_in(&app, SECOND, "inc-2-search-is-slow");
    assert!(channel.members.contains(&ERIN.to_string()));
    assert!(
        app.sim
            .calls()
            .iter()
            .all(|c| c.response["error"] != "token_expired"),
        "no call was made with the expired token"
    );
}

#[tokio::test]
async fn an_organisation_wide_install_is_refused_and_records_nothing() {
    let (app, _clock) = spawn("socket").await;
    app.sim.add_workspace("T0WEST", "west", "West");
    app.sim.add_enterprise("E0ORG", "Org", &["T0WEST", SECOND]);
    let authorize = authorize_url(&app).await;
    let back = app
        .sim
        .approve_org_install(&authorize, "E0ORG", DANA)
        .expect("Slack accepts it");
    let text = come_back(&app, &back).await.text().await.expect("a page");
    assert!(text.contains("not supported yet"), "{text}");
    let mut db = sqlx::AnyConnection::connect(&app.db.url).await.expect("db");
    let installed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM installations")
        .fetch_one(&mut db)
        .await
        .expect("count");
    assert_eq!(installed, 0);
}

/// The digests in `team`'s #incidents.
fn digests(app: &TestApp, team: &str) -> Vec<String> {
    channel_in(app, team, "incidents")
        .messages
        .into_iter()
        .filter(|m| m.text.starts_with(":newspaper:"))
        .map(|m| m.text)
        .collect()
}

#[tokio::test]
async fn each_workspace_gets_its_own_digest_of_its_own_incidents() {
    let nine = Utc::now()
        .date_naive()
        .and_hms_opt(9, 0, 0)
        .expect("09:00")
        .and_utc();
    let clock = Arc::new(MovableClock::starting_at(nine - Duration::minutes(5)));
    let vars = oauth(KEY);
    let mut overrides: Vec<(&'static str, &str)> =
        vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    overrides.extend([("DIGEST_CRON", "0 0 9 * * *"), ("TZ", "UTC")]);
    let app = spawn_app_clocked(&overrides, clock.clone(), |sim| {
        sim.add_workspace(SECOND, "second", "Second Inc");
        sim.add_user_in(SECOND, DANA, "dana");
        sim.add_channel_in(SECOND, "general", false, false);
        sim.add_channel_in(SECOND, "incidents", false, true);
    })
    .await;
    install(&app, SECOND, DANA).await;
    let second_general = channel_in(&app, SECOND, "general").id;
    app.declared(ALICE, "sev2 Checkout is down").await;
    let reply = app
        .command_in(DANA, &second_general, "declare sev1 Payments are down")
        .await;
    assert!(reply.contains("Declared *INC-1*"), "{reply}");
    app.settle().await;

    clock.advance_to(nine + Duration::seconds(30));
    app.settle().await;
    let home = digests(&app, slack_simulator::TEAM_ID);
    let second = digests(&app, SECOND);
    assert_eq!((home.len(), second.len()), (1, 1), "{home:?} {second:?}");
    assert!(home[0].contains("Checkout is down") && !home[0].contains("Payments"));
    assert!(second[0].contains("Payments are down") && !second[0].contains("Checkout"));
}

#[tokio::test]
#[ignore = "needs PostgreSQL: run with --include-ignored and TEST_DATABASE_URL"]
async fn two_replicas_behind_a_round_robin_serve_two_workspaces_and_remind_each_incident_once() {
    let _server = required_postgres_server();
    let (mut app, clock) = spawn("http").await;
    app.add_replica().await;
    install(&app, SECOND, DANA).await;
    let second_general = channel_in(&app, SECOND, "general").id;
    const EACH: usize = 6;
    let mut channels = Vec::new();
    for i in 0..EACH {
        let (shard, queue) = (
            format!("declare sev2 Shard {i} is slow"),
            format!("declare sev2 Queue {i} is slow"),
        );
        let (home, second) = tokio::join!(
            app.command_in(ALICE, &app.general, &shard),
            app.command_in(DANA, &second_general, &queue),
        );
        assert!(
            home.contains(&format!("Declared *INC-{}*", i + 1)),
            "{home}"
        );
        assert!(
            second.contains(&format!("Declared *INC-{}*", i + 1)),
            "{second}"
        );
    }
    app.settle().await;
    for i in 0..EACH {
        let n = i + 1;
        channels.push(channel_in(
            &app,
            slack_simulator::TEAM_ID,
            &format!("inc-{n}-shard-{i}-is-slow"),
        ));
        channels.push(channel_in(
            &app,
            SECOND,
            &format!("inc-{n}-queue-{i}-is-slow"),
        ));
    }
    for round in 1..=2 {
        app.settle().await;
        clock.advance(Duration::minutes(30));
        app.settle().await;
        for channel in &channels {
            let reminders = app
                .sim
                .channel(&channel.id)
                .expect("channel")
                .messages
                .iter()
                .filter(|m| m.text.contains("The people waiting for news are owed one"))
                .count();
            assert_eq!(reminders, round, "#{} in {}", channel.name, channel.team_id);
        }
    }
}

#[tokio::test]
async fn a_workspaces_admin_sets_its_own_settings_and_nobody_else_can() {
    let (app, _clock) = spawn("socket").await;
    install(&app, SECOND, DANA).await;
    let general = channel_in(&app, SECOND, "general").id;
    let incidents = channel_in(&app, SECOND, "incidents").id;
    let config = |user: &'static str, text: &'static str| {
        let general = general.clone();
        let app = &app;
        async move { app.command_in(user, &general, text).await }
    };

    let shown = config(ERIN, "config").await;
    assert!(
        shown.contains(&format!("• announce: <#{incidents}>")),
        "{shown}"
    );
    assert!(shown.contains("• prefix: `inc`"), "{shown}");

    // Bad input and a refusal change nothing.
    let wrong = config(DANA, "config colour red").await;
    assert!(wrong.contains("`colour` is not a setting"), "{wrong}");
    let refused = config(ERIN, "config prefix ops").await;
    assert_eq!(
        refused,
        "Only this workspace's admins (and whoever installed incident-commander here) can \
         change its settings. Nothing was changed."
    );
    assert!(config(ERIN, "config").await.contains("• prefix: `inc`"));

    // The installer names erin admin; erin moves the prefix and silences announcements.
    let set = config(DANA, "config admins <@U0ERIN|erin>").await;
    assert!(set.starts_with("<@U0DANA> set *admins*."), "{set}");
    assert!(set.contains("• admins: <@U0ERIN>"), "{set}");
    let set = config(ERIN, "config prefix ops").await;
    assert!(set.contains("• prefix: `ops`"), "{set}");
    config(ERIN, "config announce off").await;
    let reply = app
        .command_in(ERIN, &general, "declare sev2 Queue is slow")
        .await;
    assert!(reply.contains("Declared *INC-1*"), "{reply}");
    app.settle().await;
    channel_in(&app, SECOND, "ops-1-queue-is-slow");
    assert!(
        channel_in(&app, SECOND, "incidents").messages.is_empty(),
        "announcements are off"
    );

    // The deployment's own workspace keeps the environment's settings.
    let home = app.command(ALICE, "config prefix ops").await;
    assert!(
        home.starts_with("This is the deployment's own workspace"),
        "{home}"
    );
    let shown = app.command(ALICE, "config").await;
    assert!(shown.contains("• prefix: `inc`"), "{shown}");
    app.declared(ALICE, "sev2 Checkout is down").await;
    channel_in(&app, slack_simulator::TEAM_ID, "inc-1-checkout-is-down");
}

#[tokio::test]
async fn a_workspaces_jobs_refresh_its_rotating_token_before_it_expires() {
    let slack = SimulatorConfig {
        token_rotation: true,
        ..manifest_scopes()
    };
    let (app, clock) = spawn_in(slack, "socket").await;
    install(&app, SECOND, DANA).await;
    let second_general = channel_in(&app, SECOND, "general").id;
    let reply = app
        .command_in(DANA, &second_general, "declare sev2 Payments are slow")
        .await;
    assert!(reply.contains("Declared *INC-1*"), "{reply}");
    app.settle().await;
    let refreshes = |app: &TestApp| {
        app.sim
            .calls_to("oauth.v2.access")
            .into_iter()
            .filter(|c| c.params["grant_type"] == "refresh_token" && c.response["ok"] == true)
            .count()
    };
    assert_eq!(refreshes(&app), 0);

    // Four minutes before the token expires, the overdue update reminder runs: it refreshes
    // the token first, and nobody had to type anything.
    clock.advance(Duration::hours(12) - Duration::minutes(4));
    app.settle().await;
    assert_eq!(refreshes(&app), 1);
    let channel = channel_in(&app, SECOND, "inc-1-payments-are-slow");
    assert!(
        channel
            .messages
            .iter()
            .any(|m| m.text.contains("The people waiting for news are owed one")),
        "the reminder was posted"
    );
}
