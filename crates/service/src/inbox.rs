//! The inbox: what waits for the user now — approvals to decide, and the open exit criteria and
//! milestones they own. (Manual task runs join it with the engine.)

use chrono::NaiveDate;
use railyard_domain::{
    Actor, CriterionState, GateName, Milestone, MilestoneState, Operation, ReleaseState, Train, TrainState,
};
use railyard_store::ListQuery;
use serde::Serialize;
use utoipa::ToSchema;

use crate::{ApprovalFilter, ApprovalView, Service, ServiceResult};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InboxCriterion {
    pub train_id: String,
    pub train_title: String,
    pub gate: GateName,
    pub id: String,
    pub title: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InboxMilestone {
    /// `train` or `application_release`.
    pub owner_kind: String,
    pub owner_id: String,
    pub owner_title: String,
    pub id: String,
    pub title: String,
    pub due: NaiveDate,
    pub overdue: bool,
    /// Who owns the milestone, when someone does.
    pub owner: Option<String>,
}

impl InboxMilestone {
    /// Milestone `m` of the train or application release (`owner_kind`) `owner_id`, titled `owner_title`.
    fn of(owner_kind: &str, owner_id: &str, owner_title: &str, m: &Milestone, today: NaiveDate) -> InboxMilestone {
        InboxMilestone {
            owner_kind: owner_kind.into(),
            owner_id: owner_id.into(),
            owner_title: owner_title.into(),
            id: m.id.clone(),
            title: m.title.clone(),
            due: m.due,
            overdue: m.is_overdue(today),
            owner: m.owner.clone(),
        }
    }
}

/// A manual task run waiting for its owner (R15).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InboxRun {
    pub deployment: String,
    pub run: String,
    pub title: String,
    pub turnover: String,
    pub environment: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Inbox {
    /// Manual task runs waiting for me: complete them with `POST /deployments/{id}/runs/{run}/complete`.
    pub manual_runs: Vec<InboxRun>,
    /// Approvals waiting for my decision now (I am listed at their current level and did not request them).
    pub approvals: Vec<ApprovalView>,
    /// Open exit criteria I own, on gates still open.
    pub criteria: Vec<InboxCriterion>,
    /// Open milestones I own, soonest first.
    pub milestones: Vec<InboxMilestone>,
}

const OPEN_TRAINS: [TrainState; 7] = [
    TrainState::Draft,
    TrainState::AwaitingTrainApproval,
    TrainState::Scoping,
    TrainState::Construction,
    TrainState::Verification,
    TrainState::AwaitingExecutiveApproval,
    TrainState::Deployment,
];

impl Service {
    /// Every overdue milestone (open, due before today) of the open trains and of the open application
    /// releases, oldest first.
    pub async fn overdue_milestones(&self, actor: &Actor) -> ServiceResult<Vec<InboxMilestone>> {
        self.authorize(actor, Operation::Read)?;
        let today = self.now().date_naive();
        let mut q = ListQuery::new("train", crate::MAX_PAGE);
        q.states = OPEN_TRAINS.iter().map(|s| s.as_str().to_string()).collect();
        let trains = self.list_all::<Train>(q).await?;
        let mut overdue = Vec::new();
        for t in trains.iter().map(|s| &s.value) {
            for m in t.milestones.iter().filter(|m| m.is_overdue(today)) {
                overdue.push(InboxMilestone::of("train", &t.id, &t.title, m, today));
            }
        }
        let releases = self.all_releases().await?;
        for r in releases.iter().filter(|r| r.state.is_open() && r.state != ReleaseState::Released) {
            for m in r.milestones.iter().filter(|m| m.is_overdue(today)) {
                overdue.push(InboxMilestone::of("application_release", &r.id, &r.title, m, today));
            }
        }
        overdue.sort_by(|a, b| a.due.cmp(&b.due).then_with(|| a.owner_id.cmp(&b.owner_id)));
        Ok(overdue)
    }

    pub async fn inbox(&self, actor: &Actor) -> ServiceResult<Inbox> {
        self.authorize(actor, Operation::Read)?;
        let today = self.now().date_naive();
        let filter = ApprovalFilter { mine: true, limit: Some(crate::MAX_PAGE), ..Default::default() };
        let approvals = self.approvals(actor, filter).await?.items;

        let mut q = ListQuery::new("train", crate::MAX_PAGE);
        q.states = OPEN_TRAINS.iter().map(|s| s.as_str().to_string()).collect();
        let trains = self.list_all::<Train>(q).await?;
        let mut criteria = Vec::new();
        let mut milestones = Vec::new();
        for t in trains.iter().map(|s| &s.value) {
            for gate in GateName::ALL.into_iter().filter(|g| t.gate_editable(*g)) {
                for c in t.gates.get(gate).criteria.iter() {
                    if c.state == CriterionState::Open && c.owner.as_deref() == Some(actor.name.as_str()) {
                        criteria.push(InboxCriterion {
                            train_id: t.id.clone(),
                            train_title: t.title.clone(),
                            gate,
                            id: c.id.clone(),
                            title: c.title.clone(),
                        });
                    }
                }
            }
            for m in t
                .milestones
                .iter()
                .filter(|m| m.state == MilestoneState::Open && m.owner.as_deref() == Some(actor.name.as_str()))
            {
                milestones.push(InboxMilestone::of("train", &t.id, &t.title, m, today));
            }
        }
        let releases = self.all_releases().await?;
        for r in releases.iter().filter(|r| r.state.is_open() && r.state != ReleaseState::Released) {
            for m in r
                .milestones
                .iter()
                .filter(|m| m.state == MilestoneState::Open && m.owner.as_deref() == Some(actor.name.as_str()))
            {
                milestones.push(InboxMilestone::of("application_release", &r.id, &r.title, m, today));
            }
        }
        milestones.sort_by(|a, b| a.due.cmp(&b.due).then_with(|| a.owner_id.cmp(&b.owner_id)));
        let mut q = ListQuery::new("deployment", crate::MAX_PAGE);
        q.states = vec![railyard_domain::DeploymentState::Running.as_str().into()];
        let mut manual_runs = Vec::new();
        for d in self.list_all::<railyard_domain::Deployment>(q).await? {
            let d = d.value;
            for r in d.runs.iter().filter(|r| {
                r.state == railyard_domain::RunState::WaitingForOwner && r.owner.as_deref() == Some(actor.name.as_str())
            }) {
                manual_runs.push(InboxRun {
                    deployment: d.id.clone(),
                    run: r.id.clone(),
                    title: r.title.clone(),
                    turnover: d.turnover_id.clone(),
                    environment: d.environment.clone(),
                });
            }
        }
        Ok(Inbox { manual_runs, approvals, criteria, milestones })
    }
}
