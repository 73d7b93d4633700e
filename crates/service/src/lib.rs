//! Railyard's use cases.
//!
//! Every state change follows one path: authorise the actor against the role matrix, load the aggregates,
//! let the domain decide, then save the new state and its audit events in one store commit (R17).
//! The HTTP server, the CLI's `serve` and (later) the engine all go through [`Service`]; nothing else
//! writes to the store.

mod actions;
mod applications;
mod approvals;
mod audit;
mod audit_gate;
mod client_address;
mod dependencies;
mod deployments;
mod engine_work;
mod environments;
mod error;
mod holds;
mod inbox;
mod input_limits;
mod inventory;
mod leases;
mod line;
mod live;
mod passwords;
mod persist;
mod production;
mod public_url;
mod recovery;
mod releases;
mod run_processes;
mod run_results;
mod runbooks;
mod runner_protocol;
mod runners;
mod secret_key;
mod secrets;
mod sessions;
mod sign_in_limits;
mod snapshot;
mod timeline;
mod tokens;
mod train_parts;
mod trains;
mod turnovers;
mod users;
mod variables;
mod verification;
mod views;
mod work_items;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use railyard_domain::{Actor, Operation};
use railyard_store::Store;

pub use applications::ApplicationView;
pub use approvals::{ApprovalFilter, DecideInput, OverrideInput};
pub use audit::{
    AuditFilter, AuditStatus, ChainView, EventView, HeadView, RecordMismatchView, parse_head, record_rule,
};
pub use client_address::{ClientAddress, TrustedProxy};
pub use dependencies::{DependencyInput, OrderEntry};
pub use deployments::{
    CompleteRunInput, DeployInput, DeploymentFilter, DeploymentView, RetryInput, RunLog, ValidateInput,
};
pub use engine_work::{LEASE_SECS, Launch, Step};
pub use environments::{CalendarEntry, EnvironmentFilter, EnvironmentView, PathView, StateReason};
pub use error::{ServiceError, ServiceResult};
pub use inbox::{Inbox, InboxCriterion, InboxMilestone, InboxRun};
pub use inventory::{
    Inventory, InventoryCell, InventoryCellHistory, InventoryEnvironment, InventoryFilter, InventoryRow, PlacementView,
};
pub use line::LineInput;
pub use production::{DEFAULT_WINDOW_MINUTES, RollbackInput, ScheduleInput, StartInput, VerifyInput};
pub use public_url::PublicUrl;
pub use recovery::{RECOVERY_LABEL, RecoveryToken};
pub use releases::{ProposeInput, ReasonInput, ReleaseFilter, ReleaseView};
pub use run_processes::Leftover;
pub use runbooks::{ReviewInput, RunbookRef, RunbookView, SaveAsRunbookInput};
pub use runner_protocol::{ClaimInput, ClaimedRun, Claims, HeartbeatInput, LeaseView, ResultInput};
pub use runners::{RUNNER_TOKEN_PREFIX, RunnerView};
pub use secret_key::{SecretKey, SecretKeyError};
pub use secrets::{KeyRotation, ResolvedRun, SecretFilter, SecretView};
pub use sessions::{
    MAX_SESSIONS_PER_USER, MIN_PASSWORD_CHARS, PasswordInput, SESSION_HOURS, SessionInfo, SignInMethod, SignedIn,
};
pub use sign_in_limits::SignInLimits;
pub use timeline::{GateMark, MilestoneMark, ReleaseBar, StageBar, Timeline};
pub use train_parts::{DecideCriterionInput, GateInput};
pub use trains::{CopyInput, TrainFilter};
pub use turnovers::{CopyTasksInput, LinkInput, ReorderInput, TurnoverFilter, TurnoverView};
pub use users::{
    ADMIN_USER, Bootstrap, NewToken, NewUser, TokenView, UserPatch, UserView, hash_token, parse_time_zone,
};
pub use variables::{VariableFilter, VariableView};
pub use verification::Verification;
pub use views::{ApprovalView, GateStatus, Meta, Page, TrainView};
pub use work_items::{ImportReport, WorkItemFilter, WorkItemPatch, WorkItemView};

/// Where the time comes from: the system clock, or a fixed one in tests.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The most items one page of a list returns.
pub const MAX_PAGE: u32 = 500;

#[derive(Clone)]
pub struct Service {
    store: Arc<dyn Store>,
    clock: Clock,
    /// Every application release as of the latest head seen (see `snapshot.rs`).
    releases: Arc<snapshot::ReleaseSnapshot>,
    /// The output so far of the automation runs this server's engine runs (see `live.rs`).
    live: Arc<live::LiveOutput>,
    /// Sign-in limits, password hashing slots and the public URL (see `sign_in_limits.rs`).
    access: Arc<Access>,
    /// One verification of the audit log at a time (see `audit_gate.rs`).
    verifications: Arc<audit_gate::VerifyGate>,
    /// Every event it writes is marked demo data (see [`Service::marking_demo_data`]).
    demo_data: bool,
    /// The key secrets are encrypted with (see `secrets.rs`); none: secrets cannot be set.
    secret_key: Option<Arc<SecretKey>>,
    /// Whether this server runs the tasks of environments without runner labels itself (`serve
    /// --no-local-runner` turns it off: then remote runners take every run).
    local_runner: bool,
    /// Wakes the runners' claims waiting on this server when the engine queues runs (see
    /// `runner_protocol.rs`); waiters also look every quarter second, for runs other servers queue.
    runs_queued: Arc<tokio::sync::Notify>,
    /// Remote runners' results waiting for their deployment's next commit (see `run_results.rs`).
    results: Arc<run_results::ResultBatches>,
}

/// How people get in: failure counts, hashing slots, where they reach the server.
struct Access {
    limits: SignInLimits,
    throttle: sign_in_limits::Throttle,
    passwords: passwords::Passwords,
    public_url: Option<PublicUrl>,
}

impl Access {
    fn new(limits: SignInLimits, public_url: Option<PublicUrl>) -> Arc<Self> {
        Arc::new(Access {
            limits,
            throttle: sign_in_limits::Throttle::new(limits),
            passwords: passwords::Passwords::new(limits.hashing_slots),
            public_url,
        })
    }
}

impl Service {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Service::with_clock(store, Arc::new(Utc::now))
    }

    pub fn with_clock(store: Arc<dyn Store>, clock: Clock) -> Self {
        let access = Access::new(SignInLimits::default(), None);
        Service {
            store,
            clock,
            releases: Default::default(),
            live: Default::default(),
            access,
            verifications: Default::default(),
            demo_data: false,
            secret_key: None,
            local_runner: true,
            runs_queued: Default::default(),
            results: Default::default(),
        }
    }

    /// The same service without the built-in runner: every automation run is queued for remote
    /// runners (an environment without runner labels takes any runner).
    pub fn without_local_runner(mut self) -> Self {
        self.local_runner = false;
        self
    }

    /// The same service, marking every event it writes as demo data: `"demo": true` in the event's data
    /// (data that is not a JSON object is kept under `"data"`). Only the demo loader builds one, in its
    /// own process, with a clock it moves through the demo's past; no request can ask for it, so no user
    /// can backdate anything, and whatever the loader backdated says so in the audit log.
    pub fn marking_demo_data(mut self) -> Self {
        self.demo_data = true;
        self
    }

    /// The same service with other sign-in limits (the counts so far start again).
    pub fn with_sign_in_limits(mut self, limits: SignInLimits) -> Self {
        self.access = Access::new(limits, self.access.public_url.clone());
        self
    }

    /// The same service, reached by people at `url` (`--public-url`).
    pub fn with_public_url(mut self, url: Option<PublicUrl>) -> Self {
        self.access = Access::new(self.access.limits, url);
        self
    }

    /// Where people reach Railyard, when set (`--public-url`).
    pub fn public_url(&self) -> Option<&PublicUrl> {
        self.access.public_url.as_ref()
    }

    pub fn sign_in_limits(&self) -> SignInLimits {
        self.access.limits
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Now, at the precision the store keeps (from the service's clock: pages use it for "today").
    pub fn now(&self) -> DateTime<Utc> {
        railyard_store::to_stored_precision((self.clock)())
    }

    pub(crate) fn authorize(&self, actor: &Actor, op: Operation) -> ServiceResult<()> {
        match railyard_domain::access::role_guard(actor, op) {
            None => Ok(()),
            Some(guard) => Err(ServiceError::Forbidden(guard.message)),
        }
    }

    /// Checks that the database answers (for `/readyz`).
    pub async fn ready(&self) -> ServiceResult<&'static str> {
        self.store.ping().await?;
        Ok(self.store.backend())
    }
}
