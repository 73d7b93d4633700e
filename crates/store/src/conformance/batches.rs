//! Large commits, as a work item import makes them: thousands of records of one parent in one commit,
//! all or nothing.

use super::*;

fn item(i: i64, parent: &str) -> Record {
    let mut r = record("work_item", &format!("WI-{i}"), i);
    r.parent_id = Some(parent.to_string());
    r.category = Some("development_task".to_string());
    r.unique_key = Some(format!("{parent}:K-{i}"));
    r
}

async fn children(store: &dyn Store, parent: &str) -> Vec<Record> {
    let mut q = ListQuery::new("work_item", 500);
    q.parent_id = Some(parent.to_string());
    let mut out = Vec::new();
    loop {
        let page = store.list(&q).await.expect("list a page of children");
        let done = page.len() < 500;
        q.after_seq = page.last().map(|r| r.seq);
        out.extend(page);
        if done {
            return out;
        }
    }
}

pub async fn a_large_batch_lands_whole_or_not_at_all(store: &dyn Store) {
    const N: i64 = 2_000;
    let first = store.reserve_seqs("WI", N as u32).await.expect("reserve a block");
    let writes = (first..first + N).map(|i| Write::Insert(item(i, "AR-1"))).collect();
    let import =
        Commit { writes, events: vec![new_event("application_release", "AR-1", "import_work_items", "paula")] };
    store.commit(import).await.expect("a batch of 2,000 inserts commits");
    let stored = children(store, "AR-1").await;
    assert_eq!(stored.len(), N as usize, "every record of the batch is stored");
    assert!(stored.windows(2).all(|w| w[0].seq < w[1].seq), "children come back in seq order");

    // A second batch whose last record reuses a taken unique key: nothing of it is stored.
    let next = store.reserve_seqs("WI", N as u32).await.expect("reserve a second block");
    let mut writes: Vec<Write> = (next..next + N).map(|i| Write::Insert(item(i, "AR-2"))).collect();
    let mut clash = item(next + N, "AR-2");
    clash.unique_key = Some(format!("AR-1:K-{first}"));
    clash.kind = "work_item".into();
    writes.push(Write::Insert(clash));
    let events_before = store.events(&EventQuery { limit: 10, ..Default::default() }).await.expect("events").len();
    let err = store
        .commit(Commit { writes, events: vec![new_event("application_release", "AR-2", "import_work_items", "paula")] })
        .await
        .expect_err("a taken unique key fails the whole batch");
    assert!(matches!(err, StoreError::DuplicateKey { .. }), "expected DuplicateKey, got {err:?}");
    assert!(children(store, "AR-2").await.is_empty(), "no record of the failed batch is stored");
    let events_after = store.events(&EventQuery { limit: 10, ..Default::default() }).await.expect("events").len();
    assert_eq!(events_before, events_after, "the failed batch wrote no event");

    // A mixed batch: updates of half the first batch and new records.
    let mut writes: Vec<Write> = stored
        .iter()
        .take(1_000)
        .map(|r| Write::Update { record: Record { state: Some("done".into()), ..r.clone() }, expected_version: 1 })
        .collect();
    let more = store.reserve_seqs("WI", 500).await.expect("reserve a third block");
    writes.extend((more..more + 500).map(|i| Write::Insert(item(i, "AR-1"))));
    store
        .commit(Commit { writes, events: vec![new_event("application_release", "AR-1", "import_work_items", "paula")] })
        .await
        .expect("a mixed batch commits");
    let stored = children(store, "AR-1").await;
    assert_eq!(stored.len(), N as usize + 500);
    assert_eq!(stored.iter().filter(|r| r.state.as_deref() == Some("done")).count(), 1_000);
    assert_eq!(stored.iter().filter(|r| r.version == 2).count(), 1_000);
}
