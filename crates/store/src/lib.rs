//! Railyard's persistence boundary.
//!
//! Every aggregate (train, approval, user, token, and later application releases, turnovers, ...) is one
//! [`Record`]: a row with a few indexed columns (`kind`, `id`, `state`, `parent_id`, `category`,
//! `unique_key`) and the rest as a JSON document, plus a `version` for optimistic concurrency.
//! Changes are written with [`Store::commit`]: every write and every audit [`NewEvent`] of one use case in
//! one transaction (rule R17). All events of one commit share a `commit_seq` (the `seq` of its first
//! event), so the audit log shows one change made of several events. Events form a SHA-256 hash chain
//! ([`event_hash`]) so that an edit to a past event is detectable ([`verify_chain`]).
//!
//! # What the audit log can prove
//!
//! * **The chain head** ([`ChainHead`]) is kept in its own row, moved in the same transaction as every
//!   commit, and the next event is appended after it. Deleting the newest events therefore leaves the
//!   chain short of its stored head ([`verify_chain`] names the missing events), and later commits do not
//!   paper over the gap.
//! * **The records** are listed on the first event of the commit that wrote them ([`Event::writes`]:
//!   version, state and a content digest; a deletion marked so), inside the hash. [`verify_audit`]
//!   cross-checks every stored record against its newest listing: an edit, insert or delete made in
//!   the database without an event is named, and so are records left ahead of a log whose newest events
//!   were deleted. It holds a bounded number of listings ([`LISTINGS_PER_PASS`]) whatever the size of
//!   the database, checking the records in passes over ranges of `(kind, id)`.
//! * **What it cannot prove alone**: someone with write access to the database who deletes the newest
//!   events, the records they wrote *and* moves the head row back leaves a consistent older database.
//!   Only a head kept outside the database tells: print it ([`Store::chain_head`], `railyard audit head`),
//!   keep it elsewhere, and check it later ([`verify_chain_expecting`], `railyard audit verify --expect`).
//!   The chain proves nothing about events or records older than a witnessed head that were rewritten
//!   with every hash recomputed up to the present, except through that witness.
//!
//! Two backends implement [`Store`]: `railyard-store-sqlite` and `railyard-store-postgres`. Both pass the
//! same conformance suite ([`conformance`], feature `conformance`).

mod chain;
#[cfg(feature = "conformance")]
pub mod conformance;
mod crosscheck;
mod types;

pub use chain::{
    BrokenLink, ChainReport, GENESIS_HASH, event_hash, record_digest, verify_chain, verify_chain_expecting,
};
pub use crosscheck::{
    AuditReport, AuditRun, LISTINGS_PER_PASS, RecordMismatch, RecordReport, RecordRule, verify_audit, verify_audit_run,
};
pub use types::*;

use async_trait::async_trait;

/// Errors of the storage layer. Backends map their driver errors onto these.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The record was changed since it was read (or, for an insert, already exists: then `expected` is 0
    /// and `found` the stored version; for an update of a missing record `found` is `None`).
    #[error("{kind} {id} was changed by someone else: expected version {expected}, found {}", found.map(|v| v.to_string()).unwrap_or_else(|| "none".into()))]
    Conflict { kind: String, id: String, expected: i64, found: Option<i64> },
    /// Another record of the same kind already holds this unique key.
    #[error("a {kind} with key '{key}' already exists")]
    DuplicateKey { kind: String, key: String },
    /// The database cannot be reached or refused the connection.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Any other database failure.
    #[error("database error: {0}")]
    Backend(String),
    /// Stored data could not be read back (bad timestamp, bad JSON, ...).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Checks the `count` of [`Store::reserve_seqs`] and returns it as the `i64` the databases add: a block
/// of no numbers is a caller's bug, refused alike by every backend before it reaches the database.
pub fn check_seq_count(counter: &str, count: u32) -> StoreResult<i64> {
    if count == 0 {
        return Err(StoreError::Backend(format!("reserve_seqs({counter}, 0): a block must hold at least one number")));
    }
    Ok(i64::from(count))
}

/// What the store lists on a commit's first event for a record it wrote with `version`.
pub fn written_record(r: &Record, version: i64) -> WrittenRecord {
    WrittenRecord {
        kind: r.kind.clone(),
        id: r.id.clone(),
        version,
        state: r.state.clone(),
        digest: record_digest(r),
        deleted: false,
    }
}

/// What the store lists for a record a commit deleted: the record as it was, marked deleted.
pub fn deleted_record(r: &Record) -> WrittenRecord {
    WrittenRecord { deleted: true, ..written_record(r, r.version) }
}

/// The text of [`Event::writes`] for a commit's written records (empty when it wrote none).
pub fn writes_text(written: &[WrittenRecord]) -> StoreResult<String> {
    if written.is_empty() {
        return Ok(String::new());
    }
    serde_json::to_string(written).map_err(|e| StoreError::Backend(format!("cannot list the written records: {e}")))
}

/// The event a migration appends when it upgrades a database whose records predate [`Event::writes`]:
/// it lists every record as it is at the upgrade, so the cross-check has something to compare with. It
/// vouches for the records as they were found; changes before it are covered by the chain only.
pub fn baseline_event(records: usize, at: chrono::DateTime<chrono::Utc>) -> NewEvent {
    NewEvent {
        at,
        actor: "system".into(),
        object_kind: "audit".into(),
        object_id: "records".into(),
        action: "baseline".into(),
        data: serde_json::json!({
            "records": records,
            "note": "from here on the audit log lists the records each change writes; this lists them as found at the upgrade"
        })
        .to_string(),
    }
}

/// The one storage trait. Implementations must be safe to share between tasks.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Which backend this is ("sqlite" or "postgres"), for logs and `/readyz`.
    fn backend(&self) -> &'static str;

    /// Checks that the database answers.
    async fn ping(&self) -> StoreResult<()>;

    /// Allocates the next number of a counter (e.g. "RT" for trains), starting at 1. Numbers are never
    /// handed out twice, even across servers sharing one database; a number whose commit failed is lost.
    async fn next_seq(&self, counter: &str) -> StoreResult<i64>;

    /// Reserves `count` consecutive numbers of a counter in one round trip and returns the first: the
    /// block is `[first, first + count)`. The block never overlaps a number handed out by [`next_seq`]
    /// or another `reserve_seqs`, even across servers sharing one database; numbers of a block that ends
    /// up unused are lost, like those of a failed commit. A `count` of 0 is refused with
    /// [`StoreError::Backend`] (see [`check_seq_count`]).
    ///
    /// [`next_seq`]: Store::next_seq
    async fn reserve_seqs(&self, counter: &str, count: u32) -> StoreResult<i64>;

    /// One record by kind and id.
    async fn get(&self, kind: &str, id: &str) -> StoreResult<Option<Record>>;

    /// One record by kind and unique key.
    async fn get_by_key(&self, kind: &str, unique_key: &str) -> StoreResult<Option<Record>>;

    /// Records of one kind, filtered, ordered by `seq` ascending (descending with
    /// [`ListQuery::newest_first`]), at most `limit`.
    async fn list(&self, query: &ListQuery) -> StoreResult<Vec<Record>>;

    /// Applies every write and appends every event in one transaction: all or nothing.
    /// An insert of an existing id, or an update whose `expected_version` is not the stored version,
    /// fails the whole commit with [`StoreError::Conflict`]; a taken unique key with
    /// [`StoreError::DuplicateKey`]. Once this returns `Ok`, the commit is durable.
    ///
    /// A commit that writes records and has events lists the records, with the versions the writes gave
    /// them (and those it deleted, marked so), on its first event ([`Event::writes`]), and moves the
    /// stored [`ChainHead`]. A delete of a record not at `expected_version` (or missing) fails like a
    /// stale update, with [`StoreError::Conflict`]. A commit without
    /// events (operational state such as a lease) lists nothing: the cross-check's [`RecordRule`] says
    /// which kinds may be written so.
    async fn commit(&self, commit: Commit) -> StoreResult<CommitReceipt>;

    /// Audit events, filtered, ordered by `seq` ascending, at most `limit`.
    async fn events(&self, query: &EventQuery) -> StoreResult<Vec<Event>>;

    /// The `seq` of the newest committed event (0 before the first), from the stored chain head. Every state change commits at least
    /// one event, and events are appended in commit order, so this moves on with every change: a cheap
    /// stamp for knowing whether something read earlier is still current, even across servers sharing
    /// one database.
    async fn head_seq(&self) -> StoreResult<i64>;

    /// The stored chain head ([`ChainHead`]); `None` when its row is missing (every migrated database
    /// has one, so only an edit outside Railyard removes it).
    async fn chain_head(&self) -> StoreResult<Option<ChainHead>>;

    /// Every record of every kind, in `(kind, id)` order compared bytewise (as Rust compares strings,
    /// whatever the database's collation), a page at a time (for the audit cross-check).
    async fn scan_records(&self, scan: &RecordScan) -> StoreResult<Vec<Record>>;
}
