//! The follow-up tracker, whichever it is: a ticket filed once ([`TrackerApi::file`]), its state
//! asked for ([`TrackerApi::poll`]), and the tracker's webhooks read
//! ([`TrackerApi::read_webhook`]). Each tracker's protocol is its own file (`github`, `gitlab`,
//! `jira`, `linear`); this one is what the steps and the HTTP side call.
//!
//! **Exactly once.** No tracker takes an idempotency key, so every ticket carries a marker of
//! its follow-up ([`crate::domain::outside::followup_marker`]): a hidden line of its body on
//! GitHub and GitLab, a footer line on Linear, a label on Jira (whose descriptions are documents,
//! not text). An attempt after an unknown outcome (a timeout, a lost answer) first searches the
//! tracker for the marker, among the incident's tickets, and adopts what it finds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};

use super::{Client, OutsideError, github, gitlab, jira, linear};
use crate::config::trackers::{Access, FollowUpTracker};
use crate::domain::outside::{TicketNews, Tracker};

/// A follow-up to file.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub title: String,
    /// Markdown: what the follow-up says, and where it comes from.
    pub body: String,
    /// `incident`, `INC-n`.
    pub labels: Vec<String>,
    /// The follow-up's marker (unique across workspaces and incidents).
    pub marker: String,
    /// The incident's label (`INC-n`): where to look for the marker.
    pub incident_label: String,
}

/// A ticket as the tracker answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filed {
    /// The tracker's id, as the API names it (GitHub's and GitLab's number, Jira's and
    /// Linear's id).
    pub reference: String,
    /// How people name it: `#12`, `OPS-4`, `ENG-7`.
    pub name: String,
    pub url: Option<String>,
    pub closed: bool,
}

/// What a poll learned of a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Polled {
    /// Not changed since the last answer (a 304 to its `ETag`).
    Unchanged,
    /// Its state now.
    State { closed: bool },
    /// The tracker no longer has it (deleted, or moved out of reach).
    Gone,
}

/// The configured tracker's client.
#[derive(Clone, Debug)]
pub struct TrackerApi {
    api: Api,
    /// The last `ETag` of each ticket, for conditional polls (GitHub, GitLab): an unchanged
    /// ticket costs a 304. Kept in memory; after a restart the first poll reads in full.
    etags: Arc<Mutex<HashMap<String, String>>>,
}

#[derive(Clone, Debug)]
enum Api {
    Github(github::GithubApi),
    Gitlab(gitlab::GitlabApi),
    Jira(jira::JiraApi),
    Linear(linear::LinearApi),
}

impl TrackerApi {
    pub fn new(client: Client, config: &FollowUpTracker) -> TrackerApi {
        let api = match config.access.clone() {
            Access::Github {
                token,
                repo,
                api_url,
            } => Api::Github(github::GithubApi::new(client, api_url, repo, token)),
            Access::Gitlab {
                token,
                project,
                url,
            } => Api::Gitlab(gitlab::GitlabApi::new(client, url, project, token)),
            Access::Jira {
                url,
                email,
                token,
                project,
                issue_type,
            } => Api::Jira(jira::JiraApi::new(
                client, url, email, token, project, issue_type,
            )),
            Access::Linear {
                api_key,
                team_id,
                api_url,
            } => Api::Linear(linear::LinearApi::new(client, api_url, team_id, api_key)),
        };
        TrackerApi {
            api,
            etags: Arc::default(),
        }
    }

    pub fn tracker(&self) -> Tracker {
        match self.api {
            Api::Github(_) => Tracker::Github,
            Api::Gitlab(_) => Tracker::Gitlab,
            Api::Jira(_) => Tracker::Jira,
            Api::Linear(_) => Tracker::Linear,
        }
    }

    /// Files `ticket`; when `searched` (an earlier attempt's outcome is unknown), first looks
    /// for the ticket that attempt may have filed.
    pub async fn file(&self, ticket: &NewTicket, searched: bool) -> Result<Filed, OutsideError> {
        if searched && let Some(found) = self.find(ticket).await? {
            tracing::info!(tracker = self.tracker().as_str(), ticket = %found.name, "adopted a ticket an earlier attempt filed");
            return Ok(found);
        }
        match &self.api {
            Api::Github(api) => api.create(ticket).await,
            Api::Gitlab(api) => api.create(ticket).await,
            Api::Jira(api) => api.create(ticket).await,
            Api::Linear(api) => api.create(ticket).await,
        }
    }

    /// The ticket carrying `ticket`'s marker, if the tracker has one.
    pub async fn find(&self, ticket: &NewTicket) -> Result<Option<Filed>, OutsideError> {
        match &self.api {
            Api::Github(api) => api.find(ticket).await,
            Api::Gitlab(api) => api.find(ticket).await,
            Api::Jira(api) => api.find(ticket).await,
            Api::Linear(api) => api.find(ticket).await,
        }
    }

    /// Reads a webhook of the tracker whose body is `body`: its signature (or token) checked
    /// with `secret` first, then what it says of a ticket — `None` for events about anything
    /// else (a ping, a comment, another repository or project).
    pub fn read_webhook(
        &self,
        secret: &str,
        headers: &HeaderMap,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Option<TicketNews>, Refused> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        match &self.api {
            Api::Github(api) => github::read_webhook(secret, api.repo(), &header, body),
            Api::Gitlab(api) => gitlab::read_webhook(secret, api.project(), &header, body),
            Api::Jira(_) => jira::read_webhook(secret, &header, body),
            Api::Linear(api) => linear::read_webhook(secret, api.team(), &header, body, now),
        }
    }

    /// The state of the ticket `reference`, asked conditionally where the tracker allows.
    pub async fn poll(&self, reference: &str) -> Result<Polled, OutsideError> {
        let etag = self
            .etags
            .lock()
            .map(|e| e.get(reference).cloned())
            .unwrap_or_default();
        let (polled, etag) = match &self.api {
            Api::Github(api) => api.poll(reference, etag.as_deref()).await?,
            Api::Gitlab(api) => api.poll(reference, etag.as_deref()).await?,
            Api::Jira(api) => (api.poll(reference).await?, None),
            Api::Linear(api) => (api.poll(reference).await?, None),
        };
        if let (Some(etag), Ok(mut etags)) = (etag, self.etags.lock()) {
            etags.insert(reference.to_string(), etag);
        }
        Ok(polled)
    }
}

/// Why a tracker's webhook was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// A missing or wrong signature (or token): 401.
    Unauthorized(&'static str),
    /// Signed, but not readable as the tracker's webhook: 400.
    Invalid(String),
}

/// Checks `signature` (`sha256=<hex>` when `prefixed`, else bare hex) as the HMAC-SHA256 of
/// `body` with `secret`, in constant time.
pub(super) fn signed(secret: &str, signature: Option<&str>, body: &[u8], prefixed: bool) -> bool {
    let Some(signature) = signature else {
        return false;
    };
    let hex = match prefixed {
        true => match signature.trim().strip_prefix("sha256=") {
            Some(hex) => hex,
            None => return false,
        },
        false => signature,
    };
    super::hmac_sha256_verify(secret.as_bytes(), body, hex)
}

/// How a tracker words a failed answer as an [`OutsideError`] (status, headers, body).
pub(super) type Classify =
    fn(reqwest::StatusCode, &reqwest::header::HeaderMap, &str) -> Result<(), OutsideError>;

/// One issue's state, asked with its last `ETag` where the tracker answers them (GitHub,
/// GitLab): a 304 is [`Polled::Unchanged`], a 404 or 410 [`Polled::Gone`], else the issue's
/// `state` and the new `ETag`.
pub(super) async fn poll_issue(
    system: &'static str,
    mut request: reqwest::RequestBuilder,
    etag: Option<&str>,
    classify: Classify,
) -> Result<(Polled, Option<String>), OutsideError> {
    if let Some(etag) = etag {
        request = request.header(reqwest::header::IF_NONE_MATCH, etag);
    }
    let (status, headers, text) = super::answer(system, request).await?;
    match status.as_u16() {
        304 => return Ok((Polled::Unchanged, None)),
        404 | 410 => return Ok((Polled::Gone, None)),
        _ => {}
    }
    classify(status, &headers, &text)?;
    let issue = answer_json(system, &text)?;
    let etag = headers
        .get(reqwest::header::ETAG)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    Ok((
        Polled::State {
            closed: issue["state"].as_str() == Some("closed"),
        },
        etag,
    ))
}

/// `url` with `query` added, each pair form-encoded.
pub(super) fn with_query(url: &str, query: &[(&str, &str)]) -> String {
    let mut out = String::from(url);
    for (i, (name, value)) in query.iter().enumerate() {
        out.push(if i == 0 && !url.contains('?') {
            '?'
        } else {
            '&'
        });
        out.extend(url::form_urlencoded::byte_serialize(name.as_bytes()));
        out.push('=');
        out.extend(url::form_urlencoded::byte_serialize(value.as_bytes()));
    }
    out
}

/// The body as JSON, or why not.
pub(super) fn json(body: &[u8]) -> Result<serde_json::Value, Refused> {
    serde_json::from_slice(body).map_err(|e| Refused::Invalid(format!("the body is not JSON: {e}")))
}

/// An answer's JSON, or a permanent failure naming `system`.
pub(super) fn answer_json(
    system: &'static str,
    text: &str,
) -> Result<serde_json::Value, OutsideError> {
    serde_json::from_str(text).map_err(|e| OutsideError::Permanent {
        system,
        reason: format!("an answer that is not JSON: {e}"),
    })
}
