//! Our outgoing webhooks: every change on an incident's timeline that another system may act on
//! (declared, status, severity, roles, update, resolved, declined, reopened) is `POST`ed as JSON
//! to each of `WEBHOOK_URLS`, signed, with an idempotency key. The schema is documented in
//! docs/integrations.md and is stable: fields are added, never renamed.
//!
//! Headers: `Content-Type: application/json`; `Idempotency-Key: <event id>` — the same for
//! every attempt of one event, so a receiver drops a repeat; `X-Incident-Commander-Signature:
//! t=<unix seconds>,v1=<hex>` — the HMAC-SHA256 of `<t>.<body>` with `WEBHOOK_SECRET` (the
//! timestamp is signed, so a receiver can refuse an old signature replayed); and
//! `X-Incident-Commander-Event: <type>`.

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use url::Url;

use super::{Client, OutsideError};
use crate::domain::{Entry, Incident};

const SYSTEM: &str = "webhook";

/// The signature header.
pub const SIGNATURE_HEADER: &str = "X-Incident-Commander-Signature";
/// The event type header.
pub const EVENT_HEADER: &str = "X-Incident-Commander-Event";

/// The event type of a timeline entry, for the entries that are sent.
pub fn event_type(entry: &Entry) -> Option<&'static str> {
    Some(match entry {
        Entry::Declared { .. } => "incident.declared",
        Entry::StatusChanged { .. } => "incident.status_changed",
        Entry::SeverityChanged { .. } => "incident.severity_changed",
        Entry::RoleAssigned { .. } | Entry::RoleHandedOver { .. } | Entry::RoleReleased { .. } => {
            "incident.role_changed"
        }
        Entry::Update { .. } => "incident.updated",
        Entry::Resolved { .. } => "incident.resolved",
        Entry::Declined { .. } => "incident.declined",
        Entry::Reopened { .. } => "incident.reopened",
        _ => return None,
    })
}

/// The body of one event: what happened (`change`, the timeline entry as stored), who did it
/// and when, and the incident as it is when the event is sent.
pub fn body(
    id: &str,
    kind: &str,
    at: DateTime<Utc>,
    actor: Option<&str>,
    change: &Entry,
    incident: &Incident,
) -> Value {
    json!({
        "id": id,
        "type": kind,
        "occurred_at": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "actor": actor.map(|user| json!({ "slack_user_id": user })),
        "change": change.to_stored(),
        "incident": {
            "id": incident.id,
            "number": incident.number,
            "reference": incident.reference(),
            "title": incident.title,
            "severity": incident.severity.as_key(),
            "status": incident.status.as_str(),
            "private": incident.private,
            "summary": incident.summary,
            "channel_id": incident.channel_id,
            "declared_by": incident.declared_by,
            "declared_at": incident.declared_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "resolved_at": incident.resolved_at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            "roles": incident.roles.iter().map(|(role, user)| (role.to_string(), Value::from(user.clone()))).collect::<serde_json::Map<_, _>>(),
        },
    })
}

/// The signature header's value for `body` sent at `t`.
pub fn signature(secret: &SecretString, t: i64, body: &[u8]) -> String {
    let stamp = t.to_string();
    let v1 = super::hmac_sha256_hex(
        secret.expose_secret().as_bytes(),
        &[stamp.as_bytes(), b".", body],
    );
    format!("t={t},v1={v1}")
}

/// Sends one event to `url`, signed at `now`; any 2xx is delivered.
pub async fn send(
    client: &Client,
    url: &Url,
    secret: &SecretString,
    id: &str,
    kind: &str,
    body: &Value,
    now: DateTime<Utc>,
) -> Result<(), OutsideError> {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let request = client
        .http()
        .post(url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("Idempotency-Key", id)
        .header(EVENT_HEADER, kind)
        .header(SIGNATURE_HEADER, signature(secret, now.timestamp(), &bytes))
        .body(bytes);
    client
        .exchange(SYSTEM, request, str::to_string)
        .await
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_covers_the_timestamp_and_the_body() {
        let secret = SecretString::from("0123456789abcdef".to_string());
        let sig = signature(&secret, 1_700_000_000, b"{}");
        let v1 = sig.strip_prefix("t=1700000000,v1=").expect("format");
        assert!(crate::outside::hmac_sha256_verify(
            b"0123456789abcdef",
            b"1700000000.{}",
            v1
        ));
        assert_ne!(sig, signature(&secret, 1_700_000_001, b"{}"));
    }
}
