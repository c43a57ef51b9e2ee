//! Rebuilding the mirror from the documents (`reindex`).

use std::time::Duration;

use uuid::Uuid;

use crate::support::{name, replica};

#[test]
fn a_rebuild_that_meets_a_damaged_document_reports_it_instead_of_hanging() {
    let mut anna = replica(Uuid::new_v4(), "laptop-anna");
    // More documents than the reading thread may be ahead of the writing one.
    for index in 0..150 {
        anna.create_client(&[name(&format!("Client {index}"))]).unwrap();
    }
    // The first document a rebuild reads is damaged behind the replica's back.
    let database = anna.dir.path().join(replica_store::DATABASE_FILE);
    rusqlite::Connection::open(&database)
        .unwrap()
        .execute(
            "UPDATE doc_store SET heads = x'00' WHERE doc_id = (SELECT MIN(doc_id) FROM doc_store)",
            [],
        )
        .unwrap();

    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let result = anna.reindex().map_err(|error| error.to_string());
        let _ = done.send(result);
    });
    let result = finished
        .recv_timeout(Duration::from_secs(60))
        .expect("the rebuild returns instead of waiting for its reading thread forever");
    let error = result.expect_err("a damaged document fails the rebuild");
    assert!(error.contains("damaged"), "{error}");
}
