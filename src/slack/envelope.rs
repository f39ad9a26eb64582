//! One envelope answered, whichever transport carried it ([`respond`]): the payload, as the
//! JSON Slack sent, turned into an [`inbound`](super::inbound) value (`translate`, which reads
//! the structure with slack-morphism's models and messages from the JSON itself), the
//! [`Inbound`] port asked for the [`Ack`], and the ack's payload built with slack-morphism's
//! response models. Socket Mode puts that payload in an ack frame ([`Frame::read`],
//! [`answer`]); the HTTP transport (`events_api`) sends it as the response body.
//!
//! Each envelope is answered on a task of its own (the listener spawns [`answer`]; the HTTP
//! server runs each request on its own); in Socket Mode only the events of one channel keep
//! their order ([`Frame::channel`]), so this must not assume any other order between envelopes.
//! Nothing here touches the socket or the connection: the caller writes what this returns. An
//! envelope that cannot be parsed or handled is acked bare and logged — Slack's redelivery
//! would fail the same way.

use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use slack_morphism::prelude::*;
use tracing::{Instrument, debug, info_span, warn};

use super::inbound::{Ack, Inbound};
use super::{blocks, translate};
use crate::http::Metrics;

/// A frame Slack sends, read as far as the listener needs: its type, and for an envelope its
/// id, whether the ack may carry a payload, and the payload left unparsed (its parsing belongs
/// to the envelope's own task).
#[derive(Debug, Deserialize)]
pub(super) struct Frame {
    /// `hello`, `disconnect`, `slash_commands`, `interactive`, `events_api`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A `disconnect`'s reason: `warning`, `refresh_requested`, `link_disabled`,
    /// `too_many_websockets`.
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub envelope_id: Option<String>,
    #[serde(default)]
    pub accepts_response_payload: bool,
    #[serde(default)]
    pub payload: Option<Box<RawValue>>,
    /// How often Slack sent this envelope before (events only).
    #[serde(default)]
    pub retry_attempt: Option<u32>,
    #[serde(default)]
    pub retry_reason: Option<String>,
}

impl Frame {
    pub(super) fn read(text: &str) -> Result<Frame, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// For an event, the channel it happened in (`event.channel`, `event.channel_id` or
    /// `event.item.channel`, as each event type says it): events of one channel must be
    /// handled in the order they arrived — a pin before the edit of the pinned message, a pin
    /// before its unpin. `None` for other envelopes, which are independent of each other.
    pub(super) fn channel(&self) -> Option<String> {
        #[derive(Deserialize)]
        struct Callback {
            event: Option<serde_json::Value>,
        }
        if self.kind != "events_api" {
            return None;
        }
        let callback: Callback = serde_json::from_str(self.payload.as_deref()?.get()).ok()?;
        let event = callback.event?;
        ["/channel", "/channel_id", "/item/channel"]
            .iter()
            .find_map(|pointer| event.pointer(pointer).and_then(|c| c.as_str()))
            .map(str::to_string)
            // Events that name no channel still keep their order among themselves.
            .or_else(|| Some(String::new()))
    }
}

/// The ack frame: `{"envelope_id": …}`, with `"payload"` when there is one.
#[derive(Serialize)]
struct AckFrame<'a> {
    envelope_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<Value>,
}

fn ack_frame(envelope_id: &str, payload: Option<Value>) -> String {
    let frame = AckFrame {
        envelope_id,
        payload,
    };
    // A `Value` always serialises.
    serde_json::to_string(&frame).unwrap_or_default()
}

fn bare(envelope_id: &str) -> String {
    ack_frame(envelope_id, None)
}

/// What Slack sent, whichever transport carried it: the kind of envelope (`slash_commands`,
/// `interactive`, `events_api`), its payload as Slack's JSON, whether the answer may carry a
/// payload, and how often Slack sent it before (events only) and why.
pub(super) struct Delivery<'a> {
    pub kind: &'static str,
    pub payload: &'a str,
    pub accepts_response_payload: bool,
    pub retry_attempt: u32,
    pub retry_reason: &'a str,
    /// `socket_mode` or `http`, for the logs.
    pub transport: &'static str,
}

/// The envelope kinds the bot answers, by the name Socket Mode's frame gives them.
pub(super) fn kind(name: &str) -> Option<&'static str> {
    ["slash_commands", "interactive", "events_api"]
        .into_iter()
        .find(|kind| *kind == name)
}

/// The ack for the Socket Mode envelope `frame` (which has an `envelope_id`): the answer
/// [`respond`] chooses, in a frame.
pub(super) async fn answer(inbound: Arc<dyn Inbound>, metrics: Metrics, frame: Frame) -> String {
    let Some(id) = frame.envelope_id.as_deref() else {
        return String::new();
    };
    let Some(kind) = kind(&frame.kind) else {
        warn!(
            envelope_type = frame.kind,
            "an envelope of a type the bot does not know; acked"
        );
        return bare(id);
    };
    let delivery = Delivery {
        kind,
        payload: frame.payload.as_deref().map_or("null", RawValue::get),
        accepts_response_payload: frame.accepts_response_payload,
        retry_attempt: frame.retry_attempt.unwrap_or(0),
        retry_reason: frame.retry_reason.as_deref().unwrap_or(""),
        transport: "socket_mode",
    };
    ack_frame(id, respond(&*inbound, &metrics, delivery).await)
}

/// The answer to `delivery`, after asking `inbound`: `None` for a bare ack, else the payload
/// the ack carries (a slash command's message, a view submission's `response_action`) — in
/// Socket Mode the ack frame's `payload`, over HTTP the response body. Counted, with the time
/// deciding it took, in the app's `metrics`.
pub(super) async fn respond(
    inbound: &dyn Inbound,
    metrics: &Metrics,
    delivery: Delivery<'_>,
) -> Option<Value> {
    let started = Instant::now();
    let kind = delivery.kind;
    let span = info_span!(
        "slack.envelope",
        slack.envelope_type = kind,
        slack.transport = delivery.transport,
        slack.retry_attempt = delivery.retry_attempt,
        slack.retry_reason = delivery.retry_reason,
    );
    let payload = delivery.payload;
    let ack = async {
        match kind {
            "slash_commands" => command(inbound, payload).await,
            "interactive" => interaction(inbound, delivery.accepts_response_payload, payload).await,
            _ => event(inbound, payload).await,
        }
    }
    .instrument(span)
    .await;
    let labels = [("type", kind)];
    metrics.count("incident_commander_envelopes_total", &labels);
    metrics.observe(
        "incident_commander_ack_seconds",
        &labels,
        started.elapsed().as_secs_f64(),
    );
    ack
}

/// The payload as Slack sent it, for `translate` (which reads messages from Slack's JSON).
fn json(what: &str, payload: &str) -> Option<Value> {
    serde_json::from_str(payload)
        .map_err(|e| unreadable(what, &e))
        .ok()
}

/// `response` as the JSON it is sent as; `None` (a bare ack) if it cannot be written.
fn as_payload(response: impl Serialize) -> Option<Value> {
    serde_json::to_value(response)
        .map_err(|e| warn!(error = %e, "an ack payload could not be written; acked bare"))
        .ok()
}

async fn command(inbound: &dyn Inbound, payload: &str) -> Option<Value> {
    let payload = json("slash command", payload)?;
    let Some(command) = translate::slash_command(&payload) else {
        warn!("a slash command slack-morphism's model does not read; acked bare");
        return None;
    };
    let reply = match inbound
        .slash_command(translate::team(&payload), command)
        .await
    {
        // An empty payload object is the ack Slack documents for "nothing to show".
        Ack::Empty => SlackCommandEventResponse::new(SlackMessageContent::new()),
        Ack::Ephemeral(text) => SlackCommandEventResponse::new(blocks::text(&text))
            .with_response_type(SlackMessageResponseType::Ephemeral),
        Ack::EphemeralMessage(message) => SlackCommandEventResponse::new(blocks::content(&message))
            .with_response_type(SlackMessageResponseType::Ephemeral),
        other => {
            warn!(ack = ?other, "a slash command cannot carry this ack; acked bare");
            SlackCommandEventResponse::new(SlackMessageContent::new())
        }
    };
    // Slack always lets a slash command's ack carry a message.
    as_payload(reply)
}

async fn interaction(
    inbound: &dyn Inbound,
    accepts_response_payload: bool,
    payload: &str,
) -> Option<Value> {
    let payload = json("interaction", payload)?;
    let Some(interaction) = translate::interaction(&payload) else {
        debug!("an interaction the bot does not handle; acked");
        return None;
    };
    let team = translate::team(&payload);
    let response: SlackInteractionResponse = match inbound.interaction(team, interaction).await {
        Ack::ViewErrors(errors) => SlackViewSubmissionResponse::Errors(
            SlackViewSubmissionErrorsResponse::new(errors.into_iter().collect()),
        )
        .into(),
        Ack::Empty => SlackInteractionResponse::Empty,
        other => {
            warn!(ack = ?other, "an interaction cannot carry this ack; acked bare");
            SlackInteractionResponse::Empty
        }
    };
    match response {
        SlackInteractionResponse::Empty => None,
        response if accepts_response_payload => as_payload(response),
        _ => {
            warn!("Slack takes no payload in this interaction's ack; acked bare");
            None
        }
    }
}

async fn event(inbound: &dyn Inbound, payload: &str) -> Option<Value> {
    let callback = json("event", payload)?;
    match translate::event(&callback) {
        Some(event) => inbound.event(translate::team(&callback), event).await,
        None => debug!(
            event_id = callback["event_id"].as_str().unwrap_or_default(),
            "an event the bot does not handle; acked"
        ),
    }
    None
}

/// A payload slack-morphism's models do not read: logged (without the payload, which may hold
/// what people wrote) and acked bare, so Slack does not send it again.
fn unreadable(what: &str, error: &serde_json::Error) {
    warn!(%error, "a {what} from Slack could not be read; acked bare");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acks_are_bare_or_carry_a_payload() {
        assert_eq!(bare("e1"), r#"{"envelope_id":"e1"}"#);
        assert_eq!(
            ack_frame("e2", Some(serde_json::json!({"text": "hi"}))),
            r#"{"envelope_id":"e2","payload":{"text":"hi"}}"#
        );
    }

    #[test]
    fn a_frame_is_read_without_its_payload_being_parsed() {
        let frame = Frame::read(
            r#"{"envelope_id":"e","type":"events_api","accepts_response_payload":false,
                "payload":{"anything":[1,2]},"retry_attempt":2,"retry_reason":"timeout"}"#,
        )
        .expect("reads");
        assert_eq!(frame.kind, "events_api");
        assert_eq!(frame.envelope_id.as_deref(), Some("e"));
        assert_eq!(frame.retry_attempt, Some(2));
        assert_eq!(
            frame.payload.as_deref().map(RawValue::get),
            Some(r#"{"anything":[1,2]}"#)
        );
        let disconnect =
            Frame::read(r#"{"type":"disconnect","reason":"warning","debug_info":{"host":"h"}}"#)
                .expect("reads");
        assert_eq!(disconnect.reason.as_deref(), Some("warning"));
        assert!(disconnect.envelope_id.is_none());
    }

    #[test]
    fn an_event_is_ordered_by_the_channel_it_happened_in() {
        let event = |event: &str| {
            Frame::read(&format!(
                r#"{{"envelope_id":"e","type":"events_api","accepts_response_payload":false,
                    "payload":{{"type":"event_callback","event":{event}}}}}"#
            ))
            .expect("reads")
            .channel()
        };
        assert_eq!(
            event(r#"{"type":"message","channel":"C1","text":"hi"}"#).as_deref(),
            Some("C1")
        );
        assert_eq!(
            event(r#"{"type":"pin_added","channel_id":"C2","item":{"channel":"C2"}}"#).as_deref(),
            Some("C2")
        );
        assert_eq!(
            event(r#"{"type":"pin_removed","item":{"channel":"C3"}}"#).as_deref(),
            Some("C3")
        );
        assert_eq!(
            event(r#"{"type":"team_join","user":{"id":"U1"}}"#).as_deref(),
            Some("")
        );
        let command = Frame::read(
            r#"{"envelope_id":"c","type":"slash_commands","accepts_response_payload":true,"payload":{}}"#,
        )
        .expect("reads");
        assert_eq!(command.channel(), None, "commands are independent");
    }
}
