//! Signing keys: ES256 (P-256, SHA-256) and ES384 (P-384, SHA-384), RFC 6979 signatures,
//! named by the RFC 7638 thumbprint of their public JWK (so every instance that holds one key
//! file gives it the same `kid`).

use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use serde_json::Value;

use crate::error::Error;
use crate::jwk::Jwk;

/// A JWS algorithm this crate signs and verifies with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// ECDSA P-256 with SHA-256.
    Es256,
    /// ECDSA P-384 with SHA-384.
    Es384,
}

impl Algorithm {
    /// The JOSE name: `ES256` or `ES384`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
        }
    }

    /// The algorithm of a JOSE name; `None` for every other (`none`, `HS256`, ...).
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Es256, Self::Es384]
            .into_iter()
            .find(|alg| alg.name() == name)
    }

    /// The JWK curve: `P-256` or `P-384`.
    pub fn curve(self) -> &'static str {
        match self {
            Self::Es256 => "P-256",
            Self::Es384 => "P-384",
        }
    }

    /// Bytes of one coordinate (and of r and of s).
    pub fn coordinate_len(self) -> usize {
        match self {
            Self::Es256 => 32,
            Self::Es384 => 48,
        }
    }
}

enum Inner {
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
}

/// A private signing key and its key id.
pub struct SigningKey {
    inner: Inner,
    kid: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.algorithm())
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A new key from the operating system's random generator.
    pub fn generate(algorithm: Algorithm) -> Result<Self, Error> {
        let mut scalar = vec![0u8; algorithm.coordinate_len()];
        // A random value is a valid scalar with overwhelming probability; try a few times.
        for _ in 0..8 {
            getrandom::fill(&mut scalar)
                .map_err(|e| Error::malformed("random generator", e.to_string()))?;
            let inner = match algorithm {
                Algorithm::Es256 => p256::ecdsa::SigningKey::from_slice(&scalar)
                    .ok()
                    .map(Inner::P256),
                Algorithm::Es384 => p384::ecdsa::SigningKey::from_slice(&scalar)
                    .ok()
                    .map(Inner::P384),
            };
            if let Some(inner) = inner {
                return Ok(Self::named(inner));
            }
        }
        Err(Error::malformed(
            "random generator",
            "no valid scalar in 8 draws",
        ))
    }

    /// A key from a PKCS#8 PEM file (`-----BEGIN PRIVATE KEY-----`) holding a P-256 or P-384
    /// EC key.
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        if let Ok(key) = p256::ecdsa::SigningKey::from_pkcs8_pem(pem) {
            return Ok(Self::named(Inner::P256(key)));
        }
        p384::ecdsa::SigningKey::from_pkcs8_pem(pem)
            .map(|key| Self::named(Inner::P384(key)))
            .map_err(|e| {
                Error::malformed(
                    "signing key",
                    format!("not a PKCS#8 PEM P-256 or P-384 private key ({e})"),
                )
            })
    }

    /// The key as PKCS#8 PEM (to share it between instances).
    pub fn to_pem(&self) -> Result<String, Error> {
        let pem = match &self.inner {
            Inner::P256(key) => key.to_pkcs8_pem(LineEnding::LF),
            Inner::P384(key) => key.to_pkcs8_pem(LineEnding::LF),
        };
        pem.map(|pem| pem.to_string())
            .map_err(|e| Error::malformed("signing key", e.to_string()))
    }

    fn named(inner: Inner) -> Self {
        let mut key = Self {
            inner,
            kid: String::new(),
        };
        key.kid = key.public_jwk().thumbprint();
        key
    }

    /// ES256 or ES384.
    pub fn algorithm(&self) -> Algorithm {
        match self.inner {
            Inner::P256(_) => Algorithm::Es256,
            Inner::P384(_) => Algorithm::Es384,
        }
    }

    /// The key id: the RFC 7638 thumbprint of the public JWK.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK (with `kid`, `alg` and `use`).
    pub fn public_jwk(&self) -> Jwk {
        let point = match &self.inner {
            Inner::P256(key) => key.verifying_key().to_sec1_point(false).as_bytes().to_vec(),
            Inner::P384(key) => key.verifying_key().to_sec1_point(false).as_bytes().to_vec(),
        };
        let algorithm = self.algorithm();
        let half = algorithm.coordinate_len();
        let coordinate = |range: std::ops::Range<usize>| point.get(range).unwrap_or_default();
        let mut jwk = Jwk::ec(
            algorithm,
            coordinate(1..1 + half),
            coordinate(1 + half..1 + 2 * half),
        );
        if !self.kid.is_empty() {
            jwk.kid = Some(self.kid.clone());
        }
        jwk
    }

    /// A compact JWS of `claims`: header `{"alg", "kid", "typ": "JWT"}`, the claims as given,
    /// and the (r, s) signature over the two.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_json(&claims.to_string())
    }

    /// [`SigningKey::sign`] of claims already written as a JSON object (`claims_json`, signed
    /// as given): a service that holds its claims as text spares a round trip through
    /// [`Value`].
    pub fn sign_json(&self, claims_json: &str) -> String {
        let header = serde_json::json!({
            "alg": self.algorithm().name(),
            "kid": self.kid,
            "typ": "JWT",
        });
        let input = format!(
            "{}.{}",
            crate::jws::b64(header.to_string().as_bytes()),
            crate::jws::b64(claims_json.as_bytes())
        );
        let signature = match &self.inner {
            Inner::P256(key) => {
                let signature: p256::ecdsa::Signature =
                    p256::ecdsa::signature::Signer::sign(key, input.as_bytes());
                signature.to_bytes().to_vec()
            }
            Inner::P384(key) => {
                let signature: p384::ecdsa::Signature =
                    p384::ecdsa::signature::Signer::sign(key, input.as_bytes());
                signature.to_bytes().to_vec()
            }
        };
        format!("{input}.{}", crate::jws::b64(&signature))
    }
}
