//! Users, their API tokens, the first admin, and authentication.
//!
//! Tokens are `ry_` followed by 64 hex digits of randomness; only their SHA-256 is stored, as the token
//! record's unique key, so a lookup by hash is one indexed read and a leaked database leaks no token.
//!
//! The bootstrap token (the `admin` user's first token, from `RAILYARD_ADMIN_TOKEN` or printed once by
//! the first start) is for the first start only. One rule ([`own_admin_credential`]) retires it: when a
//! change leaves a user able to act as an admin with a credential of their own, the bootstrap token is
//! revoked in the same commit, with its own `revoke` event (`reason: bootstrap_replaced`, `replaced_by`:
//! the token or the user whose password did it, `admin`, `credential`: `token` or `password`). A user
//! acts as an admin on their own when they are active, hold the admin role, and have an active API token
//! other than the bootstrap token (the `admin` user's too) or a console password (the `admin` user's own
//! password does not count: it is the bootstrap user). The rule is applied by every change that can
//! make it so: a token created, a password set, a user created, and the roles or the active flag of a
//! user changed. So it goes when an admin makes another admin token, when the admin role is granted to
//! someone who already has a token or a password, when another admin gets a password, or an admin is
//! created with one; it stays while the admin user only sets its own password or an admin has no
//! credential yet.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use railyard_domain::{Actor, Change, Operation, Role, SYSTEM_ACTOR};
use railyard_store::ListQuery;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::input_limits::bounded;
use crate::persist::{Stored, Tx, decode, seq_of};
use crate::sessions::{ANONYMOUS, Failure};
use crate::views::{Meta, Page, page_of};
use crate::{Service, ServiceError, ServiceResult};

pub const ADMIN_USER: &str = "admin";

/// What the first start did about the admin user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bootstrap {
    /// Created with this new token, to be shown once.
    Created(String),
    /// Created with the token from `RAILYARD_ADMIN_TOKEN`.
    Preset,
    /// Users existed already; nothing was done (a preset token is not used).
    AlreadyInitialised,
}

impl Bootstrap {
    /// The new token, when one was made.
    pub fn token(self) -> Option<String> {
        match self {
            Bootstrap::Created(t) => Some(t),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct User {
    /// Login name: also the user's id.
    pub name: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub email: Option<String>,
    pub roles: Vec<Role>,
    pub active: bool,
    /// The time zone the web console shows times in and reads form times in: an IANA name such as
    /// `Europe/Berlin`. `UTC` unless the user or an admin chose another.
    #[serde(default = "utc_name")]
    #[schema(example = "Europe/Berlin")]
    pub time_zone: String,
    /// The argon2 hash (PHC string) of the console password an admin set; never shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub password_hash: Option<String>,
    /// Bumped when the password is set, the roles change or the user is disabled or enabled: console
    /// sessions opened before then end. Internal; never shown.
    #[serde(default, skip_serializing_if = "is_zero")]
    #[schema(ignore)]
    pub credentials_stamp: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn utc_name() -> String {
    "UTC".to_string()
}

/// Reads an IANA time zone name (`Europe/Berlin`, `America/New_York`, `UTC`) given in `field`.
pub fn parse_time_zone(field: &str, text: &str) -> ServiceResult<Tz> {
    text.trim().parse::<Tz>().map_err(|_| {
        ServiceError::invalid(
            field,
            format!(
                "'{}' is not a time zone: use an IANA name such as Europe/Berlin, America/New_York or UTC",
                text.chars().take(64).collect::<String>()
            ),
        )
    })
}

impl User {
    /// The user's time zone; UTC when the stored name is no longer known.
    pub fn zone(&self) -> Tz {
        self.time_zone.parse().unwrap_or(Tz::UTC)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Token {
    pub id: String,
    pub user: String,
    pub label: String,
    pub hash: String,
    #[serde(default)]
    pub revoked_at: Option<DateTime<Utc>>,
    /// The admin's first token, made by the first start (see the module's doc).
    #[serde(default)]
    pub bootstrap: bool,
}

impl Token {
    /// Databases initialised before the flag existed: the first start's token is TK-1, labelled
    /// "bootstrap", for the admin user.
    fn is_bootstrap(&self) -> bool {
        self.bootstrap || (self.id == "TK-1" && self.label == "bootstrap" && self.user == ADMIN_USER)
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Lower-case letters, digits, '.', '_' and '-', starting with a letter.
    pub name: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub email: Option<String>,
    pub roles: Vec<Role>,
    /// A console password (at least 12 characters), set in the same change as the user. Without one
    /// the user signs in with an API token until an admin sets a password.
    #[serde(default)]
    #[schema(write_only)]
    pub password: Option<String>,
    /// An IANA time zone name such as `Europe/Berlin` (default `UTC`).
    #[serde(default)]
    #[schema(example = "Europe/Berlin")]
    pub time_zone: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub roles: Option<Vec<Role>>,
    #[serde(default)]
    pub active: Option<bool>,
    /// An IANA time zone name such as `Europe/Berlin`. Users may change their own; admins anyone's.
    #[serde(default)]
    #[schema(example = "Europe/Berlin")]
    pub time_zone: Option<String>,
}

impl UserPatch {
    /// Whether the patch changes only the user's own preferences (the time zone), which every user
    /// may do for themselves.
    fn preferences_only(&self) -> bool {
        self.display_name.is_none() && self.email.is_none() && self.roles.is_none() && self.active.is_none()
    }
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// What the token is for ("laptop", "ci").
    #[serde(default)]
    pub label: String,
    /// Admins may create a token for another user.
    #[serde(default)]
    pub user: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserView {
    #[serde(flatten)]
    pub user: User,
    /// Whether the user can sign in to the web console with a password.
    pub has_password: bool,
    #[serde(flatten)]
    pub meta: Meta,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenView {
    pub id: String,
    pub user: String,
    pub label: String,
    pub state: String,
    /// The secret itself: shown once, when the token is created, never again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(flatten)]
    pub meta: Meta,
}

/// What lets `user`, as a change leaves them, act as an admin without the bootstrap token: `new_token`
/// (the id of a token the change creates for them), a console password (unless they are the bootstrap
/// token's own user), or `active_token` (an active token of theirs other than the bootstrap token).
/// `None` when they are disabled, not an admin, or have no credential of their own. The one rule that
/// retires the bootstrap token (see the module's doc).
fn own_admin_credential(
    user: &User,
    bootstrap_user: &str,
    new_token: Option<&str>,
    active_token: Option<&str>,
) -> Option<(String, &'static str)> {
    if !user.active || !user.roles.contains(&Role::Admin) {
        return None;
    }
    if let Some(id) = new_token.or(active_token) {
        return Some((id.to_string(), "token"));
    }
    (user.password_hash.is_some() && user.name != bootstrap_user).then(|| (user.name.clone(), "password"))
}

/// The SHA-256 of a token, as stored.
pub fn hash_token(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

pub(crate) fn new_secret() -> ServiceResult<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| ServiceError::Internal(format!("no randomness for a token: {e}")))?;
    Ok(format!("ry_{}", hex::encode(bytes)))
}

fn validate_name(name: &str) -> ServiceResult<()> {
    let ok = name.len() <= 63
        && name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if !ok {
        return Err(ServiceError::invalid(
            "name",
            format!(
                "'{name}' is not a valid user name: use 1 to 63 lower-case letters, digits, '.', '_' or '-', starting with a letter"
            ),
        ));
    }
    if name == SYSTEM_ACTOR {
        return Err(ServiceError::invalid("name", "'system' is reserved for Railyard itself"));
    }
    if name == ANONYMOUS {
        return Err(ServiceError::invalid("name", "'anonymous' is reserved: the audit log's actor of failed sign-ins"));
    }
    Ok(())
}

fn user_view(s: Stored<User>) -> UserView {
    let meta = Meta::of(&s);
    let mut user = s.value;
    let has_password = user.password_hash.take().is_some();
    user.credentials_stamp = 0;
    UserView { meta, user, has_password }
}

pub(crate) fn token_view(s: Stored<Token>, secret: Option<String>) -> TokenView {
    let state = if s.value.revoked_at.is_some() { "revoked" } else { "active" }.to_string();
    TokenView { meta: Meta::of(&s), id: s.value.id, user: s.value.user, label: s.value.label, state, token: secret }
}

impl Service {
    /// On first start with an empty database: creates the `admin` user and a token for it. The token is
    /// `preset` (from `RAILYARD_ADMIN_TOKEN`) or a new random one, which the caller prints once. Two
    /// servers starting together on one empty PostgreSQL database both try; the one that loses finds the
    /// database already initialised.
    pub async fn bootstrap_admin(&self, preset: Option<&str>) -> ServiceResult<Bootstrap> {
        let existing = self.store.list(&ListQuery::new("user", 1)).await?;
        if !existing.is_empty() {
            return Ok(Bootstrap::AlreadyInitialised);
        }
        let secret = match preset {
            Some(p) if p.trim().len() >= 16 => p.trim().to_string(),
            Some(_) => return Err(ServiceError::invalid("RAILYARD_ADMIN_TOKEN", "must be at least 16 characters")),
            None => new_secret()?,
        };
        let system = Actor::new(SYSTEM_ACTOR, &[Role::Admin]);
        let now = self.now();
        let user = User {
            name: ADMIN_USER.into(),
            display_name: "Administrator".into(),
            email: None,
            roles: vec![Role::Admin],
            active: true,
            time_zone: utc_name(),
            password_hash: None,
            credentials_stamp: 0,
        };
        let token_id = self.new_id("TK").await?;
        let token = Token {
            id: token_id.clone(),
            user: ADMIN_USER.into(),
            label: "bootstrap".into(),
            hash: hash_token(&secret),
            revoked_at: None,
            bootstrap: true,
        };
        let mut tx = Tx::new(&system, now);
        tx.insert(&user, self.store.next_seq("U").await?)?;
        tx.insert(&token, seq_of(&token_id))?;
        tx.record([
            Change::new("user", ADMIN_USER, "create", json!({"roles": user.roles, "bootstrap": true})),
            Change::new("token", &token_id, "create", json!({"user": ADMIN_USER, "label": "bootstrap"})),
        ]);
        match self.commit(tx).await {
            Ok(()) if preset.is_some() => Ok(Bootstrap::Preset),
            Ok(()) => Ok(Bootstrap::Created(secret)),
            Err(ServiceError::Conflict(_) | ServiceError::Duplicate(_)) => Ok(Bootstrap::AlreadyInitialised),
            Err(e) => Err(e),
        }
    }

    /// Who holds this bearer token (no limits: requests use `authenticate_request`).
    pub async fn authenticate(&self, secret: &str) -> ServiceResult<Actor> {
        match self.token_holder(secret).await? {
            Ok((_, user)) => Ok(Actor { name: user.value.name, roles: user.value.roles }),
            Err(Failure::DisabledUser) => Err(ServiceError::Unauthenticated("the token's user is disabled".into())),
            Err(_) => Err(ServiceError::Unauthenticated("the token is not valid: it is unknown or was revoked".into())),
        }
    }

    /// The token and its active user, or why there is none.
    pub(crate) async fn token_holder(
        &self,
        secret: &str,
    ) -> ServiceResult<Result<(Stored<Token>, Stored<User>), Failure>> {
        let Some(r) = self.store.get_by_key("token", &hash_token(secret)).await? else {
            return Ok(Err(Failure::InvalidToken));
        };
        let token: Stored<Token> = decode(r)?;
        if token.value.revoked_at.is_some() {
            return Ok(Err(Failure::InvalidToken));
        }
        let Some(user) = self.find::<User>(&token.value.user).await? else { return Ok(Err(Failure::InvalidToken)) };
        if !user.value.active {
            return Ok(Err(Failure::DisabledUser));
        }
        Ok(Ok((token, user)))
    }

    pub async fn create_user(&self, actor: &Actor, input: NewUser) -> ServiceResult<UserView> {
        bounded(&input)?;
        self.authorize(actor, Operation::ManageUsers)?;
        validate_name(&input.name)?;
        let time_zone = match &input.time_zone {
            Some(z) => parse_time_zone("time_zone", z)?.name().to_string(),
            None => utc_name(),
        };
        if input.roles.is_empty() {
            return Err(ServiceError::invalid("roles", "a user needs at least one role"));
        }
        self.ensure_absent::<User>(&input.name).await?;
        let password_hash = match input.password {
            Some(p) => Some(self.new_password_hash(p).await?),
            None => None,
        };
        let now = self.now();
        let user = User {
            name: input.name,
            display_name: input.display_name,
            email: input.email,
            roles: input.roles,
            active: true,
            time_zone,
            password_hash,
            credentials_stamp: 0,
        };
        let mut tx = Tx::new(actor, now);
        tx.insert(&user, self.store.next_seq("U").await?)?;
        let mut changes = vec![Change::new(
            "user",
            &user.name,
            "create",
            json!({"roles": user.roles, "email": user.email, "time_zone": user.time_zone}),
        )];
        if user.password_hash.is_some() {
            changes.push(Change::new("user", &user.name, "set_password", json!({})));
        }
        changes.extend(self.retire_bootstrap_for(&mut tx, &user, None, now).await?);
        tx.record(changes);
        self.commit(tx).await?;
        self.user(actor, &user.name).await
    }

    pub async fn user(&self, actor: &Actor, name: &str) -> ServiceResult<UserView> {
        self.authorize(actor, Operation::Read)?;
        Ok(user_view(self.load(name).await?))
    }

    pub async fn users(
        &self,
        actor: &Actor,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> ServiceResult<Page<UserView>> {
        self.authorize(actor, Operation::Read)?;
        let mut q = ListQuery::new("user", 0);
        page_of(self, &mut q, limit, cursor, |s: Stored<User>| Ok(user_view(s))).await
    }

    pub async fn update_user(
        &self,
        actor: &Actor,
        name: &str,
        patch: UserPatch,
        expected: Option<i64>,
    ) -> ServiceResult<UserView> {
        bounded(&patch)?;
        let own_preferences = name == actor.name && patch.preferences_only();
        self.authorize(actor, if own_preferences { Operation::Read } else { Operation::ManageUsers })?;
        let time_zone = match &patch.time_zone {
            Some(z) => Some(parse_time_zone("time_zone", z)?.name().to_string()),
            None => None,
        };
        if patch.roles.as_ref().is_some_and(Vec::is_empty) {
            return Err(ServiceError::invalid("roles", "a user needs at least one role"));
        }
        if name == actor.name
            && (patch.active == Some(false) || patch.roles.as_ref().is_some_and(|r| !r.contains(&Role::Admin)))
        {
            return Err(ServiceError::invalid("roles", "you cannot remove your own admin role or disable yourself"));
        }
        let (patch, time_zone) = (&patch, &time_zone);
        self.retrying(expected, move || async move {
            let mut s: Stored<User> = self.load(name).await?;
            crate::persist::check_version("user", name, s.version, expected)?;
            let u = &mut s.value;
            if let Some(v) = &patch.display_name {
                u.display_name = v.clone();
            }
            if let Some(v) = &patch.email {
                u.email = Some(v.clone()).filter(|e| !e.is_empty());
            }
            let (roles, active) = (u.roles.clone(), u.active);
            if let Some(v) = &patch.roles {
                u.roles = v.clone();
            }
            if let Some(v) = patch.active {
                u.active = v;
            }
            if let Some(v) = time_zone {
                u.time_zone = v.clone();
            }
            // New roles, or disabling or enabling the user, end their open console sessions.
            let granting = u.roles != roles || u.active != active;
            if granting {
                u.credentials_stamp += 1;
            }
            let now = self.now();
            let mut tx = Tx::new(actor, now);
            tx.update(&s)?;
            let mut changes = vec![Change::new(
                "user",
                name,
                "update",
                json!({
                    "roles": s.value.roles,
                    "active": s.value.active,
                    "email": s.value.email,
                    "time_zone": s.value.time_zone,
                }),
            )];
            if granting {
                changes.extend(self.retire_bootstrap_for(&mut tx, &s.value, None, now).await?);
            }
            tx.record(changes);
            self.commit(tx).await
        })
        .await?;
        self.user(actor, name).await
    }

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
