//! Installations on the application's side: what Slack granted (`slack::oauth::Grant`) sealed
//! and recorded, a workspace's bot token opened when a job needs it, refreshed tokens stored,
//! and the tokens of every installation resealed after a key rotation.
//!
//! **Sealing convention** (`crate::tokens`): a bot token is sealed with the associated data
//! `bot:<team_id>`, a refresh token with `refresh:<team_id>`, `team_id` being the
//! installation's (the organisation's `E…` for an org-wide install). Sealing happens here and
//! nowhere else, so the convention has one home; the store only ever sees sealed text.
//!
//! **Key rotation**: set the new key as `TOKEN_ENCRYPTION_KEY` and the old one as
//! `TOKEN_ENCRYPTION_KEY_PREVIOUS`, start the deployment — [`reseal`] seals every token still
//! under the old key with the new one — then drop `TOKEN_ENCRYPTION_KEY_PREVIOUS`.

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde_json::json;

use crate::slack::oauth::Grant;
use crate::store::{Installation, Store, StoreError};
use crate::tokens::{SealError, TokenKeys, bot_aad, refresh_aad};

/// Why resealing stopped.
#[derive(Debug, thiserror::Error)]
pub enum ResealError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A token that does not open: sealed with a key no longer configured (the message says to
    /// set `TOKEN_ENCRYPTION_KEY_PREVIOUS`), or altered.
    #[error("the installation of {team_id}: {error}")]
    Seal { team_id: String, error: SealError },
}

/// Seals `grant`'s tokens and records the installation (a reinstall replaces the grant and
/// keeps `installed_at` and the settings); returns it as stored.
pub async fn record(
    store: &Store,
    keys: &TokenKeys,
    grant: &Grant,
    now: DateTime<Utc>,
) -> Result<Installation, StoreError> {
    let team = grant.team_id.as_str();
    let installation = Installation {
        team_id: grant.team_id.clone(),
        enterprise_id: grant.enterprise_id.clone(),
        is_enterprise_install: grant.is_enterprise_install,
        team_name: grant.team_name.clone(),
        bot_user_id: grant.bot_user_id.clone(),
        scopes: grant.scopes.clone(),
        installer: grant.installer.clone(),
        bot_token: keys.seal(&grant.bot_token, &bot_aad(team)),
        refresh_token: grant
            .refresh_token
            .as_ref()
            .map(|t| keys.seal(t, &refresh_aad(team))),
        token_expires_at: expiry(grant, now),
        installed_at: now,
        updated_at: now,
        uninstalled_at: None,
        settings: json!({}),
    };
    store.save_installation(&installation).await
}

/// The installation's bot token, opened.
pub fn bot_token(keys: &TokenKeys, installation: &Installation) -> Result<SecretString, SealError> {
    keys.open(&installation.bot_token, &bot_aad(&installation.team_id))
}

/// The installation's refresh token (token rotation), opened; `None` without rotation.
pub fn refresh_token(
    keys: &TokenKeys,
    installation: &Installation,
) -> Result<Option<SecretString>, SealError> {
    installation
        .refresh_token
        .as_deref()
        .map(|sealed| keys.open(sealed, &refresh_aad(&installation.team_id)))
        .transpose()
}

/// Stores the tokens of `grant`, a refresh of `installation` (as it was read before asking
/// Slack), sealed; `false` if another replica stored tokens since it was read (read it again:
/// its tokens are as fresh). A refresh answer without a refresh token keeps the stored one.
pub async fn refreshed(
    store: &Store,
    keys: &TokenKeys,
    installation: &Installation,
    grant: &Grant,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let team = installation.team_id.as_str();
    let bot = keys.seal(&grant.bot_token, &bot_aad(team));
    let refresh = match &grant.refresh_token {
        Some(t) => Some(keys.seal(t, &refresh_aad(team))),
        None => installation.refresh_token.clone(),
    };
    store
        .replace_tokens(
            team,
            &bot,
            refresh.as_deref(),
            expiry(grant, now),
            installation.updated_at,
            now,
        )
        .await
}

/// Seals with the current key every token of every installation (active or not) that is
/// sealed with another — the previous key, after a rotation; returns how many installations
/// were resealed. A token that does not open stops it, naming the installation. An
/// installation whose tokens changed meanwhile (another replica resealing or refreshing) is
/// left as that one stored it.
pub async fn reseal(store: &Store, keys: &TokenKeys) -> Result<usize, ResealError> {
    let mut resealed = 0;
    for installation in store.installations().await? {
        let current = |sealed: &Option<String>| {
            sealed
                .as_deref()
                .is_none_or(|s| keys.sealed_with_current(s))
        };
        if keys.sealed_with_current(&installation.bot_token) && current(&installation.refresh_token)
        {
            continue;
        }
        let team = installation.team_id.as_str();
        let failed = |error| ResealError::Seal {
            team_id: installation.team_id.clone(),
            error,
        };
        let bot = bot_token(keys, &installation).map_err(failed)?;
        let refresh = refresh_token(keys, &installation).map_err(failed)?;
        let new_bot = keys.seal(&bot, &bot_aad(team));
        let new_refresh = refresh.map(|t| keys.seal(&t, &refresh_aad(team)));
        if store
            .reseal_installation_tokens(
                team,
                &installation.bot_token,
                &new_bot,
                installation.refresh_token.as_deref(),
                new_refresh.as_deref(),
            )
            .await?
        {
            resealed += 1;
        }
    }
    Ok(resealed)
}

/// When a token granted at `now` expires (token rotation).
fn expiry(grant: &Grant, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    grant
        .expires_in
        .and_then(|d| chrono::Duration::from_std(d).ok())
        .map(|d| now + d)
}
