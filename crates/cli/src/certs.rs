//! Certificate files: DER or PEM, one or many; sorting leaves (VCEK/VLEK) from CA candidates.
// Untrusted input: no panicking accessors (the rest of the facade is checked the same way in
// review; this module parses files as they arrive).
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use der::Decode;
use x509_cert::Certificate;

use crate::error::Error;

/// Every certificate in `bytes`: DER certificates (one, or several one after another), or any
/// number of PEM blocks. Each is kept exactly as received.
pub fn certificates(bytes: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
    if bytes.first() == Some(&0x30) {
        let parts = attest_prims::x509::split_concatenated(bytes)
            .map_err(|e| Error::input(format!("DER certificates: {e}")))?;
        return parts
            .into_iter()
            .enumerate()
            .map(|(index, der)| {
                Certificate::from_der(der)
                    .map(|_| der.to_vec())
                    .map_err(|e| Error::input(format!("DER certificate {}: {e}", index + 1)))
            })
            .collect();
    }
    pem_certificates(bytes)
}

/// A CRL from DER or PEM (the first `X509 CRL` block; a byte-order mark, blank lines or
/// `openssl crl -text` output before it are fine), checked to parse, as DER.
pub fn crl_der(bytes: &[u8]) -> Result<Vec<u8>, Error> {
    if bytes.is_empty() {
        return Err(Error::input("the CRL is empty: expected a DER or PEM CRL"));
    }
    let der = if bytes.windows(10).any(|w| w == b"-----BEGIN") {
        attest_prims::pem::decode_all(bytes)
            .map_err(|e| Error::input(format!("CRL PEM: {e}")))?
            .into_iter()
            .find(|block| block.label == attest_prims::pem::CRL)
            .map(|block| block.der)
            .ok_or_else(|| Error::input("no X509 CRL block in the PEM"))?
    } else {
        bytes.to_vec()
    };
    let _checked: x509_cert::crl::CertificateList = x509_cert::crl::CertificateList::from_der(&der)
        .map_err(|e| Error::input(format!("not a CRL: {e}")))?;
    Ok(der)
}

/// Every `CERTIFICATE` PEM block of a text, decoded (other blocks are skipped).
pub fn pem_certificates(text: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
    let blocks =
        attest_prims::pem::decode_all(text).map_err(|e| Error::input(format!("PEM: {e}")))?;
    let out: Vec<Vec<u8>> = blocks
        .into_iter()
        .filter(|block| block.label == attest_prims::pem::CERTIFICATE)
        .map(|block| block.der)
        .collect();
    if out.is_empty() {
        return Err(Error::input(
            "no certificate found (expected DER or PEM CERTIFICATE blocks)",
        ));
    }
    Ok(out)
}

/// A certificate's subject and issuer for messages (their common names, else the whole
/// names), when it parses.
pub fn subject_and_issuer(der: &[u8]) -> Option<(String, String)> {
    use attest_prims::x509::display_name;
    let certificate = Certificate::from_der(der).ok()?;
    let tbs = certificate.tbs_certificate();
    Some((display_name(tbs.subject()), display_name(tbs.issuer())))
}

/// A set of certificates split into leaves (VCEK/VLEK, by subject) and CA candidates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sorted {
    /// Certificates whose subject is SEV-VCEK or SEV-VLEK.
    pub leaves: Vec<Vec<u8>>,
    /// Everything else (ASK, ASVK, ARK candidates).
    pub ca: Vec<Vec<u8>>,
}

/// Sorts certificates by their subject's common name.
pub fn sort(certificates: impl IntoIterator<Item = Vec<u8>>) -> Sorted {
    let mut sorted = Sorted::default();
    for der in certificates {
        // By the exact CN: an ASVK's is SEV-VLEK-<product>, which a prefix would take for a leaf.
        let is_leaf = Certificate::from_der(&der)
            .ok()
            .and_then(|cert| attest_prims::x509::common_name(cert.tbs_certificate().subject()))
            .is_some_and(|cn| cn == "SEV-VCEK" || cn == "SEV-VLEK");
        if is_leaf {
            sorted.leaves.push(der)
        } else {
            sorted.ca.push(der)
        }
    }
    sorted
}
