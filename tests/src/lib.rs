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

pub mod js;
pub mod raw;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;
use tempfile::TempDir;

/// The path of a binary built by this workspace (`kartoteka`, `kartoteka-relay`).
///
/// Cargo builds the binaries before the tests when the whole workspace is tested
/// (`cargo test --workspace`, the README's command). When only this package is
/// tested and a binary is missing, the first call builds it with the cargo that
/// runs the tests. (It does not rebuild binaries that exist: a build for a
/// different package selection unifies other features and would rebuild the
/// dependencies each time.)
pub fn binary(name: &str) -> PathBuf {
    static BUILT: std::sync::Once = std::sync::Once::new();
    let exe = std::env::current_exe().expect("the test executable has a path");
    let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps layout");
    let path = profile_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    BUILT.call_once(|| {
        let built = ["kartoteka", "kartoteka-relay"].iter().all(|binary| {
            profile_dir.join(format!("{binary}{}", std::env::consts::EXE_SUFFIX)).exists()
        });
        if built {
            return;
        }
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = Command::new(cargo);
        build.args(["build", "--quiet", "-p", "client-cli", "-p", "sync-server", "--bins"]);
        if exe.components().any(|part| part.as_os_str() == "release") {
            build.arg("--release");
        }
        let status = build.status().expect("cargo runs");
        assert!(status.success(), "building the binaries under test failed");
    });
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
        self.command(args).output().unwrap()
    }

    /// The command `kartoteka --home <dir> ARGS…`, to add to before running it.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(binary("kartoteka"));
        command
            .arg("--home")
            .arg(self.home.path())
            .args(args)
            .env_remove("KARTOTEKA_HOME")
            .env_remove("RUST_LOG")
            .env_remove("KARTOTEKA_PROGRESS_SECONDS");
        command
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
        strict_json(&stdout).unwrap_or_else(|error| {
            panic!(
                "kartoteka {args:?}: not one JSON document with unique keys ({error}):\n{stdout}"
            )
        })
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

impl Kartoteka {
    /// The replica's workspace id.
    pub fn workspace_id(&self) -> String {
        self.json(&["status"])["workspace_id"].as_str().unwrap().to_owned()
    }

    /// This device's tag, the end of every invoice number it issues.
    pub fn device_tag(&self) -> String {
        self.json(&["invoice", "series"])["device_tag"].as_str().unwrap().to_owned()
    }

    /// The number `base` (`2026-B01-0001`) as this device issues it, tag appended.
    pub fn number(&self, base: &str) -> String {
        format!("{base}-{}", self.device_tag())
    }

    /// A replica joining `workspace` as `device`.
    pub fn join(workspace: &str, device: &str) -> Self {
        let kartoteka = Self::new();
        kartoteka.ok(&["init", "--workspace-id", workspace, "--device", device]);
        kartoteka
    }

    /// Configures `relay` with a fresh token for this replica's device.
    pub fn connect(&self, relay: &Relay) {
        let status = self.json(&["status"]);
        let token = relay.token(
            status["workspace_id"].as_str().unwrap(),
            status["device_name"].as_str().unwrap(),
            false,
        );
        self.ok(&["remote", "add", &relay.url, "--token", &token]);
    }

    /// Starts `kartoteka ARGS…` without waiting for it; stderr is piped.
    pub fn spawn_quiet(&self, args: &[&str]) -> Child {
        Command::new(binary("kartoteka"))
            .arg("--home")
            .arg(self.home.path())
            .args(args)
            .env_remove("KARTOTEKA_HOME")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Starts `kartoteka ARGS…` without waiting for it.
    pub fn spawn(&self, args: &[&str]) -> Child {
        Command::new(binary("kartoteka"))
            .arg("--home")
            .arg(self.home.path())
            .args(args)
            .env_remove("KARTOTEKA_HOME")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }
}

/// A `kartoteka-relay` process on 127.0.0.1 with its own data directory.
#[derive(Debug)]
pub struct Relay {
    child: Option<Child>,
    data: TempDir,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    listen: String,
    extra_args: Vec<String>,
}

impl Relay {
    /// Starts a relay on a free port.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts a relay with extra `serve` arguments (e.g. `--max-blob-bytes`).
    pub fn start_with(extra_args: &[&str]) -> Self {
        let mut relay = Self {
            child: None,
            data: tempfile::tempdir().unwrap(),
            url: String::new(),
            listen: "127.0.0.1:0".to_owned(),
            extra_args: extra_args.iter().map(|arg| (*arg).to_owned()).collect(),
        };
        relay.launch();
        relay
    }

    fn launch(&mut self) {
        let log = std::fs::File::create(self.data.path().join("relay.log")).unwrap();
        let mut child = Command::new(binary("kartoteka-relay"))
            .arg("--data")
            .arg(self.data.path())
            .args(["serve", "--listen", &self.listen])
            .args(&self.extra_args)
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        // "kartoteka-relay listening on http://127.0.0.1:PORT" (https with TLS).
        let url = line.trim().rsplit(' ').next().unwrap_or_default().to_owned();
        let address = url.split("://").nth(1).unwrap_or_default().to_owned();
        assert!(address.contains(':'), "unexpected relay output: {line:?}\n{}", self.log());
        self.listen = address;
        self.url = url;
        self.child = Some(child);
    }

    /// The relay process's id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The relay process's peak resident set size so far, in KB (Linux).
    pub fn peak_rss_kb(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// The relay's data directory.
    pub fn data(&self) -> &Path {
        self.data.path()
    }

    /// What the relay logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data.path().join("relay.log")).unwrap_or_default()
    }

    /// Issues a token with the relay's admin command.
    pub fn token(&self, workspace: &str, device: &str, read_only: bool) -> String {
        let mut command = Command::new(binary("kartoteka-relay"));
        command.arg("--data").arg(self.data.path()).args([
            "token",
            "issue",
            "--workspace",
            workspace,
            "--device",
            device,
        ]);
        if read_only {
            command.arg("--read-only");
        }
        let output = command.output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    }

    /// Runs a relay admin command and returns its stdout.
    pub fn admin(&self, args: &[&str]) -> String {
        let output = Command::new(binary("kartoteka-relay"))
            .arg("--data")
            .arg(self.data.path())
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    }

    /// Kills the relay with SIGKILL: no flushing, no goodbye.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the relay with SIGTERM and waits; returns whether it exited cleanly.
    pub fn terminate(&mut self) -> bool {
        let Some(mut child) = self.child.take() else { return false };
        let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        child.wait().unwrap().success()
    }

    /// Starts the relay again on the same address and data directory.
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    /// Starts the relay again on the same address and data directory, with other
    /// extra `serve` arguments.
    pub fn restart_with(&mut self, extra_args: &[&str]) {
        self.extra_args = extra_args.iter().map(|arg| (*arg).to_owned()).collect();
        self.restart();
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Default for Kartoteka {
    fn default() -> Self {
        Self::new()
    }
}

/// Parses one JSON document, refusing duplicate keys in any object (serde_json
/// keeps the last of them silently, so `"notices": 2, "notices": […]` would
/// pass unnoticed).
pub fn strict_json(text: &str) -> Result<Value, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let StrictValue(value) = serde::Deserialize::deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

/// A JSON value read by [`StrictVisitor`].
struct StrictValue(Value);

impl<'de> serde::Deserialize<'de> for StrictValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

/// Builds a `serde_json::Value` like serde_json's own visitor, except that a
/// key seen twice in one object is an error.
struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(serde::de::Error::custom(format!("duplicate key {key:?}")));
            }
            let StrictValue(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::strict_json;

    #[test]
    fn duplicate_keys_are_refused_at_any_depth() {
        assert!(strict_json(r#"{"a": 1, "b": [{"c": null, "d": 2.5}]}"#).is_ok());
        let error = strict_json(r#"{"notices": 2, "notices": []}"#).unwrap_err().to_string();
        assert!(error.contains("duplicate key \"notices\""), "{error}");
        assert!(strict_json(r#"[{"x": {"files": 1, "files": 2}}]"#).is_err());
        assert!(strict_json(r#"{"a": 1} {"b": 2}"#).is_err(), "two documents");
    }
}
