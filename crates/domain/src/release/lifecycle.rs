//! An application release's train membership and lifecycle.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::{ApplicationRelease, Membership, MembershipState, ReleaseState, ReleaseTransition, is_manager};
use crate::approval::ApprovalRequest;
use crate::available::ReleaseFacts;
use crate::error::Guards;
use crate::train::Outcome;
use crate::{Actor, Approval, ApprovalKind, ApprovalState, Change, DomainError, Train, TrainState};

/// The lifecycle actions of an application release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReleaseAction {
    BeginWork,
    RequestDevelopmentApproval,
    /// R10: back to construction from verification (or while awaiting development approval).
    SendBack {
        reason: String,
    },
    Cancel {
        reason: String,
    },
}

impl ReleaseAction {
    pub fn name(&self) -> &'static str {
        match self {
            ReleaseAction::BeginWork => "begin_work",
            ReleaseAction::RequestDevelopmentApproval => "request_development_approval",
            ReleaseAction::SendBack { .. } => "send_back",
            ReleaseAction::Cancel { .. } => "cancel",
        }
    }
}

/// The states of a train in which it takes application releases ([`Train::takes_releases`]): up to its
/// construction stage. After that, the train's guards (every accepted release development-approved
/// before verification) have already been checked without them.
pub const TRAINS_TAKING_RELEASES: [TrainState; 4] =
    [TrainState::Draft, TrainState::AwaitingTrainApproval, TrainState::Scoping, TrainState::Construction];

fn check_train_open_for_members(g: &mut Guards, release: &ApplicationRelease, train: &Train) {
    train.check_takes_releases(g);
    g.check(
        release.state == ReleaseState::Planning || train.state >= TrainState::Construction,
        "release_ahead_of_train",
        || {
            format!(
                "{} is already in {} but train {} is {}; it can join once the train is in construction",
                release.id, release.state, train.id, train.state
            )
        },
    );
}

fn check_window(g: &mut Guards, release: &ApplicationRelease, train: &Train) {
    for e in release.schedule.outside(train) {
        g.fail("schedule_outside_train", format!("{} {}", e.field, e.message));
    }
}

impl ApplicationRelease {
    fn transition(&mut self, to: ReleaseState, action: &str, actor: &str, now: DateTime<Utc>) -> Change {
        let from = self.state;
        self.history.push(ReleaseTransition { from, to, action: action.to_string(), at: now, by: actor.to_string() });
        self.state = to;
        Change::new("application_release", &self.id, action, json!({"from": from, "to": to}))
    }

    /// Puts it on a train: accepted at once when a release manager does it, proposed otherwise.
    /// Whether it could join a train now, whichever the train: in planning or construction, on none yet.
    fn check_may_join(&self, g: &mut Guards) {
        g.check(matches!(self.state, ReleaseState::Planning | ReleaseState::Construction), "wrong_state", || {
            format!("{} is {}; only releases in planning or construction join a train", self.describe(), self.state)
        });
        if let Some(m) = self.membership.as_ref().filter(|m| m.is_active()) {
            g.fail(
                "already_on_a_train",
                format!("{} is already {} on train {}", self.id, m.state.as_str(), m.train_id),
            );
        }
    }

    /// Whether `actor` may propose it to some train now, before the train is chosen: the guards of
    /// [`ApplicationRelease::propose`] that do not depend on the train.
    pub fn may_propose(&self, actor: &Actor) -> Result<(), DomainError> {
        let mut g = self.guards("propose");
        self.check_may_join(&mut g);
        self.check_owner(&mut g, actor);
        g.done()
    }

    pub fn propose(&mut self, train: &Train, actor: &Actor, now: DateTime<Utc>) -> Result<Vec<Change>, DomainError> {
        let mut g = self.guards("propose");
        self.check_may_join(&mut g);
        check_train_open_for_members(&mut g, self, train);
        check_window(&mut g, self, train);
        self.check_owner(&mut g, actor);
        g.done()?;
        let manager = is_manager(actor);
        self.membership = Some(Membership {
            train_id: train.id.clone(),
            state: if manager { MembershipState::Accepted } else { MembershipState::Proposed },
            proposed_by: actor.name.clone(),
            proposed_at: now,
            decided_by: manager.then(|| actor.name.clone()),
            decided_at: manager.then_some(now),
            reason: None,
        });
        let mut changes = vec![Change::new("application_release", &self.id, "propose", json!({"train_id": train.id}))];
        if manager {
            changes.push(Change::new("application_release", &self.id, "accept", json!({"train_id": train.id})));
            changes.extend(self.on_accepted(train));
        }
        Ok(changes)
    }

    fn on_accepted(&mut self, train: &Train) -> Option<Change> {
        if train.state >= TrainState::Construction { self.inherit_milestones(train) } else { None }
    }

    /// A release manager accepts a proposal; never the one who proposed it.
    pub fn accept(&mut self, train: &Train, actor: &Actor, now: DateTime<Utc>) -> Result<Vec<Change>, DomainError> {
        let mut g = self.guards("accept");
        let proposed =
            self.membership.as_ref().filter(|m| m.state == MembershipState::Proposed && m.train_id == train.id);
        match proposed {
            None => g.fail("not_proposed", format!("{} is not proposed to train {}", self.id, train.id)),
            Some(m) => {
                g.check(m.proposed_by != actor.name, "own_proposal", || {
                    format!("you proposed {} to {}; someone else must accept it", self.id, train.id)
                });
            }
        }
        check_train_open_for_members(&mut g, self, train);
        check_window(&mut g, self, train);
        g.done()?;
        if let Some(m) = self.membership.as_mut() {
            m.state = MembershipState::Accepted;
            m.decided_by = Some(actor.name.clone());
            m.decided_at = Some(now);
        }
        let mut changes = vec![Change::new("application_release", &self.id, "accept", json!({"train_id": train.id}))];
        changes.extend(self.on_accepted(train));
        Ok(changes)
    }

    pub fn reject(&mut self, reason: &str, actor: &Actor, now: DateTime<Utc>) -> Result<Change, DomainError> {
        if reason.trim().is_empty() {
            return Err(DomainError::invalid("reason", "rejecting a proposal needs a reason"));
        }
        let mut g = self.guards("reject");
        let proposed = self.membership.as_ref().is_some_and(|m| m.state == MembershipState::Proposed);
        g.check(proposed, "not_proposed", || format!("{} has no proposal waiting for a decision", self.id));
        g.done()?;
        let mut train_id = String::new();
        if let Some(m) = self.membership.as_mut() {
            m.state = MembershipState::Rejected;
            m.decided_by = Some(actor.name.clone());
            m.decided_at = Some(now);
            m.reason = Some(reason.trim().to_string());
            train_id = m.train_id.clone();
        }
        Ok(Change::new(
            "application_release",
            &self.id,
            "reject",
            json!({"train_id": train_id, "reason": reason.trim()}),
        ))
    }

    /// Takes it off its train (proposed or accepted); it may be proposed again later.
    pub fn remove_from_train(
        &mut self,
        reason: Option<String>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Change, DomainError> {
        let mut g = self.guards("remove");
        let active = self.membership.as_ref().is_some_and(Membership::is_active);
        g.check(active, "not_on_a_train", || format!("{} is not on a train", self.id));
        g.check(
            matches!(self.state, ReleaseState::Planning | ReleaseState::Construction | ReleaseState::Cancelled),
            "wrong_state",
            || {
                format!(
                    "{} is {}; send it back to construction before removing it from its train",
                    self.describe(),
                    self.state
                )
            },
        );
        self.check_owner(&mut g, actor);
        g.done()?;
        let mut train_id = String::new();
        if let Some(m) = self.membership.as_mut() {
            m.state = MembershipState::Removed;
            m.decided_by = Some(actor.name.clone());
            m.decided_at = Some(now);
            m.reason = reason.clone().filter(|r| !r.trim().is_empty());
            train_id = m.train_id.clone();
        }
        Ok(Change::new("application_release", &self.id, "remove", json!({"train_id": train_id, "reason": reason})))
    }

    /// Runs one lifecycle action. `train` is the train it is on (if any); `approval_id` is needed for
    /// `RequestDevelopmentApproval`. Knows nothing of its turnovers: see [`ApplicationRelease::apply_with`].
    pub fn apply(
        &mut self,
        action: &ReleaseAction,
        train: Option<&Train>,
        actor: &Actor,
        now: DateTime<Utc>,
        approval_id: Option<String>,
    ) -> Result<Outcome, DomainError> {
        self.apply_with(action, train, &ReleaseFacts::default(), actor, now, approval_id)
    }

    /// Runs one lifecycle action, given what the release's turnovers are doing: a send back (R10)
    /// returns its turnovers to draft, which a running deployment of theirs refuses.
    pub fn apply_with(
        &mut self,
        action: &ReleaseAction,
        train: Option<&Train>,
        facts: &ReleaseFacts,
        actor: &Actor,
        now: DateTime<Utc>,
        approval_id: Option<String>,
    ) -> Result<Outcome, DomainError> {
        let name = action.name();
        let mut g = self.guards(name);
        let state = self.state;
        let wrong = |expected: &str| format!("{} is {state}; {name} is allowed only {expected}", self.describe());
        let membership = self.membership.as_ref().filter(|m| m.is_active());
        match action {
            ReleaseAction::BeginWork => {
                g.check(state == ReleaseState::Planning, "wrong_state", || wrong("from planning"));
                if let Some(m) = membership {
                    g.check(m.state == MembershipState::Accepted, "membership_pending", || {
                        format!("{} is proposed to train {}, not yet accepted", self.id, m.train_id)
                    });
                    if let Some(t) = train {
                        g.check(
                            t.state >= TrainState::Construction && t.state.is_open(),
                            "train_not_in_construction",
                            || format!("train {} is {}; work begins once the train is in construction", t.id, t.state),
                        );
                    }
                }
            }
            ReleaseAction::RequestDevelopmentApproval => {
                g.check(state == ReleaseState::Construction, "wrong_state", || wrong("from construction"));
                match (self.accepted_train(), train) {
                    (Some(_), Some(t)) => {
                        g.check(t.approval_policies.development.is_some(), "development_policy_missing", || {
                            format!("train {} has no development approval policy; its manager must define one", t.id)
                        });
                        g.check(
                            t.state.is_open() && t.state >= TrainState::Construction,
                            "train_not_in_construction",
                            || format!("train {} is {}; development approval follows construction", t.id, t.state),
                        );
                        crate::train::check_decidable(
                            &mut g,
                            "development",
                            t.approval_policies.development.as_ref(),
                            &actor.name,
                        );
                    }
                    _ => g.fail(
                        "not_on_a_train",
                        format!(
                            "{} is not accepted on a train; development approval follows its train's policy",
                            self.id
                        ),
                    ),
                }
            }
            ReleaseAction::SendBack { reason } | ReleaseAction::Cancel { reason } if reason.trim().is_empty() => {
                return Err(DomainError::invalid("reason", format!("{name} needs a reason")));
            }
            ReleaseAction::SendBack { .. } => {
                g.check(
                    matches!(state, ReleaseState::Verification | ReleaseState::AwaitingDevelopmentApproval),
                    "wrong_state",
                    || wrong("from verification or while awaiting development approval"),
                );
                if let Some(t) = train.filter(|t| t.state >= TrainState::Deployment) {
                    g.fail(
                        "train_in_deployment",
                        format!(
                            "train {} is {}: validation is over, so its releases can no longer be sent back",
                            t.id, t.state
                        ),
                    );
                }
                for (deployment, turnover) in &facts.running_deployments {
                    g.fail(
                        "deployment_running",
                        format!(
                            "deployment {deployment} of turnover {turnover} is running; let it finish or fail first"
                        ),
                    );
                }
            }
            ReleaseAction::Cancel { .. } => {
                g.check(state.is_open() && state != ReleaseState::Released, "wrong_state", || {
                    format!("{} is {state}; it can no longer be cancelled", self.describe())
                });
            }
        }
        self.check_owner(&mut g, actor);
        g.done()?;

        let mut out = Outcome::default();
        match action {
            ReleaseAction::BeginWork => {
                out.changes.push(self.transition(ReleaseState::Construction, name, &actor.name, now))
            }
            ReleaseAction::RequestDevelopmentApproval => {
                let (Some(t), Some(id)) = (train, approval_id) else {
                    return Err(DomainError::invalid(
                        "approval_id",
                        "no id was allocated for the development approval",
                    ));
                };
                let Some(policy) = &t.approval_policies.development else {
                    return Err(DomainError::invalid("approval_policies.development", "missing"));
                };
                let (approval, change) = Approval::request(ApprovalRequest {
                    id,
                    kind: ApprovalKind::Development,
                    train_id: &t.id,
                    gate: None,
                    subject_id: &self.id,
                    policy,
                    requested_by: &actor.name,
                    now,
                });
                self.development_approval = Some(approval.as_ref());
                out.changes.push(self.transition(ReleaseState::AwaitingDevelopmentApproval, name, &actor.name, now));
                out.changes.push(change);
                out.new_approval = Some(approval);
            }
            ReleaseAction::SendBack { reason } => {
                let mut c = self.transition(ReleaseState::Construction, name, &actor.name, now);
                c.data["reason"] = json!(reason.trim());
                out.changes.push(c);
            }
            ReleaseAction::Cancel { reason } => {
                self.cancel_reason = Some(reason.trim().to_string());
                let mut c = self.transition(ReleaseState::Cancelled, name, &actor.name, now);
                c.data["reason"] = json!(reason.trim());
                out.changes.push(c);
            }
        }
        Ok(out)
    }

    /// Reacts to its development approval being decided (or cancelled).
    pub fn on_development_decided(&mut self, approval: &Approval, now: DateTime<Utc>) -> Vec<Change> {
        if self.development_approval.as_ref().is_none_or(|a| a.id != approval.id) {
            return Vec::new();
        }
        self.development_approval = Some(approval.as_ref());
        let by = approval
            .overridden_by
            .clone()
            .or_else(|| approval.decisions.last().map(|d| d.user.clone()))
            .unwrap_or_default();
        if self.state != ReleaseState::AwaitingDevelopmentApproval {
            return Vec::new();
        }
        match approval.state {
            s if s.is_granted() => vec![self.transition(ReleaseState::Verification, "development_approved", &by, now)],
            ApprovalState::Rejected => {
                vec![self.transition(ReleaseState::Construction, "development_rejected", &by, now)]
            }
            ApprovalState::Cancelled => {
                vec![self.transition(ReleaseState::Construction, "development_approval_cancelled", &by, now)]
            }
            _ => Vec::new(),
        }
    }

    /// Development-approved: verification or beyond.
    pub fn is_development_approved(&self) -> bool {
        matches!(self.state, ReleaseState::Verification | ReleaseState::Released | ReleaseState::Closed)
    }

    /// verification → released: every production-ready turnover carrying it is verified.
    pub fn on_production_verified(&mut self, by: &str, now: DateTime<Utc>) -> Option<Change> {
        (self.state == ReleaseState::Verification).then(|| self.transition(ReleaseState::Released, "released", by, now))
    }

    /// released → closed: its train closed.
    pub fn on_train_closed(&mut self, by: &str, now: DateTime<Utc>) -> Option<Change> {
        (self.state == ReleaseState::Released).then(|| self.transition(ReleaseState::Closed, "close", by, now))
    }
}
