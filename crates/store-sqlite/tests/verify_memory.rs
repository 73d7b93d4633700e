//! Verifying the audit log of a large SQLite database holds a bounded amount of memory (a binary of its
//! own: it counts every allocation of the process).

use railyard_store::conformance::memory::{Counting, verifying_holds_bounded_memory};
use railyard_store_sqlite::SqliteStore;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// 100,000 records; at 300 bytes a record, holding them all would take about 29 MB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verifying_100_000_records_holds_less_than_10_mb() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("railyard.db")).expect("open a new SQLite store");
    verifying_holds_bounded_memory(&store, 100_000, 10 << 20).await;
}
