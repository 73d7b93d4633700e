//! Stop the line: an admin or a release manager halts every deployment that has not started yet,
//! everywhere, and later resumes, each time with a reason. Runs already in flight finish.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::error::Guards;
use crate::{Actor, Change, DomainError};

/// The one record that says whether the line is stopped. Its id is [`Line::ID`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Line {
    pub halted: bool,
    /// Why it was last halted or resumed.
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub by: Option<String>,
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
}

impl Line {
    pub const ID: &'static str = "line";

    /// Why nothing new starts, while halted.
    pub fn hold(&self) -> Option<String> {
        self.halted.then(|| {
            format!(
                "the line is stopped by {} since {}: {}; nothing new starts until it is resumed",
                self.by.as_deref().unwrap_or("someone"),
                self.at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                self.reason.as_deref().unwrap_or("")
            )
        })
    }

    fn set(&mut self, halt: bool, reason: &str, actor: &Actor, now: DateTime<Utc>) -> Result<Change, DomainError> {
        let action = if halt { "halt" } else { "resume" };
        if reason.trim().is_empty() {
            return Err(DomainError::invalid("reason", format!("{action} needs a reason")));
        }
        let state = if self.halted { "halted" } else { "running" };
        let mut g = Guards::new(action, "the line", state);
        g.check(self.halted != halt, "wrong_state", || format!("the line is already {state}"));
        g.done()?;
        self.halted = halt;
        self.reason = Some(reason.trim().to_string());
        self.by = Some(actor.name.clone());
        self.at = Some(now);
        Ok(Change::new("line", Line::ID, action, json!({"reason": reason.trim()})))
    }

    pub fn halt(&mut self, reason: &str, actor: &Actor, now: DateTime<Utc>) -> Result<Change, DomainError> {
        self.set(true, reason, actor, now)
    }

    pub fn resume(&mut self, reason: &str, actor: &Actor, now: DateTime<Utc>) -> Result<Change, DomainError> {
        self.set(false, reason, actor, now)
    }
}
