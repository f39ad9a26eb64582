//! Postmortem rendering: how long the built-in template takes to render a large incident — 100
//! pins (Slack's cap per channel) and 2,000 timeline events, with mentions, links and Markdown
//! syntax to escape — in a zone with DST. The target is 10 ms per render: the draft is built
//! inside a Slack interaction, next to a file upload that takes far longer.
//!
//! `cargo bench --bench postmortem [-- --iterations N --entries N --pins N]`. Each render is
//! timed alone (building the context included, parsing the template not: the app parses once).

mod common;
use common::arg;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use incident_commander::domain::postmortem::{
    Entry, FileRef, FollowUp, Person, Phase, Pin, PostmortemInput, RoleSpan, Template, render,
};

const TARGET: Duration = Duration::from_millis(10);

fn main() {
    let iterations = arg("--iterations").unwrap_or(300);
    let entries = arg("--entries").unwrap_or(2_000);
    let pins = arg("--pins").unwrap_or(100);
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let input = large_input(entries, pins);
    let tz = chrono_tz::Europe::Berlin;

    let started = Instant::now();
    let template = Template::builtin();
    let parse = started.elapsed();

    // Warm up allocator and caches; keep the size to report it.
    let mut size = 0;
    for _ in 0..10 {
        size = render(&input, &template, tz).expect("renders").len();
    }
    let mut samples: Vec<Duration> = (0..iterations)
        .map(|_| {
            let start = Instant::now();
            let out = render(&input, &template, tz).expect("renders");
            let took = start.elapsed();
            std::hint::black_box(out);
            took
        })
        .collect();
    samples.sort();
    let at = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let max = samples[samples.len() - 1];
    println!(
        "postmortem render: {pins} pins + {entries} entries → {:.0} KiB of Markdown, {cores} cores",
        size as f64 / 1024.0
    );
    println!("  parse built-in template  {:.2} ms", ms(parse));
    println!(
        "  render n={:<5} p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  max {:.2} ms  (target ≤ {} ms: {})",
        samples.len(),
        ms(at(0.50)),
        ms(at(0.90)),
        ms(at(0.99)),
        ms(max),
        TARGET.as_millis(),
        if at(0.99) <= TARGET { "met" } else { "MISSED" }
    );
}

/// One of the dozen people an incident involves.
fn person(i: usize) -> Person {
    let names = [
        "alice",
        "Bob Smith",
        "carol_ops",
        "Dana *on call*",
        "eve | sre",
    ];
    let i = i % 12;
    Person {
        id: format!("U{i:04}"),
        name: format!("{} {i}", names[i % names.len()]),
    }
}

/// A long incident: 2,000 events over three days across the DST change, 100 pins of alert and
/// chat text with mentions and links, a dozen role hand-overs, follow-ups.
fn large_input(entries: usize, pins: usize) -> PostmortemInput {
    let start: DateTime<Utc> = Utc.with_ymd_and_hms(2026, 3, 27, 20, 0, 0).unwrap();
    let step = TimeDelta::seconds(120);
    let kinds = ["update", "status", "role", "note", "severity"];
    PostmortemInput {
        reference: "INC-1234".into(),
        title: "Checkout is down | payments <failing> for *all* EU cards".into(),
        severity: "SEV1".into(),
        status: "resolved".into(),
        private: false,
        declared_at: start,
        declared_by: Some(person(1)),
        resolved_at: Some(start + step * entries as i32),
        first_coordinator_at: Some(start + TimeDelta::minutes(3)),
        summary: Some("Card payments failed.\nThe gateway's config was rolled back.".into()),
        impact: Some("# 12% of checkouts failed\n- EU only".into()),
        impact_started_at: None,
        impact_ended_at: None,
        channel: Some("#inc-1234-checkout-is-down".into()),
        source_link: Some("https://alerts.example/a/1234".into()),
        roles: (0..12)
            .map(|i| RoleSpan {
                role: ["Incident commander", "Communications", "Scribe"][i % 3].into(),
                person: person(i),
                from: start + TimeDelta::hours(i as i64 * 5),
                to: (i < 9).then(|| start + TimeDelta::hours(i as i64 * 5 + 15)),
            })
            .collect(),
        phases: ["investigating", "identified", "mitigating", "monitoring"]
            .iter()
            .enumerate()
            .map(|(i, status)| Phase {
                status: status.to_string(),
                from: start + TimeDelta::hours(i as i64 * 12),
                to: Some(start + TimeDelta::hours(i as i64 * 12 + 12)),
            })
            .collect(),
        entries: (0..entries)
            .map(|i| Entry {
                at: start + step * i as i32,
                who: (i % 7 != 0).then(|| person(i)),
                kind: kinds[i % kinds.len()].into(),
                what: format!(
                    "Update {i}: error rate {}% on `checkout-api`; see [runbook](https://wiki.example/r) & <b>retry</b>",
                    i % 100
                ),
            })
            .collect(),
        pins: (0..pins)
            .map(|i| Pin {
                posted_at: start + step * (i * entries / pins.max(1)) as i32,
                pinned_at: Some(start + step * (i * entries / pins.max(1)) as i32 + step),
                pinned_by: Some(person(i + 1)),
                author: (i % 4 != 0).then(|| person(i)),
                author_label: (i % 4 == 0).then(|| "Alertmanager (bot)".to_string()),
                text: format!(
                    "*[FIRING:{i}] CheckoutErrorRate* <@U{:04}> <!subteam^S1|@payments>\n\
                     <https://grafana.example/d/checkout?from=now-1h&amp;to=now|dashboard> \
                     error rate &gt; 5% on <#C0INC|inc-1234>\n_details_ in ```logs```",
                    i % 5
                ),
                permalink: Some(format!(
                    "https://acme.slack.com/archives/C0INC/p{}000100",
                    1_774_641_600 + i
                )),
                file: (i % 10 == 0).then(|| FileRef {
                    name: format!("graph-{i}.png"),
                    link: Some(format!("https://files.slack.com/f/{i}")),
                }),
            })
            .collect(),
        followups: (0..20)
            .map(|i| FollowUp {
                text: format!("Follow-up {i}: add a canary\nand an alert"),
                by: Some(person(i)),
                at: start + TimeDelta::hours(70),
                done: i % 2 == 0,
                ticket: None,
            })
            .collect(),
        people: (0..5).map(|i| (format!("U{i:04}"), person(i).name)).collect::<HashMap<_, _>>(),
        generated_at: start + TimeDelta::hours(72),
        pins_may_be_stale: false,
    }
}
