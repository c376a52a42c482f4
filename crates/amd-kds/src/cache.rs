//! The disk cache and the single-flight table.
//!
//! Layout under the cache folder (one file per entry, written atomically):
//!
//! | entry | path | kept |
//! |---|---|---|
//! | VCEK | `vcek/{product}/{hwid hex}/[fmcNN-]blNN-teeNN-snpNN-ucodeNN.der` | forever |
//! | chain | `{vcek,vlek}/{product}/cert_chain.pem` | forever |
//! | CRL | `vcek/{product}/crl.der` | until its nextUpdate |
//!
//! Every read runs the same well-formedness check as a download; an entry that fails it is
//! removed and fetched again.

use std::any::Any;
use std::collections::HashMap;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use hcl_parse::Generation;

use crate::artifact::{CertChain, Certificate, Crl};
use crate::error::{Error, Kind, Result};
use crate::request::{ChainKind, VcekRequest};
use crate::source::{Fetched, Source};

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
}

impl Entry {
    pub fn relative_path(&self) -> PathBuf {
        match self {
            Self::Vcek(request) => PathBuf::from("vcek")
                .join(request.product().name())
                .join(request.hw_id_hex())
                .join(format!("{}.der", request.tcb_key())),
            Self::Chain(product, kind) => PathBuf::from(kind.segment())
                .join(product.name())
                .join("cert_chain.pem"),
            Self::Crl(product) => PathBuf::from("vcek").join(product.name()).join("crl.der"),
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Self::Vcek(_) => Kind::Vcek,
            Self::Chain(_, kind) => kind.kind(),
            Self::Crl(_) => Kind::Crl,
        }
    }

    /// The key as a person reads it (in errors).
    pub fn describe(&self) -> String {
        match self {
            Self::Vcek(request) => format!(
                "{} chip {}, TCB {}",
                request.product(),
                request.hw_id_hex(),
                request.tcb()
            ),
            Self::Chain(product, _) | Self::Crl(product) => product.to_string(),
        }
    }
}

/// What can be cached: parsed with the download's check, stored as bytes.
pub(crate) trait Cacheable: Sized + Clone + Send + Sync + 'static {
    fn parse_cached(bytes: &[u8], entry: &Entry) -> std::result::Result<Self, String>;
    fn cache_bytes(&self) -> Vec<u8>;
    /// Whether the entry may still be served at `now`; `Err` says why not.
    fn fresh_at(&self, _now: SystemTime) -> std::result::Result<(), String> {
        Ok(())
    }
}

impl Cacheable for Certificate {
    fn parse_cached(bytes: &[u8], _entry: &Entry) -> std::result::Result<Self, String> {
        Self::parse(bytes)
    }
    fn cache_bytes(&self) -> Vec<u8> {
        self.der().to_vec()
    }
}

impl Cacheable for CertChain {
    fn parse_cached(bytes: &[u8], entry: &Entry) -> std::result::Result<Self, String> {
        match entry {
            Entry::Chain(product, kind) => Self::parse(bytes, *kind, Some(*product)),
            _ => Err("not a chain entry".to_string()),
        }
    }
    fn cache_bytes(&self) -> Vec<u8> {
        self.to_pem().into_bytes()
    }
}

impl Cacheable for Crl {
    fn parse_cached(bytes: &[u8], _entry: &Entry) -> std::result::Result<Self, String> {
        Self::parse(bytes)
    }
    fn cache_bytes(&self) -> Vec<u8> {
        self.der().to_vec()
    }
    fn fresh_at(&self, now: SystemTime) -> std::result::Result<(), String> {
        if self.is_current_at(now) {
            Ok(())
        } else {
            Err(format!(
                "the cached CRL expired at its nextUpdate ({} s after the epoch)",
                self.next_update_unix()
            ))
        }
    }
}

/// A cache lookup.
pub(crate) enum Lookup<T> {
    Hit(T),
    /// No usable entry, and why (for the offline error).
    Miss(String),
}

type FlightResult = Result<Arc<dyn Any + Send + Sync>, Error>;
type FlightSlot = Arc<Mutex<Option<FlightResult>>>;

/// The disk cache (or its absence) and the table of downloads in progress. Cloning shares
/// both, so clients built from one `Cache` never download the same thing twice at once.
#[derive(Clone)]
pub struct Cache {
    inner: Arc<Inner>,
}

struct Inner {
    dir: Option<PathBuf>,
    flights: Mutex<HashMap<PathBuf, FlightSlot>>,
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

    /// The cached VCEK of `request`, if present and well formed.
    pub fn load_vcek(&self, request: &VcekRequest) -> Option<Certificate> {
        match self.read(&Entry::Vcek(request.clone()), SystemTime::now()) {
            Lookup::Hit(cert) => Some(cert),
            Lookup::Miss(_) => None,
        }
    }

    /// Stores `cert` as the VCEK of `request` (for a VCEK obtained elsewhere, e.g. from an
    /// extended report). The certificate is not checked against the request: that is the
    /// verifier's job, and [`Cache::remove_vcek`] undoes a wrong entry.
    pub fn store_vcek(&self, request: &VcekRequest, cert: &Certificate) -> Result<()> {
        self.write(&Entry::Vcek(request.clone()), cert)
    }

    /// Removes the cached VCEK of `request` (for example after it failed verification).
    pub fn remove_vcek(&self, request: &VcekRequest) -> Result<()> {
        self.remove(&Entry::Vcek(request.clone()))
    }

    /// Stores a chain under its product and kind.
    pub fn store_chain(&self, chain: &CertChain) -> Result<()> {
        self.write(&Entry::Chain(chain.product(), chain.kind()), chain)
    }

    fn path(&self, entry: &Entry) -> Option<PathBuf> {
        self.dir().map(|dir| dir.join(entry.relative_path()))
    }

    /// Reads and checks an entry; a corrupt one is removed, a stale one is left for the
    /// download to replace.
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
        let value = match T::parse_cached(&bytes, entry) {
            Ok(value) => value,
            Err(reason) => {
                log::warn!(
                    "cache: {} is not a well-formed {} ({reason}); removing it",
                    path.display(),
                    entry.kind()
                );
                if let Err(e) = fs::remove_file(&path) {
                    log::warn!("cache: cannot remove {}: {e}", path.display());
                }
                return Lookup::Miss(format!(
                    "the entry at {} was corrupt ({reason}) and has been removed",
                    path.display()
                ));
            }
        };
        if let Err(reason) = value.fresh_at(now) {
            log::debug!("cache: {}: {reason}", path.display());
            return Lookup::Miss(reason);
        }
        log::debug!("cache: hit {}", path.display());
        Lookup::Hit(value)
    }

    pub(crate) fn write<T: Cacheable>(&self, entry: &Entry, value: &T) -> Result<()> {
        let Some(path) = self.path(entry) else {
            return Ok(());
        };
        write_atomic(&path, &value.cache_bytes()).map_err(|e| Error::Cache {
            op: "write",
            path: path.clone(),
            source: Arc::new(e),
        })?;
        log::debug!("cache: stored {}", path.display());
        Ok(())
    }

    fn remove(&self, entry: &Entry) -> Result<()> {
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

    /// Cache first; then, unless `offline`, one `fetch` per key at a time across threads,
    /// whose result is stored (when fresh) and shared with every thread that waited for it.
    pub(crate) fn get_or_fetch<T: Cacheable>(
        &self,
        entry: &Entry,
        offline: bool,
        now: SystemTime,
        fetch: impl FnOnce() -> Result<Fetched<T>>,
    ) -> Result<Fetched<T>> {
        let detail = match self.read::<T>(entry, now) {
            Lookup::Hit(value) => return Ok(Fetched::new(value, Source::Cache)),
            Lookup::Miss(detail) => detail,
        };
        if offline {
            return Err(Error::NotCachedOffline {
                kind: entry.kind(),
                key: entry.describe(),
                detail,
            });
        }
        self.single_flight(entry.relative_path(), || {
            // Another thread may have fetched and stored it since the first look.
            if let Lookup::Hit(value) = self.read::<T>(entry, now) {
                return Ok(Fetched::new(value, Source::Cache));
            }
            let fetched = fetch()?;
            match fetched.value.fresh_at(now) {
                Ok(()) => {
                    if let Err(e) = self.write(entry, &fetched.value) {
                        log::warn!("{e}; continuing without caching");
                    }
                }
                Err(reason) => log::warn!("not caching the fetched {}: {reason}", entry.kind()),
            }
            Ok(fetched)
        })
    }

    /// Runs `work` unless another thread is already running it for `key`, in which case this
    /// thread waits and shares that result.
    fn single_flight<T: Cacheable>(
        &self,
        key: PathBuf,
        work: impl FnOnce() -> Result<Fetched<T>>,
    ) -> Result<Fetched<T>> {
        let slot = lock(&self.inner.flights)
            .entry(key.clone())
            .or_default()
            .clone();
        let mut done = lock(&slot);
        match done.as_ref() {
            Some(Err(e)) => return Err(e.clone()),
            Some(Ok(shared)) => {
                if let Some(value) = shared.downcast_ref::<Fetched<T>>() {
                    return Ok(value.clone());
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
        result
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
