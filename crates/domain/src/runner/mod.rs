//! Runners: processes (`railyard runner`) on hosts near the environments that claim automation runs
//! from the server and run them there. An environment names the runner labels that run its tasks
//! ([`crate::Environment::runner_labels`]); a run goes to an online runner carrying every one of them.
//! An environment without labels uses the runner built into `railyard serve`.
//!
//! # Rules
//!
//! - A runner's name is unique: 2 to 40 lower-case letters, digits, '-' or '_', starting with a letter.
//! - A label is 1 to 40 lower-case letters, digits, '.', '-' or '_', starting with a letter or digit;
//!   a runner carries at most [`MAX_LABELS`] of them, and so does an environment.
//! - An environment may only name labels that some active runner carries (an unknown label is a typo
//!   far more often than a runner registered later: register the runner first).
//! - A runner's token is shown once, when it is registered, and stored hashed. A revoked runner's token
//!   stops working at once; its runs in flight are interrupted when their leases expire.
//! - Admins and release engineers register and revoke runners ([`crate::Operation::ManageRunners`]).
//!
//! # Claims and leases
//!
//! A run handed to a remote runner is a [`RunClaim`]: queued until a runner carrying its labels claims
//! it, then held for [`LEASE_SECS`] and renewed by the runner's heartbeats. A claim whose lease expires
//! is lost: the run is marked `interrupted` (never started again without a retry) and a result sent for
//! it later is refused.

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::error::{Fields, Guards};
use crate::{Change, DomainError};

/// How long a claim on a run lasts without a heartbeat.
pub const LEASE_SECS: i64 = 10;
/// A runner not heard from for this long is offline.
pub const ONLINE_SECS: i64 = 15;
/// The most labels a runner or an environment carries.
pub const MAX_LABELS: usize = 16;
/// The most output text kept of a remote run: 1 MiB, as the built-in runner keeps.
pub const MAX_KEPT_BYTES: usize = 1024 * 1024;
/// The most runs one claim request takes.
pub const MAX_CAPACITY: u32 = 64;

/// A registered runner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Runner {
    /// "RN-1"
    pub id: String,
    pub name: String,
    pub labels: Vec<String>,
    #[serde(default)]
    pub description: String,
    pub state: RunnerState,
    pub created_by: String,
    #[serde(default)]
    pub revoked_by: Option<String>,
    #[serde(default)]
    pub revoked_at: Option<DateTime<Utc>>,
    /// SHA-256 of its token, hex; never shown.
    #[serde(skip_serializing_if = "String::is_empty", default)]
    #[schema(ignore)]
    pub token_hash: String,
}

/// `active` until revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunnerState {
    Active,
    Revoked,
}

impl RunnerState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunnerState::Active => "active",
            RunnerState::Revoked => "revoked",
        }
    }
}

impl std::fmt::Display for RunnerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A runner to register.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunnerSpec {
    /// 2 to 40 lower-case letters, digits, '-' or '_', starting with a letter; unique.
    pub name: String,
    /// What it runs: environments name these. 1 to 16 labels.
    pub labels: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// What makes a label: see the module's rules.
pub const LABEL_RULE: &str = "1 to 40 lower-case letters, digits, '.', '-' or '_', starting with a letter or digit";

/// Whether `label` is a label.
pub fn is_label(label: &str) -> bool {
    (1..=40).contains(&label.len())
        && label.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && label.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'))
}

/// Checks a list of labels (`field` names it in errors): each well formed, at most [`MAX_LABELS`],
/// no repeats. Returns them sorted.
pub(crate) fn check_labels(f: &mut Fields, field: &str, labels: &[String]) -> Vec<String> {
    f.check(labels.len() <= MAX_LABELS, field, || {
        format!("has {} labels; at most {MAX_LABELS} are allowed", labels.len())
    });
    for (i, l) in labels.iter().enumerate() {
        f.check(is_label(l), &format!("{field}[{i}]"), || format!("'{l}' is not a label: use {LABEL_RULE}"));
    }
    let set: BTreeSet<&String> = labels.iter().collect();
    f.check(set.len() == labels.len(), field, || "names a label twice".into());
    set.into_iter().cloned().collect()
}

/// Whether a runner carrying `offered` may run what needs `needed` (every needed label is offered).
pub fn serves(offered: &[String], needed: &[String]) -> bool {
    needed.iter().all(|n| offered.contains(n))
}

/// The labels of `wanted` that no runner in `known` carries (the unknown labels an environment names).
pub fn unknown_labels(wanted: &[String], known: &BTreeSet<String>) -> Vec<String> {
    wanted.iter().filter(|l| !known.contains(*l)).cloned().collect()
}

fn name_ok(name: &str) -> bool {
    crate::environment::name_ok(name)
}

impl Runner {
    /// A new runner from its spec (the token's hash made by the caller), or every invalid field.
    pub fn register(
        id: String,
        spec: RunnerSpec,
        token_hash: String,
        by: &str,
    ) -> Result<(Runner, Change), DomainError> {
        let mut f = Fields::default();
        f.check(name_ok(&spec.name), "name", || {
            format!(
                "'{}' is not a runner name: use 2 to 40 lower-case letters, digits, '-' or '_', starting with a letter",
                spec.name
            )
        });
        f.check(!spec.labels.is_empty(), "labels", || "a runner needs at least one label".into());
        let labels = check_labels(&mut f, "labels", &spec.labels);
        f.done()?;
        let runner = Runner {
            id,
            name: spec.name,
            labels,
            description: spec.description.unwrap_or_default().trim().to_string(),
            state: RunnerState::Active,
            created_by: by.to_string(),
            revoked_by: None,
            revoked_at: None,
            token_hash,
        };
        let change = Change::new(
            "runner",
            &runner.id,
            "register",
            json!({"name": runner.name, "labels": runner.labels, "description": runner.description}),
        );
        Ok((runner, change))
    }

    /// Whether it can be revoked now (it is active), with the guard that refuses it.
    pub fn check_revoke(&self) -> Result<(), DomainError> {
        let mut g = Guards::new("revoke", &format!("runner {}", self.name), self.state);
        g.check(self.state == RunnerState::Active, "wrong_state", || {
            format!("runner {} is already revoked", self.name)
        });
        g.done()
    }

    /// Revokes it: its token stops working at once.
    pub fn revoke(&mut self, by: &str, now: DateTime<Utc>) -> Result<Change, DomainError> {
        self.check_revoke()?;
        self.state = RunnerState::Revoked;
        self.revoked_by = Some(by.to_string());
        self.revoked_at = Some(now);
        Ok(Change::new("runner", &self.id, "revoke", json!({"name": self.name})))
    }
}

/// The labels a runner process serves: those it asks for (a subset of its registered ones; each
/// unknown one is refused, naming it) or, without any, all of its registered labels.
pub fn serving_labels(runner: &Runner, asked: Option<&[String]>) -> Result<Vec<String>, DomainError> {
    let Some(asked) = asked else { return Ok(runner.labels.clone()) };
    let mut f = Fields::default();
    let asked = check_labels(&mut f, "labels", asked);
    for l in &asked {
        f.check(runner.labels.contains(l), "labels", || {
            format!(
                "runner {} is not registered with label '{l}'; its labels are: {}",
                runner.name,
                runner.labels.join(", ")
            )
        });
    }
    f.done()?;
    Ok(asked)
}

/// Where a run handed to remote runners is: waiting for a runner, or held by one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClaimState {
    Queued,
    Claimed,
}

impl ClaimState {
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimState::Queued => "queued",
            ClaimState::Claimed => "claimed",
        }
    }
}

/// One automation run handed to remote runners (its id is the run log's: `DE-5:R1:2`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunClaim {
    pub id: String,
    pub deployment: String,
    /// The run's index in its deployment.
    pub index: usize,
    /// "R1"
    pub run: String,
    pub attempt: u32,
    /// What the runner must carry.
    pub labels: Vec<String>,
    pub state: ClaimState,
    pub queued_at: DateTime<Utc>,
    /// The runner holding it (its id and name), and until when.
    #[serde(default)]
    pub runner: Option<String>,
    #[serde(default)]
    pub runner_name: Option<String>,
    #[serde(default)]
    pub claimed_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    /// The output the runner sent so far (readable from every server while the run runs).
    #[serde(default)]
    pub lines: Vec<serde_json::Value>,
    /// Lines dropped past the output limit.
    #[serde(default)]
    pub dropped: usize,
}

impl RunClaim {
    /// A run waiting for a runner carrying `labels`.
    pub fn queued(
        deployment: &str,
        index: usize,
        run: &str,
        attempt: u32,
        labels: Vec<String>,
        now: DateTime<Utc>,
    ) -> RunClaim {
        RunClaim {
            id: format!("{deployment}:{run}:{attempt}"),
            deployment: deployment.to_string(),
            index,
            run: run.to_string(),
            attempt,
            labels,
            state: ClaimState::Queued,
            queued_at: now,
            runner: None,
            runner_name: None,
            claimed_at: None,
            expires_at: None,
            lines: Vec::new(),
            dropped: 0,
        }
    }

    /// Whether `runner` holds it now.
    pub fn held_by(&self, runner: &str, now: DateTime<Utc>) -> bool {
        self.state == ClaimState::Claimed
            && self.runner.as_deref() == Some(runner)
            && self.expires_at.is_some_and(|t| t > now)
    }

    /// Whether its lease ran out (a claimed run whose runner stopped answering).
    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        self.state == ClaimState::Claimed && self.expires_at.is_none_or(|t| t <= now)
    }

    /// Takes it for `runner` (id and name) until `now + LEASE_SECS`.
    pub fn claim(&mut self, runner: &str, runner_name: &str, now: DateTime<Utc>) {
        self.state = ClaimState::Claimed;
        self.runner = Some(runner.to_string());
        self.runner_name = Some(runner_name.to_string());
        self.claimed_at = Some(now);
        self.expires_at = Some(now + Duration::seconds(LEASE_SECS));
    }

    /// Renews the lease of the runner holding it, keeping at most `max_lines` lines of output; refused
    /// (with the reason) when it does not hold it.
    pub fn renew(
        &mut self,
        runner: &str,
        now: DateTime<Utc>,
        lines: Vec<serde_json::Value>,
        max_lines: usize,
    ) -> Result<DateTime<Utc>, String> {
        if !self.held_by(runner, now) {
            return Err(self.not_held_reason(runner, now));
        }
        self.append(lines, max_lines);
        let until = now + Duration::seconds(LEASE_SECS);
        self.expires_at = Some(until);
        Ok(until)
    }

    /// Keeps `lines` up to `max_lines` in all, counting what it drops.
    /// Keeps `lines` up to `max_lines` and [`MAX_KEPT_BYTES`] of text in all, counting what it drops
    /// (the built-in runner keeps as much).
    pub fn append(&mut self, lines: Vec<serde_json::Value>, max_lines: usize) {
        let text = |l: &serde_json::Value| l["text"].as_str().map_or(0, str::len);
        let mut bytes: usize = self.lines.iter().map(text).sum();
        for line in lines {
            bytes += text(&line);
            if self.lines.len() >= max_lines || bytes > MAX_KEPT_BYTES {
                self.dropped += 1;
            } else {
                self.lines.push(line);
            }
        }
    }

    /// Why `runner` does not hold it (for the 409 a heartbeat or a result gets).
    pub fn not_held_reason(&self, runner: &str, now: DateTime<Utc>) -> String {
        match (&self.state, self.runner.as_deref()) {
            (ClaimState::Queued, _) => format!("run {} is not claimed by this runner", self.id),
            (ClaimState::Claimed, Some(r)) if r != runner => {
                format!("run {} is held by another runner", self.id)
            }
            _ if self.expired(now) => format!(
                "the lease on run {} expired at {}; the run is interrupted and must be retried",
                self.id,
                self.expires_at.map(|t| t.to_rfc3339()).unwrap_or_default()
            ),
            _ => format!("run {} is not held by this runner", self.id),
        }
    }
}

/// What the runners page shows of a runner's presence.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunnerPresence {
    /// The runner's id.
    pub runner: String,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub version: Option<String>,
    pub in_flight: Vec<String>,
    /// The labels its process serves (those asked for, or all registered).
    #[serde(default)]
    pub labels: Vec<String>,
}

impl RunnerPresence {
    /// Whether it was heard from within [`ONLINE_SECS`].
    pub fn online(&self, now: DateTime<Utc>) -> bool {
        self.last_seen_at.is_some_and(|t| now - t < Duration::seconds(ONLINE_SECS))
    }
}

/// What `actor` may do to these runners: `revoke`, one entry per runner (`on` its name).
pub fn runner_actions(actor: &crate::Actor, runners: &[Runner]) -> Vec<crate::AvailableAction> {
    runners
        .iter()
        .map(|r| {
            crate::AvailableAction::decide("revoke", actor, crate::Operation::ManageRunners, || r.check_revoke())
                .on(&r.name)
        })
        .collect()
}
