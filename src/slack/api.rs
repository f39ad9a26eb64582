//! Outbound Slack Web API calls, in the bot's own terms.
//!
//! Every call is wrapped in a timeout (slack-morphism has none), mapped to [`SlackError`], and
//! logged with its method name only — never a token or a message body. The connector speaks
//! `http://` as well as `https://` (HTTP/1.1 and HTTP/2) so `SLACK_API_URL` may point at a local
//! simulator or proxy; production uses `https://slack.com/api`.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;
use tracing::{debug, warn};

use super::blocks;
use crate::config::expose;
use crate::domain::message::Message;
use crate::domain::modal::Modal;
use crate::http::Metrics;

/// The metadata `event_type` every post of the bot carries, with its key in the payload.
pub const POST_MARK: &str = "incident_commander_post";
/// How many of a channel's (or thread's) newest messages a look for a lost post reads.
pub const LOOK_BACK: u16 = 100;

/// Who the bot is in this workspace (from `auth.test`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotIdentity {
    pub user_id: String,
    pub team_id: String,
    pub team: String,
}

/// A channel as far as the bot cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRef {
    pub id: String,
    pub name: String,
    pub creator: Option<String>,
}

/// What `conversations.info` says of a channel the bot may adopt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelFacts {
    pub name: String,
    pub member: bool,
    pub private: bool,
    pub archived: bool,
}

/// A pinned item as `pins.list` shows it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedPin {
    /// The message's `ts`; `None` for a file pin.
    pub ts: Option<String>,
    /// When the message (or file) was posted.
    pub posted_at: Option<DateTime<Utc>>,
    /// The person who wrote it; `None` for a bot.
    pub author: Option<String>,
    /// How a bot signs (`Alertmanager`).
    pub author_label: Option<String>,
    /// Everything it says now, edits included (text, attachments, blocks), as Slack mrkdwn.
    pub text: String,
    pub permalink: Option<String>,
    pub pinned_at: Option<DateTime<Utc>>,
    pub pinned_by: Option<String>,
    /// A file pin's name and link.
    pub file: Option<(String, Option<String>)>,
}

/// Why a Slack call did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlackError {
    /// Slack answered `ok: false` with this error code.
    #[error("{code}")]
    Api { code: String },
    /// HTTP 429: wait this long before calling the method again.
    #[error("rate limited (Retry-After {}s)", .0.as_secs())]
    RateLimited(Duration),
    /// No answer within the timeout.
    #[error("no answer within {}s", .0.as_secs())]
    Timeout(Duration),
    /// The request did not complete: connection refused, HTTP 5xx, an unreadable body.
    #[error("{0}")]
    Transport(String),
}

impl SlackError {
    /// Worth retrying: the same call may succeed later. Slack's `internal_error` and
    /// `fatal_error` may have half-happened, which is why every step is idempotent.
    pub fn is_transient(&self) -> bool {
        match self {
            SlackError::Api { code } => matches!(
                code.as_str(),
                "internal_error"
                    | "fatal_error"
                    | "service_unavailable"
                    | "request_timeout"
                    | "ratelimited"
            ),
            SlackError::RateLimited(_) | SlackError::Timeout(_) | SlackError::Transport(_) => true,
        }
    }

    /// How long Slack asked us to wait, for 429s.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            SlackError::RateLimited(d) => Some(*d),
            _ => None,
        }
    }

    /// The Slack error code, for `ok: false` answers.
    pub fn code(&self) -> Option<&str> {
        match self {
            SlackError::Api { code } => Some(code),
            _ => None,
        }
    }

    fn from_client(err: SlackClientError) -> SlackError {
        match err {
            SlackClientError::ApiError(e) => SlackError::Api { code: e.code },
            // A 429 without Retry-After: Slack's docs say to back off; one second is the floor.
            SlackClientError::RateLimitError(e) => {
                SlackError::RateLimited(e.retry_after.unwrap_or(Duration::from_secs(1)))
            }
            SlackClientError::HttpError(e) => {
                SlackError::Transport(format!("HTTP {}", e.status_code))
            }
            SlackClientError::ProtocolError(e) => {
                SlackError::Transport(format!("unreadable answer: {}", e.json_error))
            }
            SlackClientError::HttpProtocolError(_) => {
                SlackError::Transport("connection failed".into())
            }
            SlackClientError::EndOfStream(_) => SlackError::Transport("connection closed".into()),
            SlackClientError::SocketModeProtocolError(e) => SlackError::Transport(e.message),
            SlackClientError::SystemError(e) => {
                SlackError::Transport(e.message.unwrap_or_else(|| "system error".into()))
            }
        }
    }
}

/// Builds the HTTP client every Slack call (and Socket Mode) goes through.
pub fn client(api_url: &url::Url) -> std::io::Result<Arc<SlackHyperClient>> {
    let base = api_url.as_str().trim_end_matches('/');
    let connector =
        SlackClientHyperConnector::with_connector(https_connector()).with_slack_api_url(base);
    Ok(Arc::new(SlackClient::new(connector)))
}

/// The connector: `http://` and `https://`, HTTP/1.1 and HTTP/2.
pub(super) fn https_connector()
-> hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector> {
    let builder = hyper_rustls::HttpsConnectorBuilder::new();
    // Native roots honour a corporate CA; where the machine has none, Mozilla's set still lets
    // the bot reach slack.com.
    let builder = match builder.with_native_roots() {
        Ok(b) => b,
        Err(_) => hyper_rustls::HttpsConnectorBuilder::new().with_webpki_roots(),
    };
    builder
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .build()
}

/// A Web API call made without slack-morphism, where its models cannot send or read what the
/// call needs (`auth.test`'s `x-oauth-scopes` header, `oauth.v2.access` with Basic auth): a
/// form POST on the same connector, answered with its status, headers and whole body.
#[derive(Clone)]
pub(super) struct RawPost {
    http: hyper_util::client::legacy::Client<
        hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
        http_body_util::Full<hyper::body::Bytes>,
    >,
}

/// What a [`RawPost`] was answered.
pub(super) struct RawAnswer {
    pub status: hyper::StatusCode,
    pub headers: hyper::HeaderMap,
    pub body: hyper::body::Bytes,
}

impl RawPost {
    pub(super) fn new() -> RawPost {
        RawPost {
            http: hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build(https_connector()),
        }
    }

    /// POSTs the form `body` to `uri` with `authorization`, within `timeout`.
    pub(super) async fn post(
        &self,
        uri: String,
        authorization: String,
        body: String,
        timeout: Duration,
    ) -> Result<RawAnswer, SlackError> {
        use http_body_util::BodyExt;
        let request = hyper::Request::post(uri)
            .header(hyper::header::AUTHORIZATION, authorization)
            .header(
                hyper::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(http_body_util::Full::new(hyper::body::Bytes::from(body)))
            .map_err(|_| SlackError::Transport("the request could not be built".into()))?;
        let call = async {
            let response = self
                .http
                .request(request)
                .await
                .map_err(|_| SlackError::Transport("connection failed".into()))?;
            let (parts, body) = response.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|_| SlackError::Transport("connection closed".into()))?
                .to_bytes();
            Ok(RawAnswer {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(timeout, call)
            .await
            .map_err(|_| SlackError::Timeout(timeout))?
    }
}

/// TLS for Socket Mode's `wss://` connections, trusting the same roots as [`https_connector`].
pub(crate) fn tls_config() -> Arc<rustls::ClientConfig> {
    use hyper_rustls::ConfigBuilderExt;
    let builder = rustls::ClientConfig::builder();
    let roots = match builder.clone().with_native_roots() {
        Ok(roots) => roots,
        Err(_) => builder.with_webpki_roots(),
    };
    Arc::new(roots.with_no_client_auth())
}

/// The bot's Web API client: its token, its timeout, and the app's metrics it counts calls in.
#[derive(Clone)]
pub struct SlackApi {
    client: Arc<SlackHyperClient>,
    token: SlackApiToken,
    timeout: Duration,
    /// The app's recorder (a throwaway one unless [`SlackApi::with_metrics`] was called); the
    /// Socket Mode listener records into it too.
    metrics: Metrics,
}

impl SlackApi {
    pub fn new(
        client: Arc<SlackHyperClient>,
        bot_token: &SecretString,
        timeout: Duration,
    ) -> SlackApi {
        SlackApi {
            client,
            token: SlackApiToken::new(expose(bot_token).to_string().into()),
            timeout,
            metrics: Metrics::default(),
        }
    }

    /// The same client, timeout and recorder, calling with another workspace's bot token.
    pub fn with_token(&self, bot_token: &SecretString) -> SlackApi {
        SlackApi {
            client: self.client.clone(),
            token: SlackApiToken::new(expose(bot_token).to_string().into()),
            timeout: self.timeout,
            metrics: self.metrics.clone(),
        }
    }

    /// The same client, counting its calls (and its listener's envelopes) in `metrics`.
    pub fn with_metrics(self, metrics: Metrics) -> SlackApi {
        SlackApi { metrics, ..self }
    }

    /// The metrics this client records into.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    async fn call<T>(
        &self,
        method: &'static str,
        request: impl Future<Output = ClientResult<T>>,
    ) -> Result<T, SlackError> {
        let result = match tokio::time::timeout(self.timeout, request).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(SlackError::from_client(err)),
            Err(_) => Err(SlackError::Timeout(self.timeout)),
        };
        match &result {
            Ok(_) => debug!(slack.method = method, "slack call ok"),
            Err(e) => warn!(slack.method = method, error = %e, "slack call failed"),
        }
        record_call(&self.metrics, method, &result);
        result
    }

    /// Who the token belongs to; fails with `invalid_auth` for a bad token.
    pub async fn auth_test(&self) -> Result<BotIdentity, SlackError> {
        let session = self.client.open_session(&self.token);
        let r = self.call("auth.test", session.auth_test()).await?;
        Ok(BotIdentity {
            user_id: r.user_id.to_string(),
            team_id: r.team_id.to_string(),
            team: r.team,
        })
    }

    /// Whether Slack accepts `app_token` for Socket Mode (`apps.connections.open`, which only
    /// hands out a connection URL; nothing connects). For `incident-commander check`.
    pub async fn check_app_token(&self, app_token: &SecretString) -> Result<(), SlackError> {
        self.socket_url(app_token).await.map(drop)
    }

    /// A new Socket Mode WebSocket URL (`apps.connections.open` with the app-level token):
    /// `wss://…/link/?ticket=…`, good for one connection. The ticket is a credential for that
    /// connection: the URL is never logged.
    pub async fn socket_url(&self, app_token: &SecretString) -> Result<String, SlackError> {
        let token = SlackApiToken::new(expose(app_token).to_string().into());
        let session = self.client.open_session(&token);
        let req = SlackApiAppsConnectionOpenRequest::new();
        self.call("apps.connections.open", session.apps_connections_open(&req))
            .await
            .map(|r| r.url.value().to_string())
    }

    /// `conversations.info`: the channel's name and whether the bot is a member.
    pub async fn channel_membership(&self, id: &str) -> Result<(String, bool), SlackError> {
        let session = self.client.open_session(&self.token);
        let req = SlackApiConversationsInfoRequest::new(id.into());
        let r = self
            .call("conversations.info", session.conversations_info(&req))
            .await?;
        let name = r.channel.name.clone().unwrap_or_else(|| id.to_string());
        let member = r.channel.flags.is_member.unwrap_or(false);
        Ok((name, member))
    }

    /// `conversations.info`: the channel's name, whether the bot is a member and whether it is
    /// private (a private channel the bot is not in is `channel_not_found`).
    pub async fn channel_facts(&self, id: &str) -> Result<ChannelFacts, SlackError> {
        let session = self.client.open_session(&self.token);
        let req = SlackApiConversationsInfoRequest::new(id.into());
        let r = self
            .call("conversations.info", session.conversations_info(&req))
            .await?;
        Ok(ChannelFacts {
            name: r.channel.name.clone().unwrap_or_else(|| id.to_string()),
            member: r.channel.flags.is_member.unwrap_or(false),
            private: r.channel.flags.is_private.unwrap_or(false),
            archived: r.channel.flags.is_archived.unwrap_or(false),
        })
    }

    /// `conversations.create`. `name_taken` comes back as `SlackError::Api`.
    pub async fn create_channel(
        &self,
        name: &str,
        private: bool,
    ) -> Result<ChannelRef, SlackError> {
        let session = self.client.open_session(&self.token);
        let req =
            SlackApiConversationsCreateRequest::new(name.to_string()).with_is_private(private);
        let r = self
            .call("conversations.create", session.conversations_create(&req))
            .await?;
        Ok(channel_ref(r.channel, name))
    }

    /// Finds a live channel by exact name among those the bot can see (`conversations.list`,
    /// paged). Used only on the rare retry path, so its cost does not matter.
    pub async fn find_channel(&self, name: &str) -> Result<Option<ChannelRef>, SlackError> {
        let session = self.client.open_session(&self.token);
        let mut cursor: Option<SlackCursorId> = None;
        for _ in 0..100 {
            let mut req = SlackApiConversationsListRequest::new()
                .with_exclude_archived(true)
                .with_limit(1000)
                .with_types(vec![
                    SlackConversationType::Public,
                    SlackConversationType::Private,
                ]);
            if let Some(c) = cursor.take() {
                req = req.with_cursor(c);
            }
            let page = self
                .call("conversations.list", session.conversations_list(&req))
                .await?;
            if let Some(found) = page
                .channels
                .into_iter()
                .find(|c| c.name.as_deref() == Some(name))
            {
                return Ok(Some(channel_ref(found, name)));
            }
            match page.response_metadata.and_then(|m| m.next_cursor) {
                Some(next) if !next.0.is_empty() => cursor = Some(next),
                _ => return Ok(None),
            }
        }
        Ok(None)
    }

    /// `conversations.invite`; users already in the channel count as invited.
    pub async fn invite(&self, channel: &str, users: &[String]) -> Result<(), SlackError> {
        if users.is_empty() {
            return Ok(());
        }
        let session = self.client.open_session(&self.token);
        let req = SlackApiConversationsInviteRequest::new(
            channel.into(),
            users.iter().map(|u| u.clone().into()).collect(),
        );
        match self
            .call("conversations.invite", session.conversations_invite(&req))
            .await
        {
            Ok(_) => Ok(()),
            Err(SlackError::Api { code }) if code == "already_in_channel" => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `conversations.archive`; a channel archived already counts as archived.
    pub async fn archive(&self, channel: &str) -> Result<(), SlackError> {
        let session = self.client.open_session(&self.token);
        let req = SlackApiConversationsArchiveRequest::new(channel.into());
        match self
            .call("conversations.archive", session.conversations_archive(&req))
            .await
        {
            Ok(_) => Ok(()),
            Err(SlackError::Api { code }) if code == "already_archived" => Ok(()),
            Err(e) => Err(e),
        }
    }

    pub async fn set_topic(&self, channel: &str, topic: &str) -> Result<(), SlackError> {
        let session = self.client.open_session(&self.token);
        let req = SlackApiConversationsSetTopicRequest::new(channel.into(), topic.to_string());
        self.call(
            "conversations.setTopic",
            session.conversations_set_topic(&req),
        )
        .await
        .map(|_| ())
    }

    /// `chat.postMessage` in `channel` — a reply in the thread of `thread_ts` when given —
    /// carrying `key` in the message's metadata ([`POST_MARK`]), so that the post can be found
    /// again with [`SlackApi::find_post`] when the answer to this call is lost. Returns its `ts`.
    pub async fn post(
        &self,
        channel: &str,
        thread_ts: Option<&str>,
        message: &Message,
        key: &str,
    ) -> Result<String, SlackError> {
        let session = self.client.open_session(&self.token);
        let mut content = blocks::content(message);
        content.metadata = Some(SlackMessageMetadata {
            event_type: POST_MARK.to_string(),
            event_payload: Some([("key".to_string(), key.to_string())].into()),
        });
        let mut req = SlackApiChatPostMessageRequest::new(channel.into(), content);
        if let Some(ts) = thread_ts {
            req = req.with_thread_ts(ts.to_string().into());
        }
        let r = self
            .call("chat.postMessage", session.chat_post_message(&req))
            .await?;
        Ok(r.ts.to_string())
    }

    /// The `ts` of the bot's post carrying `key` ([`SlackApi::post`]) among the newest
    /// [`LOOK_BACK`] messages of `channel` (`conversations.history`), or of the thread of
    /// `thread_ts` (`conversations.replies`), if it is there: a post whose answer was lost is
    /// adopted instead of repeated.
    pub async fn find_post(
        &self,
        channel: &str,
        thread_ts: Option<&str>,
        key: &str,
    ) -> Result<Option<String>, SlackError> {
        let messages = self.recent_messages(channel, thread_ts).await?;
        Ok(messages
            .iter()
            .find(|m| {
                m.pointer("/metadata/event_type").and_then(|t| t.as_str()) == Some(POST_MARK)
                    && m.pointer("/metadata/event_payload/key")
                        .and_then(|k| k.as_str())
                        == Some(key)
            })
            .and_then(|m| m.get("ts").and_then(|t| t.as_str()))
            .map(str::to_string))
    }

    /// The id of a file titled `title` shared in `channel` among its newest [`LOOK_BACK`]
    /// messages, if there is one: an upload whose completion answer was lost is adopted.
    pub async fn find_file(
        &self,
        channel: &str,
        title: &str,
    ) -> Result<Option<String>, SlackError> {
        let messages = self.recent_messages(channel, None).await?;
        Ok(messages
            .iter()
            .filter_map(|m| m.get("files").and_then(|f| f.as_array()))
            .flatten()
            .find(|f| f.get("title").and_then(|t| t.as_str()) == Some(title))
            .and_then(|f| f.get("id").and_then(|id| id.as_str()))
            .map(str::to_string))
    }

    /// The newest [`LOOK_BACK`] messages of a channel, or of a thread, with their metadata. Read
    /// as JSON: slack-morphism's `conversations.replies` request lacks `include_all_metadata`.
    async fn recent_messages(
        &self,
        channel: &str,
        thread_ts: Option<&str>,
    ) -> Result<Vec<serde_json::Value>, SlackError> {
        let limit = LOOK_BACK.to_string();
        let mut params = vec![
            ("channel", channel),
            ("limit", limit.as_str()),
            ("include_all_metadata", "true"),
        ];
        let answer = match thread_ts {
            Some(ts) => {
                params.push(("ts", ts));
                let replies = self.get_json("conversations.replies", &params);
                self.call("conversations.replies", replies).await?
            }
            None => {
                let history = self.get_json("conversations.history", &params);
                self.call("conversations.history", history).await?
            }
        };
        Ok(answer
            .get("messages")
            .and_then(|m| m.as_array())
            .cloned()
            .unwrap_or_default())
    }

    /// `chat.update`: replaces the bot's message `ts` with `message`.
    pub async fn update(
        &self,
        channel: &str,
        ts: &str,
        message: &Message,
    ) -> Result<(), SlackError> {
        let session = self.client.open_session(&self.token);
        let req = SlackApiChatUpdateRequest::new(
            channel.into(),
            blocks::content(message),
            ts.to_string().into(),
        );
        self.call("chat.update", session.chat_update(&req))
            .await
            .map(drop)
    }

    /// `usergroups.users.list`: the members of a user group.
    pub async fn usergroup_members(&self, group: &str) -> Result<Vec<String>, SlackError> {
        let session = self.client.open_session(&self.token);
        let req = SlackApiUserGroupsUsersListRequest::new(group.to_string().into());
        let r = self
            .call("usergroups.users.list", session.usergroups_users_list(&req))
            .await?;
        Ok(r.users.into_iter().map(|u| u.to_string()).collect())
    }

    /// `pins.add`; a message already pinned counts as pinned.
    pub async fn pin(&self, channel: &str, ts: &str) -> Result<(), SlackError> {
        let session = self.client.open_session(&self.token);
        let req = SlackApiPinsAddRequest::new(channel.into(), ts.to_string().into());
        match self.call("pins.add", session.pins_add(&req)).await {
            Ok(_) => Ok(()),
            Err(SlackError::Api { code }) if code == "already_pinned" => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `views.open`: opens `modal` for the person whose action gave `trigger_id` (valid 3 s,
    /// once). Returns the view's id.
    pub async fn open_modal(&self, trigger_id: &str, modal: &Modal) -> Result<String, SlackError> {
        let session = self.client.open_session(&self.token);
        let req = SlackApiViewsOpenRequest::new(trigger_id.to_string().into(), blocks::view(modal));
        let r = self.call("views.open", session.views_open(&req)).await?;
        Ok(r.view.state_params.id.to_string())
    }

    /// `chat.getPermalink`: a link to the message `ts` in `channel`.
    pub async fn permalink(&self, channel: &str, ts: &str) -> Result<String, SlackError> {
        let session = self.client.open_session(&self.token);
        let req = SlackApiChatGetPermalinkRequest::new(channel.into(), ts.to_string().into());
        let r = self
            .call("chat.getPermalink", session.chat_get_permalink(&req))
            .await?;
        Ok(r.permalink.to_string())
    }

    /// `conversations.join`: the bot joins a public channel (to reply in it).
    pub async fn join(&self, channel: &str) -> Result<(), SlackError> {
        let session = self.client.open_session(&self.token);
        let req = SlackApiConversationsJoinRequest::new(channel.into());
        self.call("conversations.join", session.conversations_join(&req))
            .await
            .map(drop)
    }

    /// `pins.list`: what is pinned in `channel` now. Read as JSON: slack-morphism's pin type
    /// has no file items.
    pub async fn pins(&self, channel: &str) -> Result<Vec<ListedPin>, SlackError> {
        let answer = self
            .call(
                "pins.list",
                self.get_json("pins.list", &[("channel", channel)]),
            )
            .await?;
        Ok(super::answers::listed_pins(&answer))
    }

    /// `usergroups.list`: every user group's handle (`dba-oncall`) by id.
    pub async fn usergroup_handles(&self) -> Result<HashMap<String, String>, SlackError> {
        let answer = self
            .call("usergroups.list", self.get_json("usergroups.list", &[]))
            .await?;
        Ok(answer
            .get("usergroups")
            .and_then(|g| g.as_array())
            .into_iter()
            .flatten()
            .filter_map(|g| {
                let id = g.get("id")?.as_str()?;
                let handle = g.get("handle")?.as_str()?;
                Some((id.to_string(), handle.to_string()))
            })
            .collect())
    }

    /// `users.info`: the name a person shows in Slack (display name, else real name).
    pub async fn user_name(&self, user: &str) -> Result<Option<String>, SlackError> {
        let answer = self
            .call("users.info", self.get_json("users.info", &[("user", user)]))
            .await?;
        Ok(answer.get("user").and_then(super::answers::user_name))
    }

    /// A GET method, its answer as JSON (for answers slack-morphism does not model in full).
    /// Callers wrap it in [`SlackApi::call`].
    async fn get_json(
        &self,
        method: &str,
        params: &[(&str, &str)],
    ) -> ClientResult<serde_json::Value> {
        let session = self.client.open_session(&self.token);
        let params: Vec<(&str, Option<&str>)> =
            params.iter().map(|(k, v)| (*k, Some(*v))).collect();
        session
            .http_session_api
            .http_get(method, &params, None)
            .await
    }

    /// Files upload v2: `files.getUploadURLExternal`, the bytes to the URL it gave, then
    /// `files.completeUploadExternal` sharing the file in `channel` with `comment`. Returns the
    /// file's id.
    pub async fn upload(
        &self,
        channel: &str,
        filename: &str,
        title: &str,
        content: &[u8],
        comment: &str,
    ) -> Result<String, SlackError> {
        let session = self.client.open_session(&self.token);
        let req = SlackApiFilesGetUploadUrlExternalRequest::new(filename.into(), content.len());
        let url = self
            .call(
                "files.getUploadURLExternal",
                session.get_upload_url_external(&req),
            )
            .await?;
        let bytes = SlackApiFilesUploadViaUrlRequest::new(
            url.upload_url,
            content.to_vec(),
            "text/markdown".into(),
        );
        self.call("upload_url", session.files_upload_via_url(&bytes))
            .await?;
        let req = SlackApiFilesCompleteUploadExternalRequest::new(vec![
            SlackApiFilesComplete::new(url.file_id.clone()).with_title(title.into()),
        ])
        .with_channel_id(channel.into())
        .with_initial_comment(comment.into());
        self.call(
            "files.completeUploadExternal",
            session.files_complete_upload_external(&req),
        )
        .await?;
        Ok(url.file_id.to_string())
    }

    /// Answers the user who issued a command, ephemerally, through its `response_url`.
    pub async fn respond(&self, response_url: &str, text: &str) -> Result<(), SlackError> {
        let url: url::Url = response_url
            .parse()
            .map_err(|_| SlackError::Transport("invalid response_url".into()))?;
        let req = SlackApiPostWebhookMessageRequest::new(blocks::text(text));
        self.call(
            "response_url",
            self.client
                .respond_to_event(&SlackResponseUrl::new(url), &req),
        )
        .await
        .map(|_| ())
    }
}

/// Counts a call by method, and its failure by kind (`/metrics`).
fn record_call<T>(metrics: &Metrics, method: &'static str, result: &Result<T, SlackError>) {
    metrics.count(
        "incident_commander_slack_calls_total",
        &[("method", method)],
    );
    let Err(e) = result else { return };
    let error = match e {
        SlackError::Api { code } => code.clone(),
        SlackError::RateLimited(_) => {
            let limited = "incident_commander_slack_rate_limited_total";
            metrics.count(limited, &[("method", method)]);
            "ratelimited".to_string()
        }
        SlackError::Timeout(_) => "timeout".to_string(),
        SlackError::Transport(_) => "transport".to_string(),
    };
    let labels = [("method", method), ("error", error.as_str())];
    metrics.count("incident_commander_slack_errors_total", &labels);
}

fn channel_ref(info: SlackChannelInfo, requested: &str) -> ChannelRef {
    ChannelRef {
        id: info.id.to_string(),
        name: info.name.unwrap_or_else(|| requested.to_string()),
        creator: info.creator.map(|c| c.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_mode_tls_builds_with_the_process_provider() {
        crate::install_crypto_provider();
        let config = tls_config();
        assert!(
            config.alpn_protocols.is_empty(),
            "a WebSocket upgrade is HTTP/1.1: no ALPN"
        );
    }

    #[test]
    fn slack_errors_are_classified_for_retry() {
        let api = |c: &str| SlackError::Api { code: c.into() };
        assert!(api("internal_error").is_transient());
        assert!(api("fatal_error").is_transient());
        assert!(!api("name_taken").is_transient());
        assert!(!api("invalid_auth").is_transient());
        assert!(!api("channel_not_found").is_transient());
        assert!(SlackError::Timeout(Duration::from_secs(10)).is_transient());
        let limited = SlackError::RateLimited(Duration::from_secs(3));
        assert!(limited.is_transient());
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(3)));
        assert_eq!(limited.to_string(), "rate limited (Retry-After 3s)");
    }
}
