//! The attestation service of the run: the real `snp-vtpm-server` binary on a loopback port,
//! and in front of it the paravisor stand-in. swtpm has no paravisor, so the front plays it
//! openly: as the service issues a nonce, it writes a report bound to that nonce into NV
//! 0x01400001 (what Azure's paravisor does when the attester asks for a fresh report), then
//! hands the answer on. Everything else goes to the service unchanged.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;
use snp_vtpm_testkit::pki::TestPki;
use snp_vtpm_testkit::server::ServerProcess;

use crate::http::{self, Request, Response, Server};
use crate::paravisor;

/// `snp-vtpm-server`, killed on drop.
pub struct Service {
    process: ServerProcess,
}

impl Service {
    /// Starts `binary` with `options` on a free loopback port; returns once it listens.
    pub fn start(binary: &Path, options: &[OsString]) -> Result<Self, String> {
        let mut all: Vec<OsString> = vec!["--listen".into(), "127.0.0.1:0".into()];
        all.extend(options.iter().cloned());
        Ok(Self {
            process: ServerProcess::start(binary, &all)?,
        })
    }

    /// The base URL.
    pub fn url(&self) -> &str {
        self.process.url()
    }

    /// The process id (to check it is gone after the run).
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Posts evidence straight to `/attest` (as an attacker can); the status and the answer.
    pub fn submit(&self, evidence: &[u8]) -> Result<(u16, Value), String> {
        let (status, body) = http::request(
            &format!("{}/attest", self.url()),
            "POST",
            &[("Content-Type", "application/json")],
            evidence,
        )
        .map_err(|e| e.to_string())?;
        let answer = serde_json::from_slice(&body)
            .map_err(|e| format!("/attest answered {status} with no JSON: {e}"))?;
        Ok((status, answer))
    }
}

/// What the paravisor stand-in puts in the reports it writes.
#[derive(Debug, Clone)]
pub struct ReportSpec {
    /// The RSA modulus of the key the runtime claims name as the AK.
    pub ak_modulus: Vec<u8>,
    /// The firmware: the ID-key digest (SNP); on TDX, an MRTD other than the sample
    /// paravisor's when `unknown_firmware`.
    pub firmware: [u8; 48],
    /// Whether `firmware` is one the service does not know (TDX writes another MRTD).
    pub unknown_firmware: bool,
}

/// The paravisor stand-in in front of the service.
pub struct Front {
    server: Server,
    spec: Arc<Mutex<ReportSpec>>,
}

impl Front {
    /// Serves on a free loopback port, forwarding to `service_url`, writing reports into the
    /// vTPM at `tcti` (a TDX HCL report when `tdx`, else an SNP one signed by `pki`).
    pub fn start(
        service_url: &str,
        tcti: String,
        pki: &'static TestPki,
        tdx: bool,
        spec: ReportSpec,
    ) -> Result<Self, String> {
        let spec = Arc::new(Mutex::new(spec));
        let current = Arc::clone(&spec);
        let upstream = service_url.to_string();
        let server = Server::start(move |request: &Request| {
            let answer = forward(&upstream, request);
            if request.path == "/challenge" && answer.status == 200 {
                let spec = current
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
                if let Err(e) = bind_report(&tcti, pki, tdx, &spec, &answer.body) {
                    return Response::json(
                        502,
                        &serde_json::json!({ "error": format!("paravisor stand-in: {e}") }),
                    );
                }
            }
            answer
        })
        .map_err(|e| e.to_string())?;
        Ok(Self { server, spec })
    }

    /// The base URL the attester is given.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Changes what the next reports carry.
    pub fn set(&self, change: impl FnOnce(&mut ReportSpec)) {
        change(&mut self.spec.lock().unwrap_or_else(PoisonError::into_inner));
    }
}

/// Passes `request` on to the service and its answer back.
fn forward(upstream: &str, request: &Request) -> Response {
    let url = format!("{upstream}{}", request.path);
    let content_type = request.header("content-type").unwrap_or("application/json");
    match http::request(
        &url,
        &request.method,
        &[("Content-Type", content_type)],
        &request.body,
    ) {
        Ok((status, body)) => Response::bytes(status, "application/json", body),
        Err(e) => Response::json(
            502,
            &serde_json::json!({ "error": format!("the service did not answer: {e}") }),
        ),
    }
}

/// Writes the report bound to the nonce of a challenge answer.
fn bind_report(
    tcti: &str,
    pki: &TestPki,
    tdx: bool,
    spec: &ReportSpec,
    challenge: &[u8],
) -> Result<(), String> {
    let answer: Value = serde_json::from_slice(challenge).map_err(|e| e.to_string())?;
    let nonce = answer["nonce"]
        .as_str()
        .and_then(|text| hex::decode(text).ok())
        .ok_or("the challenge has no hex nonce")?;
    if tdx {
        let mr_td = spec.unknown_firmware.then_some(spec.firmware);
        paravisor::write_bound_tdx_report(tcti, &spec.ak_modulus, &nonce, mr_td)
    } else {
        paravisor::write_bound_report(tcti, pki, &spec.ak_modulus, &nonce, spec.firmware)
    }
}

/// A file of the run's folder, written.
pub fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, String> {
    let path = dir.join(name);
    std::fs::write(&path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}
