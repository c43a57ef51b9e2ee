//! The binary's own contract: exit codes, stdout versus stderr.
//!
//! (Having an integration test also makes `cargo test` build the `kartoteka`
//! binary that the end-to-end tests in `tests/` drive.)

#![allow(clippy::unwrap_used, reason = "test code: a panic is a failed test")]

use std::process::Command;

#[test]
fn errors_go_to_stderr_with_a_non_zero_exit_code() {
    let home = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_kartoteka"))
        .args(["--home", home.path().to_str().unwrap(), "catalog"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains("kartoteka init"), "{stderr}");
}

#[test]
fn json_output_is_exactly_one_document() {
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_kartoteka"))
            .arg("--home")
            .arg(home.path())
            .args(args)
            .output()
            .unwrap()
    };
    assert!(run(&["init", "--workspace", "W", "--device", "d"]).status.success());
    let output = run(&["--json", "status"]);
    let status: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(status["device_name"], "d");
}
