//! Which actions a user may take on an object now, and why not: the service loads the facts each
//! aggregate's actions depend on, the same way the actions themselves load them, and the domain
//! decides ([`railyard_domain::available`]). The console and the CLI show what this answers.

use railyard_domain::{
    Actor, Application, ApplicationRelease, Approval, AvailableAction, Deployment, DeploymentPath, Environment,
    Operation, Runbook, Train, Turnover, TurnoverKind,
};

use crate::persist::{Stored, decode};
use crate::users::Token;
use crate::{Service, ServiceResult};
use railyard_store::ListQuery;

impl Service {
    /// What `actor` may start without an object yet: create a train, an environment, manage users, ...
    pub fn global_actions_for(&self, actor: &Actor) -> Vec<AvailableAction> {
        railyard_domain::global_actions(actor)
    }

    /// The train's actions for `actor`: its lifecycle, its plan (edit, copy, what may join it) and its
    /// parts (each gate, exit criterion and milestone, named by `on`).
    pub async fn train_actions_for(&self, actor: &Actor, id: &str) -> ServiceResult<Vec<AvailableAction>> {
        self.authorize(actor, Operation::Read)?;
        let train: Stored<Train> = self.load(id).await?;
        let members = self.accepted_members(id).await?;
        let (around, _) = self.surroundings(id, &members, None).await?;
        Ok(train.value.all_actions(actor, &around, self.now()))
    }

    /// The application release's lifecycle and membership actions for `actor`.
    pub async fn release_actions_for(&self, actor: &Actor, id: &str) -> ServiceResult<Vec<AvailableAction>> {
        self.authorize(actor, Operation::Read)?;
        let release: Stored<ApplicationRelease> = self.load(id).await?;
        let train = match release.value.active_train() {
            Some(t) => Some(self.load::<Train>(t).await?.value),
            None => None,
        };
        let facts = self.release_facts(id).await?;
        Ok(release.value.actions(actor, train.as_ref(), &facts, self.now()))
    }

    /// The turnover's actions for `actor`.
    pub async fn turnover_actions_for(&self, actor: &Actor, id: &str) -> ServiceResult<Vec<AvailableAction>> {
        self.authorize(actor, Operation::Read)?;
        let turnover: Stored<Turnover> = self.load(id).await?;
        let mut facts = self.turnover_facts(&turnover.value).await?;
        facts.train = Some(self.load::<Train>(&turnover.value.train_id).await?.value);
        if turnover.value.kind == TurnoverKind::ProductionReady {
            for s in &turnover.value.stages {
                let others = self.production_turnovers_into(&turnover.value.train_id, &s.environment).await?;
                facts.neighbours.insert(s.environment.clone(), others);
            }
            facts.dependencies = self.dependency_map().await?;
        }
        Ok(turnover.value.actions(actor, &facts))
    }

    /// The deployment's actions for `actor`.
    pub async fn deployment_actions_for(&self, actor: &Actor, id: &str) -> ServiceResult<Vec<AvailableAction>> {
        self.authorize(actor, Operation::Read)?;
        let d: Stored<Deployment> = self.load(id).await?;
        let t: Stored<Turnover> = self.load(&d.value.turnover_id).await?;
        let train: Stored<Train> = self.load(&d.value.train_id).await?;
        let others: Vec<Deployment> = self.deployments_of(&t.value.id).await?.into_iter().map(|o| o.value).collect();
        Ok(d.value.actions(actor, &t.value, &others, &train.value.manager, self.now()))
    }

    /// The approval's actions for `actor`.
    pub async fn approval_actions_for(&self, actor: &Actor, id: &str) -> ServiceResult<Vec<AvailableAction>> {
        self.authorize(actor, Operation::Read)?;
        let a: Stored<Approval> = self.load(id).await?;
        let train: Stored<Train> = self.load(&a.value.train_id).await?;
        Ok(a.value.actions(actor, &train.value.manager, self.now()))
    }

    /// The runbook's review actions for `actor`.
    pub async fn runbook_actions_for(&self, actor: &Actor, id: &str) -> ServiceResult<Vec<AvailableAction>> {
        self.authorize(actor, Operation::Read)?;
        let r: Stored<Runbook> = self.load(id).await?;
        Ok(r.value.actions(actor))
    }

    /// The environment's lifecycle actions for `actor`.
    pub async fn environment_actions_for(&self, actor: &Actor, name: &str) -> ServiceResult<Vec<AvailableAction>> {
        self.authorize(actor, Operation::Read)?;
        let e: Stored<Environment> = self.load(name).await?;
        Ok(e.value.actions(actor))
    }

    /// The deployment path's lifecycle actions for `actor`.
    pub async fn path_actions_for(&self, actor: &Actor, id: &str) -> ServiceResult<Vec<AvailableAction>> {
        self.authorize(actor, Operation::Read)?;
        let p: Stored<DeploymentPath> = self.load(id).await?;
        let environments = self.stage_environments(&p.value).await?;
        Ok(p.value.actions(actor, &environments))
    }

    /// The application's actions for `actor`.
    pub async fn application_actions_for(&self, actor: &Actor, key: &str) -> ServiceResult<Vec<AvailableAction>> {
        self.authorize(actor, Operation::Read)?;
        let a: Stored<Application> = self.load(key).await?;
        Ok(a.value.actions(actor))
    }

    /// The actions `actor` may take on user `name`: edit them, set their password, keep their tokens and
    /// revoke each one.
    pub async fn user_actions_for(&self, actor: &Actor, name: &str) -> ServiceResult<Vec<AvailableAction>> {
        let user = self.user(actor, name).await?;
        let name = user.user.name.as_str();
        let keeps_tokens = AvailableAction::allows(&railyard_domain::user_actions(actor, name, &[]), "manage_tokens");
        let tokens = if keeps_tokens { self.token_facts_of(name).await? } else { Vec::new() };
        Ok(railyard_domain::user_actions(actor, name, &tokens))
    }

    /// The tokens of `user`, as the actions on them need them; no authorisation (callers have it).
    async fn token_facts_of(&self, user: &str) -> ServiceResult<Vec<railyard_domain::TokenFacts>> {
        let mut q = ListQuery::new("token", crate::MAX_PAGE);
        q.parent_id = Some(user.to_string());
        let mut out = Vec::new();
        loop {
            let page = self.store.list(&q).await?;
            let full = page.len() >= q.limit as usize;
            for r in page {
                q.after_seq = Some(r.seq);
                let t: Stored<Token> = decode(r)?;
                out.push(token_facts(&t.value));
            }
            if !full {
                return Ok(out);
            }
        }
    }
}

/// What the domain's token rules need of a token.
pub(crate) fn token_facts(t: &Token) -> railyard_domain::TokenFacts {
    railyard_domain::TokenFacts { id: t.id.clone(), revoked: t.revoked_at.is_some() }
}
