//! The words after `/inc`: a cursor that hands out one word at a time, Slack's escaped mentions
//! as single words, and the untouched rest of the text for free-text arguments.
//!
//! With `should_escape` on (the manifest sets it), Slack rewrites what the user picked from its
//! pop-ups: `<@U123|alice>` for people, `<!subteam^S123|@oncall>` for user groups, `<!here>` for
//! `@here`. Anything else that looks like a mention was typed, not picked, and names nobody.

pub use crate::domain::mrkdwn::slack_id;
use crate::domain::mrkdwn::{Piece, Token, pieces};

/// The unread part of a command's text.
#[derive(Debug, Clone)]
pub struct Args<'a> {
    rest: &'a str,
}

impl<'a> Args<'a> {
    pub fn new(text: &'a str) -> Args<'a> {
        Args { rest: text }
    }

    /// The next word, lower-cased for keywords by the caller if it wants. A word that starts a
    /// Slack mention (`<`) runs to its closing `>`, so a label with spaces stays one word.
    pub fn next_word(&mut self) -> Option<&'a str> {
        let text = self.rest.trim_start();
        if text.is_empty() {
            self.rest = text;
            return None;
        }
        let end = if text.starts_with('<') {
            text.find('>').map(|i| i + 1)
        } else {
            None
        }
        .or_else(|| text.find(char::is_whitespace))
        .unwrap_or(text.len());
        let (word, rest) = text.split_at(end);
        self.rest = rest;
        Some(word)
    }

    /// The next word without consuming it.
    pub fn peek_word(&self) -> Option<&'a str> {
        self.clone().next_word()
    }

    /// Everything not read yet, trimmed, with its inner spacing and line breaks as typed.
    pub fn rest(&mut self) -> &'a str {
        let rest = self.rest.trim();
        self.rest = "";
        rest
    }

    pub fn is_empty(&self) -> bool {
        self.rest.trim().is_empty()
    }
}

/// What one word names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mention {
    /// A person Slack linked: `<@U123>` or `<@U123|alice>`.
    User(String),
    /// `me`: whoever typed the command.
    Me,
    /// A user group Slack linked: `<!subteam^S123|@oncall>`; `handle` is the label, if any.
    Group { id: String, handle: Option<String> },
    /// `@here`, `@channel`, `@everyone` — linked by Slack or typed.
    Crowd(String),
    /// Anything else (including a typed `@bob` that Slack did not link).
    Word(String),
}

impl Mention {
    pub fn classify(word: &str) -> Mention {
        if word.eq_ignore_ascii_case("me") {
            return Mention::Me;
        }
        if let [Piece::Token(token)] = pieces(word).as_slice() {
            match token {
                Token::User { id, .. } => return Mention::User(id.clone()),
                Token::Group { id, label } => {
                    return Mention::Group {
                        id: id.clone(),
                        handle: label.clone(),
                    };
                }
                Token::Crowd(crowd) => return Mention::Crowd(crowd.clone()),
                _ => {}
            }
        }
        if let Some(crowd) = word.strip_prefix('@')
            && ["here", "channel", "everyone"].contains(&crowd.to_ascii_lowercase().as_str())
        {
            return Mention::Crowd(crowd.to_ascii_lowercase());
        }
        Mention::Word(word.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_come_one_at_a_time_and_mentions_stay_whole() {
        let mut args = Args::new("  role  <@U0BOB|bob smith>   me  later ");
        assert_eq!(args.next_word(), Some("role"));
        assert_eq!(args.peek_word(), Some("<@U0BOB|bob smith>"));
        assert_eq!(args.next_word(), Some("<@U0BOB|bob smith>"));
        assert_eq!(args.next_word(), Some("me"));
        assert_eq!(args.rest(), "later");
        assert!(args.is_empty());
        assert_eq!(args.next_word(), None);
    }

    #[test]
    fn the_rest_keeps_the_text_as_typed() {
        let mut args = Args::new("note   Restarted  the canary\n  then waited ");
        assert_eq!(args.next_word(), Some("note"));
        assert_eq!(args.rest(), "Restarted  the canary\n  then waited");
    }

    #[test]
    fn an_unclosed_bracket_is_an_ordinary_word() {
        let mut args = Args::new("<oops there");
        assert_eq!(args.next_word(), Some("<oops"));
    }

    #[test]
    fn mentions_are_classified_by_what_slack_linked() {
        let cases = [
            ("<@U0BOB>", Mention::User("U0BOB".into())),
            ("<@W0BOB|bob>", Mention::User("W0BOB".into())),
            ("ME", Mention::Me),
            (
                "<!subteam^S0ONCALL|@oncall>",
                Mention::Group {
                    id: "S0ONCALL".into(),
                    handle: Some("@oncall".into()),
                },
            ),
            ("<!here>", Mention::Crowd("here".into())),
            ("<!channel|channel>", Mention::Crowd("channel".into())),
            ("@Everyone", Mention::Crowd("everyone".into())),
            ("@bob", Mention::Word("@bob".into())),
            ("<@bob>", Mention::Word("<@bob>".into())),
            ("<@U0B@B>", Mention::Word("<@U0B@B>".into())),
            ("<!subteam^X1>", Mention::Word("<!subteam^X1>".into())),
            ("bob", Mention::Word("bob".into())),
        ];
        for (word, expected) in cases {
            assert_eq!(Mention::classify(word), expected, "{word}");
        }
    }
}
