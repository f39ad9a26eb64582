//! The variables of installing in many workspaces through Slack's OAuth v2 flow: the app's
//! client credentials, the secret that signs the install link's `state`, where the deployment
//! is reached (`PUBLIC_URL`, the root of `/slack/install` and `/slack/oauth_redirect`), and the
//! keys installations' tokens are sealed with (`crate::tokens`).
//!
//! Off unless `SLACK_CLIENT_ID` is set; with it, the others (all but `SLACK_OAUTH_URL` and
//! `TOKEN_ENCRYPTION_KEY_PREVIOUS`) are required. Any of them set without `SLACK_CLIENT_ID` is
//! refused, as a half-configured outside system is: it would do nothing. Secrets and keys are
//! never shown, not even in errors.

use secrecy::SecretString;
use url::Url;

use super::integrations::{none_without, secret, url_var};
use super::{ConfigError, http_url};
use crate::tokens::{TokenKey, TokenKeys};

/// Slack's authorize page for OAuth v2 (the simulator serves `/oauth/v2/authorize` too).
pub const SLACK_OAUTH_URL: &str = "https://slack.com/oauth/v2/authorize";
/// Where a browser starts an installation, under `PUBLIC_URL`.
pub const INSTALL_PATH: &str = "/slack/install";
/// Where Slack sends the browser back with the code, under `PUBLIC_URL`.
pub const REDIRECT_PATH: &str = "/slack/oauth_redirect";

/// `SLACK_CLIENT_ID`, `SLACK_CLIENT_SECRET`, `SLACK_STATE_SECRET`, `SLACK_OAUTH_URL`,
/// `PUBLIC_URL`, `TOKEN_ENCRYPTION_KEY` and `TOKEN_ENCRYPTION_KEY_PREVIOUS`.
#[derive(Debug, Clone)]
pub struct OAuth {
    /// The app's Client ID (Basic Information → App Credentials).
    pub client_id: String,
    /// The app's Client Secret: `oauth.v2.access` is called with it.
    pub client_secret: SecretString,
    /// Signs the `state` of every install link (at least 16 characters).
    pub state_secret: SecretString,
    /// Slack's authorize page (`SLACK_OAUTH_URL`).
    pub authorize_url: Url,
    /// The root Slack redirects browsers to (`PUBLIC_URL`).
    pub public_url: Url,
    /// `TOKEN_ENCRYPTION_KEY` and `TOKEN_ENCRYPTION_KEY_PREVIOUS`.
    pub keys: TokenKeys,
}

impl OAuth {
    /// `PUBLIC_URL` + `/slack/oauth_redirect`: the redirect URL to register with Slack.
    pub fn redirect_uri(&self) -> String {
        self.under_public_url(REDIRECT_PATH)
    }

    /// `PUBLIC_URL` + `/slack/install`: the link to give whoever installs the app.
    pub fn install_url(&self) -> String {
        self.under_public_url(INSTALL_PATH)
    }

    fn under_public_url(&self, path: &str) -> String {
        format!("{}{path}", self.public_url.as_str().trim_end_matches('/'))
    }
}

/// The variables that mean nothing without `SLACK_CLIENT_ID`.
const WITH_THE_CLIENT_ID: [&str; 6] = [
    "SLACK_CLIENT_SECRET",
    "SLACK_STATE_SECRET",
    "TOKEN_ENCRYPTION_KEY",
    "TOKEN_ENCRYPTION_KEY_PREVIOUS",
    "PUBLIC_URL",
    "SLACK_OAUTH_URL",
];

pub(super) fn oauth(get: &impl Fn(&str) -> Option<String>) -> Result<Option<OAuth>, ConfigError> {
    let Some(client_id) = get("SLACK_CLIENT_ID") else {
        return none_without(
            get,
            &WITH_THE_CLIENT_ID,
            "SLACK_CLIENT_ID is not: installing in many workspaces needs the app's Client ID (Basic Information)",
        );
    };
    let client_id = client_id.trim().to_string();
    // Slack's client ids are digits, a dot, digits; never echoed (a secret pasted here by mistake).
    if !client_id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '.')
    {
        return Err(ConfigError::Invalid {
            var: "SLACK_CLIENT_ID",
            reason: "expected the app's Client ID (digits and a dot, from Basic Information)"
                .into(),
        });
    }
    let client_secret = super::app_secret(
        get("SLACK_CLIENT_SECRET"),
        "SLACK_CLIENT_SECRET",
        "the app's Client Secret from Basic Information; SLACK_CLIENT_ID is set",
        "Client Secret",
    )?;
    let state_secret = secret(get, "SLACK_STATE_SECRET")?.ok_or(ConfigError::Missing {
        var: "SLACK_STATE_SECRET",
        hint: "signs install links; SLACK_CLIENT_ID is set. Generate one with: openssl rand -hex 32",
    })?;
    let current = key(get, "TOKEN_ENCRYPTION_KEY")?.ok_or(ConfigError::Missing {
        var: "TOKEN_ENCRYPTION_KEY",
        hint: "seals installations' tokens; SLACK_CLIENT_ID is set. Generate one with: openssl rand -base64 32",
    })?;
    let previous = key(get, "TOKEN_ENCRYPTION_KEY_PREVIOUS")?;
    let public_url = get("PUBLIC_URL").ok_or(ConfigError::Missing {
        var: "PUBLIC_URL",
        hint: "where Slack sends browsers back, such as https://incidents.example.com; SLACK_CLIENT_ID is set",
    })?;
    let public_url = http_url("PUBLIC_URL", &public_url)?;
    if public_url.query().is_some() || public_url.fragment().is_some() {
        return Err(ConfigError::Invalid {
            var: "PUBLIC_URL",
            reason: "give the root the bot is reached at, without ? or #, such as https://incidents.example.com".into(),
        });
    }
    Ok(Some(OAuth {
        client_id,
        client_secret,
        state_secret,
        authorize_url: url_var(get, "SLACK_OAUTH_URL", SLACK_OAUTH_URL)?,
        public_url,
        keys: TokenKeys::new(current, previous),
    }))
}

/// A key variable: unset, or 32 bytes of base64 (never echoed).
fn key(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
) -> Result<Option<TokenKey>, ConfigError> {
    get(var)
        .map(|text| {
            TokenKey::from_base64(&text).map_err(|e| ConfigError::Invalid {
                var,
                reason: e.to_string(),
            })
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use crate::config::Settings;
    use crate::config::tests::vars;

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const OLD_KEY: &str = "HxwdHh8AAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRo=";
    const CLIENT_SECRET: &str = "3c5f1e0b9a8d7c6b5a4f3e2d1c0b9a8d";
    const STATE_SECRET: &str = "6f1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b";

    fn installs(extra: &[(&'static str, &str)]) -> HashMap<&'static str, String> {
        let mut m = vars(&[
            ("SLACK_CLIENT_ID", "2141029472.691202649728"),
            ("SLACK_CLIENT_SECRET", CLIENT_SECRET),
            ("SLACK_STATE_SECRET", STATE_SECRET),
            ("TOKEN_ENCRYPTION_KEY", KEY),
            ("PUBLIC_URL", "https://incidents.example.com/"),
        ]);
        for (k, v) in extra {
            m.insert(*k, v.to_string());
        }
        m
    }

    fn error(vars: HashMap<&'static str, String>) -> String {
        Settings::from_map(&vars).expect_err("refused").to_string()
    }

    #[test]
    fn installs_are_off_without_their_variables() {
        let s = Settings::from_map(&vars(&[])).expect("valid");
        assert!(s.workspaces.is_none());
    }

    #[test]
    fn installs_read_the_client_the_state_secret_the_keys_and_the_public_url() {
        let s = Settings::from_map(&installs(&[])).expect("valid");
        let oauth = s.workspaces.as_ref().expect("on");
        assert_eq!(oauth.client_id, "2141029472.691202649728");
        assert_eq!(
            oauth.authorize_url.as_str(),
            "https://slack.com/oauth/v2/authorize"
        );
        assert_eq!(
            oauth.redirect_uri(),
            "https://incidents.example.com/slack/oauth_redirect"
        );
        assert_eq!(
            oauth.install_url(),
            "https://incidents.example.com/slack/install"
        );
        let current = crate::tokens::TokenKey::from_base64(KEY).expect("a key");
        assert_eq!(oauth.keys.current_id(), current.id());
        assert_eq!(oauth.keys.previous_id(), None);
        let debug = format!("{s:?}");
        for secret in [CLIENT_SECRET, STATE_SECRET, KEY, "AAECAwQF"] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
        assert!(
            debug.contains(current.id()),
            "the key's id is shown: {debug}"
        );

        let s = Settings::from_map(&installs(&[
            ("TOKEN_ENCRYPTION_KEY_PREVIOUS", OLD_KEY),
            (
                "SLACK_OAUTH_URL",
                "http://127.0.0.1:4000/oauth/v2/authorize",
            ),
            ("PUBLIC_URL", "https://example.com/incidents"),
        ]))
        .expect("valid");
        let oauth = s.workspaces.expect("on");
        assert_eq!(
            oauth.keys.previous_id(),
            Some(
                crate::tokens::TokenKey::from_base64(OLD_KEY)
                    .expect("a key")
                    .id()
            )
        );
        assert_eq!(
            oauth.authorize_url.as_str(),
            "http://127.0.0.1:4000/oauth/v2/authorize"
        );
        assert_eq!(
            oauth.redirect_uri(),
            "https://example.com/incidents/slack/oauth_redirect"
        );
    }

    #[test]
    fn a_variable_of_installs_without_the_client_id_is_refused() {
        for var in super::WITH_THE_CLIENT_ID {
            assert_eq!(
                error(vars(&[(var, "https://example.com")])),
                format!(
                    "configuration: {var} is invalid: it is set, but SLACK_CLIENT_ID is not: \
                     installing in many workspaces needs the app's Client ID (Basic Information)"
                )
            );
        }
    }

    #[test]
    fn each_missing_or_bad_variable_is_named_in_one_line_and_never_shown() {
        let without = |var: &str| {
            let mut m = installs(&[]);
            m.remove(var);
            error(m)
        };
        assert_eq!(
            without("SLACK_CLIENT_SECRET"),
            "configuration: SLACK_CLIENT_SECRET is not set (the app's Client Secret from Basic \
             Information; SLACK_CLIENT_ID is set)"
        );
        assert_eq!(
            without("SLACK_STATE_SECRET"),
            "configuration: SLACK_STATE_SECRET is not set (signs install links; SLACK_CLIENT_ID \
             is set. Generate one with: openssl rand -hex 32)"
        );
        assert_eq!(
            without("TOKEN_ENCRYPTION_KEY"),
            "configuration: TOKEN_ENCRYPTION_KEY is not set (seals installations' tokens; \
             SLACK_CLIENT_ID is set. Generate one with: openssl rand -base64 32)"
        );
        assert_eq!(
            without("PUBLIC_URL"),
            "configuration: PUBLIC_URL is not set (where Slack sends browsers back, such as \
             https://incidents.example.com; SLACK_CLIENT_ID is set)"
        );
        let cases: [(&'static str, &str, &str); 8] = [
            (
                "SLACK_CLIENT_ID",
                "xoxb-pasted token",
                "configuration: SLACK_CLIENT_ID is invalid: expected the app's Client ID (digits \
                 and a dot, from Basic Information)",
            ),
            (
                "SLACK_CLIENT_SECRET",
                "tooshort",
                "configuration: SLACK_CLIENT_SECRET is invalid: expected the app's Client Secret \
                 (32 characters, from Basic Information)",
            ),
            (
                "SLACK_STATE_SECRET",
                "tooshort",
                "configuration: SLACK_STATE_SECRET is invalid: use at least 16 characters",
            ),
            (
                "TOKEN_ENCRYPTION_KEY",
                "c2VjcmV0LWJ1dC1zaG9ydA==",
                "configuration: TOKEN_ENCRYPTION_KEY is invalid: it is not 32 bytes of base64: \
                 use the output of `openssl rand -base64 32`",
            ),
            (
                "TOKEN_ENCRYPTION_KEY_PREVIOUS",
                "secret, but not base64",
                "configuration: TOKEN_ENCRYPTION_KEY_PREVIOUS is invalid: it is not 32 bytes of \
                 base64: use the output of `openssl rand -base64 32`",
            ),
            (
                "PUBLIC_URL",
                "incidents.example.com",
                "configuration: PUBLIC_URL is invalid: \"incidents.example.com\": relative URL \
                 without a base",
            ),
            (
                "PUBLIC_URL",
                "https://incidents.example.com/?x=1",
                "configuration: PUBLIC_URL is invalid: give the root the bot is reached at, \
                 without ? or #, such as https://incidents.example.com",
            ),
            (
                "SLACK_OAUTH_URL",
                "ftp://slack.com/oauth",
                "configuration: SLACK_OAUTH_URL is invalid: \"ftp://slack.com/oauth\" is not an \
                 http(s) URL",
            ),
        ];
        for (var, value, expected) in cases {
            let said = error(installs(&[(var, value)]));
            assert_eq!(said, expected);
            assert!(!said.contains('\n'), "{said}");
            if !var.ends_with("_URL") {
                assert!(!said.contains(value), "{value} shown: {said}");
            }
        }
    }
}
