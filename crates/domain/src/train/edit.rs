//! Creating, editing and copying trains; their exit criteria and milestones.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::error::{Fields, Guards};
use crate::limits;
use crate::{
    Actor, ApprovalPolicies, Change, CriterionState, DomainError, Evidence, ExitCriterion, GateName, Gates, Milestone,
    MilestoneState, ReleaseType, Schedule, Train, TrainState, milestone::Milestones,
};

/// What a release manager gives to create a train.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainSpec {
    pub title: String,
    pub release_type: ReleaseType,
    #[serde(default)]
    pub purpose: String,
    /// Defaults to the user creating the train.
    #[serde(default)]
    pub manager: Option<String>,
    #[serde(default)]
    pub engineers: Vec<String>,
    pub schedule: Schedule,
    #[serde(default)]
    pub approval_policies: ApprovalPolicies,
    #[serde(default)]
    pub reserved_environments: Vec<String>,
    /// The gates whose passing needs a gate approval (none by default; `PUT .../gates/{gate}` changes it
    /// later).
    #[serde(default)]
    pub gate_approvals: Vec<GateName>,
}

/// A partial update of a train: only the fields given change.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_type: Option<ReleaseType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engineers: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_policies: Option<ApprovalPolicies>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserved_environments: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CriterionSpec {
    pub title: String,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub environment: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CriterionPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MilestoneSpec {
    pub title: String,
    pub due: NaiveDate,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub inherit: bool,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MilestonePatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inherit: Option<bool>,
}

fn merge(results: impl IntoIterator<Item = Result<(), DomainError>>, f: &mut Fields) {
    for r in results {
        if let Err(DomainError::Invalid(mut e)) = r {
            f.0.append(&mut e);
        }
    }
}

impl TrainSpec {
    pub fn validate(&self) -> Result<(), DomainError> {
        let mut f = Fields::default();
        f.title("title", &self.title);
        merge([self.schedule.validate(), self.approval_policies.validate()], &mut f);
        f.done()
    }
}

impl TrainPatch {
    pub fn validate(&self) -> Result<(), DomainError> {
        let mut f = Fields::default();
        if let Some(t) = &self.title {
            f.title("title", t);
        }
        let results = [self.schedule.map(|s| s.validate()), self.approval_policies.as_ref().map(|p| p.validate())];
        merge(results.into_iter().flatten(), &mut f);
        f.done()
    }
}

impl Train {
    /// Every user the train names: manager, engineers, approvers, criterion and milestone owners.
    pub fn referenced_users(&self) -> Vec<(String, String)> {
        let mut out = vec![("manager".to_string(), self.manager.clone())];
        out.extend(self.engineers.iter().map(|e| ("engineers".to_string(), e.clone())));
        for (kind, p) in self.approval_policies.iter() {
            out.extend(p.users().map(|u| (format!("approval_policies.{kind}"), u.to_string())));
        }
        out
    }

    pub fn create(id: String, spec: TrainSpec, actor: &Actor) -> Result<(Train, Change), DomainError> {
        spec.validate()?;
        let mut gates = Gates::default();
        for g in &spec.gate_approvals {
            gates.get_mut(*g).approval_required = true;
        }
        let train = Train {
            id,
            title: spec.title.trim().to_string(),
            release_type: spec.release_type,
            purpose: spec.purpose,
            manager: spec.manager.unwrap_or_else(|| actor.name.clone()),
            engineers: spec.engineers,
            schedule: spec.schedule,
            approval_policies: spec.approval_policies,
            gates,
            milestones: Vec::new(),
            reserved_environments: spec.reserved_environments,
            state: TrainState::Draft,
            train_approval: None,
            executive_approval: None,
            history: Vec::new(),
            copied_from: None,
            cancel_reason: None,
            created_by: actor.name.clone(),
        };
        let change = Change::new(
            "train",
            &train.id,
            "create",
            json!({"title": train.title, "release_type": train.release_type, "schedule": train.schedule,
                "gate_approvals": spec.gate_approvals}),
        );
        Ok((train, change))
    }

    fn guard_open(&self, action: &str) -> Result<(), DomainError> {
        let mut g = Guards::new(action, &self.describe(), self.state);
        g.check(self.state.is_open(), "wrong_state", || {
            format!("{} is {}: it can no longer change", self.describe(), self.state)
        });
        g.done()
    }

    /// A partial update. Handing the train to another manager is for its manager or an admin (R3 rests
    /// on who the manager is).
    pub fn update(&mut self, patch: TrainPatch, actor: &Actor) -> Result<Change, DomainError> {
        patch.validate()?;
        self.guard_open("update")?;
        if patch.manager.as_ref().is_some_and(|m| *m != self.manager) {
            let mut g = Guards::new("update", &self.describe(), self.state);
            let rule = crate::access::rules::TRAIN_MANAGER;
            g.deny(rule.allows(actor, Some(&self.manager)), rule.code, || {
                format!("only the train's manager ({}) or an admin may hand the train to another manager", self.manager)
            });
            g.done()?;
        }
        let data = serde_json::to_value(&patch).unwrap_or_default();
        let TrainPatch {
            title,
            release_type,
            purpose,
            manager,
            engineers,
            schedule,
            approval_policies,
            reserved_environments,
        } = patch;
        if let Some(v) = title {
            self.title = v.trim().to_string();
        }
        if let Some(v) = release_type {
            self.release_type = v;
        }
        if let Some(v) = purpose {
            self.purpose = v;
        }
        if let Some(v) = manager {
            self.manager = v;
        }
        if let Some(v) = engineers {
            self.engineers = v;
        }
        if let Some(v) = schedule {
            self.schedule = v;
        }
        if let Some(v) = approval_policies {
            self.approval_policies = v;
        }
        if let Some(v) = reserved_environments {
            self.reserved_environments = v;
        }
        Ok(Change::new("train", &self.id, "update", data))
    }

    /// A new draft train: every date shifted so that it starts on `start`; gates, criteria, milestones and
    /// approval policies copied, none of their decisions.
    pub fn copy(
        &self,
        new_id: String,
        start: NaiveDate,
        title: Option<String>,
        criterion_ids: &mut dyn Iterator<Item = String>,
        milestone_ids: &mut dyn Iterator<Item = String>,
        actor: &Actor,
    ) -> Result<(Train, Change), DomainError> {
        let title = title.unwrap_or_else(|| format!("Copy of {}", self.title));
        let mut f = Fields::default();
        f.title("title", &title);
        f.done()?;
        if !limits::date_in_range(start) {
            return Err(DomainError::invalid("start", limits::out_of_range(start)));
        }
        // Every date moves by the same offset: a shift that takes any of them out of the years the API
        // accepts is refused, naming each date it would move out.
        let offset = start - self.schedule.start;
        let moved = |date: NaiveDate| date.checked_add_signed(offset).filter(|d| limits::date_in_range(*d));
        let dates = self.schedule.dates().map(|(name, date)| (name.to_string(), date));
        let dates = dates.into_iter().chain(self.milestones.iter().map(|m| (format!("milestone {}", m.id), m.due)));
        let outside: Vec<String> = dates
            .filter(|(_, date)| moved(*date).is_none())
            .map(|(what, date)| {
                let to =
                    date.checked_add_signed(offset).map_or_else(|| "beyond any calendar".into(), |d| d.to_string());
                format!("{what} from {date} to {to}")
            })
            .collect();
        if !outside.is_empty() {
            return Err(DomainError::invalid(
                "start",
                format!(
                    "starting the copy on {start} moves its {}, outside the years {} to {}",
                    outside.join(", "),
                    limits::FIRST_YEAR,
                    limits::LAST_YEAR
                ),
            ));
        }
        let out_of_range = || DomainError::invalid("start", limits::out_of_range(start));
        let schedule = self.schedule.shifted(offset).ok_or_else(out_of_range)?;
        let mut gates = self.gates.clone();
        for gate in GateName::ALL {
            let g = gates.get_mut(gate);
            g.approval = None;
            let mut fresh = Vec::new();
            for c in &g.criteria {
                let id =
                    criterion_ids.next().ok_or_else(|| DomainError::invalid("criteria", "not enough criterion ids"))?;
                fresh.push(c.fresh_copy(id));
            }
            g.criteria = fresh;
        }
        let mut milestones = Vec::new();
        for m in &self.milestones {
            let id =
                milestone_ids.next().ok_or_else(|| DomainError::invalid("milestones", "not enough milestone ids"))?;
            milestones.push(Milestone {
                id,
                title: m.title.clone(),
                due: moved(m.due).ok_or_else(out_of_range)?,
                owner: m.owner.clone(),
                state: MilestoneState::Open,
                inherit: m.inherit,
                inherited_from: None,
                moved_by_hand: false,
                decided_by: None,
                decided_at: None,
            });
        }
        let train = Train {
            id: new_id,
            title: title.trim().to_string(),
            release_type: self.release_type,
            purpose: self.purpose.clone(),
            manager: self.manager.clone(),
            engineers: self.engineers.clone(),
            schedule,
            approval_policies: self.approval_policies.clone(),
            gates,
            milestones,
            reserved_environments: self.reserved_environments.clone(),
            state: TrainState::Draft,
            train_approval: None,
            executive_approval: None,
            history: Vec::new(),
            copied_from: Some(self.id.clone()),
            cancel_reason: None,
            created_by: actor.name.clone(),
        };
        let change = Change::new(
            "train",
            &train.id,
            "copy",
            json!({"from": self.id, "title": train.title, "offset_days": offset.num_days(), "schedule": train.schedule}),
        );
        Ok((train, change))
    }

    // ---- gates and exit criteria ----

    fn guard_gate_editable(&self, action: &str, gate: GateName) -> Result<(), DomainError> {
        let mut g = Guards::new(action, &self.describe(), self.state);
        g.check(self.gate_editable(gate), "gate_closed", || {
            if self.state.is_open() {
                format!("the train is in {}, past the {gate} gate: its criteria can no longer change", self.state)
            } else {
                format!("{} is {}: it can no longer change", self.describe(), self.state)
            }
        });
        g.done()
    }

    pub fn set_gate_approval_required(&mut self, gate: GateName, required: bool) -> Result<Change, DomainError> {
        self.guard_gate_editable("update_gate", gate)?;
        let mut g = Guards::new("update_gate", &self.describe(), self.state);
        let current = self.gates.get(gate);
        g.check(!current.has_pending_approval(), "gate_approval_pending", || {
            format!("the {gate} gate has a pending approval; decide it before changing whether approval is required")
        });
        g.done()?;
        self.gates.get_mut(gate).approval_required = required;
        Ok(Change::new("train", &self.id, "update_gate", json!({"gate": gate, "approval_required": required})))
    }

    pub fn add_criterion(&mut self, gate: GateName, id: String, spec: CriterionSpec) -> Result<Change, DomainError> {
        let mut f = Fields::default();
        f.title("title", &spec.title);
        f.done()?;
        self.guard_gate_editable("add_criterion", gate)?;
        let c = ExitCriterion::new(id, spec.title.trim().to_string(), spec.owner, spec.environment);
        let change = Change::new(
            "train",
            &self.id,
            "add_criterion",
            json!({"gate": gate, "criterion_id": c.id, "title": c.title, "owner": c.owner}),
        );
        self.gates.get_mut(gate).criteria.push(c);
        Ok(change)
    }

    fn criterion_gate(&self, id: &str) -> Result<GateName, DomainError> {
        self.gates.find_criterion(id).map(|(g, _)| g).ok_or_else(|| {
            DomainError::invalid("criterion_id", format!("{} has no exit criterion {id}", self.describe()))
        })
    }

    pub fn edit_criterion(&mut self, id: &str, patch: CriterionPatch) -> Result<Change, DomainError> {
        if let Some(t) = &patch.title {
            let mut f = Fields::default();
            f.title("title", t);
            f.done()?;
        }
        let gate = self.criterion_gate(id)?;
        self.guard_gate_editable("edit_criterion", gate)?;
        let data = json!({"criterion_id": id, "changes": patch});
        if let Some(c) = self.gates.get_mut(gate).criterion_mut(id) {
            if let Some(t) = patch.title {
                c.title = t.trim().to_string();
            }
            if let Some(o) = patch.owner {
                c.owner = Some(o).filter(|o| !o.is_empty());
            }
            if let Some(e) = patch.environment {
                c.environment = Some(e).filter(|e| !e.is_empty());
            }
        }
        Ok(Change::new("train", &self.id, "edit_criterion", data))
    }

    pub fn remove_criterion(&mut self, id: &str) -> Result<Change, DomainError> {
        let gate = self.criterion_gate(id)?;
        self.guard_gate_editable("remove_criterion", gate)?;
        self.gates.get_mut(gate).criteria.retain(|c| c.id != id);
        Ok(Change::new("train", &self.id, "remove_criterion", json!({"criterion_id": id, "gate": gate})))
    }

    /// Meet, waive or reopen a criterion. Non-managers may act only on criteria they own.
    pub fn decide_criterion(
        &mut self,
        id: &str,
        to: CriterionState,
        evidence: Option<Evidence>,
        reason: Option<String>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Change, DomainError> {
        let action = match to {
            CriterionState::Met => "meet_criterion",
            CriterionState::Waived => "waive_criterion",
            CriterionState::Open => "reopen_criterion",
        };
        let evidence =
            evidence.filter(|e| !e.note.trim().is_empty() || e.link.as_deref().is_some_and(|l| !l.trim().is_empty()));
        let reason = reason.map(|r| r.trim().to_string()).filter(|r| !r.is_empty());
        match to {
            CriterionState::Met if evidence.is_none() => {
                return Err(DomainError::invalid(
                    "evidence",
                    "meeting a criterion needs evidence: a note, a link, or both",
                ));
            }
            CriterionState::Waived if reason.is_none() => {
                return Err(DomainError::invalid("reason", "waiving a criterion needs a reason"));
            }
            _ => {}
        }
        let gate = self.criterion_gate(id)?;
        self.guard_gate_editable(action, gate)?;
        let describe = self.describe();
        let Some(c) = self.gates.get_mut(gate).criterion_mut(id) else {
            return Err(DomainError::invalid("criterion_id", format!("{describe} has no exit criterion {id}")));
        };
        let mut g = Guards::new(action, &format!("exit criterion {id}"), c.state.as_str());
        match to {
            CriterionState::Open => g.check(c.state != CriterionState::Open, "wrong_state", || {
                format!("exit criterion {id} '{}' is already open", c.title)
            }),
            _ => g.check(c.state == CriterionState::Open, "wrong_state", || {
                format!("exit criterion {id} '{}' is {}, not open", c.title, c.state.as_str())
            }),
        };
        let rule = if to == CriterionState::Waived {
            crate::access::rules::CRITERION_WAIVER
        } else {
            crate::access::rules::CRITERION_OWNER
        };
        g.deny(rule.allows(actor, c.owner.as_deref()), rule.code, || {
            format!(
                "exit criterion {id} is owned by {}; only its owner or a release manager may do this",
                c.owner.as_deref().unwrap_or("nobody")
            )
        });
        g.done()?;
        let from = c.state;
        c.state = to;
        c.decided_by = Some(actor.name.clone());
        c.decided_at = Some(now);
        c.evidence = if to == CriterionState::Met { evidence.clone() } else { None };
        c.waive_reason = if to == CriterionState::Waived { reason.clone() } else { None };
        Ok(Change::new(
            "train",
            &self.id,
            action,
            json!({"criterion_id": id, "gate": gate, "from": from, "to": to, "evidence": evidence, "reason": reason}),
        ))
    }

    // ---- milestones ----

    fn milestones(&mut self) -> Milestones<'_> {
        Milestones { list: &mut self.milestones, owner_kind: "train", owner_id: &self.id, privileged: false }
    }

    pub fn add_milestone(&mut self, id: String, spec: MilestoneSpec) -> Result<Change, DomainError> {
        self.guard_open("add_milestone")?;
        self.milestones().add(id, spec)
    }

    /// Edits a train milestone; returns whether its due date moved (inherited copies follow it).
    pub fn edit_milestone(&mut self, id: &str, patch: MilestonePatch) -> Result<(Change, bool), DomainError> {
        self.guard_open("edit_milestone")?;
        self.milestones().edit(id, patch)
    }

    pub fn remove_milestone(&mut self, id: &str) -> Result<Change, DomainError> {
        self.guard_open("remove_milestone")?;
        self.milestones().remove(id)
    }

    /// Complete or miss an open milestone. Non-managers may act only on milestones they own.
    pub fn decide_milestone(
        &mut self,
        id: &str,
        to: MilestoneState,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Change, DomainError> {
        self.guard_open("decide_milestone")?;
        self.milestones().decide(id, to, actor, now)
    }
}
