//! Work items of an application release.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use railyard_domain::{WorkItemKind, WorkItemSpec, WorkItemStatus};
use railyard_service::{ImportReport, Page, Service, WorkItemFilter, WorkItemPatch, WorkItemView};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{Authed, Body, IfMatch, Params, Upload};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WorkItemParams {
    /// `business_request` or `development_task`.
    pub kind: Option<String>,
    /// `open`, `in_progress` or `done`.
    pub status: Option<String>,
    /// How many items a page holds (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

fn parse<T: serde::de::DeserializeOwned>(field: &str, v: &str, allowed: &str) -> Result<T, ApiError> {
    serde_json::from_value(serde_json::Value::String(v.to_string()))
        .map_err(|_| ApiError::invalid(field, format!("unknown {field} '{v}'; allowed: {allowed}")))
}

#[utoipa::path(get, operation_id = "list_work_items", path = "/api/v1/application-releases/{id}/work-items", tag = "work items", params(("id" = String, Path, example = "AR-4"), WorkItemParams),
    security(("bearer" = [])), responses((status = 200, body = Page<WorkItemView>), (status = 404, body = Problem)))]
pub async fn list(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    Params(p): Params<WorkItemParams>,
) -> ApiResult<Json<Page<WorkItemView>>> {
    let filter = WorkItemFilter {
        kind: p
            .kind
            .as_deref()
            .map(|k| parse::<WorkItemKind>("kind", k, "business_request, development_task"))
            .transpose()?,
        status: p
            .status
            .as_deref()
            .map(|k| parse::<WorkItemStatus>("status", k, "open, in_progress, done"))
            .transpose()?,
        limit: p.limit,
        cursor: p.cursor,
    };
    Ok(Json(s.work_items(&a, &id, filter).await?))
}

#[utoipa::path(post, operation_id = "create_work_item", path = "/api/v1/application-releases/{id}/work-items", tag = "work items", params(("id" = String, Path, example = "AR-4")),
    request_body = WorkItemSpec, security(("bearer" = [])),
    responses((status = 201, body = WorkItemView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    Body(b): Body<WorkItemSpec>,
) -> ApiResult<(StatusCode, Json<WorkItemView>)> {
    Ok((StatusCode::CREATED, Json(s.add_work_item(&a, &id, b).await?)))
}

/// The file an import reads, as it is: its bytes, not a JSON string (a Jira export may carry a byte
/// order mark). Documented as a binary string, so that clients send a file.
struct WorkItemFile;

impl utoipa::PartialSchema for WorkItemFile {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .into()
    }
}

impl utoipa::ToSchema for WorkItemFile {}

/// Imports work items from a CSV file (Railyard's columns `key,title,kind,status,link,source`, or a Jira
/// issue export as it comes) or JSON (an array of work items). All or nothing; a bad row is named by its
/// line; importing the same file twice changes nothing the second time.
#[utoipa::path(post, operation_id = "import_work_items", path = "/api/v1/application-releases/{id}/work-items/import", tag = "work items", params(("id" = String, Path, example = "AR-4")),
    request_body(content = inline(WorkItemFile), content_type = "text/csv", description = "the file: CSV with a header row, or JSON"),
    security(("bearer" = [])), responses((status = 200, body = ImportReport), (status = 422, body = Problem)))]
pub async fn import(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    file: Upload,
) -> ApiResult<Json<ImportReport>> {
    Ok(Json(s.import_work_items(&a, &id, &file.bytes, file.content_type.as_deref()).await?))
}

#[utoipa::path(get, operation_id = "get_work_item", path = "/api/v1/work-items/{id}", tag = "work items", params(("id" = String, Path, example = "WI-1")),
    security(("bearer" = [])), responses((status = 200, body = WorkItemView), (status = 404, body = Problem)))]
pub async fn show(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<WorkItemView>> {
    Ok(Json(s.work_item(&a, &id).await?))
}

#[utoipa::path(patch, operation_id = "update_work_item", path = "/api/v1/work-items/{id}", tag = "work items", params(("If-Match" = Option<String>, Header, description = "The version the change is based on, e.g. `\"3\"`: a stale one is refused with 409"), ("id" = String, Path, example = "WI-1")), request_body = WorkItemPatch,
    security(("bearer" = [])), responses((status = 200, body = WorkItemView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn update(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    IfMatch(v): IfMatch,
    Body(b): Body<WorkItemPatch>,
) -> ApiResult<Json<WorkItemView>> {
    Ok(Json(s.update_work_item(&a, &id, b, v).await?))
}
