//! The CA certificates (ARK, ASK, ASVK) of one product, mirroring AMD's: names, serials,
//! validity, extensions and their order, and the RSA-PSS parameter encoding.

use hcl_parse::Generation;
use rsa::pkcs8::EncodePublicKey;
use rsa::signature::{RandomizedSigner, SignatureEncoding};
use rsa::{PrivateKey, PublicKey};
use sha2::{Digest, Sha256, Sha384};

use super::asn1::{self, tag};
use super::keys::KeyCache;
use super::{PssParams, pem_certificate};

/// RSA modulus size of AMD's CA keys.
const CA_KEY_BITS: usize = 4096;

/// One of a product's three CA certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaRole {
    /// AMD Root Key: self-signed, the trust anchor.
    Ark,
    /// AMD SEV Key: signed by the ARK, issues VCEKs.
    Ask,
    /// AMD SEV VLEK Key: signed by the ARK, issues VLEKs.
    Asvk,
}

impl CaRole {
    /// All three roles, root first.
    pub const ALL: [CaRole; 3] = [Self::Ark, Self::Ask, Self::Asvk];

    fn label(self) -> &'static str {
        match self {
            Self::Ark => "ark",
            Self::Ask => "ask",
            Self::Asvk => "asvk",
        }
    }
}

/// Changes to a CA certificate for negative tests; `None` keeps AMD's value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaOverrides {
    /// `(notBefore, notAfter)` in Unix seconds.
    pub validity: Option<(u64, u64)>,
    /// Serial number.
    pub serial: Option<u64>,
    /// Signature parameters.
    pub pss: Option<PssParams>,
}

/// A product's CA certificates (DER) and the keys behind them.
#[derive(Debug)]
pub struct ProductCa {
    /// The product these CAs belong to.
    pub generation: Generation,
    /// The self-signed ARK.
    pub ark_der: Vec<u8>,
    /// The ASK, signed by the ARK.
    pub ask_der: Vec<u8>,
    /// The ASVK, signed by the ARK.
    pub asvk_der: Vec<u8>,
    keys: [PrivateKey; 3],
}

impl ProductCa {
    pub(crate) fn create(keys: &KeyCache, generation: Generation) -> Self {
        let name = generation.name().to_ascii_lowercase();
        let labels = CaRole::ALL.map(|role| format!("{name}-{}", role.label()));
        let private = keys.rsa_many(labels.each_ref().map(String::as_str), CA_KEY_BITS);
        let mut product = Self {
            generation,
            ark_der: Vec::new(),
            ask_der: Vec::new(),
            asvk_der: Vec::new(),
            keys: private,
        };
        let none = CaOverrides::default();
        product.ark_der = product.issue(CaRole::Ark, &none, keys);
        product.ask_der = product.issue(CaRole::Ask, &none, keys);
        product.asvk_der = product.issue(CaRole::Asvk, &none, keys);
        product
    }

    /// The DER certificate of `role`.
    pub fn der(&self, role: CaRole) -> &[u8] {
        match role {
            CaRole::Ark => &self.ark_der,
            CaRole::Ask => &self.ask_der,
            CaRole::Asvk => &self.asvk_der,
        }
    }

    /// SHA-256 of the DER certificate of `role`: the pin a verifier must be given to trust it.
    pub fn sha256(&self, role: CaRole) -> [u8; 32] {
        Sha256::digest(self.der(role)).into()
    }

    /// The public key of `role`, for checking signatures in tests.
    pub fn public_key(&self, role: CaRole) -> PublicKey {
        self.key(role).to_public_key()
    }

    /// The VCEK chain as KDS's `/vcek/v1/{product}/cert_chain` serves it: ASK then ARK, PEM.
    pub fn vcek_chain_pem(&self) -> String {
        pem_certificate(&self.ask_der) + &pem_certificate(&self.ark_der)
    }

    /// The VLEK chain as KDS's `/vlek/v1/{product}/cert_chain` serves it: ASVK then ARK, PEM.
    pub fn vlek_chain_pem(&self) -> String {
        pem_certificate(&self.asvk_der) + &pem_certificate(&self.ark_der)
    }

    pub(crate) fn key(&self, role: CaRole) -> &PrivateKey {
        match role {
            CaRole::Ark => &self.keys[0],
            CaRole::Ask => &self.keys[1],
            CaRole::Asvk => &self.keys[2],
        }
    }

    /// The DER subject name of `role`, which is also the issuer name of what it signs.
    pub(crate) fn name(&self, role: CaRole) -> Vec<u8> {
        let product = self.generation.name();
        amd_name(&match role {
            CaRole::Ark => format!("ARK-{product}"),
            CaRole::Ask => format!("SEV-{product}"),
            CaRole::Asvk => format!("SEV-VLEK-{product}"),
        })
    }

    /// The subject key identifier of `role`: SHA-256 of its public key, first 160 bits
    /// (RFC 7093 method 1).
    pub(crate) fn key_id(&self, role: CaRole) -> [u8; 20] {
        key_identifier(&self.public_key(role))
    }

    /// Signs `tbs` with `role`'s key and wraps it into a Certificate or CertificateList.
    pub(crate) fn sign(
        &self,
        keys: &KeyCache,
        role: CaRole,
        params: PssParams,
        tbs: &[u8],
    ) -> Vec<u8> {
        let signature = pss_sign(keys, self.key(role), params, tbs);
        asn1::seq(&[tbs, &pss_algorithm(params), &asn1::bit_string(&signature)])
    }

    /// The certificate of `role`, AMD's profile with `overrides` applied.
    pub(crate) fn issue(&self, role: CaRole, overrides: &CaOverrides, keys: &KeyCache) -> Vec<u8> {
        let profile = amd_profile(self.generation, role);
        let (not_before, not_after) = overrides.validity.unwrap_or(profile.validity);
        let serial = overrides.serial.unwrap_or(profile.serial);
        let params = overrides.pss.unwrap_or(PssParams::AMD);
        let spki = self
            .public_key(role)
            .to_public_key_der()
            .expect("an RSA public key encodes as SubjectPublicKeyInfo");
        // The ARK signs itself, the ASK and the ASVK.
        let issuer_role = CaRole::Ark;
        let tbs = tbs_certificate(&TbsFields {
            serial: &asn1::uint(serial),
            signature: &pss_algorithm(params),
            issuer: &self.name(issuer_role),
            not_before,
            not_after,
            subject: &self.name(role),
            spki: spki.as_bytes(),
            extensions: &self.extensions(role),
        });
        self.sign(keys, issuer_role, params, &tbs)
    }

    /// AMD's CA extensions, in AMD's order: the ARK has keyUsage, SKI, basicConstraints and
    /// CRL distribution point; the ASK/ASVK SKI, AKI, basicConstraints (pathlen 0), keyUsage and
    /// CRL distribution point.
    fn extensions(&self, role: CaRole) -> Vec<Vec<u8>> {
        let ski = asn1::extension(
            oid::SUBJECT_KEY_ID,
            false,
            &asn1::octet_string(&self.key_id(role)),
        );
        let crl_kind = if role == CaRole::Asvk { "vlek" } else { "vcek" };
        let url = format!(
            "https://kdsintf.amd.com/{crl_kind}/v1/{}/crl",
            self.generation.name()
        );
        // CRLDistributionPoints: SEQUENCE OF DistributionPoint { [0] { [0] GeneralNames { [6] URI } } }.
        let uri = asn1::tlv(0x86, url.as_bytes());
        let crl_dp = asn1::extension(
            oid::CRL_DISTRIBUTION_POINTS,
            false,
            &asn1::seq(&[&asn1::seq(&[&asn1::explicit(
                0,
                &[&asn1::explicit(0, &[&uri])],
            )])]),
        );
        match role {
            CaRole::Ark => vec![
                // keyCertSign and cRLSign.
                asn1::extension(oid::KEY_USAGE, true, &[tag::BIT_STRING, 0x02, 0x01, 0x06]),
                ski,
                asn1::extension(
                    oid::BASIC_CONSTRAINTS,
                    true,
                    &[0x30, 0x03, 0x01, 0x01, 0xFF],
                ),
                crl_dp,
            ],
            CaRole::Ask | CaRole::Asvk => {
                let aki = asn1::seq(&[&asn1::tlv(0x80, &self.key_id(CaRole::Ark))]);
                vec![
                    ski,
                    asn1::extension(oid::AUTHORITY_KEY_ID, false, &aki),
                    // cA TRUE, pathLenConstraint 0.
                    asn1::extension(
                        oid::BASIC_CONSTRAINTS,
                        true,
                        &[0x30, 0x06, 0x01, 0x01, 0xFF, 0x02, 0x01, 0x00],
                    ),
                    // keyCertSign, with the unused-bits count AMD writes (1, not the minimal 2).
                    asn1::extension(oid::KEY_USAGE, true, &[tag::BIT_STRING, 0x02, 0x01, 0x04]),
                    crl_dp,
                ]
            }
        }
    }
}

/// Object identifiers of the standard structures written here.
pub(crate) mod oid {
    pub(crate) const RSASSA_PSS: &str = "1.2.840.113549.1.1.10";
    pub(crate) const MGF1: &str = "1.2.840.113549.1.1.8";
    pub(crate) const SHA384: &str = "2.16.840.1.101.3.4.2.2";
    pub(crate) const ORGANIZATIONAL_UNIT: &str = "2.5.4.11";
    pub(crate) const COUNTRY: &str = "2.5.4.6";
    pub(crate) const LOCALITY: &str = "2.5.4.7";
    pub(crate) const STATE: &str = "2.5.4.8";
    pub(crate) const ORGANIZATION: &str = "2.5.4.10";
    pub(crate) const COMMON_NAME: &str = "2.5.4.3";
    pub(crate) const SUBJECT_KEY_ID: &str = "2.5.29.14";
    pub(crate) const KEY_USAGE: &str = "2.5.29.15";
    pub(crate) const BASIC_CONSTRAINTS: &str = "2.5.29.19";
    pub(crate) const CRL_NUMBER: &str = "2.5.29.20";
    pub(crate) const CRL_DISTRIBUTION_POINTS: &str = "2.5.29.31";
    pub(crate) const AUTHORITY_KEY_ID: &str = "2.5.29.35";
    pub(crate) const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
    pub(crate) const SECP384R1: &str = "1.3.132.0.34";
    pub(crate) const PRIME256V1: &str = "1.2.840.10045.3.1.7";
}

/// Serial and validity of AMD's real CA certificates.
struct Profile {
    serial: u64,
    validity: (u64, u64),
}

fn amd_profile(generation: Generation, role: CaRole) -> Profile {
    let (serial, not_before, not_after) = match (generation, role) {
        (Generation::Milan, CaRole::Ark) => (0x10000, 1_603_387_385, 2_392_305_785),
        (Generation::Milan, CaRole::Ask) => (0x10001, 1_603_391_060, 2_392_309_460),
        (Generation::Milan, CaRole::Asvk) => (0x10101, 1_668_638_724, 2_457_557_124),
        (Generation::Genoa, CaRole::Ark) => (0x20000, 1_643_211_277, 2_432_129_677),
        (Generation::Genoa, CaRole::Ask) => (0x20002, 1_667_223_228, 2_456_141_628),
        (Generation::Genoa, CaRole::Asvk) => (0x20101, 1_668_804_514, 2_457_722_914),
        (Generation::Turin, CaRole::Ark) => (0x30000, 1_684_180_992, 2_473_185_792),
        (Generation::Turin, CaRole::Ask) => (0x30001, 1_684_182_321, 2_473_187_121),
        (Generation::Turin, CaRole::Asvk) => (0x30101, 1_684_184_981, 2_473_189_781),
    };
    Profile {
        serial,
        validity: (not_before, not_after),
    }
}

/// AMD's distinguished name, attributes in AMD's order: OU, C (PrintableString), L, ST, O, CN
/// (the others UTF8String).
pub(crate) fn amd_name(common_name: &str) -> Vec<u8> {
    let attributes: [(&str, u8, &str); 6] = [
        (oid::ORGANIZATIONAL_UNIT, tag::UTF8_STRING, "Engineering"),
        (oid::COUNTRY, tag::PRINTABLE_STRING, "US"),
        (oid::LOCALITY, tag::UTF8_STRING, "Santa Clara"),
        (oid::STATE, tag::UTF8_STRING, "CA"),
        (
            oid::ORGANIZATION,
            tag::UTF8_STRING,
            "Advanced Micro Devices",
        ),
        (oid::COMMON_NAME, tag::UTF8_STRING, common_name),
    ];
    let rdns: Vec<Vec<u8>> = attributes
        .iter()
        .map(|(dotted, string_tag, value)| {
            let attribute = asn1::seq(&[
                &asn1::oid(dotted),
                &asn1::tlv(*string_tag, value.as_bytes()),
            ]);
            asn1::tlv(tag::SET, &attribute)
        })
        .collect();
    asn1::seq(&rdns.iter().map(Vec::as_slice).collect::<Vec<_>>())
}

/// The RSASSA-PSS AlgorithmIdentifier: SHA-384 (with NULL parameters, as AMD writes it),
/// MGF1-SHA-384, the salt length, and `trailerField 1` when `explicit_trailer`.
pub(crate) fn pss_algorithm(params: PssParams) -> Vec<u8> {
    let sha384 = asn1::seq(&[&asn1::oid(oid::SHA384), &asn1::null()]);
    let mgf1 = asn1::seq(&[&asn1::oid(oid::MGF1), &sha384]);
    let trailer = if params.explicit_trailer {
        asn1::explicit(3, &[&asn1::uint(1)])
    } else {
        Vec::new()
    };
    let salt = u64::try_from(params.declared()).expect("a salt length fits in u64");
    let pss_params = asn1::seq(&[
        &asn1::explicit(0, &[&sha384]),
        &asn1::explicit(1, &[&mgf1]),
        &asn1::explicit(2, &[&asn1::uint(salt)]),
        &trailer,
    ]);
    asn1::seq(&[&asn1::oid(oid::RSASSA_PSS), &pss_params])
}

/// RSASSA-PSS with SHA-384 over `message`; the salt comes from the seeded RNG and the message,
/// so the same input always gives the same signature.
fn pss_sign(keys: &KeyCache, key: &PrivateKey, params: PssParams, message: &[u8]) -> Vec<u8> {
    let signer = rsa::pss::SigningKey::<Sha384>::new_with_salt_len(key.clone(), params.salt_len);
    let mut rng = keys.rng("pss-salt", message);
    signer
        .try_sign_with_rng(&mut rng, message)
        .unwrap_or_else(|e| panic!("RSA-PSS signing with salt {} failed: {e}", params.salt_len))
        .to_vec()
}

/// First 160 bits of SHA-256 over the subjectPublicKey bits (RFC 7093 method 1).
fn key_identifier(key: &PublicKey) -> [u8; 20] {
    let pkcs1 = rsa::pkcs1::EncodeRsaPublicKey::to_pkcs1_der(key)
        .expect("an RSA public key encodes as PKCS#1");
    let digest = Sha256::digest(pkcs1.as_bytes());
    let mut id = [0; 20];
    id.copy_from_slice(&digest[..20]);
    id
}

/// The fields of a TBSCertificate, already encoded.
pub(crate) struct TbsFields<'a> {
    pub(crate) serial: &'a [u8],
    pub(crate) signature: &'a [u8],
    pub(crate) issuer: &'a [u8],
    pub(crate) not_before: u64,
    pub(crate) not_after: u64,
    pub(crate) subject: &'a [u8],
    pub(crate) spki: &'a [u8],
    pub(crate) extensions: &'a [Vec<u8>],
}

/// A v3 TBSCertificate.
pub(crate) fn tbs_certificate(fields: &TbsFields<'_>) -> Vec<u8> {
    let version = asn1::explicit(0, &[&asn1::uint(2)]);
    let validity = asn1::seq(&[
        &asn1::time(fields.not_before),
        &asn1::time(fields.not_after),
    ]);
    let extensions = if fields.extensions.is_empty() {
        Vec::new()
    } else {
        let list: Vec<&[u8]> = fields.extensions.iter().map(Vec::as_slice).collect();
        asn1::explicit(3, &[&asn1::seq(&list)])
    };
    asn1::seq(&[
        &version,
        fields.serial,
        fields.signature,
        fields.issuer,
        &validity,
        fields.subject,
        fields.spki,
        &extensions,
    ])
}
