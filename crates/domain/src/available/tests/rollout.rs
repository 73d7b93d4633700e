//! Editing a turnover, assembling a production-ready one from it, a production-ready turnover's actions
//! in each environment (schedule, verify, roll back) and completing a manual run: allowed, or refused
//! with the expected guard codes.

use super::turnover::{deployment, env, facts};
use super::*;
use crate::{Deployment, DeploymentState, RunState, TurnoverKind, TurnoverState};

fn dora() -> Actor {
    Actor::new("dora", &[Role::Developer])
}

/// The guard codes of `action` on `on` in the list.
#[track_caller]
fn guards_on(list: &[AvailableAction], action: &str, on: &str) -> Vec<String> {
    let a = list
        .iter()
        .find(|a| a.action == action && a.on.as_deref() == Some(on))
        .unwrap_or_else(|| panic!("no action {action} on {on} in {list:?}"));
    assert_eq!(a.allowed, a.guards.is_empty(), "{a:?}");
    a.guards.iter().map(|g| g.code.clone()).collect()
}

/// How a case changes the turnover before asking.
type Change = dyn Fn(&mut Turnover);

#[test]
fn only_its_developer_or_an_engineer_or_manager_edits_a_draft_turnover_and_nobody_a_frozen_one() {
    let p = path(&[("test", true, true)]);
    let frozen = |t: &mut Turnover| t.frozen = Some("it entered staging".into());
    let state = |s: TurnoverState| move |t: &mut Turnover| t.state = s;
    let none = |_: &mut Turnover| {};
    let cases: Vec<(&str, Actor, Box<Change>, &[&str])> = vec![
        ("its developer, draft", dan(), Box::new(none), &[]),
        ("its developer, in flight", dan(), Box::new(state(TurnoverState::InFlight)), &[]),
        ("an engineer", erin(), Box::new(none), &[]),
        ("a manager", rita(), Box::new(none), &[]),
        ("another developer", dora(), Box::new(none), &["not_developer"]),
        ("a viewer", vic(), Box::new(none), &["role_required"]),
        ("its developer, frozen", dan(), Box::new(frozen), &["frozen"]),
        ("its developer, completed", dan(), Box::new(state(TurnoverState::Completed)), &["wrong_state"]),
        ("an engineer, cancelled", erin(), Box::new(state(TurnoverState::Cancelled)), &["wrong_state"]),
    ];
    for (what, actor, change, expected) in cases {
        let mut t = turnover(&p);
        change(&mut t);
        let list = t.actions(&actor, &facts(Vec::new()));
        assert_eq!(guards_of(&list, "edit"), expected, "{what}");
        no_rule_numbers(&list);
    }
}

#[test]
fn a_production_ready_turnover_is_assembled_from_a_validated_one_while_its_train_is_ready() {
    let p = path(&[("test", true, true)]);
    let t = turnover(&p);
    let validated = deployment("DE-1", &t, 0, 1, DeploymentState::Validated);
    let failed = deployment("DE-1", &t, 0, 1, DeploymentState::Failed);
    use TrainState::*;
    for (what, actor, train_state, deployments, expected) in [
        ("validated, train in verification", dan(), Verification, vec![validated.clone()], &[][..]),
        ("validated, awaiting executive approval", erin(), AwaitingExecutiveApproval, vec![validated.clone()], &[]),
        ("validated, train in deployment", rita(), Deployment, vec![validated.clone()], &[]),
        ("validated, train in construction", dan(), Construction, vec![validated.clone()], &["train_not_ready"]),
        ("failed, train in verification", dan(), Verification, vec![failed.clone()], &["from_not_validated"]),
        ("nothing, train in construction", dan(), Construction, vec![], &["train_not_ready", "from_not_validated"]),
        ("a viewer", vic(), Verification, vec![validated.clone()], &["role_required"]),
    ] {
        let mut f = facts(deployments);
        f.train = Some(train(train_state));
        let list = t.actions(&actor, &f);
        assert_eq!(guards_of(&list, "create_production"), expected, "{what}");
        no_rule_numbers(&list);
    }
    // A validated deployment of an earlier generation (before a send back) no longer counts.
    let mut again = t.clone();
    again.generation += 1;
    let mut f = facts(vec![validated]);
    f.train = Some(train(Verification));
    assert_eq!(guards_of(&again.actions(&dan(), &f), "create_production"), ["from_not_validated"]);
}

/// A production-ready turnover into prod and dr, accepted.
fn production() -> Turnover {
    let mut t = turnover(&path(&[("prod", true, true), ("dr", true, true)]));
    let undo =
        serde_json::from_value(serde_json::json!({"title": "Undo", "sequence": 10, "owner": "dan", "rollback": true}))
            .expect("a rollback task");
    t.add_task("TA-10".into(), undo, &dan()).expect("a rollback task everywhere");
    t.kind = TurnoverKind::ProductionReady;
    t.state = TurnoverState::Accepted;
    t
}

fn in_prod(t: &Turnover, attempt: u32, state: DeploymentState, rollback: bool) -> Deployment {
    let mut d = deployment(&format!("DE-{attempt}"), t, 0, attempt, state);
    d.rollback = rollback;
    d
}

#[test]
fn a_production_ready_turnover_is_scheduled_verified_and_rolled_back_in_each_environment() {
    use DeploymentState::*;
    let t = production();
    let ok: &[&str] = &[];
    let nothing: &[&str] = &["nothing_to_verify"];
    let failed: &[&str] = &["nothing_failed"];
    // The latest deployment in prod → schedule, verify, roll back there.
    for (what, latest, expected) in [
        ("nothing yet", None, [ok, nothing, failed]),
        ("scheduled", Some(in_prod(&t, 1, Scheduled, false)), [ok, nothing, failed]),
        ("running", Some(in_prod(&t, 1, Running, false)), [&["deployment_active"][..], nothing, failed]),
        ("succeeded", Some(in_prod(&t, 1, Succeeded, false)), [&["awaiting_verification"][..], ok, failed]),
        ("verified", Some(in_prod(&t, 1, Validated, false)), [&["already_verified"][..], nothing, failed]),
        ("failed", Some(in_prod(&t, 1, Failed, false)), [ok, nothing, ok]),
        ("rejected in verification", Some(in_prod(&t, 1, Rejected, false)), [ok, nothing, ok]),
        ("rolled back", Some(in_prod(&t, 2, Succeeded, true)), [ok, nothing, failed]),
    ] {
        let mut f = facts(latest.into_iter().collect());
        f.environments.push(env("dr", "production"));
        let list = t.actions(&erin(), &f);
        for (action, expected) in ["schedule_production", "verify_production", "rollback"].into_iter().zip(expected) {
            assert_eq!(guards_on(&list, action, "prod"), expected, "{action} in prod, {what}");
        }
        assert_eq!(guards_on(&list, "schedule_production", "dr"), ok, "dr is untouched, {what}");
        no_rule_numbers(&list);
    }
    // An environment that no longer exists is not scheduled into (the facts know test, staging and prod).
    let list = t.actions(&erin(), &facts(Vec::new()));
    assert_eq!(guards_on(&list, "schedule_production", "dr"), ["environment_missing"]);
    // Developers and viewers do not deploy; a turnover not yet accepted is not scheduled.
    let list = t.actions(&dan(), &facts(vec![in_prod(&t, 1, Failed, false)]));
    for action in ["schedule_production", "verify_production", "rollback"] {
        assert_eq!(guards_on(&list, action, "prod"), ["role_required"], "{action} by a developer");
    }
    let mut draft = t.clone();
    draft.state = TurnoverState::Draft;
    assert_eq!(guards_on(&draft.actions(&erin(), &facts(Vec::new())), "schedule_production", "prod"), ["not_accepted"]);
    // A standard turnover lists none of them.
    let standard = turnover(&path(&[("test", true, true)]));
    let list = standard.actions(&erin(), &facts(Vec::new()));
    assert!(list.iter().all(|a| a.on.is_none()), "{list:?}");
}

#[test]
fn a_manual_run_is_completed_by_its_owner_or_a_release_engineer_once_it_waits_for_them() {
    let t = turnover(&path(&[("test", true, true)]));
    let mut d = deployment("DE-1", &t, 0, 1, DeploymentState::Running);
    let run = d.runs.iter().position(|r| r.owner.as_deref() == Some("dan")).expect("the manual run");
    let id = d.runs[run].id.clone();
    for (what, actor, state, expected) in [
        ("its owner", dan(), RunState::WaitingForOwner, &[][..]),
        ("a release engineer", erin(), RunState::WaitingForOwner, &[]),
        ("another developer", dora(), RunState::WaitingForOwner, &["not_run_owner"]),
        ("a viewer", vic(), RunState::WaitingForOwner, &["role_required"]),
        ("its owner, before it waits", dan(), RunState::Pending, &["wrong_state"]),
        ("its owner, once done", dan(), RunState::Succeeded, &["wrong_state"]),
    ] {
        d.runs[run].state = state;
        let list = d.actions(&actor, &t, std::slice::from_ref(&d), "rita", now());
        assert_eq!(guards_on(&list, "complete_run", &id), expected, "{what}");
        no_rule_numbers(&list);
    }
}

#[test]
fn a_deployment_awaits_its_start_only_while_scheduled_and_not_started() {
    let t = turnover(&path(&[("test", true, true)]));
    let mut d = deployment("DE-1", &t, 0, 1, DeploymentState::Scheduled);
    assert!(d.awaits_start());
    d.started_at = Some(now());
    assert!(!d.awaits_start());
    assert!(!deployment("DE-2", &t, 0, 1, DeploymentState::Running).awaits_start());
}
