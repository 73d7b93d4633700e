//! What holds a production deployment back, and what would hold deployments forever (R5, R11): the
//! train not yet in deployment; turnovers carrying a release's dependencies, directly or through
//! releases no turnover carries into that environment yet, that have not finished deploying there; and
//! turnovers that would wait for each other.

use std::collections::{BTreeMap, BTreeSet};

use crate::{Deployment, DeploymentState, DomainError, Guard, Refusal, TrainState, Turnover};

/// Another production-ready turnover deploying into the same environment, with its latest deployment
/// there (of its current generation, not a rollback).
#[derive(Debug, Clone)]
pub struct Neighbour<'a> {
    pub turnover: &'a Turnover,
    pub latest: Option<&'a Deployment>,
}

/// The releases `releases` wait for in an environment: their dependencies, and, through a dependency no
/// neighbour carries there (deployed nowhere yet), that one's dependencies in turn. A release carried by
/// a neighbour stops the chain: the neighbour waits for the rest itself.
pub fn awaited(
    releases: &[String],
    dependencies: &BTreeMap<String, Vec<String>>,
    carried: &BTreeSet<&str>,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut seen: BTreeSet<String> = releases.iter().cloned().collect();
    // (the release of the deployment the chain starts from, the release to look at)
    let mut stack: Vec<(String, String)> = releases.iter().map(|r| (r.clone(), r.clone())).collect();
    while let Some((from, r)) = stack.pop() {
        for dep in dependencies.get(&r).into_iter().flatten() {
            if !seen.insert(dep.clone()) {
                continue;
            }
            if carried.contains(dep.as_str()) {
                out.push((from.clone(), dep.clone()));
            } else {
                stack.push((from.clone(), dep.clone()));
            }
        }
    }
    out
}

/// Why the due production deployment `d` may not start yet, in words; empty when nothing holds it.
pub fn production_holds(
    d: &Deployment,
    train_id: &str,
    train_state: TrainState,
    dependencies: &BTreeMap<String, Vec<String>>,
    neighbours: &[Neighbour<'_>],
) -> Vec<String> {
    let mut holds = Vec::new();
    if !d.production || d.rollback {
        return holds;
    }
    if train_state != TrainState::Deployment {
        holds.push(format!("train {train_id} is {train_state}; production deployments start once it is in deployment"));
    }
    let others: Vec<&Neighbour<'_>> = neighbours.iter().filter(|n| n.turnover.id != d.turnover_id).collect();
    let carried: BTreeSet<&str> = others.iter().flat_map(|n| n.turnover.releases.iter().map(String::as_str)).collect();
    let waits = awaited(&d.releases, dependencies, &carried);
    for n in others {
        let Some((r, dep)) = waits.iter().find(|(_, dep)| n.turnover.releases.contains(dep)) else { continue };
        let done = n.latest.is_some_and(|x| matches!(x.state, DeploymentState::Succeeded | DeploymentState::Validated));
        if done {
            continue;
        }
        let status = match n.latest {
            None => "it is not scheduled there".to_string(),
            Some(x)
                if matches!(
                    x.state,
                    DeploymentState::Failed | DeploymentState::Rejected | DeploymentState::Abandoned
                ) =>
            {
                format!("its deployment {} {}", x.id, x.state)
            }
            Some(_) => "it has not finished".to_string(),
        };
        holds.push(format!(
            "waits for turnover {} ({dep}, which {r} depends on) to deploy into {} first, since a dependency deploys before its dependent; {status}",
            n.turnover.id, d.environment
        ));
    }
    holds
}

/// Refuses to schedule `t` into `environment` when it and the other production turnovers there would
/// wait for each other, naming the cycle.
pub fn refuse_wait_cycle(
    t: &Turnover,
    environment: &str,
    others: &[Turnover],
    dependencies: &BTreeMap<String, Vec<String>>,
) -> Result<(), DomainError> {
    let mut all: Vec<&Turnover> = others.iter().filter(|o| o.id != t.id).collect();
    all.insert(0, t);
    // x waits for y when a release of x depends on one of y (and x does not carry it itself).
    let waits_for = |x: &Turnover, y: &Turnover| -> Option<String> {
        x.releases.iter().find_map(|r| {
            dependencies
                .get(r)?
                .iter()
                .find(|d| !x.releases.contains(d) && y.releases.contains(d))
                .map(|d| format!("{} waits for {} ({r} depends on {d})", x.id, y.id))
        })
    };
    // Depth-first from t; a path back to t is a cycle.
    let mut stack: Vec<(usize, Vec<String>)> = vec![(0, Vec::new())];
    let mut seen = vec![false; all.len()];
    while let Some((i, path)) = stack.pop() {
        for (j, other) in all.iter().enumerate() {
            if j == i {
                continue;
            }
            let Some(step) = waits_for(all[i], other) else { continue };
            let mut path = path.clone();
            path.push(step);
            if j == 0 {
                return Err(DomainError::Refused(Refusal {
                    action: "schedule".into(),
                    object: t.describe(),
                    state: t.state.to_string(),
                    guards: vec![Guard::new(
                        "dependency_deadlock",
                        format!(
                            "in {environment}, {}: none of them could ever start, since a dependency deploys before its dependent; carry these releases in one turnover",
                            path.join(", ")
                        ),
                    )],
                }));
            }
            if !seen[j] {
                seen[j] = true;
                stack.push((j, path));
            }
        }
    }
    Ok(())
}
