//! Logging: a `tracing` subscriber with the configured filter, pretty for people or JSON for log
//! pipelines. Spans and fields never carry tokens or message bodies (`slack::api` logs method
//! names only; `Settings`' `Debug` redacts secrets).

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, Settings};

/// Installs the global subscriber. A second call (tests) is a harmless no-op.
pub fn init(settings: &Settings) {
    init_with(&settings.log_filter, settings.log_format);
}

pub fn init_with(filter: &str, format: LogFormat) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
