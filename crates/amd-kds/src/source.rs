//! The source order a caller (the facade) uses: the cache, then Azure IMDS when on Azure,
//! then AMD KDS; every answer says which source gave it. The source owns the cache, offline
//! mode and the caller's [`ArtifactCheck`]: the KDS and IMDS clients it composes are transports.

use std::sync::Arc;
use std::time::SystemTime;

use hcl_parse::{Generation, SnpReport};
use tdx_verify::{Collateral, CollateralRequest};

use crate::artifact::{CaCertificate, CertChain, Certificate, Crl};
use crate::cache::{Cache, Entry, Lookup};
use crate::check::{ArtifactCheck, CheckFailure};
use crate::error::{ArtifactKind, Error, Result, Service};
use crate::fetched::{Fetched, Sent, Source};
use crate::imds::{ImdsClient, ImdsQuery, ThimCertification};
use crate::issuer::{IssuerHosts, IssuerRequest};
use crate::kds::KdsClient;
use crate::pcs::PcsClient;
use crate::request::{ChainKind, VcekRequest};
use crate::retry::Fetcher;
use attest_prims::clock::Clock;

/// Cache, then IMDS (when configured, i.e. on Azure), then KDS.
///
/// IMDS answers for its host's current TCB: its VCEK is used only when `tcbm` equals the
/// requested TCB and its chain is of the requested product; otherwise KDS is asked. An IMDS
/// answer that is used is cached like a KDS one. Offline ([`CertificateSource::with_offline`]),
/// the cache alone answers and no network is touched.
///
/// With an [`ArtifactCheck`] ([`CertificateSource::with_check`]), everything from every source,
/// downloaded or cached, passes it before it is returned or cached: an IMDS chain or VCEK that
/// the check refuses is an [`Error::Refused`] naming IMDS (KDS is not asked instead: a source
/// that sends another chip's certificate is reported, not worked around), and a cached entry it
/// refuses is removed and fetched again (once). VCEKs and CRLs are checked under a chain given
/// with [`CertificateSource::with_known_chain`] when it passes the check, else under the chain
/// this source gets for their product. Without a check, only well-formedness is checked and
/// trust is the verifier's alone.
#[derive(Clone)]
pub struct CertificateSource {
    kds: KdsClient,
    imds: Option<ImdsClient>,
    /// PCS services for TDX collateral, asked in order.
    pcs: Vec<PcsClient>,
    cache: Cache,
    offline: bool,
    check: Option<Arc<dyn ArtifactCheck>>,
    clock: Arc<dyn Clock>,
    known_chains: Vec<CertChain>,
    /// Downloads from caIssuers URLs (the KDS client's HTTP settings, shorter waits).
    issuers: Fetcher,
    issuer_hosts: IssuerHosts,
}

impl std::fmt::Debug for CertificateSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateSource")
            .field("kds", &self.kds)
            .field("imds", &self.imds)
            .field("pcs", &self.pcs)
            .field("cache", &self.cache)
            .field("offline", &self.offline)
            .field("checked", &self.check.is_some())
            .field("known_chains", &self.known_chains.len())
            .finish_non_exhaustive()
    }
}

impl CertificateSource {
    /// `cache`, then `kds`; online, without a check, on `kds`'s clock.
    pub fn new(kds: KdsClient, cache: Cache) -> Self {
        Self {
            clock: kds.clock().clone(),
            issuers: kds.issuer_fetcher().clone(),
            issuer_hosts: IssuerHosts::default(),
            kds,
            imds: None,
            pcs: Vec::new(),
            cache,
            offline: false,
            check: None,
            known_chains: Vec::new(),
        }
    }

    /// Asks `imds` before KDS.
    #[must_use]
    pub fn with_imds(mut self, imds: ImdsClient) -> Self {
        self.imds = Some(imds);
        self
    }

    /// Asks `pcs` for TDX collateral, after the PCS services added before it (the next is
    /// asked when one cannot answer: unreachable, 404, rate limited; not when what it sends is
    /// refused).
    #[must_use]
    pub fn with_pcs(mut self, pcs: PcsClient) -> Self {
        self.pcs.push(pcs);
        self
    }

    /// When `offline`, answers from the cache only and never touches the network; what the
    /// cache cannot answer is [`Error::NotCachedOffline`].
    #[must_use]
    pub fn with_offline(mut self, offline: bool) -> Self {
        self.offline = offline;
        self
    }

    /// Runs `check` on every VCEK, chain and CRL before it is returned or cached, and on every
    /// cache hit (an entry it refuses is removed and fetched again, once). A VCEK or CRL is
    /// checked under its product's VCEK chain, which the source gets (and checks) first.
    #[must_use]
    pub fn with_check(mut self, check: Arc<dyn ArtifactCheck>) -> Self {
        self.check = Some(check);
        self
    }

    /// The hosts caIssuers URLs may name ([`IssuerHosts::Azure`] by default; `Any` for test
    /// and private PKIs).
    #[must_use]
    pub fn with_issuer_hosts(mut self, hosts: IssuerHosts) -> Self {
        self.issuer_hosts = hosts;
        self
    }

    /// Uses `clock` for CRL expiry and the time checks run at (the clients keep theirs for
    /// retry waits). By default the KDS client's.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// A VCEK chain the caller already holds (from evidence or a file): VCEKs and CRLs of its
    /// product are checked under it, if it passes the check itself, without asking any source
    /// for the chain. It is not cached and not returned by [`CertificateSource::cert_chain`].
    #[must_use]
    pub fn with_known_chain(mut self, chain: CertChain) -> Self {
        self.known_chains.push(chain);
        self
    }

    /// The KDS client.
    pub fn kds(&self) -> &KdsClient {
        &self.kds
    }

    /// The IMDS client, if any.
    pub fn imds(&self) -> Option<&ImdsClient> {
        self.imds.as_ref()
    }

    /// The cache this source reads and fills.
    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// True in offline mode.
    pub fn is_offline(&self) -> bool {
        self.offline
    }

    /// The check this source runs, if any.
    pub fn check(&self) -> Option<&Arc<dyn ArtifactCheck>> {
        self.check.as_ref()
    }

    /// The VCEK that signed `report`; the product comes from the report's CPUID (version 3+)
    /// or else from `product`.
    pub fn vcek_for_report(
        &self,
        report: &SnpReport<'_>,
        product: Option<Generation>,
    ) -> Result<Fetched<Certificate>> {
        self.vcek(&VcekRequest::detect(report, product)?)
    }

    /// The VCEK of `request`, checked under its product's VCEK chain.
    pub fn vcek(&self, request: &VcekRequest) -> Result<Fetched<Certificate>> {
        let now = self.now();
        let check = |cert: &Certificate| match &self.check {
            None => Ok(()),
            Some(check) => {
                let chain = self
                    .issuer_chain(request.product())
                    .map_err(CheckFailure::Unavailable)?;
                check
                    .check_vcek(request, cert, &chain, now)
                    .map_err(CheckFailure::Refused)
            }
        };
        let entry = Entry::Vcek(request.clone());
        self.cache
            .get_or_fetch(&entry, &self.services(), self.offline, now, &check, || {
                self.download_vcek(request)
            })
    }

    /// The chain of `product` and `kind` (IMDS only has VCEK chains).
    pub fn cert_chain(&self, product: Generation, kind: ChainKind) -> Result<Fetched<CertChain>> {
        let check = |chain: &CertChain| {
            self.check_chain(product, kind, chain)
                .map_err(CheckFailure::Refused)
        };
        let entry = Entry::Chain(product, kind);
        self.cache.get_or_fetch(
            &entry,
            &self.services(),
            self.offline,
            self.now(),
            &check,
            || self.download_chain(product, kind),
        )
    }

    /// The CRL of `product` (KDS only): the cached one until its nextUpdate, and at most 24 h
    /// after it was fetched; checked under the product's VCEK chain.
    pub fn crl(&self, product: Generation) -> Result<Fetched<Crl>> {
        let now = self.now();
        let check = |crl: &Crl| match &self.check {
            None => Ok(()),
            Some(check) => {
                let chain = self
                    .issuer_chain(product)
                    .map_err(CheckFailure::Unavailable)?;
                check
                    .check_crl(product, crl, &chain, now)
                    .map_err(CheckFailure::Refused)
            }
        };
        let entry = Entry::Crl(product);
        self.cache
            .get_or_fetch(&entry, &self.services(), self.offline, now, &check, || {
                self.kds.download_crl(product)
            })
    }

    /// The collateral of the TD quotes `request` describes (see
    /// [`CollateralRequest::of_quote`]): the cached copy while it is at most a day old and
    /// passes the check at the current time, else the first PCS service's that answers.
    /// Checked by [`ArtifactCheck::check_tdx_collateral`] before it is returned or cached.
    pub fn tdx_collateral(&self, request: &CollateralRequest) -> Result<Fetched<Collateral>> {
        let now = self.now();
        let check = |collateral: &Collateral| match &self.check {
            None => Ok(()),
            Some(check) => check
                .check_tdx_collateral(request, collateral, now)
                .map_err(CheckFailure::Refused),
        };
        self.cache.get_or_fetch(
            &Entry::TdxCollateral(*request),
            &self.services(),
            self.offline,
            now,
            &check,
            || self.download_collateral(request, &check),
        )
    }

    /// The CA certificate that issued `child` (DER): the first of
    /// [`CertificateSource::ca_issuer_candidates`], else the first failure.
    ///
    /// A downloaded issuer is **not** cached here: one link says nothing of the path above it
    /// (a certificate with the real CA's name and key, issued by anyone, links just as well).
    /// The caller stores it with [`CertificateSource::store_issuer`] once the path it belongs to
    /// verifies to a root the caller trusts.
    pub fn ca_issuer(&self, child: &[u8]) -> Result<Fetched<CaCertificate>> {
        let mut first_error = None;
        for candidate in self.ca_issuer_candidates(child, None) {
            match candidate {
                Ok(issuer) => return Ok(issuer),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(first_error.unwrap_or_else(|| {
            Error::invalid_request("the certificate names no issuer that could be fetched")
        }))
    }

    /// The CA certificates that may have issued `child`, one at a time, for a caller that builds
    /// a path and tries the next when one leads nowhere: the cached one first, then each
    /// caIssuers URL of its AIA ([`IssuerRequest`]) on the hosts
    /// [`CertificateSource::with_issuer_hosts`] allows, in order. Each is a CA certificate with
    /// the name (and key identifier) `child` asks for, valid now, accepted by the check's
    /// [`ArtifactCheck::check_issuer`] (its signature on `child`), and not one already yielded;
    /// a URL that fails or answers anything else yields its error. Offline, only the cache is
    /// asked. With a `deadline` (on this source's clock), no URL is asked after it and each
    /// URL's retries end by it. Nothing is cached (see [`CertificateSource::ca_issuer`]).
    pub fn ca_issuer_candidates<'s>(
        &'s self,
        child: &'s [u8],
        deadline: Option<SystemTime>,
    ) -> IssuerCandidates<'s> {
        let (request, pending) = match IssuerRequest::of(child) {
            Ok(request) => (Some(request), None),
            Err(e) => (None, Some(e)),
        };
        IssuerCandidates {
            source: self,
            child,
            request,
            pending,
            cache_asked: false,
            urls: None,
            next_url: 0,
            deadline,
            seen: Vec::new(),
        }
    }

    /// Caches `issuer` as the CA of `child`, once the caller has verified the path it belongs to
    /// (see [`CertificateSource::ca_issuer`]); it is served until its notAfter, and checked
    /// again on every hit.
    pub fn store_issuer(&self, child: &[u8], issuer: &CaCertificate) -> Result<()> {
        let request = IssuerRequest::of(child)?;
        request
            .check_named(issuer)
            .map_err(Error::invalid_request)?;
        self.cache
            .write(&issuer_entry(&request), issuer, self.now())
    }

    /// Removes the cached CA of `child`, if any (a path through it no longer verifies).
    pub fn remove_issuer(&self, child: &[u8]) -> Result<()> {
        self.cache.remove(&issuer_entry(&IssuerRequest::of(child)?))
    }

    fn now(&self) -> SystemTime {
        self.clock.now()
    }

    /// Runs the check on a chain; `Ok` without a check.
    fn check_chain(
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

    /// The VCEK chain a VCEK or CRL of `product` is checked under: a known chain that passes
    /// the check, else this source's.
    fn issuer_chain(&self, product: Generation) -> Result<CertChain> {
        let known = self
            .known_chains
            .iter()
            .filter(|chain| chain.product() == product && chain.kind() == ChainKind::Vcek);
        for chain in known {
            match self.check_chain(product, ChainKind::Vcek, chain) {
                Ok(()) => return Ok(chain.clone()),
                Err(reason) => log::warn!(
                    "the {product} chain given by the caller is refused ({reason}): looking it up"
                ),
            }
        }
        self.cert_chain(product, ChainKind::Vcek)
            .map(|chain| chain.value)
    }

    /// Collateral not in the cache: from the first PCS service whose answer is well formed and
    /// passes `check` (everything is verified, so a service that cannot answer, or answers
    /// with something else, only hands the turn to the next); else the first service's error.
    fn download_collateral(
        &self,
        request: &CollateralRequest,
        check: &dyn Fn(&Collateral) -> std::result::Result<(), CheckFailure>,
    ) -> Result<Sent<Collateral>> {
        let mut first_error = None;
        for pcs in &self.pcs {
            let error = match pcs.download_collateral(request) {
                Ok(sent) => match check(&sent.value) {
                    Ok(()) => {
                        return Ok(Sent {
                            checked: true,
                            ..sent
                        });
                    }
                    Err(CheckFailure::Refused(reason)) => Error::Refused {
                        service: Service::Pcs,
                        kind: ArtifactKind::TdxCollateral,
                        url: sent.url,
                        reason,
                    },
                    Err(CheckFailure::Unavailable(e)) => e,
                },
                Err(e) if e.is_unavailable() || e.is_malformed() => e,
                Err(e) => return Err(e),
            };
            log::info!("{}: {error}; asking the next PCS service", pcs.base_url());
            first_error.get_or_insert(error);
        }
        Err(first_error.unwrap_or_else(|| {
            Error::invalid_config("no PCS service is configured for TDX collateral")
        }))
    }

    /// The services this source asks, as one key: sources that share a [`Cache`] share a
    /// download in progress only when they ask the same services.
    fn services(&self) -> String {
        let imds = self
            .imds
            .as_ref()
            .map(|imds| imds.url(&ImdsQuery::default()))
            .unwrap_or_default();
        let pcs: Vec<&str> = self.pcs.iter().map(PcsClient::base_url).collect();
        format!(
            "kds={} imds={imds} pcs={} issuers={:?}",
            self.kds.base_url(),
            pcs.join(","),
            self.issuer_hosts
        )
    }

    /// A VCEK not in the cache: IMDS's when it is of the requested TCB, else KDS's.
    fn download_vcek(&self, request: &VcekRequest) -> Result<Sent<Certificate>> {
        if let Some((thim, url)) = self.imds_answer(request.product())? {
            if thim.tcbm.components(request.product()) == request.tcb() {
                return Ok(Sent::imds(thim.vcek, url));
            }
            log::info!(
                "Azure IMDS has the VCEK of TCB {}, not of the requested {}: asking AMD KDS",
                thim.tcbm.components(request.product()),
                request.tcb()
            );
        }
        self.kds.download_vcek(request)
    }

    /// A chain not in the cache: IMDS's for a VCEK chain, else KDS's.
    fn download_chain(&self, product: Generation, kind: ChainKind) -> Result<Sent<CertChain>> {
        if kind == ChainKind::Vcek
            && let Some((thim, url)) = self.imds_answer(product)?
        {
            return Ok(Sent::imds(thim.chain, url));
        }
        self.kds.download_chain(product, kind)
    }

    /// The IMDS answer and its URL, when IMDS is configured, answers well, and is for
    /// `product`. Its chain must pass the check (else [`Error::Refused`]); it is cached on the
    /// way (so the chain request that usually follows needs no network).
    fn imds_answer(&self, product: Generation) -> Result<Option<(ThimCertification, String)>> {
        let Some(imds) = self.imds.as_ref() else {
            return Ok(None);
        };
        let query = ImdsQuery::default();
        let thim = match imds.certification(&query) {
            Ok(thim) => thim,
            Err(e) => {
                log::info!("Azure IMDS did not help ({e}): asking AMD KDS");
                return Ok(None);
            }
        };
        if thim.chain.product() != product {
            log::info!(
                "Azure IMDS answered for a {} host, not {product}: asking AMD KDS",
                thim.chain.product()
            );
            return Ok(None);
        }
        let url = imds.url(&query);
        if let Err(reason) = self.check_chain(product, ChainKind::Vcek, &thim.chain) {
            return Err(Error::Refused {
                service: Service::Imds,
                kind: ArtifactKind::VcekChain,
                url,
                reason,
            });
        }
        if let Err(e) = self.cache.store_chain(&thim.chain) {
            log::warn!("{e}; continuing without caching");
        }
        Ok(Some((thim, url)))
    }
}

/// The cache entry of the CA `request` asks for.
fn issuer_entry(request: &IssuerRequest) -> Entry {
    Entry::Issuer {
        key: request.cache_key(),
        name: request.name().to_string(),
    }
}

/// The candidates of [`CertificateSource::ca_issuer_candidates`].
pub struct IssuerCandidates<'s> {
    source: &'s CertificateSource,
    child: &'s [u8],
    request: Option<IssuerRequest>,
    /// An error to yield before ending (the child names no issuer to fetch).
    pending: Option<Error>,
    cache_asked: bool,
    urls: Option<Vec<String>>,
    next_url: usize,
    deadline: Option<SystemTime>,
    /// DER of what was yielded (mirrors usually serve the same certificate).
    seen: Vec<Vec<u8>>,
}

impl std::fmt::Debug for IssuerCandidates<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuerCandidates")
            .field("request", &self.request)
            .field("next_url", &self.next_url)
            .finish_non_exhaustive()
    }
}

impl IssuerCandidates<'_> {
    /// Whether `issuer` may be yielded: the named CA, valid now, accepted by the check.
    fn accept(
        &self,
        request: &IssuerRequest,
        issuer: &CaCertificate,
        now: SystemTime,
    ) -> std::result::Result<(), String> {
        request.check_named(issuer)?;
        issuer.valid_at(now)?;
        match &self.source.check {
            None => Ok(()),
            Some(check) => check.check_issuer(self.child, issuer, now),
        }
    }

    /// Yields `item`, then nothing more.
    fn finish_with<T>(&mut self, item: T) -> Option<T> {
        self.urls = Some(Vec::new());
        self.next_url = usize::MAX;
        Some(item)
    }
}

impl Iterator for IssuerCandidates<'_> {
    type Item = Result<Fetched<CaCertificate>>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(error) = self.pending.take() {
            return Some(Err(error));
        }
        let request = self.request.clone()?;
        let source = self.source;
        let now = source.now();
        if !self.cache_asked {
            self.cache_asked = true;
            let entry = issuer_entry(&request);
            let check = |issuer: &CaCertificate| {
                self.accept(&request, issuer, now)
                    .map_err(CheckFailure::Refused)
            };
            match source.cache.read_checked(&entry, now, &check) {
                Lookup::Hit(issuer, _) => {
                    self.seen.push(issuer.der().to_vec());
                    return Some(Ok(Fetched::new(issuer, Source::Cache)));
                }
                Lookup::Miss(detail) if source.offline => {
                    self.request = None;
                    return Some(Err(Error::NotCachedOffline {
                        kind: ArtifactKind::CaCertificate,
                        key: entry.describe(),
                        detail,
                    }));
                }
                Lookup::Miss(_) => {}
            }
        }
        if source.offline {
            return None;
        }
        if self.urls.is_none() {
            match request.urls_on(&source.issuer_hosts) {
                Ok(urls) => self.urls = Some(urls.into_iter().map(String::from).collect()),
                Err(e) => return self.finish_with(Err(e)),
            }
        }
        loop {
            let url = self.urls.as_ref()?.get(self.next_url)?.clone();
            self.next_url += 1;
            let mut fetcher = source.issuers.clone();
            if let Some(deadline) = self.deadline {
                let left = deadline.duration_since(source.now()).unwrap_or_default();
                if left.is_zero() {
                    self.next_url = usize::MAX;
                    return Some(Err(Error::Transport {
                        service: Service::CaIssuers,
                        kind: ArtifactKind::CaCertificate,
                        url,
                        reason: "not asked: the time allowed for fetching issuers is spent".into(),
                    }));
                }
                fetcher.policy.deadline = fetcher.policy.deadline.min(left);
            }
            let accept = |issuer: &CaCertificate| self.accept(&request, issuer, now);
            match request.download(&fetcher, &url, &accept) {
                Ok(issuer) if self.seen.iter().any(|der| der == issuer.der()) => continue,
                Ok(issuer) => {
                    self.seen.push(issuer.der().to_vec());
                    return Some(Ok(Fetched::new(issuer, Source::CaIssuers)));
                }
                Err(e) => return Some(Err(e)),
            }
        }
    }
}
