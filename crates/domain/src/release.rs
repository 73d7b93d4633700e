//! Application releases: one application's part of a train (DESIGN.md §1–2, R5, R10).

mod dependents;
mod lifecycle;
mod turnovers;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::access::rules;
use crate::approval::ApprovalRef;
use crate::error::{Fields, Guards};
use crate::milestone::Milestones;
use crate::{
    Actor, Application, Change, DomainError, FieldError, Milestone, MilestonePatch, MilestoneSpec, MilestoneState,
    ReleaseType, Role, Train,
};

pub use dependents::{Dependent, dependents_of, holds};
pub use lifecycle::{ReleaseAction, TRAINS_TAKING_RELEASES};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseState {
    Planning,
    Construction,
    AwaitingDevelopmentApproval,
    Verification,
    Released,
    Closed,
    Cancelled,
}

impl ReleaseState {
    pub const ALL: [ReleaseState; 7] = [
        ReleaseState::Planning,
        ReleaseState::Construction,
        ReleaseState::AwaitingDevelopmentApproval,
        ReleaseState::Verification,
        ReleaseState::Released,
        ReleaseState::Closed,
        ReleaseState::Cancelled,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseState::Planning => "planning",
            ReleaseState::Construction => "construction",
            ReleaseState::AwaitingDevelopmentApproval => "awaiting_development_approval",
            ReleaseState::Verification => "verification",
            ReleaseState::Released => "released",
            ReleaseState::Closed => "closed",
            ReleaseState::Cancelled => "cancelled",
        }
    }
    pub fn is_open(self) -> bool {
        !matches!(self, ReleaseState::Closed | ReleaseState::Cancelled)
    }
}

impl fmt::Display for ReleaseState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ReleaseState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReleaseState::ALL.into_iter().find(|t| t.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = ReleaseState::ALL.iter().map(|t| t.as_str()).collect();
            format!("unknown application release state '{s}'; states are {}", names.join(", "))
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum Criticality {
    Low,
    #[default]
    Medium,
    High,
    Critical,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MembershipState {
    Proposed,
    Accepted,
    Rejected,
    Removed,
}

impl MembershipState {
    pub fn as_str(self) -> &'static str {
        match self {
            MembershipState::Proposed => "proposed",
            MembershipState::Accepted => "accepted",
            MembershipState::Rejected => "rejected",
            MembershipState::Removed => "removed",
        }
    }
}

/// An application release's place on a train.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Membership {
    pub train_id: String,
    pub state: MembershipState,
    pub proposed_by: String,
    pub proposed_at: DateTime<Utc>,
    #[serde(default)]
    pub decided_by: Option<String>,
    #[serde(default)]
    pub decided_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub reason: Option<String>,
}

impl Membership {
    /// Proposed or accepted: the release rides (or is about to ride) the train.
    pub fn is_active(&self) -> bool {
        matches!(self.state, MembershipState::Proposed | MembershipState::Accepted)
    }
}

/// When an application release starts and ends; inside its train's window (R5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseSchedule {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl ReleaseSchedule {
    pub fn validate(&self) -> Result<(), DomainError> {
        let mut f = Fields::default();
        f.check(self.end >= self.start, "schedule.end", || {
            format!("end {} is before start {}; the end must be on or after the start", self.end, self.start)
        });
        f.done()
    }

    /// Each date outside the train's window, as a field error naming the date and the window.
    pub fn outside(&self, train: &Train) -> Vec<FieldError> {
        let (from, to) = (train.schedule.start, train.schedule.production_date);
        let mut out = Vec::new();
        for (field, date) in [("schedule.start", self.start), ("schedule.end", self.end)] {
            if date < from || date > to {
                out.push(FieldError::new(
                    field,
                    format!("{date} is outside train {}'s window {from} to {to}", train.id),
                ));
            }
        }
        out
    }
}

/// One step of an application release's life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReleaseTransition {
    pub from: ReleaseState,
    pub to: ReleaseState,
    pub action: String,
    pub at: DateTime<Utc>,
    pub by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApplicationRelease {
    /// "AR-12"
    pub id: String,
    pub title: String,
    /// The application's key.
    pub application: String,
    pub product_owner: String,
    pub release_type: ReleaseType,
    pub schedule: ReleaseSchedule,
    #[serde(default)]
    pub criticality: Criticality,
    /// Ids of the application releases this one depends on (of any train).
    #[serde(default)]
    pub dependencies: Vec<String>,
    /// Names of the deployment paths its turnovers may take.
    #[serde(default)]
    pub allowed_paths: Vec<String>,
    #[serde(default)]
    pub membership: Option<Membership>,
    pub state: ReleaseState,
    #[serde(default)]
    pub milestones: Vec<Milestone>,
    #[serde(default)]
    pub development_approval: Option<ApprovalRef>,
    #[serde(default)]
    pub history: Vec<ReleaseTransition>,
    #[serde(default)]
    pub cancel_reason: Option<String>,
    pub created_by: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseSpec {
    pub title: String,
    /// The application's key.
    pub application: String,
    /// Defaults to the creator.
    #[serde(default)]
    pub product_owner: Option<String>,
    /// Defaults to the train's release type, or `minor`.
    #[serde(default)]
    pub release_type: Option<ReleaseType>,
    pub schedule: ReleaseSchedule,
    #[serde(default)]
    pub criticality: Criticality,
    #[serde(default)]
    pub allowed_paths: Vec<String>,
    /// Put it on a train at once: accepted when a release manager creates it, proposed otherwise.
    #[serde(default)]
    pub train: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleasePatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_type: Option<ReleaseType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ReleaseSchedule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub criticality: Option<Criticality>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_paths: Option<Vec<String>>,
}

/// Release managers (and admins) decide train membership and act on any application release.
/// A product owner names only themselves as a release's product owner; a release manager names anyone
/// ([`rules::NAMES_PRODUCT_OWNER`]).
fn check_named_product_owner(g: &mut Guards, named: Option<&str>, actor: &Actor) {
    let rule = rules::NAMES_PRODUCT_OWNER;
    if let Some(named) = named {
        g.deny(rule.allows(actor, Some(named)), rule.code, || {
            format!("only a release manager or an admin names someone else ({named}) as a release's product owner")
        });
    }
}

pub(crate) fn is_manager(actor: &Actor) -> bool {
    actor.is_admin() || actor.has(Role::ReleaseManager)
}

impl ApplicationRelease {
    pub fn describe(&self) -> String {
        format!("application release {} '{}'", self.id, self.title)
    }

    /// The train it is accepted on, if any.
    pub fn accepted_train(&self) -> Option<&str> {
        self.membership.as_ref().filter(|m| m.state == MembershipState::Accepted).map(|m| m.train_id.as_str())
    }

    /// The train it is proposed to or accepted on, if any.
    pub fn active_train(&self) -> Option<&str> {
        self.membership.as_ref().filter(|m| m.is_active()).map(|m| m.train_id.as_str())
    }

    pub(crate) fn guards(&self, action: &str) -> Guards {
        Guards::new(action, &self.describe(), self.state)
    }

    /// Product owners act only on the application releases they own; managers on all
    /// ([`rules::RELEASE_PRODUCT_OWNER`]).
    pub(crate) fn check_owner(&self, g: &mut Guards, actor: &Actor) {
        let rule = rules::RELEASE_PRODUCT_OWNER;
        g.deny(rule.allows(actor, Some(&self.product_owner)), rule.code, || {
            format!(
                "{} belongs to product owner {}; only {} may change it",
                self.describe(),
                self.product_owner,
                rule.who(Some(&self.product_owner))
            )
        });
    }

    pub fn create(
        id: String,
        spec: ReleaseSpec,
        app: &Application,
        train: Option<&Train>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(ApplicationRelease, Vec<Change>), DomainError> {
        let mut f = Fields::default();
        f.check(!spec.title.trim().is_empty(), "title", || "must not be empty".into());
        app.check_takes_releases(&mut f);
        if let Err(DomainError::Invalid(mut e)) = spec.schedule.validate() {
            f.0.append(&mut e);
        }
        if let Some(t) = train {
            f.0.extend(spec.schedule.outside(t));
        }
        f.done()?;
        let mut g = Guards::new("create", &format!("a release of {}", app.key), "new");
        check_named_product_owner(&mut g, spec.product_owner.as_deref(), actor);
        g.done()?;
        let mut release = ApplicationRelease {
            id,
            title: spec.title.trim().to_string(),
            application: app.key.clone(),
            product_owner: spec.product_owner.unwrap_or_else(|| actor.name.clone()),
            release_type: spec.release_type.or(train.map(|t| t.release_type)).unwrap_or(ReleaseType::Minor),
            schedule: spec.schedule,
            criticality: spec.criticality,
            dependencies: Vec::new(),
            allowed_paths: spec.allowed_paths,
            membership: None,
            state: ReleaseState::Planning,
            milestones: Vec::new(),
            development_approval: None,
            history: Vec::new(),
            cancel_reason: None,
            created_by: actor.name.clone(),
        };
        let mut changes = vec![Change::new(
            "application_release",
            &release.id,
            "create",
            json!({"title": release.title, "application": release.application, "schedule": release.schedule}),
        )];
        if let Some(t) = train {
            changes.extend(release.propose(t, actor, now)?);
        }
        Ok((release, changes))
    }

    pub fn update(&mut self, patch: ReleasePatch, train: Option<&Train>, actor: &Actor) -> Result<Change, DomainError> {
        let mut f = Fields::default();
        if let Some(t) = &patch.title {
            f.check(!t.trim().is_empty(), "title", || "must not be empty".into());
        }
        if let Some(s) = &patch.schedule {
            if let Err(DomainError::Invalid(mut e)) = s.validate() {
                f.0.append(&mut e);
            }
            if let Some(t) = train {
                f.0.extend(s.outside(t));
            }
        }
        f.done()?;
        let mut g = self.guards("update");
        g.check(self.state.is_open(), "wrong_state", || {
            format!("{} is {}: it can no longer change", self.describe(), self.state)
        });
        self.check_owner(&mut g, actor);
        if patch.product_owner.as_ref().is_some_and(|p| *p != self.product_owner) {
            check_named_product_owner(&mut g, patch.product_owner.as_deref(), actor);
        }
        g.done()?;
        let data = json!(patch);
        let ReleasePatch { title, product_owner, release_type, schedule, criticality, allowed_paths } = patch;
        if let Some(v) = title {
            self.title = v.trim().to_string();
        }
        if let Some(v) = product_owner {
            self.product_owner = v;
        }
        if let Some(v) = release_type {
            self.release_type = v;
        }
        if let Some(v) = schedule {
            self.schedule = v;
        }
        if let Some(v) = criticality {
            self.criticality = v;
        }
        if let Some(v) = allowed_paths {
            self.allowed_paths = v;
        }
        Ok(Change::new("application_release", &self.id, "update", data))
    }

    /// Whether the actor may change what belongs to this release (its work items): it is open, and they
    /// are its product owner or a release manager.
    pub fn guard_manage(&self, action: &str, actor: &Actor) -> Result<(), DomainError> {
        self.guard_edit(action, actor)
    }

    // ---- dependencies (R5: the service checks for cycles over the whole graph first) ----

    /// Whether it could depend on `other`: another open release it does not depend on yet (a cycle is
    /// judged over the whole graph when the dependency is added).
    pub fn may_depend_on(&self, other: &ApplicationRelease) -> bool {
        other.id != self.id && !self.dependencies.contains(&other.id) && other.state.is_open()
    }

    pub fn add_dependency(&mut self, on: &ApplicationRelease, actor: &Actor) -> Result<Change, DomainError> {
        let mut g = self.guards("add_dependency");
        g.check(self.state.is_open(), "wrong_state", || format!("{} is {}", self.describe(), self.state));
        g.check(!self.dependencies.contains(&on.id), "already_depends", || {
            format!("{} already depends on {}", self.id, on.id)
        });
        g.check(on.state.is_open(), "dependency_not_open", || {
            format!("{} is {}: nothing can depend on it any more", on.describe(), on.state)
        });
        self.check_owner(&mut g, actor);
        g.done()?;
        self.dependencies.push(on.id.clone());
        Ok(Change::new("application_release", &self.id, "add_dependency", json!({"depends_on": on.id})))
    }

    pub fn remove_dependency(&mut self, on: &str, actor: &Actor) -> Result<Change, DomainError> {
        let mut g = self.guards("remove_dependency");
        g.check(self.state.is_open(), "wrong_state", || format!("{} is {}", self.describe(), self.state));
        g.check(self.dependencies.iter().any(|d| d == on), "no_such_dependency", || {
            format!("{} does not depend on {on}", self.id)
        });
        self.check_owner(&mut g, actor);
        g.done()?;
        self.dependencies.retain(|d| d != on);
        Ok(Change::new("application_release", &self.id, "remove_dependency", json!({"depends_on": on})))
    }

    // ---- milestones ----

    fn milestones(&mut self, actor: &Actor) -> Milestones<'_> {
        let privileged = self.product_owner == actor.name;
        Milestones { list: &mut self.milestones, owner_kind: "application_release", owner_id: &self.id, privileged }
    }

    fn guard_edit(&self, action: &str, actor: &Actor) -> Result<(), DomainError> {
        let mut g = self.guards(action);
        g.check(self.state.is_open(), "wrong_state", || {
            format!("{} is {}: it can no longer change", self.describe(), self.state)
        });
        self.check_owner(&mut g, actor);
        g.done()
    }

    pub fn add_milestone(&mut self, id: String, spec: MilestoneSpec, actor: &Actor) -> Result<Change, DomainError> {
        self.guard_edit("add_milestone", actor)?;
        self.milestones(actor).add(id, spec)
    }

    pub fn edit_milestone(&mut self, id: &str, patch: MilestonePatch, actor: &Actor) -> Result<Change, DomainError> {
        self.guard_edit("edit_milestone", actor)?;
        Ok(self.milestones(actor).edit(id, patch)?.0)
    }

    pub fn remove_milestone(&mut self, id: &str, actor: &Actor) -> Result<Change, DomainError> {
        self.guard_edit("remove_milestone", actor)?;
        self.milestones(actor).remove(id)
    }

    pub fn decide_milestone(
        &mut self,
        id: &str,
        to: MilestoneState,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Change, DomainError> {
        let mut g = self.guards("decide_milestone");
        g.check(self.state.is_open(), "wrong_state", || format!("{} is {}", self.describe(), self.state));
        g.done()?;
        self.milestones(actor).decide(id, to, actor, now)
    }

    /// Copies each train milestone marked `inherit` that it does not have yet (R: entering construction).
    pub fn inherit_milestones(&mut self, train: &Train) -> Option<Change> {
        let new: Vec<Milestone> = train
            .milestones
            .iter()
            .filter(|m| {
                m.inherit && !self.milestones.iter().any(|c| c.inherited_from.as_deref() == Some(m.id.as_str()))
            })
            .map(Milestone::inherited)
            .collect();
        if new.is_empty() {
            return None;
        }
        let ids: Vec<&str> = new.iter().map(|m| m.id.as_str()).collect();
        let change = Change::new(
            "application_release",
            &self.id,
            "inherit_milestones",
            json!({"train_id": train.id, "milestones": ids}),
        );
        self.milestones.extend(new);
        Some(change)
    }

    /// An inherited copy follows its train milestone's new date unless it was moved by hand.
    pub fn follow_milestone(&mut self, origin: &Milestone) -> Option<Change> {
        let copy = self.milestones.iter_mut().find(|m| {
            m.inherited_from.as_deref() == Some(origin.id.as_str()) && !m.moved_by_hand && m.due != origin.due
        })?;
        let from = copy.due;
        copy.due = origin.due;
        Some(Change::new(
            "application_release",
            &self.id,
            "follow_milestone",
            json!({"milestone_id": copy.id, "from": from, "to": origin.due}),
        ))
    }
}
