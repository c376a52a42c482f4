//! The AMD KDS client: VCEKs, CA chains and CRLs, through the cache and the retry policy.

use std::sync::Arc;
use std::time::SystemTime;

use hcl_parse::{Generation, SnpReport};

use crate::artifact::{CertChain, Certificate, Crl, malformed};
use crate::cache::{Cache, CacheConfig, Entry};
use crate::check::{ArtifactCheck, CheckFailure};
use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Kind, Result, Service};
use crate::http::{HttpConfig, Transport};
use crate::observe::{Observer, SilentObserver};
use crate::request::{ChainKind, VcekRequest, crl_path};
use crate::retry::{Exchange, Fetcher, RetryPolicy};
use crate::source::{Fetched, Sent};

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
/// to be well formed and of the kind asked for before they are returned or cached. With an
/// [`ArtifactCheck`] ([`KdsClient::with_check`]), every artifact, downloaded or cached, must
/// also pass that check (a VCEK and a CRL are checked under their product's VCEK chain, which
/// this client gets first); without one, whether they are trusted is the verifier's decision
/// alone.
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
    check: Option<Arc<dyn ArtifactCheck>>,
}

impl std::fmt::Debug for KdsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KdsClient")
            .field("base_url", &self.base_url)
            .field("retry", &self.fetcher.policy)
            .field("cache", &self.cache)
            .field("offline", &self.offline)
            .field("checked", &self.check.is_some())
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
            check: None,
        })
    }

    /// Runs `check` on every VCEK, chain and CRL before it is returned or cached, and on every
    /// cache hit (an entry it refuses is removed and fetched again, once). A VCEK or CRL is
    /// checked under its product's VCEK chain, which the client gets (and checks) first.
    #[must_use]
    pub fn with_check(mut self, check: Arc<dyn ArtifactCheck>) -> Self {
        self.check = Some(check);
        self
    }

    /// The check this client runs, if any.
    pub fn check(&self) -> Option<&Arc<dyn ArtifactCheck>> {
        self.check.as_ref()
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
        self.vcek_via(request, &|product| self.issuer_chain(product), || {
            self.download_vcek(request)
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
        self.chain_via(product, kind, || self.download_chain(product, kind))
    }

    /// The CRL of `product`: the cached one until its nextUpdate (at most 24 h after it was
    /// fetched), else KDS.
    pub fn crl(&self, product: Generation) -> Result<Fetched<Crl>> {
        self.crl_via(product, &|product| self.issuer_chain(product), || {
            self.download_crl(product)
        })
    }

    pub(crate) fn now(&self) -> SystemTime {
        self.fetcher.clock.now()
    }

    /// The VCEK chain a VCEK or CRL of `product` is checked under: this client's.
    fn issuer_chain(&self, product: Generation) -> Result<CertChain> {
        self.cert_chain(product, ChainKind::Vcek)
            .map(|chain| chain.value)
    }

    /// Runs the check on a chain; `Ok` without a check.
    pub(crate) fn check_chain(
        &self,
        product: Generation,
        kind: ChainKind,
        chain: &CertChain,
    ) -> std::result::Result<(), String> {
        match &self.check {
            Some(check) => check.check_chain(product, kind, chain, self.now()),
            None => Ok(()),
        }
    }

    /// The VCEK of `request` through the cache, `fetch` on a miss, each checked under the
    /// chain `issuer` gives (asked only when there is a check).
    pub(crate) fn vcek_via(
        &self,
        request: &VcekRequest,
        issuer: &dyn Fn(Generation) -> Result<CertChain>,
        fetch: impl FnOnce() -> Result<Sent<Certificate>>,
    ) -> Result<Fetched<Certificate>> {
        let now = self.now();
        let check = |cert: &Certificate| match &self.check {
            None => Ok(()),
            Some(check) => {
                let chain = issuer(request.product()).map_err(CheckFailure::Unavailable)?;
                check
                    .check_vcek(request, cert, &chain, now)
                    .map_err(CheckFailure::Refused)
            }
        };
        let entry = Entry::Vcek(request.clone());
        self.cache
            .get_or_fetch(&entry, self.offline, now, &check, fetch)
    }

    /// The chain of `product` and `kind` through the cache, `fetch` on a miss, each checked.
    pub(crate) fn chain_via(
        &self,
        product: Generation,
        kind: ChainKind,
        fetch: impl FnOnce() -> Result<Sent<CertChain>>,
    ) -> Result<Fetched<CertChain>> {
        let check = |chain: &CertChain| {
            self.check_chain(product, kind, chain)
                .map_err(CheckFailure::Refused)
        };
        let entry = Entry::Chain(product, kind);
        self.cache
            .get_or_fetch(&entry, self.offline, self.now(), &check, fetch)
    }

    /// The CRL of `product` through the cache, `fetch` on a miss, each checked under the chain
    /// `issuer` gives (asked only when there is a check).
    pub(crate) fn crl_via(
        &self,
        product: Generation,
        issuer: &dyn Fn(Generation) -> Result<CertChain>,
        fetch: impl FnOnce() -> Result<Sent<Crl>>,
    ) -> Result<Fetched<Crl>> {
        let now = self.now();
        let check = |crl: &Crl| match &self.check {
            None => Ok(()),
            Some(check) => {
                let chain = issuer(product).map_err(CheckFailure::Unavailable)?;
                check
                    .check_crl(product, crl, &chain, now)
                    .map_err(CheckFailure::Refused)
            }
        };
        let entry = Entry::Crl(product);
        self.cache
            .get_or_fetch(&entry, self.offline, now, &check, fetch)
    }

    pub(crate) fn download_vcek(&self, request: &VcekRequest) -> Result<Sent<Certificate>> {
        let url = self.vcek_url(request);
        let body = self.get(&url, Kind::Vcek)?;
        let cert =
            Certificate::parse(&body).map_err(|reason| malformed(Kind::Vcek, &url, reason))?;
        Ok(Sent::kds(cert, url))
    }

    pub(crate) fn download_chain(
        &self,
        product: Generation,
        kind: ChainKind,
    ) -> Result<Sent<CertChain>> {
        let url = self.chain_url(product, kind);
        let body = self.get(&url, kind.kind())?;
        let chain = CertChain::parse(&body, kind, Some(product))
            .map_err(|reason| malformed(kind.kind(), &url, reason))?;
        Ok(Sent::kds(chain, url))
    }

    pub(crate) fn download_crl(&self, product: Generation) -> Result<Sent<Crl>> {
        let url = self.crl_url(product);
        let body = self.get(&url, Kind::Crl)?;
        let crl = Crl::parse(&body).map_err(|reason| malformed(Kind::Crl, &url, reason))?;
        Ok(Sent::kds(crl, url))
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
