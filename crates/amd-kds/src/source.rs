//! The source order a caller (the facade) uses: the cache, then Azure IMDS when on Azure,
//! then AMD KDS; every answer says which source gave it.

use std::fmt;

use hcl_parse::{Generation, SnpReport};

use crate::artifact::{CertChain, Certificate, Crl};
use crate::error::{Error, Kind, Result, Service};
use crate::imds::{ImdsClient, ImdsQuery, ThimCertification};
use crate::kds::KdsClient;
use crate::request::{ChainKind, VcekRequest};

/// Where an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// The disk cache.
    Cache,
    /// Azure IMDS (THIM).
    Imds,
    /// AMD KDS.
    Kds,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Cache => "cache",
            Self::Imds => "Azure IMDS",
            Self::Kds => "AMD KDS",
        })
    }
}

/// A value and the source that gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched<T> {
    /// The certificate, chain or CRL.
    pub value: T,
    /// Where it came from.
    pub source: Source,
}

impl<T> Fetched<T> {
    pub(crate) fn new(value: T, source: Source) -> Self {
        Self { value, source }
    }
}

impl From<Service> for Source {
    fn from(service: Service) -> Self {
        match service {
            Service::Kds => Self::Kds,
            Service::Imds => Self::Imds,
        }
    }
}

/// What a service sent, and from where (for errors that name the source).
pub(crate) struct Sent<T> {
    pub value: T,
    pub service: Service,
    pub url: String,
}

impl<T> Sent<T> {
    pub(crate) fn kds(value: T, url: String) -> Self {
        Self {
            value,
            service: Service::Kds,
            url,
        }
    }

    pub(crate) fn imds(value: T, url: String) -> Self {
        Self {
            value,
            service: Service::Imds,
            url,
        }
    }
}

/// Cache, then IMDS (when configured, i.e. on Azure), then KDS.
///
/// IMDS answers for its host's current TCB: its VCEK is used only when `tcbm` equals the
/// requested TCB and its chain is of the requested product; otherwise KDS is asked. An IMDS
/// answer that is used is cached like a KDS one. Offline mode (the KDS client's) uses the cache
/// only.
///
/// When the KDS client has an [`ArtifactCheck`](crate::ArtifactCheck), everything from every
/// source passes it before it is returned or cached: an IMDS chain or VCEK that the check
/// refuses is an [`Error::Refused`] naming IMDS (KDS is not asked instead: a source that sends
/// another chip's certificate is reported, not worked around). VCEKs and CRLs are checked under
/// a chain given with [`CertificateSource::with_known_chain`] when it passes the check, else
/// under the chain this source gets for their product.
#[derive(Debug, Clone)]
pub struct CertificateSource {
    kds: KdsClient,
    imds: Option<ImdsClient>,
    known_chains: Vec<CertChain>,
}

impl CertificateSource {
    /// Cache and KDS (the cache is `kds`'s).
    pub fn new(kds: KdsClient) -> Self {
        Self {
            kds,
            imds: None,
            known_chains: Vec::new(),
        }
    }

    /// Asks `imds` before KDS.
    #[must_use]
    pub fn with_imds(mut self, imds: ImdsClient) -> Self {
        self.imds = Some(imds);
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

    /// The KDS client (and through it the cache).
    pub fn kds(&self) -> &KdsClient {
        &self.kds
    }

    /// The IMDS client, if any.
    pub fn imds(&self) -> Option<&ImdsClient> {
        self.imds.as_ref()
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

    /// The VCEK of `request`.
    pub fn vcek(&self, request: &VcekRequest) -> Result<Fetched<Certificate>> {
        let issuer = |product| self.issuer_chain(product);
        self.kds.vcek_via(request, &issuer, || {
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
        })
    }

    /// The chain of `product` and `kind` (IMDS only has VCEK chains).
    pub fn cert_chain(&self, product: Generation, kind: ChainKind) -> Result<Fetched<CertChain>> {
        self.kds.chain_via(product, kind, || {
            if kind == ChainKind::Vcek
                && let Some((thim, url)) = self.imds_answer(product)?
            {
                return Ok(Sent::imds(thim.chain, url));
            }
            self.kds.download_chain(product, kind)
        })
    }

    /// The CRL of `product` (KDS only), kept at most 24 h.
    pub fn crl(&self, product: Generation) -> Result<Fetched<Crl>> {
        let issuer = |product| self.issuer_chain(product);
        self.kds
            .crl_via(product, &issuer, || self.kds.download_crl(product))
    }

    /// The VCEK chain a VCEK or CRL of `product` is checked under: a known chain that passes
    /// the check, else this source's.
    fn issuer_chain(&self, product: Generation) -> Result<CertChain> {
        let known = self
            .known_chains
            .iter()
            .filter(|chain| chain.product() == product && chain.kind() == ChainKind::Vcek);
        for chain in known {
            match self.kds.check_chain(product, ChainKind::Vcek, chain) {
                Ok(()) => return Ok(chain.clone()),
                Err(reason) => log::warn!(
                    "the {product} chain given by the caller is refused ({reason}): looking it up"
                ),
            }
        }
        self.cert_chain(product, ChainKind::Vcek)
            .map(|chain| chain.value)
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
        if let Err(reason) = self.kds.check_chain(product, ChainKind::Vcek, &thim.chain) {
            return Err(Error::Refused {
                service: Service::Imds,
                kind: Kind::VcekChain,
                url,
                reason,
            });
        }
        if let Err(e) = self.kds.cache().store_chain(&thim.chain) {
            log::warn!("{e}; continuing without caching");
        }
        Ok(Some((thim, url)))
    }
}
