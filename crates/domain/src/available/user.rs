//! A user's actions: what an admin does to them (edit, set their console password), and their API
//! tokens, which they keep themselves and an admin keeps for everybody.

use super::AvailableAction;
use crate::error::Guards;
use crate::{Actor, DomainError, Operation};

/// One of a user's API tokens, as the actions on it need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenFacts {
    pub id: String,
    /// Whether it was revoked already.
    pub revoked: bool,
}

/// Whether the token may be revoked: not twice.
pub fn token_revocable(token: &TokenFacts) -> Result<(), DomainError> {
    let state = if token.revoked { "revoked" } else { "active" };
    let mut g = Guards::new("revoke", &format!("token {}", token.id), state);
    g.check(!token.revoked, "wrong_state", || format!("token {} is already revoked", token.id));
    g.done()
}

/// Which actions `actor` may take on user `name` with these `tokens`: `edit` (roles, name, email,
/// deactivating), `set_password`, `manage_tokens` (list and issue), and `revoke_token` on each token.
/// Their own tokens a user keeps themselves; anyone else's are an admin's.
pub fn user_actions(actor: &Actor, name: &str, tokens: &[TokenFacts]) -> Vec<AvailableAction> {
    let tokens_op = if actor.name == name { Operation::ManageOwnTokens } else { Operation::ManageUsers };
    let mut list = vec![
        AvailableAction::decide("edit", actor, Operation::ManageUsers, || Ok(())),
        AvailableAction::decide("set_password", actor, Operation::ManageUsers, || Ok(())),
        AvailableAction::decide("manage_tokens", actor, tokens_op, || Ok(())),
    ];
    for t in tokens {
        list.push(AvailableAction::decide("revoke_token", actor, tokens_op, || token_revocable(t)).on(t.id.clone()));
    }
    list
}
