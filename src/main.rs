//! The `incident-commander` binary: parse the command line, load settings, run. Everything else
//! lives in the library; see `lib.rs` for the tour.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use incident_commander::app::{App, check, postmortem};
use incident_commander::config::{self, Settings};
#[cfg(feature = "demo")]
use incident_commander::demo;
use incident_commander::{http, manifest, store, telemetry};

#[derive(Parser)]
#[command(
    version,
    about = "Runs your incident process in Slack (Socket Mode, one binary)."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Connect to Slack and run (the default). Configured from the environment and .env.
    Serve,
    /// Play a scripted incident against a built-in Slack simulator; needs no configuration.
    /// (Left out of production builds: `--no-default-features`.)
    #[cfg(feature = "demo")]
    Demo,
    /// Create or update the database schema, then exit (needs only DATABASE_URL).
    Migrate,
    /// Check the configuration against Slack — tokens, announce channel, granted scopes — and
    /// print a checklist; exits non-zero if any check fails.
    Check,
    /// Print the Slack app manifest (paste it into api.slack.com/apps); needs no configuration.
    Manifest {
        /// For the HTTP transport (SLACK_TRANSPORT=http): the public root URL Slack sends
        /// requests to, e.g. https://bot.example.com (request URLs /slack/events, /slack/commands,
        /// /slack/interactivity). Without it, the manifest is for Socket Mode.
        #[arg(long, value_name = "URL")]
        http: Option<String>,
    },
    /// Print an incident's postmortem draft, rendered now from the database and Slack (the
    /// channel's current pins, people's names); --offline renders from the database alone,
    /// --saved prints the draft the last export saved.
    Postmortem {
        /// The incident: INC-42 or 42.
        incident: String,
        /// Write the draft to this file instead of printing it.
        #[arg(long, value_name = "FILE")]
        out: Option<std::path::PathBuf>,
        /// Use only the database (needs DATABASE_URL, not the Slack tokens); pins are as the
        /// bot last recorded them and marked as possibly stale.
        #[arg(long, conflicts_with = "saved")]
        offline: bool,
        /// Print the draft the last `/inc postmortem` saved, as it was uploaded.
        #[arg(long)]
        saved: bool,
    },
    /// Explain which rules of RULES_FILE match an incident described in words, and what they
    /// would do — e.g. --explain 'sev1 from alert service=checkout'. Touches nothing; needs only
    /// RULES_FILE (or --file) and, when rules page, PAGERDUTY_SERVICES.
    Rules {
        /// The incident: a severity, a status, private or public, `from alert|command|modal|
        /// shortcut`, labels as key=value, title="…".
        #[arg(long, value_name = "INCIDENT")]
        explain: String,
        /// The rules file to read instead of RULES_FILE.
        #[arg(long, value_name = "FILE")]
        file: Option<std::path::PathBuf>,
    },
    /// Ask the running process's GET /healthz (on HTTP_ADDR) and exit 0 if it answers 200: the
    /// container image's health check.
    Healthcheck,
}

#[tokio::main]
async fn main() -> ExitCode {
    incident_commander::install_crypto_provider();
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Cmd::Serve) {
        #[cfg(feature = "demo")]
        Cmd::Demo => demo::run(&mut std::io::stdout())
            .await
            .map_err(|e| e.to_string()),
        Cmd::Serve => serve().await,
        Cmd::Migrate => migrate().await,
        Cmd::Check => check().await,
        Cmd::Manifest { http } => match http.as_deref().map(manifest::request_base) {
            None => {
                print!("{}", manifest::render(&manifest::FEATURES));
                Ok(())
            }
            Some(Ok(base)) => {
                print!("{}", manifest::render_for(&manifest::FEATURES, Some(&base)));
                Ok(())
            }
            Some(Err(e)) => Err(e),
        },
        Cmd::Healthcheck => healthcheck().await,
        Cmd::Rules { explain, file } => explain_rules(&explain, file),
        Cmd::Postmortem {
            incident,
            out,
            offline,
            saved,
        } => print_postmortem(&incident, out, offline, saved).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(line) => {
            eprintln!("incident-commander: {line}");
            ExitCode::FAILURE
        }
    }
}

async fn serve() -> Result<(), String> {
    let stop = shutdown_signal();
    let settings = Settings::from_env().map_err(|e| e.to_string())?;
    telemetry::init(&settings);
    let app = App::build(settings).await.map_err(|e| e.to_string())?;
    app.run(stop).await.map_err(|e| e.to_string())
}

async fn migrate() -> Result<(), String> {
    let url = config::database_url_from_env().map_err(|e| e.to_string())?;
    let store = store::connect(&url).await.map_err(|e| e.to_string())?;
    println!("{} database is up to date", store.backend());
    Ok(())
}

async fn check() -> Result<(), String> {
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => {
            println!("[FAIL] {e}");
            return Err("check failed: the configuration is invalid".into());
        }
    };
    // Only warnings: the checklist is the output.
    telemetry::init_with("warn", settings.log_format);
    match check::run(&settings, &mut std::io::stdout()).await {
        0 => Ok(()),
        1 => Err("check failed: 1 check did not pass".into()),
        n => Err(format!("check failed: {n} checks did not pass")),
    }
}

async fn print_postmortem(
    incident: &str,
    out: Option<std::path::PathBuf>,
    offline: bool,
    saved: bool,
) -> Result<(), String> {
    let markdown = if saved || offline {
        let settings = config::draft_settings_from_env().map_err(|e| e.to_string())?;
        telemetry::init_with("warn", config::LogFormat::Pretty);
        let source = if saved {
            postmortem::Source::Saved(&settings.database_url)
        } else {
            postmortem::Source::Offline(&settings)
        };
        postmortem::for_cli(incident, source).await?
    } else {
        let settings = Settings::from_env().map_err(|e| e.to_string())?;
        telemetry::init_with("warn", settings.log_format);
        postmortem::for_cli(incident, postmortem::Source::Slack(&settings)).await?
    };
    match out {
        Some(path) => std::fs::write(&path, markdown)
            .map_err(|e| format!("cannot write {}: {e}", path.display())),
        None => {
            print!("{markdown}");
            Ok(())
        }
    }
}

fn explain_rules(query: &str, file: Option<std::path::PathBuf>) -> Result<(), String> {
    let rules = config::rules_from_env(file).map_err(|e| e.to_string())?;
    let text = rules
        .explain(query, incident_commander::domain::severity::DEFAULT_LEVELS)
        .map_err(|e| format!("--explain: {e}"))?;
    println!("{}", text.trim_end());
    Ok(())
}

async fn healthcheck() -> Result<(), String> {
    let addr = config::http_addr_from_env().map_err(|e| e.to_string())?;
    http::probe(addr).await
}

/// Resolves on SIGINT or SIGTERM. The handlers are installed when this is called, not when the
/// future is first polled: a signal that arrives while the app is still starting (connected and
/// answering, but not yet waiting on this) must stop it, not kill it.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    #[cfg(unix)]
    let int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
    async move {
        #[cfg(unix)]
        {
            let wait = |signal: Option<tokio::signal::unix::Signal>| async move {
                match signal {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = wait(term) => {}
                _ = wait(int) => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
