//! The train's lifecycle actions: `POST /api/v1/trains/{id}/<action>`.

use axum::Json;
use axum::extract::{Path, State};
use railyard_domain::TrainAction;
use railyard_domain::limits::{Bounded, Limits};
use railyard_service::{Service, TrainView};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::{ApiResult, Problem};
use crate::extract::{Authed, Body, IfMatch};

async fn act(
    s: &Service,
    a: &railyard_domain::Actor,
    id: &str,
    action: TrainAction,
    v: Option<i64>,
) -> ApiResult<Json<TrainView>> {
    Ok(Json(s.train_action(a, id, action, v).await?))
}

/// draft → awaiting_train_approval (with a train approval policy) or scoping.
#[utoipa::path(post, operation_id = "submit_train", path = "/api/v1/trains/{id}/submit", tag = "train lifecycle", params(("If-Match" = Option<String>, Header, description = "The version the change is based on, e.g. `\"3\"`: a stale one is refused with 409"), ("id" = String, Path, example = "RT-8")), security(("bearer" = [])),
    responses((status = 200, body = TrainView), (status = 409, description = "refused: every unmet guard is listed", body = Problem)))]
pub async fn submit(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    IfMatch(v): IfMatch,
) -> ApiResult<Json<TrainView>> {
    act(&s, &a, &id, TrainAction::Submit, v).await
}

/// scoping → construction; the scoping gate must be passed.
#[utoipa::path(post, operation_id = "start_train_construction", path = "/api/v1/trains/{id}/start-construction", tag = "train lifecycle", params(("If-Match" = Option<String>, Header, description = "The version the change is based on, e.g. `\"3\"`: a stale one is refused with 409"), ("id" = String, Path, example = "RT-6")),
    security(("bearer" = [])), responses((status = 200, body = TrainView), (status = 409, body = Problem)))]
pub async fn start_construction(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    IfMatch(v): IfMatch,
) -> ApiResult<Json<TrainView>> {
    act(&s, &a, &id, TrainAction::StartConstruction, v).await
}

/// construction → verification; the construction gate must be passed.
#[utoipa::path(post, operation_id = "start_train_verification", path = "/api/v1/trains/{id}/start-verification", tag = "train lifecycle", params(("If-Match" = Option<String>, Header, description = "The version the change is based on, e.g. `\"3\"`: a stale one is refused with 409"), ("id" = String, Path, example = "RT-4")),
    security(("bearer" = [])), responses((status = 200, body = TrainView), (status = 409, body = Problem)))]
pub async fn start_verification(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    IfMatch(v): IfMatch,
) -> ApiResult<Json<TrainView>> {
    act(&s, &a, &id, TrainAction::StartVerification, v).await
}

/// verification → awaiting_executive_approval; the verification gate must be passed.
#[utoipa::path(post, operation_id = "request_executive_approval", path = "/api/v1/trains/{id}/request-executive-approval", tag = "train lifecycle", params(("If-Match" = Option<String>, Header, description = "The version the change is based on, e.g. `\"3\"`: a stale one is refused with 409"), ("id" = String, Path, example = "RT-3")),
    security(("bearer" = [])), responses((status = 200, body = TrainView), (status = 409, body = Problem)))]
pub async fn request_executive_approval(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    IfMatch(v): IfMatch,
) -> ApiResult<Json<TrainView>> {
    act(&s, &a, &id, TrainAction::RequestExecutiveApproval, v).await
}

/// deployment → closed, by the train's manager or a release engineer.
#[utoipa::path(post, operation_id = "close_train", path = "/api/v1/trains/{id}/close", tag = "train lifecycle", params(("If-Match" = Option<String>, Header, description = "The version the change is based on, e.g. `\"3\"`: a stale one is refused with 409"), ("id" = String, Path, example = "RT-2")),
    security(("bearer" = [])), responses((status = 200, body = TrainView), (status = 409, body = Problem)))]
pub async fn close(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    IfMatch(v): IfMatch,
) -> ApiResult<Json<TrainView>> {
    act(&s, &a, &id, TrainAction::Close, v).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelInput {
    pub reason: String,
}

impl Bounded for CancelInput {
    fn check_limits(&self, l: &mut Limits) {
        l.text("reason", &self.reason);
    }
}

/// Any open state → cancelled, with a reason; pending approvals of the train are cancelled too.
#[utoipa::path(post, operation_id = "cancel_train", path = "/api/v1/trains/{id}/cancel", tag = "train lifecycle", params(("If-Match" = Option<String>, Header, description = "The version the change is based on, e.g. `\"3\"`: a stale one is refused with 409"), ("id" = String, Path, example = "RT-7")), request_body = CancelInput,
    security(("bearer" = [])), responses((status = 200, body = TrainView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn cancel(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    IfMatch(v): IfMatch,
    Body(b): Body<CancelInput>,
) -> ApiResult<Json<TrainView>> {
    act(&s, &a, &id, TrainAction::Cancel { reason: b.reason }, v).await
}
