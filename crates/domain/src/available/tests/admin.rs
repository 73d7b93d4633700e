//! The actions the administration pages offer: an environment's `edit`, `plan_calendar` and
//! `remove_event` on each event, a path's `edit`, for each role and state.

use chrono::Duration;
use serde_json::json;

use super::*;
use crate::{Environment, EnvironmentState, EventKind, EventSpec, PathState};

/// Environment `test` in `state`, with maintenance E-1 tomorrow.
fn env_with_event(state: EnvironmentState) -> Environment {
    let mut e = super::turnover::env("test", "test");
    let spec = EventSpec {
        kind: EventKind::Maintenance,
        title: "patching".into(),
        start: now() + Duration::days(1),
        end: now() + Duration::days(1) + Duration::hours(2),
        train_id: None,
    };
    e.add_event("E-1".into(), spec, "erin").expect("an event");
    e.state = state;
    e
}

/// A row of the environment table: who, in which state, and the guard codes of edit, plan_calendar and
/// remove_event on E-1 (none: allowed).
type EnvRow = (Actor, EnvironmentState, &'static [&'static str], &'static [&'static str], &'static [&'static str]);

/// The guard codes of `action` (on `part`, when given) in `list`.
fn codes_of(list: &[AvailableAction], action: &str, part: Option<&str>) -> Vec<String> {
    let a = list
        .iter()
        .find(|a| a.action == action && a.on.as_deref() == part)
        .unwrap_or_else(|| panic!("no action {action} on {part:?} in {list:?}"));
    assert_eq!(a.allowed, a.guards.is_empty(), "{a:?}");
    a.guards.iter().map(|g| g.code.clone()).collect()
}

#[test]
fn an_environment_is_edited_and_its_calendar_planned_until_it_is_decommissioned() {
    use EnvironmentState::*;
    let ok: &'static [&'static str] = &[];
    let role: &'static [&'static str] = &["role_required"];
    let gone: &'static [&'static str] = &["decommissioned"];
    // (who, state, edit, plan_calendar, remove_event on E-1)
    let table: [EnvRow; 10] = [
        (erin(), Online, ok, ok, ok),
        (erin(), Offline, ok, ok, ok),
        (erin(), Decommissioned, gone, gone, gone),
        (rita(), Online, role, ok, ok),
        (rita(), Offline, role, ok, ok),
        (rita(), Decommissioned, role, gone, gone),
        (dan(), Online, role, role, role),
        (dan(), Decommissioned, role, role, role),
        (vic(), Online, role, role, role),
        (eve(), Offline, role, role, role),
    ];
    for (who, state, edit, plan, remove) in table {
        let list = env_with_event(state).actions(&who);
        let what = format!("{} on {state:?}", who.name);
        assert_eq!(codes_of(&list, "edit", None), edit, "edit by {what}");
        assert_eq!(codes_of(&list, "plan_calendar", None), plan, "plan_calendar by {what}");
        assert_eq!(codes_of(&list, "remove_event", Some("E-1")), remove, "remove_event by {what}");
        assert!(!AvailableAction::allows(&list, "remove_event"), "an event is removed by its id");
        no_rule_numbers(&list);
    }
}

#[test]
fn the_listed_calendar_actions_are_what_the_environment_itself_decides() {
    let mut e = env_with_event(EnvironmentState::Decommissioned);
    let list = e.actions(&erin());
    assert!(!AvailableAction::allows(&list, "plan_calendar"));
    let spec = EventSpec {
        kind: EventKind::Blackout,
        title: "freeze".into(),
        start: now(),
        end: now() + Duration::hours(1),
        train_id: None,
    };
    assert!(e.add_event("E-2".into(), spec, "erin").is_err(), "no event on a decommissioned environment");
    assert!(e.remove_event("E-1").is_err(), "its calendar is kept as it is");
    let mut online = env_with_event(EnvironmentState::Online);
    assert!(AvailableAction::allows_on(&online.actions(&rita()), "remove_event", "E-1"));
    online.remove_event("E-1").expect("removed");
    assert!(online.actions(&rita()).iter().all(|a| a.action != "remove_event"), "no event, nothing to remove");
}

#[test]
fn a_path_is_edited_in_draft_only_by_whoever_manages_environments() {
    use PathState::*;
    let ok: &[&str] = &[];
    let role: &[&str] = &["role_required"];
    let nd: &[&str] = &["not_draft"];
    let envs = vec![super::turnover::env("test", "test")];
    let table: [(Actor, PathState, &[&str]); 7] = [
        (erin(), Draft, ok),
        (erin(), Active, nd),
        (erin(), Retired, nd),
        (rita(), Draft, role),
        (dan(), Draft, role),
        (vic(), Active, role),
        (eve(), Draft, role),
    ];
    for (who, state, edit) in table {
        let mut p = path(&[("test", true, true)]);
        p.state = state;
        let list = p.actions(&who, &envs);
        assert_eq!(codes_of(&list, "edit", None), edit, "edit by {} of a path in {state:?}", who.name);
        no_rule_numbers(&list);
    }
    let mut p = path(&[("test", true, true)]);
    p.state = Draft;
    let edited = p.clone().update(serde_json::from_value(json!({"name": "renamed"})).expect("a patch"));
    assert!(edited.is_ok() && AvailableAction::allows(&p.actions(&erin(), &envs), "edit"));
}
