//! What other modules ask of a client: the details an invoice freezes at issue,
//! and the defaults billing starts from.

use std::collections::BTreeMap;

use domain::ClientId;
use rusqlite::OptionalExtension;

use crate::error::Result;
use crate::modules::clients::edit::unknown_client;
use crate::replica::Replica;

/// A client's name and billing defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BillingDefaults {
    /// The name shown.
    pub(crate) name: String,
    /// The client's currency, empty for the workspace's.
    pub(crate) currency: String,
    /// The client's payment terms in days, if it has its own.
    pub(crate) payment_terms_days: Option<i64>,
}

impl Replica {
    /// A client's details as an invoice freezes them at issue (name, codes,
    /// billing address and e-mail, first bank account, the unit invoiced, the
    /// buyer's reference), by key.
    pub(crate) fn party_details(
        &self,
        client_id: ClientId,
        unit_id: &str,
    ) -> Result<BTreeMap<String, String>> {
        let id = client_id.to_string();
        let mut snapshot: BTreeMap<String, String> = self
            .conn
            .prepare_cached(
                "SELECT kind, display_name, vat_id, reg_no, personal_code,
                        CASE WHEN billing_recipient <> '' THEN billing_recipient ELSE display_name END,
                        CASE WHEN billing_street <> '' OR billing_city <> '' THEN billing_street ELSE street END,
                        CASE WHEN billing_street <> '' OR billing_city <> '' THEN billing_city ELSE city END,
                        CASE WHEN billing_street <> '' OR billing_city <> '' THEN billing_postal_code ELSE postal_code END,
                        CASE WHEN billing_street <> '' OR billing_city <> '' THEN billing_region ELSE region END,
                        CASE WHEN billing_street <> '' OR billing_city <> '' THEN billing_country ELSE country END,
                        CASE WHEN billing_email <> '' THEN billing_email ELSE primary_email END
                 FROM clients WHERE id = ?1",
            )?
            .query_row([&id], |row| {
                let keys = [
                    "kind", "name", "vat_id", "reg_no", "personal_code", "recipient", "street", "city",
                    "postal_code", "region", "country", "email",
                ];
                keys.iter()
                    .enumerate()
                    .map(|(index, key)| Ok(((*key).to_owned(), row.get::<_, String>(index)?)))
                    .collect::<rusqlite::Result<BTreeMap<_, _>>>()
            })
            .optional()?
            .ok_or_else(|| unknown_client(client_id))?;
        if let Some((iban, bic)) = self
            .conn
            .query_row(
                "SELECT iban, bic FROM bank_accounts WHERE client_id = ?1 ORDER BY position LIMIT 1",
                [&id],
                |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)),
            )
            .optional()?
        {
            snapshot.insert("iban".to_owned(), iban);
            snapshot.insert("bic".to_owned(), bic);
        }
        let unit: Option<(String, String, String, String, String)> = self
            .conn
            .query_row(
                "SELECT name, street, city, postal_code, country FROM units WHERE id = ?1",
                [unit_id],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?)),
            )
            .optional()?;
        if let Some((name, street, city, postal_code, country)) = unit {
            snapshot.insert("unit_name".to_owned(), name);
            let address =
                domain::Address { street, city, postal_code, region: String::new(), country };
            snapshot.insert("unit_address".to_owned(), address.one_line());
        }
        // A Leitweg-ID or the buyer's order reference goes on the e-invoice (BT-10).
        if let Some(reference) = self
            .conn
            .query_row(
                "SELECT value FROM client_settings WHERE client_id = ?1 AND key = 'buyer_reference'",
                [&id],
                |row| row.get::<_, String>(0),
            )
            .optional()?
        {
            snapshot.insert("buyer_reference".to_owned(), reference);
        }
        Ok(snapshot)
    }

    /// A client's name and billing defaults.
    pub(crate) fn billing_defaults(&self, client_id: ClientId) -> Result<BillingDefaults> {
        self.conn
            .prepare_cached(
                "SELECT display_name, currency, payment_terms_days FROM clients WHERE id = ?1",
            )?
            .query_row([client_id.to_string()], |row| {
                Ok(BillingDefaults {
                    name: row.get(0)?,
                    currency: row.get(1)?,
                    payment_terms_days: row.get(2)?,
                })
            })
            .optional()?
            .ok_or_else(|| unknown_client(client_id))
    }
}
