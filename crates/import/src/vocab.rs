//! The words a CSV may use for a work item's kind and status: Railyard's own and Jira's.
//!
//! Values are compared case-insensitively, ignoring spaces, `-` and `_` (`Sub-task` = `subtask`,
//! `In Progress` = `in_progress`).

use railyard_domain::{WorkItemKind, WorkItemStatus};

use WorkItemKind::{BusinessRequest, DevelopmentTask};
use WorkItemStatus::{Done, InProgress, Open};

const KINDS: &[(&str, WorkItemKind)] = &[
    ("business_request", BusinessRequest),
    ("development_task", DevelopmentTask),
    ("Epic", BusinessRequest),
    ("New Feature", BusinessRequest),
    ("Improvement", BusinessRequest),
    ("Story", DevelopmentTask),
    ("Task", DevelopmentTask),
    ("Bug", DevelopmentTask),
    ("Sub-task", DevelopmentTask),
];

const STATUSES: &[(&str, WorkItemStatus)] = &[
    ("open", Open),
    ("in_progress", InProgress),
    ("done", Done),
    ("To Do", Open),
    ("Open", Open),
    ("Backlog", Open),
    ("Selected for Development", Open),
    ("New", Open),
    ("Reopened", Open),
    ("In Progress", InProgress),
    ("In Review", InProgress),
    ("In Development", InProgress),
    ("Code Review", InProgress),
    ("Testing", InProgress),
    ("In Test", InProgress),
    ("Done", Done),
    ("Closed", Done),
    ("Resolved", Done),
    ("Released", Done),
    ("Complete", Done),
    ("Completed", Done),
];

/// Lowercase ASCII letters and digits only; `None` for anything longer than any accepted value.
fn normalized(s: &str) -> Option<([u8; 32], usize)> {
    let mut out = [0u8; 32];
    let mut len = 0;
    for b in s.bytes().filter(u8::is_ascii_alphanumeric) {
        *out.get_mut(len)? = b.to_ascii_lowercase();
        len += 1;
    }
    Some((out, len))
}

fn lookup<T: Copy>(table: &[(&str, T)], value: &str) -> Option<T> {
    let (wanted, len) = normalized(value)?;
    let wanted = &wanted[..len];
    table.iter().find(|(name, _)| normalized(name).is_some_and(|(n, l)| &n[..l] == wanted)).map(|&(_, v)| v)
}

/// The accepted values grouped by what they mean, e.g. `business request = business_request, Epic, ...`.
fn accepted<T: Copy + PartialEq>(table: &[(&str, T)], groups: &[(&str, T)]) -> String {
    groups
        .iter()
        .map(|&(label, value)| {
            let names: Vec<&str> = table.iter().filter(|(_, v)| *v == value).map(|(n, _)| *n).collect();
            format!("{label} = {}", names.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

pub(crate) fn kind(value: &str) -> Result<WorkItemKind, String> {
    lookup(KINDS, value).ok_or_else(|| {
        let groups = [("business request", BusinessRequest), ("development task", DevelopmentTask)];
        format!("accepted values (case-insensitive): {}", accepted(KINDS, &groups))
    })
}

/// An empty status means open.
pub(crate) fn status(value: &str) -> Result<WorkItemStatus, String> {
    if value.trim().is_empty() {
        return Ok(Open);
    }
    lookup(STATUSES, value).ok_or_else(|| {
        let groups = [("open", Open), ("in progress", InProgress), ("done", Done)];
        format!("accepted values (case-insensitive): {}", accepted(STATUSES, &groups))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings() {
        assert_eq!(kind("Sub-task"), Ok(DevelopmentTask));
        assert_eq!(kind("subtask"), Ok(DevelopmentTask));
        assert_eq!(kind(" new feature "), Ok(BusinessRequest));
        assert_eq!(kind("DEVELOPMENT_TASK"), Ok(DevelopmentTask));
        assert_eq!(status("in_progress"), Ok(InProgress));
        assert_eq!(status("Selected for Development"), Ok(Open));
        assert_eq!(status(""), Ok(Open));
        assert!(kind("Spike").is_err());
        assert!(status("Parked").is_err());
    }
}
