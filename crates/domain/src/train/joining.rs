//! What may join a train from outside, and who may run it: application releases up to its construction
//! stage, production-ready turnovers from verification until deployment, managers and approvers by role.

use crate::error::Guards;
use crate::{Actor, DomainError, Operation, Role, Train, TrainState};

impl Train {
    /// Application releases join a train up to its construction stage: after that, the train's guards
    /// (every accepted release development-approved before verification) have already been checked
    /// without them.
    pub(crate) fn check_takes_releases(&self, g: &mut Guards) {
        g.check(crate::release::TRAINS_TAKING_RELEASES.contains(&self.state), "train_closed_to_releases", || {
            format!(
                "train {} is {}; application releases join a train up to its construction stage",
                self.id, self.state
            )
        });
    }

    /// Whether an application release may be proposed to the train now, and if not, why.
    pub fn takes_releases(&self) -> Result<(), DomainError> {
        let mut g = Guards::new("add_release", &self.describe(), self.state);
        self.check_takes_releases(&mut g);
        g.done()
    }

    /// Production-ready turnovers are assembled from the train's verification until its deployment.
    pub(crate) fn check_takes_production_turnovers(&self, g: &mut Guards) {
        g.check(
            matches!(
                self.state,
                TrainState::Verification | TrainState::AwaitingExecutiveApproval | TrainState::Deployment
            ),
            "train_not_ready",
            || {
                format!(
                    "train {} is {}; production-ready turnovers are assembled from verification until deployment",
                    self.id, self.state
                )
            },
        );
    }

    /// Whether a production-ready turnover may be assembled for the train now, and if not, why.
    pub fn takes_production_turnovers(&self) -> Result<(), DomainError> {
        let mut g = Guards::new("add_turnover", &self.describe(), self.state);
        self.check_takes_production_turnovers(&mut g);
        g.done()
    }
}

/// Whether `user` may be named a train's manager: a release manager or an admin.
pub fn eligible_manager(user: &Actor) -> bool {
    user.is_admin() || user.has(Role::ReleaseManager)
}

/// Whether `user` may be listed as an approver in an approval policy: whoever may decide approvals.
pub fn eligible_approver(user: &Actor) -> bool {
    user.may(Operation::DecideApproval)
}
