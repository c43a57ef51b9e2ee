//! The workspace document: the company whose data this is, and its devices.
//!
//! Company details (name, address, VAT id, bank) print on invoices and dunning
//! letters; each device registers itself so that per-device number series and the
//! author of a change can be named.

use std::collections::{BTreeMap, HashMap};

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ReadDoc, hydrate};
use domain::DomainError;

use crate::doc_id::DocKind;
use crate::error::Result;
use crate::read;
use crate::skeleton::{check_writable, container};

/// A device that holds a replica of the workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// The device's id.
    pub id: String,
    /// Its name ("laptop-anna").
    pub name: String,
}

/// What the workspace document says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceInfo {
    /// Company details, by key (`name`, `vat_id`, `iban`, …).
    pub company: BTreeMap<String, String>,
    /// Registered devices, by id.
    pub devices: Vec<DeviceInfo>,
}

/// The workspace document opened for editing.
#[derive(Debug)]
pub struct WorkspaceDocMut<'a> {
    doc: &'a mut AutoCommit,
}

impl<'a> WorkspaceDocMut<'a> {
    /// Opens the workspace document; fails on a wrong kind or a newer schema.
    pub fn open(doc: &'a mut AutoCommit) -> Result<Self> {
        check_writable(doc, DocKind::Workspace)?;
        Ok(Self { doc })
    }

    /// Sets a company detail such as `name` or `vat_id`.
    pub fn set_company(&mut self, key: &str, value: &str) -> Result<()> {
        let key = key.trim();
        if key.is_empty() {
            return Err(DomainError::Empty { field: "company detail" }.into());
        }
        let company = container(self.doc, &["company"])?;
        self.doc.put(&company, key, value.trim())?;
        Ok(())
    }

    /// Registers a device (or renames it when it exists).
    pub fn register_device(&mut self, device_id: &str, name: &str, now_ms: i64) -> Result<()> {
        let devices = container(self.doc, &["devices"])?;
        if let Some((automerge::Value::Object(_), device)) = self.doc.get(&devices, device_id)? {
            self.doc.put(&device, "name", name)?;
            return Ok(());
        }
        let value: hydrate::Value =
            HashMap::from([("name", name.into()), ("added_at", now_ms.into())]).into();
        self.doc.batch_create_object(&devices, device_id, &value, false)?;
        Ok(())
    }
}

/// Reads the workspace document.
pub fn hydrate_workspace(doc: &AutoCommit) -> Result<WorkspaceInfo> {
    Ok(workspace_from_root(&crate::hydrate_root(doc)?))
}

pub(crate) fn workspace_from_root(root: &hydrate::Map) -> WorkspaceInfo {
    let company = read::map(root, "company")
        .map(|company| {
            company.iter().map(|(key, _)| (key.clone(), read::text(company, key))).collect()
        })
        .unwrap_or_default();
    let mut devices: Vec<DeviceInfo> = read::entries(root, "devices")
        .into_iter()
        .map(|(id, device)| DeviceInfo { id: id.to_owned(), name: read::text(device, "name") })
        .collect();
    devices.sort_by(|a, b| a.id.cmp(&b.id));
    WorkspaceInfo { company, devices }
}
