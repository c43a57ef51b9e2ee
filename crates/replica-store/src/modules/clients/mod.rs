//! The clients module: clients with their profiles, units, contacts, channels
//! and bank accounts; client groups; the company's details and devices.
//!
//! It owns the client document's profile part (the layout is `doc-model`'s), the
//! groups and workspace documents, the tables of `mirror.sql`, and the queries
//! over them: the catalog (`catalog`), the card's basic part and its units and
//! conflicts (`card`), references typed by users and small listings (`lookup`),
//! and the edits (`edit`).
//!
//! This is the model for a new module: `mirror.sql` holds the tables, `Module`
//! is implemented here, `project.rs` writes the rows, and each query file adds
//! `impl Replica` methods over this module's tables only.

pub(crate) mod card;
pub(crate) mod catalog;
pub(crate) mod edit;
pub(crate) mod lookup;
pub(crate) mod party;
mod project;

use std::sync::Arc;

use doc_model::{DocId, DocKind, Group, WorkspaceInfo};
use domain::Client;

use crate::error::Result;
use crate::module::{ChangedDocument, MirrorWrite, Module, ModuleRows};
use crate::replica::{Creation, InitOptions, Replica};

/// See the module docs.
pub(crate) struct ClientsModule;

impl Module for ClientsModule {
    fn name(&self) -> &'static str {
        "clients"
    }

    fn projection_version(&self) -> u32 {
        1
    }

    fn mirror_ddl(&self) -> &'static str {
        include_str!("mirror.sql")
    }

    fn mirror_tables(&self) -> &'static [&'static str] {
        &[
            "clients",
            "client_search",
            "units",
            "contacts",
            "channels",
            "bank_accounts",
            "client_settings",
            "groups",
            "company",
            "devices",
        ]
    }

    fn on_new_replica(&self, replica: &mut Replica, options: &InitOptions) -> Result<()> {
        let meta = replica.meta().clone();
        let now = replica.entropy.now_ms();
        let workspace_name = options.workspace_name.clone();
        replica.transact(
            replica.workspace_doc_id(),
            Creation::Skeleton(DocKind::Workspace),
            |doc| {
                let mut workspace = doc_model::WorkspaceDocMut::open(doc)?;
                if let Some(name) = &workspace_name {
                    workspace.set_company("name", name)?;
                }
                workspace.register_device(&meta.device_id.to_string(), &meta.device_name, now)?;
                Ok(())
            },
        )?;
        replica.transact(replica.groups_doc_id(), Creation::Skeleton(DocKind::Groups), |_| Ok(()))
    }

    fn read(&self, document: &ChangedDocument<'_>) -> Result<Option<Box<dyn ModuleRows>>> {
        let rows = match document.kind {
            Some(DocKind::Client) => ClientsRows::Client(document.hydrated.client()?),
            Some(DocKind::Groups) => ClientsRows::Groups(document.hydrated.groups()),
            Some(DocKind::Workspace) => ClientsRows::Workspace(document.hydrated.workspace()),
            Some(DocKind::Invoices | DocKind::Billing) | None => return Ok(None),
        };
        Ok(Some(Box::new(rows)))
    }
}

/// What this module shows of one document.
#[derive(Debug)]
enum ClientsRows {
    Client(Arc<Client>),
    Groups(Vec<Group>),
    Workspace(WorkspaceInfo),
}

impl ModuleRows for ClientsRows {
    fn write(&self, mirror: MirrorWrite<'_>, doc_id: DocId) -> Result<()> {
        match self {
            Self::Client(client) => project::project_client(mirror, doc_id, client),
            Self::Groups(groups) => project::project_groups(mirror.conn, groups),
            Self::Workspace(workspace) => project::project_workspace(mirror.conn, workspace),
        }
    }

    fn owner(&self) -> Option<String> {
        match self {
            Self::Client(client) => Some(client.id.to_string()),
            Self::Groups(_) | Self::Workspace(_) => None,
        }
    }
}
