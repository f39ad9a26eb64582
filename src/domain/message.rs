//! What the bot says: help, replies, the incident card, the announcement, the channel topic, the
//! open-incident list. Composed here as Slack-agnostic [`Message`]s of [`Block`]s; `slack::blocks`
//! turns them into Block Kit. All user text is escaped with [`escape`] as it is placed.

use chrono::{DateTime, Utc};

use super::mrkdwn::{self, escape};
use super::severity::{DEFAULT_LEVELS, Severity};
use super::{Incident, Role};

/// Slack's limit on channel topics.
pub const MAX_TOPIC_CHARS: usize = 250;
/// Slack's limit on header block text.
const MAX_HEADER_CHARS: usize = 150;

/// A message: a mrkdwn fallback `text` (notifications, screen readers, clients without blocks)
/// and the blocks shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub text: String,
    pub blocks: Vec<Block>,
}

/// Slack-agnostic layout blocks. Text is mrkdwn unless the variant says plain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// Large plain text (no mrkdwn, no mentions).
    Header(String),
    Section(String),
    /// Two-column label/value pairs.
    Fields(Vec<String>),
    /// Small grey text.
    Context(String),
}

/// `/inc declare <sev> [triage] <title>` in a code span, escaped.
const DECLARE_USAGE: &str = "`/inc declare &lt;sev&gt; [triage] &lt;title&gt;`";

/// The ephemeral help: every subcommand with one example.
pub fn help() -> String {
    format!(
        "*incident-commander* runs your incident process from Slack.\n\
         • {} — declare now and open a channel: `/inc declare sev1 Checkout is down`\n\
         • `/inc list` — open incidents\n\
         • `/inc help` — this help\n\
         Severities: {} (`sev1` critical, `sev2` major, `sev3` minor); `p1`–`p3` and `1`–`3` work too. \
         Add `triage` after the severity when you are not sure yet.",
        DECLARE_USAGE,
        Severity::choices(DEFAULT_LEVELS)
    )
}

/// The ack of a fresh declaration.
pub fn declared_reply(incident: &Incident) -> String {
    format!(
        ":rotating_light: Declared *{}* · {} · {} — {}. Opening its channel and inviting you now.",
        incident.reference(),
        incident.severity,
        incident.status,
        escape(&incident.title)
    )
}

/// The reply when the same declaration arrives again (a redelivery, a double submit).
pub fn already_declared_reply(incident: &Incident) -> String {
    let place = match &incident.channel_id {
        Some(id) => format!("in {}", mrkdwn::channel(id)),
        None => "— its channel is being opened".to_string(),
    };
    format!(
        "*{}* ({}) is already declared {} — {}.",
        incident.reference(),
        incident.severity,
        place,
        escape(&incident.title)
    )
}

/// The channel topic: `[SEV1 · investigating] <summary, or the title>`, cut to Slack's limit.
pub fn topic(incident: &Incident) -> String {
    let text = incident.summary.as_deref().unwrap_or(&incident.title);
    let topic = format!(
        "[{} · {}] {}",
        incident.severity,
        incident.status,
        escape(text)
    );
    truncate_chars(&topic, MAX_TOPIC_CHARS)
}

/// The card posted and pinned in the incident channel.
pub fn incident_card(incident: &Incident) -> Message {
    let mut blocks = vec![
        Block::Header(truncate_chars(
            &format!("{} · {}", incident.reference(), incident.title),
            MAX_HEADER_CHARS,
        )),
        Block::Fields(vec![
            format!("*Severity*\n{}", incident.severity),
            format!("*Status*\n{}", incident.status),
            format!(
                "*{}*\n{}",
                Role::Coordinator.title(),
                holder(incident, Role::Coordinator)
            ),
            format!(
                "*{}*\n{}",
                Role::Operator.title(),
                holder(incident, Role::Operator)
            ),
        ]),
    ];
    if let Some(comms) = incident.holder(Role::Comms) {
        blocks.push(Block::Section(format!("*Comms*: {}", mrkdwn::user(comms))));
    }
    if let Some(summary) = &incident.summary {
        blocks.push(Block::Section(format!("*Summary*\n{}", escape(summary))));
    }
    blocks.push(Block::Context(format!(
        "Declared by {} {}",
        mrkdwn::user(&incident.declared_by),
        when(incident.declared_at)
    )));
    Message {
        text: format!(
            "{} · {} · {} — {}",
            incident.reference(),
            incident.severity,
            incident.status,
            escape(&incident.title)
        ),
        blocks,
    }
}

/// The announcement in the announce channel, with a link to join the incident channel.
pub fn announcement(incident: &Incident) -> Message {
    let join = incident
        .channel_id
        .as_deref()
        .map(mrkdwn::channel)
        .unwrap_or_else(|| "(channel pending)".to_string());
    Message {
        text: format!(
            ":rotating_light: {} declared ({}): {} — join {}",
            incident.reference(),
            incident.severity,
            escape(&incident.title),
            join
        ),
        blocks: vec![
            Block::Section(format!(
                ":rotating_light: *{} declared* · {} · {}\n*{}*",
                incident.reference(),
                incident.severity,
                incident.status,
                escape(&incident.title)
            )),
            Block::Fields(vec![
                format!(
                    "*{}*\n{}",
                    Role::Coordinator.title(),
                    holder(incident, Role::Coordinator)
                ),
                format!("*Channel*\n{join}"),
            ]),
            Block::Context(format!(
                "Declared by {} {}",
                mrkdwn::user(&incident.declared_by),
                when(incident.declared_at)
            )),
        ],
    }
}

/// The `/inc list` reply for `viewer`: open incidents they may see, most severe first.
pub fn incident_list(incidents: &[Incident], viewer: &str) -> String {
    let mut visible: Vec<&Incident> = incidents
        .iter()
        .filter(|i| !i.status.is_terminal() && i.visible_to(viewer))
        .collect();
    if visible.is_empty() {
        return "No open incidents. :white_check_mark:".to_string();
    }
    visible.sort_by_key(|i| (i.severity, i.number));
    let mut out = format!("*Open incidents* ({})", visible.len());
    for i in visible {
        out.push_str(&format!(
            "\n• *{}* · {} · {} — {}",
            i.reference(),
            i.severity,
            i.status,
            escape(&i.title)
        ));
        if let Some(channel) = &i.channel_id {
            out.push_str(&format!(" · {}", mrkdwn::channel(channel)));
        }
        if let Some(c) = i.holder(Role::Coordinator) {
            out.push_str(&format!(" · coordinator {}", mrkdwn::user(c)));
        }
        if i.private {
            out.push_str(" · :lock: private");
        }
    }
    out
}

/// Told to the declarer when their incident's channel could not be opened.
pub fn channel_failed(incident: &Incident, error: &str) -> String {
    format!(
        ":warning: *{}* is recorded, but Slack refused to create its channel (`{}`). \
         Ask a workspace admin whether the bot may create channels, then declare again.",
        incident.reference(),
        escape(error)
    )
}

/// Posted in the incident channel when a later step failed for good.
pub fn step_failed(incident: &Incident, what: &str, error: &str) -> String {
    format!(
        ":warning: {} for *{}* failed: Slack answered `{}`.",
        what,
        incident.reference(),
        escape(error)
    )
}

/// `<@U1>` or `_unassigned_`.
fn holder(incident: &Incident, role: Role) -> String {
    incident
        .holder(role)
        .map(mrkdwn::user)
        .unwrap_or_else(|| "_unassigned_".to_string())
}

/// A time every reader sees in their own time zone (Slack's date formatting), with UTC as the
/// fallback text.
fn when(at: DateTime<Utc>) -> String {
    format!(
        "<!date^{}^{{date_short_pretty}} at {{time}}|{}>",
        at.timestamp(),
        at.format("%Y-%m-%d %H:%M UTC")
    )
}

fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::incident::tests::sample;

    #[test]
    fn the_topic_shows_severity_status_and_title() {
        let inc = sample(1);
        assert_eq!(topic(&inc), "[SEV1 · investigating] Checkout is down");
    }

    #[test]
    fn the_topic_prefers_the_summary_and_fits_slacks_limit() {
        let mut inc = sample(1);
        inc.summary = Some("x".repeat(400));
        let t = topic(&inc);
        assert_eq!(t.chars().count(), MAX_TOPIC_CHARS);
        assert!(t.starts_with("[SEV1 · investigating] xxx"));
    }

    #[test]
    fn user_text_in_every_message_is_escaped() {
        let mut inc = sample(1);
        inc.title = "<!channel> pay <@U0BOSS>".into();
        inc.summary = Some("<!here>".into());
        let card = incident_card(&inc);
        let ann = announcement(&inc);
        let mut texts = vec![
            topic(&inc),
            declared_reply(&inc),
            already_declared_reply(&inc),
            incident_list(std::slice::from_ref(&inc), "U0ALICE"),
            card.text.clone(),
            ann.text.clone(),
        ];
        for b in card.blocks.iter().chain(ann.blocks.iter()) {
            match b {
                Block::Header(_) => {} // plain text: Slack does not parse mentions there
                Block::Section(t) | Block::Context(t) => texts.push(t.clone()),
                Block::Fields(f) => texts.extend(f.iter().cloned()),
            }
        }
        for t in texts {
            assert!(
                !t.contains("<!channel>") && !t.contains("<!here>") && !t.contains("<@U0BOSS>"),
                "{t}"
            );
        }
    }

    /// Slack reads `<…>` as markup: every `<` the bot sends must open a mention, a channel link
    /// or a date it composed on purpose.
    fn only_composed_markup(text: &str) -> bool {
        text.match_indices('<').all(|(i, _)| {
            ["<@", "<#", "<!date^"]
                .iter()
                .any(|p| text[i..].starts_with(p))
        })
    }

    #[test]
    fn bot_texts_carry_no_stray_markup() {
        let mut inc = sample(3);
        inc.title = "a <b> & c".into();
        inc.summary = Some("<!here>".into());
        let mut texts = vec![
            help(),
            declared_reply(&inc),
            already_declared_reply(&inc),
            topic(&inc),
            incident_list(std::slice::from_ref(&inc), "U0ALICE"),
            channel_failed(&inc, "<x>"),
            step_failed(&inc, "Posting", "<x>"),
        ];
        for m in [incident_card(&inc), announcement(&inc)] {
            texts.push(m.text);
            for b in m.blocks {
                match b {
                    Block::Header(_) => {}
                    Block::Section(t) | Block::Context(t) => texts.push(t),
                    Block::Fields(f) => texts.extend(f),
                }
            }
        }
        for t in texts {
            assert!(only_composed_markup(&t), "stray markup in {t:?}");
        }
    }

    #[test]
    fn the_card_names_the_roles_and_who_declared() {
        let card = incident_card(&sample(7));
        assert_eq!(
            card.blocks[0],
            Block::Header("INC-7 · Checkout is down".into())
        );
        let Block::Fields(fields) = &card.blocks[1] else {
            panic!("fields")
        };
        assert!(fields.contains(&"*Coordinator*\n<@U0ALICE>".to_string()));
        assert!(fields.contains(&"*Operator*\n_unassigned_".to_string()));
        assert!(
            matches!(card.blocks.last(), Some(Block::Context(c)) if c.starts_with("Declared by <@U0ALICE>"))
        );
    }

    #[test]
    fn the_list_hides_closed_and_foreign_private_incidents() {
        let open = sample(1);
        let mut closed = sample(2);
        closed.status = crate::domain::Status::Resolved;
        let mut secret = sample(3);
        secret.private = true;
        secret.declared_by = "U0BOB".into();
        secret.roles = vec![(Role::Coordinator, "U0BOB".into())];
        let all = [open, closed, secret];
        let for_alice = incident_list(&all, "U0ALICE");
        assert!(
            for_alice.contains("INC-1")
                && !for_alice.contains("INC-2")
                && !for_alice.contains("INC-3")
        );
        let for_bob = incident_list(&all, "U0BOB");
        assert!(for_bob.contains("INC-3") && for_bob.contains(":lock: private"));
        assert_eq!(
            incident_list(&[], "U0ALICE"),
            "No open incidents. :white_check_mark:"
        );
    }
}
