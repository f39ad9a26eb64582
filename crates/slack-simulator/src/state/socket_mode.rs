//! Socket Mode as Slack runs it, in the state: connections (open, told to disconnect, half-open),
//! which one gets an envelope, the 3-second ack deadline, Events API redeliveries, and what a
//! person sees when an ack comes too late.
//!
//! The deadline, the redeliveries and what a person sees are the same over HTTP: once the app
//! uses request URLs, [`State::deliver`] hands every envelope to `request_urls` instead of a
//! connection, and a failed POST gives the delivery up at once ([`State::give_up`]).
//!
//! Like the rest of the state this is synchronous: frames go to each connection's channel, and
//! what must happen later is a [`Timer`] the simulator's timer task fires through
//! [`State::fire_timers`].

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedSender;

use super::State;
use crate::{
    APP_ID, Ack, ConnectionChange, Delivery, DeliveryOutcome, Envelope, Ephemeral, SimEvent,
};

/// A frame for a connection's writer.
#[derive(Debug)]
pub(crate) enum Outgoing {
    Text(String),
    /// A disconnect frame: after sending it, the connection closes itself if the client has
    /// not closed it within [`DISCONNECT_GRACE`], as Slack does after a `warning`.
    Disconnect(String),
    /// A Close frame: Slack ends the connection in an orderly way.
    Close,
    /// Drop the connection without a Close frame, as a network failure would.
    Drop,
    /// Stop reading and writing without closing: the socket is half-open. Pings go unanswered
    /// and nothing arrives; the client has to notice by itself.
    Freeze,
    /// Stop reading the client's frames for this long while writing on: acks wait in the
    /// socket's buffers, and once those are full the client's writes block. A peer that reads
    /// and writes in one loop (as this simulator does) is busy like this whenever a write of
    /// its own waits; the client must keep reading all the same.
    PauseReading(Duration),
}

/// How long a connection told to disconnect stays open at most.
pub(crate) const DISCONNECT_GRACE: Duration = Duration::from_secs(10);

/// The text Slack shows the person whose slash command was not acked in time.
pub(crate) fn command_timeout_text(command: &str) -> String {
    command_failed_text(command, "operation_timeout")
}

/// The text Slack shows the person whose slash command failed with `error`.
pub(crate) fn command_failed_text(command: &str, error: &str) -> String {
    format!("{command} failed with the error \"{error}\"")
}

pub(crate) struct ConnectionRecord {
    pub(crate) id: u64,
    tx: UnboundedSender<Outgoing>,
    /// Sent a disconnect frame (or closing): gets no new envelopes while another is open.
    draining: bool,
    /// Told to refresh (`warning`, `refresh_requested`) but still open: used while it is the
    /// only connection, as Slack keeps sending on it until it closes.
    refreshing: bool,
}

/// Something due later.
#[derive(Debug, Clone)]
pub(crate) enum Timer {
    /// The ack of `envelope_id`'s delivery number `attempt` is due.
    AckDue { envelope_id: String, attempt: u32 },
    /// Slack sends an events_api envelope again after a missed ack.
    Redeliver(Envelope),
    /// Slack stops routing to a half-open connection: it noticed the socket is dead.
    HalfOpenNoticed(u64),
}

/// Why Slack gave up on a delivery.
#[derive(Debug, Clone, Copy)]
pub(crate) enum GiveUp {
    /// No ack (or 2xx answer) within the deadline.
    NoAck,
    /// Over HTTP: a non-2xx answer or no connection, before the deadline. `error` is what the
    /// person whose slash command it was sees; an event is sent again only if `retry`.
    Failed { error: &'static str, retry: bool },
}

impl State {
    // --- timers ---

    fn add_timer(&mut self, at: Instant, timer: Timer) {
        self.timer_counter += 1;
        let key = (at, self.timer_counter);
        let earliest = self.timers.keys().next().is_none_or(|first| key < *first);
        self.timers.insert(key, timer);
        if earliest {
            self.timer_wake.notify_one();
        }
    }

    /// Runs every timer due by `now`; returns whether one ran, and when the next one is due.
    pub(crate) fn fire_timers(&mut self, now: Instant) -> (bool, Option<Instant>) {
        let mut fired = false;
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            fired = true;
            match entry.remove() {
                Timer::AckDue {
                    envelope_id,
                    attempt,
                } => self.ack_missed(&envelope_id, attempt),
                Timer::Redeliver(envelope) => self.deliver(envelope),
                Timer::HalfOpenNoticed(id) => self.unregister_connection(id),
            }
        }
        (fired, self.timers.keys().next().map(|(at, _)| *at))
    }

    // --- connections ---

    /// Registers a new connection, queues its hello frame, then hands it queued envelopes (or,
    /// while connections are turned away, the disconnect frame).
    pub(crate) fn register_connection(&mut self, tx: UnboundedSender<Outgoing>) -> u64 {
        self.next_connection_id += 1;
        let id = self.next_connection_id;
        let num_connections = self.connections.len() + 1;
        let hello = json!({
            "type": "hello",
            "num_connections": num_connections,
            "debug_info": {
                "host": "sim",
                "build_number": 1,
                "approximate_connection_time": 18060
            },
            "connection_info": { "app_id": APP_ID }
        });
        if tx.send(Outgoing::Text(hello.to_string())).is_err() {
            return id;
        }
        let turned_away = self.turn_away.clone();
        if let Some(reason) = &turned_away {
            let _ = tx.send(Outgoing::Disconnect(disconnect_frame(reason)));
        }
        self.connections.push(ConnectionRecord {
            id,
            tx,
            draining: turned_away.is_some(),
            refreshing: false,
        });
        self.log_connection(id, true);
        self.hellos_sent += 1;
        if turned_away.is_none() {
            self.deliver_queued();
        }
        id
    }

    /// Delivers the envelopes waiting for a connection (or, now, for a request URL).
    pub(crate) fn deliver_queued(&mut self) {
        let queued: Vec<Envelope> = self.queue.drain(..).collect();
        for envelope in queued {
            self.deliver(envelope);
        }
    }

    pub(crate) fn unregister_connection(&mut self, id: u64) {
        let before = self.connections.len();
        self.connections.retain(|c| c.id != id);
        if self.connections.len() < before {
            self.log_connection(id, false);
        }
    }

    fn log_connection(&mut self, connection: u64, opened: bool) {
        self.connection_log.push(ConnectionChange {
            at: Instant::now(),
            connection,
            opened,
            open_after: self.connections.len(),
        });
    }

    /// Sends `{"type":"disconnect","reason":…}` on every open connection.
    pub(crate) fn disconnect_all(&mut self, reason: &str) {
        let frame = disconnect_frame(reason);
        let refresh = matches!(reason, "warning" | "refresh_requested");
        for connection in &mut self.connections {
            connection.draining = true;
            connection.refreshing = refresh;
            // A closed connection is removed by its own task.
            let _ = connection.tx.send(Outgoing::Disconnect(frame.clone()));
        }
    }

    pub(crate) fn drop_all(&mut self) {
        for connection in &mut self.connections {
            connection.draining = true;
            connection.refreshing = false;
            let _ = connection.tx.send(Outgoing::Drop);
        }
    }

    pub(crate) fn close_all(&mut self) {
        for connection in &mut self.connections {
            connection.draining = true;
            connection.refreshing = false;
            let _ = connection.tx.send(Outgoing::Close);
        }
    }

    /// Slack closes every connection in an orderly way (a Close frame) and, until
    /// [`State::accept_connections`], refuses new ones: `apps.connections.open` answers
    /// `internal_error` and an upgrade with an earlier ticket is answered 503.
    pub(crate) fn refuse_connections(&mut self) {
        self.refusing_connections = true;
        self.close_all();
    }

    pub(crate) fn accept_connections(&mut self) {
        self.refusing_connections = false;
    }

    /// Until called with `None`, every new connection gets its hello and then a disconnect
    /// frame with `reason` (`too_many_websockets`, `link_disabled`).
    pub(crate) fn turn_away(&mut self, reason: Option<&str>) {
        self.turn_away = reason.map(str::to_string);
    }

    /// Every open connection goes half-open: its socket stays up but nothing moves either way.
    /// Slack itself notices after `timing.half_open_noticed` and stops routing to it; until
    /// then, envelopes sent to it are lost (and their acks missed).
    pub(crate) fn half_open_all(&mut self) {
        let noticed = Instant::now() + self.timing.half_open_noticed;
        let ids: Vec<u64> = self.connections.iter().map(|c| c.id).collect();
        for connection in &self.connections {
            let _ = connection.tx.send(Outgoing::Freeze);
        }
        for id in ids {
            self.add_timer(noticed, Timer::HalfOpenNoticed(id));
        }
    }

    /// Every open connection stops reading the client's frames for `pause` (it writes on).
    pub(crate) fn pause_reading_all(&mut self, pause: Duration) {
        for connection in &self.connections {
            let _ = connection.tx.send(Outgoing::PauseReading(pause));
        }
    }

    // --- envelopes ---

    /// Sends `envelope` (a first delivery or a redelivery) or queues it. What the payload hands
    /// the bot (a trigger id, a response URL, a view to submit) is registered here, so envelopes
    /// built by hand work like the simulator's own.
    pub(crate) fn send_envelope(&mut self, envelope: Envelope) {
        self.register_envelope(&envelope);
        self.deliver(envelope);
    }

    /// Registers what `envelope`'s payload hands the bot (a trigger id, a response URL, a view
    /// to submit, a command's channel and person), as if Slack had sent it.
    pub(crate) fn register_envelope(&mut self, envelope: &Envelope) {
        let payload = &envelope.payload;
        let field = |pointer: &str| {
            payload
                .pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let user = [field("/user_id"), field("/user/id")]
            .into_iter()
            .find(|u| !u.is_empty())
            .unwrap_or_default();
        let channel = [field("/channel_id"), field("/channel/id")]
            .into_iter()
            .find(|c| !c.is_empty())
            .unwrap_or_default();
        if envelope.envelope_type == "slash_commands" {
            self.command_targets.insert(
                envelope.envelope_id.clone(),
                (channel.clone(), user.clone()),
            );
        }
        if let Some(url) = payload.get("response_url").and_then(Value::as_str)
            && let Some((_, tail)) = url.split_once("/response/")
        {
            let message_ts = Some(field("/container/message_ts")).filter(|ts| !ts.is_empty());
            self.response_targets.insert(
                format!("/response/{tail}"),
                super::ResponseTarget {
                    channel,
                    user: user.clone(),
                    message_ts,
                    issued: Instant::now(),
                    uses: 0,
                },
            );
        }
        if let Some(trigger) = payload.get("trigger_id").and_then(Value::as_str) {
            let trigger = trigger.to_string();
            self.register_trigger(&trigger, &user);
        }
        if field("/type") == "view_submission" {
            let view_id = field("/view/id");
            self.submissions
                .insert(envelope.envelope_id.clone(), view_id);
        }
    }

    /// Puts `envelope` on one connection not told to disconnect (round robin; Slack picks one
    /// at random) and starts its ack deadline, or queues it until a connection opens. Once the
    /// app uses request URLs, POSTs it to one instead ([`State::deliver_over_http`]).
    pub(crate) fn deliver(&mut self, envelope: Envelope) {
        if self.request_urls.active() {
            self.deliver_over_http(envelope);
            return;
        }
        // Each failed attempt removes a dead connection, so this ends; the bound is a backstop.
        for _ in 0..=self.connections.len() {
            // A connection told to disconnect is still open: Slack prefers the others, and
            // uses it while it is the only one.
            let mut eligible: Vec<u64> = self
                .connections
                .iter()
                .filter(|c| !c.draining)
                .map(|c| c.id)
                .collect();
            if eligible.is_empty() {
                eligible = self
                    .connections
                    .iter()
                    .filter(|c| c.refreshing)
                    .map(|c| c.id)
                    .collect();
            }
            let Some(&id) = eligible.get(self.round_robin % eligible.len().max(1)) else {
                break;
            };
            self.round_robin = self.round_robin.wrapping_add(1);
            let attempt = self.attempts(&envelope.envelope_id);
            let frame = envelope_frame(&envelope, attempt);
            let sent = self
                .connections
                .iter()
                .find(|c| c.id == id)
                .is_some_and(|c| c.tx.send(Outgoing::Text(frame)).is_ok());
            if !sent {
                // The connection task is gone; forget it and pick another.
                self.unregister_connection(id);
                continue;
            }
            self.record_delivery(envelope, id);
            return;
        }
        // No connection to send it on. Slack keeps retrying an event (it is queued until one
        // opens); a slash command or an interaction fails at once and the person sees why.
        if envelope.envelope_type == "events_api" {
            self.queue.push_back(envelope);
            return;
        }
        let seq = self.next_seq();
        self.events.push(SimEvent::NotDispatched {
            seq,
            envelope: envelope.clone(),
            at: Instant::now(),
        });
        if envelope.envelope_type == "slash_commands"
            && let Some((channel, user)) = self.command_targets.get(&envelope.envelope_id).cloned()
        {
            let command = envelope
                .payload
                .get("command")
                .and_then(Value::as_str)
                .unwrap_or("/inc");
            self.ephemerals.push(Ephemeral {
                channel,
                user,
                text: command_failed_text(command, "dispatch_failed"),
                blocks: Value::Null,
                thread_ts: None,
                via: "dispatch_failed".to_string(),
            });
        }
    }

    /// How often `envelope_id` was sent so far: the attempt number of its next delivery.
    pub(crate) fn attempts(&self, envelope_id: &str) -> u32 {
        self.send_counts.get(envelope_id).copied().unwrap_or(0)
    }

    /// Records that `envelope` was just sent (on `connection`) and starts its ack deadline;
    /// returns the deadline.
    pub(crate) fn record_delivery(&mut self, envelope: Envelope, connection: u64) -> Instant {
        let attempt = self.attempts(&envelope.envelope_id);
        let now = Instant::now();
        self.send_counts
            .insert(envelope.envelope_id.clone(), attempt + 1);
        let deadline = now + self.timing.ack_deadline;
        self.deliveries
            .entry(envelope.envelope_id.clone())
            .or_default()
            .push(Delivery {
                attempt,
                connection,
                at: now,
                deadline,
                outcome: DeliveryOutcome::Waiting,
            });
        self.add_timer(
            deadline,
            Timer::AckDue {
                envelope_id: envelope.envelope_id.clone(),
                attempt,
            },
        );
        let seq = self.next_seq();
        self.events.push(SimEvent::EnvelopeSent {
            seq,
            envelope,
            at: now,
        });
        deadline
    }

    /// Records the bot's ack of `envelope_id`. An ack answers the envelope's latest delivery;
    /// one later than the deadline counts as none (Slack has given up on it): it is logged, and
    /// nothing it carries is applied. The first timely ack of an envelope takes effect: a
    /// command's message is posted, a view submission's `response_action` is applied.
    pub(crate) fn record_ack(&mut self, envelope_id: String, payload: Option<Value>) {
        self.record_ack_of(envelope_id, None, payload);
    }

    /// [`State::record_ack`] for the delivery number `attempt` (an HTTP answer answers its own
    /// request, not the latest one); `None`: the latest (a Socket Mode ack names only the
    /// envelope).
    pub(crate) fn record_ack_of(
        &mut self,
        envelope_id: String,
        attempt: Option<u32>,
        payload: Option<Value>,
    ) {
        let now = Instant::now();
        let late = match self.deliveries.get_mut(&envelope_id).and_then(|d| {
            d.iter_mut()
                .rev()
                .find(|d| attempt.is_none_or(|attempt| d.attempt == attempt))
        }) {
            Some(delivery) => match delivery.outcome {
                DeliveryOutcome::Waiting if now <= delivery.deadline => {
                    delivery.outcome = DeliveryOutcome::Acked;
                    false
                }
                // Past the deadline: the timer marks it missed (it may not have fired yet).
                DeliveryOutcome::Waiting | DeliveryOutcome::Missed => true,
                DeliveryOutcome::Acked => false,
            },
            None => false,
        };
        let seq = self.next_seq();
        let ack = Ack {
            envelope_id: envelope_id.clone(),
            payload: payload.clone(),
            at: now,
            seq,
            late,
        };
        self.events.push(SimEvent::Ack(ack.clone()));
        if late {
            self.late_acks += 1;
        }
        if late || self.first_acks.contains_key(&envelope_id) {
            return;
        }
        self.first_acks.insert(envelope_id.clone(), ack);
        if let Some(payload) = &payload
            && let Some((channel_id, user)) = self.command_targets.get(&envelope_id).cloned()
        {
            self.post_reply(&channel_id, &user, payload, "ack");
        }
        if let Some(view_id) = self.submissions.get(&envelope_id).cloned() {
            self.apply_response_action(&view_id, payload.as_ref());
        }
    }

    /// The deadline of `envelope_id`'s delivery `attempt` passed: unless it was acked, Slack
    /// gives up on it. An events_api envelope is sent again later (`timing.redeliveries`); a
    /// slash command's person sees Slack's timeout error instead of the bot's answer; a modal
    /// submission leaves the modal as it was.
    fn ack_missed(&mut self, envelope_id: &str, attempt: u32) {
        self.give_up(envelope_id, attempt, GiveUp::NoAck);
    }

    /// Slack gives up on `envelope_id`'s delivery `attempt` (unless it was acked or given up
    /// already): [`State::ack_missed`] when its deadline passed, or over HTTP as soon as the POST
    /// failed. An event is sent again later (unless the failed answer said not to); a slash
    /// command's person sees why it failed; an interaction just fails.
    pub(crate) fn give_up(&mut self, envelope_id: &str, attempt: u32, why: GiveUp) {
        let Some(delivery) = self
            .deliveries
            .get_mut(envelope_id)
            .and_then(|d| d.iter_mut().find(|d| d.attempt == attempt))
        else {
            return;
        };
        if delivery.outcome != DeliveryOutcome::Waiting {
            return;
        }
        delivery.outcome = DeliveryOutcome::Missed;
        let envelope = self.events.iter().rev().find_map(|e| match e {
            SimEvent::EnvelopeSent { envelope, .. } if envelope.envelope_id == envelope_id => {
                Some(envelope.clone())
            }
            _ => None,
        });
        let Some(envelope) = envelope else {
            return;
        };
        let seq = self.next_seq();
        let now = Instant::now();
        self.events.push(SimEvent::AckMissed {
            seq,
            envelope: envelope.clone(),
            attempt,
            at: now,
        });
        match envelope.envelope_type.as_str() {
            "events_api" => {
                let retry = match why {
                    GiveUp::NoAck => true,
                    GiveUp::Failed { retry, .. } => retry,
                };
                if retry
                    && let Some(delay) = self.timing.redeliveries.get(attempt as usize).copied()
                {
                    self.add_timer(now + delay, Timer::Redeliver(envelope));
                }
            }
            "slash_commands" => {
                if let Some((channel, user)) = self.command_targets.get(envelope_id).cloned() {
                    let command = envelope
                        .payload
                        .get("command")
                        .and_then(Value::as_str)
                        .unwrap_or("/inc");
                    let (text, via) = match why {
                        GiveUp::NoAck => (command_timeout_text(command), "timeout"),
                        GiveUp::Failed { error, .. } => {
                            (command_failed_text(command, error), error)
                        }
                    };
                    self.ephemerals.push(Ephemeral {
                        channel,
                        user,
                        text,
                        blocks: Value::Null,
                        thread_ts: None,
                        via: via.to_string(),
                    });
                }
            }
            _ => {}
        }
    }
}

fn disconnect_frame(reason: &str) -> String {
    json!({
        "type": "disconnect",
        "reason": reason,
        "debug_info": { "host": "sim" }
    })
    .to_string()
}

/// The wire form of an envelope; `attempt` is how often it was sent before.
fn envelope_frame(envelope: &Envelope, attempt: u32) -> String {
    let mut frame = json!({
        "envelope_id": envelope.envelope_id,
        "type": envelope.envelope_type,
        "accepts_response_payload": envelope.accepts_response_payload,
        "payload": envelope.payload,
    });
    if envelope.envelope_type == "events_api"
        && let Some(object) = frame.as_object_mut()
    {
        object.insert("retry_attempt".to_string(), json!(attempt));
        object.insert(
            "retry_reason".to_string(),
            json!(if attempt == 0 { "" } else { "timeout" }),
        );
    }
    frame.to_string()
}
