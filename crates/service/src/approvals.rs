//! Approvals: list, show, approve, reject, override; and what a decision does to the train.

use railyard_domain::{
    Actor, ApplicationRelease, Approval, ApprovalKind, ApprovalState, Operation, Train, TrainState, Verdict,
};
use railyard_store::ListQuery;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::input_limits::bounded;
use crate::persist::{Stored, Tx, check_version};
use crate::views::{Page, page_filtered};
use crate::{ApprovalView, Service, ServiceResult};

#[derive(Debug, Clone, Default)]
pub struct ApprovalFilter {
    /// Only approvals waiting for the actor's decision now.
    pub mine: bool,
    pub states: Vec<ApprovalState>,
    pub train: Option<String>,
    pub kind: Option<ApprovalKind>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideInput {
    /// Required to reject.
    #[serde(default)]
    pub comment: Option<String>,
    /// Rejecting an executive approval: `verification` or `construction`.
    #[serde(default)]
    pub return_to: Option<TrainState>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideInput {
    pub reason: String,
}

/// Whether the approval waits for this user's decision now.
fn waits_for(a: &Approval, user: &str) -> bool {
    a.current_level().is_some_and(|l| a.levels[l].approvers.iter().any(|u| u == user))
        && a.requested_by != user
        && !a.decisions.iter().any(|d| d.user == user)
}

impl Service {
    pub async fn approvals(&self, actor: &Actor, filter: ApprovalFilter) -> ServiceResult<Page<ApprovalView>> {
        self.authorize(actor, Operation::Read)?;
        let mut q = ListQuery::new("approval", 0);
        q.states = filter.states.iter().map(|s| s.as_str().to_string()).collect();
        if filter.mine {
            q.states = vec![ApprovalState::Pending.as_str().to_string()];
        }
        q.parent_id = filter.train.clone();
        q.category = filter.kind.map(|k| k.as_str().to_string());
        let keep = |a: &Approval| !filter.mine || waits_for(a, &actor.name);
        page_filtered(self, &mut q, filter.limit, filter.cursor.as_deref(), keep, |s| Ok(ApprovalView::of(s))).await
    }

    pub async fn approval(&self, actor: &Actor, id: &str) -> ServiceResult<ApprovalView> {
        self.authorize(actor, Operation::Read)?;
        Ok(ApprovalView::of(self.load(id).await?))
    }

    /// Approve or reject. When the decision settles the approval, the train reacts in the same commit.
    pub async fn decide_approval(
        &self,
        actor: &Actor,
        id: &str,
        verdict: Verdict,
        input: DecideInput,
        expected: Option<i64>,
    ) -> ServiceResult<ApprovalView> {
        bounded(&input)?;
        self.authorize(actor, Operation::DecideApproval)?;
        let input = &input;
        self.retrying(expected, move || async move {
            let mut a: Stored<Approval> = self.load(id).await?;
            check_version("approval", id, a.version, expected)?;
            let now = self.now();
            let changes = a.value.decide(&actor.name, verdict, input.comment.clone(), input.return_to, now)?;
            let mut tx = Tx::new(actor, now);
            tx.update(&a)?;
            tx.record(changes);
            if a.value.state != ApprovalState::Pending {
                self.settle(&mut tx, &a.value, now).await?;
            }
            self.commit(tx).await
        })
        .await?;
        self.approval(actor, id).await
    }

    /// R3: the train's manager overrides a pending approval where its policy allows, with a reason.
    pub async fn override_approval(
        &self,
        actor: &Actor,
        id: &str,
        input: OverrideInput,
    ) -> ServiceResult<ApprovalView> {
        bounded(&input)?;
        self.authorize(actor, Operation::OverrideApproval)?;
        let input = &input;
        self.retrying(None, move || async move {
            let mut a: Stored<Approval> = self.load(id).await?;
            let train: Stored<Train> = self.load(&a.value.train_id).await?;
            let now = self.now();
            let changes = a.value.override_by(&actor.name, &train.value.manager, &input.reason, now)?;
            let mut tx = Tx::new(actor, now);
            tx.update(&a)?;
            tx.record(changes);
            self.settle(&mut tx, &a.value, now).await?;
            self.commit(tx).await
        })
        .await?;
        self.approval(actor, id).await
    }

    /// What was approved reacts to its settled approval: the train, or (development) the release.
    async fn settle(&self, tx: &mut Tx, approval: &Approval, now: chrono::DateTime<chrono::Utc>) -> ServiceResult<()> {
        if approval.kind == ApprovalKind::Development {
            let mut release: Stored<ApplicationRelease> = self.load(&approval.subject_id).await?;
            let changes = release.value.on_development_decided(approval, now);
            tx.update(&release)?;
            tx.record(changes);
            return Ok(());
        }
        let mut train: Stored<Train> = self.load(&approval.train_id).await?;
        let changes = train.value.on_approval_decided(approval, now);
        tx.update(&train)?;
        tx.record(changes);
        Ok(())
    }
}
