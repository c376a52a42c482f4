//! Certificate cache poisoning (issue 15, item 2): what a source sends must verify under pinned
//! roots before the facade's source caches or returns it. Each attack against a loopback
//! KDS/IMDS: the error names the source and what it sent, nothing is cached, and genuine
//! evidence verifies afterwards.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../../amd-kds/tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use hcl_parse::{Generation, SnpReport};
use snp_verify::{UnixTime, VerifiedCaChain};
use snp_vtpm::fetch::{self, FetchOptions};
use snp_vtpm::{Certificates, ErrorKind, EvidencePolicy, Verifier, VerifyOptions};
use snp_vtpm_testkit::pki::{CrlSpec, LeafSpec, TestPki};
use snp_vtpm_testkit::vectors;
use support::{
    Bodies, TempDir, TestServer, certificate_service, genuine_bodies, genuine_vcek, hex,
    kds_chain_pem, other_chip_vcek, pem,
};

/// 2099-01-01T00:00:00Z.
const YEAR_2099: u64 = 4_070_908_800;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn report() -> Vec<u8> {
    vectors::raw_milan_report()
}

fn request() -> snp_vtpm::amd_kds::VcekRequest {
    let raw = report();
    snp_vtpm::amd_kds::VcekRequest::from_report(
        &SnpReport::from_bytes(&raw).unwrap(),
        Generation::Milan,
    )
    .unwrap()
}

/// A VCEK with exactly the report's hwID and SPLs, signed by a key that is not AMD's.
fn self_made_vcek() -> Vec<u8> {
    let request = request();
    TestPki::shared()
        .issue_leaf(&LeafSpec::vcek(
            Generation::Milan,
            request.hw_id(),
            request.tcb(),
        ))
        .der
}

fn thim(vcek: &[u8]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "vcekCert": pem("CERTIFICATE", vcek),
        "certificateChain": String::from_utf8(kds_chain_pem("milan", "ask")).unwrap(),
        "tcbm": request().tcb_version().to_string(),
    }))
    .unwrap()
}

fn fetch_options(server: &TestServer, cache: &TempDir) -> FetchOptions {
    FetchOptions {
        kds_url: Some(server.base_url()),
        imds_url: Some(server.base_url()),
        cache_dir: Some(cache.path().to_path_buf()),
        ..FetchOptions::default()
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn cached(cache: &TempDir) -> Vec<String> {
    let mut files: Vec<String> = files_under(cache.path())
        .iter()
        .map(|p| p.strip_prefix(cache.path()).unwrap().display().to_string())
        .collect();
    files.sort();
    files
}

/// Completes the certificates of the raw Milan report through `options`.
fn complete(
    options: &FetchOptions,
    certificates: &mut Certificates,
) -> Result<(), snp_vtpm::Error> {
    let raw = report();
    let report = SnpReport::from_bytes(&raw).unwrap();
    let (have_leaf, have_chain) = (!certificates.leaves.is_empty(), !certificates.ca.is_empty());
    fetch::complete(
        &options.source()?,
        &report,
        Some(Generation::Milan),
        have_leaf,
        have_chain,
        certificates,
    )
}

/// The raw Milan report verifies with `certificates` (AMD roots, the snp-default preset).
fn assert_report_verifies(certificates: &Certificates) {
    let policy = EvidencePolicy::preset(snp_vtpm::DEFAULT_REPORT_PRESET).unwrap();
    let options = VerifyOptions::at(UnixTime::from_secs(now()));
    let verified = Verifier::new(policy)
        .verify_raw_report(&report(), certificates, &options)
        .unwrap();
    assert_eq!(verified.product(), Generation::Milan);
}

fn assert_refused(error: &snp_vtpm::Error, needles: &[&str]) {
    assert_eq!(error.kind(), ErrorKind::Unavailable, "{error}");
    let message = error.to_string();
    for needle in needles {
        assert!(message.contains(needle), "\"{needle}\" not in {message}");
    }
}

fn first_8_bytes(der: &[u8]) -> String {
    let hwid = support::vcek_extension(der, "4").unwrap();
    format!("{}...", hex(&hwid[..8]))
}

#[test]
fn another_chips_vcek_from_kds_is_refused_and_genuine_evidence_then_verifies() {
    let cache = TempDir::new("trust-kds-vcek");
    let bodies = Arc::new(Mutex::new(Bodies {
        vcek: other_chip_vcek(),
        ..genuine_bodies()
    }));
    let kds = certificate_service(&bodies);
    let options = fetch_options(&kds, &cache);

    let e = complete(&options, &mut Certificates::default()).unwrap_err();
    assert_refused(
        &e,
        &[
            "AMD KDS sent a VCEK that was refused, and nothing was cached",
            &format!(
                "it is the VCEK of hwID {}",
                first_8_bytes(&other_chip_vcek())
            ),
            &format!("expected {}...", hex(&request().hw_id()[..8])),
            &format!("GET {}/vcek/v1/Milan/", kds.base_url()),
        ],
    );
    assert!(
        !cached(&cache).iter().any(|f| f.ends_with(".der")),
        "{:?}",
        cached(&cache)
    );

    bodies.lock().unwrap().vcek = genuine_vcek();
    let mut certificates = Certificates::default();
    complete(&options, &mut certificates).unwrap();
    assert_eq!(certificates.leaves, [genuine_vcek()]);
    assert_report_verifies(&certificates);
}

#[test]
fn another_chips_vcek_from_imds_is_refused_and_genuine_evidence_then_verifies() {
    let cache = TempDir::new("trust-imds-vcek");
    let bodies = Arc::new(Mutex::new(Bodies {
        thim: thim(&other_chip_vcek()),
        ..genuine_bodies()
    }));
    let imds = certificate_service(&bodies);
    let options = FetchOptions {
        use_imds: true,
        ..fetch_options(&imds, &cache)
    };

    let e = complete(&options, &mut Certificates::default()).unwrap_err();
    assert_refused(
        &e,
        &[
            "Azure IMDS sent a VCEK that was refused",
            &format!("hwID {}", first_8_bytes(&other_chip_vcek())),
            "/metadata/THIM/amd/certification",
        ],
    );
    assert!(
        !cached(&cache).iter().any(|f| f.ends_with(".der")),
        "{:?}",
        cached(&cache)
    );

    bodies.lock().unwrap().thim = thim(&genuine_vcek());
    let mut certificates = Certificates::default();
    complete(&options, &mut certificates).unwrap();
    assert_report_verifies(&certificates);
    assert!(
        !imds.targets().iter().any(|t| t.starts_with("/vcek/")),
        "IMDS answered everything"
    );
}

#[test]
fn a_self_made_vcek_with_the_right_extensions_is_refused() {
    let cache = TempDir::new("trust-self-made");
    let forged = self_made_vcek();
    assert_eq!(
        support::vcek_extension(&forged, "4").unwrap(),
        request().hw_id(),
        "the forgery names the right chip"
    );
    let bodies = Arc::new(Mutex::new(Bodies {
        vcek: forged,
        ..genuine_bodies()
    }));
    let kds = certificate_service(&bodies);
    let options = fetch_options(&kds, &cache);

    let e = complete(&options, &mut Certificates::default()).unwrap_err();
    assert_refused(
        &e,
        &[
            "AMD KDS sent a VCEK that was refused",
            "it does not verify under the pinned Milan chain",
        ],
    );
    assert!(
        !cached(&cache).iter().any(|f| f.ends_with(".der")),
        "{:?}",
        cached(&cache)
    );

    bodies.lock().unwrap().vcek = genuine_vcek();
    let mut certificates = Certificates::default();
    complete(&options, &mut certificates).unwrap();
    assert_report_verifies(&certificates);
}

#[test]
fn a_foreign_chain_is_refused_and_genuine_evidence_then_verifies() {
    let cache = TempDir::new("trust-chain");
    let foreign = TestPki::shared()
        .product(Generation::Milan)
        .vcek_chain_pem()
        .into_bytes();
    let bodies = Arc::new(Mutex::new(Bodies {
        chain: foreign,
        ..genuine_bodies()
    }));
    let kds = certificate_service(&bodies);
    let options = fetch_options(&kds, &cache);

    // The VCEK is at hand; the chain is fetched.
    let mut certificates = Certificates {
        leaves: vec![genuine_vcek()],
        ..Certificates::default()
    };
    let e = complete(&options, &mut certificates).unwrap_err();
    assert_refused(
        &e,
        &[
            "AMD KDS sent a VCEK certificate chain (ASK, ARK) that was refused",
            "the chain does not verify under the pinned roots: ARK is not trusted",
            "/vcek/v1/Milan/cert_chain",
        ],
    );
    assert_eq!(cached(&cache), Vec::<String>::new());

    bodies.lock().unwrap().chain = kds_chain_pem("milan", "ask");
    complete(&options, &mut certificates).unwrap();
    assert_report_verifies(&certificates);
    assert_eq!(cached(&cache), ["vcek/Milan/cert_chain.pem"]);
}

#[test]
fn a_poisoned_cache_is_repaired_and_genuine_evidence_verifies() {
    let cache = TempDir::new("trust-poisoned");
    let bodies = Arc::new(Mutex::new(genuine_bodies()));
    let kds = certificate_service(&bodies);
    let options = fetch_options(&kds, &cache);
    // What the old code could leave: another chip's VCEK under this chip's key.
    let store = snp_vtpm::amd_kds::Cache::new(cache.path());
    store
        .store_vcek(
            &request(),
            &snp_vtpm::amd_kds::Certificate::from_bytes(&other_chip_vcek()).unwrap(),
        )
        .unwrap();

    let mut certificates = Certificates::default();
    complete(&options, &mut certificates).unwrap();
    assert_eq!(
        certificates.leaves,
        [genuine_vcek()],
        "evicted, fetched again"
    );
    assert_eq!(
        std::fs::read(store.vcek_path(&request()).unwrap()).unwrap(),
        genuine_vcek()
    );
    assert_report_verifies(&certificates);
}

/// The test PKI as anchors: the only way to have a genuine CRL (no real one is in the vectors).
fn test_pki_options(server: &TestServer, cache: &TempDir) -> FetchOptions {
    FetchOptions {
        anchors: Some(TestPki::shared().trust_anchors()),
        ..fetch_options(server, cache)
    }
}

fn test_pki_bodies(crl: Vec<u8>) -> Bodies {
    Bodies {
        chain: TestPki::shared()
            .product(Generation::Milan)
            .vcek_chain_pem()
            .into_bytes(),
        crl,
        ..Bodies::default()
    }
}

#[test]
fn a_forged_crl_with_next_update_2099_is_refused_and_not_cached() {
    let cache = TempDir::new("trust-crl");
    let t = now();
    // Same names as the test PKI's ARK, another key.
    let forged = TestPki::new(2).crl(Generation::Milan, &CrlSpec::new(t - 60, YEAR_2099));
    let genuine = TestPki::shared().crl(Generation::Milan, &CrlSpec::new(t - 60, t + 86_400));
    let bodies = Arc::new(Mutex::new(test_pki_bodies(forged)));
    let kds = certificate_service(&bodies);
    let options = test_pki_options(&kds, &cache);

    let e = fetch::crl(&options.source().unwrap(), Generation::Milan).unwrap_err();
    assert_refused(
        &e,
        &[
            "AMD KDS sent a CRL that was refused, and nothing was cached",
            "not signed by the pinned ARK",
            "nextUpdate 2099-01-01T00:00:00Z",
            "/vcek/v1/Milan/crl",
        ],
    );
    assert!(!cached(&cache).iter().any(|f| f.contains("crl")));

    // Under AMD's roots, the test PKI's own CRL is just as forged.
    let amd = fetch_options(&kds, &cache);
    bodies.lock().unwrap().chain = kds_chain_pem("milan", "ask");
    bodies.lock().unwrap().crl = genuine.clone();
    let e = fetch::crl(&amd.source().unwrap(), Generation::Milan).unwrap_err();
    assert_refused(&e, &["AMD KDS sent a CRL that was refused"]);
    assert!(!cached(&cache).iter().any(|f| f.contains("crl")));

    // The genuine CRL (under the test roots) is cached and checks the chain.
    let cache = TempDir::new("trust-crl-genuine");
    *bodies.lock().unwrap() = test_pki_bodies(genuine.clone());
    let options = test_pki_options(&kds, &cache);
    let der = fetch::crl(&options.source().unwrap(), Generation::Milan).unwrap();
    assert_eq!(der, genuine);
    assert!(cached(&cache).contains(&"vcek/Milan/crl.pem".to_string()));
    let ca = &TestPki::shared().product(Generation::Milan);
    let chain = VerifiedCaChain::verify(
        &TestPki::shared().trust_anchors(),
        &ca.ark_der,
        &ca.ask_der,
        UnixTime::from_secs(t),
    )
    .unwrap();
    snp_verify::verify_crl_signature(&chain, &der).unwrap();
}

#[test]
fn a_cached_crl_is_used_for_at_most_24_hours_and_offline_too() {
    let cache = TempDir::new("trust-crl-age");
    let t = now();
    let crl = TestPki::shared().crl(Generation::Milan, &CrlSpec::new(t - 60, YEAR_2099));
    let bodies = Arc::new(Mutex::new(test_pki_bodies(crl.clone())));
    let kds = certificate_service(&bodies);
    let options = test_pki_options(&kds, &cache);
    let pem_crl = snp_vtpm::amd_kds::Crl::from_bytes(&crl).unwrap().to_pem();
    let path = cache.path().join("vcek/Milan/crl.pem");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let crl_requests = || kds.targets().iter().filter(|t| t.ends_with("/crl")).count();
    let held = Certificates {
        ca: vec![
            TestPki::shared().product(Generation::Milan).ask_der.clone(),
            TestPki::shared().product(Generation::Milan).ark_der.clone(),
        ],
        ..Certificates::default()
    };

    // Fetched an hour ago: used, offline too, checked under the chain the caller holds.
    std::fs::write(&path, format!("fetched-at: {}\n{pem_crl}", t - 3600)).unwrap();
    let offline = FetchOptions {
        offline: true,
        ..options.clone()
    };
    let der = fetch::crl_for(&offline.source().unwrap(), Generation::Milan, &held).unwrap();
    assert_eq!(der, crl);
    assert_eq!(kds.count(), 0);

    // Fetched 25 hours ago: not used offline (exit 4), fetched again online.
    std::fs::write(&path, format!("fetched-at: {}\n{pem_crl}", t - 25 * 3600)).unwrap();
    let e = fetch::crl_for(&offline.source().unwrap(), Generation::Milan, &held).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert!(e.to_string().contains("kept at most 24 h"), "{e}");
    fetch::crl_for(&options.source().unwrap(), Generation::Milan, &held).unwrap();
    assert_eq!(crl_requests(), 1);
    let stored = std::fs::read_to_string(&path).unwrap();
    let fetched_at: u64 = stored
        .strip_prefix("fetched-at: ")
        .and_then(|rest| rest.lines().next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(fetched_at >= t, "the new fetch time is recorded");
}

#[test]
fn imds_vcek_is_checked_before_it_is_printed() {
    let cache = TempDir::new("trust-imds-only");
    let bodies = Arc::new(Mutex::new(Bodies {
        thim: thim(&self_made_vcek()),
        ..genuine_bodies()
    }));
    let imds = certificate_service(&bodies);
    let options = FetchOptions {
        use_imds: true,
        ..fetch_options(&imds, &cache)
    };
    let e = fetch::imds_vcek(&options).unwrap_err();
    assert_refused(
        &e,
        &[
            "Azure IMDS sent a VCEK that was refused",
            "does not verify under the pinned Milan chain",
        ],
    );
    bodies.lock().unwrap().thim = thim(&genuine_vcek());
    assert_eq!(fetch::imds_vcek(&options).unwrap().der(), genuine_vcek());
}
