//! Harness for end-to-end tests: runs the real `kartoteka` binary as a subprocess
//! against a replica in a temporary directory.
//!
//! The binaries are the ones `cargo test` built into the same target directory as
//! the test executable (the CLI and relay packages have integration tests of their
//! own, which makes cargo build their binaries before any test runs).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test harness: a panic is a failed test"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use tempfile::TempDir;

/// The path of a binary built by this workspace (`kartoteka`, `kartoteka-relay`).
pub fn binary(name: &str) -> PathBuf {
    // The test executable lives in target/<profile>/deps/.
    let exe = std::env::current_exe().expect("the test executable has a path");
    let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps layout");
    let path = profile_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo test --workspace`, which builds it",
        path.display()
    );
    path
}

/// A replica directory driven through the `kartoteka` binary.
#[derive(Debug)]
pub struct Kartoteka {
    home: TempDir,
}

impl Kartoteka {
    /// An empty directory; call `init` (or `run(["init", …])`) first.
    pub fn new() -> Self {
        Self { home: tempfile::tempdir().unwrap() }
    }

    /// A fresh replica of a new workspace.
    pub fn init(workspace: &str, device: &str) -> Self {
        let kartoteka = Self::new();
        kartoteka.ok(&["init", "--workspace", workspace, "--device", device]);
        kartoteka
    }

    /// The replica directory.
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// Runs `kartoteka --home <dir> ARGS…`.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(binary("kartoteka"))
            .arg("--home")
            .arg(self.home.path())
            .args(args)
            .env_remove("KARTOTEKA_HOME")
            .env_remove("RUST_LOG")
            .output()
            .unwrap()
    }

    /// Runs a command that must succeed; returns its stdout.
    #[track_caller]
    pub fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "kartoteka {args:?} failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// Runs a command with `--json` that must succeed; returns the one JSON document.
    #[track_caller]
    pub fn json(&self, args: &[&str]) -> Value {
        let mut with_json = vec!["--json"];
        with_json.extend_from_slice(args);
        let stdout = self.ok(&with_json);
        serde_json::from_str(&stdout)
            .unwrap_or_else(|error| panic!("not one JSON document ({error}):\n{stdout}"))
    }

    /// Runs a command that must fail; returns its stderr.
    #[track_caller]
    pub fn fails(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(!output.status.success(), "kartoteka {args:?} succeeded but should have failed");
        assert!(output.stdout.is_empty(), "a failed command printed to stdout");
        String::from_utf8(output.stderr).unwrap()
    }
}

impl Default for Kartoteka {
    fn default() -> Self {
        Self::new()
    }
}
