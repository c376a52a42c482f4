//! The service as a relying party and a VM meet it: the real binary on a loopback port, a
//! challenge, synthetic Azure evidence bound to the nonce (the test PKI, trusted through the
//! clearly named test option), a signed EAR token that verifies against the JWKS and parses as
//! Veraison's `Ear`, and every way a request must be refused.
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

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ear_token::{Algorithm, Jwks, SigningKey, verify_token};
use serde_json::Value;
use snp_vtpm_testkit::azure::TEST_FIRMWARE_ID_KEY_DIGEST;
use support::*;

#[test]
fn evidence_bound_to_a_challenge_gets_a_token_that_verifies() {
    let server = Server::start("token", &[]);
    let nonce = server.challenge();
    assert_eq!(nonce.len(), 32);
    let (status, body, _) = server.post("/attest", &evidence(&nonce));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["verdict"]["report_bound_to_nonce"], true);

    let (status, jwks) = server.get("/.well-known/jwks.json");
    assert_eq!(status, 200);
    let jwks = Jwks::from_json(jwks.as_bytes()).unwrap();
    let token = body["token"].as_str().unwrap();
    let verified = verify_token(token, &jwks, now()).unwrap();
    let claims = &verified.claims;
    assert_eq!(claims["eat_nonce"], URL_SAFE_NO_PAD.encode(&nonce));
    let cvm = &claims["submods"]["cvm"];
    assert_eq!(cvm["ear_status"], "affirming");
    assert_eq!(cvm["ear_trustworthiness_vector"]["hardware"], 2);
    assert_eq!(
        cvm["ear_attester_claims"]["report"]["id_key_digest"],
        hex::encode(TEST_FIRMWARE_ID_KEY_DIGEST)
    );
    assert!(
        cvm["ear_appraisal_policy_ids"][0]
            .as_str()
            .unwrap()
            .starts_with("snp-vtpm:policy/sha256:")
    );
    // Veraison's reference implementation reads the claims.
    let text = claims.to_string();
    let ear: ear::Ear = serde_json::from_str(&text).unwrap();
    assert_eq!(ear.profile, "tag:ietf.org,2026:rats/ear#04");
    assert_eq!(ear.vid.developer, "https://github.com/snp-vtpm/snp-vtpm");
    let appraisal = &ear.submods["cvm"];
    assert_eq!(appraisal.status, ear::TrustTier::Affirming);
    assert_eq!(appraisal.trust_vector.hardware.get(), 2);
    assert_eq!(appraisal.trust_vector.runtime_opaque.get(), 2);

    // The nonce is single use.
    let (status, body, _) = server.post("/attest", &evidence(&nonce));
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["failed_check"], "nonce");

    // Health, readiness, metrics.
    assert_eq!(server.get("/healthz").0, 200);
    assert_eq!(server.get("/readyz").0, 200);
    let (_, metrics) = server.get("/metrics");
    assert!(
        metrics.contains("snp_vtpm_verifications_total{outcome=\"verified\",failed_check=\"\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics
            .contains("snp_vtpm_verifications_total{outcome=\"refused\",failed_check=\"nonce\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("snp_vtpm_attest_seconds_count 2"),
        "{metrics}"
    );
    assert!(metrics.contains("snp_vtpm_challenges_total 1"), "{metrics}");
}

#[test]
fn requests_that_must_be_refused_are_refused_by_their_check() {
    let server = Server::start("refusals", &["--nonce-ttl", "1"]);

    // A nonce this service never issued.
    let (status, body, _) = server.post("/attest", &evidence(&[7; 32]));
    assert_eq!(
        (status, body["failed_check"].as_str()),
        (403, Some("nonce")),
        "{body}"
    );

    // An issued nonce with altered PCR values: refused by the PCR digest, the nonce used up.
    let nonce = server.challenge();
    let mut altered: Value = serde_json::from_slice(&evidence(&nonce)).unwrap();
    altered["tpm_quote"]["pcrs"][0] = Value::String("ab".repeat(32));
    let (status, body, _) = server.post("/attest", altered.to_string().as_bytes());
    assert_eq!(
        (status, body["failed_check"].as_str()),
        (403, Some("pcr_digest")),
        "{body}"
    );
    let (status, _, _) = server.post("/attest", &evidence(&nonce));
    assert_eq!(status, 403, "the nonce was consumed by the refused attempt");

    // An HCL report that does not parse spends nothing: 400, and the nonce still serves.
    let nonce = server.challenge();
    let mut garbled: Value = serde_json::from_slice(&evidence(&nonce)).unwrap();
    garbled["hcl_report"] = Value::String("SENMQQ".into());
    let (status, body, _) = server.post("/attest", garbled.to_string().as_bytes());
    assert_eq!(
        (status, body["kind"].as_str()),
        (400, Some("input")),
        "{body}"
    );
    let (status, body, _) = server.post("/attest", &evidence(&nonce));
    assert_eq!(status, 200, "{body}");

    // An expired nonce (time to live 1 s).
    let nonce = server.challenge();
    std::thread::sleep(Duration::from_millis(1_200));
    let (status, body, _) = server.post("/attest", &evidence(&nonce));
    assert_eq!(
        (status, body["failed_check"].as_str()),
        (403, Some("nonce")),
        "{body}"
    );

    // Malformed evidence, an over-long body, a challenge with a body.
    let (status, body, _) = server.post("/attest", b"{\"version\": 2}");
    assert_eq!(
        (status, body["kind"].as_str()),
        (400, Some("input")),
        "{body}"
    );
    // Every refusal, the framework's included, has the refusal's shape.
    let (status, body, _) = server.post("/attest", &vec![b' '; 2 * 1024 * 1024 + 1]);
    assert_eq!(
        (status, body["kind"].as_str()),
        (413, Some("input")),
        "{body}"
    );
    assert_eq!(body["error"], "the body is larger than 2097152 bytes");
    let (status, body, _) = server.post("/challenge", b"{\"give\": \"me\"}");
    assert_eq!(
        (status, body["kind"].as_str()),
        (400, Some("input")),
        "{body}"
    );
    for (path, expected) in [("/attest", 405), ("/nowhere", 404)] {
        let (status, text) = server.get(path);
        let body: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(status, expected, "{text}");
        assert_eq!(
            (body["verified"].as_bool(), body["kind"].as_str()),
            (Some(false), Some("input"))
        );
    }
}

#[test]
fn every_key_is_published_and_the_last_one_signs() {
    let dir = TempDir::new("keys");
    let older = SigningKey::generate(Algorithm::Es256).unwrap();
    let newer = SigningKey::generate(Algorithm::Es384).unwrap();
    let paths: Vec<PathBuf> = [("older.pem", &older), ("newer.pem", &newer)]
        .into_iter()
        .map(|(name, key)| {
            let path = dir.0.join(name);
            std::fs::write(&path, key.to_pem().unwrap()).unwrap();
            path
        })
        .collect();
    let server = Server::start(
        "two-keys",
        &[
            "--signing-key",
            paths[0].to_str().unwrap(),
            "--signing-key",
            paths[1].to_str().unwrap(),
        ],
    );
    let (_, jwks) = server.get("/.well-known/jwks.json");
    let jwks = Jwks::from_json(jwks.as_bytes()).unwrap();
    let kids: Vec<_> = jwks.keys.iter().filter_map(|k| k.kid.clone()).collect();
    assert_eq!(kids, [older.kid(), newer.kid()]);
    let nonce = server.challenge();
    let (status, body, _) = server.post("/attest", &evidence(&nonce));
    assert_eq!(status, 200, "{body}");
    let verified = verify_token(body["token"].as_str().unwrap(), &jwks, now()).unwrap();
    assert_eq!(verified.kid, newer.kid());
    assert_eq!(verified.algorithm, Algorithm::Es384);
}

#[test]
fn a_firmware_catalog_file_is_applied_and_named_in_results() {
    let dir = TempDir::new("catalog-file");
    let catalog = dir.0.join("lab-catalog.json");
    let text = snp_vtpm_testkit::azure::test_firmware_catalog(false);
    std::fs::write(&catalog, &text).unwrap();
    let server = Server::start(
        "catalog",
        &["--firmware-catalog", catalog.to_str().unwrap()],
    );
    let nonce = server.challenge();
    let (status, body, _) = server.post("/attest", &evidence(&nonce));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["verdict"]["firmware"]["catalog_entries"],
        serde_json::json!(["lab-firmware"])
    );
    let token = body["token"].as_str().unwrap();
    let (_, jwks) = server.get("/.well-known/jwks.json");
    let claims = verify_token(token, &Jwks::from_json(jwks.as_bytes()).unwrap(), now())
        .unwrap()
        .claims;
    let digest = {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(text.as_bytes()))
    };
    let policy_id = claims["submods"]["cvm"]["ear_appraisal_policy_ids"][0]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        policy_id.ends_with(&format!("+firmware-catalog/sha256:{digest}+test-roots")),
        "{policy_id}"
    );
}

#[test]
fn configuration_errors_stop_the_start() {
    for args in [
        &["--listen", "nowhere"][..],
        &["--nonce-store", "memcached://x"],
        &["--nonce-ttl", "0"],
        &["--signing-key", "/nonexistent/key.pem"],
        &["--policy", "/nonexistent/policy.toml"],
        &["--firmware-catalog", "/nonexistent/catalog.json"],
        &["--firmware-catalog", env!("CARGO_MANIFEST_DIR")],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_snp-vtpm-server"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.starts_with("snp-vtpm-server: "),
            "{args:?}: {stderr}"
        );
    }
}

/// docs/server-openapi.json documents exactly the routes the service serves (the page's with
/// `--web`), each answering (neither 404 nor 405) on the method documented.
#[test]
fn the_openapi_document_matches_the_routes() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/server-openapi.json");
    let document: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let mut documented: Vec<(String, String)> = document["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, methods)| {
            methods
                .as_object()
                .unwrap()
                .keys()
                .map(|method| (method.clone(), path.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    documented.sort();
    let mut served: Vec<(String, String)> = snp_vtpm_server::service::ROUTES
        .iter()
        .chain(&snp_vtpm_server::service::PAGE_ROUTES)
        .map(|(method, path)| (method.to_string(), path.to_string()))
        .collect();
    served.sort();
    assert_eq!(documented, served);

    let page = TempDir::new("openapi-page-folder");
    std::fs::write(page.0.join("index.html"), b"<!doctype html>").unwrap();
    std::fs::write(page.0.join("app.js"), b"").unwrap();
    let server = Server::start("openapi", &["--web", page.0.to_str().unwrap()]);
    for (method, path) in &served {
        let path = path.replace("{file}", "app.js");
        let path = path.as_str();
        let status = match method.as_str() {
            "get" => server.get(path).0,
            "post" => server.post(path, b"").0,
            other => panic!("undocumented method {other}"),
        };
        assert!(
            status != 404 && status != 405,
            "{method} {path} answered {status}"
        );
    }
}

#[test]
fn generated_key_files_sign_for_the_server() {
    let dir = TempDir::new("generate-key");
    let path = dir.0.join("key.pem");
    let out = Command::new(env!("CARGO_BIN_EXE_snp-vtpm-server"))
        .arg("--generate-key")
        .arg(&path)
        .args(["--key-algorithm", "ES384"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let kid = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let key = SigningKey::from_pem(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(key.kid(), kid);
    assert_eq!(key.algorithm(), Algorithm::Es384);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "readable by its owner only");
    }
    // Never over an existing file.
    let again = Command::new(env!("CARGO_BIN_EXE_snp-vtpm-server"))
        .arg("--generate-key")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(
        SigningKey::from_pem(&std::fs::read_to_string(&path).unwrap())
            .unwrap()
            .kid(),
        kid
    );
}

/// A client that opens a connection and sends half a request is cut off once the header
/// time limit passes, and a full house of verifications is 503, not a queue; TTLs are bounded.
#[test]
fn slow_clients_are_cut_off_and_limits_hold() {
    use std::io::{Read, Write};
    let server = Server::start("slow", &[]);
    let address = server.url.trim_start_matches("http://").to_string();
    // Half-sent headers, and full headers with a body that stalls, at once: each is cut off
    // after about 10 s, the stalled body with a 408 in the refusal shape.
    let stalled = {
        let address = address.clone();
        std::thread::spawn(move || {
            let mut stream = std::net::TcpStream::connect(&address).unwrap();
            stream
                .write_all(b"POST /attest HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n{")
                .unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(20)))
                .unwrap();
            let started = std::time::Instant::now();
            let mut answer = Vec::new();
            let _ = stream.read_to_end(&mut answer);
            (
                started.elapsed(),
                String::from_utf8_lossy(&answer).into_owned(),
            )
        })
    };
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    stream
        .write_all(b"POST /challenge HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let started = std::time::Instant::now();
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(9) && waited < Duration::from_secs(15),
        "the half-sent request was held {waited:?}"
    );
    let (waited, answer) = stalled.join().unwrap();
    assert!(
        waited >= Duration::from_secs(9) && waited < Duration::from_secs(15),
        "the stalled body was held {waited:?}"
    );
    assert!(
        answer.starts_with("HTTP/1.1 408") && answer.contains("\"kind\":\"input\""),
        "{answer}"
    );
    // The service still answers others.
    assert_eq!(server.challenge().len(), 32);

    for ttl in ["0", "86401", "18446744073709551615"] {
        let out = Command::new(env!("CARGO_BIN_EXE_snp-vtpm-server"))
            .args(["--nonce-ttl", ttl])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "--nonce-ttl {ttl}");
    }
}
