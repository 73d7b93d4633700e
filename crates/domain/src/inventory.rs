//! What is deployed where: the inventory of application × environment.
//!
//! **What is there now.** A deployment puts its turnover's artifacts into its environment when it
//! *lands*: every one of its task runs succeeded or was skipped, so it is succeeded, validated, or
//! rejected (a failed validation says the release is not good, not that the artifacts left). A failed,
//! abandoned or still running deployment does not change what is there, and neither does a rollback (it
//! takes a failed production attempt back out, returning the environment to what the inventory already
//! shows). What is in a cell now is the landing that finished last among the deployments of that
//! application's turnovers into that environment. A turnover carrying releases of several applications
//! counts in each of their rows; an artifact named after one of those applications (its key, in any
//! case: `auth` for AUTH) shows in that application's row only, the others in every row.
//!
//! The service finds these facts (the deployments of an environment newest first, and which application
//! each release belongs to); this module decides from them alone.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{Deployment, DeploymentState};

/// The deployment states in which a deployment has landed (see the module's rule).
pub const LANDED_STATES: [DeploymentState; 3] =
    [DeploymentState::Succeeded, DeploymentState::Validated, DeploymentState::Rejected];

/// Whether `d` put its artifacts into its environment (see the module's rule).
pub fn landed(d: &Deployment) -> bool {
    !d.rollback && LANDED_STATES.contains(&d.state) && d.finished_at.is_some()
}

/// One artifact as a deployment put it into an environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ArtifactVersion {
    pub name: String,
    pub version: String,
}

impl ArtifactVersion {
    /// From a deployment's `name@version` (the last `@` separates them: `@scope/web@2.1`).
    pub fn parse(text: &str) -> ArtifactVersion {
        match text.rsplit_once('@') {
            Some((name, version)) if !name.is_empty() => {
                ArtifactVersion { name: name.to_string(), version: version.to_string() }
            }
            _ => ArtifactVersion { name: text.to_string(), version: String::new() },
        }
    }
}

/// A deployment that landed, as one cell of the inventory sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Placement {
    pub application: String,
    pub environment: String,
    /// The deployment that put the artifacts there: "DE-12".
    pub deployment: String,
    pub turnover: String,
    /// The application's release the turnover carries: "AR-3".
    pub release: String,
    pub train: String,
    /// The artifacts as they were when the deployment was scheduled.
    pub artifacts: Vec<ArtifactVersion>,
    /// Who deployed it (scheduled or started the deployment).
    pub deployed_by: String,
    pub started_at: Option<DateTime<Utc>>,
    /// When it landed: its last task run finished.
    pub landed_at: DateTime<Utc>,
    /// succeeded (awaiting validation), validated, or rejected.
    pub state: DeploymentState,
    /// Who validated (or verified) it, when someone did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validated_by: Option<String>,
    pub attempt: u32,
    /// A deployment of a production-ready turnover.
    pub production: bool,
}

impl Placement {
    /// The placement of `d` in `application`'s row, when it landed and carries one of its releases;
    /// `application_of` names the application of a release (None: unknown release).
    pub fn of<'a>(
        d: &Deployment,
        application: &str,
        application_of: impl Fn(&str) -> Option<&'a str>,
    ) -> Option<Placement> {
        if !landed(d) {
            return None;
        }
        let release = d.releases.iter().find(|r| application_of(r) == Some(application))?;
        let others: Vec<&str> =
            d.releases.iter().filter_map(|r| application_of(r)).filter(|a| *a != application).collect();
        let artifacts = d
            .artifacts
            .iter()
            .map(|a| ArtifactVersion::parse(a))
            .filter(|a| !others.iter().any(|o| o.eq_ignore_ascii_case(&a.name)))
            .collect();
        Some(Placement {
            application: application.to_string(),
            environment: d.environment.clone(),
            deployment: d.id.clone(),
            turnover: d.turnover_id.clone(),
            release: release.clone(),
            train: d.train_id.clone(),
            artifacts,
            deployed_by: d.created_by.clone(),
            started_at: d.started_at,
            landed_at: d.finished_at?,
            state: d.state,
            validated_by: d.validation.as_ref().map(|v| v.by.clone()),
            attempt: d.attempt,
            production: d.production,
        })
    }

    /// Every application's placement of `d` (one per application whose release it carries).
    pub fn all_of<'a>(d: &Deployment, application_of: impl Fn(&str) -> Option<&'a str>) -> Vec<Placement> {
        let mut apps: Vec<&str> = d.releases.iter().filter_map(|r| application_of(r)).collect();
        apps.sort_unstable();
        apps.dedup();
        apps.into_iter().filter_map(|a| Placement::of(d, a, &application_of)).collect()
    }

    /// Whether this landing replaced `other` in their cell: it finished later (the deployment's number
    /// breaks a tie).
    pub fn supersedes(&self, other: &Placement) -> bool {
        (self.landed_at, deployment_number(&self.deployment)) > (other.landed_at, deployment_number(&other.deployment))
    }
}

fn deployment_number(id: &str) -> i64 {
    id.rsplit('-').next().and_then(|n| n.parse().ok()).unwrap_or(0)
}

/// What is in each cell of one environment's column, built from its deployments as the service reads
/// them (newest first, a page at a time): it keeps only the newest landing per application, so its
/// size is bounded by the applications asked about, not by the history read.
#[derive(Debug, Clone, Default)]
pub struct Column {
    wanted: Vec<String>,
    found: BTreeMap<String, Placement>,
}

impl Column {
    /// A column for these applications (the grid's rows).
    pub fn for_applications(applications: &[String]) -> Column {
        Column { wanted: applications.to_vec(), found: BTreeMap::new() }
    }

    /// Takes one deployment into account.
    pub fn offer<'a>(&mut self, d: &Deployment, application_of: impl Fn(&str) -> Option<&'a str>) {
        for p in Placement::all_of(d, application_of) {
            if !self.wanted.contains(&p.application) {
                continue;
            }
            match self.found.get(&p.application) {
                Some(old) if !p.supersedes(old) => {}
                _ => {
                    self.found.insert(p.application.clone(), p);
                }
            }
        }
    }

    /// Every application asked about has a landing. Reading further back can then change a cell only
    /// through a deployment scheduled earlier that landed later (a failure retried after another
    /// landed): one that landed at or after [`Column::settled_since`].
    pub fn is_full(&self) -> bool {
        self.wanted.iter().all(|a| self.found.contains_key(a))
    }

    /// The earliest landing time among the cells found: an older deployment can still replace one of
    /// them only if it landed at or after this.
    pub fn settled_since(&self) -> Option<DateTime<Utc>> {
        self.found.values().map(|p| p.landed_at).min()
    }

    /// What is there now, per application (absent: nothing of it ever landed there).
    pub fn into_cells(self) -> BTreeMap<String, Placement> {
        self.found
    }
}

#[cfg(test)]
mod tests;
