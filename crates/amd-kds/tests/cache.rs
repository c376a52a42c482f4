//! The disk cache, offline mode and single-flight downloads, against a real loopback server
//! that counts requests.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use amd_kds::{CacheConfig, CertificateSource, ChainKind, Error, KdsClient, Source, VcekRequest};
use hcl_parse::{Generation, SnpReport, TcbComponents};
use snp_vtpm_testkit::pki::{CrlSpec, TestPki};
use support::*;

fn milan_request() -> VcekRequest {
    let raw = milan_report();
    VcekRequest::from_report(&SnpReport::from_bytes(&raw).unwrap(), Generation::Milan).unwrap()
}

fn vcek() -> Vec<u8> {
    vector("snp/milan/vcek_milan.der")
}

/// Serves the Milan VCEK at VCEK URLs and the Milan chain at chain URLs.
fn milan_kds() -> TestServer {
    let vcek = vcek();
    let chain = kds_chain_pem("milan", "ask");
    TestServer::start(move |_, request| {
        if request.target.ends_with("/cert_chain") {
            Reply::ok(chain.clone())
        } else {
            Reply::ok(vcek.clone())
        }
    })
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn a_cache_hit_makes_no_request() {
    let cache = TempDir::new("hit");
    let server = milan_kds();
    let clock = sim_clock();
    let client = kds_source(&server, Some(&cache), exact_policy(5, 60), &clock);
    let request = milan_request();

    assert_eq!(client.vcek(&request).unwrap().source, Source::Kds);
    assert_eq!(server.count(), 1);
    let second = client.vcek(&request).unwrap();
    assert_eq!(second.source, Source::Cache);
    assert_eq!(second.value.der(), vcek().as_slice());
    assert_eq!(server.count(), 1, "the cache answered");

    // Another client (another process) on the same folder: still no request.
    let other = kds_source(&server, Some(&cache), exact_policy(5, 60), &clock);
    assert_eq!(other.vcek(&request).unwrap().source, Source::Cache);
    assert_eq!(
        other
            .cert_chain(Generation::Milan, ChainKind::Vcek)
            .unwrap()
            .source,
        Source::Kds
    );
    assert_eq!(
        client
            .cert_chain(Generation::Milan, ChainKind::Vcek)
            .unwrap()
            .source,
        Source::Cache
    );
    assert_eq!(server.count(), 2);

    // The layout: product, hwID, full TCB.
    let path = client.cache().vcek_path(&request).unwrap();
    assert_eq!(
        path,
        cache.path().join(format!(
            "vcek/Milan/{}/bl03-tee00-snp08-ucode115.der",
            request.hw_id_hex()
        ))
    );
    assert_eq!(std::fs::read(&path).unwrap(), vcek());
    assert!(
        files_under(cache.path())
            .iter()
            .all(|p| !p.to_string_lossy().ends_with(".tmp")),
        "atomic writes leave no temporary file"
    );
}

#[test]
fn the_turin_key_includes_fmc() {
    let cache = TempDir::new("turin-key");
    let client = CertificateSource::new(
        KdsClient::new(amd_kds::KdsConfig::default()).unwrap(),
        amd_kds::Cache::from_config(&CacheConfig::Dir(cache.path().to_path_buf())),
    );
    let tcb = |fmc| TcbComponents {
        fmc: Some(fmc),
        bootloader: 1,
        tee: 2,
        snp: 3,
        microcode: 4,
    };
    let a = VcekRequest::new(Generation::Turin, &[7; 8], tcb(1)).unwrap();
    let b = VcekRequest::new(Generation::Turin, &[7; 8], tcb(2)).unwrap();
    let (pa, pb) = (
        client.cache().vcek_path(&a).unwrap(),
        client.cache().vcek_path(&b).unwrap(),
    );
    assert_ne!(pa, pb);
    assert!(pa.ends_with("vcek/Turin/0707070707070707/fmc01-bl01-tee02-snp03-ucode04.der"));
}

#[test]
fn a_corrupt_entry_is_removed_refetched_and_repaired() {
    let cache = TempDir::new("corrupt");
    let server = milan_kds();
    let client = kds_source(&server, Some(&cache), exact_policy(5, 60), &sim_clock());
    let request = milan_request();
    client.vcek(&request).unwrap();
    let path = client.cache().vcek_path(&request).unwrap();

    for junk in [
        b"junk".to_vec(),
        vcek()[..700].to_vec(),
        vector("amd/milan/ask.pem"),
    ] {
        let before = server.count();
        std::fs::write(&path, &junk).unwrap();
        let fetched = client.vcek(&request).unwrap();
        assert_eq!(fetched.source, Source::Kds, "refetched");
        assert_eq!(fetched.value.der(), vcek().as_slice());
        assert_eq!(server.count(), before + 1);
        assert_eq!(std::fs::read(&path).unwrap(), vcek(), "repaired");
    }

    // A corrupt chain too.
    client
        .cert_chain(Generation::Milan, ChainKind::Vcek)
        .unwrap();
    let chain_path = client
        .cache()
        .chain_path(Generation::Milan, ChainKind::Vcek)
        .unwrap();
    std::fs::write(&chain_path, kds_chain_pem("genoa", "ask")).unwrap();
    let chain = client
        .cert_chain(Generation::Milan, ChainKind::Vcek)
        .unwrap();
    assert_eq!(chain.source, Source::Kds);
    assert_eq!(chain.value.product(), Generation::Milan);
}

#[test]
fn a_corrupt_entry_offline_is_removed_and_reported() {
    let cache = TempDir::new("corrupt-offline");
    let server = milan_kds();
    let request = milan_request();
    let online = kds_source(&server, Some(&cache), exact_policy(5, 60), &sim_clock());
    online.vcek(&request).unwrap();
    let path = online.cache().vcek_path(&request).unwrap();
    std::fs::write(&path, b"junk").unwrap();

    let offline =
        kds_source(&server, Some(&cache), exact_policy(5, 60), &sim_clock()).with_offline(true);
    let e = offline.vcek(&request).unwrap_err();
    assert!(matches!(e, Error::NotCachedOffline { .. }), "{e:?}");
    assert!(e.to_string().contains("was corrupt"), "{e}");
    assert!(!path.exists());
    assert_eq!(server.count(), 1);
}

#[test]
fn a_cached_crl_with_an_impossible_fetch_time_is_corrupt_not_a_panic() {
    let cache = TempDir::new("crl-fetched-at");
    let server = milan_kds();
    let offline =
        kds_source(&server, Some(&cache), exact_policy(5, 60), &sim_clock()).with_offline(true);
    let path = offline.cache().crl_path(Generation::Milan).unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    for seconds in [u64::MAX, u64::MAX / 2, i64::MAX as u64] {
        std::fs::write(
            &path,
            format!(
                "fetched-at: {seconds}\n-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"
            ),
        )
        .unwrap();
        let e = offline.crl(Generation::Milan).unwrap_err();
        assert!(
            matches!(e, Error::NotCachedOffline { .. }),
            "{seconds}: {e:?}"
        );
        assert!(!path.exists(), "{seconds}: the entry is removed");
    }
    assert_eq!(server.count(), 0);
}

#[test]
fn offline_mode_answers_from_the_cache_only() {
    let cache = TempDir::new("offline");
    let server = milan_kds();
    let request = milan_request();
    let online = kds_source(&server, Some(&cache), exact_policy(5, 60), &sim_clock());
    online.vcek(&request).unwrap();
    online
        .cert_chain(Generation::Milan, ChainKind::Vcek)
        .unwrap();
    assert_eq!(server.count(), 2);

    let offline =
        kds_source(&server, Some(&cache), exact_policy(5, 60), &sim_clock()).with_offline(true);
    assert!(offline.is_offline());
    assert_eq!(offline.vcek(&request).unwrap().source, Source::Cache);
    assert_eq!(
        offline
            .cert_chain(Generation::Milan, ChainKind::Vcek)
            .unwrap()
            .source,
        Source::Cache
    );

    let mut tcb = request.tcb();
    tcb.microcode += 1;
    let newer = VcekRequest::new(Generation::Milan, request.hw_id(), tcb).unwrap();
    let e = offline.vcek(&newer).unwrap_err();
    assert!(e.is_unavailable());
    let message = e.to_string();
    assert!(message.contains("is not cached, offline"), "{message}");
    assert!(
        message.contains("ucode116") || message.contains("microcode=116"),
        "{message}"
    );
    let e = offline
        .cert_chain(Generation::Milan, ChainKind::Vlek)
        .unwrap_err();
    assert!(matches!(e, Error::NotCachedOffline { .. }), "{e:?}");
    assert_eq!(server.count(), 2, "offline never touches the network");

    let e = kds_source(&server, None, exact_policy(5, 60), &sim_clock())
        .with_offline(true)
        .vcek(&request)
        .unwrap_err();
    assert!(e.to_string().contains("the cache is disabled"), "{e}");
    assert_eq!(server.count(), 2);
}

#[test]
fn a_crl_is_kept_until_its_next_update() {
    let cache = TempDir::new("crl");
    let clock = sim_clock();
    let start = 1_717_200_000;
    let pki = TestPki::shared();
    let first = pki.crl(Generation::Milan, &CrlSpec::new(start - 100, start + 1000));
    let second = pki.crl(Generation::Milan, &CrlSpec::new(start + 900, start + 5000));
    let (a, b) = (first.clone(), second.clone());
    let server =
        TestServer::start(move |n, _| Reply::ok(if n == 0 { a.clone() } else { b.clone() }));
    let client = kds_source(&server, Some(&cache), exact_policy(5, 60), &clock);

    let crl = client.crl(Generation::Milan).unwrap();
    assert_eq!(
        (crl.source, crl.value.der()),
        (Source::Kds, first.as_slice())
    );
    clock.advance(Duration::from_secs(999));
    let crl = client.crl(Generation::Milan).unwrap();
    assert_eq!(
        (crl.source, crl.value.der()),
        (Source::Cache, first.as_slice())
    );
    assert_eq!(server.count(), 1);

    clock.advance(Duration::from_secs(1)); // now == nextUpdate: expired
    let crl = client.crl(Generation::Milan).unwrap();
    assert_eq!(
        (crl.source, crl.value.der()),
        (Source::Kds, second.as_slice())
    );
    assert_eq!(server.count(), 2);
    let path = client.cache().crl_path(Generation::Milan).unwrap();
    let stored = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        stored,
        format!(
            "fetched-at: {}\n{}",
            start + 1000,
            amd_kds::Crl::from_bytes(&second).unwrap().to_pem()
        ),
        "the new CRL replaced the old, with its fetch time"
    );

    clock.advance(Duration::from_secs(3000));
    assert_eq!(client.crl(Generation::Milan).unwrap().source, Source::Cache);
    assert_eq!(server.count(), 2);

    // Offline after the new one's nextUpdate: a clear error.
    clock.advance(Duration::from_secs(1000));
    let offline = CertificateSource::new(
        KdsClient::new(kds_config(&server, exact_policy(5, 60))).unwrap(),
        cache_in(Some(&cache)),
    )
    .with_offline(true)
    .with_clock(clock.clone());
    let e = offline.crl(Generation::Milan).unwrap_err();
    assert!(e.to_string().contains("expired at its nextUpdate"), "{e}");
    assert_eq!(server.count(), 2);
}

#[test]
fn an_already_expired_crl_is_returned_but_not_cached() {
    let cache = TempDir::new("crl-expired");
    let clock = sim_clock();
    let start = 1_717_200_000;
    let old = TestPki::shared().crl(Generation::Milan, &CrlSpec::new(start - 2000, start - 1000));
    let server = TestServer::always(Reply::ok(old));
    let client = kds_source(&server, Some(&cache), exact_policy(5, 60), &clock);
    assert_eq!(client.crl(Generation::Milan).unwrap().source, Source::Kds);
    assert!(!client.cache().crl_path(Generation::Milan).unwrap().exists());
    assert_eq!(client.crl(Generation::Milan).unwrap().source, Source::Kds);
    assert_eq!(server.count(), 2);
}

fn concurrent(
    cache: Option<&TempDir>,
    reply: impl Fn() -> Reply + Send + Sync + 'static,
) -> (
    TestServer,
    Vec<Result<amd_kds::Fetched<amd_kds::Certificate>, Error>>,
) {
    let server = TestServer::start(move |_, _| {
        // Slow enough that every thread asks while the first download is in flight.
        std::thread::sleep(Duration::from_millis(300));
        reply()
    });
    let client = kds_source(&server, cache, exact_policy(1, 60), &sim_clock());
    let request = milan_request();
    let threads = 8;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (client, request, barrier) = (client.clone(), request.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                client.vcek(&request)
            })
        })
        .collect();
    let results = handles.into_iter().map(|h| h.join().unwrap()).collect();
    (server, results)
}

#[test]
fn eight_threads_asking_for_one_vcek_make_one_request() {
    let cache = TempDir::new("single-flight");
    let body = vcek();
    let (server, results) = concurrent(Some(&cache), move || Reply::ok(body.clone()));
    assert_eq!(server.count(), 1, "single flight");
    for result in results {
        assert_eq!(result.unwrap().value.der(), vcek().as_slice());
    }
}

#[test]
fn single_flight_works_without_a_disk_cache() {
    let body = vcek();
    let (server, results) = concurrent(None, move || Reply::ok(body.clone()));
    assert_eq!(server.count(), 1);
    assert!(results.iter().all(|r| r.is_ok()));
}

#[test]
fn a_shared_failure_is_reported_to_every_waiting_thread() {
    let (server, results) = concurrent(None, || Reply::status(404));
    assert_eq!(server.count(), 1);
    for result in results {
        let e = result.unwrap_err();
        assert!(
            e.to_string()
                .contains("no certificate for this chip and TCB"),
            "{e}"
        );
    }
}

#[test]
fn an_unwritable_cache_does_not_fail_the_fetch() {
    let dir = TempDir::new("unwritable");
    let file = dir.path().join("not-a-folder");
    std::fs::write(&file, b"x").unwrap();
    let server = milan_kds();
    let client = CertificateSource::new(
        KdsClient::new(kds_config(&server, exact_policy(5, 60))).unwrap(),
        amd_kds::Cache::from_config(&CacheConfig::Dir(file)),
    );
    assert_eq!(client.vcek(&milan_request()).unwrap().source, Source::Kds);
    assert_eq!(client.vcek(&milan_request()).unwrap().source, Source::Kds);
    assert_eq!(server.count(), 2);
}

#[test]
fn store_and_remove_through_the_public_cache_api() {
    let dir = TempDir::new("public-api");
    let cache = amd_kds::Cache::new(dir.path());
    let request = milan_request();
    assert!(cache.load_vcek(&request).is_none());
    let cert = amd_kds::Certificate::from_bytes(&vcek()).unwrap();
    cache.store_vcek(&request, &cert).unwrap();
    assert_eq!(cache.load_vcek(&request), Some(cert));
    cache.remove_vcek(&request).unwrap();
    assert!(cache.load_vcek(&request).is_none());
    cache.remove_vcek(&request).unwrap(); // removing nothing is fine

    let server = milan_kds();
    let client = CertificateSource::new(
        kds_client(&server, exact_policy(5, 60), &sim_clock()),
        cache.clone(),
    );
    assert_eq!(client.cache().dir(), Some(dir.path()));
    client.vcek(&request).unwrap();
    assert!(
        cache.load_vcek(&request).is_some(),
        "the shared cache was filled"
    );
    assert!(amd_kds::Cache::disabled().vcek_path(&request).is_none());
}

#[test]
fn the_default_cache_folder_is_under_the_user_cache() {
    let dir = CacheConfig::default_dir().expect("HOME or XDG_CACHE_HOME is set here");
    assert!(dir.ends_with("snp-vtpm/certs"), "{}", dir.display());
    if let Some(xdg) = std::env::var_os("XDG_CACHE_HOME").filter(|x| Path::new(x).is_absolute()) {
        assert!(dir.starts_with(xdg));
    }
}
