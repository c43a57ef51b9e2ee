//! A document whose sync fails in a round is synced again in the next one,
//! even when it reached the replica only through the change feed and does not
//! change again at the relay.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a panic is a failed test")]

use doc_model::DocId;
use domain::{ClientEdit, ClientId, ProfileField};
use sync_protocol::DocumentId;
use sync_sim::{Faults, REMOTE, Sim};

#[test]
fn a_document_that_failed_to_apply_is_retried_though_the_feed_cursor_moved_past_it() {
    let mut sim = Sim::new(7, 2, Faults::NONE).unwrap();
    let client = ClientId::from_bytes([7; 16]);
    sim.local(0, |replica, _| {
        let name = ClientEdit::Field(ProfileField::Name, "Ozols SIA".to_owned());
        replica.create_client_with_id(client, &[name]).unwrap();
    })
    .unwrap();
    // Device 0 pushes while device 1 is offline: device 1 learns of the client
    // only from the change feed when it connects.
    sim.settle(&[0]).unwrap();
    let document = DocumentId::from_bytes(*DocId::client(client).as_bytes());
    sim.replicas[1].armed.fail_apply.insert(document);

    sim.settle(&[1]).unwrap();

    assert!(sim.replicas[1].armed.fail_apply.is_empty(), "the failure was not injected");
    let device = &mut sim.replicas[1].replica;
    assert_eq!(device.client(client).unwrap().profile.name, "Ozols SIA");
    assert!(device.sync_retries(REMOTE).unwrap().is_empty());
    sim.run_until_quiescent().unwrap();
    sim.check().unwrap();
    // On a network without faults no replica ever waited for an answer in vain.
    assert_eq!(sim.stats().timeouts, 0);
}
