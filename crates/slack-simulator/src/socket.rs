//! Socket Mode: upgrades `GET /link/?ticket=…` to a WebSocket (or refuses it while Slack is
//! down), sends the hello frame and the envelopes routed to this connection, and records the
//! acks the bot sends back.
//!
//! Routing decisions (which connection gets an envelope, queueing, disconnect frames, deadlines)
//! belong to `state`; this file only moves frames between a connection's channel and its socket,
//! or stops moving them (a half-open socket). It
//! must not hold the state lock across an await, and must not fail on anything the client
//! sends (garbage frames are logged and ignored).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State as AxumState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::mpsc;

use super::Inner;
use super::state::{DISCONNECT_GRACE, Outgoing};

/// `GET /link/?ticket=…&app_id=…`: a single-use ticket from `apps.connections.open`.
pub(crate) async fn link_handler(
    AxumState(inner): AxumState<Arc<Inner>>,
    Query(query): Query<HashMap<String, String>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let ticket = query.get("ticket").cloned().unwrap_or_default();
    if inner.read_state(|s| s.refusing_connections) {
        return (StatusCode::SERVICE_UNAVAILABLE, "service unavailable").into_response();
    }
    if !inner.with_state(|s| s.take_ticket(&ticket)) {
        tracing::warn!(
            ticket,
            "socket mode connection with an unknown or used ticket"
        );
        return (StatusCode::UNAUTHORIZED, "invalid ticket").into_response();
    }
    upgrade.on_upgrade(move |socket| run_connection(inner, socket))
}

async fn run_connection(inner: Arc<Inner>, socket: WebSocket) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut stop = inner.shutdown_signal();
    let stopped = async move {
        // The guard wait_for returns is not Send, so drop it here; Err means stop too.
        let _ = stop.wait_for(|stopped| *stopped).await;
    };
    tokio::pin!(stopped);
    let id = inner.with_state(|s| s.register_connection(tx));
    tracing::debug!(connection = id, "socket mode connection opened");
    let (mut sink, mut stream) = socket.split();
    // Set once a disconnect frame went out: when to give up waiting for the client to close.
    let mut close_at: Option<tokio::time::Instant> = None;
    // Set while told to read nothing: when to start reading again.
    let mut reading_paused: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            outgoing = rx.recv() => match outgoing {
                Some(Outgoing::Text(text)) => {
                    if let Err(err) = sink.send(WsMessage::Text(text.into())).await {
                        tracing::debug!(connection = id, error = %err, "socket mode write failed");
                        break;
                    }
                }
                Some(Outgoing::Disconnect(text)) => {
                    if sink.send(WsMessage::Text(text.into())).await.is_err() {
                        break;
                    }
                    close_at.get_or_insert_with(|| tokio::time::Instant::now() + DISCONNECT_GRACE);
                }
                Some(Outgoing::Close) | None => {
                    let _ = sink.send(WsMessage::Close(None)).await;
                    break;
                }
                // The socket is dropped without a Close frame: the client reads an error.
                Some(Outgoing::Drop) => break,
                Some(Outgoing::PauseReading(pause)) => {
                    reading_paused = Some(tokio::time::Instant::now() + pause);
                }
                Some(Outgoing::Freeze) => {
                    // Half-open: nothing is read (so pings go unanswered) or written until the
                    // simulator stops; the state forgets the connection once Slack notices.
                    let _ = (&mut stopped).await;
                    break;
                }
            },
            () = sleep_until_some(reading_paused) => reading_paused = None,
            incoming = stream.next(), if reading_paused.is_none() => match incoming {
                Some(Ok(WsMessage::Text(text))) => record_frame(&inner, id, text.as_str()),
                Some(Ok(WsMessage::Close(_))) | None => break,
                Some(Err(err)) => {
                    tracing::debug!(connection = id, error = %err, "socket mode read failed");
                    break;
                }
                // Pings are answered by the WebSocket layer; pongs and binary frames are ignored.
                Some(Ok(_)) => {}
            },
            () = sleep_until_some(close_at) => {
                tracing::debug!(connection = id, "closing a connection that ignored its disconnect");
                let _ = sink.send(WsMessage::Close(None)).await;
                break;
            }
            _ = &mut stopped => {
                let _ = sink.send(WsMessage::Close(None)).await;
                break;
            }
        }
    }
    inner.with_state(|s| s.unregister_connection(id));
    tracing::debug!(connection = id, "socket mode connection closed");
}

/// Completes at `deadline`, or never when there is none.
async fn sleep_until_some(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// A text frame from the bot: an ack `{"envelope_id", "payload"?}`; anything else is logged.
fn record_frame(inner: &Inner, connection: u64, text: &str) {
    let frame: Value = match serde_json::from_str(text) {
        Ok(frame) => frame,
        Err(err) => {
            tracing::warn!(connection, error = %err, "socket mode frame is not JSON");
            return;
        }
    };
    let Some(envelope_id) = frame.get("envelope_id").and_then(Value::as_str) else {
        tracing::warn!(
            connection,
            frame = text,
            "socket mode frame without envelope_id"
        );
        return;
    };
    let payload = frame.get("payload").filter(|p| !p.is_null()).cloned();
    let envelope_id = envelope_id.to_string();
    inner.with_state(|s| s.record_ack(envelope_id, payload));
}
