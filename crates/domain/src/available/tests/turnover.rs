use serde_json::json;

use super::*;
use crate::{
    Deployment, DeploymentState, DomainError, Environment, EnvironmentState, TurnoverFacts, TurnoverPatch,
    TurnoverState,
};

pub(super) fn env(name: &str, kind: &str) -> Environment {
    let spec = serde_json::from_value(json!({"name": name, "kind": kind})).expect("an environment spec");
    Environment::create(spec, "erin").expect("an environment").0
}

pub(super) fn facts(deployments: Vec<Deployment>) -> TurnoverFacts {
    TurnoverFacts {
        deployments,
        environments: vec![env("test", "test"), env("staging", "staging"), env("prod", "production")],
        train: Some(train(TrainState::Verification)),
        ..TurnoverFacts::default()
    }
}

/// A deployment of `t` into `stage`, in `state`.
pub(super) fn deployment(id: &str, t: &Turnover, stage: usize, attempt: u32, state: DeploymentState) -> Deployment {
    let (mut d, _) = Deployment::new(id.into(), t, stage, attempt, &erin()).expect("a deployment");
    d.state = state;
    d
}

fn deploy_guards(t: &Turnover, facts: &TurnoverFacts, skip: &[&str]) -> Vec<String> {
    let skip: Vec<String> = skip.iter().map(|s| s.to_string()).collect();
    match t.decide_deploy(facts, &skip, &erin()) {
        Ok(_) => Vec::new(),
        Err(DomainError::Refused(r) | DomainError::NotAllowed(r)) => r.guards.into_iter().map(|g| g.code).collect(),
        Err(e) => panic!("refused as input: {e}"),
    }
}

#[test]
fn every_turnover_action_from_every_state() {
    use TurnoverState::*;
    let p = path(&[("test", true, true), ("staging", true, false)]);
    let ok: &[&str] = &[];
    let npr: &[&str] = &["not_production_ready", "wrong_state"];
    // Its train takes production-ready turnovers; none of these has a validated deployment to start from.
    let unvalidated: &[&str] = &["from_not_validated"];
    // A standard turnover, acted on by an engineer (who deploys, edits and reviews).
    for (state, expected) in [
        (Draft, [ok, ok, &["not_production_ready"][..], npr, npr, ok, unvalidated]),
        (InFlight, [ok, ok, npr, npr, npr, ok, unvalidated]),
        (Completed, [&["wrong_state"][..], &["wrong_state"], npr, npr, npr, &["wrong_state"], unvalidated]),
        (
            Cancelled,
            [
                &["wrong_state"][..],
                &["wrong_state"],
                npr,
                npr,
                npr,
                &["wrong_state"],
                &["from_cancelled", "from_not_validated"],
            ],
        ),
    ] {
        let mut t = turnover(&p);
        t.state = state;
        let names = ["deploy", "cancel", "deliver", "accept", "reject", "edit", "create_production"];
        let list = t.actions(&erin(), &facts(Vec::new()));
        row(&list, &names.iter().copied().zip(expected).collect::<Vec<_>>(), &format!("engineer, {state:?}"));
        no_rule_numbers(&list);
    }
}

#[test]
fn a_turnover_moves_along_its_path_never_skipping_a_required_stage_and_redeploying_only_where_allowed() {
    let p = path(&[("test", true, true), ("staging", true, false), ("prod", false, false)]);
    let t = turnover(&p);
    // An unknown stage, and a required one, are never skipped.
    assert_eq!(deploy_guards(&t, &facts(Vec::new()), &["nowhere"]), ["no_such_stage"]);
    assert_eq!(deploy_guards(&t, &facts(Vec::new()), &["test"]), ["stage_required"]);
    // A failure in test (redeploys allowed) deploys there again.
    let failed = deployment("DE-1", &t, 0, 1, DeploymentState::Failed);
    assert!(deploy_guards(&t, &facts(vec![failed]), &[]).is_empty());
    // A failure in staging (no redeploys) does not.
    let passed = deployment("DE-1", &t, 0, 1, DeploymentState::Validated);
    let failed = deployment("DE-2", &t, 1, 1, DeploymentState::Failed);
    assert_eq!(deploy_guards(&t, &facts(vec![passed.clone(), failed]), &[]), ["redeploy_not_allowed"]);
    // While a deployment is active, nothing else deploys; a succeeded one awaits validation first.
    let running = deployment("DE-2", &t, 1, 1, DeploymentState::Running);
    assert_eq!(deploy_guards(&t, &facts(vec![passed.clone(), running]), &[]), ["deployment_active"]);
    let succeeded = deployment("DE-2", &t, 1, 1, DeploymentState::Succeeded);
    assert_eq!(deploy_guards(&t, &facts(vec![passed, succeeded]), &[]), ["awaiting_validation"]);
}

#[test]
fn a_standard_turnover_is_never_deployed_into_a_locked_missing_or_decommissioned_environment() {
    let p = path(&[("prod", true, false)]);
    let t = turnover(&p);
    let list = t.actions(&erin(), &facts(Vec::new()));
    assert_eq!(guards_of(&list, "deploy"), ["environment_locked"], "production is locked by default");
    no_rule_numbers(&list);
    let mut f = facts(Vec::new());
    f.environments.retain(|e| e.name != "prod");
    assert_eq!(guards_of(&t.actions(&erin(), &f), "deploy"), ["environment_missing"]);
    let mut f = facts(Vec::new());
    for e in &mut f.environments {
        e.locked = false;
        e.state = EnvironmentState::Decommissioned;
    }
    assert_eq!(guards_of(&t.actions(&erin(), &f), "deploy"), ["environment_decommissioned"]);
}

#[test]
fn a_turnover_is_not_cancelled_while_one_of_its_deployments_runs() {
    let p = path(&[("test", true, true)]);
    let mut t = turnover(&p);
    t.state = TurnoverState::InFlight;
    let running = deployment("DE-1", &t, 0, 1, DeploymentState::Running);
    let list = t.actions(&dan(), &facts(vec![running.clone()]));
    assert_eq!(guards_of(&list, "cancel"), ["deployment_running"]);
    let dora = Actor::new("dora", &[Role::Developer]);
    let list = t.actions(&dora, &facts(vec![running]));
    assert_eq!(guards_of(&list, "cancel"), ["not_developer", "deployment_running"], "every unmet guard");
}

#[test]
fn the_artifacts_of_a_frozen_turnover_no_longer_change() {
    let p = path(&[("test", true, true)]);
    let mut t = turnover(&p);
    t.frozen = Some("it entered staging, which freezes tasks".into());
    let patch: TurnoverPatch =
        serde_json::from_value(json!({"artifacts": [{"name": "pay", "version": "43"}]})).expect("a patch");
    match t.update(patch, &dan()) {
        Err(DomainError::Refused(r)) => {
            assert_eq!(r.guards.iter().map(|g| g.code.as_str()).collect::<Vec<_>>(), ["frozen"]);
            assert!(!r.guards[0].message.contains("R12"), "{}", r.guards[0].message);
        }
        other => panic!("a frozen turnover's artifacts changed: {other:?}"),
    }
    assert_eq!(t.artifacts[0].version, "42");
}

#[test]
fn a_release_is_verified_by_every_required_pre_production_stage_and_a_skipped_optional_one_never_counts() {
    use crate::Verification;
    let p = path(&[("test", true, true), ("staging", false, true), ("uat", true, true), ("prod", true, false)]);
    let t = turnover(&p);
    let prod = |e: &str| e == "prod";
    let v = Verification::of("AR-1", &[(t.clone(), Vec::new())], prod);
    assert_eq!((v.verified, v.missing.clone()), (false, vec!["test".to_string(), "uat".to_string()]));
    // Validated in test, staging skipped, validated in uat: verified; production comes later.
    let tested = deployment("DE-1", &t, 0, 1, DeploymentState::Validated);
    let v = Verification::of("AR-1", &[(t.clone(), vec![tested.clone()])], prod);
    assert_eq!(v.missing, ["uat"], "the skipped optional stage is not what is missing");
    let uat = deployment("DE-2", &t, 2, 1, DeploymentState::Validated);
    let v = Verification::of("AR-1", &[(t.clone(), vec![tested.clone(), uat.clone()])], prod);
    assert!(v.verified, "{v:?}");
    // A validation of an earlier generation (before a send back) no longer counts.
    let mut again = t.clone();
    again.generation += 1;
    assert!(!Verification::of("AR-1", &[(again, vec![tested, uat])], prod).verified);
    assert!(!Verification::of("AR-1", &[], prod).verified);
}

#[test]
fn a_turnover_without_a_task_for_the_next_environment_does_not_deploy() {
    let p = path(&[("test", true, true)]);
    let mut t = turnover(&p);
    t.tasks.clear();
    assert_eq!(guards_of(&t.actions(&erin(), &facts(Vec::new())), "deploy"), ["no_tasks"]);
}
