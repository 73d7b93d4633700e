//! A turnover's actions.

use super::AvailableAction;
use crate::turnover::TurnoverFacts;
use crate::{Actor, Deployment, DomainError, Operation, Turnover, TurnoverKind};

impl Turnover {
    /// Which actions `actor` may take on the turnover now: deploy into its next stage (standard
    /// turnovers), cancel, the production-ready review (deliver, accept, reject), editing its artifacts,
    /// tasks and work items, assembling a production-ready turnover from it, and (production-ready ones)
    /// scheduling, verifying and rolling back in each of its environments ([`Turnover::rollout_actions`]).
    pub fn actions(&self, actor: &Actor, facts: &TurnoverFacts) -> Vec<AvailableAction> {
        let mut list = vec![
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
            // Its artifacts, tasks and work items: the guard every one of those changes runs first.
            AvailableAction::decide("edit", actor, Operation::EditTurnover, || self.guard_mutable("update", actor)),
        ];
        if self.kind == TurnoverKind::Standard {
            list.push(AvailableAction::decide("create_production", actor, Operation::EditTurnover, || {
                match &facts.train {
                    Some(train) => self.decide_start_production(train, &facts.deployments),
                    None => Err(DomainError::invalid("train", format!("the train of {} is not known", self.id))),
                }
            }));
        }
        list.extend(self.rollout_actions(actor, facts));
        list
    }

    /// A production-ready turnover's actions in each of its environments (`on` the environment):
    /// schedule (R11), verify what succeeded there, roll back a failure. None for a standard turnover.
    pub fn rollout_actions(&self, actor: &Actor, facts: &TurnoverFacts) -> Vec<AvailableAction> {
        if self.kind != TurnoverKind::ProductionReady {
            return Vec::new();
        }
        let deployments = &facts.deployments;
        let mut list = Vec::new();
        for env in self.stages.iter().map(|s| s.environment.as_str()) {
            list.push(
                AvailableAction::decide("schedule_production", actor, Operation::Deploy, || {
                    let others = facts.neighbours.get(env).map(Vec::as_slice).unwrap_or(&[]);
                    let exists = facts.environments.iter().any(|e| e.name == env);
                    self.decide_schedule(env, deployments, others, &facts.dependencies, exists).map(|_| ())
                })
                .on(env),
            );
            list.push(
                AvailableAction::decide("verify_production", actor, Operation::Deploy, || {
                    self.verify_targets(Some(env), deployments).map(|_| ())
                })
                .on(env),
            );
            list.push(
                AvailableAction::decide("rollback", actor, Operation::Deploy, || {
                    let n = self.decide_rollback(env, deployments)?;
                    Deployment::rollback_of(String::new(), self, n.stage, n.attempt, "(reason)", actor).map(|_| ())
                })
                .on(env),
            );
        }
        list
    }
}
