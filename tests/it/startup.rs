//! Startup: a misconfigured bot stops at once with one line naming what is wrong, and never
//! prints a token. These run the real binary.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Output;

use tokio::process::Command;

use slack_simulator::{SimulatorConfig, SlackSimulator};

use crate::helpers::*;

async fn run_binary(vars: &[(&str, &str)]) -> Output {
    run_command("serve", vars.iter().copied()).await
}

/// The binary running `command` with exactly `vars` as its environment, in an empty directory
/// (no inherited variables, no .env: the test decides the whole configuration).
fn binary<K, V>(command: &str, vars: impl IntoIterator<Item = (K, V)>, dir: &Path) -> Command
where
    K: AsRef<OsStr>,
    V: AsRef<OsStr>,
{
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_incident-commander"));
    cmd.env_clear()
        .envs(vars)
        .current_dir(dir)
        .arg(command)
        .kill_on_drop(true);
    cmd
}

async fn run_command<K, V>(command: &str, vars: impl IntoIterator<Item = (K, V)>) -> Output
where
    K: AsRef<OsStr>,
    V: AsRef<OsStr>,
{
    let dir = tempfile::tempdir().expect("temp dir");
    tokio::time::timeout(WAIT, binary(command, vars, dir.path()).output())
        .await
        .expect("the binary exits on its own")
        .expect("the binary runs")
}

/// A simulated workspace and an empty SQLite database for the binary to use.
async fn simulated() -> (SlackSimulator, TestDb) {
    incident_commander::install_crypto_provider();
    let sim = SlackSimulator::start(SimulatorConfig::default())
        .await
        .expect("sim");
    (sim, sqlite_db())
}

/// A configuration that points the binary at `sim` and `db` with the simulator's own tokens,
/// with `overrides` set or replaced.
fn sim_vars(
    sim: &SlackSimulator,
    db: &TestDb,
    overrides: &[(&'static str, &str)],
) -> Vec<(&'static str, String)> {
    let defaults = SimulatorConfig::default();
    let mut vars = vec![
        ("SLACK_BOT_TOKEN", defaults.bot_token),
        ("SLACK_APP_TOKEN", defaults.app_token),
        ("SLACK_API_URL", sim.api_url()),
        ("DATABASE_URL", db.url.clone()),
        ("HTTP_ADDR", "127.0.0.1:0".to_string()),
    ];
    for (key, value) in overrides {
        vars.retain(|(k, _)| k != key);
        vars.push((key, value.to_string()));
    }
    vars
}

/// The command succeeded and printed exactly `stdout`.
fn assert_printed(output: &Output, stdout: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "exit {:?}: {stderr}",
        output.status
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout), stdout);
}

fn last_line(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn a_bad_bot_token_stops_startup_with_one_clear_line() {
    let (sim, db) = simulated().await;
    let vars = sim_vars(&sim, &db, &[("SLACK_BOT_TOKEN", "xoxb-not-the-real-one")]);
    let output = run_command("serve", vars).await;
    assert!(!output.status.success());
    assert_eq!(
        last_line(&output),
        "incident-commander: Slack rejected SLACK_BOT_TOKEN (invalid_auth); check the bot token from OAuth & Permissions"
    );
    let all = String::from_utf8_lossy(&output.stderr);
    assert!(!all.contains("not-the-real-one"), "the token leaked: {all}");
    assert!(
        sim.calls_to("apps.connections.open").is_empty(),
        "no Socket Mode with a bad token"
    );
}

#[tokio::test]
async fn a_missing_token_is_named() {
    let output = run_binary(&[("SLACK_APP_TOKEN", "xapp-1")]).await;
    assert!(!output.status.success());
    assert!(
        last_line(&output)
            .starts_with("incident-commander: configuration: SLACK_BOT_TOKEN is not set"),
        "{}",
        last_line(&output)
    );
}

#[tokio::test]
async fn an_invalid_variable_is_named_without_echoing_secrets() {
    let output = run_binary(&[
        ("SLACK_BOT_TOKEN", "xapp-pasted-into-the-wrong-variable"),
        ("SLACK_APP_TOKEN", "xapp-1"),
    ])
    .await;
    assert!(!output.status.success());
    let line = last_line(&output);
    assert_eq!(
        line,
        "incident-commander: configuration: SLACK_BOT_TOKEN is invalid: expected a token starting with xoxb-"
    );
}

#[tokio::test]
async fn an_unreachable_slack_is_reported_with_its_url() {
    let db = sqlite_db();
    let output = run_binary(&[
        ("SLACK_BOT_TOKEN", "xoxb-1"),
        ("SLACK_APP_TOKEN", "xapp-1"),
        ("SLACK_API_URL", "http://127.0.0.1:9/api"),
        ("DATABASE_URL", &db.url),
        ("SLACK_TIMEOUT", "3s"),
    ])
    .await;
    assert!(!output.status.success());
    let line = last_line(&output);
    assert!(
        line.starts_with(
            "incident-commander: cannot reach Slack at SLACK_API_URL http://127.0.0.1:9/api"
        ),
        "{line}"
    );
}

#[tokio::test]
async fn an_announce_channel_the_bot_cannot_see_stops_startup() {
    let (sim, db) = simulated().await;
    let mut settings = settings_for(&sim, &db.url);
    settings.announce_channel = Some("#no-such-channel".into());
    let err = incident_commander::app::App::build(settings)
        .await
        .err()
        .expect("startup fails");
    assert_eq!(
        err.to_string(),
        "ANNOUNCE_CHANNEL #no-such-channel: no such channel visible to the bot"
    );
}

#[tokio::test]
async fn migrate_needs_only_the_database_url() {
    let db = sqlite_db();
    let output = run_command("migrate", [("DATABASE_URL", db.url.as_str())]).await;
    assert_printed(&output, "sqlite database is up to date\n");
    let store = incident_commander::store::connect(&db.url)
        .await
        .expect("migrated database opens");
    assert!(
        store
            .open_incidents()
            .await
            .expect("schema present")
            .is_empty()
    );
}

#[tokio::test]
async fn check_reads_the_status_page_and_fails_for_a_channel_a_rule_posts_to_that_the_bot_cannot_see()
 {
    let (sim, db) = simulated().await;
    let sp = slack_simulator::FakeStatuspage::start("sp-key-0123456789", "pg0check0001")
        .await
        .expect("fake Statuspage");
    sp.add_component("Checkout");
    let dir = tempfile::tempdir().expect("dir");
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        "[[rules]]\nname = \"Tell the execs\"\nwhen = { severity = \"sev1\" }\n\
         post = [{ channel = \"#exec\", text = \"SEV1: {title}\" }]\n",
    )
    .expect("write");
    let api = sp.api_url();
    let rules = rules.display().to_string();
    let vars = sim_vars(
        &sim,
        &db,
        &[
            ("STATUSPAGE_API_KEY", "sp-key-0123456789"),
            ("STATUSPAGE_PAGE_ID", "pg0check0001"),
            ("STATUSPAGE_API_URL", &api),
            ("RULES_FILE", &rules),
        ],
    );
    let output = run_command("check", vars).await;
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{printed}");
    assert!(
        printed.contains("[ok]   status page pg0check0001: the API key reads its 1 components\n"),
        "{printed}"
    );
    assert!(
        printed.contains("[ok]   RULES_FILE: 1 rule(s), read and checked\n"),
        "{printed}"
    );
    assert!(
        printed.contains(
            "[FAIL] RULES_FILE: rule \"Tell the execs\" posts to #exec, a channel the bot cannot see\n"
        ),
        "{printed}"
    );
    assert!(sp.incidents().is_empty(), "check publishes nothing");
}

#[tokio::test]
async fn check_prints_a_checklist_of_the_configuration_against_slack_and_exits() {
    let (sim, db) = simulated().await;
    let incidents = sim.add_channel("incidents", false, true);
    let vars = sim_vars(&sim, &db, &[("ANNOUNCE_CHANNEL", "#incidents")]);
    let output = run_command("check", vars).await;
    assert_printed(
        &output,
        &format!(
            "[ok]   configuration: SLACK_API_URL {}, DATABASE_URL {}, HTTP_ADDR 127.0.0.1:0, alert intake off (ALERT_TOKEN unset)\n\
             [ok]   database: does not exist yet; startup (or `incident-commander migrate`) creates it\n\
             [ok]   SLACK_BOT_TOKEN: auth.test says the bot is U0BOT in workspace Example\n\
             [ok]   SLACK_APP_TOKEN: Socket Mode accepts it (apps.connections.open)\n\
             [ok]   ANNOUNCE_CHANNEL #incidents: #incidents ({incidents}), the bot is a member\n\
             [ok]   scopes: the bot token has all {} the bot uses\n\
             [ok]   PagerDuty: off (PAGERDUTY_SERVICES unset)\n\
             [ok]   status page: off (STATUSPAGE_API_KEY and STATUSPAGE_PAGE_ID unset)\n\
             [ok]   webhooks: off (WEBHOOK_URLS unset)\n\
             [ok]   RULES_FILE: no rules\n",
            sim.api_url(),
            db.url,
            incident_commander::manifest::bot_scopes(&incident_commander::manifest::FEATURES).len()
        ),
    );
    assert_eq!(
        sim.connection_count(),
        0,
        "check does not connect Socket Mode"
    );
    assert!(
        !std::path::Path::new(db.url.trim_start_matches("sqlite://")).exists(),
        "check does not touch the database"
    );
}

/// The database as a newer incident-commander leaves it: every migration this version knows,
/// then one more — its table and its line in the migration history. Returns that one's version.
async fn migrated_by_a_newer_version(db: &TestDb) -> i64 {
    use sqlx::migrate::{Migration, MigrationType, Migrator};
    use sqlx::{Connection, SqlSafeStr};
    drop(
        incident_commander::store::connect(&db.url)
            .await
            .expect("this version migrates"),
    );
    let known = match db.url.starts_with("sqlite:") {
        true => sqlx::migrate!("./migrations/sqlite"),
        false => sqlx::migrate!("./migrations/postgres"),
    };
    let mut migrations: Vec<Migration> = known.iter().cloned().collect();
    let newer = migrations
        .iter()
        .map(|m| m.version)
        .max()
        .expect("migrations")
        + 1;
    migrations.push(Migration::new(
        newer,
        "escalation policies".into(),
        MigrationType::Simple,
        "CREATE TABLE escalation_policies (id BIGINT PRIMARY KEY, name TEXT NOT NULL)"
            .into_sql_str(),
        false,
    ));
    let mut conn = sqlx::AnyConnection::connect(&db.url)
        .await
        .expect("connect");
    Migrator::with_migrations(migrations)
        .run(&mut conn)
        .await
        .expect("the newer version migrates");
    conn.close().await.expect("close");
    newer
}

/// The versions in the database's migration history.
async fn migration_history(db: &TestDb) -> Vec<i64> {
    use sqlx::Connection;
    let mut conn = sqlx::AnyConnection::connect(&db.url)
        .await
        .expect("connect");
    sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
        .fetch_all(&mut conn)
        .await
        .expect("history")
}

#[tokio::test]
async fn a_database_migrated_by_a_newer_version_is_refused_with_one_line() {
    let (sim, _) = simulated().await;
    let db = test_db().await;
    let newer = migrated_by_a_newer_version(&db).await;
    let refusal = format!(
        "the database was migrated by a newer incident-commander (migration {newer:04} is unknown \
         to this version {}); run that version or newer",
        env!("CARGO_PKG_VERSION")
    );
    for command in ["serve", "migrate"] {
        let output = run_command(command, sim_vars(&sim, &db, &[])).await;
        assert!(!output.status.success(), "{command} ran");
        assert_eq!(
            last_line(&output),
            format!("incident-commander: {refusal}"),
            "{command}"
        );
    }
    assert_eq!(sim.connection_count(), 0, "serve stops before Socket Mode");

    let output = run_command("check", sim_vars(&sim, &db, &[])).await;
    assert!(!output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout
            .lines()
            .any(|l| l == format!("[FAIL] database: {refusal}")),
        "{stdout}"
    );
    assert_eq!(
        last_line(&output),
        "incident-commander: check failed: 1 check did not pass"
    );
    assert_eq!(
        migration_history(&db).await,
        (1..=newer).collect::<Vec<i64>>(),
        "nothing was applied or undone"
    );
}

#[tokio::test]
async fn check_says_the_schema_is_up_to_date_once_migrated() {
    let (sim, db) = simulated().await;
    let output = run_command("migrate", [("DATABASE_URL", db.url.as_str())]).await;
    assert!(output.status.success());
    let output = run_command("check", sim_vars(&sim, &db, &[])).await;
    let newest = sqlx::migrate!("./migrations/sqlite")
        .iter()
        .map(|m| m.version)
        .max()
        .expect("migrations");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!(
            "[ok]   database: schema up to date (migration {newest:04})\n"
        )),
        "{stdout}"
    );
}

#[tokio::test]
async fn check_names_the_scopes_the_token_lacks_and_a_channel_the_bot_is_not_in() {
    incident_commander::install_crypto_provider();
    let mut config = SimulatorConfig::default();
    config
        .granted_scopes
        .retain(|s| s != "usergroups:read" && s != "pins:write");
    let sim = SlackSimulator::start(config).await.expect("sim");
    sim.add_channel("incidents", false, false);
    let db = sqlite_db();
    let vars = sim_vars(&sim, &db, &[("ANNOUNCE_CHANNEL", "#incidents")]);
    let output = run_command("check", vars).await;
    assert!(!output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(
            "[FAIL] scopes: the bot token lacks pins:write (pins.add), usergroups:read (usergroups.list, usergroups.users.list); \
             add them under OAuth & Permissions"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("but the bot is not a member: /invite @incident-commander there"),
        "{stdout}"
    );
    assert_eq!(
        last_line(&output),
        "incident-commander: check failed: 2 checks did not pass"
    );
}

#[tokio::test]
async fn check_stops_at_a_refused_bot_token() {
    let (sim, db) = simulated().await;
    let vars = sim_vars(&sim, &db, &[("SLACK_BOT_TOKEN", "xoxb-revoked")]);
    let output = run_command("check", vars).await;
    assert!(!output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("[FAIL] SLACK_BOT_TOKEN: auth.test failed: invalid_auth (the token is wrong or was revoked)"),
        "{stdout}"
    );
    assert!(!stdout.contains("revoked\n[ok]"), "{stdout}");
    assert!(!String::from_utf8_lossy(&output.stderr).contains("xoxb-revoked"));
}

#[tokio::test]
async fn manifest_needs_no_configuration() {
    let output = run_command::<&str, &str>("manifest", []).await;
    assert_printed(
        &output,
        &incident_commander::manifest::render(&incident_commander::manifest::FEATURES),
    );
}

#[tokio::test]
async fn healthcheck_asks_the_running_process() {
    let app = spawn_app().await;
    let addr = app.http_addr.to_string();
    let ok = run_command("healthcheck", [("HTTP_ADDR", addr.as_str())]).await;
    assert_printed(&ok, "");
    let dead = run_command("healthcheck", [("HTTP_ADDR", "127.0.0.1:9")]).await;
    assert!(!dead.status.success());
}

#[tokio::test]
async fn serve_connects_and_stops_cleanly_on_sigterm() {
    let (sim, db) = simulated().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let vars = sim_vars(&sim, &db, &[("SLACK_SOCKET_CONNECTIONS", "1")]);
    let child = binary("serve", vars, dir.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary starts");
    assert!(
        sim.wait_connected(WAIT).await,
        "serve connects over Socket Mode"
    );
    let envelope = sim.slash_command("U0ALICE", "C0GENERAL", "help");
    assert!(
        sim.ack(&envelope.envelope_id, WAIT).await.is_some(),
        "and answers"
    );

    let pid = child.id().expect("running").to_string();
    let killed = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await;
    assert!(killed.expect("kill runs").success());
    let output = tokio::time::timeout(WAIT, child.wait_with_output())
        .await
        .expect("serve exits after SIGTERM")
        .expect("exit status");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "exit {:?}: {stderr}",
        output.status
    );
    assert!(stderr.contains("shutting down"), "{stderr}");
}
