//! A train's plan and parts: editing it, copying it, what may join it, and the actions on each gate,
//! exit criterion and milestone (each entry names its part with `on`).

use chrono::{DateTime, Utc};

use super::AvailableAction;
use crate::train::{CriterionPatch, CriterionSpec, MilestonePatch, MilestoneSpec, TrainPatch};
use crate::{Actor, CriterionState, Evidence, GateName, MilestoneState, Operation, Train};

/// The name an exit criterion's actions are `on`: its gate and its id (`scoping/EC-1`).
pub fn criterion_part(gate: GateName, criterion: &str) -> String {
    format!("{}/{criterion}", gate.as_str())
}

impl Train {
    /// The actions on the train's plan: edit it, hand it to another manager, copy it, add a milestone,
    /// propose an application release to it, assemble a production-ready turnover for it.
    pub fn plan_actions(&self, actor: &Actor) -> Vec<AvailableAction> {
        let other = format!("{} (another manager)", self.manager);
        vec![
            AvailableAction::decide("edit", actor, Operation::EditTrain, || {
                self.clone().update(TrainPatch::default(), actor).map(|_| ())
            }),
            AvailableAction::decide("hand_over", actor, Operation::EditTrain, || {
                let patch = TrainPatch { manager: Some(other), ..Default::default() };
                self.clone().update(patch, actor).map(|_| ())
            }),
            AvailableAction::decide("copy", actor, Operation::CreateTrain, || {
                let mut none = std::iter::repeat(String::new());
                self.copy(String::new(), self.schedule.start, None, &mut none.clone(), &mut none, actor).map(|_| ())
            }),
            AvailableAction::decide("add_milestone", actor, Operation::EditTrain, || {
                let spec =
                    MilestoneSpec { title: "(title)".into(), due: self.schedule.start, owner: None, inherit: false };
                self.clone().add_milestone(String::new(), spec).map(|_| ())
            }),
            AvailableAction::decide("add_release", actor, Operation::EditRelease, || self.takes_releases()),
            AvailableAction::decide("add_turnover", actor, Operation::EditTurnover, || {
                self.takes_production_turnovers()
            }),
        ]
    }

    /// The actions on each gate (`on` the gate), exit criterion (`on` `gate/criterion`) and milestone
    /// (`on` its id), each decided by the function the action runs, on a copy.
    pub fn part_actions(&self, actor: &Actor, now: DateTime<Utc>) -> Vec<AvailableAction> {
        let mut out = Vec::new();
        for g in GateName::ALL {
            let gate = self.gates.get(g);
            let on = g.as_str();
            out.push(
                AvailableAction::decide("edit_gate", actor, Operation::EditTrain, || {
                    self.clone().set_gate_approval_required(g, gate.approval_required).map(|_| ())
                })
                .on(on),
            );
            out.push(
                AvailableAction::decide("add_criterion", actor, Operation::EditTrain, || {
                    let spec = CriterionSpec { title: "(title)".into(), owner: None, environment: None };
                    self.clone().add_criterion(g, String::new(), spec).map(|_| ())
                })
                .on(on),
            );
            out.push(
                AvailableAction::decide("request_gate_approval", actor, Operation::AdvanceTrain, || {
                    self.clone().request_gate_approval(g, String::new(), actor, now).map(|_| ())
                })
                .on(on),
            );
            for c in &gate.criteria {
                out.extend(self.criterion_actions(g, &c.id, actor, now));
            }
        }
        for m in &self.milestones {
            out.extend(self.milestone_actions(&m.id, actor, now));
        }
        out
    }

    fn criterion_actions(&self, g: GateName, id: &str, actor: &Actor, now: DateTime<Utc>) -> Vec<AvailableAction> {
        let on = criterion_part(g, id);
        let evidence = || Some(Evidence { note: "(evidence)".into(), link: None });
        let decide = |to: CriterionState| {
            let reason = (to == CriterionState::Waived).then(|| "(reason)".to_string());
            let evidence = (to == CriterionState::Met).then(evidence).flatten();
            self.clone().decide_criterion(id, to, evidence, reason, actor, now).map(|_| ())
        };
        vec![
            AvailableAction::decide("meet_criterion", actor, Operation::MeetCriterion, || decide(CriterionState::Met)),
            AvailableAction::decide("waive_criterion", actor, Operation::WaiveCriterion, || {
                decide(CriterionState::Waived)
            }),
            AvailableAction::decide("reopen_criterion", actor, Operation::MeetCriterion, || {
                decide(CriterionState::Open)
            }),
            AvailableAction::decide("edit_criterion", actor, Operation::EditTrain, || {
                self.clone().edit_criterion(id, CriterionPatch::default()).map(|_| ())
            }),
            AvailableAction::decide("remove_criterion", actor, Operation::EditTrain, || {
                self.clone().remove_criterion(id).map(|_| ())
            }),
        ]
        .into_iter()
        .map(|a| a.on(on.clone()))
        .collect()
    }

    fn milestone_actions(&self, id: &str, actor: &Actor, now: DateTime<Utc>) -> Vec<AvailableAction> {
        let decide = |to: MilestoneState| self.clone().decide_milestone(id, to, actor, now).map(|_| ());
        vec![
            AvailableAction::decide("complete_milestone", actor, Operation::CompleteMilestone, || {
                decide(MilestoneState::Completed)
            }),
            AvailableAction::decide("miss_milestone", actor, Operation::CompleteMilestone, || {
                decide(MilestoneState::Missed)
            }),
            AvailableAction::decide("edit_milestone", actor, Operation::EditTrain, || {
                self.clone().edit_milestone(id, MilestonePatch::default()).map(|_| ())
            }),
            AvailableAction::decide("remove_milestone", actor, Operation::EditTrain, || {
                self.clone().remove_milestone(id).map(|_| ())
            }),
        ]
        .into_iter()
        .map(|a| a.on(id))
        .collect()
    }
}
