//! A run the engine stopped at shutdown: interrupted, never retried by itself, and its deployment fails
//! at once once nothing else runs.

use chrono::{TimeZone, Utc};
use serde_json::json;

use super::*;

fn running(retries: u32) -> Deployment {
    let run = |id: &str, owner: Option<&str>, state: &str| {
        json!({"id": id, "task_id": format!("TA-{id}"), "title": id, "sequence": 1, "owner": owner, "state": state,
               "attempts": 1, "retries": retries, "tries": 1})
    };
    serde_json::from_value(json!({
        "id": "DE-1", "turnover_id": "TO-1", "train_id": "RT-1", "releases": ["AR-1"], "environment": "test",
        "stage": 0, "attempt": 1, "trigger": "manual", "state": "running", "created_by": "erin",
        "runs": [run("R1", None, "running"), run("R2", None, "running"), run("R3", Some("rita"), "waiting_for_owner")]
    }))
    .expect("a deployment")
}

fn interrupted() -> RunResult {
    let at = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).single().expect("time");
    RunResult {
        status: RunStatus::Interrupted,
        exit_code: None,
        http_status: None,
        message: "interrupted: the server shut down while it ran".into(),
        finished_at: at,
        truncated: false,
    }
}

#[test]
fn an_interrupted_run_is_never_retried_by_itself_and_the_deployment_fails_once_nothing_runs() {
    let now = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 1).single().expect("time");
    let mut d = running(3);
    d.finish_run(0, 1, interrupted()).expect("recorded");
    assert_eq!(d.runs[0].state, RunState::Interrupted, "not pending again despite its 3 retries");
    assert!(d.settle_interrupted(now).is_empty(), "R2 still runs: nothing settles yet");
    assert_eq!(d.state, DeploymentState::Running);

    d.finish_run(1, 1, interrupted()).expect("recorded");
    let actions: Vec<String> = d.settle_interrupted(now).into_iter().map(|c| c.action).collect();
    assert_eq!(actions, ["withdraw_manual_run", "fail"]);
    assert_eq!(d.state, DeploymentState::Failed);
    assert_eq!(d.runs[2].state, RunState::Pending, "the manual run waits again on a retry");
    assert!(d.settle_interrupted(now).is_empty(), "settled once");
}

#[test]
fn a_lease_is_taken_when_free_or_expired_renewed_by_its_holder_and_refused_while_another_holds_it() {
    let now = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).single().expect("time");
    let ttl = chrono::Duration::seconds(10);
    let first = Lease::claim(None, "engine-1", now, ttl).expect("a free deployment is taken");
    assert_eq!((first.holder.as_str(), first.expires_at), ("engine-1", now + ttl));
    let later = now + chrono::Duration::seconds(5);
    assert_eq!(Lease::claim(Some(&first), "engine-2", later, ttl), None, "another engine holds it");
    let renewed = Lease::claim(Some(&first), "engine-1", later, ttl).expect("renewed by its holder");
    assert_eq!(renewed.expires_at, later + ttl);
    let expired = now + chrono::Duration::seconds(10);
    let taken = Lease::claim(Some(&first), "engine-2", expired, ttl).expect("an expired lease is anyone's");
    assert_eq!(taken.holder, "engine-2");
}
