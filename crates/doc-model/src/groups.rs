//! The workspace's client groups ("restaurant chains", "key accounts").
//!
//! Groups live in one small workspace-wide document keyed by group id, so two
//! replicas can create groups offline and both survive; renaming is a
//! last-writer-wins field whose concurrent values show up as a conflict.

use std::collections::HashMap;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ReadDoc, hydrate};
use domain::{DomainError, GroupId, sort_key};

use crate::doc_id::DocKind;
use crate::error::{DocModelError, Result};
use crate::read;
use crate::skeleton::{check_writable, container};

/// A client group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Its id.
    pub id: GroupId,
    /// Its name.
    pub name: String,
}

/// The groups document opened for editing.
#[derive(Debug)]
pub struct GroupsDocMut<'a> {
    doc: &'a mut AutoCommit,
}

impl<'a> GroupsDocMut<'a> {
    /// Opens the groups document; fails on a wrong kind or a newer schema.
    pub fn open(doc: &'a mut AutoCommit) -> Result<Self> {
        check_writable(doc, DocKind::Groups)?;
        Ok(Self { doc })
    }

    /// Creates a group.
    pub fn create(&mut self, id: GroupId, name: &str, now_ms: i64) -> Result<()> {
        let name = group_name(name)?;
        let groups = container(self.doc, &["groups"])?;
        let value: hydrate::Value =
            HashMap::from([("name", name.as_str().into()), ("added_at", now_ms.into())]).into();
        self.doc.batch_create_object(&groups, id.to_string(), &value, false)?;
        Ok(())
    }

    /// Renames a group.
    pub fn rename(&mut self, id: GroupId, name: &str) -> Result<()> {
        let name = group_name(name)?;
        let groups = container(self.doc, &["groups"])?;
        match self.doc.get(&groups, id.to_string())? {
            Some((automerge::Value::Object(ObjType::Map), group)) => {
                self.doc.put(&group, "name", name)?;
                Ok(())
            }
            _ => Err(DocModelError::MissingContainer { path: format!("groups.{id}") }),
        }
    }
}

fn group_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(DomainError::Empty { field: "group name" }.into());
    }
    Ok(name.to_owned())
}

/// All groups, by name.
pub fn hydrate_groups(doc: &AutoCommit) -> Result<Vec<Group>> {
    Ok(groups_from_root(&crate::hydrate_root(doc)?))
}

pub(crate) fn groups_from_root(root: &hydrate::Map) -> Vec<Group> {
    let mut groups: Vec<Group> = read::entries(root, "groups")
        .into_iter()
        .filter_map(|(key, group)| {
            Some(Group { id: key.parse().ok()?, name: read::text(group, "name") })
        })
        .collect();
    groups.sort_by_cached_key(|group| (sort_key(&group.name), *group.id.as_uuid()));
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DocId, new_document};
    use automerge::ActorId;
    use uuid::Uuid;

    #[test]
    fn groups_created_offline_on_two_replicas_both_survive() {
        let workspace_id = Uuid::from_u128(1);
        let mut anna = new_document(
            DocId::groups(workspace_id),
            DocKind::Groups,
            &ActorId::from([1; 16].as_slice()),
        )
        .unwrap();
        let mut otto = new_document(
            DocId::groups(workspace_id),
            DocKind::Groups,
            &ActorId::from([2; 16].as_slice()),
        )
        .unwrap();
        let chains = GroupId::from_bytes([1; 16]);
        GroupsDocMut::open(&mut anna).unwrap().create(chains, "Restaurant chains", 0).unwrap();
        GroupsDocMut::open(&mut otto)
            .unwrap()
            .create(GroupId::from_bytes([2; 16]), "Key accounts", 0)
            .unwrap();
        anna.merge(&mut otto).unwrap();
        GroupsDocMut::open(&mut anna).unwrap().rename(chains, "Ķēdes").unwrap();
        let names: Vec<String> =
            hydrate_groups(&anna).unwrap().into_iter().map(|g| g.name).collect();
        assert_eq!(names, ["Ķēdes", "Key accounts"]);
        assert!(GroupsDocMut::open(&mut anna).unwrap().create(GroupId::random(), " ", 0).is_err());
    }
}
