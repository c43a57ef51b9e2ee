//! Which command fixes an error: the libraries say what is wrong, and this
//! table adds the `kartoteka` command a user runs next (the libraries never name
//! commands; `tests/tidy.rs` checks that).

use replica_store::{IssuedRefusal, Refusal, StoreError};
use sync_client::SyncError;

/// The command that helps with `error`, if one does, to print after it.
pub(crate) fn fix(error: &anyhow::Error) -> Option<String> {
    error.chain().find_map(|cause| {
        if let Some(store) = cause.downcast_ref::<StoreError>() {
            return for_store(store);
        }
        match cause.downcast_ref::<SyncError>()? {
            SyncError::Store(store) => for_store(store),
            SyncError::Unauthorized(_) => {
                Some("check the token with `kartoteka remote add URL --token TOKEN`".to_owned())
            }
            SyncError::NoRemote => {
                Some("add one with `kartoteka remote add URL --token TOKEN`".to_owned())
            }
            _ => None,
        }
    })
}

fn for_store(error: &StoreError) -> Option<String> {
    let command = match error {
        StoreError::NoReplica(_) => "create one with `kartoteka init`".to_owned(),
        // A lookup that says where to look already needs no command.
        StoreError::NotFound { what, hint, .. } if hint.is_empty() => match *what {
            "client" => "search with `kartoteka catalog <text>`".to_owned(),
            "group" => "list groups with `kartoteka group list`".to_owned(),
            "template" => "list templates with `kartoteka recurring list`".to_owned(),
            "invoice" => "list invoices with `kartoteka invoice list`".to_owned(),
            _ => return None,
        },
        StoreError::InvoiceIssued { number, refusal: IssuedRefusal::CannotChange } => {
            format!("correct it with `kartoteka invoice credit {number}`")
        }
        StoreError::InvoiceIssued { number, refusal: IssuedRefusal::IsKept } => {
            format!("cancel it with `kartoteka invoice cancel {number}`")
        }
        StoreError::DraftWithoutLines { short_id } => {
            format!("add some with `kartoteka invoice edit {short_id} --line …`")
        }
        StoreError::NoDunningPolicy(_) => {
            "list them with `kartoteka dunning policy list`".to_owned()
        }
        StoreError::CorruptMirror { .. } => {
            "rebuild the mirror from the documents with `kartoteka reindex`".to_owned()
        }
        StoreError::Refused(Refusal::NoDunningPolicies) => {
            "define one with `kartoteka dunning policy set`".to_owned()
        }
        StoreError::Refused(Refusal::DraftOfAnotherDevice { .. }) => {
            "create a new draft here with `kartoteka invoice new`".to_owned()
        }
        _ => return None,
    };
    Some(command)
}
