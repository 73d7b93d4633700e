//! The service bounds what every caller gives it, not only the HTTP API: the web console calls it
//! directly. An over-long text or an out-of-range date is refused naming the field and the bound, and
//! nothing is written.

use std::sync::Arc;

use chrono::NaiveDate;
use railyard_domain::{Actor, EnvironmentKind, EnvironmentSpec, MilestoneSpec, ReleaseType, Role, Schedule, TrainSpec};
use railyard_service::{Service, ServiceError};
use railyard_store_sqlite::SqliteStore;

fn refused(r: Result<impl std::fmt::Debug, ServiceError>, field: &str, needle: &str) {
    match r {
        Err(ServiceError::Invalid(errors)) => assert!(
            errors.iter().any(|e| e.field == field && e.message.contains(needle)),
            "{field} not named with '{needle}': {errors:?}"
        ),
        other => {
            let got = format!("{other:?}");
            panic!("{field}: expected a refusal naming it, got {}", &got[..got.len().min(200)])
        }
    }
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[tokio::test]
async fn the_service_bounds_texts_and_dates_whoever_calls_it() {
    let dir = tempfile::tempdir().unwrap();
    let svc = Service::new(Arc::new(SqliteStore::open(&dir.path().join("limits.db")).unwrap()));
    svc.bootstrap_admin(Some("limits-test-admin-token")).await.unwrap();
    let admin = Actor::new("admin", &[Role::Admin]);
    let events = svc.verify_audit(&admin).await.unwrap().events_checked;

    let env = EnvironmentSpec {
        name: "staging".into(),
        kind: EnvironmentKind::Staging,
        owner: None,
        locked: None,
        description: "x".repeat(64 * 1024 + 1),
    };
    refused(svc.create_environment(&admin, env).await, "description", "64 KiB");

    let schedule = Schedule {
        start: date(2027, 1, 4),
        scoping_end: date(2027, 1, 15),
        construction_end: date(2027, 2, 12),
        verification_end: date(2027, 2, 26),
        production_date: date(3000, 3, 6),
    };
    let train = TrainSpec {
        title: "T".repeat(201),
        release_type: ReleaseType::Major,
        purpose: String::new(),
        manager: None,
        engineers: Vec::new(),
        schedule,
        approval_policies: Default::default(),
        reserved_environments: Vec::new(),
        gate_approvals: Vec::new(),
    };
    let r = svc.create_train(&admin, train.clone()).await;
    refused(r, "title", "200 characters");
    let r = svc.create_train(&admin, TrainSpec { title: "T".into(), ..train }).await;
    refused(r, "schedule.production_date", "1900 to 2999");
    let milestone = MilestoneSpec { title: "M".into(), due: date(1899, 12, 31), owner: None, inherit: false };
    refused(svc.add_milestone(&admin, "RT-1", milestone).await, "due", "1900 to 2999");

    assert_eq!(svc.verify_audit(&admin).await.unwrap().events_checked, events, "a refused input wrote an event");
}
