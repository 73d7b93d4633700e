use railyard_domain::{DomainError, FieldError, Refusal};
use railyard_store::StoreError;

/// Errors of the service layer: what the caller did wrong, or what went wrong underneath.
/// The HTTP layer maps each variant to one status code and a `problem+json` body.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// No credentials, or credentials that do not identify an active user.
    #[error("{0}")]
    Unauthenticated(String),
    /// The user is known but their roles do not allow this.
    #[error("{0}")]
    Forbidden(String),
    #[error("{kind} {id} does not exist")]
    NotFound { kind: &'static str, id: String },
    /// Bad input: every bad field is listed.
    #[error("{}", .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    /// The action is not allowed now: every unmet guard is listed.
    #[error("{0}")]
    Refused(Refusal),
    /// The actor may not act on this object (it belongs to someone else): the guards name who may.
    #[error("{0}")]
    NotAllowed(Refusal),
    /// Someone else changed the object first (a stale version).
    #[error("{0}")]
    Conflict(String),
    /// What was to be created exists already (a user name, an application key, a work item key).
    #[error("{0}")]
    Duplicate(String),
    /// An update without the version it was based on.
    #[error("{0}")]
    PreconditionRequired(String),
    /// A runner sent a heartbeat or a result for a run it does not hold (any more): it must stop it.
    #[error("{0}")]
    LeaseLost(String),
    /// Too many failed sign-ins (or bad API tokens) from this address or for this name: nothing was
    /// checked; try again after `retry_after_secs`.
    #[error("{message}")]
    TooManyAttempts { retry_after_secs: u64, message: String },
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A fault of ours; details are logged, not shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ServiceError::Invalid(vec![FieldError::new(field, message)])
    }
}

impl From<DomainError> for ServiceError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Refused(r) => ServiceError::Refused(r),
            DomainError::NotAllowed(r) => ServiceError::NotAllowed(r),
            DomainError::Invalid(f) => ServiceError::Invalid(f),
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict { .. } => ServiceError::Conflict(e.to_string()),
            StoreError::DuplicateKey { .. } => ServiceError::Duplicate(e.to_string()),
            StoreError::Unavailable(m) => ServiceError::Unavailable(m),
            StoreError::Backend(m) | StoreError::Corrupt(m) => ServiceError::Internal(m),
        }
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;
