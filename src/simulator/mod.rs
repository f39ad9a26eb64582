//! A faithful fake Slack on 127.0.0.1 for the bot's integration tests, benchmarks and `demo`.
//!
//! One TCP port serves the Web API (`/api/<method>`), Socket Mode (`/link/?ticket=…`, a
//! WebSocket) and response URLs (`/response/<n>`). It speaks the real wire protocols, so the
//! unmodified slack-morphism client and its Socket Mode listener work against it, and it
//! records everything that crosses the wire (envelopes, acks, Web API calls, response-URL
//! posts) for assertions and for a readable [`SlackSimulator::transcript`].
//!
//! This module must not use slack-morphism types (it is the independent other side of the
//! wire, so the client's models would hide serialization mismatches) and must not reference
//! any other module of the crate. Its submodules split along these seams:
//! - `state`: the in-memory workspace and event log, synchronous, no I/O;
//! - `methods`: what each Web API method does to the workspace and answers;
//! - `web_api`: the HTTP layer (parameters, auth, fault injection, recording);
//! - `socket`: the Socket Mode WebSocket (hello, envelopes, acks);
//! - `transcript`: rendering the event log as a conversation.

mod methods;
mod socket;
mod state;
mod transcript;
mod web_api;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::{any, get, post};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use state::{FaultKind, State};

/// The bot user's id in the simulated workspace.
pub const BOT_USER_ID: &str = "U0BOT";
/// The bot's bot id (`B…`), as `auth.test` and messages report it.
pub const BOT_ID: &str = "B0BOT";
/// The simulated workspace's team id.
pub const TEAM_ID: &str = "T0EXAMPLE";
/// The simulated workspace's domain (`example.slack.com`).
pub const TEAM_DOMAIN: &str = "example";
/// The app id of the bot's Slack app.
pub const APP_ID: &str = "A0EXAMPLE";
/// The human who created channels added with [`SlackSimulator::add_channel`].
pub const ADMIN_USER_ID: &str = "U0ADMIN";

/// Tokens the simulator accepts.
#[derive(Clone, Debug)]
pub struct SimulatorConfig {
    /// Bot token (`xoxb-…`) every Web API method except `apps.connections.open` requires.
    pub bot_token: String,
    /// App-level token (`xapp-…`) `apps.connections.open` requires.
    pub app_token: String,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        Self {
            bot_token: "xoxb-sim-bot".to_string(),
            app_token: "xapp-sim-app".to_string(),
        }
    }
}

/// A Socket Mode envelope, as sent to the bot.
#[derive(Clone, Debug)]
pub struct Envelope {
    pub envelope_id: String,
    /// `slash_commands`, `interactive` or `events_api`.
    pub envelope_type: String,
    pub payload: Value,
    pub accepts_response_payload: bool,
}

/// The bot's acknowledgement of an envelope.
#[derive(Clone, Debug)]
pub struct Ack {
    pub envelope_id: String,
    /// The ack's `payload`, if it had one (and it was not `null`).
    pub payload: Option<Value>,
    pub at: Instant,
    pub seq: u64,
}

/// One Web API call, successful or not.
#[derive(Clone, Debug)]
pub struct ApiCall {
    pub seq: u64,
    pub method: String,
    /// Query string, form and JSON body merged into one object. Form and query values are
    /// strings (JSON-valued form fields such as `blocks` stay strings); JSON bodies keep their
    /// types. A `token` parameter is moved to [`ApiCall::token`].
    pub params: Value,
    /// The bearer token used (or the `token` parameter). Never printed by the transcript.
    pub token: Option<String>,
    pub status: u16,
    /// The JSON answered; `Null` when the body was empty (HTTP 500 after applying).
    pub response: Value,
    pub received_at: Instant,
    pub answered_at: Instant,
}

/// Everything that crossed the wire, in order. `seq` is one counter across all events.
#[derive(Clone, Debug)]
pub enum SimEvent {
    EnvelopeSent {
        seq: u64,
        envelope: Envelope,
        at: Instant,
    },
    Ack(Ack),
    Call(ApiCall),
    ResponseUrl {
        seq: u64,
        path: String,
        body: Value,
        at: Instant,
    },
}

/// A snapshot of a channel.
#[derive(Clone, Debug)]
pub struct Channel {
    pub id: String,
    pub name: String,
    pub is_private: bool,
    pub creator: String,
    /// User ids, including [`BOT_USER_ID`] when the bot is a member.
    pub members: Vec<String>,
    pub topic: String,
    /// Messages posted with `chat.postMessage` (and `in_channel` slash-command replies).
    pub messages: Vec<Message>,
    /// `ts` of pinned messages, in pin order.
    pub pins: Vec<String>,
}

/// A snapshot of a channel message.
#[derive(Clone, Debug)]
pub struct Message {
    pub ts: String,
    pub user: String,
    pub text: String,
    /// `Null` when the message has no blocks.
    pub blocks: Value,
    pub thread_ts: Option<String>,
}

/// Shared by the handle, the HTTP handlers and the WebSocket tasks.
pub(crate) struct Inner {
    pub(crate) config: SimulatorConfig,
    pub(crate) port: u16,
    state: Mutex<State>,
    /// Bumped after every change of `state`; waiters watch it.
    changed: watch::Sender<u64>,
    /// Set to `true` by `shutdown`.
    shutdown: watch::Sender<bool>,
    server: Mutex<Option<JoinHandle<()>>>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("simulator state lock poisoned")
    }

    /// Runs `f` on the state, then wakes waiters. The lock is never held across an await.
    pub(crate) fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let result = {
            let mut state = self.lock();
            f(&mut state)
        };
        self.changed
            .send_modify(|version| *version = version.wrapping_add(1));
        result
    }

    /// Runs `f` on the state without waking waiters (for reads).
    pub(crate) fn read_state<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        let state = self.lock();
        f(&state)
    }

    pub(crate) fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    pub(crate) fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// A running fake Slack. Cheap to clone; all clones share one server.
#[derive(Clone)]
pub struct SlackSimulator {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SlackSimulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackSimulator")
            .field("port", &self.inner.port)
            .finish_non_exhaustive()
    }
}

impl SlackSimulator {
    /// Binds 127.0.0.1 on a free port and starts serving the Web API, Socket Mode and
    /// response URLs on it.
    pub async fn start(config: SimulatorConfig) -> std::io::Result<SlackSimulator> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let port = listener.local_addr()?.port();
        let (changed, _) = watch::channel(0u64);
        let (shutdown, _) = watch::channel(false);
        let inner = Arc::new(Inner {
            config,
            port,
            state: Mutex::new(State::new()),
            changed,
            shutdown,
            server: Mutex::new(None),
        });
        let app = Router::new()
            .route("/api/{method}", any(web_api::api_handler))
            .route("/response/{*rest}", post(web_api::response_url_handler))
            .route("/link", get(socket::link_handler))
            .route("/link/", get(socket::link_handler))
            .with_state(inner.clone());
        let mut stop = inner.shutdown_signal();
        let server = tokio::spawn(async move {
            let result = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    // Err means the sender is gone, which also means: stop.
                    let _ = stop.wait_for(|stopped| *stopped).await;
                })
                .await;
            if let Err(err) = result {
                tracing::warn!(error = %err, "slack simulator server stopped with an error");
            }
        });
        *inner.server.lock().expect("simulator server lock poisoned") = Some(server);
        Ok(SlackSimulator { inner })
    }

    /// The Web API base URL to give the client, `http://127.0.0.1:PORT/api`.
    pub fn api_url(&self) -> String {
        format!("{}/api", self.inner.base_url())
    }

    // --- the workspace ---

    /// Adds (or renames) a human user that `users.info` and `conversations.invite` know.
    pub fn add_user(&self, id: &str, name: &str) {
        self.inner.with_state(|s| s.add_user(id, name, false));
    }

    /// Adds a channel created by the human `U0ADMIN`; returns its id.
    pub fn add_channel(&self, name: &str, is_private: bool, bot_is_member: bool) -> String {
        self.inner
            .with_state(|s| s.add_channel(name, is_private, ADMIN_USER_ID, bot_is_member))
    }

    pub fn channel(&self, id: &str) -> Option<Channel> {
        self.inner
            .read_state(|s| s.channel(id).map(|c| c.snapshot()))
    }

    pub fn channel_by_name(&self, name: &str) -> Option<Channel> {
        let name = name.trim_start_matches('#');
        self.inner.read_state(|s| {
            s.channels
                .iter()
                .find(|c| c.name == name)
                .map(|c| c.snapshot())
        })
    }

    /// All channels, in creation order.
    pub fn channels(&self) -> Vec<Channel> {
        self.inner
            .read_state(|s| s.channels.iter().map(|c| c.snapshot()).collect())
    }

    // --- Socket Mode ---

    /// True once at least one WebSocket connection got its hello (waits up to `timeout`).
    pub async fn wait_connected(&self, timeout: Duration) -> bool {
        self.wait_for(timeout, |s| (s.hellos_sent > 0).then_some(()))
            .await
            .is_some()
    }

    /// WebSocket connections currently open (including ones sent a disconnect frame that the
    /// client has not closed yet).
    pub fn connection_count(&self) -> usize {
        self.inner.read_state(|s| s.connections.len())
    }

    /// Builds a `/inc` slash command from `user_id` in `channel_id` and sends it.
    pub fn slash_command(&self, user_id: &str, channel_id: &str, text: &str) -> Envelope {
        let base = self.inner.base_url();
        let envelope = self.inner.with_state(|s| {
            let response_path = s.new_response_path();
            let trigger_id = s.new_trigger_id();
            let channel_name = s
                .channel(channel_id)
                .map(|c| c.name.clone())
                .unwrap_or_else(|| "unknown".to_string());
            let user_name = s
                .user(user_id)
                .map(|u| u.name.clone())
                .unwrap_or_else(|| user_id.to_string());
            Envelope {
                envelope_id: uuid::Uuid::new_v4().to_string(),
                envelope_type: "slash_commands".to_string(),
                payload: json!({
                    "token": "verification-token-unused",
                    "team_id": TEAM_ID,
                    "team_domain": TEAM_DOMAIN,
                    "channel_id": channel_id,
                    "channel_name": channel_name,
                    "user_id": user_id,
                    "user_name": user_name,
                    "command": "/inc",
                    "text": text,
                    "api_app_id": APP_ID,
                    "is_enterprise_install": "false",
                    "response_url": format!("{base}{response_path}"),
                    "trigger_id": trigger_id,
                }),
                accepts_response_payload: true,
            }
        });
        self.send(&envelope);
        envelope
    }

    /// Sends `envelope` to one open connection (round robin), or queues it until one opens.
    /// Sending the same envelope again is a redelivery: same `envelope_id` and payload (for
    /// `events_api`, `retry_attempt` counts up and `retry_reason` is `timeout`).
    pub fn send(&self, envelope: &Envelope) {
        self.inner.with_state(|s| s.send_envelope(envelope.clone()));
    }

    /// Waits for the bot's first ack of `envelope_id` (already received or future).
    pub async fn ack(&self, envelope_id: &str, timeout: Duration) -> Option<Ack> {
        self.wait_for(timeout, |s| {
            s.events.iter().find_map(|e| match e {
                SimEvent::Ack(ack) if ack.envelope_id == envelope_id => Some(ack.clone()),
                _ => None,
            })
        })
        .await
    }

    /// Sends `{"type":"disconnect","reason":…}` on every open connection. Envelopes sent
    /// afterwards wait for a connection that has not been told to disconnect.
    pub fn disconnect_all(&self, reason: &str) {
        self.inner.with_state(|s| s.disconnect_all(reason));
    }

    // --- fault injection ---

    /// The next `times` calls to `method` answer HTTP 200 `{"ok":false,"error":error}` and
    /// change nothing.
    pub fn fail(&self, method: &str, error: &str, times: usize) {
        self.add_fault(method, FaultKind::Fail(error.to_string()), times);
    }

    /// The next `times` calls to `method` answer HTTP 429 with `Retry-After` and
    /// `{"ok":false,"error":"ratelimited"}`, changing nothing.
    pub fn rate_limit(&self, method: &str, retry_after_secs: u64, times: usize) {
        self.add_fault(method, FaultKind::RateLimit(retry_after_secs), times);
    }

    /// The next `times` calls to `method` take effect and then answer HTTP 500 with an empty
    /// body, as if Slack did the work and the answer was lost.
    pub fn fail_after_applying(&self, method: &str, times: usize) {
        self.add_fault(method, FaultKind::FailAfterApplying, times);
    }

    /// Every call to `method` waits `delay` before it is handled; `Duration::ZERO` clears.
    pub fn delay(&self, method: &str, delay: Duration) {
        self.inner.with_state(|s| {
            if delay.is_zero() {
                s.delays.remove(method);
            } else {
                s.delays.insert(method.to_string(), delay);
            }
        });
    }

    /// The next `times` calls to `method` wait `delay` before they are handled (then take effect
    /// even if the caller gave up waiting, as Slack does); later calls are not delayed.
    pub fn delay_next(&self, method: &str, delay: Duration, times: usize) {
        self.inner
            .with_state(|s| s.delays_next.add(method, delay, times));
    }

    fn add_fault(&self, method: &str, kind: FaultKind, times: usize) {
        self.inner.with_state(|s| s.faults.add(method, kind, times));
    }

    // --- what happened ---

    /// Everything, in order.
    pub fn events(&self) -> Vec<SimEvent> {
        self.inner.read_state(|s| s.events.clone())
    }

    /// Web API calls only (including failed ones), in order.
    pub fn calls(&self) -> Vec<ApiCall> {
        self.inner.read_state(|s| s.calls().cloned().collect())
    }

    pub fn calls_to(&self, method: &str) -> Vec<ApiCall> {
        self.inner.read_state(|s| {
            s.calls()
                .filter(|call| call.method == method)
                .cloned()
                .collect()
        })
    }

    /// Posts to response URLs: (path, body), in order.
    pub fn responses(&self) -> Vec<(String, Value)> {
        self.inner.read_state(|s| {
            s.events
                .iter()
                .filter_map(|e| match e {
                    SimEvent::ResponseUrl { path, body, .. } => Some((path.clone(), body.clone())),
                    _ => None,
                })
                .collect()
        })
    }

    /// The first call to `method`, already made or made within `timeout`.
    pub async fn wait_for_call(&self, method: &str, timeout: Duration) -> Option<ApiCall> {
        self.wait_for(timeout, |s| {
            s.calls().find(|call| call.method == method).cloned()
        })
        .await
    }

    /// Polls `cond` every 20 ms until it holds (true) or `timeout` passes (false). Polling, not
    /// the change watch: `cond` may be as costly as scanning the whole event log, and re-running
    /// it on every change would contend with the server for the state lock under load.
    pub async fn wait_until(
        &self,
        timeout: Duration,
        cond: impl Fn(&SlackSimulator) -> bool,
    ) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if cond(self) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The conversation so far, one line per event, without tokens.
    pub fn transcript(&self) -> String {
        self.inner.read_state(transcript::render)
    }

    /// Closes every WebSocket and stops the server.
    pub async fn shutdown(self) {
        self.inner.with_state(|s| s.close_all());
        self.inner.shutdown.send_replace(true);
        let server = self
            .inner
            .server
            .lock()
            .expect("simulator server lock poisoned")
            .take();
        if let Some(mut server) = server
            && tokio::time::timeout(Duration::from_secs(2), &mut server)
                .await
                .is_err()
        {
            server.abort();
        }
    }

    /// Waits until `check` returns `Some`, re-checking after every state change.
    async fn wait_for<T>(
        &self,
        timeout: Duration,
        mut check: impl FnMut(&State) -> Option<T>,
    ) -> Option<T> {
        let mut changes = self.inner.changed.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            changes.borrow_and_update();
            if let Some(found) = self.inner.read_state(&mut check) {
                return Some(found);
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => continue,
                Ok(Err(_)) | Err(_) => return self.inner.read_state(&mut check),
            }
        }
    }
}
