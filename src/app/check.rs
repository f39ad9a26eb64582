//! `incident-commander check`: a checklist of what a deployment needs, printed line by line —
//! the configuration, the database's schema (its migration history, read only: a database a newer
//! version migrated fails here as it would stop startup), the bot token (`auth.test`), the app
//! token (Socket Mode), the announce channel, the scopes Slack granted against those the bot
//! uses, and the systems outside Slack (the status page read, the channels rules post to). It changes nothing: no Socket Mode connection, and the database is neither created nor
//! migrated.

use std::io::Write;

use std::time::Duration;

use super::resolve_channel;
use crate::config::{Settings, redact_url};
use crate::manifest::{self, FEATURES};
use crate::slack::scopes::{self, BOT_METHODS};
use crate::slack::{SlackApi, SlackError, api};
use crate::store::{self, Schema, StoreError};

/// How long the database gets to answer.
const DATABASE_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs the checks, printing each to `out`; returns how many failed.
pub async fn run(settings: &Settings, out: &mut impl Write) -> usize {
    let mut failed = 0;
    let mut line = |ok: bool, text: String| {
        if !ok {
            failed += 1;
        }
        let _ = writeln!(out, "{} {text}", if ok { "[ok]  " } else { "[FAIL]" });
    };
    line(
        true,
        format!(
            "configuration: SLACK_API_URL {}, DATABASE_URL {}, HTTP_ADDR {}, alert intake {}",
            settings.slack_api_url,
            redact_url(&settings.database_url),
            settings.http_addr,
            if settings.alert_token.is_some() {
                "on"
            } else {
                "off (ALERT_TOKEN unset)"
            }
        ),
    );
    let (ok, text) = database(&settings.database_url).await;
    line(ok, text);
    let client = match api::client(&settings.slack_api_url) {
        Ok(client) => client,
        Err(e) => {
            line(false, format!("HTTP client: {e}"));
            return failed;
        }
    };
    let slack = SlackApi::new(client, &settings.bot_token, settings.slack_timeout);
    match slack.auth_test().await {
        Ok(bot) => line(
            true,
            format!(
                "SLACK_BOT_TOKEN: auth.test says the bot is {} in workspace {}",
                bot.user_id, bot.team
            ),
        ),
        Err(e) => {
            line(
                false,
                format!("SLACK_BOT_TOKEN: auth.test failed: {}", explain(&e)),
            );
            let _ = writeln!(out, "[--]   the other checks need a working bot token");
            return failed;
        }
    }
    match &settings.transport {
        crate::config::Transport::SocketMode { app_token } => {
            match slack.check_app_token(app_token).await {
                Ok(()) => line(
                    true,
                    "SLACK_APP_TOKEN: Socket Mode accepts it (apps.connections.open)".into(),
                ),
                Err(e) => line(
                    false,
                    format!(
                        "SLACK_APP_TOKEN: apps.connections.open failed: {} (an app-level token with connections:write, and Socket Mode on)",
                        explain(&e)
                    ),
                ),
            }
        }
        // Slack cannot be asked whether a signing secret is right: only its requests tell.
        crate::config::Transport::Http { .. } => line(
            true,
            format!(
                "SLACK_TRANSPORT=http: Slack's requests to /slack/events, /slack/commands and /slack/interactivity on {} are verified with SLACK_SIGNING_SECRET (the app's request URLs must point there: incident-commander manifest --http <url>)",
                settings.http_addr
            ),
        ),
    }
    match &settings.announce_channel {
        None => line(
            true,
            "ANNOUNCE_CHANNEL: unset, incidents are not announced".into(),
        ),
        Some(target) => match resolve_channel(&slack, target).await {
            Err(e) => line(false, e.to_string()),
            Ok(id) => match slack.channel_membership(&id).await {
                Ok((name, true)) => line(
                    true,
                    format!("ANNOUNCE_CHANNEL {target}: #{name} ({id}), the bot is a member"),
                ),
                Ok((name, false)) => line(
                    false,
                    format!(
                        "ANNOUNCE_CHANNEL {target}: #{name} ({id}), but the bot is not a member: /invite @incident-commander there"
                    ),
                ),
                Err(e) => line(
                    false,
                    format!(
                        "ANNOUNCE_CHANNEL {target}: conversations.info failed: {}",
                        explain(&e)
                    ),
                ),
            },
        },
    }
    let needed = manifest::bot_scopes(&FEATURES);
    match scopes::granted_scopes(
        &settings.slack_api_url,
        &settings.bot_token,
        settings.slack_timeout,
    )
    .await
    {
        Ok(granted) => {
            let missing: Vec<String> = needed
                .iter()
                .filter(|s| !granted.iter().any(|g| g == *s))
                .map(|s| {
                    let users: Vec<&str> = BOT_METHODS
                        .iter()
                        .filter(|(_, n)| n.contains(s))
                        .map(|(m, _)| *m)
                        .collect();
                    match users.is_empty() {
                        true => s.to_string(),
                        false => format!("{s} ({})", users.join(", ")),
                    }
                })
                .collect();
            if missing.is_empty() {
                line(
                    true,
                    format!(
                        "scopes: the bot token has all {} the bot uses",
                        needed.len()
                    ),
                );
            } else {
                line(
                    false,
                    format!(
                        "scopes: the bot token lacks {}; add them under OAuth & Permissions (or paste `incident-commander manifest` into the app's manifest) and reinstall the app",
                        missing.join(", ")
                    ),
                );
            }
        }
        Err(e) => line(false, format!("scopes: auth.test failed: {}", explain(&e))),
    }
    for (ok, text) in outside(settings, &slack).await {
        line(ok, text);
    }
    failed
}

/// The lines of the systems outside Slack: what is configured, the status page reached, and
/// every channel a rule posts to seen by the bot. Nothing is sent to PagerDuty or a webhook
/// receiver (a test event would page someone or tell a system of an incident that is not).
async fn outside(settings: &Settings, slack: &SlackApi) -> Vec<(bool, String)> {
    let integrations = &settings.integrations;
    let mut lines = Vec::new();
    lines.push((
        true,
        match &integrations.pagerduty {
            None => "PagerDuty: off (PAGERDUTY_SERVICES unset)".to_string(),
            Some(pd) => format!(
                "PagerDuty: services {} at {}; its webhooks {}",
                pd.names().join(", "),
                pd.events_url,
                match pd.webhook_secret {
                    Some(_) => "are heard at POST /integrations/pagerduty",
                    None => "are off (PAGERDUTY_WEBHOOK_SECRET unset)",
                }
            ),
        },
    ));
    match &integrations.statuspage {
        None => lines.push((
            true,
            "status page: off (STATUSPAGE_API_KEY and STATUSPAGE_PAGE_ID unset)".into(),
        )),
        Some(sp) => {
            let api = crate::outside::Client::new(integrations.timeout).map(|client| {
                crate::outside::statuspage::StatuspageApi::new(
                    client,
                    sp.api_url.clone(),
                    sp.page_id.clone(),
                    sp.api_key.clone(),
                )
            });
            lines.push(match api {
                Err(e) => (false, format!("status page: HTTP client: {e}")),
                Ok(api) => match api.components().await {
                    Ok(components) => (
                        true,
                        format!(
                            "status page {}: the API key reads its {} components",
                            sp.page_id,
                            components.len()
                        ),
                    ),
                    Err(e) => (false, format!("status page {}: {e}", sp.page_id)),
                },
            });
        }
    }
    lines.push((
        true,
        match &integrations.webhooks {
            None => "webhooks: off (WEBHOOK_URLS unset)".to_string(),
            Some(hooks) => format!(
                "webhooks: {} URL(s), signed; private incidents {}",
                hooks.urls.len(),
                if hooks.private {
                    "included"
                } else {
                    "left out"
                }
            ),
        },
    ));
    let rules = &integrations.rules.rules;
    if rules.is_empty() {
        lines.push((true, "RULES_FILE: no rules".into()));
        return lines;
    }
    lines.push((
        true,
        format!("RULES_FILE: {} rule(s), read and checked", rules.len()),
    ));
    let mut seen = Vec::new();
    for rule in rules {
        for action in &rule.actions {
            let crate::domain::rules::Action::Post { channel, .. } = action else {
                continue;
            };
            if seen.contains(channel) {
                continue;
            }
            seen.push(channel.clone());
            let name = &rule.name;
            lines.push(match resolve_channel(slack, channel).await {
                Ok(id) => match slack.channel_membership(&id).await {
                    Ok((_, true)) => (
                        true,
                        format!("RULES_FILE: rule {name:?} posts to {channel} ({id}), the bot is a member"),
                    ),
                    Ok((_, false)) => (
                        false,
                        format!(
                            "RULES_FILE: rule {name:?} posts to {channel} ({id}), but the bot is not a member: /invite @incident-commander there"
                        ),
                    ),
                    Err(e) => (
                        false,
                        format!("RULES_FILE: rule {name:?} posts to {channel}: conversations.info failed: {}", explain(&e)),
                    ),
                },
                Err(_) => (
                    false,
                    format!(
                        "RULES_FILE: rule {:?} posts to {channel}, a channel the bot cannot see",
                        rule.name
                    ),
                ),
            });
        }
    }
    lines
}

/// The database line: whether startup will find a schema it can upgrade.
async fn database(url: &str) -> (bool, String) {
    let versions = |v: &[i64]| {
        let v: Vec<String> = v.iter().map(|v| format!("{v:04}")).collect();
        v.join(", ")
    };
    match tokio::time::timeout(DATABASE_TIMEOUT, store::inspect(url)).await {
        Err(_) => (
            false,
            format!(
                "database: no answer from DATABASE_URL within {} s",
                DATABASE_TIMEOUT.as_secs()
            ),
        ),
        Ok(Ok(Schema::Missing)) => (
            true,
            "database: does not exist yet; startup (or `incident-commander migrate`) creates it"
                .into(),
        ),
        Ok(Ok(Schema::Known { applied, pending })) if pending.is_empty() => (
            true,
            format!(
                "database: schema up to date (migration {})",
                versions(&applied[applied.len().saturating_sub(1)..])
            ),
        ),
        Ok(Ok(Schema::Known { pending, .. })) => (
            true,
            format!(
                "database: startup (or `incident-commander migrate`) applies migrations {}",
                versions(&pending)
            ),
        ),
        Ok(Err(newer @ StoreError::NewerDatabase(_))) => (false, format!("database: {newer}")),
        Ok(Err(e)) => (false, format!("database: cannot read DATABASE_URL: {e}")),
    }
}

fn explain(e: &SlackError) -> String {
    match e {
        SlackError::Api { code } if code == "invalid_auth" || code == "not_authed" => {
            format!("{code} (the token is wrong or was revoked)")
        }
        SlackError::Api { code } if code == "not_allowed_token_type" => {
            format!("{code} (a bot token where an app-level token belongs, or the reverse)")
        }
        other => other.to_string(),
    }
}
