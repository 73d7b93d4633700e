//! Every route of the console, in one place.

use axum::Router;
use axum::routing::{get, post};
use railyard_service::Service;

use crate::{
    approvals, audit, calendar, criteria, dashboard, deploy_actions as act, deployment, production_forms, release,
    sign_in, task_forms, train, turnover, turnover_forms, turnover_list,
};

/// The console's pages and form actions, to be merged into the server's application.
pub fn router() -> Router<Service> {
    Router::new()
        .route("/", get(dashboard::show))
        .route("/sign-in", get(sign_in::form).post(sign_in::submit))
        .route("/sign-out", post(sign_in::sign_out))
        .route("/trains/{id}", get(train::show))
        .route("/releases/{id}", get(release::show))
        .route("/releases/{id}/work-items/import", post(release::import))
        .route("/calendar", get(calendar::all))
        .route("/environments/{name}/calendar", get(calendar::one))
        .route("/audit", get(audit::show))
        .route("/trains/{id}/criteria/{criterion}/meet", post(criteria::meet))
        .route("/trains/{id}/criteria/{criterion}/waive", post(criteria::waive))
        .route("/approvals/{id}/approve", post(approvals::approve))
        .route("/approvals/{id}/reject", post(approvals::reject))
        .route("/turnovers/{id}", get(turnover::show))
        .route("/turnovers/{id}/deploy", post(act::deploy))
        .route("/turnovers/{id}/deliver", post(act::deliver))
        .route("/turnovers/{id}/accept", post(act::accept))
        .route("/turnovers/{id}/reject", post(act::reject))
        .route("/turnovers/{id}/schedule", post(act::schedule))
        .route("/turnovers/{id}/verify", post(act::verify))
        .route("/deployments/{id}", get(deployment::show))
        .route("/deployments/{id}/validate", post(act::validate))
        .route("/deployments/{id}/retry", post(act::retry))
        .route("/deployments/{id}/abandon", post(act::abandon))
        .route("/deployments/{id}/runs/{run}/log", get(deployment::log))
        .route("/deployments/{id}/runs/{run}/complete", post(act::complete_run))
        // Turnovers and deployments: create and change turnovers, their work items and tasks; production-ready
        // turnovers; rollback and early start.
        .route("/turnovers", get(turnover_list::show).post(turnover_forms::create))
        .route("/turnovers/new", get(turnover_forms::new))
        .route("/turnovers/{id}/edit", post(turnover_forms::edit))
        .route("/turnovers/{id}/cancel", post(turnover_forms::cancel))
        .route("/turnovers/{id}/work-items", post(turnover_forms::link))
        .route("/turnovers/{id}/work-items/{item}/unlink", post(turnover_forms::unlink))
        .route("/turnovers/{id}/tasks", post(task_forms::add))
        .route("/turnovers/{id}/tasks/{task}/edit", post(task_forms::edit))
        .route("/turnovers/{id}/tasks/{task}/remove", post(task_forms::remove))
        .route("/turnovers/{id}/tasks/reorder", post(task_forms::reorder))
        .route("/turnovers/{id}/tasks/copy", post(task_forms::copy))
        .route("/turnovers/new-production", get(production_forms::new))
        .route("/production-turnovers", post(production_forms::create))
        .route("/turnovers/{id}/rollback", post(act::rollback))
        .route("/deployments/{id}/start", post(act::start))
}
