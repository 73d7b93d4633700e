//! An application release is verified when one of its pre-production turnovers has a validated
//! deployment in every required pre-production stage of its path. Optional stages, skipped or not,
//! never count; production stages are verified later, after deployment.

use serde::Serialize;
use utoipa::ToSchema;

use crate::{Deployment, DeploymentState, Turnover, TurnoverKind, TurnoverState};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Verification {
    pub release: String,
    pub verified: bool,
    /// The turnover closest to verifying it (the one with the fewest stages missing).
    pub turnover: Option<String>,
    /// Required pre-production stages (environment names) that turnover still lacks a validated
    /// deployment in.
    pub missing: Vec<String>,
}

impl Verification {
    /// Why it is not verified, in words.
    pub fn why(&self) -> String {
        match &self.turnover {
            None => "it has no turnover".into(),
            Some(t) => format!("turnover {t} has no validated deployment in {}", self.missing.join(", ")),
        }
    }

    /// Decides from the release's turnovers, each with its deployments, and which environments are
    /// production ones.
    pub fn of(release: &str, turnovers: &[(Turnover, Vec<Deployment>)], is_production: impl Fn(&str) -> bool) -> Self {
        let mut best: Option<(String, Vec<String>)> = None;
        // Only pre-production turnovers verify a release: a production-ready one has no pre-production
        // stage, and would count as validated everywhere.
        let candidates =
            turnovers.iter().filter(|(t, _)| t.state != TurnoverState::Cancelled && t.kind == TurnoverKind::Standard);
        for (t, deployments) in candidates {
            let validated: Vec<usize> = deployments
                .iter()
                .filter(|d| d.state == DeploymentState::Validated && d.generation == t.generation)
                .map(|d| d.stage)
                .collect();
            let missing: Vec<String> = t
                .stages
                .iter()
                .enumerate()
                .filter(|(i, s)| s.required && !is_production(&s.environment) && !validated.contains(i))
                .map(|(_, s)| s.environment.clone())
                .collect();
            if best.as_ref().is_none_or(|(_, m)| missing.len() < m.len()) {
                best = Some((t.id.clone(), missing));
            }
        }
        match best {
            Some((turnover, missing)) => Verification {
                release: release.to_string(),
                verified: missing.is_empty(),
                turnover: Some(turnover),
                missing,
            },
            None => Verification { release: release.to_string(), verified: false, turnover: None, missing: Vec::new() },
        }
    }
}
