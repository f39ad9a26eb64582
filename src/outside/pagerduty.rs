//! PagerDuty: pages go out through the Events API v2, news comes back through v3 webhooks.
//!
//! - **Out** ([`PagerDutyApi::send`]): `POST` an event (`trigger` or `resolve`) with the
//!   service's routing key and the incident's dedup key for that service
//!   (`domain::outside::page_key`). PagerDuty keeps every event with one dedup key as one
//!   incident while it is open, so a retry — after a timeout, a lost answer, a crash — is the
//!   same page, never a second one: the dedup key is the call's idempotency key. It answers 202;
//!   400 is a refusal (reported), 429 and 5xx are retried.
//! - **In** ([`verify`], [`read_webhook`]): a v3 webhook carries `X-PagerDuty-Signature:
//!   v1=<hex>[,v1=<hex>…]`, the HMAC-SHA256 of the raw body with the subscription's secret (several
//!   while a secret is rotated: any one may match). Its `event` names the incident by
//!   `data.incident_key`, the dedup key we sent.

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use super::{Client, OutsideError};
use crate::domain::Severity;
use crate::domain::outside::{PageEvent, PageNews};

const SYSTEM: &str = "pagerduty";

/// The longest `payload.summary` PagerDuty takes.
const MAX_SUMMARY_CHARS: usize = 1024;

/// What to ask of PagerDuty about a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventAction {
    Trigger,
    Resolve,
}

/// A page to send (a trigger) or to close (a resolve).
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub action: EventAction,
    pub routing_key: &'a SecretString,
    pub dedup_key: &'a str,
    /// The incident's reference and title, and the message if somebody wrote one.
    pub summary: String,
    pub severity: Severity,
    /// Where the page comes from: the incident (`INC-7`).
    pub source: String,
    /// The incident channel, for the responder's phone.
    pub link: Option<(String, String)>,
    pub details: Value,
}

/// The Events API v2 client.
#[derive(Clone, Debug)]
pub struct PagerDutyApi {
    client: Client,
    url: Url,
}

impl PagerDutyApi {
    pub fn new(client: Client, url: Url) -> PagerDutyApi {
        PagerDutyApi { client, url }
    }

    /// Sends `event`; `Ok` once PagerDuty accepted it (202).
    pub async fn send(&self, event: &Event<'_>) -> Result<(), OutsideError> {
        let request = self
            .client
            .http()
            .post(self.url.clone())
            .json(&event_body(event));
        self.client
            .exchange(SYSTEM, request, refusal)
            .await
            .map(drop)
    }
}

/// The JSON of an event, as the Events API v2 takes it.
pub fn event_body(event: &Event<'_>) -> Value {
    let key = event.routing_key.expose_secret();
    match event.action {
        EventAction::Resolve => json!({
            "routing_key": key,
            "event_action": "resolve",
            "dedup_key": event.dedup_key,
        }),
        EventAction::Trigger => {
            let summary: String = event.summary.chars().take(MAX_SUMMARY_CHARS).collect();
            let mut body = json!({
                "routing_key": key,
                "event_action": "trigger",
                "dedup_key": event.dedup_key,
                "client": "incident-commander",
                "payload": {
                    "summary": summary,
                    "source": event.source,
                    "severity": severity(event.severity),
                    "custom_details": event.details,
                },
            });
            if let Some((href, text)) = &event.link {
                body["links"] = json!([{ "href": href, "text": text }]);
                body["client_url"] = json!(href);
            }
            body
        }
    }
}

/// Our severity in PagerDuty's words: the most severe level is `critical` (a high-urgency
/// page), the next `error`, then `warning`, and anything lower `info`.
pub fn severity(severity: Severity) -> &'static str {
    match severity.as_key().as_str() {
        "sev1" => "critical",
        "sev2" => "error",
        "sev3" => "warning",
        _ => "info",
    }
}

/// What PagerDuty said when it refused an event: its `message` and `errors`, not the echo of
/// what we sent (which held the routing key).
fn refusal(body: &str) -> String {
    match serde_json::from_str::<Value>(body) {
        Ok(v) => {
            let message = v["message"].as_str().unwrap_or_default();
            let errors: Vec<&str> = v["errors"]
                .as_array()
                .map(|e| e.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if errors.is_empty() {
                message.to_string()
            } else {
                format!("{message} ({})", errors.join("; "))
            }
        }
        Err(_) => body.chars().take(200).collect(),
    }
}

/// Whether `header` (`X-PagerDuty-Signature`) holds a `v1=` signature of `body` made with
/// `secret`. A missing or malformed header is no.
/// The body is signed once and compared with each candidate in constant time; a header with
/// more than [`MAX_SIGNATURES`] candidates is refused (PagerDuty sends two while rotating).
pub fn verify(secret: &SecretString, header: Option<&str>, body: &[u8]) -> bool {
    let Some(header) = header else {
        return false;
    };
    let candidates: Vec<&str> = header
        .split(',')
        .filter_map(|sig| sig.trim().strip_prefix("v1="))
        .collect();
    if candidates.is_empty() || candidates.len() > MAX_SIGNATURES {
        return false;
    }
    let expected = super::hmac_sha256_hex(secret.expose_secret().as_bytes(), &[body]);
    candidates.iter().fold(false, |found, sig| {
        found | super::same(sig.as_bytes(), expected.as_bytes())
    })
}

/// The most `v1=` signatures one webhook may carry.
const MAX_SIGNATURES: usize = 8;

/// What a webhook says, when it is about a page: `Ok(None)` for an event of another kind (a
/// ping, a note, a priority change), which is answered 2xx and ignored.
pub fn read_webhook(body: &[u8]) -> Result<Option<PageNews>, String> {
    let hook: Webhook =
        serde_json::from_slice(body).map_err(|e| format!("not a PagerDuty v3 webhook: {e}"))?;
    let event = hook.event;
    let what = match event.event_type.as_str() {
        "incident.acknowledged" => PageEvent::Acknowledged,
        "incident.escalated" => PageEvent::Escalated,
        "incident.resolved" => PageEvent::Resolved,
        "incident.reassigned" => PageEvent::Reassigned,
        _ => return Ok(None),
    };
    let data = event
        .data
        .ok_or_else(|| format!("{} has no data", event.event_type))?;
    let key = data
        .incident_key
        .ok_or_else(|| format!("{} names no incident_key", event.event_type))?;
    Ok(Some(PageNews {
        event_id: event.id,
        what,
        key,
        by: event.agent.and_then(|a| a.summary),
        assignees: data
            .assignees
            .unwrap_or_default()
            .into_iter()
            .filter_map(|a| a.summary)
            .collect(),
        at: event.occurred_at,
        url: data.html_url,
    }))
}

#[derive(Deserialize)]
struct Webhook {
    event: WebhookEvent,
}

#[derive(Deserialize)]
struct WebhookEvent {
    id: String,
    event_type: String,
    occurred_at: DateTime<Utc>,
    #[serde(default)]
    agent: Option<Reference>,
    #[serde(default)]
    data: Option<IncidentData>,
}

#[derive(Deserialize)]
struct Reference {
    #[serde(default)]
    summary: Option<String>,
}

#[derive(Deserialize)]
struct IncidentData {
    #[serde(default)]
    incident_key: Option<String>,
    #[serde(default)]
    html_url: Option<String>,
    #[serde(default)]
    assignees: Option<Vec<Reference>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_string())
    }

    #[test]
    fn any_listed_v1_signature_verifies_and_nothing_else_does() {
        let body = br#"{"event":{}}"#;
        let good = crate::outside::hmac_sha256_hex(b"new-secret-0123456", &[body]);
        let old = crate::outside::hmac_sha256_hex(b"old-secret-0123456", &[body]);
        let s = secret("new-secret-0123456");
        assert!(verify(&s, Some(&format!("v1={good}")), body));
        assert!(verify(&s, Some(&format!("v1={old},v1={good}")), body));
        assert!(!verify(&s, Some(&format!("v1={old}")), body));
        assert!(!verify(&s, Some(&format!("v2={good}")), body));
        assert!(!verify(&s, None, body));
        assert!(!verify(
            &s,
            Some(&format!("v1={good}")),
            br#"{"event":{} }"#
        ));
    }

    #[test]
    fn a_trigger_names_the_page_its_severity_and_the_channel() {
        let key = secret("R0123456789ABCDEF0123456789ABCDE");
        let body = event_body(&Event {
            action: EventAction::Trigger,
            routing_key: &key,
            dedup_key: "T1-INC-7-checkout",
            summary: "INC-7: Checkout is down".into(),
            severity: Severity::parse("sev1", 3).unwrap(),
            source: "INC-7".into(),
            link: Some((
                "https://slack.com/app_redirect?channel=C1".into(),
                "#inc-7".into(),
            )),
            details: json!({"severity": "SEV1"}),
        });
        assert_eq!(body["event_action"], "trigger");
        assert_eq!(body["dedup_key"], "T1-INC-7-checkout");
        assert_eq!(body["payload"]["severity"], "critical");
        assert_eq!(body["payload"]["summary"], "INC-7: Checkout is down");
        assert_eq!(body["links"][0]["text"], "#inc-7");
        let resolve = event_body(&Event {
            action: EventAction::Resolve,
            ..Event {
                action: EventAction::Trigger,
                routing_key: &key,
                dedup_key: "T1-INC-7-checkout",
                summary: String::new(),
                severity: Severity::parse("sev3", 3).unwrap(),
                source: String::new(),
                link: None,
                details: Value::Null,
            }
        });
        assert_eq!(
            resolve,
            json!({"routing_key": "R0123456789ABCDEF0123456789ABCDE", "event_action": "resolve", "dedup_key": "T1-INC-7-checkout"})
        );
    }

    #[test]
    fn a_refusal_is_told_without_what_we_sent() {
        let said = refusal(
            r#"{"status":"invalid event","message":"Event object is invalid","errors":["Length of 'routing_key' is incorrect (should be 32 characters)"]}"#,
        );
        assert_eq!(
            said,
            "Event object is invalid (Length of 'routing_key' is incorrect (should be 32 characters))"
        );
    }

    #[test]
    fn an_acknowledgement_reads_as_news_of_the_page_and_a_ping_as_nothing() {
        let body = json!({"event": {
            "id": "01BZ7A5Q8X", "event_type": "incident.acknowledged", "resource_type": "incident",
            "occurred_at": "2026-12-07T10:02:00.000Z",
            "agent": {"id": "PU1", "summary": "Dana Scully", "type": "user_reference"},
            "client": null,
            "data": {"id": "Q1", "type": "incident", "incident_key": "T1-INC-7-checkout",
                     "html_url": "https://acme.pagerduty.com/incidents/Q1", "status": "acknowledged",
                     "assignees": [{"id": "PU1", "summary": "Dana Scully", "type": "user_reference"}]}
        }});
        let news = read_webhook(body.to_string().as_bytes()).unwrap().unwrap();
        assert_eq!(news.what, PageEvent::Acknowledged);
        assert_eq!(news.key, "T1-INC-7-checkout");
        assert_eq!(news.by.as_deref(), Some("Dana Scully"));
        assert_eq!(news.assignees, vec!["Dana Scully".to_string()]);
        let ping = json!({"event": {"id": "1", "event_type": "pagey.ping", "resource_type": "pagey",
                                     "occurred_at": "2026-12-07T10:02:00Z", "data": {"message": "Hello"}}});
        assert_eq!(read_webhook(ping.to_string().as_bytes()), Ok(None));
        assert!(read_webhook(b"not json").is_err());
    }
}
