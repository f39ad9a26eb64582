//! Installing in a workspace through Slack's OAuth v2 flow
//! (<https://docs.slack.dev/authentication/installing-with-oauth>):
//!
//! 1. `GET /slack/install` sends the browser (302) to Slack's authorize page with the app's
//!    client id, the bot scopes the manifest asks for, a fresh **state** and the redirect URL
//!    (`PUBLIC_URL` + `/slack/oauth_redirect`).
//! 2. Whoever installs approves in Slack, and Slack sends the browser back to
//!    `GET /slack/oauth_redirect?code=…&state=…` (or `?error=access_denied`).
//! 3. The state is verified (a forged, altered or expired one is a 400 and nothing is
//!    exchanged), the code is exchanged with `oauth.v2.access` for the bot token ([`exchange`]),
//!    and the [`Grant`] is handed to the application's [`Installs`] port, which seals and
//!    records it. The browser gets a short page saying what happened.
//!
//! **The state** is `<expires, unix seconds>.<random nonce>.<hex HMAC-SHA256 of the first two
//! parts with SLACK_STATE_SECRET>`: valid for ten minutes, checked in constant time, made and
//! checked by any replica that shares the secret (no storage).
//!
//! **`oauth.v2.access`** is called here rather than through slack-morphism: its
//! `oauth2_access` models neither the refresh grant nor the answer's `refresh_token`,
//! `expires_in`, `enterprise` and `is_enterprise_install` (and needs `team`, which an org-wide
//! install answers as `null`), and it sends the code in the URL of a GET. The request is a form
//! POST on the same connector as every Slack call (`SLACK_API_URL`, so the simulator works),
//! with the client credentials as HTTP Basic auth, as Slack recommends; its `ok: false` errors
//! become [`SlackError::Api`] like every other call's. [`refresh`] is the same call with
//! `grant_type=refresh_token`, for token rotation.
//!
//! Nothing here stores anything; no page and no error shows a token, a code or a secret.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tracing::{debug, info, warn};
use url::Url;

use super::api::{RawPost, SlackError};
use super::events_api::Now;
use crate::config::workspaces::{INSTALL_PATH, OAuth, REDIRECT_PATH};
use crate::manifest;

/// How long an install link's state is honoured (Slack's authorize page is quick; ten minutes
/// leaves time to choose a workspace and read the scopes).
pub const STATE_TTL_SECONDS: i64 = 10 * 60;

/// The Web API method that exchanges a code (or a refresh token) for tokens.
pub const ACCESS_METHOD: &str = "oauth.v2.access";

/// What Slack granted: an installation's identity and tokens, from `oauth.v2.access`.
#[derive(Clone)]
pub struct Grant {
    /// The workspace (`T…`), or for an org-wide install the organisation (`E…`).
    pub team_id: String,
    /// The workspace's name (the organisation's, for an org-wide install).
    pub team_name: String,
    pub enterprise_id: Option<String>,
    pub enterprise_name: Option<String>,
    /// Installed on a whole Enterprise Grid organisation.
    pub is_enterprise_install: bool,
    pub bot_user_id: String,
    /// The bot scopes granted.
    pub scopes: Vec<String>,
    /// Who installed (or, for a refresh, who once did, when Slack says).
    pub installer: Option<String>,
    pub bot_token: SecretString,
    /// With token rotation only.
    pub refresh_token: Option<SecretString>,
    /// With token rotation only: how long the bot token lives from now.
    pub expires_in: Option<Duration>,
}

impl fmt::Debug for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Grant")
            .field("team_id", &self.team_id)
            .field("team_name", &self.team_name)
            .field("enterprise_id", &self.enterprise_id)
            .field("enterprise_name", &self.enterprise_name)
            .field("is_enterprise_install", &self.is_enterprise_install)
            .field("bot_user_id", &self.bot_user_id)
            .field("scopes", &self.scopes)
            .field("installer", &self.installer)
            .field("bot_token", &"[REDACTED]")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[REDACTED]"),
            )
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// The application's side of an installation: record what Slack granted.
#[async_trait::async_trait]
pub trait Installs: Send + Sync + 'static {
    /// Records `grant`. `Ok` carries the name to show the installer (the workspace's, as
    /// recorded); `Err` a short reason to show them (never a token).
    async fn installed(&self, grant: Grant) -> Result<String, String>;
}

/// The HTTP client `oauth.v2.access` is called with: the connector every Slack call uses, and
/// `SLACK_TIMEOUT`.
#[derive(Clone)]
pub struct OAuthClient {
    raw: RawPost,
    timeout: Duration,
}

impl OAuthClient {
    pub fn new(timeout: Duration) -> OAuthClient {
        OAuthClient {
            raw: RawPost::new(),
            timeout,
        }
    }
}

impl fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthClient")
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Slack's authorize page for `oauth` with `state`: the client id, the manifest's bot scopes
/// (comma-separated), the state and the redirect URL.
pub fn authorize_url(oauth: &OAuth, state: &str) -> String {
    let mut url = oauth.authorize_url.clone();
    url.query_pairs_mut()
        .append_pair("client_id", &oauth.client_id)
        .append_pair(
            "scope",
            &manifest::bot_scopes(&manifest::FEATURES).join(","),
        )
        .append_pair("state", state)
        .append_pair("redirect_uri", &oauth.redirect_uri());
    url.into()
}

/// Why a state was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadState {
    /// Not `<expires>.<nonce>.<signature>`, or not signed with the state secret.
    Forged,
    /// Signed here, but more than ten minutes ago.
    Expired,
}

/// A fresh state, valid for [`STATE_TTL_SECONDS`] from `now`.
pub fn new_state(secret: &SecretString, now: DateTime<Utc>) -> String {
    let expires = now.timestamp() + STATE_TTL_SECONDS;
    let nonce = hex::encode(rand::random::<[u8; 16]>());
    let signed = format!("{expires}.{nonce}");
    let signature = state_signature(secret, &signed);
    format!("{signed}.{signature}")
}

/// Whether `state` was made by [`new_state`] with `secret` and has not expired at `now`.
pub fn verify_state(
    secret: &SecretString,
    state: &str,
    now: DateTime<Utc>,
) -> Result<(), BadState> {
    let Some((signed, signature)) = state.rsplit_once('.') else {
        return Err(BadState::Forged);
    };
    let expected = state_signature(secret, signed);
    if !crate::outside::same(signature.as_bytes(), expected.as_bytes()) {
        return Err(BadState::Forged);
    }
    let expires = signed
        .split_once('.')
        .and_then(|(expires, _)| expires.parse::<i64>().ok())
        .ok_or(BadState::Forged)?;
    if now.timestamp() > expires {
        return Err(BadState::Expired);
    }
    Ok(())
}

fn state_signature(secret: &SecretString, signed: &str) -> String {
    crate::outside::hmac_sha256_hex(secret.expose_secret().as_bytes(), &[signed.as_bytes()])
}

/// Exchanges the `code` Slack sent the browser back with for the installation's tokens.
pub async fn exchange(
    client: &OAuthClient,
    api_url: &Url,
    oauth: &OAuth,
    code: &str,
) -> Result<Grant, SlackError> {
    let redirect_uri = oauth.redirect_uri();
    access(
        client,
        api_url,
        oauth,
        "authorization_code",
        &[("code", code), ("redirect_uri", &redirect_uri)],
    )
    .await
}

/// Trades a refresh token (token rotation) for a new bot token and refresh token.
pub async fn refresh(
    client: &OAuthClient,
    api_url: &Url,
    oauth: &OAuth,
    refresh_token: &SecretString,
) -> Result<Grant, SlackError> {
    access(
        client,
        api_url,
        oauth,
        "refresh_token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose_secret()),
        ],
    )
    .await
}

/// What `oauth.v2.access` answers. No `Debug`: it holds tokens.
#[derive(Deserialize)]
struct Access {
    #[serde(default)]
    ok: bool,
    error: Option<String>,
    access_token: Option<String>,
    token_type: Option<String>,
    scope: Option<String>,
    bot_user_id: Option<String>,
    team: Option<Named>,
    enterprise: Option<Named>,
    #[serde(default)]
    is_enterprise_install: bool,
    authed_user: Option<AuthedUser>,
    refresh_token: Option<String>,
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct Named {
    id: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
struct AuthedUser {
    id: Option<String>,
}

/// One `oauth.v2.access` call with `fields` (form-encoded) and the client credentials as Basic
/// auth; `grant` names it in the logs.
async fn access(
    client: &OAuthClient,
    api_url: &Url,
    oauth: &OAuth,
    grant: &'static str,
    fields: &[(&str, &str)],
) -> Result<Grant, SlackError> {
    let uri = format!("{}/{ACCESS_METHOD}", api_url.as_str().trim_end_matches('/'));
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let credentials = STANDARD.encode(format!(
        "{}:{}",
        oauth.client_id,
        oauth.client_secret.expose_secret()
    ));
    debug!(method = ACCESS_METHOD, grant, "Slack call");
    let answered = async {
        let answer = client
            .raw
            .post(uri, format!("Basic {credentials}"), body, client.timeout)
            .await?;
        if answer.status == StatusCode::TOO_MANY_REQUESTS {
            let retry_after = answer
                .headers
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            return Err(SlackError::RateLimited(Duration::from_secs(
                retry_after.unwrap_or(1),
            )));
        }
        if !answer.status.is_success() {
            return Err(SlackError::Transport(format!(
                "HTTP {}",
                answer.status.as_u16()
            )));
        }
        read_answer(&answer.body)
    }
    .await;
    if let Err(e) = &answered {
        warn!(method = ACCESS_METHOD, grant, error = %e, "Slack call failed");
    }
    answered
}

/// The grant an `oauth.v2.access` answer (a 200's body) describes, or why it describes none.
fn read_answer(body: &[u8]) -> Result<Grant, SlackError> {
    // Only where it went wrong: serde's own words may quote the value it met.
    let answer: Access = serde_json::from_slice(body).map_err(|e| {
        SlackError::Transport(format!(
            "unreadable answer (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    grant_from(answer)
}

fn grant_from(answer: Access) -> Result<Grant, SlackError> {
    if !answer.ok {
        return Err(SlackError::Api {
            code: answer.error.unwrap_or_else(|| "unknown_error".into()),
        });
    }
    let unreadable = |what: &str| SlackError::Transport(format!("unreadable answer: {what}"));
    if answer.token_type.as_deref().is_some_and(|t| t != "bot") {
        return Err(unreadable("the token is not a bot token"));
    }
    let bot_token = answer
        .access_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| unreadable("no access_token"))?;
    let bot_user_id = answer
        .bot_user_id
        .filter(|u| !u.is_empty())
        .ok_or_else(|| unreadable("no bot_user_id"))?;
    let (enterprise_id, enterprise_name) = match answer.enterprise {
        Some(Named { id: Some(id), name }) => (Some(id), name),
        _ => (None, None),
    };
    let (team_id, team_name) = if answer.is_enterprise_install {
        let id = enterprise_id
            .clone()
            .ok_or_else(|| unreadable("an org-wide install without an enterprise id"))?;
        (id, enterprise_name.clone().unwrap_or_default())
    } else {
        match answer.team {
            Some(Named { id: Some(id), name }) => (id, name.unwrap_or_default()),
            _ => return Err(unreadable("no team")),
        }
    };
    Ok(Grant {
        team_id,
        team_name,
        enterprise_id,
        enterprise_name,
        is_enterprise_install: answer.is_enterprise_install,
        bot_user_id,
        scopes: answer
            .scope
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        installer: answer.authed_user.and_then(|u| u.id),
        bot_token: SecretString::from(bot_token),
        refresh_token: answer
            .refresh_token
            .filter(|t| !t.is_empty())
            .map(SecretString::from),
        expires_in: answer.expires_in.map(Duration::from_secs),
    })
}

#[derive(Clone)]
struct Flow {
    installs: Arc<dyn Installs>,
    oauth: Arc<OAuth>,
    client: OAuthClient,
    api_url: Arc<Url>,
    now: Now,
}

/// `GET /slack/install` and `GET /slack/oauth_redirect`, recording through `installs`, calling
/// `oauth.v2.access` at `api_url` (`SLACK_API_URL`), reading states' age with `now`.
pub fn routes(
    installs: Arc<dyn Installs>,
    oauth: OAuth,
    client: OAuthClient,
    api_url: Url,
    now: Now,
) -> Router {
    let flow = Flow {
        installs,
        oauth: Arc::new(oauth),
        client,
        api_url: Arc::new(api_url),
        now,
    };
    Router::new()
        .route(INSTALL_PATH, get(install))
        .route(REDIRECT_PATH, get(redirect))
        .with_state(flow)
}

async fn install(State(flow): State<Flow>) -> Response {
    let state = new_state(&flow.oauth.state_secret, (flow.now)());
    let to = authorize_url(&flow.oauth, &state);
    match HeaderValue::from_str(&to) {
        Ok(location) => (
            StatusCode::FOUND,
            [
                (header::LOCATION, location),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
        )
            .into_response(),
        // The URL is made of a configured URL and form-encoded parts: always a header value.
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// What Slack sends the browser back with.
#[derive(Deserialize)]
struct Back {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

async fn redirect(State(flow): State<Flow>, Query(back): Query<Back>) -> Response {
    let again = flow.start_again();
    if let Some(error) = back.error.as_deref() {
        info!(error, "an installation was not approved in Slack");
        return if error == "access_denied" {
            page(
                StatusCode::OK,
                &format!("Installation cancelled: nothing was installed. {again}"),
            )
        } else {
            page(
                StatusCode::BAD_REQUEST,
                &format!(
                    "Slack did not install incident-commander ({}). {again}",
                    escape_html(error)
                ),
            )
        };
    }
    let state = back.state.as_deref().unwrap_or_default();
    if let Err(why) = verify_state(&flow.oauth.state_secret, state, (flow.now)()) {
        warn!(why = ?why, "an install redirect was refused: its state was not made here or has expired");
        return page(
            StatusCode::BAD_REQUEST,
            &format!(
                "This install link has expired or was not made here: start again at {}.",
                flow.install_link()
            ),
        );
    }
    let Some(code) = back.code.as_deref().filter(|c| !c.is_empty()) else {
        return page(
            StatusCode::BAD_REQUEST,
            &format!("Slack sent no code. {again}"),
        );
    };
    let grant = match exchange(&flow.client, &flow.api_url, &flow.oauth, code).await {
        Ok(grant) => grant,
        Err(e) => {
            let said = match &e {
                SlackError::Api { code } => {
                    format!("Slack refused the installation: {}", escape_html(code))
                }
                other => format!(
                    "Slack could not be asked: {}",
                    escape_html(&other.to_string())
                ),
            };
            return page(StatusCode::BAD_GATEWAY, &format!("{said}. {again}"));
        }
    };
    info!(
        team_id = %grant.team_id,
        enterprise_id = ?grant.enterprise_id,
        org_wide = grant.is_enterprise_install,
        "Slack granted an installation"
    );
    match flow.installs.installed(grant).await {
        Ok(name) => page(
            StatusCode::OK,
            &format!(
                "incident-commander is installed in {}. Type /inc help in Slack.",
                escape_html(&name)
            ),
        ),
        Err(why) => page(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!(
                "The installation could not be recorded: {}. {again}",
                escape_html(&why)
            ),
        ),
    }
}

impl Flow {
    /// A link to `/slack/install`, as HTML.
    fn install_link(&self) -> String {
        let url = escape_html(&self.oauth.install_url());
        format!("<a href=\"{url}\">{INSTALL_PATH}</a>")
    }

    fn start_again(&self) -> String {
        format!("Start again at {}.", self.install_link())
    }
}

/// A short HTML page saying `html` (already escaped), never cached, never sent as a referrer.
fn page(status: StatusCode, html: &str) -> Response {
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>incident-commander</title></head>\n<body><p>{html}</p></body></html>\n"
    );
    (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        body,
    )
        .into_response()
}

/// `text` safe inside HTML text and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + seconds, 0)
            .single()
            .expect("a time")
    }

    fn secret() -> SecretString {
        SecretString::from("6f1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b")
    }

    #[test]
    fn a_state_made_here_is_good_for_ten_minutes() {
        let state = new_state(&secret(), at(0));
        let parts: Vec<&str> = state.split('.').collect();
        assert_eq!(parts.len(), 3, "{state}");
        assert_eq!(parts[0], (at(0).timestamp() + 600).to_string());
        assert_eq!(parts[1].len(), 32);
        assert_eq!(parts[2].len(), 64);
        assert_eq!(verify_state(&secret(), &state, at(0)), Ok(()));
        assert_eq!(verify_state(&secret(), &state, at(600)), Ok(()));
        assert_eq!(
            verify_state(&secret(), &state, at(601)),
            Err(BadState::Expired)
        );
        assert_ne!(
            state,
            new_state(&secret(), at(0)),
            "a fresh nonce each time"
        );
    }

    #[test]
    fn a_forged_or_altered_state_is_refused() {
        let state = new_state(&secret(), at(0));
        let other = SecretString::from("another secret, sixteen chars+");
        assert_eq!(
            verify_state(&other, &state, at(0)),
            Err(BadState::Forged),
            "signed with another secret"
        );
        let (expires, rest) = state.split_once('.').expect("parts");
        let later: i64 = expires.parse::<i64>().expect("digits") + 3600;
        let extended = format!("{later}.{rest}");
        assert_eq!(
            verify_state(&secret(), &extended, at(0)),
            Err(BadState::Forged),
            "its expiry moved"
        );
        let mut flipped = state.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
        let flipped = String::from_utf8(flipped).expect("ascii");
        assert_eq!(
            verify_state(&secret(), &flipped, at(0)),
            Err(BadState::Forged)
        );
        for junk in ["", "abc", "1.2", "..", "x.y.z"] {
            assert_eq!(
                verify_state(&secret(), junk, at(0)),
                Err(BadState::Forged),
                "{junk}"
            );
        }
        // A signature over a text that is not `<expires>.<nonce>` is ours only by accident.
        let signed = "never.";
        let odd = format!("{signed}.{}", state_signature(&secret(), signed));
        assert_eq!(verify_state(&secret(), &odd, at(0)), Err(BadState::Forged));
    }

    fn answer(json: serde_json::Value) -> Result<Grant, SlackError> {
        read_answer(json.to_string().as_bytes())
    }

    #[test]
    fn a_workspace_install_is_read_with_its_rotation_tokens() {
        let g = answer(serde_json::json!({
            "ok": true,
            "access_token": "xoxe.xoxb-1-secret",
            "token_type": "bot",
            "scope": "commands,chat:write,pins:read",
            "bot_user_id": "U0BOT",
            "app_id": "A0APP",
            "team": { "name": "Acme & Co", "id": "T0ACME" },
            "enterprise": { "name": "Acme Group", "id": "E0ACME" },
            "authed_user": { "id": "U0ALICE", "scope": "", "access_token": "xoxp-user" },
            "is_enterprise_install": false,
            "refresh_token": "xoxe-1-refresh",
            "expires_in": 43200
        }))
        .expect("a grant");
        assert_eq!(g.team_id, "T0ACME");
        assert_eq!(g.team_name, "Acme & Co");
        assert_eq!(g.enterprise_id.as_deref(), Some("E0ACME"));
        assert_eq!(g.enterprise_name.as_deref(), Some("Acme Group"));
        assert!(!g.is_enterprise_install);
        assert_eq!(g.bot_user_id, "U0BOT");
        assert_eq!(g.scopes, ["commands", "chat:write", "pins:read"]);
        assert_eq!(g.installer.as_deref(), Some("U0ALICE"));
        assert_eq!(g.bot_token.expose_secret(), "xoxe.xoxb-1-secret");
        assert_eq!(
            g.refresh_token.as_ref().map(|t| t.expose_secret()),
            Some("xoxe-1-refresh")
        );
        assert_eq!(g.expires_in, Some(Duration::from_secs(43200)));
        let debug = format!("{g:?}");
        assert!(
            !debug.contains("secret") && !debug.contains("refresh\""),
            "{debug}"
        );
        assert!(!debug.contains("xoxe"), "{debug}");
    }

    #[test]
    fn an_org_wide_install_is_the_organisations() {
        let g = answer(serde_json::json!({
            "ok": true,
            "access_token": "xoxb-org",
            "token_type": "bot",
            "scope": "commands",
            "bot_user_id": "W0BOT",
            "team": null,
            "enterprise": { "id": "E0ACME", "name": "Acme Group" },
            "is_enterprise_install": true,
            "authed_user": { "id": "W0ADMIN" }
        }))
        .expect("a grant");
        assert_eq!(g.team_id, "E0ACME");
        assert_eq!(g.team_name, "Acme Group");
        assert!(g.is_enterprise_install);
        assert_eq!(g.refresh_token.as_ref().map(|_| ()), None);
        assert_eq!(g.expires_in, None);
    }

    #[test]
    fn slacks_refusals_are_api_errors_and_odd_answers_are_unreadable() {
        assert_eq!(
            answer(serde_json::json!({ "ok": false, "error": "invalid_code" })).map(|_| ()),
            Err(SlackError::Api {
                code: "invalid_code".into()
            })
        );
        let odd = answer(serde_json::json!({
            "ok": true, "access_token": "xoxp-user-only", "token_type": "user",
            "team": { "id": "T0ACME" }, "bot_user_id": "U0BOT"
        }))
        .map(|_| ())
        .expect_err("not a bot token");
        assert!(!odd.to_string().contains("xoxp"), "{odd}");
        assert!(
            answer(
                serde_json::json!({ "ok": true, "access_token": "xoxb-1", "team": { "id": "T1" } })
            )
            .is_err(),
            "no bot user"
        );
        let garbled = answer(serde_json::json!({
            "ok": true, "access_token": "xoxb-1", "is_enterprise_install": "xoxb-misplaced"
        }))
        .map(|_| ())
        .expect_err("not a boolean");
        assert!(!garbled.to_string().contains("xoxb"), "{garbled}");
        assert!(
            read_answer(b"<html>Bad gateway</html>").is_err(),
            "not JSON at all"
        );
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape_html("<b>\"Tom\" & 'Jerry'</b>"),
            "&lt;b&gt;&quot;Tom&quot; &amp; &#39;Jerry&#39;&lt;/b&gt;"
        );
    }
}
