//! Railyard's domain: the objects of a release, their lifecycles and the rules (R1–R17) that guard them.
//!
//! Everything here is a pure function of `(state, action, actor, now)`: it returns the new state and the
//! [`Change`]s to record, or a [`DomainError`] that names every unmet guard. Nothing here reads a clock,
//! touches a database or spawns anything; the service layer does that around these functions.

pub mod access;
pub mod action;
pub mod application;
pub mod approval;
pub mod available;
mod change;
pub mod deployment;
pub mod environment;
mod error;
pub mod gate;
pub mod graph;
pub mod holds;
pub mod inventory;
pub mod limits;
pub mod line;
pub mod milestone;
pub mod path;
pub mod placeholder;
pub mod policy;
pub mod recovery;
pub mod release;
pub mod runbook;
pub mod runner;
pub mod schedule;
pub mod secret;
pub mod train;
pub mod turnover;
pub mod variable;
pub mod verification;
pub mod work_item;

pub use access::{Actor, Operation, Role};
pub use application::{Application, ApplicationPatch, ApplicationSpec};
pub use approval::{Approval, ApprovalKind, ApprovalState, Decision, Verdict};
pub use available::{AvailableAction, ReleaseFacts, TokenFacts, global_actions, token_revocable, user_actions};
pub use change::Change;
pub use deployment::{
    Deployment, DeploymentState, EarlyStart, Lease, MAX_WINDOW_MINUTES, RunProcess, RunResult, RunState, RunStatus,
    ScheduleTarget, TaskRun, Trigger, Validation, check_schedule_time,
};
pub use environment::{
    CalendarEvent, Environment, EnvironmentAction, EnvironmentKind, EnvironmentPatch, EnvironmentSpec,
    EnvironmentState, EventKind, EventSpec,
};
pub use error::{DomainError, FieldError, Guard, Refusal};
pub use gate::{CriterionState, Evidence, ExitCriterion, Gate, GateName, Gates};
pub use graph::{Conflict, Dated, DependencyGraph};
pub use inventory::{ArtifactVersion, Column, Placement};
pub use line::Line;
pub use milestone::{Milestone, MilestoneState};
pub use path::{DeploymentPath, PathAction, PathPatch, PathSpec, PathState, Stage};
pub use policy::{ApprovalPolicies, ApprovalPolicy, PolicyLevel};
pub use release::{
    ApplicationRelease, Criticality, Dependent, Membership, MembershipState, ReleaseAction, ReleasePatch,
    ReleaseSchedule, ReleaseSpec, ReleaseState,
};
pub use runbook::{Runbook, RunbookAction, RunbookSpec, RunbookState};
pub use runner::{ClaimState, RunClaim, Runner, RunnerPresence, RunnerSpec, RunnerState};
pub use schedule::Schedule;
pub use secret::{Sealed, Secret, SecretPatch, SecretSpec, SecretValue};
pub use train::{
    CriterionPatch, CriterionSpec, MilestonePatch, MilestoneSpec, ReleaseType, Train, TrainAction, TrainPatch,
    TrainSpec, TrainState,
};
pub use turnover::{
    Artifact, NextStage, ProductionSpec, ProposedOrder, ReorderEntry, Task, TaskPatch, TaskSpec, Turnover,
    TurnoverFacts, TurnoverKind, TurnoverPatch, TurnoverSpec, TurnoverState, default_tiers, goes_to_production,
    takes_production,
};
pub use variable::{Scope, Variable, VariablePatch, VariableSpec};
pub use verification::Verification;
pub use work_item::{WorkItem, WorkItemKind, WorkItemSpec, WorkItemStatus};

/// The actor the engine and other automatic steps act as.
pub const SYSTEM_ACTOR: &str = "system";
