//! Which actions a user may take on an object now, and why not.
//!
//! Each aggregate answers with one function (`Train::actions`, `ApplicationRelease::actions`, ...) that
//! runs, on a copy of the object, the very function the action itself runs, given the same facts the
//! service loads for it. So the list and the action cannot disagree: an action listed as allowed
//! succeeds, and one listed as refused is refused with exactly the guards listed.

mod application;
mod approval;
mod deployment;
mod environment;
mod global;
mod path;
mod release;
mod release_parts;
mod runbook;
mod train;
mod train_parts;
mod turnover;
mod user;

use serde::Serialize;
use utoipa::ToSchema;

use crate::access::role_guard;
use crate::{Actor, DomainError, Guard, Operation};

pub use crate::turnover::TurnoverFacts;

#[cfg(test)]
mod tests;
pub use global::global_actions;
pub use release::ReleaseFacts;
pub use train_parts::criterion_part;
pub use user::{TokenFacts, token_revocable, user_actions};

/// One action a user could take on an object, and whether they may now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AvailableAction {
    /// The action's name, as in its route (`start_construction`, `send_back`, `retry`, ...).
    pub action: String,
    pub allowed: bool,
    /// When not allowed: every guard that blocks it, the same ones the action would be refused with.
    /// A role the user lacks is `role_required`; input the action would need is not judged here.
    pub guards: Vec<Guard>,
    /// The part of the object the action is about, when it has several of the kind: an exit criterion
    /// (`scoping/C-1`), a milestone, a task run. Absent for actions on the object itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on: Option<String>,
}

/// The guard code of a problem an action would meet with its input rather than its guards: it is
/// answered as invalid input (422) with these messages as its field errors.
pub const INVALID_INPUT: &str = "invalid_input";

impl AvailableAction {
    /// Decides one action: the role first (as the service authorises before it loads anything), then
    /// `decide`, the action's own domain function run on a copy.
    pub fn decide(
        action: &str,
        actor: &Actor,
        op: Operation,
        decide: impl FnOnce() -> Result<(), DomainError>,
    ) -> Self {
        if let Some(guard) = role_guard(actor, op) {
            return AvailableAction { action: action.to_string(), allowed: false, guards: vec![guard], on: None };
        }
        Self::of(action, decide())
    }

    /// The list's entry for an action decided as `result`.
    pub fn of(action: &str, result: Result<(), DomainError>) -> Self {
        let guards = match result {
            Ok(()) => Vec::new(),
            Err(DomainError::Refused(r) | DomainError::NotAllowed(r)) => r.guards,
            Err(DomainError::Invalid(fields)) => {
                fields.into_iter().map(|f| Guard::new(INVALID_INPUT, format!("{}: {}", f.field, f.message))).collect()
            }
        };
        AvailableAction { action: action.to_string(), allowed: guards.is_empty(), guards, on: None }
    }

    /// The same entry, about the part `on` of the object (an exit criterion, a milestone, a task run).
    pub fn on(mut self, on: impl Into<String>) -> Self {
        self.on = Some(on.into());
        self
    }

    /// Whether `list` allows `action` on the object itself.
    pub fn allows(list: &[AvailableAction], action: &str) -> bool {
        list.iter().any(|a| a.action == action && a.on.is_none() && a.allowed)
    }

    /// Whether `list` allows `action` on the part `on` of the object.
    pub fn allows_on(list: &[AvailableAction], action: &str, on: &str) -> bool {
        list.iter().any(|a| a.action == action && a.on.as_deref() == Some(on) && a.allowed)
    }
}
