//! The whole verification of a TD quote with its collateral, at a given time.
//!
//! | # | check | fails as |
//! |---|---|---|
//! | 1 | the quote parses: version 4 or 5, ECDSA P-256, TDX, Intel's QE, zeros only after the signature data | `Malformed`, `Unexpected` |
//! | 2 | the root CA CRL is signed by the pinned Intel SGX Root CA and current | `BadSignature`, `NotValidAt` |
//! | 3 | the TCB signing chains (TCB info's, QE identity's) are exactly Intel's "Intel SGX TCB Signing" end entity and the pinned root that issued it, valid, not revoked; the TCB info and QE identity signatures verify over the documents as received; both are current (issueDate <= t < nextUpdate) | `UntrustedRoot`, `Chain`, `BadSignature`, `Revoked`, `NotValidAt` |
//! | 4 | the quote's PCK chain (PCK, Platform or Processor CA, root) ends at the pinned root, valid; the CA is not revoked by the root CA CRL; the PCK CRL is issued and signed by that CA, current, and does not list the PCK (the collateral's `pck_crl_issuer_chain` is not needed for that) | same |
//! | 5 | the PCK signed the QE report; its report_data is SHA-256(attestation key, QE auth data) then zeros | `BadSignature`, `QeReportData` |
//! | 6 | the attestation key signed the header and body | `BadSignature` |
//! | 7 | the TCB info is for the PCK's FMSPC and PCE id; the QE is the identity's; TCB levels give the status (see [`crate::tcb`]); Revoked is refused | `Unexpected`, `NoTcbLevel`, `TcbRevoked` |

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use attest_prims::{HexSlice, UnixTime};
use serde::Serialize;

use crate::body::TdReportBody;
use crate::collateral::Collateral;
use crate::error::{Error, Result};
use crate::pki::{
    Cert, Crl, Encoding, IntelRoots, pem_chain, raw_key, sha256, verify_chain, verify_signature,
};
use crate::quote::TdQuote;
use crate::request::CollateralRequest;
use crate::sgx_ext::SgxExtensions;
use crate::tcb::{QeIdentity, TcbInfo, TcbStatus, TcbVerdict};

/// A TD quote whose signatures, chains and collateral verified; only [`verify_td_quote`]
/// builds one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedTdQuote {
    version: u16,
    body: TdReportBody,
    tcb: TcbVerdict,
    qe_status: TcbStatus,
    fmspc: String,
    pce_id: String,
    tcb_evaluation_data_number: u32,
    under_test_root: bool,
    #[serde(skip)]
    pck_crl_window: (UnixTime, UnixTime),
}

impl VerifiedTdQuote {
    /// The quote version (4 or 5).
    pub fn version(&self) -> u16 {
        self.version
    }

    /// The verified TD report body (MRTD, RTMRs, report data, ...).
    pub fn body(&self) -> &TdReportBody {
        &self.body
    }

    /// The TCB status, its advisories and date: platform, TDX module and QE converged.
    pub fn tcb(&self) -> &TcbVerdict {
        &self.tcb
    }

    /// The QE identity's own status.
    pub fn qe_status(&self) -> TcbStatus {
        self.qe_status
    }

    /// The platform's FMSPC (hex, upper case as Intel writes it).
    pub fn fmspc(&self) -> &str {
        &self.fmspc
    }

    /// The TCB evaluation data number of the TCB info.
    pub fn tcb_evaluation_data_number(&self) -> u32 {
        self.tcb_evaluation_data_number
    }

    /// thisUpdate and nextUpdate of the PCK CRL the PCK was checked against.
    pub fn pck_crl_window(&self) -> (UnixTime, UnixTime) {
        self.pck_crl_window
    }

    /// Whether the chains ended at a caller's test root instead of Intel's.
    pub fn under_test_root(&self) -> bool {
        self.under_test_root
    }
}

/// Verifies `quote` (bytes as received) with `collateral` under `roots` at `time`.
pub fn verify_td_quote(
    quote: &[u8],
    collateral: &Collateral,
    roots: &IntelRoots,
    time: UnixTime,
) -> Result<VerifiedTdQuote> {
    let quote = TdQuote::parse(quote)?;
    let documents = Documents::verify(collateral, roots, time)?;
    let (root_crl, tcb_info, qe_identity) = (
        &documents.root_crl,
        &documents.tcb_info,
        &documents.qe_identity,
    );

    // The quote's PCK chain, the CA's revocation by the root, the PCK's by the PCK CRL.
    let pck_ders = pem_chain("TD quote PCK certificate chain", quote.pck_chain_pem)?;
    let pck_chain = verified_pck_chain(&pck_ders, roots, time)?;
    let (pck, pck_ca) = (&pck_chain.pck, &pck_chain.ca);
    root_crl.check_not_revoked(pck_ca)?;
    // The PCK CRL must be the quote's CA's (name and signature); the collateral's copy of
    // that CA's chain is not needed for it.
    let pck_crl = Crl::parse("PCK CRL", &collateral.pck_crl)?;
    pck_crl.verify(pck_ca, time)?;
    pck_crl.check_not_revoked(pck)?;

    // The QE report, signed by the PCK, commits to the attestation key.
    verify_signature(
        &pck.key()?,
        quote.qe_report_bytes,
        quote.qe_report_signature,
        Encoding::Raw,
        "QE report",
        &pck.subject,
    )?;
    let mut committed = Vec::with_capacity(quote.attestation_key.len() + quote.qe_auth_data.len());
    committed.extend_from_slice(quote.attestation_key);
    committed.extend_from_slice(quote.qe_auth_data);
    let mut expected = [0u8; 64];
    if let Some(head) = expected.get_mut(..32) {
        head.copy_from_slice(&sha256(&committed));
    }
    if quote.qe_report.report_data != expected {
        return Err(Error::QeReportData {
            expected: HexSlice(expected.get(..32).unwrap_or_default()).to_string(),
            found: HexSlice(&quote.qe_report.report_data).to_string(),
        });
    }

    // The quote itself, signed by the attestation key.
    let attestation_key = raw_key(quote.attestation_key, "TD quote attestation key")?;
    verify_signature(
        &attestation_key,
        quote.signed,
        quote.signature,
        Encoding::Raw,
        "TD quote (header and body)",
        "the attestation key",
    )?;

    // The TCB status.
    let sgx = SgxExtensions::of(&pck.cert)?;
    tcb_info.check_platform(&sgx)?;
    let mut tcb = tcb_info.platform_status(&sgx, &quote.body.tee_tcb_svn.0, &quote.body)?;
    let qe_status = qe_identity.fold_into(&quote.qe_report, &mut tcb)?;
    let current = match &quote.body.tee_tcb_svn2 {
        Some(svn2) => {
            let mut current = tcb_info.platform_status(&sgx, &svn2.0, &quote.body)?;
            current.status = current.status.converge(qe_status);
            Some(current.status)
        }
        None => None,
    };
    if tcb.status == TcbStatus::Revoked || current == Some(TcbStatus::Revoked) {
        return Err(Error::TcbRevoked {
            advisory_ids: tcb.advisory_ids,
        });
    }
    if let Some(current) = current {
        tcb.status = tcb.status.with_current(current);
    }
    Ok(VerifiedTdQuote {
        version: quote.version,
        body: quote.body,
        tcb,
        qe_status,
        fmspc: hex::encode_upper(sgx.fmspc),
        pce_id: hex::encode_upper(sgx.pce_id),
        tcb_evaluation_data_number: tcb_info
            .evaluation_data_number()
            .min(qe_identity.evaluation_data_number()),
        under_test_root: roots.is_test_root(),
        pck_crl_window: pck_crl.window(),
    })
}

/// The parts of the collateral that hold for every quote of any platform: the root CA CRL,
/// and the TCB info and QE identity, each signed through its TCB signing chain and current.
struct Documents<'a> {
    root_crl: Crl<'a>,
    tcb_info: TcbInfo,
    qe_identity: QeIdentity,
    /// The earliest nextUpdate among the root CA CRL, the TCB info and the QE identity.
    next_update: UnixTime,
}

impl<'a> Documents<'a> {
    fn verify(collateral: &'a Collateral, roots: &IntelRoots, time: UnixTime) -> Result<Self> {
        // The root CA CRL, signed by the root every chain must end at.
        let tcb_chain = tcb_signing_chain(
            "TCB info issuer chain",
            &collateral.tcb_info_issuer_chain,
            roots,
            time,
        )?;
        let root = tcb_chain.last().ok_or_else(|| Error::Chain {
            chain: "TCB info issuer chain",
            reason: "no certificate".into(),
        })?;
        let root_crl = Crl::parse("root CA CRL", &collateral.root_ca_crl)?;
        root_crl.verify(root, time)?;
        check_not_revoked(&tcb_chain, &root_crl)?;

        // TCB info and QE identity, each signed by its TCB signing certificate.
        let tcb_info = signed_document(
            "TCB info",
            &tcb_chain,
            collateral.tcb_info.as_bytes(),
            &collateral.tcb_info_signature,
        )
        .and_then(|()| TcbInfo::parse(&collateral.tcb_info))?;
        let tcb_info_next = tcb_info.check_window(time)?;
        let qe_chain = tcb_signing_chain(
            "QE identity issuer chain",
            &collateral.qe_identity_issuer_chain,
            roots,
            time,
        )?;
        check_not_revoked(&qe_chain, &root_crl)?;
        let qe_identity = signed_document(
            "QE identity",
            &qe_chain,
            collateral.qe_identity.as_bytes(),
            &collateral.qe_identity_signature,
        )
        .and_then(|()| QeIdentity::parse(&collateral.qe_identity))?;
        let qe_identity_next = qe_identity.check_window(time)?;
        let next_update = root_crl.window().1.min(tcb_info_next).min(qe_identity_next);
        Ok(Self {
            root_crl,
            tcb_info,
            qe_identity,
            next_update,
        })
    }
}

/// Collateral that verified on its own, before any quote: what a fetcher may cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedCollateral {
    next_update: UnixTime,
}

impl VerifiedCollateral {
    /// The earliest nextUpdate of the root CA CRL, the PCK CRL, the TCB info and the QE
    /// identity: the collateral cannot verify a quote from then on.
    pub fn next_update(&self) -> UnixTime {
        self.next_update
    }
}

/// Verifies `collateral` for the platforms `request` names, without a quote: the root CA CRL,
/// the TCB info (for `request.fmspc`) and the QE identity as [`verify_td_quote`] checks them,
/// and the PCK CRL under its own issuer chain (`request.ca`, then the pinned root; the CA not
/// revoked). A quote is still verified in full later; this decides what may be cached.
pub fn verify_collateral(
    collateral: &Collateral,
    request: &CollateralRequest,
    roots: &IntelRoots,
    time: UnixTime,
) -> Result<VerifiedCollateral> {
    let documents = Documents::verify(collateral, roots, time)?;
    if documents.tcb_info.fmspc() != request.fmspc {
        return Err(Error::unexpected(
            "TCB info fmspc",
            request.fmspc_hex(),
            hex::encode_upper(documents.tcb_info.fmspc()),
        ));
    }
    const CHAIN: &str = "PCK CRL issuer chain";
    let chain = parse_chain(CHAIN, &collateral.pck_crl_issuer_chain)?;
    if chain.len() != 2 {
        return Err(Error::Chain {
            chain: CHAIN,
            reason: format!(
                "expected 2 certificates (the {}, then the root), found {}",
                request.ca,
                chain.len()
            ),
        });
    }
    verify_chain(CHAIN, &chain, roots, time)?;
    let ca = chain.first().ok_or_else(|| Error::Chain {
        chain: CHAIN,
        reason: "no certificate".into(),
    })?;
    if ca.subject != request.ca.common_name() {
        return Err(Error::unexpected(
            "PCK CRL issuer",
            format!("\"{}\"", request.ca.common_name()),
            format!("\"{}\"", ca.subject),
        ));
    }
    check_not_revoked(&chain, &documents.root_crl)?;
    let pck_crl = Crl::parse("PCK CRL", &collateral.pck_crl)?;
    pck_crl.verify(ca, time)?;
    Ok(VerifiedCollateral {
        next_update: documents.next_update.min(pck_crl.window().1),
    })
}

/// A quote's PCK chain that verified: the PCK (an end entity) and its CA, under the pinned root.
pub(crate) struct PckChain<'a> {
    pub(crate) pck: Cert<'a>,
    pub(crate) ca: Cert<'a>,
}

/// Verifies a PCK chain (PCK, Platform or Processor CA, root): three certificates, each signed
/// by the next and valid at `time`, the root pinned, the PCK not a CA.
pub(crate) fn verified_pck_chain<'a>(
    ders: &'a [Vec<u8>],
    roots: &IntelRoots,
    time: UnixTime,
) -> Result<PckChain<'a>> {
    const CHAIN: &str = "PCK certificate chain";
    let certs = parse_chain(CHAIN, ders)?;
    if certs.len() != 3 {
        return Err(Error::Chain {
            chain: CHAIN,
            reason: format!(
                "expected 3 certificates (PCK, Platform or Processor CA, root), found {}",
                certs.len()
            ),
        });
    }
    verify_chain(CHAIN, &certs, roots, time)?;
    let mut certs = certs.into_iter();
    let (Some(pck), Some(ca)) = (certs.next(), certs.next()) else {
        return Err(Error::Chain {
            chain: CHAIN,
            reason: "too short".into(),
        });
    };
    if pck.is_ca() {
        return Err(Error::Chain {
            chain: CHAIN,
            reason: format!(
                "the PCK \"{}\" is a CA, expected an end entity",
                pck.subject
            ),
        });
    }
    Ok(PckChain { pck, ca })
}

/// The common name of Intel's TCB signing certificate.
const TCB_SIGNING_CN: &str = "Intel SGX TCB Signing";

/// A TCB signing chain: exactly Intel's TCB Signing certificate (an end entity of that name)
/// and the pinned root that issued it. Any other certificate under the root (a PCK, a CA)
/// must not be able to sign TCB info or a QE identity.
fn tcb_signing_chain<'a>(
    chain: &'static str,
    ders: &'a [Vec<u8>],
    roots: &IntelRoots,
    time: UnixTime,
) -> Result<Vec<Cert<'a>>> {
    if ders.len() != 2 {
        return Err(Error::Chain {
            chain,
            reason: format!(
                "expected 2 certificates (the TCB Signing certificate, then the root), found {}",
                ders.len()
            ),
        });
    }
    let certs = parse_chain(chain, ders)?;
    verify_chain(chain, &certs, roots, time)?;
    let signer = certs.first().ok_or_else(|| Error::Chain {
        chain,
        reason: "no certificate".into(),
    })?;
    if signer.subject != TCB_SIGNING_CN || signer.is_ca() {
        return Err(Error::Chain {
            chain,
            reason: format!(
                "expected the signer \"{TCB_SIGNING_CN}\" (an end entity), found \"{}\"{}",
                signer.subject,
                if signer.is_ca() { " (a CA)" } else { "" }
            ),
        });
    }
    Ok(certs)
}

fn parse_chain<'a>(chain: &'static str, ders: &'a [Vec<u8>]) -> Result<Vec<Cert<'a>>> {
    ders.iter()
        .enumerate()
        .map(|(index, der)| Cert::parse(&format!("{chain}, certificate {}", index + 1), der))
        .collect()
}

/// Every certificate of `chain` below its root is unrevoked by the root CA CRL.
fn check_not_revoked(chain: &[Cert<'_>], root_crl: &Crl<'_>) -> Result<()> {
    let below_root = chain.len().saturating_sub(1);
    chain
        .iter()
        .take(below_root)
        .try_for_each(|cert| root_crl.check_not_revoked(cert))
}

/// A document's raw (r, s) signature by the first certificate of its chain.
fn signed_document(
    what: &str,
    chain: &[Cert<'_>],
    document: &[u8],
    signature: &[u8],
) -> Result<()> {
    let signer = chain.first().ok_or_else(|| Error::Chain {
        chain: "TCB signing chain",
        reason: "no certificate".into(),
    })?;
    verify_signature(
        &signer.key()?,
        document,
        signature,
        Encoding::Raw,
        what,
        &signer.subject,
    )
}
