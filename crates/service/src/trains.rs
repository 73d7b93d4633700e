//! Release trains: create, list, show, update, copy, and their lifecycle actions.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use railyard_domain::train::{Surroundings, TrainAction};
use railyard_domain::{
    Actor, ApplicationRelease, Approval, FieldError, Operation, ReleaseType, Train, TrainPatch, TrainSpec, TrainState,
};
use railyard_store::ListQuery;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::input_limits::bounded;
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

    /// A train's manager must be one who may manage trains: a release manager or an admin (the domain's
    /// `eligible_manager`, the same the console offers as choices).
    pub(crate) async fn check_manager(&self, train: &Train) -> ServiceResult<()> {
        let Some(u) = self.find::<User>(&train.manager).await? else { return Ok(()) };
        let who = Actor { name: u.value.name.clone(), roles: u.value.roles.clone() };
        if railyard_domain::train::eligible_manager(&who) {
            return Ok(());
        }
        Err(ServiceError::Invalid(vec![FieldError::new(
            "manager",
            format!("{} is not a release manager; a train's manager is a release manager or an admin", train.manager),
        )]))
    }

    /// Approval rights come from being listed in a policy; listed users must be able to decide, so a
    /// viewer (who changes nothing) may not be listed.
    pub(crate) async fn check_approvers(&self, train: &Train) -> ServiceResult<()> {
        let mut errors = Vec::new();
        for (kind, policy) in train.approval_policies.iter() {
            for name in policy.users() {
                if let Some(u) = self.find::<User>(name).await? {
                    let who = Actor { name: u.value.name.clone(), roles: u.value.roles.clone() };
                    if !railyard_domain::train::eligible_approver(&who) {
                        errors.push(FieldError::new(
                            &format!("approval_policies.{kind}"),
                            format!("{name} is only a viewer and cannot decide approvals; give them another role or list someone else"),
                        ));
                    }
                }
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(ServiceError::Invalid(errors)) }
    }

    pub async fn create_train(&self, actor: &Actor, spec: TrainSpec) -> ServiceResult<TrainView> {
        bounded(&spec)?;
        self.authorize(actor, Operation::CreateTrain)?;
        spec.validate()?;
        let (mut train, mut change) = Train::create(String::new(), spec, actor)?;
        self.check_users(train.referenced_users()).await?;
        self.check_manager(&train).await?;
        self.check_approvers(&train).await?;
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
        bounded(&patch)?;
        self.authorize(actor, Operation::EditTrain)?;
        let Some(expected) = expected else {
            return Err(ServiceError::PreconditionRequired(format!(
                "updating train {id} needs the version it is based on: send If-Match with the train's version"
            )));
        };
        patch.validate()?;
        let mut s: Stored<Train> = self.load(id).await?;
        check_version("train", id, s.version, Some(expected))?;
        let moves_dates = patch.schedule.is_some();
        let change = s.value.update(patch, actor)?;
        self.check_users(s.value.referenced_users()).await?;
        self.check_manager(&s.value).await?;
        self.check_approvers(&s.value).await?;
        if moves_dates {
            // R5: the train's releases must still lie inside its new window.
            let mut errors = Vec::new();
            for r in self.members_of(id).await? {
                for e in r.value.schedule.outside(&s.value) {
                    errors.push(FieldError::new(
                        "schedule",
                        format!("application release {} {}: {}", r.value.id, e.field, e.message),
                    ));
                }
            }
            if !errors.is_empty() {
                return Err(ServiceError::Invalid(errors));
            }
        }
        let mut tx = Tx::new(actor, self.now());
        tx.update(&s)?;
        tx.record([change]);
        self.commit(tx).await?;
        self.train(actor, id).await
    }

    pub async fn copy_train(&self, actor: &Actor, id: &str, input: CopyInput) -> ServiceResult<TrainView> {
        bounded(&input)?;
        self.authorize(actor, Operation::CreateTrain)?;
        let source: Stored<Train> = self.load(id).await?;
        let t = &source.value;
        // Decide with placeholder ids first, so a refused copy takes no numbers.
        let mut none = std::iter::repeat(String::new());
        t.copy(String::new(), input.start, input.title.clone(), &mut none.clone(), &mut none, actor)?;
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

    pub(crate) async fn pending_approvals_of(&self, train_id: &str) -> ServiceResult<Vec<Stored<Approval>>> {
        let mut q = ListQuery::new("approval", crate::MAX_PAGE);
        q.parent_id = Some(train_id.to_string());
        q.states = vec!["pending".into()];
        self.list_all(q).await
    }

    /// Runs one lifecycle action on a train.
    pub async fn train_action(
        &self,
        actor: &Actor,
        id: &str,
        action: TrainAction,
        expected: Option<i64>,
    ) -> ServiceResult<TrainView> {
        bounded(&action)?;
        self.authorize(actor, action.operation())?;
        let action = &action;
        self.retrying(expected, move || async move {
            let mut s: Stored<Train> = self.load(id).await?;
            check_version("train", id, s.version, expected)?;
            // The stage changes that look at the train's releases read them, and write them back in the
            // same commit: a release changed meanwhile makes one of the two commits conflict and retry,
            // so no guard is ever decided on a stale release.
            let reads_members = matches!(
                action,
                TrainAction::StartConstruction | TrainAction::StartVerification | TrainAction::RequestExecutiveApproval
            );
            let mut members = if reads_members { self.accepted_members(id).await? } else { Vec::new() };
            let (around, mut closing) = self.surroundings(id, &members, Some(action)).await?;
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
                        if pending.value.kind == railyard_domain::ApprovalKind::Development {
                            // Its release goes back to construction rather than wait for a decision.
                            let mut release: Stored<ApplicationRelease> = self.load(&pending.value.subject_id).await?;
                            tx.record(release.value.on_development_decided(&pending.value, now));
                            tx.update(&release)?;
                        } else {
                            tx.record(s.value.on_approval_decided(&pending.value, now));
                        }
                    }
                }
            }
            if matches!(action, TrainAction::Close) {
                // Its verified production turnovers close with it, and its released application releases.
                for t in &mut closing {
                    tx.record(t.value.on_train_closed());
                    tx.update(t)?;
                }
                for mut r in self.accepted_members(id).await? {
                    // R14 holds: every production turnover is verified or cancelled, so a release carried
                    // by a verified one is released first; one that never went to production stays.
                    let done = closing.iter().any(|t| t.value.releases.contains(&r.value.id));
                    if done && let Some(c) = r.value.on_production_verified(&actor.name, now) {
                        tx.record([c]);
                    }
                    if let Some(c) = r.value.on_train_closed(&actor.name, now) {
                        tx.record([c]);
                        tx.update(&r)?;
                    }
                }
            }
            for r in &mut members {
                if matches!(action, TrainAction::StartConstruction) {
                    // Entering construction: every accepted release inherits the train's `inherit` milestones.
                    tx.record(r.value.inherit_milestones(&s.value));
                }
                tx.update(r)?;
            }
            tx.update(&s)?;
            self.commit(tx).await
        })
        .await?;
        self.train(actor, id).await
    }

    /// What the train's actions need to know about its releases and turnovers, for `action` (all of them
    /// when `None`): its accepted releases not development-approved or not verified (R9), and what keeps
    /// it from closing (R14). Also returns the verified production turnovers, which close with it.
    pub(crate) async fn surroundings(
        &self,
        id: &str,
        members: &[Stored<ApplicationRelease>],
        action: Option<&TrainAction>,
    ) -> ServiceResult<(Surroundings, Vec<Stored<railyard_domain::Turnover>>)> {
        let wants = |a: TrainAction| action.is_none_or(|x| *x == a);
        let mut around = Surroundings::default();
        for r in members.iter().map(|r| &r.value) {
            if wants(TrainAction::StartVerification) && !r.is_development_approved() {
                around.not_development_approved.push((r.id.clone(), r.title.clone()));
            }
            if wants(TrainAction::RequestExecutiveApproval) {
                let v = self.verification_of(&r.id).await?;
                if !v.verified {
                    around.not_verified.push((r.id.clone(), r.title.clone(), v.why()));
                }
            }
        }
        let closing = if wants(TrainAction::Close) { self.check_closable(id, &mut around).await? } else { Vec::new() };
        Ok((around, closing))
    }

    /// R14: every production-ready turnover of the train verified in all its environments or cancelled,
    /// and no deployment of it running. Fills `around` with what is open; returns the verified
    /// production turnovers, which close with the train.
    async fn check_closable(
        &self,
        train: &str,
        around: &mut Surroundings,
    ) -> ServiceResult<Vec<Stored<railyard_domain::Turnover>>> {
        let mut q = ListQuery::new("turnover", crate::MAX_PAGE);
        q.category = Some(train.to_string());
        let turnovers = self.list_all::<railyard_domain::Turnover>(q).await?;
        let mut deployments = Vec::with_capacity(turnovers.len());
        for t in &turnovers {
            deployments.push(self.deployments_of(&t.value.id).await?.into_iter().map(|d| d.value).collect::<Vec<_>>());
        }
        let facts: Vec<_> = turnovers.iter().zip(&deployments).map(|(t, d)| (&t.value, d.as_slice())).collect();
        around.open_turnovers.extend(railyard_domain::train::closing_blockers(&facts));
        let verified = turnovers
            .into_iter()
            .filter(|t| {
                t.value.kind == railyard_domain::TurnoverKind::ProductionReady
                    && t.value.state == railyard_domain::TurnoverState::Verified
            })
            .collect();
        Ok(verified)
    }
}
