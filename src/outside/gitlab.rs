//! GitLab Issues, REST API v4 (`PRIVATE-TOKEN`): a follow-up filed as an issue of
//! `GITLAB_PROJECT`, its state read back, and Issue Hook webhooks (`X-Gitlab-Token`) read.
//!
//! The marker rides at the end of the description as an HTML comment; the search for it lists
//! the incident's label with GitLab's `search` in descriptions.

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use url::Url;

use super::tracker::{
    Filed, NewTicket, Polled, Refused, answer_json, json, poll_issue, with_query,
};
use super::{Client, OutsideError};
use crate::domain::outside::{TicketNews, Tracker};

const SYSTEM: &str = "GitLab";

#[derive(Clone, Debug)]
pub struct GitlabApi {
    client: Client,
    base: Url,
    project: String,
    token: SecretString,
}

impl GitlabApi {
    pub fn new(client: Client, base: Url, project: String, token: SecretString) -> GitlabApi {
        GitlabApi {
            client,
            base,
            project,
            token,
        }
    }

    /// The project, by path or id.
    pub fn project(&self) -> &str {
        &self.project
    }

    fn request(&self, method: reqwest::Method, rest: &str) -> reqwest::RequestBuilder {
        // A path names the project URL-encoded (`group%2Fproject`).
        let project: String =
            url::form_urlencoded::byte_serialize(self.project.as_bytes()).collect();
        let url = format!(
            "{}/api/v4/projects/{project}/{rest}",
            self.base.as_str().trim_end_matches('/')
        );
        self.client
            .http()
            .request(method, url)
            .header("PRIVATE-TOKEN", self.token.expose_secret())
    }

    pub async fn create(&self, t: &NewTicket) -> Result<Filed, OutsideError> {
        let body = json!({
            "title": t.title,
            "description": format!("{}\n\n{}", t.body, hidden_marker(&t.marker)),
            "labels": t.labels.join(","),
        });
        let request = self.request(reqwest::Method::POST, "issues").json(&body);
        let text = self.client.exchange(SYSTEM, request, said).await?;
        Ok(filed(&answer_json(SYSTEM, &text)?))
    }

    pub async fn find(&self, t: &NewTicket) -> Result<Option<Filed>, OutsideError> {
        let hidden = hidden_marker(&t.marker);
        let rest = with_query(
            "issues",
            &[
                ("labels", t.incident_label.as_str()),
                ("search", t.marker.as_str()),
                ("in", "description"),
                ("per_page", "100"),
            ],
        );
        let request = self.request(reqwest::Method::GET, &rest);
        let text = self.client.exchange(SYSTEM, request, said).await?;
        let issues = answer_json(SYSTEM, &text)?;
        Ok(issues
            .as_array()
            .into_iter()
            .flatten()
            .find(|i| {
                i["description"]
                    .as_str()
                    .is_some_and(|d| d.contains(&hidden))
            })
            .map(filed))
    }

    /// The issue's state, asked with its last `ETag` (a 304 when unchanged); the new `ETag`.
    pub async fn poll(
        &self,
        iid: &str,
        etag: Option<&str>,
    ) -> Result<(Polled, Option<String>), OutsideError> {
        let request = self.request(reqwest::Method::GET, &format!("issues/{iid}"));
        poll_issue(SYSTEM, request, etag, classify).await
    }
}

/// A failed answer, with GitLab's words.
fn classify(
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    text: &str,
) -> Result<(), OutsideError> {
    OutsideError::from_status(SYSTEM, status, headers, &said(text))
}

/// GitLab's `message` (or `error`), without the rest.
fn said(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| {
            let m = if v["message"].is_null() {
                &v["error"]
            } else {
                &v["message"]
            };
            match m {
                Value::String(s) => Some(s.clone()),
                Value::Null => None,
                other => Some(other.to_string()),
            }
        })
        .unwrap_or_else(|| text.to_string())
}

fn hidden_marker(marker: &str) -> String {
    format!("<!-- {marker} -->")
}

fn filed(issue: &Value) -> Filed {
    let iid = issue["iid"].as_u64().unwrap_or_default();
    Filed {
        reference: iid.to_string(),
        name: format!("#{iid}"),
        url: issue["web_url"].as_str().map(str::to_string),
        closed: issue["state"].as_str() == Some("closed"),
    }
}

/// An Issue Hook: `close` and `reopen` are news. GitLab signs nothing; it sends the token it
/// was given, compared here in constant time.
pub(super) fn read_webhook<'h>(
    token: &str,
    project: &str,
    header: &dyn Fn(&str) -> Option<&'h str>,
    body: &[u8],
) -> Result<Option<TicketNews>, Refused> {
    let given = header("x-gitlab-token").unwrap_or_default();
    if !super::same(given.as_bytes(), token.as_bytes()) {
        return Err(Refused::Unauthorized("missing or wrong X-Gitlab-Token"));
    }
    let v = json(body)?;
    if v["object_kind"].as_str() != Some("issue") {
        return Ok(None);
    }
    let ours = v["project"]["path_with_namespace"]
        .as_str()
        .is_some_and(|p| p.eq_ignore_ascii_case(project))
        || v["project"]["id"]
            .as_u64()
            .map(|id| id.to_string())
            .as_deref()
            == Some(project);
    if !ours {
        return Ok(None);
    }
    let attributes = &v["object_attributes"];
    let closed = match attributes["action"].as_str() {
        Some("close") => true,
        Some("reopen") => false,
        _ => return Ok(None),
    };
    let Some(iid) = attributes["iid"].as_u64() else {
        return Err(Refused::Invalid(
            "an issue event without object_attributes.iid".into(),
        ));
    };
    Ok(Some(TicketNews {
        tracker: Tracker::Gitlab,
        reference: iid.to_string(),
        closed,
        by: v["user"]["name"]
            .as_str()
            .or(v["user"]["username"].as_str())
            .map(str::to_string),
        // GitLab keeps `Idempotency-Key` across a delivery's attempts and its "Resend request";
        // the event UUID is new on a resend.
        delivery: header("idempotency-key")
            .or(header("x-gitlab-event-uuid"))
            .map(str::to_string),
    }))
}
