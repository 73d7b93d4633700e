//! The key secrets are encrypted with, and the encryption itself.
//!
//! # Choices
//!
//! - Cipher: XChaCha20-Poly1305 (the `chacha20poly1305` crate, RustCrypto), an authenticated cipher
//!   whose 24-byte nonces can be drawn at random for every encryption without a counter to keep.
//! - Associated data: `scope/name/generation` ([`railyard_domain::secret::associated_data`]), so a
//!   ciphertext copied onto another secret, or an older value put back, does not decrypt.
//! - The key file holds 32 random bytes as 64 hex digits and a newline. It is created with mode `0600`
//!   and refused, like ssh refuses a private key, when group or others may read it.
//! - Each sealed value records the key's fingerprint (the first 16 hex digits of its SHA-256), so that
//!   a wrong key gives an error naming both fingerprints rather than "decryption failed".
//!
//! Nothing here ever puts a value or the key in an error message, a log line or a `Debug` output.

use std::fmt;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use railyard_domain::{Sealed, SecretValue};
use sha2::{Digest, Sha256};

/// Why a key could not be read or made, or a value not sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum SecretKeyError {
    #[error("the secret key file {0} does not exist")]
    Missing(PathBuf),
    #[error("could not read the secret key file {path}: {error}")]
    Unreadable { path: PathBuf, error: std::io::Error },
    #[error("could not create the secret key file {path}: {error}")]
    Create { path: PathBuf, error: std::io::Error },
    #[error(
        "the secret key file {path} may be read by group or others (mode {mode:03o}); make it readable by its owner \
         only: chmod 600 {path}"
    )]
    TooOpen { path: PathBuf, mode: u32 },
    #[error("the secret key file {0} does not hold a key: it must hold 64 hex digits (32 bytes)")]
    Malformed(PathBuf),
    #[error("secret {secret} was encrypted with key fingerprint {stored}; the key in {path} has fingerprint {current}")]
    WrongKey { secret: String, stored: String, current: String, path: PathBuf },
    #[error("secret {0} does not decrypt: its stored form was altered or belongs to another secret")]
    Tampered(String),
    #[error("could not draw random bytes: {0}")]
    Random(String),
}

/// A key for secrets, with where it came from. Its `Debug` shows only the path and fingerprint.
#[derive(Clone)]
pub struct SecretKey {
    key: [u8; 32],
    fingerprint: String,
    path: PathBuf,
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({}, fingerprint {})", self.path.display(), self.fingerprint)
    }
}

fn random<const N: usize>() -> Result<[u8; N], SecretKeyError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| SecretKeyError::Random(e.to_string()))?;
    Ok(bytes)
}

impl SecretKey {
    /// The key in `path`. When the file is absent and `create` is true, a new random key is written
    /// there (mode `0600`, never over an existing file); when absent otherwise, [`SecretKeyError::Missing`].
    pub fn load_or_create(path: &Path, create: bool) -> Result<SecretKey, SecretKeyError> {
        if !path.exists() {
            if !create {
                return Err(SecretKeyError::Missing(path.to_path_buf()));
            }
            let key = random::<32>()?;
            let created = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path);
            let mut file = created.map_err(|error| SecretKeyError::Create { path: path.to_path_buf(), error })?;
            let written = file.write_all(format!("{}\n", hex::encode(key)).as_bytes()).and_then(|()| file.sync_all());
            written.map_err(|error| SecretKeyError::Create { path: path.to_path_buf(), error })?;
            return Ok(SecretKey::from_bytes(key, path));
        }
        let unreadable = |error| SecretKeyError::Unreadable { path: path.to_path_buf(), error };
        let mode = std::fs::metadata(path).map_err(unreadable)?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(SecretKeyError::TooOpen { path: path.to_path_buf(), mode: mode & 0o777 });
        }
        let text = std::fs::read_to_string(path).map_err(unreadable)?;
        let mut key = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut key).map_err(|_| SecretKeyError::Malformed(path.to_path_buf()))?;
        Ok(SecretKey::from_bytes(key, path))
    }

    fn from_bytes(key: [u8; 32], path: &Path) -> SecretKey {
        let fingerprint = hex::encode(Sha256::digest(key))[..16].to_string();
        SecretKey { key, fingerprint, path: path.to_path_buf() }
    }

    /// The first 16 hex digits of the SHA-256 of the key.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The file it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.key.into())
    }

    /// `value` encrypted under a fresh random nonce, bound to `associated`.
    pub fn seal(&self, value: &SecretValue, associated: &str) -> Result<Sealed, SecretKeyError> {
        let nonce = random::<24>()?;
        let payload = Payload { msg: value.expose().as_bytes(), aad: associated.as_bytes() };
        let ciphertext = self
            .cipher()
            .encrypt(&XNonce::from(nonce), payload)
            .map_err(|_| SecretKeyError::Random("the cipher refused to encrypt".into()))?;
        Ok(Sealed {
            key_fingerprint: self.fingerprint.clone(),
            nonce: hex::encode(nonce),
            ciphertext: hex::encode(ciphertext),
        })
    }

    /// The value of secret `name` (for messages) sealed as `sealed`, bound to `associated`.
    pub fn open(&self, name: &str, sealed: &Sealed, associated: &str) -> Result<SecretValue, SecretKeyError> {
        if sealed.key_fingerprint != self.fingerprint {
            return Err(SecretKeyError::WrongKey {
                secret: name.to_string(),
                stored: sealed.key_fingerprint.clone(),
                current: self.fingerprint.clone(),
                path: self.path.clone(),
            });
        }
        let tampered = || SecretKeyError::Tampered(name.to_string());
        let mut nonce = [0u8; 24];
        hex::decode_to_slice(&sealed.nonce, &mut nonce).map_err(|_| tampered())?;
        let ciphertext = hex::decode(&sealed.ciphertext).map_err(|_| tampered())?;
        let payload = Payload { msg: &ciphertext, aad: associated.as_bytes() };
        let plain = self.cipher().decrypt(&XNonce::from(nonce), payload).map_err(|_| tampered())?;
        String::from_utf8(plain).map(SecretValue::new).map_err(|_| tampered())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_in(dir: &tempfile::TempDir) -> SecretKey {
        SecretKey::load_or_create(&dir.path().join("key"), true).expect("created")
    }

    #[test]
    fn a_value_round_trips_and_nothing_else_decrypts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = key_in(&dir);
        let value = SecretValue::new("hunter22");
        let sealed = key.seal(&value, "global/TOKEN/1").expect("sealed");
        assert!(!sealed.ciphertext.contains(&hex::encode("hunter22")));
        assert_eq!(key.open("TOKEN", &sealed, "global/TOKEN/1").expect("opens"), value);
        // Another secret's associated data, or another generation: refused.
        for aad in ["global/OTHER/1", "global/TOKEN/2"] {
            let e = key.open("TOKEN", &sealed, aad).expect_err(aad);
            assert!(matches!(e, SecretKeyError::Tampered(_)), "{e}");
        }
        // One flipped bit of the ciphertext: refused.
        let mut bytes = hex::decode(&sealed.ciphertext).expect("hex");
        bytes[0] ^= 1;
        let tampered = Sealed { ciphertext: hex::encode(bytes), ..sealed.clone() };
        let e = key.open("TOKEN", &tampered, "global/TOKEN/1").expect_err("tampered").to_string();
        assert!(e.contains("does not decrypt") && !e.contains("hunter22"), "{e}");
        // Two seals of one value differ (random nonces).
        assert_ne!(key.seal(&value, "global/TOKEN/1").expect("sealed").ciphertext, sealed.ciphertext);
    }

    #[test]
    fn a_wrong_key_is_named_by_fingerprint() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = key_in(&dir);
        let other = SecretKey::load_or_create(&dir.path().join("other"), true).expect("created");
        let sealed = key.seal(&SecretValue::new("hunter22"), "global/TOKEN/1").expect("sealed");
        let e = other.open("TOKEN", &sealed, "global/TOKEN/1").expect_err("wrong key").to_string();
        assert!(e.contains(key.fingerprint()) && e.contains(other.fingerprint()), "{e}");
        assert!(e.contains("secret TOKEN") && e.contains("other"), "{e}");
    }

    #[test]
    fn the_key_file_is_created_0600_and_read_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db.secret-key");
        let e = SecretKey::load_or_create(&path, false).expect_err("absent");
        assert!(matches!(e, SecretKeyError::Missing(_)), "{e}");
        let key = SecretKey::load_or_create(&path, true).expect("created");
        let mode = std::fs::metadata(&path).expect("exists").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(std::fs::read_to_string(&path).expect("read").trim().len(), 64);
        let again = SecretKey::load_or_create(&path, true).expect("read back");
        assert_eq!(again.fingerprint(), key.fingerprint());
        assert!(!format!("{key:?}").contains(&hex::encode(key.key)));
    }

    #[test]
    fn a_key_file_others_may_read_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("key");
        SecretKey::load_or_create(&path, true).expect("created");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        let e = SecretKey::load_or_create(&path, true).expect_err("too open").to_string();
        assert!(e.contains("chmod 600") && e.contains("640"), "{e}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        std::fs::write(&path, "not a key\n").expect("write");
        let e = SecretKey::load_or_create(&path, true).expect_err("malformed").to_string();
        assert!(e.contains("64 hex digits"), "{e}");
    }
}
