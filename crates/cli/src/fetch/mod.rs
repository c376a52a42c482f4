//! Getting certificates for evidence (feature `fetch`): disk cache, then Azure IMDS (when on
//! Azure), then AMD KDS; for TDX evidence, the collateral from the cache or Intel's PCS (or a
//! service with its API). Verification itself never fetches; callers do this first.
//!
//! Transport is not trust, but a cache must not keep what would not verify: every source this
//! module builds runs [`PinnedCheck`] on every chain, VCEK and CRL before it is cached or
//! returned, and on every cache hit. A chain must verify under the pinned ARK, a VCEK must be
//! the requested chip's at the requested TCB and be signed by that chain, a CRL must be signed
//! by the pinned ARK. The time of these checks is the current time (fetching is not the pure
//! verification step).

mod check;

pub use check::PinnedCheck;
pub(crate) use check::unix_time;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use amd_kds::{
    ArtifactCheck, Cache, CacheConfig, CertChain, Certificate, CertificateSource, ChainKind,
    ImdsClient, ImdsConfig, ImdsQuery, IssuerHosts, KdsClient, KdsConfig, PcsClient, PcsConfig,
    StderrObserver, VcekRequest,
};
use hcl_parse::{Generation, SnpReport};
use snp_verify::{AmdExtensions, CertRole, TrustAnchors};
use tdx_verify::{Collateral, CollateralRequest, IntelRoots};
use vtpm_akcert::VtpmAnchors;

use crate::error::{Error, Missing};
use crate::evidence::Evidence;
use crate::policy::Platform;
use crate::verifier::Certificates;

/// Where and how to fetch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FetchOptions {
    /// AMD KDS base URL (default `https://kdsintf.amd.com`; the KDS interface: VCEK Certificate
    /// and KDS Interface Specification, AMD pub. 57230).
    pub kds_url: Option<String>,
    /// Azure IMDS base URL (default `http://169.254.169.254`).
    pub imds_url: Option<String>,
    /// Ask IMDS before KDS (on an Azure confidential VM).
    pub use_imds: bool,
    /// Cache folder (default: the user's cache folder).
    pub cache_dir: Option<PathBuf>,
    /// No disk cache.
    pub no_cache: bool,
    /// Answer from the cache only.
    pub offline: bool,
    /// Tell the user on stderr when waiting on a rate limit.
    pub notify_on_stderr: bool,
    /// The roots fetched and cached certificates must verify under: `None` for AMD's pinned
    /// roots ([`TrustAnchors::amd`]); others for test and private PKIs only.
    pub anchors: Option<TrustAnchors>,
    /// The roots the vTPM AK certificate's path must end at before the issuers fetched for it
    /// are cached: `None` for Azure's pinned vTPM root ([`VtpmAnchors::azure`]), whose caIssuers
    /// URLs may name Azure's PKI hosts only; a test root ([`VtpmAnchors::test_root`]) for test
    /// and private PKIs, whose URLs may name any host.
    pub vtpm_anchors: Option<VtpmAnchors>,
    /// PCS v4 base URLs for TDX collateral, asked in order: `intel`
    /// ([`amd_kds::INTEL_PCS_BASE_URL`], also when the list is empty), `azure`
    /// ([`amd_kds::AZURE_PCS_BASE_URL`]) or a URL.
    pub pcs_urls: Vec<String>,
    /// Where the Intel SGX Root CA's CRL is downloaded from (default: Intel's publication
    /// point, [`amd_kds::INTEL_ROOT_CA_CRL_URL`]).
    pub root_ca_crl_url: Option<String>,
    /// The root fetched and cached TDX collateral must verify under: `None` for Intel's pinned
    /// SGX Root CA; a test root for test PKIs only.
    pub intel_roots: Option<IntelRoots>,
}

impl FetchOptions {
    /// The certificate source these options describe, with [`PinnedCheck`] installed under
    /// [`FetchOptions::anchors`] (AMD's by default).
    pub fn source(&self) -> Result<CertificateSource, Error> {
        let cache = match (&self.cache_dir, self.no_cache) {
            (_, true) => CacheConfig::Disabled,
            (Some(dir), false) => CacheConfig::Dir(dir.clone()),
            (None, false) => CacheConfig::Default,
        };
        let mut kds_config = KdsConfig::default();
        if let Some(url) = &self.kds_url {
            kds_config.base_url = url.clone();
        }
        let mut kds = KdsClient::new(kds_config).map_err(Error::from)?;
        if self.notify_on_stderr {
            kds = kds.with_observer(Arc::new(StderrObserver));
        }
        let test_pki = self
            .vtpm_anchors
            .as_ref()
            .is_some_and(VtpmAnchors::is_test_root);
        let issuer_hosts = if test_pki {
            IssuerHosts::Any
        } else {
            IssuerHosts::Azure
        };
        let mut source = CertificateSource::new(kds, Cache::from_config(&cache))
            .with_offline(self.offline)
            .with_check(Arc::new(self.check()))
            .with_issuer_hosts(issuer_hosts);
        let pcs_urls = if self.pcs_urls.is_empty() {
            vec![amd_kds::INTEL_PCS_BASE_URL.to_string()]
        } else {
            self.pcs_urls.clone()
        };
        for url in pcs_urls {
            let base_url = match url.as_str() {
                "intel" => amd_kds::INTEL_PCS_BASE_URL.to_string(),
                "azure" => amd_kds::AZURE_PCS_BASE_URL.to_string(),
                _ => url,
            };
            let mut config = PcsConfig {
                base_url,
                ..PcsConfig::default()
            };
            if let Some(crl_url) = &self.root_ca_crl_url {
                config.root_ca_crl_url = crl_url.clone();
            }
            let mut pcs = PcsClient::new(config).map_err(Error::from)?;
            if self.notify_on_stderr {
                pcs = pcs.with_observer(Arc::new(StderrObserver));
            }
            source = source.with_pcs(pcs);
        }
        if self.use_imds && !self.offline {
            let mut imds_config = ImdsConfig::default();
            if let Some(url) = &self.imds_url {
                imds_config.base_url = url.clone();
            }
            let mut imds = ImdsClient::new(imds_config).map_err(Error::from)?;
            if self.notify_on_stderr {
                imds = imds.with_observer(Arc::new(StderrObserver));
            }
            source = source.with_imds(imds);
        }
        Ok(source)
    }

    /// The check [`FetchOptions::source`] installs.
    pub fn check(&self) -> PinnedCheck {
        PinnedCheck::new(self.anchors.clone().unwrap_or_else(TrustAnchors::amd))
            .with_intel_roots(self.intel_roots.clone().unwrap_or_else(IntelRoots::intel))
    }
}

/// The VCEK chains among CA certificates the caller holds (any order), for checking fetched
/// VCEKs and CRLs without fetching a chain (each still passes the check first). Each distinct
/// intermediate is paired only with the self-issued certificate its issuer names, so the chains
/// built (and later checked) grow with the number of certificates, not with its square; only
/// the name comparisons are pairwise.
fn known_chains(ca: &[Vec<u8>]) -> Vec<CertChain> {
    use der::{Decode, Encode};
    let mut named: Vec<(&[u8], Vec<u8>, Vec<u8>)> = Vec::new();
    for der in ca {
        let Ok(cert) = x509_cert::Certificate::from_der(der) else {
            continue;
        };
        let tbs = cert.tbs_certificate();
        let (Ok(subject), Ok(issuer)) = (tbs.subject().to_der(), tbs.issuer().to_der()) else {
            continue;
        };
        if !named.iter().any(|(seen, _, _)| *seen == der.as_slice()) {
            named.push((der, subject, issuer));
        }
    }
    let mut chains = Vec::new();
    for (intermediate, _, issuer) in named.iter().filter(|(_, s, i)| s != i) {
        for (ark, _, _) in named
            .iter()
            .filter(|(_, subject, ark_issuer)| subject == issuer && subject == ark_issuer)
        {
            let body = [*intermediate, *ark].concat();
            if let Ok(chain) = CertChain::from_bytes(&body, ChainKind::Vcek, None) {
                chains.push(chain);
            }
        }
    }
    chains
}

/// `source`, told about the VCEK chains among `ca` (CA certificates the caller holds, any
/// order): fetched and cached VCEKs and CRLs are checked under them when they verify, so no
/// chain need be fetched for that.
pub fn with_known_chains(source: &CertificateSource, ca: &[Vec<u8>]) -> CertificateSource {
    known_chains(ca)
        .into_iter()
        .fold(source.clone(), CertificateSource::with_known_chain)
}

/// Adds what `certificates` lacks for this report: the VCEK (unless `have_leaf`), checked under
/// a chain among `certificates.ca` when one verifies, and the VCEK chain of its product (unless
/// `have_chain`; the product from the report, `hint`, or [`product_of`]).
pub fn complete(
    source: &CertificateSource,
    report: &SnpReport<'_>,
    hint: Option<Generation>,
    have_leaf: bool,
    have_chain: bool,
    certificates: &mut Certificates,
) -> Result<(), Error> {
    let generation = report.generation().ok().flatten().or(hint);
    if !have_leaf {
        let source = with_known_chains(source, &certificates.ca);
        let vcek = source
            .vcek_for_report(report, generation)
            .map_err(Error::from)?;
        certificates.leaves.push(vcek.value.der().to_vec());
    }
    if !have_chain {
        let product = match generation {
            Some(product) => product,
            None => product_of(certificates).ok_or(Missing::Product)?,
        };
        let chain = source
            .cert_chain(product, ChainKind::Vcek)
            .map_err(Error::from)?;
        certificates.ca.push(chain.value.ask_or_asvk_der().to_vec());
        certificates.ca.push(chain.value.ark_der().to_vec());
    }
    Ok(())
}

/// The product `certificates` name: the productName extension of the first VCEK/VLEK that has
/// one, else the `ARK-<product>` name of a self-issued CA certificate. (Which CRL to ask for
/// only: the verifier checks the CRL under the verified chain, so a wrong name fails closed.)
pub fn product_of(certificates: &Certificates) -> Option<Generation> {
    let from_leaf = certificates.leaves.iter().find_map(|leaf| {
        AmdExtensions::from_certificate_der(CertRole::Vcek, leaf)
            .ok()
            .map(|extensions| extensions.generation)
    });
    from_leaf.or_else(|| {
        known_chains(&certificates.ca)
            .first()
            .map(CertChain::product)
    })
}

/// The CRL of a product: from the cache when the source is offline, else cached or fetched.
/// Checked under the chain among `certificates` when there is one that verifies (so no chain
/// need be fetched), else under the source's chain.
pub fn crl_for(
    source: &CertificateSource,
    product: Generation,
    certificates: &Certificates,
) -> Result<Vec<u8>, Error> {
    with_known_chains(source, &certificates.ca)
        .crl(product)
        .map(|crl| crl.value.der().to_vec())
        .map_err(Error::from)
}

/// The CRL of a product: from the cache alone when the source is offline, else cached or
/// fetched; checked under the source's own VCEK chain ([`crl_for`] with no certificates).
pub fn crl(source: &CertificateSource, product: Generation) -> Result<Vec<u8>, Error> {
    crl_for(source, product, &Certificates::default())
}

/// The collateral of the TD quote `quote`: cached (at most a day old, checked again), else from
/// the source's PCS services; it verified under the source's Intel root before it is returned.
/// Nothing is asked for unless the quote's PCK chain verifies under `roots` now (its FMSPC and
/// CA say which collateral to ask for).
pub fn tdx_collateral(
    source: &CertificateSource,
    roots: &IntelRoots,
    quote: &[u8],
) -> Result<Collateral, Error> {
    let request = CollateralRequest::of_quote(quote, roots, unix_time(SystemTime::now()))
        .map_err(Error::Tdx)?;
    source
        .tdx_collateral(&request)
        .map(|fetched| fetched.value)
        .map_err(Error::from)
}

/// What a service needs to verify `evidence` besides what the evidence carries and AMD's
/// shipped CA certificates (which the verifier adds itself when needed): for SEV-SNP, the VCEK
/// (unless the evidence holds one) and, with `fetch_crl`, the product's CRL; for TDX, the TD quote's
/// collateral (its PCK chain verified under `intel_roots` first). Everything fetched or read from
/// the cache passed the source's check.
pub fn certificates_for(
    evidence: &Evidence,
    source: &CertificateSource,
    intel_roots: &IntelRoots,
    fetch_crl: bool,
) -> Result<Certificates, Error> {
    let hcl = hcl_parse::HclReport::parse(&evidence.hcl_report).map_err(Error::from)?;
    let mut certificates = Certificates::default();
    if Platform::of(hcl.report_type()) == Some(Platform::Tdx) {
        if let Some(quote) = &evidence.td_quote {
            certificates.tdx_collateral = Some(tdx_collateral(source, intel_roots, quote)?);
        }
        return Ok(certificates);
    }
    let report = hcl.snp_report().map_err(Error::from)?;
    // The verifier falls back to AMD's shipped CA certificates by itself; here they only
    // help to find the product and check a CRL when the evidence lacks AMD's pinned root.
    let mut held = Certificates::default();
    if !TrustAnchors::amd().holds_pinned_root(evidence.cert_chain.iter().map(Vec::as_slice)) {
        held.ca
            .extend(crate::verifier::shipped_amd_certificates().iter().cloned());
    }
    held.leaves.extend(evidence.vcek.iter().cloned());
    held.ca.extend(evidence.cert_chain.iter().cloned());
    let reported = report.generation().ok().flatten();
    if evidence.vcek.is_none() {
        // The VCEK is checked under a chain held (no chain fetched for that).
        let mut fetched = Certificates {
            ca: held.ca.clone(),
            ..Certificates::default()
        };
        complete(source, &report, reported, false, true, &mut fetched)?;
        held.leaves.extend(fetched.leaves.iter().cloned());
        certificates.leaves = fetched.leaves;
    }
    if fetch_crl && let Some(product) = reported.or_else(|| product_of(&held)) {
        certificates.crl = Some(crl_for(source, product, &held)?);
    }
    Ok(certificates)
}

/// The VCEK Azure IMDS has for its host (`fetch vcek --imds`), after the same check as
/// everything else: its chain under the pinned roots, the VCEK signed by it, and its SPLs
/// equal to the `tcbm` IMDS states.
pub fn imds_vcek(options: &FetchOptions) -> Result<Certificate, Error> {
    let mut imds_config = ImdsConfig::default();
    if let Some(url) = &options.imds_url {
        imds_config.base_url = url.clone();
    }
    let imds = ImdsClient::new(imds_config).map_err(Error::from)?;
    let query = ImdsQuery::default();
    let thim = imds.certification(&query).map_err(Error::from)?;
    let refused = |what: &'static str, reason: String| Missing::Refused {
        source_name: "Azure IMDS",
        what,
        reason,
        url: imds.url(&query),
    };
    let check = options.check();
    let product = thim.chain.product();
    let now = SystemTime::now();
    check
        .check_chain(product, ChainKind::Vcek, &thim.chain, now)
        .map_err(|reason| refused("VCEK certificate chain", reason))?;
    let extensions = AmdExtensions::from_certificate_der(CertRole::Vcek, thim.vcek.der())
        .map_err(|e| refused("VCEK", e.to_string()))?;
    let hw_id = extensions
        .hw_id
        .ok_or_else(|| refused("VCEK", "it has no hwID extension".to_string()))?;
    let request = VcekRequest::new(product, &hw_id, thim.tcbm.components(product))
        .map_err(|e| refused("VCEK", e.to_string()))?;
    check
        .check_vcek(&request, &thim.vcek, &thim.chain, now)
        .map_err(|reason| refused("VCEK", reason))?;
    Ok(thim.vcek)
}

/// Trust anchors from a PEM (or DER) file of CA certificates: each `ARK-<product>`,
/// `SEV-<product>` (ASK) and `SEV-VLEK-<product>` (ASVK) certificate is pinned by the SHA-256
/// of its DER. For test and private PKIs only ([`TrustAnchors::caller_supplied_not_amd`]).
pub fn anchors_from_pem(bytes: &[u8]) -> Result<TrustAnchors, Error> {
    let certificates = crate::certs::certificates(bytes)?;
    TrustAnchors::caller_supplied_from_certificates(certificates.iter().map(Vec::as_slice))
        .map_err(|e| Error::input(format!("trust anchors: {e}")))
}
