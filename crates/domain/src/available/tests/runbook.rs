use serde_json::json;

use super::*;
use crate::{Runbook, RunbookState};

fn runbook(state: RunbookState) -> Runbook {
    let spec = serde_json::from_value(
        json!({"name": "web deploy", "tasks": [{"title": "Restart", "sequence": 1, "owner": "erin"}]}),
    )
    .expect("a runbook spec");
    let mut ids = (1..).map(|i| format!("TA-{i}"));
    let (mut r, _) = Runbook::create("RB-1".into(), spec, &mut ids, &dan()).expect("a runbook");
    r.state = state;
    r
}

#[test]
fn every_runbook_action_from_every_state() {
    use RunbookState::*;
    let w: &[&str] = &["wrong_state"];
    let ok: &[&str] = &[];
    // Its author, a developer, never reviews it: neither their own nor as a developer.
    let mine: &[&str] = &["own_runbook", "not_reviewer"];
    let own: &[&str] = &["wrong_state", "own_runbook", "not_reviewer"];
    // The author submits and deactivates; an engineer reviews.
    for (state, by_author, by_reviewer) in [
        (Draft, [ok, own, own, w], [ok, w, w, w]),
        (InReview, [w, mine, mine, w], [w, ok, ok, w]),
        (Accepted, [w, own, own, ok], [w, w, w, ok]),
        (Inactive, [w, own, own, w], [w, w, w, w]),
    ] {
        let names = ["submit", "accept", "reject", "deactivate"];
        let r = runbook(state);
        row(
            &r.actions(&dan()),
            &names.iter().copied().zip(by_author).collect::<Vec<_>>(),
            &format!("author, {state:?}"),
        );
        row(
            &r.actions(&erin()),
            &names.iter().copied().zip(by_reviewer).collect::<Vec<_>>(),
            &format!("engineer, {state:?}"),
        );
    }
}

#[test]
fn another_developer_neither_submits_nor_reviews_a_runbook() {
    let dora = Actor::new("dora", &[Role::Developer]);
    let list = runbook(RunbookState::Draft).actions(&dora);
    assert_eq!(guards_of(&list, "submit"), ["not_runbook_author"]);
    let list = runbook(RunbookState::InReview).actions(&dora);
    assert_eq!(guards_of(&list, "accept"), ["not_reviewer"]);
    assert_eq!(guards_of(&runbook(RunbookState::Draft).actions(&vic()), "submit"), ["role_required"]);
}
