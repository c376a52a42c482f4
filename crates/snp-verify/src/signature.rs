//! The report's ECDSA P-384 signature over the exact received bytes 0x000..0x2A0.
//!
//! SEV-SNP Firmware ABI Specification (AMD pub. 56860), rev. 1.58: the signed range is given by
//! ATTESTATION_REPORT (Table 23), the R/S format by Table 141, the algorithm values by Table 139
//! (rev. 1.57: Tables 22, 135 and 133).

use alloc::boxed::Box;

use hcl_parse::{Hex, SnpReport};
use sha2::Digest;

use crate::error::{CertRole, Error, Result};
use attest_prims::ecdsa::{EcdsaEngine, P384KeyTable, verify_p384_prehash};

/// `signature_algo` value for ECDSA P-384 with SHA-384 (56860 rev. 1.58, Table 139).
const ECDSA_P384_SHA384: u32 = 1;

/// Converts the stored R and S (72 bytes little-endian, top 24 bytes zero; 56860 rev. 1.58,
/// Table 141) into a signature.
pub fn report_signature(report: &SnpReport<'_>) -> Result<p384::ecdsa::Signature> {
    if report.signature_algo() != ECDSA_P384_SHA384 {
        return Err(Error::ReportSignatureAlgorithm {
            found: report.signature_algo(),
        });
    }
    let stored = report.signature();
    let r = big_endian_scalar("R", stored.r)?;
    let s = big_endian_scalar("S", stored.s)?;
    p384::ecdsa::Signature::from_scalars(r, s).map_err(|_| Error::SignatureOutOfRange)
}

fn big_endian_scalar(component: &'static str, stored: &[u8; 72]) -> Result<[u8; 48]> {
    let (value, padding) = stored.split_at(48);
    if padding.iter().any(|&b| b != 0) {
        let mut found = [0u8; 24];
        found.copy_from_slice(padding);
        return Err(Error::SignaturePadding {
            component,
            found: Box::new(Hex(found)),
        });
    }
    let mut scalar = [0u8; 48];
    for (to, from) in scalar.iter_mut().zip(value.iter().rev()) {
        *to = *from;
    }
    Ok(scalar)
}

/// Verifies the report signature under the VCEK/VLEK key with the default engine and no
/// key table.
pub fn verify_report_signature(
    report: &SnpReport<'_>,
    key: &p384::ecdsa::VerifyingKey,
    role: CertRole,
) -> Result<()> {
    verify_report_signature_with_table(report, key, None, role)
}

/// Verifies the report signature with the key's precomputed table when there is one (see
/// [`crate::VerifiedLeaf::precompute_key_table`]); the engine is `EcdsaEngine::default()`:
/// attest-prims' verification-only path with the `fast-p384` feature, p384's verifier without.
pub(crate) fn verify_report_signature_with_table(
    report: &SnpReport<'_>,
    key: &p384::ecdsa::VerifyingKey,
    table: Option<&P384KeyTable>,
    role: CertRole,
) -> Result<()> {
    let signature = report_signature(report)?;
    let digest: [u8; 48] = sha2::Sha384::digest(report.signed_bytes()).into();
    if verify_p384_prehash(EcdsaEngine::default(), key, table, &digest, &signature) {
        Ok(())
    } else {
        Err(Error::BadReportSignature(role))
    }
}
