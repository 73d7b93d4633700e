//! Application releases: CRUD, train membership, lifecycle, milestones.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use railyard_domain::{
    MilestonePatch, MilestoneSpec, MilestoneState, ReleaseAction, ReleasePatch, ReleaseSpec, ReleaseState,
};
use railyard_service::{Page, ProposeInput, ReasonInput, ReleaseFilter, ReleaseView, Service};
use serde::Deserialize;
use utoipa::IntoParams;

use super::parse_list;
use crate::error::{ApiResult, Problem};
use crate::extract::{Authed, Body, IfMatch, OptionalBody, Params};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReleaseParams {
    /// Proposed to or accepted on this train.
    pub train: Option<String>,
    /// An application key.
    pub application: Option<String>,
    /// One state or several, comma-separated.
    pub state: Option<String>,
    /// How many items a page holds (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[utoipa::path(get, operation_id = "list_application_releases", path = "/api/v1/application-releases", tag = "application releases", params(ReleaseParams),
    security(("bearer" = [])), responses((status = 200, body = Page<ReleaseView>), (status = 422, body = Problem)))]
pub async fn list(
    State(s): State<Service>,
    Authed(a): Authed,
    Params(p): Params<ReleaseParams>,
) -> ApiResult<Json<Page<ReleaseView>>> {
    let filter = ReleaseFilter {
        train: p.train,
        application: p.application,
        states: parse_list::<ReleaseState>("state", p.state.as_deref())?,
        limit: p.limit,
        cursor: p.cursor,
    };
    Ok(Json(s.releases(&a, filter).await?))
}

/// Creates an application release; with `train`, it joins the train (accepted when a release manager
/// creates it, proposed otherwise).
#[utoipa::path(post, operation_id = "create_application_release", path = "/api/v1/application-releases", tag = "application releases", request_body = ReleaseSpec,
    security(("bearer" = [])), responses((status = 201, body = ReleaseView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(s): State<Service>,
    Authed(a): Authed,
    Body(b): Body<ReleaseSpec>,
) -> ApiResult<(StatusCode, Json<ReleaseView>)> {
    Ok((StatusCode::CREATED, Json(s.create_release(&a, b).await?)))
}

#[utoipa::path(get, operation_id = "get_application_release", path = "/api/v1/application-releases/{id}", tag = "application releases",
    params(("id" = String, Path, example = "AR-4")), security(("bearer" = [])),
    responses((status = 200, body = ReleaseView), (status = 404, body = Problem)))]
pub async fn show(State(s): State<Service>, Authed(a): Authed, Path(id): Path<String>) -> ApiResult<Json<ReleaseView>> {
    Ok(Json(s.release(&a, &id).await?))
}

/// Partial update; `If-Match` with the release's version is required.
#[utoipa::path(patch, operation_id = "update_application_release", path = "/api/v1/application-releases/{id}", tag = "application releases",
    params(("id" = String, Path, example = "AR-4"), ("If-Match" = String, Header, description = "The version the change is based on, e.g. `\"3\"`: required; a stale one is refused with 409")), request_body = ReleasePatch, security(("bearer" = [])),
    responses((status = 200, body = ReleaseView), (status = 409, body = Problem), (status = 422, body = Problem), (status = 428, body = Problem)))]
pub async fn update(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    IfMatch(v): IfMatch,
    Body(b): Body<ReleasePatch>,
) -> ApiResult<Json<ReleaseView>> {
    Ok(Json(s.update_release(&a, &id, b, v).await?))
}

/// Proposes the release to a train (a release manager's proposal is accepted at once).
#[utoipa::path(post, operation_id = "propose_application_release", path = "/api/v1/application-releases/{id}/propose", tag = "application releases", params(("id" = String, Path, example = "AR-4")),
    request_body = ProposeInput, security(("bearer" = [])), responses((status = 200, body = ReleaseView), (status = 409, body = Problem)))]
pub async fn propose(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    Body(b): Body<ProposeInput>,
) -> ApiResult<Json<ReleaseView>> {
    Ok(Json(s.propose_release(&a, &id, b).await?))
}

/// A release manager accepts the proposal (never the one who proposed it).
#[utoipa::path(post, operation_id = "accept_application_release", path = "/api/v1/application-releases/{id}/accept", tag = "application releases", params(("id" = String, Path, example = "AR-4")),
    security(("bearer" = [])), responses((status = 200, body = ReleaseView), (status = 409, body = Problem)))]
pub async fn accept(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<ReleaseView>> {
    Ok(Json(s.accept_release(&a, &id).await?))
}

#[utoipa::path(post, operation_id = "reject_application_release", path = "/api/v1/application-releases/{id}/reject", tag = "application releases", params(("id" = String, Path, example = "AR-4")),
    request_body = ReasonInput, security(("bearer" = [])), responses((status = 200, body = ReleaseView), (status = 409, body = Problem)))]
pub async fn reject(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    Body(b): Body<ReasonInput>,
) -> ApiResult<Json<ReleaseView>> {
    Ok(Json(s.reject_release(&a, &id, b).await?))
}

/// Takes the release off its train; it may be proposed again.
#[utoipa::path(post, operation_id = "remove_application_release", path = "/api/v1/application-releases/{id}/remove", tag = "application releases", params(("id" = String, Path, example = "AR-4")),
    request_body = Option<ReasonInput>, security(("bearer" = [])), responses((status = 200, body = ReleaseView), (status = 409, body = Problem)))]
pub async fn remove(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    OptionalBody(b): OptionalBody<ReasonInput>,
) -> ApiResult<Json<ReleaseView>> {
    Ok(Json(s.remove_release(&a, &id, b.unwrap_or_default()).await?))
}

/// planning → construction (its train, if any, must be in construction or later).
#[utoipa::path(post, operation_id = "begin_application_release_work", path = "/api/v1/application-releases/{id}/begin-work", tag = "application releases", params(("id" = String, Path, example = "AR-4")),
    security(("bearer" = [])), responses((status = 200, body = ReleaseView), (status = 409, body = Problem)))]
pub async fn begin_work(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<ReleaseView>> {
    Ok(Json(s.release_action(&a, &id, ReleaseAction::BeginWork).await?))
}

/// construction → awaiting development approval, under the train's development policy.
#[utoipa::path(post, operation_id = "request_development_approval", path = "/api/v1/application-releases/{id}/request-development-approval", tag = "application releases",
    params(("id" = String, Path, example = "AR-4")), security(("bearer" = [])), responses((status = 200, body = ReleaseView), (status = 409, body = Problem)))]
pub async fn request_development_approval(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<ReleaseView>> {
    Ok(Json(s.release_action(&a, &id, ReleaseAction::RequestDevelopmentApproval).await?))
}

/// R10: back to construction, with its train if the train was past construction; approvals that
/// depended on it are cancelled, all in one commit.
#[utoipa::path(post, operation_id = "send_application_release_back", path = "/api/v1/application-releases/{id}/send-back", tag = "application releases", params(("id" = String, Path, example = "AR-4")),
    request_body = ReasonInput, security(("bearer" = [])), responses((status = 200, body = ReleaseView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn send_back(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    Body(b): Body<ReasonInput>,
) -> ApiResult<Json<ReleaseView>> {
    let reason = b.reason.unwrap_or_default();
    Ok(Json(s.release_action(&a, &id, ReleaseAction::SendBack { reason }).await?))
}

#[utoipa::path(post, operation_id = "cancel_application_release", path = "/api/v1/application-releases/{id}/cancel", tag = "application releases", params(("id" = String, Path, example = "AR-4")),
    request_body = ReasonInput, security(("bearer" = [])), responses((status = 200, body = ReleaseView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn cancel(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    Body(b): Body<ReasonInput>,
) -> ApiResult<Json<ReleaseView>> {
    let reason = b.reason.unwrap_or_default();
    Ok(Json(s.release_action(&a, &id, ReleaseAction::Cancel { reason }).await?))
}

#[utoipa::path(post, operation_id = "add_release_milestone", path = "/api/v1/application-releases/{id}/milestones", tag = "application releases", params(("id" = String, Path, example = "AR-4")),
    request_body = MilestoneSpec, security(("bearer" = [])), responses((status = 201, body = ReleaseView), (status = 409, body = Problem)))]
pub async fn add_milestone(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    Body(b): Body<MilestoneSpec>,
) -> ApiResult<(StatusCode, Json<ReleaseView>)> {
    Ok((StatusCode::CREATED, Json(s.add_release_milestone(&a, &id, b).await?)))
}

#[utoipa::path(patch, operation_id = "update_release_milestone", path = "/api/v1/application-releases/{id}/milestones/{milestone}", tag = "application releases",
    params(("id" = String, Path, example = "AR-4"), ("milestone" = String, Path, example = "MS-4")), request_body = MilestonePatch, security(("bearer" = [])),
    responses((status = 200, body = ReleaseView), (status = 409, body = Problem)))]
pub async fn edit_milestone(
    State(s): State<Service>,
    Authed(a): Authed,
    Path((id, m)): Path<(String, String)>,
    Body(b): Body<MilestonePatch>,
) -> ApiResult<Json<ReleaseView>> {
    Ok(Json(s.edit_release_milestone(&a, &id, &m, b, None).await?))
}

#[utoipa::path(delete, operation_id = "remove_release_milestone", path = "/api/v1/application-releases/{id}/milestones/{milestone}", tag = "application releases",
    params(("id" = String, Path, example = "AR-4"), ("milestone" = String, Path, example = "MS-4")), security(("bearer" = [])),
    responses((status = 200, body = ReleaseView), (status = 409, body = Problem)))]
pub async fn remove_milestone(
    State(s): State<Service>,
    Authed(a): Authed,
    Path((id, m)): Path<(String, String)>,
) -> ApiResult<Json<ReleaseView>> {
    Ok(Json(s.remove_release_milestone(&a, &id, &m).await?))
}

#[utoipa::path(post, operation_id = "complete_release_milestone", path = "/api/v1/application-releases/{id}/milestones/{milestone}/complete", tag = "application releases",
    params(("id" = String, Path, example = "AR-4"), ("milestone" = String, Path, example = "MS-4")), security(("bearer" = [])),
    responses((status = 200, body = ReleaseView), (status = 409, body = Problem)))]
pub async fn complete_milestone(
    State(s): State<Service>,
    Authed(a): Authed,
    Path((id, m)): Path<(String, String)>,
) -> ApiResult<Json<ReleaseView>> {
    Ok(Json(s.decide_release_milestone(&a, &id, &m, MilestoneState::Completed).await?))
}

#[utoipa::path(post, operation_id = "miss_release_milestone", path = "/api/v1/application-releases/{id}/milestones/{milestone}/miss", tag = "application releases",
    params(("id" = String, Path, example = "AR-4"), ("milestone" = String, Path, example = "MS-4")), security(("bearer" = [])),
    responses((status = 200, body = ReleaseView), (status = 409, body = Problem)))]
pub async fn miss_milestone(
    State(s): State<Service>,
    Authed(a): Authed,
    Path((id, m)): Path<(String, String)>,
) -> ApiResult<Json<ReleaseView>> {
    Ok(Json(s.decide_release_milestone(&a, &id, &m, MilestoneState::Missed).await?))
}

/// R9: whether it is verified (a turnover validated in every required pre-production stage) and, if not,
/// which stages still lack a validated deployment.
#[utoipa::path(get, operation_id = "get_release_verification", path = "/api/v1/application-releases/{id}/verification", tag = "application releases", params(("id" = String, Path, example = "AR-4")),
    security(("bearer" = [])), responses((status = 200, body = railyard_service::Verification), (status = 404, body = Problem)))]
pub async fn verification(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<railyard_service::Verification>> {
    Ok(Json(s.verification(&a, &id).await?))
}
