//! The Slack app manifest is code (`src/manifest.rs`): the copy in `manifests/slack-app.yaml`
//! stays equal to `incident-commander manifest`, every Web API call in `src/slack/` declares its
//! scopes in `slack::scopes`, and every integration test runs with exactly the manifest's scopes
//! granted (`helpers::spawn_app`), so a call whose scope the manifest lacks fails there as it
//! would in a real workspace.

use std::fs;
use std::path::Path;

use incident_commander::manifest::{self, FEATURES};
use incident_commander::slack::scopes::{APP_METHODS, BOT_METHODS};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_manifest_file_is_what_incident_commander_manifest_prints() {
    let file = fs::read_to_string(root().join("manifests/slack-app.yaml")).expect("manifest");
    assert!(
        file == manifest::render(&FEATURES),
        "manifests/slack-app.yaml is out of date: run `cargo run -- manifest > manifests/slack-app.yaml`"
    );
}

/// The `.rs` files under `dir`, its folders included.
fn rust_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).expect("a source folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// Every `.call("<method>", …)` in `src/slack/`.
fn methods_called() -> Vec<(String, String)> {
    let mut found = Vec::new();
    for path in rust_files(&root().join("src/slack")) {
        let source = fs::read_to_string(&path).expect("source");
        // Code only: comments may quote the pattern.
        let text: String = source
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let mut rest = text.as_str();
        while let Some(at) = rest.find(".call(") {
            rest = &rest[at + ".call(".len()..];
            let trimmed = rest.trim_start();
            if let Some(literal) = trimmed.strip_prefix('"') {
                let method = &literal[..literal.find('"').expect("closing quote")];
                let file = path
                    .file_name()
                    .expect("name")
                    .to_string_lossy()
                    .to_string();
                found.push((file, method.to_string()));
            }
        }
    }
    assert!(found.len() >= 10, "the scan found too few calls: {found:?}");
    found
}

#[test]
fn every_slack_call_declares_its_scopes_and_no_declaration_is_stale() {
    let called = methods_called();
    let declared: Vec<&str> = BOT_METHODS
        .iter()
        .map(|(m, _)| *m)
        .chain(APP_METHODS.iter().map(|(m, _)| *m))
        .collect();
    let undeclared: Vec<String> = called
        .iter()
        .filter(|(_, m)| !declared.contains(&m.as_str()))
        .map(|(f, m)| format!("{m} (src/slack/{f})"))
        .collect();
    assert!(
        undeclared.is_empty(),
        "Slack calls without their scopes in src/slack/scopes.rs: {undeclared:?}"
    );
    let stale: Vec<&&str> = declared
        .iter()
        .filter(|m| !called.iter().any(|(_, c)| c == *m))
        .collect();
    assert!(stale.is_empty(), "declared but never called: {stale:?}");
}

#[test]
fn the_manifest_asks_for_every_scope_a_call_needs_and_nothing_more() {
    let scopes = manifest::bot_scopes(&FEATURES);
    for (method, needed) in BOT_METHODS {
        for scope in *needed {
            assert!(scopes.contains(scope), "{method} needs {scope}");
        }
    }
    let yaml = manifest::render(&FEATURES);
    for scope in &scopes {
        assert!(yaml.contains(&format!("      - {scope}  # ")), "{scope}");
    }
    assert!(
        !yaml.contains("chat:write.public"),
        "the bot posts only where it is a member"
    );
}
