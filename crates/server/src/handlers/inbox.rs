use axum::Json;
use axum::extract::State;
use railyard_service::{Inbox, Service};

use crate::error::ApiResult;
use crate::extract::Authed;

/// What waits for me: approvals to decide, open exit criteria and milestones I own.
#[utoipa::path(get, operation_id = "get_my_inbox", path = "/api/v1/me/inbox", tag = "users", security(("bearer" = [])), responses((status = 200, body = Inbox)))]
pub async fn inbox(State(s): State<Service>, Authed(a): Authed) -> ApiResult<Json<Inbox>> {
    Ok(Json(s.inbox(&a).await?))
}
