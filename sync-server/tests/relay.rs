//! The relay binary's own contract (its integration test also makes `cargo test`
//! build the `kartoteka-relay` binary that the end-to-end tests in `tests/` run).

#![allow(clippy::unwrap_used, reason = "test code: a panic is a failed test")]

use std::process::Command;

#[test]
fn a_token_is_printed_once_and_listed_without_its_secret() {
    let data = tempfile::tempdir().unwrap();
    let relay = env!("CARGO_BIN_EXE_kartoteka-relay");
    let workspace = "0192e4c8-7b1a-4c3e-9f00-3d2a1b4c5d6e";
    let issued = Command::new(relay)
        .args([
            "--data",
            data.path().to_str().unwrap(),
            "token",
            "issue",
            "--workspace",
            workspace,
            "--device",
            "d1",
        ])
        .output()
        .unwrap();
    assert!(issued.status.success());
    let token = String::from_utf8(issued.stdout).unwrap();
    assert!(token.starts_with("kt1_"), "{token}");
    let listed = Command::new(relay)
        .args(["--data", data.path().to_str().unwrap(), "token", "list"])
        .output()
        .unwrap();
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert!(listed.contains("d1"), "{listed}");
    assert!(
        !listed.contains(token.trim().rsplit('_').next().unwrap()),
        "the secret is never shown again"
    );
}
