//! How much memory the audit cross-check holds, counted by an allocator the test binary installs
//! ([`Counting`]): verifying must hold a bounded number of records, whatever the database holds.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::{Commit, NewEvent, RecordRule, Store, Write, verify_audit};

use super::{at, ok_commit, record};

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// The system allocator, counting the bytes live and their peak. Install it in a test binary of its
/// own (`#[global_allocator] static A: Counting = Counting;`): every allocation of the process counts.
pub struct Counting;

// SAFETY: every call is passed to the system allocator unchanged; the counters are only arithmetic.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is the system allocator's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        p
    }
}

fn grew(size: usize) {
    let live = LIVE.fetch_add(size, Ordering::Relaxed) + size;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

/// Stores `records` records, `per_commit` to a commit (each with one event listing them).
pub async fn fill(store: &dyn Store, records: usize, per_commit: usize) {
    let mut n = 0;
    while n < records {
        let batch = per_commit.min(records - n);
        let writes = (n..n + batch)
            .map(|i| {
                let mut r = record("item", &format!("IT-{i:07}"), i as i64 + 1);
                r.doc = format!(r#"{{"n":{i}}}"#);
                Write::Insert(r)
            })
            .collect();
        let event = NewEvent {
            at: at(n as i64),
            actor: "loader".into(),
            object_kind: "item".into(),
            object_id: format!("IT-{n:07}"),
            action: "load".into(),
            data: "{}".into(),
        };
        ok_commit(store, Commit { writes, events: vec![event] }, "a batch of records").await;
        n += batch;
    }
}

/// The bytes allocated at the peak of verifying `store` (the whole audit log and every record), above
/// what was live before; with how many records it checked, whether the log was intact, and in how many passes.
pub async fn peak_bytes_of_verifying(store: &dyn Store) -> (usize, u64, bool, u32) {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let report = verify_audit(store, None, &|_| RecordRule::Exact).await.expect("verify_audit");
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(before);
    (peak, report.records.records_checked, report.intact(), report.records.passes)
}

/// The case: a database of `records` records; verifying it holds less than `bound_bytes` at its peak.
pub async fn verifying_holds_bounded_memory(store: &dyn Store, records: usize, bound_bytes: usize) {
    fill(store, records, 50).await;
    let (peak, checked, intact, passes) = peak_bytes_of_verifying(store).await;
    println!(
        "verifying {checked} records in {passes} passes: peak {:.1} MB above the start ({:.0} bytes a record)",
        peak as f64 / 1_048_576.0,
        peak as f64 / checked.max(1) as f64
    );
    assert!(intact, "the filled database must verify");
    assert_eq!(checked, records as u64, "every record is checked");
    assert!(
        peak < bound_bytes,
        "verifying {records} records held {:.1} MB at its peak; the bound is {:.1} MB",
        peak as f64 / 1_048_576.0,
        bound_bytes as f64 / 1_048_576.0
    );
}
