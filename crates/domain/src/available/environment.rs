//! An environment's actions.

use super::AvailableAction;
use crate::{Actor, Environment, EnvironmentAction, Operation};

impl EnvironmentAction {
    pub const ALL: [EnvironmentAction; 3] =
        [EnvironmentAction::TakeOffline, EnvironmentAction::BringOnline, EnvironmentAction::Decommission];

    pub fn name(self) -> &'static str {
        match self {
            EnvironmentAction::TakeOffline => "take_offline",
            EnvironmentAction::BringOnline => "bring_online",
            EnvironmentAction::Decommission => "decommission",
        }
    }
}

impl Environment {
    /// Which lifecycle actions `actor` may take on the environment now.
    pub fn actions(&self, actor: &Actor) -> Vec<AvailableAction> {
        EnvironmentAction::ALL
            .iter()
            .map(|&a| {
                AvailableAction::decide(a.name(), actor, Operation::ManageEnvironments, || {
                    self.clone().apply(a, None).map(|_| ())
                })
            })
            .collect()
    }
}
