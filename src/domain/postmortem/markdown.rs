//! Text → CommonMark that cannot break the document it is placed in.
//!
//! Two kinds of text reach a postmortem: plain text people typed (titles, summaries, timeline
//! updates, names) and Slack mrkdwn (pinned messages). Both are turned into Markdown whose
//! *visible* characters are what was typed, and which cannot start a heading, a list, a quote, a
//! table row or a code fence, cannot contain raw HTML, and cannot close the block it sits in.
//!
//! What this module must not do: make a link out of anything but Slack's own `<url|label>`
//! markup, and then only for `http`, `https` and `mailto` URLs; emit HTML; perform I/O.
//!
//! ## The rules, and why
//! - **Backslash escapes, not entities**: CommonMark lets any ASCII punctuation be escaped with
//!   `\`, and the raw Markdown stays readable to the person who edits the draft.
//! - Escaped **everywhere**: `\` `` ` `` `*` `~` `[` `]` `<` `|` `$` (backslash, code, emphasis,
//!   strikethrough, links, HTML/autolinks, table cells, GitHub's math).
//! - Escaped **where they mean something**: `_` unless between two letters/digits (CommonMark
//!   never treats `snake_case` as emphasis, and escaping it everywhere makes identifiers
//!   unreadable); `#` at the start of a word (a heading at line start, a closing sequence at the
//!   end of a heading); `&` when it could start an entity (`&lt;`, `&#60;`) — otherwise the reader
//!   would see `<` where the author typed `&lt;`; at the start of a line `>` `-` `+` `=` `:` and
//!   the `.`/`)` after leading digits (quotes, lists, setext underlines, definition lists).
//! - **Leading whitespace is dropped** on every line: four spaces would start a code block and
//!   the indentation of a continuation line is ours to set (see [`indent_continuation`]).
//! - **Lines**: [`escape_markdown`] keeps the author's line breaks as hard breaks (`\` at the end
//!   of the line) and blank lines as paragraph breaks, so an alert's lines stay lines;
//!   [`escape_markdown_line`] joins everything into one line for headings and table cells.
//! - Every value is escaped **as if it started a line**: a template may place it anywhere, and
//!   escaping a `-` that turned out to be mid-line costs one backslash.
//! - **Slack's `*bold*` `_italic_` `~strike~` and code are shown as typed**, escaped: Slack's
//!   `*x*` is bold where Markdown's is italic, Slack's word-boundary rules are not Markdown's, and
//!   a wrong guess could open an emphasis that swallows the rest of the message or the link built
//!   next to it. The asterisks stay readable, as in a plain-text mail.
//! - **Links are built, never passed through**: from Slack's `<url|label>` only, the label
//!   escaped like any text, the URL percent-encoded where it could end the destination or a
//!   table cell (whitespace, `(` `)` `<` `>` `[` `]` `\` `` ` `` `|` quotes); a `!` typed right
//!   before one is escaped, or the link would become an image that loads the URL.
//! - **Control characters are dropped** and tabs become spaces: they mean nothing in Markdown
//!   (a NUL would show as U+FFFD).
//! - GitHub-style *extended autolinks* (a bare `https://…` typed in text becomes a link on
//!   GitHub) are left alone: the link text is then the URL itself, so nothing is hidden behind a
//!   label, and the schemes are http(s), `www.` and e-mail only.

use std::collections::HashMap;

use crate::domain::mrkdwn::{self, Token};

/// One piece of a line: text to escape, or a link this module built from Slack markup.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Link { label: String, url: String },
}

/// How lines are laid out.
#[derive(Debug, Clone, Copy)]
enum Layout {
    /// Keep lines: hard breaks between lines, one blank line between paragraphs; continuation
    /// lines indented by this many spaces.
    Block(usize),
    /// Everything on one line, whitespace runs collapsed to one space.
    Line,
}

/// Plain text → Markdown that shows exactly the visible characters typed, keeping the author's
/// line breaks (as hard breaks) and paragraphs (one blank line). Leading and trailing whitespace
/// of each line is dropped. Safe anywhere a paragraph may be; inside a list item, indent the
/// continuation lines with [`indent_continuation`].
pub fn escape_markdown(text: &str) -> String {
    if !needs_escaping(text) {
        return text.to_string();
    }
    render_plain(text, Layout::Block(0))
}

/// Plain text → Markdown on **one line** (line breaks and whitespace runs become one space): for
/// headings, table cells and list items that must not wrap.
pub fn escape_markdown_line(text: &str) -> String {
    if !needs_escaping(text) {
        return text.to_string();
    }
    render_plain(text, Layout::Line)
}

/// Text with Slack's tokens (a pinned message, as the bot keeps it: see `domain::mrkdwn`) →
/// readable, safe Markdown, keeping lines like [`escape_markdown`].
///
/// - `<@U123>` / `<@U123|alice>` → `@name`, the name from `people`, else the label, else the id;
/// - `<#C123>` → `#name` the same way (`people` holds channel names too);
///   `<!here>` `<!channel>` `<!everyone>` → `@here` …; `<!subteam^S1|@oncall>` → `@oncall`;
///   `<!date^…|fallback>` → the fallback text;
/// - `<https://x|label>` → `[label](https://x)`, `<https://x>` → `[https://x](https://x)`, the
///   same for `mailto:`; anything else in angle brackets (`<javascript:…>`, `<beta>`) is text.
pub fn slack_to_markdown(text: &str, people: &HashMap<String, String>) -> String {
    render(split_lines(parse_mrkdwn(text, people)), Layout::Block(0))
}

/// `[label](url)` when `url` is an `http`, `https` or `mailto` URL; otherwise the label alone, as
/// inert text. The label is escaped (an empty label shows the URL) and the destination is
/// percent-encoded where it could end the link or a table cell.
pub fn markdown_link(label: &str, url: &str) -> String {
    let label = if label.trim().is_empty() { url } else { label };
    if allowed_url(url) {
        render(
            vec![vec![Piece::Link {
                label: label.to_string(),
                url: url.to_string(),
            }]],
            Layout::Line,
        )
    } else {
        escape_markdown_line(label)
    }
}

/// Text → a Mermaid `gantt` task or section name: `:` (ends the name), `#` and `;` (Mermaid's
/// entity syntax), backticks (could close the Markdown fence), `<` `>` `{` `}` `"` `\` and line
/// breaks become spaces; whitespace is collapsed; a name that would read as a gantt keyword
/// (`section`, `title`, `click`, …) or a comment (`%%`) is prefixed with `· `. Never empty.
pub fn mermaid_text(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| match c {
            ':' | '#' | ';' | '`' | '<' | '>' | '{' | '}' | '"' | '\\' => ' ',
            c if c.is_control() || c.is_whitespace() => ' ',
            c => c,
        })
        .collect();
    let name = mrkdwn::one_line(&cleaned);
    const KEYWORDS: &[&str] = &[
        "gantt",
        "title",
        "section",
        "dateformat",
        "axisformat",
        "tickinterval",
        "excludes",
        "includes",
        "todaymarker",
        "weekday",
        "weekend",
        "click",
        "call",
        "acctitle",
        "accdescr",
        "inclusiveenddates",
        "topaxis",
        "displaymode",
    ];
    let first = name.split(' ').next().unwrap_or("").to_lowercase();
    if name.is_empty() {
        "-".to_string()
    } else if KEYWORDS.contains(&first.as_str()) || name.starts_with('%') {
        format!("· {name}")
    } else {
        name
    }
}

/// Indents every line but the first of already-escaped Markdown by `width` spaces, so that
/// multi-line text stays inside the list item it starts in. Blank lines stay empty.
pub fn indent_continuation(markdown: &str, width: usize) -> String {
    if width == 0 || !markdown.contains('\n') {
        return markdown.to_string();
    }
    let pad = " ".repeat(width);
    let mut out = String::with_capacity(markdown.len() + 16);
    for (i, line) in markdown.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
            if !line.is_empty() {
                out.push_str(&pad);
            }
        }
        out.push_str(line);
    }
    out
}

/// Plain text → Markdown lines with continuation lines indented: what the `md(n)` filter does.
pub(crate) fn escape_markdown_indented(text: &str, width: usize) -> String {
    if !needs_escaping(text) {
        return text.to_string();
    }
    render_plain(text, Layout::Block(width))
}

/// Slack mrkdwn → Markdown with continuation lines indented: what the `slack(n)` filter does.
pub(crate) fn slack_to_markdown_indented(
    text: &str,
    people: &HashMap<String, String>,
    width: usize,
) -> String {
    render(
        split_lines(parse_mrkdwn(text, people)),
        Layout::Block(width),
    )
}

/// Whether any rule could apply to `text`; most timeline lines need none, and a big timeline
/// has thousands. `false` means the escaper would return `text` unchanged (a property test
/// holds the two to that).
pub(crate) fn needs_escaping(text: &str) -> bool {
    let Some(first) = text.chars().next() else {
        return false;
    };
    if first.is_whitespace()
        || first.is_ascii_digit()
        || matches!(first, '>' | '-' | '+' | '=' | ':')
        || text.ends_with(char::is_whitespace)
    {
        return true;
    }
    let bytes = text.as_bytes();
    let mut after_space = false;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        i += 1;
        if inert(b) {
            after_space = false;
        } else if b == b' ' {
            if after_space {
                return true;
            }
            after_space = true;
        } else if b < 0x80 {
            // Specials, controls, tabs and line breaks.
            return true;
        } else {
            // A multi-byte character: only Unicode whitespace and controls matter.
            let Some(c) = text.get(i - 1..).and_then(|rest| rest.chars().next()) else {
                return true;
            };
            if c.is_whitespace() || c.is_control() {
                return true;
            }
            i += c.len_utf8() - 1;
            after_space = false;
        }
    }
    false
}

fn allowed_url(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let rest = |scheme: &str| url.len() > scheme.len();
    (lower.starts_with("https://") && rest("https://"))
        || (lower.starts_with("http://") && rest("http://"))
        || (lower.starts_with("mailto:") && rest("mailto:"))
}

/// Splits text as the bot keeps it (see `domain::mrkdwn`) into text and links: Slack's tokens
/// read through the one tokenizer, `mrkdwn::pieces`; links only for http(s) and mailto.
fn parse_mrkdwn(text: &str, people: &HashMap<String, String>) -> Vec<Piece> {
    let name = |id: &str| people.get(id).filter(|n| !n.trim().is_empty()).cloned();
    let mut pieces = Vec::new();
    let mut buf = String::new();
    for piece in mrkdwn::pieces(text) {
        match piece {
            mrkdwn::Piece::Text(t) => buf.push_str(t),
            mrkdwn::Piece::Token(Token::Link { url, label }) => {
                if !buf.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut buf)));
                }
                pieces.push(Piece::Link {
                    label: label.unwrap_or_else(|| url.clone()),
                    url,
                });
            }
            mrkdwn::Piece::Token(token) => buf.push_str(&token.readable(&name)),
        }
    }
    if !buf.is_empty() {
        pieces.push(Piece::Text(buf));
    }
    pieces
}

/// The lines of `text`, ended by `\n`, `\r\n` or `\r` as in CommonMark.
fn text_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let t = rest?;
        match t.bytes().position(|b| b == b'\n' || b == b'\r') {
            Some(i) => {
                let end = if t[i..].starts_with("\r\n") {
                    i + 2
                } else {
                    i + 1
                };
                rest = Some(&t[end..]);
                Some(&t[..i])
            }
            None => {
                rest = None;
                Some(t)
            }
        }
    })
}

/// Splits pieces into lines at `\n` (`\r\n` and `\r` too). A link never spans lines.
fn split_lines(pieces: Vec<Piece>) -> Vec<Vec<Piece>> {
    let mut lines = vec![Vec::new()];
    for piece in pieces {
        match piece {
            Piece::Text(t) => {
                for (i, part) in text_lines(&t).enumerate() {
                    if i > 0 {
                        lines.push(Vec::new());
                    }
                    if !part.is_empty()
                        && let Some(line) = lines.last_mut()
                    {
                        line.push(Piece::Text(part.to_string()));
                    }
                }
            }
            link => {
                if let Some(line) = lines.last_mut() {
                    line.push(link);
                }
            }
        }
    }
    lines
}

/// Trims the line's ends of whitespace and control characters, and drops pieces left empty.
/// (Control characters and tabs inside the line are the escaper's: it drops and replaces them.)
fn tidy_line(mut pieces: Vec<Piece>) -> Vec<Piece> {
    let blank = |c: char| c.is_whitespace() || c.is_control();
    // Trim leading whitespace across text pieces until something visible.
    for piece in pieces.iter_mut() {
        match piece {
            Piece::Text(t) => {
                let kept = t.trim_start_matches(blank).len();
                t.drain(..t.len() - kept);
                if !t.is_empty() {
                    break;
                }
            }
            Piece::Link { .. } => break,
        }
    }
    for piece in pieces.iter_mut().rev() {
        match piece {
            Piece::Text(t) => {
                t.truncate(t.trim_end_matches(blank).len());
                if !t.is_empty() {
                    break;
                }
            }
            Piece::Link { .. } => break,
        }
    }
    pieces.retain(|p| !matches!(p, Piece::Text(t) if t.is_empty()));
    pieces
}

fn render(lines: Vec<Vec<Piece>>, layout: Layout) -> String {
    let mut out = String::new();
    let mut wrote_any = false;
    let mut blank_pending = false;
    for line in lines {
        let line = tidy_line(line);
        if line.is_empty() {
            blank_pending = wrote_any;
            continue;
        }
        match layout {
            Layout::Block(indent) => {
                if wrote_any {
                    // A backslash before the newline is CommonMark's visible hard break; two
                    // trailing spaces would do the same but editors strip them.
                    out.push_str(if blank_pending { "\n\n" } else { "\\\n" });
                    out.extend(std::iter::repeat_n(' ', indent));
                }
                write_line(&mut out, &line, false);
            }
            Layout::Line => {
                if wrote_any {
                    out.push(' ');
                }
                write_line(&mut out, &line, true);
            }
        }
        wrote_any = true;
        blank_pending = false;
    }
    out
}

/// [`render`] for plain text, without splitting it into pieces first: the path every timeline
/// line takes, so it allocates only its output.
fn render_plain(text: &str, layout: Layout) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8 + 8);
    let mut wrote_any = false;
    let mut blank_pending = false;
    for line in text_lines(text) {
        let line = line.trim_matches(|c: char| c.is_whitespace() || c.is_control());
        if line.is_empty() {
            blank_pending = wrote_any;
            continue;
        }
        let collapse = match layout {
            Layout::Block(indent) => {
                if wrote_any {
                    out.push_str(if blank_pending { "\n\n" } else { "\\\n" });
                    out.extend(std::iter::repeat_n(' ', indent));
                }
                false
            }
            Layout::Line => {
                if wrote_any {
                    out.push(' ');
                }
                true
            }
        };
        Inline::new(true).text(&mut out, line, collapse);
        wrote_any = true;
        blank_pending = false;
    }
    out
}

/// Writes one line's pieces, escaped; `collapse` turns whitespace runs into one space.
fn write_line(out: &mut String, line: &[Piece], collapse: bool) {
    let mut state = Inline::new(!matches!(line.first(), Some(Piece::Link { .. })));
    for piece in line {
        match piece {
            Piece::Text(t) => state.text(out, t, collapse),
            Piece::Link { label, url } => {
                // A `!` typed just before a link would make it an image: load the URL. Text
                // never escapes `!` itself, so the one just written is bare.
                if state.prev == Some('!') {
                    out.insert(out.len() - 1, '\\');
                }
                out.push('[');
                let label: String = label
                    .chars()
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .collect();
                Inline::new(false).text(out, label.trim(), true);
                out.push_str("](");
                encode_destination(out, url);
                out.push(')');
                state.line_start = false;
                state.leading_digits = false;
                state.prev = Some(')');
            }
        }
    }
}

/// The escaper's memory within a line.
struct Inline {
    /// Nothing visible written on this line yet: block syntax (`#`, `>`, `-`, `1.`) is live.
    line_start: bool,
    /// Only digits so far on this line: a following `.` or `)` would make an ordered list.
    leading_digits: bool,
    prev: Option<char>,
}

impl Inline {
    fn new(line_start: bool) -> Inline {
        Inline {
            line_start,
            leading_digits: false,
            prev: None,
        }
    }

    /// Writes `text` escaped. Bytes that need nothing are not copied one by one: the pending
    /// run is flushed whole when a character must be escaped, replaced or dropped (a timeline
    /// of thousands of lines spends its time here).
    fn text(&mut self, out: &mut String, text: &str, collapse: bool) {
        let bytes = text.as_bytes();
        let mut copied = 0;
        let mut i = 0;
        while i < bytes.len() {
            // Past the line's start most bytes are letters and punctuation that no rule looks
            // at but for `prev`: skip over them in one go.
            if !self.line_start && !self.leading_digits {
                let run = bytes[i..].iter().take_while(|&&b| inert(b)).count();
                if run > 0 {
                    i += run;
                    self.prev = Some(char::from(bytes[i - 1]));
                    continue;
                }
            }
            let Some(c) = text.get(i..).and_then(|rest| rest.chars().next()) else {
                break;
            };
            let at = i;
            i += c.len_utf8();
            let action = self.decide(c, || text[i..].chars(), collapse);
            if matches!(action, Action::Copy) {
                continue;
            }
            out.push_str(&text[copied..at]);
            copied = at;
            match action {
                Action::Copy => {}
                Action::Escape => out.push('\\'),
                Action::Space => {
                    out.push(' ');
                    copied = i;
                }
                Action::Drop => copied = i,
            }
        }
        out.push_str(&text[copied..]);
    }

    /// What to do with `c`, and the state after it. `rest` yields what follows `c` in this
    /// text, for the rules that look ahead.
    fn decide<I: Iterator<Item = char>>(
        &mut self,
        c: char,
        rest: impl FnOnce() -> I,
        collapse: bool,
    ) -> Action {
        // A NUL would become U+FFFD and the other controls mean nothing in Markdown.
        if dropped(c) {
            return Action::Drop;
        }
        if c.is_whitespace() {
            let after_space = self.prev.is_some_and(char::is_whitespace);
            self.prev = Some(c);
            return match (collapse, c) {
                (true, _) if after_space => Action::Drop,
                (_, ' ') => Action::Copy,
                (false, c) if c != '\t' => Action::Copy,
                _ => Action::Space,
            };
        }
        let escape = match c {
            '\\' | '`' | '*' | '~' | '[' | ']' | '<' | '|' | '$' => true,
            '_' => {
                let next = rest().find(|&n| !dropped(n));
                !(self.prev.is_some_and(char::is_alphanumeric)
                    && next.is_some_and(char::is_alphanumeric))
            }
            '#' => self.prev.is_none_or(char::is_whitespace),
            '&' => could_be_entity(rest().filter(|&n| !dropped(n))),
            '>' | '-' | '+' | '=' | ':' => self.line_start,
            '.' | ')' => self.leading_digits,
            _ => false,
        };
        self.leading_digits = (self.line_start || self.leading_digits) && c.is_ascii_digit();
        self.line_start = false;
        self.prev = Some(c);
        if escape { Action::Escape } else { Action::Copy }
    }
}

/// What the escaper does with one character.
enum Action {
    /// Keep it (it joins the run copied whole).
    Copy,
    /// A backslash, then the character.
    Escape,
    /// A space instead (a tab, or whitespace being collapsed).
    Space,
    /// Nothing (a control character, or whitespace after whitespace when collapsing).
    Drop,
}

/// An ASCII byte that no rule escapes once past the start of a line, and that no rule looks
/// back at but as "not whitespace, maybe alphanumeric" (`prev`).
fn inert(b: u8) -> bool {
    INERT[usize::from(b)]
}

/// [`inert`] as a table: the escaper asks it of every byte.
const INERT: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0x21; // `!`, the first graphic ASCII byte
    while b < 0x7f {
        table[b] = !matches!(
            b as u8,
            b'\\' | b'`' | b'*' | b'~' | b'[' | b']' | b'<' | b'|' | b'$' | b'_' | b'#' | b'&'
        );
        b += 1;
    }
    table
};

fn dropped(c: char) -> bool {
    c.is_control() && c != '\t'
}

/// Whether `&` followed by `rest` could be read as an entity: `#`?, alphanumerics, then `;` or
/// the end of this text (what follows the text is not ours to know).
fn could_be_entity(mut rest: impl Iterator<Item = char>) -> bool {
    let mut next = rest.next();
    if next == Some('#') {
        next = rest.next();
    }
    let mut word = 0;
    while next.is_some_and(|c| c.is_ascii_alphanumeric()) {
        word += 1;
        next = rest.next();
    }
    word > 0 && matches!(next, None | Some(';'))
}

/// A link destination that cannot end early: whitespace, controls, brackets, parentheses,
/// quotes, backslash, backtick and `|` (a table cell) are percent-encoded; the rest is kept.
fn encode_destination(out: &mut String, url: &str) {
    for c in url.chars() {
        let encode = c.is_whitespace()
            || c.is_control()
            || matches!(
                c,
                '<' | '>' | '(' | ')' | '[' | ']' | '\\' | '|' | '`' | '"' | '\''
            );
        if encode {
            let mut buf = [0u8; 4];
            for byte in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{byte:02X}"));
            }
        } else {
            out.push(c);
        }
    }
}

#[cfg(test)]
mod tests;
