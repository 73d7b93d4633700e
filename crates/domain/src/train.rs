//! The release train and its lifecycle (DESIGN.md §2).

mod closing;
mod edit;
mod joining;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::approval::{ApprovalRef, ApprovalRequest};
use crate::error::Guards;
use crate::{
    Actor, Approval, ApprovalKind, ApprovalPolicies, ApprovalState, Change, DomainError, GateName, Gates, Milestone,
    Schedule,
};

pub use closing::closing_blockers;
pub use edit::{CriterionPatch, CriterionSpec, MilestonePatch, MilestoneSpec, TrainPatch, TrainSpec};
pub use joining::{eligible_approver, eligible_manager};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseType {
    Major,
    Minor,
    Patch,
    Emergency,
}

impl ReleaseType {
    pub const ALL: [ReleaseType; 4] =
        [ReleaseType::Major, ReleaseType::Minor, ReleaseType::Patch, ReleaseType::Emergency];
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseType::Major => "major",
            ReleaseType::Minor => "minor",
            ReleaseType::Patch => "patch",
            ReleaseType::Emergency => "emergency",
        }
    }
}

impl FromStr for ReleaseType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReleaseType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| format!("unknown release type '{s}'; types are major, minor, patch, emergency"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TrainState {
    Draft,
    AwaitingTrainApproval,
    Scoping,
    Construction,
    Verification,
    AwaitingExecutiveApproval,
    Deployment,
    Closed,
    Cancelled,
}

impl TrainState {
    pub const ALL: [TrainState; 9] = [
        TrainState::Draft,
        TrainState::AwaitingTrainApproval,
        TrainState::Scoping,
        TrainState::Construction,
        TrainState::Verification,
        TrainState::AwaitingExecutiveApproval,
        TrainState::Deployment,
        TrainState::Closed,
        TrainState::Cancelled,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            TrainState::Draft => "draft",
            TrainState::AwaitingTrainApproval => "awaiting_train_approval",
            TrainState::Scoping => "scoping",
            TrainState::Construction => "construction",
            TrainState::Verification => "verification",
            TrainState::AwaitingExecutiveApproval => "awaiting_executive_approval",
            TrainState::Deployment => "deployment",
            TrainState::Closed => "closed",
            TrainState::Cancelled => "cancelled",
        }
    }
    /// Not closed and not cancelled.
    pub fn is_open(self) -> bool {
        !matches!(self, TrainState::Closed | TrainState::Cancelled)
    }
    /// The stage whose gate is the given gate.
    pub fn of_gate(gate: GateName) -> TrainState {
        match gate {
            GateName::Scoping => TrainState::Scoping,
            GateName::Construction => TrainState::Construction,
            GateName::Verification => TrainState::Verification,
        }
    }
}

impl fmt::Display for TrainState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TrainState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TrainState::ALL.into_iter().find(|t| t.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = TrainState::ALL.iter().map(|t| t.as_str()).collect();
            format!("unknown train state '{s}'; states are {}", names.join(", "))
        })
    }
}

/// One step of a train's life: when it entered a state, by which action and whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Transition {
    pub from: TrainState,
    pub to: TrainState,
    pub action: String,
    pub at: DateTime<Utc>,
    pub by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Train {
    /// "RT-7"
    pub id: String,
    pub title: String,
    pub release_type: ReleaseType,
    #[serde(default)]
    pub purpose: String,
    /// The release manager (a user name).
    pub manager: String,
    #[serde(default)]
    pub engineers: Vec<String>,
    pub schedule: Schedule,
    #[serde(default)]
    pub approval_policies: ApprovalPolicies,
    #[serde(default)]
    pub gates: Gates,
    #[serde(default)]
    pub milestones: Vec<Milestone>,
    /// Environments reserved for this train (names for now).
    #[serde(default)]
    pub reserved_environments: Vec<String>,
    pub state: TrainState,
    #[serde(default)]
    pub train_approval: Option<ApprovalRef>,
    #[serde(default)]
    pub executive_approval: Option<ApprovalRef>,
    #[serde(default)]
    pub history: Vec<Transition>,
    #[serde(default)]
    pub copied_from: Option<String>,
    #[serde(default)]
    pub cancel_reason: Option<String>,
    pub created_by: String,
}

/// What a lifecycle action did besides changing the train.
#[derive(Debug, Default)]
pub struct Outcome {
    pub changes: Vec<Change>,
    /// An approval the action requested (to be stored with the train).
    pub new_approval: Option<Approval>,
}

/// The train lifecycle's actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrainAction {
    Submit,
    StartConstruction,
    StartVerification,
    RequestExecutiveApproval,
    Close,
    Cancel { reason: String },
}

impl TrainAction {
    pub fn name(&self) -> &'static str {
        match self {
            TrainAction::Submit => "submit",
            TrainAction::StartConstruction => "start_construction",
            TrainAction::StartVerification => "start_verification",
            TrainAction::RequestExecutiveApproval => "request_executive_approval",
            TrainAction::Close => "close",
            TrainAction::Cancel { .. } => "cancel",
        }
    }

    /// Whether the action requests a new approval of this train (so the caller allocates its id).
    pub fn requests_approval(&self, train: &Train) -> bool {
        match self {
            TrainAction::Submit => train.approval_policies.train.is_some(),
            TrainAction::RequestExecutiveApproval => true,
            _ => false,
        }
    }
}

/// What guards outside the train itself need to know (application releases, turnovers: later issues).
#[derive(Debug, Clone, Default)]
pub struct Surroundings {
    /// Accepted application releases not yet development-approved: (id, title).
    pub not_development_approved: Vec<(String, String)>,
    /// Accepted application releases not yet verified (R9): (id, title).
    pub not_verified: Vec<(String, String, String)>,
    /// Production-ready turnovers neither verified everywhere nor cancelled, and deployments running
    /// (R14): one line each, saying what is open.
    pub open_turnovers: Vec<String>,
}

/// Refuses to request an approval nobody could ever grant.
pub(crate) fn check_decidable(g: &mut Guards, kind: &str, policy: Option<&crate::ApprovalPolicy>, requester: &str) {
    if let Some(why) = policy.and_then(|p| p.undecidable_by(requester)) {
        g.fail("approval_undecidable", format!("the {kind} approval could never be granted: {why}"));
    }
}

impl Train {
    pub fn describe(&self) -> String {
        format!("train {} '{}'", self.id, self.title)
    }

    fn transition(&mut self, to: TrainState, action: &str, actor: &str, now: DateTime<Utc>) -> Change {
        let from = self.state;
        self.history.push(Transition { from, to, action: action.to_string(), at: now, by: actor.to_string() });
        self.state = to;
        Change::new("train", &self.id, action, json!({"from": from, "to": to}))
    }

    /// Runs one lifecycle action. `approval_id` must be given when [`TrainAction::requests_approval`].
    pub fn apply(
        &mut self,
        action: &TrainAction,
        actor: &Actor,
        now: DateTime<Utc>,
        approval_id: Option<String>,
        around: &Surroundings,
    ) -> Result<Outcome, DomainError> {
        let name = action.name();
        let mut g = Guards::new(name, &self.describe(), self.state);
        let wrong_state =
            |expected: &str| format!("{} is {}; {name} is allowed only {expected}", self.describe(), self.state);
        match action {
            TrainAction::Submit => {
                g.check(self.state == TrainState::Draft, "wrong_state", || wrong_state("from draft"));
                self.check_executive_policy(&mut g);
                check_decidable(&mut g, "train", self.approval_policies.train.as_ref(), &actor.name);
            }
            TrainAction::StartConstruction => {
                g.check(self.state == TrainState::Scoping, "wrong_state", || wrong_state("from scoping"));
                for guard in self.gates.scoping.unmet(GateName::Scoping) {
                    g.fail(&guard.code, guard.message);
                }
            }
            TrainAction::StartVerification => {
                g.check(self.state == TrainState::Construction, "wrong_state", || wrong_state("from construction"));
                for guard in self.gates.construction.unmet(GateName::Construction) {
                    g.fail(&guard.code, guard.message);
                }
                for (id, title) in &around.not_development_approved {
                    g.fail(
                        "release_not_development_approved",
                        format!("application release {id} '{title}' is not development-approved"),
                    );
                }
            }
            TrainAction::RequestExecutiveApproval => {
                g.check(self.state == TrainState::Verification, "wrong_state", || wrong_state("from verification"));
                for guard in self.gates.verification.unmet(GateName::Verification) {
                    g.fail(&guard.code, guard.message);
                }
                for (id, title, why) in &around.not_verified {
                    g.fail(
                        "release_not_verified",
                        format!("application release {id} '{title}' is not verified: {why}"),
                    );
                }
                self.check_executive_policy(&mut g);
                check_decidable(&mut g, "executive", self.approval_policies.executive.as_ref(), &actor.name);
            }
            TrainAction::Close => {
                g.check(self.state == TrainState::Deployment, "wrong_state", || wrong_state("from deployment"));
                let rule = crate::access::rules::TRAIN_CLOSER;
                g.deny(rule.allows(actor, Some(&self.manager)), rule.code, || {
                    format!("only the train's manager ({}) or a release engineer may close it", self.manager)
                });
                for t in &around.open_turnovers {
                    g.fail("turnover_open", format!("{t}; a train closes once every production-ready turnover of it is verified or cancelled and no deployment of it runs"));
                }
            }
            TrainAction::Cancel { reason } => {
                g.check(self.state.is_open(), "wrong_state", || {
                    format!("{} is already {}", self.describe(), self.state)
                });
                if reason.trim().is_empty() {
                    return Err(DomainError::invalid("reason", "cancelling a train needs a reason"));
                }
            }
        }
        g.done()?;

        let mut out = Outcome::default();
        match action {
            TrainAction::Submit if self.approval_policies.train.is_some() => {
                let (approval, change) = self.new_approval(ApprovalKind::Train, None, approval_id, actor, now)?;
                self.train_approval = Some(approval.as_ref());
                out.changes.push(self.transition(TrainState::AwaitingTrainApproval, name, &actor.name, now));
                out.changes.push(change);
                out.new_approval = Some(approval);
            }
            TrainAction::Submit => out.changes.push(self.transition(TrainState::Scoping, name, &actor.name, now)),
            TrainAction::StartConstruction => {
                out.changes.push(self.transition(TrainState::Construction, name, &actor.name, now))
            }
            TrainAction::StartVerification => {
                out.changes.push(self.transition(TrainState::Verification, name, &actor.name, now))
            }
            TrainAction::RequestExecutiveApproval => {
                let (approval, change) = self.new_approval(ApprovalKind::Executive, None, approval_id, actor, now)?;
                self.executive_approval = Some(approval.as_ref());
                out.changes.push(self.transition(TrainState::AwaitingExecutiveApproval, name, &actor.name, now));
                out.changes.push(change);
                out.new_approval = Some(approval);
            }
            TrainAction::Close => out.changes.push(self.transition(TrainState::Closed, name, &actor.name, now)),
            TrainAction::Cancel { reason } => {
                self.cancel_reason = Some(reason.trim().to_string());
                let mut change = self.transition(TrainState::Cancelled, name, &actor.name, now);
                change.data["reason"] = json!(reason.trim());
                out.changes.push(change);
            }
        }
        Ok(out)
    }

    /// A new approval of this train under its policy of that kind.
    fn new_approval(
        &self,
        kind: ApprovalKind,
        gate: Option<GateName>,
        id: Option<String>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(Approval, Change), DomainError> {
        let p = &self.approval_policies;
        let policy = match kind {
            ApprovalKind::Train => &p.train,
            ApprovalKind::Development => &p.development,
            ApprovalKind::Executive => &p.executive,
            ApprovalKind::Gate => &p.gate,
        };
        let (Some(policy), Some(id)) = (policy, id) else {
            let field = format!("approval_policies.{}", kind.as_str());
            return Err(DomainError::invalid(&field, "no such policy, or no id was allocated for its approval"));
        };
        Ok(Approval::request(ApprovalRequest {
            id,
            kind,
            train_id: &self.id,
            gate,
            subject_id: &self.id,
            policy,
            requested_by: &actor.name,
            now,
        }))
    }

    fn check_executive_policy(&self, g: &mut Guards) {
        g.check(self.approval_policies.executive.is_some(), "executive_policy_missing", || {
            "no executive approval policy is defined; every train needs one".to_string()
        });
    }

    /// Requests the approval of a gate that requires one, while the train is in that gate's stage.
    pub fn request_gate_approval(
        &mut self,
        gate: GateName,
        approval_id: String,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Outcome, DomainError> {
        let mut g = Guards::new("request_gate_approval", &self.describe(), self.state);
        let stage = TrainState::of_gate(gate);
        g.check(self.state == stage, "wrong_state", || {
            format!(
                "the {gate} gate's approval can be requested only while the train is in {stage}; it is {}",
                self.state
            )
        });
        let the_gate = self.gates.get(gate);
        g.check(the_gate.approval_required, "gate_approval_not_required", || {
            format!("the {gate} gate does not require approval")
        });
        if let Some(a) = &the_gate.approval {
            g.check(!matches!(a.state, ApprovalState::Pending), "gate_approval_pending", || {
                format!("approval {} of the {gate} gate is already pending", a.id)
            });
            g.check(!a.state.is_granted(), "gate_approval_granted", || {
                format!("approval {} of the {gate} gate is already {}", a.id, a.state)
            });
        }
        g.check(self.approval_policies.gate.is_some(), "gate_policy_missing", || {
            "the train has no gate approval policy; define approval_policies.gate first".to_string()
        });
        check_decidable(&mut g, "gate", self.approval_policies.gate.as_ref(), &actor.name);
        g.done()?;
        let (approval, change) = self.new_approval(ApprovalKind::Gate, Some(gate), Some(approval_id), actor, now)?;
        self.gates.get_mut(gate).approval = Some(approval.as_ref());
        Ok(Outcome {
            changes: vec![
                Change::new(
                    "train",
                    &self.id,
                    "request_gate_approval",
                    json!({"gate": gate, "approval_id": approval.id}),
                ),
                change,
            ],
            new_approval: Some(approval),
        })
    }

    /// Reacts to a decided approval of this train: mirrors its state and moves the train where it says.
    pub fn on_approval_decided(&mut self, approval: &Approval, now: DateTime<Utc>) -> Vec<Change> {
        let by = approval
            .overridden_by
            .clone()
            .or_else(|| approval.decisions.last().map(|d| d.user.clone()))
            .unwrap_or_default();
        let mut changes = Vec::new();
        match approval.kind {
            ApprovalKind::Train => {
                self.train_approval = Some(approval.as_ref());
                if self.state == TrainState::AwaitingTrainApproval {
                    if approval.state.is_granted() {
                        changes.push(self.transition(TrainState::Scoping, "train_approved", &by, now));
                    } else if approval.state == ApprovalState::Rejected {
                        changes.push(self.transition(TrainState::Draft, "train_rejected", &by, now));
                    }
                }
            }
            ApprovalKind::Executive => {
                self.executive_approval = Some(approval.as_ref());
                if self.state == TrainState::AwaitingExecutiveApproval {
                    if approval.state.is_granted() {
                        changes.push(self.transition(TrainState::Deployment, "executive_approved", &by, now));
                    } else if approval.state == ApprovalState::Rejected {
                        let to = approval.return_to.unwrap_or(TrainState::Verification);
                        changes.push(self.transition(to, "executive_rejected", &by, now));
                    }
                }
            }
            ApprovalKind::Gate => {
                if let Some(gate) = approval.gate {
                    let g = self.gates.get_mut(gate);
                    if g.approval.as_ref().is_some_and(|a| a.id == approval.id) {
                        g.approval = Some(approval.as_ref());
                        changes.push(Change::new(
                            "train",
                            &self.id,
                            "gate_approval_decided",
                            json!({"gate": gate, "approval_id": approval.id, "state": approval.state}),
                        ));
                    }
                }
            }
            ApprovalKind::Development => {}
        }
        changes
    }

    /// R10: an application release sent back to construction takes its train back to construction when
    /// the train was past it.
    pub fn return_to_construction(&mut self, release_id: &str, actor: &str, now: DateTime<Utc>) -> Option<Change> {
        // A train in deployment is past validation: sending a release back then is refused (see
        // `ApplicationRelease::apply`), so only verification and executive approval return here.
        if !matches!(self.state, TrainState::Verification | TrainState::AwaitingExecutiveApproval) {
            return None;
        }
        let mut c = self.transition(TrainState::Construction, "release_sent_back", actor, now);
        c.data["release_id"] = json!(release_id);
        Some(c)
    }

    /// The gates' guards: every gate of a stage the train has left must be passed.
    pub fn gate_passed(&self, gate: GateName) -> bool {
        self.gates.get(gate).passed()
    }

    /// Whether a gate's criteria and approval flag may still change: the train has not left its stage.
    pub fn gate_editable(&self, gate: GateName) -> bool {
        self.state.is_open() && self.state <= TrainState::of_gate(gate)
    }
}
