//! The shared conformance suite on PostgreSQL (a throwaway cluster, one fresh database per test), plus
//! what only PostgreSQL has: raw tampering, several servers on one database, repeated migrations.

use std::sync::Arc;

use railyard_store::conformance::{Tamper, assert_blocks_partition, insert, join_all, new_event, record};
use railyard_store::{
    Commit, Event, EventQuery, RecordRule, Store, StoreError, event_hash, verify_audit, verify_chain,
};
use railyard_store_postgres::PostgresStore;
use railyard_store_postgres::testing::fresh_database;

async fn fresh() -> Arc<dyn Store> {
    let url = fresh_database().await;
    Arc::new(PostgresStore::connect(&url).await.expect("connect to a fresh test database"))
}

railyard_store::conformance_suite!(fresh);

/// A store on a fresh database, and plain SQL on it over another connection.
struct Raw {
    store: PostgresStore,
    client: tokio_postgres::Client,
}

#[async_trait::async_trait]
impl Tamper for Raw {
    fn store(&self) -> &dyn Store {
        &self.store
    }
    async fn sql(&self, statement: &str) -> u64 {
        self.client.execute(statement, &[]).await.unwrap_or_else(|e| panic!("{statement}: {e}"))
    }
}

async fn raw_fresh() -> Box<Raw> {
    let url = fresh_database().await;
    let store = PostgresStore::connect(&url).await.expect("connect to a fresh test database");
    Box::new(Raw { store, client: raw(&url).await })
}

railyard_store::tamper_suite!(raw_fresh);

async fn raw(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("raw connection");
    tokio::spawn(connection);
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampering_with_an_event_is_detected() {
    let url = fresh_database().await;
    let store = PostgresStore::connect(&url).await.expect("connect");
    for i in 1..=5 {
        store.commit(insert(&record("train", &format!("RT-{i}"), i))).await.expect("insert");
    }
    assert_eq!(verify_chain(&store).await.expect("verify").first_broken, None);

    let changed = raw(&url)
        .await
        .execute("UPDATE events SET data = '{\"forged\":true}' WHERE seq = 3", &[])
        .await
        .expect("tamper");
    assert_eq!(changed, 1);

    let broken = verify_chain(&store).await.expect("verify").first_broken.expect("the edit must be detected");
    assert_eq!(broken.seq, 3, "verify_chain must point at the edited event: {broken:?}");
}

/// Commit 1 is events 1..=3, then commits 4 and 5 of one event each.
async fn three_commits(store: &PostgresStore) {
    let mut c = insert(&record("train", "RT-1", 1));
    c.events.push(new_event("train", "RT-1", "submit", "alice"));
    c.events.push(new_event("train", "RT-1", "approve", "alice"));
    store.commit(c).await.expect("commit of 3 events");
    for i in 2..=3 {
        store.commit(insert(&record("train", &format!("RT-{i}"), i))).await.expect("insert");
    }
    let report = verify_chain(store).await.expect("verify");
    assert_eq!((report.events_checked, report.first_broken), (5, None));
}

async fn event(store: &PostgresStore, seq: i64) -> Event {
    let q = EventQuery { after_seq: Some(seq - 1), limit: 1, ..Default::default() };
    store.events(&q).await.expect("events").remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampering_with_a_commit_seq_is_detected() {
    let url = fresh_database().await;
    let store = PostgresStore::connect(&url).await.expect("connect");
    three_commits(&store).await;
    let raw = raw(&url).await;

    // Splitting commit 1: event 2 claims to open its own commit. Plausible, but not what was hashed.
    assert_eq!(raw.execute("UPDATE events SET commit_seq = 2 WHERE seq = 2", &[]).await.expect("tamper"), 1);
    let broken = verify_chain(&store).await.expect("verify").first_broken.expect("the edit must be detected");
    assert_eq!(broken.seq, 2, "verify_chain must point at the edited event: {broken:?}");
    assert!(broken.reason.contains("does not match its hash"), "the hash exposes it: {broken:?}");
    raw.execute("UPDATE events SET commit_seq = 1 WHERE seq = 2", &[]).await.expect("undo");
    assert_eq!(verify_chain(&store).await.expect("verify").first_broken, None, "undone");

    // The last event moved into commit 3, which is no commit, with its hash recomputed to match: only
    // the commit id check can tell.
    let forged = Event { commit_seq: 3, ..event(&store, 5).await }.content_hash();
    let changed = raw
        .execute("UPDATE events SET commit_seq = 3, hash = $1 WHERE seq = 5", &[&forged])
        .await
        .expect("tamper with a recomputed hash");
    assert_eq!(changed, 1);
    let broken = verify_chain(&store).await.expect("verify").first_broken.expect("the edit must be detected");
    assert_eq!(broken.seq, 5, "verify_chain must point at the edited event: {broken:?}");
    assert!(broken.reason.contains("commit id"), "the commit id check exposes it: {broken:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_database_reserve_disjoint_blocks() {
    let url = fresh_database().await;
    let (a, b) = tokio::join!(PostgresStore::connect(&url), PostgresStore::connect(&url));
    let servers = [Arc::new(a.expect("server a")), Arc::new(b.expect("server b"))];
    let mut tasks = Vec::new();
    for server in &servers {
        for w in 0..8u32 {
            let server = server.clone();
            tasks.push(tokio::spawn(async move {
                let mut blocks = Vec::new();
                for i in 0..10u32 {
                    let count = if (w + i) % 2 == 0 { 1 } else { 50 };
                    let first =
                        if count == 1 { server.next_seq("WI").await } else { server.reserve_seqs("WI", 50).await };
                    blocks.push((first.expect("counter call"), count));
                }
                blocks
            }));
        }
    }
    let mut blocks = Vec::new();
    for t in tasks {
        blocks.extend(t.await.expect("worker task"));
    }
    assert_blocks_partition(&blocks, 2 * 8 * (5 + 5 * 50));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_database_build_one_chain() {
    const WORKERS: i64 = 8;
    const COMMITS: i64 = 15;
    let url = fresh_database().await;
    let (a, b) = tokio::join!(PostgresStore::connect(&url), PostgresStore::connect(&url));
    let servers = [Arc::new(a.expect("server a")), Arc::new(b.expect("server b"))];

    let mut tasks = Vec::new();
    for (s, server) in servers.iter().enumerate() {
        for w in 0..WORKERS {
            let server = server.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..COMMITS {
                    let r = record("load", &format!("S{s}-{w}-{i}"), (s as i64) * 10_000 + w * 100 + i);
                    let mut c = insert(&r);
                    c.events.push(new_event("load", &r.id, "note", "worker"));
                    server.commit(c).await.expect("commit");
                }
            }));
        }
    }
    for t in tasks {
        t.await.expect("worker task");
    }

    let total = (2 * WORKERS * COMMITS * 2) as u64;
    for server in &servers {
        let report = verify_chain(server.as_ref()).await.expect("verify");
        assert_eq!(report.first_broken, None, "two servers must not fork the chain");
        assert_eq!(report.events_checked, total, "every event of both servers must land, without gaps");
        let audit = verify_audit(server.as_ref(), None, &|_: &str| RecordRule::Exact).await.expect("verify_audit");
        assert!(audit.intact(), "every record is what its listing says: {audit:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_run_twice_are_a_no_op() {
    let url = fresh_database().await;
    let first = PostgresStore::connect(&url).await.expect("first connect");
    first.commit(insert(&record("train", "RT-1", 1))).await.expect("insert");
    assert_eq!(first.next_seq("RT").await.expect("next_seq"), 1);

    let second = PostgresStore::connect(&url).await.expect("second connect");
    assert!(second.get("train", "RT-1").await.expect("get").is_some(), "data survives a second migration run");
    assert_eq!(second.next_seq("RT").await.expect("next_seq"), 2, "counters survive a second migration run");
    let r = second
        .commit(Commit { writes: vec![], events: vec![new_event("train", "RT-1", "note", "bob")] })
        .await
        .expect("commit");
    assert_eq!(r.events[0].seq, 2, "the chain head survives a second migration run");

    let client = raw(&url).await;
    let applied: i64 = client.query_one("SELECT COUNT(*) FROM schema_migrations", &[]).await.expect("count").get(0);
    assert_eq!(applied, 3, "each of the three migrations is recorded once");
    let heads: i64 = client.query_one("SELECT COUNT(*) FROM chain_head", &[]).await.expect("count").get(0);
    assert_eq!(heads, 1, "there is one chain head");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_starting_together_migrate_once() {
    let url = fresh_database().await;
    let connects = (0..4).map(|_| PostgresStore::connect(&url)).collect();
    for store in join_all(connects).await {
        let store = store.expect("every concurrent connect succeeds");
        store.ping().await.expect("ping");
    }
    let applied: i64 =
        raw(&url).await.query_one("SELECT COUNT(*) FROM schema_migrations", &[]).await.expect("count").get(0);
    assert_eq!(applied, 3, "three migrations, each applied once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_database_is_unavailable() {
    // Port 9 (discard) on localhost: nothing listens there in the test environment.
    let res = PostgresStore::connect("postgres://postgres@127.0.0.1:9/nothing?connect_timeout=2").await;
    assert!(matches!(res, Err(StoreError::Unavailable(_))), "expected Unavailable, got {:?}", res.err());
}

/// A database made by the first schema, with records and events: connecting applies the second
/// migration, which lists every record in one baseline event after the chain head, so the cross-check
/// holds from the upgrade on (and still catches a later edit).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgraded_database_gets_a_baseline_listing() {
    let url = fresh_database().await;
    let raw = raw(&url).await;
    raw.batch_execute(include_str!("../migrations/0001_init.sql")).await.expect("the first schema");
    raw.batch_execute(
        "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL);
         INSERT INTO schema_migrations VALUES (1, '0001_init', '2026-01-01T00:00:00.000000Z');
         INSERT INTO records (id, kind, seq, version, state, created_at, updated_at, doc)
         VALUES ('RT-1', 'train', 1, 2, 'scoping', '2026-01-01T00:00:00.000000Z', '2026-01-02T00:00:00.000000Z', '{}'),
                ('AP-1', 'approval', 1, 1, 'pending', '2026-01-02T00:00:00.000000Z', '2026-01-02T00:00:00.000000Z', '{}');",
    )
    .await
    .expect("old records");
    let at = railyard_store::parse_time("2026-01-02T00:00:00.000000Z").expect("time");
    let hash = event_hash(1, 1, &at, "rita", "train", "RT-1", "create", "{}", railyard_store::GENESIS_HASH, "");
    raw.execute(
        "INSERT INTO events (seq, commit_seq, at, actor, object_kind, object_id, action, data, prev_hash, hash)
         VALUES (1, 1, '2026-01-02T00:00:00.000000Z', 'rita', 'train', 'RT-1', 'create', '{}', $1, $2)",
        &[&railyard_store::GENESIS_HASH, &hash],
    )
    .await
    .expect("old event");
    raw.execute("UPDATE chain_head SET seq = 1, hash = $1", &[&hash]).await.expect("old head");

    let store = PostgresStore::connect(&url).await.expect("connect and migrate");
    let exact = |_: &str| RecordRule::Exact;
    let report = verify_audit(&store, None, &exact).await.expect("verify_audit");
    assert!(report.intact(), "the upgraded database verifies: {report:?}");
    assert_eq!((report.chain.events_checked, report.records.records_checked), (2, 2));
    let baseline = event(&store, 2).await;
    assert_eq!((baseline.action.as_str(), baseline.actor.as_str()), ("baseline", "system"));
    assert!(baseline.writes.contains("\"RT-1\"") && baseline.writes.contains("\"AP-1\""), "{}", baseline.writes);

    raw.execute("UPDATE records SET state = 'closed' WHERE id = 'RT-1'", &[]).await.expect("tamper");
    let report = verify_audit(&store, None, &exact).await.expect("verify_audit");
    let first = report.records.first.expect("an edit after the upgrade is named");
    assert_eq!((first.kind.as_str(), first.id.as_str()), ("train", "RT-1"));
    drop(store);
    let again = PostgresStore::connect(&url).await.expect("reconnect");
    assert_eq!(again.head_seq().await.expect("head_seq"), 2, "no second baseline");
}
