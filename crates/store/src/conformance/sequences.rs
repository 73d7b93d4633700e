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
