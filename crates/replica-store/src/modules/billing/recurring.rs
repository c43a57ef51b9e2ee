//! Recurring invoices: templates on the client, and `generate --until DATE`.
//!
//! A template's code is this device's series code, "R", a counter and the
//! device's tag ("T03R2-7F3A2B"); only the device with the tag makes templates
//! ending in it, so codes are unique. The invoice a template issues for a period
//! has an id derived from the template and the period's first day, and the number
//! "T03R2-7F3A2B-2027-01" derived from the code and the period: two replicas that
//! generate the same period offline write the same invoice under the same key,
//! and after sync there is one invoice with one number.

use std::collections::{BTreeMap, BTreeSet};

use billing::invoice::{InvoiceKind, Line};
use billing::money::Currency;
use billing::numbering::{recurring_number, template_code};
use billing::recurring::{Occurrence, Period, Schedule, invoice_id, next_pending, occurrences};
use billing::{InvoiceId, TemplateId};
use chrono::{Datelike, NaiveDate};
use doc_model::{ClientBillingMut, DocId, DocKind, InvoicesDocMut, Issue, NewInvoice, Template};
use domain::{ClientId, UnitId};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use crate::error::{Refusal, Result, StoreError, mirror_value};
use crate::replica::{Creation, Replica};

/// Invoices per write transaction when generating.
const INVOICES_PER_BATCH: usize = 500;

/// A new template, as entered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTemplate {
    /// The client invoiced.
    pub client_id: ClientId,
    /// The unit invoiced, if any.
    pub unit_id: Option<UnitId>,
    /// How often.
    pub period: Period,
    /// Day of the period's first month (1–31; clamped to the month's length).
    pub day: u32,
    /// First day an invoice may be issued.
    pub start: NaiveDate,
    /// Last day an invoice may be issued.
    pub end: Option<NaiveDate>,
    /// Payment terms in days [default: the client's].
    pub terms_days: Option<u32>,
    /// Currency [default: the client's, else the workspace's].
    pub currency: Option<Currency>,
    /// Note on every invoice.
    pub note: String,
    /// Lines of every invoice.
    pub lines: Vec<Line>,
}

/// A template as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TemplateView {
    /// Template id.
    pub id: String,
    /// Its code (the series of its invoices).
    pub code: String,
    /// Client id.
    pub client_id: String,
    /// Client name.
    pub client_name: String,
    /// Unit name ('' for the client itself).
    pub unit_name: String,
    /// monthly, quarterly or yearly.
    pub period: String,
    /// Day of the period.
    pub day: u32,
    /// First day.
    pub start: String,
    /// Last day, if it ends.
    pub end: Option<String>,
    /// Payment terms in days.
    pub terms_days: u32,
    /// Currency.
    pub currency: String,
    /// Net per invoice.
    pub net_minor: i64,
    /// Gross per invoice.
    pub gross_minor: i64,
    /// The next issue date after `as_of`, if any.
    pub next_date: Option<String>,
    /// The first issue date up to `as_of` not generated yet, if any.
    pub overdue_date: Option<String>,
    /// Invoices generated so far.
    pub generated: i64,
}

/// One invoice `generate` issued (or would issue).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GeneratedInvoice {
    /// Invoice id.
    pub id: String,
    /// Its number.
    pub number: String,
    /// Template code.
    pub template: String,
    /// Client name.
    pub client_name: String,
    /// Issue date.
    pub issue_date: String,
    /// Gross.
    pub gross_minor: i64,
    /// Currency.
    pub currency: String,
}

/// A template row as `generate` needs it.
#[derive(Clone)]
struct StoredTemplate {
    id: TemplateId,
    code: String,
    client_id: ClientId,
    client_name: String,
    unit_id: String,
    schedule: Schedule,
    terms_days: u32,
    currency: String,
    note: String,
    lines: Vec<Line>,
}

impl Replica {
    /// Adds a recurring template to a client; returns its code.
    pub fn add_template(&mut self, template: &NewTemplate) -> Result<String> {
        let client = self.billing_client(template.client_id)?;
        if let Some(unit_id) = template.unit_id {
            self.check_unit(template.client_id, unit_id)?;
        }
        if template.lines.is_empty() {
            return Err(Refusal::TemplateWithoutLines.into());
        }
        for line in &template.lines {
            line.validate(false)?;
        }
        billing::invoice::totals(&template.lines)?;
        if !(1..=31).contains(&template.day) {
            return Err(Refusal::TemplateDay { day: template.day }.into());
        }
        if let Some(end) = template.end
            && end < template.start
        {
            return Err(Refusal::TemplateEndsBeforeStart { start: template.start, end }.into());
        }
        let currency = match template.currency {
            Some(currency) => currency,
            None => self.default_currency(&client.currency)?,
        };
        let series = self.series(template.start.year())?;
        let prefix = format!("{}R", series.code);
        // This device's templates in the code end in its tag; CAST reads the
        // counter's leading digits.
        let taken: i64 = self.conn.query_row(
            "SELECT COALESCE(MAX(CAST(substr(code, length(?1) + 1) AS INTEGER)), 0) FROM recurring_templates
             WHERE code GLOB ?1 || '[0-9]*-' || ?2",
            params![prefix, series.device_tag],
            |row| row.get(0),
        )?;
        let code = template_code(&series.code, taken + 1, &series.device_tag);
        let stored = Template {
            id: self.entropy.uuid().to_string(),
            code: code.clone(),
            unit_id: template.unit_id.map(|unit| unit.to_string()).unwrap_or_default(),
            period: template.period,
            day: template.day,
            start: template.start,
            end: template.end,
            terms_days: template.terms_days.unwrap_or(client.terms_days),
            currency: currency.to_string(),
            note: template.note.clone(),
            lines: template.lines.clone(),
        };
        self.transact_all(
            &[(DocId::client(template.client_id), Creation::Existing)],
            |_, _, doc| Ok(ClientBillingMut::open(doc)?.add_template(&stored)?),
        )?;
        Ok(code)
    }

    /// Ends a template: nothing is issued after `end`.
    pub fn end_template(&mut self, code: &str, end: NaiveDate) -> Result<()> {
        let found: Option<(String, String, String)> = self
            .conn
            .query_row(
                "SELECT id, client_id, start FROM recurring_templates WHERE code = ?1",
                [code.trim().to_uppercase()],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .optional()?;
        let Some((id, client_id, start)) = found else {
            return Err(StoreError::NotFound {
                what: "template",
                reference: code.to_owned(),
                hint: String::new(),
            });
        };
        if start.parse::<NaiveDate>().is_ok_and(|start| end < start) {
            return Err(
                Refusal::TemplateEndBeforeStart { code: code.to_owned(), start, end }.into()
            );
        }
        let client_id: ClientId = client_id
            .parse()
            .map_err(|_| StoreError::CorruptMirror { what: "client id", value: client_id })?;
        self.transact_all(&[(DocId::client(client_id), Creation::Existing)], |_, _, doc| {
            Ok(ClientBillingMut::open(doc)?.end_template(&id, end)?)
        })?;
        Ok(())
    }

    /// Templates (of one client, or all), with their next date after `as_of`
    /// that is not generated yet.
    pub fn templates(
        &self,
        client_id: Option<ClientId>,
        as_of: NaiveDate,
    ) -> Result<Vec<TemplateView>> {
        let stored = self.stored_templates(client_id)?;
        let mut views = Vec::with_capacity(stored.len());
        for template in stored {
            let generated = self.generated_ids(&template)?;
            let overdue_date = occurrences(&template.schedule, as_of)
                .into_iter()
                .find(|occurrence| {
                    !generated.contains(&invoice_id(template.id, occurrence.period_start))
                })
                .map(|occurrence| occurrence.issue_date.to_string());
            let totals = billing::invoice::totals(&template.lines)?;
            let unit_name: String = self
                .conn
                .query_row(
                    "SELECT name FROM unit_directory WHERE id = ?1",
                    [&template.unit_id],
                    |row| row.get(0),
                )
                .optional()?
                .unwrap_or_default();
            views.push(TemplateView {
                id: template.id.to_string(),
                code: template.code,
                client_id: template.client_id.to_string(),
                client_name: template.client_name,
                unit_name,
                period: template.schedule.period.as_str().to_owned(),
                day: template.schedule.day,
                start: template.schedule.start.to_string(),
                end: template.schedule.end.map(|end| end.to_string()),
                terms_days: template.terms_days,
                currency: template.currency,
                net_minor: totals.net_minor,
                gross_minor: totals.gross_minor,
                next_date: next_pending(&template.schedule, as_of, generated.len(), |start| {
                    generated.contains(&invoice_id(template.id, start))
                })
                .map(|next| next.issue_date.to_string()),
                overdue_date,
                generated: i64::try_from(generated.len()).unwrap_or(i64::MAX),
            });
        }
        Ok(views)
    }

    /// Issues every recurring invoice due up to `until` that is not issued yet
    /// (of one client, or all). With `dry_run`, only reports them.
    pub fn generate_recurring(
        &mut self,
        until: NaiveDate,
        client_id: Option<ClientId>,
        dry_run: bool,
    ) -> Result<Vec<GeneratedInvoice>> {
        let mut due: Vec<(StoredTemplate, Occurrence)> = Vec::new();
        for template in self.stored_templates(client_id)? {
            // A template code two devices made before codes carried the device
            // tag has issued numbers twice; it issues no more (end it and add a
            // new template).
            if crate::modules::billing::invoicing::duplicates_in_series(
                &self.conn,
                &template.code,
                &template.code,
            )? > 0
            {
                tracing::warn!(template = template.code, "template with duplicate numbers skipped");
                continue;
            }
            let generated = self.generated_ids(&template)?;
            for occurrence in occurrences(&template.schedule, until) {
                if !generated.contains(&invoice_id(template.id, occurrence.period_start)) {
                    due.push((template.clone(), occurrence));
                }
            }
        }
        let mut issued = Vec::with_capacity(due.len());
        for chunk in due.chunks(INVOICES_PER_BATCH) {
            issued.extend(self.generate_batch(chunk, dry_run)?);
        }
        if !dry_run {
            tracing::info!(%until, invoices = issued.len(), "recurring invoices generated");
        }
        Ok(issued)
    }

    fn generate_batch(
        &mut self,
        due: &[(StoredTemplate, Occurrence)],
        dry_run: bool,
    ) -> Result<Vec<GeneratedInvoice>> {
        let device_id = self.meta().device_id.to_string();
        let mut by_doc: BTreeMap<DocId, Vec<(NewInvoice, Issue, String)>> = BTreeMap::new();
        let mut report = Vec::with_capacity(due.len());
        for (template, occurrence) in due {
            let id = invoice_id(template.id, occurrence.period_start);
            let totals = billing::invoice::totals(&template.lines)?;
            let number = recurring_number(
                &template.code,
                occurrence.period_start.year(),
                occurrence.period_start.month(),
            );
            let due_date =
                occurrence.issue_date + chrono::Days::new(u64::from(template.terms_days));
            report.push(GeneratedInvoice {
                id: id.to_string(),
                number: number.clone(),
                template: template.code.clone(),
                client_name: template.client_name.clone(),
                issue_date: occurrence.issue_date.to_string(),
                gross_minor: totals.gross_minor,
                currency: template.currency.clone(),
            });
            if dry_run {
                continue;
            }
            let draft = NewInvoice {
                id: id.to_string(),
                unit_id: template.unit_id.clone(),
                kind: InvoiceKind::Invoice.to_string(),
                credits: String::new(),
                currency: template.currency.clone(),
                issue_date: occurrence.issue_date,
                due_date,
                note: template.note.clone(),
                lines: template.lines.clone(),
                template_id: template.id.to_string(),
                created_by: device_id.clone(),
            };
            let issue = Issue {
                number,
                series: template.code.clone(),
                seq: i64::from(occurrence.period_start.year()) * 100
                    + i64::from(occurrence.period_start.month()),
                issue_date: occurrence.issue_date,
                due_date,
                totals,
                snapshot: self.issue_snapshot(template.client_id, &template.unit_id)?,
            };
            let doc_id = DocId::invoices(template.client_id, occurrence.issue_date.year());
            by_doc.entry(doc_id).or_default().push((draft, issue, template.client_id.to_string()));
        }
        if dry_run || by_doc.is_empty() {
            return Ok(report);
        }
        let docs: Vec<(DocId, Creation)> =
            by_doc.keys().map(|doc_id| (*doc_id, Creation::Skeleton(DocKind::Invoices))).collect();
        let now = self.entropy.now_ms();
        self.transact_all(&docs, |_, doc_id, doc| {
            let mut invoices = InvoicesDocMut::open(doc)?;
            for (draft, issue, client_id) in
                by_doc.get(&doc_id).map(Vec::as_slice).unwrap_or_default()
            {
                invoices.label(client_id, issue.issue_date.year())?;
                // Another process may have generated it since the mirror was read.
                if invoices.contains(&draft.id)? {
                    continue;
                }
                invoices.create(draft, now)?;
                invoices.issue(&draft.id, issue)?;
            }
            Ok(())
        })?;
        Ok(report)
    }

    fn stored_templates(&self, client_id: Option<ClientId>) -> Result<Vec<StoredTemplate>> {
        let mut statement = self.conn.prepare_cached(
            "SELECT t.id, t.code, t.client_id, c.display_name, t.unit_id, t.period, t.day, t.start, t.end,
                    t.terms_days, t.currency, t.note, t.lines
             FROM recurring_templates t JOIN client_directory c ON c.id = t.client_id
             WHERE ?1 IS NULL OR t.client_id = ?1
             ORDER BY c.sort_key, t.code",
        )?;
        let rows = statement.query_map(params![client_id.map(|id| id.to_string())], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, String>(4)?,
                row.get::<_, String>(5)?,
                row.get::<_, u32>(6)?,
                row.get::<_, String>(7)?,
                row.get::<_, Option<String>>(8)?,
                row.get::<_, u32>(9)?,
                row.get::<_, String>(10)?,
                row.get::<_, String>(11)?,
                row.get::<_, String>(12)?,
            ))
        })?;
        let mut templates = Vec::new();
        for row in rows {
            let (
                id,
                code,
                client,
                client_name,
                unit_id,
                period,
                day,
                start,
                end,
                terms_days,
                currency,
                note,
                lines,
            ) = row?;
            let parsed = (|| {
                Some(StoredTemplate {
                    id: id.parse().ok()?,
                    client_id: client.parse().ok()?,
                    schedule: Schedule {
                        period: Period::parse(&period)?,
                        day,
                        start: start.parse().ok()?,
                        end: match end.as_deref() {
                            None | Some("") => None,
                            Some(end) => Some(end.parse().ok()?),
                        },
                    },
                    lines: serde_json::from_str(&lines).ok()?,
                    code: code.clone(),
                    client_name,
                    unit_id,
                    terms_days,
                    currency,
                    note,
                })
            })();
            match parsed {
                Some(template) => templates.push(template),
                None => tracing::warn!(template = code, "unreadable recurring template skipped"),
            }
        }
        Ok(templates)
    }

    /// The invoices a template has issued, by id.
    ///
    /// An id the mirror cannot give back is an error: skipping it would make
    /// its period look pending and issue it a second time.
    fn generated_ids(&self, template: &StoredTemplate) -> Result<BTreeSet<InvoiceId>> {
        let ids: Vec<String> = self
            .conn
            .prepare_cached("SELECT id FROM invoices WHERE template_id = ?1 AND template_id <> ''")?
            .query_map([template.id.to_string()], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        ids.into_iter().map(|id| mirror_value("invoice id", id)).collect()
    }
}
