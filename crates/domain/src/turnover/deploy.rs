//! Deploying a standard turnover into its next stage (R8), and cancelling it, given the facts the
//! service loads around it: its deployments and the environments of its path.

use std::collections::BTreeMap;

use crate::{
    Actor, Change, Deployment, DeploymentState, DomainError, Environment, EnvironmentState, Guard, Refusal, Train,
    Turnover,
};

use super::NextStage;

/// What the service knows around a turnover that its actions depend on.
#[derive(Debug, Clone, Default)]
pub struct TurnoverFacts {
    /// Every deployment of the turnover.
    pub deployments: Vec<Deployment>,
    /// The environments of its path that exist, by name.
    pub environments: Vec<Environment>,
    /// Its train, when the decision needs it (assembling a production-ready turnover from this one).
    pub train: Option<Train>,
    /// For a production-ready turnover: the other production-ready turnovers of its train into each of
    /// its environments, by environment (whether scheduling would make turnovers wait for each other).
    pub neighbours: BTreeMap<String, Vec<Turnover>>,
    /// Every application release's dependencies, by release (see [`crate::holds`]).
    pub dependencies: BTreeMap<String, Vec<String>>,
}

impl TurnoverFacts {
    fn running(&self) -> impl Iterator<Item = &Deployment> {
        self.deployments.iter().filter(|d| d.state == DeploymentState::Running)
    }
}

impl Turnover {
    /// R8 decides the stage ([`Turnover::next_stage`]); then the environment of that stage must exist,
    /// not be decommissioned, and not be locked (R11: a locked environment takes only accepted
    /// production-ready turnovers, at their scheduled time); and a deployment must be possible there (a
    /// task that applies to the environment).
    pub fn decide_deploy(
        &self,
        facts: &TurnoverFacts,
        skip: &[String],
        actor: &Actor,
    ) -> Result<NextStage, DomainError> {
        let next = self.next_stage(&facts.deployments, skip)?;
        let name = &self.stages[next.stage].environment;
        let mut g = self.guards("deploy");
        match facts.environments.iter().find(|e| &e.name == name) {
            None => g.fail("environment_missing", format!("environment {name} of the path no longer exists")),
            Some(e) if e.state == EnvironmentState::Decommissioned => g.fail(
                "environment_decommissioned",
                format!("environment {name} is decommissioned; nothing deploys there"),
            ),
            Some(e) if e.locked => g.fail(
                "environment_locked",
                format!(
                    "environment {name} is locked: it takes only accepted production-ready turnovers of a train in deployment, at their scheduled time"
                ),
            ),
            Some(_) => {}
        }
        g.done()?;
        Deployment::new(String::new(), self, next.stage, next.attempt, actor)?;
        Ok(next)
    }

    /// Cancels it unless one of its deployments is running (that one finishes or fails first); every
    /// unmet guard of the cancel is named with it.
    pub fn cancel_with(&mut self, reason: &str, facts: &TurnoverFacts, actor: &Actor) -> Result<Change, DomainError> {
        let running: Vec<Guard> = facts
            .running()
            .map(|d| {
                Guard::new("deployment_running", format!("deployment {} is running; let it finish or fail first", d.id))
            })
            .collect();
        if running.is_empty() {
            return self.cancel(reason, actor);
        }
        match self.clone().cancel(reason, actor) {
            Err(DomainError::Refused(mut r)) => {
                r.guards.extend(running);
                Err(DomainError::Refused(r))
            }
            Err(DomainError::NotAllowed(mut r)) => {
                r.guards.extend(running);
                Err(DomainError::NotAllowed(r))
            }
            Err(invalid) => Err(invalid),
            Ok(_) => Err(DomainError::Refused(Refusal {
                action: "cancel".into(),
                object: self.describe(),
                state: self.state.to_string(),
                guards: running,
            })),
        }
    }
}
