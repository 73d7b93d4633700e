//! One full verification of the audit log at a time per server, shared by everyone who asks meanwhile.
//!
//! A verification reads every event and every record (in bounded memory, see `railyard_store`'s
//! cross-check), so any reader starting many at once must not multiply that work. The first caller
//! starts one; a caller who arrives while one runs waits for it to end and then shares the next one,
//! which starts as soon as the running one ends and answers everyone who waited for it. So at most one
//! runs at a time, however many callers ask, and every answer comes from a verification that started
//! after the question was asked: an edit made before asking is always seen (the answer is exact, never
//! a cached one). Each answer says when its verification started and ended.
//!
//! The verification runs in a task of its own: a caller who goes away (a closed connection) does not
//! stop it, so the others still get their answer. The newest result is kept for the console, which
//! shows it with its time rather than verifying on every page load.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use railyard_store::{AuditRun, LISTINGS_PER_PASS, Store, StoreError, verify_audit_run};
use tokio::sync::watch;

use crate::Clock;
use crate::audit::record_rule;

/// One finished verification.
#[derive(Debug)]
pub(crate) struct Finished {
    /// Its number since the server started (1, 2, ...).
    pub run: u64,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub result: Result<AuditRun, StoreError>,
}

#[derive(Default)]
struct State {
    /// How many verifications were started.
    started: u64,
    running: bool,
    /// The witnessed heads (their seqs) the callers waiting for the next verification asked about.
    wanted: BTreeSet<i64>,
}

pub(crate) struct VerifyGate {
    state: Mutex<State>,
    done: watch::Sender<Option<Arc<Finished>>>,
}

impl Default for VerifyGate {
    fn default() -> Self {
        VerifyGate { state: Mutex::default(), done: watch::Sender::new(None) }
    }
}

impl VerifyGate {
    /// The newest finished verification, if any since the server started.
    pub fn last(&self) -> Option<Arc<Finished>> {
        self.done.borrow().clone()
    }

    /// A verification that started after this call, also witnessing event `witness` (a head seen
    /// earlier) when given.
    pub async fn verify(
        self: &Arc<Self>,
        store: &Arc<dyn Store>,
        clock: &Clock,
        witness: Option<i64>,
    ) -> Arc<Finished> {
        let mut done = self.done.subscribe();
        let mut need = self.ask(witness);
        loop {
            let finished = done.borrow_and_update().clone();
            if let Some(f) = finished.filter(|f| f.run >= need) {
                // A later run than ours may have answered first; it witnessed only what its own
                // callers asked about: ask again when ours is not among them.
                match (&f.result, witness) {
                    (Ok(run), Some(seq)) if !run.has_witness(seq) => need = self.ask(witness),
                    _ => return f,
                }
            }
            self.lead(store, clock);
            // The gate outlives every caller (the service holds it), so the sender is never dropped.
            if done.changed().await.is_err() {
                return Arc::new(Finished {
                    run: need,
                    started_at: clock(),
                    finished_at: clock(),
                    result: Err(StoreError::Unavailable("the verification was stopped".into())),
                });
            }
        }
    }

    /// Registers a caller: the run that will answer it is the next one to start.
    fn ask(&self, witness: Option<i64>) -> u64 {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.wanted.extend(witness);
        state.started + 1
    }

    /// Starts the next verification, unless one is running (its end starts the next one).
    fn lead(self: &Arc<Self>, store: &Arc<dyn Store>, clock: &Clock) {
        let (run, wanted) = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            if state.running {
                return;
            }
            state.running = true;
            state.started += 1;
            (state.started, std::mem::take(&mut state.wanted))
        };
        let (gate, store, clock) = (self.clone(), store.clone(), clock.clone());
        tokio::spawn(async move {
            let started_at = clock();
            let seqs: Vec<i64> = wanted.into_iter().collect();
            let work =
                tokio::spawn(
                    async move { verify_audit_run(store.as_ref(), &seqs, &record_rule, LISTINGS_PER_PASS).await },
                );
            let result = match work.await {
                Ok(r) => r,
                Err(e) => Err(StoreError::Backend(format!("the verification stopped: {e}"))),
            };
            let finished = Arc::new(Finished { run, started_at, finished_at: clock(), result });
            // Not running any more before the result is out: a caller woken by it that needs a later
            // run can start it.
            gate.state.lock().unwrap_or_else(PoisonError::into_inner).running = false;
            gate.done.send_replace(Some(finished));
        });
    }
}
