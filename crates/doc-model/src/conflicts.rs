//! Concurrent writes to the same scalar field.
//!
//! Automerge keeps every concurrently written value and picks a deterministic
//! winner that all replicas agree on. Kartoteka shows the winner and lists the
//! other values here until a user resolves the conflict by picking one value or
//! typing a new one; either way the new write supersedes all of them.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value, hydrate};
use domain::{ContactField, ProfileField, UnitField};

use crate::error::{DocModelError, Result};

/// A field with more than one concurrent value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// Map keys from the document root to the field, e.g. `["profile", "name"]`.
    pub path: Vec<String>,
    /// The concurrent values, in Automerge's order; exactly one is the winner.
    pub values: Vec<ConflictValue>,
}

impl Conflict {
    /// The path as a JSON pointer (RFC 6901), e.g. `/profile/name`: what users type
    /// to resolve it.
    pub fn pointer(&self) -> String {
        to_pointer(&self.path)
    }
}

/// One of the concurrent values of a [`Conflict`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictValue {
    /// The value as text (strings unquoted).
    pub value: String,
    /// Whether this is the value every replica currently shows.
    pub winner: bool,
}

/// How a user resolves a conflict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Keep the value at this 1-based position of [`Conflict::values`].
    Pick(usize),
    /// Write a new value; it is validated like an edit of the same field.
    Value(String),
}

/// Every conflicted scalar field of a document, in path order.
pub fn conflicts(doc: &AutoCommit) -> Result<Vec<Conflict>> {
    conflicts_in(doc, &crate::hydrate_root(doc)?)
}

/// Every conflicted scalar field, given the document's hydrated root (which
/// flags conflicted keys, so only those are looked up again).
pub(crate) fn conflicts_in(doc: &AutoCommit, root: &hydrate::Map) -> Result<Vec<Conflict>> {
    let mut paths = Vec::new();
    flagged_paths(root, &mut Vec::new(), &mut paths);
    let mut found = Vec::new();
    for path in paths {
        let Some(obj) = object_at(doc, &path[..path.len() - 1])? else { continue };
        let values = values_at(doc, &obj, &path)?;
        // Two replicas writing the same value concurrently is agreement, not a
        // decision a user has to make.
        if values.iter().any(|value| value.value != values[0].value) {
            found.push(Conflict { path, values });
        }
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(found)
}

fn flagged_paths(map: &hydrate::Map, path: &mut Vec<String>, found: &mut Vec<Vec<String>>) {
    for (key, entry) in map.iter() {
        path.push(key.clone());
        if entry.conflict {
            found.push(path.clone());
        }
        if let hydrate::Value::Map(child) = &entry.value {
            flagged_paths(child, path, found);
        }
        path.pop();
    }
}

fn object_at(doc: &AutoCommit, path: &[String]) -> Result<Option<ObjId>> {
    let mut obj = ROOT;
    for key in path {
        match doc.get(&obj, key.as_str())? {
            Some((Value::Object(ObjType::Map | ObjType::Table), id)) => obj = id,
            _ => return Ok(None),
        }
    }
    Ok(Some(obj))
}

fn values_at(doc: &AutoCommit, obj: &ObjId, path: &[String]) -> Result<Vec<ConflictValue>> {
    let key = path.last().map(String::as_str).unwrap_or_default();
    let winner = doc.get(obj, key)?.map(|(_, id)| id);
    Ok(doc
        .get_all(obj, key)?
        .into_iter()
        .map(|(value, id)| ConflictValue {
            value: display(&value),
            winner: Some(&id) == winner.as_ref(),
        })
        .collect())
}

fn display(value: &Value<'_>) -> String {
    match value {
        Value::Scalar(scalar) => match scalar.as_ref() {
            ScalarValue::Str(text) => text.to_string(),
            ScalarValue::Null => String::new(),
            other => other.to_string(),
        },
        Value::Object(kind) => format!("<{kind}>"),
    }
}

/// Resolves the conflict at `path` (a JSON pointer such as `/profile/name`).
pub fn resolve_conflict(
    doc: &mut AutoCommit,
    pointer: &str,
    resolution: &Resolution,
) -> Result<()> {
    let path = from_pointer(pointer);
    let Some((key, parents)) = path.split_last() else {
        return Err(DocModelError::NoConflict(pointer.to_owned()));
    };
    let mut obj = ROOT;
    for parent in parents {
        match doc.get(&obj, parent.as_str())? {
            Some((Value::Object(_), id)) => obj = id,
            _ => return Err(DocModelError::NoConflict(pointer.to_owned())),
        }
    }
    let all = doc.get_all(&obj, key.as_str())?;
    if all.len() < 2 {
        return Err(DocModelError::NoConflict(pointer.to_owned()));
    }
    let scalars: Vec<ScalarValue> = all
        .iter()
        .map(|(value, _)| match value {
            Value::Scalar(scalar) => Ok(scalar.clone().into_owned()),
            Value::Object(_) => Err(DocModelError::StructuralConflict(pointer.to_owned())),
        })
        .collect::<Result<_>>()?;
    let chosen =
        match resolution {
            Resolution::Pick(position) => scalars.get(position.wrapping_sub(1)).cloned().ok_or(
                DocModelError::NoSuchChoice { path: pointer.to_owned(), count: scalars.len() },
            )?,
            Resolution::Value(text) => {
                let normalized = normalize_for_path(&path, text)?;
                typed_like(&scalars, normalized)
            }
        };
    doc.put(&obj, key.as_str(), chosen)?;
    Ok(())
}

/// Validates a typed value like an edit of the field at `path` would.
fn normalize_for_path(path: &[String], text: &str) -> Result<String> {
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    match path.as_slice() {
        ["profile", rest @ ..] => {
            match ProfileField::ALL.iter().find(|field| field.path().as_slice() == rest) {
                Some(field) => Ok(field.normalize(text)?),
                None => Ok(text.trim().to_owned()),
            }
        }
        ["contacts", _, key] | ["units", _, "contacts", _, key] => {
            match ContactField::ALL.iter().find(|field| field.key() == *key) {
                Some(field) => Ok(field.normalize(text)?),
                None => Ok(text.trim().to_owned()),
            }
        }
        ["units", _, rest @ ..] => {
            match UnitField::ALL.iter().find(|field| field.path().as_slice() == rest) {
                Some(field) => Ok(field.normalize(text)?),
                None => Ok(text.trim().to_owned()),
            }
        }
        _ => Ok(text.to_owned()),
    }
}

/// Stores `text` with the type the conflicting values have (numbers stay numbers).
fn typed_like(scalars: &[ScalarValue], text: String) -> ScalarValue {
    let all_numbers = scalars.iter().all(|s| matches!(s, ScalarValue::Int(_) | ScalarValue::Null));
    let all_booleans = scalars.iter().all(|s| matches!(s, ScalarValue::Boolean(_)));
    if all_numbers && let Ok(number) = text.parse::<i64>() {
        return ScalarValue::Int(number);
    }
    if all_numbers && text.is_empty() {
        return ScalarValue::Null;
    }
    if all_booleans && let Ok(boolean) = text.parse::<bool>() {
        return ScalarValue::Boolean(boolean);
    }
    ScalarValue::Str(text.into())
}

fn to_pointer(path: &[String]) -> String {
    path.iter().map(|key| format!("/{}", key.replace('~', "~0").replace('/', "~1"))).collect()
}

fn from_pointer(pointer: &str) -> Vec<String> {
    pointer
        .strip_prefix('/')
        .unwrap_or(pointer)
        .split('/')
        .map(|key| key.replace("~1", "/").replace("~0", "~"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ClientDocMut, DocId, DocKind, hydrate_client, new_document};
    use automerge::ActorId;
    use domain::{ClientEdit, ClientId};

    fn replica(actor: u8, base: &mut AutoCommit) -> AutoCommit {
        base.fork().with_actor(ActorId::from([actor; 16].as_slice()))
    }

    fn edit(doc: &mut AutoCommit, edit: &ClientEdit) {
        ClientDocMut::open(doc).unwrap().apply(edit, 0).unwrap();
        doc.commit();
    }

    #[test]
    fn concurrent_writes_to_one_field_are_listed_until_resolved() {
        let client_id = ClientId::from_bytes([1; 16]);
        let mut base = new_document(
            DocId::client(client_id),
            DocKind::Client,
            &ActorId::from([9; 16].as_slice()),
        )
        .unwrap();
        base.commit();
        let mut anna = replica(1, &mut base);
        let mut otto = replica(2, &mut base);
        edit(&mut anna, &ClientEdit::Field(ProfileField::Name, "Acme SIA".to_owned()));
        edit(&mut otto, &ClientEdit::Field(ProfileField::Name, "ACME Ltd".to_owned()));
        edit(&mut otto, &ClientEdit::Field(ProfileField::VatId, "LV40003000001".to_owned()));
        anna.merge(&mut otto).unwrap();
        otto.merge(&mut anna).unwrap();

        let listed = conflicts(&anna).unwrap();
        assert_eq!(listed, conflicts(&otto).unwrap());
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].pointer(), "/profile/name");
        let mut values: Vec<&str> = listed[0].values.iter().map(|v| v.value.as_str()).collect();
        values.sort_unstable();
        assert_eq!(values, ["ACME Ltd", "Acme SIA"]);
        assert_eq!(listed[0].values.iter().filter(|v| v.winner).count(), 1);
        let winner = listed[0].values.iter().find(|v| v.winner).unwrap().value.clone();
        assert_eq!(hydrate_client(&anna).unwrap().profile.name, winner);

        resolve_conflict(
            &mut otto,
            "/profile/name",
            &Resolution::Value(" Acme Baltic SIA ".to_owned()),
        )
        .unwrap();
        otto.commit();
        anna.merge(&mut otto).unwrap();
        assert!(conflicts(&anna).unwrap().is_empty());
        assert_eq!(hydrate_client(&anna).unwrap().profile.name, "Acme Baltic SIA");
        assert_eq!(hydrate_client(&anna).unwrap().profile.vat_id, "LV40003000001");
    }

    #[test]
    fn resolving_validates_the_value_and_the_choice() {
        let client_id = ClientId::from_bytes([1; 16]);
        let mut base = new_document(
            DocId::client(client_id),
            DocKind::Client,
            &ActorId::from([9; 16].as_slice()),
        )
        .unwrap();
        base.commit();
        let mut anna = replica(1, &mut base);
        let mut otto = replica(2, &mut base);
        edit(&mut anna, &ClientEdit::Field(ProfileField::BillingEmail, "a@example.lv".to_owned()));
        edit(&mut otto, &ClientEdit::Field(ProfileField::BillingEmail, "b@example.lv".to_owned()));
        anna.merge(&mut otto).unwrap();
        let pointer = "/profile/billing/email";
        assert!(
            resolve_conflict(&mut anna, pointer, &Resolution::Value("nope".to_owned())).is_err()
        );
        assert!(matches!(
            resolve_conflict(&mut anna, pointer, &Resolution::Pick(3)),
            Err(DocModelError::NoSuchChoice { count: 2, .. })
        ));
        assert!(matches!(
            resolve_conflict(&mut anna, "/profile/name", &Resolution::Pick(1)),
            Err(DocModelError::NoConflict(_))
        ));
        resolve_conflict(&mut anna, pointer, &Resolution::Pick(1)).unwrap();
        anna.commit();
        assert!(conflicts(&anna).unwrap().is_empty());
    }

    #[test]
    fn pointers_escape_slashes_and_tildes() {
        let path = vec!["settings".to_owned(), "a/b~c".to_owned()];
        let pointer = to_pointer(&path);
        assert_eq!(pointer, "/settings/a~1b~0c");
        assert_eq!(from_pointer(&pointer), path);
    }
}
