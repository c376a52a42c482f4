//! The caller's `ArtifactCheck`: run on everything a source sends before it is returned or
//! cached, and on every cache hit (a refused entry is removed and fetched again, once); CRLs
//! kept at most 24 h. Against real loopback servers and the real Milan vectors.
//!
//! The check here is the test's own (amd-kds has no verifier): it pins the Milan ARK by its
//! SHA-256, compares a VCEK's hwID and SPL extensions with the request and accepts only CRLs
//! it was told about. The facade's check, which verifies signatures under pinned roots, is
//! tested against the same attacks in `crates/cli/tests/fetch_trust.rs`.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use amd_kds::{
    ArtifactCheck, CaCertificate, CertChain, Certificate, CertificateSource, ChainKind, Crl, Error,
    Source, VcekRequest,
};
use hcl_parse::{Generation, SnpReport};
use sha2::Digest;
use snp_vtpm_testkit::pki::{CrlSpec, TestPki};
use support::*;

/// 2099-01-01T00:00:00Z: the nextUpdate of a CRL that wants to be kept forever.
const YEAR_2099: u64 = 4_070_908_800;
/// The simulated clock's start (see `sim_clock`).
const START: u64 = 1_717_200_000;

fn milan_request() -> VcekRequest {
    let raw = milan_report();
    VcekRequest::from_report(&SnpReport::from_bytes(&raw).unwrap(), Generation::Milan).unwrap()
}

fn hwid_of(der: &[u8]) -> Vec<u8> {
    vcek_extension(der, "4").expect("a VCEK has a hwID")
}

/// The test's check: the Milan ARK pinned, VCEK extensions equal to the request, and only the
/// CRLs in `crls`. Counts its calls.
#[derive(Default)]
struct TestCheck {
    crls: Mutex<Vec<Vec<u8>>>,
    calls: AtomicUsize,
}

impl TestCheck {
    fn accepting_crl(crl: &[u8]) -> Arc<Self> {
        let check = Self::default();
        check.crls.lock().unwrap().push(crl.to_vec());
        Arc::new(check)
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl ArtifactCheck for TestCheck {
    fn check_chain(
        &self,
        product: Generation,
        _kind: ChainKind,
        chain: &CertChain,
        _now: SystemTime,
    ) -> Result<(), String> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let pinned: [u8; 32] = sha2::Sha256::digest(pem_der("amd/milan/ark.pem")).into();
        let found: [u8; 32] = sha2::Sha256::digest(chain.ark_der()).into();
        if product == Generation::Milan && found == pinned {
            Ok(())
        } else {
            Err(format!("ARK {} is not pinned", hex(&found)))
        }
    }

    fn check_vcek(
        &self,
        request: &VcekRequest,
        vcek: &Certificate,
        chain: &CertChain,
        now: SystemTime,
    ) -> Result<(), String> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.check_chain(request.product(), ChainKind::Vcek, chain, now)?;
        let found = hwid_of(vcek.der());
        if found != request.hw_id() {
            return Err(format!(
                "it is the VCEK of hwID {}, expected {}",
                hex(&found[..8]),
                hex(&request.hw_id()[..8])
            ));
        }
        let tcb = request.tcb();
        let spls = [
            ("3.1", tcb.bootloader),
            ("3.2", tcb.tee),
            ("3.3", tcb.snp),
            ("3.8", tcb.microcode),
        ];
        for (suffix, expected) in spls {
            let found = vcek_spl(vcek.der(), suffix);
            if found != expected {
                return Err(format!("SPL {suffix} is {found}, expected {expected}"));
            }
        }
        Ok(())
    }

    fn check_crl(
        &self,
        product: Generation,
        crl: &Crl,
        chain: &CertChain,
        now: SystemTime,
    ) -> Result<(), String> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.check_chain(product, ChainKind::Vcek, chain, now)?;
        if self.crls.lock().unwrap().iter().any(|c| c == crl.der()) {
            Ok(())
        } else {
            Err("not signed by the pinned ARK".to_string())
        }
    }

    fn check_issuer(
        &self,
        _child: &[u8],
        _issuer: &CaCertificate,
        _now: SystemTime,
    ) -> Result<(), String> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Err("issuers are tested in issuer.rs".to_string())
    }
    fn check_tdx_collateral(
        &self,
        _: &tdx_verify::CollateralRequest,
        _: &tdx_verify::Collateral,
        _: SystemTime,
    ) -> Result<(), String> {
        Err("TDX collateral is tested in pcs.rs".to_string())
    }
}

/// The THIM JSON with `vcek`, the genuine Milan chain, and the request's TCB as `tcbm`.
fn thim(vcek: &[u8], chain: &[u8]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "vcekCert": pem("CERTIFICATE", vcek),
        "certificateChain": String::from_utf8(chain.to_vec()).unwrap(),
        "tcbm": milan_request().tcb_version().to_string(),
        "cacheControl": "86400",
    }))
    .unwrap()
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
    out.sort();
    out
}

/// The cache's files, relative to its folder.
fn cached(cache: &TempDir) -> Vec<String> {
    files_under(cache.path())
        .iter()
        .map(|p| p.strip_prefix(cache.path()).unwrap().display().to_string())
        .collect()
}

fn checked_client(
    server: &TestServer,
    cache: &TempDir,
    check: &Arc<TestCheck>,
    clock: &Arc<amd_kds::SimulatedClock>,
) -> CertificateSource {
    kds_source(server, Some(cache), exact_policy(2, 60), clock).with_check(check.clone())
}

#[test]
fn another_chips_vcek_from_kds_is_refused_and_nothing_is_cached() {
    let cache = TempDir::new("check-kds-vcek");
    let bodies = Arc::new(Mutex::new(Bodies {
        vcek: other_chip_vcek(),
        ..genuine_bodies()
    }));
    let kds = certificate_service(&bodies);
    let check = Arc::new(TestCheck::default());
    let client = checked_client(&kds, &cache, &check, &sim_clock());
    let request = milan_request();

    let e = client.vcek(&request).unwrap_err();
    assert!(e.is_refused() && !e.is_unavailable(), "{e:?}");
    let message = e.to_string();
    for needle in [
        "AMD KDS sent a VCEK that was refused",
        "nothing was cached",
        &format!("hwID {}", hex(&hwid_of(&other_chip_vcek())[..8])),
        &format!("expected {}", hex(&request.hw_id()[..8])),
        &format!("GET {}", client.kds().vcek_url(&request)),
    ] {
        assert!(message.contains(needle), "\"{needle}\" not in {message}");
    }
    assert!(matches!(e, Error::Refused { .. }));
    assert!(
        !cached(&cache).iter().any(|f| f.ends_with(".der")),
        "no VCEK cached: {:?}",
        cached(&cache)
    );

    // KDS repaired: the genuine VCEK is fetched, cached, and served from the cache.
    bodies.lock().unwrap().vcek = genuine_vcek();
    let vcek = client.vcek(&request).unwrap();
    assert_eq!(
        (vcek.source, vcek.value.der()),
        (Source::Kds, &genuine_vcek()[..])
    );
    let again = client.vcek(&request).unwrap();
    assert_eq!(again.source, Source::Cache);
    assert_eq!(
        std::fs::read(client.cache().vcek_path(&request).unwrap()).unwrap(),
        genuine_vcek()
    );
}

#[test]
fn another_chips_vcek_from_imds_with_the_right_tcbm_is_refused() {
    let cache = TempDir::new("check-imds-vcek");
    let clock = sim_clock();
    let bodies = Arc::new(Mutex::new(Bodies {
        thim: thim(&other_chip_vcek(), &kds_chain_pem("milan", "ask")),
        ..genuine_bodies()
    }));
    let kds = certificate_service(&bodies);
    let imds = certificate_service(&bodies);
    let check = Arc::new(TestCheck::default());
    let source = checked_client(&kds, &cache, &check, &clock).with_imds(imds_client(&imds, &clock));
    let request = milan_request();

    let e = source.vcek(&request).unwrap_err();
    let message = e.to_string();
    for needle in [
        "Azure IMDS sent a VCEK that was refused",
        &format!("hwID {}", hex(&hwid_of(&other_chip_vcek())[..8])),
        "/metadata/THIM/amd/certification",
    ] {
        assert!(message.contains(needle), "\"{needle}\" not in {message}");
    }
    assert_eq!(
        kds.count(),
        0,
        "a lying IMDS is reported, not worked around"
    );
    assert!(
        !cached(&cache).iter().any(|f| f.ends_with(".der")),
        "no VCEK cached: {:?}",
        cached(&cache)
    );

    // IMDS repaired: its VCEK is used and cached.
    bodies.lock().unwrap().thim = thim(&genuine_vcek(), &kds_chain_pem("milan", "ask"));
    let vcek = source.vcek(&request).unwrap();
    assert_eq!(
        (vcek.source, vcek.value.der()),
        (Source::Imds, &genuine_vcek()[..])
    );
    assert_eq!(source.vcek(&request).unwrap().source, Source::Cache);
}

#[test]
fn a_foreign_chain_from_kds_or_imds_is_refused_and_not_cached() {
    let cache = TempDir::new("check-chain");
    let clock = sim_clock();
    let foreign = TestPki::shared()
        .product(Generation::Milan)
        .vcek_chain_pem()
        .into_bytes();
    let bodies = Arc::new(Mutex::new(Bodies {
        chain: foreign.clone(),
        thim: thim(&genuine_vcek(), &foreign),
        ..genuine_bodies()
    }));
    let kds = certificate_service(&bodies);
    let check = Arc::new(TestCheck::default());
    let client = checked_client(&kds, &cache, &check, &clock);

    let e = client
        .cert_chain(Generation::Milan, ChainKind::Vcek)
        .unwrap_err();
    let message = e.to_string();
    assert!(
        message.contains("AMD KDS sent a VCEK certificate chain (ASK, ARK) that was refused")
            && message.contains("is not pinned")
            && message.contains("/vcek/v1/Milan/cert_chain"),
        "{message}"
    );
    // A VCEK needs its chain first: refused too, and nothing of it cached.
    assert!(client.vcek(&milan_request()).unwrap_err().is_refused());
    assert_eq!(cached(&cache), Vec::<String>::new());

    // The same chain from IMDS.
    let imds = certificate_service(&bodies);
    let source = client.clone().with_imds(imds_client(&imds, &clock));
    let e = source.vcek(&milan_request()).unwrap_err();
    assert!(
        e.to_string()
            .contains("Azure IMDS sent a VCEK certificate chain (ASK, ARK) that was refused"),
        "{e}"
    );
    assert_eq!(cached(&cache), Vec::<String>::new());

    // The genuine chain is accepted and cached.
    bodies.lock().unwrap().chain = kds_chain_pem("milan", "ask");
    let chain = client
        .cert_chain(Generation::Milan, ChainKind::Vcek)
        .unwrap();
    assert_eq!(chain.value.ark_der(), pem_der("amd/milan/ark.pem"));
    assert_eq!(cached(&cache), ["vcek/Milan/cert_chain.pem"]);
}

#[test]
fn a_poisoned_cache_entry_is_evicted_and_fetched_again_once() {
    let cache = TempDir::new("check-evict");
    let bodies = Arc::new(Mutex::new(genuine_bodies()));
    let kds = certificate_service(&bodies);
    let check = Arc::new(TestCheck::default());
    let client = checked_client(&kds, &cache, &check, &sim_clock());
    let request = milan_request();
    let path = client.cache().vcek_path(&request).unwrap();

    // What the old code left behind: another chip's VCEK under this chip's key.
    client
        .cache()
        .store_vcek(
            &request,
            &Certificate::from_bytes(&other_chip_vcek()).unwrap(),
        )
        .unwrap();
    let vcek = client.vcek(&request).unwrap();
    assert_eq!(
        (vcek.source, vcek.value.der()),
        (Source::Kds, &genuine_vcek()[..])
    );
    assert_eq!(std::fs::read(&path).unwrap(), genuine_vcek(), "repaired");

    // Poisoned again while KDS sends the same wrong VCEK: one more request, then an error,
    // and the entry is gone.
    client
        .cache()
        .store_vcek(
            &request,
            &Certificate::from_bytes(&other_chip_vcek()).unwrap(),
        )
        .unwrap();
    bodies.lock().unwrap().vcek = other_chip_vcek();
    let vcek_requests = |server: &TestServer| {
        server
            .targets()
            .iter()
            .filter(|t| t.contains("blSPL"))
            .count()
    };
    let before = vcek_requests(&kds);
    let e = client.vcek(&request).unwrap_err();
    assert!(e.is_refused(), "{e}");
    assert_eq!(
        vcek_requests(&kds),
        before + 1,
        "fetched again exactly once"
    );
    assert!(!path.exists());

    // Offline, a poisoned entry is removed and the error says why.
    client
        .cache()
        .store_vcek(
            &request,
            &Certificate::from_bytes(&other_chip_vcek()).unwrap(),
        )
        .unwrap();
    let offline = checked_client(&kds, &cache, &check, &sim_clock()).with_offline(true);
    let e = offline.vcek(&request).unwrap_err();
    assert!(matches!(e, Error::NotCachedOffline { .. }), "{e:?}");
    assert!(
        e.to_string().contains("was refused") && e.to_string().contains("hwID"),
        "{e}"
    );
    assert!(!path.exists());
}

#[test]
fn every_cache_hit_is_checked() {
    let cache = TempDir::new("check-hits");
    let bodies = Arc::new(Mutex::new(genuine_bodies()));
    let kds = certificate_service(&bodies);
    let check = Arc::new(TestCheck::default());
    let client = checked_client(&kds, &cache, &check, &sim_clock());
    let request = milan_request();
    client.vcek(&request).unwrap();
    let (calls, requests) = (check.calls(), kds.count());
    assert_eq!(requests, 2, "the VCEK, then the chain to check it under");
    assert_eq!(client.vcek(&request).unwrap().source, Source::Cache);
    assert!(check.calls() > calls, "the hit was checked");
    assert_eq!(kds.count(), requests, "with the cached chain: no request");
}

#[test]
fn a_known_chain_checks_cached_vceks_offline() {
    let cache = TempDir::new("check-known");
    let bodies = Arc::new(Mutex::new(genuine_bodies()));
    let kds = certificate_service(&bodies);
    let check = Arc::new(TestCheck::default());
    let request = milan_request();
    let offline = checked_client(&kds, &cache, &check, &sim_clock()).with_offline(true);
    offline
        .cache()
        .store_vcek(&request, &Certificate::from_bytes(&genuine_vcek()).unwrap())
        .unwrap();

    // No chain cached: the VCEK cannot be checked, so it is not used (and not removed).
    let e = offline.clone().vcek(&request).unwrap_err();
    assert!(e.to_string().contains("cannot be checked"), "{e}");
    assert!(offline.cache().vcek_path(&request).unwrap().exists());

    // With the caller's chain it can.
    let chain =
        CertChain::from_bytes(&kds_chain_pem("milan", "ask"), ChainKind::Vcek, None).unwrap();
    let source = offline.with_known_chain(chain);
    assert_eq!(source.vcek(&request).unwrap().source, Source::Cache);
    assert_eq!(kds.count(), 0);
    assert!(
        !cached(&cache).iter().any(|f| f.contains("cert_chain")),
        "a known chain is not cached"
    );
}

#[test]
fn a_forged_crl_with_next_update_2099_is_refused_and_not_cached() {
    let cache = TempDir::new("check-crl-forged");
    let pki = TestPki::shared();
    let forged = pki.crl(Generation::Milan, &CrlSpec::new(START - 100, YEAR_2099));
    let genuine = pki.crl(
        Generation::Milan,
        &CrlSpec::new(START - 100, START + 86_400),
    );
    let bodies = Arc::new(Mutex::new(Bodies {
        crl: forged,
        ..genuine_bodies()
    }));
    let kds = certificate_service(&bodies);
    let check = TestCheck::accepting_crl(&genuine);
    let client = checked_client(&kds, &cache, &check, &sim_clock());

    let e = client.crl(Generation::Milan).unwrap_err();
    let message = e.to_string();
    assert!(
        message.contains("AMD KDS sent a CRL that was refused")
            && message.contains("not signed by the pinned ARK")
            && message.contains("/vcek/v1/Milan/crl"),
        "{message}"
    );
    assert!(
        !cached(&cache).iter().any(|f| f.contains("crl")),
        "{:?}",
        cached(&cache)
    );

    bodies.lock().unwrap().crl = genuine.clone();
    let crl = client.crl(Generation::Milan).unwrap();
    assert_eq!((crl.source, crl.value.der()), (Source::Kds, &genuine[..]));
    assert_eq!(client.crl(Generation::Milan).unwrap().source, Source::Cache);
}

#[test]
fn a_crl_is_kept_at_most_24_hours_whatever_its_next_update() {
    let cache = TempDir::new("check-crl-24h");
    let clock = sim_clock();
    let pki = TestPki::shared();
    let far = pki.crl(Generation::Milan, &CrlSpec::new(START - 100, YEAR_2099));
    let bodies = Arc::new(Mutex::new(Bodies {
        crl: far.clone(),
        ..genuine_bodies()
    }));
    let kds = certificate_service(&bodies);
    let check = TestCheck::accepting_crl(&far);
    let client = checked_client(&kds, &cache, &check, &clock);
    let crl_requests = || kds.targets().iter().filter(|t| t.ends_with("/crl")).count();

    assert_eq!(client.crl(Generation::Milan).unwrap().source, Source::Kds);
    clock.advance(Duration::from_secs(24 * 3600 - 1));
    assert_eq!(client.crl(Generation::Milan).unwrap().source, Source::Cache);
    assert_eq!(crl_requests(), 1);
    clock.advance(Duration::from_secs(1)); // 24 h after the fetch
    assert_eq!(client.crl(Generation::Milan).unwrap().source, Source::Kds);
    assert_eq!(crl_requests(), 2, "refetched after 24 h, not in 2099");
    let stored =
        std::fs::read_to_string(client.cache().crl_path(Generation::Milan).unwrap()).unwrap();
    assert!(
        stored.starts_with(&format!("fetched-at: {}\n", START + 24 * 3600)),
        "{stored}"
    );

    // Offline after 24 h: a clear error, no network.
    clock.advance(Duration::from_secs(24 * 3600));
    let offline = checked_client(&kds, &cache, &check, &clock).with_offline(true);
    let e = offline.crl(Generation::Milan).unwrap_err();
    assert!(e.to_string().contains("kept at most 24 h"), "{e}");
    assert_eq!(crl_requests(), 2);

    // A cached CRL without a recorded fetch time (an older cache) is not used.
    let path = client.cache().crl_path(Generation::Milan).unwrap();
    std::fs::write(&path, Crl::from_bytes(&far).unwrap().to_pem()).unwrap();
    let e = offline.crl(Generation::Milan).unwrap_err();
    assert!(
        e.to_string().contains("does not say when it was fetched"),
        "{e}"
    );
}

#[test]
fn a_source_sharing_a_cache_checks_what_another_source_fetched_for_it() {
    // Two sources on one Cache (clones share it, and its single flight): the first without a
    // check, the second with one. KDS answers the VCEK slowly, with another chip's VCEK, so
    // the second source waits on the first one's fetch and is handed its result.
    let dir = TempDir::new("check-shared-flight");
    let kds = TestServer::start(|_, request| {
        if request.target.ends_with("/cert_chain") {
            return Reply::ok(kds_chain_pem("milan", "ask"));
        }
        std::thread::sleep(Duration::from_millis(600));
        Reply::ok(other_chip_vcek())
    });
    let clock = sim_clock();
    let cache = cache_in(Some(&dir));
    let unchecked =
        CertificateSource::new(kds_client(&kds, exact_policy(2, 60), &clock), cache.clone());
    let check = Arc::new(TestCheck::default());
    let checked = CertificateSource::new(kds_client(&kds, exact_policy(2, 60), &clock), cache)
        .with_check(check.clone());
    let request = milan_request();
    // The checked source's chain first, so that its VCEK request meets the other's in flight.
    checked
        .cert_chain(Generation::Milan, ChainKind::Vcek)
        .unwrap();

    let (first, second) = std::thread::scope(|scope| {
        let first = scope.spawn(|| unchecked.vcek(&request));
        std::thread::sleep(Duration::from_millis(200));
        let second = scope.spawn(|| checked.vcek(&request));
        (first.join().unwrap(), second.join().unwrap())
    });
    // The source without a check takes what it was sent; the other refuses it.
    assert_eq!(first.unwrap().value.der(), &other_chip_vcek()[..]);
    let e = second.unwrap_err();
    assert!(e.is_refused(), "{e:?}");
    assert!(
        !cached(&dir).iter().any(|f| f.ends_with(".der")),
        "the refused VCEK is not left in the cache: {:?}",
        cached(&dir)
    );
}
