//! Secrets at rest: AES-256-GCM with a random nonce per value, bound to its owner (the
//! `clientKey`) as associated data so a ciphertext copied onto another row does not decrypt.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::RngCore;
use std::path::Path;

const VERSION: &str = "v1:";

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("the encryption key must be 32 bytes of base64: {0}")]
    BadKey(String),
    #[error("could not read or create the key file {path}: {source}")]
    KeyFile {
        path: String,
        source: std::io::Error,
    },
    #[error("a stored secret could not be decrypted (wrong encryption key?)")]
    Decrypt,
}

/// A secret held in memory. Its `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Secret(bytes.into())
    }
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
    /// For [`SecretBox::derive`]: HMAC-SHA256 of the key, so derived values never reveal it.
    derive_key: [u8; 32],
}

impl SecretBox {
    pub fn from_base64(key: &str) -> Result<Self, CryptoError> {
        let bytes = STANDARD
            .decode(key.trim())
            .map_err(|e| CryptoError::BadKey(e.to_string()))?;
        if bytes.len() != 32 {
            return Err(CryptoError::BadKey(format!("got {} bytes", bytes.len())));
        }
        let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(&bytes)
            .expect("HMAC takes any key length");
        hmac::Mac::update(&mut mac, b"exalate derive v1");
        Ok(SecretBox {
            cipher: Aes256Gcm::new_from_slice(&bytes).expect("32-byte key"),
            derive_key: hmac::Mac::finalize(mac).into_bytes().into(),
        })
    }

    /// The configured key, or the one kept in `key_file` (created with a fresh random key, mode
    /// 0600, when missing).
    pub fn from_settings(key: &str, key_file: &str) -> Result<Self, CryptoError> {
        if !key.trim().is_empty() {
            return Self::from_base64(key);
        }
        let path = Path::new(key_file);
        let io = |source| CryptoError::KeyFile {
            path: key_file.to_owned(),
            source,
        };
        if !path.exists() {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(io)?;
            }
            let mut k = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut k);
            write_private(path, STANDARD.encode(k).as_bytes()).map_err(io)?;
        }
        Self::from_base64(&std::fs::read_to_string(path).map_err(io)?)
    }

    /// A value only this node (every replica, with the same key) can compute from `input`, the
    /// same on every call: e.g. the proof an acceptor sends with an invitation code.
    pub fn derive(&self, input: &[u8]) -> [u8; 32] {
        let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(&self.derive_key)
            .expect("HMAC takes any key length");
        hmac::Mac::update(&mut mac, input);
        hmac::Mac::finalize(mac).into_bytes().into()
    }

    pub fn encrypt(&self, owner: &str, plaintext: &[u8]) -> String {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: owner.as_bytes(),
                },
            )
            .expect("AES-GCM encryption does not fail for in-memory buffers");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        format!("{VERSION}{}", STANDARD.encode(out))
    }

    pub fn decrypt(&self, owner: &str, stored: &str) -> Result<Secret, CryptoError> {
        let b64 = stored.strip_prefix(VERSION).ok_or(CryptoError::Decrypt)?;
        let raw = STANDARD.decode(b64).map_err(|_| CryptoError::Decrypt)?;
        if raw.len() < 12 + 16 {
            return Err(CryptoError::Decrypt);
        }
        let (nonce, ct) = raw.split_at(12);
        self.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: owner.as_bytes(),
                },
            )
            .map(Secret)
            .map_err(|_| CryptoError::Decrypt)
    }
}

#[cfg(unix)]
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(data)
}

#[cfg(not(unix))]
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sb() -> SecretBox {
        SecretBox::from_base64(&STANDARD.encode([7u8; 32])).unwrap()
    }

    #[test]
    fn round_trip_and_binding() {
        let b = sb();
        let enc = b.encrypt("tenant-a", b"top secret");
        assert!(!enc.contains("top secret"));
        assert_eq!(b.decrypt("tenant-a", &enc).unwrap().expose(), b"top secret");
        assert!(b.decrypt("tenant-b", &enc).is_err(), "bound to its owner");
        let other = SecretBox::from_base64(&STANDARD.encode([8u8; 32])).unwrap();
        assert!(other.decrypt("tenant-a", &enc).is_err(), "wrong key fails");
        assert_ne!(enc, b.encrypt("tenant-a", b"top secret"), "fresh nonce");
        assert_eq!(format!("{:?}", Secret::new("x")), "Secret(<redacted>)");
    }

    #[test]
    fn bad_keys_are_refused() {
        assert!(SecretBox::from_base64("short").is_err());
        assert!(SecretBox::from_base64(&STANDARD.encode([1u8; 16])).is_err());
    }
}
