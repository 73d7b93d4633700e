//! Cases with many concurrent requests.

use super::*;

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
    receipts.iter().for_each(assert_one_commit);
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
