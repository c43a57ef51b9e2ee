//! Everything a user can see of a replica through its queries, for comparing
//! replicas with each other and a mirror with its rebuild.

use chrono::NaiveDate;
use replica_store::{
    ArchiveFilter, CatalogQuery, CatalogRow, ClientCard, ConflictView, GroupRow, InvoiceQuery,
    InvoiceRow, InvoiceSort, Replica, VisitQuery, VisitRow,
};

use crate::SimError;

/// The day cards and invoice states are read at.
pub const AS_OF: NaiveDate = match NaiveDate::from_ymd_opt(2026, 12, 1) {
    Some(date) => date,
    None => NaiveDate::MIN,
};

/// What the queries answer.
#[derive(Debug, PartialEq)]
pub struct Visible {
    catalog: Vec<CatalogRow>,
    cards: Vec<ClientCard>,
    conflicts: Vec<ConflictView>,
    groups: Vec<GroupRow>,
    invoices: Vec<InvoiceRow>,
    visits: Vec<VisitRow>,
}

/// Reads every query's answer.
pub fn visible(replica: &Replica) -> Result<Visible, SimError> {
    let catalog = replica
        .catalog(&CatalogQuery { archive: ArchiveFilter::All, ..CatalogQuery::default() })?;
    let mut cards = Vec::with_capacity(catalog.len());
    for row in &catalog {
        let Ok(client) = row.id.parse() else {
            return Err(SimError::Invariant(format!("catalog row with a bad id {}", row.id)));
        };
        cards.push(replica.card(client, AS_OF)?);
    }
    let invoices = replica.invoices(&InvoiceQuery {
        client: None,
        unit: None,
        state: None,
        from: None,
        to: None,
        sort: InvoiceSort::default(),
        reverse: false,
        as_of: AS_OF,
        limit: None,
    })?;
    Ok(Visible {
        catalog,
        cards,
        conflicts: replica.conflicts(None)?,
        groups: replica.groups()?,
        invoices,
        visits: replica.visits(&VisitQuery::default())?,
    })
}
