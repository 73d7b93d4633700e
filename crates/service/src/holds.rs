//! What holds production deployments back, and what would hold them forever: the service loads the
//! train, the dependencies between releases and the other production turnovers of the environment; the
//! domain decides ([`railyard_domain::holds`]).

use std::collections::BTreeMap;

use railyard_domain::holds::{self, Neighbour};
use railyard_domain::{Deployment, Train, Turnover, TurnoverKind, TurnoverState};
use railyard_store::ListQuery;

use crate::persist::Stored;
use crate::{Service, ServiceResult};

impl Service {
    /// The production-ready turnovers of a train that deploy into `environment`, still in play.
    pub(crate) async fn production_turnovers_into(
        &self,
        train: &str,
        environment: &str,
    ) -> ServiceResult<Vec<Turnover>> {
        let mut q = ListQuery::new("turnover", crate::MAX_PAGE);
        q.category = Some(train.to_string());
        Ok(self
            .list_all::<Turnover>(q)
            .await?
            .into_iter()
            .map(|t| t.value)
            .filter(|o| {
                o.kind == TurnoverKind::ProductionReady
                    && !matches!(o.state, TurnoverState::Cancelled | TurnoverState::Closed)
                    && o.stage_of(environment).is_some()
            })
            .collect())
    }

    /// Every release's direct dependencies.
    pub(crate) async fn dependency_map(&self) -> ServiceResult<BTreeMap<String, Vec<String>>> {
        Ok(self.all_releases().await?.iter().map(|r| (r.id.clone(), r.dependencies.clone())).collect())
    }

    /// Why a due production deployment may not start yet, besides the line and the calendar.
    pub(crate) async fn production_holds(&self, d: &Deployment) -> ServiceResult<Vec<String>> {
        if !d.production || d.rollback {
            return Ok(Vec::new());
        }
        let train: Stored<Train> = self.load(&d.train_id).await?;
        let deps = self.dependency_map().await?;
        let turnovers = self.production_turnovers_into(&d.train_id, &d.environment).await?;
        let mut latest: Vec<Option<Deployment>> = Vec::with_capacity(turnovers.len());
        for o in &turnovers {
            latest.push(
                self.deployments_of(&o.id)
                    .await?
                    .into_iter()
                    .map(|x| x.value)
                    .filter(|x| x.environment == d.environment && x.generation == o.generation && !x.rollback)
                    .max_by_key(|x| x.attempt),
            );
        }
        let neighbours: Vec<Neighbour<'_>> =
            turnovers.iter().zip(&latest).map(|(turnover, l)| Neighbour { turnover, latest: l.as_ref() }).collect();
        Ok(holds::production_holds(d, &train.value.id, train.value.state, &deps, &neighbours))
    }
}
