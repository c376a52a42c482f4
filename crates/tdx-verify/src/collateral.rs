//! The collateral a TD quote is verified with (Intel PCS v4, or a cache of it): the root CA
//! CRL, the PCK CRL, the TCB info and the QE identity with their signatures and issuer chains.
//!
//! Read from the JSON shape dcap-qvl writes (and `intel-collateral.json` in Azure's samples):
//! PEM chains, hex DER CRLs, and the TCB info and QE identity as JSON strings holding the
//! documents exactly as Intel signed them, with hex (r, s) signatures. The signed documents are
//! kept as received: signatures are checked over those bytes, never over a re-serialisation.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use attest_prims::pem;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::error::{Error, Result};
use crate::pki::pem_chain;

/// The collateral of one quote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collateral {
    /// The PCK CRL's issuer chain (PEM: PCK Platform or Processor CA, root).
    pub pck_crl_issuer_chain: Vec<Vec<u8>>,
    /// The root CA CRL (DER): revokes Intel's intermediate CAs.
    pub root_ca_crl: Vec<u8>,
    /// The PCK CRL (DER): revokes PCK certificates.
    pub pck_crl: Vec<u8>,
    /// The TCB info's issuer chain (TCB signing certificate, root).
    pub tcb_info_issuer_chain: Vec<Vec<u8>>,
    /// The TCB info document (the `tcbInfo` JSON value as signed).
    pub tcb_info: String,
    /// Its signature, r then s.
    pub tcb_info_signature: Vec<u8>,
    /// The QE identity's issuer chain (TCB signing certificate, root).
    pub qe_identity_issuer_chain: Vec<Vec<u8>>,
    /// The QE identity document (the `enclaveIdentity` JSON value as signed).
    pub qe_identity: String,
    /// Its signature, r then s.
    pub qe_identity_signature: Vec<u8>,
}

#[derive(Deserialize, Serialize)]
struct CollateralJson {
    pck_crl_issuer_chain: String,
    root_ca_crl: String,
    pck_crl: String,
    tcb_info_issuer_chain: String,
    tcb_info: String,
    tcb_info_signature: String,
    qe_identity_issuer_chain: String,
    qe_identity: String,
    qe_identity_signature: String,
}

/// What a PCS v4 service (Intel's, or a cache with its API such as Azure's) answers, as
/// received: bodies exactly as sent, issuer chains as PEM (the URL-decoded header values).
#[derive(Debug, Clone, Copy)]
pub struct PcsAnswers<'a> {
    /// Body of `GET /tdx/certification/v4/tcb?fmspc=...`: `{"tcbInfo": {...}, "signature": "<hex>"}`.
    pub tcb_info: &'a [u8],
    /// Its `TCB-Info-Issuer-Chain` header.
    pub tcb_info_issuer_chain: &'a [u8],
    /// Body of `GET /tdx/certification/v4/qe/identity`: `{"enclaveIdentity": {...}, "signature": "<hex>"}`.
    pub qe_identity: &'a [u8],
    /// Its `SGX-Enclave-Identity-Issuer-Chain` header.
    pub qe_identity_issuer_chain: &'a [u8],
    /// Body of `GET /sgx/certification/v4/pckcrl?ca=...&encoding=der`.
    pub pck_crl: &'a [u8],
    /// Its `SGX-PCK-CRL-Issuer-Chain` header.
    pub pck_crl_issuer_chain: &'a [u8],
    /// The root CA CRL (from the root's CRL distribution point, DER; or a PCCS's hex text).
    pub root_ca_crl: &'a [u8],
}

/// A signed PCS document: the signed JSON value exactly as it appears in the body.
#[derive(Deserialize)]
struct SignedTcbInfo<'a> {
    #[serde(rename = "tcbInfo", borrow)]
    document: &'a RawValue,
    signature: &'a str,
}

#[derive(Deserialize)]
struct SignedQeIdentity<'a> {
    #[serde(rename = "enclaveIdentity", borrow)]
    document: &'a RawValue,
    signature: &'a str,
}

impl Collateral {
    /// Assembles collateral from PCS answers. The TCB info and QE identity keep the bytes of
    /// their signed JSON values exactly as the bodies carry them; nothing is verified here.
    pub fn from_pcs(answers: &PcsAnswers<'_>) -> Result<Self> {
        let tcb: SignedTcbInfo<'_> = serde_json::from_slice(answers.tcb_info)
            .map_err(|e| Error::malformed("PCS TCB info answer", format!("{e}")))?;
        let qe: SignedQeIdentity<'_> = serde_json::from_slice(answers.qe_identity)
            .map_err(|e| Error::malformed("PCS QE identity answer", format!("{e}")))?;
        let signature = |what: &str, text: &str| {
            hex::decode(text.trim())
                .map_err(|e| Error::malformed(format!("{what} signature"), format!("not hex: {e}")))
        };
        Ok(Self {
            pck_crl_issuer_chain: pem_chain(
                "PCS SGX-PCK-CRL-Issuer-Chain",
                answers.pck_crl_issuer_chain,
            )?,
            root_ca_crl: crl_der("root CA CRL", answers.root_ca_crl)?,
            pck_crl: crl_der("PCK CRL", answers.pck_crl)?,
            tcb_info_issuer_chain: pem_chain(
                "PCS TCB-Info-Issuer-Chain",
                answers.tcb_info_issuer_chain,
            )?,
            tcb_info: tcb.document.get().into(),
            tcb_info_signature: signature("PCS TCB info", tcb.signature)?,
            qe_identity_issuer_chain: pem_chain(
                "PCS SGX-Enclave-Identity-Issuer-Chain",
                answers.qe_identity_issuer_chain,
            )?,
            qe_identity: qe.document.get().into(),
            qe_identity_signature: signature("PCS QE identity", qe.signature)?,
        })
    }

    /// The TCB evaluation data number of this collateral: the lower of the TCB info's and the
    /// QE identity's (read, not verified). Intel raises it when it re-rates platforms.
    pub fn tcb_evaluation_data_number(&self) -> Result<u32> {
        #[derive(Deserialize)]
        struct Numbered {
            #[serde(rename = "tcbEvaluationDataNumber")]
            number: u32,
        }
        let read = |what: &str, document: &str| {
            serde_json::from_str::<Numbered>(document)
                .map(|numbered| numbered.number)
                .map_err(|e| {
                    Error::malformed(format!("{what} tcbEvaluationDataNumber"), format!("{e}"))
                })
        };
        Ok(read("TCB info", &self.tcb_info)?.min(read("QE identity", &self.qe_identity)?))
    }

    /// The JSON shape [`Collateral::from_json`] reads (dcap-qvl's): what `--collateral` files
    /// and the fetch cache hold.
    pub fn to_json(&self) -> String {
        let chain = |ders: &[Vec<u8>]| {
            ders.iter()
                .map(|der| pem::encode(pem::CERTIFICATE, der))
                .collect::<String>()
        };
        let json = CollateralJson {
            pck_crl_issuer_chain: chain(&self.pck_crl_issuer_chain),
            root_ca_crl: hex::encode(&self.root_ca_crl),
            pck_crl: hex::encode(&self.pck_crl),
            tcb_info_issuer_chain: chain(&self.tcb_info_issuer_chain),
            tcb_info: self.tcb_info.clone(),
            tcb_info_signature: hex::encode(&self.tcb_info_signature),
            qe_identity_issuer_chain: chain(&self.qe_identity_issuer_chain),
            qe_identity: self.qe_identity.clone(),
            qe_identity_signature: hex::encode(&self.qe_identity_signature),
        };
        // Strings and nothing else: serialising them cannot fail.
        serde_json::to_string_pretty(&json).unwrap_or_default()
    }

    /// Reads the JSON collateral (see the module documentation).
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let json: CollateralJson = serde_json::from_slice(bytes)
            .map_err(|e| Error::malformed("TDX collateral", format!("{e}")))?;
        let hex_field = |name: &str, text: &str| {
            hex::decode(text.trim()).map_err(|e| {
                Error::malformed(format!("TDX collateral {name}"), format!("not hex: {e}"))
            })
        };
        Ok(Self {
            pck_crl_issuer_chain: pem_chain(
                "TDX collateral pck_crl_issuer_chain",
                json.pck_crl_issuer_chain.as_bytes(),
            )?,
            root_ca_crl: hex_field("root_ca_crl", &json.root_ca_crl)?,
            pck_crl: hex_field("pck_crl", &json.pck_crl)?,
            tcb_info_issuer_chain: pem_chain(
                "TDX collateral tcb_info_issuer_chain",
                json.tcb_info_issuer_chain.as_bytes(),
            )?,
            tcb_info: json.tcb_info,
            tcb_info_signature: hex_field("tcb_info_signature", &json.tcb_info_signature)?,
            qe_identity_issuer_chain: pem_chain(
                "TDX collateral qe_identity_issuer_chain",
                json.qe_identity_issuer_chain.as_bytes(),
            )?,
            qe_identity: json.qe_identity,
            qe_identity_signature: hex_field("qe_identity_signature", &json.qe_identity_signature)?,
        })
    }
}

/// A CRL body as services send it: DER, PEM ("X509 CRL"), or hex text (a PCCS's root CA CRL).
fn crl_der(what: &str, body: &[u8]) -> Result<Vec<u8>> {
    if body.first() == Some(&0x30) {
        return Ok(body.to_vec());
    }
    if pem::looks_like_pem(body) {
        let mut blocks = pem::decode_all(body).map_err(|e| Error::malformed(what, e))?;
        return match (blocks.pop(), blocks.is_empty()) {
            (Some(block), true) if block.label == pem::CRL => Ok(block.der),
            _ => Err(Error::malformed(
                what,
                "expected one PEM block \"X509 CRL\"",
            )),
        };
    }
    let text = core::str::from_utf8(body)
        .map_err(|_| Error::malformed(what, "neither DER, PEM nor hex text"))?;
    hex::decode(text.trim())
        .map_err(|e| Error::malformed(what, format!("neither DER, PEM nor hex text ({e})")))
}
