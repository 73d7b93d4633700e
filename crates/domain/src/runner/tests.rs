use chrono::{Duration, TimeZone, Utc};

use super::*;

fn spec(name: &str, labels: &[&str]) -> RunnerSpec {
    RunnerSpec { name: name.into(), labels: labels.iter().map(|s| s.to_string()).collect(), description: None }
}

#[test]
fn names_and_labels_are_checked_and_each_bad_field_named() {
    for (name, labels, field) in [
        ("eu-1", vec!["prod-eu"], None),
        ("Eu", vec!["prod-eu"], Some("name")),
        ("eu-1", vec![], Some("labels")),
        ("eu-1", vec!["Prod"], Some("labels[0]")),
        ("eu-1", vec!["a", "a"], Some("labels")),
        ("eu-1", vec!["-x"], Some("labels[0]")),
    ] {
        let got = Runner::register("RN-1".into(), spec(name, &labels), "h".into(), "rita");
        match (got, field) {
            (Ok((r, c)), None) => {
                assert_eq!(r.state, RunnerState::Active);
                assert_eq!(c.action, "register");
                assert!(!c.data.to_string().contains("\"h\""), "the token hash is not in the event");
            }
            (Err(e), Some(f)) => assert!(e.to_string().contains(f), "{name} {labels:?}: {e}"),
            (got, want) => panic!("{name} {labels:?}: got {got:?}, wanted error on {want:?}"),
        }
    }
    let too_many: Vec<String> = (0..=MAX_LABELS).map(|i| format!("l{i}")).collect();
    let mut f = Fields::default();
    check_labels(&mut f, "runner_labels", &too_many);
    assert!(f.done().is_err());
}

#[test]
fn a_runner_serves_a_subset_of_its_labels_and_an_unknown_one_is_named() {
    let (r, _) = Runner::register("RN-1".into(), spec("eu-1", &["prod-eu", "linux"]), "h".into(), "rita").unwrap();
    assert_eq!(serving_labels(&r, None).unwrap(), vec!["linux".to_string(), "prod-eu".to_string()]);
    assert_eq!(serving_labels(&r, Some(&["linux".into()])).unwrap(), vec!["linux".to_string()]);
    let e = serving_labels(&r, Some(&["prod-us".into()])).unwrap_err().to_string();
    assert!(e.contains("prod-us") && e.contains("linux, prod-eu"), "{e}");
    assert!(serves(&r.labels, &["prod-eu".into()]));
    assert!(serves(&r.labels, &[]));
    assert!(!serves(&r.labels, &["prod-eu".into(), "windows".into()]));
}

#[test]
fn a_claim_is_held_until_its_lease_expires_and_refused_after() {
    let t0 = Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap();
    let mut c = RunClaim::queued("DE-1", 0, "R1", 1, vec!["eu".into()], t0);
    assert_eq!(c.id, "DE-1:R1:1");
    assert!(c.renew("RN-1", t0, vec![], 10).unwrap_err().contains("not claimed"));
    c.claim("RN-1", "eu-1", t0);
    assert!(c.held_by("RN-1", t0 + Duration::seconds(LEASE_SECS - 1)));
    assert!(!c.held_by("RN-2", t0));
    let until = c.renew("RN-1", t0 + Duration::seconds(5), vec![json!({"text": "a"})], 10).unwrap();
    assert_eq!(until, t0 + Duration::seconds(5 + LEASE_SECS));
    let late = until + Duration::seconds(1);
    assert!(c.expired(late));
    let e = c.renew("RN-1", late, vec![], 10).unwrap_err();
    assert!(e.contains("expired"), "{e}");
    assert!(c.renew("RN-2", t0 + Duration::seconds(6), vec![], 10).unwrap_err().contains("another runner"));
}

#[test]
fn output_past_the_limit_is_counted_not_kept() {
    let t0 = Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap();
    let mut c = RunClaim::queued("DE-1", 0, "R1", 1, vec![], t0);
    c.append((0..8).map(|i| json!(i)).collect(), 5);
    c.append(vec![json!(9)], 5);
    assert_eq!((c.lines.len(), c.dropped), (5, 4));
}

#[test]
fn a_runner_is_revoked_once() {
    let t0 = Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap();
    let (mut r, _) = Runner::register("RN-1".into(), spec("eu-1", &["eu"]), "h".into(), "rita").unwrap();
    r.revoke("rita", t0).unwrap();
    assert_eq!(r.state, RunnerState::Revoked);
    let e = r.revoke("rita", t0).unwrap_err().to_string();
    assert!(e.contains("already revoked"), "{e}");
    let p = RunnerPresence { last_seen_at: Some(t0), ..Default::default() };
    assert!(p.online(t0 + Duration::seconds(ONLINE_SECS - 1)));
    assert!(!p.online(t0 + Duration::seconds(ONLINE_SECS)));
}
