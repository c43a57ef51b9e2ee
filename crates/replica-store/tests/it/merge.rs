//! Two replicas edit offline and exchange documents: what the product promises
//! about merging, shown through queries.

use doc_model::{DocId, Resolution};
use domain::{AddressPart, ClientEdit, ProfileField, UnitId};
use uuid::Uuid;

use crate::support::{field, name, replica, send_all, unit, visible};

#[test]
fn offline_edits_of_one_profile_merge_without_loss() {
    let workspace = Uuid::new_v4();
    let mut anna = replica(workspace, "laptop-anna");
    let mut otto = replica(workspace, "laptop-otto");
    let client = anna
        .create_client(&[
            name("Ķiploks SIA"),
            ClientEdit::Comments("Deliveries at the back door.".to_owned()),
        ])
        .unwrap();
    send_all(&mut anna, &mut otto);

    // Offline: different fields, the same comment text, and the same field.
    anna.edit_client(client, &[field(ProfileField::VatId, "LV40003000001")]).unwrap();
    otto.edit_client(client, &[field(ProfileField::Address(AddressPart::City), "Jūrmala")])
        .unwrap();
    anna.edit_client(
        client,
        &[ClientEdit::Comments("Deliveries at the back door before 9.".to_owned())],
    )
    .unwrap();
    otto.edit_client(
        client,
        &[ClientEdit::Comments("Ring! Deliveries at the back door.".to_owned())],
    )
    .unwrap();
    anna.edit_client(client, &[field(ProfileField::Industry, "Restaurant")]).unwrap();
    otto.edit_client(client, &[field(ProfileField::Industry, "Catering")]).unwrap();

    send_all(&mut anna, &mut otto);
    send_all(&mut otto, &mut anna);

    let card = anna.card(client, crate::support::today()).unwrap();
    assert_eq!(card.vat_id, "LV40003000001");
    assert_eq!(card.address.city, "Jūrmala");
    assert_eq!(card.comments, "Ring! Deliveries at the back door before 9.");
    assert!(["Restaurant", "Catering"].contains(&card.industry.as_str()));
    assert_eq!(card.conflicts.len(), 1);
    assert_eq!(card.conflicts[0].field, "/profile/industry");
    let mut values: Vec<&str> = card.conflicts[0].values.iter().map(|v| v.value.as_str()).collect();
    values.sort_unstable();
    assert_eq!(values, ["Catering", "Restaurant"]);
    assert_eq!(visible(&anna), visible(&otto));

    // Otto resolves by typing a new value; after the next exchange nobody sees a conflict.
    otto.resolve_conflict(
        DocId::client(client),
        "/profile/industry",
        &Resolution::Value("Restaurant & catering".to_owned()),
    )
    .unwrap();
    send_all(&mut otto, &mut anna);
    let card = anna.card(client, crate::support::today()).unwrap();
    assert_eq!(card.industry, "Restaurant & catering");
    assert!(card.conflicts.is_empty());
    assert!(anna.conflicts(None).unwrap().is_empty());
    assert_eq!(visible(&anna), visible(&otto));
}

#[test]
fn an_edit_concurrent_with_archiving_survives() {
    let workspace = Uuid::new_v4();
    let mut anna = replica(workspace, "laptop-anna");
    let mut otto = replica(workspace, "laptop-otto");
    let client = anna.create_client(&[name("Old Times SIA")]).unwrap();
    let kitchen = UnitId::random();
    send_all(&mut anna, &mut otto);
    anna.edit_client(client, &[ClientEdit::Archived(true)]).unwrap();
    otto.edit_client(
        client,
        &[unit(kitchen, "Kitchen", "Rīga"), field(ProfileField::RegNo, "40000000000")],
    )
    .unwrap();
    send_all(&mut anna, &mut otto);
    send_all(&mut otto, &mut anna);
    for replica in [&anna, &otto] {
        let card = replica.card(client, crate::support::today()).unwrap();
        assert!(card.archived);
        assert_eq!(card.reg_no, "40000000000");
        assert_eq!(card.units.len(), 1);
        assert!(
            crate::support::catalog_names(replica, "*").is_empty(),
            "archived clients leave the default catalog"
        );
    }
}

#[test]
fn the_mirror_after_merges_equals_a_rebuilt_mirror() {
    let workspace = Uuid::new_v4();
    let mut anna = replica(workspace, "laptop-anna");
    let mut otto = replica(workspace, "laptop-otto");
    let group = anna.create_group("Key accounts").unwrap();
    for index in 0..20 {
        let client = anna
            .create_client(&[
                name(&format!("Client {index}")),
                unit(UnitId::random(), "Site", "Rīga"),
            ])
            .unwrap();
        if index % 3 == 0 {
            anna.edit_client(client, &[ClientEdit::Group(Some(group))]).unwrap();
        }
    }
    send_all(&mut anna, &mut otto);
    for row in otto.catalog(&Default::default()).unwrap().into_iter().take(10) {
        let client = row.id.parse().unwrap();
        otto.edit_client(client, &[field(ProfileField::Industry, "Retail")]).unwrap();
        anna.edit_client(client, &[field(ProfileField::Industry, "Wholesale")]).unwrap();
    }
    otto.rename_group(group, "Key accounts 2027").unwrap();
    send_all(&mut anna, &mut otto);
    send_all(&mut otto, &mut anna);

    let incremental = visible(&otto);
    assert_eq!(incremental.conflicts.len(), 10);
    assert_eq!(incremental.groups[0].name, "Key accounts 2027");
    otto.reindex().unwrap();
    assert_eq!(visible(&otto), incremental);
    assert_eq!(visible(&anna), incremental);
}

#[test]
fn a_document_that_claims_another_id_is_rejected() {
    let workspace = Uuid::new_v4();
    let mut anna = replica(workspace, "laptop-anna");
    let mut otto = replica(workspace, "laptop-otto");
    let client = anna.create_client(&[name("Acme")]).unwrap();
    let bytes = anna.export_document(DocId::client(client)).unwrap();
    let wrong_id = DocId::client(domain::ClientId::random());
    let error = otto.merge_document(wrong_id, &bytes).unwrap_err();
    assert!(error.to_string().contains("different document id"), "{error}");
    assert!(otto.catalog(&Default::default()).unwrap().is_empty());
    assert!(otto.merge_document(DocId::client(client), b"not automerge").is_err());
    assert!(otto.catalog(&Default::default()).unwrap().is_empty());
}
