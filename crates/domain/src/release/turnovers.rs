//! When an application release takes turnovers: it is accepted on a train in construction or later (and
//! not closed), and it has begun work and is not released yet.

use super::{ApplicationRelease, ReleaseState};
use crate::error::Guards;
use crate::{DomainError, Guard, Refusal, Train, TrainState};

impl ApplicationRelease {
    /// The guards of a new turnover of this release on `train`, the train it is accepted on.
    pub(crate) fn check_takes_turnovers(&self, g: &mut Guards, train: &Train) {
        g.check(train.state >= TrainState::Construction && train.state.is_open(), "train_not_in_construction", || {
            format!("train {} is {}; turnovers are created once it is in construction", train.id, train.state)
        });
        g.check(self.accepted_train() == Some(train.id.as_str()), "release_not_on_train", || {
            format!("{} is not accepted on train {}", self.id, train.id)
        });
        g.check(
            matches!(
                self.state,
                ReleaseState::Construction | ReleaseState::AwaitingDevelopmentApproval | ReleaseState::Verification
            ),
            "release_not_begun",
            || format!("{} is {}; turnovers are created once it has begun work", self.id, self.state),
        );
    }

    /// Whether a turnover of it may be created now, given `train`, the train it is accepted on (none:
    /// refused, turnovers ride trains). Answers that train. The turnover's own input (its path, its
    /// developer) is judged when it is created.
    pub fn takes_turnovers<'a>(&self, train: Option<&'a Train>) -> Result<&'a Train, DomainError> {
        let train = self.turnover_train(train)?;
        let mut g = Guards::new("create", &format!("a turnover of {}", self.id), self.state);
        self.check_takes_turnovers(&mut g, train);
        g.done().map(|()| train)
    }

    /// The train its turnovers ride: `train`, the one it is accepted on; refused when it is on none.
    pub fn turnover_train<'a>(&self, train: Option<&'a Train>) -> Result<&'a Train, DomainError> {
        train.ok_or_else(|| {
            DomainError::Refused(Refusal {
                action: "create".into(),
                object: format!("a turnover of {}", self.id),
                state: self.state.to_string(),
                guards: vec![Guard::new(
                    "release_not_on_train",
                    format!("{} is not accepted on a train; turnovers ride trains", self.id),
                )],
            })
        })
    }
}
