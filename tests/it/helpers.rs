//! Test harness: a fresh database per test, a simulated workspace, the app running against it.
//! (zero-to-production's `spawn_app`.)

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

pub use incident_commander::app::MovableClock;
use incident_commander::app::{App, Clock, StartupError, SystemClock};
use incident_commander::config::Settings;
use incident_commander::domain::{Incident, TimelineEvent};
use incident_commander::store::Store;
use slack_simulator::{
    Ack, Channel, Envelope, SimEvent, SimulatorConfig, SlackSimulator, View, ViewInput,
};
use sqlx::Connection;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Long enough for a loaded 2-core machine; tests finish as soon as the condition holds.
pub const WAIT: Duration = Duration::from_secs(20);

pub const ALICE: &str = "U0ALICE";
pub const BOB: &str = "U0BOB";
pub const CAROL: &str = "U0CAROL";

/// A database of its own for one test: a temporary SQLite file, or a new PostgreSQL database
/// when `TEST_DATABASE_URL` names a server.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

pub async fn test_db() -> TestDb {
    match postgres_server() {
        Some(admin) => postgres_db(&admin).await,
        None => sqlite_db(),
    }
}

/// The PostgreSQL server named by `TEST_DATABASE_URL`, if it is set and not empty.
pub fn postgres_server() -> Option<String> {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())
}

/// For the PostgreSQL-only tests (`#[ignore]`d, run with `--include-ignored`): the server, or a
/// loud failure — such a test must never pass without having run.
pub fn required_postgres_server() -> String {
    postgres_server().expect(
        "this test needs PostgreSQL: set TEST_DATABASE_URL (see .ci/postgres.sh) \
         or leave out --include-ignored",
    )
}

pub fn sqlite_db() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    TestDb {
        url,
        _dir: Some(dir),
    }
}

pub async fn postgres_db(admin: &str) -> TestDb {
    let name = format!("ic_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(admin)
        .await
        .expect("TEST_DATABASE_URL must name a reachable PostgreSQL server");
    // The name is generated above, never user input.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let mut url = url::Url::parse(admin).expect("TEST_DATABASE_URL is a URL");
    url.set_path(&name);
    TestDb {
        url: url.to_string(),
        _dir: None,
    }
}

/// The workspace every test starts with: alice, bob and carol, #general, and #incidents (the bot
/// is a member; it is the announce channel).
pub struct TestApp {
    pub sim: SlackSimulator,
    /// Variables that differ from [`settings_for`]'s, kept for restarts.
    overrides: Vec<(&'static str, String)>,
    pub store: Store,
    pub general: String,
    pub incidents: String,
    pub db: TestDb,
    /// Where the bot's HTTP side listens (`/healthz`, `/readyz`, `/metrics`, alerts).
    pub http_addr: std::net::SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), StartupError>>>,
    /// The running bot's clock.
    pub clock: Arc<dyn Clock>,
    /// More processes sharing the database and the workspace (PostgreSQL only).
    replicas: Vec<Running>,
    /// Where each of [`TestApp::add_replica`]'s processes has its HTTP side.
    pub replica_http_addrs: Vec<std::net::SocketAddr>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like [`spawn_app`], letting the test shape the workspace before the bot starts.
pub async fn spawn_app_with(setup: impl FnOnce(&SlackSimulator)) -> TestApp {
    spawn_app_configured(&[], setup).await
}

/// Like [`spawn_app_with`], with some configuration variables set differently.
pub async fn spawn_app_configured(
    overrides: &[(&'static str, &str)],
    setup: impl FnOnce(&SlackSimulator),
) -> TestApp {
    spawn_app_clocked(overrides, Arc::new(SystemClock), setup).await
}

/// Like [`spawn_app_configured`], the bot reading `clock` (a [`MovableClock`] the test moves on).
pub async fn spawn_app_clocked(
    overrides: &[(&'static str, &str)],
    clock: Arc<dyn Clock>,
    setup: impl FnOnce(&SlackSimulator),
) -> TestApp {
    spawn_app_in(manifest_scopes(), overrides, clock, setup).await
}

/// Like [`spawn_app_clocked`], in a Slack configured as `slack` says (token rotation, say).
pub async fn spawn_app_in(
    slack: SimulatorConfig,
    overrides: &[(&'static str, &str)],
    clock: Arc<dyn Clock>,
    setup: impl FnOnce(&SlackSimulator),
) -> TestApp {
    incident_commander::install_crypto_provider();
    let sim = SlackSimulator::start(slack)
        .await
        .expect("simulator starts");
    sim.add_user(ALICE, "alice");
    sim.add_user(BOB, "bob");
    sim.add_user(CAROL, "carol");
    let general = sim.add_channel("general", false, false);
    let incidents = sim.add_channel("incidents", false, true);
    setup(&sim);
    let db = test_db().await;
    let overrides: Vec<(&'static str, String)> =
        overrides.iter().map(|(k, v)| (*k, v.to_string())).collect();
    let ((store, stop, task), http_addr) = launch(&sim, &db, &overrides, clock.clone()).await;
    if over_http(&overrides) {
        // Slack stamps its requests by its own clock, which agrees with the bot's: a request
        // stamped by another clock than the bot's would be refused as stale.
        let slack_clock = clock.clone();
        sim.use_clock(move || slack_clock.now());
        sim.use_request_urls(&[format!("http://{http_addr}")], SIGNING_SECRET);
    }
    TestApp {
        clock,
        sim,
        overrides,
        store,
        general,
        incidents,
        db,
        http_addr,
        stop: Some(stop),
        task: Some(task),
        replicas: Vec::new(),
        replica_http_addrs: Vec::new(),
    }
}

/// The simulator's workspace with the bot granted exactly the scopes the manifest asks for: a
/// Slack call whose scope the manifest lacks fails in the tests as it would in a workspace.
pub fn manifest_scopes() -> SimulatorConfig {
    let scopes = incident_commander::manifest::bot_scopes(&incident_commander::manifest::FEATURES);
    SimulatorConfig {
        granted_scopes: scopes.into_iter().map(str::to_string).collect(),
        ..SimulatorConfig::default()
    }
}

type Running = (
    Store,
    oneshot::Sender<()>,
    JoinHandle<Result<(), StartupError>>,
);

/// The app's `SLACK_SIGNING_SECRET` in tests over HTTP ([`spawn_app_over_http`]); the
/// simulator signs its requests with it.
pub const SIGNING_SECRET: &str = "8f742231b10e8888abcd99a1b2c3d4e5";

/// The bot with `SLACK_TRANSPORT=http`: Slack's requests come to its request URLs, signed, and
/// it holds no Socket Mode connection.
pub async fn spawn_app_over_http(
    overrides: &[(&'static str, &str)],
    setup: impl FnOnce(&SlackSimulator),
) -> TestApp {
    let mut vars = vec![
        ("SLACK_TRANSPORT", "http"),
        ("SLACK_SIGNING_SECRET", SIGNING_SECRET),
    ];
    vars.extend_from_slice(overrides);
    spawn_app_configured(&vars, setup).await
}

fn over_http(overrides: &[(&'static str, String)]) -> bool {
    overrides
        .iter()
        .any(|(k, v)| *k == "SLACK_TRANSPORT" && v == "http")
}

/// Builds and runs the bot against `sim` and `db`; returns once this process has a Socket Mode
/// connection of its own (one opened after the call: a restarted or added process is not taken
/// for connected on an earlier process's connection) — over HTTP, once it answers `/readyz` —
/// with where its HTTP side listens.
async fn launch(
    sim: &SlackSimulator,
    db: &TestDb,
    overrides: &[(&'static str, String)],
    clock: Arc<dyn Clock>,
) -> (Running, std::net::SocketAddr) {
    let hellos = sim.hellos_sent();
    let app = App::build_with_clock(settings_with(sim, &db.url, overrides), clock)
        .await
        .expect("the app starts against the simulator");
    let store = app.store();
    let http_addr = app.http_addr();
    let (tx, rx) = oneshot::channel();
    let task = tokio::spawn(app.run(async {
        let _ = rx.await;
    }));
    if over_http(overrides) {
        let ready = format!("http://{http_addr}/readyz");
        let deadline = tokio::time::Instant::now() + WAIT;
        while !reqwest::get(&ready)
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the bot never became ready over HTTP"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    } else {
        assert!(
            sim.wait_until(WAIT, |s| s.hellos_sent() > hellos).await,
            "the bot connects over Socket Mode"
        );
    }
    ((store, tx, task), http_addr)
}

impl TestApp {
    /// Starts the bot again (after [`TestApp::crash`] or [`TestApp::stop`]) with `clock`.
    pub async fn restart(&mut self, clock: Arc<dyn Clock>) {
        let ((store, stop, task), http_addr) =
            launch(&self.sim, &self.db, &self.overrides, clock.clone()).await;
        self.clock = clock;
        self.store = store;
        self.http_addr = http_addr;
        self.stop = Some(stop);
        self.task = Some(task);
        self.point_request_urls();
    }

    /// Sets these variables differently from the next [`TestApp::restart`] on.
    pub fn set_overrides(&mut self, vars: &[(&'static str, &str)]) {
        for (name, value) in vars {
            self.overrides.retain(|(k, _)| k != name);
            self.overrides.push((name, value.to_string()));
        }
    }

    /// Over HTTP, Slack's request URLs lead to every running process in turn (a round-robin
    /// load balancer in front of the replicas).
    fn point_request_urls(&self) {
        if over_http(&self.overrides) {
            let urls: Vec<String> = std::iter::once(self.http_addr)
                .chain(self.replica_http_addrs.iter().copied())
                .map(|addr| format!("http://{addr}"))
                .collect();
            self.sim.use_request_urls(&urls, SIGNING_SECRET);
        }
    }

    /// Starts one more bot process on the same database and workspace, reading the same clock;
    /// returns once it holds its own Socket Mode connection.
    pub async fn add_replica(&mut self) {
        let (replica, http_addr) =
            launch(&self.sim, &self.db, &self.overrides, self.clock.clone()).await;
        self.replica_http_addrs.push(http_addr);
        self.replicas.push(replica);
        self.point_request_urls();
    }

    /// Kills the bot without letting it finish anything, as a crash would; returns once its
    /// Socket Mode connections are closed, as a dead process's sockets are (so that nothing sent
    /// afterwards reaches it).
    pub async fn crash(&mut self) {
        let open = self.sim.connection_count();
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
        self.stop = None;
        let own = self
            .overrides
            .iter()
            .find(|(k, _)| *k == "SLACK_SOCKET_CONNECTIONS")
            .map_or(1, |(_, v)| v.parse().expect("a number"));
        assert!(
            self.sim
                .wait_until(WAIT, |s| s.connection_count() <= open.saturating_sub(own))
                .await,
            "the crashed process's connections are still open"
        );
    }

    /// `user` types `/inc <text>` in #general; returns the ephemeral text of the ack.
    pub async fn command(&self, user: &str, text: &str) -> String {
        self.command_in(user, &self.general.clone(), text).await
    }

    /// `user` types `/inc <text>` in `channel`; returns the ephemeral text of the ack.
    pub async fn command_in(&self, user: &str, channel: &str, text: &str) -> String {
        let envelope = self.sim.slash_command(user, channel, text);
        let ack = self
            .sim
            .ack(&envelope.envelope_id, WAIT)
            .await
            .unwrap_or_else(|| panic!("no ack for /inc {text}"));
        ack_text(&ack)
    }

    /// Slack delivers `envelope` again, as it does when an ack came late; returns the bot's ack
    /// of this delivery once it came (the first ack does not count).
    pub async fn redeliver(&self, envelope: &Envelope) -> Ack {
        let acks = |s: &SlackSimulator| -> Vec<Ack> {
            s.events()
                .into_iter()
                .filter_map(|e| match e {
                    SimEvent::Ack(a) if a.envelope_id == envelope.envelope_id => Some(a),
                    _ => None,
                })
                .collect()
        };
        let before = acks(&self.sim).len();
        self.sim.send(envelope);
        assert!(
            self.sim.wait_until(WAIT, |s| acks(s).len() > before).await,
            "the redelivered envelope {} was never acked",
            envelope.envelope_id
        );
        acks(&self.sim).pop().expect("an ack")
    }

    /// `user` declares with `/inc declare <text>` and everything the declaration does is done;
    /// returns the incident channel.
    pub async fn declared(&self, user: &str, text: &str) -> Channel {
        let reply = self.command(user, &format!("declare {text}")).await;
        assert!(reply.contains("Declared *INC-"), "{reply}");
        self.settle().await;
        let number: i64 = reply
            .split("*INC-")
            .nth(1)
            .and_then(|rest| rest.split('*').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no incident number in {reply}"));
        let incident = self
            .store
            .open_incidents()
            .await
            .expect("open")
            .into_iter()
            .find(|i| i.number == number)
            .expect("the declared incident");
        let channel = incident.channel_id.expect("a channel");
        self.sim.channel(&channel).expect("the channel exists")
    }

    /// `user` declares a private incident through the Declare form (`severity` as the form's
    /// option value, `sev1`) and everything the declaration does is done; returns its channel.
    pub async fn declared_private(&self, user: &str, severity: &str, title: &str) -> Channel {
        self.command(user, &format!("declare {title}")).await;
        let view = open_view(self, user).await;
        submit(
            self,
            user,
            &view,
            &[
                ("severity", ViewInput::Option(severity.into())),
                ("private", ViewInput::Checked(vec!["private".into()])),
            ],
        )
        .await;
        self.settle().await;
        let incident = self
            .store
            .open_incidents()
            .await
            .expect("open")
            .into_iter()
            .find(|i| i.title == title)
            .unwrap_or_else(|| panic!("no incident {title:?} was declared"));
        assert!(incident.private, "declared private");
        let channel = incident.channel_id.expect("a channel");
        self.sim.channel(&channel).expect("the channel exists")
    }

    /// The incident whose channel this is, as stored now.
    pub async fn incident_in(&self, channel: &Channel) -> Incident {
        self.store
            .incident_by_channel(&channel.id)
            .await
            .expect("load")
            .expect("an incident channel")
    }

    /// A point in the simulator's event log, for [`TestApp::writes_since`].
    pub fn mark(&self) -> u64 {
        self.sim.calls().iter().map(|c| c.seq).max().unwrap_or(0)
    }

    /// Web API calls after `mark` that change something in Slack.
    pub fn writes_since(&self, mark: u64) -> Vec<String> {
        self.sim
            .calls()
            .into_iter()
            .filter(|c| c.seq > mark && !is_read_only(&c.method))
            .map(|c| c.method)
            .collect()
    }

    /// The channels (by id) that Web API calls after `mark` changed something in: posted,
    /// edited, pinned, invited to, set the topic of, shared a file in.
    pub fn channels_written_since(&self, mark: u64) -> std::collections::BTreeSet<String> {
        let mut out = std::collections::BTreeSet::new();
        for call in self.sim.calls() {
            if call.seq <= mark || is_read_only(&call.method) {
                continue;
            }
            for key in ["channel", "channel_id", "channels"] {
                if let Some(value) = call.params[key].as_str() {
                    out.extend(
                        value
                            .split(',')
                            .map(str::trim)
                            .filter(|c| !c.is_empty())
                            .map(str::to_string),
                    );
                }
            }
        }
        out
    }

    /// Waits until every job due by now, or being retried, has finished (done or failed); jobs
    /// scheduled for later (reminders, the nudge, the digest) are left waiting.
    pub async fn settle(&self) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            // A second of margin: a step that finishes between the clock's reading and the
            // count enqueues its follow-ups at its own (later) now; they must count as due.
            let horizon = self.clock.now() + chrono::Duration::seconds(1);
            let due = self
                .store
                .queue_figures(horizon)
                .await
                .expect("due jobs")
                .pending;
            if due == 0 {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{due} jobs still under way after {WAIT:?}: {:?}",
                self.store.job_counts().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The channel the bot created whose name starts with `prefix`.
    pub fn channel_named(&self, name: &str) -> Channel {
        self.sim
            .channel_by_name(name)
            .unwrap_or_else(|| panic!("no channel #{name}; channels: {:?}", self.channel_names()))
    }

    /// The one incident channel (`inc-…`) the bot created, asserting there is exactly one and
    /// that it is called `name`.
    pub fn only_incident_channel(&self, name: &str) -> Channel {
        let incident_channels: Vec<String> = self
            .channel_names()
            .into_iter()
            .filter(|n| n.starts_with("inc-"))
            .collect();
        assert_eq!(
            incident_channels,
            [name],
            "expected exactly one incident channel"
        );
        self.channel_named(name)
    }

    pub fn channel_names(&self) -> Vec<String> {
        self.sim.channels().into_iter().map(|c| c.name).collect()
    }

    /// Web API calls to `method` that succeeded.
    pub fn ok_calls(&self, method: &str) -> usize {
        self.sim
            .calls_to(method)
            .iter()
            .filter(|c| c.status == 200 && c.response["ok"] == true)
            .count()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        for (_, _, task) in &self.replicas {
            task.abort();
        }
    }
}

pub fn settings_for(sim: &SlackSimulator, database_url: &str) -> Settings {
    settings_with(sim, database_url, &[])
}

pub fn settings_with(
    sim: &SlackSimulator,
    database_url: &str,
    overrides: &[(&'static str, String)],
) -> Settings {
    let defaults = SimulatorConfig::default();
    let installs = overrides.iter().any(|(k, _)| *k == "SLACK_CLIENT_ID");
    let mut vars = HashMap::from([
        ("SLACK_BOT_TOKEN", defaults.bot_token),
        ("SLACK_APP_TOKEN", defaults.app_token),
        ("SLACK_API_URL", sim.api_url()),
        ("DATABASE_URL", database_url.to_string()),
        ("ANNOUNCE_CHANNEL", "#incidents".to_string()),
        ("SLACK_SOCKET_CONNECTIONS", "1".to_string()),
        ("SLACK_TIMEOUT", "5s".to_string()),
        // Each app's HTTP side on a free port (App::http_addr says which).
        ("HTTP_ADDR", "127.0.0.1:0".to_string()),
        // No digest unless a test asks for one: at 09:00 on a weekday it would land in
        // #incidents in the middle of whatever test is running.
        ("DIGEST_CRON", String::new()),
    ]);
    if installs {
        // Slack's authorize page, where the bot sends an admin installing the app.
        vars.insert("SLACK_OAUTH_URL", sim.oauth_authorize_url());
    }
    vars.extend(overrides.iter().cloned());
    Settings::from_map(&vars).expect("test settings are valid")
}

/// Web API methods that only read.
pub fn is_read_only(method: &str) -> bool {
    matches!(
        method,
        "auth.test"
            | "apps.connections.open"
            | "conversations.list"
            | "conversations.info"
            | "conversations.history"
            | "conversations.replies"
            | "conversations.members"
            | "users.info"
            | "usergroups.users.list"
            | "pins.list"
            | "chat.getPermalink"
    )
}

/// The kinds of `incident`'s timeline events, in order.
pub async fn timeline_kinds(store: &Store, incident: i64) -> Vec<&'static str> {
    let events = store.timeline(incident).await.expect("timeline");
    events.iter().map(TimelineEvent::kind).collect()
}

/// `incident`'s first timeline event of `kind`.
pub async fn timeline_event(store: &Store, incident: i64, kind: &str) -> TimelineEvent {
    let events = store.timeline(incident).await.expect("timeline");
    events
        .into_iter()
        .find(|e| e.kind() == kind)
        .unwrap_or_else(|| panic!("no {kind} event in INC-{incident}'s timeline"))
}

/// The text of an ack's payload (empty when it carried none).
pub fn ack_text(ack: &slack_simulator::Ack) -> String {
    ack.payload
        .as_ref()
        .and_then(|p| p["text"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// All text a message shows: its fallback and every text in its blocks.
pub fn shown_text(message: &slack_simulator::Message) -> String {
    let mut out = message.text.clone();
    collect_text(&message.blocks, &mut out);
    out
}

/// The text Slack parses for mentions and links: the fallback and every mrkdwn text object
/// (plain_text objects such as headers are shown literally and never parsed).
pub fn parsed_text(message: &slack_simulator::Message) -> String {
    fn walk(value: &serde_json::Value, out: &mut String) {
        match value {
            serde_json::Value::Object(map) => {
                if map.get("type").and_then(|t| t.as_str()) == Some("mrkdwn")
                    && let Some(t) = map.get("text").and_then(|t| t.as_str())
                {
                    out.push('\n');
                    out.push_str(t);
                }
                map.values().for_each(|v| walk(v, out));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = message.text.clone();
    walk(&message.blocks, &mut out);
    out
}

fn collect_text(value: &serde_json::Value, out: &mut String) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::String(t)) = map.get("text") {
                out.push('\n');
                out.push_str(t);
            }
            for (k, v) in map {
                if k != "text" || !v.is_string() {
                    collect_text(v, out);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_text(v, out)),
        _ => {}
    }
}

// --- forms ---

/// The modal `user` has open, once the bot opened it.
pub async fn open_view(app: &TestApp, user: &str) -> View {
    assert!(
        app.sim
            .wait_until(WAIT, |s| s.open_view_for(user).is_some())
            .await,
        "no modal opened for {user}"
    );
    app.sim.open_view_for(user).expect("open view")
}

/// `user` submits `view` with `edits`; returns the ack's `response_action` payload, if any.
pub async fn submit(
    app: &TestApp,
    user: &str,
    view: &View,
    edits: &[(&str, ViewInput)],
) -> Option<serde_json::Value> {
    let envelope = app.sim.submit_view(user, &view.id, edits);
    app.sim
        .ack(&envelope.envelope_id, WAIT)
        .await
        .expect("the submission is acked")
        .payload
}

// --- the HTTP side (probes, metrics, alert intake) ---

/// The `ALERT_TOKEN` of [`spawn_app_with_alerts`].
pub const ALERT_TOKEN: &str = "test-alert-token-0123456789abcdef";

/// The bot with its alert intake on (`ALERT_TOKEN` set), with `overrides` besides.
pub async fn spawn_app_with_alerts(
    overrides: &[(&'static str, &str)],
    setup: impl FnOnce(&SlackSimulator),
) -> TestApp {
    let mut vars = vec![("ALERT_TOKEN", ALERT_TOKEN)];
    vars.extend_from_slice(overrides);
    spawn_app_configured(&vars, setup).await
}

impl TestApp {
    /// `http://127.0.0.1:<port><path>` on the bot's HTTP side.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http_addr)
    }

    /// POSTs `body` to the alert endpoint `path` with the right token; the status and the JSON
    /// answered.
    pub async fn alert(&self, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
        let response = reqwest::Client::new()
            .post(self.url(path))
            .bearer_auth(ALERT_TOKEN)
            .json(body)
            .send()
            .await
            .expect("the HTTP side answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or_default())
    }

    /// `GET /metrics`.
    pub async fn metrics(&self) -> String {
        reqwest::get(self.url("/metrics"))
            .await
            .expect("/metrics answers")
            .text()
            .await
            .expect("text")
    }

    /// `GET /readyz`: the status and the JSON.
    pub async fn readyz(&self) -> (u16, serde_json::Value) {
        let response = reqwest::get(self.url("/readyz"))
            .await
            .expect("/readyz answers");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON"))
    }

    /// Asks `/readyz` until it answers `status` (every 20 ms, up to [`WAIT`]).
    pub async fn wait_readyz(&self, status: u16) -> serde_json::Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let (now, body) = self.readyz().await;
            if now == status {
                return body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "/readyz still answers {now} after {WAIT:?}: {body}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The value of the sample of `name` whose labels include `labels`, in Prometheus text.
pub fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(&format!("{name} ")) || l.starts_with(&format!("{name}{{")))
        .find(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}
