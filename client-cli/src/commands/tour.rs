//! `kartoteka demo tour`: the product in one run.
//!
//! A relay starts on 127.0.0.1 (the `kartoteka-relay` built next to this
//! binary). An office fills its replica with demo clients and visits and pushes
//! them; a technician's laptop joins the workspace and receives everything. Both
//! then edit the same client offline (two different fields, the comments, the
//! same field, and a visit; the laptop invoices the visit from its own number
//! series while the office books a payment and runs dunning), sync through the
//! relay, and end with the same merged client card, the one real conflict
//! listed on both.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result, bail};
use domain::{
    AddressPart, ClientEdit, NewVisit, ProfileField, VisitId, VisitKind, VisitStatus, WorkItem,
};
use replica_store::{CatalogQuery, InitOptions, Replica};
use sync_client::{Remote, SyncReport};

use crate::output::Output;

/// Clients the office replica starts with.
const TOUR_CLIENTS: usize = 2_000;

/// The relay of the tour; killed when the tour ends, however it ends.
struct TourRelay {
    child: Child,
    url: String,
    data: std::path::PathBuf,
    binary: std::path::PathBuf,
}

impl Drop for TourRelay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl TourRelay {
    fn start(data: &Path) -> Result<Self> {
        let binary = std::env::current_exe()?
            .with_file_name(format!("kartoteka-relay{}", std::env::consts::EXE_SUFFIX));
        if !binary.exists() {
            bail!(
                "{} is missing; build both binaries with `cargo build --release`",
                binary.display()
            );
        }
        let mut child = Command::new(&binary)
            .arg("--data")
            .arg(data)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start the relay")?;
        let mut line = String::new();
        let stdout = child.stdout.take().context("the relay has no stdout")?;
        BufReader::new(stdout).read_line(&mut line)?;
        let url = line.trim().rsplit(' ').next().unwrap_or_default().to_owned();
        if !url.starts_with("http://") {
            let _ = child.kill();
            bail!("the relay did not start: {line}");
        }
        Ok(Self { child, url, data: data.to_owned(), binary })
    }

    fn token(&self, workspace: &str, device: &str) -> Result<String> {
        let output = Command::new(&self.binary)
            .arg("--data")
            .arg(&self.data)
            .args(["token", "issue", "--workspace", workspace, "--device", device])
            .output()?;
        if !output.status.success() {
            bail!("cannot issue a token: {}", String::from_utf8_lossy(&output.stderr));
        }
        Ok(String::from_utf8(output.stdout)?.trim().to_owned())
    }
}

pub(crate) fn run(output: &mut Output) -> Result<()> {
    let temp = tempfile::tempdir().context("cannot create a temporary directory for the tour")?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let json = output.json;
    let say = |output: &mut Output, text: &str| if json { Ok(()) } else { output.line(text) };

    let relay = TourRelay::start(&temp.path().join("relay"))?;
    say(output, &format!("== A relay listens on {}", relay.url))?;

    let mut office = Replica::create(
        &temp.path().join("office"),
        &InitOptions {
            workspace_name: Some("Serviss SIA".to_owned()),
            device_name: "office-riga".to_owned(),
            workspace_id: None,
            seeded: None,
        },
    )?;
    let workspace = office.meta().workspace_id;
    let mut laptop = Replica::create(
        &temp.path().join("laptop"),
        &InitOptions {
            workspace_name: None,
            device_name: "laptop-anna".to_owned(),
            workspace_id: Some(workspace),
            seeded: None,
        },
    )?;
    // The tour's relay runs on loopback, so plain http is fine.
    let loopback = sync_client::Transport::default();
    let office_remote =
        Remote::new(&relay.url, &relay.token(&workspace.to_string(), "office-riga")?, &loopback)?;
    let laptop_remote =
        Remote::new(&relay.url, &relay.token(&workspace.to_string(), "laptop-anna")?, &loopback)?;
    let sync = |replica: &mut Replica, remote: &Remote| -> Result<SyncReport> {
        Ok(runtime.block_on(sync_client::sync_once(replica, remote, &mut |_| {}))?)
    };

    say(
        output,
        &format!(
            "\n== The office generates {TOUR_CLIENTS} clients with their units, visits and invoices"
        ),
    )?;
    let config = demo_data::DemoConfig {
        clients: TOUR_CLIENTS,
        visits: TOUR_CLIENTS * 3,
        invoices: TOUR_CLIENTS * 10,
        today: super::today(),
        seed: 2026,
        now_ms: chrono::Utc::now().timestamp_millis(),
    };
    let generated = demo_data::generate(&mut office, &config, |_| {})?;
    let pushed = sync(&mut office, &office_remote)?;
    say(
        output,
        &format!(
            "{} clients, {} units, {} visits, {} invoices; pushed {} documents ({:.1} MB) in {:.1} s",
            generated.clients,
            generated.units,
            generated.visits,
            generated.invoices,
            pushed.documents_synced,
            (pushed.bytes_sent + pushed.bytes_received) as f64 / 1e6,
            pushed.seconds
        ),
    )?;

    say(output, "\n== The technician's laptop joins the workspace")?;
    let joined = sync(&mut laptop, &laptop_remote)?;
    say(
        output,
        &format!(
            "received {} documents ({:.1} MB) in {:.1} s",
            joined.documents_received,
            (joined.bytes_sent + joined.bytes_received) as f64 / 1e6,
            joined.seconds
        ),
    )?;
    // The office learns of the laptop (its device entry).
    sync(&mut office, &office_remote)?;

    let hits = laptop.catalog(&CatalogQuery {
        text: "rest".to_owned(),
        limit: Some(1),
        ..CatalogQuery::default()
    })?;
    let row = hits.first().context("the demo data has no client matching 'rest'")?;
    let client_id = row.id.parse()?;
    let comments = "Keys at the reception.";
    office.edit_client(client_id, &[ClientEdit::Comments(comments.to_owned())])?;
    sync(&mut office, &office_remote)?;
    sync(&mut laptop, &laptop_remote)?;

    say(output, &format!("\n== Offline, both edit {}", row.name))?;
    say(output, "office: VAT id, adds to the comments, industry = Catering")?;
    office.edit_client(
        client_id,
        &[
            ClientEdit::Field(ProfileField::VatId, "LV40003999999".to_owned()),
            ClientEdit::Comments(format!("{comments} Deliveries before 9.")),
            ClientEdit::Field(ProfileField::Industry, "Catering".to_owned()),
        ],
    )?;
    say(
        output,
        "laptop: city, adds to the comments, industry = Hotel restaurant, records a breakdown visit",
    )?;
    laptop.edit_client(
        client_id,
        &[
            ClientEdit::Field(ProfileField::Address(AddressPart::City), "Jūrmala".to_owned()),
            ClientEdit::Comments(format!("Ring twice. {comments}")),
            ClientEdit::Field(ProfileField::Industry, "Hotel restaurant".to_owned()),
        ],
    )?;
    let today = super::today();
    let now = chrono::Local::now().fixed_offset();
    let unit = laptop.client(client_id)?.units.first().map(|unit| unit.id);
    laptop.record_visit(
        client_id,
        NewVisit {
            id: VisitId::random(),
            unit_id: unit,
            start: now - chrono::Duration::minutes(90),
            end: now,
            technician: "Anna".to_owned(),
            kind: VisitKind::Breakdown,
            status: VisitStatus::Done,
            items: vec![WorkItem::parse("Replaced the compressor relay=1 pcs")?],
            notes: "Relay burnt; spare ordered.".to_owned(),
        },
        &[],
    )?;

    // Billing offline: the laptop invoices the visit from its own number series,
    // the office books the client's payment and runs today's dunning.
    laptop.set_series("T03", None, chrono::Datelike::year(&today))?;
    let invoice = laptop.create_invoice(&replica_store::InvoiceDraft {
        client_id,
        unit_id: unit,
        currency: None,
        issue_date: today,
        terms: None,
        note: "Breakdown visit".to_owned(),
        lines: vec![
            ::billing::invoice::Line::parse("Call-out=1 x 35.00 @ 21")?,
            ::billing::invoice::Line::parse("Compressor relay=1 pcs x 24.90 @ 21")?,
        ],
    })?;
    let number = laptop.issue_invoice(invoice, None)?;
    say(output, &format!("laptop: issues invoice {number} for the visit"))?;
    let open = office.invoices(&replica_store::InvoiceQuery {
        client: Some(client_id),
        unit: None,
        state: Some(replica_store::StateFilter::Open),
        from: None,
        to: None,
        sort: replica_store::InvoiceSort::Date,
        reverse: true,
        as_of: today,
        limit: Some(1),
    })?;
    if let Some(oldest) = open.first() {
        office.record_payment(
            oldest.id.parse()?,
            &replica_store::PaymentInput {
                date: today,
                amount: ::billing::money::Money::new(oldest.open_minor, oldest.currency.parse()?),
                method: "transfer".to_owned(),
                reference: "Bank statement".to_owned(),
            },
        )?;
        say(output, &format!("office: books the payment of {} for {}", oldest.number, row.name))?;
    }
    let dunning = office.run_dunning(
        &replica_store::DunningRun {
            as_of: today,
            dry_run: false,
            language: None,
            pay_within_days: 10,
        },
        &mut |letter| {
            let html = billing_docs::letters::render(letter)?;
            let client = letter.recipient.get("name").map_or("", String::as_str);
            Ok((billing_docs::letters::file_name(letter, client), html.into_bytes()))
        },
    )?;
    say(
        output,
        &format!(
            "office: today's dunning run writes {} notices in {} letters (de, en, lv by country)",
            dunning.notices.len(),
            dunning.letters
        ),
    )?;

    say(output, "\n== Back online, both sync through the relay")?;
    let from_laptop = sync(&mut laptop, &laptop_remote)?;
    let to_office = sync(&mut office, &office_remote)?;
    let to_laptop = sync(&mut laptop, &laptop_remote)?;
    say(
        output,
        &format!(
            "laptop sent {} documents; office received {} and sent {}; laptop received {}",
            from_laptop.documents_sent,
            to_office.documents_received,
            to_office.documents_sent,
            to_laptop.documents_received
        ),
    )?;

    let office_card = office.card(client_id, today)?;
    let laptop_card = laptop.card(client_id, today)?;
    anyhow::ensure!(office_card == laptop_card, "the replicas did not converge");
    anyhow::ensure!(
        office_card.conflicts.len() == 1,
        "the concurrent industry edits should be one conflict"
    );
    if json {
        return output.json(
            &serde_json::json!({ "converged": true, "relay": relay.url, "card": laptop_card }),
        );
    }
    say(output, "\n== The merged client card, identical on both devices")?;
    super::card::show(&laptop, client_id, today, output)?;
    say(output, "\n== Resolve the conflict on either device, e.g.")?;
    say(
        output,
        &format!(
            "kartoteka conflicts {} --resolve /profile/industry --pick 2",
            office_card.short_id
        ),
    )
}
