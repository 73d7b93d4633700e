//! What the train forms share: the people and environments to choose from, a select of users, the
//! schedule's five dates and the approval policies, rendered as fields and read back from a posted form.

use std::collections::HashMap;

use maud::{Markup, html};
use railyard_domain::train::{eligible_approver, eligible_manager};
use railyard_domain::{Actor, ApprovalPolicies, ApprovalPolicy, PolicyLevel, Schedule};
use railyard_service::{Service, ServiceError, UserView};

use crate::error::PageError;
use crate::forms;

/// The names of the environments that are not decommissioned, for an exit criterion's environment.
pub async fn environment_names(s: &Service, actor: &Actor) -> Result<Vec<String>, PageError> {
    let all = crate::environments::all(s, actor).await?;
    Ok(all.into_iter().filter(|e| e.environment.in_service()).map(|e| e.environment.name).collect())
}

/// The class of fields side by side, wrapping on a phone (in the style sheet: no inline styles under the
/// Content-Security-Policy).
pub const FIELDS_GRID: &str = "fields-grid";
/// The class of buttons and links of one row, wrapping.
pub const BUTTON_ROW: &str = "button-row";

fn as_actor(u: &UserView) -> Actor {
    Actor { name: u.user.name.clone(), roles: u.user.roles.clone() }
}

/// Users who may manage a train, as the domain says ([`eligible_manager`]): the choices of the field.
pub fn managers(people: &[UserView]) -> Vec<UserView> {
    people.iter().filter(|u| eligible_manager(&as_actor(u))).cloned().collect()
}

/// Users who may be listed as approvers, as the domain says ([`eligible_approver`]).
pub fn approvers(people: &[UserView]) -> Vec<String> {
    people.iter().filter(|u| eligible_approver(&as_actor(u))).map(|u| u.user.name.clone()).collect()
}

/// The schedule's dates: (form field, label).
const DATES: [(&str, &str); 5] = [
    ("start", "Start"),
    ("scoping_end", "Scoping ends"),
    ("construction_end", "Construction ends"),
    ("verification_end", "Verification ends"),
    ("production_date", "Production date"),
];

pub fn schedule_fields(current: Option<&Schedule>) -> Markup {
    let values = current.map(|s| s.dates().map(|(_, d)| d.to_string()));
    html! {
        fieldset class=(FIELDS_GRID) {
            legend { "Schedule" }
            @for (i, (name, label)) in DATES.iter().enumerate() {
                label { (label) input type="date" name=(name) required value=[values.as_ref().map(|v| v[i].clone())]; }
            }
        }
    }
}

/// The five dates of a posted form, each named when it is not a date.
pub fn schedule(fields: &HashMap<String, String>) -> Result<Schedule, PageError> {
    let get = |name: &str| forms::date(name, fields.get(name).map(String::as_str).unwrap_or_default());
    Ok(Schedule {
        start: get("start")?,
        scoping_end: get("scoping_end")?,
        construction_end: get("construction_end")?,
        verification_end: get("verification_end")?,
        production_date: get("production_date")?,
    })
}

/// The policies the forms offer: (kind, what it approves).
const KINDS: [(&str, &str); 4] = [
    ("train", "Train approval — asked when the train is submitted; leave empty to go straight to scoping"),
    ("development", "Development approval — of each application release when its construction is complete"),
    ("executive", "Executive approval — before production; every train needs one before it is submitted"),
    ("gate", "Gate approval — for the stage gates that need one"),
];

pub fn policy_fields(current: &ApprovalPolicies, eligible: &[String]) -> Markup {
    html! {
        fieldset {
            legend { "Approvals" }
            p.hint { "Approvers are user names, comma-separated. Who may approve: " (eligible.join(", ")) "." }
            div.grid { @for (kind, what) in KINDS {
                @let p = policy_of(current, kind);
                @let level = |i: usize| p.and_then(|p| p.levels.get(i));
                fieldset {
                    legend { (what) }
                    // Every level the policy has, and one more empty one to add a level.
                    @for i in 0..(p.map_or(0, |p| p.levels.len()) + 1).max(2) {
                        @let suffix = level_suffix(i);
                        @let which = if i == 0 { String::new() } else { format!("Level {} ", i + 1) };
                        label { (which) "Approvers" @if i > 0 { " (optional)" }
                            input name={ (kind) "_approvers" (suffix) } value=[level(i).map(|l| l.approvers.join(", "))]; }
                        label { (which) "How many must approve"
                            input type="number" min="1" name={ (kind) "_required" (suffix) } value=[level(i).map(|l| l.required)]; }
                    }
                    label { span { input type="checkbox" name={ (kind) "_override" } checked[p.is_some_and(|p| p.override_allowed)]; " The train's manager may override it" } }
                }
            } }
        }
    }
}

fn policy_of<'a>(p: &'a ApprovalPolicies, kind: &str) -> Option<&'a ApprovalPolicy> {
    match kind {
        "train" => p.train.as_ref(),
        "development" => p.development.as_ref(),
        "executive" => p.executive.as_ref(),
        _ => p.gate.as_ref(),
    }
}

/// The approval policies of a posted form: a kind whose approvers are left empty has no policy.
pub fn policies(fields: &HashMap<String, String>) -> Result<ApprovalPolicies, PageError> {
    Ok(ApprovalPolicies {
        train: policy(fields, "train")?,
        development: policy(fields, "development")?,
        executive: policy(fields, "executive")?,
        gate: policy(fields, "gate")?,
    })
}

/// The field names' suffix of the level at `index` (0 is the first): "", "_2", "_3", ...
fn level_suffix(index: usize) -> String {
    if index == 0 { String::new() } else { format!("_{}", index + 1) }
}

/// At most this many levels are read from a form.
const MAX_LEVELS: usize = 10;

fn policy(fields: &HashMap<String, String>, kind: &str) -> Result<Option<ApprovalPolicy>, PageError> {
    let text = |suffix: &str| fields.get(&format!("{kind}_{suffix}")).map(String::as_str).unwrap_or_default();
    let mut levels = Vec::new();
    let mut gap: Option<usize> = None;
    for i in 0..MAX_LEVELS {
        let suffix = level_suffix(i);
        match level(kind, text(&format!("approvers{suffix}")), text(&format!("required{suffix}")), &suffix)? {
            None => gap = gap.or(Some(i)),
            Some(l) => {
                if let Some(empty) = gap {
                    return Err(ServiceError::invalid(
                        &format!("{kind}_approvers{}", level_suffix(empty)),
                        format!("level {} is empty but level {} is not: list its approvers", empty + 1, i + 1),
                    )
                    .into());
                }
                levels.push(l);
            }
        }
    }
    if levels.is_empty() {
        return Ok(None);
    }
    Ok(Some(ApprovalPolicy { levels, override_allowed: !text("override").is_empty() }))
}

fn level(kind: &str, approvers: &str, required: &str, suffix: &str) -> Result<Option<PolicyLevel>, PageError> {
    let approvers = forms::list(approvers);
    let field = format!("{kind}_required{suffix}");
    let required = forms::optional_number::<u32>(&field, required)?;
    if approvers.is_empty() {
        return match required {
            None => Ok(None),
            Some(_) => Err(ServiceError::invalid(
                &format!("{kind}_approvers{suffix}"),
                "list who approves at this level, or leave the number empty too",
            )
            .into()),
        };
    }
    Ok(Some(PolicyLevel { approvers, required: required.unwrap_or(1) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn policies_read_levels_and_leave_empty_kinds_out() {
        let f = form(&[
            ("train_approvers", "eve, ed"),
            ("train_required", "2"),
            ("executive_approvers", "cto"),
            ("executive_approvers_2", "ceo"),
            ("executive_override", "on"),
            ("development_approvers", " "),
        ]);
        let p = policies(&f).ok();
        let p = p.as_ref();
        let train = p.and_then(|p| p.train.as_ref());
        assert_eq!(
            train.map(|t| (t.levels[0].approvers.clone(), t.levels[0].required)),
            Some((vec!["eve".into(), "ed".into()], 2))
        );
        let exec = p.and_then(|p| p.executive.as_ref());
        assert_eq!(exec.map(|e| (e.levels.len(), e.levels[1].required, e.override_allowed)), Some((2, 1, true)));
        assert!(p.is_some_and(|p| p.development.is_none() && p.gate.is_none()));
    }

    #[test]
    fn every_level_of_a_policy_is_read_and_a_gap_between_levels_is_named() {
        let f = form(&[
            ("executive_approvers", "cto"),
            ("executive_approvers_2", "cfo"),
            ("executive_approvers_3", "ceo, chair"),
            ("executive_required_3", "2"),
        ]);
        let exec = policies(&f).ok().and_then(|p| p.executive);
        let levels: Vec<(Vec<String>, u32)> =
            exec.map(|e| e.levels.into_iter().map(|l| (l.approvers, l.required)).collect()).unwrap_or_default();
        assert_eq!(levels.len(), 3, "{levels:?}");
        assert_eq!(levels[2], (vec!["ceo".to_string(), "chair".to_string()], 2));
        let e =
            policies(&form(&[("train_approvers", "eve"), ("train_approvers_3", "ed")])).err().map(|e| e.to_string());
        assert!(e.as_deref().is_some_and(|e| e.starts_with("train_approvers_2: level 2 is empty")), "{e:?}");
    }

    #[test]
    fn a_bad_policy_field_is_named() {
        let e = policies(&form(&[("train_approvers", "eve"), ("train_required", "two")])).err().map(|e| e.to_string());
        assert!(e.as_deref().is_some_and(|e| e.starts_with("train_required:")), "{e:?}");
        let e = policies(&form(&[("gate_approvers_2", "eve")])).err().map(|e| e.to_string());
        assert!(e.as_deref().is_some_and(|e| e.starts_with("gate_approvers:")), "{e:?}");
        let e = schedule(&form(&[("start", "2027-01-04"), ("scoping_end", "15/01/2027")])).err().map(|e| e.to_string());
        assert!(e.as_deref().is_some_and(|e| e.starts_with("scoping_end: give a date")), "{e:?}");
    }
}
