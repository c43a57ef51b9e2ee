//! The clients module's projection: a client document's profile, units,
//! contacts, channels, bank accounts, settings and search text; the groups
//! document; the workspace document's company details and devices.

use std::sync::LazyLock;

use doc_model::DocId;
use domain::{ChannelKind, Client, fold_for_search, sort_key};
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::Result;
use crate::module::MirrorWrite;
use crate::rows::{replace_if_changed, upsert_sql};

/// The client's row, written only when a column differs; returns its rowid
/// when written.
static UPSERT_CLIENT_SQL: LazyLock<String> = LazyLock::new(|| {
    let columns = [
        "id",
        "kind",
        "display_name",
        "sort_key",
        "name",
        "first_name",
        "last_name",
        "reg_no",
        "personal_code",
        "vat_id",
        "industry",
        "street",
        "city",
        "city_key",
        "postal_code",
        "region",
        "country",
        "billing_recipient",
        "billing_street",
        "billing_city",
        "billing_postal_code",
        "billing_region",
        "billing_country",
        "billing_email",
        "payment_terms_days",
        "currency",
        "group_id",
        "archived",
        "comments",
        "main_unit_id",
        "primary_phone",
        "primary_email",
        "unit_count",
        "active_unit_count",
        "last_visit",
    ];
    upsert_sql("clients", &columns, &["id"]) + " RETURNING rowid"
});

pub(super) fn project_client(
    mirror: MirrorWrite<'_>,
    doc_id: DocId,
    client: &Client,
) -> Result<()> {
    let conn = mirror.conn;
    let id = client.id.to_string();
    let profile = &client.profile;
    let display_name = profile.display_name();
    let main_unit = client.main_unit().map(|unit| unit.id.to_string());
    let primary_phone = client.channel_values(ChannelKind::Phone).next().unwrap_or_default();
    let primary_email = client.channel_values(ChannelKind::Email).next().unwrap_or_default();
    let active_units = client.units.iter().filter(|unit| unit.active).count();
    let billing = &profile.billing;
    // A change elsewhere in the document (a visit's note, a unit's phone)
    // leaves the row and its index entries alone.
    let rowid: Option<i64> = conn
        .prepare_cached(&UPSERT_CLIENT_SQL)?
        .query_row(
            params![
                id,
                profile.kind.as_str(),
                display_name,
                sort_key(&display_name),
                profile.name,
                profile.first_name,
                profile.last_name,
                profile.reg_no,
                profile.personal_code,
                profile.vat_id,
                profile.industry,
                profile.address.street,
                profile.address.city,
                sort_key(&profile.address.city),
                profile.address.postal_code,
                profile.address.region,
                profile.address.country,
                billing.recipient,
                billing.address.street,
                billing.address.city,
                billing.address.postal_code,
                billing.address.region,
                billing.address.country,
                billing.email,
                billing.payment_terms_days,
                billing.currency,
                profile.group_id.map(|group| group.to_string()),
                profile.archived,
                profile.comments,
                main_unit,
                primary_phone,
                primary_email,
                client.units.len() as i64,
                active_units as i64,
                client
                    .visits
                    .iter()
                    .map(|visit| crate::modules::field_work::utc_text(&visit.start))
                    .max(),
            ],
            |row| row.get(0),
        )
        .optional()?;
    let rowid: i64 = match rowid {
        Some(rowid) => rowid,
        // Unchanged: the upsert returned nothing.
        None => conn
            .prepare_cached("SELECT rowid FROM clients WHERE id = ?1")?
            .query_row([&id], |row| row.get(0))?,
    };

    // Most changes (a visit, a payment's letter, a comment) leave the searchable
    // text alone; rewriting the FTS row then would only churn its segments.
    let search = SearchText::of(client);
    let indexed: Option<[String; 5]> = conn
        .prepare_cached(
            "SELECT names, codes, contacts, places, units FROM client_search WHERE rowid = ?1",
        )?
        .query_row([rowid], |row| {
            Ok([row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?])
        })
        .optional()?;
    let wanted = [&search.names, &search.codes, &search.contacts, &search.places, &search.units];
    let unchanged = indexed
        .as_ref()
        .is_some_and(|indexed| indexed.iter().zip(wanted).all(|(old, new)| old == new));
    if !unchanged {
        conn.prepare_cached("DELETE FROM client_search WHERE rowid = ?1")?.execute([rowid])?;
        conn.prepare_cached(
            "INSERT INTO client_search (rowid, names, codes, contacts, places, units)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            rowid,
            search.names,
            search.codes,
            search.contacts,
            search.places,
            search.units
        ])?;
    }

    project_client_lists(mirror, doc_id, client)
}

/// The client's lists: units and their contacts, contacts, channels, bank
/// accounts and settings, written only when they changed.
fn project_client_lists(mirror: MirrorWrite<'_>, doc_id: DocId, client: &Client) -> Result<()> {
    let id = client.id.to_string();
    replace_if_changed(mirror, doc_id, "clients.lists", |sink| {
        for table in ["units", "contacts", "channels", "bank_accounts", "client_settings"] {
            sink.execute(&format!("DELETE FROM {table} WHERE client_id = ?1"), params![id])?;
        }
        let insert_unit =
            "INSERT INTO units (id, client_id, position, name, street, city, postal_code, region,
                 country, phone, email, active, is_main)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
        let insert_contact =
            "INSERT INTO contacts (client_id, unit_id, id, position, name, role, phone, email)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
        for (position, unit) in client.units.iter().enumerate() {
            let unit_id = unit.id.to_string();
            sink.execute(
                insert_unit,
                params![
                    unit_id,
                    id,
                    position as i64,
                    unit.name,
                    unit.address.street,
                    unit.address.city,
                    unit.address.postal_code,
                    unit.address.region,
                    unit.address.country,
                    unit.phone,
                    unit.email,
                    unit.active,
                    client.profile.main_unit_id == Some(unit.id),
                ],
            )?;
            for (contact_position, contact) in unit.contacts.iter().enumerate() {
                sink.execute(
                    insert_contact,
                    params![
                        id,
                        unit_id,
                        contact.id.to_string(),
                        contact_position as i64,
                        contact.name,
                        contact.role,
                        contact.phone,
                        contact.email,
                    ],
                )?;
            }
        }
        for (position, contact) in client.contacts.iter().enumerate() {
            sink.execute(
                insert_contact,
                params![
                    id,
                    None::<String>,
                    contact.id.to_string(),
                    position as i64,
                    contact.name,
                    contact.role,
                    contact.phone,
                    contact.email,
                ],
            )?;
        }
        let insert_channel = "INSERT INTO channels (client_id, id, position, kind, value, label) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
        for (position, channel) in client.channels.iter().enumerate() {
            sink.execute(
                insert_channel,
                params![
                    id,
                    channel.id.to_string(),
                    position as i64,
                    channel.kind.as_str(),
                    channel.value,
                    channel.label,
                ],
            )?;
        }
        let insert_account = "INSERT INTO bank_accounts (client_id, id, position, iban, bic, bank_name) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
        for (position, account) in client.bank_accounts.iter().enumerate() {
            sink.execute(
                insert_account,
                params![
                    id,
                    account.id.to_string(),
                    position as i64,
                    account.iban,
                    account.bic,
                    account.bank_name,
                ],
            )?;
        }
        let insert_setting =
            "INSERT INTO client_settings (client_id, key, value) VALUES (?1, ?2, ?3)";
        for (key, value) in &client.settings {
            sink.execute(insert_setting, params![id, key, value])?;
        }
        Ok(())
    })
}

/// The folded text a client is found by, per FTS column.
struct SearchText {
    names: String,
    codes: String,
    contacts: String,
    places: String,
    units: String,
}

impl SearchText {
    fn of(client: &Client) -> Self {
        let profile = &client.profile;
        let mut names = vec![profile.display_name(), profile.name.clone()];
        names.extend([profile.first_name.clone(), profile.last_name.clone()]);
        names.push(profile.billing.recipient.clone());

        let mut codes =
            vec![profile.reg_no.clone(), profile.personal_code.clone(), profile.vat_id.clone()];
        // "LV40003000001" is one token; its digits alone let a user type "4000…".
        codes.push(digits(&profile.vat_id));

        let mut contacts: Vec<String> = Vec::new();
        for channel in &client.channels {
            contacts.push(channel.value.clone());
            if channel.kind == ChannelKind::Phone {
                contacts.push(digits(&channel.value));
            }
        }
        contacts.push(profile.billing.email.clone());
        let all_contacts =
            client.contacts.iter().chain(client.units.iter().flat_map(|unit| unit.contacts.iter()));
        for contact in all_contacts {
            contacts.extend([contact.name.clone(), contact.email.clone(), contact.phone.clone()]);
            contacts.push(digits(&contact.phone));
        }
        for unit in &client.units {
            contacts.extend([unit.email.clone(), unit.phone.clone(), digits(&unit.phone)]);
        }

        let mut places = vec![profile.address.city.clone(), profile.address.postal_code.clone()];
        for unit in &client.units {
            places.extend([unit.address.city.clone(), unit.address.postal_code.clone()]);
        }
        let units: Vec<String> = client.units.iter().map(|unit| unit.name.clone()).collect();

        Self {
            names: fold_joined(&names),
            codes: fold_joined(&codes),
            contacts: fold_joined(&contacts),
            places: fold_joined(&places),
            units: fold_joined(&units),
        }
    }
}

fn digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

fn fold_joined(parts: &[String]) -> String {
    let present: Vec<&str> = parts.iter().map(String::as_str).filter(|p| !p.is_empty()).collect();
    fold_for_search(&present.join(" "))
}

pub(super) fn project_groups(conn: &Connection, groups: &[doc_model::Group]) -> Result<()> {
    conn.prepare_cached("DELETE FROM groups")?.execute([])?;
    let mut insert =
        conn.prepare_cached("INSERT INTO groups (id, name, sort_key) VALUES (?1, ?2, ?3)")?;
    for group in groups {
        insert.execute(params![group.id.to_string(), group.name, sort_key(&group.name)])?;
    }
    Ok(())
}

pub(super) fn project_workspace(
    conn: &Connection,
    workspace: &doc_model::WorkspaceInfo,
) -> Result<()> {
    conn.prepare_cached("DELETE FROM company")?.execute([])?;
    conn.prepare_cached("DELETE FROM devices")?.execute([])?;
    let mut insert_company =
        conn.prepare_cached("INSERT INTO company (key, value) VALUES (?1, ?2)")?;
    for (key, value) in &workspace.company {
        insert_company.execute([key, value])?;
    }
    let mut insert_device =
        conn.prepare_cached("INSERT INTO devices (id, name) VALUES (?1, ?2)")?;
    for device in &workspace.devices {
        insert_device.execute([&device.id, &device.name])?;
    }
    Ok(())
}
