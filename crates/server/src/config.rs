//! The configuration: command-line options, each also an environment variable
//! `SNP_VTPM_SERVER_*`, over a TOML file (`--config`), over the defaults. The defaults start a
//! working single instance: 127.0.0.1:8080, the `azure-cvm` policy (`azure-tdx` for TDX
//! evidence), nonces in memory, a generated signing key.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use serde::Deserialize;

/// Where nonces live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NonceStoreConfig {
    /// In this process: one instance only.
    Memory,
    /// A Redis server shared by every instance (`redis://HOST:PORT[/DB]`, `rediss://` for TLS).
    Redis(String),
}

/// The command line.
#[derive(Debug, Clone, Default, Parser)]
#[command(
    name = "snp-vtpm-server",
    version,
    about = "An attestation service for Azure SEV-SNP and TDX confidential VMs: nonces, verification, signed EAR results",
    after_help = "Every option is also an environment variable SNP_VTPM_SERVER_<NAME> (for example \
SNP_VTPM_SERVER_LISTEN). Instances behind one load balancer share their nonce store (Redis) and \
their signing keys (the same --signing-key files), so that any instance accepts any nonce and \
every token verifies against every instance's JWKS."
)]
pub struct Args {
    /// Write a new signing key (PKCS#8 PEM, readable by its owner only) to FILE, print its kid,
    /// and exit: give the file to every instance with --signing-key
    #[arg(long, value_name = "FILE")]
    pub generate_key: Option<PathBuf>,
    /// The algorithm of --generate-key: ES256 (P-256) or ES384 (P-384)
    #[arg(
        long,
        value_name = "ES256|ES384",
        default_value = "ES256",
        requires = "generate_key"
    )]
    pub key_algorithm: String,
    /// TOML configuration file (the command line and environment override it)
    #[arg(long, env = "SNP_VTPM_SERVER_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address and port to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "SNP_VTPM_SERVER_LISTEN", value_name = "ADDR:PORT")]
    pub listen: Option<String>,
    /// memory (one instance), or redis://HOST:PORT or rediss://HOST:PORT (TLS), shared by
    /// instances [default: memory]
    #[arg(
        long,
        env = "SNP_VTPM_SERVER_NONCE_STORE",
        value_name = "memory|redis[s]://HOST:PORT"
    )]
    pub nonce_store: Option<String>,
    /// Policy file (TOML or JSON) for SEV-SNP evidence [default: the azure-cvm preset]
    #[arg(long, env = "SNP_VTPM_SERVER_POLICY", value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Policy file for TDX evidence [default: the azure-tdx preset]
    #[arg(long, env = "SNP_VTPM_SERVER_TDX_POLICY", value_name = "FILE")]
    pub tdx_policy: Option<PathBuf>,
    /// Firmware catalog file (JSON) that extends the built-in one, or replaces it when it says
    /// "replace": true; result policy ids then name its SHA-256 [default: the built-in catalog]
    #[arg(long, env = "SNP_VTPM_SERVER_FIRMWARE_CATALOG", value_name = "FILE")]
    pub firmware_catalog: Option<PathBuf>,
    /// PKCS#8 PEM signing key (P-256 for ES256, P-384 for ES384); repeat to publish several:
    /// all are in the JWKS, the last one signs [default: one generated at start]
    #[arg(
        long = "signing-key",
        env = "SNP_VTPM_SERVER_SIGNING_KEY",
        value_name = "FILE",
        value_delimiter = ','
    )]
    pub signing_keys: Vec<PathBuf>,
    /// Seconds a nonce stays valid [default: 60]
    #[arg(long, env = "SNP_VTPM_SERVER_NONCE_TTL", value_name = "SECONDS")]
    pub nonce_ttl: Option<u64>,
    /// Seconds an attestation result stays valid (its exp) [default: 300]
    #[arg(long, env = "SNP_VTPM_SERVER_TOKEN_TTL", value_name = "SECONDS")]
    pub token_ttl: Option<u64>,
    /// Certificate cache folder [default: the user's cache folder]
    #[arg(long, env = "SNP_VTPM_SERVER_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Never use the network for certificates: the evidence and the cache only
    /// (`--offline=false` overrides the file)
    #[arg(long, env = "SNP_VTPM_SERVER_OFFLINE", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = boolean)]
    pub offline: Option<bool>,
    /// Keep no certificate cache: every verification asks KDS or PCS for what the evidence
    /// lacks (collateral updates count at once; for tests, or behind a caching proxy)
    #[arg(long, env = "SNP_VTPM_SERVER_NO_CACHE", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = boolean)]
    pub no_cache: Option<bool>,
    /// AMD KDS base URL
    #[arg(long, env = "SNP_VTPM_SERVER_KDS_URL", value_name = "URL")]
    pub kds_url: Option<String>,
    /// Intel PCS v4 base URLs for TDX collateral (intel, azure or a URL), asked in order
    #[arg(
        long = "pcs-url",
        env = "SNP_VTPM_SERVER_PCS_URL",
        value_name = "URL",
        value_delimiter = ','
    )]
    pub pcs_urls: Vec<String>,
    /// Where the Intel SGX Root CA's CRL is downloaded from
    #[arg(long, env = "SNP_VTPM_SERVER_ROOT_CA_CRL_URL", value_name = "URL")]
    pub root_ca_crl_url: Option<String>,
    /// Do not fetch AMD CRLs (revocation is then checked only with a cached CRL)
    #[arg(long, env = "SNP_VTPM_SERVER_NO_CRL_FETCH", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = boolean)]
    pub no_crl_fetch: Option<bool>,
    /// Verifications run at once; more are answered 503 with Retry-After at once [default: 64]
    #[arg(long, env = "SNP_VTPM_SERVER_MAX_VERIFICATIONS", value_name = "N")]
    pub max_verifications: Option<usize>,
    /// Serve the verification page from DIR (the folder `cargo xtask web` builds,
    /// target/web) at /: read once at start, verifying in the visitor's browser [default: no
    /// page]
    #[arg(long, env = "SNP_VTPM_SERVER_WEB", value_name = "DIR")]
    pub web: Option<PathBuf>,
    /// TESTS ONLY: trust these AMD CA certificates (PEM: ARK, ASK) instead of AMD's pinned roots
    #[arg(long, env = "SNP_VTPM_SERVER_TRUST_TEST_AMD_ROOTS", value_name = "PEM")]
    pub trust_test_amd_roots: Option<PathBuf>,
    /// TESTS ONLY: trust this root (PEM) instead of Intel's pinned SGX Root CA
    #[arg(
        long,
        env = "SNP_VTPM_SERVER_TRUST_TEST_INTEL_ROOT",
        value_name = "PEM"
    )]
    pub trust_test_intel_root: Option<PathBuf>,
    /// TESTS ONLY: trust this root (PEM) instead of Azure's pinned vTPM root
    #[arg(long, env = "SNP_VTPM_SERVER_TRUST_TEST_VTPM_ROOT", value_name = "PEM")]
    pub trust_test_vtpm_root: Option<PathBuf>,
}

/// A boolean option's value: true/false, yes/no, on/off, 1/0; an empty value (a variable set
/// to nothing, a common way to unset it) is false.
fn boolean(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "" | "false" | "no" | "off" | "0" | "n" | "f" => Ok(false),
        "true" | "yes" | "on" | "1" | "y" | "t" => Ok(true),
        other => Err(format!(
            "\"{other}\" is not a boolean (true/false, yes/no, on/off, 1/0)"
        )),
    }
}

/// The TOML file: the same settings as the command line, in snake case.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    nonce_store: Option<String>,
    policy: Option<PathBuf>,
    tdx_policy: Option<PathBuf>,
    firmware_catalog: Option<PathBuf>,
    #[serde(default)]
    signing_keys: Vec<PathBuf>,
    nonce_ttl: Option<u64>,
    token_ttl: Option<u64>,
    cache_dir: Option<PathBuf>,
    offline: Option<bool>,
    no_cache: Option<bool>,
    kds_url: Option<String>,
    #[serde(default)]
    pcs_urls: Vec<String>,
    root_ca_crl_url: Option<String>,
    no_crl_fetch: Option<bool>,
    max_verifications: Option<usize>,
    web: Option<PathBuf>,
    trust_test_amd_roots: Option<PathBuf>,
    trust_test_intel_root: Option<PathBuf>,
    trust_test_vtpm_root: Option<PathBuf>,
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Where nonces live.
    pub nonce_store: NonceStoreConfig,
    /// The SEV-SNP policy file (`None`: azure-cvm).
    pub policy: Option<PathBuf>,
    /// The TDX policy file (`None`: azure-tdx).
    pub tdx_policy: Option<PathBuf>,
    /// A firmware catalog file over the built-in catalog (`None`: the built-in one).
    pub firmware_catalog: Option<PathBuf>,
    /// Signing key files; the last signs (`None` of them: one generated key).
    pub signing_keys: Vec<PathBuf>,
    /// How long a nonce is valid.
    pub nonce_ttl: Duration,
    /// How long a result is valid.
    pub token_ttl: Duration,
    /// Certificate cache folder.
    pub cache_dir: Option<PathBuf>,
    /// Certificates from the evidence and the cache only.
    pub offline: bool,
    /// No certificate cache.
    pub no_cache: bool,
    /// AMD KDS base URL.
    pub kds_url: Option<String>,
    /// PCS base URLs.
    pub pcs_urls: Vec<String>,
    /// Root CA CRL URL.
    pub root_ca_crl_url: Option<String>,
    /// Fetch AMD CRLs.
    pub fetch_crl: bool,
    /// Verifications at once.
    pub max_verifications: usize,
    /// The verification page's folder (`None`: no page).
    pub web: Option<PathBuf>,
    /// Test roots instead of AMD's, Intel's and Azure's vTPM roots.
    pub trust_test_amd_roots: Option<PathBuf>,
    /// A test Intel root.
    pub trust_test_intel_root: Option<PathBuf>,
    /// A test vTPM root.
    pub trust_test_vtpm_root: Option<PathBuf>,
}

/// The longest nonce or token time to live accepted: one day.
pub const MAX_TTL_SECONDS: u64 = 86_400;

/// The most verifications at once that may be configured: each runs on its own thread of
/// tokio's blocking pool, which has 512.
pub const MAX_VERIFICATIONS: usize = 512;

/// The default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

impl Config {
    /// `args` over the file they name over the defaults; every value checked.
    pub fn load(args: Args) -> Result<Self, String> {
        let file = match &args.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("--config {}: {e}", path.display()))?;
                toml::from_str::<FileConfig>(&text)
                    .map_err(|e| format!("--config {}: {e}", path.display()))?
            }
            None => FileConfig::default(),
        };
        let listen_text = args
            .listen
            .or(file.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.to_string());
        let listen = listen_text
            .parse()
            .map_err(|e| format!("--listen \"{listen_text}\": {e} (expected ADDR:PORT)"))?;
        let store_text = args.nonce_store.or(file.nonce_store);
        let nonce_store = match store_text.as_deref() {
            None | Some("memory") => NonceStoreConfig::Memory,
            Some(url) if url.starts_with("redis://") || url.starts_with("rediss://") => {
                NonceStoreConfig::Redis(url.to_string())
            }
            Some(other) => {
                return Err(format!(
                    "--nonce-store {}: expected memory, redis://HOST:PORT or rediss://HOST:PORT (TLS)",
                    crate::nonce::redacted(other)
                ));
            }
        };
        let seconds = |name: &str, value: Option<u64>, default: u64| {
            let value = value.unwrap_or(default);
            if value == 0 || value > MAX_TTL_SECONDS {
                Err(format!(
                    "--{name}: must be between 1 and {MAX_TTL_SECONDS} seconds, found {value}"
                ))
            } else {
                Ok(Duration::from_secs(value))
            }
        };
        let either = |a: Vec<PathBuf>, b: Vec<PathBuf>| if a.is_empty() { b } else { a };
        let either_urls = |a: Vec<String>, b: Vec<String>| if a.is_empty() { b } else { a };
        Ok(Self {
            listen,
            nonce_store,
            policy: args.policy.or(file.policy),
            tdx_policy: args.tdx_policy.or(file.tdx_policy),
            firmware_catalog: args.firmware_catalog.or(file.firmware_catalog),
            signing_keys: either(args.signing_keys, file.signing_keys),
            nonce_ttl: seconds("nonce-ttl", args.nonce_ttl.or(file.nonce_ttl), 60)?,
            token_ttl: seconds("token-ttl", args.token_ttl.or(file.token_ttl), 300)?,
            cache_dir: args.cache_dir.or(file.cache_dir),
            offline: args.offline.or(file.offline).unwrap_or(false),
            no_cache: args.no_cache.or(file.no_cache).unwrap_or(false),
            kds_url: args.kds_url.or(file.kds_url),
            pcs_urls: either_urls(args.pcs_urls, file.pcs_urls),
            root_ca_crl_url: args.root_ca_crl_url.or(file.root_ca_crl_url),
            fetch_crl: !args.no_crl_fetch.or(file.no_crl_fetch).unwrap_or(false),
            max_verifications: match args.max_verifications.or(file.max_verifications) {
                None => 64,
                Some(n @ 1..=MAX_VERIFICATIONS) => n,
                Some(n) => {
                    return Err(format!(
                        "--max-verifications: must be between 1 and {MAX_VERIFICATIONS}, found {n}"
                    ));
                }
            },
            web: args.web.or(file.web),
            trust_test_amd_roots: args.trust_test_amd_roots.or(file.trust_test_amd_roots),
            trust_test_intel_root: args.trust_test_intel_root.or(file.trust_test_intel_root),
            trust_test_vtpm_root: args.trust_test_vtpm_root.or(file.trust_test_vtpm_root),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn load(arguments: &[&str], file: &str) -> Result<Config, String> {
        let path = std::env::temp_dir().join(format!(
            "snp-vtpm-server-config-{}-{}.toml",
            std::process::id(),
            arguments.join("_").replace(['-', '='], "")
        ));
        std::fs::write(&path, file).unwrap();
        let mut argv = vec!["snp-vtpm-server".to_string(), "--config".into()];
        argv.push(path.display().to_string());
        argv.extend(arguments.iter().map(|a| a.to_string()));
        let loaded = Args::try_parse_from(argv)
            .map_err(|e| e.to_string())
            .and_then(Config::load);
        let _ = std::fs::remove_file(&path);
        loaded
    }

    #[test]
    fn a_boolean_set_in_the_file_is_overridden_by_the_command_line() {
        let file = "offline = true\nno_cache = true\nno_crl_fetch = true\n";
        let from_file = load(&[], file).unwrap();
        assert!(from_file.offline && from_file.no_cache && !from_file.fetch_crl);
        let overridden = load(
            &["--offline=false", "--no-cache=no", "--no-crl-fetch=0"],
            file,
        )
        .unwrap();
        assert!(!overridden.offline && !overridden.no_cache && overridden.fetch_crl);
        let flags = load(&["--offline", "--no-cache"], "").unwrap();
        assert!(flags.offline && flags.no_cache && flags.fetch_crl);
        let error = load(&["--offline=maybe"], "").unwrap_err();
        assert!(error.contains("maybe"), "{error}");
        assert!(!load(&["--offline="], "offline = true").unwrap().offline);
        let error = load(&["--max-verifications", "2305843009213693952"], "").unwrap_err();
        assert!(error.contains("between 1 and 512"), "{error}");
    }
}
