//! Sync benchmark through the real relay and real replicas (release build).
//!
//! 1. Initial sync of a fresh replica from the relay, at the seed's scale and at
//!    a tenth of it: time, bytes on the websocket, peak RSS of relay and replica.
//! 2. A reconnect after 100 edits made elsewhere: time and bytes.
//! 3. 200 replicas connected with `sync --watch`: how long one edit takes to
//!    reach all of them (median, p99), and the relay's RSS.
//!
//! Run: `cargo bench -p kartoteka-e2e --bench sync`
//! Scale: `KARTOTEKA_BENCH_CLIENTS=29000` (with invoices and visits in the
//! seed's proportions), watchers: `KARTOTEKA_BENCH_WATCHERS=200` (0: none).

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark binary: it prints its table and fails loudly"
)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kartoteka_e2e::{Kartoteka, Relay, binary};

fn main() {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some("--measure") {
        // Child mode: run one command, print its stdout, then its peak RSS.
        let program = args.next().unwrap();
        let rest: Vec<String> = args.collect();
        let output = Command::new(program).args(&rest).stderr(Stdio::inherit()).output().unwrap();
        assert!(output.status.success(), "{rest:?} failed");
        let usage =
            nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN).unwrap();
        println!("{}", String::from_utf8(output.stdout).unwrap().trim());
        println!("RSS {}", usage.max_rss());
        return;
    }
    let clients: usize = env_or("KARTOTEKA_BENCH_CLIENTS", 29_000);
    let watchers: usize = env_or("KARTOTEKA_BENCH_WATCHERS", 200);
    let mut lines = Vec::new();
    // KARTOTEKA_BENCH_CLIENTS=0 runs only the watch benchmark.
    for scale in [clients, clients / 10].into_iter().filter(|scale| *scale > 0) {
        lines.extend(initial_and_reconnect(scale));
    }
    if watchers > 0 {
        lines.extend(watch_latency(watchers));
    }
    println!();
    println!("| what | result |");
    println!("|---|---|");
    for (what, result) in lines {
        println!("| {what} | {result} |");
    }
}

/// Runs `kartoteka --home HOME --json ARGS…` through `--measure`; returns its
/// JSON output and peak RSS in KB.
fn measured_json(home: &Kartoteka, args: &[&str]) -> (serde_json::Value, u64) {
    let output = Command::new(std::env::current_exe().unwrap())
        .arg("--measure")
        .arg(binary("kartoteka"))
        .args(["--home", home.home().to_str().unwrap(), "--json"])
        .args(args)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).unwrap();
    let (json, rss) = text.rsplit_once("RSS ").unwrap();
    (serde_json::from_str(json.trim()).unwrap(), rss.trim().parse().unwrap())
}

fn initial_and_reconnect(clients: usize) -> Vec<(String, String)> {
    eprintln!("preparing {clients} clients…");
    let relay = Relay::start();
    let office = Kartoteka::init("Benchmark SIA", "office");
    // The seed's proportions: 29,000 clients with 300,000 invoices and 200,000 visits.
    let invoices = clients * 300 / 29;
    let visits = clients * 200 / 29;
    office.ok(&[
        "demo",
        "generate",
        "--clients",
        &clients.to_string(),
        "--invoices",
        &invoices.to_string(),
        "--visits",
        &visits.to_string(),
        "--seed",
        "7",
        "--today",
        "2026-11-22",
    ]);
    office.connect(&relay);
    let (push, push_rss) = measured_json(&office, &["sync"]);

    let fresh = Kartoteka::join(&office.workspace_id(), "laptop-anna");
    fresh.connect(&relay);
    let (initial, fresh_rss) = measured_json(&fresh, &["sync"]);
    let relay_rss = relay.peak_rss_kb().unwrap_or(0);

    // 100 edits made elsewhere (the office), then the laptop reconnects.
    let catalog = office.json(&["catalog", "--limit", "100"]);
    for (index, row) in catalog["clients"].as_array().unwrap().iter().enumerate() {
        office.ok(&[
            "client",
            "edit",
            row["short_id"].as_str().unwrap(),
            "--industry",
            &format!("Edited {index}"),
        ]);
    }
    office.ok(&["sync"]);
    let started = Instant::now();
    let (reconnect, _) = measured_json(&fresh, &["sync"]);
    let reconnect_wall = started.elapsed();

    let mb = |value: &serde_json::Value| {
        (value["bytes_received"].as_f64().unwrap() + value["bytes_sent"].as_f64().unwrap()) / 1e6
    };
    vec![
        (
            format!(
                "{clients} clients, {invoices} invoices, {visits} visits: first push from the office (documents, time, websocket bytes, office RSS)"
            ),
            format!(
                "{} documents, {:.1} s, {:.1} MB, {:.0} MB",
                push["documents_synced"],
                push["seconds"].as_f64().unwrap(),
                mb(&push),
                push_rss as f64 / 1024.0
            ),
        ),
        (
            format!(
                "{clients} clients: initial sync of a fresh replica (time, bytes, replica RSS, relay RSS)"
            ),
            format!(
                "{:.1} s, {:.1} MB, {:.0} MB, {:.0} MB",
                initial["seconds"].as_f64().unwrap(),
                mb(&initial),
                fresh_rss as f64 / 1024.0,
                relay_rss as f64 / 1024.0
            ),
        ),
        (
            format!(
                "{clients} clients: reconnect after 100 edits elsewhere (documents, sync time, process time, bytes)"
            ),
            format!(
                "{} documents, {:.2} s, {:.2} s, {:.0} KB",
                reconnect["documents_synced"],
                reconnect["seconds"].as_f64().unwrap(),
                reconnect_wall.as_secs_f64(),
                mb(&reconnect) * 1000.0
            ),
        ),
    ]
}

fn watch_latency(watchers: usize) -> Vec<(String, String)> {
    eprintln!("starting {watchers} watchers…");
    let relay = Relay::start();
    let office = Kartoteka::init("Benchmark SIA", "office");
    office.ok(&["demo", "generate", "--clients", "50", "--seed", "7", "--today", "2026-11-22"]);
    office.connect(&relay);
    office.ok(&["sync"]);
    let workspace = office.workspace_id();
    let replicas: Vec<Kartoteka> = (0..watchers)
        .map(|index| {
            let replica = Kartoteka::join(&workspace, &format!("watcher-{index:03}"));
            replica.connect(&relay);
            replica
        })
        .collect();
    // Every watcher reports on stderr; a thread per watcher timestamps the lines.
    let (events, received) = mpsc::channel::<(usize, Instant, String)>();
    let mut children = Vec::new();
    for (index, replica) in replicas.iter().enumerate() {
        let mut child = replica.spawn_quiet(&["sync", "--watch"]);
        let stderr = child.stderr.take().unwrap();
        let events = events.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = events.send((index, Instant::now(), line));
            }
        });
        children.push(child);
    }
    let mut connected = vec![false; watchers];
    while connected.iter().any(|c| !c) {
        let (index, _, line) =
            received.recv_timeout(Duration::from_secs(300)).expect("watchers connect");
        if line.starts_with("connected") {
            connected[index] = true;
        }
    }
    std::thread::sleep(Duration::from_secs(1));
    while received.try_recv().is_ok() {}

    let mut latencies_ms = Vec::new();
    let client = office.json(&["catalog", "--limit", "1"])["clients"][0]["short_id"]
        .as_str()
        .unwrap()
        .to_owned();
    for round in 0..5 {
        office.ok(&["client", "edit", &client, "--industry", &format!("Round {round}")]);
        let sent = Instant::now();
        office.ok(&["sync"]);
        let mut reached = vec![false; watchers];
        while reached.iter().any(|r| !r) {
            let (index, at, line) = received
                .recv_timeout(Duration::from_secs(120))
                .expect("the edit reaches every watcher");
            if line.starts_with("live") && !reached[index] {
                reached[index] = true;
                latencies_ms.push(at.duration_since(sent).as_secs_f64() * 1000.0);
            }
        }
    }
    let relay_rss = relay.peak_rss_kb().unwrap_or(0);
    for mut child in children {
        let _ = child.kill();
        let _ = child.wait();
    }
    latencies_ms.sort_by(f64::total_cmp);
    let median = latencies_ms[latencies_ms.len() / 2];
    let p99 = latencies_ms[latencies_ms.len() * 99 / 100];
    vec![(
        format!(
            "{watchers} replicas with `sync --watch`: one edit reaching all (median, p99 over 5 edits; relay RSS)"
        ),
        format!("{median:.0} ms, {p99:.0} ms, {:.0} MB", relay_rss as f64 / 1024.0),
    )]
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}
