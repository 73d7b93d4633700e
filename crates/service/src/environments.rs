//! Environments, their calendars, and deployment paths.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use railyard_domain::{
    Actor, CalendarEvent, Deployment, DeploymentPath, DomainError, Environment, EnvironmentAction, EnvironmentKind,
    EnvironmentPatch, EnvironmentSpec, EnvironmentState, EventSpec, Operation, PathAction, PathPatch, PathSpec,
    PathState, Train, Turnover,
};
use railyard_store::ListQuery;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::input_limits::bounded;
use crate::persist::{Stored, Tx, check_version, seq_of};
use crate::views::{Meta, Page, page_of};
use crate::{Service, ServiceError, ServiceResult};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EnvironmentView {
    #[serde(flatten)]
    pub environment: Environment,
    #[serde(flatten)]
    pub meta: Meta,
    /// R13: why nothing may start deploying here now, if anything.
    pub blocked: Option<String>,
}

/// Why an environment is taken offline, brought online or decommissioned (optional; kept on the
/// environment and in the audit log).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StateReason {
    #[serde(default)]
    pub reason: Option<String>,
}

/// One line of an environment's calendar: an event (maintenance, blackout, reservation) or a deployment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CalendarEntry {
    /// maintenance, blackout, reservation or deployment.
    pub kind: String,
    /// "CE-4" for an event, "DE-12" for a deployment.
    pub id: String,
    pub title: String,
    /// A deployment's start, or its scheduled time until it starts.
    pub start: DateTime<Utc>,
    /// A deployment's finish, or the end of its planned window until it finishes.
    pub end: DateTime<Utc>,
    pub train_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub turnover_id: Option<String>,
    /// A deployment's state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// What holds a deployment that waits (R11, R13, R5, the stopped line).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked: Option<String>,
    /// Conflicts reported when the deployment was scheduled.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<String>,
}

impl CalendarEntry {
    fn event(e: &CalendarEvent) -> CalendarEntry {
        CalendarEntry {
            kind: e.kind.as_str().to_string(),
            id: e.id.clone(),
            title: e.title.clone(),
            start: e.start,
            end: e.end,
            train_id: e.train_id.clone(),
            turnover_id: None,
            state: None,
            blocked: None,
            conflicts: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PathView {
    #[serde(flatten)]
    pub path: DeploymentPath,
    #[serde(flatten)]
    pub meta: Meta,
}

#[derive(Debug, Clone, Default)]
pub struct EnvironmentFilter {
    pub kind: Option<EnvironmentKind>,
    pub states: Vec<EnvironmentState>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

fn path_view(s: Stored<DeploymentPath>) -> PathView {
    PathView { meta: Meta::of(&s), path: s.value }
}

impl Service {
    fn environment_view(&self, s: Stored<Environment>) -> EnvironmentView {
        let blocked = s.value.blocked_at(self.now());
        EnvironmentView { meta: Meta::of(&s), environment: s.value, blocked }
    }

    pub async fn create_environment(&self, actor: &Actor, spec: EnvironmentSpec) -> ServiceResult<EnvironmentView> {
        bounded(&spec)?;
        self.authorize(actor, Operation::ManageEnvironments)?;
        let (env, change) = Environment::create(spec, &actor.name)?;
        self.check_users([("owner".to_string(), env.owner.clone())]).await?;
        self.ensure_absent::<Environment>(&env.name).await?;
        let mut tx = Tx::new(actor, self.now());
        tx.insert(&env, self.store.next_seq("ENV").await?)?;
        tx.record([change]);
        self.commit(tx).await?;
        self.environment(actor, &env.name).await
    }

    pub async fn environment(&self, actor: &Actor, name: &str) -> ServiceResult<EnvironmentView> {
        self.authorize(actor, Operation::Read)?;
        Ok(self.environment_view(self.load(name).await?))
    }

    pub async fn environments(&self, actor: &Actor, filter: EnvironmentFilter) -> ServiceResult<Page<EnvironmentView>> {
        self.authorize(actor, Operation::Read)?;
        let mut q = ListQuery::new("environment", 0);
        q.category = filter.kind.map(|k| k.as_str().to_string());
        q.states = filter.states.iter().map(|s| s.as_str().to_string()).collect();
        page_of(self, &mut q, filter.limit, filter.cursor.as_deref(), |s| Ok(self.environment_view(s))).await
    }

    /// Loads an environment, lets `step` change it, saves it with its event; retried on a concurrent change.
    async fn change_environment(
        &self,
        actor: &Actor,
        name: &str,
        op: Operation,
        expected: Option<i64>,
        step: impl Fn(&mut Environment, Option<String>) -> Result<railyard_domain::Change, DomainError> + Sync,
        new_id_prefix: Option<&str>,
    ) -> ServiceResult<EnvironmentView> {
        self.authorize(actor, op)?;
        let step = &step;
        self.retrying(expected, move || async move {
            let mut s: Stored<Environment> = self.load(name).await?;
            check_version("environment", name, s.version, expected)?;
            let new_id = match new_id_prefix {
                Some(p) => {
                    step(&mut s.value.clone(), Some(String::new()))?;
                    Some(self.new_id(p).await?)
                }
                None => None,
            };
            let change = step(&mut s.value, new_id)?;
            let mut tx = Tx::new(actor, self.now());
            tx.update(&s)?;
            tx.record([change]);
            self.commit(tx).await
        })
        .await?;
        self.environment(actor, name).await
    }

    pub async fn update_environment(
        &self,
        actor: &Actor,
        name: &str,
        patch: EnvironmentPatch,
        expected: Option<i64>,
    ) -> ServiceResult<EnvironmentView> {
        bounded(&patch)?;
        if let Some(o) = &patch.owner {
            self.check_users([("owner".to_string(), o.clone())]).await?;
        }
        if let Some(labels) = &patch.runner_labels {
            // An unknown label is a typo far more often than a runner to come: register the runner first.
            let unknown = railyard_domain::runner::unknown_labels(labels, &self.known_runner_labels().await?);
            if !unknown.is_empty() {
                return Err(ServiceError::invalid(
                    "runner_labels",
                    format!(
                        "no active runner carries {}: register a runner with {} first (`railyard runner register`)",
                        unknown.iter().map(|l| format!("'{l}'")).collect::<Vec<_>>().join(", "),
                        if unknown.len() == 1 { "it" } else { "them" }
                    ),
                ));
            }
        }
        self.change_environment(
            actor,
            name,
            Operation::ManageEnvironments,
            expected,
            |e, _| e.update(patch.clone()),
            None,
        )
        .await
    }

    /// Takes an environment offline, brings it online or decommissions it, with an optional reason.
    pub async fn environment_action(
        &self,
        actor: &Actor,
        name: &str,
        action: EnvironmentAction,
        input: StateReason,
    ) -> ServiceResult<EnvironmentView> {
        bounded(&input)?;
        let reason = input.reason.as_deref();
        self.change_environment(actor, name, Operation::ManageEnvironments, None, |e, _| e.apply(action, reason), None)
            .await
    }

    pub async fn add_calendar_event(
        &self,
        actor: &Actor,
        name: &str,
        spec: EventSpec,
    ) -> ServiceResult<EnvironmentView> {
        bounded(&spec)?;
        if let Some(t) = &spec.train_id
            && self.find::<Train>(t).await?.is_none()
        {
            return Err(ServiceError::invalid("train_id", format!("there is no train {t}")));
        }
        let by = actor.name.clone();
        self.change_environment(
            actor,
            name,
            Operation::PlanCalendar,
            None,
            |e, id| e.add_event(id.unwrap_or_default(), spec.clone(), &by),
            Some("CE"),
        )
        .await
    }

    pub async fn remove_calendar_event(
        &self,
        actor: &Actor,
        name: &str,
        event: &str,
    ) -> ServiceResult<EnvironmentView> {
        self.change_environment(actor, name, Operation::PlanCalendar, None, |e, _| e.remove_event(event), None).await
    }

    /// An environment's calendar between two times, in time order: its events and its scheduled, running
    /// and past deployments, from now and for 30 days unless the caller says otherwise.
    pub async fn calendar(
        &self,
        actor: &Actor,
        name: &str,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> ServiceResult<Vec<CalendarEntry>> {
        self.authorize(actor, Operation::Read)?;
        let now = self.now();
        let from = from.unwrap_or(now);
        let to = to.unwrap_or(from + chrono::Duration::days(30));
        if to <= from {
            return Err(ServiceError::invalid("to", format!("to {to} must be after from {from}")));
        }
        let env: Stored<Environment> = self.load(name).await?;
        let mut entries: Vec<CalendarEntry> =
            env.value.events_between(from, to).into_iter().map(CalendarEntry::event).collect();
        let mut q = ListQuery::new("deployment", crate::MAX_PAGE);
        q.category = Some(name.to_string());
        let mut titles: BTreeMap<String, String> = BTreeMap::new();
        for d in self.list_all::<Deployment>(q).await? {
            let d = d.value;
            let Some(start) = d.started_at.or(d.scheduled_for) else { continue };
            let end = d.finished_at.or(d.planned_end).unwrap_or(now).max(start);
            if !(start < to && from < end || start == end && from <= start && start < to) {
                continue;
            }
            if !titles.contains_key(&d.turnover_id) {
                let t = self.find::<Turnover>(&d.turnover_id).await?.map(|t| t.value.title).unwrap_or_default();
                titles.insert(d.turnover_id.clone(), t);
            }
            let what = if d.rollback { "rollback of" } else { "deployment of" };
            let title = format!("{what} {} '{}' (attempt {})", d.turnover_id, titles[&d.turnover_id], d.attempt);
            entries.push(CalendarEntry {
                kind: "deployment".into(),
                id: d.id,
                title,
                start,
                end,
                train_id: Some(d.train_id),
                turnover_id: Some(d.turnover_id),
                state: Some(d.state.as_str().to_string()),
                blocked: d.blocked,
                conflicts: d.conflicts,
            });
        }
        entries.sort_by(|a, b| a.start.cmp(&b.start).then_with(|| a.id.cmp(&b.id)));
        Ok(entries)
    }

    // ---- deployment paths ----

    pub async fn create_path(&self, actor: &Actor, spec: PathSpec) -> ServiceResult<PathView> {
        bounded(&spec)?;
        self.authorize(actor, Operation::ManageEnvironments)?;
        DeploymentPath::create(String::new(), spec.clone())?;
        let id = self.new_id("DP").await?;
        let (path, change) = DeploymentPath::create(id.clone(), spec)?;
        let mut tx = Tx::new(actor, self.now());
        tx.insert(&path, seq_of(&id))?;
        tx.record([change]);
        self.commit(tx).await?;
        self.path(actor, &id).await
    }

    pub async fn path(&self, actor: &Actor, id: &str) -> ServiceResult<PathView> {
        self.authorize(actor, Operation::Read)?;
        Ok(path_view(self.load(id).await?))
    }

    pub async fn paths(
        &self,
        actor: &Actor,
        states: Vec<PathState>,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> ServiceResult<Page<PathView>> {
        self.authorize(actor, Operation::Read)?;
        let mut q = ListQuery::new("deployment_path", 0);
        q.states = states.iter().map(|s| s.as_str().to_string()).collect();
        page_of(self, &mut q, limit, cursor, |s| Ok(path_view(s))).await
    }

    pub async fn update_path(
        &self,
        actor: &Actor,
        id: &str,
        patch: PathPatch,
        expected: Option<i64>,
    ) -> ServiceResult<PathView> {
        bounded(&patch)?;
        self.authorize(actor, Operation::ManageEnvironments)?;
        let patch = &patch;
        self.retrying(expected, move || async move {
            let mut s: Stored<DeploymentPath> = self.load(id).await?;
            check_version("deployment path", id, s.version, expected)?;
            let change = s.value.update(patch.clone())?;
            let mut tx = Tx::new(actor, self.now());
            tx.update(&s)?;
            tx.record([change]);
            self.commit(tx).await
        })
        .await?;
        self.path(actor, id).await
    }

    /// activate (every stage's environment must exist and not be decommissioned), return to draft, retire.
    /// The environments of a path's stages that exist.
    pub(crate) async fn stage_environments(&self, path: &DeploymentPath) -> ServiceResult<Vec<Environment>> {
        let mut environments = Vec::new();
        for stage in &path.stages {
            if let Some(e) = self.find::<Environment>(&stage.environment).await? {
                environments.push(e.value);
            }
        }
        Ok(environments)
    }

    pub async fn path_action(&self, actor: &Actor, id: &str, action: PathAction) -> ServiceResult<PathView> {
        self.authorize(actor, Operation::ManageEnvironments)?;
        self.retrying(None, move || async move {
            let mut s: Stored<DeploymentPath> = self.load(id).await?;
            let unusable = if action == PathAction::Activate {
                let environments = self.stage_environments(&s.value).await?;
                s.value.unusable_stages(&environments)
            } else {
                Vec::new()
            };
            let change = s.value.apply(action, &unusable)?;
            let mut tx = Tx::new(actor, self.now());
            tx.update(&s)?;
            tx.record([change]);
            self.commit(tx).await
        })
        .await?;
        self.path(actor, id).await
    }
}
