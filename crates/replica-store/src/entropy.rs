//! Where a replica takes the time it stamps on what it writes and the
//! randomness of the ids it makes up.
//!
//! A real replica uses the system's clock and random generator. A simulation
//! injects both ([`Seeded`]), so that a failing seed replays exactly: the same
//! device ids, Automerge actors, invoice ids and change timestamps.

use automerge::ActorId;
use chrono::{DateTime, Utc};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use uuid::Uuid;

/// A replica's clock and randomness, fixed by a seed (for simulations and
/// tests that replay exactly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seeded {
    /// Seeds the ids the replica makes up. A replica opened again after a crash
    /// needs a different seed, or it would make up the ids of before again.
    pub seed: u64,
    /// The time stamped on every change and record.
    pub now: DateTime<Utc>,
}

#[derive(Debug)]
pub(crate) enum Entropy {
    System,
    Seeded { rng: Box<ChaCha8Rng>, now_ms: i64 },
}

impl Entropy {
    pub(crate) fn new(seeded: Option<Seeded>) -> Self {
        match seeded {
            None => Self::System,
            Some(Seeded { seed, now }) => Self::Seeded {
                rng: Box::new(ChaCha8Rng::seed_from_u64(seed)),
                now_ms: now.timestamp_millis(),
            },
        }
    }

    /// Milliseconds since the Unix epoch.
    pub(crate) fn now_ms(&self) -> i64 {
        match self {
            Self::System => Utc::now().timestamp_millis(),
            Self::Seeded { now_ms, .. } => *now_ms,
        }
    }

    /// A fresh random (version 4) id.
    pub(crate) fn uuid(&mut self) -> Uuid {
        match self {
            Self::System => Uuid::new_v4(),
            Self::Seeded { rng, .. } => uuid::Builder::from_random_bytes(rng.random()).into_uuid(),
        }
    }

    /// A fresh Automerge actor.
    pub(crate) fn actor(&mut self) -> ActorId {
        match self {
            Self::System => ActorId::random(),
            Self::Seeded { rng, .. } => ActorId::from(rng.random::<[u8; 16]>().as_slice()),
        }
    }
}
