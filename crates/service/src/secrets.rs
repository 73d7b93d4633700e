//! Secrets: list and show them (never their values), set, replace and delete them, and decrypt the
//! values in effect for a run at the moment it is handed to the runner that runs it.
//!
//! Scopes, precedence and who-may are the variables' (see [`railyard_domain::secret`]); the operation
//! of the role matrix is `manage_variables` for both. Values are encrypted by the service's
//! [`SecretKey`] before anything is written; without a key (a PostgreSQL deployment that named none),
//! setting a secret is refused, naming `RAILYARD_SECRET_KEY_FILE`.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use railyard_domain::action::Action;
use railyard_domain::secret::{self, associated_data};
use railyard_domain::{Actor, Change, Deployment, Operation, Role, Scope, Secret, SecretPatch, SecretSpec};
use railyard_store::ListQuery;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::input_limits::bounded;
use crate::persist::{Aggregate, Stored, Tx, check_version, seq_of};
use crate::secret_key::SecretKey;
use crate::views::{Page, page_of};
use crate::{Service, ServiceError, ServiceResult};

impl Aggregate for Secret {
    const KIND: &'static str = "secret";
    fn id(&self) -> &str {
        &self.id
    }
    fn state(&self) -> Option<String> {
        Some("active".to_string())
    }
    /// The environment's name or the application's key.
    fn parent_id(&self) -> Option<String> {
        self.scope.target().map(str::to_string)
    }
    /// `global`, `environment` or `application`.
    fn category(&self) -> Option<String> {
        Some(self.scope.kind().to_string())
    }
    /// A name is unique within its scope.
    fn unique_key(&self) -> Option<String> {
        Some(unique_key(&self.scope, &self.name))
    }
}

fn unique_key(scope: &Scope, name: &str) -> String {
    format!("{}:{name}", scope.key())
}

/// What anyone may see of a secret: never its value, nor its ciphertext.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SecretView {
    /// "SEC-3"
    pub id: String,
    pub name: String,
    pub scope: Scope,
    /// The record's version, for `If-Match`.
    pub version: i64,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// Who set its current value, and when.
    pub changed_by: String,
    pub changed_at: DateTime<Utc>,
}

fn view(s: Stored<Secret>) -> SecretView {
    SecretView {
        id: s.value.id,
        name: s.value.name,
        scope: s.value.scope,
        version: s.version,
        created_by: s.value.created_by,
        created_at: s.created_at,
        changed_by: s.value.updated_by,
        changed_at: s.updated_at,
    }
}

/// Which secrets to list: all, or those of one scope.
#[derive(Debug, Clone, Default)]
pub struct SecretFilter {
    /// Only the secrets of this scope.
    pub scope: Option<Scope>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// A run as the runner that runs it must have it: its action with every `${var.NAME}` and
/// `${secret.NAME}` resolved, or why it must not start; and the secret values to mask in its output and
/// messages. Its `Debug` shows neither the action nor the values.
#[derive(Clone, Default)]
pub struct ResolvedRun {
    /// The action, resolved (`None` for a run without one, or when `unresolved` says why not).
    pub action: Option<Action>,
    /// Why the run must not start: a reference without a value, or a secret that does not decrypt.
    pub unresolved: Option<String>,
    /// The values of the secrets in effect for the run (all of them, not only those its action names:
    /// a task may find a value some other way), to be masked as `***`.
    pub mask: Vec<String>,
}

impl fmt::Debug for ResolvedRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResolvedRun")
            .field("action", &self.action.as_ref().map(|_| "<resolved>"))
            .field("unresolved", &self.unresolved)
            .field("mask", &format_args!("<{} values>", self.mask.len()))
            .finish()
    }
}

/// What a key rotation did.
#[derive(Debug, Clone, Serialize)]
pub struct KeyRotation {
    /// How many secrets were re-encrypted.
    pub secrets: usize,
    pub old_fingerprint: String,
    pub new_fingerprint: String,
}

fn no_key() -> ServiceError {
    ServiceError::invalid(
        "value",
        "this server has no key to encrypt secrets with: start it with RAILYARD_SECRET_KEY_FILE (or --secret-key-file) \
         naming a key file",
    )
}

impl Service {
    /// The same service, encrypting and decrypting secrets with `key` (`None`: secrets cannot be set).
    pub fn with_secret_key(mut self, key: Option<SecretKey>) -> Self {
        self.secret_key = key.map(std::sync::Arc::new);
        self
    }

    /// The key secrets are encrypted with, when the server has one.
    pub fn secret_key(&self) -> Option<&SecretKey> {
        self.secret_key.as_deref()
    }

    pub async fn secrets(&self, actor: &Actor, filter: SecretFilter) -> ServiceResult<Page<SecretView>> {
        self.authorize(actor, Operation::Read)?;
        let mut q = ListQuery::new(<Secret as Aggregate>::KIND, 0);
        if let Some(scope) = &filter.scope {
            q.category = Some(scope.kind().to_string());
            q.parent_id = scope.target().map(str::to_string);
        }
        page_of(self, &mut q, filter.limit, filter.cursor.as_deref(), |s| Ok(view(s))).await
    }

    pub async fn secret(&self, actor: &Actor, id: &str) -> ServiceResult<SecretView> {
        self.authorize(actor, Operation::Read)?;
        Ok(view(self.load(id).await?))
    }

    /// The secret of this name in this scope, if any.
    pub async fn secret_named(&self, actor: &Actor, scope: &Scope, name: &str) -> ServiceResult<Option<SecretView>> {
        self.authorize(actor, Operation::Read)?;
        match self.store.get_by_key(<Secret as Aggregate>::KIND, &unique_key(scope, name)).await? {
            Some(r) => Ok(Some(view(crate::persist::decode(r)?))),
            None => Ok(None),
        }
    }

    /// How many secrets the database holds (for `serve`'s check that it has their key).
    pub async fn secret_count(&self) -> ServiceResult<usize> {
        Ok(self.all_secrets().await?.len())
    }

    /// The fingerprints of the keys the database's secrets were encrypted with (one, normally).
    pub async fn secret_key_fingerprints(&self) -> ServiceResult<std::collections::BTreeSet<String>> {
        Ok(self.all_secrets().await?.into_iter().map(|s| s.value.sealed.key_fingerprint).collect())
    }

    async fn may_manage_secret(&self, actor: &Actor, scope: &Scope) -> ServiceResult<()> {
        let owner = self.scope_owner(actor, scope).await?;
        Ok(secret::may_manage(actor, scope, owner.as_deref())?)
    }

    pub async fn create_secret(&self, actor: &Actor, spec: SecretSpec) -> ServiceResult<SecretView> {
        bounded(&spec)?;
        self.authorize(actor, Operation::ManageVariables)?;
        secret::check_spec(&spec)?;
        self.may_manage_secret(actor, &spec.scope).await?;
        if self.store.get_by_key(<Secret as Aggregate>::KIND, &unique_key(&spec.scope, &spec.name)).await?.is_some() {
            return Err(ServiceError::Duplicate(format!(
                "a secret {} already exists in the {}; set its value instead",
                spec.name, spec.scope
            )));
        }
        let key = self.secret_key().ok_or_else(no_key)?;
        let sealed = key.seal(&spec.value, &associated_data(&spec.scope, &spec.name, 1)).map_err(key_error)?;
        let id = self.new_id("SEC").await?;
        let (s, change) = Secret::create(id.clone(), &spec, sealed, actor)?;
        let mut tx = Tx::new(actor, self.now());
        tx.insert(&s, seq_of(&id))?;
        tx.record([change]);
        self.commit(tx).await?;
        self.secret(actor, &id).await
    }

    /// Sets a secret's value (`expected`: the version it was based on, from `If-Match`).
    pub async fn update_secret(
        &self,
        actor: &Actor,
        id: &str,
        patch: SecretPatch,
        expected: Option<i64>,
    ) -> ServiceResult<SecretView> {
        bounded(&patch)?;
        self.authorize(actor, Operation::ManageVariables)?;
        secret::check_value(&patch.value)?;
        let key = self.secret_key().ok_or_else(no_key)?;
        let value = &patch.value;
        self.retrying(expected, move || async move {
            let mut s: Stored<Secret> = self.load(id).await?;
            check_version("secret", id, s.version, expected)?;
            self.may_manage_secret(actor, &s.value.scope).await?;
            let aad = associated_data(&s.value.scope, &s.value.name, s.value.next_generation());
            let sealed = key.seal(value, &aad).map_err(key_error)?;
            let change = s.value.update(sealed, actor);
            let mut tx = Tx::new(actor, self.now());
            tx.update(&s)?;
            tx.record([change]);
            self.commit(tx).await
        })
        .await?;
        self.secret(actor, id).await
    }

    /// Deletes a secret. Tasks that name it fail at hand-off, naming it, until it is set again.
    pub async fn delete_secret(&self, actor: &Actor, id: &str, expected: Option<i64>) -> ServiceResult<()> {
        self.authorize(actor, Operation::ManageVariables)?;
        self.retrying(expected, move || async move {
            let s: Stored<Secret> = self.load(id).await?;
            check_version("secret", id, s.version, expected)?;
            self.may_manage_secret(actor, &s.value.scope).await?;
            let mut tx = Tx::new(actor, self.now());
            tx.delete(&s);
            tx.record([s.value.delete()]);
            self.commit(tx).await
        })
        .await
    }

    pub(crate) async fn all_secrets(&self) -> ServiceResult<Vec<Stored<Secret>>> {
        let q = ListQuery::new(<Secret as Aggregate>::KIND, 0);
        self.list_all::<Secret>(q).await
    }

    /// The decrypted values in effect for each of these runs of a deployment (by index), with the
    /// variables' precedence (environment over application over global). A secret that does not decrypt
    /// (wrong key, altered record) is an error naming it; so is a database with secrets and no key.
    pub(crate) async fn secrets_for_runs(
        &self,
        d: &Deployment,
        runs: &[usize],
    ) -> ServiceResult<Vec<BTreeMap<String, String>>> {
        let all = self.all_secrets().await?;
        if all.is_empty() {
            return Ok(runs.iter().map(|_| BTreeMap::new()).collect());
        }
        let applications = self.applications_for_runs(d, runs).await?;
        let mut out = Vec::with_capacity(runs.len());
        for application in applications {
            let rank = |s: &Scope| match s {
                Scope::Global => Some(0),
                Scope::Application { application: a } if Some(a) == application.as_ref() => Some(1),
                Scope::Environment { environment: e } if *e == d.environment => Some(2),
                _ => None,
            };
            let mut ranked: Vec<(u8, &Secret)> =
                all.iter().filter_map(|s| rank(&s.value.scope).map(|r| (r, &s.value))).collect();
            ranked.sort_by_key(|(r, _)| *r);
            let mut values = BTreeMap::new();
            for (_, s) in ranked {
                let Some(key) = self.secret_key() else {
                    return Err(ServiceError::Unavailable(format!(
                        "{} cannot be decrypted: this server has no secret key (RAILYARD_SECRET_KEY_FILE)",
                        s.describe()
                    )));
                };
                let value = key.open(&s.name, &s.sealed, &s.associated_data()).map_err(key_error)?;
                values.insert(s.name.clone(), value.expose().to_string());
            }
            out.push(values);
        }
        Ok(out)
    }

    /// A masker per run (by index) hiding the secret values in effect for it: the server masks what a
    /// runner reports once more before it is stored. A secret that does not decrypt here leaves that
    /// batch unmasked by the server (the runner masked it already) and says so in the log, without values.
    pub(crate) async fn maskers_for(&self, d: &Deployment, runs: &[usize]) -> Vec<railyard_runner::Masker> {
        match self.secrets_for_runs(d, runs).await {
            Ok(values) => {
                values.iter().map(|v| railyard_runner::Masker::new(&v.values().collect::<Vec<_>>())).collect()
            }
            Err(e) => {
                tracing::warn!(deployment = %d.id, error = %e, "could not decrypt the run's secrets to mask its output");
                runs.iter().map(|_| railyard_runner::Masker::default()).collect()
            }
        }
    }

    /// The runs (by index) of a deployment as the runners that run them must have them: actions with
    /// variables and secrets resolved, or why each must not start, and the values to mask.
    pub(crate) async fn resolve_runs(&self, d: &Deployment, runs: &[usize]) -> ServiceResult<Vec<ResolvedRun>> {
        let variables = self.variables_for_runs(d, runs).await?;
        let secrets = match self.secrets_for_runs(d, runs).await {
            Ok(s) => s,
            Err(e) => {
                // No run starts with secrets it cannot have; each says why.
                let why = format!("not started: {e}");
                return Ok(runs
                    .iter()
                    .map(|_| ResolvedRun { unresolved: Some(why.clone()), ..Default::default() })
                    .collect());
            }
        };
        let mut out = Vec::with_capacity(runs.len());
        for ((i, variables), secrets) in runs.iter().zip(variables).zip(secrets) {
            let mask: Vec<String> = secrets.values().cloned().collect();
            let mut resolved = ResolvedRun { mask, ..Default::default() };
            if let Some(action) = d.runs.get(*i).and_then(|r| r.action.as_ref()) {
                match action.resolve_references(&variables, &secrets) {
                    Ok(a) => resolved.action = Some(a),
                    Err(missing) => resolved.unresolved = Some(unresolved_message(&missing, &d.environment)),
                }
            }
            out.push(resolved);
        }
        Ok(out)
    }

    /// Run `run` (by index) of deployment `d` as the runner that runs it must have it: for handing a run
    /// to a runner, and only then (see [`ResolvedRun`]). The caller keeps the values to itself: it masks
    /// them in everything it records and never logs the action.
    pub async fn resolve_run(&self, d: &Deployment, run: usize) -> ServiceResult<ResolvedRun> {
        let mut all = self.resolve_runs(d, &[run]).await?;
        all.pop().ok_or_else(|| ServiceError::Internal("no run resolved".into()))
    }

    /// Re-encrypts every secret with `new` (decrypting with this service's key), in one commit with one
    /// audit event `secret_key rotate` by `os_user` (`local:<user>`). If any secret does not decrypt,
    /// nothing is written and the error names it.
    pub async fn rotate_secret_key(&self, os_user: &str, new: &SecretKey) -> ServiceResult<KeyRotation> {
        let actor = Actor::new(&format!("local:{os_user}"), &[Role::Admin]);
        let old = self.secret_key().ok_or_else(no_key)?;
        let mut all = self.all_secrets().await?;
        let mut tx = Tx::new(&actor, self.now());
        for s in &mut all {
            let aad = s.value.associated_data();
            let value = old.open(&s.value.name, &s.value.sealed, &aad).map_err(key_error)?;
            s.value.sealed = new.seal(&value, &aad).map_err(key_error)?;
            tx.update(s)?;
        }
        let rotation = KeyRotation {
            secrets: all.len(),
            old_fingerprint: old.fingerprint().to_string(),
            new_fingerprint: new.fingerprint().to_string(),
        };
        tx.record([Change::new(
            "secret_key",
            new.fingerprint(),
            "rotate",
            json!({"secrets": rotation.secrets, "old_fingerprint": rotation.old_fingerprint,
                   "new_fingerprint": rotation.new_fingerprint}),
        )]);
        self.commit(tx).await?;
        Ok(rotation)
    }
}

/// A key that cannot seal or open a value: the service cannot serve secrets until the key is right.
fn key_error(e: crate::secret_key::SecretKeyError) -> ServiceError {
    ServiceError::Unavailable(e.to_string())
}

/// Why a run did not start: the references it names that have no value here.
pub(crate) fn unresolved_message(references: &[String], environment: &str) -> String {
    format!(
        "not started: {} {} no value for this run in environment {environment} (the variable or secret was deleted or \
         is not defined for this application or environment); define it and retry the deployment",
        references.join(", "),
        if references.len() == 1 { "has" } else { "have" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resolved_runs_debug_shows_no_value() {
        let r = ResolvedRun { mask: vec!["hunter22".into()], ..Default::default() };
        assert!(!format!("{r:?}").contains("hunter22"));
    }
}
