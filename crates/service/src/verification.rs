//! Verification readiness: the service loads a release's turnovers, their deployments and which
//! environments are production ones; the domain decides ([`Verification::of`]).

use std::collections::BTreeMap;

pub use railyard_domain::Verification;
use railyard_domain::{Actor, ApplicationRelease, Environment, EnvironmentKind, Operation, Turnover};
use railyard_store::ListQuery;

use crate::{Service, ServiceResult};

impl Service {
    pub async fn verification(&self, actor: &Actor, release: &str) -> ServiceResult<Verification> {
        self.authorize(actor, Operation::Read)?;
        self.load::<ApplicationRelease>(release).await?;
        self.verification_of(release).await
    }

    pub(crate) async fn verification_of(&self, release: &str) -> ServiceResult<Verification> {
        let mut q = ListQuery::new("turnover", crate::MAX_PAGE);
        q.parent_id = Some(release.to_string());
        let mut turnovers = Vec::new();
        let mut production: BTreeMap<String, bool> = BTreeMap::new();
        for t in self.list_all::<Turnover>(q).await? {
            let deployments = self.deployments_of(&t.value.id).await?.into_iter().map(|d| d.value).collect();
            for s in &t.value.stages {
                if !production.contains_key(&s.environment) {
                    let kind = self.find::<Environment>(&s.environment).await?.map(|e| e.value.kind);
                    production.insert(s.environment.clone(), kind == Some(EnvironmentKind::Production));
                }
            }
            turnovers.push((t.value, deployments));
        }
        Ok(Verification::of(release, &turnovers, |e| production.get(e).copied().unwrap_or(false)))
    }
}
