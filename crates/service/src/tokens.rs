//! API tokens: made for oneself (or, by an admin, for another user), listed and revoked. Only a token's
//! SHA-256 is stored (see [`crate::users`]); the secret is shown once, when it is made.

use chrono::{DateTime, Utc};
use railyard_domain::{Actor, Change, Operation, Role};
use railyard_store::ListQuery;
use serde_json::json;

use crate::input_limits::bounded;
use crate::persist::{Stored, Tx, decode, seq_of};
use crate::users::{
    ADMIN_USER, NewToken, Token, TokenView, User, hash_token, new_secret, own_admin_credential, token_view,
};
use crate::views::{Page, page_of};
use crate::{Service, ServiceError, ServiceResult};

impl Service {
    /// Creates a token for the actor (or, for admins, for another user) and returns its secret once.
    pub async fn create_token(&self, actor: &Actor, input: NewToken) -> ServiceResult<TokenView> {
        bounded(&input)?;
        self.authorize(actor, Operation::ManageOwnTokens)?;
        let owner = input.user.unwrap_or_else(|| actor.name.clone());
        if owner != actor.name {
            self.authorize(actor, Operation::ManageUsers)?;
        }
        let user: Stored<User> = self
            .find(&owner)
            .await?
            .ok_or_else(|| ServiceError::invalid("user", format!("there is no user '{owner}'")))?;
        let secret = new_secret()?;
        let id = self.new_id("TK").await?;
        let owner = user.value.clone();
        let token = Token {
            id: id.clone(),
            user: user.value.name,
            label: input.label,
            hash: hash_token(&secret),
            revoked_at: None,
            bootstrap: false,
        };
        let now = self.now();
        let mut tx = Tx::new(actor, now);
        tx.insert(&token, seq_of(&id))?;
        let mut changes = vec![Change::new("token", &id, "create", json!({"user": token.user, "label": token.label}))];
        changes.extend(self.retire_bootstrap_for(&mut tx, &owner, Some(&id), now).await?);
        tx.record(changes);
        self.commit(tx).await?;
        Ok(token_view(self.load(&id).await?, Some(secret)))
    }

    /// Applies the one rule (see the module's doc) to `user` as a change leaves them: when they can act
    /// as an admin with a credential of their own (`new_token`: a token the change creates), the live
    /// bootstrap token is revoked in `tx`; returns the revoke event to record with the change.
    pub(crate) async fn retire_bootstrap_for(
        &self,
        tx: &mut Tx,
        user: &User,
        new_token: Option<&str>,
        now: DateTime<Utc>,
    ) -> ServiceResult<Option<Change>> {
        if !user.active || !user.roles.contains(&Role::Admin) {
            return Ok(None);
        }
        let Some(mut first) = self.live_bootstrap_token().await? else { return Ok(None) };
        let active_token = match new_token {
            Some(_) => None,
            None => self.own_active_token(&user.name, &first.value.id).await?,
        };
        let Some((replaced_by, credential)) =
            own_admin_credential(user, &first.value.user, new_token, active_token.as_deref())
        else {
            return Ok(None);
        };
        first.value.revoked_at = Some(now);
        tx.update(&first)?;
        Ok(Some(Change::new(
            "token",
            &first.value.id,
            "revoke",
            json!({
                "user": first.value.user,
                "reason": "bootstrap_replaced",
                "replaced_by": replaced_by,
                "admin": user.name,
                "credential": credential,
            }),
        )))
    }

    /// An active token of `user` other than `except` (the bootstrap token), if any.
    async fn own_active_token(&self, user: &str, except: &str) -> ServiceResult<Option<String>> {
        let mut q = ListQuery::new("token", crate::MAX_PAGE);
        q.parent_id = Some(user.to_string());
        q.states = vec!["active".to_string()];
        loop {
            let page = self.store.list(&q).await?;
            let full = page.len() >= q.limit as usize;
            for r in page {
                q.after_seq = Some(r.seq);
                if r.id != except {
                    return Ok(Some(r.id));
                }
            }
            if !full {
                return Ok(None);
            }
        }
    }

    /// The bootstrap token, while it is not revoked.
    async fn live_bootstrap_token(&self) -> ServiceResult<Option<Stored<Token>>> {
        let mut q = ListQuery::new("token", crate::MAX_PAGE);
        q.parent_id = Some(ADMIN_USER.to_string());
        q.states = vec!["active".to_string()];
        for r in self.store.list(&q).await? {
            let t: Stored<Token> = decode(r)?;
            if t.value.is_bootstrap() && t.value.revoked_at.is_none() {
                return Ok(Some(t));
            }
        }
        Ok(None)
    }

    /// The actor's tokens (an admin may name another user).
    pub async fn tokens(&self, actor: &Actor, user: Option<&str>) -> ServiceResult<Page<TokenView>> {
        self.authorize(actor, Operation::ManageOwnTokens)?;
        let owner = user.unwrap_or(&actor.name);
        if owner != actor.name {
            self.authorize(actor, Operation::ManageUsers)?;
        }
        let mut q = ListQuery::new("token", 0);
        q.parent_id = Some(owner.to_string());
        page_of(self, &mut q, Some(crate::MAX_PAGE), None, |s: Stored<Token>| Ok(token_view(s, None))).await
    }

    pub async fn revoke_token(&self, actor: &Actor, id: &str) -> ServiceResult<TokenView> {
        self.authorize(actor, Operation::ManageOwnTokens)?;
        self.retrying(None, move || async move {
            let mut s: Stored<Token> = self.load(id).await?;
            if s.value.user != actor.name {
                self.authorize(actor, Operation::ManageUsers)?;
            }
            railyard_domain::token_revocable(&crate::actions::token_facts(&s.value))?;
            let now = self.now();
            s.value.revoked_at = Some(now);
            let mut tx = Tx::new(actor, now);
            tx.update(&s)?;
            tx.record([Change::new("token", id, "revoke", json!({"user": s.value.user}))]);
            self.commit(tx).await
        })
        .await?;
        Ok(token_view(self.load(id).await?, None))
    }
}
