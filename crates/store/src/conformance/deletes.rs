//! Deleting records (housekeeping, such as purging ended sessions) and checking the records in several
//! passes: what the cross-check must still find either way.

use super::audit::Tamper;
use super::{insert, new_event, ok_commit, record, update};
use crate::{
    Commit, RecordRule, Store, StoreError, Write, WrittenRecord, record_digest, verify_audit, verify_audit_run,
};

fn exact(_: &str) -> RecordRule {
    RecordRule::Exact
}

fn delete(kind: &str, id: &str, expected_version: i64) -> Write {
    Write::Delete { kind: kind.into(), id: id.into(), expected_version }
}

/// A delete at the stored version removes the record and is listed as a deletion, with the digest of
/// what was deleted; at another version it conflicts and changes nothing. The log stays intact, and a
/// deleted record put back outside Railyard is named.
pub async fn a_delete_is_listed_and_the_cross_check_expects_the_record_gone(t: &dyn Tamper) {
    let store = t.store();
    for i in 1..=3 {
        ok_commit(store, insert(&record("session", &format!("SE-{i}"), i)), "insert").await;
    }
    ok_commit(store, update(&record("session", "SE-2", 2), 1), "update").await;
    let before = store.get("session", "SE-2").await.ok().flatten().expect("SE-2");

    let stale =
        Commit { writes: vec![delete("session", "SE-2", 1)], events: vec![new_event("session", "u", "purge", "x")] };
    match store.commit(stale).await {
        Err(StoreError::Conflict { id, expected: 1, found: Some(2), .. }) if id == "SE-2" => {}
        other => panic!("a delete at a stale version must conflict: {other:?}"),
    }
    assert!(store.get("session", "SE-2").await.ok().flatten().is_some(), "a conflicting delete deletes nothing");

    let purge = Commit {
        writes: vec![delete("session", "SE-1", 1), delete("session", "SE-2", 2)],
        events: vec![new_event("session", "u", "purge", "system")],
    };
    let receipt = ok_commit(store, purge, "a purge").await;
    let listed: Vec<WrittenRecord> = serde_json::from_str(&receipt.events[0].writes).expect("a JSON listing");
    let se2 = listed.iter().find(|w| w.id == "SE-2").expect("SE-2 listed");
    assert!(se2.deleted && se2.version == 2, "listed as deleted at its version: {se2:?}");
    assert_eq!(se2.digest, record_digest(&before), "the listing vouches for what was deleted");
    assert!(store.get("session", "SE-1").await.ok().flatten().is_none(), "deleted");
    let report = verify_audit(store, None, &exact).await.expect("verify_audit");
    assert!(report.intact(), "a deletion the log lists is no tampering: {report:?}");
    assert_eq!(report.records.records_checked, 1);

    // Put back outside Railyard.
    let sql = "INSERT INTO records (id, kind, seq, version, state, created_at, updated_at, doc) \
               SELECT 'SE-2', kind, 2, 2, state, created_at, updated_at, doc FROM records WHERE id = 'SE-3'";
    assert_eq!(t.sql(sql).await, 1);
    let report = verify_audit(store, None, &exact).await.expect("verify_audit");
    let first = report.records.first.expect("a deleted record put back is named");
    assert_eq!(first.id, "SE-2");
    assert!(first.events.contains("deleted it"), "{first:?}");
    // And a record deleted without an event is still named.
    t.sql("DELETE FROM records WHERE id = 'SE-2'").await;
    t.sql("DELETE FROM records WHERE id = 'SE-3'").await;
    let report = verify_audit(store, None, &exact).await.expect("verify_audit");
    let first = report.records.first.expect("named");
    assert!(first.id == "SE-3" && first.events.contains("deleted outside Railyard"), "{first:?}");
}

async fn fill(store: &dyn Store, n: i64) {
    for i in 1..=n {
        ok_commit(store, insert(&record("item", &format!("IT-{i:03}"), i)), "insert").await;
    }
}

/// Checked a few listings at a time (many passes), the records are all checked and what was edited,
/// inserted or deleted anywhere in the key range is named as in one pass.
pub async fn the_cross_check_in_many_passes_finds_what_one_pass_finds(t: &dyn Tamper) {
    let store = t.store();
    fill(store, 40).await;
    let run = verify_audit_run(store, &[], &exact, 3).await.expect("verify_audit_run");
    assert!(run.expecting(None).intact(), "{run:?}");
    assert_eq!(run.records.records_checked, 40);
    assert!(run.records.passes >= 13, "40 records, 3 a pass: {} passes", run.records.passes);

    t.sql("UPDATE records SET doc = 'edited' WHERE id = 'IT-005'").await;
    t.sql("UPDATE records SET doc = 'edited', version = 7 WHERE id = 'IT-021'").await;
    t.sql("DELETE FROM records WHERE id = 'IT-033'").await;
    let sql = "INSERT INTO records (id, kind, seq, version, state, created_at, updated_at, doc) \
               SELECT 'IT-0395', kind, 99, 1, state, created_at, updated_at, doc FROM records WHERE id = 'IT-039'";
    assert_eq!(t.sql(sql).await, 1);
    let many = verify_audit_run(store, &[], &exact, 3).await.expect("verify_audit_run").expecting(None);
    let one = verify_audit_run(store, &[], &exact, 1000).await.expect("verify_audit_run").expecting(None);
    assert_eq!(many.records.mismatches, 4, "edited twice, deleted, inserted: {many:?}");
    assert_eq!((many.records.mismatches, &many.records.first), (one.records.mismatches, &one.records.first));
    assert_eq!(many.records.first.as_ref().map(|m| m.id.as_str()), Some("IT-005"));
    assert_eq!(many.records.records_checked, 40);
}
