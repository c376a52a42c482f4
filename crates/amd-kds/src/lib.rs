//! Certificate and collateral fetching: for AMD SEV-SNP, VCEKs, CA chains and CRLs from AMD's
//! key distribution service (KDS) and Azure's instance metadata service (IMDS THIM); for Intel
//! TDX, a TD quote's collateral from Intel's PCS (or a cache with its API); and the issuing CAs
//! that certificates name in their AIA (the vTPM AK's). One disk cache, one retry policy.
//!
//! | type | job |
//! |---|---|
//! | [`VcekRequest`] | which VCEK: product, hardware id, TCB (built from an [`SnpReport`](hcl_parse::SnpReport)) and its KDS URL |
//! | [`CertificateSource`] | the order a caller uses: cache, then IMDS (on Azure), then KDS; owns the cache, offline mode and the [`ArtifactCheck`]; says which answered ([`Fetched`], [`Source`]) |
//! | [`KdsClient`] / [`KdsConfig`] | KDS transport: URLs and downloads (with retries) of VCEKs (Milan, Genoa, Turin), VCEK and VLEK chains, CRLs |
//! | [`ImdsClient`] / [`ImdsConfig`] | Azure IMDS THIM transport: `vcekCert`, `certificateChain`, `tcbm`, `cacheControl` |
//! | [`PcsClient`] / [`PcsConfig`] | Intel PCS v4 transport (or a cache with its API): a TD quote's collateral, assembled as [`tdx_verify::Collateral`] |
//! | [`Cache`] / [`CacheConfig`] | the disk cache (atomic writes, corrupt entries repaired) and single-flight downloads |
//! | [`RetryPolicy`], [`Clock`], [`Observer`] | retries (429 `Retry-After`, backoff with jitter for 5xx), injectable time, wait notices |
//! | [`IssuerRequest`] | the issuer a certificate names in its AIA (name, key identifier, caIssuers URLs): Azure's vTPM AK certificates name their CA this way |
//! | [`Certificate`], [`CertChain`], [`Crl`], [`CaCertificate`] | what comes back: checked to be well formed and of the kind asked for |
//! | [`ArtifactCheck`] | the caller's trust decision, run on every artifact before it is returned or cached, and on every cache hit |
//! | [`Error`], [`ArtifactKind`] | one error type, naming which artifact was asked for: [`Error::is_unavailable`] vs [`Error::is_malformed`] vs [`Error::is_refused`] |
//!
//! Modules depend on each other in one direction: `source` composes `kds`, `imds`, `cache` and
//! `check`; the clients are transports (`http`, `retry`) that parse bodies into `artifact`s;
//! `cache` stores artifacts and says where they came from (`fetched`), knowing no service.
//!
//! This crate decides no trust itself: a chain from KDS or IMDS is transport, and this crate
//! does not depend on the verifier. It refuses bodies that are not what was asked for (one DER
//! certificate with a P-384 key for a VCEK, two CA certificates, intermediate then a
//! self-issued ARK of the product, for a chain, a DER CRL with a nextUpdate), and runs the
//! [`ArtifactCheck`] its caller installs ([`CertificateSource::with_check`]): `snp-vtpm`
//! installs one that verifies chains, VCEKs (product, hwID, every SPL, signature) and CRLs
//! under pinned AMD roots, so that nothing a source sends is cached or returned unless it
//! verifies.
//!
//! The API is blocking (no async runtime); HTTP is ureq with rustls (no OpenSSL).
//!
//! ```no_run
//! use std::sync::Arc;
//! use amd_kds::{Cache, CacheConfig, CertificateSource, ChainKind, ImdsClient, ImdsConfig,
//!               KdsClient, KdsConfig, StderrObserver};
//! use hcl_parse::{Generation, SnpReport};
//!
//! # fn run(report_bytes: &[u8], on_azure: bool) -> Result<(), Box<dyn std::error::Error>> {
//! let notices = Arc::new(StderrObserver);
//! let kds = KdsClient::new(KdsConfig::default())?.with_observer(notices.clone());
//! let mut source = CertificateSource::new(kds, Cache::from_config(&CacheConfig::Default));
//! if on_azure {
//!     source = source.with_imds(ImdsClient::new(ImdsConfig::default())?.with_observer(notices));
//! }
//! let report = SnpReport::from_bytes(report_bytes)?;
//! let vcek = source.vcek_for_report(&report, Some(Generation::Milan))?;
//! let chain = source.cert_chain(Generation::Milan, ChainKind::Vcek)?;
//! eprintln!("VCEK from {}, chain from {}", vcek.source, chain.source);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod artifact;
mod cache;
mod check;
mod error;
mod fetched;
mod http;
mod imds;
mod issuer;
mod kds;
mod observe;
mod pcs;
mod request;
mod retry;
mod source;

pub use artifact::{CaCertificate, CertChain, Certificate, Crl};
pub use attest_prims::clock::{Clock, SimulatedClock, SystemClock};
pub use cache::{COLLATERAL_MAX_AGE, CRL_MAX_AGE, Cache, CacheConfig};
pub use check::ArtifactCheck;
pub use error::{ArtifactKind, Error, ErrorKind, Failure, Result, Service};
pub use fetched::{Fetched, Source};
pub use http::{DEFAULT_MAX_BODY_BYTES, HttpConfig, ProxyConfig, USER_AGENT};
pub use imds::{
    IMDS_BASE_URL, IMDS_TD_QUOTE_PATH, IMDS_THIM_PATH, ImdsClient, ImdsConfig, ImdsQuery,
    ThimCertification,
};
pub use issuer::{AZURE_PKI_HOSTS, IssuerHosts, IssuerRequest, MAX_ISSUER_URLS};
pub use kds::{KDS_BASE_URL, KdsClient, KdsConfig};
pub use observe::{Observer, SilentObserver, StderrObserver, WaitEvent};
pub use pcs::{
    AZURE_PCS_BASE_URL, INTEL_PCS_BASE_URL, INTEL_ROOT_CA_CRL_URL, PcsClient, PcsConfig,
};
pub use request::{ChainKind, VcekRequest, crl_path};
pub use retry::RetryPolicy;
pub use source::{CertificateSource, IssuerCandidates};
