//! The follow-up tracker (docs/integrations.md, "Follow-ups as tickets"): `FOLLOWUP_TRACKER`
//! picks one of GitHub, GitLab, Jira or Linear, and that tracker's variables say where and as
//! whom. Off without `FOLLOWUP_TRACKER`; a tracker's variable set while another (or none) is
//! chosen is a mistake, named at startup. Tokens are `SecretString`s, never echoed.

use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use super::integrations::{none_without, secret, url_var};
use super::{ConfigError, duration, http_url};
use crate::domain::outside::Tracker;

/// GitHub's REST API (GitHub Enterprise Server: `https://<host>/api/v3`).
pub const GITHUB_API_URL: &str = "https://api.github.com";
/// GitLab.com (a self-managed instance: its own URL).
pub const GITLAB_URL: &str = "https://gitlab.com";
/// Linear's GraphQL endpoint.
pub const LINEAR_API_URL: &str = "https://api.linear.app/graphql";
/// The shortest poll interval: trackers are asked about open tickets at most this often.
pub const MIN_POLL: Duration = Duration::from_secs(600);

/// The tracker follow-ups are filed in.
#[derive(Debug, Clone)]
pub struct FollowUpTracker {
    pub access: Access,
    /// Where its webhooks are verified: GitHub's, Jira's and Linear's signing secret, GitLab's
    /// token. Unset, the bot polls the tracker instead (every `poll_every`).
    pub webhook_secret: Option<SecretString>,
    /// `FOLLOWUP_POLL_INTERVAL` (default and least 10m).
    pub poll_every: Duration,
    /// `FOLLOWUP_DUE` (default 14d): a follow-up of a resolved incident still open this long
    /// after the resolution is overdue (the digest lists it; `/inc stats` counts it late).
    pub due: Duration,
}

impl FollowUpTracker {
    pub fn tracker(&self) -> Tracker {
        match self.access {
            Access::Github { .. } => Tracker::Github,
            Access::Gitlab { .. } => Tracker::Gitlab,
            Access::Jira { .. } => Tracker::Jira,
            Access::Linear { .. } => Tracker::Linear,
        }
    }

    /// Whether the bot asks the tracker itself (no webhook can be verified).
    pub fn polls(&self) -> bool {
        self.webhook_secret.is_none()
    }
}

/// Where a tracker is and who the bot is there.
#[derive(Debug, Clone)]
pub enum Access {
    /// `GITHUB_TOKEN`, `GITHUB_REPO` (owner/name), `GITHUB_API_URL`.
    Github {
        token: SecretString,
        repo: String,
        api_url: Url,
    },
    /// `GITLAB_TOKEN`, `GITLAB_PROJECT` (its path, group/project, or its numeric id),
    /// `GITLAB_URL`.
    Gitlab {
        token: SecretString,
        project: String,
        url: Url,
    },
    /// `JIRA_URL`, `JIRA_EMAIL`, `JIRA_API_TOKEN`, `JIRA_PROJECT` (its key), `JIRA_ISSUE_TYPE`
    /// (default Task).
    Jira {
        url: Url,
        email: String,
        token: SecretString,
        project: String,
        issue_type: String,
    },
    /// `LINEAR_API_KEY`, `LINEAR_TEAM_ID`, `LINEAR_API_URL`.
    Linear {
        api_key: SecretString,
        team_id: String,
        api_url: Url,
    },
}

/// Every tracker's variables, with the webhook secret's first.
const VARS: [(Tracker, &[&str]); 4] = [
    (
        Tracker::Github,
        &[
            "GITHUB_WEBHOOK_SECRET",
            "GITHUB_TOKEN",
            "GITHUB_REPO",
            "GITHUB_API_URL",
        ],
    ),
    (
        Tracker::Gitlab,
        &[
            "GITLAB_WEBHOOK_TOKEN",
            "GITLAB_TOKEN",
            "GITLAB_PROJECT",
            "GITLAB_URL",
        ],
    ),
    (
        Tracker::Jira,
        &[
            "JIRA_WEBHOOK_SECRET",
            "JIRA_URL",
            "JIRA_EMAIL",
            "JIRA_API_TOKEN",
            "JIRA_PROJECT",
            "JIRA_ISSUE_TYPE",
        ],
    ),
    (
        Tracker::Linear,
        &[
            "LINEAR_WEBHOOK_SECRET",
            "LINEAR_API_KEY",
            "LINEAR_TEAM_ID",
            "LINEAR_API_URL",
        ],
    ),
];

pub(super) fn tracker(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Option<FollowUpTracker>, ConfigError> {
    let chosen = match get("FOLLOWUP_TRACKER") {
        None => None,
        Some(raw) => Some(Tracker::parse(&raw).ok_or_else(|| ConfigError::Invalid {
            var: "FOLLOWUP_TRACKER",
            reason: format!("{:?} is none of github, gitlab, jira, linear", raw.trim()),
        })?),
    };
    // Another tracker's variables would do nothing: say so rather than ignore them.
    for (tracker, vars) in VARS {
        if Some(tracker) != chosen {
            none_without::<()>(
                get,
                vars,
                &format!("FOLLOWUP_TRACKER is not {}", tracker.as_str()),
            )?;
        }
    }
    let Some(chosen) = chosen else {
        return none_without(
            get,
            &["FOLLOWUP_DUE", "FOLLOWUP_POLL_INTERVAL"],
            "FOLLOWUP_TRACKER is not: choose github, gitlab, jira or linear",
        );
    };
    let required = |var: &'static str, hint: &'static str| {
        get(var)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .ok_or(ConfigError::Missing { var, hint })
    };
    let token = |var: &'static str, hint: &'static str| required(var, hint).map(SecretString::from);
    let (access, secret_var) = match chosen {
        Tracker::Github => {
            let repo = required(
                "GITHUB_REPO",
                "the repository follow-ups are filed in, owner/name",
            )?;
            if !is_path(&repo, 2) {
                return Err(ConfigError::Invalid {
                    var: "GITHUB_REPO",
                    reason: format!("{repo:?} is not owner/name"),
                });
            }
            let access = Access::Github {
                token: token(
                    "GITHUB_TOKEN",
                    "a token that may create issues in GITHUB_REPO (fine-grained: Issues read and write)",
                )?,
                repo,
                api_url: url_var(get, "GITHUB_API_URL", GITHUB_API_URL)?,
            };
            (access, "GITHUB_WEBHOOK_SECRET")
        }
        Tracker::Gitlab => {
            let project = required("GITLAB_PROJECT", "the project's path (group/project) or id")?;
            if !(project.chars().all(|c| c.is_ascii_digit()) || is_path(&project, 0)) {
                return Err(ConfigError::Invalid {
                    var: "GITLAB_PROJECT",
                    reason: format!("{project:?} is neither a path (group/project) nor an id"),
                });
            }
            let access = Access::Gitlab {
                token: token(
                    "GITLAB_TOKEN",
                    "a token with the api scope on GITLAB_PROJECT",
                )?,
                project,
                url: url_var(get, "GITLAB_URL", GITLAB_URL)?,
            };
            (access, "GITLAB_WEBHOOK_TOKEN")
        }
        Tracker::Jira => {
            let url = required(
                "JIRA_URL",
                "your site, such as https://example.atlassian.net",
            )?;
            let project = required(
                "JIRA_PROJECT",
                "the key of the project follow-ups go to, such as OPS",
            )?;
            if !project.starts_with(|c: char| c.is_ascii_uppercase())
                || !project
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            {
                return Err(ConfigError::Invalid {
                    var: "JIRA_PROJECT",
                    reason: format!("{project:?} is not a project key (such as OPS)"),
                });
            }
            let access = Access::Jira {
                url: http_url("JIRA_URL", &url)?,
                email: required(
                    "JIRA_EMAIL",
                    "the email of the account JIRA_API_TOKEN belongs to",
                )?,
                token: token("JIRA_API_TOKEN", "an API token of JIRA_EMAIL's account")?,
                project,
                issue_type: get("JIRA_ISSUE_TYPE")
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty())
                    .unwrap_or_else(|| "Task".into()),
            };
            (access, "JIRA_WEBHOOK_SECRET")
        }
        Tracker::Linear => {
            let access = Access::Linear {
                api_key: token("LINEAR_API_KEY", "a personal API key, under Settings, API")?,
                team_id: required("LINEAR_TEAM_ID", "the id of the team follow-ups go to")?,
                api_url: url_var(get, "LINEAR_API_URL", LINEAR_API_URL)?,
            };
            (access, "LINEAR_WEBHOOK_SECRET")
        }
    };
    let webhook_secret = match secret_var {
        // GitLab sends its token as it is, with no signature: any length the admin chose.
        "GITLAB_WEBHOOK_TOKEN" => get(secret_var)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .map(SecretString::from),
        var => secret(get, var)?,
    };
    let poll_every = duration(
        get("FOLLOWUP_POLL_INTERVAL"),
        "FOLLOWUP_POLL_INTERVAL",
        "10m",
    )?;
    if poll_every < MIN_POLL {
        return Err(ConfigError::Invalid {
            var: "FOLLOWUP_POLL_INTERVAL",
            reason: "trackers are asked at most every 10m".into(),
        });
    }
    Ok(Some(FollowUpTracker {
        access,
        webhook_secret,
        poll_every,
        due: duration(get("FOLLOWUP_DUE"), "FOLLOWUP_DUE", "14d")?,
    }))
}

/// `a/b` (with `parts` == 2) or `a/b/…/z` (any number of parts from 2, `parts` == 0): names of
/// letters, digits, `-`, `_`, `.`.
fn is_path(s: &str, parts: usize) -> bool {
    let names: Vec<&str> = s.split('/').collect();
    let count_ok = if parts == 0 {
        names.len() >= 2
    } else {
        names.len() == parts
    };
    count_ok
        && names.iter().all(|n| {
            !n.is_empty()
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<Option<FollowUpTracker>, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        tracker(&|name| map.get(name).cloned())
    }

    #[test]
    fn no_tracker_without_followup_tracker() {
        assert!(read(&[]).expect("ok").is_none());
    }

    #[test]
    fn github_needs_its_token_and_repository_and_polls_without_a_webhook_secret() {
        let t = read(&[
            ("FOLLOWUP_TRACKER", "github"),
            ("GITHUB_TOKEN", "ghp_x"),
            ("GITHUB_REPO", "acme/ops"),
        ])
        .expect("ok")
        .expect("on");
        assert_eq!(t.tracker(), Tracker::Github);
        assert!(t.polls());
        assert_eq!(t.poll_every, MIN_POLL);
        assert_eq!(t.due, Duration::from_secs(14 * 86_400));
        let e = read(&[("FOLLOWUP_TRACKER", "github"), ("GITHUB_TOKEN", "ghp_x")]).unwrap_err();
        assert!(e.to_string().contains("GITHUB_REPO is not set"), "{e}");
        let e = read(&[
            ("FOLLOWUP_TRACKER", "github"),
            ("GITHUB_TOKEN", "ghp_x"),
            ("GITHUB_REPO", "acme"),
        ])
        .unwrap_err();
        assert!(e.to_string().contains("is not owner/name"), "{e}");
    }

    #[test]
    fn another_trackers_variable_is_a_mistake_and_never_echoes_a_token() {
        let e = read(&[
            ("FOLLOWUP_TRACKER", "github"),
            ("GITHUB_TOKEN", "ghp_x"),
            ("GITHUB_REPO", "acme/ops"),
            ("JIRA_API_TOKEN", "secret-value"),
        ])
        .unwrap_err();
        assert!(e.to_string().contains("JIRA_API_TOKEN"), "{e}");
        assert!(!e.to_string().contains("secret-value"), "{e}");
        let e = read(&[("LINEAR_API_KEY", "lin_api_x")]).unwrap_err();
        assert!(
            e.to_string().contains("FOLLOWUP_TRACKER is not linear"),
            "{e}"
        );
    }

    #[test]
    fn polling_is_never_more_often_than_every_ten_minutes() {
        let e = read(&[
            ("FOLLOWUP_TRACKER", "linear"),
            ("LINEAR_API_KEY", "lin_api_x"),
            ("LINEAR_TEAM_ID", "team"),
            ("FOLLOWUP_POLL_INTERVAL", "1m"),
        ])
        .unwrap_err();
        assert!(e.to_string().contains("at most every 10m"), "{e}");
    }

    #[test]
    fn jira_takes_a_project_key_and_defaults_the_issue_type_to_task() {
        let t = read(&[
            ("FOLLOWUP_TRACKER", "Jira"),
            ("JIRA_URL", "https://example.atlassian.net"),
            ("JIRA_EMAIL", "bot@example.com"),
            ("JIRA_API_TOKEN", "tok"),
            ("JIRA_PROJECT", "OPS"),
            ("JIRA_WEBHOOK_SECRET", "0123456789abcdef0123"),
        ])
        .expect("ok")
        .expect("on");
        assert!(!t.polls());
        assert!(matches!(&t.access, Access::Jira { issue_type, .. } if issue_type == "Task"));
        let e = read(&[
            ("FOLLOWUP_TRACKER", "jira"),
            ("JIRA_URL", "https://example.atlassian.net"),
            ("JIRA_EMAIL", "bot@example.com"),
            ("JIRA_API_TOKEN", "tok"),
            ("JIRA_PROJECT", "ops board"),
        ])
        .unwrap_err();
        assert!(e.to_string().contains("not a project key"), "{e}");
    }
}
