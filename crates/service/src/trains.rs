//! Release trains: create, list, show, update, copy, and their lifecycle actions.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use railyard_domain::train::{Surroundings, TrainAction};
use railyard_domain::{Actor, Approval, FieldError, Operation, ReleaseType, Train, TrainPatch, TrainSpec, TrainState};
use railyard_store::ListQuery;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::persist::{Stored, Tx, check_version, seq_of};
use crate::users::User;
use crate::views::{Page, page_of};
use crate::{Service, ServiceError, ServiceResult, TrainView};

/// Which trains to list.
#[derive(Debug, Clone, Default)]
pub struct TrainFilter {
    /// Any of these states (empty: all).
    pub states: Vec<TrainState>,
    pub release_type: Option<ReleaseType>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Copying a train to a new start date.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CopyInput {
    /// The copy's start date; every date moves by the same number of days.
    pub start: NaiveDate,
    /// Defaults to "Copy of <title>".
    #[serde(default)]
    pub title: Option<String>,
}

impl Service {
    pub(crate) fn view(&self, s: Stored<Train>) -> TrainView {
        TrainView::of(s, self.now().date_naive())
    }

    /// Every user a train names must exist; each unknown one is reported with the field naming it.
    pub(crate) async fn check_users(&self, named: impl IntoIterator<Item = (String, String)>) -> ServiceResult<()> {
        let mut seen = BTreeSet::new();
        let mut errors = Vec::new();
        for (field, user) in named {
            if !seen.insert(user.clone()) {
                continue;
            }
            if self.find::<User>(&user).await?.is_none() {
                errors.push(FieldError::new(&field, format!("there is no user '{user}'")));
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(ServiceError::Invalid(errors)) }
    }

    pub async fn create_train(&self, actor: &Actor, spec: TrainSpec) -> ServiceResult<TrainView> {
        self.authorize(actor, Operation::CreateTrain)?;
        spec.validate()?;
        let (mut train, mut change) = Train::create(String::new(), spec, actor)?;
        self.check_users(train.referenced_users()).await?;
        // The id is taken only once the input is known to be good, so refused creates leave no gaps.
        let id = self.new_id("RT").await?;
        train.id = id.clone();
        change.object_id = id.clone();
        let mut tx = Tx::new(actor, self.now());
        tx.insert(&train, seq_of(&id))?;
        tx.record([change]);
        self.commit(tx).await?;
        self.train(actor, &id).await
    }

    pub async fn train(&self, actor: &Actor, id: &str) -> ServiceResult<TrainView> {
        self.authorize(actor, Operation::Read)?;
        Ok(self.view(self.load(id).await?))
    }

    pub async fn trains(&self, actor: &Actor, filter: TrainFilter) -> ServiceResult<Page<TrainView>> {
        self.authorize(actor, Operation::Read)?;
        let mut q = ListQuery::new("train", 0);
        q.states = filter.states.iter().map(|s| s.as_str().to_string()).collect();
        q.category = filter.release_type.map(|t| t.as_str().to_string());
        page_of(self, &mut q, filter.limit, filter.cursor.as_deref(), |s| Ok(self.view(s))).await
    }

    /// A partial update; `expected` is the version the change was based on (`If-Match`), required.
    pub async fn update_train(
        &self,
        actor: &Actor,
        id: &str,
        patch: TrainPatch,
        expected: Option<i64>,
    ) -> ServiceResult<TrainView> {
        self.authorize(actor, Operation::EditTrain)?;
        let Some(expected) = expected else {
            return Err(ServiceError::PreconditionRequired(format!(
                "updating train {id} needs the version it is based on: send If-Match with the train's version"
            )));
        };
        patch.validate()?;
        let mut s: Stored<Train> = self.load(id).await?;
        check_version("train", id, s.version, Some(expected))?;
        let change = s.value.update(patch)?;
        self.check_users(s.value.referenced_users()).await?;
        let mut tx = Tx::new(actor, self.now());
        tx.update(&s)?;
        tx.record([change]);
        self.commit(tx).await?;
        self.train(actor, id).await
    }

    pub async fn copy_train(&self, actor: &Actor, id: &str, input: CopyInput) -> ServiceResult<TrainView> {
        self.authorize(actor, Operation::CreateTrain)?;
        let source: Stored<Train> = self.load(id).await?;
        let t = &source.value;
        let criteria: usize = railyard_domain::GateName::ALL.iter().map(|g| t.gates.get(*g).criteria.len()).sum();
        let mut ec_ids = Vec::with_capacity(criteria);
        for _ in 0..criteria {
            ec_ids.push(self.new_id("EC").await?);
        }
        let mut ms_ids = Vec::with_capacity(t.milestones.len());
        for _ in 0..t.milestones.len() {
            ms_ids.push(self.new_id("MS").await?);
        }
        let new_id = self.new_id("RT").await?;
        let (copy, change) =
            t.copy(new_id.clone(), input.start, input.title, &mut ec_ids.into_iter(), &mut ms_ids.into_iter(), actor)?;
        let mut tx = Tx::new(actor, self.now());
        tx.insert(&copy, seq_of(&new_id))?;
        tx.record([change]);
        self.commit(tx).await?;
        self.train(actor, &new_id).await
    }

    /// What the train's guards need to know beyond the train: its accepted application releases.
    async fn surroundings(&self, train: &Train, action: &TrainAction) -> ServiceResult<Surroundings> {
        let mut around = Surroundings::default();
        if matches!(action, TrainAction::StartVerification) {
            for r in self.accepted_members(&train.id).await? {
                if !r.value.is_development_approved() {
                    around.not_development_approved.push((r.value.id.clone(), r.value.title.clone()));
                }
            }
        }
        Ok(around)
    }

    pub(crate) async fn pending_approvals_of(&self, train_id: &str) -> ServiceResult<Vec<Stored<Approval>>> {
        let mut q = ListQuery::new("approval", crate::MAX_PAGE);
        q.parent_id = Some(train_id.to_string());
        q.states = vec!["pending".into()];
        let mut out = Vec::new();
        loop {
            let batch = self.store.list(&q).await?;
            let done = batch.len() < q.limit as usize;
            for r in batch {
                q.after_seq = Some(r.seq);
                out.push(crate::persist::decode(r)?);
            }
            if done {
                return Ok(out);
            }
        }
    }

    /// Runs one lifecycle action on a train.
    pub async fn train_action(
        &self,
        actor: &Actor,
        id: &str,
        action: TrainAction,
        expected: Option<i64>,
    ) -> ServiceResult<TrainView> {
        let op = match action {
            TrainAction::Cancel { .. } => Operation::CancelTrain,
            TrainAction::Close => Operation::CloseTrain,
            _ => Operation::AdvanceTrain,
        };
        self.authorize(actor, op)?;
        let action = &action;
        self.retrying(expected, move || async move {
            let mut s: Stored<Train> = self.load(id).await?;
            check_version("train", id, s.version, expected)?;
            let around = self.surroundings(&s.value, action).await?;
            let now = self.now();
            // Decide on a copy first, so a refused action takes no approval number.
            let approval_id = if action.requests_approval(&s.value) {
                s.value.clone().apply(action, actor, now, Some(String::new()), &around)?;
                Some(self.new_id("AP").await?)
            } else {
                None
            };
            let outcome = s.value.apply(action, actor, now, approval_id, &around)?;
            let mut tx = Tx::new(actor, now);
            tx.record(outcome.changes);
            if let Some(a) = &outcome.new_approval {
                tx.insert(a, seq_of(&a.id))?;
            }
            if matches!(action, TrainAction::Cancel { .. }) {
                for mut pending in self.pending_approvals_of(id).await? {
                    if let Some(c) = pending.value.cancel(&format!("train {id} was cancelled"), now) {
                        tx.update(&pending)?;
                        tx.record([c]);
                        tx.record(s.value.on_approval_decided(&pending.value, now));
                    }
                }
            }
            if matches!(action, TrainAction::StartConstruction) {
                // Entering construction: every accepted release inherits the train's `inherit` milestones.
                for mut r in self.accepted_members(id).await? {
                    if let Some(c) = r.value.inherit_milestones(&s.value) {
                        tx.update(&r)?;
                        tx.record([c]);
                    }
                }
            }
            tx.update(&s)?;
            self.commit(tx).await
        })
        .await?;
        self.train(actor, id).await
    }
}
