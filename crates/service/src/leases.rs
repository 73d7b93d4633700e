//! The engine's lease on a deployment, in a record of its own (kind `deployment_lease`, the
//! deployment's id).
//!
//! A lease is renewed every few seconds while a deployment runs or waits, and a renewal is no change
//! to the deployment: it is written without an event. Kept apart, the deployment itself is only ever
//! written by changes with events, so the audit cross-check holds it to exactly what the last change
//! listed (see `audit::record_rule`), while the lease record is housekeeping.
//!
//! Every commit the engine makes for a deployment also writes its lease, at the version it read: two
//! engines that decided on the same lease conflict, and only one of them commits (several servers on
//! one PostgreSQL database never run a deployment twice). A lease record is created only by a commit
//! with events, so every lease record is listed by some change.

use railyard_domain::Lease;
use serde::{Deserialize, Serialize};

use crate::persist::Aggregate;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct DeploymentLease {
    /// The deployment's id.
    pub deployment: String,
    #[serde(flatten)]
    pub lease: Lease,
}

impl Aggregate for DeploymentLease {
    const KIND: &'static str = "deployment_lease";
    fn id(&self) -> &str {
        &self.deployment
    }
    /// A lease has no state of its own: the cross-check's housekeeping rule keeps it at the one every
    /// listing gave it.
    fn state(&self) -> Option<String> {
        None
    }
    fn parent_id(&self) -> Option<String> {
        Some(self.deployment.clone())
    }
}
