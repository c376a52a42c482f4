//! `snp-vtpm-server`: an attestation service. Relying parties ask it for a single-use nonce,
//! a VM posts evidence bound to that nonce, and the service answers with a signed attestation
//! result (an EAR JWT) that any relying party checks against the service's JWKS.
//!
//! | module | job |
//! |---|---|
//! | [`config`] | the command line, environment and TOML file, merged into one [`Config`] |
//! | [`nonce`] | single-use nonces that expire: in memory (one instance) or in Redis (many) |
//! | [`result`] | the EAR claims of a verdict: status, AR4SI trustworthiness vector, the verified claims |
//! | [`metrics`] | counters and a latency histogram in Prometheus text |
//! | [`service`] | the state, the verification of one request (certificates, verifier), the HTTP routes |
//! | [`site`] | the verification page (`--web`), read into memory at start and served at `/` |
//!
//! Verification is the facade's (`snp_vtpm::Verifier`), run off the async threads; nothing
//! here decides trust.
#![forbid(unsafe_code)]

pub mod config;
pub mod metrics;
pub mod nonce;
pub mod result;
pub mod service;
pub mod site;

pub use config::Config;
pub use service::{AppState, router, serve};
