//! Deployments: started by a person (R8 decides the stage), driven by the engine (R13, R15, R16),
//! retried, abandoned, validated. The engine's side is in `engine_work.rs`.

use railyard_domain::{Actor, Deployment, DeploymentState, Environment, Guard, Operation, Refusal, Turnover};
use railyard_store::ListQuery;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::input_limits::bounded;
use crate::persist::{Stored, Tx, seq_of};
use crate::views::{Meta, Page, page_filtered};
use crate::{Service, ServiceError, ServiceResult};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeploymentView {
    #[serde(flatten)]
    pub deployment: Deployment,
    #[serde(flatten)]
    pub meta: Meta,
}

#[derive(Debug, Clone, Default)]
pub struct DeploymentFilter {
    pub turnover: Option<String>,
    pub environment: Option<String>,
    pub states: Vec<DeploymentState>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeployInput {
    /// Optional stages to skip on the way (R8: required stages are never skipped).
    #[serde(default)]
    pub skip: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryInput {
    /// Succeeded runs to run again (by run id, e.g. `R2`); the others are skipped.
    #[serde(default)]
    pub rerun: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidateInput {
    pub passed: bool,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteRunInput {
    pub done: bool,
    #[serde(default)]
    pub note: String,
}

/// A run's output, as captured.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RunLog {
    pub deployment: String,
    pub run: String,
    pub attempt: u32,
    /// `{at, stream, text}` lines in order.
    pub lines: Vec<Value>,
}

pub(crate) fn view(s: Stored<Deployment>) -> DeploymentView {
    DeploymentView { meta: Meta::of(&s), deployment: s.value }
}

impl Service {
    pub(crate) async fn deployments_of(&self, turnover: &str) -> ServiceResult<Vec<Stored<Deployment>>> {
        let mut q = ListQuery::new("deployment", crate::MAX_PAGE);
        q.parent_id = Some(turnover.to_string());
        self.list_all(q).await
    }

    /// Schedules the turnover's next deployment (R8); the engine starts it when its environment is open.
    pub async fn deploy(&self, actor: &Actor, turnover_id: &str, input: DeployInput) -> ServiceResult<DeploymentView> {
        bounded(&input)?;
        self.authorize(actor, Operation::Deploy)?;
        let input = &input;
        let id = self
            .retrying(None, move || async move {
                let mut t: Stored<Turnover> = self.load(turnover_id).await?;
                let past: Vec<Deployment> = self.deployments_of(turnover_id).await?.into_iter().map(|d| d.value).collect();
                let next = t.value.next_stage(&past, &input.skip)?;
                let env_name = t.value.stages[next.stage].environment.clone();
                let refuse = |code: &str, message: String| {
                    ServiceError::Refused(Refusal {
                        action: "deploy".into(),
                        object: t.value.describe(),
                        state: t.value.state.to_string(),
                        guards: vec![Guard::new(code, message)],
                    })
                };
                let Some(env) = self.find::<Environment>(&env_name).await? else {
                    return Err(refuse("environment_missing", format!("environment {env_name} of the path no longer exists")));
                };
                if env.value.state == railyard_domain::EnvironmentState::Decommissioned {
                    return Err(refuse("environment_decommissioned", format!("environment {env_name} is decommissioned; nothing deploys there")));
                }
                if env.value.locked {
                    return Err(ServiceError::Refused(Refusal {
                        action: "deploy".into(),
                        object: t.value.describe(),
                        state: t.value.state.to_string(),
                        guards: vec![Guard::new(
                            "environment_locked",
                            format!("environment {env_name} is locked: it takes only accepted production-ready turnovers of a train in deployment, at their scheduled time (R11)"),
                        )],
                    }));
                }
                Deployment::new(String::new(), &t.value, next.stage, next.attempt, actor)?;
                let id = self.new_id("DE").await?;
                let (d, change) = Deployment::new(id.clone(), &t.value, next.stage, next.attempt, actor)?;
                let mut tx = Tx::new(actor, self.now());
                tx.insert(&d, seq_of(&id))?;
                tx.record([change]);
                tx.record(t.value.on_deploy(next.stage));
                tx.update(&t)?;
                self.commit(tx).await?;
                Ok(id)
            })
            .await?;
        self.deployment(actor, &id).await
    }

    pub async fn deployment(&self, actor: &Actor, id: &str) -> ServiceResult<DeploymentView> {
        self.authorize(actor, Operation::Read)?;
        Ok(view(self.load(id).await?))
    }

    pub async fn deployments(&self, actor: &Actor, filter: DeploymentFilter) -> ServiceResult<Page<DeploymentView>> {
        self.authorize(actor, Operation::Read)?;
        let mut q = ListQuery::new("deployment", 0);
        q.parent_id = filter.turnover.clone();
        q.category = filter.environment.clone();
        q.states = filter.states.iter().map(|s| s.as_str().to_string()).collect();
        page_filtered(self, &mut q, filter.limit, filter.cursor.as_deref(), |_| true, |s| Ok(view(s))).await
    }

    /// Changes a deployment with `step`, and its turnover with `then` when the step validated it.
    async fn change_deployment(
        &self,
        actor: &Actor,
        id: &str,
        op: Operation,
        step: impl Fn(
            &mut Deployment,
            chrono::DateTime<chrono::Utc>,
        ) -> Result<railyard_domain::Change, railyard_domain::DomainError>
        + Sync,
    ) -> ServiceResult<DeploymentView> {
        self.authorize(actor, op)?;
        let step = &step;
        self.retrying(None, move || async move {
            let mut d: Stored<Deployment> = self.load(id).await?;
            let now = self.now();
            let change = step(&mut d.value, now)?;
            let mut tx = Tx::new(actor, now);
            tx.record([change]);
            if d.value.production {
                let turnover = d.value.turnover_id.clone();
                self.follow_production(&mut tx, &turnover, std::slice::from_ref(&d.value), &actor.name, now).await?;
            } else if d.value.state == DeploymentState::Validated {
                let mut t: Stored<Turnover> = self.load(&d.value.turnover_id).await?;
                if let Some(c) = t.value.on_validated(d.value.stage) {
                    tx.record([c]);
                    tx.update(&t)?;
                }
            }
            tx.update(&d)?;
            self.commit(tx).await
        })
        .await?;
        self.deployment(actor, id).await
    }

    /// Retries a failed deployment: only the latest one of its turnover, while the turnover is in flight.
    pub async fn retry_deployment(&self, actor: &Actor, id: &str, input: RetryInput) -> ServiceResult<DeploymentView> {
        bounded(&input)?;
        self.authorize(actor, Operation::Deploy)?;
        let d: Stored<Deployment> = self.load(id).await?;
        let t: Stored<Turnover> = self.load(&d.value.turnover_id).await?;
        let others = self.deployments_of(&t.value.id).await?;
        let mut guards = Vec::new();
        use railyard_domain::TurnoverState as T;
        if !matches!(t.value.state, T::InFlight | T::Deploying | T::Deployed | T::RolledBack) {
            guards.push(Guard::new("turnover_not_in_flight", format!("turnover {} is {}", t.value.id, t.value.state)));
        }
        if d.value.generation != t.value.generation
            || others.iter().any(|o| {
                // A production turnover's environments are independent of each other: only a later
                // deployment into the same one supersedes it.
                let same_line = !d.value.production || o.value.environment == d.value.environment;
                o.value.id != d.value.id
                    && same_line
                    && (o.value.stage, o.value.attempt) > (d.value.stage, d.value.attempt)
                    && o.value.generation == t.value.generation
            })
        {
            guards.push(Guard::new(
                "not_latest",
                format!("deployment {id} is not the latest deployment of turnover {}", t.value.id),
            ));
        }
        if !guards.is_empty() {
            return Err(ServiceError::Refused(Refusal {
                action: "retry".into(),
                object: d.value.describe(),
                state: d.value.state.to_string(),
                guards,
            }));
        }
        self.change_deployment(actor, id, Operation::Deploy, |d, now| d.retry(&input.rerun, now)).await
    }

    pub async fn abandon_deployment(&self, actor: &Actor, id: &str) -> ServiceResult<DeploymentView> {
        self.change_deployment(actor, id, Operation::Deploy, |d, now| d.abandon(now)).await
    }

    pub async fn validate_deployment(
        &self,
        actor: &Actor,
        id: &str,
        input: ValidateInput,
    ) -> ServiceResult<DeploymentView> {
        bounded(&input)?;
        self.change_deployment(actor, id, Operation::Deploy, |d, now| d.validate(input.passed, &input.note, actor, now))
            .await
    }

    /// R15: the run's owner (or a release engineer) completes a manual run.
    pub async fn complete_run(
        &self,
        actor: &Actor,
        id: &str,
        run: &str,
        input: CompleteRunInput,
    ) -> ServiceResult<DeploymentView> {
        bounded(&input)?;
        self.change_deployment(actor, id, Operation::CompleteRun, |d, now| {
            d.complete_manual(run, input.done, &input.note, actor, now)
        })
        .await
    }

    /// A run's captured output (its latest attempt unless one is named).
    pub async fn run_log(&self, actor: &Actor, id: &str, run: &str, attempt: Option<u32>) -> ServiceResult<RunLog> {
        self.authorize(actor, Operation::Read)?;
        let d: Stored<Deployment> = self.load(id).await?;
        let Some(r) = d.value.runs.iter().find(|r| r.id == run) else {
            return Err(ServiceError::NotFound { kind: "run", id: format!("{id}:{run}") });
        };
        let attempt = attempt.unwrap_or(r.attempts);
        let key = format!("{id}:{run}:{attempt}");
        match self.store.get("run_log", &key).await? {
            Some(rec) => {
                serde_json::from_str(&rec.doc).map_err(|e| ServiceError::Internal(format!("run log {key}: {e}")))
            }
            // Not stored yet: the run is still going; its output so far, when this server's engine runs it.
            None => {
                let lines = self.output_so_far(id, run, attempt).unwrap_or_default();
                Ok(RunLog { deployment: id.to_string(), run: run.to_string(), attempt, lines })
            }
        }
    }
}
