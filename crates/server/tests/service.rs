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

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ear_token::{Algorithm, Jwks, SigningKey, verify_token};
use hcl_parse::Generation;
use serde_json::{Value, json};
use snp_vtpm_testkit::azure::{SyntheticReport, TEST_FIRMWARE_ID_KEY_DIGEST, synthetic_evidence};
use snp_vtpm_testkit::pki::TestPki;

/// A folder under Cargo's per-target temporary folder, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let path = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("server-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The binary on a free loopback port; killed on drop.
struct Server {
    child: Child,
    url: String,
    _dir: TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts the server trusting the test PKI and the test firmware, offline; `extra` adds
    /// options.
    fn start(name: &str, extra: &[&str]) -> Self {
        let dir = TempDir::new(name);
        let pki = TestPki::shared();
        let roots = dir.0.join("test-roots.pem");
        std::fs::write(&roots, pki.product(Generation::Milan).vcek_chain_pem()).unwrap();
        let policy = dir.0.join("policy.toml");
        std::fs::write(
            &policy,
            format!(
                "require_report_bound_to_nonce = true\n[report]\nallowed_id_key_digests = [\"{}\"]\n",
                hex::encode(TEST_FIRMWARE_ID_KEY_DIGEST)
            ),
        )
        .unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_snp-vtpm-server"))
            .args(["--listen", "127.0.0.1:0", "--offline", "--no-crl-fetch"])
            .arg("--trust-test-amd-roots")
            .arg(&roots)
            .arg("--policy")
            .arg(&policy)
            .arg("--cache-dir")
            .arg(dir.0.join("cache"))
            .args(extra)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let url = loop {
            let line = lines
                .next()
                .expect("the server prints where it listens")
                .unwrap();
            if let Some(rest) = line.split("listening on ").nth(1) {
                break rest.split_whitespace().next().unwrap().to_string();
            }
        };
        // Keep draining stderr so the server never blocks on it.
        std::thread::spawn(move || for _ in lines {});
        Self {
            child,
            url,
            _dir: dir,
        }
    }

    fn post(&self, path: &str, body: &[u8]) -> (u16, Value, Option<String>) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut response = agent
            .post(&format!("{}{path}", self.url))
            .header("Content-Type", "application/json")
            .send(body)
            .unwrap();
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = response.body_mut().read_to_string().unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
            retry_after,
        )
    }

    fn get(&self, path: &str) -> (u16, String) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut response = agent.get(&format!("{}{path}", self.url)).call().unwrap();
        (
            response.status().as_u16(),
            response.body_mut().read_to_string().unwrap_or_default(),
        )
    }

    fn challenge(&self) -> Vec<u8> {
        let (status, body, _) = self.post("/challenge", b"");
        assert_eq!(status, 200, "{body}");
        hex::decode(body["nonce"].as_str().unwrap()).unwrap()
    }
}

/// Evidence bound to `nonce`, carrying the VCEK and the test chain.
fn evidence(nonce: &[u8]) -> Vec<u8> {
    let pki = TestPki::shared();
    let made = synthetic_evidence(pki, &SyntheticReport::new(&[], [0; 64]), nonce, true);
    let mut json: Value = serde_json::from_slice(&made.json).unwrap();
    let product = pki.product(Generation::Milan);
    json["cert_chain"] = json!([
        URL_SAFE_NO_PAD.encode(&product.ask_der),
        URL_SAFE_NO_PAD.encode(&product.ark_der)
    ]);
    serde_json::to_vec(&json).unwrap()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

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
    let (status, _, _) = server.post("/attest", &vec![b' '; 2 * 1024 * 1024 + 1]);
    assert_eq!(status, 413);
    let (status, _, _) = server.post("/challenge", b"{\"give\": \"me\"}");
    assert_eq!(status, 400);
    let (status, _) = server.get("/attest");
    assert_eq!(status, 405);
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
fn configuration_errors_stop_the_start() {
    for args in [
        &["--listen", "nowhere"][..],
        &["--nonce-store", "memcached://x"],
        &["--nonce-ttl", "0"],
        &["--signing-key", "/nonexistent/key.pem"],
        &["--policy", "/nonexistent/policy.toml"],
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

/// docs/server-openapi.json documents exactly the routes the service serves, each answering
/// (neither 404 nor 405) on the method documented.
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
        .map(|(method, path)| (method.to_string(), path.to_string()))
        .collect();
    served.sort();
    assert_eq!(documented, served);

    let server = Server::start("openapi", &[]);
    for (method, path) in &served {
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
