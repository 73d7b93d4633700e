//! The parts of a train: gates and their exit criteria, gate approvals, milestones.

use chrono::{DateTime, Utc};
use railyard_domain::train::Outcome;
use railyard_domain::{
    Actor, Change, CriterionState, DomainError, Evidence, GateName, MilestoneState, Operation, Train,
    train::{CriterionPatch, CriterionSpec, MilestonePatch, MilestoneSpec},
};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::input_limits::bounded;
use crate::persist::{Stored, Tx, check_version, seq_of};
use crate::{Service, ServiceResult, TrainView};

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GateInput {
    pub approval_required: bool,
}

/// Evidence to meet a criterion, a reason to waive it.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideCriterionInput {
    #[serde(default)]
    pub evidence: Option<Evidence>,
    #[serde(default)]
    pub reason: Option<String>,
}

impl Service {
    /// Loads a train, lets `step` change it, and saves it with what `step` recorded; retried on a
    /// concurrent change unless a version was pinned.
    async fn change_train(
        &self,
        actor: &Actor,
        id: &str,
        op: Operation,
        expected: Option<i64>,
        step: impl Fn(&mut Train, DateTime<Utc>, Option<String>) -> Result<Outcome, DomainError> + Sync,
        new_id_prefix: Option<&str>,
    ) -> ServiceResult<TrainView> {
        self.authorize(actor, op)?;
        let step = &step;
        self.retrying(expected, move || async move {
            let mut s: Stored<Train> = self.load(id).await?;
            check_version("train", id, s.version, expected)?;
            let now = self.now();
            // Decide on a copy first, and check the users it names, so a refused step takes no number
            // from the counter. Only owners the step names anew are looked up.
            let owners_before = criterion_and_milestone_owners(&s.value);
            let mut probe = s.value.clone();
            step(&mut probe, now, new_id_prefix.map(|_| String::new()))?;
            let named = criterion_and_milestone_owners(&probe)
                .into_iter()
                .filter(|(_, u)| !owners_before.iter().any(|(_, b)| b == u));
            self.check_users(named).await?;
            let new_id = match new_id_prefix {
                Some(p) => Some(self.new_id(p).await?),
                None => None,
            };
            let outcome = step(&mut s.value, now, new_id)?;
            let mut tx = Tx::new(actor, now);
            tx.update(&s)?;
            if let Some(a) = &outcome.new_approval {
                tx.insert(a, seq_of(&a.id))?;
            }
            tx.record(outcome.changes);
            self.commit(tx).await
        })
        .await?;
        self.train(actor, id).await
    }

    pub async fn update_gate(
        &self,
        actor: &Actor,
        train: &str,
        gate: GateName,
        input: GateInput,
        expected: Option<i64>,
    ) -> ServiceResult<TrainView> {
        bounded(&input)?;
        self.change_train(
            actor,
            train,
            Operation::EditTrain,
            expected,
            |t, _, _| one(t.set_gate_approval_required(gate, input.approval_required)),
            None,
        )
        .await
    }

    pub async fn request_gate_approval(&self, actor: &Actor, train: &str, gate: GateName) -> ServiceResult<TrainView> {
        self.change_train(
            actor,
            train,
            Operation::AdvanceTrain,
            None,
            |t, now, id| t.request_gate_approval(gate, id.unwrap_or_default(), actor, now),
            Some("AP"),
        )
        .await
    }

    pub async fn add_criterion(
        &self,
        actor: &Actor,
        train: &str,
        gate: GateName,
        spec: CriterionSpec,
    ) -> ServiceResult<TrainView> {
        bounded(&spec)?;
        self.change_train(
            actor,
            train,
            Operation::EditTrain,
            None,
            |t, _, id| one(t.add_criterion(gate, id.unwrap_or_default(), spec.clone())),
            Some("EC"),
        )
        .await
    }

    pub async fn edit_criterion(
        &self,
        actor: &Actor,
        train: &str,
        criterion: &str,
        patch: CriterionPatch,
        expected: Option<i64>,
    ) -> ServiceResult<TrainView> {
        bounded(&patch)?;
        self.change_train(
            actor,
            train,
            Operation::EditTrain,
            expected,
            |t, _, _| one(t.edit_criterion(criterion, patch.clone())),
            None,
        )
        .await
    }

    pub async fn remove_criterion(&self, actor: &Actor, train: &str, criterion: &str) -> ServiceResult<TrainView> {
        self.change_train(actor, train, Operation::EditTrain, None, |t, _, _| one(t.remove_criterion(criterion)), None)
            .await
    }

    /// Meet (with evidence), waive (with a reason) or reopen an exit criterion.
    pub async fn decide_criterion(
        &self,
        actor: &Actor,
        train: &str,
        criterion: &str,
        to: CriterionState,
        input: DecideCriterionInput,
    ) -> ServiceResult<TrainView> {
        bounded(&input)?;
        let op = if to == CriterionState::Waived { Operation::WaiveCriterion } else { Operation::MeetCriterion };
        self.change_train(
            actor,
            train,
            op,
            None,
            |t, now, _| {
                one(t.decide_criterion(criterion, to, input.evidence.clone(), input.reason.clone(), actor, now))
            },
            None,
        )
        .await
    }

    /// Meets an exit criterion with evidence (its owner, a release engineer or manager).
    pub async fn meet_criterion(
        &self,
        actor: &Actor,
        train: &str,
        criterion: &str,
        evidence: Evidence,
    ) -> ServiceResult<TrainView> {
        let input = DecideCriterionInput { evidence: Some(evidence), reason: None };
        self.decide_criterion(actor, train, criterion, CriterionState::Met, input).await
    }

    /// Waives an exit criterion with a reason (its owner or a release manager).
    pub async fn waive_criterion(
        &self,
        actor: &Actor,
        train: &str,
        criterion: &str,
        reason: String,
    ) -> ServiceResult<TrainView> {
        let input = DecideCriterionInput { evidence: None, reason: Some(reason) };
        self.decide_criterion(actor, train, criterion, CriterionState::Waived, input).await
    }

    /// Reopens an exit criterion that was met or waived.
    pub async fn reopen_criterion(&self, actor: &Actor, train: &str, criterion: &str) -> ServiceResult<TrainView> {
        self.decide_criterion(actor, train, criterion, CriterionState::Open, DecideCriterionInput::default()).await
    }

    /// Completes an open milestone (its owner or a release manager).
    pub async fn complete_milestone(&self, actor: &Actor, train: &str, milestone: &str) -> ServiceResult<TrainView> {
        self.decide_milestone(actor, train, milestone, MilestoneState::Completed).await
    }

    /// Marks an open milestone missed (its owner or a release manager).
    pub async fn miss_milestone(&self, actor: &Actor, train: &str, milestone: &str) -> ServiceResult<TrainView> {
        self.decide_milestone(actor, train, milestone, MilestoneState::Missed).await
    }

    pub async fn add_milestone(&self, actor: &Actor, train: &str, spec: MilestoneSpec) -> ServiceResult<TrainView> {
        bounded(&spec)?;
        self.change_train(
            actor,
            train,
            Operation::EditTrain,
            None,
            |t, _, id| one(t.add_milestone(id.unwrap_or_default(), spec.clone())),
            Some("MS"),
        )
        .await
    }

    /// Edits a train milestone; inherited copies not moved by hand follow a new date, in the same commit.
    pub async fn edit_milestone(
        &self,
        actor: &Actor,
        train: &str,
        milestone: &str,
        patch: MilestonePatch,
        expected: Option<i64>,
    ) -> ServiceResult<TrainView> {
        bounded(&patch)?;
        self.authorize(actor, Operation::EditTrain)?;
        // An empty owner clears it; any other must be a user.
        if let Some(o) = patch.owner.as_ref().filter(|o| !o.is_empty()) {
            self.check_users([(format!("milestones.{milestone}.owner"), o.clone())]).await?;
        }
        let patch = &patch;
        self.retrying(expected, move || async move {
            let mut s: Stored<Train> = self.load(train).await?;
            check_version("train", train, s.version, expected)?;
            let now = self.now();
            let (change, moved) = s.value.edit_milestone(milestone, patch.clone())?;
            let mut tx = Tx::new(actor, now);
            tx.update(&s)?;
            tx.record([change]);
            let origin = s.value.milestones.iter().find(|m| m.id == milestone);
            if let (true, Some(origin)) = (moved, origin) {
                for mut r in self.accepted_members(train).await? {
                    if let Some(c) = r.value.follow_milestone(origin) {
                        tx.update(&r)?;
                        tx.record([c]);
                    }
                }
            }
            self.commit(tx).await
        })
        .await?;
        self.train(actor, train).await
    }

    pub async fn remove_milestone(&self, actor: &Actor, train: &str, milestone: &str) -> ServiceResult<TrainView> {
        self.change_train(actor, train, Operation::EditTrain, None, |t, _, _| one(t.remove_milestone(milestone)), None)
            .await
    }

    pub async fn decide_milestone(
        &self,
        actor: &Actor,
        train: &str,
        milestone: &str,
        to: MilestoneState,
    ) -> ServiceResult<TrainView> {
        self.change_train(
            actor,
            train,
            Operation::CompleteMilestone,
            None,
            |t, now, _| one(t.decide_milestone(milestone, to, actor, now)),
            None,
        )
        .await
    }
}

fn one(r: Result<Change, DomainError>) -> Result<Outcome, DomainError> {
    r.map(|c| Outcome { changes: vec![c], new_approval: None })
}

fn criterion_and_milestone_owners(t: &Train) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for g in GateName::ALL {
        for c in &t.gates.get(g).criteria {
            if let Some(o) = &c.owner {
                out.push((format!("criteria.{}.owner", c.id), o.clone()));
            }
        }
    }
    for m in &t.milestones {
        if let Some(o) = &m.owner {
            out.push((format!("milestones.{}.owner", m.id), o.clone()));
        }
    }
    out
}
