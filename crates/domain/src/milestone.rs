use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::{Fields, Guards};
use crate::{Actor, Change, DomainError, MilestonePatch, MilestoneSpec};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MilestoneState {
    Open,
    Completed,
    Missed,
}

impl MilestoneState {
    pub fn as_str(self) -> &'static str {
        match self {
            MilestoneState::Open => "open",
            MilestoneState::Completed => "completed",
            MilestoneState::Missed => "missed",
        }
    }
}

/// A dated checkpoint of a train (or, later, of an application release).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Milestone {
    /// "MS-4"
    pub id: String,
    pub title: String,
    pub due: NaiveDate,
    #[serde(default)]
    pub owner: Option<String>,
    pub state: MilestoneState,
    /// On train milestones: copied into every accepted application release when construction starts.
    #[serde(default)]
    pub inherit: bool,
    /// On inherited copies: the train milestone this was copied from.
    #[serde(default)]
    pub inherited_from: Option<String>,
    /// On inherited copies: its date was changed by hand, so it no longer follows the train's.
    #[serde(default)]
    pub moved_by_hand: bool,
    #[serde(default)]
    pub decided_by: Option<String>,
    #[serde(default)]
    pub decided_at: Option<DateTime<Utc>>,
}

impl Milestone {
    /// Overdue is derived: still open after its due date.
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        self.state == MilestoneState::Open && self.due < today
    }
}

impl Milestone {
    /// An open copy of a train milestone for an application release, keeping the origin's id.
    pub fn inherited(origin: &Milestone) -> Milestone {
        Milestone {
            id: origin.id.clone(),
            title: origin.title.clone(),
            due: origin.due,
            owner: origin.owner.clone(),
            state: MilestoneState::Open,
            inherit: false,
            inherited_from: Some(origin.id.clone()),
            moved_by_hand: false,
            decided_by: None,
            decided_at: None,
        }
    }
}

/// The milestones of a train or an application release, and what can be done to them. `owner_kind` and
/// `owner_id` name the object holding the list in events ("train", "RT-3").
pub struct Milestones<'a> {
    pub list: &'a mut Vec<Milestone>,
    pub owner_kind: &'static str,
    pub owner_id: &'a str,
    /// Who may decide anyone's milestone besides admins (the manager of a train, the product owner of
    /// an application release).
    pub privileged: bool,
}

fn check_title(title: &str) -> Result<(), DomainError> {
    let mut f = Fields::default();
    f.title("title", title);
    f.done()
}

impl Milestones<'_> {
    fn index(&self, id: &str) -> Result<usize, DomainError> {
        self.list.iter().position(|m| m.id == id).ok_or_else(|| {
            DomainError::invalid("milestone_id", format!("{} {} has no milestone {id}", self.owner_kind, self.owner_id))
        })
    }

    pub fn add(&mut self, id: String, spec: MilestoneSpec) -> Result<Change, DomainError> {
        check_title(&spec.title)?;
        let m = Milestone {
            id,
            title: spec.title.trim().to_string(),
            due: spec.due,
            owner: spec.owner,
            state: MilestoneState::Open,
            inherit: spec.inherit,
            inherited_from: None,
            moved_by_hand: false,
            decided_by: None,
            decided_at: None,
        };
        let data = json!({"milestone_id": m.id, "title": m.title, "due": m.due, "inherit": m.inherit});
        self.list.push(m);
        Ok(Change::new(self.owner_kind, self.owner_id, "add_milestone", data))
    }

    /// Edits a milestone; returns the change and whether its due date moved.
    pub fn edit(&mut self, id: &str, patch: MilestonePatch) -> Result<(Change, bool), DomainError> {
        if let Some(t) = &patch.title {
            check_title(t)?;
        }
        let i = self.index(id)?;
        let data = json!({"milestone_id": id, "changes": patch});
        let m = &mut self.list[i];
        let moved = patch.due.is_some_and(|d| d != m.due);
        if let Some(t) = patch.title {
            m.title = t.trim().to_string();
        }
        if let Some(d) = patch.due {
            m.due = d;
            if moved && m.inherited_from.is_some() {
                m.moved_by_hand = true;
            }
        }
        if let Some(o) = patch.owner {
            m.owner = Some(o).filter(|o| !o.is_empty());
        }
        if let Some(i) = patch.inherit {
            m.inherit = i;
        }
        Ok((Change::new(self.owner_kind, self.owner_id, "edit_milestone", data), moved))
    }

    pub fn remove(&mut self, id: &str) -> Result<Change, DomainError> {
        self.index(id)?;
        self.list.retain(|m| m.id != id);
        Ok(Change::new(self.owner_kind, self.owner_id, "remove_milestone", json!({"milestone_id": id})))
    }

    /// Complete or miss an open milestone; others than the privileged only the milestones they own.
    pub fn decide(
        &mut self,
        id: &str,
        to: MilestoneState,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Change, DomainError> {
        let action = match to {
            MilestoneState::Completed => "complete_milestone",
            MilestoneState::Missed => "miss_milestone",
            MilestoneState::Open => {
                return Err(DomainError::invalid("state", "a milestone can be completed or missed, not reopened"));
            }
        };
        let i = self.index(id)?;
        let rule = crate::access::rules::MILESTONE_OWNER;
        let m = &mut self.list[i];
        let allowed = self.privileged || rule.allows(actor, m.owner.as_deref());
        let mut g = Guards::new(action, &format!("milestone {id}"), m.state.as_str());
        g.check(m.state == MilestoneState::Open, "wrong_state", || {
            format!("milestone {id} '{}' is {}, not open", m.title, m.state.as_str())
        });
        g.deny(allowed, rule.code, || {
            format!(
                "milestone {id} is owned by {}; only its owner{} or a release manager may do this",
                m.owner.as_deref().unwrap_or("nobody"),
                if self.owner_kind == "application_release" { ", the release's product owner" } else { "" }
            )
        });
        g.done()?;
        m.state = to;
        m.decided_by = Some(actor.name.clone());
        m.decided_at = Some(now);
        Ok(Change::new(self.owner_kind, self.owner_id, action, json!({"milestone_id": id})))
    }
}
