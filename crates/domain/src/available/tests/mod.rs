//! Lifecycle tables: every action of every aggregate from every state, allowed or refused with the
//! expected guard codes, through the list of available actions (which runs each action's own function).

mod admin;
mod approval;
mod deployment;
mod environment;
mod holds;
mod release;
mod release_parts;
mod rollout;
mod runbook;
mod train;
mod train_parts;
mod turnover;
mod users;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};

use crate::{
    Actor, Application, ApplicationRelease, AvailableAction, DeploymentPath, Role, Train, TrainSpec, TrainState,
    Turnover,
};

pub(super) fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 1, 20, 9, 0, 0).single().expect("a time")
}

pub(super) fn rita() -> Actor {
    Actor::new("rita", &[Role::ReleaseManager])
}
pub(super) fn ralph() -> Actor {
    Actor::new("ralph", &[Role::ReleaseManager])
}
pub(super) fn erin() -> Actor {
    Actor::new("erin", &[Role::ReleaseEngineer])
}
pub(super) fn dan() -> Actor {
    Actor::new("dan", &[Role::Developer])
}
pub(super) fn eve() -> Actor {
    Actor::new("eve", &[Role::ProductOwner])
}
pub(super) fn vic() -> Actor {
    Actor::new("vic", &[Role::Viewer])
}

/// A train managed by rita with an executive policy (eve decides) and the given extra policies.
pub(super) fn train_with(policies: Value, state: TrainState) -> Train {
    let mut p = json!({"executive": {"levels": [{"approvers": ["eve"], "required": 1}]}});
    if let (Some(p), Some(extra)) = (p.as_object_mut(), policies.as_object()) {
        p.extend(extra.clone());
    }
    let spec: TrainSpec = serde_json::from_value(json!({
        "title": "Q1", "release_type": "major",
        "schedule": {"start": "2027-01-04", "scoping_end": "2027-01-15", "construction_end": "2027-02-12",
                     "verification_end": "2027-02-26", "production_date": "2027-03-06"},
        "approval_policies": p
    }))
    .expect("a train spec");
    let (mut t, _) = Train::create("RT-1".into(), spec, &rita()).expect("a train");
    t.state = state;
    t
}

pub(super) fn train(state: TrainState) -> Train {
    train_with(json!({"development": {"levels": [{"approvers": ["erin"], "required": 1}]}}), state)
}

/// Release AR-1 of application PAY, owned by eve, accepted on `train`.
pub(super) fn release_on(train: &Train) -> ApplicationRelease {
    let app: Application =
        serde_json::from_value(json!({"key": "PAY", "name": "Payments", "owner": "eve"})).expect("an application");
    let spec = serde_json::from_value(json!({
        "title": "PAY 1", "application": "PAY", "product_owner": "eve", "train": train.id,
        "schedule": {"start": "2027-01-05", "end": "2027-02-05"}
    }))
    .expect("a release spec");
    let (r, _) = ApplicationRelease::create("AR-1".into(), spec, &app, Some(train), &rita(), now()).expect("a release");
    r
}

/// A path of the given stages: (environment, required, allow_redeploy).
pub(super) fn path(stages: &[(&str, bool, bool)]) -> DeploymentPath {
    let stages: Vec<Value> =
        stages.iter().map(|(e, req, re)| json!({"environment": e, "required": req, "allow_redeploy": re})).collect();
    let (mut p, _) = DeploymentPath::create(
        "DP-1".into(),
        serde_json::from_value(json!({"name": "standard", "stages": stages})).expect("a path spec"),
    )
    .expect("a path");
    p.apply(crate::PathAction::Activate, &[]).expect("activated");
    p
}

/// Turnover TO-1 by dan of a release in construction on a train in construction, along `path`.
pub(super) fn turnover(path: &DeploymentPath) -> Turnover {
    let train = train(TrainState::Construction);
    let mut r = release_on(&train);
    r.state = crate::ReleaseState::Construction;
    let spec = serde_json::from_value(json!({
        "title": "build 42", "release": "AR-1", "path": path.id, "developer": "dan",
        "artifacts": [{"name": "pay", "version": "42"}]
    }))
    .expect("a turnover spec");
    let (mut t, _) = Turnover::create("TO-1".into(), spec, &r, &train, path, &dan()).expect("a turnover");
    let task = serde_json::from_value(json!({"title": "Sign-off", "sequence": 9, "owner": "dan"})).expect("a task");
    t.add_task("TA-9".into(), task, &dan()).expect("a task everywhere");
    t
}

/// The guard codes of each action: empty when allowed.
pub(super) fn codes(list: &[AvailableAction]) -> Vec<(String, Vec<String>)> {
    list.iter()
        .map(|a| {
            assert_eq!(a.allowed, a.guards.is_empty(), "{a:?}");
            (a.action.clone(), a.guards.iter().map(|g| g.code.clone()).collect())
        })
        .collect()
}

/// Asserts a row of a table: each action's guard codes (none: allowed).
#[track_caller]
pub(super) fn row(list: &[AvailableAction], expected: &[(&str, &[&str])], what: &str) {
    let expected: Vec<(String, Vec<String>)> =
        expected.iter().map(|(a, g)| (a.to_string(), g.iter().map(|c| c.to_string()).collect())).collect();
    assert_eq!(codes(list), expected, "{what}");
}

/// The codes of one action's guards.
#[track_caller]
pub(super) fn guards_of(list: &[AvailableAction], action: &str) -> Vec<String> {
    let a = list.iter().find(|a| a.action == action).unwrap_or_else(|| panic!("no action {action} in {list:?}"));
    a.guards.iter().map(|g| g.code.clone()).collect()
}

/// No message names a rule by its number: they say the rule in words.
#[track_caller]
pub(super) fn no_rule_numbers(list: &[AvailableAction]) {
    for g in list.iter().flat_map(|a| &a.guards) {
        let numbered = g
            .message
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| w.len() >= 2 && w.starts_with('R') && w[1..].chars().all(|c| c.is_ascii_digit()));
        assert!(!numbered, "a rule number in '{}'", g.message);
    }
}
