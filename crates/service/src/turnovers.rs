//! Turnovers: created under R6, with artifacts, delivered work items (R7) and deployment tasks.

use railyard_domain::{
    Actor, ApplicationRelease, Change, DeploymentPath, DomainError, Operation, ReorderEntry, TaskPatch, TaskSpec,
    Train, Turnover, TurnoverPatch, TurnoverSpec, TurnoverState, WorkItem,
};
use railyard_store::ListQuery;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::input_limits::bounded;
use crate::persist::{Stored, Tx, check_version, seq_of};
use crate::views::{Meta, Page, page_filtered};
use crate::{ReasonInput, Service, ServiceError, ServiceResult};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TurnoverView {
    #[serde(flatten)]
    pub turnover: Turnover,
    #[serde(flatten)]
    pub meta: Meta,
}

#[derive(Debug, Clone, Default)]
pub struct TurnoverFilter {
    pub release: Option<String>,
    pub train: Option<String>,
    pub states: Vec<TurnoverState>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkInput {
    /// Work item ids (`WI-3`).
    pub work_items: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReorderInput {
    pub order: Vec<ReorderEntry>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CopyTasksInput {
    /// The turnover(s) to copy from: one id, or a list.
    #[serde(deserialize_with = "one_or_many")]
    #[schema(value_type = Vec<String>)]
    pub from: Vec<String>,
    /// Only these of its tasks (default: all).
    #[serde(default)]
    pub tasks: Vec<String>,
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

fn view(s: Stored<Turnover>) -> TurnoverView {
    TurnoverView { meta: Meta::of(&s), turnover: s.value }
}

impl Service {
    pub async fn create_turnover(&self, actor: &Actor, spec: TurnoverSpec) -> ServiceResult<TurnoverView> {
        bounded(&spec)?;
        self.authorize(actor, Operation::EditTurnover)?;
        let release: Stored<ApplicationRelease> = self.find(&spec.release).await?.ok_or_else(|| {
            ServiceError::invalid("release", format!("there is no application release {}", spec.release))
        })?;
        let path: Stored<DeploymentPath> = self
            .find(&spec.path)
            .await?
            .ok_or_else(|| ServiceError::invalid("path", format!("there is no deployment path {}", spec.path)))?;
        let train = match release.value.accepted_train() {
            Some(t) => Some(self.load::<Train>(t).await?),
            None => None,
        };
        let train = train.as_ref().map(|t| &t.value);
        // Whether the release takes turnovers now is the domain's rule (the available actions ask it too).
        let train = release.value.turnover_train(train)?;
        let developer = spec.developer.clone().unwrap_or_else(|| actor.name.clone());
        self.check_users([("developer".to_string(), developer)]).await?;
        Turnover::create(String::new(), spec.clone(), &release.value, train, &path.value, actor)?;
        let id = self.new_id("TO").await?;
        let (turnover, change) = Turnover::create(id.clone(), spec, &release.value, train, &path.value, actor)?;
        let mut tx = Tx::new(actor, self.now());
        tx.insert(&turnover, seq_of(&id))?;
        tx.record([change]);
        self.commit(tx).await?;
        self.turnover(actor, &id).await
    }

    pub async fn turnover(&self, actor: &Actor, id: &str) -> ServiceResult<TurnoverView> {
        self.authorize(actor, Operation::Read)?;
        Ok(view(self.load(id).await?))
    }

    pub async fn turnovers(&self, actor: &Actor, filter: TurnoverFilter) -> ServiceResult<Page<TurnoverView>> {
        self.authorize(actor, Operation::Read)?;
        let mut q = ListQuery::new("turnover", 0);
        q.parent_id = filter.release.clone();
        q.category = filter.train.clone();
        q.states = filter.states.iter().map(|s| s.as_str().to_string()).collect();
        page_filtered(self, &mut q, filter.limit, filter.cursor.as_deref(), |_| true, |s| Ok(view(s))).await
    }

    /// Loads a turnover, lets `step` change it, saves it with its event.
    async fn change_turnover(
        &self,
        actor: &Actor,
        id: &str,
        expected: Option<i64>,
        step: impl Fn(&mut Turnover, &mut dyn Iterator<Item = String>) -> Result<Change, DomainError> + Sync,
        new_ids: Option<(&str, usize)>,
    ) -> ServiceResult<TurnoverView> {
        self.authorize(actor, Operation::EditTurnover)?;
        let step = &step;
        self.retrying(expected, move || async move {
            let mut s: Stored<Turnover> = self.load(id).await?;
            check_version("turnover", id, s.version, expected)?;
            let mut ids: Vec<String> = Vec::new();
            if let Some((prefix, n)) = new_ids.filter(|(_, n)| *n > 0) {
                // Decide on a copy first, so a refused step takes no numbers.
                step(&mut s.value.clone(), &mut std::iter::repeat(String::new()))?;
                let first = self.store.reserve_seqs(prefix, n as u32).await?;
                ids = (0..n as i64).map(|i| format!("{prefix}-{}", first + i)).collect();
            }
            let change = step(&mut s.value, &mut ids.into_iter())?;
            let mut tx = Tx::new(actor, self.now());
            tx.update(&s)?;
            tx.record([change]);
            self.commit(tx).await
        })
        .await?;
        self.turnover(actor, id).await
    }

    pub async fn update_turnover(
        &self,
        actor: &Actor,
        id: &str,
        patch: TurnoverPatch,
        expected: Option<i64>,
    ) -> ServiceResult<TurnoverView> {
        bounded(&patch)?;
        if let Some(d) = &patch.developer {
            self.check_users([("developer".to_string(), d.clone())]).await?;
        }
        self.change_turnover(actor, id, expected, |t, _| t.update(patch.clone(), actor), None).await
    }

    /// R7: links done work items of the turnover's own release; each other one is named.
    pub async fn link_work_items(&self, actor: &Actor, id: &str, input: LinkInput) -> ServiceResult<TurnoverView> {
        bounded(&input)?;
        let mut items = Vec::new();
        for (i, w) in input.work_items.iter().enumerate() {
            let item: Stored<WorkItem> = self.find(w).await?.ok_or_else(|| {
                ServiceError::invalid(&format!("work_items[{i}]"), format!("there is no work item {w}"))
            })?;
            items.push(item.value);
        }
        self.change_turnover(actor, id, None, |t, _| t.link_work_items(&items, actor), None).await
    }

    pub async fn unlink_work_item(&self, actor: &Actor, id: &str, item: &str) -> ServiceResult<TurnoverView> {
        self.change_turnover(actor, id, None, |t, _| t.unlink_work_item(item, actor), None).await
    }

    pub async fn add_task(&self, actor: &Actor, id: &str, spec: TaskSpec) -> ServiceResult<TurnoverView> {
        bounded(&spec)?;
        if let Some(o) = &spec.owner {
            self.check_users([("owner".to_string(), o.clone())]).await?;
        }
        // The variables it names must be known where it may run (checked before anything is written).
        self.authorize(actor, Operation::EditTurnover)?;
        let current: Stored<Turnover> = self.load(id).await?;
        self.check_turnover_task(
            &current.value,
            &railyard_domain::Task::from_spec(String::new(), spec.clone()),
            "add_task",
        )
        .await?;
        self.change_turnover(
            actor,
            id,
            None,
            |t, ids| t.add_task(ids.next().unwrap_or_default(), spec.clone(), actor),
            Some(("TA", 1)),
        )
        .await
    }

    pub async fn edit_task(
        &self,
        actor: &Actor,
        id: &str,
        task: &str,
        patch: TaskPatch,
        expected: Option<i64>,
    ) -> ServiceResult<TurnoverView> {
        bounded(&patch)?;
        if let Some(o) = &patch.owner {
            self.check_users([("owner".to_string(), o.clone())]).await?;
        }
        // The task as edited must name only variables known where it may run.
        self.authorize(actor, Operation::EditTurnover)?;
        let mut edited: Stored<Turnover> = self.load(id).await?;
        if patch.action.is_some() || patch.environments.is_some() {
            edited.value.edit_task(task, patch.clone(), actor)?;
            if let Some(t) = edited.value.tasks.iter().find(|t| t.id == task) {
                self.check_turnover_task(&edited.value, t, "edit_task").await?;
            }
        }
        self.change_turnover(actor, id, expected, |t, _| t.edit_task(task, patch.clone(), actor), None).await
    }

    pub async fn remove_task(&self, actor: &Actor, id: &str, task: &str) -> ServiceResult<TurnoverView> {
        self.change_turnover(actor, id, None, |t, _| t.remove_task(task, actor), None).await
    }

    pub async fn reorder_tasks(&self, actor: &Actor, id: &str, input: ReorderInput) -> ServiceResult<TurnoverView> {
        bounded(&input)?;
        self.change_turnover(actor, id, None, |t, _| t.reorder_tasks(&input.order, actor), None).await
    }

    /// Copies tasks from other turnovers (several at once) under new ids.
    pub async fn copy_tasks(&self, actor: &Actor, id: &str, input: CopyTasksInput) -> ServiceResult<TurnoverView> {
        bounded(&input)?;
        self.authorize(actor, Operation::EditTurnover)?;
        if input.from.is_empty() {
            return Err(ServiceError::invalid("from", "name at least one turnover to copy from"));
        }
        let mut sources = Vec::new();
        for (i, f) in input.from.iter().enumerate() {
            let t: Stored<Turnover> = self
                .find(f)
                .await?
                .ok_or_else(|| ServiceError::invalid(&format!("from[{i}]"), format!("there is no turnover {f}")))?;
            sources.push(t.value);
        }
        let n = Turnover::tasks_to_copy(&sources, &input.tasks);
        // The copies must name only variables and secrets known where this turnover deploys (a dry run:
        // the copies have no id yet).
        let mut preview: Stored<Turnover> = self.load(id).await?;
        preview.value.copy_tasks(&sources, &input.tasks, &mut std::iter::repeat(String::new()), actor)?;
        for task in preview.value.tasks.iter().filter(|t| t.id.is_empty()) {
            self.check_turnover_task(&preview.value, task, "copy_tasks").await?;
        }
        self.change_turnover(
            actor,
            id,
            None,
            |t, ids| t.copy_tasks(&sources, &input.tasks, ids, actor),
            Some(("TA", n)),
        )
        .await
    }

    /// Cancels a turnover; its deployments that have not run or settled are withdrawn in the same commit.
    pub async fn cancel_turnover(&self, actor: &Actor, id: &str, input: ReasonInput) -> ServiceResult<TurnoverView> {
        bounded(&input)?;
        self.authorize(actor, Operation::EditTurnover)?;
        let reason = input.reason.unwrap_or_default();
        let reason = &reason;
        self.retrying(None, move || async move {
            let mut t: Stored<Turnover> = self.load(id).await?;
            let now = self.now();
            let facts = self.turnover_facts(&t.value).await?;
            let change = t.value.cancel_with(reason, &facts, actor)?;
            let mut tx = Tx::new(actor, now);
            tx.record([change]);
            for mut d in self.deployments_of(id).await? {
                if let Some(c) = d.value.withdraw(&format!("turnover {id} was cancelled"), now) {
                    tx.record([c]);
                    tx.update(&d)?;
                }
            }
            if t.value.kind == railyard_domain::TurnoverKind::ProductionReady {
                // Its releases may now be carried only by verified turnovers.
                let releases = t.value.releases.clone();
                self.release_when_verified(
                    &mut tx,
                    &t.value.train_id,
                    &releases,
                    Some(&t.value),
                    true,
                    &actor.name,
                    now,
                )
                .await?;
            }
            tx.update(&t)?;
            self.commit(tx).await
        })
        .await?;
        self.turnover(actor, id).await
    }
}
