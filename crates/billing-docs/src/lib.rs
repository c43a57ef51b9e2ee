//! Kartoteka's billing paperwork, rendered from plain data without IO.
//!
//! - [`letters`]: dunning letters from per-language HTML templates
//!   (`templates/letter.{de,en,lv}.html`).
//! - [`einvoice`]: EN 16931 e-invoices in UBL 2.1 with the XRechnung 3.0 rules.
//! - [`printout`]: printable invoices and credit notes (HTML) per language.
//! - [`format`]: amounts and dates the way each language writes them.
//!
//! The templates (`templates/`, one page per language and kind, sharing a
//! stylesheet) are compiled into the binary, so a letter rendered today and
//! the same letter rendered on another device are byte-identical: that is what
//! lets two replicas that run dunning offline store one letter, not two.

#![warn(missing_docs)]

pub mod einvoice;
mod error;
pub mod format;
pub mod letters;
pub mod printout;
mod templates;

pub use error::{DocsError, Result};
