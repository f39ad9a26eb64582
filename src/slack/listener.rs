//! Socket Mode: the connection loop. It keeps `SLACK_SOCKET_CONNECTIONS` WebSocket connections
//! to Slack, each through its own URL from `apps.connections.open`, answers every envelope on a
//! task of its own, and says at every moment which connections are up ([`Connections`], read
//! by readiness and `/metrics`).
//!
//! Each configured connection is a *slot* that always wants one serving connection:
//! - **States.** A connection is `connecting` (URL asked, socket opening, hello awaited),
//!   `open` (hello received), `draining` (Slack said `disconnect`, or the bot is replacing or
//!   closing it: no new envelopes, its acks in flight still go out), then gone. Readiness counts
//!   `open` and `draining`; the last one gone turns it false at once.
//! - **Refresh.** On `disconnect` with `warning` or `refresh_requested`, the slot opens the
//!   replacement at once and closes the old connection only when the replacement said hello
//!   (and the old one's acks in flight went out), so there is no moment without a connection.
//! - **Refusals.** `too_many_websockets` and `link_disabled` are logged as errors; the
//!   connection is closed and the next attempt waits, like any failed one.
//! - **Backoff.** After a failed attempt or a lost connection, the slot waits a random time
//!   between 0 and a bound (full jitter) before trying again. The bound is how long the slot
//!   has been without a healthy connection, at least 1 s and at most `SLACK_RECONNECT_INTERVAL`
//!   (30 s): it grows exponentially with the attempts (×1.5 on average), spreads a fleet's
//!   reconnections, and never waits longer than the outage has lasted — so a short outage
//!   costs about its own length, never half a minute. A `429` is waited out at least.
//! - **Half-open sockets.** The bot pings every 5 s; a connection that hears nothing (no frame,
//!   no pong) for 10 s is dropped and replaced.
//!
//! Envelopes are answered concurrently: each is parsed and handed to the [`Inbound`] port on
//! its own task (see `envelope`), and the connection writes the acks as they come, so a slow
//! envelope never holds another's ack — except that the events of one channel are answered one
//! after the other, in the order they arrived (a pin before the edit of the pinned message), as
//! the application's event handling needs. **Reading never waits for a write**: acks and pings
//! are written by a task of their own, so a peer that stops reading while it writes (its
//! buffers full of envelopes for us, as under a flood) cannot hold both sides until a write
//! times out — which once dropped a connection and every ack on it. This module only moves
//! frames; it never decides an ack.

use std::collections::{HashMap, VecDeque};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{FutureExt, SinkExt, StreamExt};
use secrecy::SecretString;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};
use tracing::{debug, error, info, warn};

use super::api::{SlackApi, SlackError};
use super::envelope::{self, Frame};
use super::inbound::Inbound;
use crate::http::Metrics;

/// The shortest bound of a backoff wait.
const FIRST_WAIT: Duration = Duration::from_secs(1);
/// A connection open this long was a healthy one: the backoff starts over after it.
const HEALTHY_AFTER: Duration = Duration::from_secs(10);
/// How often the bot pings Slack.
const PING_EVERY: Duration = Duration::from_secs(5);
/// A connection that heard nothing for this long is dead (a half-open socket).
const SILENCE_LIMIT: Duration = Duration::from_secs(10);
/// From asking for a URL to Slack's hello.
const CONNECT_WITHIN: Duration = Duration::from_secs(10);
/// How long a closing connection waits for its acks in flight: later ones would be too late
/// for Slack anyway (its deadline is 3 s).
const DRAIN_LIMIT: Duration = Duration::from_secs(3);
/// A write that takes longer means the socket is stuck.
const WRITE_LIMIT: Duration = Duration::from_secs(10);
/// How long an orderly close waits for Slack's Close frame.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// What a connection is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Connecting,
    Open,
    Draining,
}

/// Socket Mode connections by state, at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnectionCounts {
    pub connecting: usize,
    pub open: usize,
    pub draining: usize,
}

/// The process's Socket Mode connections and their states, as the listener keeps them.
#[derive(Debug, Default)]
pub struct Connections {
    states: Mutex<HashMap<u64, State>>,
    next_id: AtomicU64,
}

impl Connections {
    /// Connections up now: open, or draining (still Slack's until it closes them).
    pub fn up(&self) -> usize {
        let counts = self.counts();
        counts.open + counts.draining
    }

    /// Connections by state now.
    pub fn counts(&self) -> ConnectionCounts {
        let mut counts = ConnectionCounts::default();
        if let Ok(states) = self.states.lock() {
            for state in states.values() {
                match state {
                    State::Connecting => counts.connecting += 1,
                    State::Open => counts.open += 1,
                    State::Draining => counts.draining += 1,
                }
            }
        }
        counts
    }

    fn add(&self) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        if let Ok(mut states) = self.states.lock() {
            states.insert(id, State::Connecting);
        }
        id
    }

    /// Changes the state of a connection still listed (a removed one stays gone).
    fn set(&self, id: u64, state: State) {
        if let Ok(mut states) = self.states.lock()
            && let Some(current) = states.get_mut(&id)
        {
            *current = state;
        }
    }

    fn remove(&self, id: u64) {
        if let Ok(mut states) = self.states.lock() {
            states.remove(&id);
        }
    }
}

/// A connection's place in [`Connections`], from its first attempt: removed when dropped,
/// however the connection ends — closed, failed, or its task aborted.
struct Listed {
    connections: Arc<Connections>,
    id: u64,
}

impl Listed {
    fn new(connections: &Arc<Connections>) -> Listed {
        Listed {
            id: connections.add(),
            connections: connections.clone(),
        }
    }

    fn set(&self, state: State) {
        self.connections.set(self.id, state);
    }

    fn remove(&self) {
        self.connections.remove(self.id);
    }
}

impl Drop for Listed {
    fn drop(&mut self) {
        self.remove();
    }
}

/// How Socket Mode connects.
#[derive(Debug, Clone, Copy)]
pub struct SocketOptions {
    /// Connections this process holds (`SLACK_SOCKET_CONNECTIONS`).
    pub connections: u32,
    /// The longest wait between connection attempts (`SLACK_RECONNECT_INTERVAL`).
    pub max_wait: Duration,
}

/// What every slot and connection shares.
struct Ctx {
    api: SlackApi,
    app_token: SecretString,
    inbound: Arc<dyn Inbound>,
    connections: Arc<Connections>,
    max_wait: Duration,
    tls: Arc<rustls::ClientConfig>,
}

/// The running connection loop. [`SocketMode::run_until`] serves until told to stop, then
/// closes every connection after its acks in flight.
pub struct SocketMode {
    stop: watch::Sender<bool>,
    supervisor: Option<JoinHandle<()>>,
}

impl SocketMode {
    /// Starts the slots; returns at once, connecting in the background. The app token is not
    /// checked here — `auth.test` at startup checks the bot token, and a bad app token shows as
    /// failed `apps.connections.open` calls in the log (and readiness never turning true).
    pub fn start(
        api: &SlackApi,
        app_token: &SecretString,
        options: SocketOptions,
        inbound: Arc<dyn Inbound>,
        connections: Arc<Connections>,
    ) -> SocketMode {
        crate::install_crypto_provider();
        let ctx = Arc::new(Ctx {
            api: api.clone(),
            app_token: app_token.clone(),
            inbound,
            connections,
            max_wait: options.max_wait.max(FIRST_WAIT),
            tls: super::api::tls_config(),
        });
        let (stop, stopped) = watch::channel(false);
        let slots = options.connections.max(1);
        let supervisor = tokio::spawn(async move {
            let mut running = JoinSet::new();
            for _ in 0..slots {
                running.spawn(slot(ctx.clone(), stopped.clone()));
            }
            while let Some(ended) = running.join_next().await {
                if let Err(e) = ended
                    && e.is_panic()
                {
                    std::panic::resume_unwind(e.into_panic());
                }
            }
        });
        SocketMode {
            stop,
            supervisor: Some(supervisor),
        }
    }

    /// Serves until `stop` completes, then [`SocketMode::shutdown`]s. `Err` when the loop itself
    /// ended first (a panic): the caller treats that as the listener's death.
    pub async fn run_until(
        mut self,
        stop: impl std::future::Future<Output = ()>,
    ) -> Result<(), String> {
        let Some(mut supervisor) = self.supervisor.take() else {
            return Err("Socket Mode was already shut down".into());
        };
        tokio::select! {
            () = stop => {
                self.supervisor = Some(supervisor);
                self.shutdown().await;
                Ok(())
            }
            ended = &mut supervisor => Err(match ended {
                Ok(()) => "its connection loop ended".to_string(),
                Err(e) => format!("its connection loop failed: {e}"),
            }),
        }
    }

    /// Stops connecting and closes every connection, each after its acks in flight (at most
    /// 3 s). Work the handlers recorded is durable either way.
    pub async fn shutdown(&mut self) {
        self.stop.send_replace(true);
        if let Some(supervisor) = self.supervisor.take() {
            let _ = supervisor.await;
        }
    }
}

/// Dropped without [`SocketMode::shutdown`] (the listener's task aborted), the loop and its
/// connections stop at once, sockets closed without a goodbye, as a process's death would.
impl Drop for SocketMode {
    fn drop(&mut self) {
        if let Some(supervisor) = self.supervisor.take() {
            supervisor.abort();
        }
    }
}

// --- the backoff ---

/// Full jitter over a bound that grows with the outage: each wait is random between 0 and the
/// time since the slot last had a healthy connection, clamped to `[first, max]`.
#[derive(Debug)]
struct Backoff {
    first: Duration,
    max: Duration,
    since: Option<Instant>,
}

impl Backoff {
    fn new(first: Duration, max: Duration) -> Backoff {
        Backoff {
            first,
            max,
            since: None,
        }
    }

    /// The bound of the next wait at `now`: the outage so far, within `[first, max]`.
    fn bound(&mut self, now: Instant) -> Duration {
        let since = *self.since.get_or_insert(now);
        now.duration_since(since).clamp(self.first, self.max)
    }

    fn wait(&mut self, now: Instant) -> Duration {
        self.bound(now).mul_f64(rand::random::<f64>())
    }

    /// A healthy connection: the next outage starts from the first bound again.
    fn reset(&mut self) {
        self.since = None;
    }
}

// --- a slot ---

/// What a connection tells its slot.
#[derive(Debug)]
enum News {
    /// Slack's hello arrived.
    Open,
    /// Slack sent `disconnect` with this reason.
    Disconnect(String),
    /// The connection is gone: why, and how long it had been open.
    Ended {
        reason: &'static str,
        open_for: Option<Duration>,
    },
}

/// The slot's handle on one of its connections.
struct Conn {
    id: u64,
    news: mpsc::UnboundedReceiver<News>,
    close: Option<oneshot::Sender<()>>,
}

impl Conn {
    /// Asks the connection to close once its acks in flight went out.
    fn close(&mut self) {
        if let Some(close) = self.close.take() {
            let _ = close.send(());
        }
    }
}

/// Keeps one serving connection until stopped.
async fn slot(ctx: Arc<Ctx>, mut stop: watch::Receiver<bool>) {
    let mut backoff = Backoff::new(FIRST_WAIT, ctx.max_wait);
    let mut connections = JoinSet::new();
    let mut current: Option<Conn> = None;
    // Connections being replaced after a refresh: closed once the replacement is open.
    let mut replaced: Vec<Conn> = Vec::new();
    let mut next_attempt = Instant::now();
    loop {
        while connections.try_join_next().is_some() {}
        let Some(conn) = current.as_mut() else {
            let attempt = async {
                tokio::time::sleep_until(next_attempt).await;
                open(&ctx).await
            };
            let opened = tokio::select! {
                opened = attempt => opened,
                () = stop_requested(&mut stop) => break,
            };
            match opened {
                Ok((listed, socket)) => {
                    current = Some(spawn_connection(
                        &ctx,
                        &mut connections,
                        listed,
                        socket,
                        stop.clone(),
                    ));
                }
                Err(failure) => {
                    ctx.api
                        .metrics()
                        .count("incident_commander_socket_connect_failures_total", &[]);
                    let wait = backoff
                        .wait(Instant::now())
                        .max(failure.retry_after().unwrap_or_default());
                    warn!(error = %failure, retry_in_ms = wait.as_millis() as u64,
                        "could not open a Socket Mode connection");
                    next_attempt = Instant::now() + wait;
                }
            }
            continue;
        };
        let news = tokio::select! {
            news = conn.news.recv() => news,
            () = stop_requested(&mut stop) => break,
        };
        match news {
            Some(News::Open) => {
                for mut old in replaced.drain(..) {
                    debug!(
                        connection = old.id,
                        "replacement is open; closing the old one"
                    );
                    old.close();
                }
            }
            Some(News::Disconnect(reason)) if is_refresh(&reason) => {
                info!(
                    reason,
                    "Slack asked to reconnect; opening the replacement first"
                );
                replaced.extend(current.take());
                backoff.reset();
                next_attempt = Instant::now();
            }
            Some(News::Disconnect(reason)) => {
                // The connection closes itself; the slot waits as after any failure.
                let wait = backoff.wait(Instant::now());
                error!(
                    reason,
                    retry_in_ms = wait.as_millis() as u64,
                    "Slack refused the Socket Mode connection"
                );
                current = None;
                next_attempt = Instant::now() + wait;
            }
            Some(News::Ended { reason, open_for }) => {
                if open_for.is_some_and(|t| t >= HEALTHY_AFTER) {
                    backoff.reset();
                }
                let wait = backoff.wait(Instant::now());
                warn!(
                    reason,
                    retry_in_ms = wait.as_millis() as u64,
                    "Socket Mode connection lost; reconnecting"
                );
                current = None;
                next_attempt = Instant::now() + wait;
            }
            None => {
                current = None;
                next_attempt = Instant::now() + backoff.wait(Instant::now());
            }
        }
    }
    // Stopping: every connection saw the same signal and closes after its acks in flight.
    let all_closed = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(DRAIN_LIMIT + 2 * CLOSE_WAIT, all_closed)
        .await
        .is_err()
    {
        warn!("a Socket Mode connection did not close in time");
    }
}

/// Whether a `disconnect` reason means "connect again now" (the routine refresh, or a warning
/// that the connection closes soon).
fn is_refresh(reason: &str) -> bool {
    matches!(reason, "warning" | "refresh_requested")
}

// --- opening a connection ---

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Why an attempt failed. Never carries the URL: its ticket is a credential.
#[derive(Debug, thiserror::Error)]
enum OpenFailure {
    #[error("apps.connections.open failed: {0}")]
    Url(SlackError),
    #[error("the WebSocket did not open: {0}")]
    Socket(String),
    #[error("the WebSocket did not open within {}s", CONNECT_WITHIN.as_secs())]
    TimedOut,
}

impl OpenFailure {
    fn retry_after(&self) -> Option<Duration> {
        match self {
            OpenFailure::Url(e) => e.retry_after(),
            _ => None,
        }
    }
}

/// Asks Slack for a URL and opens the WebSocket; the connection is `connecting` until its
/// hello, which its own task awaits.
async fn open(ctx: &Ctx) -> Result<(Listed, Socket), OpenFailure> {
    let listed = Listed::new(&ctx.connections);
    let opened = async {
        let url = ctx
            .api
            .socket_url(&ctx.app_token)
            .await
            .map_err(OpenFailure::Url)?;
        let connector = Connector::Rustls(ctx.tls.clone());
        // No Nagle: an ack is a small write that should leave at once.
        let (socket, _) = tokio::time::timeout(
            CONNECT_WITHIN,
            tokio_tungstenite::connect_async_tls_with_config(
                url.as_str(),
                None,
                true,
                Some(connector),
            ),
        )
        .await
        .map_err(|_| OpenFailure::TimedOut)?
        .map_err(|e| OpenFailure::Socket(e.to_string()))?;
        Ok(socket)
    };
    Ok((listed, opened.await?))
}

fn spawn_connection(
    ctx: &Arc<Ctx>,
    connections: &mut JoinSet<()>,
    listed: Listed,
    socket: Socket,
    stop: watch::Receiver<bool>,
) -> Conn {
    let (news_tx, news) = mpsc::unbounded_channel();
    let (close, close_rx) = oneshot::channel();
    let id = listed.id;
    connections.spawn(connection(
        ctx.clone(),
        listed,
        socket,
        news_tx,
        close_rx,
        stop,
    ));
    Conn {
        id,
        news,
        close: Some(close),
    }
}

// --- one connection ---

/// Serves one connection until it ends: reads frames, answers envelopes on tasks of their own,
/// writes their acks, pings, and closes when Slack, the slot or shutdown says so.
async fn connection(
    ctx: Arc<Ctx>,
    listed: Listed,
    socket: Socket,
    news: mpsc::UnboundedSender<News>,
    mut close: oneshot::Receiver<()>,
    mut stop: watch::Receiver<bool>,
) {
    let id = listed.id;
    let (sink, mut stream) = socket.split();
    let (out, queued) = mpsc::unbounded_channel::<Message>();
    let mut writer = tokio::spawn(write_queued(sink, queued));
    let (ack_tx, mut acks) = mpsc::unbounded_channel::<String>();
    let mut answering = Answering {
        inbound: ctx.inbound.clone(),
        metrics: ctx.api.metrics().clone(),
        acks: ack_tx,
        running: JoinSet::new(),
        lanes: HashMap::new(),
    };
    let started = Instant::now();
    let mut opened: Option<Instant> = None;
    let mut heard = Instant::now();
    let mut ping = tokio::time::interval_at(started + PING_EVERY, PING_EVERY);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Set once the connection is closing: why, and until when acks in flight may still go out.
    let mut closing: Option<(&'static str, Instant)> = None;
    let mut close_asked = false;
    let mut stop_seen = false;
    let reason: &'static str = loop {
        if let Some((reason, _)) = closing
            && answering.running.is_empty()
            && acks.is_empty()
        {
            break reason;
        }
        let drain_until = closing.map(|(_, until)| until);
        tokio::select! {
            biased;
            Some(ack) = acks.recv() => {
                if out.send(Message::Text(ack.into())).is_err() {
                    break "error";
                }
            }
            // The writer ends early only when a write failed or timed out.
            _ = &mut writer => break "error",
            Some(done) = answering.running.join_next(), if !answering.running.is_empty() => {
                if let Ok(lane) = done {
                    answering.finished(lane);
                }
            }
            message = stream.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    heard = Instant::now();
                    let frame = match Frame::read(text.as_str()) {
                        Ok(frame) => frame,
                        Err(e) => {
                            warn!(connection = id, error = %e, "a Socket Mode frame could not be read");
                            continue;
                        }
                    };
                    match frame.kind.as_str() {
                        "hello" => {
                            opened = Some(Instant::now());
                            listed.set(State::Open);
                            ctx.api
                                .metrics()
                                .count("incident_commander_socket_hellos_total", &[]);
                            info!(connection = id, "Socket Mode connection is up");
                            let _ = news.send(News::Open);
                        }
                        "disconnect" => {
                            let reason = frame.reason.unwrap_or_default();
                            if is_refresh(&reason) {
                                listed.set(State::Draining);
                            } else {
                                // Refused: it will serve nothing more, so it is not up.
                                listed.remove();
                                let why = match reason.as_str() {
                                    "too_many_websockets" => "too_many_websockets",
                                    "link_disabled" => "link_disabled",
                                    _ => "disconnect",
                                };
                                closing.get_or_insert((why, Instant::now() + DRAIN_LIMIT));
                            }
                            let _ = news.send(News::Disconnect(reason));
                        }
                        _ if frame.envelope_id.is_some() => answering.start(frame),
                        other => debug!(connection = id, frame = other, "a Socket Mode frame the bot does not use"),
                    }
                }
                Some(Ok(Message::Close(_))) | None => break "closed_by_slack",
                Some(Ok(Message::Binary(_))) => {
                    heard = Instant::now();
                    warn!(connection = id, "a binary Socket Mode frame; ignored");
                }
                // Pings (tungstenite answers them), pongs.
                Some(Ok(_)) => heard = Instant::now(),
                Some(Err(e)) => {
                    warn!(connection = id, error = %e, "Socket Mode connection failed");
                    break "error";
                }
            },
            _ = ping.tick() => {
                if opened.is_none() && started.elapsed() >= CONNECT_WITHIN {
                    warn!(connection = id, "Slack sent no hello on a new Socket Mode connection");
                    break "no_hello";
                }
                if heard.elapsed() >= SILENCE_LIMIT {
                    warn!(connection = id, silent_s = heard.elapsed().as_secs(),
                        "Slack stopped answering on a Socket Mode connection (half-open socket)");
                    break "no_pong";
                }
                let payload: [u8; 4] = rand::random();
                if out.send(Message::Ping(payload.to_vec().into())).is_err() {
                    break "error";
                }
            }
            // Asked to close, or the slot let go of it (it no longer wants this connection).
            _ = &mut close, if !close_asked => {
                close_asked = true;
                listed.set(State::Draining);
                closing.get_or_insert(("replaced", Instant::now() + DRAIN_LIMIT));
            }
            () = stop_requested(&mut stop), if !stop_seen => {
                stop_seen = true;
                listed.set(State::Draining);
                closing.get_or_insert(("shutdown", Instant::now() + DRAIN_LIMIT));
            }
            () = sleep_until_some(drain_until) => {
                if let Some((reason, _)) = closing {
                    debug!(connection = id, in_flight = answering.running.len(), "closing with acks still in flight");
                    break reason;
                }
            }
        }
    };
    // Gone for readiness first: the goodbye below may take a moment.
    drop(listed);
    ctx.api.metrics().count(
        "incident_commander_socket_closed_total",
        &[("reason", reason)],
    );
    // What is queued goes out (acks in flight), then the sink comes back for the goodbye.
    drop(out);
    let sink = match reason {
        // Dead sockets: nothing more can cross them.
        "error" | "no_pong" => None,
        _ => match tokio::time::timeout(DRAIN_LIMIT, &mut writer).await {
            Ok(Ok(Ok(sink))) => Some(sink),
            _ => None,
        },
    };
    writer.abort();
    match (reason, sink) {
        (_, None) => {}
        // Slack closed: tungstenite queued the Close reply; flush it.
        ("closed_by_slack", Some(mut sink)) => {
            let _ = tokio::time::timeout(CLOSE_WAIT, sink.close()).await;
        }
        // The bot closes: a Close frame, then Slack's reply.
        (_, Some(mut sink)) => {
            if write(&mut sink, Message::Close(None)).await.is_ok() {
                let _ = tokio::time::timeout(CLOSE_WAIT, async {
                    while let Some(Ok(message)) = stream.next().await {
                        if message.is_close() {
                            break;
                        }
                    }
                })
                .await;
            }
        }
    }
    // Handlers still running recorded their work durably or will; only their acks are lost.
    answering.running.detach_all();
    debug!(connection = id, reason, "Socket Mode connection closed");
    let _ = news.send(News::Ended {
        reason,
        open_for: opened.map(|at| at.elapsed()),
    });
}

/// The envelopes being answered on one connection, each on a task of its own — except that the
/// events of one channel wait for each other, in the order they arrived (see `Frame::channel`).
struct Answering {
    inbound: Arc<dyn Inbound>,
    /// The app's recorder: every envelope is counted, with how long its ack took.
    metrics: Metrics,
    acks: mpsc::UnboundedSender<String>,
    /// Each task ends with the channel whose next event may start.
    running: JoinSet<Option<String>>,
    /// Channels with an event being answered, and the events waiting behind it.
    lanes: HashMap<String, VecDeque<Frame>>,
}

impl Answering {
    fn start(&mut self, frame: Frame) {
        match frame.channel() {
            None => self.spawn(frame, None),
            Some(channel) => match self.lanes.get_mut(&channel) {
                Some(waiting) => waiting.push_back(frame),
                None => {
                    self.lanes.insert(channel.clone(), VecDeque::new());
                    self.spawn(frame, Some(channel));
                }
            },
        }
    }

    fn spawn(&mut self, frame: Frame, lane: Option<String>) {
        let inbound = self.inbound.clone();
        let metrics = self.metrics.clone();
        let acks = self.acks.clone();
        self.running.spawn(async move {
            // A panic loses this ack only (Slack's timeout follows), never the lane.
            match AssertUnwindSafe(envelope::answer(inbound, metrics, frame))
                .catch_unwind()
                .await
            {
                Ok(ack) => {
                    let _ = acks.send(ack);
                }
                Err(_) => error!("answering an envelope panicked; it was not acked"),
            }
            lane
        });
    }

    /// An answer finished: the next event of its channel, if one waits, starts.
    fn finished(&mut self, lane: Option<String>) {
        let Some(channel) = lane else {
            return;
        };
        let next = self.lanes.get_mut(&channel).and_then(VecDeque::pop_front);
        match next {
            Some(frame) => self.spawn(frame, Some(channel)),
            None => {
                self.lanes.remove(&channel);
            }
        }
    }
}

type Sink = futures::stream::SplitSink<Socket, Message>;

/// Writes what the connection queues — acks, pings — in order, until the queue closes; then
/// gives the sink back for the goodbye. Everything queued at once is written before one flush
/// (one system call for a burst of acks, not one each). Ends early, with `Err`, when a write
/// fails or takes longer than `WRITE_LIMIT`.
async fn write_queued(
    mut sink: Sink,
    mut queue: mpsc::UnboundedReceiver<Message>,
) -> Result<Sink, ()> {
    while let Some(first) = queue.recv().await {
        let batch = async {
            sink.feed(first).await?;
            while let Ok(next) = queue.try_recv() {
                sink.feed(next).await?;
            }
            sink.flush().await
        };
        within_limit(batch).await?;
    }
    Ok(sink)
}

/// Writes one message (the goodbye), within `WRITE_LIMIT`.
async fn write(sink: &mut Sink, message: Message) -> Result<(), ()> {
    within_limit(sink.send(message)).await
}

/// A write, given up after `WRITE_LIMIT`; a failure is logged and becomes `Err`.
async fn within_limit(
    write: impl std::future::Future<Output = Result<(), tokio_tungstenite::tungstenite::Error>>,
) -> Result<(), ()> {
    match tokio::time::timeout(WRITE_LIMIT, write).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => {
            debug!(error = %e, "Socket Mode write failed");
            Err(())
        }
        Err(_) => {
            debug!("Socket Mode write timed out");
            Err(())
        }
    }
}

/// Completes once shutdown was asked for (or the sender is gone, which means the same).
async fn stop_requested(stop: &mut watch::Receiver<bool>) {
    // The guard wait_for returns is not Send: dropped here, inside.
    let _ = stop.wait_for(|stop| *stop).await;
}

/// Completes at `deadline`, or never when there is none.
async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_bound_is_the_outage_so_far_within_its_limits() {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
        let start = Instant::now();
        assert_eq!(backoff.bound(start), Duration::from_secs(1));
        assert_eq!(
            backoff.bound(start + Duration::from_millis(500)),
            Duration::from_secs(1)
        );
        assert_eq!(
            backoff.bound(start + Duration::from_secs(7)),
            Duration::from_secs(7)
        );
        assert_eq!(
            backoff.bound(start + Duration::from_secs(600)),
            Duration::from_secs(30)
        );
        backoff.reset();
        assert_eq!(
            backoff.bound(start + Duration::from_secs(601)),
            Duration::from_secs(1),
            "a healthy connection starts the next outage from the first bound"
        );
    }

    #[test]
    fn waits_are_jittered_within_the_bound() {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
        let start = Instant::now();
        let later = start + Duration::from_secs(20);
        backoff.bound(start);
        let waits: Vec<Duration> = (0..200).map(|_| backoff.wait(later)).collect();
        assert!(waits.iter().all(|w| *w <= Duration::from_secs(20)));
        let distinct: std::collections::HashSet<_> = waits.iter().collect();
        assert!(distinct.len() > 100, "full jitter, not a fixed interval");
        assert!(waits.iter().any(|w| *w < Duration::from_secs(5)));
        assert!(waits.iter().any(|w| *w > Duration::from_secs(15)));
    }

    #[test]
    fn readiness_counts_open_and_draining_connections() {
        let connections = Arc::new(Connections::default());
        let a = Listed::new(&connections);
        let b = Listed::new(&connections);
        assert_eq!(connections.up(), 0, "connecting is not up");
        a.set(State::Open);
        b.set(State::Draining);
        assert_eq!(
            connections.counts(),
            ConnectionCounts {
                connecting: 0,
                open: 1,
                draining: 1
            }
        );
        assert_eq!(connections.up(), 2);
        a.remove();
        a.set(State::Open);
        assert_eq!(connections.up(), 1, "a removed connection stays gone");
        drop(b);
        assert_eq!(connections.up(), 0);
    }
}
