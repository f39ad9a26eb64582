//! Linear, GraphQL API (`Authorization: <API key>`): a follow-up filed as an issue of
//! `LINEAR_TEAM_ID`, its state read back, and webhooks (`Linear-Signature`) read.
//!
//! Every argument travels as a GraphQL variable, never spliced into the document. Linear labels
//! are objects with ids: the `incident` and `INC-n` labels are looked up in the team and made
//! when missing. The marker is the description's last line; the search for it filters the
//! team's issues on `description: { contains }`. A ticket is closed when its workflow state is
//! of type `completed` or `canceled`.

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use url::Url;

use super::tracker::{Filed, NewTicket, Polled, Refused, json, signed};
use super::{Client, OutsideError};
use crate::domain::outside::{TicketNews, Tracker};

const SYSTEM: &str = "Linear";
/// How old a webhook may be (its `webhookTimestamp`) before it is taken for a replay: Linear's
/// own advice is a minute.
const MAX_WEBHOOK_AGE_MS: i64 = 60_000;

const LABELS: &str = "query Labels($filter: IssueLabelFilter) { issueLabels(filter: $filter) { nodes { id name } } }";
const CREATE_LABEL: &str = "mutation CreateLabel($input: IssueLabelCreateInput!) { issueLabelCreate(input: $input) { success issueLabel { id name } } }";
const CREATE: &str = "mutation Create($input: IssueCreateInput!) { issueCreate(input: $input) { success issue { id identifier url state { type } } } }";
const FIND: &str = "query Find($filter: IssueFilter, $first: Int) { issues(filter: $filter, first: $first) { nodes { id identifier url state { type } } } }";
const POLL: &str = "query Poll($id: String!) { issue(id: $id) { id identifier state { type } } }";

#[derive(Clone, Debug)]
pub struct LinearApi {
    client: Client,
    url: Url,
    team: String,
    key: SecretString,
}

impl LinearApi {
    pub fn new(client: Client, url: Url, team: String, key: SecretString) -> LinearApi {
        LinearApi {
            client,
            url,
            team,
            key,
        }
    }

    /// The team's id.
    pub fn team(&self) -> &str {
        &self.team
    }

    /// Runs one operation; its `data`, or the failure classified.
    async fn run(&self, query: &str, variables: Value) -> Result<Value, OutsideError> {
        let request = self
            .client
            .http()
            .post(self.url.clone())
            .header(reqwest::header::AUTHORIZATION, self.key.expose_secret())
            .json(&json!({ "query": query, "variables": variables }));
        let (status, headers, text) = super::answer(SYSTEM, request).await?;
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let errors = v["errors"].as_array().cloned().unwrap_or_default();
        // Linear refuses a rate-limited request with an error coded RATELIMITED, whatever the
        // HTTP status says.
        if errors
            .iter()
            .any(|e| e["extensions"]["code"].as_str() == Some("RATELIMITED"))
        {
            return Err(OutsideError::Transient {
                system: SYSTEM,
                reason: "rate limited".into(),
                retry_after: super::retry_after(&headers),
            });
        }
        let message = errors
            .iter()
            .filter_map(|e| e["message"].as_str())
            .collect::<Vec<_>>()
            .join("; ");
        OutsideError::from_status(SYSTEM, status, &headers, &message)?;
        if !errors.is_empty() {
            return Err(OutsideError::Permanent {
                system: SYSTEM,
                reason: message,
            });
        }
        if v["data"].is_null() {
            return Err(OutsideError::Permanent {
                system: SYSTEM,
                reason: "an answer without data".into(),
            });
        }
        Ok(v["data"].clone())
    }

    /// The ids of the team's labels named `names`, made where missing.
    async fn labels(&self, names: &[String]) -> Result<Vec<String>, OutsideError> {
        let filter = json!({ "name": { "in": names }, "team": { "id": { "eq": self.team } } });
        let data = self.run(LABELS, json!({ "filter": filter })).await?;
        let known = data["issueLabels"]["nodes"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut ids = Vec::new();
        for name in names {
            let found = known
                .iter()
                .find(|l| l["name"].as_str() == Some(name.as_str()))
                .and_then(|l| l["id"].as_str().map(str::to_string));
            let id = match found {
                Some(id) => id,
                None => {
                    let input = json!({ "name": name, "teamId": self.team });
                    let made = self.run(CREATE_LABEL, json!({ "input": input })).await?;
                    made["issueLabelCreate"]["issueLabel"]["id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string()
                }
            };
            ids.push(id);
        }
        Ok(ids)
    }

    pub async fn create(&self, t: &NewTicket) -> Result<Filed, OutsideError> {
        let label_ids = self.labels(&t.labels).await?;
        let input = json!({
            "teamId": self.team,
            "title": t.title,
            "description": format!("{}\n\n{}", t.body, t.marker),
            "labelIds": label_ids,
        });
        let data = self.run(CREATE, json!({ "input": input })).await?;
        let issue = &data["issueCreate"]["issue"];
        if issue["id"].as_str().is_none() {
            return Err(OutsideError::Permanent {
                system: SYSTEM,
                reason: "issueCreate answered without an issue".into(),
            });
        }
        Ok(filed(issue))
    }

    pub async fn find(&self, t: &NewTicket) -> Result<Option<Filed>, OutsideError> {
        let filter = json!({
            "team": { "id": { "eq": self.team } },
            "description": { "contains": t.marker },
        });
        let data = self
            .run(FIND, json!({ "filter": filter, "first": 10 }))
            .await?;
        Ok(data["issues"]["nodes"]
            .as_array()
            .and_then(|n| n.first())
            .map(filed))
    }

    /// The issue's state (GraphQL has no `ETag`: one small query a ticket).
    pub async fn poll(&self, id: &str) -> Result<Polled, OutsideError> {
        match self.run(POLL, json!({ "id": id })).await {
            Ok(data) if data["issue"].is_null() => Ok(Polled::Gone),
            Ok(data) => Ok(Polled::State {
                closed: closed(&data["issue"]),
            }),
            Err(OutsideError::Permanent { reason, .. })
                if reason.to_ascii_lowercase().contains("not found") =>
            {
                Ok(Polled::Gone)
            }
            Err(e) => Err(e),
        }
    }
}

fn closed(issue: &Value) -> bool {
    matches!(
        issue["state"]["type"].as_str(),
        Some("completed" | "canceled")
    )
}

fn filed(issue: &Value) -> Filed {
    Filed {
        reference: issue["id"].as_str().unwrap_or_default().to_string(),
        name: issue["identifier"].as_str().unwrap_or_default().to_string(),
        url: issue["url"].as_str().map(str::to_string),
        closed: closed(issue),
    }
}

/// An `Issue` `update` whose workflow state moved is news. A delivery older than a minute is
/// refused as a replay.
pub(super) fn read_webhook<'h>(
    secret: &str,
    team: &str,
    header: &dyn Fn(&str) -> Option<&'h str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Option<TicketNews>, Refused> {
    if !signed(secret, header("linear-signature"), body, false) {
        return Err(Refused::Unauthorized("missing or wrong Linear-Signature"));
    }
    let v = json(body)?;
    let sent = v["webhookTimestamp"].as_i64().unwrap_or_default();
    if (now.timestamp_millis() - sent).abs() > MAX_WEBHOOK_AGE_MS {
        return Err(Refused::Unauthorized(
            "webhookTimestamp is more than a minute away: a replay",
        ));
    }
    if v["type"].as_str() != Some("Issue") || v["action"].as_str() != Some("update") {
        return Ok(None);
    }
    if v["updatedFrom"]["stateId"].is_null() {
        return Ok(None);
    }
    let data = &v["data"];
    let team_of = data["teamId"].as_str().or(data["team"]["id"].as_str());
    if team_of.is_some_and(|t| t != team) {
        return Ok(None);
    }
    let Some(id) = data["id"].as_str() else {
        return Err(Refused::Invalid("an Issue event without data.id".into()));
    };
    Ok(Some(TicketNews {
        tracker: Tracker::Linear,
        reference: id.to_string(),
        closed: closed(data),
        by: v["actor"]["name"].as_str().map(str::to_string),
        delivery: header("linear-delivery").map(str::to_string),
    }))
}
