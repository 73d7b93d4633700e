//! The audit cross-check: every stored record must be what the audit log says the last change that
//! wrote it left.
//!
//! The first event of every commit that writes records lists them ([`Event::writes`]): kind, id, the
//! version the write gave, the state and a digest of the whole record ([`record_digest`]). That list is
//! part of the event's hash, so it is as tamper-evident as the rest of the chain. [`verify_audit`] walks
//! the chain once, keeps the newest listing of every record, then reads every record and compares.
//!
//! What this catches: a record edited in the database without an event (its content or version no
//! longer matches), a record inserted without an event (no change lists it), a record deleted (a change
//! lists it, the table lacks it), and the newest events deleted while the records they wrote stay (the
//! records are ahead of the log). What it cannot catch on its own: events deleted together with the
//! records they wrote *and* the chain head moved back: a consistent older database. Only a head kept
//! elsewhere tells that apart (`verify --expect`).
//!
//! Memory: one entry (about 200 bytes) per record, for the length of the check.

use std::collections::BTreeMap;

use crate::chain::walk;
use crate::{
    ChainHead, ChainReport, Event, Record, RecordScan, Store, StoreResult, WrittenRecord, format_time, record_digest,
};

/// How a kind of record relates to the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordRule {
    /// Every write is part of a change with events: the record is exactly what the newest change that
    /// listed it wrote (version and content).
    Exact,
    /// Also written without an event for operational state (a deployment's lease, renewed every few
    /// seconds): its version may be past the one its newest listed change gave, never behind it, and its
    /// state must be the one that change left; at the same version its content must match too.
    Housekeeping,
}

/// The first record that the audit log does not explain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMismatch {
    pub kind: String,
    pub id: String,
    /// What the stored record says.
    pub record: String,
    /// What the audit log says.
    pub events: String,
}

impl std::fmt::Display for RecordMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: the record says {}; the audit log says {}", self.kind, self.id, self.record, self.events)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordReport {
    pub records_checked: u64,
    /// How many records (stored or listed) do not match.
    pub mismatches: u64,
    /// The first, in `(kind, id)` order.
    pub first: Option<RecordMismatch>,
}

/// The chain and the records, checked together.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditReport {
    pub chain: ChainReport,
    pub records: RecordReport,
}

impl AuditReport {
    pub fn intact(&self) -> bool {
        self.chain.first_broken.is_none() && self.records.first.is_none()
    }
}

/// The newest listing of one record in the log.
struct Listed {
    commit_seq: i64,
    version: i64,
    state: Option<String>,
    digest: String,
}

/// Verifies the chain ([`crate::verify_chain_expecting`]) and cross-checks every record against it;
/// `rule` says how each kind relates to the log.
pub async fn verify_audit(
    store: &dyn Store,
    expect: Option<&ChainHead>,
    rule: &(dyn Fn(&str) -> RecordRule + Sync),
) -> StoreResult<AuditReport> {
    let mut listed: BTreeMap<(String, String), Listed> = BTreeMap::new();
    let mut visit = |e: &Event| -> Option<String> {
        if e.writes.is_empty() {
            return None;
        }
        match serde_json::from_str::<Vec<WrittenRecord>>(&e.writes) {
            Ok(writes) => {
                for w in writes {
                    let entry =
                        Listed { commit_seq: e.commit_seq, version: w.version, state: w.state, digest: w.digest };
                    listed.insert((w.kind, w.id), entry);
                }
                None
            }
            Err(err) => Some(format!("its list of written records cannot be read: {err}")),
        }
    };
    let chain = walk(store, expect, &mut visit).await?;

    let mut report = RecordReport { records_checked: 0, mismatches: 0, first: None };
    let mut scan = RecordScan { after: None, limit: 500 };
    loop {
        let page = store.scan_records(&scan).await?;
        let Some(last) = page.last() else { break };
        scan.after = Some((last.kind.clone(), last.id.clone()));
        let full = page.len() >= scan.limit as usize;
        for r in &page {
            report.records_checked += 1;
            let entry = listed.remove(&(r.kind.clone(), r.id.clone()));
            if let Some(m) = compare(r, entry.as_ref(), rule(&r.kind)) {
                note(&mut report, m);
            }
        }
        if !full {
            break;
        }
    }
    // What is still listed was not found in the table.
    for ((kind, id), l) in listed {
        note(&mut report, missing(kind, id, &l));
    }
    Ok(AuditReport { chain, records: report })
}

/// Counts a mismatch and keeps the first in `(kind, id)` order (bytewise, whatever order the database
/// pages in).
fn note(report: &mut RecordReport, m: RecordMismatch) {
    report.mismatches += 1;
    let earlier = report.first.as_ref().is_none_or(|f| (&m.kind, &m.id) < (&f.kind, &f.id));
    if earlier {
        report.first = Some(m);
    }
}

fn missing(kind: String, id: String, l: &Listed) -> RecordMismatch {
    RecordMismatch {
        kind,
        id,
        record: "nothing: there is no such record".into(),
        events: format!(
            "the change at event {} wrote version {}: the record was deleted outside Railyard",
            l.commit_seq, l.version
        ),
    }
}

fn compare(r: &Record, listed: Option<&Listed>, rule: RecordRule) -> Option<RecordMismatch> {
    let said = |extra: &str| format!("version {}, last changed {}{extra}", r.version, format_time(&r.updated_at));
    let mismatch = |record: String, events: String| {
        Some(RecordMismatch { kind: r.kind.clone(), id: r.id.clone(), record, events })
    };
    let Some(l) = listed else {
        return mismatch(said(""), "no change wrote it: it was written outside Railyard".into());
    };
    let state = |s: &Option<String>| s.clone().unwrap_or_else(|| "none".into());
    if r.version < l.version || (rule == RecordRule::Exact && r.version != l.version) {
        let why = if r.version < l.version { "the record went back" } else { "it was changed without an event" };
        return mismatch(said(""), format!("the change at event {} left version {}: {why}", l.commit_seq, l.version));
    }
    if r.state != l.state {
        return mismatch(
            said(&format!(", state {}", state(&r.state))),
            format!(
                "the change at event {} left state {}: it was changed without an event",
                l.commit_seq,
                state(&l.state)
            ),
        );
    }
    if r.version == l.version {
        let digest = record_digest(r);
        if digest != l.digest {
            return mismatch(
                said(&format!(", content digest {digest}")),
                format!(
                    "the change at event {} wrote version {} with content digest {}: it was edited without an event",
                    l.commit_seq, l.version, l.digest
                ),
            );
        }
    }
    None
}
