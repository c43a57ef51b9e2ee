//! Projection: documents → mirror rows.
//!
//! After a document changes (a local edit or a merge), its rows in the mirror are
//! replaced by rows derived from the document's new state, inside the transaction
//! that stored the change. Only the changed document is re-projected; `reindex`
//! runs the same code for every document, so the incremental path and a rebuild
//! cannot drift apart.

use automerge::AutoCommit;
use doc_model::{DocId, DocKind};
use domain::{ChannelKind, Client, fold_for_search, sort_key};
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::Result;

/// Replaces the mirror rows of one document.
pub(crate) fn project(
    conn: &Connection,
    doc_id: DocId,
    kind: &str,
    doc: &AutoCommit,
) -> Result<()> {
    write_projection(conn, &Projection::of(doc_id, kind, doc)?)
}

/// What a document's mirror rows are made from: read from the document
/// without touching the database, so a rebuild can read documents on one
/// thread while another writes their rows.
#[derive(Debug)]
pub(crate) struct Projection {
    doc_id: DocId,
    content: Content,
    conflicts: Vec<doc_model::Conflict>,
}

#[derive(Debug)]
enum Content {
    Client(Box<(Client, doc_model::ClientBilling)>),
    Invoices(Box<doc_model::InvoicesContent>),
    Billing(Box<doc_model::BillingSettings>),
    Groups(Vec<doc_model::Group>),
    Workspace(doc_model::WorkspaceInfo),
    /// A kind introduced by a newer version: kept, not shown.
    Unknown,
}

impl Projection {
    /// Reads what the mirror shows of a document.
    pub(crate) fn of(doc_id: DocId, kind: &str, doc: &AutoCommit) -> Result<Self> {
        let hydrated = doc_model::hydrate(doc)?;
        let content = match DocKind::from_stored(kind) {
            Some(DocKind::Client) => {
                Content::Client(Box::new((hydrated.client()?, hydrated.client_billing())))
            }
            // Read from the document itself: letters lost in merges by earlier
            // versions are conflicting values hydration does not show.
            Some(DocKind::Invoices) => {
                Content::Invoices(Box::new(hydrated.invoices_restored(doc)?))
            }
            Some(DocKind::Billing) => Content::Billing(Box::new(hydrated.billing())),
            Some(DocKind::Groups) => Content::Groups(hydrated.groups()),
            Some(DocKind::Workspace) => Content::Workspace(hydrated.workspace()),
            None => {
                tracing::debug!(%doc_id, kind, "not projecting a document of an unknown kind");
                Content::Unknown
            }
        };
        Ok(Self { doc_id, content, conflicts: hydrated.conflicts(doc)? })
    }
}

/// Replaces a document's mirror rows with what its projection says.
pub(crate) fn write_projection(conn: &Connection, projection: &Projection) -> Result<()> {
    let doc_id = projection.doc_id;
    let client_id = match &projection.content {
        Content::Client(client) => {
            let (client, billing) = client.as_ref();
            project_client(conn, client)?;
            let client_id = client.id.to_string();
            crate::project_billing::project_client_billing(conn, &client_id, billing)?;
            Some(client_id)
        }
        Content::Invoices(content) => {
            crate::project_billing::project_invoices(conn, doc_id, content)?;
            (!content.client_id.is_empty()).then(|| content.client_id.clone())
        }
        Content::Billing(settings) => {
            crate::project_billing::project_billing_settings(conn, settings)?;
            None
        }
        Content::Groups(groups) => {
            project_groups(conn, groups)?;
            None
        }
        Content::Workspace(workspace) => {
            project_workspace(conn, workspace)?;
            None
        }
        Content::Unknown => None,
    };
    project_conflicts(conn, doc_id, client_id.as_deref(), &projection.conflicts)
}

fn project_client(conn: &Connection, client: &Client) -> Result<()> {
    let id = client.id.to_string();
    let profile = &client.profile;
    let display_name = profile.display_name();
    let main_unit = client.main_unit().map(|unit| unit.id.to_string());
    let primary_phone = client.channel_values(ChannelKind::Phone).next().unwrap_or_default();
    let primary_email = client.channel_values(ChannelKind::Email).next().unwrap_or_default();
    let active_units = client.units.iter().filter(|unit| unit.active).count();
    let billing = &profile.billing;
    let rowid: i64 = conn
        .prepare_cached(
            "INSERT INTO clients (id, kind, display_name, sort_key, name, first_name, last_name,
                 reg_no, personal_code, vat_id, industry, street, city, city_key, postal_code, region,
                 country, billing_recipient, billing_street, billing_city, billing_postal_code,
                 billing_region, billing_country, billing_email, payment_terms_days, currency,
                 group_id, archived, comments, main_unit_id, primary_phone, primary_email,
                 unit_count, active_unit_count, last_visit)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
                 ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35)
             ON CONFLICT (id) DO UPDATE SET kind = excluded.kind,
                 display_name = excluded.display_name, sort_key = excluded.sort_key,
                 name = excluded.name, first_name = excluded.first_name,
                 last_name = excluded.last_name, reg_no = excluded.reg_no,
                 personal_code = excluded.personal_code, vat_id = excluded.vat_id,
                 industry = excluded.industry, street = excluded.street, city = excluded.city,
                 city_key = excluded.city_key, postal_code = excluded.postal_code,
                 region = excluded.region, country = excluded.country,
                 billing_recipient = excluded.billing_recipient,
                 billing_street = excluded.billing_street, billing_city = excluded.billing_city,
                 billing_postal_code = excluded.billing_postal_code,
                 billing_region = excluded.billing_region,
                 billing_country = excluded.billing_country,
                 billing_email = excluded.billing_email,
                 payment_terms_days = excluded.payment_terms_days, currency = excluded.currency,
                 group_id = excluded.group_id, archived = excluded.archived,
                 comments = excluded.comments, main_unit_id = excluded.main_unit_id,
                 primary_phone = excluded.primary_phone, primary_email = excluded.primary_email,
                 unit_count = excluded.unit_count, active_unit_count = excluded.active_unit_count,
                 last_visit = excluded.last_visit
             RETURNING rowid",
        )?
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
                client.visits.iter().map(|visit| utc_text(&visit.start)).max(),
            ],
            |row| row.get(0),
        )?;

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

    for table in ["units", "contacts", "channels", "bank_accounts", "client_settings", "gallery"] {
        conn.prepare_cached(&format!("DELETE FROM {table} WHERE client_id = ?1"))?
            .execute([&id])?;
    }
    let client_doc = DocId::client(client.id).to_string();
    conn.prepare_cached("DELETE FROM client_documents WHERE doc_id = ?1")?
        .execute([&client_doc])?;
    conn.prepare_cached(
        "DELETE FROM visit_items WHERE visit_id IN (SELECT id FROM visits WHERE client_id = ?1)",
    )?
    .execute([&id])?;
    conn.prepare_cached("DELETE FROM visits WHERE client_id = ?1")?.execute([&id])?;
    project_field_work(conn, &id, client)?;
    let mut insert_unit = conn.prepare_cached(
        "INSERT INTO units (id, client_id, position, name, street, city, postal_code, region,
             country, phone, email, active, is_main)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?;
    let mut insert_contact = conn.prepare_cached(
        "INSERT INTO contacts (client_id, unit_id, id, position, name, role, phone, email)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for (position, unit) in client.units.iter().enumerate() {
        let unit_id = unit.id.to_string();
        insert_unit.execute(params![
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
            profile.main_unit_id == Some(unit.id),
        ])?;
        for (contact_position, contact) in unit.contacts.iter().enumerate() {
            insert_contact.execute(params![
                id,
                unit_id,
                contact.id.to_string(),
                contact_position as i64,
                contact.name,
                contact.role,
                contact.phone,
                contact.email,
            ])?;
        }
    }
    for (position, contact) in client.contacts.iter().enumerate() {
        insert_contact.execute(params![
            id,
            None::<String>,
            contact.id.to_string(),
            position as i64,
            contact.name,
            contact.role,
            contact.phone,
            contact.email,
        ])?;
    }
    let mut insert_channel = conn.prepare_cached(
        "INSERT INTO channels (client_id, id, position, kind, value, label) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for (position, channel) in client.channels.iter().enumerate() {
        insert_channel.execute(params![
            id,
            channel.id.to_string(),
            position as i64,
            channel.kind.as_str(),
            channel.value,
            channel.label,
        ])?;
    }
    let mut insert_account = conn.prepare_cached(
        "INSERT INTO bank_accounts (client_id, id, position, iban, bic, bank_name) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for (position, account) in client.bank_accounts.iter().enumerate() {
        insert_account.execute(params![
            id,
            account.id.to_string(),
            position as i64,
            account.iban,
            account.bic,
            account.bank_name,
        ])?;
    }
    let mut insert_setting = conn.prepare_cached(
        "INSERT INTO client_settings (client_id, key, value) VALUES (?1, ?2, ?3)",
    )?;
    for (key, value) in &client.settings {
        insert_setting.execute(params![id, key, value])?;
    }
    Ok(())
}

/// A time as UTC text that sorts chronologically (`2026-11-22T07:00:00Z`).
pub(crate) fn utc_text(time: &chrono::DateTime<chrono::FixedOffset>) -> String {
    time.with_timezone(&chrono::Utc).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn project_field_work(conn: &Connection, id: &str, client: &Client) -> Result<()> {
    use chrono::Datelike;
    let mut insert_visit = conn.prepare_cached(
        "INSERT INTO visits (id, client_id, unit_id, start_utc, start_local, end_local, minutes, year, month,
             technician, kind, status, notes)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?;
    let mut insert_item = conn.prepare_cached(
        "INSERT INTO visit_items (visit_id, position, description, quantity, unit) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for visit in &client.visits {
        let visit_id = visit.id.to_string();
        insert_visit.execute(params![
            visit_id,
            id,
            visit.unit_id.map(|unit| unit.to_string()).unwrap_or_default(),
            utc_text(&visit.start),
            visit.start.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
            visit.end.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
            visit.minutes(),
            visit.start.year(),
            visit.start.month(),
            visit.technician,
            visit.kind.as_str(),
            visit.status.as_str(),
            visit.notes,
        ])?;
        for (position, item) in visit.items.iter().enumerate() {
            insert_item.execute(params![
                visit_id,
                position as i64,
                item.description,
                item.quantity,
                item.unit
            ])?;
        }
    }
    let mut insert_item = conn.prepare_cached(
        "INSERT INTO gallery (id, client_id, unit_id, visit_id, hash, thumb_hash, name, media_type, size,
             caption, taken_at, added_by, added_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?;
    for (position, item) in client.gallery.iter().enumerate() {
        insert_item.execute(params![
            item.id.to_string(),
            id,
            item.unit_id.map(|unit| unit.to_string()).unwrap_or_default(),
            item.visit_id.map(|visit| visit.to_string()).unwrap_or_default(),
            item.hash,
            item.thumb_hash.clone().unwrap_or_default(),
            item.name,
            item.media_type,
            i64::try_from(item.size).unwrap_or(i64::MAX),
            item.caption,
            item.taken_at.clone().unwrap_or_default(),
            item.added_by,
            position as i64,
        ])?;
    }
    let mut insert_document = conn.prepare_cached(
        "INSERT INTO client_documents (id, client_id, doc_id, name, kind, date, unit_id, invoice_id, visit_id,
             hash, media_type, size)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?;
    for document in &client.documents {
        insert_document.execute(params![
            document.id.to_string(),
            id,
            DocId::client(client.id).to_string(),
            document.name,
            document.kind.as_str(),
            document.date.to_string(),
            document.unit_id.map(|unit| unit.to_string()).unwrap_or_default(),
            document.invoice_id.clone().unwrap_or_default(),
            document.visit_id.map(|visit| visit.to_string()).unwrap_or_default(),
            document.hash,
            document.media_type,
            i64::try_from(document.size).unwrap_or(i64::MAX),
        ])?;
    }
    Ok(())
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

fn project_groups(conn: &Connection, groups: &[doc_model::Group]) -> Result<()> {
    conn.prepare_cached("DELETE FROM groups")?.execute([])?;
    let mut insert =
        conn.prepare_cached("INSERT INTO groups (id, name, sort_key) VALUES (?1, ?2, ?3)")?;
    for group in groups {
        insert.execute(params![group.id.to_string(), group.name, sort_key(&group.name)])?;
    }
    Ok(())
}

fn project_workspace(conn: &Connection, workspace: &doc_model::WorkspaceInfo) -> Result<()> {
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

fn project_conflicts(
    conn: &Connection,
    doc_id: DocId,
    client_id: Option<&str>,
    conflicts: &[doc_model::Conflict],
) -> Result<()> {
    let doc_id = doc_id.to_string();
    conn.prepare_cached("DELETE FROM conflicts WHERE doc_id = ?1")?.execute([&doc_id])?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO conflicts (doc_id, client_id, pointer, vals) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for conflict in conflicts {
        let values: Vec<serde_json::Value> = conflict
            .values
            .iter()
            .map(|value| serde_json::json!({ "value": value.value, "winner": value.winner }))
            .collect();
        insert.execute(params![
            doc_id,
            client_id,
            conflict.pointer(),
            serde_json::Value::from(values).to_string()
        ])?;
    }
    Ok(())
}
