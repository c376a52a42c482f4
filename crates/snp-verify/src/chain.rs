//! The AMD certificate chain: a pinned ARK, the ASK or ASVK it signed, and the VCEK or VLEK
//! that intermediate signed.
//!
//! VCEK chains: VCEK Certificate and KDS Interface Specification (AMD pub. 57230); VLEK chains:
//! Versioned Loaded Endorsement Key (VLEK) Certificate Definition (AMD pub. 58369).

use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;

use hcl_parse::{Generation, Hex};
use x509_cert::name::Name;

use crate::anchors::TrustAnchors;
use crate::cert::{ParsedCert, Validity, common_name};
use crate::error::{CertRole, Error, Result};
use crate::extensions::AmdExtensions;
use attest_prims::UnixTime;
use attest_prims::ecdsa::P384KeyTable;

const OID_EC_PUBLIC_KEY: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_SECP384R1: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_BASIC_CONSTRAINTS: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("2.5.29.19");

/// The most candidate intermediates [`VerifiedCaChain::from_candidates`] checks (each costs an
/// RSA-4096 signature check when it is not pinned); AMD has one per product and role.
const MAX_CANDIDATE_CHECKS: usize = 8;

/// An ARK and intermediate (ASK or ASVK) that passed every check at some time.
///
/// Building one costs at most one RSA-4096 signature check (none when the intermediate is
/// pinned); keep this value and reuse it for every report of the same product. Validity is
/// checked again at each use.
///
/// Pinned certificates are trust anchors (RFC 5280, 6.1.1 (d)): trusted for their exact bytes,
/// so the signatures those bytes carry are not checked again: the ARK's self-signature, and a
/// pinned intermediate's signature by its pinned ARK. Over fixed bytes such a check always
/// gives the same answer; this crate's tests check it for every AMD pin, and
/// [`VerifiedCaChain::verify_every_signature`] checks it on demand.
#[derive(Debug, Clone)]
pub struct VerifiedCaChain {
    generation: Generation,
    intermediate_role: CertRole,
    ark_subject: Name,
    ark_public_key: Vec<u8>,
    ark_validity: Validity,
    ark_sha256: [u8; 32],
    intermediate_subject: Name,
    intermediate_key: rsa::PublicKey,
    intermediate_validity: Validity,
    intermediate_serial: Vec<u8>,
    intermediate_pinned: bool,
    amd_anchors: bool,
}

/// Which signatures [`VerifiedCaChain`] checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SignatureChecks {
    /// Every signature that a pin does not already vouch for.
    Unpinned,
    /// Every signature, pinned or not.
    All,
}

impl VerifiedCaChain {
    /// Verifies an ARK (which must be pinned in `anchors`) and the ASK or ASVK it signed.
    pub fn verify(
        anchors: &TrustAnchors,
        ark_der: &[u8],
        intermediate_der: &[u8],
        time: UnixTime,
    ) -> Result<Self> {
        Self::verify_with(
            anchors,
            ark_der,
            intermediate_der,
            time,
            SignatureChecks::Unpinned,
        )
    }

    /// [`VerifiedCaChain::verify`], also checking the signatures that pins make redundant (the
    /// ARK's self-signature, a pinned intermediate's signature): for audits of a set of pins.
    pub fn verify_every_signature(
        anchors: &TrustAnchors,
        ark_der: &[u8],
        intermediate_der: &[u8],
        time: UnixTime,
    ) -> Result<Self> {
        Self::verify_with(
            anchors,
            ark_der,
            intermediate_der,
            time,
            SignatureChecks::All,
        )
    }

    fn verify_with(
        anchors: &TrustAnchors,
        ark_der: &[u8],
        intermediate_der: &[u8],
        time: UnixTime,
        checks: SignatureChecks,
    ) -> Result<Self> {
        let ark = ParsedCert::parse(CertRole::Ark, ark_der)?;
        let ark_sha256 = ark.sha256();
        let generation = anchors
            .pinned_root(&ark_sha256)
            .ok_or(Error::UntrustedRoot {
                found: Hex(ark_sha256),
            })?;
        let mut intermediate = ParsedCert::parse(CertRole::Ask, intermediate_der)?;
        Self::verify_parsed(
            anchors,
            &ark,
            (ark_sha256, generation),
            &mut intermediate,
            time,
            checks,
        )
    }

    /// The checks after parsing, on an ARK already found among the pins.
    fn verify_parsed(
        anchors: &TrustAnchors,
        ark: &ParsedCert<'_>,
        (ark_sha256, generation): ([u8; 32], Generation),
        intermediate: &mut ParsedCert<'_>,
        time: UnixTime,
        checks: SignatureChecks,
    ) -> Result<Self> {
        ark.expect_subject_cn(&format!("ARK-{generation}"))?;
        ark.expect_issued_by(ark.subject())?;
        let ark_validity = ark.validity();
        ark_validity.check(CertRole::Ark, time)?;

        if common_name(intermediate.subject())
            .is_some_and(|cn| cn == intermediate_cn(CertRole::Asvk, generation))
        {
            intermediate.role = CertRole::Asvk;
        }
        let intermediate_role = intermediate.role;
        intermediate.expect_subject_cn(&intermediate_cn(intermediate_role, generation))?;
        intermediate.expect_issued_by(ark.subject())?;
        let intermediate_pinned =
            anchors.is_pinned(generation, intermediate_role, &intermediate.sha256());

        let ark_public_key = ark.rsa_public_key_der()?.to_vec();
        if checks == SignatureChecks::All || !intermediate_pinned {
            let ark_key = ParsedCert::rsa_key_from_der(CertRole::Ark, &ark_public_key)?;
            if checks == SignatureChecks::All {
                ark.verify_signed_by(CertRole::Ark, &ark_key)?;
            }
            intermediate.verify_signed_by(CertRole::Ark, &ark_key)?;
        }
        let intermediate_key = intermediate.rsa_key()?;
        let intermediate_validity = intermediate.validity();
        intermediate_validity.check(intermediate_role, time)?;

        Ok(Self {
            generation,
            intermediate_role,
            ark_subject: ark.subject().clone(),
            ark_public_key,
            ark_validity,
            ark_sha256,
            intermediate_subject: intermediate.subject().clone(),
            intermediate_key,
            intermediate_validity,
            intermediate_serial: intermediate.serial(),
            intermediate_pinned,
            amd_anchors: anchors.is_amd(),
        })
    }

    /// Finds the pinned ARK and an intermediate it issued among `certificates` (any order:
    /// a KDS chain, an IMDS chain, a PEM file's contents) and verifies them. `intermediate`
    /// chooses ASK (VCEK chains) or ASVK (VLEK chains).
    pub fn from_candidates(
        anchors: &TrustAnchors,
        certificates: &[&[u8]],
        intermediate: CertRole,
        time: UnixTime,
    ) -> Result<Self> {
        Self::find(anchors, certificates, intermediate, None, time)
    }

    /// Finds and verifies the chain whose intermediate issued `leaf` (its subject is the
    /// leaf's issuer) among `certificates`: a bundle holding every product's chain gives each
    /// leaf its own product's chain, never merely the first pinned one.
    pub fn for_parsed_leaf(
        anchors: &TrustAnchors,
        certificates: &[&[u8]],
        leaf: &LeafCertificate<'_>,
        time: UnixTime,
    ) -> Result<Self> {
        Self::find(
            anchors,
            certificates,
            leaf.issuer_role,
            Some(leaf.parsed.issuer()),
            time,
        )
    }

    /// The first pinned ARK and intermediate of the role (named `issuer`, when given) among
    /// `certificates` that verify.
    fn find(
        anchors: &TrustAnchors,
        certificates: &[&[u8]],
        intermediate: CertRole,
        issuer: Option<&Name>,
        time: UnixTime,
    ) -> Result<Self> {
        // Each distinct certificate once: repeated copies cost signature checks, not trust.
        let mut distinct: Vec<([u8; 32], &[u8])> = Vec::new();
        for der in certificates {
            let hash = sha256(der);
            if !distinct.iter().any(|(seen, _)| *seen == hash) {
                distinct.push((hash, der));
            }
        }
        let mut first_error = None;
        let mut signature_checks = 0usize;
        for &(ark_hash, ark_der) in &distinct {
            let Some(generation) = anchors.pinned_root(&ark_hash) else {
                continue;
            };
            let ark = ParsedCert::parse(CertRole::Ark, ark_der)?;
            let role_cn = intermediate_cn(intermediate, generation);
            let others = distinct
                .iter()
                .filter(|(hash, _)| *hash != ark_hash)
                .map(|&(_, der)| der);
            for candidate in others {
                let Ok(mut parsed) = ParsedCert::parse(CertRole::Ask, candidate) else {
                    continue;
                };
                if common_name(parsed.subject()).is_none_or(|cn| cn != role_cn)
                    || issuer.is_some_and(|issuer| issuer != parsed.subject())
                {
                    continue;
                }
                signature_checks += 1;
                if signature_checks > MAX_CANDIDATE_CHECKS {
                    return Err(Error::UnexpectedCertificateContent {
                        role: intermediate,
                        reason: format!(
                            "more than {MAX_CANDIDATE_CHECKS} candidate {intermediate}s named \"{role_cn}\" under pinned ARKs: refusing to check them all"
                        ),
                    });
                }
                let verified = Self::verify_parsed(
                    anchors,
                    &ark,
                    (ark_hash, generation),
                    &mut parsed,
                    time,
                    SignatureChecks::Unpinned,
                );
                match verified {
                    Ok(chain) => return Ok(chain),
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
        }
        if let Some(error) = first_error {
            return Err(error);
        }
        let offered = certificates
            .iter()
            .find(|der| {
                ParsedCert::parse(CertRole::Ark, der).is_ok_and(|c| c.subject() == c.issuer())
            })
            .or(certificates.first());
        match offered {
            Some(der) if anchors.pinned_root(&sha256(der)).is_none() => Err(Error::UntrustedRoot {
                found: Hex(sha256(der)),
            }),
            _ => Err(Error::UnexpectedCertificateContent {
                role: intermediate,
                reason: match issuer {
                    Some(issuer) => format!(
                        "no {intermediate} named \"{issuer}\" (the leaf's issuer) issued by a pinned ARK among {} certificates",
                        certificates.len()
                    ),
                    None => format!(
                        "no {intermediate} issued by a pinned ARK among {} certificates",
                        certificates.len()
                    ),
                },
            }),
        }
    }

    /// Which intermediate issued a leaf, by the leaf's issuer name: ASVK for `SEV-VLEK-<P>`,
    /// ASK otherwise. (Trust is decided by the chain, not by this name.)
    pub fn issuer_role_of_leaf(leaf_der: &[u8]) -> Result<CertRole> {
        Ok(LeafCertificate::parse(leaf_der)?.issuer_role())
    }

    /// Finds and verifies the chain that issued a leaf among `certificates` (as
    /// [`VerifiedCaChain::from_candidates`]), then the leaf under it; the leaf is parsed once.
    pub fn for_leaf(
        anchors: &TrustAnchors,
        certificates: &[&[u8]],
        leaf_der: &[u8],
        time: UnixTime,
    ) -> Result<(Self, VerifiedLeaf)> {
        let leaf = LeafCertificate::parse(leaf_der)?;
        let chain = Self::for_parsed_leaf(anchors, certificates, &leaf, time)?;
        let leaf = chain.verify_parsed_leaf(leaf, time)?;
        Ok((chain, leaf))
    }

    /// The product of the pinned root.
    pub fn generation(&self) -> Generation {
        self.generation
    }

    /// ASK (signs VCEKs) or ASVK (signs VLEKs).
    pub fn intermediate_role(&self) -> CertRole {
        self.intermediate_role
    }

    /// SHA-256 of the ARK's DER.
    pub fn ark_sha256(&self) -> &[u8; 32] {
        &self.ark_sha256
    }

    /// Whether the intermediate's DER is itself pinned (a trust anchor, whose signature by the
    /// ARK was not checked again); `false` when it was verified under the ARK's key.
    pub fn intermediate_pinned(&self) -> bool {
        self.intermediate_pinned
    }

    /// Whether the anchors were AMD's own.
    pub fn amd_anchors(&self) -> bool {
        self.amd_anchors
    }

    pub(crate) fn ark_subject(&self) -> &Name {
        &self.ark_subject
    }

    /// The ARK's RSA key (for CRLs; decoded on demand, as chains are verified far more often
    /// than CRLs).
    pub(crate) fn ark_key(&self) -> Result<rsa::PublicKey> {
        ParsedCert::rsa_key_from_der(CertRole::Ark, &self.ark_public_key)
    }

    pub(crate) fn intermediate_serial(&self) -> &[u8] {
        &self.intermediate_serial
    }

    /// Checks the CA certificates' validity at `time` (the chain may have been cached).
    pub fn check_validity(&self, time: UnixTime) -> Result<()> {
        self.ark_validity.check(CertRole::Ark, time)?;
        self.intermediate_validity
            .check(self.intermediate_role, time)
    }

    /// Verifies a VCEK (under an ASK) or VLEK (under an ASVK) at `time`.
    pub fn verify_leaf(&self, leaf_der: &[u8], time: UnixTime) -> Result<VerifiedLeaf> {
        self.verify_parsed_leaf(LeafCertificate::parse(leaf_der)?, time)
    }

    /// [`VerifiedCaChain::verify_leaf`] on a leaf already parsed (to pick this chain).
    pub fn verify_parsed_leaf(
        &self,
        leaf: LeafCertificate<'_>,
        time: UnixTime,
    ) -> Result<VerifiedLeaf> {
        self.check_validity(time)?;
        let (role, subject_cn) = match self.intermediate_role {
            CertRole::Asvk => (CertRole::Vlek, "SEV-VLEK"),
            _ => (CertRole::Vcek, "SEV-VCEK"),
        };
        let mut leaf = leaf.parsed;
        leaf.role = role;
        leaf.expect_subject_cn(subject_cn)?;
        leaf.expect_issued_by(&self.intermediate_subject)?;
        leaf.verify_signed_by(self.intermediate_role, &self.intermediate_key)?;
        let validity = leaf.validity();
        validity.check(role, time)?;
        let key = p384_key(&leaf)?;
        let tbs = leaf.cert.tbs_certificate();
        let extensions = tbs.extensions().map(|e| e.as_slice()).unwrap_or_default();
        reject_ca_leaf(role, extensions)?;
        let amd = AmdExtensions::decode(role, extensions)?;
        if amd.generation != self.generation {
            return Err(Error::GenerationConflict {
                first_source: "AMD root",
                first: self.generation,
                second_source: "VCEK productName",
                second: amd.generation,
            });
        }
        Ok(VerifiedLeaf {
            role,
            key,
            extensions: amd,
            serial: leaf.serial(),
            sha256: leaf.sha256(),
            validity,
            key_table: None,
        })
    }
}

/// A VCEK or VLEK certificate parsed but not yet verified: its issuer name says which chain
/// to verify it under ([`VerifiedCaChain::verify_parsed_leaf`]).
pub struct LeafCertificate<'a> {
    parsed: ParsedCert<'a>,
    issuer_role: CertRole,
}

impl<'a> LeafCertificate<'a> {
    /// Parses a VCEK or VLEK DER (a malformed one is reported as a VCEK).
    pub fn parse(der: &'a [u8]) -> Result<Self> {
        let parsed = ParsedCert::parse(CertRole::Vcek, der)?;
        let issuer_role = match common_name(parsed.issuer()) {
            Some(cn) if cn.starts_with("SEV-VLEK-") => CertRole::Asvk,
            _ => CertRole::Ask,
        };
        Ok(Self {
            parsed,
            issuer_role,
        })
    }

    /// ASVK when the issuer is named `SEV-VLEK-<product>`, else ASK. (Trust is decided by the
    /// chain, not by this name.)
    pub fn issuer_role(&self) -> CertRole {
        self.issuer_role
    }

    /// The issuer's name: the subject of the intermediate that must have signed the leaf.
    pub fn issuer(&self) -> &Name {
        self.parsed.issuer()
    }
}

/// A VCEK or VLEK whose signature, names, validity, key and extensions passed.
#[derive(Debug, Clone)]
pub struct VerifiedLeaf {
    role: CertRole,
    key: p384::ecdsa::VerifyingKey,
    extensions: AmdExtensions,
    serial: Vec<u8>,
    sha256: [u8; 32],
    validity: Validity,
    key_table: Option<Arc<P384KeyTable>>,
}

impl VerifiedLeaf {
    /// VCEK or VLEK.
    pub fn role(&self) -> CertRole {
        self.role
    }

    /// The P-384 key that signs reports.
    pub fn key(&self) -> &p384::ecdsa::VerifyingKey {
        &self.key
    }

    /// The decoded AMD extensions.
    pub fn extensions(&self) -> &AmdExtensions {
        &self.extensions
    }

    /// SHA-256 of the certificate's DER.
    pub fn sha256(&self) -> &[u8; 32] {
        &self.sha256
    }

    /// The certificate's serial number (big-endian bytes; 0 on every real VCEK).
    pub fn serial(&self) -> &[u8] {
        &self.serial
    }

    /// Builds the key's precomputed table (about 15 verifications' worth of work), so that
    /// every later report signature under this leaf costs a fraction of one. For a leaf kept
    /// across many reports (a cached VCEK).
    pub fn precompute_key_table(&mut self) {
        if self.key_table.is_none() {
            self.key_table = P384KeyTable::new(&self.key).map(Arc::new);
        }
    }

    /// Attaches a table built earlier for this key; `false` (and nothing attached) if it is
    /// the table of another key.
    pub fn attach_key_table(&mut self, table: Arc<P384KeyTable>) -> bool {
        let matches = table.is_for(&self.key);
        if matches {
            self.key_table = Some(table);
        }
        matches
    }

    /// The key's precomputed table, if one was built or attached.
    pub fn key_table(&self) -> Option<&Arc<P384KeyTable>> {
        self.key_table.as_ref()
    }

    pub(crate) fn check_validity(&self, time: UnixTime) -> Result<()> {
        self.validity.check(self.role, time)
    }
}

/// The subject common name AMD gives an intermediate: `SEV-VLEK-<product>` for an ASVK,
/// `SEV-<product>` for an ASK.
fn intermediate_cn(role: CertRole, generation: Generation) -> String {
    match role {
        CertRole::Asvk => format!("SEV-VLEK-{generation}"),
        _ => format!("SEV-{generation}"),
    }
}

fn p384_key(leaf: &ParsedCert<'_>) -> Result<p384::ecdsa::VerifyingKey> {
    let spki = leaf.cert.tbs_certificate().subject_public_key_info();
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<der::asn1::ObjectIdentifier>().ok());
    if spki.algorithm.oid != OID_EC_PUBLIC_KEY || curve != Some(OID_SECP384R1) {
        return Err(Error::WrongKeyType {
            role: leaf.role,
            expected: "ECDSA P-384 (id-ecPublicKey, secp384r1)",
            found: match curve {
                Some(curve) => format!("{} with {curve}", spki.algorithm.oid),
                None => spki.algorithm.oid.to_string(),
            },
        });
    }
    let point = spki.subject_public_key.as_bytes().unwrap_or_default();
    p384::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(|_| Error::WrongKeyType {
        role: leaf.role,
        expected: "ECDSA P-384 (id-ecPublicKey, secp384r1)",
        found: "a point that is not on P-384".into(),
    })
}

/// AMD's leaves carry no basic constraints; a leaf that claims to be a CA is not AMD's.
fn reject_ca_leaf(role: CertRole, extensions: &[x509_cert::ext::Extension]) -> Result<()> {
    for extension in extensions
        .iter()
        .filter(|e| e.extn_id == OID_BASIC_CONSTRAINTS)
    {
        let constraints = <x509_cert::ext::pkix::BasicConstraints as der::Decode>::from_der(
            extension.extn_value.as_bytes(),
        );
        if constraints.is_ok_and(|c| !c.ca) {
            continue;
        }
        return Err(Error::UnexpectedCertificateContent {
            role,
            reason: "the leaf claims to be a certificate authority".into(),
        });
    }
    Ok(())
}

fn sha256(der: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(der).into()
}
