//! An application release's actions.

use chrono::{DateTime, Utc};

use super::AvailableAction;
use crate::{Actor, ApplicationRelease, DomainError, Operation, ReleaseAction, Train};

/// What the service knows around an application release that its actions depend on.
#[derive(Debug, Clone, Default)]
pub struct ReleaseFacts {
    /// Deployments of its turnovers that are running now: (deployment id, turnover id). A send back
    /// returns those turnovers to draft, so it waits for them (R10).
    pub running_deployments: Vec<(String, String)>,
}

impl ReleaseAction {
    /// Every lifecycle action, with stand-in reasons.
    pub fn all() -> [ReleaseAction; 4] {
        [
            ReleaseAction::BeginWork,
            ReleaseAction::RequestDevelopmentApproval,
            ReleaseAction::SendBack { reason: "(reason)".into() },
            ReleaseAction::Cancel { reason: "(reason)".into() },
        ]
    }
}

impl ApplicationRelease {
    /// Accepts its proposal to `train`, the train it is on; refused as input when it is on none.
    pub fn accept_on(&mut self, train: Option<&Train>, actor: &Actor, now: DateTime<Utc>) -> Result<(), DomainError> {
        let Some(train) = train else {
            return Err(DomainError::invalid("train", format!("{} is not proposed to a train", self.id)));
        };
        self.accept(train, actor, now).map(|_| ())
    }

    /// Which actions `actor` may take on the release now: its lifecycle, its train membership
    /// (accept, reject, remove), then what belongs to it ([`ApplicationRelease::part_actions`]). `train` is the train it is on, if any.
    pub fn actions(
        &self,
        actor: &Actor,
        train: Option<&Train>,
        facts: &ReleaseFacts,
        now: DateTime<Utc>,
    ) -> Vec<AvailableAction> {
        let mut out: Vec<AvailableAction> = ReleaseAction::all()
            .iter()
            .map(|a| {
                AvailableAction::decide(a.name(), actor, Operation::EditRelease, || {
                    let id = matches!(a, ReleaseAction::RequestDevelopmentApproval).then(String::new);
                    self.clone().apply_with(a, train, facts, actor, now, id).map(|_| ())
                })
            })
            .collect();
        out.push(AvailableAction::decide("accept", actor, Operation::DecideMembership, || {
            self.clone().accept_on(train, actor, now)
        }));
        out.push(AvailableAction::decide("reject", actor, Operation::DecideMembership, || {
            self.clone().reject("(reason)", actor, now).map(|_| ())
        }));
        out.push(AvailableAction::decide("remove", actor, Operation::EditRelease, || {
            self.clone().remove_from_train(None, actor, now).map(|_| ())
        }));
        out.extend(self.part_actions(actor, train, now));
        out
    }
}
