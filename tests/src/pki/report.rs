//! Signing SNP reports as the AMD firmware does, so tests can make valid reports of any content.

use hcl_parse::snp::{RawSnpReport, SIGNED_LEN};
use p384::ecdsa::signature::Signer;
use zerocopy::IntoBytes;

/// Signs `report[0x000..0x2A0]` with ECDSA P-384 over SHA-384 and stores R and S as the
/// firmware does: little-endian in the first 48 bytes of `signature_r`/`signature_s`, the
/// remaining 24 bytes zero. Deterministic (RFC 6979), so the same report and key always give
/// the same bytes. Every other field is left as it is.
pub fn sign_report(report: &mut RawSnpReport, key: &p384::ecdsa::SigningKey) {
    let signature: p384::ecdsa::Signature = key.sign(&report.as_bytes()[..SIGNED_LEN]);
    let (r, s) = signature.split_bytes();
    store_little_endian(&mut report.signature_r, &r);
    store_little_endian(&mut report.signature_s, &s);
}

fn store_little_endian(field: &mut [u8; 72], big_endian: &[u8]) {
    field.fill(0);
    for (out, byte) in field.iter_mut().zip(big_endian.iter().rev()) {
        *out = *byte;
    }
}
