//! Scheduled deployments into locked environments (R11): created for a time, started by the engine at
//! that time and not before, unless the train's manager overrides with a reason; and rollbacks.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::{Deployment, DeploymentState, Trigger};
use crate::{Actor, Change, DomainError, Turnover, TurnoverKind, TurnoverState};

/// The longest window a scheduled deployment may plan for.
pub const MAX_WINDOW_MINUTES: u32 = 24 * 60;

/// How far ahead a deployment may be scheduled.
pub const MAX_DAYS_AHEAD: i64 = 366;

/// R11: a start before the scheduled time, by the train's manager, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EarlyStart {
    pub by: String,
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// What scheduling a production-ready turnover into one environment does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleTarget {
    /// A new deployment: stage index and attempt.
    New { stage: usize, attempt: u32 },
    /// Moves the deployment that has not started yet.
    Move(String),
}

/// A scheduled time must lie ahead, and the window must be sensible.
pub fn check_schedule_time(at: DateTime<Utc>, window_minutes: u32, now: DateTime<Utc>) -> Result<(), DomainError> {
    let mut f = crate::error::Fields::default();
    f.check(at > now, "at", || format!("{at} is in the past (it is now {now}); schedule a time ahead"));
    f.check(at <= now + Duration::days(MAX_DAYS_AHEAD), "at", || {
        format!("{at} is more than {MAX_DAYS_AHEAD} days ahead; schedule within a year")
    });
    f.check((1..=MAX_WINDOW_MINUTES).contains(&window_minutes), "window_minutes", || {
        format!("must be between 1 and {MAX_WINDOW_MINUTES}")
    });
    f.done()
}

impl Turnover {
    /// Where scheduling into `environment` leads, given the turnover's deployments (R11): only accepted
    /// production-ready turnovers are scheduled, into their own environments, and not while a deployment
    /// there runs, awaits verification or is verified.
    pub fn schedule_target(
        &self,
        environment: &str,
        deployments: &[Deployment],
    ) -> Result<ScheduleTarget, DomainError> {
        let mut g = self.guards("schedule");
        g.check(self.kind == TurnoverKind::ProductionReady, "not_production_ready", || {
            format!(
                "{} is not production-ready; locked environments take only accepted production-ready turnovers",
                self.describe()
            )
        });
        g.check(
            matches!(
                self.state,
                TurnoverState::Accepted
                    | TurnoverState::Deploying
                    | TurnoverState::Deployed
                    | TurnoverState::RolledBack
            ),
            "not_accepted",
            || {
                format!(
                    "{} is {}; only an accepted production-ready turnover is scheduled into a locked environment",
                    self.describe(),
                    self.state
                )
            },
        );
        let stage = self.stage_of(environment);
        g.check(stage.is_some(), "no_such_environment", || {
            let names: Vec<&str> = self.stages.iter().map(|s| s.environment.as_str()).collect();
            format!("{} deploys into {}, not {environment}", self.describe(), names.join(", "))
        });
        let latest = self.latest_in(environment, deployments);
        let mut target = stage.map(|stage| ScheduleTarget::New { stage, attempt: 1 });
        if let Some(d) = latest {
            match d.state {
                DeploymentState::Scheduled if d.started_at.is_none() => {
                    target = Some(ScheduleTarget::Move(d.id.clone()))
                }
                DeploymentState::Scheduled | DeploymentState::Running => {
                    g.fail("deployment_active", format!("{} is {}; let it finish first", d.describe(), d.state))
                }
                DeploymentState::Succeeded if !d.rollback => {
                    g.fail("awaiting_verification", format!("{} succeeded and awaits verification", d.describe()))
                }
                DeploymentState::Validated if !d.rollback => {
                    g.fail("already_verified", format!("{} is verified in {environment}", self.describe()))
                }
                _ => {
                    if let Some(ScheduleTarget::New { stage, .. }) = target {
                        target = Some(ScheduleTarget::New { stage, attempt: d.attempt + 1 });
                    }
                }
            }
        }
        g.done()?;
        target.ok_or_else(|| DomainError::invalid("environment", "no such environment"))
    }
}

impl Deployment {
    /// A deployment of a production-ready turnover into one of its environments at `at` (R11).
    #[allow(clippy::too_many_arguments)]
    pub fn scheduled(
        id: String,
        turnover: &Turnover,
        stage: usize,
        attempt: u32,
        at: DateTime<Utc>,
        window_minutes: u32,
        conflicts: Vec<String>,
        actor: &Actor,
    ) -> Result<(Deployment, Change), DomainError> {
        let (mut d, mut change) = Deployment::build(id, turnover, stage, attempt, false, actor)?;
        d.trigger = Trigger::Scheduled;
        d.scheduled_for = Some(at);
        d.planned_end = Some(at + Duration::minutes(i64::from(window_minutes)));
        d.conflicts = conflicts;
        change.data["scheduled_for"] = json!(at);
        change.data["planned_end"] = json!(d.planned_end);
        change.data["conflicts"] = json!(d.conflicts);
        Ok((d, change))
    }

    /// A rollback of a production-ready turnover in one environment: its `rollback` tasks, at once.
    pub fn rollback_of(
        id: String,
        turnover: &Turnover,
        stage: usize,
        attempt: u32,
        reason: &str,
        actor: &Actor,
    ) -> Result<(Deployment, Change), DomainError> {
        if reason.trim().is_empty() {
            return Err(DomainError::invalid("reason", "a rollback needs a reason"));
        }
        let (d, mut change) = Deployment::build(id, turnover, stage, attempt, true, actor)?;
        change.data["reason"] = json!(reason.trim());
        Ok((d, change))
    }

    /// Moves a deployment that has not started to a new time.
    pub fn reschedule(
        &mut self,
        at: DateTime<Utc>,
        window_minutes: u32,
        conflicts: Vec<String>,
    ) -> Result<Change, DomainError> {
        let mut g = self.guards("reschedule");
        g.check(self.state == DeploymentState::Scheduled && self.started_at.is_none(), "wrong_state", || {
            format!("{} is {}; only one that has not started moves", self.describe(), self.state)
        });
        g.done()?;
        let from = self.scheduled_for;
        // A new time replaces an early start granted for the old one (R11: a new override is needed).
        let dropped_override = self.early_start.take().is_some();
        self.scheduled_for = Some(at);
        self.planned_end = Some(at + Duration::minutes(i64::from(window_minutes)));
        self.trigger = Trigger::Scheduled;
        self.conflicts = conflicts;
        Ok(Change::new(
            "deployment",
            &self.id,
            "reschedule",
            json!({"from": from, "to": at, "planned_end": self.planned_end, "conflicts": self.conflicts,
                   "early_start_withdrawn": dropped_override}),
        ))
    }

    /// Its time has come (or it has none, or it was started early).
    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        self.early_start.is_some() || self.scheduled_for.is_none_or(|t| t <= now)
    }

    /// Whether it is scheduled and has not started yet: the engine starts it at its time (or the train's
    /// manager earlier, R11).
    pub fn awaits_start(&self) -> bool {
        self.state == DeploymentState::Scheduled && self.started_at.is_none()
    }

    /// R11: a start before the scheduled time needs an override by the train's manager, with a reason.
    pub fn start_early(
        &mut self,
        override_schedule: bool,
        reason: &str,
        manager: &str,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Change, DomainError> {
        let mut g = self.guards("start");
        g.check(self.awaits_start(), "wrong_state", || {
            format!("{} is {}; only a deployment that has not started is started early", self.describe(), self.state)
        });
        match self.scheduled_for {
            Some(at) if at > now => {
                if !override_schedule {
                    g.fail(
                        "before_scheduled_time",
                        format!(
                            "{} is scheduled for {at}; starting it earlier needs an override by the train's manager ({manager}) with a reason",
                            self.describe()
                        ),
                    );
                } else {
                    let rule = crate::access::rules::TRAIN_MANAGER_ONLY;
                    g.deny(rule.allows(actor, Some(manager)), rule.code, || {
                        format!("only the train's manager ({manager}) overrides the scheduled time")
                    });
                    g.check(!reason.trim().is_empty(), "reason_missing", || {
                        "an override of the scheduled time needs a reason".to_string()
                    });
                }
            }
            _ => g.fail(
                "already_due",
                format!(
                    "{} is not waiting for a scheduled time; the engine starts it as soon as nothing holds it",
                    self.describe()
                ),
            ),
        }
        g.done()?;
        self.early_start = Some(EarlyStart { by: actor.name.clone(), reason: reason.trim().to_string(), at: now });
        Ok(Change::new(
            "deployment",
            &self.id,
            "start_early",
            json!({"scheduled_for": self.scheduled_for, "override": true, "reason": reason.trim()}),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Role;

    #[test]
    fn moving_a_deployment_withdraws_its_early_start() {
        let t: Turnover = serde_json::from_value(json!({
            "id": "TO-1", "title": "night", "developer": "d", "kind": "production_ready", "releases": ["AR-1"],
            "train_id": "RT-1", "path_id": "", "state": "accepted", "created_by": "d",
            "stages": [{"environment": "prod"}],
            "tasks": [{"id": "TA-1", "title": "install", "sequence": 1, "owner": "o"}],
        }))
        .unwrap();
        let now = DateTime::parse_from_rfc3339("2027-03-06T12:00:00Z").unwrap().with_timezone(&Utc);
        let rita = Actor::new("rita", &[Role::ReleaseManager]);
        let (mut d, _) =
            Deployment::scheduled("DE-1".into(), &t, 0, 1, now + Duration::hours(9), 60, Vec::new(), &rita).unwrap();
        assert!(!d.is_due(now));
        let refused = d.start_early(false, "", "rita", &rita, now).unwrap_err();
        assert!(refused.to_string().contains("needs an override by the train's manager (rita)"), "{refused}");
        d.start_early(true, "window moved", "rita", &rita, now).unwrap();
        assert!(d.is_due(now));
        d.reschedule(now + Duration::days(1), 60, Vec::new()).unwrap();
        assert!(d.early_start.is_none() && !d.is_due(now), "a new time needs a new override (R11)");
    }
}
