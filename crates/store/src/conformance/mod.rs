//! The conformance suite: the one behaviour every [`Store`] backend must have.
//!
//! Each case is a public async function taking a fresh, empty, migrated store and panicking with a clear
//! message when the store misbehaves. A backend runs them all with [`conformance_suite!`](crate::conformance_suite):
//!
//! ```text
//! async fn fresh() -> MyGuard { /* a new empty store, plus whatever keeps it alive */ }
//! railyard_store::conformance_suite!(fresh);
//! ```
//!
//! Concurrency cases drive many futures at once from one task ([`join_all`]): the stores do their work on
//! their own threads or connections, so the requests really do overlap inside the backend.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;

use chrono::{DateTime, Utc};

use crate::{
    Commit, CommitReceipt, Event, EventQuery, GENESIS_HASH, ListQuery, NewEvent, Record, Store, StoreError,
    StoreResult, Write, to_stored_precision, verify_chain,
};

/// Runs every case as its own `#[tokio::test]`, each on a fresh store from `$factory`.
///
/// `$factory` is an async fn or closure taking no argument and returning something that derefs to a
/// [`Store`] (an `Arc<dyn Store>`, or a guard that also keeps a temp dir or a database alive). The calling
/// crate needs `tokio` (with `macros` and `rt-multi-thread`) as a dev-dependency. The tests are put in a
/// module named `conformance`, so `cargo test conformance::` runs just them.
#[macro_export]
macro_rules! conformance_suite {
    ($factory:expr) => {
        $crate::conformance_suite!(@cases $factory;
            ping_answers,
            insert_then_get_round_trips,
            insert_of_existing_id_conflicts_and_writes_nothing,
            update_bumps_version,
            stale_update_conflicts_and_writes_nothing,
            update_of_missing_record_conflicts,
            duplicate_unique_key_within_kind,
            list_filters_and_order,
            list_cursor_and_limit,
            list_newest_first,
            next_seq_starts_at_one_per_counter,
            next_seq_never_repeats_under_concurrency,
            reserve_seqs_and_next_seq_never_overlap,
            reserve_seqs_never_overlap_under_concurrency,
            reserve_seqs_of_zero_is_refused,
            events_are_sequenced_and_chained,
            failed_commit_leaves_chain_intact,
            event_filters,
            chain_verifies_after_many_commits,
            events_of_one_commit_share_its_commit_seq,
            event_filter_by_commit,
            concurrent_commits_all_land,
            concurrent_updates_of_same_version_one_wins,
            concurrent_inserts_of_one_unique_key_one_wins,
            a_large_batch_lands_whole_or_not_at_all,
            the_same_id_in_two_kinds_is_two_records,
            the_stored_head_moves_with_every_commit,
            commits_list_the_records_they_wrote,
            scan_records_pages_every_record,
            verify_audit_is_intact_while_commits_land,
        );
    };
    (@cases $factory:expr; $($case:ident),+ $(,)?) => {
        mod conformance {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let store = ($factory)().await;
                    $crate::conformance::$case(&*store).await;
                }
            )+
        }
    };
}

// ---------------------------------------------------------------------------------------------------------
// Fixtures

/// A fixed instant with nanoseconds, so the cases also check truncation to the stored microseconds.
pub fn at(offset_secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + offset_secs, 123_456_789).expect("a valid fixture time")
}

/// A record with every optional column set except `parent_id`, `category` and `unique_key`.
pub fn record(kind: &str, id: &str, seq: i64) -> Record {
    Record {
        kind: kind.to_string(),
        id: id.to_string(),
        seq,
        version: 0,
        state: Some("draft".to_string()),
        parent_id: None,
        category: None,
        unique_key: None,
        created_at: at(seq),
        updated_at: at(seq),
        doc: format!(r#"{{"id":"{id}","n":{seq},"text":"héllo \"quoted\""}}"#),
    }
}

pub fn new_event(kind: &str, id: &str, action: &str, actor: &str) -> NewEvent {
    NewEvent {
        at: at(1000),
        actor: actor.to_string(),
        object_kind: kind.to_string(),
        object_id: id.to_string(),
        action: action.to_string(),
        data: format!(r#"{{"action":"{action}"}}"#),
    }
}

/// One insert and its "create" event.
pub fn insert(r: &Record) -> Commit {
    Commit { writes: vec![Write::Insert(r.clone())], events: vec![new_event(&r.kind, &r.id, "create", "alice")] }
}

/// One update and its "update" event.
pub fn update(r: &Record, expected_version: i64) -> Commit {
    Commit {
        writes: vec![Write::Update { record: r.clone(), expected_version }],
        events: vec![new_event(&r.kind, &r.id, "update", "alice")],
    }
}

/// What the store must give back for `r` at `version`.
pub fn stored(r: &Record, version: i64) -> Record {
    Record {
        version,
        created_at: to_stored_precision(r.created_at),
        updated_at: to_stored_precision(r.updated_at),
        ..r.clone()
    }
}

/// Polls all the futures concurrently from the current task and returns their outputs in order.
pub async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    poll_fn(|cx| {
        let mut pending = false;
        for (fut, out) in futures.iter_mut().zip(outputs.iter_mut()) {
            if out.is_none() {
                match fut.as_mut().poll(cx) {
                    Poll::Ready(v) => *out = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending { Poll::Pending } else { Poll::Ready(()) }
    })
    .await;
    outputs.into_iter().map(|o| o.expect("every future completed")).collect()
}

async fn ok_commit(store: &dyn Store, commit: Commit, what: &str) -> CommitReceipt {
    match store.commit(commit).await {
        Ok(r) => r,
        Err(e) => panic!("{what}: commit failed: {e:?}"),
    }
}

async fn get(store: &dyn Store, kind: &str, id: &str) -> Option<Record> {
    store.get(kind, id).await.unwrap_or_else(|e| panic!("get({kind}, {id}) failed: {e:?}"))
}

async fn all_events(store: &dyn Store) -> Vec<Event> {
    events(store, EventQuery { limit: 100_000, ..Default::default() }).await
}

async fn events(store: &dyn Store, q: EventQuery) -> Vec<Event> {
    store.events(&q).await.unwrap_or_else(|e| panic!("events({q:?}) failed: {e:?}"))
}

async fn list_ids(store: &dyn Store, q: ListQuery) -> Vec<String> {
    let records = store.list(&q).await.unwrap_or_else(|e| panic!("list({q:?}) failed: {e:?}"));
    records.into_iter().map(|r| r.id).collect()
}

fn seqs(events: &[Event]) -> Vec<i64> {
    events.iter().map(|e| e.seq).collect()
}

fn assert_conflict<T: std::fmt::Debug>(
    res: StoreResult<T>,
    what: &str,
    want_id: &str,
    want_expected: i64,
    want_found: Option<i64>,
) {
    match res {
        Err(StoreError::Conflict { id, expected, found, .. }) => {
            assert_eq!(id, want_id, "{what}: Conflict names the wrong id");
            assert_eq!(expected, want_expected, "{what}: Conflict has the wrong expected version");
            assert_eq!(found, want_found, "{what}: Conflict has the wrong found version");
        }
        other => panic!("{what}: expected Conflict on {want_id}, got {other:?}"),
    }
}

fn assert_chain_links(events: &[Event]) {
    let mut prev = GENESIS_HASH.to_string();
    let mut prev_commit = None;
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.seq, i as i64 + 1, "event seqs must be 1, 2, 3, ... without gaps");
        assert_eq!(e.prev_hash, prev, "event {} must link to the hash of the event before it", e.seq);
        assert!(
            e.commit_seq == e.seq || Some(e.commit_seq) == prev_commit,
            "event {} has commit_seq {}: it must open its commit or continue the previous one ({prev_commit:?})",
            e.seq,
            e.commit_seq
        );
        let h = e.content_hash();
        assert_eq!(e.hash, h, "event {} hash must be event_hash(...) of its stored fields", e.seq);
        prev = e.hash.clone();
        prev_commit = Some(e.commit_seq);
    }
}

/// The events of one receipt are consecutive and all carry the seq of the first as their commit_seq.
fn assert_one_commit(receipt: &CommitReceipt) {
    let Some(first) = receipt.events.first() else { return };
    for (i, e) in receipt.events.iter().enumerate() {
        assert_eq!(e.seq, first.seq + i as i64, "the events of one commit must have consecutive seqs");
        assert_eq!(e.commit_seq, first.seq, "every event of a commit must carry the seq of its first event");
    }
}

/// Unwraps a counter call.
fn counted(res: StoreResult<i64>, what: &str) -> i64 {
    res.unwrap_or_else(|e| panic!("{what} failed: {e:?}"))
}

async fn assert_chain_intact(store: &dyn Store, want_events: u64) {
    let report = verify_chain(store).await.unwrap_or_else(|e| panic!("verify_chain failed: {e:?}"));
    assert_eq!(report.first_broken, None, "the chain must verify");
    assert_eq!(report.events_checked, want_events, "verify_chain must walk every event");
}

mod audit;
mod batches;
mod commit_ids;
mod concurrency;
mod deletes;
pub mod memory;
mod records;
mod sequences;

pub use audit::*;
pub use batches::*;
pub use commit_ids::*;
pub use concurrency::*;
pub use deletes::*;
pub use records::*;
pub use sequences::*;
