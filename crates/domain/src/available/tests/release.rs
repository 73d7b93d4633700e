use super::*;
use crate::{MembershipState, ReleaseFacts, ReleaseState};

const NAMES: [&str; 7] =
    ["begin_work", "request_development_approval", "send_back", "cancel", "accept", "reject", "remove"];

#[test]
fn every_release_action_from_every_state() {
    use ReleaseState::*;
    let w: &[&str] = &["wrong_state"];
    let ok: &[&str] = &[];
    let np: &[&str] = &["not_proposed"];
    let t = train(TrainState::Construction);
    // Accepted on a train in construction, acted on by its product owner (membership by rita).
    for (state, expected) in [
        (Planning, [ok, w, w, ok, np, np, ok]),
        (Construction, [w, ok, w, ok, np, np, ok]),
        (AwaitingDevelopmentApproval, [w, w, ok, ok, np, np, w]),
        (Verification, [w, w, ok, ok, np, np, w]),
        (Released, [w, w, w, w, np, np, w]),
        (Closed, [w, w, w, w, np, np, w]),
        (Cancelled, [w, w, w, w, np, np, ok]),
    ] {
        let mut r = release_on(&t);
        r.state = state;
        let mut expected: Vec<(&str, &[&str])> = NAMES.iter().copied().zip(expected).collect();
        // Accepting and rejecting proposals is the managers'.
        expected[4].1 = &["role_required"];
        expected[5].1 = &["role_required"];
        let list = r.actions(&eve(), Some(&t), &ReleaseFacts::default(), now());
        // The lifecycle and membership come first; what belongs to the release is in `release_parts`.
        row(&list[..NAMES.len()], &expected, &format!("product owner, release in {state:?}"));
        no_rule_numbers(&list);
    }
}

#[test]
fn a_release_is_sent_back_only_before_deployment_and_never_under_a_running_deployment() {
    let mut t = train(TrainState::Construction);
    let mut r = release_on(&t);
    t.state = TrainState::Verification;
    r.state = ReleaseState::Verification;
    let running = ReleaseFacts { running_deployments: vec![("DE-3".into(), "TO-1".into())] };
    let list = r.actions(&eve(), Some(&t), &running, now());
    assert_eq!(guards_of(&list, "send_back"), ["deployment_running"]);
    t.state = TrainState::Deployment;
    let list = r.actions(&eve(), Some(&t), &ReleaseFacts::default(), now());
    assert_eq!(guards_of(&list, "send_back"), ["train_in_deployment"]);
    no_rule_numbers(&list);
}

#[test]
fn a_proposal_is_decided_by_another_manager_than_its_proposer() {
    let t = train(TrainState::Construction);
    let mut r = release_on(&t);
    if let Some(m) = r.membership.as_mut() {
        m.state = MembershipState::Proposed;
        m.proposed_by = "rita".into();
    }
    let list = r.actions(&rita(), Some(&t), &ReleaseFacts::default(), now());
    assert_eq!(guards_of(&list, "accept"), ["own_proposal"]);
    assert_eq!(guards_of(&list, "begin_work"), ["membership_pending"]);
    let list = r.actions(&ralph(), Some(&t), &ReleaseFacts::default(), now());
    assert_eq!(guards_of(&list, "accept"), Vec::<String>::new());
    assert_eq!(guards_of(&list, "reject"), Vec::<String>::new());
    let list = r.actions(&ralph(), None, &ReleaseFacts::default(), now());
    assert_eq!(guards_of(&list, "accept"), ["invalid_input"], "no train to accept it on");
}

#[test]
fn another_product_owner_may_not_move_the_release() {
    let t = train(TrainState::Construction);
    let r = release_on(&t);
    let paula = Actor::new("paula", &[Role::ProductOwner]);
    let list = r.actions(&paula, Some(&t), &ReleaseFacts::default(), now());
    assert_eq!(guards_of(&list, "begin_work"), ["not_product_owner"]);
    assert_eq!(guards_of(&list, "send_back"), ["wrong_state", "not_product_owner"]);
}
