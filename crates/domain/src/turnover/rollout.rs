//! A production-ready turnover's rollout, decided without the store: which deployments a verification
//! takes, where a rollback goes, and whether a production-ready turnover may be assembled (from a
//! validated pre-production turnover, with releases in verification, into locked environments).

use std::collections::BTreeMap;

use super::{NextStage, Turnover, TurnoverKind, TurnoverState};
use crate::error::Guards;
use crate::{ApplicationRelease, Deployment, DeploymentState, DomainError, Environment};
use crate::{ReleaseState, ScheduleTarget, Train};

/// Whether production-ready turnovers deploy into the environment: locked and not decommissioned.
pub fn takes_production(e: &Environment) -> bool {
    e.locked && e.in_service()
}

/// Whether the application release goes to production now: development-approved, in verification.
pub fn goes_to_production(r: &ApplicationRelease) -> bool {
    r.state == ReleaseState::Verification
}

impl Turnover {
    /// Whether it may be scheduled into `environment` now, its input (time, window) aside: the target
    /// (R11), no turnovers that would wait for each other there (`others`: the production-ready
    /// turnovers of its train into that environment; R5), and the environment still there. Both the
    /// scheduling and its listing in the available actions decide with this.
    pub fn decide_schedule(
        &self,
        environment: &str,
        deployments: &[Deployment],
        others: &[Turnover],
        dependencies: &BTreeMap<String, Vec<String>>,
        environment_exists: bool,
    ) -> Result<ScheduleTarget, DomainError> {
        let target = self.schedule_target(environment, deployments)?;
        crate::holds::refuse_wait_cycle(self, environment, others, dependencies)?;
        let mut g = self.guards("schedule");
        g.check(environment_exists, "environment_missing", || format!("environment {environment} no longer exists"));
        g.done()?;
        Ok(target)
    }

    /// Whether a production-ready turnover may be assembled from this one: a pre-production turnover that
    /// was not cancelled (its validation is judged when it is chosen, [`Turnover::check_source`]).
    pub fn may_start_production(&self) -> bool {
        self.kind == TurnoverKind::Standard && self.state != TurnoverState::Cancelled
    }

    /// Whether one of its deployments of the current generation is validated.
    pub fn validated(&self, deployments: &[Deployment]) -> bool {
        deployments.iter().any(|d| d.generation == self.generation && d.state == DeploymentState::Validated)
    }

    /// A production-ready turnover starts from a pre-production turnover with a validated deployment.
    /// `releases`, when given, are those of the production-ready turnover: they carry this one's.
    pub(crate) fn check_source(&self, g: &mut Guards, deployments: &[Deployment], releases: Option<&[String]>) {
        g.check(self.kind == TurnoverKind::Standard, "from_not_pre_production", || {
            format!("{} is production-ready; start from a pre-production turnover", self.describe())
        });
        g.check(self.state != TurnoverState::Cancelled, "from_cancelled", || {
            format!("{} is cancelled; start from a turnover that is still going", self.describe())
        });
        if let Some(releases) = releases {
            g.check(self.releases.iter().all(|r| releases.contains(r)), "from_other_release", || {
                format!("{} carries {}, which this turnover does not", self.describe(), self.releases.join(", "))
            });
        }
        g.check(self.validated(deployments), "from_not_validated", || {
            format!(
                "{} has no validated deployment; a production-ready turnover starts from a validated one",
                self.describe()
            )
        });
    }

    /// Whether a production-ready turnover of its train may be assembled from this one now: it is a
    /// validated pre-production turnover and its train is between verification and deployment.
    pub fn decide_start_production(&self, train: &Train, deployments: &[Deployment]) -> Result<(), DomainError> {
        let mut g = self.guards("create_production");
        train.check_takes_production_turnovers(&mut g);
        self.check_source(&mut g, deployments, None);
        g.done()
    }

    /// The deployments a verification takes: in `environment` (or in each one), the latest deployment that
    /// succeeded and is no rollback. Refused for a pre-production turnover, or when none awaits.
    pub fn verify_targets<'a>(
        &self,
        environment: Option<&str>,
        deployments: &'a [Deployment],
    ) -> Result<Vec<&'a Deployment>, DomainError> {
        let targets: Vec<&Deployment> = self
            .stages
            .iter()
            .filter(|s| environment.is_none_or(|e| e == s.environment))
            .filter_map(|s| self.latest_in(&s.environment, deployments))
            .filter(|d| d.state == DeploymentState::Succeeded && !d.rollback)
            .collect();
        let mut g = self.guards("verify");
        if self.kind != TurnoverKind::ProductionReady {
            g.fail(
                "not_production_ready",
                format!("{} is pre-production: validate its deployments instead", self.describe()),
            );
        } else if targets.is_empty() {
            let where_ = environment.map(|e| format!(" in {e}")).unwrap_or_default();
            g.fail(
                "nothing_to_verify",
                format!("{} has no deployment{where_} that succeeded and awaits verification", self.describe()),
            );
        }
        g.done()?;
        Ok(targets)
    }

    /// Where a rollback in `environment` goes (its stage, and the attempt after the failed one): only a
    /// failed or rejected production deployment, itself no rollback, is rolled back.
    pub fn decide_rollback(&self, environment: &str, deployments: &[Deployment]) -> Result<NextStage, DomainError> {
        let mut g = self.guards("rollback");
        let Some(stage) = self.stage_of(environment) else {
            g.fail("no_such_environment", format!("{} does not deploy into {environment}", self.describe()));
            g.done()?;
            return Err(DomainError::invalid("environment", "no such environment"));
        };
        let latest = self.latest_in(environment, deployments);
        let failed = latest
            .is_some_and(|d| !d.rollback && matches!(d.state, DeploymentState::Failed | DeploymentState::Rejected));
        if self.kind != TurnoverKind::ProductionReady || !failed {
            let why = match latest {
                Some(d) => format!("{} is {}", d.describe(), d.state),
                None => format!("nothing was deployed into {environment}"),
            };
            g.fail("nothing_failed", format!("only a failed production deployment is rolled back; {why}"));
        }
        g.done()?;
        Ok(NextStage { stage, attempt: latest.map(|d| d.attempt + 1).unwrap_or(1) })
    }
}
