//! Deployments: started by a person (R8 decides the stage), driven by the engine (R13, R15, R16),
//! retried, abandoned, validated. The engine's side is in `engine_work.rs`.

use railyard_domain::{Actor, Deployment, DeploymentState, Environment, Operation, Turnover, TurnoverFacts};
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

    /// What the turnover's actions depend on: its deployments and the environments of its path.
    pub(crate) async fn turnover_facts(&self, t: &Turnover) -> ServiceResult<TurnoverFacts> {
        let deployments = self.deployments_of(&t.id).await?.into_iter().map(|d| d.value).collect();
        let mut environments = Vec::new();
        for s in &t.stages {
            if let Some(e) = self.find::<Environment>(&s.environment).await? {
                environments.push(e.value);
            }
        }
        Ok(TurnoverFacts { deployments, environments, ..TurnoverFacts::default() })
    }

    /// Schedules the turnover's next deployment (R8); the engine starts it when its environment is open.
    pub async fn deploy(&self, actor: &Actor, turnover_id: &str, input: DeployInput) -> ServiceResult<DeploymentView> {
        bounded(&input)?;
        self.authorize(actor, Operation::Deploy)?;
        let input = &input;
        let id = self
            .retrying(None, move || async move {
                let mut t: Stored<Turnover> = self.load(turnover_id).await?;
                let facts = self.turnover_facts(&t.value).await?;
                let next = t.value.decide_deploy(&facts, &input.skip, actor)?;
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
        let others: Vec<Deployment> = self.deployments_of(&t.value.id).await?.into_iter().map(|o| o.value).collect();
        let (t, others) = (&t.value, &others);
        self.change_deployment(actor, id, Operation::Deploy, |d, now| d.retry_in(t, others, &input.rerun, now)).await
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
            // Not stored yet: the run is still going; its output so far, when this server's engine runs
            // it, or as a remote runner's heartbeats brought it (from any server).
            None => {
                let lines = match self.output_so_far(id, run, attempt) {
                    Some(lines) => lines,
                    None => self.written_output_so_far(&key).await?.unwrap_or_default(),
                };
                Ok(RunLog { deployment: id.to_string(), run: run.to_string(), attempt, lines })
            }
        }
    }
}
