//! Scaling out on Redis, with a real redis-server on loopback: two instances share one nonce
//! store and one signing key; a nonce issued by one is consumed by the other; a replay is
//! refused by either; an expired nonce is refused; with Redis gone every request is 503 with
//! Retry-After (never accepted), and the service recovers when Redis returns. Redis over TLS
//! (`rediss://`, a CA made here with the openssl command) works the same.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use ear_token::{Algorithm, Jwks, SigningKey, verify_token};
use snp_vtpm_testkit::redis::{self, Redis};
use support::*;

#[test]
fn two_instances_share_nonces_and_keys_and_survive_a_redis_outage() {
    if !redis::available() {
        return;
    }
    let mut store = Redis::start().unwrap();
    let dir = TempDir::new("redis-keys");
    let key = SigningKey::generate(Algorithm::Es256).unwrap();
    let key_path = dir.0.join("key.pem");
    std::fs::write(&key_path, key.to_pem().unwrap()).unwrap();
    let options = [
        "--nonce-store",
        &store.url(),
        "--signing-key",
        key_path.to_str().unwrap(),
        "--nonce-ttl",
        "2",
    ];
    let a = Server::start("redis-a", &options);
    let b = Server::start("redis-b", &options);

    // Issued by A, consumed by B; the token verifies against A's JWKS (the same key).
    let nonce = a.challenge();
    let (status, body, _) = b.post("/attest", &evidence(&nonce));
    assert_eq!(status, 200, "{body}");
    let (_, jwks_a) = a.get("/.well-known/jwks.json");
    let jwks_a = Jwks::from_json(jwks_a.as_bytes()).unwrap();
    let verified = verify_token(body["token"].as_str().unwrap(), &jwks_a, now()).unwrap();
    assert_eq!(verified.kid, key.kid());

    // Replayed at either instance: refused.
    for server in [&a, &b] {
        let (status, body, _) = server.post("/attest", &evidence(&nonce));
        assert_eq!(
            (status, body["failed_check"].as_str()),
            (403, Some("nonce")),
            "{body}"
        );
    }

    // Expired (time to live 2 s; Redis expires the key).
    let nonce = b.challenge();
    std::thread::sleep(Duration::from_millis(2_300));
    let (status, body, _) = a.post("/attest", &evidence(&nonce));
    assert_eq!(
        (status, body["failed_check"].as_str()),
        (403, Some("nonce")),
        "{body}"
    );

    // Redis gone: 503 with Retry-After for challenges and evidence, readiness fails; nothing
    // is accepted, not even a nonce issued before the outage.
    let issued_before = a.challenge();
    store.stop();
    let (status, body, retry_after) = a.post("/challenge", b"");
    assert_eq!(status, 503, "{body}");
    assert_eq!(retry_after.as_deref(), Some("5"));
    let (status, body, _) = b.post("/attest", &evidence(&issued_before));
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["kind"], "unavailable");
    // The client learns what failed, not the store's address (that goes to the log).
    assert_eq!(body["error"], "the nonce store is unavailable: retry later");
    assert_eq!(a.get("/readyz").0, 503);
    let (_, metrics) = b.get("/metrics");
    assert!(
        !metrics.contains("snp_vtpm_nonce_store_errors_total 0"),
        "{metrics}"
    );

    // Redis back (empty: the nonce issued before is gone with it): the service recovers.
    store.restart().unwrap();
    let mut recovered = false;
    for _ in 0..50 {
        if a.get("/readyz").0 == 200 && b.get("/readyz").0 == 200 {
            recovered = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(recovered, "the instances did not become ready again");
    let (status, body, _) = a.post("/attest", &evidence(&issued_before));
    assert_eq!(
        (status, body["failed_check"].as_str()),
        (403, Some("nonce")),
        "{body}"
    );
    let nonce = b.challenge();
    let (status, body, _) = a.post("/attest", &evidence(&nonce));
    assert_eq!(status, 200, "{body}");
}

/// A CA and a server certificate for 127.0.0.1 (P-256), made with the openssl command in
/// `dir`: (CA certificate, server certificate, server key).
fn tls_files(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let new_key = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let ca = [
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-subj",
        "/CN=Test Redis CA",
        "-days",
        "2",
    ];
    openssl(&[&["req", "-x509"][..], &new_key, &ca].concat());
    let csr = [
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ];
    openssl(&[&["req"][..], &new_key, &csr].concat());
    std::fs::write(dir.join("san.cnf"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "san.cnf",
    ]);
    (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    )
}

#[test]
fn nonces_live_in_redis_over_tls() {
    if !redis::available() || !snp_vtpm_testkit::installed_with("openssl", "version") {
        return;
    }
    let dir = TempDir::new("rediss-files");
    let (ca, certificate, key) = tls_files(&dir.0);
    let store = Redis::start_tls(&certificate, &key).unwrap();
    assert!(store.url().starts_with("rediss://"));
    // The service trusts the test CA the way operators add a private CA: SSL_CERT_FILE.
    let server = Server::start_with_env(
        "rediss",
        &["--nonce-store", &store.url()],
        &[("SSL_CERT_FILE", ca.as_os_str())],
    );
    assert_eq!(server.get("/readyz").0, 200);
    let nonce = server.challenge();
    let (status, body, _) = server.post("/attest", &evidence(&nonce));
    assert_eq!(status, 200, "{body}");
    let (status, body, _) = server.post("/attest", &evidence(&nonce));
    assert_eq!(
        (status, body["failed_check"].as_str()),
        (403, Some("nonce")),
        "{body}"
    );

    // Without the CA, the TLS handshake fails: the store is unavailable, never bypassed.
    let untrusting = Server::start_with_env(
        "rediss-untrusted",
        &["--nonce-store", &store.url()],
        &[("SSL_CERT_FILE", certificate.as_os_str())],
    );
    let (status, body, _) = untrusting.post("/challenge", b"");
    assert_eq!(status, 503, "{body}");
    assert_eq!(untrusting.get("/readyz").0, 503);
}
