//! Cases on commit ids: every event of one commit carries the `seq` of the commit's first event.

use super::*;

fn events_only(specs: &[(&str, &str)]) -> Commit {
    let events = specs.iter().map(|(id, action)| new_event("train", id, action, "alice")).collect();
    Commit { writes: vec![], events }
}

/// A commit of 3 events gives them all the seq of the first as `commit_seq`; the next commits get their
/// own; a failed commit uses up no commit id; receipts, stored events and the chain agree.
pub async fn events_of_one_commit_share_its_commit_seq(store: &dyn Store) {
    // Sending an application release back to construction: one change, several events.
    let ar = record("application_release", "AR-1", 1);
    let three = Commit {
        writes: vec![Write::Insert(ar.clone())],
        events: vec![
            new_event("application_release", "AR-1", "send_back", "alice"),
            new_event("train", "RT-1", "reopen", "alice"),
            new_event("approval", "AP-1", "cancel", "alice"),
        ],
    };
    let first = ok_commit(store, three, "commit of 3 events").await;
    assert_eq!(seqs(&first.events), vec![1, 2, 3], "the 3 events are 1, 2, 3");
    let ids: Vec<i64> = first.events.iter().map(|e| e.commit_seq).collect();
    assert_eq!(ids, vec![1, 1, 1], "the 3 events of one commit share the seq of the first as commit_seq");

    let single = ok_commit(store, events_only(&[("RT-1", "note")]), "commit of 1 event").await;
    assert_eq!((single.events[0].seq, single.events[0].commit_seq), (4, 4), "a one-event commit is its own commit");

    let mut failing = insert(&ar);
    failing.events.push(new_event("train", "RT-1", "lost", "bob"));
    assert!(matches!(store.commit(failing).await, Err(StoreError::Conflict { .. })), "duplicate insert conflicts");

    let two = ok_commit(store, events_only(&[("RT-2", "create"), ("RT-2", "submit")]), "commit of 2").await;
    let got: Vec<(i64, i64)> = two.events.iter().map(|e| (e.seq, e.commit_seq)).collect();
    assert_eq!(got, vec![(5, 5), (6, 5)], "the next commit gets its own commit_seq, after the failed one");

    let all = all_events(store).await;
    let stored: Vec<(i64, i64)> = all.iter().map(|e| (e.seq, e.commit_seq)).collect();
    assert_eq!(stored, vec![(1, 1), (2, 1), (3, 1), (4, 4), (5, 5), (6, 5)], "stored commit ids");
    let receipts: Vec<Event> = first.events.into_iter().chain(single.events).chain(two.events).collect();
    assert_eq!(all, receipts, "the receipts must equal the stored events, commit ids included");
    assert_chain_links(&all);
    assert_chain_intact(store, 6).await;
}

/// `commit_seq` selects the events of one commit, alone or with the other filters.
pub async fn event_filter_by_commit(store: &dyn Store) {
    ok_commit(store, events_only(&[("RT-1", "create"), ("RT-1", "submit"), ("RT-2", "move")]), "commit 1").await;
    ok_commit(store, events_only(&[("RT-3", "create")]), "commit 4").await;
    ok_commit(store, events_only(&[("RT-1", "approve"), ("RT-4", "create")]), "commit 5").await;
    let q = |commit: i64, f: &dyn Fn(&mut EventQuery)| {
        let mut q = EventQuery { commit_seq: Some(commit), limit: 100, ..Default::default() };
        f(&mut q);
        q
    };
    let cases: Vec<(&str, EventQuery, Vec<i64>)> = vec![
        ("commit of 3", q(1, &|_| {}), vec![1, 2, 3]),
        ("commit of 1", q(4, &|_| {}), vec![4]),
        ("commit of 2", q(5, &|_| {}), vec![5, 6]),
        ("a seq inside a commit is no commit id", q(2, &|_| {}), vec![]),
        ("no such commit", q(99, &|_| {}), vec![]),
        ("commit and object", q(1, &|q| q.object_id = Some("RT-1".into())), vec![1, 2]),
        ("commit and cursor", q(1, &|q| q.after_seq = Some(1)), vec![2, 3]),
        ("commit and limit", q(1, &|q| q.limit = 2), vec![1, 2]),
        ("commit and actor", q(5, &|q| q.actor = Some("bob".into())), vec![]),
    ];
    for (what, query, want) in cases {
        let got = events(store, query).await;
        assert_eq!(seqs(&got), want, "event filter: {what}");
    }
    let of_five = events(store, q(5, &|_| {})).await;
    assert!(of_five.iter().all(|e| e.commit_seq == 5), "the filtered events carry the commit id asked for");
}
