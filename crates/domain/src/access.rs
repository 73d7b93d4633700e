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

/// The guard a role refusal names (`role_required`): which roles the operation needs and which the actor
/// holds. The service refuses with it before it loads anything; the list of available actions shows it.
pub fn role_guard(actor: &Actor, op: Operation) -> Option<crate::Guard> {
    if actor.may(op) {
        return None;
    }
    let mut allowed: Vec<&str> = op.roles().iter().map(|r| r.as_str()).collect();
    allowed.push("admin");
    let held: Vec<&str> = actor.roles.iter().map(|r| r.as_str()).collect();
    Some(crate::Guard::new(
        ROLE_REQUIRED,
        format!(
            "{} may not do this: it needs one of the roles {}, and they hold {}",
            actor.name,
            allowed.join(", "),
            if held.is_empty() { "none".to_string() } else { held.join(", ") }
        ),
    ))
}

/// The code of [`role_guard`].
pub const ROLE_REQUIRED: &str = "role_required";

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
    /// Create, change and delete variables (global and environment ones: release engineers; an
    /// application's: its owner too, see [`crate::variable::may_manage`]).
    ManageVariables,
    /// Register and revoke runners (admins and release engineers).
    ManageRunners,
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
            Operation::ManageVariables => &[ReleaseEngineer, ProductOwner],
            Operation::ManageRunners => &[ReleaseEngineer],
        }
    }
}

/// # Who may act on whose object
///
/// The role matrix ([`Operation::roles`]) says which roles may attempt an operation at all. Many objects
/// also belong to one person, and then the role is not enough: the action is that person's, or it
/// needs a role that reaches other people's objects. These are those rules, one [`ObjectRule`] each:
///
/// | object | belongs to | actions held to it | who else may |
/// |---|---|---|---|
/// | train | its manager | hand it to another manager, override an approval (R3), start a production deployment early (R11) | admin (not for R3, R11) |
/// | train | its manager | close | release engineers, admin |
/// | exit criterion | its owner | meet, reopen | release managers, release engineers, admin |
/// | train milestone | its owner | complete, miss | release managers, admin |
/// | application release | its product owner | edit, propose, take off a train, its lifecycle, dependencies, milestones, work items | release managers, admin |
/// | release milestone | its owner | complete, miss | the release's product owner, release managers, admin |
/// | application release, new or edited | the product owner it names | naming someone else | release managers, admin |
/// | turnover | its developer | edit, tasks, artifacts, work items, runbooks copied in, cancel, deliver | release engineers, release managers, admin |
/// | turnover, new or edited | the developer it names | naming someone else | release engineers, release managers, admin |
/// | runbook | its author | submit for review, deactivate | release engineers, release managers, admin |
/// | runbook | (review) | accept, reject | release engineers, release managers, admin; never its author |
/// | manual task run | its owner | complete (done or failed) | release engineers, admin (R15) |
/// | API token | its user | list, revoke | admin |
/// | application's variables | the application's owner | create, change, delete | release engineers, admin |
///
/// Shared by role, with no one person they belong to: applications (any product owner or release
/// manager keeps the register), environments, deployment paths and deployments (any release
/// engineer), calendar events (release engineers and managers), a train's fields, gates and criteria
/// (any release manager: trains are planned together; only handing one over is its manager's), and
/// approvals (whoever the policy lists, R2).
///
/// A refusal by these rules is `403 forbidden` with a guard naming who may ([`crate::DomainError::NotAllowed`]),
/// listed with every other unmet guard of the action. A refusal by lifecycle rules alone is `409`: the
/// state, or segregation of duties (one's own request, turnover or runbook is decided by someone else),
/// which binds even those who may act on the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectRule {
    /// The guard code of a refusal.
    pub code: &'static str,
    /// What the person the object belongs to is called ("developer", "product owner", ...).
    pub holder: &'static str,
    /// The roles (besides admin, unless `admin` is false) that act on objects that are not theirs.
    pub over: &'static [Role],
    /// Whether admins act on any such object (not where a rule names the one person, R3 and R11).
    pub admin: bool,
}

impl ObjectRule {
    /// Whether `actor` may act on an object that belongs to `holder` (`None`: to nobody).
    pub fn allows(&self, actor: &Actor, holder: Option<&str>) -> bool {
        holder == Some(actor.name.as_str())
            || (self.admin && actor.is_admin())
            || self.over.iter().any(|r| actor.has(*r))
    }

    /// Who may, in words: "dan (its developer), a release engineer or a release manager".
    pub fn who(&self, holder: Option<&str>) -> String {
        let mut who: Vec<String> = Vec::new();
        match holder {
            Some(h) => who.push(format!("{h} (its {})", self.holder)),
            None => who.push(format!("its {} (it has none)", self.holder)),
        }
        who.extend(self.over.iter().map(|r| format!("a {}", r.as_str().replace('_', " "))));
        if self.admin {
            who.push("an admin".into());
        }
        match who.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => who.join(""),
        }
    }
}

/// The object-level rules of the table above.
pub mod rules {
    use super::ObjectRule;
    use super::Role::*;

    pub const TRAIN_MANAGER: ObjectRule =
        ObjectRule { code: "not_train_manager", holder: "manager", over: &[], admin: true };
    /// R3 and R11 name the one person: not even an admin stands in.
    pub const TRAIN_MANAGER_ONLY: ObjectRule =
        ObjectRule { code: "not_train_manager", holder: "manager", over: &[], admin: false };
    pub const TRAIN_CLOSER: ObjectRule =
        ObjectRule { code: "not_manager_or_engineer", holder: "manager", over: &[ReleaseEngineer], admin: true };
    pub const CRITERION_OWNER: ObjectRule =
        ObjectRule { code: "not_owner", holder: "owner", over: &[ReleaseManager, ReleaseEngineer], admin: true };
    pub const CRITERION_WAIVER: ObjectRule =
        ObjectRule { code: "not_owner", holder: "owner", over: &[ReleaseManager], admin: true };
    pub const MILESTONE_OWNER: ObjectRule =
        ObjectRule { code: "not_owner", holder: "owner", over: &[ReleaseManager], admin: true };
    pub const RELEASE_PRODUCT_OWNER: ObjectRule =
        ObjectRule { code: "not_product_owner", holder: "product owner", over: &[ReleaseManager], admin: true };
    pub const NAMES_PRODUCT_OWNER: ObjectRule = ObjectRule {
        code: "names_another_product_owner",
        holder: "product owner",
        over: &[ReleaseManager],
        admin: true,
    };
    pub const TURNOVER_DEVELOPER: ObjectRule = ObjectRule {
        code: "not_developer",
        holder: "developer",
        over: &[ReleaseEngineer, ReleaseManager],
        admin: true,
    };
    pub const NAMES_DEVELOPER: ObjectRule = ObjectRule {
        code: "names_another_developer",
        holder: "developer",
        over: &[ReleaseEngineer, ReleaseManager],
        admin: true,
    };
    pub const RUNBOOK_AUTHOR: ObjectRule = ObjectRule {
        code: "not_runbook_author",
        holder: "author",
        over: &[ReleaseEngineer, ReleaseManager],
        admin: true,
    };
    pub const RUNBOOK_REVIEWER: ObjectRule =
        ObjectRule { code: "not_reviewer", holder: "reviewer", over: &[ReleaseEngineer, ReleaseManager], admin: true };
    /// An application's variables (global and environment ones are release engineering's alone).
    pub const APPLICATION_OWNER: ObjectRule =
        ObjectRule { code: "not_application_owner", holder: "owner", over: &[ReleaseEngineer], admin: true };
    pub const RUN_OWNER: ObjectRule =
        ObjectRule { code: "not_run_owner", holder: "owner", over: &[ReleaseEngineer], admin: true };
}

#[cfg(test)]
mod tests {
    use super::rules::*;
    use super::*;

    #[test]
    fn a_denial_makes_the_refusal_not_allowed_and_keeps_every_unmet_guard() {
        use crate::DomainError;
        use crate::error::Guards;
        let codes = |r: &crate::Refusal| r.guards.iter().map(|g| g.code.clone()).collect::<Vec<_>>();
        let mut g = Guards::new("submit", "runbook RB-1", "draft");
        g.check(false, "no_tasks", || "it has no tasks".into());
        g.deny(false, "not_runbook_author", || "it is dan's".into());
        match g.done() {
            Err(DomainError::NotAllowed(r)) => assert_eq!(codes(&r), ["no_tasks", "not_runbook_author"]),
            other => panic!("a failed access rule is NotAllowed, got {other:?}"),
        }
        let mut g = Guards::new("submit", "runbook RB-1", "draft");
        g.check(false, "no_tasks", || "it has no tasks".into());
        g.deny(true, "not_runbook_author", || "it is dan's".into());
        match g.done() {
            Err(DomainError::Refused(r)) => assert_eq!(codes(&r), ["no_tasks"]),
            other => panic!("only lifecycle guards failed: Refused, got {other:?}"),
        }
    }

    #[test]
    fn the_holder_and_the_roles_over_it_may_act_and_no_one_else() {
        let dan = Actor::new("dan", &[Role::Developer]);
        let dora = Actor::new("dora", &[Role::Developer]);
        let erin = Actor::new("erin", &[Role::ReleaseEngineer]);
        let admin = Actor::new("root", &[Role::Admin]);
        assert!(TURNOVER_DEVELOPER.allows(&dan, Some("dan")));
        assert!(!TURNOVER_DEVELOPER.allows(&dora, Some("dan")), "another developer");
        assert!(TURNOVER_DEVELOPER.allows(&erin, Some("dan")));
        assert!(TURNOVER_DEVELOPER.allows(&admin, Some("dan")));
        assert!(!RUN_OWNER.allows(&dora, None), "a run without an owner is the engineers'");
        assert!(!TRAIN_MANAGER_ONLY.allows(&admin, Some("rita")), "R3 and R11 name the manager alone");
        assert_eq!(
            RUNBOOK_AUTHOR.who(Some("dan")),
            "dan (its author), a release engineer, a release manager or an admin"
        );
        assert_eq!(TRAIN_MANAGER_ONLY.who(Some("rita")), "rita (its manager)");
    }
}
