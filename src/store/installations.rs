//! Installations: the app added to a workspace (or, org-wide, to an Enterprise Grid
//! organisation) through Slack's OAuth flow, with its tokens **as sealed** by `crate::tokens` —
//! the store never sees a token, only `v1.<key id>.<…>` text.
//!
//! A reinstall replaces what Slack granted (tokens, scopes, bot user, installer, names) and
//! clears `uninstalled_at`, keeping when the app was first installed and the workspace's own
//! settings. Tokens refreshed by Slack's token rotation are replaced **optimistically**
//! ([`Store::replace_tokens`]: only if `updated_at` is still what the refresher read), so two
//! replicas refreshing at once store one result. A key rotation reseals tokens in place
//! ([`Store::reseal_installation_tokens`], fenced on the sealed text itself, leaving `updated_at`
//! alone so a refresh in flight still lands).

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{Store, StoreError, from_ms, to_ms};

/// `SELECT <every installation column> FROM installations <tail>`, as one static string.
/// `is_enterprise_install` is read as 0/1 (SQLite's BOOLEAN does not pass through `Any`).
macro_rules! select_installations {
    ($tail:literal) => {
        concat!(
            "SELECT team_id, enterprise_id, ",
            "CASE WHEN is_enterprise_install THEN 1 ELSE 0 END AS is_enterprise_install, ",
            "team_name, bot_user_id, scopes, installer, bot_token, refresh_token, ",
            "token_expires_at, installed_at, updated_at, uninstalled_at, settings ",
            "FROM installations ",
            $tail
        )
    };
}

const SAVE: &str = "INSERT INTO installations (team_id, enterprise_id, is_enterprise_install, \
     team_name, bot_user_id, scopes, installer, bot_token, refresh_token, token_expires_at, \
     installed_at, updated_at, uninstalled_at, settings) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, $13) \
     ON CONFLICT (team_id) DO UPDATE SET enterprise_id = excluded.enterprise_id, \
     is_enterprise_install = excluded.is_enterprise_install, team_name = excluded.team_name, \
     bot_user_id = excluded.bot_user_id, scopes = excluded.scopes, \
     installer = excluded.installer, bot_token = excluded.bot_token, \
     refresh_token = excluded.refresh_token, token_expires_at = excluded.token_expires_at, \
     updated_at = excluded.updated_at, uninstalled_at = NULL";
const ONE: &str = select_installations!("WHERE team_id = $1");
/// The workspace's own active installation first, else its organisation's org-wide one.
const SERVING: &str = select_installations!(
    "WHERE uninstalled_at IS NULL AND (team_id = $1 \
     OR (is_enterprise_install AND team_id = $2)) \
     ORDER BY CASE WHEN team_id = $1 THEN 0 ELSE 1 END LIMIT 1"
);
const ALL: &str = select_installations!("ORDER BY installed_at, team_id");
const MARK_UNINSTALLED: &str = "UPDATE installations SET uninstalled_at = $2, updated_at = $2 \
     WHERE team_id = $1 AND uninstalled_at IS NULL";
/// `updated_at` always moves forward, even within the millisecond the refresher read, so a
/// second replica holding the same `previous_updated_at` never matches.
const REPLACE_TOKENS: &str = "UPDATE installations SET bot_token = $2, refresh_token = $3, \
     token_expires_at = $4, updated_at = CASE WHEN $6 > $5 THEN $6 ELSE $5 + 1 END \
     WHERE team_id = $1 AND updated_at = $5";
const RESEAL_TOKENS: &str = "UPDATE installations SET bot_token = $3, refresh_token = $5 \
     WHERE team_id = $1 AND bot_token = $2 AND COALESCE(refresh_token, '') = COALESCE($4, '')";
const SET_SETTINGS: &str = "UPDATE installations SET settings = $2 WHERE team_id = $1";

/// One installation as stored. Its tokens are sealed (`crate::tokens`), never plain.
#[derive(Debug, Clone, PartialEq)]
pub struct Installation {
    /// The workspace (`T…`), or for an org-wide install the organisation (`E…`).
    pub team_id: String,
    /// The Enterprise Grid organisation the workspace belongs to, if any.
    pub enterprise_id: Option<String>,
    /// Installed on the whole organisation: it serves every workspace of `team_id`'s org.
    pub is_enterprise_install: bool,
    pub team_name: String,
    /// The bot's user in that workspace (`U…`/`W…`).
    pub bot_user_id: String,
    /// The bot scopes Slack granted.
    pub scopes: Vec<String>,
    /// Who installed it.
    pub installer: Option<String>,
    /// Sealed with the AAD `bot:<team_id>`.
    pub bot_token: String,
    /// Sealed with the AAD `refresh:<team_id>`; only with token rotation.
    pub refresh_token: Option<String>,
    /// When the bot token expires (token rotation); `None`: it does not.
    pub token_expires_at: Option<DateTime<Utc>>,
    pub installed_at: DateTime<Utc>,
    /// The last time Slack's grant or the tokens were stored: the optimistic fence of
    /// [`Store::replace_tokens`].
    pub updated_at: DateTime<Utc>,
    /// Set by `app_uninstalled` or `tokens_revoked`; the row stays.
    pub uninstalled_at: Option<DateTime<Utc>>,
    /// The workspace's own configuration, a JSON object.
    pub settings: Value,
}

impl Installation {
    /// Not uninstalled.
    pub fn active(&self) -> bool {
        self.uninstalled_at.is_none()
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    team_id: String,
    enterprise_id: Option<String>,
    is_enterprise_install: i64,
    team_name: String,
    bot_user_id: String,
    scopes: String,
    installer: Option<String>,
    bot_token: String,
    refresh_token: Option<String>,
    token_expires_at: Option<i64>,
    installed_at: i64,
    updated_at: i64,
    uninstalled_at: Option<i64>,
    settings: String,
}

impl Row {
    fn read(self) -> Result<Installation, StoreError> {
        let settings = serde_json::from_str(&self.settings).map_err(|e| {
            StoreError::Corrupt(format!(
                "installation {}'s settings are not JSON: {e}",
                self.team_id
            ))
        })?;
        Ok(Installation {
            enterprise_id: self.enterprise_id,
            is_enterprise_install: self.is_enterprise_install != 0,
            team_name: self.team_name,
            bot_user_id: self.bot_user_id,
            scopes: self
                .scopes
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            installer: self.installer,
            bot_token: self.bot_token,
            refresh_token: self.refresh_token,
            token_expires_at: self.token_expires_at.map(from_ms).transpose()?,
            installed_at: from_ms(self.installed_at)?,
            updated_at: from_ms(self.updated_at)?,
            uninstalled_at: self.uninstalled_at.map(from_ms).transpose()?,
            settings,
            team_id: self.team_id,
        })
    }
}

impl Store {
    /// Records an installation: a new one as given, or — a reinstall — Slack's new grant over
    /// the stored one (tokens, expiry, scopes, bot user, installer, names, `updated_at`), made
    /// active again; `installed_at` and the settings stay. Returns the stored installation.
    pub async fn save_installation(
        &self,
        installation: &Installation,
    ) -> Result<Installation, StoreError> {
        let i = installation;
        let mut tx = self.pool.begin().await?;
        sqlx::query(SAVE)
            .bind(i.team_id.as_str())
            .bind(i.enterprise_id.as_deref())
            .bind(i.is_enterprise_install)
            .bind(i.team_name.as_str())
            .bind(i.bot_user_id.as_str())
            .bind(i.scopes.join(","))
            .bind(i.installer.as_deref())
            .bind(i.bot_token.as_str())
            .bind(i.refresh_token.as_deref())
            .bind(i.token_expires_at.map(to_ms))
            .bind(to_ms(i.installed_at))
            .bind(to_ms(i.updated_at))
            .bind(i.settings.to_string())
            .execute(&mut *tx)
            .await?;
        let row: Row = sqlx::query_as(ONE)
            .bind(i.team_id.as_str())
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        row.read()
    }

    /// The installation of `team_id` (a workspace's, or an org-wide one's), active or not.
    pub async fn installation(&self, team_id: &str) -> Result<Option<Installation>, StoreError> {
        let row: Option<Row> = sqlx::query_as(ONE)
            .bind(team_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(Row::read).transpose()
    }

    /// The active installation that serves `team_id`: the workspace's own, else an org-wide one
    /// of its organisation (`enterprise_id`).
    pub async fn installation_serving(
        &self,
        team_id: &str,
        enterprise_id: Option<&str>,
    ) -> Result<Option<Installation>, StoreError> {
        let row: Option<Row> = sqlx::query_as(SERVING)
            .bind(team_id)
            .bind(enterprise_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(Row::read).transpose()
    }

    /// Every installation, active or not, oldest first.
    pub async fn installations(&self) -> Result<Vec<Installation>, StoreError> {
        let rows: Vec<Row> = sqlx::query_as(ALL).fetch_all(&self.pool).await?;
        rows.into_iter().map(Row::read).collect()
    }

    /// Marks `team_id`'s installation uninstalled at `at`; `true` if it was active.
    pub async fn mark_uninstalled(
        &self,
        team_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let changed = sqlx::query(MARK_UNINSTALLED)
            .bind(team_id)
            .bind(to_ms(at))
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(changed == 1)
    }

    /// Stores refreshed (sealed) tokens if the installation's `updated_at` is still
    /// `previous_updated_at` — nobody stored other tokens since they were read; `false`
    /// otherwise (another replica refreshed first: read the installation again).
    pub async fn replace_tokens(
        &self,
        team_id: &str,
        bot_token: &str,
        refresh_token: Option<&str>,
        expires_at: Option<DateTime<Utc>>,
        previous_updated_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let changed = sqlx::query(REPLACE_TOKENS)
            .bind(team_id)
            .bind(bot_token)
            .bind(refresh_token)
            .bind(expires_at.map(to_ms))
            .bind(to_ms(previous_updated_at))
            .bind(to_ms(now))
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(changed == 1)
    }

    /// Replaces the same tokens sealed anew (a key rotation) if the row still holds exactly
    /// `old_bot` and `old_refresh`; `false` if something else stored tokens meanwhile.
    /// `updated_at` stays: the tokens are the same, so a refresh in flight may still land.
    pub async fn reseal_installation_tokens(
        &self,
        team_id: &str,
        old_bot: &str,
        new_bot: &str,
        old_refresh: Option<&str>,
        new_refresh: Option<&str>,
    ) -> Result<bool, StoreError> {
        let changed = sqlx::query(RESEAL_TOKENS)
            .bind(team_id)
            .bind(old_bot)
            .bind(new_bot)
            .bind(old_refresh)
            .bind(new_refresh)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(changed == 1)
    }

    /// Replaces the workspace's own settings; `false` if there is no such installation.
    pub async fn set_installation_settings(
        &self,
        team_id: &str,
        settings: &Value,
    ) -> Result<bool, StoreError> {
        let changed = sqlx::query(SET_SETTINGS)
            .bind(team_id)
            .bind(settings.to_string())
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(changed == 1)
    }
}
