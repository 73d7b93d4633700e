//! Variables: list, show, create, change and delete them; check the `${var.NAME}` and `${secret.NAME}`
//! references of the tasks added to turnovers and runbooks; and work out the values in effect for a run.
//!
//! Precedence for a run of application A in environment E: a variable scoped to E wins over one scoped
//! to A, which wins over a global one (see [`railyard_domain::variable`]).

use std::collections::{BTreeMap, BTreeSet};

use railyard_domain::variable::{self, Kind, Scope};
use railyard_domain::{
    Actor, Application, ApplicationRelease, Deployment, Environment, Operation, Refusal, Task, Turnover, Variable,
    VariablePatch, VariableSpec,
};
use railyard_store::ListQuery;
use serde::Serialize;
use utoipa::ToSchema;

use crate::input_limits::bounded;
use crate::persist::{Aggregate, Stored, Tx, check_version, seq_of};
use crate::views::{Meta, Page, page_of};
use crate::{Service, ServiceError, ServiceResult};

impl Aggregate for Variable {
    const KIND: &'static str = "variable";
    fn id(&self) -> &str {
        &self.id
    }
    fn state(&self) -> Option<String> {
        Some("active".to_string())
    }
    /// The environment's name or the application's key.
    fn parent_id(&self) -> Option<String> {
        self.scope.target().map(str::to_string)
    }
    /// `global`, `environment` or `application`.
    fn category(&self) -> Option<String> {
        Some(self.scope.kind().to_string())
    }
    /// A name is unique within its scope.
    fn unique_key(&self) -> Option<String> {
        Some(unique_key(&self.scope, &self.name))
    }
}

fn unique_key(scope: &Scope, name: &str) -> String {
    format!("{}:{name}", scope.key())
}

/// A variable with its version and times.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VariableView {
    #[serde(flatten)]
    pub variable: Variable,
    #[serde(flatten)]
    pub meta: Meta,
}

fn view(s: Stored<Variable>) -> VariableView {
    VariableView { meta: Meta::of(&s), variable: s.value }
}

/// Which variables to list: all, or those of one scope.
#[derive(Debug, Clone, Default)]
pub struct VariableFilter {
    /// Only the variables of this scope.
    pub scope: Option<Scope>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Where a task may run, for checking the variables it names: `None` means anywhere.
struct Reach {
    applications: Option<Vec<String>>,
    environments: Option<Vec<String>>,
}

impl Service {
    pub async fn variables(&self, actor: &Actor, filter: VariableFilter) -> ServiceResult<Page<VariableView>> {
        self.authorize(actor, Operation::Read)?;
        let mut q = ListQuery::new(<Variable as Aggregate>::KIND, 0);
        if let Some(scope) = &filter.scope {
            q.category = Some(scope.kind().to_string());
            q.parent_id = scope.target().map(str::to_string);
        }
        page_of(self, &mut q, filter.limit, filter.cursor.as_deref(), |s| Ok(view(s))).await
    }

    pub async fn variable(&self, actor: &Actor, id: &str) -> ServiceResult<VariableView> {
        self.authorize(actor, Operation::Read)?;
        Ok(view(self.load(id).await?))
    }

    /// The variable of this name in this scope, if any.
    pub async fn variable_named(
        &self,
        actor: &Actor,
        scope: &Scope,
        name: &str,
    ) -> ServiceResult<Option<VariableView>> {
        self.authorize(actor, Operation::Read)?;
        match self.store.get_by_key(<Variable as Aggregate>::KIND, &unique_key(scope, name)).await? {
            Some(r) => Ok(Some(view(crate::persist::decode(r)?))),
            None => Ok(None),
        }
    }

    /// Refuses an actor who may not manage the variables of `scope` (after checking the scope exists).
    async fn may_manage(&self, actor: &Actor, scope: &Scope) -> ServiceResult<()> {
        let owner = self.scope_owner(actor, scope).await?;
        Ok(variable::may_manage(actor, scope, owner.as_deref())?)
    }

    /// The owner of a scope's application (`None` for the other scopes), after checking that the actor
    /// may manage variables and secrets at all and that the scope exists.
    pub(crate) async fn scope_owner(&self, actor: &Actor, scope: &Scope) -> ServiceResult<Option<String>> {
        self.authorize(actor, Operation::ManageVariables)?;
        Ok(match scope {
            Scope::Global => None,
            Scope::Environment { environment } => {
                if self.find::<Environment>(environment).await?.is_none() {
                    return Err(ServiceError::invalid(
                        "scope.environment",
                        format!("there is no environment {environment}"),
                    ));
                }
                None
            }
            Scope::Application { application } => match self.find::<Application>(application).await? {
                Some(a) => Some(a.value.owner),
                None => {
                    return Err(ServiceError::invalid(
                        "scope.application",
                        format!("there is no application {application}"),
                    ));
                }
            },
        })
    }

    pub async fn create_variable(&self, actor: &Actor, spec: VariableSpec) -> ServiceResult<VariableView> {
        bounded(&spec)?;
        self.authorize(actor, Operation::ManageVariables)?;
        Variable::create(String::new(), spec.clone(), actor)?;
        self.may_manage(actor, &spec.scope).await?;
        if self.store.get_by_key(<Variable as Aggregate>::KIND, &unique_key(&spec.scope, &spec.name)).await?.is_some() {
            return Err(ServiceError::Duplicate(format!(
                "a variable {} already exists in the {}; change its value instead",
                spec.name, spec.scope
            )));
        }
        let id = self.new_id("VAR").await?;
        let (v, change) = Variable::create(id.clone(), spec, actor)?;
        let mut tx = Tx::new(actor, self.now());
        tx.insert(&v, seq_of(&id))?;
        tx.record([change]);
        self.commit(tx).await?;
        self.variable(actor, &id).await
    }

    /// Sets a variable's value (`expected`: the version it was based on, from `If-Match`).
    pub async fn update_variable(
        &self,
        actor: &Actor,
        id: &str,
        patch: VariablePatch,
        expected: Option<i64>,
    ) -> ServiceResult<VariableView> {
        bounded(&patch)?;
        self.authorize(actor, Operation::ManageVariables)?;
        let patch = &patch;
        self.retrying(expected, move || async move {
            let mut s: Stored<Variable> = self.load(id).await?;
            check_version("variable", id, s.version, expected)?;
            self.may_manage(actor, &s.value.scope).await?;
            let change = s.value.update(patch.clone(), actor)?;
            let mut tx = Tx::new(actor, self.now());
            tx.update(&s)?;
            tx.record([change]);
            self.commit(tx).await
        })
        .await?;
        self.variable(actor, id).await
    }

    /// Deletes a variable. Tasks that name it are refused at launch, naming it, until it is defined again.
    pub async fn delete_variable(&self, actor: &Actor, id: &str, expected: Option<i64>) -> ServiceResult<()> {
        self.authorize(actor, Operation::ManageVariables)?;
        self.retrying(expected, move || async move {
            let s: Stored<Variable> = self.load(id).await?;
            check_version("variable", id, s.version, expected)?;
            self.may_manage(actor, &s.value.scope).await?;
            let mut tx = Tx::new(actor, self.now());
            tx.delete(&s);
            tx.record([s.value.delete()]);
            self.commit(tx).await
        })
        .await
    }

    async fn all_variables(&self) -> ServiceResult<Vec<Variable>> {
        let q = ListQuery::new(<Variable as Aggregate>::KIND, 0);
        Ok(self.list_all::<Variable>(q).await?.into_iter().map(|s| s.value).collect())
    }

    /// The values in effect for each of these runs of a deployment (by index): those of the run's
    /// application in the deployment's environment. The application is the deployment's when it carries
    /// one release; for a production-ready turnover carrying several, that of the release the run's task
    /// belongs to (none when the task names none: then environment and global values only).
    pub(crate) async fn variables_for_runs(
        &self,
        d: &Deployment,
        runs: &[usize],
    ) -> ServiceResult<Vec<BTreeMap<String, String>>> {
        let all = self.all_variables().await?;
        let applications = self.applications_for_runs(d, runs).await?;
        Ok(applications.iter().map(|a| variable::effective(&all, a.as_deref(), &d.environment)).collect())
    }

    /// The application of each of these runs of a deployment (see [`Service::variables_for_runs`]).
    pub(crate) async fn applications_for_runs(
        &self,
        d: &Deployment,
        runs: &[usize],
    ) -> ServiceResult<Vec<Option<String>>> {
        if d.releases.len() <= 1 {
            let application = self.turnover_applications(&d.releases).await?.into_iter().next();
            return Ok(runs.iter().map(|_| application.clone()).collect());
        }
        let turnover: Option<Stored<Turnover>> = self.find(&d.turnover_id).await?;
        let mut applications: BTreeMap<String, Option<String>> = BTreeMap::new();
        let mut out = Vec::with_capacity(runs.len());
        for i in runs {
            let task_id = d.runs.get(*i).map(|r| r.task_id.as_str());
            let release = turnover
                .as_ref()
                .and_then(|t| t.value.tasks.iter().find(|t| Some(t.id.as_str()) == task_id))
                .and_then(|t| t.release.clone());
            let application = match release {
                Some(r) => match applications.get(&r) {
                    Some(a) => a.clone(),
                    None => {
                        let a = self.turnover_applications(std::slice::from_ref(&r)).await?.into_iter().next();
                        applications.insert(r, a.clone());
                        a
                    }
                },
                None => None,
            };
            out.push(application);
        }
        Ok(out)
    }

    /// The applications of a turnover's releases.
    pub(crate) async fn turnover_applications(&self, releases: &[String]) -> ServiceResult<Vec<String>> {
        let mut apps = Vec::new();
        for r in releases {
            if let Some(rel) = self.find::<ApplicationRelease>(r).await? {
                apps.push(rel.value.application);
            }
        }
        Ok(apps)
    }

    /// Refuses a task whose `${var.NAME}` references are malformed (naming the field) or name a
    /// variable not defined where it may run (naming each). `on`: the refused action, its object and
    /// the object's state.
    async fn check_references(&self, task: &Task, reach: Reach, on: [&str; 3]) -> ServiceResult<()> {
        let [action, object, state] = on;
        let mut errors = Vec::new();
        let variables = task.variable_references().unwrap_or_else(|e| {
            errors.extend(e);
            BTreeSet::new()
        });
        let secrets = task.secret_references().unwrap_or_else(|e| {
            errors.extend(e);
            BTreeSet::new()
        });
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }
        if variables.is_empty() && secrets.is_empty() {
            return Ok(());
        }
        let reaches = |scope: &Scope| match scope {
            Scope::Global => true,
            Scope::Environment { environment } => reach.environments.as_ref().is_none_or(|e| e.contains(environment)),
            Scope::Application { application } => reach.applications.as_ref().is_none_or(|a| a.contains(application)),
        };
        let mut unknown: Vec<(Kind, &String)> = Vec::new();
        if !variables.is_empty() {
            let known: BTreeSet<String> =
                self.all_variables().await?.into_iter().filter(|v| reaches(&v.scope)).map(|v| v.name).collect();
            unknown.extend(variables.iter().filter(|n| !known.contains(*n)).map(|n| (Kind::Variable, n)));
        }
        if !secrets.is_empty() {
            let known: BTreeSet<String> = self
                .all_secrets()
                .await?
                .into_iter()
                .filter(|s| reaches(&s.value.scope))
                .map(|s| s.value.name)
                .collect();
            unknown.extend(secrets.iter().filter(|n| !known.contains(*n)).map(|n| (Kind::Secret, n)));
        }
        if unknown.is_empty() {
            return Ok(());
        }
        let guards = unknown
            .iter()
            .map(|(kind, n)| {
                let (p, noun) = (kind.prefix(), kind.noun());
                railyard_domain::Guard::new(
                    &format!("unknown_{noun}"),
                    format!(
                        "task '{}' names ${{{p}.{n}}}, but no {noun} {n} is defined globally, for its application or for an environment it deploys to",
                        task.title
                    ),
                )
            })
            .collect();
        Err(ServiceError::Refused(Refusal {
            action: action.to_string(),
            object: object.to_string(),
            state: state.to_string(),
            guards,
        }))
    }

    /// Checks the references of a task as it will be in a turnover: it may name variables defined
    /// globally, for the turnover's applications, or for the environments of its path (or of the task's
    /// own `environments` when it names them).
    pub(crate) async fn check_turnover_task(
        &self,
        turnover: &Turnover,
        task: &Task,
        action: &str,
    ) -> ServiceResult<()> {
        let environments = if task.environments.is_empty() {
            turnover.stages.iter().map(|s| s.environment.clone()).collect()
        } else {
            task.environments.clone()
        };
        let applications = self.turnover_applications(&turnover.releases).await?;
        let reach = Reach { applications: Some(applications), environments: Some(environments) };
        let object = format!("turnover {}", turnover.id);
        self.check_references(task, reach, [action, &object, turnover.state.as_str()]).await
    }

    /// Checks the references of a runbook's task: variables defined globally, for the runbook's
    /// applications and environments (any, when it names none).
    pub(crate) async fn check_runbook_task(
        &self,
        applications: &[String],
        environments: &[String],
        task: &Task,
    ) -> ServiceResult<()> {
        let environments = if task.environments.is_empty() { environments } else { &task.environments };
        let some = |l: &[String]| (!l.is_empty()).then(|| l.to_vec());
        let reach = Reach { applications: some(applications), environments: some(environments) };
        self.check_references(task, reach, ["create_runbook", "a new runbook", "draft"]).await
    }
}
