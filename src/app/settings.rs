//! `/inc config`: a workspace's own settings — shown to anyone, changed by its admins (or
//! whoever installed the app there). They are kept in its installation (`settings`, JSON) and
//! read with it (`workspaces::WorkspaceConfig`), so a change reaches every replica within
//! `workspaces::CACHE_FOR`. The deployment's own workspace has no installation: its settings
//! are the environment's, and `/inc config` there only shows them.

use serde_json::Value;

use super::Shared;
use super::workspaces::{HOME, keys};
use crate::domain::command::{ConfigCommand, Setting};
use crate::domain::message::span;
use crate::domain::mrkdwn::escape;
use crate::slack::Ack;
use crate::store::StoreError;

/// The ephemeral answer to `/inc config …` from `user`.
pub(crate) async fn reply(
    shared: &Shared,
    user: &str,
    asked: ConfigCommand,
) -> Result<Ack, StoreError> {
    let setting = match asked {
        ConfigCommand::Show => return Ok(Ack::ephemeral(shown(shared))),
        ConfigCommand::Set(setting) => setting,
    };
    if shared.ws.id == HOME {
        return Ok(Ack::ephemeral(
            "This is the deployment's own workspace: its settings are the environment's \
             (ANNOUNCE_CHANNEL, CHANNEL_PREFIX, ADMINS, COORDINATOR_GROUP, REMINDER_INTERVAL; \
             see docs/configuration.md). Nothing was changed.",
        ));
    }
    let admin = shared.ws.config.admins.iter().any(|a| a == user);
    if !admin && shared.ws.installer.as_deref() != Some(user) {
        return Ok(Ack::ephemeral(
            "Only this workspace's admins (and whoever installed incident-commander here) can \
             change its settings. Nothing was changed.",
        ));
    }
    let Some(installation) = shared.store.installation(&shared.ws.id).await? else {
        return Ok(Ack::ephemeral(
            "incident-commander is not installed in this workspace. Nothing was changed.",
        ));
    };
    let mut own = match installation.settings {
        Value::Object(map) => Value::Object(map),
        _ => Value::Object(Default::default()),
    };
    let (key, value) = match &setting {
        Setting::Announce(channel) => (keys::ANNOUNCE, channel.clone().into()),
        Setting::Prefix(prefix) => (keys::PREFIX, prefix.clone().into()),
        Setting::Admins(admins) => (keys::ADMINS, admins.clone().into()),
        Setting::CoordinatorGroup(group) => (keys::COORDINATOR_GROUP, group.clone().into()),
        Setting::Reminders(every) => (keys::REMINDER_MS, every.num_milliseconds().into()),
    };
    own[key] = value;
    shared
        .store
        .set_installation_settings(&shared.ws.id, &own)
        .await?;
    shared.workspaces.forget(&shared.ws.id);
    let now = super::workspaces::WorkspaceConfig::of(&shared.settings, &own);
    let announce = own
        .get(keys::ANNOUNCE)
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok(Ack::ephemeral(format!(
        "<@{user}> set *{}*. {}",
        setting.name(),
        listing(&now, announce.as_deref())
    )))
}

/// Every setting as it is now in this workspace.
fn shown(shared: &Shared) -> String {
    let changes = if shared.ws.id == HOME {
        "set in the environment (docs/configuration.md)"
    } else {
        "an admin changes one with `/inc config <setting> <value>`"
    };
    format!(
        "*This workspace's settings* ({changes}):\n{}",
        listing(&shared.ws.config, shared.ws.announce_channel.as_deref())
    )
}

fn listing(config: &super::workspaces::WorkspaceConfig, announce: Option<&str>) -> String {
    let people = |ids: &[String]| {
        if ids.is_empty() {
            "nobody".to_string()
        } else {
            ids.iter()
                .map(|id| format!("<@{id}>"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    format!(
        "• announce: {}\n• prefix: `{}` (channels are `{}-<n>-<title>`)\n• admins: {}\n\
         • coordinator-group: {}\n• reminders: every {}",
        announce.map_or("off".to_string(), |c| format!("<#{c}>")),
        escape(&config.channel_prefix),
        escape(&config.channel_prefix),
        people(&config.admins),
        config
            .coordinator_group
            .as_deref()
            .map_or("off".to_string(), |g| format!("<!subteam^{g}>")),
        span(config.reminders.every),
    )
}
