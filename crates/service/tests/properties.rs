//! Property test: random sequences of actions by random actors, through the service layer onto a real
//! SQLite store, never break an invariant.
//!
//! Invariants checked after every action:
//! 1. A train past scoping (construction or later, cancelled aside) has its scoping gate passed; past
//!    construction, its construction gate; past verification, its verification gate.
//! 2. No approval carries a decision by its requester, and no user decides one approval twice (R2).
//! 3. An approved approval has the required number of approvals at every level; a rejected one ends with
//!    exactly one rejection; a pending one has none.
//! 4. An overridden approval has a reason and was overridden by the train's manager (R3).
//! 5. A train in deployment or closed has a granted executive approval (R4); a train awaiting train or
//!    executive approval has that approval pending; the train's mirror of each approval's state equals the
//!    approval's own state.
//! 6. A refused or forbidden action writes nothing (the audit log does not grow); an action that succeeds
//!    writes at least one event (R17). A viewer never changes anything.
//! 7. No action ends in an internal error, and the audit log's hash chain verifies.

use std::sync::Arc;

use proptest::prelude::*;
use railyard_domain::train::TrainAction;
use railyard_domain::{
    Actor, ApprovalPolicies, ApprovalPolicy, ApprovalState, CriterionState, Evidence, GateName, MilestoneSpec,
    MilestoneState, PolicyLevel, ReleaseType, Role, Schedule, TrainSpec, TrainState, Verdict,
};
use railyard_service::{
    ApprovalFilter, ApprovalView, CopyInput, DecideCriterionInput, DecideInput, GateInput, NewUser, OverrideInput,
    Service, ServiceError, TrainFilter, TrainView,
};
use railyard_store_sqlite::SqliteStore;

const USERS: [(&str, Role); 7] = [
    ("admin", Role::Admin),
    ("rm1", Role::ReleaseManager),
    ("rm2", Role::ReleaseManager),
    ("re", Role::ReleaseEngineer),
    ("po", Role::ProductOwner),
    ("dev", Role::Developer),
    ("viewer", Role::Viewer),
];

#[derive(Debug, Clone)]
enum Act {
    Lifecycle(u8),
    AddCriterion(u8),
    DecideCriterion(u8, u8),
    RequireGateApproval(u8, bool),
    RequestGateApproval(u8),
    Decide(u8, bool, bool),
    Override(u8),
    AddMilestone,
    DecideMilestone(u8, bool),
    Copy,
    /// What a diligent release team would do next on the first train, so that sequences reach deep states.
    Helpful,
    /// The next lifecycle action on the first train, by its manager, whether or not its guards hold.
    Hasty,
}

fn act() -> impl Strategy<Value = Act> {
    prop_oneof![
        4 => (0u8..6).prop_map(Act::Lifecycle),
        2 => (0u8..3).prop_map(Act::AddCriterion),
        3 => (0u8..8, 0u8..3).prop_map(|(i, s)| Act::DecideCriterion(i, s)),
        1 => (0u8..3, any::<bool>()).prop_map(|(g, b)| Act::RequireGateApproval(g, b)),
        1 => (0u8..3).prop_map(Act::RequestGateApproval),
        5 => (0u8..6, any::<bool>(), any::<bool>()).prop_map(|(i, a, r)| Act::Decide(i, a, r)),
        1 => (0u8..6).prop_map(Act::Override),
        1 => Just(Act::AddMilestone),
        1 => (0u8..4, any::<bool>()).prop_map(|(i, c)| Act::DecideMilestone(i, c)),
        1 => Just(Act::Copy),
        6 => Just(Act::Helpful),
        3 => Just(Act::Hasty),
    ]
}

fn actor(i: u8) -> Actor {
    let (name, role) = USERS[i as usize % USERS.len()];
    Actor::new(name, &[role])
}

fn policy(levels: &[(&[&str], u32)], override_allowed: bool) -> Option<ApprovalPolicy> {
    Some(ApprovalPolicy {
        levels: levels
            .iter()
            .map(|(a, r)| PolicyLevel { approvers: a.iter().map(|s| s.to_string()).collect(), required: *r })
            .collect(),
        override_allowed,
    })
}

fn gate(i: u8) -> GateName {
    GateName::ALL[i as usize % 3]
}

async fn setup(svc: &Service) -> String {
    let admin = actor(0);
    for (name, role) in &USERS[1..] {
        svc.create_user(
            &admin,
            NewUser {
                name: name.to_string(),
                display_name: String::new(),
                email: None,
                roles: vec![*role],
                password: None,
                time_zone: None,
            },
        )
        .await
        .unwrap();
    }
    let d = |s: &str| s.parse().unwrap();
    let spec = TrainSpec {
        title: "prop".into(),
        release_type: ReleaseType::Minor,
        purpose: String::new(),
        manager: Some("rm1".into()),
        engineers: vec!["re".into()],
        schedule: Schedule {
            start: d("2027-01-04"),
            scoping_end: d("2027-01-15"),
            construction_end: d("2027-02-12"),
            verification_end: d("2027-02-26"),
            production_date: d("2027-03-06"),
        },
        approval_policies: ApprovalPolicies {
            train: policy(&[(&["po", "dev"], 1), (&["re"], 1)], true),
            development: None,
            executive: policy(&[(&["po"], 1)], false),
            gate: policy(&[(&["re", "dev"], 1)], true),
        },
        reserved_environments: vec![],
        gate_approvals: vec![],
    };
    let id = svc.create_train(&actor(1), spec).await.unwrap().train.id;
    for g in GateName::ALL {
        let spec =
            railyard_domain::CriterionSpec { title: format!("{g} done"), owner: Some("dev".into()), environment: None };
        svc.add_criterion(&actor(1), &id, g, spec).await.unwrap();
    }
    id
}

async fn all_trains(svc: &Service) -> Vec<TrainView> {
    svc.trains(&actor(0), TrainFilter { limit: Some(500), ..Default::default() }).await.unwrap().items
}

async fn all_approvals(svc: &Service) -> Vec<ApprovalView> {
    svc.approvals(&actor(0), ApprovalFilter { limit: Some(500), ..Default::default() }).await.unwrap().items
}

/// Runs one action; `Ok(false)` when there was nothing to act on (the action was skipped).
async fn run(svc: &Service, trains: &[String], a: &Act, who: &Actor, pick: usize) -> Result<bool, ServiceError> {
    let id = &trains[pick % trains.len()];
    let t = svc.train(who, id).await.ok();
    let criteria: Vec<String> = t
        .iter()
        .flat_map(|t| {
            GateName::ALL.iter().flat_map(move |g| t.train.gates.get(*g).criteria.iter().map(|c| c.id.clone()))
        })
        .collect();
    let approvals = all_approvals(svc).await;
    match a {
        Act::Lifecycle(k) => {
            let action = match k {
                0 => TrainAction::Submit,
                1 => TrainAction::StartConstruction,
                2 => TrainAction::StartVerification,
                3 => TrainAction::RequestExecutiveApproval,
                4 => TrainAction::Close,
                _ => TrainAction::Cancel { reason: "because".into() },
            };
            svc.train_action(who, id, action, None).await.map(|_| true)
        }
        Act::AddCriterion(g) => svc
            .add_criterion(
                who,
                id,
                gate(*g),
                railyard_domain::CriterionSpec { title: "c".into(), owner: Some("dev".into()), environment: None },
            )
            .await
            .map(|_| true),
        Act::DecideCriterion(i, s) => {
            let Some(c) = criteria.get(*i as usize % criteria.len().max(1)) else { return Ok(false) };
            let (to, input) = match s {
                0 => (
                    CriterionState::Met,
                    DecideCriterionInput { evidence: Some(Evidence { note: "e".into(), link: None }), reason: None },
                ),
                1 => (CriterionState::Waived, DecideCriterionInput { evidence: None, reason: Some("r".into()) }),
                _ => (CriterionState::Open, DecideCriterionInput::default()),
            };
            svc.decide_criterion(who, id, c, to, input).await.map(|_| true)
        }
        Act::RequireGateApproval(g, on) => {
            svc.update_gate(who, id, gate(*g), GateInput { approval_required: *on }, None).await.map(|_| true)
        }
        Act::RequestGateApproval(g) => svc.request_gate_approval(who, id, gate(*g)).await.map(|_| true),
        Act::Decide(i, approve, back) => {
            let Some(ap) = approvals.get(*i as usize % approvals.len().max(1)) else { return Ok(false) };
            let verdict = if *approve { Verdict::Approve } else { Verdict::Reject };
            let return_to = (!approve && ap.approval.kind == railyard_domain::ApprovalKind::Executive)
                .then_some(if *back { TrainState::Construction } else { TrainState::Verification });
            let input = DecideInput { comment: Some("c".into()), return_to };
            svc.decide_approval(who, &ap.approval.id, verdict, input, None).await.map(|_| true)
        }
        Act::Override(i) => {
            let Some(ap) = approvals.get(*i as usize % approvals.len().max(1)) else { return Ok(false) };
            svc.override_approval(who, &ap.approval.id, OverrideInput { reason: "urgent".into() }).await.map(|_| true)
        }
        Act::AddMilestone => svc
            .add_milestone(
                who,
                id,
                MilestoneSpec {
                    title: "m".into(),
                    due: "2027-02-01".parse().unwrap(),
                    owner: Some("po".into()),
                    inherit: false,
                },
            )
            .await
            .map(|_| true),
        Act::DecideMilestone(i, complete) => {
            let ms: Vec<String> = t.iter().flat_map(|t| t.train.milestones.iter().map(|m| m.id.clone())).collect();
            let Some(m) = ms.get(*i as usize % ms.len().max(1)) else { return Ok(false) };
            let to = if *complete { MilestoneState::Completed } else { MilestoneState::Missed };
            svc.decide_milestone(who, id, m, to).await.map(|_| true)
        }
        Act::Copy => {
            svc.copy_train(who, id, CopyInput { start: "2027-06-07".parse().unwrap(), title: None }).await.map(|_| true)
        }
        Act::Helpful => helpful(svc, &trains[0], &approvals, false).await,
        Act::Hasty => helpful(svc, &trains[0], &approvals, true).await,
    }
}

/// The next sensible step on a train: decide its pending approval as a listed approver, meet the open
/// criteria of the current gate, request a required gate approval, or take the next lifecycle action.
async fn helpful(svc: &Service, id: &str, approvals: &[ApprovalView], hasty: bool) -> Result<bool, ServiceError> {
    let t = svc.train(&actor(0), id).await?.train;
    let rm = actor(1);
    if hasty {
        return svc.train_action(&rm, id, next_action(t.state), None).await.map(|_| true);
    }
    if let Some(ap) = approvals.iter().find(|a| a.approval.train_id == id && a.approval.state == ApprovalState::Pending)
    {
        let Some(user) = ap.waiting_for.iter().find(|u| **u != ap.approval.requested_by) else { return Ok(false) };
        let role = USERS.iter().find(|(n, _)| n == user).map(|(_, r)| *r).unwrap_or(Role::Viewer);
        let input = DecideInput { comment: None, return_to: None };
        return svc
            .decide_approval(&Actor::new(user, &[role]), &ap.approval.id, Verdict::Approve, input, None)
            .await
            .map(|_| true);
    }
    let current = GateName::ALL.into_iter().find(|g| TrainState::of_gate(*g) == t.state);
    if let Some(g) = current {
        if let Some(c) = t.gates.get(g).criteria.iter().find(|c| c.state == CriterionState::Open) {
            let input =
                DecideCriterionInput { evidence: Some(Evidence { note: "done".into(), link: None }), reason: None };
            return svc.decide_criterion(&rm, id, &c.id.clone(), CriterionState::Met, input).await.map(|_| true);
        }
        let gate = t.gates.get(g);
        if gate.approval_required && !gate.approval.as_ref().is_some_and(|a| a.state.is_granted()) {
            return svc.request_gate_approval(&rm, id, g).await.map(|_| true);
        }
    }
    svc.train_action(&rm, id, next_action(t.state), None).await.map(|_| true)
}

fn next_action(state: TrainState) -> TrainAction {
    match state {
        TrainState::Draft => TrainAction::Submit,
        TrainState::Scoping => TrainAction::StartConstruction,
        TrainState::Construction => TrainAction::StartVerification,
        TrainState::Verification | TrainState::AwaitingExecutiveApproval => TrainAction::RequestExecutiveApproval,
        _ => TrainAction::Close,
    }
}

async fn check_invariants(svc: &Service) -> Result<(), String> {
    let trains = all_trains(svc).await;
    let approvals = all_approvals(svc).await;
    let by_id = |id: &str| approvals.iter().find(|a| a.approval.id == id);
    for t in &trains {
        let tr = &t.train;
        let s = tr.state;
        if s != TrainState::Cancelled {
            for (gate, stage) in [
                (GateName::Scoping, TrainState::Construction),
                (GateName::Construction, TrainState::Verification),
                (GateName::Verification, TrainState::AwaitingExecutiveApproval),
            ] {
                if s >= stage && !tr.gate_passed(gate) {
                    return Err(format!(
                        "{} is {s} but its {gate} gate is not passed: {:?}",
                        tr.id,
                        tr.gates.get(gate)
                    ));
                }
            }
        }
        if matches!(s, TrainState::Deployment | TrainState::Closed) {
            let granted = tr
                .executive_approval
                .as_ref()
                .and_then(|r| by_id(&r.id))
                .is_some_and(|a| a.approval.state.is_granted());
            if !granted {
                return Err(format!("{} is {s} without a granted executive approval", tr.id));
            }
        }
        let pending = |r: &Option<railyard_domain::approval::ApprovalRef>| {
            r.as_ref().and_then(|r| by_id(&r.id)).is_some_and(|a| a.approval.state == ApprovalState::Pending)
        };
        if s == TrainState::AwaitingTrainApproval && !pending(&tr.train_approval) {
            return Err(format!("{} awaits train approval but none is pending", tr.id));
        }
        if s == TrainState::AwaitingExecutiveApproval && !pending(&tr.executive_approval) {
            return Err(format!("{} awaits executive approval but none is pending", tr.id));
        }
        let mut refs: Vec<&railyard_domain::approval::ApprovalRef> =
            tr.train_approval.iter().chain(tr.executive_approval.iter()).collect();
        refs.extend(GateName::ALL.iter().filter_map(|g| tr.gates.get(*g).approval.as_ref()));
        for r in refs {
            let a = by_id(&r.id).ok_or_else(|| format!("{} refers to a missing approval {}", tr.id, r.id))?;
            if a.approval.state != r.state {
                return Err(format!("{} mirrors {} as {} but it is {}", tr.id, r.id, r.state, a.approval.state));
            }
        }
    }
    for a in &approvals {
        let a = &a.approval;
        if a.decisions.iter().any(|d| d.user == a.requested_by) {
            return Err(format!("{} was decided by its requester {}", a.id, a.requested_by));
        }
        let mut users: Vec<&str> = a.decisions.iter().map(|d| d.user.as_str()).collect();
        users.sort();
        let n = users.len();
        users.dedup();
        if users.len() != n {
            return Err(format!("{}: a user decided twice", a.id));
        }
        let rejections = a.decisions.iter().filter(|d| d.verdict == Verdict::Reject).count();
        match a.state {
            ApprovalState::Approved => {
                for (i, l) in a.levels.iter().enumerate() {
                    if a.approvals_at(i) < l.required as usize {
                        return Err(format!("{} approved with level {} short", a.id, i + 1));
                    }
                }
            }
            ApprovalState::Rejected
                if rejections != 1 || a.decisions.last().map(|d| d.verdict) != Some(Verdict::Reject) =>
            {
                return Err(format!("{} rejected without exactly one final rejection", a.id));
            }
            ApprovalState::Pending if rejections > 0 => return Err(format!("{} pending after a rejection", a.id)),
            ApprovalState::Overridden => {
                let manager = trains.iter().find(|t| t.train.id == a.train_id).map(|t| t.train.manager.clone());
                if a.override_reason.as_deref().unwrap_or("").is_empty() || a.overridden_by != manager {
                    return Err(format!("{} overridden without a reason or not by the train's manager", a.id));
                }
            }
            _ => {}
        }
    }
    let chain = svc.verify_audit(&actor(0)).await.map_err(|e| e.to_string())?;
    if !chain.intact {
        return Err(format!("the audit chain breaks at {:?}", chain.first_broken_seq));
    }
    Ok(())
}

/// Runs one generated sequence; returns the deepest state the first train reached.
async fn play(steps: &[(Act, u8, usize)]) -> Result<TrainState, String> {
    let dir = tempfile::tempdir().unwrap();
    let svc = Service::new(Arc::new(SqliteStore::open(&dir.path().join("p.db")).unwrap()));
    svc.bootstrap_admin(Some("prop-test-admin-token")).await.unwrap();
    let first = setup(&svc).await;
    let mut deepest = TrainState::Draft;
    for (a, who, pick) in steps {
        let who = actor(*who);
        let trains: Vec<String> = all_trains(&svc).await.into_iter().map(|t| t.train.id).collect();
        let before = svc.verify_audit(&actor(0)).await.unwrap().events_checked;
        let outcome = run(&svc, &trains, a, &who, *pick).await;
        let after = svc.verify_audit(&actor(0)).await.unwrap().events_checked;
        match &outcome {
            Ok(true) if after == before => {
                return Err(format!("{a:?} by {} succeeded without an audit event", who.name));
            }
            Ok(false) if after != before => return Err(format!("{a:?} was skipped but wrote events")),
            Ok(true) if who.has(Role::Viewer) && !matches!(a, Act::Helpful | Act::Hasty) => {
                return Err(format!("viewer changed something with {a:?}"));
            }
            Err(ServiceError::Internal(m) | ServiceError::Unavailable(m)) => {
                return Err(format!("{a:?} failed internally: {m}"));
            }
            Err(e) if after != before => {
                return Err(format!("{a:?} was refused ({e}) but wrote {} events", after - before));
            }
            _ => {}
        }
        check_invariants(&svc).await.map_err(|e| format!("after {a:?} by {}: {e}", who.name))?;
        let state = svc.train(&actor(0), &first).await.map_err(|e| e.to_string())?.train.state;
        if state != TrainState::Cancelled && state > deepest {
            deepest = state;
        }
    }
    Ok(deepest)
}

#[test]
fn random_actions_by_random_actors_keep_every_invariant() {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(48);
    let config = ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let deepest = std::sync::Mutex::new(Vec::new());
    let strategy = prop::collection::vec((act(), 0u8..7, 0usize..4), 1..60);
    let result = runner.run(&strategy, |steps| {
        let reached = rt.block_on(play(&steps)).map_err(TestCaseError::fail)?;
        deepest.lock().unwrap().push(reached);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // The generator must exercise the whole lifecycle, not only its first steps.
    let deepest = deepest.into_inner().unwrap();
    let deep = deepest.iter().filter(|s| **s >= TrainState::Deployment).count();
    assert!(deep > 0, "no sequence took a train to deployment: {deepest:?}");
}
