use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Why the domain said no.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DomainError {
    /// The action is not allowed now: every unmet guard is listed.
    #[error("{0}")]
    Refused(Refusal),
    /// The actor may not act on this object: it belongs to someone else, and the actor's roles do not
    /// reach it ([`crate::access`]). The guards name who may.
    #[error("{0}")]
    NotAllowed(Refusal),
    /// The input is not valid: every bad field is listed.
    #[error("{}", display_fields(.0))]
    Invalid(Vec<FieldError>),
}

impl DomainError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        DomainError::Invalid(vec![FieldError::new(field, message)])
    }
}

fn display_fields(errors: &[FieldError]) -> String {
    errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ")
}

/// One unmet guard, in words a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Guard {
    /// Stable, machine-readable name of the guard (e.g. `criterion_open`, `wrong_state`, `own_request`).
    pub code: String,
    pub message: String,
}

impl Guard {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Guard { code: code.to_string(), message: message.into() }
    }
}

/// A refused action: which action, on what, in which state, and every guard that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Refusal {
    pub action: String,
    pub object: String,
    pub state: String,
    pub guards: Vec<Guard>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} of {} (state {}) refused: ", self.action, self.object, self.state)?;
        let msgs: Vec<&str> = self.guards.iter().map(|g| g.message.as_str()).collect();
        write!(f, "{}", msgs.join("; "))
    }
}

/// One invalid input field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        FieldError { field: field.to_string(), message: message.into() }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Collects guards for one action; refuses with all of them at once.
pub(crate) struct Guards {
    action: String,
    object: String,
    state: String,
    failed: Vec<Guard>,
    /// Whether an object-level access rule failed ([`Guards::deny`]).
    denied: bool,
}

impl Guards {
    pub fn new(action: &str, object: &str, state: impl fmt::Display) -> Self {
        Guards {
            action: action.into(),
            object: object.into(),
            state: state.to_string(),
            failed: Vec::new(),
            denied: false,
        }
    }

    /// An object-level access rule ([`crate::access`]): when it fails, the action is not the actor's to
    /// take, so the refusal is [`DomainError::NotAllowed`]; it still names every unmet guard.
    pub fn deny(&mut self, ok: bool, code: &str, message: impl FnOnce() -> String) -> &mut Self {
        if !ok {
            self.failed.push(Guard::new(code, message()));
            self.denied = true;
        }
        self
    }

    pub fn check(&mut self, ok: bool, code: &str, message: impl FnOnce() -> String) -> &mut Self {
        if !ok {
            self.failed.push(Guard::new(code, message()));
        }
        self
    }

    pub fn fail(&mut self, code: &str, message: impl Into<String>) {
        self.failed.push(Guard::new(code, message));
    }

    pub fn done(self) -> Result<(), DomainError> {
        if self.denied {
            return Err(DomainError::NotAllowed(Refusal {
                action: self.action,
                object: self.object,
                state: self.state,
                guards: self.failed,
            }));
        }
        if self.failed.is_empty() {
            Ok(())
        } else {
            Err(DomainError::Refused(Refusal {
                action: self.action,
                object: self.object,
                state: self.state,
                guards: self.failed,
            }))
        }
    }
}

/// The longest title a train, release or milestone may have.
pub(crate) const MAX_TITLE: usize = crate::limits::MAX_NAME;

/// Collects invalid fields; fails with all of them at once.
#[derive(Default)]
pub(crate) struct Fields(pub Vec<FieldError>);

impl Fields {
    pub fn check(&mut self, ok: bool, field: &str, message: impl FnOnce() -> String) {
        if !ok {
            self.0.push(FieldError::new(field, message()));
        }
    }
    /// A title: not blank, at most [`MAX_TITLE`] characters.
    pub fn title(&mut self, field: &str, title: &str) {
        self.check(!title.trim().is_empty(), field, || "must not be empty".into());
        self.check(title.chars().count() <= MAX_TITLE, field, || format!("must be at most {MAX_TITLE} characters"));
    }
    pub fn done(self) -> Result<(), DomainError> {
        if self.0.is_empty() { Ok(()) } else { Err(DomainError::Invalid(self.0)) }
    }
}
