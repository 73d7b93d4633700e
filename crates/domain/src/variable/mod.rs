//! Variables: named values scoped globally, to an environment or to an application, that task actions
//! name as `${var.NAME}` in their program, arguments, environment, working directory, URL, headers and
//! body.
//!
//! # Precedence
//!
//! For a run of application A in environment E, a variable scoped to E wins over one scoped to A, which
//! wins over a global one ([`effective`]). Release engineering owns what differs per environment: a
//! product owner cannot override production's values from their application.
//!
//! # Rules
//!
//! - A name matches `^[A-Za-z_][A-Za-z0-9_]{0,63}$`; a value is UTF-8 text of at most 8 KiB.
//! - A name is unique within its scope; a second one is refused naming the name and the scope.
//! - A reference is exactly `${var.NAME}`. `$${` is not special. A malformed reference (`${var.}`,
//!   `${var.bad-name}`, an unclosed `${var.X`) is refused when the task is added, naming the field.
//! - A task may only name variables known where it can run ([`Task::variable_references`] and the
//!   service's check when a task is added); at launch the references are resolved for the concrete
//!   environment ([`crate::action::Action::resolve_variables`]) and a run whose variable is gone fails,
//!   naming it, rather than running with the literal text. The stored task keeps `${var.NAME}`.
//! - Values are not secret: the API returns them and the audit log records them.
//!
//! # Who may
//!
//! Release engineers and admins manage global and environment variables; an application's variables
//! are managed by its owner (a product owner), release engineers and admins ([`may_manage`]).

mod references;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

pub use references::{Kind, references, references_of, resolve, resolve_of};

use crate::error::{Fields, Guards};
use crate::{Actor, Change, DomainError, Role};

/// The longest variable name.
pub const MAX_NAME_LEN: usize = 64;
/// The largest value, in bytes: 8 KiB.
pub const MAX_VALUE_BYTES: usize = 8 * 1024;

/// Where a variable applies.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Scope {
    /// Every run.
    #[default]
    Global,
    /// Runs in this environment (wins over the other two).
    Environment { environment: String },
    /// Runs of this application's turnovers (wins over a global one).
    Application { application: String },
}

impl Scope {
    /// `global`, `environment` or `application`.
    pub fn kind(&self) -> &'static str {
        match self {
            Scope::Global => "global",
            Scope::Environment { .. } => "environment",
            Scope::Application { .. } => "application",
        }
    }

    /// The environment's name or the application's key; `None` for global.
    pub fn target(&self) -> Option<&str> {
        match self {
            Scope::Global => None,
            Scope::Environment { environment } => Some(environment),
            Scope::Application { application } => Some(application),
        }
    }

    /// What makes a name unique: `global`, `environment:prod`, `application:PAY`.
    pub fn key(&self) -> String {
        match self.target() {
            Some(t) => format!("{}:{t}", self.kind()),
            None => self.kind().to_string(),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Global => f.write_str("global scope"),
            Scope::Environment { environment } => write!(f, "environment {environment}"),
            Scope::Application { application } => write!(f, "application {application}"),
        }
    }
}

/// A named value and where it applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Variable {
    /// "VAR-3"
    pub id: String,
    pub name: String,
    pub scope: Scope,
    pub value: String,
    pub created_by: String,
    pub updated_by: String,
}

/// A new variable.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariableSpec {
    /// `[A-Za-z_][A-Za-z0-9_]*`, at most 64 characters; unique within its scope.
    pub name: String,
    /// At most 8 KiB of text.
    pub value: String,
    /// Global when absent.
    #[serde(default)]
    pub scope: Scope,
}

/// A new value for a variable (its name and scope do not change: delete it and create another).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariablePatch {
    pub value: String,
}

/// Whether `name` is a variable name: `^[A-Za-z_][A-Za-z0-9_]{0,63}$`.
pub fn is_name(name: &str) -> bool {
    name.len() <= MAX_NAME_LEN && crate::action::is_env_name(name)
}

/// What a valid name looks like, for error messages.
pub const NAME_RULE: &str = "letters, digits and '_', not starting with a digit, at most 64 characters";

fn check_value(f: &mut Fields, value: &str) {
    f.check(value.len() <= MAX_VALUE_BYTES, "value", || {
        format!("is {} bytes; a value may be at most {MAX_VALUE_BYTES} bytes (8 KiB)", value.len())
    });
}

impl Variable {
    /// A new variable from its spec, or every invalid field.
    pub fn create(id: String, spec: VariableSpec, actor: &Actor) -> Result<(Variable, Change), DomainError> {
        let mut f = Fields::default();
        f.check(is_name(&spec.name), "name", || format!("'{}' is not a variable name: use {NAME_RULE}", spec.name));
        check_value(&mut f, &spec.value);
        if let Some(t) = spec.scope.target() {
            f.check(!t.trim().is_empty(), &format!("scope.{}", spec.scope.kind()), || "must not be empty".into());
        }
        f.done()?;
        let v = Variable {
            id,
            name: spec.name,
            scope: spec.scope,
            value: spec.value,
            created_by: actor.name.clone(),
            updated_by: actor.name.clone(),
        };
        let change = Change::new("variable", &v.id, "create", v.event_data());
        Ok((v, change))
    }

    /// Sets a new value.
    pub fn update(&mut self, patch: VariablePatch, actor: &Actor) -> Result<Change, DomainError> {
        let mut f = Fields::default();
        check_value(&mut f, &patch.value);
        f.done()?;
        self.value = patch.value;
        self.updated_by = actor.name.clone();
        Ok(Change::new("variable", &self.id, "update", self.event_data()))
    }

    /// The event of its deletion.
    pub fn delete(&self) -> Change {
        Change::new("variable", &self.id, "delete", json!({"name": self.name, "scope": self.scope}))
    }

    fn event_data(&self) -> serde_json::Value {
        json!({"name": self.name, "scope": self.scope, "value": self.value})
    }

    /// "GREETING (environment prod)"
    pub fn describe(&self) -> String {
        format!("variable {} ({})", self.name, self.scope)
    }
}

/// Whether `actor` may create, change or delete a variable of `scope`. `application_owner` is the owner
/// of the scope's application. Global and environment variables: release engineers and admins; an
/// application's: its owner, release engineers and admins.
pub fn may_manage(actor: &Actor, scope: &Scope, application_owner: Option<&str>) -> Result<(), DomainError> {
    may_manage_kind(Kind::Variable, actor, scope, application_owner)
}

/// [`may_manage`] for variables or secrets: the same people manage both.
pub(crate) fn may_manage_kind(
    kind: Kind,
    actor: &Actor,
    scope: &Scope,
    application_owner: Option<&str>,
) -> Result<(), DomainError> {
    let noun = kind.noun();
    let mut g = Guards::new(&format!("manage_{noun}"), &scope.to_string(), "active");
    let engineer = actor.is_admin() || actor.has(Role::ReleaseEngineer);
    match scope {
        Scope::Global | Scope::Environment { .. } => {
            g.deny(engineer, "not_release_engineer", || {
                format!("{} may not manage the {noun}s of the {scope}: a release engineer or an admin may", actor.name)
            });
        }
        Scope::Application { .. } => {
            let rule = crate::access::rules::APPLICATION_OWNER;
            g.deny(rule.allows(actor, application_owner), rule.code, || {
                format!("{} may not manage the {noun}s of the {scope}: {} may", actor.name, rule.who(application_owner))
            });
        }
    }
    g.done()
}

/// The values in effect for a run of `application` (if any) in `environment`: an environment variable
/// wins over an application one, which wins over a global one.
pub fn effective<'a>(
    variables: impl IntoIterator<Item = &'a Variable>,
    application: Option<&str>,
    environment: &str,
) -> BTreeMap<String, String> {
    let rank = |s: &Scope| match s {
        Scope::Global => Some(0),
        Scope::Application { application: a } if Some(a.as_str()) == application => Some(1),
        Scope::Environment { environment: e } if e == environment => Some(2),
        _ => None,
    };
    let mut ranked: Vec<(u8, &Variable)> =
        variables.into_iter().filter_map(|v| rank(&v.scope).map(|r| (r, v))).collect();
    ranked.sort_by_key(|(r, _)| *r);
    ranked.into_iter().map(|(_, v)| (v.name.clone(), v.value.clone())).collect()
}
