//! `kartoteka demo tour`: the product in one run.
//!
//! Two devices of one company (an office and a technician's laptop) get replicas
//! in a temporary directory. The office fills its replica with demo clients and
//! the laptop receives them; both then edit the same client profile offline (two
//! different fields, the comments, and the same field), exchange their documents,
//! and end with the same merged client card, the one real conflict listed on both.

use anyhow::{Context, Result};
use doc_model::DocId;
use domain::{AddressPart, ClientEdit, ProfileField};
use replica_store::{CatalogQuery, InitOptions, Replica};

use crate::output::Output;

/// Clients the office replica starts with.
const TOUR_CLIENTS: usize = 2_000;

pub(crate) fn run(output: &mut Output) -> Result<()> {
    let temp = tempfile::tempdir().context("cannot create a temporary directory for the tour")?;
    let office_home = temp.path().join("office");
    let laptop_home = temp.path().join("laptop");
    let mut office = Replica::create(
        &office_home,
        &InitOptions {
            workspace_name: Some("Serviss SIA".to_owned()),
            device_name: "office-riga".to_owned(),
            workspace_id: None,
        },
    )?;
    let mut laptop = Replica::create(
        &laptop_home,
        &InitOptions {
            workspace_name: None,
            device_name: "laptop-anna".to_owned(),
            workspace_id: Some(office.meta().workspace_id),
        },
    )?;
    // With --json the tour prints only its result, as one JSON document.
    let step = |output: &mut Output, text: &str| {
        if output.json { Ok(()) } else { output.line(format!("\n== {text}")) }
    };
    let say =
        |output: &mut Output, text: &str| if output.json { Ok(()) } else { output.line(text) };

    step(output, &format!("The office generates {TOUR_CLIENTS} demo clients"))?;
    let config = demo_data::DemoConfig {
        clients: TOUR_CLIENTS,
        seed: 2026,
        now_ms: chrono::Utc::now().timestamp_millis(),
    };
    let report = demo_data::generate(&mut office, &config, |_| {})?;
    say(
        output,
        &format!("{} clients, {} units, {} groups", report.clients, report.units, report.groups),
    )?;

    step(output, "The laptop receives the office's documents")?;
    let sent = exchange(&mut office, &mut laptop)?;
    say(output, &format!("{sent} documents merged into the laptop's replica"))?;

    let hits = laptop.catalog(&CatalogQuery {
        text: "rest".to_owned(),
        limit: Some(1),
        ..CatalogQuery::default()
    })?;
    let row = hits.first().context("the demo data has no client matching 'rest'")?;
    let client_id = row.id.parse()?;
    let comments = "Keys at the reception.";
    office.edit_client(client_id, &[ClientEdit::Comments(comments.to_owned())])?;
    exchange(&mut office, &mut laptop)?;

    step(output, &format!("Both edit {} offline", row.name))?;
    say(output, "office: VAT id, adds to the comments, industry = Catering")?;
    office.edit_client(
        client_id,
        &[
            ClientEdit::Field(ProfileField::VatId, "LV40003999999".to_owned()),
            ClientEdit::Comments(format!("{comments} Deliveries before 9.")),
            ClientEdit::Field(ProfileField::Industry, "Catering".to_owned()),
        ],
    )?;
    say(output, "laptop: city, adds to the comments, industry = Hotel restaurant")?;
    laptop.edit_client(
        client_id,
        &[
            ClientEdit::Field(ProfileField::Address(AddressPart::City), "Jūrmala".to_owned()),
            ClientEdit::Comments(format!("Ring twice. {comments}")),
            ClientEdit::Field(ProfileField::Industry, "Hotel restaurant".to_owned()),
        ],
    )?;

    step(output, "They exchange what changed")?;
    let to_laptop = exchange(&mut office, &mut laptop)?;
    let to_office = exchange(&mut laptop, &mut office)?;
    say(output, &format!("{to_laptop} documents office → laptop, {to_office} laptop → office"))?;

    step(output, "The merged client card (identical on both devices)")?;
    let office_card = office.card(client_id, super::today())?;
    let laptop_card = laptop.card(client_id, super::today())?;
    anyhow::ensure!(office_card == laptop_card, "the replicas did not converge");
    if output.json {
        anyhow::ensure!(
            office_card.conflicts.len() == 1,
            "the concurrent industry edits should be one conflict"
        );
        return output.json(&serde_json::json!({ "converged": true, "card": laptop_card }));
    }
    super::card::show(&laptop, client_id, super::today(), output)?;

    step(output, "The catalog search still finds it by its new city")?;
    let found =
        laptop.catalog(&CatalogQuery { text: "jūrm".to_owned(), ..CatalogQuery::default() })?;
    output.line(format!(
        "`kartoteka catalog jūrm` finds {} clients, among them {}",
        found.len(),
        office_card.display_name
    ))?;
    anyhow::ensure!(
        office_card.conflicts.len() == 1,
        "the concurrent industry edits should be one conflict"
    );
    Ok(())
}

/// Sends every document whose heads differ from the receiver's; returns how many.
fn exchange(from: &mut Replica, to: &mut Replica) -> Result<usize> {
    let mut sent = 0;
    for (doc_id, _) in from.documents()? {
        if !needs(from, to, doc_id)? {
            continue;
        }
        let bytes = from.export_document(doc_id)?;
        to.merge_document(doc_id, &bytes)?;
        sent += 1;
    }
    Ok(sent)
}

fn needs(from: &mut Replica, to: &mut Replica, doc_id: DocId) -> Result<bool> {
    let theirs = match to.document_heads(doc_id) {
        Ok(heads) => heads,
        Err(replica_store::StoreError::UnknownDocument(_)) => return Ok(true),
        Err(error) => return Err(error.into()),
    };
    let mut ours = from.document_heads(doc_id)?;
    let mut theirs = theirs;
    ours.sort_unstable();
    theirs.sort_unstable();
    Ok(ours != theirs)
}
