//! Property test: N in-process replicas apply random profile, unit, comment and
//! group edits and exchange documents in random orders. At the end they must have
//! equal heads, equal hydrated clients and equal query results, and each mirror
//! must equal its own rebuild.
//!
//! Each case is driven by one seed. A failure prints the seed; rerun it alone with
//! `KARTOTEKA_SEED=<seed> cargo test -p replica-store --test it convergence`.
//! `KARTOTEKA_CASES=<n>` runs more cases.

use doc_model::{DocId, Resolution};
use domain::{AddressPart, ClientEdit, ClientId, GroupId, ProfileField, UnitField, UnitId};
use rand::rngs::ChaCha8Rng;
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use replica_store::Replica;
use uuid::Uuid;

use crate::support::{TestReplica, name, replica, unit, visible};

const DEFAULT_CASES: u64 = 24;
const STEPS_PER_CASE: usize = 80;

#[test]
fn random_edits_and_exchanges_converge() {
    let seeds: Vec<u64> = match std::env::var("KARTOTEKA_SEED") {
        Ok(seed) => vec![seed.parse().expect("KARTOTEKA_SEED must be a number")],
        Err(_) => {
            let cases = std::env::var("KARTOTEKA_CASES")
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(DEFAULT_CASES);
            let base: u64 = 0x6b61_7274;
            (base..base + cases).collect()
        }
    };
    for seed in seeds {
        let _report = SeedReport(seed);
        run_case(seed);
    }
}

/// Prints the seed of a failing case while the test unwinds.
struct SeedReport(u64);

impl Drop for SeedReport {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("convergence case failed; rerun it with KARTOTEKA_SEED={}", self.0);
        }
    }
}

const WORDS: [&str; 12] = [
    "Bērziņš",
    "Müller",
    "Ääsmäe",
    "Straße",
    "Ņuja",
    "Ozols",
    "Kalniņa",
    "Šmits",
    "Ünal",
    "Grąžtas",
    "Acme",
    "Ēdnīca",
];
const CITIES: [&str; 6] = ["Rīga", "Jūrmala", "München", "Tartu", "Šiauliai", "Köln"];

fn run_case(seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let workspace = Uuid::from_bytes(rng.random());
    let n_replicas = rng.random_range(2..=5);
    let mut replicas: Vec<TestReplica> =
        (0..n_replicas).map(|index| replica(workspace, &format!("device-{index}"))).collect();
    for replica in &mut replicas {
        // A tiny cache makes the test exercise reloading from SQLite too.
        replica.set_cache_capacity(2);
    }

    for _ in 0..STEPS_PER_CASE {
        let actor = rng.random_range(0..replicas.len());
        match rng.random_range(0..100) {
            0..12 => {
                let client_name =
                    format!("{} {}", WORDS.choose(&mut rng).unwrap(), rng.random_range(0..100));
                let id = ClientId::from_bytes(rng.random());
                replicas[actor].create_client_with_id(id, &[name(&client_name)]).unwrap();
            }
            12..30 => exchange(&mut rng, &mut replicas),
            _ => {
                let Some(client) = known_client(&mut rng, &replicas[actor]) else { continue };
                let edit = random_edit(&mut rng, &mut replicas[actor], client);
                match edit {
                    Some(Edit::Client(edits)) => {
                        // Some random edits are invalid on purpose (unknown unit);
                        // they must fail without changing anything.
                        let before = visible(&replicas[actor]);
                        if replicas[actor].edit_client(client, &edits).is_err() {
                            assert_eq!(
                                visible(&replicas[actor]),
                                before,
                                "a failed edit changed the mirror"
                            );
                        }
                    }
                    Some(Edit::Group(name)) => {
                        let id = GroupId::from_bytes(rng.random());
                        replicas[actor].create_group_with_id(id, &name).unwrap();
                    }
                    Some(Edit::RenameGroup(id, name)) => {
                        replicas[actor].rename_group(id, &name).unwrap()
                    }
                    Some(Edit::Resolve(doc_id, pointer, resolution)) => {
                        replicas[actor].resolve_conflict(doc_id, &pointer, &resolution).unwrap();
                    }
                    None => {}
                }
            }
        }
    }

    // Settle: every replica sends everything to every other, twice.
    for _ in 0..2 {
        for from in 0..replicas.len() {
            for to in 0..replicas.len() {
                if from != to {
                    let (source, target) = pair(&mut replicas, from, to);
                    crate::support::send_all(source, target);
                }
            }
        }
    }

    let reference = visible(&replicas[0]);
    let documents = replicas[0].documents().unwrap();
    for (index, replica) in replicas.iter_mut().enumerate() {
        assert_eq!(replica.documents().unwrap(), documents, "replica {index} has other documents");
        assert_eq!(visible(replica), reference, "replica {index} shows different query results");
        replica.reindex().unwrap();
        assert_eq!(
            visible(replica),
            reference,
            "replica {index}'s mirror differs from its rebuild"
        );
    }
    // Heads and hydrated clients, compared pairwise against replica 0.
    let (first, rest) = replicas.split_at_mut(1);
    for other in rest {
        for (doc_id, kind) in &documents {
            let mut left = first[0].document_heads(*doc_id).unwrap();
            let mut right = other.document_heads(*doc_id).unwrap();
            left.sort_unstable();
            right.sort_unstable();
            assert_eq!(left, right, "heads of {doc_id} differ");
            if kind == "client" {
                let client_id = doc_id.as_client_id();
                assert_eq!(first[0].client(client_id).unwrap(), other.client(client_id).unwrap());
            }
        }
    }
}

enum Edit {
    Client(Vec<ClientEdit>),
    Group(String),
    RenameGroup(GroupId, String),
    Resolve(DocId, String, Resolution),
}

fn known_client(rng: &mut ChaCha8Rng, replica: &Replica) -> Option<ClientId> {
    let rows = replica.catalog(&replica_store::CatalogQuery {
        archive: replica_store::ArchiveFilter::All,
        ..Default::default()
    });
    rows.ok()?.choose(rng).map(|row| row.id.parse().ok())?
}

fn random_edit(rng: &mut ChaCha8Rng, replica: &mut Replica, client: ClientId) -> Option<Edit> {
    let current = replica.client(client).ok()?;
    let some_unit = current.units.choose(rng).map(|unit| unit.id);
    let word = || *WORDS.choose(&mut rand::rng()).unwrap_or(&"x");
    Some(match rng.random_range(0..14) {
        0 => Edit::Client(vec![name(&format!(
            "{} {}",
            WORDS.choose(rng)?,
            rng.random_range(0..100)
        ))]),
        1 => Edit::Client(vec![ClientEdit::Field(
            ProfileField::Address(AddressPart::City),
            (*CITIES.choose(rng)?).to_owned(),
        )]),
        2 => Edit::Client(vec![ClientEdit::Field(
            ProfileField::VatId,
            format!("LV{}", rng.random_range(0..1000)),
        )]),
        3 => {
            // Splice the comments: insert or delete at a random character.
            let mut chars: Vec<char> = current.profile.comments.chars().collect();
            let at = rng.random_range(0..=chars.len());
            if rng.random_bool(0.3) && at < chars.len() {
                chars.remove(at);
            } else {
                chars.splice(at..at, WORDS.choose(rng)?.chars());
            }
            Edit::Client(vec![ClientEdit::Comments(chars.into_iter().collect())])
        }
        4 => Edit::Client(vec![unit(
            UnitId::from_bytes(rng.random()),
            WORDS.choose(rng)?,
            CITIES.choose(rng)?,
        )]),
        5 => Edit::Client(vec![ClientEdit::UnitField(
            some_unit.unwrap_or_else(|| UnitId::from_bytes(rng.random())),
            UnitField::Name,
            (*WORDS.choose(rng)?).to_owned(),
        )]),
        6 => Edit::Client(vec![ClientEdit::UnitActive(some_unit?, rng.random_bool(0.5))]),
        7 => Edit::Client(vec![ClientEdit::MainUnit(some_unit)]),
        8 => Edit::Client(vec![ClientEdit::Archived(rng.random_bool(0.5))]),
        9 => Edit::Client(vec![ClientEdit::SetSetting(
            (*["color", "window", "pets"].choose(rng)?).to_owned(),
            rng.random_range(0..10).to_string(),
        )]),
        10 => Edit::Group(format!("Group {}", rng.random_range(0..5))),
        11 => {
            let group = replica.groups().ok()?.choose(rng)?.id.parse().ok()?;
            if rng.random_bool(0.5) {
                Edit::Client(vec![ClientEdit::Group(Some(group))])
            } else {
                Edit::RenameGroup(group, format!("Renamed {}", word()))
            }
        }
        12 => {
            let conflict = replica.conflicts(None).ok()?.choose(rng)?.clone();
            let doc_id = conflict.doc_id.parse().ok()?;
            let resolution = if rng.random_bool(0.5) {
                Resolution::Pick(rng.random_range(1..=conflict.values.len()))
            } else {
                Resolution::Value(format!("{} resolved", word()))
            };
            // A typed value may not fit the field (a country code); then pick instead.
            let resolution =
                if conflict.field.ends_with("country") { Resolution::Pick(1) } else { resolution };
            Edit::Resolve(doc_id, conflict.field, resolution)
        }
        _ => Edit::Client(vec![ClientEdit::Field(
            ProfileField::Industry,
            (*WORDS.choose(rng)?).to_owned(),
        )]),
    })
}

/// Sends a random subset of one replica's documents to another, in random order.
fn exchange(rng: &mut ChaCha8Rng, replicas: &mut [TestReplica]) {
    let from = rng.random_range(0..replicas.len());
    let mut to = rng.random_range(0..replicas.len());
    if to == from {
        to = (to + 1) % replicas.len();
    }
    let (source, target) = pair(replicas, from, to);
    let mut documents = source.documents().unwrap();
    rand::seq::SliceRandom::shuffle(documents.as_mut_slice(), rng);
    let take = rng.random_range(0..=documents.len());
    for (doc_id, _) in documents.into_iter().take(take) {
        let bytes = source.export_document(doc_id).unwrap();
        target.merge_document(doc_id, &bytes).unwrap();
    }
}

fn pair(replicas: &mut [TestReplica], from: usize, to: usize) -> (&mut Replica, &mut Replica) {
    assert_ne!(from, to);
    if from < to {
        let (left, right) = replicas.split_at_mut(to);
        (&mut left[from].replica, &mut right[0].replica)
    } else {
        let (left, right) = replicas.split_at_mut(from);
        (&mut right[0].replica, &mut left[to].replica)
    }
}
