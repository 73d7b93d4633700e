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
//! Memory is bounded, whatever the size of the database: the records are checked in passes over
//! ranges of `(kind, id)`, each holding the listings of at most [`LISTINGS_PER_PASS`] records (about
//! 300 bytes each); the range of a pass ends where its listings would overflow, and the next pass
//! starts there. The first pass verifies the chain; each later one walks the events again up to the
//! same event, checking every hash again (so every pass sees the log the first one verified), and
//! collects only its range's listings. A database whose records fit in one pass is read once.

use std::collections::{BTreeMap, HashMap};

use crate::chain::{apply_witness, rewalk, walk};
use crate::{
    ChainHead, ChainReport, Event, EventQuery, Record, RecordScan, Store, StoreResult, WrittenRecord, format_time,
    record_digest,
};

/// The most listings of records one pass of the cross-check holds.
pub const LISTINGS_PER_PASS: usize = 10_000;

/// Records that do not match the walk, settled (read again) this many at a time.
const SUSPECTS_PER_SETTLE: usize = 1000;

/// Records read at a time.
const RECORDS_PER_PAGE: u32 = 500;

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
    /// How many passes over the log the check took (see the module's doc).
    pub passes: u32,
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

/// One verification, before it is checked against a witnessed head: [`AuditRun::expecting`] gives the
/// report for one (several callers with different witnesses can share one run).
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRun {
    pub chain: ChainReport,
    pub records: RecordReport,
    /// The seqs the run was asked to witness, with the hash of the event found there.
    witnessed: BTreeMap<i64, Option<String>>,
}

impl AuditRun {
    /// Whether the run was asked to witness event `seq` (so [`AuditRun::expecting`] can check a head
    /// there).
    pub fn has_witness(&self, seq: i64) -> bool {
        self.witnessed.contains_key(&seq)
    }

    /// The report, with `expect` (a head witnessed earlier) checked too. `expect.seq` must be among the
    /// seqs the run was asked to witness; another one is reported as not found.
    pub fn expecting(&self, expect: Option<&ChainHead>) -> AuditReport {
        let mut chain = self.chain.clone();
        if let Some(w) = expect {
            apply_witness(&mut chain, w, self.witnessed.get(&w.seq).and_then(|h| h.as_deref()));
        }
        AuditReport { chain, records: self.records.clone() }
    }
}

/// The newest listing of one record in the log.
#[derive(Debug, Clone)]
struct Listed {
    commit_seq: i64,
    version: i64,
    state: Option<String>,
    digest: String,
    deleted: bool,
}

impl Listed {
    fn of(commit_seq: i64, w: WrittenRecord) -> Self {
        Listed { commit_seq, version: w.version, state: w.state, digest: w.digest, deleted: w.deleted }
    }
}

type Key = (String, String);

/// The listings of one pass: the records in `(lo, hi]` (`None`: unbounded). When they overflow, the
/// range ends before the highest listed key.
struct Collector {
    lo: Option<Key>,
    hi: Option<Key>,
    cap: usize,
    listed: BTreeMap<Key, Listed>,
}

impl Collector {
    fn new(lo: Option<Key>, cap: usize) -> Self {
        Collector { lo, hi: None, cap: cap.max(1), listed: BTreeMap::new() }
    }

    fn visit(&mut self, e: &Event) -> Option<String> {
        if e.writes.is_empty() {
            return None;
        }
        let writes = match serde_json::from_str::<Vec<WrittenRecord>>(&e.writes) {
            Ok(w) => w,
            Err(err) => return Some(format!("its list of written records cannot be read: {err}")),
        };
        for w in writes {
            let key = (w.kind.clone(), w.id.clone());
            if self.lo.as_ref().is_some_and(|lo| key <= *lo) || self.hi.as_ref().is_some_and(|hi| key > *hi) {
                continue;
            }
            self.listed.insert(key, Listed::of(e.commit_seq, w));
            if self.listed.len() > self.cap {
                self.listed.pop_last();
                self.hi = self.listed.last_key_value().map(|(k, _)| k.clone());
            }
        }
        None
    }
}

/// Verifies the chain ([`crate::verify_chain_expecting`]) and cross-checks every record against it;
/// `rule` says how each kind relates to the log.
pub async fn verify_audit(
    store: &dyn Store,
    expect: Option<&ChainHead>,
    rule: &(dyn Fn(&str) -> RecordRule + Sync),
) -> StoreResult<AuditReport> {
    let seqs: Vec<i64> = expect.map(|w| w.seq).into_iter().collect();
    Ok(verify_audit_run(store, &seqs, rule, LISTINGS_PER_PASS).await?.expecting(expect))
}

/// [`verify_audit`] for several witnessed heads at once (their seqs), holding at most `per_pass`
/// listings at a time.
pub async fn verify_audit_run(
    store: &dyn Store,
    witness_seqs: &[i64],
    rule: &(dyn Fn(&str) -> RecordRule + Sync),
    per_pass: usize,
) -> StoreResult<AuditRun> {
    let mut records = RecordReport { records_checked: 0, mismatches: 0, first: None, passes: 1 };
    let mut collector = Collector::new(None, per_pass);
    let (mut chain, mut found) = walk(store, witness_seqs, &mut |e| collector.visit(e)).await?;
    let witnessed = witness_seqs.iter().map(|seq| (*seq, found.remove(seq))).collect();
    loop {
        let (lo, hi) = (collector.lo.take(), collector.hi.take());
        let listed = std::mem::take(&mut collector.listed);
        check_range(store, lo.as_ref(), hi.as_ref(), listed, chain.last_seq, rule, &mut records).await?;
        let Some(hi) = hi else { break };
        records.passes += 1;
        collector = Collector::new(Some(hi), per_pass);
        let changed = rewalk(store, chain.last_seq, &chain.head_hash, &mut |e| {
            collector.visit(e);
        })
        .await?;
        // A log already found broken is walked on (its records are still checked); one that was whole
        // and changed since cannot be checked against.
        if let Some(problem) = changed
            && chain.first_broken.is_none()
        {
            chain.first_broken = Some(problem);
            break;
        }
    }
    Ok(AuditRun { chain, records, witnessed })
}

/// Compares every record in `(lo, hi]` with its listing, and reports what is listed but not stored.
#[allow(clippy::too_many_arguments)]
async fn check_range(
    store: &dyn Store,
    lo: Option<&Key>,
    hi: Option<&Key>,
    mut listed: BTreeMap<Key, Listed>,
    walked: i64,
    rule: &(dyn Fn(&str) -> RecordRule + Sync),
    report: &mut RecordReport,
) -> StoreResult<()> {
    // Records that do not match the walk: checked again below before they are reported.
    let mut suspects: Vec<Suspect> = Vec::new();
    let mut scan = RecordScan { after: lo.cloned(), limit: RECORDS_PER_PAGE };
    'pages: loop {
        let page = store.scan_records(&scan).await?;
        let Some(last) = page.last() else { break };
        scan.after = Some((last.kind.clone(), last.id.clone()));
        let full = page.len() >= scan.limit as usize;
        for r in page {
            let key = (r.kind.clone(), r.id.clone());
            if hi.is_some_and(|hi| key > *hi) {
                break 'pages;
            }
            report.records_checked += 1;
            let entry = listed.remove(&key);
            if compare(&r, entry.as_ref(), rule(&r.kind)).is_some() {
                suspects.push(Suspect { key, history: entry.into_iter().collect() });
                if suspects.len() >= SUSPECTS_PER_SETTLE {
                    settle_into(store, std::mem::take(&mut suspects), walked, rule, report).await?;
                }
            }
        }
        if !full {
            break;
        }
    }
    // What is still listed was not found in the table: fine when the listing deleted it.
    for (key, l) in listed.into_iter().filter(|(_, l)| !l.deleted) {
        suspects.push(Suspect { key, history: vec![l] });
        if suspects.len() >= SUSPECTS_PER_SETTLE {
            settle_into(store, std::mem::take(&mut suspects), walked, rule, report).await?;
        }
    }
    settle_into(store, suspects, walked, rule, report).await
}

async fn settle_into(
    store: &dyn Store,
    suspects: Vec<Suspect>,
    walked: i64,
    rule: &(dyn Fn(&str) -> RecordRule + Sync),
    report: &mut RecordReport,
) -> StoreResult<()> {
    for m in settle(store, suspects, walked, rule).await? {
        note(report, m);
    }
    Ok(())
}

/// A record that did not match the walk, with its listings known so far (oldest first).
struct Suspect {
    key: (String, String),
    history: Vec<Listed>,
}

/// The server keeps working while the log is verified: a change committed after the walk read the
/// chain but before the scan read its records makes them look ahead of the log. So each suspect is
/// read again, and only then are the events appended since the walk read: every change that wrote
/// what was read is among them. A record is explained by the listing of the version it has (or, for
/// housekeeping kinds, the newest listing not past it); what is not explained is reported.
async fn settle(
    store: &dyn Store,
    mut suspects: Vec<Suspect>,
    walked: i64,
    rule: &(dyn Fn(&str) -> RecordRule + Sync),
) -> StoreResult<Vec<RecordMismatch>> {
    if suspects.is_empty() {
        return Ok(Vec::new());
    }
    let mut records = Vec::with_capacity(suspects.len());
    for s in &suspects {
        records.push(store.get(&s.key.0, &s.key.1).await?);
    }
    let index: HashMap<(String, String), usize> =
        suspects.iter().enumerate().map(|(i, s)| (s.key.clone(), i)).collect();
    let mut after = walked;
    loop {
        let page = store.events(&EventQuery { after_seq: Some(after), limit: 1000, ..Default::default() }).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for e in page.iter().filter(|e| !e.writes.is_empty()) {
            let Ok(writes) = serde_json::from_str::<Vec<WrittenRecord>>(&e.writes) else { continue };
            for w in writes {
                if let Some(i) = index.get(&(w.kind.clone(), w.id.clone())) {
                    suspects[*i].history.push(Listed::of(e.commit_seq, w));
                }
            }
        }
    }
    let mut out = Vec::new();
    for (s, record) in suspects.iter().zip(&records) {
        match record {
            Some(r) => out.extend(compare(r, pick(&s.history, r.version), rule(&r.kind))),
            None => out
                .extend(s.history.last().filter(|l| !l.deleted).map(|l| missing(s.key.0.clone(), s.key.1.clone(), l))),
        }
    }
    Ok(out)
}

/// The listing that wrote `version` (the newest such, a deletion last), else the newest one before it,
/// else the newest one.
fn pick(history: &[Listed], version: i64) -> Option<&Listed> {
    history.iter().filter(|l| l.version <= version).max_by_key(|l| (l.version, !l.deleted)).or_else(|| history.last())
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
        return mismatch(
            said(""),
            "no change in the log wrote it: it was written outside Railyard, or the events that wrote it were deleted"
                .into(),
        );
    };
    if l.deleted {
        return mismatch(
            said(""),
            format!(
                "the change at event {} deleted it at version {}: it was put back outside Railyard",
                l.commit_seq, l.version
            ),
        );
    }
    let state = |s: &Option<String>| s.clone().unwrap_or_else(|| "none".into());
    if r.version < l.version || (rule == RecordRule::Exact && r.version != l.version) {
        let why = if r.version < l.version {
            "the record went back"
        } else {
            "it was changed without an event, or the events that changed it were deleted"
        };
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
