//! Work items: the business requests and development tasks an application release delivers.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::DomainError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WorkItemKind {
    BusinessRequest,
    DevelopmentTask,
}

impl WorkItemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkItemKind::BusinessRequest => "business_request",
            WorkItemKind::DevelopmentTask => "development_task",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WorkItemStatus {
    Open,
    InProgress,
    Done,
}

impl WorkItemStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkItemStatus::Open => "open",
            WorkItemStatus::InProgress => "in_progress",
            WorkItemStatus::Done => "done",
        }
    }
}

/// A work item as given: by hand, or as one row of an import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkItemSpec {
    /// The key in its source system, e.g. `PAY-142`; unique within the application release.
    pub key: String,
    pub title: String,
    pub kind: WorkItemKind,
    #[serde(default = "open")]
    pub status: WorkItemStatus,
    #[serde(default)]
    pub link: Option<String>,
    /// Where it comes from, e.g. `jira`.
    #[serde(default)]
    pub source: Option<String>,
}

fn open() -> WorkItemStatus {
    WorkItemStatus::Open
}

impl WorkItemSpec {
    /// Its key, title, link and source (within their [limits](crate::limits)), as given by hand or by
    /// one row of an import.
    pub fn validate(&self) -> Result<(), DomainError> {
        crate::limits::check(self)?;
        let key_ok = !self.key.trim().is_empty()
            && self.key.len() <= 64
            && self.key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !key_ok {
            return Err(DomainError::invalid(
                "key",
                format!(
                    "'{}' is not a work item key: use 1 to 64 letters, digits, '-', '_' or '.' (e.g. PAY-142)",
                    self.key
                ),
            ));
        }
        if self.title.trim().is_empty() {
            return Err(DomainError::invalid("title", format!("work item {} needs a title", self.key)));
        }
        Ok(())
    }
}

/// A stored work item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WorkItem {
    /// "WI-17"
    pub id: String,
    /// The application release it belongs to.
    pub release_id: String,
    pub key: String,
    pub title: String,
    pub kind: WorkItemKind,
    pub status: WorkItemStatus,
    #[serde(default)]
    pub link: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
}
