//! What belongs to an application release: change it, propose it, its work items, dependencies,
//! milestones, a new turnover of it, and its application's actions.

use super::*;
use crate::{MembershipState, MilestoneSpec, ReleaseFacts, ReleaseState};

/// The actions on the release itself beside its lifecycle, in the list's order.
const PARTS: [&str; 6] = ["edit", "propose", "manage_work_items", "add_dependency", "add_milestone", "create_turnover"];

/// The guard codes of `action` on the part `on`.
fn guards_on(list: &[AvailableAction], action: &str, on: &str) -> Vec<String> {
    let a = list
        .iter()
        .find(|a| a.action == action && a.on.as_deref() == Some(on))
        .unwrap_or_else(|| panic!("no {action} on {on} in {list:?}"));
    assert_eq!(a.allowed, a.guards.is_empty(), "{a:?}");
    a.guards.iter().map(|g| g.code.clone()).collect()
}

/// The parts' row: each action of [`PARTS`] with its guard codes.
fn parts(list: &[AvailableAction]) -> Vec<(String, Vec<String>)> {
    codes(list).into_iter().filter(|(a, _)| PARTS.contains(&a.as_str())).collect()
}

#[track_caller]
fn parts_row(list: &[AvailableAction], expected: [&[&str]; 6], what: &str) {
    let expected: Vec<(String, Vec<String>)> =
        PARTS.iter().zip(expected).map(|(a, g)| (a.to_string(), g.iter().map(|c| c.to_string()).collect())).collect();
    assert_eq!(parts(list), expected, "{what}");
}

#[test]
fn what_belongs_to_a_release_from_every_state_for_a_manager() {
    use ReleaseState::*;
    let ok: &[&str] = &[];
    let w: &[&str] = &["wrong_state"];
    let t = train(TrainState::Construction);
    // On train RT-1 in construction: proposing again is refused as it is already on it; a turnover
    // waits for work to begin and ends once the release is released.
    let on: &[&str] = &["already_on_a_train"];
    let won: &[&str] = &["wrong_state", "already_on_a_train"];
    let nb: &[&str] = &["release_not_begun"];
    for (state, expected) in [
        (Planning, [ok, on, ok, ok, ok, nb]),
        (Construction, [ok, on, ok, ok, ok, ok]),
        (AwaitingDevelopmentApproval, [ok, won, ok, ok, ok, ok]),
        (Verification, [ok, won, ok, ok, ok, ok]),
        (Released, [ok, won, ok, ok, ok, nb]),
        (Closed, [w, won, w, w, w, nb]),
        (Cancelled, [w, won, w, w, w, nb]),
    ] {
        let mut r = release_on(&t);
        r.state = state;
        let list = r.actions(&rita(), Some(&t), &ReleaseFacts::default(), now());
        parts_row(&list, expected, &format!("manager, release in {state:?}"));
        no_rule_numbers(&list);
    }
}

#[test]
fn who_may_change_a_release_and_create_its_turnovers() {
    let t = train(TrainState::Construction);
    let mut r = release_on(&t);
    r.state = ReleaseState::Construction;
    let ok: &[&str] = &[];
    let role: &[&str] = &["role_required"];
    let on: &[&str] = &["already_on_a_train"];
    let npo: &[&str] = &["not_product_owner"];
    let on_npo: &[&str] = &["already_on_a_train", "not_product_owner"];
    let paula = Actor::new("paula", &[Role::ProductOwner]);
    for (who, expected) in [
        (rita(), [ok, on, ok, ok, ok, ok]),
        (paula, [npo, on_npo, npo, npo, npo, role]),
        (dan(), [role, role, role, role, role, ok]),
        (erin(), [role, role, role, role, role, ok]),
        (vic(), [role, role, role, role, role, role]),
    ] {
        let list = r.actions(&who, Some(&t), &ReleaseFacts::default(), now());
        parts_row(&list, expected, &who.name);
    }
}

#[test]
fn a_release_on_no_train_may_be_proposed_and_takes_no_turnover() {
    let t = train(TrainState::Construction);
    let mut r = release_on(&t);
    r.membership = None;
    let list = r.actions(&eve(), None, &ReleaseFacts::default(), now());
    assert_eq!(guards_of(&list, "propose"), Vec::<String>::new());
    let list = r.actions(&erin(), None, &ReleaseFacts::default(), now());
    assert_eq!(guards_of(&list, "create_turnover"), ["release_not_on_train"]);
    r.state = ReleaseState::Verification;
    let list = r.actions(&eve(), None, &ReleaseFacts::default(), now());
    assert_eq!(guards_of(&list, "propose"), ["wrong_state"]);
    // Proposed, not accepted yet: no turnover rides it.
    let mut r = release_on(&t);
    r.state = ReleaseState::Construction;
    if let Some(m) = r.membership.as_mut() {
        m.state = MembershipState::Proposed;
    }
    let list = r.actions(&erin(), Some(&t), &ReleaseFacts::default(), now());
    assert_eq!(guards_of(&list, "create_turnover"), ["release_not_on_train"]);
    // A train past its deployment takes no new turnover.
    let mut closed = t.clone();
    closed.state = TrainState::Closed;
    let mut r = release_on(&t);
    r.state = ReleaseState::Verification;
    let list = r.actions(&erin(), Some(&closed), &ReleaseFacts::default(), now());
    assert_eq!(guards_of(&list, "create_turnover"), ["train_not_in_construction"]);
    let mut scoping = t.clone();
    scoping.state = TrainState::Scoping;
    let list = r.actions(&erin(), Some(&scoping), &ReleaseFacts::default(), now());
    assert_eq!(guards_of(&list, "create_turnover"), ["train_not_in_construction"]);
}

#[test]
fn each_dependency_is_removed_on_its_own() {
    let t = train(TrainState::Construction);
    let mut r = release_on(&t);
    r.dependencies = vec!["AR-7".into(), "AR-8".into()];
    let list = r.actions(&eve(), Some(&t), &ReleaseFacts::default(), now());
    assert_eq!(guards_on(&list, "remove_dependency", "AR-7"), Vec::<String>::new());
    assert_eq!(guards_on(&list, "remove_dependency", "AR-8"), Vec::<String>::new());
    assert!(AvailableAction::allows_on(&list, "remove_dependency", "AR-8"));
    assert!(!AvailableAction::allows(&list, "remove_dependency"), "only on a dependency");
    let list = r.actions(&Actor::new("paula", &[Role::ProductOwner]), Some(&t), &ReleaseFacts::default(), now());
    assert_eq!(guards_on(&list, "remove_dependency", "AR-7"), ["not_product_owner"]);
    assert_eq!(guards_on(&list, "remove_dependency", "AR-7"), guards_of(&list, "add_dependency"));
    let list = r.actions(&vic(), Some(&t), &ReleaseFacts::default(), now());
    assert_eq!(guards_on(&list, "remove_dependency", "AR-8"), ["role_required"]);
    r.state = ReleaseState::Cancelled;
    let list = r.actions(&eve(), Some(&t), &ReleaseFacts::default(), now());
    assert_eq!(guards_on(&list, "remove_dependency", "AR-8"), ["wrong_state"]);
}

#[test]
fn each_milestone_is_decided_by_its_owner_the_product_owner_or_a_manager() {
    let t = train(TrainState::Construction);
    let mut r = release_on(&t);
    let spec = |owner: Option<&str>| MilestoneSpec {
        title: "Code freeze".into(),
        due: now().date_naive(),
        owner: owner.map(str::to_string),
        inherit: false,
    };
    r.add_milestone("MS-1".into(), spec(Some("dan")), &eve()).expect("added");
    r.add_milestone("MS-2".into(), spec(None), &eve()).expect("added");
    r.decide_milestone("MS-2", crate::MilestoneState::Completed, &eve(), now()).expect("completed");
    let ok: &[&str] = &[];
    let role: &[&str] = &["role_required"];
    let w: &[&str] = &["wrong_state"];
    let npo: &[&str] = &["not_product_owner"];
    let not_owner: &[&str] = &["not_owner"];
    let w_not_owner: &[&str] = &["wrong_state", "not_owner"];
    // (who, MS-1 complete/miss, MS-1 edit/remove, MS-2 complete/miss): MS-1 is dan's and open, MS-2 done.
    for (who, decide1, edit1, decide2) in [
        (eve(), ok, ok, w),
        (rita(), ok, ok, w),
        (dan(), ok, role, w_not_owner),
        (Actor::new("paula", &[Role::ProductOwner]), not_owner, npo, w_not_owner),
        (vic(), role, role, role),
    ] {
        let list = r.actions(&who, Some(&t), &ReleaseFacts::default(), now());
        for action in ["complete_milestone", "miss_milestone"] {
            assert_eq!(guards_on(&list, action, "MS-1"), decide1, "{} {action} MS-1", who.name);
            assert_eq!(guards_on(&list, action, "MS-2"), decide2, "{} {action} MS-2", who.name);
        }
        for action in ["edit_milestone", "remove_milestone"] {
            assert_eq!(guards_on(&list, action, "MS-1"), edit1, "{} {action} MS-1", who.name);
        }
        no_rule_numbers(&list);
    }
    // A cancelled release's milestones are decided and changed no more.
    r.state = ReleaseState::Cancelled;
    let list = r.actions(&eve(), Some(&t), &ReleaseFacts::default(), now());
    assert_eq!(guards_on(&list, "complete_milestone", "MS-1"), ["wrong_state"]);
    assert_eq!(guards_on(&list, "edit_milestone", "MS-1"), ["wrong_state"]);
}

#[test]
fn an_application_is_changed_by_its_keepers_and_takes_releases_until_archived() {
    let app: crate::Application =
        serde_json::from_value(json!({"key": "PAY", "name": "Payments", "owner": "eve"})).expect("an application");
    let names = |list: &[AvailableAction]| list.iter().map(|a| a.action.clone()).collect::<Vec<_>>();
    assert_eq!(names(&app.actions(&eve())), ["archive", "edit", "create_release"]);
    for (who, expected) in [
        (eve(), [&[][..], &[], &[]]),
        (rita(), [&[], &[], &[]]),
        (dan(), [&["role_required"][..], &["role_required"], &["role_required"]]),
        (vic(), [&["role_required"][..], &["role_required"], &["role_required"]]),
    ] {
        let list = app.actions(&who);
        let expected: Vec<(&str, &[&str])> = ["archive", "edit", "create_release"].into_iter().zip(expected).collect();
        row(&list, &expected, &who.name);
    }
    let mut archived = app.clone();
    archived.archive().expect("archived");
    let list = archived.actions(&eve());
    row(
        &list,
        &[("archive", &["archived"]), ("edit", &["archived"]), ("create_release", &["invalid_input"])],
        "archived",
    );
    no_rule_numbers(&list);
}

#[test]
fn a_release_depends_only_on_another_open_release_it_does_not_depend_on_yet() {
    let t = train(TrainState::Construction);
    let mut r = release_on(&t);
    let mut other = release_on(&t);
    other.id = "AR-2".into();
    assert!(r.may_depend_on(&other) && !r.may_depend_on(&r.clone()));
    r.add_dependency(&other, &eve()).expect("added");
    assert!(!r.may_depend_on(&other), "already");
    let mut third = other.clone();
    third.id = "AR-3".into();
    third.state = ReleaseState::Cancelled;
    assert!(!r.may_depend_on(&third));
    let refused = r.add_dependency(&third, &eve()).expect_err("refused");
    let codes: Vec<String> = match refused {
        crate::DomainError::Refused(x) | crate::DomainError::NotAllowed(x) => {
            x.guards.into_iter().map(|g| g.code).collect()
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(codes, ["dependency_not_open"]);
}
