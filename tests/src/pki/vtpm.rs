//! A test vTPM CA shaped like Azure's: a self-signed root, an intermediate, and AK certificates
//! (RSA PKCS#1 v1.5 with SHA-256), each field adjustable so that tests can break one rule at a
//! time. Keys are RSA-2048 from a seeded generator (the shapes matter here, not the sizes).

use std::sync::OnceLock;

use rsa::traits::PublicKeyParts;
use sha2::Digest;

use super::asn1::{bit_string, explicit, extension, null, octet_string, oid, seq, tlv, uint};

const SHA256_WITH_RSA: &str = "1.2.840.113549.1.1.11";
const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
/// TCG's AIK certificate purpose.
pub const EKU_TCG_AIK: &str = "2.23.133.8.3";
/// Microsoft's vTPM AK purpose.
pub const EKU_MS_VTPM_AK: &str = "1.3.6.1.4.1.311.10.3.12";

/// One certificate to issue: its names, validity and the extensions a path check reads.
#[derive(Debug, Clone)]
pub struct CertSpec {
    /// Subject common name.
    pub subject: String,
    /// notBefore and notAfter (Unix seconds).
    pub validity: (u64, u64),
    /// basicConstraints (cA, pathLenConstraint); `None` leaves the extension out.
    pub basic_constraints: Option<(bool, Option<u8>)>,
    /// keyUsage bits as DER BIT STRING content (unused-bits byte first); `None`: absent.
    pub key_usage: Option<Vec<u8>>,
    /// extKeyUsage OIDs; `None`: absent.
    pub extended_key_usage: Option<Vec<String>>,
    /// Further extensions (OID, critical, value).
    pub extra: Vec<(String, bool, Vec<u8>)>,
}

impl CertSpec {
    /// An Azure-like AK certificate for VM `vm_id`, valid 2025..2035.
    pub fn ak(vm_id: &str) -> Self {
        Self {
            subject: format!("{vm_id}.ConfidentialVM.Azure.windows.net"),
            validity: (1_735_689_600, 2_051_222_400),
            basic_constraints: Some((false, None)),
            // digitalSignature (bit 0): 7 unused bits.
            key_usage: Some(vec![0x07, 0x80]),
            extended_key_usage: Some(vec![EKU_MS_VTPM_AK.into(), EKU_TCG_AIK.into()]),
            extra: Vec::new(),
        }
    }

    /// A CA certificate with a path length.
    pub fn ca(subject: &str, path_len: Option<u8>) -> Self {
        Self {
            subject: subject.into(),
            validity: (1_672_531_200, 2_524_608_000),
            basic_constraints: Some((true, path_len)),
            // keyCertSign (bit 5) and cRLSign (bit 6): 1 unused bit.
            key_usage: Some(vec![0x01, 0x06]),
            extended_key_usage: None,
            extra: Vec::new(),
        }
    }
}

/// The test vTPM CA: a root and one intermediate.
pub struct VtpmPki {
    root_key: rsa::PrivateKey,
    intermediate_key: rsa::PrivateKey,
    /// The root certificate (DER): pin it with `VtpmAnchors::test_root`.
    pub root: Vec<u8>,
    /// The intermediate (DER), issued by the root.
    pub intermediate: Vec<u8>,
}

/// Names of the test CAs.
pub const ROOT_CN: &str = "Test Virtual TPM Root";
/// The intermediate's name.
pub const INTERMEDIATE_CN: &str = "Test Virtual TPM CA - 01";

impl VtpmPki {
    /// The PKI of this process (keys generated once).
    pub fn shared() -> &'static VtpmPki {
        static PKI: OnceLock<VtpmPki> = OnceLock::new();
        PKI.get_or_init(|| {
            let root_key = key(0x51);
            let intermediate_key = key(0x52);
            let root = certificate(
                &CertSpec::ca(ROOT_CN, None),
                ROOT_CN,
                &root_key,
                &root_key.to_public_key(),
                1,
            );
            let intermediate = certificate(
                &CertSpec::ca(INTERMEDIATE_CN, Some(0)),
                ROOT_CN,
                &root_key,
                &intermediate_key.to_public_key(),
                2,
            );
            VtpmPki {
                root_key,
                intermediate_key,
                root,
                intermediate,
            }
        })
    }

    /// An AK certificate for `ak` under the intermediate.
    pub fn issue(&self, spec: &CertSpec, ak: &rsa::PublicKey) -> Vec<u8> {
        certificate(spec, INTERMEDIATE_CN, &self.intermediate_key, ak, 3)
    }

    /// Another intermediate under the root (to break CA rules), with its key.
    pub fn intermediate_with(&self, spec: &CertSpec) -> (Vec<u8>, &rsa::PrivateKey) {
        let der = certificate(
            spec,
            ROOT_CN,
            &self.root_key,
            &self.intermediate_key.to_public_key(),
            4,
        );
        (der, &self.intermediate_key)
    }

    /// An impostor of the intermediate: its name, another key, signed by another key under the
    /// root's name (what no path from a leaf the intermediate signed can use).
    pub fn intermediate_with_another_key(&self) -> Vec<u8> {
        Self::sign(
            &CertSpec::ca(INTERMEDIATE_CN, Some(0)),
            ROOT_CN,
            &key(0x62),
            &key(0x63).to_public_key(),
        )
    }

    /// A forgery of the intermediate: its name and its key, issued by "Evil Root" (what a man
    /// in the middle of plain-HTTP AIA could serve: it links to the leaf, and leads nowhere).
    pub fn intermediate_under_another_root(&self) -> Vec<u8> {
        Self::sign(
            &CertSpec::ca(INTERMEDIATE_CN, Some(0)),
            "Evil Root",
            &key(0x70),
            &self.intermediate_key.to_public_key(),
        )
    }

    /// A certificate for `subject_key` signed by `issuer_key` under the name `issuer_cn`.
    pub fn sign(
        spec: &CertSpec,
        issuer_cn: &str,
        issuer_key: &rsa::PrivateKey,
        subject_key: &rsa::PublicKey,
    ) -> Vec<u8> {
        certificate(spec, issuer_cn, issuer_key, subject_key, 5)
    }
}

/// A seeded RSA-2048 key (another AK, another CA).
pub fn key(seed: u8) -> rsa::PrivateKey {
    use chacha20::rand_core::SeedableRng;
    let mut rng = chacha20::ChaCha20Rng::from_seed([seed; 32]);
    rsa::PrivateKey::new(&mut rng, 2048).expect("RSA-2048 key generation")
}

fn name(cn: &str) -> Vec<u8> {
    let attribute = seq(&[&oid("2.5.4.3"), &tlv(0x0C, cn.as_bytes())]);
    seq(&[&tlv(0x31, &attribute)])
}

fn certificate(
    spec: &CertSpec,
    issuer_cn: &str,
    issuer_key: &rsa::PrivateKey,
    subject_key: &rsa::PublicKey,
    serial: u64,
) -> Vec<u8> {
    let algorithm = seq(&[&oid(SHA256_WITH_RSA), &null()]);
    let rsa_key = seq(&[
        &tlv(
            0x02,
            &super::asn1::uint_content(&subject_key.n().to_be_bytes()),
        ),
        &tlv(
            0x02,
            &super::asn1::uint_content(&subject_key.e().to_be_bytes()),
        ),
    ]);
    let spki = seq(&[
        &seq(&[&oid(RSA_ENCRYPTION), &null()]),
        &bit_string(&rsa_key),
    ]);
    let mut extensions: Vec<Vec<u8>> = Vec::new();
    if let Some((ca, path_len)) = spec.basic_constraints {
        let ca_flag = if ca { tlv(0x01, &[0xFF]) } else { Vec::new() };
        let path_len = path_len.map(|n| uint(u64::from(n))).unwrap_or_default();
        extensions.push(extension("2.5.29.19", true, &seq(&[&ca_flag, &path_len])));
    }
    if let Some(bits) = &spec.key_usage {
        extensions.push(extension("2.5.29.15", true, &tlv(0x03, bits)));
    }
    if let Some(usages) = &spec.extended_key_usage {
        let oids: Vec<Vec<u8>> = usages.iter().map(|u| oid(u)).collect();
        let parts: Vec<&[u8]> = oids.iter().map(Vec::as_slice).collect();
        extensions.push(extension("2.5.29.37", false, &seq(&parts)));
    }
    for (dotted, critical, value) in &spec.extra {
        extensions.push(extension(dotted, *critical, value));
    }
    let extension_parts: Vec<&[u8]> = extensions.iter().map(Vec::as_slice).collect();
    let tbs = seq(&[
        &explicit(0, &[&uint(2)]),
        &uint(serial),
        &algorithm,
        &name(issuer_cn),
        &seq(&[
            &super::asn1::time(spec.validity.0),
            &super::asn1::time(spec.validity.1),
        ]),
        &name(&spec.subject),
        &spki,
        &explicit(3, &[&seq(&extension_parts)]),
    ]);
    let signature = issuer_key
        .sign(
            rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
            &sha2::Sha256::digest(&tbs),
        )
        .expect("RSA signing");
    seq(&[&tbs, &algorithm, &bit_string(&signature)])
}

/// The RSA public key of a TPM's modulus (exponent 65537, as the AK template leaves it).
pub fn public_key(modulus: &[u8]) -> Result<rsa::PublicKey, String> {
    let bits = u32::try_from(modulus.len() * 8).map_err(|e| e.to_string())?;
    let n = rsa::BoxedUint::from_be_slice(modulus, bits).map_err(|e| format!("{e:?}"))?;
    let e = rsa::BoxedUint::from_be_slice(&[0x01, 0x00, 0x01], 64).map_err(|e| format!("{e:?}"))?;
    rsa::PublicKey::new(n, e).map_err(|e| e.to_string())
}

/// An authorityInfoAccess extension (for `CertSpec::extra`): one caIssuers access description
/// per URL, in order.
pub fn ca_issuers(urls: &[&str]) -> (String, bool, Vec<u8>) {
    let descriptions: Vec<Vec<u8>> = urls
        .iter()
        .map(|url| seq(&[&oid("1.3.6.1.5.5.7.48.2"), &tlv(0x86, url.as_bytes())]))
        .collect();
    let parts: Vec<&[u8]> = descriptions.iter().map(Vec::as_slice).collect();
    ("1.3.6.1.5.5.7.1.1".to_string(), false, seq(&parts))
}

/// An OCTET STRING value (for `CertSpec::extra`).
pub fn octets(bytes: &[u8]) -> Vec<u8> {
    octet_string(bytes)
}
