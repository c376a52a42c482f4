//! Issuers named by AIA caIssuers URLs: which URLs a certificate names (real Azure AK
//! certificates) and which hosts may be asked, and the download against a real loopback server:
//! mirrors tried in order, a refused answer passed over for the next mirror (another CA, another
//! key, expired, not the signer: the caller's check here is vtpm-akcert's, as the facade
//! installs it), no redirects, nothing cached until the caller stores it, the cache by name and
//! key, offline mode.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::sync::Arc;
use std::time::SystemTime;

use amd_kds::{
    ArtifactCheck, CaCertificate, CertChain, Certificate, CertificateSource, ChainKind, Crl, Error,
    IssuerHosts, IssuerRequest, Source, VcekRequest,
};
use hcl_parse::Generation;
use snp_vtpm_testkit::pki::vtpm::{self, CertSpec, INTERMEDIATE_CN, VtpmPki};
use support::*;

/// The facade's rule for fetched issuers: the CA must have signed the certificate below it.
struct SignedIt;

impl ArtifactCheck for SignedIt {
    fn check_chain(
        &self,
        _: Generation,
        _: ChainKind,
        _: &CertChain,
        _: SystemTime,
    ) -> Result<(), String> {
        Err("no chains in this test".into())
    }
    fn check_vcek(
        &self,
        _: &VcekRequest,
        _: &Certificate,
        _: &CertChain,
        _: SystemTime,
    ) -> Result<(), String> {
        Err("no VCEKs in this test".into())
    }
    fn check_crl(
        &self,
        _: Generation,
        _: &Crl,
        _: &CertChain,
        _: SystemTime,
    ) -> Result<(), String> {
        Err("no CRLs in this test".into())
    }
    fn check_issuer(
        &self,
        child: &[u8],
        issuer: &CaCertificate,
        _: SystemTime,
    ) -> Result<(), String> {
        vtpm_akcert::check_issued_by(child, issuer.der()).map_err(|e| e.to_string())
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

/// An AK certificate under the test intermediate whose AIA names `urls`.
fn leaf_naming(urls: &[&str]) -> Vec<u8> {
    let pki = VtpmPki::shared();
    let spec = CertSpec {
        extra: vec![vtpm::ca_issuers(urls)],
        ..CertSpec::ak("0123456789ab")
    };
    pki.issue(&spec, &vtpm::key(0x61).to_public_key())
}

/// A source with the facade's check that may ask loopback hosts (a test PKI's).
fn source(server: &TestServer, cache: Option<&TempDir>) -> CertificateSource {
    kds_source(server, cache, exact_policy(2, 10), &sim_clock())
        .with_check(Arc::new(SignedIt))
        .with_issuer_hosts(IssuerHosts::Any)
}

#[test]
fn real_azure_leaves_name_their_mirrors_in_order_or_nothing() {
    let leaf = vector("azure/ak-certs/cloud-ca-24-leaf/ak-cert.der");
    let request = IssuerRequest::of(&leaf).unwrap();
    let base = "cacerts/azurevtpmicapki/azurevtpmicausw3/cert.cer";
    assert_eq!(
        request.urls(),
        [
            format!("http://primary-cdn.pki.core.windows.net/westus3/{base}"),
            format!("http://secondary-cdn.pki.core.windows.net/westus3/{base}"),
            format!("http://crl.microsoft.com/westus3/{base}"),
            "http://azurevtpmicapki.westus3.pki.core.windows.net/certificateAuthorities/azurevtpmicausw3".to_string(),
        ]
    );
    assert_eq!(
        request.name().to_string(),
        "CN=Azure Cloud Virtual TPM CA - 24"
    );
    assert!(
        request
            .urls()
            .iter()
            .all(|url| IssuerHosts::Azure.allows(url))
    );

    // Leaves under Global Virtual TPM CA - 03 carry no AIA: nothing to fetch, said plainly.
    let global = vector("azure/tdx-vm1/ak-cert.der");
    let error = IssuerRequest::of(&global).unwrap_err();
    assert!(matches!(error, Error::InvalidRequest { .. }), "{error:?}");
    assert!(
        error.to_string().contains("names no http(s) caIssuers URL")
            && error.to_string().contains("Global Virtual TPM CA - 03"),
        "{error}"
    );
}

#[test]
fn only_http_urls_are_taken_and_at_most_four() {
    let leaf = leaf_naming(&[
        "ldap://directory.example/cn=ca",
        "http://127.0.0.1:1/a",
        "https://127.0.0.1:1/b",
        "http://127.0.0.1:1/c",
        "http://127.0.0.1:1/d",
        "http://127.0.0.1:1/e",
    ]);
    let request = IssuerRequest::of(&leaf).unwrap();
    assert_eq!(
        request.urls(),
        [
            "http://127.0.0.1:1/a",
            "https://127.0.0.1:1/b",
            "http://127.0.0.1:1/c",
            "http://127.0.0.1:1/d"
        ]
    );
}

#[test]
fn by_default_only_azure_pki_hosts_are_asked() {
    for allowed in [
        "http://primary-cdn.pki.core.windows.net/westus3/cacerts/x/cert.cer",
        "HTTP://CRL.Microsoft.com/pki/x.crt",
        "https://www.microsoft.com/pkiops/certs/x.crt",
    ] {
        assert!(IssuerHosts::Azure.allows(allowed), "{allowed}");
    }
    for refused in [
        "http://169.254.169.254/metadata/instance",
        "http://127.0.0.1:8080/ca.cer",
        "http://[::1]/ca.cer",
        "http://pki.core.windows.net/ca.cer",
        "http://evil.example/x.pki.core.windows.net",
        "http://crl.microsoft.com@evil.example/ca.cer",
        "http://crl.microsoft.com.evil.example/ca.cer",
        "ftp://crl.microsoft.com/ca.cer",
        "http://[crl.microsoft.com]/ca.cer",
        "http://[::ffff:127.0.0.1%25.pki.core.windows.net]/ca.cer",
        "http://.pki.core.windows.net/ca.cer",
        "http://crl_microsoft.com/ca.cer",
    ] {
        assert!(!IssuerHosts::Azure.allows(refused), "{refused}");
    }

    // A leaf naming a loopback URL: refused before any request, naming the hosts.
    let server = TestServer::always(Reply::ok(VtpmPki::shared().intermediate.clone()));
    let leaf = leaf_naming(&[&format!("{}/ca.cer", server.base_url())]);
    let default_hosts = kds_source(&server, None, exact_policy(2, 10), &sim_clock());
    let error = default_hosts.ca_issuer(&leaf).unwrap_err();
    assert!(matches!(error, Error::InvalidRequest { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("name no host this source fetches from (Azure's PKI hosts"),
        "{error}"
    );
    assert_eq!(server.count(), 0);
}

#[test]
fn mirrors_are_tried_in_order_and_an_issuer_is_cached_only_when_stored() {
    let pki = VtpmPki::shared();
    let intermediate = pki.intermediate.clone();
    let served = intermediate.clone();
    let server = TestServer::start(move |_, request| match request.target.as_str() {
        "/primary/ca.cer" => Reply::status(404),
        "/secondary/ca.cer" => Reply::ok(served.clone()),
        _ => Reply::status(500),
    });
    let urls = [
        format!("{}/primary/ca.cer", server.base_url()),
        format!("{}/secondary/ca.cer", server.base_url()),
    ];
    let leaf = leaf_naming(&[&urls[0], &urls[1]]);
    let dir = TempDir::new("issuer-mirrors");

    let fetched = source(&server, Some(&dir)).ca_issuer(&leaf).unwrap();
    assert_eq!(fetched.value.der(), intermediate.as_slice());
    assert_eq!(fetched.source, Source::CaIssuers);
    assert_eq!(server.targets(), ["/primary/ca.cer", "/secondary/ca.cer"]);
    // One link says nothing of the path above it: nothing is cached until the caller says so.
    assert!(!dir.path().join("issuers").exists());
    let offline = source(&server, Some(&dir)).with_offline(true);
    assert!(matches!(
        offline.ca_issuer(&leaf),
        Err(Error::NotCachedOffline { .. })
    ));

    // Stored under issuers/ (by name and key identifier), served from there, offline too.
    offline.store_issuer(&leaf, &fetched.value).unwrap();
    let entries: Vec<_> = std::fs::read_dir(dir.path().join("issuers"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1);
    assert_eq!(std::fs::read(&entries[0]).unwrap(), intermediate);
    let again = offline.ca_issuer(&leaf).unwrap();
    assert_eq!(again.source, Source::Cache);
    assert_eq!(server.count(), 2, "no request for a cached issuer");

    // A cached file that did not sign the leaf (same name, another key) is removed on reading
    // and the real issuer fetched again.
    let other_key = pki.intermediate_with_another_key();
    std::fs::write(&entries[0], &other_key).unwrap();
    let repaired = source(&server, Some(&dir)).ca_issuer(&leaf).unwrap();
    assert_eq!(repaired.value.der(), intermediate.as_slice());
    assert_eq!(repaired.source, Source::CaIssuers);
    assert!(!entries[0].exists(), "the refused entry is gone");

    // The caller may evict an entry whose path no longer verifies.
    offline.store_issuer(&leaf, &repaired.value).unwrap();
    assert!(entries[0].exists());
    offline.remove_issuer(&leaf).unwrap();
    assert!(!entries[0].exists());
}

#[test]
fn an_expired_copy_or_a_redirect_is_passed_over_for_the_next_mirror() {
    let pki = VtpmPki::shared();
    // The right name and key, expired before the simulated clock's 2024-06-01.
    let (expired, _) = pki.intermediate_with(&CertSpec {
        validity: (1_600_000_000, 1_700_000_000),
        ..CertSpec::ca(INTERMEDIATE_CN, Some(0))
    });
    let genuine = pki.intermediate.clone();
    let server = TestServer::start(move |_, request| match request.target.as_str() {
        "/expired.cer" => Reply::ok(expired.clone()),
        "/moved.cer" => Reply::status(302).with_header("Location", "/genuine.cer"),
        "/genuine.cer" => Reply::ok(genuine.clone()),
        _ => Reply::status(404),
    });
    let base = server.base_url();
    let leaf = leaf_naming(&[
        &format!("{base}/expired.cer"),
        &format!("{base}/genuine.cer"),
    ]);
    let fetched = source(&server, None).ca_issuer(&leaf).unwrap();
    assert_eq!(fetched.value.der(), pki.intermediate.as_slice());
    assert_eq!(server.targets(), ["/expired.cer", "/genuine.cer"]);

    // A redirect is not followed: the host check saw only the URL the certificate names.
    let leaf = leaf_naming(&[&format!("{base}/moved.cer")]);
    let error = source(&server, None).ca_issuer(&leaf).unwrap_err();
    assert!(error.to_string().contains("HTTP 302"), "{error}");
    assert_eq!(
        server.targets(),
        ["/expired.cer", "/genuine.cer", "/moved.cer"]
    );
}

#[test]
fn a_ca_that_did_not_sign_the_leaf_is_refused_and_never_cached() {
    // Same name as the real issuer, another key: what a man in the middle of plain-HTTP AIA
    // would send.
    let forged = VtpmPki::shared().intermediate_with_another_key();
    let server = TestServer::always(Reply::ok(forged));
    let url = format!("{}/ca.cer", server.base_url());
    let leaf = leaf_naming(&[&url]);
    let dir = TempDir::new("issuer-forged");

    let error = source(&server, Some(&dir)).ca_issuer(&leaf).unwrap_err();
    assert!(error.is_refused(), "{error:?}");
    assert_eq!(server.count(), 1, "one answer, refused, not retried");
    let message = error.to_string();
    assert!(
        message.contains("signature does not verify") && message.contains(&url),
        "{message}"
    );
    assert!(!dir.path().join("issuers").exists(), "nothing cached");
}

#[test]
fn another_ca_or_garbage_is_passed_over_for_the_next_mirror() {
    let pki = VtpmPki::shared();
    let root = pki.root.clone();
    let intermediate = pki.intermediate.clone();
    let server = TestServer::start(move |_, request| match request.target.as_str() {
        // The root, not the CA the leaf names.
        "/a" => Reply::ok(root.clone()),
        "/b" => Reply::ok(b"<html>not found</html>".to_vec()),
        _ => Reply::ok(intermediate.clone()),
    });
    let base = server.base_url();
    let (a, b, c) = (
        format!("{base}/a"),
        format!("{base}/b"),
        format!("{base}/c"),
    );

    let only_wrong = leaf_naming(&[&a, &b]);
    let error = source(&server, None).ca_issuer(&only_wrong).unwrap_err();
    assert!(error.is_refused(), "{error:?}");
    assert!(
        error
            .to_string()
            .contains(&format!("expected the CA \"CN={INTERMEDIATE_CN}\"")),
        "the primary mirror's failure is reported: {error}"
    );

    let third_right = leaf_naming(&[&a, &b, &c]);
    let fetched = source(&server, None).ca_issuer(&third_right).unwrap();
    assert_eq!(fetched.value.der(), pki.intermediate.as_slice());
}

#[test]
fn offline_with_nothing_cached_touches_no_network() {
    let server = TestServer::always(Reply::ok(VtpmPki::shared().intermediate.clone()));
    let leaf = leaf_naming(&[&format!("{}/ca.cer", server.base_url())]);
    let dir = TempDir::new("issuer-offline");
    let error = source(&server, Some(&dir))
        .with_offline(true)
        .ca_issuer(&leaf)
        .unwrap_err();
    assert!(matches!(error, Error::NotCachedOffline { .. }), "{error:?}");
    assert!(error.to_string().contains(INTERMEDIATE_CN), "{error}");
    assert_eq!(server.count(), 0);
}

#[test]
fn an_unreachable_issuer_is_unavailable_after_the_retries() {
    let server = TestServer::always(Reply::status(503));
    let url = format!("{}/ca.cer", server.base_url());
    let leaf = leaf_naming(&[&url]);
    let error = source(&server, None).ca_issuer(&leaf).unwrap_err();
    assert!(error.is_unavailable(), "{error:?}");
    assert_eq!(server.count(), 2, "the retry policy's two attempts");
}

#[test]
fn a_ca_of_the_right_name_with_another_key_identifier_is_not_the_one_asked_for() {
    // The leaf's authorityKeyIdentifier names key aa..., the CA published says bb...
    let pki = VtpmPki::shared();
    let aki = (
        "2.5.29.35".to_string(),
        false,
        [&[0x30, 0x06, 0x80, 0x04][..], &[0xAA; 4]].concat(),
    );
    let ski = |id: u8| ("2.5.29.14".to_string(), false, vtpm::octets(&[id; 4]));
    let other_key_id = pki
        .intermediate_with(&CertSpec {
            extra: vec![ski(0xBB)],
            ..CertSpec::ca(INTERMEDIATE_CN, Some(0))
        })
        .0;
    let same_key_id = pki
        .intermediate_with(&CertSpec {
            extra: vec![ski(0xAA)],
            ..CertSpec::ca(INTERMEDIATE_CN, Some(0))
        })
        .0;
    let served = (other_key_id, same_key_id.clone());
    let server = TestServer::start(move |_, request| match request.target.as_str() {
        "/bb" => Reply::ok(served.0.clone()),
        _ => Reply::ok(served.1.clone()),
    });
    let leaf_with = |path: &str| {
        pki.issue(
            &CertSpec {
                extra: vec![
                    vtpm::ca_issuers(&[&format!("{}{path}", server.base_url())]),
                    aki.clone(),
                ],
                ..CertSpec::ak("0123456789ab")
            },
            &vtpm::key(0x61).to_public_key(),
        )
    };
    let error = source(&server, None)
        .ca_issuer(&leaf_with("/bb"))
        .unwrap_err();
    assert!(error.is_refused(), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("expected the key identifier aaaaaaaa of \"CN=Test Virtual TPM CA - 01\", found bbbbbbbb"),
        "{error}"
    );
    let fetched = source(&server, None).ca_issuer(&leaf_with("/aa")).unwrap();
    assert_eq!(fetched.value.der(), same_key_id.as_slice());
}

#[test]
fn candidates_go_on_to_the_next_mirror_for_a_caller_building_a_path() {
    // Mirror 1 serves the intermediate's name and key issued by someone else (it links to the
    // leaf but leads nowhere); mirror 2 the genuine one. A path builder gets both, in order.
    let pki = VtpmPki::shared();
    let forged = pki.intermediate_under_another_root();
    let served = (forged.clone(), pki.intermediate.clone());
    let server = TestServer::start(move |_, request| match request.target.as_str() {
        "/forged.cer" => Reply::ok(served.0.clone()),
        _ => Reply::ok(served.1.clone()),
    });
    let base = server.base_url();
    let leaf = leaf_naming(&[
        &format!("{base}/forged.cer"),
        &format!("{base}/genuine.cer"),
        &format!("{base}/genuine-again.cer"),
    ]);
    let source = source(&server, None);
    let candidates: Vec<_> = source
        .ca_issuer_candidates(&leaf, None)
        .map(|c| c.unwrap().value.into_der())
        .collect();
    // The third mirror's copy is the second's: yielded once.
    assert_eq!(candidates, [forged, pki.intermediate.clone()]);
    assert_eq!(server.count(), 3);
}

#[test]
fn no_mirror_is_asked_after_the_deadline() {
    let server = TestServer::always(Reply::ok(VtpmPki::shared().intermediate.clone()));
    let leaf = leaf_naming(&[&format!("{}/ca.cer", server.base_url())]);
    let clock = sim_clock();
    let source = kds_source(&server, None, exact_policy(2, 10), &clock)
        .with_check(Arc::new(SignedIt))
        .with_issuer_hosts(IssuerHosts::Any);
    let now = amd_kds::Clock::now(clock.as_ref());
    let outcomes: Vec<_> = source.ca_issuer_candidates(&leaf, Some(now)).collect();
    assert_eq!(outcomes.len(), 1);
    let error = outcomes.into_iter().next().unwrap().unwrap_err();
    assert!(error.is_unavailable(), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("the time allowed for fetching issuers is spent"),
        "{error}"
    );
    assert_eq!(server.count(), 0);
}
