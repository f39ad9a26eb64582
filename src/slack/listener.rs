//! Socket Mode: connects through `apps.connections.open`, receives envelopes, acks them.
//!
//! slack-morphism handles a connection's envelopes one at a time and sends the ack only when the
//! handler returns. So a handler here does three things and returns: turn the payload into an
//! [`inbound`](super::inbound) value, ask the [`Inbound`] port for the [`Ack`] (the application
//! records the work durably and hands it to the job worker), and put the ack on the wire.
//! Handlers are plain `fn`s, so the port travels in the listener's user state.

use std::sync::Arc;

use secrecy::SecretString;
use slack_morphism::prelude::*;
use tracing::{Instrument, debug, info_span, warn};

use super::api::SlackApi;
use super::inbound::{Ack, Inbound, SlashCommand};
use super::{blocks, translate};
use crate::config::expose;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The listener's user state: the application port.
struct ListenerState {
    inbound: Arc<dyn Inbound>,
}

/// A running Socket Mode listener; [`SocketMode::shutdown`] closes its connections.
pub struct SocketMode {
    listener: SlackClientSocketModeListener<SlackClientHyperHttpsConnector>,
}

impl SocketMode {
    /// Registers the app token and opens `connections` WebSocket connections. Returns at once;
    /// connecting (and reconnecting, after a `disconnect` or a dropped socket) runs in the
    /// background. The token is not checked here — `auth.test` at startup does that for the bot
    /// token, and a bad app token shows up as failed `apps.connections.open` calls in the log.
    pub async fn start(
        api: &SlackApi,
        app_token: &SecretString,
        connections: u32,
        inbound: Arc<dyn Inbound>,
    ) -> Result<SocketMode, BoxError> {
        let env = Arc::new(
            SlackClientEventsListenerEnvironment::new(api.hyper_client())
                .with_error_handler(on_error)
                .with_user_state(ListenerState { inbound }),
        );
        let callbacks = SlackSocketModeListenerCallbacks::new()
            .with_command_events(on_command)
            .with_interaction_events(on_interaction)
            .with_push_events(on_push);
        let config = SlackClientSocketModeConfig::new().with_max_connections_count(connections);
        let listener = SlackClientSocketModeListener::new(&config, env, callbacks);
        let token = SlackApiToken::new(expose(app_token).to_string().into());
        listener.listen_for(&token).await?;
        listener.start().await;
        Ok(SocketMode { listener })
    }

    /// Closes the connections. Envelopes in flight are not awaited by slack-morphism; their work
    /// is already durable if their handler returned.
    pub async fn shutdown(&self) {
        self.listener.shutdown().await;
    }
}

async fn port(state: &SlackClientEventsUserState) -> Result<Arc<dyn Inbound>, BoxError> {
    let guard = state.read().await;
    guard
        .get_user_state::<ListenerState>()
        .map(|s| s.inbound.clone())
        .ok_or_else(|| "socket mode listener has no application state".into())
}

async fn on_command(
    event: SlackCommandEvent,
    _client: Arc<SlackHyperClient>,
    state: SlackClientEventsUserState,
) -> Result<SlackCommandEventResponse, BoxError> {
    let inbound = port(&state).await?;
    let command = SlashCommand {
        user_id: event.user_id.to_string(),
        channel_id: event.channel_id.to_string(),
        text: event.text.unwrap_or_default(),
        trigger_id: event.trigger_id.to_string(),
        response_url: event.response_url.0.to_string(),
    };
    let span = info_span!("slack.envelope", slack.envelope_type = "slash_commands");
    let ack = inbound.slash_command(command).instrument(span).await;
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
    let Some(interaction) = translate::interaction(event) else {
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
    match translate::event(&event) {
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
fn on_error(
    err: BoxError,
    _client: Arc<SlackHyperClient>,
    _state: SlackClientEventsUserState,
) -> HttpStatusCode {
    warn!(error = %err, "socket mode envelope could not be handled");
    HttpStatusCode::OK
}
