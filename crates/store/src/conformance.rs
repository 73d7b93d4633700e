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
    StoreResult, Write, event_hash, to_stored_precision, verify_chain,
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
            next_seq_starts_at_one_per_counter,
            next_seq_never_repeats_under_concurrency,
            events_are_sequenced_and_chained,
            failed_commit_leaves_chain_intact,
            event_filters,
            chain_verifies_after_many_commits,
            concurrent_commits_all_land,
            concurrent_updates_of_same_version_one_wins,
            concurrent_inserts_of_one_unique_key_one_wins,
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
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.seq, i as i64 + 1, "event seqs must be 1, 2, 3, ... without gaps");
        assert_eq!(e.prev_hash, prev, "event {} must link to the hash of the event before it", e.seq);
        let h = event_hash(e.seq, &e.at, &e.actor, &e.object_kind, &e.object_id, &e.action, &e.data, &e.prev_hash);
        assert_eq!(e.hash, h, "event {} hash must be event_hash(...) of its stored fields", e.seq);
        prev = e.hash.clone();
    }
}

async fn assert_chain_intact(store: &dyn Store, want_events: u64) {
    let report = verify_chain(store).await.unwrap_or_else(|e| panic!("verify_chain failed: {e:?}"));
    assert_eq!(report.first_broken, None, "the chain must verify");
    assert_eq!(report.events_checked, want_events, "verify_chain must walk every event");
}

// ---------------------------------------------------------------------------------------------------------
// Cases

/// `ping` answers and the backend names itself.
pub async fn ping_answers(store: &dyn Store) {
    store.ping().await.unwrap_or_else(|e| panic!("ping failed: {e:?}"));
    assert!(!store.backend().is_empty(), "backend() must name the backend");
}

/// Every column survives insert + get / get_by_key / list, times truncated to microseconds.
pub async fn insert_then_get_round_trips(store: &dyn Store) {
    let mut full = record("user", "alice", 1);
    full.state = Some("active".into());
    full.parent_id = Some("ORG-1".into());
    full.category = Some("admin".into());
    full.unique_key = Some("alice@example.com".into());
    full.updated_at = at(77);
    full.version = 42; // ignored: an insert stores version 1
    let mut bare = record("user", "bob", 2);
    bare.state = None;
    let receipt = ok_commit(
        store,
        Commit { writes: vec![Write::Insert(full.clone()), Write::Insert(bare.clone())], events: vec![] },
        "insert",
    )
    .await;
    assert!(receipt.events.is_empty(), "a commit without events stores no event");

    let want = stored(&full, 1);
    assert_eq!(get(store, "user", "alice").await, Some(want.clone()), "get must return every column as inserted");
    assert_eq!(get(store, "user", "bob").await, Some(stored(&bare, 1)), "NULL columns must round-trip as None");
    let by_key = store.get_by_key("user", "alice@example.com").await.expect("get_by_key");
    assert_eq!(by_key, Some(want.clone()), "get_by_key must find the record by its unique key");
    assert_eq!(store.get_by_key("token", "alice@example.com").await.expect("get_by_key"), None, "keys are per kind");
    assert_eq!(store.get_by_key("user", "nobody").await.expect("get_by_key"), None, "unknown key → None");
    assert_eq!(get(store, "user", "carol").await, None, "unknown id → None");
    assert_eq!(get(store, "train", "alice").await, None, "get of an id under another kind → None");
    let listed = store.list(&ListQuery::new("user", 10)).await.expect("list");
    assert_eq!(listed, vec![want, stored(&bare, 1)], "list must return the same records as get");
}

/// Inserting an existing id (in any kind) fails the whole commit: no write and no event of it lands.
pub async fn insert_of_existing_id_conflicts_and_writes_nothing(store: &dyn Store) {
    let a = record("train", "RT-1", 1);
    ok_commit(store, insert(&a), "first insert").await;

    let mut again = record("train", "RT-1", 1);
    again.doc = r#"{"changed":true}"#.into();
    let other = record("train", "RT-2", 2);
    let commit = Commit {
        writes: vec![Write::Insert(other.clone()), Write::Insert(again)],
        events: vec![new_event("train", "RT-2", "create", "bob"), new_event("train", "RT-1", "create", "bob")],
    };
    assert_conflict(store.commit(commit).await, "insert of an existing id", "RT-1", 0, Some(1));
    assert_eq!(get(store, "train", "RT-1").await, Some(stored(&a, 1)), "the existing record must be unchanged");
    assert_eq!(get(store, "train", "RT-2").await, None, "the other insert of the failed commit must not land");
    assert_eq!(all_events(store).await.len(), 1, "no event of the failed commit may land");

    let cross_kind = record("approval", "RT-1", 9);
    let res = store.commit(insert(&cross_kind)).await;
    assert!(matches!(res, Err(StoreError::Conflict { .. })), "ids are unique across kinds: got {res:?}");
    assert_eq!(all_events(store).await.len(), 1, "no event of the failed commit may land");
}

/// An update at the stored version replaces the record and bumps the version; seq and created_at stay.
pub async fn update_bumps_version(store: &dyn Store) {
    let a = record("train", "RT-1", 1);
    ok_commit(store, insert(&a), "insert").await;
    let mut changed = a.clone();
    changed.state = Some("submitted".into());
    changed.parent_id = Some("P-1".into());
    changed.category = Some("major".into());
    changed.unique_key = Some("2024.1".into());
    changed.updated_at = at(500);
    changed.doc = r#"{"v":2}"#.into();
    changed.version = 99; // ignored
    ok_commit(store, update(&changed, 1), "update at version 1").await;
    assert_eq!(
        get(store, "train", "RT-1").await,
        Some(stored(&changed, 2)),
        "update must store every column, version 2"
    );

    let mut third = changed.clone();
    third.state = None;
    third.unique_key = None;
    third.created_at = at(900); // fixed at insert: ignored
    third.seq = 1234; // fixed at insert: ignored
    ok_commit(store, update(&third, 2), "update at version 2").await;
    let want = Record { created_at: a.created_at, seq: a.seq, ..third };
    assert_eq!(
        get(store, "train", "RT-1").await,
        Some(stored(&want, 3)),
        "seq and created_at are kept from the insert"
    );
    assert_eq!(store.get_by_key("train", "2024.1").await.expect("get_by_key"), None, "a cleared unique key is freed");
}

/// A stale update fails the whole commit: other writes and all events of it are rolled back.
pub async fn stale_update_conflicts_and_writes_nothing(store: &dyn Store) {
    let a = record("train", "RT-1", 1);
    let b = record("train", "RT-2", 2);
    ok_commit(
        store,
        Commit { writes: vec![Write::Insert(a.clone()), Write::Insert(b.clone())], events: vec![] },
        "insert",
    )
    .await;
    let mut a2 = a.clone();
    a2.state = Some("open".into());
    ok_commit(store, update(&a2, 1), "update a to version 2").await;

    let mut b2 = b.clone();
    b2.state = Some("open".into());
    let mut a_stale = a.clone();
    a_stale.state = Some("closed".into());
    let c = record("train", "RT-3", 3);
    let commit = Commit {
        writes: vec![
            Write::Update { record: b2, expected_version: 1 },
            Write::Insert(c),
            Write::Update { record: a_stale, expected_version: 1 },
        ],
        events: vec![new_event("train", "RT-2", "open", "bob"), new_event("train", "RT-1", "close", "bob")],
    };
    assert_conflict(store.commit(commit).await, "stale update", "RT-1", 1, Some(2));
    assert_eq!(get(store, "train", "RT-1").await, Some(stored(&a2, 2)), "the stale update must not land");
    assert_eq!(
        get(store, "train", "RT-2").await,
        Some(stored(&b, 1)),
        "an earlier update of the failed commit must roll back"
    );
    assert_eq!(get(store, "train", "RT-3").await, None, "an insert of the failed commit must roll back");
    assert_eq!(all_events(store).await.len(), 1, "no event of the failed commit may land");
}

/// Updating a record that does not exist (or exists under another kind) is a Conflict with found None.
pub async fn update_of_missing_record_conflicts(store: &dyn Store) {
    let ghost = record("train", "RT-404", 1);
    assert_conflict(store.commit(update(&ghost, 1)).await, "update of a missing record", "RT-404", 1, None);
    ok_commit(store, insert(&record("approval", "AP-1", 1)), "insert").await;
    let wrong_kind = record("train", "AP-1", 1);
    assert_conflict(store.commit(update(&wrong_kind, 1)).await, "update under the wrong kind", "AP-1", 1, None);
    assert_eq!(all_events(store).await.len(), 1, "failed commits store no events");
}

/// A unique key is unique within its kind; the same key in another kind is fine; NULL keys never collide.
pub async fn duplicate_unique_key_within_kind(store: &dyn Store) {
    let mut u1 = record("user", "U-1", 1);
    u1.unique_key = Some("alice".into());
    ok_commit(store, insert(&u1), "first user").await;

    let mut u2 = record("user", "U-2", 2);
    u2.unique_key = Some("alice".into());
    match store.commit(insert(&u2)).await {
        Err(StoreError::DuplicateKey { kind, key }) => {
            assert_eq!((kind.as_str(), key.as_str()), ("user", "alice"), "DuplicateKey must name kind and key")
        }
        other => panic!("insert of a taken unique key: expected DuplicateKey, got {other:?}"),
    }
    assert_eq!(get(store, "user", "U-2").await, None, "the duplicate must not land");

    let mut t1 = record("token", "T-1", 1);
    t1.unique_key = Some("alice".into());
    ok_commit(store, insert(&t1), "same key in another kind").await;

    let n1 = record("user", "U-3", 3);
    let n2 = record("user", "U-4", 4);
    ok_commit(
        store,
        Commit { writes: vec![Write::Insert(n1), Write::Insert(n2)], events: vec![] },
        "records without keys",
    )
    .await;

    let mut u3 = record("user", "U-3", 3);
    u3.unique_key = Some("alice".into());
    let res = store.commit(update(&u3, 1)).await;
    assert!(
        matches!(res, Err(StoreError::DuplicateKey { .. })),
        "update to a taken key: expected DuplicateKey, got {res:?}"
    );

    let mut d1 = record("user", "U-5", 5);
    d1.unique_key = Some("bob".into());
    let mut d2 = record("user", "U-6", 6);
    d2.unique_key = Some("bob".into());
    let commit = Commit {
        writes: vec![Write::Insert(d1), Write::Insert(d2)],
        events: vec![new_event("user", "U-5", "create", "x")],
    };
    let res = store.commit(commit).await;
    assert!(matches!(res, Err(StoreError::DuplicateKey { .. })), "same key twice in one commit: got {res:?}");
    assert_eq!(get(store, "user", "U-5").await, None, "the first insert of the failed commit must roll back");
    assert_eq!(all_events(store).await.len(), 2, "only the two successful insert commits have events");
}

async fn seed_list(store: &dyn Store) {
    // (seq, state, parent, category), inserted out of seq order.
    let rows: [(i64, &str, Option<&str>, Option<&str>); 6] = [
        (5, "open", Some("P2"), Some("major")),
        (2, "open", Some("P1"), Some("minor")),
        (9, "open", Some("P1"), Some("major")),
        (1, "draft", Some("P1"), Some("major")),
        (7, "draft", None, None),
        (3, "closed", Some("P2"), Some("major")),
    ];
    for (seq, state, parent, category) in rows {
        let mut r = record("train", &format!("RT-{seq}"), seq);
        r.state = Some(state.into());
        r.parent_id = parent.map(String::from);
        r.category = category.map(String::from);
        ok_commit(store, insert(&r), "seed").await;
    }
    let mut other = record("other", "OT-4", 4);
    other.state = Some("open".into());
    other.parent_id = Some("P1".into());
    other.category = Some("major".into());
    ok_commit(store, insert(&other), "seed other kind").await;
}

fn ids(seqs: &[i64]) -> Vec<String> {
    seqs.iter().map(|s| format!("RT-{s}")).collect()
}

/// `list` filters by kind, any of several states, parent and category, ordered by seq.
pub async fn list_filters_and_order(store: &dyn Store) {
    seed_list(store).await;
    let q = |f: &dyn Fn(&mut ListQuery)| {
        let mut q = ListQuery::new("train", 100);
        f(&mut q);
        q
    };
    assert_eq!(list_ids(store, q(&|_| {})).await, ids(&[1, 2, 3, 5, 7, 9]), "all of a kind, ordered by seq");
    assert_eq!(list_ids(store, q(&|q| q.states = vec!["open".into()])).await, ids(&[2, 5, 9]), "one state");
    assert_eq!(
        list_ids(store, q(&|q| q.states = vec!["open".into(), "draft".into()])).await,
        ids(&[1, 2, 5, 7, 9]),
        "any of two states"
    );
    assert_eq!(list_ids(store, q(&|q| q.states = vec!["gone".into()])).await, ids(&[]), "no such state");
    assert_eq!(list_ids(store, q(&|q| q.parent_id = Some("P1".into()))).await, ids(&[1, 2, 9]), "parent_id");
    assert_eq!(list_ids(store, q(&|q| q.category = Some("major".into()))).await, ids(&[1, 3, 5, 9]), "category");
    assert_eq!(
        list_ids(
            store,
            q(&|q| {
                q.states = vec!["open".into()];
                q.parent_id = Some("P1".into());
                q.category = Some("major".into());
            })
        )
        .await,
        ids(&[9]),
        "state, parent and category together"
    );
    assert_eq!(list_ids(store, ListQuery::new("other", 100)).await, vec!["OT-4".to_string()], "kinds are separate");
    assert_eq!(list_ids(store, ListQuery::new("nothing", 100)).await, Vec::<String>::new(), "unknown kind");
}

/// `after_seq` is an exclusive cursor and `limit` caps the page.
pub async fn list_cursor_and_limit(store: &dyn Store) {
    seed_list(store).await;
    let page = |after: Option<i64>, limit: u32| ListQuery { after_seq: after, ..ListQuery::new("train", limit) };
    assert_eq!(list_ids(store, page(Some(3), 100)).await, ids(&[5, 7, 9]), "after_seq is exclusive");
    assert_eq!(list_ids(store, page(None, 2)).await, ids(&[1, 2]), "limit");
    assert_eq!(list_ids(store, page(Some(2), 2)).await, ids(&[3, 5]), "cursor and limit");
    assert_eq!(list_ids(store, page(Some(9), 2)).await, ids(&[]), "past the end");
    let open_after = ListQuery { states: vec!["open".into()], ..page(Some(2), 1) };
    assert_eq!(list_ids(store, open_after).await, ids(&[5]), "cursor with a filter");
}

/// Counters start at 1 and count independently.
pub async fn next_seq_starts_at_one_per_counter(store: &dyn Store) {
    let mut got = Vec::new();
    for c in ["RT", "RT", "AP", "RT", "AP", "TO"] {
        got.push(store.next_seq(c).await.unwrap_or_else(|e| panic!("next_seq({c}) failed: {e:?}")));
    }
    assert_eq!(got, vec![1, 2, 1, 3, 2, 1], "each counter starts at 1 and counts on its own");
}

/// 50 concurrent callers of one counter get 1..=50, each once.
pub async fn next_seq_never_repeats_under_concurrency(store: &dyn Store) {
    let calls = (0..50).map(|_| store.next_seq("RT")).collect();
    let mut got: Vec<i64> =
        join_all(calls).await.into_iter().map(|r| r.unwrap_or_else(|e| panic!("next_seq failed: {e:?}"))).collect();
    got.sort_unstable();
    assert_eq!(got, (1..=50).collect::<Vec<_>>(), "50 concurrent next_seq calls must hand out 1..=50 once each");
    assert_eq!(store.next_seq("RT").await.expect("next_seq"), 51, "the counter goes on after them");
}

/// Events get seq 1, 2, 3, ..., each linked to the previous hash and hashed with `event_hash`.
pub async fn events_are_sequenced_and_chained(store: &dyn Store) {
    let a = record("train", "RT-1", 1);
    let mut evs = vec![new_event("train", "RT-1", "create", "alice"), new_event("train", "RT-1", "submit", "alice")];
    evs[1].at = at(1001);
    evs[1].data = r#"{"note":"ünïcode \n newline"}"#.into();
    let first = ok_commit(store, Commit { writes: vec![Write::Insert(a)], events: evs.clone() }, "first").await;
    assert_eq!(seqs(&first.events), vec![1, 2], "the first commit's events are 1 and 2");
    assert_eq!(first.events[0].prev_hash, GENESIS_HASH, "the first event links to the genesis hash");
    for (stored_ev, new) in first.events.iter().zip(&evs) {
        assert_eq!(stored_ev.at, to_stored_precision(new.at), "event time is kept to the microsecond");
        assert_eq!(
            (&stored_ev.actor, &stored_ev.object_kind, &stored_ev.object_id, &stored_ev.action, &stored_ev.data),
            (&new.actor, &new.object_kind, &new.object_id, &new.action, &new.data),
            "event fields must be stored as given"
        );
    }
    let empty = ok_commit(store, Commit::default(), "empty commit").await;
    assert!(empty.events.is_empty(), "an empty commit stores nothing");
    let only_event = Commit { writes: vec![], events: vec![new_event("system", "sys", "start", "system")] };
    let second = ok_commit(store, only_event, "events-only commit").await;
    assert_eq!(seqs(&second.events), vec![3], "the next commit goes on at 3");
    assert_eq!(second.events[0].prev_hash, first.events[1].hash, "and links to event 2");

    let all = all_events(store).await;
    assert_chain_links(&all);
    let receipts: Vec<Event> = first.events.into_iter().chain(second.events).collect();
    assert_eq!(all, receipts, "the receipts must equal the stored events");
    assert_chain_intact(store, 3).await;
}

/// A failed commit neither consumes event seqs nor moves the chain head.
pub async fn failed_commit_leaves_chain_intact(store: &dyn Store) {
    let a = record("train", "RT-1", 1);
    ok_commit(store, insert(&a), "insert").await;
    let mut bad = insert(&a);
    bad.events.push(new_event("train", "RT-1", "again", "bob"));
    assert!(matches!(store.commit(bad).await, Err(StoreError::Conflict { .. })), "duplicate insert must conflict");
    let next = ok_commit(store, update(&a, 1), "update after the failure").await;
    assert_eq!(seqs(&next.events), vec![2], "the failed commit's events must not use up seqs");
    let all = all_events(store).await;
    assert_chain_links(&all);
    assert_chain_intact(store, 2).await;
}

/// Event queries filter by object, actor, time range [from, to), cursor and limit.
pub async fn event_filters(store: &dyn Store) {
    let spec = [
        (0, "alice", "train", "RT-1", "create"),
        (10, "bob", "train", "RT-1", "submit"),
        (20, "alice", "approval", "AP-1", "create"),
        (30, "system", "train", "RT-2", "create"),
        (40, "alice", "train", "RT-1", "approve"),
    ];
    for (offset, actor, kind, id, action) in spec {
        let mut e = new_event(kind, id, action, actor);
        e.at = at(offset);
        ok_commit(store, Commit { writes: vec![], events: vec![e] }, "event").await;
    }
    let q = |f: &dyn Fn(&mut EventQuery)| {
        let mut q = EventQuery { limit: 100, ..Default::default() };
        f(&mut q);
        q
    };
    let cases: Vec<(&str, EventQuery, Vec<i64>)> = vec![
        ("no filter", q(&|_| {}), vec![1, 2, 3, 4, 5]),
        ("object_kind", q(&|q| q.object_kind = Some("train".into())), vec![1, 2, 4, 5]),
        (
            "object_kind and object_id",
            q(&|q| {
                q.object_kind = Some("train".into());
                q.object_id = Some("RT-1".into());
            }),
            vec![1, 2, 5],
        ),
        ("object_id", q(&|q| q.object_id = Some("RT-1".into())), vec![1, 2, 5]),
        ("actor", q(&|q| q.actor = Some("alice".into())), vec![1, 3, 5]),
        (
            "actor and kind",
            q(&|q| {
                q.actor = Some("alice".into());
                q.object_kind = Some("train".into());
            }),
            vec![1, 5],
        ),
        ("from is inclusive", q(&|q| q.from = Some(at(10))), vec![2, 3, 4, 5]),
        ("to is exclusive", q(&|q| q.to = Some(at(30))), vec![1, 2, 3]),
        (
            "from and to",
            q(&|q| {
                q.from = Some(at(10));
                q.to = Some(at(30));
            }),
            vec![2, 3],
        ),
        ("after_seq", q(&|q| q.after_seq = Some(2)), vec![3, 4, 5]),
        ("limit", q(&|q| q.limit = 2), vec![1, 2]),
        (
            "after_seq and limit",
            q(&|q| {
                q.after_seq = Some(2);
                q.limit = 2;
            }),
            vec![3, 4],
        ),
        ("no match", q(&|q| q.actor = Some("mallory".into())), vec![]),
    ];
    for (what, query, want) in cases {
        assert_eq!(seqs(&events(store, query).await), want, "event filter: {what}");
    }
}

/// A log built by many commits verifies, and its head is the last event's hash.
pub async fn chain_verifies_after_many_commits(store: &dyn Store) {
    let mut last = None;
    for i in 1..=40 {
        let r = record("train", &format!("RT-{i}"), i);
        let mut c = insert(&r);
        if i % 3 == 0 {
            c.events.push(new_event("train", &r.id, "note", "bob"));
        }
        last = ok_commit(store, c, "commit").await.events.last().cloned();
    }
    let report = verify_chain(store).await.expect("verify_chain");
    assert_eq!(report.first_broken, None, "the chain must verify");
    assert_eq!(report.events_checked, 53, "40 creates and 13 notes");
    assert_eq!(Some(report.head_hash), last.map(|e| e.hash), "the head is the hash of the last event");
}

/// 20 concurrent workers x 20 commits each (insert a record, update the previous one) all land, and the
/// log is one gap-free, verified chain.
pub async fn concurrent_commits_all_land(store: &dyn Store) {
    const WORKERS: i64 = 20;
    const COMMITS: i64 = 20;
    let worker = move |w: i64| async move {
        let mut receipts = Vec::new();
        for i in 0..COMMITS {
            let r = record("load", &format!("L-{w}-{i}"), w * 100 + i);
            let mut c = insert(&r);
            if i > 0 {
                let mut prev = record("load", &format!("L-{w}-{}", i - 1), w * 100 + i - 1);
                prev.state = Some("done".into());
                c.writes.push(Write::Update { record: prev.clone(), expected_version: 1 });
                c.events.push(new_event("load", &prev.id, "finish", "worker"));
            }
            receipts.push(ok_commit(store, c, "concurrent commit").await);
        }
        receipts
    };
    let receipts: Vec<CommitReceipt> =
        join_all((0..WORKERS).map(worker).collect()).await.into_iter().flatten().collect();
    let total = (WORKERS * COMMITS + WORKERS * (COMMITS - 1)) as usize;
    let mut from_receipts: Vec<i64> = receipts.iter().flat_map(|r| seqs(&r.events)).collect();
    from_receipts.sort_unstable();
    assert_eq!(from_receipts, (1..=total as i64).collect::<Vec<_>>(), "receipts must hand out every seq exactly once");

    let all = all_events(store).await;
    assert_eq!(all.len(), total, "every event must land");
    assert_chain_links(&all);
    assert_chain_intact(store, total as u64).await;

    let records = store.list(&ListQuery::new("load", 1000)).await.expect("list");
    assert_eq!(records.len(), (WORKERS * COMMITS) as usize, "every record must land");
    for r in &records {
        let last = r.id.ends_with(&format!("-{}", COMMITS - 1));
        assert_eq!(r.version, if last { 1 } else { 2 }, "{} has the wrong version", r.id);
    }
}

/// Concurrent updates of one record at the same version: exactly one wins, the rest are Conflicts.
pub async fn concurrent_updates_of_same_version_one_wins(store: &dyn Store) {
    let a = record("train", "RT-1", 1);
    ok_commit(store, insert(&a), "insert").await;
    let attempts = (0..10)
        .map(|i| {
            let mut r = a.clone();
            r.doc = format!(r#"{{"winner":{i}}}"#);
            store.commit(update(&r, 1))
        })
        .collect();
    let results = join_all(attempts).await;
    let winners: Vec<usize> = results.iter().enumerate().filter(|(_, r)| r.is_ok()).map(|(i, _)| i).collect();
    assert_eq!(winners.len(), 1, "exactly one of 10 concurrent updates at version 1 must win: {results:?}");
    for (i, r) in results.into_iter().enumerate() {
        if i != winners[0] {
            assert_conflict(r, "losing concurrent update", "RT-1", 1, Some(2));
        }
    }
    let now = get(store, "train", "RT-1").await.expect("the record exists");
    assert_eq!(now.version, 2, "one update happened");
    assert_eq!(now.doc, format!(r#"{{"winner":{}}}"#, winners[0]), "the winner's document is stored");
    assert_chain_intact(store, 2).await;
}

/// Concurrent inserts of different records with the same unique key: exactly one wins, the rest are
/// DuplicateKey, and none of the losers' events land.
pub async fn concurrent_inserts_of_one_unique_key_one_wins(store: &dyn Store) {
    let attempts = (0..8)
        .map(|i| {
            let mut r = record("user", &format!("U-{i}"), i);
            r.unique_key = Some("alice".into());
            store.commit(insert(&r))
        })
        .collect();
    let results = join_all(attempts).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "exactly one insert must win: {results:?}");
    assert!(
        results.iter().all(|r| r.is_ok() || matches!(r, Err(StoreError::DuplicateKey { .. }))),
        "the others must be DuplicateKey: {results:?}"
    );
    let users = store.list(&ListQuery::new("user", 100)).await.expect("list");
    assert_eq!(users.len(), 1, "one user is stored");
    assert_chain_intact(store, 1).await;
}
