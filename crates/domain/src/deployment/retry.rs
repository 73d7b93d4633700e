//! Retrying a failed deployment: only the latest one of its turnover, while the turnover is in flight.

use chrono::{DateTime, Utc};

use crate::{Change, Deployment, DomainError, Guard, Refusal, Turnover, TurnoverState};

impl Deployment {
    /// What keeps this deployment from being retried, besides its own state: its turnover is not in
    /// flight, or a later deployment of the turnover (into the same environment, for a production one)
    /// superseded it.
    pub fn retry_blockers(&self, turnover: &Turnover, others: &[Deployment]) -> Vec<Guard> {
        use TurnoverState as T;
        let mut guards = Vec::new();
        if !matches!(turnover.state, T::InFlight | T::Deploying | T::Deployed | T::RolledBack) {
            guards
                .push(Guard::new("turnover_not_in_flight", format!("turnover {} is {}", turnover.id, turnover.state)));
        }
        let superseded = others.iter().any(|o| {
            // A production turnover's environments are independent of each other: only a later
            // deployment into the same one supersedes it.
            let same_line = !self.production || o.environment == self.environment;
            o.id != self.id
                && same_line
                && (o.stage, o.attempt) > (self.stage, self.attempt)
                && o.generation == turnover.generation
        });
        if self.generation != turnover.generation || superseded {
            guards.push(Guard::new(
                "not_latest",
                format!("deployment {} is not the latest deployment of turnover {}", self.id, turnover.id),
            ));
        }
        guards
    }

    /// Retries it ([`Deployment::retry`]) when nothing around it forbids ([`Deployment::retry_blockers`]).
    pub fn retry_in(
        &mut self,
        turnover: &Turnover,
        others: &[Deployment],
        rerun: &[String],
        now: DateTime<Utc>,
    ) -> Result<Change, DomainError> {
        let guards = self.retry_blockers(turnover, others);
        if !guards.is_empty() {
            return Err(DomainError::Refused(Refusal {
                action: "retry".into(),
                object: self.describe(),
                state: self.state.to_string(),
                guards,
            }));
        }
        self.retry(rerun, now)
    }
}
