//! The message an incident was declared from (the "Declare incident" shortcut): where it is, who
//! wrote it, and everything it says — a monitoring bot's alert often has no `text` at all and
//! keeps its words in attachments or blocks. From it the Declare modal is prefilled (a title, a
//! summary), and it is copied into the incident channel and onto the timeline.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::message::truncate_chars;
use super::mrkdwn;
use super::timeline::Entry;
use super::{ChannelId, UserId};

/// When a Slack message was posted, from its `ts` (`1700000000.000100`: seconds, then a
/// per-channel sequence Slack keeps to microsecond width).
pub fn message_time(ts: &str) -> Option<DateTime<Utc>> {
    let (secs, micros) = ts.split_once('.').unwrap_or((ts, "0"));
    let micros: u32 = format!("{micros:0<6}").get(..6)?.parse().ok()?;
    DateTime::from_timestamp(secs.parse().ok()?, micros * 1000)
}

/// A message as the shortcut delivered it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceMessage {
    pub channel: ChannelId,
    /// The message's `ts`: with `channel`, it names the message.
    pub ts: String,
    /// The person who wrote it; `None` for a bot.
    #[serde(default)]
    pub author: Option<UserId>,
    /// How a bot signs (its username, e.g. `Alertmanager`).
    #[serde(default)]
    pub author_label: Option<String>,
    /// Everything the message says, as Slack mrkdwn: its text, then each attachment's pretext,
    /// title, text and fields, then the texts in its blocks.
    pub text: String,
    /// The attachment's title, when the message has one (alerts put their headline there).
    #[serde(default)]
    pub headline: Option<String>,
    #[serde(default)]
    pub permalink: Option<String>,
}

/// The longest title the modal takes.
const MAX_TITLE: usize = super::command::MAX_TITLE_CHARS;

impl SourceMessage {
    /// The title the Declare modal proposes: the first line of the message's own text, or its
    /// attachment's title, as plain text, cut to 150 characters.
    pub fn suggested_title(&self) -> String {
        let first_line = self
            .headline
            .as_deref()
            .filter(|h| !h.trim().is_empty())
            .or_else(|| self.text.lines().map(str::trim).find(|l| !l.is_empty()))
            .unwrap_or("");
        let title = mrkdwn::one_line(&mrkdwn::plain(first_line));
        truncate_chars(&title, MAX_TITLE)
    }

    /// The summary the Declare modal proposes: the whole message as plain text.
    pub fn suggested_summary(&self, max: usize) -> String {
        truncate_chars(&mrkdwn::plain(self.text.trim()), max)
    }

    /// Its copy on the incident's timeline (the incident's first entries).
    pub fn entry(&self) -> Entry {
        Entry::SourceMessage {
            channel: self.channel.clone(),
            ts: self.ts.clone(),
            author: self.author.clone(),
            author_label: self.author_label.clone(),
            text: self.text.clone(),
            permalink: self.permalink.clone(),
        }
    }

    /// The message again, from its copy on the timeline (its headline is not kept there).
    pub fn from_entry(entry: Entry) -> Option<SourceMessage> {
        match entry {
            Entry::SourceMessage {
                channel,
                ts,
                author,
                author_label,
                text,
                permalink,
            } => Some(SourceMessage {
                channel,
                ts,
                author,
                author_label,
                text,
                headline: None,
                permalink,
            }),
            _ => None,
        }
    }

    /// Who wrote it, as a mention of a person or a bot's name.
    pub fn byline(&self) -> String {
        match (&self.author, &self.author_label) {
            (Some(user), _) => mrkdwn::user(user),
            (None, Some(label)) => format!("{} (bot)", mrkdwn::escape(label)),
            (None, None) => "a bot".to_string(),
        }
    }
}

/// Assembles a message's whole text from its parts, in the order a reader meets them.
pub fn flatten(text: &str, attachments: &[AttachmentText], blocks: &[String]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut push = |s: &str| {
        let s = s.trim();
        if !s.is_empty() && !parts.iter().any(|p| p == s) {
            parts.push(s.to_string());
        }
    };
    push(text);
    for a in attachments {
        push(&a.pretext);
        push(&a.title);
        push(&a.text);
        for (title, value) in &a.fields {
            push(&format!("{title}: {value}"));
        }
        if a.title.is_empty() && a.text.is_empty() {
            push(&a.fallback);
        }
    }
    for b in blocks {
        push(b);
    }
    parts.join("\n")
}

/// The words of one attachment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttachmentText {
    pub pretext: String,
    pub title: String,
    pub text: String,
    pub fields: Vec<(String, String)>,
    pub fallback: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert() -> SourceMessage {
        let attachments = [AttachmentText {
            title: "[FIRING:1] HighErrorRate checkout (prod)".into(),
            text: "error rate 12% > 5% for 10m".into(),
            fields: vec![("runbook".into(), "<https://wiki/rb|Runbook>".into())],
            fallback: "[FIRING:1] HighErrorRate".into(),
            ..AttachmentText::default()
        }];
        SourceMessage {
            channel: "C0ALERTS".into(),
            ts: "1700000000.000100".into(),
            author: None,
            author_label: Some("Alertmanager".into()),
            text: flatten("", &attachments, &[]),
            headline: Some(attachments[0].title.clone()),
            permalink: None,
        }
    }

    #[test]
    fn an_alert_with_only_attachments_still_has_a_title_and_a_summary() {
        let a = alert();
        assert_eq!(
            a.suggested_title(),
            "[FIRING:1] HighErrorRate checkout (prod)"
        );
        assert_eq!(
            a.suggested_summary(3000),
            "[FIRING:1] HighErrorRate checkout (prod)\nerror rate 12% > 5% for 10m\nrunbook: Runbook"
        );
        assert_eq!(a.byline(), "Alertmanager (bot)");
    }

    #[test]
    fn a_persons_message_proposes_its_first_line() {
        let m = SourceMessage {
            channel: "C1".into(),
            ts: "1.2".into(),
            author: Some("U0CAROL".into()),
            author_label: None,
            text: "\n  Customers say <https://shop|checkout> hangs  \nsince 14:00".into(),
            headline: None,
            permalink: None,
        };
        assert_eq!(m.suggested_title(), "Customers say checkout hangs");
        assert_eq!(m.byline(), "<@U0CAROL>");
        let long = SourceMessage {
            text: "x".repeat(400),
            ..m
        };
        assert_eq!(long.suggested_title().chars().count(), 150);
        assert_eq!(long.suggested_summary(100).chars().count(), 100);
    }

    #[test]
    fn flattening_keeps_each_part_once_and_in_reading_order() {
        let text = flatten(
            "Deploy failed",
            &[AttachmentText {
                pretext: "Deploy failed".into(),
                fallback: "fallback only".into(),
                ..AttachmentText::default()
            }],
            &["Block words".into()],
        );
        assert_eq!(text, "Deploy failed\nfallback only\nBlock words");
    }

    #[test]
    fn a_message_ts_is_its_post_time_to_the_microsecond() {
        let at = message_time("1700000000.000100").expect("a time");
        assert_eq!(at.timestamp(), 1_700_000_000);
        assert_eq!(at.timestamp_subsec_micros(), 100);
        assert_eq!(
            message_time("1700000000").map(|t| t.timestamp()),
            Some(1_700_000_000)
        );
        assert_eq!(message_time("soon"), None);
    }
}
