//! Parsing and rendering postmortem templates: one minijinja environment per template, with the
//! Markdown-escaping formatter and the filters documented in the module above.
//!
//! Must not panic on a template, however wrong: every failure, at parse or render time, becomes
//! a [`TemplateError`] with the line and column where it happened. Must not load anything: no
//! loader, no includes — the app reads a custom template's file and passes its text.

use std::borrow::Cow;
use std::sync::Arc;

use chrono_tz::Tz;
use minijinja::syntax::SyntaxConfig;
use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, Error, ErrorKind, Output, State, UndefinedBehavior};

use super::PostmortemInput;
use super::context::{self, People, Time};
use super::markdown::{
    escape_markdown_indented, escape_markdown_line, indent_continuation, markdown_link,
    mermaid_text, needs_escaping, slack_to_markdown_indented,
};

/// The built-in template, compiled in.
const BUILTIN: &str = include_str!("default.md.j2");
/// The name the template has inside its environment (and in minijinja's messages).
const NAME: &str = "postmortem.md";
/// The deepest continuation indent a filter accepts: a list nested a few levels, not a
/// template asking for gigabytes of spaces.
const MAX_INDENT: usize = 32;

/// A parsed postmortem template, ready to [`render`]. Cheap to clone.
#[derive(Clone)]
pub struct Template {
    /// Only the built-in can be an error here (see [`Template::builtin`]).
    parsed: Result<Arc<Parsed>, TemplateError>,
}

struct Parsed {
    env: Environment<'static>,
    source: String,
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.parsed {
            Ok(parsed) => f
                .debug_struct("Template")
                .field("source_len", &parsed.source.len())
                .finish_non_exhaustive(),
            Err(error) => f.debug_tuple("Template").field(error).finish(),
        }
    }
}

/// A template that does not parse, or fails while rendering. `Display` is
/// `line L, column C: message`; line and column count from 1 (0 when minijinja could not say).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct TemplateError {
    pub line: usize,
    /// Best effort: exact for syntax errors and most render errors; otherwise the line's first
    /// non-blank character.
    pub column: usize,
    pub message: String,
}

impl Template {
    /// The default template (`default.md.j2` beside this file).
    pub fn builtin() -> Template {
        // A broken built-in fails `the_builtin_template_parses_and_renders`; were one shipped
        // anyway, each render would report its error rather than this call panicking.
        Template {
            parsed: Template::parse(BUILTIN).and_then(|t| t.parsed),
        }
    }

    /// Parses a custom template; syntax errors are reported here, with their line and column.
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        let mut env = environment();
        env.add_template_owned(NAME, source.to_string())
            .map_err(|e| template_error(&e, source))?;
        Ok(Template {
            parsed: Ok(Arc::new(Parsed {
                env,
                source: source.to_string(),
            })),
        })
    }
}

/// Renders the postmortem draft of `input` with `template`, times shown in `tz`.
pub fn render(
    input: &PostmortemInput,
    template: &Template,
    tz: Tz,
) -> Result<String, TemplateError> {
    let parsed = template.parsed.as_ref().map_err(Clone::clone)?;
    let fail = |e: Error| template_error(&e, &parsed.source);
    let tmpl = parsed.env.get_template(NAME).map_err(fail)?;
    tmpl.render(context::build(input, tz)).map_err(fail)
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    // Keeps the failing expression's byte range on errors: that is where the column comes from.
    env.set_debug(true);
    // A misspelt variable printed is an error naming its line, not a silently empty cell;
    // `{% if incident.missing %}` still works.
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    if let Ok(syntax) = SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
    {
        env.set_syntax(syntax);
    }
    env.set_auto_escape_callback(|_| AutoEscape::Custom("markdown".into()));
    env.set_formatter(format_value);
    env.add_filter("md", md);
    env.add_filter("md_line", md_line);
    env.add_filter("escape", md_line);
    env.add_filter("e", md_line);
    env.add_filter("slack", slack);
    env.add_filter("link", link);
    env.add_filter("mermaid", mermaid);
    env.add_filter("datetime", datetime);
    env
}

/// Prints a value: Markdown built here (safe) as is, nothing for `none`, anything else escaped
/// on one line as if it began the line — the one rule that is right in every position.
fn format_value(out: &mut Output, _state: &mut State, value: &Value) -> Result<(), Error> {
    if value.is_none() || value.is_undefined() {
        return Ok(());
    }
    let text = plain(value);
    if value.is_safe() || !needs_escaping(&text) {
        return out.write_str(&text).map_err(Error::from);
    }
    out.write_str(&escape_markdown_line(&text))
        .map_err(Error::from)
}

/// A value's text: a string as is, anything else as it prints (a person: the name).
fn plain(value: &Value) -> Cow<'_, str> {
    match value.as_str() {
        Some(s) => Cow::Borrowed(s),
        None if value.is_none() || value.is_undefined() => Cow::Borrowed(""),
        None => Cow::Owned(value.to_string()),
    }
}

fn indent(width: Option<usize>) -> Result<usize, Error> {
    let width = width.unwrap_or(0);
    if width > MAX_INDENT {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("indent {width} is more than {MAX_INDENT} spaces"),
        ));
    }
    Ok(width)
}

/// `md` / `md(n)`: plain text → Markdown keeping lines; Markdown already built is only indented.
fn md(value: &Value, width: Option<usize>) -> Result<Value, Error> {
    let width = indent(width)?;
    let markdown = if value.is_safe() {
        indent_continuation(&value.to_string(), width)
    } else {
        escape_markdown_indented(&plain(value), width)
    };
    Ok(Value::from_safe_string(markdown))
}

/// `md_line`: plain text → Markdown on one line.
fn md_line(value: &Value) -> Value {
    if value.is_safe() {
        return value.clone();
    }
    Value::from_safe_string(escape_markdown_line(&plain(value)))
}

/// `slack` / `slack(n)`: Slack mrkdwn → Markdown, names from the context's `people`.
fn slack(state: &State, value: &Value, width: Option<usize>) -> Result<Value, Error> {
    let width = indent(width)?;
    let people = state.lookup("people");
    let empty = People::default();
    let people = people
        .as_ref()
        .and_then(|p| p.downcast_object_ref::<People>())
        .unwrap_or(&empty);
    Ok(Value::from_safe_string(slack_to_markdown_indented(
        &plain(value),
        &people.0,
        width,
    )))
}

/// `label | link(url)`: a Markdown link for http(s)/mailto URLs, else the label as text.
fn link(label: &Value, url: Option<&Value>) -> Value {
    let label = plain(label);
    let markdown = match url.map(plain).filter(|u| !u.is_empty()) {
        Some(url) => markdown_link(&label, &url),
        None => escape_markdown_line(&label),
    };
    Value::from_safe_string(markdown)
}

/// `mermaid`: a name safe inside a Mermaid `gantt` block.
fn mermaid(value: &Value) -> Value {
    Value::from_safe_string(mermaid_text(&plain(value)))
}

/// `datetime(fmt)`: a time formatted with a strftime pattern, in the team's zone.
fn datetime(value: &Value, pattern: Option<&str>) -> Result<Value, Error> {
    let time = value.downcast_object_ref::<Time>().ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOperation,
            "datetime expects a time, such as incident.declared_at",
        )
    })?;
    let Some(pattern) = pattern else {
        return Ok(Value::from(time.to_local()));
    };
    time.format(pattern).map(Value::from).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("{pattern:?} is not a valid strftime pattern"),
        )
    })
}

/// A minijinja error as line, column and message.
fn template_error(err: &Error, source: &str) -> TemplateError {
    let line = err.line().unwrap_or(0);
    let source = err.template_source().unwrap_or(source);
    let column = err
        .range()
        .and_then(|range| {
            let before = source.get(..range.start)?;
            let line_start = before.rfind('\n').map_or(0, |i| i + 1);
            Some(before[line_start..].chars().count() + 1)
        })
        .or_else(|| {
            let text = source.lines().nth(line.checked_sub(1)?)?;
            Some(text.chars().take_while(|c| c.is_whitespace()).count() + 1)
        })
        .unwrap_or(0);
    let mut message = match err.detail() {
        Some(detail) => format!("{}: {detail}", err.kind()),
        None => err.kind().to_string(),
    };
    let mut cause = std::error::Error::source(err);
    while let Some(inner) = cause {
        message.push_str(": ");
        message.push_str(&inner.to_string());
        cause = inner.source();
    }
    TemplateError {
        line,
        column,
        message,
    }
}
