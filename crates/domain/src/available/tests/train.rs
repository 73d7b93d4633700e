use super::*;
use crate::train::Surroundings;

const W: &[&str] = &["wrong_state"];
const OK: &[&str] = &[];

#[test]
fn every_train_action_from_every_state() {
    use TrainState::*;
    let table: [(TrainState, [&[&str]; 6]); 9] = [
        //                        submit start_c start_v req_exec close cancel
        (Draft, [OK, W, W, W, W, OK]),
        (AwaitingTrainApproval, [W, W, W, W, W, OK]),
        (Scoping, [W, OK, W, W, W, OK]),
        (Construction, [W, W, OK, W, W, OK]),
        (Verification, [W, W, W, OK, W, OK]),
        (AwaitingExecutiveApproval, [W, W, W, W, W, OK]),
        (Deployment, [W, W, W, W, OK, OK]),
        (Closed, [W, W, W, W, W, W]),
        (Cancelled, [W, W, W, W, W, W]),
    ];
    let names = ["submit", "start_construction", "start_verification", "request_executive_approval", "close", "cancel"];
    for (state, guards) in table {
        let list = train(state).actions(&rita(), &Surroundings::default(), now());
        let expected: Vec<(&str, &[&str])> = names.iter().copied().zip(guards).collect();
        row(&list, &expected, &format!("the manager, train in {state}"));
        no_rule_numbers(&list);
    }
}

#[test]
fn only_managers_advance_and_cancel_a_train_and_engineers_may_close_it_too() {
    let t = train(TrainState::Deployment);
    let around = Surroundings::default();
    for who in [dan(), eve(), vic()] {
        let list = t.actions(&who, &around, now());
        assert!(list.iter().all(|a| guards_of(&list, &a.action) == ["role_required"]), "{who:?}: {list:?}");
    }
    let list = t.actions(&erin(), &around, now());
    assert_eq!(guards_of(&list, "close"), Vec::<String>::new(), "an engineer closes any train");
    assert_eq!(guards_of(&list, "cancel"), ["role_required"]);
}

#[test]
fn a_train_closes_only_by_its_manager_or_an_engineer_and_never_while_a_deployment_runs() {
    let t = train(TrainState::Deployment);
    let list = t.actions(&ralph(), &Surroundings::default(), now());
    assert_eq!(guards_of(&list, "close"), ["not_manager_or_engineer"], "another manager does not close it");
    let around =
        Surroundings { open_turnovers: vec!["deployment DE-4 of TO-2 is running".into()], ..Default::default() };
    let list = t.actions(&rita(), &around, now());
    assert_eq!(guards_of(&list, "close"), ["turnover_open"]);
    let list = t.actions(&erin(), &around, now());
    assert_eq!(guards_of(&list, "close"), ["turnover_open"]);
    no_rule_numbers(&list);
}

#[test]
fn verification_waits_for_development_approval_and_executive_approval_for_verified_releases() {
    let around = Surroundings {
        not_development_approved: vec![("AR-1".into(), "PAY 1".into())],
        not_verified: vec![("AR-1".into(), "PAY 1".into(), "it has no turnover".into())],
        ..Default::default()
    };
    let list = train(TrainState::Construction).actions(&rita(), &around, now());
    assert_eq!(guards_of(&list, "start_verification"), ["release_not_development_approved"]);
    let list = train(TrainState::Verification).actions(&rita(), &around, now());
    assert_eq!(guards_of(&list, "request_executive_approval"), ["release_not_verified"]);
    no_rule_numbers(&list);
}

#[test]
fn a_train_without_an_executive_policy_is_never_submitted() {
    let mut t = train(TrainState::Draft);
    t.approval_policies.executive = None;
    let list = t.actions(&rita(), &Surroundings::default(), now());
    assert_eq!(guards_of(&list, "submit"), ["executive_policy_missing"]);
    no_rule_numbers(&list);
}

#[test]
fn what_keeps_a_train_open_is_an_unverified_production_turnover_or_a_running_deployment() {
    use crate::train::closing_blockers;
    use crate::{DeploymentState, TurnoverKind, TurnoverState};
    let mut t = super::turnover(&path(&[("test", true, true)]));
    t.state = TurnoverState::InFlight;
    let running = super::turnover::deployment("DE-1", &t, 0, 1, DeploymentState::Running);
    let open = closing_blockers(&[(&t, std::slice::from_ref(&running))]);
    assert_eq!(open.len(), 1, "{open:?}");
    assert!(open[0].contains("DE-1") && open[0].contains("running"), "{open:?}");
    // A pre-production turnover with nothing running does not keep the train open.
    assert!(closing_blockers(&[(&t, &[])]).is_empty());
    t.kind = TurnoverKind::ProductionReady;
    t.state = TurnoverState::Delivered;
    let open = closing_blockers(&[(&t, &[])]);
    assert!(open[0].contains("not yet accepted"), "{open:?}");
    t.state = TurnoverState::Verified;
    assert!(closing_blockers(&[(&t, &[])]).is_empty());
    t.state = TurnoverState::Cancelled;
    assert!(closing_blockers(&[(&t, &[])]).is_empty());
}
