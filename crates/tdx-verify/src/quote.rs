//! The TD quote (Intel TDX DCAP quote, versions 4 and 5): header, TD report body, and the
//! ECDSA signature data with the QE report and the PCK chain. Parsing only: every length is
//! checked, and the bytes each signature covers are kept as received.
//!
//! | part | bytes |
//! |---|---|
//! | header | version u16 (4, 5), attestation key type u16 (2: ECDSA P-256), TEE type u32 (0x81: TDX), 4 reserved, QE vendor id 16, user data 20 |
//! | v5 only: body descriptor | body type u16 (2: TD 1.0, 3: TD 1.5), body size u32 (584, 648) |
//! | body | [`TdReportBody`] |
//! | signature data | length u32, then: quote signature 64 (r, s), attestation key 64 (x, y), certification data type u16 = 6, size u32: QE report 384, its signature 64, auth data length u16 and bytes, certification data type u16 = 5, size u32, PCK chain (PEM) |
//! | after the signature data | zero bytes only (Azure's v4 quotes carry some) |

use alloc::format;
use alloc::string::ToString;

use crate::body::{QeReport, TdReportBody};
use crate::error::{Error, Result};

/// Quote header length.
pub const HEADER_LEN: usize = 48;
/// TD 1.0 report body length (v4 quotes, and v5 body type 2).
pub const TD10_BODY_LEN: usize = 584;
/// TD 1.5 report body length (v5 body type 3).
pub const TD15_BODY_LEN: usize = 648;
/// The QE report (an SGX report body).
pub const QE_REPORT_LEN: usize = 384;
/// TEE type of TDX.
pub const TEE_TYPE_TDX: u32 = 0x81;
/// Attestation key type: ECDSA with P-256.
pub const ECDSA_P256: u16 = 2;
/// The vendor id of Intel's quoting enclave.
pub const INTEL_QE_VENDOR_ID: [u8; 16] =
    attest_prims::hex_array("939a7233f79c4ca9940a0db3957f0607");

/// Certification data type: the QE report certification data.
const CERT_DATA_QE_REPORT: u16 = 6;
/// Certification data type: the PCK certificate chain (PEM).
const CERT_DATA_PCK_CHAIN: u16 = 5;

/// A TD quote, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TdQuote<'a> {
    /// 4 or 5.
    pub version: u16,
    /// The TD report body.
    pub body: TdReportBody,
    /// The bytes the attestation key signed: header, body descriptor (v5) and body.
    pub signed: &'a [u8],
    /// The quote signature, r then s (32 bytes each, big-endian).
    pub signature: &'a [u8],
    /// The attestation key, x then y (32 bytes each, big-endian).
    pub attestation_key: &'a [u8],
    /// The quoting enclave's report.
    pub qe_report: QeReport,
    /// The 384 bytes of the QE report the PCK signed.
    pub qe_report_bytes: &'a [u8],
    /// The PCK's signature of the QE report, r then s.
    pub qe_report_signature: &'a [u8],
    /// The QE authentication data (its hash, with the attestation key's, is in the QE report).
    pub qe_auth_data: &'a [u8],
    /// The PCK certificate chain as the quote carries it (PEM: PCK, intermediate CA, root).
    pub pck_chain_pem: &'a [u8],
}

impl<'a> TdQuote<'a> {
    /// Parses a TD quote; anything after the signature data must be zero bytes.
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let version = r.u16("header.version")?;
        if version != 4 && version != 5 {
            return Err(Error::malformed_field(
                "TD quote header.version",
                "4 or 5",
                version.to_string(),
            ));
        }
        let key_type = r.u16("header.attestation_key_type")?;
        if key_type != ECDSA_P256 {
            return Err(Error::malformed_field(
                "TD quote header.attestation_key_type",
                "2 (ECDSA P-256)",
                key_type.to_string(),
            ));
        }
        let tee_type = r.u32("header.tee_type")?;
        if tee_type != TEE_TYPE_TDX {
            return Err(Error::malformed_field(
                "TD quote header.tee_type",
                "0x81 (TDX)",
                format!("{tee_type:#x}"),
            ));
        }
        r.take(4, "header.reserved")?;
        let vendor = r.take(16, "header.qe_vendor_id")?;
        if vendor != INTEL_QE_VENDOR_ID {
            return Err(Error::malformed_field(
                "TD quote header.qe_vendor_id",
                "939a7233f79c4ca9940a0db3957f0607 (Intel)",
                hex::encode(vendor),
            ));
        }
        r.take(20, "header.user_data")?;
        let body_len = if version == 5 {
            let body_type = r.u16("body descriptor.type")?;
            let size = r.u32("body descriptor.size")?;
            let expected = match body_type {
                2 => TD10_BODY_LEN,
                3 => TD15_BODY_LEN,
                other => {
                    return Err(Error::malformed_field(
                        "TD quote body descriptor.type",
                        "2 (TD 1.0) or 3 (TD 1.5)",
                        other.to_string(),
                    ));
                }
            };
            if usize::try_from(size).ok() != Some(expected) {
                return Err(Error::malformed_field(
                    "TD quote body descriptor.size",
                    format!("{expected} for body type {body_type}"),
                    size.to_string(),
                ));
            }
            expected
        } else {
            TD10_BODY_LEN
        };
        let body = TdReportBody::parse(r.take(body_len, "body")?)?;
        let signed = bytes.get(..r.pos).unwrap_or_default();

        let signature_data_len = r.u32("signature data length")?;
        let signature_data = r.take(to_usize(signature_data_len), "signature data")?;
        let trailing = r.rest();
        if let Some(offset) = trailing.iter().position(|&b| b != 0) {
            return Err(Error::malformed(
                "TD quote",
                format!(
                    "expected only zero bytes after the signature data, found {:#04x} at offset {}",
                    trailing.get(offset).copied().unwrap_or_default(),
                    r.pos + offset
                ),
            ));
        }

        let mut s = Reader::new(signature_data);
        s.base = "signature data";
        let signature = s.take(64, "quote signature")?;
        let attestation_key = s.take(64, "attestation key")?;
        let cert_type = s.u16("certification data type")?;
        if cert_type != CERT_DATA_QE_REPORT {
            return Err(Error::malformed_field(
                "TD quote certification data type",
                "6 (QE report certification data)",
                cert_type.to_string(),
            ));
        }
        let cert_size = s.u32("certification data size")?;
        let cert_data = s.take(to_usize(cert_size), "certification data")?;
        s.finish()?;

        let mut c = Reader::new(cert_data);
        c.base = "QE report certification data";
        let qe_report_bytes = c.take(QE_REPORT_LEN, "QE report")?;
        let qe_report = QeReport::parse(qe_report_bytes)?;
        let qe_report_signature = c.take(64, "QE report signature")?;
        let auth_len = c.u16("QE auth data length")?;
        let qe_auth_data = c.take(usize::from(auth_len), "QE auth data")?;
        let inner_type = c.u16("PCK certification data type")?;
        if inner_type != CERT_DATA_PCK_CHAIN {
            return Err(Error::malformed_field(
                "TD quote PCK certification data type",
                "5 (PCK certificate chain)",
                inner_type.to_string(),
            ));
        }
        let chain_size = c.u32("PCK certification data size")?;
        let pck_chain_pem = c.take(to_usize(chain_size), "PCK certificate chain")?;
        c.finish()?;

        Ok(Self {
            version,
            body,
            signed,
            signature,
            attestation_key,
            qe_report,
            qe_report_bytes,
            qe_report_signature,
            qe_auth_data,
            pck_chain_pem,
        })
    }
}

fn to_usize(value: u32) -> usize {
    usize::try_from(value).unwrap_or(usize::MAX)
}

/// A cursor over little-endian fields that names the field it could not read.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pub(crate) pos: usize,
    pub(crate) base: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            pos: 0,
            base: "TD quote",
        }
    }

    pub(crate) fn take(&mut self, len: usize, field: &str) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(len);
        match end.and_then(|end| self.bytes.get(self.pos..end)) {
            Some(part) => {
                self.pos += len;
                Ok(part)
            }
            None => Err(Error::malformed(
                format!("{} {field}", self.base),
                format!(
                    "expected {len} bytes at offset {}, found {}",
                    self.pos,
                    self.bytes.len().saturating_sub(self.pos)
                ),
            )),
        }
    }

    pub(crate) fn array<const N: usize>(&mut self, field: &str) -> Result<[u8; N]> {
        let part = self.take(N, field)?;
        let mut out = [0u8; N];
        out.copy_from_slice(part);
        Ok(out)
    }

    pub(crate) fn u16(&mut self, field: &str) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array(field)?))
    }

    pub(crate) fn u32(&mut self, field: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }

    fn rest(&mut self) -> &'a [u8] {
        let rest = self.bytes.get(self.pos..).unwrap_or_default();
        self.pos = self.bytes.len();
        rest
    }

    /// Nothing may be left.
    pub(crate) fn finish(&self) -> Result<()> {
        let left = self.bytes.len().saturating_sub(self.pos);
        if left == 0 {
            Ok(())
        } else {
            Err(Error::malformed(
                self.base,
                format!("{left} bytes left over after its last field"),
            ))
        }
    }
}
