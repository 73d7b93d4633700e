//! Console passwords and sign-in sessions.
//!
//! An admin sets a user's password; only its argon2 hash is kept, in the user record. Signing in (with a
//! password or an API token) creates a session record: the browser's cookie carries a random secret, the
//! store keeps only its SHA-256 (as the record's unique key), so a leaked database opens no session.
//! Each session also carries the token its forms must send back (CSRF). Sessions end at sign-out or
//! after [`SESSION_HOURS`]. Sign-in, sign-out and password changes are recorded in the audit log.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{DateTime, Duration, Utc};
use railyard_domain::{Actor, Change, Operation};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::persist::{Aggregate, Stored, Tx, decode, seq_of};
use crate::users::{User, hash_token};
use crate::{Service, ServiceError, ServiceResult};

/// How long a console session lasts.
pub const SESSION_HOURS: i64 = 12;
/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;

const WRONG_PASSWORD: &str = "the user name or the password is wrong";
const WRONG_TOKEN: &str = "that API token is not valid: it is unknown or was revoked";
const SESSION_ENDED: &str = "the session ended or expired: sign in again";

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
}

fn random_hex(bytes: usize) -> ServiceResult<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| ServiceError::Internal(format!("no randomness: {e}")))?;
    Ok(hex::encode(buf))
}

/// The argon2 hash (PHC string) of a password, with a fresh salt.
fn hash_password(password: &str) -> ServiceResult<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| ServiceError::Internal(format!("no randomness for a salt: {e}")))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| ServiceError::Internal(format!("salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServiceError::Internal(format!("cannot hash a password: {e}")))
}

/// Checks a new password's length and hashes it (off the async workers: argon2 takes a while).
pub(crate) async fn new_password_hash(password: String) -> ServiceResult<String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        let why = format!("a password needs at least {MIN_PASSWORD_CHARS} characters");
        return Err(ServiceError::invalid("password", why));
    }
    off_the_workers(move || hash_password(&password)).await?
}

fn password_matches(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// Runs argon2 (tens of milliseconds of CPU) off the async workers, so sign-ins do not stall requests.
async fn off_the_workers<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> ServiceResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ServiceError::Internal(format!("password hashing did not finish: {e}")))
}

async fn check_password(password: &str, phc: Option<String>) -> ServiceResult<bool> {
    let password = password.to_string();
    off_the_workers(move || match phc {
        Some(phc) => password_matches(&password, &phc),
        None => {
            let _ = password_matches(&password, decoy_hash());
            false
        }
    })
    .await
}

/// A hash to check against when the user is unknown, so that an unknown name takes as long as a wrong
/// password and the answer gives no hint which of the two was wrong.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password("railyard-decoy-password").unwrap_or_default())
}

/// Constant-time comparison of two tokens.
pub(crate) fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Service {
    /// An admin sets a user's console password (12 characters or more); only its hash is stored.
    pub async fn set_password(&self, actor: &Actor, name: &str, input: PasswordInput) -> ServiceResult<()> {
        self.authorize(actor, Operation::ManageUsers)?;
        let hash = &new_password_hash(input.password).await?;
        self.retrying(None, move || async move {
            let mut s: Stored<User> = self.load(name).await?;
            s.value.password_hash = Some(hash.clone());
            let mut tx = Tx::new(actor, self.now());
            tx.update(&s)?;
            tx.record([Change::new("user", name, "set_password", json!({}))]);
            self.commit(tx).await
        })
        .await
    }

    /// Signs in with a user name and password. A wrong name and a wrong password get the same answer.
    pub async fn sign_in_with_password(&self, name: &str, password: &str) -> ServiceResult<SignedIn> {
        let user: Option<Stored<User>> = if name.is_empty() { None } else { self.find(name).await? };
        let user = user.filter(|u| u.value.active);
        // An unknown user is checked against a decoy hash: the answer takes as long as for a wrong password.
        let phc = user.as_ref().and_then(|u| u.value.password_hash.clone());
        let matches = check_password(password, phc).await?;
        let Some(user) = user.filter(|_| matches) else {
            return Err(ServiceError::Unauthenticated(WRONG_PASSWORD.into()));
        };
        let actor = Actor { name: user.value.name, roles: user.value.roles };
        self.open_session(actor, SignInMethod::Password).await
    }

    /// Signs in with an API token pasted into the sign-in page.
    pub async fn sign_in_with_token(&self, token: &str) -> ServiceResult<SignedIn> {
        let actor = self.authenticate(token.trim()).await.map_err(|e| match e {
            ServiceError::Unauthenticated(_) => ServiceError::Unauthenticated(WRONG_TOKEN.into()),
            other => other,
        })?;
        self.open_session(actor, SignInMethod::Token).await
    }

    async fn open_session(&self, actor: Actor, method: SignInMethod) -> ServiceResult<SignedIn> {
        let secret = format!("rys_{}", random_hex(32)?);
        let now = self.now();
        let id = self.new_id("SE").await?;
        let session = Session {
            id: id.clone(),
            user: actor.name.clone(),
            hash: hash_token(&secret),
            csrf: random_hex(32)?,
            method,
            expires_at: now + Duration::hours(SESSION_HOURS),
            ended_at: None,
        };
        let mut tx = Tx::new(&actor, now);
        tx.insert(&session, seq_of(&id))?;
        tx.record([Change::new("session", &id, "sign_in", json!({"user": actor.name, "method": method}))]);
        self.commit(tx).await?;
        let info = SessionInfo { id, actor, csrf: session.csrf, expires_at: session.expires_at };
        Ok(SignedIn { secret, session: info })
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
        let user: Stored<User> =
            self.find(&s.value.user).await?.ok_or_else(|| ServiceError::Unauthenticated(SESSION_ENDED.into()))?;
        if !user.value.active {
            return Err(ServiceError::Unauthenticated(format!("user {} is disabled", user.value.name)));
        }
        let actor = Actor { name: user.value.name, roles: user.value.roles };
        Ok(SessionInfo { id: s.value.id, actor, csrf: s.value.csrf, expires_at: s.value.expires_at })
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
