//! The simulator's in-memory state: the workspace (users, channels, messages, pins, views),
//! the event log, fault-injection rules, and the Socket Mode connections with their queue.
//!
//! Everything here is synchronous and runs under the simulator's one mutex. It must not do
//! I/O, await, or block: outgoing WebSocket frames are handed to each connection's unbounded
//! channel, and the connection task writes them.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedSender;

use super::{APP_ID, Ack, ApiCall, BOT_USER_ID, Channel, Envelope, Message, SimEvent};

/// A frame for a connection's writer.
#[derive(Debug)]
pub(crate) enum Outgoing {
    Text(String),
    /// A disconnect frame: after sending it, the connection closes itself if the client has
    /// not closed it within [`DISCONNECT_GRACE`], as Slack does after a `warning`.
    Disconnect(String),
    Close,
}

/// How long a connection told to disconnect stays open at most.
pub(crate) const DISCONNECT_GRACE: Duration = Duration::from_secs(10);

pub(crate) struct ConnectionRecord {
    pub(crate) id: u64,
    tx: UnboundedSender<Outgoing>,
    /// Sent a disconnect frame: gets no new envelopes.
    draining: bool,
}

pub(crate) struct UserRecord {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) is_bot: bool,
}

pub(crate) struct PinRecord {
    pub(crate) ts: String,
    pub(crate) created: i64,
    pub(crate) created_by: String,
}

pub(crate) struct ChannelRecord {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) is_private: bool,
    pub(crate) creator: String,
    pub(crate) created: i64,
    pub(crate) members: Vec<String>,
    pub(crate) topic: String,
    pub(crate) topic_creator: String,
    pub(crate) topic_last_set: i64,
    pub(crate) messages: Vec<Message>,
    pub(crate) pins: Vec<PinRecord>,
}

impl ChannelRecord {
    pub(crate) fn snapshot(&self) -> Channel {
        Channel {
            id: self.id.clone(),
            name: self.name.clone(),
            is_private: self.is_private,
            creator: self.creator.clone(),
            members: self.members.clone(),
            topic: self.topic.clone(),
            messages: self.messages.clone(),
            pins: self.pins.iter().map(|p| p.ts.clone()).collect(),
        }
    }

    pub(crate) fn is_member(&self, user: &str) -> bool {
        self.members.iter().any(|m| m == user)
    }

    /// Whether the bot can see the channel at all (private channels only when a member).
    pub(crate) fn visible_to_bot(&self) -> bool {
        !self.is_private || self.is_member(BOT_USER_ID)
    }

    pub(crate) fn message(&self, ts: &str) -> Option<&Message> {
        self.messages.iter().find(|m| m.ts == ts)
    }
}

#[derive(Clone, Debug)]
pub(crate) enum FaultKind {
    Fail(String),
    RateLimit(u64),
    FailAfterApplying,
}

/// What the next calls to a method should meet: each rule serves `times` calls, rules for the
/// same method in the order they were added. Faults and one-shot delays are both scripted so.
pub(crate) struct Scripted<T> {
    rules: Vec<(String, T, usize)>,
}

impl<T: Clone> Scripted<T> {
    fn new() -> Self {
        Scripted { rules: Vec::new() }
    }

    pub(crate) fn add(&mut self, method: &str, what: T, times: usize) {
        if times > 0 {
            self.rules.push((method.to_string(), what, times));
        }
    }

    /// Consumes one use of the first rule for `method`, if any remains.
    pub(crate) fn take(&mut self, method: &str) -> Option<T> {
        let index = self.rules.iter().position(|(m, _, _)| m == method)?;
        let (_, what, left) = &mut self.rules[index];
        let what = what.clone();
        *left -= 1;
        if *left == 0 {
            self.rules.remove(index);
        }
        Some(what)
    }
}

/// Facts about a call that its wire answer does not show.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct CallNote {
    /// The Retry-After of a 429.
    pub(crate) retry_after: Option<u64>,
    /// For a 500 after applying: the error the method itself gave (so nothing was applied).
    pub(crate) hidden_error: Option<String>,
}

pub(crate) struct TriggerRecord {
    pub(crate) issued: Instant,
    pub(crate) used: bool,
}

pub(crate) struct State {
    seq: u64,
    pub(crate) events: Vec<SimEvent>,
    pub(crate) users: Vec<UserRecord>,
    pub(crate) channels: Vec<ChannelRecord>,
    id_counter: u64,
    ts_last_secs: i64,
    ts_counter: u64,
    ticket_counter: u64,
    tickets: HashSet<String>,
    pub(crate) connections: Vec<ConnectionRecord>,
    next_connection_id: u64,
    round_robin: usize,
    pub(crate) hellos_sent: u64,
    queue: VecDeque<Envelope>,
    send_counts: HashMap<String, u32>,
    pub(crate) faults: Scripted<FaultKind>,
    /// Standing delays: every call to the method waits this long.
    pub(crate) delays: HashMap<String, Duration>,
    /// One-shot delays, used before the standing ones.
    pub(crate) delays_next: Scripted<Duration>,
    trigger_counter: u64,
    pub(crate) triggers: HashMap<String, TriggerRecord>,
    response_counter: u64,
    /// Issued response-URL paths → (channel id, user id) of the command they answer.
    pub(crate) response_targets: HashMap<String, (String, String)>,
    /// Slash-command envelope id → (channel id, user id), for `in_channel` acks.
    pub(crate) command_targets: HashMap<String, (String, String)>,
    pub(crate) views: HashMap<String, Value>,
    /// Call seq → what the transcript needs beyond the recorded call.
    call_notes: HashMap<u64, CallNote>,
}

pub(crate) fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl State {
    pub(crate) fn new() -> Self {
        let mut state = State {
            seq: 0,
            events: Vec::new(),
            users: Vec::new(),
            channels: Vec::new(),
            id_counter: 0,
            ts_last_secs: 0,
            ts_counter: 0,
            ticket_counter: 0,
            tickets: HashSet::new(),
            connections: Vec::new(),
            next_connection_id: 0,
            round_robin: 0,
            hellos_sent: 0,
            queue: VecDeque::new(),
            send_counts: HashMap::new(),
            faults: Scripted::new(),
            delays: HashMap::new(),
            delays_next: Scripted::new(),
            trigger_counter: 0,
            triggers: HashMap::new(),
            response_counter: 0,
            response_targets: HashMap::new(),
            command_targets: HashMap::new(),
            views: HashMap::new(),
            call_notes: HashMap::new(),
        };
        state.add_user(BOT_USER_ID, "incident-commander", true);
        state.add_user(super::ADMIN_USER_ID, "admin", false);
        state
    }

    // --- ids and clocks ---

    pub(crate) fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// A Slack-style id: `prefix` and an 8-digit counter shared by channels, views, ….
    pub(crate) fn new_id(&mut self, prefix: char) -> String {
        self.id_counter += 1;
        format!("{prefix}{:08}", self.id_counter)
    }

    /// A message timestamp `"<unix secs>.<6-digit counter>"`, strictly increasing.
    pub(crate) fn next_ts(&mut self) -> String {
        let now = unix_now();
        self.ts_counter += 1;
        if self.ts_counter > 999_999 {
            self.ts_counter = 1;
            self.ts_last_secs += 1;
        }
        self.ts_last_secs = self.ts_last_secs.max(now);
        format!("{}.{:06}", self.ts_last_secs, self.ts_counter)
    }

    pub(crate) fn new_trigger_id(&mut self) -> String {
        self.trigger_counter += 1;
        let id = format!(
            "{}.{}.sim{:08x}",
            self.trigger_counter,
            unix_now(),
            rand::random::<u32>()
        );
        self.register_trigger(&id);
        id
    }

    fn register_trigger(&mut self, trigger_id: &str) {
        self.triggers
            .entry(trigger_id.to_string())
            .or_insert(TriggerRecord {
                issued: Instant::now(),
                used: false,
            });
    }

    pub(crate) fn new_response_path(&mut self) -> String {
        self.response_counter += 1;
        format!("/response/{}", self.response_counter)
    }

    pub(crate) fn new_ticket(&mut self) -> String {
        self.ticket_counter += 1;
        let ticket = format!("{}-{:016x}", self.ticket_counter, rand::random::<u64>());
        self.tickets.insert(ticket.clone());
        ticket
    }

    /// Consumes a ticket from `apps.connections.open`; false if unknown or already used.
    pub(crate) fn take_ticket(&mut self, ticket: &str) -> bool {
        self.tickets.remove(ticket)
    }

    // --- workspace ---

    pub(crate) fn add_user(&mut self, id: &str, name: &str, is_bot: bool) {
        match self.users.iter_mut().find(|u| u.id == id) {
            Some(user) => user.name = name.to_string(),
            None => self.users.push(UserRecord {
                id: id.to_string(),
                name: name.to_string(),
                is_bot,
            }),
        }
    }

    pub(crate) fn user(&self, id: &str) -> Option<&UserRecord> {
        self.users.iter().find(|u| u.id == id)
    }

    pub(crate) fn add_channel(
        &mut self,
        name: &str,
        is_private: bool,
        creator: &str,
        bot_is_member: bool,
    ) -> String {
        let id = self.new_id('C');
        let mut members = vec![creator.to_string()];
        if bot_is_member && creator != BOT_USER_ID {
            members.push(BOT_USER_ID.to_string());
        }
        self.channels.push(ChannelRecord {
            id: id.clone(),
            name: name.to_string(),
            is_private,
            creator: creator.to_string(),
            created: unix_now(),
            members,
            topic: String::new(),
            topic_creator: String::new(),
            topic_last_set: 0,
            messages: Vec::new(),
            pins: Vec::new(),
        });
        id
    }

    pub(crate) fn channel(&self, id: &str) -> Option<&ChannelRecord> {
        self.channels.iter().find(|c| c.id == id)
    }

    pub(crate) fn channel_mut(&mut self, id: &str) -> Option<&mut ChannelRecord> {
        self.channels.iter_mut().find(|c| c.id == id)
    }

    /// Finds a channel by id, or by name (`general` or `#general`).
    pub(crate) fn channel_by_id_or_name(&self, key: &str) -> Option<&ChannelRecord> {
        self.channel(key).or_else(|| {
            let name = key.strip_prefix('#').unwrap_or(key);
            self.channels.iter().find(|c| c.name == name)
        })
    }

    /// Appends a message from `user` to a channel; returns its ts.
    pub(crate) fn append_message(
        &mut self,
        channel_id: &str,
        user: &str,
        text: String,
        blocks: Value,
        thread_ts: Option<String>,
    ) -> Option<String> {
        let ts = self.next_ts();
        let channel = self.channel_mut(channel_id)?;
        channel.messages.push(Message {
            ts: ts.clone(),
            user: user.to_string(),
            text,
            blocks,
            thread_ts,
        });
        Some(ts)
    }

    // --- event log ---

    /// The Web API calls in the event log, in order.
    pub(crate) fn calls(&self) -> impl Iterator<Item = &ApiCall> {
        self.events.iter().filter_map(|e| match e {
            SimEvent::Call(call) => Some(call),
            _ => None,
        })
    }

    pub(crate) fn push_event(&mut self, event: SimEvent) {
        self.events.push(event);
    }

    pub(crate) fn set_call_note(&mut self, seq: u64, note: CallNote) {
        if note != CallNote::default() {
            self.call_notes.insert(seq, note);
        }
    }

    pub(crate) fn call_note(&self, seq: u64) -> CallNote {
        self.call_notes.get(&seq).cloned().unwrap_or_default()
    }

    /// A command's reply (its ack payload or a response-URL post) appears in the channel as a
    /// bot message when it is `in_channel`; ephemeral replies do not.
    pub(crate) fn post_reply(&mut self, channel_id: &str, reply: &Value) {
        if reply.get("response_type").and_then(Value::as_str) != Some("in_channel") {
            return;
        }
        let text = reply
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let blocks = reply.get("blocks").cloned().unwrap_or(Value::Null);
        let thread_ts = reply
            .get("thread_ts")
            .and_then(Value::as_str)
            .map(str::to_string);
        self.append_message(channel_id, BOT_USER_ID, text, blocks, thread_ts);
    }

    pub(crate) fn record_ack(&mut self, envelope_id: String, payload: Option<Value>) {
        let seq = self.next_seq();
        if let Some(payload) = &payload
            && let Some((channel_id, _)) = self.command_targets.get(&envelope_id).cloned()
        {
            self.post_reply(&channel_id, payload);
        }
        self.events.push(SimEvent::Ack(Ack {
            envelope_id,
            payload,
            at: Instant::now(),
            seq,
        }));
    }

    // --- faults ---

    /// How long this call to `method` waits: a one-shot delay if one is left, else the standing
    /// delay, if any.
    pub(crate) fn take_delay(&mut self, method: &str) -> Option<Duration> {
        self.delays_next
            .take(method)
            .or_else(|| self.delays.get(method).copied())
    }

    // --- Socket Mode ---

    /// Registers a new connection, queues its hello frame, then hands it queued envelopes.
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
        self.connections.push(ConnectionRecord {
            id,
            tx,
            draining: false,
        });
        self.hellos_sent += 1;
        let queued: Vec<Envelope> = self.queue.drain(..).collect();
        for envelope in queued {
            self.deliver(envelope);
        }
        id
    }

    pub(crate) fn unregister_connection(&mut self, id: u64) {
        self.connections.retain(|c| c.id != id);
    }

    /// Sends `envelope` (a first delivery or a redelivery) or queues it.
    pub(crate) fn send_envelope(&mut self, envelope: Envelope) {
        if envelope.envelope_type == "slash_commands" {
            let payload = &envelope.payload;
            let field = |k: &str| {
                payload
                    .get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            let target = (field("channel_id"), field("user_id"));
            if let Some(url) = payload.get("response_url").and_then(Value::as_str)
                && let Some((_, tail)) = url.split_once("/response/")
            {
                self.response_targets
                    .insert(format!("/response/{tail}"), target.clone());
            }
            self.command_targets
                .insert(envelope.envelope_id.clone(), target);
        }
        if let Some(trigger) = envelope.payload.get("trigger_id").and_then(Value::as_str) {
            let trigger = trigger.to_string();
            self.register_trigger(&trigger);
        }
        self.deliver(envelope);
    }

    fn deliver(&mut self, envelope: Envelope) {
        // Each failed attempt removes a dead connection, so this ends; the bound is a backstop.
        for _ in 0..=self.connections.len() {
            let eligible: Vec<u64> = self
                .connections
                .iter()
                .filter(|c| !c.draining)
                .map(|c| c.id)
                .collect();
            let Some(&id) = eligible.get(self.round_robin % eligible.len().max(1)) else {
                break;
            };
            self.round_robin = self.round_robin.wrapping_add(1);
            let attempt = self
                .send_counts
                .get(&envelope.envelope_id)
                .copied()
                .unwrap_or(0);
            let frame = envelope_frame(&envelope, attempt);
            let sent = self
                .connections
                .iter()
                .find(|c| c.id == id)
                .is_some_and(|c| c.tx.send(Outgoing::Text(frame)).is_ok());
            if !sent {
                // The connection task is gone; forget it and pick another.
                self.connections.retain(|c| c.id != id);
                continue;
            }
            self.send_counts
                .insert(envelope.envelope_id.clone(), attempt + 1);
            let seq = self.next_seq();
            self.events.push(SimEvent::EnvelopeSent {
                seq,
                envelope,
                at: Instant::now(),
            });
            return;
        }
        self.queue.push_back(envelope);
    }

    pub(crate) fn disconnect_all(&mut self, reason: &str) {
        let frame = json!({
            "type": "disconnect",
            "reason": reason,
            "debug_info": { "host": "sim" }
        })
        .to_string();
        for connection in &mut self.connections {
            connection.draining = true;
            // A closed connection is removed by its own task.
            let _ = connection.tx.send(Outgoing::Disconnect(frame.clone()));
        }
    }

    pub(crate) fn close_all(&mut self) {
        for connection in &mut self.connections {
            connection.draining = true;
            let _ = connection.tx.send(Outgoing::Close);
        }
    }
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
