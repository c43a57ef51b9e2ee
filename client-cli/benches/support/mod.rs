//! Shared by the whole-process benchmarks: run the real `kartoteka` (this
//! package's release build) and measure wall time and peak RSS per process.

#![allow(dead_code, reason = "shared by several benchmark binaries; each uses a part")]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) const KARTOTEKA: &str = env!("CARGO_BIN_EXE_kartoteka");

/// If this process was started as `<bench> --measure PROGRAM ARGS…`, runs the
/// program, prints its wall time (ns) and the peak RSS (KB) of it alone, and
/// returns true. Measuring through a child of our own is what lets
/// `getrusage(RUSAGE_CHILDREN)` report one process.
pub(crate) fn measure_mode() -> bool {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() != Some("--measure") {
        return false;
    }
    let program = args.next().unwrap();
    let rest: Vec<String> = args.collect();
    let started = Instant::now();
    let status = Command::new(program).args(&rest).stdout(Stdio::null()).status().unwrap();
    let elapsed = started.elapsed();
    assert!(status.success(), "{rest:?} failed");
    let usage =
        nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN).unwrap();
    println!("{} {}", elapsed.as_nanos(), usage.max_rss());
    true
}

#[derive(Clone, Copy)]
pub(crate) struct Measurement {
    pub(crate) elapsed: Duration,
    pub(crate) rss_kb: i64,
}

pub(crate) struct Row {
    pub(crate) what: String,
    pub(crate) median: Duration,
    pub(crate) max: Duration,
    pub(crate) rss_kb: i64,
    pub(crate) goal: &'static str,
}

impl Row {
    pub(crate) fn single(what: &str, measurement: Measurement, goal: &'static str) -> Self {
        Self {
            what: what.to_owned(),
            median: measurement.elapsed,
            max: measurement.elapsed,
            rss_kb: measurement.rss_kb,
            goal,
        }
    }

    pub(crate) fn many(
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

pub(crate) fn print_table(rows: &[Row]) {
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

pub(crate) fn ms(duration: Duration) -> String {
    if duration >= Duration::from_secs(10) {
        format!("{:.1} s", duration.as_secs_f64())
    } else {
        format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
    }
}

/// Runs `kartoteka --home HOME ARGS…` through `--measure`.
pub(crate) fn measure(home: &Path, args: &[&str]) -> Measurement {
    measure_program(KARTOTEKA, &[&["--home", home.to_str().unwrap()][..], args].concat())
}

pub(crate) fn measure_program(program: &str, args: &[&str]) -> Measurement {
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

/// Runs `kartoteka --home HOME ARGS…` and returns its stdout.
pub(crate) fn run(home: &Path, args: &[&str]) -> Vec<u8> {
    let output = Command::new(KARTOTEKA).arg("--home").arg(home).args(args).output().unwrap();
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    output.stdout
}

/// A scale from the environment, or the seed's.
pub(crate) fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}
