//! Secrets through the service, as every caller reaches it: without a key nothing can be set (the
//! refusal names RAILYARD_SECRET_KEY_FILE and nothing is written); a key rotation re-encrypts every
//! secret in one commit, or, with the wrong old key, writes nothing.

use std::sync::Arc;

use railyard_domain::{Actor, Role, Scope, SecretPatch, SecretSpec, SecretValue};
use railyard_service::{SecretKey, Service, ServiceError};
use railyard_store_sqlite::SqliteStore;

fn spec(name: &str, value: &str) -> SecretSpec {
    SecretSpec { name: name.into(), value: SecretValue::new(value), scope: Scope::Global }
}

#[tokio::test]
async fn without_a_key_no_secret_is_set_and_rotation_is_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("secrets.db")).unwrap());
    let admin = Actor::new("admin", &[Role::Admin]);

    // No key (a PostgreSQL server that named none): refused, naming the variable; nothing written.
    let keyless = Service::new(store.clone());
    keyless.bootstrap_admin(Some("secrets-test-admin-token")).await.unwrap();
    let events = keyless.verify_audit(&admin).await.unwrap().events_checked;
    match keyless.create_secret(&admin, spec("TOKEN", "hunter22")).await {
        Err(ServiceError::Invalid(e)) => assert!(e[0].message.contains("RAILYARD_SECRET_KEY_FILE"), "{e:?}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(keyless.secret_count().await.unwrap(), 0);
    assert_eq!(keyless.verify_audit(&admin).await.unwrap().events_checked, events);

    // With a key: set, replaced.
    let old = SecretKey::load_or_create(&dir.path().join("old.key"), true).unwrap();
    let svc = Service::new(store.clone()).with_secret_key(Some(old.clone()));
    let s = svc.create_secret(&admin, spec("TOKEN", "hunter22")).await.unwrap();
    svc.update_secret(&admin, &s.id, SecretPatch { value: SecretValue::new("hunter23") }, Some(1)).await.unwrap();
    svc.create_secret(&admin, spec("OTHER", "other-value")).await.unwrap();
    assert_eq!(svc.secret_key_fingerprints().await.unwrap(), [old.fingerprint().to_string()].into());

    // A wrong old key: refused naming both fingerprints; nothing written.
    let new = SecretKey::load_or_create(&dir.path().join("new.key"), true).unwrap();
    let wrong = SecretKey::load_or_create(&dir.path().join("wrong.key"), true).unwrap();
    let before = svc.verify_audit(&admin).await.unwrap().events_checked;
    let e = Service::new(store.clone()).with_secret_key(Some(wrong.clone())).rotate_secret_key("ops", &new).await;
    let e = e.expect_err("wrong old key").to_string();
    assert!(e.contains(wrong.fingerprint()) && e.contains(old.fingerprint()), "{e}");
    assert_eq!(svc.verify_audit(&admin).await.unwrap().events_checked, before);
    assert_eq!(svc.secret_key_fingerprints().await.unwrap(), [old.fingerprint().to_string()].into());

    // The right one: every secret under the new key, one event.
    let r = svc.rotate_secret_key("ops", &new).await.unwrap();
    assert_eq!((r.secrets, r.new_fingerprint.as_str()), (2, new.fingerprint()));
    assert_eq!(svc.secret_key_fingerprints().await.unwrap(), [new.fingerprint().to_string()].into());
    assert_eq!(svc.verify_audit(&admin).await.unwrap().events_checked, before + 1);
    // The new key's service replaces a value as before.
    let rotated = Service::new(store).with_secret_key(Some(new));
    rotated.update_secret(&admin, &s.id, SecretPatch { value: SecretValue::new("hunter24") }, None).await.unwrap();
}
