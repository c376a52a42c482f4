//! The real TD quotes with their real collateral: Azure's (v4, a TDX CVM through the
//! paravisor) and the dcap-qvl samples (a v4 quote UpToDate; an Azure v5 quote OutOfDate).
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use attest_prims::UnixTime;
use snp_vtpm_testkit::vectors;
use tdx_verify::{Collateral, IntelRoots, TcbStatus, verify_td_quote};

/// 2026-02-18T14:04:40Z: when Azure's sample was taken, inside its collateral.
const AZURE_TIME: UnixTime = UnixTime::from_secs(1_771_423_480);
/// 2025-07-01: inside the dcap-qvl samples' collateral (2025-06-19 to 2025-07-19).
const JULY_2025: UnixTime = UnixTime::from_secs(1_751_328_000);

fn sample(quote: &str, collateral: &str) -> (Vec<u8>, Collateral) {
    (
        vectors::read(quote),
        Collateral::from_json(&vectors::read(collateral)).unwrap(),
    )
}

#[test]
fn azure_tdx_vm_quote_verifies_up_to_date() {
    let (quote, collateral) = sample(
        "azure/tdx-vm1/td-quote.bin",
        "azure/tdx-vm1/intel-collateral.json",
    );
    let verified = verify_td_quote(&quote, &collateral, &IntelRoots::intel(), AZURE_TIME).unwrap();
    assert_eq!(verified.version(), 4);
    assert_eq!(verified.tcb().status, TcbStatus::UpToDate);
    assert_eq!(
        verified.tcb().tcb_date.as_deref(),
        Some("2024-11-13T00:00:00Z")
    );
    assert_eq!(verified.fmspc(), "90C06F000000");
    assert_eq!(verified.qe_status(), TcbStatus::UpToDate);
    assert!(!verified.under_test_root());
    let body = verified.body();
    assert_eq!(body.mr_config_id.0, [0; 48]);
    assert_eq!(body.mr_owner.0, [0; 48]);
    assert_eq!(body.mr_owner_config.0, [0; 48]);
    assert!(!body.debug());
}

#[test]
fn dcap_qvl_v4_sample_verifies_up_to_date() {
    let (quote, collateral) = sample(
        "intel/dcap-qvl/tdx_quote",
        "intel/dcap-qvl/tdx_quote_collateral.json",
    );
    let verified = verify_td_quote(&quote, &collateral, &IntelRoots::intel(), JULY_2025).unwrap();
    assert_eq!(verified.tcb().status, TcbStatus::UpToDate);
}

/// Azure's v5 sample (TD 1.5 body) is genuine, but its platform is below every TCB level of
/// its collateral (SGX component 8 is 3, every level asks 5): no status can be given, which the
/// caller's policy refuses unless it accepts that explicitly.
#[test]
fn azure_v5_sample_verifies_below_every_tcb_level() {
    let (quote, collateral) = sample(
        "intel/dcap-qvl/tdx_quote_outdated",
        "intel/dcap-qvl/tdx_quote_outdated_collateral.json",
    );
    let info: serde_json::Value = serde_json::from_str(&collateral.tcb_info).unwrap();
    let issue = UnixTime::parse_rfc3339(info["issueDate"].as_str().unwrap()).unwrap();
    let verified = verify_td_quote(
        &quote,
        &collateral,
        &IntelRoots::intel(),
        UnixTime::from_secs(issue.as_secs() + 3600),
    )
    .unwrap();
    assert_eq!(verified.version(), 5);
    assert!(verified.body().tee_tcb_svn2.is_some());
    assert_eq!(verified.tcb().status, TcbStatus::NoMatchingLevel);
    assert_eq!(verified.tcb().tcb_date, None);
    assert_eq!(verified.fmspc(), "90C06F000000");
}

#[test]
fn the_shipped_intel_root_is_the_pinned_one() {
    use sha2::Digest;
    let shipped = vectors::pem_blocks(tdx_verify::SHIPPED_INTEL_ROOT_PEM);
    assert_eq!(shipped.len(), 1);
    let digest: [u8; 32] = sha2::Sha256::digest(&shipped[0]).into();
    assert_eq!(digest, tdx_verify::INTEL_SGX_ROOT_SHA256);
    assert_eq!(
        shipped,
        vectors::pem_blocks(&vectors::read_text("intel/intel-sgx-root-ca.pem"))
    );
}

/// Only Intel's TCB Signing certificate, issued by the root, may sign TCB info and QE
/// identity: not a PCK (whose holder could rate its own platform), not a CA, and no longer
/// chain (a work amplifier).
#[test]
fn only_the_tcb_signing_certificate_signs_tcb_info_and_qe_identity() {
    let (quote, genuine) = sample(
        "azure/tdx-vm1/td-quote.bin",
        "azure/tdx-vm1/intel-collateral.json",
    );
    let pck_chain = vectors::pem_blocks(
        std::str::from_utf8(tdx_verify::TdQuote::parse(&quote).unwrap().pck_chain_pem).unwrap(),
    );
    let cases = [
        (pck_chain.clone(), "expected 2 certificates"),
        (
            pck_chain[1..].to_vec(),
            "expected the signer \"Intel SGX TCB Signing\" (an end entity), found \"Intel SGX PCK Platform CA\" (a CA)",
        ),
    ];
    for (chain, message) in cases {
        for qe in [false, true] {
            let mut collateral = genuine.clone();
            if qe {
                collateral.qe_identity_issuer_chain = chain.clone();
            } else {
                collateral.tcb_info_issuer_chain = chain.clone();
            }
            let error =
                verify_td_quote(&quote, &collateral, &IntelRoots::intel(), AZURE_TIME).unwrap_err();
            assert!(error.to_string().contains(message), "{error}");
            assert_eq!(error.kind(), tdx_verify::ErrorKind::Refused);
        }
    }
}

#[test]
fn structural_errors_of_a_quote_are_malformed() {
    let (mut quote, collateral) = sample(
        "azure/tdx-vm1/td-quote.bin",
        "azure/tdx-vm1/intel-collateral.json",
    );
    quote[0] = 3;
    let error = verify_td_quote(&quote, &collateral, &IntelRoots::intel(), AZURE_TIME).unwrap_err();
    assert_eq!(error.kind(), tdx_verify::ErrorKind::Malformed, "{error}");
    assert!(
        error
            .to_string()
            .contains("header.version: expected 4 or 5, found 3"),
        "{error}"
    );
}
