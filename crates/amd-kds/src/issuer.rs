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
use crate::fetched::Sent;
use crate::retry::{Exchange, Fetcher};
use attest_prims::HexSlice;

/// id-ad-caIssuers (RFC 5280 4.2.2.1).
const OID_CA_ISSUERS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.2");

/// The most caIssuers URLs tried for one certificate (Azure's leaves name four mirrors).
pub const MAX_ISSUER_URLS: usize = 4;

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
            .filter(|uri| uri.starts_with("http://") || uri.starts_with("https://"))
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

    /// Tries each URL in turn until one answers a well-formed CA certificate of the asked-for
    /// name; otherwise the first URL's error (the primary's), or a malformed error when every
    /// URL answered but none with this CA.
    pub(crate) fn download(&self, fetcher: &Fetcher) -> Result<Sent<CaCertificate>> {
        let mut first_error = None;
        for url in &self.urls {
            let attempt = fetcher
                .get(&Exchange {
                    service: Service::CaIssuers,
                    kind: ArtifactKind::CaCertificate,
                    url,
                    headers: &[],
                })
                .and_then(|body| {
                    let issuer = CaCertificate::parse(&body)
                        .map_err(|reason| malformed(ArtifactKind::CaCertificate, url, reason))?;
                    self.check_named(&issuer)
                        .map_err(|reason| malformed(ArtifactKind::CaCertificate, url, reason))?;
                    Ok(issuer)
                });
            match attempt {
                Ok(issuer) => {
                    return Ok(Sent {
                        value: issuer,
                        service: Service::CaIssuers,
                        url: url.clone(),
                    });
                }
                Err(error) => {
                    log::info!("{error}; trying the next caIssuers URL");
                    first_error.get_or_insert(error);
                }
            }
        }
        Err(first_error.unwrap_or_else(|| Error::invalid_request("no caIssuers URL")))
    }
}

fn hex_lower(bytes: &[u8]) -> String {
    HexSlice(bytes).to_string()
}
