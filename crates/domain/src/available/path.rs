//! A deployment path's and an application's actions.

use super::AvailableAction;
use crate::{Actor, DeploymentPath, Environment, EnvironmentState, Operation, PathAction, PathPatch};

impl PathAction {
    pub const ALL: [PathAction; 3] = [PathAction::Activate, PathAction::ReturnToDraft, PathAction::Retire];

    pub fn name(self) -> &'static str {
        match self {
            PathAction::Activate => "activate",
            PathAction::ReturnToDraft => "return_to_draft",
            PathAction::Retire => "retire",
        }
    }
}

impl DeploymentPath {
    /// For activation: each stage whose environment is unknown or decommissioned, with why, given the
    /// environments of its stages that exist.
    pub fn unusable_stages(&self, environments: &[Environment]) -> Vec<String> {
        let mut unusable = Vec::new();
        for (i, stage) in self.stages.iter().enumerate() {
            match environments.iter().find(|e| e.name == stage.environment) {
                None => unusable.push(format!(
                    "stage {} names environment {}, which does not exist",
                    i + 1,
                    stage.environment
                )),
                Some(e) if e.state == EnvironmentState::Decommissioned => unusable.push(format!(
                    "stage {} names environment {}, which is decommissioned",
                    i + 1,
                    stage.environment
                )),
                Some(_) => {}
            }
        }
        unusable
    }

    /// Which actions `actor` may take on the path now, given the environments of its stages: its
    /// lifecycle actions and `edit` (its name, release types and stages; in draft only).
    pub fn actions(&self, actor: &Actor, environments: &[Environment]) -> Vec<AvailableAction> {
        let mut list: Vec<AvailableAction> = PathAction::ALL
            .iter()
            .map(|&a| {
                AvailableAction::decide(a.name(), actor, Operation::ManageEnvironments, || {
                    let unusable =
                        if a == PathAction::Activate { self.unusable_stages(environments) } else { Vec::new() };
                    self.clone().apply(a, &unusable).map(|_| ())
                })
            })
            .collect();
        list.push(AvailableAction::decide("edit", actor, Operation::ManageEnvironments, || {
            self.clone().update(PathPatch::default()).map(|_| ())
        }));
        list
    }
}
