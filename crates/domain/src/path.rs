//! Deployment paths: the ordered environments a turnover must pass (DESIGN.md §1, R8).
//!
//! A path is edited only in draft; it is given to turnovers only while active; returning it to draft for
//! edits leaves the turnovers already on it with the stages they started with (they keep a copy).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::error::{Fields, Guards};
use crate::{Change, DomainError, ReleaseType};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PathState {
    Draft,
    Active,
    Retired,
}

impl PathState {
    pub fn as_str(self) -> &'static str {
        match self {
            PathState::Draft => "draft",
            PathState::Active => "active",
            PathState::Retired => "retired",
        }
    }
}

impl fmt::Display for PathState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One stage of a path: an environment, and how a turnover passes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// The environment's name.
    pub environment: String,
    /// A required stage is never skipped (R8).
    #[serde(default = "yes")]
    pub required: bool,
    /// Whether a turnover may be deployed into it again after a fix (R8).
    #[serde(default = "yes")]
    pub allow_redeploy: bool,
    /// Once a turnover enters this stage its tasks and artifacts are frozen (R12).
    #[serde(default)]
    pub freeze_tasks: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeploymentPath {
    /// "DP-2"
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The release types it serves (empty: all).
    #[serde(default)]
    pub release_types: Vec<ReleaseType>,
    pub stages: Vec<Stage>,
    pub state: PathState,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PathSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub release_types: Vec<ReleaseType>,
    #[serde(default)]
    pub stages: Vec<Stage>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PathPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_types: Option<Vec<ReleaseType>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stages: Option<Vec<Stage>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathAction {
    Activate,
    ReturnToDraft,
    Retire,
}

fn check_stages(f: &mut Fields, stages: &[Stage]) {
    let mut seen = std::collections::BTreeSet::new();
    for (i, s) in stages.iter().enumerate() {
        f.check(seen.insert(s.environment.as_str()), &format!("stages[{i}].environment"), || {
            format!("environment {} appears twice in the path", s.environment)
        });
    }
}

impl DeploymentPath {
    pub fn create(id: String, spec: PathSpec) -> Result<(DeploymentPath, Change), DomainError> {
        let mut f = Fields::default();
        f.check(!spec.name.trim().is_empty(), "name", || "must not be empty".into());
        check_stages(&mut f, &spec.stages);
        f.done()?;
        let path = DeploymentPath {
            id,
            name: spec.name.trim().to_string(),
            description: spec.description,
            release_types: spec.release_types,
            stages: spec.stages,
            state: PathState::Draft,
        };
        let change =
            Change::new("deployment_path", &path.id, "create", json!({"name": path.name, "stages": path.stages}));
        Ok((path, change))
    }

    fn describe(&self) -> String {
        format!("deployment path {} '{}'", self.id, self.name)
    }

    /// Edits happen in draft only: turnovers take an active path's stages as they are.
    pub fn update(&mut self, patch: PathPatch) -> Result<Change, DomainError> {
        let mut f = Fields::default();
        if let Some(n) = &patch.name {
            f.check(!n.trim().is_empty(), "name", || "must not be empty".into());
        }
        if let Some(s) = &patch.stages {
            check_stages(&mut f, s);
        }
        f.done()?;
        let mut g = Guards::new("update", &self.describe(), self.state);
        g.check(self.state == PathState::Draft, "not_draft", || {
            format!(
                "{} is {}; return it to draft to edit it (turnovers on it keep their stages)",
                self.describe(),
                self.state
            )
        });
        g.done()?;
        let data = json!(patch);
        if let Some(n) = patch.name {
            self.name = n.trim().to_string();
        }
        if let Some(d) = patch.description {
            self.description = d;
        }
        if let Some(t) = patch.release_types {
            self.release_types = t;
        }
        if let Some(s) = patch.stages {
            self.stages = s;
        }
        Ok(Change::new("deployment_path", &self.id, "update", data))
    }

    /// Runs a lifecycle action. `unusable` lists, for activation, each stage environment that is
    /// unknown or decommissioned, with why (the service looks them up).
    pub fn apply(&mut self, action: PathAction, unusable: &[String]) -> Result<Change, DomainError> {
        let (name, ok, to) = match action {
            PathAction::Activate => ("activate", self.state == PathState::Draft, PathState::Active),
            PathAction::ReturnToDraft => ("return_to_draft", self.state == PathState::Active, PathState::Draft),
            PathAction::Retire => ("retire", self.state != PathState::Retired, PathState::Retired),
        };
        let mut g = Guards::new(name, &self.describe(), self.state);
        g.check(ok, "wrong_state", || {
            format!("{} is {}; {name} is not allowed from there", self.describe(), self.state)
        });
        if action == PathAction::Activate {
            g.check(!self.stages.is_empty(), "no_stages", || format!("{} has no stages", self.describe()));
            for why in unusable {
                g.fail("stage_environment_unusable", why.clone());
            }
        }
        g.done()?;
        let from = self.state;
        self.state = to;
        Ok(Change::new("deployment_path", &self.id, name, json!({"from": from, "to": to})))
    }
}
