//! What is deployed where: the inventory grid (applications × environments) and one cell's history.
//!
//! The rule of what is in a cell is the domain's (`railyard_domain::inventory`): the landing that
//! finished last. This module only finds the facts, with bounded memory: for each environment it reads
//! the landed deployments newest first, a page at a time, and stops as soon as every application of the
//! grid's page has one (the domain's [`Column`] keeps one landing per application, whatever the length
//! of the history read). Memory holds a page of deployments, one landing per row, and which application
//! each release seen belongs to. Time is another matter: a column where some application of the page
//! never landed is read to its end, a page at a time (the store cannot yet answer "the newest landing
//! per application" in one query; it would need the application as an indexed column of deployments).
//! Once every row has a cell, the only older deployments that could still replace one are those that
//! landed later (a failure retried after another landed); they are found with one more read of the
//! deployments written since the earliest landing found (`updated_since`), not the whole history.

use std::collections::HashMap;

use railyard_domain::inventory::LANDED_STATES;
use railyard_domain::{
    Actor, Application, ApplicationRelease, Column, Deployment, Environment, EnvironmentState, Operation, Placement,
    Turnover,
};
use railyard_store::ListQuery;
use serde::Serialize;
use utoipa::ToSchema;

use crate::persist::{Stored, decode};
use crate::views::{Page, parse_cursor, parse_limit};
use crate::{MAX_PAGE, Service, ServiceError, ServiceResult};

/// How many deployments one read of an environment's history fetches.
const HISTORY_BATCH: u32 = 200;

/// A landing as the inventory shows it: the domain's placement and the title of its turnover.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlacementView {
    #[serde(flatten)]
    pub placement: Placement,
    pub turnover_title: String,
}

/// One environment, a column of the grid.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InventoryEnvironment {
    pub name: String,
    pub kind: railyard_domain::EnvironmentKind,
    pub state: EnvironmentState,
}

/// One cell: what of an application is in an environment now (`current` is null when nothing of it
/// ever landed there).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InventoryCell {
    pub environment: String,
    pub current: Option<PlacementView>,
}

/// One application, a row of the grid: a cell per environment, in the grid's column order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InventoryRow {
    pub application: String,
    pub name: String,
    pub cells: Vec<InventoryCell>,
}

/// The grid: the environments (columns, by kind from development to production, then name) and a page
/// of applications (rows). Pass `next_cursor` as `cursor` for the next rows.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Inventory {
    pub environments: Vec<InventoryEnvironment>,
    pub rows: Vec<InventoryRow>,
    pub next_cursor: Option<String>,
}

/// One cell with its history: every landing of the application in the environment, newest deployment
/// first, a page at a time.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InventoryCellHistory {
    pub application: String,
    pub environment: String,
    pub current: Option<PlacementView>,
    pub history: Page<PlacementView>,
}

#[derive(Debug, Clone, Default)]
pub struct InventoryFilter {
    /// Only this application's row (an archived one too, when named).
    pub application: Option<String>,
    /// Only this environment's column (a decommissioned one too, when named).
    pub environment: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Which application each release belongs to, read once per request.
#[derive(Default)]
struct ReleaseApps(HashMap<String, Option<String>>);

impl ReleaseApps {
    async fn learn(&mut self, svc: &Service, d: &Deployment) -> ServiceResult<()> {
        for r in &d.releases {
            if !self.0.contains_key(r) {
                let app = svc.find::<ApplicationRelease>(r).await?.map(|s| s.value.application);
                self.0.insert(r.clone(), app);
            }
        }
        Ok(())
    }

    fn of(&self, release: &str) -> Option<&str> {
        self.0.get(release).and_then(|a| a.as_deref())
    }
}

fn landed_query(environment: &str) -> ListQuery {
    let mut q = ListQuery::new("deployment", HISTORY_BATCH);
    q.category = Some(environment.to_string());
    q.states = LANDED_STATES.iter().map(|s| s.as_str().to_string()).collect();
    q.newest_first = true;
    q
}

impl Service {
    /// The inventory grid: for each application (a page of them) and each environment, what is there now.
    pub async fn inventory(&self, actor: &Actor, filter: InventoryFilter) -> ServiceResult<Inventory> {
        self.authorize(actor, Operation::Read)?;
        let limit = parse_limit(filter.limit)?;
        let environments = self.inventory_environments(filter.environment.as_deref()).await?;
        let (applications, next_cursor) =
            self.inventory_applications(filter.application.as_deref(), limit, filter.cursor.as_deref()).await?;
        let keys: Vec<String> = applications.iter().map(|a| a.key.clone()).collect();
        let mut apps = ReleaseApps::default();
        let mut titles: HashMap<String, String> = HashMap::new();
        let mut rows: Vec<InventoryRow> = applications
            .iter()
            .map(|a| InventoryRow { application: a.key.clone(), name: a.name.clone(), cells: Vec::new() })
            .collect();
        for env in &environments {
            let column = self.column(&env.name, &keys, &mut apps).await?;
            let mut cells = column.into_cells();
            for row in &mut rows {
                let current = match cells.remove(&row.application) {
                    Some(p) => Some(self.placement_view(p, &mut titles).await?),
                    None => None,
                };
                row.cells.push(InventoryCell { environment: env.name.clone(), current });
            }
        }
        Ok(Inventory { environments, rows, next_cursor })
    }

    /// One cell: what is there now and every landing that put something there, newest first.
    pub async fn inventory_cell(
        &self,
        actor: &Actor,
        application: &str,
        environment: &str,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> ServiceResult<InventoryCellHistory> {
        self.authorize(actor, Operation::Read)?;
        let limit = parse_limit(limit)? as usize;
        let before = parse_cursor(cursor)?;
        self.load::<Application>(application).await?;
        self.load::<Environment>(environment).await?;
        let mut apps = ReleaseApps::default();
        let mut titles: HashMap<String, String> = HashMap::new();
        let now = self.column(environment, &[application.to_string()], &mut apps).await?;
        let current = match now.into_cells().remove(application) {
            Some(p) => Some(self.placement_view(p, &mut titles).await?),
            None => None,
        };
        let mut q = landed_query(environment);
        q.before_seq = before;
        let mut items: Vec<(i64, Placement)> = Vec::new();
        let mut next_cursor = None;
        'read: loop {
            let batch = self.store().list(&q).await?;
            let exhausted = batch.len() < q.limit as usize;
            for r in batch {
                q.before_seq = Some(r.seq);
                let seq = r.seq;
                let d: Stored<Deployment> = decode(r)?;
                apps.learn(self, &d.value).await?;
                if let Some(p) = Placement::of(&d.value, application, |r| apps.of(r)) {
                    if items.len() == limit {
                        // One more exists: the next page starts below the last item of this one.
                        next_cursor = items.last().map(|(s, _)| s.to_string());
                        break 'read;
                    }
                    items.push((seq, p));
                }
            }
            if exhausted {
                break;
            }
        }
        let mut history = Vec::with_capacity(items.len());
        for (_, p) in items {
            history.push(self.placement_view(p, &mut titles).await?);
        }
        Ok(InventoryCellHistory {
            application: application.to_string(),
            environment: environment.to_string(),
            current,
            history: Page { items: history, next_cursor },
        })
    }

    /// What of each of `applications` is in `environment` now: its landed deployments read newest
    /// first until each application has one (or the history ends).
    async fn column(
        &self,
        environment: &str,
        applications: &[String],
        apps: &mut ReleaseApps,
    ) -> ServiceResult<Column> {
        let mut column = Column::for_applications(applications);
        if applications.is_empty() {
            return Ok(column);
        }
        let mut q = landed_query(environment);
        'newest: loop {
            let batch = self.store().list(&q).await?;
            let exhausted = batch.len() < q.limit as usize;
            for r in batch {
                q.before_seq = Some(r.seq);
                let d: Stored<Deployment> = decode(r)?;
                apps.learn(self, &d.value).await?;
                column.offer(&d.value, |r| apps.of(r));
                if column.is_full() {
                    break 'newest;
                }
            }
            if exhausted {
                return Ok(column);
            }
        }
        // Older deployments can only matter if they landed after the cells found: a failure retried
        // later. Every write stamps `updated_at`, so they are among those written since then.
        let Some(since) = column.settled_since() else { return Ok(column) };
        q.updated_since = Some(since);
        loop {
            let batch = self.store().list(&q).await?;
            let exhausted = batch.len() < q.limit as usize;
            for r in batch {
                q.before_seq = Some(r.seq);
                let d: Stored<Deployment> = decode(r)?;
                apps.learn(self, &d.value).await?;
                column.offer(&d.value, |r| apps.of(r));
            }
            if exhausted {
                return Ok(column);
            }
        }
    }

    async fn placement_view(
        &self,
        placement: Placement,
        titles: &mut HashMap<String, String>,
    ) -> ServiceResult<PlacementView> {
        let title = match titles.get(&placement.turnover) {
            Some(t) => t.clone(),
            None => {
                let t = self.find::<Turnover>(&placement.turnover).await?.map(|t| t.value.title).unwrap_or_default();
                titles.insert(placement.turnover.clone(), t.clone());
                t
            }
        };
        Ok(PlacementView { placement, turnover_title: title })
    }

    /// The grid's columns: every environment but the decommissioned ones, or the one named.
    async fn inventory_environments(&self, named: Option<&str>) -> ServiceResult<Vec<InventoryEnvironment>> {
        let mut envs: Vec<Environment> = match named {
            Some(name) => vec![self.named::<Environment>("environment", name).await?.value],
            None => {
                let mut q = ListQuery::new("environment", MAX_PAGE);
                q.states = [EnvironmentState::Online, EnvironmentState::Offline]
                    .iter()
                    .map(|s| s.as_str().to_string())
                    .collect();
                // A grid wider than a page of environments is not readable anyway: the first page.
                self.store()
                    .list(&q)
                    .await?
                    .into_iter()
                    .map(|r| decode::<Environment>(r).map(|s| s.value))
                    .collect::<Result<_, _>>()?
            }
        };
        envs.sort_by(|a, b| (a.kind as u8, &a.name).cmp(&(b.kind as u8, &b.name)));
        Ok(envs.into_iter().map(|e| InventoryEnvironment { name: e.name, kind: e.kind, state: e.state }).collect())
    }

    /// The grid's rows: a page of the active applications, or the one named.
    async fn inventory_applications(
        &self,
        named: Option<&str>,
        limit: u32,
        cursor: Option<&str>,
    ) -> ServiceResult<(Vec<Application>, Option<String>)> {
        if let Some(key) = named {
            return Ok((vec![self.named::<Application>("application", key).await?.value], None));
        }
        let mut q = ListQuery::new("application", limit + 1);
        q.states = vec!["active".into()];
        q.after_seq = parse_cursor(cursor)?;
        let mut found: Vec<Stored<Application>> =
            self.store().list(&q).await?.into_iter().map(decode).collect::<Result<_, _>>()?;
        let next = if found.len() > limit as usize {
            found.truncate(limit as usize);
            found.last().map(|s| s.seq.to_string())
        } else {
            None
        };
        Ok((found.into_iter().map(|s| s.value).collect(), next))
    }

    /// A filter naming something that does not exist is refused, naming it.
    async fn named<T: crate::persist::Aggregate>(&self, field: &str, id: &str) -> ServiceResult<Stored<T>> {
        self.find::<T>(id).await?.ok_or_else(|| {
            ServiceError::invalid(
                field,
                format!("there is no {field} '{id}'; name one that exists (see the list of {field}s)"),
            )
        })
    }
}
