//! Into production: production-ready turnovers (create, deliver, accept, reject, proposed task order),
//! their scheduled deployments into locked environments (R11) with early starts under override,
//! verification and rollback, and what follows from them: application releases become released when all
//! their production turnovers are verified.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use railyard_domain::{
    Actor, ApplicationRelease, Change, Deployment, DeploymentState, Environment, EventKind, Guard, Operation,
    ProductionSpec, ProposedOrder, Refusal, ScheduleTarget, Train, Turnover, TurnoverKind, TurnoverState,
    check_schedule_time, default_tiers,
};
use railyard_store::ListQuery;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::deployments::DeploymentView;
use crate::input_limits::bounded;
use crate::persist::{Stored, Tx, seq_of};
use crate::{ReviewInput, Service, ServiceError, ServiceResult, TurnoverView};

/// The window a scheduled deployment plans for unless told otherwise.
pub const DEFAULT_WINDOW_MINUTES: u32 = 60;

fn default_window() -> u32 {
    DEFAULT_WINDOW_MINUTES
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleInput {
    /// One of the turnover's locked environments.
    pub environment: String,
    /// When the engine starts it (RFC 3339, ahead of now).
    pub at: DateTime<Utc>,
    /// How long the deployment is planned to take (1 to 1440 minutes, default 60): its window on the
    /// environment's calendar, used to report conflicts.
    #[serde(default = "default_window")]
    pub window_minutes: u32,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartInput {
    /// Start before the scheduled time: only the train's manager, with a reason (R11).
    #[serde(default, rename = "override")]
    pub override_schedule: bool,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyInput {
    /// The environment whose deployment is verified (default: every one awaiting verification).
    #[serde(default)]
    pub environment: Option<String>,
    pub passed: bool,
    /// Required when it failed.
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackInput {
    pub environment: String,
    pub reason: String,
}

impl Service {
    pub async fn create_production_turnover(&self, actor: &Actor, spec: ProductionSpec) -> ServiceResult<TurnoverView> {
        bounded(&spec)?;
        self.authorize(actor, Operation::EditTurnover)?;
        let mut releases = Vec::new();
        for (i, r) in spec.releases.iter().enumerate() {
            let release: Stored<ApplicationRelease> = self.find(r).await?.ok_or_else(|| {
                ServiceError::invalid(&format!("releases[{i}]"), format!("there is no application release {r}"))
            })?;
            releases.push(release.value);
        }
        let mut environments = Vec::new();
        for (i, e) in spec.environments.iter().enumerate() {
            let env: Stored<Environment> = self.find(e).await?.ok_or_else(|| {
                ServiceError::invalid(&format!("environments[{i}]"), format!("there is no environment {e}"))
            })?;
            environments.push(env.value);
        }
        let Some(train_id) = releases.first().and_then(|r| r.accepted_train()) else {
            let first = spec.releases.first().cloned().unwrap_or_default();
            return Err(ServiceError::Refused(Refusal {
                action: "create".into(),
                object: "a production-ready turnover".into(),
                state: "none".into(),
                guards: vec![Guard::new(
                    "release_not_on_train",
                    format!("{first} is not accepted on a train; production-ready turnovers ride trains"),
                )],
            }));
        };
        let train: Stored<Train> = self.load(train_id).await?;
        let developer = spec.developer.clone().unwrap_or_else(|| actor.name.clone());
        self.check_users([("developer".to_string(), developer)]).await?;
        let from = match &spec.from {
            None => None,
            Some(f) => {
                let t: Stored<Turnover> = self
                    .find(f)
                    .await?
                    .ok_or_else(|| ServiceError::invalid("from", format!("there is no turnover {f}")))?;
                let ds: Vec<Deployment> = self.deployments_of(f).await?.into_iter().map(|d| d.value).collect();
                Some((t.value, ds))
            }
        };
        let from_ref = from.as_ref().map(|(t, ds)| (t, ds.as_slice()));
        let create = |id: String, ids: &mut dyn Iterator<Item = String>| {
            Turnover::create_production(id, spec.clone(), &releases, &train.value, &environments, from_ref, ids, actor)
        };
        // Decide first, so a refused create takes no numbers.
        create(String::new(), &mut std::iter::repeat(String::new()))?;
        let n = from.as_ref().map(|(t, _)| t.tasks.len()).unwrap_or(0);
        let mut ids = Vec::new();
        if n > 0 {
            let first = self.store.reserve_seqs("TA", n as u32).await?;
            ids = (0..n as i64).map(|i| format!("TA-{}", first + i)).collect();
        }
        let id = self.new_id("TO").await?;
        let (turnover, change) = create(id.clone(), &mut ids.into_iter())?;
        let mut tx = Tx::new(actor, self.now());
        tx.insert(&turnover, seq_of(&id))?;
        tx.record([change]);
        self.commit(tx).await?;
        self.turnover(actor, &id).await
    }

    /// Changes a turnover with `step` (no new ids needed), saving it with its event.
    async fn review_step(
        &self,
        actor: &Actor,
        op: Operation,
        id: &str,
        step: impl Fn(&mut Turnover) -> Result<Change, railyard_domain::DomainError> + Sync,
    ) -> ServiceResult<TurnoverView> {
        self.authorize(actor, op)?;
        let step = &step;
        self.retrying(None, move || async move {
            let mut t: Stored<Turnover> = self.load(id).await?;
            let change = step(&mut t.value)?;
            let mut tx = Tx::new(actor, self.now());
            tx.record([change]);
            tx.update(&t)?;
            self.commit(tx).await
        })
        .await?;
        self.turnover(actor, id).await
    }

    pub async fn deliver_turnover(&self, actor: &Actor, id: &str) -> ServiceResult<TurnoverView> {
        self.review_step(actor, Operation::EditTurnover, id, |t| t.deliver(actor)).await
    }

    pub async fn accept_turnover(&self, actor: &Actor, id: &str) -> ServiceResult<TurnoverView> {
        self.review_step(actor, Operation::AcceptTurnover, id, |t| t.accept(actor)).await
    }

    pub async fn reject_turnover(&self, actor: &Actor, id: &str, input: ReviewInput) -> ServiceResult<TurnoverView> {
        bounded(&input)?;
        let comment = input.comment.unwrap_or_default();
        self.review_step(actor, Operation::AcceptTurnover, id, |t| t.reject(&comment, actor)).await
    }

    /// The proposed task order of a turnover: releases by dependencies (R5), then tiers (default
    /// database, app, web). Apply it with `reorder_tasks`, as is or edited.
    pub async fn proposed_order(&self, actor: &Actor, id: &str, tiers: Vec<String>) -> ServiceResult<ProposedOrder> {
        self.authorize(actor, Operation::Read)?;
        let t: Stored<Turnover> = self.load(id).await?;
        // Dependencies as far as they reach, so that two releases of the turnover depending on each other
        // through a release outside it are still ordered.
        let mut depends_on: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut todo: Vec<String> = t.value.releases.clone();
        while let Some(r) = todo.pop() {
            if depends_on.contains_key(&r) {
                continue;
            }
            let deps = self.find::<ApplicationRelease>(&r).await?.map(|x| x.value.dependencies).unwrap_or_default();
            todo.extend(deps.iter().cloned());
            depends_on.insert(r, deps);
        }
        let tiers = if tiers.is_empty() { default_tiers() } else { tiers };
        Ok(t.value.proposed_order(&depends_on, &tiers))
    }

    /// What overlaps a window in an environment: other deployments planned or running there, and
    /// blackouts, maintenance and other trains' reservations of its calendar.
    pub(crate) async fn schedule_conflicts(
        &self,
        env: &Environment,
        train: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        except: Option<&str>,
    ) -> ServiceResult<Vec<String>> {
        let mut out = Vec::new();
        for e in env.events_between(from, to) {
            match e.kind {
                EventKind::Blackout | EventKind::Maintenance => out.push(format!(
                    "{} falls in {} {} '{}' of {} ({} to {})",
                    from,
                    e.kind.as_str(),
                    e.id,
                    e.title,
                    env.name,
                    e.start,
                    e.end
                )),
                EventKind::Reservation if e.train_id.as_deref() != Some(train) => out.push(format!(
                    "{} is reserved for train {} by {} '{}' ({} to {})",
                    env.name,
                    e.train_id.as_deref().unwrap_or("?"),
                    e.id,
                    e.title,
                    e.start,
                    e.end
                )),
                EventKind::Reservation => {}
            }
        }
        let mut q = ListQuery::new("deployment", crate::MAX_PAGE);
        q.category = Some(env.name.clone());
        q.states = vec![DeploymentState::Scheduled.as_str().into(), DeploymentState::Running.as_str().into()];
        for d in self.list_all::<Deployment>(q).await? {
            let d = d.value;
            if Some(d.id.as_str()) == except {
                continue;
            }
            let (Some(start), Some(end)) = (d.started_at.or(d.scheduled_for), d.planned_end) else { continue };
            if start < to && from < end {
                out.push(format!(
                    "it overlaps {} of turnover {} in {} ({} to {})",
                    d.id, d.turnover_id, env.name, start, end
                ));
            }
        }
        Ok(out)
    }

    /// R11: schedules an accepted production-ready turnover into one of its locked environments (or moves
    /// the time of one that has not started). Conflicts are reported on the deployment, not refused.
    pub async fn schedule_turnover(
        &self,
        actor: &Actor,
        id: &str,
        input: ScheduleInput,
    ) -> ServiceResult<DeploymentView> {
        bounded(&input)?;
        self.authorize(actor, Operation::Deploy)?;
        let input = &input;
        let dep_id = self
            .retrying(None, move || async move {
                let now = self.now();
                let mut t: Stored<Turnover> = self.load(id).await?;
                let past: Vec<Stored<Deployment>> = self.deployments_of(id).await?;
                let values: Vec<Deployment> = past.iter().map(|d| d.value.clone()).collect();
                let target = t.value.schedule_target(&input.environment, &values)?;
                check_schedule_time(input.at, input.window_minutes, now)?;
                let others = self.production_turnovers_into(&t.value.train_id, &input.environment).await?;
                let found: Option<Stored<Environment>> = self.find(&input.environment).await?;
                let deps = self.dependency_map().await?;
                t.value.decide_schedule(&input.environment, &values, &others, &deps, found.is_some())?;
                let Some(env) = found else {
                    return Err(ServiceError::Internal(format!("environment {} vanished", input.environment)));
                };
                let end = input.at + chrono::Duration::minutes(i64::from(input.window_minutes));
                let except = match &target {
                    ScheduleTarget::Move(d) => Some(d.as_str()),
                    ScheduleTarget::New { .. } => None,
                };
                let conflicts = self.schedule_conflicts(&env.value, &t.value.train_id, input.at, end, except).await?;
                let mut tx = Tx::new(actor, now);
                let (d, is_new) = match target {
                    ScheduleTarget::Move(did) => {
                        let Some(mut d) = past.into_iter().find(|d| d.value.id == did) else {
                            return Err(ServiceError::Internal(format!("deployment {did} vanished")));
                        };
                        tx.record([d.value.reschedule(input.at, input.window_minutes, conflicts)?]);
                        tx.record(d.value.set_blocked(None));
                        tx.update(&d)?;
                        (d.value, false)
                    }
                    ScheduleTarget::New { stage, attempt } => {
                        let make = |id: String| {
                            Deployment::scheduled(
                                id,
                                &t.value,
                                stage,
                                attempt,
                                input.at,
                                input.window_minutes,
                                conflicts.clone(),
                                actor,
                            )
                        };
                        make(String::new())?;
                        let did = self.new_id("DE").await?;
                        let (d, change) = make(did.clone())?;
                        tx.insert(&d, seq_of(&did))?;
                        tx.record([change]);
                        (d, true)
                    }
                };
                if is_new {
                    let mut all = values;
                    all.push(d.clone());
                    tx.record(t.value.refresh_production(&all));
                    tx.update(&t)?;
                }
                self.commit(tx).await?;
                Ok(d.id)
            })
            .await?;
        self.deployment(actor, &dep_id).await
    }

    /// R11: starts a scheduled deployment before its time, by the train's manager with a reason; without
    /// the override it is refused, naming the scheduled time.
    pub async fn start_deployment(&self, actor: &Actor, id: &str, input: StartInput) -> ServiceResult<DeploymentView> {
        bounded(&input)?;
        // With an override, only the train's manager (a release manager); without one, engineers and
        // managers may ask (and are refused before the time, naming it).
        if input.override_schedule {
            self.authorize(actor, Operation::StartEarly)?;
        } else {
            self.authorize(actor, Operation::StartEarly).or_else(|_| self.authorize(actor, Operation::Deploy))?;
        }
        let input = &input;
        self.retrying(None, move || async move {
            let mut d: Stored<Deployment> = self.load(id).await?;
            let train: Stored<Train> = self.load(&d.value.train_id).await?;
            let now = self.now();
            let change =
                d.value.start_early(input.override_schedule, &input.reason, &train.value.manager, actor, now)?;
            let mut tx = Tx::new(actor, now);
            tx.record([change]);
            tx.update(&d)?;
            self.commit(tx).await
        })
        .await?;
        self.deployment(actor, id).await
    }

    /// Verifies a deployed production turnover, in one environment or in each awaiting verification:
    /// passed, or failed with a note. Its releases become released once all their production turnovers
    /// are verified.
    pub async fn verify_turnover(&self, actor: &Actor, id: &str, input: VerifyInput) -> ServiceResult<TurnoverView> {
        bounded(&input)?;
        self.authorize(actor, Operation::Deploy)?;
        let input = &input;
        self.retrying(None, move || async move {
            let t: Stored<Turnover> = self.load(id).await?;
            let now = self.now();
            let past = self.deployments_of(id).await?;
            let values: Vec<Deployment> = past.iter().map(|d| d.value.clone()).collect();
            let ids: Vec<String> = t
                .value
                .verify_targets(input.environment.as_deref(), &values)?
                .into_iter()
                .map(|d| d.id.clone())
                .collect();
            let mut targets: Vec<Stored<Deployment>> = past.into_iter().filter(|d| ids.contains(&d.value.id)).collect();
            let mut tx = Tx::new(actor, now);
            for d in &mut targets {
                tx.record([d.value.validate(input.passed, &input.note, actor, now)?]);
                tx.update(d)?;
            }
            let changed: Vec<Deployment> = targets.into_iter().map(|d| d.value).collect();
            self.follow_production(&mut tx, &t.value.id, &changed, &actor.name, now).await?;
            self.commit(tx).await
        })
        .await?;
        self.turnover(actor, id).await
    }

    /// Rolls a production turnover back in one environment after a failure: a deployment of its tasks
    /// marked `rollback`, started at once, even while the line is stopped (the environment's calendar
    /// still holds it, R13).
    pub async fn rollback_turnover(
        &self,
        actor: &Actor,
        id: &str,
        input: RollbackInput,
    ) -> ServiceResult<DeploymentView> {
        bounded(&input)?;
        self.authorize(actor, Operation::Deploy)?;
        let input = &input;
        let dep_id = self
            .retrying(None, move || async move {
                let now = self.now();
                let t: Stored<Turnover> = self.load(id).await?;
                let past: Vec<Deployment> = self.deployments_of(id).await?.into_iter().map(|d| d.value).collect();
                let railyard_domain::NextStage { stage, attempt } =
                    t.value.decide_rollback(&input.environment, &past)?;
                Deployment::rollback_of(String::new(), &t.value, stage, attempt, &input.reason, actor)?;
                let did = self.new_id("DE").await?;
                let (d, change) = Deployment::rollback_of(did.clone(), &t.value, stage, attempt, &input.reason, actor)?;
                let mut tx = Tx::new(actor, now);
                tx.insert(&d, seq_of(&did))?;
                tx.record([change]);
                self.follow_production(&mut tx, id, std::slice::from_ref(&d), &actor.name, now).await?;
                self.commit(tx).await?;
                Ok(did)
            })
            .await?;
        self.deployment(actor, &dep_id).await
    }

    /// A production turnover's state follows its deployments (`changed` are those changed in this
    /// commit); once verified, each release it carries becomes released when all the production
    /// turnovers carrying it are verified.
    pub(crate) async fn follow_production(
        &self,
        tx: &mut Tx,
        turnover: &str,
        changed: &[Deployment],
        by: &str,
        now: DateTime<Utc>,
    ) -> ServiceResult<()> {
        let mut t: Stored<Turnover> = self.load(turnover).await?;
        let mut all: Vec<Deployment> = self.deployments_of(turnover).await?.into_iter().map(|d| d.value).collect();
        for c in changed {
            match all.iter_mut().find(|d| d.id == c.id) {
                Some(d) => *d = c.clone(),
                None => all.push(c.clone()),
            }
        }
        let change = t.value.refresh_production(&all);
        let verified_now = change.is_some() && t.value.state == TurnoverState::Verified;
        tx.record(change);
        // Written even when unchanged: two environments settling at once then conflict, and the one that
        // retries sees the other's deployment settled (otherwise both could compute "deploying").
        tx.update(&t)?;
        if verified_now {
            let releases = t.value.releases.clone();
            self.release_when_verified(tx, &t.value.train_id, &releases, Some(&t.value), true, by, now).await?;
        }
        Ok(())
    }

    /// Each of `releases` becomes released once a production-ready turnover carrying it is verified and
    /// every other one carrying it is verified or cancelled. `changed` is a turnover changed in this
    /// commit (its new state counts). With `serialize`, the other turnovers consulted are saved again in
    /// the same commit, so that two verified at the same time conflict and the retry sees both.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn release_when_verified(
        &self,
        tx: &mut Tx,
        train: &str,
        releases: &[String],
        changed: Option<&Turnover>,
        serialize: bool,
        by: &str,
        now: DateTime<Utc>,
    ) -> ServiceResult<()> {
        let mut q = ListQuery::new("turnover", crate::MAX_PAGE);
        q.category = Some(train.to_string());
        let mut siblings = self.list_all::<Turnover>(q).await?;
        for s in &mut siblings {
            if let Some(c) = changed.filter(|c| c.id == s.value.id) {
                s.value = c.clone();
            }
        }
        let mut consulted: Vec<&Stored<Turnover>> = Vec::new();
        for r in releases {
            let carriers: Vec<&Stored<Turnover>> = siblings
                .iter()
                .filter(|s| {
                    s.value.kind == TurnoverKind::ProductionReady
                        && s.value.releases.contains(r)
                        && s.value.state != TurnoverState::Cancelled
                })
                .collect();
            let done = !carriers.is_empty()
                && carriers.iter().all(|s| matches!(s.value.state, TurnoverState::Verified | TurnoverState::Closed));
            for c in &carriers {
                if changed.is_none_or(|x| x.id != c.value.id) && !consulted.iter().any(|k| k.value.id == c.value.id) {
                    consulted.push(c);
                }
            }
            if done {
                let mut release: Stored<ApplicationRelease> = self.load(r).await?;
                if let Some(c) = release.value.on_production_verified(by, now) {
                    tx.record([c]);
                    tx.update(&release)?;
                }
            }
        }
        if serialize {
            for c in consulted {
                tx.update(c)?;
            }
        }
        Ok(())
    }
}
