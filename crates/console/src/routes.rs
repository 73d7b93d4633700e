//! Every route of the console, in one place.

use axum::Router;
use axum::routing::{get, post};
use railyard_service::Service;

use crate::{
    approvals, audit, calendar, criteria, dashboard, deploy_actions as act, deployment, environment_forms,
    environments, line_forms, path_forms, paths, release, sign_in, train, turnover, user_forms, users,
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
        // Release elements: environments and their calendar events, deployment paths, users and their
        // tokens, stopping the line.
        .route("/environments", get(environments::list).post(environment_forms::create))
        .route("/environments/{name}", get(environments::show).post(environment_forms::update))
        .route("/environments/{name}/take-offline", post(environment_forms::take_offline))
        .route("/environments/{name}/bring-online", post(environment_forms::bring_online))
        .route("/environments/{name}/decommission", post(environment_forms::decommission))
        .route("/environments/{name}/events", post(environment_forms::add_event))
        .route("/environments/{name}/events/{event}/remove", post(environment_forms::remove_event))
        .route("/paths", get(paths::list).post(path_forms::create))
        .route("/paths/{id}", get(paths::show).post(path_forms::update))
        .route("/paths/{id}/activate", post(path_forms::activate))
        .route("/paths/{id}/return-to-draft", post(path_forms::return_to_draft))
        .route("/paths/{id}/retire", post(path_forms::retire))
        .route("/users", get(users::list).post(user_forms::create))
        .route("/users/{name}", get(users::show).post(user_forms::update))
        .route("/users/{name}/password", post(user_forms::set_password))
        .route("/users/{name}/tokens", post(user_forms::issue_token))
        .route("/tokens/{id}/revoke", post(user_forms::revoke_token))
        .route("/line/halt", post(line_forms::halt))
        .route("/line/resume", post(line_forms::resume))
}
