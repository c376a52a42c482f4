//! Collateral on its own, as a fetcher sees it: what a quote asks for, PCS answers assembled
//! into collateral (the signed documents kept byte for byte), and the check that decides what
//! may be cached, on Azure's real collateral.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use attest_prims::UnixTime;
use attest_prims::pem;
use snp_vtpm_testkit::vectors;
use tdx_verify::{
    Collateral, CollateralRequest, Error, ErrorKind, IntelRoots, PckCa, PcsAnswers,
    verify_collateral, verify_td_quote,
};

/// 2026-02-18T14:04:40Z: when Azure's sample was taken, inside its collateral.
const AZURE_TIME: UnixTime = UnixTime::from_secs(1_771_423_480);

fn azure() -> (Vec<u8>, Collateral) {
    (
        vectors::read("azure/tdx-vm1/td-quote.bin"),
        Collateral::from_json(&vectors::read("azure/tdx-vm1/intel-collateral.json")).unwrap(),
    )
}

fn pem_chain(ders: &[Vec<u8>]) -> String {
    ders.iter()
        .map(|der| pem::encode(pem::CERTIFICATE, der))
        .collect()
}

/// The bodies PCS would send for `collateral`: the signed documents embedded verbatim.
struct Bodies {
    tcb_info: String,
    qe_identity: String,
    tcb_chain: String,
    qe_chain: String,
    crl_chain: String,
}

fn bodies(collateral: &Collateral) -> Bodies {
    Bodies {
        tcb_info: format!(
            "{{\"tcbInfo\":{},\"signature\":\"{}\"}}",
            collateral.tcb_info,
            hex::encode(&collateral.tcb_info_signature)
        ),
        qe_identity: format!(
            "{{\"enclaveIdentity\": {} , \"signature\":\"{}\"}}",
            collateral.qe_identity,
            hex::encode(&collateral.qe_identity_signature)
        ),
        tcb_chain: pem_chain(&collateral.tcb_info_issuer_chain),
        qe_chain: pem_chain(&collateral.qe_identity_issuer_chain),
        crl_chain: pem_chain(&collateral.pck_crl_issuer_chain),
    }
}

fn answers<'a>(bodies: &'a Bodies, collateral: &'a Collateral) -> PcsAnswers<'a> {
    PcsAnswers {
        tcb_info: bodies.tcb_info.as_bytes(),
        tcb_info_issuer_chain: bodies.tcb_chain.as_bytes(),
        qe_identity: bodies.qe_identity.as_bytes(),
        qe_identity_issuer_chain: bodies.qe_chain.as_bytes(),
        pck_crl: &collateral.pck_crl,
        pck_crl_issuer_chain: bodies.crl_chain.as_bytes(),
        root_ca_crl: &collateral.root_ca_crl,
    }
}

#[test]
fn a_quote_names_its_fmspc_and_pck_ca() {
    let (quote, _) = azure();
    let request = CollateralRequest::of_quote(&quote, &IntelRoots::intel(), AZURE_TIME).unwrap();
    assert_eq!(request.fmspc_hex(), "90C06F000000");
    assert_eq!(request.ca, PckCa::Platform);
    assert_eq!(request.ca.query_value(), "platform");
    assert_eq!(PckCa::from_query_value("processor"), Some(PckCa::Processor));
    let e =
        CollateralRequest::of_quote(&quote[..100], &IntelRoots::intel(), AZURE_TIME).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Malformed, "{e}");
}

/// A fetcher asks only for platforms Intel certified: the FMSPC of a PCK certificate whose
/// chain does not verify under the pinned root is never read.
#[test]
fn a_forged_or_foreign_pck_names_no_collateral() {
    let (quote, _) = azure();
    // The FMSPC inside the PCK certificate's PEM changed: its signature no longer verifies.
    let parsed = tdx_verify::TdQuote::parse(&quote).unwrap();
    let start = quote
        .windows(parsed.pck_chain_pem.len())
        .position(|w| w == parsed.pck_chain_pem)
        .unwrap();
    let mut ders = pem_ders(parsed.pck_chain_pem);
    let fmspc = [0x90, 0xC0, 0x6F, 0x00, 0x00, 0x00];
    let at = ders[0].windows(6).position(|w| w == fmspc).unwrap();
    ders[0][at..at + 6].copy_from_slice(&[0x11, 0x22, 0x33, 0x44, 0x55, 0x66]);
    // Re-encoded, then padded with zero bytes to the length the quote declares (its own PEM
    // ends with a NUL).
    let mut forged_pem = pem_chain(&ders).into_bytes();
    assert!(forged_pem.len() <= parsed.pck_chain_pem.len());
    forged_pem.resize(parsed.pck_chain_pem.len(), 0);
    let mut forged = quote.clone();
    forged[start..start + forged_pem.len()].copy_from_slice(&forged_pem);
    let e = CollateralRequest::of_quote(&forged, &IntelRoots::intel(), AZURE_TIME).unwrap_err();
    assert!(matches!(e, Error::BadSignature { .. }), "{e}");

    // A quote of a test PKI under Intel's pinned root: not Intel's.
    let pki = snp_vtpm_testkit::pki::intel::IntelPki::shared();
    let td_report = snp_vtpm_testkit::azure::SyntheticTdxReport::new(&[1; 256], [0; 64])
        .build()
        .1;
    let test_quote = pki.td_quote(&td_report, &quote);
    let e = CollateralRequest::of_quote(&test_quote, &IntelRoots::intel(), AZURE_TIME).unwrap_err();
    assert!(matches!(e, Error::UntrustedRoot { .. }), "{e}");
    let request = CollateralRequest::of_quote(&test_quote, &pki.roots(), AZURE_TIME).unwrap();
    assert_eq!(request.fmspc_hex(), "90C06F000000");
}

fn pem_ders(pem: &[u8]) -> Vec<Vec<u8>> {
    attest_prims::pem::decode_all(pem)
        .unwrap()
        .into_iter()
        .map(|block| block.der)
        .collect()
}

#[test]
fn pcs_answers_become_the_same_collateral_and_verify() {
    let (quote, collateral) = azure();
    let bodies = bodies(&collateral);
    let assembled = Collateral::from_pcs(&answers(&bodies, &collateral)).unwrap();
    assert_eq!(
        assembled, collateral,
        "the signed documents are kept byte for byte"
    );
    verify_td_quote(&quote, &assembled, &IntelRoots::intel(), AZURE_TIME).unwrap();

    // CRLs as PEM or as a PCCS's hex text are the same CRLs.
    let pem_crl = pem::encode(pem::CRL, &collateral.pck_crl);
    let hex_crl = hex::encode(&collateral.root_ca_crl);
    let mut other = answers(&bodies, &collateral);
    other.pck_crl = pem_crl.as_bytes();
    other.root_ca_crl = hex_crl.as_bytes();
    assert_eq!(Collateral::from_pcs(&other).unwrap(), collateral);

    // The file shape round-trips.
    assert_eq!(
        Collateral::from_json(collateral.to_json().as_bytes()).unwrap(),
        collateral
    );
}

#[test]
fn malformed_pcs_answers_name_the_answer() {
    let (_, collateral) = azure();
    let bodies = bodies(&collateral);
    type Spoil = fn(&mut PcsAnswers<'_>);
    let cases: [(&str, Spoil); 4] = [
        ("PCS TCB info answer", |a| {
            a.tcb_info = b"{\"signature\":\"00\"}"
        }),
        ("PCS QE identity answer", |a| a.qe_identity = b"not json"),
        ("PCK CRL", |a| a.pck_crl = b"zz"),
        ("PCS TCB-Info-Issuer-Chain", |a| {
            a.tcb_info_issuer_chain = b"-----BEGIN X509 CRL-----\nAA==\n-----END X509 CRL-----\n"
        }),
    ];
    for (what, spoil) in cases {
        let mut spoiled = answers(&bodies, &collateral);
        spoil(&mut spoiled);
        let e = Collateral::from_pcs(&spoiled).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Malformed, "{e}");
        assert!(e.to_string().starts_with(what), "{what}: {e}");
    }
}

#[test]
fn collateral_verifies_on_its_own_until_its_earliest_next_update() {
    let (quote, collateral) = azure();
    let request = CollateralRequest::of_quote(&quote, &IntelRoots::intel(), AZURE_TIME).unwrap();
    let verified =
        verify_collateral(&collateral, &request, &IntelRoots::intel(), AZURE_TIME).unwrap();
    let end = verified.next_update();
    assert!(end > AZURE_TIME);
    let just_before = UnixTime::from_secs(end.as_secs() - 1);
    verify_collateral(&collateral, &request, &IntelRoots::intel(), just_before).unwrap();
    let e = verify_collateral(&collateral, &request, &IntelRoots::intel(), end).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Expired, "{e}");
}

#[test]
fn collateral_for_another_platform_or_ca_is_refused() {
    let (quote, collateral) = azure();
    let request = CollateralRequest::of_quote(&quote, &IntelRoots::intel(), AZURE_TIME).unwrap();
    let roots = IntelRoots::intel();

    let other_fmspc = CollateralRequest {
        fmspc: [0x00, 0x90, 0x6E, 0xD5, 0x00, 0x00],
        ..request
    };
    let e = verify_collateral(&collateral, &other_fmspc, &roots, AZURE_TIME).unwrap_err();
    assert!(
        matches!(&e, Error::Unexpected { what, .. } if what == "TCB info fmspc"),
        "{e}"
    );

    let processor = CollateralRequest {
        ca: PckCa::Processor,
        ..request
    };
    let e = verify_collateral(&collateral, &processor, &roots, AZURE_TIME).unwrap_err();
    assert!(
        matches!(&e, Error::Unexpected { what, .. } if what == "PCK CRL issuer"),
        "{e}"
    );

    // A PCK CRL issuer chain that is the TCB signing chain: its first certificate is no CA.
    let mut swapped = collateral.clone();
    swapped.pck_crl_issuer_chain = collateral.tcb_info_issuer_chain.clone();
    let e = verify_collateral(&swapped, &request, &roots, AZURE_TIME).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Refused, "{e}");

    // A PCK CRL signed by someone else (the root CA CRL in its place).
    let mut wrong_crl = collateral.clone();
    wrong_crl.pck_crl = collateral.root_ca_crl.clone();
    let e = verify_collateral(&wrong_crl, &request, &roots, AZURE_TIME).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Refused, "{e}");

    // A TCB info signature that does not verify.
    let mut bad_signature = collateral;
    bad_signature.tcb_info_signature[5] ^= 1;
    let e = verify_collateral(&bad_signature, &request, &roots, AZURE_TIME).unwrap_err();
    assert!(matches!(e, Error::BadSignature { .. }), "{e}");
}
