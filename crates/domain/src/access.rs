//! Roles and the role matrix (DESIGN.md §4).
//!
//! The matrix says which roles may *attempt* an operation; the lifecycles then apply the finer rules
//! (an approver must be listed in the policy, only the train's manager overrides, a criterion's owner
//! may meet it, ...). Admins may do everything: they are the break-glass role and manage users.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    ReleaseManager,
    ReleaseEngineer,
    ProductOwner,
    Developer,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 6] =
        [Role::Admin, Role::ReleaseManager, Role::ReleaseEngineer, Role::ProductOwner, Role::Developer, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::ReleaseManager => "release_manager",
            Role::ReleaseEngineer => "release_engineer",
            Role::ProductOwner => "product_owner",
            Role::Developer => "developer",
            Role::Viewer => "viewer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
            format!("unknown role '{s}'; roles are {}", names.join(", "))
        })
    }
}

/// Who is acting: a user name and the roles they hold. The engine acts as [`crate::SYSTEM_ACTOR`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub name: String,
    pub roles: Vec<Role>,
}

impl Actor {
    pub fn new(name: &str, roles: &[Role]) -> Self {
        Actor { name: name.to_string(), roles: roles.to_vec() }
    }
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
    pub fn is_admin(&self) -> bool {
        self.has(Role::Admin)
    }
    pub fn may(&self, op: Operation) -> bool {
        self.is_admin() || op.roles().iter().any(|r| self.has(*r))
    }
}

/// Everything a user can attempt through the API, for the role matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// Read anything: trains, approvals, users, the audit log.
    Read,
    ManageUsers,
    /// Create and revoke one's own API tokens.
    ManageOwnTokens,
    CreateTrain,
    /// Edit a train's fields, schedule, policies, gates, exit criteria and milestones.
    EditTrain,
    /// submit, start_construction, start_verification, request_executive_approval, request gate approval.
    AdvanceTrain,
    CancelTrain,
    CloseTrain,
    /// Meet or reopen an exit criterion (non-managers only the criteria they own).
    MeetCriterion,
    WaiveCriterion,
    /// Complete or miss a milestone (non-managers only the milestones they own).
    CompleteMilestone,
    /// Approve or reject (only where listed in the policy).
    DecideApproval,
    /// Override an approval (only the train's manager, where the policy allows).
    OverrideApproval,
    /// Create, edit and archive applications.
    ManageApplications,
    /// Create and edit application releases, their dependencies and milestones, propose them to trains,
    /// take them off, and move them through their lifecycle (product owners: only their own).
    EditRelease,
    /// Accept or reject an application release proposed to a train.
    DecideMembership,
    /// Create, edit and import work items (product owners: only on their own releases).
    ManageWorkItems,
    /// Create and edit environments and deployment paths; take environments offline or online.
    ManageEnvironments,
    /// Add events to an environment's calendar (maintenance, blackouts, reservations for a train).
    PlanCalendar,
    /// Create turnovers and edit their tasks, artifacts and work items (developers: their own).
    EditTurnover,
    /// Start, retry, abandon and validate deployments; promote turnovers along their path.
    Deploy,
    /// Complete a manual task run (its owner, or a release engineer: R15).
    CompleteRun,
    /// Accept or reject a production-ready turnover delivered to release engineering.
    AcceptTurnover,
    /// Start a scheduled production deployment before its time (only the train's manager: R11).
    StartEarly,
    /// Halt every deployment that has not started, and resume.
    StopLine,
}

impl Operation {
    /// The roles (besides admin) that may attempt this operation.
    pub fn roles(self) -> &'static [Role] {
        use Role::*;
        match self {
            Operation::Read => &[ReleaseManager, ReleaseEngineer, ProductOwner, Developer, Viewer],
            Operation::ManageUsers => &[],
            Operation::ManageOwnTokens => &[ReleaseManager, ReleaseEngineer, ProductOwner, Developer, Viewer],
            Operation::CreateTrain
            | Operation::EditTrain
            | Operation::AdvanceTrain
            | Operation::CancelTrain
            | Operation::WaiveCriterion
            | Operation::OverrideApproval => &[ReleaseManager],
            Operation::CloseTrain => &[ReleaseManager, ReleaseEngineer],
            Operation::MeetCriterion | Operation::CompleteMilestone | Operation::DecideApproval => {
                &[ReleaseManager, ReleaseEngineer, ProductOwner, Developer]
            }
            Operation::ManageApplications | Operation::EditRelease | Operation::ManageWorkItems => {
                &[ReleaseManager, ProductOwner]
            }
            Operation::DecideMembership => &[ReleaseManager],
            Operation::ManageEnvironments => &[ReleaseEngineer],
            Operation::PlanCalendar => &[ReleaseEngineer, ReleaseManager],
            Operation::EditTurnover => &[ReleaseManager, ReleaseEngineer, Developer],
            Operation::Deploy => &[ReleaseEngineer],
            Operation::CompleteRun => &[ReleaseManager, ReleaseEngineer, ProductOwner, Developer],
            Operation::AcceptTurnover => &[ReleaseEngineer],
            Operation::StartEarly | Operation::StopLine => &[ReleaseManager],
        }
    }
}
