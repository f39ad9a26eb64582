//! A faithful fake Slack on 127.0.0.1 for the bot's integration tests, benchmarks and `demo`.
//!
//! One TCP port serves the Web API (`/api/<method>`), Socket Mode (`/link/?ticket=…`, a
//! WebSocket), response URLs (`/response/<n>`), file uploads (`/upload/<file>/<token>`) and
//! the OAuth v2 authorize page (`/oauth/v2/authorize`).
//! Envelopes go to the bot over Socket Mode, or — after [`SlackSimulator::use_request_urls`] —
//! as signed HTTP POSTs to its request URLs, as Slack's HTTP transport sends them. It
//! speaks the real wire protocols, so the bot's unmodified clients (slack-morphism's Web API
//! client, the bot's own Socket Mode loop and HTTP receiver) work against it, and it records
//! everything that crosses the wire (envelopes, acks, HTTP answers, Web API calls, response-URL
//! posts, uploads) and what people do in the workspace, for assertions and for a readable
//! [`SlackSimulator::transcript`].
//!
//! People act through the handle: they run slash commands, use message shortcuts, click
//! buttons, submit modals (interactive envelopes), and post, pin, edit, delete and join (which
//! change the workspace and send the Events API events the app subscribed to, when the bot is
//! in the channel).
//!
//! It simulates several workspaces the one app can be installed in. The first, [`TEAM_ID`],
//! has the app installed from the start with [`SimulatorConfig::bot_token`] (bot user
//! [`BOT_USER_ID`]), and everything that names no workspace happens there; others are added
//! with [`SlackSimulator::add_workspace`] and installed through Slack's OAuth v2 flow
//! ([`SlackSimulator::approve_install`], then `oauth.v2.access`). A token sees only its own
//! workspace's channels and users, and every envelope carries the workspace it comes from.
//!
//! This module must not use slack-morphism types (it is the independent other side of the
//! wire, so the client's models would hide serialization mismatches) and must not reference
//! any other module of the crate. Its submodules split along these seams:
//! - `state`: the in-memory workspaces and event log, synchronous, no I/O; its `socket_mode`
//!   part runs Socket Mode as Slack does — routing, the 3-second ack deadline, Events API
//!   redeliveries, outages, refused and half-open connections, a peer that stops reading
//!   for a while;
//! - `shapes`: Slack's JSON for workspace objects and Events API events;
//! - `blocks`: the Block Kit limits Slack enforces;
//! - `composer`: what Slack's clients send for what a person typed (escaping, `rich_text`);
//! - `views`: modal stacks, response actions, and what a submission carries;
//! - `people`: what people and other apps do, and the envelopes that causes;
//! - `methods`: what each Web API method does to the workspace and answers, as the bot of the
//!   calling token's workspace;
//! - `web_api`: the HTTP layer (parameters, auth, scopes, fault injection, recording, uploads);
//! - `workspaces`: which workspaces (and Enterprise Grid orgs) exist and where the app is
//!   installed; OAuth v2 (the authorize page, approvals and denials, `oauth.v2.access` with
//!   codes, client credentials and token rotation), which token acts as which workspace's bot,
//!   and uninstalls with their `tokens_revoked`/`app_uninstalled` events;
//! - `socket`: the Socket Mode WebSocket (hello, envelopes, acks — or nothing at all once
//!   half-open); the task that fires the state's timers is in this file, beside the handle;
//! - `request_urls`: Slack's HTTP transport instead of Socket Mode — signed POSTs of commands,
//!   interactions and events to the bot's request URLs (round robin over its replicas), the
//!   answer as the ack, Events API retries with their reasons, `url_verification`; its state
//!   half (what to send, what an answer means) runs under the state's lock like `socket_mode`,
//!   its sender task does the HTTP;
//! - `transcript`: rendering the event log as a conversation;
//! - `pagerduty` and `statuspage` (public, independent of Slack and of the rest of the crate):
//!   strict fakes of PagerDuty (Events API v2, v3 webhooks) and of the Atlassian Statuspage REST
//!   API v1, for the bot's paging and status-page publishing.

mod blocks;
mod composer;
mod methods;
mod people;
mod request_urls;
mod shapes;
mod socket;
mod state;
mod transcript;
mod views;
mod web_api;
mod workspaces;

pub mod github;
pub mod gitlab;
pub mod jira;
pub mod linear;
pub mod pagerduty;
pub mod statuspage;
pub use pagerduty::FakePagerDuty;
pub use request_urls::{SLACK_USER_AGENT, slack_signature};

/// Gives TLS a crypto provider (ring) for the process, if it has none. The fakes speak plain
/// HTTP, but reqwest builds its TLS side with every client; in a build where another crate
/// turned on reqwest's provider-less rustls (the bot's does), a client cannot be built without
/// one. Installing an already installed provider does nothing.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
pub use statuspage::FakeStatuspage;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::{any, get, post};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use state::{FaultKind, PinItem, State};

/// The bot user's id in the first simulated workspace ([`TEAM_ID`]); other workspaces have
/// their own (see [`SlackSimulator::bot_user_in`]).
pub const BOT_USER_ID: &str = "U0BOT";
/// The bot's bot id (`B…`) in the first workspace, as `auth.test` and messages report it.
pub const BOT_ID: &str = "B0BOT";
/// The first simulated workspace's team id: where the app is installed from the start, and
/// where everything not given a workspace happens.
pub const TEAM_ID: &str = "T0EXAMPLE";
/// The first workspace's domain (`example.slack.com`).
pub const TEAM_DOMAIN: &str = "example";
/// The app id of the bot's Slack app.
pub const APP_ID: &str = "A0EXAMPLE";
/// The human who created channels added with [`SlackSimulator::add_channel`].
pub const ADMIN_USER_ID: &str = "U0ADMIN";

/// The Slack app as installed: its tokens, the scopes its bot token was granted and the
/// Events API events it subscribes to; and its OAuth credentials, for installing it in more
/// workspaces (see [`SlackSimulator::approve_install`]).
#[derive(Clone, Debug)]
pub struct SimulatorConfig {
    /// The bot token (`xoxb-…`) of the first workspace ([`TEAM_ID`]), where the app is
    /// installed from the start: every Web API method except `apps.connections.open` requires a
    /// bot token. Other workspaces get theirs from `oauth.v2.access`.
    pub bot_token: String,
    /// App-level token (`xapp-…`) `apps.connections.open` requires.
    pub app_token: String,
    /// Event types delivered to the bot (`pin_added`, `message.channels`, …), when it is a
    /// member of the channel they happen in.
    pub event_subscriptions: Vec<String>,
    /// The scopes of [`SimulatorConfig::bot_token`] (a token from an OAuth install has the
    /// scopes its authorize URL asked for): a method needing another answers `missing_scope`,
    /// and every answer carries them in `x-oauth-scopes`.
    pub granted_scopes: Vec<String>,
    /// Socket Mode's deadlines and redelivery schedule.
    pub timing: SocketTiming,
    /// The app's Client ID: its authorize URLs must carry it, and `oauth.v2.access` checks it.
    pub client_id: String,
    /// The app's Client Secret, which `oauth.v2.access` checks (HTTP Basic auth or the
    /// `client_secret` parameter).
    pub client_secret: String,
    /// Token rotation is on: OAuth installs answer an expiring `xoxe.xoxb-1-…` access token
    /// with a `refresh_token` and `expires_in` (12 hours). The configured
    /// [`SimulatorConfig::bot_token`] never expires, as a token from before rotation was
    /// turned on.
    pub token_rotation: bool,
}

/// How Slack times Socket Mode (and request URLs, whose answers have the same deadline and
/// whose failed events the same retries). Slack's own figures are the 3-second ack deadline and, for the
/// Events API, up to three retries: at once, after about a minute, after about five. The
/// defaults keep the deadline and the order of the retries but wait seconds, not minutes, so a
/// test sees every retry; set minutes to watch a long outage as Slack would run it.
#[derive(Clone, Debug)]
pub struct SocketTiming {
    /// An ack later than this after its delivery counts as none.
    pub ack_deadline: Duration,
    /// The wait before each Events API redelivery after a missed ack: the first entry before
    /// `retry_attempt` 1, and so on; as many retries as entries. Default: 0 s, 1 s, 5 s.
    pub redeliveries: Vec<Duration>,
    /// How long Slack takes to notice a half-open socket and stop sending envelopes to it.
    /// Default 10 s.
    pub half_open_noticed: Duration,
}

impl Default for SocketTiming {
    fn default() -> Self {
        SocketTiming {
            ack_deadline: Duration::from_secs(3),
            redeliveries: vec![
                Duration::ZERO,
                Duration::from_secs(1),
                Duration::from_secs(5),
            ],
            half_open_noticed: Duration::from_secs(10),
        }
    }
}

/// The default subscriptions: pins, joins, and messages in public and private channels; and
/// the app being uninstalled from a workspace (`tokens_revoked`, `app_uninstalled`: Slack sends
/// them only to apps subscribed to them, like every event).
pub const DEFAULT_EVENT_SUBSCRIPTIONS: &[&str] = &[
    "pin_added",
    "pin_removed",
    "member_joined_channel",
    "message.channels",
    "message.groups",
    "app_uninstalled",
    "tokens_revoked",
];

/// Every bot scope the bot could use (see `manifests/slack-app.yaml`), except `chat:write.public` (which would let the
/// bot post where it is not a member; grant it explicitly to test that).
pub const DEFAULT_GRANTED_SCOPES: &[&str] = &[
    "commands",
    "chat:write",
    "channels:manage",
    "channels:write.invites",
    "channels:write.topic",
    "groups:write",
    "groups:write.invites",
    "groups:write.topic",
    "channels:read",
    "groups:read",
    "channels:join",
    "channels:history",
    "groups:history",
    "pins:read",
    "pins:write",
    "users:read",
    "users:read.email",
    "usergroups:read",
    "files:write",
    "bookmarks:write",
    "reactions:write",
    "canvases:write",
];

impl Default for SimulatorConfig {
    fn default() -> Self {
        Self {
            bot_token: "xoxb-sim-bot".to_string(),
            app_token: "xapp-sim-app".to_string(),
            event_subscriptions: DEFAULT_EVENT_SUBSCRIPTIONS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            granted_scopes: DEFAULT_GRANTED_SCOPES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            timing: SocketTiming::default(),
            client_id: "1234.5678".to_string(),
            client_secret: "sim-client-secret".to_string(),
            token_rotation: false,
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

/// What Slack POSTs to a request URL for an envelope (see [`SlackSimulator::signed_request`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedRequest {
    /// Appended to the base URL: `/slack/commands`, `/slack/interactivity` or `/slack/events`.
    pub path: &'static str,
    /// `application/x-www-form-urlencoded` (commands, interactions) or `application/json`
    /// (events).
    pub content_type: &'static str,
    /// The raw body, as signed.
    pub body: String,
    /// `X-Slack-Request-Timestamp`: Unix seconds.
    pub timestamp: i64,
    /// `X-Slack-Signature`: `v0=<hex HMAC-SHA256>` (see [`slack_signature`]).
    pub signature: String,
}

impl SignedRequest {
    /// The headers Slack sends with it (`Content-Type`, `User-Agent`, the timestamp and the
    /// signature), as (name, value).
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        vec![
            ("Content-Type", self.content_type.to_string()),
            ("User-Agent", SLACK_USER_AGENT.to_string()),
            ("X-Slack-Request-Timestamp", self.timestamp.to_string()),
            ("X-Slack-Signature", self.signature.clone()),
        ]
    }
}

/// The bot's acknowledgement of an envelope.
#[derive(Clone, Debug)]
pub struct Ack {
    pub envelope_id: String,
    /// The ack's `payload`, if it had one (and it was not `null`).
    pub payload: Option<Value>,
    pub at: Instant,
    pub seq: u64,
    /// Later than the deadline after the envelope's latest delivery: it counts as no ack, and
    /// nothing in its payload was applied.
    pub late: bool,
}

/// One delivery of an envelope on a connection (or a POST to a request URL).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// How often the envelope was sent before (the frame's `retry_attempt` for events; over
    /// HTTP, `X-Slack-Retry-Num`).
    pub attempt: u32,
    /// The Socket Mode connection's id; over HTTP, the request URL's index in the
    /// [`SlackSimulator::use_request_urls`] list + 1.
    pub connection: u64,
    pub at: Instant,
    /// When its ack is due.
    pub deadline: Instant,
    pub outcome: DeliveryOutcome,
}

/// What became of a delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// Its deadline has not passed and no ack came yet.
    Waiting,
    /// Acked in time.
    Acked,
    /// No ack in time: Slack gave up on this delivery.
    Missed,
}

/// A Socket Mode connection opening (its hello sent) or going away.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionChange {
    pub at: Instant,
    pub connection: u64,
    /// Opened, or closed (by either side, dropped, or noticed dead).
    pub opened: bool,
    /// Connections open right after the change.
    pub open_after: usize,
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
    /// The JSON answered; `Null` when the body was empty (HTTP 503 after applying).
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
    /// No ack came within the deadline of the envelope's delivery number `attempt`.
    AckMissed {
        seq: u64,
        envelope: Envelope,
        attempt: u32,
        at: Instant,
    },
    /// A slash command or an interaction Slack could not send: no Socket Mode connection was
    /// open (the person sees `dispatch_failed`).
    NotDispatched {
        seq: u64,
        envelope: Envelope,
        at: Instant,
    },
    /// The bot's HTTP answer to the POST of an envelope to a request URL, whatever its status.
    /// A 2xx also makes an [`SimEvent::Ack`]; another status in time fails the delivery
    /// (an [`SimEvent::AckMissed`] follows).
    RequestAnswered {
        seq: u64,
        envelope_id: String,
        /// The delivery it answers (`X-Slack-Retry-Num`).
        attempt: u32,
        url: String,
        status: u16,
        /// It carried `X-Slack-No-Retry: 1`.
        no_retry: bool,
        /// After the deadline: Slack had given up on the request.
        late: bool,
        at: Instant,
    },
    /// A POST of an envelope to a request URL that got no HTTP answer.
    RequestFailed {
        seq: u64,
        envelope_id: String,
        attempt: u32,
        url: String,
        /// Slack's retry reason: `connection_failed` or `too_many_redirects`.
        reason: String,
        /// What went wrong, as the HTTP client said.
        error: String,
        at: Instant,
    },
    Call(ApiCall),
    ResponseUrl {
        seq: u64,
        path: String,
        body: Value,
        /// 200, or Slack's refusal (400 `invalid_blocks`, 404 `expired_url`).
        status: u16,
        at: Instant,
    },
    /// Bytes POSTed to an upload URL.
    Upload {
        seq: u64,
        /// The file, when the URL was one `files.getUploadURLExternal` issued.
        file_id: Option<String>,
        /// How many bytes of file arrived.
        bytes: usize,
        status: u16,
        at: Instant,
    },
    /// Something done in the workspace by a person or another app (not over the wire).
    Action {
        seq: u64,
        action: WorkspaceAction,
        at: Instant,
    },
}

/// What a person or another app did in the workspace (see [`SimEvent::Action`]).
#[derive(Clone, Debug)]
pub enum WorkspaceAction {
    Posted {
        user: String,
        channel: String,
        ts: String,
        text: String,
        thread_ts: Option<String>,
    },
    /// Another app (such as Alertmanager) posted; `text` is what it shows.
    Alert {
        channel: String,
        username: String,
        ts: String,
        text: String,
    },
    /// `item`: the message ts or file id; `text`: what it shows.
    Pinned {
        user: String,
        channel: String,
        item: String,
        text: String,
    },
    Unpinned {
        user: String,
        channel: String,
        item: String,
        text: String,
    },
    /// `text`: the new text.
    Edited {
        user: String,
        channel: String,
        ts: String,
        text: String,
    },
    /// `text`: what the deleted message showed.
    Deleted {
        channel: String,
        ts: String,
        text: String,
    },
    Joined {
        user: String,
        channel: String,
    },
    /// Closed a modal with its close button.
    ClosedView {
        user: String,
        view_id: String,
        title: String,
    },
    /// Not an action: a line for the transcript's reader, such as the demo saying that half an
    /// hour passes.
    Narration {
        text: String,
    },
    /// An admin installed the app (clicked Allow on the authorize page).
    Installed {
        /// The workspace; for an org-wide install, the org's id (`E…`).
        team_id: String,
        installer: String,
        /// The bot scopes granted.
        scopes: Vec<String>,
        org_wide: bool,
    },
    /// An admin cancelled on the authorize page: nothing was installed.
    InstallDenied {
        team_id: String,
        installer: String,
    },
    /// The workspace removed the app.
    Uninstalled {
        team_id: String,
    },
}

/// A snapshot of a channel.
#[derive(Clone, Debug)]
pub struct Channel {
    pub id: String,
    /// The workspace it belongs to ([`TEAM_ID`] unless added with
    /// [`SlackSimulator::add_channel_in`] or created by another workspace's bot).
    pub team_id: String,
    pub name: String,
    pub is_private: bool,
    pub creator: String,
    /// User ids, including the workspace's bot user ([`BOT_USER_ID`] in the first) when the
    /// bot is a member.
    pub members: Vec<String>,
    pub topic: String,
    /// Every message, thread replies included, oldest first.
    pub messages: Vec<Message>,
    /// `ts` of pinned messages (file id of pinned files), in pin order.
    pub pins: Vec<String>,
    /// Archived: nothing can be posted, pinned or changed in it.
    pub is_archived: bool,
}

/// A snapshot of a channel message.
#[derive(Clone, Debug, Default)]
pub struct Message {
    pub ts: String,
    /// Who posted it: a person, or the bot user ([`BOT_USER_ID`] in the first workspace);
    /// empty for another app's bot message.
    pub user: String,
    pub text: String,
    /// `Null` when the message has no blocks. Every block has a `block_id` (Slack generates
    /// missing ones when it stores a message).
    pub blocks: Value,
    /// `Null` when the message has no attachments.
    pub attachments: Value,
    /// Ids of shared files (see [`SlackSimulator::file`]).
    pub files: Vec<String>,
    /// The parent's ts, for a thread reply.
    pub thread_ts: Option<String>,
    /// `bot_message` for bot posts, `thread_broadcast` for replies also sent to the channel.
    pub subtype: Option<String>,
    /// The bot's bot id ([`BOT_ID`] in the first workspace) for its posts; another app's bot
    /// id for its posts.
    pub bot_id: Option<String>,
    /// Another app's display name (`Alertmanager`).
    pub username: Option<String>,
    /// Who last edited it, and when.
    pub edited: Option<Edited>,
    /// `{event_type, event_payload}` posted with it; `Null` when none.
    pub metadata: Value,
}

/// A message's `edited` mark.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edited {
    pub user: String,
    pub ts: String,
}

/// A pin in a channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pin {
    pub channel: String,
    /// The pinned message's ts, for a message.
    pub ts: Option<String>,
    /// The pinned file's id, for a file.
    pub file: Option<String>,
    pub created_by: String,
    /// Unix seconds.
    pub created: i64,
}

/// A modal view the bot opened (or pushed).
#[derive(Clone, Debug)]
pub struct View {
    pub id: String,
    /// Whose it is: the user of the interaction whose trigger opened it.
    pub user: String,
    pub callback_id: String,
    /// The title's text.
    pub title: String,
    pub private_metadata: String,
    pub external_id: String,
    pub blocks: Value,
    pub hash: String,
    pub root_view_id: String,
    pub previous_view_id: Option<String>,
    /// Shown to its user (not closed by them, by an ack, or by a `clear`).
    pub open: bool,
    /// The `errors` of the last `response_action: errors` ack, while shown.
    pub errors: Option<Value>,
    /// The whole view object, as Slack answers it.
    pub json: Value,
}

/// What one person typed or picked in a modal input before submitting it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ViewInput {
    /// A text input's (plain, email, url, number) new value.
    Text(String),
    /// The value of the option picked in a static select or radio buttons.
    Option(String),
    /// The user picked in a users select.
    User(String),
    /// The users picked in a multi users select.
    Users(Vec<String>),
    /// The values of the options checked in checkboxes or a multi static select.
    Checked(Vec<String>),
    /// The conversation (or channel) picked in a conversations/channels select.
    Conversation(String),
    /// A datepicker's `YYYY-MM-DD`.
    Date(String),
    /// Emptied (only allowed on optional inputs: Slack does not submit an empty required one).
    Clear,
}

/// A message only one person saw.
#[derive(Clone, Debug, PartialEq)]
pub struct Ephemeral {
    pub channel: String,
    /// Who saw it.
    pub user: String,
    pub text: String,
    /// `Null` when it had no blocks.
    pub blocks: Value,
    pub thread_ts: Option<String>,
    /// How it was sent: `chat.postEphemeral`, `response_url`, or `ack` (a command's ack).
    pub via: String,
}

/// A file from `files.getUploadURLExternal`, uploaded and shared or not.
#[derive(Clone, Debug)]
pub struct File {
    pub id: String,
    /// The `filename` it was announced with.
    pub name: String,
    /// Its title once completed (the name when none was given).
    pub title: Option<String>,
    /// The `length` announced; completion fails unless the bytes match it.
    pub length: u64,
    /// What was POSTed to the upload URL, once it was.
    pub bytes: Option<Vec<u8>>,
    /// Channels it was shared into.
    pub channels: Vec<String>,
    pub completed: bool,
    pub snippet_type: Option<String>,
    pub alt_txt: Option<String>,
}

impl File {
    /// The bytes as text (lossy), empty before the upload.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(self.bytes.as_deref().unwrap_or_default()).into_owned()
    }
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
        let subscriptions = config.event_subscriptions.clone();
        let mut state = State::new(subscriptions, config.timing.clone());
        state.install_first_workspace(&config);
        let timer_wake = state.timer_wake.clone();
        let (posts, posts_rx) = tokio::sync::mpsc::unbounded_channel();
        state.request_urls.set_sender(posts);
        let inner = Arc::new(Inner {
            config,
            port,
            state: Mutex::new(state),
            changed,
            shutdown,
            server: Mutex::new(None),
        });
        tokio::spawn(run_timers(inner.clone(), timer_wake));
        tokio::spawn(request_urls::run(inner.clone(), posts_rx));
        let app = Router::new()
            .route("/api/{method}", any(web_api::api_handler))
            .route("/response/{*rest}", post(web_api::response_url_handler))
            .route("/upload/{*rest}", post(web_api::upload_handler))
            .route("/link", get(socket::link_handler))
            .route("/link/", get(socket::link_handler))
            .route(workspaces::AUTHORIZE_PATH, get(workspaces::authorize_page))
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

    /// Slack's clock: from now on message timestamps, pin, file and topic times and event times
    /// read `now` rather than the system clock — for a test or demo that runs the bot on a clock
    /// it holds or moves, so that what Slack stamps agrees with what the bot records. (Slack's
    /// own clock never goes back: a message ts is still later than every earlier one.)
    pub fn use_clock(
        &self,
        now: impl Fn() -> chrono::DateTime<chrono::Utc> + Send + Sync + 'static,
    ) {
        self.inner.with_state(|s| s.clock = Some(Arc::new(now)));
    }

    /// Adds (or renames) a human user of the first workspace ([`TEAM_ID`]), whom `users.info`
    /// and `conversations.invite` know (see [`SlackSimulator::add_user_in`] for others).
    pub fn add_user(&self, id: &str, name: &str) {
        self.inner.with_state(|s| s.add_user(id, name, false));
    }

    /// Adds a channel of the first workspace ([`TEAM_ID`]) created by the human `U0ADMIN`;
    /// returns its id (see [`SlackSimulator::add_channel_in`] for others).
    pub fn add_channel(&self, name: &str, is_private: bool, bot_is_member: bool) -> String {
        self.inner
            .with_state(|s| s.add_channel(TEAM_ID, name, is_private, ADMIN_USER_ID, bot_is_member))
    }

    pub fn channel(&self, id: &str) -> Option<Channel> {
        self.inner
            .read_state(|s| s.channel(id).map(|c| c.snapshot()))
    }

    /// The channel called `name` (or `#name`) in the first workspace (see
    /// [`SlackSimulator::channel_by_name_in`] for others).
    pub fn channel_by_name(&self, name: &str) -> Option<Channel> {
        self.channel_by_name_in(TEAM_ID, name)
    }

    /// All channels of every workspace, in creation order.
    pub fn channels(&self) -> Vec<Channel> {
        self.inner
            .read_state(|s| s.channels.iter().map(|c| c.snapshot()).collect())
    }

    /// Adds a user group (`S…`) of the first workspace with `handle` (`oncall`) and its
    /// members, for `usergroups.list` and `usergroups.users.list`.
    pub fn add_usergroup(&self, id: &str, handle: &str, members: &[&str]) {
        self.add_usergroup_in(TEAM_ID, id, handle, members);
    }

    /// Adds a user group of workspace `team_id` (only its bot token lists it).
    pub fn add_usergroup_in(&self, team_id: &str, id: &str, handle: &str, members: &[&str]) {
        let users: Vec<String> = members.iter().map(|m| m.to_string()).collect();
        self.inner.with_state(|s| {
            s.usergroups.retain(|g| g.id != id);
            s.usergroups.push(state::UsergroupRecord {
                id: id.to_string(),
                team_id: team_id.to_string(),
                handle: handle.to_string(),
                users,
                created: s.now(),
            });
        });
    }

    /// The thread of `ts` in `channel_id`: the parent then its replies (empty when unknown).
    pub fn thread(&self, channel_id: &str, ts: &str) -> Vec<Message> {
        self.inner.read_state(|s| {
            s.channel(channel_id)
                .map(|c| {
                    c.messages
                        .iter()
                        .filter(|m| m.ts == ts || m.thread_ts.as_deref() == Some(ts))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default()
        })
    }

    /// The pins of `channel_id`, in pin order, with who pinned them.
    pub fn pins(&self, channel_id: &str) -> Vec<Pin> {
        self.inner.read_state(|s| {
            s.channel(channel_id)
                .map(|c| {
                    c.pins
                        .iter()
                        .map(|p| Pin {
                            channel: c.id.clone(),
                            ts: match &p.item {
                                PinItem::Message(ts) => Some(ts.clone()),
                                PinItem::File(_) => None,
                            },
                            file: match &p.item {
                                PinItem::File(id) => Some(id.clone()),
                                PinItem::Message(_) => None,
                            },
                            created_by: p.created_by.clone(),
                            created: p.created,
                        })
                        .collect()
                })
                .unwrap_or_default()
        })
    }

    // --- what people and other apps do ---

    /// `user` posts `text` in `channel_id`; returns its ts. Emits a `message` event
    /// (`message.channels`/`message.groups`) when subscribed and the bot is in the channel.
    ///
    /// # Panics
    /// When there is no such channel (a mistake in the test).
    pub fn post_as(&self, user: &str, channel_id: &str, text: &str) -> String {
        let ts = self
            .inner
            .with_state(|s| s.person_posts(user, channel_id, text, None));
        ts.unwrap_or_else(|| panic!("post_as: no channel {channel_id}"))
    }

    /// `user` replies `text` in the thread of `thread_ts`; returns the reply's ts. Emits a
    /// `message` event with `thread_ts` like [`SlackSimulator::post_as`].
    ///
    /// # Panics
    /// When there is no such channel.
    pub fn post_in_thread(
        &self,
        user: &str,
        channel_id: &str,
        thread_ts: &str,
        text: &str,
    ) -> String {
        let ts = self
            .inner
            .with_state(|s| s.person_posts(user, channel_id, text, Some(thread_ts)));
        ts.unwrap_or_else(|| panic!("post_in_thread: no channel {channel_id}"))
    }

    /// Another app (a monitoring bot such as Alertmanager, posting as `bot_username`) posts a
    /// `bot_message` with `attachments` and `blocks` (`Value::Null` for none); returns its ts.
    /// Emits a `message` event like [`SlackSimulator::post_as`].
    ///
    /// # Panics
    /// When there is no such channel.
    pub fn post_alert(
        &self,
        channel_id: &str,
        bot_username: &str,
        text: &str,
        attachments: Value,
        blocks: Value,
    ) -> String {
        let ts = self
            .inner
            .with_state(|s| s.alert_posted(channel_id, bot_username, text, attachments, blocks));
        ts.unwrap_or_else(|| panic!("post_alert: no channel {channel_id}"))
    }

    /// `user` pins the message `ts`: `pin_added`. `None` when nothing was delivered: nothing
    /// changed (no such message, already pinned), not subscribed, or the bot is not a member.
    pub fn pin(&self, user: &str, channel_id: &str, ts: &str) -> Option<Envelope> {
        self.inner
            .with_state(|s| s.person_pins(user, channel_id, PinItem::Message(ts.to_string())))
            .ok()
            .flatten()
    }

    /// `user` pins the file `file_id` in `channel_id`: `pin_added` with a `file` item.
    pub fn pin_file(&self, user: &str, channel_id: &str, file_id: &str) -> Option<Envelope> {
        self.inner
            .with_state(|s| s.person_pins(user, channel_id, PinItem::File(file_id.to_string())))
            .ok()
            .flatten()
    }

    /// `user` unpins the message `ts`: `pin_removed` (with `has_pins`). `None` as for
    /// [`SlackSimulator::pin`].
    pub fn unpin(&self, user: &str, channel_id: &str, ts: &str) -> Option<Envelope> {
        self.inner
            .with_state(|s| s.person_unpins(user, channel_id, PinItem::Message(ts.to_string())))
            .ok()
            .flatten()
    }

    /// `user` edits the message `ts` to `text`: a `message` event with subtype
    /// `message_changed`. The simulator does not check that `user` wrote it.
    pub fn edit(&self, user: &str, channel_id: &str, ts: &str, text: &str) -> Option<Envelope> {
        self.inner
            .with_state(|s| s.person_edits(user, channel_id, ts, text))
            .ok()
            .flatten()
    }

    /// The message `ts` is deleted (its pin goes too): subtype `message_deleted`.
    pub fn delete(&self, channel_id: &str, ts: &str) -> Option<Envelope> {
        self.inner
            .with_state(|s| s.message_deleted(channel_id, ts))
            .ok()
            .flatten()
    }

    /// A line for the transcript's reader between what happens (`— 10 minutes later —`).
    pub fn narrate(&self, text: &str) {
        self.inner.with_state(|s| s.narrate(text));
    }

    /// `user` joins `channel_id`: `member_joined_channel`. `None` also when already a member.
    pub fn join(&self, user: &str, channel_id: &str) -> Option<Envelope> {
        self.inner
            .with_state(|s| s.person_joins(user, channel_id))
            .ok()
            .flatten()
    }

    /// `user` uses the message shortcut `callback_id` on the message `message_ts`: a
    /// `message_action` carrying the message, a trigger id (3 s, once) and a response URL.
    ///
    /// # Panics
    /// When there is no such message (a shortcut needs one).
    pub fn message_shortcut(
        &self,
        user: &str,
        channel_id: &str,
        message_ts: &str,
        callback_id: &str,
    ) -> Envelope {
        let base = self.inner.base_url();
        self.inner
            .with_state(|s| s.message_shortcut(&base, user, channel_id, message_ts, callback_id))
            .unwrap_or_else(|e| panic!("message_shortcut: {e}"))
    }

    /// `user` clicks the button `action_id` in the channel message `message_ts`: a
    /// `block_actions` with the message, a trigger id and a response URL (whose
    /// `replace_original`/`delete_original` act on that message). `None` when the message has
    /// no such button (for instance after the bot replaced it): nothing is sent.
    pub fn click(
        &self,
        user: &str,
        channel_id: &str,
        message_ts: &str,
        action_id: &str,
    ) -> Option<Envelope> {
        let base = self.inner.base_url();
        self.inner
            .with_state(|s| s.click(&base, user, channel_id, message_ts, action_id))
    }

    /// `user` clicks the button labelled `label` (`action_id`) in the newest ephemeral message
    /// they were shown with it (a command's ack, a response-URL post): container
    /// `is_ephemeral`, and no `message` in the payload, as Slack sends it. `None` when no
    /// ephemeral message of theirs has that button.
    pub fn click_ephemeral(&self, user: &str, action_id: &str, label: &str) -> Option<Envelope> {
        let base = self.inner.base_url();
        self.inner
            .with_state(|s| s.click_ephemeral(&base, user, action_id, label))
    }

    /// `user` clicks the button `action_id` in their open view `view_id` (container `view`).
    /// `None` when that view is not open for them or has no such button.
    pub fn click_in_view(&self, user: &str, view_id: &str, action_id: &str) -> Option<Envelope> {
        self.inner
            .with_state(|s| s.click_in_view(user, view_id, action_id))
    }

    /// `user` submits the view `view_id`: a `view_submission` whose `state.values` holds every
    /// input block, from the elements' initial values overridden by `edits` (keyed by
    /// block_id). Submitting again sends another envelope for the same view (a double click);
    /// a closed view can be submitted too (a click that raced the close). The bot's ack decides
    /// what happens to the view (see [`SlackSimulator::view`]).
    ///
    /// # Panics
    /// When there is no such view, it is not `user`'s, an edit names no input block or does not
    /// fit its element, or a required input would be empty (Slack does not submit then).
    pub fn submit_view(&self, user: &str, view_id: &str, edits: &[(&str, ViewInput)]) -> Envelope {
        self.inner
            .with_state(|s| s.submit_view(user, view_id, edits))
            .unwrap_or_else(|e| panic!("submit_view: {e}"))
    }

    /// `user` closes their view `view_id` with its close button: it closes (the whole modal
    /// with `clear_on_close`); a `view_closed` is sent only with `notify_on_close`.
    ///
    /// # Panics
    /// When there is no such open view, or it is not `user`'s.
    pub fn close_view(&self, user: &str, view_id: &str) -> Option<Envelope> {
        self.inner
            .with_state(|s| s.close_view_by(user, view_id))
            .unwrap_or_else(|e| panic!("close_view: {e}"))
    }

    // --- what the bot showed ---

    /// Every view opened or pushed, in that order.
    pub fn views(&self) -> Vec<View> {
        self.inner
            .read_state(|s| s.views.iter().map(view_snapshot).collect())
    }

    pub fn view(&self, id: &str) -> Option<View> {
        self.inner.read_state(|s| s.view(id).map(view_snapshot))
    }

    /// The view `user` sees now: the top of their latest open modal.
    pub fn open_view_for(&self, user: &str) -> Option<View> {
        self.inner
            .read_state(|s| s.top_view_of(user).map(view_snapshot))
    }

    /// Messages only one person saw (`chat.postEphemeral`, ephemeral response-URL posts and
    /// command acks), in order.
    pub fn ephemerals(&self) -> Vec<Ephemeral> {
        self.inner.read_state(|s| s.ephemerals.clone())
    }

    /// Files from `files.getUploadURLExternal`, in order.
    pub fn files(&self) -> Vec<File> {
        self.inner
            .read_state(|s| s.files.iter().map(file_snapshot).collect())
    }

    pub fn file(&self, id: &str) -> Option<File> {
        self.inner.read_state(|s| s.file(id).map(file_snapshot))
    }

    // --- Socket Mode ---

    /// True once at least one WebSocket connection got its hello (waits up to `timeout`).
    pub async fn wait_connected(&self, timeout: Duration) -> bool {
        self.wait_for(timeout, |s| (s.hellos_sent > 0).then_some(()))
            .await
            .is_some()
    }

    /// Socket Mode connections opened so far (each got its hello); only ever grows, so a
    /// test sees a *new* connection as this count going up.
    pub fn hellos_sent(&self) -> u64 {
        self.inner.read_state(|s| s.hellos_sent)
    }

    /// How many envelopes were acked in time so far, and how many acks came too late (after
    /// Slack's deadline, so Slack counted them as none) — cheap to ask often, for a benchmark
    /// waiting on thousands of acks.
    pub fn ack_counts(&self) -> (usize, usize) {
        self.inner.read_state(|s| (s.first_acks.len(), s.late_acks))
    }

    /// WebSocket connections currently open (including ones sent a disconnect frame that the
    /// client has not closed yet, and half-open ones Slack has not noticed yet).
    pub fn connection_count(&self) -> usize {
        self.inner.read_state(|s| s.connections.len())
    }

    /// How many connections were ever opened (hello sent).
    pub fn hellos(&self) -> u64 {
        self.inner.read_state(|s| s.hellos_sent)
    }

    /// Every connection opening and closing so far, in order.
    pub fn connection_history(&self) -> Vec<ConnectionChange> {
        self.inner.read_state(|s| s.connection_log.clone())
    }

    /// Each delivery of `envelope_id` so far, first to last, with what became of it.
    pub fn deliveries(&self, envelope_id: &str) -> Vec<Delivery> {
        self.inner
            .read_state(|s| s.deliveries.get(envelope_id).cloned().unwrap_or_default())
    }

    // --- request URLs (Slack's HTTP transport) ---

    /// The app uses request URLs instead of Socket Mode: from now on every envelope — first
    /// deliveries, redeliveries, and those queued for want of a connection — is POSTed, signed
    /// with `signing_secret`, to one of `base_urls` in turn (a load balancer in front of
    /// replicas): slash commands to `{base}/slack/commands`, interactions to
    /// `{base}/slack/interactivity`, events to `{base}/slack/events`. A 2xx answer within
    /// [`SocketTiming::ack_deadline`] is the ack (its JSON body the ack's payload); a non-2xx
    /// answer or no connection fails the delivery at once; a failed or unanswered event is
    /// retried per [`SocketTiming::redeliveries`] with `X-Slack-Retry-Num` and
    /// `X-Slack-Retry-Reason`, unless the answer carried `X-Slack-No-Retry: 1`. Deliveries,
    /// acks and the transcript read as for Socket Mode; a [`Delivery::connection`] is the
    /// URL's index + 1. Calling it again replaces the URLs and the secret.
    ///
    /// # Panics
    /// When `base_urls` is empty.
    pub fn use_request_urls(&self, base_urls: &[String], signing_secret: &str) {
        self.inner
            .with_state(|s| s.use_request_urls(base_urls, signing_secret));
    }

    /// What the simulator would POST for `envelope` as its first delivery, now, signed with the
    /// secret given to [`SlackSimulator::use_request_urls`] — without sending it, so a test can
    /// send it with a wrong, missing or stale signature itself. Its timestamp is Slack's clock
    /// (see [`SlackSimulator::use_clock`]).
    ///
    /// # Panics
    /// Before [`SlackSimulator::use_request_urls`]: there is no signing secret yet.
    pub fn signed_request(&self, envelope: &Envelope) -> SignedRequest {
        let (secret, timestamp) = self.inner.read_state(|s| {
            let secret = s
                .request_urls
                .signing_secret()
                .expect("signed_request: call use_request_urls first (no signing secret)")
                .to_string();
            (secret, s.now())
        });
        request_urls::signed_request(envelope, &secret, timestamp)
    }

    /// Slack's check of a new Event Subscriptions request URL: a signed `url_verification`
    /// with a random `challenge` POSTed to `{base_url}/slack/events`. Ok when the answer is 200
    /// within 3 seconds and its body is the challenge (plain text, `challenge=…`, or JSON
    /// `{"challenge": …}`); otherwise Err with what the app settings page shows. Records
    /// nothing.
    pub async fn verify_url(&self, base_url: &str, signing_secret: &str) -> Result<(), String> {
        let timestamp = self.inner.read_state(|s| s.now());
        request_urls::verify_url(base_url, signing_secret, timestamp).await
    }

    /// The HTTP statuses the bot answered the POSTs of `envelope_id` with, in order (late
    /// answers included; POSTs with no answer left out).
    pub fn http_statuses(&self, envelope_id: &str) -> Vec<u16> {
        self.inner.read_state(|s| {
            s.events
                .iter()
                .filter_map(|e| match e {
                    SimEvent::RequestAnswered {
                        envelope_id: id,
                        status,
                        ..
                    } if id == envelope_id => Some(*status),
                    _ => None,
                })
                .collect()
        })
    }

    /// Changes the ack deadline and the redelivery schedule (Socket Mode's and request URLs')
    /// from now on.
    pub fn set_timing(&self, timing: SocketTiming) {
        self.inner.with_state(|s| s.timing = timing);
    }

    /// Slack is down for Socket Mode: every connection gets a Close frame, and new ones are
    /// refused — `apps.connections.open` answers `internal_error`, an upgrade with an earlier
    /// URL answers HTTP 503 — until [`SlackSimulator::accept_connections`].
    pub fn refuse_connections(&self) {
        self.inner.with_state(|s| s.refuse_connections());
    }

    /// Slack is back: connections are accepted again.
    pub fn accept_connections(&self) {
        self.inner.with_state(|s| s.accept_connections());
    }

    /// Until [`SlackSimulator::welcome_connections`], every new connection gets its hello and
    /// then a disconnect frame with `reason`: `too_many_websockets` (the app holds more than
    /// Slack's 10) or `link_disabled` (Socket Mode was turned off in the app's settings). It
    /// gets no envelopes, and is closed after 10 s unless the client closes it first.
    pub fn turn_away_connections(&self, reason: &str) {
        self.inner.with_state(|s| s.turn_away(Some(reason)));
    }

    /// New connections are welcome again.
    pub fn welcome_connections(&self) {
        self.inner.with_state(|s| s.turn_away(None));
    }

    /// Every open connection goes half-open: the socket stays up but nothing crosses it
    /// either way — no frames, no answers to pings. Envelopes Slack sends to it are lost until
    /// Slack notices ([`SocketTiming::half_open_noticed`]) and stops routing to it; the bot
    /// must notice by itself.
    pub fn half_open_connections(&self) {
        self.inner.with_state(|s| s.half_open_all());
    }

    /// Every open connection stops reading the bot's frames for `pause` while it goes on
    /// sending envelopes: the bot's acks pile up in the socket's buffers until its writes
    /// block. Slack acts on what it read only afterwards (acks past their deadline count as
    /// none); the bot must go on reading meanwhile.
    pub fn pause_reading(&self, pause: Duration) {
        self.inner.with_state(|s| s.pause_reading_all(pause));
    }

    /// Builds a `/inc` slash command from `user_id` in `channel_id` and sends it. Its
    /// `team_id` and `team_domain` are the channel's workspace's (with its org's
    /// `enterprise_id`, `enterprise_name` and `is_enterprise_install` in an Enterprise Grid).
    ///
    /// # Panics
    /// When the channel is archived (nobody can type in one), or the app is not installed in
    /// its workspace (the command does not exist there).
    pub fn slash_command(&self, user_id: &str, channel_id: &str, text: &str) -> Envelope {
        let envelope = self.build_slash_command(user_id, channel_id, text);
        self.send(&envelope);
        envelope
    }

    /// Builds the `/inc` slash command [`SlackSimulator::slash_command`] would send, without
    /// sending it: its trigger id and response URL work, and its acks (sent with
    /// [`SlackSimulator::send`]) post its reply, as if Slack had sent it. With
    /// [`SlackSimulator::signed_request`], a test sends it to the bot itself (with a wrong,
    /// missing or stale signature, say).
    ///
    /// # Panics
    /// When the channel is archived, or the app is not installed in its workspace.
    pub fn build_slash_command(&self, user_id: &str, channel_id: &str, text: &str) -> Envelope {
        let base = self.inner.base_url();
        let (archived, team, installed) = self.inner.read_state(|s| {
            let team = s.team_of_channel(channel_id);
            (
                s.channel(channel_id).is_some_and(|c| c.is_archived),
                team.clone(),
                s.is_installed(&team),
            )
        });
        assert!(
            !archived,
            "nobody can type /inc {text} in an archived channel"
        );
        assert!(
            installed,
            "nobody can type /inc {text} in {team}: the app is not installed there"
        );
        self.inner.with_state(|s| {
            let response_path = s.new_response_path();
            let trigger_id = s.new_trigger_id(user_id);
            let channel_name = s
                .channel(channel_id)
                .map(|c| c.name.clone())
                .unwrap_or_else(|| "unknown".to_string());
            let user_name = s
                .user(user_id)
                .map(|u| u.name.clone())
                .unwrap_or_else(|| user_id.to_string());
            let mut payload = json!({
                    "token": "verification-token-unused",
                    "team_id": team,
                    "team_domain": s.domain_of(&team),
                    "channel_id": channel_id,
                    "channel_name": channel_name,
                    "user_id": user_id,
                    "user_name": user_name,
                    "command": "/inc",
                    // As Slack's slash command box sends it (the manifest sets should_escape).
                    "text": composer::escaped_text_naming(text, &|id| {
                        s.user(id)
                            .map(|u| u.name.clone())
                            .or_else(|| s.channel(id).map(|c| c.name.clone()))
                    }),
                    "api_app_id": APP_ID,
                    "is_enterprise_install": "false",
                    "response_url": format!("{base}{response_path}"),
                    "trigger_id": trigger_id,
            });
            // Slack's form for a command from an Enterprise Grid workspace.
            if let (Some((id, name)), Some(object)) =
                (s.enterprise_of(&team), payload.as_object_mut())
            {
                object.insert("enterprise_id".into(), json!(id));
                object.insert("enterprise_name".into(), json!(name));
                let org_wide = s.is_enterprise_install(&team);
                object.insert("is_enterprise_install".into(), json!(org_wide.to_string()));
            }
            let envelope = Envelope {
                envelope_id: uuid::Uuid::new_v4().to_string(),
                envelope_type: "slash_commands".to_string(),
                payload,
                accepts_response_payload: true,
            };
            s.register_envelope(&envelope);
            envelope
        })
    }

    /// Sends `envelope` to one open connection (round robin), or queues it until one opens
    /// (over HTTP after [`SlackSimulator::use_request_urls`]: POSTs it to the next URL).
    /// Sending the same envelope again is a redelivery: same `envelope_id` and payload (for
    /// `events_api`, `retry_attempt` counts up and `retry_reason` is `timeout`).
    pub fn send(&self, envelope: &Envelope) {
        self.inner.with_state(|s| s.send_envelope(envelope.clone()));
    }

    /// Waits for the bot's first ack of `envelope_id` in time (already received or future): an
    /// ack later than the deadline counts as none, as it does for Slack.
    pub async fn ack(&self, envelope_id: &str, timeout: Duration) -> Option<Ack> {
        self.wait_for(timeout, |s| s.first_acks.get(envelope_id).cloned())
            .await
    }

    /// Sends `{"type":"disconnect","reason":…}` on every open connection — `warning`,
    /// `refresh_requested`, `link_disabled` or `too_many_websockets` — and closes it 10 s later
    /// unless the client does first. Envelopes sent afterwards wait for a connection that has
    /// not been told to disconnect.
    pub fn disconnect_all(&self, reason: &str) {
        self.inner.with_state(|s| s.disconnect_all(reason));
    }

    /// Drops every open WebSocket without a Close frame, as a network failure or a crashed
    /// Slack edge would: the client sees an error, not an orderly close.
    pub fn drop_connections(&self) {
        self.inner.with_state(|s| s.drop_all());
    }

    /// Makes every response URL count `by` older, as if that much time had passed: Slack
    /// honours one for 30 minutes (and 5 posts), then answers `404 expired_url`.
    pub fn age_response_urls(&self, by: Duration) {
        self.inner.with_state(|s| s.response_url_age += by);
    }

    // --- fault injection ---

    /// The next `times` calls to `method` answer HTTP 200 `{"ok":false,"error":error}` and
    /// change nothing. `method` `"upload"` is the byte POST to an upload URL, which then
    /// answers HTTP 500 with `error` as its text (faults and delays below take it too).
    pub fn fail(&self, method: &str, error: &str, times: usize) {
        self.add_fault(method, FaultKind::Fail(error.to_string()), times);
    }

    /// The next `times` calls to `method` answer HTTP 429 with `Retry-After` and
    /// `{"ok":false,"error":"ratelimited"}`, changing nothing.
    pub fn rate_limit(&self, method: &str, retry_after_secs: u64, times: usize) {
        self.add_fault(method, FaultKind::RateLimit(retry_after_secs), times);
    }

    /// The next `times` calls to `method` take effect and then answer HTTP 503 with an empty
    /// body, as an edge does when Slack did the work and the answer was lost.
    pub fn fail_after_applying(&self, method: &str, times: usize) {
        self.add_fault(method, FaultKind::FailAfterApplying, times);
    }

    /// The next `times` calls to `method` take effect at once and answer `after` later, as when
    /// Slack acted and its answer came too late for the caller's timeout.
    pub fn answer_late(&self, method: &str, after: Duration, times: usize) {
        self.add_fault(method, FaultKind::AnswerLate(after), times);
    }

    /// Forgets the faults still scripted for `method` (`fail`, `rate_limit`,
    /// `fail_after_applying`): its next call works again.
    pub fn clear_faults(&self, method: &str) {
        self.inner.with_state(|s| s.faults.clear(method));
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

    /// Envelopes sent to the bot (first deliveries only), in order.
    pub fn envelopes(&self) -> Vec<Envelope> {
        self.inner.read_state(|s| {
            let mut seen = std::collections::HashSet::new();
            s.events
                .iter()
                .filter_map(|e| match e {
                    SimEvent::EnvelopeSent { envelope, .. }
                        if seen.insert(envelope.envelope_id.clone()) =>
                    {
                        Some(envelope.clone())
                    }
                    _ => None,
                })
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

    /// Calls to `method` received so far, answered or not: a call held by [`Self::delay`]
    /// counts from its arrival (Slack is working on it), unlike [`Self::calls_to`].
    pub fn calls_received(&self, method: &str) -> usize {
        self.inner
            .read_state(|s| s.received.get(method).copied().unwrap_or(0))
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

/// Fires the state's timers (ack deadlines, redeliveries, half-open sockets noticed) when due,
/// until the simulator shuts down.
async fn run_timers(inner: Arc<Inner>, wake: Arc<tokio::sync::Notify>) {
    let mut stop = inner.shutdown_signal();
    loop {
        let (fired, next) = {
            let mut state = inner.lock();
            state.fire_timers(Instant::now())
        };
        if fired {
            inner
                .changed
                .send_modify(|version| *version = version.wrapping_add(1));
        }
        let due = async {
            match next {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = due => {}
            () = wake.notified() => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
    }
}

fn view_snapshot(view: &state::ViewRecord) -> View {
    View {
        id: view.id.clone(),
        user: view.user.clone(),
        callback_id: view.str("callback_id"),
        title: view
            .json
            .pointer("/title/text")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        private_metadata: view.str("private_metadata"),
        external_id: view.str("external_id"),
        blocks: view.json.get("blocks").cloned().unwrap_or(Value::Null),
        hash: view.str("hash"),
        root_view_id: view.str("root_view_id"),
        previous_view_id: Some(view.str("previous_view_id")).filter(|p| !p.is_empty()),
        open: view.open,
        errors: view.errors.clone(),
        json: view.json.clone(),
    }
}

fn file_snapshot(file: &state::FileRecord) -> File {
    File {
        id: file.id.clone(),
        name: file.name.clone(),
        title: file.title.clone(),
        length: file.length,
        bytes: file.bytes.clone(),
        channels: file.channels.clone(),
        completed: file.completed,
        snippet_type: file.snippet_type.clone(),
        alt_txt: file.alt_txt.clone(),
    }
}
