use sha2::{Digest, Sha256};

use crate::{Event, EventQuery, Store, StoreResult, format_time};

/// The `prev_hash` of the first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of one event: SHA-256 over its fields as stored, one per line, then the previous hash.
#[allow(clippy::too_many_arguments)]
pub fn event_hash(
    seq: i64,
    at: &chrono::DateTime<chrono::Utc>,
    actor: &str,
    object_kind: &str,
    object_id: &str,
    action: &str,
    data: &str,
    prev_hash: &str,
) -> String {
    let mut h = Sha256::new();
    for part in [
        &seq.to_string(),
        &format_time(at),
        actor,
        object_kind,
        object_id,
        action,
        data,
        prev_hash,
    ] {
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
    /// The first event whose hash or link does not verify; `None` when the chain is intact.
    pub first_broken: Option<BrokenLink>,
}

/// Walks every event in order and checks its link to the one before and its own hash.
pub async fn verify_chain(store: &dyn Store) -> StoreResult<ChainReport> {
    let mut prev = GENESIS_HASH.to_string();
    let mut expected_seq = 1;
    let mut checked = 0u64;
    let mut after = None;
    loop {
        let page = store
            .events(&EventQuery {
                after_seq: after,
                limit: 1000,
                ..Default::default()
            })
            .await?;
        let Some(last) = page.last() else { break };
        after = Some(last.seq);
        for e in &page {
            checked += 1;
            if let Some(reason) = check(e, expected_seq, &prev) {
                return Ok(ChainReport {
                    events_checked: checked,
                    head_hash: prev,
                    first_broken: Some(BrokenLink { seq: e.seq, reason }),
                });
            }
            prev = e.hash.clone();
            expected_seq = e.seq + 1;
        }
    }
    Ok(ChainReport {
        events_checked: checked,
        head_hash: prev,
        first_broken: None,
    })
}

fn check(e: &Event, expected_seq: i64, prev: &str) -> Option<String> {
    if e.seq != expected_seq {
        return Some(format!(
            "event {expected_seq} is missing: the next stored event is {}",
            e.seq
        ));
    }
    if e.prev_hash != prev {
        return Some(format!(
            "its previous-hash does not match the hash of event {}",
            e.seq - 1
        ));
    }
    let recomputed = event_hash(
        e.seq,
        &e.at,
        &e.actor,
        &e.object_kind,
        &e.object_id,
        &e.action,
        &e.data,
        &e.prev_hash,
    );
    if recomputed != e.hash {
        return Some(
            "its content does not match its hash: it was changed after it was written".into(),
        );
    }
    None
}
