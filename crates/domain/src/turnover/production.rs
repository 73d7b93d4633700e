//! Production-ready turnovers (DESIGN.md §2): assembled from validated pre-production turnovers, spanning
//! application releases of one train, delivered to release engineering, accepted by an engineer other
//! than the developer (and then frozen, R12), and deployed into locked environments at their scheduled
//! times (R11). Their state after acceptance follows their deployments, one per environment.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::{Artifact, ReorderEntry, Task, Turnover, TurnoverKind, TurnoverState};
use crate::error::{Fields, Guards};
use crate::{
    Actor, ApplicationRelease, Change, Deployment, DeploymentState, DomainError, Environment, EnvironmentState, Stage,
    Train,
};

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductionSpec {
    pub title: String,
    /// The application releases it carries, all of one train.
    pub releases: Vec<String>,
    /// The locked environments it is deployed into, each at its own scheduled time.
    pub environments: Vec<String>,
    /// A validated pre-production turnover to start from: its tasks, artifacts and work items are copied.
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub description: String,
    /// Defaults to the creator.
    #[serde(default)]
    pub developer: Option<String>,
    #[serde(default)]
    pub artifacts: Vec<Artifact>,
}

/// A proposed task order: the new sequence of every task, and why.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProposedOrder {
    pub order: Vec<ReorderEntry>,
    /// One line per sequence group, e.g. "sequence 1: database tasks of AR-1 (TA-3, TA-4)".
    pub groups: Vec<String>,
}

/// The tier order used when none is given: database first, then application servers, then web servers;
/// other tiers follow alphabetically, tasks without a tier last.
pub fn default_tiers() -> Vec<String> {
    ["database", "app", "web"].iter().map(|s| s.to_string()).collect()
}

/// Where each production environment of a turnover stands: its latest deployment.
fn latest_per_environment<'a>(t: &Turnover, deployments: &'a [Deployment]) -> Vec<Option<&'a Deployment>> {
    t.stages.iter().map(|s| t.latest_in(&s.environment, deployments)).collect()
}

impl Turnover {
    /// Its latest deployment into `environment` (of its current generation; rollbacks included).
    pub fn latest_in<'a>(&self, environment: &str, deployments: &'a [Deployment]) -> Option<&'a Deployment> {
        deployments
            .iter()
            .filter(|d| d.environment == environment && d.generation == self.generation)
            .max_by_key(|d| d.attempt)
    }

    /// A production-ready turnover in draft. `from` is the pre-production turnover to start from, with its
    /// deployments; `task_ids` gives ids to its copied tasks.
    #[allow(clippy::too_many_arguments)]
    pub fn create_production(
        id: String,
        spec: ProductionSpec,
        releases: &[ApplicationRelease],
        train: &Train,
        environments: &[Environment],
        from: Option<(&Turnover, &[Deployment])>,
        task_ids: &mut dyn Iterator<Item = String>,
        actor: &Actor,
    ) -> Result<(Turnover, Change), DomainError> {
        let mut f = Fields::default();
        f.check(!spec.title.trim().is_empty(), "title", || "must not be empty".into());
        f.check(!spec.releases.is_empty(), "releases", || "name at least one application release".into());
        f.check(!spec.environments.is_empty(), "environments", || "name at least one locked environment".into());
        f.check(spec.releases.iter().collect::<BTreeSet<_>>().len() == spec.releases.len(), "releases", || {
            "names an application release twice".into()
        });
        f.check(
            spec.environments.iter().collect::<BTreeSet<_>>().len() == spec.environments.len(),
            "environments",
            || "names an environment twice".into(),
        );
        super::check_artifacts(&mut f, &spec.artifacts);
        f.done()?;
        let mut g = Guards::new("create", "a production-ready turnover", "none");
        train.check_takes_production_turnovers(&mut g);
        for r in releases {
            match r.accepted_train() {
                Some(t) if t == train.id => {}
                Some(t) => g.fail(
                    "releases_of_two_trains",
                    format!(
                        "{} rides train {t}, not {}; a production-ready turnover spans application releases of one train",
                        r.id, train.id
                    ),
                ),
                None => g.fail("release_not_on_train", format!("{} is not accepted on a train", r.id)),
            }
            g.check(super::rollout::goes_to_production(r), "release_not_in_verification", || {
                format!("{} is {}; only development-approved releases in verification go to production", r.id, r.state)
            });
        }
        for e in environments {
            g.check(e.locked, "environment_not_locked", || {
                format!(
                    "environment {} is not locked; production-ready turnovers deploy into locked environments",
                    e.name
                )
            });
            g.check(e.state != EnvironmentState::Decommissioned, "environment_decommissioned", || {
                format!("environment {} is decommissioned", e.name)
            });
        }
        if let Some((src, deployments)) = from {
            src.check_source(&mut g, deployments, Some(&spec.releases));
        }
        super::check_named_developer(&mut g, spec.developer.as_deref(), actor);
        g.done()?;
        let mut turnover = Turnover {
            id,
            title: spec.title.trim().to_string(),
            description: spec.description,
            developer: spec.developer.unwrap_or_else(|| actor.name.clone()),
            kind: TurnoverKind::ProductionReady,
            releases: spec.releases,
            train_id: train.id.clone(),
            path_id: String::new(),
            stages: spec
                .environments
                .iter()
                .map(|e| Stage { environment: e.clone(), required: true, allow_redeploy: true, freeze_tasks: true })
                .collect(),
            artifacts: spec.artifacts,
            work_items: Vec::new(),
            tasks: Vec::new(),
            state: TurnoverState::Draft,
            frozen: None,
            cancel_reason: None,
            created_by: actor.name.clone(),
            generation: 0,
            from_turnover: None,
            delivered_by: None,
            accepted_by: None,
            rejection: None,
        };
        let mut copied = 0;
        if let Some((src, _)) = from {
            turnover.from_turnover = Some(src.id.clone());
            if turnover.artifacts.is_empty() {
                turnover.artifacts = src.artifacts.clone();
            }
            turnover.work_items = src.work_items.clone();
            let release = (src.releases.len() == 1).then(|| src.releases[0].clone());
            for t in &src.tasks {
                let id = task_ids.next().ok_or_else(|| DomainError::invalid("tasks", "not enough task ids"))?;
                turnover.tasks.push(Task { id, release: t.release.clone().or_else(|| release.clone()), ..t.clone() });
                copied += 1;
            }
        }
        let change = Change::new(
            "turnover",
            &turnover.id,
            "create",
            json!({"kind": "production_ready", "releases": turnover.releases, "environments": spec.environments,
                   "from": turnover.from_turnover, "tasks_copied": copied}),
        );
        Ok((turnover, change))
    }

    fn check_production(&self, g: &mut Guards) {
        g.check(self.kind == TurnoverKind::ProductionReady, "not_production_ready", || {
            format!(
                "{} is a pre-production turnover; only production-ready ones are delivered and accepted",
                self.describe()
            )
        });
    }

    /// draft → delivered to release engineering: it must have a task for each of its environments.
    pub fn deliver(&mut self, actor: &Actor) -> Result<Change, DomainError> {
        let mut g = self.guards("deliver");
        self.check_production(&mut g);
        g.check(self.state == TurnoverState::Draft, "wrong_state", || {
            format!("{} is {}; only a draft is delivered", self.describe(), self.state)
        });
        self.check_editor(&mut g, actor);
        for s in &self.stages {
            let any = self
                .tasks
                .iter()
                .any(|t| !t.rollback && (t.environments.is_empty() || t.environments.contains(&s.environment)));
            g.check(any, "no_tasks", || format!("no task of {} deploys into {}", self.describe(), s.environment));
        }
        g.done()?;
        self.state = TurnoverState::Delivered;
        self.delivered_by = Some(actor.name.clone());
        Ok(Change::new("turnover", &self.id, "deliver", json!({"tasks": self.tasks.len()})))
    }

    /// Release engineering's decision; never the developer's own (segregation of duties).
    fn check_reviewer(&self, g: &mut Guards, actor: &Actor) {
        g.check(self.state == TurnoverState::Delivered, "wrong_state", || {
            format!("{} is {}; only a delivered turnover is accepted or rejected", self.describe(), self.state)
        });
        let own = [Some(&self.developer), Some(&self.created_by), self.delivered_by.as_ref()];
        g.check(!own.contains(&Some(&actor.name)), "own_turnover", || {
            format!(
                "{} was developed by {}, created by {} and delivered by {}; an engineer other than they decides on it",
                self.describe(),
                self.developer,
                self.created_by,
                self.delivered_by.as_deref().unwrap_or("nobody yet")
            )
        });
    }

    /// delivered → accepted: frozen from now on (R12).
    pub fn accept(&mut self, actor: &Actor) -> Result<Change, DomainError> {
        let mut g = self.guards("accept");
        self.check_production(&mut g);
        self.check_reviewer(&mut g, actor);
        g.done()?;
        self.state = TurnoverState::Accepted;
        self.accepted_by = Some(actor.name.clone());
        self.frozen = Some(format!("accepted for production by {}", actor.name));
        Ok(Change::new("turnover", &self.id, "accept", json!({})))
    }

    /// delivered → draft, with a comment saying what to fix.
    pub fn reject(&mut self, comment: &str, actor: &Actor) -> Result<Change, DomainError> {
        if comment.trim().is_empty() {
            return Err(DomainError::invalid("comment", "a rejection needs a comment saying what to fix"));
        }
        let mut g = self.guards("reject");
        self.check_production(&mut g);
        self.check_reviewer(&mut g, actor);
        g.done()?;
        self.state = TurnoverState::Draft;
        self.rejection = Some(comment.trim().to_string());
        Ok(Change::new("turnover", &self.id, "reject", json!({"comment": comment.trim()})))
    }

    /// The index of its stage for a production environment.
    pub fn stage_of(&self, environment: &str) -> Option<usize> {
        self.stages.iter().position(|s| s.environment == environment)
    }

    /// After acceptance a production-ready turnover's state follows its deployments: accepted until one
    /// starts; rolled back when an environment's latest deployment is a finished rollback; verified when
    /// every environment's latest deployment is validated; deployed when every one succeeded (verified
    /// or not); deploying otherwise.
    pub fn production_state(&self, deployments: &[Deployment]) -> TurnoverState {
        use DeploymentState as D;
        let latest = latest_per_environment(self, deployments);
        if !deployments.iter().any(|d| d.generation == self.generation && d.started_at.is_some()) {
            return TurnoverState::Accepted;
        }
        let done_rollback = |d: &&Deployment| d.rollback && matches!(d.state, D::Succeeded | D::Validated);
        if latest.iter().flatten().any(done_rollback) {
            return TurnoverState::RolledBack;
        }
        let all = |ok: &dyn Fn(&Deployment) -> bool| latest.iter().all(|d| d.is_some_and(|d| !d.rollback && ok(d)));
        if all(&|d| d.state == D::Validated) {
            TurnoverState::Verified
        } else if all(&|d| matches!(d.state, D::Succeeded | D::Validated | D::Rejected)) {
            TurnoverState::Deployed
        } else {
            TurnoverState::Deploying
        }
    }

    /// Brings the state of an accepted production-ready turnover in line with its deployments.
    pub fn refresh_production(&mut self, deployments: &[Deployment]) -> Option<Change> {
        use TurnoverState as T;
        let follows = matches!(self.state, T::Accepted | T::Deploying | T::Deployed | T::Verified | T::RolledBack);
        if self.kind != TurnoverKind::ProductionReady || !follows {
            return None;
        }
        let to = self.production_state(deployments);
        if to == self.state {
            return None;
        }
        let from = self.state;
        self.state = to;
        Some(Change::new("turnover", &self.id, to.as_str(), json!({"from": from, "to": to})))
    }

    /// Why production environments of the turnover are not verified, one line each (R14).
    pub fn unverified(&self, deployments: &[Deployment]) -> Vec<String> {
        latest_per_environment(self, deployments)
            .iter()
            .zip(&self.stages)
            .filter_map(|(d, s)| match d {
                None => Some(format!("{}: not scheduled", s.environment)),
                Some(d) if d.rollback => Some(format!("{}: rolled back by {}", s.environment, d.id)),
                Some(d) if d.state == DeploymentState::Rejected => Some(format!(
                    "{}: {} failed verification{}",
                    s.environment,
                    d.id,
                    d.validation.as_ref().map(|v| format!(" ({})", v.note)).unwrap_or_default()
                )),
                Some(d) if d.state != DeploymentState::Validated => {
                    Some(format!("{}: {} is {}", s.environment, d.id, d.state))
                }
                Some(_) => None,
            })
            .collect()
    }

    /// Proposes an order for its tasks: application releases by their dependencies (R5: every task of a
    /// dependency before any of its dependent's, also when they depend on each other through a release
    /// outside the turnover), then by tier (`tiers` in order, other tiers alphabetically, no tier last),
    /// keeping each task's own sequence within its tier. Tasks of no release go with the releases that
    /// depend on nothing. Rollback tasks are ordered the other way round (dependents first, then tiers
    /// backwards: web before database), numbered on their own since they run only in rollbacks.
    /// `depends_on` maps a release to the releases it depends on (as far as they are known).
    pub fn proposed_order(&self, depends_on: &BTreeMap<String, Vec<String>>, tiers: &[String]) -> ProposedOrder {
        // The releases of this turnover each one depends on, directly or through others.
        let reach = |from: &str| -> BTreeSet<&str> {
            let mut seen: BTreeSet<&str> = BTreeSet::new();
            let mut todo: Vec<&str> = vec![from];
            while let Some(r) = todo.pop() {
                for d in depends_on.get(r).into_iter().flatten() {
                    if seen.insert(d.as_str()) {
                        todo.push(d.as_str());
                    }
                }
            }
            seen.into_iter().filter(|d| *d != from && self.releases.iter().any(|r| r == d)).collect()
        };
        let below: BTreeMap<&str, BTreeSet<&str>> = self.releases.iter().map(|r| (r.as_str(), reach(r))).collect();
        // Longest chain; R5 keeps the graph acyclic, and the pass count bounds the work should it not be.
        let mut level: BTreeMap<&str, usize> = BTreeMap::new();
        for _ in 0..=self.releases.len() {
            for (r, deps) in &below {
                let l = deps.iter().map(|d| level.get(d).copied().unwrap_or(0) + 1).max().unwrap_or(0);
                level.insert(r, l);
            }
        }
        let top = level.values().copied().max().unwrap_or(0);
        let tier_rank = |t: &Option<String>| match t {
            None => (usize::MAX, String::new()),
            Some(t) => match tiers.iter().position(|x| x.eq_ignore_ascii_case(t)) {
                Some(i) => (i, String::new()),
                None => (tiers.len(), t.to_lowercase()),
            },
        };
        let level_of = |t: &Task| t.release.as_deref().and_then(|r| level.get(r).copied()).unwrap_or(0);
        type Key = (usize, (usize, String), u32);
        let key = |t: &Task| -> Key {
            if t.rollback {
                let (rank, name) = tier_rank(&t.tier);
                (top - level_of(t), (usize::MAX - rank, name), t.sequence)
            } else {
                (level_of(t), tier_rank(&t.tier), t.sequence)
            }
        };
        let mut order = Vec::new();
        let mut lines = Vec::new();
        for rollback in [false, true] {
            let tasks: Vec<&Task> = self.tasks.iter().filter(|t| t.rollback == rollback).collect();
            let keys: BTreeSet<Key> = tasks.iter().map(|t| key(t)).collect();
            let seq_of: BTreeMap<Key, u32> = keys.into_iter().zip(1..).collect();
            let mut groups: BTreeMap<u32, Vec<&Task>> = BTreeMap::new();
            for t in tasks {
                let seq = seq_of.get(&key(t)).copied().unwrap_or(1);
                order.push(ReorderEntry { task: t.id.clone(), sequence: seq });
                groups.entry(seq).or_default().push(t);
            }
            for (seq, tasks) in groups {
                let tier = tasks[0].tier.as_deref().unwrap_or("untiered");
                let mut releases: Vec<&str> =
                    tasks.iter().map(|t| t.release.as_deref().unwrap_or("no release")).collect();
                releases.sort_unstable();
                releases.dedup();
                let ids: Vec<&str> = tasks.iter().map(|t| t.id.as_str()).collect();
                let what = if rollback { "rollback sequence" } else { "sequence" };
                lines.push(format!("{what} {seq}: {tier} tasks of {} ({})", releases.join(", "), ids.join(", ")));
            }
        }
        ProposedOrder { order, groups: lines }
    }

    /// verified → closed, with its train.
    pub fn on_train_closed(&mut self) -> Option<Change> {
        (self.state == TurnoverState::Verified).then(|| {
            self.state = TurnoverState::Closed;
            Change::new("turnover", &self.id, "close", json!({"train": self.train_id}))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(id: &str, release: Option<&str>, tier: Option<&str>, sequence: u32) -> serde_json::Value {
        let rollback = id == "TA-8" || id == "TA-9";
        json!({"id": id, "title": id, "sequence": sequence, "owner": "o", "release": release, "tier": tier, "rollback": rollback})
    }

    #[test]
    fn the_proposal_puts_dependencies_first_then_tiers_in_order_keeping_each_sequence() {
        let t: Turnover = serde_json::from_value(json!({
            "id": "TO-9", "title": "night", "developer": "d", "kind": "production_ready",
            "releases": ["AR-1", "AR-2"], "train_id": "RT-1", "path_id": "", "stages": [], "state": "draft",
            "created_by": "d",
            "tasks": [
                task("TA-1", Some("AR-2"), Some("app"), 1),
                task("TA-2", Some("AR-1"), Some("web"), 1),
                task("TA-3", Some("AR-1"), Some("database"), 2),
                task("TA-4", Some("AR-1"), Some("Database"), 1),
                task("TA-5", Some("AR-1"), None, 1),
                task("TA-6", Some("AR-1"), Some("cache"), 1),
                task("TA-7", None, Some("database"), 1),
                task("TA-8", Some("AR-1"), Some("database"), 1),
                task("TA-9", Some("AR-2"), Some("app"), 1),
            ],
        }))
        .unwrap();
        // AR-2 depends on AR-1 through AR-0, a release outside the turnover.
        let deps = BTreeMap::from([
            ("AR-2".to_string(), vec!["AR-0".to_string()]),
            ("AR-0".to_string(), vec!["AR-1".to_string()]),
        ]);
        let p = t.proposed_order(&deps, &default_tiers());
        let seq: BTreeMap<&str, u32> = p.order.iter().map(|e| (e.task.as_str(), e.sequence)).collect();
        // AR-1: database (its own order kept), web, other tiers, no tier; then AR-2, which depends on it.
        // A task of no release goes with the releases that depend on nothing.
        // Rollback tasks are numbered on their own, the other way round: AR-2's before AR-1's.
        let expected = BTreeMap::from([
            ("TA-4", 1),
            ("TA-7", 1),
            ("TA-3", 2),
            ("TA-2", 3),
            ("TA-6", 4),
            ("TA-5", 5),
            ("TA-1", 6),
            ("TA-9", 1),
            ("TA-8", 2),
        ]);
        assert_eq!(seq, expected);
        assert_eq!(p.groups[0], "sequence 1: Database tasks of AR-1, no release (TA-4, TA-7)");
        assert_eq!(p.groups[5], "sequence 6: app tasks of AR-2 (TA-1)");
        assert_eq!(p.groups[6], "rollback sequence 1: app tasks of AR-2 (TA-9)");
        // A tier order given by the user wins.
        let p = t.proposed_order(&deps, &["web".to_string()]);
        assert_eq!(p.order.iter().find(|e| e.task == "TA-2").map(|e| e.sequence), Some(1));
    }
}
