//! Bounds on an Automerge sync message, checked before Automerge acts on it.
//!
//! Automerge trusts the parameters of the Bloom filters a peer sends: a filter
//! that declares entries but no bits makes `generate_sync_message` divide by zero
//! (a panic), and the probe count is used as given, so one 905-byte message with
//! billions of probes kept the relay busy for 26 s. The cost of answering a sync
//! message is about (changes the answerer has) × (filters) × (probes per filter),
//! so both factors the peer controls are bounded here, along with the hash lists
//! Automerge walks. Honest peers stay far inside every bound: Automerge sends one
//! filter of 10 bits per entry and 7 probes.

use automerge::sync;

/// Hashes in `heads`, `need` or one filter's `last_sync`. A document's heads are
/// one per concurrent branch, a handful in practice.
pub const MAX_HASHES: usize = 1_024;

/// Bloom filters (`have` entries) in one message; Automerge sends one.
pub const MAX_FILTERS: usize = 8;

/// Probes per Bloom filter; Automerge uses 7.
pub const MAX_PROBES: u32 = 32;

/// Bits per entry of a Bloom filter; Automerge uses 10.
pub const MAX_BITS_PER_ENTRY: u32 = 64;

/// Why a sync message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncMessageError {
    /// A list of hashes is longer than [`MAX_HASHES`].
    #[error("a sync message lists more than {MAX_HASHES} hashes in `{0}`")]
    TooManyHashes(&'static str),
    /// More than [`MAX_FILTERS`] Bloom filters.
    #[error("a sync message carries more than {MAX_FILTERS} Bloom filters")]
    TooManyFilters,
    /// A Bloom filter whose header cannot be read, that has entries but no bits,
    /// or whose probe or bit counts are out of range.
    #[error("a sync message carries an invalid Bloom filter: {0}")]
    BadFilter(&'static str),
}

/// Checks a decoded sync message against the bounds above.
pub fn check(message: &sync::Message) -> Result<(), SyncMessageError> {
    if message.heads.len() > MAX_HASHES {
        return Err(SyncMessageError::TooManyHashes("heads"));
    }
    if message.need.len() > MAX_HASHES {
        return Err(SyncMessageError::TooManyHashes("need"));
    }
    if message.have.len() > MAX_FILTERS {
        return Err(SyncMessageError::TooManyFilters);
    }
    for have in &message.have {
        if have.last_sync.len() > MAX_HASHES {
            return Err(SyncMessageError::TooManyHashes("have.lastSync"));
        }
        check_filter(&have.bloom.to_bytes())?;
    }
    Ok(())
}

/// A filter's wire form: nothing (empty), or LEB128 entries, bits per entry and
/// probes, then the bits.
fn check_filter(encoded: &[u8]) -> Result<(), SyncMessageError> {
    if encoded.is_empty() {
        return Ok(());
    }
    let mut reader = encoded;
    let mut field = |name: &'static str| {
        leb128::read::unsigned(&mut reader).map_err(|_| SyncMessageError::BadFilter(name))
    };
    let entries = field("entries")?;
    let bits_per_entry = field("bits per entry")?;
    let probes = field("probes")?;
    let bits = reader;
    if entries == 0 {
        return Ok(());
    }
    if bits.is_empty() {
        return Err(SyncMessageError::BadFilter("entries but no bits"));
    }
    if bits_per_entry == 0 || bits_per_entry > u64::from(MAX_BITS_PER_ENTRY) {
        return Err(SyncMessageError::BadFilter("bits per entry out of range"));
    }
    if probes == 0 || probes > u64::from(MAX_PROBES) {
        return Err(SyncMessageError::BadFilter("probe count out of range"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use automerge::AutoCommit;
    use automerge::sync::SyncDoc;
    use automerge::transaction::Transactable;

    use super::*;

    /// The 10-byte message of issue 10: one filter with one entry, zero bits per
    /// entry (so zero bits) and one probe.
    const ZERO_BIT_FILTER: [u8; 10] = [0x42, 0x00, 0x00, 0x01, 0x00, 0x03, 0x01, 0x00, 0x01, 0x00];

    fn honest_message() -> sync::Message {
        let mut doc = AutoCommit::new();
        doc.put(automerge::ROOT, "name", "SIA Koks").unwrap();
        let mut peer = AutoCommit::new();
        let mut peer_state = sync::State::new();
        let mut state = sync::State::new();
        // Two rounds so that the second message carries a real filter.
        let first = peer.sync().generate_sync_message(&mut peer_state).unwrap();
        doc.sync().receive_sync_message(&mut state, first).unwrap();
        let reply = doc.sync().generate_sync_message(&mut state).unwrap();
        peer.sync().receive_sync_message(&mut peer_state, reply).unwrap();
        peer.put(automerge::ROOT, "own", 1).unwrap();
        peer.sync().generate_sync_message(&mut peer_state).unwrap()
    }

    #[test]
    fn honest_messages_pass() {
        let message = honest_message();
        assert!(message.have.iter().any(|have| !have.bloom.to_bytes().is_empty()));
        assert_eq!(check(&message), Ok(()));
    }

    #[test]
    fn a_filter_with_entries_and_no_bits_is_refused() {
        let message = sync::Message::decode(&ZERO_BIT_FILTER).unwrap();
        assert_eq!(check(&message), Err(SyncMessageError::BadFilter("entries but no bits")));
    }

    #[test]
    fn a_filter_with_billions_of_probes_is_refused() {
        // One filter: 1 entry, 10 bits per entry, 2^32 - 1 probes, 2 bytes of bits.
        let mut bytes = vec![0x42, 0x00, 0x00, 0x01, 0x00];
        let mut filter = vec![0x01, 0x0a];
        leb128::write::unsigned(&mut filter, u64::from(u32::MAX)).unwrap();
        filter.extend([0xff, 0xff]);
        bytes.push(filter.len() as u8);
        bytes.extend(filter);
        bytes.push(0x00);
        let message = sync::Message::decode(&bytes).unwrap();
        assert_eq!(check(&message), Err(SyncMessageError::BadFilter("probe count out of range")));
    }

    #[test]
    fn too_many_filters_are_refused() {
        let mut message = honest_message();
        let have = message.have[0].clone();
        message.have = vec![have; MAX_FILTERS + 1];
        assert_eq!(check(&message), Err(SyncMessageError::TooManyFilters));
    }
}
