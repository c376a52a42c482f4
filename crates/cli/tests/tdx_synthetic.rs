//! Azure TDX evidence made here, end to end: a TDX HCL report (the sample's TDREPORT, claims
//! naming a software AK, bound to the nonce), a TD quote signed by a test Intel PKI's quoting
//! enclave, collateral of that PKI current now, and the vTPM quote. It verifies under the
//! azure-tdx preset with the test root pinned, and each change an attacker could make is
//! refused by its check. (The real sample verifies in tdx.rs; this covers what it cannot: a
//! fresh nonce, current collateral, other TCB statuses.)
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{SystemTime, UNIX_EPOCH};

use snp_vtpm::snp_verify::UnixTime;
use snp_vtpm::tdx_verify::{Collateral, IntelRoots, TcbStatus};
use snp_vtpm::{
    Certificates, Check, Error, Evidence, EvidencePolicy, ExpectedNonce, Platform,
    VerifiedEvidence, Verifier, VerifyOptions,
};
use snp_vtpm_testkit::azure::{SyntheticTdxReport, synthetic_tdx_evidence};
use snp_vtpm_testkit::pki::intel::IntelPki;

const NONCE: &[u8] = b"a relying party's fresh nonce 32";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn report() -> SyntheticTdxReport {
    SyntheticTdxReport::new(&[], [0; 64])
}

fn verify(
    json: &[u8],
    collateral: Collateral,
    roots: IntelRoots,
    nonce: &[u8],
) -> Result<VerifiedEvidence, Error> {
    let policy = EvidencePolicy::from_document(
        serde_json::json!({ "require_report_bound_to_nonce": true }),
        "azure-tdx",
    )
    .unwrap();
    let evidence = Evidence::from_json(json, snp_vtpm::DEFAULT_SIZE_LIMIT).unwrap();
    Verifier::new(policy).with_intel_roots(roots).verify(
        &evidence,
        ExpectedNonce::Exactly(nonce),
        &Certificates {
            tdx_collateral: Some(collateral),
            ..Certificates::default()
        },
        &VerifyOptions::at(UnixTime::from_secs(now())),
    )
}

#[test]
fn made_tdx_evidence_verifies_under_the_pinned_test_root() {
    let (json, collateral) = synthetic_tdx_evidence(&report(), NONCE, true, now(), |_| {});
    let verified = verify(&json, collateral, IntelPki::shared().roots(), NONCE).unwrap();
    assert_eq!(verified.platform(), Platform::Tdx);
    let tdx = verified.tdx().unwrap();
    assert_eq!(tdx.quote.tcb().status, TcbStatus::UpToDate);
    assert!(tdx.quote.under_test_root());
    assert!(tdx.mrtd_allowed, "the sample's MRTD is the paravisor's");
}

#[test]
fn under_intels_real_root_it_is_refused() {
    let (json, collateral) = synthetic_tdx_evidence(&report(), NONCE, true, now(), |_| {});
    let e = verify(&json, collateral, IntelRoots::intel(), NONCE).unwrap_err();
    assert_eq!(e.check(), Check::TdQuote, "{e}");
    assert!(e.to_string().contains("pinned Intel SGX Root CA"), "{e}");
}

#[test]
fn an_out_of_date_tcb_is_refused_by_policy_naming_the_advisories() {
    let out_of_date = |tcb_info: &mut serde_json::Value| {
        for level in tcb_info["tcbLevels"].as_array_mut().unwrap() {
            level["tcbStatus"] = "OutOfDate".into();
            level["advisoryIDs"] = serde_json::json!(["INTEL-SA-99999"]);
        }
    };
    let (json, collateral) = synthetic_tdx_evidence(&report(), NONCE, true, now(), out_of_date);
    let e = verify(&json, collateral, IntelPki::shared().roots(), NONCE).unwrap_err();
    assert_eq!(e.check(), Check::Policy, "{e}");
    let message = e.to_string();
    assert!(message.contains("OutOfDate"), "{message}");
    assert!(message.contains("INTEL-SA-99999"), "{message}");
}

#[test]
fn unknown_firmware_another_nonce_and_stale_collateral_are_refused() {
    let unknown = SyntheticTdxReport {
        mr_td: Some([0x42; 48]),
        ..report()
    };
    let (json, collateral) = synthetic_tdx_evidence(&unknown, NONCE, true, now(), |_| {});
    let e = verify(&json, collateral, IntelPki::shared().roots(), NONCE).unwrap_err();
    assert_eq!(e.check(), Check::FirmwareIdentity, "{e}");

    let (json, collateral) = synthetic_tdx_evidence(&report(), NONCE, true, now(), |_| {});
    let e = verify(
        &json,
        collateral,
        IntelPki::shared().roots(),
        b"another nonce, not the one quoted",
    )
    .unwrap_err();
    assert_eq!(e.check(), Check::Nonce, "{e}");

    // Collateral of 40 days ago is past its nextUpdate (30 days after issue).
    let (json, collateral) =
        synthetic_tdx_evidence(&report(), NONCE, true, now() - 40 * 86_400, |_| {});
    let e = verify(&json, collateral, IntelPki::shared().roots(), NONCE).unwrap_err();
    assert_eq!(e.check(), Check::TdQuote, "{e}");
    assert!(
        e.to_string().contains("expected validity to include"),
        "{e}"
    );
}
