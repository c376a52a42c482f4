//! The example relying party (`crates/cli/examples/relying_party`, the minimal library
//! integration) against the real attester on swtpm: the secret goes to fresh evidence bound
//! to its nonce, and a replay is refused. `cargo xtask attest` itself runs the real service.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::process::Command;
use std::time::Duration;

use hcl_parse::Generation;
use serde_json::Value;
use snp_vtpm::vtpm_akcert::VtpmAnchors;
use snp_vtpm::{EvidencePolicy, Verifier};
use snp_vtpm_testkit::azure::TEST_FIRMWARE_ID_KEY_DIGEST;
use snp_vtpm_testkit::pki::vtpm::VtpmPki;
use snp_vtpm_testkit::pki::{TestPki, pem_certificate};
use snp_vtpm_testkit::swtpm::{self, Swtpm};

use crate::cert_service::CertService;
use crate::http::{self, Server};
use crate::paravisor;
use crate::relying_party::RelyingParty;

#[test]
fn the_example_relying_party_releases_its_secret_once() {
    if !swtpm::available() {
        return;
    }
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let built = Command::new(env!("CARGO"))
        .current_dir(&workspace)
        .args(["build", "--quiet", "-p", "snp-vtpm", "--bin", "snp-vtpm"])
        .status()
        .unwrap();
    assert!(built.success());
    let binary = crate::local::sibling_binary("snp-vtpm").unwrap();

    let pki = TestPki::shared();
    let sim = Swtpm::start().unwrap();
    let modulus = paravisor::provision(&sim.tcti(), pki, false).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let certs = CertService::start(pki, Generation::Milan, now).unwrap();
    paravisor::install_ak_certificate(&sim.tcti(), &certs.ak_certificate(&modulus).unwrap())
        .unwrap();
    let policy = EvidencePolicy::from_document(
        serde_json::json!({
            "require_report_bound_to_nonce": true,
            "report": { "allowed_id_key_digests": [hex::encode(TEST_FIRMWARE_ID_KEY_DIGEST)] },
        }),
        "azure-cvm-strict",
    )
    .unwrap();
    let verifier = Verifier::with_anchors(pki.trust_anchors(), policy)
        .with_vtpm_anchors(VtpmAnchors::test_root(&VtpmPki::shared().root));
    let party = RelyingParty::new(verifier, "the secret", Duration::from_secs(30));
    let server = Server::start(move |request| party.handle(request)).unwrap();

    let dir = std::env::temp_dir().join(format!("snp-vtpm-example-rp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let roots = dir.join("roots.pem");
    std::fs::write(&roots, pki.product(Generation::Milan).vcek_chain_pem()).unwrap();
    let vtpm_root = dir.join("vtpm-root.pem");
    std::fs::write(&vtpm_root, pem_certificate(&VtpmPki::shared().root)).unwrap();

    let (status, body) =
        http::request(&format!("{}/challenge", server.url()), "POST", &[], b"").unwrap();
    assert_eq!(status, 200);
    let nonce_hex = serde_json::from_slice::<Value>(&body).unwrap()["nonce"]
        .as_str()
        .unwrap()
        .to_string();
    let nonce = hex::decode(&nonce_hex).unwrap();
    paravisor::write_bound_report(
        &sim.tcti(),
        pki,
        &modulus,
        &nonce,
        TEST_FIRMWARE_ID_KEY_DIGEST,
    )
    .unwrap();
    let out = Command::new(&binary)
        .args(["evidence", "--nonce-hex", &nonce_hex, "--fresh"])
        .args(["--tcti", &sim.tcti(), "--imds-url", &certs.url()])
        .args(["--kds-url", &certs.url()])
        .arg("--cache-dir")
        .arg(dir.join("cache"))
        .arg("--trust-ca")
        .arg(&roots)
        .arg("--trust-vtpm-root")
        .arg(&vtpm_root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let submit = || {
        let (status, body) = http::request(
            &format!("{}/attest?nonce={nonce_hex}", server.url()),
            "POST",
            &[("Content-Type", "application/json")],
            &out.stdout,
        )
        .unwrap();
        (status, serde_json::from_slice::<Value>(&body).unwrap())
    };
    let (status, answer) = submit();
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["secret"], "the secret");
    assert_eq!(answer["verdict"]["report_bound_to_nonce"], true);
    let (status, answer) = submit();
    assert_eq!(
        (status, answer["failed_check"].as_str()),
        (403, Some("nonce"))
    );
    let _ = std::fs::remove_dir_all(&dir);
}
