//! Arguments shared by several commands.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use snp_vtpm::fetch::FetchOptions;
use snp_vtpm::{Error, EvidencePolicy, FirmwareCatalog};

/// The verifier's nonce.
#[cfg(feature = "attester")]
#[derive(Debug, Clone, Args)]
#[group(required = true, multiple = false)]
pub(crate) struct NonceArgs {
    /// The nonce as text (its UTF-8 bytes)
    #[arg(short = 'n', long)]
    pub nonce: Option<String>,
    /// The nonce as hex
    #[arg(long, value_name = "HEX")]
    pub nonce_hex: Option<String>,
}

#[cfg(feature = "attester")]
impl NonceArgs {
    /// The nonce bytes.
    pub(crate) fn bytes(&self) -> Result<Vec<u8>, Error> {
        match (&self.nonce, &self.nonce_hex) {
            (Some(text), _) => Ok(text.as_bytes().to_vec()),
            (None, Some(hex_text)) => crate::inputs::hex_bytes(hex_text, "--nonce-hex"),
            (None, None) => Err(Error::input("a nonce is required (--nonce or --nonce-hex)")),
        }
    }
}

/// Where certificates come from, on every command that may fetch.
#[derive(Debug, Clone, Args)]
pub(crate) struct FetchArgs {
    /// AMD KDS base URL
    #[arg(long, env = "SNP_VTPM_KDS_URL", value_name = "URL")]
    pub kds_url: Option<String>,
    /// Azure IMDS base URL
    #[arg(long, env = "SNP_VTPM_IMDS_URL", value_name = "URL")]
    pub imds_url: Option<String>,
    /// Certificate cache folder (default: the user's cache folder)
    #[arg(long, env = "SNP_VTPM_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Do not use the certificate cache
    #[arg(long)]
    pub no_cache: bool,
    /// Never use the network: certificates come from files and the cache only
    #[arg(long, env = "SNP_VTPM_OFFLINE")]
    pub offline: bool,
    /// Intel PCS v4 base URL for TDX collateral: `intel` (the default), `azure` (Azure's THIM
    /// cache) or a URL; repeat to ask several in order
    #[arg(
        long = "pcs-url",
        env = "SNP_VTPM_PCS_URL",
        value_name = "intel|azure|URL",
        value_delimiter = ','
    )]
    pub pcs_urls: Vec<String>,
    /// Where the Intel SGX Root CA's CRL is downloaded from (default: Intel's publication point)
    #[arg(long, env = "SNP_VTPM_ROOT_CA_CRL_URL", value_name = "URL")]
    pub root_ca_crl_url: Option<String>,
}

impl FetchArgs {
    /// The fetch options; `use_imds` asks IMDS first (on the guest).
    pub(crate) fn options(&self, use_imds: bool) -> FetchOptions {
        FetchOptions {
            kds_url: self.kds_url.clone(),
            imds_url: self.imds_url.clone(),
            use_imds,
            cache_dir: self.cache_dir.clone(),
            no_cache: self.no_cache,
            offline: self.offline,
            notify_on_stderr: true,
            anchors: None,
            vtpm_anchors: None,
            pcs_urls: self.pcs_urls.clone(),
            root_ca_crl_url: self.root_ca_crl_url.clone(),
            intel_roots: None,
        }
    }
}

/// Roots other than AMD's for the certificates a guest command fetches.
#[derive(Debug, Clone, Args)]
pub(crate) struct TrustArgs {
    /// PEM file of CA certificates (ARK, ASK, ASVK) that fetched certificates must verify
    /// under instead of AMD's pinned roots: test and private PKIs only
    #[arg(long, env = "SNP_VTPM_TRUST_CA", value_name = "PEM")]
    pub trust_ca: Option<PathBuf>,
}

impl TrustArgs {
    /// `options` with the anchors of `--trust-ca`, if given.
    pub(crate) fn apply(&self, mut options: FetchOptions) -> Result<FetchOptions, Error> {
        if let Some(path) = &self.trust_ca {
            let bytes = crate::inputs::read(path)?;
            options.anchors = Some(snp_vtpm::fetch::anchors_from_pem(&bytes)?);
        }
        Ok(options)
    }
}

/// The appraisal policy.
#[derive(Debug, Clone, Args)]
pub(crate) struct PolicyArgs {
    /// Policy file (TOML or JSON) that extends or replaces a preset (see docs/policy.md)
    #[arg(long, value_name = "FILE", conflicts_with = "preset")]
    pub policy: Option<PathBuf>,
    /// A built-in policy: azure-cvm (default for vTPM evidence) or snp-default (raw reports)
    #[arg(long, value_name = "NAME")]
    pub preset: Option<String>,
    /// Firmware catalog file (JSON) that extends the built-in one, or replaces it when it says
    /// "replace": true (see `snp-vtpm policy catalog` and docs/policy.md)
    #[arg(long, env = "SNP_VTPM_FIRMWARE_CATALOG", value_name = "FILE")]
    pub firmware_catalog: Option<PathBuf>,
}

impl PolicyArgs {
    /// The firmware catalog: the built-in one, with `--firmware-catalog` applied.
    pub(crate) fn catalog(&self) -> Result<Arc<FirmwareCatalog>, Error> {
        let builtin = FirmwareCatalog::builtin();
        let Some(path) = &self.firmware_catalog else {
            return Ok(builtin);
        };
        let bytes = crate::inputs::read(path)?;
        let origin = format!("--firmware-catalog {}", path.display());
        Ok(Arc::new(builtin.with_file(&bytes, &origin)?))
    }

    /// The policy, with `default_preset` when neither option is given.
    pub(crate) fn load(&self, default_preset: &str) -> Result<EvidencePolicy, Error> {
        let [policy] = self.load_each([default_preset])?;
        Ok(policy)
    }

    /// The policy read once, built on each of `default_presets` (what a policy file extends
    /// unless it says otherwise, and the preset when neither option is given).
    pub(crate) fn load_each<const N: usize>(
        &self,
        default_presets: [&str; N],
    ) -> Result<[EvidencePolicy; N], Error> {
        let text = match &self.policy {
            Some(path) => Some((crate::inputs::read(path)?, path.display().to_string())),
            None => None,
        };
        let mut policies = Vec::with_capacity(N);
        for default_preset in default_presets {
            policies.push(match &text {
                Some((bytes, origin)) => EvidencePolicy::from_text(bytes, default_preset, origin)?,
                None => EvidencePolicy::named(self.preset.as_deref().unwrap_or(default_preset))?,
            });
        }
        policies
            .try_into()
            .map_err(|_| Error::input("policies: one per preset"))
    }
}

/// The TPM to use.
#[cfg(feature = "attester")]
#[derive(Debug, Clone, Args)]
pub(crate) struct TctiArgs {
    /// TCTI of the TPM (default device:/dev/tpmrm0; swtpm:host=127.0.0.1,port=2321 for swtpm)
    #[arg(long, env = "SNP_VTPM_TCTI", value_name = "TCTI")]
    pub tcti: Option<String>,
}
