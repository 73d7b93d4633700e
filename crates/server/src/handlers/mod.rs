//! Thin handlers: extract, call the service, wrap the answer. One file per resource.

pub mod actions;
pub mod applications;
pub mod approvals;
pub mod audit;
pub mod dependencies;
pub mod deployments;
pub mod environments;
pub mod gates;
pub mod inbox;
pub mod inventory;
pub mod milestones;
pub mod paths;
pub mod production;
pub mod releases;
pub mod runbooks;
pub mod runners;
pub mod secrets;
pub mod system;
pub mod tokens;
pub mod train_actions;
pub mod trains;
pub mod turnovers;
pub mod users;
pub mod variables;
pub mod work_items;

use std::str::FromStr;

use chrono::{DateTime, Utc};

use crate::error::{ApiError, ApiResult};

/// Parses a comma-separated list of enum values from a query parameter.
pub(crate) fn parse_list<T: FromStr<Err = String>>(field: &str, value: Option<&str>) -> Result<Vec<T>, ApiError> {
    value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<T>().map_err(|e| ApiError::invalid(field, e)))
        .collect()
}

pub(crate) fn parse_one<T: FromStr<Err = String>>(field: &str, value: &str) -> Result<T, ApiError> {
    value.parse::<T>().map_err(|e| ApiError::invalid(field, e))
}

/// A time from a query parameter: RFC 3339, within the years the API accepts (1900 to 2999).
pub(crate) fn parse_time(field: &str, value: Option<&str>) -> ApiResult<Option<DateTime<Utc>>> {
    let Some(v) = value else { return Ok(None) };
    let time = DateTime::parse_from_rfc3339(v).map(|t| t.with_timezone(&Utc)).map_err(|e| {
        ApiError::invalid(field, format!("'{v}' is not an RFC 3339 time (e.g. 2027-01-04T09:00:00Z): {e}"))
    })?;
    railyard_domain::limits::check_time(field, time).map_err(railyard_service::ServiceError::from)?;
    Ok(Some(time))
}
