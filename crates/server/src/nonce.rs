//! Single-use nonces that expire. A nonce is issued with a time to live and consumed at most
//! once: consuming an unknown, expired or already consumed nonce says so, and a store that
//! cannot answer is an error (a request is then refused as unavailable, never accepted).
//!
//! In Redis, a nonce is the key `snp-vtpm:nonce:<hex>` set with `EX` (Redis expires it) and
//! consumed with `GETDEL` (atomic: of two instances consuming one nonce at once, one gets it).
//! Every command times out after [`REDIS_TIMEOUT`].

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use redis::AsyncCommands as _;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// The longest any Redis command may take before the request is refused as unavailable.
pub const REDIS_TIMEOUT: Duration = Duration::from_secs(2);

/// The store could not answer (connection lost, timeout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreUnavailable(pub String);

impl std::fmt::Display for StoreUnavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the nonce store is unavailable: {}", self.0)
    }
}

/// Where nonces live.
pub enum NonceStore {
    /// In this process.
    Memory(MemoryNonces),
    /// In a Redis server shared by instances.
    Redis(RedisNonces),
}

impl std::fmt::Debug for NonceStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind())
    }
}

impl NonceStore {
    /// A store in memory.
    pub fn memory() -> Self {
        Self::Memory(MemoryNonces::default())
    }

    /// A store in the Redis server at `url` (`redis://HOST:PORT[/DB]`). The connection is
    /// made on first use and remade after a loss; a server that is down makes requests
    /// unavailable, not the start fail.
    pub fn redis(url: &str) -> Result<Self, String> {
        RedisNonces::new(url).map(Self::Redis)
    }

    /// Records `nonce` as issued, valid for `ttl`.
    pub async fn issue(&self, nonce: &[u8], ttl: Duration) -> Result<(), StoreUnavailable> {
        match self {
            Self::Memory(store) => store.issue(nonce, ttl),
            Self::Redis(store) => store.issue(nonce, ttl).await,
        }
    }

    /// Consumes `nonce`: `true` when it was issued, has not expired and was not consumed
    /// before (it is then gone); `false` otherwise.
    pub async fn consume(&self, nonce: &[u8]) -> Result<bool, StoreUnavailable> {
        match self {
            Self::Memory(store) => Ok(store.consume(nonce)),
            Self::Redis(store) => store.consume(nonce).await,
        }
    }

    /// Whether the store answers (readiness).
    pub async fn ready(&self) -> Result<(), StoreUnavailable> {
        match self {
            Self::Memory(_) => Ok(()),
            Self::Redis(store) => store.ping().await,
        }
    }

    /// `memory` or `redis` (for logs and metrics).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Memory(_) => "memory",
            Self::Redis(_) => "redis",
        }
    }
}

/// A Redis URL fit for a message: everything that may be a secret hidden. The user part is
/// kept only when a password follows it (`redis://user:***@host`); a lone user part may be a
/// password written in its place (`redis://***@host`); a query may carry `pass=` (`?***`).
/// The last `@` ends the user part, so a password holding `/` or `@` stays hidden.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "(not a URL; not shown)".to_string();
    };
    let (rest, query) = match rest.split_once('?') {
        Some((before, _)) => (before, "?***"),
        None => (rest, ""),
    };
    let shown = match rest.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("***@{host}"),
        },
        None => rest.to_string(),
    };
    format!("{scheme}://{shown}{query}")
}

/// Nonces in Redis.
pub struct RedisNonces {
    connection: ConnectionManager,
}

impl RedisNonces {
    fn new(url: &str) -> Result<Self, String> {
        let shown = redacted(url);
        let client = redis::Client::open(url).map_err(|e| format!("--nonce-store {shown}: {e}"))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let connection = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| format!("--nonce-store {shown}: {e}"))?;
        Ok(Self { connection })
    }

    fn key(nonce: &[u8]) -> String {
        format!("snp-vtpm:nonce:{}", hex::encode(nonce))
    }

    /// Runs one command within [`REDIS_TIMEOUT`]. A command that fails on a broken
    /// connection (Redis restarted) is sent once more on the connection the manager makes
    /// anew: SET EX is idempotent, and a GETDEL whose first answer was lost finds nothing the
    /// second time (the request is refused, never accepted twice).
    async fn run<T, F, Fut>(&self, mut command: F) -> Result<T, StoreUnavailable>
    where
        F: FnMut(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let attempt = async {
            match command(self.connection.clone()).await {
                Err(e)
                    if e.is_io_error()
                        || e.is_connection_dropped()
                        || e.is_connection_refusal() =>
                {
                    command(self.connection.clone()).await
                }
                other => other,
            }
        };
        match tokio::time::timeout(REDIS_TIMEOUT, attempt).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(StoreUnavailable(format!("Redis: {e}"))),
            Err(_) => Err(StoreUnavailable(format!(
                "Redis did not answer within {} s",
                REDIS_TIMEOUT.as_secs()
            ))),
        }
    }

    async fn issue(&self, nonce: &[u8], ttl: Duration) -> Result<(), StoreUnavailable> {
        let key = Self::key(nonce);
        let seconds = ttl.as_secs().max(1);
        self.run(|mut connection| {
            let key = key.clone();
            async move { connection.set_ex::<_, _, ()>(key, 1, seconds).await }
        })
        .await
    }

    async fn consume(&self, nonce: &[u8]) -> Result<bool, StoreUnavailable> {
        let key = Self::key(nonce);
        let found: Option<String> = self
            .run(|mut connection| {
                let key = key.clone();
                async move { connection.get_del(key).await }
            })
            .await?;
        Ok(found.is_some())
    }

    async fn ping(&self) -> Result<(), StoreUnavailable> {
        self.run(|mut connection| async move {
            redis::cmd("PING")
                .query_async::<String>(&mut connection)
                .await
                .map(|_| ())
        })
        .await
    }
}

/// The most nonces outstanding in memory; past it, challenges are refused as unavailable
/// (about 100 MB; a flood of challenges must not grow the process without bound).
pub const MAX_MEMORY_NONCES: usize = 1_000_000;

/// Nonces in this process: issued nonces and their expiry. Expired ones are swept when the
/// map has doubled since the last sweep, so issuing stays constant time on average; when the
/// map is full, at most once a second (a full map of valid nonces refuses without sweeping
/// each time).
#[derive(Debug)]
pub struct MemoryNonces {
    issued: Mutex<Issued>,
    limit: usize,
}

impl Default for MemoryNonces {
    fn default() -> Self {
        Self::with_limit(MAX_MEMORY_NONCES)
    }
}

#[derive(Debug, Default)]
struct Issued {
    expiry: HashMap<Vec<u8>, Instant>,
    sweep_at: usize,
    last_sweep: Option<Instant>,
}

/// How often a full map is swept at most.
const FULL_SWEEP_INTERVAL: Duration = Duration::from_secs(1);

impl MemoryNonces {
    /// A store holding at most `limit` outstanding nonces.
    pub fn with_limit(limit: usize) -> Self {
        Self {
            issued: Mutex::default(),
            limit,
        }
    }

    fn issue(&self, nonce: &[u8], ttl: Duration) -> Result<(), StoreUnavailable> {
        let now = Instant::now();
        let mut issued = self.issued.lock().unwrap_or_else(PoisonError::into_inner);
        let full = issued.expiry.len() >= self.limit;
        let swept_lately = issued
            .last_sweep
            .is_some_and(|at| now.duration_since(at) < FULL_SWEEP_INTERVAL);
        if issued.expiry.len() >= issued.sweep_at && !full || full && !swept_lately {
            issued.expiry.retain(|_, expires| *expires > now);
            issued.sweep_at = (2 * issued.expiry.len()).max(1024).min(self.limit);
            issued.last_sweep = Some(now);
        }
        if issued.expiry.len() >= self.limit {
            return Err(StoreUnavailable(format!(
                "{} nonces are outstanding",
                self.limit
            )));
        }
        let expires = now.checked_add(ttl).unwrap_or(now);
        issued.expiry.insert(nonce.to_vec(), expires);
        Ok(())
    }

    fn consume(&self, nonce: &[u8]) -> bool {
        self.issued
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .expiry
            .remove(nonce)
            .is_some_and(|expires| expires > Instant::now())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn nonce(i: u32) -> Vec<u8> {
        i.to_le_bytes().to_vec()
    }

    /// A map filled with nonces that all expire frees itself: the full map is swept (at most
    /// once a second), whatever the last sweep left the threshold at.
    #[test]
    fn a_full_map_of_expired_nonces_frees_itself() {
        let store = MemoryNonces::with_limit(2_000);
        // More than half the limit valid at a sweep, as a flood within one lifetime does.
        for i in 0..2_000 {
            store.issue(&nonce(i), Duration::from_millis(300)).unwrap();
        }
        assert!(store.issue(&nonce(9_999), Duration::from_secs(60)).is_err());
        std::thread::sleep(Duration::from_millis(1_100));
        store
            .issue(&nonce(10_000), Duration::from_secs(60))
            .unwrap();
        let held = store.issued.lock().unwrap().expiry.len();
        assert_eq!(held, 1, "the expired nonces were swept");
        assert!(store.consume(&nonce(10_000)));
    }

    /// A full map of valid nonces is not swept on every refusal (that would cost a pass over
    /// the whole map per challenge), and a limit under the sweep threshold works.
    #[test]
    fn a_full_map_is_swept_at_most_once_a_second() {
        let store = MemoryNonces::with_limit(100);
        for i in 0..100 {
            store.issue(&nonce(i), Duration::from_millis(200)).unwrap();
        }
        assert!(store.issue(&nonce(100), Duration::from_secs(60)).is_err());
        let first = store.issued.lock().unwrap().last_sweep;
        std::thread::sleep(Duration::from_millis(300));
        // Every entry has expired, but the last sweep is under a second old: still refused.
        assert!(store.issue(&nonce(101), Duration::from_secs(60)).is_err());
        assert_eq!(store.issued.lock().unwrap().last_sweep, first);
        std::thread::sleep(Duration::from_millis(800));
        store.issue(&nonce(102), Duration::from_secs(60)).unwrap();
    }

    #[test]
    fn redis_passwords_stay_out_of_messages() {
        assert_eq!(
            redacted("redis://:hunter2@127.0.0.1:6379/0"),
            "redis://:***@127.0.0.1:6379/0"
        );
        assert_eq!(
            redacted("redis://app:s3cr@t@cache:6380"),
            "redis://app:***@cache:6380"
        );
        assert_eq!(redacted("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
        assert_eq!(
            redacted("redis://:pa/ss@host:6379"),
            "redis://:***@host:6379"
        );
        assert_eq!(redacted("redis://hunter2@host"), "redis://***@host");
        assert_eq!(
            redacted("redis+unix:///run/redis.sock?pass=s3cret"),
            "redis+unix:///run/redis.sock?***"
        );
        assert_eq!(redacted("user:s3cret@redis:6379"), "(not a URL; not shown)");
    }

    #[test]
    fn nonces_are_single_use_and_expire() {
        let store = MemoryNonces::default();
        store.issue(&nonce(1), Duration::from_secs(60)).unwrap();
        store.issue(&nonce(2), Duration::ZERO).unwrap();
        assert!(store.consume(&nonce(1)));
        assert!(!store.consume(&nonce(1)));
        assert!(!store.consume(&nonce(2)));
        assert!(!store.consume(&nonce(3)));
    }
}
