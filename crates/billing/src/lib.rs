//! Kartoteka's billing arithmetic, without IO.
//!
//! - [`ids`]: typed ids of invoices, templates, payments, notices and letters.
//! - [`money`]: amounts are integer minor units with a currency, never floating
//!   point; quantities are thousandths.
//! - [`invoice`]: line amounts rounded per line (half away from zero), totals per
//!   VAT rate, due dates, and the state an invoice is in on a given day.
//! - [`behaviour`]: how a client pays: days late weighted by amount, share paid
//!   late, longest delay, and the trend of the last 12 months.
//! - [`allocation`]: §367 BGB: a partial payment pays costs, then interest, then
//!   the principal.
//! - [`interest`]: §288 BGB default interest from a dated table of base rates.
//! - [`dunning`]: levels, their spacing, blocks, and deterministic notice ids.
//! - [`letter`]: what a dunning letter says, in which language.
//! - [`settlement`]: payments, credit notes and notices in date order.
//! - [`numbering`]: per-device number series and their patterns.
//! - [`recurring`]: periods of recurring invoices and their deterministic ids.
//!
//! Every function that depends on "today" takes the date as an argument.

#![warn(missing_docs)]

pub mod allocation;
pub mod behaviour;
pub mod dunning;
mod error;
pub mod ids;
pub mod interest;
pub mod invoice;
pub mod letter;
pub mod money;
pub mod numbering;
pub mod recurring;
pub mod settlement;

pub use error::{BillingError, Result};
pub use ids::{InvoiceId, LetterId, NoticeId, PaymentId, TemplateId};
