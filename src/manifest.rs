//! The Slack app manifest, as code: `incident-commander manifest` prints it, and
//! `manifests/slack-app.yaml` is a copy that `tests/it/manifest.rs` keeps equal to that output.
//!
//! It is built from data: [`FEATURES`] (the slash command, shortcuts, the Events API events the
//! bot subscribes to, interactivity) and the scopes the bot's Web API calls need
//! ([`crate::slack::scopes::BOT_METHODS`]). A new Slack call therefore adds its scope here by
//! itself; a new shortcut or event is one entry in [`FEATURES`] (an event with the scopes Slack
//! requires to deliver it). Nothing here depends on the configuration: the manifest is printed
//! before there are tokens to configure. Text values are written as JSON strings, which are valid
//! YAML double-quoted scalars.

use crate::slack::scopes::{self, COMMANDS_SCOPE};

/// A slash command.
#[derive(Debug, Clone, Copy)]
pub struct SlashCommand {
    pub command: &'static str,
    pub description: &'static str,
    pub usage_hint: &'static str,
    /// Mentions arrive as `<@U…|name>` (the command parser relies on it).
    pub should_escape: bool,
}

/// A shortcut (`message` on a message's menu, `global` in the composer).
#[derive(Debug, Clone, Copy)]
pub struct Shortcut {
    pub name: &'static str,
    /// `message` or `global`.
    pub kind: &'static str,
    pub callback_id: &'static str,
    pub description: &'static str,
}

/// An Events API event the bot subscribes to, with the bot scopes Slack needs to deliver it.
#[derive(Debug, Clone, Copy)]
pub struct Subscription {
    pub name: &'static str,
    pub scopes: &'static [&'static str],
}

/// What the app declares to Slack.
#[derive(Debug, Clone, Copy)]
pub struct Features {
    pub name: &'static str,
    pub description: &'static str,
    pub background_color: &'static str,
    pub bot_display_name: &'static str,
    pub slash_commands: &'static [SlashCommand],
    pub shortcuts: &'static [Shortcut],
    pub bot_events: &'static [Subscription],
    /// Buttons and modals (Socket Mode needs no request URL).
    pub interactivity: bool,
}

/// incident-commander's features.
pub const FEATURES: Features = Features {
    name: "Incident Commander",
    description: "Declare and run incidents from Slack",
    background_color: "#b91c1c",
    bot_display_name: "incident-commander",
    slash_commands: &[SlashCommand {
        command: "/inc",
        description: "Declare and manage incidents",
        usage_hint: "declare sev1 Checkout is down | update fixing … | resolve | stats | help",
        should_escape: true,
    }],
    shortcuts: &[Shortcut {
        name: "Declare incident",
        kind: "message",
        callback_id: crate::domain::modal::SHORTCUT,
        description: "Declare an incident from this message (an alert, a report)",
    }],
    bot_events: &[
        Subscription {
            name: "pin_added",
            scopes: &["pins:read"],
        },
        Subscription {
            name: "pin_removed",
            scopes: &["pins:read"],
        },
        Subscription {
            name: "member_joined_channel",
            scopes: &["channels:read", "groups:read"],
        },
        // Edits and deletions of pinned messages arrive as message events.
        Subscription {
            name: "message.channels",
            scopes: &["channels:history"],
        },
        Subscription {
            name: "message.groups",
            scopes: &["groups:history"],
        },
        // A workspace removing the app, or revoking its token: its work stops.
        Subscription {
            name: "app_uninstalled",
            scopes: &[],
        },
        Subscription {
            name: "tokens_revoked",
            scopes: &[],
        },
    ],
    interactivity: true,
};

/// Every bot scope `features` needs, in a stable order: `commands` first, then the scopes of the
/// Web API methods, then those of the events.
pub fn bot_scopes(features: &Features) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    if !features.slash_commands.is_empty() || !features.shortcuts.is_empty() {
        out.push(COMMANDS_SCOPE);
    }
    let events = features
        .bot_events
        .iter()
        .flat_map(|e| e.scopes.iter().copied());
    for scope in scopes::needed_by_methods().into_iter().chain(events) {
        if !out.contains(&scope) {
            out.push(scope);
        }
    }
    out
}

/// Why `scope` is asked for, as the manifest's comment says it.
fn reason(features: &Features, scope: &str) -> String {
    let mut uses: Vec<String> = Vec::new();
    if scope == COMMANDS_SCOPE {
        uses.extend(
            features
                .slash_commands
                .iter()
                .map(|c| c.command.to_string()),
        );
        uses.extend(
            features
                .shortcuts
                .iter()
                .map(|s| format!("the {} shortcut", s.callback_id)),
        );
    }
    uses.extend(
        scopes::methods_needing(scope)
            .into_iter()
            .map(str::to_string),
    );
    uses.extend(
        features
            .bot_events
            .iter()
            .filter(|e| e.scopes.contains(&scope))
            .map(|e| format!("{} events", e.name)),
    );
    uses.join(", ")
}

/// A YAML double-quoted scalar.
fn q(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

/// The manifest for `features` with Socket Mode (the default transport), as YAML.
pub fn render(features: &Features) -> String {
    render_for(features, None)
}

/// `base` as the root of the request URLs: an `https://` URL (Slack sends requests to nothing
/// else) without a query; the trailing `/` dropped.
pub fn request_base(base: &str) -> Result<String, String> {
    let url = url::Url::parse(base.trim()).map_err(|e| format!("--http {base:?}: {e}"))?;
    if url.scheme() != "https" || url.host_str().is_none() {
        return Err(format!(
            "--http {base:?}: Slack sends requests only to https:// URLs, such as https://bot.example.com"
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "--http {base:?}: give the root URL, without ? or #"
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// The manifest for `features`, as YAML: with `http` (a root from [`request_base`]) for the HTTP
/// transport — the slash command, interactivity and the Events API at its `/slack/…` request
/// URLs, Socket Mode off — else for Socket Mode.
pub fn render_for(features: &Features, http: Option<&str>) -> String {
    let mut y = String::new();
    let mut line = |indent: usize, text: &str| {
        y.push_str(&" ".repeat(indent));
        y.push_str(text);
        y.push('\n');
    };
    let comments: &[&str] = match http {
        None => &[
            "Slack app manifest for incident-commander, printed by `incident-commander manifest`",
            "(src/manifest.rs); tests keep this file equal to that output. Create the app at",
            "https://api.slack.com/apps → Create New App → From an app manifest, paste this, then",
            "install it to your workspace. Socket Mode needs no public URL. Each scope lists what",
            "uses it; when a new version asks for more, Slack asks you to reinstall the app.",
        ],
        Some(_) => &[
            "Slack app manifest for incident-commander over HTTP, printed by",
            "`incident-commander manifest --http <url>` (src/manifest.rs). Create the app at",
            "https://api.slack.com/apps → Create New App → From an app manifest, paste this, then",
            "install it to your workspace. Run the bot with SLACK_TRANSPORT=http and the app's",
            "SLACK_SIGNING_SECRET; the request URLs below must reach its HTTP_ADDR over HTTPS.",
            "Each scope lists what uses it; when a new version asks for more, Slack asks you to",
            "reinstall the app.",
        ],
    };
    for comment in comments {
        line(0, &format!("# {comment}"));
    }
    line(0, "_metadata:");
    line(2, "major_version: 1");
    line(2, "minor_version: 1");
    line(0, "display_information:");
    line(2, &format!("name: {}", q(features.name)));
    line(2, &format!("description: {}", q(features.description)));
    line(
        2,
        &format!("background_color: {}", q(features.background_color)),
    );
    line(0, "features:");
    line(2, "bot_user:");
    line(
        4,
        &format!("display_name: {}", q(features.bot_display_name)),
    );
    line(4, "always_online: true");
    if !features.slash_commands.is_empty() {
        line(2, "slash_commands:");
        for c in features.slash_commands {
            line(4, &format!("- command: {}", q(c.command)));
            line(6, &format!("description: {}", q(c.description)));
            if let Some(base) = http {
                line(6, &format!("url: {}", q(&format!("{base}/slack/commands"))));
            }
            line(6, &format!("usage_hint: {}", q(c.usage_hint)));
            line(6, &format!("should_escape: {}", c.should_escape));
        }
    }
    if !features.shortcuts.is_empty() {
        line(2, "shortcuts:");
        for s in features.shortcuts {
            line(4, &format!("- name: {}", q(s.name)));
            line(6, &format!("type: {}", q(s.kind)));
            line(6, &format!("callback_id: {}", q(s.callback_id)));
            line(6, &format!("description: {}", q(s.description)));
        }
    }
    line(0, "oauth_config:");
    line(2, "scopes:");
    line(4, "bot:");
    for scope in bot_scopes(features) {
        line(6, &format!("- {scope}  # {}", reason(features, scope)));
    }
    line(0, "settings:");
    if !features.bot_events.is_empty() {
        line(2, "event_subscriptions:");
        if let Some(base) = http {
            line(
                4,
                &format!("request_url: {}", q(&format!("{base}/slack/events"))),
            );
        }
        line(4, "bot_events:");
        for e in features.bot_events {
            line(6, &format!("- {}", e.name));
        }
    }
    line(2, "interactivity:");
    line(4, &format!("is_enabled: {}", features.interactivity));
    if let Some(base) = http {
        line(
            4,
            &format!("request_url: {}", q(&format!("{base}/slack/interactivity"))),
        );
    }
    line(2, "org_deploy_enabled: false");
    line(2, &format!("socket_mode_enabled: {}", http.is_none()));
    line(2, "token_rotation_enabled: false");
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_http_the_manifest_names_the_request_urls_and_turns_socket_mode_off() {
        let base = request_base("https://bot.example.com/").expect("valid");
        let yaml = render_for(&FEATURES, Some(&base));
        for expected in [
            "      url: \"https://bot.example.com/slack/commands\"\n",
            "    request_url: \"https://bot.example.com/slack/events\"\n    bot_events:\n",
            "    is_enabled: true\n    request_url: \"https://bot.example.com/slack/interactivity\"\n",
            "  socket_mode_enabled: false\n",
        ] {
            assert!(yaml.contains(expected), "{expected}\n{yaml}");
        }
        let socket = render(&FEATURES);
        assert!(
            !socket.contains("request_url") && !socket.contains("url:"),
            "{socket}"
        );
        assert!(socket.contains("  socket_mode_enabled: true\n"), "{socket}");
        assert_eq!(
            request_base("https://ic.example.com/slack-bot").as_deref(),
            Ok("https://ic.example.com/slack-bot")
        );
        assert!(
            request_base("http://bot.example.com").is_err(),
            "Slack sends only to https"
        );
        assert!(request_base("https://bot.example.com/?x=1").is_err());
        assert!(request_base("bot.example.com").is_err());
    }

    #[test]
    fn scopes_come_from_the_features_and_the_methods() {
        let scopes = bot_scopes(&FEATURES);
        assert_eq!(scopes[0], "commands");
        for needed in [
            "chat:write",
            "channels:manage",
            "groups:write",
            "pins:write",
        ] {
            assert!(scopes.contains(&needed), "{needed}: {scopes:?}");
        }
        assert!(!scopes.contains(&"chat:write.public"));
        let with_events = Features {
            shortcuts: &[Shortcut {
                name: "Declare incident",
                kind: "message",
                callback_id: "declare_incident",
                description: "Declare an incident from this message",
            }],
            bot_events: &[Subscription {
                name: "pin_added",
                scopes: &["pins:read"],
            }],
            ..FEATURES
        };
        let yaml = render(&with_events);
        assert!(
            yaml.contains("      - pins:read  # pins.list, pin_added events\n"),
            "{yaml}"
        );
        assert!(
            yaml.contains("  shortcuts:\n    - name: \"Declare incident\"\n"),
            "{yaml}"
        );
        assert!(
            yaml.contains("    bot_events:\n      - pin_added\n"),
            "{yaml}"
        );
        assert!(
            yaml.contains("- commands  # /inc, the declare_incident shortcut\n"),
            "{yaml}"
        );
    }
}
