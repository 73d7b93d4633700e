use serde_json::json;

use super::turnover::deployment;
use super::*;
use crate::{Deployment, DeploymentState, RunState, TurnoverState};

fn in_flight() -> Turnover {
    let mut t = turnover(&path(&[("test", true, true), ("staging", true, true)]));
    t.state = TurnoverState::InFlight;
    t
}

#[test]
fn every_deployment_action_from_every_state() {
    use DeploymentState::*;
    let t = in_flight();
    let w: &[&str] = &["wrong_state"];
    let ok: &[&str] = &[];
    let due: &[&str] = &["already_due"];
    for (state, expected) in [
        (Scheduled, [w, ok, w, due, due]),
        (Running, [w, w, w, &["wrong_state", "already_due"][..], &["wrong_state", "already_due"][..]]),
        (Succeeded, [w, w, ok, &["wrong_state", "already_due"][..], &["wrong_state", "already_due"][..]]),
        (Failed, [ok, ok, w, &["wrong_state", "already_due"][..], &["wrong_state", "already_due"][..]]),
        (Abandoned, [w, w, w, &["wrong_state", "already_due"][..], &["wrong_state", "already_due"][..]]),
        (Validated, [w, w, w, &["wrong_state", "already_due"][..], &["wrong_state", "already_due"][..]]),
        (Rejected, [w, w, w, &["wrong_state", "already_due"][..], &["wrong_state", "already_due"][..]]),
    ] {
        let d = deployment("DE-1", &t, 0, 1, state);
        let mut expected: Vec<(&str, &[&str])> =
            ["retry", "abandon", "validate", "start", "start_early"].into_iter().zip(expected).collect();
        expected[4].1 = &["role_required"]; // starting early is the train's manager's
        expected.push(("complete_run", w)); // its manual run has not started
        let list = d.actions(&erin(), &t, std::slice::from_ref(&d), "rita", now());
        row(&list, &expected, &format!("engineer, deployment {state:?}"));
        no_rule_numbers(&list);
    }
}

#[test]
fn only_the_latest_deployment_of_a_turnover_in_flight_is_retried() {
    let t = in_flight();
    let first = deployment("DE-1", &t, 0, 1, DeploymentState::Failed);
    let second = deployment("DE-2", &t, 0, 2, DeploymentState::Failed);
    let all = [first.clone(), second.clone()];
    assert_eq!(guards_of(&first.actions(&erin(), &t, &all, "rita", now()), "retry"), ["not_latest"]);
    assert!(guards_of(&second.actions(&erin(), &t, &all, "rita", now()), "retry").is_empty());
    let mut cancelled = t.clone();
    cancelled.state = TurnoverState::Cancelled;
    assert_eq!(
        guards_of(&second.actions(&erin(), &cancelled, &all, "rita", now()), "retry"),
        ["turnover_not_in_flight"]
    );
    // A deployment of an earlier generation (before a send back) is never the latest.
    let mut again = t.clone();
    again.generation += 1;
    assert_eq!(guards_of(&second.actions(&erin(), &again, &all, "rita", now()), "retry"), ["not_latest"]);
}

#[test]
fn a_production_deployment_starts_early_only_by_the_trains_own_manager() {
    let t = in_flight();
    let mut d = deployment("DE-1", &t, 0, 1, DeploymentState::Scheduled);
    d.scheduled_for = Some(now() + chrono::Duration::hours(2));
    let list = d.actions(&erin(), &t, std::slice::from_ref(&d), "rita", now());
    assert_eq!(guards_of(&list, "start"), ["before_scheduled_time"]);
    let list = d.actions(&ralph(), &t, std::slice::from_ref(&d), "rita", now());
    assert_eq!(guards_of(&list, "start_early"), ["not_train_manager"], "a manager who does not manage the train");
    no_rule_numbers(&list);
    let list = d.actions(&rita(), &t, std::slice::from_ref(&d), "rita", now());
    assert!(guards_of(&list, "start_early").is_empty());
}

#[test]
fn the_runs_of_one_sequence_group_start_together_and_the_next_group_waits_for_them() {
    let mut t = in_flight();
    let cmd = json!({"kind": "command", "program": "/bin/true"});
    for (i, (title, seq)) in [("Migrate", 1), ("Record", 1), ("Web", 2)].into_iter().enumerate() {
        let spec = serde_json::from_value(json!({"title": title, "sequence": seq, "action": cmd})).expect("a task");
        t.add_task(format!("TA-{i}"), spec, &dan()).expect("added");
    }
    let (mut d, _) = Deployment::new("DE-1".into(), &t, 0, 1, &erin()).expect("a deployment");
    let (_, started) = d.advance(now());
    let titles = |idx: &[usize]| idx.iter().map(|&i| d.runs[i].title.clone()).collect::<Vec<_>>();
    assert_eq!(titles(&started), ["Migrate", "Record"], "both runs of sequence 1 start at once");
    assert!(d.runs.iter().filter(|r| r.sequence == 1).all(|r| r.state == RunState::Running));
    assert_eq!(d.runs[2].state, RunState::Pending, "sequence 2 waits");
}
