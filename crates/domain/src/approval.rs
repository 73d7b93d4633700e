//! Approvals: `pending --> approved | rejected | overridden | cancelled`.
//!
//! Levels are decided in order; a level is approved when its required number of listed users approved;
//! one rejection rejects the whole approval (DESIGN.md §2). R2: the requester never decides, and each
//! user decides once. R3: only the train's manager overrides, only where the policy allows, with a reason.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::error::Guards;
use crate::{ApprovalPolicy, Change, DomainError, GateName, PolicyLevel, TrainState};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalKind {
    Train,
    Development,
    Executive,
    Gate,
}

impl ApprovalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalKind::Train => "train",
            ApprovalKind::Development => "development",
            ApprovalKind::Executive => "executive",
            ApprovalKind::Gate => "gate",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalState {
    Pending,
    Approved,
    Rejected,
    Overridden,
    Cancelled,
}

impl ApprovalState {
    pub const ALL: [ApprovalState; 5] = [
        ApprovalState::Pending,
        ApprovalState::Approved,
        ApprovalState::Rejected,
        ApprovalState::Overridden,
        ApprovalState::Cancelled,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalState::Pending => "pending",
            ApprovalState::Approved => "approved",
            ApprovalState::Rejected => "rejected",
            ApprovalState::Overridden => "overridden",
            ApprovalState::Cancelled => "cancelled",
        }
    }
    /// Approved, or overridden by the train's manager: the thing approved may go ahead.
    pub fn is_granted(self) -> bool {
        matches!(self, ApprovalState::Approved | ApprovalState::Overridden)
    }
}

impl fmt::Display for ApprovalState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ApprovalState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ApprovalState::ALL.into_iter().find(|x| x.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = ApprovalState::ALL.iter().map(|x| x.as_str()).collect();
            format!("unknown approval state '{s}'; states are {}", names.join(", "))
        })
    }
}

/// A link from the approved object to its approval, with the approval's state mirrored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApprovalRef {
    pub id: String,
    pub state: ApprovalState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Approve,
    Reject,
}

/// One user's decision at one level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Decision {
    pub user: String,
    /// 1-based level number.
    pub level: usize,
    pub verdict: Verdict,
    #[serde(default)]
    pub comment: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Approval {
    /// "AP-3"
    pub id: String,
    pub kind: ApprovalKind,
    pub train_id: String,
    /// For gate approvals: which gate.
    #[serde(default)]
    pub gate: Option<GateName>,
    /// What is being approved: the train, or (development) the application release.
    pub subject_id: String,
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    /// The policy's levels as they were when the approval was requested.
    pub levels: Vec<PolicyLevel>,
    pub override_allowed: bool,
    pub state: ApprovalState,
    #[serde(default)]
    pub decisions: Vec<Decision>,
    #[serde(default)]
    pub override_reason: Option<String>,
    #[serde(default)]
    pub overridden_by: Option<String>,
    /// Executive rejections: the stage the train goes back to.
    #[serde(default)]
    pub return_to: Option<TrainState>,
    #[serde(default)]
    pub cancel_reason: Option<String>,
    #[serde(default)]
    pub decided_at: Option<DateTime<Utc>>,
}

pub struct ApprovalRequest<'a> {
    pub id: String,
    pub kind: ApprovalKind,
    pub train_id: &'a str,
    pub gate: Option<GateName>,
    pub subject_id: &'a str,
    pub policy: &'a ApprovalPolicy,
    pub requested_by: &'a str,
    pub now: DateTime<Utc>,
}

impl Approval {
    pub fn request(r: ApprovalRequest<'_>) -> (Approval, Change) {
        let a = Approval {
            id: r.id,
            kind: r.kind,
            train_id: r.train_id.to_string(),
            gate: r.gate,
            subject_id: r.subject_id.to_string(),
            requested_by: r.requested_by.to_string(),
            requested_at: r.now,
            levels: r.policy.levels.clone(),
            override_allowed: r.policy.override_allowed,
            state: ApprovalState::Pending,
            decisions: Vec::new(),
            override_reason: None,
            overridden_by: None,
            return_to: None,
            cancel_reason: None,
            decided_at: None,
        };
        let change = Change::new(
            "approval",
            &a.id,
            "request",
            json!({"kind": a.kind, "train_id": a.train_id, "gate": a.gate, "subject_id": a.subject_id, "levels": a.levels}),
        );
        (a, change)
    }

    pub fn as_ref(&self) -> ApprovalRef {
        ApprovalRef { id: self.id.clone(), state: self.state }
    }

    /// How many users approved at a level (0-based index).
    pub fn approvals_at(&self, level: usize) -> usize {
        self.decisions.iter().filter(|d| d.level == level + 1 && d.verdict == Verdict::Approve).count()
    }

    /// The first level (0-based) not yet approved, while the approval is pending.
    pub fn current_level(&self) -> Option<usize> {
        if self.state != ApprovalState::Pending {
            return None;
        }
        (0..self.levels.len()).find(|&i| self.approvals_at(i) < self.levels[i].required as usize)
    }

    fn describe(&self) -> String {
        format!("approval {}", self.id)
    }

    /// Approve or reject at the current level.
    pub fn decide(
        &mut self,
        user: &str,
        verdict: Verdict,
        comment: Option<String>,
        return_to: Option<TrainState>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Change>, DomainError> {
        let action = match verdict {
            Verdict::Approve => "approve",
            Verdict::Reject => "reject",
        };
        let comment = comment.map(|c| c.trim().to_string()).filter(|c| !c.is_empty());
        if verdict == Verdict::Reject && comment.is_none() {
            return Err(DomainError::invalid("comment", "a rejection needs a comment saying why"));
        }
        match (self.kind, verdict, return_to) {
            (ApprovalKind::Executive, Verdict::Reject, None) => {
                return Err(DomainError::invalid(
                    "return_to",
                    "an executive rejection must say where the train goes back to: verification or construction",
                ));
            }
            (ApprovalKind::Executive, Verdict::Reject, Some(TrainState::Verification | TrainState::Construction)) => {}
            (_, _, Some(t)) if self.kind == ApprovalKind::Executive => {
                return Err(DomainError::invalid(
                    "return_to",
                    format!(
                        "'{t}' is not allowed; an executive rejection returns the train to verification or construction"
                    ),
                ));
            }
            (_, _, Some(_)) => {
                return Err(DomainError::invalid(
                    "return_to",
                    "return_to applies only to rejecting an executive approval",
                ));
            }
            _ => {}
        }
        let mut g = Guards::new(action, &self.describe(), self.state);
        g.check(self.state == ApprovalState::Pending, "wrong_state", || {
            format!("{} is {}, not pending: it can no longer be decided", self.describe(), self.state)
        });
        g.check(self.requested_by != user, "own_request", || {
            format!("you requested {}; someone else must decide it (segregation of duties)", self.describe())
        });
        g.check(!self.decisions.iter().any(|d| d.user == user), "already_decided", || {
            format!("you already decided {}; each approver decides once", self.describe())
        });
        let level = self.current_level();
        if let Some(level) = level {
            let listed_here = self.levels[level].approvers.iter().any(|a| a == user);
            if !listed_here {
                let later =
                    self.levels.iter().enumerate().skip(level + 1).find(|(_, l)| l.approvers.iter().any(|a| a == user));
                match later {
                    Some((i, _)) => g.fail(
                        "level_not_reached",
                        format!(
                            "you approve at level {}, but level {} is not yet approved ({} of {} approvals from {})",
                            i + 1,
                            level + 1,
                            self.approvals_at(level),
                            self.levels[level].required,
                            self.levels[level].approvers.join(", ")
                        ),
                    ),
                    None => g.fail(
                        "not_an_approver",
                        format!(
                            "you are not an approver of level {} of {}; its approvers are {}",
                            level + 1,
                            self.describe(),
                            self.levels[level].approvers.join(", ")
                        ),
                    ),
                }
            }
        }
        g.done()?;
        let Some(level) = level else {
            return Err(DomainError::invalid("approval", "the approval has no level left to decide"));
        };
        self.decisions.push(Decision {
            user: user.to_string(),
            level: level + 1,
            verdict,
            comment: comment.clone(),
            at: now,
        });
        let mut changes = vec![Change::new(
            "approval",
            &self.id,
            action,
            json!({"level": level + 1, "comment": comment, "return_to": return_to}),
        )];
        match verdict {
            Verdict::Reject => {
                self.state = ApprovalState::Rejected;
                self.return_to = return_to;
                self.decided_at = Some(now);
                changes.push(Change::new("approval", &self.id, "rejected", json!({"level": level + 1})));
            }
            Verdict::Approve => {
                if self.current_level().is_none() {
                    self.state = ApprovalState::Approved;
                    self.decided_at = Some(now);
                    changes.push(Change::new("approval", &self.id, "approved", json!({})));
                }
            }
        }
        Ok(changes)
    }

    /// R3: the train's manager overrides a pending approval where the policy allows it, with a reason.
    pub fn override_by(
        &mut self,
        user: &str,
        train_manager: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Change>, DomainError> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(DomainError::invalid("reason", "an override needs a reason"));
        }
        let mut g = Guards::new("override", &self.describe(), self.state);
        g.check(self.state == ApprovalState::Pending, "wrong_state", || {
            format!("{} is {}, not pending: there is nothing to override", self.describe(), self.state)
        });
        // R3 names the one person (access::rules::TRAIN_MANAGER_ONLY): not even an admin stands in.
        g.deny(user == train_manager, crate::access::rules::TRAIN_MANAGER_ONLY.code, || {
            format!("only the train's manager ({train_manager}) may override an approval")
        });
        g.check(self.override_allowed, "override_not_allowed", || {
            format!("the {} approval policy of this train does not allow overrides", self.kind.as_str())
        });
        g.done()?;
        self.state = ApprovalState::Overridden;
        self.override_reason = Some(reason.to_string());
        self.overridden_by = Some(user.to_string());
        self.decided_at = Some(now);
        Ok(vec![Change::new("approval", &self.id, "override", json!({"reason": reason}))])
    }

    /// Whether sending application release `release` back (or cancelling it) withdraws this approval
    /// (R10): its own development approval always; when the train returns to construction with it, the
    /// executive approval and the verification gate's, which were asked for on a verified release.
    pub fn rests_on_release(&self, release: &str, train_returns: bool) -> bool {
        self.subject_id == release
            || (train_returns
                && (self.kind == ApprovalKind::Executive || self.gate == Some(crate::GateName::Verification)))
    }

    /// Cancels a pending approval because what it approved went away (train cancelled, sent back).
    /// Returns `None` when the approval is no longer pending.
    pub fn cancel(&mut self, reason: &str, now: DateTime<Utc>) -> Option<Change> {
        if self.state != ApprovalState::Pending {
            return None;
        }
        self.state = ApprovalState::Cancelled;
        self.cancel_reason = Some(reason.to_string());
        self.decided_at = Some(now);
        Some(Change::new("approval", &self.id, "cancel", json!({"reason": reason})))
    }
}
