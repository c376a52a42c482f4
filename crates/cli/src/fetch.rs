//! Getting certificates for evidence (feature `fetch`): disk cache, then Azure IMDS (when on
//! Azure), then AMD KDS. Verification itself never fetches; callers do this first.

use std::path::PathBuf;
use std::sync::Arc;

use amd_kds::{
    CacheConfig, CertificateSource, ChainKind, ImdsClient, ImdsConfig, KdsClient, KdsConfig,
    StderrObserver,
};
use hcl_parse::{Generation, SnpReport};

use crate::error::{Check, Error, ExitCode};
use crate::verifier::Certificates;

/// Where and how to fetch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FetchOptions {
    /// AMD KDS base URL (default `https://kdsintf.amd.com`).
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
}

impl FetchOptions {
    /// The certificate source these options describe.
    pub fn source(&self) -> Result<CertificateSource, Error> {
        let cache = match (&self.cache_dir, self.no_cache) {
            (_, true) => CacheConfig::Disabled,
            (Some(dir), false) => CacheConfig::Dir(dir.clone()),
            (None, false) => CacheConfig::Default,
        };
        let mut kds_config = KdsConfig {
            cache,
            offline: self.offline,
            ..KdsConfig::default()
        };
        if let Some(url) = &self.kds_url {
            kds_config.base_url = url.clone();
        }
        let mut kds = KdsClient::new(kds_config).map_err(unavailable)?;
        if self.notify_on_stderr {
            kds = kds.with_observer(Arc::new(StderrObserver));
        }
        let mut source = CertificateSource::new(kds);
        if self.use_imds && !self.offline {
            let mut imds_config = ImdsConfig::default();
            if let Some(url) = &self.imds_url {
                imds_config.base_url = url.clone();
            }
            let mut imds = ImdsClient::new(imds_config).map_err(unavailable)?;
            if self.notify_on_stderr {
                imds = imds.with_observer(Arc::new(StderrObserver));
            }
            source = source.with_imds(imds);
        }
        Ok(source)
    }
}

/// Maps a fetch failure: unavailable (exit 4) or a malformed answer (exit 1).
pub fn unavailable(error: amd_kds::Error) -> Error {
    let code = if error.is_malformed() {
        ExitCode::Input
    } else {
        ExitCode::Unavailable
    };
    Error::new(Check::Certificates, code, error.to_string())
}

/// Adds what `certificates` lacks for this report: the VCEK and the AMD chain of its product.
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
        let vcek = source
            .vcek_for_report(report, generation)
            .map_err(unavailable)?;
        certificates.leaves.push(vcek.value.der().to_vec());
    }
    if !have_chain {
        let product = match generation {
            Some(product) => product,
            None => leaf_product(certificates).ok_or_else(|| {
                Error::new(
                    Check::Certificates,
                    ExitCode::Unavailable,
                    "cannot tell the product of a version 2 report: give --product or the chain with --chain",
                )
            })?,
        };
        let chain = source
            .cert_chain(product, ChainKind::Vcek)
            .map_err(unavailable)?;
        certificates.ca.push(chain.value.ask_or_asvk_der().to_vec());
        certificates.ca.push(chain.value.ark_der().to_vec());
    }
    Ok(())
}

/// The product a VCEK names in its issuer (`SEV-Milan` ...).
fn leaf_product(certificates: &Certificates) -> Option<Generation> {
    use der::Decode;
    let leaf = certificates.leaves.first()?;
    let cert = x509_cert::Certificate::from_der(leaf).ok()?;
    let issuer = cert.tbs_certificate().issuer().to_string();
    Generation::ALL
        .into_iter()
        .find(|g| issuer.contains(&format!("SEV-{g}")) || issuer.contains(&format!("SEV-VLEK-{g}")))
}

/// The CRL of a product, from the cache only (`fetch = false`) or fetched.
pub fn crl(source: &CertificateSource, product: Generation) -> Result<Vec<u8>, Error> {
    source
        .crl(product)
        .map(|crl| crl.value.der().to_vec())
        .map_err(unavailable)
}
