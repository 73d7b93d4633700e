//! What holds production deployments back, and what would hold them forever: the train not yet in
//! deployment (R11), and turnovers carrying a release's dependencies that have not finished deploying
//! into the same environment (R5). Two turnovers waiting for each other could never start, so a schedule
//! that would make such a cycle is refused.

use std::collections::BTreeMap;

use railyard_domain::{
    ApplicationRelease, Deployment, DeploymentState, Guard, Refusal, Train, Turnover, TurnoverKind, TurnoverState,
};
use railyard_store::ListQuery;

use crate::persist::Stored;
use crate::{Service, ServiceError, ServiceResult};

impl Service {
    /// The production-ready turnovers of a train that deploy into `environment`, still in play.
    async fn production_turnovers_into(&self, train: &str, environment: &str) -> ServiceResult<Vec<Turnover>> {
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

    /// The releases each release of `turnovers` depends on directly.
    async fn direct_dependencies(&self, turnovers: &[Turnover]) -> ServiceResult<BTreeMap<String, Vec<String>>> {
        let mut deps = BTreeMap::new();
        for r in turnovers.iter().flat_map(|t| &t.releases) {
            if !deps.contains_key(r) {
                let d = self.find::<ApplicationRelease>(r).await?.map(|x| x.value.dependencies).unwrap_or_default();
                deps.insert(r.clone(), d);
            }
        }
        Ok(deps)
    }

    /// R5: refuses to schedule `t` into `environment` when it and other turnovers there would wait for
    /// each other (A carries a dependency of B's release and B one of A's), naming the cycle.
    pub(crate) async fn refuse_wait_cycle(&self, t: &Turnover, environment: &str) -> ServiceResult<()> {
        let mut all = self.production_turnovers_into(&t.train_id, environment).await?;
        if !all.iter().any(|o| o.id == t.id) {
            all.push(t.clone());
        }
        let deps = self.direct_dependencies(&all).await?;
        // x waits for y when a release of x depends on one of y (and x does not carry it itself).
        let waits_for = |x: &Turnover, y: &Turnover| -> Option<String> {
            x.releases.iter().find_map(|r| {
                deps.get(r)?
                    .iter()
                    .find(|d| !x.releases.contains(d) && y.releases.contains(d))
                    .map(|d| format!("{} waits for {} ({r} depends on {d})", x.id, y.id))
            })
        };
        // Depth-first from t; a path back to t is a cycle.
        let mut stack: Vec<(usize, Vec<String>)> =
            all.iter().position(|o| o.id == t.id).map(|i| (i, Vec::new())).into_iter().collect();
        let mut seen = vec![false; all.len()];
        while let Some((i, path)) = stack.pop() {
            for (j, other) in all.iter().enumerate() {
                if j == i {
                    continue;
                }
                let Some(step) = waits_for(&all[i], other) else { continue };
                let mut path = path.clone();
                path.push(step);
                if other.id == t.id {
                    return Err(ServiceError::Refused(Refusal {
                        action: "schedule".into(),
                        object: t.describe(),
                        state: t.state.to_string(),
                        guards: vec![Guard::new(
                            "dependency_deadlock",
                            format!(
                                "in {environment}, {}: none of them could ever start, since a dependency deploys before its dependent; carry these releases in one turnover",
                                path.join(", ")
                            ),
                        )],
                    }));
                }
                if !seen[j] {
                    seen[j] = true;
                    stack.push((j, path));
                }
            }
        }
        Ok(())
    }

    /// Why a due production deployment may not start yet, besides the line and the calendar: its train
    /// is not in deployment (R11), or a turnover carrying a release it depends on has not finished
    /// deploying into the same environment (R5).
    pub(crate) async fn production_holds(&self, d: &Deployment) -> ServiceResult<Vec<String>> {
        let mut holds = Vec::new();
        if !d.production || d.rollback {
            return Ok(holds);
        }
        let train: Stored<Train> = self.load(&d.train_id).await?;
        if train.value.state != railyard_domain::TrainState::Deployment {
            holds.push(format!(
                "train {} is {}; production deployments start once it is in deployment",
                train.value.id, train.value.state
            ));
        }
        let mut depends: Vec<(String, String)> = Vec::new();
        for r in &d.releases {
            if let Some(release) = self.find::<ApplicationRelease>(r).await? {
                for dep in release.value.dependencies.iter().filter(|x| !d.releases.contains(x)) {
                    depends.push((r.clone(), dep.clone()));
                }
            }
        }
        if depends.is_empty() {
            return Ok(holds);
        }
        for o in &self.production_turnovers_into(&d.train_id, &d.environment).await? {
            if o.id == d.turnover_id {
                continue;
            }
            let Some((r, dep)) = depends.iter().find(|(_, dep)| o.releases.contains(dep)) else { continue };
            let latest = self
                .deployments_of(&o.id)
                .await?
                .into_iter()
                .map(|x| x.value)
                .filter(|x| x.environment == d.environment && x.generation == o.generation && !x.rollback)
                .max_by_key(|x| x.attempt);
            let done = latest
                .as_ref()
                .is_some_and(|x| matches!(x.state, DeploymentState::Succeeded | DeploymentState::Validated));
            if !done {
                let status = match &latest {
                    None => "it is not scheduled there".to_string(),
                    Some(x)
                        if matches!(
                            x.state,
                            DeploymentState::Failed | DeploymentState::Rejected | DeploymentState::Abandoned
                        ) =>
                    {
                        format!("its deployment {} {}", x.id, x.state)
                    }
                    Some(_) => "it has not finished".to_string(),
                };
                holds.push(format!(
                    "waits for turnover {} ({dep}, which {r} depends on) to deploy into {} first; {status}",
                    o.id, d.environment
                ));
            }
        }
        Ok(holds)
    }
}
