//! The simulator's in-memory state: the workspace (users, user groups, channels, messages, pins,
//! views, files, ephemerals), the event log, fault-injection rules, and the Socket Mode
//! connections with their queue, deadlines and redeliveries (in `socket_mode`), or the request
//! URLs that replace them (the crate's `request_urls`); plus the one way the Events API is fed
//! ([`State::emit_event`]).
//!
//! Everything here is synchronous and runs under the simulator's one mutex. It must not do
//! I/O, await, or block: outgoing WebSocket frames are handed to each connection's unbounded
//! channel, and the connection task writes them; HTTP requests to request URLs go to the
//! sender task's unbounded channel likewise.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::Notify;

use super::request_urls::RequestUrls;
use super::shapes;
use super::workspaces::Workspaces;
use super::{
    Ack, ApiCall, Channel, ConnectionChange, Delivery, Envelope, Ephemeral, Message, SimEvent,
    SocketTiming, TEAM_ID,
};

mod socket_mode;

use socket_mode::Timer;
pub(crate) use socket_mode::{
    ConnectionRecord, DISCONNECT_GRACE, GiveUp, Outgoing, command_failed_text, command_timeout_text,
};

pub(crate) struct UserRecord {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) is_bot: bool,
    /// The workspace the user belongs to.
    pub(crate) team_id: String,
}

/// What a pin points at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PinItem {
    /// A message, by ts.
    Message(String),
    /// A file, by id.
    File(String),
}

impl PinItem {
    /// The ts or file id.
    pub(crate) fn key(&self) -> &str {
        match self {
            PinItem::Message(ts) | PinItem::File(ts) => ts,
        }
    }
}

pub(crate) struct PinRecord {
    pub(crate) item: PinItem,
    pub(crate) created: i64,
    pub(crate) created_by: String,
}

/// A modal view the bot opened or pushed (or a response action pushed).
pub(crate) struct ViewRecord {
    pub(crate) id: String,
    /// The user it was opened for (the trigger's user); empty when unknown.
    pub(crate) user: String,
    /// The whole view object as Slack answers it (`id`, `hash`, `root_view_id`, …).
    pub(crate) json: Value,
    pub(crate) open: bool,
    /// The `errors` of the last `response_action: errors` ack, while it is shown.
    pub(crate) errors: Option<Value>,
}

impl ViewRecord {
    /// Whether `user` sees this view (a view opened with a trigger of unknown origin is taken to
    /// be anyone's).
    pub(crate) fn belongs_to(&self, user: &str) -> bool {
        self.user.is_empty() || self.user == user
    }

    pub(crate) fn str(&self, key: &str) -> String {
        self.json
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    }
}

/// A file from `files.getUploadURLExternal`, uploaded and completed or not.
pub(crate) struct FileRecord {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) title: Option<String>,
    /// The `length` declared when the upload URL was asked for.
    pub(crate) length: u64,
    /// The bytes POSTed to the upload URL, once they were.
    pub(crate) bytes: Option<Vec<u8>>,
    /// The unguessable part of the upload URL.
    pub(crate) upload_token: String,
    pub(crate) snippet_type: Option<String>,
    pub(crate) alt_txt: Option<String>,
    pub(crate) completed: bool,
    /// Channels it was shared into, in order.
    pub(crate) channels: Vec<String>,
    pub(crate) user: String,
    pub(crate) created: i64,
    /// The workspace it was uploaded in.
    pub(crate) team_id: String,
}

pub(crate) struct UsergroupRecord {
    pub(crate) id: String,
    /// The workspace it belongs to.
    pub(crate) team_id: String,
    pub(crate) handle: String,
    pub(crate) users: Vec<String>,
    pub(crate) created: i64,
}

/// Where a response URL's posts go.
#[derive(Clone, Debug)]
pub(crate) struct ResponseTarget {
    pub(crate) channel: String,
    pub(crate) user: String,
    /// The message a `block_actions` came from: `replace_original`/`delete_original` act on it.
    pub(crate) message_ts: Option<String>,
    /// When Slack issued it: it works for [`RESPONSE_URL_LIFETIME`].
    pub(crate) issued: Instant,
    /// Posts it took so far: Slack takes [`RESPONSE_URL_USES`].
    pub(crate) uses: u32,
}

/// How long a response URL works (Slack: "up to 5 times within 30 minutes").
pub(crate) const RESPONSE_URL_LIFETIME: Duration = Duration::from_secs(30 * 60);
/// How many posts a response URL takes.
pub(crate) const RESPONSE_URL_USES: u32 = 5;

pub(crate) struct ChannelRecord {
    pub(crate) id: String,
    /// The workspace it belongs to (its names are unique there, its id everywhere).
    pub(crate) team_id: String,
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
    /// Archived (`conversations.archive`): read-only, its members kept.
    pub(crate) is_archived: bool,
}

impl ChannelRecord {
    pub(crate) fn snapshot(&self) -> Channel {
        Channel {
            id: self.id.clone(),
            team_id: self.team_id.clone(),
            name: self.name.clone(),
            is_private: self.is_private,
            creator: self.creator.clone(),
            members: self.members.clone(),
            topic: self.topic.clone(),
            messages: self.messages.clone(),
            pins: self.pins.iter().map(|p| p.item.key().to_string()).collect(),
            is_archived: self.is_archived,
        }
    }

    pub(crate) fn is_member(&self, user: &str) -> bool {
        self.members.iter().any(|m| m == user)
    }

    /// Whether the bot user `bot` can see the channel at all (private channels only when a
    /// member). It sees only channels of its own workspace: see `workspaces::Actor::sees`.
    pub(crate) fn visible_to(&self, bot: &str) -> bool {
        !self.is_private || self.is_member(bot)
    }

    pub(crate) fn message(&self, ts: &str) -> Option<&Message> {
        self.messages.iter().find(|m| m.ts == ts)
    }

    pub(crate) fn message_mut(&mut self, ts: &str) -> Option<&mut Message> {
        self.messages.iter_mut().find(|m| m.ts == ts)
    }

    pub(crate) fn pin(&self, item: &PinItem) -> Option<&PinRecord> {
        self.pins.iter().find(|p| p.item == *item)
    }

    /// `channel` or `group`, as message events say.
    pub(crate) fn message_channel_type(&self) -> &'static str {
        if self.is_private { "group" } else { "channel" }
    }
}

#[derive(Clone, Debug)]
pub(crate) enum FaultKind {
    Fail(String),
    RateLimit(u64),
    FailAfterApplying,
    AnswerLate(Duration),
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

    /// Forgets every rule for `method`.
    pub(crate) fn clear(&mut self, method: &str) {
        self.rules.retain(|(m, _, _)| m != method);
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
    /// The user whose interaction issued it; a modal opened with it is theirs.
    pub(crate) user: Option<String>,
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
    /// Socket Mode's deadlines and redelivery schedule.
    pub(crate) timing: SocketTiming,
    /// Each envelope's deliveries, in order, with what became of them.
    pub(crate) deliveries: HashMap<String, Vec<Delivery>>,
    /// What must happen later (ack deadlines, redeliveries, Slack noticing a dead socket), by
    /// when, in order; the simulator's timer task runs them.
    timers: BTreeMap<(Instant, u64), Timer>,
    timer_counter: u64,
    /// Wakes the timer task when a timer comes due before the one it sleeps for.
    pub(crate) timer_wake: Arc<Notify>,
    /// "Slack is down" for Socket Mode: `apps.connections.open` fails and upgrades are refused.
    pub(crate) refusing_connections: bool,
    /// Every new connection gets its hello, then a disconnect frame with this reason.
    turn_away: Option<String>,
    /// Connections opening and closing, in order.
    pub(crate) connection_log: Vec<ConnectionChange>,
    pub(crate) faults: Scripted<FaultKind>,
    /// Standing delays: every call to the method waits this long.
    pub(crate) delays: HashMap<String, Duration>,
    /// One-shot delays, used before the standing ones.
    pub(crate) delays_next: Scripted<Duration>,
    /// Where Slack's times (message ts, pin, file and topic times, event times) come from;
    /// `None`: the system clock.
    pub(crate) clock: Option<ClockFn>,
    /// Web API calls received per method, counted on arrival: a delayed call counts before it
    /// is answered (and recorded as an [`ApiCall`]).
    pub(crate) received: HashMap<String, usize>,
    trigger_counter: u64,
    pub(crate) triggers: HashMap<String, TriggerRecord>,
    response_counter: u64,
    /// Issued response-URL paths → where their posts go.
    pub(crate) response_targets: HashMap<String, ResponseTarget>,
    /// How much older than their wall-clock age response URLs count (tests age them at once).
    pub(crate) response_url_age: Duration,
    /// Slash-command envelope id → (channel id, user id), for acks with a message.
    pub(crate) command_targets: HashMap<String, (String, String)>,
    /// `view_submission` envelope id → the submitted view's id, for the ack's response_action.
    submissions: HashMap<String, String>,
    /// Each envelope's first ack (an ack's side effects happen once), for lookups that must not
    /// scan the event log: a benchmark waits on thousands of acks.
    pub(crate) first_acks: HashMap<String, Ack>,
    /// Acks that came after their delivery's deadline (Slack had given up on them).
    pub(crate) late_acks: usize,
    /// Views in the order they were opened or pushed.
    pub(crate) views: Vec<ViewRecord>,
    pub(crate) files: Vec<FileRecord>,
    pub(crate) usergroups: Vec<UsergroupRecord>,
    pub(crate) ephemerals: Vec<Ephemeral>,
    /// Other apps posting alerts: username → bot id.
    other_bots: HashMap<String, String>,
    /// The app's Events API subscriptions (`pin_added`, `message.channels`, …).
    subscriptions: Vec<String>,
    event_counter: u64,
    /// While a Web API call is being applied, the events it causes wait here, so they reach the
    /// bot (and the log) after the call's answer, as Slack sends them.
    deferred: Option<Vec<Envelope>>,
    /// Call seq → what the transcript needs beyond the recorded call.
    call_notes: HashMap<u64, CallNote>,
    /// Slack's HTTP transport: once given URLs, envelopes are POSTed there, not sent over
    /// Socket Mode.
    pub(crate) request_urls: RequestUrls,
    /// The workspaces (and Enterprise Grid orgs), where the app is installed, and its tokens.
    pub(crate) workspaces: Workspaces,
}

/// The system clock in Unix seconds (what Slack's clock reads unless a test gave it another).
pub(crate) fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Another clock for Slack's times, set with `SlackSimulator::use_clock`.
pub(crate) type ClockFn = std::sync::Arc<dyn Fn() -> chrono::DateTime<chrono::Utc> + Send + Sync>;

impl State {
    pub(crate) fn new(subscriptions: Vec<String>, timing: SocketTiming) -> Self {
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
            timing,
            deliveries: HashMap::new(),
            timers: BTreeMap::new(),
            timer_counter: 0,
            timer_wake: Arc::new(Notify::new()),
            refusing_connections: false,
            turn_away: None,
            connection_log: Vec::new(),
            faults: Scripted::new(),
            delays: HashMap::new(),
            delays_next: Scripted::new(),
            received: HashMap::new(),
            clock: None,
            trigger_counter: 0,
            triggers: HashMap::new(),
            response_counter: 0,
            response_targets: HashMap::new(),
            response_url_age: Duration::ZERO,
            command_targets: HashMap::new(),
            submissions: HashMap::new(),
            first_acks: HashMap::new(),
            late_acks: 0,
            views: Vec::new(),
            files: Vec::new(),
            usergroups: Vec::new(),
            ephemerals: Vec::new(),
            other_bots: HashMap::new(),
            subscriptions,
            event_counter: 0,
            deferred: None,
            call_notes: HashMap::new(),
            request_urls: RequestUrls::default(),
            workspaces: Workspaces::default(),
        };
        state.add_first_workspace();
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

    /// Slack's clock now, in Unix seconds.
    pub(crate) fn now(&self) -> i64 {
        self.clock
            .as_ref()
            .map_or_else(unix_now, |now| now().timestamp())
    }

    /// A message timestamp `"<unix secs>.<6-digit counter>"`, strictly increasing.
    pub(crate) fn next_ts(&mut self) -> String {
        let now = self.now();
        self.ts_counter += 1;
        if self.ts_counter > 999_999 {
            self.ts_counter = 1;
            self.ts_last_secs += 1;
        }
        self.ts_last_secs = self.ts_last_secs.max(now);
        format!("{}.{:06}", self.ts_last_secs, self.ts_counter)
    }

    /// A trigger id for an interaction by `user`.
    pub(crate) fn new_trigger_id(&mut self, user: &str) -> String {
        self.trigger_counter += 1;
        let id = format!(
            "{}.{}.sim{:08x}",
            self.trigger_counter,
            self.now(),
            rand::random::<u32>()
        );
        self.register_trigger(&id, user);
        id
    }

    fn register_trigger(&mut self, trigger_id: &str, user: &str) {
        self.triggers
            .entry(trigger_id.to_string())
            .or_insert(TriggerRecord {
                issued: Instant::now(),
                used: false,
                user: Some(user.to_string()).filter(|u| !u.is_empty()),
            });
    }

    /// A Slack-style Events API id, `Ev…`.
    fn new_event_id(&mut self) -> String {
        self.event_counter += 1;
        format!("Ev{:08}", self.event_counter)
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

    /// Adds (or renames) a user of the first workspace.
    pub(crate) fn add_user(&mut self, id: &str, name: &str, is_bot: bool) {
        self.add_user_in(TEAM_ID, id, name, is_bot);
    }

    /// Adds (or renames) a user of `team_id`. User ids are unique across workspaces, as Slack's
    /// are: a known id keeps its workspace.
    pub(crate) fn add_user_in(&mut self, team_id: &str, id: &str, name: &str, is_bot: bool) {
        match self.users.iter_mut().find(|u| u.id == id) {
            Some(user) => user.name = name.to_string(),
            None => self.users.push(UserRecord {
                id: id.to_string(),
                name: name.to_string(),
                is_bot,
                team_id: team_id.to_string(),
            }),
        }
    }

    pub(crate) fn user(&self, id: &str) -> Option<&UserRecord> {
        self.users.iter().find(|u| u.id == id)
    }

    /// The workspace of user `id` (the first workspace's for an unknown user).
    pub(crate) fn team_of_user(&self, id: &str) -> String {
        self.user(id)
            .map_or_else(|| TEAM_ID.to_string(), |u| u.team_id.clone())
    }

    /// The workspace of channel `id` (the first workspace's for an unknown channel).
    pub(crate) fn team_of_channel(&self, id: &str) -> String {
        self.channel(id)
            .map_or_else(|| TEAM_ID.to_string(), |c| c.team_id.clone())
    }

    /// Adds a channel to `team_id`; `bot_is_member` adds that workspace's bot user.
    pub(crate) fn add_channel(
        &mut self,
        team_id: &str,
        name: &str,
        is_private: bool,
        creator: &str,
        bot_is_member: bool,
    ) -> String {
        let id = self.new_id('C');
        let bot = self.bot_user_of(team_id);
        let mut members = vec![creator.to_string()];
        if bot_is_member && creator != bot {
            members.push(bot);
        }
        self.channels.push(ChannelRecord {
            id: id.clone(),
            team_id: team_id.to_string(),
            name: name.to_string(),
            is_private,
            creator: creator.to_string(),
            created: self.now(),
            members,
            topic: String::new(),
            topic_creator: String::new(),
            topic_last_set: 0,
            messages: Vec::new(),
            pins: Vec::new(),
            is_archived: false,
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

    /// Appends `message` (its `ts` is assigned here) to a channel, with the block and action ids
    /// Slack would give it; returns the ts. Emits nothing: see [`State::emit_message_event`].
    pub(crate) fn append_message(
        &mut self,
        channel_id: &str,
        mut message: Message,
    ) -> Option<String> {
        self.channel(channel_id)?;
        message.ts = self.next_ts();
        fill_block_ids(&mut message.blocks);
        let ts = message.ts.clone();
        self.channel_mut(channel_id)?.messages.push(message);
        Some(ts)
    }

    /// Emits the `message` event for the message `ts` in `channel_id`.
    pub(crate) fn emit_message_event(&mut self, channel_id: &str, ts: &str) -> Option<Envelope> {
        let event = shapes::message_event(self, channel_id, ts)?;
        self.emit_event(channel_id, event)
    }

    /// A message from the bot of workspace `team_id` with `text` and `blocks`.
    pub(crate) fn bot_message(&self, team_id: &str, text: String, blocks: Value) -> Message {
        Message {
            user: self.bot_user_of(team_id),
            text,
            blocks,
            subtype: Some("bot_message".to_string()),
            bot_id: Some(self.bot_id_of(team_id)),
            ..Message::default()
        }
    }

    /// The bot id of another app posting as `username` (one per name).
    pub(crate) fn other_bot_id(&mut self, username: &str) -> String {
        if let Some(id) = self.other_bots.get(username) {
            return id.clone();
        }
        let id = self.new_id('B');
        self.other_bots.insert(username.to_string(), id.clone());
        id
    }

    pub(crate) fn view(&self, id: &str) -> Option<&ViewRecord> {
        self.views.iter().find(|v| v.id == id)
    }

    pub(crate) fn view_mut(&mut self, id: &str) -> Option<&mut ViewRecord> {
        self.views.iter_mut().find(|v| v.id == id)
    }

    pub(crate) fn file(&self, id: &str) -> Option<&FileRecord> {
        self.files.iter().find(|f| f.id == id)
    }

    // --- the Events API ---

    /// Whether the app subscribed to the event type that `event` is delivered under.
    fn subscribed(&self, channel: &ChannelRecord, event: &Value) -> bool {
        let kind = event
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let name = if kind == "message" {
            if channel.is_private {
                "message.groups"
            } else {
                "message.channels"
            }
        } else {
            kind
        };
        self.subscriptions.iter().any(|s| s == name)
    }

    /// Sends `event` (something that happened in `channel_id`) to the bot as an `events_api`
    /// envelope, as Slack does when the app is installed in the channel's workspace, subscribes
    /// to the event's type and its bot user is a member of the channel. `None` when nothing is
    /// delivered. During a Web API call the envelope waits until the call is answered.
    pub(crate) fn emit_event(&mut self, channel_id: &str, event: Value) -> Option<Envelope> {
        let channel = self.channel(channel_id)?;
        let team = channel.team_id.clone();
        if !self.is_installed(&team)
            || !channel.is_member(&self.bot_user_of(&team))
            || !self.subscribed(channel, &event)
        {
            return None;
        }
        Some(self.emit_team_event(&team, event))
    }

    /// Sends `event` as an `event_callback` of workspace `team_id`, whatever the channel (the
    /// caller decided Slack delivers it).
    pub(crate) fn emit_team_event(&mut self, team_id: &str, event: Value) -> Envelope {
        let event_id = self.new_event_id();
        let authorization = self.authorization_of(team_id);
        let envelope = Envelope {
            envelope_id: uuid::Uuid::new_v4().to_string(),
            envelope_type: "events_api".to_string(),
            payload: shapes::event_callback(event, &event_id, self.now(), &authorization),
            accepts_response_payload: false,
        };
        match &mut self.deferred {
            Some(waiting) => waiting.push(envelope.clone()),
            None => self.send_envelope(envelope.clone()),
        }
        envelope
    }

    /// Whether the app subscribed to the (channel-less) event type `kind`.
    pub(crate) fn subscribed_to(&self, kind: &str) -> bool {
        self.subscriptions.iter().any(|s| s == kind)
    }

    /// Forgets the events of workspace `team_id` still waiting for a Socket Mode connection
    /// (the app was uninstalled there: Slack sends nothing more from it).
    pub(crate) fn forget_queued_of(&mut self, team_id: &str) {
        self.queue
            .retain(|e| e.payload.get("team_id").and_then(Value::as_str) != Some(team_id));
    }

    /// Holds events back until [`State::flush_events`] (a Web API call is being applied).
    pub(crate) fn defer_events(&mut self) {
        self.deferred.get_or_insert_with(Vec::new);
    }

    pub(crate) fn flush_events(&mut self) {
        for envelope in self.deferred.take().unwrap_or_default() {
            self.send_envelope(envelope);
        }
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
    /// bot message when it is `in_channel`; otherwise only `user` sees it, as an ephemeral
    /// (when it shows anything).
    pub(crate) fn post_reply(&mut self, channel_id: &str, user: &str, reply: &Value, via: &str) {
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
        if reply.get("response_type").and_then(Value::as_str) == Some("in_channel") {
            let team = self.team_of_channel(channel_id);
            let mut message = self.bot_message(&team, text, blocks);
            message.thread_ts = thread_ts;
            message.attachments = reply.get("attachments").cloned().unwrap_or(Value::Null);
            if let Some(ts) = self.append_message(channel_id, message) {
                self.emit_message_event(channel_id, &ts);
            }
        } else if !text.is_empty() || !blocks.is_null() {
            self.ephemerals.push(Ephemeral {
                channel: channel_id.to_string(),
                user: user.to_string(),
                text,
                blocks,
                thread_ts,
                via: via.to_string(),
            });
        }
    }

    /// A post to a response URL: answers the HTTP status and the text body Slack gives.
    pub(crate) fn response_url_post(&mut self, path: &str, body: &Value) -> (u16, &'static str) {
        let Some(target) = self.response_targets.get(path).cloned() else {
            return (404, "expired_url");
        };
        if target.issued.elapsed() + self.response_url_age > RESPONSE_URL_LIFETIME {
            return (404, "expired_url");
        }
        if target.uses >= RESPONSE_URL_USES {
            return (404, "used_url");
        }
        if let Some(blocks) = body.get("blocks").filter(|b| !b.is_null()) {
            let mut problems = super::blocks::Problems::default();
            match blocks.as_array() {
                Some(blocks) => super::blocks::check_blocks(
                    blocks,
                    super::blocks::Surface::Message,
                    "/blocks",
                    &mut problems,
                ),
                None => return (400, "invalid_blocks_format"),
            }
            if !problems.is_empty() {
                return (400, "invalid_blocks");
            }
        }
        let flag = |key: &str| match body.get(key) {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s == "true",
            _ => false,
        };
        match &target.message_ts {
            Some(ts) if flag("delete_original") => {
                self.delete_message(&target.channel, ts);
            }
            Some(ts) if flag("replace_original") => {
                let text = body.get("text").and_then(Value::as_str).map(str::to_string);
                let blocks = body.get("blocks").cloned();
                self.change_message(&target.channel, ts, None, |m| {
                    if let Some(text) = text {
                        m.text = text;
                    }
                    m.blocks = blocks.unwrap_or(Value::Null);
                });
            }
            _ => self.post_reply(&target.channel, &target.user, body, "response_url"),
        }
        if let Some(target) = self.response_targets.get_mut(path) {
            target.uses += 1;
        }
        (200, "ok")
    }

    /// Changes a stored message with `change` and emits `message_changed`. `editor`: who edited
    /// it (shown as `edited`), `None` for an app replacing its own message through a response URL
    /// (Slack marks those unedited).
    pub(crate) fn change_message(
        &mut self,
        channel_id: &str,
        ts: &str,
        editor: Option<&str>,
        change: impl FnOnce(&mut Message),
    ) -> Option<Envelope> {
        let edited_ts = self.next_ts();
        let channel = self.channel_mut(channel_id)?;
        let message = channel.message_mut(ts)?;
        let previous = message.clone();
        change(message);
        fill_block_ids(&mut message.blocks);
        if let Some(editor) = editor {
            message.edited = Some(super::Edited {
                user: editor.to_string(),
                ts: edited_ts.clone(),
            });
        }
        let event = shapes::message_changed_event(self, channel_id, &previous, &edited_ts)?;
        self.emit_event(channel_id, event)
    }

    /// Deletes a message (and its pin, as Slack does) and emits `message_deleted`.
    pub(crate) fn delete_message(&mut self, channel_id: &str, ts: &str) -> Option<Envelope> {
        let event_ts = self.next_ts();
        let channel = self.channel_mut(channel_id)?;
        let index = channel.messages.iter().position(|m| m.ts == ts)?;
        let previous = channel.messages.remove(index);
        channel
            .pins
            .retain(|p| p.item != PinItem::Message(ts.to_string()));
        let event = shapes::message_deleted_event(self, channel_id, &previous, &event_ts)?;
        self.emit_event(channel_id, event)
    }

    // --- faults ---

    /// How long this call to `method` waits: a one-shot delay if one is left, else the standing
    /// delay, if any.
    pub(crate) fn take_delay(&mut self, method: &str) -> Option<Duration> {
        self.delays_next
            .take(method)
            .or_else(|| self.delays.get(method).copied())
    }
}

/// Slack stores every block with a `block_id`, and every interactive element of an actions
/// block, section accessory or input block with an `action_id`, generating missing ones.
pub(crate) fn fill_block_ids(blocks: &mut Value) {
    let Some(blocks) = blocks.as_array_mut() else {
        return;
    };
    for block in blocks {
        let Some(object) = block.as_object_mut() else {
            continue;
        };
        if !object.get("block_id").is_some_and(Value::is_string) {
            object.insert("block_id".into(), json!(short_id()));
        }
        let kind = object
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let elements: Vec<&mut Value> = match kind.as_str() {
            "actions" => object
                .get_mut("elements")
                .and_then(Value::as_array_mut)
                .map(|items| items.iter_mut().collect())
                .unwrap_or_default(),
            "section" => object.get_mut("accessory").into_iter().collect(),
            "input" => object.get_mut("element").into_iter().collect(),
            _ => Vec::new(),
        };
        for element in elements {
            if let Some(element) = element.as_object_mut()
                && !element.get("action_id").is_some_and(Value::is_string)
            {
                element.insert("action_id".into(), json!(short_id()));
            }
        }
    }
}

/// An id like the ones Slack generates for blocks and actions without one (`aB3xZ`).
pub(crate) fn short_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..5)
        .map(|_| char::from(ALPHABET[rand::random_range(0..ALPHABET.len())]))
        .collect()
}
