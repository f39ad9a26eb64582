//! Atlassian Statuspage, REST API v1: the page's components, and the public incident created
//! and updated from the status-page form (`Authorization: OAuth <api key>`).
//!
//! Statuspage has no idempotency key. The incident we create carries our job's key in its
//! `metadata` (`incident_commander.key`), so an attempt after an unknown outcome (a timeout, a
//! lost answer) first looks among the page's newest incidents for one with that key and
//! adopts it instead of creating a second. Updates name the incident by its id and set absolute
//! values (status, components), so repeating one changes nothing more.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use super::{Client, OutsideError};
use crate::domain::outside::Publication;

const SYSTEM: &str = "statuspage";

/// A component of the page.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Component {
    pub id: String,
    pub name: String,
    pub status: String,
    /// Component groups are listed as components too; they cannot be set.
    #[serde(default)]
    pub group: bool,
}

/// The public incident, as far as we need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub id: String,
    pub url: Option<String>,
    pub status: String,
}

/// The Statuspage client for one page.
#[derive(Clone, Debug)]
pub struct StatuspageApi {
    client: Client,
    base: Url,
    page: String,
    key: SecretString,
}

impl StatuspageApi {
    pub fn new(client: Client, base: Url, page: String, key: SecretString) -> StatuspageApi {
        StatuspageApi {
            client,
            base,
            page,
            key,
        }
    }

    fn url(&self, rest: &str) -> String {
        format!(
            "{}/pages/{}/{rest}",
            self.base.as_str().trim_end_matches('/'),
            self.page
        )
    }

    async fn call(
        &self,
        method: reqwest::Method,
        rest: &str,
        body: Option<Value>,
    ) -> Result<Value, OutsideError> {
        let mut request = self.client.http().request(method, self.url(rest)).header(
            reqwest::header::AUTHORIZATION,
            format!("OAuth {}", self.key.expose_secret()),
        );
        if let Some(body) = body {
            request = request.json(&body);
        }
        let text = self
            .client
            .exchange(SYSTEM, request, str::to_string)
            .await?;
        serde_json::from_str(&text).map_err(|e| OutsideError::Permanent {
            system: SYSTEM,
            reason: format!("an answer that is not JSON: {e}"),
        })
    }

    /// The page's components that can be set (not groups), in the page's order.
    pub async fn components(&self) -> Result<Vec<Component>, OutsideError> {
        let v = self.call(reqwest::Method::GET, "components", None).await?;
        let all: Vec<Component> =
            serde_json::from_value(v).map_err(|e| OutsideError::Permanent {
                system: SYSTEM,
                reason: format!("unreadable components: {e}"),
            })?;
        Ok(all.into_iter().filter(|c| !c.group).collect())
    }

    /// The incident we created under `key`, if an earlier attempt did create it: among the
    /// page's newest incidents, resolved or not (a first publication may resolve at once).
    pub async fn find(&self, key: &str) -> Result<Option<Published>, OutsideError> {
        let v = self.call(reqwest::Method::GET, "incidents", None).await?;
        Ok(v.as_array()
            .into_iter()
            .flatten()
            .find(|i| i["metadata"]["incident_commander"]["key"].as_str() == Some(key))
            .map(published))
    }

    /// Creates the public incident, marked with `key`.
    pub async fn create(&self, p: &Publication, key: &str) -> Result<Published, OutsideError> {
        let mut incident = incident_body(p);
        incident["metadata"] = json!({ "incident_commander": { "key": key } });
        let v = self
            .call(
                reqwest::Method::POST,
                "incidents",
                Some(json!({ "incident": incident })),
            )
            .await?;
        Ok(published(&v))
    }

    /// Updates the public incident `id`.
    pub async fn update(&self, id: &str, p: &Publication) -> Result<Published, OutsideError> {
        let v = self
            .call(
                reqwest::Method::PATCH,
                &format!("incidents/{id}"),
                Some(json!({ "incident": incident_body(p) })),
            )
            .await?;
        Ok(published(&v))
    }
}

fn incident_body(p: &Publication) -> Value {
    let components: serde_json::Map<String, Value> = p
        .components
        .iter()
        .map(|(id, state)| (id.clone(), json!(state)))
        .collect();
    json!({
        "name": p.title,
        "status": p.status,
        "body": p.message,
        "component_ids": p.components.iter().map(|(id, _)| id).collect::<Vec<_>>(),
        "components": components,
        "deliver_notifications": true,
    })
}

fn published(v: &Value) -> Published {
    Published {
        id: v["id"].as_str().unwrap_or_default().to_string(),
        url: v["shortlink"].as_str().map(str::to_string),
        status: v["status"].as_str().unwrap_or_default().to_string(),
    }
}
