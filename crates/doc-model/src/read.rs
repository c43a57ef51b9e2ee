//! Reading hydrated Automerge values leniently.
//!
//! A replica must read documents written by other versions: a missing field reads
//! as empty, and a field of an unexpected type reads as its text form rather than
//! failing the whole client card.

use automerge::ScalarValue;
use automerge::hydrate::{Map, Value};

/// The text of a scalar or text field; empty when absent.
pub(crate) fn text(map: &Map, key: &str) -> String {
    match map.get(key) {
        Some(Value::Scalar(ScalarValue::Str(value))) => value.to_string(),
        Some(Value::Scalar(ScalarValue::Null)) | None => String::new(),
        Some(Value::Scalar(ScalarValue::Int(value))) => value.to_string(),
        Some(Value::Scalar(ScalarValue::Uint(value))) => value.to_string(),
        Some(Value::Scalar(other)) => other.to_string(),
        Some(Value::Text(text)) => text.to_string(),
        Some(Value::Map(_) | Value::List(_)) => String::new(),
    }
}

/// A boolean field; `default` when absent or not a boolean.
pub(crate) fn boolean(map: &Map, key: &str, default: bool) -> bool {
    match map.get(key) {
        Some(Value::Scalar(ScalarValue::Boolean(value))) => *value,
        _ => default,
    }
}

/// An integer field; `None` when absent or not an integer.
pub(crate) fn integer(map: &Map, key: &str) -> Option<i64> {
    match map.get(key) {
        Some(Value::Scalar(ScalarValue::Int(value) | ScalarValue::Timestamp(value))) => {
            Some(*value)
        }
        Some(Value::Scalar(ScalarValue::Uint(value))) => i64::try_from(*value).ok(),
        Some(Value::Scalar(ScalarValue::Str(value))) => value.trim().parse().ok(),
        _ => None,
    }
}

/// A nested map; `None` when absent or not a map.
pub(crate) fn map<'a>(map: &'a Map, key: &str) -> Option<&'a Map> {
    match map.get(key) {
        Some(Value::Map(inner)) => Some(inner),
        _ => None,
    }
}

/// The entries of a nested map whose values are maps, e.g. contacts keyed by id.
pub(crate) fn entries<'a>(parent: &'a Map, key: &str) -> Vec<(&'a str, &'a Map)> {
    let Some(inner) = map(parent, key) else { return Vec::new() };
    inner
        .iter()
        .filter_map(|(entry_key, entry)| match &entry.value {
            Value::Map(entry_map) => Some((entry_key.as_str(), entry_map)),
            _ => None,
        })
        .collect()
}

/// An empty map to read from when a container is missing.
pub(crate) fn empty_map() -> &'static Map {
    static EMPTY: std::sync::OnceLock<Map> = std::sync::OnceLock::new();
    EMPTY.get_or_init(Map::default)
}
