//! Every route of the server, in one place; the OpenAPI document is generated from the same list.

use axum::Router;
use railyard_service::Service;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::handlers::{
    actions, applications, approvals, audit, dependencies, deployments, environments, gates, inbox, inventory,
    milestones, paths, production, releases, runbooks, runners, secrets, system, tokens, train_actions, trains,
    turnovers, users, variables, work_items,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "Railyard", description = "Release orchestration: release trains, application releases, gates, approvals and the audit log."),
    modifiers(&BearerAuth),
    components(schemas(crate::error::Problem))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The routes and the OpenAPI document describing them.
pub fn routes() -> (Router<Service>, utoipa::openapi::OpenApi) {
    let parts = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(system::healthz))
        .routes(routes!(system::readyz))
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::me))
        .routes(routes!(actions::global))
        .routes(routes!(inbox::inbox))
        .routes(routes!(users::show, users::update))
        .routes(routes!(users::set_password))
        .routes(routes!(tokens::list, tokens::create))
        .routes(routes!(tokens::revoke))
        .routes(routes!(trains::list, trains::create))
        .routes(routes!(trains::show, trains::update))
        .routes(routes!(trains::copy))
        .routes(routes!(actions::train))
        .routes(routes!(train_actions::submit))
        .routes(routes!(train_actions::start_construction))
        .routes(routes!(train_actions::start_verification))
        .routes(routes!(train_actions::request_executive_approval))
        .routes(routes!(train_actions::close))
        .routes(routes!(train_actions::cancel))
        .routes(routes!(gates::update))
        .routes(routes!(gates::request_approval))
        .routes(routes!(gates::add_criterion))
        .routes(routes!(gates::edit_criterion, gates::remove_criterion))
        .routes(routes!(gates::meet))
        .routes(routes!(gates::waive))
        .routes(routes!(gates::reopen))
        .routes(routes!(milestones::add))
        .routes(routes!(milestones::edit, milestones::remove))
        .routes(routes!(milestones::complete))
        .routes(routes!(milestones::miss))
        .routes(routes!(approvals::list))
        .routes(routes!(approvals::show))
        .routes(routes!(actions::approval))
        .routes(routes!(approvals::approve))
        .routes(routes!(approvals::reject))
        .routes(routes!(approvals::override_))
        .routes(routes!(applications::list, applications::create))
        .routes(routes!(applications::show, applications::update))
        .routes(routes!(applications::archive))
        .routes(routes!(actions::application))
        .routes(routes!(releases::list, releases::create))
        .routes(routes!(releases::show, releases::update))
        .routes(routes!(releases::propose))
        .routes(routes!(actions::release))
        .routes(routes!(releases::verification))
        .routes(routes!(releases::accept))
        .routes(routes!(releases::reject))
        .routes(routes!(releases::remove))
        .routes(routes!(releases::begin_work))
        .routes(routes!(releases::request_development_approval))
        .routes(routes!(releases::send_back))
        .routes(routes!(releases::cancel))
        .routes(routes!(releases::add_milestone))
        .routes(routes!(releases::edit_milestone, releases::remove_milestone))
        .routes(routes!(releases::complete_milestone))
        .routes(routes!(releases::miss_milestone))
        .routes(routes!(dependencies::add))
        .routes(routes!(dependencies::remove))
        .routes(routes!(dependencies::conflicts))
        .routes(routes!(dependencies::order))
        .routes(routes!(dependencies::timeline))
        .routes(routes!(work_items::list, work_items::create))
        // The one route past the 1 MiB default: an import carries a whole CSV export.
        .merge(
            OpenApiRouter::new()
                .routes(routes!(work_items::import))
                .layer(axum::extract::DefaultBodyLimit::max(crate::IMPORT_MAX_BODY)),
        )
        .routes(routes!(work_items::show, work_items::update))
        .routes(routes!(environments::list, environments::create))
        .routes(routes!(environments::show, environments::update))
        .routes(routes!(actions::environment))
        .routes(routes!(environments::take_offline))
        .routes(routes!(environments::bring_online))
        .routes(routes!(environments::decommission))
        .routes(routes!(environments::add_event))
        .routes(routes!(environments::remove_event))
        .routes(routes!(environments::calendar))
        .routes(routes!(paths::list, paths::create))
        .routes(routes!(paths::show, paths::update))
        .routes(routes!(actions::path))
        .routes(routes!(paths::activate))
        .routes(routes!(paths::return_to_draft))
        .routes(routes!(paths::retire))
        .routes(routes!(turnovers::list, turnovers::create))
        .routes(routes!(turnovers::show, turnovers::update))
        .routes(routes!(turnovers::cancel))
        .routes(routes!(actions::turnover))
        .routes(routes!(turnovers::link))
        .routes(routes!(turnovers::unlink))
        .routes(routes!(turnovers::add_task))
        .routes(routes!(turnovers::edit_task, turnovers::remove_task))
        .routes(routes!(turnovers::reorder))
        .routes(routes!(turnovers::copy_tasks))
        .routes(routes!(production::create))
        .routes(routes!(production::proposed_order))
        .routes(routes!(production::deliver))
        .routes(routes!(production::accept))
        .routes(routes!(production::reject))
        .routes(routes!(production::schedule))
        .routes(routes!(production::verify))
        .routes(routes!(production::rollback))
        .routes(routes!(production::start))
        .routes(routes!(production::line))
        .routes(routes!(production::halt))
        .routes(routes!(production::resume))
        .routes(routes!(deployments::deploy))
        .routes(routes!(deployments::list))
        .routes(routes!(deployments::show))
        .routes(routes!(actions::deployment))
        .routes(routes!(deployments::retry))
        .routes(routes!(deployments::abandon))
        .routes(routes!(deployments::validate))
        .routes(routes!(deployments::complete_run))
        .routes(routes!(deployments::log))
        .routes(routes!(inventory::grid))
        .routes(routes!(inventory::cell))
        .routes(routes!(runbooks::list, runbooks::create))
        .routes(routes!(runbooks::show))
        .routes(routes!(actions::runbook))
        .routes(routes!(runbooks::submit))
        .routes(routes!(runbooks::accept))
        .routes(routes!(runbooks::reject))
        .routes(routes!(runbooks::deactivate))
        .routes(routes!(runbooks::copy_into))
        .routes(routes!(runbooks::save_from))
        .routes(routes!(variables::list, variables::create))
        .routes(routes!(variables::show, variables::update, variables::delete))
        .routes(routes!(secrets::list, secrets::create))
        .routes(routes!(secrets::show, secrets::update, secrets::delete))
        .routes(routes!(runners::list, runners::register))
        .routes(routes!(runners::actions))
        .routes(routes!(runners::show))
        .routes(routes!(runners::revoke))
        .routes(routes!(runners::claim))
        // A runner's heartbeat or result carries up to 1,000 lines of 8 KiB, JSON-escaped: past 1 MiB.
        .merge(
            OpenApiRouter::new()
                .routes(routes!(runners::heartbeat))
                .routes(routes!(runners::result))
                .layer(axum::extract::DefaultBodyLimit::max(crate::RUNNER_MAX_BODY)),
        )
        .routes(routes!(audit::list))
        .routes(routes!(audit::verify))
        .routes(routes!(audit::head))
        .routes(routes!(actions::user))
        .split_for_parts();
    let (router, mut api) = parts;
    crate::problems::document_errors(&mut api);
    crate::generics::refer_page_items(&mut api);
    (router, api)
}
