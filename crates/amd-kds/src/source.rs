//! The source order a caller (the facade) uses: the cache, then Azure IMDS when on Azure,
//! then AMD KDS; every answer says which source gave it.

use std::fmt;

use hcl_parse::{Generation, SnpReport};

use crate::artifact::{CertChain, Certificate, Crl};
use crate::cache::Entry;
use crate::error::Result;
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

/// Cache, then IMDS (when configured, i.e. on Azure), then KDS.
///
/// IMDS answers for its host's current TCB: its VCEK is used only when `tcbm` equals the
/// requested TCB and its chain is of the requested product; otherwise KDS is asked. An IMDS
/// answer that is used is cached like a KDS one. Offline mode (the KDS client's) uses the cache
/// only.
#[derive(Debug, Clone)]
pub struct CertificateSource {
    kds: KdsClient,
    imds: Option<ImdsClient>,
}

impl CertificateSource {
    /// Cache and KDS (the cache is `kds`'s).
    pub fn new(kds: KdsClient) -> Self {
        Self { kds, imds: None }
    }

    /// Asks `imds` before KDS.
    #[must_use]
    pub fn with_imds(mut self, imds: ImdsClient) -> Self {
        self.imds = Some(imds);
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
        let cache = self.kds.cache();
        let entry = Entry::Vcek(request.clone());
        cache.get_or_fetch(&entry, self.kds.is_offline(), self.kds.now(), || {
            if let Some(thim) = self.imds_answer(request.product()) {
                if thim.tcbm.components(request.product()) == request.tcb() {
                    return Ok(Fetched::new(thim.vcek, Source::Imds));
                }
                log::info!(
                    "Azure IMDS has the VCEK of TCB {}, not of the requested {}: asking AMD KDS",
                    thim.tcbm.components(request.product()),
                    request.tcb()
                );
            }
            self.kds
                .download_vcek(request)
                .map(|cert| Fetched::new(cert, Source::Kds))
        })
    }

    /// The chain of `product` and `kind` (IMDS only has VCEK chains).
    pub fn cert_chain(&self, product: Generation, kind: ChainKind) -> Result<Fetched<CertChain>> {
        let cache = self.kds.cache();
        let entry = Entry::Chain(product, kind);
        cache.get_or_fetch(&entry, self.kds.is_offline(), self.kds.now(), || {
            if kind == ChainKind::Vcek
                && let Some(thim) = self.imds_answer(product)
            {
                return Ok(Fetched::new(thim.chain, Source::Imds));
            }
            self.kds
                .download_chain(product, kind)
                .map(|chain| Fetched::new(chain, Source::Kds))
        })
    }

    /// The CRL of `product` (KDS only).
    pub fn crl(&self, product: Generation) -> Result<Fetched<Crl>> {
        self.kds.crl(product)
    }

    /// The IMDS answer, when IMDS is configured, answers well, and is for `product`. Its chain
    /// is cached on the way (so the chain request that usually follows needs no network).
    fn imds_answer(&self, product: Generation) -> Option<ThimCertification> {
        let imds = self.imds.as_ref()?;
        let thim = match imds.certification(&ImdsQuery::default()) {
            Ok(thim) => thim,
            Err(e) => {
                log::info!("Azure IMDS did not help ({e}): asking AMD KDS");
                return None;
            }
        };
        if thim.chain.product() != product {
            log::info!(
                "Azure IMDS answered for a {} host, not {product}: asking AMD KDS",
                thim.chain.product()
            );
            return None;
        }
        if let Err(e) = self.kds.cache().store_chain(&thim.chain) {
            log::warn!("{e}; continuing without caching");
        }
        Some(thim)
    }
}
