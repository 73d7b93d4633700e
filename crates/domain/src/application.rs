//! Applications: the things that are released and deployed.

use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::error::{Fields, Guards};
use crate::{Actor, Change, DomainError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Application {
    /// Short upper-case key, also its id: `PAY`, `WEB2`.
    pub key: String,
    pub name: String,
    /// The user who owns it.
    pub owner: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub archived: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationSpec {
    /// 2 to 16 upper-case letters and digits, starting with a letter.
    pub key: String,
    pub name: String,
    /// Defaults to the creator.
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

fn key_ok(key: &str) -> bool {
    (2..=16).contains(&key.len())
        && key.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && key.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

impl Application {
    pub fn create(spec: ApplicationSpec, actor: &Actor) -> Result<(Application, Change), DomainError> {
        let mut f = Fields::default();
        f.check(key_ok(&spec.key), "key", || {
            format!("'{}' is not an application key: use 2 to 16 upper-case letters and digits, starting with a letter (e.g. PAY)", spec.key)
        });
        f.check(!spec.name.trim().is_empty(), "name", || "must not be empty".into());
        f.done()?;
        let app = Application {
            key: spec.key,
            name: spec.name.trim().to_string(),
            owner: spec.owner.unwrap_or_else(|| actor.name.clone()),
            description: spec.description,
            archived: false,
        };
        let change = Change::new("application", &app.key, "create", json!({"name": app.name, "owner": app.owner}));
        Ok((app, change))
    }

    fn guard_active(&self, action: &str) -> Result<(), DomainError> {
        let mut g = Guards::new(
            action,
            &format!("application {}", self.key),
            if self.archived { "archived" } else { "active" },
        );
        g.check(!self.archived, "archived", || format!("application {} is archived", self.key));
        g.done()
    }

    /// New application releases are of active applications only (an archived one keeps its releases).
    pub(crate) fn check_takes_releases(&self, f: &mut Fields) {
        f.check(!self.archived, "application", || format!("application {} is archived", self.key));
    }

    /// Whether a new application release of it may be created now (its own input aside).
    pub fn takes_releases(&self) -> Result<(), DomainError> {
        let mut f = Fields::default();
        self.check_takes_releases(&mut f);
        f.done()
    }

    pub fn update(&mut self, patch: ApplicationPatch) -> Result<Change, DomainError> {
        if patch.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            return Err(DomainError::invalid("name", "must not be empty"));
        }
        self.guard_active("update")?;
        let data = json!(patch);
        if let Some(n) = patch.name {
            self.name = n.trim().to_string();
        }
        if let Some(o) = patch.owner {
            self.owner = o;
        }
        if let Some(d) = patch.description {
            self.description = d;
        }
        Ok(Change::new("application", &self.key, "update", data))
    }

    pub fn archive(&mut self) -> Result<Change, DomainError> {
        self.guard_active("archive")?;
        self.archived = true;
        Ok(Change::new("application", &self.key, "archive", json!({})))
    }
}
