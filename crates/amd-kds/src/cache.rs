//! The disk cache and the single-flight table.
//!
//! Layout under the cache folder (one file per entry, written atomically):
//!
//! | entry | path | kept |
//! |---|---|---|
//! | VCEK | `vcek/{product}/{hwid hex}/[fmcNN-]blNN-teeNN-snpNN-ucodeNN.der` | forever |
//! | chain | `{vcek,vlek}/{product}/cert_chain.pem` | forever |
//! | CRL | `vcek/{product}/crl.pem` (a `fetched-at:` line, then PEM) | until its nextUpdate, at most 24 h after the fetch |
//! | CA certificate (AIA) | `issuers/{key}.der` | until its notAfter |
//! | TDX collateral | `tdx/{FMSPC}/{platform,processor}.json` (a `fetched-at:` line, then the `--collateral` JSON) | at most 24 h after the fetch; the check refuses it from its earliest nextUpdate |
//!
//! Every read runs the same well-formedness check as a download, then the check the caller of
//! `Cache::get_or_fetch` passes (the [`CertificateSource`](crate::CertificateSource) runs its
//! [`ArtifactCheck`](crate::ArtifactCheck) there); an entry that fails either is removed and
//! fetched again (once). The cache knows nothing of services: it is handed the fetch to run on
//! a miss.

use std::any::Any;
use std::collections::HashMap;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hcl_parse::Generation;
use tdx_verify::{Collateral, CollateralRequest};

use crate::artifact::{CaCertificate, CertChain, Certificate, Crl};
use crate::check::CheckFailure;
use crate::error::{ArtifactKind, Error, Result};
use crate::fetched::{Fetched, Sent, Source};
use crate::request::{ChainKind, VcekRequest};

/// The longest a CRL is kept, whatever its nextUpdate says: a CRL that a source sent with a far
/// nextUpdate (or one that AMD replaced early) is fetched again at least this often.
pub const CRL_MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);

/// The longest TDX collateral is kept: Intel updates TCB info and CRLs well before their
/// nextUpdate when it publishes an advisory, so a copy is asked for again at least daily.
pub const COLLATERAL_MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);

/// The first line of a cached CRL or collateral: when it was fetched (Unix seconds, the
/// source's clock).
const FETCHED_AT: &str = "fetched-at: ";

/// Where the cache lives.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CacheConfig {
    /// [`CacheConfig::default_dir`], or no cache when the platform names no cache folder.
    #[default]
    Default,
    /// This folder.
    Dir(PathBuf),
    /// No disk cache (concurrent requests for one key still share one download).
    Disabled,
}

impl CacheConfig {
    /// `$XDG_CACHE_HOME/snp-vtpm/certs`, else `~/.cache/snp-vtpm/certs`
    /// (`~/Library/Caches/...` on macOS, `%LOCALAPPDATA%\...` on Windows).
    pub fn default_dir() -> Option<PathBuf> {
        let non_empty = |name: &str| {
            std::env::var_os(name)
                .filter(|value| !value.is_empty())
                .map(PathBuf::from)
        };
        let base = non_empty("XDG_CACHE_HOME")
            .filter(|dir| dir.is_absolute())
            .or_else(|| {
                if cfg!(windows) {
                    non_empty("LOCALAPPDATA")
                } else if cfg!(target_os = "macos") {
                    non_empty("HOME").map(|home| home.join("Library/Caches"))
                } else {
                    non_empty("HOME").map(|home| home.join(".cache"))
                }
            })?;
        Some(base.join("snp-vtpm").join("certs"))
    }
}

/// One cache entry: what it holds and where.
#[derive(Debug, Clone)]
pub(crate) enum Entry {
    Vcek(VcekRequest),
    Chain(Generation, ChainKind),
    Crl(Generation),
    /// A CA certificate named by a certificate's AIA: the hex cache key of the
    /// [`IssuerRequest`](crate::IssuerRequest) and the CA's name (for errors).
    Issuer {
        key: String,
        name: String,
    },
    /// The collateral of one platform's TD quotes.
    TdxCollateral(CollateralRequest),
}

impl Entry {
    pub(crate) fn relative_path(&self) -> PathBuf {
        match self {
            Self::Vcek(request) => PathBuf::from("vcek")
                .join(request.product().name())
                .join(request.hw_id_hex())
                .join(format!("{}.der", request.tcb_key())),
            Self::Chain(product, kind) => PathBuf::from(kind.segment())
                .join(product.name())
                .join("cert_chain.pem"),
            Self::Crl(product) => PathBuf::from("vcek").join(product.name()).join("crl.pem"),
            Self::Issuer { key, .. } => PathBuf::from("issuers").join(format!("{key}.der")),
            Self::TdxCollateral(request) => PathBuf::from("tdx")
                .join(request.fmspc_hex())
                .join(format!("{}.json", request.ca.query_value())),
        }
    }

    pub(crate) fn artifact_kind(&self) -> ArtifactKind {
        match self {
            Self::Vcek(_) => ArtifactKind::Vcek,
            Self::Chain(_, kind) => kind.artifact_kind(),
            Self::Crl(_) => ArtifactKind::Crl,
            Self::Issuer { .. } => ArtifactKind::CaCertificate,
            Self::TdxCollateral(_) => ArtifactKind::TdxCollateral,
        }
    }

    /// The key as a person reads it (in errors).
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Vcek(request) => format!(
                "{} chip {}, TCB {}",
                request.product(),
                request.hw_id_hex(),
                request.tcb()
            ),
            Self::Chain(product, _) | Self::Crl(product) => product.to_string(),
            Self::Issuer { name, .. } => format!("\"{name}\""),
            Self::TdxCollateral(request) => request.to_string(),
        }
    }
}

/// What can be cached: parsed with the download's check, stored as bytes.
pub(crate) trait Cacheable: Sized + Clone + Send + Sync + 'static {
    /// The value, and when it was fetched if the entry records it.
    fn parse_cached(
        bytes: &[u8],
        entry: &Entry,
    ) -> std::result::Result<(Self, Option<SystemTime>), String>;
    fn cache_bytes(&self, fetched_at: SystemTime) -> Vec<u8>;
    /// Whether this newly fetched value may replace `cached` (the entry of the same key, fresh
    /// or not); `Err` says why not.
    fn may_replace(&self, _cached: &Self) -> std::result::Result<(), String> {
        Ok(())
    }
    /// Whether the entry, fetched at `fetched_at` (`None`: not recorded), may still be served
    /// at `now`; `Err` says why not.
    fn fresh_at(
        &self,
        _fetched_at: Option<SystemTime>,
        _now: SystemTime,
    ) -> std::result::Result<(), String> {
        Ok(())
    }
}

impl Cacheable for Certificate {
    fn parse_cached(
        bytes: &[u8],
        _entry: &Entry,
    ) -> std::result::Result<(Self, Option<SystemTime>), String> {
        Ok((Self::parse(bytes)?, None))
    }
    fn cache_bytes(&self, _fetched_at: SystemTime) -> Vec<u8> {
        self.der().to_vec()
    }
}

impl Cacheable for CaCertificate {
    fn parse_cached(
        bytes: &[u8],
        _entry: &Entry,
    ) -> std::result::Result<(Self, Option<SystemTime>), String> {
        Ok((Self::parse(bytes)?, None))
    }
    fn cache_bytes(&self, _fetched_at: SystemTime) -> Vec<u8> {
        self.der().to_vec()
    }
    /// A CA certificate does not change: it is served while it is valid.
    fn fresh_at(
        &self,
        _fetched_at: Option<SystemTime>,
        now: SystemTime,
    ) -> std::result::Result<(), String> {
        self.valid_at(now)
    }
}

impl Cacheable for CertChain {
    fn parse_cached(
        bytes: &[u8],
        entry: &Entry,
    ) -> std::result::Result<(Self, Option<SystemTime>), String> {
        match entry {
            Entry::Chain(product, kind) => Ok((Self::parse(bytes, *kind, Some(*product))?, None)),
            _ => Err("not a chain entry".to_string()),
        }
    }
    fn cache_bytes(&self, _fetched_at: SystemTime) -> Vec<u8> {
        self.to_pem().into_bytes()
    }
}

impl Cacheable for Crl {
    fn parse_cached(
        bytes: &[u8],
        _entry: &Entry,
    ) -> std::result::Result<(Self, Option<SystemTime>), String> {
        let (fetched_at, pem) = split_fetched_at(bytes)?;
        Ok((Self::parse(pem)?, fetched_at))
    }
    fn cache_bytes(&self, fetched_at: SystemTime) -> Vec<u8> {
        with_fetched_at(fetched_at, self.to_pem().as_bytes())
    }
    fn fresh_at(
        &self,
        fetched_at: Option<SystemTime>,
        now: SystemTime,
    ) -> std::result::Result<(), String> {
        let fetched_at = fetched_at.ok_or("the cached CRL does not say when it was fetched")?;
        if !self.is_current_at(now) {
            return Err(format!(
                "the cached CRL expired at its nextUpdate ({} s after the epoch)",
                self.next_update_unix()
            ));
        }
        check_age("CRL", fetched_at, now, CRL_MAX_AGE)
    }
}

impl Cacheable for Collateral {
    fn parse_cached(
        bytes: &[u8],
        _entry: &Entry,
    ) -> std::result::Result<(Self, Option<SystemTime>), String> {
        let (fetched_at, json) = split_fetched_at(bytes)?;
        let collateral = Collateral::from_json(json).map_err(|e| e.to_string())?;
        Ok((collateral, fetched_at))
    }
    fn cache_bytes(&self, fetched_at: SystemTime) -> Vec<u8> {
        with_fetched_at(fetched_at, self.to_json().as_bytes())
    }
    /// Collateral does not go back: Intel raises the TCB evaluation data number when it
    /// re-rates platforms, and older documents stay signed and current for weeks.
    fn may_replace(&self, cached: &Self) -> std::result::Result<(), String> {
        let (Ok(new), Ok(old)) = (
            self.tcb_evaluation_data_number(),
            cached.tcb_evaluation_data_number(),
        ) else {
            return Ok(());
        };
        if new < old {
            return Err(format!(
                "its TCB evaluation data number is {new}, lower than the {old} of the copy \
                 cached before: collateral does not go back"
            ));
        }
        Ok(())
    }
    /// Its documents' own validity is the check's to judge (it verifies them at `now`).
    fn fresh_at(
        &self,
        fetched_at: Option<SystemTime>,
        now: SystemTime,
    ) -> std::result::Result<(), String> {
        let fetched_at =
            fetched_at.ok_or("the cached TDX collateral does not say when it was fetched")?;
        check_age("TDX collateral", fetched_at, now, COLLATERAL_MAX_AGE)
    }
}

/// Splits a cached entry into its `fetched-at:` time (if the line is there) and the rest.
fn split_fetched_at(bytes: &[u8]) -> std::result::Result<(Option<SystemTime>, &[u8]), String> {
    let Some(rest) = bytes.strip_prefix(FETCHED_AT.as_bytes()) else {
        return Ok((None, bytes));
    };
    let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
    let (line, body) = rest.split_at(end);
    let seconds = std::str::from_utf8(line)
        .ok()
        .and_then(|text| text.trim().parse::<u64>().ok())
        .ok_or("the fetched-at line is not a number of seconds")?;
    let fetched_at = UNIX_EPOCH
        .checked_add(Duration::from_secs(seconds))
        .ok_or("the fetched-at time is out of range")?;
    Ok((Some(fetched_at), body))
}

/// `body` after a `fetched-at:` line.
fn with_fetched_at(fetched_at: SystemTime, body: &[u8]) -> Vec<u8> {
    let mut bytes = format!("{FETCHED_AT}{}\n", unix(fetched_at)).into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// An entry fetched at `fetched_at` may be served at `now` when it is not from the future and
/// younger than `max_age`.
fn check_age(
    what: &str,
    fetched_at: SystemTime,
    now: SystemTime,
    max_age: Duration,
) -> std::result::Result<(), String> {
    if fetched_at > now {
        return Err(format!(
            "the cached {what} says it was fetched at {} s after the epoch, which is later than now",
            unix(fetched_at)
        ));
    }
    // fetched_at <= now, so the sum is in range for any real clock; None counts as expired.
    if fetched_at.checked_add(max_age).is_none_or(|cap| now >= cap) {
        return Err(format!(
            "the cached {what} was fetched at {} s after the epoch, more than {} h ago (it is \
             kept at most {} h, whatever its own dates say)",
            unix(fetched_at),
            max_age.as_secs() / 3600,
            max_age.as_secs() / 3600
        ));
    }
    Ok(())
}

fn unix(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}

/// A cache lookup.
pub(crate) enum Lookup<T> {
    /// The value and when it was fetched, if recorded.
    Hit(T, Option<SystemTime>),
    /// No usable entry, and why (for the offline error).
    Miss(String),
}

type FlightResult = Result<Arc<dyn Any + Send + Sync>, Error>;
type FlightSlot = Arc<Mutex<Option<FlightResult>>>;

/// The disk cache (or its absence) and the table of downloads in progress. Cloning shares
/// both, so sources built on one `Cache` never download the same thing twice at once.
#[derive(Clone)]
pub struct Cache {
    inner: Arc<Inner>,
}

struct Inner {
    dir: Option<PathBuf>,
    /// Downloads in progress, by entry and by the services of the source asking (sources with
    /// other services must not be handed each other's answers or failures).
    flights: Mutex<HashMap<(PathBuf, String), FlightSlot>>,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("dir", &self.inner.dir)
            .finish()
    }
}

impl Cache {
    /// A cache in `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self::with_dir(Some(dir.into()))
    }

    /// No disk cache.
    pub fn disabled() -> Self {
        Self::with_dir(None)
    }

    /// The cache `config` describes.
    pub fn from_config(config: &CacheConfig) -> Self {
        match config {
            CacheConfig::Default => match CacheConfig::default_dir() {
                Some(dir) => Self::new(dir),
                None => {
                    log::warn!(
                        "no cache folder (neither XDG_CACHE_HOME nor HOME is set): caching disabled"
                    );
                    Self::disabled()
                }
            },
            CacheConfig::Dir(dir) => Self::new(dir.clone()),
            CacheConfig::Disabled => Self::disabled(),
        }
    }

    fn with_dir(dir: Option<PathBuf>) -> Self {
        Self {
            inner: Arc::new(Inner {
                dir,
                flights: Mutex::default(),
            }),
        }
    }

    /// The cache folder, if caching is enabled.
    pub fn dir(&self) -> Option<&Path> {
        self.inner.dir.as_deref()
    }

    /// Where the VCEK of `request` is (or would be) cached.
    pub fn vcek_path(&self, request: &VcekRequest) -> Option<PathBuf> {
        self.path(&Entry::Vcek(request.clone()))
    }

    /// Where the chain of `product` and `kind` is (or would be) cached.
    pub fn chain_path(&self, product: Generation, kind: ChainKind) -> Option<PathBuf> {
        self.path(&Entry::Chain(product, kind))
    }

    /// Where the CRL of `product` is (or would be) cached.
    pub fn crl_path(&self, product: Generation) -> Option<PathBuf> {
        self.path(&Entry::Crl(product))
    }

    /// The cached VCEK of `request`, if present and well formed. (Not checked against the
    /// request or any root: a source with an [`ArtifactCheck`](crate::ArtifactCheck) does
    /// that on every read.)
    pub fn load_vcek(&self, request: &VcekRequest) -> Option<Certificate> {
        match self.read(&Entry::Vcek(request.clone()), SystemTime::now()) {
            Lookup::Hit(cert, _) => Some(cert),
            Lookup::Miss(_) => None,
        }
    }

    /// Stores `cert` as the VCEK of `request` (for a VCEK obtained elsewhere, e.g. from an
    /// extended report). The cache does not check the certificate against the request: the
    /// caller must have verified it. A source with an [`ArtifactCheck`](crate::ArtifactCheck)
    /// checks it on every read and removes it if it fails; [`Cache::remove_vcek`] undoes a
    /// wrong entry by hand.
    pub fn store_vcek(&self, request: &VcekRequest, cert: &Certificate) -> Result<()> {
        self.write(&Entry::Vcek(request.clone()), cert, SystemTime::now())
    }

    /// Removes the cached VCEK of `request` (for example after it failed verification).
    pub fn remove_vcek(&self, request: &VcekRequest) -> Result<()> {
        self.remove(&Entry::Vcek(request.clone()))
    }

    /// Stores a chain under its product and kind. Like [`Cache::store_vcek`], unchecked: the
    /// caller must have verified it.
    pub fn store_chain(&self, chain: &CertChain) -> Result<()> {
        self.write(
            &Entry::Chain(chain.product(), chain.kind()),
            chain,
            SystemTime::now(),
        )
    }

    fn path(&self, entry: &Entry) -> Option<PathBuf> {
        self.dir().map(|dir| dir.join(entry.relative_path()))
    }

    /// Reads an entry and checks that it is well formed; a corrupt one is removed, a stale one
    /// is left for the download to replace.
    pub(crate) fn read<T: Cacheable>(&self, entry: &Entry, now: SystemTime) -> Lookup<T> {
        let Some(path) = self.path(entry) else {
            return Lookup::Miss("the cache is disabled".to_string());
        };
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Lookup::Miss(format!("no entry at {}", path.display()));
            }
            Err(e) => {
                log::warn!("cache: cannot read {}: {e}", path.display());
                return Lookup::Miss(format!("cannot read {}: {e}", path.display()));
            }
        };
        let (value, fetched_at) = match T::parse_cached(&bytes, entry) {
            Ok(parsed) => parsed,
            Err(reason) => {
                log::warn!(
                    "cache: {} is not a well-formed {} ({reason}); removing it",
                    path.display(),
                    entry.artifact_kind()
                );
                remove_logged(&path);
                return Lookup::Miss(format!(
                    "the entry at {} was corrupt ({reason}) and has been removed",
                    path.display()
                ));
            }
        };
        if let Err(reason) = value.fresh_at(fetched_at, now) {
            log::debug!("cache: {}: {reason}", path.display());
            return Lookup::Miss(reason);
        }
        log::debug!("cache: hit {}", path.display());
        Lookup::Hit(value, fetched_at)
    }

    /// The entry as stored, fresh or not, if it is well formed (what a new value replaces).
    fn read_any<T: Cacheable>(&self, entry: &Entry) -> Option<T> {
        let bytes = fs::read(self.path(entry)?).ok()?;
        T::parse_cached(&bytes, entry).ok().map(|(value, _)| value)
    }

    /// [`Cache::read`], then `check`: an entry the check refuses is removed; one it cannot
    /// check (the chain it needs is not to be had) is left in place but not used.
    pub(crate) fn read_checked<T: Cacheable>(
        &self,
        entry: &Entry,
        now: SystemTime,
        check: &dyn Fn(&T) -> std::result::Result<(), CheckFailure>,
    ) -> Lookup<T> {
        let (value, fetched_at) = match self.read::<T>(entry, now) {
            Lookup::Hit(value, fetched_at) => (value, fetched_at),
            miss @ Lookup::Miss(_) => return miss,
        };
        let path = self.path(entry).unwrap_or_default();
        match check(&value) {
            Ok(()) => Lookup::Hit(value, fetched_at),
            Err(CheckFailure::Refused(reason)) => {
                log::warn!(
                    "cache: the {} at {} is refused ({reason}); removing it",
                    entry.artifact_kind(),
                    path.display()
                );
                remove_logged(&path);
                Lookup::Miss(format!(
                    "the {} at {} was refused ({reason}) and has been removed",
                    entry.artifact_kind(),
                    path.display()
                ))
            }
            Err(CheckFailure::Unavailable(e)) => {
                log::info!(
                    "cache: the {} at {} cannot be checked now: {e}",
                    entry.artifact_kind(),
                    path.display()
                );
                Lookup::Miss(format!(
                    "the {} at {} cannot be checked: {e}",
                    entry.artifact_kind(),
                    path.display()
                ))
            }
        }
    }

    pub(crate) fn write<T: Cacheable>(
        &self,
        entry: &Entry,
        value: &T,
        fetched_at: SystemTime,
    ) -> Result<()> {
        let Some(path) = self.path(entry) else {
            return Ok(());
        };
        write_atomic(&path, &value.cache_bytes(fetched_at)).map_err(|e| Error::Cache {
            op: "write",
            path: path.clone(),
            source: Arc::new(e),
        })?;
        log::debug!("cache: stored {}", path.display());
        Ok(())
    }

    pub(crate) fn remove(&self, entry: &Entry) -> Result<()> {
        let Some(path) = self.path(entry) else {
            return Ok(());
        };
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::Cache {
                op: "remove",
                path,
                source: Arc::new(e),
            }),
        }
    }

    /// Cache first (each hit well formed, fresh and accepted by `check`); then, unless
    /// `offline`, one `fetch` per key and `services` (the asking source's, see
    /// `CertificateSource::services`) at a time across threads. What `fetch` sends must pass
    /// `check` too (else [`Error::Refused`], nothing cached); it is then stored (when fresh)
    /// and shared with every thread that waited for it.
    pub(crate) fn get_or_fetch<T: Cacheable>(
        &self,
        entry: &Entry,
        services: &str,
        offline: bool,
        now: SystemTime,
        check: &dyn Fn(&T) -> std::result::Result<(), CheckFailure>,
        fetch: impl FnOnce() -> Result<Sent<T>>,
    ) -> Result<Fetched<T>> {
        let detail = match self.read_checked::<T>(entry, now, check) {
            Lookup::Hit(value, _) => return Ok(Fetched::new(value, Source::Cache)),
            Lookup::Miss(detail) => detail,
        };
        if offline {
            return Err(Error::NotCachedOffline {
                kind: entry.artifact_kind(),
                key: entry.describe(),
                detail,
            });
        }
        let work = || {
            // Another thread may have fetched and stored it since the first look.
            if let Lookup::Hit(value, _) = self.read_checked::<T>(entry, now, check) {
                return Ok(Fetched::new(value, Source::Cache));
            }
            let sent = fetch()?;
            let verdict = if sent.checked {
                Ok(())
            } else {
                check(&sent.value)
            };
            match verdict {
                Ok(()) => {}
                Err(CheckFailure::Refused(reason)) => {
                    return Err(Error::Refused {
                        service: sent.service,
                        kind: entry.artifact_kind(),
                        url: sent.url,
                        reason,
                    });
                }
                Err(CheckFailure::Unavailable(e)) => return Err(e),
            }
            if let Some(cached) = self.read_any::<T>(entry)
                && let Err(reason) = sent.value.may_replace(&cached)
            {
                let path = self.path(entry).unwrap_or_default();
                return Err(Error::Refused {
                    service: sent.service,
                    kind: entry.artifact_kind(),
                    url: sent.url,
                    reason: format!("{reason} (remove {} to accept it)", path.display()),
                });
            }
            match sent.value.fresh_at(Some(now), now) {
                Ok(()) => {
                    if let Err(e) = self.write(entry, &sent.value, now) {
                        log::warn!("{e}; continuing without caching");
                    }
                }
                Err(reason) => log::warn!(
                    "not caching the fetched {}: {reason}",
                    entry.artifact_kind()
                ),
            }
            Ok(Fetched::new(sent.value, sent.service.into()))
        };
        match self.single_flight((entry.relative_path(), services.to_string()), work) {
            Flight::Ran(result) => result,
            // Another thread's result passed that thread's check, which need not be ours (two
            // sources may share one cache): ours runs on it too, and when it refuses, or the
            // other check refused, this thread fetches for itself.
            Flight::Shared(Ok(fetched), work) => match check(&fetched.value) {
                Ok(()) => Ok(fetched),
                Err(_) => work(),
            },
            Flight::Shared(Err(Error::Refused { .. }), work) => work(),
            Flight::Shared(Err(error), _) => Err(error),
        }
    }

    /// Runs `work` unless another thread is already running it for `key`, in which case this
    /// thread waits and is handed that result (and its own `work`, not run).
    fn single_flight<T: Cacheable, W: FnOnce() -> Result<Fetched<T>>>(
        &self,
        key: (PathBuf, String),
        work: W,
    ) -> Flight<T, W> {
        let slot = lock(&self.inner.flights)
            .entry(key.clone())
            .or_default()
            .clone();
        let mut done = lock(&slot);
        match done.as_ref() {
            Some(Err(e)) => return Flight::Shared(Err(e.clone()), work),
            Some(Ok(shared)) => {
                if let Some(value) = shared.downcast_ref::<Fetched<T>>() {
                    return Flight::Shared(Ok(value.clone()), work);
                }
            }
            None => {}
        }
        let result = work();
        *done = Some(match &result {
            Ok(value) => Ok(Arc::new(value.clone()) as Arc<dyn Any + Send + Sync>),
            Err(e) => Err(e.clone()),
        });
        let mut flights = lock(&self.inner.flights);
        if flights
            .get(&key)
            .is_some_and(|current| Arc::ptr_eq(current, &slot))
        {
            flights.remove(&key);
        }
        drop(flights);
        drop(done);
        Flight::Ran(result)
    }
}

/// What [`Cache::single_flight`] did: ran the work, or shared another thread's result.
enum Flight<T, W> {
    /// This thread ran the work.
    Ran(Result<Fetched<T>>),
    /// Another thread ran it; this thread's work is handed back unrun.
    Shared(Result<Fetched<T>>, W),
}

fn remove_logged(path: &Path) {
    if let Err(e) = fs::remove_file(path)
        && e.kind() != io::ErrorKind::NotFound
    {
        log::warn!("cache: cannot remove {}: {e}", path.display());
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Writes `bytes` to a temporary file beside `path`, flushes it, and renames it over `path`,
/// so a reader sees the old entry or the new one, never a part.
fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no parent folder"))?;
    fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let nonce = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let temp = dir.join(format!(
        ".{name}.{}.{}.{nonce}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}
