//! Stage gates and their exit criteria.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::approval::ApprovalRef;
use crate::{ApprovalState, Guard};

/// The exits of the three train stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GateName {
    Scoping,
    Construction,
    Verification,
}

impl GateName {
    pub const ALL: [GateName; 3] = [GateName::Scoping, GateName::Construction, GateName::Verification];
    pub fn as_str(self) -> &'static str {
        match self {
            GateName::Scoping => "scoping",
            GateName::Construction => "construction",
            GateName::Verification => "verification",
        }
    }
}

impl fmt::Display for GateName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for GateName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        GateName::ALL
            .into_iter()
            .find(|g| g.as_str() == s)
            .ok_or_else(|| format!("unknown gate '{s}'; gates are scoping, construction, verification"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CriterionState {
    Open,
    Met,
    Waived,
}

impl CriterionState {
    pub fn as_str(self) -> &'static str {
        match self {
            CriterionState::Open => "open",
            CriterionState::Met => "met",
            CriterionState::Waived => "waived",
        }
    }
}

/// What shows that a criterion is met.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    pub note: String,
    #[serde(default)]
    pub link: Option<String>,
}

/// A checklist item of a gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ExitCriterion {
    /// "EC-12"
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub environment: Option<String>,
    pub state: CriterionState,
    #[serde(default)]
    pub evidence: Option<Evidence>,
    #[serde(default)]
    pub waive_reason: Option<String>,
    #[serde(default)]
    pub decided_by: Option<String>,
    #[serde(default)]
    pub decided_at: Option<DateTime<Utc>>,
}

impl ExitCriterion {
    pub fn new(id: String, title: String, owner: Option<String>, environment: Option<String>) -> Self {
        ExitCriterion {
            id,
            title,
            owner,
            environment,
            state: CriterionState::Open,
            evidence: None,
            waive_reason: None,
            decided_by: None,
            decided_at: None,
        }
    }

    pub fn is_done(&self) -> bool {
        self.state != CriterionState::Open
    }

    /// A fresh, open copy under a new id (for copying trains: criteria, not their decisions).
    pub fn fresh_copy(&self, id: String) -> Self {
        ExitCriterion::new(id, self.title.clone(), self.owner.clone(), self.environment.clone())
    }
}

/// The exit of one stage.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Gate {
    /// Whether passing the gate needs a gate approval (under the train's `gate` policy).
    #[serde(default)]
    pub approval_required: bool,
    #[serde(default)]
    pub criteria: Vec<ExitCriterion>,
    /// The gate's latest approval, if one was requested.
    #[serde(default)]
    pub approval: Option<ApprovalRef>,
}

impl Gate {
    /// The guards that keep this gate from being passed: one per open criterion, one for the approval.
    pub fn unmet(&self, name: GateName) -> Vec<Guard> {
        let mut out = Vec::new();
        for c in self.criteria.iter().filter(|c| !c.is_done()) {
            let owner = c.owner.as_deref().map(|o| format!("; owner: {o}")).unwrap_or_default();
            out.push(Guard::new(
                "criterion_open",
                format!("exit criterion {} '{}' of the {name} gate is open{owner}", c.id, c.title),
            ));
        }
        if self.approval_required {
            match &self.approval {
                None => out.push(Guard::new(
                    "gate_approval_missing",
                    format!("the {name} gate requires approval and none has been requested"),
                )),
                Some(a) if !a.state.is_granted() => out.push(Guard::new(
                    "gate_approval_not_granted",
                    format!("the {name} gate requires approval and approval {} is {}", a.id, a.state),
                )),
                Some(_) => {}
            }
        }
        out
    }

    pub fn passed(&self) -> bool {
        self.criteria.iter().all(ExitCriterion::is_done)
            && (!self.approval_required || self.approval.as_ref().is_some_and(|a| a.state.is_granted()))
    }

    pub fn criterion_mut(&mut self, id: &str) -> Option<&mut ExitCriterion> {
        self.criteria.iter_mut().find(|c| c.id == id)
    }

    pub fn has_pending_approval(&self) -> bool {
        self.approval.as_ref().is_some_and(|a| a.state == ApprovalState::Pending)
    }
}

/// The three gates of a train.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Gates {
    #[serde(default)]
    pub scoping: Gate,
    #[serde(default)]
    pub construction: Gate,
    #[serde(default)]
    pub verification: Gate,
}

impl Gates {
    pub fn get(&self, name: GateName) -> &Gate {
        match name {
            GateName::Scoping => &self.scoping,
            GateName::Construction => &self.construction,
            GateName::Verification => &self.verification,
        }
    }
    pub fn get_mut(&mut self, name: GateName) -> &mut Gate {
        match name {
            GateName::Scoping => &mut self.scoping,
            GateName::Construction => &mut self.construction,
            GateName::Verification => &mut self.verification,
        }
    }
    /// The gate holding a criterion, by the criterion's id.
    pub fn find_criterion(&self, id: &str) -> Option<(GateName, &ExitCriterion)> {
        GateName::ALL.into_iter().find_map(|g| self.get(g).criteria.iter().find(|c| c.id == id).map(|c| (g, c)))
    }
}
