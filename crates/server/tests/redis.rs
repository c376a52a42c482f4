//! Scaling out on Redis, with a real redis-server on loopback: two instances share one nonce
//! store and one signing key; a nonce issued by one is consumed by the other; a replay is
//! refused by either; an expired nonce is refused; with Redis gone every request is 503 with
//! Retry-After (never accepted), and the service recovers when Redis returns.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

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
