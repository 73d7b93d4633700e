//! Railyard's web console: plain, server-rendered HTML pages at `/` that work without JavaScript, on the
//! same service layer and permissions as the REST API.
//!
//! People sign in with the password an admin set or by pasting an API token; the session lives in a
//! cookie (`HttpOnly`, `SameSite=Strict`) whose secret the store keeps only as a hash. Every form carries
//! the session's CSRF token and every POST checks it before anything else. Every action goes through
//! [`railyard_service::Service`] with the signed-in user as the actor.

mod approvals;
mod audit;
mod calendar;
mod criteria;
mod dashboard;
mod deploy_actions;
mod deployment;
mod error;
mod forms;
mod gantt;
mod layout;
mod production_forms;
mod release;
mod routes;
mod session;
mod sign_in;
mod task_forms;
mod train;
mod turnover;
mod turnover_actions;
mod turnover_forms;
mod turnover_list;
mod widgets;

pub use error::PageError;
pub use routes::router;
pub use session::{SESSION_COOKIE, SIGN_IN_COOKIE};
