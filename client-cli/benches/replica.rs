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
use std::process::Command;

mod support;

use support::{Row, measure, measure_program, print_table, run};

const RUNS: usize = 10;

fn main() {
    if support::measure_mode() {
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
    print_table(&rows);
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
