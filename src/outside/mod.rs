//! The adapters of the systems outside Slack — one file each: [`pagerduty`] (Events API v2 out,
//! v3 webhooks in), [`statuspage`] (its REST API v1), [`webhooks`] (our signed webhooks out),
//! and the follow-up trackers [`github`], [`gitlab`], [`jira`], [`linear`] behind one
//! [`tracker`] (tickets filed once, their state read back, their webhooks read).
//!
//! They share one HTTP client ([`Client`]: reqwest on rustls with the Slack client's roots, the
//! `OUTSIDE_TIMEOUT` on every call) and one way of failing ([`OutsideError`]): a timeout, a lost
//! answer, a 429 or a 5xx may succeed later (with the wait the other side asked for); anything
//! else will fail the same way again. The steps that call them (`app::steps::outside`) run as
//! durable jobs, so a transient failure is a retry with backoff and a permanent one is reported
//! in the incident's channel. Secrets reach a request header or a signature and nothing else:
//! errors carry the system's answer, never what we sent.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

pub mod github;
pub mod gitlab;
pub mod jira;
pub mod linear;
pub mod pagerduty;
pub mod statuspage;
pub mod tracker;
pub mod webhooks;

/// The one HTTP client for outside systems.
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
}

impl Client {
    /// A client whose every call gives up after `timeout`.
    pub fn new(timeout: Duration) -> Result<Client, std::io::Error> {
        let tls = (*crate::slack::api::tls_config()).clone();
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(format!("incident-commander/{}", crate::config::VERSION))
            .build()
            .map_err(std::io::Error::other)?;
        Ok(Client { http })
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Sends `request` to `system` and reads its answer: the body of a 2xx, or the failure
    /// classified ([`OutsideError::from_status`]) with what the system said, as `said` words it
    /// (PagerDuty's refusal echoes the routing key we sent; `said` keeps only its message).
    pub(crate) async fn exchange(
        &self,
        system: &'static str,
        request: reqwest::RequestBuilder,
        said: fn(&str) -> String,
    ) -> Result<String, OutsideError> {
        let (status, headers, text) = answer(system, request).await?;
        OutsideError::from_status(system, status, &headers, &said(&text))?;
        Ok(text)
    }
}

/// Sends `request` to `system` and reads the whole answer, whatever its status: the one place
/// a call that got no answer (or lost it halfway) becomes [`OutsideError::unanswered`].
pub(crate) async fn answer(
    system: &'static str,
    request: reqwest::RequestBuilder,
) -> Result<(StatusCode, HeaderMap, String), OutsideError> {
    let answer = request
        .send()
        .await
        .map_err(|e| OutsideError::unanswered(system, &e))?;
    let status = answer.status();
    let headers = answer.headers().clone();
    let text = answer
        .text()
        .await
        .map_err(|e| OutsideError::unanswered(system, &e))?;
    Ok((status, headers, text))
}

/// Why a call to an outside system did not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutsideError {
    /// Worth another try: no answer (a timeout, a refused or reset connection), a 429 or a 5xx.
    #[error("{system}: {reason}")]
    Transient {
        system: &'static str,
        reason: String,
        retry_after: Option<Duration>,
    },
    /// Will fail the same way again: the system refused what we sent (a 4xx), or its answer
    /// makes no sense.
    #[error("{system}: {reason}")]
    Permanent {
        system: &'static str,
        reason: String,
    },
}

impl OutsideError {
    /// A failure to get an answer at all: the request may or may not have been acted on.
    pub(crate) fn unanswered(system: &'static str, e: &reqwest::Error) -> OutsideError {
        let what = if e.is_timeout() {
            "no answer in time".to_string()
        } else if e.is_connect() {
            "cannot connect".to_string()
        } else {
            // reqwest's words without its URL: keep the message short.
            let mut words = e.to_string();
            if let Some(url) = e.url() {
                words = words.replace(&format!(" ({url})"), "");
            }
            format!("the request failed ({words})")
        };
        OutsideError::Transient {
            system,
            reason: what,
            retry_after: None,
        }
    }

    /// What an answer's status says: `Ok` for 2xx, else transient (429, 5xx, 408) or permanent.
    pub(crate) fn from_status(
        system: &'static str,
        status: StatusCode,
        headers: &HeaderMap,
        body: &str,
    ) -> Result<(), OutsideError> {
        if status.is_success() {
            return Ok(());
        }
        let said: String = body.chars().take(300).collect();
        let reason = format!("HTTP {}: {}", status.as_u16(), said.trim());
        if status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT
            || status.is_server_error()
            // Statuspage's "Enhance your calm": its rate limit, before it answered 429.
            || status.as_u16() == 420
        {
            return Err(OutsideError::Transient {
                system,
                reason,
                retry_after: retry_after(headers),
            });
        }
        Err(OutsideError::Permanent { system, reason })
    }
}

/// The longest wait an outside system may ask for: a receiver asking for more is retried then
/// (its events would otherwise wait behind it for as long as it says).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// `Retry-After` in seconds, when the answer carries it, at most [`MAX_RETRY_AFTER`].
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(|s| Duration::from_secs(s).min(MAX_RETRY_AFTER))
}

/// HMAC-SHA256 of `parts` (concatenated) with `secret`, hex: the signature scheme PagerDuty
/// uses for its webhooks and we use for ours.
pub fn hmac_sha256_hex(secret: &[u8], parts: &[&[u8]]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    for part in parts {
        mac.update(part);
    }
    hex::encode(mac.finalize().into_bytes())
}

/// Compares in time that depends on the lengths only, not on where the bytes differ.
pub fn same(given: &[u8], expected: &[u8]) -> bool {
    let mut diff = u8::from(given.len() != expected.len());
    for (i, e) in expected.iter().enumerate() {
        let g = given.get(i).copied().unwrap_or(0);
        diff |= std::hint::black_box(g ^ e);
    }
    diff == 0
}

/// Whether `signature` (hex) is the HMAC-SHA256 of `body` with `secret`, compared in constant
/// time.
pub fn hmac_sha256_verify(secret: &[u8], body: &[u8], signature: &str) -> bool {
    use hmac::{Hmac, Mac};
    let Ok(expected) = hex::decode(signature.trim()) else {
        return false;
    };
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_equal_only_when_equal() {
        assert!(same(b"0123456789abcdef", b"0123456789abcdef"));
        assert!(!same(b"0123456789abcdeF", b"0123456789abcdef"));
        assert!(!same(b"0123456789abcde", b"0123456789abcdef"));
        assert!(!same(b"0123456789abcdef0", b"0123456789abcdef"));
        assert!(!same(b"", b"0123456789abcdef"));
    }

    #[test]
    fn a_signature_verifies_with_its_secret_only() {
        let sig = hmac_sha256_hex(b"secret", &[b"body"]);
        assert!(hmac_sha256_verify(b"secret", b"body", &sig));
        assert!(!hmac_sha256_verify(b"other", b"body", &sig));
        assert!(!hmac_sha256_verify(b"secret", b"body!", &sig));
        assert!(!hmac_sha256_verify(b"secret", b"body", "not hex"));
    }

    #[test]
    fn rate_limits_and_server_errors_are_worth_another_try_and_refusals_are_not() {
        let mut headers = HeaderMap::new();
        headers.insert(reqwest::header::RETRY_AFTER, "7".parse().unwrap());
        let e = OutsideError::from_status("pagerduty", StatusCode::TOO_MANY_REQUESTS, &headers, "")
            .unwrap_err();
        assert!(
            matches!(e, OutsideError::Transient { retry_after: Some(d), .. } if d == Duration::from_secs(7))
        );
        for status in [500, 502, 503, 504] {
            let status = StatusCode::from_u16(status).unwrap();
            let e = OutsideError::from_status("x", status, &HeaderMap::new(), "").unwrap_err();
            assert!(matches!(e, OutsideError::Transient { .. }), "{status}");
        }
        for status in [400, 401, 403, 404, 422] {
            let status = StatusCode::from_u16(status).unwrap();
            let e = OutsideError::from_status("x", status, &HeaderMap::new(), "no").unwrap_err();
            assert!(matches!(e, OutsideError::Permanent { .. }), "{status}");
        }
        assert_eq!(
            OutsideError::from_status("x", StatusCode::ACCEPTED, &HeaderMap::new(), ""),
            Ok(())
        );
    }
}
