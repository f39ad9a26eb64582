//! Socket Mode: connects through `apps.connections.open`, receives envelopes, acks them.
//!
//! slack-morphism handles a connection's envelopes one at a time and sends the ack only when the
//! handler returns. So a handler here does three things and returns: turn the payload into an
//! [`inbound`](super::inbound) value, ask the [`Inbound`] port for the [`Ack`] (the application
//! records the work durably and hands it to the job worker), and put the ack on the wire.
//! Handlers are plain `fn`s, so the port travels in the listener's user state.
//!
//! Readiness needs to know whether a connection is up. slack-morphism shows two things: a
//! `hello` (a connection is up) and, through the error handler, a connection that failed with a
//! WebSocket error (it reconnects at once, and keeps trying every `SLACK_RECONNECT_INTERVAL`).
//! [`Connections`] counts them. A connection Slack closes in an orderly way (a `disconnect`
//! frame, a Close frame) is replaced without telling us; if the replacement fails, only the log
//! says so (see docs/operations.md).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use secrecy::SecretString;
use slack_morphism::prelude::*;
use tracing::{Instrument, debug, info, info_span, warn};

use super::api::SlackApi;
use super::inbound::{Ack, Inbound};
use super::{blocks, translate};
use crate::config::expose;
use crate::http::Metrics;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The listener's user state: the application port, and the app's metrics.
struct ListenerState {
    inbound: Arc<dyn Inbound>,
    connections: Arc<Connections>,
    metrics: Metrics,
}

/// How many Socket Mode connections are up, as far as slack-morphism lets us see: a `hello`
/// counts one up (at most the number configured), a connection's WebSocket error one down.
#[derive(Debug, Default)]
pub struct Connections {
    up: AtomicUsize,
    /// The number configured: hellos of replacements never count past it.
    max: AtomicUsize,
}

impl Connections {
    /// Connections up now.
    pub fn up(&self) -> usize {
        self.up.load(Ordering::SeqCst)
    }

    fn hello(&self, metrics: &Metrics) {
        let max = self.max.load(Ordering::SeqCst).max(1);
        let _ = self
            .up
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                Some((n + 1).min(max))
            });
        metrics.count("incident_commander_socket_hellos_total", &[]);
    }

    fn lost(&self, metrics: &Metrics) {
        let _ = self
            .up
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                Some(n.saturating_sub(1))
            });
        metrics.count("incident_commander_socket_failures_total", &[]);
    }

    fn closed(&self) {
        self.up.store(0, Ordering::SeqCst);
    }
}

/// How Socket Mode connects.
#[derive(Debug, Clone, Copy)]
pub struct SocketOptions {
    /// Connections this process holds (`SLACK_SOCKET_CONNECTIONS`).
    pub connections: u32,
    /// The wait between failed connection attempts (`SLACK_RECONNECT_INTERVAL`).
    pub reconnect: Duration,
}

/// A running Socket Mode listener; [`SocketMode::shutdown`] closes its connections.
pub struct SocketMode {
    listener: Arc<SlackClientSocketModeListener<SlackClientHyperHttpsConnector>>,
    connections: Arc<Connections>,
}

impl SocketMode {
    /// Registers the app token and opens `connections` WebSocket connections. Returns at once;
    /// connecting (and reconnecting, after a `disconnect` or a dropped socket) runs in the
    /// background. The token is not checked here — `auth.test` at startup does that for the bot
    /// token, and a bad app token shows up as failed `apps.connections.open` calls in the log.
    pub async fn start(
        api: &SlackApi,
        app_token: &SecretString,
        options: SocketOptions,
        inbound: Arc<dyn Inbound>,
        connections: Arc<Connections>,
    ) -> Result<SocketMode, BoxError> {
        connections
            .max
            .store(options.connections as usize, Ordering::SeqCst);
        let state = ListenerState {
            inbound,
            connections: connections.clone(),
            metrics: api.metrics().clone(),
        };
        let env = Arc::new(
            SlackClientEventsListenerEnvironment::new(api.hyper_client())
                .with_error_handler(on_error)
                .with_user_state(state),
        );
        let callbacks = SlackSocketModeListenerCallbacks::new()
            .with_command_events(on_command)
            .with_interaction_events(on_interaction)
            .with_push_events(on_push)
            .with_hello_events(on_hello);
        let config = SlackClientSocketModeConfig::new()
            .with_max_connections_count(options.connections)
            .with_reconnect_timeout_in_seconds(options.reconnect.as_secs().max(1));
        let listener = SlackClientSocketModeListener::new(&config, env, callbacks);
        let token = SlackApiToken::new(expose(app_token).to_string().into());
        listener.listen_for(&token).await?;
        listener.start().await;
        Ok(SocketMode {
            listener: Arc::new(listener),
            connections,
        })
    }

    /// Closes the connections. Envelopes in flight are not awaited by slack-morphism; their work
    /// is already durable if their handler returned.
    pub async fn shutdown(&self) {
        self.listener.shutdown().await;
        self.connections.closed();
    }
}

/// slack-morphism's connections run in tasks of their own that outlive the listener: dropped
/// without [`SocketMode::shutdown`] (the listener's task aborted), the connections are closed
/// anyway, as the death of a process closes its sockets.
impl Drop for SocketMode {
    fn drop(&mut self) {
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let listener = self.listener.clone();
            runtime.spawn(async move { listener.shutdown().await });
        }
    }
}

async fn port(state: &SlackClientEventsUserState) -> Result<Arc<dyn Inbound>, BoxError> {
    let guard = state.read().await;
    guard
        .get_user_state::<ListenerState>()
        .map(|s| s.inbound.clone())
        .ok_or_else(|| "socket mode listener has no application state".into())
}

/// A connection is up. (Generic because slack-morphism 2.31.1 does not export the hello event's
/// type by a usable path; the callback's signature fixes `E`.)
async fn on_hello<E: Send + 'static>(
    _event: E,
    _client: Arc<SlackHyperClient>,
    state: SlackClientEventsUserState,
) {
    if let Some(s) = state.read().await.get_user_state::<ListenerState>() {
        s.connections.hello(&s.metrics);
    }
    info!("socket mode connection is up");
}

/// Counts an envelope of `kind` handled, and how long deciding its ack took, in the app's metrics.
async fn envelope_handled(
    state: &SlackClientEventsUserState,
    kind: &'static str,
    started: Instant,
) {
    let seconds = started.elapsed().as_secs_f64();
    let Some(metrics) = state
        .read()
        .await
        .get_user_state::<ListenerState>()
        .map(|s| s.metrics.clone())
    else {
        return;
    };
    metrics.count("incident_commander_envelopes_total", &[("type", kind)]);
    metrics.observe("incident_commander_ack_seconds", &[("type", kind)], seconds);
}

async fn on_command(
    event: SlackCommandEvent,
    _client: Arc<SlackHyperClient>,
    state: SlackClientEventsUserState,
) -> Result<SlackCommandEventResponse, BoxError> {
    let started = Instant::now();
    let inbound = port(&state).await?;
    // slack-morphism hands the payload over parsed; the translation reads Slack's JSON.
    let Some(command) = serde_json::to_value(&event)
        .ok()
        .and_then(|p| translate::slash_command(&p))
    else {
        return Ok(SlackCommandEventResponse::new(SlackMessageContent::new()));
    };
    let span = info_span!("slack.envelope", slack.envelope_type = "slash_commands");
    let ack = inbound.slash_command(command).instrument(span).await;
    envelope_handled(&state, "slash_commands", started).await;
    Ok(match ack {
        // An empty payload object is the ack Slack documents for "nothing to show".
        Ack::Empty => SlackCommandEventResponse::new(SlackMessageContent::new()),
        Ack::Ephemeral(text) => SlackCommandEventResponse::new(blocks::text(&text))
            .with_response_type(SlackMessageResponseType::Ephemeral),
        Ack::InChannel(message) => SlackCommandEventResponse::new(blocks::content(&message))
            .with_response_type(SlackMessageResponseType::InChannel),
        other => {
            warn!(ack = ?other, "a slash command cannot carry this ack; acked bare");
            SlackCommandEventResponse::new(SlackMessageContent::new())
        }
    })
}

async fn on_interaction(
    event: SlackInteractionEvent,
    _client: Arc<SlackHyperClient>,
    state: SlackClientEventsUserState,
) -> Result<SlackInteractionResponse, BoxError> {
    let inbound = port(&state).await?;
    let payload = serde_json::to_value(&event)?;
    let Some(interaction) = translate::interaction(&payload) else {
        debug!("an interaction the bot does not handle; acked");
        return Ok(SlackInteractionResponse::Empty);
    };
    let span = info_span!("slack.envelope", slack.envelope_type = "interactive");
    let ack = inbound.interaction(interaction).instrument(span).await;
    Ok(match ack {
        Ack::ViewErrors(errors) => SlackViewSubmissionResponse::Errors(
            SlackViewSubmissionErrorsResponse::new(errors.into_iter().collect()),
        )
        .into(),
        Ack::ClearView => {
            SlackViewSubmissionResponse::Clear(SlackViewSubmissionClearResponse::new()).into()
        }
        Ack::Empty => SlackInteractionResponse::Empty,
        other => {
            warn!(ack = ?other, "an interaction cannot carry this ack; acked bare");
            SlackInteractionResponse::Empty
        }
    })
}

async fn on_push(
    event: SlackPushEventCallback,
    _client: Arc<SlackHyperClient>,
    state: SlackClientEventsUserState,
) -> Result<(), BoxError> {
    let inbound = port(&state).await?;
    match translate::event(&serde_json::to_value(&event)?) {
        Some(event) => {
            let span = info_span!("slack.envelope", slack.envelope_type = "events_api");
            inbound.event(event).instrument(span).await;
        }
        None => debug!(event_id = %event.event_id, "an event the bot does not handle; acked"),
    }
    Ok(())
}

/// Envelopes that failed to parse or whose handler failed. Acking them (2xx) stops Slack from
/// redelivering something that will fail the same way again; the error is logged.
///
/// A connection's WebSocket error comes here too (then slack-morphism reconnects): it counts as
/// a connection lost.
fn on_error(
    err: BoxError,
    _client: Arc<SlackHyperClient>,
    state: SlackClientEventsUserState,
) -> HttpStatusCode {
    if is_connection_lost(err.as_ref()) {
        warn!(error = %err, "socket mode connection lost; reconnecting");
        // The handler is synchronous; the state lock is free unless the state is being
        // replaced, which this crate never does after start.
        if let Ok(guard) = state.try_read()
            && let Some(s) = guard.get_user_state::<ListenerState>()
        {
            s.connections.lost(&s.metrics);
        }
    } else {
        warn!(error = %err, "socket mode envelope could not be handled");
    }
    HttpStatusCode::OK
}

/// slack-morphism reports a failed connection as `SocketModeProtocolError("Slack WSS error: …")`
/// before reconnecting (`tungstenite_wss_client.rs` in slack-morphism 2.31.1).
fn is_connection_lost(err: &(dyn std::error::Error + Send + Sync + 'static)) -> bool {
    matches!(
        err.downcast_ref::<slack_morphism::errors::SlackClientError>(),
        Some(slack_morphism::errors::SlackClientError::SocketModeProtocolError(e))
            if e.message.starts_with("Slack WSS error")
    )
}
