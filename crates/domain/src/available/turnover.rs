//! A turnover's actions.

use super::AvailableAction;
use crate::turnover::TurnoverFacts;
use crate::{Actor, Operation, Turnover};

impl Turnover {
    /// Which actions `actor` may take on the turnover now: deploy into its next stage (standard
    /// turnovers), cancel, and the production-ready review (deliver, accept, reject).
    pub fn actions(&self, actor: &Actor, facts: &TurnoverFacts) -> Vec<AvailableAction> {
        vec![
            AvailableAction::decide("deploy", actor, Operation::Deploy, || {
                self.decide_deploy(facts, &[], actor).map(|_| ())
            }),
            AvailableAction::decide("cancel", actor, Operation::EditTurnover, || {
                self.clone().cancel_with("(reason)", facts, actor).map(|_| ())
            }),
            AvailableAction::decide("deliver", actor, Operation::EditTurnover, || {
                self.clone().deliver(actor).map(|_| ())
            }),
            AvailableAction::decide("accept", actor, Operation::AcceptTurnover, || {
                self.clone().accept(actor).map(|_| ())
            }),
            AvailableAction::decide("reject", actor, Operation::AcceptTurnover, || {
                self.clone().reject("(comment)", actor).map(|_| ())
            }),
        ]
    }
}
