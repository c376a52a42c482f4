//! TDX collateral from a PCS v4 service: Azure's real collateral served by a loopback server
//! the way PCS serves it (signed documents in bodies, issuer chains URL-encoded in headers),
//! checked by the real verifier (`tdx_verify::verify_collateral` under Intel's pinned root) on
//! a simulated clock at the sample's time. Then the cache (a day at most, refused entries
//! removed), offline mode, fallback to a second service, single flight and refused answers.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use amd_kds::{
    ArtifactCheck, ArtifactKind, CaCertificate, CertChain, Certificate, CertificateSource,
    ChainKind, Crl, Error, SimulatedClock, Source, VcekRequest,
};
use hcl_parse::Generation;
use support::*;
use tdx_verify::{Collateral, CollateralRequest, IntelRoots, verify_collateral};

/// 2026-02-18T14:04:40Z: when Azure's sample was taken, inside its collateral.
const AZURE_TIME: u64 = 1_771_423_480;
const FMSPC: &str = "90C06F000000";

fn azure_collateral() -> Collateral {
    Collateral::from_json(&vector("azure/tdx-vm1/intel-collateral.json")).unwrap()
}

fn request() -> CollateralRequest {
    CollateralRequest::of_quote(
        &vector("azure/tdx-vm1/td-quote.bin"),
        &IntelRoots::intel(),
        attest_prims::UnixTime::from_secs(AZURE_TIME),
    )
    .unwrap()
}

/// The real check: the collateral verifies under Intel's pinned root (or a test root) at the
/// source's time. Counts its calls. (Only collateral is asked for here.)
struct IntelCheck {
    calls: AtomicUsize,
    roots: IntelRoots,
}

impl Default for IntelCheck {
    fn default() -> Self {
        Self {
            calls: AtomicUsize::new(0),
            roots: IntelRoots::intel(),
        }
    }
}

impl ArtifactCheck for IntelCheck {
    fn check_chain(
        &self,
        _: Generation,
        _: ChainKind,
        _: &CertChain,
        _: SystemTime,
    ) -> Result<(), String> {
        Err("not asked here".into())
    }
    fn check_vcek(
        &self,
        _: &VcekRequest,
        _: &Certificate,
        _: &CertChain,
        _: SystemTime,
    ) -> Result<(), String> {
        Err("not asked here".into())
    }
    fn check_crl(
        &self,
        _: Generation,
        _: &Crl,
        _: &CertChain,
        _: SystemTime,
    ) -> Result<(), String> {
        Err("not asked here".into())
    }
    fn check_issuer(&self, _: &[u8], _: &CaCertificate, _: SystemTime) -> Result<(), String> {
        Err("not asked here".into())
    }
    fn check_tdx_collateral(
        &self,
        request: &CollateralRequest,
        collateral: &Collateral,
        now: SystemTime,
    ) -> Result<(), String> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let seconds = now.duration_since(UNIX_EPOCH).unwrap().as_secs();
        verify_collateral(
            collateral,
            request,
            &self.roots,
            attest_prims::UnixTime::from_secs(seconds),
        )
        .map(|_| ())
        .map_err(|e| e.to_string())
    }
}

/// A source on `pcs` servers in order (KDS unused), caching in `cache`, checked by `check`.
fn source(
    pcs: &[&TestServer],
    cache: Option<&TempDir>,
    clock: &Arc<SimulatedClock>,
    check: &Arc<IntelCheck>,
) -> CertificateSource {
    let unused_kds = TestServer::always(Reply::status(500));
    let mut source =
        kds_source(&unused_kds, cache, exact_policy(1, 5), clock).with_check(check.clone());
    for server in pcs {
        source = source.with_pcs(pcs_client(server, clock));
    }
    source
}

fn genuine_pcs() -> TestServer {
    let collateral = azure_collateral();
    TestServer::start(move |_, received| pcs_reply(&collateral, FMSPC, &received.target))
}

#[test]
fn collateral_is_fetched_checked_cached_and_served_offline() {
    let server = genuine_pcs();
    let dir = TempDir::new("pcs-cache");
    let clock = Arc::new(SimulatedClock::at_unix(AZURE_TIME));
    let check = Arc::new(IntelCheck::default());

    let fetched = source(&[&server], Some(&dir), &clock, &check)
        .tdx_collateral(&request())
        .unwrap();
    assert_eq!(fetched.source, Source::Pcs);
    assert_eq!(
        fetched.value,
        azure_collateral(),
        "the documents are kept byte for byte"
    );
    let mut targets = server.targets();
    targets.sort();
    assert_eq!(
        targets,
        [
            ROOT_CA_CRL_PATH.to_string(),
            "/sgx/certification/v4/pckcrl?ca=platform&encoding=der".into(),
            "/tdx/certification/v4/qe/identity".into(),
            format!("/tdx/certification/v4/tcb?fmspc={FMSPC}"),
        ]
    );
    let cached = dir.path().join("tdx").join(FMSPC).join("platform.json");
    assert!(cached.is_file(), "{}", cached.display());

    // Offline, a day later less a minute: the cache answers, checked again; no request.
    clock.advance(Duration::from_secs(24 * 3600 - 60));
    let offline = source(&[&server], Some(&dir), &clock, &check).with_offline(true);
    let again = offline.tdx_collateral(&request()).unwrap();
    assert_eq!(again.source, Source::Cache);
    assert_eq!(again.value, azure_collateral());
    assert_eq!(server.count(), 4);
    assert_eq!(check.calls.load(Ordering::SeqCst), 2);

    // A minute later it is a day old: offline cannot answer, online fetches again.
    clock.advance(Duration::from_secs(60));
    let e = offline.tdx_collateral(&request()).unwrap_err();
    assert!(
        matches!(
            e,
            Error::NotCachedOffline {
                kind: ArtifactKind::TdxCollateral,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("more than 24 h ago"), "{e}");
    let refreshed = source(&[&server], Some(&dir), &clock, &check)
        .tdx_collateral(&request())
        .unwrap();
    assert_eq!(refreshed.source, Source::Pcs);
    assert_eq!(server.count(), 8);
}

#[test]
fn collateral_that_does_not_verify_is_refused_and_not_cached() {
    let dir = TempDir::new("pcs-refused");
    let clock = Arc::new(SimulatedClock::at_unix(AZURE_TIME));
    let check = Arc::new(IntelCheck::default());

    // A TCB info whose document was edited after Intel signed it (a higher TCB date).
    let mut edited = azure_collateral();
    edited.tcb_info = edited.tcb_info.replacen("UpToDate", "UpToDatf", 1);
    let server = TestServer::start(move |_, r| pcs_reply(&edited, FMSPC, &r.target));
    let e = source(&[&server], Some(&dir), &clock, &check)
        .tdx_collateral(&request())
        .unwrap_err();
    assert!(e.is_refused(), "{e}");
    assert!(
        e.to_string()
            .contains("TCB info: the signature does not verify"),
        "{e}"
    );
    assert!(!dir.path().join("tdx").exists(), "nothing is cached");

    // Genuine collateral, but asked for after its nextUpdate: refused as expired.
    let late = Arc::new(SimulatedClock::at_unix(AZURE_TIME + 400 * 24 * 3600));
    let server = genuine_pcs();
    let e = source(&[&server], Some(&dir), &late, &check)
        .tdx_collateral(&request())
        .unwrap_err();
    assert!(e.is_refused(), "{e}");
    assert!(
        e.to_string().contains("expected validity to include"),
        "{e}"
    );
    assert!(!dir.path().join("tdx").exists(), "nothing is cached");
}

#[test]
fn answers_without_issuer_chains_are_malformed() {
    let clock = Arc::new(SimulatedClock::at_unix(AZURE_TIME));
    let check = Arc::new(IntelCheck::default());
    let collateral = azure_collateral();
    let server = TestServer::start(move |_, r| match pcs_reply(&collateral, FMSPC, &r.target) {
        Reply::Respond { status, body, .. } => Reply::Respond {
            status,
            headers: Vec::new(),
            body,
        },
        other => other,
    });
    let e = source(&[&server], None, &clock, &check)
        .tdx_collateral(&request())
        .unwrap_err();
    assert!(e.is_malformed(), "{e}");
    assert!(
        e.to_string().contains("has no TCB-Info-Issuer-Chain"),
        "{e}"
    );
    assert_eq!(check.calls.load(Ordering::SeqCst), 0);
}

#[test]
fn a_service_that_cannot_answer_gives_way_to_the_next() {
    let clock = Arc::new(SimulatedClock::at_unix(AZURE_TIME));
    let check = Arc::new(IntelCheck::default());
    let missing = TestServer::always(Reply::status(404));
    let genuine = genuine_pcs();
    let fetched = source(&[&missing, &genuine], None, &clock, &check)
        .tdx_collateral(&request())
        .unwrap();
    assert_eq!(fetched.source, Source::Pcs);
    assert_eq!(missing.count(), 1, "the first 404 ends that service's turn");

    // A service whose answer does not verify, or is not what was asked for, gives way too
    // (everything is verified, so trying the next costs nothing in trust).
    let mut edited = azure_collateral();
    edited.tcb_info_signature[3] ^= 1;
    let refused = TestServer::start(move |_, r| pcs_reply(&edited, FMSPC, &r.target));
    let headless = TestServer::always(Reply::ok("{}"));
    let genuine = genuine_pcs();
    let fetched = source(&[&refused, &headless, &genuine], None, &clock, &check)
        .tdx_collateral(&request())
        .unwrap();
    assert_eq!(fetched.value, azure_collateral());
    assert_eq!(
        (refused.count(), headless.count(), genuine.count()),
        (4, 1, 4)
    );

    // When none helps, the first service's error is the one reported.
    let e = source(&[&refused, &headless], None, &clock, &check)
        .tdx_collateral(&request())
        .unwrap_err();
    assert!(e.is_refused(), "{e}");
    assert!(
        e.to_string()
            .contains("TCB info: the signature does not verify"),
        "{e}"
    );

    // No service at all is a configuration error, not a network one.
    let e = source(&[], None, &clock, &check)
        .tdx_collateral(&request())
        .unwrap_err();
    assert!(
        e.to_string().contains("no PCS service is configured"),
        "{e}"
    );
}

#[test]
fn a_corrupt_or_refused_cache_entry_is_replaced() {
    let server = genuine_pcs();
    let dir = TempDir::new("pcs-corrupt");
    let clock = Arc::new(SimulatedClock::at_unix(AZURE_TIME));
    let check = Arc::new(IntelCheck::default());
    let entry = dir.path().join("tdx").join(FMSPC).join("platform.json");
    std::fs::create_dir_all(entry.parent().unwrap()).unwrap();

    // Not JSON: removed and fetched again.
    std::fs::write(&entry, format!("fetched-at: {AZURE_TIME}\n{{not json")).unwrap();
    let fetched = source(&[&server], Some(&dir), &clock, &check)
        .tdx_collateral(&request())
        .unwrap();
    assert_eq!(fetched.source, Source::Pcs);

    // Well formed but edited (a QE identity signature flipped): the check refuses it on the
    // hit, it is removed, and the genuine one is fetched.
    let mut edited = azure_collateral();
    edited.qe_identity_signature[0] ^= 1;
    std::fs::write(
        &entry,
        format!("fetched-at: {AZURE_TIME}\n{}", edited.to_json()),
    )
    .unwrap();
    let fetched = source(&[&server], Some(&dir), &clock, &check)
        .tdx_collateral(&request())
        .unwrap();
    assert_eq!(fetched.source, Source::Pcs);
    assert_eq!(fetched.value, azure_collateral());
    assert_eq!(server.count(), 8);
}

#[test]
fn concurrent_requests_share_one_download() {
    let server = genuine_pcs();
    let dir = TempDir::new("pcs-flight");
    let clock = Arc::new(SimulatedClock::at_unix(AZURE_TIME));
    let check = Arc::new(IntelCheck::default());
    let shared = source(&[&server], Some(&dir), &clock, &check);
    std::thread::scope(|scope| {
        for _ in 0..4 {
            let shared = shared.clone();
            scope.spawn(move || shared.tdx_collateral(&request()).unwrap());
        }
    });
    assert_eq!(server.count(), 4, "one download of four documents");
}

/// Collateral does not go back: once a copy with a TCB evaluation data number is cached, an
/// older evaluation (still signed and current, as THIM or a stale PCCS serves it) is refused
/// and the cached copy kept; a newer one replaces it.
#[test]
fn older_collateral_does_not_replace_newer() {
    use snp_vtpm_testkit::pki::intel::IntelPki;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let pki = IntelPki::shared();
    let numbered = |number: u64| {
        let collateral = pki.collateral(&azure_collateral(), now, |tcb_info| {
            tcb_info["tcbEvaluationDataNumber"] = number.into();
        });
        TestServer::start(move |_, r| pcs_reply(&collateral, FMSPC, &r.target))
    };
    let request = CollateralRequest {
        fmspc: [0x90, 0xC0, 0x6F, 0, 0, 0],
        ca: tdx_verify::PckCa::Platform,
    };
    let dir = TempDir::new("pcs-rollback");
    let clock = Arc::new(SimulatedClock::at_unix(now));
    let check = Arc::new(IntelCheck {
        calls: AtomicUsize::new(0),
        roots: pki.roots(),
    });
    let (first, older, newer) = (numbered(17), numbered(16), numbered(18));
    let fetched = source(&[&first], Some(&dir), &clock, &check)
        .tdx_collateral(&request)
        .unwrap();
    assert_eq!(fetched.value.tcb_evaluation_data_number().unwrap(), 17);

    // A day later the copy is stale; the service now answers with evaluation 16.
    clock.advance(Duration::from_secs(25 * 3600));
    let e = source(&[&older], Some(&dir), &clock, &check)
        .tdx_collateral(&request)
        .unwrap_err();
    assert!(e.is_refused(), "{e}");
    assert!(
        e.to_string()
            .contains("is 16, lower than the 17 of the copy cached before"),
        "{e}"
    );
    let cached =
        std::fs::read_to_string(dir.path().join("tdx").join(FMSPC).join("platform.json")).unwrap();
    assert!(
        cached.contains("tcbEvaluationDataNumber\\\":17"),
        "the newer copy is kept"
    );

    // Evaluation 18 replaces it.
    let fetched = source(&[&newer], Some(&dir), &clock, &check)
        .tdx_collateral(&request)
        .unwrap();
    assert_eq!(fetched.value.tcb_evaluation_data_number().unwrap(), 18);
}
