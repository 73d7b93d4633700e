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
    for (state, expected) in [(Online, [ok, w, ok]), (Offline, [w, ok, ok]), (Decommissioned, [w, w, w])] {
        let mut e = env.clone();
        e.state = state;
        let names = ["take_offline", "bring_online", "decommission"];
        row(&e.actions(&erin()), &names.iter().copied().zip(expected).collect::<Vec<_>>(), &format!("{state:?}"));
        assert!(e.actions(&rita()).iter().all(|a| a.guards.iter().any(|g| g.code == "role_required")));
    }
}
