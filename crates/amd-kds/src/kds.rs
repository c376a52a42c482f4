//! The AMD KDS client: VCEKs, CA chains and CRLs, through the cache and the retry policy.

use std::sync::Arc;

use hcl_parse::{Generation, SnpReport};

use crate::artifact::{CertChain, Certificate, Crl, malformed};
use crate::cache::{Cache, CacheConfig, Entry};
use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Kind, Result, Service};
use crate::http::{HttpConfig, Transport};
use crate::observe::{Observer, SilentObserver};
use crate::request::{ChainKind, VcekRequest, crl_path};
use crate::retry::{Exchange, Fetcher, RetryPolicy};
use crate::source::{Fetched, Source};

/// AMD's KDS.
pub const KDS_BASE_URL: &str = "https://kdsintf.amd.com";

/// Settings of a [`KdsClient`].
#[derive(Debug, Clone, PartialEq)]
pub struct KdsConfig {
    /// Scheme, host and optional port (and path prefix) before `/vcek/v1/...`.
    pub base_url: String,
    /// Timeouts, proxy, User-Agent, body limit.
    pub http: HttpConfig,
    /// Retries for 429, 5xx and connection failures.
    pub retry: RetryPolicy,
    /// The disk cache.
    pub cache: CacheConfig,
    /// Answer from the cache only; never touch the network.
    pub offline: bool,
}

impl Default for KdsConfig {
    fn default() -> Self {
        Self {
            base_url: KDS_BASE_URL.to_string(),
            http: HttpConfig::default(),
            retry: RetryPolicy::default(),
            cache: CacheConfig::Default,
            offline: false,
        }
    }
}

/// A client of AMD's key distribution service.
///
/// Every method looks in the cache first; in offline mode it stops there. Bodies are checked
/// to be well formed and of the kind asked for before they are returned or cached; whether
/// they are trusted and match a report is the verifier's decision.
///
/// ```no_run
/// use std::sync::Arc;
/// use amd_kds::{KdsClient, KdsConfig, StderrObserver, VcekRequest};
/// use hcl_parse::{Generation, SnpReport};
///
/// # fn run(report_bytes: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
/// let kds = KdsClient::new(KdsConfig::default())?.with_observer(Arc::new(StderrObserver));
/// let report = SnpReport::from_bytes(report_bytes)?;
/// let vcek = kds.vcek(&VcekRequest::from_report(&report, Generation::Milan)?)?;
/// println!("VCEK from {}: {} bytes", vcek.source, vcek.value.der().len());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct KdsClient {
    base_url: String,
    fetcher: Fetcher,
    cache: Cache,
    offline: bool,
}

impl std::fmt::Debug for KdsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KdsClient")
            .field("base_url", &self.base_url)
            .field("retry", &self.fetcher.policy)
            .field("cache", &self.cache)
            .field("offline", &self.offline)
            .finish_non_exhaustive()
    }
}

impl KdsClient {
    /// A client as `config` describes, on the system clock and silent.
    pub fn new(config: KdsConfig) -> Result<Self> {
        config.retry.validate()?;
        Ok(Self {
            base_url: normalise_base_url(&config.base_url)?,
            fetcher: Fetcher {
                transport: Transport::new(&config.http)?,
                policy: config.retry,
                clock: Arc::new(SystemClock::new()),
                observer: Arc::new(SilentObserver),
            },
            cache: Cache::from_config(&config.cache),
            offline: config.offline,
        })
    }

    /// Uses `clock` for retry waits, deadlines and CRL expiry.
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

    /// Uses `cache` instead of the configured one (to share one cache between clients).
    #[must_use]
    pub fn with_cache(mut self, cache: Cache) -> Self {
        self.cache = cache;
        self
    }

    /// The cache this client reads and fills.
    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// True in offline mode.
    pub fn is_offline(&self) -> bool {
        self.offline
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

    /// The VCEK of `request`: cache, else KDS.
    pub fn vcek(&self, request: &VcekRequest) -> Result<Fetched<Certificate>> {
        let entry = Entry::Vcek(request.clone());
        self.cache
            .get_or_fetch(&entry, self.offline, self.now(), || {
                self.download_vcek(request)
                    .map(|cert| Fetched::new(cert, Source::Kds))
            })
    }

    /// The VCEK that signed `report`, a report of a `product` processor.
    pub fn vcek_for_report(
        &self,
        report: &SnpReport<'_>,
        product: Generation,
    ) -> Result<Fetched<Certificate>> {
        self.vcek(&VcekRequest::from_report(report, product)?)
    }

    /// The VCEK or VLEK chain of `product`: cache, else KDS.
    pub fn cert_chain(&self, product: Generation, kind: ChainKind) -> Result<Fetched<CertChain>> {
        let entry = Entry::Chain(product, kind);
        self.cache
            .get_or_fetch(&entry, self.offline, self.now(), || {
                self.download_chain(product, kind)
                    .map(|chain| Fetched::new(chain, Source::Kds))
            })
    }

    /// The CRL of `product`: the cached one until its nextUpdate, else KDS.
    pub fn crl(&self, product: Generation) -> Result<Fetched<Crl>> {
        let entry = Entry::Crl(product);
        self.cache
            .get_or_fetch(&entry, self.offline, self.now(), || {
                self.download_crl(product)
                    .map(|crl| Fetched::new(crl, Source::Kds))
            })
    }

    pub(crate) fn now(&self) -> std::time::SystemTime {
        self.fetcher.clock.now()
    }

    pub(crate) fn download_vcek(&self, request: &VcekRequest) -> Result<Certificate> {
        let url = self.vcek_url(request);
        let body = self.get(&url, Kind::Vcek)?;
        Certificate::parse(&body).map_err(|reason| malformed(Kind::Vcek, &url, reason))
    }

    pub(crate) fn download_chain(&self, product: Generation, kind: ChainKind) -> Result<CertChain> {
        let url = self.chain_url(product, kind);
        let body = self.get(&url, kind.kind())?;
        CertChain::parse(&body, kind, Some(product))
            .map_err(|reason| malformed(kind.kind(), &url, reason))
    }

    fn download_crl(&self, product: Generation) -> Result<Crl> {
        let url = self.crl_url(product);
        let body = self.get(&url, Kind::Crl)?;
        Crl::parse(&body).map_err(|reason| malformed(Kind::Crl, &url, reason))
    }

    fn get(&self, url: &str, kind: Kind) -> Result<Vec<u8>> {
        self.fetcher.get(&Exchange {
            service: Service::Kds,
            kind,
            url,
            headers: &[],
        })
    }
}

/// Checks and trims a base URL: `http://` or `https://`, a host, no query or fragment.
pub(crate) fn normalise_base_url(url: &str) -> Result<String> {
    let trimmed = url.trim().trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .ok_or_else(|| {
            Error::invalid_config(format!("base URL \"{url}\" is not http:// or https://"))
        })?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(Error::invalid_config(format!(
            "base URL \"{url}\" has no host"
        )));
    }
    if rest.contains(['?', '#']) {
        return Err(Error::invalid_config(format!(
            "base URL \"{url}\" must not have a query or fragment"
        )));
    }
    Ok(trimmed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(
            normalise_base_url("https://kdsintf.amd.com/").unwrap(),
            "https://kdsintf.amd.com"
        );
        assert_eq!(
            normalise_base_url("http://127.0.0.1:8080/prefix").unwrap(),
            "http://127.0.0.1:8080/prefix"
        );
        for bad in ["ftp://x", "https://", "kdsintf.amd.com", "http://x/?a=b"] {
            assert!(normalise_base_url(bad).is_err(), "{bad}");
        }
    }
}
