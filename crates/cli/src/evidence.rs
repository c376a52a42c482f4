//! Evidence: the formats in the wild (confidential-containers v0, v1, v2) and this project's
//! native format (the v2 shape with optional additions). See `docs/evidence.md`.

use base64::Engine;
use hcl_parse::{BASE64URL, HexBytes};
use serde::{Deserialize, Serialize};
use vtpm_quote::HashAlg;

use crate::certs;
use crate::error::Error;

/// Inputs above this size are refused before parsing.
pub const DEFAULT_SIZE_LIMIT: usize = 1024 * 1024;

/// Which format the evidence came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceVersion {
    /// No version field: byte arrays and a PEM VCEK.
    V0,
    /// `"version": 1`: the report was not bound to the nonce.
    V1,
    /// `"version": 2`: the attester wrote the nonce to NV 0x01400002 before reading the report.
    V2,
}

impl EvidenceVersion {
    /// The format's number (0 for the unversioned one).
    pub fn number(self) -> u8 {
        match self {
            Self::V0 => 0,
            Self::V1 => 1,
            Self::V2 => 2,
        }
    }
}

/// The most certificates an evidence's `cert_chain` may carry (a chain is two; a few
/// products' chains fit).
pub const MAX_CERT_CHAIN: usize = 8;

/// The quote part of evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteParts {
    /// TPMS_ATTEST as signed.
    pub message: Vec<u8>,
    /// The signature (bare RSA or TPMT_SIGNATURE).
    pub signature: Vec<u8>,
    /// PCR values of `pcr_bank`, PCR 0 first.
    pub pcrs: Vec<Vec<u8>>,
    /// The bank of `pcrs` (SHA-256 unless the native format says otherwise).
    pub pcr_bank: HashAlg,
    /// The indices of `pcrs` when they are not 0, 1, 2, ... (native format only).
    pub pcr_indices: Option<Vec<u8>>,
}

impl QuoteParts {
    /// The parts of a quote file (quote.bin or the JSON quote layout): SHA-256 PCRs, at the
    /// file's indices when it names them.
    pub fn from_file(file: vtpm_quote::QuoteFile) -> Self {
        Self {
            message: file.message.0,
            signature: file.signature.0,
            pcrs: file.pcrs.into_iter().map(|p| p.0).collect(),
            pcr_bank: HashAlg::Sha256,
            pcr_indices: file.pcr_indices,
        }
    }

    /// The PCR values as the verifier takes them.
    pub fn pcr_values(&self) -> Result<vtpm_quote::PcrValues, vtpm_quote::Error> {
        match &self.pcr_indices {
            Some(indices) => vtpm_quote::PcrValues::at_indices(self.pcr_bank, indices, &self.pcrs),
            None => vtpm_quote::PcrValues::in_order(self.pcr_bank, &self.pcrs),
        }
    }
}

/// Evidence from an Azure SEV-SNP confidential VM, as owned bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// The format it was read from (what it claims about freshness).
    pub version: EvidenceVersion,
    /// The HCL report (NV contents).
    pub hcl_report: Vec<u8>,
    /// The quote.
    pub quote: QuoteParts,
    /// The VCEK or VLEK (DER), when the evidence carries it.
    pub vcek: Option<Vec<u8>>,
    /// ASK/ASVK and ARK (DER), native format only.
    pub cert_chain: Vec<Vec<u8>>,
    /// The AK certificate from NV 0x01C101D0 (DER), native format only.
    pub ak_certificate: Option<Vec<u8>>,
    /// CA certificates above the AK certificate (DER), native format only (at most
    /// [`vtpm_akcert::MAX_CARRIED`]).
    pub ak_cert_chain: Vec<Vec<u8>>,
    /// The TCG event log, native format only.
    pub event_log: Option<Vec<u8>>,
    /// The TD quote of a TDX CVM (the paravisor's TDREPORT, quoted by Intel's QE), native
    /// format only.
    pub td_quote: Option<Vec<u8>>,
}

#[derive(Deserialize)]
struct V0Quote {
    signature: Vec<u8>,
    message: Vec<u8>,
    pcrs: Vec<Vec<u8>>,
}

impl V0Quote {
    /// The parts: SHA-256 PCRs 0, 1, 2, ...
    fn into_parts(self) -> QuoteParts {
        QuoteParts {
            message: self.message,
            signature: self.signature,
            pcrs: self.pcrs,
            pcr_bank: HashAlg::Sha256,
            pcr_indices: None,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct HexQuote {
    signature: HexBytes,
    message: HexBytes,
    pcrs: Vec<HexBytes>,
}

/// A quote as hex strings (v1, v2, native) or byte arrays (trustee's az-tdx-vtpm v0).
#[derive(Deserialize)]
#[serde(untagged)]
enum AnyQuote {
    Hex(HexQuote),
    Bytes(V0Quote),
}

/// Bytes as text (base64url: v1, v2, native) or as a byte array (v0).
#[derive(Deserialize)]
#[serde(untagged)]
enum TextOrBytes {
    Text(String),
    Bytes(Vec<u8>),
}

impl TextOrBytes {
    /// The base64url text of the text formats.
    fn into_text(self, field: &str) -> Result<String, Error> {
        match self {
            Self::Text(text) => Ok(text),
            Self::Bytes(_) => Err(Error::input(format!(
                "evidence \"{field}\": expected base64url text in this format, found a byte array"
            ))),
        }
    }
}

/// Every field any supported format has; which combination is present decides the format.
#[derive(Deserialize)]
struct AnyEvidence {
    version: Option<u32>,
    quote: Option<V0Quote>,
    report: Option<Vec<u8>>,
    tpm_quote: Option<AnyQuote>,
    hcl_report: Option<TextOrBytes>,
    vcek: Option<String>,
    cert_chain: Option<Vec<String>>,
    ak_cert: Option<String>,
    ak_cert_chain: Option<Vec<String>>,
    event_log: Option<String>,
    td_quote: Option<TextOrBytes>,
    pcr_bank: Option<HashAlg>,
    pcr_indices: Option<Vec<u8>>,
}

impl AnyEvidence {
    /// The first of `fields` (by name) this document carries.
    fn first_of(&self, fields: &[&'static str]) -> Option<&'static str> {
        let present = |name: &str| match name {
            "quote" => self.quote.is_some(),
            "report" => self.report.is_some(),
            "vcek" => self.vcek.is_some(),
            "cert_chain" => self.cert_chain.is_some(),
            "ak_cert" => self.ak_cert.is_some(),
            "ak_cert_chain" => self.ak_cert_chain.is_some(),
            "event_log" => self.event_log.is_some(),
            "td_quote" => self.td_quote.is_some(),
            "pcr_bank" => self.pcr_bank.is_some(),
            "pcr_indices" => self.pcr_indices.is_some(),
            _ => false,
        };
        fields.iter().copied().find(|name| present(name))
    }
}

/// The native format as written.
#[derive(Serialize)]
struct NativeEvidence<'a> {
    version: u32,
    tpm_quote: HexQuote,
    hcl_report: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    vcek: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    cert_chain: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ak_cert: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ak_cert_chain: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_log: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    td_quote: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pcr_bank: Option<HashAlg>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pcr_indices: Option<&'a [u8]>,
}

fn b64(field: &str, text: &str) -> Result<Vec<u8>, Error> {
    BASE64URL
        .decode(text.trim())
        .map_err(|e| Error::input(format!("evidence {field}: not base64url: {e}")))
}

impl Evidence {
    /// Evidence of `version` with an HCL report and a quote, and nothing else yet.
    pub fn new(version: EvidenceVersion, hcl_report: Vec<u8>, quote: QuoteParts) -> Self {
        Self {
            version,
            hcl_report,
            quote,
            vcek: None,
            cert_chain: Vec::new(),
            ak_certificate: None,
            ak_cert_chain: Vec::new(),
            event_log: None,
            td_quote: None,
        }
    }

    /// The hardware the HCL report comes from, when its header says (SNP or TDX).
    pub fn platform(&self) -> Option<crate::policy::Platform> {
        let hcl = hcl_parse::HclReport::parse(&self.hcl_report).ok()?;
        crate::policy::Platform::of(hcl.report_type())
    }

    /// Parses evidence JSON in any supported format, refusing inputs over `limit` bytes first.
    pub fn from_json(bytes: &[u8], limit: usize) -> Result<Self, Error> {
        if bytes.len() > limit {
            return Err(Error::input(format!(
                "evidence of {} bytes is over the {limit}-byte limit",
                bytes.len()
            )));
        }
        let any: AnyEvidence = serde_json::from_slice(bytes)
            .map_err(|e| Error::input(format!("evidence is not valid JSON: {e}")))?;
        match any.version {
            None if matches!(any.tpm_quote, Some(AnyQuote::Bytes(_))) => Self::from_tdx_v0(any),
            None => Self::from_v0(any),
            Some(1) => Self::from_v1_v2(any, EvidenceVersion::V1),
            Some(2) => Self::from_v1_v2(any, EvidenceVersion::V2),
            Some(other) => Err(Error::input(format!(
                "unknown evidence version {other} (this tool reads 0, 1 and 2)"
            ))),
        }
    }

    fn from_v0(any: AnyEvidence) -> Result<Self, Error> {
        // Fields of the native format in a v0 document would otherwise be dropped unseen (an
        // AK certificate reported absent although it was there): refuse the mixture.
        if let Some(field) = any.first_of(&[
            "cert_chain",
            "ak_cert",
            "ak_cert_chain",
            "event_log",
            "td_quote",
            "pcr_bank",
            "pcr_indices",
        ]) {
            return Err(Error::input(format!(
                "v0 evidence (\"quote\" and \"report\") carries \"{field}\", a field of the native format: expected \"version\": 1 or 2 with \"tpm_quote\" and \"hcl_report\""
            )));
        }
        let quote = any
            .quote
            .ok_or_else(|| Error::input("v0 evidence has no \"quote\""))?;
        let report = any
            .report
            .ok_or_else(|| Error::input("v0 evidence has no \"report\""))?;
        let vcek = match any.vcek {
            Some(pem) => Some(
                certs::pem_certificates(pem.as_bytes())?
                    .into_iter()
                    .next()
                    .ok_or_else(|| Error::input("v0 evidence \"vcek\" holds no PEM certificate"))?,
            ),
            None => None,
        };
        Ok(Self {
            vcek,
            ..Self::new(EvidenceVersion::V0, report, quote.into_parts())
        })
    }

    /// trustee's az-tdx-vtpm evidence before it had a version: `tpm_quote` with byte arrays,
    /// `hcl_report` and `td_quote` as byte arrays.
    fn from_tdx_v0(any: AnyEvidence) -> Result<Self, Error> {
        // Fields of other formats would otherwise be dropped unseen: refuse the mixture.
        if let Some(field) = any.first_of(&[
            "vcek",
            "cert_chain",
            "ak_cert",
            "ak_cert_chain",
            "event_log",
            "pcr_bank",
            "pcr_indices",
            "quote",
            "report",
        ]) {
            return Err(Error::input(format!(
                "v0 TDX evidence (\"tpm_quote\" of byte arrays) carries \"{field}\", a field of another format"
            )));
        }
        let Some(AnyQuote::Bytes(quote)) = any.tpm_quote else {
            return Err(Error::input(
                "v0 TDX evidence has no \"tpm_quote\" of byte arrays",
            ));
        };
        let bytes = |field: &str, value: Option<TextOrBytes>| match value {
            Some(TextOrBytes::Bytes(bytes)) => Ok(bytes),
            _ => Err(Error::input(format!(
                "v0 TDX evidence (\"tpm_quote\" of byte arrays): expected \"{field}\" as a byte array"
            ))),
        };
        Ok(Self {
            td_quote: Some(bytes("td_quote", any.td_quote)?),
            ..Self::new(
                EvidenceVersion::V0,
                bytes("hcl_report", any.hcl_report)?,
                quote.into_parts(),
            )
        })
    }

    fn from_v1_v2(any: AnyEvidence, version: EvidenceVersion) -> Result<Self, Error> {
        let quote = match any.tpm_quote {
            Some(AnyQuote::Hex(quote)) => quote,
            Some(AnyQuote::Bytes(_)) => {
                return Err(Error::input(
                    "evidence \"tpm_quote\": expected hex strings in this format, found byte arrays",
                ));
            }
            None => return Err(Error::input("evidence has no \"tpm_quote\"")),
        };
        let hcl = any
            .hcl_report
            .ok_or_else(|| Error::input("evidence has no \"hcl_report\""))?
            .into_text("hcl_report")?;
        let chain_len = any.cert_chain.as_ref().map_or(0, Vec::len);
        if chain_len > MAX_CERT_CHAIN {
            // Each candidate may cost an RSA-4096 check: a long list is work, not information.
            return Err(Error::input(format!(
                "\"cert_chain\": expected at most {MAX_CERT_CHAIN} certificates (an ASK or ASVK and its ARK), found {chain_len}"
            )));
        }
        let ak_chain_len = any.ak_cert_chain.as_ref().map_or(0, Vec::len);
        if ak_chain_len > vtpm_akcert::MAX_CARRIED {
            return Err(Error::input(format!(
                "\"ak_cert_chain\": expected at most {} certificates, found {ak_chain_len}",
                vtpm_akcert::MAX_CARRIED
            )));
        }
        let decode_opt =
            |field: &str, value: Option<String>| value.map(|text| b64(field, &text)).transpose();
        Ok(Self {
            version,
            hcl_report: b64("hcl_report", &hcl)?,
            quote: QuoteParts {
                message: quote.message.0,
                signature: quote.signature.0,
                pcrs: quote.pcrs.into_iter().map(|p| p.0).collect(),
                pcr_bank: any.pcr_bank.unwrap_or(HashAlg::Sha256),
                pcr_indices: any.pcr_indices,
            },
            vcek: decode_opt("vcek", any.vcek)?,
            cert_chain: any
                .cert_chain
                .unwrap_or_default()
                .iter()
                .map(|text| b64("cert_chain", text))
                .collect::<Result<_, _>>()?,
            ak_certificate: decode_opt("ak_cert", any.ak_cert)?,
            ak_cert_chain: any
                .ak_cert_chain
                .unwrap_or_default()
                .iter()
                .map(|text| b64("ak_cert_chain", text))
                .collect::<Result<_, _>>()?,
            event_log: decode_opt("event_log", any.event_log)?,
            td_quote: decode_opt(
                "td_quote",
                any.td_quote
                    .map(|value| value.into_text("td_quote"))
                    .transpose()?,
            )?,
        })
    }

    /// Writes the native format: `"version": 2` only when the report was bound to the nonce,
    /// else 1, so that readers of v1/v2 interpret it correctly.
    pub fn to_json(&self) -> Vec<u8> {
        let encode = |bytes: &[u8]| BASE64URL.encode(bytes);
        let native = NativeEvidence {
            version: if self.version == EvidenceVersion::V2 {
                2
            } else {
                1
            },
            tpm_quote: HexQuote {
                signature: HexBytes(self.quote.signature.clone()),
                message: HexBytes(self.quote.message.clone()),
                pcrs: self.quote.pcrs.iter().cloned().map(HexBytes).collect(),
            },
            hcl_report: encode(&self.hcl_report),
            vcek: self.vcek.as_deref().map(encode),
            cert_chain: self.cert_chain.iter().map(|c| encode(c)).collect(),
            ak_cert: self.ak_certificate.as_deref().map(encode),
            ak_cert_chain: self.ak_cert_chain.iter().map(|c| encode(c)).collect(),
            event_log: self.event_log.as_deref().map(encode),
            td_quote: self.td_quote.as_deref().map(encode),
            pcr_bank: (self.quote.pcr_bank != HashAlg::Sha256).then_some(self.quote.pcr_bank),
            pcr_indices: self.quote.pcr_indices.as_deref(),
        };
        let mut out = serde_json::to_vec_pretty(&native).unwrap_or_default();
        out.push(b'\n');
        out
    }
}
