//! Jira Cloud, REST API v3 (HTTP Basic with the account's email and API token): a follow-up
//! filed as an issue of `JIRA_PROJECT`, its state read back, and admin webhooks with a secret
//! (`X-Hub-Signature: sha256=…`) read.
//!
//! Jira's descriptions are Atlassian Document Format, not text, so the marker is a **label** of
//! the issue, and the search for it is one JQL query (`labels = "<marker>"`) on the enhanced
//! search endpoint (`/rest/api/3/search/jql`). A ticket is closed when its status is in the
//! Done category, whatever the workflow calls it.

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use url::Url;

use super::tracker::{Filed, NewTicket, Polled, Refused, answer_json, json, signed, with_query};
use super::{Client, OutsideError};
use crate::domain::outside::{TicketNews, Tracker};

const SYSTEM: &str = "Jira";

#[derive(Clone, Debug)]
pub struct JiraApi {
    client: Client,
    base: Url,
    email: String,
    token: SecretString,
    project: String,
    issue_type: String,
}

impl JiraApi {
    pub fn new(
        client: Client,
        base: Url,
        email: String,
        token: SecretString,
        project: String,
        issue_type: String,
    ) -> JiraApi {
        JiraApi {
            client,
            base,
            email,
            token,
            project,
            issue_type,
        }
    }

    fn root(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    fn request(&self, method: reqwest::Method, rest: &str) -> reqwest::RequestBuilder {
        self.client
            .http()
            .request(method, format!("{}/rest/api/3/{rest}", self.root()))
            .basic_auth(&self.email, Some(self.token.expose_secret()))
            .header(reqwest::header::ACCEPT, "application/json")
    }

    fn browse(&self, key: &str) -> String {
        format!("{}/browse/{key}", self.root())
    }

    pub async fn create(&self, t: &NewTicket) -> Result<Filed, OutsideError> {
        let mut labels = t.labels.clone();
        labels.push(t.marker.clone());
        let body = json!({
            "fields": {
                "project": { "key": self.project },
                "issuetype": { "name": self.issue_type },
                // Jira's summary is one line of at most 255 characters.
                "summary": t.title.chars().take(255).collect::<String>(),
                "description": document(&t.body),
                "labels": labels,
            }
        });
        let request = self.request(reqwest::Method::POST, "issue").json(&body);
        let text = self.client.exchange(SYSTEM, request, said).await?;
        let created = answer_json(SYSTEM, &text)?;
        let key = created["key"].as_str().unwrap_or_default();
        Ok(Filed {
            reference: created["id"].as_str().unwrap_or_default().to_string(),
            name: key.to_string(),
            url: Some(self.browse(key)),
            closed: false,
        })
    }

    pub async fn find(&self, t: &NewTicket) -> Result<Option<Filed>, OutsideError> {
        let jql = format!("project = {} AND labels = \"{}\"", self.project, t.marker);
        let body = json!({ "jql": jql, "fields": ["status"], "maxResults": 10 });
        let request = self
            .request(reqwest::Method::POST, "search/jql")
            .json(&body);
        let text = self.client.exchange(SYSTEM, request, said).await?;
        let found = answer_json(SYSTEM, &text)?;
        Ok(found["issues"]
            .as_array()
            .and_then(|i| i.first())
            .map(|issue| {
                let key = issue["key"].as_str().unwrap_or_default();
                Filed {
                    reference: issue["id"].as_str().unwrap_or_default().to_string(),
                    name: key.to_string(),
                    url: Some(self.browse(key)),
                    closed: done(issue),
                }
            }))
    }

    /// The issue's state (Jira answers no `ETag` to condition on; one small request a ticket).
    pub async fn poll(&self, id: &str) -> Result<Polled, OutsideError> {
        let rest = with_query(&format!("issue/{id}"), &[("fields", "status")]);
        let request = self.request(reqwest::Method::GET, &rest);
        match self.client.exchange(SYSTEM, request, said).await {
            Ok(text) => Ok(Polled::State {
                closed: done(&answer_json(SYSTEM, &text)?),
            }),
            Err(OutsideError::Permanent { reason, .. }) if reason.starts_with("HTTP 404") => {
                Ok(Polled::Gone)
            }
            Err(e) => Err(e),
        }
    }
}

/// Whether the issue's status is in the Done category.
fn done(issue: &Value) -> bool {
    issue["fields"]["status"]["statusCategory"]["key"].as_str() == Some("done")
}

/// Text as an Atlassian document: one paragraph per line, links as links.
fn document(text: &str) -> Value {
    let paragraphs: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let content: Vec<Value> = line
                .split(' ')
                .enumerate()
                .flat_map(|(i, word)| {
                    let space = (i > 0).then(|| json!({ "type": "text", "text": " " }));
                    let word = match word.starts_with("https://") || word.starts_with("http://") {
                        true => json!({ "type": "text", "text": word,
                                        "marks": [{ "type": "link", "attrs": { "href": word } }] }),
                        false => json!({ "type": "text", "text": word }),
                    };
                    space.into_iter().chain([word])
                })
                .filter(|node| node["text"].as_str().is_some_and(|t| !t.is_empty()))
                .collect();
            json!({ "type": "paragraph", "content": content })
        })
        .collect();
    json!({ "type": "doc", "version": 1, "content": paragraphs })
}

/// Jira's `errorMessages` and `errors`, without the rest.
fn said(text: &str) -> String {
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return text.to_string();
    };
    let mut out: Vec<String> = v["errorMessages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m.as_str().map(str::to_string))
        .collect();
    if let Some(errors) = v["errors"].as_object() {
        out.extend(
            errors
                .iter()
                .map(|(field, m)| format!("{field}: {}", m.as_str().unwrap_or_default())),
        );
    }
    if out.is_empty() {
        text.to_string()
    } else {
        out.join("; ")
    }
}

/// An `jira:issue_updated` event whose changelog moved the status is news: closed when the new
/// status is in the Done category, reopened otherwise.
pub(super) fn read_webhook<'h>(
    secret: &str,
    header: &dyn Fn(&str) -> Option<&'h str>,
    body: &[u8],
) -> Result<Option<TicketNews>, Refused> {
    if !signed(secret, header("x-hub-signature"), body, true) {
        return Err(Refused::Unauthorized("missing or wrong X-Hub-Signature"));
    }
    let v = json(body)?;
    if v["webhookEvent"].as_str() != Some("jira:issue_updated") {
        return Ok(None);
    }
    let moved = v["changelog"]["items"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|item| item["field"].as_str() == Some("status"));
    if !moved {
        return Ok(None);
    }
    let Some(id) = v["issue"]["id"].as_str() else {
        return Err(Refused::Invalid("an issue event without issue.id".into()));
    };
    Ok(Some(TicketNews {
        tracker: Tracker::Jira,
        reference: id.to_string(),
        closed: done(&v["issue"]),
        by: v["user"]["displayName"].as_str().map(str::to_string),
        delivery: header("x-atlassian-webhook-identifier").map(str::to_string),
    }))
}
