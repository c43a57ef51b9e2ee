//! Tidy: the invariants of ARCHITECTURE.md that a machine can check, checked on
//! every test run, so that breaking one fails CI instead of waiting for a
//! reviewer to notice (rust-analyzer's `tidy.rs` is the model).
//!
//! - which crates may depend on SQLite, on axum, and what the sans-IO crates
//!   must not depend on (read from `cargo metadata`, normal dependencies only:
//!   tests may use anything);
//! - every Rust file opens with a `//!` doc saying what it is for;
//! - no library prints (only the two binaries print; libraries emit `tracing`
//!   events);
//! - no library message names a command to run: libraries say what is wrong,
//!   the CLI says which command fixes it (`client-cli/src/hints.rs`);
//! - `replica-store`'s core names no module's table, and no module names
//!   another module's table in its SQL (it joins the views the other publishes).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a panic is a failed test")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace's root (this package lives in `tests/`).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

/// Each workspace package's normal (not dev, not build) dependencies.
fn normal_dependencies() -> BTreeMap<String, Vec<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|package| {
            let dependencies = package["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|dependency| dependency["kind"].is_null())
                .map(|dependency| dependency["name"].as_str().unwrap().to_owned())
                .collect();
            (package["name"].as_str().unwrap().to_owned(), dependencies)
        })
        .collect()
}

/// Packages that depend on `dependency`, other than those `allowed` to.
fn offenders(
    packages: &BTreeMap<String, Vec<String>>,
    dependency: &str,
    allowed: &[&str],
) -> Vec<String> {
    packages
        .iter()
        .filter(|(name, dependencies)| {
            !allowed.contains(&name.as_str()) && dependencies.iter().any(|d| d == dependency)
        })
        .map(|(name, _)| name.clone())
        .collect()
}

#[test]
fn only_replica_store_doc_store_and_relay_core_touch_sqlite() {
    let packages = normal_dependencies();
    let allowed = ["replica-store", "doc-store", "relay-core"];
    assert_eq!(offenders(&packages, "rusqlite", &allowed), Vec::<String>::new());
}

#[test]
fn only_sync_server_knows_axum() {
    let packages = normal_dependencies();
    assert_eq!(offenders(&packages, "axum", &["sync-server"]), Vec::<String>::new());
}

/// The crates whose code must not do IO, read a clock or draw random numbers
/// (sync-engine: the protocol; billing: the arithmetic, "today" is an
/// argument everywhere).
const SANS_IO: [&str; 2] = ["sync-engine", "billing"];

#[test]
fn the_sans_io_crates_depend_on_nothing_that_does_io_or_draws_randomness() {
    let packages = normal_dependencies();
    let forbidden =
        ["tokio", "tokio-tungstenite", "reqwest", "axum", "rusqlite", "rand", "getrandom"];
    for package in SANS_IO {
        let found: Vec<&String> =
            packages[package].iter().filter(|d| forbidden.contains(&d.as_str())).collect();
        assert!(found.is_empty(), "{package} depends on {found:?}");
    }
}

#[test]
fn the_sans_io_crates_read_no_clock_and_draw_no_random_ids() {
    let calls = [
        "Utc::now",
        "Local::now",
        "SystemTime::now",
        "Instant::now",
        "new_v4",
        "std::fs",
        "std::net",
    ];
    let mut found = Vec::new();
    for package in SANS_IO {
        for path in rust_files() {
            let relative = path.strip_prefix(root()).unwrap().to_owned();
            if !relative.starts_with(Path::new("crates").join(package).join("src")) {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for call in calls.iter().filter(|call| text.contains(**call)) {
                found.push(format!("{}: {call}", relative.display()));
            }
        }
    }
    assert!(found.is_empty(), "{found:?}");
}

/// Every `.rs` file of the workspace's own code (not build output, not
/// installed JavaScript packages).
fn rust_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy();
            if path.is_dir() {
                if !matches!(name.as_ref(), "target" | "node_modules" | "corpus" | "artifacts")
                    && !name.starts_with('.')
                {
                    walk(&path, files);
                }
            } else if name.ends_with(".rs") {
                files.push(path);
            }
        }
    }
    let mut files = Vec::new();
    for dir in ["crates", "client-cli", "sync-server", "tests", "fuzz"] {
        let dir = root().join(dir);
        if dir.exists() {
            walk(&dir, &mut files);
        }
    }
    assert!(files.len() > 100, "found only {} Rust files", files.len());
    files
}

#[test]
fn every_rust_file_says_what_it_is_for() {
    let undocumented: Vec<String> = rust_files()
        .into_iter()
        .filter(|path| !std::fs::read_to_string(path).unwrap().starts_with("//!"))
        .map(|path| path.strip_prefix(root()).unwrap().display().to_string())
        .collect();
    assert!(undocumented.is_empty(), "files without a `//!` doc at the top: {undocumented:?}");
}

#[test]
fn no_library_prints() {
    let printing: Vec<String> = rust_files()
        .into_iter()
        .filter(|path| is_library_code(path))
        .filter(|path| {
            let text = std::fs::read_to_string(path).unwrap();
            text.contains("println!(") || text.contains("print!(")
        })
        .map(|path| path.strip_prefix(root()).unwrap().display().to_string())
        .collect();
    assert!(
        printing.is_empty(),
        "library files that print instead of emitting tracing events: {printing:?}"
    );
}

/// Library code: a crate's `src/` under `crates/` (its tests and benches are not).
fn is_library_code(path: &Path) -> bool {
    let relative = path.strip_prefix(root()).unwrap();
    relative.starts_with("crates")
        && relative.components().nth(2).is_some_and(|part| part.as_os_str() == "src")
}

#[test]
fn no_library_message_names_a_command() {
    let mut found = Vec::new();
    for path in rust_files().into_iter().filter(|path| is_library_code(path)) {
        let text = std::fs::read_to_string(&path).unwrap();
        for (number, line) in text.lines().enumerate() {
            // Doc comments may say which command shows a thing; messages may not.
            if !line.trim_start().starts_with("//") && line.contains("`kartoteka ") {
                let relative = path.strip_prefix(root()).unwrap().display().to_string();
                found.push(format!("{relative}:{}: {}", number + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "library messages that name a command (move it to the CLI's hints): {found:#?}"
    );
}

/// The tables created by the `CREATE TABLE` and `CREATE VIRTUAL TABLE`
/// statements in `text`.
fn tables_created_in(text: &str) -> Vec<String> {
    let words = sql_words(text);
    let mut tables = Vec::new();
    for (index, word) in words.iter().enumerate() {
        let is = |word: Option<&str>, key: &str| word.is_some_and(|w| w.eq_ignore_ascii_case(key));
        if !is(Some(word), "CREATE") {
            continue;
        }
        let mut rest = words[index + 1..].iter().copied();
        let mut next = rest.next();
        if is(next, "VIRTUAL") {
            next = rest.next();
        }
        if !is(next, "TABLE") {
            continue;
        }
        let mut name = rest.next();
        if is(name, "IF") {
            // IF NOT EXISTS name
            name = rest.nth(2);
        }
        tables.extend(name.map(str::to_owned));
    }
    tables
}

/// `text` cut into SQL-ish words: identifiers and keywords.
fn sql_words(text: &str) -> Vec<&str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect()
}

/// The tables and views the SQL of `text` reads or writes (the word after
/// `FROM`, `JOIN`, `INTO` or `UPDATE`). A module's views (`CREATE VIEW` in its
/// `mirror.sql`) are what it publishes: other modules may join them.
fn tables_used_in(text: &str) -> Vec<String> {
    sql_words(text)
        .windows(2)
        .filter(|pair| {
            ["FROM", "JOIN", "INTO", "UPDATE"].iter().any(|key| pair[0].eq_ignore_ascii_case(key))
        })
        .map(|pair| pair[1].to_owned())
        .collect()
}

#[test]
fn no_replica_module_names_another_modules_tables() {
    let modules_dir = root().join("crates/replica-store/src/modules");
    let mut owner: BTreeMap<String, String> = BTreeMap::new();
    let mut modules = Vec::new();
    for entry in std::fs::read_dir(&modules_dir).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let ddl = std::fs::read_to_string(dir.join("mirror.sql")).unwrap();
        for table in tables_created_in(&ddl) {
            assert!(owner.insert(table.clone(), name.clone()).is_none(), "{table} twice");
        }
        modules.push((name, dir));
    }
    assert!(modules.len() >= 3, "found only {modules:?}");
    let mut found = Vec::new();
    for (module, dir) in &modules {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|extension| extension != "rs" && extension != "sql") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let file = path.strip_prefix(&modules_dir).unwrap().display().to_string();
            let mut used = tables_used_in(&text);
            used.sort();
            used.dedup();
            for table in used {
                if owner.get(&table).is_some_and(|owning| owning != module) {
                    found.push(format!("{file}: {table}"));
                }
            }
        }
    }
    // The core (the files directly under `src/`) names no module's table.
    for entry in std::fs::read_dir(modules_dir.parent().unwrap()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|extension| extension == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            for table in tables_used_in(&text) {
                if let Some(module) = owner.get(&table) {
                    let file = path.file_name().unwrap().to_string_lossy();
                    found.push(format!("core {file}: {module}'s {table}"));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "a replica module names another module's table: ask that module's query API, or join \
         a view it publishes in its mirror.sql: {found:#?}"
    );
}
