//! A train's actions.

use chrono::{DateTime, Utc};

use super::AvailableAction;
use crate::train::Surroundings;
use crate::{Actor, Operation, Train, TrainAction};

impl TrainAction {
    /// Every lifecycle action, with stand-in input where one is needed (a reason to cancel).
    pub fn all() -> [TrainAction; 6] {
        [
            TrainAction::Submit,
            TrainAction::StartConstruction,
            TrainAction::StartVerification,
            TrainAction::RequestExecutiveApproval,
            TrainAction::Close,
            TrainAction::Cancel { reason: "(reason)".into() },
        ]
    }

    /// The operation of the role matrix the action needs.
    pub fn operation(&self) -> Operation {
        match self {
            TrainAction::Cancel { .. } => Operation::CancelTrain,
            TrainAction::Close => Operation::CloseTrain,
            _ => Operation::AdvanceTrain,
        }
    }
}

impl Train {
    /// Which lifecycle actions `actor` may take on the train now, given what surrounds it.
    pub fn actions(&self, actor: &Actor, around: &Surroundings, now: DateTime<Utc>) -> Vec<AvailableAction> {
        TrainAction::all()
            .iter()
            .map(|a| {
                AvailableAction::decide(a.name(), actor, a.operation(), || {
                    let id = a.requests_approval(self).then(String::new);
                    self.clone().apply(a, actor, now, id, around).map(|_| ())
                })
            })
            .collect()
    }

    /// Every action `actor` may take on the train now: its lifecycle ([`Train::actions`]), its plan
    /// ([`Train::plan_actions`]) and its parts ([`Train::part_actions`]).
    pub fn all_actions(&self, actor: &Actor, around: &Surroundings, now: DateTime<Utc>) -> Vec<AvailableAction> {
        let mut out = self.actions(actor, around, now);
        out.extend(self.plan_actions(actor));
        out.extend(self.part_actions(actor, now));
        out
    }
}
