//! The Intel PCS client (Provisioning Certification Service, API v4): the collateral a TD
//! quote is verified with. Four downloads make one [`Collateral`]: the TCB info of the
//! platform's FMSPC and the QE identity (each with its signing chain in a header), the PCK CRL
//! of the quote's CA (its issuer chain in a header), and the root CA CRL from the root's CRL
//! distribution point. Any service with the same API (Azure's THIM cache, a PCCS) works with
//! its base URL. Transport only: the cache, offline mode and the caller's check are the
//! [`CertificateSource`](crate::CertificateSource)'s.

use std::sync::Arc;

use percent_encoding::percent_decode_str;
use tdx_verify::{Collateral, CollateralRequest, PcsAnswers};

use crate::artifact::malformed;
use crate::error::{ArtifactKind, Result, Service};
use crate::fetched::Sent;
use crate::http::{HttpConfig, normalise_base_url};
use crate::observe::Observer;
use crate::retry::{Exchange, Fetcher, Reply, RetryPolicy};
use attest_prims::clock::Clock;

/// Intel's PCS.
pub const INTEL_PCS_BASE_URL: &str = "https://api.trustedservices.intel.com";

/// Azure's cache of Intel collateral (THIM), which serves the PCS v4 API. Its baseline may lag
/// Intel's (Azure documents this), and so may its documents' nextUpdate: collateral past its
/// nextUpdate is refused like any other.
pub const AZURE_PCS_BASE_URL: &str = "https://global.acccache.azure.net";

/// The Intel SGX Root CA's CRL distribution point (named in the root certificate).
pub const INTEL_ROOT_CA_CRL_URL: &str =
    "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der";

/// The headers a PCS v4 service sends issuer chains in (URL-encoded PEM). TCB info's has had
/// two names; both are read.
const TCB_INFO_CHAIN_HEADERS: [&str; 2] = ["TCB-Info-Issuer-Chain", "SGX-TCB-Info-Issuer-Chain"];
const QE_IDENTITY_CHAIN_HEADERS: [&str; 1] = ["SGX-Enclave-Identity-Issuer-Chain"];
const PCK_CRL_CHAIN_HEADERS: [&str; 1] = ["SGX-PCK-CRL-Issuer-Chain"];

/// Settings of a [`PcsClient`].
#[derive(Debug, Clone, PartialEq)]
pub struct PcsConfig {
    /// Scheme, host, optional port and path prefix before `/tdx/certification/v4/...`.
    pub base_url: String,
    /// Where the root CA CRL is downloaded from (Intel's publication point by default).
    pub root_ca_crl_url: String,
    /// Timeouts, proxy, User-Agent, body limit.
    pub http: HttpConfig,
    /// Retries for 429, 5xx and connection failures.
    pub retry: RetryPolicy,
}

impl Default for PcsConfig {
    /// Intel's PCS.
    fn default() -> Self {
        Self {
            base_url: INTEL_PCS_BASE_URL.to_string(),
            root_ca_crl_url: INTEL_ROOT_CA_CRL_URL.to_string(),
            http: HttpConfig::default(),
            retry: RetryPolicy::default(),
        }
    }
}

/// A client of one PCS v4 service.
///
/// ```no_run
/// use amd_kds::{Cache, CertificateSource, KdsClient, KdsConfig, PcsClient, PcsConfig};
/// use tdx_verify::{CollateralRequest, IntelRoots};
///
/// # fn run(quote: &[u8], now: attest_prims::UnixTime) -> Result<(), Box<dyn std::error::Error>> {
/// let source = CertificateSource::new(KdsClient::new(KdsConfig::default())?, Cache::disabled())
///     .with_pcs(PcsClient::new(PcsConfig::default())?);
/// let request = CollateralRequest::of_quote(quote, &IntelRoots::intel(), now)?;
/// let collateral = source.tdx_collateral(&request)?;
/// println!("collateral from {}", collateral.source);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PcsClient {
    base_url: String,
    root_ca_crl_url: String,
    fetcher: Fetcher,
}

impl std::fmt::Debug for PcsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcsClient")
            .field("base_url", &self.base_url)
            .field("root_ca_crl_url", &self.root_ca_crl_url)
            .field("retry", &self.fetcher.policy)
            .finish_non_exhaustive()
    }
}

impl PcsClient {
    /// A client as `config` describes, on the system clock and silent.
    pub fn new(config: PcsConfig) -> Result<Self> {
        Ok(Self {
            base_url: normalise_base_url(&config.base_url)?,
            root_ca_crl_url: normalise_base_url(&config.root_ca_crl_url)?,
            fetcher: Fetcher::new(&config.http, config.retry)?,
        })
    }

    /// Uses `clock` for retry waits and deadlines.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.fetcher.clock = clock;
        self
    }

    /// Tells `observer` about every wait.
    #[must_use]
    pub fn with_observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.fetcher.observer = observer;
        self
    }

    /// The base URL, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `{base}/tdx/certification/v4/tcb?fmspc={FMSPC}`.
    pub fn tcb_info_url(&self, request: &CollateralRequest) -> String {
        format!(
            "{}/tdx/certification/v4/tcb?fmspc={}",
            self.base_url,
            request.fmspc_hex()
        )
    }

    /// `{base}/tdx/certification/v4/qe/identity`.
    pub fn qe_identity_url(&self) -> String {
        format!("{}/tdx/certification/v4/qe/identity", self.base_url)
    }

    /// `{base}/sgx/certification/v4/pckcrl?ca={platform|processor}&encoding=der`.
    pub fn pck_crl_url(&self, request: &CollateralRequest) -> String {
        format!(
            "{}/sgx/certification/v4/pckcrl?ca={}&encoding=der",
            self.base_url,
            request.ca.query_value()
        )
    }

    /// Where the root CA CRL comes from.
    pub fn root_ca_crl_url(&self) -> &str {
        &self.root_ca_crl_url
    }

    /// Downloads the collateral of `request`: well formed, not yet checked.
    pub(crate) fn download_collateral(
        &self,
        request: &CollateralRequest,
    ) -> Result<Sent<Collateral>> {
        let tcb_url = self.tcb_info_url(request);
        let tcb = self.get(&tcb_url, ArtifactKind::TcbInfo)?;
        let tcb_chain = issuer_chain(
            &tcb,
            &TCB_INFO_CHAIN_HEADERS,
            ArtifactKind::TcbInfo,
            &tcb_url,
        )?;
        let qe_url = self.qe_identity_url();
        let qe = self.get(&qe_url, ArtifactKind::QeIdentity)?;
        let qe_chain = issuer_chain(
            &qe,
            &QE_IDENTITY_CHAIN_HEADERS,
            ArtifactKind::QeIdentity,
            &qe_url,
        )?;
        let crl_url = self.pck_crl_url(request);
        let pck_crl = self.get(&crl_url, ArtifactKind::PckCrl)?;
        let crl_chain = issuer_chain(
            &pck_crl,
            &PCK_CRL_CHAIN_HEADERS,
            ArtifactKind::PckCrl,
            &crl_url,
        )?;
        let root_crl = self.get(&self.root_ca_crl_url, ArtifactKind::RootCaCrl)?;
        let collateral = Collateral::from_pcs(&PcsAnswers {
            tcb_info: &tcb.body,
            tcb_info_issuer_chain: tcb_chain.as_bytes(),
            qe_identity: &qe.body,
            qe_identity_issuer_chain: qe_chain.as_bytes(),
            pck_crl: &pck_crl.body,
            pck_crl_issuer_chain: crl_chain.as_bytes(),
            root_ca_crl: &root_crl.body,
        })
        .map_err(|e| malformed(ArtifactKind::TdxCollateral, &self.base_url, e.to_string()))?;
        Ok(Sent {
            value: collateral,
            service: Service::Pcs,
            url: tcb_url,
            checked: false,
        })
    }

    fn get(&self, url: &str, kind: ArtifactKind) -> Result<Reply> {
        self.fetcher.get_reply(&Exchange {
            service: Service::Pcs,
            kind,
            url,
            headers: &[],
            body: None,
        })
    }
}

/// The issuer chain a PCS answer carries in one of `names` (URL-encoded PEM), decoded.
fn issuer_chain(reply: &Reply, names: &[&str], kind: ArtifactKind, url: &str) -> Result<String> {
    let value = names
        .iter()
        .find_map(|name| reply.header(name))
        .ok_or_else(|| {
            malformed(
                kind,
                url,
                format!("the answer has no {} header", names.join(" or ")),
            )
        })?;
    percent_decode_str(value)
        .decode_utf8()
        .map(|text| text.into_owned())
        .map_err(|e| malformed(kind, url, format!("the {} header: {e}", names.join("/"))))
}
