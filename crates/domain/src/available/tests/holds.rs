//! Dependency holds of production deployments (R5), decided from the facts the service loads.

use std::collections::BTreeMap;

use super::turnover::deployment;
use super::*;
use crate::holds::{Neighbour, production_holds, refuse_wait_cycle};
use crate::{DeploymentState, DomainError, TrainState};

/// A production turnover `id` carrying `releases`, deploying into prod.
fn carrying(id: &str, releases: &[&str]) -> Turnover {
    let mut t = turnover(&path(&[("prod", true, false)]));
    t.id = id.into();
    t.releases = releases.iter().map(|r| r.to_string()).collect();
    t
}

fn deps(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
    pairs.iter().map(|(r, d)| (r.to_string(), d.iter().map(|x| x.to_string()).collect())).collect()
}

fn prod(t: &Turnover, state: DeploymentState) -> crate::Deployment {
    let mut d = deployment(&format!("DE-{}", t.id), t, 0, 1, state);
    d.production = true;
    d.releases = t.releases.clone();
    d
}

#[test]
fn a_production_deployment_waits_for_its_train_and_for_the_turnovers_carrying_its_dependencies() {
    let web = carrying("TO-1", &["AR-WEB"]);
    let db = carrying("TO-2", &["AR-DB"]);
    let d = prod(&web, DeploymentState::Scheduled);
    let graph = deps(&[("AR-WEB", &["AR-DB"])]);
    let holds = production_holds(&d, "RT-1", TrainState::Verification, &graph, &[]);
    assert_eq!(holds.len(), 1, "{holds:?}");
    assert!(holds[0].contains("train RT-1 is verification") && !holds[0].contains("R11"), "{holds:?}");
    let db_running = prod(&db, DeploymentState::Running);
    let n = [Neighbour { turnover: &db, latest: Some(&db_running) }];
    let holds = production_holds(&d, "RT-1", TrainState::Deployment, &graph, &n);
    assert_eq!(holds.len(), 1);
    assert!(holds[0].contains("waits for turnover TO-2 (AR-DB, which AR-WEB depends on)"), "{holds:?}");
    let db_done = prod(&db, DeploymentState::Succeeded);
    let n = [Neighbour { turnover: &db, latest: Some(&db_done) }];
    assert!(production_holds(&d, "RT-1", TrainState::Deployment, &graph, &n).is_empty());
}

#[test]
fn a_chain_through_a_release_deployed_nowhere_yet_still_holds() {
    // WEB depends on API, which no turnover carries into prod; API depends on DB, which TO-2 carries.
    let web = carrying("TO-1", &["AR-WEB"]);
    let db = carrying("TO-2", &["AR-DB"]);
    let d = prod(&web, DeploymentState::Scheduled);
    let graph = deps(&[("AR-WEB", &["AR-API"]), ("AR-API", &["AR-DB"])]);
    let n = [Neighbour { turnover: &db, latest: None }];
    let holds = production_holds(&d, "RT-1", TrainState::Deployment, &graph, &n);
    assert_eq!(holds.len(), 1, "{holds:?}");
    assert!(holds[0].contains("TO-2") && holds[0].contains("it is not scheduled there"), "{holds:?}");
    // A release that a neighbour carries stops the chain: that neighbour waits for the rest itself.
    let api = carrying("TO-3", &["AR-API"]);
    let api_done = prod(&api, DeploymentState::Succeeded);
    let n = [Neighbour { turnover: &db, latest: None }, Neighbour { turnover: &api, latest: Some(&api_done) }];
    assert!(production_holds(&d, "RT-1", TrainState::Deployment, &graph, &n).is_empty());
}

#[test]
fn two_turnovers_that_would_wait_for_each_other_are_never_both_scheduled() {
    let a = carrying("TO-1", &["AR-A", "AR-C"]);
    let b = carrying("TO-2", &["AR-B"]);
    let graph = deps(&[("AR-A", &["AR-B"]), ("AR-B", &["AR-C"])]);
    match refuse_wait_cycle(&a, "prod", std::slice::from_ref(&b), &graph) {
        Err(DomainError::Refused(r)) => {
            assert_eq!(r.guards[0].code, "dependency_deadlock");
            assert!(r.guards[0].message.contains("TO-1 waits for TO-2") && !r.guards[0].message.contains("R5"));
        }
        other => panic!("a deadlock was scheduled: {other:?}"),
    }
    let graph = deps(&[("AR-A", &["AR-B"])]);
    assert!(refuse_wait_cycle(&a, "prod", &[b], &graph).is_ok());
}
