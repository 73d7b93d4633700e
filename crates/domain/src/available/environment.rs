//! An environment's actions.

use super::AvailableAction;
use crate::{Actor, Environment, EnvironmentAction, EnvironmentPatch, Operation};

impl EnvironmentAction {
    pub const ALL: [EnvironmentAction; 3] =
        [EnvironmentAction::TakeOffline, EnvironmentAction::BringOnline, EnvironmentAction::Decommission];

    pub fn name(self) -> &'static str {
        match self {
            EnvironmentAction::TakeOffline => "take_offline",
            EnvironmentAction::BringOnline => "bring_online",
            EnvironmentAction::Decommission => "decommission",
        }
    }
}

impl Environment {
    /// Which actions `actor` may take on the environment now: its lifecycle actions, `edit` (its
    /// details), `plan_calendar` (add an event) and `remove_event` on each of its events.
    pub fn actions(&self, actor: &Actor) -> Vec<AvailableAction> {
        let mut list: Vec<AvailableAction> = EnvironmentAction::ALL
            .iter()
            .map(|&a| {
                AvailableAction::decide(a.name(), actor, Operation::ManageEnvironments, || {
                    self.clone().apply(a, None).map(|_| ())
                })
            })
            .collect();
        list.push(AvailableAction::decide("edit", actor, Operation::ManageEnvironments, || {
            self.clone().update(EnvironmentPatch::default()).map(|_| ())
        }));
        list.push(AvailableAction::decide("plan_calendar", actor, Operation::PlanCalendar, || self.plannable()));
        for e in &self.events {
            list.push(
                AvailableAction::decide("remove_event", actor, Operation::PlanCalendar, || {
                    self.clone().remove_event(&e.id).map(|_| ())
                })
                .on(e.id.clone()),
            );
        }
        list
    }
}
