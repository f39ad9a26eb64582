//! Several workspaces, one app: which workspaces exist (and which Enterprise Grid org each
//! belongs to), where the app is installed, and the tokens Slack's OAuth v2 flow hands it —
//! as Slack's documentation describes each step:
//!
//! - Installing (<https://docs.slack.dev/authentication/installing-with-oauth>): the app sends
//!   an admin's browser to `/oauth/v2/authorize?client_id=…&scope=…&state=…&redirect_uri=…`;
//!   when they click Allow, the app is installed in their workspace with exactly the bot scopes
//!   asked for (`scope`, comma-separated), and the browser is redirected to `redirect_uri` with
//!   a temporary `code` and the `state` as given; when they cancel, with `error=access_denied`
//!   and the `state`. The code "expires after ten minutes" and can be exchanged once for the bot
//!   token.
//! - The exchange (<https://docs.slack.dev/reference/methods/oauth.v2.access>): the app
//!   authenticates with its client id and secret, as HTTP Basic auth (preferred) or as
//!   `client_id`/`client_secret` parameters; a `redirect_uri`, when given, "must match the
//!   originally submitted URI". Errors, as the reference lists them: `invalid_client_id`,
//!   `bad_client_secret`, `invalid_code`, `bad_redirect_uri`, `invalid_grant_type`,
//!   `invalid_refresh_token`, `oauth_authorization_url_mismatch`,
//!   `cannot_install_an_org_installed_app`; a code exchanged a second time answers
//!   `code_already_used`, which the reference does not list but Slack answers
//!   (kmrshntr/omniauth-slack#54, outline/outline#1239). The answer is the reference's example:
//!   `access_token`, `token_type: "bot"`, `scope`, `bot_user_id`, `app_id`, `team {name, id}`,
//!   `enterprise`, `authed_user {id}`, `is_enterprise_install`.
//! - Token rotation (<https://docs.slack.dev/authentication/using-token-rotation>): the access
//!   token is `xoxe.xoxb-1-…` and expires after 12 hours (`expires_in: 43200`); the exchange
//!   also answers a `refresh_token` (`xoxe-1-…`), which `oauth.v2.access` with
//!   `grant_type=refresh_token` exchanges for a new access token and a new refresh token, the
//!   used one being revoked. An expired access token answers `token_expired` (Slack's common
//!   errors: "Authentication token has expired"). Times are Slack's clock (`use_clock`).
//! - Uninstalling (<https://docs.slack.dev/reference/events/app_uninstalled>,
//!   <https://docs.slack.dev/reference/events/tokens_revoked>): the app's tokens for the
//!   workspace are revoked and the app hears `tokens_revoked` (`tokens.bot`: its bot user) then
//!   `app_uninstalled` — only when it subscribed to them, as for every event (a missing
//!   subscription is why apps never hear them: slackapi/bolt-js#1347). Nothing else reaches the
//!   app from that workspace afterwards.
//! - Enterprise Grid org-wide installs (<https://api.slack.com/enterprise/org-ready-apps>): an
//!   org admin installs the app for the whole org: one token for every workspace of the org; the
//!   exchange answers `team: null`, `enterprise {id, name}`, `is_enterprise_install: true`, and
//!   what the app is sent from those workspaces carries the `enterprise_id` and
//!   `is_enterprise_install: true`. Calls that need a workspace take the org token's `team_id`
//!   parameter (`team_access_not_granted` for one outside the org).
//!
//! Which error a dead token answers: one replaced by a reinstall answers `invalid_auth` (it is
//! simply unknown now: slackapi/bolt-python#1029 met exactly that after a reinstall); a bot
//! token of an uninstalled app answers `account_inactive`, which Slack's common errors define
//! for that case ("Authentication token is for a deleted user or workspace when using a bot
//! token") and which apps meet after an uninstall (slackapi/bolt-python#1029,
//! slackapi/bolt-js#323); `token_revoked` is the user-token counterpart. See [`UNINSTALLED`].
//!
//! Where the documentation is silent, the simulator chooses: an exchange may leave out the
//! `redirect_uri` the authorize URL had (Slack's "if one was sent" reads so, and clients such
//! as slack-morphism make it optional); after a refresh the previous access token keeps
//! working until it expires; a refresh answers the same shape as the code exchange; a failed
//! exchange (wrong secret, wrong redirect) does not use the code up; `auth.test` of an
//! org-wide token answers for the org (`team_id` the org's id).
//!
//! The ids the simulator picks: the first workspace is [`TEAM_ID`] with bot user
//! [`BOT_USER_ID`], bot id [`BOT_ID`] and admin [`ADMIN_USER_ID`]; another workspace `T<x>`
//! gets bot user `U<x>BOT`, bot id `B<x>BOT` and admin `U<x>ADMIN` (`T0ACME` → `U0ACMEBOT`);
//! the workspaces of an Enterprise Grid org `E<x>` share the org's bot user `U<x>BOT` and bot id
//! `B<x>BOT` (a user id is the same in every workspace of an org). Tokens: `xoxb-<team>-<n>-…`,
//! with rotation `xoxe.xoxb-1-<team>-<n>-…` and refresh tokens `xoxe-1-<team>-<n>-…`; codes
//! `<unix time>.<n>.<random>`.
//!
//! Synchronous, on the state (like `people`), except the authorize page's HTTP handler and
//! the handle's public methods. Client mistakes answer Slack's errors; test mistakes (an
//! unknown workspace) panic in the public API with what went wrong.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{RawQuery, State as AxumState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::methods::ApiError;
use super::state::{State, short_id};
use super::{
    ADMIN_USER_ID, APP_ID, BOT_ID, BOT_USER_ID, Channel, Inner, SimulatorConfig, SlackSimulator,
    TEAM_DOMAIN, TEAM_ID, WorkspaceAction,
};

/// The path of Slack's OAuth v2 authorize page.
pub(crate) const AUTHORIZE_PATH: &str = "/oauth/v2/authorize";
/// The Web API method that exchanges a code (or a refresh token) for a token.
pub(crate) const OAUTH_V2_ACCESS: &str = "oauth.v2.access";
/// How long an OAuth code can be exchanged: ten minutes.
pub(crate) const CODE_LIFETIME_SECS: i64 = 10 * 60;
/// How long an access token lasts with token rotation: 12 hours (`expires_in: 43200`).
pub(crate) const ROTATING_TOKEN_LIFETIME_SECS: i64 = 12 * 60 * 60;
/// The first workspace's name (`auth.test`'s `team`).
pub(crate) const FIRST_TEAM_NAME: &str = "Example";
/// The bot user's name, in every workspace.
pub(crate) const BOT_NAME: &str = "incident-commander";

/// What a bot token answers once its app was uninstalled from the workspace: Slack's
/// `account_inactive` ("Authentication token is for a deleted user or workspace when using a
/// bot token"), what apps report meeting after an uninstall. `token_revoked` is what a *user*
/// token answers then.
pub(crate) const UNINSTALLED: &str = "account_inactive";
/// What a token answers once a reinstall replaced it: it is unknown, `invalid_auth`.
pub(crate) const REPLACED: &str = "invalid_auth";

/// A workspace.
pub(crate) struct TeamRecord {
    pub(crate) id: String,
    /// `acme` for `acme.slack.com`.
    pub(crate) domain: String,
    pub(crate) name: String,
    /// The app's bot user here (its id whether or not the app is installed yet).
    pub(crate) bot_user_id: String,
    pub(crate) bot_id: String,
    /// The human who created channels added with `add_channel_in`.
    pub(crate) admin_user_id: String,
    /// The Enterprise Grid org it belongs to.
    pub(crate) enterprise_id: Option<String>,
    /// `None`: the app is not installed here.
    pub(crate) install: Option<Install>,
}

/// The app installed in a workspace.
#[derive(Clone, Debug)]
pub(crate) struct Install {
    /// The bot scopes granted.
    pub(crate) scopes: Vec<String>,
    /// Who clicked Allow.
    pub(crate) installer: String,
    /// Installed org-wide (by an org admin), not in this workspace alone.
    pub(crate) org_wide: bool,
}

/// An Enterprise Grid org.
pub(crate) struct EnterpriseRecord {
    pub(crate) id: String,
    pub(crate) name: String,
    /// Its workspaces, in the order given.
    pub(crate) teams: Vec<String>,
    /// The org-wide install, if the app has one.
    pub(crate) install: Option<Install>,
}

/// Whom a token was issued to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Grantee {
    Team(String),
    /// An org-wide install: the token works in every workspace of the org.
    Enterprise(String),
}

struct TokenRecord {
    grantee: Grantee,
    /// Minting order (the configured token is 0).
    serial: u64,
    scopes: Vec<String>,
    /// Unix seconds on Slack's clock; `None`: never expires (no token rotation).
    expires_at: Option<i64>,
    /// Why it stopped working (the error it answers from then on).
    dead: Option<&'static str>,
}

struct RefreshRecord {
    grantee: Grantee,
    /// Used (or its install gone): `invalid_refresh_token`.
    dead: bool,
}

/// A code an approval redirected to, until exchanged.
struct CodeRecord {
    grantee: Grantee,
    access_token: String,
    refresh_token: Option<String>,
    /// The authorize request's `redirect_uri`: the exchange's must match it.
    redirect_uri: Option<String>,
    /// Unix seconds on Slack's clock.
    issued: i64,
    used: bool,
}

/// Everything about workspaces, installs and tokens.
#[derive(Default)]
pub(crate) struct Workspaces {
    pub(crate) teams: Vec<TeamRecord>,
    pub(crate) enterprises: Vec<EnterpriseRecord>,
    tokens: HashMap<String, TokenRecord>,
    refresh_tokens: HashMap<String, RefreshRecord>,
    codes: HashMap<String, CodeRecord>,
    counter: u64,
}

/// Who a Web API call acts as: the bot of a workspace (or of an org, with an org-wide token),
/// and where it may act.
#[derive(Clone, Debug)]
pub(crate) struct Actor {
    /// The workspace it acts in (where a channel it creates goes, whose users it lists).
    pub(crate) team_id: String,
    /// The workspaces whose channels, users and files it sees: its own, or its org's.
    pub(crate) teams: Vec<String>,
    pub(crate) bot_user_id: String,
    pub(crate) bot_id: String,
    pub(crate) enterprise_id: Option<String>,
    /// An org-wide token.
    pub(crate) org_wide: bool,
    /// The token's scopes.
    pub(crate) scopes: Vec<String>,
}

impl Actor {
    /// Whether it may see what belongs to workspace `team_id`.
    pub(crate) fn sees(&self, team_id: &str) -> bool {
        self.teams.iter().any(|t| t == team_id)
    }
}

/// The `authorizations[0]` of an event, and what else an envelope says about the install.
#[derive(Clone, Debug)]
pub(crate) struct Authorization {
    pub(crate) team_id: String,
    pub(crate) bot_user_id: String,
    pub(crate) enterprise_id: Option<String>,
    pub(crate) is_enterprise_install: bool,
}

/// `T0ACME` → `0ACME`: what the derived ids are built from.
fn stem(id: &str, prefix: char) -> &str {
    id.strip_prefix(prefix).unwrap_or(id)
}

/// `n` random letters and digits.
fn random_text(n: usize) -> String {
    (0..n.div_ceil(5)).map(|_| short_id()).collect::<String>()[..n].to_string()
}

impl State {
    // --- the registry ---

    /// The first workspace, [`TEAM_ID`], with its bot user and admin (not installed yet: the
    /// simulator installs it with the configured token when it starts).
    pub(crate) fn add_first_workspace(&mut self) {
        self.workspaces.teams.push(TeamRecord {
            id: TEAM_ID.to_string(),
            domain: TEAM_DOMAIN.to_string(),
            name: FIRST_TEAM_NAME.to_string(),
            bot_user_id: BOT_USER_ID.to_string(),
            bot_id: BOT_ID.to_string(),
            admin_user_id: ADMIN_USER_ID.to_string(),
            enterprise_id: None,
            install: None,
        });
        self.add_user_in(TEAM_ID, BOT_USER_ID, BOT_NAME, true);
        self.add_user_in(TEAM_ID, ADMIN_USER_ID, "admin", false);
    }

    /// The app as configured: installed in the first workspace with `config.bot_token` (which
    /// never expires, as a token from before token rotation was turned on) and its scopes.
    pub(crate) fn install_first_workspace(&mut self, config: &SimulatorConfig) {
        let install = Install {
            scopes: config.granted_scopes.clone(),
            installer: ADMIN_USER_ID.to_string(),
            org_wide: false,
        };
        if let Some(team) = self.team_mut(TEAM_ID) {
            team.install = Some(install);
        }
        self.workspaces.tokens.insert(
            config.bot_token.clone(),
            TokenRecord {
                grantee: Grantee::Team(TEAM_ID.to_string()),
                serial: 0,
                scopes: config.granted_scopes.clone(),
                expires_at: None,
                dead: None,
            },
        );
    }

    /// Adds a workspace where the app is not installed, with its admin (`U<x>ADMIN`, named
    /// `admin`). Err: the id is taken.
    pub(crate) fn add_workspace(
        &mut self,
        team_id: &str,
        domain: &str,
        name: &str,
    ) -> Result<(), String> {
        if self.team(team_id).is_some() {
            return Err(format!("workspace {team_id} exists already"));
        }
        let x = stem(team_id, 'T');
        let admin = format!("U{x}ADMIN");
        self.workspaces.teams.push(TeamRecord {
            id: team_id.to_string(),
            domain: domain.to_string(),
            name: name.to_string(),
            bot_user_id: format!("U{x}BOT"),
            bot_id: format!("B{x}BOT"),
            admin_user_id: admin.clone(),
            enterprise_id: None,
            install: None,
        });
        self.add_user_in(team_id, &admin, "admin", false);
        Ok(())
    }

    /// Makes `team_ids` the workspaces of the Enterprise Grid org `enterprise_id`: they share
    /// the org's bot user `U<x>BOT` and bot id `B<x>BOT`. Err: an unknown or installed
    /// workspace, the first workspace, or a workspace of another org.
    pub(crate) fn add_enterprise(
        &mut self,
        enterprise_id: &str,
        name: &str,
        team_ids: &[&str],
    ) -> Result<(), String> {
        if self.enterprise(enterprise_id).is_some() {
            return Err(format!("org {enterprise_id} exists already"));
        }
        for team_id in team_ids {
            let team = self
                .team(team_id)
                .ok_or_else(|| format!("no workspace {team_id}: add_workspace it first"))?;
            if team.id == TEAM_ID {
                return Err(format!(
                    "the first workspace, {TEAM_ID}, stays outside any org"
                ));
            }
            if team.install.is_some() {
                return Err(format!(
                    "the app is installed in {team_id} already: add it to the org first"
                ));
            }
            if let Some(other) = &team.enterprise_id {
                return Err(format!("{team_id} belongs to org {other} already"));
            }
        }
        let x = stem(enterprise_id, 'E');
        let (bot_user, bot_id) = (format!("U{x}BOT"), format!("B{x}BOT"));
        for team_id in team_ids {
            if let Some(team) = self.team_mut(team_id) {
                team.enterprise_id = Some(enterprise_id.to_string());
                team.bot_user_id = bot_user.clone();
                team.bot_id = bot_id.clone();
            }
        }
        self.workspaces.enterprises.push(EnterpriseRecord {
            id: enterprise_id.to_string(),
            name: name.to_string(),
            teams: team_ids.iter().map(|t| t.to_string()).collect(),
            install: None,
        });
        Ok(())
    }

    pub(crate) fn team(&self, team_id: &str) -> Option<&TeamRecord> {
        self.workspaces.teams.iter().find(|t| t.id == team_id)
    }

    fn team_mut(&mut self, team_id: &str) -> Option<&mut TeamRecord> {
        self.workspaces.teams.iter_mut().find(|t| t.id == team_id)
    }

    pub(crate) fn enterprise(&self, enterprise_id: &str) -> Option<&EnterpriseRecord> {
        self.workspaces
            .enterprises
            .iter()
            .find(|e| e.id == enterprise_id)
    }

    /// The app's bot user in `team_id` (for an unknown workspace, the first workspace's).
    pub(crate) fn bot_user_of(&self, team_id: &str) -> String {
        self.team(team_id)
            .map_or_else(|| BOT_USER_ID.to_string(), |t| t.bot_user_id.clone())
    }

    /// The app's bot id in `team_id`.
    pub(crate) fn bot_id_of(&self, team_id: &str) -> String {
        self.team(team_id)
            .map_or_else(|| BOT_ID.to_string(), |t| t.bot_id.clone())
    }

    /// Whether `id` is the app's bot user in some workspace.
    pub(crate) fn is_app_bot_user(&self, id: &str) -> bool {
        !id.is_empty() && self.workspaces.teams.iter().any(|t| t.bot_user_id == id)
    }

    /// Whether `id` is the app's bot id in some workspace.
    pub(crate) fn is_app_bot_id(&self, id: &str) -> bool {
        !id.is_empty() && self.workspaces.teams.iter().any(|t| t.bot_id == id)
    }

    /// `acme` for `acme.slack.com` (the first workspace's for an unknown one).
    pub(crate) fn domain_of(&self, team_id: &str) -> String {
        self.team(team_id)
            .map_or_else(|| TEAM_DOMAIN.to_string(), |t| t.domain.clone())
    }

    pub(crate) fn is_installed(&self, team_id: &str) -> bool {
        self.team(team_id).is_some_and(|t| t.install.is_some())
    }

    /// The org of `team_id`: (id, name).
    pub(crate) fn enterprise_of(&self, team_id: &str) -> Option<(String, String)> {
        let id = self.team(team_id)?.enterprise_id.clone()?;
        let name = self
            .enterprise(&id)
            .map(|e| e.name.clone())
            .unwrap_or_default();
        Some((id, name))
    }

    /// Whether the app's install covering `team_id` is org-wide.
    pub(crate) fn is_enterprise_install(&self, team_id: &str) -> bool {
        self.team(team_id)
            .and_then(|t| t.install.as_ref())
            .is_some_and(|i| i.org_wide)
    }

    /// What an event from `team_id` says about the install.
    pub(crate) fn authorization_of(&self, team_id: &str) -> Authorization {
        Authorization {
            team_id: team_id.to_string(),
            bot_user_id: self.bot_user_of(team_id),
            enterprise_id: self.enterprise_of(team_id).map(|(id, _)| id),
            is_enterprise_install: self.is_enterprise_install(team_id),
        }
    }

    /// `{id, domain}`, the `team` of an interactive payload from `team_id`.
    pub(crate) fn team_ref(&self, team_id: &str) -> Value {
        json!({ "id": team_id, "domain": self.domain_of(team_id) })
    }

    /// An interactive payload's `enterprise` (`{id, name}` or null) and
    /// `is_enterprise_install`, for one from `team_id`.
    pub(crate) fn enterprise_ref(&self, team_id: &str) -> (Value, bool) {
        let enterprise = match self.enterprise_of(team_id) {
            Some((id, name)) => json!({ "id": id, "name": name }),
            None => Value::Null,
        };
        (enterprise, self.is_enterprise_install(team_id))
    }

    /// Workspaces where the app is installed, in the order they were added.
    pub(crate) fn installed_teams(&self) -> Vec<String> {
        self.workspaces
            .teams
            .iter()
            .filter(|t| t.install.is_some())
            .map(|t| t.id.clone())
            .collect()
    }

    /// The grantee whose tokens work in `team_id`: the workspace, or its org when installed
    /// org-wide.
    fn grantee_of(&self, team_id: &str) -> Grantee {
        match self.team(team_id) {
            Some(team) if team.install.as_ref().is_some_and(|i| i.org_wide) => {
                Grantee::Enterprise(team.enterprise_id.clone().unwrap_or_default())
            }
            _ => Grantee::Team(team_id.to_string()),
        }
    }

    /// The newest bot token that works in `team_id` (expired or not).
    pub(crate) fn current_token_of(&self, team_id: &str) -> Option<String> {
        if !self.is_installed(team_id) {
            return None;
        }
        let grantee = self.grantee_of(team_id);
        let newest = self
            .workspaces
            .tokens
            .iter()
            .filter(|(_, t)| t.dead.is_none() && t.grantee == grantee)
            .max_by_key(|(_, t)| t.serial);
        newest.map(|(token, _)| token.clone())
    }

    // --- authentication ---

    /// Who `token` acts as, or the error Slack answers for it (`invalid_auth`,
    /// `token_expired`, [`UNINSTALLED`]). `team_param`: the call's `team_id`, which an org-wide
    /// token needs to say which workspace it acts in.
    pub(crate) fn authenticate(
        &self,
        token: &str,
        team_param: Option<&str>,
    ) -> Result<Actor, &'static str> {
        let record = self.workspaces.tokens.get(token).ok_or("invalid_auth")?;
        if let Some(dead) = record.dead {
            return Err(dead);
        }
        if record.expires_at.is_some_and(|at| self.now() >= at) {
            return Err("token_expired");
        }
        match &record.grantee {
            Grantee::Team(team_id) => {
                let team = self.team(team_id).ok_or("invalid_auth")?;
                Ok(Actor {
                    team_id: team.id.clone(),
                    teams: vec![team.id.clone()],
                    bot_user_id: team.bot_user_id.clone(),
                    bot_id: team.bot_id.clone(),
                    enterprise_id: team.enterprise_id.clone(),
                    org_wide: false,
                    scopes: record.scopes.clone(),
                })
            }
            Grantee::Enterprise(enterprise_id) => {
                let org = self.enterprise(enterprise_id).ok_or("invalid_auth")?;
                let teams: Vec<String> = org
                    .teams
                    .iter()
                    .filter(|t| self.is_enterprise_install(t))
                    .cloned()
                    .collect();
                let first = teams.first().cloned().unwrap_or_default();
                let team_id = match team_param.filter(|t| !t.is_empty()) {
                    Some(wanted) if teams.iter().any(|t| t == wanted) => wanted.to_string(),
                    // Slack's answer when an org token names a workspace it was not granted.
                    Some(_) => return Err("team_access_not_granted"),
                    None => first,
                };
                Ok(Actor {
                    bot_user_id: self.bot_user_of(&team_id),
                    bot_id: self.bot_id_of(&team_id),
                    team_id,
                    teams,
                    enterprise_id: Some(org.id.clone()),
                    org_wide: true,
                    scopes: record.scopes.clone(),
                })
            }
        }
    }

    /// Whether `token` is one of the app's bot tokens, dead or alive (for
    /// `not_allowed_token_type`).
    pub(crate) fn is_bot_token(&self, token: &str) -> bool {
        self.workspaces.tokens.contains_key(token)
    }

    // --- installing ---

    /// Mints a new bot token (and refresh token, with rotation) for `grantee`, kills the old
    /// ones (an unexchanged code for them then answers `invalid_code`), and issues a code for
    /// the new ones.
    fn mint(
        &mut self,
        grantee: Grantee,
        scopes: &[String],
        rotation: bool,
        redirect_uri: Option<String>,
    ) -> String {
        for record in self.workspaces.tokens.values_mut() {
            if record.grantee == grantee && record.dead.is_none() {
                record.dead = Some(REPLACED);
            }
        }
        for record in self.workspaces.refresh_tokens.values_mut() {
            if record.grantee == grantee {
                record.dead = true;
            }
        }
        let now = self.now();
        let (access_token, refresh_token) = self.new_tokens(&grantee, scopes, rotation, now);
        self.workspaces.counter += 1;
        let code = format!(
            "{now}.{}.{}",
            self.workspaces.counter,
            random_text(32).to_ascii_lowercase()
        );
        self.workspaces.codes.insert(
            code.clone(),
            CodeRecord {
                grantee,
                access_token,
                refresh_token,
                redirect_uri,
                issued: now,
                used: false,
            },
        );
        code
    }

    /// A new access token (and refresh token, with rotation) for `grantee`.
    fn new_tokens(
        &mut self,
        grantee: &Grantee,
        scopes: &[String],
        rotation: bool,
        now: i64,
    ) -> (String, Option<String>) {
        self.workspaces.counter += 1;
        let serial = self.workspaces.counter;
        let who = match grantee {
            Grantee::Team(id) | Grantee::Enterprise(id) => id.clone(),
        };
        let access_token = if rotation {
            format!("xoxe.xoxb-1-{who}-{serial}-{}", random_text(40))
        } else {
            format!("xoxb-{who}-{serial}-{}", random_text(24))
        };
        self.workspaces.tokens.insert(
            access_token.clone(),
            TokenRecord {
                grantee: grantee.clone(),
                serial,
                scopes: scopes.to_vec(),
                expires_at: rotation.then_some(now + ROTATING_TOKEN_LIFETIME_SECS),
                dead: None,
            },
        );
        let refresh_token = rotation.then(|| {
            let token = format!("xoxe-1-{who}-{serial}-{}", random_text(40));
            self.workspaces.refresh_tokens.insert(
                token.clone(),
                RefreshRecord {
                    grantee: grantee.clone(),
                    dead: false,
                },
            );
            token
        });
        (access_token, refresh_token)
    }

    /// `installer` clicked Allow on `request` for workspace `team_id`: the app is installed
    /// there with the scopes asked for, and a code is issued. Returns the redirect.
    pub(crate) fn approve(
        &mut self,
        config: &SimulatorConfig,
        request: &AuthorizeRequest,
        team_id: &str,
        installer: &str,
    ) -> Result<String, String> {
        let team = self
            .team(team_id)
            .ok_or_else(|| format!("no workspace {team_id}: add_workspace it first"))?;
        if self.team_of_user(installer) != team_id || self.user(installer).is_none() {
            return Err(format!(
                "{installer} is not a user of {team_id}: add_user_in it first"
            ));
        }
        if team.install.as_ref().is_some_and(|i| i.org_wide) {
            // The reference's error for a workspace install of an app its org installed.
            return Err("cannot_install_an_org_installed_app".to_string());
        }
        let install = Install {
            scopes: request.scopes.clone(),
            installer: installer.to_string(),
            org_wide: false,
        };
        let bot_user = team.bot_user_id.clone();
        if let Some(team) = self.team_mut(team_id) {
            team.install = Some(install);
        }
        if self.user(&bot_user).is_none() {
            self.add_user_in(team_id, &bot_user, BOT_NAME, true);
        }
        let code = self.mint(
            Grantee::Team(team_id.to_string()),
            &request.scopes,
            config.token_rotation,
            request.redirect_uri.clone(),
        );
        self.log_workspace_action(WorkspaceAction::Installed {
            team_id: team_id.to_string(),
            installer: installer.to_string(),
            scopes: request.scopes.clone(),
            org_wide: false,
        });
        redirect(request, &[("code", &code)])
    }

    /// An org admin installs the app org-wide: every workspace of the org, one token.
    pub(crate) fn approve_org(
        &mut self,
        config: &SimulatorConfig,
        request: &AuthorizeRequest,
        enterprise_id: &str,
        installer: &str,
    ) -> Result<String, String> {
        let org = self
            .enterprise(enterprise_id)
            .ok_or_else(|| format!("no org {enterprise_id}: add_enterprise it first"))?;
        let teams = org.teams.clone();
        if !teams.contains(&self.team_of_user(installer)) || self.user(installer).is_none() {
            return Err(format!(
                "{installer} is not a user of a workspace of {enterprise_id}"
            ));
        }
        let install = Install {
            scopes: request.scopes.clone(),
            installer: installer.to_string(),
            org_wide: true,
        };
        if let Some(org) = self
            .workspaces
            .enterprises
            .iter_mut()
            .find(|e| e.id == enterprise_id)
        {
            org.install = Some(install.clone());
        }
        for team_id in &teams {
            // A workspace-level install gives way to the org's: its token dies.
            let grantee = Grantee::Team(team_id.clone());
            for record in self.workspaces.tokens.values_mut() {
                if record.grantee == grantee && record.dead.is_none() {
                    record.dead = Some(REPLACED);
                }
            }
            let bot_user = self.bot_user_of(team_id);
            if let Some(team) = self.team_mut(team_id) {
                team.install = Some(install.clone());
            }
            if self.user(&bot_user).is_none() {
                self.add_user_in(team_id, &bot_user, BOT_NAME, true);
            }
        }
        let code = self.mint(
            Grantee::Enterprise(enterprise_id.to_string()),
            &request.scopes,
            config.token_rotation,
            request.redirect_uri.clone(),
        );
        self.log_workspace_action(WorkspaceAction::Installed {
            team_id: enterprise_id.to_string(),
            installer: installer.to_string(),
            scopes: request.scopes.clone(),
            org_wide: true,
        });
        redirect(request, &[("code", &code)])
    }

    /// `installer` clicked Cancel: nothing is installed; the browser goes back with
    /// `error=access_denied`.
    pub(crate) fn deny(
        &mut self,
        request: &AuthorizeRequest,
        team_id: &str,
        installer: &str,
    ) -> Result<String, String> {
        if self.team(team_id).is_none() && self.enterprise(team_id).is_none() {
            return Err(format!("no workspace {team_id}: add_workspace it first"));
        }
        self.log_workspace_action(WorkspaceAction::InstallDenied {
            team_id: team_id.to_string(),
            installer: installer.to_string(),
        });
        redirect(request, &[("error", "access_denied")])
    }

    fn log_workspace_action(&mut self, action: WorkspaceAction) {
        let seq = self.next_seq();
        self.push_event(super::SimEvent::Action {
            seq,
            action,
            at: std::time::Instant::now(),
        });
    }

    // --- oauth.v2.access ---

    /// `oauth.v2.access`: exchanges a code (or, with token rotation, a refresh token) for a
    /// bot token. `basic`: the client id and secret from HTTP Basic auth.
    pub(crate) fn oauth_v2_access(
        &mut self,
        config: &SimulatorConfig,
        basic: Option<&(String, String)>,
        params: &Map<String, Value>,
    ) -> Result<Map<String, Value>, ApiError> {
        let param = |key: &str| {
            params
                .get(key)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let (client_id, client_secret) = match basic {
            Some((id, secret)) => (Some(id.clone()), Some(secret.clone())),
            None => (param("client_id"), param("client_secret")),
        };
        if client_id.as_deref() != Some(config.client_id.as_str()) {
            return Err(api_error("invalid_client_id"));
        }
        if client_secret.as_deref() != Some(config.client_secret.as_str()) {
            return Err(api_error("bad_client_secret"));
        }
        match param("grant_type").as_deref() {
            None | Some("authorization_code") => {
                self.exchange_code(param("code"), param("redirect_uri"))
            }
            Some("refresh_token") => self.exchange_refresh_token(param("refresh_token")),
            Some(_) => Err(api_error("invalid_grant_type")),
        }
    }

    fn exchange_code(
        &mut self,
        code: Option<String>,
        redirect_uri: Option<String>,
    ) -> Result<Map<String, Value>, ApiError> {
        let now = self.now();
        let code = code.ok_or_else(|| api_error("invalid_code"))?;
        let record = self
            .workspaces
            .codes
            .get(&code)
            .ok_or_else(|| api_error("invalid_code"))?;
        if record.used {
            return Err(api_error("code_already_used"));
        }
        if now - record.issued > CODE_LIFETIME_SECS {
            return Err(api_error("invalid_code"));
        }
        if let (Some(asked), Some(given)) = (&record.redirect_uri, &redirect_uri)
            && asked != given
        {
            return Err(api_error("bad_redirect_uri"));
        }
        let access_token = record.access_token.clone();
        let refresh_token = record.refresh_token.clone();
        let grantee = record.grantee.clone();
        if self
            .workspaces
            .tokens
            .get(&access_token)
            .is_none_or(|t| t.dead.is_some())
        {
            // Its install is gone (uninstalled, or installed again since).
            return Err(api_error("invalid_code"));
        }
        if let Some(record) = self.workspaces.codes.get_mut(&code) {
            record.used = true;
        }
        Ok(self.access_answer(&grantee, &access_token, refresh_token.as_deref()))
    }

    fn exchange_refresh_token(
        &mut self,
        refresh_token: Option<String>,
    ) -> Result<Map<String, Value>, ApiError> {
        let refresh_token = refresh_token.ok_or_else(|| api_error("invalid_refresh_token"))?;
        let grantee = match self.workspaces.refresh_tokens.get(&refresh_token) {
            Some(record) if !record.dead => record.grantee.clone(),
            _ => return Err(api_error("invalid_refresh_token")),
        };
        let scopes = match &grantee {
            Grantee::Team(team_id) => self.team(team_id).and_then(|t| t.install.clone()),
            Grantee::Enterprise(id) => self.enterprise(id).and_then(|e| e.install.clone()),
        }
        .map(|i| i.scopes)
        .ok_or_else(|| api_error("invalid_refresh_token"))?;
        if let Some(record) = self.workspaces.refresh_tokens.get_mut(&refresh_token) {
            record.dead = true;
        }
        let now = self.now();
        // Only rotating installs have refresh tokens: the new access token rotates too.
        let (access_token, new_refresh) = self.new_tokens(&grantee, &scopes, true, now);
        Ok(self.access_answer(&grantee, &access_token, new_refresh.as_deref()))
    }

    /// Slack's answer to a successful exchange.
    fn access_answer(
        &self,
        grantee: &Grantee,
        access_token: &str,
        refresh_token: Option<&str>,
    ) -> Map<String, Value> {
        let record = self.workspaces.tokens.get(access_token);
        let scopes = record.map(|r| r.scopes.join(",")).unwrap_or_default();
        let mut answer = match grantee {
            Grantee::Team(team_id) => {
                let team = self.team(team_id);
                let installer = team
                    .and_then(|t| t.install.as_ref())
                    .map(|i| i.installer.clone())
                    .unwrap_or_default();
                let enterprise = match self.enterprise_of(team_id) {
                    Some((id, name)) => json!({ "id": id, "name": name }),
                    None => Value::Null,
                };
                json!({
                    "access_token": access_token,
                    "token_type": "bot",
                    "scope": scopes,
                    "bot_user_id": self.bot_user_of(team_id),
                    "app_id": APP_ID,
                    "team": {
                        "name": team.map(|t| t.name.clone()).unwrap_or_default(),
                        "id": team_id,
                    },
                    "enterprise": enterprise,
                    "authed_user": { "id": installer },
                    "is_enterprise_install": false,
                })
            }
            Grantee::Enterprise(enterprise_id) => {
                let org = self.enterprise(enterprise_id);
                let installer = org
                    .and_then(|o| o.install.as_ref())
                    .map(|i| i.installer.clone())
                    .unwrap_or_default();
                let first = org
                    .and_then(|o| o.teams.first().cloned())
                    .unwrap_or_default();
                json!({
                    "access_token": access_token,
                    "token_type": "bot",
                    "scope": scopes,
                    "bot_user_id": self.bot_user_of(&first),
                    "app_id": APP_ID,
                    "team": null,
                    "enterprise": {
                        "name": org.map(|o| o.name.clone()).unwrap_or_default(),
                        "id": enterprise_id,
                    },
                    "authed_user": { "id": installer },
                    "is_enterprise_install": true,
                })
            }
        };
        if let (Some(refresh_token), Some(object)) = (refresh_token, answer.as_object_mut()) {
            let expires_in = record
                .and_then(|r| r.expires_at)
                .map_or(ROTATING_TOKEN_LIFETIME_SECS, |at| (at - self.now()).max(0));
            object.insert("refresh_token".into(), json!(refresh_token));
            object.insert("expires_in".into(), json!(expires_in));
        }
        match answer {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    // --- uninstalling, expiring ---

    /// The app is removed from `team_id`: `tokens_revoked` then `app_uninstalled` (when
    /// subscribed), its tokens die with [`UNINSTALLED`], and nothing more is sent from there.
    /// For a workspace of an org-wide install, only that workspace loses the app; the org's
    /// token dies with its last workspace. Err: no such workspace. Ok(false): not installed.
    pub(crate) fn uninstall(&mut self, team_id: &str) -> Result<bool, String> {
        let team = self
            .team(team_id)
            .ok_or_else(|| format!("no workspace {team_id}"))?;
        let Some(install) = team.install.clone() else {
            return Ok(false);
        };
        let bot_user = team.bot_user_id.clone();
        let enterprise_id = team.enterprise_id.clone();
        self.log_workspace_action(WorkspaceAction::Uninstalled {
            team_id: team_id.to_string(),
        });
        // Nothing of this workspace still waiting for a connection goes out.
        self.forget_queued_of(team_id);
        let grantee = if install.org_wide {
            Grantee::Enterprise(enterprise_id.clone().unwrap_or_default())
        } else {
            Grantee::Team(team_id.to_string())
        };
        let last_of_org = install.org_wide
            && enterprise_id.as_deref().is_some_and(|org| {
                self.enterprise(org).is_some_and(|o| {
                    o.teams
                        .iter()
                        .filter(|t| self.is_enterprise_install(t))
                        .count()
                        == 1
                })
            });
        let revoke = !install.org_wide || last_of_org;
        if revoke && self.subscribed_to("tokens_revoked") {
            self.emit_team_event(
                team_id,
                json!({
                    "type": "tokens_revoked",
                    "tokens": { "oauth": [], "bot": [bot_user] },
                }),
            );
        }
        if self.subscribed_to("app_uninstalled") {
            self.emit_team_event(team_id, json!({ "type": "app_uninstalled" }));
        }
        if let Some(team) = self.team_mut(team_id) {
            team.install = None;
        }
        if revoke {
            for record in self.workspaces.tokens.values_mut() {
                if record.grantee == grantee && record.dead.is_none() {
                    record.dead = Some(UNINSTALLED);
                }
            }
            for record in self.workspaces.refresh_tokens.values_mut() {
                if record.grantee == grantee {
                    record.dead = true;
                }
            }
            if let Grantee::Enterprise(org) = &grantee
                && let Some(org) = self
                    .workspaces
                    .enterprises
                    .iter_mut()
                    .find(|e| e.id == *org)
            {
                org.install = None;
            }
        }
        Ok(true)
    }

    /// Every live access token that works in `team_id` expires now.
    pub(crate) fn expire_tokens(&mut self, team_id: &str) {
        let now = self.now();
        let grantee = self.grantee_of(team_id);
        for record in self.workspaces.tokens.values_mut() {
            if record.grantee == grantee && record.dead.is_none() {
                record.expires_at = Some(record.expires_at.map_or(now, |at| at.min(now)));
            }
        }
    }
}

fn api_error(error: &str) -> ApiError {
    ApiError {
        error: error.to_string(),
        extra: Map::new(),
    }
}

// --- the authorize URL ---

/// What the app asked for in its authorize URL.
#[derive(Clone, Debug)]
pub(crate) struct AuthorizeRequest {
    /// The bot scopes asked for, in order, without duplicates.
    pub(crate) scopes: Vec<String>,
    pub(crate) state: Option<String>,
    pub(crate) redirect_uri: Option<String>,
}

impl AuthorizeRequest {
    /// Reads `url` as Slack's authorize page would: it must be this simulator's
    /// `/oauth/v2/authorize` with the app's `client_id` and at least one bot scope; the browser
    /// goes back to `redirect_uri` (required: the simulated app has no Redirect URL set in its
    /// settings to fall back on).
    pub(crate) fn parse(
        url: &str,
        base_url: &str,
        config: &SimulatorConfig,
    ) -> Result<AuthorizeRequest, String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("not a URL ({e}): {url}"))?;
        let expected = format!("{base_url}{AUTHORIZE_PATH}");
        let origin = parsed.origin().ascii_serialization();
        if parsed.path() == "/oauth/authorize" {
            // The v1 page: Slack refuses a v2 exchange of its codes.
            return Err(format!(
                "oauth_authorization_url_mismatch: {url} is the v1 authorize page; use {expected}"
            ));
        }
        if format!("{origin}{}", parsed.path()) != expected {
            return Err(format!(
                "not Slack's authorize page: {url} (the app must send the browser to {expected})"
            ));
        }
        let query: HashMap<String, String> = parsed.query_pairs().into_owned().collect();
        match query.get("client_id") {
            Some(id) if *id == config.client_id => {}
            Some(id) => {
                return Err(format!(
                    "invalid_client_id: client_id {id:?} is not the app's ({:?})",
                    config.client_id
                ));
            }
            None => return Err("invalid_client_id: the authorize URL has no client_id".into()),
        }
        let mut scopes: Vec<String> = Vec::new();
        for scope in query
            .get("scope")
            .map(String::as_str)
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            if !scopes.iter().any(|s| s == scope) {
                scopes.push(scope.to_string());
            }
        }
        if scopes.is_empty() {
            return Err(
                "invalid_scope: no bot scope asked for (`scope`, comma-separated); the simulator \
                 mints no user tokens"
                    .into(),
            );
        }
        let redirect_uri = query.get("redirect_uri").cloned();
        match &redirect_uri {
            None => {
                return Err(
                    "bad_redirect_uri: no redirect_uri, and the simulated app has no Redirect URL \
                     in its settings to fall back on"
                        .into(),
                );
            }
            Some(uri) if url::Url::parse(uri).is_err() => {
                return Err(format!("bad_redirect_uri: {uri:?} is not a URL"));
            }
            Some(_) => {}
        }
        Ok(AuthorizeRequest {
            scopes,
            state: query.get("state").cloned(),
            redirect_uri,
        })
    }
}

/// Where the browser goes: `redirect_uri` with `pairs` and the `state` as given.
fn redirect(request: &AuthorizeRequest, pairs: &[(&str, &str)]) -> Result<String, String> {
    let uri = request.redirect_uri.as_deref().unwrap_or_default();
    let mut url = url::Url::parse(uri).map_err(|e| format!("bad_redirect_uri: {uri} ({e})"))?;
    {
        let mut query = url.query_pairs_mut();
        for (key, value) in pairs {
            query.append_pair(key, value);
        }
        if let Some(state) = &request.state {
            query.append_pair("state", state);
        }
    }
    Ok(url.to_string())
}

/// `GET /oauth/v2/authorize`: the page an admin's browser shows — what the app asks for, and
/// Allow/Cancel (a test clicks them with `approve_install`/`deny_install`). A bad request
/// (no or another client_id, no scope) shows Slack's error page, with HTTP 400.
pub(crate) async fn authorize_page(
    AxumState(inner): AxumState<Arc<Inner>>,
    RawQuery(query): RawQuery,
) -> Response {
    let base = inner.base_url();
    let url = format!("{base}{AUTHORIZE_PATH}?{}", query.unwrap_or_default());
    let html = |status: StatusCode, title: &str, body: &str| {
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            format!(
                "<!DOCTYPE html>\n<html><head><title>{}</title></head><body>\n{body}\n</body></html>\n",
                escape_html(title)
            ),
        )
            .into_response()
    };
    match AuthorizeRequest::parse(&url, &base, &inner.config) {
        Ok(request) => {
            let scopes: String = request
                .scopes
                .iter()
                .map(|s| format!("<li>{}</li>", escape_html(s)))
                .collect();
            html(
                StatusCode::OK,
                "Slack: install incident-commander",
                &format!(
                    "<h1>{BOT_NAME} is requesting permission to access your Slack workspace</h1>\n\
                     <ul>{scopes}</ul>\n\
                     <form><button name=\"allow\">Allow</button> <button name=\"cancel\">Cancel</button></form>"
                ),
            )
        }
        Err(error) => html(
            StatusCode::BAD_REQUEST,
            "Slack: something went wrong",
            &format!(
                "<h1>Something went wrong when authorizing this app.</h1>\n<p>{}</p>",
                escape_html(&error)
            ),
        ),
    }
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

// --- HTTP Basic auth ---

/// The (client id, secret) of an `Authorization: Basic …` header.
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(base64_decode(encoded.trim())?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

/// Standard base64 (padding optional); `None` for anything else.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let bytes: Vec<u8> = text.trim_end_matches('=').bytes().collect();
    if bytes.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= value(*c)? << (18 - 6 * i);
        }
        out.push((n >> 16) as u8);
        if chunk.len() > 2 {
            out.push((n >> 8) as u8);
        }
        if chunk.len() > 3 {
            out.push(n as u8);
        }
    }
    Some(out)
}

// --- the handle ---

impl SlackSimulator {
    /// Adds the workspace `team_id` (`domain`.slack.com, called `name`), where the app is not
    /// installed yet, with its admin `U<x>ADMIN` (for `T<x>`). Its bot user will be
    /// `U<x>BOT`, bot id `B<x>BOT` (see [`SlackSimulator::bot_user_in`]).
    ///
    /// # Panics
    /// When `team_id` exists already.
    pub fn add_workspace(&self, team_id: &str, domain: &str, name: &str) {
        self.inner
            .with_state(|s| s.add_workspace(team_id, domain, name))
            .unwrap_or_else(|e| panic!("add_workspace: {e}"));
    }

    /// Adds (or renames) a human user of workspace `team_id`. User ids are unique across
    /// workspaces, as Slack's are.
    ///
    /// # Panics
    /// When there is no such workspace, or `id` is a user of another workspace.
    pub fn add_user_in(&self, team_id: &str, id: &str, name: &str) {
        self.inner
            .with_state(|s| {
                if s.team(team_id).is_none() {
                    return Err(format!("no workspace {team_id}"));
                }
                if let Some(user) = s.user(id)
                    && user.team_id != team_id
                {
                    return Err(format!("{id} is a user of {} already", user.team_id));
                }
                s.add_user_in(team_id, id, name, false);
                Ok(())
            })
            .unwrap_or_else(|e| panic!("add_user_in: {e}"));
    }

    /// Adds a channel to workspace `team_id`, created by its admin; `bot_is_member` puts that
    /// workspace's bot user in it (as if invited once the app is installed). Returns its id
    /// (unique across workspaces; its name is unique within the workspace).
    ///
    /// # Panics
    /// When there is no such workspace, or it has a channel named `name` already.
    pub fn add_channel_in(
        &self,
        team_id: &str,
        name: &str,
        is_private: bool,
        bot_is_member: bool,
    ) -> String {
        self.inner
            .with_state(|s| {
                let team = s
                    .team(team_id)
                    .ok_or_else(|| format!("no workspace {team_id}"))?;
                let admin = team.admin_user_id.clone();
                if s.channels
                    .iter()
                    .any(|c| c.team_id == team_id && c.name == name)
                {
                    return Err(format!("{team_id} has a #{name} already"));
                }
                Ok(s.add_channel(team_id, name, is_private, &admin, bot_is_member))
            })
            .unwrap_or_else(|e: String| panic!("add_channel_in: {e}"))
    }

    /// The channel called `name` (`#name` too) in workspace `team_id`.
    pub fn channel_by_name_in(&self, team_id: &str, name: &str) -> Option<Channel> {
        let name = name.trim_start_matches('#');
        self.inner.read_state(|s| {
            s.channels
                .iter()
                .find(|c| c.team_id == team_id && c.name == name)
                .map(|c| c.snapshot())
        })
    }

    /// The app's bot user in workspace `team_id` ([`BOT_USER_ID`] in the first; `U<x>BOT` in
    /// `T<x>`; in an org's workspaces the org's, `U<x>BOT` for `E<x>`), installed or not.
    /// `None`: no such workspace.
    pub fn bot_user_in(&self, team_id: &str) -> Option<String> {
        self.inner
            .read_state(|s| s.team(team_id).map(|t| t.bot_user_id.clone()))
    }

    /// The app's bot id (`B…`) in workspace `team_id`, as `auth.test` and its messages say.
    pub fn bot_id_in(&self, team_id: &str) -> Option<String> {
        self.inner
            .read_state(|s| s.team(team_id).map(|t| t.bot_id.clone()))
    }

    /// The newest bot token that works in `team_id` (expired or not), as the bot got it from
    /// `oauth.v2.access` (the configured [`SimulatorConfig::bot_token`] in the first
    /// workspace until it is reinstalled). `None`: the app is not installed there.
    pub fn bot_token_in(&self, team_id: &str) -> Option<String> {
        self.inner.read_state(|s| s.current_token_of(team_id))
    }

    /// Slack's authorize page, `http://127.0.0.1:PORT/oauth/v2/authorize`: where the app sends
    /// an admin's browser, with `?client_id=…&scope=…&state=…&redirect_uri=…`.
    pub fn oauth_authorize_url(&self) -> String {
        format!("{}{AUTHORIZE_PATH}", self.inner.base_url())
    }

    /// The admin `installer` (a user of `team_id`) opens `authorize_url` — the whole URL the
    /// app built — and clicks Allow: the app is installed in `team_id` with exactly the bot
    /// scopes of its `scope` parameter (they become the token's scopes, checked like
    /// [`SimulatorConfig::granted_scopes`]); a new bot token is minted, and any earlier one of
    /// the workspace answers `invalid_auth` from now on. Returns where the browser is
    /// redirected: `<redirect_uri>?code=<one-time code>&state=<state as given>`.
    ///
    /// Err (with Slack's error first): not this simulator's `/oauth/v2/authorize`
    /// (`oauth_authorization_url_mismatch` for the v1 page), another or no `client_id`
    /// (`invalid_client_id`), no bot scope (`invalid_scope`), no or a malformed `redirect_uri`
    /// (`bad_redirect_uri`), a workspace its org installed the app in
    /// (`cannot_install_an_org_installed_app`); or a test mistake (unknown workspace, an
    /// installer from elsewhere).
    pub fn approve_install(
        &self,
        authorize_url: &str,
        team_id: &str,
        installer: &str,
    ) -> Result<String, String> {
        let base = self.inner.base_url();
        let request = AuthorizeRequest::parse(authorize_url, &base, &self.inner.config)?;
        let config = &self.inner.config;
        self.inner
            .with_state(|s| s.approve(config, &request, team_id, installer))
    }

    /// Like [`SlackSimulator::approve_install`], but `installer` clicks Cancel: nothing is
    /// installed, and the browser goes to `<redirect_uri>?error=access_denied&state=…`.
    pub fn deny_install(
        &self,
        authorize_url: &str,
        team_id: &str,
        installer: &str,
    ) -> Result<String, String> {
        let base = self.inner.base_url();
        let request = AuthorizeRequest::parse(authorize_url, &base, &self.inner.config)?;
        self.inner
            .with_state(|s| s.deny(&request, team_id, installer))
    }

    /// Adds the Enterprise Grid org `enterprise_id` called `name`, made of the workspaces
    /// `team_ids` (added with [`SlackSimulator::add_workspace`], the app not installed there
    /// yet): they share the org's bot user `U<x>BOT` and bot id `B<x>BOT` (for `E<x>`), and
    /// what the app is sent from them carries the `enterprise_id`.
    ///
    /// # Panics
    /// When a workspace is unknown, the first one, installed already or in another org.
    pub fn add_enterprise(&self, enterprise_id: &str, name: &str, team_ids: &[&str]) {
        self.inner
            .with_state(|s| s.add_enterprise(enterprise_id, name, team_ids))
            .unwrap_or_else(|e| panic!("add_enterprise: {e}"));
    }

    /// An org admin `installer` (a user of one of the org's workspaces) opens `authorize_url`
    /// and installs the app org-wide: one bot token for every workspace of the org, whose
    /// exchange answers `"is_enterprise_install": true`, `"team": null` and `"enterprise":
    /// {id, name}`. A workspace-level token of those workspaces dies (`invalid_auth`). Returns
    /// the redirect, as [`SlackSimulator::approve_install`] does.
    pub fn approve_org_install(
        &self,
        authorize_url: &str,
        enterprise_id: &str,
        installer: &str,
    ) -> Result<String, String> {
        let base = self.inner.base_url();
        let request = AuthorizeRequest::parse(authorize_url, &base, &self.inner.config)?;
        let config = &self.inner.config;
        self.inner
            .with_state(|s| s.approve_org(config, &request, enterprise_id, installer))
    }

    /// Workspace `team_id` removes the app: the app hears `tokens_revoked`
    /// (`{"tokens":{"oauth":[],"bot":[<bot user>]}}`) then `app_uninstalled`, each an
    /// `event_callback` of that workspace, over Socket Mode or to the request URL like any
    /// event (when subscribed, as [`DEFAULT_EVENT_SUBSCRIPTIONS`](crate::DEFAULT_EVENT_SUBSCRIPTIONS)
    /// are); then its bot token answers `account_inactive` (what Slack answers a bot token of
    /// an uninstalled app), its refresh token `invalid_refresh_token`, and nothing is sent to
    /// the app from that workspace any more. Nothing happens when the app is not installed
    /// there. For one workspace of an org-wide install, only that workspace loses the app
    /// (`app_uninstalled` alone); the org's token dies with its last workspace.
    ///
    /// # Panics
    /// When there is no such workspace.
    pub fn uninstall(&self, team_id: &str) {
        self.inner
            .with_state(|s| s.uninstall(team_id))
            .unwrap_or_else(|e| panic!("uninstall: {e}"));
    }

    /// Workspaces where the app is installed, in the order they were added (the first
    /// workspace first while it is installed).
    pub fn installed_workspaces(&self) -> Vec<String> {
        self.inner.read_state(|s| s.installed_teams())
    }

    /// Every access token that works in `team_id` expires at once, as if its 12 hours had run
    /// out: calls with it answer `token_expired` until the app refreshes it (with token
    /// rotation; a token without rotation never expires at Slack, so only a test expires it).
    pub fn expire_tokens(&self, team_id: &str) {
        self.inner.with_state(|s| s.expire_tokens(team_id));
    }
}

#[cfg(test)]
mod tests {
    use super::base64_decode;

    #[test]
    fn base64_decodes_with_and_without_padding() {
        assert_eq!(
            base64_decode("MTIzNC41Njc4OnNlY3JldA==").unwrap(),
            b"1234.5678:secret"
        );
        assert_eq!(base64_decode("YWI").unwrap(), b"ab");
        assert_eq!(base64_decode("YQ==").unwrap(), b"a");
        assert!(base64_decode("Y").is_none());
        assert!(base64_decode("a$b=").is_none());
    }
}
