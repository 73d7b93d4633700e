//! What a user may start anew, beside any one object: create a train, an application, an environment,
//! plan the calendar, manage users, stop the line. Only the role matrix decides these; each object's
//! own rules come when the action reaches it.

use super::AvailableAction;
use crate::{Actor, Operation};

/// Each action a user may start without an object yet, with its operation of the role matrix.
const GLOBAL: [(&str, Operation); 14] = [
    ("create_train", Operation::CreateTrain),
    ("create_application", Operation::ManageApplications),
    ("create_release", Operation::EditRelease),
    ("create_turnover", Operation::EditTurnover),
    ("create_environment", Operation::ManageEnvironments),
    ("create_path", Operation::ManageEnvironments),
    ("plan_calendar", Operation::PlanCalendar),
    ("manage_users", Operation::ManageUsers),
    ("manage_own_tokens", Operation::ManageOwnTokens),
    ("stop_line", Operation::StopLine),
    ("decide_approvals", Operation::DecideApproval),
    ("manage_variables", Operation::ManageVariables),
    // Secrets are managed by the same people as variables (see `crate::secret`).
    ("manage_secrets", Operation::ManageVariables),
    ("manage_runners", Operation::ManageRunners),
];

/// Which of the actions that need no object `actor` may take.
pub fn global_actions(actor: &Actor) -> Vec<AvailableAction> {
    GLOBAL.iter().map(|(name, op)| AvailableAction::decide(name, actor, *op, || Ok(()))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Role;

    fn actor(roles: &[Role]) -> Actor {
        Actor::new("pat", roles)
    }

    #[test]
    fn a_viewer_may_only_manage_their_own_tokens() {
        let list = global_actions(&actor(&[Role::Viewer]));
        let allowed: Vec<&str> = list.iter().filter(|a| a.allowed).map(|a| a.action.as_str()).collect();
        assert_eq!(allowed, vec!["manage_own_tokens"]);
        let refused = list.iter().find(|a| a.action == "create_train").map(|a| a.guards[0].code.clone());
        assert_eq!(refused.as_deref(), Some("role_required"));
    }

    #[test]
    fn a_release_manager_creates_trains_but_does_not_manage_users() {
        let list = global_actions(&actor(&[Role::ReleaseManager]));
        assert!(AvailableAction::allows(&list, "create_train"));
        assert!(!AvailableAction::allows(&list, "manage_users"));
    }
}
