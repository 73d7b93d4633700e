use serde_json::json;

use super::*;
use crate::approval::ApprovalRequest;
use crate::{Approval, ApprovalKind, ApprovalPolicy, ApprovalState};

/// A train approval rita requested; erin decides it.
fn approval(state: ApprovalState, override_allowed: bool) -> Approval {
    let policy: ApprovalPolicy = serde_json::from_value(
        json!({"levels": [{"approvers": ["erin"], "required": 1}], "override_allowed": override_allowed}),
    )
    .expect("a policy");
    let (mut a, _) = Approval::request(ApprovalRequest {
        id: "AP-1".into(),
        kind: ApprovalKind::Train,
        train_id: "RT-1",
        gate: None,
        subject_id: "RT-1",
        policy: &policy,
        requested_by: "rita",
        now: now(),
    });
    a.state = state;
    a
}

#[test]
fn every_approval_action_from_every_state() {
    use ApprovalState::*;
    let w: &[&str] = &["wrong_state"];
    let ok: &[&str] = &[];
    let role: &[&str] = &["role_required"];
    for state in [Pending, Approved, Rejected, Overridden, Cancelled] {
        let pending = state == Pending;
        let a = approval(state, true);
        let names = ["approve", "reject", "override"];
        let by_erin = if pending { [ok, ok, role] } else { [w, w, role] };
        row(
            &a.actions(&erin(), "rita", now()),
            &names.iter().copied().zip(by_erin).collect::<Vec<_>>(),
            &format!("approver, {state:?}"),
        );
        let by_rita: [&[&str]; 3] = if pending {
            [&["own_request", "not_an_approver"], &["own_request", "not_an_approver"], ok]
        } else {
            [&["wrong_state", "own_request"], &["wrong_state", "own_request"], w]
        };
        row(
            &a.actions(&rita(), "rita", now()),
            &names.iter().copied().zip(by_rita).collect::<Vec<_>>(),
            &format!("manager, {state:?}"),
        );
        no_rule_numbers(&a.actions(&rita(), "rita", now()));
    }
}

#[test]
fn an_override_needs_a_policy_that_allows_it_and_the_trains_own_manager() {
    let a = approval(ApprovalState::Pending, false);
    assert_eq!(guards_of(&a.actions(&rita(), "rita", now()), "override"), ["override_not_allowed"]);
    let a = approval(ApprovalState::Pending, true);
    assert_eq!(guards_of(&a.actions(&ralph(), "rita", now()), "override"), ["not_train_manager"]);
    let admin = Actor::new("root", &[Role::Admin]);
    assert_eq!(guards_of(&a.actions(&admin, "rita", now()), "override"), ["not_train_manager"], "not even an admin");
    no_rule_numbers(&a.actions(&ralph(), "rita", now()));
}

#[test]
fn each_approver_decides_once() {
    let mut a = approval(ApprovalState::Pending, false);
    a.levels[0].required = 2;
    a.levels[0].approvers.push("erik".into());
    a.decide("erin", crate::Verdict::Approve, None, None, now()).expect("decided");
    assert_eq!(guards_of(&a.actions(&erin(), "rita", now()), "approve"), ["already_decided"]);
}

#[test]
fn a_send_back_withdraws_the_release_own_approval_and_the_train_s_verification_approvals() {
    let own = approval(ApprovalState::Pending, false);
    assert!(own.rests_on_release("RT-1", false), "the subject's own approval");
    let mut exec = approval(ApprovalState::Pending, false);
    exec.kind = ApprovalKind::Executive;
    assert!(exec.rests_on_release("AR-1", true), "the train returns to construction");
    assert!(!exec.rests_on_release("AR-1", false), "the train stays where it is");
    let mut gate = approval(ApprovalState::Pending, false);
    gate.kind = ApprovalKind::Gate;
    gate.gate = Some(crate::GateName::Scoping);
    assert!(!gate.rests_on_release("AR-1", true), "the scoping gate did not rest on the release");
    gate.gate = Some(crate::GateName::Verification);
    assert!(gate.rests_on_release("AR-1", true));
}
