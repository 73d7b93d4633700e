//! The inventory's rule: what landed is there, newest landing first; failures, abandoned attempts and
//! rollbacks change nothing.

use chrono::{TimeZone, Utc};
use serde_json::json;

use super::*;

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 1, 9, minute, 0).single().expect("time")
}

fn deployment(id: &str, releases: &[&str], state: &str, finished: Option<u32>, artifacts: &[&str]) -> Deployment {
    serde_json::from_value(json!({
        "id": id, "turnover_id": format!("TO-{id}"), "train_id": "RT-1", "releases": releases, "environment": "test",
        "stage": 0, "attempt": 1, "trigger": "manual", "state": state, "created_by": "erin", "runs": [],
        "artifacts": artifacts, "finished_at": finished.map(at),
    }))
    .expect("a deployment")
}

fn app_of(release: &str) -> Option<&'static str> {
    match release {
        "AR-1" | "AR-2" => Some("PAY"),
        "AR-7" => Some("WEB"),
        _ => None,
    }
}

#[test]
fn only_a_deployment_whose_runs_all_finished_well_and_is_no_rollback_lands() {
    for (state, lands) in [
        ("scheduled", false),
        ("running", false),
        ("failed", false),
        ("abandoned", false),
        ("succeeded", true),
        ("validated", true),
        ("rejected", true),
    ] {
        let d = deployment("DE-1", &["AR-1"], state, Some(1), &["pay@1"]);
        assert_eq!(landed(&d), lands, "{state}");
    }
    let mut rollback = deployment("DE-2", &["AR-1"], "succeeded", Some(2), &["pay@1"]);
    rollback.rollback = true;
    assert!(!landed(&rollback), "a rollback takes a failed attempt back out; it puts nothing new there");
}

#[test]
fn a_placement_names_its_release_and_splits_artifact_versions_at_the_last_at_sign() {
    let d = deployment("DE-4", &["AR-7", "AR-2"], "validated", Some(3), &["pay@42", "@scope/web@2.1", "bare"]);
    let p = Placement::of(&d, "PAY", app_of).expect("PAY landed");
    assert_eq!((p.release.as_str(), p.landed_at, p.deployed_by.as_str()), ("AR-2", at(3), "erin"));
    let versions: Vec<(&str, &str)> = p.artifacts.iter().map(|a| (a.name.as_str(), a.version.as_str())).collect();
    assert_eq!(versions, [("pay", "42"), ("@scope/web", "2.1"), ("bare", "")]);
    assert_eq!(Placement::of(&d, "CRM", app_of), None, "it carries no CRM release");
    let all: Vec<String> = Placement::all_of(&d, app_of).into_iter().map(|p| p.application).collect();
    assert_eq!(all, ["PAY", "WEB"], "a turnover of two applications counts in both rows");
}

#[test]
fn the_cell_holds_the_landing_that_finished_last_and_a_failure_after_it_changes_nothing() {
    let mut column = Column::for_applications(&["PAY".to_string(), "WEB".to_string()]);
    // Read newest first, as the service does.
    column.offer(&deployment("DE-9", &["AR-2"], "failed", Some(9), &["pay@3"]), app_of);
    assert!(!column.is_full());
    column.offer(&deployment("DE-8", &["AR-2"], "validated", Some(5), &["pay@2"]), app_of);
    // An older deployment retried and landing later than DE-8 wins.
    column.offer(&deployment("DE-6", &["AR-1"], "succeeded", Some(7), &["pay@1.9"]), app_of);
    column.offer(&deployment("DE-5", &["AR-1"], "validated", Some(1), &["pay@1"]), app_of);
    assert!(!column.is_full(), "nothing of WEB yet");
    column.offer(&deployment("DE-3", &["AR-7"], "rejected", Some(0), &["web@7"]), app_of);
    assert!(column.is_full());
    assert_eq!(column.settled_since(), Some(at(0)), "WEB's landing is the oldest found");
    let cells = column.into_cells();
    assert_eq!(cells["PAY"].deployment, "DE-6");
    assert_eq!(cells["PAY"].artifacts, [ArtifactVersion { name: "pay".into(), version: "1.9".into() }]);
    assert_eq!((cells["WEB"].deployment.as_str(), cells["WEB"].state), ("DE-3", DeploymentState::Rejected));
}

#[test]
fn a_column_ignores_applications_it_was_not_asked_about_and_unknown_releases() {
    let mut column = Column::for_applications(&["WEB".to_string()]);
    column.offer(&deployment("DE-2", &["AR-1", "AR-99"], "validated", Some(2), &["pay@1"]), app_of);
    assert!(!column.is_full());
    assert!(column.into_cells().is_empty());
}

#[test]
fn an_artifact_named_after_another_application_of_the_turnover_stays_out_of_this_ones_row() {
    let d = deployment("DE-5", &["AR-1", "AR-7"], "validated", Some(4), &["pay@2", "web@9", "schema@3"]);
    let names = |app: &str| -> Vec<String> {
        Placement::of(&d, app, app_of).expect("landed").artifacts.into_iter().map(|a| a.name).collect()
    };
    assert_eq!(names("PAY"), ["pay", "schema"], "web is WEB's");
    assert_eq!(names("WEB"), ["web", "schema"], "pay is PAY's; schema belongs to no one, so to both");
    let alone = deployment("DE-6", &["AR-1"], "validated", Some(4), &["web@9"]);
    let p = Placement::of(&alone, "PAY", app_of).expect("landed");
    assert_eq!(p.artifacts.len(), 1, "a turnover of one application keeps every artifact, whatever its name");
}
