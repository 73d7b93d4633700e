//! Environments and their calendars (DESIGN.md §1–2, R13).

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::error::{Fields, Guards};
use crate::{Change, DomainError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EnvironmentKind {
    Development,
    Test,
    Staging,
    Production,
}

impl EnvironmentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EnvironmentKind::Development => "development",
            EnvironmentKind::Test => "test",
            EnvironmentKind::Staging => "staging",
            EnvironmentKind::Production => "production",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EnvironmentState {
    Online,
    Offline,
    Decommissioned,
}

impl EnvironmentState {
    pub fn as_str(self) -> &'static str {
        match self {
            EnvironmentState::Online => "online",
            EnvironmentState::Offline => "offline",
            EnvironmentState::Decommissioned => "decommissioned",
        }
    }
}

impl fmt::Display for EnvironmentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// Planned work on the environment: nothing deploys (R13); two never overlap.
    Maintenance,
    /// A period in which nothing may deploy (R13), e.g. a trading peak.
    Blackout,
    /// The environment is reserved for a train.
    Reservation,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Maintenance => "maintenance",
            EventKind::Blackout => "blackout",
            EventKind::Reservation => "reservation",
        }
    }
}

/// One event of an environment's calendar, from `start` (inclusive) to `end` (exclusive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CalendarEvent {
    /// "CE-4"
    pub id: String,
    pub kind: EventKind,
    pub title: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// For reservations: the train it is reserved for.
    #[serde(default)]
    pub train_id: Option<String>,
    pub created_by: String,
}

impl CalendarEvent {
    pub fn overlaps(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        self.start < end && start < self.end
    }
    pub fn covers(&self, at: DateTime<Utc>) -> bool {
        self.start <= at && at < self.end
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventSpec {
    pub kind: EventKind,
    pub title: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Required for reservations.
    #[serde(default)]
    pub train_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Environment {
    /// Lower-case name, also its id: `test`, `staging`, `prod-eu`.
    pub name: String,
    pub kind: EnvironmentKind,
    pub owner: String,
    pub state: EnvironmentState,
    /// Locked environments (production, typically) take only accepted production-ready turnovers of a
    /// train in deployment, at their scheduled time (R11).
    #[serde(default)]
    pub locked: bool,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub events: Vec<CalendarEvent>,
    /// Why it is in its state: the reason given when it was last taken offline, brought online or
    /// decommissioned, if any. A deployment held by an offline environment shows it.
    #[serde(default)]
    pub state_reason: Option<String>,
    /// The runner labels whose runners run its tasks (a run goes to an online runner carrying every
    /// one); empty: the runner built into the server runs them (see [`crate::runner`]).
    #[serde(default)]
    pub runner_labels: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentSpec {
    /// 2 to 40 lower-case letters, digits, '-' or '_', starting with a letter.
    pub name: String,
    pub kind: EnvironmentKind,
    /// Defaults to the creator.
    #[serde(default)]
    pub owner: Option<String>,
    /// Defaults to true for production environments.
    #[serde(default)]
    pub locked: Option<bool>,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<EnvironmentKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The runner labels that run its tasks; `[]` hands them back to the built-in runner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runner_labels: Option<Vec<String>>,
}

/// The environment's lifecycle actions: `online <--> offline`, either `--decommission--> decommissioned`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvironmentAction {
    TakeOffline,
    BringOnline,
    Decommission,
}

pub(crate) fn name_ok(name: &str) -> bool {
    (2..=40).contains(&name.len())
        && name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_'))
}

impl Environment {
    pub fn create(spec: EnvironmentSpec, owner: &str) -> Result<(Environment, Change), DomainError> {
        let mut f = Fields::default();
        f.check(name_ok(&spec.name), "name", || {
            format!("'{}' is not an environment name: use 2 to 40 lower-case letters, digits, '-' or '_', starting with a letter", spec.name)
        });
        f.done()?;
        let env = Environment {
            locked: spec.locked.unwrap_or(spec.kind == EnvironmentKind::Production),
            name: spec.name,
            kind: spec.kind,
            owner: spec.owner.unwrap_or_else(|| owner.to_string()),
            state: EnvironmentState::Online,
            description: spec.description,
            events: Vec::new(),
            state_reason: None,
            runner_labels: Vec::new(),
        };
        let change = Change::new(
            "environment",
            &env.name,
            "create",
            json!({"kind": env.kind, "locked": env.locked, "owner": env.owner}),
        );
        Ok((env, change))
    }

    fn guards(&self, action: &str) -> Guards {
        Guards::new(action, &format!("environment {}", self.name), self.state)
    }

    /// Whether its calendar may be planned (an event added or removed): not once it is decommissioned.
    pub fn plannable(&self) -> Result<(), DomainError> {
        self.guard_not_decommissioned("add_event")
    }

    /// Whether the environment is still in service (not decommissioned): new work may name it.
    pub fn in_service(&self) -> bool {
        self.guard_not_decommissioned("use").is_ok()
    }

    fn guard_not_decommissioned(&self, action: &str) -> Result<(), DomainError> {
        let mut g = self.guards(action);
        g.check(self.state != EnvironmentState::Decommissioned, "decommissioned", || {
            format!("environment {} is decommissioned", self.name)
        });
        g.done()
    }

    pub fn update(&mut self, patch: EnvironmentPatch) -> Result<Change, DomainError> {
        self.guard_not_decommissioned("update")?;
        let data = json!(patch);
        if let Some(k) = patch.kind {
            self.kind = k;
        }
        if let Some(o) = patch.owner {
            self.owner = o;
        }
        if let Some(l) = patch.locked {
            self.locked = l;
        }
        if let Some(labels) = patch.runner_labels {
            let mut f = Fields::default();
            let labels = crate::runner::check_labels(&mut f, "runner_labels", &labels);
            f.done()?;
            self.runner_labels = labels;
        }
        if let Some(d) = patch.description {
            self.description = d;
        }
        Ok(Change::new("environment", &self.name, "update", data))
    }

    /// Takes it offline, brings it online or decommissions it, with an optional reason (kept on the
    /// environment and in the audit log).
    pub fn apply(&mut self, action: EnvironmentAction, reason: Option<&str>) -> Result<Change, DomainError> {
        let (name, from, to) = match action {
            EnvironmentAction::TakeOffline => {
                ("take_offline", &[EnvironmentState::Online][..], EnvironmentState::Offline)
            }
            EnvironmentAction::BringOnline => {
                ("bring_online", &[EnvironmentState::Offline][..], EnvironmentState::Online)
            }
            EnvironmentAction::Decommission => (
                "decommission",
                &[EnvironmentState::Online, EnvironmentState::Offline][..],
                EnvironmentState::Decommissioned,
            ),
        };
        let mut g = self.guards(name);
        g.check(from.contains(&self.state), "wrong_state", || {
            let allowed: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
            format!("environment {} is {}; {name} is allowed only from {}", self.name, self.state, allowed.join(" or "))
        });
        g.done()?;
        let was = self.state;
        self.state = to;
        self.state_reason = reason.map(str::trim).filter(|r| !r.is_empty()).map(str::to_string);
        Ok(Change::new("environment", &self.name, name, json!({"from": was, "to": to, "reason": self.state_reason})))
    }

    /// Adds a calendar event; maintenance never overlaps other maintenance of the same environment.
    pub fn add_event(&mut self, id: String, spec: EventSpec, by: &str) -> Result<Change, DomainError> {
        let mut f = Fields::default();
        f.check(!spec.title.trim().is_empty(), "title", || "must not be empty".into());
        f.check(spec.end > spec.start, "end", || format!("end {} must be after start {}", spec.end, spec.start));
        f.check(spec.kind != EventKind::Reservation || spec.train_id.is_some(), "train_id", || {
            "a reservation names the train it reserves the environment for".into()
        });
        f.done()?;
        self.plannable()?;
        if spec.kind == EventKind::Maintenance {
            let mut g = self.guards("add_event");
            for other in
                self.events.iter().filter(|e| e.kind == EventKind::Maintenance && e.overlaps(spec.start, spec.end))
            {
                g.fail(
                    "maintenance_overlap",
                    format!(
                        "it overlaps maintenance {} '{}' of {} from {} to {}",
                        other.id, other.title, self.name, other.start, other.end
                    ),
                );
            }
            g.done()?;
        }
        let event = CalendarEvent {
            id,
            kind: spec.kind,
            title: spec.title.trim().to_string(),
            start: spec.start,
            end: spec.end,
            train_id: spec.train_id,
            created_by: by.to_string(),
        };
        let change = Change::new(
            "environment",
            &self.name,
            "add_event",
            json!({"event_id": event.id, "kind": event.kind, "start": event.start, "end": event.end, "train_id": event.train_id}),
        );
        self.events.push(event);
        self.events.sort_by_key(|e| e.start);
        Ok(change)
    }

    /// Removes a calendar event; a decommissioned environment's calendar is kept as it is.
    pub fn remove_event(&mut self, id: &str) -> Result<Change, DomainError> {
        self.guard_not_decommissioned("remove_event")?;
        if !self.events.iter().any(|e| e.id == id) {
            return Err(DomainError::invalid("event_id", format!("environment {} has no event {id}", self.name)));
        }
        self.events.retain(|e| e.id != id);
        Ok(Change::new("environment", &self.name, "remove_event", json!({"event_id": id})))
    }

    /// R13: why nothing may start deploying here at `at`, or `None` when it may.
    pub fn blocked_at(&self, at: DateTime<Utc>) -> Option<String> {
        match self.state {
            EnvironmentState::Offline | EnvironmentState::Decommissioned => {
                let why = self.state_reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
                return Some(format!("environment {} is {}{why}", self.name, self.state.as_str()));
            }
            EnvironmentState::Online => {}
        }
        self.events.iter().find(|e| matches!(e.kind, EventKind::Maintenance | EventKind::Blackout) && e.covers(at)).map(
            |e| format!("environment {} is in {} {} '{}' until {}", self.name, e.kind.as_str(), e.id, e.title, e.end),
        )
    }

    /// The calendar events overlapping `[from, to)`, in time order.
    pub fn events_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<&CalendarEvent> {
        self.events.iter().filter(|e| e.overlaps(from, to)).collect()
    }
}
