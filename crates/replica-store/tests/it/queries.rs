//! The catalog, the card and lookups on one replica.

use domain::{AddressPart, ChannelKind, ClientEdit, EntryId, ProfileField, UnitId};
use replica_store::{ArchiveFilter, CatalogQuery, CatalogSort, EntryList, Replica, StoreError};
use uuid::Uuid;

use crate::support::{catalog_names, field, name, replica, unit, visible};

fn company(replica: &mut Replica, company_name: &str, city: &str) -> domain::ClientId {
    replica
        .create_client(&[name(company_name), field(ProfileField::Address(AddressPart::City), city)])
        .unwrap()
}

#[test]
fn search_folds_diacritics_and_matches_prefixes_as_the_user_types() {
    let mut replica = replica(Uuid::new_v4(), "office");
    company(&mut replica, "Bērziņš un Partneri SIA", "Rīga");
    company(&mut replica, "Müller Großküchen GmbH", "München");
    company(&mut replica, "Ääsmäe Pagar OÜ", "Tallinn");
    let person = replica
        .create_client(&[
            field(ProfileField::Kind, "person"),
            field(ProfileField::FirstName, "Jānis"),
            field(ProfileField::LastName, "Ozoliņš"),
            field(ProfileField::PersonalCode, "120389-11111"),
        ])
        .unwrap();
    replica
        .edit_client(
            person,
            &[ClientEdit::AddChannel {
                id: EntryId::random(),
                kind: ChannelKind::Phone,
                value: "+371 2912 3456".to_owned(),
                label: "mobile".to_owned(),
            }],
        )
        .unwrap();

    assert_eq!(catalog_names(&replica, "ber"), ["Bērziņš un Partneri SIA"]);
    assert_eq!(catalog_names(&replica, "bērz"), ["Bērziņš un Partneri SIA"]);
    assert_eq!(catalog_names(&replica, "groß"), ["Müller Großküchen GmbH"]);
    assert_eq!(catalog_names(&replica, "grossk"), ["Müller Großküchen GmbH"]);
    assert_eq!(catalog_names(&replica, "mun"), ["Müller Großküchen GmbH"]);
    assert_eq!(catalog_names(&replica, "aas"), ["Ääsmäe Pagar OÜ"]);
    assert_eq!(catalog_names(&replica, "ozol"), ["Jānis Ozoliņš"]);
    assert_eq!(catalog_names(&replica, "1203"), ["Jānis Ozoliņš"]);
    assert_eq!(catalog_names(&replica, "2912"), ["Jānis Ozoliņš"]);
    assert_eq!(catalog_names(&replica, "+3712912"), ["Jānis Ozoliņš"]);
    assert_eq!(catalog_names(&replica, "riga partn"), ["Bērziņš un Partneri SIA"]);
    assert!(catalog_names(&replica, "zzz").is_empty());
    assert_eq!(
        catalog_names(&replica, "*"),
        ["Ääsmäe Pagar OÜ", "Bērziņš un Partneri SIA", "Jānis Ozoliņš", "Müller Großküchen GmbH"]
    );
}

#[test]
fn the_catalog_filters_archived_clients_and_groups_and_sorts_by_column() {
    let mut replica = replica(Uuid::new_v4(), "office");
    let chains = replica.create_group("Restaurant chains").unwrap();
    let riga = company(&mut replica, "Zunda", "Rīga");
    let cesis = company(&mut replica, "Ābele", "Cēsis");
    let old = company(&mut replica, "Old Times", "Bauska");
    replica.edit_client(riga, &[ClientEdit::Group(Some(chains))]).unwrap();
    replica.edit_client(old, &[ClientEdit::Archived(true)]).unwrap();

    assert_eq!(catalog_names(&replica, "*"), ["Ābele", "Zunda"]);
    let query = |archive, group, sort, descending| CatalogQuery {
        text: "*".to_owned(),
        archive,
        group,
        sort,
        descending,
        limit: None,
        as_of: None,
    };
    let names = |query: CatalogQuery| -> Vec<String> {
        replica.catalog(&query).unwrap().into_iter().map(|row| row.name).collect()
    };
    assert_eq!(
        names(query(ArchiveFilter::Archived, None, CatalogSort::Name, false)),
        ["Old Times"]
    );
    assert_eq!(
        names(query(ArchiveFilter::All, None, CatalogSort::City, false)),
        ["Old Times", "Ābele", "Zunda"]
    );
    assert_eq!(
        names(query(ArchiveFilter::All, None, CatalogSort::Name, true)),
        ["Zunda", "Old Times", "Ābele"]
    );
    assert_eq!(
        names(query(ArchiveFilter::Active, Some(chains), CatalogSort::Name, false)),
        ["Zunda"]
    );
    assert_eq!(replica.groups().unwrap()[0].clients, 1);
    // The archived client keeps its card.
    assert!(replica.card(old, crate::support::today()).unwrap().archived);
    assert_eq!(replica.card(cesis, crate::support::today()).unwrap().address.city, "Cēsis");
}

#[test]
fn the_card_lists_units_active_first_and_opens_on_the_main_unit() {
    let mut replica = replica(Uuid::new_v4(), "office");
    let (centrs, osta, noliktava) = (UnitId::random(), UnitId::random(), UnitId::random());
    let client = replica
        .create_client(&[
            name("Ķiploks SIA"),
            unit(centrs, "Centrs", "Rīga"),
            unit(osta, "Osta", "Ventspils"),
            unit(noliktava, "Noliktava", "Rīga"),
        ])
        .unwrap();
    let card = replica.card(client, crate::support::today()).unwrap();
    assert_eq!(card.opened_unit.as_deref(), Some(centrs.to_string().as_str()));
    replica
        .edit_client(
            client,
            &[ClientEdit::UnitActive(centrs, false), ClientEdit::MainUnit(Some(osta))],
        )
        .unwrap();
    let card = replica.card(client, crate::support::today()).unwrap();
    let names: Vec<&str> = card.units.iter().map(|unit| unit.name.as_str()).collect();
    assert_eq!(names, ["Noliktava", "Osta", "Centrs"]);
    assert_eq!(card.opened_unit.as_deref(), Some(osta.to_string().as_str()));
    assert!(card.units.iter().find(|unit| unit.name == "Osta").unwrap().main);
    assert_eq!(catalog_names(&replica, "ventsp"), ["Ķiploks SIA"]);
    assert_eq!(catalog_names(&replica, "nolik"), ["Ķiploks SIA"]);
}

#[test]
fn every_profile_field_reaches_the_card() {
    let mut replica = replica(Uuid::new_v4(), "office");
    let contact = EntryId::random();
    let account = EntryId::random();
    let mut edits: Vec<ClientEdit> = vec![
        name("Gastro Serviss SIA"),
        field(ProfileField::RegNo, "40003000001"),
        field(ProfileField::VatId, "LV40003000001"),
        field(ProfileField::Industry, "Restaurants"),
        field(ProfileField::BillingRecipient, "Gastro Serviss SIA, grāmatvedība"),
        field(ProfileField::BillingEmail, "rekini@gastro.lv"),
        field(ProfileField::PaymentTermsDays, "21"),
        field(ProfileField::Currency, "eur"),
        ClientEdit::Comments("Keys at the reception.".to_owned()),
        ClientEdit::AddContact(domain::NewContact {
            id: contact,
            name: "Inga Liepa".to_owned(),
            role: "chef".to_owned(),
            phone: "+371 2000 0000".to_owned(),
            email: "inga@gastro.lv".to_owned(),
        }),
        ClientEdit::AddBankAccount {
            id: account,
            iban: "LV80 BANK 0000 4351 9500 1".to_owned(),
            bic: "bankLV22".to_owned(),
            bank_name: "Banka".to_owned(),
        },
        ClientEdit::AddChannel {
            id: EntryId::random(),
            kind: ChannelKind::Web,
            value: "https://gastro.lv".to_owned(),
            label: String::new(),
        },
        ClientEdit::SetSetting("visit.window".to_owned(), "before 10:00".to_owned()),
    ];
    for part in AddressPart::ALL {
        let value = if part == AddressPart::Country { "LV" } else { "x" };
        edits.push(field(ProfileField::Address(part), value));
        edits.push(field(ProfileField::BillingAddress(part), value));
    }
    let client = replica.create_client(&edits).unwrap();
    let card = replica.card(client, crate::support::today()).unwrap();
    assert_eq!(card.reg_no, "40003000001");
    assert_eq!(card.billing.payment_terms_days, Some(21));
    assert_eq!(card.billing.currency, "EUR");
    assert_eq!(card.billing.address.country, "LV");
    assert_eq!(card.address.one_line(), "x, x x, x, LV");
    assert_eq!(card.comments, "Keys at the reception.");
    assert_eq!(card.contacts[0].name, "Inga Liepa");
    assert_eq!(card.bank_accounts[0].iban, "LV80BANK0000435195001");
    assert_eq!(card.bank_accounts[0].bic, "BANKLV22");
    assert_eq!(card.channels[0].value, "https://gastro.lv");
    assert_eq!(card.settings["visit.window"], "before 10:00");

    assert_eq!(replica.resolve_entry(client, EntryList::Contacts, "inga liepa").unwrap(), contact);
    assert_eq!(
        replica
            .resolve_entry(client, EntryList::BankAccounts, "LV80 BANK 0000 4351 9500 1")
            .unwrap(),
        account
    );
    replica
        .edit_client(
            client,
            &[ClientEdit::RemoveContact(contact), ClientEdit::RemoveBankAccount(account)],
        )
        .unwrap();
    let card = replica.card(client, crate::support::today()).unwrap();
    assert!(card.contacts.is_empty() && card.bank_accounts.is_empty());
}

#[test]
fn a_rejected_edit_stores_nothing() {
    let mut replica = replica(Uuid::new_v4(), "office");
    let client = company(&mut replica, "Acme", "Rīga");
    let before = visible(&replica);
    let heads = replica.document_heads(doc_model::DocId::client(client)).unwrap();
    let error = replica
        .edit_client(
            client,
            &[
                name("Renamed"),
                ClientEdit::AddBankAccount {
                    id: EntryId::random(),
                    iban: "DE44 5001 0517 5407 3249 32".to_owned(),
                    bic: String::new(),
                    bank_name: String::new(),
                },
            ],
        )
        .unwrap_err();
    assert!(error.to_string().contains("check digits"), "{error}");
    assert_eq!(visible(&replica), before);
    assert_eq!(replica.document_heads(doc_model::DocId::client(client)).unwrap(), heads);
    // The replica still works after the rejected edit.
    replica.edit_client(client, &[name("Renamed")]).unwrap();
    assert_eq!(replica.card(client, crate::support::today()).unwrap().display_name, "Renamed");
    // A client needs a name.
    assert!(replica.create_client(&[field(ProfileField::VatId, "LV1")]).is_err());
    assert!(replica.edit_client(client, &[name("")]).is_err());
}

#[test]
fn references_by_short_id_or_name_are_resolved_and_ambiguity_is_reported() {
    let mut replica = replica(Uuid::new_v4(), "office");
    let acme = company(&mut replica, "Acme", "Rīga");
    company(&mut replica, "Twin", "Rīga");
    company(&mut replica, "Twin", "Cēsis");
    assert_eq!(replica.resolve_client(&acme.short()).unwrap(), acme);
    assert_eq!(replica.resolve_client(&acme.to_string()).unwrap(), acme);
    assert_eq!(replica.resolve_client("ACME").unwrap(), acme);
    assert!(matches!(replica.resolve_client("twin"), Err(StoreError::Ambiguous { count: 2, .. })));
    let error = replica.resolve_client("nobody").unwrap_err();
    assert!(
        matches!(&error, StoreError::NotFound { what: "client", reference, .. } if reference == "nobody"),
        "{error}"
    );
}

#[test]
fn reopening_a_replica_keeps_everything_and_edits_from_another_process_are_not_lost() {
    let mut first = replica(Uuid::new_v4(), "office");
    let client = company(&mut first, "Acme", "Rīga");
    // A second handle on the same directory stands in for a second process.
    let mut second = Replica::open(first.dir.path()).unwrap();
    first.replica.card(client, crate::support::today()).unwrap();
    second.edit_client(client, &[field(ProfileField::VatId, "LV40003000001")]).unwrap();
    // `first` has the document cached from before the other process's edit.
    first.replica.edit_client(client, &[field(ProfileField::Industry, "Bakery")]).unwrap();
    drop(second);
    let reopened = Replica::open(first.dir.path()).unwrap();
    let card = reopened.card(client, crate::support::today()).unwrap();
    assert_eq!(card.vat_id, "LV40003000001");
    assert_eq!(card.industry, "Bakery");
}

#[test]
fn many_edits_compact_into_a_snapshot_and_still_load() {
    let mut replica = replica(Uuid::new_v4(), "office");
    let client = company(&mut replica, "Acme", "Rīga");
    for round in 0..100 {
        replica.edit_client(client, &[ClientEdit::Comments(format!("round {round}"))]).unwrap();
    }
    let reopened = Replica::open(replica.dir.path()).unwrap();
    drop(reopened);
    let mut reopened = Replica::open(replica.dir.path()).unwrap();
    assert_eq!(reopened.client(client).unwrap().profile.comments, "round 99");
}
