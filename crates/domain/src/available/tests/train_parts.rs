//! A train's plan and parts through its list of actions: edit, hand over, copy, what may join it, and
//! each gate, exit criterion and milestone (`on` the part), for several roles and states.

use super::*;
use crate::train::{CriterionSpec, MilestoneSpec, Surroundings};
use crate::{CriterionState, Evidence, GateName, MilestoneState};

const W: &[&str] = &["wrong_state"];
const OK: &[&str] = &[];
const CLOSED: &[&str] = &["train_closed_to_releases"];
const NOT_READY: &[&str] = &["train_not_ready"];
const ROLE: &[&str] = &["role_required"];

/// The entries of `list` on the part `part`.
fn on(list: &[AvailableAction], part: &str) -> Vec<AvailableAction> {
    list.iter().filter(|a| a.on.as_deref() == Some(part)).cloned().collect::<Vec<_>>()
}

/// Rita's train in `state` with a gate policy (eve decides), the scoping gate needing approval, exit
/// criterion EC-1 of the scoping gate owned by eve, and milestone MS-1 owned by dan.
fn planned(state: TrainState) -> Train {
    let level = json!({"gate": {"levels": [{"approvers": ["eve"], "required": 1}]}});
    let mut t = train_with(level, TrainState::Draft);
    t.set_gate_approval_required(GateName::Scoping, true).expect("the scoping gate needs approval");
    let spec = CriterionSpec { title: "Scope signed off".into(), owner: Some("eve".into()), environment: None };
    t.add_criterion(GateName::Scoping, "EC-1".into(), spec).expect("a criterion");
    let due = t.schedule.scoping_end;
    let spec = MilestoneSpec { title: "Freeze".into(), due, owner: Some("dan".into()), inherit: false };
    t.add_milestone("MS-1".into(), spec).expect("a milestone");
    t.state = state;
    t
}

#[test]
fn the_plan_of_a_train_from_every_state() {
    use TrainState::*;
    //                  edit hand_over copy add_milestone add_release add_turnover
    let table: [(TrainState, [&[&str]; 6]); 9] = [
        (Draft, [OK, OK, OK, OK, OK, NOT_READY]),
        (AwaitingTrainApproval, [OK, OK, OK, OK, OK, NOT_READY]),
        (Scoping, [OK, OK, OK, OK, OK, NOT_READY]),
        (Construction, [OK, OK, OK, OK, OK, NOT_READY]),
        (Verification, [OK, OK, OK, OK, CLOSED, OK]),
        (AwaitingExecutiveApproval, [OK, OK, OK, OK, CLOSED, OK]),
        (Deployment, [OK, OK, OK, OK, CLOSED, OK]),
        (Closed, [W, W, OK, W, CLOSED, NOT_READY]),
        (Cancelled, [W, W, OK, W, CLOSED, NOT_READY]),
    ];
    let names = ["edit", "hand_over", "copy", "add_milestone", "add_release", "add_turnover"];
    for (state, guards) in table {
        let list = planned(state).plan_actions(&rita());
        let expected: Vec<(&str, &[&str])> = names.iter().copied().zip(guards).collect();
        row(&list, &expected, &format!("the manager, train in {state}"));
        no_rule_numbers(&list);
    }
}

#[test]
fn who_may_change_the_plan_and_who_may_bring_releases_and_turnovers_to_it() {
    let names = ["edit", "hand_over", "copy", "add_milestone", "add_release", "add_turnover"];
    let t = planned(TrainState::Construction);
    let not_manager: &[&str] = &["not_train_manager"];
    let table: [(Actor, [&[&str]; 6]); 5] = [
        // Another release manager edits the plan but does not hand the train over.
        (ralph(), [OK, not_manager, OK, OK, OK, NOT_READY]),
        (erin(), [ROLE, ROLE, ROLE, ROLE, ROLE, NOT_READY]),
        (eve(), [ROLE, ROLE, ROLE, ROLE, OK, ROLE]),
        (dan(), [ROLE, ROLE, ROLE, ROLE, ROLE, NOT_READY]),
        (vic(), [ROLE, ROLE, ROLE, ROLE, ROLE, ROLE]),
    ];
    for (who, guards) in table {
        let list = t.plan_actions(&who);
        let expected: Vec<(&str, &[&str])> = names.iter().copied().zip(guards).collect();
        row(&list, &expected, &format!("{} on a train in construction", who.name));
    }
    let t = planned(TrainState::Verification);
    assert_eq!(guards_of(&t.plan_actions(&dan()), "add_turnover"), Vec::<String>::new(), "developers assemble");
    assert_eq!(guards_of(&t.plan_actions(&eve()), "add_release"), CLOSED);
}

#[test]
fn each_gate_is_edited_and_its_approval_requested_only_in_its_own_stage() {
    use TrainState::*;
    let closed: &[&str] = &["gate_closed"];
    let not_required: &[&str] = &["wrong_state", "gate_approval_not_required"];
    //                     scoping: edit_gate add_criterion request | construction: edit_gate add_criterion request
    let table: [(TrainState, [&[&str]; 6]); 5] = [
        (Draft, [OK, OK, W, OK, OK, not_required]),
        (Scoping, [OK, OK, OK, OK, OK, not_required]),
        (Construction, [closed, closed, W, OK, OK, &["gate_approval_not_required"]]),
        (Verification, [closed, closed, W, closed, closed, not_required]),
        (Closed, [closed, closed, W, closed, closed, not_required]),
    ];
    for (state, guards) in table {
        let t = planned(state);
        let all = t.part_actions(&rita(), now());
        let mut list = on(&all, "scoping");
        list.extend(on(&all, "construction"));
        let names = ["edit_gate", "add_criterion", "request_gate_approval"];
        let expected: Vec<(&str, &[&str])> = names.iter().chain(names.iter()).copied().zip(guards).collect();
        row(&list, &expected, &format!("the manager's gates, train in {state}"));
        no_rule_numbers(&list);
    }
    // Without a gate policy the request waits for one; while one is pending the flag stays.
    let mut t = planned(Scoping);
    t.approval_policies.gate = None;
    let list = on(&t.part_actions(&rita(), now()), "scoping");
    assert_eq!(guards_of(&list, "request_gate_approval"), ["gate_policy_missing"]);
    let mut t = planned(Scoping);
    t.request_gate_approval(GateName::Scoping, "AP-1".into(), &rita(), now()).expect("requested");
    let list = on(&t.part_actions(&rita(), now()), "scoping");
    assert_eq!(guards_of(&list, "edit_gate"), ["gate_approval_pending"]);
    assert_eq!(guards_of(&list, "request_gate_approval"), ["gate_approval_pending"]);
    assert_eq!(guards_of(&list, "add_criterion"), Vec::<String>::new());
    // Only release managers change gates.
    let list = on(&planned(Scoping).part_actions(&erin(), now()), "scoping");
    row(&list, &[("edit_gate", ROLE), ("add_criterion", ROLE), ("request_gate_approval", ROLE)], "an engineer");
}

#[test]
fn an_exit_criterion_is_met_by_its_owner_engineers_and_managers_and_waived_by_its_owner_and_managers() {
    let not_owner: &[&str] = &["not_owner"];
    let names = ["meet_criterion", "waive_criterion", "reopen_criterion", "edit_criterion", "remove_criterion"];
    let t = planned(TrainState::Scoping);
    let table: [(Actor, [&[&str]; 5]); 6] = [
        (rita(), [OK, OK, W, OK, OK]),
        (ralph(), [OK, OK, W, OK, OK]),
        // Engineers meet any criterion but waive none.
        (erin(), [OK, ROLE, W, ROLE, ROLE]),
        // Its owner meets and reopens hers; waiving needs a release manager's role first.
        (eve(), [OK, ROLE, W, ROLE, ROLE]),
        (dan(), [not_owner, ROLE, &["wrong_state", "not_owner"], ROLE, ROLE]),
        (vic(), [ROLE, ROLE, ROLE, ROLE, ROLE]),
    ];
    for (who, guards) in table {
        let list = on(&t.part_actions(&who, now()), "scoping/EC-1");
        let expected: Vec<(&str, &[&str])> = names.iter().copied().zip(guards).collect();
        row(&list, &expected, &format!("{} on an open criterion", who.name));
        no_rule_numbers(&list);
    }
    // Met: reopened by its owner, not met again; past its gate's stage nothing changes it.
    let mut t = planned(TrainState::Scoping);
    let evidence = Some(Evidence { note: "signed".into(), link: None });
    t.decide_criterion("EC-1", CriterionState::Met, evidence, None, &eve(), now()).expect("met");
    let list = on(&t.part_actions(&eve(), now()), "scoping/EC-1");
    assert_eq!(guards_of(&list, "reopen_criterion"), Vec::<String>::new());
    assert_eq!(guards_of(&list, "meet_criterion"), W);
    t.state = TrainState::Construction;
    let list = on(&t.part_actions(&rita(), now()), "scoping/EC-1");
    let gate_closed: &[&str] = &["gate_closed"];
    let expected: Vec<(&str, &[&str])> = names.iter().copied().zip([gate_closed; 5]).collect();
    row(&list, &expected, "past the scoping stage");
}

#[test]
fn a_milestone_is_decided_by_its_owner_or_a_manager_and_edited_by_managers_while_the_train_is_open() {
    let names = ["complete_milestone", "miss_milestone", "edit_milestone", "remove_milestone"];
    let not_owner: &[&str] = &["not_owner"];
    let t = planned(TrainState::Construction);
    let table: [(Actor, [&[&str]; 4]); 5] = [
        (rita(), [OK, OK, OK, OK]),
        (dan(), [OK, OK, ROLE, ROLE]),
        (erin(), [not_owner, not_owner, ROLE, ROLE]),
        (eve(), [not_owner, not_owner, ROLE, ROLE]),
        (vic(), [ROLE, ROLE, ROLE, ROLE]),
    ];
    for (who, guards) in table {
        let list = on(&t.part_actions(&who, now()), "MS-1");
        let expected: Vec<(&str, &[&str])> = names.iter().copied().zip(guards).collect();
        row(&list, &expected, &format!("{} on an open milestone", who.name));
        no_rule_numbers(&list);
    }
    let mut t = planned(TrainState::Construction);
    t.decide_milestone("MS-1", MilestoneState::Completed, &dan(), now()).expect("completed");
    let list = on(&t.part_actions(&dan(), now()), "MS-1");
    row(
        &list,
        &[("complete_milestone", W), ("miss_milestone", W), ("edit_milestone", ROLE), ("remove_milestone", ROLE)],
        "completed",
    );
    t.state = TrainState::Closed;
    let list = on(&t.part_actions(&rita(), now()), "MS-1");
    let expected: Vec<(&str, &[&str])> = names.iter().copied().zip([W; 4]).collect();
    row(&list, &expected, "a closed train");
}

#[test]
fn the_train_lists_its_lifecycle_then_its_plan_then_its_parts() {
    let t = planned(TrainState::Scoping);
    let all = t.all_actions(&rita(), &Surroundings::default(), now());
    let names: Vec<&str> = all.iter().filter(|a| a.on.is_none()).map(|a| a.action.as_str()).collect();
    assert_eq!(
        names[..6],
        ["submit", "start_construction", "start_verification", "request_executive_approval", "close", "cancel"]
    );
    assert_eq!(names[6..], ["edit", "hand_over", "copy", "add_milestone", "add_release", "add_turnover"]);
    assert_eq!(on(&all, "scoping/EC-1").len(), 5);
    assert_eq!(on(&all, "MS-1").len(), 4);
    assert!(AvailableAction::allows_on(&all, "meet_criterion", "scoping/EC-1"));
    assert!(!AvailableAction::allows(&all, "meet_criterion"), "an action on a part is not on the train");
}
