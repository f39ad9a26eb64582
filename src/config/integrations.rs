//! The variables of the outside systems (docs/integrations.md): PagerDuty, Statuspage, outgoing
//! webhooks, the follow-up tracker (its own file, `trackers`), and how long any outside call
//! may take. Each system is off unless its variables
//! are set; secrets are held as `SecretString` and never shown, not even in errors.

use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use super::{ConfigError, duration, http_url};
use crate::domain::rules::RuleSet;
use crate::domain::severity::DEFAULT_LEVELS;

/// PagerDuty's Events API v2 endpoint (US service region; the EU one is
/// `https://events.eu.pagerduty.com/v2/enqueue`).
pub const PAGERDUTY_EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";
/// Statuspage's REST API.
pub const STATUSPAGE_API_URL: &str = "https://api.statuspage.io/v1";

/// Everything outside Slack.
#[derive(Debug, Clone, Default)]
pub struct Integrations {
    /// `OUTSIDE_TIMEOUT`: the longest one call to an outside system may take (default 10s).
    pub timeout: Duration,
    pub pagerduty: Option<PagerDuty>,
    pub statuspage: Option<Statuspage>,
    pub webhooks: Option<Webhooks>,
    /// `FOLLOWUP_TRACKER` and its tracker's variables.
    pub tracker: Option<super::trackers::FollowUpTracker>,
    /// `RULES_FILE`: the rules, parsed and checked at startup (none without the variable).
    pub rules: RuleSet,
}

/// `PAGERDUTY_SERVICES`, `PAGERDUTY_EVENTS_URL`, `PAGERDUTY_WEBHOOK_SECRET`.
#[derive(Debug, Clone)]
pub struct PagerDuty {
    /// Service names (as `/inc page` takes them, lowercase) and their Events API v2 routing keys.
    pub services: Vec<(String, SecretString)>,
    pub events_url: Url,
    /// The secret of the v3 webhook subscription; unset, `POST /integrations/pagerduty` answers
    /// 404 (nothing can be verified).
    pub webhook_secret: Option<SecretString>,
}

impl PagerDuty {
    /// The routing key of `service`.
    pub fn routing_key(&self, service: &str) -> Option<&SecretString> {
        self.services
            .iter()
            .find(|(name, _)| name == service)
            .map(|(_, key)| key)
    }

    /// The services' names, for messages.
    pub fn names(&self) -> Vec<String> {
        self.services.iter().map(|(name, _)| name.clone()).collect()
    }
}

/// `STATUSPAGE_API_KEY`, `STATUSPAGE_PAGE_ID`, `STATUSPAGE_API_URL`.
#[derive(Debug, Clone)]
pub struct Statuspage {
    pub api_key: SecretString,
    pub page_id: String,
    pub api_url: Url,
}

/// `WEBHOOK_URLS`, `WEBHOOK_SECRET`, `WEBHOOK_PRIVATE`.
#[derive(Debug, Clone)]
pub struct Webhooks {
    pub urls: Vec<Url>,
    pub secret: SecretString,
    /// Whether private incidents are sent too.
    pub private: bool,
}

/// The shortest secret accepted for signing: anything shorter can be guessed.
const MIN_SECRET_CHARS: usize = 16;

pub(super) fn integrations(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Integrations, ConfigError> {
    let pagerduty = pagerduty(get)?;
    let rules = rules(get, pagerduty.as_ref())?;
    Ok(Integrations {
        timeout: duration(get("OUTSIDE_TIMEOUT"), "OUTSIDE_TIMEOUT", "10s")?,
        pagerduty,
        statuspage: statuspage(get)?,
        webhooks: webhooks(get)?,
        tracker: super::trackers::tracker(get)?,
        rules,
    })
}

/// `RULES_FILE` checked against `PAGERDUTY_SERVICES`, and nothing else.
pub(super) fn rules_only(get: &impl Fn(&str) -> Option<String>) -> Result<RuleSet, ConfigError> {
    rules(get, pagerduty(get)?.as_ref())
}

/// `RULES_FILE`, read and checked: a mistake names the file, the line and the column; a rule
/// that pages a service `PAGERDUTY_SERVICES` does not list is a mistake too.
fn rules(
    get: &impl Fn(&str) -> Option<String>,
    pagerduty: Option<&PagerDuty>,
) -> Result<RuleSet, ConfigError> {
    let Some(path) = get("RULES_FILE") else {
        return Ok(RuleSet::default());
    };
    let path = path.trim();
    let invalid = |reason: String| ConfigError::Invalid {
        var: "RULES_FILE",
        reason,
    };
    let text =
        std::fs::read_to_string(path).map_err(|e| invalid(format!("cannot read {path:?}: {e}")))?;
    let rules =
        RuleSet::parse(&text, DEFAULT_LEVELS).map_err(|e| invalid(format!("{path}: {e}")))?;
    let known = pagerduty.map(PagerDuty::names).unwrap_or_default();
    rules
        .check_services(&known)
        .map_err(|e| invalid(format!("{path}: {e} (PAGERDUTY_SERVICES)")))?;
    Ok(rules)
}

fn pagerduty(get: &impl Fn(&str) -> Option<String>) -> Result<Option<PagerDuty>, ConfigError> {
    let Some(list) = get("PAGERDUTY_SERVICES") else {
        return none_without(
            get,
            &["PAGERDUTY_WEBHOOK_SECRET", "PAGERDUTY_EVENTS_URL"],
            "PAGERDUTY_SERVICES is not: list the services to page, such as checkout=<routing key>",
        );
    };
    let invalid = |reason: String| ConfigError::Invalid {
        var: "PAGERDUTY_SERVICES",
        reason,
    };
    let mut services: Vec<(String, SecretString)> = Vec::new();
    for (n, item) in list
        .split(',')
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .enumerate()
    {
        // Never echoed: an item without `=` may be a routing key pasted alone.
        let Some((name, key)) = item.split_once('=') else {
            return Err(invalid(format!(
                "item {} is not name=<routing key> (list them separated by commas)",
                n + 1
            )));
        };
        let name = name.trim().to_ascii_lowercase();
        let key = key.trim();
        let name_ok = !name.is_empty()
            && name.len() <= 80
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        // Items are named by their place, not their text: an item written the wrong way round
        // (`<routing key>=checkout`) would show its key.
        if !name_ok {
            return Err(invalid(format!(
                "item {} does not start with a service name (letters, digits, - _ .)",
                n + 1
            )));
        }
        // An Events API v2 routing key (an integration key) is 32 characters.
        if key.len() != 32 || !key.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(invalid(format!(
                "the routing key of item {} is not an Events API v2 integration key (32 letters and digits)",
                n + 1
            )));
        }
        if services.iter().any(|(n, _)| *n == name) {
            return Err(invalid(format!("{name:?} is listed twice")));
        }
        services.push((name, SecretString::from(key.to_string())));
    }
    if services.is_empty() {
        return Err(invalid("lists no service".into()));
    }
    Ok(Some(PagerDuty {
        services,
        events_url: url_var(get, "PAGERDUTY_EVENTS_URL", PAGERDUTY_EVENTS_URL)?,
        webhook_secret: secret(get, "PAGERDUTY_WEBHOOK_SECRET")?,
    }))
}

fn statuspage(get: &impl Fn(&str) -> Option<String>) -> Result<Option<Statuspage>, ConfigError> {
    let (key, page) = (get("STATUSPAGE_API_KEY"), get("STATUSPAGE_PAGE_ID"));
    let (key, page) = match (key, page) {
        (None, None) => return Ok(None),
        (Some(key), Some(page)) => (key, page),
        (None, Some(_)) => {
            return Err(ConfigError::Missing {
                var: "STATUSPAGE_API_KEY",
                hint: "STATUSPAGE_PAGE_ID is set; the API key is under your Statuspage profile, API info",
            });
        }
        (Some(_), None) => {
            return Err(ConfigError::Missing {
                var: "STATUSPAGE_PAGE_ID",
                hint: "STATUSPAGE_API_KEY is set; the page id is under your Statuspage profile, API info",
            });
        }
    };
    let page_id = page.trim().to_string();
    if !page_id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(ConfigError::Invalid {
            var: "STATUSPAGE_PAGE_ID",
            reason: format!("{page_id:?} is not a page id (letters and digits)"),
        });
    }
    Ok(Some(Statuspage {
        api_key: SecretString::from(key.trim().to_string()),
        page_id,
        api_url: url_var(get, "STATUSPAGE_API_URL", STATUSPAGE_API_URL)?,
    }))
}

fn webhooks(get: &impl Fn(&str) -> Option<String>) -> Result<Option<Webhooks>, ConfigError> {
    let Some(list) = get("WEBHOOK_URLS") else {
        return none_without(
            get,
            &["WEBHOOK_SECRET", "WEBHOOK_PRIVATE"],
            "WEBHOOK_URLS is not: list where to send the events",
        );
    };
    let mut urls = Vec::new();
    for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        urls.push(http_url("WEBHOOK_URLS", item)?);
    }
    let Some(secret) = secret(get, "WEBHOOK_SECRET")? else {
        return Err(ConfigError::Missing {
            var: "WEBHOOK_SECRET",
            hint: "WEBHOOK_URLS is set; every webhook is signed with it, e.g. the output of `openssl rand -hex 32`",
        });
    };
    let private = match get("WEBHOOK_PRIVATE").as_deref().map(str::trim) {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ConfigError::Invalid {
                var: "WEBHOOK_PRIVATE",
                reason: format!("{other:?} is neither true nor false"),
            });
        }
    };
    Ok(Some(Webhooks {
        urls,
        secret,
        private,
    }))
}

/// A system that is off: `Ok(None)`, unless one of its other `vars` is set — a variable
/// that would do nothing is a mistake (`missing` says what is not set and what to do).
pub(super) fn none_without<T>(
    get: &impl Fn(&str) -> Option<String>,
    vars: &[&'static str],
    missing: &str,
) -> Result<Option<T>, ConfigError> {
    match vars.iter().find(|var| get(var).is_some()) {
        None => Ok(None),
        Some(var) => Err(ConfigError::Invalid {
            var,
            reason: format!("it is set, but {missing}"),
        }),
    }
}

/// An http(s) base URL, or the default.
pub(super) fn url_var(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: &str,
) -> Result<Url, ConfigError> {
    http_url(var, &get(var).unwrap_or_else(|| default.to_string()))
}

/// A signing secret: long enough, never echoed.
pub(super) fn secret(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
) -> Result<Option<SecretString>, ConfigError> {
    match get(var) {
        None => Ok(None),
        Some(v) if v.trim().chars().count() < MIN_SECRET_CHARS => Err(ConfigError::Invalid {
            var,
            reason: format!("use at least {MIN_SECRET_CHARS} characters"),
        }),
        Some(v) => Ok(Some(SecretString::from(v.trim().to_string()))),
    }
}
