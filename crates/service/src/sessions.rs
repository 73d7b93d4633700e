//! Console passwords and sign-in sessions.
//!
//! An admin sets a user's password; only its argon2 hash is kept, in the user record. Signing in (with a
//! password or an API token) creates a session record: the browser's cookie carries a random secret, the
//! store keeps only its SHA-256 (as the record's unique key), so a leaked database opens no session.
//! Each session also carries the token its forms must send back (CSRF). Sign-in, sign-out and password
//! changes are recorded in the audit log.
//!
//! A session ends at sign-out, after [`SESSION_HOURS`], when the user is disabled, when the API token
//! that opened it is revoked, and when the user's password is set or their roles change: a session
//! keeps the user's credentials stamp of its start, which those changes bump (see `users.rs`). One user
//! has at most [`MAX_SESSIONS_PER_USER`] live sessions: signing in once more ends the oldest (an `end`
//! event, reason `session_limit`). Each sign-in also purges the user's ended, expired and outdated
//! session records: they are deleted in the sign-in's commit, which lists the deletions, with one
//! `purge` event naming them (the audit cross-check expects a record the log lists as deleted to be
//! gone). The session records of a user who never signs in again stay, at most the cap's worth of them.
//!
//! Failed sign-ins are limited per client address and per user name (see `sign_in_limits.rs`) and
//! recorded in the audit log as `sign_in_failed` (object kind `sign_in`, id `password` or `token`),
//! with the name tried, the client address and the reason; attempts refused by the limit are not
//! recorded, so an attack cannot flood the log. Only admins see those details: other readers of the
//! audit log see that a sign-in failed, not who tried which name from where. They do see the event's
//! hash, which covers the details; so the details carry a random 128-bit `nonce`, and the hash cannot
//! be used to confirm a guess of them (the name tried is often a password typed into the wrong field).

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use railyard_domain::{Actor, Change, Operation};
use railyard_store::ListQuery;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::audit::EventView;
use crate::persist::{Aggregate, Stored, Tx, decode, seq_of};
use crate::sign_in_limits::Attempt;
use crate::users::{Token, User, hash_token};
use crate::{Service, ServiceError, ServiceResult};

/// How long a console session lasts.
pub const SESSION_HOURS: i64 = 12;
/// The most live console sessions one user has: signing in once more ends the oldest.
pub const MAX_SESSIONS_PER_USER: usize = 10;
/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;

const WRONG_PASSWORD: &str = "the user name or the password is wrong";
const WRONG_TOKEN: &str = "that API token is not valid: it is unknown or was revoked";
const SESSION_ENDED: &str = "the session ended or expired: sign in again";
/// The actor of events about someone not (yet) signed in.
pub const ANONYMOUS: &str = "anonymous";
/// The action of a failed sign-in in the audit log.
pub const SIGN_IN_FAILED: &str = "sign_in_failed";

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordInput {
    /// At least 12 characters.
    pub password: String,
}

/// How a session was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignInMethod {
    Password,
    Token,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Session {
    /// "SE-4": what the audit log names.
    pub id: String,
    pub user: String,
    /// SHA-256 of the cookie's secret.
    pub hash: String,
    /// The token every form of this session sends back.
    pub csrf: String,
    pub method: SignInMethod,
    pub expires_at: DateTime<Utc>,
    #[serde(default)]
    pub ended_at: Option<DateTime<Utc>>,
    /// The API token that opened it (token sign-ins): revoking the token ends the session.
    #[serde(default)]
    pub token_id: Option<String>,
    /// The user's credentials stamp when it opened: a password reset or a role change ends it.
    #[serde(default)]
    pub credentials: u64,
}

impl Aggregate for Session {
    const KIND: &'static str = "session";
    fn id(&self) -> &str {
        &self.id
    }
    fn state(&self) -> Option<String> {
        Some(if self.ended_at.is_some() { "ended" } else { "active" }.to_string())
    }
    fn parent_id(&self) -> Option<String> {
        Some(self.user.clone())
    }
    fn unique_key(&self) -> Option<String> {
        Some(self.hash.clone())
    }
}

/// A new session: the secret goes into the cookie and is never seen again.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub secret: String,
    pub session: SessionInfo,
}

/// A live session, as a request presents it.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub id: String,
    pub actor: Actor,
    pub csrf: String,
    pub expires_at: DateTime<Utc>,
    /// The user's time zone: the console shows times in it and reads form times in it.
    pub time_zone: chrono_tz::Tz,
}

fn random_hex(bytes: usize) -> ServiceResult<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| ServiceError::Internal(format!("no randomness: {e}")))?;
    Ok(hex::encode(buf))
}

impl Service {
    /// Checks a new password's length and hashes it in one of the hashing slots.
    pub(crate) async fn new_password_hash(&self, password: String) -> ServiceResult<String> {
        if password.chars().count() < MIN_PASSWORD_CHARS {
            let why = format!("a password needs at least {MIN_PASSWORD_CHARS} characters");
            return Err(ServiceError::invalid("password", why));
        }
        self.access.passwords.slot().await?.hash(password).await
    }
}

/// Constant-time comparison of two tokens.
pub(crate) fn same_token(a: &str, b: &str) -> bool {
    same_bytes(a.as_bytes(), b.as_bytes())
}

/// Constant-time comparison of two byte strings (of public length).
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What a non-admin sees of a failed sign-in in the audit log: that it happened, not the name tried or
/// the client address.
pub(crate) fn hide_sign_in_details(actor: &Actor, event: &mut EventView) {
    if event.action == SIGN_IN_FAILED && !actor.is_admin() {
        event.data = json!({"details": "only admins see the name tried and the client address"});
    }
}

/// Why a credential did not open a session (the audit log's `reason`).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Failure {
    UnknownUser,
    DisabledUser,
    NoPassword,
    WrongPassword,
    InvalidToken,
}

impl Failure {
    fn as_str(self) -> &'static str {
        match self {
            Failure::UnknownUser => "unknown_user",
            Failure::DisabledUser => "disabled_user",
            Failure::NoPassword => "no_password",
            Failure::WrongPassword => "wrong_password",
            Failure::InvalidToken => "invalid_token",
        }
    }
}

impl Service {
    /// An admin sets a user's console password (12 characters or more); only its hash is stored.
    pub async fn set_password(&self, actor: &Actor, name: &str, input: PasswordInput) -> ServiceResult<()> {
        self.authorize(actor, Operation::ManageUsers)?;
        let hash = &self.new_password_hash(input.password).await?;
        self.retrying(None, move || async move {
            let mut s: Stored<User> = self.load(name).await?;
            s.value.password_hash = Some(hash.clone());
            // The user's open sessions end.
            s.value.credentials_stamp += 1;
            let now = self.now();
            let mut tx = Tx::new(actor, now);
            tx.update(&s)?;
            let retired = self.retire_bootstrap_for(&mut tx, &s.value, None, now).await?;
            tx.record([Change::new("user", name, "set_password", json!({}))].into_iter().chain(retired));
            self.commit(tx).await
        })
        .await
    }

    /// Signs in with a user name and password. A wrong name and a wrong password get the same answer.
    /// `client` is the address the request came from (for the limits and the audit log).
    ///
    /// Past the limits the attempt is refused before anything is looked up or hashed. An allowed one
    /// waits for a hashing slot, and is checked against the limits again once it has one (attempts that
    /// failed meanwhile count), so a burst of wrong passwords hashes at most a few beyond the limit.
    pub async fn sign_in_with_password(
        &self,
        name: &str,
        password: &str,
        client: Option<IpAddr>,
    ) -> ServiceResult<SignedIn> {
        let attempt = Attempt::new(client, Some(name));
        self.access.throttle.check(&attempt, self.now())?;
        let slot = self.access.passwords.slot().await?;
        self.access.throttle.check(&attempt, self.now())?;
        let user: Option<Stored<User>> = if name.is_empty() { None } else { self.find(name).await? };
        let (phc, failure) = match &user {
            None => (None, Failure::UnknownUser),
            Some(u) if !u.value.active => (None, Failure::DisabledUser),
            Some(u) => match &u.value.password_hash {
                None => (None, Failure::NoPassword),
                Some(h) => (Some(h.clone()), Failure::WrongPassword),
            },
        };
        // Without a hash to check, a decoy is checked: the answer takes as long as for a wrong password.
        let matches = slot.verify(password.to_string(), phc).await?;
        let user = match user {
            Some(u) if matches && u.value.active => u,
            _ => {
                // Counted before the slot is freed, so the next in line sees this failure.
                self.access.throttle.failed(&attempt, self.now());
                drop(slot);
                self.record_failed_sign_in(SignInMethod::Password, Some(name), client, failure).await;
                return Err(ServiceError::Unauthenticated(WRONG_PASSWORD.into()));
            }
        };
        drop(slot);
        let credentials = user.value.credentials_stamp;
        let actor = Actor { name: user.value.name, roles: user.value.roles };
        self.open_session(actor, SignInMethod::Password, None, credentials).await
    }

    /// Signs in with an API token pasted into the sign-in page; limited per client address like a
    /// password. The session ends when the token is revoked.
    pub async fn sign_in_with_token(&self, token: &str, client: Option<IpAddr>) -> ServiceResult<SignedIn> {
        let attempt = Attempt::new(client, None);
        match self.token_holder(token.trim()).await? {
            Ok((token, user)) => {
                let actor = Actor { name: user.value.name, roles: user.value.roles };
                self.open_session(actor, SignInMethod::Token, Some(token.value.id), user.value.credentials_stamp).await
            }
            Err(failure) => {
                self.access.throttle.check(&attempt, self.now())?;
                self.access.throttle.failed(&attempt, self.now());
                self.record_failed_sign_in(SignInMethod::Token, None, client, failure).await;
                Err(ServiceError::Unauthenticated(WRONG_TOKEN.into()))
            }
        }
    }

    /// Who holds this bearer token, for a request from `client`. Bad tokens are limited per client
    /// address: past the limit a bad token is answered 429 (with the seconds to wait) instead of 401.
    /// A valid token always works, even from an address past its limit: a token is 256 random bits,
    /// which no one guesses, while refusing it would let one client lock out everyone who shares its
    /// address (an office behind one NAT, every user behind one reverse proxy).
    pub async fn authenticate_request(&self, secret: &str, client: Option<IpAddr>) -> ServiceResult<Actor> {
        let attempt = Attempt::new(client, None);
        match self.token_holder(secret).await? {
            Ok((_, user)) => Ok(Actor { name: user.value.name, roles: user.value.roles }),
            Err(failure) => {
                self.access.throttle.check(&attempt, self.now())?;
                self.access.throttle.failed(&attempt, self.now());
                Err(ServiceError::Unauthenticated(match failure {
                    Failure::DisabledUser => "the token's user is disabled".into(),
                    _ => "the token is not valid: it is unknown or was revoked".into(),
                }))
            }
        }
    }

    /// Records a failed sign-in in the audit log. Not being able to record it is logged, and the
    /// answer stays "wrong credentials".
    async fn record_failed_sign_in(
        &self,
        method: SignInMethod,
        name: Option<&str>,
        client: Option<IpAddr>,
        failure: Failure,
    ) {
        let tried: Option<String> = name.map(|n| n.trim().chars().filter(|c| !c.is_control()).take(100).collect());
        let client = client.map_or_else(|| "unknown".to_string(), |c| c.to_canonical().to_string());
        let mut data = json!({"client": client, "reason": failure.as_str(), "method": method});
        if let Some(n) = tried {
            data["name"] = json!(n);
        }
        // The event's hash covers its data, and non-admins see the hash: 128 random bits in the data
        // keep anyone from confirming a guess of what they are not shown.
        match random_hex(16) {
            Ok(nonce) => data["nonce"] = json!(nonce),
            Err(e) => {
                tracing::warn!(error = %e, "no randomness: the failed sign-in is recorded without its details");
                data = json!({"reason": failure.as_str(), "method": method});
            }
        }
        let object = match method {
            SignInMethod::Password => "password",
            SignInMethod::Token => "token",
        };
        let mut tx = Tx::new(&Actor::new(ANONYMOUS, &[]), self.now());
        tx.record([Change::new("sign_in", object, SIGN_IN_FAILED, data)]);
        if let Err(e) = self.commit(tx).await {
            tracing::warn!(error = %e, "a failed sign-in could not be recorded in the audit log");
        }
    }

    /// Opens a session, in one commit with what it ends: the user's ended, expired or outdated sessions
    /// are purged (deleted, one `purge` event listing them), and when they already have
    /// [`MAX_SESSIONS_PER_USER`] live sessions the oldest end (an `end` event each, reason
    /// `session_limit`). So one user never holds more than that many live session records, nor more
    /// dead ones than they had since their last sign-in.
    async fn open_session(
        &self,
        actor: Actor,
        method: SignInMethod,
        token_id: Option<String>,
        credentials: u64,
    ) -> ServiceResult<SignedIn> {
        let secret = format!("rys_{}", random_hex(32)?);
        let id = self.new_id("SE").await?;
        let csrf = random_hex(32)?;
        let (actor, token_id, id, csrf, secret_hash) = (&actor, &token_id, &id, &csrf, &hash_token(&secret));
        let session = self
            .retrying(None, move || async move {
                let now = self.now();
                let session = Session {
                    id: id.clone(),
                    user: actor.name.clone(),
                    hash: secret_hash.clone(),
                    csrf: csrf.clone(),
                    method,
                    expires_at: now + Duration::hours(SESSION_HOURS),
                    ended_at: None,
                    token_id: token_id.clone(),
                    credentials,
                };
                let mut tx = Tx::new(actor, now);
                let mut changes = self.make_room(&mut tx, &actor.name, credentials, now).await?;
                tx.insert(&session, seq_of(id))?;
                changes.push(Change::new("session", id, "sign_in", json!({"user": actor.name, "method": method})));
                tx.record(changes);
                self.commit(tx).await?;
                Ok(session)
            })
            .await?;
        let user: Option<Stored<User>> = self.find(&actor.name).await?;
        let time_zone = user.map_or(chrono_tz::Tz::UTC, |u| u.value.zone());
        let info = SessionInfo {
            id: session.id,
            actor: actor.clone(),
            csrf: session.csrf,
            expires_at: session.expires_at,
            time_zone,
        };
        Ok(SignedIn { secret, session: info })
    }

    /// Purges the user's dead sessions and ends the oldest live ones beyond the cap, in `tx`; the events.
    async fn make_room(
        &self,
        tx: &mut Tx,
        user: &str,
        credentials: u64,
        now: DateTime<Utc>,
    ) -> ServiceResult<Vec<Change>> {
        let mut q = ListQuery::new("session", crate::MAX_PAGE);
        q.parent_id = Some(user.to_string());
        let sessions: Vec<Stored<Session>> = self.list_all(q).await?;
        let (mut live, dead): (Vec<_>, Vec<_>) = sessions.into_iter().partition(|s| {
            s.value.ended_at.is_none() && s.value.expires_at > now && s.value.credentials == credentials
        });
        let mut changes = Vec::new();
        if !dead.is_empty() {
            let ids: Vec<&str> = dead.iter().map(|s| s.value.id.as_str()).collect();
            for s in &dead {
                tx.delete(s);
            }
            let data = json!({"user": user, "sessions": ids, "count": ids.len(), "why": "ended, expired or outdated"});
            changes.push(Change::new("session", user, "purge", data));
        }
        // Oldest first (ids are numbered in order); the new one takes the last place.
        live.sort_by_key(|s| s.seq);
        let over = (live.len() + 1).saturating_sub(MAX_SESSIONS_PER_USER);
        for mut s in live.into_iter().take(over) {
            s.value.ended_at = Some(now);
            tx.update(&s)?;
            let data = json!({"user": user, "reason": "session_limit", "limit": MAX_SESSIONS_PER_USER});
            changes.push(Change::new("session", &s.value.id, "end", data));
        }
        Ok(changes)
    }

    async fn live_session(&self, secret: &str) -> ServiceResult<Stored<Session>> {
        let ended = || ServiceError::Unauthenticated(SESSION_ENDED.into());
        let Some(r) = self.store.get_by_key("session", &hash_token(secret)).await? else { return Err(ended()) };
        let s: Stored<Session> = decode(r)?;
        if s.value.ended_at.is_some() || s.value.expires_at <= self.now() {
            return Err(ended());
        }
        Ok(s)
    }

    /// The session a cookie's secret belongs to, with the user's current roles.
    pub async fn session(&self, secret: &str) -> ServiceResult<SessionInfo> {
        let s = self.live_session(secret).await?;
        let ended = || ServiceError::Unauthenticated(SESSION_ENDED.into());
        let user: Stored<User> = self.find(&s.value.user).await?.ok_or_else(ended)?;
        if !user.value.active {
            return Err(ServiceError::Unauthenticated(format!("user {} is disabled", user.value.name)));
        }
        // The password was set or the roles changed since the session opened.
        if user.value.credentials_stamp != s.value.credentials {
            return Err(ended());
        }
        if let Some(token_id) = &s.value.token_id {
            let token: Option<Stored<Token>> = self.find(token_id).await?;
            if token.is_none_or(|t| t.value.revoked_at.is_some()) {
                return Err(ended());
            }
        }
        let time_zone = user.value.zone();
        let actor = Actor { name: user.value.name, roles: user.value.roles };
        Ok(SessionInfo { id: s.value.id, actor, csrf: s.value.csrf, expires_at: s.value.expires_at, time_zone })
    }

    /// Ends the session; its cookie no longer opens anything.
    pub async fn sign_out(&self, secret: &str) -> ServiceResult<()> {
        self.retrying(None, move || async move {
            let mut s = self.live_session(secret).await?;
            let now = self.now();
            s.value.ended_at = Some(now);
            let actor = Actor { name: s.value.user.clone(), roles: Vec::new() };
            let mut tx = Tx::new(&actor, now);
            tx.update(&s)?;
            tx.record([Change::new("session", &s.value.id, "sign_out", json!({"user": s.value.user}))]);
            self.commit(tx).await
        })
        .await
    }

    /// Whether a form's CSRF token is the session's.
    pub fn csrf_matches(session: &SessionInfo, presented: Option<&str>) -> bool {
        presented.is_some_and(|p| same_token(p, &session.csrf))
    }
}
