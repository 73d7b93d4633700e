//! Password hashing, bounded: argon2 needs 19 MiB of memory per hash, so at most a few hashes run at once
//! (a semaphore), each in a work area allocated once and kept for the next hash.
//!
//! Why kept rather than allocated per hash: argon2's own `hash_password` allocates the 19 MiB and frees
//! it after each hash, and the allocator keeps freed blocks of that size in the arena of the thread
//! that used them. On tokio's blocking pool (hundreds of threads) that was a few GB retained after a
//! burst of wrong sign-ins. Here memory is `slots` × 19 MiB at most, whatever the load, and a burst
//! waits in line (holding only its request) instead.
//!
//! The hashes are standard PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`), the same as before.

use std::sync::{Mutex, OnceLock};

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::{ServiceError, ServiceResult};

/// The largest work area a stored hash may ask for (64 MiB); ours ask for 19 MiB.
const MAX_BLOCKS: usize = 64 * 1024;

/// The hashing slots and their work areas.
pub(crate) struct Passwords {
    slots: Semaphore,
    areas: Mutex<Vec<Vec<Block>>>,
}

/// The right to hash one password now.
pub(crate) struct Slot<'a> {
    _permit: SemaphorePermit<'a>,
    passwords: &'a Passwords,
}

impl Passwords {
    pub fn new(slots: usize) -> Self {
        Passwords { slots: Semaphore::new(slots.max(1)), areas: Mutex::new(Vec::new()) }
    }

    /// Waits for a free slot.
    pub async fn slot(&self) -> ServiceResult<Slot<'_>> {
        let permit = self
            .slots
            .acquire()
            .await
            .map_err(|e| ServiceError::Internal(format!("password hashing is closed: {e}")))?;
        Ok(Slot { _permit: permit, passwords: self })
    }

    fn take_area(&self) -> Vec<Block> {
        self.areas.lock().map(|mut a| a.pop()).ok().flatten().unwrap_or_default()
    }

    fn give_back(&self, area: Vec<Block>) {
        if let Ok(mut a) = self.areas.lock() {
            a.push(area);
        }
    }
}

impl Slot<'_> {
    /// Runs `work` with a work area, off the async workers (argon2 takes tens of milliseconds of CPU).
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> ServiceResult<T> {
        let mut area = self.passwords.take_area();
        let (out, area) = tokio::task::spawn_blocking(move || {
            let out = work(&mut area);
            (out, area)
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("password hashing did not finish: {e}")))?;
        self.passwords.give_back(area);
        Ok(out)
    }

    /// The argon2id hash (PHC string) of a new password, with a fresh salt.
    pub async fn hash(&self, password: String) -> ServiceResult<String> {
        self.run(move |area| hash_in(area, password.as_bytes())).await?
    }

    /// Whether `password` matches the stored hash. Without a hash (an unknown user, or one without a
    /// password), a decoy hash is checked, so that the answer takes as long as for a wrong password.
    pub async fn verify(&self, password: String, phc: Option<String>) -> ServiceResult<bool> {
        self.run(move |area| match phc {
            Some(phc) => verify_in(area, password.as_bytes(), &phc),
            None => {
                let decoy = decoy(area);
                let _ = verify_in(area, password.as_bytes(), decoy);
                false
            }
        })
        .await
    }
}

fn internal(what: &str) -> impl Fn(argon2::password_hash::Error) -> ServiceError + '_ {
    move |e| ServiceError::Internal(format!("{what}: {e}"))
}

fn fit(area: &mut Vec<Block>, blocks: usize) {
    if area.len() < blocks {
        area.resize(blocks, Block::default());
    }
}

fn hash_in(area: &mut Vec<Block>, password: &[u8]) -> ServiceResult<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| ServiceError::Internal(format!("no randomness for a salt: {e}")))?;
    let params = Params::default();
    fit(area, params.block_count());
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password, &salt, &mut out, &mut area[..])
        .map_err(|e| ServiceError::Internal(format!("cannot hash a password: {e}")))?;
    let salt = SaltString::encode_b64(&salt).map_err(internal("salt"))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(internal("parameters"))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(internal("output"))?),
    };
    Ok(phc.to_string())
}

fn verify_in(area: &mut Vec<Block>, password: &[u8], phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else { return false };
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else { return false };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm) else { return false };
    let version = hash.version.map(Version::try_from).unwrap_or(Ok(Version::V0x13));
    let (Ok(version), Ok(params)) = (version, Params::try_from(&hash)) else { return false };
    if params.block_count() > MAX_BLOCKS {
        tracing::warn!(blocks = params.block_count(), "a stored password hash asks for more memory than allowed");
        return false;
    }
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else { return false };
    fit(area, params.block_count());
    let mut out = vec![0u8; expected.len()];
    if Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, &mut out, &mut area[..])
        .is_err()
    {
        return false;
    }
    crate::sessions::same_bytes(&out, expected.as_bytes())
}

/// A hash of a password nobody has, made once.
fn decoy(area: &mut Vec<Block>) -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_in(area, b"railyard-decoy-password").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only_and_reads_hashes_made_by_argon2_itself() {
        use argon2::password_hash::PasswordHasher;
        let p = Passwords::new(1);
        let slot = p.slot().await.unwrap();
        let phc = slot.hash("correct horse battery staple".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(slot.verify("correct horse battery staple".into(), Some(phc.clone())).await.unwrap());
        assert!(!slot.verify("correct horse battery stapler".into(), Some(phc)).await.unwrap());
        assert!(!slot.verify("anything".into(), None).await.unwrap());
        // A hash made the way earlier versions made them (argon2's own hasher) still verifies.
        let salt = SaltString::encode_b64(&[7u8; 16]).unwrap();
        let old = Argon2::default().hash_password(b"an older password", &salt).unwrap().to_string();
        assert!(slot.verify("an older password".into(), Some(old)).await.unwrap());
        assert!(!slot.verify("x".into(), Some("not a hash".into())).await.unwrap());
    }
}
