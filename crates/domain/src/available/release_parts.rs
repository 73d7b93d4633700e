//! An application release's actions beside its lifecycle: change it, propose it to a train, its work
//! items, dependencies, milestones, and a new turnover of it.

use chrono::{DateTime, Utc};

use super::AvailableAction;
use crate::{
    Actor, ApplicationRelease, MilestonePatch, MilestoneSpec, MilestoneState, Operation, ReleasePatch, ReleaseState,
    Train,
};

impl ApplicationRelease {
    /// The actions on what belongs to the release, each decided by the very function it runs: `edit`,
    /// `propose`, `manage_work_items`, `add_dependency`, `remove_dependency` (on each dependency),
    /// `add_milestone`, `complete_milestone`, `miss_milestone`, `edit_milestone`, `remove_milestone` (on
    /// each milestone) and `create_turnover`. `train` is the train it is on, if any.
    pub(crate) fn part_actions(
        &self,
        actor: &Actor,
        train: Option<&Train>,
        now: DateTime<Utc>,
    ) -> Vec<AvailableAction> {
        let mut out = vec![
            AvailableAction::decide("edit", actor, Operation::EditRelease, || {
                self.clone().update(ReleasePatch::default(), train, actor).map(|_| ())
            }),
            // Proposing to the train it is on is refused as it is (already on a train); on none, whichever
            // train is chosen is judged when it is.
            AvailableAction::decide("propose", actor, Operation::EditRelease, || match train {
                Some(t) => self.clone().propose(t, actor, now).map(|_| ()),
                None => self.may_propose(actor),
            }),
            AvailableAction::decide("manage_work_items", actor, Operation::ManageWorkItems, || {
                self.guard_manage("manage_work_items", actor)
            }),
            AvailableAction::decide("add_dependency", actor, Operation::EditRelease, || {
                let mut other = self.clone();
                other.id = "(another release)".into();
                other.state = ReleaseState::Planning;
                self.clone().add_dependency(&other, actor).map(|_| ())
            }),
        ];
        for d in &self.dependencies {
            out.push(
                AvailableAction::decide("remove_dependency", actor, Operation::EditRelease, || {
                    self.clone().remove_dependency(d, actor).map(|_| ())
                })
                .on(d.as_str()),
            );
        }
        out.push(AvailableAction::decide("add_milestone", actor, Operation::EditRelease, || {
            let spec = MilestoneSpec { title: "(title)".into(), due: now.date_naive(), owner: None, inherit: false };
            self.clone().add_milestone(String::new(), spec, actor).map(|_| ())
        }));
        for m in &self.milestones {
            let id = m.id.as_str();
            for (name, to) in
                [("complete_milestone", MilestoneState::Completed), ("miss_milestone", MilestoneState::Missed)]
            {
                out.push(
                    AvailableAction::decide(name, actor, Operation::CompleteMilestone, || {
                        self.clone().decide_milestone(id, to, actor, now).map(|_| ())
                    })
                    .on(id),
                );
            }
            out.push(
                AvailableAction::decide("edit_milestone", actor, Operation::EditRelease, || {
                    self.clone().edit_milestone(id, MilestonePatch::default(), actor).map(|_| ())
                })
                .on(id),
            );
            out.push(
                AvailableAction::decide("remove_milestone", actor, Operation::EditRelease, || {
                    self.clone().remove_milestone(id, actor).map(|_| ())
                })
                .on(id),
            );
        }
        out.push(AvailableAction::decide("create_turnover", actor, Operation::EditTurnover, || {
            self.takes_turnovers(self.accepted_train().and(train)).map(|_| ())
        }));
        out
    }
}
