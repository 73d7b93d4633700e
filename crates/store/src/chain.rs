use sha2::{Digest, Sha256};

use crate::{Event, EventQuery, Store, StoreResult, format_time};

/// The `prev_hash` of the first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of one event: SHA-256 over its fields as stored, one per line (`seq`, `commit_seq`, `at`,
/// `actor`, `object_kind`, `object_id`, `action`, `data`), then the previous hash.
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
) -> String {
    let mut h = Sha256::new();
    let (seq, commit_seq, at) = (seq.to_string(), commit_seq.to_string(), format_time(at));
    for part in [&seq, &commit_seq, &at, actor, object_kind, object_id, action, data, prev_hash] {
        h.update(part.as_bytes());
        h.update(b"\n");
    }
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
    pub head_hash: String,
    /// The first event whose hash, link or commit id does not verify; `None` when the chain is intact.
    pub first_broken: Option<BrokenLink>,
}

/// Walks every event in order and checks its link to the one before, its commit id and its own hash.
pub async fn verify_chain(store: &dyn Store) -> StoreResult<ChainReport> {
    let mut prev = Link::GENESIS;
    let mut head_hash = GENESIS_HASH.to_string();
    let mut checked = 0u64;
    let mut after = None;
    loop {
        let page = store.events(&EventQuery { after_seq: after, limit: 1000, ..Default::default() }).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.seq);
        for e in &page {
            checked += 1;
            if let Some(reason) = check(e, &prev, &head_hash) {
                return Ok(ChainReport {
                    events_checked: checked,
                    head_hash,
                    first_broken: Some(BrokenLink { seq: e.seq, reason }),
                });
            }
            head_hash = e.hash.clone();
            prev = Link { seq: e.seq, commit_seq: e.commit_seq };
        }
    }
    Ok(ChainReport { events_checked: checked, head_hash, first_broken: None })
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
    let recomputed = event_hash(
        e.seq,
        e.commit_seq,
        &e.at,
        &e.actor,
        &e.object_kind,
        &e.object_id,
        &e.action,
        &e.data,
        &e.prev_hash,
    );
    if recomputed != e.hash {
        return Some("its content does not match its hash: it was changed after it was written".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(seq: i64, commit_seq: i64, prev_hash: &str) -> Event {
        let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let (actor, kind, id, action, data) = ("alice", "train", "RT-1", "note", "{}");
        let hash = event_hash(seq, commit_seq, &at, actor, kind, id, action, data, prev_hash);
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
