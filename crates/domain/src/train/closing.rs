//! What keeps a train from closing (R14): a production-ready turnover neither verified in all its
//! environments nor cancelled, or any deployment of the train running.

use crate::{Deployment, DeploymentState, Turnover, TurnoverKind, TurnoverState};

/// One line per thing that keeps the train open, in words, from its turnovers (each with its
/// deployments).
pub fn closing_blockers(turnovers: &[(&Turnover, &[Deployment])]) -> Vec<String> {
    let mut open = Vec::new();
    for (t, deployments) in turnovers {
        for d in deployments.iter().filter(|d| d.state == DeploymentState::Running) {
            open.push(format!("{} is running", d.describe()));
        }
        if t.kind != TurnoverKind::ProductionReady {
            continue;
        }
        match t.state {
            TurnoverState::Verified | TurnoverState::Cancelled | TurnoverState::Closed => {}
            state => {
                let why = if matches!(state, TurnoverState::Draft | TurnoverState::Delivered) {
                    vec!["not yet accepted".to_string()]
                } else {
                    t.unverified(deployments)
                };
                open.push(format!(
                    "{} is {state}, neither verified in all its environments nor cancelled: {}",
                    t.describe(),
                    why.join("; ")
                ));
            }
        }
    }
    open
}
