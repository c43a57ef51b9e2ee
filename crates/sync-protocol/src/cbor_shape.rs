//! A walk over a CBOR item's headers that bounds what decoding it can cost,
//! before serde builds anything.
//!
//! serde decodes an internally tagged enum (`Message`, tagged by `type`) by
//! buffering the whole map first, and each buffered item costs tens of bytes: a
//! 16 MiB frame of one-byte items once grew the relay by about 500 MiB. Every
//! message of the protocol is a small map (a dozen fields, a few short arrays),
//! so a frame with more items or deeper nesting than any real message is refused
//! before it is decoded. Byte and text strings are skipped, not copied.

use ciborium_ll::{Decoder, Header};

/// Items (map keys and values, array elements, strings, numbers) one message may
/// hold. The largest real message, `remote-heads-changed` for a document many
/// storage peers hold, has a few hundred.
pub const MAX_ITEMS: usize = 4_096;

/// Nesting of maps and arrays. Real messages nest three deep (`newHeads` →
/// storage id → `heads`).
pub const MAX_DEPTH: usize = 8;

/// Why a frame's shape was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    /// Not well-formed CBOR, or followed by trailing bytes.
    #[error("not one well-formed CBOR item")]
    Malformed,
    /// Indefinite-length strings, arrays or maps, which no peer of this protocol
    /// sends and whose size cannot be known in advance.
    #[error("indefinite-length CBOR items are not accepted")]
    Indefinite,
    /// More items than [`MAX_ITEMS`].
    #[error("more than {MAX_ITEMS} CBOR items in one message")]
    TooManyItems,
    /// Deeper than [`MAX_DEPTH`].
    #[error("CBOR nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
}

/// Checks that `bytes` hold exactly one CBOR item within the bounds above.
pub fn check(bytes: &[u8]) -> Result<(), ShapeError> {
    // Items still to read at each open level; the outermost level expects one.
    let mut pending: Vec<u64> = vec![1];
    let mut position = 0usize;
    let mut items = 0usize;
    while let Some(open) = pending.last_mut() {
        if *open == 0 {
            pending.pop();
            continue;
        }
        *open -= 1;
        let rest = bytes.get(position..).ok_or(ShapeError::Malformed)?;
        let mut decoder = Decoder::from(rest);
        let header = decoder.pull().map_err(|_| ShapeError::Malformed)?;
        position += decoder.offset();
        items += 1;
        if items > MAX_ITEMS {
            return Err(ShapeError::TooManyItems);
        }
        let children = match header {
            Header::Bytes(Some(len)) | Header::Text(Some(len)) => {
                position = position.checked_add(len).ok_or(ShapeError::Malformed)?;
                if position > bytes.len() {
                    return Err(ShapeError::Malformed);
                }
                0
            }
            Header::Bytes(None) | Header::Text(None) => return Err(ShapeError::Indefinite),
            Header::Array(None) | Header::Map(None) => return Err(ShapeError::Indefinite),
            Header::Array(Some(len)) => len as u64,
            Header::Map(Some(len)) => (len as u64).saturating_mul(2),
            // A tag is followed by the one item it tags.
            Header::Tag(_) => 1,
            Header::Break => return Err(ShapeError::Malformed),
            Header::Positive(_) | Header::Negative(_) | Header::Float(_) | Header::Simple(_) => 0,
        };
        if children > 0 {
            // A declared length larger than the items left in the budget can never
            // be read; refuse it now rather than after reading up to the budget.
            if children > (MAX_ITEMS - items) as u64 {
                return Err(ShapeError::TooManyItems);
            }
            if pending.len() > MAX_DEPTH {
                return Err(ShapeError::TooDeep);
            }
            pending.push(children);
        }
    }
    if position == bytes.len() { Ok(()) } else { Err(ShapeError::Malformed) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cbor(value: &ciborium::Value) -> Vec<u8> {
        let mut bytes = Vec::new();
        ciborium::into_writer(value, &mut bytes).unwrap();
        bytes
    }

    #[test]
    fn ordinary_messages_pass_and_their_strings_are_skipped() {
        use ciborium::Value;
        let value = Value::Map(vec![
            (Value::Text("type".into()), Value::Text("sync".into())),
            (Value::Text("data".into()), Value::Bytes(vec![7; 100_000])),
            (
                Value::Text("newHeads".into()),
                Value::Map(vec![(
                    Value::Text("storage".into()),
                    Value::Array(vec![Value::Text("abc".into()), Value::Integer(3.into())]),
                )]),
            ),
        ]);
        assert_eq!(check(&cbor(&value)), Ok(()));
    }

    #[test]
    fn many_tiny_items_deep_nesting_and_trailing_bytes_are_refused() {
        use ciborium::Value;
        let many = Value::Array(vec![Value::Integer(1.into()); MAX_ITEMS + 1]);
        assert_eq!(check(&cbor(&many)), Err(ShapeError::TooManyItems));
        // A map that declares a billion entries in five bytes.
        assert_eq!(check(&[0xba, 0x40, 0x00, 0x00, 0x00]), Err(ShapeError::TooManyItems));
        let mut deep = Value::Integer(0.into());
        for _ in 0..=MAX_DEPTH + 1 {
            deep = Value::Array(vec![deep]);
        }
        assert_eq!(check(&cbor(&deep)), Err(ShapeError::TooDeep));
        let mut trailing = cbor(&Value::Integer(1.into()));
        trailing.push(0);
        assert_eq!(check(&trailing), Err(ShapeError::Malformed));
        // A byte string that claims more bytes than there are.
        assert_eq!(check(&[0x5a, 0xff, 0xff, 0xff, 0xff, 1]), Err(ShapeError::Malformed));
        // Indefinite-length array.
        assert_eq!(check(&[0x9f, 0x01, 0xff]), Err(ShapeError::Indefinite));
        assert_eq!(check(&[]), Err(ShapeError::Malformed));
    }
}
