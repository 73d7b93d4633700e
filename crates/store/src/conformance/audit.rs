//! The audit log's guarantees beyond the hash chain: the stored head, the listings of written records,
//! and what `verify_audit` finds when someone edits the database directly.
//!
//! The tampering cases need a way around the store: [`Tamper`] runs plain SQL on the store's database,
//! as someone with database access would. The SQL is the same on both backends.

use async_trait::async_trait;

use super::{all_events, insert, ok_commit, record, update};
use crate::{
    ChainHead, Commit, GENESIS_HASH, RecordRule, RecordScan, Store, WrittenRecord, record_digest, verify_audit,
    verify_chain, verify_chain_expecting,
};

/// A store, and plain SQL on its database.
#[async_trait]
pub trait Tamper: Send + Sync {
    fn store(&self) -> &dyn Store;
    /// Runs one statement and returns the number of rows it changed.
    async fn sql(&self, statement: &str) -> u64;
}

/// Runs every tampering case as its own `#[tokio::test]`, each on a fresh store from `$factory`, which
/// returns something that derefs to a [`Tamper`].
#[macro_export]
macro_rules! tamper_suite {
    ($factory:expr) => {
        $crate::tamper_suite!(@cases $factory;
            deleting_the_newest_events_is_named_by_the_stored_head,
            moving_the_head_back_too_is_caught_by_the_records_and_by_a_witness,
            records_edited_inserted_or_deleted_without_an_event_are_named,
            housekeeping_writes_are_allowed_only_where_the_rule_says,
            a_delete_is_listed_and_the_cross_check_expects_the_record_gone,
            the_cross_check_in_many_passes_finds_what_one_pass_finds,
        );
    };
    (@cases $factory:expr; $($case:ident),+ $(,)?) => {
        mod tampering {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let t = ($factory)().await;
                    $crate::conformance::$case(&*t).await;
                }
            )+
        }
    };
}

fn exact(_: &str) -> RecordRule {
    RecordRule::Exact
}

async fn head(store: &dyn Store) -> ChainHead {
    match store.chain_head().await {
        Ok(Some(h)) => h,
        other => panic!("chain_head() must answer the stored head, got {other:?}"),
    }
}

/// Six commits: RT-1..RT-3 inserted, then each updated once (events 1..=6, one per commit).
async fn six_commits(store: &dyn Store) {
    for i in 1..=3 {
        ok_commit(store, insert(&record("train", &format!("RT-{i}"), i)), "insert").await;
    }
    for i in 1..=3 {
        let mut r = record("train", &format!("RT-{i}"), i);
        r.state = Some("scoping".into());
        ok_commit(store, update(&r, 1), "update").await;
    }
}

/// The head is stored, moves with every commit that appends events, and stays put otherwise.
pub async fn the_stored_head_moves_with_every_commit(store: &dyn Store) {
    assert_eq!(head(store).await, ChainHead { seq: 0, hash: GENESIS_HASH.into() }, "a new store's head is genesis");
    let a = record("train", "RT-1", 1);
    let receipt = ok_commit(store, insert(&a), "insert").await;
    let want = ChainHead { seq: 1, hash: receipt.events[0].hash.clone() };
    assert_eq!(head(store).await, want, "the head is the commit's last event");
    assert_eq!(store.head_seq().await.ok(), Some(1));
    assert!(store.commit(insert(&a)).await.is_err(), "a duplicate insert fails");
    assert_eq!(head(store).await, want, "a failed commit leaves the head");
    ok_commit(store, Commit { writes: vec![], events: vec![] }, "empty").await;
    assert_eq!(head(store).await, want, "a commit without events leaves the head");
}

/// The first event of a commit lists every record it wrote: version, state and content digest.
pub async fn commits_list_the_records_they_wrote(store: &dyn Store) {
    let a = record("train", "RT-1", 1);
    let mut b = record("approval", "AP-1", 1);
    b.parent_id = Some("RT-1".into());
    let mut c = insert(&a);
    c.writes.push(crate::Write::Insert(b.clone()));
    c.events.push(super::new_event("approval", "AP-1", "request", "alice"));
    let receipt = ok_commit(store, c, "two inserts").await;
    let listed: Vec<WrittenRecord> = serde_json::from_str(&receipt.events[0].writes).expect("a JSON listing");
    assert!(receipt.events[1].writes.is_empty(), "only the commit's first event lists the records");
    let stored_a = store.get("train", "RT-1").await.ok().flatten().expect("RT-1 stored");
    let stored_b = store.get("approval", "AP-1").await.ok().flatten().expect("AP-1 stored");
    assert_eq!(
        listed,
        vec![
            WrittenRecord {
                kind: "train".into(),
                id: "RT-1".into(),
                version: 1,
                state: Some("draft".into()),
                digest: record_digest(&stored_a),
                deleted: false,
            },
            WrittenRecord {
                kind: "approval".into(),
                id: "AP-1".into(),
                version: 1,
                state: Some("draft".into()),
                digest: record_digest(&stored_b),
                deleted: false,
            },
        ],
        "the listing is what was stored"
    );

    // An update lists the stored seq and created_at, not the values given.
    let mut changed = a.clone();
    changed.seq = 99;
    changed.created_at = super::at(5000);
    changed.updated_at = super::at(6000);
    changed.state = Some("scoping".into());
    let receipt = ok_commit(store, update(&changed, 1), "update").await;
    let listed: Vec<WrittenRecord> = serde_json::from_str(&receipt.events[0].writes).expect("a JSON listing");
    let stored_a = store.get("train", "RT-1").await.ok().flatten().expect("RT-1 stored");
    assert_eq!((stored_a.seq, stored_a.version), (1, 2));
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].version, listed[0].digest.clone()), (2, record_digest(&stored_a)));

    // Events alone list nothing.
    let only = Commit { writes: vec![], events: vec![super::new_event("system", "sys", "note", "system")] };
    assert!(ok_commit(store, only, "events only").await.events[0].writes.is_empty());

    let report = verify_audit(store, None, &exact).await.expect("verify_audit");
    assert!(report.intact(), "an untouched store verifies: {report:?}");
    assert_eq!((report.chain.events_checked, report.records.records_checked), (4, 2));
    let all = all_events(store).await;
    super::assert_chain_links(&all);
}

/// `scan_records` pages every record of every kind, in `(kind, id)` order.
pub async fn scan_records_pages_every_record(store: &dyn Store) {
    let mut c = Commit::default();
    for (kind, id) in [("train", "RT-2"), ("approval", "AP-1"), ("train", "RT-1"), ("user", "RT-1")] {
        c.writes.push(crate::Write::Insert(record(kind, id, 1)));
    }
    c.events.push(super::new_event("train", "RT-1", "create", "alice"));
    ok_commit(store, c, "four records").await;
    let mut seen = Vec::new();
    let mut scan = RecordScan { after: None, limit: 3 };
    loop {
        let page = store.scan_records(&scan).await.expect("scan_records");
        assert!(page.len() <= 3, "a page holds at most the limit");
        let Some(last) = page.last() else { break };
        scan.after = Some((last.kind.clone(), last.id.clone()));
        seen.extend(page.iter().map(|r| format!("{} {}", r.kind, r.id)));
    }
    assert_eq!(seen, ["approval AP-1", "train RT-1", "train RT-2", "user RT-1"]);
}

/// A server keeps working while its log is verified: records changed by commits that land during the
/// check are explained by those commits, never reported.
pub async fn verify_audit_is_intact_while_commits_land(store: &dyn Store) {
    for i in 1..=4 {
        ok_commit(store, insert(&record("train", &format!("RT-{i}"), i)), "insert").await;
    }
    let done = std::sync::atomic::AtomicBool::new(false);
    let writer = async {
        for n in 1..=120i64 {
            let i = n % 4 + 1;
            let mut r = record("train", &format!("RT-{i}"), i);
            r.doc = format!(r#"{{"n":{n}}}"#);
            // Versions 1, 2, ... per record: record i is updated for the ((n - 1) / 4 + 1)th time.
            ok_commit(store, update(&r, (n - 1) / 4 + 1), "update").await;
            tokio::task::yield_now().await;
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
    };
    let checker = async {
        let mut checks = 0;
        loop {
            let finished = done.load(std::sync::atomic::Ordering::SeqCst);
            let report = verify_audit(store, None, &exact).await.expect("verify_audit");
            assert!(report.intact(), "check {checks} while commits land: {report:?}");
            checks += 1;
            if finished {
                return checks;
            }
        }
    };
    let ((), checks) = tokio::join!(writer, checker);
    assert!(checks >= 2, "verified during and after the commits");
}

/// Deleting the newest events leaves the chain short of its stored head: verify names the missing
/// events, and a commit made afterwards does not fill the gap.
pub async fn deleting_the_newest_events_is_named_by_the_stored_head(t: &dyn Tamper) {
    let store = t.store();
    six_commits(store).await;
    assert_eq!(verify_chain(store).await.expect("verify").first_broken, None, "intact before");
    assert_eq!(t.sql("DELETE FROM events WHERE seq > 3").await, 3);

    let report = verify_chain(store).await.expect("verify");
    let broken = report.first_broken.expect("the deletion must be detected");
    assert_eq!(broken.seq, 4, "the first missing event: {broken:?}");
    assert!(broken.reason.contains("events 4 to 6 are missing"), "{broken:?}");
    assert!(broken.reason.contains("the stored chain head is event 6"), "{broken:?}");

    // The next commit goes on after the stored head, so the gap stays.
    let receipt = ok_commit(store, insert(&record("train", "RT-4", 4)), "after the deletion").await;
    assert_eq!(receipt.events[0].seq, 7, "appended after the stored head, not after the newest stored event");
    let broken = verify_chain(store).await.expect("verify").first_broken.expect("still detected");
    assert_eq!(broken.seq, 4, "{broken:?}");
    assert!(broken.reason.contains("event 4 is missing"), "{broken:?}");

    // The records the deleted events wrote are ahead of the log.
    let audit = verify_audit(store, None, &exact).await.expect("verify_audit");
    let first = audit.records.first.expect("the records are ahead of the log");
    assert_eq!((first.kind.as_str(), first.id.as_str()), ("train", "RT-1"));
    assert!(first.record.contains("version 2"), "{first:?}");
    assert!(first.events.contains("left version 1"), "{first:?}");
    assert_eq!(audit.records.mismatches, 3, "RT-1, RT-2 and RT-3 were updated by deleted events");
}

/// Deleting the newest events and moving the head back to match leaves a chain that verifies on its
/// own; the records it wrote still tell, and so does a head witnessed before the deletion.
pub async fn moving_the_head_back_too_is_caught_by_the_records_and_by_a_witness(t: &dyn Tamper) {
    let store = t.store();
    six_commits(store).await;
    let witnessed = head(store).await;
    let earlier = ChainHead { seq: 3, hash: all_events(store).await[2].hash.clone() };
    let before = verify_chain_expecting(store, Some(&witnessed)).await.expect("verify");
    assert_eq!(before.first_broken, None, "the witness is in the chain before the deletion");

    assert_eq!(t.sql("DELETE FROM events WHERE seq > 3").await, 3);
    let moved = t.sql("UPDATE chain_head SET seq = 3, hash = (SELECT hash FROM events WHERE seq = 3)").await;
    assert_eq!(moved, 1);

    // Honestly: the chain alone cannot tell a consistent older log from a whole one.
    let alone = verify_chain(store).await.expect("verify");
    assert_eq!((alone.first_broken, alone.last_seq), (None, 3), "the chain alone is consistent");
    // A witness kept elsewhere can.
    let report = verify_chain_expecting(store, Some(&witnessed)).await.expect("verify");
    let broken = report.first_broken.expect("the witnessed head is gone");
    assert_eq!(broken.seq, 6, "{broken:?}");
    assert!(broken.reason.contains("the expected head, event 6"), "{broken:?}");
    assert!(broken.reason.contains("is no longer in the log"), "{broken:?}");
    assert!(broken.reason.contains(&witnessed.hash), "the reason names the witnessed hash: {broken:?}");
    let still = verify_chain_expecting(store, Some(&earlier)).await.expect("verify");
    assert_eq!(still.first_broken, None, "an older witness is still in the chain");
    let wrong = ChainHead { seq: 3, hash: witnessed.hash.clone() };
    let broken = verify_chain_expecting(store, Some(&wrong)).await.expect("verify").first_broken;
    assert!(broken.is_some_and(|b| b.seq == 3 && b.reason.contains("is not the expected head")));
    // And the records the deleted events wrote are ahead of the log.
    let audit = verify_audit(store, None, &exact).await.expect("verify_audit");
    assert!(audit.chain.first_broken.is_none());
    let first = audit.records.first.expect("the records tell");
    assert_eq!((first.kind.as_str(), first.id.as_str()), ("train", "RT-1"), "{first:?}");
}

/// Records changed in the database without an event are named: content, version, insert and delete.
pub async fn records_edited_inserted_or_deleted_without_an_event_are_named(t: &dyn Tamper) {
    let store = t.store();
    six_commits(store).await;
    let intact = verify_audit(store, None, &exact).await.expect("verify_audit");
    assert!(intact.intact(), "intact before: {intact:?}");
    assert_eq!(intact.records.records_checked, 3);

    // The content alone, version kept.
    let sql = "UPDATE records SET doc = '{\"forged\":true}' WHERE kind = 'train' AND id = 'RT-2'";
    assert_eq!(t.sql(sql).await, 1);
    let report = verify_audit(store, None, &exact).await.expect("verify_audit");
    assert_eq!(report.chain.first_broken, None, "the chain itself is untouched");
    let first = report.records.first.expect("the edit must be named");
    assert_eq!((first.kind.as_str(), first.id.as_str()), ("train", "RT-2"), "{first:?}");
    assert!(first.events.contains("edited without an event"), "{first:?}");
    assert!(first.record.contains("version 2"), "{first:?}");

    // The version and state too.
    let sql = "UPDATE records SET version = 3, state = 'closed' WHERE kind = 'train' AND id = 'RT-1'";
    assert_eq!(t.sql(sql).await, 1);
    let report = verify_audit(store, None, &exact).await.expect("verify_audit");
    let first = report.records.first.expect("named");
    assert_eq!((first.kind.as_str(), first.id.as_str()), ("train", "RT-1"), "the first in (kind, id) order");
    assert!(first.record.contains("version 3") && first.events.contains("left version 2"), "{first:?}");
    assert_eq!(report.records.mismatches, 2);

    // A record inserted, and one deleted, without an event.
    let insert_sql = "INSERT INTO records (id, kind, seq, version, state, created_at, updated_at, doc) \
                      SELECT 'AP-9', 'approval', 9, 1, 'approved', created_at, updated_at, doc FROM records \
                      WHERE kind = 'train' AND id = 'RT-3'";
    assert_eq!(t.sql(insert_sql).await, 1);
    let report = verify_audit(store, None, &exact).await.expect("verify_audit");
    let first = report.records.first.expect("named");
    assert_eq!((first.kind.as_str(), first.id.as_str()), ("approval", "AP-9"), "{first:?}");
    assert!(first.events.contains("no change in the log wrote it"), "{first:?}");
    assert_eq!(t.sql("DELETE FROM records WHERE kind = 'approval' AND id = 'AP-9'").await, 1);
    assert_eq!(t.sql("DELETE FROM records WHERE kind = 'train' AND id = 'RT-3'").await, 1);
    let report = verify_audit(store, None, &exact).await.expect("verify_audit");
    assert_eq!(report.records.mismatches, 3, "RT-1, RT-2 edited and RT-3 deleted: {report:?}");
    t.sql("UPDATE records SET version = 2, state = 'scoping' WHERE kind = 'train' AND id = 'RT-1'").await;
    t.sql("DELETE FROM records WHERE kind = 'train' AND id = 'RT-2'").await;
    let report = verify_audit(store, None, &exact).await.expect("verify_audit");
    let first = report.records.first.clone().expect("named");
    assert_eq!((first.kind.as_str(), first.id.as_str()), ("train", "RT-2"), "{report:?}");
    assert!(first.record.contains("no such record") && first.events.contains("deleted"), "{first:?}");
}

/// A kind whose rule allows housekeeping may be written without an event (its version moves on), but
/// not have its state changed so, nor go back; an exact kind may not be written without an event.
pub async fn housekeeping_writes_are_allowed_only_where_the_rule_says(t: &dyn Tamper) {
    let store = t.store();
    let d = record("deployment", "DE-1", 1);
    ok_commit(store, insert(&d), "insert").await;
    let mut leased = d.clone();
    leased.doc = r#"{"lease":"engine-1"}"#.into();
    let silent =
        Commit { writes: vec![crate::Write::Update { record: leased.clone(), expected_version: 1 }], events: vec![] };
    ok_commit(store, silent, "a lease renewal without an event").await;
    let housekeeping = |k: &str| if k == "deployment" { RecordRule::Housekeeping } else { RecordRule::Exact };
    let report = verify_audit(store, None, &housekeeping).await.expect("verify_audit");
    assert!(report.intact(), "housekeeping is allowed for deployments: {report:?}");
    let report = verify_audit(store, None, &exact).await.expect("verify_audit");
    let first = report.records.first.expect("an exact kind may not be written without an event");
    assert!(first.events.contains("changed without an event"), "{first:?}");

    let mut failed = leased.clone();
    failed.state = Some("failed".into());
    let silent = Commit { writes: vec![crate::Write::Update { record: failed, expected_version: 2 }], events: vec![] };
    ok_commit(store, silent, "a state change without an event").await;
    let report = verify_audit(store, None, &housekeeping).await.expect("verify_audit");
    let first = report.records.first.expect("a state change needs an event even for housekeeping kinds");
    assert!(first.record.contains("state failed") && first.events.contains("left state draft"), "{first:?}");

    assert_eq!(t.sql("UPDATE records SET version = 0, state = 'draft' WHERE id = 'DE-1'").await, 1);
    let report = verify_audit(store, None, &housekeeping).await.expect("verify_audit");
    let first = report.records.first.expect("a version behind the log is named");
    assert!(first.events.contains("went back"), "{first:?}");
}
