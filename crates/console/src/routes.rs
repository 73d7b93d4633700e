//! Every route of the console, in one place.

use axum::Router;
use axum::routing::{get, post};
use railyard_service::Service;

use crate::{
    applications, dependency_forms, inventory, protection, release_actions, release_forms, release_milestones,
    work_item_forms,
};
use crate::{
    approvals, audit, audit_export, calendar, criteria, dashboard, deploy_actions as act, deployment,
    environment_forms, environments, gate_forms, line_forms, milestone_forms, path_forms, paths, production_forms,
    release, sign_in, task_forms, train, train_actions, train_forms, train_list, turnover, turnover_forms,
    turnover_list, user_forms, users, variables,
};

/// The console's pages and form actions, to be merged into the server's application. Every response
/// goes through [`protection::protect`] (headers, the `Origin` check, `Secure` cookies).
pub fn router(service: Service) -> Router<Service> {
    Router::new()
        .route("/", get(dashboard::show))
        .route(protection::STYLESHEET, get(protection::stylesheet))
        .route("/sign-in", get(sign_in::form).post(sign_in::submit))
        .route("/sign-out", post(sign_in::sign_out))
        .route("/trains/{id}", get(train::show))
        .route("/releases/{id}", get(release::show))
        .route("/releases/{id}/work-items/import", post(release::import))
        .route("/calendar", get(calendar::all))
        .route("/environments/{name}/calendar", get(calendar::one))
        .route("/audit", get(audit::show))
        .route("/audit/export.csv", get(audit_export::csv))
        .route("/audit/export.json", get(audit_export::json))
        .route("/inventory", get(inventory::grid))
        .route("/inventory/{application}/{environment}", get(inventory::history))
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
        // Trains: the list, planning (new, edit, copy), the lifecycle, gates and criteria, milestones,
        // overriding an approval.
        .route("/trains", get(train_list::show).post(train_forms::create))
        .route("/trains/new", get(train_forms::new))
        .route("/trains/{id}", post(train_forms::update))
        .route("/trains/{id}/edit", get(train_forms::edit))
        .route("/trains/{id}/copy", post(train_forms::copy))
        .route("/trains/{id}/submit", post(train_actions::submit))
        .route("/trains/{id}/start-construction", post(train_actions::start_construction))
        .route("/trains/{id}/start-verification", post(train_actions::start_verification))
        .route("/trains/{id}/request-executive-approval", post(train_actions::request_executive_approval))
        .route("/trains/{id}/close", post(train_actions::close))
        .route("/trains/{id}/cancel", post(train_actions::cancel))
        .route("/approvals/{id}/override", post(train_actions::override_approval))
        .route("/trains/{id}/gates/{gate}", post(gate_forms::set_approval_required))
        .route("/trains/{id}/gates/{gate}/request-approval", post(gate_forms::request_approval))
        .route("/trains/{id}/gates/{gate}/criteria", post(gate_forms::add_criterion))
        .route("/trains/{id}/criteria/{criterion}", post(gate_forms::update_criterion))
        .route("/trains/{id}/criteria/{criterion}/edit", get(gate_forms::edit_criterion))
        .route("/trains/{id}/criteria/{criterion}/remove", post(gate_forms::remove_criterion))
        .route("/trains/{id}/criteria/{criterion}/reopen", post(gate_forms::reopen_criterion))
        .route("/trains/{id}/milestones", post(milestone_forms::add))
        .route("/trains/{id}/milestones/{milestone}", post(milestone_forms::update))
        .route("/trains/{id}/milestones/{milestone}/edit", get(milestone_forms::edit))
        .route("/trains/{id}/milestones/{milestone}/remove", post(milestone_forms::remove))
        .route("/trains/{id}/milestones/{milestone}/complete", post(milestone_forms::complete))
        .route("/trains/{id}/milestones/{milestone}/miss", post(milestone_forms::miss))
        // Applications and application releases: create, change, membership, lifecycle, dependencies,
        // milestones, work items.
        .route("/applications", get(applications::list).post(applications::create))
        .route("/applications/{key}", get(applications::show))
        .route("/applications/{key}/edit", post(applications::update))
        .route("/applications/{key}/archive", post(applications::archive))
        .route("/releases", post(release_forms::create))
        .route("/releases/new", get(release_forms::new))
        .route("/releases/{id}/edit", post(release_forms::update))
        .route("/releases/{id}/propose", post(release_actions::propose))
        .route("/releases/{id}/accept", post(release_actions::accept))
        .route("/releases/{id}/reject", post(release_actions::reject))
        .route("/releases/{id}/remove", post(release_actions::remove))
        .route("/releases/{id}/begin-work", post(release_actions::begin_work))
        .route("/releases/{id}/request-development-approval", post(release_actions::request_development_approval))
        .route("/releases/{id}/send-back", post(release_actions::send_back))
        .route("/releases/{id}/cancel", post(release_actions::cancel))
        .route("/releases/{id}/dependencies", post(dependency_forms::add))
        .route("/releases/{id}/dependencies/{on}/remove", post(dependency_forms::remove))
        .route("/releases/{id}/milestones", post(release_milestones::add))
        .route("/releases/{id}/milestones/{milestone}/edit", post(release_milestones::edit))
        .route("/releases/{id}/milestones/{milestone}/remove", post(release_milestones::remove))
        .route("/releases/{id}/milestones/{milestone}/complete", post(release_milestones::complete))
        .route("/releases/{id}/milestones/{milestone}/miss", post(release_milestones::miss))
        .route("/releases/{id}/work-items", post(work_item_forms::add))
        .route("/releases/{id}/work-items/{item}/status", post(work_item_forms::set_status))
        // Release elements: environments and their calendar events, deployment paths, users and their
        // tokens, stopping the line.
        .route("/variables", get(variables::list).post(variables::set))
        .route("/variables/{id}/delete", post(variables::delete))
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
        .route("/users/{name}/time-zone", post(user_forms::set_time_zone))
        .route("/users/{name}/tokens", post(user_forms::issue_token))
        .route("/tokens/{id}/revoke", post(user_forms::revoke_token))
        .route("/line/halt", post(line_forms::halt))
        .route("/line/resume", post(line_forms::resume))
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
        .layer(axum::middleware::from_fn_with_state(service, protection::protect))
}
