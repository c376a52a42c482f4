//! The AMD KDS client: VCEKs, CA chains and CRLs over HTTP with the retry policy, each body
//! checked to be well formed and of the kind asked for. Transport only: the cache, offline mode
//! and the caller's check are the [`CertificateSource`](crate::CertificateSource)'s.

use std::sync::Arc;

use hcl_parse::Generation;

use crate::artifact::{CertChain, Certificate, Crl, malformed};
use crate::error::{ArtifactKind, Result, Service};
use crate::fetched::Sent;
use crate::http::{HttpConfig, Transport, normalise_base_url};
use crate::issuer::{issuer_http, issuer_retry};
use crate::observe::Observer;
use crate::request::{ChainKind, VcekRequest, crl_path};
use crate::retry::{Exchange, Fetcher, RetryPolicy};
use attest_prims::clock::Clock;

/// AMD's KDS.
pub const KDS_BASE_URL: &str = "https://kdsintf.amd.com";

/// Settings of a [`KdsClient`]. (The cache and offline mode are the
/// [`CertificateSource`](crate::CertificateSource)'s.)
#[derive(Debug, Clone, PartialEq)]
pub struct KdsConfig {
    /// Scheme, host and optional port (and path prefix) before `/vcek/v1/...`.
    pub base_url: String,
    /// Timeouts, proxy, User-Agent, body limit.
    pub http: HttpConfig,
    /// Retries for 429, 5xx and connection failures.
    pub retry: RetryPolicy,
}

impl Default for KdsConfig {
    fn default() -> Self {
        Self {
            base_url: KDS_BASE_URL.to_string(),
            http: HttpConfig::default(),
            retry: RetryPolicy::default(),
        }
    }
}

/// A client of AMD's key distribution service: where each artifact is, and how to download it
/// (with retries). A [`CertificateSource`](crate::CertificateSource) is built on it; that is
/// where the cache, offline mode and the caller's [`ArtifactCheck`](crate::ArtifactCheck) are,
/// so that nothing this client downloads is returned or cached unchecked.
///
/// ```no_run
/// use std::sync::Arc;
/// use amd_kds::{Cache, CertificateSource, KdsClient, KdsConfig, StderrObserver, VcekRequest};
/// use hcl_parse::{Generation, SnpReport};
///
/// # fn run(report_bytes: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
/// let kds = KdsClient::new(KdsConfig::default())?.with_observer(Arc::new(StderrObserver));
/// let request = VcekRequest::from_report(&SnpReport::from_bytes(report_bytes)?, Generation::Milan)?;
/// println!("asking {}", kds.vcek_url(&request));
/// let source = CertificateSource::new(kds, Cache::disabled());
/// let vcek = source.vcek(&request)?;
/// println!("VCEK from {}: {} bytes", vcek.source, vcek.value.der().len());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct KdsClient {
    base_url: String,
    fetcher: Fetcher,
    /// The transport of caIssuers downloads: these settings, with shorter timeouts and no
    /// redirects ([`crate::issuer`]).
    issuer_transport: Transport,
}

impl std::fmt::Debug for KdsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KdsClient")
            .field("base_url", &self.base_url)
            .field("retry", &self.fetcher.policy)
            .finish_non_exhaustive()
    }
}

impl KdsClient {
    /// A client as `config` describes, on the system clock and silent.
    pub fn new(config: KdsConfig) -> Result<Self> {
        Ok(Self {
            base_url: normalise_base_url(&config.base_url)?,
            issuer_transport: Transport::new(&issuer_http(&config.http))?,
            fetcher: Fetcher::new(&config.http, config.retry)?,
        })
    }

    /// Uses `clock` for retry waits and deadlines (and, for a source built on this client,
    /// for CRL expiry and the time of checks).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.fetcher.clock = clock;
        self
    }

    /// Tells `observer` about every wait (a CLI passes [`crate::StderrObserver`]).
    #[must_use]
    pub fn with_observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.fetcher.observer = observer;
        self
    }

    /// The base URL, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The full URL of a VCEK.
    pub fn vcek_url(&self, request: &VcekRequest) -> String {
        format!("{}{}", self.base_url, request.path())
    }

    /// The full URL of a chain.
    pub fn chain_url(&self, product: Generation, kind: ChainKind) -> String {
        format!("{}{}", self.base_url, kind.path(product))
    }

    /// The full URL of a CRL.
    pub fn crl_url(&self, product: Generation) -> String {
        format!("{}{}", self.base_url, crl_path(product))
    }

    /// The HTTP side of caIssuers downloads: this client's settings with shorter timeouts, no
    /// redirects and at most two attempts, on this client's clock and observer.
    pub(crate) fn issuer_fetcher(&self) -> Fetcher {
        Fetcher {
            transport: self.issuer_transport.clone(),
            policy: issuer_retry(),
            clock: self.fetcher.clock.clone(),
            observer: self.fetcher.observer.clone(),
        }
    }

    /// The clock of this client's retries.
    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        &self.fetcher.clock
    }

    /// Downloads the VCEK of `request`: well formed, not yet checked.
    pub(crate) fn download_vcek(&self, request: &VcekRequest) -> Result<Sent<Certificate>> {
        let url = self.vcek_url(request);
        let body = self.get(&url, ArtifactKind::Vcek)?;
        let cert = Certificate::parse(&body)
            .map_err(|reason| malformed(ArtifactKind::Vcek, &url, reason))?;
        Ok(Sent::kds(cert, url))
    }

    /// Downloads the chain of `product` and `kind`: well formed, not yet checked.
    pub(crate) fn download_chain(
        &self,
        product: Generation,
        kind: ChainKind,
    ) -> Result<Sent<CertChain>> {
        let url = self.chain_url(product, kind);
        let body = self.get(&url, kind.artifact_kind())?;
        let chain = CertChain::parse(&body, kind, Some(product))
            .map_err(|reason| malformed(kind.artifact_kind(), &url, reason))?;
        Ok(Sent::kds(chain, url))
    }

    /// Downloads the CRL of `product`: well formed, not yet checked.
    pub(crate) fn download_crl(&self, product: Generation) -> Result<Sent<Crl>> {
        let url = self.crl_url(product);
        let body = self.get(&url, ArtifactKind::Crl)?;
        let crl = Crl::parse(&body).map_err(|reason| malformed(ArtifactKind::Crl, &url, reason))?;
        Ok(Sent::kds(crl, url))
    }

    fn get(&self, url: &str, kind: ArtifactKind) -> Result<Vec<u8>> {
        self.fetcher.get(&Exchange {
            service: Service::Kds,
            kind,
            url,
            headers: &[],
            body: None,
        })
    }
}
