//! Cases on counters and the event log: numbering, hash chain, filters.

use super::*;

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

/// Blocks from `reserve_seqs` and single numbers from `next_seq` follow each other on one counter without
/// overlap or gap; a block on a new counter starts at 1; counters stay independent.
pub async fn reserve_seqs_and_next_seq_never_overlap(store: &dyn Store) {
    assert_eq!(counted(store.next_seq("WI").await, "next_seq(WI)"), 1, "a new counter starts at 1");
    assert_eq!(counted(store.reserve_seqs("WI", 10).await, "reserve_seqs(WI, 10)"), 2, "the block follows 1: 2..12");
    assert_eq!(counted(store.next_seq("WI").await, "next_seq(WI)"), 12, "next_seq follows the block");
    assert_eq!(counted(store.reserve_seqs("WI", 1).await, "reserve_seqs(WI, 1)"), 13, "a block of one is one number");
    assert_eq!(counted(store.reserve_seqs("WI", 10_000).await, "reserve_seqs(WI, 10000)"), 14, "a big block");
    assert_eq!(counted(store.reserve_seqs("WI", 3).await, "reserve_seqs(WI, 3)"), 10_014, "blocks follow blocks");
    assert_eq!(counted(store.next_seq("WI").await, "next_seq(WI)"), 10_017, "and next_seq follows them");

    assert_eq!(counted(store.reserve_seqs("NEW", 5).await, "reserve_seqs(NEW, 5)"), 1, "a block on a new counter");
    assert_eq!(counted(store.next_seq("NEW").await, "next_seq(NEW)"), 6, "next_seq after a first block");
    assert_eq!(counted(store.next_seq("RT").await, "next_seq(RT)"), 1, "other counters are untouched");
    let max = counted(store.reserve_seqs("MAX", u32::MAX).await, "reserve_seqs(MAX, u32::MAX)");
    assert_eq!(max, 1, "the largest block starts at 1");
    assert_eq!(counted(store.next_seq("MAX").await, "next_seq(MAX)"), i64::from(u32::MAX) + 1, "and is all taken");
}

/// 20 concurrent callers, half taking one number with `next_seq` and half a block of 50 with
/// `reserve_seqs`, get disjoint numbers that together are exactly 1..=510.
pub async fn reserve_seqs_never_overlap_under_concurrency(store: &dyn Store) {
    const CALLERS: u32 = 20;
    const BLOCK: u32 = 50;
    let calls = (0..CALLERS)
        .map(|i| async move {
            if i % 2 == 0 {
                (counted(store.next_seq("WI").await, "concurrent next_seq"), 1)
            } else {
                (counted(store.reserve_seqs("WI", BLOCK).await, "concurrent reserve_seqs"), BLOCK)
            }
        })
        .collect();
    let total = i64::from(CALLERS / 2 + CALLERS / 2 * BLOCK);
    assert_blocks_partition(&join_all(calls).await, total);
    assert_eq!(counted(store.next_seq("WI").await, "next_seq"), total + 1, "the counter goes on after them");
}

/// Asserts that the blocks `(first, count)` handed out by `next_seq` (count 1) and `reserve_seqs` are
/// disjoint and together exactly `1..=total`.
pub fn assert_blocks_partition(blocks: &[(i64, u32)], total: i64) {
    let mut got: Vec<i64> = blocks
        .iter()
        .flat_map(|&(first, count)| {
            assert!(first >= 1, "numbers start at 1, got a block at {first}");
            first..first + i64::from(count)
        })
        .collect();
    got.sort_unstable();
    let duplicates = got.windows(2).filter(|w| w[0] == w[1]).count();
    assert_eq!(duplicates, 0, "next_seq and reserve_seqs calls handed out {duplicates} numbers twice");
    assert_eq!(got, (1..=total).collect::<Vec<_>>(), "together they must hand out 1..={total}, each once");
}

/// A block of no numbers is refused and does not move the counter.
pub async fn reserve_seqs_of_zero_is_refused(store: &dyn Store) {
    match store.reserve_seqs("WI", 0).await {
        Err(StoreError::Backend(m)) => assert!(m.contains("at least one"), "the error must say why: {m}"),
        other => panic!("reserve_seqs(WI, 0) on a new counter must be refused with Backend, got {other:?}"),
    }
    assert_eq!(counted(store.reserve_seqs("WI", 2).await, "reserve_seqs(WI, 2)"), 1, "the counter did not move");
    let res = store.reserve_seqs("WI", 0).await;
    assert!(matches!(res, Err(StoreError::Backend(_))), "reserve_seqs(WI, 0) must be refused, got {res:?}");
    assert_eq!(counted(store.next_seq("WI").await, "next_seq(WI)"), 3, "the counter did not move");
}

/// Events get seq 1, 2, 3, ..., each linked to the previous hash and hashed with `event_hash`.
pub async fn events_are_sequenced_and_chained(store: &dyn Store) {
    assert_eq!(store.head_seq().await.ok(), Some(0), "no event yet: the head is 0");
    let a = record("train", "RT-1", 1);
    let mut evs = vec![new_event("train", "RT-1", "create", "alice"), new_event("train", "RT-1", "submit", "alice")];
    evs[1].at = at(1001);
    evs[1].data = r#"{"note":"ünïcode \n newline"}"#.into();
    let first = ok_commit(store, Commit { writes: vec![Write::Insert(a)], events: evs.clone() }, "first").await;
    assert_eq!(seqs(&first.events), vec![1, 2], "the first commit's events are 1 and 2");
    assert_eq!(store.head_seq().await.ok(), Some(2), "the head moves on with the commit");
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
    assert_eq!(store.head_seq().await.ok(), Some(3), "and the head with it");
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
