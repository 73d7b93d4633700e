//! Runbooks: reusable, reviewed task lists; copied into turnovers, and made from a turnover's tasks.

use railyard_domain::{
    Actor, ApplicationRelease, Operation, Runbook, RunbookAction, RunbookSpec, RunbookState, Turnover,
};
use railyard_store::ListQuery;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::input_limits::bounded;
use crate::persist::{Stored, Tx, seq_of};
use crate::views::{Meta, Page, page_of};
use crate::{Service, ServiceError, ServiceResult, TurnoverView};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunbookView {
    #[serde(flatten)]
    pub runbook: Runbook,
    #[serde(flatten)]
    pub meta: Meta,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewInput {
    /// Required to reject.
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunbookRef {
    pub runbook: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveAsRunbookInput {
    pub name: String,
}

fn view(s: Stored<Runbook>) -> RunbookView {
    RunbookView { meta: Meta::of(&s), runbook: s.value }
}

impl Service {
    async fn task_ids(&self, n: usize) -> ServiceResult<Vec<String>> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let first = self.store.reserve_seqs("TA", n as u32).await?;
        Ok((0..n as i64).map(|i| format!("TA-{}", first + i)).collect())
    }

    pub async fn create_runbook(&self, actor: &Actor, spec: RunbookSpec) -> ServiceResult<RunbookView> {
        bounded(&spec)?;
        self.authorize(actor, Operation::EditTurnover)?;
        let (draft, _) = Runbook::create(String::new(), spec.clone(), &mut std::iter::repeat(String::new()), actor)?;
        for task in &draft.tasks {
            self.check_runbook_task(&draft.applications, &draft.environments, task).await?;
        }
        let owners = spec.tasks.iter().filter_map(|t| t.owner.clone()).map(|o| ("tasks.owner".to_string(), o));
        self.check_users(owners.collect::<Vec<_>>()).await?;
        let ids = self.task_ids(spec.tasks.len()).await?;
        let id = self.new_id("RB").await?;
        let (rb, change) = Runbook::create(id.clone(), spec, &mut ids.into_iter(), actor)?;
        let mut tx = Tx::new(actor, self.now());
        tx.insert(&rb, seq_of(&id))?;
        tx.record([change]);
        self.commit(tx).await?;
        self.runbook(actor, &id).await
    }

    pub async fn runbook(&self, actor: &Actor, id: &str) -> ServiceResult<RunbookView> {
        self.authorize(actor, Operation::Read)?;
        Ok(view(self.load(id).await?))
    }

    pub async fn runbooks(
        &self,
        actor: &Actor,
        state: Option<RunbookState>,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> ServiceResult<Page<RunbookView>> {
        self.authorize(actor, Operation::Read)?;
        let mut q = ListQuery::new("runbook", 0);
        q.states = state.map(|s| vec![s.as_str().to_string()]).unwrap_or_default();
        page_of(self, &mut q, limit, cursor, |s| Ok(view(s))).await
    }

    /// submit (its author), accept or reject (a reviewer who is not its author), deactivate.
    pub async fn runbook_action(
        &self,
        actor: &Actor,
        id: &str,
        action: RunbookAction,
        input: ReviewInput,
    ) -> ServiceResult<RunbookView> {
        bounded(&input)?;
        self.authorize(actor, Operation::EditTurnover)?;
        let input = &input;
        self.retrying(None, move || async move {
            let mut s: Stored<Runbook> = self.load(id).await?;
            let change = s.value.apply(action, input.comment.clone(), actor)?;
            let mut tx = Tx::new(actor, self.now());
            tx.update(&s)?;
            tx.record([change]);
            self.commit(tx).await
        })
        .await?;
        self.runbook(actor, id).await
    }

    /// Copies an accepted runbook's tasks into a turnover (the runbook must fit its application).
    pub async fn copy_runbook(&self, actor: &Actor, turnover: &str, input: RunbookRef) -> ServiceResult<TurnoverView> {
        bounded(&input)?;
        self.authorize(actor, Operation::EditTurnover)?;
        let rb: Stored<Runbook> = self
            .find(&input.runbook)
            .await?
            .ok_or_else(|| ServiceError::invalid("runbook", format!("there is no runbook {}", input.runbook)))?;
        let rb = &rb;
        self.retrying(None, move || async move {
            let mut t: Stored<Turnover> = self.load(turnover).await?;
            for release in &t.value.releases {
                let r: Stored<ApplicationRelease> = self.load(release).await?;
                rb.value.guard_usable(&r.value.application)?;
            }
            // A dry run first: refused as it is, or for a variable or secret its tasks name that is not
            // known where this turnover deploys (the copies have no id yet).
            let mut preview = t.value.clone();
            preview.copy_runbook(&rb.value, &mut std::iter::repeat(String::new()), actor)?;
            for task in preview.tasks.iter().filter(|t| t.id.is_empty()) {
                self.check_turnover_task(&preview, task, "copy_runbook").await?;
            }
            let ids = self.task_ids(rb.value.tasks.len()).await?;
            let change = t.value.copy_runbook(&rb.value, &mut ids.into_iter(), actor)?;
            let mut tx = Tx::new(actor, self.now());
            tx.update(&t)?;
            tx.record([change]);
            self.commit(tx).await
        })
        .await?;
        self.turnover(actor, turnover).await
    }

    /// Saves a turnover's tasks as a new draft runbook.
    pub async fn save_as_runbook(
        &self,
        actor: &Actor,
        turnover: &str,
        input: SaveAsRunbookInput,
    ) -> ServiceResult<RunbookView> {
        bounded(&input)?;
        self.authorize(actor, Operation::EditTurnover)?;
        let t: Stored<Turnover> = self.load(turnover).await?;
        Runbook::from_tasks(String::new(), &input.name, &t.value.tasks, &mut std::iter::repeat(String::new()), actor)?;
        let ids = self.task_ids(t.value.tasks.len()).await?;
        let id = self.new_id("RB").await?;
        let (rb, change) = Runbook::from_tasks(id.clone(), &input.name, &t.value.tasks, &mut ids.into_iter(), actor)?;
        let mut tx = Tx::new(actor, self.now());
        tx.insert(&rb, seq_of(&id))?;
        tx.record([change]);
        self.commit(tx).await?;
        self.runbook(actor, &id).await
    }
}
