//! Thin handlers: extract, call the service, wrap the answer. One file per resource.

pub mod applications;
pub mod approvals;
pub mod audit;
pub mod dependencies;
pub mod deployments;
pub mod environments;
pub mod gates;
pub mod inbox;
pub mod milestones;
pub mod paths;
pub mod production;
pub mod releases;
pub mod runbooks;
pub mod system;
pub mod tokens;
pub mod train_actions;
pub mod trains;
pub mod turnovers;
pub mod users;
pub mod work_items;

use std::str::FromStr;

use crate::error::ApiError;

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
