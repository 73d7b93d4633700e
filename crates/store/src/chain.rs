use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::{ChainHead, Event, EventQuery, Record, Store, StoreResult, format_time};

/// The `prev_hash` of the first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of one event: SHA-256 over its fields as stored, one per line (`seq`, `commit_seq`, `at`,
/// `actor`, `object_kind`, `object_id`, `action`, `data`), then the previous hash, then, on the first
/// event of a commit that wrote records, the list of those records ([`Event::writes`]). An event without
/// that list hashes exactly as before the list existed, so older chains still verify.
#[allow(clippy::too_many_arguments)]
pub fn event_hash(
    seq: i64,
    commit_seq: i64,
    at: &chrono::DateTime<chrono::Utc>,
    actor: &str,
    object_kind: &str,
    object_id: &str,
    action: &str,
    data: &str,
    prev_hash: &str,
    writes: &str,
) -> String {
    let mut h = Sha256::new();
    let (seq, commit_seq, at) = (seq.to_string(), commit_seq.to_string(), format_time(at));
    for part in [&seq, &commit_seq, &at, actor, object_kind, object_id, action, data, prev_hash] {
        h.update(part.as_bytes());
        h.update(b"\n");
    }
    if !writes.is_empty() {
        h.update(writes.as_bytes());
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

impl Event {
    /// [`event_hash`] of this event's fields as they are now: equal to [`Event::hash`] when nothing was
    /// changed since it was written.
    pub fn content_hash(&self) -> String {
        event_hash(
            self.seq,
            self.commit_seq,
            &self.at,
            &self.actor,
            &self.object_kind,
            &self.object_id,
            &self.action,
            &self.data,
            &self.prev_hash,
            &self.writes,
        )
    }
}

/// The SHA-256 of a record's content as stored: every column but `version` (which the audit log keeps
/// beside it), each field length-prefixed so that no two records share a digest by moving text between
/// fields.
pub fn record_digest(r: &Record) -> String {
    let mut h = Sha256::new();
    let mut field = |v: Option<&str>| match v {
        None => h.update([0u8]),
        Some(v) => {
            h.update([1u8]);
            h.update((v.len() as u64).to_le_bytes());
            h.update(v.as_bytes());
        }
    };
    let (seq, created, updated) = (r.seq.to_string(), format_time(&r.created_at), format_time(&r.updated_at));
    field(Some(&r.kind));
    field(Some(&r.id));
    field(Some(&seq));
    field(r.state.as_deref());
    field(r.parent_id.as_deref());
    field(r.category.as_deref());
    field(r.unique_key.as_deref());
    field(Some(&created));
    field(Some(&updated));
    field(Some(&r.doc));
    hex::encode(h.finalize())
}

/// Where the chain first breaks.
#[derive(Debug, Clone, PartialEq)]
pub struct BrokenLink {
    pub seq: i64,
    pub reason: String,
}

/// The result of walking the whole audit log.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainReport {
    pub events_checked: u64,
    /// The hash of the last event walked.
    pub head_hash: String,
    /// The seq of the last event walked (0 when there is none).
    pub last_seq: i64,
    /// The store's head row as read before the walk; `None` when the row is missing.
    pub stored_head: Option<ChainHead>,
    /// The first event whose hash, link or commit id does not verify, or where the chain disagrees with
    /// the stored head or the expected (witnessed) head; `None` when all of that holds.
    pub first_broken: Option<BrokenLink>,
}

/// Walks every event in order and checks its link to the one before, its commit id and its own hash,
/// then that the chain reaches the store's head row and ends there.
pub async fn verify_chain(store: &dyn Store) -> StoreResult<ChainReport> {
    verify_chain_expecting(store, None).await
}

/// [`verify_chain`], and also that `expect` (a head witnessed earlier, e.g. printed by `railyard audit
/// head` and kept elsewhere) is still in the chain: event `expect.seq` exists and has hash `expect.hash`.
pub async fn verify_chain_expecting(store: &dyn Store, expect: Option<&ChainHead>) -> StoreResult<ChainReport> {
    let seqs: Vec<i64> = expect.map(|w| w.seq).into_iter().collect();
    let (mut report, found) = walk(store, &seqs, &mut |_| None).await?;
    if let Some(w) = expect {
        apply_witness(&mut report, w, found.get(&w.seq).map(String::as_str));
    }
    Ok(report)
}

/// Events read at a time: a page's memory is its events' (a listing of many records can be long).
pub(crate) const EVENTS_PER_PAGE: u32 = 250;

/// The walk behind [`verify_chain_expecting`]; `visit` sees every event (also after a break) and may
/// report a problem with it, which counts as a break when it is the first. Also returns the hashes of
/// the events at `witness_seqs` (heads witnessed earlier), for [`apply_witness`].
pub(crate) async fn walk(
    store: &dyn Store,
    witness_seqs: &[i64],
    visit: &mut (dyn FnMut(&Event) -> Option<String> + Send),
) -> StoreResult<(ChainReport, BTreeMap<i64, String>)> {
    let stored_head = store.chain_head().await?;
    let mut prev = Link::GENESIS;
    let mut head_hash = GENESIS_HASH.to_string();
    let mut checked = 0u64;
    let mut first_broken = None;
    // The hashes found at the stored head's and the witnesses' seqs.
    let mut at_head = None;
    let mut witnessed = BTreeMap::new();
    let mut after = None;
    loop {
        let q = EventQuery { after_seq: after, limit: EVENTS_PER_PAGE, ..Default::default() };
        let page = store.events(&q).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.seq);
        for e in &page {
            checked += 1;
            // The visitor sees every event, also those after a break.
            let seen = visit(e);
            let problem = check(e, &prev, &head_hash).or(seen);
            if let Some(reason) = problem
                && first_broken.is_none()
            {
                // A gap is reported at its first missing event.
                first_broken = Some(BrokenLink { seq: e.seq.min(prev.seq + 1), reason });
            }
            if stored_head.as_ref().is_some_and(|h| h.seq == e.seq) {
                at_head = Some(e.hash.clone());
            }
            if witness_seqs.contains(&e.seq) {
                witnessed.insert(e.seq, e.hash.clone());
            }
            head_hash = e.hash.clone();
            prev = Link { seq: e.seq, commit_seq: e.commit_seq };
        }
    }
    let last_seq = prev.seq;
    if first_broken.is_none() {
        first_broken = match &stored_head {
            None => Some(BrokenLink {
                seq: last_seq,
                reason: "the stored chain head is missing: the database was edited outside Railyard".into(),
            }),
            Some(h) => head_problem(store, h, at_head.as_deref(), last_seq).await?,
        };
    }
    Ok((ChainReport { events_checked: checked, head_hash, last_seq, stored_head, first_broken }, witnessed))
}

/// Walks the events up to `upto` again (as an earlier [`walk`] read them), checking each link and hash
/// and showing each to `visit`; a problem when they no longer end at `upto` with hash `head_hash`.
pub(crate) async fn rewalk(
    store: &dyn Store,
    upto: i64,
    head_hash: &str,
    visit: &mut (dyn FnMut(&Event) + Send),
) -> StoreResult<Option<BrokenLink>> {
    let mut prev = Link::GENESIS;
    let mut hash = GENESIS_HASH.to_string();
    let mut problem = None;
    let mut after = None;
    'pages: loop {
        let q = EventQuery { after_seq: after, limit: EVENTS_PER_PAGE, ..Default::default() };
        let page = store.events(&q).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.seq);
        for e in &page {
            if e.seq > upto {
                break 'pages;
            }
            if problem.is_none()
                && let Some(reason) = check(e, &prev, &hash)
            {
                problem = Some(BrokenLink { seq: e.seq.min(prev.seq + 1), reason });
            }
            visit(e);
            hash = e.hash.clone();
            prev = Link { seq: e.seq, commit_seq: e.commit_seq };
        }
    }
    if problem.is_none() && (prev.seq != upto || hash != head_hash) {
        problem = Some(BrokenLink {
            seq: prev.seq.min(upto),
            reason: format!(
                "the log changed while it was verified: event {upto} no longer has hash {head_hash}; verify again"
            ),
        });
    }
    Ok(problem)
}

/// Adds the problem of a witnessed head to a walk's report, unless it already has one.
pub(crate) fn apply_witness(report: &mut ChainReport, w: &ChainHead, found: Option<&str>) {
    if report.first_broken.is_none() {
        report.first_broken = witness_problem(w, found, report.last_seq);
    }
}

/// The chain must reach the stored head, have the head's hash there, and go no further than the head
/// (as read again now: commits made during the walk move it on).
async fn head_problem(
    store: &dyn Store,
    head: &ChainHead,
    found: Option<&str>,
    last_seq: i64,
) -> StoreResult<Option<BrokenLink>> {
    if last_seq < head.seq {
        let reason = format!(
            "events {} to {} are missing: the stored chain head is event {} (hash {}), but the log ends at {}; \
             the newest events were deleted",
            last_seq + 1,
            head.seq,
            head.seq,
            head.hash,
            if last_seq == 0 { "its start".to_string() } else { format!("event {last_seq}") }
        );
        return Ok(Some(BrokenLink { seq: last_seq + 1, reason }));
    }
    if head.seq > 0 && found != Some(head.hash.as_str()) {
        let reason = format!(
            "event {} is not the stored chain head: its hash is {}, the head records {}",
            head.seq,
            found.unwrap_or("missing"),
            head.hash
        );
        return Ok(Some(BrokenLink { seq: head.seq, reason }));
    }
    if last_seq > head.seq {
        let now = store.chain_head().await?;
        let now_seq = now.as_ref().map_or(0, |h| h.seq);
        if last_seq > now_seq {
            let reason = format!(
                "event {} lies past the stored chain head (event {now_seq}): it was not appended by Railyard",
                now_seq + 1
            );
            return Ok(Some(BrokenLink { seq: now_seq + 1, reason }));
        }
    }
    Ok(None)
}

/// A witnessed head must still be in the chain, with the hash it had.
fn witness_problem(w: &ChainHead, found: Option<&str>, last_seq: i64) -> Option<BrokenLink> {
    match found {
        None if w.seq > 0 => Some(BrokenLink {
            seq: w.seq,
            reason: format!(
                "the expected head, event {} (hash {}), is no longer in the log: it ends at {}",
                w.seq,
                w.hash,
                if last_seq == 0 { "its start".to_string() } else { format!("event {last_seq}") }
            ),
        }),
        Some(h) if h != w.hash => Some(BrokenLink {
            seq: w.seq,
            reason: format!(
                "event {} is not the expected head: its hash is {h}, the witness recorded {}",
                w.seq, w.hash
            ),
        }),
        _ if w.seq == 0 && w.hash != GENESIS_HASH => Some(BrokenLink {
            seq: 0,
            reason: format!("the expected head 0 must have the genesis hash {GENESIS_HASH}"),
        }),
        _ => None,
    }
}

/// What an event must follow: the `seq` and `commit_seq` of the event before it.
struct Link {
    seq: i64,
    commit_seq: i64,
}

impl Link {
    /// Before the first event: it must be seq 1 and open its own commit.
    const GENESIS: Link = Link { seq: 0, commit_seq: 0 };
}

fn check(e: &Event, prev: &Link, prev_hash: &str) -> Option<String> {
    let expected_seq = prev.seq + 1;
    if e.seq != expected_seq {
        return Some(format!("event {expected_seq} is missing: the next stored event is {}", e.seq));
    }
    if e.prev_hash != prev_hash {
        return Some(format!("its previous-hash does not match the hash of event {}", prev.seq));
    }
    // An event either opens its commit (commit_seq == seq) or continues the previous event's commit;
    // so commit_seq is never past seq. The first event always opens one.
    let continues = prev.seq > 0 && e.commit_seq == prev.commit_seq;
    if e.commit_seq > e.seq || !(e.commit_seq == e.seq || continues) {
        return Some(format!(
            "its commit id {} is impossible: it must be its own seq ({}) or the previous event's commit id ({})",
            e.commit_seq, e.seq, prev.commit_seq
        ));
    }
    let recomputed = e.content_hash();
    if recomputed != e.hash {
        return Some("its content does not match its hash: it was changed after it was written".into());
    }
    if !e.writes.is_empty() && e.commit_seq != e.seq {
        return Some("it lists the records of its commit, which only the commit's first event does".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(seq: i64, commit_seq: i64, prev_hash: &str) -> Event {
        let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let (actor, kind, id, action, data) = ("alice", "train", "RT-1", "note", "{}");
        let hash = event_hash(seq, commit_seq, &at, actor, kind, id, action, data, prev_hash, "");
        Event {
            seq,
            commit_seq,
            at,
            actor: actor.into(),
            object_kind: kind.into(),
            object_id: id.into(),
            action: action.into(),
            data: data.into(),
            prev_hash: prev_hash.into(),
            hash,
            writes: String::new(),
        }
    }

    #[test]
    fn commit_seq_is_part_of_the_hash() {
        let a = event(1, 1, GENESIS_HASH);
        let b = event(1, 2, GENESIS_HASH);
        assert_ne!(a.hash, b.hash);
    }

    #[test]
    fn commit_seq_must_open_a_commit_or_continue_the_previous_one() {
        let first = event(1, 1, GENESIS_HASH);
        assert_eq!(check(&first, &Link::GENESIS, GENESIS_HASH), None, "the first event opens commit 1");
        let zero = event(1, 0, GENESIS_HASH);
        assert!(check(&zero, &Link::GENESIS, GENESIS_HASH).is_some(), "the first event cannot continue commit 0");

        let after_first = Link { seq: 1, commit_seq: 1 };
        assert_eq!(check(&event(2, 1, &first.hash), &after_first, &first.hash), None, "continues commit 1");
        assert_eq!(check(&event(2, 2, &first.hash), &after_first, &first.hash), None, "opens commit 2");
        let ahead = check(&event(2, 3, &first.hash), &after_first, &first.hash);
        assert!(ahead.is_some_and(|r| r.contains("commit id")), "a commit id past its seq is refused");

        let mid = Link { seq: 5, commit_seq: 4 };
        let h = "ab".repeat(32);
        assert_eq!(check(&event(6, 4, &h), &mid, &h), None, "continues commit 4");
        assert_eq!(check(&event(6, 6, &h), &mid, &h), None, "opens commit 6");
        let skipped = check(&event(6, 5, &h), &mid, &h);
        assert!(skipped.is_some_and(|r| r.contains("commit id")), "neither its own seq nor the previous commit id");
    }
}
