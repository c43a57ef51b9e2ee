//! Whole-process benchmark of billing at the seed's scale.
//!
//! Generates 29,000 clients with 300,000 invoices and their payments, gives one
//! client 500 invoices, then times with the real `kartoteka` binary: that
//! client's card and invoice list, the catalog sorted by overdue balance and by
//! turnover, and dunning runs over all invoices: a dry run, the first run over
//! three years of backlog (writing every notice and letter), and the run a week
//! later.
//!
//! Run: `cargo bench -p client-cli --bench billing`
//! Scale: `KARTOTEKA_BENCH_CLIENTS=2900 KARTOTEKA_BENCH_INVOICES=30000`.

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark binary: it prints its table and fails loudly"
)]

mod support;

use support::{Row, env_or, measure, print_table, run};

const RUNS: usize = 10;
const TODAY: &str = "2026-11-22";
const WEEK_LATER: &str = "2026-11-29";

fn main() {
    if support::measure_mode() {
        return;
    }
    let clients: usize = env_or("KARTOTEKA_BENCH_CLIENTS", 29_000);
    let invoices: usize = env_or("KARTOTEKA_BENCH_INVOICES", 300_000);
    let temp = tempfile::tempdir().unwrap();
    let home = temp.path().join("replica");
    let mut rows = Vec::new();

    run(&home, &["init", "--workspace", "Benchmark GmbH", "--device", "bench"]);
    for (key, value) in [("name", "Benchmark GmbH"), ("iban", "DE02 1203 0000 0000 2020 51")] {
        run(&home, &["company", "set", key, value]);
    }
    let generate = measure(
        &home,
        &[
            "demo",
            "generate",
            "--clients",
            &clients.to_string(),
            "--invoices",
            &invoices.to_string(),
            "--seed",
            "7",
            "--today",
            TODAY,
        ],
    );
    rows.push(Row::single(
        &format!("generate {clients} clients with {invoices} invoices and payments"),
        generate,
        "",
    ));

    // One client gets 500 invoices: issued over two years, most paid, some late.
    let catalog: serde_json::Value =
        serde_json::from_slice(&run(&home, &["--json", "catalog", "--limit", "1"])).unwrap();
    let client = catalog["clients"][0]["short_id"].as_str().unwrap().to_owned();
    let existing: serde_json::Value =
        serde_json::from_slice(&run(&home, &["--json", "invoice", "list", "--client", &client]))
            .unwrap();
    for n in existing.as_array().unwrap().len()..500 {
        let date = format!("{}-{:02}-{:02}", 2025 + n % 2, n % 12 + 1, n % 28 + 1);
        let issued: serde_json::Value = serde_json::from_slice(&run(
            &home,
            &[
                "--json",
                "invoice",
                "new",
                &client,
                "--date",
                &date,
                "--line",
                "Wartung=1.5 h x 45 @ 19",
                "--issue",
            ],
        ))
        .unwrap();
        if n % 5 != 0 {
            let number = issued["number"].as_str().unwrap();
            let paid = format!("{}-{:02}-{:02}", 2025 + n % 2, n % 12 + 1, 28);
            run(&home, &["invoice", "pay", number, "80.33", "--date", &paid]);
        }
    }
    rows.push(Row::many(
        "`client show` of a client with 500 invoices (turnover, balances, behaviour)",
        (0..RUNS).map(|_| measure(&home, &["client", "show", &client, "--as-of", TODAY])),
        "100 ms",
    ));
    rows.push(Row::many(
        "`invoice list --client` of that client (500 rows)",
        (0..RUNS)
            .map(|_| measure(&home, &["invoice", "list", "--client", &client, "--as-of", TODAY])),
        "50 ms",
    ));
    rows.push(Row::many(
        "`catalog --sort overdue` (all clients)",
        (0..RUNS).map(|_| measure(&home, &["catalog", "--sort", "overdue", "--as-of", TODAY])),
        "",
    ));
    rows.push(Row::many(
        "`catalog --sort turnover` (all clients)",
        (0..RUNS).map(|_| measure(&home, &["catalog", "--sort", "turnover", "--as-of", TODAY])),
        "",
    ));
    rows.push(Row::many(
        "`invoice list --overdue --sort overdue` (all clients)",
        (0..RUNS).map(|_| {
            measure(&home, &["invoice", "list", "--overdue", "--sort", "overdue", "--as-of", TODAY])
        }),
        "",
    ));
    rows.push(Row::many(
        &format!("`dunning run --dry-run` over all {invoices} invoices"),
        (0..RUNS).map(|_| measure(&home, &["dunning", "run", "--as-of", TODAY, "--dry-run"])),
        "10 s",
    ));
    let report = |day: &str| -> (usize, u64) {
        let dry: serde_json::Value = serde_json::from_slice(&run(
            &home,
            &["--json", "dunning", "run", "--as-of", day, "--dry-run"],
        ))
        .unwrap();
        (dry["notices"].as_array().unwrap().len(), dry["letters"].as_u64().unwrap())
    };
    let (notices, letters) = report(TODAY);
    rows.push(Row::single(
        &format!("`dunning run`, first run over 3 years of backlog: {notices} notices, {letters} letters written"),
        measure(&home, &["dunning", "run", "--as-of", TODAY]),
        "10 s",
    ));
    let (notices, letters) = report(WEEK_LATER);
    rows.push(Row::single(
        &format!("`dunning run` a week later: {notices} notices, {letters} letters written"),
        measure(&home, &["dunning", "run", "--as-of", WEEK_LATER]),
        "10 s",
    ));

    println!();
    println!(
        "Replica: {clients} clients with {invoices} invoices (release build; each row a fresh process)."
    );
    println!();
    print_table(&rows);
}
