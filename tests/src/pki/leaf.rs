//! VCEK and VLEK issuance: AMD's leaf profile (serial 0, no keyUsage, no basicConstraints, the
//! AMD extensions in AMD's order) with knobs to make every field wrong.

use hcl_parse::snp::RawSnpReport;
use hcl_parse::{Generation, TcbComponents, TcbVersion};
use rsa::pkcs8::EncodePublicKey;

use super::PssParams;
use super::asn1::{self, tag};
use super::ca::{self, CaRole, ProductCa, TbsFields, oid};
use super::keys::KeyCache;

/// AMD's certificate extension OIDs (prefix `1.3.6.1.4.1.3704.1.`), for
/// [`LeafSpec::extension`] and for tests that look extensions up.
pub mod amd_oid {
    /// `.1` structVersion: INTEGER, 0 on Milan/Genoa, 1 on Turin.
    pub const STRUCT_VERSION: &str = "1.3.6.1.4.1.3704.1.1";
    /// `.2` productName: IA5String (`Milan-B0`, `Genoa`, `Turin`).
    pub const PRODUCT_NAME: &str = "1.3.6.1.4.1.3704.1.2";
    /// `.3.1` blSPL: INTEGER.
    pub const BL_SPL: &str = "1.3.6.1.4.1.3704.1.3.1";
    /// `.3.2` teeSPL: INTEGER.
    pub const TEE_SPL: &str = "1.3.6.1.4.1.3704.1.3.2";
    /// `.3.3` snpSPL: INTEGER.
    pub const SNP_SPL: &str = "1.3.6.1.4.1.3704.1.3.3";
    /// `.3.4` reserved SPL (absent on Turin).
    pub const SPL_4: &str = "1.3.6.1.4.1.3704.1.3.4";
    /// `.3.5` reserved SPL.
    pub const SPL_5: &str = "1.3.6.1.4.1.3704.1.3.5";
    /// `.3.6` reserved SPL.
    pub const SPL_6: &str = "1.3.6.1.4.1.3704.1.3.6";
    /// `.3.7` reserved SPL.
    pub const SPL_7: &str = "1.3.6.1.4.1.3704.1.3.7";
    /// `.3.8` ucodeSPL: INTEGER.
    pub const UCODE_SPL: &str = "1.3.6.1.4.1.3704.1.3.8";
    /// `.3.9` fmcSPL: INTEGER (Turin).
    pub const FMC_SPL: &str = "1.3.6.1.4.1.3704.1.3.9";
    /// `.4` hwID: the raw chip id bytes, no inner DER tag (VCEK only).
    pub const HW_ID: &str = "1.3.6.1.4.1.3704.1.4";
    /// `.5` cspId: IA5String (VLEK only).
    pub const CSP_ID: &str = "1.3.6.1.4.1.3704.1.5";
}

/// Which leaf: per-chip VCEK (signed by the ASK) or per-cloud-provider VLEK (signed by the ASVK).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LeafKind {
    /// Versioned Chip Endorsement Key: subject `SEV-VCEK`, carries the hwID.
    Vcek,
    /// Versioned Loaded Endorsement Key: subject `SEV-VLEK`, carries the cspId.
    Vlek,
}

/// The public key a leaf certifies. AMD's is always P-384; the others exist for negative tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LeafKeyType {
    /// ECDSA P-384 (`id-ecPublicKey`, `secp384r1`), the key in [`Leaf::signing_key`].
    #[default]
    P384,
    /// ECDSA P-256: the curve's base point (a valid point, so only the curve is wrong).
    P256,
    /// RSA-2048 (`rsaEncryption`).
    Rsa2048,
}

/// What to put in a VCEK or VLEK. Start from [`LeafSpec::vcek`] or [`LeafSpec::vlek`]; the
/// defaults are AMD's, and each builder method changes one thing.
///
/// Defaults: serial 0, validity [`LeafSpec::DEFAULT_NOT_BEFORE`] to
/// [`LeafSpec::DEFAULT_NOT_AFTER`], a P-384 key derived from the seed and the spec (one per
/// chip or provider and TCB), signed by the ASK (VCEK) or ASVK (VLEK) with salt 48; the PSS
/// trailer field is written on Milan and left out on Genoa/Turin, as in the real samples, so
/// verifiers meet both encodings.
#[derive(Debug, Clone)]
pub struct LeafSpec {
    generation: Generation,
    kind: LeafKind,
    hwid: Vec<u8>,
    csp_id: String,
    tcb: TcbComponents,
    validity: (u64, u64),
    serial: Vec<u8>,
    pss: PssParams,
    key_type: LeafKeyType,
    signing_key: Option<p384::ecdsa::SigningKey>,
    issuer: Option<CaRole>,
    extension_changes: Vec<(String, Option<Vec<u8>>)>,
}

impl LeafSpec {
    /// Default notBefore: 2024-01-01T00:00:00Z.
    pub const DEFAULT_NOT_BEFORE: u64 = 1_704_067_200;
    /// Default notAfter: 2031-01-01T00:00:00Z (AMD's VCEKs are valid for seven years).
    pub const DEFAULT_NOT_AFTER: u64 = 1_924_992_000;

    /// A VCEK for chip `hwid` (64 bytes on Milan/Genoa, 8 on Turin; other lengths are written
    /// as given) at TCB `tcb` (`fmc` is used on Turin only).
    pub fn vcek(generation: Generation, hwid: &[u8], tcb: TcbComponents) -> Self {
        Self::new(
            generation,
            LeafKind::Vcek,
            hwid.to_vec(),
            String::new(),
            tcb,
        )
    }

    /// The VCEK that matches `report`: its chip id (first 8 bytes on Turin) and reported TCB.
    pub fn vcek_for_report(generation: Generation, report: &RawSnpReport) -> Self {
        let hwid = &report.chip_id[..generation.hwid_len()];
        let tcb = TcbVersion(report.reported_tcb).components(generation);
        Self::vcek(generation, hwid, tcb)
    }

    /// A VLEK for cloud provider `csp_id` at TCB `tcb`: no hwID, a cspId extension instead.
    pub fn vlek(generation: Generation, csp_id: &str, tcb: TcbComponents) -> Self {
        Self::new(
            generation,
            LeafKind::Vlek,
            Vec::new(),
            csp_id.to_owned(),
            tcb,
        )
    }

    fn new(
        generation: Generation,
        kind: LeafKind,
        hwid: Vec<u8>,
        csp_id: String,
        tcb: TcbComponents,
    ) -> Self {
        // Like the real samples: the Milan VCEK writes the PSS trailer field, newer ones do not.
        let pss = match generation {
            Generation::Milan => PssParams::AMD,
            Generation::Genoa | Generation::Turin => PssParams::AMD_NO_TRAILER,
        };
        Self {
            generation,
            kind,
            hwid,
            csp_id,
            tcb,
            validity: (Self::DEFAULT_NOT_BEFORE, Self::DEFAULT_NOT_AFTER),
            serial: vec![0],
            pss,
            key_type: LeafKeyType::P384,
            signing_key: None,
            issuer: None,
            extension_changes: Vec::new(),
        }
    }

    /// The product whose CA issues this leaf.
    pub fn generation(&self) -> Generation {
        self.generation
    }

    /// What identifies the certificate this spec issues, when nothing hidden does (a spec
    /// with its own signing key has none).
    pub(crate) fn cache_key(&self) -> Option<String> {
        self.signing_key.is_none().then(|| format!("{self:?}"))
    }

    /// VCEK or VLEK.
    pub fn kind(&self) -> LeafKind {
        self.kind
    }

    /// Sets notBefore and notAfter (Unix seconds; notAfter before notBefore is allowed).
    #[must_use]
    pub fn validity(mut self, not_before: u64, not_after: u64) -> Self {
        self.validity = (not_before, not_after);
        self
    }

    /// Sets the serial number (AMD's VCEKs use 0).
    #[must_use]
    pub fn serial(mut self, serial: u64) -> Self {
        self.serial = asn1::uint_content(&serial.to_be_bytes());
        self
    }

    /// Sets the serial number's INTEGER content bytes verbatim (negative, over-long or
    /// non-minimal serials for parser tests).
    #[must_use]
    pub fn raw_serial(mut self, content: &[u8]) -> Self {
        self.serial = content.to_vec();
        self
    }

    /// Sets the RSA-PSS parameters of the issuer's signature.
    #[must_use]
    pub fn pss(mut self, params: PssParams) -> Self {
        self.pss = params;
        self
    }

    /// Certifies another kind of key than P-384.
    #[must_use]
    pub fn key_type(mut self, key_type: LeafKeyType) -> Self {
        self.key_type = key_type;
        self
    }

    /// Certifies this P-384 key instead of the one derived from the seed and the spec.
    #[must_use]
    pub fn signing_key(mut self, key: p384::ecdsa::SigningKey) -> Self {
        self.signing_key = Some(key);
        self
    }

    /// Has another CA of the product sign the leaf (e.g. a VCEK signed by the ASVK or the ARK).
    #[must_use]
    pub fn issuer(mut self, role: CaRole) -> Self {
        self.issuer = Some(role);
        self
    }

    /// Replaces the value (the bytes inside the extension's OCTET STRING) of the extension
    /// `oid`, appends it if the leaf has no such extension, or removes it when `value` is `None`.
    /// See [`amd_oid`].
    #[must_use]
    pub fn extension(mut self, oid: &str, value: Option<&[u8]>) -> Self {
        self.extension_changes
            .push((oid.to_owned(), value.map(<[u8]>::to_vec)));
        self
    }

    /// The label the default P-384 key derives from: one key per (product, kind, chip or
    /// provider, TCB), like AMD's.
    fn key_label(&self) -> String {
        let identity = match self.kind {
            LeafKind::Vcek => format!("vcek-{}", hex::encode(&self.hwid)),
            LeafKind::Vlek => format!("vlek-{}", hex::encode(self.csp_id.as_bytes())),
        };
        let t = self.tcb;
        format!(
            "leaf-{}-{identity}-fmc{}-bl{}-tee{}-snp{}-ucode{}",
            self.generation.name(),
            t.fmc.map_or(-1, i16::from),
            t.bootloader,
            t.tee,
            t.snp,
            t.microcode
        )
    }

    /// AMD's extensions as `(oid, value)`, in AMD's order, with the spec's changes applied.
    fn amd_extensions(&self) -> Vec<(String, Vec<u8>)> {
        use amd_oid::*;
        let spl = |value: u8| asn1::uint(value.into());
        let t = self.tcb;
        let (struct_version, product_name) = match self.generation {
            Generation::Milan => (0, "Milan-B0"),
            Generation::Genoa => (0, "Genoa"),
            Generation::Turin => (1, "Turin"),
        };
        let mut list: Vec<(&str, Vec<u8>)> = vec![
            (STRUCT_VERSION, asn1::uint(struct_version)),
            (
                PRODUCT_NAME,
                asn1::tlv(tag::IA5_STRING, product_name.as_bytes()),
            ),
        ];
        match self.generation {
            Generation::Milan | Generation::Genoa => list.extend([
                (BL_SPL, spl(t.bootloader)),
                (TEE_SPL, spl(t.tee)),
                (SPL_4, spl(0)),
                (SPL_5, spl(0)),
                (SPL_6, spl(0)),
                (SPL_7, spl(0)),
                (SNP_SPL, spl(t.snp)),
                (UCODE_SPL, spl(t.microcode)),
            ]),
            Generation::Turin => list.extend([
                (FMC_SPL, spl(t.fmc.unwrap_or(0))),
                (BL_SPL, spl(t.bootloader)),
                (TEE_SPL, spl(t.tee)),
                (SNP_SPL, spl(t.snp)),
                (SPL_5, spl(0)),
                (SPL_6, spl(0)),
                (SPL_7, spl(0)),
                (UCODE_SPL, spl(t.microcode)),
            ]),
        }
        match self.kind {
            LeafKind::Vcek => list.push((HW_ID, self.hwid.clone())),
            LeafKind::Vlek => {
                list.push((CSP_ID, asn1::tlv(tag::IA5_STRING, self.csp_id.as_bytes())))
            }
        }
        let mut list: Vec<(String, Vec<u8>)> = list
            .into_iter()
            .map(|(oid, value)| (oid.to_owned(), value))
            .collect();
        for (oid, change) in &self.extension_changes {
            let position = list.iter().position(|(existing, _)| existing == oid);
            match (position, change) {
                (Some(i), Some(value)) => list[i].1.clone_from(value),
                (Some(i), None) => {
                    list.remove(i);
                }
                (None, Some(value)) => list.push((oid.clone(), value.clone())),
                (None, None) => {}
            }
        }
        list
    }
}

/// An issued leaf certificate and the P-384 key that signs reports for it.
#[derive(Debug, Clone)]
pub struct Leaf {
    /// The certificate, DER.
    pub der: Vec<u8>,
    /// The P-384 key whose public half the certificate holds (for [`LeafKeyType::P384`]; with
    /// another key type this is still the chip's P-384 key, which the certificate then does
    /// not match).
    pub signing_key: p384::ecdsa::SigningKey,
}

/// Base point of P-256 (SEC 2, section 2.4.2), uncompressed: a valid public key (private key 1).
const P256_BASE_POINT: [u8; 65] = [
    0x04, 0x6B, 0x17, 0xD1, 0xF2, 0xE1, 0x2C, 0x42, 0x47, 0xF8, 0xBC, 0xE6, 0xE5, 0x63, 0xA4, 0x40,
    0xF2, 0x77, 0x03, 0x7D, 0x81, 0x2D, 0xEB, 0x33, 0xA0, 0xF4, 0xA1, 0x39, 0x45, 0xD8, 0x98, 0xC2,
    0x96, 0x4F, 0xE3, 0x42, 0xE2, 0xFE, 0x1A, 0x7F, 0x9B, 0x8E, 0xE7, 0xEB, 0x4A, 0x7C, 0x0F, 0x9E,
    0x16, 0x2B, 0xCE, 0x33, 0x57, 0x6B, 0x31, 0x5E, 0xCE, 0xCB, 0xB6, 0x40, 0x68, 0x37, 0xBF, 0x51,
    0xF5,
];

/// SubjectPublicKeyInfo of an EC point on `curve`.
fn ec_spki(curve: &str, point: &[u8]) -> Vec<u8> {
    let algorithm = asn1::seq(&[&asn1::oid(oid::EC_PUBLIC_KEY), &asn1::oid(curve)]);
    asn1::seq(&[&algorithm, &asn1::bit_string(point)])
}

pub(crate) fn issue(product: &ProductCa, keys: &KeyCache, spec: &LeafSpec) -> Leaf {
    let signing_key = spec
        .signing_key
        .clone()
        .unwrap_or_else(|| keys.p384(&spec.key_label()));
    let spki = match spec.key_type {
        LeafKeyType::P384 => {
            let point = signing_key.verifying_key().to_sec1_point(false);
            ec_spki(oid::SECP384R1, point.as_bytes())
        }
        LeafKeyType::P256 => ec_spki(oid::PRIME256V1, &P256_BASE_POINT),
        LeafKeyType::Rsa2048 => keys
            .rsa("leaf-rsa", 2048)
            .to_public_key()
            .to_public_key_der()
            .expect("an RSA public key encodes as SubjectPublicKeyInfo")
            .into_vec(),
    };
    let issuer = spec.issuer.unwrap_or(match spec.kind {
        LeafKind::Vcek => CaRole::Ask,
        LeafKind::Vlek => CaRole::Asvk,
    });
    let subject = ca::amd_name(match spec.kind {
        LeafKind::Vcek => "SEV-VCEK",
        LeafKind::Vlek => "SEV-VLEK",
    });
    let extensions: Vec<Vec<u8>> = spec
        .amd_extensions()
        .iter()
        .map(|(oid, value)| asn1::extension(oid, false, value))
        .collect();
    let tbs = ca::tbs_certificate(&TbsFields {
        serial: &asn1::tlv(tag::INTEGER, &spec.serial),
        signature: &ca::pss_algorithm(spec.pss),
        issuer: &product.name(issuer),
        not_before: spec.validity.0,
        not_after: spec.validity.1,
        subject: &subject,
        spki: &spki,
        extensions: &extensions,
    });
    Leaf {
        der: product.sign(keys, issuer, spec.pss, &tbs),
        signing_key,
    }
}
