//! A train's timeline, in one response a chart can draw: its stages with planned and actual dates, its
//! gates, its milestones, and each application release's planned and actual bar with its dependencies
//! (the seed: "status is monitored through the release train and application release timelines").

use chrono::{DateTime, NaiveDate, Utc};
use railyard_domain::{Actor, GateName, MilestoneState, Operation, ReleaseState, Train, TrainState};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{Service, ServiceResult};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StageBar {
    /// scoping, construction, verification or deployment.
    pub stage: TrainState,
    pub planned_start: NaiveDate,
    pub planned_end: NaiveDate,
    /// When the train first entered the stage.
    pub actual_start: Option<DateTime<Utc>>,
    /// When it last left it (none while it is in it, or never reached it).
    pub actual_end: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GateMark {
    pub gate: GateName,
    /// The stage's planned end.
    pub planned: NaiveDate,
    /// When the train last passed it (left its stage forward).
    pub passed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MilestoneMark {
    pub id: String,
    pub title: String,
    pub due: NaiveDate,
    pub state: MilestoneState,
    pub overdue: bool,
    pub decided_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReleaseBar {
    pub id: String,
    pub title: String,
    pub application: String,
    pub state: ReleaseState,
    pub planned_start: NaiveDate,
    pub planned_end: NaiveDate,
    /// When work began.
    pub actual_start: Option<DateTime<Utc>>,
    /// When development was approved (it entered verification), last time.
    pub actual_end: Option<DateTime<Utc>>,
    /// Its dependencies among the train's releases (arrows on a chart).
    pub depends_on: Vec<String>,
    pub milestones: Vec<MilestoneMark>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Timeline {
    pub train_id: String,
    pub title: String,
    pub state: TrainState,
    pub today: NaiveDate,
    pub stages: Vec<StageBar>,
    pub gates: Vec<GateMark>,
    pub milestones: Vec<MilestoneMark>,
    pub releases: Vec<ReleaseBar>,
}

fn entered(t: &Train, stage: TrainState) -> Option<DateTime<Utc>> {
    t.history.iter().find(|h| h.to == stage).map(|h| h.at)
}

fn left(t: &Train, stage: TrainState) -> Option<DateTime<Utc>> {
    if t.state == stage {
        return None;
    }
    t.history.iter().rev().find(|h| h.from == stage).map(|h| h.at)
}

fn marks(list: &[railyard_domain::Milestone], today: NaiveDate) -> Vec<MilestoneMark> {
    list.iter()
        .map(|m| MilestoneMark {
            id: m.id.clone(),
            title: m.title.clone(),
            due: m.due,
            state: m.state,
            overdue: m.is_overdue(today),
            decided_at: m.decided_at,
        })
        .collect()
}

impl Service {
    pub async fn timeline(&self, actor: &Actor, train_id: &str) -> ServiceResult<Timeline> {
        self.authorize(actor, Operation::Read)?;
        let t = self.load::<Train>(train_id).await?.value;
        let today = self.now().date_naive();
        let s = &t.schedule;
        let plan = [
            (TrainState::Scoping, s.start, s.scoping_end),
            (TrainState::Construction, s.scoping_end, s.construction_end),
            (TrainState::Verification, s.construction_end, s.verification_end),
            (TrainState::Deployment, s.verification_end, s.production_date),
        ];
        let stages = plan
            .iter()
            .map(|(stage, from, to)| StageBar {
                stage: *stage,
                planned_start: *from,
                planned_end: *to,
                actual_start: entered(&t, *stage),
                actual_end: left(&t, *stage),
            })
            .collect();
        let gates = [
            (GateName::Scoping, TrainState::Scoping, s.scoping_end),
            (GateName::Construction, TrainState::Construction, s.construction_end),
            (GateName::Verification, TrainState::Verification, s.verification_end),
        ]
        .into_iter()
        .map(|(gate, stage, planned)| GateMark {
            gate,
            planned,
            passed_at: t.history.iter().rev().find(|h| h.from == stage && h.to > stage && h.to.is_open()).map(|h| h.at),
        })
        .collect();
        let members = self.members_of(train_id).await?;
        let ids: Vec<String> = members.iter().map(|r| r.value.id.clone()).collect();
        let releases = members
            .iter()
            .map(|r| &r.value)
            .filter(|r| r.accepted_train() == Some(train_id))
            .map(|r| ReleaseBar {
                id: r.id.clone(),
                title: r.title.clone(),
                application: r.application.clone(),
                state: r.state,
                planned_start: r.schedule.start,
                planned_end: r.schedule.end,
                actual_start: r.history.iter().find(|h| h.action == "begin_work").map(|h| h.at),
                actual_end: r.history.iter().rev().find(|h| h.to == ReleaseState::Verification).map(|h| h.at),
                depends_on: r.dependencies.iter().filter(|d| ids.contains(d)).cloned().collect(),
                milestones: marks(&r.milestones, today),
            })
            .collect();
        Ok(Timeline {
            train_id: t.id.clone(),
            title: t.title.clone(),
            state: t.state,
            today,
            stages,
            gates,
            milestones: marks(&t.milestones, today),
            releases,
        })
    }
}
