use serde_json::json;

use super::*;
use crate::{Environment, EnvironmentState};

#[test]
fn every_environment_action_from_every_state() {
    use EnvironmentState::*;
    let w: &[&str] = &["wrong_state"];
    let ok: &[&str] = &[];
    let spec = serde_json::from_value(json!({"name": "staging", "kind": "staging"})).expect("a spec");
    let (env, _) = Environment::create(spec, "erin").expect("an environment");
    let d: &[&str] = &["decommissioned"];
    for (state, expected) in
        [(Online, [ok, w, ok, ok, ok]), (Offline, [w, ok, ok, ok, ok]), (Decommissioned, [w, w, w, d, d])]
    {
        let mut e = env.clone();
        e.state = state;
        let names = ["take_offline", "bring_online", "decommission", "edit", "plan_calendar"];
        row(&e.actions(&erin()), &names.iter().copied().zip(expected).collect::<Vec<_>>(), &format!("{state:?}"));
        // A release manager plans the calendar but manages no environment.
        let managed = e.actions(&rita()).into_iter().filter(|a| a.action != "plan_calendar").collect::<Vec<_>>();
        assert!(managed.iter().all(|a| a.guards.iter().any(|g| g.code == "role_required")));
    }
}

#[test]
fn every_path_action_from_every_state_and_activation_only_onto_usable_environments() {
    use crate::PathState::*;
    let w: &[&str] = &["wrong_state"];
    let ok: &[&str] = &[];
    let envs = vec![super::turnover::env("test", "test")];
    let nd: &[&str] = &["not_draft"];
    for (state, expected) in [(Draft, [ok, w, ok, ok]), (Active, [w, ok, ok, nd]), (Retired, [w, w, w, nd])] {
        let mut p = path(&[("test", true, true)]);
        p.state = state;
        let names = ["activate", "return_to_draft", "retire", "edit"];
        row(
            &p.actions(&erin(), &envs),
            &names.iter().copied().zip(expected).collect::<Vec<_>>(),
            &format!("{state:?}"),
        );
        assert!(p.actions(&dan(), &envs).iter().all(|a| a.guards.iter().any(|g| g.code == "role_required")));
    }
    let mut p = path(&[("test", true, true), ("gone", true, true)]);
    p.state = Draft;
    let list = p.actions(&erin(), &envs);
    assert_eq!(guards_of(&list, "activate"), ["stage_environment_unusable"]);
    let mut decommissioned = envs.clone();
    decommissioned[0].state = EnvironmentState::Decommissioned;
    let mut p = path(&[("test", true, true)]);
    p.state = Draft;
    assert_eq!(guards_of(&p.actions(&erin(), &decommissioned), "activate"), ["stage_environment_unusable"]);
}

#[test]
fn an_application_is_archived_once_by_whoever_keeps_the_register() {
    let app: crate::Application =
        serde_json::from_value(json!({"key": "PAY", "name": "Payments", "owner": "eve"})).expect("an application");
    assert!(guards_of(&app.actions(&eve()), "archive").is_empty());
    assert_eq!(guards_of(&app.actions(&dan()), "archive"), ["role_required"]);
    let mut archived = app.clone();
    archived.archive().expect("archived");
    assert!(!archived.actions(&eve())[0].allowed);
}
