//! Dependencies between application releases (R5): adding one that would close a cycle is refused with
//! the whole cycle named; a train reports its schedule conflicts and the dependency order of its releases.

use railyard_domain::graph::{Conflict, Dated, DependencyGraph, conflicts};
use railyard_domain::{Actor, ApplicationRelease, Dependent, Guard, Operation, Refusal, Train};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::input_limits::bounded;
use crate::persist::{Aggregate, Stored, Tx};
use crate::{ReleaseView, Service, ServiceError, ServiceResult};

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DependencyInput {
    /// The application release this one depends on (of any train).
    pub depends_on: String,
}

/// One place in a train's dependency order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderEntry {
    /// 1-based.
    pub position: usize,
    pub id: String,
    pub title: String,
    pub application: String,
    /// Its dependencies among the train's releases.
    pub depends_on: Vec<String>,
}

/// A singleton record every dependency change updates, so that two concurrent changes cannot both pass
/// the cycle check against a graph that lacks the other's edge: one of them meets a version conflict and
/// is retried against the new graph.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct DependencyLock {
    id: String,
    edits: u64,
}

/// Not a valid user name or object id, so nothing else can take it.
const LOCK_ID: &str = "~dependency-graph";

impl Aggregate for DependencyLock {
    const KIND: &'static str = "dependency_lock";
    fn id(&self) -> &str {
        &self.id
    }
    fn state(&self) -> Option<String> {
        None
    }
}

impl Service {
    /// The application releases that depend on `id` directly (of any train), each with whether `id`
    /// holds it back, as the domain decides it.
    pub async fn release_dependents(&self, actor: &Actor, id: &str) -> ServiceResult<Vec<Dependent>> {
        self.authorize(actor, Operation::Read)?;
        let release: Stored<ApplicationRelease> = self.load(id).await?;
        let all: Vec<Stored<ApplicationRelease>> =
            self.list_all(railyard_store::ListQuery::new(ApplicationRelease::KIND, 0)).await?;
        Ok(railyard_domain::release::dependents_of(&release.value, all.iter().map(|r| &r.value)))
    }

    /// Every application release, for the graph.
    fn graph_of(releases: &[ApplicationRelease]) -> DependencyGraph {
        DependencyGraph::new(releases.iter().map(|r| (r.id.clone(), r.dependencies.clone())))
    }

    /// Takes the dependency lock into the transaction (creating it on first use).
    async fn lock_dependencies(&self, tx: &mut Tx) -> ServiceResult<()> {
        match self.find::<DependencyLock>(LOCK_ID).await? {
            Some(mut lock) => {
                lock.value.edits += 1;
                tx.update(&lock)
            }
            None => tx.insert(&DependencyLock { id: LOCK_ID.into(), edits: 1 }, 1),
        }
    }

    pub async fn add_dependency(&self, actor: &Actor, id: &str, input: DependencyInput) -> ServiceResult<ReleaseView> {
        bounded(&input)?;
        self.authorize(actor, Operation::EditRelease)?;
        let on = input.depends_on.trim().to_string();
        let on = &on;
        self.retrying(None, move || async move {
            let mut s: Stored<ApplicationRelease> = self.load(id).await?;
            let dependency: ApplicationRelease = self
                .find::<ApplicationRelease>(on)
                .await?
                .ok_or_else(|| ServiceError::invalid("depends_on", format!("there is no application release {on}")))?
                .value;
            let mut tx = Tx::new(actor, self.now());
            self.lock_dependencies(&mut tx).await?;
            let graph = Self::graph_of(&self.all_releases().await?);
            if let Some(cycle) = graph.cycle_if_added(id, on) {
                return Err(ServiceError::Refused(Refusal {
                    action: "add_dependency".into(),
                    object: s.value.describe(),
                    state: s.value.state.to_string(),
                    guards: vec![Guard::new(
                        "dependency_cycle",
                        format!("{id} depending on {on} would close the cycle {}", cycle.join(" → ")),
                    )],
                }));
            }
            let change = s.value.add_dependency(&dependency, actor)?;
            tx.update(&s)?;
            tx.record([change]);
            self.commit(tx).await
        })
        .await?;
        self.release(actor, id).await
    }

    pub async fn remove_dependency(&self, actor: &Actor, id: &str, on: &str) -> ServiceResult<ReleaseView> {
        self.authorize(actor, Operation::EditRelease)?;
        self.retrying(None, move || async move {
            let mut s: Stored<ApplicationRelease> = self.load(id).await?;
            let change = s.value.remove_dependency(on, actor)?;
            let mut tx = Tx::new(actor, self.now());
            self.lock_dependencies(&mut tx).await?;
            tx.update(&s)?;
            tx.record([change]);
            self.commit(tx).await
        })
        .await?;
        self.release(actor, id).await
    }

    /// Every schedule conflict of a train: a dependency that ends after its dependent starts, where
    /// either release is on the train (proposed or accepted).
    pub async fn train_conflicts(&self, actor: &Actor, train_id: &str) -> ServiceResult<Vec<Conflict>> {
        self.authorize(actor, Operation::Read)?;
        self.load::<Train>(train_id).await?;
        let all = self.all_releases().await?;
        let graph = Self::graph_of(&all);
        let members: Vec<String> =
            all.iter().filter(|r| r.active_train() == Some(train_id)).map(|r| r.id.clone()).collect();
        let dated: Vec<Dated<'_>> = all
            .iter()
            .map(|r| Dated { id: &r.id, title: &r.title, start: r.schedule.start, end: r.schedule.end })
            .collect();
        Ok(conflicts(&graph, &dated, &members))
    }

    /// The train's accepted releases, dependencies first (R5: the order production deployments follow).
    pub async fn train_order(&self, actor: &Actor, train_id: &str) -> ServiceResult<Vec<OrderEntry>> {
        self.authorize(actor, Operation::Read)?;
        self.load::<Train>(train_id).await?;
        let all = self.all_releases().await?;
        let graph = Self::graph_of(&all);
        let members: Vec<&ApplicationRelease> = all
            .iter()
            .filter(|r| r.accepted_train() == Some(train_id) && r.state != railyard_domain::ReleaseState::Cancelled)
            .collect();
        let ids: Vec<String> = members.iter().map(|r| r.id.clone()).collect();
        let order = graph.order(&ids).map_err(|cycle| {
            ServiceError::Internal(format!("the dependency graph holds a cycle: {}", cycle.join(" → ")))
        })?;
        Ok(order
            .into_iter()
            .enumerate()
            .filter_map(|(i, id)| {
                let r = members.iter().find(|r| r.id == id)?;
                Some(OrderEntry {
                    position: i + 1,
                    id: r.id.clone(),
                    title: r.title.clone(),
                    application: r.application.clone(),
                    depends_on: r.dependencies.iter().filter(|d| ids.contains(d)).cloned().collect(),
                })
            })
            .collect())
    }
}
