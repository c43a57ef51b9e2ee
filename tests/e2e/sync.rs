//! Sync through the real relay binary on 127.0.0.1, between replicas driven by
//! the real `kartoteka` binary.

use kartoteka_e2e::{Kartoteka, Relay};
use serde_json::Value;

/// An office with demo clients, and a technician's replica of the same workspace,
/// both connected to `relay` and in sync.
fn office_and_technician(relay: &Relay, clients: usize) -> (Kartoteka, Kartoteka) {
    let office = Kartoteka::init("Serviss SIA", "office");
    office.ok(&["demo", "generate", "--clients", &clients.to_string(), "--seed", "3"]);
    let technician = Kartoteka::join(&office.workspace_id(), "laptop-anna");
    office.connect(relay);
    technician.connect(relay);
    office.ok(&["sync"]);
    technician.ok(&["sync"]);
    // The technician's join (its device entry) reaches the office.
    office.ok(&["sync"]);
    (office, technician)
}

fn nth_client(replica: &Kartoteka, index: usize) -> String {
    replica.json(&["catalog", "--all"])["clients"][index]["short_id"].as_str().unwrap().to_owned()
}

fn card(replica: &Kartoteka, client: &str) -> Value {
    replica.json(&["client", "show", client])
}

#[test]
fn two_technicians_edit_offline_and_converge() {
    let relay = Relay::start();
    let (office, technician) = office_and_technician(&relay, 30);
    assert_eq!(office.json(&["catalog", "--all"]), technician.json(&["catalog", "--all"]));

    let profile = nth_client(&office, 3);
    let contested = nth_client(&office, 7);
    office.ok(&["client", "edit", &profile, "--comments", "Keys at reception."]);
    office.ok(&["sync"]);
    technician.ok(&["sync"]);
    // Offline on both devices: different fields, the same comments, the same field.
    office.ok(&["client", "edit", &profile, "--vat-id", "LV40003999999"]);
    technician.ok(&["client", "edit", &profile, "--city", "Jūrmala"]);
    office.ok(&[
        "client",
        "edit",
        &profile,
        "--comments",
        "Keys at reception. Deliveries before 9.",
    ]);
    technician.ok(&["client", "edit", &profile, "--comments", "Ring twice. Keys at reception."]);
    office.ok(&["client", "edit", &contested, "--industry", "Catering"]);
    technician.ok(&["client", "edit", &contested, "--industry", "Hotel restaurant"]);

    for replica in [&office, &technician, &office] {
        replica.ok(&["sync"]);
    }
    let merged = card(&office, &profile);
    assert_eq!(merged, card(&technician, &profile), "both devices show the same card");
    assert_eq!(merged["vat_id"], "LV40003999999");
    assert_eq!(merged["address"]["city"], "Jūrmala");
    assert_eq!(merged["comments"], "Ring twice. Keys at reception. Deliveries before 9.");
    assert!(merged["conflicts"].as_array().unwrap().is_empty());

    let contested_card = card(&office, &contested);
    assert_eq!(contested_card, card(&technician, &contested));
    for replica in [&office, &technician] {
        let conflicts = replica.json(&["conflicts"]);
        assert_eq!(conflicts["count"], 1, "{conflicts}");
        assert_eq!(conflicts["conflicts"][0]["field"], "/profile/industry");
    }

    // Resolving on one device clears it everywhere after sync.
    technician.ok(&[
        "conflicts",
        &contested,
        "--resolve",
        "/profile/industry",
        "--value",
        "Restaurant & hotel",
    ]);
    technician.ok(&["sync"]);
    office.ok(&["sync"]);
    assert_eq!(office.json(&["conflicts"])["count"], 0);
    assert_eq!(card(&office, &contested)["industry"], "Restaurant & hotel");
    assert_eq!(office.json(&["catalog", "--all"]), technician.json(&["catalog", "--all"]));
}

#[test]
fn a_fresh_replica_receives_everything() {
    let relay = Relay::start();
    let (office, _technician) = office_and_technician(&relay, 40);
    let third = Kartoteka::join(&office.workspace_id(), "branch-liepaja");
    third.connect(&relay);
    let report = third.json(&["sync"]);
    assert!(report["documents_received"].as_u64().unwrap() >= 42, "{report}");
    // It came as the workspace bundle, not a handshake per document.
    assert!(report["messages_sent"].as_u64().unwrap() < 10, "{report}");
    assert_eq!(third.json(&["catalog", "--all"]), office.json(&["catalog", "--all"]));
    assert_eq!(third.json(&["group", "list"]), office.json(&["group", "list"]));
    let status = third.json(&["status"]);
    assert_eq!(status["workspace_name"], "Serviss SIA");

    // A second sync with nothing new exchanges nothing.
    let again = third.json(&["sync"]);
    assert_eq!(again["documents_synced"], 0, "{again}");
}

#[test]
fn long_steps_write_progress_lines_when_stderr_is_not_a_terminal() {
    let relay = Relay::start();
    let office = Kartoteka::init("Serviss SIA", "office");
    office.ok(&["demo", "generate", "--clients", "250", "--visits", "0", "--invoices", "0"]);
    office.connect(&relay);
    office.ok(&["sync"]);
    let fresh = Kartoteka::join(&office.workspace_id(), "branch-liepaja");
    fresh.connect(&relay);
    // A script's stderr is a pipe: lines, not a bar (every 0 s here, 5 s by default).
    let synced = fresh.command(&["sync"]).env("KARTOTEKA_PROGRESS_SECONDS", "0").output().unwrap();
    assert!(synced.status.success());
    let stderr = String::from_utf8(synced.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("syncing documents")).collect();
    assert!(lines.len() >= 2, "{stderr}");
    assert!(lines.iter().all(|line| line.contains(" of ") && line.contains(" %")), "{stderr}");
    assert!(lines.last().unwrap().contains("(100 %)"), "{stderr}");
    assert!(stderr.contains("downloading the workspace: documents 25"), "{stderr}");

    let rebuilt =
        fresh.command(&["reindex"]).env("KARTOTEKA_PROGRESS_SECONDS", "0").output().unwrap();
    assert!(rebuilt.status.success());
    let stderr = String::from_utf8(rebuilt.stderr).unwrap();
    assert!(stderr.contains("rebuilding the query tables: documents 0 of "), "{stderr}");
    assert!(stderr.contains("(100 %)"), "{stderr}");
    // Without the setting, a short step writes nothing.
    assert!(fresh.run(&["reindex"]).stderr.is_empty());
}

#[test]
fn a_reconnect_costs_only_what_changed() {
    let relay = Relay::start();
    let (office, technician) = office_and_technician(&relay, 60);
    for index in 0..5 {
        let client = nth_client(&office, index);
        office.ok(&["client", "edit", &client, "--industry", &format!("Edited {index}")]);
    }
    let pushed = office.json(&["sync"]);
    assert_eq!(pushed["documents_synced"], 5, "{pushed}");
    let pulled = technician.json(&["sync"]);
    assert_eq!(pulled["documents_synced"], 5, "{pulled}");
    assert_eq!(pulled["documents_received"], 5, "{pulled}");
}

#[test]
fn acknowledged_changes_survive_a_relay_killed_mid_sync() {
    let mut relay = Relay::start();
    let office = Kartoteka::init("Serviss SIA", "office");
    office.ok(&["demo", "generate", "--clients", "1500", "--seed", "4"]);
    office.connect(&relay);
    let syncing = office.spawn(&["sync"]);
    std::thread::sleep(std::time::Duration::from_millis(700));
    relay.kill();
    let interrupted = syncing.wait_with_output().unwrap();
    relay.restart();

    // Whatever the relay acknowledged before it died is on its disk; the office
    // re-sends the rest and the relay converges.
    let resumed = office.json(&["sync"]);
    assert!(resumed["documents_synced"].as_u64().unwrap() > 0, "{resumed}");
    if interrupted.status.success() {
        eprintln!("note: the first sync finished before the kill");
    }
    let technician = Kartoteka::join(&office.workspace_id(), "laptop-anna");
    technician.connect(&relay);
    technician.ok(&["sync"]);
    assert_eq!(technician.json(&["catalog", "--all"]), office.json(&["catalog", "--all"]));
    let again = office.json(&["sync"]);
    assert_eq!(again["documents_sent"], 0, "nothing left to send: {again}");
}

#[test]
fn a_full_relay_says_so_and_loses_nothing() {
    let mut relay = Relay::start_with(&["--max-database-bytes", "400000"]);
    let office = Kartoteka::init("Serviss SIA", "office");
    office.ok(&["demo", "generate", "--clients", "400", "--seed", "5"]);
    office.connect(&relay);
    let error = office.fails(&["sync"]);
    assert!(error.contains("the relay's storage is full"), "{error}");
    assert!(!error.contains("Broken pipe") && !error.contains("reset"), "{error}");

    // Space is freed (here: the limit lifted); the next sync sends the rest.
    relay.restart_with(&[]);
    office.ok(&["sync"]);
    let technician = Kartoteka::join(&office.workspace_id(), "laptop-anna");
    technician.connect(&relay);
    technician.ok(&["sync"]);
    assert_eq!(technician.json(&["catalog", "--all"]), office.json(&["catalog", "--all"]));
}

#[test]
fn sigterm_stops_the_relay_cleanly() {
    let mut relay = Relay::start();
    let (office, _) = office_and_technician(&relay, 5);
    drop(office);
    assert!(relay.terminate(), "the relay exits 0 on SIGTERM:\n{}", relay.log());
    assert!(relay.log().contains("relay stopped"), "{}", relay.log());
}

#[test]
fn bad_tokens_are_refused_with_a_clear_error() {
    let relay = Relay::start();
    let office = Kartoteka::init("Serviss SIA", "office");
    let workspace = office.workspace_id();

    office.ok(&[
        "remote",
        "add",
        &relay.url,
        "--token",
        "kt1_00000000000000000000000000000000_forged",
    ]);
    let error = office.fails(&["sync"]);
    assert!(error.contains("refused this device's token"), "{error}");

    let revoked = relay.token(&workspace, "office", false);
    let revoked_id = revoked.split('_').nth(1).unwrap().to_owned();
    relay.admin(&["token", "revoke", &revoked_id]);
    office.ok(&["remote", "add", &relay.url, "--token", &revoked]);
    let error = office.fails(&["sync"]);
    assert!(error.contains("refused this device's token"), "{error}");

    let other_workspace = Kartoteka::init("Other company", "office");
    let foreign = relay.token(&other_workspace.workspace_id(), "office", false);
    office.ok(&["remote", "add", &relay.url, "--token", &foreign]);
    let error = office.fails(&["sync"]);
    assert!(error.contains("opens workspace"), "{error}");

    let wrong_device = relay.token(&workspace, "someone-else", false);
    office.ok(&["remote", "add", &relay.url, "--token", &wrong_device]);
    let error = office.fails(&["sync"]);
    assert!(error.contains("device name of the token"), "{error}");

    // The relay still serves a correct token.
    office.connect(&relay);
    office.ok(&["sync"]);
}

#[test]
fn a_read_only_device_receives_but_its_changes_are_refused() {
    let relay = Relay::start();
    let (office, _) = office_and_technician(&relay, 10);
    let auditor = Kartoteka::join(&office.workspace_id(), "auditor");
    let token = relay.token(&office.workspace_id(), "auditor", true);
    auditor.ok(&["remote", "add", &relay.url, "--token", &token]);
    let error = auditor.fails(&["sync"]);
    // Joining registers the device in the workspace document: a change, refused.
    assert!(error.contains("read-only"), "{error}");
    assert!(relay.log().contains("refused changes from a read-only token"), "{}", relay.log());
}

#[test]
fn watch_mode_pushes_edits_and_applies_others_live() {
    let relay = Relay::start();
    let (office, technician) = office_and_technician(&relay, 8);
    let mut watcher = technician.spawn(&["sync", "--watch"]);
    let client = nth_client(&office, 2);
    office.ok(&["client", "edit", &client, "--industry", "Live edit"]);
    office.ok(&["sync"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if card(&technician, &client)["industry"] == "Live edit" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the watcher never applied the edit");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // And an edit on the watching device goes out without another command.
    technician.ok(&["client", "edit", &client, "--city", "Sigulda"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        office.ok(&["sync"]);
        if card(&office, &client)["address"]["city"] == "Sigulda" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the watcher never pushed the edit");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let _ = watcher.kill();
    let _ = watcher.wait();
}
