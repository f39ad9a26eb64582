//! Configuration: one typed [`Settings`], read once at startup from the environment (and `.env`
//! when present). **The only module that reads the environment.**
//!
//! A missing or invalid variable stops startup with one line naming it ([`ConfigError`]'s
//! `Display`). Tokens are [`SecretString`]s: `Debug` prints `[REDACTED]`, and no error message
//! ever includes a token's value.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::domain::command::args::slack_id;
use crate::domain::postmortem::Template;
use crate::domain::reminder::{self, Policy};
use crate::domain::severity::{DEFAULT_LEVELS, Severity};
use crate::domain::slug;

pub mod integrations;
pub mod trackers;
pub mod workspaces;

pub use integrations::Integrations;

/// This binary's version (Cargo's, read when it was built), as the refusal of a newer database
/// names it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Everything the process is configured with. Built by [`Settings::from_env`] in production and
/// by [`Settings::from_lookup`] in tests and the demo.
#[derive(Clone)]
pub struct Settings {
    /// `SLACK_BOT_TOKEN`, `xoxb-…`: every Web API call.
    pub bot_token: SecretString,
    /// `SLACK_TRANSPORT`: how Slack's envelopes reach the bot — Socket Mode (the default, with
    /// `SLACK_APP_TOKEN`) or Slack's request URLs over HTTP (with `SLACK_SIGNING_SECRET`).
    pub transport: Transport,
    /// `SLACK_API_URL`: Slack's Web API base; `http://` is allowed so a local simulator works.
    pub slack_api_url: Url,
    /// `DATABASE_URL`: `sqlite://…` (one process) or `postgres://…` (any number of replicas).
    pub database_url: String,
    /// `ANNOUNCE_CHANNEL`: channel id or `#name` where public incidents are announced.
    pub announce_channel: Option<String>,
    /// `CHANNEL_PREFIX`: incident channels are `<prefix>-<number>-<slug>`.
    pub channel_prefix: String,
    /// `ADMINS`: Slack user ids allowed to resolve, decline and reopen any incident.
    pub admins: Vec<String>,
    /// `COORDINATOR_GROUP`: a Slack user group id (`S…`) pinged when an incident has nobody
    /// coordinating; with it set, a declarer becomes operator and the group is offered the
    /// coordinator role.
    pub coordinator_group: Option<String>,
    /// `REMINDER_INTERVAL`, `REMINDER_INTERVAL_SEV<N>`, `REMINDER_INTERVAL_MONITORING`: how often an
    /// incident is reminded to post an update.
    pub reminders: Policy,
    /// `DIGEST_CRON` (with seconds; empty disables): when the digest is posted, read in `tz`.
    pub digest: Option<Digest>,
    /// `TZ`: the zone the digest's schedule and shown times are in.
    pub tz: chrono_tz::Tz,
    /// `POSTMORTEM_TEMPLATE`: a minijinja template file for the postmortem draft, parsed at
    /// startup (unset: the built-in one).
    pub postmortem_template: Template,
    /// `SLACK_SOCKET_CONNECTIONS`: Socket Mode connections this replica holds (Slack allows 10
    /// per app across all replicas).
    pub socket_connections: u32,
    /// `SLACK_TIMEOUT`: the longest any single Slack call may take before it counts as failed.
    pub slack_timeout: Duration,
    /// `LOG_FORMAT`: `pretty` for people, `json` for log pipelines.
    pub log_format: LogFormat,
    /// `RUST_LOG`: the tracing filter.
    pub log_filter: String,
    // --- operations and alert intake (docs/operations.md, docs/alerts.md) ---
    /// `HTTP_ADDR`: where `/healthz`, `/readyz`, `/metrics` and the alert endpoints listen.
    pub http_addr: SocketAddr,
    /// `ALERT_TOKEN`: the bearer token the alert endpoints require; unset, they are off.
    pub alert_token: Option<SecretString>,
    /// `SLO_TRIAGE`: the target from declaration to a coordinator, reported by `/inc stats`.
    pub slo_triage: Duration,
    /// `SLO_RESOLUTION`: the target from declaration to resolution, reported by `/inc stats`.
    pub slo_resolution: Duration,
    /// `SLACK_RECONNECT_INTERVAL`: the longest Socket Mode waits between connection attempts.
    /// The waits back off from about 1 s up to this (see `slack::listener`).
    pub socket_reconnect: Duration,
    // --- outside systems (docs/integrations.md) ---
    /// PagerDuty, Statuspage, outgoing webhooks and `OUTSIDE_TIMEOUT`.
    pub integrations: Integrations,
    /// `SLACK_CLIENT_ID` and the other variables of installing in many workspaces through
    /// Slack's OAuth flow (`config::workspaces`); `None`: installs are off.
    pub workspaces: Option<workspaces::OAuth>,
}

/// How Slack's envelopes reach the bot (docs/operations.md, "Choosing a transport").
#[derive(Clone)]
pub enum Transport {
    /// `SLACK_TRANSPORT=socket` (the default): WebSocket connections the bot opens with
    /// `SLACK_APP_TOKEN` (`xapp-…`, `connections:write`); no inbound HTTP from Slack.
    SocketMode { app_token: SecretString },
    /// `SLACK_TRANSPORT=http`: Slack POSTs to `/slack/events`, `/slack/commands` and
    /// `/slack/interactivity` on `HTTP_ADDR`, each request signed with `SLACK_SIGNING_SECRET`.
    Http { signing_secret: SecretString },
}

impl Transport {
    /// As `/readyz`, the logs and the metrics name it.
    pub fn name(&self) -> &'static str {
        match self {
            Transport::SocketMode { .. } => "socket_mode",
            Transport::Http { .. } => "http",
        }
    }
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Transport::SocketMode { app_token } => f
                .debug_struct("SocketMode")
                .field("app_token", app_token)
                .finish(),
            Transport::Http { signing_secret } => f
                .debug_struct("Http")
                .field("signing_secret", signing_secret)
                .finish(),
        }
    }
}

/// A parsed `DIGEST_CRON`.
#[derive(Debug, Clone)]
pub struct Digest {
    /// As configured, for messages.
    pub expression: String,
    pub schedule: cron::Schedule,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// What is wrong with the configuration; `Display` is the one line printed at startup.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {var} is not set ({hint})")]
    Missing {
        var: &'static str,
        hint: &'static str,
    },
    #[error("configuration: {var} is invalid: {reason}")]
    Invalid { var: &'static str, reason: String },
}

impl Settings {
    /// Reads `.env` (if present; real environment variables win) and then the environment.
    pub fn from_env() -> Result<Settings, ConfigError> {
        // A missing .env is normal; a malformed one is reported by the variables it fails to set.
        let _ = dotenvy::dotenv();
        Settings::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds settings from any source of variables (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        // DIGEST_CRON set but empty disables the digest; everywhere else empty means unset.
        let digest_cron = get("DIGEST_CRON");
        let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let bot_token = token(
            get("SLACK_BOT_TOKEN"),
            "SLACK_BOT_TOKEN",
            "xoxb-",
            "the bot token, xoxb-…, from OAuth & Permissions; see .env.example",
        )?;
        let transport = transport(&get)?;
        let slack_api_url = api_url(get("SLACK_API_URL"))?;
        let database_url = database_url(get("DATABASE_URL"))?;
        let announce_channel = get("ANNOUNCE_CHANNEL").map(|v| v.trim().to_string());
        if let Some(ch) = &announce_channel {
            let ok = match ch.strip_prefix('#') {
                Some(name) => !name.is_empty() && name.len() <= 80,
                None => ch.starts_with(['C', 'G']) && ch.chars().all(|c| c.is_ascii_alphanumeric()),
            };
            if !ok {
                return Err(ConfigError::Invalid {
                    var: "ANNOUNCE_CHANNEL",
                    reason: format!("{ch:?} is neither a channel id (C…) nor #name"),
                });
            }
        }
        let channel_prefix = get("CHANNEL_PREFIX").unwrap_or_else(|| "inc".to_string());
        if !slug::valid_prefix(&channel_prefix) {
            return Err(ConfigError::Invalid {
                var: "CHANNEL_PREFIX",
                reason: "use 1–20 characters of a-z, 0-9, - and _".into(),
            });
        }
        let admins = match get("ADMINS") {
            None => Vec::new(),
            Some(v) => v
                .split(',')
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .map(|id| {
                    slack_id(id, &['U', 'W'])
                        .then(|| id.to_string())
                        .ok_or_else(|| ConfigError::Invalid {
                            var: "ADMINS",
                            reason: format!(
                                "{id:?} is not a Slack user id (U…); list ids separated by commas"
                            ),
                        })
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
        let coordinator_group = match get("COORDINATOR_GROUP") {
            None => None,
            Some(v) => {
                let id = v.trim();
                if !slack_id(id, &['S']) {
                    return Err(ConfigError::Invalid {
                        var: "COORDINATOR_GROUP",
                        reason: format!(
                            "{id:?} is not a user group id (S…; it is the last part of the group's URL in Slack)"
                        ),
                    });
                }
                Some(id.to_string())
            }
        };
        let interval = |var: &'static str, default: chrono::Duration| match get(var) {
            None => Ok(default),
            Some(v) => reminder::parse_interval(&v).map_err(|_| ConfigError::Invalid {
                var,
                reason: format!("{v:?} is not a duration from 1m to 7d, such as 30m or 1h"),
            }),
        };
        let defaults = Policy::default();
        const BY_SEVERITY: [&str; DEFAULT_LEVELS as usize] = [
            "REMINDER_INTERVAL_SEV1",
            "REMINDER_INTERVAL_SEV2",
            "REMINDER_INTERVAL_SEV3",
        ];
        let mut by_severity = Vec::new();
        for (sev, var) in Severity::scale(DEFAULT_LEVELS).zip(BY_SEVERITY) {
            if get(var).is_some() {
                by_severity.push((sev, interval(var, defaults.every)?));
            }
        }
        let tz = tz(get("TZ"))?;
        let reminders = Policy {
            every: interval("REMINDER_INTERVAL", defaults.every)?,
            by_severity,
            monitoring: interval("REMINDER_INTERVAL_MONITORING", defaults.monitoring)?,
            aftercare: aftercare(&get, tz)?,
        };
        let digest = match digest_cron.as_deref().map(str::trim) {
            Some("") => None,
            expression => {
                let expression = expression.unwrap_or("0 0 9 * * Mon-Fri").to_string();
                let schedule = cron::Schedule::from_str(&expression).map_err(|e| {
                    // The parser's message spans lines (it draws a caret); its last line says why.
                    let e = e.to_string();
                    let why = e.lines().last().unwrap_or_default().trim().to_string();
                    ConfigError::Invalid {
                        var: "DIGEST_CRON",
                        reason: format!(
                            "{expression:?} is not a cron expression with seconds, such as \"0 0 9 * * Mon-Fri\": {why}"
                        ),
                    }
                })?;
                Some(Digest {
                    expression,
                    schedule,
                })
            }
        };
        let postmortem_template = postmortem_template(get("POSTMORTEM_TEMPLATE"))?;
        let socket_connections = match get("SLACK_SOCKET_CONNECTIONS") {
            None => 2,
            Some(v) => match v.trim().parse::<u32>() {
                Ok(n @ 1..=10) => n,
                _ => {
                    return Err(ConfigError::Invalid {
                        var: "SLACK_SOCKET_CONNECTIONS",
                        reason: format!("{v:?} is not a number from 1 to 10"),
                    });
                }
            },
        };
        let slack_timeout = duration(get("SLACK_TIMEOUT"), "SLACK_TIMEOUT", "10s")?;
        let log_format = match get("LOG_FORMAT").as_deref().map(str::trim) {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    var: "LOG_FORMAT",
                    reason: format!("{other:?} is neither pretty nor json"),
                });
            }
        };
        let log_filter = get("RUST_LOG").unwrap_or_else(|| "info".to_string());
        let ops = ops_settings(&get)?;
        let integrations = integrations::integrations(&get)?;
        Ok(Settings {
            bot_token,
            transport,
            slack_api_url,
            database_url,
            announce_channel,
            channel_prefix,
            admins,
            coordinator_group,
            reminders,
            digest,
            tz,
            postmortem_template,
            socket_connections,
            slack_timeout,
            log_format,
            log_filter,
            http_addr: ops.http_addr,
            alert_token: ops.alert_token,
            slo_triage: ops.slo_triage,
            slo_resolution: ops.slo_resolution,
            socket_reconnect: ops.socket_reconnect,
            integrations,
            workspaces: workspaces::oauth(&get)?,
        })
    }

    /// Settings from a map, for tests and the demo.
    pub fn from_map(vars: &HashMap<&str, String>) -> Result<Settings, ConfigError> {
        Settings::from_lookup(|k| vars.get(k).cloned())
    }
}

/// What rendering a postmortem draft from the database alone needs
/// (`incident-commander postmortem --offline`): no tokens.
#[derive(Debug, Clone)]
pub struct DraftSettings {
    pub database_url: String,
    pub postmortem_template: Template,
    pub tz: chrono_tz::Tz,
}

/// `DATABASE_URL`, `POSTMORTEM_TEMPLATE` and `TZ` (and `.env`).
pub fn draft_settings_from_env() -> Result<DraftSettings, ConfigError> {
    let _ = dotenvy::dotenv();
    let get = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    Ok(DraftSettings {
        database_url: database_url(get("DATABASE_URL"))?,
        postmortem_template: postmortem_template(get("POSTMORTEM_TEMPLATE"))?,
        tz: tz(get("TZ"))?,
    })
}

fn tz(value: Option<String>) -> Result<chrono_tz::Tz, ConfigError> {
    match value {
        None => Ok(chrono_tz::UTC),
        Some(v) => v.trim().parse().map_err(|_| ConfigError::Invalid {
            var: "TZ",
            reason: format!("{v:?} is not a time zone such as Europe/Berlin or UTC"),
        }),
    }
}

/// The built-in template, or the file `path` read and parsed; either failure names the file
/// (and the line and column of a syntax error).
fn postmortem_template(path: Option<String>) -> Result<Template, ConfigError> {
    let Some(path) = path else {
        return Ok(Template::builtin());
    };
    let path = path.trim();
    let invalid = |reason: String| ConfigError::Invalid {
        var: "POSTMORTEM_TEMPLATE",
        reason,
    };
    let source =
        std::fs::read_to_string(path).map_err(|e| invalid(format!("cannot read {path:?}: {e}")))?;
    Template::parse(&source).map_err(|e| invalid(format!("{path}: {e}")))
}

/// Only `RULES_FILE` (or `file`) and `PAGERDUTY_SERVICES` (and `.env`), for
/// `incident-commander rules --explain`.
pub fn rules_from_env(
    file: Option<std::path::PathBuf>,
) -> Result<crate::domain::rules::RuleSet, ConfigError> {
    let _ = dotenvy::dotenv();
    let get = |name: &str| {
        if name == "RULES_FILE"
            && let Some(file) = &file
        {
            return Some(file.display().to_string());
        }
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    };
    if get("RULES_FILE").is_none() {
        return Err(ConfigError::Missing {
            var: "RULES_FILE",
            hint: "the rules file to explain, or pass --file",
        });
    }
    integrations::rules_only(&get)
}

/// Only `DATABASE_URL` (and `.env`), for commands that touch nothing but the database
/// (`incident-commander migrate`).
pub fn database_url_from_env() -> Result<String, ConfigError> {
    let _ = dotenvy::dotenv();
    database_url(
        std::env::var("DATABASE_URL")
            .ok()
            .filter(|v| !v.trim().is_empty()),
    )
}

// --- operations and alert intake ---

/// The variables of the HTTP side, the alert intake and `/inc stats`.
struct OpsSettings {
    http_addr: SocketAddr,
    alert_token: Option<SecretString>,
    slo_triage: Duration,
    slo_resolution: Duration,
    socket_reconnect: Duration,
}

/// The shortest `ALERT_TOKEN` accepted: anything shorter can be guessed.
const MIN_ALERT_TOKEN_CHARS: usize = 16;

fn ops_settings(get: &impl Fn(&str) -> Option<String>) -> Result<OpsSettings, ConfigError> {
    let alert_token = match get("ALERT_TOKEN") {
        None => None,
        Some(v) => {
            let v = v.trim();
            if v.chars().count() < MIN_ALERT_TOKEN_CHARS || v.chars().any(char::is_whitespace) {
                // Never echo the value.
                return Err(ConfigError::Invalid {
                    var: "ALERT_TOKEN",
                    reason: format!(
                        "use at least {MIN_ALERT_TOKEN_CHARS} characters without spaces, e.g. the output of `openssl rand -hex 32`"
                    ),
                });
            }
            Some(SecretString::from(v.to_string()))
        }
    };
    let reconnect = duration(
        get("SLACK_RECONNECT_INTERVAL"),
        "SLACK_RECONNECT_INTERVAL",
        "30s",
    )?;
    if reconnect < Duration::from_secs(1) || reconnect > Duration::from_secs(600) {
        return Err(ConfigError::Invalid {
            var: "SLACK_RECONNECT_INTERVAL",
            reason: "keep it between 1s and 10m".into(),
        });
    }
    Ok(OpsSettings {
        http_addr: http_addr(get("HTTP_ADDR"))?,
        alert_token,
        slo_triage: duration(get("SLO_TRIAGE"), "SLO_TRIAGE", "4h")?,
        slo_resolution: duration(get("SLO_RESOLUTION"), "SLO_RESOLUTION", "4h")?,
        socket_reconnect: reconnect,
    })
}

/// A positive humantime duration (`4h`, `90m`), or `default`.
fn duration(
    value: Option<String>,
    var: &'static str,
    default: &str,
) -> Result<Duration, ConfigError> {
    let raw = value.unwrap_or_else(|| default.to_string());
    humantime::parse_duration(raw.trim())
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| ConfigError::Invalid {
            var,
            reason: format!("{raw:?} is not a duration such as {default}"),
        })
}

fn http_addr(value: Option<String>) -> Result<SocketAddr, ConfigError> {
    let raw = value.unwrap_or_else(|| "127.0.0.1:8080".to_string());
    raw.trim().parse().map_err(|_| ConfigError::Invalid {
        var: "HTTP_ADDR",
        reason: format!(
            "{raw:?} is not an address and port such as 127.0.0.1:8080 (0.0.0.0:8080 in a container)"
        ),
    })
}

/// Only `HTTP_ADDR` (and `.env`), for `incident-commander healthcheck`, which probes the running
/// process and needs no tokens.
pub fn http_addr_from_env() -> Result<SocketAddr, ConfigError> {
    let _ = dotenvy::dotenv();
    http_addr(
        std::env::var("HTTP_ADDR")
            .ok()
            .filter(|v| !v.trim().is_empty()),
    )
}

fn database_url(value: Option<String>) -> Result<String, ConfigError> {
    let url = value.unwrap_or_else(|| "sqlite://incident-commander.db".to_string());
    if !["sqlite:", "postgres:", "postgresql:"]
        .iter()
        .any(|s| url.starts_with(s))
    {
        return Err(ConfigError::Invalid {
            var: "DATABASE_URL",
            reason: "must start with sqlite:// or postgres://".into(),
        });
    }
    Ok(url)
}

fn token(
    value: Option<String>,
    var: &'static str,
    prefix: &str,
    hint: &'static str,
) -> Result<SecretString, ConfigError> {
    let value = value.ok_or(ConfigError::Missing { var, hint })?;
    let value = value.trim();
    if !value.starts_with(prefix) || value.len() <= prefix.len() {
        // Never echo the value: it may be a real token pasted into the wrong variable.
        return Err(ConfigError::Invalid {
            var,
            reason: format!("expected a token starting with {prefix}"),
        });
    }
    Ok(SecretString::from(value.to_string()))
}

/// `SLACK_TRANSPORT` (`socket`, the default, or `http`) with the credential it needs:
/// `SLACK_APP_TOKEN` for Socket Mode, `SLACK_SIGNING_SECRET` for HTTP.
fn transport(get: &impl Fn(&str) -> Option<String>) -> Result<Transport, ConfigError> {
    match get("SLACK_TRANSPORT").as_deref().map(str::trim) {
        None | Some("socket") => Ok(Transport::SocketMode {
            app_token: token(
                get("SLACK_APP_TOKEN"),
                "SLACK_APP_TOKEN",
                "xapp-",
                "an app-level token, xapp-…, with connections:write; see .env.example",
            )?,
        }),
        Some("http") => Ok(Transport::Http {
            signing_secret: app_secret(
                get("SLACK_SIGNING_SECRET"),
                "SLACK_SIGNING_SECRET",
                "the Signing Secret from the app's Basic Information page; SLACK_TRANSPORT=http needs it",
                "Signing Secret",
            )?,
        }),
        Some(other) => Err(ConfigError::Invalid {
            var: "SLACK_TRANSPORT",
            reason: format!("{other:?} is neither socket nor http"),
        }),
    }
}

/// One of the app's secrets from its Basic Information page (`SLACK_SIGNING_SECRET`,
/// `SLACK_CLIENT_SECRET`, 32 hex digits): required, at least 16 characters and no spaces, and
/// never echoed — `what` names it in the refusal.
pub(crate) fn app_secret(
    value: Option<String>,
    var: &'static str,
    hint: &'static str,
    what: &str,
) -> Result<SecretString, ConfigError> {
    let value = value.ok_or(ConfigError::Missing { var, hint })?;
    let value = value.trim();
    if value.len() < 16 || value.chars().any(char::is_whitespace) {
        return Err(ConfigError::Invalid {
            var,
            reason: format!("expected the app's {what} (32 characters, from Basic Information)"),
        });
    }
    Ok(SecretString::from(value.to_string()))
}

fn api_url(value: Option<String>) -> Result<Url, ConfigError> {
    http_url(
        "SLACK_API_URL",
        &value.unwrap_or_else(|| "https://slack.com/api".to_string()),
    )
}

/// `raw`, the value of `var`, as an `http://` or `https://` URL with a host.
/// `POSTMORTEM_DUE` (working days, `5d` or `5`; default 5) and `ARCHIVE_AFTER` (a duration of
/// at least a day, such as `14d`; default off), counted in `tz`.
fn aftercare(
    get: &impl Fn(&str) -> Option<String>,
    tz: chrono_tz::Tz,
) -> Result<crate::domain::aftercare::Aftercare, ConfigError> {
    let defaults = crate::domain::aftercare::Aftercare::default();
    let postmortem_due_days = match get("POSTMORTEM_DUE") {
        None => defaults.postmortem_due_days,
        Some(raw) => {
            let days = raw.trim().trim_end_matches('d').trim();
            days.parse::<u32>()
                .ok()
                .filter(|d| (1..=60).contains(d))
                .ok_or_else(|| ConfigError::Invalid {
                    var: "POSTMORTEM_DUE",
                    reason: format!(
                        "{raw:?} is not a number of working days from 1d to 60d, such as 5d"
                    ),
                })?
        }
    };
    let archive_after = match get("ARCHIVE_AFTER").as_deref().map(str::trim) {
        None | Some("") | Some("off") => None,
        Some(raw) => {
            let after = humantime::parse_duration(raw)
                .ok()
                .and_then(|d| chrono::Duration::from_std(d).ok())
                .filter(|d| *d >= crate::domain::aftercare::DAY)
                .ok_or_else(|| ConfigError::Invalid {
                    var: "ARCHIVE_AFTER",
                    reason: format!(
                        "{raw:?} is not a duration of a day or more, such as 14d (or off)"
                    ),
                })?;
            Some(after)
        }
    };
    Ok(crate::domain::aftercare::Aftercare {
        postmortem_due_days,
        archive_after,
        tz,
    })
}

fn http_url(var: &'static str, raw: &str) -> Result<Url, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid { var, reason };
    let url = Url::parse(raw.trim()).map_err(|e| invalid(format!("{raw:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid(format!("{raw:?} is not an http(s) URL")));
    }
    Ok(url)
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("bot_token", &self.bot_token)
            .field("transport", &self.transport)
            .field("slack_api_url", &self.slack_api_url.as_str())
            .field("database_url", &redact_url(&self.database_url))
            .field("announce_channel", &self.announce_channel)
            .field("channel_prefix", &self.channel_prefix)
            .field("admins", &self.admins)
            .field("coordinator_group", &self.coordinator_group)
            .field("reminders", &self.reminders)
            .field("digest", &self.digest.as_ref().map(|d| &d.expression))
            .field("tz", &self.tz)
            .field("postmortem_template", &self.postmortem_template)
            .field("socket_connections", &self.socket_connections)
            .field("slack_timeout", &self.slack_timeout)
            .field("log_format", &self.log_format)
            .field("log_filter", &self.log_filter)
            .field("http_addr", &self.http_addr)
            .field("alert_token", &self.alert_token)
            .field("slo_triage", &self.slo_triage)
            .field("slo_resolution", &self.slo_resolution)
            .field("socket_reconnect", &self.socket_reconnect)
            .field("workspaces", &self.workspaces)
            .finish()
    }
}

/// A database URL with any password replaced, for logs.
pub fn redact_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("REDACTED"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// Exposes a token for the one place that must send it (the Slack adapter).
pub(crate) fn expose(secret: &SecretString) -> &str {
    secret.expose_secret()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The two Slack tokens, with `extra` besides: the smallest valid environment.
    pub(crate) fn vars(extra: &[(&'static str, &str)]) -> HashMap<&'static str, String> {
        let mut m = HashMap::from([
            ("SLACK_BOT_TOKEN", "xoxb-1-secret".to_string()),
            ("SLACK_APP_TOKEN", "xapp-1-secret".to_string()),
        ]);
        for (k, v) in extra {
            m.insert(*k, v.to_string());
        }
        m
    }

    #[test]
    fn outside_systems_refuse_what_would_do_nothing_and_never_show_a_routing_key() {
        let key = "R0123456789ABCDEF0123456789ABCDE";
        let error = |extra: &[(&'static str, &str)]| {
            Settings::from_map(&vars(extra))
                .expect_err("refused")
                .to_string()
        };
        assert_eq!(
            error(&[("PAGERDUTY_WEBHOOK_SECRET", "0123456789abcdef0123")]),
            "configuration: PAGERDUTY_WEBHOOK_SECRET is invalid: it is set, but PAGERDUTY_SERVICES \
             is not: list the services to page, such as checkout=<routing key>"
        );
        assert_eq!(
            error(&[("WEBHOOK_SECRET", "0123456789abcdef0123")]),
            "configuration: WEBHOOK_SECRET is invalid: it is set, but WEBHOOK_URLS is not: list \
             where to send the events"
        );
        let backwards = format!("{key}=checkout");
        let said = error(&[("PAGERDUTY_SERVICES", backwards.as_str())]);
        assert!(!said.to_lowercase().contains(&key.to_lowercase()), "{said}");
        assert!(said.contains("item 1"), "{said}");
        let alone = error(&[("PAGERDUTY_SERVICES", key)]);
        assert!(!alone.contains(key), "{alone}");
        assert_eq!(
            error(&[
                ("WEBHOOK_URLS", "ftp://hooks.example.com"),
                ("WEBHOOK_SECRET", "0123456789abcdef")
            ]),
            "configuration: WEBHOOK_URLS is invalid: \"ftp://hooks.example.com\" is not an http(s) URL"
        );
        let ok = Settings::from_map(&vars(&[("PAGERDUTY_SERVICES", &format!("Checkout={key}"))]))
            .expect("valid");
        let pd = ok.integrations.pagerduty.expect("on");
        assert_eq!(pd.names(), ["checkout"]);
        assert!(!format!("{pd:?}").contains(key), "redacted in Debug");
    }

    #[test]
    fn the_transport_is_socket_mode_unless_http_is_asked_for_with_its_signing_secret() {
        let s = Settings::from_map(&vars(&[])).expect("valid");
        assert_eq!(s.transport.name(), "socket_mode");
        let secret = "8f742231b10e8888abcd99yyyzzz85a5";
        let mut http = vars(&[
            ("SLACK_TRANSPORT", "http"),
            ("SLACK_SIGNING_SECRET", secret),
        ]);
        http.remove("SLACK_APP_TOKEN");
        let s = Settings::from_map(&http).expect("no app token needed over HTTP");
        assert_eq!(s.transport.name(), "http");
        assert!(!format!("{s:?}").contains(secret), "redacted in Debug");
        let error = |extra: &[(&'static str, &str)]| {
            Settings::from_map(&vars(extra))
                .expect_err("refused")
                .to_string()
        };
        assert_eq!(
            error(&[("SLACK_TRANSPORT", "http")]),
            "configuration: SLACK_SIGNING_SECRET is not set (the Signing Secret from the app's \
             Basic Information page; SLACK_TRANSPORT=http needs it)"
        );
        let short = error(&[
            ("SLACK_TRANSPORT", "http"),
            ("SLACK_SIGNING_SECRET", "abc123"),
        ]);
        assert!(short.contains("SLACK_SIGNING_SECRET is invalid"), "{short}");
        assert!(!short.contains("abc123"), "never echoed: {short}");
        assert_eq!(
            error(&[("SLACK_TRANSPORT", "webhooks")]),
            "configuration: SLACK_TRANSPORT is invalid: \"webhooks\" is neither socket nor http"
        );
    }

    #[test]
    fn defaults_fill_everything_but_the_tokens() {
        let s = Settings::from_map(&vars(&[])).expect("valid");
        assert_eq!(s.slack_api_url.as_str(), "https://slack.com/api");
        assert_eq!(s.database_url, "sqlite://incident-commander.db");
        assert_eq!(s.channel_prefix, "inc");
        assert_eq!(s.socket_connections, 2);
        assert_eq!(s.log_format, LogFormat::Pretty);
        assert_eq!(s.announce_channel, None);
    }

    #[test]
    fn each_bad_variable_is_named_in_one_line() {
        let cases: Vec<(HashMap<&str, String>, &str)> = vec![
            (
                {
                    let mut m = vars(&[]);
                    m.remove("SLACK_BOT_TOKEN");
                    m
                },
                "SLACK_BOT_TOKEN is not set",
            ),
            (
                vars(&[("SLACK_APP_TOKEN", "xoxb-wrong-kind")]),
                "SLACK_APP_TOKEN is invalid",
            ),
            (
                vars(&[("SLACK_API_URL", "ftp://x")]),
                "SLACK_API_URL is invalid",
            ),
            (
                vars(&[("SLACK_API_URL", "not a url")]),
                "SLACK_API_URL is invalid",
            ),
            (
                vars(&[("DATABASE_URL", "mysql://x")]),
                "DATABASE_URL is invalid",
            ),
            (
                vars(&[("CHANNEL_PREFIX", "INC!")]),
                "CHANNEL_PREFIX is invalid",
            ),
            (
                vars(&[("ANNOUNCE_CHANNEL", "general")]),
                "ANNOUNCE_CHANNEL is invalid",
            ),
            (vars(&[("LOG_FORMAT", "xml")]), "LOG_FORMAT is invalid"),
            (vars(&[("ADMINS", "U0ROOT, alice")]), "ADMINS is invalid"),
            (
                vars(&[("COORDINATOR_GROUP", "@oncall")]),
                "COORDINATOR_GROUP is invalid",
            ),
            (
                vars(&[("REMINDER_INTERVAL", "half an hour")]),
                "REMINDER_INTERVAL is invalid",
            ),
            (
                vars(&[("REMINDER_INTERVAL_SEV1", "10s")]),
                "REMINDER_INTERVAL_SEV1 is invalid",
            ),
            (
                vars(&[("REMINDER_INTERVAL_MONITORING", "30d")]),
                "REMINDER_INTERVAL_MONITORING is invalid",
            ),
            (
                vars(&[("DIGEST_CRON", "every morning")]),
                "DIGEST_CRON is invalid",
            ),
            (vars(&[("TZ", "Mars/Olympus")]), "TZ is invalid"),
            (
                vars(&[("SLACK_TIMEOUT", "soon")]),
                "SLACK_TIMEOUT is invalid",
            ),
            (
                vars(&[("SLACK_SOCKET_CONNECTIONS", "11")]),
                "SLACK_SOCKET_CONNECTIONS is invalid",
            ),
        ];
        for (vars, expected) in cases {
            let err = Settings::from_map(&vars).expect_err(expected).to_string();
            assert!(err.contains(expected), "{err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }

    #[test]
    fn a_postmortem_template_that_does_not_parse_names_its_file_line_and_column() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("pm.md.j2");
        std::fs::write(
            &path,
            "# {{ incident.reference }}\n\n{% if incident.private %}\n",
        )
        .expect("write");
        let path = path.to_string_lossy().to_string();
        let err = Settings::from_map(&vars(&[("POSTMORTEM_TEMPLATE", &path)]))
            .expect_err("unclosed if")
            .to_string();
        assert!(
            err.starts_with(&format!(
                "configuration: POSTMORTEM_TEMPLATE is invalid: {path}: line "
            )),
            "{err}"
        );
        assert!(err.contains("column") && !err.contains('\n'), "{err}");
        let missing = Settings::from_map(&vars(&[("POSTMORTEM_TEMPLATE", "/nonexistent/pm.j2")]))
            .expect_err("no such file")
            .to_string();
        assert!(
            missing.contains("cannot read \"/nonexistent/pm.j2\""),
            "{missing}"
        );
        std::fs::write(dir.path().join("ok.j2"), "# {{ incident.reference }}\n").expect("write");
        let ok = dir.path().join("ok.j2").to_string_lossy().to_string();
        Settings::from_map(&vars(&[("POSTMORTEM_TEMPLATE", &ok)])).expect("a good template");
    }

    #[test]
    fn tokens_never_appear_in_debug_or_errors() {
        let s = Settings::from_map(&vars(&[("DATABASE_URL", "postgres://u:hunter2@db/x")]))
            .expect("valid");
        let debug = format!("{s:?}");
        assert!(
            !debug.contains("secret") && !debug.contains("hunter2"),
            "{debug}"
        );
        let err = Settings::from_map(&vars(&[("SLACK_BOT_TOKEN", "xapp-1-secret")]))
            .expect_err("wrong prefix")
            .to_string();
        assert!(!err.contains("secret"), "{err}");
    }

    #[test]
    fn reminders_and_the_digest_have_defaults_and_overrides() {
        let s = Settings::from_map(&vars(&[])).expect("valid");
        assert_eq!(s.reminders, Policy::default());
        assert_eq!(
            s.digest.as_ref().map(|d| d.expression.as_str()),
            Some("0 0 9 * * Mon-Fri")
        );
        assert_eq!(s.tz, chrono_tz::UTC);
        let s = Settings::from_map(&vars(&[
            ("REMINDER_INTERVAL", "20m"),
            ("REMINDER_INTERVAL_SEV1", "10m"),
            ("REMINDER_INTERVAL_MONITORING", "2h"),
            ("DIGEST_CRON", ""),
            ("TZ", "Europe/Berlin"),
        ]))
        .expect("valid");
        assert_eq!(s.reminders.every, chrono::Duration::minutes(20));
        assert_eq!(
            s.reminders.by_severity,
            [(
                Severity::parse("1", 3).expect("sev"),
                chrono::Duration::minutes(10)
            )]
        );
        assert_eq!(s.reminders.monitoring, chrono::Duration::hours(2));
        assert!(s.digest.is_none(), "empty DIGEST_CRON disables the digest");
        assert_eq!(s.tz, chrono_tz::Europe::Berlin);
    }

    #[test]
    fn admins_are_a_list_of_user_ids() {
        let s = Settings::from_map(&vars(&[("ADMINS", " U0ROOT, W0OPS ,")])).expect("valid");
        assert_eq!(s.admins, ["U0ROOT", "W0OPS"]);
        assert!(
            Settings::from_map(&vars(&[]))
                .expect("valid")
                .admins
                .is_empty()
        );
    }

    #[test]
    fn operations_have_defaults_and_name_their_variable_when_bad() {
        let s = Settings::from_map(&vars(&[])).expect("valid");
        assert_eq!(s.http_addr.to_string(), "127.0.0.1:8080");
        assert!(s.alert_token.is_none());
        assert_eq!(s.slo_triage, Duration::from_secs(4 * 3600));
        assert_eq!(s.slo_resolution, Duration::from_secs(4 * 3600));
        assert_eq!(s.socket_reconnect, Duration::from_secs(30));
        let s = Settings::from_map(&vars(&[
            ("HTTP_ADDR", "0.0.0.0:9000"),
            ("ALERT_TOKEN", "0123456789abcdef-secret"),
            ("SLO_TRIAGE", "30m"),
            ("SLO_RESOLUTION", "1day"),
            ("SLACK_RECONNECT_INTERVAL", "1500ms"),
        ]))
        .expect("valid");
        assert_eq!(s.http_addr.port(), 9000);
        assert_eq!(s.slo_triage, Duration::from_secs(1800));
        assert_eq!(s.slo_resolution, Duration::from_secs(86400));
        assert_eq!(s.socket_reconnect, Duration::from_millis(1500));
        assert!(!format!("{s:?}").contains("0123456789abcdef"));
        for (var, value) in [
            ("HTTP_ADDR", "localhost"),
            ("ALERT_TOKEN", "short"),
            ("SLO_TRIAGE", "soon"),
            ("SLO_RESOLUTION", "0s"),
            ("SLACK_RECONNECT_INTERVAL", "1h"),
            ("SLACK_RECONNECT_INTERVAL", "500ms"),
        ] {
            let err = Settings::from_map(&vars(&[(var, value)]))
                .expect_err(var)
                .to_string();
            assert!(err.contains(&format!("{var} is invalid")), "{err}");
            assert!(!err.contains('\n'), "{err}");
            if var == "ALERT_TOKEN" {
                assert!(!err.contains("short"), "{err}");
            }
        }
    }

    #[test]
    fn announce_channel_accepts_ids_and_names() {
        for ok in ["C0123ABC", "G0PRIVATE", "#incidents"] {
            let s = Settings::from_map(&vars(&[("ANNOUNCE_CHANNEL", ok)])).expect(ok);
            assert_eq!(s.announce_channel.as_deref(), Some(ok));
        }
    }
}
