//! Recovering a lost admin token with local access to the database (`railyard admin issue-token`).
//!
//! Whoever can open the database directly (its file on SQLite, its URL and credentials on PostgreSQL)
//! could rewrite it anyway; this gives them a way that keeps the audit log whole: the new token is made
//! like any other, recorded in the same commit, with the operating-system user as the actor
//! (`local:<os user>`, see [`railyard_domain::recovery`]). The token is an admin's own credential, so it
//! retires a live bootstrap token like any admin token does (see the `users` module).

use railyard_domain::recovery::{recovery_actor, recovery_refusal};
use railyard_domain::{Actor, Change, Role};
use serde_json::json;

use crate::persist::{Stored, Tx, seq_of};
use crate::users::{Token, TokenView, User, hash_token, new_secret, token_view};
use crate::{Service, ServiceError, ServiceResult};

/// The label of a token issued by local recovery.
pub const RECOVERY_LABEL: &str = "local recovery";

/// A token issued by local recovery, and the actor the audit log names for it (`local:<os user>`).
#[derive(Debug)]
pub struct RecoveryToken {
    pub token: TokenView,
    pub actor: String,
}

impl Service {
    /// Issues a new API token for `user`, an active admin, on behalf of `os_user`, who opened the
    /// database directly; returns it with its secret, shown once. Refused, naming why, for a user who
    /// does not exist, is not an admin, or is disabled.
    pub async fn issue_recovery_token(&self, os_user: &str, user: &str) -> ServiceResult<RecoveryToken> {
        let owner: Stored<User> = self.find(user).await?.ok_or_else(|| {
            ServiceError::invalid("user", format!("there is no user '{user}'; name an admin user with --user"))
        })?;
        if let Some(refusal) = recovery_refusal(user, owner.value.active, &owner.value.roles) {
            return Err(ServiceError::Refused(refusal));
        }
        let actor = Actor::new(&recovery_actor(os_user), &[Role::Admin]);
        let secret = new_secret()?;
        let id = self.new_id("TK").await?;
        let token = Token {
            id: id.clone(),
            user: owner.value.name.clone(),
            label: RECOVERY_LABEL.into(),
            hash: hash_token(&secret),
            revoked_at: None,
            bootstrap: false,
        };
        let now = self.now();
        let mut tx = Tx::new(&actor, now);
        tx.insert(&token, seq_of(&id))?;
        let mut changes = vec![Change::new(
            "token",
            &id,
            "create",
            json!({"user": token.user, "label": token.label, "recovery": "local"}),
        )];
        changes.extend(self.retire_bootstrap_for(&mut tx, &owner.value, Some(&id), now).await?);
        tx.record(changes);
        self.commit(tx).await?;
        Ok(RecoveryToken { token: token_view(self.load(&id).await?, Some(secret)), actor: actor.name })
    }
}
