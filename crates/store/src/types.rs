use chrono::{DateTime, SecondsFormat, Utc};

/// One aggregate as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The aggregate's kind: "train", "approval", "user", "token", ...
    pub kind: String,
    /// Its id, unique within its kind ("RT-7", "AP-3", "alice"): a user and an environment may share a name.
    pub id: String,
    /// Its number within its kind, for ordering and cursors.
    pub seq: i64,
    /// 1 after insert, +1 on every update. Set by the store: the value given to `commit` is ignored.
    pub version: i64,
    pub state: Option<String>,
    pub parent_id: Option<String>,
    /// A second filterable attribute (a train's release type, an environment's kind, ...).
    pub category: Option<String>,
    /// Unique within the kind when present (a user's name, a token's hash, ...).
    pub unique_key: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The rest of the aggregate, as JSON text.
    pub doc: String,
}

/// One write of a [`Commit`].
#[derive(Debug, Clone)]
pub enum Write {
    /// Inserts a new record; it is stored with version 1.
    Insert(Record),
    /// Replaces a record whose stored version is `expected_version`; it is stored with `expected_version + 1`.
    /// The record is matched by `kind` and `id`; its `seq` and `created_at` are fixed at insert and the
    /// values given here are ignored.
    Update { record: Record, expected_version: i64 },
    /// Deletes a record whose stored version is `expected_version` (housekeeping, such as purging ended
    /// sessions). The commit's listing names it as deleted ([`WrittenRecord::deleted`]), with the digest
    /// of what was deleted, so the cross-check expects it gone.
    Delete { kind: String, id: String, expected_version: i64 },
}

impl Write {
    /// The kind and id of the record written.
    pub fn key(&self) -> (&str, &str) {
        match self {
            Write::Insert(r) | Write::Update { record: r, .. } => (r.kind.as_str(), r.id.as_str()),
            Write::Delete { kind, id, .. } => (kind.as_str(), id.as_str()),
        }
    }
}

/// An audit event before it is stored: the store gives it its `seq`, `commit_seq` and hashes.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub at: DateTime<Utc>,
    /// Who did it: a user name, or "system".
    pub actor: String,
    pub object_kind: String,
    pub object_id: String,
    /// The action, snake_case ("create", "submit", "approve", ...).
    pub action: String,
    /// What changed, as JSON text.
    pub data: String,
}

/// A stored audit event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub seq: i64,
    /// The commit the event was written by: the `seq` of that commit's first event. Every event of one
    /// [`Commit`] has the same `commit_seq`, so the first one has `commit_seq == seq`. Set by the store.
    pub commit_seq: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub object_kind: String,
    pub object_id: String,
    pub action: String,
    pub data: String,
    pub prev_hash: String,
    pub hash: String,
    /// The records its commit wrote, as the store recorded them: a JSON array of [`WrittenRecord`] on
    /// the first event of a commit that wrote records, empty otherwise. Part of the hash, so the audit
    /// log vouches for the version and content of every record a change wrote ([`crate::verify_audit`]).
    pub writes: String,
}

/// One record as a commit wrote it, listed on the commit's first event ([`Event::writes`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WrittenRecord {
    pub kind: String,
    pub id: String,
    /// The version the write gave it.
    pub version: i64,
    pub state: Option<String>,
    /// [`crate::record_digest`] of the record as written (as it was, when deleted).
    pub digest: String,
    /// The commit deleted it (`version` is the version deleted). Absent from listings that did not.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

/// The newest event of the chain, as the store keeps it in its own row (`chain_head`), moved in the
/// same transaction as every commit that appends events. The next event is appended after it: deleting
/// the newest events leaves a gap below the stored head instead of a shorter chain that looks whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    /// 0 before the first event.
    pub seq: i64,
    /// [`crate::GENESIS_HASH`] before the first event.
    pub hash: String,
}

/// A page of every record, in `(kind, id)` order, compared bytewise (for the audit cross-check).
#[derive(Debug, Clone, Default)]
pub struct RecordScan {
    /// Only records after this `(kind, id)` (the cursor).
    pub after: Option<(String, String)>,
    pub limit: u32,
}

/// Everything one use case writes, applied atomically.
#[derive(Debug, Clone, Default)]
pub struct Commit {
    pub writes: Vec<Write>,
    pub events: Vec<NewEvent>,
}

/// What a successful commit stored.
#[derive(Debug, Clone, PartialEq)]
pub struct CommitReceipt {
    /// The stored events, in order, with their sequence numbers, commit id and hashes.
    pub events: Vec<Event>,
}

#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub kind: String,
    /// Any of these states (empty: any state).
    pub states: Vec<String>,
    pub parent_id: Option<String>,
    pub category: Option<String>,
    /// Only records with `seq` greater than this (the cursor, oldest first).
    pub after_seq: Option<i64>,
    /// Only records with `seq` less than this (the cursor, newest first).
    pub before_seq: Option<i64>,
    /// Only records whose `updated_at` is at or after this time (every write of a record stamps it).
    pub updated_since: Option<DateTime<Utc>>,
    /// Ordered by `seq` descending instead of ascending: the newest records first, so that a caller
    /// looking for the latest few reads a page, not the whole history.
    pub newest_first: bool,
    pub limit: u32,
}

impl ListQuery {
    pub fn new(kind: &str, limit: u32) -> Self {
        ListQuery { kind: kind.to_string(), limit, ..Default::default() }
    }
}

#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    pub object_kind: Option<String>,
    pub object_id: Option<String>,
    pub actor: Option<String>,
    /// At or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Before this time.
    pub to: Option<DateTime<Utc>>,
    /// Only events with `seq` greater than this (the cursor).
    pub after_seq: Option<i64>,
    /// Only events of this commit (their [`Event::commit_seq`]).
    pub commit_seq: Option<i64>,
    pub limit: u32,
}

/// The one text form of a timestamp in both databases: RFC 3339, UTC, microseconds, `Z`.
/// Fixed width, so text order is time order, and the hash chain hashes exactly what is stored.
pub fn format_time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Parses a stored timestamp written by [`format_time`].
pub fn parse_time(s: &str) -> Result<DateTime<Utc>, crate::StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| crate::StoreError::Corrupt(format!("bad timestamp '{s}': {e}")))
}

/// Truncates a timestamp to the microseconds the store keeps, so a value survives a round trip unchanged.
pub fn to_stored_precision(t: DateTime<Utc>) -> DateTime<Utc> {
    parse_time(&format_time(&t)).unwrap_or(t)
}
