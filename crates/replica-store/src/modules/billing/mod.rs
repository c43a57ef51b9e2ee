//! The billing module: invoices and credit notes, payments, number series,
//! recurring invoices, dunning, and the card's account section.
//!
//! It owns the invoices documents (one per client and year), the billing
//! settings document, the client document's billing part (recurring templates,
//! dunning settings; the layout is `doc-model`'s), the tables of `mirror.sql`,
//! and the work on them: `invoicing` (drafts, issue, payments, credit notes,
//! series), `invoice_queries` (lists, detail, statement), `recurring`
//! (templates, `generate_recurring`), `dunning` (`run_dunning`, policies, base
//! rates, blocks) and `card` (the card's account section). Its dunning letters
//! are filed among the client's documents through field work.

pub(crate) mod card;
pub(crate) mod dunning;
pub(crate) mod invoice_queries;
pub(crate) mod invoicing;
mod project;
pub(crate) mod recurring;

use doc_model::{BillingSettings, ClientBilling, DocId, DocKind, InvoicesContent};

use crate::error::Result;
use crate::module::{ChangedDocument, MirrorWrite, Module, ModuleRows};

/// See the module docs.
pub(crate) struct BillingModule;

impl Module for BillingModule {
    fn name(&self) -> &'static str {
        "billing"
    }

    fn projection_version(&self) -> u32 {
        1
    }

    fn mirror_ddl(&self) -> &'static str {
        include_str!("mirror.sql")
    }

    fn mirror_tables(&self) -> &'static [&'static str] {
        &[
            "invoices",
            "invoice_lines",
            "payments",
            "notices",
            "notice_sendings",
            "recurring_templates",
            "client_dunning",
            "billing_series",
            "dunning_policies",
            "base_rates",
            "billing_settings",
        ]
    }

    fn read(&self, document: &ChangedDocument<'_>) -> Result<Option<Box<dyn ModuleRows>>> {
        let hydrated = document.hydrated;
        let rows = match document.kind {
            Some(DocKind::Client) => {
                let client_id = hydrated.client_id()?.to_string();
                BillingRows::Client { client_id, billing: Box::new(hydrated.client_billing()) }
            }
            // Read from the document itself: letters lost in merges by earlier
            // versions are conflicting values hydration does not show.
            Some(DocKind::Invoices) => {
                BillingRows::Invoices(Box::new(hydrated.invoices_restored(document.doc)?))
            }
            Some(DocKind::Billing) => BillingRows::Settings(Box::new(hydrated.billing())),
            Some(DocKind::Groups | DocKind::Workspace) | None => return Ok(None),
        };
        Ok(Some(Box::new(rows)))
    }
}

/// What this module shows of one document.
#[derive(Debug)]
enum BillingRows {
    Client { client_id: String, billing: Box<ClientBilling> },
    Invoices(Box<InvoicesContent>),
    Settings(Box<BillingSettings>),
}

impl ModuleRows for BillingRows {
    fn write(&self, mirror: MirrorWrite<'_>, doc_id: DocId) -> Result<()> {
        match self {
            Self::Client { client_id, billing } => {
                project::project_client_billing(mirror, doc_id, client_id, billing)
            }
            Self::Invoices(content) => project::project_invoices(mirror.conn, doc_id, content),
            Self::Settings(settings) => project::project_billing_settings(mirror.conn, settings),
        }
    }

    fn owner(&self) -> Option<String> {
        match self {
            Self::Invoices(content) if !content.client_id.is_empty() => {
                Some(content.client_id.clone())
            }
            Self::Client { .. } | Self::Invoices(_) | Self::Settings(_) => None,
        }
    }
}
