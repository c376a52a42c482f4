//! Issuers named by a certificate's Authority Information Access (RFC 5280 4.2.2.1): which CA
//! a certificate asks for (name and key identifier), where to get it (its caIssuers URLs), and
//! the download, which tries the URLs in order. Azure's vTPM AK certificates under "Azure Cloud
//! Virtual TPM CA" name their intermediate this way; the cache and the caller's check are the
//! [`CertificateSource`](crate::CertificateSource)'s.

use der::asn1::ObjectIdentifier;
use der::{Decode, Encode};
use sha2::{Digest, Sha256};
use x509_cert::Certificate as X509;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{AuthorityInfoAccessSyntax, AuthorityKeyIdentifier};
use x509_cert::name::Name;

use crate::artifact::{CaCertificate, malformed};
use crate::error::{ArtifactKind, Error, Result, Service};
use std::time::Duration;

use crate::http::HttpConfig;
use crate::retry::{Exchange, Fetcher, RetryPolicy};
use attest_prims::HexSlice;

/// id-ad-caIssuers (RFC 5280 4.2.2.1).
const OID_CA_ISSUERS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.2");

/// The most caIssuers URLs tried for one certificate (Azure's leaves name four mirrors).
pub const MAX_ISSUER_URLS: usize = 4;

/// The HTTP settings of caIssuers downloads, from the KDS client's: a CA certificate is a few
/// kilobytes on a CDN, so shorter timeouts and a 64 KiB body limit; no redirects, so that a URL
/// cannot lead anywhere the host check did not see.
pub(crate) fn issuer_http(kds: &HttpConfig) -> HttpConfig {
    HttpConfig {
        connect_timeout: kds.connect_timeout.min(Duration::from_secs(5)),
        timeout: kds.timeout.min(Duration::from_secs(10)),
        max_body_bytes: kds.max_body_bytes.min(64 * 1024),
        max_redirects: 0,
        ..kds.clone()
    }
}

/// Two attempts per URL within 15 s: mirrors are the fallback, not retries.
pub(crate) fn issuer_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 2,
        initial_backoff: Duration::from_secs(1),
        max_backoff: Duration::from_secs(1),
        jitter: 0.5,
        deadline: Duration::from_secs(15),
    }
}

/// The issuer a certificate names, and where its AIA says to get it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerRequest {
    name: Name,
    key_id: Option<Vec<u8>>,
    urls: Vec<String>,
}

impl IssuerRequest {
    /// The issuer of `child` (DER): its issuer name, its authority key identifier, and the
    /// `http://` and `https://` caIssuers URLs of its AIA extension, in order, at most
    /// [`MAX_ISSUER_URLS`] (other schemes, such as `ldap://`, are skipped). A certificate that
    /// names no such URL is [`Error::InvalidRequest`].
    pub fn of(child: &[u8]) -> Result<Self> {
        let cert = X509::from_der(child).map_err(|e| {
            Error::invalid_request(format!("the certificate is not DER X.509: {e}"))
        })?;
        let tbs = cert.tbs_certificate();
        let key_id = match tbs.get_extension::<AuthorityKeyIdentifier>() {
            Ok(found) => found.and_then(|(_, aki)| aki.key_identifier),
            Err(e) => {
                return Err(Error::invalid_request(format!(
                    "authorityKeyIdentifier: {e}"
                )));
            }
        };
        let access = match tbs.get_extension::<AuthorityInfoAccessSyntax>() {
            Ok(found) => found.map(|(_, aia)| aia.0).unwrap_or_default(),
            Err(e) => {
                return Err(Error::invalid_request(format!("authorityInfoAccess: {e}")));
            }
        };
        let urls: Vec<String> = access
            .into_iter()
            .filter(|description| description.access_method == OID_CA_ISSUERS)
            .filter_map(|description| match description.access_location {
                GeneralName::UniformResourceIdentifier(uri) => Some(uri.to_string()),
                _ => None,
            })
            .filter(|uri| scheme_and_host(uri).is_some())
            .take(MAX_ISSUER_URLS)
            .collect();
        if urls.is_empty() {
            return Err(Error::invalid_request(format!(
                "the certificate \"{}\" names no http(s) caIssuers URL (authorityInfoAccess) for \
                 its issuer \"{}\"",
                tbs.subject(),
                tbs.issuer()
            )));
        }
        Ok(Self {
            name: tbs.issuer().clone(),
            key_id: key_id.map(|id| id.as_bytes().to_vec()),
            urls,
        })
    }

    /// The caIssuers URLs, in the certificate's order.
    pub fn urls(&self) -> &[String] {
        &self.urls
    }

    /// The URLs whose host `hosts` allows, in order; none is [`Error::InvalidRequest`] naming
    /// the hosts refused.
    pub(crate) fn urls_on(&self, hosts: &IssuerHosts) -> Result<Vec<&str>> {
        let allowed: Vec<&str> = self
            .urls
            .iter()
            .map(String::as_str)
            .filter(|url| hosts.allows(url))
            .collect();
        if allowed.is_empty() {
            return Err(Error::invalid_request(format!(
                "the caIssuers URLs for \"{}\" ({}) name no host this source fetches from ({})",
                self.name,
                self.urls.join(", "),
                hosts
            )));
        }
        Ok(allowed)
    }

    /// The issuer's name as the certificate gives it.
    pub fn name(&self) -> &Name {
        &self.name
    }

    /// The cache key: SHA-256 of the issuer name's DER and the key identifier, in hex. Two CAs
    /// of one name with different keys are two entries; the URLs are not part of it (they are
    /// mirrors).
    pub(crate) fn cache_key(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.name.to_der().unwrap_or_default());
        hasher.update(self.key_id.as_deref().unwrap_or_default());
        hex_lower(&hasher.finalize())
    }

    /// `Ok` when `issuer` is the CA asked for: its subject is the name, and its subject key
    /// identifier, when both sides have one, is the key identifier. (Whether it signed the
    /// certificate is the caller's check.)
    pub(crate) fn check_named(&self, issuer: &CaCertificate) -> std::result::Result<(), String> {
        if issuer.subject() != &self.name {
            return Err(format!(
                "expected the CA \"{}\", found \"{}\"",
                self.name,
                issuer.subject()
            ));
        }
        if let (Some(expected), Some(found)) = (&self.key_id, issuer.subject_key_id())
            && expected != found
        {
            return Err(format!(
                "expected the key identifier {} of \"{}\", found {}",
                hex_lower(expected),
                self.name,
                hex_lower(found)
            ));
        }
        Ok(())
    }

    /// Downloads `url` and returns its answer when it is a well-formed CA certificate that
    /// `accept` takes (the asked-for CA, valid now, and whatever the caller's check requires);
    /// an answer `accept` refuses is [`Error::Refused`].
    pub(crate) fn download(
        &self,
        fetcher: &Fetcher,
        url: &str,
        accept: &dyn Fn(&CaCertificate) -> std::result::Result<(), String>,
    ) -> Result<CaCertificate> {
        let body = fetcher.get(&Exchange {
            service: Service::CaIssuers,
            kind: ArtifactKind::CaCertificate,
            url,
            headers: &[],
            body: None,
        })?;
        let issuer = CaCertificate::parse(&body)
            .map_err(|reason| malformed(ArtifactKind::CaCertificate, url, reason))?;
        accept(&issuer).map_err(|reason| Error::Refused {
            service: Service::CaIssuers,
            kind: ArtifactKind::CaCertificate,
            url: url.to_string(),
            reason,
        })?;
        Ok(issuer)
    }
}

/// Which hosts caIssuers URLs may name. The AK certificate sits in the guest's vTPM, so its
/// AIA is not the attester's to trust: by default only Azure's PKI publication hosts are asked
/// (no IP addresses, no metadata service, no internal hosts).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum IssuerHosts {
    /// The hosts Azure's vTPM CAs publish on ([`AZURE_PKI_HOSTS`]).
    #[default]
    Azure,
    /// Any host: test and private PKIs (for example a loopback certificate service).
    Any,
}

/// Azure's PKI publication hosts: a host is allowed when it equals one of these or ends with
/// one that starts with a dot.
pub const AZURE_PKI_HOSTS: [&str; 3] = [
    ".pki.core.windows.net",
    "crl.microsoft.com",
    "www.microsoft.com",
];

impl IssuerHosts {
    /// Whether `url` may be fetched.
    pub fn allows(&self, url: &str) -> bool {
        let Some((_, host)) = scheme_and_host(url) else {
            return false;
        };
        match self {
            Self::Any => true,
            // A DNS name only (no IP literal, no brackets), equal to an exact entry or ending
            // with a dot entry after at least one label.
            Self::Azure => {
                host.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
                    && AZURE_PKI_HOSTS
                        .iter()
                        .any(|allowed| match allowed.strip_prefix('.') {
                            Some(_) => host.len() > allowed.len() && host.ends_with(allowed),
                            None => host == *allowed,
                        })
            }
        }
    }
}

impl std::fmt::Display for IssuerHosts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Azure => write!(f, "Azure's PKI hosts: {}", AZURE_PKI_HOSTS.join(", ")),
            Self::Any => f.write_str("any host"),
        }
    }
}

/// The lower-case scheme and host (an IPv6 literal with its brackets) of an `http://` or
/// `https://` URL without user information; `None` for anything else.
fn scheme_and_host(url: &str) -> Option<(&'static str, String)> {
    let lower = url.to_ascii_lowercase();
    let (scheme, rest) = if let Some(rest) = lower.strip_prefix("http://") {
        ("http", rest)
    } else {
        ("https", lower.strip_prefix("https://")?)
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let host = match authority.strip_prefix('[') {
        // An IPv6 literal, kept in its brackets: [addr]:port.
        Some(bracketed) => match bracketed.split_once(']') {
            Some((address, _)) => authority.get(..address.len() + 2).unwrap_or_default(),
            None => return None,
        },
        None => authority.split(':').next().unwrap_or_default(),
    };
    (!host.is_empty()).then(|| (scheme, host.to_string()))
}

fn hex_lower(bytes: &[u8]) -> String {
    HexSlice(bytes).to_string()
}
