//! The AMD extensions of a VCEK or VLEK (OID arc 1.3.6.1.4.1.3704.1), decoded strictly.
//!
//! The OIDs: VCEK Certificate and KDS Interface Specification (AMD pub. 57230), rev. 0.51,
//! Table 8 (structVersion to hwID); `fmcSPL` is Turin's, `cspId` the VLEK's (VLEK Certificate
//! Definition, AMD pub. 58369).
//!
//! Each value sits inside the extension's OCTET STRING: SPLs and the struct version as a DER
//! INTEGER, the product name and CSP id as an IA5String, the hwID as raw bytes with no tag.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use der::asn1::ObjectIdentifier;
use hcl_parse::{Generation, TcbComponents};

use crate::error::{CertRole, Error, Result};

/// An extension this module decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    StructVersion,
    ProductName,
    BlSpl,
    TeeSpl,
    SnpSpl,
    ReservedSpl,
    UcodeSpl,
    FmcSpl,
    HwId,
    CspId,
}

/// (OID, name, field) of every AMD extension (57230 rev. 0.51, Table 8, with fmcSPL and cspId).
const KNOWN: [(&str, &str, Field); 13] = [
    (
        "1.3.6.1.4.1.3704.1.1",
        "structVersion",
        Field::StructVersion,
    ),
    ("1.3.6.1.4.1.3704.1.2", "productName", Field::ProductName),
    ("1.3.6.1.4.1.3704.1.3.1", "blSPL", Field::BlSpl),
    ("1.3.6.1.4.1.3704.1.3.2", "teeSPL", Field::TeeSpl),
    ("1.3.6.1.4.1.3704.1.3.3", "snpSPL", Field::SnpSpl),
    ("1.3.6.1.4.1.3704.1.3.4", "spl4", Field::ReservedSpl),
    ("1.3.6.1.4.1.3704.1.3.5", "spl5", Field::ReservedSpl),
    ("1.3.6.1.4.1.3704.1.3.6", "spl6", Field::ReservedSpl),
    ("1.3.6.1.4.1.3704.1.3.7", "spl7", Field::ReservedSpl),
    ("1.3.6.1.4.1.3704.1.3.8", "ucodeSPL", Field::UcodeSpl),
    ("1.3.6.1.4.1.3704.1.3.9", "fmcSPL", Field::FmcSpl),
    ("1.3.6.1.4.1.3704.1.4", "hwID", Field::HwId),
    ("1.3.6.1.4.1.3704.1.5", "cspId", Field::CspId),
];

/// The decoded AMD extensions of a VCEK or VLEK.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AmdExtensions {
    /// structVersion (0 Milan/Genoa, 1 Turin), when present.
    pub struct_version: Option<u8>,
    /// productName as written ("Milan-B0", "Genoa", "Turin").
    pub product_name: String,
    /// The product the name denotes.
    pub generation: Generation,
    /// The SPLs the certificate was issued for (fmc on Turin).
    pub tcb: TcbComponents,
    /// hwID: the chip id (64 bytes Milan/Genoa, 8 Turin); VCEK only.
    #[serde(serialize_with = "hex_opt")]
    pub hw_id: Option<Vec<u8>>,
    /// cspId: the cloud provider a VLEK was issued to; VLEK only.
    pub csp_id: Option<String>,
}

fn hex_opt<S: serde::Serializer>(value: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(bytes) => s.collect_str(&hcl_parse::HexSlice(bytes)),
        None => s.serialize_none(),
    }
}

impl AmdExtensions {
    /// Decodes the AMD extensions of a VCEK or VLEK given as DER, checking nothing else.
    ///
    /// This exists for tools and fuzzing: it verifies no signature, name or validity, so its
    /// result says what a certificate claims, not that AMD issued it. Verification goes
    /// through [`VerifiedCaChain::verify_leaf`](crate::VerifiedCaChain::verify_leaf), which
    /// decodes the same extensions with the same code after the certificate checks.
    ///
    /// ```
    /// use snp_verify::{AmdExtensions, CertRole};
    ///
    /// assert!(AmdExtensions::from_certificate_der(CertRole::Vcek, b"\x30\x00").is_err());
    /// ```
    pub fn from_certificate_der(role: CertRole, der: &[u8]) -> Result<Self> {
        let cert = crate::cert::ParsedCert::parse(role, der)?;
        let extensions = cert
            .cert
            .tbs_certificate()
            .extensions()
            .map(|e| e.as_slice())
            .unwrap_or_default();
        Self::decode(role, extensions)
    }

    /// Decodes the AMD extensions from a leaf certificate's extension list.
    pub(crate) fn decode(role: CertRole, extensions: &[x509_cert::ext::Extension]) -> Result<Self> {
        let mut struct_version = None;
        let mut product_name = None;
        let (mut bl, mut tee, mut snp, mut ucode, mut fmc) = (None, None, None, None, None);
        let mut hw_id = None;
        let mut csp_id = None;
        let mut seen: Vec<ObjectIdentifier> = Vec::new();

        for extension in extensions {
            if seen.contains(&extension.extn_id) {
                return Err(Error::UnexpectedCertificateContent {
                    role,
                    reason: format!("extension {} occurs twice", extension.extn_id),
                });
            }
            seen.push(extension.extn_id);
            let oid = extension.extn_id.to_string();
            let Some(&(oid_text, name, field)) = KNOWN.iter().find(|(known, _, _)| *known == oid)
            else {
                if extension.critical {
                    return Err(Error::UnexpectedCertificateContent {
                        role,
                        reason: format!("unknown critical extension {oid}"),
                    });
                }
                continue;
            };
            let value = extension.extn_value.as_bytes();
            let bad = |reason: String| Error::BadExtension {
                role,
                name,
                oid: oid_text,
                reason,
            };
            match field {
                Field::StructVersion => struct_version = Some(small_integer(value).map_err(bad)?),
                Field::ProductName => product_name = Some(ia5_string(value).map_err(bad)?),
                Field::BlSpl => bl = Some(small_integer(value).map_err(bad)?),
                Field::TeeSpl => tee = Some(small_integer(value).map_err(bad)?),
                Field::SnpSpl => snp = Some(small_integer(value).map_err(bad)?),
                Field::ReservedSpl => {
                    small_integer(value).map_err(bad)?;
                }
                Field::UcodeSpl => ucode = Some(small_integer(value).map_err(bad)?),
                Field::FmcSpl => fmc = Some(small_integer(value).map_err(bad)?),
                Field::HwId => hw_id = Some(value.to_vec()),
                Field::CspId => csp_id = Some(text_string(value).map_err(bad)?),
            }
        }

        let missing = |name: &'static str, oid: &'static str| Error::BadExtension {
            role,
            name,
            oid,
            reason: "missing".into(),
        };
        let product_name =
            product_name.ok_or_else(|| missing("productName", "1.3.6.1.4.1.3704.1.2"))?;
        let generation =
            Generation::from_product_name(&product_name).ok_or_else(|| Error::BadExtension {
                role,
                name: "productName",
                oid: "1.3.6.1.4.1.3704.1.2",
                reason: format!("\"{product_name}\" is not Milan, Genoa or Turin"),
            })?;
        let tcb = TcbComponents {
            fmc: match generation {
                Generation::Turin => {
                    Some(fmc.ok_or_else(|| missing("fmcSPL", "1.3.6.1.4.1.3704.1.3.9"))?)
                }
                _ => fmc,
            },
            bootloader: bl.ok_or_else(|| missing("blSPL", "1.3.6.1.4.1.3704.1.3.1"))?,
            tee: tee.ok_or_else(|| missing("teeSPL", "1.3.6.1.4.1.3704.1.3.2"))?,
            snp: snp.ok_or_else(|| missing("snpSPL", "1.3.6.1.4.1.3704.1.3.3"))?,
            microcode: ucode.ok_or_else(|| missing("ucodeSPL", "1.3.6.1.4.1.3704.1.3.8"))?,
        };
        match role {
            CertRole::Vlek => {
                csp_id
                    .as_ref()
                    .ok_or_else(|| missing("cspId", "1.3.6.1.4.1.3704.1.5"))?;
            }
            _ => {
                let hw = hw_id
                    .as_ref()
                    .ok_or_else(|| missing("hwID", "1.3.6.1.4.1.3704.1.4"))?;
                if hw.len() != generation.hwid_len() {
                    return Err(Error::BadExtension {
                        role,
                        name: "hwID",
                        oid: "1.3.6.1.4.1.3704.1.4",
                        reason: format!(
                            "{generation} hwID is {} bytes, found {}",
                            generation.hwid_len(),
                            hw.len()
                        ),
                    });
                }
            }
        }
        Ok(Self {
            struct_version,
            product_name,
            generation,
            tcb,
            hw_id,
            csp_id,
        })
    }
}

/// A DER INTEGER from 0 to 255: `02 01 vv` (vv < 0x80) or `02 02 00 vv` (vv >= 0x80).
fn small_integer(value: &[u8]) -> Result<u8, String> {
    match *value {
        [0x02, 0x01, v] if v < 0x80 => Ok(v),
        [0x02, 0x02, 0x00, v] if v >= 0x80 => Ok(v),
        _ => Err(format!(
            "expected a DER INTEGER from 0 to 255, found {}",
            hcl_parse::HexSlice(value)
        )),
    }
}

/// An IA5String with a short-form length: `16 len bytes...`.
fn ia5_string(value: &[u8]) -> Result<String, String> {
    match value {
        [0x16, len, text @ ..]
            if usize::from(*len) == text.len() && *len < 0x80 && text.is_ascii() =>
        {
            Ok(text.iter().map(|&b| char::from(b)).collect())
        }
        _ => Err(format!(
            "expected a DER IA5String, found {}",
            hcl_parse::HexSlice(value)
        )),
    }
}

/// The CSP id: an IA5String or UTF8String with a short-form length.
fn text_string(value: &[u8]) -> Result<String, String> {
    match value {
        [0x0C, len, text @ ..] if usize::from(*len) == text.len() && *len < 0x80 => {
            core::str::from_utf8(text)
                .map(String::from)
                .map_err(|_| "UTF8String is not UTF-8".to_string())
        }
        _ => ia5_string(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_decoded_strictly() {
        assert_eq!(small_integer(&[0x02, 0x01, 0x73]), Ok(0x73));
        assert_eq!(small_integer(&[0x02, 0x02, 0x00, 0xA9]), Ok(0xA9));
        assert!(
            small_integer(&[0x02, 0x02, 0x00, 0x10]).is_err(),
            "non-minimal"
        );
        assert!(small_integer(&[0x02, 0x01, 0x80]).is_err(), "negative");
        assert!(
            small_integer(&[0x02, 0x02, 0x01, 0x00]).is_err(),
            "above 255"
        );
        assert!(small_integer(&[0x04, 0x01, 0x01]).is_err(), "wrong tag");
        assert!(small_integer(&[0x02, 0x01]).is_err(), "truncated");
    }

    #[test]
    fn strings_are_decoded_strictly() {
        assert_eq!(ia5_string(b"\x16\x08Milan-B0").as_deref(), Ok("Milan-B0"));
        assert!(ia5_string(b"\x16\x09Milan-B0").is_err());
        assert!(ia5_string(b"\x0c\x05Genoa").is_err());
        assert_eq!(text_string(b"\x0c\x05Genoa").as_deref(), Ok("Genoa"));
        assert_eq!(text_string(b"\x16\x05Genoa").as_deref(), Ok("Genoa"));
    }
}
