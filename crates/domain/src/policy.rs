use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::DomainError;
use crate::error::Fields;

/// One level of an approval: `required` of the listed `approvers` must approve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyLevel {
    pub approvers: Vec<String>,
    pub required: u32,
}

/// Who must approve: levels decided in order; whether the train's manager may override.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalPolicy {
    pub levels: Vec<PolicyLevel>,
    #[serde(default)]
    pub override_allowed: bool,
}

impl ApprovalPolicy {
    /// Checks the policy's shape; `field` prefixes the reported field names.
    pub fn validate(&self, field: &str) -> Result<(), DomainError> {
        let mut f = Fields::default();
        f.check(!self.levels.is_empty(), &format!("{field}.levels"), || "a policy needs at least one level".into());
        for (i, level) in self.levels.iter().enumerate() {
            let name = format!("{field}.levels[{i}]");
            f.check(!level.approvers.is_empty(), &format!("{name}.approvers"), || {
                "a level needs at least one approver".into()
            });
            let mut seen = std::collections::BTreeSet::new();
            for a in &level.approvers {
                f.check(seen.insert(a.as_str()), &format!("{name}.approvers"), || {
                    format!("approver '{a}' is listed twice")
                });
            }
            f.check(
                level.required >= 1 && level.required as usize <= level.approvers.len(),
                &format!("{name}.required"),
                || format!("required must be between 1 and the number of approvers ({})", level.approvers.len()),
            );
        }
        f.done()
    }

    /// Why an approval under this policy, requested by `requester`, could never be approved: a level
    /// whose approvers other than the requester (who may not decide, R2) are fewer than it requires.
    pub fn undecidable_by(&self, requester: &str) -> Option<String> {
        self.levels.iter().enumerate().find_map(|(i, l)| {
            let eligible = l.approvers.iter().filter(|a| *a != requester).count();
            (eligible < l.required as usize).then(|| {
                format!(
                    "level {} needs {} approval(s) but only {eligible} of its approvers ({}) may decide a request by {requester}",
                    i + 1,
                    l.required,
                    l.approvers.join(", ")
                )
            })
        })
    }

    /// Every user the policy names.
    pub fn users(&self) -> impl Iterator<Item = &str> {
        self.levels.iter().flat_map(|l| l.approvers.iter().map(String::as_str))
    }
}

/// A train's approval policies (R4: executive approval is required before a train leaves draft).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalPolicies {
    /// Approval of the train itself, on submit. Without it the train goes straight to scoping.
    #[serde(default)]
    pub train: Option<ApprovalPolicy>,
    /// Development approval of each application release.
    #[serde(default)]
    pub development: Option<ApprovalPolicy>,
    /// Executive approval before production (required).
    #[serde(default)]
    pub executive: Option<ApprovalPolicy>,
    /// Approval of the stage gates that require one.
    #[serde(default)]
    pub gate: Option<ApprovalPolicy>,
}

impl ApprovalPolicies {
    pub fn validate(&self) -> Result<(), DomainError> {
        let mut errors = Vec::new();
        for (name, p) in self.iter() {
            if let Err(DomainError::Invalid(mut e)) = p.validate(&format!("approval_policies.{name}")) {
                errors.append(&mut e);
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(DomainError::Invalid(errors)) }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &ApprovalPolicy)> {
        [
            ("train", &self.train),
            ("development", &self.development),
            ("executive", &self.executive),
            ("gate", &self.gate),
        ]
        .into_iter()
        .filter_map(|(n, p)| p.as_ref().map(|p| (n, p)))
    }
}
