//! The console's one error type: every failure becomes an HTML page with the right status. A refused
//! action lists its guards; internal faults are logged and shown only as a generic message.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::html;
use railyard_domain::Guard;
use railyard_service::ServiceError;

use crate::layout;

#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// A form post without this session's CSRF token (or with another one).
    #[error("the form was refused: it did not carry this session's security token")]
    Csrf,
    /// A form post without a live session.
    #[error("you are not signed in, or your session ended")]
    NotSignedIn,
    /// A form post whose `Origin` is not the console's (see `protection.rs`).
    #[error(
        "the form was posted from {origin}, but this console is at {expected}, so nothing was changed. If you \
         opened Railyard at another address (through a proxy), its admin sets that address with --public-url"
    )]
    ForeignOrigin { origin: String, expected: String },
    /// A query parameter of a page that does not parse; names the parameter.
    #[error("the query parameter `{name}` is not valid: {message}")]
    BadParameter { name: &'static str, message: String },
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// A fault of ours; logged, not shown.
    #[error("internal error: {0}")]
    Internal(String),
    /// A refused edit form: the error, and the address of its page with the form open again.
    #[error("{error}")]
    InForm { error: Box<PageError>, form: String },
}

impl PageError {
    /// A bad query parameter `name`, with what is wrong with it.
    pub fn bad_parameter(name: &'static str, message: impl Into<String>) -> PageError {
        PageError::BadParameter { name, message: message.into() }
    }

    /// This error, answered with a link back to `form` (see [`crate::forms::form_again`]).
    pub fn in_form(self, form: String) -> PageError {
        match self {
            PageError::InForm { .. } => self,
            error => PageError::InForm { error: Box::new(error), form },
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            PageError::InForm { error, .. } => error.status(),
            PageError::Csrf | PageError::NotSignedIn | PageError::ForeignOrigin { .. } => StatusCode::FORBIDDEN,
            PageError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            PageError::BadParameter { .. } => StatusCode::BAD_REQUEST,
            PageError::Service(e) => match e {
                ServiceError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
                ServiceError::Forbidden(_) | ServiceError::NotAllowed(_) => StatusCode::FORBIDDEN,
                ServiceError::NotFound { .. } => StatusCode::NOT_FOUND,
                ServiceError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
                ServiceError::Refused(_)
                | ServiceError::Conflict(_)
                | ServiceError::Duplicate(_)
                | ServiceError::LeaseLost(_) => StatusCode::CONFLICT,
                ServiceError::PreconditionRequired(_) => StatusCode::PRECONDITION_REQUIRED,
                ServiceError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
                ServiceError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                ServiceError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
        }
    }

    fn heading(&self) -> &'static str {
        match self {
            PageError::InForm { error, .. } => error.heading(),
            PageError::Csrf => "Refused: the form could not be verified",
            PageError::NotSignedIn => "Not signed in",
            PageError::ForeignOrigin { .. } => "Refused: the form came from another site",
            PageError::Service(ServiceError::TooManyAttempts { .. }) => "Too many failed sign-ins",
            PageError::BadParameter { .. } => "The address has a parameter that is not valid",
            PageError::Service(ServiceError::Refused(_)) => "The action was refused",
            PageError::Service(ServiceError::Forbidden(_) | ServiceError::NotAllowed(_)) => "Not allowed",
            PageError::Service(ServiceError::NotFound { .. }) => "Not found",
            PageError::Service(ServiceError::Invalid(_)) => "Something in the form needs fixing",
            PageError::Service(ServiceError::Conflict(_)) => "Someone changed this first",
            _ => "Something went wrong",
        }
    }

    fn detail(&self) -> String {
        match self {
            PageError::InForm { error, .. } => error.detail(),
            PageError::Csrf => "The form did not carry this session's security token, so nothing was changed. \
                                Go back, reload the page and try again."
                .into(),
            PageError::Internal(_) | PageError::Service(ServiceError::Internal(_)) => {
                "An internal error occurred; the server's log has the details.".into()
            }
            other => other.to_string(),
        }
    }

    fn guards(&self) -> &[Guard] {
        match self {
            PageError::InForm { error, .. } => error.guards(),
            PageError::Service(ServiceError::Refused(r) | ServiceError::NotAllowed(r)) => &r.guards,
            _ => &[],
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let inner = match &self {
            PageError::InForm { error, .. } => error.as_ref(),
            other => other,
        };
        if let PageError::Internal(m) | PageError::Service(ServiceError::Internal(m)) = inner {
            tracing::error!(error = %m, "internal error in the console");
        }
        let body = html! {
            h1 { (self.heading()) }
            p role="alert" { (self.detail()) }
            @if !self.guards().is_empty() {
                h2 { "What stands in the way" }
                ul.guards {
                    @for g in self.guards() {
                        li { (g.message) " " small { "(" (g.code) ")" } }
                    }
                }
            }
            @if let PageError::InForm { form, .. } = &self {
                p { a href=(form) { "Back to the form" } " (it opens again; what you typed is not kept)" }
            }
            p { a href="/" { "Back to the dashboard" } }
        };
        let mut res = (self.status(), Html(layout::page(self.heading(), None, body).into_string())).into_response();
        if let PageError::Service(ServiceError::TooManyAttempts { retry_after_secs, .. }) = inner {
            res.headers_mut().insert(axum::http::header::RETRY_AFTER, (*retry_after_secs).into());
        }
        res
    }
}
