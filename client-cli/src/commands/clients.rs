//! `catalog` and `client …`: the client module's everyday commands.

use anyhow::Result;
use domain::{
    AddressPart, ChannelKind, ClientEdit, ContactField, EntryId, NewContact, ProfileField,
};
use replica_store::{ArchiveFilter, CatalogQuery, CatalogSort, EntryList, Replica};

use crate::cli::{
    CatalogArgs, ClientAddArgs, ClientCommand, ContactArgs, KindArg, ProfileArgs, SortColumn,
};
use crate::output::Output;

pub(crate) fn catalog(replica: &Replica, args: &CatalogArgs, output: &mut Output) -> Result<()> {
    let query = CatalogQuery {
        text: args.text.join(" "),
        group: args.group.as_deref().map(|group| replica.resolve_group(group)).transpose()?,
        archive: if args.all {
            ArchiveFilter::All
        } else if args.archived {
            ArchiveFilter::Archived
        } else {
            ArchiveFilter::Active
        },
        sort: match args.sort {
            SortColumn::Name => CatalogSort::Name,
            SortColumn::City => CatalogSort::City,
            SortColumn::Code => CatalogSort::Code,
            SortColumn::LastVisit => CatalogSort::LastVisit,
            SortColumn::Turnover => CatalogSort::Turnover,
            SortColumn::Overdue => CatalogSort::Overdue,
        },
        descending: args.desc,
        limit: args.limit,
        as_of: Some(args.as_of.unwrap_or_else(super::today)),
    };
    if output.json {
        /// Serialized straight from the rows: a `json!` value would copy all of them.
        #[derive(serde::Serialize)]
        struct CatalogJson<'a> {
            count: usize,
            clients: &'a [replica_store::CatalogRow],
        }
        let rows = replica.catalog(&query)?;
        return output.json(&CatalogJson { count: rows.len(), clients: &rows });
    }
    let mut count = 0_usize;
    let money_header = match args.sort {
        SortColumn::Turnover => Some("TURNOVER 12 M"),
        SortColumn::Overdue => Some("OVERDUE"),
        _ => None,
    };
    let mut headers = vec!["ID", "NAME", "CODE", "CITY", "GROUP", "PHONE", "E-MAIL", "UNITS"];
    headers.extend(money_header);
    let mut table = output.table(&headers)?;
    let mut result = Ok(());
    replica.catalog_each(&query, |row| {
        count += 1;
        if result.is_ok() {
            let name = if row.archived { format!("{} (archived)", row.name) } else { row.name };
            let mut cells = vec![
                row.short_id,
                name,
                row.code,
                row.city,
                row.group.unwrap_or_default(),
                row.phone,
                row.email,
                row.units.to_string(),
            ];
            if let Some(amount) = row.turnover_minor.or(row.overdue_minor) {
                cells.push(format!(
                    "{} {}",
                    ::billing::money::format_minor(amount),
                    row.currency.unwrap_or_default()
                ));
            }
            result = table.row(cells);
        }
    })?;
    result?;
    table.finish()?;
    output.line(if count == 1 { "1 client".to_owned() } else { format!("{count} clients") })
}

pub(crate) fn run(
    replica: &mut Replica,
    command: ClientCommand,
    output: &mut Output,
) -> Result<()> {
    match command {
        ClientCommand::Add(args) => add(replica, &args, output),
        ClientCommand::Show { client, as_of } => {
            let client_id = replica.resolve_client(&client)?;
            super::card::show(replica, client_id, as_of.unwrap_or_else(super::today), output)
        }
        ClientCommand::Urls { client } => {
            let client_id = replica.resolve_client(&client)?;
            let documents = replica.automerge_documents(client_id)?;
            if output.json {
                return output.json(&documents);
            }
            let mut table = output.table(&["DOCUMENT", "YEAR", "URL"])?;
            for document in &documents {
                let year = document.year.map(|year| year.to_string()).unwrap_or_default();
                table.row([document.document.as_str(), &year, &document.url])?;
            }
            table.finish()
        }
        ClientCommand::Edit { client, profile, kind } => {
            let client_id = replica.resolve_client(&client)?;
            let mut edits = profile_edits(replica, &profile)?;
            if let Some(kind) = kind {
                edits.insert(0, kind_edit(kind));
            }
            if edits.is_empty() {
                anyhow::bail!(
                    "nothing to change; pass the fields to edit, e.g. --city Rīga (see --help)"
                );
            }
            edit(replica, client_id, &edits, output)
        }
        ClientCommand::Archive { client } => {
            let client_id = replica.resolve_client(&client)?;
            edit(replica, client_id, &[ClientEdit::Archived(true)], output)
        }
        ClientCommand::Unarchive { client } => {
            let client_id = replica.resolve_client(&client)?;
            edit(replica, client_id, &[ClientEdit::Archived(false)], output)
        }
        ClientCommand::AddPhone(args) => add_channel(replica, ChannelKind::Phone, &args, output),
        ClientCommand::AddEmail(args) => add_channel(replica, ChannelKind::Email, &args, output),
        ClientCommand::AddWeb(args) => add_channel(replica, ChannelKind::Web, &args, output),
        ClientCommand::RemoveChannel { client, entry } => {
            let client_id = replica.resolve_client(&client)?;
            let entry_id = replica.resolve_entry(client_id, EntryList::Channels, &entry)?;
            edit(replica, client_id, &[ClientEdit::RemoveChannel(entry_id)], output)
        }
        ClientCommand::AddContact { client, contact } => {
            let client_id = replica.resolve_client(&client)?;
            edit(replica, client_id, &[ClientEdit::AddContact(new_contact(&contact))], output)
        }
        ClientCommand::EditContact { client, contact, fields } => {
            let client_id = replica.resolve_client(&client)?;
            let entry_id = replica.resolve_entry(client_id, EntryList::Contacts, &contact)?;
            let edits: Vec<ClientEdit> = [
                (ContactField::Name, fields.name),
                (ContactField::Role, fields.role),
                (ContactField::Phone, fields.phone),
                (ContactField::Email, fields.email),
            ]
            .into_iter()
            .filter_map(|(field, value)| Some(ClientEdit::UpdateContact(entry_id, field, value?)))
            .collect();
            edit(replica, client_id, &edits, output)
        }
        ClientCommand::RemoveContact { client, contact } => {
            let client_id = replica.resolve_client(&client)?;
            let entry_id = replica.resolve_entry(client_id, EntryList::Contacts, &contact)?;
            edit(replica, client_id, &[ClientEdit::RemoveContact(entry_id)], output)
        }
        ClientCommand::AddBank { client, iban, bic, bank_name } => {
            let client_id = replica.resolve_client(&client)?;
            let edit_bank = ClientEdit::AddBankAccount {
                id: EntryId::random(),
                iban,
                bic: bic.unwrap_or_default(),
                bank_name: bank_name.unwrap_or_default(),
            };
            edit(replica, client_id, &[edit_bank], output)
        }
        ClientCommand::RemoveBank { client, account } => {
            let client_id = replica.resolve_client(&client)?;
            let entry_id = replica.resolve_entry(client_id, EntryList::BankAccounts, &account)?;
            edit(replica, client_id, &[ClientEdit::RemoveBankAccount(entry_id)], output)
        }
        ClientCommand::Set { client, key, value } => {
            let client_id = replica.resolve_client(&client)?;
            edit(replica, client_id, &[ClientEdit::SetSetting(key, value)], output)
        }
        ClientCommand::Unset { client, key } => {
            let client_id = replica.resolve_client(&client)?;
            let card = replica.card(client_id, super::today())?;
            if !card.settings.contains_key(key.trim()) {
                anyhow::bail!(
                    "the client has no setting '{key}'; `kartoteka client show` lists its settings"
                );
            }
            edit(replica, client_id, &[ClientEdit::RemoveSetting(key)], output)
        }
    }
}

fn add(replica: &mut Replica, args: &ClientAddArgs, output: &mut Output) -> Result<()> {
    let mut edits = Vec::new();
    if args.person {
        edits.push(kind_edit(KindArg::Person));
    }
    edits.extend(profile_edits(replica, &args.profile)?);
    for (kind, values) in [
        (ChannelKind::Phone, &args.phones),
        (ChannelKind::Email, &args.emails),
        (ChannelKind::Web, &args.webs),
    ] {
        for value in values {
            edits.push(ClientEdit::AddChannel {
                id: EntryId::random(),
                kind,
                value: value.clone(),
                label: String::new(),
            });
        }
    }
    if let Some(iban) = &args.iban {
        edits.push(ClientEdit::AddBankAccount {
            id: EntryId::random(),
            iban: iban.clone(),
            bic: String::new(),
            bank_name: String::new(),
        });
    }
    let client_id = replica.create_client(&edits)?;
    let card = replica.card(client_id, super::today())?;
    if output.json {
        return output.json(&card);
    }
    output.line(format!("Added {} ({})", card.display_name, card.short_id))
}

fn edit(
    replica: &mut Replica,
    client_id: domain::ClientId,
    edits: &[ClientEdit],
    output: &mut Output,
) -> Result<()> {
    replica.edit_client(client_id, edits)?;
    let card = replica.card(client_id, super::today())?;
    if output.json {
        return output.json(&card);
    }
    output.line(format!("Saved {} ({})", card.display_name, card.short_id))
}

fn add_channel(
    replica: &mut Replica,
    kind: ChannelKind,
    args: &crate::cli::ChannelArgs,
    output: &mut Output,
) -> Result<()> {
    let client_id = replica.resolve_client(&args.client)?;
    let channel = ClientEdit::AddChannel {
        id: EntryId::random(),
        kind,
        value: args.value.clone(),
        label: args.label.clone(),
    };
    edit(replica, client_id, &[channel], output)
}

pub(crate) fn new_contact(contact: &ContactArgs) -> NewContact {
    NewContact {
        id: EntryId::random(),
        name: contact.name.clone(),
        role: contact.role.clone(),
        phone: contact.phone.clone(),
        email: contact.email.clone(),
    }
}

fn kind_edit(kind: KindArg) -> ClientEdit {
    let kind = match kind {
        KindArg::Company => "company",
        KindArg::Person => "person",
    };
    ClientEdit::Field(ProfileField::Kind, kind.to_owned())
}

/// The edits a set of profile flags asks for, in form order.
fn profile_edits(replica: &Replica, args: &ProfileArgs) -> Result<Vec<ClientEdit>> {
    use AddressPart::{City, Country, PostalCode, Region, Street};
    let fields = [
        (ProfileField::Name, &args.name),
        (ProfileField::FirstName, &args.first_name),
        (ProfileField::LastName, &args.last_name),
        (ProfileField::RegNo, &args.reg_no),
        (ProfileField::PersonalCode, &args.personal_code),
        (ProfileField::VatId, &args.vat_id),
        (ProfileField::Industry, &args.industry),
        (ProfileField::Address(Street), &args.street),
        (ProfileField::Address(City), &args.city),
        (ProfileField::Address(PostalCode), &args.postal_code),
        (ProfileField::Address(Region), &args.region),
        (ProfileField::Address(Country), &args.country),
        (ProfileField::BillingRecipient, &args.billing_recipient),
        (ProfileField::BillingAddress(Street), &args.billing_street),
        (ProfileField::BillingAddress(City), &args.billing_city),
        (ProfileField::BillingAddress(PostalCode), &args.billing_postal_code),
        (ProfileField::BillingAddress(Region), &args.billing_region),
        (ProfileField::BillingAddress(Country), &args.billing_country),
        (ProfileField::BillingEmail, &args.billing_email),
        (ProfileField::PaymentTermsDays, &args.payment_terms),
        (ProfileField::Currency, &args.currency),
    ];
    let mut edits: Vec<ClientEdit> = fields
        .into_iter()
        .filter_map(|(field, value)| Some(ClientEdit::Field(field, value.clone()?)))
        .collect();
    if let Some(comments) = &args.comments {
        edits.push(ClientEdit::Comments(comments.clone()));
    }
    if let Some(group) = &args.group {
        edits.push(ClientEdit::Group(Some(replica.resolve_group(group)?)));
    }
    if args.no_group {
        edits.push(ClientEdit::Group(None));
    }
    Ok(edits)
}
