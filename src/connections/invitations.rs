//! Invitation codes: `exa1.<node URL, base64url>.<32 random bytes, base64url>`. The node URL says
//! which Exalate node to ask; only the SHA-256 of the random part is stored, so a database leak
//! gives away no usable code.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

const PREFIX: &str = "exa1";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationCode {
    pub node_url: String,
    pub secret: String,
}

impl InvitationCode {
    pub fn generate(node_url: &str) -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        InvitationCode {
            node_url: node_url.trim_end_matches('/').to_owned(),
            secret: URL_SAFE_NO_PAD.encode(bytes),
        }
    }

    pub fn encode(&self) -> String {
        format!(
            "{PREFIX}.{}.{}",
            URL_SAFE_NO_PAD.encode(self.node_url.as_bytes()),
            self.secret
        )
    }

    /// Parses a pasted code (surrounding whitespace and line breaks are ignored).
    pub fn parse(raw: &str) -> Option<Self> {
        let cleaned: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
        if cleaned.len() > 4096 {
            return None;
        }
        let mut parts = cleaned.split('.');
        let (prefix, node, secret) = (parts.next()?, parts.next()?, parts.next()?);
        if prefix != PREFIX || parts.next().is_some() {
            return None;
        }
        let node_url = String::from_utf8(URL_SAFE_NO_PAD.decode(node).ok()?).ok()?;
        let secret_bytes = URL_SAFE_NO_PAD.decode(secret).ok()?;
        if secret_bytes.len() != 32 {
            return None;
        }
        Some(InvitationCode {
            node_url,
            secret: secret.to_owned(),
        })
    }

    pub fn hash(&self) -> String {
        hash_secret(&self.secret)
    }
}

pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_garbage() {
        let c = InvitationCode::generate("https://node.example.com/");
        let text = c.encode();
        assert_eq!(
            InvitationCode::parse(&format!("  {text}\n")),
            Some(c.clone())
        );
        assert_eq!(c.node_url, "https://node.example.com");
        assert_ne!(c.hash(), c.secret);
        assert_ne!(
            InvitationCode::generate("x").secret,
            InvitationCode::generate("x").secret
        );
        for bad in [
            "",
            "exa1",
            "exa1.x.y",
            "exa2.aGk.AAAA",
            &format!("{text}.x"),
            "exa1.!!.AAAA",
        ] {
            assert!(InvitationCode::parse(bad).is_none(), "{bad}");
        }
    }
}
