//! Verifying the audit log of a large PostgreSQL database holds a bounded amount of memory (a binary of
//! its own: it counts every allocation of the process).

use railyard_store::conformance::memory::{Counting, verifying_holds_bounded_memory};
use railyard_store_postgres::PostgresStore;
use railyard_store_postgres::testing::fresh_database;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// 100,000 records; at 300 bytes a record, holding them all would take about 29 MB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verifying_100_000_records_holds_less_than_10_mb() {
    let url = fresh_database().await;
    let store = PostgresStore::connect(&url).await.expect("connect to a fresh test database");
    verifying_holds_bounded_memory(&store, 100_000, 10 << 20).await;
}
