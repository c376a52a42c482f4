//! X.509 v2 CRLs like the one KDS serves at `/vcek/v1/{product}/crl`: issued by the ARK,
//! RSA-PSS SHA-384 salt 48, listing revoked ASK or VCEK serial numbers.

use super::PssParams;
use super::asn1;
use super::ca::{CaRole, ProductCa, oid};
use super::keys::KeyCache;

/// What to put in a CRL. The defaults are an ARK-signed CRL with AMD's PSS parameters, an
/// authority key identifier and CRL number 1, and nothing revoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlSpec {
    this_update: u64,
    next_update: Option<u64>,
    revoked: Vec<(u64, u64)>,
    signer: CaRole,
    pss: PssParams,
    crl_number: Option<u64>,
    /// Extra CRL extensions: (dotted OID, critical, DER value).
    extensions: Vec<(String, bool, Vec<u8>)>,
    /// Extensions of the last revoked entry: (dotted OID, critical, DER value).
    entry_extensions: Vec<(String, bool, Vec<u8>)>,
}

impl CrlSpec {
    /// A CRL valid from `this_update` to `next_update` (Unix seconds).
    pub fn new(this_update: u64, next_update: u64) -> Self {
        Self {
            this_update,
            next_update: Some(next_update),
            revoked: Vec::new(),
            signer: CaRole::Ark,
            pss: PssParams::AMD,
            crl_number: Some(1),
            extensions: Vec::new(),
            entry_extensions: Vec::new(),
        }
    }

    /// Lists `serial` as revoked at `revocation_date` (Unix seconds).
    #[must_use]
    pub fn revoke(mut self, serial: u64, revocation_date: u64) -> Self {
        self.revoked.push((serial, revocation_date));
        self
    }

    /// Leaves nextUpdate out (optional in the ASN.1, required by RFC 5280).
    #[must_use]
    pub fn without_next_update(mut self) -> Self {
        self.next_update = None;
        self
    }

    /// Has another CA sign the CRL (the issuer name follows the signer).
    #[must_use]
    pub fn signer(mut self, role: CaRole) -> Self {
        self.signer = role;
        self
    }

    /// Sets the RSA-PSS parameters of the signature.
    #[must_use]
    pub fn pss(mut self, params: PssParams) -> Self {
        self.pss = params;
        self
    }

    /// Adds a CRL extension (dotted OID, critical flag, DER value).
    #[must_use]
    pub fn extension(mut self, oid: &str, critical: bool, value: &[u8]) -> Self {
        self.extensions
            .push((oid.to_string(), critical, value.to_vec()));
        self
    }

    /// Adds an extension to the last revoked entry (dotted OID, critical flag, DER value).
    #[must_use]
    pub fn entry_extension(mut self, oid: &str, critical: bool, value: &[u8]) -> Self {
        self.entry_extensions
            .push((oid.to_string(), critical, value.to_vec()));
        self
    }

    /// Sets the CRL number, or leaves the extension out with `None`.
    #[must_use]
    pub fn crl_number(mut self, number: Option<u64>) -> Self {
        self.crl_number = number;
        self
    }
}

pub(crate) fn issue(product: &ProductCa, keys: &KeyCache, spec: &CrlSpec) -> Vec<u8> {
    let version = asn1::uint(1); // v2
    let next_update = spec.next_update.map(asn1::time).unwrap_or_default();
    let revoked = if spec.revoked.is_empty() {
        Vec::new()
    } else {
        let last = spec.revoked.len() - 1;
        let entry_extensions: Vec<Vec<u8>> = spec
            .entry_extensions
            .iter()
            .map(|(oid, critical, value)| asn1::extension(oid, *critical, value))
            .collect();
        let entry_extensions = asn1::seq(
            &entry_extensions
                .iter()
                .map(Vec::as_slice)
                .collect::<Vec<_>>(),
        );
        let entries: Vec<Vec<u8>> = spec
            .revoked
            .iter()
            .enumerate()
            .map(|(i, &(serial, date))| {
                let (serial, date) = (asn1::uint(serial), asn1::time(date));
                if i == last && !spec.entry_extensions.is_empty() {
                    asn1::seq(&[&serial, &date, &entry_extensions])
                } else {
                    asn1::seq(&[&serial, &date])
                }
            })
            .collect();
        asn1::seq(&entries.iter().map(Vec::as_slice).collect::<Vec<_>>())
    };
    let aki = asn1::seq(&[&asn1::tlv(0x80, &product.key_id(spec.signer))]);
    let mut extensions = vec![asn1::extension(oid::AUTHORITY_KEY_ID, false, &aki)];
    if let Some(number) = spec.crl_number {
        extensions.push(asn1::extension(oid::CRL_NUMBER, false, &asn1::uint(number)));
    }
    for (oid, critical, value) in &spec.extensions {
        extensions.push(asn1::extension(oid, *critical, value));
    }
    let extensions = asn1::explicit(
        0,
        &[&asn1::seq(
            &extensions.iter().map(Vec::as_slice).collect::<Vec<_>>(),
        )],
    );
    let tbs = asn1::seq(&[
        &version,
        &super::ca::pss_algorithm(spec.pss),
        &product.name(spec.signer),
        &asn1::time(spec.this_update),
        &next_update,
        &revoked,
        &extensions,
    ]);
    product.sign(keys, spec.signer, spec.pss, &tbs)
}
