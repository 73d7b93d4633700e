//! R9: an application release is verified when one of its turnovers has a validated deployment in every
//! required pre-production stage of its path.

use std::collections::BTreeMap;

use railyard_domain::{
    Actor, ApplicationRelease, DeploymentState, Environment, EnvironmentKind, Operation, Turnover, TurnoverKind,
    TurnoverState,
};
use railyard_store::ListQuery;
use serde::Serialize;
use utoipa::ToSchema;

use crate::{Service, ServiceResult};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Verification {
    pub release: String,
    pub verified: bool,
    /// The turnover closest to verifying it (the one with the fewest stages missing).
    pub turnover: Option<String>,
    /// Required pre-production stages (environment names) that turnover still lacks a validated
    /// deployment in.
    pub missing: Vec<String>,
}

impl Verification {
    /// Why it is not verified, in words.
    pub fn why(&self) -> String {
        match &self.turnover {
            None => "it has no turnover".into(),
            Some(t) => format!("turnover {t} has no validated deployment in {}", self.missing.join(", ")),
        }
    }
}

impl Service {
    pub async fn verification(&self, actor: &Actor, release: &str) -> ServiceResult<Verification> {
        self.authorize(actor, Operation::Read)?;
        self.load::<ApplicationRelease>(release).await?;
        self.verification_of(release).await
    }

    pub(crate) async fn verification_of(&self, release: &str) -> ServiceResult<Verification> {
        let mut q = ListQuery::new("turnover", crate::MAX_PAGE);
        q.parent_id = Some(release.to_string());
        let turnovers = self.list_all::<Turnover>(q).await?;
        let mut kinds: BTreeMap<String, Option<EnvironmentKind>> = BTreeMap::new();
        let mut best: Option<(String, Vec<String>)> = None;
        // Only pre-production turnovers verify a release: a production-ready one has no pre-production
        // stage, and would count as validated everywhere.
        let pre_production = |t: &&Turnover| t.state != TurnoverState::Cancelled && t.kind == TurnoverKind::Standard;
        for t in turnovers.iter().map(|t| &t.value).filter(pre_production) {
            let validated: Vec<usize> = self
                .deployments_of(&t.id)
                .await?
                .into_iter()
                .filter(|d| d.value.state == DeploymentState::Validated && d.value.generation == t.generation)
                .map(|d| d.value.stage)
                .collect();
            let mut missing = Vec::new();
            for (i, stage) in t.stages.iter().enumerate() {
                if !kinds.contains_key(&stage.environment) {
                    let kind = self.find::<Environment>(&stage.environment).await?.map(|e| e.value.kind);
                    kinds.insert(stage.environment.clone(), kind);
                }
                let production = kinds.get(&stage.environment).copied().flatten() == Some(EnvironmentKind::Production);
                if stage.required && !production && !validated.contains(&i) {
                    missing.push(stage.environment.clone());
                }
            }
            if best.as_ref().is_none_or(|(_, m)| missing.len() < m.len()) {
                best = Some((t.id.clone(), missing));
            }
        }
        Ok(match best {
            Some((turnover, missing)) => Verification {
                release: release.to_string(),
                verified: missing.is_empty(),
                turnover: Some(turnover),
                missing,
            },
            None => Verification { release: release.to_string(), verified: false, turnover: None, missing: Vec::new() },
        })
    }
}
