//! The relying party: hands out single-use nonces that expire, verifies the evidence that comes
//! back, and releases its secret only to a VM that passed every check.
//!
//! Endpoints:
//! - `POST /challenge` -> `{"nonce": hex, "expires_in_seconds": n}`
//! - `POST /attest?nonce=HEX` with the evidence JSON as the body -> 200 `{"secret", "verdict"}`,
//!   or 403 `{"error", "failed_check", "kind"}`, or 400 for a malformed request, or 503 when
//!   the Intel collateral of TDX evidence cannot be had.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;
use snp_vtpm::amd_kds::CertificateSource;
use snp_vtpm::snp_verify::UnixTime;
use snp_vtpm::{Certificates, ErrorKind, Evidence, ExpectedNonce, Verifier, VerifyOptions};

use crate::http::{Request, Response};

/// Nonce length: 32 bytes (Azure's vTPM accepts at most 50 in a quote).
const NONCE_LEN: usize = 32;

/// The relying party's state.
pub(crate) struct RelyingParty {
    verifier: Verifier,
    /// The verifier of TDX evidence (its policy is a TDX one), if it differs.
    tdx_verifier: Option<Verifier>,
    secret: String,
    ttl: Duration,
    nonces: Mutex<HashMap<Vec<u8>, Instant>>,
    /// Where the Intel collateral of TDX evidence comes from (cache, PCS); without it, TDX
    /// evidence is refused for want of collateral.
    collateral: Option<CertificateSource>,
}

impl RelyingParty {
    /// A relying party that releases `secret` to evidence `verifier` accepts, for nonces at
    /// most `ttl` old.
    pub(crate) fn new(verifier: Verifier, secret: impl Into<String>, ttl: Duration) -> Self {
        Self {
            verifier,
            tdx_verifier: None,
            secret: secret.into(),
            ttl,
            nonces: Mutex::new(HashMap::new()),
            collateral: None,
        }
    }

    /// Verifies TDX evidence with `verifier` (a TDX policy) instead of the first one.
    pub(crate) fn with_tdx_verifier(mut self, verifier: Verifier) -> Self {
        self.tdx_verifier = Some(verifier);
        self
    }

    /// Gets the Intel collateral of TDX evidence from `source` (checked under its Intel root
    /// before it is used or cached).
    pub(crate) fn with_collateral_source(mut self, source: CertificateSource) -> Self {
        self.collateral = Some(source);
        self
    }

    /// Routes a request.
    pub(crate) fn handle(&self, request: &Request) -> Response {
        match (
            request.method.as_str(),
            request.path.split('?').next().unwrap_or_default(),
        ) {
            ("POST", "/challenge") => self.challenge(),
            ("POST", "/attest") => self.attest(request),
            (_, "/challenge" | "/attest") => Response::json(405, &json!({ "error": "use POST" })),
            _ => Response::json(404, &json!({ "error": "no such endpoint" })),
        }
    }

    fn challenge(&self) -> Response {
        let nonce = match random_nonce() {
            Ok(nonce) => nonce,
            Err(e) => {
                return Response::json(500, &json!({ "error": format!("no randomness: {e}") }));
            }
        };
        let mut nonces = self
            .nonces
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = Instant::now();
        nonces.retain(|_, issued| now.duration_since(*issued) < self.ttl); // forget expired ones
        nonces.insert(nonce.to_vec(), now);
        Response::json(
            200,
            &json!({ "nonce": hex::encode(nonce), "expires_in_seconds": self.ttl.as_secs() }),
        )
    }

    fn attest(&self, request: &Request) -> Response {
        let refuse = |status: u16, check: &str, error: String, kind: ErrorKind| {
            Response::json(
                status,
                &json!({ "error": error, "failed_check": check, "kind": kind }),
            )
        };
        let Some(nonce) = request
            .path
            .split_once("?nonce=")
            .and_then(|(_, hex_nonce)| hex::decode(hex_nonce).ok())
        else {
            return refuse(
                400,
                "input",
                "give the nonce as ?nonce=HEX".into(),
                ErrorKind::Input,
            );
        };
        // Single use: the nonce is gone whatever the outcome.
        let issued = self
            .nonces
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(&nonce);
        match issued {
            None => {
                return refuse(
                    403,
                    "nonce",
                    "unknown or already used nonce (replay?)".into(),
                    ErrorKind::Verification,
                );
            }
            Some(at) if at.elapsed() > self.ttl => {
                return refuse(
                    403,
                    "nonce",
                    "the nonce has expired".into(),
                    ErrorKind::Verification,
                );
            }
            Some(_) => {}
        }
        let evidence = match Evidence::from_json(&request.body, snp_vtpm::DEFAULT_SIZE_LIMIT) {
            Ok(evidence) => evidence,
            Err(e) => return refuse(400, "input", e.to_string(), ErrorKind::Input),
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let options = VerifyOptions {
            require_fresh_report: true,
            ..VerifyOptions::at(UnixTime::from_secs(now))
        };
        let verifier = match (&evidence.td_quote, &self.tdx_verifier) {
            (Some(_), Some(tdx)) => tdx,
            _ => &self.verifier,
        };
        let mut certificates = Certificates::default();
        if let (Some(quote), Some(source)) = (&evidence.td_quote, &self.collateral) {
            match snp_vtpm::fetch::tdx_collateral(source, verifier.intel_roots(), quote) {
                Ok(collateral) => certificates.tdx_collateral = Some(collateral),
                // A quote whose PCK chain does not parse or verify is the client's fault.
                Err(e) if e.kind() == ErrorKind::Input => {
                    return refuse(400, "input", e.message(), e.kind());
                }
                Err(e) if e.kind() == ErrorKind::Verification => {
                    return refuse(
                        403,
                        &e.check().to_string().replace(' ', "_"),
                        e.message(),
                        e.kind(),
                    );
                }
                Err(e) => return refuse(503, "certificates", e.message(), e.kind()),
            }
        }
        match verifier.verify(
            &evidence,
            ExpectedNonce::Exactly(&nonce),
            &certificates,
            &options,
        ) {
            Ok(verified) => {
                Response::json(200, &json!({ "secret": self.secret, "verdict": verified }))
            }
            Err(e) => refuse(
                403,
                &e.check().to_string().replace(' ', "_"),
                e.message(),
                e.kind(),
            ),
        }
    }
}

fn random_nonce() -> std::io::Result<[u8; NONCE_LEN]> {
    let mut nonce = [0u8; NONCE_LEN];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut nonce)?;
    Ok(nonce)
}
