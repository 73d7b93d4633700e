//! An approval's actions.

use chrono::{DateTime, Utc};

use super::AvailableAction;
use crate::{Actor, Approval, ApprovalKind, Operation, TrainState, Verdict};

impl Approval {
    /// Whether `actor` may approve, reject or override it now; `train_manager` is its train's manager.
    pub fn actions(&self, actor: &Actor, train_manager: &str, now: DateTime<Utc>) -> Vec<AvailableAction> {
        let return_to = (self.kind == ApprovalKind::Executive).then_some(TrainState::Verification);
        let decide = |verdict: Verdict| {
            let name = match verdict {
                Verdict::Approve => "approve",
                Verdict::Reject => "reject",
            };
            AvailableAction::decide(name, actor, Operation::DecideApproval, || {
                let rt = if verdict == Verdict::Reject { return_to } else { None };
                self.clone().decide(&actor.name, verdict, Some("(comment)".into()), rt, now).map(|_| ())
            })
        };
        vec![
            decide(Verdict::Approve),
            decide(Verdict::Reject),
            AvailableAction::decide("override", actor, Operation::OverrideApproval, || {
                self.clone().override_by(&actor.name, train_manager, "(reason)", now).map(|_| ())
            }),
        ]
    }
}
