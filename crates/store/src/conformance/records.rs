//! Cases on records: round trips, optimistic concurrency, unique keys, lists.

use super::*;

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

/// `newest_first` orders by `seq` descending, `before_seq` is its exclusive cursor, `updated_since`
/// keeps records written at or after a time, and all combine with the filters and `limit`.
pub async fn list_newest_first(store: &dyn Store) {
    seed_list(store).await;
    let newest = |before: Option<i64>, limit: u32| ListQuery {
        newest_first: true,
        before_seq: before,
        ..ListQuery::new("train", limit)
    };
    assert_eq!(list_ids(store, newest(None, 100)).await, ids(&[9, 7, 5, 3, 2, 1]), "newest first");
    assert_eq!(list_ids(store, newest(None, 2)).await, ids(&[9, 7]), "limit keeps the newest");
    assert_eq!(list_ids(store, newest(Some(7), 2)).await, ids(&[5, 3]), "before_seq is exclusive");
    assert_eq!(list_ids(store, newest(Some(1), 2)).await, ids(&[]), "past the oldest");
    let major = ListQuery { category: Some("major".into()), states: vec!["open".into()], ..newest(Some(9), 100) };
    assert_eq!(list_ids(store, major).await, ids(&[5]), "with filters");
    let recent = ListQuery { updated_since: Some(at(5)), ..newest(None, 100) };
    assert_eq!(list_ids(store, recent).await, ids(&[9, 7, 5]), "updated_since is inclusive");
    let later = ListQuery { updated_since: Some(at(10)), ..newest(None, 100) };
    assert_eq!(list_ids(store, later).await, ids(&[]), "nothing updated since");
    let oldest_first_before = ListQuery { before_seq: Some(5), ..ListQuery::new("train", 100) };
    assert_eq!(list_ids(store, oldest_first_before).await, ids(&[1, 2, 3]), "before_seq alone, oldest first");
}

pub async fn the_same_id_in_two_kinds_is_two_records(store: &dyn Store) {
    let user = record("user", "test", 1);
    let env = Record { doc: r#"{"name":"test","kind":"environment"}"#.into(), ..record("environment", "test", 1) };
    store.commit(insert(&user)).await.expect("insert the user");
    store.commit(insert(&env)).await.expect("an environment may have a user's name");
    assert_eq!(store.get("user", "test").await.expect("get").map(|r| r.doc), Some(user.doc.clone()));
    assert_eq!(store.get("environment", "test").await.expect("get").map(|r| r.doc), Some(env.doc.clone()));
    store.commit(update(&env, 1)).await.expect("update the environment");
    assert_eq!(store.get("user", "test").await.expect("get").map(|r| r.version), Some(1), "the user is untouched");
    let again = store.commit(insert(&record("user", "test", 2))).await;
    assert!(matches!(again, Err(StoreError::Conflict { .. })), "the id is still unique within its kind: {again:?}");
}
