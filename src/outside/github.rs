//! GitHub Issues, REST API (`Authorization: Bearer <token>`, API version 2022-11-28): a
//! follow-up filed as an issue of `GITHUB_REPO`, its state read back, and `issues` webhooks
//! (`X-Hub-Signature-256`) read.
//!
//! The marker rides at the end of the issue's body as an HTML comment (hidden when GitHub
//! renders it); the search for it lists the incident's label (`INC-n`) with every state, so it
//! sees what was created a moment ago (the search API is indexed later and could miss it).

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use url::Url;

use super::tracker::{
    Filed, NewTicket, Polled, Refused, answer_json, json, poll_issue, signed, with_query,
};
use super::{Client, OutsideError};
use crate::domain::outside::{TicketNews, Tracker};

const SYSTEM: &str = "GitHub";
/// How long a spent rate limit is waited out when GitHub does not say.
const SPENT_WAIT: std::time::Duration = std::time::Duration::from_secs(60);
/// The most pages of 100 issues read while looking for a marker.
const MAX_PAGES: usize = 10;

#[derive(Clone, Debug)]
pub struct GithubApi {
    client: Client,
    base: Url,
    repo: String,
    token: SecretString,
}

impl GithubApi {
    /// The repository, `owner/name`.
    pub fn repo(&self) -> &str {
        &self.repo
    }

    pub fn new(client: Client, base: Url, repo: String, token: SecretString) -> GithubApi {
        GithubApi {
            client,
            base,
            repo,
            token,
        }
    }

    fn request(&self, method: reqwest::Method, rest: &str) -> reqwest::RequestBuilder {
        let url = format!(
            "{}/repos/{}/{rest}",
            self.base.as_str().trim_end_matches('/'),
            self.repo
        );
        self.client
            .http()
            .request(method, url)
            .bearer_auth(self.token.expose_secret())
            .header(reqwest::header::ACCEPT, "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
    }

    pub async fn create(&self, t: &NewTicket) -> Result<Filed, OutsideError> {
        let body = json!({
            "title": t.title,
            "body": body_with_marker(t),
            "labels": t.labels,
        });
        let request = self.request(reqwest::Method::POST, "issues").json(&body);
        let text = exchange(request).await?;
        Ok(filed(&answer_json(SYSTEM, &text)?))
    }

    pub async fn find(&self, t: &NewTicket) -> Result<Option<Filed>, OutsideError> {
        let hidden = hidden_marker(&t.marker);
        for page in 1..=MAX_PAGES {
            let page = page.to_string();
            let rest = with_query(
                "issues",
                &[
                    ("labels", t.incident_label.as_str()),
                    ("state", "all"),
                    ("per_page", "100"),
                    ("page", &page),
                ],
            );
            let text = exchange(self.request(reqwest::Method::GET, &rest)).await?;
            let issues = answer_json(SYSTEM, &text)?;
            let issues = issues.as_array().cloned().unwrap_or_default();
            if let Some(found) = issues
                .iter()
                .find(|i| i["body"].as_str().is_some_and(|b| b.contains(&hidden)))
            {
                return Ok(Some(filed(found)));
            }
            if issues.len() < 100 {
                break;
            }
        }
        Ok(None)
    }

    /// The issue's state, asked with its last `ETag` (a 304 when unchanged); the new `ETag`.
    pub async fn poll(
        &self,
        number: &str,
        etag: Option<&str>,
    ) -> Result<(Polled, Option<String>), OutsideError> {
        let request = self.request(reqwest::Method::GET, &format!("issues/{number}"));
        poll_issue(SYSTEM, request, etag, classify).await
    }
}

/// Sends `request` and classifies GitHub's answer: a 403 that says the rate limit is spent
/// (`x-ratelimit-remaining: 0`, or a secondary limit's `retry-after`) is worth waiting for.
async fn exchange(request: reqwest::RequestBuilder) -> Result<String, OutsideError> {
    let (status, headers, text) = super::answer(SYSTEM, request).await?;
    classify(status, &headers, &text)?;
    Ok(text)
}

fn classify(
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    text: &str,
) -> Result<(), OutsideError> {
    let spent = status == reqwest::StatusCode::FORBIDDEN
        && (headers
            .get("x-ratelimit-remaining")
            .is_some_and(|v| v.as_bytes() == b"0")
            || headers.contains_key(reqwest::header::RETRY_AFTER));
    if spent {
        // `x-ratelimit-reset` is a time, and this adapter reads no clock: a spent limit is
        // waited out for a minute (or what `retry-after` says), then tried again.
        return Err(OutsideError::Transient {
            system: SYSTEM,
            reason: "HTTP 403: the rate limit is spent".into(),
            retry_after: Some(super::retry_after(headers).unwrap_or(SPENT_WAIT)),
        });
    }
    OutsideError::from_status(SYSTEM, status, headers, &said(text))
}

/// GitHub's `message`, without the rest of its error body.
fn said(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| text.to_string())
}

fn hidden_marker(marker: &str) -> String {
    format!("<!-- {marker} -->")
}

fn body_with_marker(t: &NewTicket) -> String {
    format!("{}\n\n{}", t.body, hidden_marker(&t.marker))
}

fn filed(issue: &Value) -> Filed {
    let number = issue["number"].as_u64().unwrap_or_default();
    Filed {
        reference: number.to_string(),
        name: format!("#{number}"),
        url: issue["html_url"].as_str().map(str::to_string),
        closed: issue["state"].as_str() == Some("closed"),
    }
}

/// An `issues` webhook: `closed` and `reopened` are news; every other event and action is not.
/// Events of another repository (an organisation's webhook) are not ours.
pub(super) fn read_webhook<'h>(
    secret: &str,
    repo: &str,
    header: &dyn Fn(&str) -> Option<&'h str>,
    body: &[u8],
) -> Result<Option<TicketNews>, Refused> {
    if !signed(secret, header("x-hub-signature-256"), body, true) {
        return Err(Refused::Unauthorized(
            "missing or wrong X-Hub-Signature-256",
        ));
    }
    if header("x-github-event") != Some("issues") {
        return Ok(None);
    }
    let v = json(body)?;
    if !v["repository"]["full_name"]
        .as_str()
        .is_some_and(|r| r.eq_ignore_ascii_case(repo))
    {
        return Ok(None);
    }
    let closed = match v["action"].as_str() {
        Some("closed") => true,
        Some("reopened") => false,
        _ => return Ok(None),
    };
    let Some(number) = v["issue"]["number"].as_u64() else {
        return Err(Refused::Invalid(
            "an issues event without issue.number".into(),
        ));
    };
    Ok(Some(TicketNews {
        tracker: Tracker::Github,
        reference: number.to_string(),
        closed,
        by: v["sender"]["login"].as_str().map(str::to_string),
        delivery: header("x-github-delivery").map(str::to_string),
    }))
}
