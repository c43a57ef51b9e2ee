//! The JavaScript automerge-repo peer in `tests/js`: an unmodified client from
//! the npm registry, installed by the first test that needs it.
//!
//! Node.js 20 or later must be on the PATH. Under CI (`CI=true`) a missing
//! Node.js fails the test; elsewhere the test says what is missing and passes
//! without running, as the README explains.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The folder of the JS peer (`tests/js`).
fn folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("js")
}

/// A command that runs `node peer.mjs <args>`, with the packages installed, or
/// `None` (after saying why) when Node.js is missing outside CI.
#[allow(clippy::print_stderr, reason = "a skipped test says why in the test output")]
pub fn peer(args: &[&str]) -> Option<Command> {
    let node_version = Command::new("node").arg("--version").output();
    let Ok(version) = node_version.as_ref().map(|output| output.stdout.clone()) else {
        let message = "Node.js 20 or later is needed for the JavaScript interoperability tests";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{message}");
        eprintln!("skipped: {message}; install it (e.g. `apt install nodejs npm`) to run them");
        return None;
    };
    let version = String::from_utf8_lossy(&version);
    let major: u32 =
        version.trim().trim_start_matches('v').split('.').next().unwrap_or("").parse().unwrap_or(0);
    assert!(major >= 20, "Node.js {version} is too old for automerge-repo; 20 or later is needed");
    install();
    let mut command = Command::new("node");
    command
        .current_dir(folder())
        .arg("peer.mjs")
        .args(args)
        // The websocket adapter reports what the relay says only to this log.
        .env("DEBUG", "automerge-repo:websocket:*")
        .env("DEBUG_COLORS", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    Some(command)
}

/// Runs `npm ci` once for `package-lock.json` as it is now (package.json pins
/// `cbor-extract` to 2.2.2 by an override: the registry has its platform
/// packages only at 2.2.2, and a lock file without them makes `npm ci` refuse); a lock file makes
/// parallel test processes (nextest) wait for one install.
fn install() {
    let folder = folder();
    let lock = File::create(std::env::temp_dir().join("kartoteka-js-peer.lock")).unwrap();
    lock.lock().unwrap();
    let wanted = std::fs::read(folder.join("package-lock.json")).unwrap();
    let stamp = folder.join("node_modules").join(".kartoteka-installed-lock.json");
    if std::fs::read(&stamp).ok().as_deref() == Some(wanted.as_slice()) {
        return;
    }
    // --ignore-scripts: the packages' optional native accelerator (cbor-extract)
    // is not needed, and no install script runs code from the registry here.
    let status = Command::new("npm")
        .current_dir(&folder)
        .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"])
        .status()
        .expect("npm runs (it comes with Node.js)");
    assert!(status.success(), "npm ci in {} failed", folder.display());
    std::fs::write(&stamp, wanted).unwrap();
}
