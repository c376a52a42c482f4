//! The runtime claims: the JSON document whose hash the hardware report carries.
//!
//! The document is open: unknown keys are allowed and optional keys may be missing. Strings
//! borrow from the report where they contain no escapes.

use alloc::borrow::Cow;
use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::{Deserialize, Deserializer};

use crate::error::{Error, Result};

/// Key id of the vTPM attestation key.
pub const AK_KID: &str = "HCLAkPub";
/// Key id of the vTPM endorsement key.
pub const EK_KID: &str = "HCLEkPub";

/// base64url that accepts padded and unpadded input alike (paravisors and tools differ), and
/// writes unpadded.
pub const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The runtime claims of an HCL report.
#[derive(Debug, Clone, Deserialize)]
pub struct RuntimeClaims<'a> {
    #[serde(borrow, default)]
    keys: Vec<Jwk<'a>>,
    /// The VM configuration the paravisor reports.
    #[serde(rename = "vm-configuration", borrow, default)]
    pub vm_configuration: Option<VmConfiguration<'a>>,
    /// The 64 bytes of NV index 0x01400002 when the report was made (absent in 2023 reports).
    #[serde(rename = "user-data", default, deserialize_with = "user_data")]
    pub user_data: Option<[u8; 64]>,
}

impl<'a> RuntimeClaims<'a> {
    /// Parses the claims JSON, borrowing strings from `bytes`.
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        serde_json::from_slice(bytes).map_err(|e| Error::InvalidClaims {
            reason: e.to_string(),
        })
    }

    /// All keys, in document order.
    pub fn keys(&self) -> &[Jwk<'a>] {
        &self.keys
    }

    /// The one key with this `kid`: absent and repeated ids are errors.
    pub fn key(&self, kid: &'static str) -> Result<&Jwk<'a>> {
        let mut matching = self.keys.iter().filter(|key| key.kid == kid);
        let first = matching.next().ok_or(Error::MissingKey { kid })?;
        let others = matching.count();
        if others > 0 {
            return Err(Error::DuplicateKey {
                kid,
                count: others + 1,
            });
        }
        Ok(first)
    }

    /// The vTPM attestation key (`kid` "HCLAkPub").
    pub fn attestation_key(&self) -> Result<&Jwk<'a>> {
        self.key(AK_KID)
    }

    /// The vTPM endorsement key (`kid` "HCLEkPub"), absent in 2023-format claims.
    pub fn endorsement_key(&self) -> Result<Option<&Jwk<'a>>> {
        match self.key(EK_KID) {
            Ok(key) => Ok(Some(key)),
            Err(Error::MissingKey { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// An RSA JSON Web Key from the claims.
#[derive(Debug, Clone, Deserialize)]
pub struct Jwk<'a> {
    #[serde(borrow)]
    kid: Cow<'a, str>,
    #[serde(borrow, default)]
    key_ops: Vec<Cow<'a, str>>,
    #[serde(borrow)]
    kty: Cow<'a, str>,
    #[serde(borrow)]
    e: Cow<'a, str>,
    #[serde(borrow)]
    n: Cow<'a, str>,
}

/// The public numbers of an RSA key, big-endian, exactly as the JWK encodes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsaPublicNumbers {
    /// The modulus.
    pub modulus: Vec<u8>,
    /// The public exponent.
    pub exponent: Vec<u8>,
}

impl Jwk<'_> {
    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The key operations (varies between HCL versions: do not rely on it).
    pub fn key_ops(&self) -> impl Iterator<Item = &str> {
        self.key_ops.iter().map(|op| op.as_ref())
    }

    /// The key type ("RSA" for every key the paravisor publishes).
    pub fn kty(&self) -> &str {
        &self.kty
    }

    /// The modulus `n` as base64url text, as stored.
    pub fn modulus_base64url(&self) -> &str {
        &self.n
    }

    /// Decodes modulus and exponent; the key type must be RSA and neither number empty.
    pub fn rsa_public_numbers(&self) -> Result<RsaPublicNumbers> {
        if self.kty != "RSA" {
            return Err(self.invalid("key type is not RSA"));
        }
        let modulus = BASE64URL
            .decode(self.n.as_bytes())
            .map_err(|_| self.invalid("modulus n is not base64url"))?;
        let exponent = BASE64URL
            .decode(self.e.as_bytes())
            .map_err(|_| self.invalid("exponent e is not base64url"))?;
        if modulus.is_empty() || exponent.is_empty() {
            return Err(self.invalid("modulus or exponent is empty"));
        }
        Ok(RsaPublicNumbers { modulus, exponent })
    }

    fn invalid(&self, reason: &'static str) -> Error {
        Error::InvalidKey {
            kid: self.kid.to_string(),
            reason,
        }
    }
}

/// The `vm-configuration` claims: known fields typed, every other field kept.
#[derive(Debug, Clone, Deserialize)]
pub struct VmConfiguration<'a> {
    /// Serial console enabled.
    #[serde(rename = "console-enabled", default)]
    pub console_enabled: Option<bool>,
    /// UEFI secure boot enabled.
    #[serde(rename = "secure-boot", default)]
    pub secure_boot: Option<bool>,
    /// vTPM enabled.
    #[serde(rename = "tpm-enabled", default)]
    pub tpm_enabled: Option<bool>,
    /// vTPM state persisted across boots.
    #[serde(rename = "tpm-persisted", default)]
    pub tpm_persisted: Option<bool>,
    /// The VM's unique id (a GUID string).
    #[serde(rename = "vmUniqueId", borrow, default)]
    pub vm_unique_id: Option<Cow<'a, str>>,
    /// Paravisor time when the report was made (Unix seconds; 2023-format claims only).
    #[serde(rename = "current-time", default)]
    pub current_time: Option<u64>,
    /// Thumbprint of the root certificate the paravisor trusts.
    #[serde(rename = "root-cert-thumbprint", borrow, default)]
    pub root_cert_thumbprint: Option<Cow<'a, str>>,
    /// Fields newer paravisors add, kept as JSON values.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

fn user_data<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<[u8; 64]>, D::Error> {
    let text = Cow::<str>::deserialize(deserializer)?;
    let mut bytes = [0u8; 64];
    hex::decode_to_slice(text.as_bytes(), &mut bytes).map_err(|_| {
        serde::de::Error::custom(alloc::format!(
            "user-data must be 128 hex digits (64 bytes), found {} characters",
            text.len()
        ))
    })?;
    Ok(Some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLAIMS: &str = r#"{"keys":[{"kid":"HCLAkPub","key_ops":["sign"],"kty":"RSA","e":"AQAB","n":"AAEC"}],
        "vm-configuration":{"secure-boot":true,"new-thing":[1,2]},"user-data":"Ab000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000","extra":1}"#;

    #[test]
    fn parses_known_and_keeps_unknown() {
        let claims = RuntimeClaims::parse(CLAIMS.as_bytes()).unwrap();
        let ak = claims.attestation_key().unwrap();
        let numbers = ak.rsa_public_numbers().unwrap();
        assert_eq!(numbers.modulus, [0, 1, 2]);
        assert_eq!(numbers.exponent, [1, 0, 1]);
        assert_eq!(claims.endorsement_key().unwrap().map(|k| k.kid()), None);
        let config = claims.vm_configuration.as_ref().unwrap();
        assert_eq!(config.secure_boot, Some(true));
        assert_eq!(config.tpm_enabled, None);
        assert!(config.other.contains_key("new-thing"));
        assert_eq!(claims.user_data.unwrap()[0], 0xAB);
    }

    #[test]
    fn refuses_ambiguity_and_malformed_values() {
        let twice = r#"{"keys":[{"kid":"HCLAkPub","kty":"RSA","e":"AQAB","n":"AQ"},{"kid":"HCLAkPub","kty":"RSA","e":"AQAB","n":"Ag"}]}"#;
        let claims = RuntimeClaims::parse(twice.as_bytes()).unwrap();
        assert_eq!(
            claims.attestation_key().unwrap_err(),
            Error::DuplicateKey {
                kid: AK_KID,
                count: 2
            }
        );
        let dup_field = r#"{"keys":[],"keys":[]}"#;
        assert!(matches!(
            RuntimeClaims::parse(dup_field.as_bytes()),
            Err(Error::InvalidClaims { .. })
        ));
        let short = r#"{"user-data":"00"}"#;
        assert!(matches!(
            RuntimeClaims::parse(short.as_bytes()),
            Err(Error::InvalidClaims { .. })
        ));
        let ec = r#"{"keys":[{"kid":"HCLAkPub","kty":"EC","e":"AQAB","n":"AQ"}]}"#;
        let claims = RuntimeClaims::parse(ec.as_bytes()).unwrap();
        assert!(matches!(
            claims.attestation_key().unwrap().rsa_public_numbers(),
            Err(Error::InvalidKey { .. })
        ));
        assert!(matches!(
            RuntimeClaims::parse(b"{}").unwrap().attestation_key(),
            Err(Error::MissingKey { kid: AK_KID })
        ));
        assert!(RuntimeClaims::parse(b"\xff").is_err());
    }

    #[test]
    fn padded_and_unpadded_base64url() {
        assert_eq!(BASE64URL.decode("AQAB").unwrap(), [1, 0, 1]);
        assert_eq!(BASE64URL.decode("AQ==").unwrap(), [1]);
        assert_eq!(BASE64URL.decode("AQ").unwrap(), [1]);
        assert!(BASE64URL.decode("A+/=").is_err());
    }
}
