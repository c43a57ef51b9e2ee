//! Whole-process benchmark of the client module at the seed's scale.
//!
//! Builds a replica of 29,000 clients with the demo generator (timed), then runs
//! the real `kartoteka` binary (this package's release build) for the catalog,
//! prefix searches, client cards and profile edits, and prints a Markdown table of
//! medians and maxima with the peak RSS of each process. The `sqlite3` shell, when
//! installed, runs the catalog query on the mirror as the floor to compare against.
//!
//! Run: `cargo bench -p client-cli --bench replica`
//! Scale: `KARTOTEKA_BENCH_CLIENTS=2900` (default 29000).
//! Reuse a generated replica: `KARTOTEKA_BENCH_HOME=/path` (generated if empty).

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark binary: it prints its table and fails loudly"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 10;
const KARTOTEKA: &str = env!("CARGO_BIN_EXE_kartoteka");

fn main() {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some("--measure") {
        // Child mode: run one command and report its wall time and peak RSS.
        let program = args.next().unwrap();
        let rest: Vec<String> = args.collect();
        let started = Instant::now();
        let status = Command::new(program).args(&rest).stdout(Stdio::null()).status().unwrap();
        let elapsed = started.elapsed();
        assert!(status.success(), "{rest:?} failed");
        let usage =
            nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN).unwrap();
        // On Linux ru_maxrss is in kilobytes.
        println!("{} {}", elapsed.as_nanos(), usage.max_rss());
        return;
    }

    let clients: usize = std::env::var("KARTOTEKA_BENCH_CLIENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(29_000);
    let temp = tempfile::tempdir().unwrap();
    let home: PathBuf = std::env::var_os("KARTOTEKA_BENCH_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| temp.path().to_owned());
    let mut rows: Vec<Row> = Vec::new();

    if !home.join("replica.sqlite").exists() {
        run(&home, &["init", "--workspace", "Benchmark SIA", "--device", "bench"]);
        let generate =
            measure(&home, &["demo", "generate", "--clients", &clients.to_string(), "--seed", "7"]);
        rows.push(Row::single(
            &format!("generate {clients} clients (demo generate)"),
            generate,
            "60 s",
        ));
    }
    let status: serde_json::Value =
        serde_json::from_slice(&run(&home, &["--json", "status"])).unwrap();
    let n_clients = status["clients"].as_i64().unwrap();
    let n_units = status["units"].as_i64().unwrap();

    rows.push(Row::many(
        "`catalog` (every active client, printed)",
        (0..RUNS).map(|_| measure(&home, &["catalog"])),
        "200 ms",
    ));
    rows.push(Row::many(
        "`catalog --json` (every active client)",
        (0..RUNS).map(|_| measure(&home, &["--json", "catalog"])),
        "",
    ));
    let prefixes = ["ber", "mül", "rig", "kal", "tal", "gas", "sch", "pär", "šia", "vil"];
    rows.push(Row::many(
        "`catalog <3-letter prefix>`",
        prefixes.iter().map(|prefix| measure(&home, &["catalog", prefix])),
        "50 ms",
    ));

    let catalog: serde_json::Value =
        serde_json::from_slice(&run(&home, &["--json", "catalog", "--limit", "2000"])).unwrap();
    let ids: Vec<String> = catalog["clients"]
        .as_array()
        .unwrap()
        .iter()
        .step_by(200)
        .take(RUNS)
        .map(|row| row["short_id"].as_str().unwrap().to_owned())
        .collect();
    rows.push(Row::many(
        "`client show <id>` (card)",
        ids.iter().map(|id| measure(&home, &["client", "show", id])),
        "50 ms",
    ));
    rows.push(Row::many(
        "`client edit <id> --industry …` (profile edit)",
        ids.iter().enumerate().map(|(index, id)| {
            measure(&home, &["client", "edit", id, "--industry", &format!("Edited {index}")])
        }),
        "50 ms",
    ));

    if let Some(floor) = sqlite_floor(&home) {
        rows.push(floor);
    }

    let db_bytes = std::fs::metadata(home.join("replica.sqlite")).map(|m| m.len()).unwrap_or(0);
    println!();
    println!(
        "Replica: {n_clients} clients, {n_units} units, {:.0} MB on disk.",
        db_bytes as f64 / 1e6
    );
    println!(
        "Each row: {RUNS} runs of a fresh `kartoteka` process (release build), wall time and peak RSS."
    );
    println!();
    println!("| what | median | max | peak RSS | goal |");
    println!("|---|---|---|---|---|");
    for row in rows {
        println!(
            "| {} | {} | {} | {:.1} MB | {} |",
            row.what,
            ms(row.median),
            ms(row.max),
            row.rss_kb as f64 / 1024.0,
            row.goal
        );
    }
}

#[derive(Clone, Copy)]
struct Measurement {
    elapsed: Duration,
    rss_kb: i64,
}

struct Row {
    what: String,
    median: Duration,
    max: Duration,
    rss_kb: i64,
    goal: &'static str,
}

impl Row {
    fn single(what: &str, measurement: Measurement, goal: &'static str) -> Self {
        Self {
            what: what.to_owned(),
            median: measurement.elapsed,
            max: measurement.elapsed,
            rss_kb: measurement.rss_kb,
            goal,
        }
    }

    fn many(
        what: &str,
        measurements: impl Iterator<Item = Measurement>,
        goal: &'static str,
    ) -> Self {
        let measurements: Vec<Measurement> = measurements.collect();
        let mut times: Vec<Duration> = measurements.iter().map(|m| m.elapsed).collect();
        times.sort_unstable();
        Self {
            what: what.to_owned(),
            median: times[times.len() / 2],
            max: times[times.len() - 1],
            rss_kb: measurements.iter().map(|m| m.rss_kb).max().unwrap_or(0),
            goal,
        }
    }
}

fn ms(duration: Duration) -> String {
    if duration >= Duration::from_secs(10) {
        format!("{:.1} s", duration.as_secs_f64())
    } else {
        format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
    }
}

/// Runs `kartoteka` through this binary's `--measure` mode, so that the peak RSS
/// reported is that one process's.
fn measure(home: &Path, args: &[&str]) -> Measurement {
    measure_program(KARTOTEKA, &[&["--home", home.to_str().unwrap()][..], args].concat())
}

fn measure_program(program: &str, args: &[&str]) -> Measurement {
    let output = Command::new(std::env::current_exe().unwrap())
        .arg("--measure")
        .arg(program)
        .args(args)
        .output()
        .unwrap();
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).unwrap();
    let mut parts = text.split_whitespace();
    let nanos: u64 = parts.next().unwrap().parse().unwrap();
    let rss_kb: i64 = parts.next().unwrap().parse().unwrap();
    Measurement { elapsed: Duration::from_nanos(nanos), rss_kb }
}

fn run(home: &Path, args: &[&str]) -> Vec<u8> {
    let output = Command::new(KARTOTEKA).arg("--home").arg(home).args(args).output().unwrap();
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    output.stdout
}

/// The same catalog query in the `sqlite3` shell: the floor of what reading the
/// mirror costs, without Kartoteka.
fn sqlite_floor(home: &Path) -> Option<Row> {
    Command::new("sqlite3").arg("--version").output().ok()?;
    let query = "SELECT c.id, c.display_name, c.reg_no, c.vat_id, c.city, g.name, c.primary_phone, \
                 c.primary_email, c.unit_count FROM clients c LEFT JOIN groups g ON g.id = c.group_id \
                 WHERE c.archived = 0 ORDER BY c.sort_key, c.display_name, c.id";
    let database = home.join("replica.sqlite");
    let database = database.to_str()?;
    Some(Row::many(
        "floor: the same catalog query in the `sqlite3` shell",
        (0..RUNS).map(|_| measure_program("sqlite3", &[database, query])),
        "",
    ))
}
