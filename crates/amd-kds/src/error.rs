//! The one error type of this crate: every variant names what was asked for, where, and what
//! happened (status, attempts, time waited).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A service this crate talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// AMD's key distribution service (`kdsintf.amd.com`).
    Kds,
    /// Azure's instance metadata service, THIM endpoint (inside an Azure CVM only).
    Imds,
    /// The server behind a certificate's AIA caIssuers URL (its issuing CA's publication point).
    CaIssuers,
    /// Intel's PCS (v4 API), or a cache that serves the same API (Azure's THIM, a PCCS); the
    /// root CA CRL's publication point.
    Pcs,
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Kds => "AMD KDS",
            Self::Imds => "Azure IMDS",
            Self::CaIssuers => "the AIA caIssuers server",
            Self::Pcs => "the Intel PCS service",
        })
    }
}

/// Which artifact was asked for: what an error or a wait is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArtifactKind {
    /// A VCEK certificate (DER, P-384 key).
    Vcek,
    /// The VCEK chain: ASK then ARK.
    VcekChain,
    /// The VLEK chain: ASVK then ARK.
    VlekChain,
    /// A certificate revocation list of a product.
    Crl,
    /// The THIM answer of Azure IMDS (VCEK, chain and TCB of the host).
    ImdsCertification,
    /// A CA certificate named by another certificate's AIA (its issuer).
    CaCertificate,
    /// TDX TCB info of one FMSPC (signed JSON) and its signing chain.
    TcbInfo,
    /// The TD quoting enclave's identity (signed JSON) and its signing chain.
    QeIdentity,
    /// The CRL of a PCK CA (Platform or Processor) and its issuer chain.
    PckCrl,
    /// The Intel SGX Root CA's CRL.
    RootCaCrl,
    /// The whole collateral of a TD quote (TCB info, QE identity, PCK and root CA CRLs).
    TdxCollateral,
    /// A TD quote for a TDREPORT, from Azure IMDS's quoting service (the one POST request).
    TdQuote,
}

impl ArtifactKind {
    /// The HTTP method of the request for it: POST for a TD quote (the TDREPORT is the body),
    /// GET for everything else.
    pub fn method(self) -> &'static str {
        match self {
            Self::TdQuote => "POST",
            _ => "GET",
        }
    }
}

impl fmt::Display for ArtifactKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Vcek => "VCEK",
            Self::VcekChain => "VCEK certificate chain (ASK, ARK)",
            Self::VlekChain => "VLEK certificate chain (ASVK, ARK)",
            Self::Crl => "CRL",
            Self::ImdsCertification => "THIM certification (VCEK, chain, TCB)",
            Self::CaCertificate => "CA certificate (an issuer named by AIA)",
            Self::TcbInfo => "TDX TCB info",
            Self::QeIdentity => "TD QE identity",
            Self::PckCrl => "PCK CRL",
            Self::RootCaCrl => "Intel SGX Root CA CRL",
            Self::TdxCollateral => "TDX collateral (TCB info, QE identity, CRLs)",
            Self::TdQuote => "TD quote",
        })
    }
}

/// Why one attempt failed in a way that a later attempt may not.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// HTTP 429 Too Many Requests, with the wait the server asked for, if it named one.
    RateLimited {
        /// The `Retry-After` the server sent, as a wait from the time of the answer.
        retry_after: Option<Duration>,
    },
    /// A server error (HTTP 5xx).
    Status(u16),
    /// A configured timeout expired (which one, as the HTTP client names it).
    Timeout(String),
    /// The connection could not be made or broke before the answer was complete.
    Connection(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RateLimited {
                retry_after: Some(wait),
            } => write!(f, "HTTP 429 Too Many Requests (Retry-After {wait:?})"),
            Self::RateLimited { retry_after: None } => f.write_str("HTTP 429 Too Many Requests"),
            Self::Status(status) => write!(f, "HTTP {status}"),
            Self::Timeout(which) => write!(f, "timed out ({which})"),
            Self::Connection(reason) => write!(f, "connection failed: {reason}"),
        }
    }
}

/// The broad class of an [`Error`], for callers that choose what to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The thing is not to be had now: offline and not cached, 404, retries exhausted, rate
    /// limit beyond the deadline, a refused request.
    Unavailable,
    /// A body (from the network or the cache) is not what was asked for.
    Malformed,
    /// A well-formed artifact that the caller's [`crate::ArtifactCheck`] refused (another
    /// chip's VCEK, a chain or CRL not under the pinned roots).
    Refused,
    /// The request or the configuration cannot be served as given.
    InvalidInput,
    /// The disk cache could not be read or written when the caller asked for it directly.
    Cache,
}

/// Why a certificate, chain or CRL could not be had.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// HTTP 404: the service has nothing at this URL (for a VCEK: unknown chip or TCB).
    #[error("{}", not_found_message(*service, *kind, url))]
    NotFound {
        /// The service asked.
        service: Service,
        /// What was asked for.
        kind: ArtifactKind,
        /// The URL requested.
        url: String,
    },
    /// An HTTP status that retrying cannot change (other 4xx, unexpected 1xx/2xx/3xx).
    #[error("{service} refused the {kind} request: {} {url} answered HTTP {status}", kind.method())]
    HttpStatus {
        /// The service asked.
        service: Service,
        /// What was asked for.
        kind: ArtifactKind,
        /// The URL requested.
        url: String,
        /// The status received.
        status: u16,
    },
    /// Every attempt failed, or the next wait would pass the deadline.
    #[error(
        "{service} did not deliver the {kind} after {attempts} attempt(s) and {waited:?} of \
         waiting; last failure: {last} ({} {url})",
        kind.method()
    )]
    RetriesExhausted {
        /// The service asked.
        service: Service,
        /// What was asked for.
        kind: ArtifactKind,
        /// The URL requested.
        url: String,
        /// Requests made.
        attempts: u32,
        /// Total time spent waiting between attempts.
        waited: Duration,
        /// Why the last attempt failed.
        last: Failure,
    },
    /// HTTP 429 with a `Retry-After` that would pass the retry deadline: no point waiting.
    #[error(
        "{service} is rate-limiting the {kind} request (HTTP 429): it asks to wait \
         {retry_after:?}, beyond the {deadline:?} retry deadline ({attempts} attempt(s), \
         {waited:?} waited; {} {url})",
        kind.method()
    )]
    RateLimited {
        /// The service asked.
        service: Service,
        /// What was asked for.
        kind: ArtifactKind,
        /// The URL requested.
        url: String,
        /// Requests made.
        attempts: u32,
        /// Total time spent waiting between attempts.
        waited: Duration,
        /// The wait the server asked for.
        retry_after: Duration,
        /// The configured deadline for all attempts and waits.
        deadline: Duration,
    },
    /// A failure no retry can fix (TLS, bad URL, proxy): the request was not retried.
    #[error("{service} request for the {kind} failed: {reason} ({} {url})", kind.method())]
    Transport {
        /// The service asked.
        service: Service,
        /// What was asked for.
        kind: ArtifactKind,
        /// The URL requested.
        url: String,
        /// The HTTP client's explanation.
        reason: String,
    },
    /// Offline mode and the cache cannot answer.
    #[error("the {kind} of {key} is not cached, offline ({detail})")]
    NotCachedOffline {
        /// What was asked for.
        kind: ArtifactKind,
        /// The cache key (product, hwID, TCB).
        key: String,
        /// Why the cache cannot answer (no entry, cache disabled, CRL expired).
        detail: String,
    },
    /// A body is not the well-formed object asked for. Never cached.
    #[error("malformed {kind} from {origin}: {reason}")]
    Malformed {
        /// What was asked for.
        kind: ArtifactKind,
        /// Where the bytes came from: a URL, a cache file, or the caller.
        origin: String,
        /// What is wrong with them.
        reason: String,
    },
    /// A service sent a well-formed artifact that the [`crate::ArtifactCheck`] refused:
    /// another chip's VCEK, a VCEK not signed by the pinned chain, a chain not under the
    /// pinned root, a CRL not signed by it. Never cached; not retried.
    #[error(
        "{service} sent a {kind} that was refused, and nothing was cached: {reason} (GET {url})"
    )]
    Refused {
        /// The service that sent it.
        service: Service,
        /// What was asked for.
        kind: ArtifactKind,
        /// The URL requested.
        url: String,
        /// What the artifact holds and what was expected.
        reason: String,
    },
    /// The request cannot be made (masked chip id, product mismatch, bad hwID length, ...).
    #[error("invalid request: {reason}")]
    InvalidRequest {
        /// What is wrong.
        reason: String,
    },
    /// The configuration is unusable (base URL, proxy URL, retry policy).
    #[error("invalid configuration: {reason}")]
    InvalidConfig {
        /// What is wrong.
        reason: String,
    },
    /// A cache operation the caller asked for failed.
    #[error("cache: cannot {op} {}: {source}", path.display())]
    Cache {
        /// The operation ("remove", "write", ...).
        op: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: Arc<std::io::Error>,
    },
}

fn not_found_message(service: Service, kind: ArtifactKind, url: &str) -> String {
    match kind {
        ArtifactKind::Vcek => format!(
            "{service} has no certificate for this chip and TCB (GET {url} answered 404 Not Found)"
        ),
        _ => format!(
            "{service} has no {kind} here ({} {url} answered 404 Not Found)",
            kind.method()
        ),
    }
}

impl Error {
    /// The broad class of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::NotFound { .. }
            | Self::HttpStatus { .. }
            | Self::RetriesExhausted { .. }
            | Self::RateLimited { .. }
            | Self::Transport { .. }
            | Self::NotCachedOffline { .. } => ErrorKind::Unavailable,
            Self::Malformed { .. } => ErrorKind::Malformed,
            Self::Refused { .. } => ErrorKind::Refused,
            Self::InvalidRequest { .. } | Self::InvalidConfig { .. } => ErrorKind::InvalidInput,
            Self::Cache { .. } => ErrorKind::Cache,
        }
    }

    /// True when the thing cannot be had now (as opposed to being malformed or misrequested).
    pub fn is_unavailable(&self) -> bool {
        self.kind() == ErrorKind::Unavailable
    }

    /// True when a body was received (or read from the cache) but is not what was asked for.
    pub fn is_malformed(&self) -> bool {
        self.kind() == ErrorKind::Malformed
    }

    /// True when bytes the caller handed in (not a service's answer, not the cache) are not
    /// what was asked for: the caller's input is at fault, not a source.
    pub fn is_malformed_input(&self) -> bool {
        matches!(self, Self::Malformed { origin, .. } if origin == crate::artifact::CALLER_BYTES)
    }

    /// True when a source sent a well-formed artifact that the check refused.
    pub fn is_refused(&self) -> bool {
        self.kind() == ErrorKind::Refused
    }

    pub(crate) fn invalid_request(reason: impl Into<String>) -> Self {
        Self::InvalidRequest {
            reason: reason.into(),
        }
    }

    pub(crate) fn invalid_config(reason: impl Into<String>) -> Self {
        Self::InvalidConfig {
            reason: reason.into(),
        }
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
