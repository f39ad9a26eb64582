//! The workspaces one deployment serves, and which one an envelope or a job belongs to.
//!
//! The deployment's own workspace — the one `SLACK_BOT_TOKEN` belongs to, found with `auth.test`
//! at startup — is [`HOME`] in the store (`incidents.team_id = ''`), so a single-workspace
//! deployment, and every incident recorded before there were others, is unchanged. Every other
//! workspace installed the app through Slack's OAuth flow (`installations`); its id in the store
//! is its team id (`T…`), or for an Enterprise Grid org-wide install the organisation's (`E…`).
//!
//! Each envelope names its workspace (`team_id`, and `enterprise_id` on Grid): [`Workspaces::for_team`]
//! resolves it — the home workspace without a database read; an installed one from a cache kept
//! a few seconds, so an uninstall on another replica takes effect within [`CACHE_FOR`]. Each job
//! acts in its incident's workspace ([`Workspaces::of_job`]). A workspace that never installed
//! the app, or uninstalled it, is not served: its commands are told so, its events and its
//! jobs are dropped.
//!
//! Isolation is by the store's queries, each of which takes the workspace: numbers (`INC-n` per
//! workspace), `/inc list`, the digest and `/inc stats` see only their own workspace's incidents.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::slack::{BotIdentity, SlackApi, Team};
use crate::store::{Job, StoreError};

use super::{AppState, installs};

/// The deployment's own workspace's id in the store.
pub(crate) const HOME: &str = crate::store::HOME_WORKSPACE;

/// How long an installed workspace is served from memory before its installation is read again.
pub(crate) const CACHE_FOR: Duration = Duration::from_secs(10);

/// A workspace the deployment serves, as use cases need it.
#[derive(Clone)]
pub(crate) struct Workspace {
    /// [`HOME`], or the installation's team id.
    pub id: String,
    /// Slack with this workspace's bot token.
    pub slack: SlackApi,
    pub bot: BotIdentity,
    pub announce_channel: Option<String>,
    /// Rules' channels resolved in this workspace (the home workspace's, at startup; none
    /// elsewhere yet: a rule's post to a channel named by the rules file is skipped there).
    pub rule_channels: Arc<HashMap<String, String>>,
    /// Its settings: the environment's, overridden by its own.
    pub config: Arc<WorkspaceConfig>,
    /// Who installed the app there (`None`: the deployment's own workspace).
    pub installer: Option<String>,
}

/// A workspace's settings — the environment's, each overridden by the workspace's own
/// (`/inc config`, kept in its installation's `settings`).
#[derive(Debug, Clone)]
pub(crate) struct WorkspaceConfig {
    pub admins: Vec<String>,
    pub channel_prefix: String,
    pub coordinator_group: Option<String>,
    pub reminders: crate::domain::reminder::Policy,
}

/// The keys of a workspace's own settings, as kept in `installations.settings` (JSON).
pub(crate) mod keys {
    pub const ANNOUNCE: &str = "announce_channel";
    pub const PREFIX: &str = "channel_prefix";
    pub const ADMINS: &str = "admins";
    /// A string, or `null` for none (set off: the environment's group is not used).
    pub const COORDINATOR_GROUP: &str = "coordinator_group";
    pub const REMINDER_MS: &str = "reminder_interval_ms";
}

impl WorkspaceConfig {
    /// `settings` (the environment) with what `own` (a workspace's settings) overrides.
    pub(crate) fn of(
        settings: &crate::config::Settings,
        own: &serde_json::Value,
    ) -> WorkspaceConfig {
        let mut config = WorkspaceConfig {
            admins: settings.admins.clone(),
            channel_prefix: settings.channel_prefix.clone(),
            coordinator_group: settings.coordinator_group.clone(),
            reminders: settings.reminders.clone(),
        };
        if let Some(admins) = own.get(keys::ADMINS).and_then(serde_json::Value::as_array) {
            config.admins = admins
                .iter()
                .filter_map(|a| a.as_str().map(str::to_string))
                .collect();
        }
        if let Some(prefix) = own.get(keys::PREFIX).and_then(serde_json::Value::as_str) {
            config.channel_prefix = prefix.to_string();
        }
        if let Some(group) = own.get(keys::COORDINATOR_GROUP) {
            config.coordinator_group = group.as_str().map(str::to_string);
        }
        if let Some(ms) = own
            .get(keys::REMINDER_MS)
            .and_then(serde_json::Value::as_i64)
        {
            // One interval for every severity, as the workspace set it.
            config.reminders.every = chrono::Duration::milliseconds(ms);
            config.reminders.by_severity.clear();
        }
        config
    }
}

/// The home workspace and a short-lived cache of installed ones.
pub(crate) struct Workspaces {
    home: Workspace,
    cache: Mutex<HashMap<String, Cached>>,
}

/// What was read of an installed workspace, and until when it holds.
struct Cached {
    read: Instant,
    /// With token rotation: when its bot token expires (by the app's clock).
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
    workspace: Option<Workspace>,
}

impl Workspaces {
    pub(crate) fn new(home: Workspace) -> Workspaces {
        Workspaces {
            home,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The workspace an envelope from `team` (and `enterprise`, on Grid) belongs to; `None` if
    /// the app is not installed there (or no longer).
    pub(crate) async fn for_team(
        &self,
        app: &AppState,
        team: &str,
        enterprise: Option<&str>,
    ) -> Result<Option<Workspace>, StoreError> {
        // Envelopes without a team (none Slack sends today) and the home team's are home's —
        // also those of every workspace of an organisation whose org-wide token it is.
        let home = self.home.bot.team_id.as_str();
        if team.is_empty() || team == home || enterprise == Some(home) {
            return Ok(Some(self.home.clone()));
        }
        if app.settings.workspaces.is_none() {
            // Installs off: the one workspace whose token this is, and no other.
            return Ok(None);
        }
        // On the ack path a rotating token is refreshed only once it has expired (a workspace
        // idle for its whole 12 hours); its jobs refresh it ahead.
        self.installed(app, team, enterprise, chrono::Duration::zero())
            .await
    }

    /// The workspace with the store id `id`, for a job.
    pub(crate) async fn by_id(
        &self,
        app: &AppState,
        id: &str,
    ) -> Result<Option<Workspace>, StoreError> {
        if id == HOME {
            return Ok(Some(self.home.clone()));
        }
        self.installed(app, id, None, REFRESH_AHEAD).await
    }

    /// The workspace `job` acts in: its incident's, or the one its payload names (the digest);
    /// home for work that belongs to no incident.
    pub(crate) async fn of_job(
        &self,
        app: &AppState,
        job: &Job,
        named: Option<&str>,
    ) -> Result<Option<Workspace>, StoreError> {
        if app.settings.workspaces.is_none() {
            // Installs off: every job is the deployment's own workspace's, and no read is spent.
            return Ok(Some(self.home.clone()));
        }
        let id = match (job.incident_id, named) {
            (_, Some(named)) => named.to_string(),
            (Some(incident), None) => app.store.workspace_of(incident).await?,
            (None, None) => HOME.to_string(),
        };
        self.by_id(app, &id).await
    }

    /// Forgets what is cached of `team`, after its installation changed here.
    pub(crate) fn forget(&self, team: &str) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.remove(team);
        }
    }

    /// An installed workspace, from the cache unless it is older than [`CACHE_FOR`] or its
    /// rotating token expires within `ahead`, when it is read again (and the token refreshed).
    async fn installed(
        &self,
        app: &AppState,
        team: &str,
        enterprise: Option<&str>,
        ahead: chrono::Duration,
    ) -> Result<Option<Workspace>, StoreError> {
        let key = team.to_string();
        let now = app.clock.now();
        if let Ok(cache) = self.cache.lock()
            && let Some(cached) = cache.get(&key)
            && cached.read.elapsed() < CACHE_FOR
            && cached.expires_at.is_none_or(|at| now < at - ahead)
        {
            return Ok(cached.workspace.clone());
        }
        let (workspace, expires_at) = match self.load(app, team, enterprise, ahead).await? {
            Some((workspace, expires_at)) => (Some(workspace), expires_at),
            None => (None, None),
        };
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(
                key,
                Cached {
                    read: Instant::now(),
                    expires_at,
                    workspace: workspace.clone(),
                },
            );
        }
        Ok(workspace)
    }

    async fn load(
        &self,
        app: &AppState,
        team: &str,
        enterprise: Option<&str>,
        ahead: chrono::Duration,
    ) -> Result<Option<(Workspace, Option<chrono::DateTime<chrono::Utc>>)>, StoreError> {
        let Some(oauth) = &app.settings.workspaces else {
            return Ok(None);
        };
        let Some(mut installation) = app.store.installation_serving(team, enterprise).await? else {
            return Ok(None);
        };
        if let Some(fresh) = refresh_if_due(app, oauth, &installation, ahead).await? {
            installation = fresh;
        }
        let token = match installs::bot_token(&oauth.keys, &installation) {
            Ok(token) => token,
            Err(e) => {
                // A key that does not open it: TOKEN_ENCRYPTION_KEY changed without
                // TOKEN_ENCRYPTION_KEY_PREVIOUS. Not served until the key is put back.
                tracing::error!(team = %installation.team_id, error = %e, "an installation's token cannot be opened");
                return Ok(None);
            }
        };
        let workspace = Workspace {
            id: installation.team_id.clone(),
            slack: self.home.slack.with_token(&token),
            bot: BotIdentity {
                user_id: installation.bot_user_id.clone(),
                team_id: installation.team_id.clone(),
                team: installation.team_name.clone(),
            },
            announce_channel: installation
                .settings
                .get(ANNOUNCE_SETTING)
                .and_then(serde_json::Value::as_str)
                .map(str::to_string),
            rule_channels: Arc::new(HashMap::new()),
            config: Arc::new(WorkspaceConfig::of(&app.settings, &installation.settings)),
            installer: installation.installer.clone(),
        };
        Ok(Some((workspace, installation.token_expires_at)))
    }
}

/// The workspace setting naming its announce channel's id.
const ANNOUNCE_SETTING: &str = keys::ANNOUNCE;

/// How long before its expiry a job refreshes a rotating bot token (an envelope waits for it
/// to expire: the refresh is a call to Slack, which the ack path does not make otherwise).
const REFRESH_AHEAD: chrono::Duration = chrono::Duration::minutes(5);

/// With token rotation: the installation with a fresh bot token if its own expires within
/// `ahead` (refreshed once across replicas: another replica's fresher tokens win and are read
/// again); `None` when it need not be.
async fn refresh_if_due(
    app: &AppState,
    oauth: &crate::config::workspaces::OAuth,
    installation: &crate::store::Installation,
    ahead: chrono::Duration,
) -> Result<Option<crate::store::Installation>, StoreError> {
    let now = app.clock.now();
    let due = installation
        .token_expires_at
        .is_some_and(|at| at - ahead <= now);
    let refresh_token = match installs::refresh_token(&oauth.keys, installation) {
        Ok(Some(token)) if due => token,
        _ => return Ok(None),
    };
    let client = crate::slack::oauth::OAuthClient::new(app.settings.slack_timeout);
    let grant = match crate::slack::oauth::refresh(
        &client,
        &app.settings.slack_api_url,
        oauth,
        &refresh_token,
    )
    .await
    {
        Ok(grant) => grant,
        Err(e) => {
            // The token still works until it expires; the next read tries again.
            tracing::warn!(team = %installation.team_id, error = %e, "refreshing a bot token failed");
            return Ok(None);
        }
    };
    installs::refreshed(&app.store, &oauth.keys, installation, &grant, now).await?;
    // Ours or another replica's: the tokens stored now are fresh.
    app.store.installation(&installation.team_id).await
}

/// Installing: what Slack granted is sealed and recorded, the workspace's announce channel is
/// looked up by `ANNOUNCE_CHANNEL`'s name, and its digest scheduled — off Slack's ack path, in
/// the browser's request back from Slack.
pub(crate) struct Installer {
    pub app: Arc<AppState>,
}

#[async_trait::async_trait]
impl crate::slack::oauth::Installs for Installer {
    async fn installed(&self, grant: crate::slack::oauth::Grant) -> Result<String, String> {
        let app = &self.app;
        let Some(oauth) = &app.settings.workspaces else {
            return Err("installing is off".into());
        };
        if grant.is_enterprise_install {
            // Channels would have to be made in each workspace of the organisation (`team_id`
            // on every call), which the bot does not do yet.
            return Err(format!(
                "installing in the whole organisation {} is not supported yet: install \
                 incident-commander in each of its workspaces instead (and remove the \
                 organisation-wide installation in Slack)",
                grant.team_name
            ));
        }
        if grant.team_id == app.workspaces.home.bot.team_id {
            return Err(format!(
                "{} is this deployment's own workspace: it is served with SLACK_BOT_TOKEN",
                grant.team_name
            ));
        }
        let now = app.clock.now();
        let installation = installs::record(&app.store, &oauth.keys, &grant, now)
            .await
            .map_err(|e| format!("it could not be recorded ({e}); try again"))?;
        let team = installation.team_id.clone();
        // `#name` is looked up in the new workspace (an id names a channel of another one).
        let wanted = app
            .settings
            .announce_channel
            .as_deref()
            .and_then(|c| c.strip_prefix('#'));
        if let Some(name) = wanted
            && installation.settings.get(ANNOUNCE_SETTING).is_none()
            && !grant.is_enterprise_install
        {
            let slack = app.workspaces.home.slack.with_token(&grant.bot_token);
            match slack.find_channel(name).await {
                Ok(Some(channel)) => {
                    let mut settings = installation.settings.clone();
                    settings[ANNOUNCE_SETTING] = serde_json::Value::from(channel.id);
                    app.store
                        .set_installation_settings(&team, &settings)
                        .await
                        .map_err(|e| format!("it could not be recorded ({e}); try again"))?;
                }
                Ok(None) => {
                    tracing::info!(%team, "no #{name} in the new workspace: nothing will be announced there")
                }
                Err(e) => {
                    tracing::warn!(%team, error = %e, "looking up the announce channel failed")
                }
            }
        }
        if let Some(job) = super::steps::next_digest_job(&app.settings, &team, now) {
            app.store
                .enqueue(None, job)
                .await
                .map_err(|e| format!("it could not be recorded ({e}); try again"))?;
        }
        app.workspaces.forget(&team);
        tracing::info!(%team, name = %installation.team_name, "the app was installed in a workspace");
        Ok(installation.team_name)
    }
}

/// `shared` in the workspace `incident` belongs to; `None` if that workspace removed the app.
pub(crate) async fn of_incident(
    shared: &super::Shared,
    incident: crate::domain::IncidentId,
) -> Result<Option<Arc<super::Shared>>, StoreError> {
    let id = if shared.settings.workspaces.is_none() {
        HOME.to_string()
    } else {
        shared.store.workspace_of(incident).await?
    };
    Ok(shared
        .workspaces
        .by_id(shared, &id)
        .await?
        .map(|workspace| shared.with(&workspace)))
}

/// `team` removed the app (`app_uninstalled`) or revoked its bot token (`tokens_revoked`): its
/// installation is marked gone and forgotten here, so its envelopes are refused and its jobs
/// dropped when they come due (other replicas follow within [`CACHE_FOR`]). Its incidents stay,
/// with their history. The deployment's own workspace has no installation to mark: its token
/// comes from the environment, and the log says it stopped working.
pub(crate) async fn uninstalled(app: &AppState, team: &Team) -> Result<(), StoreError> {
    let workspaces = &app.workspaces;
    if team.id == workspaces.home.bot.team_id
        || team.enterprise.as_deref() == Some(&workspaces.home.bot.team_id)
    {
        tracing::error!(
            team = %team.id,
            "the deployment's own workspace removed the app: SLACK_BOT_TOKEN no longer works"
        );
        return Ok(());
    }
    let now = app.clock.now();
    // An org-wide install is recorded under its organisation.
    let mut gone = false;
    for id in std::iter::once(team.id.as_str()).chain(team.enterprise.as_deref()) {
        if app.store.mark_uninstalled(id, now).await? {
            gone = true;
            workspaces.forget(id);
            tracing::info!(team = %id, "the app was removed from a workspace; its work stops");
            break;
        }
    }
    if !gone {
        tracing::info!(team = %team.id, "an uninstall of a workspace not installed here (again?)");
    }
    Ok(())
}
