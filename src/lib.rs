//! # incident-commander
//!
//! A Slack app, run as one self-hosted binary in Socket Mode, that runs a team's incident process:
//! `/inc declare` opens a channel per incident, staffs the roles, announces it, and records every
//! change in a timeline. See `ARCHITECTURE.md` for the map; this is the short tour.
//!
//! | module | what it is | what it must not do |
//! |---|---|---|
//! | [`domain`] | incidents, statuses, severities, roles, the `/inc` grammar, channel names, what the bot says | any I/O; read a clock |
//! | [`app`] | use cases and the job worker: decide the ack, record, make it true in Slack | name slack-morphism types; hold SQL |
//! | [`slack`] | the only module that speaks slack-morphism: Socket Mode listener, Web API client, Block Kit | touch the database; decide policy |
//! | [`store`] | one `Store` type over SQLite or PostgreSQL, the two sharing their SQL | know about Slack |
//! | [`http`] | the HTTP side: `/healthz`, `/readyz`, `/metrics`, the alert intake | touch the store or Slack (it asks `app` through a port) |
//! | [`outside`] | the adapters of the systems outside Slack: PagerDuty, Statuspage, our webhooks; one HTTP client | touch the database; decide policy |
//! | [`manifest`] | the Slack app manifest, generated from the features and the scopes `slack` declares | |
//! | [`config`] | typed settings from the environment, secrets redacted | (the only reader of the environment) |
//! | [`demo`] | `incident-commander demo`: a scripted incident against the simulator (the `slack-simulator` crate, in the default `demo` feature) | be needed by anything else |
//! | [`telemetry`] | tracing setup | log tokens or message bodies |
//! | [`tokens`] | Slack tokens sealed at rest (XChaCha20-Poly1305), opened with the current or previous key | show a token, a key or a sealed value in `Debug` or an error |

#![forbid(unsafe_code)]
// The docs are built with --document-private-items (.ci/run): module tours link to private items.
#![allow(rustdoc::private_intra_doc_links)]

pub mod app;
pub mod config;
#[cfg(feature = "demo")]
pub mod demo;
pub mod domain;
pub mod http;
pub mod manifest;
pub mod outside;
pub mod slack;
pub mod store;
pub mod telemetry;
pub mod tokens;

/// Installs rustls' ring provider as the process default. Dependencies may enable more than one
/// provider, and rustls then refuses to pick one on its own (the first `wss://` connect would
/// panic); call this first thing in `main` and in tests. Calling it twice is harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
