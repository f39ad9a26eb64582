//! `/inc config [<setting> <value>]`: a workspace's own settings (anywhere). Without a setting it
//! shows them; with one, it asks to change it — who may, and where the settings are kept, is the
//! application's (`app::workspaces`). A setting left unset is the environment's
//! (docs/configuration.md).

use super::args::Mention;
use super::{AnywhereCommand, Args, Grammar, Parser, Problem, Spec, done};
use crate::domain::mrkdwn::{Piece, Token, pieces};
use crate::domain::reminder::{self, BadInterval};
use crate::domain::slug;

pub static CONFIG: Spec = Spec {
    words: &["config"],
    usage: "/inc config [announce|prefix|admins|coordinator-group|reminders <value>]",
    example: "/inc config prefix ops",
    help: "this workspace's settings, or change one (its admins): the announce channel, the \
           channels' prefix, its admins, the coordinator group, how often reminders come",
    parse: Parser::Anywhere(config),
};

/// What `/inc config` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigCommand {
    Show,
    Set(Setting),
}

/// One setting of a workspace and its new value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Setting {
    /// Where public incidents are announced (a channel id); `None`: nowhere.
    Announce(Option<String>),
    /// Incident channels are `<prefix>-<n>-<title>`.
    Prefix(String),
    /// Who may resolve, decline and reopen any incident, and change these settings.
    Admins(Vec<String>),
    /// The user group offered the coordinator role (an `S…` id); `None`: none.
    CoordinatorGroup(Option<String>),
    /// How long after the last update an incident is reminded.
    Reminders(chrono::Duration),
}

impl Setting {
    /// Its name, as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Setting::Announce(_) => "announce",
            Setting::Prefix(_) => "prefix",
            Setting::Admins(_) => "admins",
            Setting::CoordinatorGroup(_) => "coordinator-group",
            Setting::Reminders(_) => "reminders",
        }
    }
}

fn config(args: &mut Args<'_>, _: &Grammar) -> Result<AnywhereCommand, Problem> {
    let Some(word) = args.next_word() else {
        return Ok(AnywhereCommand::Config(ConfigCommand::Show));
    };
    let setting = match word.to_ascii_lowercase().as_str() {
        "announce" => Setting::Announce(channel_or_off(args)?),
        "prefix" => {
            let prefix = args
                .next_word()
                .ok_or(Problem::Missing("a prefix, such as `inc`"))?;
            if !slug::valid_prefix(prefix) {
                return Err(Problem::NotAPrefix(prefix.to_string()));
            }
            Setting::Prefix(prefix.to_string())
        }
        "admins" => {
            let mut admins = Vec::new();
            while let Some(word) = args.next_word() {
                match Mention::classify(word) {
                    Mention::User(id) => admins.push(id),
                    _ => return Err(Problem::NotAPerson(word.to_string())),
                }
            }
            if admins.is_empty() {
                return Err(Problem::Missing(
                    "the admins: type @ and pick each from the list",
                ));
            }
            admins.dedup();
            Setting::Admins(admins)
        }
        "coordinator-group" => {
            let word = args.next_word().ok_or(Problem::Missing(
                "a user group (type @ and pick it), or `off`",
            ))?;
            match Mention::classify(word) {
                Mention::Group { id, .. } => Setting::CoordinatorGroup(Some(id)),
                Mention::Word(w) if w.eq_ignore_ascii_case("off") => {
                    Setting::CoordinatorGroup(None)
                }
                _ => return Err(Problem::NotAGroup(word.to_string())),
            }
        }
        "reminders" => {
            let word = args
                .next_word()
                .ok_or(Problem::Missing("an interval, such as `30m`"))?;
            match reminder::parse_interval(word) {
                Ok(every) => Setting::Reminders(every),
                Err(BadInterval::NotADuration) => {
                    return Err(Problem::NotAnInterval(word.to_string()));
                }
                Err(BadInterval::OutOfRange) => {
                    return Err(Problem::IntervalOutOfRange(word.to_string()));
                }
            }
        }
        _ => return Err(Problem::NotASetting(word.to_string())),
    };
    done(args, AnywhereCommand::Config(ConfigCommand::Set(setting)))
}

/// A channel Slack linked (`<#C123|incidents>`), or `off`.
fn channel_or_off(args: &mut Args<'_>) -> Result<Option<String>, Problem> {
    let word = args
        .next_word()
        .ok_or(Problem::Missing("a channel (type # and pick it), or `off`"))?;
    if word.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    match pieces(word).as_slice() {
        [Piece::Token(Token::Channel { id, .. })] => Ok(Some(id.clone())),
        _ => Err(Problem::NotAChannel(word.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Command, parse};
    use super::*;
    use crate::domain::severity::DEFAULT_LEVELS;

    const GRAMMAR: Grammar = Grammar {
        levels: DEFAULT_LEVELS,
    };

    fn set(text: &str) -> Result<Setting, String> {
        match parse(text, &GRAMMAR).map(|p| p.command) {
            Ok(Command::Anywhere(AnywhereCommand::Config(ConfigCommand::Set(s)))) => Ok(s),
            Ok(other) => panic!("{text}: {other:?}"),
            Err(e) => Err(e.to_string()),
        }
    }

    #[test]
    fn each_setting_reads_its_value_and_refuses_a_wrong_one() {
        assert_eq!(
            parse("config", &GRAMMAR).map(|p| p.command),
            Ok(Command::Anywhere(AnywhereCommand::Config(
                ConfigCommand::Show
            )))
        );
        assert_eq!(
            set("config announce <#C0INC|incidents>"),
            Ok(Setting::Announce(Some("C0INC".into())))
        );
        assert_eq!(set("config announce off"), Ok(Setting::Announce(None)));
        assert_eq!(set("config prefix ops"), Ok(Setting::Prefix("ops".into())));
        assert_eq!(
            set("config admins <@U0A|a> <@U0B>"),
            Ok(Setting::Admins(vec!["U0A".into(), "U0B".into()]))
        );
        assert_eq!(
            set("config coordinator-group <!subteam^S0ON|@oncall>"),
            Ok(Setting::CoordinatorGroup(Some("S0ON".into())))
        );
        assert_eq!(
            set("config coordinator-group off"),
            Ok(Setting::CoordinatorGroup(None))
        );
        assert_eq!(
            set("config reminders 15m"),
            Ok(Setting::Reminders(chrono::Duration::minutes(15)))
        );
        for (text, says) in [
            ("config colour red", "`colour` is not a setting"),
            (
                "config announce #incidents",
                "is not a channel Slack linked",
            ),
            ("config prefix Inc!", "is not a channel prefix"),
            ("config admins bob", "is not a person Slack linked"),
            ("config admins", "Give the admins"),
            ("config coordinator-group <@U0A>", "is not a user group"),
            ("config reminders soon", "is not an interval"),
            ("config reminders 10s", "every minute at most"),
            ("config prefix ops now", "`now` was not expected"),
        ] {
            let said = set(text).expect_err(text);
            assert!(said.contains(says), "{text}: {said}");
        }
    }
}
