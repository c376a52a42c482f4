//! Test support: the real binary on a free loopback port, its HTTP client, and synthetic Azure
//! evidence bound to a nonce (the test PKI, trusted through the clearly named test option).
#![allow(dead_code, unreachable_pub)]
// Each test binary uses a different part, through a private `mod support`.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use hcl_parse::Generation;
use serde_json::Value;
use snp_vtpm_testkit::azure::{TEST_FIRMWARE_ID_KEY_DIGEST, service_evidence};
use snp_vtpm_testkit::pki::TestPki;
use snp_vtpm_testkit::server::ServerProcess;

/// A folder under Cargo's per-target temporary folder, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
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
pub struct Server {
    /// Killed on drop.
    process: ServerProcess,
    pub url: String,
    _dir: TempDir,
}

impl Server {
    /// Starts the server trusting the test PKI and the test firmware, offline; `extra` adds
    /// options.
    pub fn start(name: &str, extra: &[&str]) -> Self {
        Self::start_with_env(name, extra, &[])
    }

    /// [`Server::start`] with these environment variables set for the process.
    pub fn start_with_env(name: &str, extra: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Self {
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
        let cache = dir.0.join("cache");
        let mut options: Vec<&std::ffi::OsStr> = [
            "--listen",
            "127.0.0.1:0",
            "--offline",
            "--no-crl-fetch",
            "--trust-test-amd-roots",
        ]
        .iter()
        .map(|a| a.as_ref())
        .collect();
        options.push(roots.as_os_str());
        options.extend(["--policy".as_ref(), policy.as_os_str()]);
        options.extend(["--cache-dir".as_ref(), cache.as_os_str()]);
        options.extend(extra.iter().map(std::ffi::OsStr::new));
        let process = ServerProcess::start_with_env(
            Path::new(env!("CARGO_BIN_EXE_snp-vtpm-server")),
            &options,
            env,
        )
        .unwrap();
        Self {
            url: process.url().to_string(),
            process,
            _dir: dir,
        }
    }

    pub fn post(&self, path: &str, body: &[u8]) -> (u16, Value, Option<String>) {
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

    /// What the server printed before it listened.
    pub fn said(&self) -> &[String] {
        self.process.said()
    }

    pub fn get(&self, path: &str) -> (u16, String) {
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

    pub fn challenge(&self) -> Vec<u8> {
        let (status, body, _) = self.post("/challenge", b"");
        assert_eq!(status, 200, "{body}");
        hex::decode(body["nonce"].as_str().unwrap()).unwrap()
    }
}

/// Evidence bound to `nonce`, carrying the VCEK and the test chain.
pub fn evidence(nonce: &[u8]) -> Vec<u8> {
    service_evidence(TestPki::shared(), nonce)
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}
