//! What a verified AK certificate says: the certified key, the VM it names, who issued it and
//! until when. Only [`crate::verify_ak_certificate`] builds one.

use alloc::string::String;
use alloc::vec::Vec;

use attest_prims::UnixTime;

use crate::cert::ParsedCert;
use crate::error::Result;

/// An AK certificate whose path to the pinned root verified.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VerifiedAkCertificate {
    subject: String,
    vm_id: Option<String>,
    issuer: String,
    path: Vec<String>,
    not_before: UnixTime,
    not_after: UnixTime,
    under_test_root: bool,
    #[serde(skip)]
    key: rsa::PublicKey,
}

impl VerifiedAkCertificate {
    pub(crate) fn of(
        leaf: &ParsedCert<'_>,
        path: &[&ParsedCert<'_>],
        under_test_root: bool,
    ) -> Result<Self> {
        let (not_before, not_after) = leaf.validity();
        Ok(Self {
            subject: leaf.subject.clone(),
            vm_id: vm_id(&leaf.subject),
            issuer: leaf.issuer(),
            path: path.iter().map(|ca| ca.subject.clone()).collect(),
            not_before,
            not_after,
            under_test_root,
            key: leaf.rsa_key()?,
        })
    }

    /// The certified attestation key.
    pub fn key(&self) -> &rsa::PublicKey {
        &self.key
    }

    /// Whether this certificate certifies `key` (keys are compared whole, never by SKI:
    /// different AKs share SKIs).
    pub fn certifies(&self, key: &rsa::PublicKey) -> bool {
        &self.key == key
    }

    /// The subject's common name.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The VM the certificate names: the first DNS label of the subject before
    /// `.ConfidentialVM.` or `.TrustedVM.`.
    pub fn vm_id(&self) -> Option<&str> {
        self.vm_id.as_deref()
    }

    /// The issuing CA's name.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The CAs from the issuer up to the root.
    pub fn path(&self) -> &[String] {
        &self.path
    }

    /// The leaf's validity.
    pub fn validity(&self) -> (UnixTime, UnixTime) {
        (self.not_before, self.not_after)
    }

    /// Whether the path ended at a test root instead of Azure's
    /// ([`crate::VtpmAnchors::test_root`]).
    pub fn under_test_root(&self) -> bool {
        self.under_test_root
    }
}

/// The VM id an AK certificate's subject common name carries: `9921694bd342` of
/// `9921694bd342.ConfidentialVM.Azure.windows.net` (the first DNS label before
/// `.ConfidentialVM.` or `.TrustedVM.`; the suffix after the marker varies and is not checked).
pub fn vm_id(subject: &str) -> Option<String> {
    [".ConfidentialVM.", ".TrustedVM."]
        .iter()
        .find_map(|marker| subject.split_once(marker))
        .map(|(label, _)| String::from(label))
        .filter(|label| !label.is_empty() && !label.contains('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vm_id_is_the_label_before_the_marker() {
        assert_eq!(
            vm_id("9921694bd342.ConfidentialVM.Azure.windows.net").as_deref(),
            Some("9921694bd342")
        );
        assert_eq!(
            vm_id("abc.TrustedVM.Azure.Microsoft").as_deref(),
            Some("abc")
        );
        assert_eq!(vm_id("abc.Azure.windows.net"), None);
        assert_eq!(vm_id(".ConfidentialVM.x"), None);
        assert_eq!(vm_id("a.b.ConfidentialVM.x"), None);
    }
}
