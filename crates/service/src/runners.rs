//! The runner registry: registering runners (their token shown once, stored hashed), listing them with
//! their presence, revoking them, and telling a runner's token from a user's.
//!
//! A runner's presence (last seen, version, runs in flight) is operational state, kept in a record of
//! its own (kind `runner_presence`) that the runner protocol renews without an event, like a
//! deployment's lease; it is created with the runner's registration, so that a change lists it.

use chrono::{DateTime, Utc};
use railyard_domain::runner::{self, RunnerPresence};
use railyard_domain::{Actor, AvailableAction, Operation, Runner, RunnerSpec, RunnerState};
use railyard_store::ListQuery;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::input_limits::bounded;
use crate::persist::{Aggregate, Stored, Tx, decode, seq_of};
use crate::users::hash_token;
use crate::views::Page;
use crate::{Service, ServiceError, ServiceResult};

/// Every runner token starts so: the server tells a runner's token from a user's at a glance.
pub const RUNNER_TOKEN_PREFIX: &str = "ryrun_";

impl Aggregate for Runner {
    const KIND: &'static str = "runner";
    fn id(&self) -> &str {
        &self.id
    }
    fn state(&self) -> Option<String> {
        Some(self.state.as_str().to_string())
    }
    /// Found by its token's hash.
    fn category(&self) -> Option<String> {
        Some(self.token_hash.clone())
    }
    /// Names are unique.
    fn unique_key(&self) -> Option<String> {
        Some(self.name.clone())
    }
}

/// The presence record of a runner (its id).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Presence(pub RunnerPresence);

impl Aggregate for Presence {
    const KIND: &'static str = "runner_presence";
    fn id(&self) -> &str {
        &self.0.runner
    }
    fn state(&self) -> Option<String> {
        None
    }
    fn parent_id(&self) -> Option<String> {
        Some(self.0.runner.clone())
    }
}

/// A runner as the API shows it: never its token's hash; the token itself only once, when registered.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunnerView {
    pub id: String,
    pub name: String,
    pub labels: Vec<String>,
    pub description: String,
    pub state: RunnerState,
    /// Heard from within the last 15 seconds.
    pub online: bool,
    pub last_seen_at: Option<DateTime<Utc>>,
    /// The runner software's version, as it last said.
    pub version: Option<String>,
    /// The labels its process serves now (a subset of `labels` when started with `--labels`).
    pub serving: Vec<String>,
    pub runs_in_flight: usize,
    pub created_by: String,
    pub revoked_by: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Only in the answer to its registration: give it to `railyard runner --token`. It is not shown
    /// again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn view(s: Stored<Runner>, presence: Option<&RunnerPresence>, now: DateTime<Utc>, token: Option<String>) -> RunnerView {
    let p = presence.cloned().unwrap_or_default();
    let r = s.value;
    let in_flight = if p.online(now) { p.in_flight.len() } else { 0 };
    RunnerView {
        created_at: s.created_at,
        updated_at: s.updated_at,
        online: r.state == RunnerState::Active && p.online(now),
        last_seen_at: p.last_seen_at,
        version: p.version,
        serving: p.labels,
        runs_in_flight: in_flight,
        id: r.id,
        name: r.name,
        labels: r.labels,
        description: r.description,
        state: r.state,
        created_by: r.created_by,
        revoked_by: r.revoked_by,
        revoked_at: r.revoked_at,
        token,
    }
}

fn new_runner_token() -> ServiceResult<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| ServiceError::Internal(format!("no randomness for a token: {e}")))?;
    Ok(format!("{RUNNER_TOKEN_PREFIX}{}", hex::encode(bytes)))
}

impl Service {
    /// Registers a runner; the answer carries its token, shown this once.
    pub async fn register_runner(&self, actor: &Actor, spec: RunnerSpec) -> ServiceResult<RunnerView> {
        bounded(&spec)?;
        self.authorize(actor, Operation::ManageRunners)?;
        Runner::register(String::new(), spec.clone(), String::new(), &actor.name)?;
        if self.store.get_by_key(<Runner as Aggregate>::KIND, &spec.name).await?.is_some() {
            return Err(ServiceError::Duplicate(format!(
                "a runner named {} is registered already; choose another name (or revoke it first and use a new name)",
                spec.name
            )));
        }
        let token = new_runner_token()?;
        let id = self.new_id("RN").await?;
        let (runner, change) = Runner::register(id.clone(), spec, hash_token(&token), &actor.name)?;
        let mut tx = Tx::new(actor, self.now());
        tx.insert(&runner, seq_of(&id))?;
        tx.insert(&Presence(RunnerPresence { runner: id.clone(), ..Default::default() }), seq_of(&id))?;
        tx.record([change]);
        self.commit(tx).await?;
        let stored: Stored<Runner> = self.load(&id).await?;
        Ok(view(stored, None, self.now(), Some(token)))
    }

    /// Every runner, active and revoked, oldest first.
    pub async fn runners(&self, actor: &Actor) -> ServiceResult<Page<RunnerView>> {
        self.authorize(actor, Operation::Read)?;
        let now = self.now();
        let mut items = Vec::new();
        for r in self.all_runners().await? {
            let p = self.presence_of(&r.value.id).await?;
            items.push(view(r, p.as_ref(), now, None));
        }
        Ok(Page { items, next_cursor: None })
    }

    /// One runner, by id (`RN-1`) or name.
    pub async fn runner(&self, actor: &Actor, id_or_name: &str) -> ServiceResult<RunnerView> {
        self.authorize(actor, Operation::Read)?;
        let r = self.runner_record(id_or_name).await?;
        let p = self.presence_of(&r.value.id).await?;
        Ok(view(r, p.as_ref(), self.now(), None))
    }

    /// Revokes a runner: its token stops working at once; the runs it holds are interrupted when their
    /// leases expire.
    pub async fn revoke_runner(&self, actor: &Actor, id_or_name: &str) -> ServiceResult<RunnerView> {
        self.authorize(actor, Operation::ManageRunners)?;
        let id = self.runner_record(id_or_name).await?.value.id;
        let id = &id;
        self.retrying(None, move || async move {
            let mut s: Stored<Runner> = self.load(id).await?;
            let change = s.value.revoke(&actor.name, self.now())?;
            let mut tx = Tx::new(actor, self.now());
            tx.update(&s)?;
            tx.record([change]);
            self.commit(tx).await
        })
        .await?;
        self.runner(actor, id).await
    }

    /// What `actor` may do to each runner (`revoke`, on its name).
    pub async fn runner_actions_for(&self, actor: &Actor) -> ServiceResult<Vec<AvailableAction>> {
        self.authorize(actor, Operation::Read)?;
        let runners: Vec<Runner> = self.all_runners().await?.into_iter().map(|s| s.value).collect();
        Ok(runner::runner_actions(actor, &runners))
    }

    /// The runner holding this token, if it is a runner's token of an active runner.
    pub async fn authenticate_runner(&self, secret: &str, client: Option<std::net::IpAddr>) -> ServiceResult<Runner> {
        let attempt = crate::sign_in_limits::Attempt::new(client, None);
        let mut q = ListQuery::new(<Runner as Aggregate>::KIND, 2);
        q.category = Some(hash_token(secret));
        let found = self.store.list(&q).await?.into_iter().next();
        let runner = match found {
            Some(r) => Some(decode::<Runner>(r)?.value),
            None => None,
        };
        match runner {
            Some(r) if r.state == RunnerState::Active => Ok(r),
            other => {
                self.access.throttle.check(&attempt, self.now())?;
                self.access.throttle.failed(&attempt, self.now());
                Err(ServiceError::Unauthenticated(match other {
                    Some(r) => format!("runner {} was revoked: register a new runner and use its token", r.name),
                    None => "the runner token is not valid: it is unknown".into(),
                }))
            }
        }
    }

    /// The labels some active runner carries (what environments may name).
    pub(crate) async fn known_runner_labels(&self) -> ServiceResult<std::collections::BTreeSet<String>> {
        Ok(self
            .all_runners()
            .await?
            .into_iter()
            .filter(|r| r.value.state == RunnerState::Active)
            .flat_map(|r| r.value.labels)
            .collect())
    }

    /// The presences of the active runners.
    pub(crate) async fn online_runners(&self) -> ServiceResult<Vec<(Runner, RunnerPresence)>> {
        let now = self.now();
        let mut out = Vec::new();
        for r in self.all_runners().await? {
            if r.value.state != RunnerState::Active {
                continue;
            }
            if let Some(p) = self.presence_of(&r.value.id).await?
                && p.online(now)
            {
                out.push((r.value, p));
            }
        }
        Ok(out)
    }

    pub(crate) async fn all_runners(&self) -> ServiceResult<Vec<Stored<Runner>>> {
        self.list_all::<Runner>(ListQuery::new(<Runner as Aggregate>::KIND, 0)).await
    }

    pub(crate) async fn presence_of(&self, runner: &str) -> ServiceResult<Option<RunnerPresence>> {
        Ok(self.find::<Presence>(runner).await?.map(|p| p.value.0))
    }

    async fn runner_record(&self, id_or_name: &str) -> ServiceResult<Stored<Runner>> {
        if let Some(r) = self.find::<Runner>(id_or_name).await? {
            return Ok(r);
        }
        match self.store.get_by_key(<Runner as Aggregate>::KIND, id_or_name).await? {
            Some(r) => decode(r),
            None => Err(ServiceError::NotFound { kind: "runner", id: id_or_name.to_string() }),
        }
    }
}
