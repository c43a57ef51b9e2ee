//! The billing parts of a client document: recurring-invoice templates (the
//! card's "auto-generator rows") and the client's dunning settings (a policy
//! override and a block).
//!
//! They live in the client document because they belong to the client and are
//! few; invoices, which grow without bound, live in per-year invoices documents.
//! Both containers (`recurring`, `dunning`) are part of the client skeleton.

use std::collections::HashMap;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ReadDoc, hydrate};
use billing::invoice::Line;
use billing::recurring::Period;
use chrono::NaiveDate;

use crate::billing::{date_of, lines_from, lines_value};
use crate::doc_id::DocKind;
use crate::error::{DocModelError, Result};
use crate::read;
use crate::skeleton::{check_writable, container};

/// A recurring-invoice template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// Its id.
    pub id: String,
    /// Its code, unique in the workspace ("T03R2"): the series of its invoices.
    pub code: String,
    /// The unit invoiced ('' for the client itself).
    pub unit_id: String,
    /// How often.
    pub period: Period,
    /// Day of the period's first month on which the invoice is issued (clamped to
    /// the month's length).
    pub day: u32,
    /// First day invoices may be issued.
    pub start: NaiveDate,
    /// Last day invoices may be issued, if it ends.
    pub end: Option<NaiveDate>,
    /// Payment terms in days.
    pub terms_days: u32,
    /// Currency code.
    pub currency: String,
    /// Note printed on each invoice.
    pub note: String,
    /// Lines of each invoice.
    pub lines: Vec<Line>,
}

/// A client's dunning settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientDunning {
    /// The policy used instead of the workspace default ('' for the default).
    pub policy: String,
    /// A block on all of the client's invoices.
    pub block: Option<billing::dunning::Block>,
}

/// The billing parts of a client document.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientBilling {
    /// Templates, by code.
    pub templates: Vec<Template>,
    /// Dunning settings.
    pub dunning: ClientDunning,
}

/// The billing parts of a client document, opened for editing.
#[derive(Debug)]
pub struct ClientBillingMut<'a> {
    doc: &'a mut AutoCommit,
}

impl<'a> ClientBillingMut<'a> {
    /// Opens a client document's billing parts.
    pub fn open(doc: &'a mut AutoCommit) -> Result<Self> {
        check_writable(doc, DocKind::Client)?;
        Ok(Self { doc })
    }

    /// Adds a template.
    pub fn add_template(&mut self, template: &Template) -> Result<()> {
        let templates = container(self.doc, &["recurring"])?;
        if self.doc.get(&templates, template.id.as_str())?.is_some() {
            return Err(DocModelError::DuplicateRecord {
                what: "template",
                id: template.id.clone(),
            });
        }
        let value: hydrate::Value = HashMap::from([
            ("code", template.code.as_str().into()),
            ("unit_id", template.unit_id.as_str().into()),
            ("period", template.period.as_str().into()),
            ("day", i64::from(template.day).into()),
            ("start", template.start.to_string().as_str().into()),
            ("end", template.end.map(|end| end.to_string()).unwrap_or_default().as_str().into()),
            ("terms_days", i64::from(template.terms_days).into()),
            ("currency", template.currency.as_str().into()),
            ("note", template.note.as_str().into()),
            ("lines", lines_value(&template.lines)),
        ])
        .into();
        self.doc.batch_create_object(&templates, template.id.as_str(), &value, false)?;
        Ok(())
    }

    /// Ends a template: no invoices are issued after `end`.
    pub fn end_template(&mut self, template_id: &str, end: NaiveDate) -> Result<()> {
        let templates = container(self.doc, &["recurring"])?;
        match self.doc.get(&templates, template_id)? {
            Some((automerge::Value::Object(ObjType::Map), template)) => {
                self.doc.put(&template, "end", end.to_string())?;
                Ok(())
            }
            _ => Err(DocModelError::UnknownRecord { what: "template", id: template_id.to_owned() }),
        }
    }

    /// Sets the client's dunning policy ('' for the workspace default).
    pub fn set_policy(&mut self, policy: &str) -> Result<()> {
        let dunning = container(self.doc, &["dunning"])?;
        self.doc.put(&dunning, "policy", policy)?;
        Ok(())
    }

    /// Blocks or unblocks dunning of the client.
    pub fn set_block(&mut self, block: Option<&billing::dunning::Block>) -> Result<()> {
        let dunning = container(self.doc, &["dunning"])?;
        let (reason, until) = match block {
            Some(block) => (block.reason.clone(), block.until.to_string()),
            None => (String::new(), String::new()),
        };
        self.doc.put(&dunning, "block_reason", reason)?;
        self.doc.put(&dunning, "block_until", until)?;
        Ok(())
    }
}

/// Reads the billing parts of a client document.
pub(crate) fn client_billing_from_root(root: &hydrate::Map) -> ClientBilling {
    let mut templates: Vec<Template> = read::entries(root, "recurring")
        .into_iter()
        .filter_map(|(id, entry)| {
            Some(Template {
                id: id.to_owned(),
                code: read::text(entry, "code"),
                unit_id: read::text(entry, "unit_id"),
                period: Period::parse(&read::text(entry, "period"))?,
                day: u32::try_from(read::integer(entry, "day")?).ok()?,
                start: date_of(entry, "start")?,
                end: date_of(entry, "end"),
                terms_days: u32::try_from(read::integer(entry, "terms_days").unwrap_or(0))
                    .unwrap_or(0),
                currency: read::text(entry, "currency"),
                note: read::text(entry, "note"),
                lines: lines_from(entry),
            })
        })
        .collect();
    // By code, then id: two templates may share a code, and the order
    // hydration reads entries in is not fixed.
    templates.sort_by(|a, b| (&a.code, &a.id).cmp(&(&b.code, &b.id)));
    let dunning = read::map(root, "dunning")
        .map(|dunning| ClientDunning {
            policy: read::text(dunning, "policy"),
            block: date_of(dunning, "block_until").map(|until| billing::dunning::Block {
                reason: read::text(dunning, "block_reason"),
                until,
            }),
        })
        .unwrap_or_default();
    ClientBilling { templates, dunning }
}

#[cfg(test)]
mod tests {
    use billing::recurring::Period;
    use chrono::NaiveDate;
    use domain::ClientId;

    use super::*;
    use crate::{DocKind, new_document};

    #[test]
    fn templates_that_share_a_code_are_read_in_one_order_every_time() {
        let doc_id = crate::DocId::client(ClientId::random());
        let mut doc = new_document(doc_id, DocKind::Client, &automerge::ActorId::random()).unwrap();
        for id in ["b-template", "a-template", "c-template"] {
            ClientBillingMut::open(&mut doc)
                .unwrap()
                .add_template(&Template {
                    id: id.to_owned(),
                    code: "T03R1-7F3A2B".to_owned(),
                    unit_id: String::new(),
                    period: Period::Monthly,
                    day: 1,
                    start: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
                    end: None,
                    terms_days: 14,
                    currency: "EUR".to_owned(),
                    note: String::new(),
                    lines: Vec::new(),
                })
                .unwrap();
        }
        // Hydration reads map entries in the order of a randomly seeded hash
        // map; the mirror's rows (and their hash) must not depend on it.
        let order = |doc: &AutoCommit| -> Vec<String> {
            crate::hydrate(doc)
                .unwrap()
                .client_billing()
                .templates
                .into_iter()
                .map(|t| t.id)
                .collect()
        };
        for _ in 0..20 {
            assert_eq!(order(&doc), ["a-template", "b-template", "c-template"]);
        }
    }
}
