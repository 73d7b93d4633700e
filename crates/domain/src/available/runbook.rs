//! A runbook's actions.

use super::AvailableAction;
use crate::{Actor, Operation, Runbook, RunbookAction};

impl RunbookAction {
    pub const ALL: [RunbookAction; 4] =
        [RunbookAction::Submit, RunbookAction::Accept, RunbookAction::Reject, RunbookAction::Deactivate];

    pub fn name(self) -> &'static str {
        match self {
            RunbookAction::Submit => "submit",
            RunbookAction::Accept => "accept",
            RunbookAction::Reject => "reject",
            RunbookAction::Deactivate => "deactivate",
        }
    }
}

impl Runbook {
    /// Which review actions `actor` may take on the runbook now.
    pub fn actions(&self, actor: &Actor) -> Vec<AvailableAction> {
        RunbookAction::ALL
            .iter()
            .map(|&a| {
                AvailableAction::decide(a.name(), actor, Operation::EditTurnover, || {
                    self.clone().apply(a, Some("(comment)".into()), actor).map(|_| ())
                })
            })
            .collect()
    }
}
