//! `snp_vtpm::offline`: verification with every input as bytes, which the npm and Python
//! packages call (their own suites compare it with the tool's output on every vector).
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use snp_vtpm::offline::{OfflineOptions, OfflineRequest};
use snp_vtpm::snp_verify::UnixTime;
use snp_vtpm::{Check, ErrorKind};
use snp_vtpm_testkit::vectors;

const AT: UnixTime = UnixTime::from_secs(1_767_225_600);

#[test]
fn real_evidence_verifies_with_shipped_roots_and_nothing_else() {
    let evidence = vectors::read("azure/milan-v3/evidence-v0.json");
    let document = OfflineRequest::new(&evidence, Some(b"challenge"), AT).document();
    assert!(document.verified, "{:?}", document.error);
    assert_eq!(document.exit_code, 0);
    let verified = document.verdict.expect("a verdict");
    assert_eq!(
        verified.report().map(|r| r.product()),
        Some(hcl_parse::Generation::Milan)
    );
    // The schema every binding documents.
    let json =
        serde_json::to_string(&OfflineRequest::new(&evidence, Some(b"challenge"), AT).document())
            .unwrap();
    snp_vtpm_testkit::schema::assert_follows("verdict.schema.json", &json);

    // A wrong nonce: the document names the check and the exit code.
    let wrong = OfflineRequest::new(&evidence, Some(b"other"), AT).document();
    assert_eq!((wrong.verified, wrong.exit_code), (false, 2));
    assert_eq!(wrong.failed_check, Some(Check::Nonce));
}

#[test]
fn options_are_checked_before_anything_is_verified() {
    let evidence = vectors::read("azure/milan-v3/evidence-v0.json");
    let both = OfflineRequest {
        policy: Some(b"[report]\n"),
        preset: Some("azure-cvm"),
        ..OfflineRequest::new(&evidence, Some(b"challenge"), AT)
    };
    assert_eq!(both.verify().unwrap_err().kind(), ErrorKind::Input);
    let unknown = OfflineRequest {
        preset: Some("no-such-preset"),
        ..OfflineRequest::new(&evidence, Some(b"challenge"), AT)
    };
    assert!(
        unknown
            .verify()
            .unwrap_err()
            .to_string()
            .contains("no-such-preset")
    );
    let long_nonce = [0u8; 65];
    let error = OfflineRequest::new(&evidence, Some(&long_nonce), AT)
        .verify()
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Input);

    // The options a binding passes as JSON: unknown fields are refused, not ignored.
    assert!(serde_json::from_str::<OfflineOptions>(r#"{"preset": "azure-cvm", "at": 5}"#).is_ok());
    assert!(serde_json::from_str::<OfflineOptions>(r#"{"presets": "azure-cvm"}"#).is_err());
    let options: OfflineOptions = serde_json::from_str(r#"{"at": 1767225600}"#).unwrap();
    assert!(
        options
            .request(&evidence, Some(b"challenge"))
            .document()
            .verified
    );
}

#[test]
fn a_captured_policy_accepts_its_vm() {
    let evidence = vectors::read("azure/milan-v3/evidence-v0.json");
    let request = OfflineRequest::new(&evidence, Some(b"challenge"), AT);
    let policy = request.capture_policy(&Default::default()).unwrap();
    let again = OfflineRequest {
        policy: Some(policy.as_bytes()),
        ..request
    };
    assert!(again.document().verified);
    let no_nonce = OfflineRequest::new(&evidence, None, AT);
    assert_eq!(
        no_nonce
            .capture_policy(&Default::default())
            .unwrap_err()
            .kind(),
        ErrorKind::Input
    );
}
