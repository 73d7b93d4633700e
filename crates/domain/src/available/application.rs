//! An application's actions: change it, archive it, create a release of it.

use super::AvailableAction;
use crate::{Actor, Application, ApplicationPatch, Operation};

impl Application {
    /// Which actions `actor` may take on the application now: `archive`, `edit`, `create_release`.
    pub fn actions(&self, actor: &Actor) -> Vec<AvailableAction> {
        vec![
            AvailableAction::decide("archive", actor, Operation::ManageApplications, || {
                self.clone().archive().map(|_| ())
            }),
            AvailableAction::decide("edit", actor, Operation::ManageApplications, || {
                self.clone().update(ApplicationPatch::default()).map(|_| ())
            }),
            AvailableAction::decide("create_release", actor, Operation::EditRelease, || self.takes_releases()),
        ]
    }
}
