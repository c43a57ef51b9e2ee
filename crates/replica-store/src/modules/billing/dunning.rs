//! Dunning (Mahnwesen): policies, base rates, blocks, and the dunning run.
//!
//! A run looks at every invoice with principal open past its due date (the
//! partial index `invoices_open`), skips blocked invoices and clients, and gives
//! each the next level its policy has due — never skipping one. Each notice's id
//! is derived from the invoice and the level, and each letter's id from the
//! client, the notices it carries and the run's date, so a repeated run, or the
//! same run on two offline replicas on one day, stores the same notices and
//! letters instead of duplicates. Every letter also records a sending of each
//! notice it carries (`SendingRecord`, keyed by notice and letter): two devices
//! that send one level on different days offline keep both letters and both
//! sendings, while the level (and its fee) counts once.
//!
//! Fees, interest and the lump sum are claims of the notice, kept beside the
//! frozen invoice; the mirror's settlement applies payments to them first
//! (§367 BGB).

use std::collections::BTreeMap;
use std::thread::{Scope, ScopedJoinHandle};

use billing::InvoiceId;
use billing::dunning::{Block, LUMP_SUM_MINOR, Policy, blocked, next_level, notice_id};
use billing::interest::{BaseRate, Debtor, default_interest, known_base_rates};
use billing::invoice::{InvoiceKind, InvoiceStatus};
use billing::letter::{DunningLetter, Language, LetterItem};
use blob_store::{BlobHash, BlobStore, Put};
use chrono::{Datelike, NaiveDate};
use doc_model::{
    BillingDocMut, ClientBillingMut, DocId, DocKind, InvoicesDocMut, LetterRecord, NoticeRecord,
    SendingRecord, sending_key,
};
use domain::ClientId;
use rusqlite::OptionalExtension;
use serde::Serialize;
use uuid::Uuid;

use crate::blobs::queue_uploads;
use crate::error::{Refusal, Result, StoreError, mirror_value};
use crate::replica::{Creation, DocumentReader, Preloaded, Replica};

/// The name of the policy used when none is chosen.
pub const STANDARD_POLICY: &str = "Standard";

/// Letters per write transaction: bounds memory (a run holds at most three
/// batches: one being recorded, one being prepared, one being rendered) and the
/// work lost to a crash, and spreads each sync over many letters.
const LETTERS_PER_BATCH: usize = 200;

/// A rendered letter: file name and bytes.
pub type RenderedLetter = (String, Vec<u8>);

/// Turns a letter into a file. The CLI passes `billing_docs::letters::render`;
/// this crate does not know how letters look.
pub type LetterRenderer<'a> = dyn FnMut(
        &DunningLetter,
    ) -> std::result::Result<RenderedLetter, Box<dyn std::error::Error + Send + Sync>>
    + 'a;

/// What a dunning run is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DunningRun {
    /// The run's date: notices and letters carry it.
    pub as_of: NaiveDate,
    /// Only report what would be sent.
    pub dry_run: bool,
    /// Write every letter in this language [default: the client's `language`
    /// setting, else by the client's country].
    pub language: Option<Language>,
    /// Days the letter gives to pay.
    pub pay_within_days: u32,
}

/// One notice a run created (or would create).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedNotice {
    /// Notice id.
    pub id: String,
    /// Invoice id.
    pub invoice_id: String,
    /// Invoice number.
    pub number: String,
    /// Client id.
    pub client_id: String,
    /// Client name.
    pub client_name: String,
    /// Currency.
    pub currency: String,
    /// Level (1 = first, as in the invoice's dunning history).
    pub level: usize,
    /// Level name.
    pub level_name: String,
    /// Open principal.
    pub open_minor: i64,
    /// Fee.
    pub fee_minor: i64,
    /// Default interest.
    pub interest_minor: i64,
    /// Lump sum.
    pub lump_sum_minor: i64,
    /// The letter's client-document id.
    pub letter_document: String,
    /// The letter's language.
    pub language: Language,
}

/// What a run found and did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DunningReport {
    /// The run's date.
    pub as_of: String,
    /// Whether nothing was stored.
    pub dry_run: bool,
    /// Overdue invoices looked at.
    pub overdue: usize,
    /// Of those, passed over for a block on the invoice or the client.
    pub blocked: usize,
    /// Notices created (or, in a dry run, due).
    pub notices: Vec<PlannedNotice>,
    /// Letters written (or due).
    pub letters: usize,
}

/// A dunning policy as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyView {
    /// The policy.
    #[serde(flatten)]
    pub policy: Policy,
    /// Whether clients without their own policy use it.
    pub default: bool,
    /// Whether it is the built-in policy nobody changed.
    pub built_in: bool,
}

/// A base rate as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BaseRateView {
    /// First day.
    pub from: NaiveDate,
    /// Basis points.
    pub rate_bp: i32,
    /// "shipped" or "entered".
    pub source: &'static str,
}

/// An overdue invoice as the run reads it from the mirror.
struct Candidate {
    invoice_id: String,
    doc_id: String,
    client_id: String,
    number: String,
    currency: String,
    issue_date: NaiveDate,
    due_date: NaiveDate,
    open_minor: i64,
    earlier_charges_minor: i64,
    sent: usize,
    last_sent: Option<NaiveDate>,
    interest_until: Option<NaiveDate>,
    lump_sum_charged: bool,
    invoice_block: Option<Block>,
    business: bool,
    client_name: String,
    country: String,
    client_policy: String,
    client_block: Option<Block>,
    language: String,
}

impl Replica {
    /// Every dunning policy: the stored ones and the built-in standard.
    pub fn dunning_policies(&self) -> Result<Vec<PolicyView>> {
        let default_name = self.default_policy_name()?;
        let mut policies = self.stored_policies()?;
        let built_in = !policies.contains_key(STANDARD_POLICY);
        policies.entry(STANDARD_POLICY.to_owned()).or_insert_with(Policy::standard);
        Ok(policies
            .into_values()
            .map(|policy| PolicyView {
                default: policy.name == default_name,
                built_in: built_in && policy.name == STANDARD_POLICY,
                policy,
            })
            .collect())
    }

    /// Stores a policy (replacing one of the same name); optionally makes it
    /// the default.
    pub fn set_dunning_policy(&mut self, policy: &Policy, make_default: bool) -> Result<()> {
        policy.validate()?;
        let json = serde_json::to_string(policy)
            .map_err(|source| StoreError::Json { what: "dunning policy", source })?;
        self.transact_all(
            &[(self.billing_doc_id(), Creation::Skeleton(DocKind::Billing))],
            |_, _, doc| {
                let mut billing = BillingDocMut::open(doc)?;
                billing.set_policy(&json, &policy.name)?;
                if make_default {
                    billing.set_setting("default_policy", &policy.name)?;
                }
                Ok(())
            },
        )?;
        Ok(())
    }

    /// The base-rate table: shipped rates, with rates users entered added or
    /// replacing a shipped one of the same day.
    pub fn base_rates(&self) -> Result<Vec<BaseRateView>> {
        let mut rates: BTreeMap<NaiveDate, (i32, &'static str)> = known_base_rates()
            .into_iter()
            .map(|rate| (rate.from, (rate.rate_bp, "shipped")))
            .collect();
        let entered: Vec<(String, i64)> = self
            .conn
            .prepare_cached("SELECT date, rate_bp FROM base_rates")?
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (date, rate_bp) in entered {
            if let (Ok(date), Ok(rate_bp)) = (date.parse::<NaiveDate>(), i32::try_from(rate_bp)) {
                rates.insert(date, (rate_bp, "entered"));
            }
        }
        Ok(rates
            .into_iter()
            .map(|(from, (rate_bp, source))| BaseRateView { from, rate_bp, source })
            .collect())
    }

    /// Adds or corrects a base rate. The base rate changes only on 1 January and
    /// 1 July (§247 BGB); other days are refused.
    pub fn set_base_rate(&mut self, from: NaiveDate, rate_bp: i32) -> Result<()> {
        if from.day() != 1 || !matches!(from.month(), 1 | 7) {
            return Err(Refusal::BaseRateDay { from }.into());
        }
        if !(-1_000..=2_000).contains(&rate_bp) {
            return Err(Refusal::BaseRateImplausible { rate_bp }.into());
        }
        self.transact_all(
            &[(self.billing_doc_id(), Creation::Skeleton(DocKind::Billing))],
            |_, _, doc| Ok(BillingDocMut::open(doc)?.set_base_rate(from, i64::from(rate_bp))?),
        )?;
        Ok(())
    }

    /// Sets a client's dunning policy (`None`: the workspace default).
    pub fn set_client_policy(&mut self, client_id: ClientId, policy: Option<&str>) -> Result<()> {
        if let Some(name) = policy
            && !self.dunning_policies()?.iter().any(|view| view.policy.name == name)
        {
            return Err(StoreError::NoDunningPolicy(name.to_owned()));
        }
        self.billing_client(client_id)?;
        let name = policy.unwrap_or_default().to_owned();
        self.transact_all(&[(DocId::client(client_id), Creation::Existing)], |_, _, doc| {
            Ok(ClientBillingMut::open(doc)?.set_policy(&name)?)
        })?;
        Ok(())
    }

    /// Blocks (or, with `None`, unblocks) dunning of a client.
    pub fn set_client_dunning_block(
        &mut self,
        client_id: ClientId,
        block: Option<&Block>,
    ) -> Result<()> {
        check_block(block)?;
        self.billing_client(client_id)?;
        self.transact_all(&[(DocId::client(client_id), Creation::Existing)], |_, _, doc| {
            Ok(ClientBillingMut::open(doc)?.set_block(block)?)
        })?;
        Ok(())
    }

    /// Blocks (or unblocks) dunning of one issued invoice.
    pub fn set_invoice_dunning_block(
        &mut self,
        invoice_id: Uuid,
        block: Option<&Block>,
    ) -> Result<()> {
        check_block(block)?;
        let location = self.locate_invoice(invoice_id)?;
        if location.status != InvoiceStatus::Issued || location.kind != InvoiceKind::Invoice {
            return Err(Refusal::DunningOfUnissued { invoice: location.label() }.into());
        }
        let id = invoice_id.to_string();
        self.transact_all(&[(location.doc_id, Creation::Existing)], |_, _, doc| {
            Ok(InvoicesDocMut::open(doc)?.set_block(&id, block)?)
        })?;
        Ok(())
    }

    /// Runs dunning for `run.as_of`; see the module documentation.
    pub fn run_dunning(
        &mut self,
        run: &DunningRun,
        render: &mut LetterRenderer<'_>,
    ) -> Result<DunningReport> {
        let policies = self.policy_table()?;
        let default_name = self.default_policy_name()?;
        let rates: Vec<BaseRate> = self
            .base_rates()?
            .iter()
            .map(|view| BaseRate { from: view.from, rate_bp: view.rate_bp })
            .collect();
        let candidates = self.overdue_candidates(run.as_of)?;
        let overdue = candidates.len();
        let mut blocked_count = 0;
        // (client, currency) → the letter's items and the notices behind them.
        let mut groups: BTreeMap<(String, String), Vec<DueNotice>> = BTreeMap::new();
        for candidate in candidates {
            if blocked(candidate.invoice_block.as_ref(), run.as_of)
                || blocked(candidate.client_block.as_ref(), run.as_of)
            {
                blocked_count += 1;
                continue;
            }
            let policy = policies
                .get(&candidate.client_policy)
                .or_else(|| policies.get(&default_name))
                .or_else(|| policies.get(STANDARD_POLICY))
                .ok_or(Refusal::NoDunningPolicies)?;
            let Some(level) = next_level(
                policy,
                candidate.due_date,
                candidate.sent,
                candidate.last_sent,
                run.as_of,
            ) else {
                continue;
            };
            let (notice, item) = notice_for(&candidate, policy, level, run.as_of, &rates)?;
            groups
                .entry((candidate.client_id.clone(), candidate.currency.clone()))
                .or_default()
                .push((candidate, notice, item));
        }

        let mut report = DunningReport {
            as_of: run.as_of.to_string(),
            dry_run: run.dry_run,
            overdue,
            blocked: blocked_count,
            notices: Vec::new(),
            letters: groups.len(),
        };
        let seller = self.company_details()?;
        let store = self.blob_store()?;
        // Letters are stored in batches; a failure keeps the batches before it.
        // While one batch is recorded in the replica, a second thread writes the
        // files of the next and loads the documents it will change, so the
        // second core and the file system's syncs overlap the recording.
        let reader = if run.dry_run { None } else { Some(self.document_reader()?) };
        std::thread::scope(|scope| -> Result<()> {
            let mut pipeline = LetterPipeline { scope, store: &store, preparing: None, reader };
            let mut batch: Vec<LetterToStore> = Vec::new();
            let mut stored = 0_usize;
            for ((client_id, currency), mut entries) in groups {
                entries
                    .sort_by(|a, b| (a.0.due_date, &a.0.number).cmp(&(b.0.due_date, &b.0.number)));
                // A group exists only once its first notice was pushed into it.
                let first = &entries[0].0;
                let language = run
                    .language
                    .or_else(|| first.language.parse().ok())
                    .unwrap_or_else(|| Language::for_country(&first.country));
                let Ok(client_uuid) = client_id.parse::<Uuid>() else {
                    let error = StoreError::CorruptMirror { what: "client id", value: client_id };
                    return Err(self.stop_run(&mut pipeline, run.as_of, error, stored));
                };
                let letter_id = letter_id(
                    client_uuid,
                    run.as_of,
                    entries.iter().map(|(_, notice, _)| notice.id.as_str()),
                );
                for (candidate, notice, item) in &mut entries {
                    notice.letter_document = letter_id.to_string();
                    report.notices.push(PlannedNotice {
                        id: notice.id.clone(),
                        invoice_id: candidate.invoice_id.clone(),
                        number: candidate.number.clone(),
                        client_id: client_id.clone(),
                        client_name: candidate.client_name.clone(),
                        currency: currency.clone(),
                        level: item.level + 1,
                        level_name: item.level_name.clone(),
                        open_minor: item.open_minor,
                        fee_minor: item.fee_minor,
                        interest_minor: item.interest_minor,
                        lump_sum_minor: item.lump_sum_minor,
                        letter_document: letter_id.to_string(),
                        language,
                    });
                }
                if run.dry_run {
                    continue;
                }
                let snapshot = match self.issue_snapshot(ClientId::from_uuid(client_uuid), "") {
                    Ok(snapshot) => snapshot,
                    Err(error) => {
                        return Err(self.stop_run(&mut pipeline, run.as_of, error, stored));
                    }
                };
                let recipient =
                    snapshot.into_iter().filter(|(key, _)| !key.starts_with("seller.")).collect();
                let letter = DunningLetter {
                    language,
                    date: run.as_of,
                    pay_by: run.as_of + chrono::Days::new(u64::from(run.pay_within_days)),
                    seller: seller.clone(),
                    recipient,
                    currency: currency.clone(),
                    items: entries.iter().map(|(_, _, item)| item.clone()).collect(),
                };
                let (file_name, bytes) = match render(&letter) {
                    Ok(rendered) => rendered,
                    Err(error) => {
                        let error = StoreError::LetterRendering(error.to_string());
                        return Err(self.stop_run(&mut pipeline, run.as_of, error, stored));
                    }
                };
                batch.push(LetterToStore {
                    letter_id,
                    file_name,
                    bytes,
                    notices: entries
                        .into_iter()
                        .map(|(candidate, notice, _)| (candidate.doc_id, notice))
                        .collect(),
                });
                if batch.len() >= LETTERS_PER_BATCH {
                    let next = std::mem::take(&mut batch);
                    stored += self
                        .advance(&mut pipeline, run.as_of, Some(next))
                        .map_err(|error| partly_stored(error, stored))?;
                }
            }
            if !batch.is_empty() {
                stored += self
                    .advance(&mut pipeline, run.as_of, Some(batch))
                    .map_err(|error| partly_stored(error, stored))?;
            }
            self.advance(&mut pipeline, run.as_of, None)
                .map_err(|error| partly_stored(error, stored))?;
            Ok(())
        })?;
        tracing::info!(
            as_of = %run.as_of,
            notices = report.notices.len(),
            letters = report.letters,
            dry_run = run.dry_run,
            "dunning run"
        );
        Ok(report)
    }

    /// Ends a run that failed before its end: the batch being prepared is still
    /// recorded (its letters were complete), then the error says how many
    /// letters are stored.
    fn stop_run(
        &mut self,
        pipeline: &mut LetterPipeline<'_, '_>,
        date: NaiveDate,
        error: StoreError,
        stored: usize,
    ) -> StoreError {
        match self.advance(pipeline, date, None) {
            Ok(recorded) => partly_stored(error, stored + recorded),
            Err(also) => {
                tracing::warn!(error = %also, "the last prepared batch of a failed run was not stored");
                partly_stored(error, stored)
            }
        }
    }

    /// Waits for the batch being prepared, starts preparing `next`, and records
    /// the batch that was ready; returns the number of letters recorded.
    fn advance(
        &mut self,
        pipeline: &mut LetterPipeline<'_, '_>,
        date: NaiveDate,
        next: Option<Vec<LetterToStore>>,
    ) -> Result<usize> {
        let ready = match pipeline.preparing.take() {
            Some(preparing) => Some(preparing.finish(&mut pipeline.reader)?),
            None => None,
        };
        if let Some(next) = next {
            pipeline.preparing = Some(PreparingBatch::start(
                pipeline.scope,
                pipeline.store,
                pipeline.reader.take(),
                next,
            ));
        }
        match ready {
            Some(ready) => self.record_letters(pipeline.store, date, ready),
            None => Ok(0),
        }
    }

    /// Records each letter of a prepared batch with its notices in the invoices
    /// documents, in one transaction; returns the number of letters. A letter
    /// lives in the document of its oldest invoice (every replica picks the
    /// same), beside the notices it carries: append-only like them, and without
    /// touching the client document. On error the batch's new files are removed
    /// again.
    fn record_letters(
        &mut self,
        store: &BlobStore,
        date: NaiveDate,
        batch: PreparedBatch,
    ) -> Result<usize> {
        let count = batch.letters.len();
        let fresh = added_files(&batch.puts);
        let result = self.record_prepared(date, batch);
        if result.is_err() {
            remove_all(store, &fresh);
        }
        result.map(|()| count)
    }

    fn record_prepared(&mut self, date: NaiveDate, batch: PreparedBatch) -> Result<()> {
        let PreparedBatch { letters, puts, documents } = batch;
        let device_id = self.meta().device_id.to_string();
        let mut records: BTreeMap<DocId, DocumentRecords> = BTreeMap::new();
        for (letter, put) in letters.into_iter().zip(&puts) {
            let mut home: Option<DocId> = None;
            for (doc_id, notice) in letter.notices {
                let doc_id: DocId = doc_id.parse().map_err(|_| StoreError::CorruptMirror {
                    what: "document id",
                    value: doc_id.clone(),
                })?;
                home.get_or_insert(doc_id);
                let letter_id = letter.letter_id.to_string();
                let sending = SendingRecord {
                    id: sending_key(&notice.id, &letter_id),
                    notice_id: notice.id.clone(),
                    invoice_id: notice.invoice_id.clone(),
                    level: notice.level,
                    name: notice.name.clone(),
                    date: notice.date,
                    fee_minor: notice.fee_minor,
                    lump_sum_minor: notice.lump_sum_minor,
                    interest_minor: notice.interest_minor,
                    letter_id,
                    device_id: device_id.clone(),
                };
                let entry = records.entry(doc_id).or_default();
                entry.notices.push(notice);
                entry.sendings.push(sending);
            }
            let Some(home) = home else { continue };
            let record = LetterRecord {
                id: letter.letter_id.to_string(),
                name: letter.file_name,
                date,
                hash: put.hash.to_string(),
                media_type: "text/html".to_owned(),
                size: put.size,
            };
            records.entry(home).or_default().letters.push((record, put.hash));
        }
        let docs: Vec<(DocId, Creation)> =
            records.keys().map(|doc_id| (*doc_id, Creation::Existing)).collect();
        self.transact_all_preloaded(&docs, documents, |tx, doc_id, doc| {
            let mut invoices = InvoicesDocMut::open(doc)?;
            if let Some(DocumentRecords { notices, sendings, letters }) = records.get(&doc_id) {
                for notice in notices {
                    invoices.add_notice(notice)?;
                }
                for sending in sendings {
                    invoices.add_sending(sending)?;
                }
                for (letter, _) in letters {
                    invoices.add_letter(letter)?;
                }
                // A letter's file waits for upload from the transaction that stores it.
                queue_uploads(tx, letters.iter().map(|(_, hash)| hash))?;
            }
            Ok(())
        })?;
        Ok(())
    }

    fn stored_policies(&self) -> Result<BTreeMap<String, Policy>> {
        let rows: Vec<(String, String)> = self
            .conn
            .prepare_cached("SELECT name, json FROM dunning_policies")?
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let mut policies = BTreeMap::new();
        for (name, json) in rows {
            match serde_json::from_str::<Policy>(&json) {
                Ok(policy) => {
                    policies.insert(name, policy);
                }
                Err(error) => {
                    tracing::warn!(policy = name, %error, "unreadable dunning policy skipped")
                }
            }
        }
        Ok(policies)
    }

    fn policy_table(&self) -> Result<BTreeMap<String, Policy>> {
        let mut policies = self.stored_policies()?;
        policies.entry(STANDARD_POLICY.to_owned()).or_insert_with(Policy::standard);
        Ok(policies)
    }

    fn default_policy_name(&self) -> Result<String> {
        Ok(self
            .conn
            .query_row(
                "SELECT value FROM billing_settings WHERE key = 'default_policy'",
                [],
                |row| row.get(0),
            )
            .optional()?
            .unwrap_or_else(|| STANDARD_POLICY.to_owned()))
    }

    fn overdue_candidates(&self, as_of: NaiveDate) -> Result<Vec<Candidate>> {
        let mut statement = self.conn.prepare_cached(
            "SELECT i.id, i.doc_id, i.client_id, i.number, i.currency, i.issue_date, i.due_date,
                    i.open_minor, i.costs_open_minor + i.interest_open_minor, i.notices,
                    i.last_notice_date, i.interest_until, i.lump_sum_charged, i.block_reason, i.block_until,
                    c.kind, c.display_name, c.country,
                    COALESCE(d.policy, ''), COALESCE(d.block_reason, ''), COALESCE(d.block_until, ''),
                    COALESCE(c.language, '')
             FROM invoices i INDEXED BY invoices_open
             JOIN client_directory c ON c.id = i.client_id
             LEFT JOIN client_dunning d ON d.client_id = i.client_id
             WHERE i.open_minor > 0 AND i.due_date < ?1 AND i.kind = 'invoice' AND i.status = 'issued'",
        )?;
        let rows = statement.query_map([as_of.to_string()], |row| {
            Ok((
                Candidate {
                    invoice_id: row.get(0)?,
                    doc_id: row.get(1)?,
                    client_id: row.get(2)?,
                    number: row.get(3)?,
                    currency: row.get(4)?,
                    issue_date: NaiveDate::MIN,
                    due_date: NaiveDate::MIN,
                    open_minor: row.get(7)?,
                    earlier_charges_minor: row.get(8)?,
                    sent: usize::try_from(row.get::<_, i64>(9)?).unwrap_or(0),
                    last_sent: None,
                    interest_until: None,
                    lump_sum_charged: row.get::<_, i64>(12)? != 0,
                    invoice_block: None,
                    business: row.get::<_, String>(15)? == "company",
                    client_name: row.get(16)?,
                    country: row.get(17)?,
                    client_policy: row.get(18)?,
                    client_block: None,
                    language: row.get(21)?,
                },
                [
                    row.get::<_, String>(5)?,
                    row.get::<_, String>(6)?,
                    row.get::<_, Option<String>>(10)?.unwrap_or_default(),
                    row.get::<_, Option<String>>(11)?.unwrap_or_default(),
                    row.get::<_, String>(13)?,
                    row.get::<_, String>(14)?,
                    row.get::<_, String>(19)?,
                    row.get::<_, String>(20)?,
                ],
            ))
        })?;
        let mut candidates = Vec::new();
        for row in rows {
            let (
                mut candidate,
                [
                    issue,
                    due,
                    last,
                    interest_until,
                    invoice_reason,
                    invoice_until,
                    client_reason,
                    client_until,
                ],
            ) = row?;
            let date = |text: &str| text.parse::<NaiveDate>().ok();
            let (Some(issue), Some(due)) = (date(&issue), date(&due)) else {
                tracing::warn!(
                    invoice = candidate.invoice_id,
                    "invoice with unreadable dates skipped"
                );
                continue;
            };
            candidate.issue_date = issue;
            candidate.due_date = due;
            candidate.last_sent = date(&last);
            candidate.interest_until = date(&interest_until);
            candidate.invoice_block =
                date(&invoice_until).map(|until| Block { reason: invoice_reason, until });
            candidate.client_block =
                date(&client_until).map(|until| Block { reason: client_reason, until });
            candidates.push(candidate);
        }
        Ok(candidates)
    }
}

/// An invoice, its new notice, and the notice's line in the letter.
type DueNotice = (Candidate, NoticeRecord, LetterItem);

/// A letter ready to store.
struct LetterToStore {
    letter_id: Uuid,
    file_name: String,
    bytes: Vec<u8>,
    /// (invoices document id, notice)
    notices: Vec<(String, NoticeRecord)>,
}

/// What one invoices document gets from a batch: notices, and the letters it
/// keeps, each with its file.
#[derive(Default)]
struct DocumentRecords {
    notices: Vec<NoticeRecord>,
    sendings: Vec<SendingRecord>,
    letters: Vec<(LetterRecord, BlobHash)>,
}

/// Batches of letters on their way into the replica: at most one is being
/// prepared on a second thread while the one before is recorded.
struct LetterPipeline<'scope, 'env> {
    scope: &'scope Scope<'scope, 'env>,
    store: &'scope BlobStore,
    preparing: Option<PreparingBatch<'scope>>,
    /// With the preparing thread while a batch is being prepared.
    reader: Option<DocumentReader>,
}

/// A batch of letters being prepared on another thread: their files are
/// written and the invoices documents they go into are loaded. Dropped
/// unfinished (the run failed before recording the batch), it waits for the
/// thread and removes the files the batch added.
struct PreparingBatch<'scope> {
    store: &'scope BlobStore,
    thread: Option<ScopedJoinHandle<'scope, Preparation>>,
}

/// What the preparing thread hands back.
struct Preparation {
    letters: Vec<LetterToStore>,
    puts: blob_store::Result<Vec<Put>>,
    documents: Preloaded,
    reader: Option<DocumentReader>,
}

/// A batch ready to record: each letter with its stored file, and the
/// documents loaded for it.
struct PreparedBatch {
    letters: Vec<LetterToStore>,
    puts: Vec<Put>,
    documents: Preloaded,
}

impl<'scope> PreparingBatch<'scope> {
    fn start(
        scope: &'scope Scope<'scope, '_>,
        store: &'scope BlobStore,
        mut reader: Option<DocumentReader>,
        letters: Vec<LetterToStore>,
    ) -> Self {
        let thread = scope.spawn(move || {
            let files: Vec<&[u8]> = letters.iter().map(|letter| letter.bytes.as_slice()).collect();
            let puts = store.put_many(&files);
            // Preloading only saves time: should it panic, the batch goes on
            // without it (the transaction loads the documents), so the files
            // just written are still recorded or removed.
            let preloaded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let documents = match &mut reader {
                    Some(reader) => reader.load(
                        letters
                            .iter()
                            .flat_map(|letter| &letter.notices)
                            .filter_map(|(doc_id, _)| doc_id.parse().ok()),
                    ),
                    None => Preloaded::new(),
                };
                (documents, reader)
            }));
            let (documents, reader) = preloaded.unwrap_or_else(|_| (Preloaded::new(), None));
            Preparation { letters, puts, documents, reader }
        });
        Self { store, thread: Some(thread) }
    }

    /// Waits for the thread; hands its document reader back for the next batch.
    fn finish(mut self, reader: &mut Option<DocumentReader>) -> Result<PreparedBatch> {
        let joined = self.thread.take().map(ScopedJoinHandle::join);
        let Some(Ok(preparation)) = joined else {
            return Err(StoreError::LetterPreparationFailed);
        };
        *reader = preparation.reader;
        // put_many removed what it had added when it failed.
        let puts = preparation.puts?;
        Ok(PreparedBatch { letters: preparation.letters, puts, documents: preparation.documents })
    }
}

impl Drop for PreparingBatch<'_> {
    fn drop(&mut self) {
        if let Some(Ok(Preparation { puts: Ok(puts), .. })) =
            self.thread.take().map(ScopedJoinHandle::join)
        {
            remove_all(self.store, &added_files(&puts));
        }
    }
}

/// The notice of `level` for an invoice, with its fee, interest and lump sum.
fn notice_for(
    candidate: &Candidate,
    policy: &Policy,
    level: usize,
    as_of: NaiveDate,
    rates: &[BaseRate],
) -> Result<(NoticeRecord, LetterItem)> {
    // `next_level` only returns indexes of existing levels.
    let step = &policy.levels[level];
    let debtor = if candidate.business { Debtor::Business } else { Debtor::Consumer };
    // Interest runs from the day after the last claim (or the due date) to the run.
    let (interest_minor, interest_period) = if step.interest {
        let from = candidate.interest_until.unwrap_or(candidate.due_date);
        let interest = default_interest(candidate.open_minor, from, as_of, rates, debtor)?;
        (interest, (interest > 0).then(|| (from + chrono::Days::new(1), as_of)))
    } else {
        (0, None)
    };
    // §288 (5) BGB: €40 once, from a business in default, on a euro claim.
    let lump_sum_minor = if policy.lump_sum
        && candidate.business
        && step.interest
        && !candidate.lump_sum_charged
        && candidate.currency == "EUR"
    {
        LUMP_SUM_MINOR
    } else {
        0
    };
    let invoice: InvoiceId = mirror_value("invoice id", candidate.invoice_id.clone())?;
    let notice = NoticeRecord {
        id: notice_id(invoice, level).to_string(),
        invoice_id: candidate.invoice_id.clone(),
        level: i64::try_from(level).unwrap_or(i64::MAX),
        name: step.name.clone(),
        date: as_of,
        fee_minor: step.fee_minor,
        lump_sum_minor,
        interest_minor,
        letter_document: String::new(),
    };
    let item = LetterItem {
        number: candidate.number.clone(),
        issue_date: candidate.issue_date,
        due_date: candidate.due_date,
        days_overdue: (as_of - candidate.due_date).num_days(),
        open_minor: candidate.open_minor,
        level,
        level_name: step.name.clone(),
        earlier_charges_minor: candidate.earlier_charges_minor,
        fee_minor: step.fee_minor,
        interest_minor,
        interest_period,
        lump_sum_minor,
    };
    Ok((notice, item))
}

/// The id of the letter carrying these notices on `date`: the same on every
/// replica that sends them that day (one letter), another on another day (two
/// letters, both kept).
fn letter_id<'a>(client: Uuid, date: NaiveDate, notice_ids: impl Iterator<Item = &'a str>) -> Uuid {
    let mut ids: Vec<&str> = notice_ids.collect();
    ids.sort_unstable();
    Uuid::new_v5(&client, format!("kartoteka/dunning-letter/{date}/{}", ids.join(",")).as_bytes())
}

/// An error after some batches of a run were stored says so: those letters and
/// notices are kept, and running again for the same day continues from there.
fn partly_stored(error: StoreError, stored: usize) -> StoreError {
    if stored == 0 {
        return error;
    }
    tracing::warn!(stored, %error, "dunning run stopped part way");
    StoreError::DunningRunStopped { stored, source: Box::new(error) }
}

fn check_block(block: Option<&Block>) -> Result<()> {
    if let Some(block) = block
        && block.reason.trim().is_empty()
    {
        return Err(Refusal::BlockWithoutReason.into());
    }
    Ok(())
}

/// The files a batch added to the store (not those it found there already).
fn added_files(puts: &[Put]) -> Vec<BlobHash> {
    puts.iter().filter(|put| put.new).map(|put| put.hash).collect()
}

fn remove_all(store: &blob_store::BlobStore, hashes: &[BlobHash]) {
    for hash in hashes {
        if let Err(error) = store.remove(hash) {
            tracing::warn!(%hash, %error, "could not remove a letter of a failed dunning run");
        }
    }
}
