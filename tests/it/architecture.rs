//! The architecture's invariants (ARCHITECTURE.md), checked by reading the source: a change that
//! breaks one fails `cargo test`, not a code review.

use std::fs;
use std::path::{Path, PathBuf};

fn sources(dir: &str) -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
        for entry in fs::read_dir(dir).expect("read src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = fs::read_to_string(&path).expect("read file");
                out.push((path, text));
            }
        }
    }
    let mut out = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join(dir), &mut out);
    assert!(!out.is_empty(), "no sources under {dir}");
    out
}

fn rel(path: &Path) -> String {
    path.strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Lines that are code, not comments.
fn code_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter(|l| {
        let t = l.trim_start();
        !t.starts_with("//")
    })
}

fn offenders(dir: &str, skip: impl Fn(&str) -> bool, needles: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for (path, text) in sources(dir) {
        let name = rel(&path);
        if skip(&name) {
            continue;
        }
        for line in code_lines(&text) {
            for needle in needles {
                if line.contains(needle) {
                    found.push(format!("{name}: {}", line.trim()));
                }
            }
        }
    }
    found
}

#[test]
fn the_domain_performs_no_io_and_reads_no_clock() {
    let found = offenders(
        "src/domain",
        |_| false,
        &[
            "sqlx",
            "slack_morphism",
            "tokio",
            "axum",
            "hyper",
            "std::fs",
            "std::net",
            "std::env",
            "std::process",
            "Utc::now",
            "Local::now",
            "SystemTime",
            "Instant::now",
            "crate::store",
            "crate::slack",
            "crate::app",
        ],
    );
    assert!(
        found.is_empty(),
        "the domain must stay pure:\n{}",
        found.join("\n")
    );
}

#[test]
fn only_the_slack_adapter_names_slack_morphism() {
    let found = offenders("src", |f| f.starts_with("src/slack/"), &["slack_morphism"]);
    assert!(
        found.is_empty(),
        "slack-morphism outside src/slack:\n{}",
        found.join("\n")
    );
}

#[test]
fn only_the_config_module_reads_the_environment() {
    let found = offenders(
        "src",
        |f| f == "src/config.rs",
        &[
            "std::env::var",
            "env::var(",
            "env::vars",
            "dotenvy",
            "env!(",
            "option_env!(",
        ],
    );
    assert!(
        found.is_empty(),
        "environment read outside src/config.rs:\n{}",
        found.join("\n")
    );
}

#[test]
fn only_one_clock_is_read() {
    // (The simulator, a crate of its own, plays Slack, whose clock is not ours.)
    let found = offenders(
        "src",
        |f| f == "src/app/clock.rs",
        &["Utc::now", "Local::now", "SystemTime::now"],
    );
    assert!(
        found.is_empty(),
        "clock read outside src/app/clock.rs:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_simulator_is_a_crate_of_its_own_that_knows_nothing_of_the_bot() {
    // Cargo keeps the simulator from using the bot's code: it is another crate, which does not
    // depend on this one. Nor may it depend on the bot's Slack client, or a serialisation
    // mistake could hide on both sides of the wire at once.
    let manifest = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/slack-simulator/Cargo.toml"),
    )
    .expect("the simulator's Cargo.toml");
    let dependencies = manifest
        .split("[dependencies]")
        .nth(1)
        .and_then(|rest| rest.split("\n[").next())
        .expect("a [dependencies] table")
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    for forbidden in ["incident-commander", "slack-morphism"] {
        assert!(
            !dependencies.contains(forbidden),
            "the simulator depends on {forbidden}"
        );
    }
    // The product uses it only for the demo.
    let found = offenders("src", |f| f == "src/demo.rs", &["slack_simulator"]);
    assert!(
        found.is_empty(),
        "the simulator is used outside the demo:\n{}",
        found.join("\n")
    );
}

#[test]
fn sql_is_never_assembled_with_format() {
    let found = offenders(
        "src/store",
        |_| false,
        &[
            "AssertSqlSafe",
            "format!(\"SELECT",
            "format!(\"INSERT",
            "format!(\"UPDATE",
        ],
    );
    assert!(
        found.is_empty(),
        "SQL must be static text with bound parameters:\n{}",
        found.join("\n")
    );
}

#[test]
fn every_module_says_what_it_is() {
    let missing: Vec<String> = sources("src")
        .into_iter()
        .filter(|(_, text)| !text.trim_start().starts_with("//!"))
        .map(|(path, _)| rel(&path))
        .collect();
    assert!(
        missing.is_empty(),
        "modules without a //! header: {missing:?}"
    );
}

#[test]
fn the_http_side_asks_the_application_through_its_port() {
    let found = offenders(
        "src/http",
        |_| false,
        &[
            "crate::store",
            "crate::slack",
            "crate::app",
            "sqlx",
            "slack_morphism",
        ],
    );
    assert!(
        found.is_empty(),
        "src/http is an adapter: it reaches the application only through http::Operations:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_job_key_table_in_architecture_md_is_the_types() {
    let doc = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("ARCHITECTURE.md"))
        .expect("ARCHITECTURE.md");
    let table = incident_commander::domain::cause::JobKey::table();
    assert!(
        doc.contains(&table),
        "ARCHITECTURE.md's job key table differs from domain::cause::JobKey::table(); paste:\n{table}"
    );
}

/// The parts of `src/app/` (a file, or a folder taken as one) and the parts each one names.
fn app_imports() -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/app");
    let mut parts = std::collections::BTreeMap::new();
    for entry in fs::read_dir(&root).expect("read src/app") {
        let path = entry.expect("entry").path();
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("a name")
            .to_string();
        if name != "mod" {
            parts.insert(name, path);
        }
    }
    let names: std::collections::BTreeSet<String> = parts.keys().cloned().collect();
    let mut imports = std::collections::BTreeMap::new();
    for (name, path) in &parts {
        let files = if path.is_dir() {
            sources(&rel(path))
        } else {
            vec![(path.clone(), fs::read_to_string(path).expect("read"))]
        };
        let mut named = std::collections::BTreeSet::new();
        for (file, text) in files {
            // `super::` reaches the app's parts from a file directly under src/app/ or from a
            // folder's mod.rs; deeper, only `crate::app::` does.
            let at_top = file.parent() == Some(root.as_path()) || file.ends_with("mod.rs");
            let code: String = code_lines(&text).collect::<Vec<_>>().join("\n");
            let mut prefixes = vec!["crate::app::"];
            if at_top {
                prefixes.push("super::");
            }
            for prefix in prefixes {
                for (at, _) in code.match_indices(prefix) {
                    let rest = &code[at + prefix.len()..];
                    let items: Vec<&str> = match rest.strip_prefix('{') {
                        Some(group) => group[..group.find('}').unwrap_or(group.len())]
                            .split(',')
                            .collect(),
                        None => vec![rest],
                    };
                    for item in items {
                        let word: String = item
                            .trim()
                            .chars()
                            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                            .collect();
                        if names.contains(&word) && &word != name {
                            named.insert(word);
                        }
                    }
                }
            }
        }
        imports.insert(name.clone(), named);
    }
    imports
}

#[test]
fn no_two_parts_of_the_application_import_each_other() {
    let imports = app_imports();
    assert!(
        imports["interactions"].contains("changes") && imports["commands"].contains("steps"),
        "the reading of imports finds what is there: {imports:?}"
    );
    // Any cycle, however long, is found by walking from each part.
    fn walk<'a>(
        imports: &'a std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
        at: &'a str,
        path: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| *p == at) {
            let mut cycle: Vec<String> = path[i..].iter().map(|p| p.to_string()).collect();
            cycle.push(at.to_string());
            return Some(cycle);
        }
        path.push(at);
        for next in imports.get(at).into_iter().flatten() {
            if let Some(cycle) = walk(imports, next, path) {
                return Some(cycle);
            }
        }
        path.pop();
        None
    }
    for part in imports.keys() {
        if let Some(cycle) = walk(&imports, part, &mut Vec::new()) {
            panic!("parts of src/app/ import each other: {}", cycle.join(" → "));
        }
    }
}

#[test]
fn the_code_map_in_architecture_md_matches_the_folders() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let map = fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let mut missing = Vec::new();
    for dir in [
        "src/app",
        "src/slack",
        "src/store",
        "src/http",
        "src/domain",
    ] {
        for entry in fs::read_dir(root.join(dir)).expect("read dir") {
            let path = entry.expect("entry").path();
            let name = path.file_name().and_then(|s| s.to_str()).expect("a name");
            let stem = name.trim_end_matches(".rs");
            if stem == "mod" || stem == "tests" {
                continue;
            }
            let named = [
                format!("`{stem}`"),
                format!("`{stem}.rs`"),
                format!("`{stem}/`"),
                format!("`{dir}/{name}`"),
            ]
            .iter()
            .any(|n| map.contains(n.as_str()));
            if !named {
                missing.push(format!("{dir}/{name}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md's code map does not name: {missing:?}"
    );
    // And every file or folder a map bullet names under `### `src/<dir>/`` exists.
    let mut dir = None;
    let mut gone = Vec::new();
    for line in map.lines() {
        if let Some(heading) = line.strip_prefix("### `") {
            dir = heading
                .split('`')
                .next()
                .filter(|d| d.starts_with("src/") && d.ends_with('/'))
                .map(str::to_string);
            continue;
        }
        if line.starts_with("## ") {
            dir = None;
        }
        let (Some(dir), Some(rest)) = (&dir, line.strip_prefix("- `")) else {
            continue;
        };
        let name = rest.split('`').next().unwrap_or_default();
        if (name.ends_with(".rs") || name.ends_with('/')) && !root.join(dir).join(name).exists() {
            gone.push(format!("{dir}{name}"));
        }
    }
    assert!(gone.is_empty(), "the code map names what is gone: {gone:?}");
}
