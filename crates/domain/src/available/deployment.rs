//! A deployment's actions.

use chrono::{DateTime, Utc};

use super::AvailableAction;
use crate::access::role_guard;
use crate::{Actor, Deployment, Operation, Turnover};

impl Deployment {
    /// Which actions `actor` may take on the deployment now. `turnover` is its turnover, `others` every
    /// deployment of it, `train_manager` the manager of its train. Completing a manual run is listed `on`
    /// each manual run.
    pub fn actions(
        &self,
        actor: &Actor,
        turnover: &Turnover,
        others: &[Deployment],
        train_manager: &str,
        now: DateTime<Utc>,
    ) -> Vec<AvailableAction> {
        // Starting without an override: engineers and managers may ask (and are refused before the
        // scheduled time); the role refusal is the engineers'.
        let start = if actor.may(Operation::StartEarly) || actor.may(Operation::Deploy) {
            AvailableAction::of("start", self.clone().start_early(false, "", train_manager, actor, now).map(|_| ()))
        } else {
            AvailableAction {
                action: "start".into(),
                allowed: false,
                guards: role_guard(actor, Operation::Deploy).into_iter().collect(),
                on: None,
            }
        };
        let mut list = vec![
            AvailableAction::decide("retry", actor, Operation::Deploy, || {
                self.clone().retry_in(turnover, others, &[], now).map(|_| ())
            }),
            AvailableAction::decide("abandon", actor, Operation::Deploy, || self.clone().abandon(now).map(|_| ())),
            AvailableAction::decide("validate", actor, Operation::Deploy, || {
                self.clone().validate(true, "", actor, now).map(|_| ())
            }),
            start,
            AvailableAction::decide("start_early", actor, Operation::StartEarly, || {
                self.clone().start_early(true, "(reason)", train_manager, actor, now).map(|_| ())
            }),
        ];
        // R15: each manual run, by its owner or a release engineer.
        for r in self.runs.iter().filter(|r| r.owner.is_some()) {
            list.push(
                AvailableAction::decide("complete_run", actor, Operation::CompleteRun, || {
                    self.clone().complete_manual(&r.id, true, "", actor, now).map(|_| ())
                })
                .on(r.id.clone()),
            );
        }
        list
    }
}
