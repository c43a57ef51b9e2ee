//! The relay over TLS: a certificate the test makes, verified by the replica,
//! renewed without a restart; plain http only to this machine.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kartoteka_e2e::{Kartoteka, Relay};

/// A certificate authority and a relay certificate it signed, as PEM files.
struct Certificates {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

fn make_certificates(dir: &Path, name: &str) -> Certificates {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, format!("{name} CA"));
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let leaf_params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = leaf_params.signed_by(&leaf_key, &ca).unwrap();
    let files = Certificates {
        ca: dir.join(format!("{name}-ca.pem")),
        cert: dir.join(format!("{name}-cert.pem")),
        key: dir.join(format!("{name}-key.pem")),
    };
    std::fs::write(&files.ca, ca.pem()).unwrap();
    std::fs::write(&files.cert, leaf.pem()).unwrap();
    std::fs::write(&files.key, leaf_key.serialize_pem()).unwrap();
    files
}

#[test]
fn replicas_sync_over_tls_verify_the_relay_and_follow_a_renewed_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let first = make_certificates(dir.path(), "first");
    let cert = dir.path().join("relay-cert.pem");
    let key = dir.path().join("relay-key.pem");
    std::fs::copy(&first.cert, &cert).unwrap();
    std::fs::copy(&first.key, &key).unwrap();
    let relay = Relay::start_with(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    assert!(relay.url.starts_with("https://"), "{}", relay.url);

    let office = Kartoteka::init("Serviss SIA", "office");
    office.ok(&["client", "add", "--name", "Kafejnīca Rīts SIA"]);
    let token = relay.token(&office.workspace_id(), "office", false);
    let ca = first.ca.to_str().unwrap();
    office.ok(&["remote", "add", &relay.url, "--token", &token, "--ca-file", ca]);
    office.ok(&["sync"]);

    // A device that does not trust the relay's authority refuses to talk to it.
    let laptop = Kartoteka::join(&office.workspace_id(), "laptop");
    let laptop_token = relay.token(&office.workspace_id(), "laptop", false);
    laptop.ok(&["remote", "add", &relay.url, "--token", &laptop_token]);
    let error = laptop.fails(&["sync"]);
    assert!(error.to_lowercase().contains("certificate"), "{error}");
    laptop.ok(&["remote", "add", &relay.url, "--token", &laptop_token, "--ca-file", ca]);
    laptop.ok(&["sync"]);
    assert_eq!(laptop.json(&["catalog"]), office.json(&["catalog"]));

    // The certificate is renewed (by another authority, to tell them apart) in
    // place; the running relay serves the new one.
    let second = make_certificates(dir.path(), "second");
    std::fs::copy(&second.key, &key).unwrap();
    std::fs::copy(&second.cert, &cert).unwrap();
    let second_ca = second.ca.to_str().unwrap();
    office.ok(&["remote", "add", &relay.url, "--token", &token, "--ca-file", second_ca]);
    let mut renewed = false;
    for _ in 0..40 {
        if office.run(&["sync"]).status.success() {
            renewed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(renewed, "the relay did not pick up the renewed certificate:\n{}", relay.log());
    let error = laptop.fails(&["sync"]);
    assert!(error.to_lowercase().contains("certificate"), "{error}");
}

#[test]
fn plain_http_is_refused_for_another_machine_unless_asked_for() {
    let office = Kartoteka::init("Serviss SIA", "office");
    let error =
        office.fails(&["remote", "add", "http://relay.example.com:8080", "--token", "kt1_x"]);
    assert!(error.contains("unencrypted") && error.contains("--insecure"), "{error}");
    assert!(office.ok(&["remote", "show"]).contains("No relay configured"));
    office.ok(&[
        "remote",
        "add",
        "http://relay.example.com:8080",
        "--token",
        "kt1_x",
        "--insecure",
    ]);
    for loopback in ["http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080"] {
        office.ok(&["remote", "add", loopback, "--token", "kt1_x"]);
    }
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("not-a-ca.pem");
    std::fs::write(&garbage, "hello").unwrap();
    let error = office.fails(&[
        "remote",
        "add",
        "https://relay.example.com",
        "--token",
        "kt1_x",
        "--ca-file",
        garbage.to_str().unwrap(),
    ]);
    assert!(error.contains("certificate authority"), "{error}");
}
