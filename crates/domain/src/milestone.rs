use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MilestoneState {
    Open,
    Completed,
    Missed,
}

impl MilestoneState {
    pub fn as_str(self) -> &'static str {
        match self {
            MilestoneState::Open => "open",
            MilestoneState::Completed => "completed",
            MilestoneState::Missed => "missed",
        }
    }
}

/// A dated checkpoint of a train (or, later, of an application release).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Milestone {
    /// "MS-4"
    pub id: String,
    pub title: String,
    pub due: NaiveDate,
    #[serde(default)]
    pub owner: Option<String>,
    pub state: MilestoneState,
    /// On train milestones: copied into every accepted application release when construction starts.
    #[serde(default)]
    pub inherit: bool,
    /// On inherited copies: the train milestone this was copied from.
    #[serde(default)]
    pub inherited_from: Option<String>,
    #[serde(default)]
    pub decided_by: Option<String>,
    #[serde(default)]
    pub decided_at: Option<DateTime<Utc>>,
}

impl Milestone {
    /// Overdue is derived: still open after its due date.
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        self.state == MilestoneState::Open && self.due < today
    }
}
