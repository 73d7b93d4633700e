//! Railyard's web console: plain, server-rendered HTML pages at `/` that work without JavaScript, on the
//! same service layer and permissions as the REST API.
//!
//! People sign in with the password an admin set or by pasting an API token; the session lives in a
//! cookie (`HttpOnly`, `SameSite=Strict`, and `Secure` when the public URL is https) whose secret the
//! store keeps only as a hash. Every form carries the session's CSRF token and every POST checks it
//! before anything else; a post from another origin is refused before that (see `protection.rs`, which
//! also sets the Content-Security-Policy and the other protection headers of every response). Every
//! action goes through [`railyard_service::Service`] with the signed-in user as the actor.

mod applications;
mod approvals;
mod audit;
mod audit_export;
mod available;
mod calendar;
mod criteria;
mod dashboard;
mod dependency_forms;
mod deploy_actions;
mod deployment;
mod environment_forms;
mod environments;
mod error;
mod event_data;
mod forms;
mod gantt;
mod gate_forms;
mod inventory;
mod layout;
mod line_forms;
mod milestone_forms;
mod paging;
mod path_forms;
mod paths;
mod people;
mod production_forms;
mod protection;
mod release;
mod release_actions;
mod release_forms;
mod release_milestones;
mod routes;
mod runners;
mod secrets;
mod session;
mod sign_in;
mod task_forms;
mod train;
mod train_actions;
mod train_fields;
mod train_forms;
mod train_list;
mod turnover;
mod turnover_actions;
mod turnover_forms;
mod turnover_list;
mod user_forms;
mod users;
mod variables;
mod widgets;
mod work_item_forms;

pub use error::PageError;
pub use routes::router;
pub use session::{SESSION_COOKIE, SIGN_IN_COOKIE};
