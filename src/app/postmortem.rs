//! The postmortem draft (docs/postmortems.md): gathered from the store and from Slack, rendered
//! with the team's template, saved, and uploaded to the incident channel.
//!
//! - **Gathering.** The incident, its timeline and its role history come from the store. The
//!   pins come from `pins.list` — Slack's current text, so an edited pin shows its edit and an
//!   unpinned or deleted one is gone — with the bot's own card left out; the pin events the bot
//!   recorded fill in who pinned each and when, where Slack does not say. Names come from
//!   `users.info`, once per person per draft. Without Slack (the CLI's `--offline`, or a channel
//!   the bot can no longer read) the pins are the recorded ones and the draft says they may be
//!   stale.
//! - **Export** (`/inc postmortem`, the **Write postmortem** button): a job (the `postmortem`
//!   step, `app::steps`) renders the draft, saves it as the
//!   incident's next version *before* uploading (a retried job saves over its own version), then
//!   uploads `INC-<n>-postmortem.md` with files upload v2 and records the export on the timeline.
//!   If the upload fails for good, whoever asked is told, and `incident-commander postmortem`
//!   still prints the saved draft.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use tracing::warn;

use super::{Clock, SystemClock};
use crate::config::{DraftSettings, Settings};
use crate::domain::Incident;
use crate::domain::postmortem::{
    self, FileRef, Held, Person, Pin, Record, Template, TemplateError,
};
use crate::domain::source::message_time;
use crate::slack::{ListedPin, SlackApi, SlackError};
use crate::store::{Store, StoreError, StoredPin};

/// Why a draft could not be written.
#[derive(Debug, thiserror::Error)]
pub enum DraftError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Slack(#[from] SlackError),
    #[error("the postmortem template failed at {0}")]
    Template(#[from] TemplateError),
}

/// What drafting needs: where the records are, Slack (none: offline), how to render.
pub struct Drafting<'a> {
    pub store: &'a Store,
    pub slack: Option<&'a SlackApi>,
    pub template: &'a Template,
    pub tz: Tz,
}

/// A rendered draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub markdown: String,
    /// The pins are the bot's records, not Slack's current ones.
    pub pins_may_be_stale: bool,
}

/// The file name a draft is uploaded as: `INC-42-postmortem.md`.
pub fn file_name(incident: &Incident) -> String {
    format!("{}-postmortem.md", incident.reference())
}

/// Gathers `incident`'s record and renders its draft as of `now`.
pub async fn draft(
    with: &Drafting<'_>,
    incident: &Incident,
    now: DateTime<Utc>,
) -> Result<Draft, DraftError> {
    let timeline = with.store.timeline(incident.id).await?;
    let roles: Vec<Held> = with
        .store
        .role_history(incident.id)
        .await?
        .into_iter()
        .map(|a| Held {
            role: a.role,
            user: a.user_id,
            from: a.from,
            to: a.to,
        })
        .collect();
    let stored = with.store.pins(incident.id).await?;
    let listed = match (with.slack, &incident.channel_id) {
        (Some(slack), Some(channel)) => match slack.pins(channel).await {
            Ok(pins) => Some(pins),
            // A channel the bot cannot read any more (archived, removed from it): the recorded
            // pins stand in, marked as possibly stale. Anything transient is retried.
            Err(e) if !e.is_transient() => {
                warn!(incident.number = incident.number, error = %e, "pins.list failed; using the recorded pins");
                None
            }
            Err(e) => return Err(e.into()),
        },
        _ => None,
    };
    let pins_may_be_stale = listed.is_none() && incident.channel_id.is_some();
    let mut listed = match listed {
        Some(listed) => current_pins(listed, &stored, incident),
        None => recorded_pins(&stored),
    };
    if let (Some(slack), Some(channel)) = (with.slack, &incident.channel_id) {
        for pin in listed.iter_mut().filter(|p| p.permalink.is_none()) {
            if let Some(ts) = &pin.ts {
                pin.permalink = slack.permalink(channel, ts).await.ok();
            }
        }
    }

    let mut ids = postmortem::people_named(incident, &timeline, &roles);
    for pin in &listed {
        ids.extend(pin.author.clone());
        ids.extend(pin.pinned_by.clone());
        ids.extend(postmortem::mentions(&pin.text));
    }
    let people = names(with.slack, ids).await?;
    let person = |id: &String| Person {
        id: id.clone(),
        name: people.get(id).cloned().unwrap_or_else(|| id.clone()),
    };
    let pins = listed
        .iter()
        .map(|p| Pin {
            posted_at: p.posted_at.unwrap_or(incident.declared_at),
            pinned_at: p.pinned_at,
            pinned_by: p.pinned_by.as_ref().map(person),
            author: p.author.as_ref().map(person),
            author_label: p.author_label.as_ref().map(|l| format!("{l} (bot)")),
            text: p.text.clone(),
            permalink: p.permalink.clone(),
            file: p.file.as_ref().map(|(name, link)| FileRef {
                name: name.clone(),
                link: link.clone(),
            }),
        })
        .collect();
    let input = postmortem::assemble(Record {
        incident,
        timeline: &timeline,
        roles: &roles,
        pins,
        people,
        generated_at: now,
        pins_may_be_stale,
    });
    let markdown = postmortem::render(&input, with.template, with.tz)?;
    Ok(Draft {
        markdown,
        pins_may_be_stale,
    })
}

/// Slack's current pins, without the bot's incident card, each completed from the pin events
/// the bot recorded.
fn current_pins(
    listed: Vec<ListedPin>,
    stored: &[StoredPin],
    incident: &Incident,
) -> Vec<ListedPin> {
    let recorded: HashMap<&str, &StoredPin> = stored.iter().map(|p| (p.ts.as_str(), p)).collect();
    listed
        .into_iter()
        .filter(|p| p.ts.is_none() || p.ts != incident.card_ts)
        .map(|mut pin| {
            if let Some(known) = pin.ts.as_deref().and_then(|ts| recorded.get(ts)) {
                pin.pinned_by = pin.pinned_by.or_else(|| known.pinned_by.clone());
                pin.pinned_at = pin
                    .pinned_at
                    .or_else(|| DateTime::from_timestamp_millis(known.pinned_at));
            }
            pin
        })
        .collect()
}

/// The pins as the bot recorded them from Slack's events: still pinned, text as last edited.
fn recorded_pins(stored: &[StoredPin]) -> Vec<ListedPin> {
    stored
        .iter()
        .filter(|p| p.state == "pinned")
        .map(|p| ListedPin {
            ts: Some(p.ts.clone()),
            posted_at: message_time(&p.ts),
            author: p.author.clone(),
            author_label: p.author_label.clone(),
            text: p.text.clone(),
            permalink: None,
            pinned_at: DateTime::from_timestamp_millis(p.pinned_at),
            pinned_by: p.pinned_by.clone(),
            file: None,
        })
        .collect()
}

/// Each person's, channel's and user group's Slack name, asked once per draft (`users.info`,
/// `conversations.info`, one `usergroups.list`); without Slack, or for an id Slack does not
/// know, the id stands.
async fn names(
    slack: Option<&SlackApi>,
    ids: Vec<String>,
) -> Result<HashMap<String, String>, SlackError> {
    let mut people = HashMap::new();
    let Some(slack) = slack else {
        return Ok(people);
    };
    let mut asked = HashSet::new();
    let mut groups: Option<Result<HashMap<String, String>, SlackError>> = None;
    for id in ids {
        if !asked.insert(id.clone()) {
            continue;
        }
        let name = if id.starts_with(['C', 'G', 'D']) {
            slack
                .channel_membership(&id)
                .await
                .map(|(name, _)| Some(name))
        } else if id.starts_with('S') {
            if groups.is_none() {
                groups = Some(slack.usergroup_handles().await);
            }
            match groups.as_ref() {
                Some(Ok(handles)) => Ok(handles.get(&id).cloned()),
                Some(Err(e)) => Err(e.clone()),
                None => Ok(None),
            }
        } else {
            slack.user_name(&id).await
        };
        match name {
            Ok(Some(name)) => {
                people.insert(id, name);
            }
            Ok(None) => {}
            Err(e) if e.is_transient() => return Err(e),
            Err(_) => {}
        }
    }
    Ok(people)
}

/// Where `incident-commander postmortem` takes its draft from.
pub enum Source<'a> {
    /// The database and Slack, with the configured tokens.
    Slack(&'a Settings),
    /// The database alone: the pins as recorded, marked as possibly stale.
    Offline(&'a DraftSettings),
    /// The latest draft saved by an export, as it was uploaded (or failed to be).
    Saved(&'a str),
}

/// `incident-commander postmortem <INC-n>`: the Markdown of incident `reference`'s draft. The
/// error is the one line to print.
pub async fn for_cli(reference: &str, source: Source<'_>) -> Result<String, String> {
    let number = parse_reference(reference)
        .ok_or_else(|| format!("{reference:?} is not an incident: use INC-42 or 42"))?;
    let url = match &source {
        Source::Slack(s) => s.database_url.as_str(),
        Source::Offline(s) => s.database_url.as_str(),
        Source::Saved(url) => url,
    };
    let store = crate::store::connect(url)
        .await
        .map_err(|e| e.to_string())?;
    let incident = store
        // The deployment's own workspace's INC-n.
        .incident_by_number(crate::store::HOME_WORKSPACE, number)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("there is no INC-{number}"))?;
    let now = SystemClock.now();
    let draft = match source {
        Source::Saved(_) => {
            return store
                .latest_postmortem(incident.id)
                .await
                .map_err(|e| e.to_string())?
                .map(|saved| saved.markdown)
                .ok_or_else(|| {
                    format!(
                        "{} has no saved draft: it was never exported (drop --saved to render one)",
                        incident.reference()
                    )
                });
        }
        Source::Offline(settings) => {
            let with = Drafting {
                store: &store,
                slack: None,
                template: &settings.postmortem_template,
                tz: settings.tz,
            };
            draft(&with, &incident, now).await
        }
        Source::Slack(settings) => {
            let client = crate::slack::api::client(&settings.slack_api_url)
                .map_err(|e| format!("cannot build the Slack client: {e}"))?;
            let slack = SlackApi::new(client, &settings.bot_token, settings.slack_timeout);
            let with = Drafting {
                store: &store,
                slack: Some(&slack),
                template: &settings.postmortem_template,
                tz: settings.tz,
            };
            draft(&with, &incident, now).await
        }
    };
    draft.map(|d| d.markdown).map_err(|e| match e {
        DraftError::Slack(e) => {
            format!("Slack answered {e} (use --offline to render without Slack)")
        }
        other => other.to_string(),
    })
}

/// Parses `INC-42`, `inc-42` or `42`.
pub fn parse_reference(text: &str) -> Option<i64> {
    let text = text.trim();
    let number = text
        .get(..4)
        .filter(|p| p.eq_ignore_ascii_case("inc-"))
        .map_or(text, |_| &text[4..]);
    number.parse().ok().filter(|n| *n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_read_with_or_without_their_prefix() {
        assert_eq!(parse_reference("INC-42"), Some(42));
        assert_eq!(parse_reference("inc-7"), Some(7));
        assert_eq!(parse_reference(" 3 "), Some(3));
        assert_eq!(parse_reference("INC-"), None);
        assert_eq!(parse_reference("0"), None);
        assert_eq!(parse_reference("checkout"), None);
    }
}
