//! Application releases: create, list, show, update; train membership; lifecycle (with R10's send back);
//! milestones.

use chrono::{DateTime, Utc};
use railyard_domain::train::Outcome;
use railyard_domain::{
    Actor, Application, ApplicationRelease, DomainError, MilestonePatch, MilestoneSpec, MilestoneState, Operation,
    ReleaseAction, ReleaseFacts, ReleasePatch, ReleaseSpec, ReleaseState, Train,
};
use railyard_store::ListQuery;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::input_limits::bounded;
use crate::persist::{Stored, Tx, check_version, seq_of};
use crate::views::{Meta, Page, page_filtered};
use crate::{Service, ServiceError, ServiceResult};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReleaseView {
    #[serde(flatten)]
    pub release: ApplicationRelease,
    #[serde(flatten)]
    pub meta: Meta,
    /// Ids of open milestones past their due date.
    pub overdue_milestones: Vec<String>,
}

/// Which application releases to list.
#[derive(Debug, Clone, Default)]
pub struct ReleaseFilter {
    /// Proposed to or accepted on this train.
    pub train: Option<String>,
    pub application: Option<String>,
    pub states: Vec<ReleaseState>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposeInput {
    pub train: String,
}

/// A reason, required or optional depending on the action.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonInput {
    #[serde(default)]
    pub reason: Option<String>,
}

impl Service {
    pub(crate) fn release_view(&self, s: Stored<ApplicationRelease>) -> ReleaseView {
        let today = self.now().date_naive();
        let overdue_milestones =
            s.value.milestones.iter().filter(|m| m.is_overdue(today)).map(|m| m.id.clone()).collect();
        ReleaseView { meta: Meta::of(&s), release: s.value, overdue_milestones }
    }

    async fn load_train_for(&self, field: &str, id: &str) -> ServiceResult<Stored<Train>> {
        self.find(id).await?.ok_or_else(|| ServiceError::invalid(field, format!("there is no train {id}")))
    }

    /// Every application release proposed to or accepted on a train.
    pub(crate) async fn members_of(&self, train_id: &str) -> ServiceResult<Vec<Stored<ApplicationRelease>>> {
        let mut q = ListQuery::new("application_release", crate::MAX_PAGE);
        q.parent_id = Some(train_id.to_string());
        self.list_all(q).await
    }

    /// The accepted, not cancelled application releases of a train.
    pub(crate) async fn accepted_members(&self, train_id: &str) -> ServiceResult<Vec<Stored<ApplicationRelease>>> {
        let mut all = self.members_of(train_id).await?;
        all.retain(|r| r.value.accepted_train() == Some(train_id) && r.value.state != ReleaseState::Cancelled);
        Ok(all)
    }

    pub async fn create_release(&self, actor: &Actor, spec: ReleaseSpec) -> ServiceResult<ReleaseView> {
        bounded(&spec)?;
        self.authorize(actor, Operation::EditRelease)?;
        let app: Stored<Application> = self.find(&spec.application).await?.ok_or_else(|| {
            ServiceError::invalid("application", format!("there is no application '{}'", spec.application))
        })?;
        let train = match &spec.train {
            Some(t) => Some(self.load_train_for("train", t).await?),
            None => None,
        };
        let owner = spec.product_owner.clone().unwrap_or_else(|| actor.name.clone());
        self.check_users([("product_owner".to_string(), owner)]).await?;
        let now = self.now();
        // Decide with a placeholder id first, so refused input takes no number.
        ApplicationRelease::create(
            String::new(),
            spec.clone(),
            &app.value,
            train.as_ref().map(|t| &t.value),
            actor,
            now,
        )?;
        let id = self.new_id("AR").await?;
        let (release, changes) =
            ApplicationRelease::create(id.clone(), spec, &app.value, train.as_ref().map(|t| &t.value), actor, now)?;
        let mut tx = Tx::new(actor, now);
        tx.insert(&release, seq_of(&id))?;
        tx.record(changes);
        self.commit(tx).await?;
        self.release(actor, &id).await
    }

    pub async fn release(&self, actor: &Actor, id: &str) -> ServiceResult<ReleaseView> {
        self.authorize(actor, Operation::Read)?;
        Ok(self.release_view(self.load(id).await?))
    }

    pub async fn releases(&self, actor: &Actor, filter: ReleaseFilter) -> ServiceResult<Page<ReleaseView>> {
        self.authorize(actor, Operation::Read)?;
        let mut q = ListQuery::new("application_release", 0);
        q.parent_id = filter.train.clone();
        q.category = filter.application.clone();
        q.states = filter.states.iter().map(|s| s.as_str().to_string()).collect();
        page_filtered(self, &mut q, filter.limit, filter.cursor.as_deref(), |_| true, |s| Ok(self.release_view(s)))
            .await
    }

    pub async fn update_release(
        &self,
        actor: &Actor,
        id: &str,
        patch: ReleasePatch,
        expected: Option<i64>,
    ) -> ServiceResult<ReleaseView> {
        bounded(&patch)?;
        self.authorize(actor, Operation::EditRelease)?;
        let Some(expected) = expected else {
            return Err(ServiceError::PreconditionRequired(format!(
                "updating application release {id} needs the version it is based on: send If-Match with its version"
            )));
        };
        if let Some(o) = &patch.product_owner {
            self.check_users([("product_owner".to_string(), o.clone())]).await?;
        }
        let mut s: Stored<ApplicationRelease> = self.load(id).await?;
        check_version("application release", id, s.version, Some(expected))?;
        let train = match s.value.active_train() {
            Some(t) => Some(self.load::<Train>(t).await?),
            None => None,
        };
        let change = s.value.update(patch, train.as_ref().map(|t| &t.value), actor)?;
        let mut tx = Tx::new(actor, self.now());
        tx.update(&s)?;
        tx.record([change]);
        self.commit(tx).await?;
        self.release(actor, id).await
    }

    /// Loads a release and the train it is on, lets `step` change the release, and saves it.
    pub(crate) async fn change_release(
        &self,
        actor: &Actor,
        id: &str,
        op: Operation,
        step: impl Fn(
            &mut ApplicationRelease,
            Option<&Train>,
            DateTime<Utc>,
            Option<String>,
        ) -> Result<Outcome, DomainError>
        + Sync,
        new_id_prefix: Option<&str>,
        touch_train: bool,
    ) -> ServiceResult<ReleaseView> {
        self.change_release_at(actor, id, None, op, step, new_id_prefix, touch_train).await
    }

    /// [`Service::change_release`], refused with a conflict when the release is no longer at `expected`
    /// (when given): a form drawn from an older version does not overwrite a newer one.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn change_release_at(
        &self,
        actor: &Actor,
        id: &str,
        expected: Option<i64>,
        op: Operation,
        step: impl Fn(
            &mut ApplicationRelease,
            Option<&Train>,
            DateTime<Utc>,
            Option<String>,
        ) -> Result<Outcome, DomainError>
        + Sync,
        new_id_prefix: Option<&str>,
        touch_train: bool,
    ) -> ServiceResult<ReleaseView> {
        self.authorize(actor, op)?;
        let step = &step;
        self.retrying(expected, move || async move {
            let mut s: Stored<ApplicationRelease> = self.load(id).await?;
            check_version("application release", id, s.version, expected)?;
            let train = match s.value.active_train() {
                Some(t) => Some(self.load::<Train>(t).await?),
                None => None,
            };
            let now = self.now();
            let t = train.as_ref().map(|t| &t.value);
            // Decide on a copy first, so a refused step takes no number from the counter.
            let new_id = match new_id_prefix {
                Some(p) => {
                    step(&mut s.value.clone(), t, now, Some(String::new()))?;
                    Some(self.new_id(p).await?)
                }
                None => None,
            };
            let outcome = step(&mut s.value, t, now, new_id)?;
            let mut tx = Tx::new(actor, now);
            tx.update(&s)?;
            if let (true, Some(train)) = (touch_train, &train) {
                // Membership changes write the train too, so they serialise with its stage changes.
                tx.update(train)?;
            }
            if let Some(a) = &outcome.new_approval {
                tx.insert(a, seq_of(&a.id))?;
            }
            tx.record(outcome.changes);
            self.commit(tx).await
        })
        .await?;
        self.release(actor, id).await
    }

    /// Proposes the release to a train; a release manager's proposal is accepted at once.
    pub async fn propose_release(&self, actor: &Actor, id: &str, input: ProposeInput) -> ServiceResult<ReleaseView> {
        bounded(&input)?;
        self.authorize(actor, Operation::EditRelease)?;
        let input = &input;
        self.retrying(None, move || async move {
            let mut s: Stored<ApplicationRelease> = self.load(id).await?;
            let train = self.load_train_for("train", &input.train).await?;
            let now = self.now();
            let changes = s.value.propose(&train.value, actor, now)?;
            let mut tx = Tx::new(actor, now);
            tx.update(&s)?;
            // Joining a train writes the train too, so it serialises with the train's stage changes.
            tx.update(&train)?;
            tx.record(changes);
            self.commit(tx).await
        })
        .await?;
        self.release(actor, id).await
    }

    pub async fn accept_release(&self, actor: &Actor, id: &str) -> ServiceResult<ReleaseView> {
        self.change_release(
            actor,
            id,
            Operation::DecideMembership,
            |r, train, now, _| {
                let Some(train) = train else {
                    // Refused as input, exactly as the list of available actions says.
                    return r.accept_on(None, actor, now).map(|()| Outcome::default());
                };
                r.accept(train, actor, now).map(|changes| Outcome { changes, new_approval: None })
            },
            None,
            true,
        )
        .await
    }

    pub async fn reject_release(&self, actor: &Actor, id: &str, input: ReasonInput) -> ServiceResult<ReleaseView> {
        bounded(&input)?;
        let reason = input.reason.unwrap_or_default();
        self.change_release(
            actor,
            id,
            Operation::DecideMembership,
            |r, _, now, _| r.reject(&reason, actor, now).map(|c| Outcome { changes: vec![c], new_approval: None }),
            None,
            false,
        )
        .await
    }

    pub async fn remove_release(&self, actor: &Actor, id: &str, input: ReasonInput) -> ServiceResult<ReleaseView> {
        bounded(&input)?;
        self.change_release(
            actor,
            id,
            Operation::EditRelease,
            |r, _, now, _| {
                r.remove_from_train(input.reason.clone(), actor, now)
                    .map(|c| Outcome { changes: vec![c], new_approval: None })
            },
            None,
            true,
        )
        .await
    }

    /// begin_work, request_development_approval, send_back (R10) and cancel.
    pub async fn release_action(&self, actor: &Actor, id: &str, action: ReleaseAction) -> ServiceResult<ReleaseView> {
        bounded(&action)?;
        self.authorize(actor, Operation::EditRelease)?;
        let action = &action;
        self.retrying(None, move || async move {
            let mut s: Stored<ApplicationRelease> = self.load(id).await?;
            let mut train = match s.value.active_train() {
                Some(t) => Some(self.load::<Train>(t).await?),
                None => None,
            };
            let now = self.now();
            let approval_id = match action {
                ReleaseAction::RequestDevelopmentApproval if train.is_some() => {
                    s.value.clone().apply(action, train.as_ref().map(|t| &t.value), actor, now, Some(String::new()))?;
                    Some(self.new_id("AP").await?)
                }
                _ => None,
            };
            let facts = match action {
                ReleaseAction::SendBack { .. } => self.release_facts(&s.value.id).await?,
                _ => ReleaseFacts::default(),
            };
            let outcome =
                s.value.apply_with(action, train.as_ref().map(|t| &t.value), &facts, actor, now, approval_id)?;
            let mut tx = Tx::new(actor, now);
            tx.record(outcome.changes);
            if let Some(a) = &outcome.new_approval {
                tx.insert(a, seq_of(&a.id))?;
            }
            if matches!(action, ReleaseAction::SendBack { .. }) {
                self.turnovers_back_to_draft(&mut tx, &s.value.id, now).await?;
            }
            if matches!(action, ReleaseAction::SendBack { .. } | ReleaseAction::Cancel { .. }) {
                self.cascade(
                    &mut tx,
                    &mut s,
                    train.as_mut(),
                    matches!(action, ReleaseAction::SendBack { .. }),
                    actor,
                    now,
                )
                .await?;
            }
            tx.update(&s)?;
            self.commit(tx).await
        })
        .await?;
        self.release(actor, id).await
    }

    /// The turnovers carrying a release: its own, and production-ready ones of its train carrying it
    /// among other releases (listed under their train).
    async fn release_turnovers(&self, release: &str) -> ServiceResult<Vec<Stored<railyard_domain::Turnover>>> {
        let mut q = ListQuery::new("turnover", crate::MAX_PAGE);
        q.parent_id = Some(release.to_string());
        let mut turnovers = self.list_all::<railyard_domain::Turnover>(q).await?;
        if let Some(train) =
            self.find::<ApplicationRelease>(release).await?.and_then(|r| r.value.accepted_train().map(str::to_string))
        {
            let mut q = ListQuery::new("turnover", crate::MAX_PAGE);
            q.category = Some(train);
            for t in self.list_all::<railyard_domain::Turnover>(q).await? {
                if t.value.releases.iter().any(|r| r == release) && !turnovers.iter().any(|x| x.value.id == t.value.id)
                {
                    turnovers.push(t);
                }
            }
        }
        Ok(turnovers)
    }

    /// What a release's actions depend on besides itself and its train: the running deployments of the
    /// turnovers carrying it, which a send back waits for (R10).
    pub(crate) async fn release_facts(&self, release: &str) -> ServiceResult<ReleaseFacts> {
        let mut facts = ReleaseFacts::default();
        for t in self.release_turnovers(release).await? {
            for d in self.deployments_of(&t.value.id).await? {
                if d.value.state == railyard_domain::DeploymentState::Running {
                    facts.running_deployments.push((d.value.id.clone(), t.value.id.clone()));
                }
            }
        }
        Ok(facts)
    }

    /// R10: the release's open turnovers return to draft; their scheduled deployments are withdrawn. (A
    /// running deployment refuses the send back in the domain: it finishes or fails first.)
    async fn turnovers_back_to_draft(&self, tx: &mut Tx, release: &str, now: DateTime<Utc>) -> ServiceResult<()> {
        let why = format!("{release} was sent back to construction");
        for mut t in self.release_turnovers(release).await? {
            for mut d in self.deployments_of(&t.value.id).await? {
                if let Some(c) = d.value.withdraw(&why, now) {
                    tx.record([c]);
                    tx.update(&d)?;
                }
            }
            if let Some(c) = t.value.back_to_draft(&why) {
                tx.record([c]);
                tx.update(&t)?;
            }
        }
        Ok(())
    }

    /// R10: what sending a release back (or cancelling it) does around it, in the same commit: its pending
    /// development approval is cancelled; on send back, a train past construction returns to construction
    /// and its pending executive and verification-gate approvals, which depended on this release, are
    /// cancelled.
    async fn cascade(
        &self,
        tx: &mut Tx,
        release: &mut Stored<ApplicationRelease>,
        train: Option<&mut Stored<Train>>,
        send_back: bool,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> ServiceResult<()> {
        let rid = release.value.id.clone();
        let why =
            if send_back { format!("{rid} was sent back to construction") } else { format!("{rid} was cancelled") };
        let Some(train) = train else { return Ok(()) };
        let moved = if send_back { train.value.return_to_construction(&rid, &actor.name, now) } else { None };
        let mut touched = moved.is_some();
        for mut pending in self.pending_approvals_of(&train.value.id).await? {
            if !pending.value.rests_on_release(&rid, moved.is_some()) {
                continue;
            }
            if let Some(c) = pending.value.cancel(&why, now) {
                tx.update(&pending)?;
                tx.record([c]);
                tx.record(release.value.on_development_decided(&pending.value, now));
                tx.record(train.value.on_approval_decided(&pending.value, now));
                touched |= pending.value.kind != railyard_domain::ApprovalKind::Development;
            }
        }
        tx.record(moved);
        // On send back the train is always written, so a concurrent stage change of it conflicts.
        if touched || send_back {
            tx.update(train)?;
        }
        Ok(())
    }

    pub async fn add_release_milestone(
        &self,
        actor: &Actor,
        id: &str,
        spec: MilestoneSpec,
    ) -> ServiceResult<ReleaseView> {
        bounded(&spec)?;
        if let Some(o) = &spec.owner {
            self.check_users([("owner".to_string(), o.clone())]).await?;
        }
        self.change_release(
            actor,
            id,
            Operation::EditRelease,
            |r, _, _, mid| r.add_milestone(mid.unwrap_or_default(), spec.clone(), actor).map(one),
            Some("MS"),
            false,
        )
        .await
    }

    pub async fn edit_release_milestone(
        &self,
        actor: &Actor,
        id: &str,
        ms: &str,
        patch: MilestonePatch,
        expected: Option<i64>,
    ) -> ServiceResult<ReleaseView> {
        bounded(&patch)?;
        // An empty owner clears it; any other must be a user.
        if let Some(o) = patch.owner.as_ref().filter(|o| !o.is_empty()) {
            self.check_users([("owner".to_string(), o.clone())]).await?;
        }
        self.change_release_at(
            actor,
            id,
            expected,
            Operation::EditRelease,
            |r, _, _, _| r.edit_milestone(ms, patch.clone(), actor).map(one),
            None,
            false,
        )
        .await
    }

    pub async fn remove_release_milestone(&self, actor: &Actor, id: &str, ms: &str) -> ServiceResult<ReleaseView> {
        self.change_release(
            actor,
            id,
            Operation::EditRelease,
            |r, _, _, _| r.remove_milestone(ms, actor).map(one),
            None,
            false,
        )
        .await
    }

    pub async fn decide_release_milestone(
        &self,
        actor: &Actor,
        id: &str,
        ms: &str,
        to: MilestoneState,
    ) -> ServiceResult<ReleaseView> {
        self.change_release(
            actor,
            id,
            Operation::CompleteMilestone,
            |r, _, now, _| r.decide_milestone(ms, to, actor, now).map(one),
            None,
            false,
        )
        .await
    }
}

fn one(c: railyard_domain::Change) -> Outcome {
    Outcome { changes: vec![c], new_approval: None }
}
