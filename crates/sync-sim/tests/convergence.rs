//! Property test through the real protocol: five replicas make random edits
//! (profile, units, comments, groups, conflicts, visits and their notes,
//! invoices issued on different devices, payments, archive) while the
//! simulated network drops, duplicates and reorders messages, devices
//! disconnect and crash between storage writes, and the relay crashes. After
//! the network heals, every invariant of `sync_sim::Sim::check` must hold.
//!
//! Each case is driven by one seed; a failure prints it. Rerun one case with
//! `KARTOTEKA_SEED=<seed> cargo test -p sync-sim --test convergence`, and more
//! cases than the default with `KARTOTEKA_CASES=<n>`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    reason = "test code: a panic is a failed test, and failing seeds are printed"
)]

use billing::invoice::{Line, PaymentTerms};
use billing::money::{Currency, Money};
use chrono::{FixedOffset, NaiveDate, TimeZone};
use doc_model::{DocId, Resolution};
use domain::{
    Address, AddressPart, ClientEdit, ClientId, GroupId, NewUnit, NewVisit, ProfileField,
    UnitField, UnitId, VisitId, VisitKind, VisitStatus, WorkItem,
};
use rand::RngExt;
use rand::rngs::ChaCha8Rng;
use rand::seq::IndexedRandom;
use replica_store::{InvoiceDraft, InvoiceQuery, InvoiceSort, PaymentInput, Replica, StateFilter};
use sync_sim::{Faults, Sim, SimError};

const DEFAULT_CASES: u64 = 500;
const REPLICAS: usize = 5;
const OPERATIONS: usize = 200;
/// Network and fault events between two operations, at most.
const STEPS_BETWEEN: usize = 6;

#[test]
fn random_edits_converge_through_the_relay_whatever_the_network_and_crashes_do() {
    let seeds: Vec<u64> = match std::env::var("KARTOTEKA_SEED") {
        Ok(seed) => vec![seed.parse().expect("KARTOTEKA_SEED must be a number")],
        Err(_) => {
            let cases = std::env::var("KARTOTEKA_CASES")
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(DEFAULT_CASES);
            let base: u64 = 0x6b61_7274_0000;
            (base..base + cases).collect()
        }
    };
    let threads = std::thread::available_parallelism().map_or(1, usize::from).min(seeds.len());
    let failures = std::sync::Mutex::new(Vec::new());
    let totals = std::sync::Mutex::new(sync_sim::SimStats::default());
    std::thread::scope(|scope| {
        for thread in 0..threads {
            let (seeds, failures, totals) = (&seeds, &failures, &totals);
            scope.spawn(move || {
                for seed in seeds.iter().skip(thread).step_by(threads) {
                    match run_case(*seed) {
                        Ok((stats, _)) => add(&mut totals.lock().unwrap(), stats),
                        Err(error) => failures.lock().unwrap().push((*seed, error.to_string())),
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    for (seed, error) in &failures {
        eprintln!("case failed: {error}\n  rerun it with KARTOTEKA_SEED={seed}");
    }
    assert!(failures.is_empty(), "{} of {} cases failed", failures.len(), seeds.len());
    let totals = totals.into_inner().unwrap();
    eprintln!("{} cases: {totals:?}", seeds.len());
    if seeds.len() > 20 {
        // The cases exercised every kind of trouble.
        assert!(totals.dropped > 0 && totals.lost > 0, "{totals:?}");
        assert!(totals.duplicated > 0 && totals.reordered > 0, "{totals:?}");
        assert!(totals.crashes > 0 && totals.relay_crashes > 0, "{totals:?}");
    }
}

fn add(totals: &mut sync_sim::SimStats, stats: sync_sim::SimStats) {
    totals.delivered += stats.delivered;
    totals.dropped += stats.dropped;
    totals.lost += stats.lost;
    totals.timeouts += stats.timeouts;
    totals.duplicated += stats.duplicated;
    totals.reordered += stats.reordered;
    totals.disconnects += stats.disconnects;
    totals.crashes += stats.crashes;
    totals.relay_crashes += stats.relay_crashes;
    totals.rounds += stats.rounds;
}

/// What a case did and where it ended: its statistics and the relay's heads.
type Outcome = (sync_sim::SimStats, Vec<(String, Vec<String>)>);

fn run_case(seed: u64) -> Result<Outcome, SimError> {
    let mut sim = Sim::new(seed, REPLICAS, Faults::SOME)?;
    let outcome = drive(&mut sim);
    if outcome.is_err() {
        // Empty unless KARTOTEKA_SIM_TRACE=1.
        for line in sim.trace() {
            eprintln!("{line}");
        }
    }
    outcome
}

fn drive(sim: &mut Sim) -> Result<Outcome, SimError> {
    for _ in 0..OPERATIONS {
        let steps = sim.rng().random_range(0..=STEPS_BETWEEN);
        for _ in 0..steps {
            sim.step()?;
        }
        let device = sim.rng().random_range(0..REPLICAS);
        sim.local(device, operate)??;
    }
    sim.run_until_quiescent()?;
    sim.check()?;
    // Invoices issued on different devices, offline from each other, never
    // share a number.
    let duplicates = sim.replicas[0].replica.duplicate_numbers()?;
    if !duplicates.is_empty() {
        return Err(SimError::Invariant(format!("invoice numbers repeat: {duplicates:?}")));
    }
    Ok((sim.stats(), sim.relay_heads()?))
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

fn word(rng: &mut ChaCha8Rng) -> &'static str {
    WORDS.choose(rng).copied().unwrap_or("x")
}

fn issue_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 2).unwrap()
}

/// One random operation on one replica. Some are invalid on purpose (an
/// unknown unit, paying a draft); a refused operation must change nothing.
fn operate(replica: &mut Replica, rng: &mut ChaCha8Rng) -> Result<(), SimError> {
    let before_refusal = stored(replica)?;
    let done = match rng.random_range(0..100) {
        0..12 => {
            let id = ClientId::from_bytes(rng.random());
            let name = format!("{} {}", word(rng), rng.random_range(0..100));
            replica.create_client_with_id(id, &[field(ProfileField::Name, &name)]).map(drop)
        }
        12..60 => {
            let Some(client) = known_client(rng, replica) else { return Ok(()) };
            edit_client(rng, replica, client)
        }
        60..72 => {
            let Some(client) = known_client(rng, replica) else { return Ok(()) };
            visit(rng, replica, client)
        }
        72..86 => {
            let Some(client) = known_client(rng, replica) else { return Ok(()) };
            let cents = rng.random_range(100..10_000);
            let draft = InvoiceDraft {
                client_id: client,
                unit_id: None,
                currency: Some(Currency::EUR),
                issue_date: issue_date(),
                terms: Some(PaymentTerms::Days(14)),
                note: String::new(),
                lines: vec![Line::parse(&format!("Service=1 x {cents} @ 21")).unwrap()],
            };
            match replica.create_invoice(&draft) {
                Ok(id) => replica.issue_invoice(id, None).map(drop),
                Err(error) => Err(error),
            }
        }
        86..96 => {
            // Any device may record a payment of any invoice it knows.
            let query = InvoiceQuery {
                client: None,
                unit: None,
                state: Some(StateFilter::Open),
                from: None,
                to: None,
                sort: InvoiceSort::default(),
                reverse: false,
                as_of: sync_sim::AS_OF,
                limit: None,
            };
            let invoices = replica.invoices(&query)?;
            let Some(invoice) = invoices.choose(rng) else { return Ok(()) };
            let payment = PaymentInput {
                date: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
                amount: Money::new(rng.random_range(1..5_000), Currency::EUR),
                method: "bank transfer".to_owned(),
                reference: format!("ref {}", rng.random_range(0..1000)),
            };
            replica.record_payment(invoice.id.parse().unwrap(), &payment).map(drop)
        }
        _ => {
            let Some(conflict) = replica.conflicts(None)?.choose(rng).cloned() else {
                return Ok(());
            };
            let doc_id: DocId = conflict.doc_id.parse().unwrap();
            // A typed value may not fit the field (a country code); then pick.
            let resolution = if rng.random_bool(0.5) || conflict.field.ends_with("country") {
                Resolution::Pick(rng.random_range(1..=conflict.values.len()))
            } else {
                Resolution::Value(format!("{} resolved", word(rng)))
            };
            replica.resolve_conflict(doc_id, &conflict.field, &resolution).map(drop)
        }
    };
    if done.is_err() && stored(replica)? != before_refusal {
        return Err(SimError::Invariant("a refused operation stored something".into()));
    }
    Ok(())
}

/// What a replica has stored: every document's heads, the outbox and the
/// catalog (a refused operation changes none of them).
type Stored = (Vec<(DocId, Vec<automerge::ChangeHash>)>, Vec<(DocId, i64)>, usize);

fn stored(replica: &Replica) -> Result<Stored, SimError> {
    let mut heads = Vec::new();
    for (doc_id, _) in replica.documents()? {
        heads.push((doc_id, replica.stored_heads(doc_id)?.unwrap_or_default()));
    }
    let catalog = replica.catalog(&replica_store::CatalogQuery {
        archive: replica_store::ArchiveFilter::All,
        ..Default::default()
    })?;
    Ok((heads, replica.outbox()?, catalog.len()))
}

fn field(field: ProfileField, value: &str) -> ClientEdit {
    ClientEdit::Field(field, value.to_owned())
}

fn known_client(rng: &mut ChaCha8Rng, replica: &Replica) -> Option<ClientId> {
    let rows = replica.catalog(&replica_store::CatalogQuery {
        archive: replica_store::ArchiveFilter::All,
        ..Default::default()
    });
    rows.ok()?.choose(rng).and_then(|row| row.id.parse().ok())
}

fn edit_client(
    rng: &mut ChaCha8Rng,
    replica: &mut Replica,
    client: ClientId,
) -> Result<(), replica_store::StoreError> {
    let current = replica.client(client)?;
    let some_unit = current.units.choose(rng).map(|unit| unit.id);
    let edit = match rng.random_range(0..15) {
        0 => field(ProfileField::Name, &format!("{} {}", word(rng), rng.random_range(0..100))),
        1 => ClientEdit::Field(
            ProfileField::Address(AddressPart::City),
            (*CITIES.choose(rng).unwrap()).to_owned(),
        ),
        2 => field(ProfileField::VatId, &format!("LV{}", rng.random_range(0..1000))),
        3 => {
            // Splice the comments: insert or delete at a random character.
            let mut chars: Vec<char> = current.profile.comments.chars().collect();
            let at = rng.random_range(0..=chars.len());
            if rng.random_bool(0.3) && at < chars.len() {
                chars.remove(at);
            } else {
                chars.splice(at..at, word(rng).chars());
            }
            ClientEdit::Comments(chars.into_iter().collect())
        }
        4 => ClientEdit::AddUnit(NewUnit {
            id: UnitId::from_bytes(rng.random()),
            name: word(rng).to_owned(),
            address: Address {
                city: (*CITIES.choose(rng).unwrap()).to_owned(),
                ..Address::default()
            },
            phone: String::new(),
            email: String::new(),
            active: true,
        }),
        // With no unit, an unknown one: refused.
        5 => ClientEdit::UnitField(
            some_unit.unwrap_or_else(|| UnitId::from_bytes(rng.random())),
            UnitField::Name,
            word(rng).to_owned(),
        ),
        6 => {
            let Some(unit) = some_unit else { return Ok(()) };
            ClientEdit::UnitActive(unit, rng.random_bool(0.5))
        }
        7 => ClientEdit::MainUnit(some_unit),
        8 => ClientEdit::Archived(rng.random_bool(0.5)),
        9 => ClientEdit::SetSetting(
            (*["color", "window", "pets"].choose(rng).unwrap()).to_owned(),
            rng.random_range(0..10).to_string(),
        ),
        10 => {
            let id = GroupId::from_bytes(rng.random());
            return replica.create_group_with_id(id, &format!("Group {}", rng.random_range(0..5)));
        }
        11 => {
            let Some(group) = replica.groups()?.choose(rng).and_then(|row| row.id.parse().ok())
            else {
                return Ok(());
            };
            if rng.random_bool(0.5) {
                ClientEdit::Group(Some(group))
            } else {
                return replica.rename_group(group, &format!("Renamed {}", word(rng)));
            }
        }
        12 => {
            let Some(visit) = current.visits.choose(rng) else { return Ok(()) };
            let mut notes: Vec<char> = visit.notes.chars().collect();
            let at = rng.random_range(0..=notes.len());
            notes.splice(at..at, format!(" {}", word(rng)).chars());
            ClientEdit::VisitNotes(visit.id, notes.into_iter().collect())
        }
        13 => {
            let Some(visit) = current.visits.choose(rng) else { return Ok(()) };
            let status = *[VisitStatus::Planned, VisitStatus::Done, VisitStatus::PartlyDone]
                .choose(rng)
                .unwrap();
            ClientEdit::VisitStatus(visit.id, status)
        }
        _ => field(ProfileField::Industry, word(rng)),
    };
    replica.edit_client(client, &[edit])
}

fn visit(
    rng: &mut ChaCha8Rng,
    replica: &mut Replica,
    client: ClientId,
) -> Result<(), replica_store::StoreError> {
    let current = replica.client(client)?;
    let offset = FixedOffset::east_opt(2 * 3600).unwrap();
    let day = rng.random_range(1..=28);
    let start = offset.with_ymd_and_hms(2026, 11, day, 9, 0, 0).unwrap();
    let visit = NewVisit {
        id: VisitId::from_bytes(rng.random()),
        unit_id: current.units.choose(rng).map(|unit| unit.id),
        start,
        end: start + chrono::Duration::minutes(rng.random_range(15..240)),
        technician: (*["Anna", "Otto", "Jānis"].choose(rng).unwrap()).to_owned(),
        kind: *[VisitKind::Scheduled, VisitKind::Unscheduled, VisitKind::Breakdown]
            .choose(rng)
            .unwrap(),
        status: VisitStatus::Done,
        items: vec![WorkItem {
            description: "Filter".to_owned(),
            quantity: "1".to_owned(),
            unit: "pcs".to_owned(),
        }],
        notes: word(rng).to_owned(),
    };
    replica.record_visit(client, visit, &[]).map(drop)
}

/// Seeds that found defects, kept whatever the default range becomes. A seed
/// reproduces its defect only while the scheduler and the operations draw
/// random numbers as they do now; when they change, find new ones by undoing
/// the fix and running `KARTOTEKA_CASES=100`.
#[test]
fn seeds_that_found_defects_converge() {
    // A change lost on a live connection, and messages delivered twice: both
    // sides answered each other forever without progress, as Automerge never
    // sends a change twice on one connection. Fixed by the replica engine's
    // stall reset (`sync_engine::STALLED_REPLIES`) and its limit of messages
    // without progress (`MAX_EXCHANGES`, after which the retry starts with a
    // reset); each of the two alone also makes these seeds pass.
    for seed in [0x6b61_7274_0016, 0x6b61_7274_0018, 0x6b61_7274_001b] {
        if let Err(error) = run_case(seed) {
            panic!("seed {seed}: {error}");
        }
    }
}

#[test]
fn a_case_replays_exactly_from_its_seed() {
    let first = run_case(0x5eed).unwrap();
    let second = run_case(0x5eed).unwrap();
    assert_eq!(first, second, "the same seed ran differently");
}
