//! Where an artifact came from: a service's answer on its way in ([`Sent`], with the URL that
//! errors name) and an answer on its way out ([`Fetched`], with the [`Source`] that gave it).
//! Beside the artifacts, not in the source, so that the cache can speak of both.

use std::fmt;

use crate::error::Service;

/// Where an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// The disk cache.
    Cache,
    /// Azure IMDS (THIM).
    Imds,
    /// AMD KDS.
    Kds,
    /// A certificate's AIA caIssuers URL.
    CaIssuers,
    /// Intel's PCS, or a cache with its API.
    Pcs,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Cache => "cache",
            Self::Imds => "Azure IMDS",
            Self::Kds => "AMD KDS",
            Self::CaIssuers => "caIssuers URL (AIA)",
            Self::Pcs => "Intel PCS",
        })
    }
}

impl From<Service> for Source {
    fn from(service: Service) -> Self {
        match service {
            Service::Kds => Self::Kds,
            Service::Imds => Self::Imds,
            Service::CaIssuers => Self::CaIssuers,
            Service::Pcs => Self::Pcs,
        }
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

/// What a service sent, and from where (for errors that name the source).
#[derive(Debug)]
pub(crate) struct Sent<T> {
    pub value: T,
    pub service: Service,
    pub url: String,
    /// The caller's check already accepted it (a source that tries several services checks
    /// each answer as it comes).
    pub checked: bool,
}

impl<T> Sent<T> {
    pub(crate) fn kds(value: T, url: String) -> Self {
        Self {
            value,
            service: Service::Kds,
            url,
            checked: false,
        }
    }

    pub(crate) fn imds(value: T, url: String) -> Self {
        Self {
            value,
            service: Service::Imds,
            url,
            checked: false,
        }
    }
}
