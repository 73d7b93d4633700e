//! The shared conformance suite on SQLite, plus what only SQLite has: reopening a file, raw tampering,
//! and the durability settings.

use std::ops::Deref;
use std::path::Path;

use railyard_store::conformance::{Tamper, assert_blocks_partition, insert, new_event, record, update};
use railyard_store::{Commit, Event, EventQuery, ListQuery, RecordRule, Store, event_hash, verify_audit, verify_chain};
use railyard_store_sqlite::SqliteStore;
use tempfile::TempDir;

/// A store on a new file in its own temp dir; the store is dropped (writer stopped) before the dir.
struct Fresh {
    store: SqliteStore,
    _dir: TempDir,
}

impl Deref for Fresh {
    type Target = dyn Store;
    fn deref(&self) -> &(dyn Store + 'static) {
        &self.store
    }
}

async fn fresh() -> Fresh {
    let dir = tempfile::tempdir().expect("temp dir");
    // A nested path: open must create missing directories.
    let store = SqliteStore::open(&dir.path().join("data/railyard.db")).expect("open a new SQLite store");
    Fresh { store, _dir: dir }
}

railyard_store::conformance_suite!(fresh);

/// A store on a new file, and plain SQL on the same file from another connection.
struct Raw {
    fresh: Fresh,
    path: std::path::PathBuf,
}

#[async_trait::async_trait]
impl Tamper for Raw {
    fn store(&self) -> &dyn Store {
        &self.fresh.store
    }
    async fn sql(&self, statement: &str) -> u64 {
        let conn = rusqlite::Connection::open(&self.path).expect("raw connection");
        conn.busy_timeout(std::time::Duration::from_secs(5)).expect("busy timeout");
        conn.execute(statement, []).unwrap_or_else(|e| panic!("{statement}: {e}")) as u64
    }
}

async fn raw_fresh() -> Box<Raw> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("railyard.db");
    let store = SqliteStore::open(&path).expect("open a new SQLite store");
    Box::new(Raw { fresh: Fresh { store, _dir: dir }, path })
}

railyard_store::tamper_suite!(raw_fresh);

fn open(path: &Path) -> SqliteStore {
    SqliteStore::open(path).expect("open SQLite store")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopen_keeps_records_counters_and_chain_head() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("railyard.db");
    let a = record("train", "RT-1", 1);
    let last_hash = {
        let store = open(&path);
        assert_eq!(store.next_seq("RT").await.expect("next_seq"), 1);
        assert_eq!(store.next_seq("RT").await.expect("next_seq"), 2);
        store.commit(insert(&a)).await.expect("insert");
        let r = store.commit(update(&a, 1)).await.expect("update");
        r.events[0].hash.clone()
    };

    let store = open(&path);
    let got = store.get("train", "RT-1").await.expect("get").expect("record survives reopen");
    assert_eq!(got.version, 2);
    assert_eq!(store.next_seq("RT").await.expect("next_seq"), 3, "counters survive reopen");
    let r = store
        .commit(Commit { writes: vec![], events: vec![new_event("train", "RT-1", "note", "bob")] })
        .await
        .expect("commit after reopen");
    assert_eq!(r.events[0].seq, 3, "the chain goes on at the next seq");
    assert_eq!(r.events[0].prev_hash, last_hash, "and links to the last event written before reopening");
    let report = verify_chain(&store).await.expect("verify");
    assert_eq!((report.events_checked, report.first_broken), (3, None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampering_with_an_event_is_detected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("railyard.db");
    let store = open(&path);
    for i in 1..=5 {
        store.commit(insert(&record("train", &format!("RT-{i}"), i))).await.expect("insert");
    }
    assert_eq!(verify_chain(&store).await.expect("verify").first_broken, None);

    let raw = rusqlite::Connection::open(&path).expect("raw connection");
    raw.busy_timeout(std::time::Duration::from_secs(5)).expect("busy timeout");
    let changed = raw.execute("UPDATE events SET data = '{\"forged\":true}' WHERE seq = 3", []).expect("tamper");
    assert_eq!(changed, 1);
    drop(raw);

    let report = verify_chain(&store).await.expect("verify");
    let broken = report.first_broken.expect("the edit must be detected");
    assert_eq!(broken.seq, 3, "verify_chain must point at the edited event: {broken:?}");
}

/// Commit 1 is events 1..=3, then commits 4 and 5 of one event each.
async fn three_commits(store: &SqliteStore) {
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

async fn event(store: &SqliteStore, seq: i64) -> Event {
    let q = EventQuery { after_seq: Some(seq - 1), limit: 1, ..Default::default() };
    store.events(&q).await.expect("events").remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampering_with_a_commit_seq_is_detected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("railyard.db");
    let store = open(&path);
    three_commits(&store).await;
    let raw = rusqlite::Connection::open(&path).expect("raw connection");
    raw.busy_timeout(std::time::Duration::from_secs(5)).expect("busy timeout");

    // Splitting commit 1: event 2 claims to open its own commit. Plausible, but not what was hashed.
    assert_eq!(raw.execute("UPDATE events SET commit_seq = 2 WHERE seq = 2", []).expect("tamper"), 1);
    let broken = verify_chain(&store).await.expect("verify").first_broken.expect("the edit must be detected");
    assert_eq!(broken.seq, 2, "verify_chain must point at the edited event: {broken:?}");
    assert!(broken.reason.contains("does not match its hash"), "the hash exposes it: {broken:?}");
    raw.execute("UPDATE events SET commit_seq = 1 WHERE seq = 2", []).expect("undo");
    assert_eq!(verify_chain(&store).await.expect("verify").first_broken, None, "undone");

    // The last event moved into commit 3, which is no commit, with its hash recomputed to match: only
    // the commit id check can tell.
    let forged = Event { commit_seq: 3, ..event(&store, 5).await }.content_hash();
    let changed = raw
        .execute("UPDATE events SET commit_seq = 3, hash = ?1 WHERE seq = 5", [&forged])
        .expect("tamper with a recomputed hash");
    assert_eq!(changed, 1);
    let broken = verify_chain(&store).await.expect("verify").first_broken.expect("the edit must be detected");
    assert_eq!(broken.seq, 5, "verify_chain must point at the edited event: {broken:?}");
    assert!(broken.reason.contains("commit id"), "the commit id check exposes it: {broken:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_file_reserve_disjoint_blocks() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("railyard.db");
    let stores = [std::sync::Arc::new(open(&path)), std::sync::Arc::new(open(&path))];
    let mut tasks = Vec::new();
    for store in &stores {
        for w in 0..4u32 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut blocks = Vec::new();
                for i in 0..10u32 {
                    let count = if (w + i) % 2 == 0 { 1 } else { 50 };
                    let first =
                        if count == 1 { store.next_seq("WI").await } else { store.reserve_seqs("WI", 50).await };
                    blocks.push((first.expect("counter call"), count));
                }
                blocks
            }));
        }
    }
    let mut blocks = Vec::new();
    for t in tasks {
        blocks.extend(t.await.expect("task"));
    }
    assert_blocks_partition(&blocks, 2 * 4 * (5 + 5 * 50));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durability_settings_are_wal_and_full() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("railyard.db");
    let store = open(&path);
    let settings = store.settings().await.expect("settings");
    assert_eq!(settings.journal_mode.to_lowercase(), "wal");
    assert_eq!(settings.synchronous, "FULL");
    // WAL is a property of the file: a plain connection sees it too.
    let raw = rusqlite::Connection::open(&path).expect("raw connection");
    let mode: String = raw.query_row("PRAGMA journal_mode", [], |r| r.get(0)).expect("pragma");
    assert_eq!(mode.to_lowercase(), "wal");
    let applied: i64 = raw.query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0)).expect("migrations");
    assert_eq!(applied, 2, "each of the two migrations is recorded once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_are_not_reapplied_on_reopen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("railyard.db");
    drop(open(&path));
    let store = open(&path);
    assert!(store.list(&ListQuery::new("train", 10)).await.expect("list").is_empty());
    drop(store);
    let raw = rusqlite::Connection::open(&path).expect("raw connection");
    let applied: i64 = raw.query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0)).expect("migrations");
    assert_eq!(applied, 2, "two migrations, each applied once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_store_stops_the_writer_and_answers_queued_requests() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("railyard.db");
    let store = std::sync::Arc::new(open(&path));
    let mut tasks = Vec::new();
    for i in 0..50 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move { store.commit(insert(&record("train", &format!("RT-{i}"), i))).await }));
    }
    for t in tasks {
        t.await.expect("task").expect("commit");
    }
    // The last Arc goes here: Drop joins the writer thread, so the file is closed when this returns.
    drop(store);
    let store = open(&path);
    let q = EventQuery { limit: 1000, ..Default::default() };
    assert_eq!(store.events(&q).await.expect("events").len(), 50, "every acknowledged commit is on disk");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_file_build_one_chain() {
    // Like two processes on one file: each writer re-reads the chain head inside its IMMEDIATE
    // transaction, so their batches interleave without forking the chain.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("railyard.db");
    let stores = [std::sync::Arc::new(open(&path)), std::sync::Arc::new(open(&path))];
    let mut tasks = Vec::new();
    for (s, store) in stores.iter().enumerate() {
        for w in 0..4 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..25 {
                    let r = record("load", &format!("S{s}-{w}-{i}"), (s * 1000 + w * 100 + i) as i64);
                    store.commit(insert(&r)).await.expect("commit");
                }
            }));
        }
    }
    for t in tasks {
        t.await.expect("task");
    }
    for store in &stores {
        let report = verify_chain(store.as_ref()).await.expect("verify");
        assert_eq!((report.events_checked, report.first_broken), (200, None));
    }
}

#[test]
fn an_in_memory_database_is_refused() {
    assert!(SqliteStore::open(Path::new(":memory:")).is_err());
}

/// The mode bits of a file (or directory).
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

#[tokio::test]
async fn the_database_and_its_wal_and_shm_files_are_private_to_the_servers_user() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("data/railyard.db");
    let store = open(&path);
    store.commit(insert(&record("train", "RT-1", 1))).await.expect("commit");
    let wal = dir.path().join("data/railyard.db-wal");
    let shm = dir.path().join("data/railyard.db-shm");
    let modes = [mode(&path), mode(&wal), mode(&shm), mode(&dir.path().join("data"))];
    assert_eq!(modes, [0o600, 0o600, 0o600, 0o700], "db, -wal, -shm, its new directory");
    drop(store);

    // A database left readable by others (made by an older version, or copied) is narrowed at open.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let store = open(&path);
    assert_eq!(mode(&path), 0o600);
    drop(store);
}

/// A database made by the first schema, with records and events: opening it applies the second
/// migration, which starts the stored head from the newest event and lists every record in one
/// baseline event, so the cross-check holds from the upgrade on (and still catches a later edit).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgraded_database_gets_a_stored_head_and_a_baseline_listing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("railyard.db");
    let raw = rusqlite::Connection::open(&path).expect("raw connection");
    raw.execute_batch(include_str!("../migrations/0001_init.sql")).expect("the first schema");
    raw.execute_batch(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL);
         INSERT INTO schema_migrations VALUES (1, '0001_init', '2026-01-01T00:00:00.000000Z');
         INSERT INTO records (id, kind, seq, version, state, created_at, updated_at, doc)
         VALUES ('RT-1', 'train', 1, 2, 'scoping', '2026-01-01T00:00:00.000000Z', '2026-01-02T00:00:00.000000Z', '{}'),
                ('AP-1', 'approval', 1, 1, 'pending', '2026-01-02T00:00:00.000000Z', '2026-01-02T00:00:00.000000Z', '{}');",
    )
    .expect("old records");
    let mut prev = railyard_store::GENESIS_HASH.to_string();
    for (seq, action) in [(1, "create"), (2, "submit")] {
        let at = railyard_store::parse_time("2026-01-02T00:00:00.000000Z").expect("time");
        let hash = event_hash(seq, seq, &at, "rita", "train", "RT-1", action, "{}", &prev, "");
        raw.execute(
            "INSERT INTO events (seq, commit_seq, at, actor, object_kind, object_id, action, data, prev_hash, hash)
             VALUES (?1, ?1, '2026-01-02T00:00:00.000000Z', 'rita', 'train', 'RT-1', ?2, '{}', ?3, ?4)",
            rusqlite::params![seq, action, prev, hash],
        )
        .expect("old event");
        prev = hash;
    }
    drop(raw);

    let store = open(&path);
    let exact = |_: &str| RecordRule::Exact;
    let report = verify_audit(&store, None, &exact).await.expect("verify_audit");
    assert!(report.intact(), "the upgraded database verifies: {report:?}");
    assert_eq!((report.chain.events_checked, report.records.records_checked), (3, 2));
    let events = store.events(&EventQuery { limit: 10, ..Default::default() }).await.expect("events");
    let baseline = &events[2];
    assert_eq!((baseline.seq, baseline.action.as_str(), baseline.actor.as_str()), (3, "baseline", "system"));
    assert!(baseline.writes.contains("\"RT-1\"") && baseline.writes.contains("\"AP-1\""), "{}", baseline.writes);
    let head = store.chain_head().await.expect("chain_head").expect("a stored head");
    assert_eq!((head.seq, head.hash.as_str()), (3, baseline.hash.as_str()));

    let raw = rusqlite::Connection::open(&path).expect("raw connection");
    raw.execute("UPDATE records SET state = 'closed' WHERE id = 'RT-1'", []).expect("tamper");
    let report = verify_audit(&store, None, &exact).await.expect("verify_audit");
    let first = report.records.first.expect("an edit after the upgrade is named");
    assert_eq!((first.kind.as_str(), first.id.as_str()), ("train", "RT-1"));
    // Reopening applies nothing again: no second baseline.
    drop(store);
    let store = open(&path);
    assert_eq!(store.head_seq().await.expect("head_seq"), 3);
}
