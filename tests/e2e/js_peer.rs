//! Interoperability with the JavaScript automerge-repo client, unmodified from
//! the npm registry (`tests/js`), through the real relay binary: it edits a
//! client document the way the document layout expects, and a peer the relay
//! refuses learns why.

use std::io::{BufRead, BufReader, Read};
use std::process::Child;
use std::time::{Duration, Instant};

use kartoteka_e2e::raw::ws_url;
use kartoteka_e2e::{Kartoteka, Relay, js};
use serde_json::Value;
use sync_protocol::DocumentId;

/// The first JSON line the peer prints on stdout, or what it printed on stderr.
fn next_line(child: &mut Child, stdout: &mut BufReader<std::process::ChildStdout>) -> Value {
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    if line.is_empty() {
        let mut stderr = String::new();
        child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
        panic!("the JS peer printed nothing; it said:\n{stderr}");
    }
    serde_json::from_str(&line).unwrap()
}

/// The automerge URL of the client's own document, as `client urls` prints it.
fn client_url(office: &Kartoteka, client_id: &str) -> String {
    let documents = office.json(&["client", "urls", client_id]);
    let client = documents.as_array().unwrap().iter().find(|d| d["document"] == "client").unwrap();
    client["url"].as_str().unwrap().to_owned()
}

#[test]
fn a_javascript_peer_edits_a_client_document_and_the_card_shows_it() {
    let relay = Relay::start();
    let office = Kartoteka::init("Serviss SIA", "office");
    office.ok(&["client", "add", "--name", "Ķiploks SIA", "--city", "Rīga"]);
    office.connect(&relay);
    office.ok(&["sync"]);
    let client_id = office.json(&["catalog"])["clients"][0]["id"].as_str().unwrap().to_owned();
    let token = relay.token(&office.workspace_id(), "js-peer", false);
    let url = format!("{}?token={token}", ws_url(&relay));
    let document = client_url(&office, &client_id);
    let Some(mut command) =
        js::peer(&["edit", &url, "js-peer", &document, "industry", "Edited in JavaScript"])
    else {
        return;
    };
    let mut child = command.spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let found = next_line(&mut child, &mut stdout);
    assert_eq!(found["name"], "Ķiploks SIA", "{found}");
    assert_eq!(next_line(&mut child, &mut stdout)["edited"], true);

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        office.ok(&["sync"]);
        let card = office.json(&["client", "show", &client_id]);
        if card["industry"] == "Edited in JavaScript" {
            // The edit is an ordinary profile field: the office edits it again.
            office.ok(&["client", "edit", &client_id, "--industry", "Edited in the office"]);
            assert_eq!(
                office.json(&["client", "show", &client_id])["industry"],
                "Edited in the office"
            );
            break;
        }
        assert!(Instant::now() < deadline, "the JS peer's edit never reached the office: {card}");
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
}

#[test]
fn the_card_and_client_urls_name_every_document_of_a_client() {
    let office = Kartoteka::init("Serviss SIA", "office");
    office.ok(&["client", "add", "--name", "Ķiploks SIA"]);
    let client_id = office.json(&["catalog"])["clients"][0]["id"].as_str().unwrap().to_owned();
    for date in ["2025-03-01", "2026-09-01"] {
        let draft = office.json(&[
            "invoice",
            "new",
            &client_id,
            "--date",
            date,
            "--line",
            "Wartung=2 h x 50 @ 19",
        ]);
        office.ok(&["invoice", "issue", draft["id"].as_str().unwrap()]);
    }
    let urls = office.json(&["client", "urls", &client_id]);
    let card = office.json(&["client", "show", &client_id]);
    assert_eq!(card["automerge_documents"], urls);
    let documents = urls.as_array().unwrap();
    let kinds: Vec<(&str, Option<i64>)> =
        documents.iter().map(|d| (d["document"].as_str().unwrap(), d["year"].as_i64())).collect();
    assert_eq!(kinds, [("client", None), ("invoices", Some(2025)), ("invoices", Some(2026))]);
    for document in documents {
        // The URL is automerge-repo's: `automerge:` and the bs58check of the id.
        let id: DocumentId = document["document_id"].as_str().unwrap().parse().unwrap();
        assert_eq!(document["url"], format!("automerge:{id}"));
    }
    assert_eq!(documents[0]["document_id"], client_id.as_str());
    let text = office.ok(&["client", "urls", &client_id]);
    assert!(text.contains("invoices  2025"), "{text}");
}

#[test]
fn a_javascript_peer_with_another_devices_id_is_told_why() {
    let relay = Relay::start();
    let office = Kartoteka::init("Serviss SIA", "office");
    office.ok(&["client", "add", "--name", "Ķiploks SIA"]);
    office.connect(&relay);
    office.ok(&["sync"]);
    let client_id = office.json(&["catalog"])["clients"][0]["id"].as_str().unwrap().to_owned();
    let token = relay.token(&office.workspace_id(), "js-peer", false);
    let url = format!("{}?token={token}", ws_url(&relay));
    // The token is the JS peer's, but it claims to be the office.
    let Some(mut command) = js::peer(&["find", &url, "office", &client_url(&office, &client_id)])
    else {
        return;
    };
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let outcome: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(outcome["found"], false, "{outcome}");
    // What the relay said reaches the peer: its adapter logs the error message.
    let said = stderr.lines().find(|line| line.contains("error: ")).unwrap_or_else(|| {
        panic!("the JS peer never heard the relay's reason; it logged:\n{stderr}")
    });
    assert!(said.contains("device name of the token"), "{said}");
    assert!(said.contains("js-peer"), "the reason names the token's device: {said}");
}
