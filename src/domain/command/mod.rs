//! The `/inc` command language, parsed with no network, database or clock.
//!
//! **One table ([`COMMANDS`]) is the source of everything about a command**: the words that call
//! it, its usage line, the example and one-line description `/inc help` shows, and its parser —
//! whose type says where the command may be used ([`Parser::Anywhere`], or
//! [`Parser::InChannel`]: only in an incident's channel), so a parsed [`Command`] carries its
//! scope and no handler meets a command of the wrong one. Each group of commands keeps its
//! [`Spec`]s and parsers in its own file; adding a command means writing its `Spec` there,
//! listing it in [`COMMANDS`] and describing it in docs/commands.md (a test holds the two
//! together). What a command that changes an incident *does* is decided in
//! [`crate::domain::change`].
//!
//! [`CommandError`]'s `Display` *is* the ephemeral reply the user sees: what was wrong, then the
//! correct form with an example. Keywords are case-insensitive; extra spaces are ignored; free
//! text (an update, a note) is kept as typed.

use std::fmt;

use super::change::Change;
use super::mrkdwn::escape;
use super::severity::Severity;

mod aftercare;
pub mod args;
mod config;
mod general;
mod lifecycle;
mod outside;
mod reading;
mod reminders;
mod response;
mod roles;
mod stats;
mod writing;

pub use args::{Args, Mention};
pub use config::{ConfigCommand, Setting};

/// The longest title accepted (the Declare modal enforces the same).
pub const MAX_TITLE_CHARS: usize = 150;
/// The longest update, note, follow-up, resolution or escalation text: it is shown in one Slack
/// section (3,000 characters at most) with a line of the bot's own around it.
pub const MAX_TEXT_CHARS: usize = 2_500;
/// The longest summary: it heads the channel topic and both cards.
pub const MAX_SUMMARY_CHARS: usize = 500;

/// Where a command may be used: read from its [`Parser`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Anywhere,
    /// Only in an incident's channel: the incident is the channel's.
    IncidentChannel,
}

/// Reads the words after a command's own into a command of its scope.
#[derive(Clone, Copy)]
pub enum Parser {
    Anywhere(fn(&mut Args<'_>, &Grammar) -> Result<AnywhereCommand, Problem>),
    InChannel(fn(&mut Args<'_>, &Grammar) -> Result<InChannelCommand, Problem>),
}

/// Everything about one command.
pub struct Spec {
    /// The words that call it; the first is its name.
    pub words: &'static [&'static str],
    /// `/inc update [<status>] <text>`, as typed (escaped when shown).
    pub usage: &'static str,
    pub example: &'static str,
    /// What it does, for `/inc help`.
    pub help: &'static str,
    /// Reads the words after the command's own; its variant is the command's scope.
    pub parse: Parser,
}

impl Spec {
    pub fn name(&self) -> &'static str {
        self.words[0]
    }

    pub fn scope(&self) -> Scope {
        match self.parse {
            Parser::Anywhere(_) => Scope::Anywhere,
            Parser::InChannel(_) => Scope::IncidentChannel,
        }
    }

    /// The usage line as Slack must receive it: a bare `<text>` would be read as markup.
    pub fn usage_escaped(&self) -> String {
        escape(self.usage)
    }
}

impl fmt::Debug for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Spec({})", self.name())
    }
}

impl PartialEq for Spec {
    fn eq(&self, other: &Spec) -> bool {
        self.name() == other.name()
    }
}

impl Eq for Spec {}

/// Every command, in the order `/inc help` lists them.
pub static COMMANDS: &[&Spec] = &[
    &general::DECLARE,
    &general::ADOPT,
    &general::LIST,
    &general::HELP,
    &reading::STATUS,
    &writing::UPDATE,
    &roles::ROLE,
    &roles::COORDINATOR,
    &roles::OPERATOR,
    &roles::COMMS,
    &reading::ROLES,
    &response::SEVERITY,
    &response::ESCALATE,
    &outside::PAGE,
    &writing::SUMMARY,
    &writing::NOTE,
    &writing::FOLLOWUP,
    &writing::IMPACT,
    &reading::FOLLOWUPS,
    &reminders::REMIND,
    &lifecycle::RESOLVE,
    &lifecycle::DECLINE,
    &lifecycle::REOPEN,
    &lifecycle::DUPLICATE,
    &aftercare::POSTMORTEM,
    &aftercare::ARCHIVE,
    &aftercare::KEEP,
    &outside::STATUSPAGE,
    &stats::STATS,
    &config::CONFIG,
];

/// What parsing needs to know about the workspace's configuration.
#[derive(Debug, Clone, Copy)]
pub struct Grammar {
    /// How many severity levels there are.
    pub levels: u8,
}

/// A well-formed `/inc` command, by where it may be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Anywhere(AnywhereCommand),
    /// Only in an incident's channel: the incident is the channel's.
    InChannel(InChannelCommand),
}

/// A command that works anywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnywhereCommand {
    Help,
    List,
    Declare {
        severity: Severity,
        triage: bool,
        title: String,
        /// `/inc declare drill …`: an exercise.
        drill: bool,
    },
    /// `/inc adopt …`: declare, with the channel it was typed in as the incident's channel.
    Adopt {
        severity: Severity,
        triage: bool,
        title: String,
        drill: bool,
    },
    /// `/inc declare [drill] [<title>]`: the Declare modal, prefilled with the title if given
    /// (and "This is a drill" ticked after `drill`).
    DeclareModal {
        title: Option<String>,
        drill: bool,
    },
    /// `/inc stats [days]`: the figures of the incidents declared in the last `days` days.
    Stats {
        days: u32,
    },
    /// `/inc config [<setting> <value>]`: the workspace's settings, shown or changed.
    Config(ConfigCommand),
}

/// A command about the incident of the channel it was typed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InChannelCommand {
    Status,
    /// `/inc update` alone: the Update modal.
    UpdateModal,
    Roles,
    FollowUps,
    /// `/inc postmortem`: write the draft and upload it to the channel (a job).
    Postmortem,
    /// `/inc statuspage`: the status-page form.
    StatuspageModal,
    /// `/inc duplicate INC-n`: the app finds incident `number`, then decides the change.
    Duplicate {
        number: i64,
    },
    /// Any command that changes the incident.
    Change(Change),
}

/// A parsed command and the spec it matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub spec: &'static Spec,
    pub command: Command,
}

/// A command that cannot be carried out as typed. Nothing is changed by a rejected command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandError {
    Unknown {
        word: String,
    },
    Invalid {
        spec: &'static Spec,
        problem: Problem,
    },
}

/// What is wrong with a known command's arguments. Its `Display` is one sentence; the command's
/// usage follows it in [`CommandError`]'s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// `what` is missing, e.g. "a severity and a title".
    Missing(&'static str),
    /// The free text is missing: "The note is empty."
    Empty(&'static str),
    NotASeverity(String),
    NotARole(String),
    /// A word where a person was expected that Slack did not link to anybody.
    NotAPerson(String),
    /// A user group where one person was expected (`@oncall`).
    NotOnePerson(String),
    /// `@here`, `@channel` or `@everyone` (shown with its `@`).
    Crowd(String),
    /// Neither a person nor a user group Slack linked.
    NotAnEscalationTarget(String),
    /// Words after a complete command.
    Unexpected(String),
    /// Not a word that can name a PagerDuty service.
    NotAService(String),
    TooLong {
        what: &'static str,
        chars: usize,
        max: usize,
    },
    /// Text made only of invisible characters (spaces, zero-width and direction marks).
    NoVisibleText(&'static str),
    /// Not a duration such as `15m` or `1h`.
    NotAnInterval(String),
    /// A reminder interval shorter than a minute or longer than a week.
    IntervalOutOfRange(String),
    /// Not a number of working days from 1 to 60 (`5d`).
    NotWorkingDays(String),
    /// Not an http(s) link.
    NotALink(String),
    /// Not a setting `/inc config` knows.
    NotASetting(String),
    /// Not a channel Slack linked (`#` and picked from the list).
    NotAChannel(String),
    /// Not a user group Slack linked.
    NotAGroup(String),
    /// Not a channel name prefix (1–20 of `a-z 0-9 - _`).
    NotAPrefix(String),
    /// Not an incident's reference (`INC-7`).
    NotAnIncident(String),
    /// Not a time of day (`14:02`) or `now`.
    NotATime(String),
    /// `/inc update resolved …`: resolving and declining have commands of their own.
    UseOwnCommand {
        status: super::Status,
        command: &'static str,
    },
}

/// Parses the text after `/inc`.
pub fn parse(text: &str, grammar: &Grammar) -> Result<Parsed, CommandError> {
    let mut args = Args::new(text);
    let Some(word) = args.next_word() else {
        return Ok(Parsed {
            spec: &general::HELP,
            command: Command::Anywhere(AnywhereCommand::Help),
        });
    };
    let word_lower = word.to_lowercase();
    let spec = COMMANDS
        .iter()
        .copied()
        .find(|s| s.words.contains(&word_lower.as_str()))
        .ok_or_else(|| CommandError::Unknown {
            word: word.to_string(),
        })?;
    let command = match spec.parse {
        Parser::Anywhere(parse) => parse(&mut args, grammar).map(Command::Anywhere),
        Parser::InChannel(parse) => parse(&mut args, grammar).map(Command::InChannel),
    }
    .map_err(|problem| CommandError::Invalid { spec, problem })?;
    Ok(Parsed { spec, command })
}

// --- helpers shared by the parsers ---

/// Nothing may follow.
fn done<C>(args: &mut Args<'_>, command: C) -> Result<C, Problem> {
    match args.next_word() {
        None => Ok(command),
        Some(word) => Err(Problem::Unexpected(word.to_string())),
    }
}

/// Whether `text` shows anything: not only white space, control characters, zero-width
/// characters or direction marks (which would make an invisible title).
pub fn has_visible_text(text: &str) -> bool {
    text.chars().any(|c| {
        !c.is_whitespace()
            && !c.is_control()
            && !matches!(c,
                '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}'
                | '\u{17B5}' | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}' | '\u{FFF0}'..='\u{FFF8}'
                | '\u{E0000}'..='\u{E007F}')
    })
}

/// Free text for `what`: required, visible, at most `max` characters.
fn text(args: &mut Args<'_>, what: &'static str, max: usize) -> Result<String, Problem> {
    let text = args.rest();
    optional_text(text, what, max)?.ok_or(Problem::Empty(what))
}

/// Free text that may be left out; when given, visible and at most `max` characters.
fn optional_text(text: &str, what: &'static str, max: usize) -> Result<Option<String>, Problem> {
    if text.is_empty() {
        return Ok(None);
    }
    if !has_visible_text(text) {
        return Err(Problem::NoVisibleText(what));
    }
    let chars = text.chars().count();
    if chars > max {
        return Err(Problem::TooLong { what, chars, max });
    }
    Ok(Some(text.to_string()))
}

fn severity(word: &str, grammar: &Grammar) -> Result<Severity, Problem> {
    Severity::parse(word, grammar.levels).ok_or_else(|| Problem::NotASeverity(word.to_string()))
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Missing(what) => write!(f, "Give {what}."),
            Problem::Empty(what) => write!(f, "The {what} is empty."),
            Problem::NotASeverity(word) => write!(
                f,
                "`{}` is not a severity: use {} (or `p1`, `1`, …).",
                escape(word),
                Severity::choices(super::severity::DEFAULT_LEVELS)
            ),
            Problem::NotAService(word) => write!(
                f,
                "`{}` is not a service name: use one of the names in `PAGERDUTY_SERVICES`.",
                escape(word)
            ),
            Problem::NotARole(word) => write!(
                f,
                "`{}` is not a role: use coordinator, operator or comms.",
                escape(word)
            ),
            Problem::NotAPerson(word) => write!(
                f,
                "`{}` is not a person Slack linked: type @ and pick them from the list, or write `me`.",
                escape(word)
            ),
            Problem::NotOnePerson(word) => write!(
                f,
                "`{}` is a group; a role is held by one person, so name one.",
                escape(word)
            ),
            Problem::Crowd(word) => write!(
                f,
                "`{}` would notify everyone in the channel; name one person instead.",
                escape(word)
            ),
            Problem::NotAnEscalationTarget(word) => write!(
                f,
                "`{}` is neither a person nor a user group Slack linked: type @ and pick from the list.",
                escape(word)
            ),
            Problem::Unexpected(word) => write!(f, "`{}` was not expected there.", escape(word)),
            Problem::NotAnInterval(word) => write!(
                f,
                "`{}` is not an interval: use a duration such as `15m` or `1h`, or `off`, or `default`.",
                escape(word)
            ),
            Problem::NotWorkingDays(word) => write!(
                f,
                "`{}` is not a number of working days: use `1d` to `60d`, such as `5d`.",
                escape(word)
            ),
            Problem::NotATime(word) => write!(
                f,
                "`{}` is not a time: use the team's clock, such as `14:02`, or `now`.",
                escape(word)
            ),
            Problem::NotAnIncident(word) => write!(
                f,
                "`{}` is not an incident: give its reference, such as `INC-7`.",
                escape(word)
            ),
            Problem::NotASetting(word) => write!(
                f,
                "`{}` is not a setting: use `announce`, `prefix`, `admins`, `coordinator-group` or `reminders`.",
                escape(word)
            ),
            Problem::NotAChannel(word) => write!(
                f,
                "`{}` is not a channel Slack linked: type # and pick it from the list, or write `off`.",
                escape(word)
            ),
            Problem::NotAGroup(word) => write!(
                f,
                "`{}` is not a user group Slack linked: type @ and pick the group from the list, or write `off`.",
                escape(word)
            ),
            Problem::NotAPrefix(word) => write!(
                f,
                "`{}` is not a channel prefix: use 1–20 characters of a-z, 0-9, - and _, such as `inc`.",
                escape(word)
            ),
            Problem::NotALink(word) => write!(
                f,
                "`{}` is not a link: paste the postmortem's http(s) address.",
                escape(word)
            ),
            Problem::IntervalOutOfRange(word) => write!(
                f,
                "Reminders can come every minute at most and every week at least, not every `{}`.",
                escape(word)
            ),
            Problem::TooLong { what, chars, max } => {
                write!(f, "That {what} is {chars} characters; keep it to {max}.")
            }
            Problem::NoVisibleText(what) => {
                write!(f, "That {what} has no visible characters.")
            }
            Problem::UseOwnCommand { status, command } => write!(
                f,
                "An update cannot make the incident `{status}`; use `{}`.",
                escape(command)
            ),
        }
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Unknown { word } => write!(
                f,
                "`{}` is not an `/inc` command. Type `/inc help` for the list of commands.",
                escape(word)
            ),
            // It names the right command already.
            CommandError::Invalid {
                problem: problem @ Problem::UseOwnCommand { .. },
                ..
            } => write!(f, "{problem}"),
            CommandError::Invalid { spec, problem } if spec.example == spec.usage => {
                write!(f, "{problem} Use `{}`.", spec.usage_escaped())
            }
            CommandError::Invalid { spec, problem } => write!(
                f,
                "{problem} Use `{}`, for example `{}`.",
                spec.usage_escaped(),
                escape(spec.example)
            ),
        }
    }
}

impl std::error::Error for CommandError {}

/// `/inc help`: every command with its example, grouped by where it works. Generated from
/// [`COMMANDS`], so it cannot fall behind the parser.
pub fn help() -> &'static str {
    // The text is the table's, which never changes while the process runs: written once.
    static HELP: std::sync::LazyLock<String> = std::sync::LazyLock::new(write_help);
    &HELP
}

fn write_help() -> String {
    let mut out =
        String::from("*incident-commander* runs your incident process from Slack.\n*Anywhere*");
    let line = |spec: &Spec| {
        let example = if spec.example == spec.usage {
            String::new()
        } else {
            format!(": `{}`", escape(spec.example))
        };
        format!("\n• `{}` — {}{}", spec.usage_escaped(), spec.help, example)
    };
    for spec in COMMANDS.iter().filter(|s| s.scope() == Scope::Anywhere) {
        out.push_str(&line(spec));
    }
    out.push_str("\n*In an incident's channel* (the incident is the channel's)");
    for spec in COMMANDS
        .iter()
        .filter(|s| s.scope() == Scope::IncidentChannel)
    {
        out.push_str(&line(spec));
    }
    out.push_str(&format!(
        "\nSeverities: {} (`sev1` critical, `sev2` major, `sev3` minor); `p1`–`p3` and `1`–`3` work too. \
         Statuses: triage, investigating, fixing, monitoring, then resolved or declined.",
        Severity::choices(super::severity::DEFAULT_LEVELS)
    ));
    out
}

#[cfg(test)]
mod tests;
