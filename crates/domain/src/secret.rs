//! Secrets: named values like variables (the same [`Scope`]s, precedence, name rules and who-may), named
//! as `${secret.NAME}` in a task's action, but never shown to anyone.
//!
//! # Rules
//!
//! - A name follows the variables' rule and is unique within its scope; a second one is refused naming
//!   the name and the scope.
//! - A value is UTF-8 text of [`MIN_VALUE_BYTES`] to 8 KiB without NUL: shorter values could not be
//!   masked in output without blanking ordinary words (`railyard_runner::MIN_MASKED_LEN`).
//! - A value is write-only: the domain object holds only its sealed form ([`Sealed`]; the service
//!   encrypts), and its events record the name, scope and generation, never the value.
//! - A task may only name secrets known where it can run (checked when it is added, like variables);
//!   they are resolved only when a run is handed to the runner that runs it.
//!
//! # Who may
//!
//! The same people as for variables ([`crate::variable::may_manage`]), through the same operation of
//! the role matrix, `manage_variables`: release engineers and admins manage global and environment
//! secrets, product owners those of their applications. Developers name secrets in tasks but never
//! read a value: nobody can.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::error::Fields;
use crate::variable::{Kind, NAME_RULE, Scope, is_name, may_manage_kind};
use crate::{Actor, Change, DomainError};

/// The shortest value: shorter ones cannot be masked reliably.
pub const MIN_VALUE_BYTES: usize = 4;
/// The largest value, in bytes: 8 KiB.
pub const MAX_VALUE_BYTES: usize = 8 * 1024;

/// A secret value in clear. Its `Debug` never shows it; it is never serialized.
#[derive(Clone, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = String)]
pub struct SecretValue(String);

impl SecretValue {
    /// Wraps a value (checked when the secret is set).
    pub fn new(value: impl Into<String>) -> SecretValue {
        SecretValue(value.into())
    }

    /// The value in clear: for encrypting it, nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretValue(<{} bytes, hidden>)", self.0.len())
    }
}

/// A value as stored: encrypted with an authenticated cipher by the service, under the key whose
/// fingerprint it records. Base64 would do as well as hex; hex keeps the document plain.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    /// The first 16 hex digits of the SHA-256 of the key it was encrypted with.
    pub key_fingerprint: String,
    /// The nonce, in hex.
    pub nonce: String,
    /// The ciphertext with its tag, in hex.
    pub ciphertext: String,
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sealed(key {})", self.key_fingerprint)
    }
}

/// A named secret and where it applies; its value only sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Secret {
    /// "SEC-3"
    pub id: String,
    pub name: String,
    pub scope: Scope,
    /// 1 when created, one more at each new value: part of what the ciphertext is bound to.
    pub generation: u32,
    pub sealed: Sealed,
    pub created_by: String,
    pub updated_by: String,
}

/// A new secret.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretSpec {
    /// `[A-Za-z_][A-Za-z0-9_]*`, at most 64 characters; unique within its scope.
    pub name: String,
    /// 4 bytes to 8 KiB of text without NUL. Write-only: never returned.
    pub value: SecretValue,
    /// Global when absent.
    #[serde(default)]
    pub scope: Scope,
}

/// A new value for a secret (its name and scope do not change: delete it and create another).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretPatch {
    /// 4 bytes to 8 KiB of text without NUL. Write-only: never returned.
    pub value: SecretValue,
}

/// Refuses a value that is too short, too long or holds NUL, without ever quoting it.
pub fn check_value(value: &SecretValue) -> Result<(), DomainError> {
    let mut f = Fields::default();
    check_value_into(&mut f, value);
    f.done()
}

fn check_value_into(f: &mut Fields, value: &SecretValue) {
    let n = value.0.len();
    f.check(n >= MIN_VALUE_BYTES, "value", || {
        format!("is {n} bytes; a secret must have at least {MIN_VALUE_BYTES} bytes, so that it can be masked in output")
    });
    f.check(n <= MAX_VALUE_BYTES, "value", || {
        format!("is {n} bytes; a secret may have at most {MAX_VALUE_BYTES} bytes (8 KiB)")
    });
    f.check(!value.0.contains('\0'), "value", || "must not contain NUL".into());
}

/// Refuses an invalid spec, naming each field (never quoting the value).
pub fn check_spec(spec: &SecretSpec) -> Result<(), DomainError> {
    let mut f = Fields::default();
    f.check(is_name(&spec.name), "name", || format!("'{}' is not a secret name: use {NAME_RULE}", spec.name));
    check_value_into(&mut f, &spec.value);
    if let Some(t) = spec.scope.target() {
        f.check(!t.trim().is_empty(), &format!("scope.{}", spec.scope.kind()), || "must not be empty".into());
    }
    f.done()
}

/// What binds a ciphertext to its secret (authenticated, not encrypted): `scope/name/generation`. A
/// ciphertext copied onto another secret, or an older value put back, fails to decrypt.
pub fn associated_data(scope: &Scope, name: &str, generation: u32) -> String {
    format!("{}/{name}/{generation}", scope.key())
}

impl Secret {
    /// A new secret from its checked spec and sealed value.
    pub fn create(
        id: String,
        spec: &SecretSpec,
        sealed: Sealed,
        actor: &Actor,
    ) -> Result<(Secret, Change), DomainError> {
        check_spec(spec)?;
        let s = Secret {
            id,
            name: spec.name.clone(),
            scope: spec.scope.clone(),
            generation: 1,
            sealed,
            created_by: actor.name.clone(),
            updated_by: actor.name.clone(),
        };
        let change = Change::new("secret", &s.id, "create", s.event_data());
        Ok((s, change))
    }

    /// Sets a new sealed value (sealed for [`Secret::next_generation`]).
    pub fn update(&mut self, sealed: Sealed, actor: &Actor) -> Change {
        self.generation = self.next_generation();
        self.sealed = sealed;
        self.updated_by = actor.name.clone();
        Change::new("secret", &self.id, "update", self.event_data())
    }

    /// The generation its next value is sealed for.
    pub fn next_generation(&self) -> u32 {
        self.generation.saturating_add(1)
    }

    /// What its current ciphertext is bound to.
    pub fn associated_data(&self) -> String {
        associated_data(&self.scope, &self.name, self.generation)
    }

    /// The event of its deletion.
    pub fn delete(&self) -> Change {
        Change::new("secret", &self.id, "delete", json!({"name": self.name, "scope": self.scope}))
    }

    /// Name, scope and generation: never the value, nor its ciphertext.
    fn event_data(&self) -> serde_json::Value {
        json!({"name": self.name, "scope": self.scope, "generation": self.generation})
    }

    /// "secret TOKEN (environment prod)"
    pub fn describe(&self) -> String {
        format!("secret {} ({})", self.name, self.scope)
    }
}

/// Whether `actor` may create, change or delete a secret of `scope`: the same people as for variables.
pub fn may_manage(actor: &Actor, scope: &Scope, application_owner: Option<&str>) -> Result<(), DomainError> {
    may_manage_kind(Kind::Secret, actor, scope, application_owner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Role;

    fn spec(name: &str, value: &str) -> SecretSpec {
        SecretSpec { name: name.into(), value: SecretValue::new(value), scope: Scope::Global }
    }

    #[test]
    fn a_value_is_checked_without_being_quoted() {
        assert!(check_spec(&spec("TOKEN", "s3cr3t")).is_ok());
        for (value, want) in [("abc", "at least 4"), ("abc\0def", "NUL")] {
            let e = check_spec(&spec("TOKEN", value)).expect_err(value).to_string();
            assert!(e.contains(want), "{e}");
            assert!(!e.contains(value), "{e}");
        }
        let long = "x".repeat(MAX_VALUE_BYTES + 1);
        assert!(check_spec(&spec("TOKEN", &long)).is_err());
        assert!(check_spec(&spec("bad-name", "s3cr3t")).is_err());
    }

    #[test]
    fn debug_never_shows_a_value() {
        let s = spec("TOKEN", "hunter22");
        assert!(!format!("{s:?}").contains("hunter22"));
        let sealed = Sealed { key_fingerprint: "ab".into(), nonce: "00".into(), ciphertext: "ffee".into() };
        assert!(!format!("{sealed:?}").contains("ffee"));
    }

    #[test]
    fn events_record_name_scope_and_generation_only() {
        let sealed = Sealed { key_fingerprint: "ab".into(), nonce: "00".into(), ciphertext: "ffee".into() };
        let actor = Actor::new("erin", &[Role::ReleaseEngineer]);
        let (mut s, c) =
            Secret::create("SEC-1".into(), &spec("TOKEN", "hunter22"), sealed.clone(), &actor).expect("valid");
        assert_eq!(c.data, json!({"name": "TOKEN", "scope": {"kind": "global"}, "generation": 1}));
        assert_eq!(s.associated_data(), "global/TOKEN/1");
        let c = s.update(sealed, &actor);
        assert_eq!(c.data["generation"], 2);
        assert!(!c.data.to_string().contains("ffee"));
    }

    #[test]
    fn product_owners_manage_their_applications_secrets_only() {
        let po = Actor::new("pia", &[Role::ProductOwner]);
        let app = Scope::Application { application: "PAY".into() };
        assert!(may_manage(&po, &app, Some("pia")).is_ok());
        let e = may_manage(&po, &Scope::Global, None).expect_err("global").to_string();
        assert!(e.contains("secrets"), "{e}");
        let dev = Actor::new("dev", &[Role::Developer]);
        assert!(may_manage(&dev, &app, Some("pia")).is_err());
    }
}
