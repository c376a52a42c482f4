//! Public keys as JWKs (RFC 7517, EC keys of RFC 7518) and the JWKS a verifier publishes at
//! `/.well-known/jwks.json`; key ids are RFC 7638 thumbprints.

use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::error::Error;
use crate::key::Algorithm;

/// An EC public key as a JWK.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// `EC`.
    pub kty: String,
    /// `P-256` or `P-384`.
    pub crv: String,
    /// x, base64url.
    pub x: String,
    /// y, base64url.
    pub y: String,
    /// The key id.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub kid: Option<String>,
    /// `ES256` or `ES384`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub alg: Option<String>,
    /// `sig`.
    #[serde(rename = "use", skip_serializing_if = "Option::is_none", default)]
    pub use_: Option<String>,
    /// The operations the key is for (`verify` for a signature key), when the issuer says.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub key_ops: Option<Vec<String>>,
}

impl Jwk {
    /// The JWK of an EC public key (x and y big-endian) for `algorithm`.
    pub(crate) fn ec(algorithm: Algorithm, x: &[u8], y: &[u8]) -> Self {
        Self {
            kty: "EC".into(),
            crv: algorithm.curve().into(),
            x: crate::jws::b64(x),
            y: crate::jws::b64(y),
            kid: None,
            alg: Some(algorithm.name().into()),
            use_: Some("sig".into()),
            key_ops: None,
        }
    }

    /// The RFC 7638 thumbprint: base64url(SHA-256) of `{"crv","kty","x","y"}` in that order,
    /// without whitespace.
    pub fn thumbprint(&self) -> String {
        let canonical = format!(
            r#"{{"crv":{},"kty":{},"x":{},"y":{}}}"#,
            json_string(&self.crv),
            json_string(&self.kty),
            json_string(&self.x),
            json_string(&self.y)
        );
        crate::jws::b64(&sha2::Sha256::digest(canonical.as_bytes()))
    }

    /// The uncompressed SEC1 point of this key for `algorithm`: the curve must be the
    /// algorithm's and each coordinate exactly its length.
    pub(crate) fn sec1_point(&self, algorithm: Algorithm) -> Result<Vec<u8>, Error> {
        if self.kty != "EC" || self.crv != algorithm.curve() {
            return Err(Error::invalid(
                "JWK curve",
                format!("EC {} for {}", algorithm.curve(), algorithm.name()),
                format!("{} {}", self.kty, self.crv),
            ));
        }
        let mut point = vec![0x04];
        for (name, text) in [("x", &self.x), ("y", &self.y)] {
            let bytes = crate::jws::unb64(text)
                .map_err(|e| Error::malformed("JWK coordinate", format!("{name}: {e}")))?;
            if bytes.len() != algorithm.coordinate_len() {
                return Err(Error::malformed(
                    "JWK coordinate",
                    format!(
                        "{name} is {} bytes, expected {}",
                        bytes.len(),
                        algorithm.coordinate_len()
                    ),
                ));
            }
            point.extend_from_slice(&bytes);
        }
        Ok(point)
    }
}

fn json_string(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

/// A JWK set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

impl Jwks {
    /// Reads a JWKS document (`{"keys": [...]}`). Keys this crate cannot use (other types,
    /// missing members) are skipped, as RFC 7517 section 5 asks, so that one such key in an
    /// issuer's set does not stop the others from verifying.
    pub fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        #[derive(Deserialize)]
        struct Raw {
            keys: Vec<serde_json::Value>,
        }
        let raw: Raw = serde_json::from_slice(bytes)
            .map_err(|e| Error::malformed("JWKS", format!("not a JWKS document: {e}")))?;
        let keys = raw
            .keys
            .into_iter()
            .filter(|key| key.get("kty").and_then(serde_json::Value::as_str) == Some("EC"))
            .filter_map(|key| serde_json::from_value(key).ok())
            .collect();
        Ok(Self { keys })
    }

    /// The key with this id.
    pub fn find(&self, kid: &str) -> Option<&Jwk> {
        self.keys.iter().find(|key| key.kid.as_deref() == Some(kid))
    }

    /// The key with this id that may verify `algorithm`'s signatures: the algorithm's curve,
    /// its `alg` (when given) the algorithm, its `use` (when given) `sig`, and its `key_ops`
    /// (when given) including `verify`.
    pub fn find_for_signature(&self, kid: &str, algorithm: Algorithm) -> Option<&Jwk> {
        self.keys.iter().find(|key| {
            key.kid.as_deref() == Some(kid)
                && key.kty == "EC"
                && key.crv == algorithm.curve()
                && key.alg.as_deref().is_none_or(|alg| alg == algorithm.name())
                && key.use_.as_deref().is_none_or(|use_| use_ == "sig")
                && key
                    .key_ops
                    .as_ref()
                    .is_none_or(|ops| ops.iter().any(|op| op == "verify"))
        })
    }
}
