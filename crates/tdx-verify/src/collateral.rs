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

use serde::Deserialize;

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

#[derive(Deserialize)]
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

impl Collateral {
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
